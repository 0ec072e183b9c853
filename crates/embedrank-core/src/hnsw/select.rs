//! Neighbour selection heuristic (HNSW paper, Algorithm 4).
//!
//! Walk the candidates from closest to farthest and keep one only if it is
//! closer to the base element than to every neighbour kept so far; this
//! spreads links across directions instead of spending them all inside one
//! cluster. `extendCandidates` is not used; `keepPrunedConnections` is: if
//! fewer than `m` survive, the closest pruned ones fill up the list, so a
//! node never has fewer links than it could.
//!
//! A candidate is pruned when some kept neighbour is at distance `<=` its
//! distance to the base (as pgvector does), so exact duplicates do not crowd
//! out diverse links; they come back through the fill-up step.

use super::Candidate;

/// Neighbour selection heuristic (paper Algorithm 4, without
/// extendCandidates, keeping pruned connections to fill up to m):
/// candidates sorted ascending; `dist(a,b)` is the distance between two
/// stored nodes.
pub fn select_neighbors<N: Copy>(
    candidates: &[Candidate<N>],
    m: usize,
    dist: impl FnMut(N, N) -> f32,
) -> Vec<Candidate<N>> {
    let mut out = Vec::with_capacity(m.min(candidates.len()));
    let mut pruned = Vec::new();
    select_into(candidates, m, dist, &mut out, &mut pruned);
    out
}

/// [`select_neighbors`] writing into reusable buffers (`out`, `pruned` are
/// cleared first). The output keeps ascending order within the kept group
/// and within the fill-up group. Returns how many leading entries of `out`
/// the heuristic kept (the rest are fill-up), or `None` if everything fit
/// and the heuristic did not run.
pub(crate) fn select_into<N: Copy>(
    candidates: &[Candidate<N>],
    m: usize,
    mut dist: impl FnMut(N, N) -> f32,
    out: &mut Vec<Candidate<N>>,
    pruned: &mut Vec<Candidate<N>>,
) -> Option<usize> {
    out.clear();
    pruned.clear();
    if candidates.len() <= m {
        // Everything fits: the heuristic could only reorder, never drop.
        out.extend_from_slice(candidates);
        return None;
    }
    for &e in candidates {
        if out.len() >= m {
            break;
        }
        let diverse = out.iter().all(|r| dist(e.node, r.node) > e.distance);
        if diverse {
            out.push(e);
        } else {
            pruned.push(e);
        }
    }
    let kept = out.len();
    out.extend(pruned.iter().take(m - kept).copied());
    Some(kept)
}
