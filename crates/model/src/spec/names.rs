//! Known accelerator names, passed in by the caller, with case-insensitive lookup and
//! "did you mean" suggestions.

/// Accelerator names of SkyPilot's catalog (`sky show-gpus -a`) that Spillway's bundled
/// catalog has no spec for. A spec naming one gets a message that says so and how to add it,
/// instead of a "did you mean" that would send a TPU or Inferentia user astray.
const SKYPILOT_ONLY: &[&str] = &[
    "A10",
    "A40",
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
    "L40",
    "L40S",
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

    /// The canonical spelling of `name`, matched case-insensitively (`h100` -> `H100`).
    pub fn canonical(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .map(String::as_str)
    }

    /// Up to three close names for a misspelt one: those within two edits, preferring names
    /// that start with the same letter (so `H10` suggests `H100, H200` before `A100`).
    pub fn suggest(&self, name: &str) -> Vec<&str> {
        let lower = name.to_ascii_lowercase();
        let first = lower.chars().next();
        let mut scored: Vec<(bool, usize, &str)> = self
            .names
            .iter()
            .map(|n| {
                let nl = n.to_ascii_lowercase();
                let same_start = nl.chars().next() == first;
                (!same_start, strsim::levenshtein(&lower, &nl), n.as_str())
            })
            .filter(|(_, d, _)| *d <= 2)
            .collect();
        scored.sort();
        if scored.iter().any(|(other, _, _)| !other) {
            scored.retain(|(other, _, _)| !other);
        }
        scored.into_iter().take(3).map(|(_, _, n)| n).collect()
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
    fn suggests_same_initial_first() {
        assert_eq!(
            names().unknown_message("H10"),
            "unknown accelerator 'H10': did you mean H100, H200?"
        );
        assert_eq!(names().suggest("A10"), vec!["A100", "A10G"]);
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
