//! The pgvector text format: `[1,2.5,-3e-07]`.
//!
//! Design:
//! * [`parse_vector`] is a single left-to-right pass over the bytes. A number
//!   token is the maximal run of bytes up to whitespace, `,` or `]`; it is
//!   validated against a strict decimal grammar (`[+-]digits[.digits][e[+-]digits]`,
//!   at least one mantissa digit) before `str::parse::<f32>` converts it, so
//!   Rust's extra spellings (`inf`, `NaN`, `infinity`) never slip through.
//!   Those spellings and out-of-range values (`1e39`) are reported as
//!   [`ParseError::NonFinite`]. Whitespace is the C `isspace` set, allowed
//!   around every token. Beyond [`MAX_DIMS`] elements the parser keeps
//!   validating but stops storing, then reports the total count.
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
    /// An element is NaN, infinite, or overflows `f32`.
    NonFinite,
    /// More than [`MAX_DIMS`] elements; carries the count found.
    TooManyDims(usize),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("vector must have at least 1 dimension"),
            ParseError::Malformed(detail) => {
                write!(f, "invalid input syntax for type vector: {detail}")
            }
            ParseError::NonFinite => {
                f.write_str("NaN and infinite values are not allowed in a vector")
            }
            ParseError::TooManyDims(n) => {
                write!(
                    f,
                    "vector cannot have more than {MAX_DIMS} dimensions (got {n})"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// C `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Cursor over the input bytes.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        let bytes = self.s.as_bytes();
        while self.pos < bytes.len() && is_space(bytes[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// "unexpected character 'x' at position N" (N = 0-based char index).
    fn unexpected_at(&self, byte_pos: usize) -> ParseError {
        let c = self.s[byte_pos..].chars().next().unwrap_or('?');
        let char_pos = self.s[..byte_pos].chars().count();
        ParseError::Malformed(format!("unexpected character '{c}' at position {char_pos}"))
    }

    /// Takes the maximal run of bytes up to whitespace, `,` or `]`.
    fn token(&mut self) -> (usize, &'a str) {
        let bytes = self.s.as_bytes();
        let start = self.pos;
        while self.pos < bytes.len()
            && !matches!(bytes[self.pos], b',' | b']')
            && !is_space(bytes[self.pos])
        {
            self.pos += 1;
        }
        (start, &self.s[start..self.pos])
    }
}

/// Index of the first byte of `tok` that breaks the decimal grammar, or
/// `tok.len()` if it is complete but has no mantissa digit / empty exponent.
/// Returns `None` when `tok` is a valid decimal literal.
fn grammar_error(tok: &[u8]) -> Option<usize> {
    let mut i = 0;
    if matches!(tok.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < tok.len() && tok[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if tok.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while i < tok.len() && tok[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return Some(i);
    }
    if matches!(tok.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(tok.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < tok.len() && tok[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return Some(i);
        }
    }
    (i < tok.len()).then_some(i)
}

/// True for the non-finite spellings `strtof` would accept.
fn is_non_finite_word(tok: &str) -> bool {
    let t = tok.trim_start_matches(['+', '-']).to_ascii_lowercase();
    matches!(t.as_str(), "nan" | "inf" | "infinity")
}

/// Parses one number token starting at byte `start`.
fn parse_number(cur: &Cursor<'_>, start: usize, tok: &str) -> Result<f32, ParseError> {
    if let Some(bad) = grammar_error(tok.as_bytes()) {
        if is_non_finite_word(tok) {
            return Err(ParseError::NonFinite);
        }
        let at = start + bad;
        return Err(if at < cur.s.len() {
            cur.unexpected_at(at)
        } else {
            ParseError::Malformed("missing ']'".into())
        });
    }
    let v: f32 = tok
        .parse()
        .map_err(|_| ParseError::Malformed(format!("invalid number \"{tok}\"")))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ParseError::NonFinite)
    }
}

/// Parses a pgvector literal such as `[1, 2.5, -3e-7]`.
pub fn parse_vector(s: &str) -> Result<Vec<f32>, ParseError> {
    let mut cur = Cursor { s, pos: 0 };
    cur.skip_space();
    match cur.peek() {
        Some(b'[') => cur.pos += 1,
        Some(_) => {
            return Err(ParseError::Malformed(
                "vector contents must start with '['".into(),
            ))
        }
        None => return Err(ParseError::Malformed("empty string, expected '['".into())),
    }
    cur.skip_space();
    let mut out = Vec::new();
    let mut count = 0usize;
    if cur.peek() == Some(b']') {
        cur.pos += 1;
    } else {
        loop {
            cur.skip_space();
            let (start, tok) = cur.token();
            if tok.is_empty() {
                return Err(match cur.peek() {
                    Some(_) => cur.unexpected_at(start),
                    None => ParseError::Malformed("missing ']'".into()),
                });
            }
            let v = parse_number(&cur, start, tok)?;
            count += 1;
            if count <= MAX_DIMS {
                out.push(v);
            }
            cur.skip_space();
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b']') => {
                    cur.pos += 1;
                    break;
                }
                Some(_) => return Err(cur.unexpected_at(cur.pos)),
                None => return Err(ParseError::Malformed("missing ']'".into())),
            }
        }
    }
    cur.skip_space();
    if cur.pos < s.len() {
        return Err(ParseError::Malformed(
            "junk after closing right brace".into(),
        ));
    }
    match count {
        0 => Err(ParseError::Empty),
        n if n > MAX_DIMS => Err(ParseError::TooManyDims(n)),
        _ => Ok(out),
    }
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

/// Appends one element in shortest round-trip form (see module docs).
fn write_f32(out: &mut String, x: f32) {
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
