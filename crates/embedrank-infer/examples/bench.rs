//! Throughput benchmark: `cargo run --release -p embedrank-infer --example bench -- [threads] [max_batch]`.
//! Embeds 128 short (≈12 tokens) and 32 long (≈140 tokens) texts with both embedders and reranks 64
//! passages, printing the best wall time of 3 runs. Without `max_batch` each model uses its default cap.

use std::path::{Path, PathBuf};
use std::time::Instant;

use embedrank_infer::{init_runtime, InputType, OnnxModel};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let threads = args.first().copied().unwrap_or(1);
    let forced_batch = args.get(1).copied();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    init_runtime(
        &root
            .join(".cache/ort/libonnxruntime.so.1.31.1")
            .canonicalize()
            .unwrap(),
    )
    .unwrap();
    let models = root.join(".cache/models");
    let load = |models: &Path, name: &str| {
        let m = OnnxModel::load(models, name, threads).unwrap();
        match forced_batch {
            Some(b) => m.with_max_batch(b),
            None => m,
        }
    };
    let short: Vec<String> = (0..128)
        .map(|i| format!("short sentence number {i} about databases"))
        .collect();
    let long: Vec<String> = (0..32)
        .map(|i| {
            format!(
                "passage {i}: {}",
                "Postgres runs inference inside the backend. ".repeat(14)
            )
        })
        .collect();
    let never = || false;
    for name in ["all-MiniLM-L6-v2", "bge-small-en-v1.5"] {
        let m = load(&models, name);
        let e = m.as_embedder().unwrap();
        for (label, texts) in [("128 short", &short), ("32 long", &long)] {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            e.embed_batch(&refs[..4], InputType::Document, &never)
                .unwrap();
            let ms = best_of_3(|| {
                e.embed_batch(&refs, InputType::Document, &never).unwrap();
            });
            println!(
                "{name:<24} max_batch {:>2} threads {threads}: {label:<10} {ms:>8.1} ms",
                m.max_batch()
            );
        }
    }
    let m = load(&models, "ms-marco-MiniLM-L-12-v2");
    let r = m.as_reranker().unwrap();
    let refs: Vec<&str> = long.iter().chain(long.iter()).map(String::as_str).collect();
    let query = "how does postgres run inference?";
    r.score(query, &refs[..2], &never).unwrap();
    let ms = best_of_3(|| {
        r.score(query, &refs, &never).unwrap();
    });
    println!(
        "{:<24} max_batch {:>2} threads {threads}: 64 pairs   {ms:>8.1} ms",
        "ms-marco-MiniLM-L-12-v2",
        m.max_batch()
    );
}

/// Best wall time of three runs, in milliseconds (the machine is shared; the minimum is the least noisy).
fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}
