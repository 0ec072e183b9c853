//! Postgres-free inference for pg_embedrank.
//!
//! This crate turns text into embedding vectors and (query, passage) pairs into cross-encoder relevance logits
//! using ONNX Runtime (loaded dynamically through `ort`) and Hugging Face `tokenizers`. It knows nothing about
//! Postgres; the extension's SQL layer calls the API re-exported here.
//!
//! Design, one concern per module:
//! - [`error`]: the single error type, [`InferError`].
//! - [`config`]: `embedrank.json` parsing ([`ModelConfig`], [`Role`], [`Pooling`]).
//! - [`registry`]: model-name validation and discovery of model directories ([`list_models`]).
//! - [`signals`]: a guard that blocks every signal in the calling thread, so that threads spawned meanwhile
//!   (ORT intra-op pools, the rayon tokenization pool) inherit a fully blocked mask and never receive signals
//!   meant for the host process (a Postgres backend).
//! - [`runtime`]: the once-per-process ONNX Runtime initialisation ([`init_runtime`]).
//! - [`workers`]: the small, signal-blocked rayon pool used for tokenization.
//! - [`tokenize`]: tokenizer loading (baked-in padding removed, truncation set) and parallel encoding.
//! - [`batching`]: length-sorted, dynamically padded batches and their input tensors.
//! - [`graph`]: reads a model's operator types, to detect dynamically quantized graphs whose results would
//!   depend on batch composition (those run one sequence per batch unless configured otherwise).
//! - [`pooling`]: CLS / mean pooling and L2 normalisation.
//! - [`lanes`]: runs a model's batches on several single-threaded sessions at once (`threads` > 1 for models
//!   that run one sequence per call).
//! - [`model`]: [`OnnxModel`], which ties a session, a tokenizer and a config together and implements
//!   [`Embedder`] / [`Reranker`].
//! - [`traits`]: the [`Embedder`] / [`Reranker`] traits the SQL layer programs against, [`InputType`], [`sigmoid`].
//!
//! Threading contract: the [`Cancel`] passed to [`Embedder::embed_batch`] and [`Reranker::score`] is only ever
//! asked on the calling thread: [`Cancel::pending`] also while lanes run, [`Cancel::check`] (which may unwind
//! or exit the process) only when no thread of this crate is inside ONNX Runtime. Worker threads (rayon,
//! lanes, ORT) run pure Rust / ORT code only.
//!
//! Inputs longer than a model's `max_length` (in tokens, special tokens included) are truncated; for reranker
//! pairs the longest of the two sequences is truncated first.

pub mod batching;
pub mod budget;
pub mod chunk;
pub mod config;
pub mod error;
pub mod graph;
pub mod lanes;
pub mod model;
pub mod pooling;
pub mod registry;
pub mod runtime;
pub mod signals;
pub mod tokenize;
pub mod traits;
pub mod workers;

pub use budget::Budget;
pub use config::{ModelConfig, ModelInfo, Pooling, Role};
pub use error::InferError;
pub use model::OnnxModel;
pub use registry::{list_models, validate_model_name};
pub use runtime::{init_runtime, runtime_path};
pub use traits::{sigmoid, Cancel, Embedder, InputType, Reranker};
