"""Static encoding throughput: semsift vs Python model2vec, same rows, same model, one run.

Takes N rows of real text (default 100,000 verses of ../shared/data/bible_parallel_en,
plus the 50,921 Alpaca outputs as a long-text set), and encodes them with the
bundled default model, first with Python model2vec (its default `encode`,
which multi-threads above 10k texts) and then with `semsift embed`. Each side
is timed end to end in its own process (read the JSONL, load the model,
encode, write a float32 .npy) and the encode step alone. Checks that both
produce the same vectors (mean cosine) and prints texts/s and the ratio.

Usage: scripts/bench-embed.sh [--rows N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"

PY_ENCODE = r"""
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from model2vec import StaticModel
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
model = StaticModel.from_pretrained(sys.argv[2])
t1 = time.perf_counter()
v = model.encode(texts)
t2 = time.perf_counter()
np.save(sys.argv[3], v.astype(np.float32))
t3 = time.perf_counter()
print(json.dumps({"encode_s": t2 - t1, "total_s": t3 - t0}))
"""


def take(path: Path, field: str, n: int) -> list[str]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)[field])
            if len(out) >= n:
                break
    return out


def run_set(name: str, texts: list[str], binary: Path, model: Path, tmp: Path) -> None:
    src = tmp / f"{name}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    py_out, rs_out = tmp / "py.npy", tmp / "rs.npy"

    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", PY_ENCODE, str(src), str(model), str(py_out)],
                         check=True, capture_output=True, text=True)
    py_wall = time.perf_counter() - t
    py = json.loads(res.stdout.strip().splitlines()[-1])

    t = time.perf_counter()
    res = subprocess.run([str(binary), "-v", "embed", str(src), "-o", str(rs_out)],
                         check=True, capture_output=True, text=True)
    rs_wall = time.perf_counter() - t
    m = re.search(r"embed_s=([0-9.e-]+)", res.stderr)
    rs_encode = float(m.group(1)) if m else float("nan")

    a, b = np.load(py_out).astype(np.float64), np.load(rs_out).astype(np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    cos = np.sum(a[ok] * b[ok], axis=1) / (na[ok] * nb[ok])
    n = len(texts)
    print(f"| {name} | {n:,} | model2vec {n / py['encode_s']:,.0f} | semsift {n / rs_encode:,.0f} "
          f"| {py['encode_s'] / rs_encode:.1f}x | model2vec {py_wall:.2f} s | semsift {rs_wall:.2f} s "
          f"| {py_wall / rs_wall:.1f}x | {cos.min():.6f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "semsift"))
    ap.add_argument("--model", default=str(ROOT / "models" / "minilm-l6-static-256"))
    args = ap.parse_args()
    sets = [
        ("bible verses", take(DATA / "bible_parallel_en" / "bible_en_20_translations.jsonl.gz", "text", args.rows)),
        ("alpaca outputs (long)", take(DATA / "alpaca_cleaned_partial" / "alpaca_cleaned_partial.jsonl.gz",
                                       "output", args.rows)),
    ]
    print("| texts | rows | encode texts/s | | encode ratio | end-to-end wall | | wall ratio | min cosine |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, texts in sets:
            run_set(name, texts, Path(args.binary), Path(args.model), Path(tmp))


if __name__ == "__main__":
    main()
