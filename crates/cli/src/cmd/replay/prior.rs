//! What was under way when the period starts, read from the history before it: jobs submitted
//! earlier that still ran or waited then (the replay starts with them), and what each contract
//! had been charged by then (the replay's machine starts from it, as the service's did).
//!
//! The whole history before the period is read once, a page at a time, keeping only those jobs
//! and the part before the period of every attempt.

use super::history::{self, PastJob, Source};
use anyhow::Result;
use spillway_core::SimTime;
use spillway_core::econ::{ContractLedger, CoveredUse};
use spillway_server::config::Config;

/// The history before the period, as far as the replay needs it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prior {
    /// Jobs submitted before the period with an attempt that ran into it (or started in it).
    pub(crate) jobs: Vec<PastJob>,
    /// The part before the period of every attempt that started before it.
    pub(crate) slices: Vec<Slice>,
}

/// Accelerators held on a pool over an interval, ms since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slice {
    pub(crate) pool: String,
    pub(crate) chips: u32,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

/// Reads every job submitted before `from_ms`; running attempts count up to `now_ms`.
pub(crate) fn read(source: &Source<'_>, from_ms: i64, now_ms: i64) -> Result<Prior> {
    let mut prior = Prior::default();
    history::read_into(source, 0, from_ms, &mut |j| {
        keep(&mut prior, j, from_ms, now_ms)
    })?;
    Ok(prior)
}

fn keep(prior: &mut Prior, j: PastJob, from_ms: i64, now_ms: i64) {
    let mut under_way = false;
    for a in j.attempts.iter().filter(|a| a.ran()) {
        let end = a.ended_ms.unwrap_or(now_ms);
        if a.started_ms < from_ms {
            prior.slices.push(Slice {
                pool: a.pool.clone(),
                chips: a.chips,
                start_ms: a.started_ms,
                end_ms: end.min(from_ms),
            });
        }
        under_way |= end > from_ms;
    }
    if under_way {
        prior.jobs.push(j);
    }
}

/// What each of `config`'s contracts (in its order) was charged before `from_ms`, by the
/// contract's rules ([`ContractLedger::from_uses`], as the service bills them): the accelerator
/// time on the pools charged to it, at their committed price.
pub(crate) fn contract_ledgers(
    prior: &Prior,
    config: &Config,
    from_ms: i64,
) -> Vec<ContractLedger> {
    let mut uses: Vec<Vec<CoveredUse>> = vec![Vec::new(); config.contracts.len()];
    for s in &prior.slices {
        let Some(pool) = config.pool(&s.pool) else {
            continue;
        };
        let Some(k) = pool
            .contract
            .as_deref()
            .and_then(|c| config.contracts.iter().position(|k| k.name == c))
        else {
            continue;
        };
        uses[k].push(CoveredUse {
            from: SimTime(s.start_ms.saturating_mul(1000)),
            to: SimTime(s.end_ms.min(from_ms).saturating_mul(1000)),
            committed_per_hour: f64::from(s.chips) * pool.price.0,
            work_s: 0.0,
        });
    }
    config
        .contracts
        .iter()
        .zip(&uses)
        .map(|(c, u)| ContractLedger::from_uses(c, u))
        .collect()
}
