"""tapegrad's steps as pure functions of arrays, each wrapped in ``tg.jit``.

``tg.jit(fn)`` records ``fn``'s operations once per input signature and replays them on later
calls. Every step here is one such call: parameters (and data) in, gradients (and, for
``mlp`` and ``tiny``, the updated parameters, which the step rebinds) out. Where ``tapegrad``
has no ``jit`` this module raises :class:`~benchmarks.libraries.Unavailable` on import and
the library's rows are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tapegrad as tg
from benchmarks.libraries import Unavailable

if not hasattr(tg, "jit"):
    raise Unavailable("tg.jit not available")

import tapegrad.nn.functional as F  # noqa: E402
from benchmarks.impls.with_tapegrad import _chain, _example_loss, rosenbrock  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    PER_EXAMPLE_PARAMETERS,
    TINY_LEARNING_RATE,
    Inputs,
)

Step = Callable[[], dict[str, Any]]


def to_numpy(gradient: Any) -> np.ndarray:
    return gradient.detach().numpy() if isinstance(gradient, tg.Tensor) else np.asarray(gradient)


def _overhead_loss(x, y):
    return _chain(x, y).sum()


def overhead(inputs: Inputs) -> Step:
    x, y = inputs["x"].copy(), inputs["y"].copy()
    gradient = tg.jit(tg.grad(_overhead_loss, argnums=(0, 1)))

    def step() -> dict[str, Any]:
        grad_x, grad_y = gradient(x, y)
        return {"x": grad_x, "y": grad_y}

    return step


def _mlp_loss(params, images, onehot):
    w1, b1, w2, b2, w3, b3 = params
    hidden = tg.relu(images @ w1 + b1)
    hidden = tg.relu(hidden @ w2 + b2)
    logits = hidden @ w3 + b3
    # Log-softmax is unchanged by a per-row shift: the row maxima enter as constants.
    shifted = logits - logits.detach().amax(dim=1, keepdim=True)
    log_probs = shifted - tg.log(tg.exp(shifted).sum(dim=1, keepdim=True))
    return -(onehot * log_probs).sum() / images.shape[0]


def _mlp_update(params, images, onehot):
    grads = tg.grad(_mlp_loss)(params, images, onehot)
    return tuple(p - MLP_LEARNING_RATE * g for p, g in zip(params, grads)), grads


def nograd(inputs: Inputs) -> Step:
    x, y = inputs["x"].copy(), inputs["y"].copy()
    chain = tg.jit(_chain)

    def step() -> dict[str, Any]:
        return {"out": chain(x, y)}

    return step


def mlp(inputs: Inputs) -> Step:
    images, onehot = inputs["images"], inputs["onehot"]
    params = tuple(inputs[name].copy() for name in MLP_PARAMETERS)
    update = tg.jit(_mlp_update)

    def step() -> dict[str, Any]:
        nonlocal params
        params, grads = update(params, images, onehot)
        return dict(zip(MLP_PARAMETERS, grads, strict=True))

    return step


def _large_loss(x):
    return (tg.tanh(x) * x**2 + tg.exp(-(x**2))).sum()


def large(inputs: Inputs) -> Step:
    x = inputs["x"].copy()
    gradient = tg.jit(tg.grad(_large_loss))

    def step() -> dict[str, Any]:
        return {"x": gradient(x)}

    return step


def _hvp(x, v):
    # Reverse over reverse, the fastest tapegrad formulation without jit (see with_tapegrad).
    return tg.vjp(tg.grad(rosenbrock), x)[1](v)[0]


def hvp(inputs: Inputs) -> Step:
    x, v = inputs["x"], inputs["v"]
    product = tg.jit(_hvp)

    def step() -> dict[str, Any]:
        return {"hvp": product(x, v)}

    return step


def jacobian(inputs: Inputs) -> Step:
    w, x = inputs["w"], inputs["x"]
    jac = tg.jit(tg.jacfwd(lambda x, w: tg.tanh(w @ x)))

    def step() -> dict[str, Any]:
        return {"jacobian": jac(x, w)}

    return step


def _tiny_loss(params, X, y):
    w, b = params
    return F.binary_cross_entropy_with_logits(X @ w + b, y)


def _tiny_update(params, X, y):
    grads = tg.grad(_tiny_loss)(params, X, y)
    return tuple(p - TINY_LEARNING_RATE * g for p, g in zip(params, grads)), grads


def tiny(inputs: Inputs) -> Step:
    X, y = inputs["X"], inputs["y"]
    params = (inputs["w"].copy(), inputs["b"].copy())
    update = tg.jit(_tiny_update)

    def step() -> dict[str, Any]:
        nonlocal params
        params, grads = update(params, X, y)
        return dict(zip(("w", "b"), grads, strict=True))

    return step


def per_example(inputs: Inputs) -> Step:
    xs, ys = inputs["xs"], inputs["ys"]
    params = tuple(inputs[name] for name in PER_EXAMPLE_PARAMETERS)
    per_example_grad = tg.jit(tg.vmap(tg.grad(_example_loss), in_axes=(None, 0, 0)))

    def step() -> dict[str, Any]:
        return dict(zip(PER_EXAMPLE_PARAMETERS, per_example_grad(params, xs, ys), strict=True))

    return step


def batch_grad(inputs: Inputs) -> Step:
    xs, ys = inputs["xs"], inputs["ys"]
    params = tuple(inputs[name] for name in PER_EXAMPLE_PARAMETERS)
    gradient = tg.jit(tg.grad(_example_loss))

    def step() -> dict[str, Any]:
        return dict(zip(PER_EXAMPLE_PARAMETERS, gradient(params, xs, ys), strict=True))

    return step
