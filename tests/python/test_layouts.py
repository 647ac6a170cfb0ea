"""Chat conversations, preference pairs and nested fields from Python: field paths and chat
presets over dicts, pyarrow tables (list<struct> columns), pandas DataFrames and Hugging
Face datasets pick the same text as the CLI reads from files, and errors name the record
and the path."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import ROOT, read_jsonl

import semsift
from semsift import _native
from semsift.errors import FieldPathError, MissingColumnError

LAYOUTS = ROOT / "tests" / "data" / "layouts"
EXE = ROOT / "target" / "release" / "semsift"


@pytest.fixture(scope="module")
def openai_rows() -> list[dict]:
    return read_jsonl(LAYOUTS / "openai.jsonl")


def _cli_removed(tmp_path, path, *args) -> dict[int, dict]:
    if not EXE.exists():
        pytest.fail(f"{EXE} missing: scripts/test.sh builds it before the Python tests")
    out = tmp_path / "cli"
    subprocess.run([str(EXE), "dedup", str(path), *args, "-o", str(out), "-q"], check=True)
    return {json.loads(line)["row"]: json.loads(line) for line in open(out / "removed.jsonl")}


def _same_decisions(result, cli: dict[int, dict]) -> None:
    assert [int(i) for i in result.removed_indices] == sorted(cli)
    for row, dup, score in zip(result.removed_indices, result.duplicate_of, result.score):
        assert cli[int(row)]["duplicate_of"] == int(dup)
        assert cli[int(row)]["score"] == pytest.approx(float(score), abs=1e-6)


def test_presets_and_paths_over_dicts(openai_rows):
    users = _native.select_texts(openai_rows, "messages", "user")
    assert users[2] == "Give me three tips for sleeping better.\nThanks! And one more?"
    assert users[5] == "What causes the seasons on Earth?", "text parts of a multimodal content list"
    last = _native.select_texts(openai_rows, "messages", "last-assistant")
    assert last[7] == "Red leaves drift and fall / the maple lets go of summer / wind carries them home"
    assert _native.select_texts(openai_rows, "messages[-1].content") == last
    assert _native.select_texts(openai_rows, "meta.lang") == ["en"] * 8
    roles = _native.select_texts(openai_rows, "messages[*].role")
    assert roles[7] == "system\nuser\nassistant\ntool\nassistant"
    with pytest.raises(ValueError, match="chat: expected user, assistant"):
        _native.select_texts(openai_rows, "messages", "users")


def test_dedup_by_turn_matches_the_cli(openai_rows, tmp_path):
    result = semsift.dedup(openai_rows, columns=["messages"], chat="first-user")
    _same_decisions(result, _cli_removed(tmp_path, LAYOUTS / "openai.jsonl", "--chat", "first-user"))
    assert 3 in set(int(i) for i in result.removed_indices)
    assert result.summary["chat"] == "first-user"
    # kept() gives back the caller's records, whole.
    kept = result.kept(openai_rows)
    assert kept[0] is openai_rows[0] and "messages" in kept[0]


def test_arrow_tables_with_list_struct_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(LAYOUTS / "openai.parquet")
    assert pa.types.is_list(table.schema.field("messages").type)
    cli = _cli_removed(tmp_path, LAYOUTS / "openai.parquet", "-c", "messages[role=user].content")
    _same_decisions(semsift.dedup(table, columns=["messages[role=user].content"]), cli)
    _same_decisions(semsift.dedup(table, columns=["messages"], chat="user"), cli)
    # A list column read as it is needs a path or a preset.
    with pytest.raises(TypeError, match="name a path into it, or pass chat="):
        semsift.dedup(table, columns=["messages"])


def test_pandas_and_hugging_face_datasets():
    pd = pytest.importorskip("pandas")
    datasets = pytest.importorskip("datasets")
    pq = pytest.importorskip("pyarrow.parquet")
    # The conversations with every content a string, as dicts.
    plain = pq.read_table(LAYOUTS / "openai.parquet").to_pylist()
    want = semsift.dedup(plain, columns=["messages"], chat="first-user")
    for data in (pd.DataFrame(plain), datasets.Dataset.from_list(plain)):
        got = semsift.dedup(data, columns=["messages"], chat="first-user")
        assert list(got.removed_indices) == list(want.removed_indices)
        assert list(got.duplicate_of) == list(want.duplicate_of)
    frame = pd.DataFrame(plain)
    got = semsift.dedup(frame, columns=["messages[1].content"])
    assert list(got.removed_indices) == list(want.removed_indices)


def test_preference_pairs():
    rows = read_jsonl(LAYOUTS / "preference.jsonl")
    texts = [_native.select_texts(rows, c, "last-assistant") for c in ("prompt", "chosen", "rejected")]
    for row, prompt, chosen, rejected in zip(rows, *texts):
        assert prompt == row["prompt"]
        assert chosen == row["chosen"][1]["content"]
        assert rejected == row["rejected"][1]["content"]
    result = semsift.dedup(rows, columns=["prompt", "chosen"], chat="last-assistant")
    assert len(result.kept_indices) + len(result.removed_indices) == len(rows)


def test_semhash_api_takes_paths(openai_rows):
    sh = semsift.SemHash.from_records(openai_rows, columns=["messages[role=user].content"])
    dedup = sh.self_deduplicate(0.9)
    assert openai_rows[3] in [d.record for d in dedup.filtered]
    chat = semsift.SemHash.from_records(openai_rows, columns=["messages"], chat="first-user")
    assert [d.record for d in chat.self_deduplicate(0.9).filtered] == [openai_rows[3]]
    # Later calls read the same fields from new records.
    assert len(chat.deduplicate(openai_rows[:2], 0.9).selected) == 0


def test_errors_name_the_record_and_the_path(openai_rows):
    with pytest.raises(FieldPathError) as e:
        semsift.dedup(openai_rows, columns=["messages[3].content"])
    assert e.value.index == 0 and e.value.column == "messages[3].content"
    assert str(e.value) == "record 0: field 'messages[3].content': `messages` has 3 elements; index 3 is out of range"
    assert isinstance(e.value, ValueError)
    with pytest.raises(MissingColumnError, match="record 0 has no column 'metadata.lang'"):
        semsift.dedup(openai_rows, columns=["metadata.lang"])
    with pytest.raises(FieldPathError, match="record 0: field 'messages': the conversation in `messages` has no user turn"):
        semsift.dedup([{"messages": [{"role": "system", "content": "x"}]}] * 2, columns=["messages"], chat="user")
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pylist([{"m": [{"role": "user", "content": "a"}]}, {"m": []}])
    with pytest.raises(FieldPathError, match="row 1: field 'm\\[0\\].content': `m` has 0 elements"):
        semsift.dedup(table, columns=["m[0].content"])


def _templated(rows: list[dict]) -> list[dict]:
    """The example rows with a shared three-line tool header in front of each text."""
    header = (
        "toolformer: enabled\ntoolformer access: wikipedia\n"
        "A wrapper around Wikipedia. Useful for when you need to display general information about people, places, companies.\n"
    )
    return [{"instruction": header + r["text"]} for r in rows]


def test_strip_common_matches_the_plain_text_and_the_cli(example_rows, tmp_path):
    wrapped = _templated(example_rows)
    with pytest.warns(UserWarning, match="column 'instruction'.*strip_common=0.05"):
        whole = semsift.dedup(wrapped, columns=["instruction"])
    found = whole.summary["templates"][0]
    everywhere = {s["text"] for s in found["spans"] if s["kind"] == "line" and s["share"] == 1.0}
    assert everywhere == set(wrapped[0]["instruction"].split("\n")[:3])
    stripped = semsift.dedup(wrapped, columns=["instruction"], strip_common=0.5)
    plain = semsift.dedup(example_rows, columns=["text"])
    assert list(stripped.removed_indices) == list(plain.removed_indices)
    assert list(stripped.duplicate_of) == list(plain.duplicate_of)
    assert len(whole.kept_indices) < len(plain.kept_indices)
    assert stripped.summary["strip_common"] == 0.5
    assert stripped.summary["templates"][0]["stripped_rows"] == found["rows"]
    # The CLI decides the same on the same rows in a file.
    path = tmp_path / "wrapped.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in wrapped))
    cli = _cli_removed(tmp_path, path, "-c", "instruction", "--strip-common", "0.5")
    _same_decisions(stripped, cli)
    # A report records what it found.
    report = semsift.report(wrapped, columns=["instruction"], strip_common=0.5, clusters=4, out_dir=tmp_path / "r")
    assert report["strip_common"] == 0.5 and report["templates"][0]["spans"] == found["spans"]
    assert json.load(open(tmp_path / "r" / "report.json"))["templates"] == report["templates"]
    with pytest.raises(ValueError, match="strip-common"):
        semsift.dedup(wrapped, columns=["instruction"], strip_common=2.0)
