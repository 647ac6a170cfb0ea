"""``SemHash``: SemHash 0.5's public API on semsift's engine. Code written for SemHash runs
unchanged after ``from semsift import SemHash``.

Where it differs from SemHash 0.5:

- ``model=None`` is semsift's bundled static model (no download), not potion-base-8M.
  Any object with ``encode(list[str]) -> array`` works, as in SemHash, and so do a model
  folder path and a semsift :class:`~semsift.models.Model`.
- The search is semsift's index (``index="ivf"`` by default; ``"exact"`` and ``"hnsw"``);
  ``ann_backend="basic"`` means exact search, other backends the default index.
- Rows are text: a column value must be a string, number or bool (SemHash also passes
  images to multimodal encoders).
- ``DeduplicationResult.rethreshold`` works in both directions.
- ``progress=True`` on any method draws a progress bar; Ctrl-C stops a call.
"""

from __future__ import annotations

from enum import Enum
from math import ceil
from typing import Any, Literal, Optional, Sequence

import numpy as np

from semsift import _data, _native, _progress, models
from semsift.datamodels import DeduplicationResult, FilterResult, _Source
from semsift.errors import MissingColumnError

#: Neighbours per row for the density ranking of outliers and representatives (SemHash's k).
DENSITY_NEIGHBOURS = 100


class Strategy(str, Enum):
    """Diversification strategies (pyversity's names). ``MMR`` runs in semsift's engine; the
    others need the ``pyversity`` package."""

    MMR = "mmr"
    MSD = "msd"
    DPP = "dpp"
    COVER = "cover"
    SSD = "ssd"


def _strategy_name(strategy: Any) -> str:
    value = getattr(strategy, "value", strategy)
    if not isinstance(value, str):
        raise TypeError(f"strategy must be a Strategy or its name, got {type(strategy).__name__}")
    return value.lower()


def _index_for(ann_backend: Any, index: str | None) -> str:
    if index is not None:
        return index
    name = str(getattr(ann_backend, "value", ann_backend) or "").lower()
    return "exact" if name == "basic" else "ivf"


class SemHash:
    """Semantic deduplication, outlier filtering and representative sampling over a fitted
    set of records (strings, or dicts with ``columns``)."""

    def __init__(
        self,
        rows: _native.RowSet,
        records: Sequence[Any],
        model: Any,
        columns: Sequence[str],
        was_string: bool,
        index: str = "ivf",
        progress: Any = False,
        chat: Optional[str] = None,
    ) -> None:
        self.rows = rows
        self.chat = chat
        self.records = records
        self.model = model
        self.columns = list(columns)
        self.index_kind = index
        self.progress = progress
        self._was_string = was_string
        self._encoder = models.resolve(model) if not isinstance(model, (models.PythonEncoder,)) else model
        self._ranking_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._first = rows.first_rows
        self._group_of_row = rows.group_of_row

    # -- constructors

    @classmethod
    def from_records(
        cls,
        records: Sequence[Any],
        columns: Sequence[str] | None = None,
        model: Any = None,
        ann_backend: Any = None,
        index: str | None = None,
        progress: Any = False,
        chat: Optional[str] = None,
        **kwargs: Any,
    ) -> SemHash:
        """Groups exact copies, embeds the unique records and keeps them for the calls
        that follow. ``records``: strings, or dicts with the ``columns`` to compare
        (names, or field paths such as ``messages[-1].content``). ``chat`` (a semsift
        extension): which turns of conversation columns to compare, as in
        :func:`semsift.dedup`."""
        texts, columns, kind = _data.records_to_columns(records, columns, chat)
        rows = _native.RowSet.group(texts)
        encoder = models.resolve(model)
        models.embed(rows, encoder, columns, _progress.callback(progress))
        rows.drop_texts()  # results hold the caller's records; the engine needs only vectors
        return cls(
            rows, records, model, columns, kind == _data.KIND_STRINGS, _index_for(ann_backend, index), progress, chat
        )

    @classmethod
    def from_embeddings(
        cls,
        embeddings: np.ndarray,
        records: Sequence[Any],
        model: Any,
        columns: Sequence[str] | None = None,
        ann_backend: Any = None,
        index: str | None = None,
        progress: Any = False,
        **kwargs: Any,
    ) -> SemHash:
        """Like :meth:`from_records` with vectors already computed, one row per record
        (only the first of each group of exact copies is used)."""
        if len(records) == 0:
            raise ValueError("records must not be empty")
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"embeddings must be a 2D array, got shape {embeddings.shape}")
        if embeddings.shape[0] != len(records):
            raise ValueError(
                f"Number of embeddings ({embeddings.shape[0]}) must match number of records ({len(records)})"
            )
        texts, columns, kind = _data.records_to_columns(records, columns)
        rows = _native.RowSet.group(texts)
        rows.drop_texts()
        vectors = np.ascontiguousarray(embeddings[rows.first_rows], dtype=np.float32)
        rows.set_vectors(vectors, fingerprint="python embeddings")
        return cls(rows, records, model, columns, kind == _data.KIND_STRINGS, _index_for(ann_backend, index), progress)

    # -- helpers

    def _cb(self) -> Any:
        return _progress.callback(self.progress)

    def _record(self, i: int) -> Any:
        return self.records[i]

    def _embed_records(self, records: Sequence[Any]) -> tuple[_native.RowSet, Sequence[Any]]:
        """Groups and embeds records given to a method (validated against the fitted set)."""
        if len(records) == 0:
            raise ValueError("records must not be empty")
        if isinstance(records[0], str):
            if not self._was_string:
                raise ValueError("Records were not originally strings, but you passed strings.")
            texts, _, kind = _data.records_to_columns(records, None)
        else:
            if self._was_string:
                raise ValueError("Records were originally strings, but you passed dictionaries.")
            texts, _, kind = _data.records_to_columns(records, self.columns, self.chat)
        rows = _native.RowSet.group(texts)
        models.embed(rows, self._encoder, self.columns, self._cb())
        rows.drop_texts()
        return rows, records

    # -- deduplication

    def self_deduplicate(self, threshold: float = 0.9) -> DeduplicationResult:
        """Removes records at least ``threshold`` similar to an earlier kept record; each
        removed record points to the most similar such kept record."""

        def run(t: float) -> Any:
            return self.rows.dedup(threshold=t, index=self.index_kind, progress=self._cb())

        native = run(threshold)
        source = _Source(native, self._record, self._record, "groups", self._group_of_row, run)
        return DeduplicationResult._from_source(source, threshold, self.columns)

    def deduplicate(self, records: Sequence[Any], threshold: float = 0.9) -> DeduplicationResult:
        """Removes the ``records`` that have an exact copy or a record at least
        ``threshold`` similar in the fitted set (e.g. test rows against a train set).
        ``duplicate_of`` is the fitted record."""
        rows, records = self._embed_records(records)

        def run(t: float) -> Any:
            return rows.dedup(threshold=t, against=self.rows, index=self.index_kind, progress=self._cb())

        native = run(threshold)
        source = _Source(native, records.__getitem__, self._record, "exact-first", None, run)
        return DeduplicationResult._from_source(source, threshold, self.columns)

    # -- ranking by neighbourhood density

    def _self_ranking(self) -> tuple[np.ndarray, np.ndarray]:
        """Unique rows by descending density (stable), and their scores."""
        if self._ranking_cache is None:
            scores = self.rows.density(k=DENSITY_NEIGHBOURS, index=self.index_kind, progress=self._cb())
            order = np.argsort(-scores, kind="stable")
            self._ranking_cache = (order, scores[order])
        return self._ranking_cache

    def _split(self, ranked: list[Any], scores: list[float], outlier_percentage: float) -> FilterResult:
        inliers = len(ranked) - ceil(len(ranked) * outlier_percentage)
        return FilterResult(
            selected=ranked[:inliers],
            filtered=ranked[inliers:],
            scores_selected=scores[:inliers],
            scores_filtered=scores[inliers:],
        )

    def self_filter_outliers(self, outlier_percentage: float = 0.1) -> FilterResult:
        """The fitted records ranked by their mean similarity to their 100 nearest
        neighbours; the lowest ``outlier_percentage`` are ``filtered``. Exact copies share
        their group's score and follow its first record."""
        if outlier_percentage < 0.0 or outlier_percentage > 1.0:
            raise ValueError("outlier_percentage must be between 0 and 1")
        order, scores = self._self_ranking()
        # Rows of each group, first row first.
        rows_by_group = np.argsort(self._group_of_row, kind="stable")
        starts = np.searchsorted(self._group_of_row[rows_by_group], order)
        counts = np.bincount(self._group_of_row, minlength=len(self._first))[order]
        ranked_rows = np.concatenate([rows_by_group[s : s + c] for s, c in zip(starts, counts)]) if len(order) else order
        ranked_scores = np.repeat(scores, counts)
        return self._split([self.records[int(i)] for i in ranked_rows], [float(s) for s in ranked_scores], outlier_percentage)

    def filter_outliers(self, records: Sequence[Any], outlier_percentage: float = 0.1) -> FilterResult:
        """``records`` ranked by their mean similarity to their 100 nearest fitted records;
        the lowest ``outlier_percentage`` are ``filtered``."""
        if outlier_percentage < 0.0 or outlier_percentage > 1.0:
            raise ValueError("outlier_percentage must be between 0 and 1")
        rows, records = self._embed_records(records)
        scores = rows.density(k=DENSITY_NEIGHBOURS, against=self.rows, index=self.index_kind, progress=self._cb())
        per_row = scores[rows.group_of_row]
        order = np.argsort(-per_row, kind="stable")
        return self._split([records[int(i)] for i in order], [float(per_row[i]) for i in order], outlier_percentage)

    def _diversify(
        self,
        rows: _native.RowSet,
        candidates: np.ndarray,
        relevance: np.ndarray,
        records: list[Any],
        selection_size: int,
        diversity: float,
        strategy: Any,
    ) -> FilterResult:
        if len(records) == 0:
            return FilterResult(selected=[], filtered=[], scores_selected=[], scores_filtered=[])
        name = _strategy_name(strategy)
        if name == "mmr":
            picks, gains = rows.mmr(candidates.astype(np.uint32), relevance.astype(np.float32), selection_size, diversity)
            picks = [int(p) for p in picks]
            gains = [float(g) for g in gains]
        else:
            try:
                from pyversity import diversify  # noqa: PLC0415 (optional dependency)
            except ImportError as e:
                raise ValueError(f"strategy {name!r} needs the pyversity package (MMR runs in semsift)") from e
            vectors = rows.vectors_array[candidates]
            result = diversify(embeddings=vectors, scores=np.asarray(relevance, dtype=np.float64), k=selection_size, strategy=name, diversity=diversity)
            picks = [int(p) for p in result.indices]
            gains = [float(g) for g in result.selection_scores]
        chosen = set(picks)
        return FilterResult(
            selected=[records[i] for i in picks],
            filtered=[r for i, r in enumerate(records) if i not in chosen],
            scores_selected=gains,
            scores_filtered=[float(s) for i, s in enumerate(relevance) if i not in chosen],
        )

    def self_find_representative(
        self,
        selection_size: int = 10,
        candidate_limit: int | Literal["auto"] = "auto",
        diversity: float = 0.5,
        strategy: Any = Strategy.MMR,
    ) -> FilterResult:
        """``selection_size`` central and diverse fitted records: the densest
        ``candidate_limit`` unique records, diversified (maximal marginal relevance by default)."""
        order, scores = self._self_ranking()
        if candidate_limit == "auto":
            candidate_limit = _native.candidate_limit(len(order), selection_size)
        cand = order[:candidate_limit]
        records = [self.records[int(self._first[g])] for g in cand]
        return self._diversify(self.rows, cand, scores[:candidate_limit], records, selection_size, diversity, strategy)

    def find_representative(
        self,
        records: Sequence[Any],
        selection_size: int = 10,
        candidate_limit: int | Literal["auto"] = "auto",
        diversity: float = 0.5,
        strategy: Any = Strategy.MMR,
    ) -> FilterResult:
        """Like :meth:`self_find_representative` over ``records``, ranked by their density
        among the fitted records."""
        rows, records = self._embed_records(records)
        scores = rows.density(k=DENSITY_NEIGHBOURS, against=self.rows, index=self.index_kind, progress=self._cb())
        group = rows.group_of_row
        per_row = scores[group]
        order = np.argsort(-per_row, kind="stable")
        if candidate_limit == "auto":
            candidate_limit = _native.candidate_limit(len(order), selection_size)
        top = order[:candidate_limit]
        return self._diversify(rows, group[top], per_row[top], [records[int(i)] for i in top], selection_size, diversity, strategy)


__all__ = ["MissingColumnError", "SemHash", "Strategy"]
