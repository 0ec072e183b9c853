// Helpers for in-server tests: run SQL and capture `SQLSTATE: message` of an expected error
// (through a PL/pgSQL exception block, so the test's transaction stays usable).


/// Run `sql` and return "SQLSTATE: message" of the error it raised, or "ok".
pub fn error_of(sql: &str) -> String {
    Spi::run(
        "CREATE OR REPLACE FUNCTION pg_temp.try_sql(q text) RETURNS text LANGUAGE plpgsql AS $$
         BEGIN EXECUTE q; RETURN 'ok';
         EXCEPTION WHEN others OR query_canceled THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$",
    )
    .unwrap();
    Spi::get_one_with_args::<String>("SELECT pg_temp.try_sql($1)", &[sql.into()])
        .unwrap()
        .unwrap()
}

/// Assert `sql` fails with `sqlstate` and a message containing `needle`.
#[track_caller]
pub fn assert_error(sql: &str, sqlstate: &str, needle: &str) {
    let got = error_of(sql);
    assert!(
        got.starts_with(sqlstate) && got.contains(needle),
        "{sql}\n  expected {sqlstate} containing {needle:?}\n  got {got}"
    );
}

/// The single text value `sql` returns.
pub fn text(sql: &str) -> String {
    Spi::get_one::<String>(sql).unwrap().unwrap()
}

/// The single float8 value `sql` returns.
pub fn float(sql: &str) -> f64 {
    Spi::get_one::<f64>(sql).unwrap().unwrap()
}

/// The JSON plan of `sql`, as text (to look for node types and index names).
pub fn plan(sql: &str) -> String {
    Spi::get_one::<pgrx::datum::Json>(&format!("EXPLAIN (FORMAT JSON) {sql}"))
        .unwrap()
        .unwrap()
        .0
        .to_string()
}

/// ONNX Runtime's Python reference outputs computed on this machine by `tests/parity/make_fixture.py`
/// (scripts/test.sh runs it first: the int8 models' digits depend on the CPU, so it is never committed).
pub fn parity_fixture() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/parity/fixture.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (run scripts/test.sh, which generates it with tests/parity/make_fixture.py)")
    });
    serde_json::from_str(&text).expect("parity fixture is JSON")
}

/// The fixture's reference logit of one (query, document) pair.
pub fn reference_logit(fixture: &serde_json::Value, query: &str, doc: &str) -> f32 {
    fixture["rerank"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["query"] == query && r["doc"] == doc)
        .unwrap_or_else(|| panic!("fixture lacks {query:?} / {doc:?}"))["logit"]
        .as_f64()
        .unwrap() as f32
}
