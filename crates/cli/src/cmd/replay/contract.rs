//! `--contract FILE`: the what-if under other commitments. The file holds `[[contract]]`
//! tables in the service configuration's own form (docs/economics.md); they replace the
//! contracts of the configuration the what-if runs with (`--what-if-config`, else `--config`).
//! Each may add `pools = ["name", ...]`: pools of that configuration charged to it from then
//! on, committed at its discount off their list price (an uncommitted pool's configured price;
//! for a committed one, its price before the discount of the contract it was charged to).
//! Committed pools not listed stay committed and are charged as the configuration says (by name
//! or by coverage).
//!
//! The file is checked on its own first (TOML, keys, pool names), so that errors name its own
//! lines and fields; then the configuration is validated with the new contracts as a whole.

use anyhow::{Context, Result, anyhow, bail};
use spillway_server::config::Config;
use std::collections::BTreeMap;
use std::path::Path;

/// Line (1-based) of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// A pool listed by a contract: its contract's name and discount (a fraction).
struct Listed {
    contract: String,
    discount: f64,
}

/// A contract's discount as a fraction (`discount_percent`), 0 when it has none.
fn discount(contract: &toml::Value) -> f64 {
    match contract.get("discount_percent") {
        Some(toml::Value::Integer(d)) => *d as f64 / 100.0,
        Some(toml::Value::Float(d)) => d / 100.0,
        // The configuration's validation names what is wrong with it.
        _ => 0.0,
    }
}

/// The configuration at `base_path` with the contracts of `file`.
pub(crate) fn with_contracts(base_path: &Path, file: &Path) -> Result<Config> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read --contract {shown}"))?;
    let spans = toml::de::DeTable::parse(&text)
        .map_err(|e| anyhow!("--contract {shown}: invalid TOML: {e}"))?;
    let values: toml::Table =
        toml::from_str(&text).map_err(|e| anyhow!("--contract {shown}: invalid TOML: {e}"))?;
    for (key, _) in spans.get_ref().iter() {
        if key.get_ref().as_ref() != "contract" {
            bail!(
                "--contract {shown}: line {}: unknown key `{}`: the file holds [[contract]] tables only (each as in the service configuration, plus an optional pools = [...])",
                line_of(&text, key.span().start),
                key.get_ref().as_ref()
            );
        }
    }
    let Some(contracts) = values.get("contract").and_then(|c| c.as_array()) else {
        bail!(
            "--contract {shown}: no [[contract]] table: write one per commitment, as in the service configuration"
        );
    };
    let base_text = std::fs::read_to_string(base_path)
        .with_context(|| format!("failed to read {}", base_path.display()))?;
    let mut base: toml::Table = toml::from_str(&base_text)
        .map_err(|e| anyhow!("invalid config {}: {e}", base_path.display()))?;
    let pool_names: Vec<String> = base
        .get("pool")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // Pools listed, with the contract that lists them.
    let mut listed: BTreeMap<String, Listed> = BTreeMap::new();
    let mut named_by: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in contracts.iter().enumerate() {
        let Some(pools) = c.get("pools") else {
            continue;
        };
        let at = |f: &str| format!("--contract {shown}: contract[{i}].{f}");
        let Some(pools) = pools.as_array() else {
            bail!(
                "{}: expected a list of pool names like [\"h100\"]",
                at("pools")
            );
        };
        let name = c.get("name").and_then(|n| n.as_str()).ok_or_else(|| {
            anyhow!(
                "{}: missing (a contract that lists pools needs a name)",
                at("name")
            )
        })?;
        let discount = discount(c);
        for (j, p) in pools.iter().enumerate() {
            let Some(p) = p.as_str() else {
                bail!(
                    "{}: expected a pool's name, found {p}",
                    at(&format!("pools[{j}]"))
                );
            };
            if !pool_names.iter().any(|n| n == p) {
                bail!(
                    "{}: no pool named '{p}' in {} (pools: {})",
                    at(&format!("pools[{j}]")),
                    base_path.display(),
                    pool_names.join(", ")
                );
            }
            if let Some(k) = named_by.insert(p.to_string(), i) {
                bail!(
                    "{}: pool '{p}' is listed by contract[{k}] too: a pool is charged to one contract",
                    at(&format!("pools[{j}]"))
                );
            }
            listed.insert(
                p.to_string(),
                Listed {
                    contract: name.to_string(),
                    discount,
                },
            );
        }
    }
    // The file without its `pools` keys, blanked in place so that lines stay where they are.
    let mut blanked = text.clone().into_bytes();
    if let Some(array) = spans
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == "contract")
        .and_then(|(_, v)| v.get_ref().as_array())
    {
        for table in array.iter().filter_map(|t| t.get_ref().as_table()) {
            for (k, v) in table.iter() {
                if k.get_ref().as_ref() == "pools" {
                    for b in &mut blanked[k.span().start..v.span().end] {
                        if *b != b'\n' {
                            *b = b' ';
                        }
                    }
                }
            }
        }
    }
    let blanked = String::from_utf8(blanked).expect("ASCII blanks keep UTF-8");
    // The base without its contracts and without the keys a replay does not use (so that what
    // follows the file's tables is tables only), its listed pools committed.
    // The base's own contracts, for the list price of its committed pools: (name, provider,
    // discount).
    let old: Vec<(String, String, f64)> = base
        .get("contract")
        .and_then(|c| c.as_array())
        .map(|a| {
            a.iter()
                .map(|c| {
                    let text =
                        |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                    (
                        text("name"),
                        text("provider").to_ascii_lowercase(),
                        discount(c),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    base.retain(|k, _| matches!(k, "pool" | "tenant" | "scheduler"));
    if let Some(pools) = base.get_mut("pool").and_then(|p| p.as_array_mut()) {
        for p in pools.iter_mut().filter_map(|p| p.as_table_mut()) {
            let Some(l) = p
                .get("name")
                .and_then(|n| n.as_str())
                .and_then(|n| listed.get(n))
            else {
                continue;
            };
            let price = p.get("price").and_then(|v| v.as_table());
            let committed =
                price.and_then(|t| t.get("plan")).and_then(|v| v.as_str()) == Some("committed");
            let usd = price
                .and_then(|t| t.get("usd_per_chip_hour"))
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                .unwrap_or(0.0);
            // A committed pool's list price: its price before its contract's discount (the
            // contract it names, else the first of its provider's).
            let list = if committed {
                let named = p.get("contract").and_then(|v| v.as_str());
                let provider = p
                    .get("provider")
                    .and_then(|v| v.as_str())
                    .unwrap_or("local")
                    .to_ascii_lowercase();
                let was = old
                    .iter()
                    .find(|(n, prov, _)| match named {
                        Some(named) => n == named,
                        None => *prov == provider,
                    })
                    .map_or(0.0, |o| o.2);
                usd / (1.0 - was).max(1e-9)
            } else {
                usd
            };
            let usd = list * (1.0 - l.discount);
            let mut t = toml::Table::new();
            t.insert("plan".into(), "committed".into());
            t.insert("usd_per_chip_hour".into(), usd.into());
            p.insert("price".into(), toml::Value::Table(t));
            p.insert("contract".into(), l.contract.clone().into());
        }
    }
    let tail = toml::to_string(&base).context("failed to write the what-if configuration")?;
    Config::parse(&format!("{blanked}\n{tail}"), &shown).map_err(|e| {
        anyhow!(
            "--contract {shown} with the pools of {}: {e}",
            base_path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
listen = "127.0.0.1:9"

[[contract]]
name = "old"
provider = "local"
total_usd = 1000
start = 2026-01-01
term_months = 12
discount_percent = 10

[[pool]]
name = "h100"
accelerator = "H100"
count = 8
price = { plan = "on_demand", usd_per_chip_hour = 2.0 }

[[pool]]
name = "tpu"
accelerator = "tpu-v5p"
count = 4
price = { plan = "committed", usd_per_chip_hour = 3.0 }
contract = "old"

[[tenant]]
name = "blue"
max_accelerators = { H100 = 3 }
"#;

    const NEW: &str = r#"# Another commitment.
[[contract]]
name = "new"
provider = "local"
total_usd = 50000
start = 2026-06-01
term_months = 24
discount_percent = 25
pools = ["h100",
  "tpu"]
"#;

    fn files(contract: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.toml");
        let file = dir.path().join("contract.toml");
        std::fs::write(&base, BASE).unwrap();
        std::fs::write(&file, contract).unwrap();
        (dir, base, file)
    }

    #[test]
    fn the_contracts_replace_the_configs_and_take_their_pools() {
        let (_d, base, file) = files(NEW);
        let c = with_contracts(&base, &file).unwrap();
        assert_eq!(c.contracts.len(), 1);
        assert_eq!(c.contracts[0].name, "new");
        let h = c.pool("h100").unwrap();
        assert_eq!(h.contract.as_deref(), Some("new"));
        assert_eq!(h.price.0, 1.5, "25% off the on-demand price");
        // Committed under "old" at 10% off: $3.33 list, 25% off that.
        let t = c.pool("tpu").unwrap();
        assert_eq!(t.contract.as_deref(), Some("new"));
        assert!((t.price.0 - 3.0 / 0.9 * 0.75).abs() < 1e-9, "{}", t.price.0);
        assert_eq!(c.tenants[0].max_accelerators["H100"], 3);
    }

    #[test]
    fn bad_contract_files_name_the_line_or_field() {
        let err = |text: &str| {
            let (_d, base, file) = files(text);
            format!("{:#}", with_contracts(&base, &file).unwrap_err())
        };
        let e = err(&NEW.replace("\"tpu\"]", "\"a100\"]"));
        assert!(
            e.contains("contract[0].pools[1]: no pool named 'a100'") && e.contains("h100, tpu"),
            "{e}"
        );
        let e = err(&NEW.replace("term_months = 24", "term_months = = 24"));
        assert!(e.contains("invalid TOML") && e.contains("line 7"), "{e}");
        let e = err(&NEW.replace("term_months = 24", "term = 24"));
        assert!(
            e.contains("unknown field `term`") && e.contains("line 7"),
            "{e}"
        );
        let e = err(&NEW.replace("discount_percent = 25", "discount_percent = 125"));
        assert!(e.contains("contract[0].discount_percent"), "{e}");
        let e = err(&format!("{NEW}[[pool]]\nname = \"x\"\n"));
        assert!(e.contains("line 11: unknown key `pool`"), "{e}");
        let e = err("# nothing\n");
        assert!(e.contains("no [[contract]] table"), "{e}");
        // Without `pools`, the TPU pool still names the old contract.
        let e = err(&NEW.replace("pools = [\"h100\",\n  \"tpu\"]\n", ""));
        assert!(
            e.contains("pool[1].contract: no [[contract]] named 'old' (declared: new)"),
            "{e}"
        );
    }
}
