//! HNSW insertion (Algorithm 1 of the paper) and neighbour repair, over the storage seam
//! [`GraphStore`]: the one algorithm the in-memory build, the on-disk insert and VACUUM's repair run.
//!
//! Design:
//! * [`GraphStore`] is the write half of the seam: node-to-node distances, a node's list on one
//!   layer with the distance of each link to the list's owner and the heuristic's decision ([`Link`]),
//!   replacing a list, and whether a node may be linked to (a deleted one may not). The in-memory
//!   graph keeps distances and decisions with its lists; a page store computes distances when asked
//!   and keeps no decisions ([`GraphStore::KEEPS_DISTANCES`]).
//! * An insert is two calls of [`Inserter`] around the caller storing the element: [`Inserter::plan`]
//!   descends greedily (ef = 1) to the new element's top layer, then on each layer down to 0 runs an
//!   `ef_construction` search and picks the neighbours with the heuristic (`2m` on layer 0, `m`
//!   above) among the linkable nodes found (deleted ones help the search along, never become links);
//!   the caller writes the element with the planned lists where its storage puts it (an id, a page
//!   slot); [`Inserter::link_back`] adds the reverse links, re-pruning a full list with the heuristic.
//!   A list's links to deleted nodes stay until VACUUM repairs it: dropping them here would skip the
//!   repair's search for what lies beyond them.
//! * [`Inserter::repair`] mends a node's list on one layer after some of its neighbours were
//!   deleted: the live links stay (rebuilding the list from scratch with the heuristic drops back
//!   links that were some node's only way in: 6 % of the live nodes cut off in a test), and the
//!   deleted links' slots go to the linkable nodes beyond them (a walk through the deleted ones),
//!   diverse ones first; only when that finds nothing, an `ef_construction` search for the node's
//!   own vector (from its neighbours, else from the entry point). The new neighbours get reverse
//!   links, as an insert makes them. (A search per repaired list made VACUUM of 4 % of a
//!   23k-row index take 9.8 s against 1.3 s for building the whole index.)
//! * Re-pruning reuses recorded decisions (see [`Flag`]) so the in-memory build, where most reverse
//!   links hit a full list, computes pairwise distances only from the first new, undecided or tied
//!   entry on; with a store that records nothing it is the plain heuristic.

use super::order::Key;
use super::search::Searcher;
use super::select::select_into;
use super::visited::VisitedSet;
use super::{Candidate, GraphView};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// What the neighbour-selection heuristic decided for a link.
///
/// Invariant: for a list sorted in [`link_order`], a link whose flag is `Kept`/`Pruned`
/// and which has only flagged links in front of it got that flag by the heuristic's check against
/// exactly the `Kept` links in front of it. Links added without running the heuristic (or read from
/// a store that records nothing) are `Unknown` and end reuse at their position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Flag {
    Unknown = 0,
    Kept = 1,
    Pruned = 2,
}

/// One entry of a neighbour list: the node, its distance to the list's owner, the heuristic's flag.
#[derive(Clone, Copy, Debug)]
pub struct Link<N> {
    pub node: N,
    pub distance: f32,
    pub flag: Flag,
}

/// Write access the insert and repair need, on top of [`GraphView`].
pub trait GraphStore: GraphView {
    /// Whether [`GraphStore::links`] fills in each link's distance to the owner (else the algorithm
    /// computes the distances it needs).
    const KEEPS_DISTANCES: bool;
    /// Distance between two stored nodes under the index metric.
    fn distance_between(&mut self, a: Self::Node, b: Self::Node) -> f32;
    /// Appends `n`'s links on `level` to `out` (cleared by the caller); distances as
    /// [`GraphStore::KEEPS_DISTANCES`] says, flags `Unknown` where nothing was recorded.
    fn links(&mut self, n: Self::Node, level: usize, out: &mut Vec<Link<Self::Node>>);
    /// Replaces `n`'s list on `level` with `links` (at most [`GraphStore::capacity`] of them).
    fn set_links(&mut self, n: Self::Node, level: usize, links: &[Link<Self::Node>]);
    /// Whether `n` may be chosen as a neighbour (false for a deleted element).
    fn linkable(&mut self, n: Self::Node) -> bool;
    /// Copy of `n`'s vector (the repair searches for it).
    fn vector_of(&mut self, n: Self::Node) -> Vec<f32>;
    /// Most links a list on `level` holds (`2m` on layer 0, `m` above).
    fn capacity(&self, level: usize) -> usize;
    /// A hint that `n`'s vector is read soon (a store in memory asks for it now; the default does
    /// nothing).
    fn prefetch_vector(&mut self, _n: Self::Node) {}
    /// Shows a store what the layer-0 search of the insert under way `found`, with the distances it
    /// computed: a store whose distances come from a compressed copy of its vectors checks them
    /// against the exact ones from the inserted element's own vector (the query it handed out is in
    /// the copy's terms), and may stop using the copy; others ignore it (the default).
    fn check_found(&mut self, _found: &[Candidate<Self::Node>]) {}
    /// Tests: whether this insert's recorded and computed distances agree, so that re-pruning can be
    /// cross-checked against the plain heuristic. False only for an insert that reads a
    /// half-precision copy switched off meanwhile (it may meet lists made exact since).
    #[cfg(test)]
    fn cross_checkable(&self) -> bool {
        true
    }
    /// Called before a read-modify-write of `n`'s lists (a back link, a repair),
    /// [`GraphStore::unlock_list`] after: a store shared by threads or backends locks the list here;
    /// others need nothing (the default). Between the two the algorithm reads and writes only
    /// `n`'s lists (and vectors), so a store may hold one such lock at a time.
    fn lock_list(&mut self, _n: Self::Node) {}
    /// Ends what [`GraphStore::lock_list`] began.
    fn unlock_list(&mut self, _n: Self::Node) {}
}

/// Reusable state of inserts and repairs: the searcher and every buffer, so a build of millions of
/// elements allocates nothing per insert once warm.
pub struct Inserter<N, V> {
    searcher: Searcher<N, V>,
    found: Vec<Candidate<N>>,
    entry: Vec<Candidate<N>>,
    nearest: Vec<Candidate<N>>,
    live: Vec<Candidate<N>>,
    chosen: Vec<Candidate<N>>,
    pruned: Vec<Candidate<N>>,
    cands: Vec<Link<N>>,
    kept: Vec<Link<N>>,
    rest: Vec<Link<N>>,
    old: Vec<Link<N>>,
    /// What re-pruning decided for each entry of `cands` it reached, in order.
    decided: Vec<Flag>,
    /// A re-pruned list in list order, as it is written back.
    ordered: Vec<Link<N>>,
    queue: Vec<N>,
    nbrs: Vec<N>,
    /// The lists of the last plan, per level (`plan[l]`, empty above the entry point's level).
    plan: Vec<Vec<Link<N>>>,
}

impl<N: Copy + Ord + Hash, V: VisitedSet<N>> Inserter<N, V> {
    /// An inserter whose searches use `visited` as their visited set.
    pub(crate) fn with_visited(visited: V) -> Self {
        Inserter {
            searcher: Searcher::new(visited),
            found: Vec::new(),
            entry: Vec::new(),
            nearest: Vec::new(),
            live: Vec::new(),
            chosen: Vec::new(),
            pruned: Vec::new(),
            cands: Vec::new(),
            kept: Vec::new(),
            rest: Vec::new(),
            old: Vec::new(),
            decided: Vec::new(),
            ordered: Vec::new(),
            queue: Vec::new(),
            nbrs: Vec::new(),
            plan: Vec::new(),
        }
    }

    /// Neighbour lists for a new element with vector `v` at `level`, in a graph whose entry point is
    /// `entry` (node, level): one per level `0..=level` (empty above the entry point's level), read
    /// back with [`Inserter::planned`]. `ef` is ef_construction.
    pub fn plan<G: GraphStore<Node = N>>(
        &mut self,
        g: &mut G,
        v: &[f32],
        level: usize,
        entry: (N, usize),
        ef: usize,
    ) {
        let (ep, ep_level) = entry;
        self.plan.resize_with(level + 1, Vec::new);
        self.plan.truncate(level + 1);
        self.plan.iter_mut().for_each(Vec::clear);
        self.nearest.clear();
        let start = Candidate {
            distance: g.distance_to(v, ep),
            node: ep,
        };
        // Greedy descent (ef = 1) through the layers above the new element's.
        let cur = self
            .searcher
            .descend_to(g, v, start, ep_level, level + 1, &mut self.found);
        self.entry.clear();
        self.entry.push(cur);
        for lc in (0..=level.min(ep_level)).rev() {
            self.searcher.layer(
                g,
                v,
                &self.entry,
                ef.max(1),
                lc,
                &mut self.found,
                &mut |_, _| {},
            );
            if lc == 0 {
                g.check_found(&self.found);
            }
            self.live.clear();
            for &c in &self.found {
                if g.linkable(c.node) {
                    self.live.push(c);
                }
            }
            let kept = select_into(
                &self.live,
                g.capacity(lc),
                |a, b| g.distance_between(a, b),
                &mut self.chosen,
                &mut self.pruned,
            );
            self.plan[lc].extend(self.chosen.iter().enumerate().map(|(i, c)| Link {
                node: c.node,
                distance: c.distance,
                flag: match kept {
                    None => Flag::Unknown,
                    Some(k) if i < k => Flag::Kept,
                    Some(_) => Flag::Pruned,
                },
            }));
            std::mem::swap(&mut self.entry, &mut self.found);
        }
        self.nearest.extend_from_slice(&self.entry);
    }

    /// The lists of the last [`Inserter::plan`], per level.
    pub fn planned(&self) -> &[Vec<Link<N>>] {
        &self.plan
    }

    /// What the last plan's layer-0 search found, closest first (deleted elements included): where a
    /// store looks for an exact duplicate of the new vector.
    pub fn nearest(&self) -> &[Candidate<N>] {
        &self.nearest
    }

    /// After the caller stored the planned element as `new`: link each planned neighbour back to it.
    pub fn link_back<G: GraphStore<Node = N>>(&mut self, g: &mut G, new: N) {
        let plan = std::mem::take(&mut self.plan);
        for (level, list) in plan.iter().enumerate() {
            for (i, l) in list.iter().enumerate() {
                if let Some(next) = list.get(i + 1) {
                    g.prefetch_links(next.node, level);
                }
                self.connect(g, l.node, new, l.distance, level);
            }
        }
        self.plan = plan;
    }

    /// Gives `n` a new list on `level` without its unlinkable (deleted) neighbours: its live links
    /// stay, and the freed slots go to the linkable nodes beyond the deleted links
    /// ([`Inserter::beyond_deleted`]; when there are none, to what an `ef` search for `n`'s vector
    /// finds from its neighbours, else from the graph's `entry`), chosen with the heuristic against
    /// the links kept, then filled up with the closest pruned ones; the new neighbours get reverse
    /// links, as an insert makes them. Returns the new list's length.
    pub fn repair<G: GraphStore<Node = N>>(
        &mut self,
        g: &mut G,
        n: N,
        level: usize,
        entry: (N, usize),
        ef: usize,
    ) -> usize {
        let v = g.vector_of(n);
        self.old.clear();
        g.links(n, level, &mut self.old);
        self.entry.clear();
        for l in &self.old {
            let distance = g.distance_to(&v, l.node);
            self.entry.push(Candidate {
                distance,
                node: l.node,
            });
        }
        let cap = g.capacity(level);
        self.beyond_deleted(g, n, &v, level, cap);
        if self.live.is_empty() {
            // Nothing linkable one walk past the deleted links: an ef search from the old neighbours.
            let ef = ef.max(cap);
            self.searcher.layer(
                g,
                &v,
                &self.entry,
                ef,
                level,
                &mut self.found,
                &mut |_, _| {},
            );
            self.collect_linkable(g, n);
            if self.live.is_empty() && entry.1 >= level && entry.0 != n {
                // Every path from n's old neighbours ran into deleted elements only: from the top.
                let start = Candidate {
                    distance: g.distance_to(&v, entry.0),
                    node: entry.0,
                };
                let start =
                    self.searcher
                        .descend_to(g, &v, start, entry.1, level + 1, &mut self.found);
                self.searcher
                    .layer(g, &v, &[start], ef, level, &mut self.found, &mut |_, _| {});
                self.collect_linkable(g, n);
            }
        }
        // The live links stay: each may be some node's only way in, and a list rebuilt from scratch
        // by the heuristic drops such back links (a test saw 6 % of the live nodes cut off that way).
        // The slots of the deleted links go to what the search found, diverse ones first. Decided
        // on the list as it is under the list's lock: a concurrent insert may have added a link
        // since the first read.
        let cap = g.capacity(level);
        g.lock_list(n);
        self.old.clear();
        g.links(n, level, &mut self.old);
        self.cands.clear();
        for i in 0..self.old.len() {
            let o = self.old[i];
            if g.linkable(o.node) && o.node != n {
                self.cands.push(Link {
                    node: o.node,
                    distance: g.distance_to(&v, o.node),
                    flag: Flag::Unknown,
                });
            }
        }
        let kept_old = self.cands.len();
        self.pruned.clear();
        for i in 0..self.live.len() {
            if self.cands.len() >= cap {
                break;
            }
            let c = self.live[i];
            if self.cands.iter().any(|l| l.node == c.node) {
                continue;
            }
            let cands = &self.cands;
            let diverse = cands
                .iter()
                .all(|r| g.distance_between(c.node, r.node) > c.distance);
            if diverse {
                self.cands.push(Link {
                    node: c.node,
                    distance: c.distance,
                    flag: Flag::Unknown,
                });
            } else {
                self.pruned.push(c);
            }
        }
        let missing = cap.saturating_sub(self.cands.len());
        self.cands
            .extend(self.pruned.iter().take(missing).map(|c| Link {
                node: c.node,
                distance: c.distance,
                flag: Flag::Unknown,
            }));
        // Recorded decisions would describe a heuristic run this list never had.
        g.set_links(n, level, &self.cands);
        g.unlock_list(n);
        let added: Vec<Link<N>> = self.cands[kept_old..].to_vec();
        for l in &added {
            self.connect(g, l.node, n, l.distance, level);
        }
        self.cands.len()
    }

    /// Into `live`, closest first: the linkable nodes `n`'s deleted links led to on `level` — their
    /// neighbours, and where those are deleted too, theirs (a breadth-first walk through the deleted
    /// region, up to `cap` linkable nodes found or `4·cap` nodes seen), none of them already `n`'s
    /// neighbour. Looking only one hop past a deleted link would drop every link across a region
    /// deleted as a whole (say, one category's rows). The old links are in `old`, their distances
    /// to `v` in `entry`.
    fn beyond_deleted<G: GraphStore<Node = N>>(
        &mut self,
        g: &mut G,
        n: N,
        v: &[f32],
        level: usize,
        cap: usize,
    ) {
        self.live.clear();
        self.queue.clear();
        self.searcher.visited.clear();
        self.searcher.visited.insert(n);
        for l in &self.old {
            self.searcher.visited.insert(l.node);
        }
        for i in 0..self.old.len() {
            let x = self.old[i].node;
            if !g.linkable(x) {
                self.queue.push(x);
            }
        }
        let (mut at, mut seen) = (0, self.old.len());
        while at < self.queue.len() && self.live.len() < cap && seen <= 4 * cap {
            let d = self.queue[at];
            at += 1;
            self.nbrs.clear();
            g.neighbors(d, level, &mut self.nbrs);
            for i in 0..self.nbrs.len() {
                let y = self.nbrs[i];
                if !self.searcher.visited.insert(y) {
                    continue;
                }
                seen += 1;
                if g.linkable(y) {
                    let distance = g.distance_to(v, y);
                    self.live.push(Candidate { distance, node: y });
                } else {
                    self.queue.push(y);
                }
            }
        }
        self.live.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    }

    /// `found` minus `n` itself and unlinkable nodes, into `live`.
    fn collect_linkable<G: GraphStore<Node = N>>(&mut self, g: &mut G, n: N) {
        self.live.clear();
        for &c in &self.found {
            if c.node != n && g.linkable(c.node) {
                self.live.push(c);
            }
        }
    }

    /// Links `n -> new` (at distance `d`) on `level`: appended if `n`'s list has room, else the list
    /// is re-pruned with the heuristic over the old list plus `new`, reusing the recorded decisions
    /// (see [`Flag`]) up to the first entry that is new, undecided or tied in distance with a
    /// neighbour in the order (ties may have been ordered differently when the flag was recorded).
    fn connect<G: GraphStore<Node = N>>(&mut self, g: &mut G, n: N, new: N, d: f32, level: usize) {
        if n == new {
            // Only after a crash between VACUUM's passes can a reused slot be its own candidate.
            return;
        }
        g.lock_list(n);
        self.connect_locked(g, n, new, d, level);
        g.unlock_list(n);
    }

    /// [`Inserter::connect`] with `n`'s list locked.
    fn connect_locked<G: GraphStore<Node = N>>(
        &mut self,
        g: &mut G,
        n: N,
        new: N,
        d: f32,
        level: usize,
    ) {
        self.cands.clear();
        g.links(n, level, &mut self.cands);
        if self.cands.iter().any(|l| l.node == new) {
            return;
        }
        let cap = g.capacity(level);
        let link = Link {
            node: new,
            distance: d,
            flag: Flag::Unknown,
        };
        if self.cands.len() < cap {
            self.cands.push(link);
            // A store that keeps distances gets the link in its place, so that the re-pruning
            // once the list is full finds it in order.
            if G::KEEPS_DISTANCES {
                place_last(n, &mut self.cands, false);
            }
            g.set_links(n, level, &self.cands);
            return;
        }
        if !G::KEEPS_DISTANCES {
            for l in self.cands.iter_mut() {
                l.distance = g.distance_between(n, l.node);
            }
        }
        self.cands.push(link);
        place_last(n, &mut self.cands, true);
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        self.kept.clear();
        self.rest.clear();
        self.decided.clear();
        let mut mode = Mode::Recorded;
        for i in 0..self.cands.len() {
            if self.kept.len() >= cap {
                break;
            }
            let e = self.cands[i];
            if mode != Mode::Recorded {
                // Its distances to the kept ones are computed next (the kept ones were read).
                if let Some(next) = self.cands.get(i + 1) {
                    g.prefetch_vector(next.node);
                }
            }
            let tied = (i > 0 && same(self.cands[i - 1].distance, e.distance))
                || self
                    .cands
                    .get(i + 1)
                    .is_some_and(|next| same(next.distance, e.distance));
            if tied || (e.flag == Flag::Unknown && e.node != new) {
                mode = Mode::Compute;
            }
            let kept = &self.kept;
            let full_check = |g: &mut G| {
                kept.iter()
                    .all(|r| g.distance_between(e.node, r.node) > e.distance)
            };
            let diverse = match mode {
                Mode::Compute => full_check(g),
                Mode::Recorded if e.node == new => {
                    let keep = full_check(g);
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
                        let keep = g.distance_between(e.node, new) > e.distance;
                        if !keep {
                            // The kept set now differs from the recorded one.
                            mode = Mode::Compute;
                        }
                        keep
                    }
                },
            };
            let flag = if diverse { Flag::Kept } else { Flag::Pruned };
            self.decided.push(flag);
            let target = if diverse {
                &mut self.kept
            } else {
                &mut self.rest
            };
            target.push(Link { flag, ..e });
        }
        let missing = cap - self.kept.len();
        let fill = self.rest.len().min(missing);
        #[cfg(test)]
        if g.cross_checkable() {
            self.check_against_plain_heuristic(g, n, cap, fill);
        }
        let chosen = || self.kept.iter().chain(&self.rest[..fill]);
        if !G::KEEPS_DISTANCES && !chosen().any(|l| l.node == new) {
            // Nothing changes but the order, and this store records no order or decisions.
            return;
        }
        // The same links in list order (as they stand in `cands`), so that the next re-pruning of
        // this list needs no sort: every kept one and the first `fill` pruned ones.
        self.ordered.clear();
        let mut pruned = 0;
        for (e, &flag) in self.cands.iter().zip(&self.decided) {
            pruned += usize::from(flag == Flag::Pruned);
            if flag == Flag::Kept || (flag == Flag::Pruned && pruned <= fill) {
                self.ordered.push(Link { flag, ..*e });
            }
        }
        g.set_links(n, level, &self.ordered);
    }

    /// Tests cross-check the decision reuse against the plain heuristic.
    #[cfg(test)]
    /// `fill`: how many of the pruned links fill the list up after the kept ones.
    fn check_against_plain_heuristic<G: GraphStore<Node = N>>(
        &self,
        g: &mut G,
        n: N,
        cap: usize,
        fill: usize,
    ) {
        let plain: Vec<Candidate<N>> = self
            .cands
            .iter()
            .map(|l| Candidate {
                distance: g.distance_between(n, l.node),
                node: l.node,
            })
            .collect();
        let (mut out, mut pruned) = (Vec::new(), Vec::new());
        select_into(
            &plain,
            cap,
            |a, b| g.distance_between(a, b),
            &mut out,
            &mut pruned,
        );
        assert!(out.iter().map(|c| c.node).eq(self
            .kept
            .iter()
            .chain(&self.rest[..fill])
            .map(|l| l.node)));
    }
}

/// How far the recorded [`Flag`]s can be trusted while re-pruning a list (walking it in sorted order).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The kept set so far is exactly the recorded `Kept` entries: every recorded flag holds as is.
    Recorded,
    /// The kept set so far is the recorded `Kept` entries plus the new link: a recorded `Pruned`
    /// stays pruned, a recorded `Kept` only needs its distance to the new link checked.
    RecordedPlusNew,
    /// Anything else: run the full check against the kept set.
    Compute,
}

/// The order of `owner`'s list: ascending distance, exact ties broken by a hash of `(owner, node)`.
///
/// Tie order matters for duplicate vectors: with ties broken by id, every list would keep the same
/// lowest ids and later duplicates would lose all incoming links (unreachable nodes). A per-owner
/// pseudo-random order makes the links among duplicates a random graph, connected w.h.p.
fn link_order<N: Copy + Hash>(owner: N) -> impl Fn(&Link<N>, &Link<N>) -> Ordering {
    let mix = move |node: N| {
        let mut h = super::FxHasher::default();
        owner.hash(&mut h);
        node.hash(&mut h);
        let mut z = h.finish().wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z ^= z >> 29;
        z.wrapping_mul(0xbf58_476d_1ce4_e5b9)
    };
    move |a, b| {
        let (ka, kb) = (Key::new(a.distance, ()), Key::new(b.distance, ()));
        ka.d.total_cmp(&kb.d)
            .then_with(|| mix(a.node).cmp(&mix(b.node)))
    }
}

/// Sorts `links` in `owner`'s list order ([`link_order`]) and forgets their heuristic decisions:
/// what a store does to a list whose recorded distances it replaced.
pub(super) fn reorder_undecided<N: Copy + Hash>(owner: N, links: &mut [Link<N>]) {
    links.iter_mut().for_each(|l| l.flag = Flag::Unknown);
    links.sort_unstable_by(link_order(owner));
}

/// Moves the last link of `v` to its place in `owner`'s list order when the others are in that
/// order (one binary search and a shift: a list this module wrote back, see
/// [`Inserter::connect`]); otherwise sorts the whole list if `sort_otherwise`, else leaves it.
/// Sorting every re-pruned list took a sixth of an in-memory build.
fn place_last<N: Copy + Hash>(owner: N, v: &mut [Link<N>], sort_otherwise: bool) {
    let order = link_order(owner);
    let Some((last, rest)) = v.split_last() else {
        return;
    };
    if rest.is_sorted_by(|a, b| order(a, b) != Ordering::Greater) {
        let at = rest.partition_point(|l| order(l, last) != Ordering::Greater);
        v[at..].rotate_right(1);
    } else if sort_otherwise {
        v.sort_unstable_by(order);
    }
}

impl<N: Copy + Ord + Hash + Eq> Inserter<N, super::FxHashSet<N>> {
    /// An inserter for any node type (an Fx-hashed visited set).
    pub fn new() -> Self {
        Inserter::with_visited(super::FxHashSet::default())
    }
}

impl<N: Copy + Ord + Hash + Eq> Default for Inserter<N, super::FxHashSet<N>> {
    fn default() -> Self {
        Self::new()
    }
}
