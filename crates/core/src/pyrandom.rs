//! A Mersenne Twister (MT19937) that draws exactly what CPython's `random.Random(seed)` draws for
//! the few operations Gavel's simulator uses (`randrange`, `shuffle`, `random`).
//!
//! Gavel's heterogeneity-agnostic policies are randomized (the order in which accelerator types
//! are filled each round, the type FIFO hands a job). Reproducing Gavel's published numbers needs
//! the same random stream, so this generator follows the published MT19937 algorithm and
//! CPython's documented seeding (`init_by_array` over the seed's 32-bit words) and its
//! rejection-sampling `_randbelow`.

const N: usize = 624;
const M: usize = 397;

/// The generator.
#[derive(Debug, Clone)]
pub(crate) struct PyRandom {
    state: Box<[u32; N]>,
    index: usize,
}

impl PyRandom {
    /// Seeded like CPython's `random.Random(seed)` for a non-negative integer seed.
    pub(crate) fn new(seed: u64) -> PyRandom {
        let mut key: Vec<u32> = Vec::new();
        let mut s = seed;
        while s > 0 {
            key.push(s as u32);
            s >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        let mut rng = PyRandom {
            state: Box::new([0; N]),
            index: N,
        };
        rng.init_by_array(&key);
        rng
    }

    fn init_genrand(&mut self, seed: u32) {
        self.state[0] = seed;
        for i in 1..N {
            let prev = self.state[i - 1];
            self.state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let mut i = 1usize;
        let mut j = 0usize;
        for _ in 0..N.max(key.len()) {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
        }
        self.state[0] = 0x8000_0000;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.state[k] = self.state[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `random.random()`: a float in [0, 1) with 53 random bits.
    #[cfg(test)]
    pub(crate) fn random(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `random.randrange(n)` for 1 <= n < 2^32: uniform in [0, n).
    pub(crate) fn randbelow(&mut self, n: u32) -> u32 {
        debug_assert!(n > 0);
        let bits = 32 - n.leading_zeros();
        loop {
            let r = self.next_u32() >> (32 - bits);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(items)`.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3: `random.Random(0).random()` etc.
    #[test]
    fn matches_cpython_streams() {
        let mut r = PyRandom::new(0);
        assert_eq!(r.random(), 0.8444218515250481);
        let mut r = PyRandom::new(5);
        let draws: Vec<u32> = (0..8).map(|_| r.randbelow(3)).collect();
        assert_eq!(draws, PY_RANDRANGE3_SEED5);
        let mut r = PyRandom::new(5);
        let mut v = vec!["v100", "p100", "k80"];
        r.shuffle(&mut v);
        assert_eq!(v, PY_SHUFFLE_SEED5);
        let mut r = PyRandom::new((1 << 40) + 7);
        assert_eq!(r.random(), 0.6137037779936511);
    }

    const PY_RANDRANGE3_SEED5: [u32; 8] = [2, 1, 2, 1, 2, 2, 2, 2];
    const PY_SHUFFLE_SEED5: [&str; 3] = ["v100", "p100", "k80"];
}
