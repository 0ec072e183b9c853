//! Top-k by BM25 over a query's cursors: block-max WAND, and the exhaustive oracle it must equal.
//!
//! Scores are summed in query-term order in both, so equal inputs give bit-equal scores; ties go
//! to the smaller document id. Pruning compares bounds with a relative slack of [`SLACK`], so float
//! rounding in a sum of bounds can never drop a document that scores exactly the threshold.

use super::{Bm25, Cursor};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A document and its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
}

/// Relative slack on bounds before pruning.
const SLACK: f32 = 1e-5;

/// Heap order: the better result is greater (higher score, then smaller id).
#[derive(Clone, Copy, PartialEq)]
struct Better(Scored);

impl Eq for Better {}
impl PartialOrd for Better {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Better {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .score
            .total_cmp(&other.0.score)
            .then(other.0.doc.cmp(&self.0.doc))
    }
}

/// The best `k` kept so far; the worst of them on top. With `after`, only documents ranked after it
/// (lower score, or equal score and larger id) are kept.
struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<Better>>,
    after: Option<Better>,
}

impl TopK {
    /// The score a document must reach to enter (−∞ until k are kept).
    fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |w| w.0 .0.score)
        }
    }

    fn offer(&mut self, s: Scored) {
        if self.after.is_some_and(|a| Better(s) >= a) {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Reverse(Better(s)));
        } else if self.heap.peek().is_some_and(|w| Better(s) > w.0) {
            self.heap.pop();
            self.heap.push(Reverse(Better(s)));
        }
    }

    fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0 .0).collect();
        v.sort_by_key(|s| Reverse(Better(*s)));
        v
    }
}

/// Whether a bound can no longer reach `threshold` (with slack for rounding).
#[inline]
fn below(bound: f32, threshold: f32) -> bool {
    bound * (1.0 + SLACK) + SLACK < threshold
}

/// What a search did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Documents whose score was computed.
    pub scored: usize,
}

/// The `k` best documents for the query whose terms' cursors are `cursors` (in query-term order),
/// best first: block-max WAND.
pub fn top_k<C: Cursor>(
    cursors: &mut [C],
    bm25: &Bm25,
    k: usize,
    stats: &mut Stats,
) -> Vec<Scored> {
    top_k_after(cursors, bm25, k, None, stats)
}

/// The `k` best documents ranked after `after` (a result of an earlier search with the same
/// cursors' lists and statistics; None: from the top): the next page of a ranking, in memory
/// bounded by `k` however many documents match.
pub fn top_k_after<C: Cursor>(
    cursors: &mut [C],
    bm25: &Bm25,
    k: usize,
    after: Option<Scored>,
    stats: &mut Stats,
) -> Vec<Scored> {
    let mut top = TopK {
        k,
        heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        after: after.map(Better),
    };
    if k == 0 {
        return Vec::new();
    }
    let end = C::END;
    // Cursor indexes by current document (sorted each round: queries have a handful of terms).
    let mut order: Vec<usize> = (0..cursors.len()).collect();
    loop {
        order.sort_by_key(|&i| cursors[i].doc());
        let theta = top.threshold();
        // The pivot: the first cursor at which the terms so far could beat the threshold.
        let mut acc = 0.0f32;
        let mut pivot = None;
        for (at, &i) in order.iter().enumerate() {
            if cursors[i].doc() == end {
                break;
            }
            acc += cursors[i].max_score();
            if !below(acc, theta) {
                pivot = Some(at);
                break;
            }
        }
        let Some(mut p) = pivot else { break };
        let pdoc = cursors[order[p]].doc();
        while p + 1 < order.len() && cursors[order[p + 1]].doc() == pdoc {
            p += 1;
        }
        // Block bounds of the terms up to the pivot at the pivot document.
        let (mut block_sum, mut block_end) = (0.0f32, end);
        for &i in &order[..=p] {
            let (last, bound) = cursors[i].block_at(pdoc);
            block_sum += bound;
            block_end = block_end.min(last);
        }
        if below(block_sum, theta) {
            // No document before the end of these blocks (nor before the next cursor's document)
            // can reach the threshold: move every cursor up to the pivot past them.
            let after = order.get(p + 1).map_or(end, |&i| cursors[i].doc());
            let next = block_end.saturating_add(1).min(after);
            for &i in &order[..=p] {
                cursors[i].seek(next);
            }
            continue;
        }
        if cursors[order[0]].doc() == pdoc {
            // Every term up to the pivot is at the pivot document: score it, in query-term order.
            let mut score = 0.0f32;
            for c in cursors.iter() {
                if c.doc() == pdoc {
                    score += c.score(bm25);
                }
            }
            stats.scored += 1;
            top.offer(Scored { doc: pdoc, score });
            for c in cursors.iter_mut() {
                if c.doc() == pdoc {
                    c.next();
                }
            }
        } else {
            // Terms before the pivot cannot make a document before it: bring them up to it.
            for &i in &order[..p] {
                if cursors[i].doc() < pdoc {
                    cursors[i].seek(pdoc);
                }
            }
        }
    }
    top.into_sorted()
}

/// The `k` best documents by scoring every document any cursor holds (the oracle `top_k` equals).
pub fn exhaustive<C: Cursor>(cursors: &mut [C], bm25: &Bm25, k: usize) -> Vec<Scored> {
    let mut top = TopK {
        k,
        heap: BinaryHeap::new(),
        after: None,
    };
    if k == 0 {
        return Vec::new();
    }
    loop {
        let doc = cursors.iter().map(|c| c.doc()).min().unwrap_or(C::END);
        if doc == C::END {
            break;
        }
        let mut score = 0.0f32;
        for c in cursors.iter_mut() {
            if c.doc() == doc {
                score += c.score(bm25);
                c.next();
            }
        }
        top.offer(Scored { doc, score });
    }
    top.into_sorted()
}
