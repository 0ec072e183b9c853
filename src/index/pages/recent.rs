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
//! each (4 bytes a block: 4 MB for a 32 GB index); temporary indexes (local buffers) get none.

use pgrx::pg_sys;
use std::cell::RefCell;

/// Indexes a backend keeps hints for (least recently used goes first).
const RELATIONS: usize = 8;
/// Blocks of one index that get hints.
const MAX_BLOCKS: u32 = 1 << 22;

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

/// Whether `index` lives in shared buffers (not a temporary relation's local buffers).
unsafe fn shared(index: pg_sys::Relation) -> bool {
    (*(*index).rd_rel).relpersistence != pg_sys::RELPERSISTENCE_TEMP as std::ffi::c_char
}

/// The shared buffer `block` of `index` was last seen in (unchecked: it may hold another block now).
pub unsafe fn hint(index: pg_sys::Relation, block: u32) -> Option<pg_sys::Buffer> {
    if block >= MAX_BLOCKS || !shared(index) {
        return None;
    }
    let (_, key) = file_of(index);
    RECENT.with(|r| {
        let r = r.borrow();
        let h = r.iter().find(|h| h.key == key)?;
        h.buffers.get(block as usize).copied().filter(|&b| b > 0)
    })
}

/// Pin `block` of `index`'s main fork through the buffer it was last seen in, if it is still there.
pub unsafe fn pin(index: pg_sys::Relation, block: u32) -> Option<pg_sys::Buffer> {
    let hint = hint(index, block)?;
    let (file, _) = file_of(index);
    pg_sys::ReadRecentBuffer(file, pg_sys::ForkNumber::MAIN_FORKNUM, block, hint).then_some(hint)
}

/// Note that `block` of `index` was just found in shared buffer `buf`.
pub unsafe fn remember(index: pg_sys::Relation, block: u32, buf: pg_sys::Buffer) {
    if block >= MAX_BLOCKS || buf <= 0 || !shared(index) {
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
                }
                r.push(Hints {
                    key,
                    buffers: Vec::new(),
                });
                r.len() - 1
            }
        };
        // Most recently used last, so eviction takes the front.
        let last = r.len() - 1;
        r.swap(at, last);
        let h = &mut r[last];
        let i = block as usize;
        if h.buffers.len() <= i {
            h.buffers
                .resize((i + 1).next_power_of_two().min(MAX_BLOCKS as usize), 0);
        }
        h.buffers[i] = buf;
    });
}
