//! The crate's error type.
//!
//! Every fallible public function returns [`InferError`]. Variants are coarse on purpose: the SQL layer maps
//! each one to an SQLSTATE / message, so each carries a complete human-readable description in its `Display`.
//! `Runtime` covers everything about the process environment (ONNX Runtime library, models directory), the
//! model-related variants cover one model's files, `Inference` covers failures while running a loaded model.

use std::fmt;

use crate::config::Role;

/// Errors returned by this crate.
#[derive(Debug, Clone, PartialEq)]
pub enum InferError {
    /// ONNX Runtime could not be loaded or initialised, or the process environment (library path, models
    /// directory) is unusable.
    Runtime(String),
    /// No model of that name is installed; `available` lists the installed ones.
    ModelNotFound {
        name: String,
        available: Vec<String>,
    },
    /// The model name is not acceptable (path traversal, odd characters, too long).
    InvalidModelName(String),
    /// A model directory exists but its files are missing or corrupt.
    BadModelFiles { model: String, detail: String },
    /// The model exists but has the other role (e.g. a reranker used for embedding).
    WrongRole {
        model: String,
        expected: Role,
        actual: Role,
    },
    /// Running a loaded model failed.
    Inference(String),
    /// The caller's cancel callback asked to stop.
    Cancelled,
}

impl fmt::Display for InferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InferError::Runtime(msg) => write!(f, "ONNX Runtime error: {msg}"),
            InferError::ModelNotFound { name, available } => {
                if available.is_empty() {
                    write!(f, "model \"{name}\" not found; no models are installed")
                } else {
                    write!(f, "model \"{name}\" not found; available models: {}", available.join(", "))
                }
            }
            InferError::InvalidModelName(name) => write!(
                f,
                "invalid model name \"{}\": use only letters, digits, '.', '_' and '-', not starting with '.', \
                 at most 64 characters",
                name.escape_debug()
            ),
            InferError::BadModelFiles { model, detail } => write!(f, "model \"{model}\" has bad files: {detail}"),
            InferError::WrongRole { model, expected, actual } => write!(
                f,
                "model \"{model}\" is a{} {actual} model, but a{} {expected} model is required",
                article_suffix(*actual),
                article_suffix(*expected)
            ),
            InferError::Inference(msg) => write!(f, "inference failed: {msg}"),
            InferError::Cancelled => write!(f, "inference cancelled"),
        }
    }
}

/// "a" vs "an" for the role names in [`InferError::WrongRole`] messages.
fn article_suffix(role: Role) -> &'static str {
    match role {
        Role::Embedding => "n",
        Role::Reranker => "",
    }
}

impl std::error::Error for InferError {}
