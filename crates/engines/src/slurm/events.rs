//! Turning successive `squeue` snapshots into the events a scheduling core consumes.
//!
//! Slurm tells no one when it preempts, requeues or finishes a job; a broker polls and
//! compares. [`SlurmWatcher`] keeps the last status of each watched job and reports what
//! changed. It does no I/O, so it is tested on plain data.
//!
//! Jobs are matched by id *and* by the `spillway:<id>` comment: slurmctld acknowledges a
//! submission before it saves it, so after a crash (`kill -9`) it can come back without the
//! newest jobs and hand their ids to the next submissions.

use std::collections::BTreeMap;

use super::spec::COMMENT_PREFIX;
use super::state::{ExitStatus, SlurmJobId, SlurmJobState, SlurmJobStatus};

/// Something that happened to a watched job between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlurmEvent {
    /// The job got its allocation (again, after a requeue).
    Started { job: SlurmJobId, nodes: String },
    /// Slurm put the job back in its queue: preempted by higher-priority work, its node
    /// failed, or an operator requeued it. `restarts` counts requeues so far.
    Requeued {
        job: SlurmJobId,
        restarts: u32,
        reason: String,
    },
    /// The job reached a terminal state; the watcher forgets it.
    Finished {
        job: SlurmJobId,
        state: SlurmJobState,
        exit: Option<ExitStatus>,
    },
    /// slurmctld no longer lists a job that had not finished, or lists another job under its
    /// id (slurmctld crashed before saving it and reused the id): it will not run unless
    /// submitted again. The watcher forgets it.
    Lost { job: SlurmJobId },
}

/// The last known status of each watched job of one cluster.
#[derive(Debug, Default)]
pub struct SlurmWatcher {
    watched: BTreeMap<SlurmJobId, Watched>,
}

#[derive(Debug)]
struct Watched {
    /// The comment Spillway submitted the job with.
    comment: String,
    last: Option<SlurmJobStatus>,
}

impl SlurmWatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts following a job right after submitting it for `spillway_job_id`.
    pub fn watch(&mut self, job: SlurmJobId, spillway_job_id: &str) {
        self.watched.entry(job).or_insert(Watched {
            comment: format!("{COMMENT_PREFIX}{spillway_job_id}"),
            last: None,
        });
    }

    /// The jobs still followed, in id order.
    pub fn watched(&self) -> impl Iterator<Item = SlurmJobId> + '_ {
        self.watched.keys().copied()
    }

    /// Compares a snapshot (e.g. [`super::SlurmClient::jobs`], taken after the jobs were
    /// watched) with the previous one and returns the events, in job id order.
    pub fn observe(&mut self, snapshot: &[SlurmJobStatus]) -> Vec<SlurmEvent> {
        let by_id: BTreeMap<SlurmJobId, &SlurmJobStatus> =
            snapshot.iter().map(|s| (s.job_id, s)).collect();
        let mut events = Vec::new();
        let mut forget = Vec::new();
        for (&job, watched) in &mut self.watched {
            let Some(&now) = by_id.get(&job).filter(|s| s.comment == watched.comment) else {
                events.push(SlurmEvent::Lost { job });
                forget.push(job);
                continue;
            };
            let previous = watched.last.as_ref();
            let was_running = previous.is_some_and(|p| p.state.is_running());
            let previous_restarts = previous.map_or(0, |p| p.restarts);
            let requeued = now.restarts > previous_restarts
                || (was_running && !now.state.is_running() && !now.state.is_terminal());
            if requeued {
                events.push(SlurmEvent::Requeued {
                    job,
                    restarts: now.restarts,
                    reason: now.reason.clone(),
                });
            }
            if now.state.is_running() && (!was_running || requeued) {
                events.push(SlurmEvent::Started {
                    job,
                    nodes: now.nodes.clone(),
                });
            }
            if now.state.is_terminal() {
                events.push(SlurmEvent::Finished {
                    job,
                    state: now.state.clone(),
                    exit: now.exit,
                });
                forget.push(job);
            }
            watched.last = Some(now.clone());
        }
        for job in forget {
            self.watched.remove(&job);
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(job: u64, state: SlurmJobState, restarts: u32) -> SlurmJobStatus {
        SlurmJobStatus {
            job_id: SlurmJobId(job),
            name: String::new(),
            partition: "batch".into(),
            exit: state.is_terminal().then_some(ExitStatus::Code(0)),
            state,
            reason: "None".into(),
            restarts,
            nodes: "n1".into(),
            gres_detail: Vec::new(),
            comment: format!("spillway:s{job}"),
        }
    }

    #[test]
    fn a_preempted_job_reports_start_requeue_start_finish() {
        use SlurmJobState::*;
        let mut watcher = SlurmWatcher::new();
        watcher.watch(SlurmJobId(7), "s7");
        assert_eq!(watcher.observe(&[status(7, Pending, 0)]), []);
        assert!(matches!(
            watcher.observe(&[status(7, Running, 0)])[..],
            [SlurmEvent::Started { .. }]
        ));
        assert_eq!(watcher.observe(&[status(7, Running, 0)]), []);
        assert!(matches!(
            watcher.observe(&[status(7, Pending, 1)])[..],
            [SlurmEvent::Requeued { restarts: 1, .. }]
        ));
        assert!(matches!(
            watcher.observe(&[status(7, Running, 1)])[..],
            [SlurmEvent::Started { .. }]
        ));
        assert!(matches!(
            watcher.observe(&[status(7, Completed, 1)])[..],
            [SlurmEvent::Finished {
                state: Completed,
                exit: Some(ExitStatus::Code(0)),
                ..
            }]
        ));
        assert_eq!(watcher.watched().count(), 0);
    }

    #[test]
    fn a_requeue_and_restart_between_polls_is_still_seen() {
        use SlurmJobState::*;
        let mut watcher = SlurmWatcher::new();
        watcher.watch(SlurmJobId(1), "s1");
        watcher.observe(&[status(1, Running, 0)]);
        let events = watcher.observe(&[status(1, Running, 1)]);
        assert!(matches!(
            events[..],
            [
                SlurmEvent::Requeued { restarts: 1, .. },
                SlurmEvent::Started { .. }
            ]
        ));
    }

    #[test]
    fn vanished_jobs_and_reused_ids_are_lost() {
        use SlurmJobState::*;
        let mut watcher = SlurmWatcher::new();
        watcher.watch(SlurmJobId(1), "s1");
        watcher.watch(SlurmJobId(2), "s2");
        watcher.watch(SlurmJobId(3), "s3");
        let mut impostor = status(3, Pending, 0);
        impostor.comment = "spillway:someone-else".into();
        let events = watcher.observe(&[status(1, Pending, 0), status(2, Pending, 0), impostor]);
        assert_eq!(events, [SlurmEvent::Lost { job: SlurmJobId(3) }]);
        let events = watcher.observe(&[status(2, Pending, 0)]);
        assert_eq!(events, [SlurmEvent::Lost { job: SlurmJobId(1) }]);
        assert_eq!(watcher.watched().collect::<Vec<_>>(), [SlurmJobId(2)]);
    }
}
