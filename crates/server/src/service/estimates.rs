//! Work estimates from history: a job that states no `work` is given the median work of its
//! tenant's latest successful runs of the same name, so that policies which order by work
//! (`srpt_perf`, backfill, the economics) see it as what it has been, not as unknown.
//!
//! Work is in the unit of the spec's `work` field: seconds at speed 1.0 (an H100). An
//! attempt's work is the time it ran times its pool's speed
//! ([`crate::schedule::pool_throughputs`]). A successful run's work is its last attempt's,
//! plus, when that one resumed from a checkpoint, that of the attempts before it back to the
//! last one that started from scratch (refused and never-started launches do not count): the
//! work of an attempt that a restart from scratch threw away is not the job's. (Work since
//! the last checkpoint, redone after a resume, is counted twice: a small overestimate.)
//!
//! The reactor keeps a [`RunHistory`] per (tenant, name), read from the store the first time
//! a job of that name needs an estimate and kept up to date as jobs of that name succeed,
//! so that a scheduling round never reads the store for it. A job keeps the [`Snapshot`] it
//! was given when it was queued (the scheduler keeps its work from then on). [`WorkSource`] is the one rule
//! that decides where a job's work comes from; the machine's job and `spillway explain` both
//! follow it.

use crate::store::{SucceededRun, SucceededRuns};
use spillway_model::spec::{DEFAULT_JOB_NAME, JobSpec, WorkEstimate};
use std::collections::VecDeque;
use std::fmt;

/// How many of the latest successful runs an estimate is the median of: enough to ride out
/// an odd run, few enough to follow a job that grows.
pub(crate) const LATEST_RUNS: u32 = 20;

/// Work done by an attempt that ran from `started_ms` to `ended_ms` on a pool of `speed`,
/// reference seconds.
pub(super) fn attempt_work(started_ms: i64, ended_ms: i64, speed: f64) -> f64 {
    (ended_ms - started_ms).max(0) as f64 / 1000.0 * speed
}

/// A job's work so far after an attempt that ran and did `work`: added to what the attempts
/// before it did when it `resumed` from their checkpoint, else (a start from scratch) its own.
pub(super) fn work_after(done: f64, resumed: bool, work: f64) -> f64 {
    if resumed { done + work } else { work }
}

/// A tenant's successful runs of one job name, as the reactor remembers them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct RunHistory {
    /// Work of the latest runs (at most [`LATEST_RUNS`]), reference seconds, newest first.
    latest: VecDeque<f64>,
    /// Successful runs in all, also those too old (or too malformed) to be in `latest`.
    total: u64,
}

impl RunHistory {
    /// The history the store holds. `speed` gives a pool's speed by name (`None`: a pool no
    /// longer configured). A run whose record is malformed (an attempt without an end, no
    /// attempt that ran) or that ran on a pool no longer configured (its speed is unknown) is
    /// left out of the estimate, with a warning: it must not stop the service.
    pub(super) fn from_store(
        runs: SucceededRuns,
        speed: impl Fn(&str) -> Option<f64>,
        tenant: &str,
        name: &str,
    ) -> RunHistory {
        let latest = runs
            .latest
            .iter()
            .filter_map(|run| match run_work(run, &speed) {
                Ok(work) => Some(work),
                Err(why) => {
                    tracing::warn!(job = %run.job, %tenant, %name, %why, "a successful run is left out of the work estimate of its name");
                    None
                }
            })
            .collect();
        RunHistory {
            latest,
            total: runs.total,
        }
    }

    /// Counts a run that just succeeded, with its work in reference seconds.
    pub(super) fn record(&mut self, work_s: f64) {
        self.latest.push_front(work_s);
        self.latest.truncate(LATEST_RUNS as usize);
        self.total += 1;
    }

    /// What a job queued now is given: the estimate and what it is made of.
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            estimate: self.estimate(),
            runs: self.latest.len(),
            total: self.total,
        }
    }

    /// The median work of the latest runs, whole reference seconds (at least 1); `None`
    /// without any.
    fn estimate(&self) -> Option<u64> {
        let mut works: Vec<f64> = self.latest.iter().copied().collect();
        if works.is_empty() {
            return None;
        }
        works.sort_by(f64::total_cmp);
        let mid = works.len() / 2;
        let median = if works.len() % 2 == 1 {
            works[mid]
        } else {
            (works[mid - 1] + works[mid]) / 2.0
        };
        Some((median.ceil() as u64).max(1))
    }
}

/// What a job was given from the history of its name when it was told to the scheduler (the
/// history goes on; the job keeps this, so that `explain` says what the scheduler uses).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Snapshot {
    /// The estimate, reference seconds; `None` without any run.
    estimate: Option<u64>,
    /// Runs it is the median of.
    runs: usize,
    /// Successful runs in all.
    total: u64,
}

/// A successful run's work, or why it cannot be counted.
fn run_work(run: &SucceededRun, speed: &impl Fn(&str) -> Option<f64>) -> Result<f64, String> {
    if run.attempts.is_empty() {
        return Err("malformed record: it succeeded without an attempt that ran".into());
    }
    let mut work = 0.0;
    for a in &run.attempts {
        let pool = &a.pool;
        let Some(ended) = a.ended_ms.filter(|e| *e >= a.started_ms) else {
            return Err(format!(
                "malformed record: an attempt on pool {pool} has no end, or ends before it starts"
            ));
        };
        let Some(speed) = speed(pool) else {
            return Err(format!(
                "it ran on pool {pool}, which is no longer configured: its speed is unknown"
            ));
        };
        work = work_after(work, a.resumed, attempt_work(a.started_ms, ended, speed));
    }
    Ok(work)
}

/// Where a job's work comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum WorkSource<'a> {
    /// Its spec's `work`.
    Spec(WorkEstimate),
    /// The median of its tenant's latest successful runs of its name.
    History {
        /// The estimate, reference seconds.
        secs: u64,
        /// Runs it is the median of.
        runs: usize,
        /// Successful runs in all.
        total: u64,
        /// The job's tenant.
        tenant: &'a str,
        /// The job's name.
        name: &'a str,
    },
    /// None: unknown, and why.
    Unknown(String),
}

impl<'a> WorkSource<'a> {
    /// Where the work of `spec`, a job of `tenant`, comes from, given what the history of its
    /// name gave it (`None`: not read, as when the store could not be read).
    pub(super) fn of(
        spec: &'a JobSpec,
        tenant: &'a str,
        history: Option<Snapshot>,
    ) -> WorkSource<'a> {
        let name = spec.name.as_str();
        if let Some(work) = spec.work {
            return WorkSource::Spec(work);
        }
        if !Self::wants_history(spec) {
            return WorkSource::Unknown(if spec.budget.is_some() {
                // A budget rules out every pool whose estimated cost (work x price) is above
                // it, and the job waits with no end: that refusal must rest on work its tenant
                // stated, not on what earlier runs of its name took.
                "it has a budget, which is checked against a stated `work` only".to_string()
            } else {
                "the job has no name to find earlier runs by".to_string()
            });
        }
        let Some(history) = history else {
            return WorkSource::Unknown(format!(
                "the earlier runs of \"{name}\" could not be read"
            ));
        };
        match history.estimate {
            Some(secs) => WorkSource::History {
                secs,
                runs: history.runs,
                total: history.total,
                tenant,
                name,
            },
            None => WorkSource::Unknown(format!("no earlier successful run of \"{name}\"")),
        }
    }

    /// Whether a job of `spec` takes its work from the history of its name: when it states
    /// none, has a name of its own, and has no budget (see [`WorkSource::of`]).
    pub(super) fn wants_history(spec: &JobSpec) -> bool {
        spec.work.is_none() && spec.budget.is_none() && spec.name != DEFAULT_JOB_NAME
    }

    /// The estimate from history, reference seconds, for the machine's job (the spec's own
    /// `work` it reads itself).
    pub(super) fn estimated_secs(&self) -> Option<u64> {
        match self {
            WorkSource::History { secs, .. } => Some(*secs),
            WorkSource::Spec(_) | WorkSource::Unknown(_) => None,
        }
    }
}

/// A run time in words: `2.0 h`, `12.5 min`, `40 s`.
fn duration(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{:.1} h", s as f64 / 3600.0),
        s if s >= 60 => format!("{:.1} min", s as f64 / 60.0),
        s => format!("{s} s"),
    }
}

/// What `spillway explain` shows after `work: `, e.g. `2.0 h from the spec`.
impl fmt::Display for WorkSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkSource::Spec(WorkEstimate::Seconds(s)) => {
                write!(f, "{} from the spec", duration(*s))
            }
            WorkSource::Spec(WorkEstimate::Steps(n)) => write!(
                f,
                "{n} steps from the spec (not a run time: the scheduler treats it as unknown)"
            ),
            WorkSource::History {
                secs,
                runs,
                total,
                tenant,
                name,
            } => {
                let runs = if (*runs as u64) < *total {
                    format!("the latest {runs} of {total} earlier runs")
                } else if *runs == 1 {
                    "1 earlier run".to_string()
                } else {
                    format!("{runs} earlier runs")
                };
                write!(
                    f,
                    "{} estimated from {runs} of \"{name}\" (tenant {tenant})",
                    duration(*secs)
                )
            }
            WorkSource::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobId;
    use crate::store::RanAttempt;
    use spillway_model::spec::{AcceleratorNames, parse_spec};

    fn spec(yaml: &str) -> JobSpec {
        parse_spec(yaml, &AcceleratorNames::new(["H100"]))
            .unwrap()
            .spec
    }

    /// A run of attempts (pool, start, end); each after the first resumes from a checkpoint
    /// unless its pool's name says `scratch`.
    fn run(job: i64, attempts: &[(&str, i64, Option<i64>)]) -> SucceededRun {
        SucceededRun {
            job: JobId(job),
            attempts: attempts
                .iter()
                .enumerate()
                .map(|(i, &(p, s, e))| RanAttempt {
                    pool: p.trim_end_matches("-scratch").to_string(),
                    resumed: i > 0 && !p.ends_with("scratch"),
                    started_ms: s,
                    ended_ms: e,
                })
                .collect(),
        }
    }

    /// Pool `fast` runs at 2.0, `slow` at 0.5; `gone` is no longer configured.
    fn speed(pool: &str) -> Option<f64> {
        match pool {
            "fast" => Some(2.0),
            "slow" => Some(0.5),
            _ => None,
        }
    }

    #[test]
    fn a_runs_work_is_its_attempts_time_times_their_pools_speed() {
        let runs = SucceededRuns {
            total: 4,
            latest: vec![
                // 100 s on the fast pool, then 200 s on the slow one, resumed after a
                // preemption.
                run(
                    4,
                    &[("fast", 0, Some(100_000)), ("slow", 150_000, Some(350_000))],
                ),
                // A restart from scratch throws the first attempt's work away.
                run(
                    3,
                    &[
                        ("fast", 0, Some(100_000)),
                        ("slow-scratch", 150_000, Some(1_150_000)),
                    ],
                ),
                run(2, &[("slow", 0, Some(1_000_000))]),
                run(1, &[("fast", 0, Some(3_000_000))]),
            ],
        };
        let h = RunHistory::from_store(runs, speed, "t", "train");
        assert_eq!(h.latest, [300.0, 500.0, 500.0, 6000.0]);
        assert_eq!(h.estimate(), Some(500), "the median");
    }

    #[test]
    fn malformed_runs_and_runs_on_removed_pools_are_left_out() {
        let runs = SucceededRuns {
            total: 5,
            latest: vec![
                run(5, &[("fast", 0, None)]),
                run(4, &[("fast", 10, Some(5))]),
                run(3, &[]),
                run(2, &[("gone", 0, Some(1_000))]),
                run(1, &[("fast", 0, Some(1_000))]),
            ],
        };
        let h = RunHistory::from_store(runs, speed, "t", "train");
        assert_eq!((h.latest.len(), h.total), (1, 5));
        assert_eq!(h.estimate(), Some(2));
    }

    #[test]
    fn the_estimate_is_the_median_of_the_latest_runs_and_follows_new_ones() {
        let mut h = RunHistory::default();
        assert_eq!(h.estimate(), None);
        h.record(10.0);
        h.record(30.5);
        assert_eq!(
            h.estimate(),
            Some(21),
            "the mean of the middle two, rounded up"
        );
        for _ in 0..LATEST_RUNS {
            h.record(100.0);
        }
        assert_eq!(
            h.latest.len(),
            LATEST_RUNS as usize,
            "only the latest count"
        );
        assert_eq!((h.estimate(), h.total), (Some(100), 22));
        h.record(0.2);
        assert_eq!(h.estimate(), Some(100));
        let mut short = RunHistory::default();
        short.record(0.2);
        assert_eq!(short.estimate(), Some(1), "at least a second");
    }

    /// The line `spillway explain` prints.
    fn line(source: WorkSource<'_>) -> String {
        format!("work: {source}")
    }

    #[test]
    fn the_source_of_work_in_words() {
        let mut h = RunHistory::default();
        for w in [5000.0, 5400.0, 5600.0] {
            h.record(w);
        }
        let named = spec("name: train-resnet\nrun: x\n");
        assert_eq!(
            line(WorkSource::of(&named, "acme", Some(h.snapshot()))),
            "work: 1.5 h estimated from 3 earlier runs of \"train-resnet\" (tenant acme)"
        );
        assert_eq!(
            WorkSource::of(&named, "acme", Some(h.snapshot())).estimated_secs(),
            Some(5400)
        );
        h.total = 30;
        assert_eq!(
            line(WorkSource::of(&named, "acme", Some(h.snapshot()))),
            "work: 1.5 h estimated from the latest 3 of 30 earlier runs of \"train-resnet\" (tenant acme)"
        );
        assert_eq!(
            line(WorkSource::of(
                &named,
                "acme",
                Some(RunHistory::default().snapshot())
            )),
            "work: unknown (no earlier successful run of \"train-resnet\")"
        );
        let stated = spec("name: train-resnet\nwork: 2h\nrun: x\n");
        let source = WorkSource::of(&stated, "acme", Some(h.snapshot()));
        assert_eq!(line(source.clone()), "work: 2.0 h from the spec");
        assert_eq!(source.estimated_secs(), None, "the machine reads the spec");
        let unnamed = spec("run: x\n");
        assert!(!WorkSource::wants_history(&unnamed));
        assert_eq!(
            line(WorkSource::of(&unnamed, "acme", Some(h.snapshot()))),
            "work: unknown (the job has no name to find earlier runs by)"
        );
        let budget = spec("name: train-resnet\nbudget: 10\nrun: x\n");
        assert!(!WorkSource::wants_history(&budget));
        assert_eq!(
            WorkSource::of(&budget, "acme", Some(h.snapshot())).estimated_secs(),
            None
        );
        assert_eq!(
            line(WorkSource::of(&named, "acme", None)),
            "work: unknown (the earlier runs of \"train-resnet\" could not be read)"
        );
        assert_eq!(duration(90), "1.5 min");
        assert_eq!(duration(59), "59 s");
    }
}
