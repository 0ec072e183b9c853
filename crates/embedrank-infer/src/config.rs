//! `embedrank.json`: the per-model configuration file.
//!
//! Each model directory holds `model.onnx`, `tokenizer.json` and `embedrank.json`. The latter is parsed strictly
//! (unknown fields are rejected, so typos do not silently fall back to defaults) into a [`ModelConfig`]:
//!
//! ```json
//! {"role": "embedding", "pooling": "cls", "normalize": true, "dims": 384, "max_length": 512,
//!  "query_prefix": "Represent this sentence for searching relevant passages: ", "document_prefix": ""}
//! ```
//!
//! Only `role` is required. Defaults: `pooling` = `mean`, `normalize` = `true`, `dims` = none (taken from the
//! model), `max_length` = 512, prefixes empty, `max_batch` = none. `max_length` counts tokens including special
//! tokens and must lie in [`MIN_MAX_LENGTH`]..=[`MAX_MAX_LENGTH`]. Pooling, normalisation and dims are ignored
//! for rerankers. `max_batch` (1..=[`MAX_BATCH_SEQS`]) caps the sequences per ONNX Runtime run; when absent
//! the model layer picks 1 for dynamically quantized graphs (exact, batch-independent results) and
//! [`MAX_BATCH_SEQS`] otherwise (see [`crate::graph`]).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::batching::MAX_BATCH_SEQS;

/// Smallest accepted `max_length` (room for `[CLS] a [SEP] b [SEP]` plus a few tokens).
pub const MIN_MAX_LENGTH: usize = 8;
/// Largest accepted `max_length`.
pub const MAX_MAX_LENGTH: usize = 8192;

/// What a model does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Text → vector.
    Embedding,
    /// (query, passage) → relevance logit (cross-encoder).
    Reranker,
}

impl Role {
    /// The lowercase name used in `embedrank.json` and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Embedding => "embedding",
            Role::Reranker => "reranker",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How token vectors become one sentence vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The first token's (`[CLS]`) vector.
    Cls,
    /// Mean of the token vectors over the attention mask.
    Mean,
}

impl Pooling {
    /// The lowercase name used in `embedrank.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Cls => "cls",
            Pooling::Mean => "mean",
        }
    }
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model's validated configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub role: Role,
    #[serde(default = "default_pooling")]
    pub pooling: Pooling,
    #[serde(default = "default_true")]
    pub normalize: bool,
    #[serde(default)]
    pub dims: Option<usize>,
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    #[serde(default)]
    pub query_prefix: String,
    #[serde(default)]
    pub document_prefix: String,
    #[serde(default)]
    pub max_batch: Option<usize>,
}

fn default_pooling() -> Pooling {
    Pooling::Mean
}

fn default_true() -> bool {
    true
}

fn default_max_length() -> usize {
    512
}

impl ModelConfig {
    /// Parses and validates the JSON text of an `embedrank.json`.
    pub fn from_json(text: &str) -> Result<ModelConfig, String> {
        let config: ModelConfig =
            serde_json::from_str(text).map_err(|e| format!("invalid embedrank.json: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates an `embedrank.json` file.
    pub fn from_file(path: &Path) -> Result<ModelConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text)
    }

    /// Checks value ranges that serde cannot express.
    fn validate(&self) -> Result<(), String> {
        if !(MIN_MAX_LENGTH..=MAX_MAX_LENGTH).contains(&self.max_length) {
            return Err(format!(
                "invalid embedrank.json: max_length must be between {MIN_MAX_LENGTH} and {MAX_MAX_LENGTH}, got {}",
                self.max_length
            ));
        }
        if let Some(b) = self.max_batch {
            if !(1..=MAX_BATCH_SEQS).contains(&b) {
                return Err(format!("invalid embedrank.json: max_batch must be between 1 and {MAX_BATCH_SEQS}, got {b}"));
            }
        }
        if self.dims == Some(0) {
            return Err("invalid embedrank.json: dims must be positive".to_string());
        }
        Ok(())
    }

    /// The prefix prepended to texts of the given input type.
    pub fn prefix(&self, input_type: crate::traits::InputType) -> &str {
        match input_type {
            crate::traits::InputType::Query => &self.query_prefix,
            crate::traits::InputType::Document => &self.document_prefix,
        }
    }
}

/// A model's name (its directory name) and configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub config: ModelConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_config() {
        let c = ModelConfig::from_json(
            r#"{"role": "embedding", "pooling": "cls", "normalize": true, "dims": 384, "max_length": 512,
               "query_prefix": "q: ", "document_prefix": "d: "}"#,
        )
        .unwrap();
        assert_eq!(c.role, Role::Embedding);
        assert_eq!(c.pooling, Pooling::Cls);
        assert_eq!(c.dims, Some(384));
        assert_eq!(c.query_prefix, "q: ");
        assert_eq!(c.document_prefix, "d: ");
    }

    #[test]
    fn applies_defaults() {
        let c = ModelConfig::from_json(r#"{"role": "reranker"}"#).unwrap();
        assert_eq!(c.role, Role::Reranker);
        assert_eq!(c.pooling, Pooling::Mean);
        assert!(c.normalize);
        assert_eq!(c.dims, None);
        assert_eq!(c.max_length, 512);
        assert_eq!(c.query_prefix, "");
        assert_eq!(c.max_batch, None);
        let c = ModelConfig::from_json(r#"{"role": "embedding", "max_batch": 8}"#).unwrap();
        assert_eq!(c.max_batch, Some(8));
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values() {
        assert!(ModelConfig::from_json(r#"{"role": "embedding", "pooling_typo": "cls"}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"role": "classifier"}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"pooling": "cls"}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"role": "embedding", "max_length": 2}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"role": "embedding", "max_length": 100000}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"role": "embedding", "dims": 0}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"role": "embedding", "max_batch": 0}"#).is_err());
        assert!(ModelConfig::from_json(r#"{"role": "embedding", "max_batch": 33}"#).is_err());
        assert!(ModelConfig::from_json("not json").is_err());
    }
}
