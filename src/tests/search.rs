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
    assert_error("SELECT register('wrongvec', 'body')", "42804", "not vector(384)");
    assert_error("SELECT * FROM search('docs', 'q', k => 5, n => 10)", "22023", "must not exceed k");
    assert_error("SELECT * FROM search('docs', 'q', k => 0)", "22023", "positive");
    assert_error("SELECT * FROM search('docs', 'q', k => 5000)", "22023", "cap of 1000");
    assert_error("SELECT * FROM search('docs', '   ')", "22023", "must not be empty");
}
