//! The document table on pages: one [`DocEntry`] per indexed row, in document-id order, in a chain
//! of pages from `meta.docs_head` to `meta.docs_tail`.

use super::format::{self as f, check_page, DocEntry, Meta, Ptr, KIND_DOCS, KIND_META, META_BLOCK};
use crate::index::pages::buffer::{ExclusiveBuffer, SharedBuffer};
use crate::index::pages::wal::WalWrite;
use pgrx::pg_sys;

/// Append `entry` and write `meta` (with the entry's statistics already counted) in one WAL
/// record, so the corpus statistics and the table never disagree after a crash.
pub fn append(index: pg_sys::Relation, meta: &mut Meta, entry: &DocEntry) {
    let bytes = entry.encode();
    let meta_buf = ExclusiveBuffer::lock(index, META_BLOCK);
    unsafe { check_page(index, meta_buf.page(), META_BLOCK, KIND_META) };
    let mut wal = WalWrite::start(index);
    if meta.docs_tail != f::NONE {
        let tail = ExclusiveBuffer::lock(index, meta.docs_tail);
        unsafe { check_page(index, tail.page(), meta.docs_tail, KIND_DOCS) };
        if unsafe { pg_sys::PageGetFreeSpace(tail.page()) } >= f::maxalign(bytes.len()) {
            let page = wal.page(tail, false);
            unsafe { f::add_item(page, &bytes).expect("checked room") };
            let mp = wal.page(meta_buf, false);
            unsafe { f::write_meta(mp, meta) };
            wal.commit();
            return;
        }
        let fresh = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
        let block = fresh.block();
        let old = wal.page(tail, false);
        unsafe { f::set_next_page(old, block) };
        let page = wal.page(fresh, true);
        unsafe {
            f::init_page(page, KIND_DOCS);
            f::add_item(page, &bytes).expect("fits an empty page");
        }
        meta.docs_tail = block;
    } else {
        let fresh = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
        let block = fresh.block();
        let page = wal.page(fresh, true);
        unsafe {
            f::init_page(page, KIND_DOCS);
            f::add_item(page, &bytes).expect("fits an empty page");
        }
        meta.docs_head = block;
        meta.docs_tail = block;
    }
    let mp = wal.page(meta_buf, false);
    unsafe { f::write_meta(mp, meta) };
    wal.commit();
}

/// The entries of document page `block` (with their offsets) and the next page of the chain.
pub fn read_page(index: pg_sys::Relation, block: u32) -> (Vec<(u16, DocEntry)>, u32) {
    pg_sys::check_for_interrupts!();
    let buf = SharedBuffer::lock(index, block);
    let page = buf.page();
    unsafe {
        check_page(index, page, block, KIND_DOCS);
        let entries = (1..=f::item_count(page))
            .map(|off| {
                let b = f::item(index, page, Ptr { block, offset: off });
                (off, DocEntry::decode(index, b))
            })
            .collect();
        (entries, f::next_page(page))
    }
}

/// Visit every entry, page by page: `visit(block, entries with their offsets)`.
pub fn for_each_page(
    index: pg_sys::Relation,
    meta: &Meta,
    mut visit: impl FnMut(u32, &[(u16, DocEntry)]),
) {
    let mut block = meta.docs_head;
    let mut pages = 0u32;
    while block != f::NONE {
        pages += 1;
        if pages > crate::index::pages::buffer::block_count(index) {
            f::corrupted(index, "has a document table that loops".into());
        }
        let (entries, next) = read_page(index, block);
        visit(block, &entries);
        block = next;
    }
}

/// Mark entries `offsets` of page `block` deleted and write `meta` (their statistics already
/// taken off) in one WAL record: marks and statistics change together or not at all.
pub fn mark_deleted(index: pg_sys::Relation, block: u32, offsets: &[u16], meta: &Meta) {
    let meta_buf = ExclusiveBuffer::lock(index, META_BLOCK);
    unsafe { check_page(index, meta_buf.page(), META_BLOCK, KIND_META) };
    let buf = ExclusiveBuffer::lock(index, block);
    unsafe { check_page(index, buf.page(), block, KIND_DOCS) };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    for &offset in offsets {
        unsafe {
            let b = f::item_mut(index, page, Ptr { block, offset });
            let mut e = DocEntry::decode(index, b);
            e.deleted = true;
            b.copy_from_slice(&e.encode());
        }
    }
    let mp = wal.page(meta_buf, false);
    unsafe { f::write_meta(mp, meta) };
    wal.commit();
}
