//! SQL functions of the inference layer.
//!
//! - `embed(input text, model, input_type) → vector`: one text. NULL in, NULL out.
//! - `embed(inputs text[], model, input_type) → vector[]`: many texts in input order, tokenized in
//!   parallel and run in length-sorted, dynamically padded batches; NULL elements give NULL.
//! - `rerank(query, documents text[], model, top_n, min_score, budget_ms) → (idx, score)`:
//!   cross-encoder scores (sigmoid of the logit), best first; `idx` is the 1-based array position;
//!   NULL documents skipped; with a latency budget, the documents it left unscored follow in array
//!   order with a NULL score.
//! - `models()` and `load(model)`: what is installed, what this backend has loaded (and with how many
//!   threads, after the `embedrank.max_threads` ceiling), warm-up.
//!
//! Both are declared COST 10000 (a model call is ~10^4 times a plain operator): with the default
//! cost of 1, generic plans of prepared statements evaluate `embed($1)` once per row instead of once.
//!
//! Volatility. `embed(x)` and `rerank(...)` without a model use a setting any role can change, so they
//! are STABLE: an expression index or generated column on them would go stale when the setting
//! changes. `embed(x, 'model')` with a constant model name is IMMUTABLE in effect: the SQL function
//! `embed` is STABLE, and its planner support function (`embed_support`, SupportRequestSimplify)
//! turns every call whose model argument is a non-NULL constant into `embed_with_model(...)`, the
//! IMMUTABLE twin, which refuses a NULL model instead of reading the setting. Postgres checks index
//! expressions and generated columns after this simplification, so `CREATE INDEX ... (embed(body,
//! 'bge-small-en-v1.5'))` is accepted and `CREATE INDEX ... (embed(body))` is refused ("functions in
//! index expression must be marked IMMUTABLE"), while every call keeps its old signature and meaning
//! (`embed(x)`, `embed(x, 'm')`, `embed(x, input_type => 'query')`, `embed(x, model => NULL)`).
//! Why not two SQL overloads: `embed(text, text)` would be ambiguous between "model" and
//! "input_type", and a NULL model in an IMMUTABLE overload must either fail or read the setting.
//! The promise still assumes a model's files do not change: rebuild after replacing them.

use super::cache;
use super::errors::OrRaise;
use super::settings;
use crate::errors::{raise, reserve_exact, Code};
use crate::vector::Vector;
use embedrank_infer::{list_models, sigmoid, Budget, Cancel, InputType};
use pgrx::prelude::*;
use pgrx::Array;

/// Texts per call into the model layer: bounds the model layer's memory (tokens, batches, outputs of
/// one chunk) whatever the array's size, and keeps cancellation prompt.
const CHUNK: usize = 256;
/// Longest input kept, in bytes per token of the model's max length: far beyond any real token
/// (WordPiece words over 100 characters become one [UNK]), so truncation is still the model's own,
/// but a 10 MB text is never tokenized whole.
const BYTES_PER_TOKEN_CAP: usize = 64;

fn input_type(s: &str) -> InputType {
    match s {
        "query" => InputType::Query,
        "document" => InputType::Document,
        other => raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("input_type must be 'query' or 'document', not '{other}'"),
            Some("Queries get the model's query prefix, documents its document prefix."),
        ),
    }
}

/// The `input_type` argument; NULL is an error rather than a silent default.
fn input_type_arg(s: Option<&str>) -> InputType {
    match s {
        Some(s) => input_type(s),
        None => raise(
            Code::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "input_type must not be NULL",
            Some("Use 'query' for search queries and 'document' for stored text."),
        ),
    }
}

/// Cut `s` to at most `max` bytes on a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Postgres interrupts, as inference asks about them (see `embedrank_infer::Cancel`). `pending` only
/// reads what Postgres' signal handlers set, so it is safe while lane threads are inside ONNX Runtime;
/// `check` processes the interrupts — an ERROR unwinds, a FATAL (`pg_terminate_backend`) exits the
/// process — and inference asks it only when none of its threads is inside ONNX Runtime: exiting with
/// a lane still running a session crashed the backend in ORT's static destructors.
pub(super) struct Interrupts;

impl Cancel for Interrupts {
    fn pending(&self) -> bool {
        // As ProcessInterrupts: nothing is processed while interrupts are held off.
        unsafe {
            std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::InterruptPending)) != 0
                && std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::InterruptHoldoffCount)) == 0
                && std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::CritSectionCount)) == 0
        }
    }

    fn check(&self) -> bool {
        pg_sys::check_for_interrupts!();
        false
    }
}

/// The named model, or the default from `default_name`, loaded in this backend.
fn model_or_default(
    model: Option<&str>,
    default_name: fn() -> String,
) -> std::rc::Rc<embedrank_infer::OnnxModel> {
    cache::get(&model.map(str::to_string).unwrap_or_else(default_name))
}

/// Embed `texts` with `model`, CHUNK at a time, with interrupts checked between batches, handing
/// each vector to `sink` in input order (the texts are borrowed, never copied).
fn embed_each<'t>(
    texts: impl Iterator<Item = &'t str>,
    model: Option<&str>,
    kind: InputType,
    mut sink: impl FnMut(&[f32]),
) {
    let m = model_or_default(model, settings::default_embedding_model);
    let embedder = m.as_embedder().or_raise();
    let cap = m.info().config.max_length * BYTES_PER_TOKEN_CAP;
    let mut texts = texts.peekable();
    let mut chunk: Vec<&str> = Vec::with_capacity(CHUNK);
    while texts.peek().is_some() {
        chunk.clear();
        chunk.extend(texts.by_ref().take(CHUNK).map(|t| clip(t, cap)));
        for v in embedder.embed_batch(&chunk, kind, &Interrupts).or_raise() {
            sink(&v);
        }
        Interrupts.check();
    }
}

/// Largest `vector[]` result `embed(text[])` builds (Postgres caps one value at 1 GB).
const MAX_RESULT_BYTES: usize = 1 << 29;

/// Output dimensions of the embedding model `model` (or the default one), loading it if needed.
fn embedding_dims(model: Option<&str>) -> usize {
    model_or_default(model, settings::default_embedding_model)
        .as_embedder()
        .or_raise()
        .dims()
}

/// One text: NULL in, NULL out.
fn embed_one(input: Option<&str>, model: Option<&str>, input_type: Option<&str>) -> Option<Vector> {
    let kind = input_type_arg(input_type);
    let text = input?;
    let mut out = None;
    embed_each(std::iter::once(text), model, kind, |v| {
        out = Some(v.to_vec())
    });
    Some(Vector(out.expect("one vector")))
}

/// Many texts in input order; NULL elements give NULL.
///
/// Memory: the texts are read where Postgres keeps the array (no copy); the result (at most
/// MAX_RESULT_BYTES) is allocated fallibly before any inference runs, so a result this process cannot
/// hold is ERROR 53200 at once, not an abort after minutes of work; what the model layer allocates is
/// bounded per CHUNK.
fn embed_all(
    inputs: Option<Array<'_, &str>>,
    model: Option<&str>,
    input_type: Option<&str>,
) -> Option<Vec<Option<Vector>>> {
    let kind = input_type_arg(input_type);
    let inputs = inputs?;
    let present = inputs.iter().flatten().count();
    // The result is one array value: it must stay below Postgres' 1 GB allocation limit.
    let dims = embedding_dims(model);
    let bytes = present.saturating_mul(8 + 4 * dims);
    let hint =
        "Embed in batches of a few thousand texts, e.g. with unnest() over slices of the array.";
    if bytes >= MAX_RESULT_BYTES {
        raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "embed() result for {present} texts would need {} MB",
                bytes >> 20
            ),
            Some(hint),
        );
    }
    let what = format!("the embed() result of {present} texts");
    let mut vectors: Vec<Vec<f32>> = Vec::new();
    reserve_exact(&mut vectors, present, &what, hint);
    for _ in 0..present {
        let mut v = Vec::new();
        reserve_exact(&mut v, dims, &what, hint);
        vectors.push(v);
    }
    let mut slots = vectors.iter_mut();
    embed_each(inputs.iter().flatten(), model, kind, |v| {
        slots.next().expect("a slot per text").extend_from_slice(v)
    });
    let mut result: Vec<Option<Vector>> = Vec::new();
    reserve_exact(&mut result, inputs.len(), &what, hint);
    let mut vectors = vectors.into_iter();
    result.extend(
        inputs
            .iter()
            .map(|t| t.map(|_| Vector(vectors.next().expect("vector per text")))),
    );
    Some(result)
}

/// The model of the IMMUTABLE form: never NULL, never the setting. The planner only routes calls
/// with a non-NULL constant model here; a direct call with NULL is refused.
fn fixed_model(model: Option<&str>) -> &str {
    model.unwrap_or_else(|| {
        raise(
            Code::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "embed_with_model() needs a model name, not NULL",
            Some("embed(input) uses the model named by embedrank.embedding_model."),
        )
    })
}

#[pg_extern(stable, parallel_safe, name = "embed", cost = 10000)]
pub fn embed(
    input: Option<&str>,
    model: default!(Option<&str>, "NULL"),
    input_type: default!(Option<&str>, "'document'"),
) -> Option<Vector> {
    embed_one(input, model, input_type)
}

#[pg_extern(stable, parallel_safe, name = "embed", cost = 10000)]
pub fn embed_array(
    inputs: Option<Array<'_, &str>>,
    model: default!(Option<&str>, "NULL"),
    input_type: default!(Option<&str>, "'document'"),
) -> Option<Vec<Option<Vector>>> {
    embed_all(inputs, model, input_type)
}

/// IMMUTABLE twin of `embed(input, model, input_type)` for a fixed model (see the module docs).
#[pg_extern(immutable, parallel_safe, name = "embed_with_model", cost = 10000)]
pub fn embed_with_model(
    input: Option<&str>,
    model: Option<&str>,
    input_type: Option<&str>,
) -> Option<Vector> {
    embed_one(input, Some(fixed_model(model)), input_type)
}

/// IMMUTABLE twin of `embed(inputs text[], model, input_type)` for a fixed model.
#[pg_extern(immutable, parallel_safe, name = "embed_with_model", cost = 10000)]
pub fn embed_with_model_array(
    inputs: Option<Array<'_, &str>>,
    model: Option<&str>,
    input_type: Option<&str>,
) -> Option<Vec<Option<Vector>>> {
    embed_all(inputs, Some(fixed_model(model)), input_type)
}

/// Planner support of `embed`: SupportRequestSimplify turns `embed(x, <non-NULL constant>, t)` into
/// `embed_with_model(x, <constant>, t)`; any other request or call is left alone (NULL pointer).
///
/// # Safety
/// `req` is the support request node the planner passes.
unsafe fn route_fixed_model(req: *mut pg_sys::Node) -> *mut pg_sys::Node {
    let none = std::ptr::null_mut();
    if req.is_null() || (*req).type_ != pg_sys::NodeTag::T_SupportRequestSimplify {
        return none;
    }
    let call = (*(req as *mut pg_sys::SupportRequestSimplify)).fcall;
    // Defaults are filled in before the planner asks, so both embed() forms have three arguments.
    let args = (*call).args;
    if pg_sys::list_length(args) != 3 {
        return none;
    }
    let model = pg_sys::list_nth(args, 1) as *mut pg_sys::Node;
    if (*model).type_ != pg_sys::NodeTag::T_Const || (*(model as *mut pg_sys::Const)).constisnull {
        return none;
    }
    // The twin: same schema, same argument types, name embed_with_model. Looked up in the catalog
    // cache by OID, not by a qualified name: that would check USAGE on the schema as the planning
    // role, which a view's owner may have and the role selecting from the view may not.
    let mut argtypes: *mut pg_sys::Oid = std::ptr::null_mut();
    let mut nargs: std::ffi::c_int = 0;
    pg_sys::get_func_signature((*call).funcid, &mut argtypes, &mut nargs);
    let twin = pg_sys::GetSysCacheOid(
        pg_sys::SysCacheIdentifier::PROCNAMEARGSNSP as std::ffi::c_int,
        pg_sys::Anum_pg_proc_oid as pg_sys::AttrNumber,
        pg_sys::Datum::from(c"embed_with_model".as_ptr()),
        pg_sys::Datum::from(pg_sys::buildoidvector(argtypes, nargs)),
        pg_sys::Datum::from(pg_sys::get_func_namespace((*call).funcid)),
        pg_sys::Datum::from(0),
    );
    if twin == pg_sys::InvalidOid {
        return none;
    }
    let f = pg_sys::makeFuncExpr(
        twin,
        (*call).funcresulttype,
        args,
        (*call).funccollid,
        (*call).inputcollid,
        pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
    );
    (*f).location = (*call).location;
    // The planner does not simplify what a support function returns: fold a call on constants here,
    // as it folds any IMMUTABLE function.
    pg_sys::eval_const_expressions(std::ptr::null_mut(), f.cast())
}

crate::pg_fn!(er_embed_support, |fcinfo| {
    let req = pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::Node>();
    pg_sys::Datum::from(route_fixed_model(req))
});

extension_sql!(
    r#"
CREATE FUNCTION embed_support(internal) RETURNS internal
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'er_embed_support';
COMMENT ON FUNCTION embed_support(internal) IS 'Planner support of embed(): a constant model makes the call IMMUTABLE (embed_with_model)';
ALTER FUNCTION embed(text, text, text) SUPPORT embed_support;
ALTER FUNCTION embed(text[], text, text) SUPPORT embed_support;
"#,
    name = "embed_support",
    requires = [embed, embed_array, embed_with_model, embed_with_model_array],
);

/// STABLE: without a model it reads `embedrank.rerank_model`; a set-returning function cannot feed an
/// index or a generated column, so nothing is lost by not being IMMUTABLE with a fixed model.
///
/// With `budget_ms`, documents are scored in array order (the first stage's) while the budget lasts
/// (see `embedrank_infer::budget`); the ones left unscored follow the scored ones in array order,
/// with a NULL score. `min_score` drops scored rows below it only.
#[pg_extern(stable, parallel_safe, cost = 10000)]
pub fn rerank(
    query: Option<&str>,
    documents: Option<Array<'_, &str>>,
    model: default!(Option<&str>, "NULL"),
    top_n: default!(Option<i32>, "NULL"),
    min_score: default!(Option<f32>, "NULL"),
    budget_ms: default!(Option<f64>, "NULL"),
) -> TableIterator<'static, (name!(idx, i32), name!(score, Option<f32>))> {
    let start = std::time::Instant::now();
    if let Some(n) = top_n {
        if n < 0 {
            raise(
                Code::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("top_n must not be negative, got {n}"),
                None,
            );
        }
    }
    let mut budget = budget_ms.map(|b| {
        if !(b >= 0.0 && b.is_finite()) {
            raise(
                Code::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("budget_ms must be a non-negative number of milliseconds, got {b}"),
                Some("Leave budget_ms NULL to rerank every document."),
            );
        }
        Budget::starting_at(start, std::time::Duration::from_secs_f64(b / 1000.0))
    });
    // A NULL query or NULL array has nothing to score: no rows (documented).
    let (Some(query), Some(documents)) = (query, documents) else {
        return TableIterator::new(Vec::new());
    };
    let m = model_or_default(model, settings::default_rerank_model);
    let reranker = m.as_reranker().or_raise();
    let cap = m.info().config.max_length * BYTES_PER_TOKEN_CAP;
    let query = clip(query, cap);
    // The documents are read where Postgres keeps the array (no copy), CHUNK at a time (or what the
    // budget allows); the only allocation as large as the array is the results, made fallibly before
    // any inference runs.
    let present = documents.iter().flatten().count();
    let mut rows: Vec<(i32, Option<f32>)> = Vec::new();
    reserve_exact(
        &mut rows,
        present,
        &format!("the rerank() scores of {present} documents"),
        "Rerank fewer documents per call: rerank() is for the top candidates of a first-stage search (50-200).",
    );
    let mut docs = documents
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|d| (i as i32 + 1, d)))
        .peekable();
    let (mut idx, mut chunk) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
    while docs.peek().is_some() {
        let take = match &budget {
            Some(b) => b.next_chunk(present - rows.len(), std::time::Instant::now()),
            None => CHUNK,
        };
        if take == 0 {
            break;
        }
        idx.clear();
        chunk.clear();
        for (i, d) in docs.by_ref().take(take) {
            idx.push(i);
            chunk.push(clip(d, cap));
        }
        let t = std::time::Instant::now();
        let logits = reranker.score(query, &chunk, &Interrupts).or_raise();
        if let Some(b) = budget.as_mut() {
            b.record(chunk.len(), t.elapsed());
        }
        rows.extend(idx.iter().zip(logits).map(|(&i, l)| (i, Some(sigmoid(l)))));
        Interrupts.check();
    }
    // Every row so far is scored; the unscored ones are appended after the sort.
    let scored = rows.len();
    let score = |r: &(i32, Option<f32>)| r.1.expect("scored");
    rows.sort_by(|a, b| score(b).total_cmp(&score(a)).then(a.0.cmp(&b.0)));
    if let Some(min) = min_score {
        rows.retain(|r| r.1.is_some_and(|s| s >= min));
    }
    // What the budget left unscored, in array order after the scored ones.
    rows.extend(docs.map(|(i, _)| (i, None)));
    if budget.is_some() {
        pgrx::debug1!("rerank(): {scored} of {present} documents scored within budget_ms");
    }
    if let Some(n) = top_n {
        rows.truncate(n as usize);
    }
    TableIterator::new(rows)
}

#[pg_extern(stable, parallel_safe)]
#[allow(clippy::type_complexity)] // pgrx reads the column names from this literal tuple type
pub fn models() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(role, String),
        name!(dims, Option<i32>),
        name!(pooling, Option<String>),
        name!(max_length, i32),
        name!(loaded, bool),
        name!(load_ms, Option<f64>),
        name!(threads, Option<i32>),
    ),
> {
    let infos = list_models(&settings::model_dir()).or_raise();
    TableIterator::new(infos.into_iter().map(|i| {
        let c = &i.config;
        let load = cache::loaded(&i.name);
        let embedding = c.role == embedrank_infer::Role::Embedding;
        (
            i.name.clone(),
            c.role.as_str().to_string(),
            c.dims.map(|d| d as i32),
            embedding.then(|| c.pooling.as_str().to_string()),
            c.max_length as i32,
            load.is_some(),
            load.map(|(d, _)| d.as_secs_f64() * 1000.0),
            load.map(|(_, t)| t as i32),
        )
    }))
}

/// Load `model` into this backend now (so the first query does not pay for it); returns load ms.
#[pg_extern(volatile, parallel_unsafe)]
fn load(model: &str) -> f64 {
    cache::get(model).load_time().as_secs_f64() * 1000.0
}
