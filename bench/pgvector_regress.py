#!/usr/bin/env python3
"""pgvector's own regression SQL (test/sql/*.sql of a pgvector source tree, 0.8.6 measured) against
extension `vector` (database ref) and pg_embedrank (database ours) on one server, statement by
statement, side by side; writes per-statement diffs and report.json next to OUT.

Only names change on our side (SUBS below: access method, settings); ivfflat files and
hnsw.scan_mem_multiplier statements are not applicable (SKIPS). Both extensions must be installed in
the server's tree (pgvector built by hand from a fetched source tree: a measuring aid, not part of
the project; the project's scripts never need it).

usage: PGHOST=… PGPORT=… python3 bench/pgvector_regress.py PGVECTOR_SRC/test/sql [OUT_DIR]
       (e.g. scripts/server.sh start pgvregress 28832; PGHOST=$PWD/.pgrun PGPORT=28832)
"""
import os, re, subprocess, sys, json, shutil

if len(sys.argv) < 2 or not os.path.isdir(sys.argv[1]):
    sys.exit(__doc__)
SRC = sys.argv[1]
HERE = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".cache/pgvector-regress")
os.makedirs(HERE, exist_ok=True)
SOCK, PORT = os.environ.get("PGHOST", ""), os.environ.get("PGPORT", "5432")
PSQL = ["psql", "-X", "-h", SOCK, "-p", PORT, "-U", "postgres"]
MARK = "@@STMT"

# ours-only substitutions: (regex, replacement, note). Applied in order, on a single statement.
SUBS = [
    (r"\bCREATE EXTENSION IF NOT EXISTS vector\b", "CREATE EXTENSION IF NOT EXISTS pg_embedrank", "extension name"),
    (r"\bCREATE EXTENSION vector\b", "CREATE EXTENSION pg_embedrank", "extension name"),
    (r"\bUSING hnsw\b", "USING embedrank_hnsw", "access method name"),
    (r"\bhnsw\.ef_search\b", "embedrank.hnsw_ef_search", "GUC name"),
    (r"\bhnsw\.max_scan_tuples\b", "embedrank.hnsw_max_scan_tuples", "GUC name"),
    (r"\bhnsw\.iterative_scan\b", "embedrank.hnsw_iterative_scan", "GUC name (same modes)"),
]
# ours-only skips (statement regex, reason)
SKIPS = [
    (r"\bhnsw\.scan_mem_multiplier\b", "N/A: no equivalent GUC of hnsw.scan_mem_multiplier"),
    (r"\bivfflat\b", "N/A: no ivfflat access method"),
]
SKIP_FILES = {"ivfflat_bit.sql", "ivfflat_halfvec.sql", "ivfflat_vector.sql"}


def statements(path):
    out = []
    for ln in open(path):
        s = ln.rstrip("\n")
        if not s.strip() or s.lstrip().startswith("--"):
            continue
        out.append(s)  # every statement in these files is one line (checked)
    return out


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def recreate(db, ext, extra=()):
    sh(PSQL + ["-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {db}"])
    r = sh(PSQL + ["-d", "postgres", "-c", f"CREATE DATABASE {db}"])
    assert r.returncode == 0, r.stderr
    r = sh(PSQL + ["-d", db, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE EXTENSION {ext}"] +
           sum([["-c", e] for e in extra], []))
    assert r.returncode == 0, r.stderr


def build_script(stmts, ours):
    lines = ["\\set VERBOSITY verbose", "\\set SHOW_CONTEXT never"]
    subs_log, skips_log = [], []
    for i, s in enumerate(stmts):
        lines.append(f"\\echo {MARK} {i}")
        t = s
        if ours:
            skip = next((why for rx, why in SKIPS if re.search(rx, s)), None)
            if skip:
                lines.append(f"\\echo SKIPPED ({skip})")
                skips_log.append((i, s, skip))
                continue
            for rx, rep, note in SUBS:
                t2 = re.sub(rx, rep, t)
                if t2 != t:
                    subs_log.append((i, t, t2, note))
                    t = t2
        lines.append(t)
    lines.append(f"\\echo {MARK} END")
    return "\n".join(lines) + "\n", subs_log, skips_log


def run_merged(db, script_path, cwd):
    os.makedirs(os.path.join(cwd, "results"), exist_ok=True)
    cmd = " ".join(PSQL) + f" -d {db} -v ON_ERROR_STOP=0 -f {script_path} 2>&1"
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, PGTZ="PST8PDT", PGDATESTYLE="Postgres, MDY", LC_MESSAGES="C"))
    return r.stdout


def split(out, script_name):
    blocks, cur, key = {}, [], None
    for ln in out.splitlines():
        m = re.match(rf"^{MARK} (\S+)$", ln)
        if m:
            if key is not None:
                blocks[key] = cur
            key, cur = m.group(1), []
            continue
        # strip psql's "psql:file:LINE: " prefix from error lines (line numbers differ per script)
        ln = re.sub(r"^psql:[^:]+:\d+: ", "", ln)
        cur.append(ln)
    if key is not None:
        blocks[key] = cur
    return blocks


def norm(lines):
    out = []
    for ln in lines:
        if re.match(r"^LOCATION:\s", ln):  # C file/line of the error; necessarily differs
            continue
        ln = ln.replace("embedrank_hnsw", "hnsw")
        ln = re.sub(r"\bembedrank\.(vector|halfvec|sparsevec)\b", r"\1", ln)
        ln = ln.replace("pg_embedrank", "vector")
        ln = ln.replace("embedrank.hnsw_ef_search", "hnsw.ef_search")
        ln = ln.replace("embedrank.hnsw_max_scan_tuples", "hnsw.max_scan_tuples")
        ln = ln.replace("embedrank.hnsw_iterative_scan", "hnsw.iterative_scan")
        out.append(ln)
    return out


def main():
    os.chdir(HERE)
    for d in ["scripts", "out", "diffs", "run"]:
        os.makedirs(d, exist_ok=True)
    report = {"files": {}, "subs": [], "skips": []}
    for f in sorted(os.listdir(SRC)):
        if not f.endswith(".sql"):
            continue
        stmts = statements(os.path.join(SRC, f))
        base = f[:-4]
        if f in SKIP_FILES:
            report["files"][f] = {"n": len(stmts), "na": True}
            continue
        recreate("ref", "vector")
        recreate("ours", "pg_embedrank")
        sh(PSQL + ["-d", "postgres", "-c", "ALTER DATABASE ours SET search_path = public, embedrank"])
        res = {}
        for side, ours in (("ref", False), ("ours", True)):
            text, subs, skips = build_script(stmts, ours)
            sp = os.path.abspath(f"scripts/{base}.{side}.sql")
            open(sp, "w").write(text)
            if ours:
                report["subs"] += [(f, i, a, b, n) for i, a, b, n in subs]
                report["skips"] += [(f, i, s, w) for i, s, w in skips]
            cwd = os.path.abspath(f"run/{side}")
            os.makedirs(cwd, exist_ok=True)
            out = run_merged(side, sp, cwd)
            open(f"out/{base}.{side}.out", "w").write(out)
            res[side] = split(out, sp)
        diffs, same, skipped = [], 0, 0
        for i, s in enumerate(stmts):
            a = norm(res["ref"].get(str(i), ["<missing>"]))
            b = norm(res["ours"].get(str(i), ["<missing>"]))
            if b and b[0].startswith("SKIPPED"):
                skipped += 1
                diffs.append({"i": i, "stmt": s, "ref": a, "ours": b, "skipped": True})
                continue
            if a == b:
                same += 1
            else:
                diffs.append({"i": i, "stmt": s, "ref": a, "ours": b})
        report["files"][f] = {"n": len(stmts), "same": same, "skipped": skipped, "diff": len([d for d in diffs if not d.get("skipped")])}
        with open(f"diffs/{base}.diff.txt", "w") as fh:
            for d in diffs:
                fh.write(f"### [{d['i']}] {d['stmt']}{'   (SKIPPED on ours)' if d.get('skipped') else ''}\n")
                fh.write("--- pgvector\n" + "\n".join(d["ref"]) + "\n+++ pg_embedrank\n" + "\n".join(d["ours"]) + "\n\n")
        json.dump(diffs, open(f"diffs/{base}.diff.json", "w"), indent=1)
    json.dump(report, open("report.json", "w"), indent=1)
    tot = sum(v["n"] for v in report["files"].values())
    cmp_ = sum(v["n"] - v.get("skipped", 0) for v in report["files"].values() if not v.get("na"))
    same = sum(v.get("same", 0) for v in report["files"].values())
    print(f"total statements {tot}; compared {cmp_}; identical {same}")
    for f, v in report["files"].items():
        print(f, v)


if __name__ == "__main__":
    main()
