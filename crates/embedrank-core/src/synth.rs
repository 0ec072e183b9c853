//! Deterministic synthetic data for tests and benchmarks.
//!
//! Uniform random vectors are an unrealistically hard and unrealistically
//! structureless workload; embeddings cluster by topic. [`clustered`] draws
//! cluster centres uniformly in `[-1, 1]^dims` and points as centre plus
//! Gaussian noise (Box–Muller), all from a seeded [`LevelRng`].
//! [`brute_force`] is the exact k-NN oracle used to measure recall. [`zipf_corpus`] is text's
//! shape for BM25: term frequencies that fall off as a power of their rank.

use crate::bm25::PostingsBuilder;
use crate::distance::Metric;
use crate::hnsw::{Candidate, LevelRng};

/// Standard normal sample (Box–Muller; one of the pair is discarded).
fn gaussian(rng: &mut LevelRng) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` vectors of `dims` (flat, row-major) around `clusters` centres with
/// per-coordinate standard deviation `spread`.
pub fn clustered(n: usize, dims: usize, clusters: usize, spread: f64, seed: u64) -> Vec<f32> {
    let mut rng = LevelRng::new(seed);
    let clusters = clusters.max(1);
    let centres: Vec<f64> = (0..clusters * dims)
        .map(|_| rng.next_f64() * 2.0 - 1.0)
        .collect();
    let mut out = Vec::with_capacity(n * dims);
    for _ in 0..n {
        let c = (rng.next_u64() % clusters as u64) as usize;
        let centre = &centres[c * dims..(c + 1) * dims];
        out.extend(
            centre
                .iter()
                .map(|&x| (x + spread * gaussian(&mut rng)) as f32),
        );
    }
    out
}

/// Exact `k` nearest rows of `data` to `query` under `metric`, ascending.
pub fn brute_force(
    data: &[f32],
    dims: usize,
    query: &[f32],
    k: usize,
    metric: Metric,
) -> Vec<Candidate<u32>> {
    let mut all: Vec<Candidate<u32>> = data
        .chunks_exact(dims)
        .enumerate()
        .map(|(i, v)| Candidate {
            distance: metric.index_distance(query, v),
            node: i as u32,
        })
        .collect();
    let by = |a: &Candidate<u32>, b: &Candidate<u32>| {
        a.distance.total_cmp(&b.distance).then(a.node.cmp(&b.node))
    };
    if k < all.len() {
        all.select_nth_unstable_by(k, by);
        all.truncate(k);
    }
    all.sort_unstable_by(by);
    all
}

/// Fraction of `truth` ids present in `found`.
pub fn recall(found: &[Candidate<u32>], truth: &[Candidate<u32>]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let hits = truth
        .iter()
        .filter(|t| found.iter().any(|f| f.node == t.node))
        .count();
    hits as f64 / truth.len() as f64
}

/// `n` documents (ids `0..n`, lengths 5 to 60 tokens) over a vocabulary of `vocab` terms `t0`,
/// `t1`, … drawn with Zipf(1.1) frequencies (`t0` the most common), as posting lists; and the terms.
pub fn zipf_corpus(n: u32, vocab: usize, seed: u64) -> (PostingsBuilder, Vec<String>) {
    let mut rng = LevelRng::new(seed);
    let mut cum = Vec::with_capacity(vocab);
    let mut total = 0.0;
    for r in 1..=vocab {
        total += 1.0 / (r as f64).powf(1.1);
        cum.push(total);
    }
    let terms: Vec<String> = (0..vocab).map(|i| format!("t{i}")).collect();
    let mut b = PostingsBuilder::default();
    let mut tf: Vec<(usize, u32)> = Vec::new();
    for doc in 0..n {
        let len = 5 + (rng.next_u64() % 56) as u32;
        tf.clear();
        for _ in 0..len {
            let x = rng.next_f64() * total;
            let t = cum.partition_point(|&c| c < x).min(vocab - 1);
            match tf.iter_mut().find(|e| e.0 == t) {
                Some(e) => e.1 += 1,
                None => tf.push((t, 1)),
            }
        }
        tf.sort_unstable();
        b.add(doc, tf.iter().map(|&(t, f)| (terms[t].as_str(), f)), len);
    }
    (b, terms)
}
