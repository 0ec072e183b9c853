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
//!
//! Re-pruning dominates the build (most reverse links hit a full list), so
//! every adjacency entry also carries its distance to the list's owner and
//! whether the heuristic kept it ([`Flag`]), as pgvector does. Re-pruning
//! then needs no owner distances at all, and reuses the recorded decisions
//! for the sorted prefix in front of the new link: those decisions depend
//! only on earlier entries, which have not changed. Pairwise distances are
//! computed only from the first new, unevaluated or tied entry on.

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

/// What the heuristic decided for an adjacency entry.
///
/// Invariant: for a list sorted as [`sort_for`] sorts it, an entry whose
/// flag is `Kept`/`Pruned` and which has only flagged entries in front of it
/// got that flag by the heuristic check against exactly the `Kept` entries
/// in front of it. Entries appended without running the heuristic are
/// `Unknown` and end reuse at their position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Flag {
    Unknown = 0,
    Kept = 1,
    Pruned = 2,
}

/// How far the recorded [`Flag`]s can be trusted while re-pruning a list
/// (walking it in sorted order).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The kept set so far is exactly the recorded `Kept` entries: every
    /// recorded flag holds as is.
    Recorded,
    /// The kept set so far is the recorded `Kept` entries plus the new
    /// link: a recorded `Pruned` stays pruned, a recorded `Kept` only needs
    /// its distance to the new link checked.
    RecordedPlusNew,
    /// Anything else: run the full check against the kept set.
    Compute,
}

/// A link candidate with its distance to the list owner and its flag.
#[derive(Clone, Copy, Debug)]
struct Link {
    distance: f32,
    node: u32,
    flag: Flag,
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
    /// Per layer-0 slot (stride `2m`, no count slot): distance to the owner.
    layer0_dist: Vec<f32>,
    /// Per layer-0 slot: the heuristic's [`Flag`].
    layer0_flag: Vec<Flag>,
    /// `upper[id][level - 1]`, empty for level-0 nodes.
    upper: Vec<Vec<Vec<u32>>>,
    /// Parallel to `upper`: distances to the owner and flags.
    upper_meta: Vec<Vec<(Vec<f32>, Vec<Flag>)>>,
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

    /// Appends `id`'s links on `level`, with distances and flags, to `out`.
    fn links_with_meta(&self, id: u32, level: usize, out: &mut Vec<Link>) {
        let nodes = self.links(id, level);
        let (dists, flags) = if level == 0 {
            let base = id as usize * 2 * self.m;
            (
                &self.layer0_dist[base..base + nodes.len()],
                &self.layer0_flag[base..base + nodes.len()],
            )
        } else {
            let (d, f) = &self.upper_meta[id as usize][level - 1];
            (d.as_slice(), f.as_slice())
        };
        out.extend(
            nodes
                .iter()
                .zip(dists)
                .zip(flags)
                .map(|((&node, &distance), &flag)| Link {
                    distance,
                    node,
                    flag,
                }),
        );
    }

    fn set_links(&mut self, id: u32, level: usize, links: impl Iterator<Item = Link>) {
        if level == 0 {
            let (base, stride) = (id as usize * self.stride(), self.stride());
            let mbase = id as usize * 2 * self.m;
            let mut n = 0;
            for l in links.take(2 * self.m) {
                self.layer0[base + 1 + n] = l.node;
                self.layer0_dist[mbase + n] = l.distance;
                self.layer0_flag[mbase + n] = l.flag;
                n += 1;
            }
            debug_assert!(n < stride);
            self.layer0[base] = n as u32;
        } else {
            let list = &mut self.upper[id as usize][level - 1];
            let (dists, flags) = &mut self.upper_meta[id as usize][level - 1];
            list.clear();
            dists.clear();
            flags.clear();
            for l in links.take(self.m) {
                list.push(l.node);
                dists.push(l.distance);
                flags.push(l.flag);
            }
        }
    }

    /// Appends `node` (at `distance` from `id`, heuristic not run) if the
    /// list has room; returns false if full.
    fn try_push_link(&mut self, id: u32, level: usize, node: u32, distance: f32) -> bool {
        if level == 0 {
            let base = id as usize * self.stride();
            let n = self.layer0[base] as usize;
            if n >= 2 * self.m {
                return false;
            }
            self.layer0[base + 1 + n] = node;
            self.layer0[base] += 1;
            let mbase = id as usize * 2 * self.m;
            self.layer0_dist[mbase + n] = distance;
            self.layer0_flag[mbase + n] = Flag::Unknown;
        } else {
            let list = &mut self.upper[id as usize][level - 1];
            if list.len() >= self.m {
                return false;
            }
            list.push(node);
            let (dists, flags) = &mut self.upper_meta[id as usize][level - 1];
            dists.push(distance);
            flags.push(Flag::Unknown);
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

/// Sorts the link candidates of `owner` ascending by distance, breaking
/// exact ties by a hash of `(owner, node)`.
///
/// Tie order matters for duplicate vectors: with ties broken by id, every
/// list would keep the same lowest ids and later duplicates would lose all
/// incoming links (unreachable nodes). A per-owner pseudo-random order makes
/// the links among duplicates a random graph, which is connected w.h.p.
fn sort_for(owner: u32, v: &mut [Link]) {
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
    cands: Vec<Link>,
    rev_kept: Vec<Link>,
    rev_pruned: Vec<Link>,
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
                layer0_dist: Vec::new(),
                layer0_flag: Vec::new(),
                upper: Vec::new(),
                upper_meta: Vec::new(),
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
                rev_kept: Vec::new(),
                rev_pruned: Vec::new(),
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
        let level = random_level(&mut self.rng, self.params.m)
            .clamp(self.params.min_level, self.params.max_level);
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
            let kept = select_into(
                &s.found,
                store.cap(lc),
                |a, b| store.dist(a, b),
                &mut s.chosen,
                &mut s.pruned,
            );
            self.store.set_links(
                id,
                lc,
                s.chosen.iter().enumerate().map(|(i, c)| Link {
                    distance: c.distance,
                    node: c.node,
                    flag: match kept {
                        None => Flag::Unknown,
                        Some(k) if i < k => Flag::Kept,
                        Some(_) => Flag::Pruned,
                    },
                }),
            );
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
    ///
    /// The re-pruning is the heuristic of [`select_into`] over the old list
    /// plus `new`, sorted by [`sort_for`], with the recorded decisions (see
    /// [`Flag`]) reused up to the first entry that is new, unevaluated or
    /// tied in distance with a neighbour in the order (ties may have been
    /// ordered differently when the flag was recorded).
    fn add_reverse_link(
        store: &mut Store,
        s: &mut Scratch,
        n: u32,
        new: u32,
        d: f32,
        level: usize,
    ) {
        if store.try_push_link(n, level, new, d) {
            return;
        }
        s.cands.clear();
        store.links_with_meta(n, level, &mut s.cands);
        s.cands.push(Link {
            distance: d,
            node: new,
            flag: Flag::Unknown,
        });
        sort_for(n, &mut s.cands);
        let cap = store.cap(level);
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        s.rev_kept.clear();
        s.rev_pruned.clear();
        // Which recorded decisions still hold (see `Mode`).
        let mut mode = Mode::Recorded;
        for (i, &e) in s.cands.iter().enumerate() {
            if s.rev_kept.len() >= cap {
                break;
            }
            let tied = (i > 0 && same(s.cands[i - 1].distance, e.distance))
                || s.cands
                    .get(i + 1)
                    .is_some_and(|next| same(next.distance, e.distance));
            if tied || (e.flag == Flag::Unknown && e.node != new) {
                mode = Mode::Compute;
            }
            let full_check =
                |kept: &[Link]| kept.iter().all(|r| store.dist(e.node, r.node) > e.distance);
            let diverse = match mode {
                Mode::Compute => full_check(&s.rev_kept),
                Mode::Recorded if e.node == new => {
                    let keep = full_check(&s.rev_kept);
                    if keep {
                        mode = Mode::RecordedPlusNew;
                    }
                    keep
                }
                Mode::Recorded => e.flag == Flag::Kept,
                // `new` has been seen (it is unique), so `e` is an old entry.
                Mode::RecordedPlusNew => match e.flag {
                    // One more kept entry in front can only prune more.
                    Flag::Pruned => false,
                    _ => {
                        let keep = store.dist(e.node, new) > e.distance;
                        if !keep {
                            // The kept set now differs from the recorded one.
                            mode = Mode::Compute;
                        }
                        keep
                    }
                },
            };
            if diverse {
                s.rev_kept.push(Link {
                    flag: Flag::Kept,
                    ..e
                });
            } else {
                s.rev_pruned.push(Link {
                    flag: Flag::Pruned,
                    ..e
                });
            }
        }
        let missing = cap - s.rev_kept.len();
        // Tests cross-check the reuse against the plain heuristic.
        #[cfg(test)]
        {
            let plain: Vec<Candidate<u32>> = s
                .cands
                .iter()
                .map(|l| Candidate {
                    distance: store.dist(n, l.node),
                    node: l.node,
                })
                .collect();
            let (mut out, mut pruned) = (Vec::new(), Vec::new());
            select_into(&plain, cap, |a, b| store.dist(a, b), &mut out, &mut pruned);
            let ours = s.rev_kept.iter().chain(s.rev_pruned.iter().take(missing));
            assert!(out.iter().map(|c| c.node).eq(ours.map(|l| l.node)));
        }
        store.set_links(
            n,
            level,
            s.rev_kept
                .iter()
                .chain(s.rev_pruned.iter().take(missing))
                .copied(),
        );
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

    /// Approximate heap bytes held (vectors + adjacency), so the caller can
    /// enforce maintenance_work_mem. Counts capacity, not length: a `Vec`
    /// that doubled holds up to twice what it uses.
    pub fn memory_bytes(&self) -> usize {
        let s = &self.store;
        s.vectors.capacity() * 4
            + s.levels.capacity()
            + s.layer0.capacity() * 4
            + s.layer0_dist.capacity() * 4
            + s.layer0_flag.capacity()
            + s.upper.capacity() * std::mem::size_of::<Vec<Vec<u32>>>()
            + s.upper_meta.capacity() * std::mem::size_of::<Vec<(Vec<f32>, Vec<Flag>)>>()
            + s.upper_lists * Self::upper_list_bytes(s.m)
    }

    /// How many elements fit without growing the per-element arrays.
    pub fn capacity(&self) -> usize {
        let s = &self.store;
        s.levels
            .capacity()
            .min(s.vectors.capacity() / s.dims.max(1))
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
        let s = &mut self.store;
        let (stride, m2) = (s.stride(), 2 * s.m);
        s.vectors
            .try_reserve_exact(additional.saturating_mul(s.dims))?;
        s.levels.try_reserve_exact(additional)?;
        s.layer0
            .try_reserve_exact(additional.saturating_mul(stride))?;
        s.layer0_dist
            .try_reserve_exact(additional.saturating_mul(m2))?;
        s.layer0_flag
            .try_reserve_exact(additional.saturating_mul(m2))?;
        s.upper.try_reserve_exact(additional)?;
        s.upper_meta.try_reserve_exact(additional)?;
        Ok(())
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
