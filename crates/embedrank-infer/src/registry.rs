//! Model names and model directories.
//!
//! A model is a sub-directory `<models_dir>/<name>/` holding `embedrank.json`, `model.onnx` and
//! `tokenizer.json`. Names come from SQL, so they are validated before touching the file system: only
//! `[A-Za-z0-9._-]`, not starting with `.`, 1 to [`MAX_NAME_LEN`] characters. That rules out `/`, `..`
//! components, hidden directories and absolute paths, so a name can never escape `models_dir`.
//!
//! [`list_models`] reports the directories with a valid name and a parseable `embedrank.json`, sorted by name.
//! Directories with a broken `embedrank.json` are left out of the list; loading one by name reports why.

use std::path::{Path, PathBuf};

use crate::config::{ModelConfig, ModelInfo};
use crate::error::InferError;

/// Longest accepted model name.
pub const MAX_NAME_LEN: usize = 64;
/// The per-model configuration file.
pub const CONFIG_FILE: &str = "embedrank.json";
/// The ONNX graph.
pub const MODEL_FILE: &str = "model.onnx";
/// The Hugging Face tokenizer definition.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Rejects names that are empty, too long, start with '.', or contain characters outside `[A-Za-z0-9._-]`.
pub fn validate_model_name(name: &str) -> Result<(), InferError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InferError::InvalidModelName(name.to_string()))
    }
}

/// Lists valid model sub-directories of `dir` (those with a parseable embedrank.json), sorted by name.
pub fn list_models(dir: &Path) -> Result<Vec<ModelInfo>, InferError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        InferError::Runtime(format!(
            "cannot read models directory \"{}\": {e}",
            dir.display()
        ))
    })?;
    let mut models = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if validate_model_name(&name).is_err() {
            continue;
        }
        let config_path = entry.path().join(CONFIG_FILE);
        if !config_path.is_file() {
            continue;
        }
        if let Ok(config) = ModelConfig::from_file(&config_path) {
            models.push(ModelInfo { name, config });
        }
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// Resolves `name` to its directory and reads its configuration, with the errors `OnnxModel::load` reports:
/// invalid name, missing directory (listing the available ones), unreadable `embedrank.json`.
pub fn resolve_model(models_dir: &Path, name: &str) -> Result<(PathBuf, ModelConfig), InferError> {
    validate_model_name(name)?;
    if !models_dir.is_dir() {
        return Err(InferError::Runtime(format!(
            "models directory \"{}\" does not exist or is not a directory",
            models_dir.display()
        )));
    }
    let dir = models_dir.join(name);
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.is_file() {
        let available = list_models(models_dir)
            .map(|models| models.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
        return Err(InferError::ModelNotFound {
            name: name.to_string(),
            available,
        });
    }
    let config =
        ModelConfig::from_file(&config_path).map_err(|detail| InferError::BadModelFiles {
            model: name.to_string(),
            detail,
        })?;
    for file in [MODEL_FILE, TOKENIZER_FILE] {
        if !dir.join(file).is_file() {
            return Err(InferError::BadModelFiles {
                model: name.to_string(),
                detail: format!("{file} is missing from \"{}\"", dir.display()),
            });
        }
    }
    Ok((dir, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_validation() {
        for good in ["bge-small-en-v1.5", "a", "A_b-9.x", &"x".repeat(64)] {
            assert!(validate_model_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../etc",
            "..",
            ".hidden",
            "a/b",
            "/abs",
            "a b",
            "é",
            "a\0b",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(
                    validate_model_name(bad),
                    Err(InferError::InvalidModelName(_))
                ),
                "{bad:?}"
            );
        }
    }
}
