"""The JAX steps of ``with_jax.py`` with each differentiated function (and, for ``mlp`` and
``tiny``, the SGD update with it) compiled by ``jax.jit``: one call per step."""

from __future__ import annotations

import jax

from benchmarks.impls import with_jax
from benchmarks.impls.with_jax import Step, to_numpy
from benchmarks.workloads import Inputs

__all__ = ["to_numpy"]


def overhead(inputs: Inputs) -> Step:
    return with_jax.overhead(inputs, jax.jit)


def nograd(inputs: Inputs) -> Step:
    return with_jax.nograd(inputs, jax.jit)


def mlp(inputs: Inputs) -> Step:
    return with_jax.mlp(inputs, jax.jit)


def large(inputs: Inputs) -> Step:
    return with_jax.large(inputs, jax.jit)


def hvp(inputs: Inputs) -> Step:
    return with_jax.hvp(inputs, jax.jit)


def jacobian(inputs: Inputs) -> Step:
    return with_jax.jacobian(inputs, jax.jit, jax.jacrev)


def tiny(inputs: Inputs) -> Step:
    return with_jax.tiny(inputs, jax.jit)


def per_example(inputs: Inputs) -> Step:
    return with_jax.per_example(inputs, jax.jit)


def batch_grad(inputs: Inputs) -> Step:
    return with_jax.batch_grad(inputs, jax.jit)
