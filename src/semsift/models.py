"""Encoders: semsift's own (the bundled model, model2vec and sentence-transformers folders,
run in Rust) and any Python object with ``encode(list[str]) -> array``."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from semsift import _native
from semsift.errors import EncoderError

Model = _native.Model
"""A semsift encoder (Rust). ``encode(texts)`` returns a ``(len(texts), dim)`` float32 array
made in Rust and handed to NumPy without a copy."""

#: Texts per call to a Python encoder's ``encode``.
ENCODE_BATCH = 8192

_bundled: Model | None = None


def load_model(
    path: str | os.PathLike[str] | None = None, device: str = "cpu", batch_size: int = 64, precision: str = "f16"
) -> Model:
    """The model in folder ``path`` (a model2vec static model or a sentence-transformers
    BERT, e.g. all-MiniLM-L6-v2 from ``scripts/fetch-minilm.sh``), or the bundled default
    model when ``path`` is ``None``. Nothing is downloaded. ``device``: ``"cpu"``,
    ``"cuda[:N]"`` (a CUDA build) or ``"candle-cpu"`` (the device code run on the CPU);
    on a device a transformer runs in ``precision`` (``"f16"`` or ``"f32"``) and a static
    model averages its rows there."""
    global _bundled
    if path is None:
        if device != "cpu":
            return Model.bundled(device=device)
        if _bundled is None:
            _bundled = Model.bundled()
        return _bundled
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no such model folder (semsift loads models from files, never from a hub)")
    return Model.load(path, device=device, batch_size=batch_size, precision=precision)


class StaticModel:
    """model2vec's entry point, for code that builds its model as
    ``StaticModel.from_pretrained(path)``: returns a semsift :class:`Model`."""

    @staticmethod
    def from_pretrained(path: str | os.PathLike[str] | None = None, **_: Any) -> Model:
        """The static model in folder ``path`` (model2vec layout); ``None``: the bundled model.
        Hub names are not fetched: pass a folder."""
        return load_model(path)


class PythonEncoder:
    """Adapts an object with ``encode(list[str]) -> array`` (a model2vec ``StaticModel``, a
    sentence-transformers model): called in batches, each result checked for shape."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.name = f"python:{type(model).__module__}.{type(model).__qualname__}"

    def encode_column(self, texts: Sequence[str], column: str, progress: Optional[Callable[..., None]] = None) -> np.ndarray:
        parts = []
        dim = None
        if progress:
            progress("begin", f"encode {column}", len(texts))
        for start in range(0, len(texts), ENCODE_BATCH):
            batch = list(texts[start : start + ENCODE_BATCH])
            out = self.model.encode(batch)
            try:
                arr = np.asarray(out, dtype=np.float32)
            except (TypeError, ValueError) as e:
                raise EncoderError(
                    f"{self.name}.encode returned {type(out).__name__}, not an array of numbers, for column {column!r}"
                ) from e
            if arr.ndim != 2 or arr.shape[0] != len(batch) or (dim is not None and arr.shape[1] != dim) or arr.shape[1] == 0:
                want = f"({len(batch)}, {dim if dim is not None else 'dim'})"
                raise EncoderError(
                    f"{self.name}.encode returned an array of shape {arr.shape} for {len(batch)} texts of column "
                    f"{column!r}; expected {want}: one vector per text"
                )
            dim = arr.shape[1]
            parts.append(arr)
            if progress:
                progress("advance", "", len(batch))
        if progress:
            progress("end", "", None)
        if not parts:
            raise EncoderError("no texts to encode")
        return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def resolve(model: Any, device: str = "cpu") -> Model | PythonEncoder:
    """A usable encoder for a ``model`` argument: ``None`` (the bundled model), a folder
    path (both loaded to run on ``device``), a semsift :class:`Model`, or any object with
    a callable ``encode``."""
    if model is None:
        return load_model(None, device=device)
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        return load_model(model, device=device)
    if callable(getattr(model, "encode", None)):
        return PythonEncoder(model)
    raise TypeError(
        f"model must be None, a model folder path, a semsift Model or an object with encode(list[str]), "
        f"got {type(model).__name__}"
    )


def embed(rows: _native.RowSet, encoder: Model | PythonEncoder, columns: Sequence[str], progress: Any = None) -> None:
    """Gives ``rows`` one vector per unique row: in Rust for a semsift model, otherwise
    each column through the Python encoder, concatenated (normalised in Rust)."""
    if isinstance(encoder, Model):
        rows.embed(encoder, progress=progress)
        return
    parts = [encoder.encode_column(rows.unique_texts(c, True), name, progress) for c, name in enumerate(columns)]
    vectors = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    rows.set_vectors(np.ascontiguousarray(vectors, dtype=np.float32), fingerprint=encoder.name)
