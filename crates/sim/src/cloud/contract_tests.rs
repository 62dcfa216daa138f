//! The contract rules and the accounting in scenario runs, one rule a test: a term that ends,
//! a total that caps, an overage rate, a renewal, the horizon, the price of waiting, work
//! weighted by chips; and the errors of bad input.

use super::*;
use spillway_catalog::Catalog;
use spillway_core::SimTime;
use spillway_core::econ::EconPolicy;
use std::path::PathBuf;

/// Job `a`: 8 chips, 10 h of reference work at t = 0.
const ONE_JOB: &str = "job_id,submit_time_s,duration_s,num_gpus\na,0,36000,8\n";
/// Job `a`, then job `b` (8 chips, 1 h) at 50,000 s.
const TWO_JOBS: &str = "job_id,submit_time_s,duration_s,num_gpus\na,0,36000,8\nb,50000,3600,8\n";

/// The v6e slice's committed and list prices per hour (8 chips at $2.70 list, 30% off).
const V6E_LIST: f64 = 8.0 * 2.70;
const V6E_COMMITTED: f64 = 8.0 * 1.89;
/// A 1-month term that began 30 days before t = 0 ends 10.5 hours in.
const TERM_END_S: f64 = (365.25 / 12.0 - 30.0) * 86_400.0;
/// Job `a` on the v6e slice: a restart, then 10 h of pretraining at 918/989 of an H100.
const A_ON_V6E_S: f64 = 300.0 + 36_000.0 * 989.0 / 918.0;

fn load(name: &str, jobs: &str, accounting: &str, contract: &str) -> Scenario {
    let text = format!(
        r#"[scenario]
name = "{name}"
tick_s = 300

[checkpoint]
interval_s = 3600
restart_overhead_s = 300

[workload]
trace = "jobs.csv"
framework_shares = {{ cuda = 0.0, xla = 1.0, any = 0.0 }}

{accounting}

[[contract]]
name = "c"
provider = "gcp"
discount_percent = 30
accelerators = ["tpu-v6e"]
{contract}

[[pool]]
name = "od"
plan = "on-demand"
provider = "aws"
zone = "use1-az6"
accelerator = "H100"
instance = "p5.48xlarge"
quota_chips = 8

[[pool]]
name = "v6e"
plan = "committed"
provider = "gcp"
zone = "us-east4-a"
accelerator = "tpu-v6e"
quota_chips = 8
"#
    );
    let path = write(name, jobs, &text);
    Scenario::load(&path, &Catalog::bundled()).unwrap()
}

fn write(name: &str, jobs: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-contract-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("jobs.csv"), jobs).unwrap();
    std::fs::write(dir.join("s.toml"), text).unwrap();
    dir.join("s.toml")
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 0.01, "{what}: {a} != {b}");
}

#[test]
fn a_term_that_ends_closes_the_pool_and_bills_what_still_runs_at_list() {
    let s = load(
        "term-ends",
        TWO_JOBS,
        "",
        "total_usd = 1000000\nterm_months = 1\nstart_offset_days = -30",
    );
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    let l = &o.ledgers[0];
    // Job a starts on the commitment (behind schedule: nearly free); the term ends under it:
    // committed price up to the end, list after it, nothing charged to the contract after.
    close(l.spent.0, V6E_COMMITTED * TERM_END_S / 3600.0, "committed");
    close(
        l.list.0,
        V6E_LIST * (A_ON_V6E_S - TERM_END_S) / 3600.0,
        "list",
    );
    assert_eq!(l.overage.0, 0.0);
    // Job b arrives after the end: the committed pool is closed, it goes on demand.
    assert!(o.pool_cost[0] > 0.0, "{:?}", o.pool_cost);
    // The horizon defaults to the end of the term: the shortfall of the term is owed then.
    assert_eq!(s.accounting.horizon_source, "contracts");
    assert_eq!(s.accounting.horizon, SimTime::from_secs(TERM_END_S));
    let summary = EconSummary::new(&s, &o);
    let owed = summary.contracts_owed[0];
    close(owed.committed + owed.shortfall, 1_000_000.0, "owed");
    assert!(!summary.contracts[0].open);
}

#[test]
fn a_total_caps_committed_charges_and_the_stated_overage_rate_prices_the_rest() {
    // $100 buys 6.6 hours of the slice; the baseline takes the slice (cheapest per hour).
    let s = load(
        "total-caps",
        ONE_JOB,
        "",
        "total_usd = 100\nterm_months = 12\noverage_discount_percent = 10",
    );
    let o = run_scenario(&s, EconPolicy::Baseline, &mut |_, _| {});
    let l = &o.ledgers[0];
    close(l.spent.0, 100.0, "committed");
    assert_eq!(l.term_spent, [100.0]);
    let overage_h = A_ON_V6E_S / 3600.0 - 100.0 / V6E_COMMITTED;
    close(l.overage.0, overage_h * V6E_LIST * 0.9, "overage");
    let at = l.exhausted_at.unwrap().as_secs();
    assert!((at - 100.0 / V6E_COMMITTED * 3600.0).abs() < 1.0, "{at}");
    close(o.pool_cost[1], l.spent.0 + l.overage.0, "pool cost");
}

#[test]
fn a_stated_renewal_keeps_the_pool_open_for_another_term() {
    let s = load(
        "renewal",
        TWO_JOBS,
        "",
        "total_usd = 1000000\nterm_months = 1\nstart_offset_days = -30\nrenewals = 1",
    );
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    let l = &o.ledgers[0];
    // Job a crosses into the renewal at the committed price; job b runs in the second term too.
    assert_eq!(l.term_spent.len(), 2);
    close(
        l.term_spent[0],
        V6E_COMMITTED * TERM_END_S / 3600.0,
        "first term",
    );
    assert!(l.term_spent[1] > 0.0);
    assert_eq!(l.list.0, 0.0);
    assert_eq!(o.pool_cost[0], 0.0, "nothing on demand");
    // The horizon is the end of the renewal.
    let month = 365.25 / 12.0 * 86_400.0;
    assert_eq!(s.accounting.horizon, SimTime::from_secs(TERM_END_S + month));
}

#[test]
fn the_horizon_fixes_what_owned_capacity_costs_and_reports_what_is_unfinished() {
    let owned = "[[pool]]\nname = \"owned\"\nplan = \"owned\"\naccelerator = \"H100\"\nchips = 8\nprice_per_chip_hour = 2.0\n";
    let text = |accounting: &str| {
        format!(
            "[scenario]\nname = \"h\"\n\n[workload]\ntrace = \"jobs.csv\"\nframework_shares = {{ cuda = 1.0, xla = 0.0, any = 0.0 }}\n\n{accounting}\n\n{owned}"
        )
    };
    // No contract: the horizon is the workload's span, 10 h; the job needs 10 h and 300 s.
    let s = Scenario::load(&write("horizon", ONE_JOB, &text("")), &Catalog::bundled()).unwrap();
    assert_eq!(s.accounting.horizon_source, "workload");
    assert_eq!(s.accounting.horizon, SimTime::from_secs(36_000.0));
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    let summary = EconSummary::new(&s, &o);
    // Owned capacity costs its amortization for the horizon, not for the run (10 h 5 min).
    close(summary.cost_by_plan["owned"], 8.0 * 2.0 * 10.0, "owned");
    assert_eq!(summary.unfinished_jobs, 1);
    close(
        summary.unfinished_accelerator_hours,
        8.0 * 300.0 / 3600.0,
        "left",
    );
    // Stated: a month; the job is done well before it.
    let s = Scenario::load(
        &write(
            "horizon-stated",
            ONE_JOB,
            &text("[accounting]\nhorizon_months = 1"),
        ),
        &Catalog::bundled(),
    )
    .unwrap();
    let summary = EconSummary::new(
        &s,
        &run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {}),
    );
    assert_eq!(summary.unfinished_jobs, 0);
    close(summary.horizon_months, 1.0, "months");
    close(
        summary.total_cost_usd,
        8.0 * 2.0 * 365.25 / 12.0 * 24.0,
        "owned for a month",
    );
}

#[test]
fn waiting_has_a_price_beside_the_plain_spend_and_work_counts_chips() {
    // Two 8-chip jobs at once, 8 owned chips: the second waits 10 h 5 min for the first.
    let jobs = "job_id,submit_time_s,duration_s,num_gpus\na,0,36000,8\nb,0,36000,8\nc,0,36000,1\n";
    let text = "[scenario]\nname = \"d\"\n\n[workload]\ntrace = \"jobs.csv\"\nframework_shares = { cuda = 1.0, xla = 0.0, any = 0.0 }\n\n[accounting]\nhorizon_months = 1\ndelay_usd_per_job_hour = 10\n\n[[pool]]\nname = \"owned\"\nplan = \"owned\"\naccelerator = \"H100\"\nchips = 9\nprice_per_chip_hour = 2.0\n";
    let s = Scenario::load(&write("delay", jobs, text), &Catalog::bundled()).unwrap();
    let o = run_scenario(&s, EconPolicy::CommitmentAware, &mut |_, _| {});
    let summary = EconSummary::new(&s, &o);
    // Delay: each job's restart (300 s), and the wait of the one that went second.
    let waited: f64 = s
        .jobs
        .iter()
        .zip(&o.finishes)
        .map(|(j, f)| f.unwrap().as_secs() - j.arrival.as_secs() - j.work_s)
        .sum();
    assert!(waited > 36_000.0, "{waited}");
    close(summary.delay_job_hours, waited / 3600.0, "delay");
    close(summary.delay_cost_usd, 10.0 * waited / 3600.0, "delay $");
    close(
        summary.total_with_delay_usd,
        summary.total_cost_usd + summary.delay_cost_usd,
        "sum",
    );
    // Work in accelerator-hours: 8 + 8 + 1 chips x 10 h on the reference chip.
    let work: f64 = o.pool_work_s.iter().sum();
    close(work / 3600.0, 170.0, "accelerator-hours");
}

#[test]
fn a_sweep_never_charges_committed_prices_outside_the_term_or_above_the_total() {
    let s = load(
        "sweep",
        TWO_JOBS,
        "[accounting]\nhorizon_months = 3",
        "total_usd = 1\nterm_months = 1\nstart_offset_days = -30",
    );
    let rows = sweep_commitment(&s, 0, &[200.0, 20_000.0], &[1.0, 2.0], EconPolicy::Baseline);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert!(r.max_term_committed_usd <= r.total_usd + 1e-9, "{r:?}");
        assert_eq!(r.committed_after_term_usd, 0.0, "{r:?}");
    }
    // $200 a year for a month is used up: overage; a longer term changes the totals.
    assert!(rows[0].overage_usd > 0.0);
    assert_ne!(rows[0].spend_usd, rows[2].spend_usd);
}

#[test]
fn bad_contracts_and_accounting_are_errors_that_name_the_field() {
    let text = |accounting: &str, contract: &str| {
        format!(
            "[scenario]\nname = \"bad\"\n\n[workload]\ntrace = \"jobs.csv\"\nframework_shares = {{ cuda = 1.0, xla = 0.0, any = 0.0 }}\n\n{accounting}\n\n[[contract]]\nname = \"c\"\nprovider = \"gcp\"\ntotal_usd = 1000\ndiscount_percent = 30\n{contract}\n\n[[pool]]\nname = \"owned\"\nplan = \"owned\"\naccelerator = \"H100\"\nchips = 8\nprice_per_chip_hour = 2.0\n"
        )
    };
    let error = |accounting: &str, contract: &str| {
        let path = write("bad", ONE_JOB, &text(accounting, contract));
        Scenario::load(&path, &Catalog::bundled())
            .unwrap_err()
            .to_string()
    };
    let e = error("", "term_months = -12");
    assert!(
        e.contains("`c`: term_months: must be a length in months"),
        "{e}"
    );
    let e = error("", "term_months = 12\noverage_discount_percent = 40");
    assert!(
        e.contains("overage_discount_percent: must be in [0, discount_percent = 30]"),
        "{e}"
    );
    let e = error("", "term_months = 12\nrenew = true");
    assert!(e.contains("unknown field `renew`"), "{e}");
    let e = error("[accounting]\nhorizon_months = -1", "term_months = 12");
    assert!(
        e.contains("[accounting] horizon_months must be in (0, 1200]"),
        "{e}"
    );
    let e = error(
        "[accounting]\ndelay_usd_per_job_hour = -5",
        "term_months = 12",
    );
    assert!(
        e.contains("[accounting] delay_usd_per_job_hour must be"),
        "{e}"
    );
    let e = error("[accounting]\nhorizon = 3", "term_months = 12");
    assert!(e.contains("unknown field `horizon`"), "{e}");
}
