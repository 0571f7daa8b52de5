"""MyGrad: NumPy-like tensors with ``backward()``; gradients are NumPy arrays."""

from __future__ import annotations

from collections.abc import Callable

import mygrad as mg
import numpy as np

from benchmarks.workloads import MLP_LEARNING_RATE, MLP_PARAMETERS, OVERHEAD_BLOCKS, Inputs

Step = Callable[[], dict[str, np.ndarray]]


def to_numpy(gradient: np.ndarray) -> np.ndarray:
    return gradient


def _leaf(array: np.ndarray) -> mg.Tensor:
    return mg.tensor(array.copy(), constant=False)


def overhead(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, np.ndarray]:
        x = x0
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
        x.sum().backward()
        return {"x": x0.grad, "y": y.grad}

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

    return step
