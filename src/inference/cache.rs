//! Per-backend cache of loaded models.
//!
//! A backend is single-threaded, so the cache is a plain map behind a `RefCell` in a thread-local.
//! Models load on first use (or through `embedrank.load`) and stay for the backend's life; the key
//! includes the thread count because ONNX Runtime fixes a session's thread pool at creation.
//! ONNX Runtime itself is initialised once per process from `embedrank.onnxruntime_library`.

use super::errors::OrRaise;
use super::settings;
use embedrank_infer::{init_runtime, OnnxModel};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static MODELS: RefCell<HashMap<(String, usize), Rc<OnnxModel>>> = RefCell::new(HashMap::new());
}

/// The model `name` loaded with the current thread count, loading it if needed.
pub fn get(name: &str) -> Rc<OnnxModel> {
    let threads = settings::threads();
    let key = (name.to_string(), threads);
    if let Some(m) = MODELS.with(|c| c.borrow().get(&key).cloned()) {
        return m;
    }
    if let Some((want, max)) = settings::threads_clamped() {
        pgrx::notice!(
            "embedrank.threads = {want} is above embedrank.max_threads = {max}: model \"{name}\" loads with {max} threads"
        );
    }
    init_runtime(&settings::ort_library()).or_raise();
    let model = Rc::new(OnnxModel::load(&settings::model_dir(), name, threads).or_raise());
    MODELS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(n, _), _| n != name); // an older thread count of the same model
        c.insert(key, model.clone());
    });
    model
}

/// Whether `name` is loaded in this backend: how long loading it took, and with how many threads.
pub fn loaded(name: &str) -> Option<(std::time::Duration, usize)> {
    MODELS.with(|c| {
        c.borrow()
            .iter()
            .find(|((n, _), _)| n == name)
            .map(|((_, threads), m)| (m.load_time(), *threads))
    })
}
