//! The in-memory build's half-precision link copy: graphs linked on it are as good as graphs linked
//! on the float4 vectors, a common offset does not spoil it, a copy too coarse for its data switches
//! itself off, and nothing but linking ever reads it.

use super::{coarse_for_halves, link, mean_recall, normalized, stored};
use crate::distance::Metric;
use crate::hnsw::*;
use crate::synth::{brute_force, clustered};

/// Recall of graphs linked with and without the copy, on 1 and 2 threads.
fn compare(data: &[f32], queries: &[f32], dims: usize, metric: Metric) -> [(f64, f64); 2] {
    [1, 2].map(|threads| {
        let mut plain = stored(data, dims, metric);
        link(&mut plain, threads);
        let mut copied = stored(data, dims, metric);
        assert!(
            copied.make_half_copy(&mut || {}).unwrap(),
            "a copy for {metric:?}"
        );
        assert!(copied.searches_half_copy());
        link(&mut copied, threads);
        assert!(copied.searches_half_copy(), "the copy stayed on to the end");
        if threads == 1 {
            // Serial links are deterministic: the copy's distances, not the float4 ones, made
            // these lists.
            let differs = (0..plain.len() as u32)
                .any(|id| plain.neighbors_at(id, 0) != copied.neighbors_at(id, 0));
            assert!(differs, "linking read the copy");
        }
        (
            mean_recall(&plain, data, queries, dims, metric),
            mean_recall(&copied, data, queries, dims, metric),
        )
    })
}

#[test]
fn linking_on_the_copy_keeps_recall() {
    let (n, nq, dims) = (5000, 100, 64);
    let all = clustered(n + nq, dims, 40, 0.15, 5);
    let unit = normalized(all.clone(), dims);
    for (metric, all) in [(Metric::L2, &all), (Metric::InnerProduct, &unit)] {
        let (data, queries) = all.split_at(n * dims);
        for (plain, copied) in compare(data, queries, dims, metric) {
            eprintln!("{metric:?}: recall@10 {plain:.3} float4, {copied:.3} half copy");
            assert!(copied >= 0.95, "{metric:?}: {copied}");
            assert!(
                copied >= plain - 0.02,
                "{metric:?}: {copied} against {plain}"
            );
        }
    }
}

#[test]
fn a_common_offset_does_not_spoil_the_copy() {
    // Every value near 1,000: a half there is 0.5 apart from the next, more than the clusters'
    // spread; the offsets from the mean are small.
    let (n, nq, dims) = (3000, 50, 32);
    let all: Vec<f32> = clustered(n + nq, dims, 30, 0.15, 9)
        .into_iter()
        .map(|x| x + 1000.0)
        .collect();
    let (data, queries) = all.split_at(n * dims);
    for (plain, copied) in compare(data, queries, dims, Metric::L2) {
        assert!(
            copied >= 0.95 && copied >= plain - 0.02,
            "{copied} against {plain}"
        );
    }
}

#[test]
fn a_copy_too_coarse_for_its_data_switches_itself_off() {
    // Tight clusters far apart: neighbours differ by 1e-3 in values near ±1,000 from the mean,
    // far below a half's resolution there.
    let (n, nq, dims) = (4000, 50, 16);
    let all = coarse_for_halves(n + nq, dims, 4);
    let (data, queries) = all.split_at(n * dims);
    for threads in [1, 2] {
        let mut g = stored(data, dims, Metric::L2);
        assert!(g.make_half_copy(&mut || {}).unwrap());
        link(&mut g, threads);
        assert!(!g.searches_half_copy(), "the copy was judged too coarse");
        let r = mean_recall(&g, data, queries, dims, Metric::L2);
        assert!(
            r >= 0.9,
            "recall {r} after the copy switched off ({threads} threads)"
        );
    }
}

#[test]
fn offsets_beyond_the_half_range_mean_no_copy() {
    let mut g = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L2, 1));
    g.push(&[1e6, 0.0]);
    g.push(&[-1e6, 0.0]);
    assert!(!g.make_half_copy(&mut || {}).unwrap());
    assert!(!g.searches_half_copy());
    // No copy for metrics without half kernels, nor for variable-length vectors.
    let mut g = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L1, 1));
    g.push(&[1.0, 0.0]);
    assert_eq!(g.half_copy_bytes(), 0);
    assert!(!g.make_half_copy(&mut || {}).unwrap());
    // A later vector beyond the range ends the copy.
    let mut g = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L2, 1));
    g.push(&[1.0, 0.0]);
    assert!(g.make_half_copy(&mut || {}).unwrap());
    g.push(&[1e6, 0.0]);
    assert!(!g.searches_half_copy());
}

#[test]
fn only_linking_reads_the_copy_and_its_memory_is_counted() {
    let (n, dims) = (500, 24);
    let data = clustered(n, dims, 5, 0.2, 13);
    let mut g = stored(&data, dims, Metric::L2);
    let before = g.memory_bytes();
    assert!(g.make_half_copy(&mut || {}).unwrap());
    assert_eq!(g.memory_bytes(), before + g.half_copy_bytes());
    link(&mut g, 1);
    // Searches of the linked graph give exact distances while the copy exists.
    let q = &data[7 * dims..8 * dims];
    let exact = brute_force(&data, dims, q, 5, Metric::L2);
    let found = g.search(q, 5, 64);
    for (f, e) in found.iter().zip(&exact) {
        assert_eq!(f.distance, crate::distance::l2_squared(q, g.vector(f.node)));
        assert_eq!(f.node, e.node);
    }
    g.drop_half_copy();
    assert!(!g.searches_half_copy());
    assert!(g.memory_bytes() < before + g.half_copy_bytes());
    // Inserts after the copy is gone re-prune lists that hold its distances: each is made exact
    // first (the test build cross-checks every re-prune against the plain heuristic on exact
    // distances, and would panic on a list still holding the copy's).
    for v in clustered(100, dims, 5, 0.2, 14).chunks_exact(dims) {
        g.insert(v);
    }
    assert_eq!(g.len(), n + 100);
}
