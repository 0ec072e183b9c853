//! A latency budget for reranking: how many of the remaining candidates to score next so the work
//! ends within the budget.
//!
//! Candidates are scored in first-stage order, a few at a time. The first chunk is one pair, which
//! measures this machine's time per pair (model, text lengths, threads, load); every later chunk
//! takes as many pairs as the remaining time allows at the measured rate (at most
//! [`MAX_CHUNK`], so the estimate keeps being refreshed), and scoring stops when not even one more
//! pair fits. The budget can be overshot by about one pair's time when a pair is slower than the
//! ones before it; a budget of 0 scores nothing.

use std::time::{Duration, Instant};

/// Most pairs scored between two looks at the clock.
pub const MAX_CHUNK: usize = 8;

/// Spends a time budget on scoring, chunk by chunk.
#[derive(Debug)]
pub struct Budget {
    start: Instant,
    budget: Duration,
    scored: usize,
    spent_scoring: Duration,
}

impl Budget {
    /// A budget of `budget` starting now.
    pub fn new(budget: Duration) -> Self {
        Self::starting_at(Instant::now(), budget)
    }

    /// A budget of `budget` counted from `start`.
    pub fn starting_at(start: Instant, budget: Duration) -> Self {
        Budget {
            start,
            budget,
            scored: 0,
            spent_scoring: Duration::ZERO,
        }
    }

    /// Pairs to score next out of `remaining`, at `now` (0: stop).
    pub fn next_chunk(&self, remaining: usize, now: Instant) -> usize {
        let left = self
            .budget
            .saturating_sub(now.saturating_duration_since(self.start));
        if remaining == 0 || left.is_zero() {
            return 0;
        }
        if self.scored == 0 {
            return 1; // measure the rate on one pair
        }
        let per_pair = self.spent_scoring.as_secs_f64() / self.scored as f64;
        let fit = if per_pair > 0.0 {
            (left.as_secs_f64() / per_pair).floor() as usize
        } else {
            MAX_CHUNK
        };
        fit.min(MAX_CHUNK).min(remaining)
    }

    /// Records that `pairs` were scored in `took`.
    pub fn record(&mut self, pairs: usize, took: Duration) {
        self.scored += pairs;
        self.spent_scoring += took;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_zero_budget_scores_nothing() {
        let t0 = Instant::now();
        assert_eq!(
            Budget::starting_at(t0, Duration::ZERO).next_chunk(10, t0),
            0
        );
    }

    #[test]
    fn the_first_chunk_measures_one_pair_then_chunks_fit_the_time_left() {
        let t0 = Instant::now();
        let mut b = Budget::starting_at(t0, 300 * MS);
        assert_eq!(b.next_chunk(100, t0), 1);
        b.record(1, 20 * MS);
        // 280 ms left at 20 ms a pair: 14 fit, capped at MAX_CHUNK.
        assert_eq!(b.next_chunk(100, t0 + 20 * MS), MAX_CHUNK);
        b.record(8, 160 * MS);
        // 120 ms left: 6 pairs.
        assert_eq!(b.next_chunk(100, t0 + 180 * MS), 6);
        b.record(6, 120 * MS);
        assert_eq!(b.next_chunk(100, t0 + 300 * MS), 0);
    }

    #[test]
    fn never_more_than_remain_and_stops_when_one_pair_does_not_fit() {
        let t0 = Instant::now();
        let mut b = Budget::starting_at(t0, 100 * MS);
        b.record(1, 30 * MS);
        assert_eq!(b.next_chunk(2, t0 + 30 * MS), 2);
        // 10 ms left, 30 ms a pair.
        assert_eq!(b.next_chunk(5, t0 + 90 * MS), 0);
        assert_eq!(b.next_chunk(0, t0), 0);
    }
}
