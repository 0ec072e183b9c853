//! Sentence pooling and normalisation.
//!
//! Embedding models output `last_hidden_state` `[batch, seq, dims]`. [`pool`] reduces each row to one vector:
//! `Cls` takes token 0, `Mean` averages the token vectors where the attention mask is 1 (so padding never
//! counts). [`l2_normalize`] scales to unit length (a zero vector is left as is). Accumulation is in `f32`
//! in token order, like the reference implementations.

use ndarray::{ArrayView2, ArrayView3, Axis};

use crate::config::Pooling;

/// Pools `[batch, seq, dims]` hidden states into `batch` vectors of `dims`.
pub fn pool(
    hidden: ArrayView3<'_, f32>,
    mask: ArrayView2<'_, i64>,
    pooling: Pooling,
) -> Vec<Vec<f32>> {
    hidden
        .axis_iter(Axis(0))
        .zip(mask.axis_iter(Axis(0)))
        .map(|(tokens, mask)| match pooling {
            Pooling::Cls => tokens.row(0).to_vec(),
            Pooling::Mean => {
                let mut sum = vec![0f32; tokens.ncols()];
                let mut count = 0usize;
                for (token, &m) in tokens.axis_iter(Axis(0)).zip(mask.iter()) {
                    if m != 0 {
                        count += 1;
                        for (s, &x) in sum.iter_mut().zip(token.iter()) {
                            *s += x;
                        }
                    }
                }
                let denom = count.max(1) as f32;
                sum.iter_mut().for_each(|s| *s /= denom);
                sum
            }
        })
        .collect()
}

/// Scales `v` to unit L2 norm in place; leaves an all-zero vector unchanged.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    #[test]
    fn cls_and_mean_pooling() {
        let mut hidden = Array3::<f32>::zeros((1, 3, 2));
        hidden[[0, 0, 0]] = 1.0;
        hidden[[0, 1, 0]] = 3.0;
        hidden[[0, 2, 0]] = 100.0; // padding, masked out
        let mask = array![[1i64, 1, 0]];
        assert_eq!(
            pool(hidden.view(), mask.view(), Pooling::Cls),
            vec![vec![1.0, 0.0]]
        );
        assert_eq!(
            pool(hidden.view(), mask.view(), Pooling::Mean),
            vec![vec![2.0, 0.0]]
        );
    }

    #[test]
    fn normalisation() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0, 0.0];
        l2_normalize(&mut z);
        assert_eq!(z, vec![0.0, 0.0]);
    }
}
