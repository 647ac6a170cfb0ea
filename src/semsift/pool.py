"""``Pool``: a persistent pool of rows that accepts only new ones, for generation loops.

A Self-Instruct / Evol-Instruct / DEITA-style loop proposes candidates and keeps those not
too similar to what it already holds (nor to a benchmark's test set)::

    from semsift import Pool

    pool = Pool.create("pool/", threshold=0.9)          # or Pool.open("pool/")
    tests = Pool.open("mmlu-test/", readonly=True)      # a pool of test-set rows
    for round in range(10):
        decisions = pool.add(generate(pool.sample(8)), blocklists=[tests])
        print(sum(d.accepted for d in decisions), "new rows;", len(pool), "in all")

Each candidate is compared with the pool **and with the candidates accepted before it in the
same call**, in order, and rejected when one of them (or a blocklist row) is at least the
pool's threshold similar or has the same text. Adding rows in any number of batches accepts
exactly what one ``semsift dedup --index exact --precision f16`` of their concatenation
keeps. The pool lives on disk (``semsift pool`` works on the same folder): when ``add``
returns its rows are synced, one writer at a time holds it (another gets
:class:`PoolLockedError`), and any number of readers may open it.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from semsift import _native
from semsift._data import records_to_columns
from semsift._progress import callback
from semsift.models import Model, load_model

PoolLockedError = _native.PoolLockedError


@dataclass(frozen=True)
class Decision:
    """What :meth:`Pool.add` decided for one candidate.

    ``id`` is the pool id it got (``None`` when rejected). ``nearest_id`` / ``score`` name
    the most similar row of the pool or of the candidates accepted before it (``exact``:
    the same text; ``in_batch``: accepted earlier in the same call); ``None`` only for the
    first candidate of an empty pool. ``blocked_by`` is the folder of the blocklist pool
    with a row at least the threshold similar (``blocked_id``, ``blocked_score``), if any.
    """

    record: Any
    accepted: bool
    id: Optional[int]
    nearest_id: Optional[int]
    score: Optional[float]
    exact: bool
    in_batch: bool
    blocked_by: Optional[str]
    blocked_id: Optional[int]
    blocked_score: Optional[float]


class Pool:
    """A pool on disk; see the module docs. Use :meth:`create` or :meth:`open`."""

    def __init__(self, handle: Any, path: str, model: Model, readonly: bool) -> None:
        self._handle = handle
        self._path = path
        self._model = model
        self._readonly = readonly
        self._settings = json.loads(handle.settings_json())

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        model: str | os.PathLike[str] | None = None,
        columns: Sequence[str] = ("text",),
        threshold: float = 0.9,
        exact: bool = False,
    ) -> "Pool":
        """Creates an empty pool in folder ``path`` for the model in folder ``model`` (the
        bundled one when ``None``), embedding ``columns``, rejecting candidates at cosine
        ≥ ``threshold``; open for writing. ``exact``: score candidates against every row
        however large the pool grows (by default segments of 65,536 rows or more are
        searched through k-means cells, which may miss a rare match)."""
        if isinstance(columns, str):
            columns = [columns]
        encoder = load_model(model)
        model_path = None if model is None else os.path.abspath(os.fspath(model))
        handle = _native.PoolHandle.create(
            os.fspath(path), encoder, list(columns), float(threshold), model_path, bool(exact)
        )
        return cls(handle, os.fspath(path), encoder, readonly=False)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        model: str | os.PathLike[str] | None = None,
    ) -> "Pool":
        """Opens the pool in ``path``: for writing (its lock; :class:`PoolLockedError` when
        another process holds it) or, with ``readonly``, for reading. Its model is loaded
        from the folder recorded at creation, or from ``model`` when it has moved."""
        handle = _native.PoolHandle.open(os.fspath(path), not readonly)
        settings = json.loads(handle.settings_json())
        encoder = load_model(model if model is not None else settings["model_path"])
        if encoder.fingerprint != settings["model"]:
            handle.close()
            raise ValueError(
                f"pool {os.fspath(path)} holds vectors of model {settings['model']!r}; "
                f"the model loaded is {encoder.fingerprint!r}"
            )
        return cls(handle, os.fspath(path), encoder, readonly=readonly)

    @property
    def path(self) -> str:
        """The pool's folder."""
        return self._path

    @property
    def threshold(self) -> float:
        """A candidate this similar to a pool row is rejected."""
        return float(self._settings["threshold"])

    @property
    def columns(self) -> list[str]:
        """The columns embedded."""
        return list(self._settings["columns"])

    def __len__(self) -> int:
        return len(self._handle)

    def _records(self, records: Sequence[Any]) -> tuple[list[list[str]], list[str]]:
        """Each record's column texts, and the JSON object stored for it."""
        if isinstance(records, (str, bytes)):
            raise TypeError("records must be a list of strings or of dicts, got a string")
        records = list(records)
        if not records:
            return [], []
        cols, _, _ = records_to_columns(records, self.columns if not isinstance(records[0], str) else None)
        if isinstance(records[0], str) and self.columns != ["text"]:
            raise ValueError(f"this pool embeds columns {self.columns}: pass dicts with them")
        texts = [list(t) for t in zip(*cols)]
        if isinstance(records[0], str):
            rows = [json.dumps({"text": r}, ensure_ascii=False) for r in records]
        else:
            rows = [json.dumps(r, ensure_ascii=False, default=str) for r in records]
        return texts, rows

    def add(
        self,
        records: Sequence[Any],
        *,
        blocklists: Sequence["Pool"] = (),
        dry_run: bool = False,
        progress: Any = False,
    ) -> list[Decision]:
        """Decides ``records`` (strings, or dicts holding the pool's columns) in order and
        appends the accepted ones (on disk when this returns; nothing with ``dry_run``).
        Dicts are stored whole. Returns one :class:`Decision` per record."""
        if self._readonly and not dry_run:
            raise ValueError(f"pool {self._path} is open read-only: open it without readonly=True to add")
        texts, rows = self._records(records)
        if not texts:
            return []
        out = self._handle.add(
            self._model, texts, rows, [b._handle for b in blocklists], dry_run, callback(progress)
        )
        decisions = []
        for record, t in zip(records, out):
            accepted, pid, nid, score, exact, in_batch, bi, bid, bscore, _bexact = t
            decisions.append(
                Decision(
                    record=record,
                    accepted=accepted,
                    id=pid if pid >= 0 else None,
                    nearest_id=nid if nid >= 0 else None,
                    score=float(score) if nid >= 0 else None,
                    exact=exact,
                    in_batch=in_batch,
                    blocked_by=blocklists[bi].path if bi >= 0 else None,
                    blocked_id=bid if bi >= 0 else None,
                    blocked_score=float(bscore) if bi >= 0 else None,
                )
            )
        return decisions

    def query(self, records: Sequence[Any], k: int = 10) -> list[list[tuple[int, float]]]:
        """The ``k`` nearest pool rows of each record (strings or dicts), as
        ``(id, score)`` pairs, most similar first."""
        texts, _ = self._records(records)
        if not texts:
            return []
        return self._handle.query(self._model, texts, int(k))

    def rows(self) -> list[Any]:
        """Every row, in id order: dicts as added (strings as ``{"text": ...}``)."""
        return [json.loads(r) for r in self._handle.rows()]

    def export(self, path: "str | os.PathLike[str]", progress: bool = False) -> int:
        """Writes every row, in id order, to ``path`` as ``{"pool_id": id, ...row}``: JSON
        Lines for ``.jsonl``, Parquet (columns inferred from the rows, ``pool_id`` first)
        for ``.parquet``. Written atomically, never inside the pool's folder; returns the rows
        written."""
        return self._handle.export(os.fspath(path), callback(progress))

    def sample(self, n: int, seed: Optional[int] = None) -> list[Any]:
        """``n`` rows drawn at random (all of them when the pool holds fewer), e.g. as
        seeds for the next round of generation."""
        rows = self.rows()
        return random.Random(seed).sample(rows, min(n, len(rows)))

    def stats(self) -> dict[str, int]:
        """Rows, segments and bytes on disk."""
        rows, segments, disk = self._handle.stats()
        return {"rows": rows, "segments": segments, "disk_bytes": disk}

    def verify(self) -> None:
        """Reads every file of the pool and checks every checksum (raises if damaged)."""
        self._handle.verify()

    def close(self) -> None:
        """Closes the pool, releasing the writer's lock."""
        self._handle.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pool({self._path!r}, rows={len(self)}, threshold={self.threshold}, columns={self.columns})"


__all__ = ["Decision", "Pool", "PoolLockedError"]
