// Bad vector input: each a clear ERROR with the right SQLSTATE, nothing crashing.


#[pg_test]
fn malformed_literals() {
    for lit in ["[1,2", "[1,,2]", "[a]", "[1,2]x", "1,2]", "", "[1 2]", "[,1]", "[1,]"] {
        assert_error(&format!("SELECT '{lit}'::vector"), "22P02", "invalid input syntax for type vector");
    }
    assert_error("SELECT '[]'::vector", "22000", "at least 1 dimension");
}

#[pg_test]
fn non_finite_values() {
    for lit in ["[NaN]", "[1,NaN]", "[nan,1]"] {
        assert_eq!(error_of(&format!("SELECT '{lit}'::vector")), "22000: NaN not allowed in vector");
    }
    for lit in ["[1,Infinity]", "[-inf]", "[-Infinity,1]"] {
        assert_eq!(error_of(&format!("SELECT '{lit}'::vector")), "22000: infinite value not allowed in vector");
    }
}

#[pg_test]
fn too_many_dimensions() {
    assert_error(
        "SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector",
        "54000",
        "cannot have more than 16000 dimensions",
    );
    assert_eq!(
        Spi::get_one::<i32>("SELECT vector_dims(array_fill(1, ARRAY[16000])::real[]::vector)").unwrap(),
        Some(16000)
    );
}

#[pg_test]
fn dimension_mismatch_between_operands() {
    for op in ["<->", "<#>", "<=>", "<+>", "+", "-", "*"] {
        assert_error(&format!("SELECT '[1,2,3]'::vector {op} '[1,2,3,4]'"), "22000", "different vector dimensions 3 and 4");
    }
    for f in ["l2_distance", "inner_product", "cosine_distance", "l1_distance"] {
        assert_error(&format!("SELECT {f}('[1,2,3]'::vector, '[1,2,3,4]')"), "22000", "different vector dimensions 3 and 4");
    }
    // avg's state wants the dimensions of the first row (pgvector's message).
    assert_eq!(
        error_of("SELECT avg(v) FROM (VALUES ('[1,2,3]'::vector), ('[1,2,3,4]')) t(v)"),
        "22000: expected 3 dimensions, not 4"
    );
    assert_error("SELECT sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[1,2,3,4]')) t(v)", "22000", "different vector dimensions 3 and 4");
}

#[pg_test]
fn arithmetic_overflow() {
    assert_error("SELECT '[3e38]'::vector + '[3e38]'", "22003", "overflow");
    assert_error("SELECT '[3e38]'::vector * '[10]'", "22003", "overflow");
}

#[pg_test]
fn subvector_bounds() {
    assert_error("SELECT subvector('[1,2,3]'::vector, 1, 0)", "22000", "at least 1 dimension");
    assert_error("SELECT subvector('[1,2,3]'::vector, 4, 1)", "22000", "at least 1 dimension");
    assert_error("SELECT subvector('[1,2,3]'::vector, -5, 2)", "22000", "at least 1 dimension");
}

// pgvector 0.8.6's messages and SQLSTATEs for bad input (issue 8 §5).

#[pg_test]
fn pgvector_input_out_of_range() {
    assert_eq!(error_of("SELECT '[4e38,1]'::vector"), "22003: \"4e38\" is out of range for type vector");
    assert_eq!(error_of("SELECT '[-4e38,1]'::vector"), "22003: \"-4e38\" is out of range for type vector");
    assert_eq!(error_of("SELECT '[1e39]'::vector"), "22003: \"1e39\" is out of range for type vector");
    // Underflow is no error: zero, keeping the sign.
    assert_eq!(text("SELECT '[1e-46,1]'::vector::text"), "[0,1]");
    assert_eq!(text("SELECT '[-1e-46,1]'::vector::text"), "[-0,1]");
    assert_eq!(text("SELECT '[1.5e38,-1.5e38]'::vector::text"), "[1.5e+38,-1.5e+38]");
}

#[pg_test]
fn pgvector_input_syntax_errors() {
    for lit in ["[hello,1]", "[1,2,3", "[", "[ ", "[,", "[,]", "[1,]", "[1a]", "[1,,3]", "[1, ,3]", "[1,2,3]9", "1,2,3", ""] {
        assert_eq!(
            error_of(&format!("SELECT '{lit}'::vector")),
            format!("22P02: invalid input syntax for type vector: \"{lit}\"")
        );
    }
    for lit in ["[]", "[ ]"] {
        assert_eq!(error_of(&format!("SELECT '{lit}'::vector")), "22000: vector must have at least 1 dimension");
    }
    // The 16001st element is refused before it is read.
    assert_eq!(
        error_of("SELECT ('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ',x]')::vector"),
        "54000: vector cannot have more than 16000 dimensions"
    );
}

#[pg_test]
fn pgvector_array_cast_errors() {
    // pgvector 0.8.6 raises "array must be 1-D" as a data exception (22000).
    assert_eq!(error_of("SELECT '{{1}}'::real[]::vector"), "22000: array must be 1-D");
    assert_eq!(error_of("SELECT '{{1}}'::float8[]::vector"), "22000: array must be 1-D");
    assert_eq!(error_of("SELECT '{{1}}'::numeric[]::vector"), "22000: array must be 1-D");
    assert_eq!(error_of("SELECT '{NULL}'::real[]::vector"), "22004: array must not contain nulls");
    assert_eq!(error_of("SELECT '{NaN}'::real[]::vector"), "22000: NaN not allowed in vector");
    assert_eq!(error_of("SELECT '{Infinity}'::real[]::vector"), "22000: infinite value not allowed in vector");
    assert_eq!(error_of("SELECT '{-Infinity}'::real[]::vector"), "22000: infinite value not allowed in vector");
    assert_eq!(error_of("SELECT '{}'::real[]::vector"), "22000: vector must have at least 1 dimension");
    assert_eq!(error_of("SELECT '{4e38,-4e38}'::double precision[]::vector"), "22000: infinite value not allowed in vector");
    assert_eq!(text("SELECT '{1e-46,-1e-46}'::double precision[]::vector::text"), "[0,-0]");
    // numeric goes straight to float4 (one rounding), with Postgres' own range error.
    assert_eq!(error_of("SELECT '{1e39}'::numeric[]::vector"), "22003: \"1000000000000000000000000000000000000000\" is out of range for type real");
    assert_eq!(text("SELECT '{1.25,-2,3e-3}'::numeric[]::vector::text"), "[1.25,-2,0.003]");
    // Dimensions and typmod are checked before values.
    assert_eq!(error_of("SELECT '{NaN,1}'::float8[]::vector(3)"), "22000: expected 3 dimensions, not 2");
    assert_eq!(
        error_of("SELECT array_agg(n)::vector FROM generate_series(1, 16001) n"),
        "54000: vector cannot have more than 16000 dimensions"
    );
}
