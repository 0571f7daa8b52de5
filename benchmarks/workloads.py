"""The benchmark workloads: what each computes, its inputs, and how gradients are compared.

A workload is data only. Its maths is written out once per library in
``benchmarks/impls/with_<library>.py`` as a function named after the workload, which takes
the dictionary made by :meth:`Workload.make_inputs` and returns a *step*: a callable that runs
one forward + backward (+ parameter update) and returns the gradients it computed, by name.

Adding a workload is adding one :class:`Workload` to :data:`WORKLOADS` and one function per
library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Inputs = dict[str, np.ndarray]

OVERHEAD_BLOCKS = 11
"""Repetitions of the nine-op block in ``overhead``: 99 elementwise ops, then ``sum``."""

MLP_LAYER_SIZES = (784, 256, 256, 10)
MLP_LEARNING_RATE = 0.01
MLP_PARAMETERS = ("w1", "b1", "w2", "b2", "w3", "b3")


@dataclass(frozen=True)
class Workload:
    """One benchmark row.

    Attributes
    ----------
    name:
        Also the name of the function each library module defines for it.
    summary:
        One line for the table and the README.
    dtype:
        Floating dtype of the differentiated values; picks the gradient tolerance.
    default_size:
        Size timed by ``run.py`` (its meaning is the workload's: a length or a batch).
    test_size:
        A small size for the in-process gradient tests.
    make_inputs:
        ``make_inputs(size)`` returns fresh, deterministic NumPy inputs.
    """

    name: str
    summary: str
    dtype: np.dtype
    default_size: int
    test_size: int
    make_inputs: Callable[[int], Inputs]

    @property
    def rtol(self) -> float:
        """Relative tolerance for gradient checks: 1e-4 in float32, 1e-8 in float64."""
        return 1e-4 if self.dtype == np.float32 else 1e-8


def _generator() -> np.random.Generator:
    return np.random.default_rng(20240611)


def overhead_inputs(size: int) -> Inputs:
    """Two vectors: ``x`` in [-1, 1] and the multiplier ``y`` in [0.5, 1.5]."""
    rng = _generator()
    return {
        "x": rng.uniform(-1.0, 1.0, size),
        "y": rng.uniform(0.5, 1.5, size),
    }


def mlp_inputs(batch: int) -> Inputs:
    """A float32 batch, its one-hot labels, and He-initialised weights with small biases."""
    rng = _generator()
    sizes = MLP_LAYER_SIZES
    inputs: Inputs = {
        "images": rng.standard_normal((batch, sizes[0]), dtype=np.float32),
        "onehot": np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)],
    }
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        scale = np.float32(np.sqrt(2.0 / fan_in))
        inputs[f"w{layer}"] = rng.standard_normal((fan_in, fan_out), dtype=np.float32) * scale
        inputs[f"b{layer}"] = rng.standard_normal(fan_out, dtype=np.float32) * np.float32(0.01)
    return inputs


def large_inputs(size: int) -> Inputs:
    """One standard-normal float64 vector ``x``."""
    return {"x": _generator().standard_normal(size)}


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            name="overhead",
            summary="100 cheap ops on a length-16 float64 vector, forward + backward",
            dtype=np.dtype(np.float64),
            default_size=16,
            test_size=16,
            make_inputs=overhead_inputs,
        ),
        Workload(
            name="mlp",
            summary="MLP 784-256-256-10, ReLU, cross-entropy, batch 128, float32, SGD step",
            dtype=np.dtype(np.float32),
            default_size=128,
            test_size=8,
            make_inputs=mlp_inputs,
        ),
        Workload(
            name="large",
            summary="sum(tanh(x)*x**2 + exp(-x**2)), x of 4M float64, forward + backward",
            dtype=np.dtype(np.float64),
            default_size=4_000_000,
            test_size=1000,
            make_inputs=large_inputs,
        ),
    )
}
