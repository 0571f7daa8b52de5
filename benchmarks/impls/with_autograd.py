"""HIPS autograd: the workloads as functions of NumPy arrays, differentiated by ``grad``."""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as anp
import numpy as np
from autograd import grad, make_hvp
from autograd import jacobian as autograd_jacobian
from autograd.tracer import getval

from benchmarks.workloads import (
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    OVERHEAD_BLOCKS,
    PER_EXAMPLE_PARAMETERS,
    TINY_LEARNING_RATE,
    Inputs,
)

Step = Callable[[], dict[str, np.ndarray]]


def to_numpy(gradient: np.ndarray) -> np.ndarray:
    return gradient


def _chain(x, y):
    """The 99 elementwise operations of ``overhead``."""
    for _ in range(OVERHEAD_BLOCKS):
        x = anp.sin(x)
        x = x * 1.01
        x = x + 0.1
        x = anp.tanh(x)
        x = x * y
        x = anp.cos(x)
        x = anp.exp(x)
        x = x * 0.5
        x = x - 0.25
    return x


def _overhead_loss(x, y):
    return anp.sum(_chain(x, y))


def nograd(inputs: Inputs) -> Step:
    """autograd has no grad mode: its functions on plain arrays, outside any ``grad``."""
    x, y = inputs["x"].copy(), inputs["y"].copy()

    def step() -> dict[str, np.ndarray]:
        return {"out": _chain(x, y)}

    return step


def overhead(inputs: Inputs) -> Step:
    x, y = inputs["x"], inputs["y"]
    gradient = grad(_overhead_loss, argnum=(0, 1))

    def step() -> dict[str, np.ndarray]:
        grad_x, grad_y = gradient(x, y)
        return {"x": grad_x, "y": grad_y}

    return step


def _mlp_loss(params, images, onehot):
    w1, b1, w2, b2, w3, b3 = params
    hidden = anp.maximum(anp.dot(images, w1) + b1, 0)
    hidden = anp.maximum(anp.dot(hidden, w2) + b2, 0)
    logits = anp.dot(hidden, w3) + b3
    shifted = logits - getval(logits).max(axis=1, keepdims=True)
    log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
    return -anp.sum(onehot * log_probs) / images.shape[0]


def mlp(inputs: Inputs) -> Step:
    images, onehot = inputs["images"], inputs["onehot"]
    params = tuple(inputs[name].copy() for name in MLP_PARAMETERS)
    gradient = grad(_mlp_loss)

    def step() -> dict[str, np.ndarray]:
        grads = gradient(params, images, onehot)
        for param, param_grad in zip(params, grads, strict=True):
            param -= MLP_LEARNING_RATE * param_grad
        return dict(zip(MLP_PARAMETERS, grads, strict=True))

    return step


def _large_loss(x):
    return anp.sum(anp.tanh(x) * x**2 + anp.exp(-(x**2)))


def large(inputs: Inputs) -> Step:
    x = inputs["x"]
    gradient = grad(_large_loss)

    def step() -> dict[str, np.ndarray]:
        return {"x": gradient(x)}

    return step


def rosenbrock(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def hvp(inputs: Inputs) -> Step:
    x, v = inputs["x"], inputs["v"]
    # make_hvp (reverse over reverse, sharing one forward pass) measured a little faster than
    # autograd.hessian_vector_product here.
    make_product = make_hvp(rosenbrock)

    def step() -> dict[str, np.ndarray]:
        product, _ = make_product(x)
        return {"hvp": product(v)}

    return step


def jacobian(inputs: Inputs) -> Step:
    w, x = inputs["w"], inputs["x"]
    jac = autograd_jacobian(lambda x: anp.tanh(anp.dot(w, x)))

    def step() -> dict[str, np.ndarray]:
        return {"jacobian": jac(x)}

    return step


def _tiny_loss(params, X, y):
    w, b = params
    z = anp.dot(X, w) + b
    return anp.mean(anp.logaddexp(0.0, z) - y * z)


def tiny(inputs: Inputs) -> Step:
    X, y = inputs["X"], inputs["y"]
    params = (inputs["w"].copy(), inputs["b"].copy())
    gradient = grad(_tiny_loss)

    def step() -> dict[str, np.ndarray]:
        grads = gradient(params, X, y)
        for param, param_grad in zip(params, grads, strict=True):
            param -= TINY_LEARNING_RATE * param_grad
        return dict(zip(("w", "b"), grads, strict=True))

    return step


def _example_loss(params, x, y):
    w1, b1, w2, b2 = params
    logit = anp.dot(anp.tanh(anp.dot(x, w1) + b1), w2) + b2
    return anp.sum(anp.logaddexp(0.0, logit) - y * logit)


def per_example(inputs: Inputs) -> Step:
    """autograd has no vmap: its users take one gradient per example and stack them."""
    xs, ys = inputs["xs"], inputs["ys"]
    params = tuple(inputs[name] for name in PER_EXAMPLE_PARAMETERS)
    gradient = grad(_example_loss)

    def step() -> dict[str, np.ndarray]:
        grads = [gradient(params, x, y) for x, y in zip(xs, ys, strict=True)]
        return {
            name: np.stack([example[index] for example in grads])
            for index, name in enumerate(PER_EXAMPLE_PARAMETERS)
        }

    return step


def batch_grad(inputs: Inputs) -> Step:
    xs, ys = inputs["xs"], inputs["ys"]
    params = tuple(inputs[name] for name in PER_EXAMPLE_PARAMETERS)
    gradient = grad(_example_loss)

    def step() -> dict[str, np.ndarray]:
        return dict(zip(PER_EXAMPLE_PARAMETERS, gradient(params, xs, ys), strict=True))

    return step
