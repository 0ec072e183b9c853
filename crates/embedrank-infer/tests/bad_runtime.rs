//! Runtime initialisation failures, in their own test binary (process) because ONNX Runtime can be
//! initialised only once per process: bad paths fail cleanly and leave nothing behind, so a good path still
//! works afterwards. One test function, so the steps run in order.

mod common;

use std::path::Path;

use common::*;
use embedrank_infer::{init_runtime, InferError, OnnxModel};

#[test]
fn bad_paths_then_good_path() {
    if !assets_present() {
        return;
    }
    // Loading before initialisation is a clear Runtime error, not a crash.
    match OnnxModel::load(&models_dir(), MINILM, 1) {
        Err(InferError::Runtime(msg)) => assert!(msg.contains("init_runtime"), "{msg}"),
        other => panic!("unexpected {:?}", other.map(|_| ())),
    }

    let garbage =
        std::env::temp_dir().join(format!("embedrank-not-a-library-{}.so", std::process::id()));
    std::fs::write(&garbage, b"not an ELF file").unwrap();
    let cases: [(&Path, &str); 4] = [
        (
            Path::new("/nonexistent/libonnxruntime.so"),
            "does not exist",
        ),
        (Path::new("libonnxruntime.so"), "absolute"),
        (Path::new("/tmp"), "not a file"),
        (&garbage, "cannot load"),
    ];
    for (path, expected) in cases {
        match init_runtime(path) {
            Err(e @ InferError::Runtime(_)) => {
                let msg = e.to_string();
                assert!(msg.contains(expected), "{}: {msg}", path.display());
                eprintln!("{}: {msg}", path.display());
            }
            other => panic!("{}: unexpected {other:?}", path.display()),
        }
    }
    std::fs::remove_file(&garbage).unwrap();

    init_runtime(&ort_lib()).expect("a good path after bad ones");
    let m = OnnxModel::load(&models_dir(), MINILM, 1).expect("load after init");
    let v = m
        .as_embedder()
        .unwrap()
        .embed_batch(&["hello"], embedrank_infer::InputType::Document, &never)
        .unwrap();
    assert_eq!(v[0].len(), 384);
}
