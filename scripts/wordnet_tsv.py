#!/usr/bin/env python3
"""Print Debian wordnet-base synsets as TSV for COPY: id, pos, lemmas, gloss.

Reads /usr/share/wordnet/data.{noun,verb,adj,adv}. Each data line is
`offset lex_filenum ss_type w_cnt word lex_id ... | gloss`; w_cnt is hexadecimal. The id is
`<pos><offset>` (unique across files), lemmas are the synset's words with '_' as spaces.
With --common-first, synsets are ordered by how common they are (see `commonness`) instead of file
order, so that a LIMIT keeps everyday senses of all parts of speech (the demo uses this).
usage: wordnet_tsv.py [--common-first] [LIMIT]
"""
import sys

FILES = [("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")]


def clean(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").strip()


def commonness() -> dict:
    """Sort key per synset id from index.<pos>: (0 if some lemma has it among its sense-tagged (SemCor)
    senses else 1, its best sense rank over all lemmas). Lower is more common."""
    key = {}
    for pos, name in FILES:
        with open(f"/usr/share/wordnet/index.{name}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                p = line.split()
                rest = p[4 + int(p[3]):]
                tagged, offsets = int(rest[1]), rest[2:]
                for rank, off in enumerate(offsets):
                    k = (0 if rank < tagged else 1, rank)
                    sid = pos + off
                    if k < key.get(sid, (2, 0)):
                        key[sid] = k
    return key


def synsets():
    for pos, name in FILES:
        with open(f"/usr/share/wordnet/data.{name}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue  # license header
                head, gloss = line.split("|", 1)
                parts = head.split()
                count = int(parts[3], 16)
                words = [parts[4 + 2 * i].replace("_", " ") for i in range(count)]
                yield f"{pos}{parts[0]}", pos, clean(", ".join(words)), clean(gloss)


def main() -> None:
    args = sys.argv[1:]
    common_first = "--common-first" in args
    args = [a for a in args if a != "--common-first"]
    limit = int(args[0]) if args else None
    rows = synsets()
    if common_first:
        key = commonness()
        rows = [r for _, r in sorted(enumerate(rows), key=lambda ir: (key.get(ir[1][0], (2, 0)), ir[0]))]
    for n, (sid, pos, lemmas, gloss) in enumerate(rows, 1):
        sys.stdout.write(f"{sid}\t{pos}\t{lemmas}\t{gloss}\n")
        if limit and n >= limit:
            return


if __name__ == "__main__":
    main()
