"""STS-B test-split Spearman correlation for semsift encoders.

Embeds both sides of every pair in ../shared/data/stsb/sts-test.csv with
`semsift embed`, scores each pair by cosine similarity, and prints the
Spearman rank correlation (x100) with the human scores for:

* the bundled default model (all-MiniLM-L6-v2 distilled to 256-d static);
* the all-MiniLM-L6-v2 transformer itself (candle, CPU);
* a plain mean of all-MiniLM-L6-v2's input word embeddings (the 384-d
  `embeddings.word_embeddings.weight` table used as a static model, no PCA and
  no SIF weighting), for context.

Usage: scripts/eval-stsb.sh  (builds semsift, fetches MiniLM, makes the venv)
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent


def load_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    a, b, s = [], [], []
    with open(path, encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            s.append(float(row[4]))
            a.append(row[5])
            b.append(row[6])
    return a, b, np.array(s)


def word_embedding_model(minilm: Path, out: Path) -> Path:
    tensors = load_file(str(minilm / "model.safetensors"))
    table = tensors["embeddings.word_embeddings.weight"].astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    save_file({"embeddings": table}, str(out / "model.safetensors"))
    (out / "tokenizer.json").write_bytes((minilm / "tokenizer.json").read_bytes())
    (out / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": True}))
    return out


def embed(binary: Path, texts_file: Path, out: Path, model: Path | None) -> tuple[np.ndarray, float]:
    cmd = [str(binary), "--quiet", "embed", str(texts_file), "-o", str(out)]
    if model is not None:
        cmd += ["--model", str(model)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return np.load(out), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "semsift"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "stsb" / "sts-test.csv"))
    ap.add_argument("--minilm", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    args = ap.parse_args()

    a, b, scores = load_pairs(Path(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        texts = tmp / "texts.jsonl"
        with open(texts, "w", encoding="utf-8") as f:
            for t in a + b:
                f.write(json.dumps({"text": t}) + "\n")
        models = [
            ("default (bundled static, 256-d)", None),
            ("all-MiniLM-L6-v2 transformer", Path(args.minilm)),
            ("mean of MiniLM input embeddings", word_embedding_model(Path(args.minilm), tmp / "wordemb")),
        ]
        print(f"STS-B test: {len(scores)} pairs, Spearman x100 of cosine vs gold score")
        print(f"| encoder | Spearman | embed time ({2 * len(scores)} texts) |")
        print("|---|---|---|")
        for name, model in models:
            v, secs = embed(Path(args.binary), texts, tmp / "v.npy", model)
            n = len(scores)
            cos = np.sum(v[:n] * v[n:], axis=1) / (
                np.linalg.norm(v[:n], axis=1) * np.linalg.norm(v[n:], axis=1) + 1e-12
            )
            rho = spearmanr(cos, scores).statistic * 100
            print(f"| {name} | {rho:.2f} | {secs:.2f} s |")


if __name__ == "__main__":
    main()
