// embed() and rerank() against the real models installed by scripts/install_assets.sh.

fn floats(sql: &str) -> Vec<f32> {
    Spi::get_one::<Vec<f32>>(sql).unwrap().unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / na / nb
}

#[pg_test]
fn embed_returns_normalized_vectors_of_model_dims() {
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims(embed('hello world'))").unwrap(), Some(384));
    assert!((float("SELECT vector_norm(embed('hello world'))") - 1.0).abs() < 1e-4);
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims(embed('hello', 'all-MiniLM-L6-v2'))").unwrap(), Some(384));
    // empty string is valid input; NULL in, NULL out
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims(embed(''))").unwrap(), Some(384));
    assert!(Spi::get_one::<String>("SELECT embed(NULL::text)::text").unwrap().is_none());
}

#[pg_test]
fn query_input_type_applies_the_prefix() {
    let d = floats("SELECT embed('what is a cat', input_type => 'document')::real[]");
    let q = floats("SELECT embed('what is a cat', input_type => 'query')::real[]");
    let manual = floats("SELECT embed('Represent this sentence for searching relevant passages: what is a cat')::real[]");
    assert!(cosine(&q, &manual) > 0.99999, "query prefix is the model's instruction");
    assert!(cosine(&q, &d) < 0.999, "query and document embeddings differ");
}

#[pg_test]
fn paraphrases_embed_closer_than_unrelated_text() {
    for model in ["bge-small-en-v1.5", "all-MiniLM-L6-v2"] {
        let near = float(&format!("SELECT embed('A man is playing a guitar.', '{model}') <=> embed('Someone plays the guitar.', '{model}')"));
        let far = float(&format!("SELECT embed('A man is playing a guitar.', '{model}') <=> embed('The stock market fell sharply today.', '{model}')"));
        assert!(near < far, "{model}: {near} vs {far}");
    }
}

#[pg_test]
fn batch_embed_keeps_input_order_and_nulls() {
    let texts = "ARRAY['short', NULL, 'a much longer sentence about the history of the Roman empire and its roads', '']";
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM unnest(embed({texts})) v WHERE v IS NULL")).unwrap(), Some(1));
    for (i, t) in [(1, "short"), (3, "a much longer sentence about the history of the Roman empire and its roads"), (4, "")] {
        let batch = floats(&format!("SELECT (embed({texts}))[{i}]::real[]"));
        let single = floats(&format!("SELECT embed('{t}')::real[]"));
        assert!(cosine(&batch, &single) > 0.99999, "element {i}");
    }
    assert_eq!(Spi::get_one::<i32>("SELECT cardinality(embed('{}'::text[]))").unwrap(), Some(0));
}

#[pg_test]
fn rerank_orders_berlin_first_with_one_based_indexes() {
    let rows = Spi::get_one::<String>(
        "SELECT string_agg(idx::text, ',' ORDER BY score DESC) FROM rerank('How many people live in Berlin?',
           ARRAY['New York City is famous for the Metropolitan Museum of Art.', NULL,
                 'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.'])",
    )
    .unwrap()
    .unwrap();
    assert_eq!(rows, "3,1");
    let top = float("SELECT score::float8 FROM rerank('How many people live in Berlin?', ARRAY['Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.'])");
    let logit = reference_logit(
        &parity_fixture(),
        "How many people live in Berlin?",
        "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
    );
    assert!((top as f32 - embedrank_infer::sigmoid(logit)).abs() < 2.5e-4, "score is the sigmoid of the logit: {top} vs {logit}");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM rerank('q', '{}'::text[])").unwrap(), Some(0));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM rerank('q', ARRAY[NULL]::text[])").unwrap(), Some(0));
}

#[pg_test]
fn rerank_top_n_and_min_score() {
    let docs = "ARRAY['Berlin has a population of 3,520,031 registered inhabitants.', 'Paris is in France.', 'New York City is famous for the Metropolitan Museum of Art.']";
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM rerank('How many people live in Berlin?', {docs}, top_n => 2)")).unwrap(), Some(2));
    assert_eq!(Spi::get_one::<i32>(&format!("SELECT idx FROM rerank('How many people live in Berlin?', {docs}, top_n => 1)")).unwrap(), Some(1));
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM rerank('How many people live in Berlin?', {docs}, min_score => 0.5)")).unwrap(), Some(1));
    assert_error(&format!("SELECT * FROM rerank('q', {docs}, top_n => -1)"), "22023", "top_n");
}

#[pg_test]
fn models_lists_installed_models_and_load_warms_them() {
    assert_eq!(text("SELECT string_agg(name || ':' || role || ':' || coalesce(pooling, '-'), ' ' ORDER BY name) FROM models()"),
        "all-MiniLM-L6-v2:embedding:mean bge-small-en-v1.5:embedding:cls ms-marco-MiniLM-L-12-v2:reranker:-");
    assert_eq!(Spi::get_one::<bool>("SELECT loaded FROM models() WHERE name = 'all-MiniLM-L6-v2'").unwrap(), Some(false));
    assert!(float("SELECT load('all-MiniLM-L6-v2')") > 0.0);
    assert_eq!(Spi::get_one::<bool>("SELECT loaded AND load_ms > 0 FROM models() WHERE name = 'all-MiniLM-L6-v2'").unwrap(), Some(true));
}

#[pg_test]
fn inference_errors_are_clear() {
    assert_error("SELECT embed('x', 'no-such-model')", "42704", "bge-small-en-v1.5");
    assert_error("SELECT embed('x', '../etc')", "22023", "invalid model name");
    assert_error("SELECT embed('x', 'ms-marco-MiniLM-L-12-v2')", "42809", "reranker");
    assert_error("SELECT * FROM rerank('q', ARRAY['d'], 'bge-small-en-v1.5')", "42809", "embedding");
    assert_error("SELECT embed('x', input_type => 'passage')", "22023", "input_type must be 'query' or 'document'");
}

#[pg_test]
fn bad_runtime_path_is_an_error_not_a_crash() {
    Spi::run("SET embedrank.onnxruntime_library = '/nonexistent/libonnxruntime.so'").unwrap();
    assert_error("SELECT embed('x')", "38000", "ONNX Runtime");
}

#[pg_test]
fn missing_and_corrupt_model_files_are_errors() {
    let dir = "/tmp/pg_embedrank-test/badmodels";
    Spi::run(&format!("COPY (SELECT 1) TO PROGRAM 'rm -rf {dir} && mkdir -p {dir}/notok {dir}/corrupt'")).unwrap();
    Spi::run(&format!("COPY (SELECT '{{\"role\": \"embedding\", \"pooling\": \"cls\", \"dims\": 384}}') TO '{dir}/notok/embedrank.json'")).unwrap();
    Spi::run(&format!("COPY (SELECT '{{\"role\": \"embedding\", \"pooling\": \"cls\", \"dims\": 384}}') TO '{dir}/corrupt/embedrank.json'")).unwrap();
    Spi::run(&format!("COPY (SELECT 'not an onnx model') TO '{dir}/corrupt/model.onnx'")).unwrap();
    Spi::run(&format!("COPY (SELECT 1) TO PROGRAM 'cp {}/pg_embedrank/models/bge-small-en-v1.5/tokenizer.json {dir}/corrupt/'", share_dir())).unwrap();
    Spi::run(&format!("SET embedrank.model_dir = '{dir}'")).unwrap();
    assert_error("SELECT embed('x', 'notok')", "F0000", "notok");
    assert_error("SELECT embed('x', 'corrupt')", "F0000", "corrupt");
}

fn share_dir() -> String {
    text("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
}

#[pg_test]
fn file_settings_are_superuser_only() {
    Spi::run("CREATE ROLE embedrank_plain LOGIN").unwrap();
    Spi::run("SET ROLE embedrank_plain").unwrap();
    assert_error("SET embedrank.model_dir = '/tmp'", "42501", "permission denied");
    assert_error("SET embedrank.onnxruntime_library = '/tmp/x.so'", "42501", "permission denied");
    assert_eq!(error_of("SET embedrank.threads = 2"), "ok");
    Spi::run("RESET ROLE").unwrap();
}

#[pg_test]
fn huge_inputs_do_not_exhaust_memory() {
    // 10 MB of text is truncated to the model's length, not tokenized whole.
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims(embed(repeat('lorem ipsum dolor ', 600000)))").unwrap(), Some(384));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM rerank('q', ARRAY[repeat('lorem ipsum ', 900000)])").unwrap(), Some(1));
}

// Cancellation (statement_timeout, pg_cancel_backend) needs a top-level statement and a second
// session: tests/client/test_inference_clients.py covers it.

#[pg_test]
fn model_calls_are_costed_so_generic_plans_embed_once() {
    assert_eq!(Spi::get_one::<bool>("SELECT bool_and(procost >= 10000) FROM pg_proc WHERE proname IN ('embed', 'rerank') AND pronamespace = 'embedrank'::regnamespace").unwrap(), Some(true));
}

/// Parity with the independent Python reference (tests/parity/make_fixture.py: onnxruntime +
/// tokenizers, run on this machine by scripts/test.sh): every fixture input through SQL `embed()` / `rerank()`.
#[pg_test]
fn sql_results_match_the_python_reference() {
    let fixture = parity_fixture();
    let mut checked = 0;
    for e in fixture["embeddings"].as_array().unwrap() {
        let want: Vec<f32> = e["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let got = Spi::get_one_with_args::<Vec<f32>>(
            "SELECT embed($1, $2, $3)::real[]",
            &[e["text"].as_str().unwrap().into(), e["model"].as_str().unwrap().into(), e["input_type"].as_str().unwrap().into()],
        )
        .unwrap()
        .unwrap();
        let c = cosine(&got, &want);
        assert!(c >= 0.9999, "{} {:?}: cosine {c}", e["model"], e["text"].as_str().unwrap().chars().take(40).collect::<String>());
        checked += 1;
    }
    for r in fixture["rerank"].as_array().unwrap() {
        let want = embedrank_infer::sigmoid(r["logit"].as_f64().unwrap() as f32);
        let got = Spi::get_one_with_args::<f32>(
            "SELECT score FROM rerank($1, ARRAY[$2], $3)",
            &[r["query"].as_str().unwrap().into(), r["doc"].as_str().unwrap().into(), r["model"].as_str().unwrap().into()],
        )
        .unwrap()
        .unwrap();
        // |Δ logit| <= 1e-3 implies |Δ sigmoid| <= 2.5e-4.
        assert!((got - want).abs() <= 2.5e-4, "rerank {:?}: {got} vs {want}", r["query"]);
        checked += 1;
    }
    assert!(checked >= 40, "fixture too small: {checked}");
}

#[pg_test]
fn only_embed_with_a_constant_model_is_immutable() {
    Spi::run("CREATE TABLE ix (id int, body text)").unwrap();
    // The model comes from a setting any role can change: an index on it would go stale.
    for expr in [
        "embed(body)",
        "embed(body, input_type => 'query')",
        "embed(body, model => NULL)",
        "embed(body, NULL, 'query')",
        "embed(body, current_setting('embedrank.embedding_model'))",
    ] {
        assert_error(&format!("CREATE INDEX ON ix (({expr}))"), "42P17", "functions in index expression must be marked IMMUTABLE");
    }
    assert_eq!(error_of("CREATE INDEX ix_bge ON ix ((embed(body, 'bge-small-en-v1.5')))"), "ok");
    assert_eq!(error_of("CREATE INDEX ON ix ((embed(body, model => 'all-MiniLM-L6-v2', input_type => 'query')))"), "ok");
    assert_error("ALTER TABLE ix ADD COLUMN g vector GENERATED ALWAYS AS (embed(body)) STORED", "42P17", "generation expression is not immutable");
    assert_error("ALTER TABLE ix ADD COLUMN ga vector[] GENERATED ALWAYS AS (embed(ARRAY[body])) STORED", "42P17", "generation expression is not immutable");
    assert_eq!(error_of("ALTER TABLE ix ADD COLUMN g vector(384) GENERATED ALWAYS AS (embed(body, 'bge-small-en-v1.5')) STORED"), "ok");
    assert_eq!(error_of("ALTER TABLE ix ADD COLUMN ga vector[] GENERATED ALWAYS AS (embed(ARRAY[body], 'bge-small-en-v1.5')) STORED"), "ok");
    Spi::run("INSERT INTO ix VALUES (1, 'hello world')").unwrap();
    assert!(float("SELECT g <=> embed('hello world', 'bge-small-en-v1.5') FROM ix") < 1e-6);
    // The expression index serves queries written the same way.
    Spi::run("SET enable_seqscan = off").unwrap();
    let p = plan("SELECT id FROM ix WHERE embed(body, 'bge-small-en-v1.5') = embed('hello world', 'bge-small-en-v1.5')");
    assert!(p.contains("ix_bge"), "{p}");
    Spi::run("RESET enable_seqscan").unwrap();

    // Every call form of before still resolves, and means what it meant.
    for same in [
        "embed('hello', model => NULL)",
        "embed('hello', NULL, 'document')",
        "embed('hello', 'bge-small-en-v1.5')",
        "embed('hello', input_type => 'document')",
        "(embed(ARRAY['hello']))[1]",
        "(embed(ARRAY['hello'], 'bge-small-en-v1.5'))[1]",
    ] {
        assert!(float(&format!("SELECT embed('hello') <=> {same}")) < 1e-6, "{same}");
    }
    // Calls without a model follow the setting; the IMMUTABLE form never reads it.
    Spi::run("SET embedrank.embedding_model = 'all-MiniLM-L6-v2'").unwrap();
    for follows in ["embed('hello')", "embed('hello', model => NULL)", "(embed(ARRAY['hello'], NULL))[1]"] {
        assert!(float(&format!("SELECT {follows} <=> embed('hello', 'all-MiniLM-L6-v2')")) < 1e-6, "{follows}");
    }
    assert_error("SELECT embed_with_model('hello', NULL, 'document')", "22004", "needs a model name");
    assert_error("SELECT embed_with_model(ARRAY['hello'], NULL, 'document')", "22004", "needs a model name");
    assert_eq!(
        text("SELECT string_agg(p.oid::regprocedure::text || ' ' || p.provolatile::text, ', ' ORDER BY 1) FROM pg_proc p
              WHERE p.proname IN ('embed', 'embed_with_model', 'rerank') AND p.pronamespace = 'embedrank'::regnamespace"),
        "embed(text,text,text) s, embed(text[],text,text) s, embed_with_model(text,text,text) i, embed_with_model(text[],text,text) i, rerank(text,text[],text,integer,real,double precision) s"
    );
}

#[pg_test]
fn threads_are_capped_by_the_superuser_ceiling() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(64);
    assert_eq!(text("SHOW embedrank.max_threads"), cores.to_string(), "default: the machine's cores");
    Spi::run("SET embedrank.max_threads = 1").unwrap();
    Spi::run("SET embedrank.threads = 3").unwrap();
    Spi::run("SELECT load('all-MiniLM-L6-v2')").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT threads FROM models() WHERE name = 'all-MiniLM-L6-v2'").unwrap(), Some(1));
    Spi::run("SET embedrank.max_threads = 2").unwrap();
    Spi::run("SELECT load('all-MiniLM-L6-v2')").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT threads FROM models() WHERE name = 'all-MiniLM-L6-v2'").unwrap(), Some(2));
    Spi::run("CREATE ROLE embedrank_threads_plain").unwrap();
    Spi::run("SET ROLE embedrank_threads_plain").unwrap();
    assert_error("SET embedrank.max_threads = 64", "42501", "permission denied");
    assert_eq!(error_of("SET embedrank.threads = 64"), "ok");
    Spi::run("RESET ROLE").unwrap();
}

#[pg_test]
fn misspelt_embedrank_settings_are_errors() {
    // Postgres 14 cannot reserve a prefix (MarkGUCPrefixReserved is 15+): there a misspelt name only
    // draws a WARNING when the library loads.
    #[cfg(not(feature = "pg14"))]
    {
        assert_error("SET embedrank.hnsw_ef_serach = 5", "42602", "invalid configuration parameter name");
        assert_error("SELECT set_config('embedrank.thread', '2', false)", "42602", "invalid configuration parameter name");
    }
    assert_eq!(error_of("SET embedrank.threads = 2"), "ok");
    assert_eq!(error_of("SET embedrank.max_threads = 2"), "ok");
}

#[pg_test]
fn rerank_with_a_budget_scores_in_array_order_and_returns_the_rest_unscored() {
    let docs = "ARRAY['New York City is famous for the Metropolitan Museum of Art.', NULL, 'Paris is in France.',
                      'Berlin has a population of 3,520,031 registered inhabitants.']";
    let q = "'How many people live in Berlin?'";
    // No time: nothing scored, every document back in array order (NULLs skipped as always).
    assert_eq!(
        text(&format!("SELECT string_agg(idx || ':' || coalesce(score::text, '-'), ' ') FROM rerank({q}, {docs}, budget_ms => 0)")),
        "1:- 3:- 4:-"
    );
    // Plenty of time: the same answer as without a budget.
    let plain = text(&format!("SELECT string_agg(idx || ':' || score, ' ') FROM rerank({q}, {docs})"));
    assert_eq!(text(&format!("SELECT string_agg(idx || ':' || score, ' ') FROM rerank({q}, {docs}, budget_ms => 600000)")), plain);
    assert!(plain.starts_with("4:"), "{plain}");
    // top_n counts unscored documents too; min_score judges scored ones only.
    assert_eq!(text(&format!("SELECT string_agg(idx::text, ' ') FROM rerank({q}, {docs}, top_n => 2, budget_ms => 0)")), "1 3");
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM rerank({q}, {docs}, min_score => 0.99, budget_ms => 0)")).unwrap(), Some(3));
    for bad in ["-1", "'NaN'", "'Infinity'"] {
        assert_error(&format!("SELECT * FROM rerank({q}, {docs}, budget_ms => {bad})"), "22023", "budget_ms must be a non-negative number");
    }
}
