"""The worker process: one library, one workload, driven over a pipe.

The worker speaks JSON lines. On start it builds the step, runs it once on fresh inputs and
saves those gradients to ``<scratch>/<library>.npz``, then announces itself with one of

    {"status": "ready", "gradients": PATH}
    {"status": "unavailable", "reason": TEXT}     (library not importable, or no implementation)
    {"status": "error", "reason": TRACEBACK}

and then answers the parent's commands, one reply per command:

    {"cmd": "warmup", "seconds": S, "block_seconds": B}  -> {"status": "ok", "iterations": N}
    {"cmd": "block"}                                      -> {"status": "ok", "median": SECONDS}
    {"cmd": "memory"}                -> {"status": "ok", "peak_extra_bytes": N or null,
                                         "unit_bytes": U, "reason": TEXT}
    {"cmd": "quit"}                                       -> (exits)

``warmup`` runs the step for at least ``S`` seconds and picks ``N`` iterations per block so a
block lasts about ``B`` seconds; ``block`` runs ``N`` iterations, timing each, and returns
their median; ``memory`` measures the peak extra memory of one step (see
:func:`peak_extra_bytes`) and the size ``U`` of the workload's unit input. Anything the
libraries print goes to stderr, so it cannot corrupt the protocol.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path
from statistics import median
from typing import IO, Any

from benchmarks.threads import confine_to_one_cpu, limit_thread_pools

MIN_WARMUP_ITERATIONS = 2
MAX_ITERATIONS_PER_BLOCK = 100_000


def _protocol_streams() -> tuple[IO[str], IO[str]]:
    """Keep the real stdout for replies and point fd 1 at stderr for everything else."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return sys.stdin, replies


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _time_iterations(step, count: int) -> list[float]:
    times = []
    clock = time.perf_counter
    for _ in range(count):
        start = clock()
        step()
        times.append(clock() - start)
    return times


def _warm_up(step, seconds: float, block_seconds: float) -> int:
    """Run ``step`` for ``seconds``; return the iterations that fill one block."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < MIN_WARMUP_ITERATIONS or time.perf_counter() < deadline:
        times.extend(_time_iterations(step, 1))
    per_iteration = median(times[len(times) // 2 :])  # the later half: past first-call costs
    return max(1, min(MAX_ITERATIONS_PER_BLOCK, round(block_seconds / per_iteration)))


PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in PROC_STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in {PROC_STATUS}")


def _return_free_memory() -> None:
    """Hand the C heap's free pages back to the kernel (glibc), so that memory a step reuses
    from earlier steps shows up in its resident set again instead of being already there."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def peak_extra_bytes(step) -> tuple[int | None, str]:
    """The most memory one run of ``step`` holds beyond what is resident before it.

    After a warm-up run, the previous gradients are released (``step.release()`` where the
    library keeps them on its tensors, as PyTorch's ``x.grad``), garbage is collected and the
    C heap's free pages are returned; then the kernel's high-water mark of the resident set is
    reset (writing ``5`` to ``/proc/self/clear_refs``), ``VmRSS`` is read, the step runs, and
    the result is ``VmHWM`` minus that ``VmRSS``: every temporary the step makes, its
    gradients included. Returns ``(None, reason)`` where ``/proc`` cannot do this (not Linux).
    """
    if not (PROC_STATUS.exists() and PROC_CLEAR_REFS.exists()):
        return None, "needs Linux's /proc/self/clear_refs"
    step()
    release = getattr(step, "release", None)
    if release is not None:
        release()
    gc.collect()
    _return_free_memory()
    try:
        PROC_CLEAR_REFS.write_text("5")
    except OSError as exc:
        return None, f"cannot reset the peak resident set: {exc}"
    before = _status_bytes("VmRSS")
    result = step()
    peak = _status_bytes("VmHWM")
    del result
    return peak - before, ""


def serve(library: str, workload_name: str, size: int, scratch: Path) -> int:
    """Run the worker loop until told to quit; return the exit status."""
    commands, replies = _protocol_streams()

    from benchmarks.libraries import LIBRARIES, NotApplicable, Unavailable, make_step

    if LIBRARIES[library].one_cpu:
        confine_to_one_cpu()  # before the library starts any thread pool

    import numpy as np

    from benchmarks.checks import gradients_as_numpy
    from benchmarks.workloads import WORKLOADS

    workload = WORKLOADS[workload_name]
    try:
        inputs = workload.make_inputs(size)
        unit = inputs.get(workload.memory_unit)
        unit_bytes = None if unit is None else int(unit.nbytes)
        module, step = make_step(library, workload_name, inputs)
        del inputs, unit
    except (Unavailable, NotApplicable) as exc:
        _send(replies, {"status": "unavailable", "reason": str(exc)})
        return 0
    except (ImportError, NotImplementedError) as exc:
        _send(replies, {"status": "unavailable", "reason": f"{type(exc).__name__}: {exc}"})
        return 0
    except Exception:
        _send(replies, {"status": "error", "reason": traceback.format_exc()})
        return 1
    # Only pools loaded by now are clamped: the library and NumPy have been imported above.
    thread_limits = limit_thread_pools()  # noqa: F841 (the limit holds while it is referenced)

    try:
        gradients = gradients_as_numpy(step(), module.to_numpy)
        path = scratch / f"{workload_name}-{library}.npz"
        missing = sorted(name for name, value in gradients.items() if value is None)
        np.savez(path, **{k: v for k, v in gradients.items() if v is not None})
        del gradients
        _send(replies, {"status": "ready", "gradients": str(path), "missing": missing})
    except Exception:
        _send(replies, {"status": "error", "reason": traceback.format_exc()})
        return 1

    iterations = 1
    for line in commands:
        request = json.loads(line)
        command = request["cmd"]
        if command == "quit":
            return 0
        try:
            if command == "warmup":
                iterations = _warm_up(step, request["seconds"], request["block_seconds"])
                _send(replies, {"status": "ok", "iterations": iterations})
            elif command == "block":
                gc.collect()
                _send(
                    replies, {"status": "ok", "median": median(_time_iterations(step, iterations))}
                )
            elif command == "memory":
                extra, reason = peak_extra_bytes(step)
                reply = {"peak_extra_bytes": extra, "unit_bytes": unit_bytes, "reason": reason}
                _send(replies, {"status": "ok", **reply})
            else:
                _send(replies, {"status": "error", "reason": f"unknown command {command!r}"})
        except Exception:
            _send(replies, {"status": "error", "reason": traceback.format_exc()})
            return 1
    return 0
