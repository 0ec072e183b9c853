//! Once-per-process ONNX Runtime initialisation.
//!
//! ONNX Runtime is loaded with `ort`'s `load-dynamic` feature from an absolute path (in Postgres a
//! superuser-only setting; environment variables do not reliably reach backends). `ort` allows one library
//! and one `Environment` per process, so:
//! - the first successful [`init_runtime`] loads the library, builds the environment and keeps it in a static
//!   for the life of the process (sessions hang off it);
//! - later calls with the same path are no-ops; with another path they fail, saying a restart is needed;
//! - a failed call (bad path, wrong version) leaves nothing behind, so a corrected path can be tried next.
//!
//! Library loading and environment creation run with all signals blocked (see [`crate::signals`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use once_cell::sync::OnceCell;
use ort::environment::Environment;

use crate::error::InferError;
use crate::signals::with_signals_blocked;

/// The library path `ort` has loaded (set as soon as loading succeeds, even if environment creation fails).
static LOADED_PATH: Mutex<Option<PathBuf>> = Mutex::new(None);
/// The process-wide environment, kept alive forever.
static ENVIRONMENT: OnceCell<Environment> = OnceCell::new();

/// Initialises ONNX Runtime once per process from the absolute path of `libonnxruntime.so`.
pub fn init_runtime(lib_path: &Path) -> Result<(), InferError> {
    let mut loaded = LOADED_PATH.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(previous) = loaded.as_ref() {
        if !same_file(previous, lib_path) {
            return Err(InferError::Runtime(format!(
                "ONNX Runtime is already loaded from \"{}\" in this process; restart the session (or server) to use \
                 \"{}\"",
                previous.display(),
                lib_path.display()
            )));
        }
        if ENVIRONMENT.get().is_some() {
            return Ok(());
        }
    } else {
        if !lib_path.is_absolute() {
            return Err(InferError::Runtime(format!(
                "the ONNX Runtime library path must be absolute, got \"{}\"",
                lib_path.display()
            )));
        }
        if !lib_path.is_file() {
            return Err(InferError::Runtime(format!(
                "ONNX Runtime library \"{}\" does not exist or is not a file",
                lib_path.display()
            )));
        }
    }

    with_signals_blocked(|| {
        let builder = if loaded.is_none() {
            let builder = ort::init_from(lib_path).map_err(|e| {
                InferError::Runtime(format!(
                    "cannot load ONNX Runtime from \"{}\": {e}",
                    lib_path.display()
                ))
            })?;
            *loaded = Some(lib_path.to_path_buf());
            builder
        } else {
            // The library loaded earlier but the environment could not be built: retry the environment only.
            ort::init()
        };
        let environment = builder
            .with_name("pg_embedrank")
            .with_telemetry(false)
            .build()
            .map_err(|e| {
                InferError::Runtime(format!("cannot create the ONNX Runtime environment: {e}"))
            })?;
        environment.set_log_level(ort::logging::LogLevel::Error);
        // Only this function (under the LOADED_PATH lock) sets ENVIRONMENT, so it is still empty here.
        let _ = ENVIRONMENT.set(environment);
        Ok(())
    })
}

/// Whether two paths name the same file (canonicalised when possible, compared literally otherwise).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The path ONNX Runtime was loaded from, if [`init_runtime`] has succeeded in this process.
pub fn runtime_path() -> Option<PathBuf> {
    ENVIRONMENT.get()?;
    LOADED_PATH
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// The process environment, or an error telling the caller to initialise the runtime first.
pub(crate) fn environment() -> Result<&'static Environment, InferError> {
    ENVIRONMENT.get().ok_or_else(|| {
        InferError::Runtime(
            "ONNX Runtime is not initialised: call init_runtime with the library path first".into(),
        )
    })
}
