//! The pages layer: everything of the index that touches Postgres buffers.
//!
//! - `format` — the on-disk format: meta page, element and neighbour items, magic/version checks,
//!   the size arithmetic that decides what fits a page;
//! - `buffer` — typed RAII guards for a pinned buffer under a share or exclusive content lock,
//!   released when the guard goes out of scope (on an ERROR, by transaction abort);
//! - `wal` — the GenericXLog record guard: an exclusive buffer guard moves into it, and the page
//!   copy it hands back is the only writable page anywhere in the index code;
//! - `lock` — page-level (lock-manager) locks that order an index's writers;
//! - `recent` — where this backend last found each block in shared buffers (reads skip the buffer
//!   mapping lookup while the block is still there).
//!
//! Raw `Buffer`s never leave this folder: the rest of the index reads through
//! [`buffer::SharedBuffer`] and writes through [`wal::WalWrite`], so no page write can escape WAL.

pub mod buffer;
pub mod format;
pub mod lock;
mod recent;
pub mod wal;
