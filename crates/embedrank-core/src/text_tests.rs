//! Tests of the pgvector text format: accepted spellings, every rejection
//! kind, formatting style, and a bit-exact format→parse round-trip property.

use super::*;
use crate::hnsw::LevelRng;

fn malformed(s: &str) -> String {
    match parse_vector(s) {
        Err(ParseError::Malformed(d)) => d,
        other => panic!("{s:?}: expected Malformed, got {other:?}"),
    }
}

#[test]
fn accepts_valid_literals() {
    assert_eq!(parse_vector("[1,2,3]").unwrap(), vec![1.0, 2.0, 3.0]);
    assert_eq!(
        parse_vector("  [ 1 ,\t2\n, 3 ]  ").unwrap(),
        vec![1.0, 2.0, 3.0]
    );
    assert_eq!(parse_vector("[1e-3]").unwrap(), vec![1e-3]);
    assert_eq!(parse_vector("[-2.5E+2]").unwrap(), vec![-250.0]);
    assert_eq!(
        parse_vector("[+4,.5,5.,-0]").unwrap(),
        vec![4.0, 0.5, 5.0, -0.0]
    );
    assert_eq!(parse_vector("[1e-50]").unwrap(), vec![0.0]);
    assert_eq!(parse_vector("[3.4028235e38]").unwrap(), vec![f32::MAX]);
}

#[test]
fn rejects_syntax_errors() {
    assert_eq!(malformed("[1,2"), "missing ']'");
    assert_eq!(malformed("[1,2,"), "missing ']'");
    assert_eq!(malformed("["), "missing ']'");
    assert_eq!(malformed("[ "), "missing ']'");
    assert_eq!(malformed("[a]"), "unexpected character 'a' at position 1");
    assert_eq!(
        malformed("[1,,2]"),
        "unexpected character ',' at position 3"
    );
    assert_eq!(malformed("[,]"), "unexpected character ',' at position 1");
    assert_eq!(malformed("[1,]"), "unexpected character ']' at position 3");
    assert_eq!(malformed("[1 2]"), "unexpected character '2' at position 3");
    assert_eq!(malformed("[1x]"), "unexpected character 'x' at position 2");
    assert_eq!(
        malformed("[1.2.3]"),
        "unexpected character '.' at position 4"
    );
    // strtof leaves an incomplete exponent unread.
    assert_eq!(malformed("[1e]"), "unexpected character 'e' at position 2");
    assert_eq!(malformed("[1e+]"), "unexpected character 'e' at position 2");
    assert_eq!(malformed("[1,2]x"), "Junk after closing right brace.");
    assert_eq!(malformed("[1] [2]"), "Junk after closing right brace.");
    for s in ["1,2]", "", "   "] {
        assert_eq!(malformed(s), "Vector contents must start with \"[\".");
    }
    malformed("[-]");
    malformed("[.]");
    malformed("[é]");
}

#[test]
fn rejects_empty_non_finite_and_too_long() {
    assert_eq!(parse_vector("[]"), Err(ParseError::Empty));
    assert_eq!(parse_vector(" [ ] "), Err(ParseError::Empty));
    for s in ["[NaN]", "[nan]", "[-nan,1]", "[1,NaN]"] {
        assert_eq!(parse_vector(s), Err(ParseError::NaN), "{s}");
    }
    for s in ["[1,Infinity]", "[-inf]", "[+INF]", "[infinity,1]"] {
        assert_eq!(parse_vector(s), Err(ParseError::Infinite), "{s}");
    }
    assert_eq!(
        parse_vector("[1e39]"),
        Err(ParseError::OutOfRange("1e39".into()))
    );
    assert_eq!(
        parse_vector("[1, -4e38 ,1]"),
        Err(ParseError::OutOfRange("-4e38".into()))
    );
    // The value is checked before what follows it, as pgvector does.
    assert_eq!(parse_vector("[nanx]"), Err(ParseError::NaN));
    assert_eq!(parse_vector("[infx]"), Err(ParseError::Infinite));
    assert_eq!(
        parse_vector("[4e38x]"),
        Err(ParseError::OutOfRange("4e38".into()))
    );
    let ok = format!("[{}]", vec!["1"; MAX_DIMS].join(","));
    assert_eq!(parse_vector(&ok).unwrap().len(), MAX_DIMS);
    let long = format!("[{}]", vec!["1"; MAX_DIMS + 5].join(","));
    assert_eq!(parse_vector(&long), Err(ParseError::TooManyDims));
    // Element 16001 is refused before it is read, whatever it is.
    let junk = format!("[{},x]", vec!["1"; MAX_DIMS].join(","));
    assert_eq!(parse_vector(&junk), Err(ParseError::TooManyDims));
}

#[test]
fn underflow_reads_as_zero_keeping_the_sign() {
    let v = parse_vector("[1e-46,-1e-46]").unwrap();
    assert_eq!(v[0].to_bits(), 0.0f32.to_bits());
    assert_eq!(v[1].to_bits(), (-0.0f32).to_bits());
    assert_eq!(format_vector(&v), "[0,-0]");
}

#[test]
fn error_display() {
    assert!(ParseError::Empty.to_string().contains("at least 1"));
    assert!(ParseError::TooManyDims.to_string().contains("16000"));
    assert!(ParseError::Malformed("x".into())
        .to_string()
        .ends_with(": x"));
    assert_eq!(ParseError::NaN.to_string(), "NaN not allowed in vector");
    assert_eq!(
        ParseError::Infinite.to_string(),
        "infinite value not allowed in vector"
    );
    assert_eq!(
        ParseError::OutOfRange("4e38".into()).to_string(),
        "\"4e38\" is out of range for type vector"
    );
}

#[test]
fn formats_shortest_pgvector_style() {
    assert_eq!(format_vector(&[1.0, 2.5, -0.001]), "[1,2.5,-0.001]");
    assert_eq!(format_vector(&[0.0, -0.0, 100000.0]), "[0,-0,100000]");
    assert_eq!(
        format_vector(&[1e20, 1.5e-7, 1e6, 0.0001]),
        "[1e+20,1.5e-07,1e+06,0.0001]"
    );
    assert_eq!(format_vector(&[0.1, 1.0 / 3.0]), "[0.1,0.33333334]");
    assert_eq!(
        format_vector(&[f32::MAX, f32::MIN_POSITIVE]),
        "[3.4028235e+38,1.1754944e-38]"
    );
    assert_eq!(format_vector(&[1e-45]), "[1e-45]");
    assert_eq!(format_vector(&[-123456.7]), "[-123456.7]");
    assert_eq!(format_vector(&[]), "[]");
}

#[test]
fn random_vectors_round_trip_bit_exactly() {
    let mut rng = LevelRng::new(42);
    for round in 0..300 {
        let len = 1 + (rng.next_f64() * 64.0) as usize;
        let v: Vec<f32> = (0..len)
            .map(|_| {
                if round % 2 == 0 {
                    // Arbitrary finite bit patterns, subnormals included.
                    loop {
                        let bits = (rng.next_f64() * 4294967296.0) as u32;
                        let x = f32::from_bits(bits);
                        if x.is_finite() {
                            break x;
                        }
                    }
                } else {
                    ((rng.next_f64() - 0.5) * 10f64.powi(round % 13 - 6)) as f32
                }
            })
            .collect();
        let s = format_vector(&v);
        let back = parse_vector(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let bits: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
        let back_bits: Vec<u32> = back.iter().map(|x| x.to_bits()).collect();
        assert_eq!(bits, back_bits, "{s}");
    }
}

#[test]
fn hexadecimal_floats_read_as_strtof_reads_them() {
    let one = |s: &str| parse_vector(&format!("[{s}]")).unwrap()[0];
    assert_eq!(one("0x1p3"), 8.0);
    assert_eq!(one("0X1P3"), 8.0);
    assert_eq!(one("0x1.8p1"), 3.0);
    assert_eq!(one("-0x.8"), -0.5);
    assert_eq!(one("+0x10"), 16.0);
    assert_eq!(one("0x1p-1"), 0.5);
    assert_eq!(one("0xA.Bp0"), 10.6875);
    assert_eq!(one("0x0p0"), 0.0);
    assert_eq!(one("0x1.fffffep127"), f32::MAX);
    // Smallest subnormal; half of it rounds to even (zero); a bit more rounds up.
    assert_eq!(one("0x1p-149"), f32::from_bits(1));
    assert_eq!(one("0x1p-150"), 0.0);
    assert_eq!(one("0x1.8p-150"), f32::from_bits(1));
    assert_eq!(one("0x1.000001p-150"), f32::from_bits(1));
    // Ties to even at 24 bits, and digits past the first 15 still decide a tie.
    assert_eq!(one("0x1.000001p0"), 1.0);
    assert_eq!(one("0x1.000003p0"), 1.0 + 2.0 * f32::EPSILON);
    assert_eq!(one("0x1.0000010000000000000001p0"), 1.0 + f32::EPSILON);
    assert_eq!(one("0x100000100000000000000000p-92"), 1.0);
    assert_eq!(one("0x100000100000000000000001p-92"), 1.0 + f32::EPSILON);
    // Past f32's range: an error naming the element, as for decimals.
    assert_eq!(
        parse_vector("[0x1p128]"),
        Err(ParseError::OutOfRange("0x1p128".into()))
    );
    assert_eq!(
        parse_vector("[0x1.ffffffp127]"),
        Err(ParseError::OutOfRange("0x1.ffffffp127".into()))
    );
    // Without a hex digit after 0x, strtof reads only the 0: the x is unexpected.
    assert_eq!(malformed("[0x]"), "unexpected character 'x' at position 2");
    assert_eq!(
        malformed("[0x.p1]"),
        "unexpected character 'x' at position 2"
    );
    // An incomplete binary exponent is left unread.
    assert_eq!(
        malformed("[0x1p]"),
        "unexpected character 'p' at position 4"
    );
    assert_eq!(
        malformed("[0x1g]"),
        "unexpected character 'g' at position 4"
    );
}
