//! On-disk format of the `embedrank_hnsw` index.
//!
//! Block 0 is the meta page: magic, format version, dimensions, m, ef_construction, metric, the
//! entry point and the page new elements go to. Every other page holds items of two kinds:
//! - an *element*: header (level, deleted flag, up to [`MAX_HEAP_TIDS`] heap TIDs — exact duplicate
//!   vectors share one element — and the TID of its neighbour item) followed by the vector's values
//!   in the index's [`Encoding`] (float4 for `vector`, IEEE half for `halfvec`, one bit per dimension
//!   for `bit`, the non-zero entries for `sparsevec`: the column's own form, as pgvector stores them).
//!   A sparse element's length varies with its non-zero count (`ElementHeader::nnz`); every read
//!   checks the values lie inside the item;
//! - a *neighbour list*: for levels 0..=level, fixed slots (2·m at level 0, m above) of element TIDs;
//!   an empty slot has offset 0.
//!
//! A graph node is addressed by its element's (block, offset), packed into a u64 ([`Node`]). Build and
//! insert put an element and its neighbour list on the same page when the pair fits one
//! ([`pair_fits_one_page`]), so one page read serves both; otherwise (large vectors with many or
//! tall neighbour lists) each goes on a page of its own and the element points at its list. An element
//! always fits a page alone ([`Encoding::max_dims`], [`MAX_SPARSE_NNZ`]), and a neighbour list does because levels are
//! capped per `m` ([`max_level`]).
//!
//! Deletion has two states ([`DELETED_LINKED`], [`DELETED_FREE`]): VACUUM first marks an element that
//! lost its last heap TID as deleted-but-maybe-linked, relinks the graph around it, and only then marks
//! it free; inserts reuse only free slots, so a VACUUM stopped half way never lets a live element link
//! to a slot that now holds another vector.
//!
//! A new (all-zero) page is free space, not corruption: relation extension is not WAL-logged, so an
//! ERROR or crash between extending and the first WAL record leaves one. Readers skip it, writers
//! initialise it.
//! Every page carries a special area with a magic number, page kind and format version, checked on
//! every read: a page that is not ours is reported as corruption, never followed blindly.

use crate::errors::{raise, Code};
use pgrx::pg_sys;

pub const MAGIC: u32 = 0x4552_4857; // "ERHW"
pub const VERSION: u16 = 1;
pub const META_BLOCK: u32 = 0;
pub const KIND_META: u16 = 1;
pub const KIND_DATA: u16 = 2;
/// A page of the trained quantizer's parameters ([`Encoding::Sq8`], [`Encoding::Sq4`]).
pub const KIND_QUANT: u16 = 3;
pub const MAX_HEAP_TIDS: usize = 10;
const ITEM_ELEMENT: u8 = 1;
const ITEM_NEIGHBORS: u8 = 2;
/// Bytes of the largest element's values: each encoding's dimension limit (pgvector's) fills them.
const MAX_VALUE_BYTES: usize = 8000;
/// Encoding codes of earlier formats this version no longer reads: 2, bits as bytes (now words,
/// code 4). An index that has one was built by an earlier version and must be rebuilt.
pub const RETIRED_ENCODINGS: [u32; 1] = [2];
/// Most non-zero entries an indexed sparse vector may have (pgvector's limit): an index and a value
/// each, [`MAX_VALUE_BYTES`] in all.
pub const MAX_SPARSE_NNZ: usize = MAX_VALUE_BYTES / 8;

/// How an element stores its values (the meta page's `encoding`; part of the on-disk format: the
/// codes never change). Searches read them back as float4: exactly, since each column type's
/// values are what its encoding holds (a cosine index stores unit vectors rounded to the encoding,
/// as pgvector stores `l2_normalize`d halfvecs). A vector's *values* are its `dims` floats, or for a
/// sparse vector its packed form ([`embedrank_core::sparsevec::pack`]): `2·nnz` floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// float4 per dimension (`vector`): up to 2,000 dimensions.
    F32 = 0,
    /// IEEE half per dimension (`halfvec`): up to 4,000 dimensions.
    F16 = 1,
    /// One bit per dimension, 32 to a word (`bit`): up to 64,000 dimensions. (Code 2, bytes of
    /// bits, is retired: such an index asks for REINDEX, see [`RETIRED_ENCODINGS`].)
    Bit = 4,
    /// The non-zero entries, packed: each index's 4 bytes, then the float4 values (`sparsevec`): up
    /// to 10^9 dimensions, [`MAX_SPARSE_NNZ`] of them non-zero.
    Sparse = 3,
    /// `WITH (quantizer = 'sq8')` on a `vector` or `halfvec` column: 8-bit codes per dimension over
    /// the ranges trained at build (the quantizer pages), after a float4 bound on how far the row's
    /// values are from what the codes stand for ([`QUANT_ERROR_BYTES`]); up to 8,000 dimensions.
    /// Searches traverse the decoded codes; scans re-rank by the exact distance of the rows.
    Sq8 = 5,
    /// `quantizer = 'sq4'`: the same with 4-bit codes, two per byte; up to 16,000 dimensions.
    Sq4 = 6,
}

/// Bytes before a quantized element's codes: its error bound, a float4.
pub const QUANT_ERROR_BYTES: usize = 4;

impl Encoding {
    /// The encoding stored as `code` in a meta page (0 in pages written before the field existed).
    pub fn from_code(code: u32) -> Option<Encoding> {
        match code {
            0 => Some(Encoding::F32),
            1 => Some(Encoding::F16),
            3 => Some(Encoding::Sparse),
            4 => Some(Encoding::Bit),
            5 => Some(Encoding::Sq8),
            6 => Some(Encoding::Sq4),
            _ => None,
        }
    }

    /// How many float slots the graph carries for a `dims`-dimensional vector: one per dimension,
    /// one 32-bit word per 32 bits of a bit string ([`embedrank_core::distance::bits`]); `None` for
    /// sparse vectors, whose packed length varies.
    pub fn values(self, dims: usize) -> Option<usize> {
        match self {
            Encoding::F32 | Encoding::F16 | Encoding::Sq8 | Encoding::Sq4 => Some(dims),
            Encoding::Bit => Some(embedrank_core::distance::bits::words(dims)),
            Encoding::Sparse => None,
        }
    }

    /// Bytes `values` values (graph slots) take on a page.
    pub fn value_bytes(self, values: usize) -> usize {
        match self {
            Encoding::F16 => 2 * values,
            Encoding::F32 | Encoding::Bit | Encoding::Sparse => 4 * values,
            Encoding::Sq8 => QUANT_ERROR_BYTES + values,
            Encoding::Sq4 => QUANT_ERROR_BYTES + values.div_ceil(2),
        }
    }

    /// Whether the stored bytes are the graph's 4-byte slots themselves, read in place.
    pub fn is_float4(self) -> bool {
        matches!(self, Encoding::F32 | Encoding::Bit | Encoding::Sparse)
    }

    /// Whether the elements hold codes of a trained quantizer (searches see approximate distances).
    pub fn is_quantized(self) -> bool {
        matches!(self, Encoding::Sq8 | Encoding::Sq4)
    }

    /// Whether an index of this encoding may serve a column whose own encoding is `column`: the
    /// same, or codes of a `vector` or `halfvec` column.
    pub fn serves(self, column: Encoding) -> bool {
        self == column || (self.is_quantized() && matches!(column, Encoding::F32 | Encoding::F16))
    }

    /// Most dimensions an element of this encoding may have (it then still fits a page alone).
    pub fn max_dims(self) -> usize {
        match self {
            Encoding::F32 => MAX_VALUE_BYTES / 4,
            Encoding::F16 => MAX_VALUE_BYTES / 2,
            Encoding::Bit => MAX_VALUE_BYTES * 8,
            Encoding::Sparse => embedrank_core::sparsevec::MAX_DIM as usize,
            Encoding::Sq8 => 8000,
            Encoding::Sq4 => 16_000,
        }
    }

    /// `v` as this encoding stores it (half rounding; the others hold their values exactly).
    pub fn round(self, v: &mut [f32]) {
        if self == Encoding::F16 {
            for x in v {
                *x = embedrank_core::halfvec::narrow(*x).to_f32();
            }
        }
    }

    /// Writes `v` into `out` (`value_bytes(v.len())` long); quantized encodings are written by
    /// their quantizer (`index::codec`).
    pub fn encode(self, v: &[f32], out: &mut [u8]) {
        assert!(!self.is_quantized(), "codes come from the quantizer");
        if self == Encoding::F16 {
            for (o, x) in out.chunks_exact_mut(2).zip(v) {
                o.copy_from_slice(&embedrank_core::halfvec::narrow(*x).to_ne_bytes());
            }
            return;
        }
        for (o, x) in out.chunks_exact_mut(4).zip(v) {
            o.copy_from_slice(&x.to_bits().to_ne_bytes());
        }
    }

    /// The `values` halves in `bytes` (an [`Encoding::F16`] element's, as [`element_values`]
    /// returns them) widened to float4, into `out` (resized to `values`). The other encodings are
    /// read in place ([`as_float4`]).
    pub fn decode(self, bytes: &[u8], values: usize, out: &mut Vec<f32>) {
        debug_assert_eq!(self, Encoding::F16);
        out.resize(values, 0.0);
        // SAFETY: element values start 2-aligned (maxaligned item + 72-byte header) and `bytes`
        // holds 2·values bytes.
        let halves = unsafe {
            std::slice::from_raw_parts(
                bytes.as_ptr() as *const embedrank_core::halfvec::f16,
                values,
            )
        };
        embedrank_core::halfvec::widen_into(halves, out);
    }
}

/// `ElementHeader::deleted`: a live element.
pub const LIVE: u8 = 0;
/// Deleted (no heap TIDs left), but live elements may still link to it: never reused.
pub const DELETED_LINKED: u8 = 1;
/// Deleted and unlinked by a completed VACUUM repair: inserts may reuse its space.
pub const DELETED_FREE: u8 = 2;

/// Special area at the end of every index page.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Special {
    pub magic: u32,
    pub kind: u16,
    pub version: u16,
}

/// Contents of the meta page.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Meta {
    pub magic: u32,
    pub version: u32,
    pub dims: u32,
    pub m: u32,
    pub ef_construction: u32,
    pub metric: u32,
    pub entry: u64,       // Node, 0 = none
    pub entry_level: i32, // -1 = none
    pub insert_block: u32,
    /// First block that may hold a deleted element whose space inserts can reuse (0 = none). Set
    /// by VACUUM after it relinked the graph, advanced by inserts as they use up the space. Meta
    /// pages written before this field existed read it as 0 (PageInit zeroes the page).
    pub free_block: u32,
    /// [`Encoding`] code of the elements' values; older meta pages read 0, float4, which is what
    /// they hold.
    pub encoding: u32,
    /// First of the quantizer's pages (consecutive; [`KIND_QUANT`]) when the encoding is quantized,
    /// else 0 (what older meta pages read).
    pub quant_block: u32,
    /// The largest error bound of any element (quantized; raised before an insert writes a larger
    /// one): scans of an expression index subtract it from every code distance, so the bounds they
    /// report rise with the distance and Postgres's re-sort returns rows in exact order.
    pub max_error: f32,
}

impl Meta {
    /// How the elements store their values (`read_meta` checked the code).
    pub fn encoding(&self) -> Encoding {
        Encoding::from_code(self.encoding).unwrap_or(Encoding::F32)
    }
}

/// An element's fixed header; the vector follows it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ElementHeader {
    pub item: u8,
    pub level: u8,
    pub deleted: u8,
    pub ntids: u8,
    pub neighbors_block: u32,
    pub neighbors_offset: u16,
    /// A sparse element's non-zero entries (its values are `2·nnz` floats); 0 in other encodings.
    pub nnz: u16,
    pub tids: [pg_sys::ItemPointerData; MAX_HEAP_TIDS],
}

pub const ELEMENT_HEADER: usize = std::mem::size_of::<ElementHeader>();
const NEIGHBOR_HEADER: usize = 4;
const SLOT: usize = 6;

/// A graph node: an element's (block, offset).
pub type Node = u64;

pub fn node(block: u32, offset: u16) -> Node {
    ((block as u64) << 16) | offset as u64
}
pub fn node_block(n: Node) -> u32 {
    (n >> 16) as u32
}
pub fn node_offset(n: Node) -> u16 {
    (n & 0xffff) as u16
}

/// Neighbour slots at `level` (2·m at level 0, m above).
pub fn level_capacity(m: usize, level: usize) -> usize {
    if level == 0 {
        2 * m
    } else {
        m
    }
}

/// First slot of `level` inside a neighbour list.
fn level_start(m: usize, level: usize) -> usize {
    if level == 0 {
        0
    } else {
        2 * m + (level - 1) * m
    }
}

/// Non-zero entries a sparse element's slot is sized for: a multiple of this, so that rows of
/// about the same length can take each other's space after VACUUM.
const SPARSE_SLOT_ENTRIES: usize = 8;

/// Bytes of an element item for `values` values in `enc` (a sparse one's slot rounded up to a
/// multiple of [`SPARSE_SLOT_ENTRIES`] entries).
pub fn element_size(values: usize, enc: Encoding) -> usize {
    let slot = if enc == Encoding::Sparse {
        values.next_multiple_of(2 * SPARSE_SLOT_ENTRIES)
    } else {
        values
    };
    ELEMENT_HEADER + enc.value_bytes(slot)
}

/// Bytes of a neighbour item for an element of `level`.
pub fn neighbors_size(m: usize, level: usize) -> usize {
    NEIGHBOR_HEADER + SLOT * (level_start(m, level) + level_capacity(m, level))
}

/// Bytes an element of `values` values and its neighbour list take on a page, line pointers and
/// alignment included.
pub fn pair_footprint(values: usize, enc: Encoding, m: usize, level: usize) -> usize {
    item_footprint(element_size(values, enc)) + item_footprint(neighbors_size(m, level))
}

pub const fn maxalign(n: usize) -> usize {
    (n + 7) & !7
}

/// Bytes for items on an empty data page (between the page header and the special area).
pub const PAGE_USABLE: usize = pg_sys::BLCKSZ as usize
    - maxalign(std::mem::size_of::<pg_sys::PageHeaderData>())
    - maxalign(std::mem::size_of::<Special>());

/// Bytes one item takes on a page: its maxaligned size and a line pointer.
pub const fn item_footprint(size: usize) -> usize {
    maxalign(size) + std::mem::size_of::<pg_sys::ItemIdData>()
}

// The largest element fits an empty page on its own (a quantized one has its error bound besides).
const _: () = assert!(item_footprint(ELEMENT_HEADER + MAX_VALUE_BYTES) <= PAGE_USABLE);
const _: () =
    assert!(item_footprint(ELEMENT_HEADER + QUANT_ERROR_BYTES + MAX_VALUE_BYTES) <= PAGE_USABLE);
// Values start 4-aligned in a (maxaligned) item, so float4 values are read in place.
const _: () = assert!(ELEMENT_HEADER.is_multiple_of(4));

/// Whether an element and its neighbour list fit one page together.
pub fn pair_fits_one_page(values: usize, enc: Encoding, m: usize, level: usize) -> bool {
    pair_footprint(values, enc, m, level) <= PAGE_USABLE
}

/// Highest level an element may have with this `m`: its neighbour list (2·m + level·m slots) must fit
/// an empty page. Only large `m` is limited (m = 100: level 11, as pgvector caps it); the core's
/// level cap applies below that.
pub fn max_level(m: usize) -> usize {
    let mut level = embedrank_core::hnsw::MAX_LEVEL;
    while level > 0 && item_footprint(neighbors_size(m, level)) > PAGE_USABLE {
        level -= 1;
    }
    level
}

/// Whether `page` was never initialised (an all-zero page left by an interrupted extension).
pub unsafe fn is_new(page: pg_sys::Page) -> bool {
    (*(page as *const pg_sys::PageHeaderData)).pd_upper == 0
}

/// Initialise a fresh page of `kind`.
pub unsafe fn init_page(page: pg_sys::Page, kind: u16) {
    pg_sys::PageInit(
        page,
        pg_sys::BLCKSZ as usize,
        std::mem::size_of::<Special>(),
    );
    let sp = special_ptr(page);
    *sp = Special {
        magic: MAGIC,
        kind,
        version: VERSION,
    };
}

unsafe fn special_ptr(page: pg_sys::Page) -> *mut Special {
    let header = page as *const pg_sys::PageHeaderData;
    (page as *mut u8).add((*header).pd_special as usize) as *mut Special
}

/// Error unless `page` (block `block` of `index`) is one of ours, of `kind`.
pub unsafe fn check_page(index: pg_sys::Relation, page: pg_sys::Page, block: u32, kind: u16) {
    if kind_of(page) != Some(kind) {
        raise(
            Code::ERRCODE_INDEX_CORRUPTED,
            format!(
                "index \"{}\" contains a corrupted page at block {block}",
                rel_name(index)
            ),
            Some("REINDEX the index."),
        );
    }
    let sp = special_ptr(page);
    if (*sp).version != VERSION {
        raise(
            Code::ERRCODE_INDEX_CORRUPTED,
            format!(
                "index \"{}\" has on-disk format version {}, this build reads {VERSION}",
                rel_name(index),
                (*sp).version
            ),
            Some("REINDEX the index."),
        );
    }
}

/// Whether `page` is one of the quantizer's pages ([`KIND_QUANT`]): walks over the data pages skip it.
pub unsafe fn is_quant_page(page: pg_sys::Page) -> bool {
    kind_of(page) == Some(KIND_QUANT)
}

/// The kind of `page` if its special area is one of ours (where ours is, with our magic number).
unsafe fn kind_of(page: pg_sys::Page) -> Option<u16> {
    let header = page as *const pg_sys::PageHeaderData;
    if (*header).pd_special as usize != pg_sys::BLCKSZ as usize - std::mem::size_of::<Special>() {
        return None;
    }
    let sp = special_ptr(page);
    ((*sp).magic == MAGIC).then_some((*sp).kind)
}

pub unsafe fn rel_name(rel: pg_sys::Relation) -> String {
    std::ffi::CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr())
        .to_string_lossy()
        .into_owned()
}

/// The meta data of a meta page.
pub unsafe fn meta_ptr(page: pg_sys::Page) -> *mut Meta {
    (page as *mut u8).add(maxalign(std::mem::size_of::<pg_sys::PageHeaderData>())) as *mut Meta
}

/// Write `meta` into a freshly initialised meta page and set pd_lower past it.
pub unsafe fn write_meta(page: pg_sys::Page, meta: &Meta) {
    *meta_ptr(page) = *meta;
    let header = page as *mut pg_sys::PageHeaderData;
    (*header).pd_lower =
        (meta_ptr(page) as usize + std::mem::size_of::<Meta>() - page as usize) as u16;
}

/// Pointer to item `offset` of `page`, checking it exists and is of the expected item kind.
pub unsafe fn item(
    index: pg_sys::Relation,
    page: pg_sys::Page,
    n: Node,
    expect_element: bool,
) -> *mut u8 {
    let off = node_offset(n);
    if off == 0 || off > pg_sys::PageGetMaxOffsetNumber(page) {
        corrupt_item(index, n);
    }
    let id = pg_sys::PageGetItemId(page, off);
    let p = pg_sys::PageGetItem(page, id) as *mut u8;
    let want = if expect_element {
        ITEM_ELEMENT
    } else {
        ITEM_NEIGHBORS
    };
    if *p != want {
        corrupt_item(index, n);
    }
    p
}

fn corrupt_item(index: pg_sys::Relation, n: Node) -> ! {
    raise(
        Code::ERRCODE_INDEX_CORRUPTED,
        format!(
            "index \"{}\" has an invalid item at ({},{})",
            unsafe { rel_name(index) },
            node_block(n),
            node_offset(n)
        ),
        Some("REINDEX the index."),
    )
}

/// Element header at `p` (an element item).
pub unsafe fn element_header<'a>(p: *mut u8) -> &'a mut ElementHeader {
    &mut *(p as *mut ElementHeader)
}

/// Element `n` on `page` (of an index of `dims` dimensions in `enc`): its header, how many values
/// it has (`dims`, or `2·nnz` for a sparse element) and their encoded bytes, checked to lie inside
/// the item (corruption otherwise).
pub unsafe fn element_values<'a>(
    index: pg_sys::Relation,
    page: pg_sys::Page,
    n: Node,
    dims: usize,
    enc: Encoding,
) -> (&'a ElementHeader, usize, &'a [u8]) {
    let p = item(index, page, n, true);
    let h = &*(p as *const ElementHeader);
    let values = enc.values(dims).unwrap_or(2 * h.nnz as usize);
    let id = pg_sys::PageGetItemId(page, node_offset(n));
    if ((*id).lp_len() as usize) < element_size(values, enc) {
        corrupt_item(index, n);
    }
    let bytes = std::slice::from_raw_parts(p.add(ELEMENT_HEADER), enc.value_bytes(values));
    (h, values, bytes)
}

/// `bytes` (an element's values in a float4 encoding, [`Encoding::is_float4`]) as float4, in place.
pub fn as_float4(bytes: &[u8]) -> &[f32] {
    // SAFETY: element values start 4-aligned (maxaligned item + 72-byte header), and every bit
    // pattern is a valid f32.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const f32, bytes.len() / 4) }
}

/// Build an element item of `values` values whose encoded bytes are `payload`
/// (`enc.value_bytes(values)` long; see `index::codec`).
pub fn make_element(
    level: usize,
    tids: &[pg_sys::ItemPointerData],
    neighbors: Node,
    values: usize,
    payload: &[u8],
    enc: Encoding,
) -> Vec<u8> {
    let mut h = ElementHeader {
        item: ITEM_ELEMENT,
        level: level as u8,
        deleted: 0,
        ntids: tids.len() as u8,
        neighbors_block: node_block(neighbors),
        neighbors_offset: node_offset(neighbors),
        nnz: if enc == Encoding::Sparse {
            (values / 2) as u16
        } else {
            0
        },
        tids: [pg_sys::ItemPointerData::default(); MAX_HEAP_TIDS],
    };
    h.tids[..tids.len()].copy_from_slice(tids);
    debug_assert_eq!(payload.len(), enc.value_bytes(values));
    let mut out = vec![0u8; element_size(values, enc)];
    unsafe {
        std::ptr::copy_nonoverlapping(
            &h as *const ElementHeader as *const u8,
            out.as_mut_ptr(),
            ELEMENT_HEADER,
        );
    }
    out[ELEMENT_HEADER..ELEMENT_HEADER + payload.len()].copy_from_slice(payload);
    out
}

/// Build a neighbour item for an element of `level` with `lists[l]` at each level.
pub fn make_neighbors(m: usize, level: usize, lists: &[Vec<Node>]) -> Vec<u8> {
    let mut out = vec![0u8; neighbors_size(m, level)];
    out[0] = ITEM_NEIGHBORS;
    out[1] = level as u8;
    for (l, list) in lists.iter().enumerate().take(level + 1) {
        write_slots(&mut out, m, l, list);
    }
    out
}

/// Overwrite the slots of `level` in the neighbour item `buf` with `list` (rest emptied).
pub fn write_slots(buf: &mut [u8], m: usize, level: usize, list: &[Node]) {
    let cap = level_capacity(m, level);
    let start = NEIGHBOR_HEADER + SLOT * level_start(m, level);
    for i in 0..cap {
        let n = list.get(i).copied().unwrap_or(0);
        let at = start + SLOT * i;
        buf[at..at + 4].copy_from_slice(&node_block(n).to_ne_bytes());
        buf[at + 4..at + 6].copy_from_slice(&node_offset(n).to_ne_bytes());
    }
}

/// Read the non-empty slots of `level` from the neighbour item at `p` into `out`.
pub unsafe fn read_slots(p: *const u8, m: usize, level: usize, out: &mut Vec<Node>) {
    if level > *p.add(1) as usize {
        return;
    }
    let start = NEIGHBOR_HEADER + SLOT * level_start(m, level);
    for i in 0..level_capacity(m, level) {
        let at = p.add(start + SLOT * i);
        let block = (at as *const u32).read_unaligned();
        let off = (at.add(4) as *const u16).read_unaligned();
        if off != 0 {
            out.push(node(block, off));
        }
    }
}

/// What [`find_deleted`] found on a page.
pub enum FreeSlot {
    /// A slot to reuse: `(element, neighbour item)`.
    At(Node, Node),
    /// Free slots, none with room for this element (too short, or its list too low): a shorter or
    /// lower element may still take one.
    NoneFits,
    /// No free slot at all.
    NoneFree,
}

/// A free (deleted and unlinked) element item of at least `size` bytes on `page` (block `block`)
/// whose neighbour item is on the same page and has slots up to `level`. Elements whose list is on
/// another page (split pairs) are not reused.
pub unsafe fn find_deleted(
    index: pg_sys::Relation,
    page: pg_sys::Page,
    block: u32,
    level: usize,
    size: usize,
) -> FreeSlot {
    let mut any = false;
    for off in 1..=pg_sys::PageGetMaxOffsetNumber(page) {
        let id = pg_sys::PageGetItemId(page, off);
        let p = pg_sys::PageGetItem(page, id) as *mut u8;
        if *p != ITEM_ELEMENT {
            continue;
        }
        let h = element_header(p);
        if h.deleted != DELETED_FREE || h.neighbors_block != block {
            continue;
        }
        any = true;
        let nb = node(block, h.neighbors_offset);
        if ((*id).lp_len() as usize) >= size
            && neighbors_level(item(index, page, nb, false)) >= level
        {
            return FreeSlot::At(node(block, off), nb);
        }
    }
    if any {
        FreeSlot::NoneFits
    } else {
        FreeSlot::NoneFree
    }
}

/// The element items of `page`: (offset, header).
pub unsafe fn elements<'a>(
    page: pg_sys::Page,
) -> impl Iterator<Item = (u16, &'a ElementHeader)> + 'a {
    (1..=pg_sys::PageGetMaxOffsetNumber(page)).filter_map(move |off| {
        let p = pg_sys::PageGetItem(page, pg_sys::PageGetItemId(page, off)) as *mut u8;
        (*p == ITEM_ELEMENT).then(|| (off, &*(p as *const ElementHeader)))
    })
}

/// Level of the neighbour item at `p`.
pub unsafe fn neighbors_level(p: *const u8) -> usize {
    *p.add(1) as usize
}
