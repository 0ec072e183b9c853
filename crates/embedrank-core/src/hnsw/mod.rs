//! HNSW (Malkov & Yashunin, "Efficient and robust approximate nearest
//! neighbor search using Hierarchical Navigable Small World graphs") behind a
//! storage seam.
//!
//! Design:
//! * [`GraphView`] is everything a search needs: the distance from the query
//!   to a node and a node's neighbour list on one layer. The in-memory graph
//!   implements it over `Vec`s; the extension implements it over index pages
//!   (its `Node` is then a tuple/page address). All search code is generic
//!   over it, so the page-backed index runs exactly the code tested here.
//! * `search` has Algorithm 2 (`search_layer`) and the layered descent
//!   (`search`), built on an internal reusable `Searcher` whose visited set is
//!   pluggable: an Fx-hashed `HashSet` for arbitrary node types, a bitset for
//!   dense `u32` ids.
//! * [`GraphStore`] is the write half of the seam, and `insert` the one
//!   insert / neighbour-repair algorithm over it ([`Inserter`]): the
//!   in-memory build, the extension's on-disk insert and its VACUUM repair
//!   all run it.
//! * `select` is the neighbour-selection heuristic (Algorithm 4), `level`
//!   the level sampler and its deterministic RNG, `iterative` a resumable
//!   level-0 scan for filtered queries, `memory` the in-memory graph, and
//!   `parallel` links its stored nodes on several threads (parallel build); `half_copy` is the
//!   float16 copy a build links on, `aside` sets the float4 vectors aside meanwhile.
//! * `order` gives `f32` distances a total order (NaN last) for the heaps,
//!   visited sets hash with rustc-hash's Fx hasher (below), `prefetch` asks memory for the
//!   next vectors of a batch of distances while the current one is computed.

mod aside;
mod half_copy;
mod insert;
mod iterative;
mod level;
mod memory;
mod order;
mod parallel;
mod prefetch;
mod search;
mod select;
mod visited;

#[cfg(test)]
mod tests;

pub use aside::{MemorySpill, VectorSpill};
pub use insert::{Flag, GraphStore, Inserter, Link};
pub use iterative::IterativeScan;
pub use level::{random_level, LevelRng, MAX_LEVEL};
pub use memory::{HnswParams, InMemoryGraph};
pub use prefetch::{ahead as prefetch_ahead, prefetch_bytes, prefetch_line, LINE as CACHE_LINE};
/// The hasher of every visited set and node map: rustc-hash's Fx hasher, a multiply per word with
/// no DoS resistance (pointless for node ids, and several times SipHash's speed). Version 2 matters:
/// hashbrown picks a bucket from a hash's low bits, and a bare product's low bits depend only on the
/// key's low bits; rustc-hash 2 rotates the product's well-mixed high bits down. Our earlier
/// hand-written Fx (version 1's formula) sent every page address (`block << 16 | offset`) with the
/// same offset to one probe group: on a 5k-row index the visited set took 15 % of a scan.
pub use rustc_hash::{FxBuildHasher, FxHashSet, FxHasher};
pub use search::{search, search_layer};
pub use select::select_neighbors;
pub use visited::VisitedSet;

/// Read access the search needs; implemented by the in-memory graph and, in
/// the extension, by a page-backed view.
pub trait GraphView {
    type Node: Copy + Eq + std::hash::Hash + Ord + std::fmt::Debug;
    /// Distance from `query` to node `n` under the index metric (smaller = closer).
    fn distance_to(&mut self, query: &[f32], n: Self::Node) -> f32;
    /// Append the neighbours of `n` at `level` to `out` (out is cleared by the caller).
    fn neighbors(&mut self, n: Self::Node, level: usize, out: &mut Vec<Self::Node>);
    /// Distances from `query` to each of `nodes`, in order, into `out` (cleared first): what the
    /// searches ask for all unvisited neighbours of a node at once. The default calls
    /// [`GraphView::distance_to`] per node; a view whose nodes are slow to reach (index pages,
    /// each a different buffer) overrides it to start loading all of them before computing.
    fn distances(&mut self, query: &[f32], nodes: &[Self::Node], out: &mut Vec<f32>) {
        out.clear();
        for &n in nodes {
            let d = self.distance_to(query, n);
            out.push(d);
        }
    }
    /// A hint that `n`'s list on `level` is read soon: a view whose lists sit in memory asks for
    /// them now ([`prefetch_line`]); the default does nothing.
    fn prefetch_links(&mut self, _n: Self::Node, _level: usize) {}
}

/// A node together with its distance to the query (or to a base element).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate<N> {
    pub distance: f32,
    pub node: N,
}
