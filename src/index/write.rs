//! Page writes of the index, each through a [`WalWrite`] record: new pages, element + neighbour
//! pairs (new, or reusing a vacuumed-away element's space), neighbour-slot updates, heap-TID updates
//! (an insert joining a duplicate, VACUUM removing dead TIDs page by page, VACUUM freeing slots) and
//! meta-page changes. Every read-modify-write happens under the page's exclusive lock, so concurrent
//! writers never lose each other's change.

use super::pages::buffer::{with_data_page, ExclusiveBuffer};
use super::pages::format::{self as page, Meta, Node};
use super::pages::wal::WalWrite;
use pgrx::pg_sys;

/// Append `item` to `page`, returning its offset.
pub unsafe fn add_item(page: pg_sys::Page, item: &[u8]) -> u16 {
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

/// Bytes still free for one more item on `page` (its line pointer included).
unsafe fn room(page: pg_sys::Page) -> usize {
    pg_sys::PageGetFreeSpace(page) + std::mem::size_of::<pg_sys::ItemIdData>()
}

/// A page with room for `need` bytes, registered in `wal`: the insert page (`meta.insert_block`) if it
/// has room, else a new page, which becomes the insert page (the caller writes the meta page). A new
/// (never initialised) insert page left by an interrupted extension is initialised and used.
unsafe fn page_with_room(
    index: pg_sys::Relation,
    meta: &mut Meta,
    wal: &mut WalWrite,
    need: usize,
) -> (u32, pg_sys::Page) {
    if meta.insert_block != page::META_BLOCK {
        let buf = ExclusiveBuffer::lock(index, meta.insert_block);
        if page::is_new(buf.page()) {
            let p = wal.page(buf, true);
            page::init_page(p, page::KIND_DATA);
            return (meta.insert_block, p);
        }
        page::check_page(index, buf.page(), meta.insert_block, page::KIND_DATA);
        if room(buf.page()) >= need {
            return (meta.insert_block, wal.page(buf, false));
        }
    }
    new_data_page(index, meta, wal)
}

/// A new data page at the end of the index, registered in `wal`; it becomes the insert page.
unsafe fn new_data_page(
    index: pg_sys::Relation,
    meta: &mut Meta,
    wal: &mut WalWrite,
) -> (u32, pg_sys::Page) {
    let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    meta.insert_block = buf.block();
    let p = wal.page(buf, true);
    page::init_page(p, page::KIND_DATA);
    (meta.insert_block, p)
}

/// A new element as it is written.
pub struct NewElement<'a> {
    pub level: usize,
    pub tids: &'a [pg_sys::ItemPointerData],
    /// How many values it has, and their bytes as the index's codec encodes them.
    pub values: usize,
    pub payload: &'a [u8],
    /// Its neighbour list per level.
    pub lists: &'a [Vec<Node>],
}

/// Write an element and its neighbour list as one WAL record:
/// together on the insert page if they fit, else on a new page; a pair too large for one page goes
/// list first, then the element on the same page if it still fits, else on another new page.
/// `meta.insert_block` follows (the caller writes the meta page). Returns the element's node.
pub unsafe fn add_pair(index: pg_sys::Relation, meta: &mut Meta, e: &NewElement) -> Node {
    let (level, tids, values, payload) = (e.level, e.tids, e.values, e.payload);
    let lists = e.lists;
    let (m, enc) = (meta.m as usize, meta.encoding());
    let neighbors = page::make_neighbors(m, level, lists);
    let mut wal = WalWrite::start(index);
    let node = if page::pair_fits_one_page(values, enc, m, level) {
        let (block, pg) = page_with_room(
            index,
            meta,
            &mut wal,
            page::pair_footprint(values, enc, m, level),
        );
        let next = pg_sys::PageGetMaxOffsetNumber(pg) + 1;
        let element = page::make_element(
            level,
            tids,
            page::node(block, next + 1),
            values,
            payload,
            enc,
        );
        let off_e = add_item(pg, &element);
        let off_n = add_item(pg, &neighbors);
        assert!(
            off_e == next && off_n == next + 1,
            "unexpected item offsets"
        );
        page::node(block, off_e)
    } else {
        let (nb_block, nb_page) =
            page_with_room(index, meta, &mut wal, page::item_footprint(neighbors.len()));
        let nb = page::node(nb_block, add_item(nb_page, &neighbors));
        let element = page::make_element(level, tids, nb, values, payload, enc);
        if room(nb_page) >= page::item_footprint(element.len()) {
            page::node(nb_block, add_item(nb_page, &element))
        } else {
            let (block, p) = new_data_page(index, meta, &mut wal);
            page::node(block, add_item(p, &element))
        }
    };
    wal.commit();
    node
}

/// Put a new element into the space of a vacuumed-away one on page `block`, if the page has a free
/// element (see [`page::DELETED_FREE`]) at least as large as the new one whose neighbour item sits on
/// the same page and has slots up to `level`. VACUUM marks a slot free only after it relinked every live element away from it, so
/// nothing reachable points at the slot any more; a scan still holding an old neighbour list just
/// meets the new element, with its own vector and heap TIDs.
/// Returns the element's node, or what the page has instead.
pub unsafe fn reuse_deleted(
    index: pg_sys::Relation,
    meta: &Meta,
    block: u32,
    new: &NewElement,
) -> Result<Node, page::FreeSlot> {
    let (level, tids, values, payload) = (new.level, new.tids, new.values, new.payload);
    let lists = new.lists;
    let (m, enc) = (meta.m as usize, meta.encoding());
    let size = page::element_size(values, enc);
    // Look under a share lock first: most pages an insert looks at have nothing for it, and
    // scans of the page need not wait for that.
    let seen = with_data_page(index, block, |p| unsafe {
        page::find_deleted(index, p, block, level, size)
    });
    match seen {
        None => return Err(page::FreeSlot::NoneFree),
        Some(page::FreeSlot::At(..)) => {}
        Some(other) => return Err(other),
    }
    // Then again under the exclusive lock, which is what counts.
    let buf = ExclusiveBuffer::lock(index, block);
    page::check_page(index, buf.page(), block, page::KIND_DATA);
    let (e, nb) = match page::find_deleted(index, buf.page(), block, level, size) {
        page::FreeSlot::At(e, nb) => (e, nb),
        other => return Err(other),
    };
    let mut wal = WalWrite::start(index);
    let pg = wal.page(buf, false);
    let element = page::item(index, pg, e, true);
    // A sparse element may be shorter than the slot; its header says how long it is.
    let fresh = page::make_element(level, tids, nb, values, payload, enc);
    std::ptr::copy_nonoverlapping(fresh.as_ptr(), element, fresh.len());
    let item = page::item(index, pg, nb, false);
    let size = page::neighbors_size(m, page::neighbors_level(item));
    let slots = std::slice::from_raw_parts_mut(item, size);
    for l in 0..=page::neighbors_level(item) {
        page::write_slots(slots, m, l, lists.get(l).map_or(&[][..], |v| v.as_slice()));
    }
    wal.commit();
    Ok(e)
}

/// Change page `block` (of `kind`) in place under an exclusive lock, as one WAL record.
unsafe fn modify(index: pg_sys::Relation, block: u32, kind: u16, f: impl FnOnce(pg_sys::Page)) {
    let buf = ExclusiveBuffer::lock(index, block);
    page::check_page(index, buf.page(), block, kind);
    let mut wal = WalWrite::start(index);
    f(wal.page(buf, false));
    wal.commit();
}

/// Change the meta page with `f` under its exclusive lock: a read-modify-write, so concurrent
/// writers each change only the fields they mean to. One WAL record, none if nothing changed.
pub unsafe fn update_meta(index: pg_sys::Relation, f: impl FnOnce(&mut Meta)) {
    let buf = ExclusiveBuffer::lock(index, page::META_BLOCK);
    page::check_page(index, buf.page(), page::META_BLOCK, page::KIND_META);
    let before = *page::meta_ptr(buf.page());
    let mut meta = before;
    f(&mut meta);
    if meta == before {
        return;
    }
    let mut wal = WalWrite::start(index);
    page::write_meta(wal.page(buf, false), &meta);
    wal.commit();
}

/// Replace the meta page contents with `meta`.
pub unsafe fn write_meta(index: pg_sys::Relation, meta: &Meta) {
    modify(index, page::META_BLOCK, page::KIND_META, |p| {
        page::write_meta(p, meta)
    });
}

/// Overwrite the slots of `level` in neighbour item `nb` with `list`: one WAL record, none if the
/// slots already hold exactly `list`.
pub unsafe fn set_neighbors(
    index: pg_sys::Relation,
    m: usize,
    nb: Node,
    level: usize,
    list: &[Node],
) {
    let block = page::node_block(nb);
    let buf = ExclusiveBuffer::lock(index, block);
    page::check_page(index, buf.page(), block, page::KIND_DATA);
    let mut now = Vec::with_capacity(list.len());
    page::read_slots(page::item(index, buf.page(), nb, false), m, level, &mut now);
    if now == list {
        return;
    }
    let mut wal = WalWrite::start(index);
    let p = wal.page(buf, false);
    let item = page::item(index, p, nb, false);
    let size = page::neighbors_size(m, page::neighbors_level(item));
    page::write_slots(std::slice::from_raw_parts_mut(item, size), m, level, list);
    wal.commit();
}

/// Add heap TID `tid` to element `n` if it is live and has room (an exact duplicate joining it);
/// checked and written under the page's exclusive lock. Returns whether it joined.
pub unsafe fn join_tid(index: pg_sys::Relation, n: Node, tid: pg_sys::ItemPointerData) -> bool {
    let mut joined = false;
    modify(index, page::node_block(n), page::KIND_DATA, |p| {
        let h = page::element_header(page::item(index, p, n, true));
        if h.deleted == page::LIVE && (h.ntids as usize) < page::MAX_HEAP_TIDS && h.ntids > 0 {
            h.tids[h.ntids as usize] = tid;
            h.ntids += 1;
            joined = true;
        }
    });
    joined
}

/// What VACUUM's first pass did to one page.
#[derive(Default)]
pub struct PageSweep {
    /// Heap TIDs removed.
    pub removed: usize,
    /// Heap TIDs left on live elements.
    pub live_tids: usize,
    /// Elements that lost their last heap TID now (marked [`page::DELETED_LINKED`]), and those
    /// marked so by an earlier VACUUM that stopped before freeing them.
    pub linked_deleted: Vec<Node>,
}

/// VACUUM's first pass on page `block`: drop the heap TIDs `dead` says are gone, marking elements
/// left with none as deleted-but-linked; one WAL record, only if something changed. A new page is
/// skipped.
pub unsafe fn sweep_dead_tids(
    index: pg_sys::Relation,
    block: u32,
    dead: &mut dyn FnMut(&pg_sys::ItemPointerData) -> bool,
) -> PageSweep {
    let mut out = PageSweep::default();
    let buf = ExclusiveBuffer::lock(index, block);
    let p = buf.page();
    if page::is_new(p) || page::is_quant_page(p) {
        return out;
    }
    page::check_page(index, p, block, page::KIND_DATA);
    // Decide on the shared page, then apply on the WAL copy only if something changes.
    let mut changes: Vec<(u16, Vec<pg_sys::ItemPointerData>)> = Vec::new();
    for (off, h) in page::elements(p) {
        let n = page::node(block, off);
        if h.deleted == page::DELETED_LINKED {
            out.linked_deleted.push(n);
            continue;
        }
        if h.deleted != page::LIVE {
            continue;
        }
        let tids = &h.tids[..h.ntids as usize];
        let keep: Vec<_> = tids.iter().copied().filter(|t| !dead(t)).collect();
        out.live_tids += keep.len();
        if keep.len() != tids.len() {
            out.removed += tids.len() - keep.len();
            if keep.is_empty() {
                out.linked_deleted.push(n);
            }
            changes.push((off, keep));
        }
    }
    if changes.is_empty() {
        return out;
    }
    let mut wal = WalWrite::start(index);
    let pg = wal.page(buf, false);
    for (off, keep) in changes {
        let h = page::element_header(page::item(index, pg, page::node(block, off), true));
        h.tids = [pg_sys::ItemPointerData::default(); page::MAX_HEAP_TIDS];
        h.tids[..keep.len()].copy_from_slice(&keep);
        h.ntids = keep.len() as u8;
        if keep.is_empty() {
            h.deleted = page::DELETED_LINKED;
        }
    }
    wal.commit();
    out
}

/// Mark the deleted-but-linked elements `nodes` (all on page `block`) free for reuse, after VACUUM
/// relinked the graph around them; one WAL record.
pub unsafe fn mark_free(index: pg_sys::Relation, block: u32, nodes: &[Node]) {
    modify(index, block, page::KIND_DATA, |p| {
        for &n in nodes {
            let h = page::element_header(page::item(index, p, n, true));
            if h.deleted == page::DELETED_LINKED {
                h.deleted = page::DELETED_FREE;
            }
        }
    });
}
