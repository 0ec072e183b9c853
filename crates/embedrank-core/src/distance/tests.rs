//! Kernel tests against an f64 reference on random lengths, for every kernel
//! set this CPU can run, plus the pgvector edge cases.

use super::dispatch::{avx2_if_supported, Kernels, PORTABLE};
use super::*;
use crate::hnsw::LevelRng;

fn random_vec(rng: &mut LevelRng, len: usize, scale: f64) -> Vec<f32> {
    (0..len)
        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * scale) as f32)
        .collect()
}

/// Exact-ish reference: returns (value, magnitude) where magnitude is the sum
/// of absolute terms, the natural scale for the rounding error.
fn reference(a: &[f32], b: &[f32], term: impl Fn(f64, f64) -> f64) -> (f64, f64) {
    a.iter().zip(b).fold((0.0, 0.0), |(s, m), (&x, &y)| {
        let t = term(f64::from(x), f64::from(y));
        (s + t, m + t.abs())
    })
}

fn assert_close(got: f32, (want, mag): (f64, f64), what: &str, len: usize) {
    let tol = 1e-5 * mag + 1e-6;
    assert!(
        (f64::from(got) - want).abs() <= tol,
        "{what} len={len}: got {got}, want {want} (tol {tol})"
    );
}

fn tables() -> Vec<&'static Kernels> {
    let mut t = vec![&PORTABLE];
    t.extend(avx2_if_supported());
    t
}

fn check_all(a: &[f32], b: &[f32]) {
    let n = a.len();
    let l2sq = reference(a, b, |x, y| (x - y) * (x - y));
    let ip = reference(a, b, |x, y| x * y);
    let l1r = reference(a, b, |x, y| (x - y).abs());
    let aa = reference(a, a, |x, y| x * y);
    let bb = reference(b, b, |x, y| x * y);
    for k in tables() {
        // SAFETY: `tables()` only contains tables this CPU supports.
        let (got_l2, got_ip, got_l1, parts) = unsafe {
            (
                (k.l2_squared)(a, b),
                (k.dot)(a, b),
                (k.l1)(a, b),
                (k.cosine_parts)(a, b),
            )
        };
        assert_close(got_l2, l2sq, k.name, n);
        assert_close(got_ip, ip, k.name, n);
        assert_close(got_l1, l1r, k.name, n);
        assert_close(parts.0, ip, k.name, n);
        assert_close(parts.1, aa, k.name, n);
        assert_close(parts.2, bb, k.name, n);
    }
    assert_close(l2_squared(a, b), l2sq, "dispatched l2sq", n);
    assert_close(dot(a, b), ip, "dispatched dot", n);
    assert_close(l1(a, b), l1r, "dispatched l1", n);
    assert_close(naive::l2_squared(a, b), l2sq, "naive l2sq", n);
    let l2_want = l2sq.0.sqrt();
    assert!((f64::from(l2(a, b)) - l2_want).abs() <= 1e-5 * l2_want + 1e-6);
    let norm_want = aa.0.sqrt();
    assert!((f64::from(norm(a)) - norm_want).abs() <= 1e-5 * norm_want + 1e-6);
    if aa.0 > 0.0 && bb.0 > 0.0 {
        let cos_want = 1.0 - (ip.0 / (aa.0 * bb.0).sqrt()).clamp(-1.0, 1.0);
        let tol = 1e-4 * ip.1 / (aa.0 * bb.0).sqrt() + 1e-5;
        assert!((f64::from(cosine_distance(a, b)) - cos_want).abs() <= tol);
    }
}

#[test]
fn kernels_match_reference_on_random_lengths() {
    let mut rng = LevelRng::new(7);
    let mut lens: Vec<usize> = (0..=70).chain([384, 768, 1536, 2000]).collect();
    lens.extend((0..150).map(|_| (rng.next_f64() * 2001.0) as usize));
    for len in lens {
        let scale = [1.0, 1e-3, 1e3][len % 3];
        let a = random_vec(&mut rng, len, scale);
        let b = random_vec(&mut rng, len, scale);
        check_all(&a, &b);
    }
}

#[test]
fn kernel_set_is_reported() {
    let name = kernel_set();
    assert!(name == "portable" || name == "avx2+fma");
}

#[test]
fn cosine_edge_cases() {
    let z = [0.0f32; 5];
    let v = [1.0f32, -2.0, 3.0, 0.5, 7.0];
    assert!(cosine_distance(&z, &v).is_nan());
    assert!(cosine_distance(&v, &z).is_nan());
    assert!(cosine_distance(&z, &z).is_nan());
    assert!(cosine_distance(&[], &[]).is_nan());
    assert!(cosine_distance(&v, &v).abs() < 1e-6);
    let neg: Vec<f32> = v.iter().map(|x| -x).collect();
    assert!((cosine_distance(&v, &neg) - 2.0).abs() < 1e-6);
    let scaled: Vec<f32> = v.iter().map(|x| x * 3.5).collect();
    assert!(cosine_distance(&v, &scaled).abs() < 1e-6);
    assert!((cosine_distance(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-7);
    let mut rng = LevelRng::new(3);
    for len in [1, 7, 33, 100, 1000] {
        let a = random_vec(&mut rng, len, 100.0);
        let d = cosine_distance(&a, &a);
        assert!((0.0..1e-6).contains(&d), "identical len={len}: {d}");
        let na: Vec<f32> = a.iter().map(|x| -x).collect();
        let d = cosine_distance(&a, &na);
        assert!((2.0 - 1e-6..=2.0).contains(&d), "opposite len={len}: {d}");
    }
}

#[test]
fn simple_values_and_zero_vectors() {
    let a = [1.0f32, 2.0, 3.0];
    let b = [4.0f32, 6.0, 3.0];
    assert_eq!(l2_squared(&a, &b), 25.0);
    assert_eq!(l2(&a, &b), 5.0);
    assert_eq!(dot(&a, &b), 25.0);
    assert_eq!(l1(&a, &b), 7.0);
    assert_eq!(norm(&[3.0, 4.0]), 5.0);
    let z = [0.0f32; 40];
    assert_eq!(l2_squared(&z, &z), 0.0);
    assert_eq!(dot(&z, &z), 0.0);
    assert_eq!(l1(&z, &z), 0.0);
    assert_eq!(norm(&z), 0.0);
    assert_eq!(l2(&[], &[]), 0.0);
}

#[test]
fn metric_index_distance() {
    let a = [1.0f32, 2.0, 3.0];
    let b = [4.0f32, 6.0, 3.0];
    assert_eq!(Metric::L2.index_distance(&a, &b), 25.0);
    assert_eq!(Metric::InnerProduct.index_distance(&a, &b), -25.0);
    assert_eq!(Metric::L1.index_distance(&a, &b), 7.0);
    assert_eq!(
        Metric::Cosine.index_distance(&a, &b),
        cosine_distance(&a, &b)
    );
}

#[test]
fn sql_variants_answer_like_pgvector() {
    // 1 - 4/sqrt(18) in f64, not rounded through f32.
    assert_eq!(
        cosine_distance_f64(&[1.0, 1.0, 2.0], &[1.0, 1.0, 1.0]),
        0.05719095841793653
    );
    assert!(cosine_distance_f64(&[0.0, 0.0], &[1.0, 1.0]).is_nan());
    assert!(cosine_distance_f64(&[3e38], &[3e38]).is_nan());
    assert_eq!(cosine_distance_f64(&[1.0, 1.0], &[-1.1, -1.1]), 2.0);
    // |a|² underflows in f32 while a·b does not: pgvector clamps inf to 1.
    assert_eq!(cosine_distance_f64(&[1e-30], &[1e15]), 0.0);
    assert_eq!(norm_f64(&[1.0, 1.0]), std::f64::consts::SQRT_2);
    assert_eq!(norm_f64(&[3e37, 4e37]), 5.000000042966943e37);
    assert_eq!(norm_f64(&[0.0, 0.0]), 0.0);
}

#[test]
fn jaccard_of_bit_strings_matches_pgvector() {
    // Packed as the graph carries them: each string's bytes, first bit high.
    let bits = |s: &str| {
        let bytes: Vec<u8> = s
            .as_bytes()
            .chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &x)| b | (u8::from(x == b'1') << (7 - i)))
            })
            .collect();
        super::bits::pack(&bytes)
    };
    assert_eq!(
        Metric::Jaccard.index_distance(&bits("1111"), &bits("1110")),
        0.25
    );
    assert_eq!(
        Metric::Jaccard.index_distance(&bits("1100"), &bits("1000")),
        0.5
    );
    assert_eq!(
        Metric::Jaccard.index_distance(&bits("0000"), &bits("0000")),
        1.0
    );
    assert_eq!(
        Metric::Jaccard.index_distance(&bits("1010"), &bits("0101")),
        1.0
    );
    assert_eq!(
        Metric::Hamming.index_distance(&bits("1111"), &bits("1010")),
        2.0
    );
    // Long strings: every word and the padded last one count.
    let a: String = (0..1001)
        .map(|i| if i % 3 == 0 { '1' } else { '0' })
        .collect();
    let b: String = (0..1001)
        .map(|i| if i % 5 == 0 { '1' } else { '0' })
        .collect();
    let (n3, n5, n15) = (334.0f32, 201.0f32, 67.0f32);
    assert_eq!(
        Metric::Hamming.index_distance(&bits(&a), &bits(&b)),
        n3 + n5 - 2.0 * n15
    );
    assert_eq!(
        Metric::Jaccard.index_distance(&bits(&a), &bits(&b)),
        1.0 - n15 / (n3 + n5 - n15)
    );
    assert_eq!(bits(&a).len(), 32);
    let mut back = vec![0u8; 126];
    super::bits::unpack_into(&bits(&a), &mut back);
    assert_eq!(super::bits::pack(&back), bits(&a));
}

/// The code kernels give, bit for bit, what decoding the codes (`min + scale · code`, one multiply
/// and one add, as `Sq8::decode_into` does) and then the float kernel of the same table gives: a
/// quantized index's scan bounds rest on the code distance being the decoded vector's distance.
#[test]
fn code_kernels_equal_decode_then_float_kernel() {
    let mut rng = LevelRng::new(11);
    for len in [0, 1, 7, 31, 32, 33, 100, 384, 1000] {
        let q = random_vec(&mut rng, len, 3.0);
        let min = random_vec(&mut rng, len, 1.0);
        let scale: Vec<f32> = (0..len)
            .map(|i| {
                if i % 13 == 5 {
                    0.0
                } else {
                    (rng.next_f64() * 0.02) as f32
                }
            })
            .collect();
        let codes: Vec<u8> = (0..len).map(|_| (rng.next_f64() * 256.0) as u8).collect();
        let decoded: Vec<f32> = (0..len)
            .map(|i| min[i] + scale[i] * f32::from(codes[i]))
            .collect();
        for k in tables() {
            // SAFETY: `tables` only lists kernel sets this CPU supports.
            unsafe {
                let pairs = [
                    (
                        (k.l2_squared_codes)(&q, &codes, &min, &scale),
                        (k.l2_squared)(&q, &decoded),
                    ),
                    (
                        (k.dot_codes)(&q, &codes, &min, &scale),
                        (k.dot)(&q, &decoded),
                    ),
                    ((k.l1_codes)(&q, &codes, &min, &scale), (k.l1)(&q, &decoded)),
                ];
                for (i, (fused, plain)) in pairs.into_iter().enumerate() {
                    assert_eq!(
                        fused.to_bits(),
                        plain.to_bits(),
                        "{} kernel {i} len {len}",
                        k.name
                    );
                }
            }
        }
        for m in [Metric::L2, Metric::InnerProduct, Metric::L1] {
            let got = code_distance(m, &q, &codes, &min, &scale).expect("quantized metric");
            assert_eq!(
                got.to_bits(),
                m.index_distance(&q, &decoded).to_bits(),
                "{m:?} len {len}"
            );
        }
        assert!(code_distance(Metric::Cosine, &q, &codes, &min, &scale).is_none());
    }
}

/// The half-precision kernels equal the float4 arithmetic on the reconstructed vectors (`center +
/// widened half`; a query given as offsets from the center) within rounding, on every kernel set
/// this CPU runs, at every tail length; and a query whose offsets are a copied vector's widened
/// halves gets that vector's pair distance bit for bit (what the build's recorded decisions need).
#[test]
fn half_kernels_match_the_reference_on_reconstructed_vectors() {
    use half::f16;
    let mut rng = LevelRng::new(11);
    let mut lens: Vec<usize> = (0..=70).chain([384, 1000, 1536]).collect();
    lens.extend((0..60).map(|_| (rng.next_f64() * 2001.0) as usize));
    let halves = |v: Vec<f32>| -> Vec<f16> { v.iter().map(|&x| f16::from_f32(x)).collect() };
    for len in lens {
        let center = random_vec(&mut rng, len, 3.0);
        let q = random_vec(&mut rng, len, 0.5);
        let ha = halves(random_vec(&mut rng, len, 0.5));
        let hb = halves(random_vec(&mut rng, len, 0.5));
        let plus_center =
            |v: &[f32]| -> Vec<f32> { center.iter().zip(v).map(|(c, x)| c + x).collect() };
        let widened = |h: &[f16]| -> Vec<f32> { h.iter().map(|h| h.to_f32()).collect() };
        let (qv, a, b) = (
            plus_center(&q),
            plus_center(&widened(&ha)),
            plus_center(&widened(&hb)),
        );
        let l2q = reference(&q, &widened(&hb), |x, y| (x - y) * (x - y));
        let ipq = reference(&qv, &b, |x, y| x * y);
        let l2p = reference(&widened(&ha), &widened(&hb), |x, y| (x - y) * (x - y));
        let ipp = reference(&a, &b, |x, y| x * y);
        let wa = widened(&ha);
        for k in tables() {
            // SAFETY: `tables()` only contains tables this CPU supports.
            let (got, same) = unsafe {
                (
                    (
                        (k.l2_squared_half)(&center, &q, &hb),
                        (k.dot_half)(&center, &q, &hb),
                        (k.l2_squared_half_pair)(&center, &ha, &hb),
                        (k.dot_half_pair)(&center, &ha, &hb),
                    ),
                    (
                        (k.l2_squared_half)(&center, &wa, &hb),
                        (k.dot_half)(&center, &wa, &hb),
                    ),
                )
            };
            assert_close(got.0, l2q, k.name, len);
            assert_close(got.1, ipq, k.name, len);
            assert_close(got.2, l2p, k.name, len);
            assert_close(got.3, ipp, k.name, len);
            // SAFETY: as above.
            let swapped = unsafe {
                (
                    (k.l2_squared_half_pair)(&center, &hb, &ha),
                    (k.dot_half_pair)(&center, &hb, &ha),
                )
            };
            assert_eq!(
                swapped.0.to_bits(),
                got.2.to_bits(),
                "{} l2 symmetric",
                k.name
            );
            assert_eq!(
                swapped.1.to_bits(),
                got.3.to_bits(),
                "{} dot symmetric",
                k.name
            );
            assert_eq!(same.0.to_bits(), got.2.to_bits(), "{} l2 len={len}", k.name);
            assert_eq!(
                same.1.to_bits(),
                got.3.to_bits(),
                "{} dot len={len}",
                k.name
            );
        }
        // The public faces: the index distance (inner product negated), undefined for the rest.
        let d = half_distance(Metric::InnerProduct, &center, &q, &hb).unwrap();
        assert_close(-d, ipq, "dispatched dot_half", len);
        let d = half_pair_distance(Metric::L2, &center, &ha, &hb).unwrap();
        assert_close(d, l2p, "dispatched l2_squared_half_pair", len);
        assert!(half_distance(Metric::L1, &center, &q, &hb).is_none());
        assert!(half_pair_distance(Metric::Cosine, &center, &ha, &hb).is_none());
    }
}
