"""Every kind of `model`: omitted (the bundled model), a folder path, a semsift Model, and
any Python object with encode() (model2vec's StaticModel, a class of one's own)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BUNDLED, ROOT

import semsift
from semsift import EncoderError, SemHash


def _decisions(result):
    return [int(i) for i in result.kept_indices], [int(i) for i in result.duplicate_of]


def test_static_model_encode_matches_model2vec(model2vec_model, near_duplicates):
    ours = semsift.StaticModel.from_pretrained(BUNDLED).encode(near_duplicates[:200])
    assert ours.dtype == np.float32 and ours.shape == (200, 256)
    assert ours.flags["C_CONTIGUOUS"] and not ours.flags["OWNDATA"], "handed over from Rust without a copy"
    theirs = model2vec_model.encode(near_duplicates[:200])
    # model2vec returns this float16 model's vectors in float16; semsift computes in float32.
    assert theirs.dtype == np.float16
    np.testing.assert_allclose(ours, theirs.astype(np.float32), atol=1e-3)
    assert semsift.load_model().encode(["x"]).shape == (1, 256)


def test_every_model_kind_gives_the_same_decisions(model2vec_model, near_duplicates):
    class Wrapper:
        """Any object with encode(list[str]) -> array."""

        calls = 0

        def encode(self, texts):
            Wrapper.calls += 1
            return model2vec_model.encode(texts).tolist()  # a list of lists is fine too

    base = semsift.dedup(near_duplicates, threshold=0.85, index="exact")
    for model in [None, str(BUNDLED), BUNDLED, semsift.load_model(BUNDLED)]:
        r = semsift.dedup(near_duplicates, threshold=0.85, index="exact", model=model)
        assert _decisions(r) == _decisions(base), type(model)
        np.testing.assert_array_equal(r.score, base.score)
        s = SemHash.from_records(near_duplicates, model=model, index="exact").self_deduplicate(0.85)
        assert len(s.selected) == len(base.kept_indices)
    # Python encoders: model2vec's float16 vectors move scores by up to ~1e-3, so only rows
    # that close to the threshold may be decided otherwise.
    scores = dict(zip(map(int, base.removed_indices), map(float, base.score)))
    for model in [model2vec_model, Wrapper()]:
        r = semsift.dedup(near_duplicates, threshold=0.85, index="exact", model=model)
        theirs = dict(zip(map(int, r.removed_indices), map(float, r.score)))
        for row in set(scores) ^ set(theirs):
            assert abs(scores.get(row, theirs.get(row)) - 0.85) < 2e-3, row
        assert len(set(scores) ^ set(theirs)) <= 3
        for row in set(scores) & set(theirs):
            assert abs(scores[row] - theirs[row]) < 2e-3
    assert Wrapper.calls >= 1


def test_python_encoders_are_called_in_batches(monkeypatch, model2vec_model):
    from semsift import models

    monkeypatch.setattr(models, "ENCODE_BATCH", 64)
    sizes = []

    class Counting:
        def encode(self, texts):
            sizes.append(len(texts))
            return model2vec_model.encode(texts)

    texts = [f"row number {i} about topic {i % 17}" for i in range(300)]
    semsift.dedup(texts, model=Counting())
    assert sizes == [64, 64, 64, 64, 44]


def test_transformer_folder(near_duplicates):
    path = ROOT / "models" / "all-MiniLM-L6-v2"
    if not (path / "model.safetensors").exists():
        pytest.fail(f"{path} missing: scripts/test.sh fetches it (scripts/fetch-minilm.sh)")
    model = semsift.load_model(path)
    assert model.dim == 384
    v = model.encode(["A man is eating food.", "A man is eating a piece of bread.", "The girl plays the violin."])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > 0.6 > sim[0, 2]
    r = semsift.dedup(near_duplicates[:120], model=model, threshold=0.95)
    assert 0 < len(r.removed_indices) < 120


@pytest.mark.parametrize(
    "output,message",
    [
        (lambda texts: np.zeros((len(texts) + 1, 8)), r"shape \(\d+, 8\) for \d+ texts"),
        (lambda texts: np.zeros(len(texts)), r"shape \(\d+,\)"),
        (lambda texts: np.zeros((len(texts), 0)), r"shape \(\d+, 0\)"),
        (lambda texts: "not an array", "not an array of numbers"),
    ],
)
def test_encoder_returning_the_wrong_shape(output, message):
    class Bad:
        def encode(self, texts):
            return output(texts)

    with pytest.raises(EncoderError, match=message):
        semsift.dedup(["a", "b", "c"], model=Bad())
    with pytest.raises(ValueError):  # EncoderError is a ValueError
        SemHash.from_records(["a", "b"], model=Bad())


def test_bad_model_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        semsift.dedup(["a"], model=str(tmp_path / "nope"))
    with pytest.raises(TypeError, match="model must be"):
        semsift.dedup(["a"], model=42)
    (tmp_path / "empty").mkdir()
    with pytest.raises(semsift.SemsiftError):
        semsift.load_model(tmp_path / "empty")


def test_the_device_path_from_python(near_duplicates):
    """device="candle-cpu" runs the device code (static rows averaged there, f16
    products rescored in f32, k-means there) on the CPU. On the CPU's vectors (a loaded
    Model embeds where it was loaded) the decisions are exact search's; embedded on the
    device, the vectors differ in their last bits, so the same rows are kept and only
    near-ties may name another duplicate; the report has the same topics; summaries say
    where each stage ran."""
    cpu_model = semsift.load_model(None)
    base = semsift.dedup(near_duplicates, threshold=0.85, index="exact")
    assert base.summary["devices"] == {"embed": "cpu", "index": "cpu", "search": "cpu", "select": "cpu"}
    for index in ["exact", "ivf"]:
        r = semsift.dedup(near_duplicates, threshold=0.85, index=index, model=cpu_model, device="candle-cpu")
        assert r.summary["devices"] == {"embed": "cpu", "index": "candle-cpu", "search": "candle-cpu", "select": "cpu"}
        assert _decisions(r) == _decisions(base), index
        np.testing.assert_array_equal(r.score, base.score)
    half = len(near_duplicates) // 2
    new, old = near_duplicates[half:], near_duplicates[:half]
    want = semsift.dedup(new, against=old, threshold=0.85, index="exact")
    got = semsift.dedup(new, against=old, threshold=0.85, index="exact", model=cpu_model, device="candle-cpu")
    assert _decisions(got) == _decisions(want)
    np.testing.assert_array_equal(got.score, want.score)
    embedded = semsift.dedup(new, against=old, threshold=0.85, index="exact", device="candle-cpu")
    assert embedded.summary["devices"]["embed"] == "candle-cpu"
    assert list(embedded.kept_indices) == list(want.kept_indices)
    np.testing.assert_allclose(embedded.score, want.score, atol=1e-5)
    cpu = semsift.report(near_duplicates, clusters=6)
    dev = semsift.report(near_duplicates, clusters=6, device="candle-cpu")
    assert dev["devices"] == {"embed": "candle-cpu", "cluster": "candle-cpu", "near_duplicates": "candle-cpu"}
    assert [t["input"]["rows"] for t in dev["topics"]] == [t["input"]["rows"] for t in cpu["topics"]]
    assert [t["near_duplicates"] for t in dev["topics"]] == [t["near_duplicates"] for t in cpu["topics"]]
    with pytest.raises(ValueError, match="tpu"):
        semsift.dedup(near_duplicates, device="tpu")
