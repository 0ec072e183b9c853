//! [`PageGraph`]: the graph as stored in the index pages, implementing the core crate's seam — the
//! read half (`GraphView`) every scan searches through, and the write half (`GraphStore`) the shared
//! insert / repair algorithm writes through — plus the meta page and page listings.
//!
//! Reads take a share content lock for the few microseconds they copy or compute; nothing is held
//! between calls, so scans run concurrently with inserts (which lock pages exclusively to change them).
//! Writes (`set_links`) are one WAL record each, through `write`; a writer's read-modify-write of a
//! list holds the list's page-level lock (`lock_list`).

use super::codec::Codec;
use super::pages::buffer::{prefetch_item, prefetch_page, with_data_page, with_page};
use super::pages::format::{self as page, Meta, Node};
use super::pages::lock::PageLock;
use super::write;
use crate::errors::{raise, Code};
use embedrank_core::distance::Metric;
use embedrank_core::hnsw::{prefetch_ahead, Flag, FxBuildHasher, GraphStore, GraphView, Link};
use pgrx::pg_sys;
use std::collections::HashMap;

/// A copy of the meta page.
pub fn read_meta(index: pg_sys::Relation) -> Meta {
    let meta = with_page(index, page::META_BLOCK, page::KIND_META, |p| unsafe {
        *page::meta_ptr(p)
    });
    let stale = page::RETIRED_ENCODINGS.contains(&meta.encoding)
        || (meta.magic == page::MAGIC
            && page::Encoding::from_code(meta.encoding)
                .is_some_and(|e| !e.serves(unsafe { super::column::encoding(index) })));
    if stale {
        // A sparsevec index from before sparse storage (stored dense, code 0), or a bit index
        // from before words: its elements are not what this version reads.
        raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "index \"{}\" was built by an earlier version of pg_embedrank",
                unsafe { page::rel_name(index) }
            ),
            Some("REINDEX the index."),
        );
    }
    if meta.magic != page::MAGIC || page::Encoding::from_code(meta.encoding).is_none() {
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
    /// How far the row's values may be from the element's (a quantized index's bound; else 0).
    pub error: f32,
}

/// What the cache keeps of an element besides its vector.
#[derive(Clone, Copy)]
struct Cached {
    /// Offset of the vector in the arena, and its length.
    at: usize,
    len: usize,
    live: bool,
    neighbors: Node,
}

/// Elements already read by one insert or vacuum, vectors in one arena: an insert computes ~10^4
/// node-to-node distances over ~10^3 distinct nodes while re-pruning neighbour lists. Profiling
/// showed a `Vec` per cached vector (and the heap growing and shrinking on every insert) costing a
/// fifth of the insert in malloc and page faults, so the arena is kept between inserts of a backend.
#[derive(Default)]
struct ElementCache {
    slot: HashMap<Node, Cached, FxBuildHasher>,
    data: Vec<f32>,
}

/// How much of an element a batch of distances prefetches: a quantized element whole (460 bytes at
/// 384 dims), the start of a float4 one (the hardware prefetcher follows the rest).
const PREFETCH_ITEM_BYTES: usize = 512;

/// Arena capacity (in floats) a backend keeps between inserts; larger ones (vacuum) are freed.
const SPARE_CACHE_FLOATS: usize = 4 << 20;

thread_local! {
    /// The last element read from a halfvec or quantized index, decoded to float4.
    static DECODED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// 4-bit codes unpacked to a byte each for the code distance kernel.
    static UNPACKED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static SPARE_CACHE: std::cell::RefCell<Option<ElementCache>> = const { std::cell::RefCell::new(None) };
}

/// The graph as stored in pages, for scans and for the insert/vacuum algorithms.
pub struct PageGraph {
    pub index: pg_sys::Relation,
    pub dims: usize,
    pub encoding: page::Encoding,
    /// How elements hold their values (the quantizer of a quantized index).
    pub codec: Codec,
    pub m: usize,
    pub metric: Metric,
    /// Elements already read, when the caller computes many node-to-node distances (insert, vacuum).
    cache: Option<ElementCache>,
    /// The list lock this writer holds (`lock_list`), if any.
    held: Option<PageLock>,
}

impl PageGraph {
    pub fn new(index: pg_sys::Relation, meta: &Meta, cache_vectors: bool) -> Self {
        PageGraph {
            index,
            dims: meta.dims as usize,
            encoding: meta.encoding(),
            codec: unsafe { Codec::load(index, meta) },
            m: meta.m as usize,
            metric: super::metric::search_metric(meta.metric, meta.encoding()),
            cache: cache_vectors.then(|| {
                SPARE_CACHE
                    .with(|s| s.borrow_mut().take())
                    .unwrap_or_default()
            }),
            held: None,
        }
    }

    /// Drop cached elements once they take more than `max_bytes` (vacuum touches the whole graph).
    pub fn trim_cache(&mut self, max_bytes: usize) {
        if let Some(c) = self.cache.as_mut() {
            if c.data.len() * 4 > max_bytes {
                c.slot.clear();
                c.data.clear();
            }
        }
    }

    /// Forget the cached copy of `n` (its slot was just rewritten).
    pub fn forget(&mut self, n: Node) {
        if let Some(c) = self.cache.as_mut() {
            c.slot.remove(&n);
        }
    }

    /// Run `f` on `n`'s header and vector while the page is share-locked: 4-byte slots where they
    /// lie on the page (no copy), halves and codes decoded into a per-backend buffer first.
    fn with_element<R>(&self, n: Node, f: impl FnOnce(&page::ElementHeader, &[f32]) -> R) -> R {
        let (index, dims, enc) = (self.index, self.dims, self.encoding);
        with_page(index, page::node_block(n), page::KIND_DATA, |p| unsafe {
            let (h, values, bytes) = page::element_values(index, p, n, dims, enc);
            self.values_as_float4(bytes, values, |v| f(h, v))
        })
    }

    /// Runs `f` on an element's stored bytes as float4 values: in place for a float4 index, decoded
    /// into a per-backend buffer for halves and codes (`values` of them).
    fn values_as_float4<R>(&self, bytes: &[u8], values: usize, f: impl FnOnce(&[f32]) -> R) -> R {
        if self.encoding.is_float4() {
            return f(page::as_float4(bytes));
        }
        DECODED.with(|d| {
            let mut d = d.borrow_mut();
            self.codec.decode(bytes, values, &mut d);
            f(&d)
        })
    }

    /// Whether element `n` stores exactly `payload` (an exact duplicate of the row it encodes: same
    /// values, or under a quantizer, same codes and the same error bound).
    pub fn stores(&self, n: Node, payload: &[u8]) -> bool {
        let (index, dims, enc) = (self.index, self.dims, self.encoding);
        with_page(index, page::node_block(n), page::KIND_DATA, |p| unsafe {
            page::element_values(index, p, n, dims, enc).2 == payload
        })
    }

    /// The cache entry of `n`, reading the element in if needed (caching must be on).
    fn cached(&mut self, n: Node) -> Cached {
        if let Some(&c) = self.cache.as_ref().expect("cache is on").slot.get(&n) {
            return c;
        }
        let mut c = self.cache.take().expect("cache is on");
        let at = c.data.len();
        let entry = self.with_element(n, |h, v| {
            c.data.extend_from_slice(v);
            Cached {
                at,
                len: v.len(),
                live: h.deleted == page::LIVE,
                neighbors: page::node(h.neighbors_block, h.neighbors_offset),
            }
        });
        c.slot.insert(n, entry);
        self.cache = Some(c);
        entry
    }

    /// The cached vector of entry `c` (caching must be on).
    fn arena(&self, c: Cached) -> &[f32] {
        &self.cache.as_ref().expect("cache is on").data[c.at..c.at + c.len]
    }

    /// Copy of `n`'s vector (cached when caching is on).
    pub fn vector(&mut self, n: Node) -> Vec<f32> {
        if self.cache.is_none() {
            return self.with_element(n, |_, v| v.to_vec());
        }
        let c = self.cached(n);
        self.arena(c).to_vec()
    }

    /// Header facts of element `n`.
    pub fn element(&self, n: Node) -> ElementInfo {
        let (index, dims, enc) = (self.index, self.dims, self.encoding);
        with_page(index, page::node_block(n), page::KIND_DATA, |p| unsafe {
            let (h, _, bytes) = page::element_values(index, p, n, dims, enc);
            ElementInfo {
                level: h.level as usize,
                deleted: h.deleted != page::LIVE,
                tids: h.tids[..h.ntids as usize].to_vec(),
                neighbors: page::node(h.neighbors_block, h.neighbors_offset),
                error: self.codec.error(bytes),
            }
        })
    }

    /// Where `n`'s neighbour item is.
    fn neighbor_item(&mut self, n: Node) -> Node {
        if self.cache.is_some() {
            return self.cached(n).neighbors;
        }
        self.element(n).neighbors
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
            let c = self.cached(n);
            return self.metric.index_distance(query, self.arena(c));
        }
        // Hot path of every scan: compute on the page itself, no copy (codes too: the code kernel
        // reads them in place and gives the decoded vector's distance).
        let (index, dims, enc) = (self.index, self.dims, self.encoding);
        with_page(index, page::node_block(n), page::KIND_DATA, |p| unsafe {
            let (_, values, bytes) = page::element_values(index, p, n, dims, enc);
            if !enc.is_float4() {
                let coded =
                    UNPACKED.with(|u| self.codec.distance(query, bytes, &mut u.borrow_mut()));
                if let Some(d) = coded {
                    return d;
                }
            }
            self.values_as_float4(bytes, values, |v| self.metric.index_distance(query, v))
        })
    }

    /// All of a node's unvisited neighbours at once: their pages are prefetched (descriptor, header,
    /// then the element's first bytes) before the first is read, so a walk waits for memory about
    /// once per expanded node instead of once per neighbour.
    fn distances(&mut self, query: &[f32], nodes: &[Node], out: &mut Vec<f32>) {
        out.clear();
        if self.cache.is_some() || nodes.len() < 2 {
            for &n in nodes {
                let d = self.distance_to(query, n);
                out.push(d);
            }
            return;
        }
        for &n in nodes {
            prefetch_page(self.index, page::node_block(n), page::node_offset(n));
        }
        // The element's bytes are aimed at through its line pointer, which must have arrived:
        // they are asked for a few elements ahead of the one being computed (`prefetch_ahead`).
        let bytes =
            (page::ELEMENT_HEADER + self.encoding.value_bytes(self.dims)).min(PREFETCH_ITEM_BYTES);
        let index = self.index;
        prefetch_ahead(
            nodes,
            |n| prefetch_item(index, page::node_block(n), page::node_offset(n), bytes),
            |n| {
                let d = self.distance_to(query, n);
                out.push(d);
            },
        );
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

/// Pages keep no link distances or heuristic decisions: the algorithm computes what it needs on the
/// cached vectors. Each list change is one WAL record.
impl GraphStore for PageGraph {
    const KEEPS_DISTANCES: bool = false;

    fn distance_between(&mut self, a: Node, b: Node) -> f32 {
        if self.cache.is_none() {
            let va = self.vector(a);
            return self.with_element(b, |_, vb| self.metric.index_distance(&va, vb));
        }
        let (ca, cb) = (self.cached(a), self.cached(b));
        self.metric.index_distance(self.arena(ca), self.arena(cb))
    }

    fn links(&mut self, n: Node, level: usize, out: &mut Vec<Link<Node>>) {
        let mut ids = Vec::with_capacity(page::level_capacity(self.m, level));
        self.neighbors(n, level, &mut ids);
        out.extend(ids.into_iter().map(|node| Link {
            node,
            distance: 0.0,
            flag: Flag::Unknown,
        }));
    }

    fn set_links(&mut self, n: Node, level: usize, links: &[Link<Node>]) {
        let nb = self.neighbor_item(n);
        let list: Vec<Node> = links.iter().map(|l| l.node).collect();
        unsafe { write::set_neighbors(self.index, self.m, nb, level, &list) };
    }

    fn linkable(&mut self, n: Node) -> bool {
        if self.cache.is_some() {
            return self.cached(n).live;
        }
        !self.element(n).deleted
    }

    fn vector_of(&mut self, n: Node) -> Vec<f32> {
        self.vector(n)
    }

    fn capacity(&self, level: usize) -> usize {
        page::level_capacity(self.m, level)
    }

    /// The page-level lock of the block `n`'s lists are on (a lock-manager lock, not a buffer lock:
    /// the algorithm reads other pages while it holds it). Concurrent writers of lists on one block
    /// take turns; scans never take it.
    fn lock_list(&mut self, n: Node) {
        debug_assert!(self.held.is_none(), "one list lock at a time");
        let block = page::node_block(self.neighbor_item(n));
        self.held = Some(PageLock::exclusive(self.index, block));
    }

    fn unlock_list(&mut self, _n: Node) {
        self.held = None;
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
    with_data_page(index, block, |p| unsafe {
        out.extend(page::elements(p).map(|(off, h)| ListedElement {
            node: page::node(block, off),
            level: h.level as usize,
            deleted: h.deleted,
            ntids: h.ntids as usize,
        }));
    });
}
