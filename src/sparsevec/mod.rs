//! The `sparsevec` type: pgvector's sparse vector (`{1:1.5,3:2}/5`, up to 10^9 dimensions and 16000
//! non-zero entries).
//!
//! Layout, as pgvector's: the 4-byte varlena header, `int32 dim`, `int32 nnz`, `int32 unused`
//! (always 0), then `nnz` int32 indices (0-based, strictly ascending), then `nnz` float4 values
//! (finite, non-zero). Every constructor keeps these invariants. The text format and the distance
//! arithmetic live in `embedrank_core::sparsevec`. Submodules: `io` (text/binary I/O, typmod),
//! `ops` (distances, norms, ordering), `casts` (vector, halfvec, arrays).

pub mod casts;
pub mod io;
pub mod ops;

use crate::errors::{raise, Code};
use embedrank_core::sparsevec::{Sparse, MAX_NNZ};
use pgrx::pg_sys;

/// The type's name in messages.
pub const NAME: &str = "sparsevec";

const HEADER_BYTES: usize = 16;

/// Borrow a `sparsevec` datum, detoasting it if needed.
///
/// # Safety
/// `datum` must be a non-null `sparsevec` datum; the result lives as long as the current memory
/// context.
pub unsafe fn datum_sparse<'a>(datum: pg_sys::Datum) -> Sparse<'a> {
    let ptr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const u8;
    let total = pgrx::varsize_any(ptr as *const pg_sys::varlena);
    let field = |k: usize| (ptr.add(4 + 4 * k) as *const i32).read_unaligned();
    let (dim, nnz) = (field(0), field(1));
    if dim < 1 || nnz < 0 || HEADER_BYTES + nnz as usize * 8 != total {
        raise(
            Code::ERRCODE_DATA_CORRUPTED,
            format!("corrupt sparsevec datum: {nnz} entries in {total} bytes"),
            None,
        );
    }
    // Detoasted values are palloc'd, so 4-byte aligned.
    let indices = std::slice::from_raw_parts(ptr.add(HEADER_BYTES) as *const i32, nnz as usize);
    let values = std::slice::from_raw_parts(
        ptr.add(HEADER_BYTES + 4 * nnz as usize) as *const f32,
        nnz as usize,
    );
    Sparse {
        dim,
        indices,
        values,
    }
}

/// Borrow sparsevec argument `n`.
///
/// # Safety
/// `fcinfo` must be a valid call whose argument `n` is a non-null `sparsevec` datum.
pub unsafe fn arg_sparse<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Sparse<'a> {
    datum_sparse(pgrx::pg_getarg_datum_raw(fcinfo, n))
}

/// Error unless a sparsevec may hold `nnz` entries.
pub fn check_nnz(nnz: usize) {
    if nnz > MAX_NNZ {
        raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("sparsevec cannot have more than {MAX_NNZ} non-zero elements"),
            None,
        );
    }
}

/// A new sparsevec; the caller guarantees the invariants (ascending in-range indices, finite
/// non-zero values, `nnz <= MAX_NNZ`).
pub fn new_sparsevec(dim: i32, indices: &[i32], values: &[f32]) -> pg_sys::Datum {
    let nnz = indices.len();
    let size = HEADER_BYTES + nnz * 8;
    unsafe {
        let ptr = pg_sys::palloc0(size) as *mut u8;
        pgrx::set_varsize_4b(ptr as *mut pg_sys::varlena, size as i32);
        (ptr.add(4) as *mut i32).write(dim);
        (ptr.add(8) as *mut i32).write(nnz as i32);
        std::ptr::copy_nonoverlapping(indices.as_ptr(), ptr.add(HEADER_BYTES) as *mut i32, nnz);
        std::ptr::copy_nonoverlapping(
            values.as_ptr(),
            ptr.add(HEADER_BYTES + 4 * nnz) as *mut f32,
            nnz,
        );
        pg_sys::Datum::from(ptr)
    }
}
