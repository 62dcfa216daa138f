//! The replay's index of its jobs by id ([`JobIndex`]).

use super::workload::ServiceJob;
use spillway_core::JobId;
use spillway_core::machine::IdMap;

/// Where each job of the workload is, by id: searched once or twice per attempt, never
/// iterated. When the ids follow one another without a gap in the workload's order (a trace
/// or a generated workload numbers its jobs so), a job's place is its id less the first: no
/// table to search, and the jobs running at once, which arrived near one another, sit near one
/// another. (A hash map of a million ids made each search a cache miss.) Other workloads (the
/// service's history, with gaps) get a hash map.
#[derive(Debug)]
pub(super) enum JobIndex {
    /// Ids `first..first + len`, in order.
    Dense {
        first: u64,
        len: usize,
    },
    Map(IdMap<JobId, usize>),
}

impl JobIndex {
    pub(super) fn new(jobs: &[ServiceJob]) -> JobIndex {
        let first = jobs.first().map_or(0, |j| j.job.id.0);
        let dense = jobs
            .iter()
            .enumerate()
            .all(|(i, j)| first.checked_add(i as u64) == Some(j.job.id.0));
        if dense {
            return JobIndex::Dense {
                first,
                len: jobs.len(),
            };
        }
        JobIndex::Map(
            jobs.iter()
                .enumerate()
                .map(|(i, j)| (j.job.id, i))
                .collect(),
        )
    }

    /// The place of job `id` in the workload.
    pub(super) fn get(&self, id: JobId) -> Option<usize> {
        match self {
            JobIndex::Dense { first, len } => {
                let i = usize::try_from(id.0.checked_sub(*first)?).ok()?;
                (i < *len).then_some(i)
            }
            JobIndex::Map(map) => map.get(&id).copied(),
        }
    }
}
