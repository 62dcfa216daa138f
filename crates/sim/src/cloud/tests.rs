//! Scenario runs on small hand-made scenarios: preemption and checkpoint accounting, contract
//! charges, determinism.

use super::*;
use spillway_catalog::Catalog;
use spillway_core::econ::EconPolicy;
use std::path::PathBuf;

/// Writes `files` into a fresh folder and returns the scenario's path.
fn setup(name: &str, files: &[(&str, String)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-cloud-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir.join("s.toml")
}

/// A spot availability series of `n` five-minute samples, `at(i)` instances each.
fn availability_series(n: usize, at: impl Fn(usize) -> u32) -> String {
    let values: Vec<String> = (0..n).map(|i| at(i).to_string()).collect();
    format!(
        "{{\"metadata\": {{\"gap_seconds\": 300}}, \"data\": [{}]}}",
        values.join(",")
    )
}

const JOBS: &str = "job_id,submit_time_s,duration_s,num_gpus\na,0,36000,8\n";

fn scenario_text(extra_pools: &str) -> String {
    format!(
        r#"[scenario]
name = "t"
tick_s = 300

[checkpoint]
interval_s = 3600
restart_overhead_s = 300

[workload]
trace = "jobs.csv"
framework_shares = {{ cuda = 1.0, xla = 0.0, any = 0.0 }}
deadline_share = 1.0
deadline_factor = 3.0

# A month: the job's 10 hours of work finish a day later (the default horizon, its span on the
# reference accelerator, would leave the on-demand restart outside the books).
[accounting]
horizon_months = 1

[[pool]]
name = "od"
plan = "on-demand"
provider = "aws"
zone = "use1-az6"
accelerator = "H100"
instance = "p5.48xlarge"
quota_chips = 8
{extra_pools}"#
    )
}

#[test]
fn a_preempted_spot_job_resumes_from_its_checkpoint_and_meets_its_deadline() {
    // Spot for 2.5 hours (30 ticks of 5 min), then gone past the deadline (the series replays
    // after 33 h).
    let trace = availability_series(400, |i| if i < 30 { 4 } else { 0 });
    let spot = r#"
[[pool]]
name = "spot"
plan = "spot"
provider = "aws"
zone = "usw2-az3"
accelerator = "H100"
instance = "p5.48xlarge"
quota_chips = 8
availability_trace = "spot.json"
"#;
    let path = setup(
        "preempt",
        &[
            ("jobs.csv", JOBS.into()),
            ("spot.json", trace),
            ("s.toml", scenario_text(spot)),
        ],
    );
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    assert_eq!(o.preemptions, 1);
    // Started on spot at 0, preempted at 2.5 h: 300 s restart, then two whole hours saved.
    // While its slack absorbs another preemption it waits for spot (retrying whenever the
    // failover memory lets the zone go), never on demand; the deadline is 30 h after arrival,
    // the 8 h left need 8 h + 300 s on demand, and the margin is an interval, a restart and a
    // failed launch (4,020 s): from 74,880 s the slack is short of it, and the job restarts on
    // demand at the next look (the machine looks a tick after each wait on the clock), so
    // within a tick of 74,880 s.
    assert!(o.failovers > 1, "{}", o.failovers);
    let finish = o.finishes[0].unwrap().as_secs();
    let restart = finish - (300.0 + 8.0 * 3600.0);
    assert!((74_880.0..=75_180.0).contains(&restart), "{finish}");
    let summary = EconSummary::new(&s, &o);
    assert_eq!(summary.deadline_misses, 0);
    assert!(summary.cost_by_plan["spot"] > 0.0 && summary.cost_by_plan["on-demand"] > 0.0);
    // On demand: 8 chips x $6.88 x (8 h + 300 s).
    let od = summary.cost_by_plan["on-demand"];
    assert!((od - 55.04 * (8.0 + 300.0 / 3600.0)).abs() < 0.01, "{od}");
    assert_eq!(
        o,
        run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {}),
        "deterministic"
    );
    // Without spot the job runs once, on demand.
    let plain = run_scenario(&s, EconPolicy::OnDemandOnly, &mut |_, _| {});
    assert_eq!(plain.preemptions, 0);
    assert!((plain.finishes[0].unwrap().as_secs() - 36_300.0).abs() < 1.0);
}

#[test]
fn committed_use_is_charged_to_the_contract_at_the_discount() {
    let tpu = r#"
[[contract]]
name = "c"
provider = "gcp"
total_usd = 1000000
term_months = 12
discount_percent = 30
accelerators = ["tpu-v6e"]

[[pool]]
name = "v6e"
plan = "committed"
provider = "gcp"
zone = "us-east4-a"
accelerator = "tpu-v6e"
quota_chips = 8
"#;
    let text = scenario_text(tpu)
        .replace("cuda = 1.0, xla = 0.0", "cuda = 0.0, xla = 1.0")
        .replace("deadline_share = 1.0", "deadline_share = 0.0");
    let path = setup("committed", &[("jobs.csv", JOBS.into()), ("s.toml", text)]);
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    assert!((s.pools[1].price_per_chip_hour - 2.7 * 0.7).abs() < 1e-9);
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    let summary = EconSummary::new(&s, &o);
    // Behind schedule, the commitment is nearly free: the job runs on the v6e slice of 8 chips,
    // pretrain at 918/989 of an H100.
    let hours = 300.0 / 3600.0 + 10.0 * 989.0 / 918.0;
    assert!(
        (o.ledgers[0].spent.0 - 8.0 * 1.89 * hours).abs() < 0.05,
        "{:?}",
        o.ledgers[0]
    );
    assert_eq!(summary.cost_by_plan["on-demand"], 0.0);
    // The baseline sees $15.12/h for the slice against $55.04 for the VM: the slice too.
    let b = run_scenario(&s, EconPolicy::Baseline, &mut |_, _| {});
    assert!(b.ledgers[0].spent.0 > 0.0);
}

#[test]
fn a_deadline_job_waits_for_spot_while_its_slack_allows_instead_of_renting_on_demand() {
    // No spot for the first 30 minutes, then plenty.
    let trace = availability_series(200, |i| if i < 6 { 0 } else { 4 });
    let spot = r#"
[[pool]]
name = "spot"
plan = "spot"
provider = "aws"
zone = "usw2-az3"
accelerator = "H100"
instance = "p5.48xlarge"
quota_chips = 8
availability_trace = "spot.json"
"#;
    let path = setup(
        "migrate",
        &[
            ("jobs.csv", JOBS.into()),
            ("spot.json", trace),
            ("s.toml", scenario_text(spot)),
        ],
    );
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    // Spot first, none: the zone is blocked while its score is at least 1/2 (through the
    // 1,800 s tick), the job waits (its 10 h are due in 30 h) and starts on spot at the next
    // look, spot being back by then: the machine looks a tick after the refusal took its 120 s,
    // then every tick: 1,920 s.
    assert_eq!(o.failovers, 1);
    let started = 1920.0;
    let summary = EconSummary::new(&s, &o);
    assert_eq!(summary.deadline_misses, 0);
    assert_eq!(summary.cost_by_plan["on-demand"], 0.0);
    assert!(summary.cost_by_plan["spot"] > 0.0);
    let finish = o.finishes[0].unwrap().as_secs();
    assert!(
        (finish - (started + 300.0 + 36_000.0)).abs() < 1.0,
        "{finish}"
    );
    // Without spot it starts on demand at once.
    let plain = run_scenario(&s, EconPolicy::OnDemandOnly, &mut |_, _| {});
    assert!((plain.finishes[0].unwrap().as_secs() - 36_300.0).abs() < 1.0);
}

#[test]
fn small_jobs_share_a_rented_vm_under_the_packing_policies_only() {
    // Three 1-GPU jobs of 1 h arriving together, no deadlines; the only pool rents whole
    // 8-GPU VMs. The baseline rents a VM per job, the commitment-aware policy packs them onto
    // one (waiting 6 minutes first, a tenth of their run time, as no owned capacity exists).
    let jobs = "job_id,submit_time_s,duration_s,num_gpus\na,0,3600,1\nb,0,3600,1\nc,0,3600,1\n";
    let text = scenario_text("").replace("deadline_share = 1.0", "deadline_share = 0.0");
    let path = setup("pack", &[("jobs.csv", jobs.into()), ("s.toml", text)]);
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    // The pool's quota (8 chips) holds one VM: the baseline runs the jobs one after another.
    let base = run_scenario(&s, EconPolicy::Baseline, &mut |_, _| {});
    let packed = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    let hours = |o: &EconOutcome| o.pool_chip_hours[0] / 8.0;
    // Each job: 300 s restart + 3,600 s of work, billed for the whole VM.
    assert!(
        (hours(&base) - 3.0 * 3900.0 / 3600.0).abs() < 1e-6,
        "{}",
        hours(&base)
    );
    assert!(
        (hours(&packed) - 3900.0 / 3600.0).abs() < 1e-6,
        "{}",
        hours(&packed)
    );
    let last = |o: &EconOutcome| o.finishes.iter().flatten().max().unwrap().as_secs();
    assert!((last(&base) - 3.0 * 3900.0).abs() < 1.0);
    // They may rent after 360 s of waiting; the next pass is the 600 s tick.
    assert!(
        (last(&packed) - (600.0 + 3900.0)).abs() < 1.0,
        "{}",
        last(&packed)
    );
}

#[test]
fn a_job_goes_into_a_vm_of_its_own_rather_than_keep_two_rented() {
    // A 6-GPU job of 1 h and a 4-GPU job of 10 h arrive together; the pool rents 8-GPU VMs
    // (two fit its quota). The lowest free chips would put the 4-GPU job on chips 6..10, so
    // both VMs would stay rented for 10 h; best fit gives it the second VM alone, and the
    // first is returned after an hour.
    let jobs = "job_id,submit_time_s,duration_s,num_gpus\na,0,3600,6\nb,0,36000,4\n";
    let text = scenario_text("")
        .replace("deadline_share = 1.0", "deadline_share = 0.0")
        .replace("quota_chips = 8", "quota_chips = 16");
    let path = setup("bestfit", &[("jobs.csv", jobs.into()), ("s.toml", text)]);
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    let o = run_scenario(&s, EconPolicy::OnDemandOnly, &mut |_, _| {});
    let vm_hours = o.pool_chip_hours[0] / 8.0;
    // Each job: 300 s restart + its work, on a VM of its own.
    let want = (3900.0 + 36_300.0) / 3600.0;
    assert!(
        (vm_hours - want).abs() < 1e-6,
        "{vm_hours} VM-hours, want {want}"
    );
}

#[test]
fn committed_capacity_is_paced_to_the_burn_schedule() {
    // A $1,000 / 1-month commitment on v6e ($1.89/chip-h after 30% off): the schedule allows
    // about $1.37/h, a 1-chip slice job costs $1.89/h. Ten 1-chip jobs of 10 h arrive at once:
    // paced, they do not all go to the commitment at once; the rest use on-demand H100.
    let tpu = r#"
[[contract]]
name = "gcp-tpu"
provider = "gcp"
total_usd = 1000
term_months = 1
discount_percent = 30
accelerators = ["tpu-v6e"]

[[pool]]
name = "v6e"
plan = "committed"
provider = "gcp"
zone = "us-east4-a"
accelerator = "tpu-v6e"
quota_chips = 16
"#;
    let jobs: String = std::iter::once("job_id,submit_time_s,duration_s,num_gpus\n".to_string())
        .chain((0..10).map(|i| format!("j{i},0,36000,1\n")))
        .collect();
    let text = scenario_text(tpu)
        .replace("deadline_share = 1.0", "deadline_share = 0.0")
        .replace("cuda = 1.0, xla = 0.0", "cuda = 0.0, xla = 1.0")
        .replace("quota_chips = 8\n", "quota_chips = 80\n");
    let path = setup("pace", &[("jobs.csv", jobs), ("s.toml", text)]);
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    // Over a day's look-ahead the schedule allows $32.85 + 10%. One job costs about $20 over
    // its 10 h on v6e (a little slower than an H100): the first fits, a second would not; by
    // the time the first ends, the others have waited their hour and rented on-demand H100 (the
    // job on v6e is the one that ends first, without a restart's wait). The baseline puts every
    // job on the commitment, the cheapest hourly price.
    let first_end_h = o.finishes.iter().flatten().min().unwrap().as_hours();
    let one_job = 2.7 * 0.7 * first_end_h;
    let base = run_scenario(&s, EconPolicy::Baseline, &mut |_, _| {});
    assert!(
        (o.ledgers[0].spent.0 - one_job).abs() < 1e-6,
        "{}",
        o.ledgers[0].spent.0
    );
    assert!(
        base.ledgers[0].spent.0 > 9.0 * one_job,
        "{}",
        base.ledgers[0].spent.0
    );
    let summary = EconSummary::new(&s, &o);
    assert_eq!(summary.jobs_completed, 10);
}

#[test]
fn a_regional_stockout_blocks_every_zone_of_the_region_for_the_shared_memory_policies() {
    // Pool `a` (us-central1-a) has no capacity for the first 100 ticks and its failures are
    // regional (a quota): its region is blocked, so `b` (us-central1-b, same price) is skipped
    // and the job goes to `c` (us-west1-a). The baseline's request keeps its own memory (no
    // memory across jobs), which remembers the regional failure (SkyPilot blocks a region on a
    // quota error): c as well.
    let empty = availability_series(200, |i| if i < 100 { 0 } else { 1 });
    let pools = r#"
[[pool]]
name = "a"
plan = "on-demand"
provider = "gcp"
zone = "us-central1-a"
accelerator = "H100"
instance = "a3-highgpu-8g"
quota_chips = 8
availability_trace = "empty.json"
stockout_scope = "region"

[[pool]]
name = "b"
plan = "on-demand"
provider = "gcp"
zone = "us-central1-b"
accelerator = "H100"
instance = "a3-highgpu-8g"
quota_chips = 8

[[pool]]
name = "c"
plan = "on-demand"
provider = "gcp"
zone = "us-west1-a"
accelerator = "H100"
instance = "a3-highgpu-8g"
quota_chips = 8
"#;
    let text = scenario_text(pools).replace("deadline_share = 1.0", "deadline_share = 0.0");
    let path = setup(
        "region",
        &[
            ("jobs.csv", JOBS.into()),
            ("empty.json", empty),
            ("s.toml", text),
        ],
    );
    let s = Scenario::load(&path, &Catalog::bundled()).unwrap();
    let names: Vec<&str> = s.pools.iter().map(|p| p.name.as_str()).collect();
    let used = |o: &EconOutcome| -> Vec<&str> {
        (0..names.len())
            .filter(|&p| o.pool_chip_hours[p] > 0.0)
            .map(|p| names[p])
            .collect()
    };
    let aware = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    assert_eq!(aware.failovers, 1);
    assert_eq!(used(&aware), ["c"]);
    let base = run_scenario(&s, EconPolicy::Baseline, &mut |_, _| {});
    assert_eq!(used(&base), ["c"]);
    // A scope the memory does not know is an error naming the pool.
    let bad = setup(
        "region-bad",
        &[
            ("jobs.csv", JOBS.into()),
            ("empty.json", availability_series(1, |_| 1)),
            (
                "s.toml",
                scenario_text(pools)
                    .replace("stockout_scope = \"region\"", "stockout_scope = \"rack\""),
            ),
        ],
    );
    let err = Scenario::load(&bad, &Catalog::bundled())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("stockout_scope `rack`") && err.contains("`a`"),
        "{err}"
    );
}
