"""PyTorch eager on the CPU, restricted to one thread, written as a PyTorch user would."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.func
import torch.nn.functional as F

from benchmarks.workloads import (
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    OVERHEAD_BLOCKS,
    PER_EXAMPLE_PARAMETERS,
    TINY_LEARNING_RATE,
    Inputs,
)

torch.set_num_threads(1)

Step = Callable[[], dict[str, torch.Tensor]]


def to_numpy(gradient: torch.Tensor) -> np.ndarray:
    return gradient.detach().numpy()


def _leaf(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(array, requires_grad=True)


def _chain(x, y):
    """The 99 elementwise operations of ``overhead``."""
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
    return x


def overhead(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, torch.Tensor]:
        x0.grad = None
        y.grad = None
        _chain(x0, y).sum().backward()
        return {"x": x0.grad, "y": y.grad}

    return step


def nograd(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return {"out": _chain(x0, y)}

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

    step.release = lambda: setattr(x, "grad", None)  # for the memory measurement
    return step


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def hvp(inputs: Inputs) -> Step:
    x, v = torch.tensor(inputs["x"]), torch.tensor(inputs["v"])

    # Double backward, written out: the gradient with create_graph=True, then the gradient
    # of its dot product with v. On the 100-d workload this measured about twice as fast as
    # torch.autograd.functional.hvp (which differentiates twice more to get H v from v^T H)
    # and several times faster than torch.func.jvp(torch.func.grad(f)).
    def step() -> dict[str, torch.Tensor]:
        leaf = x.detach().requires_grad_()
        (gradient,) = torch.autograd.grad(rosenbrock(leaf), leaf, create_graph=True)
        (product,) = torch.autograd.grad(gradient @ v, leaf)
        return {"hvp": product}

    return step


def jacobian(inputs: Inputs) -> Step:
    w, x = torch.tensor(inputs["w"]), torch.tensor(inputs["x"])
    # torch.func.jacrev measured fastest here, ahead of torch.func.jacfwd and
    # torch.autograd.functional.jacobian(vectorize=True) (reverse or forward strategy).
    jac = torch.func.jacrev(lambda x: torch.tanh(w @ x))

    def step() -> dict[str, torch.Tensor]:
        return {"jacobian": jac(x)}

    return step


def tiny(inputs: Inputs) -> Step:
    X, y = torch.from_numpy(inputs["X"]), torch.from_numpy(inputs["y"])
    params = {"w": _leaf(inputs["w"]), "b": _leaf(inputs["b"])}

    def step() -> dict[str, torch.Tensor]:
        w, b = params["w"], params["b"]
        F.binary_cross_entropy_with_logits(X @ w + b, y).backward()
        grads = {}
        with torch.no_grad():
            for name, param in params.items():
                grads[name] = param.grad
                param -= TINY_LEARNING_RATE * param.grad
                param.grad = None
        return grads

    return step


def _example_loss(params, x, y):
    w1, b1, w2, b2 = params
    logit = torch.tanh(x @ w1 + b1) @ w2 + b2
    return F.binary_cross_entropy_with_logits(logit, y, reduction="sum")


def per_example(inputs: Inputs) -> Step:
    xs, ys = torch.from_numpy(inputs["xs"]), torch.from_numpy(inputs["ys"])
    params = tuple(torch.tensor(inputs[name]) for name in PER_EXAMPLE_PARAMETERS)
    per_example_grad = torch.func.vmap(torch.func.grad(_example_loss), in_dims=(None, 0, 0))

    def step() -> dict[str, torch.Tensor]:
        return dict(zip(PER_EXAMPLE_PARAMETERS, per_example_grad(params, xs, ys), strict=True))

    return step


def batch_grad(inputs: Inputs) -> Step:
    xs, ys = torch.from_numpy(inputs["xs"]), torch.from_numpy(inputs["ys"])
    params = tuple(_leaf(inputs[name]) for name in PER_EXAMPLE_PARAMETERS)

    def step() -> dict[str, torch.Tensor]:
        grads = torch.autograd.grad(_example_loss(params, xs, ys), params)
        return dict(zip(PER_EXAMPLE_PARAMETERS, grads, strict=True))

    return step
