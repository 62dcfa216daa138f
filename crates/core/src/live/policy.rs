//! The live round's policies, by the names `[scheduler] policy` accepts: the core's scheduling
//! policies ([`PolicyKind`]: `priority_backfill` and every Gavel name) and the placement
//! economics of [`crate::econ`] that the scenario simulator runs ([`EconPolicy`]:
//! `commitment_aware`, `on_demand_only`, `baseline`).

use crate::econ::EconPolicy;
use crate::{CoreError, PolicyKind};
use std::fmt;
use std::str::FromStr;

/// The policy of a live round: what orders the queue and each job's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LivePolicy {
    /// A policy of the core's scheduler: priority with backfill, or one that computes an
    /// allocation (the Gavel names).
    Scheduler(PolicyKind),
    /// A placement policy of the economics ([`EconPolicy`]), ranking each job's pools by what
    /// they cost:
    /// - `commitment_aware`: the queue by priority, then earliest deadline, then submission;
    ///   each job's pools by marginal dollars per unit of work, with committed capacity nearly
    ///   free while its contract stays on its burn schedule, spot for deadline jobs only while
    ///   their slack allows, and a wait for owned or committed capacity before renting;
    /// - `on_demand_only`: the same without spot;
    /// - `baseline` (SkyPilot's rule): the queue by priority, then submission; each job's pools
    ///   by hourly price, cheapest first, whatever their speed, never spot; a refused launch
    ///   moves that job (only) on to its next pool.
    Econ(EconPolicy),
}

/// The economics' policies and their names; the first name of each is the canonical one.
const ECON: [(EconPolicy, [&str; 2]); 3] = [
    (
        EconPolicy::CommitmentAware,
        ["commitment_aware", "commitment-aware"],
    ),
    (
        EconPolicy::OnDemandOnly,
        ["on_demand_only", "on-demand-only"],
    ),
    (EconPolicy::Baseline, ["baseline", "skypilot"]),
];

impl LivePolicy {
    /// `commitment_aware`.
    pub const COMMITMENT_AWARE: LivePolicy = LivePolicy::Econ(EconPolicy::CommitmentAware);

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            LivePolicy::Scheduler(kind) => kind.name(),
            LivePolicy::Econ(p) => ECON
                .iter()
                .find(|(q, _)| *q == p)
                .map_or("unknown", |(_, names)| names[0]),
        }
    }

    /// Whether it time-shares accelerators when given a round length: the allocation policies
    /// (every Gavel name); `priority_backfill` and the economics' policies run jobs to
    /// completion.
    pub fn time_shares(self) -> bool {
        matches!(self, LivePolicy::Scheduler(kind) if kind != PolicyKind::PriorityBackfill)
    }

    /// Whether it ranks the queue by an allocation computed over every job at once (the Gavel
    /// names); the others order it by the jobs' own fields (priority, deadline, submission).
    pub fn allocates(self) -> bool {
        self.time_shares()
    }

    /// Whether it paces committed capacity by what its contracts have been charged (the
    /// economics' policies), so that the drivers feed it the contracts' ledgers.
    pub fn reads_contracts(self) -> bool {
        matches!(self, LivePolicy::Econ(_))
    }

    /// Every accepted name.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        PolicyKind::all_names().chain(ECON.iter().flat_map(|(_, names)| names.iter().copied()))
    }
}

impl Default for LivePolicy {
    /// `priority_backfill`.
    fn default() -> LivePolicy {
        LivePolicy::Scheduler(PolicyKind::PriorityBackfill)
    }
}

impl From<PolicyKind> for LivePolicy {
    fn from(kind: PolicyKind) -> LivePolicy {
        LivePolicy::Scheduler(kind)
    }
}

impl From<EconPolicy> for LivePolicy {
    fn from(p: EconPolicy) -> LivePolicy {
        LivePolicy::Econ(p)
    }
}

impl FromStr for LivePolicy {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<LivePolicy, CoreError> {
        let wanted = s.trim();
        if let Some((p, _)) = ECON
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(wanted)))
        {
            return Ok(LivePolicy::Econ(*p));
        }
        wanted
            .parse::<PolicyKind>()
            .map(LivePolicy::Scheduler)
            .map_err(|_| CoreError::UnknownPolicy {
                name: s.to_string(),
                known: LivePolicy::all_names().collect::<Vec<_>>().join(", "),
            })
    }
}

impl fmt::Display for LivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_policy() {
        for name in LivePolicy::all_names() {
            let p: LivePolicy = name.parse().unwrap();
            assert_eq!(p.name().parse::<LivePolicy>().unwrap(), p, "{name}");
        }
        assert_eq!(
            "Commitment-Aware".parse::<LivePolicy>().unwrap(),
            LivePolicy::COMMITMENT_AWARE
        );
        assert_eq!("skypilot".parse::<LivePolicy>().unwrap().name(), "baseline");
        assert_eq!(
            "on-demand-only".parse::<LivePolicy>().unwrap(),
            LivePolicy::Econ(EconPolicy::OnDemandOnly)
        );
        assert_eq!(LivePolicy::default().name(), "priority_backfill");
        let e = "cheapest".parse::<LivePolicy>().unwrap_err().to_string();
        assert!(e.contains("commitment_aware"), "{e}");
    }
}
