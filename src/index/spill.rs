//! The build's temporary file of float4 vectors: where `CREATE INDEX` sets the vectors aside while
//! it links on their half-precision copy (core crate `hnsw::aside`), and reads them back, in id
//! order, to write the pages.
//!
//! A Postgres temporary file (`BufFile`): written and read through its buffer, in
//! `temp_tablespaces`, counted against `temp_file_limit` (exceeding it is Postgres's own ERROR),
//! split in 1 GB segments, and deleted when the build ends or its transaction aborts — nothing to
//! clean up after an ERROR, a cancel or a crash. [`TempVectors::fits_temp_file_limit`] tells the
//! build beforehand whether the setting leaves room (and [`TempVectors::has_room_for`] before each
//! row added while loading), so a build that would hit it links on the float4 vectors, or goes on
//! with on-disk inserts, instead of failing.

use crate::errors::{raise, Code};
use embedrank_core::hnsw::VectorSpill;
use pgrx::pg_sys;

/// Bytes of one segment of a `BufFile` (`MAX_PHYSICAL_FILESIZE`, 1 GB in Postgres 14–18).
const SEGMENT: usize = 0x4000_0000;

/// A temporary file of float4 vectors, each of the same length.
pub struct TempVectors {
    file: *mut pg_sys::BufFile,
    /// Values per vector (set by the first write).
    dims: usize,
    /// Vectors written, and read since the last rewind.
    written: usize,
    read: usize,
}

impl TempVectors {
    /// A new, empty temporary file, deleted at the end of the transaction if not closed before.
    pub fn create() -> TempVectors {
        // SAFETY: a backend's own temporary file, allocated in the current memory context.
        let file = unsafe { pg_sys::BufFileCreateTemp(false) };
        TempVectors {
            file,
            dims: 0,
            written: 0,
            read: 0,
        }
    }

    /// Whether one more vector of `values` values keeps this file within `temp_file_limit` (the
    /// build checks before each row it adds while loading: the table may have grown since the row
    /// estimate it checked first).
    pub fn has_room_for(&self, values: usize) -> bool {
        Self::fits_temp_file_limit((self.written + 1).saturating_mul(values * 4))
    }

    /// Whether `bytes` more of temporary files stay within `temp_file_limit` (in kB; -1: none).
    pub fn fits_temp_file_limit(bytes: usize) -> bool {
        // SAFETY: a GUC variable, read on the backend's thread.
        let limit = unsafe { pg_sys::temp_file_limit };
        limit < 0 || bytes.div_ceil(1024) < limit as usize
    }

    /// Reads vector `id` (of those written) into `out`, then goes back to where the file was: a
    /// look at one vector between writes (the build's duplicate check while loading).
    pub fn read_at(&mut self, id: usize, out: &mut [f32]) {
        assert!(
            id < self.written && out.len() == self.dims,
            "vector {id} is in the file"
        );
        let (mut fileno, mut offset) = (0, 0);
        // SAFETY: the file is open; the positions are within what was written (segments of
        // MAX_PHYSICAL_FILESIZE bytes, 1 GB in every supported version).
        unsafe {
            pg_sys::BufFileTell(self.file, &mut fileno, &mut offset);
            let at = id * self.dims * 4;
            self.seek(at / SEGMENT, at % SEGMENT);
            let want = std::mem::size_of_val(out);
            let got = pg_sys::BufFileRead(self.file, out.as_mut_ptr() as *mut _, want);
            if got != want {
                self.read_failed(id, got, want);
            }
            self.seek(fileno as usize, offset as usize);
        }
    }

    unsafe fn seek(&mut self, fileno: usize, offset: usize) {
        // 0 is SEEK_SET.
        if pg_sys::BufFileSeek(self.file, fileno as i32, offset as _, 0) != 0 {
            raise(
                Code::ERRCODE_IO_ERROR,
                "could not seek in the embedrank_hnsw build's temporary file",
                None,
            );
        }
    }

    fn read_failed(&self, id: usize, got: usize, want: usize) -> ! {
        raise(
            Code::ERRCODE_IO_ERROR,
            format!(
                "could not read vector {} of {} back from the embedrank_hnsw build's temporary file (read {got} of {want} bytes)",
                id + 1,
                self.written
            ),
            None,
        )
    }

    /// Closes (and deletes) the file.
    pub fn close(self) {
        // SAFETY: the file is this value's, closed once.
        unsafe { pg_sys::BufFileClose(self.file) };
    }
}

impl VectorSpill for TempVectors {
    fn write(&mut self, v: &[f32]) {
        self.dims = v.len();
        // SAFETY: `v` is valid for its length in bytes; BufFileWrite raises its own ERROR on a
        // failed write (disk full, temp_file_limit).
        unsafe {
            pg_sys::BufFileWrite(self.file, v.as_ptr() as *mut _, std::mem::size_of_val(v));
        }
        self.written += 1;
        if self.written.is_multiple_of(4096) {
            pg_sys::check_for_interrupts!();
        }
    }

    fn rewind(&mut self) {
        // SAFETY: the file is open.
        unsafe { self.seek(0, 0) };
        self.read = 0;
    }

    fn read(&mut self, out: &mut [f32]) {
        let want = std::mem::size_of_val(out);
        // SAFETY: `out` is writable for `want` bytes.
        let got = unsafe { pg_sys::BufFileRead(self.file, out.as_mut_ptr() as *mut _, want) };
        if got != want || self.read >= self.written {
            self.read_failed(self.read, got, want);
        }
        self.read += 1;
        if self.read.is_multiple_of(4096) {
            pg_sys::check_for_interrupts!();
        }
    }

    fn tick(&mut self) {
        pg_sys::check_for_interrupts!();
    }
}
