// The embedrank_hnsw access method: build, insert, scan, filters, vacuum, errors.

/// Fill `name` with `n` random unit-ish vectors of `dims` (deterministic), in clusters.
fn make_table(name: &str, n: usize, dims: usize) {
    Spi::run("SELECT setseed(0.42)").unwrap();
    Spi::run(&format!(
        "CREATE TABLE {name} AS SELECT i AS id, (i % 50) AS category,
           (SELECT array_agg(((i % 20) * 0.1 + random() + 0 * g)::real) FROM generate_series(1, {dims}) g)::vector({dims}) AS v
         FROM generate_series(1, {n}) i"
    ))
    .unwrap();
}

/// Ids of the `k` nearest rows to query row `qid` under `op`, by index or by exact scan.
fn top_ids(table: &str, op: &str, qid: i32, k: i32, use_index: bool) -> Vec<i32> {
    let setting = if use_index { "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on" } else { "SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on" };
    Spi::run(setting).unwrap();
    Spi::get_one::<Vec<i32>>(&format!(
        "SELECT array_agg(id) FROM (SELECT id FROM {table} ORDER BY v {op} (SELECT v FROM {table} WHERE id = {qid}) LIMIT {k}) s"
    ))
    .unwrap()
    .unwrap_or_default()
}

fn recall(table: &str, op: &str, queries: &[i32]) -> f64 {
    let mut hit = 0;
    for &q in queries {
        let exact = top_ids(table, op, q, 10, false);
        let approx = top_ids(table, op, q, 10, true);
        hit += approx.iter().filter(|x| exact.contains(x)).count();
    }
    hit as f64 / (10 * queries.len()) as f64
}


#[pg_test]
fn index_scans_agree_with_exact_search_for_every_opclass() {
    make_table("items", 3000, 24);
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    for (opclass, op) in [("vector_l2_ops", "<->"), ("vector_cosine_ops", "<=>"), ("vector_ip_ops", "<#>"), ("vector_l1_ops", "<+>")] {
        Spi::run(&format!("CREATE INDEX items_idx ON items USING embedrank_hnsw (v {opclass}) WITH (m = 16, ef_construction = 64)")).unwrap();
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        let p = plan(&format!("SELECT id FROM items ORDER BY v {op} '[{}]' LIMIT 10", vec!["1"; 24].join(",")));
        assert!(p.contains("items_idx"), "{opclass}: index not used: {p}");
        let r = recall("items", op, &[1, 77, 500, 1234, 2999]);
        assert!(r >= 0.9, "{opclass}: recall@10 {r}");
        Spi::run("DROP INDEX items_idx").unwrap();
    }
}

#[pg_test]
fn planner_keeps_the_index_for_wide_searches_of_small_tables() {
    // At ef_search 160 a search of a 2,000-row index computes well under the distances a sequential
    // scan does, and sorts nothing: the planner must still choose the index (an estimate that
    // counted 16 distances per unit of ef_search chose the sequential scan here).
    make_table("small", 2000, 384);
    Spi::run("CREATE INDEX ON small USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("ANALYZE small").unwrap();
    let q = vec!["0.5"; 384].join(",");
    for ef in [10, 40, 160] {
        Spi::run(&format!("SET embedrank.hnsw_ef_search = {ef}")).unwrap();
        let p = plan(&format!("SELECT id FROM small ORDER BY v <-> '[{q}]' LIMIT 10"));
        assert!(p.contains("Index Scan"), "ef_search {ef}: ORDER BY LIMIT should use the index: {p}");
    }
}

#[pg_test]
fn planner_uses_index_for_order_by_limit_only() {
    make_table("big", 20000, 8);
    Spi::run("CREATE INDEX ON big USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("ANALYZE big").unwrap();
    let p = plan("SELECT id FROM big ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 10");
    assert!(p.contains("Index Scan"), "ORDER BY LIMIT should use the index: {p}");
    let p = plan("SELECT id FROM big WHERE v = '[1,1,1,1,1,1,1,1]'");
    assert!(!p.contains("embedrank_hnsw") && !p.contains("big_v_idx"), "plain WHERE must not use the index: {p}");
}

#[pg_test]
fn empty_single_null_and_duplicate_rows() {
    Spi::run("CREATE TABLE e (id int, v vector(3))").unwrap();
    Spi::run("CREATE INDEX e_idx ON e USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM e ORDER BY v <-> '[1,2,3]' LIMIT 5) s").unwrap(), Some(0));
    Spi::run("INSERT INTO e VALUES (1, '[1,2,3]')").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT id FROM e ORDER BY v <-> '[0,0,0]' LIMIT 1").unwrap(), Some(1));
    Spi::run("INSERT INTO e SELECT i, NULL FROM generate_series(100, 120) i").unwrap();
    Spi::run("INSERT INTO e SELECT i, '[5,5,5]' FROM generate_series(200, 449) i").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM e ORDER BY v <-> '[5,5,5]' LIMIT 1000) s").unwrap(), Some(251), "all duplicates and the single row, never NULLs");
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM e ORDER BY v <-> '[5,5,5]' LIMIT 1000) s WHERE id BETWEEN 100 AND 120").unwrap(), Some(0));
    // Duplicates built in bulk (CREATE INDEX path) too.
    Spi::run("REINDEX INDEX e_idx").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(DISTINCT id) FROM (SELECT id FROM e ORDER BY v <-> '[5,5,5]' LIMIT 1000) s").unwrap(), Some(251));
}

#[pg_test]
fn limit_larger_than_ef_search_and_filtered_queries_return_enough_rows() {
    make_table("f", 5000, 16);
    Spi::run("CREATE INDEX ON f USING embedrank_hnsw (v vector_cosine_ops)").unwrap();
    Spi::run("SET enable_seqscan = off; SET embedrank.hnsw_ef_search = 10").unwrap();
    let q = format!("'[{}]'", vec!["0.5"; 16].join(","));
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM (SELECT id FROM f ORDER BY v <=> {q} LIMIT 300) s")).unwrap(), Some(300));
    // category = 7 matches 2% of rows: the iterative scan keeps going until 10 pass the filter.
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM (SELECT id FROM f WHERE category = 7 ORDER BY v <=> {q} LIMIT 10) s")).unwrap(), Some(10));
    Spi::run("SET embedrank.hnsw_iterative_scan = off").unwrap();
    assert!(Spi::get_one::<i64>(&format!("SELECT count(*) FROM (SELECT id FROM f ORDER BY v <=> {q} LIMIT 300) s")).unwrap().unwrap() <= 10);
}

#[pg_test]
fn inserts_after_build_are_found() {
    make_table("ins", 1000, 8);
    Spi::run("CREATE INDEX ON ins USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("INSERT INTO ins SELECT 100000 + i, 0, ARRAY[50 + i, 50, 50, 50, 50, 50, 50, 50]::real[]::vector(8) FROM generate_series(1, 200) i").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT id FROM ins ORDER BY v <-> '[60,50,50,50,50,50,50,50]' LIMIT 1").unwrap(), Some(100010));
    assert!(recall("ins", "<->", &[5, 100050, 100199, 700]) >= 0.9);
}

#[pg_test]
fn vacuum_removes_dead_rows_and_keeps_recall() {
    make_table("vac", 3000, 16);
    Spi::run("CREATE INDEX ON vac USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("DELETE FROM vac WHERE id % 2 = 0").unwrap();
    // VACUUM cannot run inside the test's transaction; drive the index's bulk delete directly.
    Spi::run("SELECT tests.vacuum_index_for_test('vac_v_idx', 'vac')").unwrap();
    Spi::run("SET enable_seqscan = off; SET embedrank.hnsw_ef_search = 80").unwrap();
    assert!(recall("vac", "<->", &[1, 501, 1001, 2999]) >= 0.9);
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM vac ORDER BY v <-> (SELECT v FROM vac WHERE id = 1) LIMIT 2000) s").unwrap(), Some(1500));
    Spi::run("INSERT INTO vac SELECT 10000 + i, 0, (SELECT v FROM vac WHERE id = 1) FROM generate_series(1, 5) i").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM vac ORDER BY v <-> (SELECT v FROM vac WHERE id = 1) LIMIT 6) s WHERE id = 1 OR id > 10000").unwrap(), Some(6));
}

#[pg_test]
fn space_of_vacuumed_rows_is_reused_by_inserts() {
    make_table("reuse", 2000, 16);
    Spi::run("CREATE INDEX reuse_idx ON reuse USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    let size = || Spi::get_one::<i64>("SELECT pg_relation_size('reuse_idx')").unwrap().unwrap();
    let built = size();
    // Three rounds of "update most rows": delete 1500 of the 2000, vacuum, insert 1500 new ones
    // (ids ≡ 1 mod 4, so the next round deletes them again).
    for round in 1..=3 {
        Spi::run("DELETE FROM reuse WHERE id % 4 <> 0").unwrap();
        Spi::run("SELECT tests.vacuum_index_for_test('reuse_idx', 'reuse')").unwrap();
        Spi::run(&format!(
            "INSERT INTO reuse SELECT {round} * 100000 + 4 * i + 1, i % 50,
               (SELECT array_agg(((i % 20) * 0.1 + random() + 0 * g)::real) FROM generate_series(1, 16) g)::vector(16)
             FROM generate_series(1, 1500) i"
        ))
        .unwrap();
    }
    let grown = size();
    assert!(
        (grown as f64) < built as f64 * 1.3,
        "index grew from {built} to {grown} bytes over three delete/vacuum/insert rounds of 75% of its rows"
    );
    // The reused slots hold the new rows: index and exact search agree, every live row is reachable.
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    assert!(recall("reuse", "<->", &[4, 8, 300005, 303001, 305997]) >= 0.9);
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    assert_eq!(
        Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM reuse ORDER BY v <-> (SELECT v FROM reuse WHERE id = 4) LIMIT 100000) s").unwrap(),
        Spi::get_one::<i64>("SELECT count(*) FROM reuse").unwrap()
    );
}

/// Run the index's bulk-delete + cleanup, treating heap TIDs not visible in `table` as dead (what
/// VACUUM decides), so vacuum logic is testable inside the test's transaction.
#[pg_extern]
fn vacuum_index_for_test(index: pgrx::PgRelation, table: &str) -> i64 {
    let live: std::collections::HashSet<(u32, u16)> = Spi::connect(|c| {
        c.select(&format!("SELECT ctid::text FROM {table}"), None, &[])
            .unwrap()
            .map(|r| {
                let t: String = r.get(1).unwrap().unwrap();
                let (b, o) = t.trim_matches(|c| c == '(' || c == ')').split_once(',').unwrap();
                (b.parse().unwrap(), o.parse().unwrap())
            })
            .collect()
    });
    unsafe {
        let mut info = pg_sys::IndexVacuumInfo { index: index.as_ptr(), analyze_only: false, estimated_count: true, message_level: pg_sys::DEBUG2 as i32, ..Default::default() };
        unsafe extern "C-unwind" fn dead(tid: pg_sys::ItemPointer, state: *mut std::ffi::c_void) -> bool {
            let live = &*(state as *const std::collections::HashSet<(u32, u16)>);
            let t = &*tid;
            let block = ((t.ip_blkid.bi_hi as u32) << 16) | t.ip_blkid.bi_lo as u32;
            !live.contains(&(block, t.ip_posid))
        }
        let state = &live as *const _ as *mut std::ffi::c_void;
        // Either access method's VACUUM.
        let bm25 = (*index.rd_rel).relam == crate::bm25::query::am_oid();
        let stats = if bm25 {
            let s = crate::bm25::vacuum::ambulkdelete(&mut info, std::ptr::null_mut(), Some(dead), state);
            crate::bm25::vacuum::amvacuumcleanup(&mut info, s)
        } else {
            let s = crate::index::vacuum::ambulkdelete(&mut info, std::ptr::null_mut(), Some(dead), state);
            crate::index::vacuum::amvacuumcleanup(&mut info, s)
        };
        (*stats).tuples_removed as i64
    }
}

#[pg_test]
fn small_maintenance_work_mem_falls_back_with_a_notice_and_stays_correct() {
    make_table("mw", 4000, 64);
    Spi::run("SET maintenance_work_mem = '1MB'").unwrap();
    Spi::run("CREATE INDEX ON mw USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    assert!(recall("mw", "<->", &[3, 1999, 3999]) >= 0.9);
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM mw ORDER BY v <-> (SELECT v FROM mw WHERE id = 3) LIMIT 5000) s").unwrap(), Some(4000));
}

#[pg_test]
fn parallel_build_links_every_row_and_keeps_recall() {
    // 12,000 elements: above the 10,000 from which the build links on several threads.
    make_table("par", 12_000, 24);
    let queries = [1, 77, 500, 4321, 9999, 11_999];
    Spi::run("SET max_parallel_maintenance_workers = 0").unwrap();
    Spi::run("CREATE INDEX par_serial ON par USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    let serial = recall("par", "<->", &queries);
    Spi::run("DROP INDEX par_serial").unwrap();
    Spi::run("SET max_parallel_maintenance_workers = 2").unwrap();
    Spi::run("CREATE INDEX par_parallel ON par USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    let parallel = recall("par", "<->", &queries);
    assert!(parallel >= 0.9 && parallel >= serial - 0.05, "recall@10 parallel {parallel}, serial {serial}");
    all_rows_reachable("par", "<->");
    // Inserts after a parallel build go on as after any other.
    Spi::run("INSERT INTO par SELECT id + 100000, category, v FROM par WHERE id <= 500").unwrap();
    all_rows_reachable("par", "<->");
}

/// Each query row's 10 nearest ids by the index at ef_search 1 (a greedy walk, so a different
/// neighbour anywhere on its path shows): a fingerprint of the graph.
fn graph_fingerprint(table: &str, queries: &[i32]) -> Vec<Vec<i32>> {
    Spi::run("SET LOCAL embedrank.hnsw_ef_search = 1").unwrap();
    let found = queries.iter().map(|&q| top_ids(table, "<->", q, 10, true)).collect();
    Spi::run("RESET embedrank.hnsw_ef_search").unwrap();
    found
}

/// Builds `{table}_idx` (L2, `with` options) with `temp_file_limit` set to `temp_limit`, checks
/// recall@10 on `queries` and that every row is reachable, and returns the fingerprint of the graph
/// at `probes`; the index stays for the caller to check more and drop.
fn build_checked(table: &str, with: &str, temp_limit: &str, probes: &[i32], queries: &[i32]) -> Vec<Vec<i32>> {
    Spi::run(&format!("SET temp_file_limit = '{temp_limit}'")).unwrap();
    Spi::run(&format!("CREATE INDEX {table}_idx ON {table} USING embedrank_hnsw (v vector_l2_ops) {with}")).unwrap();
    let found = graph_fingerprint(table, probes);
    let r = recall(table, "<->", queries);
    assert!(r >= 0.9, "{table}: recall@10 {r} {with}, temp_file_limit {temp_limit}");
    all_rows_reachable(table, "<->");
    found
}

#[pg_test]
fn a_build_short_of_memory_for_the_copy_sets_the_vectors_aside() {
    // 12,000 × 128: the graph needs ~12 MB, its half-precision copy ~3 MB more. At 14 MB the copy
    // fits only in place of the float4 vectors, which the build then sets aside to a temporary
    // file. Serial builds are deterministic, so the same graph as linking on the copy beside the
    // vectors (1 GB) means the copy was used the same way, and a different graph when the
    // temporary file is not allowed (temp_file_limit) means the file is what made it possible.
    make_table("aside", 12_000, 128);
    let queries: Vec<i32> = (0..40).map(|i| 1 + i * 299).collect();
    let probes: Vec<i32> = (0..300).map(|i| 7 + i * 37).collect();
    Spi::run("SET max_parallel_maintenance_workers = 0").unwrap();
    let build = |mwm: &str, temp_limit: &str| {
        Spi::run(&format!("SET maintenance_work_mem = '{mwm}'")).unwrap();
        let found = build_checked("aside", "", temp_limit, &probes, &queries);
        Spi::run("DROP INDEX aside_idx").unwrap();
        found
    };
    let beside = build("1GB", "-1");
    let aside = build("14MB", "-1");
    let no_file = build("14MB", "1kB");
    assert_eq!(aside, beside, "linking with the vectors set aside makes the graph linking beside them does");
    assert_ne!(no_file, beside, "without the temporary file the build links on the float4 vectors");
    // Inserts after such a build go on as after any other.
    Spi::run("SET maintenance_work_mem = '14MB'; RESET temp_file_limit").unwrap();
    Spi::run("CREATE INDEX aside_idx ON aside USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("INSERT INTO aside SELECT id + 100000, category, v FROM aside WHERE id <= 300").unwrap();
    all_rows_reachable("aside", "<->");
}

#[pg_test]
fn a_build_short_of_memory_for_float4_rows_sets_them_aside_while_loading() {
    // 16,000 × 256 (plus 300 exact duplicates at the end): float4 rows need ~24 MB, rows whose
    // vectors are set aside ~16 MB. At 20 MB the build sets the vectors aside part way through
    // the load and stays in memory; with no room for the temporary file it fills 20 MB and
    // inserts the rest on disk: a different graph.
    make_table("midload", 16_000, 256);
    Spi::run("INSERT INTO midload SELECT id + 100000, category, v FROM midload WHERE id <= 300").unwrap();
    let queries: Vec<i32> = (0..30).map(|i| 3 + i * 533).collect();
    let probes: Vec<i32> = (0..300).map(|i| 5 + i * 53).collect();
    Spi::run("SET max_parallel_maintenance_workers = 0; SET maintenance_work_mem = '20MB'").unwrap();
    let build = |with: &str, temp_limit: &str| {
        let found = build_checked("midload", with, temp_limit, &probes, &queries);
        // Duplicates stored while the vectors were aside joined their first copy's element.
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        let pair = Spi::get_one::<Vec<i32>>(
            "SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM midload ORDER BY v <-> (SELECT v FROM midload WHERE id = 17) LIMIT 2) s",
        )
        .unwrap()
        .unwrap();
        assert_eq!(pair, vec![17, 100017], "{with}");
        Spi::run("DROP INDEX midload_idx").unwrap();
        found
    };
    let aside = build("", "-1");
    let on_disk = build("", "1kB");
    assert_ne!(aside, on_disk, "setting the vectors aside kept the build in memory");
    // A quantized index trains its codes on the vectors read back from the temporary file.
    build("WITH (quantizer = 'sq8')", "-1");
}

#[pg_test]
fn a_coarse_copy_with_the_vectors_aside_leaves_the_rest_to_on_disk_inserts() {
    // 12,000 × 64 in 20 tight clusters with values near ±1,000: a half there is 0.5 apart from the
    // next, far coarser than the clusters' spread (0.001). At 7 MB float4 rows (~650 bytes with
    // their links) stop fitting past ~11,000, the build sets them aside (~530 bytes a row), and the
    // copy's check switches it off; the float4 vectors
    // do not fit back, so the linked part is written and the rest inserted on disk. Every row must
    // still be found, and every element must hold its own row's vector: the index is quantized
    // (sq8, trained from the temporary file), so the scan re-ranks by the heap rows' exact
    // distances and checks (in these debug builds) that each is not below the lower bound the
    // element's codes give — which an element holding another row's vector fails. (How many rows find
    // themselves first is this data's lottery, not the path's: the ~1,000 rows linked before the
    // check decided were linked on a copy that sees each cluster as one point, and the on-disk
    // inserts' levels depend on the backend's earlier inserts.)
    Spi::run("SELECT setseed(0.17)").unwrap();
    Spi::run(
        "CREATE TABLE coarse AS SELECT i AS id, 0 AS category,
           (SELECT array_agg((((i % 20) * 7 + g * 13) % 21 - 10) * 100 + random() * 0.001 + 0 * g) FROM generate_series(1, 64) g)::vector(64) AS v
         FROM generate_series(1, 12000) i",
    )
    .unwrap();
    Spi::run("SET max_parallel_maintenance_workers = 0; SET maintenance_work_mem = '7MB'").unwrap();
    Spi::run("CREATE INDEX coarse_idx ON coarse USING embedrank_hnsw (v vector_l2_ops) WITH (quantizer = 'sq8')").unwrap();
    all_rows_reachable("coarse", "<->");
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL embedrank.hnsw_ef_search = 1000").unwrap();
    for q in [1, 2, 777, 4321, 11_999, 12_000] {
        let nearest = Spi::get_one::<Vec<i32>>(&format!(
            "SELECT array_agg(id) FROM (SELECT id FROM coarse ORDER BY v <-> (SELECT v FROM coarse WHERE id = {q}) LIMIT 5) s"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(nearest.len(), 5, "query row {q}");
    }
}

#[pg_test]
fn index_errors() {
    Spi::run("CREATE TABLE nodim (v vector)").unwrap();
    assert_error("CREATE INDEX ON nodim USING embedrank_hnsw (v vector_l2_ops)", "22023", "column does not have dimensions");
    Spi::run("CREATE TABLE d3 (v vector(3))").unwrap();
    assert_error("CREATE INDEX ON d3 USING embedrank_hnsw (v vector_l2_ops) WITH (m = 1)", "22023", "out of bounds");
    assert_error("CREATE INDEX ON d3 USING embedrank_hnsw (v vector_l2_ops) WITH (m = 101)", "22023", "out of bounds");
    assert_error("CREATE INDEX ON d3 USING embedrank_hnsw (v vector_l2_ops) WITH (ef_construction = 1001)", "22023", "out of bounds");
    assert_error("CREATE INDEX ON d3 USING embedrank_hnsw (v vector_l2_ops) WITH (m = 40, ef_construction = 64)", "22023", "ef_construction must be greater than or equal to 2 * m");
    Spi::run("CREATE TABLE big_d (v vector(2001))").unwrap();
    assert_error("CREATE INDEX ON big_d USING embedrank_hnsw (v vector_l2_ops)", "54000", "2000 dimensions");
    Spi::run("INSERT INTO d3 VALUES ('[1,2,3]')").unwrap();
    Spi::run("CREATE INDEX ON d3 USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    assert_error("SELECT * FROM d3 ORDER BY v <-> '[1,2]' LIMIT 1", "22000", "different vector dimensions");
    assert!(error_of("CREATE INDEX ON d3 USING hnsw (v vector_l2_ops)").contains("hnsw"), "pgvector's AM name is not ours");
}

/// Overwrite the special area of `block` of `index` (magic or version), as a damaged or foreign page.
#[pg_extern]
fn damage_index_page_for_test(index: pgrx::PgRelation, block: i32, what: &str) {
    unsafe {
        let rel = index.as_ptr();
        let buf = crate::index::pages::buffer::ExclusiveBuffer::lock(rel, block as u32);
        let mut wal = crate::index::pages::wal::WalWrite::start(rel);
        let p = wal.page(buf, false);
        let header = p as *const pg_sys::PageHeaderData;
        let sp = (p as *mut u8).add((*header).pd_special as usize) as *mut crate::index::pages::format::Special;
        match what {
            "magic" => (*sp).magic = 0xdead_beef,
            _ => (*sp).version = 99,
        }
        wal.commit();
    }
}

#[pg_test]
fn damaged_pages_are_reported_not_followed() {
    make_table("dmg", 500, 8);
    Spi::run("CREATE INDEX dmg_idx ON dmg USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("SET enable_seqscan = off").unwrap();
    let q = "SELECT id FROM dmg ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 5";
    assert_eq!(error_of(q), "ok");
    Spi::run("SELECT tests.damage_index_page_for_test('dmg_idx', 1, 'version')").unwrap();
    assert_error(q, "XX002", "format version 99");
    Spi::run("SELECT tests.damage_index_page_for_test('dmg_idx', 0, 'magic')").unwrap();
    assert_error(q, "XX002", "corrupted page at block 0");
    assert_error("INSERT INTO dmg VALUES (9999, 0, '[1,1,1,1,1,1,1,1]')", "XX002", "corrupted page");
    Spi::run("REINDEX INDEX dmg_idx").unwrap();
    assert_eq!(error_of(q), "ok");
}

/// Set the encoding code on `index`'s meta page, as an index built by an earlier version has it.
#[pg_extern]
fn set_index_encoding_for_test(index: pgrx::PgRelation, code: i32) {
    unsafe {
        let rel = index.as_ptr();
        let buf = crate::index::pages::buffer::ExclusiveBuffer::lock(rel, 0);
        let mut wal = crate::index::pages::wal::WalWrite::start(rel);
        let p = wal.page(buf, false);
        let meta = crate::index::pages::format::meta_ptr(p);
        (*meta).encoding = code as u32;
        wal.commit();
    }
}

#[pg_test]
fn indexes_of_earlier_formats_ask_for_reindex_instead_of_answering() {
    // A sparsevec index stored dense (code 0) and a bit index of bytes (retired code 2).
    Spi::run("CREATE TABLE old_sp (id int, v sparsevec(40)); INSERT INTO old_sp SELECT i, format('{%s:1}/40', 1 + i % 40)::sparsevec FROM generate_series(1, 50) i").unwrap();
    Spi::run("CREATE INDEX old_sp_idx ON old_sp USING embedrank_hnsw (v sparsevec_l2_ops)").unwrap();
    Spi::run("CREATE TABLE old_b (id int, v bit(40)); INSERT INTO old_b SELECT i, (i * 7919)::bit(40) FROM generate_series(1, 50) i").unwrap();
    Spi::run("CREATE INDEX old_b_idx ON old_b USING embedrank_hnsw (v bit_hamming_ops)").unwrap();
    Spi::run("SELECT tests.set_index_encoding_for_test('old_sp_idx', 0)").unwrap();
    Spi::run("SELECT tests.set_index_encoding_for_test('old_b_idx', 2)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    for (scan, insert) in [
        ("SELECT id FROM old_sp ORDER BY v <-> '{1:1}/40' LIMIT 3", "INSERT INTO old_sp VALUES (99, '{2:1}/40')"),
        ("SELECT id FROM old_b ORDER BY v <~> B'1010101010101010101010101010101010101010' LIMIT 3", "INSERT INTO old_b VALUES (99, 7::bit(40))"),
    ] {
        assert_error(scan, "55000", "was built by an earlier version of pg_embedrank");
        assert_error(insert, "55000", "was built by an earlier version of pg_embedrank");
    }
    Spi::run("REINDEX INDEX old_sp_idx; REINDEX INDEX old_b_idx").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM old_sp ORDER BY v <-> '{1:1}/40' LIMIT 3) s").unwrap(), Some(3));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM old_b ORDER BY v <~> 7::bit(40) LIMIT 3) s").unwrap(), Some(3));
}

/// Append a never-initialised (all-zero) block to `index`, as an ERROR or crash between relation
/// extension (not WAL-logged) and the first WAL record of the new page leaves one.
#[pg_extern]
fn append_zero_page_for_test(index: pgrx::PgRelation) -> i64 {
    // Relation extension writes the zero block to the file; dropping the guard releases it unwritten.
    let buf = crate::index::pages::buffer::ExclusiveBuffer::extend(index.as_ptr(), pg_sys::ForkNumber::MAIN_FORKNUM);
    buf.block() as i64
}

/// Links from live elements to elements that are deleted (`DELETED_FREE` ones: the slots inserts
/// may reuse) — must always be zero.
#[pg_extern]
fn links_to_free_slots_for_test(index: pgrx::PgRelation) -> i64 {
    use crate::index::graph::{self, PageGraph};
    use crate::index::pages::{buffer::block_count, format as page};
    use embedrank_core::hnsw::GraphView;
    let rel = index.as_ptr();
    let meta = graph::read_meta(rel);
    let mut g = PageGraph::new(rel, &meta, false);
    let mut state = std::collections::HashMap::new();
    let mut listed = Vec::new();
    for block in 1..block_count(rel) {
        listed.clear();
        graph::page_elements(rel, block, &mut listed);
        for e in &listed {
            state.insert(e.node, (e.deleted, e.level));
        }
    }
    let mut bad = 0;
    let mut list = Vec::new();
    for (&n, &(deleted, level)) in &state {
        if deleted != page::LIVE {
            continue;
        }
        for l in 0..=level {
            list.clear();
            g.neighbors(n, l, &mut list);
            bad += list.iter().filter(|x| state.get(x).is_some_and(|s| s.0 == page::DELETED_FREE)).count();
        }
    }
    bad as i64
}

/// Every row of `table` with a value in column `v` is returned by an index scan (`op` on `v`, any of
/// the indexable types) that walks the whole graph, starting from the row with the smallest id.
fn all_rows_reachable(table: &str, op: &str) {
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; SET LOCAL embedrank.hnsw_max_scan_tuples = 100000000").unwrap();
    let total = Spi::get_one::<i64>(&format!("SELECT count(*) FROM {table} WHERE v IS NOT NULL")).unwrap();
    let scan = format!(
        "SELECT id FROM {table} ORDER BY v {op} (SELECT v FROM {table} WHERE v IS NOT NULL ORDER BY id LIMIT 1) LIMIT 1000000"
    );
    assert!(plan(&scan).contains("Index Scan"), "{table}: not an index scan: {}", plan(&scan));
    let found = Spi::get_one::<i64>(&format!("SELECT count(*) FROM ({scan}) s")).unwrap();
    assert_eq!(found, total, "{table}: index scan reaches every row");
}

#[pg_test]
fn largest_vectors_and_tallest_neighbour_lists_build_and_insert() {
    // (dims, m, forced level): an element and its list no longer share a page, or the list alone
    // nearly fills one (m = 100 caps levels at 11, as pgvector does).
    for (dims, m, level) in [(2000, 16, 0), (2000, 16, 16), (1536, 100, 16), (1536, 100, 1)] {
        let t = format!("lim_{dims}_{m}_{level}");
        make_table(&t, 120, dims);
        Spi::run(&format!("SET embedrank.hnsw_test_min_level = {level}")).unwrap();
        Spi::run(&format!(
            "CREATE INDEX {t}_idx ON {t} USING embedrank_hnsw (v vector_l2_ops) WITH (m = {m}, ef_construction = {})",
            2 * m
        ))
        .unwrap();
        Spi::run(&format!(
            "INSERT INTO {t} SELECT 1000 + i, 0, (SELECT array_agg((random() + 0 * g + 0 * i)::real) FROM generate_series(1, {dims}) g)::vector({dims})
             FROM generate_series(1, 60) i"
        ))
        .unwrap();
        Spi::run("RESET embedrank.hnsw_test_min_level").unwrap();
        Spi::run("SET embedrank.hnsw_ef_search = 200").unwrap();
        assert!(recall(&t, "<->", &[1, 60, 1001, 1060]) >= 0.9, "{t}");
        all_rows_reachable(&t, "<->");
        Spi::run(&format!("DELETE FROM {t} WHERE id % 3 = 0")).unwrap();
        Spi::run(&format!("SELECT tests.vacuum_index_for_test('{t}_idx', '{t}')")).unwrap();
        Spi::run(&format!(
            "INSERT INTO {t} SELECT 2000 + i, 0, (SELECT array_agg((random() + 0 * g + 0 * i)::real) FROM generate_series(1, {dims}) g)::vector({dims})
             FROM generate_series(1, 30) i"
        ))
        .unwrap();
        all_rows_reachable(&t, "<->");
        Spi::run(&format!("DROP TABLE {t}")).unwrap();
    }
}

#[pg_test]
fn zero_pages_are_free_space_not_corruption() {
    make_table("zp", 1500, 16);
    Spi::run("CREATE INDEX zp_idx ON zp USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("SELECT tests.append_zero_page_for_test('zp_idx')").unwrap();
    Spi::run("INSERT INTO zp SELECT 5000 + i, 0, (SELECT v FROM zp WHERE id = i) FROM generate_series(1, 300) i").unwrap();
    Spi::run("SELECT tests.append_zero_page_for_test('zp_idx')").unwrap();
    // VACUUM reads every page; inserts then walk the freed space page by page past the zero pages.
    Spi::run("DELETE FROM zp WHERE id % 2 = 0").unwrap();
    assert_eq!(error_of("SELECT tests.vacuum_index_for_test('zp_idx', 'zp')"), "ok");
    // (`0 * i` correlates the subquery, so every row gets its own random vector.)
    Spi::run("INSERT INTO zp SELECT 10000 + i, 0, (SELECT array_agg((random() + 0 * g + 0 * i)::real) FROM generate_series(1, 16) g)::vector(16) FROM generate_series(1, 1500) i").unwrap();
    Spi::run("SELECT tests.append_zero_page_for_test('zp_idx')").unwrap();
    assert_eq!(error_of("SELECT tests.vacuum_index_for_test('zp_idx', 'zp')"), "ok");
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    // Half of the 20 clusters are deleted as a whole: VACUUM must keep the rest reachable (query 1
    // lost every path into its cluster when repairs looked only one hop past a deleted element).
    let r = recall("zp", "<->", &[1, 3, 5299, 10001, 10500, 11000, 11499]);
    assert!(r >= 0.9, "recall@10 {r}");
    all_rows_reachable("zp", "<->");
}

/// Recall@10 (ef_search 40) after: build 1500 rows, delete half, VACUUM, delete a quarter more,
/// VACUUM stopped after phase `stop_after` (0 = completed), insert 1500 rows. No live element may
/// link to a freed slot at any point. (tests/integration repeats this with 20,000 inserted rows.)
fn recall_after_stopped_vacuum(stop_after: i32) -> f64 {
    let t = format!("sv{stop_after}");
    make_table(&t, 1500, 16);
    Spi::run(&format!("CREATE INDEX {t}_idx ON {t} USING embedrank_hnsw (v vector_l2_ops)")).unwrap();
    Spi::run(&format!("DELETE FROM {t} WHERE id % 2 = 0")).unwrap();
    Spi::run(&format!("SELECT tests.vacuum_index_for_test('{t}_idx', '{t}')")).unwrap();
    Spi::run(&format!("DELETE FROM {t} WHERE id % 4 = 1")).unwrap();
    Spi::run(&format!("SET embedrank.hnsw_test_vacuum_stop_after = {stop_after}")).unwrap();
    let outcome = error_of(&format!("SELECT tests.vacuum_index_for_test('{t}_idx', '{t}')"));
    Spi::run("RESET embedrank.hnsw_test_vacuum_stop_after").unwrap();
    if stop_after == 0 {
        assert_eq!(outcome, "ok");
    } else {
        assert!(outcome.starts_with("57014"), "{outcome}");
    }
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT tests.links_to_free_slots_for_test('{t}_idx')")).unwrap(), Some(0));
    Spi::run("SET embedrank.hnsw_test_level_seed = 7; SELECT setseed(0.7)").unwrap();
    Spi::run(&format!(
        "INSERT INTO {t} SELECT 100000 + i, i % 50, (SELECT array_agg(((i % 20) * 0.1 + random() + 0 * g)::real) FROM generate_series(1, 16) g)::vector(16)
         FROM generate_series(1, 1500) i"
    ))
    .unwrap();
    Spi::run("RESET embedrank.hnsw_test_level_seed").unwrap();
    assert_eq!(Spi::get_one::<i64>(&format!("SELECT tests.links_to_free_slots_for_test('{t}_idx')")).unwrap(), Some(0));
    let queries: Vec<i32> = (0..30).map(|i| 100001 + i * 49).collect();
    let r = recall(&t, "<->", &queries);
    all_rows_reachable(&t, "<->");
    Spi::run(&format!("DROP TABLE {t}")).unwrap();
    r
}

#[pg_test]
fn a_vacuum_stopped_at_any_phase_never_frees_linked_slots() {
    let completed = recall_after_stopped_vacuum(0);
    for phase in 1..=3 {
        let r = recall_after_stopped_vacuum(phase);
        assert!(r >= completed - 0.03, "vacuum stopped after phase {phase}: recall@10 {r}, completed run {completed}");
    }
}

#[pg_test]
fn null_and_zero_queries_return_the_indexed_rows_as_pgvector() {
    Spi::run("CREATE TABLE nz (v vector(3))").unwrap();
    Spi::run("INSERT INTO nz VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL)").unwrap();
    Spi::run("CREATE INDEX nz_l2 ON nz USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("INSERT INTO nz VALUES ('[1,2,4]')").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    let count = |sql: &str| Spi::get_one::<i64>(&format!("SELECT count(*) FROM ({sql}) s")).unwrap().unwrap();
    assert!(plan("SELECT * FROM nz ORDER BY v <-> (SELECT NULL::vector)").contains("nz_l2"));
    assert_eq!(count("SELECT * FROM nz ORDER BY v <-> (SELECT NULL::vector)"), 4);
    Spi::run("DROP INDEX nz_l2").unwrap();
    Spi::run("CREATE INDEX nz_cos ON nz USING embedrank_hnsw (v vector_cosine_ops)").unwrap();
    assert!(plan("SELECT * FROM nz ORDER BY v <=> '[0,0,0]'").contains("nz_cos"));
    assert_eq!(count("SELECT * FROM nz ORDER BY v <=> '[0,0,0]'"), 3);
    assert_eq!(count("SELECT * FROM nz ORDER BY v <=> (SELECT NULL::vector)"), 3);
}

#[pg_test]
fn cosine_index_keeps_rows_whose_float4_norm_would_overflow_or_underflow() {
    Spi::run("CREATE TABLE cn (id int, v vector(3))").unwrap();
    Spi::run("CREATE INDEX ON cn USING embedrank_hnsw (v vector_cosine_ops)").unwrap();
    Spi::run("INSERT INTO cn VALUES (1,'[1,2,3]'),(2,'[2e19,2e19,2e19]'),(3,'[3e38,1,1]'),(4,'[1e-45,0,0]'),(5,'[1e-30,1e-30,0]')").unwrap();
    let ids = |index: bool| {
        Spi::run(if index { "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on" } else { "SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off" }).unwrap();
        text("SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM cn ORDER BY v <=> '[1,1,1]' LIMIT 10) s")
    };
    assert_eq!(ids(true), "1,2,3,4,5");
    assert_eq!(ids(true), ids(false));
    // Built in bulk too.
    Spi::run("REINDEX TABLE cn").unwrap();
    assert_eq!(ids(true), "1,2,3,4,5");
}

/// Scan `index` through the access method directly, as code other than the planner's may (CLUSTER-like
/// callers, other extensions): with SnapshotAny instead of the active MVCC snapshot when `any_snapshot`,
/// and one ORDER BY key (`[1,0]`) when `order_by`. Returns the number of heap TIDs the scan yields.
#[pg_extern]
fn direct_scan_count(index: pg_sys::Oid, any_snapshot: bool, order_by: bool) -> i64 {
    unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let idx = pg_sys::index_open(index, lock);
        let heap = pg_sys::table_open((*(*idx).rd_index).indrelid, lock);
        let snapshot = if any_snapshot { &raw mut pg_sys::SnapshotAnyData } else { pg_sys::GetActiveSnapshot() };
        let norderbys = order_by as i32;
        #[cfg(feature = "pg18")]
        let scan = pg_sys::index_beginscan(heap, idx, snapshot, std::ptr::null_mut(), 0, norderbys);
        #[cfg(not(feature = "pg18"))]
        let scan = pg_sys::index_beginscan(heap, idx, snapshot, 0, norderbys);
        let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
        key.sk_attno = 1;
        key.sk_strategy = 1;
        key.sk_argument = crate::vector::new_vector(&[1.0, 0.0]);
        let keys = if order_by { &raw mut key } else { std::ptr::null_mut() };
        pg_sys::index_rescan(scan, std::ptr::null_mut(), 0, keys, norderbys);
        let mut n = 0;
        while !pg_sys::index_getnext_tid(scan, pg_sys::ScanDirection::ForwardScanDirection).is_null() {
            n += 1;
        }
        pg_sys::index_endscan(scan);
        pg_sys::index_close(idx, lock);
        pg_sys::table_close(heap, lock);
        n
    }
}

#[pg_test]
fn a_scan_without_order_by_or_with_a_non_mvcc_snapshot_is_an_error() {
    Spi::run("CREATE TABLE direct (id int, v vector(2))").unwrap();
    Spi::run("INSERT INTO direct VALUES (1, '[1,0]'), (2, '[0,1]'), (3, '[1,1]')").unwrap();
    Spi::run("CREATE INDEX direct_idx ON direct USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    // The same direct scan with the active snapshot and an ORDER BY key returns every row.
    assert_eq!(text("SELECT tests.direct_scan_count('direct_idx'::regclass, false, true)::text"), "3");
    assert_error(
        "SELECT tests.direct_scan_count('direct_idx'::regclass, true, true)",
        "0A000",
        "non-MVCC snapshots are not supported with embedrank_hnsw",
    );
    assert_error(
        "SELECT tests.direct_scan_count('direct_idx'::regclass, false, false)",
        "0A000",
        "cannot scan embedrank_hnsw index without order",
    );
}

#[pg_test]
fn halfvec_columns_and_expression_indexes_answer_like_exact_search() {
    // The halfvec column is filled as the table is made: an UPDATE in this test's transaction would
    // leave HOT chains that make an index built later unusable until the transaction ends
    // (pg_index.indcheckxmin), and the test runs in one transaction.
    make_table("items0", 3000, 24);
    Spi::run("CREATE TABLE items AS SELECT id, category, v, v::halfvec(24) AS h FROM items0").unwrap();
    Spi::run("SET embedrank.hnsw_ef_search = 100").unwrap();
    let q = format!("'[{}]'", vec!["0.5"; 24].join(","));
    for (opclass, op) in [("halfvec_l2_ops", "<->"), ("halfvec_cosine_ops", "<=>"), ("halfvec_ip_ops", "<#>"), ("halfvec_l1_ops", "<+>")] {
        Spi::run(&format!("CREATE INDEX items_h_idx ON items USING embedrank_hnsw (h {opclass})")).unwrap();
        let sql = |qid: i32| format!("SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY h {op} (SELECT h FROM items WHERE id = {qid}) LIMIT 10) s");
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        let p = plan(&format!("SELECT id FROM items ORDER BY h {op} {q}::halfvec LIMIT 10"));
        assert!(p.contains("items_h_idx"), "{opclass}: index not used: {p}");
        let mut hits = 0;
        for qid in [1, 77, 500, 1234, 2999] {
            Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
            let approx = Spi::get_one::<Vec<i32>>(&sql(qid)).unwrap().unwrap();
            Spi::run("SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on").unwrap();
            let exact = Spi::get_one::<Vec<i32>>(&sql(qid)).unwrap().unwrap();
            hits += approx.iter().filter(|x| exact.contains(x)).count();
        }
        assert!(hits >= 45, "{opclass}: recall@10 {}", hits as f64 / 50.0);
        // Rows inserted after the build go in through aminsert.
        Spi::run("INSERT INTO items (id, category, v, h) VALUES (9001, 0, NULL, (SELECT h FROM items WHERE id = 5))").unwrap();
        Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
        let all = Spi::get_one::<Vec<i32>>(&sql(5).replace("LIMIT 10", "LIMIT 5000")).unwrap().unwrap();
        assert!(all.contains(&9001) && all.len() == 3001, "{opclass}: the scan returns {} rows, the inserted one: {}", all.len(), all.contains(&9001));
        Spi::run("DELETE FROM items WHERE id = 9001; DROP INDEX items_h_idx").unwrap();
    }
    // Expression indexes: a halfvec copy of a vector column, and a Matryoshka-style prefix.
    Spi::run("CREATE INDEX items_half_expr ON items USING embedrank_hnsw ((v::halfvec(24)) halfvec_cosine_ops)").unwrap();
    Spi::run("CREATE INDEX items_prefix_expr ON items USING embedrank_hnsw ((subvector(v, 1, 8)::vector(8)) vector_l2_ops)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    let p = plan(&format!("SELECT id FROM items ORDER BY v::halfvec(24) <=> {q}::halfvec(24) LIMIT 5"));
    assert!(p.contains("items_half_expr"), "halfvec expression index not used: {p}");
    let p = plan(&format!("SELECT id FROM items ORDER BY subvector(v, 1, 8)::vector(8) <-> '[{}]' LIMIT 5", ["0.5"; 8].join(",")));
    assert!(p.contains("items_prefix_expr"), "subvector expression index not used: {p}");
    let first = Spi::get_one::<i32>("SELECT id FROM items ORDER BY subvector(v, 1, 8)::vector(8) <-> (SELECT subvector(v, 1, 8) FROM items WHERE id = 42) LIMIT 1").unwrap();
    assert_eq!(first, Some(42));
}

/// Table `t`'s bit column `b` indexed for Hamming and for Jaccard: the index finds each query's own code
/// first and distances as small as the exact search's.
fn bit_index_answers_like_exact_search(t: &str) {
    Spi::run("SET LOCAL embedrank.hnsw_ef_search = 100").unwrap();
    for (opclass, op) in [("bit_hamming_ops", "<~>"), ("bit_jaccard_ops", "<%>")] {
        Spi::run(&format!("CREATE INDEX {t}_idx ON {t} USING embedrank_hnsw (b {opclass})")).unwrap();
        // Both settings: the exact runs below leave enable_indexscan off, and PG18 then prefers the
        // seq scan, each path having one disabled node.
        Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
        let p = plan(&format!("SELECT id FROM {t} ORDER BY b {op} (SELECT b FROM {t} WHERE id = 1) LIMIT 10"));
        assert!(p.contains(&format!("{t}_idx")), "{t} {opclass}: index not used: {p}");
        // Many rows tie on these distances: compare the distances returned, not the ids.
        let dists = |qid: i32| format!("SELECT array_agg(d) FROM (SELECT b {op} (SELECT b FROM {t} WHERE id = {qid}) AS d FROM {t} ORDER BY b {op} (SELECT b FROM {t} WHERE id = {qid}) LIMIT 10) s");
        let mut close = 0;
        for qid in [1, 77, 500, 1234, 2999] {
            Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
            let approx = Spi::get_one::<Vec<f64>>(&dists(qid)).unwrap().unwrap();
            Spi::run("SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on").unwrap();
            let exact = Spi::get_one::<Vec<f64>>(&dists(qid)).unwrap().unwrap();
            assert_eq!(approx[0], 0.0, "{t} {opclass}: the query's own code comes first: {approx:?} exact {exact:?}");
            close += approx.iter().zip(&exact).filter(|(a, e)| a <= &&(*e + 1e-9)).count();
        }
        assert!(close >= 45, "{t} {opclass}: {close} of 50 index distances as small as the exact ones");
        Spi::run(&format!("DROP INDEX {t}_idx")).unwrap();
    }
}

#[pg_test]
fn iterative_scan_modes_are_pgvectors() {
    make_table("itm", 2000, 8);
    Spi::run("CREATE INDEX itm_idx ON itm USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL embedrank.hnsw_ef_search = 10").unwrap();
    // One row in 50 passes the filter: only an iterative scan finds 30 of them past ef_search 10.
    let q = "SELECT array_agg(d) FROM (SELECT v <-> (SELECT v FROM itm WHERE id = 1) AS d FROM itm
             WHERE category = 7 ORDER BY v <-> (SELECT v FROM itm WHERE id = 1) LIMIT 30) s";
    for (setting, shown) in [
        ("off", "off"),
        ("relaxed_order", "relaxed_order"),
        ("strict_order", "strict_order"),
        ("on", "relaxed_order"),
        ("false", "off"),
        ("STRICT_ORDER", "strict_order"),
    ] {
        Spi::run(&format!("SET LOCAL embedrank.hnsw_iterative_scan = {setting}")).unwrap();
        assert_eq!(text("SHOW embedrank.hnsw_iterative_scan"), shown);
        let d = Spi::get_one::<Vec<f64>>(q).unwrap().unwrap_or_default();
        match shown {
            "off" => assert!(d.len() < 30, "{setting}: {} rows", d.len()),
            "strict_order" => {
                assert!(!d.is_empty(), "{setting}");
                assert!(d.windows(2).all(|w| w[0] <= w[1]), "{setting}: out of order: {d:?}");
            }
            _ => assert_eq!(d.len(), 30, "{setting}"),
        }
    }
    assert_error("SET embedrank.hnsw_iterative_scan = sideways", "22023", "invalid value for parameter");
}

#[pg_test]
fn bit_indexes_answer_like_exact_search_and_serve_binary_quantize_expressions() {
    // Random codes: few ties among near neighbours (codes of clustered data tie by the hundred, where
    // any approximate search may miss the single nearest one). Filled as the table is made (see the
    // halfvec test above on UPDATEs in the test's transaction).
    make_table("items0", 3000, 64);
    // 64 bits (two whole words) and 100 (the last word padded).
    for bits in [64, 100] {
        let t = format!("items_b{bits}");
        Spi::run(&format!("CREATE TABLE {t} AS SELECT id, v, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '') FROM generate_series(1, {bits}) g WHERE g > id * 0)::bit({bits}) AS b FROM items0")).unwrap();
        bit_index_answers_like_exact_search(&t);
    }
    Spi::run("CREATE TABLE items AS SELECT * FROM items_b64").unwrap();
    // The first pass of "binary quantize, then re-score with full vectors": an expression index.
    Spi::run("CREATE INDEX items_bq ON items USING embedrank_hnsw ((binary_quantize(v)::bit(64)) bit_hamming_ops)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    let p = plan("SELECT id FROM items ORDER BY binary_quantize(v)::bit(64) <~> (SELECT binary_quantize(v) FROM items WHERE id = 3) LIMIT 10");
    assert!(p.contains("items_bq"), "binary_quantize expression index not used: {p}");
    assert_error("CREATE INDEX ON items USING embedrank_hnsw ((b::varbit) bit_hamming_ops)", "0A000", "type not supported for embedrank_hnsw index");
}

#[pg_test]
fn a_bit_query_of_another_length_is_an_error_before_it_is_unpacked() {
    Spi::run("CREATE TABLE bq (id int, b bit(8))").unwrap();
    Spi::run("INSERT INTO bq VALUES (1, B'10110000'), (2, B'01001111')").unwrap();
    Spi::run("CREATE INDEX ON bq USING embedrank_hnsw (b bit_hamming_ops)").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off").unwrap();
    assert_eq!(Spi::get_one::<i32>("SELECT id FROM bq ORDER BY b <~> B'10110001' LIMIT 1").unwrap(), Some(1));
    // 10^8 bits: refused by length, not unpacked into 400 MB of floats.
    assert_error(
        "SELECT id FROM bq ORDER BY b <~> repeat('1', 100000000)::varbit LIMIT 1",
        "22000",
        "different bit lengths 100000000 and 8",
    );
}

#[pg_test]
fn halfvec_and_bit_indexes_keep_their_own_precision_up_to_pgvectors_limits() {
    Spi::run("SELECT setseed(0.17)").unwrap();
    // halfvec: stored as halves, so 4,000 dimensions fit a page (an element alone, its list apart),
    // at level 0 and at forced tall levels.
    for level in [0, 12] {
        let t = format!("h4000_{level}");
        Spi::run(&format!(
            "CREATE TABLE {t} AS SELECT i AS id, (SELECT array_agg(((i % 7) * 0.1 + random() + 0 * g)::real) FROM generate_series(1, 4000) g)::halfvec(4000) AS v
             FROM generate_series(1, 120) i"
        ))
        .unwrap();
        Spi::run(&format!("SET embedrank.hnsw_test_min_level = {level}")).unwrap();
        Spi::run(&format!("CREATE INDEX {t}_idx ON {t} USING embedrank_hnsw (v halfvec_l2_ops)")).unwrap();
        Spi::run(&format!(
            "INSERT INTO {t} SELECT 1000 + i, (SELECT array_agg((random() + 0 * g + 0 * i)::real) FROM generate_series(1, 4000) g)::halfvec(4000)
             FROM generate_series(1, 40) i"
        ))
        .unwrap();
        Spi::run("RESET embedrank.hnsw_test_min_level").unwrap();
        Spi::run("SET LOCAL embedrank.hnsw_ef_search = 200").unwrap();
        assert!(recall(&t, "<->", &[1, 60, 1001, 1040]) >= 0.9, "{t}");
        all_rows_reachable(&t, "<->");
    }
    Spi::run("CREATE TABLE h4001 (v halfvec(4001))").unwrap();
    assert_error("CREATE INDEX ON h4001 USING embedrank_hnsw (v halfvec_l2_ops)", "54000", "cannot have more than 4000 dimensions");
    // bit: one bit per dimension, so 64,000 fit.
    Spi::run(
        "CREATE TABLE b64k AS SELECT i AS id, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '') FROM generate_series(1, 64000) g WHERE g > 0 * i)::bit(64000) AS v
         FROM generate_series(1, 50) i",
    )
    .unwrap();
    Spi::run("CREATE INDEX b64k_idx ON b64k USING embedrank_hnsw (v bit_hamming_ops)").unwrap();
    Spi::run("INSERT INTO b64k SELECT 100 + i, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '') FROM generate_series(1, 64000) g WHERE g > 0 * i)::bit(64000) FROM generate_series(1, 10) i").unwrap();
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
    for qid in [1, 50, 101, 110] {
        let first = Spi::get_one::<i32>(&format!("SELECT id FROM b64k ORDER BY v <~> (SELECT v FROM b64k WHERE id = {qid}) LIMIT 1")).unwrap();
        assert_eq!(first, Some(qid), "a 64000-bit code finds itself");
    }
    assert_eq!(
        Spi::get_one::<i64>("SELECT count(*) FROM (SELECT id FROM b64k ORDER BY v <~> (SELECT v FROM b64k WHERE id = 7) LIMIT 100) s").unwrap(),
        Some(60)
    );
    Spi::run("CREATE TABLE b64k1 (v bit(64001))").unwrap();
    assert_error("CREATE INDEX ON b64k1 USING embedrank_hnsw (v bit_hamming_ops)", "54000", "cannot have more than 64000 dimensions");
}

#[pg_test]
fn halfvec_and_bit_indexes_are_smaller_than_a_vector_index_of_the_same_rows() {
    make_table("sz", 2000, 384);
    Spi::run("CREATE TABLE sz2 AS SELECT id, v, v::halfvec(384) AS h, binary_quantize(v)::bit(384) AS b FROM sz").unwrap();
    Spi::run("CREATE INDEX sz_v ON sz2 USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("CREATE INDEX sz_h ON sz2 USING embedrank_hnsw (h halfvec_l2_ops)").unwrap();
    Spi::run("CREATE INDEX sz_b ON sz2 USING embedrank_hnsw (b bit_hamming_ops)").unwrap();
    let size = |i: &str| Spi::get_one::<i64>(&format!("SELECT pg_relation_size('{i}')")).unwrap().unwrap() as f64;
    let (v, h, b) = (size("sz_v"), size("sz_h"), size("sz_b"));
    // Per element: 1,536 bytes of float4 against 768 of halves and 48 of bits, with ~270 bytes of
    // header and neighbour list each.
    assert!(h < 0.65 * v, "halfvec index {h} bytes, vector index {v}");
    assert!(b < 0.3 * v, "bit index {b} bytes, vector index {v}");
    // The halfvec index answers with the halves' own distances (exact ones at this ef_search).
    Spi::run("SET LOCAL embedrank.hnsw_ef_search = 400").unwrap();
    for qid in [3, 999] {
        let q = format!("SELECT array_agg(id) FROM (SELECT id FROM sz2 ORDER BY h <-> (SELECT h FROM sz2 WHERE id = {qid}) LIMIT 5) s");
        Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
        let approx = Spi::get_one::<Vec<i32>>(&q).unwrap().unwrap();
        Spi::run("SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on").unwrap();
        let exact = Spi::get_one::<Vec<i32>>(&q).unwrap().unwrap();
        assert_eq!(approx, exact, "query row {qid}");
    }
}

#[pg_test]
fn a_query_can_carry_its_own_ef_search() {
    make_table("efq", 3000, 16);
    Spi::run("CREATE TABLE efh AS SELECT id, v::halfvec(16) AS h FROM efq").unwrap();
    Spi::run("CREATE INDEX ON efq USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    Spi::run("CREATE INDEX ON efh USING embedrank_hnsw (h halfvec_l2_ops)").unwrap();
    // The value is the query's under every operator; only the index scan reads the width.
    assert_eq!(text("SELECT with_ef_search('[1,2.5]'::vector, 9)::text"), "[1,2.5]");
    assert_eq!(Spi::get_one::<bool>("SELECT with_ef_search('[1,2.5]'::vector, 9) = '[1,2.5]'::vector AND with_ef_search('[1,2.5]'::halfvec, 9) = '[1,2.5]'::halfvec").unwrap(), Some(true));
    assert_eq!(float("SELECT with_ef_search(v, 7) <-> v FROM efq WHERE id = 3"), 0.0);
    // With the session's ef_search at 1 (and no iterative scan: at most ef_search rows), a query
    // carrying 400 finds the exact top 10; one carrying nothing gets one row.
    Spi::run("SET LOCAL embedrank.hnsw_ef_search = 1; SET LOCAL embedrank.hnsw_iterative_scan = off").unwrap();
    let (mut narrow, mut wide, mut half) = (0, 0, 0);
    for qid in [5, 250, 1111, 2024, 2999] {
        let exact = top_ids("efq", "<->", qid, 10, false);
        Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on").unwrap();
        let ids = |sql: String| Spi::get_one::<Vec<i32>>(&sql).unwrap().unwrap();
        let n = ids(format!("SELECT array_agg(id) FROM (SELECT id FROM efq ORDER BY v <-> (SELECT v FROM efq WHERE id = {qid}) LIMIT 10) s"));
        let w = ids(format!("SELECT array_agg(id) FROM (SELECT id FROM efq ORDER BY v <-> with_ef_search((SELECT v FROM efq WHERE id = {qid}), 400) LIMIT 10) s"));
        let h = ids(format!("SELECT array_agg(id) FROM (SELECT id FROM efh ORDER BY h <-> with_ef_search((SELECT h FROM efh WHERE id = {qid}), 400) LIMIT 10) s"));
        narrow += n.iter().filter(|x| exact.contains(x)).count();
        wide += w.iter().filter(|x| exact.contains(x)).count();
        half += h.iter().filter(|x| exact.contains(x)).count();
    }
    assert!(wide >= 49 && half >= 47, "carried ef 400: {wide} / 50 (halfvec {half} / 50)");
    assert!(narrow <= 5, "ef_search 1 without a carried width: {narrow} / 50");
    assert_error("SELECT with_ef_search('[1]'::vector, 0)", "22023", "ef_search must be between 1 and 1000");
    assert_error("SELECT with_ef_search('[1]'::vector, 1001)", "22023", "ef_search must be between 1 and 1000");
}

/// Scans read the graph's pages through this backend's recent-buffer hints after the first scan:
/// every page read still counts as a buffer hit in the index's statistics, and a temporary index
/// (local buffers, no hints) finds the nearest rows as a permanent one does.
#[pg_test]
fn scans_count_their_buffer_hits_and_temporary_indexes_work() {
    make_table("statio_t", 3000, 16);
    Spi::run("CREATE INDEX statio_idx ON statio_t USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    let counts = || {
        let hit = "SELECT pg_stat_get_xact_blocks_hit('statio_idx'::regclass)";
        let fetched = "SELECT pg_stat_get_xact_blocks_fetched('statio_idx'::regclass)";
        (
            Spi::get_one::<i64>(hit).unwrap().unwrap(),
            Spi::get_one::<i64>(fetched).unwrap().unwrap(),
        )
    };
    for q in 1..=3 {
        top_ids("statio_t", "<->", q, 10, true);
    }
    let (hit0, fetched0) = counts();
    let queries: Vec<i32> = (4..24).collect();
    for &q in &queries {
        top_ids("statio_t", "<->", q, 10, true);
    }
    let (hit1, fetched1) = counts();
    // Each scan reads the meta page and dozens of graph pages, all in shared buffers by now.
    assert!(
        hit1 - hit0 >= 20 * queries.len() as i64,
        "{} hits for {} scans",
        hit1 - hit0,
        queries.len()
    );
    assert_eq!(fetched1 - fetched0, hit1 - hit0, "every page was in shared buffers");

    Spi::run("CREATE TEMP TABLE statio_tmp AS SELECT * FROM statio_t").unwrap();
    Spi::run("CREATE INDEX ON statio_tmp USING embedrank_hnsw (v vector_l2_ops)").unwrap();
    let (temporary, permanent) = (recall("statio_tmp", "<->", &queries), recall("statio_t", "<->", &queries));
    assert!(temporary >= 0.9 && permanent >= 0.9, "recall@10 {temporary} (temporary), {permanent}");
}
