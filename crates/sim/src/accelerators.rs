//! Accelerator names that are not columns of the throughput matrix, and the column (and speed
//! relative to it) that stands in for each, so that a cluster named as a trace names its GPUs
//! (the Alibaba node list: `v100m16`, `t4`, `g2`, ...) can run with Gavel's matrix (`v100`,
//! `p100`, `k80`).
//!
//! The rule: a pool whose name is a column of the matrix uses that column. Otherwise, a pool
//! named in [`EQUIVALENTS`] uses its stand-in column with every throughput multiplied by the
//! relative speed. The speeds are ratios of peak dense FP16 tensor throughput to the V100's
//! (125 TFLOPS, SXM2), from the vendors' data sheets as the catalog records them
//! (shared/data/catalog/accelerators.csv): deep-learning training, which Gavel's matrix measures,
//! runs in mixed precision on these chips. `g2` and `g3` are GPU models the Alibaba trace does
//! not name (its paper withholds them): they are taken as V100-class, an assumption to replace
//! with a measured matrix column when one exists.

/// A stand-in for an accelerator the throughput matrix lacks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Equivalent {
    /// The accelerator as pools and traces name it (lowercase).
    pub name: &'static str,
    /// The matrix column that stands in for it.
    pub column: &'static str,
    /// Throughput relative to the column (1.0 = the same).
    pub speed: f64,
    /// Where the speed comes from.
    pub basis: &'static str,
}

/// The documented stand-ins (see the module doc).
pub const EQUIVALENTS: &[Equivalent] = &[
    Equivalent {
        name: "v100m16",
        column: "v100",
        speed: 1.0,
        basis: "a V100 with 16 GB: the same chip",
    },
    Equivalent {
        name: "v100m32",
        column: "v100",
        speed: 1.0,
        basis: "a V100 with 32 GB: the same chip",
    },
    Equivalent {
        name: "t4",
        column: "v100",
        speed: 0.52,
        basis: "65 / 125 TFLOPS peak FP16 tensor (T4 / V100 SXM2)",
    },
    Equivalent {
        name: "a10",
        column: "v100",
        speed: 1.0,
        basis: "125 / 125 TFLOPS peak FP16 tensor, dense (A10 / V100 SXM2)",
    },
    Equivalent {
        name: "g2",
        column: "v100",
        speed: 1.0,
        basis: "an Alibaba GPU model the trace does not name; assumed V100-class",
    },
    Equivalent {
        name: "g3",
        column: "v100",
        speed: 1.0,
        basis: "an Alibaba GPU model the trace does not name; assumed V100-class",
    },
];

/// The stand-in for `name`, if it has one (compared without regard to ASCII case).
pub fn equivalent(name: &str) -> Option<&'static Equivalent> {
    EQUIVALENTS
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
}

/// Names that denote the very chip of matrix column `column` (speed 1 and the same silicon, such
/// as `v100m32` for `v100`), so that a job pinned to `v100m32` may run on a `v100` pool.
pub fn same_chip_names(column: &str) -> impl Iterator<Item = &'static str> + '_ {
    EQUIVALENTS
        .iter()
        .filter(move |e| e.column == column && e.name.starts_with(column))
        .map(|e| e.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alibaba_models_have_stand_ins() {
        for model in ["v100m16", "V100M32", "t4", "a10", "g2", "g3"] {
            let e = equivalent(model).unwrap();
            assert_eq!(e.column, "v100");
            assert!(e.speed > 0.0 && e.speed <= 1.0, "{e:?}");
        }
        assert!(equivalent("p100").is_none(), "p100 is a column of its own");
        assert_eq!(
            same_chip_names("v100").collect::<Vec<_>>(),
            ["v100m16", "v100m32"]
        );
    }
}
