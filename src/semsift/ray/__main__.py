"""``python -m semsift.ray dedup INPUT -c COLUMN -t THRESHOLD [-o OUTDIR] [--address ADDR]``:
``semsift dedup`` on a Ray cluster, writing the same ``kept.<ext>``, ``removed.jsonl``
and ``summary.json``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Optional, Sequence


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().rstrip("B")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m semsift.ray", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dedup", help="deduplicate a file on a Ray cluster (the decisions of `semsift dedup --index exact`)")
    d.add_argument("input", help="JSON Lines (.jsonl, .ndjson, optionally .gz) or Parquet file; every node must see the path")
    d.add_argument("-c", "--column", action="append", required=True, help="column or field path to compare (repeat for several)")
    d.add_argument("-t", "--threshold", type=float, default=0.9, help="rows at least this similar to a kept row are removed (default 0.9)")
    d.add_argument("--against", help="reference set: remove the input rows that match one of its rows instead")
    d.add_argument("-o", "--output", help="output directory (default: <input name>-dedup in the current directory)")
    d.add_argument("--address", help="the Ray cluster to run on (default: the one ray.init() finds, e.g. RAY_ADDRESS)")
    d.add_argument("--model", help="model folder, on every node (default: the bundled static model)")
    d.add_argument("--device", default="cpu", help="where actors embed: cpu, cuda[:N] (a CUDA build)")
    d.add_argument("--gpus-per-actor", type=float, default=0.0, help="GPUs each embedding actor reserves (e.g. 1 with --device cuda)")
    d.add_argument("--actors", type=int, help="most embedding actors (default: the cluster's CPUs)")
    d.add_argument("--chat", help="chat preset for conversation columns, as semsift dedup --chat")
    d.add_argument(
        "--index",
        choices=["cells", "exact"],
        default="cells",
        help="cells (default): k-means cells, each row compared within its --probes nearest cells, approximate as "
        "semsift dedup's default index; exact: every pair, by tiles of row blocks: the decisions of semsift dedup --index exact",
    )
    d.add_argument("--cells", type=int, help="k-means cells with --index cells (default: sqrt(unique rows)/2, at most 4096)")
    d.add_argument("--probes", type=int, default=10, help="nearest cells each row is compared within, with --index cells (default 10)")
    d.add_argument("--seed", type=int, default=0, help="seed of the cells' k-means (default 0)")
    d.add_argument("--shard-size", type=_size, default=None, help="bytes of JSON Lines per shard, e.g. 64M (default 32M)")
    d.add_argument("--scratch", help="directory for intermediate files, reachable by every node (default: inside OUTDIR)")
    d.add_argument("--keep-scratch", action="store_true", help="keep the intermediate files")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s semsift.ray: %(message)s", stream=sys.stderr)
    import ray  # noqa: PLC0415

    output = args.output
    if output is None:
        name = os.path.basename(args.input)
        output = name.split(".")[0] + "-dedup"
    ray.init(address=args.address, log_to_driver=True)
    try:
        result = _dedup(args, output)
    except Exception as e:  # noqa: BLE001 - the one line a command prints
        cause = _root_cause(e)
        print(f"semsift.ray: error: {type(cause).__name__}: {cause}", file=sys.stderr)
        return 1
    finally:
        ray.shutdown()
    rows = result.summary["rows"]
    print(
        f"semsift.ray: {rows['input']:,} rows → kept {rows['kept']:,}, removed {rows['removed']:,} "
        f"({rows['exact_removed']:,} exact copies) at threshold {args.threshold} in {result.timings['total']:.1f}s → {output}",
        file=sys.stderr,
    )
    return 0


def _root_cause(e: BaseException) -> BaseException:
    """What a failed task said: Ray wraps it (``RayTaskError``, Ray Data's
    ``UserCodeException``), maybe more than once."""
    seen = set()
    while id(e) not in seen:
        seen.add(id(e))
        inner = getattr(e, "cause", None) or e.__cause__
        if not isinstance(inner, BaseException):
            break
        e = inner
    return e


def _dedup(args: argparse.Namespace, output: str) -> Any:
    from semsift.ray import SHARD_BYTES, dedup  # noqa: PLC0415

    return dedup(
        args.input,
        args.column,
        args.threshold,
        against=args.against,
        output=output,
        model=args.model,
        device=args.device,
        chat=args.chat,
        index=args.index,
        cells=args.cells,
        probes=args.probes,
        seed=args.seed,
        actors=args.actors,
        gpus_per_actor=args.gpus_per_actor,
        shard_bytes=args.shard_size or SHARD_BYTES,
        scratch=args.scratch,
        keep_scratch=args.keep_scratch,
    )


if __name__ == "__main__":
    sys.exit(main())
