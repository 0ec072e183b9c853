//! Declaring raw version-1 C functions (`PG_FUNCTION_ARGS`) for SQL written by hand in `sql/`.
//!
//! The vector type's I/O, operators and casts are declared in hand-written SQL (so their names,
//! volatility and strictness read exactly as pgvector's) and implemented as raw fmgr functions: that
//! avoids copying vectors in and out of Rust types on the hottest paths. [`pg_fn!`] emits the
//! `pg_finfo_*` record and a guarded body (what `#[pg_guard]` expands to), so a Rust panic or `raise` becomes a Postgres ERROR.
//! Every C symbol carries the `er_` prefix so it cannot be confused with pgvector's when both
//! libraries are loaded in one backend.

/// `pg_fn!(er_name, |fcinfo| -> Datum { ... })` defines the C function `er_name` and its info record.
#[macro_export]
macro_rules! pg_fn {
    ($name:ident, |$fcinfo:ident| $body:block) => {
        paste::paste! {
            #[no_mangle]
            #[doc(hidden)]
            pub extern "C" fn [<pg_finfo_ $name>]() -> &'static pgrx::pg_sys::Pg_finfo_record {
                const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }

            #[no_mangle]
            #[doc(hidden)]
            pub unsafe extern "C-unwind" fn $name(
                $fcinfo: pgrx::pg_sys::FunctionCallInfo,
            ) -> pgrx::pg_sys::Datum {
                // What #[pg_guard] expands to: Rust panics and ERRORs cross into Postgres safely.
                pgrx::pg_sys::submodules::panic::pgrx_extern_c_guard(move || {
                    // Every body works on raw fmgr arguments: the macro's contract is that bodies
                    // are unsafe code reviewed as such (fcinfo is valid for the call).
                    #[allow(unused_unsafe, clippy::macro_metavars_in_unsafe)]
                    unsafe { $body }
                })
            }
        }
    };
}

/// A float8 result datum (float8 is passed by value).
pub fn f8(x: f64) -> pgrx::pg_sys::Datum {
    pgrx::pg_sys::Datum::from(x.to_bits())
}

/// `s` as a palloc'd, NUL-terminated cstring datum (what a type's output function returns).
pub fn cstring_datum(s: &str) -> pgrx::pg_sys::Datum {
    unsafe {
        let out = pgrx::pg_sys::palloc(s.len() + 1) as *mut u8;
        // Sound: `out` has s.len() + 1 bytes, freshly allocated, not overlapping `s`.
        std::ptr::copy_nonoverlapping(s.as_ptr(), out, s.len());
        *out.add(s.len()) = 0;
        pgrx::pg_sys::Datum::from(out)
    }
}

/// `pg_cmp_fns!(er_type, cmp)` defines a btree family's seven functions `er_type_cmp`, `_lt`, `_le`,
/// `_eq`, `_ne`, `_ge`, `_gt` from `cmp(fcinfo) -> Ordering`, an unsafe fn comparing arguments 0 and 1.
#[macro_export]
macro_rules! pg_cmp_fns {
    ($prefix:ident, $cmp:path) => {
        paste::paste! {
            $crate::pg_fn!([<$prefix _cmp>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo) as i32)
            });
            $crate::pg_fn!([<$prefix _lt>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo).is_lt())
            });
            $crate::pg_fn!([<$prefix _le>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo).is_le())
            });
            $crate::pg_fn!([<$prefix _eq>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo).is_eq())
            });
            $crate::pg_fn!([<$prefix _ne>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo).is_ne())
            });
            $crate::pg_fn!([<$prefix _ge>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo).is_ge())
            });
            $crate::pg_fn!([<$prefix _gt>], |fcinfo| {
                pgrx::pg_sys::Datum::from($cmp(fcinfo).is_gt())
            });
        }
    };
}
