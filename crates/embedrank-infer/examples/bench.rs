//! Throughput benchmark: `cargo run --release -p embedrank-infer --example bench -- <batch> <threads>`.
//! Embeds 128 short and 32 long texts with both embedders and reranks 64 passages, printing wall times.

use std::path::PathBuf;
use std::time::Instant;

use embedrank_infer::{init_runtime, InputType, OnnxModel};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let batch = args.first().copied().unwrap_or(32);
    let threads = args.get(1).copied().unwrap_or(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    init_runtime(&root.join(".cache/ort/libonnxruntime.so.1.31.1").canonicalize().unwrap()).unwrap();
    let models = root.join(".cache/models");
    let short: Vec<String> = (0..128).map(|i| format!("short sentence number {i} about databases")).collect();
    let long: Vec<String> =
        (0..32).map(|i| format!("passage {i}: {}", "Postgres runs inference inside the backend. ".repeat(14))).collect();
    let never = || false;
    for name in ["all-MiniLM-L6-v2", "bge-small-en-v1.5"] {
        let m = OnnxModel::load(&models, name, threads).unwrap().with_max_batch(batch);
        let e = m.as_embedder().unwrap();
        for (label, texts) in [("128 short", &short), ("32 long(~128 tok)", &long)] {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            e.embed_batch(&refs[..4], InputType::Document, &never).unwrap();
            let t = Instant::now();
            e.embed_batch(&refs, InputType::Document, &never).unwrap();
            println!("{name:<20} batch {batch:>2} threads {threads}: {label:<18} {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let m = OnnxModel::load(&models, "ms-marco-MiniLM-L-12-v2", threads).unwrap().with_max_batch(batch);
    let r = m.as_reranker().unwrap();
    let refs: Vec<&str> = long.iter().chain(long.iter()).map(String::as_str).collect();
    r.score("how does postgres run inference?", &refs[..2], &never).unwrap();
    let t = Instant::now();
    r.score("how does postgres run inference?", &refs, &never).unwrap();
    println!("{:<20} batch {batch:>2} threads {threads}: 64 pairs           {:>8.1} ms", "reranker L-12", t.elapsed().as_secs_f64() * 1e3);
}
