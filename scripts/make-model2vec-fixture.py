"""Reference vectors from Python model2vec for semsift's static-encoder parity test.

Loads the bundled default model (models/minilm-l6-static-256, made by
`semsift distill`) with the real `model2vec` package and encodes real text from
../shared/data plus edge cases. Also writes two small variant models that
exercise the other parts of the format semsift must read:

* tiny-i8:     int8 embeddings, 16 dims (model2vec's own int8 quantisation);
* tiny-mapped: float32 table of 256 rows + int32 `mapping` + float64 `weights`
               (vocabulary quantisation, built here with NumPy instead of
               sklearn's KMeans, which only chooses the table).

Outputs (tests/fixtures/model2vec/): texts.jsonl, default.npy, tiny-i8.npy,
tiny-mapped.npy and the two model folders. Vectors are float32 .npy, one row
per line of texts.jsonl.

Usage: PY=$(bash scripts/pyenv.sh); $PY scripts/make-model2vec-fixture.py
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
from pathlib import Path

import numpy as np
from model2vec import StaticModel

ROOT = Path(__file__).resolve().parent.parent


def real_texts(data: Path) -> list[str]:
    texts: list[str] = []
    with open(data / "stsb" / "sts-test.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows[::9][:150]:
        texts.append(row[5])
    with gzip.open(data / "alpaca_cleaned_partial" / "alpaca_cleaned_partial.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i % 997 == 0:
                rec = json.loads(line)
                texts.append(rec["instruction"])
                texts.append(rec["output"])
            if len(texts) >= 250:
                break
    return texts


def edge_texts(long_source: str) -> list[str]:
    return [
        "",
        "   ",
        "☃☃☃",
        "[UNK] [CLS] [SEP]",
        "Café Zürich — naïve résumé, 東京タワー ☃ 🙂",
        "supercalifragilisticexpialidocious" * 8,
        "tab\tseparated\nand newline",
        "UPPER lower MiXeD",
        # > 512 tokens: exercises the character pre-cut and the token cap.
        (long_source + " ") * 60,
    ]


def save_npy(path: Path, vectors: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(vectors, dtype=np.float32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "minilm-l6-static-256"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "model2vec"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    texts = real_texts(Path(args.data))
    texts += edge_texts(texts[0])
    with open(out / "texts.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")

    model = StaticModel.from_pretrained(args.model)
    save_npy(out / "default.npy", model.encode(texts))

    tiny = StaticModel.from_pretrained(args.model, quantize_to="int8", dimensionality=16)
    assert tiny.embedding.dtype == np.int8
    tiny.save_pretrained(out / "tiny-i8")
    reloaded = StaticModel.from_pretrained(out / "tiny-i8")
    save_npy(out / "tiny-i8.npy", reloaded.encode(texts))

    base = model.embedding.astype(np.float32)[:, :16]
    rng = np.random.default_rng(0)
    centres = base[rng.choice(len(base), size=256, replace=False)]
    norms = np.linalg.norm(base, axis=1) + 1e-32
    unit = base / norms[:, None]
    cunit = centres / (np.linalg.norm(centres, axis=1, keepdims=True) + 1e-32)
    mapping = np.argmax(unit @ cunit.T, axis=1).astype(np.int32)
    mapped = StaticModel(
        vectors=cunit.astype(np.float32),
        tokenizer=model.tokenizer,
        config={"normalize": True},
        weights=norms.astype(np.float64),
        token_mapping=mapping,
        normalize=True,
    )
    mapped.save_pretrained(out / "tiny-mapped")
    reloaded = StaticModel.from_pretrained(out / "tiny-mapped")
    assert reloaded.token_mapping is not None and reloaded.weights is not None
    save_npy(out / "tiny-mapped.npy", reloaded.encode(texts))
    print(f"wrote {len(texts)} texts and 3 reference matrices to {out}")


if __name__ == "__main__":
    main()
