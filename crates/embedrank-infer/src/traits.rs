//! The model traits the SQL layer programs against.
//!
//! The extension holds models as `&dyn Embedder` / `&dyn Reranker`, so tests can swap in fakes. Both traits
//! take a `cancel` callback that implementations call only on the calling thread, between batches; when it
//! returns `true` they stop and return [`InferError::Cancelled`]. In Postgres the callback runs
//! `check_for_interrupts`, which may not return at all (it raises an ERROR).

use crate::error::InferError;

/// Whether a text is a search query or a stored document (selects the configured prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    Query,
    Document,
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
        cancel: &dyn Fn() -> bool,
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
        cancel: &dyn Fn() -> bool,
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
