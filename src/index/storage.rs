//! Reading the index through the buffer manager: the meta page, element vectors, neighbour lists —
//! and [`PageGraph`], the page-backed implementation of the core crate's `GraphView` seam.
//!
//! Reads take a share content lock for the few microseconds they copy or compute; nothing is held
//! between calls, so scans run concurrently with inserts (which lock pages exclusively to change them).

use super::page::{self, Meta, Node};
use crate::errors::{raise, Code};
use embedrank_core::distance::Metric;
use embedrank_core::hnsw::{FxBuildHasher, GraphView};
use pgrx::pg_sys;
use std::collections::HashMap;

/// Pin block `block` of `index` and lock it in `mode` (BUFFER_LOCK_SHARE / _EXCLUSIVE).
pub unsafe fn lock_block(index: pg_sys::Relation, block: u32, mode: u32) -> pg_sys::Buffer {
    let buf = pg_sys::ReadBufferExtended(
        index,
        pg_sys::ForkNumber::MAIN_FORKNUM,
        block,
        pg_sys::ReadBufferMode::RBM_NORMAL,
        std::ptr::null_mut(),
    );
    pg_sys::LockBuffer(buf, mode as i32);
    buf
}

/// Run `f` on page `block` under a share lock, after checking it is a page of `kind`.
pub fn with_page<R>(
    index: pg_sys::Relation,
    block: u32,
    kind: u16,
    f: impl FnOnce(pg_sys::Page) -> R,
) -> R {
    unsafe {
        let buf = lock_block(index, block, pg_sys::BUFFER_LOCK_SHARE);
        let p = pg_sys::BufferGetPage(buf);
        page::check_page(index, p, block, kind);
        let r = f(p);
        pg_sys::UnlockReleaseBuffer(buf);
        r
    }
}

/// A copy of the meta page.
pub fn read_meta(index: pg_sys::Relation) -> Meta {
    let meta = with_page(index, page::META_BLOCK, page::KIND_META, |p| unsafe {
        *page::meta_ptr(p)
    });
    if meta.magic != page::MAGIC {
        raise(
            Code::ERRCODE_INDEX_CORRUPTED,
            format!("index \"{}\" has a bad meta page", unsafe {
                page::rel_name(index)
            }),
            Some("REINDEX the index."),
        );
    }
    meta
}

/// Element facts a caller needs besides the vector.
#[derive(Clone, Debug)]
pub struct ElementInfo {
    pub level: usize,
    pub deleted: bool,
    pub tids: Vec<pg_sys::ItemPointerData>,
    pub neighbors: Node,
}

/// Vectors already read by one insert or vacuum, in one arena: an insert computes ~10^4
/// node-to-node distances over ~10^3 distinct nodes while re-pruning neighbour lists. Profiling
/// showed a `Vec` per cached vector (and the heap growing and shrinking on every insert) costing a
/// fifth of the insert in malloc and page faults, so the arena is kept between inserts of a backend.
#[derive(Default)]
struct VectorCache {
    slot: HashMap<Node, usize, FxBuildHasher>,
    data: Vec<f32>,
}

/// Arena capacity (in floats) a backend keeps between inserts; larger ones (vacuum) are freed.
const SPARE_CACHE_FLOATS: usize = 4 << 20;

thread_local! {
    static SPARE_CACHE: std::cell::RefCell<Option<VectorCache>> = const { std::cell::RefCell::new(None) };
}

/// The graph as stored in pages, for search and for the insert/vacuum algorithms.
pub struct PageGraph {
    pub index: pg_sys::Relation,
    pub dims: usize,
    pub m: usize,
    pub metric: Metric,
    /// Vectors already read, when the caller computes many node-to-node distances (insert, vacuum).
    cache: Option<VectorCache>,
}

impl PageGraph {
    pub fn new(index: pg_sys::Relation, meta: &Meta, cache_vectors: bool) -> Self {
        PageGraph {
            index,
            dims: meta.dims as usize,
            m: meta.m as usize,
            metric: super::options::search_metric(meta.metric),
            cache: cache_vectors.then(|| {
                SPARE_CACHE
                    .with(|s| s.borrow_mut().take())
                    .unwrap_or_default()
            }),
        }
    }

    /// Drop cached vectors once they take more than `max_bytes` (vacuum touches the whole graph).
    pub fn trim_cache(&mut self, max_bytes: usize) {
        if let Some(c) = self.cache.as_mut() {
            if c.data.len() * 4 > max_bytes {
                c.slot.clear();
                c.data.clear();
            }
        }
    }

    /// Forget the cached copy of `n`'s vector (its slot was just rewritten).
    pub fn forget(&mut self, n: Node) {
        if let Some(c) = self.cache.as_mut() {
            c.slot.remove(&n);
        }
    }

    /// Run `f` on `n`'s vector where it lies on its page (share-locked for the call, no copy).
    fn with_vector<R>(&self, n: Node, f: impl FnOnce(&[f32]) -> R) -> R {
        let (index, dims) = (self.index, self.dims);
        with_page(index, page::node_block(n), page::KIND_DATA, |p| unsafe {
            f(page::element_vector(page::item(index, p, n, true), dims))
        })
    }

    /// Offset of `n`'s vector in the cache arena, reading it in if needed (caching must be on).
    fn cached(&mut self, n: Node) -> usize {
        if let Some(&at) = self.cache.as_ref().expect("cache is on").slot.get(&n) {
            return at;
        }
        let mut c = self.cache.take().expect("cache is on");
        let at = c.data.len();
        self.with_vector(n, |v| c.data.extend_from_slice(v));
        c.slot.insert(n, at);
        self.cache = Some(c);
        at
    }

    /// The cached vector at arena offset `at` (caching must be on).
    fn arena(&self, at: usize) -> &[f32] {
        &self.cache.as_ref().expect("cache is on").data[at..at + self.dims]
    }

    /// Copy of `n`'s vector (cached when caching is on).
    pub fn vector(&mut self, n: Node) -> Vec<f32> {
        if self.cache.is_none() {
            return self.with_vector(n, <[f32]>::to_vec);
        }
        let at = self.cached(n);
        self.arena(at).to_vec()
    }

    /// Distance between two stored nodes (computed on the cached copies when caching is on).
    pub fn distance_between(&mut self, a: Node, b: Node) -> f32 {
        if self.cache.is_none() {
            let va = self.with_vector(a, <[f32]>::to_vec);
            return self.with_vector(b, |vb| self.metric.index_distance(&va, vb));
        }
        let (ia, ib) = (self.cached(a), self.cached(b));
        self.metric.index_distance(self.arena(ia), self.arena(ib))
    }

    /// Header facts of element `n`.
    pub fn element(&self, n: Node) -> ElementInfo {
        with_page(
            self.index,
            page::node_block(n),
            page::KIND_DATA,
            |p| unsafe {
                let h = page::element_header(page::item(self.index, p, n, true));
                ElementInfo {
                    level: h.level as usize,
                    deleted: h.deleted != 0,
                    tids: h.tids[..h.ntids as usize].to_vec(),
                    neighbors: page::node(h.neighbors_block, h.neighbors_offset),
                }
            },
        )
    }
}

impl Drop for PageGraph {
    /// Hand a small arena back for the backend's next insert.
    fn drop(&mut self) {
        if let Some(mut c) = self.cache.take() {
            if c.data.capacity() <= SPARE_CACHE_FLOATS && !std::thread::panicking() {
                c.slot.clear();
                c.data.clear();
                SPARE_CACHE.with(|s| *s.borrow_mut() = Some(c));
            }
        }
    }
}

impl GraphView for PageGraph {
    type Node = Node;

    fn distance_to(&mut self, query: &[f32], n: Node) -> f32 {
        if self.cache.is_some() {
            let at = self.cached(n);
            return self.metric.index_distance(query, self.arena(at));
        }
        // Hot path of every scan: compute on the page itself, no copy.
        self.with_vector(n, |v| self.metric.index_distance(query, v))
    }

    fn neighbors(&mut self, n: Node, level: usize, out: &mut Vec<Node>) {
        let (index, m) = (self.index, self.m);
        let block = page::node_block(n);
        let other = with_page(index, block, page::KIND_DATA, |p| unsafe {
            let h = page::element_header(page::item(index, p, n, true));
            let nb = page::node(h.neighbors_block, h.neighbors_offset);
            if h.neighbors_block == block {
                page::read_slots(page::item(index, p, nb, false), m, level, out);
                None
            } else {
                Some(nb)
            }
        });
        if let Some(nb) = other {
            with_page(index, page::node_block(nb), page::KIND_DATA, |p| unsafe {
                page::read_slots(page::item(index, p, nb, false), m, level, out);
            });
        }
    }
}

/// One element as listed by [`page_elements`].
pub struct ListedElement {
    pub node: Node,
    pub level: usize,
    /// `page::LIVE`, `DELETED_LINKED` or `DELETED_FREE`.
    pub deleted: u8,
    pub ntids: usize,
}

/// The elements on page `block` (none on a new, never-initialised page).
pub fn page_elements(index: pg_sys::Relation, block: u32, out: &mut Vec<ListedElement>) {
    unsafe {
        let buf = lock_block(index, block, pg_sys::BUFFER_LOCK_SHARE);
        let p = pg_sys::BufferGetPage(buf);
        if !page::is_new(p) {
            page::check_page(index, p, block, page::KIND_DATA);
            out.extend(page::elements(p).map(|(off, h)| ListedElement {
                node: page::node(block, off),
                level: h.level as usize,
                deleted: h.deleted,
                ntids: h.ntids as usize,
            }));
        }
        pg_sys::UnlockReleaseBuffer(buf);
    }
}

/// Number of blocks of the index's main fork.
pub fn block_count(index: pg_sys::Relation) -> u32 {
    unsafe { pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM) }
}
