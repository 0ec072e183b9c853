//! [`OnnxModel`]: one loaded model (ORT session + tokenizer + config) and its inference paths.
//!
//! Loading validates the name, reads `embedrank.json`, loads the tokenizer (padding removed, truncation at
//! `max_length`) and creates the ORT session with `threads` intra-op threads, one inter-op thread, sequential
//! execution, graph optimisation level 3 and no spinning (idle ORT threads must not burn a database server's
//! CPU). Session creation runs with all signals blocked so ORT's threads inherit a blocked mask. The session's
//! declared inputs are checked up front: only `input_ids`, `attention_mask` and `token_type_ids` (int64) are
//! known, and only the declared ones are fed.
//!
//! Inference (both roles): tokenize in parallel → sort by length → run batches padded to their longest member
//! (see [`crate::batching`]) → scatter results back to input order. Dynamically quantized graphs run one
//! sequence per batch unless `max_batch` says otherwise (see [`crate::graph`] for why). `cancel` is checked on the calling
//! thread before every batch, and only then (see [`Cancel`]). ORT's `run` needs `&mut Session`, so each session sits behind a mutex, never contended:
//! a model that runs one sequence per call and was loaded with N > 1 threads has N sessions of one intra-op
//! thread ("lanes", see [`crate::lanes`]) used by one lane thread each; otherwise one session with N intra-op
//! threads.
//!
//! Embeddings: output `last_hidden_state` (or the first output) `[batch, seq, dims]` is pooled (CLS or masked
//! mean) and L2-normalised if configured; a `[batch, dims]` output is taken as already pooled. Reranking: output
//! `logits` (or the first output) `[batch, 1]` or `[batch]` gives one raw logit per pair.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ndarray::{Array2, Ix2, Ix3};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{TensorElementType, TensorRef};

use crate::batching::{build_inputs, plan_batches, BatchInputs, MAX_BATCH_SEQS, MAX_BATCH_TOKENS};
use crate::config::{ModelConfig, ModelInfo, Role};
use crate::error::InferError;
use crate::pooling::{l2_normalize, pool};
use crate::registry::{resolve_model, MODEL_FILE, TOKENIZER_FILE};
use crate::signals::with_signals_blocked;
use crate::tokenize::{Encoded, TextTokenizer};
use crate::traits::{Cancel, Embedder, InputType, Reranker};

const INPUT_IDS: &str = "input_ids";
const ATTENTION_MASK: &str = "attention_mask";
const TOKEN_TYPE_IDS: &str = "token_type_ids";

/// Which of the known inputs the graph declares.
#[derive(Clone, Copy, Debug)]
struct DeclaredInputs {
    attention_mask: bool,
    token_type_ids: bool,
}

/// One loaded model.
pub struct OnnxModel {
    info: ModelInfo,
    /// One session per lane (see the module comment).
    sessions: Vec<Mutex<Session>>,
    tokenizer: TextTokenizer,
    inputs: DeclaredInputs,
    output_name: String,
    /// Vector length for embedding models (0 for rerankers).
    dims: usize,
    /// Most sequences per ORT run (see [`OnnxModel::with_max_batch`]).
    max_batch_seqs: usize,
    load_time: Duration,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("info", &self.info)
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

impl OnnxModel {
    /// Loads `models_dir/<name>` for `threads` inference threads (0 is treated as 1): that many lanes for a
    /// model that runs one sequence per call, else one session with that many intra-op threads.
    pub fn load(models_dir: &Path, name: &str, threads: usize) -> Result<OnnxModel, InferError> {
        let started = Instant::now();
        let (dir, config) = resolve_model(models_dir, name)?;
        let bad = |detail: String| InferError::BadModelFiles {
            model: name.to_string(),
            detail,
        };
        let environment = crate::runtime::environment()?;

        let tokenizer =
            TextTokenizer::from_file(&dir.join(TOKENIZER_FILE), config.max_length).map_err(bad)?;

        let model_path = dir.join(MODEL_FILE);
        let max_batch_seqs = config
            .max_batch
            .unwrap_or_else(|| default_max_batch(&model_path));
        let threads = threads.max(1);
        let (lanes, intra) = if max_batch_seqs == 1 {
            (threads, 1)
        } else {
            (1, threads)
        };
        // Lanes' sessions load side by side (each takes ~0.3 s for these models), on threads started
        // with signals blocked like every other thread here.
        let sessions = with_signals_blocked(|| {
            std::thread::scope(|scope| {
                let loading: Vec<_> = (0..lanes)
                    .map(|_| scope.spawn(|| build_session(environment, &model_path, intra)))
                    .collect();
                loading
                    .into_iter()
                    .map(|h| h.join().expect("session loading thread panicked"))
                    .collect::<ort::Result<Vec<Session>>>()
            })
        })
        .map_err(|e| bad(format!("cannot load {MODEL_FILE}: {e}")))?;
        let inputs = check_inputs(&sessions[0]).map_err(bad)?;
        let output_name = pick_output(&sessions[0], &config).map_err(bad)?;
        let mut model = OnnxModel {
            info: ModelInfo {
                name: name.to_string(),
                config,
            },
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            tokenizer,
            inputs,
            output_name,
            dims: 0,
            max_batch_seqs,
            load_time: Duration::ZERO,
        };
        if model.info.config.role == Role::Embedding {
            model.dims = model.discover_dims()?;
        }
        model.load_time = started.elapsed();
        Ok(model)
    }

    /// Overrides the sequences per ORT run (clamped to 1..=[`MAX_BATCH_SEQS`]). Values above 1 make results
    /// of dynamically quantized models depend slightly on which inputs share a batch.
    pub fn with_max_batch(mut self, seqs: usize) -> OnnxModel {
        self.max_batch_seqs = seqs.clamp(1, MAX_BATCH_SEQS);
        self
    }

    /// Sequences per ORT run: `max_batch` from the config, else 1 for dynamically quantized graphs, else
    /// [`MAX_BATCH_SEQS`].
    pub fn max_batch(&self) -> usize {
        self.max_batch_seqs
    }

    /// The model's name and configuration.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// How long [`OnnxModel::load`] took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The most tokens of document text one chunk may have: what the model reads besides its special
    /// tokens and document prefix.
    pub fn max_chunk_tokens(&self) -> Result<usize, InferError> {
        let prefix = self.info.config.prefix(crate::traits::InputType::Document);
        let overhead = self.tokenizer.overhead(prefix)?;
        Ok(self.info.config.max_length.saturating_sub(overhead))
    }

    /// `text` cut into chunks of at most `size` tokens overlapping by `overlap` ([`crate::chunk`]):
    /// their byte ranges. The caller checks `0 < size <= max_chunk_tokens()` and `overlap < size`.
    pub fn chunk(
        &self,
        text: &str,
        size: usize,
        overlap: usize,
        cancel: &dyn crate::traits::Cancel,
    ) -> Result<Vec<std::ops::Range<usize>>, InferError> {
        let offsets = self.tokenizer.token_offsets(text, cancel)?;
        Ok(crate::chunk::chunk_spans(text, &offsets, size, overlap))
    }

    /// This model as an embedder, or `WrongRole` if it is a reranker.
    pub fn as_embedder(&self) -> Result<&dyn Embedder, InferError> {
        self.require_role(Role::Embedding)?;
        Ok(self)
    }

    /// This model as a reranker, or `WrongRole` if it is an embedding model.
    pub fn as_reranker(&self) -> Result<&dyn Reranker, InferError> {
        self.require_role(Role::Reranker)?;
        Ok(self)
    }

    fn config(&self) -> &ModelConfig {
        &self.info.config
    }

    fn require_role(&self, expected: Role) -> Result<(), InferError> {
        let actual = self.config().role;
        if actual == expected {
            Ok(())
        } else {
            Err(InferError::WrongRole {
                model: self.info.name.clone(),
                expected,
                actual,
            })
        }
    }

    /// The vector length: `dims` from the config, checked against the graph's static output shape, or found
    /// by embedding an empty string when neither says.
    fn discover_dims(&self) -> Result<usize, InferError> {
        let bad = |detail: String| InferError::BadModelFiles {
            model: self.info.name.clone(),
            detail,
        };
        let session = self.sessions[0].lock().unwrap_or_else(|p| p.into_inner());
        let static_dims = session
            .outputs()
            .iter()
            .find(|o| o.name() == self.output_name)
            .and_then(|o| o.dtype().tensor_shape().and_then(|s| s.last().copied()))
            .filter(|&d| d > 0)
            .map(|d| d as usize);
        drop(session);
        match (self.config().dims, static_dims) {
            (Some(c), Some(s)) if c != s => Err(bad(format!(
                "embedrank.json says dims {c} but the model outputs vectors of {s}"
            ))),
            (Some(c), _) => Ok(c),
            (None, Some(s)) => Ok(s),
            (None, None) => {
                let probe = self.embed_unchecked(&[""], InputType::Document, &|| false)?;
                Ok(probe[0].len())
            }
        }
    }

    /// Runs session `lane` on one padded batch, returning the selected output as an owned array.
    fn run_batch(
        &self,
        lane: usize,
        inputs: &BatchInputs,
    ) -> Result<ndarray::ArrayD<f32>, InferError> {
        let err =
            |e: ort::Error| InferError::Inference(format!("model \"{}\": {e}", self.info.name));
        let mut feed: Vec<(Cow<'static, str>, SessionInputValue<'_>)> = vec![(
            INPUT_IDS.into(),
            TensorRef::from_array_view(&inputs.input_ids)
                .map_err(err)?
                .into(),
        )];
        if self.inputs.attention_mask {
            feed.push((
                ATTENTION_MASK.into(),
                TensorRef::from_array_view(&inputs.attention_mask)
                    .map_err(err)?
                    .into(),
            ));
        }
        if self.inputs.token_type_ids {
            feed.push((
                TOKEN_TYPE_IDS.into(),
                TensorRef::from_array_view(&inputs.token_type_ids)
                    .map_err(err)?
                    .into(),
            ));
        }
        let mut session = self.sessions[lane]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(feed).map_err(err)?;
        let value = outputs.get(&self.output_name).ok_or_else(|| {
            InferError::Inference(format!(
                "model \"{}\" produced no output \"{}\"",
                self.info.name, self.output_name
            ))
        })?;
        Ok(value.try_extract_array::<f32>().map_err(err)?.to_owned())
    }

    /// Tokenized inputs → one result row per input, in input order, via length-sorted batches (on all
    /// lanes at once when there are several).
    fn run_all<T: Send>(
        &self,
        encoded: &[Encoded],
        cancel: &dyn Cancel,
        per_batch: impl Fn(ndarray::ArrayD<f32>, &Array2<i64>) -> Result<Vec<T>, InferError> + Sync,
    ) -> Result<Vec<T>, InferError> {
        let lengths: Vec<usize> = encoded.iter().map(Encoded::len).collect();
        let batches = plan_batches(&lengths, self.max_batch_seqs, MAX_BATCH_TOKENS);
        let run = |lane: usize, b: usize| -> Result<Vec<T>, InferError> {
            let inputs = build_inputs(encoded, &batches[b], self.tokenizer.pad_id());
            let rows = per_batch(self.run_batch(lane, &inputs)?, &inputs.attention_mask)?;
            if rows.len() != batches[b].indices.len() {
                return Err(InferError::Inference(format!(
                    "model \"{}\" returned {} rows for a batch of {}",
                    self.info.name,
                    rows.len(),
                    batches[b].indices.len()
                )));
            }
            Ok(rows)
        };
        let outputs = if self.sessions.len() > 1 && batches.len() > 1 {
            crate::lanes::run_lanes(self.sessions.len(), batches.len(), cancel, &run)?
        } else {
            let mut out = Vec::with_capacity(batches.len());
            for b in 0..batches.len() {
                if cancel.check() {
                    return Err(InferError::Cancelled);
                }
                out.push(run(0, b)?);
            }
            out
        };
        let mut results: Vec<Option<T>> = (0..encoded.len()).map(|_| None).collect();
        for (rows, batch) in outputs.into_iter().zip(&batches) {
            for (row, &i) in rows.into_iter().zip(&batch.indices) {
                results[i] = Some(row);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every input belongs to exactly one batch"))
            .collect())
    }

    /// Embedding without the dims check (also used to discover dims).
    fn embed_unchecked(
        &self,
        texts: &[&str],
        input_type: InputType,
        cancel: &dyn Cancel,
    ) -> Result<Vec<Vec<f32>>, InferError> {
        let config = self.config();
        let encoded = self
            .tokenizer
            .encode_texts(config.prefix(input_type), texts, cancel)?;
        self.run_all(&encoded, cancel, |output, mask| {
            let mut vectors = match output.ndim() {
                3 => pool(
                    output
                        .view()
                        .into_dimensionality::<Ix3>()
                        .expect("ndim is 3"),
                    mask.view(),
                    config.pooling,
                ),
                2 => output
                    .into_dimensionality::<Ix2>()
                    .expect("ndim is 2")
                    .outer_iter()
                    .map(|r| r.to_vec())
                    .collect(),
                n => {
                    return Err(InferError::Inference(format!(
                        "model \"{}\" output \"{}\" has rank {n}, expected 2 or 3",
                        self.info.name, self.output_name
                    )))
                }
            };
            if config.normalize {
                vectors.iter_mut().for_each(|v| l2_normalize(v));
            }
            Ok(vectors)
        })
    }
}

impl Embedder for OnnxModel {
    fn dims(&self) -> usize {
        self.dims
    }

    fn embed_batch(
        &self,
        texts: &[&str],
        input_type: InputType,
        cancel: &dyn Cancel,
    ) -> Result<Vec<Vec<f32>>, InferError> {
        self.require_role(Role::Embedding)?;
        let vectors = self.embed_unchecked(texts, input_type, cancel)?;
        if let Some(v) = vectors.iter().find(|v| v.len() != self.dims) {
            return Err(InferError::Inference(format!(
                "model \"{}\" returned a vector of {} dimensions, expected {}",
                self.info.name,
                v.len(),
                self.dims
            )));
        }
        Ok(vectors)
    }
}

impl Reranker for OnnxModel {
    fn score(
        &self,
        query: &str,
        docs: &[&str],
        cancel: &dyn Cancel,
    ) -> Result<Vec<f32>, InferError> {
        self.require_role(Role::Reranker)?;
        let config = self.config();
        let query: Cow<'_, str> = if config.query_prefix.is_empty() {
            Cow::Borrowed(query)
        } else {
            Cow::Owned(format!("{}{query}", config.query_prefix))
        };
        let encoded = self
            .tokenizer
            .encode_pairs(&query, docs, &config.document_prefix, cancel)?;
        self.run_all(&encoded, cancel, |output, _mask| {
            let rows = output.shape().first().copied().unwrap_or(0);
            let per_row = output.len().checked_div(rows).unwrap_or(0);
            if output.ndim() == 0 || output.ndim() > 2 || per_row != 1 {
                return Err(InferError::Inference(format!(
                    "model \"{}\" output \"{}\" has shape {:?}, expected [batch, 1]",
                    self.info.name,
                    self.output_name,
                    output.shape()
                )));
            }
            // Row-major: the first logit of each row.
            Ok(output.iter().step_by(per_row).copied().collect())
        })
    }
}

/// Creates the session: `threads` intra-op threads (at least 1), 1 inter-op thread, sequential execution,
/// optimisation level 3, no spinning. Call with signals blocked: ORT spawns its pool here.
fn build_session(
    environment: &ort::environment::Environment,
    model_path: &Path,
    threads: usize,
) -> ort::Result<Session> {
    Session::builder(environment)?
        .with_intra_threads(threads.max(1))?
        .with_inter_threads(1)?
        .with_parallel_execution(false)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_op_spinning(false)?
        .with_inter_op_spinning(false)?
        .commit_from_file(model_path)
}

/// Batch cap when the config sets none: 1 if the graph quantizes activations dynamically (or cannot be
/// inspected), so results never depend on batch composition; [`MAX_BATCH_SEQS`] otherwise.
fn default_max_batch(model_path: &Path) -> usize {
    let dynamic = std::fs::read(model_path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| crate::graph::uses_dynamic_quantization(&bytes));
    match dynamic {
        Ok(false) => MAX_BATCH_SEQS,
        Ok(true) | Err(_) => 1,
    }
}

/// Checks the graph's inputs: `input_ids` required, the other known ones optional, all int64, no unknown ones.
fn check_inputs(session: &Session) -> Result<DeclaredInputs, String> {
    let mut declared = DeclaredInputs {
        attention_mask: false,
        token_type_ids: false,
    };
    let mut has_ids = false;
    for input in session.inputs() {
        match input.name() {
            INPUT_IDS => has_ids = true,
            ATTENTION_MASK => declared.attention_mask = true,
            TOKEN_TYPE_IDS => declared.token_type_ids = true,
            other => {
                return Err(format!(
                    "{MODEL_FILE} declares an unsupported input \"{other}\" (supported: {INPUT_IDS}, {ATTENTION_MASK}, \
                     {TOKEN_TYPE_IDS})"
                ))
            }
        }
        if input.dtype().tensor_type() != Some(TensorElementType::Int64) {
            return Err(format!(
                "{MODEL_FILE} input \"{}\" is {}, expected an int64 tensor",
                input.name(),
                input.dtype()
            ));
        }
    }
    if !has_ids {
        return Err(format!("{MODEL_FILE} has no \"{INPUT_IDS}\" input"));
    }
    Ok(declared)
}

/// Picks the output to read: `last_hidden_state` (embedding) or `logits` (reranker) if present, else the
/// first output; it must be a float tensor.
fn pick_output(session: &Session, config: &ModelConfig) -> Result<String, String> {
    let preferred = match config.role {
        Role::Embedding => "last_hidden_state",
        Role::Reranker => "logits",
    };
    let outputs = session.outputs();
    let output = outputs
        .iter()
        .find(|o| o.name() == preferred)
        .or_else(|| outputs.first())
        .ok_or_else(|| format!("{MODEL_FILE} has no outputs"))?;
    if output.dtype().tensor_type() != Some(TensorElementType::Float32) {
        return Err(format!(
            "{MODEL_FILE} output \"{}\" is {}, expected a float32 tensor",
            output.name(),
            output.dtype()
        ));
    }
    Ok(output.name().to_string())
}
