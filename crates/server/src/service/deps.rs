//! Jobs that run after another (`spillway submit --after ID`, the tasks of a SkyPilot
//! pipeline): a queued job waits while the job it runs after is not done, starts once it
//! has succeeded, and is cancelled, with the reason, when it failed or was cancelled.
//!
//! [`gate`] is the decision, a pure function of the jobs and their predecessors' states.
//! [`Reactor::gate_dependencies`] feeds it before each round (predecessors still live are
//! known to the reactor; finished ones are read from the store), cancels the jobs it says to
//! cancel, and clears the dependency of those it releases. A job still held keeps
//! `spec.after` set, and is not told to the decision machine (`Reactor::track_queued` asks
//! [`held`]) until it is released.

use super::reactor::{LiveJob, Reactor, event};
use crate::job::{JobId, JobState, now_ms};
use crate::schedule::Event;
use crate::store::Write;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What to do with a queued job that runs after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Its predecessor succeeded: it may be placed.
    Release,
    /// Its predecessor is not done (or its state could not be read): it waits, for this
    /// reason.
    Hold(String),
    /// Its predecessor failed or was cancelled (or does not exist): cancel it, for this
    /// reason.
    Cancel(String),
}

/// Decides, for each `(job, predecessor)`, from the predecessor's state (`None`: unknown,
/// e.g. the store could not be read).
pub(crate) fn gate(
    jobs: &[(JobId, JobId)],
    state_of: impl Fn(JobId) -> Option<Option<JobState>>,
) -> Vec<(JobId, Gate)> {
    jobs.iter()
        .map(|&(job, before)| {
            let gate = match state_of(before) {
                Some(Some(JobState::Succeeded)) => Gate::Release,
                Some(Some(JobState::Queued | JobState::Running)) => {
                    Gate::Hold(format!("waits for job {before} to succeed"))
                }
                Some(Some(s @ (JobState::Failed | JobState::Cancelled))) => Gate::Cancel(format!(
                    "cancelled: job {before}, which it runs after, {}",
                    s.as_str()
                )),
                Some(None) => Gate::Cancel(format!(
                    "cancelled: job {before}, which it runs after, does not exist"
                )),
                None => Gate::Hold(format!(
                    "waits for job {before} to succeed (its state could not be read)"
                )),
            };
            (job, gate)
        })
        .collect()
}

/// Whether a live job waits for the job it runs after (and so is not offered to the round).
pub(super) fn held(live: &LiveJob) -> bool {
    live.attempt.is_none() && live.spec.after.is_some()
}

impl Reactor {
    /// Applies [`gate`] to the queued jobs that run after another. Called before each round.
    pub(super) async fn gate_dependencies(&mut self) {
        let waiting: Vec<(JobId, JobId)> = self
            .jobs
            .values()
            .filter(|l| held(l))
            .filter_map(|l| l.spec.after.map(|a| (l.job.id, JobId(a))))
            .collect();
        if waiting.is_empty() {
            return;
        }
        // A predecessor still live is queued or running; a finished one is in the store.
        let mut states: BTreeMap<JobId, Option<Option<JobState>>> = BTreeMap::new();
        for &(_, before) in &waiting {
            if states.contains_key(&before) {
                continue;
            }
            let state = match self.jobs.get(&before) {
                Some(l) => Some(Some(l.job.state)),
                None => match self.store.job(before).await {
                    Ok(j) => Some(j.map(|j| j.state)),
                    Err(e) => {
                        tracing::warn!(job = %before, error = %e, "failed to read the state of a job others run after");
                        None
                    }
                },
            };
            states.insert(before, state);
        }
        let decisions = gate(&waiting, |id| states.get(&id).cloned().flatten());
        let mut writes = Vec::new();
        for (id, decision) in decisions {
            match decision {
                Gate::Release => {
                    if let Some(l) = self.jobs.get_mut(&id) {
                        let mut spec = (*l.spec).clone();
                        spec.after = None;
                        l.spec = Arc::new(spec);
                        l.job.message = "released: the job it runs after succeeded".into();
                        writes.push(Write::Job(l.job.clone()));
                    }
                    // Only now does the decision machine see it as queued.
                    if let Some(l) = self.jobs.get(&id) {
                        let job = self.machine_job(l);
                        self.machine.handle(now_ms(), Event::Submitted(job));
                    }
                }
                Gate::Hold(reason) => {
                    if let Some(l) = self.jobs.get_mut(&id) {
                        if l.job.message != reason {
                            l.job.message = reason;
                            writes.push(Write::Job(l.job.clone()));
                        }
                    }
                }
                Gate::Cancel(reason) => {
                    if let Some(mut l) = self.jobs.remove(&id) {
                        l.job.state = JobState::Cancelled;
                        l.job.finished_ms = Some(now_ms());
                        l.job.message = reason.clone();
                        writes.push(Write::Job(l.job.clone()));
                        writes.push(Write::Event(id, event("cancelled", reason)));
                    }
                }
            }
        }
        if !writes.is_empty() {
            self.write(writes).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_waits_for_its_predecessor_and_follows_its_fate() {
        let states = BTreeMap::from([
            (JobId(1), JobState::Running),
            (JobId(2), JobState::Succeeded),
            (JobId(3), JobState::Failed),
            (JobId(4), JobState::Cancelled),
        ]);
        let jobs = [
            (JobId(10), JobId(1)),
            (JobId(11), JobId(2)),
            (JobId(12), JobId(3)),
            (JobId(13), JobId(4)),
            (JobId(14), JobId(99)),
            (JobId(15), JobId(5)),
        ];
        let got = gate(&jobs, |id| match id.0 {
            5 => None,
            _ => Some(states.get(&id).copied()),
        });
        assert_eq!(
            got,
            [
                (JobId(10), Gate::Hold("waits for job 1 to succeed".into())),
                (JobId(11), Gate::Release),
                (
                    JobId(12),
                    Gate::Cancel("cancelled: job 3, which it runs after, failed".into())
                ),
                (
                    JobId(13),
                    Gate::Cancel("cancelled: job 4, which it runs after, cancelled".into())
                ),
                (
                    JobId(14),
                    Gate::Cancel("cancelled: job 99, which it runs after, does not exist".into())
                ),
                (
                    JobId(15),
                    Gate::Hold("waits for job 5 to succeed (its state could not be read)".into())
                ),
            ]
        );
    }
}
