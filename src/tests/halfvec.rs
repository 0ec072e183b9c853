// halfvec and pgvector's bit functions: each statement answers exactly what pgvector 0.8.6 answered
// for it (values, SQLSTATEs and messages, recorded from pgvector 0.8.6 on PG15 side by side with this
// extension; the float results here are exact in float4, so no CPU changes them).

const PGVECTOR_086_HALFVEC_ANSWERS: &[(&str, &str)] = &[
    ("SELECT '[1,2,3]'::halfvec::text", "ok: [1,2,3]"),
    ("SELECT '[0.1, 1.23456, -0, 65519]'::halfvec::text", "ok: [0.099975586,1.234375,-0,65504]"),
    ("SELECT '[1e-8,-1e-8,5.9604645e-08]'::halfvec::text", "ok: [0,-0,5.9604645e-08]"),
    ("SELECT '[65520]'::halfvec::text", "22003: \"65520\" is out of range for type halfvec"),
    ("SELECT '[1,+7e4]'::halfvec::text", "22003: \"+7e4\" is out of range for type halfvec"),
    ("SELECT '[70000,nan]'::halfvec::text", "22003: \"70000\" is out of range for type halfvec"),
    ("SELECT '[1,nan]'::halfvec::text", "22000: NaN not allowed in halfvec"),
    ("SELECT '[infinit]'::halfvec::text", "22000: infinite value not allowed in halfvec"),
    ("SELECT '[]'::halfvec::text", "22000: halfvec must have at least 1 dimension"),
    ("SELECT '[1,2'::halfvec::text", "22P02: invalid input syntax for type halfvec: \"[1,2\""),
    ("SELECT '[1,2]x'::halfvec::text", "22P02: invalid input syntax for type halfvec: \"[1,2]x\""),
    ("SELECT '[1,2,3]'::halfvec(2)::text", "22000: expected 2 dimensions, not 3"),
    ("SELECT '[1,2]'::halfvec(2)::text", "ok: [1,2]"),
    ("SELECT NULL::halfvec(0)::text", "22023: dimensions for type halfvec must be at least 1"),
    ("SELECT NULL::halfvec(16001)::text", "22023: dimensions for type halfvec cannot exceed 16000"),
    ("SELECT NULL::halfvec(2,3)::text", "22023: invalid type modifier"),
    ("SELECT format_type('halfvec'::regtype, 5)", "ok: halfvec(5)"),
    ("SELECT l2_distance('[1,2,3]'::halfvec, '[3,1,2]')::text", "ok: 2.449489742783178"),
    ("SELECT ('[1,2,3]'::halfvec <-> '[3,1,2]')::text", "ok: 2.449489742783178"),
    ("SELECT inner_product('[1,2,3]'::halfvec, '[3,1,2]')::text", "ok: 11"),
    ("SELECT ('[1,2,3]'::halfvec <#> '[3,1,2]')::text", "ok: -11"),
    ("SELECT cosine_distance('[1,2,3]'::halfvec, '[3,1,2]')::text", "ok: 0.2142857142857143"),
    ("SELECT ('[1,1]'::halfvec <=> '[-1.1,-1.1]')::text", "ok: 2"),
    ("SELECT ('[0,0]'::halfvec <=> '[1,1]')::text", "ok: NaN"),
    ("SELECT l1_distance('[1,2,3]'::halfvec, '[3,1,2.5]')::text", "ok: 3.5"),
    ("SELECT ('[1,2,3]'::halfvec <+> '[0,0,0]')::text", "ok: 6"),
    ("SELECT l2_distance('[1,2]'::halfvec, '[3]')::text", "22000: different halfvec dimensions 2 and 1"),
    ("SELECT vector_dims('[1,2,3]'::halfvec)::text", "ok: 3"),
    ("SELECT l2_norm('[3,4]'::halfvec)::text", "ok: 5"),
    ("SELECT l2_normalize('[3,4]'::halfvec)::text", "ok: [0.60009766,0.7998047]"),
    ("SELECT l2_normalize('[0,0]'::halfvec)::text", "ok: [0,0]"),
    ("SELECT l2_normalize('[65504]'::halfvec)::text", "ok: [1]"),
    ("SELECT inner_product('[65504]'::halfvec, '[65504]')::text", "ok: 4290774016"),
    ("SELECT subvector('[1,2,3,4,5]'::halfvec, 3, 2)::text", "ok: [3,4]"),
    ("SELECT subvector('[1,2,3,4,5]'::halfvec, -1, 3)::text", "ok: [1]"),
    ("SELECT subvector('[1,2,3,4,5]'::halfvec, 3, 9)::text", "ok: [3,4,5]"),
    ("SELECT subvector('[1,2,3,4,5]'::halfvec, 1, 0)::text", "22000: halfvec must have at least 1 dimension"),
    ("SELECT subvector('[1,2,3,4,5]'::halfvec, 6, 1)::text", "22000: halfvec must have at least 1 dimension"),
    ("SELECT ('[1,2,3]'::halfvec + '[4,5,6.1]')::text", "ok: [5,7,9.1015625]"),
    ("SELECT ('[65519]'::halfvec + '[65519]')::text", "22003: value out of range: overflow"),
    ("SELECT ('[1,2,3]'::halfvec - '[4,5,6]')::text", "ok: [-3,-3,-3]"),
    ("SELECT ('[1.5,2,3]'::halfvec * '[4,5,6]')::text", "ok: [6,10,18]"),
    ("SELECT ('[1e-7]'::halfvec * '[1e-7]')::text", "22003: value out of range: underflow"),
    ("SELECT ('[1,2]'::halfvec || '[3]')::text", "ok: [1,2,3]"),
    ("SELECT ('[1,2]'::halfvec < '[1,2,3]')::text", "ok: true"),
    ("SELECT ('[2,3]'::halfvec > '[1,2,3]')::text", "ok: true"),
    ("SELECT ('[0]'::halfvec = '[-0]')::text", "ok: true"),
    ("SELECT halfvec_cmp('[1,2]', '[1,3]')::text", "ok: -1"),
    ("SELECT avg(v)::text FROM (VALUES ('[1,2,3]'::halfvec), ('[3,5,7]')) t(v)", "ok: [2,3.5,5]"),
    ("SELECT sum(v)::text FROM (VALUES ('[1,2,3]'::halfvec), ('[3,5,7]')) t(v)", "ok: [4,7,10]"),
    ("SELECT avg(v)::text FROM (VALUES ('[1,2]'::halfvec), ('[3]')) t(v)", "22000: expected 2 dimensions, not 1"),
    ("SELECT halfvec_avg('{}')::text", "XX000: halfvec_avg: expected state array"),
    ("SELECT halfvec_avg('{1}')::text", "22000: halfvec must have at least 1 dimension"),
    ("SELECT halfvec_accum('{0,0}', '[1,2,3]')::text", "22000: expected 1 dimensions, not 3"),
    ("SELECT '[1.5,2,3]'::vector::halfvec::text", "ok: [1.5,2,3]"),
    ("SELECT '[70000]'::vector::halfvec::text", "22003: \"70000\" is out of range for type halfvec"),
    ("SELECT '[1e10]'::vector::halfvec::text", "22003: \"1e+10\" is out of range for type halfvec"),
    ("SELECT '[1,2,3]'::halfvec::vector::text", "ok: [1,2,3]"),
    ("SELECT '[1,2,3]'::halfvec::real[]::text", "ok: {1,2,3}"),
    ("SELECT ARRAY[1,2,3]::halfvec::text", "ok: [1,2,3]"),
    ("SELECT ARRAY[1.5,2,3]::real[]::halfvec::text", "ok: [1.5,2,3]"),
    ("SELECT ARRAY[1.5,2,3]::float8[]::halfvec::text", "ok: [1.5,2,3]"),
    ("SELECT ARRAY[1.5,2,3]::numeric[]::halfvec::text", "ok: [1.5,2,3]"),
    ("SELECT ARRAY[1,NULL]::int[]::halfvec::text", "22004: array must not contain nulls"),
    ("SELECT '{{1}}'::real[]::halfvec::text", "22000: array must be 1-D"),
    ("SELECT '{}'::real[]::halfvec::text", "22000: halfvec must have at least 1 dimension"),
    ("SELECT ARRAY['NaN', 1e6]::float8[]::halfvec::text", "22003: \"1e+06\" is out of range for type halfvec"),
    ("SELECT ARRAY[4e38]::float8[]::halfvec::text", "22000: infinite value not allowed in halfvec"),
    ("SELECT ARRAY[1,2]::real[]::halfvec(3)::text", "22000: expected 3 dimensions, not 2"),
    ("SELECT hamming_distance(B'1111', B'1110')::text", "ok: 1"),
    ("SELECT (B'1111' <~> B'0000')::text", "ok: 4"),
    ("SELECT jaccard_distance(B'1111', B'1110')::text", "ok: 0.25"),
    ("SELECT (B'1100' <%> B'1000')::text", "ok: 0.5"),
    ("SELECT jaccard_distance(B'0000', B'0000')::text", "ok: 1"),
    ("SELECT hamming_distance(B'111', B'11')::text", "22000: different bit lengths 3 and 2"),
    ("SELECT binary_quantize('[1,0,-1]'::vector)::text", "ok: 100"),
    ("SELECT binary_quantize('[0,0.1,-0.2,-0.3,0.4,0.5,0.6,-0.7,0.8,-0.9,1]'::halfvec)::text", "ok: 01001110101"),
    ("SELECT encode(halfvec_send('[1.5,-2,0.099975586]'), 'hex')", "ok: 000300003e00c0002e66"),
    ("SELECT halfvec_in('[1,2,3]', 0, 3)::text", "ok: [1,2,3]"),
];

/// "ok: <value>" or "<SQLSTATE>: <message>" for a statement returning one text value.
fn answer(sql: &str) -> String {
    match error_of(sql).as_str() {
        "ok" => format!("ok: {}", text(sql)),
        e => e.to_string(),
    }
}

/// Every statement of `answers` answers as recorded from pgvector; the differences are listed.
fn assert_answers_as_pgvector(answers: &[(&str, &str)]) {
    let wrong: Vec<String> = answers
        .iter()
        .filter_map(|(sql, want)| {
            let got = answer(sql);
            (got != *want).then(|| format!("{sql}\n  pgvector: {want}\n  ours:     {got}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), answers.len(), wrong.join("\n"));
}

#[pg_test]
fn halfvec_and_bit_answer_as_pgvector_does() {
    assert_answers_as_pgvector(PGVECTOR_086_HALFVEC_ANSWERS);
}
