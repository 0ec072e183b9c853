//! CREATE INDEX: analyse every row, gather each lexeme's postings in memory, then write the pages in
//! one pass — meta, document table, posting blocks (each term's blocks next to each other), and
//! the dictionary's buckets — every page WAL-logged as a full image.
//!
//! Block positions are planned before a block is written (a term's blocks point forward to the
//! next, so where the next goes must be known): [`Filler`] mirrors the page's free-space arithmetic
//! and the write checks the item landed where the plan said.

use super::analyze::analyze;
use super::format::{self as f, DocEntry, Meta, Posting, Ptr, TermEntry};
use super::options::index_options;
use crate::errors::{raise, Code};
use crate::index::pages::buffer::{block_count, ExclusiveBuffer};
use crate::index::pages::wal::{write_init_fork_page, WalWrite};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgBox};
use std::collections::HashMap;

/// A lexeme's postings during the build: (document, tf).
type BuildList = Vec<(u32, u16)>;

struct BuildState {
    config: pg_sys::Oid,
    docs: Vec<DocEntry>,
    terms: HashMap<Vec<u8>, BuildList>,
    indexed: u64,
    total_len: u64,
}

#[pg_guard]
unsafe extern "C-unwind" fn build_callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _alive: bool,
    state: *mut std::ffi::c_void,
) {
    let st = &mut *(state as *mut BuildState);
    let doc = st.docs.len() as u32;
    if doc >= f::MAX_DOC {
        too_many_documents();
    }
    if *isnull {
        // Kept (no words) so that ordered scans return the row, NULLs last.
        if st.docs.try_reserve(1).is_err() {
            build_out_of_memory(st.docs.len());
        }
        st.docs.push(DocEntry {
            doc,
            len: 0,
            tid: *tid,
            deleted: false,
            null: true,
        });
        return;
    }
    let a = analyze(st.config, *values);
    // Fallible growth: a build too large for this process's memory is an ERROR, not an abort.
    if st.terms.try_reserve(a.terms.len()).is_err() || st.docs.try_reserve(1).is_err() {
        build_out_of_memory(st.docs.len());
    }
    for (term, tf) in a.terms {
        let list = st.terms.entry(term).or_default();
        if list.try_reserve(1).is_err() {
            build_out_of_memory(st.docs.len());
        }
        list.push((doc, tf.min(u16::MAX as u32) as u16));
    }
    if a.len > 0 {
        st.indexed += 1;
        st.total_len += a.len as u64;
    }
    st.docs.push(DocEntry {
        doc,
        len: a.len,
        tid: *tid,
        deleted: false,
        null: false,
    });
}

fn build_out_of_memory(rows: usize) -> ! {
    crate::errors::out_of_memory(
        format!("An embedrank_bm25 build could not grow its postings after {rows} rows."),
        "The build keeps every row's words in memory (about 12 bytes per word): build on a server with more memory, or index fewer rows (a partial index, or one per partition).",
    )
}

pub fn too_many_documents() -> ! {
    raise(
        Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        "embedrank_bm25 index has used all of its 4294967294 document ids",
        Some("REINDEX the index: a rebuild numbers the live rows from zero."),
    )
}

/// Sequential page writer for the build: fills a page, writes it (full image) when the next item
/// does not fit, and knows where the next item will go.
struct Filler {
    index: pg_sys::Relation,
    kind: u16,
    page: f::PageImage,
    block: u32,
    items: u16,
    space: usize,
    open: bool,
}

impl Filler {
    fn new(index: pg_sys::Relation, kind: u16) -> Filler {
        Filler {
            index,
            kind,
            page: f::PageImage::new(),
            block: block_count(index),
            items: 0,
            space: 0,
            open: false,
        }
    }

    /// Where an item of `len` bytes added now would go, and the filler's state after it.
    fn plan(&self, len: usize) -> (Ptr, bool) {
        if self.open && self.space >= f::item_cost(len) {
            (
                Ptr {
                    block: self.block,
                    offset: self.items + 1,
                },
                false,
            )
        } else {
            let block = if self.open {
                self.block + 1
            } else {
                self.block
            };
            (Ptr { block, offset: 1 }, true)
        }
    }

    fn add(&mut self, bytes: &[u8]) -> Ptr {
        let (at, fresh) = self.plan(bytes.len());
        if fresh {
            self.flush();
            self.block = at.block;
            unsafe { f::init_page(self.page.page(), self.kind) };
            self.open = true;
            self.items = 0;
            self.space = f::page_capacity();
        }
        let off = unsafe { f::add_item(self.page.page(), bytes) };
        assert_eq!(off, Some(at.offset), "build placement plan");
        self.items += 1;
        self.space -= f::item_cost(bytes.len());
        at
    }

    /// Set the open page's chain link.
    fn set_next(&mut self, next: u32) {
        unsafe { f::set_next_page(self.page.page(), next) };
    }

    fn flush(&mut self) {
        if !self.open {
            return;
        }
        write_page(self.index, self.block, self.page.bytes());
        self.open = false;
    }
}

/// Write `image` as block `block` (the next block of the relation) with a full-page WAL record.
fn write_page(index: pg_sys::Relation, block: u32, image: &[u8]) {
    let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    assert_eq!(buf.block(), block, "build writes pages in order");
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, true);
    unsafe { std::ptr::copy_nonoverlapping(image.as_ptr(), page as *mut u8, image.len()) };
    wal.commit();
}

fn new_meta(config: pg_sys::Oid, k1: f32, b: f32) -> Meta {
    Meta {
        magic: f::MAGIC,
        version: f::VERSION as u32,
        config: config.to_u32(),
        k1,
        b,
        buckets: 1,
        first_bucket: 1,
        next_doc: 0,
        docs: 0,
        total_len: 0,
        docs_head: f::NONE,
        docs_tail: f::NONE,
        postings_tail: f::NONE,
        _pad: 0,
    }
}

fn meta_image(meta: &Meta) -> f::PageImage {
    let mut img = f::PageImage::new();
    unsafe {
        f::init_page(img.page(), f::KIND_META);
        f::write_meta(img.page(), meta);
    }
    img
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    if block_count(index) != 0 {
        raise(
            Code::ERRCODE_INTERNAL_ERROR,
            "index is not empty at build start",
            None,
        );
    }
    let (config, k1, b) = index_options(index);
    super::options::record_config_dependency(index, config);
    let mut st = BuildState {
        config,
        docs: Vec::new(),
        terms: HashMap::new(),
        indexed: 0,
        total_len: 0,
    };
    let heap_tuples = pg_sys::table_index_build_scan(
        heap,
        index,
        index_info,
        true,
        true,
        Some(build_callback),
        &mut st as *mut BuildState as *mut std::ffi::c_void,
        std::ptr::null_mut(),
    );
    let mut meta = new_meta(config, k1, b);
    meta.next_doc = st.docs.len() as u32;
    meta.docs = st.indexed;
    meta.total_len = st.total_len;
    write_page(index, f::META_BLOCK, meta_image(&meta).bytes());

    // Document table.
    let mut docs = Filler::new(index, f::KIND_DOCS);
    let mut last_docs_page = f::NONE;
    for (i, d) in st.docs.iter().enumerate() {
        let (at, fresh) = docs.plan(f::DOC_ENTRY_LEN);
        if fresh && docs.open {
            docs.set_next(at.block);
        }
        let at = docs.add(&d.encode());
        if i == 0 {
            meta.docs_head = at.block;
        }
        last_docs_page = at.block;
    }
    docs.flush();
    meta.docs_tail = last_docs_page;

    // Posting blocks, term by term (in lexeme order, so a rebuild writes the same pages).
    let lens: Vec<u32> = st.docs.iter().map(|d| d.len).collect();
    let tids: Vec<pg_sys::ItemPointerData> = st.docs.iter().map(|d| d.tid).collect();
    drop(std::mem::take(&mut st.docs));
    let mut terms: Vec<(Vec<u8>, BuildList)> = std::mem::take(&mut st.terms).into_iter().collect();
    terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut postings = Filler::new(index, f::KIND_POSTINGS);
    let mut entries = Vec::with_capacity(terms.len());
    for (ti, (term, list)) in terms.into_iter().enumerate() {
        let chunks: Vec<Vec<Posting>> = list
            .chunks(f::BLOCK)
            .map(|c| {
                c.iter()
                    .map(|&(doc, tf)| Posting {
                        doc,
                        len: lens[doc as usize],
                        tf,
                        tid: tids[doc as usize],
                    })
                    .collect()
            })
            .collect();
        // Plan where every block goes, then write each pointing at the next.
        let mut sim = PlanSim::of(&postings);
        let places: Vec<Ptr> = chunks
            .iter()
            .map(|c| sim.place(f::BlockHeader::item_len(f::payload_len(c))))
            .collect();
        for (i, c) in chunks.iter().enumerate() {
            let next = places.get(i + 1).copied().unwrap_or(Ptr::NONE);
            let at = postings.add(&f::encode_block(c, 0, next));
            debug_assert_eq!(at, places[i]);
        }
        let all = chunks.iter().flatten();
        entries.push(TermEntry {
            df: list.len() as u32,
            head: places[0],
            tail: *places.last().expect("a block"),
            max_tf: all.clone().map(|p| p.tf).max().unwrap_or(0),
            min_len: all.map(|p| p.len).min().unwrap_or(0),
            term,
        });
        if ti % 1024 == 0 {
            pg_sys::check_for_interrupts!();
        }
    }
    meta.postings_tail = if postings.open {
        postings.block
    } else {
        f::NONE
    };
    postings.flush();

    // Dictionary: buckets sized to about two thirds of a page each.
    let bytes: usize = entries
        .iter()
        .map(|e| f::item_cost(TermEntry::encoded_len(e.term.len())))
        .sum();
    let buckets = (bytes / (f::page_capacity() * 2 / 3) + 1).next_power_of_two();
    meta.buckets = buckets as u32;
    meta.first_bucket = block_count(index);
    write_dictionary(index, &meta, entries);
    write_meta_page(index, &meta);
    let mut result = PgBox::<pg_sys::IndexBuildResult>::alloc0();
    result.heap_tuples = heap_tuples;
    result.index_tuples = meta.next_doc as f64;
    result.into_pg()
}

/// A dry run of [`Filler`]'s placement.
struct PlanSim {
    block: u32,
    items: u16,
    space: usize,
    open: bool,
}

impl PlanSim {
    fn of(fl: &Filler) -> PlanSim {
        PlanSim {
            block: fl.block,
            items: fl.items,
            space: fl.space,
            open: fl.open,
        }
    }

    fn place(&mut self, len: usize) -> Ptr {
        if !(self.open && self.space >= f::item_cost(len)) {
            if self.open {
                self.block += 1;
            }
            self.open = true;
            self.items = 0;
            self.space = f::page_capacity();
        }
        self.items += 1;
        self.space -= f::item_cost(len);
        Ptr {
            block: self.block,
            offset: self.items,
        }
    }
}

/// Write the bucket pages (blocks `first_bucket..+buckets`) and then their overflow pages.
unsafe fn write_dictionary(index: pg_sys::Relation, meta: &Meta, entries: Vec<TermEntry>) {
    let n = meta.buckets as usize;
    let mut per_bucket: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for e in entries {
        let bucket = (f::term_hash(&e.term) & (n as u64 - 1)) as usize;
        per_bucket[bucket].push(e.encode());
    }
    // Split each bucket into pages; overflow pages are numbered after all bucket pages.
    let mut pages: Vec<Vec<Vec<Vec<u8>>>> = Vec::with_capacity(n);
    for items in per_bucket {
        let mut bucket_pages: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
        let mut space = f::page_capacity();
        for it in items {
            if space < f::item_cost(it.len()) {
                bucket_pages.push(Vec::new());
                space = f::page_capacity();
            }
            space -= f::item_cost(it.len());
            bucket_pages.last_mut().expect("a page").push(it);
        }
        pages.push(bucket_pages);
    }
    let mut overflow_block = meta.first_bucket + n as u32;
    let mut overflow_first = vec![f::NONE; n];
    for (i, bp) in pages.iter().enumerate() {
        if bp.len() > 1 {
            overflow_first[i] = overflow_block;
            overflow_block += bp.len() as u32 - 1;
        }
    }
    let mut img = f::PageImage::new();
    let mut write = |block: u32, items: &[Vec<u8>], next: u32| {
        let p = img.page();
        f::init_page(p, f::KIND_DICT);
        for it in items {
            f::add_item(p, it).expect("planned to fit");
        }
        f::set_next_page(p, next);
        write_page(index, block, img.bytes());
    };
    for (i, bp) in pages.iter().enumerate() {
        write(meta.first_bucket + i as u32, &bp[0], overflow_first[i]);
    }
    for (i, bp) in pages.iter().enumerate() {
        for j in 1..bp.len() {
            let block = overflow_first[i] + j as u32 - 1;
            let next = if j + 1 < bp.len() { block + 1 } else { f::NONE };
            write(block, &bp[j], next);
        }
        if i % 256 == 0 {
            pg_sys::check_for_interrupts!();
        }
    }
}

/// Rewrite the meta page with `meta`.
pub fn write_meta_page(index: pg_sys::Relation, meta: &Meta) {
    let buf = ExclusiveBuffer::lock(index, f::META_BLOCK);
    unsafe { f::check_page(index, buf.page(), f::META_BLOCK, f::KIND_META) };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    unsafe { f::write_meta(page, meta) };
    wal.commit();
}

/// The init fork of an unlogged index: an empty index (meta page and one empty bucket page).
#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index: pg_sys::Relation) {
    let (config, k1, b) = index_options(index);
    let meta = new_meta(config, k1, b);
    let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::INIT_FORKNUM);
    write_init_fork_page(buf, |p| {
        f::init_page(p, f::KIND_META);
        f::write_meta(p, &meta);
    });
    let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::INIT_FORKNUM);
    write_init_fork_page(buf, |p| f::init_page(p, f::KIND_DICT));
}
