// The vector type's text and binary formats, typmod and casts.


#[pg_test]
fn text_round_trip_and_whitespace() {
    assert_eq!(text("SELECT '[1,2,3]'::vector::text"), "[1,2,3]");
    assert_eq!(text("SELECT ' [ 1.5 , -2e-3,3E+2 ] '::vector::text"), "[1.5,-0.002,300]");
    assert_eq!(text("SELECT '[0.1]'::vector::text"), "[0.1]");
}

/// Hexadecimal floats, as pgvector reads them through strtof (figures from pgvector 0.8.6 on the same
/// inputs: `[8,-0.5,10.6875,0,1e-45,1.0000002]`, out of range past f32).
#[pg_test]
fn hexadecimal_floats_read_as_pgvector_reads_them() {
    assert_eq!(
        text("SELECT '[0x1p3,-0x.8,0xA.Bp0,0x1p-150,0x1.8p-150,0x1.000003p0]'::vector::text"),
        "[8,-0.5,10.6875,0,1e-45,1.0000002]"
    );
    assert_error("SELECT '[0x1p128]'::vector", "22003", "\"0x1p128\" is out of range for type vector");
    assert_error("SELECT '[0x1.ffffffp127]'::vector", "22003", "out of range");
    assert_error("SELECT '[0x]'::vector", "22P02", "invalid input syntax for type vector: \"[0x]\"");
    assert_error("SELECT '[0x1p]'::vector", "22P02", "invalid input syntax");
}

#[pg_test]
fn typmod_is_enforced_on_insert_and_cast() {
    Spi::run("CREATE TEMP TABLE t (v vector(3))").unwrap();
    Spi::run("INSERT INTO t VALUES ('[1,2,3]')").unwrap();
    assert_error("INSERT INTO t VALUES ('[1,2]')", "22000", "expected 3 dimensions, not 2");
    assert_error("SELECT '[1,2]'::vector(3)", "22000", "expected 3 dimensions, not 2");
    assert_error("SELECT '[1]'::vector(0)", "22023", "at least 1");
    assert_error("SELECT '[1]'::vector(16001)", "22023", "cannot exceed 16000");
    assert_eq!(text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'v'"), "vector(3)");
}

#[pg_test]
fn binary_send_recv_matches_pgvector_layout() {
    // int16 dims, int16 0, then big-endian float4s.
    assert_eq!(text("SELECT encode(vector_send('[1,-2]'), 'hex')"), "00020000" .to_owned() + "3f800000" + "c0000000");
    assert_eq!(text("SELECT tests.vector_recv_test(decode('000200003f800000c0000000', 'hex'))::text"), "[1,-2]");
}

#[pg_test]
fn binary_recv_rejects_bad_payloads() {
    // A short message: what Postgres' pq_getmsg* say, as in pgvector.
    assert_eq!(error_of("SELECT tests.vector_recv_test(decode('0002', 'hex'))"), "08P01: insufficient data left in message");
    assert_eq!(error_of("SELECT tests.vector_recv_test(decode('000200003f800000', 'hex'))"), "08P01: insufficient data left in message");
    assert_error("SELECT tests.vector_recv_test(decode('000200013f800000c0000000', 'hex'))", "22000", "expected unused to be 0, not 1");
    assert_error("SELECT tests.vector_recv_test(decode('000100007fc00000', 'hex'))", "22000", "NaN");
    assert_error("SELECT tests.vector_recv_test(decode('000100007f800000', 'hex'))", "22000", "infinite");
    assert_error("SELECT tests.vector_recv_test(decode('00000000', 'hex'))", "22000", "at least 1 dimension");
}

#[pg_test]
fn casts_to_and_from_arrays() {
    assert_eq!(text("SELECT ARRAY[1,2,3]::real[]::vector::text"), "[1,2,3]");
    assert_eq!(text("SELECT ARRAY[1.5,2,3]::float8[]::vector::text"), "[1.5,2,3]");
    assert_eq!(text("SELECT ARRAY[1,2,3]::int[]::vector::text"), "[1,2,3]");
    assert_eq!(text("SELECT ARRAY[1.25,2,3]::numeric[]::vector::text"), "[1.25,2,3]");
    assert_eq!(text("SELECT '[1.5,2,3]'::vector::real[]::text"), "{1.5,2,3}");
    assert_eq!(text("SELECT '[1.5,2,3]'::vector::float8[]::text"), "{1.5,2,3}");
    assert_eq!(text("SELECT '[1.4,2.6,-3]'::vector::int[]::text"), "{1,3,-3}");
    assert_eq!(text("SELECT '[1.5,2,3]'::vector::numeric[]::text"), "{1.5,2,3}");
    // A type named numeric planted in a schema the caller searches before pg_catalog is not picked up
    // by the cast's SQL body (CVE-2018-1058).
    Spi::run("CREATE DOMAIN public.numeric AS int; SET LOCAL search_path = public, pg_catalog, embedrank").unwrap();
    assert_eq!(text("SELECT embedrank.vector_to_numeric('[1.5,2,3]', -1, false)::text"), "{1.5,2,3}");
    assert_eq!(text("SELECT ARRAY[1,2,3]::real[]::vector(3)::text"), "[1,2,3]");
    assert_error("SELECT ARRAY[1,2]::real[]::vector(3)", "22000", "expected 3 dimensions, not 2");
    assert_error("SELECT ARRAY[1,NULL]::real[]::vector", "22004", "must not contain nulls");
    assert_eq!(error_of("SELECT ARRAY[[1,2],[3,4]]::real[]::vector"), "22000: array must be 1-D");
    assert_error("SELECT '{}'::real[]::vector", "22000", "at least 1 dimension");
    assert_error("SELECT ARRAY['NaN']::float8[]::vector", "22000", "NaN");
    // Beyond float4's range a float8 becomes infinite, as in pgvector.
    assert_eq!(error_of("SELECT ARRAY[1e300]::float8[]::vector"), "22000: infinite value not allowed in vector");
}

#[pg_test]
fn null_in_null_out() {
    assert!(Spi::get_one::<f64>("SELECT NULL::vector <-> '[1]'").unwrap().is_none());
    assert!(Spi::get_one::<String>("SELECT NULL::vector::text").unwrap().is_none());
}

/// Feed raw bytes to `vector_recv` (which takes `internal` and so cannot be called from SQL).
#[pg_extern]
fn vector_recv_test(bytes: &[u8]) -> crate::vector::Vector {
    unsafe {
        let buf = pg_sys::makeStringInfo();
        pg_sys::appendBinaryStringInfo(buf, bytes.as_ptr() as *const _, bytes.len() as i32);
        // The type's registered receive function, called as COPY BINARY / bind parameters call it.
        let (mut recv, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
        pg_sys::getTypeBinaryInputInfo(crate::vector::vector_type_oid(), &mut recv, &mut ioparam);
        let d = pg_sys::OidReceiveFunctionCall(recv, buf, ioparam, -1);
        if (*buf).cursor != (*buf).len {
            crate::errors::raise(crate::errors::Code::ERRCODE_INVALID_BINARY_REPRESENTATION, "incorrect binary data format", None);
        }
        crate::vector::Vector(crate::vector::datum_slice(d).to_vec())
    }
}
