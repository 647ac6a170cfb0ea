"""A Ray cluster of several node processes on this machine, bound to 127.0.0.1 only: for
tests and benchmarks of ``semsift.ray``, and for trying it without a cluster.

The head is started by ``ray start --head``; each further node by
``python -m semsift.ray.local node ADDRESS``, which starts a worker node the way
``ray start --address`` does, except that it keeps the node on 127.0.0.1 (``ray start``
refuses a second node on a loopback address). Every process is stopped by ``stop()``: every
process in the sessions it started, whatever happened.

    with LocalCluster(nodes=2) as cluster:
        subprocess.run([..., "--address", cluster.address], env=cluster.env())
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Optional

#: Makes Ray keep 127.0.0.1 as the node address instead of replacing it with the
#: machine's outward address, so every server binds to the loopback interface only.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _exit_on_term(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


class LocalCluster:
    """A head and ``nodes − 1`` more nodes, each with ``cpus`` CPUs and
    ``object_store_bytes`` of object store, started within ``timeout`` seconds."""

    def __init__(self, nodes: int = 2, cpus: int = 1, object_store_bytes: int = 200 << 20, timeout: float = 120.0) -> None:
        self.nodes, self.cpus, self.store, self.timeout = nodes, cpus, object_store_bytes, timeout
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        # Short: Ray's socket paths live under it and must stay under 108 bytes.
        self.temp_dir = tempfile.mkdtemp(prefix="ssr-", dir="/tmp")
        self.procs: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        """The environment for a process that connects to this cluster."""
        return {**os.environ, **LOOPBACK_ENV, "RAY_ADDRESS": self.address}

    def _spawn(self, args: list[str]) -> subprocess.Popen:
        p = subprocess.Popen(
            args,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() kills everything it started
        )
        self.procs.append(p)
        return p

    def start(self) -> "LocalCluster":
        # Stopped at exit, and on SIGTERM (a CI timeout) too: the handler turns it into
        # SystemExit, so `with` blocks and test fixtures unwind.
        atexit.register(self.stop)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_term)
        ray = os.path.join(os.path.dirname(sys.executable), "ray")
        self._spawn(
            [
                ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={self.port}",
                f"--num-cpus={self.cpus}", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats",
                f"--object-store-memory={self.store}", f"--temp-dir={self.temp_dir}",
            ]
        )
        for _ in range(self.nodes - 1):
            self._spawn([sys.executable, "-m", "semsift.ray.local", "node", self.address, str(self.cpus), str(self.store)])
        self._wait_for_nodes()
        return self

    def _wait_for_nodes(self) -> None:
        deadline = time.monotonic() + self.timeout
        probe = (
            "import ray; ray.init(address=%r, logging_level='ERROR'); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))" % self.address
        )
        last = ""
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"a Ray node process exited with {p.returncode} while starting: {p.args}")
            r = subprocess.run([sys.executable, "-c", probe], env=self.env(), capture_output=True, text=True, timeout=60)
            last = (r.stdout.strip().splitlines() or [""])[-1]
            if last.isdigit() and int(last) >= self.nodes:
                return
            time.sleep(1.0)
        self.stop()
        raise TimeoutError(f"the local Ray cluster did not reach {self.nodes} nodes in {self.timeout}s (last: {last!r})")

    def node_pids(self) -> list[int]:
        """The process ids of the node processes started here (head first)."""
        return [p.pid for p in self.procs]

    def _session_pids(self) -> list[int]:
        """Every live process in the sessions of the processes started here: the nodes'
        servers and workers (Ray puts some workers in process groups of their own, never
        in sessions of their own)."""
        sessions = {p.pid for p in self.procs}
        pids = []
        for stat in os.listdir("/proc"):
            if not stat.isdigit():
                continue
            try:
                with open(f"/proc/{stat}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            # After the command: state, ppid, pgrp, session.
            if int(fields[3]) in sessions and fields[0] != b"Z":
                pids.append(int(stat))
        return pids

    def _signal_all(self, sig: int) -> int:
        pids = self._session_pids()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return len(pids)

    def stop(self) -> None:
        """Stops every process started here and every process they started: SIGTERM, then
        SIGKILL to whatever is left after a few seconds."""
        if not self.procs:
            return
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._session_pids():
            time.sleep(0.2)
        self._signal_all(signal.SIGKILL)
        for p in self.procs:
            p.wait()
        self.procs.clear()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _node(address: str, cpus: int, store: int) -> None:
    """Runs one worker node of the cluster at ``address`` on 127.0.0.1 until SIGTERM."""
    import ray._private.node as ray_node  # noqa: PLC0415
    import ray._private.parameter as ray_parameter  # noqa: PLC0415

    params = ray_parameter.RayParams(
        node_ip_address="127.0.0.1",
        gcs_address=address,
        num_cpus=cpus,
        num_gpus=0,
        object_store_memory=store,
        min_worker_port=0,
        max_worker_port=0,
        node_manager_port=0,
        include_log_monitor=False,
    )
    node = ray_node.Node(params, head=False, shutdown_at_exit=True, spawn_reaper=True)
    stop = {"now": False}

    def on_term(*_: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not stop["now"]:
        time.sleep(0.2)
    node.kill_all_processes(check_alive=False, allow_graceful=True)


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 4 and args[0] == "node":
        _node(args[1], int(args[2]), int(args[3]))
        return 0
    print("usage: python -m semsift.ray.local node GCS_ADDRESS CPUS OBJECT_STORE_BYTES", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
