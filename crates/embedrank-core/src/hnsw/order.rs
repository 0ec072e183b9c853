//! Total order on candidates for the search heaps.
//!
//! `f32` is only `PartialOrd`; heaps need `Ord`. [`Key`] canonicalises every
//! NaN to the positive quiet NaN, which `f32::total_cmp` sorts after `+inf`,
//! so NaN distances (cosine of a zero vector) are "farthest" and never
//! poison the heap invariant. Ties on distance are broken by node, which
//! makes every search deterministic.

use super::Candidate;
use std::cmp::Ordering;

/// Heap entry: a canonicalised distance and a node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key<N> {
    pub d: f32,
    pub node: N,
}

impl<N> Key<N> {
    #[inline]
    pub fn new(d: f32, node: N) -> Self {
        Key {
            d: if d.is_nan() { f32::NAN } else { d },
            node,
        }
    }

    #[inline]
    pub fn candidate(self) -> Candidate<N> {
        Candidate {
            distance: self.d,
            node: self.node,
        }
    }

    /// Strictly closer than `other`, by distance only.
    #[inline]
    pub fn closer_than(&self, other: &Self) -> bool {
        self.d.total_cmp(&other.d) == Ordering::Less
    }
}

impl<N> From<Candidate<N>> for Key<N> {
    #[inline]
    fn from(c: Candidate<N>) -> Self {
        Key::new(c.distance, c.node)
    }
}

impl<N: Ord> Ord for Key<N> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.d
            .total_cmp(&other.d)
            .then_with(|| self.node.cmp(&other.node))
    }
}

impl<N: Ord> PartialOrd for Key<N> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<N: Ord> PartialEq for Key<N> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<N: Ord> Eq for Key<N> {}

/// Sorts candidates ascending by (distance, node), NaN last.
pub(crate) fn sort_candidates<N: Ord + Copy>(v: &mut [Candidate<N>]) {
    v.sort_unstable_by(|a, b| Key::from(*a).cmp(&Key::from(*b)));
}
