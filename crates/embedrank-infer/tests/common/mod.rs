//! Shared helpers for the integration tests: locating the real assets produced by the project's setup script
//! (`.cache/ort` and `.cache/models` at the workspace root), initialising the runtime once per test binary
//! and loading each model once (loading the L-12 reranker takes a while on 2 cores).

#![allow(dead_code)]

use std::path::PathBuf;

use embedrank_infer::{init_runtime, OnnxModel};
use once_cell::sync::OnceCell;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

pub fn models_dir() -> PathBuf {
    workspace_root().join(".cache/models")
}

pub fn ort_lib() -> PathBuf {
    workspace_root().join(".cache/ort/libonnxruntime.so.1.31.1")
}

/// Whether the assets exist; prints why a test is skipped when they do not. The project's test
/// command sets EMBEDRANK_REQUIRE_ASSETS, so there a missing asset fails instead of skipping.
pub fn assets_present() -> bool {
    let present = models_dir().is_dir() && ort_lib().is_file();
    if !present && std::env::var_os("EMBEDRANK_REQUIRE_ASSETS").is_some() {
        panic!(
            "{} or {} is missing and EMBEDRANK_REQUIRE_ASSETS is set",
            models_dir().display(),
            ort_lib().display()
        );
    }
    if !present {
        eprintln!(
            "SKIPPED: {} or {} is missing (run the setup script)",
            models_dir().display(),
            ort_lib().display()
        );
    }
    present
}

/// The Python reference's outputs on this machine (`tests/parity/make_fixture.py`, run by
/// `scripts/test.sh` before the tests: the int8 models' digits depend on the CPU, so it is never committed).
pub fn parity_fixture_path() -> PathBuf {
    workspace_root().join(".cache/parity/fixture.json")
}

/// The fixture as JSON, or None (with the reason printed) when it has not been generated; under
/// EMBEDRANK_REQUIRE_ASSETS a missing fixture fails instead.
pub fn parity_fixture() -> Option<serde_json::Value> {
    let path = parity_fixture_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("parity fixture is JSON")),
        Err(e) => {
            let why = format!(
                "{}: {e} (generate it: .venv/bin/python tests/parity/make_fixture.py)",
                path.display()
            );
            if std::env::var_os("EMBEDRANK_REQUIRE_ASSETS").is_some() {
                panic!("{why}");
            }
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

/// The reference logit of one (query, document) pair in the fixture.
pub fn reference_logit(fixture: &serde_json::Value, query: &str, doc: &str) -> f32 {
    fixture["rerank"]
        .as_array()
        .expect("rerank cases")
        .iter()
        .find(|r| r["query"] == query && r["doc"] == doc)
        .unwrap_or_else(|| panic!("fixture lacks the pair {query:?} / {doc:?}"))["logit"]
        .as_f64()
        .expect("logit") as f32
}

/// Initialises ONNX Runtime from the cached library (idempotent).
pub fn init() {
    init_runtime(&ort_lib()).expect("init_runtime");
}

pub const BGE: &str = "bge-small-en-v1.5";
pub const MINILM: &str = "all-MiniLM-L6-v2";
pub const RERANKER: &str = "ms-marco-MiniLM-L-12-v2";

/// A model loaded once per test binary, with 2 intra-op threads.
pub fn model(name: &str) -> &'static OnnxModel {
    static BGE_MODEL: OnceCell<OnnxModel> = OnceCell::new();
    static MINILM_MODEL: OnceCell<OnnxModel> = OnceCell::new();
    static RERANKER_MODEL: OnceCell<OnnxModel> = OnceCell::new();
    let cell = match name {
        BGE => &BGE_MODEL,
        MINILM => &MINILM_MODEL,
        RERANKER => &RERANKER_MODEL,
        other => panic!("no cached slot for {other}"),
    };
    cell.get_or_init(|| {
        init();
        let m = OnnxModel::load(&models_dir(), name, 2)
            .unwrap_or_else(|e| panic!("loading {name}: {e}"));
        eprintln!("loaded {name} in {:?}", m.load_time());
        m
    })
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// A cancel callback that never cancels.
pub fn never() -> bool {
    false
}
