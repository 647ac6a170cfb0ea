"""Clustering quality of `semsift report` on labelled corpora (helper for eval-clusters.sh).

For each dataset: convert it to JSONL ({"label", "text"} per row), cluster it with
`semsift report -k K --seed S --store DIR` (K = number of labels) for each model and seed,
and score the clusters in OUT/clusters.jsonl against the labels with NMI (sklearn
normalized_mutual_info_score, arithmetic mean) and ARI (adjusted_rand_score).

Reference column: sklearn's KMeans(n_clusters=K, n_init=1, random_state=S) on the very
vectors `semsift report` clustered, so the table shows whether semsift's k-means loses
anything against sklearn's. Those vectors are read from the report's vector store (one
`.svec` file per dataset and model: a 4096-byte header, then one f32 row per unique text,
in first-occurrence order; see src/store/mod.rs) instead of being computed a second time
with `semsift embed`, which halves the run time with the MiniLM transformer. For the
default model the script also runs `semsift embed` and checks that the store rows, mapped
back to input rows, equal its output: a check that the mapping is right.

Datasets (in ../shared/data, see each folder's SOURCE.md):
  ag_news       ag_news/test.csv: 7,600 rows, 4 labels; text = title + ". " + description
  dbpedia14     dbpedia14_subset/dbpedia14_subset_14k.csv.gz: 14,000 rows, 14 labels
  banking77     banking77/train.csv + test.csv: 13,083 rows, 77 labels
  20newsgroups  20newsgroups/20news_bydate.jsonl.gz: train + test, 18,846 rows, 20 labels;
                headers, signature blocks and quoted lines removed exactly as sklearn's
                fetch_20newsgroups(remove=("headers", "footers", "quotes")) does

Rows whose text is empty or white space (20 Newsgroups posts that were nothing but
headers, quotes and signature) get no cluster from `semsift report` ("cluster": null);
they are left out of every score (semsift's and sklearn's alike) and counted in the
table's rows column.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATASETS = ("ag_news", "dbpedia14", "banking77", "20newsgroups")


class Failed(Exception):
    """A step failed; the message says which and why."""


def log(msg: str) -> None:
    print(f"eval-clusters: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- datasets


def open_text(path: Path):
    if not path.is_file():
        raise Failed(f"{path}: no such file (see the folder's SOURCE.md)")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def rows_ag_news(data: Path):
    with open_text(data / "ag_news" / "test.csv") as f:
        for label, title, desc in csv.reader(f):
            yield label, f"{title}. {desc}"


def rows_dbpedia14(data: Path):
    with open_text(data / "dbpedia14_subset" / "dbpedia14_subset_14k.csv.gz") as f:
        for label, text in csv.reader(f):
            yield label, text


def rows_banking77(data: Path):
    for split in ("train", "test"):
        with open_text(data / "banking77" / f"{split}.csv") as f:
            for rec in csv.DictReader(f):
                yield rec["category"], rec["text"]


# The three functions below are sklearn.datasets._twenty_newsgroups' strip_newsgroup_header,
# strip_newsgroup_footer and strip_newsgroup_quoting (scikit-learn 1.9.1), applied in the
# same order as fetch_20newsgroups(remove=("headers", "footers", "quotes")).
_QUOTE_RE = re.compile(r"(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\||^>)")


def strip_header(text: str) -> str:
    _before, _blank, after = text.partition("\n\n")
    return after


def strip_footer(text: str) -> str:
    lines = text.strip().split("\n")
    for line_num in range(len(lines) - 1, -1, -1):
        if lines[line_num].strip().strip("-") == "":
            break
    return "\n".join(lines[:line_num]) if line_num > 0 else text


def strip_quoting(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _QUOTE_RE.search(line))


def rows_20newsgroups(data: Path):
    with open_text(data / "20newsgroups" / "20news_bydate.jsonl.gz") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                yield rec["label"], strip_quoting(strip_footer(strip_header(rec["text"])))


READERS = {
    "ag_news": rows_ag_news,
    "dbpedia14": rows_dbpedia14,
    "banking77": rows_banking77,
    "20newsgroups": rows_20newsgroups,
}


def prepare(name: str, data: Path, out: Path) -> tuple[list[str], list[int], int]:
    """Writes the dataset as JSONL to `out`. Returns the label of each row, the unique-text
    index of each row (texts numbered in first-occurrence order, as semsift groups exact
    copies) and the number of labels."""
    labels, unique = [], []
    first: dict[str, int] = {}
    with open(out, "w", encoding="utf-8") as w:
        for label, text in READERS[name](data):
            labels.append(str(label))
            unique.append(first.setdefault(text, len(first)))
            w.write(json.dumps({"label": str(label), "text": text}, ensure_ascii=False) + "\n")
    if not labels:
        raise Failed(f"{name}: no rows read")
    return labels, unique, len(set(labels))


# ---------------------------------------------------------------- runs


def run(cmd: list[str]) -> float:
    """Runs `cmd`; returns its wall time. Raises Failed with the command and its output."""
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        status = f"killed by signal {-p.returncode}" if p.returncode < 0 else f"exit status {p.returncode}"
        raise Failed(f"command failed ({status}): {' '.join(cmd)}\n"
                     f"--- stderr ---\n{p.stderr.rstrip()}\n--- stdout ---\n{p.stdout.rstrip()}")
    return wall


def read_clusters(path: Path, n: int) -> list[int | None]:
    """Cluster of each input row (None for empty rows), checking rows are 0..n-1 in order."""
    out: list[int | None] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            d = json.loads(line)
            if d.get("set") != "input" or d.get("row") != len(out):
                raise Failed(f"{path}:{lineno}: expected input row {len(out)}, got {line.strip()}")
            out.append(d["cluster"])
    if len(out) != n:
        raise Failed(f"{path}: {len(out):,} rows, the input has {n:,}")
    return out


def read_store(store: Path, unique: list[int]):
    """The vector of each input row, from the only `.svec` file in `store` (format version 1,
    f32), whose rows are the unique texts in first-occurrence order."""
    import numpy as np

    files = sorted(store.glob("*.svec"))
    if len(files) != 1:
        raise Failed(f"{store}: expected one finished .svec vector file, found {[f.name for f in files]}")
    path = files[0]
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:8] != b"SEMSIFTV":
        raise Failed(f"{path}: not a semsift vector file")
    version, dtype, dim, flags = (int.from_bytes(head[i:i + 4], "little") for i in (8, 12, 16, 20))
    rows = int.from_bytes(head[24:32], "little")
    if version != 1 or dtype != 1 or not flags & 1:
        raise Failed(f"{path}: format version {version}, element type {dtype}, flags {flags}; this script "
                     "reads complete version-1 f32 files only")
    n_unique = max(unique) + 1
    if rows != n_unique:
        raise Failed(f"{path}: {rows:,} rows, but the input has {n_unique:,} distinct texts")
    v = np.fromfile(path, dtype="<f4", offset=4096)
    if v.size != rows * dim:
        raise Failed(f"{path}: {v.size:,} values after the header, expected {rows:,} × {dim}")
    return v.reshape(rows, dim)[np.asarray(unique)]


def scores(labels, pred) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return normalized_mutual_info_score(labels, pred), adjusted_rand_score(labels, pred)


def evaluate(name: str, inp: Path, labels: list[str], unique: list[int], k: int,
             model: tuple[str, str | None], seeds: list[int], semsift: str) -> dict:
    import numpy as np
    from sklearn.cluster import KMeans

    model_name, model_dir = model
    margs = ["--model", model_dir] if model_dir else []
    n = len(labels)
    mwork = inp.parent / ("minilm" if model_dir else "default")
    store = mwork / "store"
    mwork.mkdir(exist_ok=True)

    res = {"dataset": name, "rows": n, "k": k, "model": model_name, "ours": [], "ref": [],
           "report_s": [], "cluster_s": [], "iterations": [], "converged": [], "sk_fit_s": [],
           "sk_iter": [], "embed_check": None}
    keep = None
    for s in seeds:
        out = mwork / f"report-seed{s}"
        cmd = [semsift, "report", str(inp), "-k", str(k), "--seed", str(s), "--store", str(store),
               "-o", str(out), "-q", *margs]
        log(f"{name} / {model_name} / seed {s}: {' '.join(cmd)}")
        wall = run(cmd)
        clusters = read_clusters(out / "clusters.jsonl", n)
        rep = json.loads((out / "report.json").read_text())
        if keep is None:
            keep = [i for i, c in enumerate(clusters) if c is not None]
            res["empty"] = n - len(keep)
        elif [i for i, c in enumerate(clusters) if c is not None] != keep:
            raise Failed(f"{out}/clusters.jsonl: the empty rows differ from seed {seeds[0]}'s")
        y = [labels[i] for i in keep]
        res["ours"].append(scores(y, [clusters[i] for i in keep]))
        res["report_s"].append(wall)
        res["cluster_s"].append(rep["timings_s"].get("cluster", float("nan")))
        res["iterations"].append(rep["clustering"]["iterations"])
        res["converged"].append(rep["clustering"]["converged"])
        log(f"  semsift seed {s}: NMI {res['ours'][-1][0]:.4f}, ARI {res['ours'][-1][1]:.4f}, {wall:.1f} s")

    v = read_store(store, unique)
    if not model_dir:
        npy = mwork / "vectors.npy"
        cmd = [semsift, "embed", str(inp), "-o", str(npy), "-q", *margs]
        log(f"{name} / {model_name}: checking the store against {' '.join(cmd)}")
        run(cmd)
        e = np.load(npy)
        if e.shape != v.shape:
            raise Failed(f"{npy}: shape {e.shape}, the store gives {v.shape}")
        res["embed_check"] = float(np.abs(e - v).max())
        if res["embed_check"] > 1e-5:
            raise Failed(f"{npy} differs from the store's vectors by up to {res['embed_check']:.3g}")
    v = v[keep].astype(np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    if (norms == 0).any():
        raise Failed(f"{store}: {int((norms == 0).sum())} non-empty rows have a zero vector")
    v /= norms
    y = [labels[i] for i in keep]
    for s in seeds:
        t = time.perf_counter()
        km = KMeans(n_clusters=k, n_init=1, random_state=s).fit(v)
        res["sk_fit_s"].append(time.perf_counter() - t)
        res["sk_iter"].append(int(km.n_iter_))
        res["ref"].append(scores(y, km.labels_))
        log(f"  sklearn seed {s}: NMI {res['ref'][-1][0]:.4f}, ARI {res['ref'][-1][1]:.4f}")
    return res


def mean_spread(xs: list[float], digits: int = 3) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{statistics.mean(xs):.{digits}f} ± {statistics.stdev(xs):.{digits}f}"


def print_table(results: list[dict], seeds: list[int]) -> None:
    multi = len(seeds) > 1
    print()
    print("| dataset | rows | k | model | NMI (semsift) | ARI (semsift) | NMI (sklearn k-means, same vectors) "
          "| ARI (sklearn) | report time (s) | k-means time (s): semsift / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        rows = f"{r['rows']:,}" + (f" ({r['empty']} empty, not scored)" if r["empty"] else "")
        times = f"{r['report_s'][0]:.1f}" + (f" / {statistics.mean(r['report_s'][1:]):.1f}" if multi else "")
        print(f"| {r['dataset']} | {rows} | {r['k']} | {r['model']} "
              f"| {mean_spread([a for a, _ in r['ours']])} | {mean_spread([b for _, b in r['ours']])} "
              f"| {mean_spread([a for a, _ in r['ref']])} | {mean_spread([b for _, b in r['ref']])} "
              f"| {times} | {statistics.mean(r['cluster_s']):.2f} / {statistics.mean(r['sk_fit_s']):.2f} |")
    print()
    if multi:
        print(f"Seeds {', '.join(map(str, seeds))}: scores are mean ± sample standard deviation over the seeds. "
              "report time: wall time of the whole `semsift report` process, first seed (embeds the texts) / "
              "mean of the later seeds (vectors reused from --store).")
    else:
        print(f"Seed {seeds[0]}. report time: wall time of the whole `semsift report` process (embedding included).")
    print("k-means time: semsift's `cluster` stage (report.json timings_s: fit + assign) / sklearn "
          "KMeans(n_init=1).fit, mean over seeds. semsift: spherical k-means, at most 50 iterations; "
          "sklearn: Euclidean k-means (lloyd, greedy k-means++, at most 300 iterations) on the same "
          "L2-normalised vectors.")
    print()
    for r in results:
        nmi = lambda xs: "[" + ", ".join(f"{a:.3f}" for a, _ in xs) + "]"  # noqa: E731
        check = (f"; store = `semsift embed` output (max |diff| {r['embed_check']:.1g})"
                 if r["embed_check"] is not None else "")
        print(f"- {r['dataset']} / {r['model']}: NMI per seed semsift {nmi(r['ours'])}, sklearn {nmi(r['ref'])}; "
              f"iterations semsift {r['iterations']} (converged {r['converged']}), sklearn {r['sk_iter']}{check}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--semsift", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--minilm", help="MiniLM transformer folder (omit: default model only)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("datasets", nargs="*")
    args = ap.parse_args()
    datasets = args.datasets or list(DATASETS)
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        log(f"error: unknown dataset(s) {', '.join(unknown)} (choose from {', '.join(DATASETS)})")
        sys.exit(2)
    seeds = [int(s) for s in args.seeds.split(",")]
    models: list[tuple[str, str | None]] = [("default (bundled static)", None)]
    if args.minilm:
        models.append(("all-MiniLM-L6-v2", args.minilm))
    results = []
    t0 = time.perf_counter()
    try:
        for d in datasets:
            (args.work / d).mkdir(parents=True, exist_ok=True)
            inp = args.work / d / "input.jsonl"
            labels, unique, k = prepare(d, args.data, inp)
            log(f"{d}: {len(labels):,} rows ({max(unique) + 1:,} distinct texts), {k} labels -> {inp}")
            for m in models:
                results.append(evaluate(d, inp, labels, unique, k, m, seeds, args.semsift))
    except Failed as e:
        if results:
            log("results so far:")
            print_table(results, seeds)
        log(f"error: {e}")
        sys.exit(1)
    print_table(results, seeds)
    print(f"\ntotal: {time.perf_counter() - t0:.0f} s; machine: {os.cpu_count()} CPUs "
          f"(nproc {len(os.sched_getaffinity(0))})")


if __name__ == "__main__":
    main()
