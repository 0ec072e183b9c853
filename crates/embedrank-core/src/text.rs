//! The pgvector text format: `[1,2.5,-3e-07]`.
//!
//! Design:
//! * [`parse_vector`] is a single left-to-right pass over the bytes that
//!   reports what pgvector 0.8.6 reports, in the same order. Each element is
//!   read the way C `strtof` reads it: the longest prefix that is a decimal
//!   number (`[+-]digits[.digits][e[+-]digits]`, at least one mantissa digit;
//!   an incomplete exponent is left unread), a hexadecimal one
//!   (`[+-]0x hexdigits[.hexdigits][p[+-]digits]`, as `0x1.8p3`; converted by
//!   [`hex_to_f32`], correctly rounded to nearest-even, subnormals included),
//!   or one of the words `nan`, `inf`, `infinity` (any case, optional sign). That value is checked first —
//!   NaN, infinity and `f32` overflow (`4e38`) are errors even when junk
//!   follows — and only then must whitespace, `,` or `]` come next.
//!   `str::parse::<f32>` converts the prefix (correctly rounded, like
//!   `strtof`; underflow gives zero or a subnormal). Whitespace is the C
//!   `isspace` set, allowed around every element. Before each element the
//!   dimension count is checked, so element 16001 is an error whatever it is.
//! * [`format_vector`] prints each element with the shortest digits that
//!   round-trip the `f32` bit-exactly (Rust's float formatting is shortest
//!   round-trip). Like PostgreSQL's `float4out`, values with a decimal
//!   exponent in `-4..6` print in fixed notation (`100000`, `0.0001`, no
//!   trailing `.0`) and everything else in C-style exponent form with a sign
//!   and at least two exponent digits (`1e+06`, `1.5e-07`).

use std::fmt::{self, Write};

/// Maximum number of dimensions of a vector (pgvector's limit).
pub const MAX_DIMS: usize = 16000;

/// Why a string is not a valid vector literal.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// `[]`: a vector needs at least one dimension.
    Empty,
    /// Syntax error, with a human-readable detail.
    Malformed(String),
    /// An element is spelled `nan`.
    NaN,
    /// An element is spelled `inf` or `infinity`.
    Infinite,
    /// An element overflows `f32` (`4e38`); carries the element as written.
    OutOfRange(String),
    /// More than [`MAX_DIMS`] elements.
    TooManyDims,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("vector must have at least 1 dimension"),
            ParseError::Malformed(detail) => {
                write!(f, "invalid input syntax for type vector: {detail}")
            }
            ParseError::NaN => f.write_str("NaN not allowed in vector"),
            ParseError::Infinite => f.write_str("infinite value not allowed in vector"),
            ParseError::OutOfRange(tok) => {
                write!(f, "\"{tok}\" is out of range for type vector")
            }
            ParseError::TooManyDims => {
                write!(f, "vector cannot have more than {MAX_DIMS} dimensions")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// C `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Cursor over the input bytes.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        let bytes = self.s.as_bytes();
        while self.pos < bytes.len() && is_space(bytes[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// "unexpected character 'x' at position N" (N = 0-based char index), or
    /// "missing ']'" at the end of the input.
    fn unexpected_here(&self) -> ParseError {
        match self.s[self.pos..].chars().next() {
            Some(c) => {
                let char_pos = self.s[..self.pos].chars().count();
                ParseError::Malformed(format!("unexpected character '{c}' at position {char_pos}"))
            }
            None => ParseError::Malformed("missing ']'".into()),
        }
    }
}

/// Number of leading ASCII digits of `s`.
fn digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// What the longest `strtof`-readable prefix of an element is.
enum Number {
    /// A decimal number of this many bytes.
    Decimal(usize),
    /// A hexadecimal number of this many bytes (sign and `0x` included).
    Hex(usize),
    /// `nan` of this many bytes.
    NaN,
    /// `inf`/`infinity`.
    Infinite,
}

/// Number of leading ASCII hex digits of `s`.
fn hex_digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_hexdigit()).count()
}

/// Length of the number `strtof` reads at the start of `s` (no sign): `mantissa_digits`
/// before and after an optional `.`, at least one of them, then an optional exponent (`marker`
/// either case, optional sign, at least one decimal digit; an incomplete exponent is left unread).
/// `None` when there is no mantissa digit.
fn strtof_len(s: &[u8], mantissa_digits: fn(&[u8]) -> usize, marker: u8) -> Option<usize> {
    let int = mantissa_digits(s);
    let mut i = int;
    let mut frac = 0;
    if s.get(i) == Some(&b'.') {
        frac = mantissa_digits(&s[i + 1..]);
        if int + frac > 0 {
            i += 1 + frac;
        }
    }
    if int + frac == 0 {
        return None;
    }
    if s.get(i).map(u8::to_ascii_lowercase) == Some(marker) {
        let exp_sign = usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let exp = digits(s.get(i + 1 + exp_sign..).unwrap_or_default());
        if exp > 0 {
            i += 1 + exp_sign + exp;
        }
    }
    Some(i)
}

/// The value of a hexadecimal float token as [`number_prefix`] delimits it (`[+-]0x…[p…]`), rounded
/// to the nearest `f32`, ties to even, as `strtof` rounds; an overflow is infinite, an underflow a
/// subnormal or zero. Exactly: up to 15 leading hex digits are kept, any non-zero digit beyond
/// them only marks the value as above the kept ones (a sticky bit), so rounding sees the exact
/// value's side of every halfway point.
pub fn hex_to_f32(tok: &str) -> f32 {
    let b = tok.as_bytes();
    let negative = b.first() == Some(&b'-');
    let sign = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let body = &b[sign + 2..];
    let (mut mant, mut exp2, mut sticky, mut i) = (0u64, 0i64, false, 0usize);
    let mut seen_point = false;
    while i < body.len() {
        let c = body[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            if mant >> 56 == 0 {
                mant = mant << 4 | u64::from(d);
                if seen_point {
                    exp2 -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exp2 += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if matches!(body.get(i), Some(b'p' | b'P')) {
        let rest = &body[i + 1..];
        let (neg, digits_at) = match rest.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let mut e: i64 = 0;
        for &c in rest[digits_at..].iter().take_while(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(1 << 20);
        }
        exp2 += if neg { -e } else { e };
    }
    let magnitude = round_to_f32(mant, exp2, sticky);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// `mant · 2^exp2` (plus a little more when `sticky`) rounded to the nearest `f32`, ties to even.
fn round_to_f32(mant: u64, exp2: i64, sticky: bool) -> f32 {
    if mant == 0 {
        return 0.0;
    }
    let bits = 64 - i64::from(mant.leading_zeros());
    let top = bits - 1 + exp2; // exponent of the leading bit
    if top > 127 {
        return f32::INFINITY;
    }
    // Significant bits an f32 keeps at this magnitude: 24 for normals, fewer for subnormals.
    let keep = if top >= -126 { 24 } else { 24 - (-126 - top) };
    if keep < 0 {
        return 0.0; // below half the smallest subnormal
    }
    let shift = bits - keep;
    let (mut kept, mut exp) = (mant, exp2);
    if shift > 0 {
        let dropped = mant & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        kept = mant >> shift;
        exp += shift;
        let above_half = dropped > half || (dropped == half && sticky);
        let tie = dropped == half && !sticky;
        if above_half || (tie && kept & 1 == 1) {
            kept += 1;
        }
    }
    // kept < 2^25 and the exponent is within f64's range: the product is exact in f64, and the
    // result is an f32 value (or overflows to infinity after rounding up).
    let v = kept as f64 * f64::from_bits(((exp + 1023) as u64) << 52);
    if v > f32::MAX as f64 {
        f32::INFINITY
    } else {
        v as f32
    }
}

/// The longest prefix of `s` that `strtof` would read, or `None` if it reads nothing.
fn number_prefix(s: &[u8]) -> Option<Number> {
    let sign = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let rest = &s[sign..];
    if rest.len() > 2 && rest[0] == b'0' && matches!(rest[1], b'x' | b'X') {
        // Without a hex digit after `0x`, strtof reads just the `0` (as a decimal, below).
        if let Some(len) = strtof_len(&rest[2..], hex_digits, b'p') {
            return Some(Number::Hex(sign + 2 + len));
        }
    }
    let lower = |n: usize| rest.get(..n).map(|w| w.to_ascii_lowercase());
    if lower(3).as_deref() == Some(b"nan") {
        return Some(Number::NaN);
    }
    if lower(3).as_deref() == Some(b"inf") {
        return Some(Number::Infinite);
    }
    strtof_len(rest, digits, b'e').map(|len| Number::Decimal(sign + len))
}

/// What C `strtof` reads at the start of a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strtof {
    /// A number (rounded to `f32`: infinite past its range, zero or subnormal below) and the bytes
    /// it took.
    Value(f32, usize),
    /// `nan`.
    NaN,
    /// `inf` / `infinity`.
    Infinite,
}

/// What `strtof` reads at the start of `s` (no leading space skipped); `None` when it reads nothing.
pub fn strtof(s: &str) -> Option<Strtof> {
    match number_prefix(s.as_bytes())? {
        Number::NaN => Some(Strtof::NaN),
        Number::Infinite => Some(Strtof::Infinite),
        number @ (Number::Decimal(len) | Number::Hex(len)) => {
            let tok = &s[..len];
            let v = if matches!(number, Number::Hex(_)) {
                hex_to_f32(tok)
            } else {
                // The prefix is a valid Rust float literal; Rust's parse rounds correctly, as strtof.
                tok.parse().unwrap_or(f32::NAN)
            };
            Some(Strtof::Value(v, len))
        }
    }
}

/// Whether a number as written has a non-zero digit in its mantissa (so a value of 0 means it
/// underflowed, which `strtof` reports as ERANGE).
pub fn nonzero_mantissa(tok: &str) -> bool {
    let t = tok.trim_start_matches(['+', '-']);
    let (hex, body) = match t.get(..2) {
        Some("0x" | "0X") => (true, &t[2..]),
        _ => (false, t),
    };
    let end = body
        .find(if hex { ['p', 'P'] } else { ['e', 'E'] })
        .unwrap_or(body.len());
    body[..end]
        .bytes()
        .any(|b| b.is_ascii_alphanumeric() && b != b'0')
}

/// Reads one element at the cursor and moves past it (not past what follows); returns the value and
/// the element as written.
fn parse_element<'s>(cur: &mut Cursor<'s>) -> Result<(f32, &'s str), ParseError> {
    match strtof(&cur.s[cur.pos..]) {
        None => Err(cur.unexpected_here()),
        Some(Strtof::NaN) => Err(ParseError::NaN),
        Some(Strtof::Infinite) => Err(ParseError::Infinite),
        Some(Strtof::Value(v, len)) => {
            let tok = &cur.s[cur.pos..cur.pos + len];
            if v.is_infinite() {
                return Err(ParseError::OutOfRange(tok.to_owned()));
            }
            cur.pos += len;
            Ok((v, tok))
        }
    }
}

/// Parses a pgvector literal such as `[1, 2.5, -3e-7]`.
pub fn parse_vector(s: &str) -> Result<Vec<f32>, ParseError> {
    parse_vector_as(s, |v, _| Ok(v))
}

/// Parses a literal of the vector shape, each element read as `f32` (as `strtof` reads it) and
/// then turned into an element by `element(value, as_written)`, which may refuse it. Errors come in
/// pgvector's order: the first offending element from the left wins.
pub fn parse_vector_as<T>(
    s: &str,
    mut element: impl FnMut(f32, &str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    let mut cur = Cursor { s, pos: 0 };
    cur.skip_space();
    if cur.peek() != Some(b'[') {
        return Err(ParseError::Malformed(
            "Vector contents must start with \"[\".".into(),
        ));
    }
    cur.pos += 1;
    cur.skip_space();
    if cur.peek() == Some(b']') {
        return Err(ParseError::Empty);
    }
    let mut out = Vec::new();
    loop {
        if out.len() == MAX_DIMS {
            return Err(ParseError::TooManyDims);
        }
        cur.skip_space();
        let (v, tok) = parse_element(&mut cur)?;
        out.push(element(v, tok)?);
        cur.skip_space();
        match cur.peek() {
            Some(b',') => cur.pos += 1,
            Some(b']') => {
                cur.pos += 1;
                break;
            }
            _ => return Err(cur.unexpected_here()),
        }
    }
    cur.skip_space();
    if cur.pos < s.len() {
        return Err(ParseError::Malformed(
            "Junk after closing right brace.".into(),
        ));
    }
    Ok(out)
}

/// Fixed-capacity stack buffer for formatting one float without allocating.
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `x` in shortest round-trip form, as Postgres prints a `real` (see module docs).
pub fn write_f32(out: &mut String, x: f32) {
    if x != 0.0 && x.is_finite() {
        // `{:e}` prints the shortest round-trip digits as `d.ddde[-]N`; its
        // exponent decides between fixed and exponent notation.
        let mut b = StackBuf {
            buf: [0; 48],
            len: 0,
        };
        let _ = write!(b, "{x:e}");
        let text = std::str::from_utf8(&b.buf[..b.len]).unwrap_or_default();
        if let Some((mantissa, exp)) = text.split_once('e') {
            let n: i32 = exp.parse().unwrap_or(0);
            if !(-4..6).contains(&n) {
                let sign = if n < 0 { '-' } else { '+' };
                let _ = write!(out, "{mantissa}e{sign}{:02}", n.unsigned_abs());
                return;
            }
        }
    }
    // Display is also shortest round-trip, never uses an exponent and prints
    // integers without `.0`.
    let _ = write!(out, "{x}");
}

/// Formats a vector as `[1,2.5,-0.001]`; parsing the result gives back the
/// same bits for every finite element.
pub fn format_vector(v: &[f32]) -> String {
    let mut out = String::with_capacity(2 + v.len() * 12);
    out.push('[');
    for (i, &x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_f32(&mut out, x);
    }
    out.push(']');
    out
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
