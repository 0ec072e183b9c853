//! Pinned, content-locked index buffers as RAII guards.
//!
//! [`SharedBuffer`] holds a pin and a share lock, [`ExclusiveBuffer`] a pin and an exclusive lock;
//! dropping either unlocks and unpins. An exclusive guard is turned into a writable page only by
//! moving it into a [`super::wal::WalWrite`] record. During an ERROR (a Rust panic unwinding through
//! the guard) the guard leaves the buffer alone: Postgres's abort processing releases every buffer
//! pin and content lock of the transaction, and calling into the buffer manager while unwinding
//! could raise a second error.

use super::format;
use embedrank_core::hnsw::{prefetch_bytes, prefetch_line, CACHE_LINE};
use pgrx::pg_sys;

/// Pin `block` of `index`'s main fork and lock it in `mode` (through the buffer it was last seen
/// in when it is still there, [`super::recent`]).
unsafe fn pin_and_lock(index: pg_sys::Relation, block: u32, mode: u32) -> pg_sys::Buffer {
    let buf = super::recent::pin(index, block).unwrap_or_else(|| {
        let buf = pg_sys::ReadBufferExtended(
            index,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            block,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            std::ptr::null_mut(),
        );
        super::recent::remember(index, block, buf);
        buf
    });
    pg_sys::LockBuffer(buf, mode as i32);
    buf
}

fn release(buf: pg_sys::Buffer) {
    if !std::thread::panicking() {
        unsafe { pg_sys::UnlockReleaseBuffer(buf) };
    }
}

/// A buffer pinned and share-locked for reading.
pub struct SharedBuffer(pg_sys::Buffer);

impl SharedBuffer {
    pub fn lock(index: pg_sys::Relation, block: u32) -> Self {
        SharedBuffer(unsafe { pin_and_lock(index, block, pg_sys::BUFFER_LOCK_SHARE) })
    }

    /// The page, valid while the guard lives.
    pub fn page(&self) -> pg_sys::Page {
        unsafe { pg_sys::BufferGetPage(self.0) }
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        release(self.0);
    }
}

/// A buffer pinned and exclusively locked; written only by moving it into a WAL record.
pub struct ExclusiveBuffer(pg_sys::Buffer);

impl ExclusiveBuffer {
    pub fn lock(index: pg_sys::Relation, block: u32) -> Self {
        ExclusiveBuffer(unsafe { pin_and_lock(index, block, pg_sys::BUFFER_LOCK_EXCLUSIVE) })
    }

    /// A new block at the end of `fork` (all zeroes until a WAL record initialises it).
    pub fn extend(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type) -> Self {
        ExclusiveBuffer(unsafe { extend(index, fork) })
    }

    pub fn block(&self) -> u32 {
        unsafe { pg_sys::BufferGetBlockNumber(self.0) }
    }

    /// The shared page, to decide what to change; changes go through a WAL record's copy.
    pub fn page(&self) -> pg_sys::Page {
        unsafe { pg_sys::BufferGetPage(self.0) }
    }

    /// Hand the buffer over to a WAL record (which unlocks and releases it).
    pub(super) fn into_raw(self) -> pg_sys::Buffer {
        let buf = self.0;
        std::mem::forget(self);
        buf
    }
}

impl Drop for ExclusiveBuffer {
    fn drop(&mut self) {
        release(self.0);
    }
}

unsafe fn extend(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type) -> pg_sys::Buffer {
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

/// Run `f` on page `block` under a share lock, after checking it is a page of `kind`.
pub fn with_page<R>(
    index: pg_sys::Relation,
    block: u32,
    kind: u16,
    f: impl FnOnce(pg_sys::Page) -> R,
) -> R {
    let buf = SharedBuffer::lock(index, block);
    unsafe { format::check_page(index, buf.page(), block, kind) };
    f(buf.page())
}

/// Like [`with_page`] for a data page, but `None` for a new (never initialised) page and for a
/// quantizer page (walks over every block meet both).
pub fn with_data_page<R>(
    index: pg_sys::Relation,
    block: u32,
    f: impl FnOnce(pg_sys::Page) -> R,
) -> Option<R> {
    let buf = SharedBuffer::lock(index, block);
    unsafe {
        if format::is_new(buf.page()) || format::is_quant_page(buf.page()) {
            return None;
        }
        format::check_page(index, buf.page(), block, format::KIND_DATA);
    }
    Some(f(buf.page()))
}

/// Where item `offset`'s line pointer is on `page` (computed, nothing read), if on the page.
fn line_pointer(page: *const u8, offset: u16) -> Option<*const pg_sys::ItemIdData> {
    let at = std::mem::offset_of!(pg_sys::PageHeaderData, pd_linp)
        + (usize::from(offset.max(1)) - 1) * std::mem::size_of::<pg_sys::ItemIdData>();
    (at < pg_sys::BLCKSZ as usize).then(|| page.wrapping_add(at) as *const pg_sys::ItemIdData)
}

/// Start loading, into the CPU caches, what reading item `offset` of `block` touches first: the
/// buffer's descriptor (pin and content lock), the page header with the item's line pointer, and
/// the special area. A hint and nothing more: nothing is pinned, locked or read, and a block this
/// backend has not seen in shared buffers is skipped. A graph walk calls it for every neighbour
/// of a node before it reads the first, so their cache misses overlap instead of queueing.
pub fn prefetch_page(index: pg_sys::Relation, block: u32, offset: u16) {
    unsafe {
        let Some(buf) = super::recent::hint(index, block) else {
            return;
        };
        prefetch_line(pg_sys::BufferDescriptors.add(buf as usize - 1) as *const u8);
        let page = pg_sys::BufferGetPage(buf) as *const u8;
        prefetch_line(page);
        if let Some(line_pointer) = line_pointer(page, offset) {
            prefetch_line(line_pointer as *const u8);
        }
        prefetch_line(page.add(pg_sys::BLCKSZ as usize - CACHE_LINE));
    }
}

/// Start loading the first `bytes` of item `offset` of `block` (after [`prefetch_page`], whose
/// lines it reads): the line pointer is read without a lock, only to aim the prefetch, and an
/// offset that points off the page is left alone.
pub fn prefetch_item(index: pg_sys::Relation, block: u32, offset: u16, bytes: usize) {
    unsafe {
        let Some(buf) = super::recent::hint(index, block) else {
            return;
        };
        let page = pg_sys::BufferGetPage(buf) as *const u8;
        let Some(id) = line_pointer(page, offset) else {
            return;
        };
        // A racy read of a page another backend may be changing: it only aims prefetches.
        let at = std::ptr::read_volatile(id).lp_off() as usize;
        if at < pg_sys::BLCKSZ as usize {
            prefetch_bytes(page.add(at), bytes.min(pg_sys::BLCKSZ as usize - at));
        }
    }
}

/// Number of blocks of the index's main fork.
pub fn block_count(index: pg_sys::Relation) -> u32 {
    unsafe { pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM) }
}
