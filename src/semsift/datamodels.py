"""Result objects with SemHash 0.5's fields and methods (``semsift.SemHash`` returns them).

Differences from SemHash 0.5, on purpose:

- ``DeduplicationResult.rethreshold(t)`` works in both directions: raising the threshold
  re-runs the selection on the pairs already found; lowering it below the threshold
  searched runs a new search (SemHash raises ``ValueError``).
- A result from ``semsift.SemHash`` builds ``selected`` and ``filtered`` on first use from
  the engine's arrays, so reading only the ratios costs no Python objects per row.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Hashable, Optional, Sequence

import numpy as np

Record = Any


@dataclass
class DuplicateRecord:
    """A record filtered as a duplicate of another.

    Attributes:
        record: the filtered record.
        exact: whether it is an exact copy (of the chosen columns).
        duplicate_of: the record it duplicates (a kept record, or a record of the fitted set
            when deduplicating against it).
        score: their cosine similarity (1.0 for exact copies).
    """

    record: Record
    exact: bool
    duplicate_of: Record
    score: float

    @property
    def duplicates(self) -> list[tuple[Record, float]]:
        """Deprecated (as in SemHash): use ``duplicate_of`` and ``score``."""
        warnings.warn(
            "'duplicates' is deprecated and will be removed in a future release. Use 'duplicate_of' and 'score' instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return [(self.duplicate_of, self.score)]


@dataclass
class SelectedWithDuplicates:
    """A kept record and the records removed as its duplicates, with their scores."""

    record: Record
    duplicates: list[tuple[Record, float]] = field(default_factory=list)


@dataclass
class FilterResult:
    """Records that passed a filter (``selected``) and those that did not (``filtered``),
    with their scores."""

    selected: list[Record]
    filtered: list[Record]
    scores_selected: list[float] = field(default_factory=list)
    scores_filtered: list[float] = field(default_factory=list)

    @property
    def filter_ratio(self) -> float:
        """The share of records filtered out."""
        if denom := len(self.selected) + len(self.filtered):
            return len(self.filtered) / denom
        return 0.0

    @property
    def selected_ratio(self) -> float:
        """The share of records selected."""
        return 1 - self.filter_ratio


class _Source:
    """Where a result's records come from: the engine's decisions as arrays, and how to
    turn row numbers into records."""

    def __init__(
        self,
        native: Any,
        record: Callable[[int], Record],
        duplicate: Callable[[int], Record],
        order: str,
        group_of_row: Optional[np.ndarray],
        rerun: Callable[[float], Any],
    ) -> None:
        self.native = native
        self.arrays = native.arrays()
        self.record = record
        self.duplicate = duplicate
        self.order = order  # "groups" (self-deduplication) or "exact-first" (against)
        self.group_of_row = group_of_row
        self.rerun = rerun

    def rethreshold(self, threshold: float) -> None:
        # Below the threshold searched, the engine says None: search again.
        self.native = self.native.rethreshold(threshold) or self.rerun(threshold)
        self.arrays = self.native.arrays()


class DeduplicationResult:
    """The outcome of a deduplication, with SemHash 0.5's fields and methods.

    Attributes:
        selected: the kept records, in input order.
        filtered: a :class:`DuplicateRecord` for every removed record.
        threshold: the similarity threshold applied.
        columns: the columns compared.
    """

    def __init__(
        self,
        selected: Optional[list[Record]] = None,
        filtered: Optional[list[DuplicateRecord]] = None,
        threshold: float = 0.9,
        columns: Optional[Sequence[str]] = None,
    ) -> None:
        self._selected = list(selected) if selected is not None else []
        self._filtered = list(filtered) if filtered is not None else []
        self.threshold = threshold
        self.columns = columns
        self._source: Optional[_Source] = None

    @classmethod
    def _from_source(cls, source: _Source, threshold: float, columns: Sequence[str]) -> DeduplicationResult:
        result = cls(threshold=threshold, columns=columns)
        result._source = source
        result._selected = None  # type: ignore[assignment]
        result._filtered = None  # type: ignore[assignment]
        return result

    def __repr__(self) -> str:
        return (
            f"DeduplicationResult(selected={self._count()[0]} records, filtered={self._count()[1]} records, "
            f"threshold={self.threshold}, columns={self.columns!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeduplicationResult):
            return NotImplemented
        return (self.selected, self.filtered, self.threshold, list(self.columns or [])) == (
            other.selected,
            other.filtered,
            other.threshold,
            list(other.columns or []),
        )

    # -- fields, built on first use from the engine's arrays

    @property
    def selected(self) -> list[Record]:
        """The kept records, in input order."""
        if self._selected is None:
            src = self._source
            assert src is not None
            record = src.record
            self._selected = [record(int(i)) for i in src.arrays[0]]
        return self._selected

    @selected.setter
    def selected(self, value: list[Record]) -> None:
        self._selected = value

    @property
    def filtered(self) -> list[DuplicateRecord]:
        """The removed records, each with the record it duplicates. Ordered as SemHash
        orders them: by exact-copy group then row (self-deduplication), exact copies first
        then the rest in input order (against a fitted set)."""
        if self._filtered is None:
            src = self._source
            assert src is not None
            _, removed, dup, score, exact = src.arrays
            if src.order == "groups":
                assert src.group_of_row is not None
                order = np.lexsort((removed, src.group_of_row[removed]))
            else:
                order = np.lexsort((removed, ~exact))
            record, duplicate = src.record, src.duplicate
            self._filtered = [
                DuplicateRecord(record=record(int(removed[k])), exact=bool(exact[k]), duplicate_of=duplicate(int(dup[k])), score=float(score[k]))
                for k in order
            ]
        return self._filtered

    @filtered.setter
    def filtered(self, value: list[DuplicateRecord]) -> None:
        self._filtered = value

    def _count(self) -> tuple[int, int, int]:
        """(selected, filtered, exact) without building records when they are not built."""
        if self._source is not None and self._selected is None:
            kept, removed, _, _, exact = self._source.arrays
            return len(kept), len(removed), int(np.count_nonzero(exact))
        return len(self.selected), len(self.filtered), sum(1 for d in self.filtered if d.exact)

    @property
    def duplicate_ratio(self) -> float:
        """The share of records removed."""
        kept, removed, _ = self._count()
        return 1.0 - kept / (kept + removed) if kept + removed else 0.0

    @property
    def exact_duplicate_ratio(self) -> float:
        """The share of records removed as exact copies."""
        kept, removed, exact = self._count()
        return exact / (kept + removed) if kept + removed else 0.0

    def get_least_similar_from_duplicates(self, n: int = 1) -> list[tuple[Record, Record, float]]:
        """The ``n`` removed records least similar to the record they duplicate, as
        ``(record, duplicate_of, score)``, lowest score first."""
        pairs = [(d.record, d.duplicate_of, d.score) for d in self.filtered]
        return sorted(pairs, key=lambda x: x[2])[:n]

    def rethreshold(self, threshold: float) -> None:
        """Decides again at ``threshold``, higher or lower than the current one (SemHash
        allows only higher). Higher thresholds and any threshold not below the one
        searched reuse the pairs already found; a lower one searches again."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {threshold} is outside (0, 1]")
        self.__dict__.pop("selected_with_duplicates", None)
        if self._source is not None:
            self._source.rethreshold(threshold)
            self._selected = None  # type: ignore[assignment]
            self._filtered = None  # type: ignore[assignment]
        else:
            # A result built by hand: SemHash's rule (raise only; drop pairs below it).
            if self.threshold > threshold:
                raise ValueError("Threshold is smaller than the given value.")
            kept = []
            for dup in self.filtered:
                if dup.score >= threshold:
                    kept.append(dup)
                else:
                    self.selected.append(dup.record)
            self.filtered = kept
        self.threshold = threshold

    @cached_property
    def selected_with_duplicates(self) -> list[SelectedWithDuplicates]:
        """Each kept record with the records removed as its duplicates and their scores."""
        columns = set(self.columns) if self.columns is not None else None

        def key(record: Record) -> Hashable:
            if isinstance(record, dict) and columns is not None:
                return tuple(sorted((k, str(record.get(k))) for k in columns))
            return str(record)

        buckets: defaultdict[Hashable, list[tuple[Record, float]]] = defaultdict(list)
        for dup in self.filtered:
            buckets[key(dup.duplicate_of)].append((dup.record, dup.score))
        return [SelectedWithDuplicates(record=s, duplicates=buckets.get(key(s), [])) for s in self.selected]
