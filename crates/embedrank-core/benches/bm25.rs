//! BM25 top 10 over 1,000,000 Zipf-distributed documents: block-max WAND against scoring every
//! matching document, side by side on the same queries, with the ratio and the documents each
//! scores. (Synthetic text shape for a microbenchmark of the search alone; the lexical index's
//! quality is measured on real corpora.)
//!
//! Run: `cargo bench -p embedrank-core --bench bm25`.

use embedrank_core::bm25::{
    exhaustive, top_k, wand::Stats, Bm25, PostingList, DEFAULT_B, DEFAULT_K1,
};
use embedrank_core::hnsw::LevelRng;
use embedrank_core::synth::zipf_corpus;
use std::time::Instant;

fn main() {
    let t = Instant::now();
    let (b, terms) = zipf_corpus(1_000_000, 100_000, 7);
    println!(
        "corpus: 1,000,000 documents, 100,000 terms, built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let bm: Bm25 = b.bm25(DEFAULT_K1, DEFAULT_B);
    let empty = PostingList::default();
    let mut rng = LevelRng::new(11);
    // Queries of 2 to 5 terms, skewed to common ones as real queries are.
    let queries: Vec<Vec<&str>> = (0..200)
        .map(|_| {
            let n = 2 + (rng.next_u64() % 4) as usize;
            (0..n)
                .map(|_| {
                    let r = rng.next_f64();
                    terms[((r * r * r * r) * 20_000.0) as usize].as_str()
                })
                .collect()
        })
        .collect();
    let cursors = |q: &[&str]| -> Vec<_> {
        q.iter()
            .map(|t| {
                let l = b.lists.get(*t).unwrap_or(&empty);
                l.cursor(bm.idf(l.df()), bm)
            })
            .collect()
    };
    let (mut wand_s, mut all_s, mut scored, mut matching) = (0.0, 0.0, 0usize, 0usize);
    for round in 0..2 {
        for q in &queries {
            let mut stats = Stats::default();
            let t = Instant::now();
            let got = top_k(&mut cursors(q), &bm, 10, &mut stats);
            let w = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let want = exhaustive(&mut cursors(q), &bm, 10);
            let a = t.elapsed().as_secs_f64();
            assert_eq!(got, want);
            if round == 1 {
                wand_s += w;
                all_s += a;
                scored += stats.scored;
                matching += q
                    .iter()
                    .map(|t| b.lists.get(*t).map_or(0, |l| l.docs.len()))
                    .sum::<usize>();
            }
        }
    }
    let n = queries.len() as f64;
    println!("| search | mean ms per query | documents scored per query |");
    println!("|---|---:|---:|");
    println!(
        "| block-max WAND | {:.3} | {:.0} |",
        wand_s / n * 1e3,
        scored as f64 / n
    );
    println!(
        "| exhaustive | {:.3} | {:.0} (postings) |",
        all_s / n * 1e3,
        matching as f64 / n
    );
    println!("ratio exhaustive / WAND: {:.1}×", all_s / wand_s);
}
