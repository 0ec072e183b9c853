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
    raise(
        Code::ERRCODE_DATA_EXCEPTION,
        format!("different vector dimensions {a} and {b}"),
        None,
    )
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
