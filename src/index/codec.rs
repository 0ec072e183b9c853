//! How an index's elements hold their values, and how they are read back as the float4 the graph
//! searches with: the column's own form (float4, halves, bit words, packed sparse entries), or — with
//! `WITH (quantizer = 'sq8' | 'sq4')` — codes of a per-dimension scalar quantizer (the core crate's
//! [`Sq8`], chosen by the measurement in BENCHMARKS.md "Compressed traversal").
//!
//! Quantized elements (issue 9 §2):
//! - The quantizer is trained at `CREATE INDEX` on the rows present (each dimension's range) and kept
//!   on pages of its own ([`page::KIND_QUANT`], consecutive from `Meta::quant_block`): 8 bytes per
//!   dimension, written once, never changed until REINDEX. A table empty at build has nothing to
//!   train on: the index then stores the column's own form (a NOTICE says so; REINDEX after loading).
//! - An element stores its error bound first — how far the row's values are from what its codes
//!   stand for (L2 norm; L1 under L1), rounded up — then the codes. Rows outside the trained ranges
//!   are clamped and simply get a larger bound.
//! - Searches and inserts traverse the decoded codes. The exact vectors live only in the table: the
//!   scan re-ranks its candidates by reading their rows (`rerank`), opening them in order of their
//!   code distance less what the bound allows (`scan::lower_bound`), so it reads only the rows the
//!   exact order needs; on an expression index it returns those lower bounds with
//!   `xs_recheckorderby` and Postgres re-sorts by the exact distance computed from the heap row.

use super::metric::search_metric;
use super::pages::buffer::{with_page, ExclusiveBuffer};
use super::pages::format::{self as page, Encoding, Meta, QUANT_ERROR_BYTES};
use super::pages::wal::WalWrite;
use super::write::add_item;
use crate::errors::{raise, Code};
use embedrank_core::distance::Metric;
use embedrank_core::hnsw::InMemoryGraph;
use embedrank_core::quantize::{Quantizer, Sq8};
use pgrx::pg_sys;

/// Bytes of quantizer parameters per page (one item per page).
const PARAM_BYTES_PER_PAGE: usize = 8000;

/// Bits per dimension of a quantized encoding's codes.
fn code_bits(enc: Encoding) -> u32 {
    if enc == Encoding::Sq8 {
        8
    } else {
        4
    }
}

/// An index's element encoding, with its trained quantizer when it has one.
pub struct Codec {
    pub enc: Encoding,
    quantizer: Option<Sq8>,
}

impl Codec {
    /// The column's own form (no quantizer).
    pub fn plain(enc: Encoding) -> Self {
        assert!(
            !enc.is_quantized(),
            "a quantized encoding needs its quantizer"
        );
        Codec {
            enc,
            quantizer: None,
        }
    }

    /// The codec of the index whose meta page is `meta`: for a quantized one, its parameters read
    /// from the quantizer pages.
    pub unsafe fn load(index: pg_sys::Relation, meta: &Meta) -> Self {
        let enc = meta.encoding();
        if !enc.is_quantized() {
            return Codec::plain(enc);
        }
        let dims = meta.dims as usize;
        let mut bytes = Vec::with_capacity(8 * dims);
        let mut block = meta.quant_block;
        while bytes.len() < 8 * dims {
            if block == page::META_BLOCK || block >= super::pages::buffer::block_count(index) {
                raise(
                    Code::ERRCODE_INDEX_CORRUPTED,
                    format!(
                        "index \"{}\" is missing its quantizer pages",
                        page::rel_name(index)
                    ),
                    Some("REINDEX the index."),
                );
            }
            with_page(index, block, page::KIND_QUANT, |p| {
                if pg_sys::PageGetMaxOffsetNumber(p) < 1 {
                    raise(
                        Code::ERRCODE_INDEX_CORRUPTED,
                        format!(
                            "index \"{}\" has an empty quantizer page at block {block}",
                            page::rel_name(index)
                        ),
                        Some("REINDEX the index."),
                    );
                }
                let id = pg_sys::PageGetItemId(p, 1);
                let item = pg_sys::PageGetItem(p, id) as *const u8;
                let len = ((*id).lp_len() as usize).min(8 * dims - bytes.len());
                bytes.extend_from_slice(std::slice::from_raw_parts(item, len));
            });
            block += 1;
        }
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let (min, scale) = floats.split_at(dims);
        Codec {
            enc,
            quantizer: Some(Sq8::from_parts(
                search_metric(meta.metric, enc),
                code_bits(enc),
                min.to_vec(),
                scale.to_vec(),
            )),
        }
    }

    /// The codec a build writes with: `quantized` (the index option) trained on the graph's
    /// vectors, or the column's form `column` when there is no option or no row to train on.
    pub fn for_build(
        column: Encoding,
        quantized: Option<Encoding>,
        metric: Metric,
        graph: &InMemoryGraph,
    ) -> Self {
        // The ranges of every stored vector (cosine: the unit vectors the index stores).
        let rows = (0..graph.len() as u32).map(|id| graph.vector(id));
        Codec::for_build_rows(column, quantized, metric, rows, graph.dims())
    }

    /// [`Codec::for_build`] from the build's `rows` (of `dims` values) themselves: where the graph
    /// no longer holds them (set aside to a temporary file).
    pub fn for_build_rows<R: AsRef<[f32]>>(
        column: Encoding,
        quantized: Option<Encoding>,
        metric: Metric,
        rows: impl ExactSizeIterator<Item = R>,
        dims: usize,
    ) -> Self {
        let Some(enc) = quantized else {
            return Codec::plain(column);
        };
        if rows.len() == 0 {
            return Codec::plain(column);
        }
        Codec {
            enc,
            quantizer: Some(Sq8::train_rows(rows, dims, metric, code_bits(enc))),
        }
    }

    /// The bytes an element stores for `v` (the graph's float4 values).
    pub fn payload(&self, v: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; self.enc.value_bytes(v.len())];
        match &self.quantizer {
            None => self.enc.encode(v, &mut out),
            Some(q) => {
                let (bound, codes) = out.split_at_mut(QUANT_ERROR_BYTES);
                q.encode(v, codes);
                bound.copy_from_slice(&q.error(v, codes).to_ne_bytes());
            }
        }
        out
    }

    /// `values` values read back from an element's `bytes` (not read in place: halves, codes).
    pub fn decode(&self, bytes: &[u8], values: usize, out: &mut Vec<f32>) {
        match &self.quantizer {
            None => self.enc.decode(bytes, values, out),
            Some(q) => {
                out.resize(values, 0.0);
                q.decode_into(&bytes[QUANT_ERROR_BYTES..], out);
            }
        }
    }

    /// `metric`'s distance from `query` to a quantized element's decoded values, computed on the
    /// codes in place (bit for bit the decoded vector's distance; `scratch` holds unpacked 4-bit
    /// codes); `None` when the element holds the column's own form.
    pub fn distance(&self, query: &[f32], bytes: &[u8], scratch: &mut Vec<u8>) -> Option<f32> {
        let q = self.quantizer.as_ref()?;
        Some(q.index_distance(query, &bytes[QUANT_ERROR_BYTES..], scratch))
    }

    /// A quantized element's error bound (0 for exact values).
    pub fn error(&self, bytes: &[u8]) -> f32 {
        if self.quantizer.is_none() {
            return 0.0;
        }
        f32::from_ne_bytes(bytes[..QUANT_ERROR_BYTES].try_into().expect("4 bytes"))
    }

    /// Append the quantizer's pages to the index (at build, after the graph); returns the first
    /// block, or `META_BLOCK` when there is no quantizer.
    pub unsafe fn write_pages(&self, index: pg_sys::Relation) -> u32 {
        let Some(q) = &self.quantizer else {
            return page::META_BLOCK;
        };
        let (_, min, scale) = q.parts();
        let bytes: Vec<u8> = min
            .iter()
            .chain(scale)
            .flat_map(|x| x.to_ne_bytes())
            .collect();
        let mut first = page::META_BLOCK;
        for chunk in bytes.chunks(PARAM_BYTES_PER_PAGE) {
            let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
            if first == page::META_BLOCK {
                first = buf.block();
            }
            let mut wal = WalWrite::start(index);
            let p = wal.page(buf, true);
            page::init_page(p, page::KIND_QUANT);
            add_item(p, chunk);
            wal.commit();
        }
        first
    }
}

// One page holds a chunk of parameters as its only item.
const _: () = assert!(page::item_footprint(PARAM_BYTES_PER_PAGE) <= page::PAGE_USABLE);
