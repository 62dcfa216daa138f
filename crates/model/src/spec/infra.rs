//! `resources.infra`: where a job may run, in both meanings it has.
//!
//! Spillway's own: the name of a pool or an executor kind (`local`, `slurm`, `ray`).
//! SkyPilot's: `cloud[/region[/zone]]` (`aws`, `gcp/us-central1`, `aws/*/us-east-1a`), or
//! `k8s[/context]` and `slurm[/cluster]` for an executor kind. A pool matches when any of
//! them fits it; the service refuses at submit an `infra` that no declared pool matches.

/// The clouds SkyPilot's `infra` names, and the executor kinds it shares with Spillway.
const SKYPILOT_CLOUDS: &[&str] = &[
    "aws",
    "azure",
    "cudo",
    "do",
    "fluidstack",
    "gcp",
    "hyperbolic",
    "ibm",
    "k8s",
    "kubernetes",
    "lambda",
    "nebius",
    "oci",
    "paperspace",
    "runpod",
    "scp",
    "slurm",
    "ssh",
    "vast",
    "vsphere",
];

/// Where a pool is, as `infra` is matched against it.
#[derive(Debug, Clone, Copy)]
pub struct PoolPlace<'a> {
    /// The pool's name.
    pub name: &'a str,
    /// Its executor kind (`local`, `slurm`, `ray`).
    pub executor: &'a str,
    /// Its provider (`aws`, `gcp`, `local`, ...).
    pub provider: &'a str,
    /// Its region.
    pub region: &'a str,
    /// Its zone.
    pub zone: &'a str,
}

/// Checks the shape of an `infra` value: at most three parts, none empty.
pub(super) fn check_infra(infra: &str) -> Result<(), String> {
    let parts: Vec<&str> = infra.split('/').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.trim().is_empty()) {
        return Err(format!(
            "invalid infra '{infra}': write a pool's name, an executor kind (local, slurm, ray) or SkyPilot's cloud[/region[/zone]] such as gcp/us-central1"
        ));
    }
    Ok(())
}

/// Whether `infra` is written the SkyPilot way (its first part names one of SkyPilot's clouds).
pub fn is_skypilot_infra(infra: &str) -> bool {
    let cloud = infra.split('/').next().unwrap_or("").trim();
    SKYPILOT_CLOUDS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(cloud))
}

/// Whether a pool at `place` matches `infra`.
pub fn infra_matches(infra: &str, place: &PoolPlace<'_>) -> bool {
    let infra = infra.trim();
    if infra == place.name || infra == place.executor {
        return true;
    }
    let parts: Vec<&str> = infra.split('/').map(str::trim).collect();
    let fits = |want: &str, have: &str| want == "*" || want.eq_ignore_ascii_case(have);
    let first = parts[0];
    let kind = match first.to_ascii_lowercase().as_str() {
        "k8s" | "kubernetes" => Some("k8s"),
        "slurm" => Some("slurm"),
        _ => None,
    };
    match kind {
        // An executor kind, then a context or cluster: Spillway's pool name or region.
        Some(kind) => {
            (place.executor.eq_ignore_ascii_case(kind)
                || (kind == "k8s" && place.executor.eq_ignore_ascii_case("kubernetes")))
                && parts
                    .get(1)
                    .is_none_or(|c| fits(c, place.name) || fits(c, place.region))
        }
        None => {
            fits(first, place.provider)
                && parts.get(1).is_none_or(|r| fits(r, place.region))
                && parts.get(2).is_none_or(|z| fits(z, place.zone))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place<'a>(
        name: &'a str,
        executor: &'a str,
        provider: &'a str,
        region: &'a str,
    ) -> PoolPlace<'a> {
        PoolPlace {
            name,
            executor,
            provider,
            region,
            zone: "us-central1-a",
        }
    }

    #[test]
    fn pool_names_and_executor_kinds_match_as_before() {
        let p = place("gpus", "local", "local", "gpus");
        assert!(infra_matches("gpus", &p));
        assert!(infra_matches("local", &p));
        assert!(!infra_matches("other", &p));
    }

    #[test]
    fn skypilot_clouds_regions_and_zones_match_provider_region_zone() {
        let p = place("g", "local", "gcp", "us-central1");
        assert!(infra_matches("gcp", &p));
        assert!(infra_matches("GCP/us-central1", &p));
        assert!(infra_matches("gcp/us-central1/us-central1-a", &p));
        assert!(infra_matches("gcp/*/us-central1-a", &p));
        assert!(!infra_matches("gcp/us-east1", &p));
        assert!(!infra_matches("aws", &p));
    }

    #[test]
    fn k8s_and_slurm_name_executor_kinds() {
        let s = place("hpc", "slurm", "onprem", "hpc");
        assert!(infra_matches("slurm", &s));
        assert!(infra_matches("slurm/hpc", &s));
        assert!(!infra_matches("slurm/other", &s));
        assert!(!infra_matches("k8s", &s));
    }

    #[test]
    fn shapes_are_checked() {
        assert!(check_infra("gcp/us-central1").is_ok());
        assert!(check_infra("gcp//x").is_err());
        assert!(check_infra("a/b/c/d").is_err());
    }
}
