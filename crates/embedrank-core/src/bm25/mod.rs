//! BM25 ranking without a server: the scoring formula, posting lists in blocks with per-block
//! score bounds, and a block-max WAND top-k search behind a small cursor seam, so that a LIMIT 10
//! query scores a few thousand documents instead of every one that matches.
//!
//! Design:
//! * [`Bm25`] is the formula, as Lucene (and so Anserini) computes it since Lucene 8:
//!   `idf · tf / (tf + k1 · (1 − b + b · dl / avgdl))` with `idf = ln(1 + (N − df + 0.5) / (df + 0.5))`,
//!   defaults k1 0.9, b 0.4 (Anserini's). Document lengths are exact (Lucene rounds them to one byte).
//! * [`postings`]: a term's postings (document id ascending, term frequency) in blocks of
//!   [`postings::BLOCK`], each block keeping its last document, its largest tf and its shortest
//!   document. From those two, any tf in the block scores at most what the largest tf scores in
//!   the shortest document: the block's bound, computed per query (it depends on N and avgdl).
//! * [`Cursor`] is everything the search needs of one term's postings — position, advance, the
//!   current block's bound and end. The in-memory [`postings::PostingList`] implements it; the
//!   extension implements it over index pages, so the search it runs is exactly the code tested
//!   here.
//! * [`wand`]: block-max WAND (Ding & Suel, SIGIR 2011): documents are visited in id order across
//!   the query's cursors; a document is scored only when the bounds of the terms that could reach it
//!   beat the current k-th best score, first with whole-list bounds (WAND's pivot), then with the
//!   pivot blocks' bounds, which skips whole blocks. The results are exactly the exhaustive top k
//!   ([`exhaustive`], the test oracle): ties go to the smaller document id.

pub mod postings;
pub mod wand;

pub use postings::{PostingList, PostingsBuilder};
pub use wand::{exhaustive, top_k, top_k_after, Scored};

/// BM25 parameters and corpus statistics: what turns (tf, document length, df) into a score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bm25 {
    pub k1: f32,
    pub b: f32,
    /// Documents in the corpus.
    pub docs: u64,
    /// Mean document length in tokens.
    pub avgdl: f32,
}

/// Anserini's (and Lucene's usual) defaults.
pub const DEFAULT_K1: f32 = 0.9;
pub const DEFAULT_B: f32 = 0.4;

impl Bm25 {
    /// The formula for a corpus of `docs` documents holding `total_len` tokens in all.
    pub fn new(k1: f32, b: f32, docs: u64, total_len: u64) -> Bm25 {
        let avgdl = if docs == 0 {
            1.0
        } else {
            (total_len as f64 / docs as f64).max(1e-9) as f32
        };
        Bm25 { k1, b, docs, avgdl }
    }

    /// Inverse document frequency of a term in `df` documents (never negative).
    pub fn idf(&self, df: u64) -> f32 {
        let (n, df) = (self.docs as f64, df as f64);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32
    }

    /// The score a term with inverse document frequency `idf` adds for `tf` occurrences in a
    /// document of `dl` tokens.
    #[inline]
    pub fn term_score(&self, idf: f32, tf: u32, dl: u32) -> f32 {
        let tf = tf as f32;
        let norm = self.k1 * (1.0 - self.b + self.b * dl as f32 / self.avgdl);
        idf * tf / (tf + norm)
    }
}

/// One query term's postings as the search walks them. Documents come in ascending id order;
/// [`Cursor::END`] marks the end. Blocks are runs of consecutive postings with one score bound.
pub trait Cursor {
    const END: u32 = u32::MAX;
    /// The current document ([`Cursor::END`] when exhausted).
    fn doc(&self) -> u32;
    /// The current document's term frequency and length.
    fn tf_dl(&self) -> (u32, u32);
    /// Moves to the first document ≥ `target` (no move if already there).
    fn seek(&mut self, target: u32);
    /// Moves to the next document.
    fn next(&mut self) {
        let d = self.doc();
        if d != Self::END {
            self.seek(d + 1);
        }
    }
    /// The last document of the block holding the first document ≥ `target` — seeking only
    /// within the block index, not the postings — and that block's largest term score.
    fn block_at(&mut self, target: u32) -> (u32, f32);
    /// The largest term score of any posting (the whole list's bound).
    fn max_score(&self) -> f32;
    /// The term's weight in the query (its idf times how often the query repeats it).
    fn weight(&self) -> f32;
    /// This term's score for the current document.
    fn score(&self, bm25: &Bm25) -> f32 {
        let (tf, dl) = self.tf_dl();
        bm25.term_score(self.weight(), tf, dl)
    }
}

#[cfg(test)]
mod tests;
