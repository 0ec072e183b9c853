//! Reproduction of a process exiting while inference lanes run, as a Postgres backend does when
//! `pg_terminate_backend` turns into a FATAL: `exit()` runs ONNX Runtime's static destructors.
//!
//! `cargo run --release -p embedrank-infer --example exit_race -- [trials] [model] [closure|split]`
//!
//! Each trial forks a child that loads the model with two lanes, scores 200 passages and exits (`libc::exit(1)`) from its
//! cancel callback after a random delay, then counts how the children ended. `closure` exits from a plain
//! closure, which the lanes also ask while they run (the callback's contract before the fix: every
//! child aborts, `terminate called after throwing an instance of 'std::system_error'`); `split` exits
//! from [`Cancel::check`], which the lanes ask only after they stopped and joined (every child exits 1).
use std::path::PathBuf;
use std::time::{Duration, Instant};

use embedrank_infer::{init_runtime, Cancel, InputType, OnnxModel};

struct ExitAfter(Instant, Duration);

impl Cancel for ExitAfter {
    fn pending(&self) -> bool {
        self.0.elapsed() >= self.1
    }
    fn check(&self) -> bool {
        unsafe { libc::exit(1) }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trials: usize = args.first().map_or(100, |a| a.parse().expect("trials"));
    let model = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ms-marco-MiniLM-L-12-v2".into());
    let split = args.get(2).is_none_or(|m| m == "split");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs: Vec<String> = (0..200)
        .map(|i| format!("passage number {i} about the population of cities and rivers in europe"))
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let mut seed = 0x1234_5678u64;
    let mut ends = std::collections::BTreeMap::new();
    for _ in 0..trials {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 300_000);
        // ONNX Runtime is loaded in the child, after the fork, as in a Postgres backend (a runtime
        // inherited across fork() fails in its own destructors, lanes or not).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            init_runtime(
                &root
                    .join(".cache/ort/libonnxruntime.so.1.31.1")
                    .canonicalize()
                    .unwrap(),
            )
            .unwrap();
            let m = OnnxModel::load(&root.join(".cache/models"), &model, 2).unwrap();
            let started = Instant::now();
            let split_cancel = ExitAfter(started, delay);
            let closure = || {
                if started.elapsed() >= delay {
                    unsafe { libc::exit(1) }
                }
                false
            };
            let cancel: &dyn Cancel = if split { &split_cancel } else { &closure };
            if let Ok(r) = m.as_reranker() {
                let _ = r.score("how many people live in berlin", &refs, cancel);
            }
            if let Ok(e) = m.as_embedder() {
                let _ = e.embed_batch(&refs, InputType::Document, cancel);
            }
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let end = if libc::WIFSIGNALED(status) {
            format!("signal {}", libc::WTERMSIG(status))
        } else {
            format!("exit {}", libc::WEXITSTATUS(status))
        };
        *ends.entry(end).or_insert(0) += 1;
    }
    println!(
        "{model} ({}): {ends:?}",
        if split { "split" } else { "closure" }
    );
}
