//! Tokenizer loading and parallel encoding.
//!
//! The `tokenizer.json` files shipped with some models bake in fixed padding (to 128 or 512) and their own
//! truncation. Loading removes the padding (batches are padded dynamically, see [`crate::batching`]) and sets
//! truncation to the model's `max_length` (special tokens included), longest-first for pairs, stride 0 — the same
//! as Python `tokenizers` with `no_padding()` and `enable_truncation(max_length)`.
//!
//! Encoding runs on the signal-blocked pool of [`crate::workers`], in chunks of [`CHUNK`] inputs; the caller's
//! cancel callback is consulted between chunks, on the calling thread. Each result is reduced at once to a
//! compact [`Encoded`] (ids and type ids as `i64`), dropping offsets and overflow pieces.

use std::path::Path;

use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::InferError;
use crate::traits::Cancel;

/// Inputs tokenized between two cancel checks.
pub const CHUNK: usize = 512;
/// Bytes of one document tokenized between two cancel checks ([`TextTokenizer::token_offsets`]).
pub const SEGMENT_BYTES: usize = 1 << 16;

/// Where the segment of `text` starting at `at` ends: after the last white space before
/// `at + SEGMENT_BYTES` (the text's end if that is nearer; the limit itself if there is none).
fn segment_end(text: &str, at: usize) -> usize {
    let limit = at + SEGMENT_BYTES;
    if limit >= text.len() {
        return text.len();
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match text[at..cut].rfind(char::is_whitespace) {
        Some(i) if i > 0 => at + i + text[at + i..].chars().next().map_or(1, char::len_utf8),
        _ => cut,
    }
}

/// One tokenized input, without padding (its attention mask is all ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<i64>,
    pub type_ids: Vec<i64>,
}

impl Encoded {
    /// Number of tokens, special tokens included.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no tokens at all (never the case with special tokens added).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A configured tokenizer plus the id used for padding.
pub struct TextTokenizer {
    inner: Tokenizer,
    /// The same tokenizer without truncation, for chunking whole documents (made on first use).
    whole: std::sync::OnceLock<Tokenizer>,
    pad_id: i64,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, removes its padding and truncates at `max_length` tokens.
    pub fn from_file(path: &Path, max_length: usize) -> Result<TextTokenizer, String> {
        let mut inner = Tokenizer::from_file(path)
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        // Keep the pad id the file declares (the value is masked out anyway), else [PAD], else 0.
        let pad_id = inner
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| inner.token_to_id("[PAD]"))
            .unwrap_or(0);
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| format!("cannot set truncation on {}: {e}", path.display()))?;
        Ok(TextTokenizer {
            inner,
            whole: std::sync::OnceLock::new(),
            pad_id: i64::from(pad_id),
        })
    }

    /// The byte offsets in `text` of its tokens, all of them (no truncation), special tokens left
    /// out: what [`crate::chunk::chunk_spans`] cuts by. A long text is tokenized in segments of
    /// about [`SEGMENT_BYTES`] cut at white space (where these tokenizers split anyway), with
    /// `cancel` consulted between them, on the calling thread.
    pub fn token_offsets(
        &self,
        text: &str,
        cancel: &dyn Cancel,
    ) -> Result<Vec<(usize, usize)>, InferError> {
        let whole = self.whole.get_or_init(|| {
            let mut t = self.inner.clone();
            t.with_truncation(None)
                .expect("removing truncation cannot fail");
            t
        });
        let mut out = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let end = segment_end(text, at);
            let encoding = whole
                .encode(&text[at..end], false)
                .map_err(|e| InferError::Inference(format!("tokenization failed: {e}")))?;
            out.extend(
                encoding
                    .get_offsets()
                    .iter()
                    .filter(|&&(s, e)| e > s)
                    .map(|&(s, e)| (at + s, at + e)),
            );
            at = end;
            if at < text.len() && cancel.pending() && cancel.check() {
                return Err(InferError::Cancelled);
            }
        }
        Ok(out)
    }

    /// Tokens `prefix` and the special tokens add to a single text.
    pub fn overhead(&self, prefix: &str) -> Result<usize, InferError> {
        Ok(self.encode_one(prefix)?.len())
    }

    /// The token id used to fill padded positions.
    pub fn pad_id(&self) -> i64 {
        self.pad_id
    }

    /// Encodes single texts, each as `prefix + text`, with special tokens.
    pub fn encode_texts(
        &self,
        prefix: &str,
        texts: &[&str],
        cancel: &dyn Cancel,
    ) -> Result<Vec<Encoded>, InferError> {
        self.encode_chunked(texts, cancel, |text| {
            if prefix.is_empty() {
                self.encode_one(*text)
            } else {
                self.encode_one(format!("{prefix}{text}").as_str())
            }
        })
    }

    /// Encodes `(query, doc)` pairs as `[CLS] query [SEP] doc [SEP]` with segment ids 0 / 1.
    pub fn encode_pairs(
        &self,
        query: &str,
        docs: &[&str],
        doc_prefix: &str,
        cancel: &dyn Cancel,
    ) -> Result<Vec<Encoded>, InferError> {
        self.encode_chunked(docs, cancel, |doc| {
            if doc_prefix.is_empty() {
                self.encode_one((query, *doc))
            } else {
                self.encode_one((query, format!("{doc_prefix}{doc}").as_str()))
            }
        })
    }

    /// Encodes one input (single text or pair) and keeps only what the model needs.
    fn encode_one<'s>(
        &self,
        input: impl Into<tokenizers::EncodeInput<'s>>,
    ) -> Result<Encoded, InferError> {
        let encoding = self
            .inner
            .encode_fast(input, true)
            .map_err(|e| InferError::Inference(format!("tokenization failed: {e}")))?;
        Ok(Encoded {
            ids: encoding.get_ids().iter().map(|&id| i64::from(id)).collect(),
            type_ids: encoding
                .get_type_ids()
                .iter()
                .map(|&id| i64::from(id))
                .collect(),
        })
    }

    /// Maps `encode` over `items` on the worker pool, [`CHUNK`] at a time, checking `cancel` between chunks on
    /// the calling thread.
    fn encode_chunked<T: Sync>(
        &self,
        items: &[T],
        cancel: &dyn Cancel,
        encode: impl Fn(&T) -> Result<Encoded, InferError> + Sync,
    ) -> Result<Vec<Encoded>, InferError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, chunk) in items.chunks(CHUNK).enumerate() {
            if i > 0 && cancel.check() {
                return Err(InferError::Cancelled);
            }
            let encoded = crate::workers::run(|| {
                chunk.par_iter().map(&encode).collect::<Result<Vec<_>, _>>()
            })??;
            out.extend(encoded);
        }
        Ok(out)
    }
}
