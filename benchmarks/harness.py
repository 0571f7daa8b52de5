"""The parent side: start the workers of a workload, check their gradients, time them.

All the libraries of one workload run at the same time as long-lived worker processes. The
parent asks each in turn for a block of timings, rotating who goes first, so whatever noise
the machine has falls on every library alike; idle workers sleep on their pipe. The result of
a row is the median of its block medians.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from benchmarks.checks import describe_mismatch
from benchmarks.libraries import LIBRARIES, REFERENCE
from benchmarks.threads import single_thread_env
from benchmarks.workloads import Workload

RUN_SCRIPT = Path(__file__).resolve().with_name("run.py")


@dataclass(frozen=True)
class TimingPlan:
    """How long to warm up, how long a block lasts, and how many blocks to take."""

    blocks: int = 15
    warmup_seconds: float = 0.5
    block_seconds: float = 0.2


@dataclass
class Row:
    """The outcome for one library on one workload.

    ``status`` is ``"ok"`` (checked and timed), ``"checked"`` (gradient agrees, not timed),
    ``"failed"`` (wrong gradient or a crash; never timed) or ``"skipped"`` (not available).
    """

    workload: str
    library: str
    status: str
    message: str = ""
    iterations_per_block: int | None = None
    block_medians: list[float] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return median(self.block_medians) if self.block_medians else None


class WorkerFailed(RuntimeError):
    """A worker died, or answered with an error."""


class Worker:
    """A running ``run.py --worker`` process and its pipe."""

    def __init__(self, library: str, workload: Workload, size: int, scratch: Path) -> None:
        self.library = library
        command = [
            sys.executable, str(RUN_SCRIPT), "--worker", library, workload.name,
            "--size", str(size), "--scratch", str(scratch),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=single_thread_env(),
        )

    def receive(self) -> dict[str, Any]:
        line = self.process.stdout.readline()
        if not line:
            status = self.process.wait()
            raise WorkerFailed(f"worker exited with status {status} (its stderr is above)")
        return json.loads(line)

    def ask(self, **request: Any) -> dict[str, Any]:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.receive()
        if reply.get("status") != "ok":
            raise WorkerFailed(reply.get("reason", str(reply)))
        return reply

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def _load_gradients(reply: dict[str, Any]) -> dict[str, np.ndarray | None]:
    with np.load(reply["gradients"]) as saved:
        gradients: dict[str, np.ndarray | None] = {name: saved[name] for name in saved.files}
    gradients.update({name: None for name in reply.get("missing", [])})
    return gradients


def loud(text: str) -> None:
    """Print a failure so it cannot be missed in the run's output."""
    bar = "!" * 78
    print(f"{bar}\n{text}\n{bar}", flush=True)


def run_workload(
    workload: Workload, libraries: Sequence[str], plan: TimingPlan | None, size: int | None = None
) -> list[Row]:
    """Check and (unless ``plan`` is ``None``) time ``workload`` in every library.

    ``libraries`` must include the NumPy reference; the other libraries are checked against it.
    """
    size = workload.default_size if size is None else size
    rows = {name: Row(workload.name, name, "skipped") for name in libraries}
    for name in libraries:
        if not LIBRARIES[name].is_installed():
            rows[name].message = f"{LIBRARIES[name].package} is not installed"

    with tempfile.TemporaryDirectory(prefix="tapegrad-bench-") as scratch:
        workers = {
            name: Worker(name, workload, size, Path(scratch))
            for name in libraries
            if not rows[name].message
        }
        try:
            ready = _collect_gradients(workload, workers, rows)
            if plan is not None:
                _time(workers, ready, rows, plan)
        finally:
            for worker in workers.values():
                worker.close()
    return [rows[name] for name in libraries]


def _collect_gradients(
    workload: Workload, workers: dict[str, Worker], rows: dict[str, Row]
) -> list[str]:
    """Wait for every worker's first gradients and check them; return the libraries that pass."""
    gradients = {}
    for name, worker in workers.items():
        try:
            reply = worker.receive()
        except WorkerFailed as exc:
            reply = {"status": "error", "reason": str(exc)}
        if reply["status"] == "ready":
            gradients[name] = _load_gradients(reply)
        elif reply["status"] == "unavailable":
            rows[name].message = reply["reason"]
        else:
            rows[name].status, rows[name].message = "failed", reply["reason"].strip()
            loud(f"FAILED {workload.name} / {name}: crashed before timing\n{rows[name].message}")

    reference = gradients.get(REFERENCE)
    if reference is None:
        raise RuntimeError(f"the NumPy reference failed on {workload.name}; nothing to check")
    passed = []
    for name, got in gradients.items():
        mismatch = describe_mismatch(got, reference, workload.rtol)
        if mismatch is None:
            rows[name].status = "checked"
            passed.append(name)
        else:
            rows[name].status, rows[name].message = "failed", f"wrong gradient: {mismatch}"
            loud(f"FAILED {workload.name} / {name}: gradient differs from numpy\n{mismatch}")
    return passed


def _time(
    workers: dict[str, Worker], libraries: list[str], rows: dict[str, Row], plan: TimingPlan
) -> None:
    """Warm each library up in turn, then take interleaved blocks in rotating order."""
    active = []
    for name in libraries:
        try:
            reply = workers[name].ask(
                cmd="warmup", seconds=plan.warmup_seconds, block_seconds=plan.block_seconds
            )
            rows[name].iterations_per_block = reply["iterations"]
            active.append(name)
        except WorkerFailed as exc:
            _fail_while_timing(rows[name], exc)
    for block in range(plan.blocks):
        shift = block % len(active) if active else 0
        for name in active[shift:] + active[:shift]:
            if rows[name].status == "failed":
                continue
            try:
                rows[name].block_medians.append(workers[name].ask(cmd="block")["median"])
            except WorkerFailed as exc:
                _fail_while_timing(rows[name], exc)
    for name in active:
        if rows[name].status != "failed":
            rows[name].status = "ok"


def _fail_while_timing(row: Row, error: WorkerFailed) -> None:
    row.status, row.message = "failed", f"crashed while timing: {error}"
    row.block_medians.clear()
    loud(f"FAILED {row.workload} / {row.library}: {row.message}")
