//! `chunks(document, size, overlap, model) → (chunk, content)`: a long document cut into pieces the
//! embedding model reads whole (see `embedrank_infer::chunk` for where cuts fall). `register(…,
//! chunk_tokens => …)` stores a table's documents this way, one embedding per chunk.

use super::cache;
use super::errors::OrRaise;
use super::settings;
use super::sql::Interrupts;
use crate::errors::{raise, Code};
use pgrx::prelude::*;

/// The chunks of `document`, in order, numbered from 1. `size` and `overlap` count tokens of the
/// embedding model's tokenizer (`model`, else `embedrank.embedding_model`); `size` can be at most
/// what the model reads besides its special tokens and document prefix (510 for bge-small).
#[pg_extern(stable, parallel_safe, cost = 1000)]
pub fn chunks(
    document: Option<&str>,
    size: default!(i32, 256),
    overlap: default!(i32, 32),
    model: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(chunk, i32), name!(content, String))> {
    let name = model
        .map(str::to_string)
        .unwrap_or_else(settings::default_embedding_model);
    let m = cache::get(&name);
    m.as_embedder().or_raise();
    let most = m.max_chunk_tokens().or_raise();
    if size < 1 || size as usize > most {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("chunk size {size} is not between 1 and {most}, the tokens model \"{name}\" reads"),
            Some("Chunks longer than the model's max_length would be cut off; 128 to 512 tokens is usual."),
        );
    }
    if overlap < 0 || overlap >= size {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "chunk overlap {overlap} must be at least 0 and less than the chunk size {size}"
            ),
            None,
        );
    }
    let Some(text) = document else {
        return TableIterator::new(Vec::new());
    };
    let mut spans = m
        .chunk(text, size as usize, overlap as usize, &Interrupts)
        .or_raise();
    // Text the tokenizer reads as nothing (control characters, say) is still one chunk, so every
    // document with a character other than ASCII white space has one (backfill() relies on it,
    // with the same definition: has_content()).
    let trimmed = text.trim_matches([' ', '\t', '\n', '\x0B', '\x0C', '\r']);
    if spans.is_empty() && !trimmed.is_empty() {
        let start = trimmed.as_ptr() as usize - text.as_ptr() as usize;
        spans.push(start..start + trimmed.len());
    }
    TableIterator::new(
        spans
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as i32 + 1, text[r].to_string()))
            .collect::<Vec<_>>(),
    )
}
