//! The accelerator names the service accepts, with their families: those of the bundled
//! catalog, with a spec or with offers (`Catalog::bundled().accelerator_names()`), so that a
//! name `spillway offers` lists (`tpu-v2-32`) is one a spec may use.

use spillway_catalog::Catalog;
use spillway_model::spec::AcceleratorNames;
use spillway_model::{AcceleratorFamily, AcceleratorSpec};
use std::sync::OnceLock;

/// The catalog's accelerator specs, parsed once.
pub(crate) fn specs() -> &'static [AcceleratorSpec] {
    static SPECS: OnceLock<Vec<AcceleratorSpec>> = OnceLock::new();
    SPECS.get_or_init(|| Catalog::bundled().accelerators().to_vec())
}

/// Names for spec validation: every accelerator the bundled catalog has a spec or an offer
/// for.
pub fn known_accelerators() -> AcceleratorNames {
    static NAMES: OnceLock<AcceleratorNames> = OnceLock::new();
    NAMES
        .get_or_init(|| AcceleratorNames::new(Catalog::bundled().accelerator_names()))
        .clone()
}

/// The environment variables that hand a process its accelerators, by family and vendor:
/// CUDA (and HIP for AMD) device indices for GPUs, chip indices for TPUs, NeuronCores for
/// Trainium.
pub fn visibility_vars(accelerator: &str) -> &'static [&'static str] {
    // TPU generations offered without a spec (v2, v3) are TPUs all the same.
    if spillway_model::spec::tpu::chips_named_by(accelerator).is_some() {
        return &["TPU_VISIBLE_CHIPS"];
    }
    match specs().iter().find(|s| s.name == accelerator) {
        Some(s) if s.family == AcceleratorFamily::Tpu => &["TPU_VISIBLE_CHIPS"],
        Some(s) if s.family == AcceleratorFamily::Trainium => &["NEURON_RT_VISIBLE_CORES"],
        Some(s) if s.vendor == "AMD" => &["CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"],
        _ => &["CUDA_VISIBLE_DEVICES"],
    }
}

/// Maps an `nvidia-smi` product name (`NVIDIA H100 80GB HBM3`) to a catalog name.
pub fn from_nvidia_product(product: &str) -> Option<&'static str> {
    let p = product.to_ascii_uppercase();
    // Longest, most specific names first so that `A100 80GB` is not read as `A100`.
    let rules: &[(&str, &str)] = &[
        ("H200", "H200"),
        ("H100", "H100"),
        ("B200", "B200"),
        ("A100", "A100"),
        ("A10G", "A10G"),
        ("L4", "L4"),
        ("T4", "T4"),
        ("V100", "V100"),
        ("P100", "P100"),
        ("K80", "K80"),
    ];
    let name = rules
        .iter()
        .find(|(pat, _)| p.contains(pat))
        .map(|(_, n)| *n)?;
    if name == "A100" && p.contains("80GB") {
        return Some("A100-80GB");
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_catalog() {
        let names = known_accelerators();
        assert_eq!(names.canonical("h100"), Some("H100"));
        assert_eq!(names.canonical("TPU-V5P"), Some("tpu-v5p"));
        assert!(names.all().len() >= 19);
        // Offered without a spec: still a name a spec may use.
        assert_eq!(names.canonical("tpu-v2"), Some("tpu-v2"));
    }

    #[test]
    fn families_choose_the_variable() {
        assert_eq!(visibility_vars("H100"), ["CUDA_VISIBLE_DEVICES"]);
        assert_eq!(visibility_vars("tpu-v5p"), ["TPU_VISIBLE_CHIPS"]);
        assert_eq!(visibility_vars("tpu-v3"), ["TPU_VISIBLE_CHIPS"]);
        assert_eq!(visibility_vars("Trainium2"), ["NEURON_RT_VISIBLE_CORES"]);
        assert_eq!(visibility_vars("MI300X")[1], "HIP_VISIBLE_DEVICES");
    }

    #[test]
    fn nvidia_products_map_to_catalog_names() {
        assert_eq!(from_nvidia_product("NVIDIA H100 80GB HBM3"), Some("H100"));
        assert_eq!(
            from_nvidia_product("NVIDIA A100-SXM4-80GB"),
            Some("A100-80GB")
        );
        assert_eq!(from_nvidia_product("NVIDIA H200"), Some("H200"));
        assert_eq!(from_nvidia_product("Tesla T4"), Some("T4"));
        assert_eq!(from_nvidia_product("Quadro RTX 6000"), None);
    }
}
