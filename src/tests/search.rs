// Two-stage search over a registered table, embedding sync, and search errors.

fn make_docs() {
    Spi::run("CREATE TABLE docs (id int PRIMARY KEY, body text, category text)").unwrap();
    Spi::run("INSERT INTO docs VALUES
        (1, 'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.', 'city'),
        (2, 'New York City is famous for the Metropolitan Museum of Art.', 'city'),
        (3, 'The population of Berlin grew quickly in the 19th century.', 'history'),
        (4, 'A thermometer measures temperature.', 'science'),
        (5, 'Paris is the capital of France.', 'city'),
        (6, 'Model XJ-9000 replacement filter cartridge.', 'product')").unwrap();
    Spi::run("SELECT register('docs', 'body')").unwrap();
}

#[pg_test]
fn register_adds_embeddings_index_and_sync_trigger() {
    make_docs();
    // Rows inserted after registration are embedded by the trigger; updates re-embed.
    Spi::run("INSERT INTO docs VALUES (7, 'Rome is an ancient city in Italy.', 'city')").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM docs WHERE embedding IS NOT NULL").unwrap(), Some(1));
    Spi::run("UPDATE docs SET embedding = NULL WHERE id = 7").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM docs WHERE embedding IS NULL").unwrap(), Some(7), "updating other columns does not re-embed");
    Spi::run("UPDATE docs SET body = 'Madrid is the capital of Spain.' WHERE id = 7").unwrap();
    assert!(float("SELECT embedding <=> embed('Madrid is the capital of Spain.', 'bge-small-en-v1.5') FROM docs WHERE id = 7") < 1e-5);
    assert_eq!(text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'docs'::regclass AND attname = 'embedding'"), "vector(384)");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_indexes WHERE tablename = 'docs' AND indexdef LIKE '%embedrank_hnsw%'").unwrap(), Some(1));
}

#[pg_test]
fn search_returns_reranked_rows_with_both_scores() {
    make_docs();
    Spi::run("UPDATE docs SET embedding = embed(body, 'bge-small-en-v1.5')").unwrap();
    assert_eq!(text("SELECT key FROM search('docs', 'How many people live in Berlin?', k => 5, n => 3) LIMIT 1"), "1");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM search('docs', 'How many people live in Berlin?', k => 5, n => 3)").unwrap(), Some(3));
    assert_eq!(Spi::get_one::<bool>("SELECT bool_and(distance IS NOT NULL AND score > 0 AND first_stage_rank BETWEEN 1 AND 5) FROM search('docs', 'How many people live in Berlin?', k => 5, n => 3)").unwrap(), Some(true));
    let kept = Spi::get_one::<i64>("SELECT count(*) FROM search('docs', 'How many people live in Berlin?', k => 6, n => 6, min_score => 0.5)").unwrap().unwrap();
    assert!((1..6).contains(&kept), "min_score keeps the Berlin passages only: {kept}");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM search('docs', 'How many people live in Berlin?', k => 6, n => 6, min_score => 0.5) WHERE score < 0.5").unwrap(), Some(0));
    // Hybrid: a model number found by full-text search joins the candidates.
    assert_eq!(text("SELECT key FROM search('docs', 'XJ-9000 filter', k => 2, n => 1, hybrid => true)"), "6");
    // NULL query: no rows.
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM search('docs', NULL)").unwrap(), Some(0));
}

#[pg_test]
fn one_statement_pattern_uses_the_index() {
    make_docs();
    Spi::run("UPDATE docs SET embedding = embed(body, 'bge-small-en-v1.5')").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    let sql = "WITH q AS MATERIALIZED (SELECT embed('How many people live in Berlin?', input_type => 'query') AS v),
               cand AS (SELECT id, body, embedding <=> (SELECT v FROM q) AS distance FROM docs ORDER BY embedding <=> (SELECT v FROM q) LIMIT 5),
               arr AS (SELECT array_agg(id ORDER BY distance) AS ids, array_agg(body ORDER BY distance) AS bodies FROM cand)
               SELECT arr.ids[r.idx] AS id FROM arr, rerank('How many people live in Berlin?', arr.bodies, top_n => 1) r";
    let p = plan(sql);
    assert!(p.contains("Index Scan") && p.contains("docs_embedding_idx"), "{p}");
    assert_eq!(Spi::get_one::<i32>(sql).unwrap(), Some(1));
}

#[pg_test]
fn search_errors() {
    make_docs();
    Spi::run("CREATE TABLE plain (id int PRIMARY KEY, body text, n int)").unwrap();
    assert_error("SELECT * FROM search('plain', 'q')", "55000", "not registered");
    assert_error("SELECT * FROM search('no_such_table', 'q')", "42P01", "does not exist");
    assert_error("SELECT register('plain', 'n')", "42804", "not text");
    assert_error("SELECT register('plain', 'nope')", "42703", "does not exist");
    Spi::run("CREATE TABLE wrongvec (id int PRIMARY KEY, body text, embedding vector(3))").unwrap();
    assert_error("SELECT register('wrongvec', 'body')", "42804", "not vector(384) or halfvec(384)");
    assert_error("SELECT * FROM search('docs', 'q', k => 5, n => 10)", "22023", "must not exceed k");
    assert_error("SELECT * FROM search('docs', 'q', k => 0)", "22023", "positive");
    assert_error("SELECT * FROM search('docs', 'q', k => 5000)", "22023", "cap of 1000");
    assert_error("SELECT * FROM search('docs', '   ')", "22023", "must not be empty");
}

#[pg_test]
fn search_register_and_sync_work_under_any_search_path() {
    make_docs();
    Spi::run("UPDATE docs SET embedding = embed(body, 'bge-small-en-v1.5')").unwrap();
    for (i, path) in ["public", "''", "pg_catalog", "pg_temp, public"].iter().enumerate() {
        Spi::run(&format!("SET search_path = {path}")).unwrap();
        assert_eq!(
            text("SELECT key FROM embedrank.search('public.docs', 'How many people live in Berlin?', k => 5, n => 1)"),
            "1",
            "search_path = {path}"
        );
        // The sync trigger runs under the writer's search_path.
        Spi::run(&format!("INSERT INTO public.docs VALUES ({}, 'Rome is an ancient city in Italy.', 'city')", 100 + i)).unwrap();
        assert_eq!(
            Spi::get_one::<bool>(&format!("SELECT embedding IS NOT NULL FROM public.docs WHERE id = {}", 100 + i)).unwrap(),
            Some(true),
            "search_path = {path}"
        );
    }
    Spi::run("SET search_path = ''").unwrap();
    Spi::run("CREATE TABLE public.notes (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("INSERT INTO public.notes VALUES (1, 'Paris is the capital of France.')").unwrap();
    Spi::run("SELECT embedrank.register('public.notes', 'body')").unwrap();
    // CALL backfill() commits, which a test transaction cannot: its two halves are called here, the
    // procedure itself from tests/client/test_roles.py.
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_start('public.notes', 10)").unwrap(), Some(1));
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_batch('public.notes', 10)").unwrap(), Some(1));
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_batch('public.notes', 10)").unwrap(), Some(0));
    Spi::run("RESET search_path").unwrap();
}

#[pg_test]
fn objects_in_public_cannot_hijack_the_sync_trigger_or_search() {
    make_docs();
    Spi::run("UPDATE docs SET embedding = embed(body, 'bge-small-en-v1.5')").unwrap();
    // CVE-2018-1058: better matches than the real objects for calls the extension makes, in a schema
    // on the caller's search_path: (text, text) beats jsonb_build_object(VARIADIC "any"), and public
    // comes before embedrank. Each logs that it ran.
    Spi::run("CREATE TABLE public.hijacked (what text)").unwrap();
    Spi::run(
        "CREATE FUNCTION public.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS
         $$ BEGIN INSERT INTO public.hijacked VALUES ('jsonb_build_object'); RETURN pg_catalog.jsonb_build_object($1, $2); END $$",
    )
    .unwrap();
    Spi::run(
        "CREATE FUNCTION public.evil_distance(embedrank.vector, embedrank.vector) RETURNS float8 LANGUAGE plpgsql AS
         $$ BEGIN INSERT INTO public.hijacked VALUES ('<=>'); RETURN embedrank.cosine_distance($1, $2); END $$",
    )
    .unwrap();
    Spi::run("CREATE OPERATOR public.<=> (LEFTARG = embedrank.vector, RIGHTARG = embedrank.vector, FUNCTION = public.evil_distance)").unwrap();
    Spi::run("SET search_path = \"$user\", public, embedrank").unwrap();
    Spi::run("INSERT INTO docs VALUES (7, 'Rome is an ancient city in Italy.', 'city')").unwrap();
    Spi::run("UPDATE docs SET body = 'Madrid is the capital of Spain.' WHERE id = 7").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM search('docs', 'Where is Madrid?', k => 5, n => 1)").unwrap(), Some(1));
    assert_eq!(text("SELECT coalesce(string_agg(what, ','), 'nothing') FROM public.hijacked"), "nothing");
    // The same objects do capture a plain call under this search_path: the test is live.
    Spi::run("SELECT jsonb_build_object('a'::text, 'b'::text)").unwrap();
    assert_eq!(text("SELECT string_agg(what, ',') FROM public.hijacked"), "jsonb_build_object");
    Spi::run("RESET search_path").unwrap();
}

#[pg_test]
fn non_superusers_use_their_own_tables_and_only_see_readable_registrations() {
    Spi::run("CREATE ROLE er_test_alice").unwrap();
    Spi::run("CREATE ROLE er_test_bob").unwrap();
    Spi::run("GRANT CREATE ON SCHEMA public TO er_test_alice, er_test_bob").unwrap();
    Spi::run("SET ROLE er_test_alice").unwrap();
    // Types, operators, the index access method, embed, register, the trigger and search.
    Spi::run("CREATE TABLE alice_vecs (id int, v vector(3))").unwrap();
    Spi::run("INSERT INTO alice_vecs VALUES (1, '[1,0,0]'), (2, '[0,1,0]')").unwrap();
    Spi::run("CREATE INDEX ON alice_vecs USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT id FROM alice_vecs ORDER BY v <-> '[0.9,0.1,0]' LIMIT 1").unwrap(), Some(1));
    Spi::run("CREATE TABLE alice_docs (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("SELECT register('alice_docs', 'body')").unwrap();
    Spi::run("INSERT INTO alice_docs VALUES (1, 'Berlin has 3.5 million inhabitants.'), (2, 'A thermometer measures temperature.')").unwrap();
    assert_eq!(text("SELECT key FROM search('alice_docs', 'How many people live in Berlin?', k => 2, n => 1)"), "1");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM embedrank.sources").unwrap(), Some(1));
    Spi::run("RESET ROLE").unwrap();

    Spi::run("SET ROLE er_test_bob").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM embedrank.sources").unwrap(), Some(0), "not readable: not visible");
    assert_error("SELECT register('alice_docs', 'body')", "42501", "must be owner of table public.alice_docs");
    assert_error("SELECT * FROM search('alice_docs', 'q')", "42501", "permission denied for table public.alice_docs");
    // Registrations are the tables' sync triggers, read through a view nobody can write.
    assert_error(
        "INSERT INTO embedrank.sources VALUES ('alice_docs', 'id', 'body', 'embedding', 'all-MiniLM-L6-v2')",
        "55000",
        "cannot insert into view \"sources\"",
    );
    assert_error("UPDATE embedrank.sources SET model = 'all-MiniLM-L6-v2'", "55000", "cannot update view");
    assert_error("DELETE FROM embedrank.sources", "55000", "cannot delete from view");
    assert_error("SELECT unregister('alice_docs')", "42501", "must be owner of table public.alice_docs");
    Spi::run("RESET ROLE").unwrap();
    assert_eq!(text("SELECT model FROM embedrank.sources WHERE source = 'alice_docs'::regclass"), "bge-small-en-v1.5");

    // A role that may read the table may search it (and see its registration), still not change it.
    Spi::run("GRANT SELECT ON alice_docs TO er_test_bob").unwrap();
    Spi::run("SET ROLE er_test_bob").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM embedrank.sources").unwrap(), Some(1));
    assert_eq!(text("SELECT key FROM search('alice_docs', 'How many people live in Berlin?', k => 2, n => 1)"), "1");
    assert_error("SELECT register('alice_docs', 'body')", "42501", "must be owner");
    assert_error("SELECT unregister('alice_docs')", "42501", "must be owner");
    Spi::run("RESET ROLE").unwrap();
    assert_eq!(text("SELECT model FROM embedrank.sources WHERE source = 'alice_docs'::regclass"), "bge-small-en-v1.5");
}

#[pg_test]
fn register_requires_a_unique_not_null_key() {
    Spi::run("CREATE TABLE k (id int PRIMARY KEY, code int, ucode int, pcode int, ecode int, body text)").unwrap();
    Spi::run("CREATE UNIQUE INDEX ON k (ucode)").unwrap();
    Spi::run("CREATE UNIQUE INDEX ON k (pcode) WHERE pcode > 0").unwrap();
    Spi::run("CREATE UNIQUE INDEX ON k ((ecode + 0))").unwrap();
    Spi::run("CREATE UNIQUE INDEX ON k (code, id)").unwrap();
    for col in ["code", "pcode", "ecode"] {
        assert_error(&format!("SELECT register('k', 'body', key_column => '{col}')"), "42P10", "is not unique");
    }
    assert_error("SELECT register('k', 'body', key_column => 'ucode')", "42P10", "must be NOT NULL");
    assert_error("SELECT register('k', 'body', key_column => 'nope')", "42703", "does not exist");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM embedrank.sources").unwrap(), Some(0));
    Spi::run("ALTER TABLE k ALTER COLUMN ucode SET NOT NULL").unwrap();
    Spi::run("SELECT register('k', 'body', key_column => 'ucode')").unwrap();
    assert_eq!(text("SELECT key_column::text FROM embedrank.sources WHERE source = 'k'::regclass"), "ucode");
    Spi::run("SELECT register('k', 'body')").unwrap();
    assert_eq!(text("SELECT key_column::text FROM embedrank.sources WHERE source = 'k'::regclass"), "id");
}

#[pg_test]
fn registrations_follow_the_table_unregister_and_drop() {
    make_docs();
    let registered = || Spi::get_one::<i64>("SELECT count(*) FROM embedrank.sources").unwrap().unwrap();
    assert_eq!(registered(), 1);
    // A rename keeps the registration (it is the table's trigger).
    Spi::run("ALTER TABLE docs RENAME TO docs2").unwrap();
    assert_eq!(text("SELECT source::text FROM embedrank.sources"), "docs2");
    Spi::run("ALTER TABLE docs2 RENAME TO docs").unwrap();
    // unregister: the trigger goes, the embeddings stay unless asked.
    Spi::run("SELECT unregister('docs')").unwrap();
    assert_eq!(registered(), 0);
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'docs'::regclass AND tgname = 'embedrank_sync'").unwrap(), Some(0));
    assert_error("SELECT * FROM search('docs', 'Berlin')", "55000", "is not registered for search");
    assert_error("SELECT unregister('docs')", "55000", "is not registered for search");
    Spi::run("INSERT INTO docs VALUES (8, 'Not embedded any more.', 'x')").unwrap();
    assert_eq!(Spi::get_one::<bool>("SELECT embedding IS NULL FROM docs WHERE id = 8").unwrap(), Some(true));
    Spi::run("SELECT register('docs', 'body')").unwrap();
    Spi::run("SELECT unregister('docs', drop_embedding => true)").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_attribute WHERE attrelid = 'docs'::regclass AND attname = 'embedding' AND NOT attisdropped").unwrap(), Some(0));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_indexes WHERE tablename = 'docs' AND indexdef LIKE '%embedrank_hnsw%'").unwrap(), Some(0));
    // DROP TABLE takes the registration along; a new table of the same name is not registered.
    Spi::run("SELECT register('docs', 'body')").unwrap();
    Spi::run("DROP TABLE docs").unwrap();
    assert_eq!(registered(), 0);
    Spi::run("CREATE TABLE docs (id int PRIMARY KEY, body text)").unwrap();
    assert_error("SELECT * FROM search('docs', 'Berlin')", "55000", "is not registered for search");
    // A registration whose embedding column was dropped says so.
    Spi::run("SELECT register('docs', 'body')").unwrap();
    Spi::run("ALTER TABLE docs DROP COLUMN embedding").unwrap();
    assert_error("SELECT * FROM search('docs', 'Berlin')", "42703", "names a column it no longer has");
    // Dropping the text column needs CASCADE (the trigger fires on it), and takes the registration.
    Spi::run("ALTER TABLE docs DROP COLUMN body CASCADE").unwrap();
    assert_eq!(registered(), 0);
}

#[pg_test]
fn a_halfvec_embedding_column_is_registered_synced_indexed_and_searched() {
    Spi::run("CREATE TABLE hdocs (id int PRIMARY KEY, body text, embedding halfvec(384))").unwrap();
    Spi::run("SELECT register('hdocs', 'body')").unwrap();
    let def = text("SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'hdocs'::regclass AND NOT indisprimary");
    assert!(def.ends_with("USING embedrank_hnsw (embedding halfvec_cosine_ops)"), "{def}");
    Spi::run("INSERT INTO hdocs VALUES
        (1, 'Berlin has a population of 3,520,031 registered inhabitants.'),
        (2, 'A thermometer measures temperature.'),
        (3, 'Paris is the capital of France.')").unwrap();
    // The trigger stored each embedding rounded to half: what embed()::halfvec gives.
    assert_eq!(
        Spi::get_one::<bool>("SELECT bool_and(embedding = embed(body, 'bge-small-en-v1.5')::halfvec(384)) FROM hdocs").unwrap(),
        Some(true)
    );
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    assert_eq!(text("SELECT key FROM search('hdocs', 'How many people live in Berlin?', k => 3, n => 1)"), "1");
    let p = plan("SELECT id FROM hdocs ORDER BY embedding <=> embed('Berlin', 'bge-small-en-v1.5', 'query') LIMIT 2");
    assert!(p.contains("hdocs_embedding_idx"), "halfvec index not used with a vector query: {p}");
    assert_error("CREATE TABLE hbad (id int PRIMARY KEY, body text, embedding halfvec(3)); SELECT register('hbad', 'body')", "42804", "not vector(384) or halfvec(384)");
}

#[pg_test]
fn registrations_are_read_under_any_string_setting_and_unregister_drops_only_embeddings() {
    make_docs();
    // trigger_args() must not depend on the caller's standard_conforming_strings.
    Spi::run("SET LOCAL standard_conforming_strings = off").unwrap();
    assert_eq!(text("SELECT key_column::text FROM embedrank.sources WHERE source = 'docs'::regclass"), "id");
    Spi::run("SET LOCAL standard_conforming_strings = on").unwrap();
    // A trigger naming a column that is not an embedding column: unregister keeps the column.
    Spi::run("CREATE TABLE planted (id int PRIMARY KEY, body text, precious text)").unwrap();
    Spi::run("CREATE TRIGGER embedrank_sync BEFORE INSERT OR UPDATE OF body ON planted FOR EACH ROW EXECUTE FUNCTION embedrank.sync_embedding('body', 'precious', 'bge-small-en-v1.5', 'id')").unwrap();
    assert_error("SELECT unregister('planted', drop_embedding => true)", "42804", "is not a vector or halfvec column");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_attribute WHERE attrelid = 'planted'::regclass AND attname = 'precious'").unwrap(), Some(1));
    // A renamed text column makes the registration say so.
    Spi::run("ALTER TABLE docs RENAME COLUMN body TO text_body").unwrap();
    assert_error("SELECT * FROM search('docs', 'Berlin')", "42703", "names a column it no longer has");
    // A partitioned table is one registration, not one per partition.
    Spi::run("CREATE TABLE parted (id int PRIMARY KEY, body text) PARTITION BY RANGE (id)").unwrap();
    Spi::run("CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)").unwrap();
    Spi::run("SELECT register('parted', 'body', create_index => false)").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM embedrank.sources WHERE source::text LIKE 'parted%'").unwrap(), Some(1));
}

#[pg_test]
fn search_with_a_budget_returns_first_stage_order_for_what_it_could_not_rerank() {
    make_docs();
    Spi::run("UPDATE docs SET embedding = embed(body, 'bge-small-en-v1.5')").unwrap();
    let q = "'How many people live in Berlin?'";
    // budget_ms => 0: no candidate reranked, n rows in first-stage order, scores NULL.
    assert_eq!(
        text(&format!("SELECT string_agg(first_stage_rank || ':' || coalesce(score::text, '-'), ' ') FROM search('docs', {q}, k => 5, n => 3, budget_ms => 0)")),
        "1:- 2:- 3:-"
    );
    // A budget nothing reaches: the same rows and scores as an unbounded search.
    let all = |extra: &str| text(&format!("SELECT string_agg(key || ':' || score, ' ') FROM search('docs', {q}, k => 5, n => 3{extra})"));
    assert_eq!(all(", budget_ms => 600000"), all(""));
    assert_error(&format!("SELECT * FROM search('docs', {q}, budget_ms => -5)"), "22023", "budget_ms must be a non-negative number");
}

/// A long document: `sentences` filler sentences about `topic`, then `tail`.
fn long_doc(topic: &str, sentences: i32, tail: &str) -> String {
    text(&format!(
        "SELECT string_agg(format('Note %s: the committee reviewed routine item %s about {topic} and scheduling.', g, g * 7), ' ') || ' ' || '{tail}'
         FROM generate_series(1, {sentences}) g"
    ))
}

#[pg_test]
fn chunked_registration_keeps_chunks_in_sync_and_search_reads_late_passages() {
    Spi::run("CREATE TABLE longdocs (id int PRIMARY KEY, body text)").unwrap();
    // ~1,800 tokens each, the answer in the last sentence: past what one embedding reads.
    for (id, topic, tail) in [
        (1, "office supplies", "The annual budget for paper clips was approved without changes."),
        (2, "building maintenance", "The lighthouse keeper''s cat on Zanzibar is named Marmalade."),
        (3, "travel policies", "Train tickets must be booked two weeks in advance."),
    ] {
        let body = long_doc(topic, 120, tail);
        Spi::run_with_args("INSERT INTO longdocs VALUES ($1, $2)", &[id.into(), body.into()]).unwrap();
    }
    Spi::run("SELECT register('longdocs', 'body', chunk_tokens => 128, chunk_overlap => 16)").unwrap();
    assert_eq!(
        text("SELECT format('%s %s %s %s', chunk_table, chunk_tokens, chunk_overlap, embedding_column) FROM embedrank.sources WHERE source = 'longdocs'::regclass"),
        "longdocs_chunks 128 16 embedding"
    );
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_indexes WHERE tablename = 'longdocs_chunks' AND indexdef LIKE '%embedrank_hnsw%'").unwrap(), Some(1));
    // Backfill, batch by batch (the CALL commits, which the test's transaction cannot).
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_start('longdocs', 2)").unwrap(), Some(3));
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_batch('longdocs', 2)").unwrap(), Some(2));
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_batch('longdocs', 2)").unwrap(), Some(1));
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_batch('longdocs', 2)").unwrap(), Some(0));
    let per_doc = Spi::get_one::<i64>("SELECT min(n) FROM (SELECT count(*) AS n FROM longdocs_chunks GROUP BY key) s").unwrap().unwrap();
    assert!(per_doc >= 12, "~1,800 tokens in chunks of 128: {per_doc} chunks");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM longdocs_chunks WHERE embedding IS NULL").unwrap(), Some(0));
    // Consecutive chunks overlap, and the last one holds the end of the document.
    assert_eq!(
        Spi::get_one::<bool>("SELECT bool_and(d.body LIKE '%' || c.content) FROM longdocs d JOIN longdocs_chunks c ON c.key = d.id
                              WHERE c.chunk = (SELECT max(chunk) FROM longdocs_chunks WHERE key = d.id)").unwrap(),
        Some(true)
    );
    // The answer is in the document's last chunk, and search() ranks the document by it.
    let got = text("SELECT key || ' | ' || content FROM search('longdocs', 'What is the name of the lighthouse keeper''s cat?', k => 3, n => 1)");
    assert!(got.starts_with("2 | ") && got.contains("Marmalade"), "{got}");
    // Hybrid reads chunks too; the chunk that matched the words is the one returned.
    let got = text("SELECT key || ' | ' || content FROM search('longdocs', 'paper clips budget', k => 3, n => 1, hybrid => true)");
    assert!(got.starts_with("1 | ") && got.contains("paper clips"), "{got}");

    // The trigger: new rows are chunked and embedded, changed text re-chunked, keys and deletes followed.
    let body = long_doc("parking", 40, "Visitors park on level minus two.");
    Spi::run_with_args("INSERT INTO longdocs VALUES (4, $1)", &[body.into()]).unwrap();
    let n4 = Spi::get_one::<i64>("SELECT count(*) FROM longdocs_chunks WHERE key = 4 AND embedding IS NOT NULL").unwrap().unwrap();
    assert!(n4 >= 4, "{n4}");
    Spi::run("UPDATE longdocs SET body = 'A short note.' WHERE id = 4").unwrap();
    assert_eq!(text("SELECT string_agg(content, '|') FROM longdocs_chunks WHERE key = 4"), "A short note.");
    Spi::run("UPDATE longdocs SET id = 40 WHERE id = 4").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM longdocs_chunks WHERE key = 40").unwrap(), Some(1));
    Spi::run("DELETE FROM longdocs WHERE id = 40").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM longdocs_chunks WHERE key IN (4, 40)").unwrap(), Some(0));
    Spi::run("INSERT INTO longdocs VALUES (5, NULL), (6, '   ')").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM longdocs_chunks WHERE key IN (5, 6)").unwrap(), Some(0));
    assert_eq!(Spi::get_one::<i64>("SELECT embedrank.backfill_start('longdocs', 2)").unwrap(), Some(0), "nothing to chunk in them");

    // unregister(drop_embedding) drops the chunk table.
    Spi::run("SELECT unregister('longdocs', drop_embedding => true)").unwrap();
    assert_eq!(Spi::get_one::<bool>("SELECT to_regclass('longdocs_chunks') IS NULL").unwrap(), Some(true));
}

#[pg_test]
fn chunks_and_chunked_registration_errors() {
    assert_eq!(
        text("SELECT string_agg(chunk || ':' || content, ' / ' ORDER BY chunk) FROM chunks('One. Two three. Four five six.', 3, 1)"),
        "1:One. / 2:Two three. / 3:three. Four / 4:Four five / 5:five six."
    );
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM chunks(NULL)").unwrap(), Some(0));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM chunks('  ')").unwrap(), Some(0));
    assert_error("SELECT * FROM chunks('x', 511)", "22023", "chunk size 511 is not between 1 and 510");
    assert_error("SELECT * FROM chunks('x', 0)", "22023", "chunk size 0 is not between 1 and 510");
    assert_error("SELECT * FROM chunks('x', 8, 8)", "22023", "chunk overlap 8 must be at least 0 and less than the chunk size 8");
    assert_error("SELECT * FROM chunks('x', 8, -1)", "22023", "chunk overlap -1");
    Spi::run("CREATE TABLE cd (id int PRIMARY KEY, body text)").unwrap();
    assert_error("SELECT register('cd', 'body', chunk_tokens => 1000)", "22023", "chunk size 1000 is not between 1 and 510");
    assert_error("SELECT register('cd', 'body', chunk_overlap => 10)", "22023", "chunk_overlap needs chunk_tokens");
    Spi::run("CREATE TABLE cd_chunks (x int)").unwrap();
    assert_error("SELECT register('cd', 'body', chunk_tokens => 100)", "42P07", "exists and is not a chunk table");
    // A failed re-registration leaves the registration there was.
    Spi::run("SELECT register('cd', 'body')").unwrap();
    assert_error("SELECT register('cd', 'body', chunk_tokens => 100)", "42P07", "exists and is not a chunk table");
    assert_eq!(text("SELECT format('%s %s', embedding_column, chunk_tokens IS NULL) FROM embedrank.sources WHERE source = 'cd'::regclass"), "embedding t");
    Spi::run("CREATE TABLE cp (id int PRIMARY KEY, body text) PARTITION BY HASH (id)").unwrap();
    assert_error("SELECT register('cp', 'body', chunk_tokens => 100)", "0A000", "chunked registration of partitioned table");
}

#[pg_test]
fn chunked_registrations_work_for_non_superusers_under_any_search_path() {
    Spi::run("CREATE ROLE er_test_carol").unwrap();
    Spi::run("CREATE ROLE er_test_dave").unwrap();
    Spi::run("GRANT CREATE ON SCHEMA public TO er_test_carol").unwrap();
    Spi::run("SET ROLE er_test_carol").unwrap();
    Spi::run("SET search_path = ''").unwrap();
    Spi::run("CREATE TABLE public.manuals (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("SELECT embedrank.register('public.manuals', 'body', chunk_tokens => 64)").unwrap();
    let body = long_doc("printers", 30, "Hold the green button for ten seconds to reset the filter alarm.");
    Spi::run_with_args("INSERT INTO public.manuals VALUES (1, $1)", &[body.into()]).unwrap();
    Spi::run("INSERT INTO public.manuals VALUES (2, 'Printers need paper.')").unwrap();
    assert_eq!(
        text("SELECT format('%s %s', chunk_table, chunk_overlap) FROM embedrank.sources"),
        "public.manuals_chunks 8",
        "the overlap defaults to an eighth of the chunk size"
    );
    assert_eq!(text("SELECT key FROM embedrank.search('public.manuals', 'How do I reset the filter alarm?', k => 2, n => 1)"), "1");
    // Another role that may write the table and the chunk table (as documented) and read both.
    Spi::run("GRANT SELECT, INSERT, UPDATE, DELETE ON public.manuals, public.manuals_chunks TO er_test_dave").unwrap();
    Spi::run("RESET ROLE").unwrap();
    Spi::run("SET ROLE er_test_dave").unwrap();
    Spi::run("SET search_path = pg_temp").unwrap();
    Spi::run("UPDATE public.manuals SET body = 'Printers need toner and paper.' WHERE id = 2").unwrap();
    assert_eq!(text("SELECT content FROM public.manuals_chunks WHERE key = 2"), "Printers need toner and paper.");
    assert_eq!(text("SELECT key FROM embedrank.search('public.manuals', 'toner', k => 2, n => 1, hybrid => true)"), "2");
    assert_error("SELECT embedrank.unregister('public.manuals', drop_embedding => true)", "42501", "must be owner");
    Spi::run("RESET ROLE").unwrap();
    Spi::run("RESET search_path").unwrap();
    assert_eq!(Spi::get_one::<bool>("SELECT to_regclass('public.manuals_chunks') IS NOT NULL").unwrap(), Some(true));
}

#[pg_test]
fn hybrid_search_ranks_the_lexical_stage_with_the_bm25_index_register_creates() {
    make_docs();
    Spi::run("UPDATE docs SET embedding = embed(body, 'bge-small-en-v1.5')").unwrap();
    // k => 1, all weight on the lexical stage: the one candidate is the best lexical row if there is
    // one, else the nearest. Without a BM25 index the lexical stage is full text with AND
    // semantics: no row has both words, so the candidate is the nearest (a Berlin row).
    let lexical_only = "SELECT key FROM search('docs', 'How many people live in Berlin? XJ-9000', k => 1, n => 1, hybrid => true, fusion => 'convex', lexical_weight => 1)";
    assert_ne!(text(lexical_only), "6");
    Spi::run("SELECT register('docs', 'body', lexical => true)").unwrap();
    assert_eq!(text("SELECT lexical_index('docs', 'body')::text"), "docs_body_idx");
    assert_eq!(text("SELECT amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'docs_body_idx'::regclass"), "embedrank_bm25");
    // BM25 ranks rows holding any query term; the model number's three rare lexemes (xj-9000, xj,
    // 9000) outweigh the two rows' common 'berlin'.
    assert_eq!(text(lexical_only), "6");
    assert_eq!(text("SELECT key FROM search('docs', 'XJ-9000 filter', k => 2, n => 1, hybrid => true)"), "6");
    assert_eq!(text("SELECT key FROM search('docs', 'How many people live in Berlin?', k => 3, n => 1, hybrid => true, fusion => 'convex', lexical_weight => 0.3)"), "1");
    // Registering again keeps the one index; a chunked registration indexes the chunks' content.
    Spi::run("SELECT register('docs', 'body', lexical => true)").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'docs'::regclass AND a.amname = 'embedrank_bm25'").unwrap(), Some(1));
    Spi::run("SELECT register('docs', 'body', chunk_tokens => 64, lexical => true, text_config => 'simple')").unwrap();
    Spi::run("SELECT embedrank.backfill_start('docs', 100)").unwrap();
    Spi::run("SELECT embedrank.backfill_batch('docs', 100)").unwrap();
    assert_eq!(text("SELECT lexical_index('docs_chunks', 'content')::text"), "docs_chunks_content_idx");
    assert!(text("SELECT pg_get_indexdef('docs_chunks_content_idx'::regclass)").contains("text_config=simple"));
    assert_eq!(text(lexical_only), "6");
    // Errors.
    assert_error("SELECT * FROM search('docs', 'x', hybrid => true, fusion => 'max')", "22023", "fusion must be 'rrf' or 'convex'");
    assert_error("SELECT * FROM search('docs', 'x', hybrid => true, lexical_weight => 1.5)", "22023", "lexical_weight must be between 0 and 1");
    assert_error("SELECT register('docs', 'body', lexical => true, text_config => 'klingon')", "42704", "text search configuration \"klingon\" does not exist");
}
