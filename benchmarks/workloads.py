"""The benchmark workloads: what each computes, its inputs, and how gradients are compared.

A workload is data only. Its maths is written out once per library in
``benchmarks/impls/with_<library>.py`` as a function named after the workload, which takes
the dictionary made by :meth:`Workload.make_inputs` and returns a *step*: a callable that runs
one forward + backward (+ parameter update) and returns the gradients it computed (for
``hvp`` and ``jacobian``, the product and the Jacobian), by name. Each workload also carries
tapegrad's performance goals for its row (:class:`Goal`).

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

TINY_FEATURES = 8
TINY_LEARNING_RATE = 0.1

PER_EXAMPLE_SIZES = (32, 64)
"""Input features and hidden units of the per-example model: ``tanh`` layer, then one logit."""
PER_EXAMPLE_PARAMETERS = ("w1", "b1", "w2", "b2")


@dataclass(frozen=True)
class Goal:
    """A performance goal: ``library``'s figure on a row must be at most ``limit``.

    The figure is the library's time relative to the NumPy floor on the same workload, or,
    when ``baseline`` names another workload, relative to the same library's time on that
    workload (timed in the same rounds).
    """

    limit: float
    library: str = "tapegrad"
    label: str = ""
    baseline: str | None = None

    def describe(self) -> str:
        against = f" of {self.baseline}" if self.baseline else ""
        return f"<= {self.limit:g}x{against}"


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
    goals:
        The goals on this row's times (see :class:`Goal`).
    timed_with:
        Other workloads whose workers run and are timed in the same rounds as this one's,
        because a goal compares against them (``per_example`` against ``batch_grad``).
    memory_goal:
        When set, the peak extra memory of one step is measured too (after timing), in
        multiples of the size of input ``memory_unit``, and tapegrad's must be at most this.
    """

    name: str
    summary: str
    dtype: np.dtype
    default_size: int
    test_size: int
    make_inputs: Callable[[int], Inputs]
    goals: tuple[Goal, ...] = ()
    timed_with: tuple[str, ...] = ()
    memory_goal: float | None = None
    memory_unit: str = "x"

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


def hvp_inputs(size: int) -> Inputs:
    """The point ``x`` and the direction ``v``, both standard normal."""
    rng = _generator()
    return {"x": rng.standard_normal(size), "v": rng.standard_normal(size)}


def jacobian_inputs(size: int) -> Inputs:
    """A ``size`` x ``size`` matrix ``w`` scaled by ``1/sqrt(size)`` and a vector ``x``."""
    rng = _generator()
    return {
        "w": rng.standard_normal((size, size)) / np.sqrt(size),
        "x": rng.standard_normal(size),
    }


def tiny_inputs(batch: int) -> Inputs:
    """Features ``X`` (batch x 8), labels ``y`` in {0, 1}, small weights ``w`` and bias ``b``."""
    rng = _generator()
    return {
        "X": rng.standard_normal((batch, TINY_FEATURES)),
        "y": (rng.random(batch) < 0.5).astype(np.float64),
        "w": rng.standard_normal(TINY_FEATURES) * 0.1,
        "b": np.array(0.05),
    }


def per_example_inputs(batch: int) -> Inputs:
    """Examples ``xs``, labels ``ys`` in {0, 1} and the parameters of a 32-64-1 tanh MLP."""
    rng = _generator()
    features, hidden = PER_EXAMPLE_SIZES
    return {
        "xs": rng.standard_normal((batch, features)),
        "ys": (rng.random(batch) < 0.5).astype(np.float64),
        "w1": rng.standard_normal((features, hidden)) / np.sqrt(features),
        "b1": rng.standard_normal(hidden) * 0.1,
        "w2": rng.standard_normal(hidden) / np.sqrt(hidden),
        "b2": np.array(0.1),
    }


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
            goals=(Goal(2.5, label="eager"), Goal(1.3, "tapegrad-jit", "replayed")),
        ),
        Workload(
            name="nograd",
            summary="overhead's 99 ops on length-16 float64, forward only, under no_grad",
            dtype=np.dtype(np.float64),
            default_size=16,
            test_size=16,
            make_inputs=overhead_inputs,
            goals=(Goal(1.3),),
        ),
        Workload(
            name="mlp",
            summary="MLP 784-256-256-10, ReLU, cross-entropy, batch 128, float32, SGD step",
            dtype=np.dtype(np.float32),
            default_size=128,
            test_size=8,
            make_inputs=mlp_inputs,
            goals=(Goal(1.05),),
        ),
        Workload(
            name="large",
            summary="sum(tanh(x)*x**2 + exp(-x**2)), x of 4M float64, forward + backward",
            dtype=np.dtype(np.float64),
            default_size=4_000_000,
            test_size=1000,
            make_inputs=large_inputs,
            goals=(Goal(1.10),),
            memory_goal=6.0,
        ),
        Workload(
            name="hvp",
            summary="Hessian-vector product of the 100-d Rosenbrock function, float64",
            dtype=np.dtype(np.float64),
            default_size=100,
            test_size=10,
            make_inputs=hvp_inputs,
            goals=(Goal(12.0),),
        ),
        Workload(
            name="jacobian",
            summary="full Jacobian of tanh(W @ x), W 64 x 64, float64",
            dtype=np.dtype(np.float64),
            default_size=64,
            test_size=8,
            make_inputs=jacobian_inputs,
            goals=(Goal(10.0),),
        ),
        Workload(
            name="tiny",
            summary="logistic regression, 32 x 8 float64, cross-entropy on logits, SGD step",
            dtype=np.dtype(np.float64),
            default_size=32,
            test_size=32,
            make_inputs=tiny_inputs,
            goals=(Goal(3.0),),
        ),
        Workload(
            name="per_example",
            summary="per-example gradients of a 32-64-1 tanh MLP's logistic loss, 128 examples",
            dtype=np.dtype(np.float64),
            default_size=128,
            test_size=8,
            make_inputs=per_example_inputs,
            goals=(Goal(3.0, baseline="batch_grad"),),
            timed_with=("batch_grad",),
        ),
        Workload(
            name="batch_grad",
            summary="one gradient of the same loss summed over the 128 examples",
            dtype=np.dtype(np.float64),
            default_size=128,
            test_size=8,
            make_inputs=per_example_inputs,
        ),
    )
}
