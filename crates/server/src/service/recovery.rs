//! Startup recovery: rebuild the live jobs from the store and settle every attempt an earlier
//! server left running: re-adopt live processes, record exits that happened while it was
//! down, requeue (or fail) lost ones, and requeue launches that never began.

use super::ServiceError;
use super::reactor::{CANCELLING, LiveJob, Reactor, Stop};
use crate::executor::{Handle, Recovered};
use crate::job::{AttemptOutcome, JobEvent, JobState, now_ms};
use crate::schedule::Event;
use crate::store::Write;
use std::sync::Arc;

impl Reactor {
    /// Loads unfinished jobs and settles their attempts. Runs before the first round, so
    /// adopted processes hold their accelerators before anything new is placed.
    pub(super) async fn recover(&mut self) -> Result<(), ServiceError> {
        let unfinished = self.store.unfinished().await?;
        let mut writes = Vec::new();
        let (mut adopted, mut settled) = (0, 0);
        for (job, attempts) in unfinished {
            let id = job.id;
            let spec = Arc::new(job.spec.clone());
            let work_done_s = attempts
                .iter()
                .fold(0.0, |w, a| self.work_after_attempt(w, a));
            let live_attempt = attempts.into_iter().rev().find(|a| a.outcome.is_live());
            let was_running = job.state == JobState::Running;
            let mut live = LiveJob {
                job,
                spec,
                attempt: None,
                handle: None,
                stopping: None,
                wait: None,
                work_done_s,
                history: None,
            };
            let Some(mut attempt) = live_attempt else {
                self.track_queued(live).await;
                if was_running {
                    // Running without a live attempt cannot happen through this code; requeue.
                    let live = self.jobs.get_mut(&id).expect("inserted");
                    live.job.state = JobState::Queued;
                    writes.push(Write::Job(live.job.clone()));
                }
                continue;
            };
            let executor = self.executor_of(&attempt.pool);
            let result = executor.recover(&attempt).await;
            // The attempt holds its accelerators until it is settled below (an exit recorded
            // while the server was down frees them at once).
            self.estimate_work(&mut live).await;
            let job = self.machine_job(&live);
            match self.pool_index(&attempt.pool) {
                Some(pool) => self.machine.handle(
                    now_ms(),
                    Event::Restored {
                        job,
                        pool,
                        accelerators: attempt.accelerators.clone(),
                        started_ms: attempt.started_ms,
                        stopping: live.job.message == CANCELLING,
                    },
                ),
                None => self.machine.handle(now_ms(), Event::Submitted(job)),
            }
            self.jobs.insert(id, live);
            let live = self.jobs.get_mut(&id).expect("inserted");
            live.job.state = JobState::Running;
            let cancelling = live.job.message == CANCELLING;
            match result {
                Recovered::Running(handle) => {
                    adopted += 1;
                    handle.record(&mut attempt);
                    attempt.outcome = AttemptOutcome::Running;
                    writes.push(Write::Attempt(attempt.clone()));
                    writes.push(Write::Event(
                        id,
                        JobEvent {
                            at_ms: now_ms(),
                            kind: "adopted".into(),
                            message: format!(
                                "{} still running after a server restart: re-adopted",
                                describe(&handle)
                            ),
                        },
                    ));
                    live.attempt = Some(attempt);
                    live.handle = Some(handle.clone());
                    if cancelling {
                        // The cancel was requested before the crash: carry it out.
                        live.stopping = Some(Stop::Cancel);
                        let _ = executor.stop(id, live.job.attempts, handle).await;
                    }
                }
                other => {
                    settled += 1;
                    live.attempt = Some(attempt);
                    let (outcome, code) = match other {
                        Recovered::Exited(Some(0)) => (AttemptOutcome::Succeeded, Some(0)),
                        Recovered::Exited(Some(c)) => (AttemptOutcome::Failed, Some(c)),
                        Recovered::Exited(None) | Recovered::Lost => (AttemptOutcome::Lost, None),
                        Recovered::NotStarted => (AttemptOutcome::NotStarted, None),
                        Recovered::Running(_) => unreachable!("handled above"),
                    };
                    let outcome = if cancelling {
                        AttemptOutcome::Cancelled
                    } else {
                        outcome
                    };
                    writes.extend(self.finish(id, outcome, code, None));
                }
            }
        }
        self.store.write(writes).await?;
        if adopted + settled > 0 {
            tracing::info!(
                adopted,
                settled,
                "recovered attempts left by an earlier server"
            );
        }
        Ok(())
    }
}

/// A handle in words, for events.
fn describe(handle: &Handle) -> String {
    match handle {
        Handle::Process { pid, .. } => format!("process {pid}"),
        Handle::External(id) => format!("engine job {id}"),
    }
}
