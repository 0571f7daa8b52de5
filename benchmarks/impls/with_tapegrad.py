"""tapegrad as its users write it: the Tensor facade where PyTorch users would use tensors
(written exactly as the PyTorch version is), the JAX-style transforms for the transforms."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F
from benchmarks.workloads import (
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    OVERHEAD_BLOCKS,
    PER_EXAMPLE_PARAMETERS,
    TINY_LEARNING_RATE,
    Inputs,
)

Step = Callable[[], dict[str, "tg.Tensor"]]


def to_numpy(gradient: tg.Tensor | np.ndarray) -> np.ndarray:
    """Tensors from the facade, arrays from the transforms."""
    return gradient.detach().numpy() if isinstance(gradient, tg.Tensor) else gradient


def _leaf(array: np.ndarray) -> tg.Tensor:
    return tg.tensor(array.copy(), requires_grad=True)


def _chain(x, y):
    """The 99 elementwise operations of ``overhead``."""
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
    return x


def overhead(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])

    def step() -> dict[str, tg.Tensor]:
        x0.grad = None
        y.grad = None
        _chain(x0, y).sum().backward()
        return {"x": x0.grad, "y": y.grad}

    return step


def nograd(inputs: Inputs) -> Step:
    x0, y = _leaf(inputs["x"]), _leaf(inputs["y"])  # parameters, as a model evaluated

    def step() -> dict[str, tg.Tensor]:
        with tg.no_grad():
            return {"out": _chain(x0, y)}

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

    step.release = lambda: setattr(x, "grad", None)  # for the memory measurement
    return step


def rosenbrock(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def hvp(inputs: Inputs) -> Step:
    x, v = inputs["x"], inputs["v"]
    gradient = tg.grad(rosenbrock)

    # The Hessian is symmetric, so H v is also the pullback of v through the gradient
    # (reverse over reverse). Measured on the 100-d workload this is the fastest of
    # tg.vjp(grad(f)), tg.grad(lambda x: tg.vdot(grad(f)(x), v)) and
    # tg.jvp(grad(f), (x,), (v,)) (forward over reverse), in that order.
    def step() -> dict[str, np.ndarray]:
        _, pullback = tg.vjp(gradient, x)
        return {"hvp": pullback(v)[0]}

    return step


def jacobian(inputs: Inputs) -> Step:
    w, x = inputs["w"], inputs["x"]
    # jacfwd (64 tangents through one batched forward pass) measured faster than jacrev here.
    jac = tg.jacfwd(lambda x: tg.tanh(w @ x))

    def step() -> dict[str, np.ndarray]:
        return {"jacobian": jac(x)}

    return step


def tiny(inputs: Inputs) -> Step:
    X, y = tg.from_numpy(inputs["X"]), tg.from_numpy(inputs["y"])
    params = {"w": _leaf(inputs["w"]), "b": _leaf(inputs["b"])}

    def step() -> dict[str, tg.Tensor]:
        w, b = params["w"], params["b"]
        F.binary_cross_entropy_with_logits(X @ w + b, y).backward()
        grads = {}
        with tg.no_grad():
            for name, param in params.items():
                grads[name] = param.grad
                param -= TINY_LEARNING_RATE * param.grad
                param.grad = None
        return grads

    return step


def _example_loss(params, x, y):
    """The logistic loss of the 32-64-1 tanh MLP, summed over whatever batch it is given."""
    w1, b1, w2, b2 = params
    logit = tg.tanh(x @ w1 + b1) @ w2 + b2
    return F.binary_cross_entropy_with_logits(logit, y, reduction="sum")


def _parameters(inputs: Inputs) -> tuple[np.ndarray, ...]:
    return tuple(inputs[name] for name in PER_EXAMPLE_PARAMETERS)


def per_example(inputs: Inputs) -> Step:
    xs, ys, params = inputs["xs"], inputs["ys"], _parameters(inputs)
    per_example_grad = tg.vmap(tg.grad(_example_loss), in_axes=(None, 0, 0))

    def step() -> dict[str, np.ndarray]:
        return dict(zip(PER_EXAMPLE_PARAMETERS, per_example_grad(params, xs, ys), strict=True))

    return step


def batch_grad(inputs: Inputs) -> Step:
    xs, ys, params = inputs["xs"], inputs["ys"], _parameters(inputs)
    gradient = tg.grad(_example_loss)

    def step() -> dict[str, np.ndarray]:
        return dict(zip(PER_EXAMPLE_PARAMETERS, gradient(params, xs, ys), strict=True))

    return step
