//! The replay's state of each job on the simulated pools (the machine keeps its own): its
//! saved work, its current attempt and the counts written to the outcome at the end.

/// A job's state on the simulated pools (the machine keeps its own).
#[derive(Default)]
pub(super) struct Live {
    /// Reference seconds of work done (saved) before the current attempt.
    pub(super) saved_s: f64,
    pub(super) epoch: u32,
    /// The attempt (`epoch`) whose end is on the heap; time-shared jobs get theirs from the
    /// machine's round.
    pub(super) end_scheduled: Option<u32>,
    /// The current attempt.
    pub(super) current: Option<Attempt>,
    pub(super) stopping: bool,
    /// Stopping to move elsewhere at once: it checkpoints as it leaves.
    pub(super) moving: bool,
    /// Whether an attempt of it has started (its first start is in the outcome).
    pub(super) started: bool,
    /// Times it was preempted: counted here, where each attempt's state is, and written to
    /// the outcome's record of the job at the end (a second record to fetch per attempt).
    pub(super) preemptions: u32,
}

/// A job's attempt under way.
#[derive(Clone, Copy)]
pub(super) struct Attempt {
    pub(super) pool: usize,
    pub(super) started_ms: i64,
    /// Its index into `attempts` (its number when they are not kept).
    pub(super) record: usize,
    /// The accelerators it holds.
    pub(super) chips: u32,
    /// The job's speed on the pool (fixed for a job and pool): kept so that the attempt's end
    /// does not read the job's speeds again.
    pub(super) speed: f64,
}
