//! The rayon pool used for tokenization.
//!
//! Tokenizing a few hundred texts is worth spreading over cores, but rayon's global pool would be created
//! lazily from whatever thread first touches it, with that thread's signal mask. This module owns a private
//! pool instead, created on first use (never at library load, so nothing runs before a Postgres `fork`) from
//! inside a [`SignalBlockGuard`], so its threads never receive the host's signals. It is small
//! (at most [`MAX_WORKERS`] threads) because ORT's intra-op threads do the heavy lifting.
//!
//! Only pure Rust work (tokenizers) runs on these threads; nested rayon calls made by `tokenizers` inside
//! [`run`] use this pool too, because rayon routes them to the pool of the current worker thread.

use once_cell::sync::OnceCell;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::InferError;
use crate::signals::SignalBlockGuard;

/// Upper bound on tokenization threads.
pub const MAX_WORKERS: usize = 4;

static POOL: OnceCell<ThreadPool> = OnceCell::new();

/// Returns the process-wide tokenization pool, building it (with signals blocked) on first use.
fn pool() -> Result<&'static ThreadPool, InferError> {
    POOL.get_or_try_init(|| {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_WORKERS);
        let _blocked = SignalBlockGuard::block_all();
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("embedrank-tok-{i}"))
            .build()
            .map_err(|e| InferError::Runtime(format!("cannot start tokenization threads: {e}")))
    })
}

/// Runs `f` inside the tokenization pool and returns its result to the calling thread.
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, InferError> {
    Ok(pool()?.install(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_threads_have_signals_blocked() {
        let all_blocked = run(|| {
            use rayon::prelude::*;
            (0..64)
                .into_par_iter()
                .map(|_| {
                    crate::signals::is_blocked(libc::SIGINT)
                        && crate::signals::is_blocked(libc::SIGTERM)
                })
                .all(|b| b)
        })
        .unwrap();
        assert!(all_blocked);
        assert!(
            !crate::signals::is_blocked(libc::SIGINT),
            "caller's mask must be restored"
        );
    }
}
