//! Splitting a long document into chunks an embedding model reads whole.
//!
//! Models read the first `max_length` tokens of a text and drop the rest, so the end of a long
//! document is invisible to a search over one embedding per document. A chunk is at most `size`
//! tokens of the model's own tokenizer (its special tokens not counted: the caller keeps `size`
//! within `max_length` minus them), and starts `overlap` tokens before the previous chunk ended (at
//! the start of the word there, if one is within another `overlap` tokens), so a passage cut by one
//! boundary is whole in a neighbour.
//!
//! Where a chunk ends: at the strongest break in the last half of its window (and past the end of
//! the chunk before), the latest one of that strength — a paragraph break (a blank line), else a sentence end (`.`, `!`, `?`, `;` or `:`
//! before white space, or a line break), else a word boundary (white space between tokens; WordPiece
//! continuations `##…` have none, so a word is never cut), else the window's edge.
//!
//! Everything here works on the tokens' byte offsets in the text ([`chunk_spans`]), so it is plain
//! Rust, tested without a model; [`crate::OnnxModel::chunk`] supplies the offsets.

use std::ops::Range;

/// How good a place the gap before token `i` is to end a chunk: 3 paragraph, 2 sentence, 1 word,
/// 0 inside a word.
fn break_strength(text: &str, offsets: &[(usize, usize)], i: usize) -> u8 {
    let (prev, cur) = (offsets[i - 1], offsets[i]);
    // Byte-level tokenizers give each piece of one character the character's whole span.
    if cur.0 < prev.1 {
        return 0;
    }
    // The white space between the tokens, and any the token itself starts with (SentencePiece's
    // `▁word` and byte-level BPE's ` word` carry their space).
    let token = &text[cur.0..cur.1];
    let lead = token.len() - token.trim_start().len();
    let gap = &text[prev.1..cur.0 + lead];
    if !gap.chars().any(char::is_whitespace) {
        return 0;
    }
    if gap.matches('\n').count() >= 2 {
        return 3;
    }
    let before = text[prev.0..prev.1].trim_end();
    if gap.contains('\n')
        || before.ends_with(['.', '!', '?', ';', ':', '。', '！', '？', '；', '：'])
    {
        return 2;
    }
    1
}

/// The byte ranges of `text`'s chunks, given its tokens' byte offsets (in order, special tokens
/// left out), at most `size` tokens each, each after the first starting `overlap` tokens before
/// the previous one ended (`overlap < size`). No tokens, no chunks.
pub fn chunk_spans(
    text: &str,
    offsets: &[(usize, usize)],
    size: usize,
    overlap: usize,
) -> Vec<Range<usize>> {
    assert!(size > 0 && overlap < size, "need 0 <= overlap < size");
    let n = offsets.len();
    let mut out = Vec::new();
    let (mut start, mut last_end) = (0, 0);
    while start < n {
        let edge = (start + size).min(n);
        let end = if edge == n {
            n
        } else {
            // The latest of the strongest breaks in the window's last half, past the last chunk.
            let lowest = (start + size.div_ceil(2)).max(last_end + 1).min(edge);
            (lowest..=edge)
                .rev()
                .max_by_key(|&i| (break_strength(text, offsets, i), i))
                .filter(|&i| break_strength(text, offsets, i) > 0)
                .unwrap_or(edge)
        };
        out.push(offsets[start].0..offsets[end - 1].1);
        if end == n {
            break;
        }
        last_end = end;
        // Back `overlap` tokens, then to the start of the word there: back if that stays after
        // `start`, else forward (at most to `end`).
        let mut next = end.saturating_sub(overlap).max(start + 1);
        let mut back = next;
        let lowest = end.saturating_sub(2 * overlap).max(start + 1);
        while back > lowest && break_strength(text, offsets, back) == 0 {
            back -= 1;
        }
        if break_strength(text, offsets, back) > 0 {
            next = back;
        } else {
            while next < end && break_strength(text, offsets, next) == 0 {
                next += 1;
            }
        }
        start = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whitespace "tokens", with words longer than 6 letters split WordPiece-style (no gap).
    fn tokens(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        for word in text.split_inclusive(char::is_whitespace) {
            let w = word.trim_end();
            let mut s = at;
            while s < at + w.len() {
                let e = (s + 6).min(at + w.len());
                out.push((s, e));
                s = e;
            }
            at += word.len();
        }
        out
    }

    fn chunks(text: &str, size: usize, overlap: usize) -> Vec<&str> {
        chunk_spans(text, &tokens(text), size, overlap)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn short_texts_are_one_chunk_and_empty_ones_none() {
        assert_eq!(chunks("One short line.", 8, 2), ["One short line."]);
        assert!(chunks("", 8, 2).is_empty());
        assert!(chunks("   \n ", 8, 2).is_empty());
    }

    #[test]
    fn chunks_end_at_paragraphs_then_sentences_then_words() {
        let text = "Alpha beta gamma. Delta epsilon.\n\nZeta eta theta iota kappa lambda mu.";
        // A window of 7 tokens reaches past the paragraph break (after token 5): it ends there.
        assert_eq!(
            chunks(text, 7, 0),
            [
                "Alpha beta gamma. Delta epsilon.",
                "Zeta eta theta iota kappa lambda mu."
            ]
        );
        // A sentence end in the last half of the window wins over the window's edge.
        assert_eq!(chunks("Aa bb cc. Dd ee ff gg hh.", 5, 0)[0], "Aa bb cc.");
        // No break in the last half: the latest word boundary.
        assert_eq!(
            chunks("aa bb cc dd ee ff gg", 4, 0),
            ["aa bb cc dd", "ee ff gg"]
        );
    }

    #[test]
    fn words_are_never_cut_and_chunks_overlap() {
        // "tokenization" is two tokens with no gap between them.
        let text = "aa bb tokenization cc dd ee ff gg hh";
        let tok = tokens(text);
        assert_eq!(tok.len(), 10);
        let got = chunks(text, 4, 1);
        assert!(got.iter().all(|c| !c.ends_with("tokeni")), "{got:?}");
        for pair in got.windows(2) {
            let last = pair[0].split_whitespace().last().unwrap();
            assert!(
                pair[1].starts_with(last),
                "{got:?}: chunks overlap by one token"
            );
        }
        assert!(got.last().unwrap().ends_with("hh"));
    }

    #[test]
    fn every_token_is_in_a_chunk_and_none_is_over_size() {
        let text: String = (0..500)
            .map(|i| match i % 13 {
                0 => "Endings.\n\n".to_string(),
                5 => "stop. ".to_string(),
                _ => format!("w{i} "),
            })
            .collect();
        let tok = tokens(&text);
        for (size, overlap) in [(16, 0), (16, 4), (50, 10), (7, 6), (1, 0)] {
            let spans = chunk_spans(&text, &tok, size, overlap);
            let mut covered = vec![false; tok.len()];
            for s in &spans {
                let inside: Vec<usize> = (0..tok.len())
                    .filter(|&i| tok[i].0 >= s.start && tok[i].1 <= s.end)
                    .collect();
                assert!(
                    inside.len() <= size,
                    "{size}/{overlap}: a chunk of {}",
                    inside.len()
                );
                inside.iter().for_each(|&i| covered[i] = true);
            }
            assert!(
                covered.iter().all(|&c| c),
                "{size}/{overlap}: a token in no chunk"
            );
        }
    }

    #[test]
    fn overlapping_offsets_and_leading_space_tokens() {
        // Byte-level pieces of one character share its span: never a break inside it, no panic
        // (a window's edge inside it repeats the character in the next chunk).
        let text = "ab 😀 cd";
        let offsets = [(0, 2), (3, 7), (3, 7), (3, 7), (8, 10)];
        let got: Vec<&str> = chunk_spans(text, &offsets, 2, 0)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!((got[0], *got.last().unwrap()), ("ab", "😀 cd"), "{got:?}");
        // Tokens that carry their space (` word`) still end words and sentences.
        let text = "One. Two three";
        let offsets = [(0, 3), (3, 4), (4, 8), (8, 14)];
        let got: Vec<&str> = chunk_spans(text, &offsets, 3, 0)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(got, ["One.", " Two three"]);
    }

    #[test]
    fn a_run_without_word_breaks_does_not_repeat_itself() {
        // Two short words, then 40 tokens with no gap (a URL, CJK under WordPiece): chunks must
        // not start one token apart.
        let mut text = String::from("a b ");
        let mut offsets = vec![(0, 1), (2, 3)];
        for i in 0..40 {
            offsets.push((4 + i, 5 + i));
            text.push('x');
        }
        let spans = chunk_spans(&text, &offsets, 8, 2);
        assert!(spans.len() <= 7, "{} chunks: {spans:?}", spans.len());
    }
}
