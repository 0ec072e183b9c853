//! BM25 tests: the formula against hand-computed values, block-max WAND against the exhaustive
//! oracle on Zipf-distributed corpora, and how much of the work WAND skips.

use super::*;
use crate::hnsw::LevelRng;
use crate::synth::zipf_corpus;

#[test]
fn formula_is_lucenes() {
    // N = 10, df = 2: idf = ln(1 + 8.5 / 2.5); tf 3 in a document of avgdl tokens: K = k1.
    let bm = Bm25::new(0.9, 0.4, 10, 100);
    assert_eq!(bm.avgdl, 10.0);
    let idf = bm.idf(2);
    assert!((idf - (1.0f64 + 8.5 / 2.5).ln() as f32).abs() < 1e-7);
    let s = bm.term_score(idf, 3, 10);
    assert!((s - idf * 3.0 / (3.0 + 0.9)).abs() < 1e-6);
    // Longer documents score less, more occurrences more, never above idf.
    assert!(bm.term_score(idf, 3, 40) < s && bm.term_score(idf, 4, 10) > s);
    assert!(bm.term_score(idf, 1_000_000, 1) < idf * 1.0001);
    // A term in every document still has a positive idf.
    assert!(bm.idf(10) > 0.0);
}

fn cursors<'a>(
    b: &'a PostingsBuilder,
    bm: &Bm25,
    query: &[&str],
    empty: &'a PostingList,
) -> Vec<postings::PostingCursor<'a>> {
    let mut repeats: Vec<(&str, u32)> = Vec::new();
    for t in query {
        match repeats.iter_mut().find(|(q, _)| q == t) {
            Some(e) => e.1 += 1,
            None => repeats.push((t, 1)),
        }
    }
    repeats
        .iter()
        .map(|(t, r)| {
            let list = b.lists.get(*t).unwrap_or(empty);
            list.cursor(bm.idf(list.df()) * *r as f32, *bm)
        })
        .collect()
}

#[test]
fn block_max_wand_equals_exhaustive_search() {
    let (b, terms) = zipf_corpus(20_000, 5_000, 3);
    let bm = b.bm25(DEFAULT_K1, DEFAULT_B);
    let empty = PostingList::default();
    let mut rng = LevelRng::new(9);
    let mut checked = 0;
    for round in 0..300 {
        // 1 to 6 terms, from frequent to rare, sometimes repeated or absent from the corpus.
        let n = 1 + (rng.next_u64() % 6) as usize;
        let mut query: Vec<&str> = (0..n)
            .map(|_| {
                let r = rng.next_f64();
                terms[((r * r * r) * terms.len() as f64) as usize].as_str()
            })
            .collect();
        if round % 10 == 0 {
            query.push(query[0]);
        }
        if round % 17 == 0 {
            query.push("never-seen");
        }
        for k in [1, 10, 100] {
            let mut stats = wand::Stats::default();
            let got = top_k(&mut cursors(&b, &bm, &query, &empty), &bm, k, &mut stats);
            let want = exhaustive(&mut cursors(&b, &bm, &query, &empty), &bm, k);
            assert_eq!(got, want, "query {query:?}, k {k}");
            checked += 1;
        }
    }
    assert_eq!(checked, 900);
}

#[test]
fn wand_scores_a_small_part_of_the_matching_documents() {
    let (b, terms) = zipf_corpus(100_000, 20_000, 5);
    let bm = b.bm25(DEFAULT_K1, DEFAULT_B);
    let empty = PostingList::default();
    // A frequent term with two rarer ones: most matches hold only the frequent term.
    let query = [terms[2].as_str(), terms[300].as_str(), terms[2000].as_str()];
    let matching: usize = {
        let mut docs: Vec<u32> = query
            .iter()
            .flat_map(|t| b.lists[*t].docs.iter().copied())
            .collect();
        docs.sort();
        docs.dedup();
        docs.len()
    };
    let mut stats = wand::Stats::default();
    let got = top_k(&mut cursors(&b, &bm, &query, &empty), &bm, 10, &mut stats);
    assert_eq!(
        got,
        exhaustive(&mut cursors(&b, &bm, &query, &empty), &bm, 10)
    );
    eprintln!("scored {} of {matching} matching documents", stats.scored);
    assert!(matching > 20_000, "{matching}");
    assert!(
        stats.scored * 10 < matching,
        "scored {} of {matching}",
        stats.scored
    );
}

#[test]
fn empty_queries_and_k_zero() {
    let (b, _) = zipf_corpus(100, 50, 1);
    let bm = b.bm25(DEFAULT_K1, DEFAULT_B);
    let empty = PostingList::default();
    let mut stats = wand::Stats::default();
    assert!(top_k(&mut cursors(&b, &bm, &[], &empty), &bm, 10, &mut stats).is_empty());
    assert!(top_k(
        &mut cursors(&b, &bm, &["nope"], &empty),
        &bm,
        10,
        &mut stats
    )
    .is_empty());
    assert!(top_k(&mut cursors(&b, &bm, &["t0"], &empty), &bm, 0, &mut stats).is_empty());
    // Fewer matches than k: all of them.
    let n = b.lists["t40"].docs.len();
    assert_eq!(
        top_k(
            &mut cursors(&b, &bm, &["t40"], &empty),
            &bm,
            1000,
            &mut stats
        )
        .len(),
        n
    );
}

#[test]
fn pages_of_top_k_after_the_last_result_equal_one_long_ranking() {
    let (b, terms) = zipf_corpus(20_000, 5_000, 11);
    let bm = b.bm25(DEFAULT_K1, DEFAULT_B);
    let empty = PostingList::default();
    let mut rng = LevelRng::new(21);
    for _ in 0..40 {
        let n = 1 + (rng.next_u64() % 4) as usize;
        let query: Vec<&str> = (0..n)
            .map(|_| {
                let r = rng.next_f64();
                terms[((r * r) * terms.len() as f64) as usize].as_str()
            })
            .collect();
        let all = exhaustive(&mut cursors(&b, &bm, &query, &empty), &bm, usize::MAX);
        // Every page re-walks the lists: page through the first 500 rows (and to the end when
        // fewer match), which covers pages ending inside runs of equal scores.
        let all = &all[..all.len().min(500)];
        for page in [1, 7, 100] {
            let (mut got, mut after) = (Vec::new(), None);
            while got.len() < all.len() {
                let mut stats = wand::Stats::default();
                let next = top_k_after(
                    &mut cursors(&b, &bm, &query, &empty),
                    &bm,
                    page,
                    after,
                    &mut stats,
                );
                after = next.last().copied();
                let done = next.len() < page;
                got.extend(next);
                if done {
                    break;
                }
            }
            got.truncate(all.len());
            assert_eq!(got, all, "query {query:?}, pages of {page}");
        }
    }
}
