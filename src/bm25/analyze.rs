//! Text analysis: Postgres's own `to_tsvector(config, text)`, read back as (lexeme, frequency).
//!
//! The configuration (parser, Snowball stemmer, stop words) is the index's `text_config` option, so
//! `negligent` and `negligence` share the lexeme `neglig`, stop words are dropped, and tokens the
//! parser keeps whole (numbers, versions, host names, e-mail addresses, hyphenated words and their
//! parts) stay intact, exactly as `to_tsvector` shows them. A document's length is the sum of its
//! lexemes' frequencies (its words less stop words).
//!
//! Limits inherited from `tsvector`: a lexeme's frequency is its number of positions, which
//! tsvector caps at 256, and words past position 16,383 share the last position (so they count
//! once per lexeme); lexemes are at most 2,047 bytes and a tsvector at most 1 MB (longer texts are
//! an ERROR from `to_tsvector` itself, 54000).

use pgrx::pg_sys;

/// A text as BM25 sees it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Analyzed {
    /// Distinct lexemes (in tsvector order: by length, then bytes) and their frequencies.
    pub terms: Vec<(Vec<u8>, u32)>,
    /// Sum of the frequencies.
    pub len: u32,
}

/// Analyse the `text` datum with configuration `config`.
///
/// # Safety
/// `text` must be a non-null `text` datum.
pub unsafe fn analyze(config: pg_sys::Oid, text: pg_sys::Datum) -> Analyzed {
    let tsv = pg_sys::OidFunctionCall2Coll(
        pg_sys::Oid::from(pg_sys::F_TO_TSVECTOR_REGCONFIG_TEXT),
        pg_sys::InvalidOid,
        pg_sys::Datum::from(config),
        text,
    );
    let out = read_tsvector(tsv);
    pg_sys::pfree(tsv.cast_mut_ptr());
    out
}

/// Analyse text given as bytes in the database encoding (a query) with `config`.
pub fn analyze_str(config: pg_sys::Oid, s: &[u8]) -> Analyzed {
    unsafe {
        let t = pg_sys::cstring_to_text_with_len(s.as_ptr() as *const _, s.len() as i32);
        let out = analyze(config, pg_sys::Datum::from(t));
        pg_sys::pfree(t as *mut _);
        out
    }
}

/// The lexemes and position counts of a (detoasted) tsvector datum.
unsafe fn read_tsvector(datum: pg_sys::Datum) -> Analyzed {
    let tsv = datum.cast_mut_ptr::<pg_sys::TSVectorData>();
    let size = (*tsv).size.max(0) as usize;
    let entries = (*tsv).entries.as_ptr();
    let strings = entries.add(size) as *const u8;
    let mut out = Analyzed {
        terms: Vec::with_capacity(size),
        len: 0,
    };
    for i in 0..size {
        let e = &*entries.add(i);
        let (pos, len) = (e.pos() as usize, e.len() as usize);
        let lexeme = std::slice::from_raw_parts(strings.add(pos), len).to_vec();
        let tf = if e.haspos() != 0 {
            // The position vector follows the lexeme, 2-aligned: a u16 count, then positions.
            let at = (pos + len + 1) & !1;
            std::ptr::read_unaligned(strings.add(at) as *const u16) as u32
        } else {
            1
        };
        let tf = tf.max(1);
        out.len = out.len.saturating_add(tf);
        out.terms.push((lexeme, tf));
    }
    out
}
