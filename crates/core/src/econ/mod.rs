//! The economics of capacity: price plans, contracts (committed spend), failover memory, spot
//! with checkpoints and deadlines, and the two placement policies that use them
//! (`baseline`, SkyPilot-like, and `commitment-aware`). Pure: time comes in as [`crate::SimTime`],
//! randomness and capacity observations come from the driver. See `docs/economics.md`.

mod choose;
mod contract;
mod failover;
mod framework;
mod ledger;
mod rentals;
mod spot;

pub(crate) use choose::rank_candidates_unless_blocked;
pub use choose::{
    BURST_AFTER_WAIT_SHARE, Candidate, EconJob, EconPolicy, LeftOut, PlanKind, Ranked,
    rank_candidates, rank_candidates_explained,
};
pub use contract::{
    BurnSchedule, Contract, ContractTerms, PACE_HORIZON_S, PACE_LEAD, Rate, SECONDS_PER_MONTH,
    TermError,
};
pub use failover::{BlockScope, FailoverMemory, FailureKind};
pub use framework::{AcceleratorKind, Framework, JobKind, roofline_speed};
pub use ledger::{Bill, ContractLedger, ContractReport, CoveredUse, Owed, Pace, Projection, Quote};
pub use rentals::block_rentals;
pub use spot::{CheckpointModel, spot_allowed};
