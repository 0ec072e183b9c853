//! The model traits the SQL layer programs against.
//!
//! The extension holds models as `&dyn Embedder` / `&dyn Reranker`, so tests can swap in fakes. Both traits
//! take a [`Cancel`]: implementations ask it, on the calling thread only, whether to stop; when it says so
//! they return [`InferError::Cancelled`]. In Postgres it processes interrupts, which may not return at all
//! (an ERROR unwinds; a FATAL, e.g. from `pg_terminate_backend`, exits the process).

use crate::error::InferError;

/// Whether a text is a search query or a stored document (selects the configured prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    Query,
    Document,
}

/// How the caller stops a long run early. Two questions, because ONNX Runtime may be running on this
/// crate's lane threads (see [`crate::lanes`]) while the calling thread waits:
///
/// - [`Cancel::pending`]: is there anything to act on? Asked every few milliseconds *while lane threads
///   are inside ONNX Runtime*, so it must only read state (in Postgres: the `InterruptPending` flag that
///   signal handlers set) and never raise, unwind or exit.
/// - [`Cancel::check`]: act on it; `true` stops the run. It may also not return: in Postgres it runs
///   `ProcessInterrupts`, whose ERROR unwinds and whose FATAL calls `exit()`. `exit()` runs ONNX
///   Runtime's static destructors, and a lane thread still inside a session then uses freed state (an
///   abort, or garbage results). So `check` is asked only when no thread of this crate is inside ONNX
///   Runtime: between batches, or after `pending` said yes and the lanes were stopped and joined.
///
/// A closure `Fn() -> bool` answers both questions (so it must be safe to call while lanes run).
pub trait Cancel {
    /// Whether [`Cancel::check`] may have something to do. Must not raise, unwind or exit.
    fn pending(&self) -> bool;
    /// Acts on a pending request: `true` stops the run with [`InferError::Cancelled`].
    fn check(&self) -> bool;
}

impl<F: Fn() -> bool> Cancel for F {
    fn pending(&self) -> bool {
        self()
    }
    fn check(&self) -> bool {
        self()
    }
}

/// Text → fixed-size vectors.
pub trait Embedder: Send + Sync {
    /// Length of every vector this model returns.
    fn dims(&self) -> usize;
    /// Embeds `texts` (empty strings allowed; longer inputs truncated to the model's `max_length` tokens),
    /// returning one vector per text in input order.
    fn embed_batch(
        &self,
        texts: &[&str],
        input_type: InputType,
        cancel: &dyn Cancel,
    ) -> Result<Vec<Vec<f32>>, InferError>;
}

/// (query, document) → relevance score.
pub trait Reranker: Send + Sync {
    /// Scores each document against `query`, returning raw logits in document order (apply [`sigmoid`] for a
    /// 0..1 score). Pairs longer than `max_length` tokens are truncated, longest sequence first.
    fn score(
        &self,
        query: &str,
        docs: &[&str],
        cancel: &dyn Cancel,
    ) -> Result<Vec<f32>, InferError>;
}

/// The logistic function, mapping a logit to (0, 1); numerically stable for large |x|.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_values() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(9.17) - 0.999_896).abs() < 1e-5);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(-1000.0) < 1e-30);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!(!sigmoid(f32::NAN).is_finite());
    }
}
