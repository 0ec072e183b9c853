//! Postgres errors with a SQLSTATE, a message and (where it helps) a hint.
//!
//! Every user-facing failure in the extension goes through [`raise`], so messages look alike and the
//! SQLSTATE is always chosen on purpose. `raise` never returns: it unwinds into Postgres' error path
//! through pgrx's guard, which aborts the statement but never the backend.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

pub use pgrx::PgSqlErrorCode as Code;

/// Raise an ERROR with `code`, `message` and an optional hint.
#[track_caller]
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, hint: Option<&str>) -> ! {
    let mut report = ErrorReport::new(code, message.into(), "pg_embedrank");
    if let Some(h) = hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// Raise an ERROR that also carries a detail line.
#[track_caller]
pub fn raise_detail(
    code: PgSqlErrorCode,
    message: impl Into<String>,
    detail: impl Into<String>,
) -> ! {
    ErrorReport::new(code, message.into(), "pg_embedrank")
        .set_detail(detail.into())
        .report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// `data_exception` (22000), the code pgvector uses for bad vector values and dimension mismatches.
#[track_caller]
pub fn data_exception(message: impl Into<String>) -> ! {
    raise(Code::ERRCODE_DATA_EXCEPTION, message, None)
}

/// The error for two operands whose dimensions differ.
#[track_caller]
pub fn dims_mismatch(a: usize, b: usize) -> ! {
    dims_mismatch_of("vector", a, b)
}

/// [`dims_mismatch`] for type `name` (`vector`, `halfvec`).
pub fn dims_mismatch_of(name: &str, a: usize, b: usize) -> ! {
    raise(
        Code::ERRCODE_DATA_EXCEPTION,
        format!("different {name} dimensions {a} and {b}"),
        None,
    )
}

/// ERROR 53200 (`out_of_memory`), worded like Postgres' own palloc failure ("out of memory" with a
/// detail saying what could not be allocated), plus a hint. Rust allocations outside Postgres' memory
/// contexts abort the process when they fail (and the postmaster then restarts every session), so
/// every allocation whose size a user controls is made with `try_reserve` and reports a refusal here.
#[track_caller]
pub fn out_of_memory(detail: String, hint: &str) -> ! {
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        "out of memory".to_string(),
        "pg_embedrank",
    )
    .set_detail(detail)
    .set_hint(hint)
    .report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// Room for `additional` more elements in `v`, exactly, or [`out_of_memory`] naming `what`.
#[track_caller]
pub fn reserve_exact<T>(v: &mut Vec<T>, additional: usize, what: &str, hint: &str) {
    if v.try_reserve_exact(additional).is_err() {
        let bytes = additional.saturating_mul(std::mem::size_of::<T>());
        out_of_memory(
            format!("Failed on request of size {bytes} bytes for {what}."),
            hint,
        );
    }
}

/// Send a NOTICE with a detail and a hint (the statement goes on).
pub fn notice(message: impl Into<String>, detail: &str, hint: &str) {
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        message.into(),
        "pg_embedrank",
    )
    .set_detail(detail)
    .set_hint(hint)
    .report(PgLogLevel::NOTICE);
}
