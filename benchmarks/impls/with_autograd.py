"""HIPS autograd: the workloads as functions of NumPy arrays, differentiated by ``grad``."""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.tracer import getval

from benchmarks.workloads import MLP_LEARNING_RATE, MLP_PARAMETERS, OVERHEAD_BLOCKS, Inputs

Step = Callable[[], dict[str, np.ndarray]]


def to_numpy(gradient: np.ndarray) -> np.ndarray:
    return gradient


def _overhead_loss(x, y):
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
    return anp.sum(x)


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
