//! The figures compared side by side, computed the same way for what happened and for a
//! replay: JCT and queueing over the same jobs, utilization, preemptions, each tenant's share of
//! accelerator-seconds, spend (what each pool bills, [`billed`], x its price) and contract burn.

use super::history::PastJob;
use super::workload::Replayable;
use serde::Serialize;
use spillway_core::econ::block_rentals;
use spillway_server::config::Config;
use spillway_sim::metrics::{mean, quantile};
use spillway_sim::service::ServiceOutcome;
use std::collections::{BTreeMap, BTreeSet};

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Figures {
    /// Jobs replayed (or, for what happened, the jobs the replay covers).
    pub(crate) jobs: usize,
    /// Jobs whose JCT is compared that finished.
    pub(crate) finished: usize,
    /// Average seconds from arrival to finish.
    pub(crate) avg_jct_s: f64,
    /// 90th percentile of the same.
    pub(crate) p90_jct_s: f64,
    /// Average seconds from arrival to first start.
    pub(crate) avg_queueing_s: f64,
    /// From the first arrival to the last end, seconds.
    pub(crate) makespan_s: f64,
    /// Attempts preempted.
    pub(crate) preemptions: u64,
    /// Busy share of each pool's accelerators over the makespan.
    pub(crate) utilization: BTreeMap<String, f64>,
    /// Accelerator-hours per pool.
    pub(crate) chip_hours: BTreeMap<String, f64>,
    /// Each tenant's share of the accelerator-seconds.
    pub(crate) tenant_share: BTreeMap<String, f64>,
    /// What each pool bills x its price, USD: accelerator-hours, or on a pool rented by VMs
    /// (`block`) the VMs' rented hours x the accelerators of a VM ([`billed`]).
    pub(crate) spend_usd: f64,
    /// Spend on each contract's committed pools, USD.
    pub(crate) contract_usd: BTreeMap<String, f64>,
    /// What each contract had been charged before the period, USD (the replay's machine starts
    /// from it).
    pub(crate) contract_before_usd: BTreeMap<String, f64>,
    /// What each contract's schedule expects charged by the end of the period, USD.
    pub(crate) contract_scheduled_usd: BTreeMap<String, f64>,
}

impl Figures {
    /// Sets the contract burn against schedule: `before` is what each of `config`'s contracts
    /// (in its order) was charged before the period, which ends at `to_ms`.
    pub(crate) fn with_burn(mut self, config: &Config, before: &[f64], to_ms: i64) -> Figures {
        for (k, c) in config.contracts.iter().enumerate() {
            self.contract_before_usd
                .insert(c.name.clone(), before.get(k).copied().unwrap_or(0.0));
            let end = spillway_core::SimTime(to_ms.saturating_mul(1000));
            self.contract_scheduled_usd
                .insert(c.name.clone(), c.scheduled(end).0);
            self.contract_usd.entry(c.name.clone()).or_insert(0.0);
        }
        self
    }

    /// Each contract's charges by the end of the period against what its schedule expects
    /// by then (1.0: on schedule).
    pub(crate) fn burn_ratio(&self, contract: &str) -> Option<f64> {
        let spent = self
            .contract_before_usd
            .get(contract)
            .copied()
            .unwrap_or(0.0)
            + self.contract_usd.get(contract).copied().unwrap_or(0.0);
        let scheduled = *self.contract_scheduled_usd.get(contract)?;
        (scheduled > 0.0).then(|| spent / scheduled)
    }
}

/// One attempt, whoever ran it.
struct Slice<'a> {
    tenant: &'a str,
    pool: &'a str,
    chips: u32,
    accelerators: &'a [u32],
    start_ms: i64,
    end_ms: i64,
}

/// A job's times, whoever ran it.
struct Times {
    submitted_ms: i64,
    first_start_ms: Option<i64>,
    /// `Some` only for jobs whose JCT is compared.
    finished_ms: Option<i64>,
}

fn figures(
    config: &Config,
    origin_ms: i64,
    jobs: usize,
    times: &[Times],
    slices: &[Slice<'_>],
    preemptions: u64,
) -> Figures {
    let mut jcts: Vec<f64> = times
        .iter()
        .filter_map(|t| t.finished_ms.map(|f| (f - t.submitted_ms) as f64 / 1000.0))
        .collect();
    jcts.sort_by(f64::total_cmp);
    let waits: Vec<f64> = times
        .iter()
        .filter_map(|t| {
            t.first_start_ms
                .map(|s| (s - t.submitted_ms) as f64 / 1000.0)
        })
        .collect();
    let p90 = quantile(&jcts, 0.9);
    let end_ms = slices.iter().map(|s| s.end_ms).max().unwrap_or(origin_ms);
    let span_s = (end_ms - origin_ms).max(0) as f64 / 1000.0;
    let mut chip_s: BTreeMap<String, f64> = BTreeMap::new();
    let mut tenant_s: BTreeMap<String, f64> = BTreeMap::new();
    for s in slices {
        let cs = (s.end_ms - s.start_ms).max(0) as f64 / 1000.0 * f64::from(s.chips);
        *chip_s.entry(s.pool.to_string()).or_default() += cs;
        *tenant_s.entry(s.tenant.to_string()).or_default() += cs;
    }
    let total: f64 = tenant_s.values().sum();
    let mut billed_s: BTreeMap<&str, f64> = BTreeMap::new();
    let held = slices
        .iter()
        .map(|s| (s.pool, s.chips, s.accelerators, s.start_ms, s.end_ms));
    for (pool, chips, a, b) in billed(config, held) {
        *billed_s.entry(pool).or_default() += (b - a).max(0) as f64 / 1000.0 * f64::from(chips);
    }
    let mut spend_usd = 0.0;
    let mut contract_usd: BTreeMap<String, f64> = BTreeMap::new();
    for (pool, cs) in &billed_s {
        let Some(p) = config.pool(pool) else { continue };
        let usd = cs / 3600.0 * p.price.0;
        spend_usd += usd;
        if let Some(c) = &p.contract {
            *contract_usd.entry(c.clone()).or_default() += usd;
        }
    }
    let mut utilization = BTreeMap::new();
    for (pool, cs) in &chip_s {
        let Some(p) = config.pool(pool) else { continue };
        if p.count > 0 && span_s > 0.0 {
            utilization.insert(pool.clone(), cs / (f64::from(p.count) * span_s));
        }
    }
    Figures {
        jobs,
        finished: jcts.len(),
        avg_jct_s: mean(&jcts),
        p90_jct_s: p90,
        avg_queueing_s: mean(&waits),
        makespan_s: span_s,
        preemptions,
        utilization,
        chip_hours: chip_s.into_iter().map(|(k, v)| (k, v / 3600.0)).collect(),
        tenant_share: tenant_s
            .into_iter()
            .map(|(k, v)| (k, if total > 0.0 { v / total } else { 0.0 }))
            .collect(),
        spend_usd,
        contract_usd,
        contract_before_usd: BTreeMap::new(),
        contract_scheduled_usd: BTreeMap::new(),
    }
}

/// What happened to the replayed jobs, with the live configuration's prices; `carried` (jobs
/// of before the period under way at its start) count from `from_ms` on, without JCT.
pub(crate) fn actual(
    history: &[PastJob],
    replay: &Replayable,
    carried: &[PastJob],
    from_ms: i64,
    config: &Config,
    now_ms: i64,
) -> Figures {
    let replayed: BTreeSet<u64> = replay.jobs.iter().map(|j| j.job.id.0).collect();
    let mut times = Vec::new();
    let mut slices = Vec::new();
    let mut preemptions = 0;
    for j in history.iter().filter(|j| replayed.contains(&(j.id as u64))) {
        let runs: Vec<_> = j.attempts.iter().filter(|a| a.ran()).collect();
        preemptions += runs
            .iter()
            .filter(|a| a.outcome == spillway_server::job::AttemptOutcome::Preempted)
            .count() as u64;
        times.push(Times {
            submitted_ms: j.submitted_ms,
            first_start_ms: runs.first().map(|a| a.started_ms),
            finished_ms: j
                .finished_ms
                .filter(|_| replay.ended.contains(&(j.id as u64))),
        });
        for a in runs {
            slices.push(Slice {
                tenant: &j.tenant,
                pool: &a.pool,
                chips: a.chips,
                accelerators: &a.accelerators,
                start_ms: a.started_ms,
                end_ms: a.ended_ms.unwrap_or(now_ms),
            });
        }
    }
    for j in carried {
        for a in j.attempts.iter().filter(|a| a.ran()) {
            let end_ms = a.ended_ms.unwrap_or(now_ms);
            if end_ms <= from_ms {
                continue;
            }
            if a.outcome == spillway_server::job::AttemptOutcome::Preempted {
                preemptions += 1;
            }
            slices.push(Slice {
                tenant: &j.tenant,
                pool: &a.pool,
                chips: a.chips,
                accelerators: &a.accelerators,
                start_ms: a.started_ms.max(from_ms),
                end_ms,
            });
        }
    }
    figures(
        config,
        replay.origin_ms,
        times.len(),
        &times,
        &slices,
        preemptions,
    )
}

/// What a replay did, with `config`'s prices; `ended` says whose JCT counts (a copy made by
/// `--scale-demand` counts as its original, `copies` maps it); `carried` jobs (of before the
/// period) count only for the accelerator time they use.
pub(crate) fn replayed(
    outcome: &ServiceOutcome,
    config: &Config,
    origin_ms: i64,
    ended: &BTreeSet<u64>,
    copies: &BTreeMap<u64, u64>,
    carried: &BTreeSet<u64>,
) -> Figures {
    let tenants: BTreeMap<u64, &str> = outcome
        .jobs
        .iter()
        .map(|j| (j.job, j.tenant.as_str()))
        .collect();
    let counts = |id: u64| ended.contains(copies.get(&id).unwrap_or(&id));
    let times: Vec<Times> = outcome
        .jobs
        .iter()
        .filter(|j| !carried.contains(&j.job))
        .map(|j| Times {
            submitted_ms: j.submitted_ms,
            first_start_ms: j.first_start_ms,
            finished_ms: j.finished_ms.filter(|_| counts(j.job)),
        })
        .collect();
    let slices: Vec<Slice<'_>> = outcome
        .attempts
        .iter()
        .map(|a| Slice {
            tenant: tenants.get(&a.job).copied().unwrap_or(""),
            pool: &a.pool,
            chips: a.chips,
            accelerators: &a.accelerators,
            start_ms: a.started_ms,
            end_ms: a.ended_ms.unwrap_or(outcome.makespan_ms.max(a.started_ms)),
        })
        .collect();
    figures(
        config,
        origin_ms,
        times.len(),
        &times,
        &slices,
        outcome.preemptions,
    )
}

/// An attempt's time and the accelerators it held: `(from_ms, to_ms, indices)`.
type Held<'a> = (i64, i64, &'a [u32]);

/// What the pools bill for `attempts` `(pool, accelerators, their indices, from_ms, to_ms)`,
/// as `(pool, accelerators, from_ms, to_ms)`: each attempt's accelerators over its time, but on
/// a pool rented by VMs (`block` > 1 in `config`) each VM while any attempt holds one of its
/// accelerators ([`block_rentals`], as `/v1/usage` and the simulator's books count it).
pub(crate) fn billed<'a>(
    config: &Config,
    attempts: impl Iterator<Item = (&'a str, u32, &'a [u32], i64, i64)>,
) -> Vec<(&'a str, u32, i64, i64)> {
    let mut out = Vec::new();
    let mut on_vms: BTreeMap<&'a str, (u32, Vec<Held<'a>>)> = BTreeMap::new();
    for (pool, chips, held, a, b) in attempts {
        match config.pool(pool).map_or(1, |p| p.block) {
            block if block > 1 => on_vms
                .entry(pool)
                .or_insert_with(|| (block, Vec::new()))
                .1
                .push((a, b, held)),
            _ => out.push((pool, chips, a, b)),
        }
    }
    for (pool, (block, spans)) in on_vms {
        out.extend(
            block_rentals(spans, block)
                .into_iter()
                .map(|(a, b, _)| (pool, block, a, b)),
        );
    }
    out
}

/// `(b - a) / a`, or `None` when `a` is 0.
pub(crate) fn rel(a: f64, b: f64) -> Option<f64> {
    (a.abs() > f64::EPSILON).then(|| (b - a) / a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_rented_by_vms_bills_each_vm_while_rented() {
        let config = Config::parse(
            "[[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 16\nblock = 8\nprice = { plan = \"on_demand\", usd_per_chip_hour = 4.0 }\n\
             [[pool]]\nname = \"own\"\naccelerator = \"H100\"\ncount = 8\n",
            "t",
        )
        .unwrap();
        let attempts: [(&str, u32, &[u32], i64, i64); 4] = [
            ("od", 2, &[0, 1], 0, 3_600_000),
            ("od", 1, &[2], 1_800_000, 5_400_000),
            ("od", 2, &[8, 9], 0, 1_800_000),
            ("own", 3, &[0, 1, 2], 0, 3_600_000),
        ];
        let mut b = billed(&config, attempts.into_iter());
        b.sort();
        assert_eq!(
            b,
            [
                ("od", 8, 0, 1_800_000),
                ("od", 8, 0, 5_400_000),
                ("own", 3, 0, 3_600_000)
            ],
            "VM 0 from the first attempt to the last, VM 1 for its one; the owned pool by attempt"
        );
        let slices: Vec<Slice<'_>> = attempts
            .iter()
            .map(|&(pool, chips, accelerators, start_ms, end_ms)| Slice {
                tenant: "t",
                pool,
                chips,
                accelerators,
                start_ms,
                end_ms,
            })
            .collect();
        let f = figures(&config, 0, 0, &[], &slices, 0);
        // 2 VMs' worth: 8 x 1.5 h + 8 x 0.5 h = 16 accelerator-hours at $4; the owned pool is free.
        assert!((f.spend_usd - 64.0).abs() < 1e-9, "{}", f.spend_usd);
        // What the jobs held: 2 + 1 + 1 accelerator-hours.
        assert!((f.chip_hours["od"] - 4.0).abs() < 1e-9);
    }
}
