//! Records of jobs in job-id order, found by id without a search of a tree: a list in id order
//! with an index by id. The scheduler's active jobs and the machine's unfinished jobs are kept
//! this way: both are walked in job order every round and searched by id several times per
//! attempt, where a tree costs a chain of cache misses per search and a pointer per job to walk.

use crate::JobId;
use crate::live::BuildNameHasher;
use std::collections::HashMap;

/// Records by job id, in id order. A record that leaves is only marked, and the list is
/// compacted by [`IdList::compact`] once a quarter of it is gone, so that a record's slot (its
/// position in the list) holds from one compaction to the next.
#[derive(Debug, Clone)]
pub(crate) struct IdList<T> {
    /// In id order; `None` for a record gone since the last compaction.
    list: Vec<Option<(JobId, T)>>,
    /// Slot of each record. The hasher is FxHash's mixing (see [`BuildNameHasher`]): job ids
    /// are ours, not chosen to collide, and the map is never iterated.
    at: HashMap<JobId, usize, BuildNameHasher>,
}

impl<T> Default for IdList<T> {
    fn default() -> IdList<T> {
        IdList {
            list: Vec::new(),
            at: HashMap::default(),
        }
    }
}

impl<T> IdList<T> {
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Slots run from 0 to this (gone ones included).
    pub(crate) fn slots(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn contains(&self, id: JobId) -> bool {
        self.at.contains_key(&id)
    }

    pub(crate) fn slot_of(&self, id: JobId) -> Option<usize> {
        self.at.get(&id).copied()
    }

    pub(crate) fn get(&self, id: JobId) -> Option<&T> {
        Some(&self.list[self.slot_of(id)?].as_ref()?.1)
    }

    pub(crate) fn get_mut(&mut self, id: JobId) -> Option<&mut T> {
        let slot = self.slot_of(id)?;
        Some(&mut self.list[slot].as_mut()?.1)
    }

    /// The record in `slot`, which must hold one.
    pub(crate) fn at_slot(&self, slot: usize) -> &T {
        &self.list[slot].as_ref().expect("a slot of a record").1
    }

    pub(crate) fn at_slot_mut(&mut self, slot: usize) -> &mut T {
        &mut self.list[slot].as_mut().expect("a slot of a record").1
    }

    /// Adds the record of `id`, replacing the one it had (returned). Ids come in order as a
    /// rule; one that does not goes in its place, and the slots are renumbered.
    pub(crate) fn insert(&mut self, id: JobId, record: T) -> Option<T> {
        if let Some(slot) = self.slot_of(id) {
            let old = self.list[slot].replace((id, record));
            return old.map(|(_, r)| r);
        }
        let in_order = self
            .list
            .iter()
            .rev()
            .find_map(Option::as_ref)
            .is_none_or(|(last, _)| *last < id);
        if in_order {
            self.at.insert(id, self.list.len());
            self.list.push(Some((id, record)));
        } else {
            self.list.retain(Option::is_some);
            let i = self
                .list
                .partition_point(|r| r.as_ref().is_some_and(|(other, _)| *other < id));
            self.list.insert(i, Some((id, record)));
            self.reindex();
        }
        None
    }

    /// Removes the record of `id` (its slot stays, empty, until the next compaction).
    pub(crate) fn remove(&mut self, id: JobId) -> Option<T> {
        let slot = self.at.remove(&id)?;
        self.list[slot].take().map(|(_, r)| r)
    }

    /// Drops the gone records' slots once they are a quarter of the list (slots change: call
    /// it only where no slot is held).
    pub(crate) fn compact(&mut self) {
        if (self.list.len() - self.at.len()) * 4 > self.list.len() {
            self.list.retain(Option::is_some);
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        self.at.clear();
        for (slot, r) in self.list.iter().enumerate() {
            if let Some((id, _)) = r {
                self.at.insert(*id, slot);
            }
        }
    }

    /// The records in id order, with their slots.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.list
            .iter()
            .enumerate()
            .filter_map(|(slot, r)| Some((slot, &r.as_ref()?.1)))
    }

    /// The records in id order, with their ids.
    pub(crate) fn by_id(&self) -> impl Iterator<Item = (JobId, &T)> {
        self.list
            .iter()
            .filter_map(|r| r.as_ref().map(|(id, r)| (*id, r)))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.list.iter().filter_map(|r| Some(&r.as_ref()?.1))
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.list
            .iter_mut()
            .filter_map(|r| Some(&mut r.as_mut()?.1))
    }

    /// Every slot in order, `None` where the record is gone.
    pub(crate) fn slots_mut(&mut self) -> impl Iterator<Item = Option<&mut T>> {
        self.list.iter_mut().map(|r| r.as_mut().map(|(_, r)| r))
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = JobId> + '_ {
        self.list
            .iter()
            .filter_map(|r| r.as_ref().map(|(id, _)| *id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyrandom::PyRandom;
    use std::collections::BTreeMap;

    #[test]
    fn records_stay_in_id_order_through_late_ids_removals_and_compaction() {
        let mut list: IdList<u64> = IdList::default();
        let mut expected = BTreeMap::new();
        let mut rng = PyRandom::new(3);
        for step in 0..2000u64 {
            // Ids mostly rising, some late; about a third of the records leave.
            let id = if rng.randbelow(8) == 0 {
                u64::from(rng.randbelow(step as u32 + 1))
            } else {
                step
            };
            let value = u64::from(rng.randbelow(1000));
            assert_eq!(
                list.insert(JobId(id), value),
                expected.insert(id, value),
                "step {step}"
            );
            if rng.randbelow(3) == 0 {
                let gone = *expected
                    .keys()
                    .nth(rng.randbelow(expected.len() as u32) as usize)
                    .expect("a record");
                assert_eq!(list.remove(JobId(gone)), expected.remove(&gone));
            }
            if rng.randbelow(10) == 0 {
                list.compact();
            }
            assert_eq!(list.len(), expected.len());
        }
        let got: Vec<(u64, u64)> = list.by_id().map(|(id, v)| (id.0, *v)).collect();
        let want: Vec<(u64, u64)> = expected.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(got, want);
        for (slot, v) in list.iter() {
            let id = list
                .ids()
                .find(|&id| list.slot_of(id) == Some(slot))
                .expect("an id");
            assert_eq!(list.get(id), Some(v));
            assert_eq!(list.at_slot(slot), v);
        }
        assert!(list.get(JobId(1 << 40)).is_none());
    }
}
