//! Tests of the HNSW algorithm: recall against brute force, degenerate
//! graphs, the iterative scan, neighbour selection and level sampling.

mod aside;
mod graph;
mod half_copy;
mod parts;
mod store;

use crate::distance::Metric;
use crate::hnsw::{HnswParams, InMemoryGraph};
use crate::synth::{brute_force, clustered, recall};

/// A graph (m 16, ef_construction 64) holding `data`'s vectors, not linked yet.
fn stored(data: &[f32], dims: usize, metric: Metric) -> InMemoryGraph {
    let mut g = InMemoryGraph::new(dims, HnswParams::new(16, 64, metric, 42));
    for v in data.chunks_exact(dims) {
        g.push(v);
    }
    g
}

/// Links `g`'s stored vectors on `threads` threads.
fn link(g: &mut InMemoryGraph, threads: usize) {
    g.link_pending(threads, &|spawn| spawn(), &mut |_| {});
}

/// Unit vectors (what a cosine index stores and searches by inner product).
fn normalized(mut data: Vec<f32>, dims: usize) -> Vec<f32> {
    for v in data.chunks_exact_mut(dims) {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
    }
    data
}

/// `n` vectors in 20 tight clusters (spread 0.001) with values near ±1,000: far below a half's
/// resolution there (0.5), so a half-precision copy sees each cluster as one point.
fn coarse_for_halves(n: usize, dims: usize, seed: u64) -> Vec<f32> {
    let centers = clustered(20, dims, 20, 1.0, 3);
    let noise = clustered(n, dims, 1, 0.001, seed);
    noise
        .chunks_exact(dims)
        .enumerate()
        .flat_map(|(i, v)| {
            let c = &centers[(i % 20) * dims..][..dims];
            v.iter()
                .zip(c)
                .map(|(x, c)| x + c * 1000.0)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Mean recall@10 of `g`'s searches at ef 64 for `queries` against brute force over `data`.
fn mean_recall(
    g: &InMemoryGraph,
    data: &[f32],
    queries: &[f32],
    dims: usize,
    metric: Metric,
) -> f64 {
    let nq = queries.len() / dims;
    queries
        .chunks_exact(dims)
        .map(|q| {
            recall(
                &g.search(q, 10, 64),
                &brute_force(data, dims, q, 10, metric),
            )
        })
        .sum::<f64>()
        / nq as f64
}
