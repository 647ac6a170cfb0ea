"""Shared fixtures for the Python package's tests (run by scripts/test.sh after `pip install .`)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "models" / "minilm-l6-static-256"
SHARED = ROOT.parent / "shared" / "data"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def example_rows() -> list[dict]:
    """tests/data/example.jsonl: 62 rows with exact and near duplicates."""
    return read_jsonl(ROOT / "tests" / "data" / "example.jsonl")


@pytest.fixture(scope="session")
def near_duplicates() -> list[str]:
    """420 real sentences (DBpedia abstracts) and, mixed in, 300 edited copies of some of
    them (a word dropped, case changed, punctuation added, words swapped, exact copies):
    near duplicates at a spread of similarities."""
    texts = [r["text"] for r in read_jsonl(ROOT / "tests" / "data" / "dbpedia_topics.jsonl")]
    rng = random.Random(7)
    out = list(texts)
    for _ in range(300):
        words = rng.choice(texts).split()
        edit = rng.randrange(5)
        if edit == 0 and len(words) > 3:
            del words[rng.randrange(len(words))]
        elif edit == 1:
            words = [w.upper() if rng.random() < 0.3 else w for w in words]
        elif edit == 2:
            words.append(rng.choice(["!", "indeed", "(citation needed)", "."]))
        elif edit == 3 and len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        out.insert(rng.randrange(len(out) + 1), " ".join(words))
    return out


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data; skipped where it is absent (a user's clone), a
    failure where SEMSIFT_REQUIRE_SHARED is set (CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("SEMSIFT_REQUIRE_SHARED"):
            pytest.fail(f"{path} is missing but SEMSIFT_REQUIRE_SHARED is set")
        pytest.skip(f"{path} not present (team data, ../shared)")
    return path


@pytest.fixture(scope="session")
def model2vec_model():
    """The bundled model's folder loaded by Python model2vec: the same model, run by a
    third-party encoder."""
    from model2vec import StaticModel

    return StaticModel.from_pretrained(str(BUNDLED))
