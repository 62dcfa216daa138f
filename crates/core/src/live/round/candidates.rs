//! A job's candidates: the pools that could run each of its alternatives now (accelerator
//! type, slice shape, nodes, infra, spot and its deadline rule), and, when none could ever,
//! the reason (what `can_ever_place` gives at submit and a waiting job's reason names).

use super::super::nodes;
use super::super::policy::LivePolicy;
use super::super::reason::WaitReason;
use super::super::types::{PoolIndex, PoolView, QueuedView, RoundInput};
use super::Candidate;
use crate::PolicyKind;
use crate::SimTime;
use crate::econ::{CheckpointModel, spot_allowed};
use spillway_model::Usd;
use spillway_model::spec::tpu::slice_name;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder, PoolPlace, infra_matches};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

/// Whether a job could ever run on these pools (given their full capacity); the reason if not.
/// Used at submit to refuse jobs that would otherwise wait forever.
pub fn can_ever_place(pools: &[PoolView<'_>], job: &QueuedView<'_>) -> Result<(), WaitReason> {
    can_ever_place_under(pools, job, PolicyKind::PriorityBackfill.into())
}

/// [`can_ever_place`] under `policy`: under the placement economics' policies a job that asks
/// for spot may also run on reliable capacity (the policy weighs the two), under the others
/// spot means spot only.
pub fn can_ever_place_under(
    pools: &[PoolView<'_>],
    job: &QueuedView<'_>,
    policy: LivePolicy,
) -> Result<(), WaitReason> {
    let input = RoundInput {
        now_ms: 0,
        pools: pools.to_vec(),
        queued: Vec::new(),
        running: Cow::Borrowed(&[]),
        load: None,
        stop_when_stuck: None,
        quotas: HashMap::new(),
        policy,
        failover: None,
        restart_overhead_s: 0.0,
        failover_allowance_s: 0.0,
        contracts: Vec::new(),
        pool_index: PoolIndex::None,
    };
    if candidates(&input, job).is_empty() {
        Err(no_pool_reason(&input, job))
    } else {
        Ok(())
    }
}

/// The free indices a round may hand out: on a pool of TPU slices, only those of slices free
/// as a whole, so that a job always takes the lowest whole free slice and never chips of two
/// (every job there holds one whole slice, so this loses nothing unless the pool's shape
/// changed under running jobs); on other pools, all of them.
pub(super) fn usable_free(p: &PoolView<'_>) -> Vec<u32> {
    let Some(chips) = p.slice.map(|s| s.chips).filter(|c| *c > 0) else {
        return p.free.clone();
    };
    let free: BTreeSet<u32> = p.free.iter().copied().collect();
    (0..p.capacity / chips)
        .map(|k| k * chips..(k + 1) * chips)
        .filter(|slice| slice.clone().all(|i| free.contains(&i)))
        .flatten()
        .collect()
}

/// Whether pool `p` can ever hold `choice` of `job` at once: the same accelerator, the job's
/// nodes each with `choice.count` of them (one node: enough of them on one machine), and on a
/// pool of TPU slices exactly one slice of its shape (chips, and the topology when the job
/// states one). A choice written as a slice name (`tpu-v5p-32`) goes only to pools of slices
/// of that shape: a pool of loose chips would assemble it from chips that are not one slice.
pub(super) fn holds(p: &PoolView<'_>, job: &QueuedView<'_>, choice: &AcceleratorChoice) -> bool {
    if p.accelerator != Some(choice.accelerator.as_str())
        || !nodes::shape_holds(p, job.num_nodes, choice.count)
    {
        return false;
    }
    match p.slice {
        Some(shape) => shape.fits(choice.count, job.topology),
        None => !job.slice_choices.contains(&choice.accelerator),
    }
}

/// Why no pool of `choice`'s accelerator holds it, when that is a matter of slice shapes:
/// what each such pool is instead. `None` when no slice is involved.
fn slice_mismatch(
    input: &RoundInput<'_>,
    job: &QueuedView<'_>,
    choice: &AcceleratorChoice,
) -> Option<String> {
    let same: Vec<&PoolView<'_>> = input
        .pools
        .iter()
        .filter(|p| p.accelerator == Some(choice.accelerator.as_str()))
        .collect();
    let named = job.slice_choices.contains(&choice.accelerator);
    if same.is_empty() || !(named || same.iter().any(|p| p.slice.is_some())) {
        return None;
    }
    let name = slice_name(&choice.accelerator, choice.count).unwrap_or_else(|| choice.to_string());
    let wanted = match job.topology {
        Some(t) => format!("{name} of topology {t}"),
        None => name.clone(),
    };
    let pools: Vec<String> = same
        .iter()
        .map(|p| match p.slice {
            Some(shape) if shape.chips != choice.count => {
                format!("pool {} is {} slices", p.name, shape.describe())
            }
            Some(shape) => format!(
                "pool {} is {} slices{}",
                p.name,
                shape.name,
                match &shape.topology {
                    Some(t) => format!(" of topology {t}"),
                    None => " without a declared topology (set topology in the pool)".into(),
                }
            ),
            None => format!(
                "pool {} has {} loose {} chips, not declared as slices (name the slice as its accelerator, e.g. accelerator = \"{name}\")",
                p.name, p.capacity, choice.accelerator
            ),
        })
        .collect();
    Some(format!(
        "no declared pool has a {wanted} slice ({} chips as one slice, never assembled from several): {}",
        choice.count,
        pools.join("; ")
    ))
}

/// The spot deadline rule: whether a job may (still) use spot capacity now. A job with a
/// deadline and a work estimate may while its slack, on the fastest reliable (not spot) pool
/// that could run it, absorbs one more preemption: the work since its last checkpoint (all of
/// it without checkpoints) and a restart. Jobs without a deadline or an estimate, and jobs
/// that only spot pools could run, are not restricted.
pub(super) fn deadline_allows_spot(input: &RoundInput<'_>, job: &QueuedView<'_>) -> bool {
    let (Some(deadline_ms), Some(work_s)) = (job.deadline_ms, job.work_secs) else {
        return true;
    };
    // The pools of the job's accelerators (all of them for a CPU-only job, or without an index).
    let pools: Vec<usize> = match (input.pool_index.covers(job), job.choices.is_empty()) {
        (true, false) => {
            let mut v: Vec<usize> = (0..job.choices.len())
                .filter_map(|k| input.pools_of_type(job, k))
                .flatten()
                .copied()
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        }
        _ => (0..input.pools.len()).collect(),
    };
    let reliable_speed = pools
        .into_iter()
        .map(|i| (i, &input.pools[i]))
        .filter(|(_, p)| !p.is_spot() && job.infra.is_none_or(|i| within_infra(i, p)))
        .filter(|(_, p)| job.choices.is_empty() || job.choices.iter().any(|c| holds(p, job, c)))
        .map(|(i, p)| {
            if job.choices.is_empty() {
                1.0
            } else {
                super::super::job_speed(job.speeds, i, p.throughput)
            }
        })
        .fold(0.0, f64::max);
    if reliable_speed <= 0.0 {
        return true;
    }
    let model = CheckpointModel {
        interval_s: job.checkpoint_interval_s.unwrap_or(work_s) as f64,
        restart_overhead_s: input.restart_overhead_s,
        failover_allowance_s: input.failover_allowance_s,
    };
    spot_allowed(
        SimTime(input.now_ms.saturating_mul(1000)),
        SimTime(deadline_ms.saturating_mul(1000)),
        work_s as f64,
        reliable_speed,
        &model,
    )
}

/// Whether `job` or any of its alternatives asks for spot capacity.
pub(super) fn asks_for_spot(job: &QueuedView<'_>) -> bool {
    job.use_spot || job.alternatives.iter().any(|a| a.use_spot == Some(true))
}

/// Whether alternative `index` of `job` asks for spot capacity: its own `use_spot`, else the
/// job's.
fn wants_spot(job: &QueuedView<'_>, index: usize) -> bool {
    job.alternatives
        .get(index)
        .and_then(|a| a.use_spot)
        .unwrap_or(job.use_spot)
}

/// Whether pool `p` lies within `infra` as SkyPilot means it (a pool's name, an executor
/// kind, `cloud[/region[/zone]]`). The pool's zone is its failover-memory zone, which marks
/// spot capacity with a `#spot` suffix.
fn within_infra(infra: &str, p: &PoolView<'_>) -> bool {
    infra_matches(
        infra,
        &PoolPlace {
            name: p.name,
            executor: p.executor,
            provider: p.location.0,
            region: p.location.1,
            zone: p.location.2.trim_end_matches("#spot"),
        },
    )
}

/// Where a job may go, in order of preference. A candidate's `count` is all the accelerators
/// the job holds there: its choice's count on each of its `num_nodes` nodes.
///
/// Spot follows SkyPilot's rule: an alternative with `use_spot: true` goes to spot pools
/// only, one without to reliable (owned, committed, on-demand) pools only. The one exception
/// is the spot deadline rule: once a job's deadline can no longer absorb a preemption, its
/// spot alternatives go to reliable pools instead, since a missed deadline is what the user
/// asked to avoid. The economics' policies (`commitment_aware`, `on_demand_only`,
/// `baseline`) exist to decide between spot and reliable capacity: under them `use_spot`
/// means that spot is allowed, and they choose. Each alternative's own `infra` restricts that
/// alternative only.
pub(crate) fn candidates<'j>(input: &RoundInput<'_>, job: &QueuedView<'j>) -> Vec<Candidate<'j>> {
    let spot_now = asks_for_spot(job) && deadline_allows_spot(input, job);
    let infra_ok = |p: &PoolView<'_>| place_ok(input, job, p, usize::MAX, spot_now);
    let mut out = Vec::new();
    if job.choices.is_empty() {
        // CPU-only: CPU pools first, then accelerator pools (using none of their chips).
        for cpu_first in [true, false] {
            for (i, p) in input.pools.iter().enumerate() {
                if p.accelerator.is_none() == cpu_first
                    && infra_ok(p)
                    && nodes::shape_holds(p, job.num_nodes, 0)
                {
                    out.push(Candidate {
                        pool: i,
                        accelerator: None,
                        count: 0,
                    });
                }
            }
        }
        return out;
    }
    let gang = job.num_nodes.max(1);
    let all: Vec<usize> = if input.pool_index.covers(job) {
        Vec::new()
    } else {
        (0..input.pools.len()).collect()
    };
    for (index, choice) in job.choices.iter().enumerate() {
        let of_type: &[usize] = input.pools_of_type(job, index).unwrap_or(&all);
        // This alternative's pools, cheapest first, then by name.
        let here = out.len();
        out.extend(
            of_type
                .iter()
                .filter(|&&i| admits(input, job, index, choice, &input.pools[i], spot_now))
                .map(|&pool| Candidate {
                    pool,
                    accelerator: Some(choice.accelerator.as_str()),
                    count: choice.count * gang,
                }),
        );
        out[here..].sort_by(|a, b| {
            let (pa, pb) = (&input.pools[a.pool], &input.pools[b.pool]);
            pa.price.0.total_cmp(&pb.price.0).then(pa.name.cmp(pb.name))
        });
    }
    if job.order == ChoiceOrder::AnyOf {
        // Equally good alternatives: cheapest total price first, then most free.
        out.sort_by(|a, b| {
            let cost = |c: &Candidate| input.pools[c.pool].price.0 * f64::from(c.count);
            cost(a).total_cmp(&cost(b)).then(
                input.pools[b.pool]
                    .free_count()
                    .cmp(&input.pools[a.pool].free_count()),
            )
        });
    }
    out
}

/// Whether alternative `index` of `job` may go to pool `p` (`spot_now`: the job may use spot
/// capacity now): within the job's and the alternative's `infra`, and by the spot rule of
/// [`candidates`].
fn place_ok(
    input: &RoundInput<'_>,
    job: &QueuedView<'_>,
    p: &PoolView<'_>,
    index: usize,
    spot_now: bool,
) -> bool {
    let alternative = job.alternatives.get(index);
    let spot = wants_spot(job, index) && spot_now;
    let spot_only = !matches!(input.policy, LivePolicy::Econ(_));
    job.infra.is_none_or(|i| within_infra(i, p))
        && alternative
            .and_then(|a| a.infra.as_deref())
            .is_none_or(|i| within_infra(i, p))
        && if spot_only {
            p.is_spot() == spot
        } else {
            spot || !p.is_spot()
        }
}

/// Whether pool `p` is one of `job`'s candidates for its alternative `index` (`choice`): it
/// holds the choice, the place is allowed, and the estimated cost is within the budget.
pub(super) fn admits(
    input: &RoundInput<'_>,
    job: &QueuedView<'_>,
    index: usize,
    choice: &AcceleratorChoice,
    p: &PoolView<'_>,
    spot_now: bool,
) -> bool {
    holds(p, job, choice)
        && place_ok(input, job, p, index, spot_now)
        && estimated_cost(job, p, choice.count * job.num_nodes.max(1))
            .is_none_or(|c| job.budget.is_none_or(|b| c <= b.0 + 1e-9))
}

pub(super) fn no_pool_reason(input: &RoundInput<'_>, job: &QueuedView<'_>) -> WaitReason {
    let detail = if let Some(gang) = nodes_mismatch(input, job) {
        gang
    } else if let Some(i) = job
        .infra
        .filter(|i| !input.pools.iter().any(|p| within_infra(i, p)))
    {
        format!("infra '{i}' names no declared pool, executor kind or cloud/region/zone")
    } else if let Some(cheapest) = job.budget.and_then(|_| cheapest_cost(input, job)) {
        format!(
            "every alternative would cost more than its budget of {}: the cheapest is {} for its estimated {}",
            job.budget.expect("checked"),
            Usd(cheapest),
            spillway_model::spec::format_duration(job.work_secs.unwrap_or(0))
        )
    } else if !job.use_spot && {
        let spot_ok = QueuedView {
            use_spot: true,
            ..job.clone()
        };
        !candidates(input, &spot_ok).is_empty()
    } {
        "only spot pools could run it: set resources.use_spot: true to accept preemptible capacity"
            .to_string()
    } else if let Some(reliable) = spot_only_blocks(input, job) {
        reliable
    } else {
        let slices: Vec<Option<String>> = job
            .choices
            .iter()
            .map(|c| slice_mismatch(input, job, c))
            .collect();
        if slices.iter().all(Option::is_none) {
            let wanted: Vec<String> = job.choices.iter().map(ToString::to_string).collect();
            format!("no declared pool has {}", wanted.join(" or "))
        } else {
            let each: Vec<String> = job
                .choices
                .iter()
                .zip(slices)
                .map(|(c, s)| s.unwrap_or_else(|| format!("no declared pool has {c}")))
                .collect();
            each.join("; nor: ")
        }
    };
    WaitReason::NoPool { detail }
}

/// Why a job that asks for spot capacity has no pool, when reliable pools could run it: spot
/// means spot only (SkyPilot's rule). `None` when it asks for no spot or that is not why.
fn spot_only_blocks(input: &RoundInput<'_>, job: &QueuedView<'_>) -> Option<String> {
    if !asks_for_spot(job) {
        return None;
    }
    let reliable: Vec<spillway_model::spec::AlternativeFields> = job
        .alternatives
        .iter()
        .map(|a| spillway_model::spec::AlternativeFields {
            use_spot: None,
            ..a.clone()
        })
        .collect();
    let on_demand = QueuedView {
        use_spot: false,
        alternatives: &reliable,
        ..job.clone()
    };
    let pools: BTreeSet<&str> = candidates(input, &on_demand)
        .iter()
        .map(|c| input.pools[c.pool].name)
        .collect();
    (!pools.is_empty()).then(|| {
        format!(
            "it asks for spot capacity only (resources.use_spot: true, SkyPilot's rule) and no spot pool could run it; reliable pools could ({}): set use_spot: false to run there",
            pools.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// Why no pool holds a gang (`num_nodes` > 1), when that is a matter of nodes: the pools
/// that have one of its accelerators (any pool, CPU only) and how many nodes of how many
/// accelerators each they are. `None` for a single-node job or when some pool has the nodes.
fn nodes_mismatch(input: &RoundInput<'_>, job: &QueuedView<'_>) -> Option<String> {
    if job.num_nodes <= 1 {
        return None;
    }
    let n = job.num_nodes;
    let same: Vec<&PoolView<'_>> = input
        .pools
        .iter()
        .filter(|p| {
            job.choices.is_empty()
                || job
                    .choices
                    .iter()
                    .any(|c| p.accelerator == Some(c.accelerator.as_str()))
        })
        .collect();
    let shape_ok = |p: &PoolView<'_>| {
        job.choices.is_empty() && nodes::shape_holds(p, n, 0)
            || job.choices.iter().any(|c| {
                p.accelerator == Some(c.accelerator.as_str()) && nodes::shape_holds(p, n, c.count)
            })
    };
    if same.iter().any(|p| shape_ok(p)) {
        return None;
    }
    let wanted = if job.choices.is_empty() {
        format!("{n} nodes")
    } else {
        let each: Vec<String> = job.choices.iter().map(ToString::to_string).collect();
        format!("{n} nodes with {} on each", each.join(" or "))
    };
    let pools: Vec<String> = same
        .iter()
        .map(|p| match (p.nodes, p.accelerator) {
            (0 | 1, _) => format!("pool {} is one node ({} executor)", p.name, p.executor),
            (k, Some(a)) => format!("pool {} is {k} nodes of {} {a}", p.name, nodes::per_node(p)),
            (k, None) => format!("pool {} is {k} nodes", p.name),
        })
        .collect();
    Some(if pools.is_empty() {
        format!("it needs {wanted}, and no declared pool has its accelerators")
    } else {
        format!(
            "it needs {wanted} (a gang: all at once), and no declared pool has that many nodes: {} (declare a pool's nodes with nodes = N in its [[pool]]: Slurm or Ray)",
            pools.join("; ")
        )
    })
}

/// Estimated cost of running `job` with `count` accelerators of pool `p`, USD, when the job
/// has a work estimate.
fn estimated_cost(job: &QueuedView<'_>, p: &PoolView<'_>, count: u32) -> Option<f64> {
    job.work_secs
        .map(|w| p.price.0 * f64::from(count) * w as f64 / 3600.0)
}

/// The cheapest estimated cost over the job's alternatives on pools that have them.
fn cheapest_cost(input: &RoundInput<'_>, job: &QueuedView<'_>) -> Option<f64> {
    job.choices
        .iter()
        .flat_map(|c| {
            input
                .pools
                .iter()
                .filter(move |p| holds(p, job, c))
                .filter_map(move |p| estimated_cost(job, p, c.count * job.num_nodes.max(1)))
        })
        .min_by(f64::total_cmp)
}
