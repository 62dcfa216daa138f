//! The books of a scenario run, computed after it from its attempts: what was rented when (a
//! block of a VM pool from the first job on it to the last; anything else for its attempt),
//! billed in time order (committed capacity by its contract's rules: committed price inside a
//! term up to its total, then the overage rate; list outside the terms), the work done, the
//! spending against each contract hour by hour, and the books at the accounting horizon.

use super::report::SpendSample;
use super::run::{AtHorizon, EconOutcome};
use super::scenario::Scenario;
use super::world::block_of;
use crate::service::ServiceOutcome;
use spillway_core::SimTime;
use spillway_core::econ::{ContractLedger, EconPolicy, PlanKind, block_rentals};
use std::collections::HashMap;

const HOUR_MS: i64 = 3_600_000;

fn at(ms: i64) -> SimTime {
    SimTime(ms.saturating_mul(1000))
}

/// One attempt as the books see it.
struct Ran {
    job: usize,
    pool: usize,
    from: i64,
    to: i64,
    chips: u32,
    accelerators: Vec<u32>,
}

/// Rentals `(from_ms, to_ms, pool, chips)`: per block on pools cut into blocks (merged over the
/// attempts that touch it, [`block_rentals`]), else one per attempt.
fn rentals(s: &Scenario, ran: &[Ran]) -> Vec<(i64, i64, usize, u32)> {
    let mut out = Vec::new();
    let mut on_blocks: Vec<Vec<(i64, i64, &[u32])>> = vec![Vec::new(); s.pools.len()];
    for r in ran.iter().filter(|r| r.to > r.from) {
        if block_of(s, r.pool) <= 1 {
            out.push((r.from, r.to, r.pool, r.chips));
        } else {
            on_blocks[r.pool].push((r.from, r.to, &r.accelerators));
        }
    }
    for (p, attempts) in on_blocks.into_iter().enumerate() {
        let b = block_of(s, p);
        out.extend(
            block_rentals(attempts, b)
                .into_iter()
                .map(|(from, to, _)| (from, to, p, b)),
        );
    }
    out
}

/// The outcome's books, as [`EconOutcome`].
pub(super) fn close(
    s: &Scenario,
    policy: EconPolicy,
    speeds: &[[f64; 3]],
    out: &ServiceOutcome,
) -> EconOutcome {
    let m = s.pools.len();
    let n = s.jobs.len();
    let by_name: HashMap<&str, usize> = s
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let makespan = out.makespan_ms.max(0);
    let ran: Vec<Ran> = out
        .attempts
        .iter()
        .filter_map(|a| {
            Some(Ran {
                job: (a.job as usize).checked_sub(1)?,
                pool: *by_name.get(a.pool.as_str())?,
                from: a.started_ms,
                to: a.ended_ms.unwrap_or(makespan),
                chips: a.chips,
                accelerators: a.accelerators.clone(),
            })
        })
        .collect();
    // The books close at the horizon, or at the end of the run if it ends first.
    let close_ms = (s.accounting.horizon.0.div_euclid(1000)).min(makespan);

    // Billing: a sweep over the instants where what is rented changes, each hour (the spending
    // samples) and the close.
    let mut steps: Vec<(i64, usize, i64)> = Vec::new();
    for (f, t, p, c) in rentals(s, &ran) {
        steps.push((f, p, i64::from(c)));
        steps.push((t, p, -i64::from(c)));
    }
    steps.sort_unstable();
    let mut marks: Vec<i64> = (0..=makespan / HOUR_MS).map(|h| h * HOUR_MS).collect();
    marks.push(close_ms);
    marks.extend(steps.iter().map(|s| s.0));
    marks.sort_unstable();
    marks.dedup();
    let mut o = EconOutcome {
        policy,
        finishes: out
            .jobs
            .iter()
            .map(|j| j.finished_ms.map(at))
            .chain(std::iter::repeat(None))
            .take(n)
            .collect(),
        preemptions: out.preemptions,
        migrations: out.migrations,
        failovers: out.refusals,
        pool_cost: vec![0.0; m],
        pool_chip_hours: vec![0.0; m],
        pool_work_s: vec![0.0; m],
        ledgers: vec![ContractLedger::default(); s.contracts.len()],
        makespan: at(makespan),
        spend: Vec::new(),
        at_horizon: AtHorizon::default(),
    };
    let mut chips = vec![0i64; m];
    let mut next = 0usize;
    let mut prev = marks.first().copied().unwrap_or(0);
    let mut list_by_contract = vec![0.0; s.contracts.len()];
    let mut horizon_costs: Option<(Vec<f64>, Vec<ContractLedger>)> = None;
    for &t in &marks {
        if t > prev {
            let hours = (t - prev) as f64 / HOUR_MS as f64;
            list_by_contract.iter_mut().for_each(|x| *x = 0.0);
            for (p, &held) in chips.iter().enumerate() {
                if held <= 0 {
                    continue;
                }
                let pool = &s.pools[p];
                let per_hour = pool.price_per_chip_hour * held as f64;
                o.pool_chip_hours[p] += hours * held as f64;
                match pool.contract {
                    Some(c) => list_by_contract[c] += s.contracts[c].list_of(per_hour),
                    None if pool.plan != PlanKind::Owned => o.pool_cost[p] += per_hour * hours,
                    None => {}
                }
            }
            for (c, &list) in list_by_contract.iter().enumerate() {
                if list <= 1e-12 {
                    continue;
                }
                let bill = o.ledgers[c]
                    .bill(&s.contracts[c], at(prev), at(t), list)
                    .total();
                for (p, &held) in chips.iter().enumerate() {
                    let pool = &s.pools[p];
                    if pool.contract == Some(c) && held > 0 && pool.plan != PlanKind::Owned {
                        let mine = s.contracts[c].list_of(pool.price_per_chip_hour * held as f64);
                        o.pool_cost[p] += bill * mine / list;
                    }
                }
            }
        }
        prev = t;
        if t % HOUR_MS == 0 && t <= makespan {
            o.spend.push(sample(s, &o.ledgers, t));
        }
        if t == close_ms && horizon_costs.is_none() {
            horizon_costs = Some((o.pool_cost.clone(), o.ledgers.clone()));
        }
        while next < steps.len() && steps[next].0 == t {
            chips[steps[next].1] += steps[next].2;
            next += 1;
        }
    }
    o.spend.push(sample(s, &o.ledgers, makespan));
    let (horizon_cost, mut horizon_ledgers) =
        horizon_costs.unwrap_or_else(|| (o.pool_cost.clone(), o.ledgers.clone()));

    // Work: each attempt's chips x time after its restart overhead x its speed there.
    let overhead_ms = (s.checkpoint.restart_overhead_s * 1000.0).round() as i64;
    let mut horizon_work = vec![0.0; m];
    for r in &ran {
        let job = &s.jobs[r.job];
        let speed = speeds[r.pool][job.kind as usize] * f64::from(job.chips);
        let productive = |until: i64| (until - r.from - overhead_ms).max(0) as f64 / 1000.0;
        let (all, before) = (productive(r.to), productive(r.to.min(close_ms)));
        o.pool_work_s[r.pool] += all * speed;
        horizon_work[r.pool] += before * speed;
        if let Some(c) = s.pools[r.pool].contract {
            o.ledgers[c].record_work(all * speed);
            if let Some(l) = horizon_ledgers.get_mut(c) {
                l.record_work(before * speed);
            }
        }
    }

    // What was left undone at the close.
    let mut done = vec![0.0; n];
    for r in &ran {
        let speed = speeds[r.pool][s.jobs[r.job].kind as usize];
        if r.from >= close_ms {
            continue;
        }
        let ran_s = (r.to.min(close_ms) - r.from) as f64 / 1000.0;
        done[r.job] += if r.to > close_ms {
            s.checkpoint.done_work(ran_s, speed)
        } else {
            s.checkpoint.saved_work(ran_s, speed)
        };
    }
    let mut unfinished_jobs = 0;
    let mut unfinished_work_s = 0.0;
    for (j, job) in s.jobs.iter().enumerate() {
        if o.finishes[j].is_some_and(|f| f <= at(close_ms)) {
            continue;
        }
        unfinished_jobs += 1;
        unfinished_work_s += (job.work_s - done[j]).max(0.0) * f64::from(job.chips);
    }
    o.at_horizon = AtHorizon {
        pool_cost: horizon_cost,
        pool_work_s: horizon_work,
        ledgers: horizon_ledgers,
        unfinished_jobs,
        unfinished_work_s,
    };
    o
}

fn sample(s: &Scenario, ledgers: &[ContractLedger], t: i64) -> SpendSample {
    SpendSample {
        at: at(t),
        spent: ledgers.iter().map(|l| l.spent.0).collect(),
        scheduled: s.contracts.iter().map(|c| c.scheduled(at(t)).0).collect(),
    }
}
