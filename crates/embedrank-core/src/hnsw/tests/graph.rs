//! Graph-level tests on the in-memory builder: recall against brute force,
//! degenerate graphs, generic search, and the iterative scan.

use super::mean_recall;
use crate::distance::Metric;
use crate::hnsw::*;
use crate::synth::{brute_force, clustered, recall};

fn params(metric: Metric) -> HnswParams {
    HnswParams::new(16, 64, metric, 42)
}

fn build(data: &[f32], dims: usize, p: HnswParams) -> InMemoryGraph {
    let mut g = InMemoryGraph::new(dims, p);
    for (i, v) in data.chunks_exact(dims).enumerate() {
        assert_eq!(g.insert(v), i as u32);
    }
    g
}

fn check_recall(metric: Metric) {
    let (n, nq, dims, k) = (5000, 100, 64, 10);
    let all = clustered(n + nq, dims, 40, 0.15, 7);
    let (data, queries) = all.split_at(n * dims);
    let g = build(data, dims, params(metric));
    assert_eq!(g.len(), n);
    let mut total = 0.0;
    for q in queries.chunks_exact(dims) {
        let found = g.search(q, k, 64);
        assert_eq!(found.len(), k);
        assert!(found.windows(2).all(|w| w[0].distance <= w[1].distance));
        total += recall(&found, &brute_force(data, dims, q, k, metric));
    }
    let r = total / nq as f64;
    eprintln!("{metric:?} recall@10 = {r:.3}");
    assert!(r >= 0.95, "{metric:?} recall@10 = {r}");
}

#[test]
fn recall_l2() {
    check_recall(Metric::L2);
}

#[test]
fn recall_cosine() {
    check_recall(Metric::Cosine);
}

#[test]
fn empty_and_single_node() {
    let mut g = InMemoryGraph::new(3, params(Metric::L2));
    assert!(g.is_empty());
    assert_eq!(g.entry_point(), None);
    assert!(g.search(&[1.0, 2.0, 3.0], 5, 10).is_empty());
    assert_eq!(g.memory_bytes(), 0);
    g.insert(&[1.0, 2.0, 3.0]);
    assert_eq!(g.len(), 1);
    let r = g.search(&[1.0, 2.0, 4.0], 5, 10);
    assert_eq!(
        r,
        vec![Candidate {
            distance: 1.0,
            node: 0
        }]
    );
    assert_eq!(g.entry_point().map(|e| e.0), Some(0));
    assert!(g.memory_bytes() > 0);
}

#[test]
fn identical_vectors() {
    let n = 300;
    let v = [0.5f32; 8];
    let mut g = InMemoryGraph::new(8, params(Metric::L2));
    for _ in 0..n {
        g.insert(&v);
    }
    let r = g.search(&v, 10, 40);
    assert_eq!(r.len(), 10);
    assert!(r.iter().all(|c| c.distance == 0.0));
    let big = g.search(&v, n, n);
    assert_eq!(big.len(), n, "all duplicates reachable");
    let mut ids: Vec<u32> = big.iter().map(|c| c.node).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), big.len(), "no duplicate results");
    for id in 0..n as u32 {
        assert!(g.neighbors_at(id, 0).len() <= 32);
        for l in 1..=g.level(id) {
            assert!(g.neighbors_at(id, l).len() <= 16);
        }
    }
}

#[test]
fn structure_and_memory_accounting() {
    let dims = 16;
    let data = clustered(1500, dims, 10, 0.2, 3);
    // Reserved exactly, the per-element arrays never grow past what the estimate counts.
    let mut g = InMemoryGraph::new(dims, params(Metric::L2));
    g.try_reserve(1500).unwrap();
    assert_eq!(g.capacity(), 1500);
    for v in data.chunks_exact(dims) {
        g.insert(v);
    }
    assert_eq!(
        g.capacity(),
        1500,
        "inserts within the reservation do not grow it"
    );
    let (ep, ep_level) = g.entry_point().unwrap();
    assert_eq!(g.level(ep), ep_level);
    assert!((0..g.len() as u32).all(|i| g.level(i) <= ep_level));
    for id in 0..g.len() as u32 {
        let l0 = g.neighbors_at(id, 0);
        assert!(!l0.is_empty() && l0.len() <= 32);
        assert!(!l0.contains(&id), "no self loops");
        assert!(g.neighbors_at(id, g.level(id) + 1).is_empty());
    }
    assert_eq!(g.vector(7), &data[7 * dims..8 * dims]);
    let per = InMemoryGraph::bytes_per_element(dims, 16) as f64;
    let actual = g.memory_bytes() as f64 / g.len() as f64;
    assert!((actual / per - 1.0).abs() < 0.1, "{actual} vs {per}");
}

#[test]
fn memory_counts_capacity_and_impossible_reservations_fail_without_aborting() {
    let mut g = build(&clustered(100, 8, 4, 0.2, 1), 8, params(Metric::L2));
    let before = g.memory_bytes();
    g.try_reserve(10_000).unwrap();
    assert!(
        g.memory_bytes() > before + 10_000 * 8 * 4,
        "spare capacity is counted"
    );
    assert!(g.capacity() >= 10_100);
    // More than any address space: an Err, not the allocator's abort.
    assert!(g.try_reserve(usize::MAX / 64).is_err());
    assert!(g.try_reserve(1 << 50).is_err());
    assert_eq!(g.len(), 100);
    g.insert(&[0.5; 8]);
}

#[test]
fn generic_search_matches_in_memory_search() {
    let dims = 24;
    let data = clustered(2000, dims, 20, 0.2, 5);
    let g = build(&data, dims, params(Metric::InnerProduct));
    let (ep, lvl) = g.entry_point().unwrap();
    for q in clustered(20, dims, 20, 0.2, 6).chunks_exact(dims) {
        let a = g.search(q, 40, 40);
        let b = search(&mut &g, q, ep, lvl, 40);
        assert_eq!(a, b);
        let l0 = search_layer(&mut &g, q, &b[..3], 5, 0);
        assert_eq!(l0.len(), 5);
        assert!(l0[0].distance <= b[0].distance);
    }
}

/// A view with a composite node type, like the page-backed index's
/// (block, offset) addresses.
struct Paged<'a>(&'a InMemoryGraph);

impl GraphView for Paged<'_> {
    type Node = (u32, u16);
    fn distance_to(&mut self, q: &[f32], n: (u32, u16)) -> f32 {
        let mut g = self.0;
        g.distance_to(q, n.0 * 7 + u32::from(n.1))
    }
    fn neighbors(&mut self, n: (u32, u16), level: usize, out: &mut Vec<(u32, u16)>) {
        let id = n.0 * 7 + u32::from(n.1);
        out.extend(
            self.0
                .neighbors_at(id, level)
                .iter()
                .map(|&x| (x / 7, (x % 7) as u16)),
        );
    }
}

fn collect_scan<G: GraphView>(
    g: &mut G,
    q: &[f32],
    ep: G::Node,
    lvl: usize,
    ef: usize,
    max: usize,
) -> Vec<Candidate<G::Node>> {
    let mut scan = IterativeScan::new(g, q, ep, lvl, ef, max);
    let mut out = Vec::new();
    while let Some(c) = scan.next(g, q).unwrap() {
        out.push(c);
    }
    out
}

#[test]
fn iterative_scan_yields_every_node_once() {
    let dims = 16;
    let n = 2000;
    let all = clustered(n + 5, dims, 15, 0.2, 9);
    let (data, queries) = all.split_at(n * dims);
    let g = build(data, dims, params(Metric::L2));
    let (ep, lvl) = g.entry_point().unwrap();
    for q in queries.chunks_exact(dims) {
        let ef = 40;
        let all = collect_scan(&mut &g, q, ep, lvl, ef, usize::MAX);
        assert_eq!(all.len(), n);
        let mut ids: Vec<u32> = all.iter().map(|c| c.node).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "every node exactly once");
        assert_eq!(&all[..ef], &g.search(q, ef, ef)[..], "starts like search()");
        // Approximately ascending: the first 200 yielded hold most of the
        // true 200 nearest.
        let truth = brute_force(data, dims, q, 200, Metric::L2);
        let r = recall(&all[..200], &truth);
        assert!(r > 0.9, "recall of first 200: {r}");

        // Same through a composite node type.
        let paged = collect_scan(
            &mut Paged(&g),
            q,
            (ep / 7, (ep % 7) as u16),
            lvl,
            ef,
            usize::MAX,
        );
        let back: Vec<u32> = paged
            .iter()
            .map(|c| c.node.0 * 7 + u32::from(c.node.1))
            .collect();
        assert_eq!(back, all.iter().map(|c| c.node).collect::<Vec<_>>());
    }
}

#[test]
fn iterative_scan_respects_budget() {
    let dims = 8;
    let data = clustered(3000, dims, 5, 0.3, 12);
    let g = build(&data, dims, params(Metric::L2));
    let (ep, lvl) = g.entry_point().unwrap();
    let q = &data[..dims];
    let mut view = &g;
    let mut scan = IterativeScan::new(&mut view, q, ep, lvl, 20, 500);
    let mut n = 0;
    while scan.next(&mut view, q).unwrap().is_some() {
        n += 1;
    }
    assert!((20..=500).contains(&n), "yielded {n}");
    assert!(scan.distance_computations() <= 500);
    assert!(
        scan.next(&mut view, q).unwrap().is_none(),
        "stays exhausted"
    );

    let empty_graph = InMemoryGraph::new(2, params(Metric::L2));
    assert!(empty_graph.search(&[0.0, 0.0], 3, 3).is_empty());
}

#[test]
fn levels_are_clamped_to_the_parameters_range() {
    let dims = 8;
    let data = clustered(300, dims, 5, 0.2, 3);
    let g = build(data.as_slice(), dims, params(Metric::L2).levels(3, 3));
    assert!((0..g.len() as u32).all(|id| g.level(id) == 3));
    assert_eq!(g.entry_point().map(|e| e.1), Some(3));
    let q = &data[..dims];
    assert_eq!(g.search(q, 1, 16)[0].node, 0, "tall graphs still search");
    let g = build(
        data.as_slice(),
        2,
        HnswParams::new(2, 8, Metric::L2, 1).levels(0, 1),
    );
    assert!((0..g.len() as u32).all(|id| g.level(id) <= 1));
}

/// Nodes reachable on layer 0 from the entry point.
fn reachable(g: &InMemoryGraph) -> usize {
    let (ep, _) = g.entry_point().unwrap();
    let mut seen = std::collections::HashSet::from([ep]);
    let mut queue = std::collections::VecDeque::from([ep]);
    while let Some(x) = queue.pop_front() {
        for &y in g.neighbors_at(x, 0) {
            if seen.insert(y) {
                queue.push_back(y);
            }
        }
    }
    seen.len()
}

#[test]
fn parallel_linking_builds_a_graph_as_good_as_the_serial_one() {
    let (n, nq, dims) = (6000, 100, 48);
    let all = clustered(n + nq, dims, 40, 0.15, 17);
    let (data, queries) = all.split_at(n * dims);
    let serial = build(data, dims, params(Metric::L2));
    let mut par = InMemoryGraph::new(dims, params(Metric::L2));
    for v in data.chunks_exact(dims) {
        par.push(v);
    }
    assert_eq!(par.pending(), n);
    let mut last = 0;
    par.link_pending(3, &|spawn| spawn(), &mut |done| {
        assert!(done >= last, "progress only grows");
        last = done;
    });
    assert_eq!(par.pending(), 0);
    assert_eq!(par.len(), n);
    for id in 0..n as u32 {
        assert_eq!(par.vector(id), serial.vector(id), "same vectors, same ids");
        assert_eq!(
            par.level(id),
            serial.level(id),
            "levels drawn in id order either way"
        );
        for level in 0..=par.level(id) {
            let list = par.neighbors_at(id, level);
            let cap = if level == 0 { 32 } else { 16 };
            assert!(
                list.len() <= cap,
                "node {id} level {level}: {} links",
                list.len()
            );
            assert!(level > 0 || !list.is_empty(), "node {id} has layer-0 links");
            assert!(!list.contains(&id), "no self link");
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len(), "no duplicate links");
        }
    }
    let (rs, rp) = (
        mean_recall(&serial, data, queries, dims, Metric::L2),
        mean_recall(&par, data, queries, dims, Metric::L2),
    );
    assert!(rp >= rs - 0.01, "parallel recall@10 {rp} vs serial {rs}");
    assert!(
        reachable(&par) >= n - n / 1000,
        "reachable {} of {n}",
        reachable(&par)
    );
    // Linking more nodes later (an on-going build) goes on from there.
    for v in queries.chunks_exact(dims) {
        par.push(v);
    }
    par.link_pending(2, &|spawn| spawn(), &mut |_| {});
    assert_eq!(par.pending(), 0);
    let q = &queries[..dims];
    assert_eq!(
        par.search(q, 1, 64)[0].node as usize,
        n,
        "a node linked in the second round is found"
    );
}

#[test]
fn a_panic_while_polling_stops_the_workers_and_goes_on() {
    let dims = 16;
    let data = clustered(20_000, dims, 20, 0.2, 3);
    let mut g = InMemoryGraph::new(dims, params(Metric::L2));
    for v in data.chunks_exact(dims) {
        g.push(v);
    }
    let t = std::time::Instant::now();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        g.link_pending(2, &|spawn| spawn(), &mut |_| panic!("cancelled"));
    }));
    assert!(caught.is_err(), "the poll's panic reaches the caller");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "workers stopped early"
    );
}

#[test]
fn storing_first_then_linking_serially_builds_exactly_the_inserted_graph() {
    let dims = 32;
    let data = clustered(3000, dims, 30, 0.2, 23);
    let inserted = build(data.as_slice(), dims, params(Metric::L2));
    let mut linked = InMemoryGraph::new(dims, params(Metric::L2));
    for v in data.chunks_exact(dims) {
        linked.push(v);
    }
    let mut polls = Vec::new();
    linked.link_pending(1, &|spawn| spawn(), &mut |done| polls.push(done));
    assert_eq!(
        polls,
        vec![1024, 2048],
        "a serial link polls every 1,024 nodes"
    );
    assert_eq!(linked.entry_point(), inserted.entry_point());
    for id in 0..3000u32 {
        for level in 0..=inserted.level(id) {
            assert_eq!(
                linked.neighbors_at(id, level),
                inserted.neighbors_at(id, level),
                "node {id} level {level}"
            );
        }
    }
}

/// `n` sparse vectors in packed form over a 30,522-term vocabulary (SPLADE's): each is ~30 terms of
/// its topic's 80 plus ~8 terms from anywhere, positive weights, indices ascending.
fn sparse_corpus(n: usize, topics: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = LevelRng::new(seed);
    let vocab = 30_522u64;
    let topic_terms: Vec<Vec<i32>> = (0..topics)
        .map(|_| (0..80).map(|_| (rng.next_u64() % vocab) as i32).collect())
        .collect();
    (0..n)
        .map(|_| {
            let t = &topic_terms[(rng.next_u64() % topics as u64) as usize];
            let mut entries = Vec::new();
            for j in 0..38 {
                let term = if j < 30 {
                    t[(rng.next_u64() % 80) as usize]
                } else {
                    (rng.next_u64() % vocab) as i32
                };
                entries.push((term, 0.1 + rng.next_f64() as f32 * 2.0));
            }
            entries.sort_by_key(|e| e.0);
            entries.dedup_by_key(|e| e.0);
            let (i, v): (Vec<i32>, Vec<f32>) = entries.into_iter().unzip();
            crate::sparsevec::pack(&i, &v)
        })
        .collect()
}

#[test]
fn sparse_vectors_of_varying_length_are_searched_like_dense_ones() {
    let (n, nq, k) = (3000, 50, 10);
    let all = sparse_corpus(n + nq, 30, 11);
    let (data, queries) = all.split_at(n);
    for metric in [
        Metric::SparseL2,
        Metric::SparseInnerProduct,
        Metric::SparseL1,
    ] {
        let mut g = InMemoryGraph::new_variable(2000, params(metric));
        for v in data {
            g.push(v);
        }
        g.link_pending(2, &|spawn| spawn(), &mut |_| {});
        assert_eq!(g.vector(7), data[7].as_slice(), "stored as given");
        let mut total = 0.0;
        for q in queries {
            let found = g.search(q, k, 64);
            let mut truth: Vec<Candidate<u32>> = (0..n)
                .map(|i| Candidate {
                    distance: metric.index_distance(q, &data[i]),
                    node: i as u32,
                })
                .collect();
            truth.sort_by(|a, b| a.distance.total_cmp(&b.distance));
            truth.truncate(k);
            for f in &found {
                assert_eq!(f.distance, metric.index_distance(q, &data[f.node as usize]));
            }
            total += recall(&found, &truth);
        }
        let r = total / nq as f64;
        eprintln!("{metric:?} recall@10 = {r:.3}");
        assert!(r >= 0.9, "{metric:?} recall@10 = {r}");
    }
}

#[test]
fn sparse_distances_equal_the_dense_ones() {
    let all = sparse_corpus(20, 2, 3);
    let dense = |p: &[f32]| {
        let s = crate::sparsevec::unpack(p);
        let mut d = vec![0.0f32; 30_522];
        for (&i, &v) in s.indices.iter().zip(s.values) {
            d[i as usize] = v;
        }
        d
    };
    for a in &all {
        for b in &all {
            let (da, db) = (dense(a), dense(b));
            let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(1.0);
            assert!(close(
                Metric::SparseL2.index_distance(a, b),
                Metric::L2.index_distance(&da, &db)
            ));
            assert!(close(
                Metric::SparseInnerProduct.index_distance(a, b),
                Metric::InnerProduct.index_distance(&da, &db)
            ));
            assert!(close(
                Metric::SparseL1.index_distance(a, b),
                Metric::L1.index_distance(&da, &db)
            ));
        }
    }
}

#[test]
fn variable_length_memory_is_reserved_for_the_longest_vector() {
    let mut g = InMemoryGraph::new_variable(2000, params(Metric::SparseL2));
    assert_eq!(g.capacity(), 0);
    g.try_reserve(100).unwrap();
    assert!(g.capacity() >= 100);
    let v = crate::sparsevec::pack(&[1, 2], &[1.0, 2.0]);
    while g.len() < g.capacity() {
        g.push(&v);
    }
    // Full: there is no longer room for a 2,000-value vector without growing.
    assert!(g.len() >= 100);
    assert_eq!(g.floats_per_element(), 4);
    assert!(g.memory_bytes() >= g.len() * 4 * 4);
    assert!(g.try_reserve(usize::MAX / 64).is_err());
}
