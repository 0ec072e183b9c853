//! The term dictionary on pages: hash buckets of [`TermEntry`] items, and the meta page.
//!
//! A lexeme lives in bucket `term_hash(lexeme) & (buckets − 1)`; the bucket's first page is block
//! `first_bucket + bucket`, further pages follow its chain. Build sizes the bucket count so each
//! bucket fills about two thirds of a page; terms added later go to the bucket's last page or a new
//! page chained after it. Lookups read one page per link under a share lock.

use super::format::{
    self as f, check_page, read_meta_page, term_hash, Meta, Ptr, TermEntry, KIND_DICT, KIND_META,
    META_BLOCK,
};
use crate::index::pages::buffer::{ExclusiveBuffer, SharedBuffer};
use crate::index::pages::wal::WalWrite;
use pgrx::pg_sys;

/// The meta page's contents.
pub fn read_meta(index: pg_sys::Relation) -> Meta {
    let buf = SharedBuffer::lock(index, META_BLOCK);
    unsafe {
        check_page(index, buf.page(), META_BLOCK, KIND_META);
        read_meta_page(buf.page())
    }
}

/// The first page of `term`'s bucket.
pub fn bucket_block(meta: &Meta, term: &[u8]) -> u32 {
    meta.first_bucket + (term_hash(term) & (meta.buckets as u64 - 1)) as u32
}

/// Where `term`'s entry is and what it holds, or None.
pub fn lookup(index: pg_sys::Relation, meta: &Meta, term: &[u8]) -> Option<(Ptr, TermEntry)> {
    let mut block = bucket_block(meta, term);
    let mut pages = 0u32;
    while block != f::NONE {
        pages += 1;
        if pages > crate::index::pages::buffer::block_count(index) {
            f::corrupted(index, "has a dictionary chain that loops".into());
        }
        let buf = SharedBuffer::lock(index, block);
        let page = buf.page();
        unsafe {
            check_page(index, page, block, KIND_DICT);
            for off in 1..=f::item_count(page) {
                let at = Ptr { block, offset: off };
                let b = f::item(index, page, at);
                if TermEntry::term_of(b) == term {
                    return Some((at, TermEntry::decode(index, b)));
                }
            }
            block = f::next_page(page);
        }
    }
    None
}

/// The last page of `term`'s bucket chain (where a new entry goes).
pub fn bucket_tail(index: pg_sys::Relation, meta: &Meta, term: &[u8]) -> u32 {
    let mut block = bucket_block(meta, term);
    for _ in 0..=crate::index::pages::buffer::block_count(index) {
        let buf = SharedBuffer::lock(index, block);
        let next = unsafe {
            check_page(index, buf.page(), block, KIND_DICT);
            f::next_page(buf.page())
        };
        if next == f::NONE {
            return block;
        }
        block = next;
    }
    f::corrupted(index, "has a dictionary chain that loops".into())
}

/// Overwrite the entry at `at` with `entry` (same lexeme, so the same size).
pub fn update_entry(index: pg_sys::Relation, at: Ptr, entry: &TermEntry) {
    update_entries(index, at.block, &[(at.offset, entry.clone())]);
}

/// Add `entry` to its bucket (a new page chained to the bucket's last if that one is full).
pub fn add_entry(index: pg_sys::Relation, meta: &Meta, entry: &TermEntry) -> Ptr {
    let bytes = entry.encode();
    let tail = bucket_tail(index, meta, &entry.term);
    let buf = ExclusiveBuffer::lock(index, tail);
    unsafe { check_page(index, buf.page(), tail, KIND_DICT) };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    if let Some(offset) = unsafe { f::add_item(page, &bytes) } {
        wal.commit();
        return Ptr {
            block: tail,
            offset,
        };
    }
    let fresh = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    let block = fresh.block();
    let new_page = wal.page(fresh, true);
    unsafe {
        f::init_page(new_page, KIND_DICT);
        let offset = f::add_item(new_page, &bytes).expect("a term entry fits an empty page");
        f::set_next_page(page, block);
        wal.commit();
        Ptr { block, offset }
    }
}

/// Every entry of the dictionary, page by page: `visit(page's block, entries with their offsets)`.
pub fn for_each_page(
    index: pg_sys::Relation,
    meta: &Meta,
    mut visit: impl FnMut(u32, Vec<(u16, TermEntry)>),
) {
    for bucket in 0..meta.buckets {
        let mut block = meta.first_bucket + bucket;
        while block != f::NONE {
            let (entries, next) = {
                let buf = SharedBuffer::lock(index, block);
                let page = buf.page();
                unsafe {
                    check_page(index, page, block, KIND_DICT);
                    let entries: Vec<(u16, TermEntry)> = (1..=f::item_count(page))
                        .map(|off| {
                            let b = f::item(index, page, Ptr { block, offset: off });
                            (off, TermEntry::decode(index, b))
                        })
                        .collect();
                    (entries, f::next_page(page))
                }
            };
            visit(block, entries);
            block = next;
            pg_sys::check_for_interrupts!();
        }
    }
}

/// Overwrite entries of dictionary page `block` (same lexemes, so the same sizes) in one record.
pub fn update_entries(index: pg_sys::Relation, block: u32, entries: &[(u16, TermEntry)]) {
    let buf = ExclusiveBuffer::lock(index, block);
    unsafe { check_page(index, buf.page(), block, KIND_DICT) };
    let mut wal = WalWrite::start(index);
    let page = wal.page(buf, false);
    for (offset, e) in entries {
        let at = Ptr {
            block,
            offset: *offset,
        };
        unsafe {
            let b = f::item_mut(index, page, at);
            let bytes = e.encode();
            if b.len() != bytes.len() || TermEntry::term_of(b) != e.term.as_slice() {
                f::corrupted(
                    index,
                    format!("has a different term entry at ({block},{offset})"),
                );
            }
            b.copy_from_slice(&bytes);
        }
    }
    wal.commit();
}
