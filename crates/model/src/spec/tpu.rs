//! TPU slice names (`tpu-v5p-32`, `tpu-v6e-8`) as SkyPilot and Google Cloud write them.
//!
//! A slice name is `tpu-<generation>-<n>`. Google counts `n` differently per generation: for
//! v2, v3, v4 and v5p it counts TensorCores, two per chip (`tpu-v5p-32` is 16 chips); for v5e
//! (sold as `v5litepod`) and v6e it counts chips (`tpu-v6e-8` is 8 chips). A job that names a
//! slice asks for one slice of that shape: all its chips at once, as one gang.

use crate::ChipsNamedBy;
use serde::{Deserialize, Serialize};

/// The Google TPU generations Spillway knows how to name, as the catalog spells them, with
/// how their slice names count. `tpu-v5e` is Google's marketing name for `tpu-v5litepod`.
const GENERATIONS: &[(&str, ChipsNamedBy)] = &[
    ("tpu-v2", ChipsNamedBy::Tensorcores),
    ("tpu-v3", ChipsNamedBy::Tensorcores),
    ("tpu-v4", ChipsNamedBy::Tensorcores),
    ("tpu-v5p", ChipsNamedBy::Tensorcores),
    ("tpu-v5litepod", ChipsNamedBy::Chips),
    ("tpu-v6e", ChipsNamedBy::Chips),
];

/// Other spellings of a generation in slice names.
const ALIASES: &[(&str, &str)] = &[("tpu-v5e", "tpu-v5litepod")];

/// A slice name read: its generation (catalog spelling) and its size in chips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpuSlice {
    /// The slice name in the catalog's spelling (`tpu-v5p-32`, `tpu-v5litepod-8`).
    pub name: String,
    /// The generation (`tpu-v5p`).
    pub generation: &'static str,
    /// Chips in the slice.
    pub chips: u32,
}

/// How a generation's slice names count chips, for the generations Google names by slices.
pub fn chips_named_by(generation: &str) -> Option<ChipsNamedBy> {
    GENERATIONS
        .iter()
        .find(|(g, _)| g.eq_ignore_ascii_case(generation))
        .map(|(_, by)| *by)
}

/// Reads a slice name; `None` when `name` is not `tpu-<known generation>-<n>`, an error
/// (in words) when it is one but `n` is not a valid size.
pub fn parse_slice(name: &str) -> Option<Result<TpuSlice, String>> {
    let lower = name.trim().to_ascii_lowercase();
    let (prefix, size) = lower.rsplit_once('-')?;
    let prefix = ALIASES
        .iter()
        .find(|(alias, _)| *alias == prefix)
        .map_or(prefix, |(_, g)| g);
    let (generation, by) = GENERATIONS.iter().find(|(g, _)| *g == prefix)?;
    let Ok(units) = size.parse::<u32>() else {
        return Some(Err(format!(
            "'{name}' is not a TPU slice name: after {generation}- comes its size, e.g. {generation}-8"
        )));
    };
    let chips = match by {
        ChipsNamedBy::Tensorcores if units >= 2 && units % 2 == 0 => units / 2,
        ChipsNamedBy::Tensorcores => {
            return Some(Err(format!(
                "'{name}': {generation} slice names count TensorCores, two per chip, so the size is even (e.g. {generation}-8 = 4 chips)"
            )));
        }
        _ if units == 0 => {
            return Some(Err(format!("'{name}': a slice has at least one chip")));
        }
        _ => units,
    };
    Some(Ok(TpuSlice {
        name: format!("{generation}-{units}"),
        generation,
        chips,
    }))
}

/// The slice name of `chips` chips of `generation` (`tpu-v5p`, 16 -> `tpu-v5p-32`); `None`
/// for accelerators that are not named by slices.
pub fn slice_name(generation: &str, chips: u32) -> Option<String> {
    let (g, by) = GENERATIONS
        .iter()
        .find(|(g, _)| g.eq_ignore_ascii_case(generation))?;
    let units = match by {
        ChipsNamedBy::Tensorcores => chips.checked_mul(2)?,
        _ => chips,
    };
    Some(format!("{g}-{units}"))
}

/// Checks a TPU topology (`2x2x4`) against a chip count: the product of its dimensions must
/// be the number of chips. Returns the message when it does not.
pub fn check_topology(topology: &str, chips: u32) -> Result<(), String> {
    let dims: Option<Vec<u64>> = topology
        .trim()
        .split(['x', 'X'])
        .map(|d| d.trim().parse::<u64>().ok().filter(|n| *n > 0))
        .collect();
    let Some(dims) = dims.filter(|d| (2..=3).contains(&d.len())) else {
        return Err(format!(
            "invalid topology '{topology}': write the chips along each axis, e.g. 2x2x4 or 4x4"
        ));
    };
    let product: u64 = dims.iter().product();
    if product != u64::from(chips) {
        return Err(format!(
            "topology {topology} is {product} chips, but the slice has {chips}: they must match"
        ));
    }
    Ok(())
}

/// The shape of the slices a pool of TPUs is made of: every slice has `chips` chips (and,
/// when declared, that topology), and a job that asks for a slice gets one whole slice of
/// exactly this shape, never chips of two slices. A pool of `n` slices hands out accelerator
/// indices `0..n * chips`; slice `k` is indices `k * chips .. (k + 1) * chips`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceShape {
    /// The slice name in the catalog's spelling (`tpu-v5p-32`).
    pub name: String,
    /// Chips per slice.
    pub chips: u32,
    /// Chips along each axis (`2x2x4`), when the pool declares it.
    pub topology: Option<String>,
}

impl SliceShape {
    /// Whether a job asking for `chips` chips, of `topology` when it states one, takes exactly
    /// one slice of this shape. A job that states a topology needs a pool that declares the
    /// same one: a pool whose topology is unknown cannot promise it.
    pub fn fits(&self, chips: u32, topology: Option<&str>) -> bool {
        chips == self.chips
            && topology.is_none_or(|t| {
                self.topology
                    .as_deref()
                    .is_some_and(|own| same_topology(own, t))
            })
    }

    /// The shape in words: `tpu-v5p-32 (16 chips, topology 2x2x4)`.
    pub fn describe(&self) -> String {
        match &self.topology {
            Some(t) => format!("{} ({} chips, topology {t})", self.name, self.chips),
            None => format!("{} ({} chips)", self.name, self.chips),
        }
    }

    /// The slice type as Google Cloud names it and as TPU hosts report it in
    /// `TPU_ACCELERATOR_TYPE` (`v5p-32`, `v5litepod-8`): Ray's resource names build on it.
    pub fn accelerator_type(&self) -> &str {
        self.name.strip_prefix("tpu-").unwrap_or(&self.name)
    }

    /// Chips on one host of the slice, which is where a single entrypoint (a Ray job's
    /// driver) runs: a single-host slice has them all (up to 8 for v5e and v6e, 4 for v2 to
    /// v5p); the hosts of a multi-host slice have 4 each.
    pub fn chips_per_host(&self) -> u32 {
        let single_host_max = match parse_slice(&self.name) {
            Some(Ok(s)) if chips_named_by(s.generation) == Some(ChipsNamedBy::Chips) => 8,
            _ => 4,
        };
        if self.chips <= single_host_max {
            self.chips
        } else {
            4
        }
    }
}

/// Whether two topologies are the same (`2x2x4` and `2X2X4`; not `4x2x2`, which is another
/// arrangement of the chips).
pub fn same_topology(a: &str, b: &str) -> bool {
    let dims = |t: &str| -> Vec<String> {
        t.trim()
            .split(['x', 'X'])
            .map(|d| d.trim().trim_start_matches('0').to_string())
            .collect()
    };
    dims(a) == dims(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chips(name: &str) -> u32 {
        parse_slice(name).unwrap().unwrap().chips
    }

    #[test]
    fn google_counts_tensorcores_for_v2_to_v5p_and_chips_for_v5e_and_v6e() {
        assert_eq!(chips("tpu-v2-8"), 4);
        assert_eq!(chips("tpu-v2-32"), 16);
        assert_eq!(chips("tpu-v3-8"), 4);
        assert_eq!(chips("tpu-v4-8"), 4);
        assert_eq!(chips("tpu-v5p-32"), 16);
        assert_eq!(chips("tpu-v5litepod-16"), 16);
        assert_eq!(chips("tpu-v5e-8"), 8);
        assert_eq!(chips("TPU-V6E-8"), 8);
        assert_eq!(
            parse_slice("tpu-v5e-8").unwrap().unwrap().name,
            "tpu-v5litepod-8"
        );
    }

    #[test]
    fn other_names_are_not_slices() {
        assert!(parse_slice("tpu-v5p").is_none());
        assert!(parse_slice("H100").is_none());
        assert!(parse_slice("A100-80GB").is_none());
        assert!(parse_slice("tpu-v9-8").is_none());
    }

    #[test]
    fn bad_sizes_say_why() {
        assert!(
            parse_slice("tpu-v5p-3")
                .unwrap()
                .unwrap_err()
                .contains("even")
        );
        assert!(parse_slice("tpu-v6e-x").unwrap().is_err());
        assert!(parse_slice("tpu-v6e-0").unwrap().is_err());
    }

    #[test]
    fn chip_counts_name_slices_back() {
        assert_eq!(slice_name("tpu-v5p", 16).as_deref(), Some("tpu-v5p-32"));
        assert_eq!(slice_name("tpu-v6e", 8).as_deref(), Some("tpu-v6e-8"));
        assert_eq!(slice_name("H100", 8), None);
    }

    #[test]
    fn a_slice_shape_fits_only_its_own_chips_and_topology() {
        let shape = SliceShape {
            name: "tpu-v5p-32".into(),
            chips: 16,
            topology: Some("2x2x4".into()),
        };
        assert!(shape.fits(16, None));
        assert!(shape.fits(16, Some("2X2X4")));
        assert!(!shape.fits(16, Some("4x4")), "another arrangement");
        assert!(!shape.fits(8, None), "half a slice");
        assert!(!shape.fits(32, None), "two slices");
        let unknown = SliceShape {
            topology: None,
            ..shape.clone()
        };
        assert!(unknown.fits(16, None));
        assert!(
            !unknown.fits(16, Some("2x2x4")),
            "an undeclared topology promises none"
        );
        assert_eq!(shape.accelerator_type(), "v5p-32");
        assert_eq!(shape.describe(), "tpu-v5p-32 (16 chips, topology 2x2x4)");
    }

    #[test]
    fn hosts_have_four_chips_except_single_host_v5e_and_v6e() {
        let shape = |name: &str| {
            let s = parse_slice(name).unwrap().unwrap();
            SliceShape {
                name: s.name,
                chips: s.chips,
                topology: None,
            }
            .chips_per_host()
        };
        assert_eq!(shape("tpu-v5p-32"), 4);
        assert_eq!(shape("tpu-v5p-8"), 4);
        assert_eq!(shape("tpu-v4-8"), 4);
        assert_eq!(shape("tpu-v2-8"), 4);
        assert_eq!(shape("tpu-v6e-8"), 8);
        assert_eq!(shape("tpu-v6e-4"), 4);
        assert_eq!(shape("tpu-v5e-1"), 1);
        assert_eq!(shape("tpu-v6e-16"), 4);
    }

    #[test]
    fn topology_must_match_the_chips() {
        assert!(check_topology("2x2x4", 16).is_ok());
        assert!(check_topology("4x4", 16).is_ok());
        assert!(
            check_topology("2x2x2", 16)
                .unwrap_err()
                .contains("is 8 chips, but the slice has 16")
        );
        assert!(check_topology("big", 16).is_err());
    }
}
