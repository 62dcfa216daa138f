//! The live round's policies, by the names `[scheduler] policy` accepts: the core's scheduling
//! policies ([`PolicyKind`]: `priority_backfill` and every Gavel name) and `commitment_aware`,
//! the placement economics of [`crate::econ`] that the scenario simulator runs.

use crate::{CoreError, PolicyKind};
use std::fmt;
use std::str::FromStr;

/// The policy of a live round: what orders the queue and each job's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LivePolicy {
    /// A policy of the core's scheduler: priority with backfill, or one that computes an
    /// allocation (the Gavel names).
    Scheduler(PolicyKind),
    /// Commitment-aware placement ([`crate::econ::EconPolicy::CommitmentAware`]): the queue by
    /// priority, then earliest deadline, then submission; each job's pools by marginal dollars
    /// per unit of work, with committed capacity nearly free while its contract stays on its
    /// burn schedule, spot for deadline jobs only while their slack allows, and a wait for
    /// owned or committed capacity before renting.
    CommitmentAware,
}

/// Names of [`LivePolicy::CommitmentAware`]; the first is the canonical one.
const COMMITMENT_AWARE: [&str; 2] = ["commitment_aware", "commitment-aware"];

impl LivePolicy {
    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            LivePolicy::Scheduler(kind) => kind.name(),
            LivePolicy::CommitmentAware => COMMITMENT_AWARE[0],
        }
    }

    /// Whether it time-shares accelerators when given a round length: the allocation policies
    /// (every Gavel name); `priority_backfill` and `commitment_aware` run jobs to completion.
    pub fn time_shares(self) -> bool {
        matches!(self, LivePolicy::Scheduler(kind) if kind != PolicyKind::PriorityBackfill)
    }

    /// Every accepted name.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        PolicyKind::all_names().chain(COMMITMENT_AWARE)
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

impl FromStr for LivePolicy {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<LivePolicy, CoreError> {
        let wanted = s.trim();
        if COMMITMENT_AWARE
            .iter()
            .any(|n| n.eq_ignore_ascii_case(wanted))
        {
            return Ok(LivePolicy::CommitmentAware);
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
            LivePolicy::CommitmentAware
        );
        assert_eq!(LivePolicy::default().name(), "priority_backfill");
        let e = "cheapest".parse::<LivePolicy>().unwrap_err().to_string();
        assert!(e.contains("commitment_aware"), "{e}");
    }
}
