//! In-memory HNSW graph: the `CREATE INDEX` build path and the reference
//! implementation for tests.
//!
//! Layout: vectors live in one contiguous `Vec<f32>` (`id * dims`). Layer-0
//! adjacency is one flat `Vec<u32>` with a fixed stride of `1 + 2m` slots per
//! node (slot 0 holds the count), so neighbour lists sit next to each other
//! and need no per-node allocation. Upper layers, which only ~1/m of nodes
//! have, are `Vec<Vec<u32>>` per node (index `level - 1`). Ids are `u32` in
//! insertion order.
//!
//! Insertion is Algorithm 1 of the paper: sample a level, descend greedily
//! (ef = 1) to the new node's top layer, then on each layer down to 0 run an
//! `ef_construction` search, pick neighbours with the heuristic (up to `2m`
//! on layer 0, `m` above), and add reverse links; a neighbour whose list
//! overflows is re-pruned with the same heuristic. Searches during the build
//! use a bitset visited set and buffers owned by the graph.

use super::level::{random_level, LevelRng};
use super::order::Key;
use super::search::Searcher;
use super::select::select_into;
use super::visited::BitSet;
use super::{Candidate, GraphView};
use crate::distance::Metric;

/// Build parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HnswParams {
    /// Max links per node on upper layers (`2m` on layer 0).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    pub metric: Metric,
    /// Seed of the level RNG; the same inputs and seed give the same graph.
    pub seed: u64,
}

/// Vectors and adjacency, separate from the builder's scratch state so a
/// search can borrow it while the scratch is mutated.
struct Store {
    dims: usize,
    metric: Metric,
    m: usize,
    vectors: Vec<f32>,
    levels: Vec<u8>,
    /// `len * (1 + 2m)` slots: `[count, n0, n1, ...]` per node.
    layer0: Vec<u32>,
    /// `upper[id][level - 1]`, empty for level-0 nodes.
    upper: Vec<Vec<Vec<u32>>>,
    upper_lists: usize,
}

impl Store {
    fn stride(&self) -> usize {
        1 + 2 * self.m
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.m
        } else {
            self.m
        }
    }

    #[inline]
    fn vector(&self, id: u32) -> &[f32] {
        let start = id as usize * self.dims;
        &self.vectors[start..start + self.dims]
    }

    #[inline]
    fn links(&self, id: u32, level: usize) -> &[u32] {
        if level == 0 {
            let base = id as usize * self.stride();
            let n = self.layer0[base] as usize;
            &self.layer0[base + 1..base + 1 + n]
        } else {
            self.upper[id as usize]
                .get(level - 1)
                .map_or(&[], |v| v.as_slice())
        }
    }

    fn set_links(&mut self, id: u32, level: usize, nodes: impl Iterator<Item = u32>) {
        if level == 0 {
            let (base, stride) = (id as usize * self.stride(), self.stride());
            let slots = &mut self.layer0[base + 1..base + stride];
            let mut n = 0;
            for (slot, node) in slots.iter_mut().zip(nodes) {
                *slot = node;
                n += 1;
            }
            self.layer0[base] = n as u32;
        } else {
            let list = &mut self.upper[id as usize][level - 1];
            list.clear();
            list.extend(nodes.take(self.m));
        }
    }

    /// Appends `node` if the list has room; returns false if full.
    fn try_push_link(&mut self, id: u32, level: usize, node: u32) -> bool {
        if level == 0 {
            let base = id as usize * self.stride();
            let n = self.layer0[base] as usize;
            if n >= 2 * self.m {
                return false;
            }
            self.layer0[base + 1 + n] = node;
            self.layer0[base] += 1;
        } else {
            let list = &mut self.upper[id as usize][level - 1];
            if list.len() >= self.m {
                return false;
            }
            list.push(node);
        }
        true
    }

    #[inline]
    fn dist(&self, a: u32, b: u32) -> f32 {
        self.metric.index_distance(self.vector(a), self.vector(b))
    }

    fn push(&mut self, v: &[f32], level: usize) -> u32 {
        let id = u32::try_from(self.levels.len()).expect("more than u32::MAX nodes");
        self.vectors.extend_from_slice(v);
        self.levels.push(level as u8);
        let stride = self.stride();
        self.layer0.resize(self.layer0.len() + stride, 0);
        self.upper
            .push((0..level).map(|_| Vec::with_capacity(self.m)).collect());
        self.upper_lists += level;
        id
    }
}

/// Sorts the link candidates of `owner` ascending by distance, breaking
/// exact ties by a hash of `(owner, node)`.
///
/// Tie order matters for duplicate vectors: with ties broken by id, every
/// list would keep the same lowest ids and later duplicates would lose all
/// incoming links (unreachable nodes). A per-owner pseudo-random order makes
/// the links among duplicates a random graph, which is connected w.h.p.
fn sort_for(owner: u32, v: &mut [Candidate<u32>]) {
    let mix = |node: u32| {
        let mut z = (u64::from(owner) << 32 | u64::from(node)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z ^= z >> 29;
        z.wrapping_mul(0xbf58_476d_1ce4_e5b9)
    };
    v.sort_unstable_by(|a, b| {
        let (ka, kb) = (Key::new(a.distance, ()), Key::new(b.distance, ()));
        ka.d.total_cmp(&kb.d)
            .then_with(|| mix(a.node).cmp(&mix(b.node)))
    });
}

/// `GraphView` over the store (also what `&InMemoryGraph` delegates to).
#[derive(Clone, Copy)]
struct StoreView<'a>(&'a Store);

impl GraphView for StoreView<'_> {
    type Node = u32;
    #[inline]
    fn distance_to(&mut self, query: &[f32], n: u32) -> f32 {
        PROF[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.metric.index_distance(query, self.0.vector(n))
    }
    #[inline]
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        out.extend_from_slice(self.0.links(n, level));
    }
}

/// Reusable buffers of the builder.
struct Scratch {
    searcher: Searcher<u32, BitSet>,
    found: Vec<Candidate<u32>>,
    entry: Vec<Candidate<u32>>,
    chosen: Vec<Candidate<u32>>,
    pruned: Vec<Candidate<u32>>,
    cands: Vec<Candidate<u32>>,
    rev_chosen: Vec<Candidate<u32>>,
}

/// Vectors stored contiguously (one Vec<f32>), neighbours as Vec<Vec<u32>>
/// per level; node ids u32 in insertion order.
pub struct InMemoryGraph {
    store: Store,
    params: HnswParams,
    entry: Option<(u32, usize)>,
    rng: LevelRng,
    scratch: Scratch,
}

impl InMemoryGraph {
    pub fn new(dims: usize, params: HnswParams) -> Self {
        let m = params.m.max(2);
        InMemoryGraph {
            store: Store {
                dims,
                metric: params.metric,
                m,
                vectors: Vec::new(),
                levels: Vec::new(),
                layer0: Vec::new(),
                upper: Vec::new(),
                upper_lists: 0,
            },
            params: HnswParams { m, ..params },
            entry: None,
            rng: LevelRng::new(params.seed),
            scratch: Scratch {
                searcher: Searcher::new(BitSet::default()),
                found: Vec::new(),
                entry: Vec::new(),
                chosen: Vec::new(),
                pruned: Vec::new(),
                cands: Vec::new(),
                rev_chosen: Vec::new(),
            },
        }
    }

    /// The parameters in use (`m` raised to at least 2).
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// HNSW insert (Algorithm 1); returns the new node's id.
    pub fn insert(&mut self, v: &[f32]) -> u32 {
        assert_eq!(v.len(), self.store.dims, "vector has wrong dimensions");
        let level = random_level(&mut self.rng, self.params.m);
        let id = self.store.push(v, level);
        let Some((ep, ep_level)) = self.entry else {
            self.entry = Some((id, level));
            return id;
        };
        let s = &mut self.scratch;
        let ef = self.params.ef_construction.max(1);

        let start = Candidate {
            distance: self.store.metric.index_distance(v, self.store.vector(ep)),
            node: ep,
        };
        // Greedy descent (ef = 1) through the layers above the new node's.
        let mut cur = start;
        let mut view = StoreView(&self.store);
        for lc in (level + 1..=ep_level).rev() {
            s.searcher
                .layer(&mut view, v, &[cur], 1, lc, &mut s.found, &mut |_, _| {});
            cur = s.found[0];
        }
        let start = cur;
        s.entry.clear();
        s.entry.push(start);

        for lc in (0..=level.min(ep_level)).rev() {
            let mut view = StoreView(&self.store);
            s.searcher
                .layer(&mut view, v, &s.entry, ef, lc, &mut s.found, &mut |_, _| {});
            let store = &self.store;
            select_into(
                &s.found,
                store.cap(lc),
                |a, b| { PROF[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed); store.dist(a, b) },
                &mut s.chosen,
                &mut s.pruned,
            );
            self.store
                .set_links(id, lc, s.chosen.iter().map(|c| c.node));
            for i in 0..s.chosen.len() {
                let c = s.chosen[i];
                Self::add_reverse_link(&mut self.store, s, c.node, id, c.distance, lc);
            }
            std::mem::swap(&mut s.entry, &mut s.found);
        }
        if level > ep_level {
            self.entry = Some((id, level));
        }
        id
    }

    /// Links `n -> new` on `level`, re-pruning `n`'s list if it is full.
    fn add_reverse_link(
        store: &mut Store,
        s: &mut Scratch,
        n: u32,
        new: u32,
        d: f32,
        level: usize,
    ) {
        PROF[4].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if store.try_push_link(n, level, new) {
            return;
        }
        PROF[5].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        s.cands.clear();
        s.cands
            .extend(store.links(n, level).iter().map(|&x| Candidate {
                distance: { PROF[2].fetch_add(1, std::sync::atomic::Ordering::Relaxed); store.dist(n, x) },
                node: x,
            }));
        s.cands.push(Candidate {
            distance: d,
            node: new,
        });
        sort_for(n, &mut s.cands);
        let cap = store.cap(level);
        select_into(
            &s.cands,
            cap,
            |a, b| { PROF[3].fetch_add(1, std::sync::atomic::Ordering::Relaxed); store.dist(a, b) },
            &mut s.rev_chosen,
            &mut s.pruned,
        );
        store.set_links(n, level, s.rev_chosen.iter().map(|c| c.node));
    }

    pub fn len(&self) -> usize {
        self.store.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.levels.is_empty()
    }

    pub fn dims(&self) -> usize {
        self.store.dims
    }

    pub fn vector(&self, id: u32) -> &[f32] {
        self.store.vector(id)
    }

    pub fn level(&self, id: u32) -> usize {
        usize::from(self.store.levels[id as usize])
    }

    pub fn neighbors_at(&self, id: u32, level: usize) -> &[u32] {
        self.store.links(id, level)
    }

    /// `(node, level)` of the entry point (a node of the highest level).
    pub fn entry_point(&self) -> Option<(u32, usize)> {
        self.entry
    }

    /// Approximate heap bytes used (vectors + adjacency), so the caller can
    /// enforce maintenance_work_mem. Counts used lengths, not spare capacity.
    pub fn memory_bytes(&self) -> usize {
        let s = &self.store;
        s.vectors.len() * 4
            + s.levels.len()
            + s.layer0.len() * 4
            + s.upper.len() * std::mem::size_of::<Vec<Vec<u32>>>()
            + s.upper_lists * (std::mem::size_of::<Vec<u32>>() + s.m * 4)
    }

    /// Estimated bytes one more element adds on average: its vector, its
    /// layer-0 slots, and the expected share of upper-layer lists (a node
    /// has `1/(m-1)` upper levels on average).
    pub fn bytes_per_element(dims: usize, m: usize) -> usize {
        let m = m.max(2);
        let base = dims * 4 + 1 + (1 + 2 * m) * 4 + std::mem::size_of::<Vec<Vec<u32>>>();
        let upper_list = std::mem::size_of::<Vec<u32>>() + m * 4;
        base + upper_list.div_ceil(m - 1)
    }

    /// k nearest neighbours of `query` (search with `max(ef, k)`), ascending.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<Candidate<u32>> {
        let Some((ep, ep_level)) = self.entry else {
            return Vec::new();
        };
        assert_eq!(query.len(), self.store.dims, "query has wrong dimensions");
        let mut searcher = Searcher::new(BitSet::with_capacity(self.len()));
        let mut out = Vec::with_capacity(ef.max(k));
        searcher.full(
            &mut StoreView(&self.store),
            query,
            ep,
            ep_level,
            ef.max(k),
            &mut out,
        );
        out.truncate(k);
        out
    }
}

impl GraphView for &InMemoryGraph {
    type Node = u32;
    #[inline]
    fn distance_to(&mut self, query: &[f32], n: u32) -> f32 {
        StoreView(&self.store).distance_to(query, n)
    }
    #[inline]
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        StoreView(&self.store).neighbors(n, level, out)
    }
}

pub static PROF: [std::sync::atomic::AtomicU64; 6] = [const { std::sync::atomic::AtomicU64::new(0) }; 6];
