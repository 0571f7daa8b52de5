"""Pin every numerical thread pool to one thread.

Environment variables only take effect if they are set before NumPy (and its BLAS) is
first imported, so :func:`pin_environment` is called at the very top of ``run.py`` and the
parent passes :func:`single_thread_env` to every worker it starts. :func:`limit_thread_pools`
additionally clamps pools that are already loaded, through threadpoolctl when it is installed.
XLA (JAX) heeds none of these: its workers are confined to one CPU (:func:`confine_to_one_cpu`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

THREAD_COUNT_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

XLA_SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
"""Asks XLA (JAX) for one thread. Recent XLA sizes its CPU pool from the CPUs the process may
run on and ignores these, so :func:`confine_to_one_cpu` is what holds JAX to one thread."""


def with_xla_flags(flags: str) -> str:
    """``flags`` (an ``XLA_FLAGS`` value) plus the single-thread flags unless it sets them."""
    if "xla_cpu_multi_thread_eigen" in flags:
        return flags
    return f"{flags} {XLA_SINGLE_THREAD_FLAGS}".strip()


def single_thread_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``base`` (default: ``os.environ``) with every pool set to one thread."""
    env = dict(os.environ if base is None else base)
    env.update({name: "1" for name in THREAD_COUNT_VARIABLES})
    env["XLA_FLAGS"] = with_xla_flags(env.get("XLA_FLAGS", ""))
    return env


def pin_environment() -> None:
    """Set the thread-count variables in this process; call before NumPy is imported."""
    os.environ.update(single_thread_env())


def confine_to_one_cpu() -> int | None:
    """Let this process (and the threads it starts from now on) run on one CPU only.

    Call before the library starts its thread pools: XLA sizes its pool from the CPUs it may
    run on, so it then starts one worker thread, and any other thread shares that CPU. Returns
    the CPU, or ``None`` where the platform cannot restrict affinity.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = max(os.sched_getaffinity(0))  # the last one: CPU 0 tends to take more interrupts
    os.sched_setaffinity(0, {cpu})
    return cpu


def limit_thread_pools() -> object | None:
    """Clamp already loaded BLAS/OpenMP pools to one thread.

    Returns the threadpoolctl controller (keep it alive for the limit to hold), or ``None``
    when threadpoolctl is not installed, in which case the environment variables alone apply.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1)
