//! What executors report about attempts, applied to the live jobs: an engine started an
//! attempt, requeued it in its own queue (Slurm preemption), or it ended or vanished.

use super::reactor::{Reactor, Stop, event};
use crate::executor::{ExecEvent, ExecReport};
use crate::job::{AttemptOutcome, JobState};
use crate::store::Write;

impl Reactor {
    /// Applies one report; returns whether a scheduling round should look again (an attempt
    /// ended and freed its place).
    pub(super) async fn reported(&mut self, report: ExecReport) -> bool {
        let Some(live) = self.jobs.get_mut(&report.job) else {
            return false;
        };
        if live.attempt.as_ref().map(|a| a.number) != Some(report.attempt) {
            return false;
        }
        let id = report.job;
        let ended = matches!(
            report.event,
            ExecEvent::Exited { .. } | ExecEvent::Vanished { .. }
        );
        let writes = match report.event {
            ExecEvent::Running { detail } => {
                live.job.state = JobState::Running;
                live.job.message = format!("running: {detail}");
                vec![
                    Write::Job(live.job.clone()),
                    Write::Event(id, event("running", detail)),
                ]
            }
            ExecEvent::Requeued { detail } => {
                // The attempt goes on in the engine's queue and keeps its place here; the job
                // shows as queued, with the reason, not as failed.
                live.job.state = JobState::Queued;
                live.job.preemptions += 1;
                live.job.message = format!("preempted and requeued by the engine: {detail}");
                if let Some(a) = &live.attempt {
                    self.metrics.preempted(&a.pool, "engine");
                }
                vec![
                    Write::Job(live.job.clone()),
                    Write::Event(id, event("requeued", detail)),
                ]
            }
            ExecEvent::Exited { exit_code, detail } => {
                let outcome = match (live.stopping, exit_code, &detail) {
                    (Some(Stop::Cancel), ..) => AttemptOutcome::Cancelled,
                    (Some(Stop::Preempt(_) | Stop::Reclaim), ..) => AttemptOutcome::Preempted,
                    (None, Some(0), None) => AttemptOutcome::Succeeded,
                    (None, None, None) => AttemptOutcome::Lost,
                    _ => AttemptOutcome::Failed,
                };
                let detail = match (detail, exit_code) {
                    (Some(d), Some(c)) => Some(format!("{d} (exit code {c})")),
                    (d, _) => d,
                };
                self.finish(id, outcome, exit_code, detail)
            }
            ExecEvent::Vanished { detail } => {
                let outcome = if live.stopping == Some(Stop::Cancel) {
                    AttemptOutcome::Cancelled
                } else {
                    AttemptOutcome::NotStarted
                };
                self.finish(id, outcome, None, Some(detail))
            }
        };
        self.write(writes).await;
        ended
    }
}
