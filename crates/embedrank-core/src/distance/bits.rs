//! Bit strings (`bit(n)`) as the HNSW graph carries them: the string's bytes packed four to a
//! word, each word's bit pattern in one `f32` slot of the graph's `&[f32]` values (the patterns are
//! only ever copied, never computed with as floats). Hamming and Jaccard distances are then
//! popcounts over the words — 32 bits per operation instead of one float per bit, and a 32nd of
//! the memory per vector in a build.
//!
//! Bytes keep Postgres' order (the first bit is the high bit of byte 0); a word is four consecutive
//! bytes in native order and the last word is padded with zero bytes, so two strings of one length
//! compare bit for bit, which is all either distance needs.

/// Words of a `bits`-bit string.
pub fn words(bits: usize) -> usize {
    bits.div_ceil(32)
}

/// The words of a bit string's `bytes`.
pub fn pack(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            f32::from_bits(u32::from_ne_bytes(w))
        })
        .collect()
}

/// The first `out.len()` bytes of the string packed in `words`.
pub fn unpack_into(words: &[f32], out: &mut [u8]) {
    for (chunk, w) in out.chunks_mut(4).zip(words) {
        let b = w.to_bits().to_ne_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

#[inline]
fn as_words(v: &[f32]) -> &[u32] {
    // SAFETY: u32 and f32 have the same size and alignment, and every bit pattern is a valid u32.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u32, v.len()) }
}

/// Bits set in `a` xor `b` (the Hamming distance), as `f32` (exact up to 2^24 bits).
#[inline(always)]
pub(crate) fn hamming(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = (as_words(a), as_words(b));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x ^ y).count_ones())
        .sum::<u32>() as f32
}

/// 1 − |a ∧ b| / |a ∨ b|, and 1 when they share no set bit (two all-zero strings included), as
/// pgvector's `jaccard_distance`.
#[inline(always)]
pub(crate) fn jaccard(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = (as_words(a), as_words(b));
    let (mut both, mut either) = (0u32, 0u32);
    for (x, y) in a.iter().zip(b) {
        both += (x & y).count_ones();
        either += (x | y).count_ones();
    }
    if both == 0 {
        return 1.0;
    }
    1.0 - both as f32 / either as f32
}
