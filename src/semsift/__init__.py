"""semsift: semantic deduplication, contamination checks and topic-coverage reports for
LLM training datasets, in Rust, from Python.

Two APIs over one engine:

- ``SemHash`` — a drop-in for SemHash 0.5 (``from semsift import SemHash``): the same
  constructors, methods and result objects.
- The native API — ``dedup(data, columns=..., threshold=...)`` over lists, pandas
  DataFrames, pyarrow Tables and Hugging Face ``datasets``, returning row indices as
  NumPy arrays; ``report(data, ...)`` for topic and coverage reports (the files of
  ``semsift report``); ``StaticModel`` / ``load_model`` for the encoders.

Compute runs in Rust with the GIL released; Ctrl-C stops a long call with
``KeyboardInterrupt``; ``progress=True`` draws a progress bar on stderr.
"""

from semsift._native import SemsiftError, __version__
from semsift.api import DedupResult, dedup, report
from semsift.datamodels import DeduplicationResult, DuplicateRecord, FilterResult, SelectedWithDuplicates
from semsift.errors import EncoderError, MissingColumnError
from semsift.models import Model, StaticModel, load_model
from semsift.pool import Decision, Pool, PoolLockedError
from semsift.semhash import SemHash, Strategy

__all__ = [
    "Decision",
    "DedupResult",
    "DeduplicationResult",
    "DuplicateRecord",
    "EncoderError",
    "FilterResult",
    "MissingColumnError",
    "Model",
    "Pool",
    "PoolLockedError",
    "SelectedWithDuplicates",
    "SemHash",
    "SemsiftError",
    "StaticModel",
    "Strategy",
    "__version__",
    "dedup",
    "load_model",
    "report",
]
