//! Level sampling for new elements.
//!
//! HNSW draws each element's top layer from an exponentially decaying
//! distribution, `floor(-ln(U) * ml)` with `ml = 1 / ln(m)`, so that
//! `P(level >= l) = m^-l`. The RNG is a SplitMix64 generator: tiny, fast,
//! statistically solid for this purpose, and deterministic for a given seed
//! so index builds (and tests) are reproducible.

/// Highest level ever assigned.
pub const MAX_LEVEL: usize = 16;

/// Deterministic SplitMix64 random number generator.
#[derive(Clone, Debug)]
pub struct LevelRng {
    state: u64,
}

impl LevelRng {
    pub fn new(seed: u64) -> Self {
        LevelRng { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Level for a new element: floor(-ln(U) * ml), ml = 1/ln(m), capped at
/// [`MAX_LEVEL`]. `m < 2` is treated as 2.
pub fn random_level(rng: &mut LevelRng, m: usize) -> usize {
    let ml = 1.0 / (m.max(2) as f64).ln();
    // 1 - [0, 1) is in (0, 1], so ln is finite.
    let u = 1.0 - rng.next_f64();
    let level = (-u.ln() * ml).floor();
    (level as usize).min(MAX_LEVEL)
}
