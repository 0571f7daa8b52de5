"""MyGrad: NumPy-like tensors with ``backward()``; gradients are NumPy arrays."""

from __future__ import annotations

from collections.abc import Callable

import mygrad as mg
import numpy as np

from benchmarks.workloads import (
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    OVERHEAD_BLOCKS,
    PER_EXAMPLE_PARAMETERS,
    TINY_LEARNING_RATE,
    Inputs,
)

Step = Callable[[], dict[str, np.ndarray]]

NOT_APPLICABLE = {"hvp": "MyGrad has no higher-order derivatives"}
"""Workloads this library cannot express, with the reason shown in the table."""


def to_numpy(gradient: np.ndarray) -> np.ndarray:
    return gradient


def _leaf(array: np.ndarray) -> mg.Tensor:
    return mg.tensor(array.copy(), constant=False)


def _chain(x, y):
    """The 99 elementwise operations of ``overhead``."""
    for _ in range(OVERHEAD_BLOCKS):
        x = mg.sin(x)
        x = x * 1.01
        x = x + 0.1
        x = mg.tanh(x)
        x = x * y
        x = mg.cos(x)
        x = mg.exp(x)
        x = x * 0.5
        x = x - 0.25
    return x


def overhead(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, np.ndarray]:
        _chain(x0, y).sum().backward()
        return {"x": x0.grad, "y": y.grad}

    return step


def nograd(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, np.ndarray]:
        with mg.no_autodiff:
            return {"out": _chain(x0, y)}

    return step


def mlp(inputs: Inputs) -> Step:
    images, onehot = inputs["images"], inputs["onehot"]
    params = {name: _leaf(inputs[name]) for name in MLP_PARAMETERS}
    batch = images.shape[0]

    def step() -> dict[str, np.ndarray]:
        w1, b1, w2, b2, w3, b3 = params.values()
        hidden = mg.maximum(mg.matmul(images, w1) + b1, 0)
        hidden = mg.maximum(mg.matmul(hidden, w2) + b2, 0)
        logits = mg.matmul(hidden, w3) + b3
        shifted = logits - logits.data.max(axis=1, keepdims=True)
        log_probs = shifted - mg.log(mg.exp(shifted).sum(axis=1, keepdims=True))
        loss = -(onehot * log_probs).sum() / batch
        loss.backward()
        grads = {}
        for name, param in params.items():
            grads[name] = param.grad
            param.data -= MLP_LEARNING_RATE * param.grad
        return grads

    return step


def large(inputs: Inputs) -> Step:
    x = _leaf(inputs["x"])

    def step() -> dict[str, np.ndarray]:
        mg.sum(mg.tanh(x) * x**2 + mg.exp(-(x**2))).backward()
        return {"x": x.grad}

    step.release = x.null_grad  # for the memory measurement
    return step


def jacobian(inputs: Inputs) -> Step:
    """MyGrad differentiates scalars only: one forward and backward pass per output entry."""
    w = inputs["w"]
    x = _leaf(inputs["x"])

    def step() -> dict[str, np.ndarray]:
        rows = []
        for index in range(w.shape[0]):
            mg.tanh(mg.matmul(w, x))[index].backward()
            rows.append(x.grad)
        return {"jacobian": np.stack(rows)}

    return step


def tiny(inputs: Inputs) -> Step:
    X, y = inputs["X"], inputs["y"]
    params = {"w": _leaf(inputs["w"]), "b": _leaf(inputs["b"])}

    def step() -> dict[str, np.ndarray]:
        z = mg.matmul(X, params["w"]) + params["b"]
        mg.mean(mg.logaddexp(0.0, z) - y * z).backward()
        grads = {}
        for name, param in params.items():
            grads[name] = param.grad
            param.data -= TINY_LEARNING_RATE * param.grad
        return grads

    return step


def _example_loss(params, x, y):
    w1, b1, w2, b2 = params
    logit = mg.matmul(mg.tanh(mg.matmul(x, w1) + b1), w2) + b2
    return mg.sum(mg.logaddexp(0.0, logit) - y * logit)


def per_example(inputs: Inputs) -> Step:
    """MyGrad has no vmap: one forward and backward pass per example, then stack."""
    xs, ys = inputs["xs"], inputs["ys"]
    params = tuple(_leaf(inputs[name]) for name in PER_EXAMPLE_PARAMETERS)

    def step() -> dict[str, np.ndarray]:
        grads: list[list[np.ndarray]] = [[] for _ in params]
        for x, y in zip(xs, ys, strict=True):
            _example_loss(params, x, y).backward()
            for collected, param in zip(grads, params, strict=True):
                collected.append(param.grad)
        return {
            name: np.stack(collected)
            for name, collected in zip(PER_EXAMPLE_PARAMETERS, grads, strict=True)
        }

    return step


def batch_grad(inputs: Inputs) -> Step:
    xs, ys = inputs["xs"], inputs["ys"]
    params = tuple(_leaf(inputs[name]) for name in PER_EXAMPLE_PARAMETERS)

    def step() -> dict[str, np.ndarray]:
        _example_loss(params, xs, ys).backward()
        return {name: param.grad for name, param in zip(PER_EXAMPLE_PARAMETERS, params)}

    return step
