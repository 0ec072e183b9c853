-- Two-stage search over registered tables: ANN top-k on the embedding index, then cross-encoder
-- top-n, in one statement; plus keeping embeddings in sync (trigger) and batched backfill.
-- All dynamic SQL quotes identifiers with format('%I') and passes values as parameters.
--
-- Any search_path, no hijacking (CVE-2018-1058). Every function here pins
-- `SET search_path = pg_catalog, @extschema@, pg_temp`: the caller's search_path (even '') does not
-- matter, and no object in a schema another role can write (a public.jsonb_build_object(text, text)
-- or public.<=>(vector, vector) that resolves better than the real one) is ever considered. pg_temp
-- comes last so a temporary table cannot shadow anything (functions and operators are never looked
-- up there). Dynamic SQL built with format() runs under the same pinned path: a table named by its
-- regclass prints schema-qualified whenever the path would not find it, and the vector operator is
-- spelled OPERATOR(@extschema@.<=>) besides. The one exception is the backfill() procedure: a
-- procedure with a SET clause cannot COMMIT, so its body calls only schema-qualified functions and
-- operators, and the work is done by backfill_start() and backfill_batch(), which pin the path.
--
-- Any role. Everything runs with the caller's rights (SECURITY INVOKER): register() needs to own
-- the table (it adds a column, a trigger and an index), backfill() needs UPDATE on it and search()
-- SELECT, exactly as the same SQL typed by hand.
--
-- Where a registration lives: in the catalog, as the table's `embedrank_sync` trigger, whose
-- arguments are the text column, the embedding column, the model and the key column -- or, for a
-- table whose documents are chunked, the text column, the chunk table, the model, the key column, the
-- chunk size and the overlap. The view `sources` reads them back. So Postgres itself keeps registrations right: only the table's owner
-- (or a role it granted TRIGGER) can add, change or drop one; DROP TABLE, and DROP COLUMN of the text
-- column, take it along; a rename of the table keeps it (a renamed registered column makes
-- registration() fail until the table is registered again); pg_dump writes it with the table and a restore brings
-- it back -- for any role that can dump the table, with nothing of the extension's to dump (an
-- extension table with row-level security stopped every non-superuser's pg_dump: "query would be
-- affected by row-level security policy"). The view shows a registration to roles that may SELECT
-- its table (those who can search it); pg_trigger, which anyone can read, holds no more than that.
-- Why not SECURITY DEFINER functions: search() and backfill() run the caller's table, whose views,
-- policies, triggers, defaults and index expressions call functions the caller chose -- run as the
-- definer (a superuser) that is privilege escalation.

-- The arguments of a trigger, from pg_trigger.tgargs (each ends with a zero byte).
CREATE FUNCTION trigger_args(args bytea) RETURNS text[] LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    out text[] := '{}';
    at  int;
BEGIN
    LOOP
        -- decode(): a '\x00' literal would read differently with standard_conforming_strings off.
        at := position(decode('00', 'hex') IN args);
        EXIT WHEN at = 0;
        out := out || convert_from(substring(args FROM 1 FOR at - 1), current_setting('server_encoding'));
        args := substring(args FROM at + 1);
    END LOOP;
    RETURN out;
END $$;

-- Whether the current role has the privileges of tbl's owner (what ALTER TABLE and CREATE INDEX need).
CREATE FUNCTION owns_table(tbl regclass) RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                   WHERE c.oid = tbl::oid AND pg_catalog.pg_has_role(c.relowner, 'USAGE'))
$$;

-- The schema's types, operators, functions and the index access method are for every role.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- Trigger function: embed the text column into the embedding column on INSERT and on UPDATE of the
-- text. TG_ARGV: text column, embedding column, model, key column (the last only for `sources`). An
-- INSERT that already carries an embedding keeps it (bulk loads with precomputed vectors).
-- It runs as whoever writes the table, so it must not depend on their search_path.
CREATE FUNCTION sync_embedding() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    doc  text := pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0];
    have text := pg_catalog.to_jsonb(NEW) ->> TG_ARGV[1];
BEGIN
    IF TG_OP = 'INSERT' AND have IS NOT NULL THEN
        RETURN NEW;
    END IF;
    NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(TG_ARGV[1],
               CASE WHEN doc IS NULL THEN NULL ELSE @extschema@.embed(doc, TG_ARGV[2])::text END));
    RETURN NEW;
END $$;

-- Whether a text has a character other than ASCII white space: exactly the texts chunks() gives at
-- least one chunk (the one definition backfill() relies on to finish).
CREATE FUNCTION has_content(doc text) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.btrim(doc, pg_catalog.chr(32) || pg_catalog.chr(9) || pg_catalog.chr(10)
                            || pg_catalog.chr(11) || pg_catalog.chr(12) || pg_catalog.chr(13)) <> ''
$$;

-- Trigger function of a chunked registration (AFTER INSERT OR UPDATE OF the text column): the row's
-- chunks, replaced when its text changes, each embedded (the document's chunks in one model call).
-- TG_ARGV: text column, chunk table, model, key column, chunk size, overlap. Deleted rows and
-- changed keys are the chunk table's foreign key's work (ON DELETE / ON UPDATE CASCADE).
CREATE FUNCTION sync_chunks() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (pg_catalog.to_jsonb(OLD) -> TG_ARGV[0]) IS NOT DISTINCT FROM (pg_catalog.to_jsonb(NEW) -> TG_ARGV[0]) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('DELETE FROM %s WHERE key = ($1).%I', TG_ARGV[1], TG_ARGV[3]) USING NEW;
    EXECUTE format(
        'INSERT INTO %1$s (key, chunk, content, embedding)
         SELECT ($1).%3$I, u.chunk, u.content, u.v
         FROM (SELECT array_agg(c.chunk ORDER BY c.chunk) AS ch, array_agg(c.content ORDER BY c.chunk) AS ct
               FROM @extschema@.chunks(($1).%2$I::text, $2, $3, $4) c) a,
              unnest(a.ch, a.ct, @extschema@.embed(a.ct, $4)) AS u(chunk, content, v)',
        TG_ARGV[1], TG_ARGV[0], TG_ARGV[3])
    USING NEW, TG_ARGV[4]::int, TG_ARGV[5]::int, TG_ARGV[2];
    RETURN NULL;
END $$;

-- Tables registered for search(), read from their `embedrank_sync` triggers (see the top of this
-- file); a row is visible to roles that may SELECT its table. A chunked registration's
-- embedding_column is its chunk table's `embedding`; chunk_table is NULL if that table is gone.
CREATE VIEW sources WITH (security_barrier) AS
SELECT t.tgrelid::pg_catalog.regclass AS source,
       (x.a)[4]::name AS key_column,
       (x.a)[1]::name AS text_column,
       CASE WHEN t.tgnargs = 6 THEN 'embedding' ELSE (x.a)[2] END::name AS embedding_column,
       (x.a)[3] AS model,
       CASE WHEN t.tgnargs = 6 THEN pg_catalog.to_regclass((x.a)[2]) END AS chunk_table,
       CASE WHEN t.tgnargs = 6 AND (x.a)[5] ~ '^[0-9]{1,9}$' THEN (x.a)[5]::int END AS chunk_tokens,
       CASE WHEN t.tgnargs = 6 AND (x.a)[6] ~ '^[0-9]{1,9}$' THEN (x.a)[6]::int END AS chunk_overlap
FROM pg_catalog.pg_trigger t
CROSS JOIN LATERAL (SELECT @extschema@.trigger_args(t.tgargs) AS a) x
WHERE t.tgname = 'embedrank_sync'
  AND t.tgparentid = 0  -- a partitioned table's registration, not its clones on the partitions
  AND ((t.tgfoid = '@extschema@.sync_embedding()'::pg_catalog.regprocedure AND t.tgnargs = 4)
       OR (t.tgfoid = '@extschema@.sync_chunks()'::pg_catalog.regprocedure AND t.tgnargs = 6
           -- a malformed trigger (any owner can make one) must not break the view for everyone
           AND (x.a)[5] ~ '^[0-9]{1,9}$' AND (x.a)[6] ~ '^[0-9]{1,9}$'))
  AND pg_catalog.has_table_privilege(t.tgrelid, 'SELECT');
COMMENT ON VIEW sources IS 'Tables registered with embedrank.register() for embedrank.search()';
GRANT SELECT ON sources TO PUBLIC;

-- Column facts used by register(): its type and typmod, or NULL if the column does not exist.
CREATE FUNCTION column_type(tbl regclass, col name) RETURNS TABLE(typ regtype, typmod int)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT atttypid::regtype, atttypmod FROM pg_catalog.pg_attribute
    WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped
$$;

-- Register a table for search(): record it, add the embedding column, the sync trigger and the
-- index. The caller must own the table; the key column must identify one row (search() returns one
-- row per key and backfill() writes each embedding by key).
-- With chunk_tokens, documents are stored as chunks instead (see chunks()): a chunk table
-- <table>_chunks (key, chunk, content, embedding) next to the table, kept in sync by the trigger and
-- by its foreign key, embedded chunk by chunk; search() then ranks documents by their best chunk.
-- The embedrank_bm25 index search(hybrid => true) ranks tbl's column col with: a valid index on
-- exactly that column, not partial (the first by name if there are several); NULL if none.
CREATE FUNCTION lexical_index(tbl regclass, col name) RETURNS regclass LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.oid::pg_catalog.regclass
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
    JOIN pg_catalog.pg_am a ON a.oid = c.relam
    JOIN pg_catalog.pg_attribute att ON att.attrelid = i.indrelid AND att.attnum = i.indkey[0]
    WHERE i.indrelid = tbl AND a.amname = 'embedrank_bm25' AND att.attname = col
      AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indisvalid
    ORDER BY c.relname LIMIT 1
$$;

CREATE FUNCTION register(
    source regclass,
    text_column name,
    embedding_column name DEFAULT 'embedding',
    key_column name DEFAULT NULL,
    model text DEFAULT NULL,
    create_index boolean DEFAULT true,
    chunk_tokens int DEFAULT NULL,
    chunk_overlap int DEFAULT NULL,
    lexical boolean DEFAULT false,
    text_config text DEFAULT 'english'
) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    -- missing_ok: the setting is defined when the library loads, which may not have happened yet
    m     text := coalesce(model, current_setting('embedrank.embedding_model', true), 'bge-small-en-v1.5');
    dims  int;
    t     record;
    keyc  name := key_column;
    keyat record;
    opclass name := 'vector_cosine_ops';
    sharded boolean;
    chunk_tbl text;
    overlap int;
BEGIN
    IF source IS NULL OR text_column IS NULL OR embedding_column IS NULL OR lexical IS NULL THEN
        RAISE EXCEPTION 'source, text_column, embedding_column and lexical must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lexical THEN
        PERFORM text_config::pg_catalog.regconfig;  -- 42704 for a configuration that does not exist
    END IF;
    IF NOT @extschema@.owns_table(source) THEN
        RAISE EXCEPTION 'must be owner of table %', source USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only the owner of a table (or a member of the owning role) can register it.';
    END IF;
    SELECT d.dims INTO dims FROM @extschema@.models() d WHERE d.name = m AND d.role = 'embedding';
    IF dims IS NULL THEN
        RAISE EXCEPTION 'model "%" is not an installed embedding model', m USING ERRCODE = 'undefined_object',
            HINT = 'SELECT * FROM embedrank.models() lists the installed models.';
    END IF;
    SELECT * INTO t FROM @extschema@.column_type(source, text_column);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" does not exist in %', text_column, source USING ERRCODE = 'undefined_column';
    ELSIF t.typ NOT IN ('text'::regtype, 'character varying'::regtype, 'character'::regtype) THEN
        RAISE EXCEPTION 'column "%" of % has type %, not text', text_column, source, t.typ USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF keyc IS NULL THEN
        SELECT a.attname INTO keyc FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = source AND i.indisprimary AND i.indnkeyatts = 1;
        IF keyc IS NULL THEN
            RAISE EXCEPTION '% has no single-column primary key', source USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass key_column => the column that identifies a row.';
        END IF;
    END IF;
    SELECT a.attnum, a.attnotnull INTO keyat FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = source AND a.attname = keyc AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" does not exist in %', keyc, source USING ERRCODE = 'undefined_column';
    END IF;
    -- Unique: a primary key or a valid unique index on exactly this column, not partial, not on an
    -- expression (INCLUDE columns are fine). NOT NULL: NULL keys are neither unique nor joinable.
    -- A table partitioned by the key column alone over foreign tables (shards) has no index to show:
    -- each key lives in one partition, and each shard's table must be unique on it (its primary key),
    -- which cannot be checked from here (documented).
    sharded := EXISTS (
        SELECT 1 FROM pg_catalog.pg_partitioned_table p
        WHERE p.partrelid = source AND p.partnatts = 1 AND p.partattrs[0] = keyat.attnum)
      AND EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree(source) pt WHERE pt.isleaf)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree(source) pt
                      JOIN pg_catalog.pg_class c ON c.oid = pt.relid WHERE pt.isleaf AND c.relkind <> 'f');
    IF NOT sharded AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i
        WHERE i.indrelid = source AND i.indisunique AND i.indisvalid AND i.indnkeyatts = 1
          AND i.indkey[0] = keyat.attnum AND i.indpred IS NULL AND i.indexprs IS NULL) THEN
        RAISE EXCEPTION 'key column "%" of % is not unique', keyc, source USING ERRCODE = 'invalid_column_reference',
            DETAIL = 'search() returns one row per key and backfill() writes each embedding by key, so the key must identify one row.',
            HINT = format('Use a column with a primary key or a unique index (CREATE UNIQUE INDEX ON %s (%I)), or a different key_column.', source, keyc);
    ELSIF NOT keyat.attnotnull THEN
        RAISE EXCEPTION 'key column "%" of % must be NOT NULL', keyc, source USING ERRCODE = 'invalid_column_reference',
            DETAIL = 'Rows with a NULL key could not be told apart nor backfilled.',
            HINT = format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', source, keyc);
    END IF;
    -- A registration again replaces the trigger (the registration); an ERROR below restores it.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = source AND tgname = 'embedrank_sync') THEN
        EXECUTE format('DROP TRIGGER embedrank_sync ON %s', source);
    END IF;
    IF chunk_tokens IS NOT NULL OR chunk_overlap IS NOT NULL THEN
        IF chunk_tokens IS NULL THEN
            RAISE EXCEPTION 'chunk_overlap needs chunk_tokens' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = source) = 'p' THEN
            RAISE EXCEPTION 'chunked registration of partitioned table % is not supported', source
                USING ERRCODE = 'feature_not_supported', HINT = 'Register it without chunk_tokens.';
        END IF;
        overlap := coalesce(chunk_overlap, chunk_tokens / 8);
        -- Checks size and overlap against the model (an ERROR names the limits).
        PERFORM FROM @extschema@.chunks(NULL, chunk_tokens, overlap, m);
        SELECT format('%I.%I', n.nspname, c.relname || '_chunks') INTO chunk_tbl
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source;
        IF (SELECT pg_catalog.octet_length(c.relname::text) FROM pg_catalog.pg_class c WHERE c.oid = source) > 56 THEN
            -- <name>_chunks would be cut to 63 bytes, and two tables could share one.
            RAISE EXCEPTION 'table name of % is too long for a chunked registration', source USING ERRCODE = 'name_too_long',
                HINT = 'Its chunk table is named <table>_chunks: rename the table to at most 56 bytes.';
        END IF;
        IF pg_catalog.to_regclass(chunk_tbl) IS NULL THEN
            EXECUTE format('CREATE TABLE %s (key %s NOT NULL REFERENCES %s (%I) ON DELETE CASCADE ON UPDATE CASCADE,'
                           ' chunk int NOT NULL, content text NOT NULL, embedding @extschema@.vector(%s), PRIMARY KEY (key, chunk))',
                           chunk_tbl, (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
                                       WHERE a.attrelid = source AND a.attnum = keyat.attnum),
                           source, keyc, dims);
            EXECUTE format('COMMENT ON TABLE %s IS %L', chunk_tbl,
                           format('Chunks of %s.%s for embedrank.search(), kept by embedrank', source, text_column));
        ELSIF NOT EXISTS (
            SELECT 1 FROM @extschema@.column_type(chunk_tbl::regclass, 'embedding') c
            WHERE c.typ = '@extschema@.vector'::regtype AND c.typmod = dims)
           OR NOT EXISTS (SELECT 1 FROM @extschema@.column_type(chunk_tbl::regclass, 'content'))
           OR NOT EXISTS (SELECT 1 FROM @extschema@.column_type(chunk_tbl::regclass, 'chunk'))
           OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                          WHERE k.conrelid = chunk_tbl::regclass AND k.contype = 'f' AND k.confrelid = source) THEN
            RAISE EXCEPTION 'table % exists and is not a chunk table for %', chunk_tbl, source USING ERRCODE = 'duplicate_table',
                DETAIL = format('A chunk table of %s has columns key (a foreign key to it), chunk, content and embedding vector(%s).', source, dims),
                HINT = 'Rename or drop that table.';
        END IF;
        EXECUTE format('CREATE TRIGGER embedrank_sync AFTER INSERT OR UPDATE OF %I ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION @extschema@.sync_chunks(%L, %L, %L, %L, %L, %L)',
                       text_column, source, text_column, chunk_tbl, m, keyc, chunk_tokens, overlap);
        IF create_index AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
            JOIN pg_catalog.pg_am a ON a.oid = c.relam
            WHERE i.indrelid = chunk_tbl::regclass AND a.amname = 'embedrank_hnsw') THEN
            EXECUTE format('CREATE INDEX ON %s USING embedrank_hnsw (embedding @extschema@.vector_cosine_ops)', chunk_tbl);
        END IF;
        IF lexical AND @extschema@.lexical_index(chunk_tbl::regclass, 'content') IS NULL THEN
            EXECUTE format('CREATE INDEX ON %s USING embedrank_bm25 (content) WITH (text_config = %L)', chunk_tbl, text_config);
        END IF;
        RETURN;
    END IF;
    SELECT * INTO t FROM @extschema@.column_type(source, embedding_column);
    IF NOT FOUND THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I @extschema@.vector(%s)', source, embedding_column, dims);
    ELSIF t.typ NOT IN ('@extschema@.vector'::regtype, '@extschema@.halfvec'::regtype) OR t.typmod <> dims THEN
        RAISE EXCEPTION 'column "%" of % has type %, not vector(%) or halfvec(%)', embedding_column, source,
            format_type(t.typ, t.typmod), dims, dims USING ERRCODE = 'datatype_mismatch',
            HINT = format('Model %s produces %s dimensions.', m, dims);
    ELSIF t.typ = '@extschema@.halfvec'::regtype THEN
        -- Half precision: half the heap storage; the query embedding is cast to halfvec to compare.
        opclass := 'halfvec_cosine_ops';
    END IF;
    -- The trigger is the registration (see `sources`).
    EXECUTE format('CREATE TRIGGER embedrank_sync BEFORE INSERT OR UPDATE OF %I ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@.sync_embedding(%L, %L, %L, %L)',
                   text_column, source, text_column, embedding_column, m, keyc);
    IF create_index AND sharded THEN
        -- Foreign tables have no indexes here: each shard indexes its own table.
        RAISE NOTICE '% is partitioned over foreign tables: no index created here', source
            USING HINT = 'Register the table on each shard (that creates its embedrank_hnsw index).';
    ELSIF create_index AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        JOIN pg_catalog.pg_am a ON a.oid = c.relam JOIN pg_catalog.pg_attribute att ON att.attrelid = i.indrelid AND att.attnum = i.indkey[0]
        WHERE i.indrelid = source AND a.amname = 'embedrank_hnsw' AND att.attname = embedding_column) THEN
        EXECUTE format('CREATE INDEX ON %s USING embedrank_hnsw (%I @extschema@.%I)', source, embedding_column, opclass);
    END IF;
    -- The BM25 index search(hybrid => true) ranks the lexical stage with.
    IF lexical AND sharded THEN
        RAISE NOTICE '% is partitioned over foreign tables: no BM25 index created here', source
            USING HINT = 'Create an embedrank_bm25 index on each shard''s table.';
    ELSIF lexical AND @extschema@.lexical_index(source, text_column) IS NULL THEN
        EXECUTE format('CREATE INDEX ON %s USING embedrank_bm25 (%I) WITH (text_config = %L)', source, text_column, text_config);
    END IF;
END $$;

-- Undo register(): drop the sync trigger (the registration), and with drop_embedding the embedding
-- column and so its index. The caller must own the table.
CREATE FUNCTION unregister(source regclass, drop_embedding boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    r @extschema@.sources;
BEGIN
    IF source IS NULL OR drop_embedding IS NULL THEN
        RAISE EXCEPTION 'source and drop_embedding must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT @extschema@.owns_table(source) THEN
        RAISE EXCEPTION 'must be owner of table %', source USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only the owner of a table (or a member of the owning role) can unregister it.';
    END IF;
    SELECT * INTO r FROM @extschema@.sources s WHERE s.source = unregister.source;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not registered for search', source USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF r.chunk_tokens IS NOT NULL THEN
        EXECUTE format('DROP TRIGGER embedrank_sync ON %s', source);
        -- Only a table that is this source's chunk table (its foreign key says so) is dropped.
        IF drop_embedding AND r.chunk_table IS NOT NULL AND EXISTS (
            SELECT 1 FROM pg_catalog.pg_constraint k
            WHERE k.conrelid = r.chunk_table AND k.contype = 'f' AND k.confrelid = source) THEN
            EXECUTE format('DROP TABLE %s', r.chunk_table);
        END IF;
        RETURN;
    END IF;
    -- The column the trigger names is dropped only if it is an embedding column: a role granted TRIGGER
    -- could have planted an embedrank_sync trigger naming another column.
    IF drop_embedding AND NOT EXISTS (
        SELECT 1 FROM @extschema@.column_type(source, r.embedding_column) c
        WHERE c.typ IN ('@extschema@.vector'::regtype, '@extschema@.halfvec'::regtype)) THEN
        RAISE EXCEPTION 'column "%" of % is not a vector or halfvec column', r.embedding_column, source
            USING ERRCODE = 'datatype_mismatch', HINT = 'Unregister without drop_embedding and drop the column yourself.';
    END IF;
    EXECUTE format('DROP TRIGGER embedrank_sync ON %s', source);
    IF drop_embedding THEN
        EXECUTE format('ALTER TABLE %s DROP COLUMN %I', source, r.embedding_column);
    END IF;
END $$;

-- The registration of source, for a caller who may read it.
CREATE FUNCTION registration(source regclass) RETURNS @extschema@.sources LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE r @extschema@.sources;
BEGIN
    -- Rows of tables the caller cannot read are hidden by row-level security; say why.
    IF NOT pg_catalog.has_table_privilege(registration.source, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', registration.source USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO r FROM @extschema@.sources s WHERE s.source = registration.source;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not registered for search', registration.source USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'SELECT embedrank.register(''table'', ''text_column'') first.';
    END IF;
    IF r.chunk_tokens IS NOT NULL AND r.chunk_table IS NULL THEN
        RAISE EXCEPTION 'the chunk table of % no longer exists', r.source USING ERRCODE = 'undefined_table',
            HINT = 'Register the table again (that creates it), then CALL embedrank.backfill() to fill it.';
    END IF;
    -- The trigger names its columns only as text: a dropped or renamed embedding or key column
    -- leaves it pointing at nothing.
    IF NOT EXISTS (SELECT 1 FROM @extschema@.column_type(coalesce(r.chunk_table, r.source), r.embedding_column))
       OR NOT EXISTS (SELECT 1 FROM @extschema@.column_type(r.source, r.key_column))
       OR NOT EXISTS (SELECT 1 FROM @extschema@.column_type(r.source, r.text_column)) THEN
        RAISE EXCEPTION 'the registration of % names a column it no longer has', r.source
            USING ERRCODE = 'undefined_column',
            DETAIL = format('Registered key column "%s", text column "%s", embedding column "%s".',
                            r.key_column, r.text_column, r.embedding_column),
            HINT = 'Register the table again with its current columns, or embedrank.unregister() it.';
    END IF;
    RETURN r;
END $$;

-- backfill() helpers (a procedure that COMMITs cannot pin search_path; these do). backfill_start
-- checks the arguments and counts the rows to embed; backfill_batch embeds up to batch_size of them
-- in one model call and returns how many it wrote.
CREATE FUNCTION backfill_start(source regclass, batch_size int) RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    r     @extschema@.sources := @extschema@.registration(source);
    total bigint;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 OR batch_size > 10000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 10000, got %', batch_size USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF r.chunk_tokens IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM %1$s s WHERE @extschema@.has_content(s.%3$I::text) AND NOT EXISTS (SELECT 1 FROM %2$s c WHERE c.key = s.%4$I)',
                       source, r.chunk_table, r.text_column, r.key_column) INTO total;
        RETURN total;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL AND %I IS NOT NULL', source, r.embedding_column, r.text_column) INTO total;
    RETURN total;
END $$;

CREATE FUNCTION backfill_batch(source regclass, batch_size int) RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    r @extschema@.sources := @extschema@.registration(source);
    n bigint;
BEGIN
    IF r.chunk_tokens IS NOT NULL THEN
        -- Documents without chunks (a text has_content() has at least one), their chunks embedded
        -- in one model call; returns the documents written (0 ends backfill()'s loop).
        EXECUTE format(
            'WITH todo AS (SELECT s.%4$I AS k, s.%3$I::text AS t FROM %1$s s
                           WHERE @extschema@.has_content(s.%3$I::text) AND NOT EXISTS (SELECT 1 FROM %2$s c WHERE c.key = s.%4$I)
                           LIMIT %5$s FOR UPDATE OF s SKIP LOCKED),
                  ch AS (SELECT t.k, c.chunk, c.content FROM todo t, @extschema@.chunks(t.t, %6$s, %7$s, %8$L) c),
                  agg AS (SELECT array_agg(k ORDER BY k, chunk) AS ks, array_agg(chunk ORDER BY k, chunk) AS cs,
                                 array_agg(content ORDER BY k, chunk) AS ts FROM ch),
                  ins AS (INSERT INTO %2$s (key, chunk, content, embedding)
                          SELECT u.k, u.c, u.t, u.v FROM agg, unnest(agg.ks, agg.cs, agg.ts, @extschema@.embed(agg.ts, %8$L)) AS u(k, c, t, v)
                          RETURNING key)
             SELECT count(DISTINCT key) FROM ins',
            source, r.chunk_table, r.text_column, r.key_column, batch_size, r.chunk_tokens, r.chunk_overlap, r.model) INTO n;
        RETURN n;
    END IF;
    EXECUTE format(
        'WITH todo AS (SELECT %1$I AS k, %2$I AS t FROM %4$s WHERE %3$I IS NULL AND %2$I IS NOT NULL LIMIT %5$s FOR UPDATE SKIP LOCKED),
              emb AS (SELECT a.k, e.v FROM (SELECT array_agg(k) AS ks, @extschema@.embed(array_agg(t), %6$L) AS vs FROM todo) x,
                      unnest(x.ks, x.vs) AS e(kk, v), LATERAL (SELECT e.kk AS k) a)
         UPDATE %4$s s SET %3$I = emb.v FROM emb WHERE s.%1$I = emb.k',
        r.key_column, r.text_column, r.embedding_column, source, batch_size, r.model);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Embed the rows whose embedding is NULL, batch_size texts per model call, committing after each
-- batch (so it can be interrupted and resumed: a new CALL continues where the last one stopped).
-- No SET search_path (it would forbid COMMIT): every name below is schema-qualified.
CREATE PROCEDURE backfill(source regclass, batch_size int DEFAULT 256) LANGUAGE plpgsql AS $$
DECLARE
    total bigint := @extschema@.backfill_start(source, batch_size);
    done  bigint := 0;
    n     bigint;
BEGIN
    LOOP
        n := @extschema@.backfill_batch(source, batch_size);
        EXIT WHEN n OPERATOR(pg_catalog.=) 0;
        done := done OPERATOR(pg_catalog.+) n;
        RAISE NOTICE 'embedrank backfill %: % / % rows embedded', source, done, total;
        COMMIT;
    END LOOP;
END $$;

-- The first stage of search() over a registered table, as SQL reading the query embedding from CTE
-- `qv` (column v) and k from $2: key, content and distance of the k nearest rows by the index. A
-- partitioned table (say, over postgres_fdw shards) is asked partition by partition, each for its
-- own top k, as one Append that async foreign scans run at once; each branch carries this session's
-- embedrank.hnsw_ef_search in its query value (with_ef_search), because a shard's scan runs with the
-- shard's settings otherwise. The coordinator keeps the best k of the union. (The distance is the
-- ORDER BY's own output column: a hidden sort column would keep a Subquery Scan over each foreign
-- scan, and only foreign scans directly under an Append run asynchronously.) Exposed for EXPLAIN.
CREATE FUNCTION first_stage_sql(source regclass) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    r @extschema@.sources := @extschema@.registration(source);
    emb_type text;
    branches text;
BEGIN
    IF r.chunk_tokens IS NOT NULL THEN
        -- Documents by their best chunk: the 4·k nearest chunks, the best per document, k of those.
        RETURN format(
            'SELECT key::text AS key, content, distance FROM ('
            ' SELECT c.key, c.content, c.distance, row_number() OVER (PARTITION BY c.key ORDER BY c.distance, c.chunk) AS nth'
            ' FROM (SELECT key, chunk, content, embedding OPERATOR(@extschema@.<=>) (SELECT v FROM qv) AS distance FROM %1$s'
            '       WHERE embedding IS NOT NULL ORDER BY embedding OPERATOR(@extschema@.<=>) (SELECT v FROM qv) LIMIT 4 * $2) c) b'
            ' WHERE nth = 1 ORDER BY distance LIMIT $2', r.chunk_table);
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = source) = 'p' THEN
        -- Any C function of the extension loads its library, which defines embedrank.hnsw_ef_search
        -- (a session's first search may come before anything else of ours ran).
        PERFORM '[0]'::@extschema@.vector;
        SELECT t.typ::regtype::text INTO emb_type FROM @extschema@.column_type(source, r.embedding_column) t;
        SELECT string_agg(format(
                   '(SELECT %1$I::text AS key, %2$I AS content, %3$I OPERATOR(@extschema@.<=>)'
                   ' @extschema@.with_ef_search((SELECT v FROM qv)::%5$s, %6$s) AS distance'
                   ' FROM ONLY %4$s WHERE %3$I IS NOT NULL ORDER BY distance LIMIT $2)',
                   r.key_column, r.text_column, r.embedding_column, p.relid::regclass, emb_type,
                   current_setting('embedrank.hnsw_ef_search')::int), ' UNION ALL ' ORDER BY p.relid::regclass::text)
        INTO branches FROM pg_catalog.pg_partition_tree(source) p WHERE p.isleaf;
        -- OFFSET 0 keeps the union a plain Append: sorted branches under ORDER BY … LIMIT would
        -- otherwise become a Merge Append, which reads its shards one after another.
        RETURN format('SELECT * FROM (%s OFFSET 0) u ORDER BY distance LIMIT $2', branches);
    END IF;
    RETURN format(
        'SELECT %1$I::text AS key, %2$I AS content, %3$I OPERATOR(@extschema@.<=>) (SELECT v FROM qv) AS distance'
        ' FROM %4$s WHERE %3$I IS NOT NULL ORDER BY %3$I OPERATOR(@extschema@.<=>) (SELECT v FROM qv) LIMIT $2',
        r.key_column, r.text_column, r.embedding_column, source);
END $$;

-- Two-stage search: top-k by cosine distance on the embedding index (the query embedded once, as a
-- 'query'), optionally (hybrid) fused with top-k lexical candidates -- BM25 through the text's
-- embedrank_bm25 index if it has one, else full-text ts_rank_cd -- by reciprocal rank (k = 60) or a
-- convex combination of min-max normalised scores, lexical_weight against 1 - lexical_weight; then
-- the cross-encoder reorders them and the best n come back with both scores.
CREATE FUNCTION search(
    source regclass,
    query text,
    k int DEFAULT 100,
    n int DEFAULT 10,
    min_score real DEFAULT NULL,
    hybrid boolean DEFAULT false,
    rerank_model text DEFAULT NULL,
    budget_ms float8 DEFAULT NULL,
    fusion text DEFAULT 'rrf',
    lexical_weight float8 DEFAULT 0.5
) RETURNS TABLE(key text, content text, distance float8, first_stage_rank int, score real)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    r @extschema@.sources;
    started timestamptz := clock_timestamp();
    first_stage text;
    lexical text;
    bm25 regclass;
BEGIN
    IF query IS NULL OR source IS NULL THEN
        RETURN;  -- nothing to search for: no rows (documented)
    END IF;
    r := @extschema@.registration(source);
    IF btrim(query) = '' THEN
        RAISE EXCEPTION 'query must not be empty' USING ERRCODE = 'invalid_parameter_value';
    ELSIF k IS NULL OR n IS NULL OR k < 1 OR n < 1 THEN
        RAISE EXCEPTION 'k and n must be positive (got k = %, n = %)', k, n USING ERRCODE = 'invalid_parameter_value';
    ELSIF k > 1000 THEN
        RAISE EXCEPTION 'k = % is above the cap of 1000 candidates', k USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Reranking costs time per candidate; 50 to 200 is the usual range.';
    ELSIF n > k THEN
        RAISE EXCEPTION 'n (%) must not exceed k (%)', n, k USING ERRCODE = 'invalid_parameter_value';
    ELSIF fusion IS NULL OR fusion NOT IN ('rrf', 'convex') THEN
        RAISE EXCEPTION 'fusion must be ''rrf'' or ''convex'', got %', coalesce(quote_literal(fusion), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'rrf: reciprocal-rank fusion (k = 60); convex: a weighted sum of min-max normalised scores.';
    ELSIF lexical_weight IS NULL OR NOT (lexical_weight BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION 'lexical_weight must be between 0 and 1, got %', lexical_weight USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The lexical stage weighs lexical_weight, the dense stage 1 - lexical_weight.';
    ELSIF budget_ms < 0 OR budget_ms = 'Infinity' OR budget_ms = 'NaN' THEN
        RAISE EXCEPTION 'budget_ms must be a non-negative number of milliseconds, got %', budget_ms
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave budget_ms NULL to rerank every candidate.';
    END IF;
    first_stage := @extschema@.first_stage_sql(source);
    -- Lexical candidates: key, content, rel (documents, or each document's best chunk), at most k.
    -- With an embedrank_bm25 index on the text (or chunk content): BM25, an ordered index scan of
    -- the matching rows. Without: full text (ts_rank_cd of websearch_to_tsquery), a scan of the table.
    bm25 := @extschema@.lexical_index(CASE WHEN r.chunk_tokens IS NULL THEN source ELSE r.chunk_table END,
                                     CASE WHEN r.chunk_tokens IS NULL THEN r.text_column ELSE 'content' END);
    IF bm25 IS NOT NULL AND r.chunk_tokens IS NULL THEN
        lexical := format('SELECT %1$I::text AS key, %2$I AS content, @extschema@.bm25_score(%2$I, @extschema@.bm25_query(%4$L::regclass, $1)) AS rel'
                          ' FROM %3$s WHERE $5 AND %2$I OPERATOR(@extschema@.@@@) @extschema@.bm25_query(%4$L::regclass, $1)'
                          ' ORDER BY %2$I OPERATOR(@extschema@.<&>) @extschema@.bm25_query(%4$L::regclass, $1) LIMIT $2',
                          r.key_column, r.text_column, source, bm25::text);
    ELSIF bm25 IS NOT NULL THEN
        lexical := format('SELECT key::text AS key, content, rel FROM (SELECT c.key, c.content, c.rel,'
                          ' row_number() OVER (PARTITION BY c.key ORDER BY c.rel DESC, c.chunk) AS nth FROM ('
                          ' SELECT key, chunk, content, @extschema@.bm25_score(content, @extschema@.bm25_query(%2$L::regclass, $1)) AS rel'
                          ' FROM %1$s WHERE $5 AND content OPERATOR(@extschema@.@@@) @extschema@.bm25_query(%2$L::regclass, $1)'
                          ' ORDER BY content OPERATOR(@extschema@.<&>) @extschema@.bm25_query(%2$L::regclass, $1) LIMIT 4 * $2) c) b WHERE nth = 1',
                          r.chunk_table, bm25::text);
    ELSIF r.chunk_tokens IS NULL THEN
        lexical := format('SELECT %1$I::text AS key, %2$I AS content, ts_rank_cd(to_tsvector(''english'', %2$I), q) AS rel'
                          ' FROM %3$s, websearch_to_tsquery(''english'', $1) q WHERE $5 AND to_tsvector(''english'', %2$I) @@ q',
                          r.key_column, r.text_column, source);
    ELSE
        lexical := format('SELECT key::text AS key, content, rel FROM (SELECT c.key, c.content, ts_rank_cd(to_tsvector(''english'', c.content), q) AS rel,'
                          ' row_number() OVER (PARTITION BY c.key ORDER BY ts_rank_cd(to_tsvector(''english'', c.content), q) DESC, c.chunk) AS nth'
                          ' FROM %1$s c, websearch_to_tsquery(''english'', $1) q WHERE $5 AND to_tsvector(''english'', c.content) @@ q) b WHERE nth = 1',
                          r.chunk_table);
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH qv AS MATERIALIZED (SELECT @extschema@.embed($1, %4$L, 'query') AS v),
        dense AS (
            SELECT d.*, row_number() OVER (ORDER BY d.distance) AS rank,
                   -- min-max normalised similarity (1 = nearest), for convex fusion
                   coalesce((max(d.distance) OVER () - d.distance) / nullif(max(d.distance) OVER () - min(d.distance) OVER (), 0), 1) AS norm
            FROM (%6$s) d),
        lexical AS (
            SELECT l.key, l.content, NULL::float8 AS distance, row_number() OVER (ORDER BY l.rel DESC) AS rank,
                   coalesce((l.rel - min(l.rel) OVER ()) / nullif(max(l.rel) OVER () - min(l.rel) OVER (), 0), 1) AS norm FROM (
                SELECT * FROM (%7$s) x ORDER BY rel DESC LIMIT $2) l),
        fused AS (
            SELECT key, min(distance) AS distance,
                   sum(w * CASE WHEN $9 = 'convex' THEN norm ELSE 1.0 / (60 + rank) END) AS rrf
            FROM (SELECT key, distance, rank, norm, CASE WHEN $5 THEN 1 - $10 ELSE 1 END AS w FROM dense
                  UNION ALL SELECT key, distance, rank, norm, $10 AS w FROM lexical) u
            GROUP BY key ORDER BY rrf DESC, key LIMIT $2),
        keys AS (SELECT f.*, row_number() OVER (ORDER BY rrf DESC, key)::int AS pos FROM fused f),
        -- What the reranker reads: each key's text from each stage that found it -- one text, or for
        -- a chunked document the best chunk by distance and the best by full text when they differ.
        cands AS (
            SELECT t.*, row_number() OVER (ORDER BY t.pos, t.content)::int AS at FROM (
                SELECT DISTINCT k.key, u.content, k.distance, k.pos FROM keys k
                JOIN (SELECT key, content FROM dense UNION ALL SELECT key, content FROM lexical) u USING (key)) t),
        ranked AS (
            SELECT r.idx, r.score FROM @extschema@.rerank($1,
                (SELECT array_agg(content ORDER BY at) FROM cands), $6, NULL, $4,
                -- what the budget has left once the query is embedded and the candidates fetched
                -- (greatest() skips NULLs: no budget must stay NULL)
                CASE WHEN $7 IS NOT NULL THEN greatest(0, $7 - 1000 * extract(epoch FROM clock_timestamp() - $8)) END) r),
        best AS (
            SELECT DISTINCT ON (c.key) c.key, c.content, c.distance, c.pos, ranked.score
            FROM ranked JOIN cands c ON c.at = ranked.idx
            ORDER BY c.key, ranked.score DESC NULLS LAST, c.at)
        SELECT key, content, distance, pos, score FROM best ORDER BY score DESC NULLS LAST, pos LIMIT $3
    $q$, r.key_column, r.text_column, r.embedding_column, r.model, source, first_stage, lexical)
    USING query, k, n, min_score, hybrid, rerank_model, budget_ms, started, fusion, lexical_weight;
END $$;
