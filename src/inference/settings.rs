//! Settings (GUCs) of the inference layer.
//!
//! `embedrank.onnxruntime_library` and `embedrank.model_dir` name files, so only superusers may set
//! them (PGC_SUSET). Empty means the default: the library installed next to the extension
//! (`$libdir/libonnxruntime.so.1.31.1`) and `$sharedir/pg_embedrank/models`.
//!
//! `embedrank.threads` is for every role, but each thread of a one-sequence-per-call model is a whole
//! ONNX session (~45 MB per model), so a superuser caps it with `embedrank.max_threads` (default: the
//! machine's cores). The ceiling clamps rather than rejects: a check hook comparing two settings
//! would depend on the order they are set in (postgresql.conf, ALTER ROLE/DATABASE SET, SET), which
//! Postgres does not define, and lowering the ceiling later would make stored role settings fail.
//! The effective count is `min(threads, max_threads)`; a NOTICE says so when a model loads clamped.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::{CStr, CString};
use std::path::PathBuf;

pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

pub static ORT_LIBRARY: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static MODEL_DIR: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static EMBEDDING_MODEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"bge-small-en-v1.5"));
pub static RERANK_MODEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"ms-marco-MiniLM-L-12-v2"));
pub static THREADS: GucSetting<i32> = GucSetting::<i32>::new(1);
/// Boot value replaced by the machine's core count in [`register`].
pub static MAX_THREADS: GucSetting<i32> = GucSetting::<i32>::new(1);
/// Upper bound of both thread settings.
pub const THREADS_LIMIT: i32 = 64;

/// Register the settings; called from `_PG_init`.
pub fn register() {
    GucRegistry::define_string_guc(
        c"embedrank.onnxruntime_library",
        c"Absolute path of the ONNX Runtime shared library (superuser only).",
        c"Empty: $libdir/libonnxruntime.so.1.31.1, installed by the setup. Read once per backend, on first use.",
        &ORT_LIBRARY,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"embedrank.model_dir",
        c"Directory holding one sub-directory per model (superuser only).",
        c"Empty: $sharedir/pg_embedrank/models. Each model directory has model.onnx, tokenizer.json and embedrank.json.",
        &MODEL_DIR,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"embedrank.embedding_model",
        c"Model used by embed() when no model is named.",
        c"",
        &EMBEDDING_MODEL,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"embedrank.rerank_model",
        c"Model used by rerank() when no model is named.",
        c"",
        &RERANK_MODEL,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"embedrank.threads",
        c"Inference threads per backend (ONNX Runtime intra-op threads and tokenization).",
        c"Keep small: every backend running inference uses this many cores.",
        &THREADS,
        1,
        THREADS_LIMIT,
        GucContext::Userset,
        GucFlags::default(),
    );
    // The boot value is whatever the setting holds when it is defined: the core count of this machine.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    unsafe { *MAX_THREADS.as_ptr() = cores.clamp(1, THREADS_LIMIT as usize) as i32 };
    GucRegistry::define_int_guc(
        c"embedrank.max_threads",
        c"Ceiling of embedrank.threads (superuser only); the default is the machine's core count.",
        c"Inference uses min(embedrank.threads, embedrank.max_threads) threads. Each thread of a model that runs one sequence per ONNX call is a whole ONNX session: about 45 MB per model per thread.",
        &MAX_THREADS,
        1,
        THREADS_LIMIT,
        GucContext::Suset,
        GucFlags::default(),
    );
}

fn setting_or(setting: &GucSetting<Option<CString>>) -> Option<String> {
    setting
        .get()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.trim().is_empty())
}

/// Path of a Postgres installation directory from a C buffer it filled.
fn c_path(buf: &[std::ffi::c_char]) -> PathBuf {
    PathBuf::from(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The ONNX Runtime library to load.
pub fn ort_library() -> PathBuf {
    match setting_or(&ORT_LIBRARY) {
        Some(p) => PathBuf::from(p),
        None => unsafe {
            let lib = std::ptr::addr_of!(pgrx::pg_sys::pkglib_path) as *const std::ffi::c_char;
            PathBuf::from(CStr::from_ptr(lib).to_string_lossy().into_owned()).join(ORT_LIBRARY_FILE)
        },
    }
}

/// The directory holding the models.
pub fn model_dir() -> PathBuf {
    match setting_or(&MODEL_DIR) {
        Some(p) => PathBuf::from(p),
        None => {
            let mut buf = [0 as std::ffi::c_char; pgrx::pg_sys::MAXPGPATH as usize];
            unsafe {
                let exec =
                    std::ptr::addr_of!(pgrx::pg_sys::my_exec_path) as *const std::ffi::c_char;
                pgrx::pg_sys::get_share_path(exec, buf.as_mut_ptr());
            }
            c_path(&buf).join("pg_embedrank").join("models")
        }
    }
}

/// Name of the default embedding / reranking model.
pub fn default_embedding_model() -> String {
    setting_or(&EMBEDDING_MODEL).unwrap_or_else(|| "bge-small-en-v1.5".into())
}
pub fn default_rerank_model() -> String {
    setting_or(&RERANK_MODEL).unwrap_or_else(|| "ms-marco-MiniLM-L-12-v2".into())
}

/// Inference threads for this backend: `embedrank.threads`, at most `embedrank.max_threads`.
pub fn threads() -> usize {
    THREADS.get().min(MAX_THREADS.get()).max(1) as usize
}

/// Whether `embedrank.threads` asks for more than `embedrank.max_threads` allows.
pub fn threads_clamped() -> Option<(i32, i32)> {
    let (want, max) = (THREADS.get(), MAX_THREADS.get());
    (want > max).then_some((want, max))
}

/// Reserve the `embedrank.` prefix, so `SET embedrank.hnsw_ef_serach = 5` is an error instead of a
/// silently ignored placeholder (and placeholders set before the library loaded are removed with a
/// WARNING). `_PG_init` calls it last, after every module has defined its settings: reserving removes
/// the placeholders of settings not yet defined, so a value set before the library loaded (`SET
/// embedrank.hnsw_ef_search = 100` as the first statement of a session) would be lost.
pub fn reserve_prefix() {
    #[cfg(feature = "pg14")]
    unsafe {
        pgrx::pg_sys::EmitWarningsOnPlaceholders(c"embedrank".as_ptr());
    }
    #[cfg(not(feature = "pg14"))]
    unsafe {
        pgrx::pg_sys::MarkGUCPrefixReserved(c"embedrank".as_ptr());
    }
}
