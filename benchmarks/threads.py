"""Pin every numerical thread pool to one thread.

Environment variables only take effect if they are set before NumPy (and its BLAS) is
first imported, so :func:`pin_environment` is called at the very top of ``run.py`` and the
parent passes :func:`single_thread_env` to every worker it starts. :func:`limit_thread_pools`
additionally clamps pools that are already loaded, through threadpoolctl when it is installed.
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


def single_thread_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``base`` (default: ``os.environ``) with every pool set to one thread."""
    env = dict(os.environ if base is None else base)
    env.update({name: "1" for name in THREAD_COUNT_VARIABLES})
    return env


def pin_environment() -> None:
    """Set the thread-count variables in this process; call before NumPy is imported."""
    os.environ.update({name: "1" for name in THREAD_COUNT_VARIABLES})


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
