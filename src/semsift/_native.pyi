"""Type stubs for the Rust extension module `semsift._native` (src/python/)."""

from os import PathLike
from typing import Any, Callable, Optional, Sequence

import numpy as np
import numpy.typing as npt

__version__: str
TEMPLATE_DOMINANT_FRACTION: float
TEMPLATE_MIN_SHARE: float

class SemsiftError(Exception): ...

def candidate_limit(total: int, selection: int) -> int: ...
def field_root(column: str) -> str: ...
def select_texts(records: Sequence[dict[str, Any]], column: str, chat: Optional[str] = None) -> list[str]: ...

Progress = Optional[Callable[[str, str, Optional[int]], None]]

_U64 = npt.NDArray[np.uint64]
_F32 = npt.NDArray[np.float32]

# semsift.ray's pieces (src/python/cells.rs).
def fit_centroids(sample: _F32, k: int, seed: int = 0, max_iter: int = 10) -> _F32: ...
def cell_pairs_of(
    home: _F32, home_rows: _U64, queries: _F32, query_rows: _U64, threshold: float, both_ends: bool = False
) -> tuple[_U64, _U64, _F32]: ...
def cell_matches_of(queries: _F32, query_rows: _U64, refs: _F32, ref_rows: _U64, threshold: float) -> tuple[_U64, _U64, _F32]: ...
def select_from_pairs(later: _U64, earlier: _U64, score: _F32, threshold: float) -> tuple[_U64, _U64, _F32]: ...
def write_dedup_outputs(
    input: str | PathLike[str],
    inputs: Sequence[str | PathLike[str]],
    out_dir: str | PathLike[str],
    rows: int,
    removed: _U64,
    duplicate_of: _U64,
    score: _F32,
    exact: npt.NDArray[np.bool_],
) -> str: ...

class Model:
    @staticmethod
    def bundled(device: str = "cpu") -> Model: ...
    @staticmethod
    def load(
        path: str | PathLike[str], device: str = "cpu", batch_size: int = 64, precision: str = "f16"
    ) -> Model: ...
    @property
    def dim(self) -> int: ...
    @property
    def fingerprint(self) -> str: ...
    def encode(self, texts: Sequence[str], progress: Progress = None) -> npt.NDArray[np.float32]: ...

class DedupResult:
    def arrays(
        self,
    ) -> tuple[
        npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.float32], npt.NDArray[np.bool_]
    ]: ...
    def rethreshold(self, threshold: float) -> Optional[DedupResult]: ...
    @property
    def threshold(self) -> float: ...
    @property
    def floor(self) -> float: ...
    def summary_json(self, columns: Sequence[str]) -> str: ...

class RowSet:
    @staticmethod
    def group(columns: Sequence[Sequence[str]]) -> RowSet: ...
    @staticmethod
    def group_arrow(data: Any, columns: Sequence[str], chat: Optional[str] = None) -> RowSet: ...
    @property
    def rows(self) -> int: ...
    @property
    def unique(self) -> int: ...
    @property
    def dim(self) -> int: ...
    @property
    def first_rows(self) -> npt.NDArray[np.uint64]: ...
    @property
    def group_of_row(self) -> npt.NDArray[np.uint32]: ...
    @property
    def vectors_array(self) -> npt.NDArray[np.float32]: ...
    def drop_texts(self) -> None: ...
    def unique_texts(self, column: int, embedded: bool = False) -> list[str]: ...
    def find_templates(self, columns: Sequence[str], strip: Optional[float] = None) -> str: ...
    def embed(self, model: Model, progress: Progress = None) -> None: ...
    def set_vectors(self, vectors: npt.NDArray[np.float32], fingerprint: str = ...) -> None: ...
    def dedup(
        self,
        threshold: float = 0.9,
        against: Optional[RowSet] = None,
        sweep: Sequence[float] = ...,
        target_rows: Optional[int] = None,
        index: str = "ivf",
        memory_limit: Optional[int] = None,
        progress: Progress = None,
        device: str = "cpu",
    ) -> DedupResult: ...
    def density(
        self,
        k: int = 100,
        against: Optional[RowSet] = None,
        index: str = "ivf",
        progress: Progress = None,
        device: str = "cpu",
    ) -> npt.NDArray[np.float32]: ...
    def report(
        self,
        columns: Sequence[str],
        out_dir: Optional[str] = None,
        reference: Optional[RowSet] = None,
        clusters: str = "auto",
        seed: int = 0,
        max_iter: int = 50,
        near_duplicate_threshold: float = 0.9,
        progress: Progress = None,
        chat: Optional[str] = None,
        strip_common: Optional[float] = None,
        templates: Optional[str] = None,
        reference_templates: Optional[str] = None,
        device: str = "cpu",
        map_points: int = 50000,
    ) -> str: ...
    def mmr(
        self, candidates: Sequence[int], scores: Sequence[float], count: int, diversity: float
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.float32]]: ...

class PoolLockedError(SemsiftError): ...

VerdictTuple = tuple[bool, int, int, float, bool, bool, int, int, float, bool]

class PoolHandle:
    @staticmethod
    def create(
        path: str,
        model: Model,
        columns: list[str],
        threshold: float,
        model_path: Optional[str] = None,
        exact: bool = False,
    ) -> PoolHandle: ...
    @staticmethod
    def open(path: str, writer: bool) -> PoolHandle: ...
    def settings_json(self) -> str: ...
    def stats(self) -> tuple[int, int, int]: ...
    def __len__(self) -> int: ...
    def add(
        self,
        model: Model,
        records: list[list[str]],
        rows: list[str],
        blocklists: list[PoolHandle],
        dry_run: bool = False,
        progress: Progress = None,
    ) -> list[VerdictTuple]: ...
    def query(self, model: Model, records: list[list[str]], k: int, progress: Progress = None) -> list[list[tuple[int, float]]]: ...
    def rows(self) -> list[str]: ...
    def export(self, path: str, progress: Progress = None) -> int: ...
    def verify(self) -> None: ...
    def close(self) -> None: ...
