"""The parent side: start the workers of a workload, check their gradients, time them.

All the libraries of one workload run at the same time as long-lived worker processes (with
those of the workloads it is ``timed_with``, whose times its goals compare against). The
parent asks each in turn for a block of timings, rotating who goes first, so whatever noise
the machine has falls on every library alike; idle workers sleep on their pipe. The result of
a row is the median of its block medians.

A workload with a ``memory_goal`` then has its peak extra memory measured, one library at a
time, each in a fresh worker whose C heap hands every large array straight back to the kernel
when it is freed (``MALLOC_MMAP_THRESHOLD_``), so that the resident set's high-water mark
follows the arrays alive at once rather than what the heap kept from earlier steps.
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
from benchmarks.workloads import WORKLOADS, Workload

RUN_SCRIPT = Path(__file__).resolve().with_name("run.py")

MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)}
"""For the memory workers: glibc serves every allocation of 1 MiB or more with its own
mapping, returned to the kernel on free (a fixed threshold also turns off glibc's habit of
raising it, after which freed big arrays would stay resident in the heap)."""


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
    On a workload with a memory goal, ``peak_extra_bytes`` is the peak extra memory of one
    step (``None`` with ``memory_message`` saying why when it was not measured) and
    ``unit_bytes`` the size of the input it is counted in.
    """

    workload: str
    library: str
    status: str
    message: str = ""
    iterations_per_block: int | None = None
    block_medians: list[float] = field(default_factory=list)
    peak_extra_bytes: int | None = None
    unit_bytes: int | None = None
    memory_message: str = ""

    @property
    def median(self) -> float | None:
        return median(self.block_medians) if self.block_medians else None

    @property
    def memory_multiple(self) -> float | None:
        """The peak extra memory in multiples of the unit input's size."""
        if self.peak_extra_bytes is None or not self.unit_bytes:
            return None
        return self.peak_extra_bytes / self.unit_bytes


class WorkerFailed(RuntimeError):
    """A worker died, or answered with an error."""


class Worker:
    """A running ``run.py --worker`` process and its pipe."""

    def __init__(
        self,
        library: str,
        workload: Workload,
        size: int,
        scratch: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.library = library
        self.workload = workload.name
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
            env={**single_thread_env(), **(extra_env or {})},
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


Key = tuple[str, str]
"""``(workload, library)``: one worker, one row."""


def group_of(workload: Workload) -> list[Workload]:
    """``workload`` and the workloads timed in the same rounds with it."""
    return [workload] + [WORKLOADS[name] for name in workload.timed_with]


def run_workload(
    workload: Workload, libraries: Sequence[str], plan: TimingPlan | None, size: int | None = None
) -> list[Row]:
    """Check and (unless ``plan`` is ``None``) time ``workload`` in every library.

    The workloads it is ``timed_with`` run alongside and their rows follow its own.
    ``libraries`` must include the NumPy reference; the other libraries are checked against it.
    With a plan, a workload with a memory goal also has its peak extra memory measured.
    """
    group = group_of(workload)
    sizes = {w.name: w.default_size if size is None else size for w in group}
    rows = {(w.name, name): Row(w.name, name, "skipped") for w in group for name in libraries}
    for name in libraries:
        if not LIBRARIES[name].is_installed():
            for w in group:
                rows[w.name, name].message = f"{LIBRARIES[name].package} is not installed"

    with tempfile.TemporaryDirectory(prefix="tapegrad-bench-") as scratch:
        workers = {
            key: Worker(key[1], WORKLOADS[key[0]], sizes[key[0]], Path(scratch))
            for key, row in rows.items()
            if not row.message
        }
        try:
            ready = _collect_gradients(workers, rows)
            if plan is not None:
                _time(workers, ready, rows, plan)
        finally:
            for worker in workers.values():
                worker.close()
        if plan is not None:
            for w in group:
                if w.memory_goal is not None:
                    _measure_memory(w, libraries, rows, sizes[w.name], Path(scratch))
    return list(rows.values())


def _collect_gradients(workers: dict[Key, Worker], rows: dict[Key, Row]) -> list[Key]:
    """Wait for every worker's first gradients and check them; return the rows that pass."""
    gradients = {}
    for key, worker in workers.items():
        try:
            reply = worker.receive()
        except WorkerFailed as exc:
            reply = {"status": "error", "reason": str(exc)}
        row = rows[key]
        if reply["status"] == "ready":
            gradients[key] = _load_gradients(reply)
        elif reply["status"] == "unavailable":
            row.message = reply["reason"]
        else:
            row.status, row.message = "failed", reply["reason"].strip()
            loud(f"FAILED {row.workload} / {row.library}: crashed before timing\n{row.message}")

    passed = []
    for key, got in gradients.items():
        workload, library = key
        reference = gradients.get((workload, REFERENCE))
        if reference is None:
            raise RuntimeError(f"the NumPy reference failed on {workload}; nothing to check")
        row = rows[key]
        mismatch = describe_mismatch(got, reference, WORKLOADS[workload].rtol)
        if mismatch is None:
            row.status = "checked"
            passed.append(key)
        else:
            row.status, row.message = "failed", f"wrong gradient: {mismatch}"
            loud(f"FAILED {workload} / {library}: gradient differs from numpy\n{mismatch}")
    return passed


def _time(
    workers: dict[Key, Worker], keys: list[Key], rows: dict[Key, Row], plan: TimingPlan
) -> None:
    """Warm each worker up in turn, then take interleaved blocks in rotating order."""
    active = []
    for key in keys:
        try:
            reply = workers[key].ask(
                cmd="warmup", seconds=plan.warmup_seconds, block_seconds=plan.block_seconds
            )
            rows[key].iterations_per_block = reply["iterations"]
            active.append(key)
        except WorkerFailed as exc:
            _fail_while_timing(rows[key], exc)
    for block in range(plan.blocks):
        shift = block % len(active) if active else 0
        for key in active[shift:] + active[:shift]:
            if rows[key].status == "failed":
                continue
            try:
                rows[key].block_medians.append(workers[key].ask(cmd="block")["median"])
            except WorkerFailed as exc:
                _fail_while_timing(rows[key], exc)
    for key in active:
        if rows[key].status != "failed":
            rows[key].status = "ok"


def _fail_while_timing(row: Row, error: WorkerFailed) -> None:
    row.status, row.message = "failed", f"crashed while timing: {error}"
    row.block_medians.clear()
    loud(f"FAILED {row.workload} / {row.library}: {row.message}")


def _measure_memory(
    workload: Workload, libraries: Sequence[str], rows: dict[Key, Row], size: int, scratch: Path
) -> None:
    """Measure one step's peak extra memory for every library whose row passed, one by one."""
    for name in libraries:
        row = rows[workload.name, name]
        if row.status != "ok":
            row.memory_message = "not measured: the row was not timed"
            continue
        worker = Worker(name, workload, size, scratch, extra_env=MEMORY_ENV)
        try:
            started = worker.receive()
            if started["status"] != "ready":
                raise WorkerFailed(started.get("reason", "the memory worker did not start"))
            reply = worker.ask(cmd="memory")
            row.peak_extra_bytes = reply["peak_extra_bytes"]
            row.unit_bytes = reply["unit_bytes"]
            row.memory_message = reply.get("reason", "")
        except WorkerFailed as exc:
            row.memory_message = f"failed: {exc}"
            loud(f"FAILED {workload.name} / {name}: memory measurement: {exc}")
        finally:
            worker.close()
