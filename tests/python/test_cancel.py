"""Long calls release the GIL, report progress, and stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import semsift


@pytest.fixture(scope="module")
def big():
    """60,000 distinct rows: an exact search over them takes seconds on two cores."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choice(words, size=12)) for _ in range(60_000)]


def test_ctrl_c_cancels_a_long_call(big):
    rows = semsift._native.RowSet.group([big])
    rows.embed(semsift.load_model())
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        rows.dedup(threshold=0.9, index="exact")
    elapsed = time.monotonic() - start
    timer.join()
    # Uncancelled, the same call runs far longer (measured in the next test).
    assert elapsed < 3.0, elapsed


def test_the_gil_is_released_and_progress_is_reported(big):
    rows = semsift._native.RowSet.group([big])
    rows.embed(semsift.load_model())
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    events = []
    t = threading.Thread(target=count)
    t.start()
    start = time.monotonic()
    rows.dedup(threshold=0.9, index="exact", progress=lambda e, s, n: events.append((e, s, n)))
    elapsed = time.monotonic() - start
    stop.set()
    t.join()
    assert elapsed > 3.0, "the call is long enough for the cancellation test to mean something"
    during = [x for x in ticks if start < x < start + elapsed]
    # A thread that needs the GIL ran all through the call.
    assert len(during) > elapsed / 0.01 * 0.5, (len(during), elapsed)
    stages = [s for e, s, _ in events if e == "begin"]
    assert "search" in stages
    assert sum(n for e, _, n in events if e == "advance") > 0
    assert events[-1][0] == "end"


def test_a_callback_that_raises_stops_the_call(big):
    class Stop(Exception):
        pass

    def cb(event, stage, n):
        if event == "advance":
            raise Stop("enough")

    with pytest.raises(Stop):
        semsift.dedup(big[:20_000], index="exact", progress=cb)
