//! Every index page write goes through [`WalWrite`], a RAII guard around a GenericXLog record.
//!
//! `WalWrite::start` opens a record; `page()` takes an [`ExclusiveBuffer`] guard (ownership moves
//! into the record) and hands back the working copy to modify; `commit()` finishes the record
//! (WAL-logs the deltas, or full images for new pages), then unlocks and releases the buffers.
//! Dropping it without `commit` (early return, ERROR unwinding) aborts the record, so a half-made
//! change never reaches the page. The one write outside GenericXLog, the init fork of an unlogged
//! index, is [`write_init_fork_page`] here too.

use super::buffer::ExclusiveBuffer;
use pgrx::pg_sys;

/// Most pages one GenericXLog record may hold (MAX_GENERIC_XLOG_PAGES).
pub const MAX_PAGES: usize = 4;

pub struct WalWrite {
    state: *mut pg_sys::GenericXLogState,
    buffers: Vec<pg_sys::Buffer>,
}

impl WalWrite {
    /// Open a record on `index`.
    pub fn start(index: pg_sys::Relation) -> Self {
        let state = unsafe { pg_sys::GenericXLogStart(index) };
        WalWrite {
            state,
            buffers: Vec::with_capacity(MAX_PAGES),
        }
    }

    /// Register `buffer` with this record (which from now on unlocks and releases it) and return
    /// the page copy to modify. `fresh` logs a full image, for pages initialised from scratch.
    pub fn page(&mut self, buffer: ExclusiveBuffer, fresh: bool) -> pg_sys::Page {
        assert!(
            self.buffers.len() < MAX_PAGES,
            "too many pages in one WAL record"
        );
        let flags = if fresh {
            pg_sys::GENERIC_XLOG_FULL_IMAGE as i32
        } else {
            0
        };
        let buffer = buffer.into_raw();
        self.buffers.push(buffer);
        unsafe { pg_sys::GenericXLogRegisterBuffer(self.state, buffer, flags) }
    }

    /// WAL-log and apply the changes, then unlock and release the buffers.
    pub fn commit(mut self) {
        unsafe {
            pg_sys::GenericXLogFinish(self.state);
        }
        self.state = std::ptr::null_mut();
        self.release();
    }

    fn release(&mut self) {
        for b in self.buffers.drain(..) {
            unsafe { pg_sys::UnlockReleaseBuffer(b) };
        }
    }
}

impl Drop for WalWrite {
    fn drop(&mut self) {
        if !self.state.is_null() {
            unsafe { pg_sys::GenericXLogAbort(self.state) };
            self.state = std::ptr::null_mut();
            // During an ERROR, Postgres' abort processing also releases buffers and locks; doing it
            // here first is harmless and keeps the non-error early-return path leak free.
            if !std::thread::panicking() {
                self.release();
            } else {
                self.buffers.clear();
            }
        }
    }
}

/// Write page `buffer` of an unlogged index's init fork with `fill`, and log it as a whole new page
/// (the init fork is copied over the main fork at crash recovery, so it must reach the WAL).
pub fn write_init_fork_page(buffer: ExclusiveBuffer, fill: impl FnOnce(pg_sys::Page)) {
    let raw = buffer.into_raw();
    unsafe {
        fill(pg_sys::BufferGetPage(raw));
        pg_sys::MarkBufferDirty(raw);
        pg_sys::log_newpage_buffer(raw, true);
        pg_sys::UnlockReleaseBuffer(raw);
    }
}
