#!/usr/bin/env python3
"""Print Debian wordnet-base synsets as TSV for COPY: id, pos, lemmas, gloss.

Reads /usr/share/wordnet/data.{noun,verb,adj,adv}. Each data line is
`offset lex_filenum ss_type w_cnt word lex_id ... | gloss`; w_cnt is hexadecimal. The id is
`<pos><offset>` (unique across files), lemmas are the synset's words with '_' as spaces.
usage: wordnet_tsv.py [LIMIT]
"""
import sys

FILES = [("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")]


def clean(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").strip()


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else None
    n = 0
    for pos, name in FILES:
        with open(f"/usr/share/wordnet/data.{name}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue  # license header
                head, gloss = line.split("|", 1)
                parts = head.split()
                count = int(parts[3], 16)
                words = [parts[4 + 2 * i].replace("_", " ") for i in range(count)]
                sys.stdout.write(f"{pos}{parts[0]}\t{pos}\t{clean(', '.join(words))}\t{clean(gloss)}\n")
                n += 1
                if limit and n >= limit:
                    return


if __name__ == "__main__":
    main()
