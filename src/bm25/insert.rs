//! aminsert: a new row gets the next document id; its entry and the corpus statistics are written
//! first (one WAL record), then each lexeme's posting is appended to the tail block of its list (a
//! new block when that one is full, a new dictionary entry for a new lexeme).
//!
//! Writers (inserts and VACUUM) take the index's writer lock; scans take none. A write is a series
//! of WAL records; an ERROR or crash in between leaves postings of a row whose transaction did not
//! commit — rows a scan's heap visit drops and VACUUM removes, exactly as for any index. Every
//! record leaves each list a readable chain in ascending document order.

use super::analyze::Analyzed;
use super::build::{too_many_documents, write_meta_page};
use super::dictionary::{add_entry, lookup, update_entry};
use super::docs;
use super::format::{self as f, DocEntry, Meta, Posting, TermEntry};
use super::postings::{append_in_place, link_block, next_room, place_block};
use pgrx::pg_sys;

/// Index row `tid`, analysed as `a` (None: its text is NULL). The caller holds the writer lock and
/// read `meta` under it.
pub fn insert_document(
    index: pg_sys::Relation,
    mut meta: Meta,
    a: Option<Analyzed>,
    tid: pg_sys::ItemPointerData,
) {
    let null = a.is_none();
    let a = a.unwrap_or_default();
    if meta.next_doc >= f::MAX_DOC {
        too_many_documents();
    }
    let doc = meta.next_doc;
    meta.next_doc += 1;
    if a.len > 0 {
        meta.docs += 1;
        meta.total_len += a.len as u64;
    }
    docs::append(
        index,
        &mut meta,
        &DocEntry {
            doc,
            len: a.len,
            tid,
            deleted: false,
            null,
        },
    );
    let tail_before = meta.postings_tail;
    for (term, tf) in a.terms {
        let p = Posting {
            doc,
            len: a.len,
            tf: tf.min(u16::MAX as u32) as u16,
            tid,
        };
        match lookup(index, &meta, &term) {
            Some((at, mut e)) => {
                if e.tail.is_none() {
                    let nb = place_block(index, &mut meta, &[p], next_room(0));
                    e.head = nb;
                    e.tail = nb;
                } else if let Err(full) = append_in_place(index, e.tail, &p) {
                    let nb = place_block(index, &mut meta, &[p], next_room(full));
                    link_block(index, e.tail, nb);
                    e.tail = nb;
                }
                e.max_tf = if e.df == 0 { p.tf } else { e.max_tf.max(p.tf) };
                e.min_len = if e.df == 0 {
                    p.len
                } else {
                    e.min_len.min(p.len)
                };
                e.df += 1;
                update_entry(index, at, &e);
            }
            None => {
                let nb = place_block(index, &mut meta, &[p], next_room(0));
                add_entry(
                    index,
                    &meta,
                    &TermEntry {
                        df: 1,
                        head: nb,
                        tail: nb,
                        max_tf: p.tf,
                        min_len: p.len,
                        term,
                    },
                );
            }
        }
    }
    if meta.postings_tail != tail_before {
        write_meta_page(index, &meta);
    }
}
