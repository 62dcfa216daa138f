//! The accelerator names the service accepts, with their families.
//!
//! Interim: these are the names of shared/data/catalog/accelerators.csv (column
//! `accelerator`, with `family` and `vendor`), copied here until the catalog crate lands with
//! `Catalog::bundled().accelerators()`, which will replace this list.

use spillway_model::AcceleratorFamily;
use spillway_model::spec::AcceleratorNames;

/// (name, family, vendor) of every known accelerator.
const KNOWN: &[(&str, AcceleratorFamily, &str)] = &[
    ("K80", AcceleratorFamily::Gpu, "NVIDIA"),
    ("P100", AcceleratorFamily::Gpu, "NVIDIA"),
    ("V100", AcceleratorFamily::Gpu, "NVIDIA"),
    ("T4", AcceleratorFamily::Gpu, "NVIDIA"),
    ("A10G", AcceleratorFamily::Gpu, "NVIDIA"),
    ("L4", AcceleratorFamily::Gpu, "NVIDIA"),
    ("A100", AcceleratorFamily::Gpu, "NVIDIA"),
    ("A100-80GB", AcceleratorFamily::Gpu, "NVIDIA"),
    ("H100", AcceleratorFamily::Gpu, "NVIDIA"),
    ("H100-MEGA", AcceleratorFamily::Gpu, "NVIDIA"),
    ("H200", AcceleratorFamily::Gpu, "NVIDIA"),
    ("B200", AcceleratorFamily::Gpu, "NVIDIA"),
    ("MI300X", AcceleratorFamily::Gpu, "AMD"),
    ("tpu-v4", AcceleratorFamily::Tpu, "Google"),
    ("tpu-v5litepod", AcceleratorFamily::Tpu, "Google"),
    ("tpu-v5p", AcceleratorFamily::Tpu, "Google"),
    ("tpu-v6e", AcceleratorFamily::Tpu, "Google"),
    ("Trainium", AcceleratorFamily::Trainium, "AWS"),
    ("Trainium2", AcceleratorFamily::Trainium, "AWS"),
];

/// Names for spec validation.
pub fn known_accelerators() -> AcceleratorNames {
    AcceleratorNames::new(KNOWN.iter().map(|(n, _, _)| *n))
}

/// The environment variables that hand a process its accelerators, by family and vendor:
/// CUDA (and HIP for AMD) device indices for GPUs, chip indices for TPUs, NeuronCores for
/// Trainium.
pub fn visibility_vars(accelerator: &str) -> &'static [&'static str] {
    match KNOWN.iter().find(|(n, _, _)| *n == accelerator) {
        Some((_, AcceleratorFamily::Tpu, _)) => &["TPU_VISIBLE_CHIPS"],
        Some((_, AcceleratorFamily::Trainium, _)) => &["NEURON_RT_VISIBLE_CORES"],
        Some((_, AcceleratorFamily::Gpu, "AMD")) => {
            &["CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"]
        }
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
    fn families_choose_the_variable() {
        assert_eq!(visibility_vars("H100"), ["CUDA_VISIBLE_DEVICES"]);
        assert_eq!(visibility_vars("tpu-v5p"), ["TPU_VISIBLE_CHIPS"]);
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
