"""The libraries compared, and how to load one library's workload implementations.

Each library has a module ``benchmarks/impls/with_<name>.py`` (a ``-`` in the name becomes
``_``) defining one function per workload (named after it) and ``to_numpy(value)``, which turns
that library's gradient objects into NumPy arrays. Importing the module imports the library;
an ``ImportError`` there means the library is not usable here and its rows are skipped
(:class:`Unavailable` carries a reason meant for the table). A module may also define
``NOT_APPLICABLE``, a dictionary from workload name to the reason the library cannot express
that workload; those rows are skipped with the reason.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

REFERENCE = "numpy"
"""The hand-written floor: every other library's gradient is checked against it."""


class Unavailable(ImportError):
    """Raised by an implementation module that cannot run here; the message is the reason."""


class NotApplicable(NotImplementedError):
    """A library cannot express a workload (or has no implementation of it)."""


@dataclass(frozen=True)
class Library:
    """A benchmarked library: its name in the table and the package it needs."""

    name: str
    package: str
    description: str
    one_cpu: bool = False
    """Whether the worker confines the whole process to one CPU before importing the library,
    for libraries whose thread pools no environment variable limits (XLA's)."""

    @property
    def impl_module(self) -> str:
        return f"benchmarks.impls.with_{self.name.replace('-', '_')}"

    def is_installed(self) -> bool:
        """Whether the package can be found, without importing it."""
        return importlib.util.find_spec(self.package) is not None

    def version(self) -> str | None:
        """The installed distribution's version, else the module's ``__version__``, else ``None``.

        The fallback covers a package used from a source checkout without being installed.
        """
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            pass
        try:
            return getattr(importlib.import_module(self.package), "__version__", None)
        except Exception:
            return None


LIBRARIES: dict[str, Library] = {
    library.name: library
    for library in (
        Library("numpy", "numpy", "hand-written forward and backward: no autodiff at all"),
        Library("tapegrad", "tapegrad", "tapegrad's Tensor facade and transforms"),
        Library("tapegrad-jit", "tapegrad", "the tapegrad steps as pure functions under tg.jit"),
        Library("torch", "torch", "PyTorch eager on the CPU, one thread"),
        Library("jax", "jax", "JAX without jit (op by op), float64, one CPU", one_cpu=True),
        Library("jax-jit", "jax", "the JAX steps under jax.jit, float64, one CPU", one_cpu=True),
        Library("autograd", "autograd", "HIPS autograd"),
        Library("mygrad", "mygrad", "MyGrad"),
    )
}


def load_implementations(name: str) -> ModuleType:
    """Import the workload implementations of library ``name`` (raises ``ImportError``)."""
    return importlib.import_module(LIBRARIES[name].impl_module)


def make_step(name: str, workload: str, inputs: dict[str, Any]) -> tuple[ModuleType, Any]:
    """Return ``(module, step)`` for ``workload`` in library ``name``.

    Raises ``ImportError`` when the library is unusable and :class:`NotApplicable` when the
    library has no implementation of the workload.
    """
    module = load_implementations(name)
    reason = getattr(module, "NOT_APPLICABLE", {}).get(workload)
    if reason is not None:
        raise NotApplicable(reason)
    build = getattr(module, workload, None)
    if build is None:
        raise NotApplicable(f"{name} has no implementation of workload {workload!r}")
    return module, build(inputs)
