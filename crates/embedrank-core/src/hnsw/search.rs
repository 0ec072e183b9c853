//! Layer search (Algorithm 2) and the full layered search.
//!
//! Design: [`Searcher`] owns every buffer a search needs (candidate min-heap,
//! result max-heap, neighbour buffer, visited set), so the builder and scans
//! reuse them across calls instead of allocating per layer. The visited set
//! is a type parameter: `FxHashSet<N>` in the generic public functions, a
//! bitset in the in-memory graph. A `discard` callback observes every
//! candidate the search computed but did not return, which is what lets
//! [`super::IterativeScan`] resume where an ordinary search stopped.

use super::order::{sort_candidates, Key};
use super::visited::VisitedSet;
use super::FxHashSet;
use super::{Candidate, GraphView};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Reusable search state.
pub(crate) struct Searcher<N, V> {
    pub visited: V,
    /// Min-heap of candidates still to expand.
    pub cand: BinaryHeap<Reverse<Key<N>>>,
    /// Max-heap of the best `ef` found so far (top = farthest).
    res: BinaryHeap<Key<N>>,
    nbrs: Vec<N>,
    /// Distances to the unvisited `nbrs` of the node being expanded.
    dists: Vec<f32>,
}

impl<N: Copy + Ord, V: VisitedSet<N>> Searcher<N, V> {
    pub fn new(visited: V) -> Self {
        Searcher {
            visited,
            cand: BinaryHeap::new(),
            res: BinaryHeap::new(),
            nbrs: Vec::new(),
            dists: Vec::new(),
        }
    }

    /// Algorithm 2 on `level`, with a fresh visited set. `entry` distances
    /// must already be computed. Writes up to `ef` results, ascending, to
    /// `out`. `discard(c, unexpanded)` sees every computed candidate that is
    /// not returned; `unexpanded` is true if it never entered the candidate
    /// heap (candidates left in `self.cand` afterwards are unexpanded too).
    #[allow(clippy::too_many_arguments)] // internal hot path; a params struct adds nothing
    pub fn layer<G: GraphView<Node = N>>(
        &mut self,
        g: &mut G,
        query: &[f32],
        entry: &[Candidate<N>],
        ef: usize,
        level: usize,
        out: &mut Vec<Candidate<N>>,
        discard: &mut impl FnMut(Candidate<N>, bool),
    ) {
        let ef = ef.max(1);
        self.visited.clear();
        self.cand.clear();
        self.res.clear();
        out.clear();
        for &e in entry {
            if self.visited.insert(e.node) {
                let k = Key::from(e);
                self.cand.push(Reverse(k));
                self.res.push(k);
            }
        }
        while self.res.len() > ef {
            let k = self.res.pop().expect("len > ef >= 1");
            discard(k.candidate(), false);
        }

        while let Some(Reverse(c)) = self.cand.pop() {
            let far = *self.res.peek().expect("res is non-empty while cand is");
            if far.closer_than(&c) {
                // Every remaining candidate is farther than the worst result.
                self.cand.push(Reverse(c));
                break;
            }
            // The likely next node to expand: its list is asked of memory while this one's
            // neighbours are computed.
            if let Some(Reverse(next)) = self.cand.peek() {
                g.prefetch_links(next.node, level);
            }
            self.nbrs.clear();
            g.neighbors(c.node, level, &mut self.nbrs);
            // The unvisited neighbours, their distances asked for in one batch. Compacted without
            // a branch on the visited test (`retain`'s branch mispredicts about half the time:
            // 8 % of an in-memory build).
            let mut fresh = 0;
            for i in 0..self.nbrs.len() {
                let e = self.nbrs[i];
                self.nbrs[fresh] = e;
                fresh += usize::from(self.visited.insert(e));
            }
            self.nbrs.truncate(fresh);
            g.distances(query, &self.nbrs, &mut self.dists);
            for (&e, &d) in self.nbrs.iter().zip(&self.dists) {
                let k = Key::new(d, e);
                let full = self.res.len() >= ef;
                if !full || k.closer_than(self.res.peek().expect("full heap")) {
                    self.cand.push(Reverse(k));
                    self.res.push(k);
                    if full {
                        let worst = self.res.pop().expect("non-empty");
                        discard(worst.candidate(), false);
                    }
                } else {
                    discard(k.candidate(), true);
                }
            }
        }
        out.extend(self.res.drain().map(Key::candidate));
        sort_candidates(out);
    }

    /// Greedy descent (ef = 1) from `start` through layers
    /// `entry_level..=1`; returns the closest node found on layer 1, the
    /// entry for layer 0.
    pub fn descend<G: GraphView<Node = N>>(
        &mut self,
        g: &mut G,
        query: &[f32],
        start: Candidate<N>,
        entry_level: usize,
        out: &mut Vec<Candidate<N>>,
    ) -> Candidate<N> {
        self.descend_to(g, query, start, entry_level, 1, out)
    }

    /// Greedy descent (ef = 1) from `start` through layers `from..=to` (none if `to > from`);
    /// returns the closest node found on the last of them.
    pub fn descend_to<G: GraphView<Node = N>>(
        &mut self,
        g: &mut G,
        query: &[f32],
        start: Candidate<N>,
        from: usize,
        to: usize,
        out: &mut Vec<Candidate<N>>,
    ) -> Candidate<N> {
        let mut cur = start;
        for level in (to..=from).rev() {
            self.layer(g, query, &[cur], 1, level, out, &mut |_, _| {});
            cur = out[0];
        }
        cur
    }

    /// Full search: descent, then `ef`-search on layer 0, results in `out`.
    pub fn full<G: GraphView<Node = N>>(
        &mut self,
        g: &mut G,
        query: &[f32],
        entry_point: N,
        entry_level: usize,
        ef: usize,
        out: &mut Vec<Candidate<N>>,
    ) {
        let start = Candidate {
            distance: g.distance_to(query, entry_point),
            node: entry_point,
        };
        let start = self.descend(g, query, start, entry_level, out);
        self.layer(g, query, &[start], ef, 0, out, &mut |_, _| {});
    }
}

/// A `Searcher` over any node type, with an Fx-hashed visited set.
pub(crate) fn hashed_searcher<N: Copy + Ord + std::hash::Hash>() -> Searcher<N, FxHashSet<N>> {
    Searcher::new(FxHashSet::default())
}

/// Greedy best-first search of one layer (HNSW paper Algorithm 2). Returns
/// up to `ef` closest, sorted ascending by distance.
pub fn search_layer<G: GraphView>(
    g: &mut G,
    query: &[f32],
    entry: &[Candidate<G::Node>],
    ef: usize,
    level: usize,
) -> Vec<Candidate<G::Node>> {
    let mut out = Vec::with_capacity(ef);
    hashed_searcher().layer(g, query, entry, ef, level, &mut out, &mut |_, _| {});
    out
}

/// Full search: greedy descent from the entry point through upper layers
/// with ef=1, then search_layer at level 0 with `ef`.
pub fn search<G: GraphView>(
    g: &mut G,
    query: &[f32],
    entry_point: G::Node,
    entry_level: usize,
    ef: usize,
) -> Vec<Candidate<G::Node>> {
    let mut out = Vec::with_capacity(ef);
    hashed_searcher().full(g, query, entry_point, entry_level, ef, &mut out);
    out
}
