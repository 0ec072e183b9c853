// Distances, functions, arithmetic, ordering and aggregates of `vector`.


fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + b.abs())
}

#[pg_test]
fn distances_and_operators() {
    assert!(close(float("SELECT '[1,2,3]'::vector <-> '[4,6,3]'"), 5.0));
    assert!(close(float("SELECT l2_distance('[1,2,3]', '[4,6,3]')"), 5.0));
    assert!(close(float("SELECT inner_product('[1,2,3]', '[4,5,6]')"), 32.0));
    assert!(close(float("SELECT '[1,2,3]'::vector <#> '[4,5,6]'"), -32.0));
    assert!(close(float("SELECT '[1,0]'::vector <=> '[0,1]'"), 1.0));
    assert!(close(float("SELECT cosine_distance('[1,2]', '[2,4]')"), 0.0));
    assert!(close(float("SELECT cosine_distance('[1,1]', '[-1,-1]')"), 2.0));
    assert!(float("SELECT cosine_distance('[0,0]', '[1,1]')").is_nan());
    assert!(close(float("SELECT '[1,2,3]'::vector <+> '[4,0,3]'"), 5.0));
    assert!(close(float("SELECT l1_distance('[1,2,3]', '[4,0,3]')"), 5.0));
}

#[pg_test]
fn vector_functions() {
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims('[1,2,3]')").unwrap(), Some(3));
    assert!(close(float("SELECT vector_norm('[3,4]')"), 5.0));
    assert_eq!(text("SELECT l2_normalize('[3,4]')::text"), "[0.6,0.8]");
    assert_eq!(text("SELECT l2_normalize('[0,0]')::text"), "[0,0]");
    assert_eq!(text("SELECT subvector('[1,2,3,4,5]', 2, 3)::text"), "[2,3,4]");
    assert_eq!(text("SELECT subvector('[1,2,3,4,5]', 4, 10)::text"), "[4,5]");
    assert_eq!(text("SELECT subvector('[1,2,3,4,5]', 0, 2)::text"), "[1]");
}

#[pg_test]
fn elementwise_arithmetic() {
    assert_eq!(text("SELECT ('[1,2,3]'::vector + '[4,5,6]')::text"), "[5,7,9]");
    assert_eq!(text("SELECT ('[1,2,3]'::vector - '[4,5,6]')::text"), "[-3,-3,-3]");
    assert_eq!(text("SELECT ('[1,2,3]'::vector * '[4,5,6]')::text"), "[4,10,18]");
}

#[pg_test]
fn ordering_supports_distinct_group_order_unique() {
    Spi::run("CREATE TEMP TABLE o (v vector)").unwrap();
    Spi::run("INSERT INTO o VALUES ('[1,2]'), ('[1,2]'), ('[1,1]'), ('[1,2,0]'), ('[0,5]')").unwrap();
    assert_eq!(text("SELECT string_agg(v::text, ' ' ORDER BY v) FROM o"), "[0,5] [1,1] [1,2] [1,2] [1,2,0]");
    assert_eq!(Spi::get_one::<i64>("SELECT count(DISTINCT v) FROM o").unwrap(), Some(4));
    assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM (SELECT v FROM o GROUP BY v) g").unwrap(), Some(4));
    assert_eq!(Spi::get_one::<bool>("SELECT '[1,2]'::vector = '[1,2]' AND '[1,2]'::vector <> '[2,1]' AND '[1,2]'::vector < '[1,3]' AND '[2]'::vector > '[1,9]' AND '[1]'::vector <= '[1]' AND '[1]'::vector >= '[1]'").unwrap(), Some(true));
    Spi::run("CREATE TEMP TABLE u (v vector UNIQUE)").unwrap();
    Spi::run("INSERT INTO u VALUES ('[1,2]')").unwrap();
    assert_error("INSERT INTO u VALUES ('[1,2]')", "23505", "duplicate key");
}

#[pg_test]
fn aggregates() {
    assert_eq!(text("SELECT avg(v)::text FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]')) t(v)"), "[2,3,4]");
    assert_eq!(text("SELECT sum(v)::text FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]'), (NULL)) t(v)"), "[4,6,8]");
    assert!(Spi::get_one::<String>("SELECT avg(v)::text FROM (SELECT '[1]'::vector WHERE false) t(v)").unwrap().is_none());
    assert!(Spi::get_one::<String>("SELECT sum(v)::text FROM (SELECT '[1]'::vector WHERE false) t(v)").unwrap().is_none());
}

#[pg_test]
fn aggregates_are_parallel_safe_and_combine() {
    Spi::run("CREATE TABLE pa AS SELECT ARRAY[i % 7, 1, -i % 3]::real[]::vector(3) AS v FROM generate_series(1, 60000) i").unwrap();
    Spi::run("ANALYZE pa").unwrap();
    let serial = text("SELECT avg(v)::text FROM pa");
    Spi::run("SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL max_parallel_workers_per_gather = 2").unwrap();
    let p = plan("SELECT avg(v) FROM pa");
    assert!(p.contains("Partial"), "expected a partial aggregate: {p}");
    assert_eq!(text("SELECT avg(v)::text FROM pa"), serial);
    assert_eq!(Spi::get_one::<String>("SELECT proparallel::text FROM pg_proc WHERE proname = 'vector_accum'").unwrap().unwrap(), "s");
}
