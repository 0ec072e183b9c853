//! On-disk format of the `embedrank_bm25` index.
//!
//! Four kinds of page, each with a special area (magic, kind, format version, the next page of its
//! chain) checked on every read:
//! - the *meta* page (block 0): the text search configuration, k1 and b, the corpus statistics (N =
//!   documents with at least one term, their total length), the next document id, where the
//!   dictionary's buckets start and how many there are, the ends of the document table and the page
//!   new posting blocks go to;
//! - *document* pages: a chain of [`DocEntry`] items, one per indexed row in document-id order (heap
//!   TID, length, deleted flag). Scans sweep it for rows no query term reaches; VACUUM asks the heap
//!   about each TID once here;
//! - *dictionary* pages: a fixed number of hash buckets (a power of two, set at build), bucket `i` at
//!   block `first_bucket + i`, each a chain of pages of [`TermEntry`] items: the lexeme, its document
//!   frequency, its list's first and last posting block and list-wide (max tf, min length) bounds;
//! - *posting* pages: block items of up to [`BLOCK`] postings (document id, length, tf, heap
//!   TID; compressed to a few bytes each, [`encode_postings`]) in ascending document id, chained
//!   per term, each with its own (last document, max tf, min length) so that block-max WAND can
//!   skip it unread.
//!
//! Document ids are assigned in insertion order and never reused, so appending keeps every list
//! sorted. A block keeps its byte capacity (blocks inserts start have room to grow in place);
//! VACUUM rewrites a block's postings in place, which only shrinks them. Items are byte strings
//! encoded here (little endian, unaligned reads): no struct is cast onto a page.

use crate::errors::{raise, Code};
use pgrx::pg_sys;

pub const MAGIC: u32 = 0x4552_424D; // "ERBM"
pub const VERSION: u16 = 1;
pub const META_BLOCK: u32 = 0;
pub const KIND_META: u16 = 1;
pub const KIND_DOCS: u16 = 2;
pub const KIND_DICT: u16 = 3;
pub const KIND_POSTINGS: u16 = 4;
/// No block (end of a chain).
pub const NONE: u32 = pg_sys::InvalidBlockNumber;
/// Most postings in one block (the core's block size).
pub const BLOCK: usize = embedrank_core::bm25::postings::BLOCK;
/// Longest lexeme Postgres makes (MAXSTRLEN of tsvector).
pub const MAX_LEXEME: usize = 2047;

/// The page's special area.
#[repr(C)]
#[derive(Clone, Copy)]
struct Special {
    magic: u32,
    kind: u16,
    version: u16,
    next: u32,
}

/// A posting block's or term entry's address: (block, item offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ptr {
    pub block: u32,
    pub offset: u16,
}

impl Ptr {
    pub const NONE: Ptr = Ptr {
        block: NONE,
        offset: 0,
    };
    pub fn is_none(self) -> bool {
        self.block == NONE
    }
}

/// Contents of the meta page.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub magic: u32,
    pub version: u32,
    /// The `regconfig` documents and queries are analysed with.
    pub config: u32,
    pub k1: f32,
    pub b: f32,
    pub buckets: u32,
    pub first_bucket: u32,
    /// The next document id to assign.
    pub next_doc: u32,
    /// Documents with at least one term, not yet removed by VACUUM.
    pub docs: u64,
    /// Their total length in terms.
    pub total_len: u64,
    pub docs_head: u32,
    pub docs_tail: u32,
    /// The posting page new blocks go to (NONE: extend).
    pub postings_tail: u32,
    pub _pad: u32,
}

/// Most documents an index can ever take (ids are never reused).
pub const MAX_DOC: u32 = u32::MAX - 1;

/// Size of the page header (the item area starts after it).
fn header_size() -> usize {
    std::mem::size_of::<pg_sys::PageHeaderData>()
}

pub fn maxalign(n: usize) -> usize {
    (n + 7) & !7
}

/// Bytes of items (with their line pointers) an empty data page holds.
pub fn page_capacity() -> usize {
    pg_sys::BLCKSZ as usize - maxalign(header_size()) - maxalign(std::mem::size_of::<Special>())
}

/// What an item of `len` bytes takes of a page (its line pointer included).
pub fn item_cost(len: usize) -> usize {
    maxalign(len) + std::mem::size_of::<pg_sys::ItemIdData>()
}

/// A page-sized, 8-byte aligned buffer for pages built in memory (the build).
pub struct PageImage(Vec<u64>);

impl PageImage {
    pub fn new() -> PageImage {
        PageImage(vec![0u64; pg_sys::BLCKSZ as usize / 8])
    }

    pub fn page(&mut self) -> pg_sys::Page {
        self.0.as_mut_ptr() as pg_sys::Page
    }

    pub fn bytes(&self) -> &[u8] {
        // Sound: a Vec<u64> of BLCKSZ / 8 elements is BLCKSZ initialised bytes.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr() as *const u8, pg_sys::BLCKSZ as usize) }
    }
}

impl Default for PageImage {
    fn default() -> Self {
        Self::new()
    }
}

pub unsafe fn init_page(page: pg_sys::Page, kind: u16) {
    pg_sys::PageInit(
        page,
        pg_sys::BLCKSZ as usize,
        std::mem::size_of::<Special>(),
    );
    *special_ptr(page) = Special {
        magic: MAGIC,
        kind,
        version: VERSION,
        next: NONE,
    };
}

unsafe fn special_ptr(page: pg_sys::Page) -> *mut Special {
    let header = page as *const pg_sys::PageHeaderData;
    (page as *mut u8).add((*header).pd_special as usize) as *mut Special
}

/// The next page of this page's chain.
pub unsafe fn next_page(page: pg_sys::Page) -> u32 {
    (*special_ptr(page)).next
}

pub unsafe fn set_next_page(page: pg_sys::Page, next: u32) {
    (*special_ptr(page)).next = next;
}

/// Whether a page was never initialised (extension is not WAL-logged: a crash can leave one).
pub unsafe fn is_new(page: pg_sys::Page) -> bool {
    (*(page as *const pg_sys::PageHeaderData)).pd_upper == 0
}

pub use crate::index::pages::format::rel_name;

/// ERROR XX002 (index_corrupted) for `index`, with a REINDEX hint.
pub fn corrupted(index: pg_sys::Relation, what: String) -> ! {
    raise(
        Code::ERRCODE_INDEX_CORRUPTED,
        format!("index \"{}\" {what}", unsafe { rel_name(index) }),
        Some("REINDEX the index."),
    )
}

/// Error unless `page` (block `block` of `index`) is one of ours, of `kind`.
pub unsafe fn check_page(index: pg_sys::Relation, page: pg_sys::Page, block: u32, kind: u16) {
    let header = page as *const pg_sys::PageHeaderData;
    let special_ok = (*header).pd_special as usize
        == pg_sys::BLCKSZ as usize - maxalign(std::mem::size_of::<Special>())
        && (*header).pd_lower as usize >= header_size()
        && (*header).pd_lower <= (*header).pd_upper
        && (*header).pd_upper <= (*header).pd_special;
    let sp = special_ptr(page);
    if !special_ok || (*sp).magic != MAGIC || (*sp).kind != kind {
        corrupted(index, format!("contains a corrupted page at block {block}"));
    }
    if (*sp).version != VERSION {
        corrupted(
            index,
            format!(
                "has on-disk format version {}, this build reads {VERSION}",
                (*sp).version
            ),
        );
    }
}

unsafe fn meta_ptr(page: pg_sys::Page) -> *mut Meta {
    (page as *mut u8).add(maxalign(header_size())) as *mut Meta
}

pub unsafe fn read_meta_page(page: pg_sys::Page) -> Meta {
    std::ptr::read_unaligned(meta_ptr(page))
}

/// Write `meta` into a meta page and set pd_lower past it (so GenericXLog logs it).
pub unsafe fn write_meta(page: pg_sys::Page, meta: &Meta) {
    std::ptr::write_unaligned(meta_ptr(page), *meta);
    let header = page as *mut pg_sys::PageHeaderData;
    (*header).pd_lower = (maxalign(header_size()) + std::mem::size_of::<Meta>()) as u16;
}

/// The bytes of item `at` of `page` to modify (a page copy in a WAL record, or under an exclusive
/// lock), or a corruption ERROR if there is no such item or it does not lie inside the page.
pub unsafe fn item_mut<'a>(index: pg_sys::Relation, page: pg_sys::Page, at: Ptr) -> &'a mut [u8] {
    let (off, len) = item_bounds(index, page, at);
    std::slice::from_raw_parts_mut((page as *mut u8).add(off), len)
}

/// The bytes of item `at` of `page`, to read.
pub unsafe fn item<'a>(index: pg_sys::Relation, page: pg_sys::Page, at: Ptr) -> &'a [u8] {
    let (off, len) = item_bounds(index, page, at);
    std::slice::from_raw_parts((page as *const u8).add(off), len)
}

/// Where item `at` lies in `page`, checked: a normal line pointer whose bytes are between the
/// page's item area and its special area.
unsafe fn item_bounds(index: pg_sys::Relation, page: pg_sys::Page, at: Ptr) -> (usize, usize) {
    if at.offset == 0 || at.offset > pg_sys::PageGetMaxOffsetNumber(page) {
        corrupted(
            index,
            format!("has no item at ({},{})", at.block, at.offset),
        );
    }
    let id = pg_sys::PageGetItemId(page, at.offset);
    let header = page as *const pg_sys::PageHeaderData;
    let (off, len) = ((*id).lp_off() as usize, (*id).lp_len() as usize);
    if (*id).lp_flags() != pg_sys::LP_NORMAL
        || off < (*header).pd_upper as usize
        || off + len > (*header).pd_special as usize
    {
        corrupted(
            index,
            format!("has a damaged item at ({},{})", at.block, at.offset),
        );
    }
    (off, len)
}

/// Number of items on `page`.
pub unsafe fn item_count(page: pg_sys::Page) -> u16 {
    pg_sys::PageGetMaxOffsetNumber(page)
}

/// Add `bytes` as a new item; its offset, or None if the page has no room.
pub unsafe fn add_item(page: pg_sys::Page, bytes: &[u8]) -> Option<u16> {
    if pg_sys::PageGetFreeSpace(page) < maxalign(bytes.len()) {
        return None;
    }
    let off = pg_sys::PageAddItemExtended(
        page,
        bytes.as_ptr() as pg_sys::Item,
        bytes.len(),
        pg_sys::InvalidOffsetNumber,
        0,
    );
    (off != pg_sys::InvalidOffsetNumber).then_some(off)
}

fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn get_tid(b: &[u8], at: usize) -> pg_sys::ItemPointerData {
    let mut t = pg_sys::ItemPointerData::default();
    t.ip_blkid.bi_hi = get_u16(b, at);
    t.ip_blkid.bi_lo = get_u16(b, at + 2);
    t.ip_posid = get_u16(b, at + 4);
    t
}
fn put_tid(b: &mut [u8], at: usize, t: pg_sys::ItemPointerData) {
    put_u16(b, at, t.ip_blkid.bi_hi);
    put_u16(b, at + 2, t.ip_blkid.bi_lo);
    put_u16(b, at + 4, t.ip_posid);
}

/// One indexed row: `doc` (its id), its length in terms (0: no term), its heap TID; `null` for a
/// row whose text is NULL (kept so an ordered scan returns every row, NULLs last, as a sort does).
#[derive(Clone, Copy, Debug)]
pub struct DocEntry {
    pub doc: u32,
    pub len: u32,
    pub tid: pg_sys::ItemPointerData,
    pub deleted: bool,
    pub null: bool,
}

const DOC_DELETED: u16 = 1;
const DOC_NULL: u16 = 2;

pub const DOC_ENTRY_LEN: usize = 16;

impl DocEntry {
    pub fn encode(&self) -> [u8; DOC_ENTRY_LEN] {
        let mut b = [0u8; DOC_ENTRY_LEN];
        put_u32(&mut b, 0, self.doc);
        put_u32(&mut b, 4, self.len);
        put_tid(&mut b, 8, self.tid);
        put_u16(
            &mut b,
            14,
            if self.deleted { DOC_DELETED } else { 0 } | if self.null { DOC_NULL } else { 0 },
        );
        b
    }

    pub fn decode(index: pg_sys::Relation, b: &[u8]) -> DocEntry {
        if b.len() != DOC_ENTRY_LEN {
            corrupted(index, format!("has a document entry of {} bytes", b.len()));
        }
        DocEntry {
            doc: get_u32(b, 0),
            len: get_u32(b, 4),
            tid: get_tid(b, 8),
            deleted: get_u16(b, 14) & DOC_DELETED != 0,
            null: get_u16(b, 14) & DOC_NULL != 0,
        }
    }
}

/// A lexeme's dictionary entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermEntry {
    /// Documents holding the term (0: none left after VACUUM; the entry stays for reuse).
    pub df: u32,
    pub head: Ptr,
    pub tail: Ptr,
    /// Largest tf and shortest document over the whole list: the list's score bound.
    pub max_tf: u16,
    pub min_len: u32,
    pub term: Vec<u8>,
}

const TERM_HEADER: usize = 24;

impl TermEntry {
    pub fn encoded_len(term_len: usize) -> usize {
        TERM_HEADER + term_len
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; TERM_HEADER + self.term.len()];
        put_u32(&mut b, 0, self.df);
        put_u32(&mut b, 4, self.head.block);
        put_u32(&mut b, 8, self.tail.block);
        put_u16(&mut b, 12, self.head.offset);
        put_u16(&mut b, 14, self.tail.offset);
        put_u16(&mut b, 16, self.max_tf);
        put_u16(&mut b, 18, self.term.len() as u16);
        put_u32(&mut b, 20, self.min_len);
        b[TERM_HEADER..].copy_from_slice(&self.term);
        b
    }

    /// The entry's lexeme, without decoding the rest.
    pub fn term_of(b: &[u8]) -> &[u8] {
        let n = get_u16(b, 18) as usize;
        b.get(TERM_HEADER..TERM_HEADER + n).unwrap_or(&[])
    }

    pub fn decode(index: pg_sys::Relation, b: &[u8]) -> TermEntry {
        if b.len() < TERM_HEADER || b.len() != TERM_HEADER + get_u16(b, 18) as usize {
            corrupted(
                index,
                format!("has a malformed term entry ({} bytes)", b.len()),
            );
        }
        TermEntry {
            df: get_u32(b, 0),
            head: Ptr {
                block: get_u32(b, 4),
                offset: get_u16(b, 12),
            },
            tail: Ptr {
                block: get_u32(b, 8),
                offset: get_u16(b, 14),
            },
            max_tf: get_u16(b, 16),
            min_len: get_u32(b, 20),
            term: b[TERM_HEADER..].to_vec(),
        }
    }
}

/// A posting: document id, its length, the term's frequency in it (tsvector keeps at most 256
/// positions per lexeme, so it fits 16 bits), and the row's heap TID.
#[derive(Clone, Copy, Debug)]
pub struct Posting {
    pub doc: u32,
    pub len: u32,
    pub tf: u16,
    pub tid: pg_sys::ItemPointerData,
}

/// A block of postings, as stored: this header, then `capacity` bytes of which the first `used`
/// hold the `count` postings, compressed (see [`encode_postings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    pub next: Ptr,
    pub count: u16,
    pub max_tf: u16,
    pub last_doc: u32,
    pub min_len: u32,
    pub used: u16,
    pub capacity: u16,
}

const BLOCK_HEADER: usize = 24;
/// Most bytes one posting takes compressed (varints of 5 + 1 + 5 + 5 + 3 bytes).
pub const MAX_POSTING_BYTES: usize = 19;

impl BlockHeader {
    pub fn item_len(capacity: usize) -> usize {
        BLOCK_HEADER + capacity
    }

    pub fn decode(index: pg_sys::Relation, b: &[u8]) -> BlockHeader {
        if b.len() < BLOCK_HEADER {
            corrupted(
                index,
                format!("has a malformed posting block ({} bytes)", b.len()),
            );
        }
        let h = BlockHeader {
            next: Ptr {
                block: get_u32(b, 0),
                offset: get_u16(b, 4),
            },
            count: get_u16(b, 6),
            max_tf: get_u16(b, 8),
            used: get_u16(b, 10),
            last_doc: get_u32(b, 12),
            min_len: get_u32(b, 16),
            capacity: get_u16(b, 20),
        };
        if h.used > h.capacity
            || h.count as usize > BLOCK
            || b.len() != Self::item_len(h.capacity as usize)
        {
            corrupted(index, "has a malformed posting block".into());
        }
        h
    }

    pub fn encode_into(&self, b: &mut [u8]) {
        put_u32(b, 0, self.next.block);
        put_u16(b, 4, self.next.offset);
        put_u16(b, 6, self.count);
        put_u16(b, 8, self.max_tf);
        put_u16(b, 10, self.used);
        put_u32(b, 12, self.last_doc);
        put_u32(b, 16, self.min_len);
        put_u16(b, 20, self.capacity);
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= ((byte & 0x7f) as u32).checked_shl(shift)?;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

fn tid_block(t: &pg_sys::ItemPointerData) -> u32 {
    ((t.ip_blkid.bi_hi as u32) << 16) | t.ip_blkid.bi_lo as u32
}

/// Postings compressed, each after the previous one (`prev`: the last posting before them, if
/// any): the document id's gap (varint), tf − 1 (one byte: tsvector counts at most 256), the
/// length (varint), the heap block's difference from the previous posting's (zigzag varint: rows
/// come in heap order, so it is mostly 0 or small) and the line pointer (varint). About 5–8 bytes
/// a posting instead of 16.
pub fn encode_postings(out: &mut Vec<u8>, prev: Option<&Posting>, postings: &[Posting]) {
    let (mut doc, mut block) = prev.map_or((0, 0), |p| (p.doc, tid_block(&p.tid)));
    for p in postings {
        put_varint(out, p.doc.wrapping_sub(doc));
        out.push((p.tf.clamp(1, 256) - 1) as u8);
        put_varint(out, p.len);
        let b = tid_block(&p.tid);
        let d = b.wrapping_sub(block) as i32;
        put_varint(out, ((d << 1) ^ (d >> 31)) as u32);
        put_varint(out, p.tid.ip_posid as u32);
        doc = p.doc;
        block = b;
    }
}

/// The postings of a block item (header `h`), or a corruption ERROR if they do not decode.
pub fn decode_postings(index: pg_sys::Relation, b: &[u8], h: &BlockHeader) -> Vec<Posting> {
    let payload = &b[BLOCK_HEADER..BLOCK_HEADER + h.used as usize];
    let mut out = Vec::with_capacity(h.count as usize);
    let (mut at, mut doc, mut block) = (0usize, 0u32, 0u32);
    let bad = || -> ! { corrupted(index, "has a posting block that does not decode".into()) };
    for _ in 0..h.count {
        let gap = get_varint(payload, &mut at).unwrap_or_else(|| bad());
        let tf = *payload.get(at).unwrap_or_else(|| bad()) as u16 + 1;
        at += 1;
        let len = get_varint(payload, &mut at).unwrap_or_else(|| bad());
        let z = get_varint(payload, &mut at).unwrap_or_else(|| bad());
        let posid = get_varint(payload, &mut at).unwrap_or_else(|| bad());
        doc = doc.wrapping_add(gap);
        block = block.wrapping_add(((z >> 1) as i32 ^ -((z & 1) as i32)) as u32);
        let mut tid = pg_sys::ItemPointerData::default();
        tid.ip_blkid.bi_hi = (block >> 16) as u16;
        tid.ip_blkid.bi_lo = block as u16;
        tid.ip_posid = posid as u16;
        out.push(Posting { doc, len, tf, tid });
    }
    if at != payload.len() {
        bad();
    }
    out
}

/// A block item holding `postings` with `room` bytes to spare for appends.
pub fn encode_block(postings: &[Posting], room: usize, next: Ptr) -> Vec<u8> {
    let mut payload = Vec::with_capacity(postings.len() * 8 + room);
    encode_postings(&mut payload, None, postings);
    let capacity = payload.len() + room;
    let mut b = vec![0u8; BlockHeader::item_len(capacity)];
    b[BLOCK_HEADER..BLOCK_HEADER + payload.len()].copy_from_slice(&payload);
    block_header_of(postings, payload.len(), capacity, next).encode_into(&mut b);
    b
}

/// Encoded size of `postings` as a block's payload.
pub fn payload_len(postings: &[Posting]) -> usize {
    let mut v = Vec::with_capacity(postings.len() * 8);
    encode_postings(&mut v, None, postings);
    v.len()
}

/// Rewrite the postings of block item `b` (header `h`) as `postings`, which must fit its capacity.
pub fn rewrite_postings(b: &mut [u8], h: &BlockHeader, postings: &[Posting]) -> BlockHeader {
    let mut payload = Vec::with_capacity(h.capacity as usize);
    encode_postings(&mut payload, None, postings);
    assert!(
        payload.len() <= h.capacity as usize,
        "rewritten postings fit the block"
    );
    b[BLOCK_HEADER..BLOCK_HEADER + payload.len()].copy_from_slice(&payload);
    block_header_of(postings, payload.len(), h.capacity as usize, h.next)
}

/// The header describing `postings` (`used` bytes of a `capacity`-byte payload).
pub fn block_header_of(
    postings: &[Posting],
    used: usize,
    capacity: usize,
    next: Ptr,
) -> BlockHeader {
    BlockHeader {
        next,
        count: postings.len() as u16,
        max_tf: postings.iter().map(|p| p.tf).max().unwrap_or(0),
        last_doc: postings.last().map_or(0, |p| p.doc),
        min_len: postings.iter().map(|p| p.len).min().unwrap_or(u32::MAX),
        used: used as u16,
        capacity: capacity as u16,
    }
}

/// Append `p` after `existing` (the block's postings) in block item `b`; false if it does not fit.
pub fn append_posting(
    b: &mut [u8],
    h: &BlockHeader,
    existing: &[Posting],
    p: &Posting,
) -> Option<BlockHeader> {
    if h.count as usize >= BLOCK {
        return None;
    }
    let mut bytes = Vec::with_capacity(MAX_POSTING_BYTES);
    encode_postings(&mut bytes, existing.last(), std::slice::from_ref(p));
    let at = BLOCK_HEADER + h.used as usize;
    if h.used as usize + bytes.len() > h.capacity as usize {
        return None;
    }
    b[at..at + bytes.len()].copy_from_slice(&bytes);
    let mut h2 = h.clone();
    h2.count += 1;
    h2.used += bytes.len() as u16;
    h2.max_tf = if h.count == 0 {
        p.tf
    } else {
        h.max_tf.max(p.tf)
    };
    h2.min_len = if h.count == 0 {
        p.len
    } else {
        h.min_len.min(p.len)
    };
    h2.last_doc = p.doc;
    Some(h2)
}

/// FNV-1a of a lexeme: its dictionary bucket is `hash & (buckets - 1)`. Part of the format: it
/// never changes.
pub fn term_hash(term: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in term {
        h ^= c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
