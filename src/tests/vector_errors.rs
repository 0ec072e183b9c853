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
    for lit in ["[NaN]", "[1,Infinity]", "[-inf]", "[1e39]"] {
        assert_error(&format!("SELECT '{lit}'::vector"), "22000", "not allowed in vector");
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
        assert_error(&format!("SELECT {f}('[1,2,3]', '[1,2,3,4]')"), "22000", "different vector dimensions 3 and 4");
    }
    assert_error("SELECT avg(v) FROM (VALUES ('[1,2,3]'::vector), ('[1,2,3,4]')) t(v)", "22000", "different vector dimensions");
}

#[pg_test]
fn arithmetic_overflow() {
    assert_error("SELECT '[3e38]'::vector + '[3e38]'", "22003", "overflow");
    assert_error("SELECT '[3e38]'::vector * '[10]'", "22003", "overflow");
}

#[pg_test]
fn subvector_bounds() {
    assert_error("SELECT subvector('[1,2,3]', 1, 0)", "22000", "at least 1 dimension");
    assert_error("SELECT subvector('[1,2,3]', 4, 1)", "22000", "at least 1 dimension");
    assert_error("SELECT subvector('[1,2,3]', -5, 2)", "22000", "at least 1 dimension");
}
