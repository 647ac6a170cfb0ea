"""semsift.ray on a real local Ray cluster: a head started by `ray start --head` and a
second node process, both on 127.0.0.1, started here and always stopped. The distributed
deduplication must write what `semsift dedup --index exact` writes on one machine, byte
for byte: the same kept rows, and the same removed rows with the same duplicate_of,
score and exact; also when a worker process is killed mid-run."""

from __future__ import annotations

import glob
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, shared_data

from semsift.ray.local import LOOPBACK_ENV, LocalCluster

# Read by Ray when it is imported: keeps this process's connections on 127.0.0.1.
os.environ.update(LOOPBACK_ENV)
ray = pytest.importorskip("ray", reason="Ray is installed by scripts/pyenv.sh (scripts/requirements.txt)")

EXE = ROOT / "target" / "release" / "semsift"
EXAMPLE = ROOT / "tests" / "data" / "example.jsonl"
TOPICS = ROOT / "tests" / "data" / "dbpedia_topics.jsonl"


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(nodes=2, cpus=1) as c:
        yield c


def _cli(tmp: Path, path: Path, *args: str) -> Path:
    if not EXE.exists():
        pytest.fail(f"{EXE} missing: scripts/test.sh builds it before the Python tests")
    out = tmp / "cli"
    subprocess.run([str(EXE), "dedup", str(path), "--index", "exact", *args, "-o", str(out), "-q"], check=True, timeout=300)
    return out


def _ray_cmd(cluster: LocalCluster, path: Path, out: Path, *args: str) -> list[str]:
    if "--index" not in args:
        args = (*args, "--index", "exact")
    return [sys.executable, "-m", "semsift.ray", "dedup", str(path), *args, "-o", str(out), "--address", cluster.address]


def _run_ray(cluster: LocalCluster, path: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(_ray_cmd(cluster, path, out, *args), env=cluster.env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    return r


def _same_outputs(cli: Path, dist: Path, kept: str = "kept.jsonl") -> dict:
    for name in (kept, "removed.jsonl"):
        a, b = (cli / name).read_bytes(), (dist / name).read_bytes()
        assert a == b, f"{name} differs: {len(a)} bytes from the CLI, {len(b)} from Ray"
    s_cli = json.loads((cli / "summary.json").read_text())
    s_ray = json.loads((dist / "summary.json").read_text())
    for key in ("input", "kept", "removed", "exact_removed", "unique"):
        assert s_ray["rows"][key] == s_cli["rows"][key], key
    assert s_ray["outputs"]["kept"]["sha256"] == s_cli["outputs"]["kept"]["sha256"]
    assert s_ray["model"] == s_cli["model"]
    assert not [p for p in os.listdir(dist) if p.startswith(".semsift-ray")], "scratch files were left behind"
    return s_ray


def _mixed(tmp: Path, copies: int = 3) -> Path:
    """DBpedia abstracts with edited and exact copies spread across the file, so that
    duplicates cross shard boundaries; blank lines included."""
    rows = [json.loads(line) for line in open(TOPICS) if line.strip()]
    out = []
    for i, r in enumerate(rows):
        out.append({"id": len(out), "text": r["text"]})
        if i % copies == 0:
            out.append({"id": len(out), "text": r["text"] + " (see also)"})
        if i % (2 * copies) == 1:
            out.append({"id": len(out), "text": rows[i // 2]["text"]})
    path = tmp / "mixed.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, r in enumerate(out):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            if i % 97 == 0:
                f.write("\n")
    return path


def test_the_cluster_has_two_nodes_on_loopback_only(cluster):
    probe = (
        "import json, ray; ray.init(address=%r, logging_level='ERROR'); "
        "print(json.dumps([n['NodeManagerAddress'] for n in ray.nodes() if n['Alive']]))" % cluster.address
    )
    r = subprocess.run([sys.executable, "-c", probe], env=cluster.env(), capture_output=True, text=True, timeout=120)
    addresses = json.loads(r.stdout.strip().splitlines()[-1])
    assert addresses == ["127.0.0.1", "127.0.0.1"]


def test_the_fixture_gives_the_single_machine_files(cluster, tmp_path):
    cli = _cli(tmp_path, EXAMPLE, "-c", "text", "-t", "0.7")
    dist = tmp_path / "ray"
    # Small shards: rows and their duplicates land in different shards and cells.
    _run_ray(cluster, EXAMPLE, dist, "-c", "text", "-t", "0.7", "--shard-size", "1K")
    s = _same_outputs(cli, dist)
    assert s["rows"]["removed"] >= 14 and s["rows"]["exact_removed"] >= 2
    assert s["cluster"]["nodes"] == 2 and s["cluster"]["shards"] > 4


@pytest.mark.parametrize("threshold", ["0.8", "0.95"])
def test_duplicates_across_shards_and_cells_match_at_any_threshold(cluster, tmp_path, threshold):
    path = _mixed(tmp_path)
    cli = _cli(tmp_path, path, "-c", "text", "-t", threshold)
    dist = tmp_path / "ray"
    _run_ray(cluster, path, dist, "-c", "text", "-t", threshold, "--shard-size", "16K")
    s = _same_outputs(cli, dist)
    assert s["rows"]["removed"] > 100
    assert s["index"]["tiles"] > 1


def _removed(out: Path) -> dict[int, dict]:
    return {r["row"]: r for r in map(json.loads, open(out / "removed.jsonl", encoding="utf-8"))}


@pytest.mark.parametrize("against", [False, True])
def test_cells_find_what_exact_search_finds(cluster, tmp_path, against):
    """The scalable index: k-means cells fitted on a sample, rows regrouped by cell. It is
    approximate, as the single machine's IVF index is: it must find nearly every removal,
    and every pair it reports must be a real one with its exact score."""
    path = _mixed(tmp_path)
    args = ["-c", "text", "-t", "0.85"]
    if against:
        lines = [line for line in open(path, encoding="utf-8") if line.strip()]
        ref, path = tmp_path / "ref.jsonl", tmp_path / "data.jsonl"
        ref.write_text("".join(lines[::3]), encoding="utf-8")
        path.write_text("".join(line for i, line in enumerate(lines) if i % 3), encoding="utf-8")
        args += ["--against", str(ref)]
    exact = _removed(_cli(tmp_path, path, *args))
    dist = tmp_path / "ray"
    _run_ray(cluster, path, dist, *args, "--shard-size", "16K", "--index", "cells", "--cells", "12", "--probes", "3")
    cells = _removed(dist)
    s = json.loads((dist / "summary.json").read_text())
    assert s["index"]["cells"] == 12 and s["index"]["queries_per_row"] <= 3
    assert len(exact) > 100
    found = len(set(cells) & set(exact)) / len(exact)
    assert found >= 0.97, found
    # Where both remove a row for the same match, the score is the exact one.
    same = [r for r in cells if r in exact and cells[r]["duplicate_of"] == exact[r]["duplicate_of"]]
    assert len(same) >= 0.9 * len(exact)
    assert all(cells[r]["score"] == exact[r]["score"] for r in same)
    assert all(r["score"] >= 0.85 for r in cells.values())


def test_against_a_reference_matches_the_cli(cluster, tmp_path):
    path = _mixed(tmp_path)
    lines = [line for line in open(path, encoding="utf-8") if line.strip()]
    ref, data = tmp_path / "ref.jsonl", tmp_path / "data.jsonl"
    ref.write_text("".join(lines[::3]), encoding="utf-8")
    data.write_text("".join(line for i, line in enumerate(lines) if i % 3), encoding="utf-8")
    cli = _cli(tmp_path, data, "-c", "text", "-t", "0.85", "--against", str(ref))
    dist = tmp_path / "ray"
    _run_ray(cluster, data, dist, "-c", "text", "-t", "0.85", "--against", str(ref), "--shard-size", "16K")
    s = _same_outputs(cli, dist)
    assert s["rows"]["removed"] > 50 and s["rows"]["exact_removed"] > 0


def test_parquet_input_writes_the_same_rows(cluster, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = [json.loads(line) for line in open(_mixed(tmp_path)) if line.strip()]
    path = tmp_path / "mixed.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=200)
    cli = _cli(tmp_path, path, "-c", "text")
    dist = tmp_path / "ray"
    _run_ray(cluster, path, dist, "-c", "text")
    assert (cli / "removed.jsonl").read_bytes() == (dist / "removed.jsonl").read_bytes()
    assert pq.read_table(cli / "kept.parquet").equals(pq.read_table(dist / "kept.parquet"))


def test_a_dataset_is_deduplicated_as_the_python_api_does(cluster):
    import semsift
    import semsift.ray as sray

    rows = [json.loads(line) for line in open(EXAMPLE) if line.strip()]
    ray.init(address=cluster.address, logging_level="ERROR")
    try:
        ds = ray.data.from_items(rows, override_num_blocks=5)
        result = sray.dedup(ds, "text", 0.9)
        local = semsift.dedup(rows, columns=["text"], threshold=0.9, index="exact")
        assert [int(r) for r in result.removed["row"]] == [int(r) for r in local.removed_indices]
        assert [int(r) for r in result.removed["duplicate_of"]] == [int(r) for r in local.duplicate_of]
        assert [float(s) for s in result.removed["score"]] == [float(s) for s in local.score]
        kept = result.kept.take_all()
        assert [r["id"] for r in kept] == [rows[i]["id"] for i in local.kept_indices]
        removed = result.removed_rows.take_all()
        assert [r["duplicate_of"] for r in removed] == [int(d) for d in local.duplicate_of]
    finally:
        ray.shutdown()


def test_bad_input_names_the_file_and_line(cluster, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": oops}\n', encoding="utf-8")
    r = subprocess.run(_ray_cmd(cluster, path, tmp_path / "out", "-c", "text"), env=cluster.env(), capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert f"{path}:3: not a JSON value" in r.stderr
    path.write_text('{"text": "a"}\n{"title": "b"}\n', encoding="utf-8")
    r = subprocess.run(_ray_cmd(cluster, path, tmp_path / "out", "-c", "text"), env=cluster.env(), capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "line 2, column 'text'" in r.stderr
    assert not (tmp_path / "out" / "kept.jsonl").exists()


def _ray_processes(name: str) -> list[int]:
    pids = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            text = open(cmdline, "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text.startswith(name):
            pids.append(int(cmdline.split("/")[2]))
    return pids


def test_a_worker_killed_mid_run_changes_nothing(cluster, tmp_path):
    # 24,000 synthetic rows in ~50 shards: the embedding stage runs long enough to kill
    # one of its actors after it has written some shards and before it is done.
    path = tmp_path / "synthetic.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make-synthetic.py"), "24000", str(path), "3"], check=True, capture_output=True)
    cli = _cli(tmp_path, path, "-c", "text")
    dist, scratch = tmp_path / "ray", tmp_path / "scratch"
    proc = subprocess.Popen(
        _ray_cmd(cluster, path, dist, "-c", "text", "--shard-size", "64K", "--scratch", str(scratch), "--actors", "2"),
        env=cluster.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.monotonic() + 300
    try:
        while killed is None and proc.poll() is None and time.monotonic() < deadline:
            written = glob.glob(str(scratch / "*" / "vectors" / "*.parquet"))
            actors = _ray_processes("ray::MapWorker")
            if len(written) >= 3 and actors:
                os.kill(actors[0], signal.SIGKILL)
                killed = actors[0]
            time.sleep(0.05)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed is not None, "no embedding actor was found running to kill"
    assert proc.returncode == 0, err[-4000:]
    _same_outputs(cli, dist)
    assert not os.listdir(scratch), "scratch files were left behind"


def test_alpaca_instructions_match_the_cli(cluster, tmp_path):
    """CI's data check: 20,000 real Alpaca instructions (../shared/data)."""
    src = shared_data("alpaca_cleaned_partial", "alpaca_cleaned_partial.jsonl.gz")
    path = tmp_path / "alpaca.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as f, open(path, "w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i == 20000:
                break
            out.write(line)
    cli = _cli(tmp_path, path, "-c", "instruction")
    dist = tmp_path / "ray"
    _run_ray(cluster, path, dist, "-c", "instruction", "--shard-size", "512K")
    s = _same_outputs(cli, dist)
    assert s["rows"]["removed"] > 500
