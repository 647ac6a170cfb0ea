"""Tables for scripts/bench-rows.sh: rows vs seconds of `semsift dedup`.

Reads, for each ROWS, what bench-rows.sh left in WORK:
  run-ROWS.time     `/usr/bin/time -f "%e %M %U %S"`: wall s, peak RSS KiB, user s, sys s
  run-ROWS.rc       the exit status of semsift
  run-ROWS.log      semsift's stderr under RUST_LOG=info; every key=value pair of its
                    `stage done` lines is kept (stage, seconds, peak_rss_mib, and any
                    CPU-time fields such as cpu_seconds= or cpu= that a version may add)
  out-ROWS/summary.json  timings_s, rows, index
and prints the machine, a markdown table (rows, wall s, µs per row, µs per row relative
to the 1M run or else the first run, peak RSS, CPU utilisation = (user+sys)/wall/cores,
seconds per stage from summary.json, rows kept) and, if the stage logs carry CPU time,
a second table of CPU utilisation per stage. Writes everything it read to
WORK/bench-rows.json as well.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

# Known stages in pipeline order; others found in timings_s are appended as they come.
STAGES = ["read", "templates", "embed", "index", "search", "select", "write"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S+)')
# CPU time of a stage: the first of these keys present, else user + sys.
CPU_KEYS = ["cpu_seconds", "cpu_s", "cpu_secs", "cpu"]
USER_KEYS = ["cpu_user_seconds", "user_seconds", "user_s", "user"]
SYS_KEYS = ["cpu_sys_seconds", "cpu_system_seconds", "sys_seconds", "system_seconds", "sys_s", "sys"]


def value(v: str):
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    try:
        return float(v)
    except ValueError:
        return v


def stage_lines(log: Path) -> dict[str, dict]:
    """stage name -> {key: value} from the `stage done` lines (the last one per stage wins)."""
    stages: dict[str, dict] = {}
    if not log.is_file():
        return stages
    for line in log.read_text(errors="replace").splitlines():
        line = ANSI.sub("", line)
        if "stage done" not in line:
            continue
        fields = {k: value(v) for k, v in PAIR.findall(line)}
        name = fields.get("stage")
        if isinstance(name, str):
            stages[name] = fields
    return stages


def stage_cpu(fields: dict) -> float | None:
    for k in CPU_KEYS:
        if isinstance(fields.get(k), float):
            return fields[k]
    user = next((fields[k] for k in USER_KEYS if isinstance(fields.get(k), float)), None)
    sys_ = next((fields[k] for k in SYS_KEYS if isinstance(fields.get(k), float)), None)
    if user is not None and sys_ is not None:
        return user + sys_
    # A single other numeric field naming cpu (e.g. cpu_time=).
    other = [v for k, v in fields.items() if "cpu" in k.lower() and isinstance(v, float)]
    return other[0] if len(other) == 1 else None


def secs(x) -> str:
    if not isinstance(x, (int, float)):
        return "–"
    return f"{x:,.2f}" if x < 100 else f"{x:,.1f}"


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def load(work: Path, n: int) -> dict:
    r: dict = {"rows_requested": n}
    rc_file = work / f"run-{n}.rc"
    r["rc"] = int(rc_file.read_text().strip()) if rc_file.is_file() else None
    tfile = work / f"run-{n}.time"
    if tfile.is_file():
        # GNU time prints "Command exited with non-zero status N" first on failure.
        last = [ln for ln in tfile.read_text().splitlines() if ln.strip()]
        try:
            wall, rss_kib, user, sys_ = last[-1].split()
            r.update(wall_s=float(wall), peak_rss_mib=int(rss_kib) / 1024, user_s=float(user), sys_s=float(sys_))
        except (IndexError, ValueError):
            pass
    r["stages_log"] = stage_lines(work / f"run-{n}.log")
    summary = work / f"out-{n}" / "summary.json"
    if summary.is_file():
        s = json.loads(summary.read_text())
        r.update(timings_s=s.get("timings_s", {}), rows=s.get("rows", {}), index=s.get("index", {}))
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--cores", type=int, required=True)
    ap.add_argument("--cpu-model", default="unknown")
    ap.add_argument("--mem-gib", default="?")
    ap.add_argument("--version", default="?")
    ap.add_argument("--extra-args", default="")
    ap.add_argument("sizes", type=int, nargs="+")
    a = ap.parse_args()

    runs = [load(a.work, n) for n in a.sizes]
    ok = [r for r in runs if r["rc"] == 0 and "wall_s" in r and "rows" in r]
    ok_ids = {id(r) for r in ok}

    print(f"machine: {a.cores} cores (nproc), {a.cpu_model}, {a.mem_gib} GiB RAM")
    print(f"binary: {a.version}")
    print(f"command: RUST_LOG=info semsift dedup synthetic-ROWS.jsonl -o OUT {a.extra_args}".rstrip())
    if ok:
        idx = ok[0].get("index", {})
        print(f"index: {idx.get('backend', '?')}" + (f", {idx['probes']} probes" if "probes" in idx else "")
              + f"; corpus: scripts/make-synthetic.py ROWS FILE 0")
    print()

    stages = list(STAGES)
    for r in ok:
        for k in r.get("timings_s", {}):
            if k != "total" and k not in stages:
                stages.append(k)
    stages = [s for s in stages if any(s in r.get("timings_s", {}) for r in ok)] or STAGES

    def us_per_row(r: dict) -> float:
        return r["wall_s"] * 1e6 / r["rows"]["input"]

    base = next((r for r in ok if r["rows"]["input"] == 1_000_000), ok[0] if ok else None)
    base_label = "1M" if base is not None and base["rows"]["input"] == 1_000_000 else (
        f"{base['rows']['input']:,}" if base else "–")

    head = ["rows", "wall s", "µs/row", f"µs/row vs {base_label}", "peak RSS MiB",
            f"CPU util ({a.cores} cores)"] + [f"{s} s" for s in stages] + ["kept"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for r in runs:
        if id(r) not in ok_ids:
            why = f"failed (exit {r['rc']})" if r["rc"] not in (None, 0) else "no result"
            cells = [f"{r['rows_requested']:,}", why] + ["–"] * (len(head) - 2)
            print("| " + " | ".join(cells) + " |")
            continue
        t = r.get("timings_s", {})
        util = (r["user_s"] + r["sys_s"]) / r["wall_s"] / a.cores if r["wall_s"] > 0 else None
        cells = [f"{r['rows']['input']:,}", secs(r["wall_s"]), f"{us_per_row(r):.2f}",
                 f"{us_per_row(r) / us_per_row(base):.2f}", f"{r['peak_rss_mib']:,.0f}", pct(util)]
        cells += [secs(t.get(s)) for s in stages]
        cells.append(f"{r['rows'].get('kept', 0):,}")
        print("| " + " | ".join(cells) + " |")

    # Per-stage CPU utilisation, only if the logs carry CPU time.
    cpu_stages = []
    for r in ok:
        for name, f in r["stages_log"].items():
            if stage_cpu(f) is not None and name not in cpu_stages:
                cpu_stages.append(name)
    print()
    if cpu_stages:
        cpu_stages.sort(key=lambda s: stages.index(s) if s in stages else len(stages))
        print(f"CPU utilisation per stage (stage CPU s / stage s / {a.cores} cores):")
        print()
        head = ["rows"] + cpu_stages
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---:" for _ in head) + "|")
        for r in ok:
            cells = [f"{r['rows']['input']:,}"]
            for s in cpu_stages:
                f = r["stages_log"].get(s, {})
                cpu, wall = stage_cpu(f), f.get("seconds")
                cells.append(pct(cpu / wall / a.cores) if cpu is not None and isinstance(wall, float) and wall > 0 else "–")
            print("| " + " | ".join(cells) + " |")
    else:
        keys = sorted({k for r in ok for f in r["stages_log"].values() for k in f})
        print("(no CPU time per stage in the `stage done` logs; fields there: "
              + (", ".join(keys) if keys else "none — no `stage done` lines found") + ")")

    (a.work / "bench-rows.json").write_text(json.dumps(
        {"cores": a.cores, "cpu_model": a.cpu_model, "mem_gib": a.mem_gib, "version": a.version,
         "extra_args": a.extra_args, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
