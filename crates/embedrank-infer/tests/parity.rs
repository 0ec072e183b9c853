//! Parity with the independent Python reference (`tests/parity/make_fixture.py`, Python onnxruntime +
//! tokenizers + numpy): embeddings must agree to cosine ≥ 0.9999, rerank logits to |Δ| ≤ 1e-3. Inputs cover
//! the empty string, accents and other scripts, emoji, whitespace and texts beyond the 512-token limit.
//! Each group is embedded in one call, so batching is exercised as well. The reference runs on this machine
//! at test time (the int8 models' digits depend on the CPU's kernels), see `common::parity_fixture`.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde::Deserialize;

use embedrank_infer::InputType;

#[derive(Deserialize)]
struct Fixture {
    embeddings: Vec<EmbeddingCase>,
    rerank: Vec<RerankCase>,
}

#[derive(Deserialize)]
struct EmbeddingCase {
    model: String,
    input_type: String,
    text: String,
    vector: Vec<f32>,
}

#[derive(Deserialize)]
struct RerankCase {
    model: String,
    query: String,
    doc: String,
    logit: f32,
}

fn load_fixture() -> Option<Fixture> {
    parity_fixture().map(|json| serde_json::from_value(json).expect("fixture layout"))
}

#[test]
fn embeddings_match_python_reference() {
    if !assets_present() {
        return;
    }
    let Some(fixture) = load_fixture() else {
        return;
    };
    let mut groups: BTreeMap<(&str, &str), Vec<&EmbeddingCase>> = BTreeMap::new();
    for case in &fixture.embeddings {
        groups
            .entry((&case.model, &case.input_type))
            .or_default()
            .push(case);
    }
    assert!(
        groups.len() >= 3,
        "fixture should cover bge document/query and MiniLM"
    );
    for ((name, input_type), cases) in groups {
        let input_type = match input_type {
            "query" => InputType::Query,
            "document" => InputType::Document,
            other => panic!("unknown input_type {other}"),
        };
        let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
        let got = model(name)
            .as_embedder()
            .unwrap()
            .embed_batch(&texts, input_type, &never)
            .unwrap();
        let mut worst = f64::INFINITY;
        for (case, vector) in cases.iter().zip(&got) {
            let c = cosine(vector, &case.vector);
            assert!(
                c >= 0.9999,
                "{name} {input_type:?}: cosine {c} for {:?}",
                &case.text[..case.text.len().min(60)]
            );
            worst = worst.min(c);
        }
        eprintln!(
            "{name} {input_type:?}: {} texts, min cosine {worst:.7}",
            cases.len()
        );
    }
}

#[test]
fn rerank_logits_match_python_reference() {
    if !assets_present() {
        return;
    }
    let Some(fixture) = load_fixture() else {
        return;
    };
    assert!(fixture.rerank.len() >= 8);
    let mut worst = 0f32;
    // One call per (model, query), documents in fixture order.
    let mut groups: BTreeMap<(&str, &str), Vec<&RerankCase>> = BTreeMap::new();
    for case in &fixture.rerank {
        groups
            .entry((&case.model, &case.query))
            .or_default()
            .push(case);
    }
    for ((name, query), cases) in groups {
        let docs: Vec<&str> = cases.iter().map(|c| c.doc.as_str()).collect();
        let got = model(name)
            .as_reranker()
            .unwrap()
            .score(query, &docs, &never)
            .unwrap();
        for (case, logit) in cases.iter().zip(&got) {
            let delta = (logit - case.logit).abs();
            assert!(
                delta <= 1e-3,
                "{name}: logit {logit} vs reference {} for doc {:?}",
                case.logit,
                case.doc
            );
            worst = worst.max(delta);
        }
    }
    eprintln!(
        "reranker: {} pairs, max |Δ logit| {worst:.2e}",
        fixture.rerank.len()
    );
}
