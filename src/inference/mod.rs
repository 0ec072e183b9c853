//! In-database inference: `embed()`, `rerank()`, `models()`, `load()`.
//!
//! The models themselves (tokenizer, ONNX Runtime session, pooling, batching) live in the
//! Postgres-free crate `embedrank-infer`; this module is glue:
//! - `settings` — the GUCs (library path and model directory are superuser-only);
//! - `cache`    — per-backend cache of loaded models, keyed by (name, threads);
//! - `errors`   — `InferError` → Postgres ERROR with SQLSTATE and hint;
//! - `sql`      — the SQL functions.
//!
//! Threads: ONNX Runtime and the tokenization pool spawn threads with every signal blocked and never
//! call Postgres. Long work is chunked; between chunks the backend runs CHECK_FOR_INTERRUPTS, so
//! statement_timeout and pg_cancel_backend stop it promptly.

pub mod cache;
pub mod chunks;
pub mod errors;
pub mod settings;
pub mod sql;
