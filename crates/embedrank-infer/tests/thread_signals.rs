//! Every thread this crate causes to exist (ORT intra-op pool, rayon tokenization pool) must start with all
//! signals blocked, so a Postgres backend's signals always reach its main thread. Own test binary, so the
//! threads present before loading are just the harness's.

mod common;

use std::collections::BTreeSet;

use common::*;
use embedrank_infer::{InputType, OnnxModel};

/// Thread ids of this process.
fn tasks() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// The blocked-signal mask of a thread, from /proc (hex).
fn blocked_mask(tid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("SigBlk:"))?;
    u64::from_str_radix(line.trim_start_matches("SigBlk:").trim(), 16).ok()
}

#[test]
fn spawned_threads_have_all_signals_blocked() {
    if !assets_present() {
        return;
    }
    let before = tasks();
    init();
    let m = OnnxModel::load(&models_dir(), MINILM, 2).unwrap();
    let texts: Vec<String> = (0..100).map(|i| format!("text {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    m.as_embedder()
        .unwrap()
        .embed_batch(&refs, InputType::Document, &never)
        .unwrap();
    let new: Vec<String> = tasks().difference(&before).cloned().collect();
    assert!(!new.is_empty(), "expected ORT and tokenization threads");
    for tid in &new {
        let comm =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
        let mask = blocked_mask(tid).expect("SigBlk");
        // SIGINT(2), SIGUSR1(10), SIGUSR2(12), SIGALRM(14), SIGTERM(15) at least; in practice all of them.
        for sig in [
            libc::SIGINT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGALRM,
            libc::SIGTERM,
            libc::SIGQUIT,
        ] {
            assert!(
                mask & (1 << (sig - 1)) != 0,
                "thread {tid} ({}) has signal {sig} unblocked",
                comm.trim()
            );
        }
        eprintln!("thread {tid} {:<16} SigBlk {mask:016x}", comm.trim());
    }
    // The calling thread's own mask is restored.
    assert!(!embedrank_infer::signals::is_blocked(libc::SIGINT));
}
