//! A term's postings on pages: the core's [`Cursor`] over a chain of blocks, and appending.
//!
//! The cursor walks block headers to skip (a header is read without decoding its postings) and
//! decodes a block only when a seek lands in it, copying it out under the page's share lock; no lock
//! is held between calls. It ignores documents at or after `limit` (inserted after the scan began),
//! so a scan sees one fixed set of documents however long it runs. A block VACUUM emptied meanwhile
//! is simply passed over.

use super::format::{self as f, check_page, BlockHeader, Meta, Posting, Ptr, KIND_POSTINGS};
use crate::index::pages::buffer::{ExclusiveBuffer, SharedBuffer};
use crate::index::pages::wal::WalWrite;
use embedrank_core::bm25::{Bm25, Cursor};
use pgrx::pg_sys;

/// Read the header of block `at`. (Every block read checks for interrupts: a long walk can be
/// cancelled, a damaged chain that loops too.)
pub fn read_header(index: pg_sys::Relation, at: Ptr) -> BlockHeader {
    pg_sys::check_for_interrupts!();
    let buf = SharedBuffer::lock(index, at.block);
    unsafe {
        check_page(index, buf.page(), at.block, KIND_POSTINGS);
        BlockHeader::decode(index, f::item(index, buf.page(), at))
    }
}

/// Read block `at` whole.
pub fn read_block(index: pg_sys::Relation, at: Ptr) -> (BlockHeader, Vec<Posting>) {
    pg_sys::check_for_interrupts!();
    let buf = SharedBuffer::lock(index, at.block);
    unsafe {
        check_page(index, buf.page(), at.block, KIND_POSTINGS);
        let b = f::item(index, buf.page(), at);
        let h = BlockHeader::decode(index, b);
        let postings = f::decode_postings(index, b, &h);
        (h, postings)
    }
}

/// [`Cursor`] over one term's block chain.
pub struct PageCursor {
    index: pg_sys::Relation,
    weight: f32,
    bm25: Bm25,
    max_score: f32,
    limit: u32,
    /// The decoded block and the position in it.
    block: Vec<Posting>,
    pos: usize,
    /// The block the header walk is at (never behind the decoded one), its header; None: past the end.
    at: Option<(Ptr, BlockHeader)>,
}

impl PageCursor {
    /// A cursor at the first posting of the list starting at `head`, for a query term of weight
    /// `weight`, whose list-wide bounds are `max_tf` and `min_len`.
    pub fn new(
        index: pg_sys::Relation,
        head: Ptr,
        weight: f32,
        bounds: (u16, u32),
        bm25: Bm25,
        limit: u32,
    ) -> PageCursor {
        let at = (!head.is_none()).then(|| (head, read_header(index, head)));
        let mut c = PageCursor {
            index,
            weight,
            bm25,
            max_score: bm25.term_score(weight, bounds.0 as u32, bounds.1),
            limit,
            block: Vec::new(),
            pos: 0,
            at,
        };
        c.load(0);
        c
    }

    /// Move the header walk to the first non-empty block whose last document is ≥ `target`.
    fn walk_headers(&mut self, target: u32) {
        while let Some((_, h)) = &self.at {
            if h.count > 0 && h.last_doc >= target {
                return;
            }
            let next = h.next;
            self.at = (!next.is_none()).then(|| (next, read_header(self.index, next)));
        }
    }

    /// Decode the first block holding a document ≥ `target` and stand at that document.
    fn load(&mut self, target: u32) {
        loop {
            self.walk_headers(target);
            let Some((ptr, _)) = self.at else {
                self.block.clear();
                self.pos = 0;
                return;
            };
            let (h, postings) = read_block(self.index, ptr);
            self.block = postings;
            self.pos = self.block.partition_point(|p| p.doc < target);
            if self.pos < self.block.len() {
                self.at = Some((ptr, h));
                return;
            }
            // Emptied by a VACUUM since its header was read: go on.
            self.at = (!h.next.is_none()).then(|| (h.next, read_header(self.index, h.next)));
        }
    }

    /// The heap TID of the current document.
    pub fn tid(&self) -> pg_sys::ItemPointerData {
        self.block[self.pos].tid
    }
}

impl Cursor for PageCursor {
    fn doc(&self) -> u32 {
        match self.block.get(self.pos) {
            Some(p) if p.doc < self.limit => p.doc,
            _ => Self::END,
        }
    }

    fn tf_dl(&self) -> (u32, u32) {
        let p = &self.block[self.pos];
        (p.tf as u32, p.len)
    }

    fn seek(&mut self, target: u32) {
        if self.doc() >= target {
            return;
        }
        if self.block.last().is_some_and(|p| p.doc >= target) {
            let from = self.pos;
            self.pos = from + self.block[from..].partition_point(|p| p.doc < target);
            return;
        }
        self.load(target);
    }

    fn block_at(&mut self, target: u32) -> (u32, f32) {
        self.walk_headers(target);
        match &self.at {
            Some((_, h)) => (
                h.last_doc,
                self.bm25
                    .term_score(self.weight, h.max_tf as u32, h.min_len),
            ),
            None => (Self::END, 0.0),
        }
    }

    fn max_score(&self) -> f32 {
        self.max_score
    }

    fn weight(&self) -> f32 {
        self.weight
    }
}

/// Spare bytes of a block an insert starts after a full one of `previous` postings (0: the
/// term's first): room for a few postings for a new term (most are rare), doubling up to a full
/// block's worth.
pub fn next_room(previous: usize) -> usize {
    (previous * 2).clamp(4, f::BLOCK) * 8
}

/// Put a new block holding `postings` with `room` spare bytes on the posting page inserts fill,
/// or a new page; returns where it went. Updates `meta.postings_tail` (the caller writes meta).
pub fn place_block(
    index: pg_sys::Relation,
    meta: &mut Meta,
    postings: &[Posting],
    room: usize,
) -> Ptr {
    let bytes = f::encode_block(postings, room, Ptr::NONE);
    if meta.postings_tail != f::NONE {
        let buf = ExclusiveBuffer::lock(index, meta.postings_tail);
        unsafe { check_page(index, buf.page(), meta.postings_tail, KIND_POSTINGS) };
        let block = buf.block();
        if unsafe { pg_sys::PageGetFreeSpace(buf.page()) } >= f::maxalign(bytes.len()) {
            let mut wal = WalWrite::start(index);
            let page = wal.page(buf, false);
            let offset = unsafe { f::add_item(page, &bytes) }.expect("checked room");
            wal.commit();
            return Ptr { block, offset };
        }
    }
    let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    let block = buf.block();
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, true);
    let offset = unsafe {
        f::init_page(page, KIND_POSTINGS);
        f::add_item(page, &bytes).expect("a block fits an empty page")
    };
    wal.commit();
    meta.postings_tail = block;
    Ptr { block, offset }
}

/// Append `p` to block `at` if it has room; if not, the number of postings it holds.
pub fn append_in_place(index: pg_sys::Relation, at: Ptr, p: &Posting) -> Result<(), usize> {
    let buf = ExclusiveBuffer::lock(index, at.block);
    unsafe { check_page(index, buf.page(), at.block, KIND_POSTINGS) };
    let (h, existing) = unsafe {
        let b = f::item(index, buf.page(), at);
        let h = BlockHeader::decode(index, b);
        let existing = f::decode_postings(index, b, &h);
        (h, existing)
    };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    let b = unsafe { f::item_mut(index, page, at) };
    match f::append_posting(b, &h, &existing, p) {
        Some(h2) => {
            h2.encode_into(b);
            wal.commit();
            Ok(())
        }
        // Dropping the record leaves the page as it was.
        None => Err(h.count as usize),
    }
}

/// Point block `at`'s `next` to `next`.
pub fn link_block(index: pg_sys::Relation, at: Ptr, next: Ptr) {
    let buf = ExclusiveBuffer::lock(index, at.block);
    unsafe { check_page(index, buf.page(), at.block, KIND_POSTINGS) };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    unsafe {
        let b = f::item_mut(index, page, at);
        let mut h = BlockHeader::decode(index, b);
        h.next = next;
        h.encode_into(b);
    }
    wal.commit();
}

/// Rewrite block `at` to hold `postings` (a subset of what it held, same capacity and link).
pub fn rewrite_block(index: pg_sys::Relation, at: Ptr, postings: &[Posting]) {
    let buf = ExclusiveBuffer::lock(index, at.block);
    unsafe { check_page(index, buf.page(), at.block, KIND_POSTINGS) };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    unsafe {
        let b = f::item_mut(index, page, at);
        let h = BlockHeader::decode(index, b);
        let mut h2 = f::rewrite_postings(b, &h, postings);
        if postings.is_empty() {
            // Keep the old last document: the chain's order stays readable by concurrent cursors.
            h2.last_doc = h.last_doc;
        }
        h2.encode_into(b);
    }
    wal.commit();
}
