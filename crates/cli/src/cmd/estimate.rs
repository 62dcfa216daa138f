//! `spillway estimate`: chips, time and cost to train a model on each accelerator.
//!
//! Two modes. The roofline mode (`--params`, `--tokens`) sizes the run from the model: chips to
//! hold the training state, time from peak FLOP/s x MFU. The measured mode (`--throughputs`,
//! `--job-type`) takes steps/s from a Gavel-format throughput matrix. Flags are parsed into the
//! perf crate's validated types here, at the edge; the estimates come from `spillway-perf`, and
//! this module only chooses offers from the catalog and renders rows.

mod measured;
mod render;

use anyhow::Context as _;
use clap::ValueEnum;
use spillway_catalog::{Catalog, Offer};
use spillway_model::{AcceleratorSpec, Precision};
use spillway_perf::estimate::{Estimate, estimate, sort_by_cost};
use spillway_perf::input::{ChipCount, Mfu, ParamCount, StepCount, TokenCount};
use spillway_perf::memory::MemoryModel;
use spillway_perf::roofline::TrainingRun;
use std::path::PathBuf;

/// Flags of `spillway estimate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Roofline mode: --params and --tokens. Measured mode: --throughputs and \
                        --job-type. See docs/estimate.md for the formulas."
)]
pub(crate) struct EstimateArgs {
    /// Model parameters, e.g. 70e9 (suffixes K, M, B, T are accepted: 70B).
    #[arg(
        long,
        value_name = "COUNT",
        value_parser = parse_params,
        allow_negative_numbers = true,
        required_unless_present = "throughputs",
        requires = "tokens"
    )]
    params: Option<ParamCount>,

    /// Training tokens, e.g. 1.4e12 (or 1.4T).
    #[arg(
        long,
        value_name = "COUNT",
        value_parser = parse_tokens,
        allow_negative_numbers = true,
        requires = "params"
    )]
    tokens: Option<TokenCount>,

    /// Arithmetic precision of the matrix multiplications.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Bf16)]
    precision: PrecisionArg,

    /// Model FLOPs utilization: the fraction of peak FLOP/s achieved, in (0, 1].
    #[arg(long, value_name = "FRACTION", value_parser = parse_mfu, allow_negative_numbers = true,
          default_value = "0.4")]
    mfu: Mfu,

    /// Train on this many chips instead of the fewest that hold the training state (rounded up
    /// to whole VMs or the next slice size).
    #[arg(long, value_name = "N", value_parser = parse_chips)]
    chips: Option<ChipCount>,

    /// Only these accelerators (repeat the flag or separate with commas); default: all.
    #[arg(long = "accelerator", value_name = "NAME", value_delimiter = ',')]
    accelerators: Vec<String>,

    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,

    /// Catalog overrides file: discounts, custom prices, owned pools (default:
    /// $SPILLWAY_CATALOG_OVERRIDES, else $XDG_CONFIG_HOME/spillway/catalog.toml or
    /// ~/.config/spillway/catalog.toml if it exists).
    #[arg(long, value_name = "FILE")]
    catalog_overrides: Option<PathBuf>,

    /// Show committed prices where a contract applies: the `[[contract]]` tables of a scenario
    /// or of a service config (`spillway serve --config`).
    #[arg(long, value_name = "FILE")]
    contracts: Option<PathBuf>,

    /// Measured mode: a Gavel-format throughput matrix (JSON, steps/s per job type, scale
    /// factor and accelerator).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["params", "tokens", "chips", "mfu", "precision"],
          requires = "job_type")]
    throughputs: Option<PathBuf>,

    /// Measured mode: the job type, a key of the matrix, e.g. "ResNet-50 (batch size 32)".
    #[arg(long, value_name = "TYPE", requires = "throughputs")]
    job_type: Option<String>,

    /// Measured mode: training steps to time and price.
    #[arg(long, value_name = "N", value_parser = parse_steps, requires = "throughputs",
          default_value = "1000")]
    steps: StepCount,

    /// Measured mode: accelerators the job uses at once (the matrix's scale factor).
    #[arg(long, value_name = "K", value_parser = parse_chips, requires = "throughputs",
          default_value = "1")]
    scale_factor: ChipCount,
}

/// `--precision` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PrecisionArg {
    /// bfloat16.
    Bf16,
    /// 8-bit floating point.
    Fp8,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Precision {
        match p {
            PrecisionArg::Bf16 => Precision::Bf16,
            PrecisionArg::Fp8 => Precision::Fp8,
        }
    }
}

pub(crate) fn run(args: EstimateArgs) -> anyhow::Result<()> {
    let mut catalog =
        Catalog::load(args.catalog_overrides.as_deref()).context("load the catalog")?;
    if let Some(path) = &args.contracts {
        crate::cmd::contracts::apply_contracts(&mut catalog, path)?;
    }
    let specs = selected_specs(&catalog, &args.accelerators)?;
    if let Some(path) = &args.throughputs {
        let job_type = args.job_type.as_deref().context("--job-type is required")?;
        let inputs = measured::MeasuredInputs {
            path,
            job_type,
            steps: args.steps,
            scale_factor: args.scale_factor,
            only: (!args.accelerators.is_empty()).then_some(specs.as_slice()),
        };
        return measured::run(&catalog, &inputs, args.json);
    }
    let (Some(params), Some(tokens)) = (args.params, args.tokens) else {
        anyhow::bail!(
            "give --params and --tokens (roofline mode) or --throughputs (measured mode)"
        );
    };
    let run = TrainingRun {
        params,
        tokens,
        precision: args.precision.into(),
        mfu: args.mfu,
    };
    let memory = MemoryModel::default();
    let mut estimates: Vec<Estimate<'_, Offer>> = Vec::with_capacity(specs.len());
    for spec in specs {
        let offers = offers_of(&catalog, spec);
        let est = estimate(&run, &memory, spec, &offers, args.chips)
            .with_context(|| format!("estimate {}", spec.name))?;
        estimates.push(est);
    }
    sort_by_cost(&mut estimates);
    let rows: Vec<render::Row> = estimates
        .iter()
        .map(|e| render::Row::new(&run, e, args.chips))
        .collect();
    let text = if args.json {
        serde_json::to_string_pretty(&rows)? + "\n"
    } else {
        render::table(
            &run,
            &memory,
            &rows,
            &unestimated(&catalog, &args.accelerators),
        )
    };
    crate::output::emit(&text)?;
    Ok(())
}

/// The accelerators to estimate: those named (resolved case-insensitively, with suggestions
/// for unknown names), else every accelerator in the catalog.
fn selected_specs<'c>(
    catalog: &'c Catalog,
    names: &[String],
) -> anyhow::Result<Vec<&'c AcceleratorSpec>> {
    if names.is_empty() {
        return Ok(catalog.accelerators().iter().collect());
    }
    let mut specs: Vec<&AcceleratorSpec> = Vec::with_capacity(names.len());
    for name in names {
        let spec = catalog.accelerator(name.trim())?;
        if !specs.iter().any(|s| s.name == spec.name) {
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// When every accelerator is estimated (no `--accelerator`), those the catalog offers without a
/// spec, which cannot be: the table names them rather than leaving them out silently.
fn unestimated<'c>(catalog: &'c Catalog, names: &[String]) -> Vec<&'c str> {
    if !names.is_empty() {
        return Vec::new();
    }
    catalog
        .accelerator_names()
        .into_iter()
        .filter(|n| catalog.accelerators().iter().all(|s| s.name != *n))
        .collect()
}

/// The catalog's offers of `spec`, in catalog order.
fn offers_of<'c>(catalog: &'c Catalog, spec: &AcceleratorSpec) -> Vec<&'c Offer> {
    catalog
        .offers()
        .iter()
        .filter(|o| o.accelerator == spec.name)
        .collect()
}

/// Parses a count such as `70e9`, `1.4e12`, `70B` or `1.4T`.
fn parse_count(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() && !t.ends_with(['e', 'E']) => {
            let scale = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'B' | 'G' => 1e9,
                'T' => 1e12,
                _ => return Err(format!("unknown suffix '{c}'; use K, M, B or T, or 70e9")),
            };
            (&t[..i], scale)
        }
        _ => (t, 1.0),
    };
    number
        .parse::<f64>()
        .map(|n| n * scale)
        .map_err(|_| format!("'{text}' is not a number such as 70e9 or 70B"))
}

fn parse_params(text: &str) -> Result<ParamCount, String> {
    ParamCount::new(parse_count(text)?).map_err(|e| e.to_string())
}

fn parse_tokens(text: &str) -> Result<TokenCount, String> {
    TokenCount::new(parse_count(text)?).map_err(|e| e.to_string())
}

fn parse_mfu(text: &str) -> Result<Mfu, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number such as 0.4"))?;
    Mfu::new(x).map_err(|e| e.to_string())
}

fn parse_chips(text: &str) -> Result<ChipCount, String> {
    let n: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of chips"))?;
    ChipCount::new(n).map_err(|e| e.to_string())
}

fn parse_steps(text: &str) -> Result<StepCount, String> {
    let n = parse_count(text)?;
    if n.fract() != 0.0 || !(0.0..=9e15).contains(&n) {
        return Err(format!("'{text}' is not a whole number of steps"));
    }
    // Checked above: integral and within u64 and f64's exact range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = n as u64;
    StepCount::new(n).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_exponents_and_suffixes() {
        assert_eq!(parse_count("70e9"), Ok(70e9));
        assert_eq!(parse_count("70B"), Ok(70e9));
        assert_eq!(parse_count("1.4T"), Ok(1.4e12));
        assert_eq!(parse_count("1.4t"), Ok(1.4e12));
        assert_eq!(parse_count("500M"), Ok(500e6));
        assert!(
            parse_count("70X")
                .unwrap_err()
                .contains("unknown suffix 'X'")
        );
        assert!(parse_count("seventy").is_err());
        assert!(parse_count("7e").is_err());
    }

    #[test]
    fn bad_values_name_the_input() {
        assert!(
            parse_params("-1")
                .unwrap_err()
                .starts_with("params must be a positive")
        );
        assert!(parse_tokens("0").unwrap_err().starts_with("tokens must be"));
        assert!(parse_mfu("1.5").unwrap_err().starts_with("mfu must be"));
        assert!(parse_chips("0").unwrap_err().starts_with("chips must be"));
        assert!(parse_steps("1.5").is_err());
        assert_eq!(parse_steps("2K").unwrap().get(), 2000);
    }
}
