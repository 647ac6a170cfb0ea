"""Seeded synthetic dedup corpus: ROWS rows of JSONL {"id", "text"} for scale runs.

Words are the whole-word entries of the bundled model's vocabulary
(models/minilm-l6-static-256/tokenizer.json: lowercase ASCII, 3+ letters), so every word
is one token. Each row is, with the seed fixed:
  - 75 %: a new sentence of 8-24 words;
  - 10 %: an exact copy of a recent row (among the last 100,000);
  - 15 %: a near copy of a recent row: one or two words replaced, dropped or swapped,
          or the case changed.
Usage: python3 scripts/make-synthetic.py ROWS OUT.jsonl [SEED]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

WINDOW = 100_000


def vocabulary() -> list[str]:
    tok = json.loads((Path(__file__).resolve().parent.parent / "models/minilm-l6-static-256/tokenizer.json").read_text())
    return sorted(w for w in tok["model"]["vocab"] if len(w) >= 3 and w.isascii() and w.isalpha() and w.islower())


def main() -> None:
    rows = int(sys.argv[1].replace("_", ""))
    out = Path(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    words = vocabulary()
    recent: list[list[str]] = []
    tmp = out.with_name(out.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as f:
        buf = []
        for i in range(rows):
            r = rng.random()
            if recent and r < 0.10:
                w = list(rng.choice(recent))
            elif recent and r < 0.25:
                w = list(rng.choice(recent))
                for _ in range(rng.randint(1, 2)):
                    op = rng.randrange(4)
                    at = rng.randrange(len(w))
                    if op == 0:
                        w[at] = rng.choice(words)
                    elif op == 1 and len(w) > 4:
                        del w[at]
                    elif op == 2:
                        j = rng.randrange(len(w))
                        w[at], w[j] = w[j], w[at]
                    else:
                        w[at] = w[at].capitalize()
            else:
                w = rng.choices(words, k=rng.randint(8, 24))
            if len(recent) < WINDOW:
                recent.append(w)
            else:
                recent[rng.randrange(WINDOW)] = w
            buf.append(json.dumps({"id": i, "text": " ".join(w)}))
            if len(buf) == 100_000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")
    tmp.rename(out)
    print(f"{rows:,} rows -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
