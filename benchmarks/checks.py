"""Gradient comparison against the NumPy floor, shared by the harness and the tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmarks.libraries import make_step
from benchmarks.workloads import Workload


def first_gradients(library: str, workload: Workload, size: int) -> dict[str, np.ndarray]:
    """Run one step of ``workload`` in ``library`` on fresh inputs; return its gradients."""
    module, step = make_step(library, workload.name, workload.make_inputs(size))
    return gradients_as_numpy(step(), module.to_numpy)


def gradients_as_numpy(
    gradients: Mapping[str, Any], to_numpy: Callable[[Any], np.ndarray]
) -> dict[str, np.ndarray]:
    """Convert a step's gradients, by name, to NumPy arrays; a missing gradient stays ``None``."""
    return {
        name: None if value is None else np.asarray(to_numpy(value))
        for name, value in gradients.items()
    }


def describe_mismatch(
    got: Mapping[str, np.ndarray | None], expected: Mapping[str, np.ndarray], rtol: float
) -> str | None:
    """Return why ``got`` differs from ``expected``, or ``None`` when they agree.

    Each gradient must have the reference's name, shape and dtype, and satisfy
    ``|got - expected| <= rtol * |expected| + rtol * max|expected|``: the absolute term keeps
    entries that are nearly zero (where rounding is all there is) from failing the check.
    """
    if set(got) != set(expected):
        return f"gradient names {sorted(got)} != reference {sorted(expected)}"
    problems = []
    for name, reference in expected.items():
        value = got[name]
        if value is None:
            problems.append(f"{name}: no gradient")
        elif value.shape != reference.shape:
            problems.append(f"{name}: shape {value.shape} != {reference.shape}")
        elif value.dtype != reference.dtype:
            problems.append(f"{name}: dtype {value.dtype} != {reference.dtype}")
        else:
            scale = float(np.max(np.abs(reference), initial=0.0))
            error = np.abs(value - reference)
            allowed = rtol * np.abs(reference) + rtol * scale
            if not np.all(error <= allowed):  # also catches NaN
                excess = error / np.maximum(allowed, np.finfo(np.float64).tiny)
                worst = int(np.argmax(np.where(np.isnan(excess), np.inf, excess)))
                index = np.unravel_index(worst, reference.shape)
                problems.append(
                    f"{name}: worst at {tuple(int(i) for i in index)}: "
                    f"got {float(value[index])!r}, expected {float(reference[index])!r} "
                    f"(rtol {rtol:g})"
                )
    return "; ".join(problems) or None
