// sparsevec: each statement answers exactly what pgvector 0.8.6 answered for it (values, SQLSTATEs and
// messages, recorded from pgvector 0.8.6 on PG15 side by side with this extension).

const PGVECTOR_086_SPARSEVEC_ANSWERS: &[(&str, &str)] = &[
    ("SELECT '{1:1.5,3:3.5}/5'::sparsevec::text", "ok: {1:1.5,3:3.5}/5"),
    ("SELECT '{1:-2,3:-4}/5'::sparsevec::text", "ok: {1:-2,3:-4}/5"),
    ("SELECT '{1:2.,3:4.}/5'::sparsevec::text", "ok: {1:2,3:4}/5"),
    ("SELECT ' { 1 : 1.5 ,  3  :  3.5  } / 5 '::sparsevec::text", "ok: {1:1.5,3:3.5}/5"),
    ("SELECT '{1:1.23456}/1'::sparsevec::text", "ok: {1:1.23456}/1"),
    ("SELECT '{1:hello,2:1}/2'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{1:hello,2:1}/2\""),
    ("SELECT '{1:NaN,2:1}/2'::sparsevec::text", "22000: NaN not allowed in sparsevec"),
    ("SELECT '{1:-Infinity,2:1}/2'::sparsevec::text", "22000: infinite value not allowed in sparsevec"),
    ("SELECT '{1:1.5e38,2:-1.5e38}/2'::sparsevec::text", "ok: {1:1.5e+38,2:-1.5e+38}/2"),
    ("SELECT '{1:1.5e-38,2:-1.5e-38}/2'::sparsevec::text", "ok: {1:1.5e-38,2:-1.5e-38}/2"),
    ("SELECT '{1:4e38,2:1}/2'::sparsevec::text", "22003: \"4e38\" is out of range for type sparsevec"),
    ("SELECT '{1:-1e-46,2:1}/2'::sparsevec::text", "22003: \"-1e-46\" is out of range for type sparsevec"),
    ("SELECT '{1:1e-40}/1'::sparsevec::text", "ok: {1:1e-40}/1"),
    ("SELECT ''::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"\""),
    ("SELECT '{'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{\""),
    ("SELECT '{}'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{}\""),
    ("SELECT '{}/'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{}/\""),
    ("SELECT '{}/1'::sparsevec::text", "ok: {}/1"),
    ("SELECT '{}/1a'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{}/1a\""),
    ("SELECT '{ }/1'::sparsevec::text", "ok: {}/1"),
    ("SELECT '{1,}/1'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{1,}/1\""),
    ("SELECT '{1:}/1'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{1:}/1\""),
    ("SELECT '{1a:1}/1'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{1a:1}/1\""),
    ("SELECT '{1:1,}/1'::sparsevec::text", "22P02: invalid input syntax for type sparsevec: \"{1:1,}/1\""),
    ("SELECT '{1:0,2:1,3:0}/3'::sparsevec::text", "ok: {2:1}/3"),
    ("SELECT '{2:1,1:1}/2'::sparsevec::text", "ok: {1:1,2:1}/2"),
    ("SELECT '{1:1,2:1,1:1}/2'::sparsevec::text", "22000: sparsevec indices must not contain duplicates"),
    ("SELECT '{}/-1'::sparsevec::text", "22000: sparsevec must have at least 1 dimension"),
    ("SELECT '{}/1000000000'::sparsevec::text", "ok: {}/1000000000"),
    ("SELECT '{}/2147483648'::sparsevec::text", "54000: sparsevec cannot have more than 1000000000 dimensions"),
    ("SELECT '{}/-9223372036854775809'::sparsevec::text", "22000: sparsevec must have at least 1 dimension"),
    ("SELECT '{2147483648:1}/1'::sparsevec::text", "22000: sparsevec index out of bounds"),
    ("SELECT '{0:1}/1'::sparsevec::text", "22000: sparsevec index out of bounds"),
    ("SELECT '{2:1}/1'::sparsevec::text", "22000: sparsevec index out of bounds"),
    ("SELECT '{9:0}/1'::sparsevec::text", "ok: {}/1"),
    ("SELECT '{+01:2}/1'::sparsevec::text", "ok: {1:2}/1"),
    ("SELECT '{1:0x1p3}/1'::sparsevec::text", "ok: {1:8}/1"),
    ("SELECT '{}/3'::sparsevec(2)::text", "22000: expected 2 dimensions, not 3"),
    ("SELECT NULL::sparsevec(3, 2)::text", "22023: invalid type modifier"),
    ("SELECT NULL::sparsevec(0)::text", "22023: dimensions for type sparsevec must be at least 1"),
    ("SELECT NULL::sparsevec(1000000001)::text", "22023: dimensions for type sparsevec cannot exceed 1000000000"),
    ("SELECT ('{1:1,2:2,3:3}/3'::sparsevec < '{1:1,2:2}/2')::text", "ok: false"),
    ("SELECT ('{1:1,2:2,3:3}/3'::sparsevec >= '{1:1,2:2}/2')::text", "ok: true"),
    ("SELECT ('{1:1,2:2,3:3}/3'::sparsevec = '{1:1,2:2,3:3}/3')::text", "ok: true"),
    ("SELECT sparsevec_cmp('{}/3', '{1:1,2:2,3:3}/3')::text", "ok: -1"),
    ("SELECT sparsevec_cmp('{1:1,2:2}/2', '{1:2,2:3,3:4}/3')::text", "ok: -1"),
    ("SELECT sparsevec_cmp('{1:2,2:3}/2', '{1:1,2:2,3:3}/3')::text", "ok: 1"),
    ("SELECT sparsevec_cmp('{2:-1}/3', '{}/3')::text", "ok: -1"),
    ("SELECT sparsevec_cmp('{3:5}/3', '{}/2')::text", "ok: 1"),
    ("SELECT l2_norm('{1:3,2:4}/2'::sparsevec)::text", "ok: 5"),
    ("SELECT l2_norm('{1:3e37,2:4e37}/2'::sparsevec)::real::text", "ok: 5e+37"),
    ("SELECT l2_norm('{}/2'::sparsevec)::text", "ok: 0"),
    ("SELECT l2_distance('{1:3}/2'::sparsevec, '{2:4}/2')::text", "ok: 5"),
    ("SELECT ('{}/2'::sparsevec <-> '{1:3,2:4}/2')::text", "ok: 5"),
    ("SELECT inner_product('{1:1,2:2}/2'::sparsevec, '{1:3}/1')::text", "22000: different sparsevec dimensions 2 and 1"),
    ("SELECT inner_product('{1:1,3:3,5:5}/5'::sparsevec, '{2:4,3:6,4:8}/5')::text", "ok: 18"),
    ("SELECT inner_product('{1:3e38}/1'::sparsevec, '{1:3e38}/1')::text", "ok: Infinity"),
    ("SELECT ('{1:1,2:2}/2'::sparsevec <#> '{1:3,2:4}/2')::text", "ok: -11"),
    ("SELECT cosine_distance('{1:1,2:2}/2'::sparsevec, '{}/2')::text", "ok: NaN"),
    ("SELECT cosine_distance('{1:1,2:1}/2'::sparsevec, '{1:-1.1,2:-1.1}/2')::text", "ok: 2"),
    ("SELECT cosine_distance('{1:3e38}/1'::sparsevec, '{1:3e38}/1')::text", "ok: NaN"),
    ("SELECT cosine_distance('{1:1,2:2,3:3}/3'::sparsevec, '{1:3,2:1,3:2}/3')::text", "ok: 0.2142857142857143"),
    ("SELECT l1_distance('{1:1,3:3,5:5,7:7,9:9}/9'::sparsevec, '{2:2,4:4,6:6,8:8}/9')::text", "ok: 45"),
    ("SELECT l1_distance('{1:3e38}/1'::sparsevec, '{1:-3e38}/1')::text", "ok: Infinity"),
    ("SELECT ('{}/2'::sparsevec <+> '{1:3,2:4}/2')::text", "ok: 7"),
    ("SELECT l2_normalize('{1:3,2:4}/2'::sparsevec)::text", "ok: {1:0.6,2:0.8}/2"),
    ("SELECT l2_normalize('{1:3e38,2:1e-37}/2'::sparsevec)::text", "ok: {1:1}/2"),
    ("SELECT l2_normalize('{2:3e37,4:3e-37,6:4e37,8:4e-37}/9'::sparsevec)::text", "ok: {2:0.6,6:0.8}/9"),
    ("SELECT l2_normalize('{}/3'::sparsevec)::text", "ok: {}/3"),
    ("SELECT ARRAY[1,0,2,0,3,0]::sparsevec::text", "ok: {1:1,3:2,5:3}/6"),
    ("SELECT ARRAY[1.0,0.0,2.0,0.0,3.0,0.0]::sparsevec::text", "ok: {1:1,3:2,5:3}/6"),
    ("SELECT '{1,0,2,0,3,0}'::real[]::sparsevec(5)::text", "22000: expected 5 dimensions, not 6"),
    ("SELECT '{NULL}'::real[]::sparsevec::text", "22004: array must not contain nulls"),
    ("SELECT '{}'::real[]::sparsevec::text", "22000: sparsevec must have at least 1 dimension"),
    ("SELECT '{{1}}'::real[]::sparsevec::text", "22000: array must be 1-D"),
    ("SELECT '{4e38,-4e38}'::double precision[]::sparsevec::text", "22000: infinite value not allowed in sparsevec"),
    ("SELECT '{1e-46,-1e-46}'::double precision[]::sparsevec::text", "ok: {}/2"),
    ("SELECT '{NaN,0}'::double precision[]::sparsevec::text", "22000: NaN not allowed in sparsevec"),
    ("SELECT (SELECT array_agg(n) FROM generate_series(1, 16001) n)::sparsevec::text", "54000: sparsevec cannot have more than 16000 non-zero elements"),
    ("SELECT '[0,1.5,0,3.5,0]'::vector::sparsevec::text", "ok: {2:1.5,4:3.5}/5"),
    ("SELECT '[0,1.5,0,3.5,0]'::halfvec::sparsevec(4)::text", "22000: expected 4 dimensions, not 5"),
    ("SELECT '[0,1.5,0,3.5,0]'::halfvec::sparsevec::text", "ok: {2:1.5,4:3.5}/5"),
    ("SELECT '{2:1.5,4:3.5}/5'::sparsevec::vector::text", "ok: [0,1.5,0,3.5,0]"),
    ("SELECT '{}/16001'::sparsevec::vector::text", "54000: vector cannot have more than 16000 dimensions"),
    ("SELECT '{2:1.5,4:3.5}/5'::sparsevec::halfvec(4)::text", "22000: expected 4 dimensions, not 5"),
    ("SELECT '{2:1.5,4:3.5}/5'::sparsevec::halfvec::text", "ok: [0,1.5,0,3.5,0]"),
    ("SELECT '{}/16001'::sparsevec::halfvec::text", "54000: halfvec cannot have more than 16000 dimensions"),
    ("SELECT '{1:65520}/1'::sparsevec::halfvec::text", "22003: \"65520\" is out of range for type halfvec"),
    ("SELECT '{1:1e-8}/1'::sparsevec::halfvec::text", "ok: [0]"),
    ("SELECT format_type('sparsevec'::regtype, 5)", "ok: sparsevec(5)"),
    ("SELECT encode(sparsevec_send('{1:1.5,3:-2}/5'), 'hex')", "ok: 00000005000000020000000000000000000000023fc00000c0000000"),
    ("SELECT l2_distance('[1,2,3]'::vector, '{1:1}/3'::sparsevec)::text", "ok: 3.605551275463989"),
];

#[pg_test]
fn sparsevec_answers_as_pgvector_does() {
    assert_answers_as_pgvector(PGVECTOR_086_SPARSEVEC_ANSWERS);
}

#[pg_test]
fn sparsevec_columns_are_indexed_for_every_opclass() {
    Spi::run("CREATE TABLE sp (id int, s sparsevec(3))").unwrap();
    Spi::run("INSERT INTO sp VALUES (1, '{}/3'), (2, '{1:1,2:2,3:3}/3'), (3, '{1:1,2:1,3:1}/3'), (4, NULL)").unwrap();
    let q = "'{1:3,2:3,3:3}/3'";
    for (opclass, op, want) in [
        ("sparsevec_l2_ops", "<->", "{2,5,3,1}"),
        ("sparsevec_ip_ops", "<#>", "{5,2,3,1}"),
        // As in pgvector, a zero vector has no cosine distance and is not in a cosine index.
        ("sparsevec_cosine_ops", "<=>", "{3,2,5}"),
        ("sparsevec_l1_ops", "<+>", "{2,5,3,1}"),
    ] {
        Spi::run(&format!("CREATE INDEX sp_idx ON sp USING embedrank_hnsw (s {opclass})")).unwrap();
        Spi::run("INSERT INTO sp VALUES (5, '{1:1,2:2,3:4}/3')").unwrap();
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        let sql = format!("SELECT array_agg(id)::text FROM (SELECT id FROM sp ORDER BY s {op} {q} LIMIT 10) t");
        assert!(plan(&sql).contains("sp_idx"), "{opclass}: index not used");
        assert_eq!(text(&sql), want, "{opclass}");
        Spi::run("RESET enable_seqscan; DELETE FROM sp WHERE id = 5; DROP INDEX sp_idx").unwrap();
    }
    // A query of another dimension count is an error.
    Spi::run("CREATE INDEX sp_idx ON sp USING embedrank_hnsw (s sparsevec_l2_ops)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    assert_error(
        "SELECT id FROM sp ORDER BY s <-> '{1:1}/1000000000'::sparsevec LIMIT 1",
        "22000",
        "different sparsevec dimensions 1000000000 and 3",
    );
}

/// `n` SPLADE-like rows in `table` (id, v sparsevec(30522)): ~40 terms each, most from one of 20
/// topics' 128-term ranges, weights in [0.1, 2.1]; deterministic.
fn make_sparse_table(table: &str, n: i32, first_id: i32, terms: i32) {
    Spi::run(&format!("CREATE TABLE IF NOT EXISTS {table} (id int, v sparsevec(30522))")).unwrap();
    Spi::run(&format!(
        "INSERT INTO {table} SELECT i, (SELECT format('{{%s}}/30522', string_agg(format('%s:%s', t, w), ','))
           FROM (SELECT DISTINCT ON (t) t, w FROM (
             SELECT 1 + CASE WHEN g % 5 = 0 THEN abs(hashint4(i * 7 + g)) % 30522
                             ELSE ((i % 20) * 997 + (hashint4(i * 100 + g) & 127)) % 30522 END AS t,
                    0.1 + (hashint4(i * 31 + g) & 1023) / 512.0 AS w
             FROM generate_series(1, {terms}) g) x ORDER BY t) y)::sparsevec
         FROM generate_series({first_id}, {first_id} + {n} - 1) i"
    ))
    .unwrap();
}

#[pg_test]
fn sparse_vectors_of_splade_width_are_indexed_as_pgvector_indexes_them() {
    // 30,522 dimensions (BERT's vocabulary, SPLADE's output), far past a dense index's 2,000.
    make_sparse_table("spl", 1500, 1, 40);
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    for (opclass, op) in [
        ("sparsevec_l2_ops", "<->"),
        ("sparsevec_ip_ops", "<#>"),
        ("sparsevec_cosine_ops", "<=>"),
        ("sparsevec_l1_ops", "<+>"),
    ] {
        Spi::run(&format!("CREATE INDEX spl_idx ON spl USING embedrank_hnsw (v {opclass})")).unwrap();
        let p = plan(&format!("SELECT id FROM spl ORDER BY v {op} (SELECT v FROM spl WHERE id = 1) LIMIT 10"));
        let r = recall("spl", op, &[1, 77, 500, 1234, 1499]);
        assert!(r >= 0.9, "{opclass}: recall@10 {r} ({p})");
        // Rows inserted into the built index are found too.
        make_sparse_table("spl", 100, 5001, 40);
        let r = recall("spl", op, &[5001, 5050, 5100]);
        assert!(r >= 0.9, "{opclass}: recall@10 of inserted rows {r}");
        Spi::run("DELETE FROM spl WHERE id > 5000; DROP INDEX spl_idx").unwrap();
    }
    // The distance an index scan orders by is the operator's, to the last digit.
    Spi::run("CREATE INDEX spl_idx ON spl USING embedrank_hnsw (v sparsevec_l2_ops)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    let by_index = text("SELECT string_agg(d::text, ',') FROM (SELECT v <-> (SELECT v FROM spl WHERE id = 9) AS d FROM spl ORDER BY v <-> (SELECT v FROM spl WHERE id = 9) LIMIT 5) s");
    Spi::run("SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on").unwrap();
    let exact = text("SELECT string_agg(d::text, ',') FROM (SELECT v <-> (SELECT v FROM spl WHERE id = 9) AS d FROM spl ORDER BY 1 LIMIT 5) s");
    assert_eq!(by_index, exact);
    all_rows_reachable("spl", "<->");
}

#[pg_test]
fn sparse_index_limits_are_pgvectors() {
    // 10^9 dimensions index; a row with 1,000 non-zero entries is stored, 1,001 is pgvector's error.
    Spi::run("CREATE TABLE spw (id int, v sparsevec(1000000000))").unwrap();
    Spi::run("CREATE INDEX spw_idx ON spw USING embedrank_hnsw (v sparsevec_l2_ops) WITH (m = 48, ef_construction = 100)").unwrap();
    let row = |id: i32, nnz: i32| {
        format!(
            "INSERT INTO spw SELECT {id}, (SELECT format('{{%s}}/1000000000', string_agg(format('%s:%s', g * 99991, g + {id}), ',')) FROM generate_series(1, {nnz}) g)::sparsevec"
        )
    };
    for id in 1..=30 {
        Spi::run(&row(id, if id % 3 == 0 { 1000 } else { id * 7 })).unwrap();
    }
    assert_error(&row(99, 1001), "54000", "sparsevec cannot have more than 1000 non-zero elements for embedrank_hnsw index");
    // The build refuses it the same way.
    Spi::run("CREATE TABLE spw_big AS SELECT * FROM spw").unwrap();
    Spi::run(&row(99, 1001).replace("INTO spw", "INTO spw_big")).unwrap();
    assert_error("CREATE INDEX ON spw_big USING embedrank_hnsw (v sparsevec_l2_ops)", "54000", "cannot have more than 1000 non-zero elements");
    // Elements filling a page alone, with tall neighbour lists on pages of their own.
    Spi::run("DROP INDEX spw_idx").unwrap();
    Spi::run("SET embedrank.hnsw_test_min_level = 6").unwrap();
    Spi::run("CREATE INDEX spw_idx ON spw USING embedrank_hnsw (v sparsevec_l2_ops) WITH (m = 48, ef_construction = 100)").unwrap();
    Spi::run("RESET embedrank.hnsw_test_min_level").unwrap();
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    assert_eq!(recall("spw", "<->", &[3, 10, 30]), 1.0);
    all_rows_reachable("spw", "<->");
    // A query may have any number of entries (here more than a row may).
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    let q = "(SELECT format('{%s}/1000000000', string_agg(format('%s:1', g), ','))::sparsevec FROM generate_series(1, 5000) g)";
    assert_eq!(text(&format!("SELECT count(*)::text FROM (SELECT id FROM spw ORDER BY v <#> {q} LIMIT 100) s")), "30");
}

#[pg_test]
fn vacuumed_sparse_slots_are_reused_only_by_vectors_that_fit_them() {
    // Short rows deleted and vacuumed; long rows then inserted must not overwrite a short row's
    // slot, short ones may reuse it; every row stays reachable with its own values.
    // Cosine: under L2 a long row is farther from its own topic's long rows than from any short
    // (small-norm) row, and an HNSW graph, rebuilt or not, reaches few of them.
    make_sparse_table("spv", 600, 1, 10);
    Spi::run("CREATE INDEX spv_idx ON spv USING embedrank_hnsw (v sparsevec_cosine_ops)").unwrap();
    Spi::run("DELETE FROM spv WHERE id % 2 = 0").unwrap();
    Spi::run("SELECT tests.vacuum_index_for_test('spv_idx', 'spv')").unwrap();
    let size = || Spi::get_one::<i64>("SELECT pg_relation_size('spv_idx')").unwrap().unwrap();
    let before = size();
    make_sparse_table("spv", 300, 1001, 120);
    let after_long = size();
    assert!(after_long > before, "long rows cannot fit the short rows' freed slots");
    make_sparse_table("spv", 300, 2001, 10);
    assert!(size() - after_long <= 3 * 8192, "short rows reuse the freed slots: {} -> {}", after_long, size());
    all_rows_reachable("spv", "<=>");
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    assert!(recall("spv", "<=>", &[1, 1001, 1150, 2001, 2299]) >= 0.9);
    // Each row's own vector finds it first (its values were not overwritten). With ef_search above
    // the row count (900) the search reaches every element, so a miss is an overwritten slot, not
    // the graph (whose insert levels are random: at ef_search 100 a row now and then missed).
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL embedrank.hnsw_ef_search = 1000").unwrap();
    let misses = Spi::get_one::<i64>(
        "SELECT count(*) FROM spv o WHERE o.id % 7 = 0 AND o.id <> (SELECT id FROM spv ORDER BY v <=> o.v LIMIT 1)",
    )
    .unwrap()
    .unwrap();
    assert_eq!(misses, 0);
}

