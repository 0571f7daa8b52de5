"""PyTorch eager on the CPU, restricted to one thread, written as a PyTorch user would."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from benchmarks.workloads import MLP_LEARNING_RATE, MLP_PARAMETERS, OVERHEAD_BLOCKS, Inputs

torch.set_num_threads(1)

Step = Callable[[], dict[str, torch.Tensor]]


def to_numpy(gradient: torch.Tensor) -> np.ndarray:
    return gradient.detach().numpy()


def _leaf(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(array, requires_grad=True)


def overhead(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, torch.Tensor]:
        x0.grad = None
        y.grad = None
        x = x0
        for _ in range(OVERHEAD_BLOCKS):
            x = torch.sin(x)
            x = x * 1.01
            x = x + 0.1
            x = torch.tanh(x)
            x = x * y
            x = torch.cos(x)
            x = torch.exp(x)
            x = x * 0.5
            x = x - 0.25
        x.sum().backward()
        return {"x": x0.grad, "y": y.grad}

    return step


def mlp(inputs: Inputs) -> Step:
    images = torch.from_numpy(inputs["images"])
    onehot = torch.from_numpy(inputs["onehot"])
    params = {name: _leaf(inputs[name]) for name in MLP_PARAMETERS}
    batch = images.shape[0]

    def step() -> dict[str, torch.Tensor]:
        w1, b1, w2, b2, w3, b3 = params.values()
        hidden = torch.relu(images @ w1 + b1)
        hidden = torch.relu(hidden @ w2 + b2)
        logits = hidden @ w3 + b3
        shifted = logits - logits.detach().amax(dim=1, keepdim=True)
        log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        loss = -(onehot * log_probs).sum() / batch
        loss.backward()
        grads = {}
        with torch.no_grad():
            for name, param in params.items():
                grads[name] = param.grad
                param -= MLP_LEARNING_RATE * param.grad
                param.grad = None
        return grads

    return step


def large(inputs: Inputs) -> Step:
    x = _leaf(inputs["x"])

    def step() -> dict[str, torch.Tensor]:
        x.grad = None
        torch.sum(torch.tanh(x) * x**2 + torch.exp(-(x**2))).backward()
        return {"x": x.grad}

    return step
