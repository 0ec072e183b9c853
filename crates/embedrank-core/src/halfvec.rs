//! Elements of `halfvec`: IEEE binary16 values, converted as pgvector 0.8.6 converts them.
//!
//! - float4 → half rounds to nearest, ties to even (the `half` crate's `f16::from_f32`, which is
//!   pgvector's `Float4ToHalfUnchecked`); past the largest half (|x| ≥ 65520) the result is infinite,
//!   and each caller decides whether that is an error; tiny values become ±0 without error.
//! - half → float4 is exact. Whole slices are widened with the `half` crate, which uses the CPU's
//!   F16C conversion instructions where it has them (a well-kept crate instead of our own kernel:
//!   the conversion is the only per-element work on halfvec's distance paths besides the float4
//!   arithmetic shared with `vector`).
//! - Text: the `vector` literal shape; each element is read as `strtof` reads it, then rounded to
//!   half (the double rounding text → float4 → half is pgvector's defined behaviour); an element
//!   that becomes infinite is out of range, reported with the element as written.

use crate::text::{parse_vector_as, ParseError};
pub use half::f16;
use half::slice::HalfFloatSliceExt;

/// The half nearest to `x` (ties to even); infinite when |x| ≥ 65520.
#[inline]
pub fn narrow(x: f32) -> f16 {
    f16::from_f32(x)
}

/// `src` widened to float4 into `dst` (which must be as long).
pub fn widen_into(src: &[f16], dst: &mut [f32]) {
    src.convert_to_f32_slice(dst);
}

/// `src` widened to float4.
pub fn widen(src: &[f16]) -> Vec<f32> {
    let mut out = vec![0.0; src.len()];
    widen_into(src, &mut out);
    out
}

/// Parses a halfvec literal such as `[1, 2.5, -3e-7]`.
pub fn parse_halfvec(s: &str) -> Result<Vec<f16>, ParseError> {
    parse_vector_as(s, |v, tok| {
        let h = narrow(v);
        if h.is_infinite() {
            return Err(ParseError::OutOfRange(tok.to_owned()));
        }
        Ok(h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::format_vector;

    fn round_trip(s: &str) -> String {
        format_vector(&widen(&parse_halfvec(s).unwrap()))
    }

    #[test]
    fn text_rounds_to_half_and_prints_the_float4_of_the_half() {
        // pgvector 0.8.6's outputs for the same literals.
        assert_eq!(round_trip("[1,2,3]"), "[1,2,3]");
        assert_eq!(round_trip("[0.1]"), "[0.099975586]");
        assert_eq!(round_trip("[1.23456]"), "[1.234375]");
        assert_eq!(round_trip("[65519]"), "[65504]");
        assert_eq!(round_trip("[1e-8,-1e-8]"), "[0,-0]");
        assert_eq!(round_trip("[1e-46,1]"), "[0,1]");
        assert_eq!(round_trip("[5.9604645e-08]"), "[5.9604645e-08]");
    }

    #[test]
    fn beyond_half_is_out_of_range_as_written_and_the_first_bad_element_wins() {
        assert_eq!(
            parse_halfvec("[65520]"),
            Err(ParseError::OutOfRange("65520".into()))
        );
        assert_eq!(
            parse_halfvec("[1, +7e4]"),
            Err(ParseError::OutOfRange("+7e4".into()))
        );
        assert_eq!(
            parse_halfvec("[4e38]"),
            Err(ParseError::OutOfRange("4e38".into()))
        );
        // An out-of-range element before a NaN is reported, not the NaN.
        assert_eq!(
            parse_halfvec("[70000,nan]"),
            Err(ParseError::OutOfRange("70000".into()))
        );
        assert_eq!(parse_halfvec("[1,nan]"), Err(ParseError::NaN));
        assert_eq!(parse_halfvec("[infinit]"), Err(ParseError::Infinite));
    }

    #[test]
    fn narrowing_ties_to_even() {
        // 2^-25 is halfway between 0 and the smallest subnormal: ties to even gives 0.
        assert_eq!(narrow(2f32.powi(-25)).to_bits(), 0);
        assert_eq!(narrow(2f32.powi(-24)).to_bits(), 1);
        // 65520 is halfway between 65504 and the next (infinite) step: ties to even, infinite.
        assert!(narrow(65520.0).is_infinite());
        assert_eq!(narrow(65519.99).to_f32(), 65504.0);
        let xs: Vec<f16> = [1.5f32, -2.25, 0.0, -0.0, 65504.0]
            .iter()
            .map(|&x| narrow(x))
            .collect();
        assert_eq!(widen(&xs), vec![1.5, -2.25, 0.0, -0.0, 65504.0]);
    }
}
