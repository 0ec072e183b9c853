"""Export real bge-small embeddings for the Postgres-free quantizer benchmark
(`cargo bench -p embedrank-core --bench quantize`, which reads them through QUANTIZE_SETS).

Writes, per set, `<out>/<set>.rows.f32` and `<out>/<set>.queries.f32`: little-endian float4, 384 per
vector, no header.
  wordnet: every WordNet gloss `scripts/demo.sh` embedded (table `glosses` of database embedrank_demo);
           the first 200 in md5(id) order are held out as queries (in-distribution queries, as ANN
           benchmarks draw theirs), the others are the rows.
  dl19:    the 5,000 DL19 passages `scripts/eval.sh` embedded (database embedrank_eval); the queries are
           the DL19 queries embedded as search queries (input_type => 'query') by the same model.
Connection from PGHOST / PGPORT / PGUSER (the demo server: PGHOST=.pgrun PGPORT=28815).
usage: python bench/export_embeddings.py OUT_DIR
"""
import os
import struct
import sys

import psycopg

SETS = {
    "wordnet": ("embedrank_demo",
                "SELECT embedding::text FROM glosses WHERE embedding IS NOT NULL ORDER BY md5(id) OFFSET 200",
                "SELECT embedding::text FROM glosses WHERE embedding IS NOT NULL ORDER BY md5(id) LIMIT 200"),
    "dl19": ("embedrank_eval",
             "SELECT embedding::text FROM dl19_passages WHERE embedding IS NOT NULL ORDER BY id",
             "SELECT embedrank.embed(body, 'bge-small-en-v1.5', input_type => 'query')::text FROM dl19_queries ORDER BY id"),
}


def write(path, rows):
    with open(path, "wb") as f:
        for (text,) in rows:
            values = [float(x) for x in text.strip("[]").split(",")]
            f.write(struct.pack(f"<{len(values)}f", *values))
    return len(rows)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, (db, rows_sql, queries_sql) in SETS.items():
        try:
            c = psycopg.connect(dbname=db, autocommit=True)
        except psycopg.Error as e:
            print(f"{name}: database {db} not reachable ({e.__class__.__name__}); run scripts/demo.sh / scripts/eval.sh first")
            continue
        with c:
            n = write(f"{out}/{name}.rows.f32", c.execute(rows_sql).fetchall())
            q = write(f"{out}/{name}.queries.f32", c.execute(queries_sql).fetchall())
        print(f"{name}: {n} rows, {q} queries -> {out}/{name}.rows.f32, {out}/{name}.queries.f32")


if __name__ == "__main__":
    main()
