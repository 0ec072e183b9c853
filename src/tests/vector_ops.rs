// Distances, functions, arithmetic, ordering and aggregates of `vector`.


fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + b.abs())
}

#[pg_test]
fn distances_and_operators() {
    assert!(close(float("SELECT '[1,2,3]'::vector <-> '[4,6,3]'"), 5.0));
    assert!(close(float("SELECT l2_distance('[1,2,3]'::vector, '[4,6,3]')"), 5.0));
    assert!(close(float("SELECT inner_product('[1,2,3]'::vector, '[4,5,6]')"), 32.0));
    assert!(close(float("SELECT '[1,2,3]'::vector <#> '[4,5,6]'"), -32.0));
    assert!(close(float("SELECT '[1,0]'::vector <=> '[0,1]'"), 1.0));
    assert!(close(float("SELECT cosine_distance('[1,2]'::vector, '[2,4]')"), 0.0));
    assert!(close(float("SELECT cosine_distance('[1,1]'::vector, '[-1,-1]')"), 2.0));
    assert!(float("SELECT cosine_distance('[0,0]'::vector, '[1,1]')").is_nan());
    assert!(close(float("SELECT '[1,2,3]'::vector <+> '[4,0,3]'"), 5.0));
    assert!(close(float("SELECT l1_distance('[1,2,3]'::vector, '[4,0,3]')"), 5.0));
}

#[pg_test]
fn vector_functions() {
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims('[1,2,3]'::vector)").unwrap(), Some(3));
    assert!(close(float("SELECT vector_norm('[3,4]')"), 5.0));
    assert_eq!(text("SELECT l2_normalize('[3,4]'::vector)::text"), "[0.6,0.8]");
    assert_eq!(text("SELECT l2_normalize('[0,0]'::vector)::text"), "[0,0]");
    assert_eq!(text("SELECT subvector('[1,2,3,4,5]'::vector, 2, 3)::text"), "[2,3,4]");
    assert_eq!(text("SELECT subvector('[1,2,3,4,5]'::vector, 4, 10)::text"), "[4,5]");
    assert_eq!(text("SELECT subvector('[1,2,3,4,5]'::vector, 0, 2)::text"), "[1]");
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

// pgvector 0.8.6's answers, digit for digit (issue 8 §5). Expected values are pgvector's regression
// outputs or, where it has none, computed with pgvector's arithmetic: float4 accumulation for the
// distances, float8 for vector_norm and l2_normalize.

#[pg_test]
fn pgvector_concat() {
    assert_eq!(text("SELECT ('[1,2,3]'::vector || '[4,5]')::text"), "[1,2,3,4,5]");
    assert_eq!(text("SELECT pg_typeof('[1,2,3]'::vector || '[4,5]')::text"), "vector");
    assert_eq!(text("SELECT vector_concat('[1.5]', '[-0,2]')::text"), "[1.5,-0,2]");
    assert_eq!(Spi::get_one::<i32>("SELECT vector_dims(array_fill(0, ARRAY[15999])::vector || '[1]')").unwrap(), Some(16000));
    assert_eq!(
        error_of("SELECT array_fill(0, ARRAY[16000])::vector || '[1]'"),
        "54000: vector cannot have more than 16000 dimensions"
    );
}

#[pg_test]
fn pgvector_arithmetic_overflow_and_underflow() {
    assert_eq!(error_of("SELECT '[1e-37]'::vector * '[1e-37]'"), "22003: value out of range: underflow");
    assert_eq!(error_of("SELECT '[1e37]'::vector * '[1e37]'"), "22003: value out of range: overflow");
    assert_eq!(error_of("SELECT '[3e38]'::vector + '[3e38]'"), "22003: value out of range: overflow");
    assert_eq!(error_of("SELECT '[-3e38]'::vector - '[3e38]'"), "22003: value out of range: overflow");
    // Checked element by element: the first bad element decides.
    assert_eq!(error_of("SELECT '[1e37,1e-37]'::vector * '[1e37,1e-37]'"), "22003: value out of range: overflow");
    assert_eq!(error_of("SELECT '[1e-37,1e37]'::vector * '[1e-37,1e37]'"), "22003: value out of range: underflow");
    // A zero operand is no underflow, a subnormal product is none either, and + - never underflow.
    assert_eq!(text("SELECT ('[0,-0,2]'::vector * '[1e-37,5,0]')::text"), "[0,-0,0]");
    assert_eq!(text("SELECT ('[1e-20]'::vector * '[1e-20]')::text"), "[1e-40]");
    assert_eq!(text("SELECT ('[1e-45]'::vector - '[1e-45]')::text"), "[0]");
}

#[pg_test]
fn pgvector_norm_and_normalize_in_float8() {
    assert_eq!(float("SELECT vector_norm('[1,1]')"), std::f64::consts::SQRT_2); // 1.4142135623730951
    assert_eq!(float("SELECT vector_norm('[3e37,4e37]')"), 5.000000042966943e37);
    assert_eq!(text("SELECT vector_norm('[3e37,4e37]')::real::text"), "5e+37");
    assert_eq!(float("SELECT vector_norm('[3,4]')"), 5.0);
    assert_eq!(text("SELECT l2_normalize('[3e37,4e37]'::vector)::text"), "[0.6,0.8]");
    assert_eq!(text("SELECT l2_normalize('[3e38]'::vector)::text"), "[1]");
    assert_eq!(text("SELECT l2_normalize('[0,0.1]'::vector)::text"), "[0,1]");
    assert_eq!(text("SELECT l2_normalize('[3,0]'::vector)::text"), "[1,0]");
}

#[pg_test]
fn pgvector_distances_to_the_last_digit() {
    // Cosine: float4 sums, similarity in float8, not rounded back to float4.
    assert_eq!(float("SELECT cosine_distance('[1,1,2]'::vector, '[1,1,1]')"), 0.05719095841793653);
    assert_eq!(float("SELECT '[1,1,2]'::vector <=> '[1,1,1]'"), 0.05719095841793653);
    assert!(float("SELECT cosine_distance('[3e38]'::vector, '[3e38]')").is_nan());
    assert!(float("SELECT cosine_distance('[1,2]'::vector, '[0,0]')").is_nan());
    assert_eq!(float("SELECT cosine_distance('[1,1]'::vector, '[-1.1,-1.1]')"), 2.0);
    // The others accumulate in float4 and widen the float4 result.
    assert_eq!(float("SELECT inner_product('[0.1]'::vector, '[0.3]')"), 0.030000001192092896);
    assert_eq!(float("SELECT '[0.1]'::vector <#> '[0.3]'"), -0.030000001192092896);
    assert_eq!(float("SELECT vector_negative_inner_product('[0.1]', '[0.3]')"), -0.030000001192092896);
    assert_eq!(float("SELECT vector_l2_squared_distance('[0.1]', '[0.3]')"), 0.040000006556510925);
    assert_eq!(float("SELECT l2_distance('[0.1]'::vector, '[0.3]')"), 0.20000001639127665);
    assert_eq!(float("SELECT '[0.1]'::vector <-> '[0.3]'"), 0.20000001639127665);
    assert_eq!(float("SELECT l1_distance('[0.1,0.2]'::vector, '[0.3,0.5]')"), 0.5);
    assert_eq!(float("SELECT '[0.1,0.2]'::vector <+> '[0.3,0.5]'"), 0.5);
    // Spherical: acos of the clamped inner product, as a fraction of pi.
    assert_eq!(float("SELECT vector_spherical_distance('[1,0]', '[0,1]')"), 0.5);
    assert_eq!(float("SELECT vector_spherical_distance('[1,0]', '[-1,0]')"), 1.0);
    assert_eq!(float("SELECT vector_spherical_distance('[1.5]', '[1]')"), 0.0);
    assert_error("SELECT vector_spherical_distance('[1,2]', '[3]')", "22000", "different vector dimensions 2 and 1");
}

#[pg_test]
fn pgvector_sum_adds_vectors_in_float4() {
    assert_eq!(text("SELECT sum(v)::text FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v"), "[4,7,10]");
    // float4 running sum, as vector_add: 1e8 + 1 is 1e8 again.
    assert_eq!(text("SELECT sum(v)::text FROM unnest(ARRAY['[100000000]'::vector, '[1]', '[-100000000]']) v"), "[0]");
    assert_eq!(error_of("SELECT sum(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v"), "22003: value out of range: overflow");
    assert!(Spi::get_one::<String>("SELECT sum(v)::text FROM unnest(ARRAY[]::vector[]) v").unwrap().is_none());
}

#[pg_test]
fn pgvector_avg_state_functions() {
    assert_eq!(text("SELECT avg(v)::text FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v"), "[2,3.5,5]");
    assert_eq!(text("SELECT avg(v)::text FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v"), "[3e+38]");
    assert_eq!(text("SELECT vector_avg('{2,2,4,6}')::text"), "[1,2,3]");
    assert!(Spi::get_one::<String>("SELECT vector_avg('{0}')::text").unwrap().is_none());
    assert_eq!(error_of("SELECT vector_avg('{1}')"), "22000: vector must have at least 1 dimension");
    assert_eq!(error_of("SELECT vector_avg('{1,1e300}')"), "22000: infinite value not allowed in vector");
    assert_eq!(
        error_of("SELECT vector_avg(array_agg(n)) FROM generate_series(1, 16002) n"),
        "54000: vector cannot have more than 16000 dimensions"
    );
    assert_eq!(text("SELECT vector_accum('{0}', '[1,2,3]')::text"), "{1,1,2,3}");
    assert_eq!(text("SELECT vector_accum('{0,0,0,0}', '[1,2,3]')::text"), "{1,1,2,3}");
    assert_eq!(error_of("SELECT vector_accum('{0,0}', '[1,2,3]')"), "22000: expected 1 dimensions, not 3");
    assert_eq!(text("SELECT vector_combine('{1,2}', '{3,4}')::text"), "{4,6}");
    assert_eq!(text("SELECT vector_combine('{0}', '{2,3,4}')::text"), "{2,3,4}");
    assert_eq!(text("SELECT vector_combine('{2,3,4}', '{0}')::text"), "{2,3,4}");
    // Two empty partial states (a parallel worker that saw no rows) stay empty: pgvector's fix of
    // its issue #1012, made after 0.8.6 (which raised "vector must have at least 1 dimension").
    assert_eq!(text("SELECT vector_combine('{0}', '{0}')::text"), "{0}");
    assert_eq!(error_of("SELECT vector_combine('{1,2}', '{1,2,3}')"), "22000: expected 1 dimensions, not 2");
    assert_eq!(error_of("SELECT vector_combine('{1,1e308}', '{1,1e308}')"), "22003: value out of range: overflow");
    for q in [
        "SELECT vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16002) n))",
        "SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n), '{0}')",
        "SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n), (SELECT array_agg(n) FROM generate_series(1, 16002) n))",
    ] {
        assert_eq!(error_of(q), "54000: vector cannot have more than 16000 dimensions", "{q}");
    }
}

#[pg_test]
fn pgvector_malformed_aggregate_states() {
    // elog(ERROR) in pgvector: SQLSTATE XX000, never a Rust panic.
    for (f, q) in [
        ("vector_avg", "SELECT vector_avg('{}')"),
        ("vector_avg", "SELECT vector_avg('{{2,2,4,6}}')"),
        ("vector_avg", "SELECT vector_avg('{NULL,2,4,6}')"),
        ("vector_accum", "SELECT vector_accum('{}', '[1,2,3]')"),
        ("vector_accum", "SELECT vector_accum('{{0}}', '[1,2,3]')"),
        ("vector_accum", "SELECT vector_accum('{NULL}', '[1,2,3]')"),
        ("vector_combine", "SELECT vector_combine('{}', '{0}')"),
        ("vector_combine", "SELECT vector_combine('{0}', '{}')"),
        ("vector_combine", "SELECT vector_combine('{{1,2}}', '{3,4}')"),
        ("vector_combine", "SELECT vector_combine('{1,2}', '{{3,4}}')"),
        ("vector_combine", "SELECT vector_combine('{NULL,2}', '{3,4}')"),
        ("vector_combine", "SELECT vector_combine('{1,2}', '{3,NULL}')"),
    ] {
        assert_eq!(error_of(q), format!("XX000: {f}: expected state array"), "{q}");
    }
}

#[pg_test]
fn pgvector_parallel_avg_over_no_matching_rows() {
    Spi::run("CREATE TABLE pe AS SELECT ARRAY[i % 7, 1]::real[]::vector(2) AS v, i FROM generate_series(1, 60000) i").unwrap();
    Spi::run("ANALYZE pe").unwrap();
    Spi::run("SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL max_parallel_workers_per_gather = 2").unwrap();
    let p = plan("SELECT avg(v) FROM pe WHERE i < 0");
    assert!(p.contains("Partial"), "expected a partial aggregate: {p}");
    assert!(Spi::get_one::<String>("SELECT avg(v)::text FROM pe WHERE i < 0").unwrap().is_none());
    assert!(Spi::get_one::<String>("SELECT sum(v)::text FROM pe WHERE i < 0").unwrap().is_none());
}
