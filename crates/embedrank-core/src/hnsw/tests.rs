//! Tests of the HNSW algorithm: recall against brute force, degenerate
//! graphs, the iterative scan, neighbour selection and level sampling.

mod aside;
mod graph;
mod half_copy;
mod parts;
mod store;

use crate::distance::Metric;
use crate::hnsw::InMemoryGraph;
use crate::synth::{brute_force, recall};

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
