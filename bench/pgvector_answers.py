"""Record what a server answers to a list of SQL statements: the value of each one-value statement,
or its SQLSTATE and message — for parity tables against pgvector (the answers in
src/tests/halfvec.rs and src/tests/sparsevec.rs were recorded this way from pgvector 0.8.6 and from
this extension, side by side on one Postgres).

  .venv/bin/python bench/pgvector_answers.py CASES.txt OUT.json [--options "-c search_path=embedrank,public"]
  (connection from PGHOST/PGPORT/PGUSER/PGDATABASE; one statement per line in CASES.txt)
"""
import argparse
import json

import psycopg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases")
    ap.add_argument("out")
    ap.add_argument("--options", default="")
    args = ap.parse_args()
    out = []
    with psycopg.connect(autocommit=True, options=args.options, prepare_threshold=None) as c:
        for line in open(args.cases):
            sql = line.strip()
            if not sql:
                continue
            try:
                out.append((sql, "ok", c.execute(sql).fetchone()[0]))
            except psycopg.Error as e:
                out.append((sql, e.sqlstate, e.diag.message_primary))
    json.dump(out, open(args.out, "w"), indent=0)


if __name__ == "__main__":
    main()
