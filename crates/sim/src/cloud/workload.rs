//! The scenario's workload: a trace (Philly, or any format the readers know) whose jobs get a
//! framework, a job kind and maybe a deadline by a documented seeded rule.
//!
//! The rule: one ChaCha8 stream seeded with `seed`; each job, in trace order, draws three
//! uniforms `u1, u2, u3` (always three, so one share does not move the others):
//! - framework: `cuda` if `u1 < cuda`, else `xla` if `u1 < cuda + xla`, else `any`;
//! - kind: jobs of 8 or more chips are `pretrain`; others `pretrain` if `u2 < 0.3`, `finetune`
//!   if `u2 < 0.7`, else `eval`;
//! - deadline: if `u3 < deadline_share`, `arrival + deadline_factor x work + deadline_extra_h`.
//!
//! A job's work is its trace duration, read as seconds on the reference accelerator.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use spillway_core::SimTime;
use spillway_core::econ::{Framework, JobKind};
use spillway_model::WorkAmount;
use std::path::Path;

/// `[workload]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkloadSpec {
    trace: String,
    /// Trace positions `A..B` to keep (end exclusive).
    jobs: Option<String>,
    #[serde(default = "default_seed")]
    seed: u64,
    framework_shares: Shares,
    #[serde(default)]
    deadline_share: f64,
    #[serde(default = "default_factor")]
    deadline_factor: f64,
    #[serde(default)]
    deadline_extra_h: f64,
}

fn default_seed() -> u64 {
    0
}
fn default_factor() -> f64 {
    2.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shares {
    cuda: f64,
    xla: f64,
    any: f64,
}

/// One job of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct EconSimJob {
    /// Position in the trace.
    pub trace_id: String,
    /// Arrival.
    pub arrival: SimTime,
    /// Work, seconds on the reference accelerator.
    pub work_s: f64,
    /// Chips used at once.
    pub chips: u32,
    /// What it is built on.
    pub framework: Framework,
    /// Its roofline class.
    pub kind: JobKind,
    /// When it must be done.
    pub deadline: Option<SimTime>,
}

pub(crate) enum BuildError {
    Trace(crate::trace::TraceError),
    Invalid(String),
}

pub(crate) fn build(spec: &WorkloadSpec, base: &Path) -> Result<Vec<EconSimJob>, BuildError> {
    let s = &spec.framework_shares;
    let total = s.cuda + s.xla + s.any;
    if [s.cuda, s.xla, s.any].iter().any(|x| *x < 0.0) || (total - 1.0).abs() > 1e-6 {
        return Err(BuildError::Invalid(format!(
            "[workload] framework_shares must be >= 0 and sum to 1, found {total}"
        )));
    }
    if !(0.0..=1.0).contains(&spec.deadline_share) || spec.deadline_factor < 1.0 {
        return Err(BuildError::Invalid(
            "[workload] deadline_share must be in [0, 1] and deadline_factor >= 1".into(),
        ));
    }
    let path = base.join(&spec.trace);
    let trace = crate::trace::read_trace(&path, None, &crate::trace::ReadOptions::default())
        .map_err(BuildError::Trace)?;
    let window =
        match &spec.jobs {
            None => 0..trace.jobs.len(),
            Some(w) => {
                let (a, b) = w.split_once("..").ok_or_else(|| {
                    BuildError::Invalid(format!("[workload] jobs = {w:?}: expected A..B"))
                })?;
                let a: usize = a.trim().parse().map_err(|_| {
                    BuildError::Invalid(format!("[workload] jobs = {w:?}: bad start"))
                })?;
                let b: usize = b.trim().parse().map_err(|_| {
                    BuildError::Invalid(format!("[workload] jobs = {w:?}: bad end"))
                })?;
                a.min(trace.jobs.len())..b.min(trace.jobs.len())
            }
        };
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut jobs = Vec::with_capacity(window.len());
    let t0 = trace
        .jobs
        .get(window.start)
        .map_or(0.0, |r| r.arrival_time_s);
    for (i, r) in trace.jobs.iter().enumerate() {
        let (u1, u2, u3): (f64, f64, f64) = (rng.random(), rng.random(), rng.random());
        if !window.contains(&i) {
            continue;
        }
        let work_s = match r.work {
            WorkAmount::Seconds(s) => s,
            WorkAmount::Steps(_) => {
                return Err(BuildError::Invalid(format!(
                    "[workload] job {}: the trace gives steps; a scenario needs run times in seconds (Philly, Alibaba or CSV)",
                    r.id
                )));
            }
        };
        let framework = if u1 < s.cuda {
            Framework::Cuda
        } else if u1 < s.cuda + s.xla {
            Framework::Xla
        } else {
            Framework::Any
        };
        let kind = if r.scale_factor >= 8 || u2 < 0.3 {
            JobKind::Pretrain
        } else if u2 < 0.7 {
            JobKind::Finetune
        } else {
            JobKind::Eval
        };
        let arrival = SimTime::from_secs(r.arrival_time_s - t0);
        let deadline = (u3 < spec.deadline_share).then(|| {
            arrival.plus_secs_ceil(spec.deadline_factor * work_s + spec.deadline_extra_h * 3600.0)
        });
        jobs.push(EconSimJob {
            trace_id: r.id.clone(),
            arrival,
            work_s: work_s.max(1.0),
            chips: r.scale_factor.max(1),
            framework,
            kind,
            deadline,
        });
    }
    Ok(jobs)
}
