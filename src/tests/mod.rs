//! In-server tests (`cargo pgrx test`). Each test runs inside a real backend with the extension
//! created; `search_path` includes `embedrank` (see `pg_test::postgresql_conf_options`).

mod support;
mod vector_errors;
mod vector_io;
mod vector_ops;
