//! Passing over queued jobs that can change nothing in a round, for the simulator of long
//! traces ([`RoundInput::stop_when_stuck`]).

use super::PoolRound;
use super::candidates::{admits, asks_for_spot, deadline_allows_spot, holds};
use crate::econ::EconPolicy;
use crate::live::blocks::Blocks;
use crate::live::cost::Economics;
use crate::live::load::RunningLoad;
use crate::live::policy::LivePolicy;
use crate::live::types::{QueuedView, RoundInput};

/// Whether `job` may be passed over in a round that need not explain every wait
/// ([`RoundInput::stop_when_stuck`]): it can neither start, preempt nor reserve anything, and
/// its wait reason would add nothing to what the driver needs of the round's reasons (whether
/// some job waits for a reason that time alone lifts, `on_clock`).
///
/// The policy only ever ranks pools that hold one of the job's alternatives and that the
/// failover memory does not block (under `baseline` and `on_demand_only`, never spot pools). On
/// each such pool the job has no room (free accelerators or a job slot), nothing is being
/// freed, nothing of a lower priority runs, and another job has reserved it or no queued job
/// could use it in this round: it waits, and a reservation it would make there changes
/// nothing. (Committed capacity the policy leaves out for every such job, `Economics::
/// leaves_out`, is not ranked either.) Its reason matters only while no earlier job's
/// lapses with time; under policies whose rules never lapse with time (all but
/// `commitment_aware` and `on_demand_only`), a job that has an option the failover memory does
/// not block never waits as blocked, and an allocation policy's reasons are not these.
pub(super) fn changes_nothing(
    input: &RoundInput<'_>,
    blocks: &Blocks<'_>,
    pools: &[PoolRound],
    load: &RunningLoad,
    economics: Option<&Economics>,
    job: &QueuedView<'_>,
    on_clock: bool,
) -> bool {
    let Some((smallest, highest)) = input.stop_when_stuck else {
        return false;
    };
    if !input.pool_index.covers(job) {
        return false;
    }
    if job.choices.is_empty() {
        return false;
    }
    let econ = matches!(input.policy, LivePolicy::Econ(_));
    let takes_spot = !matches!(
        input.policy,
        LivePolicy::Econ(EconPolicy::Baseline | EconPolicy::OnDemandOnly)
    );
    let lapsing = matches!(
        input.policy,
        LivePolicy::Econ(EconPolicy::CommitmentAware | EconPolicy::OnDemandOnly)
    );
    // Whether an option the memory does not block decides the answer (see the end): only
    // under `baseline` while no earlier job waits on the clock. Where it cannot, and no
    // earlier job waits on the clock, the job is looked at.
    let needs_open = econ && !lapsing && !on_clock;
    if !on_clock && !needs_open {
        return false;
    }
    let gang = job.num_nodes.max(1);
    // As the economics see it (see `Economics::job`).
    let no_deadline = job.deadline_ms.is_none() || job.work_secs.is_none();
    let mut spot_now: Option<bool> = None;
    // Some option is certainly a candidate the memory does not block.
    let mut open = false;
    for (index, choice) in job.choices.iter().enumerate() {
        let count = choice.count * gang;
        for &i in input.pools_of_type(job, index).unwrap_or(&[]) {
            let p = &input.pools[i];
            let r = &pools[i];
            // What the pool's state alone says, checked first since it is cheap: whether the
            // job could act there, if the policy ranks the pool for it.
            let room = r.free_count() >= count && r.jobs < p.max_jobs;
            let preempts = load.lowest_priority(i).is_some_and(|l| l < job.priority);
            // No queued job can start, preempt or wait for room being made there in this round
            // (free indices and job slots only shrink in a round): a reservation would change
            // nothing.
            let dead = (r.free_count() < smallest || r.jobs >= p.max_jobs)
                && r.stopping == 0
                && load.lowest_priority(i).is_none_or(|l| l >= highest);
            let acts = room || r.stopping > 0 || preempts || (r.reservation.is_none() && !dead);
            if !acts && (open || !needs_open) {
                continue;
            }
            if !holds(p, job, choice) || blocks.is_blocked(input, job, i) {
                continue;
            }
            if needs_open && !open {
                // Under the economics' policies only a spot pool depends on the spot rule.
                let spot_now = p.is_spot()
                    && *spot_now.get_or_insert_with(|| {
                        asks_for_spot(job) && deadline_allows_spot(input, job)
                    });
                open = admits(input, job, index, choice, p, spot_now);
            }
            if !acts {
                continue;
            }
            let ranked_never = (p.is_spot() && !takes_spot)
                || economics.is_some_and(|e| e.leaves_out(input, i, no_deadline));
            if !ranked_never {
                return false;
            }
        }
    }
    on_clock || (open && !lapsing)
}
