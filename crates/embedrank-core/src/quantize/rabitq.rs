//! RaBitQ (Gao & Long, SIGMOD 2024), the 1-bit code VectorChord traverses on: each vector's offset
//! from the data's centre, normalised and randomly rotated, is stored as its signs (one bit per
//! dimension) plus two floats — the offset's length and the code's inner product with the true
//! direction, which makes the distance estimate unbiased. The query stays float (rotated once per
//! search), so a distance is a signed sum of the query's rotated values over the code's bits.
//!
//! Estimate, for a stored offset `r = x − c` with direction `o = r / ‖r‖` and code `ō` (the rotated
//! sign vector, scaled to unit length): `⟨o, y⟩ ≈ ⟨ō, y⟩ / ⟨ō, o⟩` for any `y`; then
//! `‖x − q‖² = ‖r‖² + ‖q − c‖² − 2‖r‖⟨o, q − c⟩` and `⟨x, q⟩ = ‖r‖⟨o, q⟩ + ⟨c, q⟩`.
//!
//! The rotation here is a dense random orthogonal matrix (`dims²` floats): right for measuring the
//! code at 384 dimensions; an index at thousands of dimensions would use a fast structured rotation
//! (random signs and a Hadamard transform) instead.

use super::Quantizer;
use crate::distance::Metric;
use crate::hnsw::LevelRng;

/// A trained RaBitQ quantizer: the data's centre and the rotation.
#[derive(Clone, Debug)]
pub struct RaBitQ {
    metric: Metric,
    dims: usize,
    center: Vec<f32>,
    /// `dims` orthonormal rows: the rotated vector is `rot · v`.
    rot: Vec<f32>,
}

/// A query prepared for [`RaBitQ`].
pub struct RaBitQQuery {
    /// The rotated query offset (L2: `q − c`; inner product: `q`).
    y: Vec<f32>,
    /// `Σ y`.
    sum: f32,
    /// L2: `‖q − c‖²`; inner product: `⟨c, q⟩`.
    constant: f32,
}

impl RaBitQ {
    /// Trains on `data` (rows of `dims`): its mean as the centre, and a random rotation from `seed`.
    pub fn train(data: &[f32], dims: usize, metric: Metric, seed: u64) -> Self {
        assert!(
            matches!(metric, Metric::L2 | Metric::InnerProduct | Metric::Cosine),
            "RaBitQ estimates L2 and inner products"
        );
        let rows = (data.len() / dims).max(1);
        let mut center = vec![0f64; dims];
        for v in data.chunks_exact(dims) {
            for (c, &x) in center.iter_mut().zip(v) {
                *c += f64::from(x);
            }
        }
        let center = center.iter().map(|c| (c / rows as f64) as f32).collect();
        RaBitQ {
            metric,
            dims,
            center,
            rot: random_orthogonal(dims, seed),
        }
    }

    fn rotate(&self, v: &[f32], out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(self.rot.chunks_exact(self.dims)) {
            *o = row.iter().zip(v).map(|(a, b)| a * b).sum();
        }
    }

    fn bits(&self) -> usize {
        self.dims.div_ceil(8)
    }
}

/// `dims` orthonormal rows: Gram–Schmidt on Gaussian rows (Box–Muller), deterministic per `seed`.
fn random_orthogonal(dims: usize, seed: u64) -> Vec<f32> {
    let mut rng = LevelRng::new(seed);
    let mut gauss = || {
        let (u, v) = (rng.next_f64().max(1e-300), rng.next_f64());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let mut m: Vec<f64> = (0..dims * dims).map(|_| gauss()).collect();
    for i in 0..dims {
        for j in 0..i {
            let dot: f64 = (0..dims).map(|k| m[i * dims + k] * m[j * dims + k]).sum();
            for k in 0..dims {
                m[i * dims + k] -= dot * m[j * dims + k];
            }
        }
        let norm = (0..dims)
            .map(|k| m[i * dims + k].powi(2))
            .sum::<f64>()
            .sqrt();
        for k in 0..dims {
            m[i * dims + k] /= norm;
        }
    }
    m.into_iter().map(|x| x as f32).collect()
}

impl Quantizer for RaBitQ {
    type Query = RaBitQQuery;

    /// The sign bits, then `‖r‖` and `⟨ō, o⟩` as float4.
    fn code_len(&self) -> usize {
        self.bits() + 8
    }

    fn encode(&self, v: &[f32], out: &mut [u8]) {
        let r: Vec<f32> = v.iter().zip(&self.center).map(|(x, c)| x - c).collect();
        let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        let mut y = vec![0f32; self.dims];
        self.rotate(&r, &mut y);
        let (bits, tail) = out.split_at_mut(self.bits());
        bits.fill(0);
        for (i, &x) in y.iter().enumerate() {
            if x > 0.0 {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        // ⟨ō, o⟩ = Σ|y_i| / (‖r‖ √D): the code's unit vector against the true direction.
        let dot = if norm > 0.0 {
            y.iter().map(|x| x.abs()).sum::<f32>() / (norm * (self.dims as f32).sqrt())
        } else {
            1.0
        };
        tail[..4].copy_from_slice(&norm.to_le_bytes());
        tail[4..8].copy_from_slice(&dot.to_le_bytes());
    }

    fn query(&self, q: &[f32]) -> RaBitQQuery {
        let mut y = vec![0f32; self.dims];
        let constant = if self.metric == Metric::L2 {
            let off: Vec<f32> = q.iter().zip(&self.center).map(|(x, c)| x - c).collect();
            self.rotate(&off, &mut y);
            off.iter().map(|x| x * x).sum()
        } else {
            self.rotate(q, &mut y);
            q.iter().zip(&self.center).map(|(x, c)| x * c).sum()
        };
        RaBitQQuery {
            sum: y.iter().sum(),
            y,
            constant,
        }
    }

    fn distance(&self, q: &RaBitQQuery, code: &[u8]) -> f32 {
        let (bits, tail) = code.split_at(self.bits());
        let norm = f32::from_le_bytes(tail[..4].try_into().expect("4 bytes"));
        let dot = f32::from_le_bytes(tail[4..8].try_into().expect("4 bytes"));
        let mut ones = 0f32;
        for (i, &b) in bits.iter().enumerate() {
            let mut b = b;
            while b != 0 {
                ones += q.y[i * 8 + b.trailing_zeros() as usize];
                b &= b - 1;
            }
        }
        // ⟨ō, y⟩ = (Σ_{bit 1} y − Σ_{bit 0} y) / √D.
        let est = (2.0 * ones - q.sum) / ((self.dims as f32).sqrt() * dot);
        if self.metric == Metric::L2 {
            norm * norm + q.constant - 2.0 * norm * est
        } else {
            -(norm * est + q.constant)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::clustered;

    #[test]
    fn the_rotation_is_orthonormal() {
        let d = 24;
        let r = random_orthogonal(d, 3);
        for i in 0..d {
            for j in 0..d {
                let dot: f32 = (0..d).map(|k| r[i * d + k] * r[j * d + k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4, "rows {i} {j}: {dot}");
            }
        }
    }

    #[test]
    fn estimates_are_unbiased_and_close_at_384_dimensions() {
        let dims = 384;
        let data = clustered(400, dims, 4, 0.3, 2);
        for metric in [Metric::L2, Metric::InnerProduct] {
            let q = RaBitQ::train(&data, dims, metric, 7);
            let mut code = vec![0u8; q.code_len()];
            let query = &data[..dims];
            let prepared = q.query(query);
            // Errors relative to the distance's scale: the squared distance itself for L2, and
            // ‖q‖‖v‖ for an inner product (which can be near 0 while its error is not).
            let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
            let scale = |v: &[f32]| match metric {
                Metric::L2 => f64::from(metric.index_distance(query, v)).max(1e-6),
                _ => f64::from(norm(query) * norm(v)),
            };
            let (mut bias, mut rel_abs) = (0f64, 0f64);
            let rows: Vec<&[f32]> = data.chunks_exact(dims).skip(1).collect();
            for v in &rows {
                q.encode(v, &mut code);
                let err = f64::from(q.distance(&prepared, &code) - metric.index_distance(query, v));
                bias += err / scale(v);
                rel_abs += err.abs() / scale(v);
            }
            let n = rows.len() as f64;
            // One 1-bit estimate at 384 dims is off by a few per cent; their mean (the bias) is
            // far smaller than any single error.
            assert!(
                rel_abs / n < 0.1,
                "{metric:?}: mean relative error {}",
                rel_abs / n
            );
            assert!(
                (bias / n).abs() < 0.02,
                "{metric:?}: relative bias {}",
                bias / n
            );
        }
    }
}
