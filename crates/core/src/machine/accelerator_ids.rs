//! Small numeric ids for the pools' accelerator types, given to a job's choices when it comes
//! in, so that a round finds a job's pools by indexing a list instead of hashing names.
//!
//! Passing over a long queue in a round ([`crate::live::RoundInput::stop_when_stuck`]) looks
//! up every queued job's accelerator types; by name, each lookup reads the name's bytes from
//! wherever the job's strings live and hashes them, which was about half of the simulator's
//! time on long traces. The machine's pools never change, so their types are numbered once,
//! and a job's choices are numbered once, when it is submitted.

use super::job::MachinePool;
use spillway_model::spec::AcceleratorChoice;

/// The id of a type no pool has: it indexes no pools.
const NO_POOL: u32 = u32::MAX;

/// The pools' accelerator types, numbered in the order of their first pool, with the pools of
/// each.
#[derive(Debug, Clone, Default)]
pub(super) struct AcceleratorIds {
    /// The types, by id.
    names: Vec<String>,
    /// The pools of each type (indices, ascending), by id.
    pools: Vec<Vec<usize>>,
}

impl AcceleratorIds {
    /// Numbers the accelerator types of `pools` (CPU-only pools have none).
    pub(super) fn new(pools: &[MachinePool]) -> AcceleratorIds {
        let mut ids = AcceleratorIds::default();
        for (i, p) in pools.iter().enumerate() {
            let Some(name) = p.accelerator.as_deref() else {
                continue;
            };
            match ids.names.iter().position(|n| n == name) {
                Some(id) => ids.pools[id].push(i),
                None => {
                    ids.names.push(name.to_string());
                    ids.pools.push(vec![i]);
                }
            }
        }
        ids
    }

    /// The id of each choice's accelerator type, in order; a type no pool has gets an id
    /// that indexes no pools.
    pub(super) fn of_choices(&self, choices: &[AcceleratorChoice]) -> Vec<u32> {
        choices
            .iter()
            .map(|c| {
                self.names
                    .iter()
                    .position(|n| *n == c.accelerator)
                    .map_or(NO_POOL, |id| id as u32)
            })
            .collect()
    }

    /// The pools of each type, by id (the round's
    /// [`PoolIndex::ById`](crate::live::PoolIndex::ById)).
    pub(super) fn pools(&self) -> &[Vec<usize>] {
        &self.pools
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::PlanKind;
    use crate::live::pools_by_accelerator;
    use spillway_model::UsdPerHour;

    fn pool(name: &str, accelerator: Option<&str>) -> MachinePool {
        MachinePool {
            name: name.to_string(),
            executor: "simulated".to_string(),
            accelerator: accelerator.map(str::to_string),
            capacity: 8,
            slice: None,
            nodes: 1,
            block: 1,
            max_jobs: 8,
            price: UsdPerHour(1.0),
            plan: PlanKind::OnDemand,
            throughput: 1.0,
            location: ("gcp".into(), "us-central1".into(), "a".into()),
            contract: None,
            preemptions_per_hour: 0.0,
        }
    }

    fn choice(accelerator: &str) -> AcceleratorChoice {
        AcceleratorChoice {
            accelerator: accelerator.to_string(),
            count: 1,
        }
    }

    #[test]
    fn ids_find_the_same_pools_as_names() {
        let pools = [
            pool("a", Some("H100")),
            pool("cpu", None),
            pool("b", Some("A100")),
            pool("c", Some("H100")),
        ];
        let ids = AcceleratorIds::new(&pools);
        let views: Vec<_> = pools.iter().map(|p| p.view(Vec::new())).collect();
        let by_name = pools_by_accelerator(&views);
        let choices = [choice("A100"), choice("B200"), choice("H100")];
        for (c, id) in choices.iter().zip(ids.of_choices(&choices)) {
            let by_id = ids.pools().get(id as usize).map_or(&[][..], Vec::as_slice);
            let named = by_name
                .get(c.accelerator.as_str())
                .map_or(&[][..], Vec::as_slice);
            assert_eq!(by_id, named, "{}", c.accelerator);
        }
        assert_eq!(ids.pools(), [vec![0, 3], vec![2]]);
    }
}
