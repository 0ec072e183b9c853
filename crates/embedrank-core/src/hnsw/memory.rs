//! In-memory HNSW graph: the `CREATE INDEX` build path and the reference
//! implementation for tests.
//!
//! Layout: vectors live in one contiguous `Vec<f32>` (`id * dims`; a graph of variable-length
//! vectors — packed sparse ones — keeps where each starts, [`InMemoryGraph::new_variable`]). Layer-0
//! adjacency is one flat `Vec<u32>` with a fixed stride of `1 + 2m` slots per
//! node (slot 0 holds the count), so neighbour lists sit next to each other
//! and need no per-node allocation. Upper layers, which only ~1/m of nodes
//! have, are `Vec<Vec<u32>>` per node (index `level - 1`). Ids are `u32` in
//! insertion order.
//!
//! Insertion and re-pruning are the shared algorithm of [`super::insert`] ([`Inserter`]), run over
//! [`Store`] as its [`GraphStore`]; searches during the build use a bitset visited set. Every
//! adjacency entry also carries its distance to the list's owner and the heuristic's decision
//! ([`Flag`]), as pgvector's in-memory build does, so re-pruning a full list (what dominates the
//! build) needs no owner distances and reuses the recorded decisions.
//!
//! A build may link on a half-precision copy of the vectors ([`InMemoryGraph::make_half_copy`], see
//! [`super::half_copy`]): while it is on, the distances linking decides by come from the copy (its
//! occasional self-check and the replacement of its distances read the float4 vectors); searches
//! through `&InMemoryGraph` never read it.

use super::half_copy::{Check, CopyMarks, HalfCopy};
use super::insert::{reorder_undecided, Flag, GraphStore, Inserter, Link};
use super::level::{random_level, LevelRng};
use super::prefetch;
use super::search::Searcher;
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
    /// Levels are drawn at random, then clamped to `min_level..=max_level`. A storage layer caps
    /// `max_level` where a taller neighbour list would not fit its pages; `min_level` above 0 forces
    /// tall elements (tests of that limit). [`HnswParams::levels`] gives the defaults.
    pub min_level: usize,
    pub max_level: usize,
}

impl HnswParams {
    /// Parameters with the default level range (`0..=MAX_LEVEL`).
    pub fn new(m: usize, ef_construction: usize, metric: Metric, seed: u64) -> Self {
        HnswParams {
            m,
            ef_construction,
            metric,
            seed,
            min_level: 0,
            max_level: super::MAX_LEVEL,
        }
    }

    /// The same parameters with levels clamped to `min..=max`.
    pub fn levels(self, min: usize, max: usize) -> Self {
        HnswParams {
            min_level: min.min(max),
            max_level: max,
            ..self
        }
    }
}

/// Vectors and adjacency, separate from the builder's scratch state so a
/// search can borrow it while the scratch is mutated.
pub(super) struct Store {
    /// Values per vector; 0 when they vary (then `starts` says where each is).
    pub(super) dims: usize,
    /// Variable-length vectors only: vector `id` is `vectors[starts[id]..starts[id + 1]]`.
    starts: Vec<usize>,
    /// Variable-length vectors only: the most values one may have.
    max_len: usize,
    pub(super) metric: Metric,
    m: usize,
    /// Empty while the vectors are set aside ([`super::aside`]).
    pub(super) vectors: Vec<f32>,
    pub(super) levels: Vec<u8>,
    /// `len * (1 + 2m)` slots: `[count, n0, n1, ...]` per node.
    layer0: Vec<u32>,
    /// Per layer-0 slot (stride `2m`, no count slot): distance to the owner.
    layer0_dist: Vec<f32>,
    /// Per layer-0 slot: the heuristic's [`Flag`].
    layer0_flag: Vec<Flag>,
    /// `upper[id][level - 1]`, empty for level-0 nodes.
    upper: Vec<Vec<Vec<u32>>>,
    /// Parallel to `upper`: distances to the owner and flags.
    upper_meta: Vec<Vec<(Vec<f32>, Vec<Flag>)>>,
    upper_lists: usize,
    /// The half-precision copy linking reads while it is on ([`InMemoryGraph::make_half_copy`]).
    pub(super) halves: Option<HalfCopy>,
    /// Which nodes' lists hold the copy's distances.
    pub(super) marks: CopyMarks,
    /// Whether the float4 vectors are set aside: linking reads only the copy ([`super::aside`]).
    pub(super) aside: bool,
    /// Serial linking: whether the insert under way reads the copy, and its node.
    use_copy: bool,
    current: u32,
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

    /// The copy, when an insert reads it (`use_copy`, decided at the insert's start: see
    /// [`Store::link_query`]).
    #[inline]
    pub(super) fn copy_if(&self, use_copy: bool) -> Option<&HalfCopy> {
        if use_copy {
            self.halves.as_ref()
        } else {
            None
        }
    }

    /// Whether linking must pause: the vectors are set aside and the copy's check switched it off
    /// (nothing but the float4 vectors may link the rest, [`InMemoryGraph::restore_vectors`]).
    #[inline]
    pub(super) fn copy_stepped_aside(&self) -> bool {
        self.aside && self.halves.as_ref().is_some_and(|h| !h.on())
    }

    /// The query an insert of node `id` searches with, into `out`, and whether the insert reads the
    /// half-precision copy: while the copy is on, `id`'s offsets in it; else its float4 vector. The
    /// answer holds for the whole insert, even if the copy's check switches it off meanwhile.
    /// With the vectors set aside the copy is the only one: an insert that starts after the check
    /// switched it off (in a parallel build, before the workers stop) reads it too.
    pub(super) fn link_query(&self, id: u32, out: &mut Vec<f32>) -> bool {
        match self.halves.as_ref().filter(|h| h.on() || self.aside) {
            Some(h) => {
                h.offsets_into(id, out);
                true
            }
            None => {
                out.clear();
                out.extend_from_slice(self.vector(id));
                false
            }
        }
    }

    /// Distance from `query` to node `n`: from `copy` (the query is then offsets, see
    /// [`Store::link_query`]), else exact.
    #[inline]
    pub(super) fn distance_to_vector(&self, copy: Option<&HalfCopy>, query: &[f32], n: u32) -> f32 {
        match copy {
            Some(h) => h.distance(query, n),
            None => self.metric.index_distance(query, self.vector(n)),
        }
    }

    /// Distances from `query` to `nodes` ([`GraphView::distances`]), as
    /// [`Store::distance_to_vector`] gives them: each vector is asked of memory a few nodes before
    /// it is read.
    pub(super) fn distances_to_vectors(
        &self,
        copy: Option<&HalfCopy>,
        query: &[f32],
        nodes: &[u32],
        out: &mut Vec<f32>,
    ) {
        out.clear();
        match copy {
            Some(h) => prefetch::ahead(
                nodes,
                |n| prefetch::prefetch(h.half(n)),
                |n| out.push(h.distance(query, n)),
            ),
            None => prefetch::ahead(
                nodes,
                |n| prefetch::prefetch(self.vector(n)),
                |n| out.push(self.metric.index_distance(query, self.vector(n))),
            ),
        }
    }

    /// [`GraphStore::check_found`] for an insert of node `current` that read `copy`: now and then
    /// the copy compares the distances it gave what the search `found` with the exact ones, and
    /// switches itself off (for inserts starting later) when too coarse.
    pub(super) fn check_found(
        &self,
        copy: Option<&HalfCopy>,
        current: u32,
        found: &[Candidate<u32>],
    ) {
        let Some(h) = copy else {
            return;
        };
        if !h.due() {
            return;
        }
        let mut check = Check::default();
        if self.aside {
            for c in found {
                check.add_bounded(c.distance, h.error_bound(current, c.node, c.distance));
            }
            h.judge(check);
            return;
        }
        let query = self.vector(current);
        for c in found {
            check.add(
                c.distance,
                self.metric.index_distance(query, self.vector(c.node)),
            );
        }
        h.judge(check);
    }

    /// Before an insert that reads the float4 vectors uses `n`'s lists: when they hold distances from
    /// the half-precision copy (written before its check switched it off), replaces them with exact
    /// ones, reorders each list and forgets its decisions (see [`super::half_copy`]).
    ///
    /// # Safety
    /// As [`RawLists::write`] for `n`: no other thread reads or writes its lists meanwhile.
    pub(super) unsafe fn make_lists_exact(&self, raw: RawLists, n: u32) {
        if !self.marks.take(n) {
            return;
        }
        let v = self.vector(n);
        let mut links = Vec::new();
        for level in 0..=usize::from(self.levels[n as usize]) {
            links.clear();
            raw.read(n, level, &mut links);
            for l in &mut links {
                l.distance = self.metric.index_distance(v, self.vector(l.node));
            }
            reorder_undecided(n, &mut links);
            raw.write(n, level, links.iter().copied());
        }
    }

    /// Marks `n`'s lists as holding distances from `copy`, when the writing insert read it.
    #[inline]
    pub(super) fn mark_written(&self, copy: Option<&HalfCopy>, n: u32) {
        if copy.is_some() {
            self.marks.mark(n);
        }
    }

    /// Distance between two stored nodes: from `copy`, else exact.
    #[inline]
    pub(super) fn distance_between_nodes(&self, copy: Option<&HalfCopy>, a: u32, b: u32) -> f32 {
        match copy {
            Some(h) => h.distance_between(a, b),
            None => self.metric.index_distance(self.vector(a), self.vector(b)),
        }
    }

    /// [`GraphView::prefetch_links`]: asks for a layer-0 list (ids, and the distances and flags a
    /// re-prune reads with them); upper-layer lists are few and stay in cache.
    #[inline]
    /// Addresses only (`Vec::as_ptr` makes no reference to the elements): in a parallel build other
    /// threads write these lists meanwhile, through [`RawLists`].
    pub(super) fn prefetch_links(&self, n: u32, level: usize) {
        if level == 0 && (n as usize) < self.levels.len() {
            let (n, m2) = (n as usize, 2 * self.m);
            let ids = self.layer0.as_ptr().wrapping_add(n * self.stride());
            prefetch::prefetch_bytes(ids as *const u8, self.stride() * 4);
            let dist = self.layer0_dist.as_ptr().wrapping_add(n * m2);
            prefetch::prefetch_bytes(dist as *const u8, m2 * 4);
            let flag = self.layer0_flag.as_ptr().wrapping_add(n * m2);
            prefetch::prefetch_bytes(flag as *const u8, m2);
        }
    }

    /// [`GraphStore::prefetch_vector`]: asks for the vector distances read, in `copy` if given.
    #[inline]
    pub(super) fn prefetch_vector(&self, copy: Option<&HalfCopy>, n: u32) {
        match copy {
            Some(h) => prefetch::prefetch(h.half(n)),
            None => prefetch::prefetch(self.vector(n)),
        }
    }

    /// Most links a list on `level` holds.
    pub(super) fn level_capacity(&self, level: usize) -> usize {
        self.cap(level)
    }

    #[inline]
    pub(super) fn vector(&self, id: u32) -> &[f32] {
        if self.dims == 0 {
            let id = id as usize;
            return &self.vectors[self.starts[id]..self.starts[id + 1]];
        }
        let start = id as usize * self.dims;
        &self.vectors[start..start + self.dims]
    }

    #[inline]
    fn link_ids(&self, id: u32, level: usize) -> &[u32] {
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

    /// Raw access to the adjacency arrays, for this call's exclusive borrow.
    fn raw(&mut self) -> RawLists {
        RawLists {
            m: self.m,
            layer0: self.layer0.as_mut_ptr(),
            dist: self.layer0_dist.as_mut_ptr(),
            flag: self.layer0_flag.as_mut_ptr(),
            upper: self.upper.as_mut_ptr(),
            upper_meta: self.upper_meta.as_mut_ptr(),
        }
    }

    fn write_links(&mut self, id: u32, level: usize, links: impl Iterator<Item = Link<u32>>) {
        // SAFETY: `raw` borrows the store exclusively for this call; `id` is a stored node.
        unsafe { self.raw().write(id, level, links) }
    }

    /// Forgets the nodes from `len` on (none of which any list links to: pending nodes).
    pub(super) fn truncate(&mut self, len: usize) {
        if len >= self.levels.len() {
            return;
        }
        let stride = self.stride();
        let m2 = 2 * self.m;
        if self.dims == 0 {
            self.starts.truncate(len + 1);
            self.vectors.truncate(self.starts[len]);
        } else if !self.aside {
            self.vectors.truncate(len * self.dims);
        }
        if let Some(h) = &mut self.halves {
            h.truncate(len);
        }
        self.marks.truncate(len);
        self.upper_lists -= self.levels[len..]
            .iter()
            .map(|&l| usize::from(l))
            .sum::<usize>();
        self.levels.truncate(len);
        self.layer0.truncate(len * stride);
        self.layer0_dist.truncate(len * m2);
        self.layer0_flag.truncate(len * m2);
        self.upper.truncate(len);
        self.upper_meta.truncate(len);
    }

    /// Stores `v` (with the vectors set aside: only in the copy, where it must fit,
    /// [`InMemoryGraph::push_aside`]) as a node of `level`.
    pub(super) fn push(&mut self, v: &[f32], level: usize) -> u32 {
        let id = u32::try_from(self.levels.len()).expect("more than u32::MAX nodes");
        self.marks.push();
        if self.aside {
            self.halves
                .as_mut()
                .expect("a copy while the vectors are set aside")
                .push_bounded(v);
        } else {
            self.vectors.extend_from_slice(v);
            if let Some(h) = &mut self.halves {
                if !h.push(v) {
                    self.halves = None;
                }
            }
        }
        if self.dims == 0 {
            self.starts.push(self.vectors.len());
        }
        self.levels.push(level as u8);
        let stride = self.stride();
        self.layer0.resize(self.layer0.len() + stride, 0);
        self.layer0_dist
            .resize(self.layer0_dist.len() + 2 * self.m, 0.0);
        self.layer0_flag
            .resize(self.layer0_flag.len() + 2 * self.m, Flag::Unknown);
        self.upper
            .push((0..level).map(|_| Vec::with_capacity(self.m)).collect());
        self.upper_meta.push(
            (0..level)
                .map(|_| (Vec::with_capacity(self.m), Vec::with_capacity(self.m)))
                .collect(),
        );
        self.upper_lists += level;
        id
    }
}

/// Raw pointers into the adjacency arrays of a [`Store`] whose element count does not change while
/// they are in use: one implementation of reading and writing a node's list, for the serial store
/// (built from `&mut Store` per call) and for the parallel build, where threads share it and take the
/// node's lock stripe before touching its lists (see [`super::parallel`]).
#[derive(Clone, Copy)]
pub(super) struct RawLists {
    m: usize,
    layer0: *mut u32,
    dist: *mut f32,
    flag: *mut Flag,
    upper: *mut Vec<Vec<u32>>,
    upper_meta: *mut Vec<(Vec<f32>, Vec<Flag>)>,
}

// SAFETY: the pointers are only dereferenced for one node at a time, by the holder of that node's
// lock (or of the whole store).
unsafe impl Send for RawLists {}
unsafe impl Sync for RawLists {}

impl RawLists {
    /// Appends `id`'s links on `level`, with distances and flags, to `out`.
    ///
    /// # Safety
    /// `id` is a node of the store, and no other thread writes its lists meanwhile.
    pub(super) unsafe fn read(self, id: u32, level: usize, out: &mut Vec<Link<u32>>) {
        let m2 = 2 * self.m;
        if level == 0 {
            let base = id as usize * (1 + m2);
            let n = *self.layer0.add(base) as usize;
            let mbase = id as usize * m2;
            for i in 0..n {
                out.push(Link {
                    node: *self.layer0.add(base + 1 + i),
                    distance: *self.dist.add(mbase + i),
                    flag: *self.flag.add(mbase + i),
                });
            }
        } else {
            let upper: &Vec<Vec<u32>> = &*self.upper.add(id as usize);
            let Some(list) = upper.get(level - 1) else {
                return;
            };
            let meta: &Vec<(Vec<f32>, Vec<Flag>)> = &*self.upper_meta.add(id as usize);
            let (dists, flags) = &meta[level - 1];
            out.extend(
                list.iter()
                    .zip(dists)
                    .zip(flags)
                    .map(|((&node, &distance), &flag)| Link {
                        node,
                        distance,
                        flag,
                    }),
            );
        }
    }

    /// Appends the ids of `id`'s links on `level` to `out`.
    ///
    /// # Safety
    /// As [`RawLists::read`].
    pub(super) unsafe fn ids(self, id: u32, level: usize, out: &mut Vec<u32>) {
        if level == 0 {
            let base = id as usize * (1 + 2 * self.m);
            let n = *self.layer0.add(base) as usize;
            out.extend_from_slice(std::slice::from_raw_parts(self.layer0.add(base + 1), n));
        } else {
            let upper: &Vec<Vec<u32>> = &*self.upper.add(id as usize);
            if let Some(list) = upper.get(level - 1) {
                out.extend_from_slice(list);
            }
        }
    }

    /// Replaces `id`'s list on `level` with `links` (at most the level's capacity are kept).
    ///
    /// # Safety
    /// `id` is a node of the store, and no other thread reads or writes its lists meanwhile.
    pub(super) unsafe fn write(
        self,
        id: u32,
        level: usize,
        links: impl Iterator<Item = Link<u32>>,
    ) {
        let m2 = 2 * self.m;
        if level == 0 {
            let base = id as usize * (1 + m2);
            let mbase = id as usize * m2;
            let mut n = 0;
            for l in links.take(m2) {
                *self.layer0.add(base + 1 + n) = l.node;
                *self.dist.add(mbase + n) = l.distance;
                *self.flag.add(mbase + n) = l.flag;
                n += 1;
            }
            *self.layer0.add(base) = n as u32;
        } else {
            let upper: &mut Vec<Vec<u32>> = &mut *self.upper.add(id as usize);
            let meta: &mut Vec<(Vec<f32>, Vec<Flag>)> = &mut *self.upper_meta.add(id as usize);
            let list = &mut upper[level - 1];
            let (dists, flags) = &mut meta[level - 1];
            list.clear();
            dists.clear();
            flags.clear();
            // The lists were allocated with capacity m, so these pushes never reallocate.
            for l in links.take(self.m) {
                list.push(l.node);
                dists.push(l.distance);
                flags.push(l.flag);
            }
        }
    }
}

/// The store as serial linking reads it: from the copy when the insert under way does.
impl GraphView for Store {
    type Node = u32;
    #[inline]
    fn distance_to(&mut self, query: &[f32], n: u32) -> f32 {
        self.distance_to_vector(self.copy_if(self.use_copy), query, n)
    }
    #[inline]
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        out.extend_from_slice(self.link_ids(n, level));
    }
    fn distances(&mut self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        self.distances_to_vectors(self.copy_if(self.use_copy), query, nodes, out)
    }
    fn prefetch_links(&mut self, n: u32, level: usize) {
        Store::prefetch_links(self, n, level)
    }
}

/// Read-only `GraphView` over the store, for searches through `&InMemoryGraph`: exact distances
/// (never the half-precision copy, which only linking reads).
#[derive(Clone, Copy)]
struct StoreView<'a>(&'a Store);

impl GraphView for StoreView<'_> {
    type Node = u32;
    #[inline]
    fn distance_to(&mut self, query: &[f32], n: u32) -> f32 {
        self.0.distance_to_vector(None, query, n)
    }
    #[inline]
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        out.extend_from_slice(self.0.link_ids(n, level));
    }
    fn distances(&mut self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        self.0.distances_to_vectors(None, query, nodes, out)
    }
    fn prefetch_links(&mut self, n: u32, level: usize) {
        self.0.prefetch_links(n, level)
    }
}

impl GraphStore for Store {
    const KEEPS_DISTANCES: bool = true;
    #[inline]
    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        self.distance_between_nodes(self.copy_if(self.use_copy), a, b)
    }
    fn links(&mut self, n: u32, level: usize, out: &mut Vec<Link<u32>>) {
        let raw = self.raw();
        // SAFETY: `raw` borrows the store exclusively for this call; `n` is a stored node.
        unsafe {
            if !self.use_copy {
                self.make_lists_exact(raw, n);
            }
            raw.read(n, level, out)
        }
    }
    fn set_links(&mut self, n: u32, level: usize, links: &[Link<u32>]) {
        self.mark_written(self.copy_if(self.use_copy), n);
        self.write_links(n, level, links.iter().copied());
    }
    fn linkable(&mut self, _n: u32) -> bool {
        true
    }
    fn vector_of(&mut self, n: u32) -> Vec<f32> {
        self.vector(n).to_vec()
    }
    fn capacity(&self, level: usize) -> usize {
        self.cap(level)
    }
    fn check_found(&mut self, found: &[Candidate<u32>]) {
        Store::check_found(self, self.copy_if(self.use_copy), self.current, found)
    }
    fn prefetch_vector(&mut self, n: u32) {
        Store::prefetch_vector(self, self.copy_if(self.use_copy), n)
    }
}

/// Vectors stored contiguously (one Vec<f32>), neighbours as Vec<Vec<u32>>
/// per level; node ids u32 in insertion order.
pub struct InMemoryGraph {
    pub(super) store: Store,
    params: HnswParams,
    entry: Option<(u32, usize)>,
    rng: LevelRng,
    inserter: Inserter<u32, BitSet>,
    /// Nodes `linked..len()` are stored but not yet linked into the graph ([`InMemoryGraph::push`]).
    pub(super) linked: usize,
    /// The query of the insert under way ([`Store::link_query`]).
    query: Vec<f32>,
}

impl InMemoryGraph {
    pub fn new(dims: usize, params: HnswParams) -> Self {
        assert!(dims > 0, "vectors need dimensions");
        Self::with_layout(dims, 0, params)
    }

    /// A graph of vectors of up to `max_len` values each, their lengths varying (packed sparse
    /// vectors, under a `Sparse*` metric). [`InMemoryGraph::dims`] is then 0.
    pub fn new_variable(max_len: usize, params: HnswParams) -> Self {
        Self::with_layout(0, max_len.max(1), params)
    }

    fn with_layout(dims: usize, max_len: usize, params: HnswParams) -> Self {
        let m = params.m.max(2);
        InMemoryGraph {
            store: Store {
                dims,
                starts: if dims == 0 { vec![0] } else { Vec::new() },
                max_len,
                metric: params.metric,
                m,
                vectors: Vec::new(),
                levels: Vec::new(),
                layer0: Vec::new(),
                layer0_dist: Vec::new(),
                layer0_flag: Vec::new(),
                upper: Vec::new(),
                upper_meta: Vec::new(),
                upper_lists: 0,
                halves: None,
                marks: CopyMarks::default(),
                aside: false,
                use_copy: false,
                current: 0,
            },
            query: Vec::new(),
            params: HnswParams { m, ..params },
            entry: None,
            rng: LevelRng::new(params.seed),
            inserter: Inserter::with_visited(BitSet::default()),
            linked: 0,
        }
    }

    /// The parameters in use (`m` raised to at least 2).
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// HNSW insert (Algorithm 1, see [`super::insert`]); returns the new node's id. The same as
    /// [`InMemoryGraph::push`] followed by [`InMemoryGraph::link_pending`] with one thread.
    pub fn insert(&mut self, v: &[f32]) -> u32 {
        let id = self.push(v);
        self.link_serially();
        id
    }

    /// Stores `v` as a new node (its level drawn now, in id order) without linking it: searches do
    /// not reach it until [`InMemoryGraph::link_pending`] runs. A build stores every vector first, so
    /// that threads can then link them in parallel.
    pub fn push(&mut self, v: &[f32]) -> u32 {
        let s = &self.store;
        assert!(!s.aside, "the vectors are set aside: push_aside");
        if s.dims == 0 {
            assert!(
                v.len() <= s.max_len,
                "vector is longer than the graph's limit"
            );
        } else {
            assert_eq!(v.len(), s.dims, "vector has wrong dimensions");
        }
        let level = self.next_level();
        self.store.push(v, level)
    }

    /// The level of the next node stored (drawn in id order).
    pub(super) fn next_level(&mut self) -> usize {
        random_level(&mut self.rng, self.params.m)
            .clamp(self.params.min_level, self.params.max_level)
    }

    /// How many stored nodes are not linked yet.
    pub fn pending(&self) -> usize {
        self.len() - self.linked
    }

    /// Links every stored node not linked yet, in id order: serially on this thread when `threads`
    /// is at most 1 (the graph is then exactly the one `insert` builds), else on `threads` worker
    /// threads (see [`super::parallel`]). `spawn` runs the closure that starts the workers (the
    /// extension blocks signals around it); `poll(linked)` is called on this thread about every
    /// 20 ms while workers run (every 1,024 nodes when linking serially), and may panic to stop the
    /// linking (workers finish their current node and the panic goes on).
    ///
    /// Returns early, nodes still pending, only when the vectors are set aside and the copy's
    /// check switched it off: [`InMemoryGraph::restore_vectors`], then call it again.
    pub fn link_pending(
        &mut self,
        threads: usize,
        spawn: &dyn Fn(&mut dyn FnMut()),
        poll: &mut dyn FnMut(usize),
    ) {
        assert!(
            !self.store.aside || self.store.halves.is_some(),
            "the vectors are set aside without their copy: restore_vectors first"
        );
        // The first node needs no links; a few nodes are not worth threads.
        if self.linked < self.len() && self.entry.is_none() {
            self.link_one(self.linked as u32);
        }
        if threads <= 1 || self.pending() < 2 * threads {
            let start = self.linked;
            while self.linked < self.len() && !self.store.copy_stepped_aside() {
                self.link_one(self.linked as u32);
                if (self.linked - start).is_multiple_of(1024) {
                    poll(self.linked - start);
                }
            }
            return;
        }
        let entry = self.entry.expect("the first node is linked");
        let (from, to) = (self.linked as u32, self.len() as u32);
        let ef = self.params.ef_construction;
        let raw = self.store.raw();
        let store = &self.store;
        let (new_entry, linked) =
            super::parallel::link(store, raw, entry, from..to, ef, threads, spawn, poll);
        self.entry = Some(new_entry);
        self.linked = linked as usize;
    }

    /// Links the pending nodes on this thread.
    fn link_serially(&mut self) {
        while self.linked < self.len() {
            self.link_one(self.linked as u32);
        }
    }

    /// Links node `id` (the next pending one).
    fn link_one(&mut self, id: u32) {
        debug_assert_eq!(id as usize, self.linked);
        self.linked += 1;
        let level = usize::from(self.store.levels[id as usize]);
        let Some((ep, ep_level)) = self.entry else {
            self.entry = Some((id, level));
            return;
        };
        self.store.use_copy = self.store.link_query(id, &mut self.query);
        self.store.current = id;
        self.inserter.plan(
            &mut self.store,
            &self.query,
            level,
            (ep, ep_level),
            self.params.ef_construction,
        );
        for (l, list) in self.inserter.planned().iter().enumerate() {
            self.store.set_links(id, l, list);
        }
        self.inserter.link_back(&mut self.store, id);
        self.store.use_copy = false;
        if level > ep_level {
            self.entry = Some((id, level));
        }
    }

    pub fn len(&self) -> usize {
        self.store.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.levels.is_empty()
    }

    /// Values per vector (0 for a graph of variable-length vectors).
    pub fn dims(&self) -> usize {
        self.store.dims
    }

    /// Values a vector holds on average: `dims`, or for variable-length vectors the mean so far
    /// (a quarter of the limit while the graph is empty), for memory estimates.
    pub fn floats_per_element(&self) -> usize {
        let s = &self.store;
        if s.dims != 0 {
            s.dims
        } else if self.is_empty() {
            s.max_len.div_ceil(4)
        } else {
            s.vectors.len().div_ceil(self.len()).max(1)
        }
    }

    pub fn vector(&self, id: u32) -> &[f32] {
        assert!(!self.store.aside, "the vectors are set aside");
        self.store.vector(id)
    }

    pub fn level(&self, id: u32) -> usize {
        usize::from(self.store.levels[id as usize])
    }

    pub fn neighbors_at(&self, id: u32, level: usize) -> &[u32] {
        self.store.link_ids(id, level)
    }

    /// `(node, level)` of the entry point (a node of the highest level).
    pub fn entry_point(&self) -> Option<(u32, usize)> {
        self.entry
    }

    /// Approximate heap bytes held (vectors + adjacency), so the caller can
    /// enforce maintenance_work_mem. Counts capacity, not length: a `Vec`
    /// that doubled holds up to twice what it uses.
    pub fn memory_bytes(&self) -> usize {
        let s = &self.store;
        s.vectors.capacity() * 4
            + s.starts.capacity() * std::mem::size_of::<usize>()
            + s.levels.capacity()
            + s.layer0.capacity() * 4
            + s.layer0_dist.capacity() * 4
            + s.layer0_flag.capacity()
            + s.upper.capacity() * std::mem::size_of::<Vec<Vec<u32>>>()
            + s.upper_meta.capacity() * std::mem::size_of::<Vec<(Vec<f32>, Vec<Flag>)>>()
            + s.upper_lists * Self::upper_list_bytes(s.m)
            + s.halves.as_ref().map_or(0, HalfCopy::bytes)
            + s.marks.bytes()
    }

    /// How many elements fit without growing the per-element arrays.
    /// For variable-length vectors: as many as `levels` has room for while the spare vector space
    /// holds one more of the longest, else none more.
    pub fn capacity(&self) -> usize {
        let s = &self.store;
        if s.dims == 0 {
            let room = s.vectors.capacity() - s.vectors.len() >= s.max_len
                && s.starts.capacity() > s.starts.len();
            return if room {
                s.levels.capacity()
            } else {
                self.len()
            };
        }
        let vectors = match (&s.halves, s.aside) {
            (Some(h), true) => h.capacity(),
            _ => s.vectors.capacity() / s.dims,
        };
        s.levels.capacity().min(vectors)
    }

    /// Makes room for exactly `additional` more elements in the per-element
    /// arrays (vectors, levels, layer-0 lists), so the next inserts do not
    /// grow them, or fails without aborting. With it a caller grows the
    /// graph in steps it chose and can afford, where `Vec`'s own doubling
    /// (and its abort when the allocator says no) would not be. Upper-layer
    /// lists, which about one element in `m` has, stay per-element
    /// allocations of a few hundred bytes.
    pub fn try_reserve(
        &mut self,
        additional: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        let (stride, m2, dims) = (self.store.stride(), 2 * self.store.m, self.store.dims);
        let floats = if dims == 0 {
            additional
                .saturating_mul(self.floats_per_element())
                .saturating_add(self.store.max_len)
        } else {
            additional.saturating_mul(dims)
        };
        let s = &mut self.store;
        if !s.aside {
            s.vectors.try_reserve_exact(floats)?;
        }
        if s.dims == 0 {
            s.starts.try_reserve_exact(additional)?;
        }
        s.levels.try_reserve_exact(additional)?;
        s.layer0
            .try_reserve_exact(additional.saturating_mul(stride))?;
        s.layer0_dist
            .try_reserve_exact(additional.saturating_mul(m2))?;
        s.layer0_flag
            .try_reserve_exact(additional.saturating_mul(m2))?;
        s.upper.try_reserve_exact(additional)?;
        s.upper_meta.try_reserve_exact(additional)?;
        if let Some(h) = &mut s.halves {
            h.try_reserve(additional)?;
        }
        s.marks.try_reserve(additional)?;
        Ok(())
    }

    /// Bytes [`InMemoryGraph::make_half_copy`] would take now.
    pub fn half_copy_bytes(&self) -> usize {
        let s = &self.store;
        if s.dims == 0 || !HalfCopy::supports(s.metric) {
            return 0;
        }
        HalfCopy::bytes_for(self.len(), s.dims) + self.len()
    }

    /// Makes the half-precision copy of the stored vectors that linking then searches on (see
    /// [`super::half_copy`]; later pushes extend it). Returns whether there is one: not for
    /// variable-length vectors, metrics without half kernels, or offsets beyond the half range.
    /// Fails without aborting when the memory ([`InMemoryGraph::half_copy_bytes`]) cannot be had.
    /// `tick` is called every [`super::half_copy::TICK_ROWS`] rows (the caller's interrupt check).
    pub fn make_half_copy(
        &mut self,
        tick: &mut dyn FnMut(),
    ) -> Result<bool, std::collections::TryReserveError> {
        let s = &mut self.store;
        if s.aside {
            // The copy in use stands in for the vectors set aside.
            return Ok(false);
        }
        s.halves = None;
        let copy = HalfCopy::of(&s.vectors, s.dims, s.metric, tick)?;
        if copy.is_some() {
            s.marks.cover(s.levels.len())?;
        }
        s.halves = copy;
        Ok(s.halves.is_some())
    }

    /// Whether linking reads the half-precision copy now (there is one and its check did not switch
    /// it off).
    pub fn searches_half_copy(&self) -> bool {
        self.store.halves.as_ref().is_some_and(HalfCopy::on)
    }

    /// Frees the half-precision copy; linking reads the float4 vectors again (and replaces the
    /// copy's distances in a list before it uses it: the marks stay). Vectors set aside stay
    /// aside: linking is then refused until [`InMemoryGraph::restore_vectors`].
    pub fn drop_half_copy(&mut self) {
        self.store.halves = None;
    }

    /// Estimated bytes one more element adds on average: its vector, its
    /// layer-0 slots, and the expected share of upper-layer lists (a node
    /// has `1/(m-1)` upper levels on average).
    pub fn bytes_per_element(dims: usize, m: usize) -> usize {
        let m = m.max(2);
        let base =
            dims * 4 + 1 + (1 + 2 * m) * 4 + 2 * m * 5 + 2 * std::mem::size_of::<Vec<Vec<u32>>>();
        base + Self::upper_list_bytes(m).div_ceil(m - 1)
    }

    /// Bytes of one upper-layer list: ids, distances and flags, and their
    /// `Vec` headers.
    fn upper_list_bytes(m: usize) -> usize {
        std::mem::size_of::<Vec<u32>>() + std::mem::size_of::<(Vec<f32>, Vec<Flag>)>() + m * 9
    }

    /// k nearest neighbours of `query` (search with `max(ef, k)`), ascending.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<Candidate<u32>> {
        let Some((ep, ep_level)) = self.entry else {
            return Vec::new();
        };
        assert!(!self.store.aside, "the vectors are set aside");
        if self.store.dims != 0 {
            assert_eq!(query.len(), self.store.dims, "query has wrong dimensions");
        }
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
    fn distances(&mut self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        StoreView(&self.store).distances(query, nodes, out)
    }
    fn prefetch_links(&mut self, n: u32, level: usize) {
        self.store.prefetch_links(n, level)
    }
}
