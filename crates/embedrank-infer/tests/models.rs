//! Behaviour of the real models: reranker sanity values, embedding quality, batching invariance,
//! cancellation, and the error paths of `OnnxModel::load` / role checks.

mod common;

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use common::*;
use embedrank_infer::{
    init_runtime, list_models, sigmoid, InferError, InputType, OnnxModel, Pooling, Role,
};

const BERLIN_Q: &str = "How many people live in Berlin?";
const BERLIN_DOC: &str =
    "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.";
const NYC_DOC: &str = "New York City is famous for the Metropolitan Museum of Art.";

#[test]
fn reranker_sanity_values() {
    if !assets_present() {
        return;
    }
    let reranker = model(RERANKER).as_reranker().unwrap();
    let started = Instant::now();
    let scores = reranker
        .score(BERLIN_Q, &[BERLIN_DOC, NYC_DOC], &never)
        .unwrap();
    eprintln!("rerank 2 pairs: {:?} in {:?}", scores, started.elapsed());
    // The digits depend on the CPU's int8 kernels (AVX2: +9.17, AVX-512 VNNI: +9.39): compare with
    // ONNX Runtime's Python reference run on this machine, then check what holds on every CPU.
    if let Some(fixture) = parity_fixture() {
        for (doc, got) in [BERLIN_DOC, NYC_DOC].iter().zip(&scores) {
            let want = reference_logit(&fixture, BERLIN_Q, doc);
            assert!(
                (got - want).abs() <= 1e-3,
                "logit {got} vs reference {want}"
            );
        }
    }
    assert!(scores[0] > scores[1] + 10.0, "{scores:?}");
    assert!(sigmoid(scores[0]) > 0.99 && sigmoid(scores[1]) < 0.01);
    // Empty inputs are valid.
    assert!(reranker.score(BERLIN_Q, &[], &never).unwrap().is_empty());
    let empty = reranker.score("", &["", BERLIN_DOC], &never).unwrap();
    assert!(empty.iter().all(|x| x.is_finite()));
}

#[test]
fn reranker_batch_matches_one_by_one() {
    if !assets_present() {
        return;
    }
    let reranker = model(RERANKER).as_reranker().unwrap();
    let long_doc = BERLIN_DOC.repeat(40); // far beyond 512 tokens: truncated
    let docs: Vec<&str> = vec![
        NYC_DOC,
        "",
        BERLIN_DOC,
        &long_doc,
        "Berlin is the capital of Germany.",
        "Paris.",
    ];
    let batched = reranker.score(BERLIN_Q, &docs, &never).unwrap();
    for (doc, score) in docs.iter().zip(&batched) {
        let single = reranker.score(BERLIN_Q, &[doc], &never).unwrap()[0];
        assert!(
            (single - score).abs() < 1e-4,
            "batched {score} vs single {single}"
        );
    }
}

#[test]
fn paraphrases_are_closer_than_unrelated() {
    if !assets_present() {
        return;
    }
    for name in [BGE, MINILM] {
        let embedder = model(name).as_embedder().unwrap();
        assert_eq!(embedder.dims(), 384);
        let texts = [
            "The cat sat on the mat.",
            "A cat was sitting on the rug.",
            "Quarterly revenue rose by twelve percent.",
        ];
        let v = embedder
            .embed_batch(&texts, InputType::Document, &never)
            .unwrap();
        assert_eq!(v.len(), 3);
        for x in &v {
            assert_eq!(x.len(), 384);
            let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{name}: not normalised ({norm})");
        }
        let close = cosine(&v[0], &v[1]);
        let far = cosine(&v[0], &v[2]);
        eprintln!("{name}: paraphrase {close:.4}, unrelated {far:.4}");
        assert!(
            close > far + 0.1,
            "{name}: paraphrase {close} vs unrelated {far}"
        );

        // A query finds its answer better than an unrelated passage.
        let q = embedder
            .embed_batch(&["where do cats sit?"], InputType::Query, &never)
            .unwrap();
        assert!(cosine(&q[0], &v[0]) > cosine(&q[0], &v[2]));
    }
}

#[test]
fn query_prefix_changes_bge_query_vectors() {
    if !assets_present() {
        return;
    }
    let m = model(BGE);
    assert_eq!(m.info().config.pooling, Pooling::Cls);
    let e = m.as_embedder().unwrap();
    let q = e
        .embed_batch(&["what is a cat"], InputType::Query, &never)
        .unwrap();
    let d = e
        .embed_batch(&["what is a cat"], InputType::Document, &never)
        .unwrap();
    assert!(
        cosine(&q[0], &d[0]) < 0.999,
        "bge queries must get the instruction prefix"
    );
    // MiniLM has no prefixes: identical.
    let e = model(MINILM).as_embedder().unwrap();
    let q = e
        .embed_batch(&["what is a cat"], InputType::Query, &never)
        .unwrap();
    let d = e
        .embed_batch(&["what is a cat"], InputType::Document, &never)
        .unwrap();
    assert_eq!(q, d);
}

/// Texts of very different token lengths, including empty, unicode and over-long ones.
fn mixed_texts() -> Vec<String> {
    let mut texts = vec![
        String::new(),
        "a".to_string(),
        "Crème brûlée, naïve café — Zürich, São Paulo, 東京, Ελληνικά.".to_string(),
        "The quick brown fox jumps over the lazy dog.".to_string(),
        "word ".repeat(50),
        "Long passages are truncated to the model's maximum length. ".repeat(60),
        "Postgres extensions can run inference inside the database.".to_string(),
    ];
    for i in 0..40 {
        texts.push(format!(
            "sentence number {i} {}",
            "with more words ".repeat(i % 9)
        ));
    }
    texts
}

#[test]
fn batch_caps_follow_quantization() {
    if !assets_present() {
        return;
    }
    // MiniLM has int8 weights but float activations: batch-invariant, so it batches.
    assert_eq!(model(MINILM).max_batch(), 32);
    // bge and the reranker quantize activations dynamically (per batch): one sequence per run.
    assert_eq!(model(BGE).max_batch(), 1);
    assert_eq!(model(RERANKER).max_batch(), 1);
}

/// Embeds `texts` in one call and one by one; returns the smallest cosine between the two.
fn batch_vs_single(embedder: &dyn embedrank_infer::Embedder, texts: &[&str]) -> f64 {
    let started = Instant::now();
    let batched = embedder
        .embed_batch(texts, InputType::Document, &never)
        .unwrap();
    eprintln!(
        "{} mixed texts in one call: {:?}",
        texts.len(),
        started.elapsed()
    );
    assert_eq!(batched.len(), texts.len());
    texts
        .iter()
        .zip(&batched)
        .map(|(text, b)| {
            cosine(
                &embedder
                    .embed_batch(&[text], InputType::Document, &never)
                    .unwrap()[0],
                b,
            )
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn batched_embeddings_equal_one_by_one() {
    if !assets_present() {
        return;
    }
    let texts = mixed_texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for name in [MINILM, BGE] {
        let min = batch_vs_single(model(name).as_embedder().unwrap(), &refs);
        eprintln!("{name}: min cosine batched vs single {min:.7}");
        assert!(
            min >= 0.99999,
            "{name}: dynamic padding changed a vector (cosine {min})"
        );
    }
    // Forcing batches on the dynamically quantized bge shows why it runs one by one by default: results move a
    // little with batch composition (but stay close).
    let forced = OnnxModel::load(&models_dir(), BGE, 1)
        .unwrap()
        .with_max_batch(32);
    let min = batch_vs_single(forced.as_embedder().unwrap(), &refs);
    eprintln!("{BGE} forced to batch 32: min cosine batched vs single {min:.7}");
    assert!(min > 0.98, "{min}");
}

/// A cancel check that says "stop" from its (n+1)-th call on, counting its calls in `calls`.
fn cancel_after(calls: &Cell<usize>, n: usize) -> impl Fn() -> bool + '_ {
    move || {
        calls.set(calls.get() + 1);
        calls.get() > n
    }
}

#[test]
fn cancellation_stops_between_batches() {
    if !assets_present() {
        return;
    }
    let embedder = model(MINILM).as_embedder().unwrap();
    let texts: Vec<String> = (0..200)
        .map(|i| format!("text number {i} about databases"))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let calls = Cell::new(0);
    let cancel = cancel_after(&calls, 1); // let the first batch run, then cancel
    let result = embedder.embed_batch(&refs, InputType::Document, &cancel);
    assert_eq!(result, Err(InferError::Cancelled));
    assert_eq!(
        calls.get(),
        2,
        "must stop at the first check after the first batch"
    );

    let reranker = model(RERANKER).as_reranker().unwrap();
    let calls = Cell::new(0);
    let cancel = cancel_after(&calls, 1);
    assert_eq!(
        reranker.score(BERLIN_Q, &refs, &cancel),
        Err(InferError::Cancelled)
    );
}

#[test]
fn two_threads_run_lanes_with_results_identical_to_one_thread() {
    if !assets_present() {
        return;
    }
    let texts = mixed_texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let load = |name, threads| OnnxModel::load(&models_dir(), name, threads).unwrap();
    let (one_model, two_model) = (load(BGE, 1), load(BGE, 2));
    let embed = |m: &OnnxModel| {
        m.as_embedder()
            .unwrap()
            .embed_batch(&refs, InputType::Query, &never)
            .unwrap()
    };
    assert_eq!(
        embed(&one_model),
        embed(&two_model),
        "bge-small: lanes changed a vector"
    );

    let docs: Vec<String> = (0..40)
        .map(|i| format!("{BERLIN_DOC} Paragraph {i}."))
        .collect();
    let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let one = load(RERANKER, 1)
        .as_reranker()
        .unwrap()
        .score(BERLIN_Q, &docs, &never)
        .unwrap();
    let two_model = load(RERANKER, 2);
    let reranker = two_model.as_reranker().unwrap();
    assert_eq!(
        one,
        reranker.score(BERLIN_Q, &docs, &never).unwrap(),
        "reranker: lanes changed a score"
    );

    // Cancelling a laned run stops it (the check runs on this thread while the lanes work).
    let calls = Cell::new(0);
    let cancel = cancel_after(&calls, 3);
    let many: Vec<&str> = std::iter::repeat_n(BERLIN_DOC, 2000).collect();
    let started = Instant::now();
    assert_eq!(
        reranker.score(BERLIN_Q, &many, &cancel),
        Err(InferError::Cancelled)
    );
    assert!(
        started.elapsed().as_secs_f64() < 2.0,
        "cancel took {:?}",
        started.elapsed()
    );
}

#[test]
fn wrong_role_both_ways() {
    if !assets_present() {
        return;
    }
    match model(RERANKER).as_embedder() {
        Err(InferError::WrongRole {
            model,
            expected: Role::Embedding,
            actual: Role::Reranker,
        }) => {
            assert_eq!(model, RERANKER)
        }
        other => panic!("unexpected {:?}", other.map(|_| ())),
    }
    match model(MINILM).as_reranker() {
        Err(
            e @ InferError::WrongRole {
                expected: Role::Reranker,
                actual: Role::Embedding,
                ..
            },
        ) => {
            assert!(e.to_string().contains("reranker"), "{e}")
        }
        other => panic!("unexpected {:?}", other.map(|_| ())),
    }
}

#[test]
fn listing_and_lookup_errors() {
    if !assets_present() {
        return;
    }
    init();
    let listed: Vec<String> = list_models(&models_dir())
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        listed,
        vec![MINILM.to_string(), BGE.to_string(), RERANKER.to_string()]
    );

    match OnnxModel::load(&models_dir(), "no-such-model", 1) {
        Err(e @ InferError::ModelNotFound { .. }) => {
            let InferError::ModelNotFound { available, .. } = &e else {
                unreachable!()
            };
            assert_eq!(available, &listed);
            assert!(e.to_string().contains(BGE), "{e}");
        }
        other => panic!("unexpected {:?}", other.map(|_| ())),
    }
    for bad in ["../etc", "..", ".cache", "a/b", ""] {
        assert!(
            matches!(
                OnnxModel::load(&models_dir(), bad, 1),
                Err(InferError::InvalidModelName(_))
            ),
            "{bad:?} must be rejected"
        );
    }
    assert!(matches!(
        OnnxModel::load(Path::new("/nonexistent/models"), MINILM, 1),
        Err(InferError::Runtime(_))
    ));
    assert!(list_models(Path::new("/nonexistent/models")).is_err());
}

/// Copies a model into a temporary models dir so its files can be damaged.
fn temp_copy(model: &str, tag: &str) -> std::path::PathBuf {
    let root =
        std::env::temp_dir().join(format!("embedrank-infer-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dst = root.join(model);
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["embedrank.json", "tokenizer.json", "model.onnx"] {
        std::fs::copy(models_dir().join(model).join(f), dst.join(f)).unwrap();
    }
    root
}

#[test]
fn damaged_model_files() {
    if !assets_present() {
        return;
    }
    init();
    let expect_bad = |root: &Path, what: &str| match OnnxModel::load(root, MINILM, 1) {
        Err(e @ InferError::BadModelFiles { .. }) => eprintln!("{what}: {e}"),
        other => panic!("{what}: unexpected {:?}", other.map(|_| ())),
    };

    let root = temp_copy(MINILM, "no-tokenizer");
    std::fs::remove_file(root.join(MINILM).join("tokenizer.json")).unwrap();
    expect_bad(&root, "missing tokenizer.json");
    std::fs::remove_dir_all(&root).unwrap();

    let root = temp_copy(MINILM, "corrupt-onnx");
    std::fs::write(
        root.join(MINILM).join("model.onnx"),
        b"this is not an onnx protobuf at all \x00\xff\x13",
    )
    .unwrap();
    expect_bad(&root, "corrupt model.onnx");
    std::fs::remove_dir_all(&root).unwrap();

    let root = temp_copy(MINILM, "corrupt-tokenizer");
    std::fs::write(
        root.join(MINILM).join("tokenizer.json"),
        b"{\"not\": \"a tokenizer\"}",
    )
    .unwrap();
    expect_bad(&root, "corrupt tokenizer.json");
    std::fs::remove_dir_all(&root).unwrap();

    let root = temp_copy(MINILM, "bad-config");
    std::fs::write(
        root.join(MINILM).join("embedrank.json"),
        br#"{"role": "embedding", "poolin": "cls"}"#,
    )
    .unwrap();
    expect_bad(&root, "unknown field in embedrank.json");
    // A broken config is left out of the listing.
    assert!(list_models(&root).unwrap().is_empty());
    std::fs::remove_dir_all(&root).unwrap();

    let root = temp_copy(MINILM, "wrong-dims");
    std::fs::write(
        root.join(MINILM).join("embedrank.json"),
        br#"{"role": "embedding", "dims": 768}"#,
    )
    .unwrap();
    expect_bad(&root, "dims mismatch");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn runtime_init_is_once_per_process() {
    if !assets_present() {
        return;
    }
    init();
    init(); // same path: no-op
    match init_runtime(Path::new("/opt/other/libonnxruntime.so")) {
        Err(InferError::Runtime(msg)) => assert!(msg.contains("restart"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(embedrank_infer::runtime_path().unwrap(), ort_lib());
}
