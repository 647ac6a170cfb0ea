#!/usr/bin/env python3
"""Generate the reference fixture for semsift's all-MiniLM-L6-v2 embedder.

What it does
------------
Runs an independent float64 NumPy forward pass of the sentence-transformers
model all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) on a fixed set of real
sentences and writes the resulting sentence embeddings to
``tests/fixtures/minilm_reference.json``.  The Rust implementation (candle
``BertModel`` + mean pooling + L2 normalisation) is tested against these
vectors (cosine >= 0.999).

Pipeline, mirroring sentence-transformers exactly:

1. Tokenise with the model's own ``tokenizer.json`` (HF ``tokenizers``), with
   padding disabled, truncation to ``max_seq_length`` = 256 tokens, and the
   special tokens added: ``[CLS] ... [SEP]``.  token_type_ids are all 0.
2. HF BERT in float64: word + position + token-type embeddings, LayerNorm;
   then per layer: multi-head scaled-dot-product self-attention (12 heads,
   softmax), output dense + residual + LayerNorm, intermediate dense with the
   exact erf GELU, output dense + residual + LayerNorm.
3. Mean pooling over all tokens (each text is processed alone, so the
   attention mask is all ones and no padding is involved).
4. L2 normalisation: v / max(||v||, 1e-12).

Why it is an independent reference
----------------------------------
It shares nothing with the Rust code path except the weight file and the
tokenizer definition: no candle, no torch, no transformers.  Every operation
is written out by hand in NumPy and computed in float64, so numerical noise
is far below the float32 error of the implementation under test.  A built-in
sanity check compares "This is an example sentence" against the values
published on the model card.

Texts: 24 STS-B test sentence1s (every 57th row), 4 MRPC test sentence1s,
2 long 20 Newsgroups posts (> 256 tokens, so truncation is exercised), one
text with accents / CJK / symbols, and a single word.  The texts are stored
in the fixture, so it is self-contained.

Usage (from the repo root):
    PY=$(bash scripts/pyenv.sh)
    $PY scripts/make-bert-fixture.py [--model models/all-MiniLM-L6-v2] \
        [--data ../shared/data] [--out tests/fixtures/minilm_reference.json]
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Published on the all-MiniLM-L6-v2 model card / widely reproduced.
SANITY_TEXT = "This is an example sentence"
SANITY_PREFIX = [0.06766, 0.0635, 0.04871, 0.0793, 0.03745]


def rel(path):
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


class NumpyBert:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        with open(os.path.join(model_dir, "sentence_bert_config.json")) as f:
            self.max_seq_length = json.load(f)["max_seq_length"]
        with open(os.path.join(model_dir, "1_Pooling", "config.json")) as f:
            pool = json.load(f)
        assert pool["pooling_mode_mean_tokens"] and not (
            pool["pooling_mode_cls_token"] or pool["pooling_mode_max_tokens"]
        ), "expected mean pooling"
        assert cfg["hidden_act"] == "gelu"
        assert cfg.get("position_embedding_type", "absolute") == "absolute"
        self.model_dir = model_dir
        self.eps = float(cfg["layer_norm_eps"])
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.hidden = cfg["hidden_size"]
        self.head_dim = self.hidden // self.n_heads

        raw = load_file(os.path.join(model_dir, "model.safetensors"))
        # Strip an optional "bert." prefix so either layout loads.
        self.w = {
            (k[5:] if k.startswith("bert.") else k): v.astype(np.float64)
            for k, v in raw.items()
        }

        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(self.max_seq_length)

    def layer_norm(self, x, prefix):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        y = (x - mu) / np.sqrt(var + self.eps)
        return y * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def dense(self, x, prefix):
        # PyTorch Linear: y = x W^T + b, W is [out, in]
        return x @ self.w[prefix + ".weight"].T + self.w[prefix + ".bias"]

    @staticmethod
    def gelu(x):
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))

    def encode_ids(self, text):
        enc = self.tok.encode(text, add_special_tokens=True)
        return np.array(enc.ids, dtype=np.int64), np.array(enc.type_ids, dtype=np.int64)

    def forward(self, ids, type_ids):
        n = len(ids)
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(n)]
            + w["embeddings.token_type_embeddings.weight"][type_ids]
        )
        x = self.layer_norm(x, "embeddings.LayerNorm")
        H, D = self.n_heads, self.head_dim
        scale = 1.0 / np.sqrt(D)
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}"
            q = self.dense(x, p + ".attention.self.query").reshape(n, H, D).transpose(1, 0, 2)
            k = self.dense(x, p + ".attention.self.key").reshape(n, H, D).transpose(1, 0, 2)
            v = self.dense(x, p + ".attention.self.value").reshape(n, H, D).transpose(1, 0, 2)
            s = (q @ k.transpose(0, 2, 1)) * scale  # [H, n, n]
            s = s - s.max(-1, keepdims=True)
            a = np.exp(s)
            a = a / a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(1, 0, 2).reshape(n, H * D)
            attn = self.dense(ctx, p + ".attention.output.dense")
            x = self.layer_norm(attn + x, p + ".attention.output.LayerNorm")
            inter = self.gelu(self.dense(x, p + ".intermediate.dense"))
            out = self.dense(inter, p + ".output.dense")
            x = self.layer_norm(out + x, p + ".output.LayerNorm")
        return x

    def embed(self, text):
        ids, type_ids = self.encode_ids(text)
        h = self.forward(ids, type_ids)
        v = h.mean(0)  # attention mask is all ones
        v = v / max(np.linalg.norm(v), 1e-12)
        return v, len(ids)


def sts_sentences(data_dir, count=24, step=57):
    path = os.path.join(data_dir, "stsb", "sts-test.csv")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 7:
                rows.append(cols[5])
    out = [rows[i] for i in range(0, len(rows), step)][:count]
    assert len(out) == count, f"only {len(out)} STS-B sentences"
    return out


def mrpc_sentences(data_dir, count=4, step=101):
    path = os.path.join(data_dir, "mrpc", "mrpc_test.tsv")
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("sentence1")
        rows = [line.rstrip("\n").split("\t")[col] for line in f if line.strip()]
    out = [rows[i] for i in range(0, len(rows), step)][:count]
    assert len(out) == count
    return out


def long_texts(data_dir, model, count=2, min_chars=1500, max_chars=2500):
    """First `count` test-split posts of moderate length (kept small so the
    fixture stays small) that tokenise to more than 256 tokens untruncated."""
    path = os.path.join(data_dir, "20newsgroups", "20news_bydate.jsonl.gz")
    full = Tokenizer.from_file(os.path.join(model.model_dir, "tokenizer.json"))
    full.no_padding()
    full.no_truncation()
    out = []
    seen_labels = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("split") != "test" or rec.get("label") in seen_labels:
                continue
            text = rec["text"]
            if not (min_chars <= len(text) <= max_chars):
                continue
            if len(full.encode(text).ids) <= model.max_seq_length + 20:
                continue
            out.append(text)
            seen_labels.add(rec.get("label"))
            if len(out) == count:
                break
    assert len(out) == count
    return out


def sig7(x):
    return float(f"{x:.7g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/all-MiniLM-L6-v2")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="tests/fixtures/minilm_reference.json")
    args = ap.parse_args()
    model_dir, data_dir, out_path = rel(args.model), rel(args.data), rel(args.out)

    t0 = time.time()
    model = NumpyBert(model_dir)

    v, n = model.embed(SANITY_TEXT)
    got = [round(float(x), 5) for x in v[:5]]
    diff = max(abs(a - b) for a, b in zip(v[:5], SANITY_PREFIX))
    ok = diff < 5e-4
    print(f"sanity: {SANITY_TEXT!r} n_tokens={n} first5={got}")
    print(f"        expected ~{SANITY_PREFIX}  max|diff|={diff:.2e}  {'OK' if ok else 'MISMATCH'}")
    if not ok:
        sys.exit("sanity check failed")

    texts = (
        sts_sentences(data_dir)
        + mrpc_sentences(data_dir)
        + long_texts(data_dir, model)
        + ["Café Zürich — naïve résumé, 東京 ☃", "semantics"]
    )
    items = []
    for text in texts:
        v, n = model.embed(text)
        items.append({"text": text, "n_tokens": n, "vector": [sig7(x) for x in v]})

    doc = {
        "model": "all-MiniLM-L6-v2",
        "generator": "scripts/make-bert-fixture.py (float64 NumPy BERT)",
        "dim": model.hidden,
        "items": items,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    long_n = [it["n_tokens"] for it in items if it["n_tokens"] >= model.max_seq_length]
    print(f"wrote {out_path}: {len(items)} items, {os.path.getsize(out_path)} bytes; "
          f"truncated items n_tokens={long_n}; {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
