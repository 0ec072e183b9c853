//! Page writes of the index, each through a [`WalWrite`] record: new pages, element + neighbour
//! pairs (new, or reusing a vacuumed-away element's space), neighbour-slot updates, heap-TID updates
//! and meta-page changes.

use super::page::{self, Meta, Node};
use super::storage::lock_block;
use super::xlog::WalWrite;
use pgrx::pg_sys;

/// Add a new block to `fork` of `index`, returned pinned and exclusively locked.
pub unsafe fn extend(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type) -> pg_sys::Buffer {
    #[cfg(any(feature = "pg14", feature = "pg15"))]
    {
        pg_sys::LockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
        let buf = pg_sys::ReadBufferExtended(
            index,
            fork,
            pg_sys::InvalidBlockNumber, // P_NEW
            pg_sys::ReadBufferMode::RBM_NORMAL,
            std::ptr::null_mut(),
        );
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        pg_sys::UnlockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
        buf
    }
    #[cfg(not(any(feature = "pg14", feature = "pg15")))]
    {
        let bmr = pg_sys::BufferManagerRelation {
            rel: index,
            smgr: std::ptr::null_mut(),
            relpersistence: 0,
        };
        pg_sys::ExtendBufferedRel(
            bmr,
            fork,
            std::ptr::null_mut(),
            pg_sys::ExtendBufferedFlags::EB_LOCK_FIRST,
        )
    }
}

/// Append `item` to `page`, returning its offset.
unsafe fn add_item(page: pg_sys::Page, item: &[u8]) -> u16 {
    let off = pg_sys::PageAddItemExtended(
        page,
        item.as_ptr() as pg_sys::Item,
        item.len(),
        pg_sys::InvalidOffsetNumber,
        0,
    );
    assert!(
        off != pg_sys::InvalidOffsetNumber,
        "failed to add item to index page"
    );
    off
}

/// Write an element (`vector`, `tids`, `level`) and its neighbour list (`lists`) onto one data page:
/// `meta.insert_block` if they fit, else a new page (recorded in `meta.insert_block`; the caller
/// writes the meta page). Returns the element's node.
pub unsafe fn add_pair(
    index: pg_sys::Relation,
    meta: &mut Meta,
    level: usize,
    tids: &[pg_sys::ItemPointerData],
    vector: &[f32],
    lists: &[Vec<Node>],
) -> Node {
    let m = meta.m as usize;
    let need = page::pair_footprint(vector.len(), m, level);
    let mut wal = WalWrite::start(index);
    let (block, pg) = 'found: {
        if meta.insert_block != page::META_BLOCK {
            let buf = lock_block(index, meta.insert_block, pg_sys::BUFFER_LOCK_EXCLUSIVE);
            page::check_page(
                index,
                pg_sys::BufferGetPage(buf),
                meta.insert_block,
                page::KIND_DATA,
            );
            if pg_sys::PageGetFreeSpace(pg_sys::BufferGetPage(buf)) + 4 >= need {
                break 'found (meta.insert_block, wal.page(buf, false));
            }
            pg_sys::UnlockReleaseBuffer(buf);
        }
        let buf = extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
        let p = wal.page(buf, true);
        page::init_page(p, page::KIND_DATA);
        meta.insert_block = pg_sys::BufferGetBlockNumber(buf);
        (meta.insert_block, p)
    };
    let next = pg_sys::PageGetMaxOffsetNumber(pg) + 1;
    let element = page::make_element(level, tids, page::node(block, next + 1), vector);
    let off_e = add_item(pg, &element);
    let off_n = add_item(pg, &page::make_neighbors(m, level, lists));
    assert!(
        off_e == next && off_n == next + 1,
        "unexpected item offsets"
    );
    wal.commit();
    page::node(block, off_e)
}

/// Put a new element into the space of a vacuumed-away one on page `block`, if the page has a
/// deleted element whose neighbour item sits on the same page and has slots up to `level`. Vacuum
/// has relinked every live element away from deleted ones before it advertises their pages
/// ([`Meta::free_block`]), so nothing reachable points at the slot any more; a scan still holding an
/// old neighbour list just meets the new element, with its own vector and heap TIDs.
/// Returns the element's node, or `None` when the page has no such slot.
pub unsafe fn reuse_deleted(
    index: pg_sys::Relation,
    m: usize,
    block: u32,
    level: usize,
    tids: &[pg_sys::ItemPointerData],
    vector: &[f32],
    lists: &[Vec<Node>],
) -> Option<Node> {
    let buf = lock_block(index, block, pg_sys::BUFFER_LOCK_EXCLUSIVE);
    let p = pg_sys::BufferGetPage(buf);
    page::check_page(index, p, block, page::KIND_DATA);
    let Some((e, nb)) = page::find_deleted(index, p, block, level) else {
        pg_sys::UnlockReleaseBuffer(buf);
        return None;
    };
    let mut wal = WalWrite::start(index);
    let pg = wal.page(buf, false);
    let element = page::item(index, pg, e, true);
    let fresh = page::make_element(level, tids, nb, vector);
    std::ptr::copy_nonoverlapping(fresh.as_ptr(), element, fresh.len());
    let item = page::item(index, pg, nb, false);
    let size = page::neighbors_size(m, page::neighbors_level(item));
    let slots = std::slice::from_raw_parts_mut(item, size);
    for l in 0..=page::neighbors_level(item) {
        page::write_slots(slots, m, l, lists.get(l).map_or(&[][..], |v| v.as_slice()));
    }
    wal.commit();
    Some(e)
}

/// Change page `block` (of `kind`) in place under an exclusive lock, as one WAL record.
unsafe fn modify(index: pg_sys::Relation, block: u32, kind: u16, f: impl FnOnce(pg_sys::Page)) {
    let buf = lock_block(index, block, pg_sys::BUFFER_LOCK_EXCLUSIVE);
    page::check_page(index, pg_sys::BufferGetPage(buf), block, kind);
    let mut wal = WalWrite::start(index);
    f(wal.page(buf, false));
    wal.commit();
}

/// Replace the meta page contents with `meta`.
pub unsafe fn write_meta(index: pg_sys::Relation, meta: &Meta) {
    modify(index, page::META_BLOCK, page::KIND_META, |p| {
        page::write_meta(p, meta)
    });
}

/// Overwrite the slots of `level` in neighbour item `nb` with `list`.
pub unsafe fn set_neighbors(
    index: pg_sys::Relation,
    m: usize,
    nb: Node,
    level: usize,
    list: &[Node],
) {
    modify(index, page::node_block(nb), page::KIND_DATA, |p| {
        let item = page::item(index, p, nb, false);
        let size = page::neighbors_size(m, page::neighbors_level(item));
        page::write_slots(std::slice::from_raw_parts_mut(item, size), m, level, list);
    });
}

/// Set element `n`'s heap TIDs (and its deleted flag when none remain).
pub unsafe fn set_tids(index: pg_sys::Relation, n: Node, tids: &[pg_sys::ItemPointerData]) {
    modify(index, page::node_block(n), page::KIND_DATA, |p| {
        let h = page::element_header(page::item(index, p, n, true));
        h.tids = [pg_sys::ItemPointerData::default(); page::MAX_HEAP_TIDS];
        h.tids[..tids.len()].copy_from_slice(tids);
        h.ntids = tids.len() as u8;
        h.deleted = tids.is_empty() as u8;
    });
}
