"""semsift's native Python API: deduplicate data you already hold, get row indices back.

>>> import semsift
>>> result = semsift.dedup(["a cat sat", "a cat sat", "the dog ran"])
>>> result.kept_indices
array([0, 2], dtype=uint64)
"""

from __future__ import annotations

import json
import warnings
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np

from semsift import _data, _native, _progress, models


class DedupResult:
    """What :func:`dedup` decided, by row number.

    Attributes:
        kept_indices: the kept rows, increasing (``uint64``).
        removed_indices: the removed rows, increasing.
        duplicate_of: for each removed row, the row it duplicates (a row of ``against``
            when given).
        score: for each removed row, its cosine similarity to that row (1.0 for exact copies).
        exact: for each removed row, whether it is an exact copy.
        threshold: the threshold applied.
        summary: what ``semsift dedup`` writes to ``summary.json`` (counts, ratios, index,
            timings, the least similar removed pairs), less the file fields.
    """

    def __init__(
        self,
        native: Any,
        columns: Sequence[str],
        rerun: Any,
        threshold: float,
        extra: Optional[dict[str, Any]] = None,
    ) -> None:
        self._columns = list(columns)
        # What the summary says beyond the engine's: chat, strip_common, templates.
        self._extra = {k: v for k, v in (extra or {}).items() if v is not None}
        self._rerun = rerun
        self._set(native, threshold)

    def _set(self, native: Any, threshold: float) -> None:
        self._native = native
        self._threshold = float(threshold)
        self.kept_indices, self.removed_indices, self.duplicate_of, self.score, self.exact = native.arrays()
        self._summary: Optional[dict[str, Any]] = None

    @property
    def threshold(self) -> float:
        """The threshold applied."""
        return self._threshold

    @property
    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            self._summary = json.loads(self._native.summary_json(self._columns))
            self._summary.update(self._extra)
        return self._summary

    @property
    def removed(self) -> dict[str, np.ndarray]:
        """The removed rows as columns: ``row``, ``duplicate_of``, ``score``, ``exact``."""
        return {"row": self.removed_indices, "duplicate_of": self.duplicate_of, "score": self.score, "exact": self.exact}

    @property
    def duplicate_ratio(self) -> float:
        n = len(self.kept_indices) + len(self.removed_indices)
        return len(self.removed_indices) / n if n else 0.0

    @property
    def exact_duplicate_ratio(self) -> float:
        n = len(self.kept_indices) + len(self.removed_indices)
        return int(np.count_nonzero(self.exact)) / n if n else 0.0

    def kept(self, data: Any) -> Any:
        """The kept rows of ``data`` (the object deduplicated), as the same kind of object:
        a list, a pandas DataFrame (``iloc``), a pyarrow Table (``take``) or a ``datasets.Dataset``
        (``select``)."""
        idx = self.kept_indices
        if hasattr(data, "iloc"):
            return data.iloc[idx]
        if type(data).__module__.startswith("datasets") and hasattr(data, "select"):
            return data.select(idx)
        if hasattr(data, "take") and not isinstance(data, np.ndarray):
            return data.take(idx)
        return [data[int(i)] for i in idx]

    def to_pandas(self) -> Any:
        """The removed rows as a pandas DataFrame."""
        import pandas as pd  # noqa: PLC0415 (optional dependency)

        return pd.DataFrame(self.removed)

    def rethreshold(self, threshold: float) -> DedupResult:
        """The decisions at another threshold, in place: from the pairs already found when
        ``threshold`` is not below the one searched, by a new search otherwise."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {threshold} is outside (0, 1]")
        self._set(self._native.rethreshold(threshold) or self._rerun(threshold), threshold)
        return self

    def __repr__(self) -> str:
        return f"DedupResult(kept={len(self.kept_indices)}, removed={len(self.removed_indices)}, threshold={self.threshold})"


class _Prepared(NamedTuple):
    cb: Any
    rows: _native.RowSet
    ref: Optional[_native.RowSet]
    columns: list[str]
    #: Per set (input, reference), what its columns have in common (``templates``).
    templates: list[Optional[list[dict[str, Any]]]]


def _prepare(
    data: Any,
    other: Any,
    columns: Any,
    chat: Optional[str],
    strip_common: Optional[float],
    model: Any,
    progress: Any,
    device: str = "cpu",
) -> _Prepared:
    """The progress callback, ``data`` and ``other`` (the reference, or ``None``) grouped
    and embedded with ``model`` (common text stripped with ``strip_common``), the columns,
    and each set's common text."""
    cb = _progress.callback(progress)
    encoder = models.resolve(model, device)
    sets: list[Optional[_native.RowSet]] = []
    templates: list[Optional[list[dict[str, Any]]]] = []
    for name, d in (("data", data), ("reference", other)):
        if d is None:
            sets.append(None)
            templates.append(None)
            continue
        rows, columns, _ = _data.group(d, columns, chat)
        found = json.loads(rows.find_templates(columns, strip_common))
        for t in found:
            if strip_common is None and t["template_fraction"] >= _native.TEMPLATE_DOMINANT_FRACTION:
                top = t["spans"][0]
                warnings.warn(
                    f"{name}: column {t['column']!r}: {t['template_fraction']:.0%} of the text to embed is "
                    f"shared by many rows (e.g. {top['text'][:80]!r}, in {top['share']:.0%} of rows); "
                    f"strip_common={_native.TEMPLATE_MIN_SHARE} leaves it out of what is embedded",
                    stacklevel=3,
                )
        models.embed(rows, encoder, columns, cb)
        sets.append(rows)
        templates.append(found)
    return _Prepared(cb, sets[0], sets[1], columns, templates)


def dedup(
    data: Any,
    columns: Sequence[str] | str | None = None,
    threshold: float = 0.9,
    against: Any = None,
    model: Any = None,
    index: str = "ivf",
    sweep: Sequence[float] = (),
    target_rows: Optional[int] = None,
    memory_limit: Optional[int] = None,
    progress: Any = False,
    chat: Optional[str] = None,
    strip_common: Optional[float] = None,
    device: str = "cpu",
) -> DedupResult:
    """Semantic deduplication of ``data`` (SemHash semantics, as ``semsift dedup``).

    Args:
        data: a list of strings or dicts, a pandas DataFrame, a pyarrow Table (or anything
            exporting an Arrow stream) or a Hugging Face ``datasets.Dataset``. Tables are
            read through Arrow in Rust.
        columns: the columns that identify a row (embedded separately, concatenated);
            not needed for a list of strings. A column may be a field path into nested
            values: ``meta.source``, ``messages[0].content``, ``messages[-1].content``,
            ``messages[*].content``, ``messages[role=user].content``.
        threshold: rows at least this similar (cosine) to a kept row are removed.
        against: a reference set of the same kind and columns: remove rows of ``data`` that
            appear in it (a contamination check) instead of deduplicating ``data`` itself.
        model: ``None`` (the bundled model), a model folder, a :class:`~semsift.models.Model`,
            or any object with ``encode(list[str]) -> array``.
        index: ``"ivf"`` (default), ``"hnsw"`` or ``"exact"``.
        sweep: extra thresholds to count kept rows at (in ``summary["sweep"]``).
        target_rows: choose the highest threshold (not below ``threshold``) keeping at
            most this many rows.
        memory_limit: bytes the search's candidate buffers stay within, spilling to
            sorted temporary files past it (the same decisions either way), as ``semsift
            dedup --memory-limit``; ``None``: the memory available when the call starts.
        progress: ``True`` for a progress bar, or a callable ``(event, stage, n)``.
        chat: embed these turns of conversation columns (OpenAI ``role``/``content`` or
            ShareGPT ``from``/``value`` turns): ``"user"``, ``"assistant"``, ``"all"``,
            ``"first-user"`` or ``"last-assistant"``, as ``semsift dedup --chat``.
        strip_common: leave the lines and leading/trailing spans that at least this share
            of rows have in common out of the text that is embedded (never out of the
            rows), as ``semsift dedup --strip-common``. What is common is listed under
            ``summary["templates"]`` either way, with a warning when it makes up half
            of the embedded text or more.
        device: where the heavy stages run, as ``semsift dedup --device``: ``"cpu"``,
            ``"cuda[:N]"`` (a CUDA build) or ``"candle-cpu"`` (the device code on the
            CPU). On a device, a model given by path (or the bundled one) embeds there,
            and the index and search run there; ``summary["devices"]`` says where each
            stage ran.
    """
    cb, rows, ref, columns, templates = _prepare(data, against, columns, chat, strip_common, model, progress, device)

    def run(t: float) -> Any:
        return rows.dedup(
            threshold=t,
            against=ref,
            sweep=list(sweep),
            target_rows=target_rows,
            index=index,
            memory_limit=memory_limit,
            progress=cb,
            device=device,
        )

    native = run(threshold)
    # With target_rows, the engine chose the threshold.
    extra = {"chat": chat, "strip_common": strip_common, "templates": templates[0], "reference_templates": templates[1]}
    return DedupResult(native, columns, run, threshold if target_rows is None else native.threshold, extra)


def report(
    data: Any,
    columns: Sequence[str] | str | None = None,
    reference: Any = None,
    out_dir: Any = None,
    model: Any = None,
    clusters: int | str = "auto",
    seed: int = 0,
    max_iter: int = 50,
    near_duplicate_threshold: float = 0.9,
    progress: Any = False,
    chat: Optional[str] = None,
    strip_common: Optional[float] = None,
    device: str = "cpu",
    map_points: int = 50_000,
) -> dict[str, Any]:
    """A topic and coverage report on ``data`` (as ``semsift report``): topics with
    keywords, examples, cohesion and near duplicates; diversity; and, with a
    ``reference`` set, each topic's share in both, coverage and the missing and
    over-represented topics.

    Returns the report (the schema of ``report.json``, ``semsift.report/2``); with
    ``out_dir``, also writes ``clusters.jsonl`` (every row's topic), ``report.html`` (one
    self-contained page) and ``report.json`` there. ``data`` and ``reference`` are any
    kind :func:`dedup` takes, ``columns``, ``chat`` and ``strip_common`` as there;
    ``clusters`` a number of topics or ``"auto"``; ``device`` as for :func:`dedup` (k-means
    and the near-duplicate scan run there; ``report["devices"]`` says where);
    ``map_points`` the most rows on the page's map (``--map-points``).
    """
    import os  # noqa: PLC0415

    cb, rows, ref, columns, templates = _prepare(data, reference, columns, chat, strip_common, model, progress, device)
    text = rows.report(
        columns,
        out_dir=os.fspath(out_dir) if out_dir is not None else None,
        reference=ref,
        clusters=str(clusters),
        seed=seed,
        max_iter=max_iter,
        near_duplicate_threshold=near_duplicate_threshold,
        progress=cb,
        chat=chat,
        strip_common=strip_common,
        templates=json.dumps(templates[0]),
        reference_templates=None if templates[1] is None else json.dumps(templates[1]),
        device=device,
        map_points=map_points,
    )
    return json.loads(text)
