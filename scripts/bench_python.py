"""The Python package measured side by side (helper for scripts/bench-python.sh).

Jobs, each run as its own process on the same prepared JSONL file, same model (the bundled
model's folder, models/minilm-l6-static-256), same threshold:

  semhash         SemHash 0.5.0: read the rows, SemHash.from_records(records, columns, model),
                  self_deduplicate(threshold), read .selected and .filtered
  semsift-semhash the same code with `from semsift import SemHash` (the drop-in)
  cli             `semsift dedup FILE -c COL -t T -o OUT` (reads, embeds, searches, writes
                  kept.jsonl, removed.jsonl, summary.json)
  python-api      the same job from Python: read the file with pyarrow, semsift.dedup(table),
                  write kept.jsonl (the kept lines), removed.jsonl and summary.json

`bench` runs them in turn, A B C D A B C D ..., under /usr/bin/time -v, and prints the
median wall time and peak RSS of each, the ratios per round, and how far the two SemHash
APIs agree (Jaccard of the kept rows).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare_semhash import read_time  # noqa: E402


def job_semhash(args: argparse.Namespace, drop_in: bool) -> None:
    if drop_in:
        from semsift import SemHash

        model = args.model
    else:
        from model2vec import StaticModel
        from semhash import SemHash

        model = StaticModel.from_pretrained(args.model)
    columns = args.columns.split(",")
    records = []
    with open(args.input, encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            rec["__row"] = i
            records.append(rec)
    result = SemHash.from_records(records, columns=columns, model=model).self_deduplicate(threshold=args.threshold)
    kept = [r["__row"] for r in result.selected]
    removed = [(d.record["__row"], d.duplicate_of["__row"]) for d in result.filtered]
    Path(args.out).write_text(json.dumps({"kept": kept, "removed": len(removed)}))


def job_python_api(args: argparse.Namespace) -> None:
    import pyarrow.json as pj

    import semsift

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = pj.read_json(args.input)
    r = semsift.dedup(table, columns=args.columns.split(","), threshold=args.threshold, model=args.model)
    with open(args.input, "rb") as f:
        lines = f.readlines()
    with open(out / "kept.jsonl", "wb") as w:
        w.writelines(lines[i] for i in r.kept_indices.tolist())
    with open(out / "removed.jsonl", "w", encoding="utf-8") as w:
        for row, dup, score, exact in zip(r.removed_indices.tolist(), r.duplicate_of.tolist(), r.score.tolist(), r.exact.tolist()):
            w.write(json.dumps({"row": row, "duplicate_of": dup, "score": score, "exact": exact}) + "\n")
    (out / "summary.json").write_text(json.dumps(r.summary, indent=2) + "\n")


def bench(args: argparse.Namespace) -> None:
    work = Path(args.work or tempfile.mkdtemp(prefix="semsift-bench-python."))
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    me = str(Path(__file__).resolve())
    common = ["--input", args.input, "--columns", args.columns, "--threshold", str(args.threshold), "--model", args.model]
    colargs = [a for c in args.columns.split(",") for a in ("-c", c)]
    jobs = {
        "semhash": [py, me, "job-semhash", *common, "--out", str(work / "semhash.json")],
        "semsift-semhash": [py, me, "job-semsift-semhash", *common, "--out", str(work / "semsift-semhash.json")],
        "cli": [args.semsift, "dedup", args.input, *colargs, "-t", str(args.threshold), "--model", args.model, "-q", "-o", str(work / "cli")],
        "python-api": [py, me, "job-python-api", *common, "--out", str(work / "python-api")],
    }
    figures: dict[str, list[tuple[float, float]]] = {k: [] for k in jobs}
    for round_ in range(args.runs):
        for name, cmd in jobs.items():
            tfile = work / f"{name}.{round_}.time"
            rc = subprocess.call(["/usr/bin/time", "-v", "-o", str(tfile), *cmd], stdout=subprocess.DEVNULL)
            if rc != 0:
                sys.exit(f"bench-python: {name} failed (exit {rc}): {' '.join(cmd)}")
            figures[name].append(read_time(tfile))
            print(f"bench-python: round {round_ + 1}/{args.runs} {name}: {figures[name][-1][0]:.2f} s, {figures[name][-1][1]:.0f} MiB", file=sys.stderr)

    def med(name: str, k: int) -> float:
        return statistics.median(f[k] for f in figures[name])

    def ratios(a: str, b: str, k: int) -> list[float]:
        return [x[k] / y[k] for x, y in zip(figures[a], figures[b])]

    rows = sum(1 for _ in open(args.input, encoding="utf-8"))
    theirs = json.loads((work / "semhash.json").read_text())
    ours = json.loads((work / "semsift-semhash.json").read_text())
    a, b = set(theirs["kept"]), set(ours["kept"])
    jaccard = len(a & b) / len(a | b)
    print(f"\n{rows:,} rows of {args.label}, columns {args.columns}, threshold {args.threshold}, model {Path(args.model).name}, "
          f"{args.runs} rounds (median; ratio per round: min / median / max)\n")
    print(f"| job | wall s | peak RSS MiB | kept |")
    print(f"|---|---:|---:|---:|")
    kept_cli = sum(1 for _ in open(work / "cli" / "kept.jsonl", encoding="utf-8"))
    kept_api = sum(1 for _ in open(work / "python-api" / "kept.jsonl", encoding="utf-8"))
    for name, kept in [("semhash", len(a)), ("semsift-semhash", len(b)), ("cli", kept_cli), ("python-api", kept_api)]:
        print(f"| {name} | {med(name, 0):.2f} | {med(name, 1):.0f} | {kept:,} |")

    def line(what: str, r: list[float]) -> str:
        return f"{what}: {min(r):.2f} / {statistics.median(r):.2f} / {max(r):.2f}"

    print()
    print(line("SemHash ÷ semsift.SemHash, wall (× faster)", ratios("semhash", "semsift-semhash", 0)))
    print(line("semsift.SemHash ÷ SemHash, peak RSS", ratios("semsift-semhash", "semhash", 1)))
    print(line("python-api ÷ cli, wall (1.00 = no overhead)", ratios("python-api", "cli", 0)))
    print(line("python-api ÷ cli, peak RSS", ratios("python-api", "cli", 1)))
    print(f"kept rows, SemHash vs semsift.SemHash: Jaccard {jaccard:.4f} ({len(a - b)} only SemHash, {len(b - a)} only semsift)")
    print(f"(files in {work})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ["job-semhash", "job-semsift-semhash", "job-python-api", "bench"]:
        s = sub.add_parser(name)
        s.add_argument("--input", required=True)
        s.add_argument("--columns", default="text")
        s.add_argument("--threshold", type=float, default=0.9)
        s.add_argument("--model", required=True)
        s.add_argument("--out")
        if name == "bench":
            s.add_argument("--semsift", required=True)
            s.add_argument("--runs", type=int, default=3)
            s.add_argument("--work")
            s.add_argument("--label", default="the input")
    args = p.parse_args()
    if args.cmd == "job-semhash":
        job_semhash(args, drop_in=False)
    elif args.cmd == "job-semsift-semhash":
        job_semhash(args, drop_in=True)
    elif args.cmd == "job-python-api":
        job_python_api(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
