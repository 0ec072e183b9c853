//! Page-level locks of an index: lock-manager locks on a block's tag (`LockPage`), not buffer
//! content locks. A writer may hold one while it reads and writes other pages, and the lock
//! manager detects deadlocks among them; the access methods use them to order writers:
//! `embedrank_hnsw`'s update lock and list locks, `embedrank_bm25`'s writer lock.

use pgrx::pg_sys;

/// A page-level lock on `block`'s tag of an index, released when dropped (on an ERROR, by
/// transaction abort instead).
pub struct PageLock {
    index: pg_sys::Relation,
    block: u32,
    mode: i32,
}

impl PageLock {
    fn take(index: pg_sys::Relation, block: u32, mode: u32) -> Self {
        let mode = mode as i32;
        unsafe { pg_sys::LockPage(index, block, mode) };
        PageLock { index, block, mode }
    }

    /// Compatible with other share holders.
    pub fn share(index: pg_sys::Relation, block: u32) -> Self {
        Self::take(index, block, pg_sys::ShareLock)
    }

    /// Held alone.
    pub fn exclusive(index: pg_sys::Relation, block: u32) -> Self {
        Self::take(index, block, pg_sys::ExclusiveLock)
    }
}

impl Drop for PageLock {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            unsafe { pg_sys::UnlockPage(self.index, self.block, self.mode) };
        }
    }
}
