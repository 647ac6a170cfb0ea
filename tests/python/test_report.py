"""semsift.report: the same report and files as `semsift report`, from data in memory."""

from __future__ import annotations

import json
import subprocess

import pyarrow as pa
import pytest

from conftest import ROOT, read_jsonl

import semsift

TOPICS = ROOT / "tests" / "data" / "dbpedia_topics.jsonl"


def _cli(tmp_path, *args):
    exe = ROOT / "target" / "release" / "semsift"
    if not exe.exists():
        pytest.fail(f"{exe} missing: scripts/test.sh builds it before the Python tests")
    out = tmp_path / "cli"
    subprocess.run([str(exe), "report", *map(str, args), "-o", str(out), "-q"], check=True)
    return out


def _same_report(ours: dict, theirs: dict) -> None:
    for r in (ours, theirs):
        r.pop("timings_s")
        for s in ("input", "reference"):
            if r.get(s):
                r[s].pop("path")
    assert ours == theirs


def test_report_matches_the_cli(tmp_path):
    rows = read_jsonl(TOPICS)
    cli = _cli(tmp_path, TOPICS, "-k", "8", "--seed", "2")
    out = tmp_path / "py"
    ours = semsift.report(pa.Table.from_pylist(rows), columns=["text"], out_dir=out, clusters=8, seed=2)
    theirs = json.load(open(cli / "report.json"))
    assert ours["schema"] == "semsift.report/2" and len(ours["topics"]) == 8
    assert (out / "clusters.jsonl").read_bytes() == (cli / "clusters.jsonl").read_bytes()
    assert json.load(open(out / "report.json"))["topics"] == ours["topics"]
    html = (out / "report.html").read_text()
    assert "<html" in html and ours["topics"][0]["label"].split(",")[0] in html
    _same_report(ours, theirs)


def test_report_against_a_reference_matches_the_cli(tmp_path):
    rows = read_jsonl(TOPICS)
    ref_path = tmp_path / "ref.jsonl"
    ref_path.write_text("".join(json.dumps(r) + "\n" for r in rows[:120]))
    cli = _cli(tmp_path, TOPICS, "--reference", ref_path, "-k", "6")
    ours = semsift.report([r["text"] for r in rows], reference=[r["text"] for r in rows[:120]], clusters=6)
    assert ours["coverage"]["coverage"] > 0
    _same_report(ours, json.load(open(cli / "report.json")))


def test_report_bad_input(tmp_path):
    with pytest.raises(ValueError, match="clusters"):
        semsift.report(["a b", "c d"], clusters="many")
    with pytest.raises(ValueError, match="only 2 distinct non-empty rows"):
        semsift.report(["a b", "c d"], clusters=5)
    with pytest.raises(ValueError, match="no row with text"):
        semsift.report(["", "  "], clusters=1)
