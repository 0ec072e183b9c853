//! Naive reference kernels: one sequential accumulator, no tricks.
//!
//! Because floating-point addition is not associative, the compiler may not
//! vectorise these single-accumulator loops; they are the "obvious" scalar
//! code and serve as the baseline in benchmarks and as an independent
//! implementation in tests.

/// Squared Euclidean distance.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Euclidean distance.
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    l2_squared(a, b).sqrt()
}

/// Inner product.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Manhattan distance.
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// Euclidean norm.
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// `1 - cos(a, b)`; NaN when either norm is zero.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    super::cosine_from_parts(dot(a, b), dot(a, a), dot(b, b))
}
