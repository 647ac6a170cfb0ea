"""Makes tests/data/dbpedia_topics.jsonl: a small topic-labelled corpus for the report tests.

30 rows from each of the 14 DBpedia-14 classes in ../shared/data/dbpedia14_subset (the
first 30 of each class in file order), each cut to its first 200 characters at a word
boundary. DBpedia text is CC BY-SA 3.0 / GFDL; see tests/data/README.md.

Usage: python3 scripts/make-topic-fixture.py [../shared/data]
"""

import csv
import gzip
import json
import pathlib
import sys

PER_CLASS = 30
MAX_CHARS = 200


def main() -> None:
    data = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    folder = data / "dbpedia14_subset"
    classes = (folder / "classes.txt").read_text().split()
    taken = {c: 0 for c in range(len(classes))}
    out = pathlib.Path(__file__).resolve().parent.parent / "tests/data/dbpedia_topics.jsonl"
    with gzip.open(folder / "dbpedia14_subset_14k.csv.gz", "rt", encoding="utf-8") as f, out.open(
        "w", encoding="utf-8"
    ) as w:
        for label, text in csv.reader(f):
            c = int(label)
            if taken[c] >= PER_CLASS:
                continue
            taken[c] += 1
            text = " ".join(text.split())
            if len(text) > MAX_CHARS:
                text = text[:MAX_CHARS].rsplit(" ", 1)[0]
            w.write(json.dumps({"label": classes[c], "text": text}, ensure_ascii=False) + "\n")
    print(f"wrote {sum(taken.values())} rows to {out}")


if __name__ == "__main__":
    main()
