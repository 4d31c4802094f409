//! One seeded pseudo-random generator for generated data, tests and benches.

/// xorshift64*: small, fast, deterministic. The same seed always gives the same numbers, and
/// generated data depends on them (see [`crate::testkit::data`]): the algorithm must not change.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`0 < n <= 2^32`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }
}

/// The numbers of `Rng::new(seed)` as a closure, for the crate's randomized unit tests (their
/// seeds are fixed and printed).
#[cfg(test)]
pub(crate) fn draws(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = Rng::new(seed);
    move || rng.next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream is pinned: generated data (and every test and benchmark on it) depends on it.
    #[test]
    fn the_stream_is_pinned() {
        let mut rng = Rng::new(1);
        assert_eq!(rng.next_u64(), 0x0d83_b3e2_9a21_487a);
        assert_eq!(rng.next_u64(), 0x54c4_4c79_f1fe_9d67);
        assert_eq!(rng.next_u64(), 0xa845_f342_007a_0e78);
        let mut next = draws(1);
        assert_eq!(next(), 0x0d83_b3e2_9a21_487a);
    }

    #[test]
    fn below_stays_below() {
        let mut rng = Rng::new(0);
        for n in [1, 2, 3, 7, 1000, 1 << 32] {
            for _ in 0..1000 {
                assert!(rng.below(n) < n);
            }
        }
    }
}
