//! Compact codes for traversing the graph, with the exact vectors kept for the final ranking.
//!
//! Issue 9 §2 asks for an index whose pages hold several times more elements: traverse the graph on
//! codes, re-rank the last candidates with the exact vectors. This module holds the quantizers and a
//! measurement of them over the in-memory graph, so the index's default can be chosen by recall and
//! speed on real and synthetic data before the on-disk format changes:
//! * [`Sq8`]: per-dimension scalar quantization to 8 bits, trained on the data's per-dimension
//!   minimum and maximum (4× smaller than float4). The distance is computed asymmetrically: the
//!   query stays float, the code is read as `min + scale · code`, so the only error is the code's
//!   rounding (at most half a step per dimension).
//! * [`Sq8::train_bits`] with 4 bits: the same per-dimension ranges in 16 steps (8× smaller), two
//!   codes per byte — the size at which 16,000 dimensions still fit one page.
//! * [`RaBitQ`]: one bit per dimension of the randomly rotated offset from the data's centre, plus
//!   two floats per vector that make the distance estimate unbiased (VectorChord's code).
//! * [`Binary`]: one sign bit per dimension (32× smaller), Hamming distance between the query's signs
//!   and the code — pgvector's `binary_quantize` and the first pass of pgvectorscale's SBQ. Only an
//!   angle estimate, meaningful for cosine / inner product on centred data.
//! * [`search_with_codes`]: the HNSW search of the in-memory graph with code distances, then the
//!   `ef` candidates it returns re-ranked by exact distance, as the index would do it.

use crate::distance::Metric;
use crate::hnsw::{search, Candidate, GraphView, InMemoryGraph};

mod rabitq;
pub use rabitq::{RaBitQ, RaBitQQuery};

/// A quantizer: what the search needs from a code format.
pub trait Quantizer {
    /// What a query is turned into once per search.
    type Query;
    /// Bytes of one code.
    fn code_len(&self) -> usize;
    /// Writes the code of `v` to `out` (`code_len` bytes).
    fn encode(&self, v: &[f32], out: &mut [u8]);
    /// Prepares `q` for [`Quantizer::distance`].
    fn query(&self, q: &[f32]) -> Self::Query;
    /// Approximate distance from the query to the vector behind `code`, in the order of `metric`'s
    /// index distance (smaller = closer). Cosine is taken as the inner product of unit vectors,
    /// which is what a cosine index stores.
    fn distance(&self, q: &Self::Query, code: &[u8]) -> f32;
}

/// Per-dimension scalar quantization to 8 bits (or 4, [`Sq8::train_bits`]).
#[derive(Clone, Debug)]
pub struct Sq8 {
    metric: Metric,
    /// Bits per dimension: 8, or 4 (two codes per byte, the low nibble first).
    bits: u32,
    min: Vec<f32>,
    /// Step per code unit: (max − min) / (2^bits − 1), 0 for a constant dimension.
    scale: Vec<f32>,
}

/// A query prepared for [`Sq8`]: per dimension, what the code is compared with.
pub struct Sq8Query {
    /// L2 / L1: `q − min`; inner product: `q · scale`.
    t: Vec<f32>,
    /// Inner product: `Σ q · min`, the part of the product that does not depend on the code.
    constant: f32,
}

impl Sq8 {
    /// Trains on `data` (rows of `dims`): each dimension's range, from its minimum to its maximum.
    pub fn train(data: &[f32], dims: usize, metric: Metric) -> Self {
        Self::train_bits(data, dims, metric, 8)
    }

    /// [`Sq8::train`] with `bits` (8 or 4) per dimension.
    pub fn train_bits(data: &[f32], dims: usize, metric: Metric, bits: u32) -> Self {
        Self::train_rows(data.chunks_exact(dims), dims, metric, bits)
    }

    /// [`Sq8::train_bits`] on rows wherever they are (an index build trains on its graph's
    /// vectors without copying them).
    pub fn train_rows<R: AsRef<[f32]>>(
        rows: impl Iterator<Item = R>,
        dims: usize,
        metric: Metric,
        bits: u32,
    ) -> Self {
        assert!(!metric.is_sparse(), "sparse vectors are not quantized");
        assert!(bits == 8 || bits == 4, "8 or 4 bits per dimension");
        let top = ((1u32 << bits) - 1) as f32;
        let mut min = vec![f32::INFINITY; dims];
        let mut max = vec![f32::NEG_INFINITY; dims];
        for v in rows {
            for (i, &x) in v.as_ref().iter().enumerate() {
                min[i] = min[i].min(x);
                max[i] = max[i].max(x);
            }
        }
        let scale = min
            .iter()
            .zip(&max)
            .map(|(&lo, &hi)| if hi > lo { (hi - lo) / top } else { 0.0 })
            .collect();
        for m in min.iter_mut().filter(|m| !m.is_finite()) {
            *m = 0.0;
        }
        Sq8 {
            metric,
            bits,
            min,
            scale,
        }
    }

    /// A quantizer from stored parts (what [`Sq8::parts`] gave): `bits` per dimension, and each
    /// dimension's minimum and step.
    pub fn from_parts(metric: Metric, bits: u32, min: Vec<f32>, scale: Vec<f32>) -> Self {
        assert!(bits == 8 || bits == 4, "8 or 4 bits per dimension");
        assert_eq!(min.len(), scale.len(), "one step per minimum");
        Sq8 {
            metric,
            bits,
            min,
            scale,
        }
    }

    /// (bits, minimum per dimension, step per dimension).
    pub fn parts(&self) -> (u32, &[f32], &[f32]) {
        (self.bits, &self.min, &self.scale)
    }

    /// The vector `code` stands for, into `out` (`dims` long).
    pub fn decode_into(&self, code: &[u8], out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.min[i] + self.scale[i] * self.at(code, i);
        }
    }

    /// `metric`'s index distance from `query` to the vector `code` stands for — bit for bit
    /// `metric.index_distance(query, decoded)`, without decoding: 8-bit codes are read in place,
    /// 4-bit ones unpacked to a byte each in `scratch` first. `metric` is the one the codes were
    /// trained for (L2, inner product or L1).
    pub fn index_distance(&self, query: &[f32], code: &[u8], scratch: &mut Vec<u8>) -> f32 {
        let bytes = if self.bits == 8 {
            &code[..self.min.len()]
        } else {
            scratch.clear();
            scratch.extend(code.iter().flat_map(|&b| [b & 15, b >> 4]));
            scratch.truncate(self.min.len());
            &scratch[..]
        };
        crate::distance::code_distance(self.metric, query, bytes, &self.min, &self.scale)
            .expect("a quantizer is trained for L2, inner product or L1")
    }

    /// How far `v` is from what its `code` stands for: the L1 norm of the difference under L1, the
    /// L2 norm otherwise — the most any distance to `v` differs from the same distance to the
    /// decoded vector (by the triangle inequality; times the query's norm for an inner product).
    /// Computed in double precision and rounded up.
    pub fn error(&self, v: &[f32], code: &[u8]) -> f32 {
        let diff = (0..v.len())
            .map(|i| f64::from(v[i]) - f64::from(self.min[i] + self.scale[i] * self.at(code, i)));
        let e = if self.metric == Metric::L1 {
            diff.map(f64::abs).sum::<f64>()
        } else {
            diff.map(|d| d * d).sum::<f64>().sqrt()
        };
        let rounded = e as f32;
        if f64::from(rounded) < e {
            rounded.next_up()
        } else {
            rounded
        }
    }

    /// Code `i` of `code`.
    #[inline]
    fn at(&self, code: &[u8], i: usize) -> f32 {
        if self.bits == 8 {
            f32::from(code[i])
        } else {
            f32::from((code[i / 2] >> (4 * (i % 2))) & 15)
        }
    }

    /// The vector a code stands for.
    pub fn decode(&self, code: &[u8], out: &mut Vec<f32>) {
        out.clear();
        out.extend((0..self.min.len()).map(|i| self.min[i] + self.scale[i] * self.at(code, i)));
    }
}

impl Quantizer for Sq8 {
    type Query = Sq8Query;

    fn code_len(&self) -> usize {
        (self.min.len() * self.bits as usize).div_ceil(8)
    }

    fn encode(&self, v: &[f32], out: &mut [u8]) {
        let top = ((1u32 << self.bits) - 1) as f32;
        out.fill(0);
        for (i, &x) in v.iter().enumerate() {
            let s = self.scale[i];
            let c = if s > 0.0 {
                ((x - self.min[i]) / s).round().clamp(0.0, top) as u8
            } else {
                0
            };
            if self.bits == 8 {
                out[i] = c;
            } else {
                out[i / 2] |= c << (4 * (i % 2));
            }
        }
    }

    fn query(&self, q: &[f32]) -> Sq8Query {
        match self.metric {
            Metric::InnerProduct | Metric::Cosine => Sq8Query {
                t: q.iter().zip(&self.scale).map(|(&x, &s)| x * s).collect(),
                constant: q.iter().zip(&self.min).map(|(&x, &m)| x * m).sum(),
            },
            // Bit strings (Jaccard) are already one bit per dimension; no quantizer is built for them.
            Metric::L2 | Metric::L1 | Metric::Hamming | Metric::Jaccard => Sq8Query {
                t: q.iter().zip(&self.min).map(|(&x, &m)| x - m).collect(),
                constant: 0.0,
            },
            Metric::SparseL2 | Metric::SparseInnerProduct | Metric::SparseL1 => {
                unreachable!("Sq8::train refuses sparse metrics")
            }
        }
    }

    fn distance(&self, q: &Sq8Query, code: &[u8]) -> f32 {
        match self.metric {
            Metric::InnerProduct | Metric::Cosine => {
                let dot: f32 = (0..q.t.len()).map(|i| q.t[i] * self.at(code, i)).sum();
                -(q.constant + dot)
            }
            Metric::L2 => (0..q.t.len())
                .map(|i| {
                    let d = q.t[i] - self.scale[i] * self.at(code, i);
                    d * d
                })
                .sum(),
            Metric::L1 | Metric::Hamming | Metric::Jaccard => (0..q.t.len())
                .map(|i| (q.t[i] - self.scale[i] * self.at(code, i)).abs())
                .sum(),
            Metric::SparseL2 | Metric::SparseInnerProduct | Metric::SparseL1 => {
                unreachable!("Sq8::train refuses sparse metrics")
            }
        }
    }
}

/// One sign bit per dimension; Hamming distance.
#[derive(Clone, Debug)]
pub struct Binary {
    dims: usize,
}

impl Binary {
    pub fn new(dims: usize) -> Self {
        Binary { dims }
    }
}

impl Quantizer for Binary {
    type Query = Vec<u8>;

    fn code_len(&self) -> usize {
        self.dims.div_ceil(8)
    }

    fn encode(&self, v: &[f32], out: &mut [u8]) {
        out.fill(0);
        for (i, &x) in v.iter().enumerate() {
            if x > 0.0 {
                out[i / 8] |= 0x80 >> (i % 8);
            }
        }
    }

    fn query(&self, q: &[f32]) -> Vec<u8> {
        let mut code = vec![0; self.code_len()];
        self.encode(q, &mut code);
        code
    }

    fn distance(&self, q: &Vec<u8>, code: &[u8]) -> f32 {
        q.iter()
            .zip(code)
            .map(|(&a, &b)| (a ^ b).count_ones())
            .sum::<u32>() as f32
    }
}

/// The codes of every node of `g`, in id order.
pub fn encode_graph<Q: Quantizer>(g: &InMemoryGraph, quantizer: &Q) -> Vec<u8> {
    let len = quantizer.code_len();
    let mut codes = vec![0u8; g.len() * len];
    for (id, code) in codes.chunks_exact_mut(len).enumerate() {
        quantizer.encode(g.vector(id as u32), code);
    }
    codes
}

/// The graph's links with code distances to one prepared query.
struct CodeView<'a, Q: Quantizer> {
    g: &'a InMemoryGraph,
    codes: &'a [u8],
    quantizer: &'a Q,
    query: &'a Q::Query,
}

impl<Q: Quantizer> GraphView for CodeView<'_, Q> {
    type Node = u32;
    fn distance_to(&mut self, _query: &[f32], n: u32) -> f32 {
        let len = self.quantizer.code_len();
        let at = n as usize * len;
        self.quantizer
            .distance(self.query, &self.codes[at..at + len])
    }
    fn neighbors(&mut self, n: u32, level: usize, out: &mut Vec<u32>) {
        out.extend_from_slice(self.g.neighbors_at(n, level));
    }
}

/// The `k` nearest nodes to `query`: an `ef` search of `g` on code distances, then its `ef`
/// candidates re-ranked by the exact `metric` distance (the index's ordering distance).
pub fn search_with_codes<Q: Quantizer>(
    g: &InMemoryGraph,
    codes: &[u8],
    quantizer: &Q,
    metric: Metric,
    query: &[f32],
    k: usize,
    ef: usize,
) -> Vec<Candidate<u32>> {
    let Some((ep, level)) = g.entry_point() else {
        return Vec::new();
    };
    let prepared = quantizer.query(query);
    let mut view = CodeView {
        g,
        codes,
        quantizer,
        query: &prepared,
    };
    let mut found: Vec<Candidate<u32>> = search(&mut view, query, ep, level, ef.max(k))
        .into_iter()
        .map(|c| Candidate {
            distance: metric.index_distance(query, g.vector(c.node)),
            node: c.node,
        })
        .collect();
    found.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.node.cmp(&b.node)));
    found.truncate(k);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::HnswParams;
    use crate::synth::{brute_force, clustered, recall};

    fn graph(data: &[f32], dims: usize, metric: Metric) -> InMemoryGraph {
        let mut g = InMemoryGraph::new(dims, HnswParams::new(16, 64, metric, 5));
        for v in data.chunks_exact(dims) {
            g.insert(v);
        }
        g
    }

    #[test]
    fn sq8_codes_are_within_half_a_step_and_distances_close() {
        let dims = 64;
        let data = clustered(500, dims, 5, 0.3, 1);
        let q = Sq8::train(&data, dims, Metric::L2);
        let (mut code, mut back) = (vec![0u8; dims], Vec::new());
        for v in data.chunks_exact(dims) {
            q.encode(v, &mut code);
            q.decode(&code, &mut back);
            for i in 0..dims {
                assert!((back[i] - v[i]).abs() <= q.scale[i] / 2.0 + 1e-6);
            }
        }
        let query = &data[..dims];
        let prepared = q.query(query);
        for v in data.chunks_exact(dims).take(50) {
            q.encode(v, &mut code);
            q.decode(&code, &mut back);
            let exact_to_decoded = Metric::L2.index_distance(query, &back);
            let approx = q.distance(&prepared, &code);
            assert!((approx - exact_to_decoded).abs() <= 1e-3 * exact_to_decoded.max(1.0));
        }
        // Inner product: the code distance is the product with the decoded vector.
        let qi = Sq8::train(&data, dims, Metric::InnerProduct);
        let prepared = qi.query(query);
        qi.encode(&data[dims..2 * dims], &mut code);
        qi.decode(&code, &mut back);
        let expect = Metric::InnerProduct.index_distance(query, &back);
        assert!((qi.distance(&prepared, &code) - expect).abs() <= 1e-3 * expect.abs().max(1.0));
    }

    #[test]
    fn code_distance_is_the_decoded_vectors_distance_exactly() {
        let dims = 101;
        let data = clustered(200, dims, 4, 0.3, 9);
        let mut scratch = Vec::new();
        for bits in [8, 4] {
            for metric in [Metric::L2, Metric::InnerProduct, Metric::L1] {
                let q = Sq8::train_bits(&data, dims, metric, bits);
                let (mut code, mut back) = (vec![0u8; q.code_len()], vec![0.0; dims]);
                let query = &data[dims..2 * dims];
                for v in data.chunks_exact(dims).take(40) {
                    q.encode(v, &mut code);
                    q.decode_into(&code, &mut back);
                    let want = metric.index_distance(query, &back);
                    let got = q.index_distance(query, &code, &mut scratch);
                    assert_eq!(got.to_bits(), want.to_bits(), "{bits} bits, {metric:?}");
                }
            }
        }
    }

    #[test]
    fn four_bit_codes_pack_two_per_byte_within_half_a_step() {
        let dims = 33;
        let data = clustered(300, dims, 3, 0.3, 4);
        let q = Sq8::train_bits(&data, dims, Metric::L2, 4);
        assert_eq!(q.code_len(), 17);
        let (mut code, mut back) = (vec![0u8; q.code_len()], Vec::new());
        for v in data.chunks_exact(dims) {
            q.encode(v, &mut code);
            q.decode(&code, &mut back);
            for i in 0..dims {
                assert!((back[i] - v[i]).abs() <= q.scale[i] / 2.0 + 1e-6);
            }
            let prepared = q.query(&data[..dims]);
            let expect = Metric::L2.index_distance(&data[..dims], &back);
            assert!((q.distance(&prepared, &code) - expect).abs() <= 1e-3 * expect.max(1.0));
        }
    }

    #[test]
    fn binary_codes_count_differing_signs() {
        let b = Binary::new(10);
        let mut code = vec![0u8; 2];
        b.encode(
            &[1.0, -1.0, 0.0, 2.0, 0.5, -3.0, 1.0, 1.0, -1.0, 4.0],
            &mut code,
        );
        assert_eq!(code, vec![0b1001_1011, 0b0100_0000]);
        let q = b.query(&[-1.0, -1.0, 0.0, 2.0, 0.5, -3.0, 1.0, 1.0, 1.0, 4.0]);
        assert_eq!(b.distance(&q, &code), 2.0);
    }

    #[test]
    fn sq8_traversal_with_exact_re_ranking_keeps_recall() {
        let (n, nq, dims) = (5000, 100, 64);
        let all = clustered(n + nq, dims, 40, 0.15, 9);
        let (data, queries) = all.split_at(n * dims);
        let g = graph(data, dims, Metric::L2);
        let sq8 = Sq8::train(data, dims, Metric::L2);
        let codes = encode_graph(&g, &sq8);
        let (mut exact, mut coded) = (0.0, 0.0);
        for q in queries.chunks_exact(dims) {
            let truth = brute_force(data, dims, q, 10, Metric::L2);
            exact += recall(&g.search(q, 10, 40), &truth);
            coded += recall(
                &search_with_codes(&g, &codes, &sq8, Metric::L2, q, 10, 40),
                &truth,
            );
        }
        let (exact, coded) = (exact / nq as f64, coded / nq as f64);
        assert!(
            coded >= exact - 0.01,
            "recall@10 at ef 40: sq8 {coded}, full precision {exact}"
        );
    }
}
