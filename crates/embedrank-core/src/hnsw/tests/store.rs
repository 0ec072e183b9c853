//! The shared insert / repair algorithm ([`Inserter`]) over a store that, like the extension's
//! pages, keeps no link distances or decisions and has deleted nodes: recall of the graph it builds,
//! and what VACUUM's repair must guarantee — after deleting a whole cluster and a random tenth, no
//! live list links to a deleted node, every live node is reachable through live nodes alone, and
//! recall over the live rows holds.

use crate::distance::Metric;
use crate::hnsw::*;
use crate::synth::{brute_force, clustered, recall};
use std::collections::{HashMap, HashSet, VecDeque};

const M: usize = 8;

/// Lists in a map, distances computed on demand, deleted nodes not linkable: the page store's shape.
struct ListStore {
    dims: usize,
    vectors: Vec<f32>,
    levels: Vec<usize>,
    lists: HashMap<(u32, usize), Vec<u32>>,
    deleted: HashSet<u32>,
    writes: usize,
}

impl ListStore {
    fn vector(&self, n: u32) -> &[f32] {
        &self.vectors[n as usize * self.dims..(n as usize + 1) * self.dims]
    }
}

impl GraphView for ListStore {
    type Node = u32;
    fn distance_to(&mut self, q: &[f32], n: u32) -> f32 {
        Metric::L2.index_distance(q, self.vector(n))
    }
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        out.extend(self.lists.get(&(n, level)).into_iter().flatten());
    }
}

impl GraphStore for ListStore {
    const KEEPS_DISTANCES: bool = false;
    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        Metric::L2.index_distance(self.vector(a), self.vector(b))
    }
    fn links(&mut self, n: u32, level: usize, out: &mut Vec<Link<u32>>) {
        out.extend(
            self.lists
                .get(&(n, level))
                .into_iter()
                .flatten()
                .map(|&node| Link {
                    node,
                    distance: 0.0,
                    flag: Flag::Unknown,
                }),
        );
    }
    fn set_links(&mut self, n: u32, level: usize, links: &[Link<u32>]) {
        assert!(links.len() <= self.capacity(level));
        self.writes += 1;
        self.lists
            .insert((n, level), links.iter().map(|l| l.node).collect());
    }
    fn linkable(&mut self, n: u32) -> bool {
        !self.deleted.contains(&n)
    }
    fn vector_of(&mut self, n: u32) -> Vec<f32> {
        self.vector(n).to_vec()
    }
    fn capacity(&self, level: usize) -> usize {
        if level == 0 {
            2 * M
        } else {
            M
        }
    }
}

fn build(data: &[f32], dims: usize) -> (ListStore, (u32, usize)) {
    let mut s = ListStore {
        dims,
        vectors: Vec::new(),
        levels: Vec::new(),
        lists: HashMap::new(),
        deleted: HashSet::new(),
        writes: 0,
    };
    let mut rng = LevelRng::new(3);
    let mut ins = Inserter::new();
    let mut entry: Option<(u32, usize)> = None;
    for v in data.chunks_exact(dims) {
        let level = random_level(&mut rng, M);
        let id = s.levels.len() as u32;
        if let Some(ep) = entry {
            ins.plan(&mut s, v, level, ep, 48);
        }
        s.vectors.extend_from_slice(v);
        s.levels.push(level);
        if let Some(ep) = entry {
            for (l, list) in ins.planned().iter().enumerate() {
                s.set_links(id, l, list);
            }
            ins.link_back(&mut s, id);
            if level > ep.1 {
                entry = Some((id, level));
            }
        } else {
            entry = Some((id, level));
        }
    }
    (s, entry.unwrap())
}

/// Recall@10 at ef 64 over the nodes not deleted (deleted ones walked through, not returned).
fn live_recall(s: &mut ListStore, entry: (u32, usize), queries: &[f32]) -> f64 {
    let dims = s.dims;
    let live: Vec<u32> = (0..s.levels.len() as u32)
        .filter(|n| !s.deleted.contains(n))
        .collect();
    let data: Vec<f32> = live.iter().flat_map(|&n| s.vector(n).to_vec()).collect();
    let mut total = 0.0;
    let nq = queries.len() / dims;
    for q in queries.chunks_exact(dims) {
        let truth: Vec<Candidate<u32>> = brute_force(&data, dims, q, 10, Metric::L2)
            .into_iter()
            .map(|c| Candidate {
                node: live[c.node as usize],
                ..c
            })
            .collect();
        let found: Vec<Candidate<u32>> = search(s, q, entry.0, entry.1, 64)
            .into_iter()
            .filter(|c| !s.deleted.contains(&c.node))
            .take(10)
            .collect();
        total += recall(&found, &truth);
    }
    total / nq as f64
}

/// Nodes reachable on layer 0 from `from` through nodes that are not deleted.
fn reachable(s: &ListStore, from: u32) -> usize {
    let mut seen = HashSet::from([from]);
    let mut queue = VecDeque::from([from]);
    while let Some(x) = queue.pop_front() {
        for &y in s.lists.get(&(x, 0)).into_iter().flatten() {
            if !s.deleted.contains(&y) && seen.insert(y) {
                queue.push_back(y);
            }
        }
    }
    seen.len()
}

/// What VACUUM's repair pass does: every live node's list that links to a deleted node is mended
/// (entry point moved off a deleted node first); then no live list links to a deleted node.
fn repair_all(
    s: &mut ListStore,
    ins: &mut Inserter<u32, FxHashSet<u32>>,
    entry: &mut (u32, usize),
) {
    if s.deleted.contains(&entry.0) {
        let tallest = (0..s.levels.len() as u32)
            .filter(|x| !s.deleted.contains(x))
            .max_by_key(|&x| s.levels[x as usize])
            .unwrap();
        *entry = (tallest, s.levels[tallest as usize]);
    }
    for id in 0..s.levels.len() as u32 {
        if s.deleted.contains(&id) {
            continue;
        }
        for level in 0..=s.levels[id as usize] {
            let list = s.lists.get(&(id, level)).cloned().unwrap_or_default();
            if list.iter().any(|x| s.deleted.contains(x)) {
                ins.repair(s, id, level, *entry, 48);
            }
        }
    }
    for (&(owner, _), list) in &s.lists {
        if !s.deleted.contains(&owner) {
            assert!(
                list.iter().all(|x| !s.deleted.contains(x)),
                "{owner} links to a deleted node"
            );
        }
    }
}

#[test]
fn insert_over_a_store_without_recorded_distances_finds_neighbours() {
    let dims = 32;
    let all = clustered(3050, dims, 30, 0.15, 21);
    let (data, queries) = all.split_at(3000 * dims);
    let (mut s, entry) = build(data, dims);
    let r = live_recall(&mut s, entry, queries);
    assert!(r >= 0.95, "recall@10 = {r}");
}

#[test]
fn repair_unlinks_deleted_nodes_and_keeps_every_live_node_reachable() {
    let (n, dims) = (3000, 32);
    let all = clustered(n + 50, dims, 30, 0.15, 22);
    let (data, queries) = all.split_at(n * dims);
    let (mut s, mut entry) = build(data, dims);
    // Delete a whole cluster (the nodes nearest one of them) and a random tenth of the rest.
    let centre = s.vector(7).to_vec();
    let region: Vec<u32> = brute_force(data, dims, &centre, n / 30, Metric::L2)
        .iter()
        .map(|c| c.node)
        .collect();
    s.deleted.extend(region);
    let mut rng = LevelRng::new(9);
    for id in 0..n as u32 {
        if rng.next_f64() < 0.1 {
            s.deleted.insert(id);
        }
    }
    let mut ins = Inserter::new();
    repair_all(&mut s, &mut ins, &mut entry);
    // Every live node is reachable from the entry point through live nodes (layer 0).
    let live = n - s.deleted.len();
    assert_eq!(
        reachable(&s, entry.0),
        live,
        "live nodes reachable after repair"
    );
    let r = live_recall(&mut s, entry, queries);
    assert!(r >= 0.95, "recall@10 over live nodes after repair = {r}");
}

/// Nodes of `s` not deleted, in id order.
fn live_nodes(s: &ListStore) -> Vec<u32> {
    (0..s.levels.len() as u32)
        .filter(|n| !s.deleted.contains(n))
        .collect()
}

/// Live nodes a search for their own vector at ef 400 does not return (an equal vector counts).
fn lost_by_own_vector(s: &mut ListStore, entry: (u32, usize)) -> usize {
    let mut lost = 0;
    for n in live_nodes(s) {
        let v = s.vector(n).to_vec();
        let found = search(s, &v, entry.0, entry.1, 400);
        if !found.iter().any(|c| c.node == n || c.distance == 0.0) {
            lost += 1;
        }
    }
    lost
}

/// Inserts `count` vectors of `data` from `next` on, as the page store does (plan, store, link back).
fn insert_some(
    s: &mut ListStore,
    entry: &mut (u32, usize),
    ins: &mut Inserter<u32, FxHashSet<u32>>,
    rng: &mut LevelRng,
    data: &[f32],
    next: &mut usize,
    count: usize,
) {
    let dims = s.dims;
    for _ in 0..count {
        let v = &data[*next * dims..(*next + 1) * dims];
        *next += 1;
        let level = random_level(rng, M);
        let id = s.levels.len() as u32;
        ins.plan(s, v, level, *entry, 48);
        s.vectors.extend_from_slice(v);
        s.levels.push(level);
        for (l, list) in ins.planned().iter().enumerate() {
            s.set_links(id, l, list);
        }
        ins.link_back(s, id);
        if level > entry.1 {
            *entry = (id, level);
        }
    }
}

/// Rounds of churn as a busy table sees them — a tenth of the rows deleted, inserts while the
/// deleted elements are still linked (VACUUM's sweep done, its repair not yet), the repair, more
/// inserts — leave a graph about as searchable as one built from scratch over the same rows: what a
/// search for each live row's own vector at ef 400 misses, maintained vs rebuilt. (Neither is
/// always zero: on these tight clusters a fresh build lost 0–68 of ~3,700 rows depending on the
/// round, the maintained graph 3–96 — an HNSW graph is approximate, whichever way it was made.)
#[test]
fn churn_leaves_the_graph_as_searchable_as_a_rebuild() {
    let (dims, rounds) = (32, 10);
    let all = clustered(3000 + rounds * 400, dims, 20, 0.05, 5);
    let (mut s, mut entry) = build(&all[..3000 * dims], dims);
    let mut rng = LevelRng::new(11);
    let mut ins = Inserter::new();
    let mut next = 3000;
    for _ in 0..rounds {
        for id in live_nodes(&s) {
            if rng.next_f64() < 0.1 {
                s.deleted.insert(id);
            }
        }
        insert_some(&mut s, &mut entry, &mut ins, &mut rng, &all, &mut next, 200);
        repair_all(&mut s, &mut ins, &mut entry);
        insert_some(&mut s, &mut entry, &mut ins, &mut rng, &all, &mut next, 200);
    }
    let live = live_nodes(&s);
    let maintained = lost_by_own_vector(&mut s, entry);
    let data: Vec<f32> = live.iter().flat_map(|&n| s.vector(n).to_vec()).collect();
    let (mut fresh, fresh_entry) = build(&data, dims);
    let rebuilt = lost_by_own_vector(&mut fresh, fresh_entry);
    assert!(
        maintained <= rebuilt + live.len() / 100,
        "own vector not found: {maintained} of {} rows maintained, {rebuilt} rebuilt",
        live.len()
    );
}
