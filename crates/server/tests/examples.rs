//! The examples in the repository stay valid: every job spec under examples/jobs parses and
//! the example configs load.

use spillway_model::spec::parse_spec;
use spillway_server::accelerators::known_accelerators;
use spillway_server::config::Config;
use std::path::Path;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Every `.yaml` file under `dir` and its subdirectories (`examples/jobs/try/`).
fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn example_job_specs_are_valid() {
    let names = known_accelerators();
    let mut paths = Vec::new();
    yaml_files(&examples().join("jobs"), &mut paths);
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let parsed =
            parse_spec(&text, &names).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        assert!(!parsed.spec.run.is_empty());
    }
    assert!(paths.len() >= 9, "{paths:?}");
}

#[test]
fn the_try_config_declares_simulated_pools_and_stays_open() {
    let c = Config::load(&examples().join("spillway-try.toml")).unwrap();
    // Every accelerator pool says in its name that it is simulated.
    for p in &c.pools {
        assert_eq!(
            p.accelerator.is_some(),
            p.name.starts_with("simulated-"),
            "{}",
            p.name
        );
    }
    assert_eq!(c.pool("simulated-h100").unwrap().count, 8);
    assert!(!c.has_tokens(), "the quick start runs without tokens");
}

#[test]
fn example_config_loads() {
    let c = Config::load(&examples().join("spillway.toml")).unwrap();
    assert_eq!(c.pools.len(), 3);
    // The TPU example job lands on the pool of slices, one whole slice.
    let pods = c.pool("v5p-pods").unwrap();
    assert_eq!(
        (pods.count, pods.slice.as_ref().map(|s| s.chips)),
        (32, Some(16))
    );
    let text = std::fs::read_to_string(examples().join("jobs/tpu-slice.yaml")).unwrap();
    let spec = parse_spec(&text, &known_accelerators()).unwrap().spec;
    let pools = spillway_server::schedule::machine_pools(&c);
    let job = spillway_server::schedule::machine_job(
        spillway_server::job::JobId(1),
        "research",
        0,
        None,
        &spec,
        None,
    );
    spillway_core::machine::can_ever_place(&pools, &job).unwrap();
    assert_eq!(c.tenants[0].max_accelerators["H100"], 6);
    assert!(c.has_tokens());
}

#[test]
fn example_faults_config_loads() {
    let c = Config::load(&examples().join("spillway-faults.toml")).unwrap();
    assert_eq!(c.pools.len(), 4);
    let stocked_out = c.pool("aws-use1a").unwrap().faults.as_ref().unwrap();
    assert_eq!(stocked_out.stockout_at(10.0).unwrap().end_s, 300.0);
    assert!(
        c.pool("gcp-spot")
            .unwrap()
            .faults
            .as_ref()
            .unwrap()
            .preempts()
    );
    assert_eq!(
        c.pool("gcp-commit").unwrap().contract.as_deref(),
        Some("gcp-commit-2026")
    );
    assert_eq!(c.failover_half_life_s, 120.0);
}

/// The corpus' task files, sorted.
fn corpus() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/skypilot-tasks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// docs/job-spec.md, where the corpus' figures are stated.
fn job_spec_docs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/job-spec.md"))
        .unwrap()
}

/// What a validated task means, in one line: its alternatives (TPUs in both forms), how they
/// are weighed, spot, nodes, and what must be given at submit.
fn meaning(p: &spillway_model::spec::ParsedSpec) -> String {
    let r = &p.spec.resources;
    let choices = if r.accelerators.is_empty() {
        "cpu".to_string()
    } else {
        r.accelerators
            .iter()
            .map(|c| r.describe(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let order = match r.order {
        spillway_model::spec::ChoiceOrder::Ordered => "ordered",
        spillway_model::spec::ChoiceOrder::AnyOf => "any_of",
    };
    // Spot per alternative when they differ, else the job's.
    let spot = if r.alternatives.iter().any(|a| a.use_spot.is_some()) {
        (0..r.accelerators.len())
            .map(|i| r.use_spot_of(i).to_string())
            .collect::<Vec<_>>()
            .join(",")
    } else {
        r.use_spot.to_string()
    };
    let mut out = format!(
        "{choices} | {order} | spot={spot} | nodes={}",
        p.spec.num_nodes
    );
    if r.alternatives.iter().any(|a| a.infra.is_some()) {
        let each: Vec<&str> = (0..r.accelerators.len())
            .map(|i| r.infra_of(i).unwrap_or("any"))
            .collect();
        out.push_str(&format!(" | infra={}", each.join(",")));
    } else if let Some(infra) = &r.infra {
        out.push_str(&format!(" | infra={infra}"));
    }
    let given: Vec<String> = p
        .spec
        .unset_envs
        .iter()
        .map(|n| format!("env {n}"))
        .chain(
            p.spec
                .secrets
                .iter()
                .filter(|n| !p.secret_values.0.contains_key(*n))
                .map(|n| format!("secret {n}")),
        )
        .collect();
    if !given.is_empty() {
        out.push_str(&format!(" | {}", given.join(", ")));
    }
    out
}

/// The figure of docs/job-spec.md: task files written for this project in the shapes of
/// SkyPilot's own `examples/` and `llm/` task files. Each says in its header what it must
/// mean (`# expect: ...`) or which field its error must name (`# expect-error: ...`); the
/// share that validates with the expected meaning is the one the docs report.
#[test]
fn skypilot_shaped_tasks_validate_and_mean_what_skypilot_means() {
    let names = known_accelerators();
    let files = corpus();
    let (mut valid, mut refused) = (0, Vec::new());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
                .map(str::to_string)
        };
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        match (
            spillway_model::spec::parse_specs(&text, &names),
            header("# expect:"),
            header("# expect-error:"),
        ) {
            (Ok(tasks), Some(expected), None) => {
                let got: Vec<String> = tasks.iter().map(meaning).collect();
                assert_eq!(got.join(" ; "), expected, "{file}");
                valid += 1;
            }
            (Err(e), None, Some(field)) => {
                let first = &e.0[0];
                assert!(
                    first.path.starts_with(&field),
                    "{file}: the error names {:?}, not {field}: {e}",
                    first.path
                );
                refused.push(format!("{file}: {e}"));
            }
            (result, expected, field) => {
                panic!("{file}: got {result:?}, expected {expected:?} / error at {field:?}")
            }
        }
    }
    let total = files.len();
    assert!(total >= 20, "the corpus has {total} files");
    // The figure stated in docs/job-spec.md, in bold (so that "1 of 34" is not found in "31
    // of 34").
    let docs = job_spec_docs();
    let stated = format!("**{valid} of {total} task files");
    assert!(
        docs.contains(&stated),
        "docs/job-spec.md should state \"{stated}\"; refused:\n{}",
        refused.join("\n")
    );
    assert!(valid * 10 >= total * 9, "{valid} of {total} validate");
}

/// Pools for the corpus' acceptance figure: Slurm, Ray and local pools in two clouds, with
/// the accelerators SkyPilot's examples name (TPUs as slices of the shapes they ask for).
/// Slurm and Ray pools declare their nodes, so gangs (`num_nodes`) run there; spot pools
/// take the tasks with `use_spot: true` (spot only, see docs/job-spec.md).
fn corpus_pools() -> Config {
    // (name, executor, provider/region/zone, accelerator, count or slices)
    let pools: &[(&str, &str, &str, &str, u32)] = &[
        ("hpc-h100", "slurm", "aws/us-east-1/us-east-1a", "H100", 16),
        ("hpc-a100", "slurm", "aws/us-east-1/us-east-1a", "A100", 16),
        (
            "hpc-a100-80",
            "slurm",
            "aws/us-east-1/us-east-1b",
            "A100-80GB",
            16,
        ),
        ("hpc-v100", "slurm", "aws/us-east-1/us-east-1b", "V100", 16),
        ("hpc-h200", "slurm", "aws/us-east-1/us-east-1c", "H200", 16),
        (
            "hpc-mi300",
            "slurm",
            "aws/us-east-1/us-east-1c",
            "MI300X",
            8,
        ),
        ("ray-l4", "ray", "gcp/us-central1/us-central1-a", "L4", 16),
        (
            "ray-l40s",
            "ray",
            "gcp/us-central1/us-central1-a",
            "L40S",
            8,
        ),
        ("ray-t4", "ray", "gcp/us-central1/us-central1-b", "T4", 8),
        (
            "ray-a10g",
            "ray",
            "gcp/us-central1/us-central1-b",
            "A10G",
            8,
        ),
        ("local-a10", "local", "aws/us-west-2/us-west-2a", "A10", 4),
        (
            "local-a40",
            "local",
            "lambda/us-south-1/us-south-1a",
            "A40",
            4,
        ),
        (
            "local-trn",
            "local",
            "aws/us-west-2/us-west-2b",
            "Trainium",
            16,
        ),
        ("v6e", "local", "gcp/us-east5/us-east5-b", "tpu-v6e-8", 2),
        ("v5p", "local", "gcp/us-east5/us-east5-a", "tpu-v5p-32", 2),
        (
            "v5e16",
            "local",
            "gcp/us-west4/us-west4-a",
            "tpu-v5litepod-16",
            2,
        ),
        (
            "v5e8",
            "local",
            "gcp/us-west4/us-west4-a",
            "tpu-v5litepod-8",
            2,
        ),
        (
            "v4",
            "local",
            "gcp/us-central2/us-central2-b",
            "tpu-v4-32",
            2,
        ),
        (
            "v2",
            "local",
            "gcp/us-central1/us-central1-f",
            "tpu-v2-8",
            2,
        ),
        ("cpu", "local", "local/cpu/cpu", "", 0),
    ];
    let mut toml = String::new();
    for (name, executor, place, acc, n) in pools {
        let mut p = place.split('/');
        let (provider, region, zone) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
        toml.push_str(&format!(
            "[[pool]]\nname = \"{name}\"\nexecutor = \"{executor}\"\nprovider = \"{provider}\"\nregion = \"{region}\"\nzone = \"{zone}\"\n"
        ));
        match *executor {
            "slurm" => toml.push_str("slurm_conf = \"/tmp/slurm.conf\"\n"),
            "ray" => toml.push_str("address = \"http://127.0.0.1:8265\"\n"),
            _ => {}
        }
        if acc.starts_with("tpu-") {
            toml.push_str(&format!("accelerator = \"{acc}\"\nslices = {n}\n"));
            if *acc == "tpu-v5p-32" {
                toml.push_str("topology = \"2x2x4\"\n");
            }
        } else if !acc.is_empty() {
            toml.push_str(&format!("accelerator = \"{acc}\"\ncount = {n}\n"));
            // Slurm pools are machines of 8 GPUs, Ray clusters machines of 4 (gangs run
            // there, one share of each node); local pools are one machine.
            let per_node = match *executor {
                "slurm" => 8,
                "ray" => 4,
                _ => *n,
            };
            toml.push_str(&format!("nodes = {}\n", (n / per_node).max(1)));
        }
    }
    // Spot capacity, where the corpus asks for it (use_spot: true is spot only, SkyPilot's
    // rule), and H100 in gcp/us-central1 for the alternative that names that region.
    toml.push_str(
        r#"
[[pool]]
name = "gcp-h100"
executor = "ray"
address = "http://127.0.0.1:8265"
provider = "gcp"
region = "us-central1"
zone = "us-central1-c"
accelerator = "H100"
count = 16
nodes = 2

[[pool]]
name = "spot-h100"
executor = "ray"
address = "http://127.0.0.1:8265"
provider = "aws"
region = "us-east-1"
zone = "us-east-1d"
accelerator = "H100"
count = 16
nodes = 2
price = { plan = "spot", usd_per_chip_hour = 2.5 }

[[pool]]
name = "spot-l4"
executor = "ray"
address = "http://127.0.0.1:8265"
provider = "gcp"
region = "us-central1"
zone = "us-central1-a"
accelerator = "L4"
count = 8
nodes = 2
price = { plan = "spot", usd_per_chip_hour = 0.3 }

[[pool]]
name = "spot-t4"
executor = "ray"
address = "http://127.0.0.1:8265"
provider = "gcp"
region = "us-central1"
zone = "us-central1-b"
accelerator = "T4"
count = 8
nodes = 2
price = { plan = "spot", usd_per_chip_hour = 0.15 }

[[pool]]
name = "spot-v5e16"
provider = "gcp"
region = "us-west4"
zone = "us-west4-b"
accelerator = "tpu-v5litepod-16"
slices = 2
price = { plan = "spot", usd_per_chip_hour = 0.5 }
"#,
    );
    Config::parse(&toml, "corpus pools").unwrap()
}

/// The second figure of docs/job-spec.md: of the corpus, the share a server with Slurm, Ray
/// and local pools accepts at submit (infra matched against providers and regions, gangs,
/// whether any pool could ever run it), each refusal with its reason.
#[test]
fn skypilot_shaped_tasks_are_accepted_by_a_server_whose_pools_can_run_them() {
    let names = known_accelerators();
    let config = corpus_pools();
    let files = corpus();
    let mut accepted = 0;
    let mut refused = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let Ok(tasks) = spillway_model::spec::parse_specs(&text, &names) else {
            refused.push(format!("{file}: invalid"));
            continue;
        };
        let mut why = None;
        for t in tasks {
            let mut spec = t.spec;
            if let Err(e) = spillway_server::service::check_submit(&config, &mut spec) {
                why.get_or_insert(e.to_string());
            }
        }
        match why {
            None => accepted += 1,
            Some(e) => refused.push(format!("{file}: {e}")),
        }
    }
    let total = files.len();
    let docs = job_spec_docs();
    let stated = format!("**{accepted} of {total} task files are accepted");
    assert!(
        docs.contains(&stated),
        "docs/job-spec.md should state \"{stated}\"; refused:\n{}",
        refused.join("\n")
    );
}

/// Where the first start of a job puts it: its pool and how many accelerators it holds.
fn first_start(config: &Config, spec: &spillway_model::spec::JobSpec) -> Option<(usize, usize)> {
    use spillway_server::schedule::{
        Action, Event, Machine, machine_config, machine_job, machine_pools,
    };
    let mut machine = Machine::new(machine_pools(config), machine_config(config));
    let id = spillway_server::job::JobId(1);
    machine.handle(
        1,
        Event::Submitted(machine_job(id, "t", 0, None, spec, None)),
    );
    machine.decide(10).actions.iter().find_map(|a| match a {
        Action::Start {
            job,
            pool,
            accelerators,
            ..
        } if *job == spillway_server::schedule::core_id(id) => Some((*pool, accelerators.len())),
        _ => None,
    })
}

/// Why pool `p` of `config` does not hold alternative `i` of `spec` as SkyPilot means it
/// (its accelerator, on every node, on spot capacity exactly when it asks for spot, within
/// its own infra, on a pool with the nodes); `None` when it does.
fn not_as_meant(
    config: &Config,
    spec: &spillway_model::spec::JobSpec,
    i: Option<usize>,
    p: usize,
) -> Option<String> {
    use spillway_model::spec::{PoolPlace, infra_matches};
    let pool = &config.pools[p];
    let r = &spec.resources;
    let accelerator = i.map(|i| r.accelerators[i].accelerator.as_str());
    let spot = i.map_or(r.use_spot, |i| r.use_spot_of(i));
    let infra = i.map_or(r.infra.as_deref(), |i| r.infra_of(i));
    let place = PoolPlace {
        name: &pool.name,
        executor: pool.executor.as_str(),
        provider: &pool.location.provider,
        region: &pool.location.region,
        zone: &pool.location.zone,
    };
    if accelerator.is_some() && pool.accelerator.as_deref() != accelerator {
        Some(format!("pool {} has {:?}", pool.name, pool.accelerator))
    } else if spot != (pool.plan == spillway_server::config::PricePlan::Spot) {
        Some(format!(
            "use_spot {spot} on pool {} ({:?})",
            pool.name, pool.plan
        ))
    } else if infra.is_some_and(|inf| !infra_matches(inf, &place)) {
        Some(format!("infra {infra:?} on pool {}", pool.name))
    } else if pool.nodes < spec.num_nodes {
        Some(format!(
            "{} nodes on pool {} of {}",
            spec.num_nodes, pool.name, pool.nodes
        ))
    } else {
        None
    }
}

/// The third figure of docs/job-spec.md: every accepted file, submitted alone to a server
/// whose pools are all free, starts as SkyPilot means it: on a pool of one of its
/// alternatives' accelerators with that alternative's spot and infra, per-node count times
/// nodes in all, and for ordered alternatives on the first that some pool can hold.
#[test]
fn accepted_skypilot_tasks_start_as_skypilot_means_them() {
    let names = known_accelerators();
    let config = corpus_pools();
    let (mut accepted, mut as_meant, mut wrong) = (0, 0, Vec::new());
    for path in corpus() {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(tasks) = spillway_model::spec::parse_specs(&text, &names) else {
            continue;
        };
        let mut specs = Vec::new();
        for t in tasks {
            let mut submitted = t.spec.clone();
            if spillway_server::service::check_submit(&config, &mut submitted).is_err() {
                specs.clear();
                break;
            }
            specs.push((t.spec, submitted));
        }
        if specs.is_empty() {
            continue;
        }
        accepted += 1;
        let mut why = None;
        for (spec, submitted) in &specs {
            let Some((p, held)) = first_start(&config, submitted) else {
                why.get_or_insert("not started on an empty server".to_string());
                continue;
            };
            let r = &spec.resources;
            let alternatives: Vec<Option<usize>> = if r.accelerators.is_empty() {
                vec![None]
            } else {
                (0..r.accelerators.len()).map(Some).collect()
            };
            let fits = |i: Option<usize>| {
                (0..config.pools.len()).any(|q| not_as_meant(&config, spec, i, q).is_none())
            };
            // The alternative it started as; for ordered ones, the first that can start.
            let chosen = alternatives
                .iter()
                .copied()
                .find(|&i| not_as_meant(&config, spec, i, p).is_none());
            let per_node = chosen.flatten().map_or(0, |i| r.accelerators[i].count);
            let problem = match chosen {
                None => Some(format!(
                    "started on pool {} that none of its alternatives means: {}",
                    config.pools[p].name,
                    not_as_meant(&config, spec, alternatives[0], p).unwrap_or_default()
                )),
                Some(_) if held != (per_node * spec.num_nodes) as usize => Some(format!(
                    "holds {held}, not {per_node} x {} nodes",
                    spec.num_nodes
                )),
                Some(i)
                    if r.order == spillway_model::spec::ChoiceOrder::Ordered
                        && alternatives.iter().copied().find(|&j| fits(j)) != Some(i) =>
                {
                    Some(format!(
                        "alternative {i:?} started before an earlier one that fits"
                    ))
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                why.get_or_insert(problem);
            }
        }
        match why {
            None => as_meant += 1,
            Some(e) => wrong.push(format!("{file}: {e}")),
        }
    }
    let stated = format!("**{as_meant} of {accepted} accepted task files start as SkyPilot means");
    assert!(
        job_spec_docs().contains(&stated),
        "docs/job-spec.md should state \"{stated}\"; not as meant:\n{}",
        wrong.join("\n")
    );
}
