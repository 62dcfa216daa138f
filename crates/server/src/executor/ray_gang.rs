//! Gangs on Ray (`num_nodes` > 1): the attempt's entrypoint is a small Python driver
//! (`ray_gang.py`) that reserves one placement-group bundle per node (the node's share of
//! accelerators, and its CPUs) and runs the same wrapper as a single-node job once in each
//! bundle, with `SKYPILOT_NODE_RANK` 0..N-1 and `SKYPILOT_NODE_IPS` the bundles' node
//! addresses, rank 0 first. The entrypoint itself asks Ray for nothing: the bundles hold the
//! accelerators.
//!
//! Bundles are placed `SPREAD` by default (one per node where the cluster has them, several
//! on one node otherwise, e.g. on a one-node test cluster), since Ray's `STRICT_SPREAD` would
//! never place a gang larger than the cluster's node count; the pool's `nodes` keeps Spillway
//! from sending a gang larger than the cluster. A pool with `ray_gang_spread = "strict"`
//! asks for `STRICT_SPREAD`: each bundle on a machine of its own, or the gang waits (and ends
//! after `admission_timeout`). A gang not placed within the pool's `admission_timeout`
//! ends with code 75 and says so; one node that fails ends the others (`ray.cancel`).

use super::LaunchRequest;
use super::script::WRAPPER;
use crate::config::RaySettings;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;

/// The driver's source.
const DRIVER: &str = include_str!("ray_gang.py");

/// The entrypoint of a gang: the pool's Python runs the driver, which travels base64-encoded
/// in the job's environment (the Jobs API runs the entrypoint through a shell and prints it
/// at the top of the job's log).
pub(super) fn entrypoint(settings: &RaySettings) -> String {
    format!(
        "{} -c \"import base64, os; exec(base64.b64decode(os.environ['SPILLWAY_GANG_DRIVER_B64']).decode())\"",
        settings.python
    )
}

/// What the driver reads from the job's environment: the wrapper, one node's bundle (its
/// accelerators as the pool asks for them, and its CPUs), the placement strategy and how long
/// to wait for the placement.
pub(super) fn env(settings: &RaySettings, req: &LaunchRequest) -> BTreeMap<String, String> {
    let nodes = req.spec.num_nodes.max(1);
    let per_node = (req.accelerators.len() as u32).div_ceil(nodes);
    let cpus: f64 = req
        .spec
        .resources
        .cpus
        .as_deref()
        .and_then(|c| c.trim_end_matches('+').trim().parse().ok())
        .unwrap_or(1.0);
    let mut bundle = serde_json::Map::new();
    bundle.insert("CPU".into(), cpus.into());
    if req.accelerator.is_some() && per_node > 0 {
        let resource = settings.resource.as_deref().unwrap_or("GPU");
        bundle.insert(resource.into(), per_node.into());
    }
    BTreeMap::from([
        (
            "SPILLWAY_GANG_DRIVER_B64".to_string(),
            BASE64.encode(DRIVER),
        ),
        (
            "SPILLWAY_GANG_WRAPPER_B64".to_string(),
            BASE64.encode(WRAPPER),
        ),
        (
            "SPILLWAY_GANG_BUNDLE".to_string(),
            serde_json::Value::Object(bundle).to_string(),
        ),
        (
            "SPILLWAY_GANG_STRATEGY".to_string(),
            if settings.strict_spread {
                "STRICT_SPREAD"
            } else {
                "SPREAD"
            }
            .to_string(),
        ),
        (
            "SPILLWAY_GANG_ADMISSION_S".to_string(),
            settings.admission_timeout.as_secs().max(1).to_string(),
        ),
    ])
}
