"""tapegrad through its Tensor facade, written exactly as the PyTorch version is."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tapegrad as tg
from benchmarks.workloads import MLP_LEARNING_RATE, MLP_PARAMETERS, OVERHEAD_BLOCKS, Inputs

Step = Callable[[], dict[str, "tg.Tensor"]]


def to_numpy(gradient: tg.Tensor) -> np.ndarray:
    return gradient.detach().numpy()


def _leaf(array: np.ndarray) -> tg.Tensor:
    return tg.tensor(array.copy(), requires_grad=True)


def overhead(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, tg.Tensor]:
        x0.grad = None
        y.grad = None
        x = x0
        for _ in range(OVERHEAD_BLOCKS):
            x = tg.sin(x)
            x = x * 1.01
            x = x + 0.1
            x = tg.tanh(x)
            x = x * y
            x = tg.cos(x)
            x = tg.exp(x)
            x = x * 0.5
            x = x - 0.25
        x.sum().backward()
        return {"x": x0.grad, "y": y.grad}

    return step


def mlp(inputs: Inputs) -> Step:
    images = tg.from_numpy(inputs["images"])
    onehot = tg.from_numpy(inputs["onehot"])
    params = {name: _leaf(inputs[name]) for name in MLP_PARAMETERS}
    batch = inputs["images"].shape[0]

    def step() -> dict[str, tg.Tensor]:
        w1, b1, w2, b2, w3, b3 = params.values()
        hidden = tg.relu(images @ w1 + b1)
        hidden = tg.relu(hidden @ w2 + b2)
        logits = hidden @ w3 + b3
        # Log-softmax is unchanged by a per-row shift, so the row maxima enter as constants.
        row_max = tg.from_numpy(logits.detach().numpy().max(axis=1, keepdims=True))
        shifted = logits - row_max
        log_probs = shifted - tg.log(tg.exp(shifted).sum(dim=1, keepdim=True))
        loss = -(onehot * log_probs).sum() / batch
        loss.backward()
        grads = {}
        with tg.no_grad():
            for name, param in params.items():
                grads[name] = param.grad
                param -= MLP_LEARNING_RATE * param.grad
                param.grad = None
        return grads

    return step


def large(inputs: Inputs) -> Step:
    x = _leaf(inputs["x"])

    def step() -> dict[str, tg.Tensor]:
        x.grad = None
        (tg.tanh(x) * x**2 + tg.exp(-(x**2))).sum().backward()
        return {"x": x.grad}

    return step
