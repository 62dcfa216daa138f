//! Known accelerator names, passed in by the caller, with case-insensitive lookup and
//! "did you mean" suggestions.

/// Accelerator names of SkyPilot's catalog (`sky show-gpus -a`) that Spillway's bundled
/// catalog has no spec for. A spec naming one gets a message that says so and how to add it,
/// instead of a "did you mean" that would send a TPU or Inferentia user astray.
const SKYPILOT_ONLY: &[&str] = &[
    "A4000",
    "A5000",
    "A6000",
    "B100",
    "B300",
    "GB200",
    "GH200",
    "Gaudi",
    "Gaudi2",
    "Gaudi HL-205",
    "Inferentia",
    "Inferentia2",
    "K520",
    "M60",
    "MI100",
    "MI210",
    "MI250",
    "MI250X",
    "MI325X",
    "MI355X",
    "P4",
    "Radeon Pro V520",
    "RTX3090",
    "RTX4090",
    "RTX5090",
    "RTX6000",
    "RTXPRO6000",
    "T4g",
    "V100-32GB",
];

/// Other names for catalog accelerators: the ones vendors and SkyPilot's catalog use (TPU v5e
/// is sold as `v5litepod` slices; Trillium is v6e; SkyPilot's `A100` is the 40 GB card and
/// `MI300` the MI300X). Shared by specs and `spillway offers`, so that both read a name alike.
pub const ACCELERATOR_ALIASES: &[(&str, &str)] = &[
    ("tpu-v5e", "tpu-v5litepod"),
    ("v5e", "tpu-v5litepod"),
    ("trillium", "tpu-v6e"),
    ("trn1", "Trainium"),
    ("trn2", "Trainium2"),
    ("a100-40gb", "A100"),
    ("mi300", "MI300X"),
];

/// A name reduced to what tells hardware apart: lowercase, without `-`, `_`, spaces and dots.
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| !"-_ .".contains(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The spelling of `name` in SkyPilot's catalog, when it is one of SkyPilot's accelerators
/// that Spillway's bundled catalog lacks (`inferentia` -> `Inferentia`).
pub fn skypilot_only(name: &str) -> Option<&'static str> {
    SKYPILOT_ONLY
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name.trim()))
        .copied()
}

/// The accelerator names a spec may use, as the catalog spells them (`H100`, `tpu-v5p`).
#[derive(Debug, Clone, Default)]
pub struct AcceleratorNames {
    names: Vec<String>,
}

impl AcceleratorNames {
    /// A list of canonical names.
    pub fn new<I, S>(names: I) -> AcceleratorNames
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
        names.sort();
        names.dedup();
        AcceleratorNames { names }
    }

    /// All canonical names, sorted.
    pub fn all(&self) -> &[String] {
        &self.names
    }

    /// The canonical spelling of `name`, matched case-insensitively (`h100` -> `H100`), or
    /// through a well-known alias (`v5e` -> `tpu-v5litepod`, `A100-40GB` -> `A100`), or with
    /// the `tpu-` prefix left out (`v5p`).
    pub fn canonical(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        let find = |n: &str| {
            self.names
                .iter()
                .find(|c| c.eq_ignore_ascii_case(n))
                .map(String::as_str)
        };
        find(name)
            .or_else(|| {
                ACCELERATOR_ALIASES
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                    .and_then(|(_, target)| find(target))
            })
            .or_else(|| {
                let bare = name.to_ascii_lowercase();
                (bare.starts_with('v') && bare.len() > 1)
                    .then(|| find(&format!("tpu-{bare}")))
                    .flatten()
            })
    }

    /// Names that are the same hardware spelt otherwise (`a100_80gb` -> `A100-80GB`). Never a
    /// name one edit away: `A10` is not an `A100`, and a suggestion must not send anyone to
    /// other hardware.
    ///
    /// A TPU family written short of its generation (`tpu-v5`) is completed with the
    /// generations of that family (`tpu-v5p, tpu-v5litepod`): what was typed names them all.
    pub fn suggest(&self, name: &str) -> Vec<&str> {
        let want = folded(name);
        let family = want.starts_with("tpuv") && want.len() > 4;
        let mut out: Vec<&str> = self
            .names
            .iter()
            .filter(|n| {
                let have = folded(n);
                have == want || (family && have.starts_with(&want))
            })
            .map(String::as_str)
            .collect();
        // Shortest completion first: `tpu-v5p` before `tpu-v5litepod`.
        out.sort_by_key(|n| (n.len(), n.to_ascii_lowercase()));
        out.truncate(3);
        out
    }

    /// The message for an unknown name, with suggestions when there are any.
    pub fn unknown_message(&self, name: &str) -> String {
        if let Some(known) = skypilot_only(name) {
            return format!(
                "unknown accelerator '{name}': {known} is known to SkyPilot, not in Spillway's catalog: add it with catalog overrides (docs/catalog.md)"
            );
        }
        let suggestions = self.suggest(name);
        if suggestions.is_empty() {
            format!(
                "unknown accelerator '{name}': known accelerators are {}",
                self.names.join(", ")
            )
        } else {
            format!(
                "unknown accelerator '{name}': did you mean {}?",
                suggestions.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> AcceleratorNames {
        AcceleratorNames::new(["A100", "A10G", "H100", "H100-MEGA", "H200", "tpu-v5p"])
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(names().canonical("h100"), Some("H100"));
        assert_eq!(names().canonical("TPU-V5P"), Some("tpu-v5p"));
        assert_eq!(names().canonical("H10"), None);
    }

    #[test]
    fn suggests_only_the_same_hardware_spelt_otherwise() {
        assert_eq!(
            names().unknown_message("h100_mega"),
            "unknown accelerator 'h100_mega': did you mean H100-MEGA?"
        );
        assert!(names().suggest("A10").is_empty());
        assert!(names().suggest("H10").is_empty());
        assert!(
            names()
                .unknown_message("H10")
                .starts_with("unknown accelerator 'H10': known accelerators are A100, A10G")
        );
    }

    #[test]
    fn aliases_and_bare_tpu_generations_resolve() {
        let n = AcceleratorNames::new(["A100", "MI300X", "tpu-v5litepod", "tpu-v5p"]);
        assert_eq!(n.canonical("A100-40GB"), Some("A100"));
        assert_eq!(n.canonical("mi300"), Some("MI300X"));
        assert_eq!(n.canonical("v5e"), Some("tpu-v5litepod"));
        assert_eq!(n.canonical("v5p"), Some("tpu-v5p"));
        assert_eq!(n.canonical("v6e"), None);
    }

    #[test]
    fn skypilot_names_we_lack_say_so() {
        assert_eq!(
            names().unknown_message("inferentia"),
            "unknown accelerator 'inferentia': Inferentia is known to SkyPilot, not in Spillway's catalog: add it with catalog overrides (docs/catalog.md)"
        );
    }

    #[test]
    fn lists_everything_when_nothing_is_close() {
        assert!(
            names()
                .unknown_message("xyzzy")
                .contains("known accelerators are A100")
        );
    }
}
