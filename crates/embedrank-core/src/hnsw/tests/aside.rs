//! Linking with the float4 vectors set aside: the same graph as linking on the copy beside them
//! (serially), the vectors back bit for bit, error bounds that hold, and a copy too coarse for its
//! data pausing the linking until the vectors are read back.

use super::{coarse_for_halves, link, mean_recall, normalized, stored};
use crate::distance::Metric;
use crate::hnsw::half_copy::HalfCopy;
use crate::hnsw::*;
use crate::synth::clustered;

/// Every vector in `spill`, read from the first.
fn spilled(spill: &mut MemorySpill, rows: usize, dims: usize) -> Vec<f32> {
    spill.rewind();
    let mut out = vec![0.0; rows * dims];
    for row in out.chunks_exact_mut(dims) {
        spill.read(row);
    }
    out
}

#[test]
fn serial_linking_with_the_vectors_aside_builds_the_same_graph() {
    let (n, nq, dims) = (4000, 50, 48);
    let all = clustered(n + nq, dims, 30, 0.15, 21);
    let unit = normalized(all.clone(), dims);
    for (metric, all) in [(Metric::L2, &all), (Metric::InnerProduct, &unit)] {
        let (data, queries) = all.split_at(n * dims);
        let mut beside = stored(data, dims, metric);
        assert!(beside.make_half_copy(&mut || {}).unwrap());
        link(&mut beside, 1);
        assert!(beside.searches_half_copy());

        let mut aside = stored(data, dims, metric);
        let before = aside.memory_bytes();
        let (floats, copy) = (aside.vector_bytes(), aside.half_copy_aside_bytes());
        let mut spill = MemorySpill::default();
        assert!(aside.set_vectors_aside(&mut spill).unwrap());
        assert!(aside.vectors_aside());
        assert_eq!(aside.memory_bytes(), before - floats + copy, "{metric:?}");
        link(&mut aside, 1);
        assert_eq!(aside.pending(), 0);
        assert!(
            aside.searches_half_copy(),
            "{metric:?}: the bounded check kept the copy"
        );
        for id in 0..n as u32 {
            for level in 0..=aside.level(id) {
                assert_eq!(
                    aside.neighbors_at(id, level),
                    beside.neighbors_at(id, level),
                    "{metric:?}: node {id}, level {level}"
                );
            }
        }
        // The spill gives the vectors back bit for bit, and so does restoring them.
        let back = spilled(&mut spill, n, dims);
        assert!(back
            .iter()
            .zip(data)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        aside.drop_half_copy();
        assert!(
            aside.vectors_aside(),
            "dropping the copy does not bring them back"
        );
        aside.restore_vectors(&mut spill).unwrap();
        assert!(!aside.vectors_aside());
        assert!((0..n as u32).all(|id| aside.vector(id) == &data[id as usize * dims..][..dims]));
        let r = mean_recall(&aside, data, queries, dims, metric);
        assert!(r >= 0.95, "{metric:?}: recall {r}");
    }
}

#[test]
fn the_copy_error_bounds_hold() {
    let dims = 40;
    let data: Vec<f32> = clustered(300, dims, 6, 0.3, 31)
        .into_iter()
        .map(|x| x * 7.0 + 3.0)
        .collect();
    for (metric, data) in [
        (Metric::L2, data.clone()),
        (Metric::InnerProduct, normalized(data, dims)),
    ] {
        let center = HalfCopy::center_of(&data, dims, metric, &mut || {}).unwrap();
        let mut copy = HalfCopy::empty(center, metric);
        copy.reserve_bounded(300).unwrap();
        data.chunks_exact(dims).for_each(|v| copy.push_bounded(v));
        let mut tight = 0.0f32;
        for a in 0..300u32 {
            for b in (0..300u32).step_by(7) {
                let (va, vb) = (
                    &data[a as usize * dims..][..dims],
                    &data[b as usize * dims..][..dims],
                );
                let exact = metric.index_distance(va, vb);
                let approx = copy.distance_between(a, b);
                let bound = copy.error_bound(a, b, approx);
                let error = (approx - exact).abs();
                assert!(
                    error <= bound,
                    "{metric:?} {a}-{b}: error {error} > bound {bound}"
                );
                tight = tight.max(error / bound.max(f32::MIN_POSITIVE));
            }
        }
        eprintln!("{metric:?}: worst error {tight} of its bound");
        // A bound, not a gross overestimate (the worst pair uses a good share of it).
        assert!(tight > 0.1, "{metric:?}: at most {tight} of the bound used");
    }
}

#[test]
fn a_coarse_copy_pauses_linking_until_the_vectors_are_back() {
    // As in the half-copy tests: tight clusters far from the mean, below a half's resolution.
    let (n, nq, dims) = (4000, 50, 16);
    let all = coarse_for_halves(n + nq, dims, 4);
    let (data, queries) = all.split_at(n * dims);
    for threads in [1, 2] {
        let mut g = stored(data, dims, Metric::L2);
        let mut spill = MemorySpill::default();
        assert!(g.set_vectors_aside(&mut spill).unwrap());
        link(&mut g, threads);
        assert!(g.pending() > 0, "linking paused ({threads} threads)");
        assert!(g.vectors_aside() && !g.searches_half_copy());
        g.restore_vectors(&mut spill).unwrap();
        link(&mut g, threads);
        assert_eq!(g.pending(), 0);
        let r = mean_recall(&g, data, queries, dims, Metric::L2);
        assert!(r >= 0.9, "recall {r} after the pause ({threads} threads)");
    }
}

#[test]
fn no_copy_means_nothing_set_aside() {
    let mut spill = MemorySpill::default();
    // Offsets beyond the half range.
    let mut g = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L2, 1));
    g.push(&[1e6, 0.0]);
    g.push(&[-1e6, 0.0]);
    assert!(!g.set_vectors_aside(&mut spill).unwrap());
    // A metric without half kernels; an empty graph.
    let mut l1 = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L1, 1));
    l1.push(&[1.0, 0.0]);
    assert!(!l1.set_vectors_aside(&mut spill).unwrap());
    let mut empty = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L2, 1));
    assert!(!empty.set_vectors_aside(&mut spill).unwrap());
    assert!(spilled(&mut spill, 0, 2).is_empty());
    spill.rewind();
    let mut probe = [0.0f32; 1];
    let nothing = std::panic::catch_unwind(move || spill.read(&mut probe));
    assert!(nothing.is_err(), "nothing was written");
    assert_eq!(g.vector(1), &[-1e6, 0.0]);
    // With a copy made beside the vectors there is nothing to set aside either.
    let mut g = InMemoryGraph::new(2, HnswParams::new(8, 32, Metric::L2, 1));
    g.push(&[1.0, 0.0]);
    assert!(g.make_half_copy(&mut || {}).unwrap());
    assert!(!g.set_vectors_aside(&mut MemorySpill::default()).unwrap());
    assert!(!g.vectors_aside());
}

#[test]
fn loading_with_the_vectors_aside_keeps_recall_and_every_vector() {
    let (n, nq, dims) = (5000, 50, 48);
    let all = clustered(n + nq, dims, 30, 0.15, 23);
    let (data, queries) = all.split_at(n * dims);
    let mut g = InMemoryGraph::new(dims, HnswParams::new(16, 64, Metric::L2, 42));
    let mut spill = MemorySpill::default();
    // The first 1,000 rows as float4, then the vectors set aside (the copy's center is their
    // mean), the rest pushed aside: to the spill and the copy only.
    for v in data.chunks_exact(dims).take(1000) {
        g.push(v);
    }
    assert!(g.set_vectors_aside(&mut spill).unwrap());
    let before = g.memory_bytes();
    g.try_reserve(n - 1000).unwrap();
    let grown = g.memory_bytes() - before;
    let per = InMemoryGraph::bytes_per_element_aside(dims, 16);
    assert!(
        grown <= (n - 1000) * per && per < InMemoryGraph::bytes_per_element(dims, 16),
        "{grown} bytes reserved for {} rows ({per} per row estimated)",
        n - 1000
    );
    for v in data.chunks_exact(dims).skip(1000) {
        assert!(g.push_aside(v, &mut spill).is_some());
    }
    assert_eq!(
        g.capacity(),
        n,
        "no row grew the graph beyond the reservation"
    );
    link(&mut g, 2);
    assert_eq!(g.pending(), 0);
    assert!(g.searches_half_copy());
    let back = spilled(&mut spill, n, dims);
    assert!(back
        .iter()
        .zip(data)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    g.restore_vectors(&mut spill).unwrap();
    let r = mean_recall(&g, data, queries, dims, Metric::L2);
    assert!(r >= 0.95, "recall {r}");
    // A row beyond the copy's half range is refused, nothing stored.
    let mut g = stored(&data[..2000 * dims], dims, Metric::L2);
    let mut spill = MemorySpill::default();
    assert!(g.set_vectors_aside(&mut spill).unwrap());
    assert_eq!(g.push_aside(&vec![1e6; dims], &mut spill), None);
    assert_eq!(g.len(), 2000);
}

#[test]
fn a_paused_graph_can_be_cut_to_what_is_linked() {
    // The coarse data of the pause test: linking pauses; the unlinked rest is forgotten, and what
    // is linked is a whole graph (no link to a forgotten node; it takes inserts).
    let (n, dims) = (3000, 16);
    let data = coarse_for_halves(n, dims, 5);
    let mut g = stored(&data, dims, Metric::L2);
    let mut spill = MemorySpill::default();
    assert!(g.set_vectors_aside(&mut spill).unwrap());
    link(&mut g, 1);
    let pending = g.pending();
    assert!(pending > 0);
    g.drop_half_copy();
    assert_eq!(g.truncate_pending(), pending);
    let linked = g.len();
    assert_eq!((linked + pending, g.pending()), (n, 0));
    g.restore_vectors(&mut spill).unwrap();
    assert!((0..linked as u32).all(|id| g.vector(id) == &data[id as usize * dims..][..dims]));
    for id in 0..linked as u32 {
        for level in 0..=g.level(id) {
            assert!(g
                .neighbors_at(id, level)
                .iter()
                .all(|&n| (n as usize) < linked));
        }
    }
    let (entry, _) = g.entry_point().unwrap();
    assert!((entry as usize) < linked);
    // The graph takes inserts again.
    for v in data[linked * dims..].chunks_exact(dims).take(10) {
        g.insert(v);
    }
    assert_eq!(g.len(), linked + 10);
}

#[test]
fn a_copy_made_while_loading_recentred_links_as_one_made_after() {
    // Rows in cluster order: the first 1,500 hold a third of the clusters, so the copy made when
    // they were set aside is centred far from the rest. Recentred on all of them, serial linking
    // builds exactly the graph of vectors set aside after the whole load.
    let (n, dims, k) = (4500, 32, 30);
    let mut rows: Vec<(usize, &[f32])> = Vec::new();
    let data = clustered(n, dims, k, 0.1, 41);
    rows.extend(data.chunks_exact(dims).enumerate().map(|(i, v)| (i % k, v)));
    rows.sort_by_key(|&(c, _)| c);
    let sorted: Vec<f32> = rows.iter().flat_map(|&(_, v)| v.iter().copied()).collect();

    let mut after = stored(&sorted, dims, Metric::L2);
    assert!(after
        .set_vectors_aside(&mut MemorySpill::default())
        .unwrap());
    link(&mut after, 1);

    let mut during = stored(&sorted[..1500 * dims], dims, Metric::L2);
    let mut spill = MemorySpill::default();
    assert!(during.set_vectors_aside(&mut spill).unwrap());
    for v in sorted[1500 * dims..].chunks_exact(dims) {
        during.try_reserve(1).unwrap();
        during.push_aside(v, &mut spill).unwrap();
    }
    assert!(during.recenter_aside(&mut spill));
    link(&mut during, 1);
    for id in 0..n as u32 {
        assert_eq!(
            during.neighbors_at(id, 0),
            after.neighbors_at(id, 0),
            "node {id}"
        );
    }
}
