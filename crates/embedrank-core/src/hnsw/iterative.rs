//! Resumable level-0 scan for filtered queries.
//!
//! Design: `new` runs an ordinary search (descent + Algorithm 2 with `ef`)
//! but keeps what a normal search throws away:
//! * `initial` — the `ef` results, yielded first, in exactly the order
//!   `search` returns them;
//! * `ready` — every other node whose distance was computed (evicted or
//!   rejected candidates), a min-heap of not-yet-yielded nodes;
//! * `frontier` — computed nodes whose neighbours were never expanded.
//!
//! Once `initial` is drained, `next` runs best-first: it yields the closest
//! `ready` node unless an unexpanded `frontier` node is strictly closer, in
//! which case that node is expanded first (a batch of distance computations
//! for its unvisited neighbours, which join `ready` and `frontier`). Output
//! is therefore approximately ascending, and each node is yielded at most
//! once because it enters `ready`/`initial` only when first visited. The
//! scan ends when both heaps are empty (the part of the graph reachable
//! from the entry is exhausted) or, after the budget of `max_visited`
//! distance computations (counting those of the initial search, which
//! always completes) is spent, once the already-computed nodes are drained.
//!
//! Memory grows with the nodes visited (two heap entries and a visited-set
//! entry each, ~50 bytes), so up to `max_visited`: the growth is fallible
//! (`next` returns the allocator's refusal as an error instead of aborting),
//! so a host can turn it into an ordinary error.

use super::order::Key;
use super::search::{hashed_searcher, Searcher};
use super::FxHashSet;
use super::{Candidate, GraphView};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, TryReserveError};
use std::hash::Hash;

/// Visited elements reserved up front per unit of `ef` (a level-0 search at m = 16 visits ~15 ef).
const VISITED_PER_EF: usize = 16;
/// The most visited-set entries reserved up front.
const MAX_VISITED_RESERVE: usize = 1 << 16;

/// Wraps a view and counts distance computations.
struct Counting<'g, G> {
    g: &'g mut G,
    count: usize,
}

impl<G: GraphView> GraphView for Counting<'_, G> {
    type Node = G::Node;
    fn distance_to(&mut self, query: &[f32], n: Self::Node) -> f32 {
        self.count += 1;
        self.g.distance_to(query, n)
    }
    fn neighbors(&mut self, n: Self::Node, level: usize, out: &mut Vec<Self::Node>) {
        self.g.neighbors(n, level, out)
    }
    fn distances(&mut self, query: &[f32], nodes: &[Self::Node], out: &mut Vec<f32>) {
        self.count += nodes.len();
        self.g.distances(query, nodes, out)
    }
}

/// Resumable level-0 search. `next()` yields nodes in (approximately)
/// ascending distance: first the `ef` best of an ordinary search, then it
/// keeps expanding the remaining candidate frontier (discarded candidates
/// are kept, not dropped) in batches, never yielding a node twice, until the
/// graph reachable from the entry is exhausted or `max_visited` distance
/// computations were spent.
pub struct IterativeScan<N> {
    initial: std::vec::IntoIter<Candidate<N>>,
    ready: BinaryHeap<Reverse<Key<N>>>,
    frontier: BinaryHeap<Reverse<Key<N>>>,
    visited: FxHashSet<N>,
    nbrs: Vec<N>,
    dists: Vec<f32>,
    computed: usize,
    max_visited: usize,
}

impl<N: Copy + Eq + Hash + Ord + std::fmt::Debug> IterativeScan<N> {
    pub fn new<G: GraphView<Node = N>>(
        g: &mut G,
        query: &[f32],
        entry_point: N,
        entry_level: usize,
        ef: usize,
        max_visited: usize,
    ) -> Self {
        let mut cg = Counting { g, count: 0 };
        let mut s: Searcher<N, FxHashSet<N>> = hashed_searcher();
        // A layer-0 search visits some ef × m elements: sized once instead of rehashing as it grows.
        s.visited
            .reserve(ef.saturating_mul(VISITED_PER_EF).min(MAX_VISITED_RESERVE));
        let mut out = Vec::with_capacity(ef);
        let start = Candidate {
            distance: cg.distance_to(query, entry_point),
            node: entry_point,
        };
        let start = s.descend(&mut cg, query, start, entry_level, &mut out);

        let mut ready = BinaryHeap::new();
        let mut frontier = BinaryHeap::new();
        s.layer(
            &mut cg,
            query,
            &[start],
            ef,
            0,
            &mut out,
            &mut |c, unexpanded| {
                ready.push(Reverse(Key::from(c)));
                if unexpanded {
                    frontier.push(Reverse(Key::from(c)));
                }
            },
        );
        // Whatever is left in the candidate heap was never expanded.
        frontier.extend(s.cand.drain());

        IterativeScan {
            initial: out.into_iter(),
            ready,
            frontier,
            visited: std::mem::take(&mut s.visited),
            nbrs: Vec::new(),
            dists: Vec::new(),
            computed: cg.count,
            max_visited,
        }
    }

    /// Next node in approximately ascending distance, or `None` when done;
    /// an error when the scan's memory could not grow.
    #[allow(clippy::should_implement_trait)] // needs the graph, so not an Iterator
    pub fn next<G: GraphView<Node = N>>(
        &mut self,
        g: &mut G,
        query: &[f32],
    ) -> Result<Option<Candidate<N>>, TryReserveError> {
        if let Some(c) = self.initial.next() {
            return Ok(Some(c));
        }
        loop {
            let spent = self.computed >= self.max_visited;
            let expand = match (self.ready.peek(), self.frontier.peek()) {
                (_, None) => false,
                (None, Some(_)) => !spent,
                (Some(Reverse(r)), Some(Reverse(f))) => !spent && f.closer_than(r),
            };
            if !expand {
                return Ok(self.ready.pop().map(|Reverse(k)| k.candidate()));
            }
            let Reverse(f) = self.frontier.pop().expect("peeked");
            self.expand(g, query, f.node)?;
        }
    }

    /// Number of distance computations spent so far.
    pub fn distance_computations(&self) -> usize {
        self.computed
    }

    /// Computes distances to the unvisited level-0 neighbours of `n`, after
    /// making room for all of them (so growth fails here, not in a push).
    fn expand<G: GraphView<Node = N>>(
        &mut self,
        g: &mut G,
        query: &[f32],
        n: N,
    ) -> Result<(), TryReserveError> {
        self.nbrs.clear();
        g.neighbors(n, 0, &mut self.nbrs);
        let k = self.nbrs.len();
        self.visited.try_reserve(k)?;
        self.ready.try_reserve(k)?;
        self.frontier.try_reserve(k)?;
        // The unvisited neighbours the budget still allows, their distances in one batch.
        let budget = self.max_visited.saturating_sub(self.computed);
        let mut taken = 0;
        let visited = &mut self.visited;
        let mut spent_mid_batch = false;
        self.nbrs.retain(|&e| {
            if spent_mid_batch || taken == budget {
                spent_mid_batch = true;
                return false;
            }
            let fresh = visited.insert(e);
            taken += usize::from(fresh);
            fresh
        });
        g.distances(query, &self.nbrs, &mut self.dists);
        self.computed += self.nbrs.len();
        for (&e, &d) in self.nbrs.iter().zip(&self.dists) {
            let k = Key::new(d, e);
            self.ready.push(Reverse(k));
            self.frontier.push(Reverse(k));
        }
        if spent_mid_batch {
            // Budget spent mid-batch: the rest stays unvisited.
            self.frontier.clear();
        }
        Ok(())
    }
}
