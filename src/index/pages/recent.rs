//! Where this backend last found each index block in shared buffers, so a read can pin the block
//! with `ReadRecentBuffer` instead of a lookup in the shared buffer mapping table.
//!
//! A graph walk reads a page per element it visits, a different page almost every time; the
//! mapping table lookup (a hash probe under a partition lock, a cache miss into a table the size of
//! shared_buffers) was an eighth of a scan's time in a profile of a 100k-row index. With the
//! buffer's number at hand, `ReadRecentBuffer` checks the buffer still holds the block (its tag
//! under the header lock, the same cache line pinning touches anyway) and pins it; when the block
//! moved or left the pool it returns false and the read goes the usual way. A hint is never trusted
//! beyond that check, so a stale one (a dropped index whose file number came back, an evicted page,
//! another database) costs one failed check, never a wrong page.
//!
//! Bounded: hints for the last [`RELATIONS`] indexes this backend read, up to [`MAX_BLOCKS`] blocks
//! each (4 bytes a block: at most 4 MB, for an index of 8 GB or more; the index whose hints were
//! refreshed longest ago is dropped first); temporary indexes (local buffers) get none.
//! A hinted read still counts as a buffer hit in the index's statistics (`pg_statio_*_indexes`).

use pgrx::pg_sys;
use std::cell::RefCell;

/// Indexes a backend keeps hints for (the one whose hints were refreshed longest ago goes first).
const RELATIONS: usize = 8;
/// Blocks of one index that get hints.
const MAX_BLOCKS: u32 = 1 << 20;

/// The identity the buffer tags use: tablespace, database, file number.
type FileKey = [u32; 3];

struct Hints {
    key: FileKey,
    /// Buffer number per block; 0 (InvalidBuffer) where none is known.
    buffers: Vec<pg_sys::Buffer>,
}

thread_local! {
    static RECENT: RefCell<Vec<Hints>> = const { RefCell::new(Vec::new()) };
}

#[cfg(any(feature = "pg14", feature = "pg15"))]
unsafe fn file_of(index: pg_sys::Relation) -> (pg_sys::RelFileNode, FileKey) {
    let n = (*index).rd_node;
    (n, [n.spcNode.into(), n.dbNode.into(), n.relNode.into()])
}

#[cfg(not(any(feature = "pg14", feature = "pg15")))]
unsafe fn file_of(index: pg_sys::Relation) -> (pg_sys::RelFileLocator, FileKey) {
    let n = (*index).rd_locator;
    (n, [n.spcOid.into(), n.dbOid.into(), n.relNumber.into()])
}

/// Whether reads of `block` of `index` use hints: blocks of indexes in shared buffers (not a
/// temporary index's local buffers), up to [`MAX_BLOCKS`], but never block 0 (the meta page: every
/// scan and insert reads it first, through `ReadBuffer`, which also sets up the relation's
/// statistics entry that [`count_hit`] counts in).
unsafe fn hinted(index: pg_sys::Relation, block: u32) -> bool {
    block != 0
        && block < MAX_BLOCKS
        && (*(*index).rd_rel).relpersistence != pg_sys::RELPERSISTENCE_TEMP as std::ffi::c_char
}

/// The shared buffer `block` of `index` was last seen in (unchecked: it may hold another block now).
pub unsafe fn hint(index: pg_sys::Relation, block: u32) -> Option<pg_sys::Buffer> {
    if !hinted(index, block) {
        return None;
    }
    let (_, key) = file_of(index);
    RECENT.with(|r| {
        let r = r.borrow();
        let h = r.iter().find(|h| h.key == key)?;
        h.buffers.get(block as usize).copied().filter(|&b| b > 0)
    })
}

/// Pin `block` of `index`'s main fork through the buffer it was last seen in, if it is still there
/// (counted in the index's statistics as the buffer hit it is).
pub unsafe fn pin(index: pg_sys::Relation, block: u32) -> Option<pg_sys::Buffer> {
    let hint = hint(index, block)?;
    let (file, _) = file_of(index);
    if !pg_sys::ReadRecentBuffer(file, pg_sys::ForkNumber::MAIN_FORKNUM, block, hint) {
        return None;
    }
    count_hit(index);
    Some(hint)
}

/// What `ReadBuffer` counts for a hit, which `ReadRecentBuffer` (given no relation) does not: a
/// block fetched and found in `pg_statio_*_indexes`. The relation's statistics entry is set up by
/// the first read of a scan or insert, the meta page's, which never takes a hint (block 0 below).
unsafe fn count_hit(index: pg_sys::Relation) {
    let info = (*index).pgstat_info;
    if info.is_null() {
        return;
    }
    #[cfg(any(feature = "pg14", feature = "pg15"))]
    {
        (*info).t_counts.t_blocks_fetched += 1;
        (*info).t_counts.t_blocks_hit += 1;
    }
    #[cfg(not(any(feature = "pg14", feature = "pg15")))]
    {
        (*info).counts.blocks_fetched += 1;
        (*info).counts.blocks_hit += 1;
    }
}

/// Note that `block` of `index` was just found in shared buffer `buf`.
pub unsafe fn remember(index: pg_sys::Relation, block: u32, buf: pg_sys::Buffer) {
    if buf <= 0 || !hinted(index, block) {
        return;
    }
    let (_, key) = file_of(index);
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        let at = match r.iter().position(|h| h.key == key) {
            Some(i) => i,
            None => {
                if r.len() == RELATIONS {
                    r.remove(0);
                } else if r.try_reserve(1).is_err() {
                    return; // hints are an optimisation: no memory, no hint
                }
                r.push(Hints {
                    key,
                    buffers: Vec::new(),
                });
                r.len() - 1
            }
        };
        // The index whose hints were refreshed last goes last, so eviction takes the front.
        let refreshed = r.remove(at);
        r.push(refreshed);
        let h = r.last_mut().expect("just pushed");
        let i = block as usize;
        if h.buffers.len() <= i {
            let len = (i + 1).next_power_of_two().min(MAX_BLOCKS as usize);
            if h.buffers.try_reserve_exact(len - h.buffers.len()).is_err() {
                return;
            }
            h.buffers.resize(len, 0);
        }
        h.buffers[i] = buf;
    });
}
