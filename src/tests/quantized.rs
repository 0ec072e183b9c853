// embedrank_hnsw WITH (quantizer = 'sq8' | 'sq4'): the graph is traversed on codes, the rows come
// back in exact distance order with their exact distances (re-ranked from the rows the query's
// snapshot sees; on an expression index, re-sorted by Postgres), at every operator class, through
// inserts, deletes and VACUUM, and up to the wider dimension limits.

/// (ids, distances) of `ORDER BY v <op> q LIMIT k` for query row `qid`, by index or exact scan.
fn ranked(table: &str, op: &str, qid: i32, k: i32, use_index: bool) -> (Vec<i32>, Vec<f64>) {
    ranked_by(table, op, &format!("(SELECT v FROM {table} WHERE id = {qid})"), k, use_index)
}

/// (ids, distances) of `ORDER BY v <op> q LIMIT k` for the query expression `q`, by index or exact
/// scan. Only pg_catalog functions around the scan: it runs under any search_path.
fn ranked_by(table: &str, op: &str, q: &str, k: i32, use_index: bool) -> (Vec<i32>, Vec<f64>) {
    let setting = if use_index { "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on" } else { "SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on" };
    Spi::run(setting).unwrap();
    let (ids, ds) = Spi::get_two::<Vec<i32>, Vec<f64>>(&format!("SELECT array_agg(id ORDER BY n), array_agg(d ORDER BY n) FROM (SELECT id, d, row_number() OVER () AS n FROM (SELECT id, v {op} {q} AS d FROM {table} ORDER BY v {op} {q} LIMIT {k}) a) s")).unwrap();
    (ids.unwrap_or_default(), ds.unwrap_or_default())
}

/// Recall@10 of the index against the exact scan over `queries`, asserting on the way that the
/// index's rows come in non-decreasing exact distance with the exact scan's values. Without the
/// iterative scan: its rows past the first ef_search come in approximate order (as at full
/// precision), while the first ef_search come in exact order.
fn quantized_recall(table: &str, op: &str, queries: &[i32]) -> f64 {
    Spi::run("SET LOCAL embedrank.hnsw_iterative_scan = off").unwrap();
    let mut hit = 0;
    for &qid in queries {
        let (exact, exact_d) = ranked(table, op, qid, 10, false);
        let (got, got_d) = ranked(table, op, qid, 10, true);
        assert_eq!(got.len(), 10, "{table} {op} query {qid}");
        assert!(got_d.windows(2).all(|w| w[0] <= w[1]), "{table} {op} query {qid}: not in exact order: {got_d:?}");
        // The distances shown are the exact ones: the first row found is as near as the exact first.
        if got[0] == exact[0] {
            assert_eq!(got_d[0], exact_d[0], "{table} {op} query {qid}");
        }
        hit += got.iter().filter(|x| exact.contains(x)).count();
    }
    Spi::run("RESET embedrank.hnsw_iterative_scan").unwrap();
    hit as f64 / (10 * queries.len()) as f64
}

#[pg_test]
fn quantized_indexes_return_rows_in_exact_order_for_every_opclass() {
    make_table("qitems", 3000, 24);
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    let queries = [1, 77, 500, 1234, 2999];
    for quantizer in ["sq8", "sq4"] {
        for (opclass, op) in [("vector_l2_ops", "<->"), ("vector_cosine_ops", "<=>"), ("vector_ip_ops", "<#>"), ("vector_l1_ops", "<+>")] {
            Spi::run(&format!("CREATE INDEX qitems_idx ON qitems USING embedrank_hnsw (v {opclass}) WITH (quantizer = '{quantizer}')")).unwrap();
            Spi::run("SET LOCAL enable_seqscan = off").unwrap();
            let p = plan(&format!("SELECT id FROM qitems ORDER BY v {op} '[{}]' LIMIT 10", vec!["1"; 24].join(",")));
            assert!(p.contains("qitems_idx"), "{quantizer} {opclass}: index not used: {p}");
            let r = quantized_recall("qitems", op, &queries);
            // 16 steps per dimension are coarse next to these tight 24-dimension clusters
            // (BENCHMARKS.md "Compressed traversal": sq4 is for wide real embeddings; here it finds
            // 0.58–0.68 depending on the server version's random()): its floor only catches a broken
            // traversal. What holds for both is the exact order and distances checked above.
            let floor = if quantizer == "sq8" { 0.9 } else { 0.4 };
            assert!(r >= floor, "{quantizer} {opclass}: recall@10 {r}");
            Spi::run("DROP INDEX qitems_idx").unwrap();
        }
    }
}

#[pg_test]
fn quantized_recall_matches_full_precision_on_real_like_vectors() {
    // 384 dimensions, as bge-small: sq8 traverses as well as float4 (BENCHMARKS.md).
    make_table("qwide", 2000, 384);
    Spi::run("SET embedrank.hnsw_ef_search = 40").unwrap();
    let queries = [3, 250, 999, 1500, 1999];
    Spi::run("CREATE INDEX qwide_full ON qwide USING embedrank_hnsw (v vector_cosine_ops)").unwrap();
    let full = quantized_recall("qwide", "<=>", &queries);
    Spi::run("DROP INDEX qwide_full").unwrap();
    Spi::run("CREATE INDEX qwide_sq8 ON qwide USING embedrank_hnsw (v vector_cosine_ops) WITH (quantizer = 'sq8')").unwrap();
    let sq8 = quantized_recall("qwide", "<=>", &queries);
    assert!(sq8 >= full - 0.02, "recall@10 at ef_search 40: sq8 {sq8}, full precision {full}");
}

#[pg_test]
fn quantized_indexes_are_a_fraction_of_the_full_precision_size() {
    make_table("qsz", 2000, 384);
    Spi::run("CREATE INDEX qsz_full ON qsz USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("CREATE INDEX qsz_sq8 ON qsz USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')").unwrap();
    Spi::run("CREATE INDEX qsz_sq4 ON qsz USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq4')").unwrap();
    let size = |i: &str| Spi::get_one::<i64>(&format!("SELECT pg_relation_size('{i}')")).unwrap().unwrap() as f64;
    let (full, sq8, sq4) = (size("qsz_full"), size("qsz_sq8"), size("qsz_sq4"));
    // Per element: 1,536 bytes of float4 against 388 and 196 of codes, with ~270 bytes of header
    // and neighbour list each.
    assert!(sq8 < 0.45 * full, "sq8 index {sq8} bytes, full precision {full}");
    assert!(sq4 < 0.8 * sq8, "sq4 index {sq4} bytes, sq8 {sq8}");
}

#[pg_test]
fn quantized_index_stays_exact_through_inserts_deletes_and_vacuum() {
    // The same rows and changes in two tables: one under a full-precision index, one quantized.
    make_table("qdml_full", 2000, 32);
    Spi::run("CREATE TABLE qdml_sq8 AS SELECT * FROM qdml_full").unwrap();
    Spi::run("CREATE INDEX qdml_full_idx ON qdml_full USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("CREATE INDEX qdml_sq8_idx ON qdml_sq8 USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')").unwrap();
    for t in ["qdml_full", "qdml_sq8"] {
        Spi::run("SELECT setseed(0.7)").unwrap();
        // New rows, some outside the trained ranges (clamped codes, larger error bounds), and copies.
        Spi::run(&format!("INSERT INTO {t} SELECT 2000 + i, 0, (SELECT array_agg((3 * random() + 0 * g + 0 * i)::real) FROM generate_series(1, 32) g)::vector(32) FROM generate_series(1, 500) i")).unwrap();
        Spi::run(&format!("INSERT INTO {t} SELECT 3000 + id, 0, v FROM {t} WHERE id <= 20")).unwrap();
        Spi::run(&format!("DELETE FROM {t} WHERE id % 7 = 0")).unwrap();
        Spi::run(&format!("SELECT tests.vacuum_index_for_test('{t}_idx', '{t}')")).unwrap();
        Spi::run(&format!("INSERT INTO {t} SELECT 4000 + i, 0, (SELECT array_agg((random() * 2 + 0 * g + 0 * i)::real) FROM generate_series(1, 32) g)::vector(32) FROM generate_series(1, 300) i")).unwrap();
    }
    Spi::run("SET LOCAL embedrank.hnsw_ef_search = 100").unwrap();
    let queries = [1, 2001, 2498, 3001, 4001, 4300];
    let full = quantized_recall("qdml_full", "<->", &queries);
    let sq8 = quantized_recall("qdml_sq8", "<->", &queries);
    assert!(sq8 >= full - 0.05, "recall@10 after inserts, deletes and vacuum: sq8 {sq8}, full precision {full}");
    // A copy and its original both come back, at distance 0.
    let (ids, ds) = ranked("qdml_sq8", "<->", 2, 2, true);
    assert_eq!((ids.len(), ds), (2, vec![0.0, 0.0]), "{ids:?}");
    // Every live row is reachable.
    Spi::run("SET LOCAL embedrank.hnsw_max_scan_tuples = 100000").unwrap();
    assert_eq!(
        Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM qdml_sq8 ORDER BY v <-> (SELECT v FROM qdml_sq8 WHERE id = 1) LIMIT 100000) s").unwrap(),
        Spi::get_one::<i64>("SELECT count(*) FROM qdml_sq8").unwrap()
    );
}

#[pg_test]
fn quantized_halfvec_cosine_index_keeps_exact_order() {
    // Unit vectors stay float4 for the codes (not rounded to halves), so the bounds hold against
    // the halfvec operator's exact distances.
    make_table("qh0", 2000, 64);
    Spi::run("CREATE TABLE qh AS SELECT id, v::halfvec(64) AS v FROM qh0").unwrap();
    Spi::run("CREATE INDEX qh_idx ON qh USING embedrank_hnsw (v halfvec_cosine_ops) WITH (quantizer = 'sq8')").unwrap();
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    let r = quantized_recall("qh", "<=>", &[5, 600, 1999]);
    assert!(r >= 0.9, "halfvec cosine sq8 recall@10 {r}");
}

#[pg_test]
fn quantizers_raise_the_dimension_limits() {
    let rows = |name: &str, dims: usize, n: usize| {
        Spi::run(&format!(
            "CREATE TABLE {name} AS SELECT i AS id, (SELECT array_agg((random() + 0 * i + 0 * g)::real) FROM generate_series(1, {dims}) g)::vector({dims}) AS v FROM generate_series(1, {n}) i"
        ))
        .unwrap();
    };
    rows("q3072", 3072, 60);
    assert_error("CREATE INDEX ON q3072 USING embedrank_hnsw (v vector_l2_ops)", "54000", "cannot have more than 2000 dimensions");
    Spi::run("CREATE INDEX q3072_idx ON q3072 USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')").unwrap();
    rows("q16k", 16000, 30);
    assert_error("CREATE INDEX ON q16k USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')", "54000", "cannot have more than 8000 dimensions");
    Spi::run("CREATE INDEX q16k_idx ON q16k USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq4')").unwrap();
    Spi::run("INSERT INTO q16k SELECT 100 + i, (SELECT array_agg((random() + 0 * i + 0 * g)::real) FROM generate_series(1, 16000) g)::vector(16000) FROM generate_series(1, 5) i").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
    for (t, qid) in [("q3072", 1), ("q3072", 60), ("q16k", 7), ("q16k", 103)] {
        let first = Spi::get_one::<i32>(&format!("SELECT id FROM {t} ORDER BY v <-> (SELECT v FROM {t} WHERE id = {qid}) LIMIT 1")).unwrap();
        assert_eq!(first, Some(qid), "{t}: a row finds itself");
    }
    // (16,000 is also the vector type's own limit.)
    // An empty table leaves nothing to train on: full precision where the column's form fits,
    // else an error saying to load rows first.
    Spi::run("CREATE TABLE qempty (id int, v vector(8))").unwrap();
    Spi::run("CREATE INDEX qempty_idx ON qempty USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')").unwrap();
    Spi::run("INSERT INTO qempty SELECT i, ARRAY[i, 1, 2, 3, 4, 5, 6, 7]::real[]::vector(8) FROM generate_series(1, 50) i").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT id FROM qempty ORDER BY v <-> '[20,1,2,3,4,5,6,7]' LIMIT 1").unwrap(), Some(20));
    Spi::run("CREATE TABLE qempty_wide (v vector(3000))").unwrap();
    assert_error("CREATE INDEX ON qempty_wide USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')", "55000", "on an empty table");
}

#[pg_test]
fn quantizer_option_errors() {
    Spi::run("CREATE TABLE qerr (v vector(3), b bit(8), s sparsevec(5))").unwrap();
    assert_error("CREATE INDEX ON qerr USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'pq')", "22023", "invalid value for embedrank_hnsw option \"quantizer\"");
    assert_error("CREATE INDEX ON qerr USING embedrank_hnsw (b bit_hamming_ops) WITH (quantizer = 'sq8')", "0A000", "quantizer applies only to vector and halfvec columns");
    assert_error("CREATE INDEX ON qerr USING embedrank_hnsw (s sparsevec_l2_ops) WITH (quantizer = 'sq8')", "0A000", "quantizer applies only to vector and halfvec columns");
}

#[pg_test]
fn quantized_scan_reranks_the_row_versions_its_snapshot_sees() {
    // The scan re-ranks its candidates by reading their rows: every answer must be the version the
    // query's snapshot sees, with that version's exact distance.
    // Pages half full, so that an update of another column stays on its page (HOT). The updates'
    // new elements draw their levels from a fixed seed, so the graph is the same in every run.
    Spi::run("SET LOCAL embedrank.hnsw_test_level_seed = 11").unwrap();
    make_table("qvis0", 1500, 16);
    Spi::run("CREATE TABLE qvis (id int, category int, v vector(16)) WITH (fillfactor = 50)").unwrap();
    Spi::run("INSERT INTO qvis SELECT * FROM qvis0").unwrap();
    Spi::run("CREATE INDEX qvis_idx ON qvis USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq4')").unwrap();
    let q = format!("'{}'::vector(16)", Spi::get_one::<String>("SELECT v::text FROM qvis WHERE id = 700").unwrap().unwrap());
    let top = |k: i32, use_index: bool| ranked_by("qvis", "<->", &q, k, use_index);
    assert_eq!(top(1, true).0, vec![700]);
    // The scan re-ranks its candidates itself: the executor fetches only the rows it returns (its
    // re-sort by lower bounds would read rows past LIMIT first).
    let fetched = || Spi::get_one::<i64>("SELECT pg_stat_get_xact_tuples_fetched('qvis_idx'::regclass)").unwrap().unwrap();
    let before = fetched();
    assert_eq!(top(5, true).0.len(), 5);
    assert_eq!(fetched() - before, 5, "rows the executor fetched for LIMIT 5");
    // A cursor's snapshot predates the changes below: it still sees row 700 where it was.
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    Spi::run(&format!("DECLARE qvis_c CURSOR FOR SELECT id, v <-> {q} AS d FROM qvis ORDER BY v <-> {q} LIMIT 3")).unwrap();
    // A row moved onto the query and row 700 moved far away (new row versions, new index elements).
    Spi::run(&format!("UPDATE qvis SET v = {q} WHERE id = 3")).unwrap();
    Spi::run("UPDATE qvis SET v = array_fill(50, ARRAY[16])::real[]::vector(16) WHERE id = 700").unwrap();
    let (ids, ds) = top(3, true);
    assert_eq!((ids[0], ds[0]), (3, 0.0), "the moved row first, at its new distance: {ids:?} {ds:?}");
    assert!(!ids.contains(&700), "row 700's old version is gone: {ids:?}");
    // A row deleted, and a row changed in another column (a HOT update where its page has room:
    // the old TID leads to the new version).
    let second = ids[1];
    Spi::run(&format!("DELETE FROM qvis WHERE id = {second}")).unwrap();
    let third = top(3, true).0[1];
    let hot = || Spi::get_one::<i64>("SELECT pg_stat_get_xact_tuples_hot_updated('qvis'::regclass)").unwrap().unwrap();
    let hot_before = hot();
    Spi::run(&format!("UPDATE qvis SET category = -1 WHERE id = {third}")).unwrap();
    assert_eq!(hot() - hot_before, 1, "a HOT update");
    let (ids, ds) = top(3, true);
    assert!(!ids.contains(&second), "a deleted row is not returned: {ids:?}");
    assert_eq!(ids.iter().filter(|&&i| i == third).count(), 1, "an updated row comes back once: {ids:?}");
    assert_eq!((ids, ds), top(3, false), "the current versions' exact distances, as the exact scan's");
    let cursor: Vec<(i32, f64)> = Spi::connect(|c| {
        c.select("FETCH ALL FROM qvis_c", None, &[])
            .unwrap()
            .map(|r| (r.get::<i32>(1).unwrap().unwrap(), r.get::<f64>(2).unwrap().unwrap()))
            .collect()
    });
    assert_eq!(cursor[0], (700, 0.0), "the cursor's snapshot sees row 700 where it was: {cursor:?}");
    assert!(cursor.iter().all(|&(id, _)| id != 3), "nor row 3's new version: {cursor:?}");
    Spi::run("CLOSE qvis_c").unwrap();
    // Rescans (one per outer row) and a cursor closed before its end release what they read.
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; SET LOCAL embedrank.hnsw_ef_search = 200").unwrap();
    let lateral = "SELECT count(*) FILTER (WHERE n.id = o.id), count(*) FROM (SELECT id, v FROM qvis WHERE id BETWEEN 100 AND 140) o,
           LATERAL (SELECT id FROM qvis i ORDER BY i.v <-> o.v LIMIT 1) n";
    assert!(plan(lateral).contains("qvis_idx"), "{}", plan(lateral));
    let found = Spi::get_two::<i64, i64>(lateral).unwrap();
    assert_eq!(found.0, found.1, "each row finds itself");
    Spi::run(&format!("DECLARE qvis_d CURSOR FOR SELECT id FROM qvis ORDER BY v <-> {q}")).unwrap();
    Spi::run("FETCH 5 FROM qvis_d").unwrap();
    Spi::run("CLOSE qvis_d").unwrap();
    // Past the first batch: relaxed_order returns LIMIT rows, in exact order within each batch of
    // ef_search; strict_order skips any row nearer than one already returned, so its rows are in
    // order throughout.
    Spi::run("SET LOCAL embedrank.hnsw_ef_search = 10").unwrap();
    let (ids, _) = top(60, true);
    assert_eq!(ids.len(), 60);
    Spi::run("SET LOCAL embedrank.hnsw_iterative_scan = strict_order").unwrap();
    let (ids, ds) = top(60, true);
    assert!(!ids.is_empty() && ds.windows(2).all(|w| w[0] <= w[1]), "strict order: {ds:?}");
}

#[pg_test]
fn quantized_expression_index_keeps_exact_order_through_lower_bounds() {
    // An index on an expression cannot re-read its value from the row: its rows come with lower
    // bounds and Postgres re-sorts them by the exact distance.
    make_table("qexpr", 1500, 16);
    Spi::run("CREATE INDEX qexpr_idx ON qexpr USING embedrank_hnsw ((v::halfvec(16)) halfvec_l2_ops) WITH (quantizer = 'sq4')").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    for qid in [1, 500, 1499] {
        let sql = |d: &str| format!("SELECT array_agg({d} ORDER BY n) FROM (SELECT id, v::halfvec(16) <-> (SELECT v::halfvec(16) FROM qexpr WHERE id = {qid}) AS d, row_number() OVER () AS n FROM (SELECT * FROM qexpr ORDER BY v::halfvec(16) <-> (SELECT v::halfvec(16) FROM qexpr WHERE id = {qid}) LIMIT 10) a) s");
        assert!(plan(&sql("id")).contains("qexpr_idx"));
        let ids = Spi::get_one::<Vec<i32>>(&sql("id")).unwrap().unwrap();
        let ds = Spi::get_one::<Vec<f64>>(&sql("d")).unwrap().unwrap();
        assert_eq!(ids[0], qid);
        assert!(ds.windows(2).all(|w| w[0] <= w[1]), "{ds:?}");
    }
}

#[pg_test]
fn quantized_scan_for_a_plain_role_under_row_security_and_an_empty_search_path() {
    // The re-rank reads rows the query may not return (row security filters them after the scan):
    // a plain role sees only its rows, still in exact order, and the scan needs no search_path.
    make_table("qrls", 1200, 16);
    Spi::run("CREATE INDEX qrls_idx ON qrls USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')").unwrap();
    Spi::run("CREATE ROLE qrls_reader; GRANT SELECT ON qrls TO qrls_reader; GRANT USAGE ON SCHEMA public TO qrls_reader").unwrap();
    Spi::run("ALTER TABLE qrls ENABLE ROW LEVEL SECURITY").unwrap();
    Spi::run("CREATE POLICY even_rows ON qrls TO qrls_reader USING (id % 2 = 0)").unwrap();
    let q = format!("'{}'::embedrank.vector(16)", Spi::get_one::<String>("SELECT v::text FROM qrls WHERE id = 301").unwrap().unwrap());
    let op = "OPERATOR(embedrank.<->)";
    Spi::run("SET ROLE qrls_reader; SET search_path = ''; SET enable_seqscan = off").unwrap();
    assert!(plan(&format!("SELECT id FROM public.qrls ORDER BY v {op} {q} LIMIT 10")).contains("qrls_idx"));
    let (ids, ds) = ranked_by("public.qrls", op, &q, 10, true);
    let (exact_ids, exact_ds) = ranked_by("public.qrls", op, &q, 10, false);
    Spi::run("RESET ROLE; RESET search_path; RESET enable_seqscan").unwrap();
    assert_eq!(ids.len(), 10, "{ids:?}");
    assert!(ids.iter().all(|id| id % 2 == 0), "only the role's rows: {ids:?}");
    assert!(ds.windows(2).all(|w| w[0] <= w[1]), "{ds:?}");
    let found = ids.iter().filter(|i| exact_ids.contains(i)).count();
    assert!(found >= 8, "index {ids:?} against exact {exact_ids:?}");
    assert_eq!(ds[0], exact_ds[0], "the nearest visible row at its exact distance");
}
