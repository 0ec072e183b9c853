//! Unit tests of the building blocks: selection heuristic, level sampling,
//! heap ordering, visited sets.

use crate::hnsw::order::{sort_candidates, Key};
use crate::hnsw::visited::{BitSet, VisitedSet};
use crate::hnsw::*;

fn line(points: &[f32]) -> Vec<Candidate<usize>> {
    // Base element at 0; node i sits at points[i].
    let mut c: Vec<_> = points
        .iter()
        .enumerate()
        .map(|(i, &p)| Candidate {
            distance: p.abs(),
            node: i,
        })
        .collect();
    c.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    c
}

#[test]
fn select_neighbors_prefers_diverse_then_fills_up() {
    let pts = [1.0f32, 1.1, 1.2, -1.05, -1.15, 5.0];
    let cands = line(&pts);
    let dist = |a: usize, b: usize| (pts[a] - pts[b]).abs();

    let two = select_neighbors(&cands, 2, dist);
    assert_eq!(two.iter().map(|c| c.node).collect::<Vec<_>>(), vec![0, 3]);

    // Kept by the heuristic: 1.0 and -1.05; the rest is pruned and the two
    // closest pruned ones fill up to m.
    let four = select_neighbors(&cands, 4, dist);
    assert_eq!(
        four.iter().map(|c| c.node).collect::<Vec<_>>(),
        vec![0, 3, 1, 4]
    );

    let all = select_neighbors(&cands, 10, dist);
    assert_eq!(all.len(), pts.len());
    assert_eq!(all[0].node, 0, "closest is always kept first");
    assert!(select_neighbors(&cands, 0, dist).is_empty());
    assert!(select_neighbors::<usize>(&[], 4, dist).is_empty());
}

#[test]
fn select_neighbors_respects_m_on_random_input() {
    let mut rng = LevelRng::new(11);
    for m in [1, 2, 5, 16, 32] {
        let pts: Vec<f32> = (0..80)
            .map(|_| rng.next_f64() as f32 * 10.0 - 5.0)
            .collect();
        let cands = line(&pts);
        let dist = |a: usize, b: usize| (pts[a] - pts[b]).abs();
        let got = select_neighbors(&cands, m, dist);
        assert_eq!(got.len(), m);
        assert_eq!(got[0].node, cands[0].node);
        let mut ids: Vec<_> = got.iter().map(|c| c.node).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), m, "no duplicates");
    }
}

#[test]
fn random_level_is_roughly_geometric() {
    let mut rng = LevelRng::new(1);
    let m = 16;
    let n = 200_000;
    let mut counts = [0usize; MAX_LEVEL + 1];
    for _ in 0..n {
        counts[random_level(&mut rng, m)] += 1;
    }
    // P(level >= l) = m^-l.
    let at_least = |l: usize| counts[l..].iter().sum::<usize>() as f64 / n as f64;
    assert!((at_least(1) - 1.0 / 16.0).abs() < 0.004, "{}", at_least(1));
    assert!(
        (at_least(2) - 1.0 / 256.0).abs() < 0.0008,
        "{}",
        at_least(2)
    );
    assert!(at_least(4) < 0.0005);

    let mut a = LevelRng::new(99);
    let mut b = LevelRng::new(99);
    let xs: Vec<usize> = (0..100).map(|_| random_level(&mut a, 4)).collect();
    let ys: Vec<usize> = (0..100).map(|_| random_level(&mut b, 4)).collect();
    assert_eq!(xs, ys, "deterministic for a seed");
    let mut r = LevelRng::new(5);
    assert!((0..10_000).all(|_| random_level(&mut r, 2) <= MAX_LEVEL));
    assert!((0..1000).all(|_| (0.0..1.0).contains(&r.next_f64())));
}

#[test]
fn keys_order_nan_last_and_break_ties_by_node() {
    let mut v = vec![
        Candidate {
            distance: f32::NAN,
            node: 1,
        },
        Candidate {
            distance: 2.0,
            node: 5,
        },
        Candidate {
            distance: -f32::NAN,
            node: 0,
        },
        Candidate {
            distance: f32::INFINITY,
            node: 2,
        },
        Candidate {
            distance: 2.0,
            node: 3,
        },
        Candidate {
            distance: -1.0,
            node: 4,
        },
    ];
    sort_candidates(&mut v);
    let nodes: Vec<u32> = v.iter().map(|c| c.node).collect();
    assert_eq!(nodes, vec![4, 3, 5, 2, 0, 1]);
    assert!(Key::new(1.0, 0u32).closer_than(&Key::new(f32::NAN, 0)));
    assert!(!Key::new(f32::NAN, 0u32).closer_than(&Key::new(1.0, 0)));
}

#[test]
fn visited_sets() {
    let mut b = BitSet::with_capacity(10);
    assert!(b.insert(3));
    assert!(!b.insert(3));
    assert!(b.insert(1000), "grows on demand");
    assert!(b.contains(1000) && b.contains(3) && !b.contains(4));
    VisitedSet::clear(&mut b);
    assert!(!b.contains(3));
    let mut h: FxHashSet<(u32, u16)> = FxHashSet::default();
    assert!(VisitedSet::insert(&mut h, (1, 2)));
    assert!(!VisitedSet::insert(&mut h, (1, 2)));
    assert!(h.contains(&(1, 2)));
}
