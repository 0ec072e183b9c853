// The embedrank_bm25 index: its scans return what a sequential scan sorts, its statistics stay
// those of a fresh build through inserts, deletes and VACUUM (finished or stopped half way), and
// bad input gets clear errors.

/// `rows` documents of 3 to 40 words drawn (Zipf-like, fixed seed) from a vocabulary with stems,
/// numbers and codes, ids `from..from + rows`.
fn bm25_corpus(table: &str, from: i32, rows: i32, seed: f64) {
    Spi::run(&format!("CREATE TABLE IF NOT EXISTS {table} (id int PRIMARY KEY, body text)")).unwrap();
    Spi::run(&format!("SELECT setseed({seed})")).unwrap();
    Spi::run(&format!(
        "INSERT INTO {table} SELECT i, (SELECT string_agg(w[1 + floor(power(random(), 3) * array_length(w, 1))::int + 0 * g], ' ')
             FROM generate_series(1, 3 + (i * 7) % 38) g)
         FROM generate_series({from}, {from} + {rows} - 1) i,
              (SELECT ARRAY['the', 'driver', 'car', 'road', 'negligent', 'negligence', 'careful', 'carefully',
                            'insurance', 'claim', 'claims', 'court', 'judge', 'ruled', 'ruling', 'accident',
                            'speed', 'limit', 'XJ-9000', 'v1.2.3', '1987', 'berlin', 'paris', 'river', 'bridge',
                            'collapsed', 'engineer', 'steel', 'concrete', 'weather', 'storm', 'rain', 'flood',
                            'water', 'level', 'rising', 'quickly', 'slowly', 'report', 'reported', 'witness',
                            'statement', 'police', 'officer', 'traffic', 'light', 'red', 'green', 'crossing',
                            'pedestrian', 'zanzibar', 'quixotic', 'a', 'of', 'and'] AS w) v"
    ))
    .unwrap();
}

const BM25_QUERIES: [&str; 8] = [
    "negligent driver",
    "Negligence claims in court",
    "XJ-9000",
    "the police officer reported the accident at the crossing",
    "zanzibar quixotic",
    "v1.2.3 1987",
    "water water water level",
    "nonexistentword",
];

/// Scores (the operator's values) of `ORDER BY body <&> q LIMIT k` in the order returned, with the
/// index (checking the plan uses it without a Sort) or by a sequential scan and sort.
fn bm25_ranking(table: &str, index: &str, q: &str, k: i64, use_index: bool) -> Vec<Option<f64>> {
    let sql = format!(
        "SELECT body <&> bm25_query('{index}', $q${q}$q$) AS s FROM {table}
         ORDER BY body <&> bm25_query('{index}', $q${q}$q$) LIMIT {k}"
    );
    if use_index {
        Spi::run("SET enable_seqscan = off; SET enable_indexscan = on").unwrap();
        let p = plan(&sql);
        assert!(p.contains("Index Scan") && p.contains(index) && !p.contains("\"Sort\""), "{p}");
    } else {
        Spi::run("SET enable_seqscan = on; SET enable_indexscan = off").unwrap();
        let p = plan(&sql);
        assert!(!p.contains("Index Scan"), "{p}");
    }
    let out = Spi::connect(|c| {
        c.select(&sql, None, &[])
            .unwrap()
            .map(|r| r.get::<f64>(1).unwrap())
            .collect()
    });
    Spi::run("RESET enable_seqscan; RESET enable_indexscan").unwrap();
    out
}

/// For every query and several k: the index returns rows in score order with exactly the scores
/// of the sequential scan's top k (so the same rows up to ties), rows with NULL text last.
fn assert_index_matches_seqscan(table: &str, index: &str) {
    let rows = Spi::get_one::<i64>(&format!("SELECT count(*) FROM {table}")).unwrap().unwrap();
    for q in BM25_QUERIES {
        for k in [1, 10, 11, 37, 200, rows + 5] {
            let got = bm25_ranking(table, index, q, k, true);
            let want = bm25_ranking(table, index, q, k, false);
            assert_eq!(got.len(), want.len(), "{q} k={k}: row count");
            assert_eq!(got, want, "{q} k={k}: scores in order");
        }
    }
}

#[pg_test]
fn bm25_index_scan_returns_the_sequential_scans_top_k_through_inserts_deletes_and_vacuum() {
    bm25_corpus("bd", 1, 3000, 0.25);
    Spi::run("INSERT INTO bd VALUES (-1, NULL), (-2, ''), (-3, 'the and of a')").unwrap();
    Spi::run("CREATE INDEX bd_bm25 ON bd USING embedrank_bm25 (body)").unwrap();
    assert_index_matches_seqscan("bd", "bd_bm25");
    // Inserts: appended postings, new blocks, new terms.
    bm25_corpus("bd", 3001, 1200, 0.5);
    Spi::run("INSERT INTO bd VALUES (-4, 'brandnewterm XJ-9000 negligent'), (-5, 'brandnewterm')").unwrap();
    assert_index_matches_seqscan("bd", "bd_bm25");
    assert_eq!(text("SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM bd ORDER BY body <&> bm25_query('bd_bm25', 'brandnewterm') LIMIT 2) s"), "-5,-4");
    // Deletes and VACUUM.
    Spi::run("DELETE FROM bd WHERE id % 3 = 0 OR id BETWEEN 100 AND 400").unwrap();
    assert!(Spi::get_one::<i64>("SELECT tests.vacuum_index_for_test('bd_bm25', 'bd')").unwrap().unwrap() > 1000);
    assert_index_matches_seqscan("bd", "bd_bm25");
}

/// Every row's score for every query under index `a` equals its score under index `b`. (A build
/// inside the test's transaction also indexes the rows it deleted, as CREATE INDEX must; `b` is
/// vacuumed first so that both count the same rows.)
fn assert_same_scores(table: &str, a: &str, b: &str) {
    Spi::run(&format!("SELECT tests.vacuum_index_for_test('{b}', '{table}')")).unwrap();
    for q in BM25_QUERIES {
        let differ = Spi::get_one::<i64>(&format!(
            "SELECT count(*) FROM {table} WHERE (body <&> bm25_query('{a}', $q${q}$q$)) IS DISTINCT FROM (body <&> bm25_query('{b}', $q${q}$q$))"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(differ, 0, "{q}: scores of {a} and {b} differ on {differ} rows");
    }
}

#[pg_test]
fn bm25_statistics_after_inserts_deletes_and_vacuum_equal_a_fresh_builds() {
    Spi::run("CREATE TABLE bs (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("CREATE INDEX bs_bm25 ON bs USING embedrank_bm25 (body)").unwrap();
    bm25_corpus("bs", 1, 2500, 0.75);
    Spi::run("UPDATE bs SET body = body || ' zanzibar zanzibar' WHERE id % 50 = 0").unwrap();
    Spi::run("DELETE FROM bs WHERE id % 4 = 1").unwrap();
    Spi::run("SELECT tests.vacuum_index_for_test('bs_bm25', 'bs')").unwrap();
    Spi::run("CREATE INDEX bs_fresh ON bs USING embedrank_bm25 (body)").unwrap();
    assert_same_scores("bs", "bs_bm25", "bs_fresh");
    assert_index_matches_seqscan("bs", "bs_bm25");
    // Everything deleted: no statistics left, no rows returned.
    Spi::run("DELETE FROM bs").unwrap();
    Spi::run("SELECT tests.vacuum_index_for_test('bs_bm25', 'bs')").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM bs ORDER BY body <&> bm25_query('bs_bm25', 'driver') LIMIT 5) s").unwrap(), Some(0));
    bm25_corpus("bs", 1, 300, 0.1);
    Spi::run("DROP INDEX bs_fresh").unwrap();
    Spi::run("CREATE INDEX bs_fresh ON bs USING embedrank_bm25 (body)").unwrap();
    assert_same_scores("bs", "bs_bm25", "bs_fresh");
}

#[pg_test]
fn bm25_vacuum_stopped_half_way_is_finished_by_the_next() {
    bm25_corpus("bv", 1, 1500, 0.3);
    Spi::run("CREATE INDEX bv_bm25 ON bv USING embedrank_bm25 (body)").unwrap();
    Spi::run("DELETE FROM bv WHERE id % 5 < 2").unwrap();
    Spi::run("SET embedrank.bm25_test_vacuum_stop = on").unwrap();
    assert_error("SELECT tests.vacuum_index_for_test('bv_bm25', 'bv')", "57014", "vacuum stopped");
    Spi::run("RESET embedrank.bm25_test_vacuum_stop").unwrap();
    Spi::run("SELECT tests.vacuum_index_for_test('bv_bm25', 'bv')").unwrap();
    Spi::run("CREATE INDEX bv_fresh ON bv USING embedrank_bm25 (body)").unwrap();
    assert_same_scores("bv", "bv_bm25", "bv_fresh");
    assert_index_matches_seqscan("bv", "bv_bm25");
}

#[pg_test]
fn bm25_match_operator_scan_and_analysis() {
    bm25_corpus("bm", 1, 1000, 0.6);
    Spi::run("INSERT INTO bm VALUES (-1, 'The negligence of the operator'), (-2, 'Replace the XJ-9000 cartridge, firmware v1.2.3'), (-3, NULL)").unwrap();
    Spi::run("CREATE INDEX bm_bm25 ON bm USING embedrank_bm25 (body) WITH (text_config = 'english', k1 = 1.2, b = 0.75)").unwrap();
    for q in BM25_QUERIES {
        let cond = format!("body @@@ bm25_query('bm_bm25', $q${q}$q$)");
        Spi::run("SET enable_seqscan = off").unwrap();
        let p = plan(&format!("SELECT count(*) FROM bm WHERE {cond}"));
        assert!(p.contains("bm_bm25"), "{p}");
        let by_index = Spi::get_one::<i64>(&format!("SELECT count(*) FROM bm WHERE {cond}")).unwrap().unwrap();
        Spi::run("SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off").unwrap();
        let by_seq = Spi::get_one::<i64>(&format!("SELECT count(*) FROM bm WHERE {cond}")).unwrap().unwrap();
        let scored = Spi::get_one::<i64>(&format!("SELECT count(*) FROM bm WHERE bm25_score(body, bm25_query('bm_bm25', $q${q}$q$)) > 0")).unwrap().unwrap();
        Spi::run("RESET ALL").unwrap();
        assert_eq!(by_index, by_seq, "{q}");
        assert_eq!(by_seq, scored, "{q}");
    }
    // The planner's row estimate for a word comes from its document frequency.
    Spi::run("ANALYZE bm").unwrap();
    for word in ["driver", "zanzibar", "negligence"] {
        let cond = format!("body @@@ bm25_query('bm_bm25', '{word}')");
        let actual = Spi::get_one::<i64>(&format!("SELECT count(*) FROM bm WHERE {cond}")).unwrap().unwrap() as f64;
        let p = plan(&format!("SELECT * FROM bm WHERE {cond}"));
        let est: f64 = p.split("\"Plan Rows\":").nth(1).unwrap().split([',', '}']).next().unwrap().trim().parse().unwrap();
        assert!(est >= actual * 0.5 && est <= actual * 2.0 + 2.0, "{word}: estimated {est} rows, {actual} hold it");
    }
    // Snowball stemming: negligent finds negligence; codes and versions stay whole.
    assert!(Spi::get_one::<bool>("SELECT 'The negligence of the operator' @@@ bm25_query('bm_bm25', 'negligent')").unwrap().unwrap());
    assert!(Spi::get_one::<bool>("SELECT body @@@ bm25_query('bm_bm25', 'XJ-9000') FROM bm WHERE id = -2").unwrap().unwrap());
    assert!(Spi::get_one::<bool>("SELECT body @@@ bm25_query('bm_bm25', 'v1.2.3') FROM bm WHERE id = -2").unwrap().unwrap());
    assert!(!Spi::get_one::<bool>("SELECT body @@@ bm25_query('bm_bm25', 'the of and') FROM bm WHERE id = -1").unwrap().unwrap(), "stop words match nothing");
    // bm25_score is minus the operator; NULL query fields give NULL.
    assert_eq!(float("SELECT bm25_score(body, bm25_query('bm_bm25', 'negligent operator')) + (body <&> bm25_query('bm_bm25', 'negligent operator')) FROM bm WHERE id = -1"), 0.0);
    assert_eq!(Spi::get_one::<f64>("SELECT body <&> ROW('bm_bm25', NULL)::bm25query FROM bm WHERE id = -1").unwrap(), None);
    // Both conditions in one index scan: only matching rows, best first.
    Spi::run("SET enable_seqscan = off").unwrap();
    let n = Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM bm WHERE body @@@ bm25_query('bm_bm25', 'zanzibar') ORDER BY body <&> bm25_query('bm_bm25', 'zanzibar') LIMIT 100000) s").unwrap().unwrap();
    Spi::run("RESET enable_seqscan").unwrap();
    assert_eq!(n, Spi::get_one::<i64>("SELECT count(*) FROM bm WHERE bm25_score(body, bm25_query('bm_bm25', 'zanzibar')) > 0").unwrap().unwrap());
    // A condition on another query than the ORDER BY's: the rows that hold the condition's words,
    // best first by the ORDER BY's query (rows without its words last) — as a sequential scan.
    let mixed = "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM bm WHERE body @@@ bm25_query('bm_bm25', 'zanzibar quixotic')
                 ORDER BY body <&> bm25_query('bm_bm25', 'negligent driver') LIMIT 100000) s";
    Spi::run("SET enable_seqscan = off").unwrap();
    assert!(plan(mixed).contains("bm_bm25"));
    let by_index = text(mixed);
    Spi::run("SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off").unwrap();
    let by_seq = text(mixed);
    Spi::run("RESET ALL").unwrap();
    assert_eq!(by_index, by_seq);
    let top = "SELECT string_agg(s::text, ',') FROM (SELECT body <&> bm25_query('bm_bm25', 'negligent driver') AS s FROM bm
               WHERE body @@@ bm25_query('bm_bm25', 'zanzibar quixotic') ORDER BY body <&> bm25_query('bm_bm25', 'negligent driver') LIMIT 30) x";
    Spi::run("SET enable_seqscan = off").unwrap();
    let by_index = text(top);
    Spi::run("SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off").unwrap();
    let by_seq = text(top);
    Spi::run("RESET ALL").unwrap();
    assert_eq!(by_index, by_seq);
}

#[pg_test]
fn bm25_errors() {
    Spi::run("CREATE TABLE be (id int PRIMARY KEY, body text, other text)").unwrap();
    Spi::run("INSERT INTO be VALUES (1, 'a driver', 'x')").unwrap();
    Spi::run("CREATE INDEX be_bm25 ON be USING embedrank_bm25 (body)").unwrap();
    Spi::run("CREATE INDEX be_other ON be USING embedrank_bm25 (other)").unwrap();
    assert_error("CREATE INDEX ON be USING embedrank_bm25 (body) WITH (text_config = 'klingon')", "42704", "text search configuration \"klingon\" does not exist");
    assert_error("CREATE INDEX ON be USING embedrank_bm25 (body) WITH (k1 = -1)", "22023", "k1");
    assert_error("CREATE INDEX ON be USING embedrank_bm25 (body) WITH (b = 1.5)", "22023", "b");
    assert_error("CREATE INDEX ON be USING embedrank_bm25 (id)", "42704", "operator class");
    assert_error("SELECT body <&> bm25_query('be_pkey', 'driver') FROM be", "42809", "is not an embedrank_bm25 index");
    assert_error("SELECT body <&> bm25_query('be', 'driver') FROM be", "42809", "is not an index");
    // Two BM25 indexes on one column: the planner scans the one the query names. A generic plan,
    // which cannot know, refuses a query naming another index rather than mixing statistics.
    Spi::run("CREATE INDEX be_simple ON be USING embedrank_bm25 (body) WITH (text_config = 'simple')").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    for idx in ["be_bm25", "be_simple"] {
        let p = plan(&format!("SELECT id FROM be ORDER BY body <&> bm25_query('{idx}', 'driver') LIMIT 1"));
        assert!(p.contains(&format!("\"Index Name\":\"{idx}\"")), "{p}");
    }
    Spi::run("DROP INDEX be_simple").unwrap();
    Spi::run("PREPARE bq(bm25query) AS SELECT id FROM be ORDER BY body <&> $1 LIMIT 1").unwrap();
    Spi::run("SET plan_cache_mode = force_generic_plan").unwrap();
    assert_eq!(Spi::get_one::<i32>("EXECUTE bq(bm25_query('be_bm25', 'driver'))").unwrap(), Some(1));
    assert_error("EXECUTE bq(bm25_query('be_other', 'driver'))", "22023", "names index \"be_other\", but the scan uses index \"be_bm25\"");
    Spi::run("DEALLOCATE bq; RESET plan_cache_mode; RESET enable_seqscan").unwrap();
    // Partitioned: each partition's index scans its rows with the statistics of all of them, so
    // scores compare across partitions and equal those of one index over the same rows.
    Spi::run("CREATE TABLE bp (id int, body text) PARTITION BY RANGE (id)").unwrap();
    Spi::run("CREATE TABLE bp1 PARTITION OF bp FOR VALUES FROM (0) TO (100)").unwrap();
    Spi::run("CREATE TABLE bp2 PARTITION OF bp FOR VALUES FROM (100) TO (200)").unwrap();
    Spi::run("INSERT INTO bp VALUES (1, 'driver car'), (150, 'driver driver road')").unwrap();
    Spi::run("CREATE INDEX bp_bm25 ON bp USING embedrank_bm25 (body)").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    assert_eq!(text("SELECT string_agg(id::text, ',') FROM (SELECT id FROM bp ORDER BY body <&> bm25_query('bp_bm25', 'driver') LIMIT 2) s"), "150,1");
    Spi::run("RESET enable_seqscan").unwrap();
    Spi::run("CREATE TABLE bflat AS SELECT * FROM bp").unwrap();
    Spi::run("CREATE INDEX bflat_bm25 ON bflat USING embedrank_bm25 (body)").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM bp JOIN bflat USING (id)
        WHERE (bp.body <&> bm25_query('bp_bm25', 'driver road')) IS DISTINCT FROM (bflat.body <&> bm25_query('bflat_bm25', 'driver road'))").unwrap(), Some(0));
    assert!(float("SELECT bm25_score(body, bm25_query('bp_bm25', 'driver')) FROM bp WHERE id = 150") > 0.0);
}

#[pg_test]
fn bm25_for_a_non_superuser_under_an_empty_search_path_and_only_on_readable_tables() {
    Spi::run("CREATE ROLE bm25_owner; CREATE ROLE bm25_other").unwrap();
    Spi::run("GRANT CREATE ON SCHEMA public TO bm25_owner").unwrap();
    Spi::run("SET ROLE bm25_owner; SET search_path = ''").unwrap();
    Spi::run("CREATE TABLE public.bo (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("CREATE INDEX bo_bm25 ON public.bo USING embedrank_bm25 (body)").unwrap();
    Spi::run("INSERT INTO public.bo VALUES (1, 'secret merger with acme'), (2, 'lunch menu')").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT id FROM public.bo ORDER BY body OPERATOR(embedrank.<&>) embedrank.bm25_query('public.bo_bm25', 'merger') LIMIT 1").unwrap(), Some(1));
    Spi::run("RESET enable_seqscan").unwrap();
    // Another role learns nothing of the table's words through the index's statistics.
    Spi::run("RESET ROLE; SET ROLE bm25_other").unwrap();
    assert_error("SELECT 'merger' OPERATOR(embedrank.<&>) embedrank.bm25_query('public.bo_bm25', 'merger')", "42501", "permission denied for table bo");
    assert_error("SELECT embedrank.bm25_score('acme', embedrank.bm25_query('public.bo_bm25', 'acme'))", "42501", "permission denied");
    Spi::run("RESET ROLE").unwrap();
}

#[pg_test]
fn bm25_on_unlogged_empty_and_all_null_tables() {
    Spi::run("CREATE UNLOGGED TABLE bu (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("CREATE INDEX bu_bm25 ON bu USING embedrank_bm25 (body)").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    let top3 = "SELECT string_agg(id::text, ',' ORDER BY n) FROM (SELECT id, row_number() OVER () AS n FROM (SELECT id FROM bu ORDER BY body <&> bm25_query('bu_bm25', 'driver') LIMIT 3) s) t";
    assert_eq!(Spi::get_one::<String>(top3).unwrap(), None);
    // Rows whose text is NULL come back too, last (NULL scores), as a sort returns them.
    Spi::run("INSERT INTO bu SELECT i, NULL FROM generate_series(1, 10) i").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM bu ORDER BY body <&> bm25_query('bu_bm25', 'driver') LIMIT 3) s").unwrap(), Some(3));
    Spi::run("INSERT INTO bu VALUES (11, 'the driver'), (12, 'a car')").unwrap();
    assert!(text(top3).starts_with("11,12,"));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM bu ORDER BY body <&> bm25_query('bu_bm25', 'driver')) s").unwrap(), Some(12));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM bu WHERE body @@@ bm25_query('bu_bm25', 'driver')").unwrap(), Some(1));
    Spi::run("RESET enable_seqscan").unwrap();
}

#[pg_test]
fn bm25_plans_the_index_only_where_its_scan_answers_exactly() {
    bm25_corpus("bq", 1, 800, 0.4);
    Spi::run("ALTER TABLE bq ADD COLUMN lang text DEFAULT 'en'").unwrap();
    Spi::run("CREATE INDEX bq_bm25 ON bq USING embedrank_bm25 (body) WHERE lang = 'en'").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    // A partial index's predicate alone is no BM25 query: another plan answers.
    let p = plan_text("SELECT * FROM bq WHERE lang = 'en'");
    assert!(!p.contains("using bq_bm25"), "{p}");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM bq WHERE lang = 'en'").unwrap(), Some(800));
    // Two ORDER BY keys: the scan orders by one, so the planner sorts instead.
    let two = "SELECT id FROM bq WHERE lang = 'en' ORDER BY body <&> bm25_query('bq_bm25', 'driver'), body <&> bm25_query('bq_bm25', 'road'), id LIMIT 50";
    let p = plan_text(two);
    assert!(p.contains("Sort Key") && !p.contains("using bq_bm25"), "{p}");
    Spi::run("RESET enable_seqscan").unwrap();
}

/// The text plan of `sql` (a JSON plan cannot hold the infinite costs of paths no one should take).
fn plan_text(sql: &str) -> String {
    Spi::connect(|c| {
        c.select(&format!("EXPLAIN {sql}"), None, &[])
            .unwrap()
            .map(|r| r.get::<String>(1).unwrap().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[pg_test]
fn bm25_statistics_are_fresh_for_each_query_of_a_function() {
    Spi::run("CREATE TABLE bf (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("CREATE INDEX bf_bm25 ON bf USING embedrank_bm25 (body)").unwrap();
    Spi::run("INSERT INTO bf VALUES (1, 'a river'), (2, 'a road')").unwrap();
    // One function, one statement start: each query still reads the statistics anew.
    Spi::run("DO $$
        DECLARE before bigint; after bigint;
        BEGIN
            SET LOCAL enable_seqscan = off;
            before := (SELECT count(*) FROM bf WHERE body @@@ embedrank.bm25_query('bf_bm25', 'zanzibar'));
            INSERT INTO bf VALUES (3, 'zanzibar');
            after := (SELECT count(*) FROM bf WHERE body @@@ embedrank.bm25_query('bf_bm25', 'zanzibar'));
            IF before <> 0 OR after <> 1 THEN
                RAISE EXCEPTION 'zanzibar rows: % before, % after the insert', before, after;
            END IF;
        END $$").unwrap();
}

#[pg_test]
fn bm25_options_configuration_dependency_and_row_level_security() {
    Spi::run("CREATE TEXT SEARCH CONFIGURATION public.bm_conf (COPY = pg_catalog.english)").unwrap();
    Spi::run("CREATE TABLE bo2 (id int PRIMARY KEY, body text)").unwrap();
    Spi::run("INSERT INTO bo2 VALUES (1, 'driver driver road'), (2, 'driver')").unwrap();
    Spi::run("SET search_path = public, embedrank").unwrap();
    // Unqualified outside pg_catalog: refused (Postgres 17+ already resolves names in CREATE INDEX
    // under a search_path of pg_catalog only, so there it is not found at all).
    let got = error_of("CREATE INDEX ON bo2 USING embedrank_bm25 (body) WITH (text_config = 'bm_conf')");
    assert!(
        got.starts_with("22023: text_config \"bm_conf\" must be schema-qualified")
            || got.starts_with("42704: text search configuration \"bm_conf\" does not exist"),
        "{got}"
    );
    Spi::run("CREATE INDEX bo2_bm25 ON bo2 USING embedrank_bm25 (body) WITH (text_config = 'public.bm_conf')").unwrap();
    assert_error("DROP TEXT SEARCH CONFIGURATION public.bm_conf", "2BP01", "other objects depend on it");
    // k1 and b apply at once; a new text_config needs REINDEX.
    let s1 = float("SELECT bm25_score(body, bm25_query('bo2_bm25', 'driver')) FROM bo2 WHERE id = 1");
    Spi::run("ALTER INDEX bo2_bm25 SET (k1 = 2.0)").unwrap();
    let s2 = float("SELECT bm25_score(body, bm25_query('bo2_bm25', 'driver')) FROM bo2 WHERE id = 1");
    // Lucene's formula has no (k1 + 1) factor: a larger k1 lowers every score.
    assert!(s2 < s1, "k1 = 2 applies at once: {s1} -> {s2}");
    Spi::run("ALTER INDEX bo2_bm25 SET (text_config = 'simple')").unwrap();
    assert_error("SELECT bm25_score(body, bm25_query('bo2_bm25', 'driver')) FROM bo2", "55000", "changed after it was built");
    Spi::run("REINDEX INDEX bo2_bm25").unwrap();
    assert!(float("SELECT bm25_score(body, bm25_query('bo2_bm25', 'driver')) FROM bo2 WHERE id = 1") > 0.0);
    // Row-level security: a role the policies restrict cannot read statistics over hidden rows.
    Spi::run("CREATE ROLE bm25_rls").unwrap();
    Spi::run("GRANT SELECT ON bo2 TO bm25_rls").unwrap();
    Spi::run("ALTER TABLE bo2 ENABLE ROW LEVEL SECURITY").unwrap();
    Spi::run("CREATE POLICY only_two ON bo2 FOR SELECT USING (id = 2)").unwrap();
    // (SET LOCAL ROLE inside the checked statement: the error's rollback restores the role.)
    assert_error("SET LOCAL ROLE bm25_rls; SELECT bm25_score('driver', bm25_query('bo2_bm25', 'driver'))", "42501", "row-level security");
    assert_error("SET LOCAL ROLE bm25_rls; SET LOCAL enable_seqscan = off; SELECT id FROM bo2 ORDER BY body <&> bm25_query('bo2_bm25', 'driver') LIMIT 1", "42501", "row-level security");
    // The owner is not restricted by its policies.
    assert!(float("SELECT bm25_score(body, bm25_query('bo2_bm25', 'driver')) FROM bo2 WHERE id = 1") > 0.0);
}
