"""Side-by-side semantic deduplication: SemHash 0.5.0 vs `semsift dedup` (helper for compare-semhash.sh).

Subcommands (compare-semhash.sh runs them in this order):

  prepare      first N rows of a dataset (.jsonl, optionally .gz) -> one plain JSONL file
  run-semhash  SemHash self_deduplicate on that file, written in semsift's output format:
               OUT/removed.jsonl ({"row", "duplicate_of", "score", "exact", "record"} per removed
               row, 0-based input rows), OUT/kept.jsonl, OUT/summary.json (counts, phase timings)
  measure      fallback timer when /usr/bin/time is missing: runs a command, writes its wall
               time and peak RSS (getrusage of the child) as JSON
  compare      reads both output folders and timing files, prints the comparison table, explains
               a sample of the disagreements (exact cosines with the same model2vec model)

SemHash is run as its README shows for records: `SemHash.from_records(records, columns, model)`
then `self_deduplicate(threshold)`, default usearch ANN backend, with the model loaded from the
local folder (no hub). Each record carries an extra `__row` key (not in `columns`, so it is not
hashed or embedded) from which row numbers are recovered.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROW_KEY = "__row"


# ---------------------------------------------------------------- helpers


def open_text(path: Path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_jsonl(path: Path) -> list[dict]:
    with open_text(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def text_of(record: dict, columns: list[str], width: int = 160) -> str:
    parts = [str(record.get(c, "")) for c in columns]
    s = " | ".join(p for p in parts if p) or "(empty)"
    s = re.sub(r"\s+", " ", s)
    return s if len(s) <= width else s[: width - 1] + "…"


# ---------------------------------------------------------------- prepare


def cmd_prepare(args: argparse.Namespace) -> None:
    """First ROWS rows of the sources, one after the other, or of their seeded shuffle."""
    out = Path(args.out)
    columns = args.columns.split(",")
    lines: list[str] = []
    for src in map(Path, args.source):
        with open_text(src) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if args.shuffle is None and args.rows and len(lines) >= args.rows:
                    break
                rec = json.loads(line)
                for c in columns:
                    if rec.get(c) is None:
                        sys.exit(f"compare_semhash: error: {src}:{lineno}: column {c!r} missing or null")
                lines.append(json.dumps(rec, ensure_ascii=False))
    if args.shuffle is not None:
        random.Random(args.shuffle).shuffle(lines)
    if args.rows:
        if len(lines) < args.rows:
            print(f"compare_semhash: note: the sources have only {len(lines):,} rows (asked for {args.rows:,})",
                  file=sys.stderr)
        del lines[args.rows:]
    with open(out, "w", encoding="utf-8") as w:
        for line in lines:
            w.write(line + "\n")
    print(len(lines))


# ---------------------------------------------------------------- run-semhash


def cmd_run_semhash(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    from model2vec import StaticModel
    from semhash import SemHash

    columns = args.columns.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    with open(args.input, encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            rec[ROW_KEY] = i
            records.append(rec)
    model = StaticModel.from_pretrained(args.model)
    t1 = time.perf_counter()
    sh = SemHash.from_records(records=records, columns=columns, model=model)  # exact groups + embed + ANN index
    t2 = time.perf_counter()
    res = sh.self_deduplicate(threshold=args.threshold)
    t3 = time.perf_counter()

    def strip(rec: dict) -> dict:
        return {k: v for k, v in rec.items() if k != ROW_KEY}

    removed = sorted(res.filtered, key=lambda d: d.record[ROW_KEY])
    with open(out / "removed.jsonl", "w", encoding="utf-8") as w:
        for d in removed:
            w.write(json.dumps({"row": d.record[ROW_KEY], "duplicate_of": d.duplicate_of[ROW_KEY],
                                "score": round(float(d.score), 6), "exact": bool(d.exact),
                                "record": strip(d.record)}, ensure_ascii=False) + "\n")
    kept = sorted(res.selected, key=lambda r: r[ROW_KEY])
    with open(out / "kept.jsonl", "w", encoding="utf-8") as w:
        for r in kept:
            w.write(json.dumps(strip(r), ensure_ascii=False) + "\n")
    t4 = time.perf_counter()
    summary = {
        "tool": "semhash", "rows": len(records), "kept": len(kept), "removed": len(removed),
        "removed_exact": sum(1 for d in removed if d.exact), "threshold": args.threshold, "columns": columns,
        "timings_s": {"read_and_load_model": round(t1 - t0, 3), "from_records": round(t2 - t1, 3),
                      "self_deduplicate": round(t3 - t2, 3), "write": round(t4 - t3, 3),
                      "total_in_process": round(t4 - t0, 3)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


# ---------------------------------------------------------------- measure


def cmd_measure(args: argparse.Namespace) -> None:
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    t = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kB on Linux; only child so far
    Path(args.out).write_text(json.dumps({"wall_s": wall, "max_rss_kb": peak_kb, "rc": rc}) + "\n")
    sys.exit(rc)


def read_time(path: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) from a `/usr/bin/time -v -o` file or a `measure` JSON file."""
    s = path.read_text()
    if s.lstrip().startswith("{"):
        d = json.loads(s)
        return d["wall_s"], d["max_rss_kb"] / 1024
    m = re.search(r"Elapsed \(wall clock\) time.*?:\s*([\d:.]+)\s*$", s, re.M)
    parts = [float(p) for p in m.group(1).split(":")]
    wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = float(re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", s).group(1))
    return wall, rss / 1024


# ---------------------------------------------------------------- compare


def load_removed(path: Path) -> dict[int, dict]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                d = json.loads(line)
                if "row" not in d:
                    sys.exit(f"compare_semhash: error: {path}:{lineno}: no \"row\" field")
                out[int(d["row"])] = d
    return out


def embed_all(records: list[dict], columns: list[str], model_dir: str):
    """Unit vectors of each row as SemHash builds them: per-column model2vec vectors, concatenated."""
    import numpy as np
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(model_dir)
    cols = [np.asarray(model.encode([str(r[c]) for r in records]), dtype=np.float32) for c in columns]
    v = np.concatenate(cols, axis=1)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(n == 0, 1.0, n)


def best_earlier(vecs, rows: list[int], candidates, chunk: int = 256):
    """For each row r in rows: (best cosine, argmax) over candidates c < r (candidates sorted)."""
    import numpy as np

    cand = np.asarray(candidates, dtype=np.int64)
    if not len(cand):
        return [float("-inf")] * len(rows), [-1] * len(rows)
    cv = vecs[cand]
    best, arg = [], []
    for s in range(0, len(rows), chunk):
        rr = np.asarray(rows[s: s + chunk], dtype=np.int64)
        sims = vecs[rr] @ cv.T
        sims[cand[None, :] >= rr[:, None]] = -np.inf
        j = np.argmax(sims, axis=1)
        best.extend(sims[np.arange(len(rr)), j].tolist())
        arg.extend(cand[j].tolist())
    return best, arg


def machine_and_versions(semsift: str | None) -> list[str]:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        mem = f", {kb / 1024 ** 2:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    from importlib.metadata import version

    vers = []
    for p in ("semhash", "model2vec", "vicinity", "usearch", "numpy"):
        try:
            vers.append(f"{p} {version(p)}")
        except Exception:  # noqa: BLE001
            vers.append(f"{p} ?")
    lines = [f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}{mem}, "
             f"{platform.system()} {platform.release()}",
             f"versions: Python {platform.python_version()}, " + ", ".join(vers)]
    if semsift:
        try:
            v = subprocess.run([semsift, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
            lines[-1] += f", {v or 'semsift ?'}"
        except OSError:
            pass
    return lines


def cmd_compare(args: argparse.Namespace) -> None:
    columns = args.columns.split(",")
    records = read_jsonl(Path(args.input))
    n = len(records)
    t = args.threshold

    sides = {"SemHash": (Path(args.semhash_dir), Path(args.semhash_time))}
    if args.semsift_dir:
        sides["semsift"] = (Path(args.semsift_dir), Path(args.semsift_time))
    removed = {k: load_removed(d / "removed.jsonl") for k, (d, _) in sides.items()}
    timing = {k: read_time(tf) for k, (_, tf) in sides.items()}

    # Tool-independent reference: rows whose column values equal an earlier row's.
    seen, exact_copies = set(), 0
    for r in records:
        key = tuple(str(r[c]) for c in columns)
        exact_copies += key in seen
        seen.add(key)

    print()
    for line in machine_and_versions(args.semsift_bin if args.semsift_dir else None):
        print(line)
    print(f"input: {args.input} ({n:,} rows), columns {columns}, threshold {t}")
    print(f"rows with an exact copy (same column values) earlier in the file: {exact_copies:,}")
    if "semsift" not in sides:
        print("semsift: no results — " + (args.semsift_missing or "not run"))
    print()

    names = list(sides)
    a = set(removed["SemHash"])
    b = set(removed["semsift"]) if "semsift" in sides else None

    def row(label: str, fa, fb=None) -> None:
        cells = [fa] + ([fb] if b is not None else [])
        print(f"| {label} | " + " | ".join(cells) + " |")

    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    row("rows", f"{n:,}", f"{n:,}")
    row("removed", *[f"{len(removed[k]):,} ({100 * len(removed[k]) / max(n, 1):.2f} %)" for k in names])
    row("removed as exact", *[f"{sum(1 for d in removed[k].values() if d.get('exact')):,}" for k in names])
    row("wall time, whole process (s)", *[f"{timing[k][0]:.2f}" for k in names])
    row("peak RSS (MiB)", *[f"{timing[k][1]:,.0f}" for k in names])
    print("\n(\"removed as exact\": SemHash marks a copy exact only when the first copy of its text was kept; copies of "
          "a row it removed as a near-duplicate count as not exact.)")
    sh_sum = Path(args.semhash_dir) / "summary.json"
    if sh_sum.exists():
        ts = json.loads(sh_sum.read_text())["timings_s"]
        print(f"\nSemHash phases (s): read+load model {ts['read_and_load_model']}, from_records "
              f"(exact groups+embed+index) {ts['from_records']}, self_deduplicate {ts['self_deduplicate']}, "
              f"write {ts['write']}")
    if b is None:
        return

    both, only_a, only_b = a & b, sorted(a - b), sorted(b - a)
    jac = len(both) / len(a | b) if a | b else 1.0
    same_of = sum(1 for r in both if removed["SemHash"][r].get("duplicate_of") == removed["semsift"][r].get("duplicate_of"))
    print(f"\nremoved by both: {len(both):,}; only SemHash: {len(only_a):,}; only semsift: {len(only_b):,}; "
          f"Jaccard of removed sets: {jac:.4f}")
    print(f"same duplicate_of among rows removed by both: {same_of:,} / {len(both):,}")
    print(f"speed: SemHash / semsift wall time = {timing['SemHash'][0] / timing['semsift'][0]:.2f}x; "
          f"peak RSS ratio {timing['SemHash'][1] / max(timing['semsift'][1], 1e-9):.2f}x")

    if not only_a and not only_b:
        return
    # Explain the disagreements: for a row removed only by tool X, the float32 cosine to the closest earlier row
    # the other tool kept. Clearly above the threshold: the other tool missed a match (ANN recall / scoring);
    # within --boundary of it: a rounding difference (SemHash scores this float16 model in float16 and compares
    # with float16(0.9) = 0.89990234); clearly below: a cascade (X matched it to a row the other tool removed,
    # and no row the other tool kept is close enough).
    vecs = embed_all(records, columns, args.model)
    kept = {k: sorted(set(range(n)) - set(removed[k])) for k in names}
    rng = random.Random(0)
    for name, other, only in (("SemHash", "semsift", only_a), ("semsift", "SemHash", only_b)):
        if not only:
            continue
        sample = only if len(only) <= args.classify else sorted(rng.sample(only, args.classify))
        best, arg = best_earlier(vecs, sample, kept[other])
        missed = sum(1 for s in best if s >= t + args.boundary)
        edge = sum(1 for s in best if abs(s - t) < args.boundary)
        print(f"\nrows removed only by {name}: {len(only):,}"
              + (f" (classified a sample of {len(sample):,})" if len(sample) < len(only) else ""))
        print(f"  closest earlier row kept by {other} (float32 cosine): >= {t + args.boundary:g}: {missed:,} "
              f"({other} missed a match); within {args.boundary:g} of {t}: {edge:,} (rounding at the threshold); lower: "
              f"{len(sample) - missed - edge:,} (cascade: {name} matched them to a row {other} removed)")
        picks = sorted(rng.sample(range(len(sample)), min(args.examples, len(sample))))
        for i in picks:
            r = sample[i]
            d = removed[name][r]
            j = d.get("duplicate_of")
            print(f"  row {r}: {text_of(records[r], columns)}")
            if j is not None and 0 <= int(j) < n:
                cos = float(vecs[r] @ vecs[int(j)])
                print(f"    {name}: duplicate_of row {j} (its score {float(d.get('score', float('nan'))):.4f}, "
                      f"float32 cosine {cos:.5f}, exact {d.get('exact')}): {text_of(records[int(j)], columns)}"
                      + (f" [row {j} removed by {other}]" if int(j) in removed[other] else ""))
            if best[i] > -1e9:
                print(f"    closest earlier row kept by {other}: row {arg[i]} at {best[i]:.5f}: "
                      f"{text_of(records[arg[i]], columns)}")
            else:
                print(f"    no earlier row kept by {other}")


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("prepare", help="first ROWS rows of SOURCE... -> plain JSONL OUT; prints the row count")
    p.add_argument("--source", required=True, action="append", help="repeat to concatenate several files")
    p.add_argument("--shuffle", type=int, default=None, metavar="SEED",
                   help="shuffle all rows of the sources with this seed before taking the first ROWS")
    p.add_argument("--rows", type=int, default=0, help="0 = all")
    p.add_argument("--columns", required=True, help="comma-separated; checked present and non-null")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_prepare)

    p = sub.add_parser("run-semhash", help="SemHash self_deduplicate, semsift-style outputs in --out")
    p.add_argument("--input", required=True)
    p.add_argument("--columns", required=True)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_run_semhash)

    p = sub.add_parser("measure", help="OUT -- CMD...: run CMD, write wall time and peak RSS to OUT")
    p.add_argument("out")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_measure)

    p = sub.add_parser("compare", help="print the comparison")
    p.add_argument("--input", required=True)
    p.add_argument("--columns", required=True)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--model", required=True)
    p.add_argument("--semhash-dir", required=True)
    p.add_argument("--semhash-time", required=True)
    p.add_argument("--semsift-dir")
    p.add_argument("--semsift-time")
    p.add_argument("--semsift-bin")
    p.add_argument("--semsift-missing", help="why semsift was not run (printed)")
    p.add_argument("--examples", type=int, default=3, help="disagreements shown per side")
    p.add_argument("--classify", type=int, default=5000, help="max disagreements per side to classify")
    p.add_argument("--boundary", type=float, default=0.001,
                   help="cosines this close to the threshold count as rounding differences")
    p.set_defaults(fn=cmd_compare)

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
