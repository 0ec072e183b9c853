//! A term's postings in memory, in blocks with score bounds, and a builder from documents.
//!
//! Layout: three parallel vectors (document id ascending, term frequency, document length: the
//! length rides with each posting so scoring needs no second lookup, as on index pages) and one
//! [`BlockMeta`] per [`BLOCK`] postings.

use super::{Bm25, Cursor};
use std::collections::HashMap;

/// Postings per block.
pub const BLOCK: usize = 128;

/// What a block keeps to bound its scores: any posting in it scores at most what `max_tf` scores
/// in a document of `min_dl` tokens (the score grows with tf and falls with length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    pub last_doc: u32,
    pub max_tf: u32,
    pub min_dl: u32,
}

/// One term's postings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostingList {
    pub docs: Vec<u32>,
    pub tfs: Vec<u32>,
    pub dls: Vec<u32>,
    pub blocks: Vec<BlockMeta>,
}

impl PostingList {
    /// Appends a posting (documents must come in ascending order).
    pub fn push(&mut self, doc: u32, tf: u32, dl: u32) {
        debug_assert!(self.docs.last().is_none_or(|&d| d < doc));
        if self.docs.len().is_multiple_of(BLOCK) {
            self.blocks.push(BlockMeta {
                last_doc: doc,
                max_tf: tf,
                min_dl: dl,
            });
        }
        let b = self.blocks.last_mut().expect("a block");
        b.last_doc = doc;
        b.max_tf = b.max_tf.max(tf);
        b.min_dl = b.min_dl.min(dl);
        self.docs.push(doc);
        self.tfs.push(tf);
        self.dls.push(dl);
    }

    /// Documents holding the term.
    pub fn df(&self) -> u64 {
        self.docs.len() as u64
    }

    /// A cursor for a query term of weight `weight` (idf × repeats), scored with `bm25`.
    pub fn cursor(&self, weight: f32, bm25: Bm25) -> PostingCursor<'_> {
        let max_tf_dl = self
            .blocks
            .iter()
            .map(|b| bm25.term_score(weight, b.max_tf, b.min_dl))
            .fold(0.0f32, f32::max);
        PostingCursor {
            list: self,
            pos: 0,
            block: 0,
            weight,
            bm25,
            max_score: max_tf_dl,
        }
    }
}

/// [`Cursor`] over a [`PostingList`].
pub struct PostingCursor<'a> {
    list: &'a PostingList,
    pos: usize,
    /// Block of `pos` (or the block `block_at` last looked at, never past `pos`'s).
    block: usize,
    weight: f32,
    bm25: Bm25,
    max_score: f32,
}

impl Cursor for PostingCursor<'_> {
    fn doc(&self) -> u32 {
        self.list.docs.get(self.pos).copied().unwrap_or(Self::END)
    }

    fn tf_dl(&self) -> (u32, u32) {
        (self.list.tfs[self.pos], self.list.dls[self.pos])
    }

    fn seek(&mut self, target: u32) {
        if self.doc() >= target {
            return;
        }
        // Skip whole blocks first, then search inside the block.
        let blocks = &self.list.blocks;
        let mut b = self.pos / BLOCK;
        while b < blocks.len() && blocks[b].last_doc < target {
            b += 1;
        }
        if b == blocks.len() {
            self.pos = self.list.docs.len();
            return;
        }
        let start = (b * BLOCK).max(self.pos);
        let end = ((b + 1) * BLOCK).min(self.list.docs.len());
        self.pos = start + self.list.docs[start..end].partition_point(|&d| d < target);
        self.block = self.pos / BLOCK;
    }

    fn block_at(&mut self, target: u32) -> (u32, f32) {
        let blocks = &self.list.blocks;
        let mut b = self.block.max(self.pos / BLOCK);
        while b < blocks.len() && blocks[b].last_doc < target {
            b += 1;
        }
        self.block = b;
        match blocks.get(b) {
            Some(m) => (
                m.last_doc,
                self.bm25.term_score(self.weight, m.max_tf, m.min_dl),
            ),
            None => (Self::END, 0.0),
        }
    }

    fn max_score(&self) -> f32 {
        self.max_score
    }

    fn weight(&self) -> f32 {
        self.weight
    }
}

/// Builds posting lists from documents given in ascending id order, each as its terms' frequencies
/// and its length.
#[derive(Default)]
pub struct PostingsBuilder {
    pub lists: HashMap<String, PostingList>,
    pub docs: u64,
    pub total_len: u64,
}

impl PostingsBuilder {
    /// Adds document `doc` of `dl` tokens holding `terms` (term, frequency).
    pub fn add<'t>(&mut self, doc: u32, terms: impl IntoIterator<Item = (&'t str, u32)>, dl: u32) {
        for (t, tf) in terms {
            self.lists
                .entry(t.to_string())
                .or_default()
                .push(doc, tf, dl);
        }
        self.docs += 1;
        self.total_len += u64::from(dl);
    }

    /// The formula for this corpus.
    pub fn bm25(&self, k1: f32, b: f32) -> Bm25 {
        Bm25::new(k1, b, self.docs, self.total_len)
    }
}
