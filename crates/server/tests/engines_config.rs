//! The Slurm + Ray example config loads into the pools it describes.

use spillway_server::config::{Config, ExecutorKind, PoolEngine};
use std::path::Path;
use std::time::Duration;

#[test]
fn slurm_and_ray_example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spillway-engines.toml");
    let c = Config::load(&path).unwrap();
    let kinds: Vec<ExecutorKind> = c.pools.iter().map(|p| p.executor).collect();
    assert_eq!(
        kinds,
        [
            ExecutorKind::Slurm,
            ExecutorKind::Slurm,
            ExecutorKind::Ray,
            ExecutorKind::Slurm
        ]
    );
    // The two-node pool takes gangs: examples/jobs/gang.yaml can run there.
    assert_eq!((c.pools[3].count, c.pools[3].nodes), (8, 2));
    let text = std::fs::read_to_string(path.with_file_name("jobs/gang.yaml")).unwrap();
    let mut spec = spillway_model::spec::parse_spec(
        &text,
        &spillway_server::accelerators::known_accelerators(),
    )
    .unwrap()
    .spec;
    spillway_server::service::check_submit(&c, &mut spec).unwrap();
    let PoolEngine::Slurm(a) = &c.pools[0].engine else {
        panic!("{:?}", c.pools[0].engine);
    };
    assert_eq!(a.partition.as_deref(), Some("batch"));
    assert_eq!(a.gres.as_deref(), Some("gpu:h100"));
    assert_eq!(a.time_limit, Some(Duration::from_secs(4 * 3600)));
    assert_eq!(a.poll_interval, Duration::from_secs(1));
    let PoolEngine::Ray(r) = &c.pools[2].engine else {
        panic!("{:?}", c.pools[2].engine);
    };
    assert_eq!(r.address, "http://127.0.0.1:8265");
    assert_eq!(r.admission_timeout, Duration::from_secs(300));
    assert_eq!(r.resource, None);
}
