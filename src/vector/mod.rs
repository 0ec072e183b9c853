//! The `vector` type: storage layout, argument access and construction.
//!
//! On disk and in memory a vector is a varlena laid out as pgvector lays it out: the 4-byte varlena
//! header, `int16 dims`, `int16 unused` (always 0), then `dims` float4 values. Values are always
//! finite and `1 <= dims <= 16000`; every constructor checks this, so readers can trust it.
//! The wire format (send/recv) is the same sequence in network byte order.
//!
//! Submodules hold one concern each: `io` (text/binary I/O, typmod), `ops` (distances, arithmetic,
//! comparison), `casts` (arrays), `aggregates` (avg/sum). Functions are raw fmgr functions declared
//! in `sql/vector.sql`.

pub mod aggregates;
pub mod casts;
pub mod io;
pub mod ops;

use crate::errors::{data_exception, dims_mismatch, raise, Code};
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{FromDatum, IntoDatum};

pub use embedrank_core::text::MAX_DIMS;

/// Bytes before the first float: varlena header + dims + unused.
pub const HEADER_BYTES: usize = 8;

/// Borrow the float values of the vector argument `n` (detoasted; lives as long as the call).
///
/// # Safety
/// `fcinfo` must be a valid call whose argument `n` is a non-null `vector` datum.
pub unsafe fn arg_slice<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [f32] {
    datum_slice(pgrx::pg_getarg_datum_raw(fcinfo, n))
}

/// Borrow the float values of a `vector` datum, detoasting it if needed.
///
/// # Safety
/// `datum` must be a non-null `vector` datum; the result lives as long as the current memory context.
pub unsafe fn datum_slice<'a>(datum: pg_sys::Datum) -> &'a [f32] {
    dense_elements(datum, "vector")
}

/// The elements of a dense vector datum of type `name` (`vector`: float4, `halfvec`: binary16),
/// detoasted: the layout both share (varlena header, int16 dims, int16 unused, `dims` elements of
/// `T`), its size checked against its dimension count.
///
/// # Safety
/// `datum` must be a non-null datum of type `name` with elements of type `T`; the result lives as
/// long as the current memory context.
pub unsafe fn dense_elements<'a, T: Copy>(datum: pg_sys::Datum, name: &str) -> &'a [T] {
    let size = std::mem::size_of::<T>();
    let ptr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const u8;
    let total = pgrx::varsize_any(ptr as *const pg_sys::varlena);
    let dims = (ptr.add(4) as *const i16).read_unaligned();
    if dims < 1 || HEADER_BYTES + dims as usize * size != total {
        raise(
            Code::ERRCODE_DATA_CORRUPTED,
            format!("corrupt {name} datum: {dims} dimensions in {total} bytes"),
            None,
        );
    }
    let data = ptr.add(HEADER_BYTES);
    if !(data as usize).is_multiple_of(std::mem::align_of::<T>()) {
        // Detoasted values are palloc'd (max-aligned); this only guards against surprises.
        let copy = pg_sys::palloc(dims as usize * size) as *mut T;
        std::ptr::copy_nonoverlapping(data, copy as *mut u8, dims as usize * size);
        return std::slice::from_raw_parts(copy, dims as usize);
    }
    std::slice::from_raw_parts(data as *const T, dims as usize)
}

/// Check a dimension count for a new vector (at least 1, at most [`MAX_DIMS`]).
pub fn check_dims(dims: usize) {
    check_dims_of("vector", dims);
}

/// [`check_dims`] for type `name` (`vector` or `halfvec`: the same limits, their own messages).
pub fn check_dims_of(name: &str, dims: usize) {
    check_dims_within(name, dims as i64, MAX_DIMS as i64);
}

/// A dimension count for type `name`: at least 1, at most `max` (sparsevec's is 10^9).
pub fn check_dims_within(name: &str, dims: i64, max: i64) {
    if dims < 1 {
        data_exception(format!("{name} must have at least 1 dimension"));
    }
    if dims > max {
        raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("{name} cannot have more than {max} dimensions"),
            None,
        );
    }
}

/// Check that every value is finite (pgvector's messages).
pub fn check_finite(values: &[f32]) {
    check_finite_of("vector", values);
}

/// [`check_finite`] for type `name`.
pub fn check_finite_of(name: &str, values: &[f32]) {
    for v in values {
        if v.is_nan() {
            data_exception(format!("NaN not allowed in {name}"));
        }
        if v.is_infinite() {
            data_exception(format!("infinite value not allowed in {name}"));
        }
    }
}

/// Error unless two operands have the same number of dimensions.
#[inline]
pub fn check_same_dims(a: &[f32], b: &[f32]) {
    if a.len() != b.len() {
        dims_mismatch(a.len(), b.len());
    }
}

/// Allocate a vector of `dims` values in the current memory context and let `fill` write them.
/// The caller guarantees the values end up finite (or checks them with [`check_finite`]).
pub fn new_vector_with(dims: usize, fill: impl FnOnce(&mut [f32])) -> pg_sys::Datum {
    check_dims(dims);
    let size = HEADER_BYTES + dims * 4;
    unsafe {
        let ptr = pg_sys::palloc0(size) as *mut u8;
        pgrx::set_varsize_4b(ptr as *mut pg_sys::varlena, size as i32);
        (ptr.add(4) as *mut i16).write(dims as i16);
        let data = std::slice::from_raw_parts_mut(ptr.add(HEADER_BYTES) as *mut f32, dims);
        fill(data);
        pg_sys::Datum::from(ptr)
    }
}

/// Copy `values` into a new vector datum, after checking they are finite.
pub fn new_vector(values: &[f32]) -> pg_sys::Datum {
    check_finite(values);
    new_vector_with(values.len(), |d| d.copy_from_slice(values))
}

/// Look up the OID of `embedrank.vector` (the type lives in the extension's fixed schema).
pub fn vector_type_oid() -> pg_sys::Oid {
    pgrx::regtypein("embedrank.vector")
}

/// An owned vector, for functions declared through `#[pg_extern]` (embed, search).
#[derive(Clone, Debug, PartialEq)]
pub struct Vector(pub Vec<f32>);

impl FromDatum for Vector {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            None
        } else {
            Some(Vector(datum_slice(datum).to_vec()))
        }
    }
}

impl IntoDatum for Vector {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(new_vector(&self.0))
    }
    fn type_oid() -> pg_sys::Oid {
        vector_type_oid()
    }
}

unsafe impl SqlTranslatable for Vector {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(Vector);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("vector"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("vector")));
}

unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for Vector {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        arg.unbox_arg_using_from_datum()
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
}

unsafe impl pgrx::callconv::BoxRet for Vector {
    unsafe fn box_into<'fcx>(
        self,
        fcinfo: &mut pgrx::callconv::FcInfo<'fcx>,
    ) -> pgrx::datum::Datum<'fcx> {
        fcinfo.return_raw_datum(new_vector(&self.0))
    }
}
