//! A fast hasher for the short names a round looks pools up by (accelerator types).
//!
//! The round looks up a job's accelerator types in [`super::PoolsByAccelerator`] several times
//! per queued job, and the standard library's SipHash costs more than the lookup itself for
//! names of a few bytes. The keys are names from the operator's own configuration, not input
//! an attacker chooses, so the protection SipHash gives against colliding keys is not needed
//! here. The mixing step is FxHash's (rustc's own hasher), written out in a few lines rather
//! than taken from a crate for this one map.

use std::hash::{BuildHasherDefault, Hasher};

/// FxHash's multiplier: an odd constant whose bits are spread evenly.
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A hasher for short names: FxHash's word-at-a-time mixing. Not resistant to chosen
/// collisions; use it only for keys from the configuration.
#[derive(Debug, Default, Clone, Copy)]
pub struct NameHasher {
    hash: u64,
}

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word: [u8; 8] = chunk.try_into().expect("chunks of 8 bytes");
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Builds [`NameHasher`]s, for a `HashMap` keyed by names.
pub type BuildNameHasher = BuildHasherDefault<NameHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash(name: &str) -> u64 {
        BuildNameHasher::default().hash_one(name)
    }

    #[test]
    fn names_that_differ_in_any_byte_hash_apart() {
        let names = [
            "H100",
            "H200",
            "A100",
            "A100-80GB",
            "tpu-v5p",
            "tpu-v5e",
            "",
            "B200",
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(hash(a), hash(b), "{a} and {b}");
            }
        }
        assert_eq!(hash("H100"), hash("H100"));
    }
}
