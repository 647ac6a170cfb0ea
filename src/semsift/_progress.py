"""Progress bars for long calls: tqdm when it is installed, a plain stderr bar otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

Callback = Callable[[str, str, Optional[int]], None]


class _Bar:
    """Receives the engine's ``(event, stage, n)`` reports and draws one bar per stage."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._stage = ""
        self._done = 0
        self._total: int | None = None
        self._start = 0.0
        try:
            from tqdm.auto import tqdm  # noqa: PLC0415 (optional dependency)

            self._tqdm: Any = tqdm
        except ImportError:
            self._tqdm = None

    def __call__(self, event: str, stage: str, n: int | None) -> None:
        if event == "begin":
            self._close()
            self._stage, self._total, self._done, self._start = stage, n, 0, time.monotonic()
            if self._tqdm is not None:
                self._bar = self._tqdm(total=n, desc=stage, unit="row", leave=False)
            else:
                self._draw()
        elif event == "advance" and n:
            self._done += n
            if self._bar is not None:
                self._bar.update(n)
            else:
                self._draw()
        elif event == "end":
            self._close()

    def _draw(self, end: str = "") -> None:
        elapsed = time.monotonic() - self._start
        if self._total:
            width = 30
            filled = int(width * self._done / self._total)
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r{self._stage:>8} [{bar}] {self._done}/{self._total} {elapsed:.1f}s"
        else:
            text = f"\r{self._stage:>8} {self._done} {elapsed:.1f}s"
        sys.stderr.write(text + end)
        sys.stderr.flush()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._stage:
            self._draw("\n")
        self._stage = ""


def callback(progress: bool | Callback | None) -> Callback | None:
    """The engine callback for a ``progress`` argument: ``True`` draws a bar, a callable
    is called as ``progress(event, stage, n)``, ``False``/``None`` reports nothing."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return _Bar()
    if callable(progress):
        return progress
    raise TypeError(f"progress must be a bool or a callable, got {type(progress).__name__}")
