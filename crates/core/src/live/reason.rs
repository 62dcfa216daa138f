//! Why the round did what it did, as data: why a queued job waits ([`WaitReason`]) and why a
//! started job runs where it runs ([`StartReason`]). The words (`Display`) are what
//! `spillway explain` shows; the data is what programs (and tests) look at.

use crate::JobId;
use crate::econ::{BlockScope, Pace, PlanKind};
use serde::Serialize;
use spillway_model::UsdPerHour;
use std::fmt;

/// Why a queued job is not starting this round.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitReason {
    /// Starting it would exceed its tenant's accelerator quota.
    AcceleratorQuota {
        /// Tenant.
        tenant: String,
        /// Accelerator type.
        accelerator: String,
        /// The quota.
        limit: u32,
        /// Held now.
        in_use: u32,
        /// What the job asks for.
        wanted: u32,
    },
    /// Starting it would exceed its tenant's spend quota.
    SpendQuota {
        /// Tenant.
        tenant: String,
        /// The quota.
        limit: UsdPerHour,
        /// Spent per hour now.
        in_use: UsdPerHour,
    },
    /// Not enough free accelerators on any acceptable pool.
    NoCapacity {
        /// What it asked for (`H100:8`).
        wanted: String,
        /// The pool it waits for.
        pool: String,
        /// Free there now.
        free: u32,
        /// The job holding a reservation there, if not this one.
        behind: Option<JobId>,
    },
    /// The pool runs as many jobs as it may.
    PoolFull {
        /// The pool.
        pool: String,
        /// Its `max_jobs`.
        max_jobs: u32,
    },
    /// Lower-priority jobs are being stopped to make room for it.
    Preempting {
        /// The pool.
        pool: String,
        /// The jobs being stopped.
        jobs: Vec<JobId>,
    },
    /// No declared pool can ever run it.
    NoPool {
        /// Why.
        detail: String,
    },
    /// The policy gives it no share of any pool this round (other jobs come first under it).
    NoShare {
        /// The policy's name.
        policy: &'static str,
    },
    /// Every pool that could run it is blocked by the failover memory: launches there failed
    /// for lack of capacity a short while ago.
    Blocked {
        /// The blocked pools, in the job's order of preference.
        pools: Vec<BlockedPool>,
    },
    /// The commitment-aware policy does not use committed capacity whose use would pull its
    /// contract's spending ahead of the burn schedule (a deadline nothing else meets excepted).
    AheadOfSchedule {
        /// The contract.
        contract: String,
        /// Its pools that the job could have used.
        pools: Vec<String>,
    },
    /// A deadline job that can run on spot waits for spot (or owned, committed) capacity while
    /// its slack absorbs a preemption, rather than renting on-demand capacity.
    WaitingForSpot {
        /// Seconds of slack beyond the margin a preemption needs; on-demand once it is spent.
        slack_s: u64,
        /// The on-demand pools it does not use meanwhile.
        pools: Vec<String>,
    },
    /// A job without a deadline waits a share of its run time for owned or committed capacity
    /// before renting new cloud capacity (on-demand, spot).
    BurstWait {
        /// Seconds it has waited since it was submitted.
        waited_s: u64,
        /// Seconds it waits before renting.
        wait_s: u64,
        /// The pools it would rent.
        pools: Vec<String>,
    },
    /// The pools it could use now would finish it after its deadline; it waits for one that
    /// meets it.
    MissesDeadline {
        /// The pools that would miss it.
        pools: Vec<String>,
    },
}

/// A pool skipped because the failover memory blocks its zone, region or provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockedPool {
    /// The pool.
    pub pool: String,
    /// What is blocked (the pool's zone, region or provider).
    pub scope: BlockScope,
    /// Seconds until the block fades, unless launches fail there again.
    pub for_s: u64,
}

impl fmt::Display for BlockedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pool {} ({} blocked for {} s more)",
            self.pool, self.scope, self.for_s
        )
    }
}

/// "pool a" or "pools a, b".
pub(super) fn pool_names(pools: &[String]) -> String {
    match pools {
        [one] => format!("pool {one}"),
        more => format!("pools {}", more.join(", ")),
    }
}

fn list(pools: &[BlockedPool]) -> String {
    pools
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl WaitReason {
    /// Whether the wait can end by the passing of time alone, nothing else happening: a
    /// failover block fading, a wait before renting, spot slack, a contract's pace. A driver
    /// whose clock jumps from event to event looks again a tick later while some job waits so.
    pub fn lapses_with_time(&self) -> bool {
        matches!(
            self,
            WaitReason::Blocked { .. }
                | WaitReason::AheadOfSchedule { .. }
                | WaitReason::WaitingForSpot { .. }
                | WaitReason::BurstWait { .. }
        )
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::AcceleratorQuota {
                tenant,
                accelerator,
                limit,
                wanted,
                ..
            } if wanted > limit => write!(
                f,
                "it needs {wanted} {accelerator}, more than tenant {tenant}'s quota of {limit}: it cannot start under this quota (raise the quota or ask for fewer)"
            ),
            WaitReason::AcceleratorQuota {
                tenant,
                accelerator,
                limit,
                in_use,
                ..
            } => write!(
                f,
                "tenant {tenant} holds {in_use} of its quota of {limit} {accelerator}; it waits until some of its jobs finish"
            ),
            WaitReason::SpendQuota {
                tenant,
                limit,
                in_use,
            } => write!(
                f,
                "tenant {tenant} spends {in_use} of its quota of {limit}; it waits until some of its jobs finish"
            ),
            WaitReason::NoCapacity {
                wanted,
                pool,
                free,
                behind: None,
            } => write!(
                f,
                "waiting for {wanted} on pool {pool} ({free} free now); capacity is reserved for it, so it starts first when running jobs end"
            ),
            WaitReason::NoCapacity {
                wanted,
                pool,
                free,
                behind: Some(j),
            } => write!(
                f,
                "waiting for {wanted} on pool {pool} ({free} free now), behind job {j} which holds the reservation there"
            ),
            WaitReason::PoolFull { pool, max_jobs } => {
                write!(f, "pool {pool} already runs its limit of {max_jobs} jobs")
            }
            WaitReason::Preempting { pool, jobs } => {
                let ids: Vec<String> = jobs.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "preempting lower-priority job(s) {} on pool {pool} to make room",
                    ids.join(", ")
                )
            }
            WaitReason::NoPool { detail } => write!(f, "no pool can run it: {detail}"),
            WaitReason::NoShare { policy } => write!(
                f,
                "policy {policy} gives it no share of any pool this round; the jobs it ranks first use the capacity it could run on"
            ),
            WaitReason::Blocked { pools } => write!(
                f,
                "every pool that could run it is blocked after launches failed there for lack of capacity: {}; it starts when a block fades",
                list(pools)
            ),
            WaitReason::AheadOfSchedule { contract, pools } => write!(
                f,
                "committed capacity on {} would pull contract {contract} ahead of its burn schedule; it waits for other capacity, for running work under the contract to end or for the schedule to catch up",
                pool_names(pools)
            ),
            WaitReason::WaitingForSpot { slack_s, pools } => write!(
                f,
                "waiting for spot capacity while its deadline's slack allows ({slack_s} s beyond the margin of a preemption): it does not rent on-demand {} until then",
                pool_names(pools)
            ),
            WaitReason::BurstWait {
                waited_s,
                wait_s,
                pools,
            } => write!(
                f,
                "waiting for owned or committed capacity before bursting to {} (waited {waited_s} of {wait_s} s)",
                pool_names(pools)
            ),
            WaitReason::MissesDeadline { pools } => write!(
                f,
                "{} would finish it after its deadline; it waits for a pool that meets it",
                pool_names(pools)
            ),
        }
    }
}

/// How a started job's pool was chosen among its alternatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    /// Its first (ordered) alternative, on the cheapest pool that has it.
    FirstChoice,
    /// Its alternatives are equally good (any-of) and this was the cheapest with room.
    Cheapest,
    /// Its preferred alternative had no room (or was over quota) now.
    Fallback {
        /// What it preferred (`H100:8 on pool h`).
        preferred: String,
    },
    /// The policy's allocation gave it this share of the pool's time, its largest.
    Share {
        /// Fraction 0..=1.
        share: f64,
    },
    /// The commitment-aware policy: the lowest marginal cost per unit of work among its options
    /// with room.
    Cost {
        /// How the pool is paid for.
        plan: PlanKind,
        /// For committed capacity: its contract.
        contract: Option<String>,
        /// For committed capacity: whether using it keeps the contract on its burn schedule.
        pace: Option<Pace>,
        /// Whether it was the policy's first choice (else better-ranked options had no room).
        first: bool,
    },
}

/// Why a job was started where it was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartReason {
    /// The policy's name.
    pub policy: &'static str,
    /// The pool.
    pub pool: String,
    /// The accelerator type, `None` for a CPU-only job.
    pub accelerator: Option<String>,
    /// How many.
    pub count: u32,
    /// How the pool was chosen.
    pub choice: Choice,
    /// Its priority.
    pub priority: u32,
    /// Started ahead of a blocked job (backfill): its work estimate ends before the blocked
    /// job could start, or it uses accelerators beyond the reservation.
    pub backfilled: bool,
    /// The accelerator indices it gets.
    pub accelerators: Vec<u32>,
    /// Pools it could have used that the failover memory blocks (launches there failed for
    /// lack of capacity a short while ago), so it went on to the next.
    pub blocked: Vec<BlockedPool>,
    /// It accepts spot capacity, but its deadline leaves too little slack to absorb a
    /// preemption, so spot pools were not considered (the spot deadline rule).
    pub spot_ruled_out: bool,
}

impl StartReason {
    /// The words for a job of `num_nodes` nodes: a gang's accelerators said per node
    /// ("2 nodes x 8 H100"), since `count` holds all of them; as `Display` for one node.
    pub fn describe(&self, num_nodes: u32) -> String {
        Described {
            reason: self,
            num_nodes,
        }
        .to_string()
    }
}

/// A start reason with its job's number of nodes, for its words.
struct Described<'a> {
    reason: &'a StartReason,
    num_nodes: u32,
}

impl fmt::Display for StartReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Described {
            reason: self,
            num_nodes: 1,
        }
        .fmt(f)
    }
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.num_nodes;
        let this = self.reason;
        let what = match &this.accelerator {
            Some(a) if n > 1 => format!("{n} nodes x {} {a}", this.count / n),
            Some(a) => format!("{a}:{}", this.count),
            None if n > 1 => format!("{n} nodes without accelerators"),
            None => "no accelerators".to_string(),
        };
        let why = match &this.choice {
            Choice::FirstChoice => "its first choice".to_string(),
            Choice::Cheapest => "the cheapest of its alternatives with room".to_string(),
            Choice::Fallback { preferred } => {
                format!("its first choice {preferred} had no room")
            }
            Choice::Share { share } => format!(
                "the policy allocates it {:.0}% of this pool's time, its largest share",
                share * 100.0
            ),
            Choice::Cost {
                plan,
                contract,
                pace,
                first,
            } => {
                let what = match (plan, contract, pace) {
                    (PlanKind::Committed, Some(c), Some(Pace::Within)) => format!(
                        "committed capacity under contract {c}, nearly free while its spending stays within the burn schedule"
                    ),
                    (PlanKind::Committed, Some(c), Some(Pace::Ahead)) => format!(
                        "committed capacity under contract {c} at its discounted price: ahead of the burn schedule, but the only capacity that meets its deadline"
                    ),
                    (PlanKind::Committed, _, _) => {
                        "committed capacity without a contract to pace, priced like on-demand"
                            .to_string()
                    }
                    (PlanKind::Owned, ..) => "owned capacity, nearly free to use".to_string(),
                    (PlanKind::OnDemand, ..) => "on-demand capacity".to_string(),
                    (PlanKind::Spot, ..) => {
                        "spot capacity, priced with the expected rework of preemptions".to_string()
                    }
                };
                let rank = if *first {
                    "the lowest marginal cost per unit of work among its options"
                } else {
                    "the lowest marginal cost per unit of work among its options with room"
                };
                format!("{what}: {rank}")
            }
        };
        write!(
            f,
            "placed on pool {} with {what} ({why}) by policy {}; priority {}",
            this.pool, this.policy, this.priority
        )?;
        if this.backfilled {
            f.write_str(", backfilled ahead of a blocked job")?;
        }
        if !this.blocked.is_empty() {
            write!(f, ", skipping {}", list(&this.blocked))?;
        }
        if this.spot_ruled_out {
            f.write_str(
                ", not on spot: its deadline leaves too little slack to absorb a preemption",
            )?;
        }
        if this.accelerators.is_empty() {
            f.write_str(", no accelerator indices")
        } else {
            write!(f, ", accelerator indices {:?}", this.accelerators)
        }
    }
}
