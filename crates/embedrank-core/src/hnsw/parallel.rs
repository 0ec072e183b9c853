//! Linking stored nodes into the in-memory graph on several threads (the parallel `CREATE INDEX`).
//!
//! Design: every vector is stored first (so vectors and levels are read-only while threads run);
//! then worker threads take node ids in order from a shared counter and run the one insert algorithm
//! ([`Inserter`]) on each, through a [`GraphStore`] view whose list reads and writes take the node's
//! lock: one of [`STRIPES`] mutexes, chosen by id, so the locks cost a few KB instead of one per
//! node. A back link is a read-modify-write of the neighbour's list, held under that list's lock for
//! the whole re-prune ([`GraphStore::lock_list`]); a thread holds at most one lock at a time and
//! computes only distances while holding it, so threads never deadlock. The entry point is behind
//! its own mutex; a node taller than the entry point when it started replaces it when done, as in
//! hnswlib and pgvector's parallel build. The graph differs from the serial one (inserts interleave)
//! but is built by the same algorithm; recall is the same within noise (tests check the floor).
//!
//! The calling thread does no linking: it polls (progress, interrupts) every 20 ms, and a panic in
//! its poll callback (a Postgres ERROR) stops the workers after their current node, then goes on.

use super::half_copy::HalfCopy;
use super::insert::{GraphStore, Inserter, Link};
use super::memory::{RawLists, Store};
use super::visited::BitSet;
use super::{Candidate, GraphView};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Lock stripes: node `n` is guarded by `locks[n % STRIPES]`.
const STRIPES: usize = 4096;

/// State the workers share.
struct Shared<'a> {
    store: &'a Store,
    raw: RawLists,
    locks: Vec<Mutex<()>>,
    entry: Mutex<(u32, usize)>,
    next: AtomicU32,
    end: u32,
    stop: AtomicBool,
    done: AtomicUsize,
}

fn stripe(n: u32) -> usize {
    n as usize % STRIPES
}

/// Links nodes `ids` of `store` (through `raw`, pointers into its lists) on `threads` threads, from
/// the graph's `entry` point; returns the entry point afterwards and the end of the nodes linked:
/// `ids.end`, unless the workers paused because the copy stepped aside while the vectors are set
/// aside ([`Store::copy_stepped_aside`]): then the nodes from there on are still pending. See
/// [`super::InMemoryGraph::link_pending`].
#[allow(clippy::too_many_arguments)]
pub(super) fn link(
    store: &Store,
    raw: RawLists,
    entry: (u32, usize),
    ids: Range<u32>,
    ef: usize,
    threads: usize,
    spawn: &dyn Fn(&mut dyn FnMut()),
    poll: &mut dyn FnMut(usize),
) -> ((u32, usize), u32) {
    let shared = Shared {
        store,
        raw,
        locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        entry: Mutex::new(entry),
        next: AtomicU32::new(ids.start),
        end: ids.end,
        stop: AtomicBool::new(false),
        done: AtomicUsize::new(0),
    };
    std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(threads);
        spawn(&mut || {
            for _ in 0..threads {
                handles.push(s.spawn(|| worker(&shared, ef)));
            }
        });
        // Stops the workers if `poll` panics (their scope then joins them before the panic goes on).
        struct StopOnDrop<'b>(&'b AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop = StopOnDrop(&shared.stop);
        while !handles.iter().all(|h| h.is_finished()) {
            poll(shared.done.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(stop);
        for h in handles {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    // Every worker ended without a panic and nobody stopped them: each took ids until none was
    // left, or until the copy stepped aside. Every id taken was linked (a worker checks before it
    // takes one, and finishes the one it took).
    let next = shared.next.load(Ordering::Relaxed);
    assert!(
        next >= shared.end || store.copy_stepped_aside(),
        "the workers left nodes unlinked (were they started?)"
    );
    let entry = *shared.entry.lock().expect("entry lock");
    (entry, next.min(shared.end))
}

fn worker(sh: &Shared<'_>, ef: usize) {
    let mut inserter = Inserter::with_visited(BitSet::default());
    let mut view = View {
        sh,
        held: None,
        use_copy: false,
        current: 0,
    };
    let mut query = Vec::new();
    while !sh.stop.load(Ordering::Relaxed) && !sh.store.copy_stepped_aside() {
        let id = sh.next.fetch_add(1, Ordering::Relaxed);
        if id >= sh.end {
            break;
        }
        let level = usize::from(sh.store.levels[id as usize]);
        view.use_copy = sh.store.link_query(id, &mut query);
        view.current = id;
        let entry = *sh.entry.lock().expect("entry lock");
        inserter.plan(&mut view, &query, level, entry, ef);
        for (l, list) in inserter.planned().iter().enumerate() {
            view.set_links(id, l, list);
        }
        inserter.link_back(&mut view, id);
        if level > entry.1 {
            let mut e = sh.entry.lock().expect("entry lock");
            if level > e.1 {
                *e = (id, level);
            }
        }
        sh.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// One worker's view of the shared graph: every list access under the node's lock stripe.
struct View<'a> {
    sh: &'a Shared<'a>,
    /// The stripe this worker holds across a read-modify-write ([`GraphStore::lock_list`]).
    held: Option<(usize, MutexGuard<'a, ()>)>,
    /// Whether the insert under way reads the half-precision copy, and its node.
    use_copy: bool,
    current: u32,
}

impl<'a> View<'a> {
    /// The copy, when the insert under way reads it.
    fn copy(&self) -> Option<&'a HalfCopy> {
        self.sh.store.copy_if(self.use_copy)
    }

    /// Runs `f` on the lists with `n`'s stripe held (taken here unless this worker holds it).
    fn with_lock<R>(&mut self, n: u32, f: impl FnOnce(RawLists) -> R) -> R {
        let s = stripe(n);
        if self.held.as_ref().is_some_and(|(h, _)| *h == s) {
            return f(self.sh.raw);
        }
        let _guard = self.sh.locks[s].lock().expect("list lock");
        f(self.sh.raw)
    }
}

impl GraphView for View<'_> {
    type Node = u32;
    #[inline]
    fn distance_to(&mut self, query: &[f32], n: u32) -> f32 {
        self.sh.store.distance_to_vector(self.copy(), query, n)
    }
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        // SAFETY: `n`'s stripe is held for the read; writers take it too.
        self.with_lock(n, |raw| unsafe { raw.ids(n, level, out) })
    }
    fn distances(&mut self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        self.sh
            .store
            .distances_to_vectors(self.copy(), query, nodes, out)
    }
    fn prefetch_links(&mut self, n: u32, level: usize) {
        // A hint reads nothing: no lock needed.
        self.sh.store.prefetch_links(n, level)
    }
}

impl GraphStore for View<'_> {
    const KEEPS_DISTANCES: bool = true;
    #[inline]
    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        self.sh.store.distance_between_nodes(self.copy(), a, b)
    }
    fn links(&mut self, n: u32, level: usize, out: &mut Vec<Link<u32>>) {
        let (store, exact) = (self.sh.store, !self.use_copy);
        // SAFETY: as in `neighbors`; the stripe is held for the rewrite too.
        self.with_lock(n, |raw| unsafe {
            if exact {
                store.make_lists_exact(raw, n);
            }
            raw.read(n, level, out)
        })
    }
    fn set_links(&mut self, n: u32, level: usize, links: &[Link<u32>]) {
        let store = self.sh.store;
        let copy = store.copy_if(self.use_copy);
        // SAFETY: `n`'s stripe is held for the write (and the mark); readers take it too.
        self.with_lock(n, |raw| unsafe {
            store.mark_written(copy, n);
            raw.write(n, level, links.iter().copied())
        })
    }
    fn linkable(&mut self, _n: u32) -> bool {
        true
    }
    fn vector_of(&mut self, n: u32) -> Vec<f32> {
        self.sh.store.vector(n).to_vec()
    }
    fn capacity(&self, level: usize) -> usize {
        self.sh.store.level_capacity(level)
    }
    fn check_found(&mut self, found: &[Candidate<u32>]) {
        self.sh.store.check_found(self.copy(), self.current, found)
    }
    fn prefetch_vector(&mut self, n: u32) {
        self.sh.store.prefetch_vector(self.copy(), n)
    }
    #[cfg(test)]
    fn cross_checkable(&self) -> bool {
        self.copy().is_none_or(HalfCopy::on)
    }
    fn lock_list(&mut self, n: u32) {
        let s = stripe(n);
        debug_assert!(self.held.is_none(), "one list lock at a time");
        self.held = Some((s, self.sh.locks[s].lock().expect("list lock")));
    }
    fn unlock_list(&mut self, _n: u32) {
        self.held = None;
    }
}
