"""The floor: each workload's forward and backward written out by hand in NumPy.

The same maths as the autodiff libraries, with zero bookkeeping: these times are what the
arithmetic alone costs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.workloads import (
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    OVERHEAD_BLOCKS,
    TINY_LEARNING_RATE,
    Inputs,
)

Step = Callable[[], dict[str, np.ndarray]]


def to_numpy(gradient: np.ndarray) -> np.ndarray:
    return gradient


def overhead(inputs: Inputs) -> Step:
    x0, y = inputs["x"].copy(), inputs["y"].copy()

    def step() -> dict[str, np.ndarray]:
        saved = []
        x = x0
        for _ in range(OVERHEAD_BLOCKS):
            sin_in = x
            x = np.sin(x)
            x = x * 1.01
            x = x + 0.1
            x = np.tanh(x)
            tanh_out = x
            mul_in = x
            x = x * y
            cos_in = x
            x = np.cos(x)
            x = np.exp(x)
            exp_out = x
            x = x * 0.5
            x = x - 0.25
            saved.append((sin_in, tanh_out, mul_in, cos_in, exp_out))
        _ = x.sum()

        grad_x = np.ones_like(x)
        grad_y = np.zeros_like(y)
        for sin_in, tanh_out, mul_in, cos_in, exp_out in reversed(saved):
            grad_x = grad_x * 0.5
            grad_x = grad_x * exp_out
            grad_x = grad_x * -np.sin(cos_in)
            grad_y = grad_y + grad_x * mul_in
            grad_x = grad_x * y
            grad_x = grad_x * (1.0 - tanh_out * tanh_out)
            grad_x = grad_x * 1.01
            grad_x = grad_x * np.cos(sin_in)
        return {"x": grad_x, "y": grad_y}

    return step


def nograd(inputs: Inputs) -> Step:
    """``overhead``'s 99 operations alone: the bare NumPy calls."""
    x0, y = inputs["x"].copy(), inputs["y"].copy()

    def step() -> dict[str, np.ndarray]:
        x = x0
        for _ in range(OVERHEAD_BLOCKS):
            x = np.sin(x)
            x = x * 1.01
            x = x + 0.1
            x = np.tanh(x)
            x = x * y
            x = np.cos(x)
            x = np.exp(x)
            x = x * 0.5
            x = x - 0.25
        return {"out": x}

    return step


def mlp(inputs: Inputs) -> Step:
    images, onehot = inputs["images"], inputs["onehot"]
    params = {name: inputs[name].copy() for name in MLP_PARAMETERS}
    batch = images.shape[0]

    def step() -> dict[str, np.ndarray]:
        w1, b1, w2, b2, w3, b3 = (params[name] for name in MLP_PARAMETERS)
        pre1 = images @ w1 + b1
        act1 = np.maximum(pre1, 0)
        pre2 = act1 @ w2 + b2
        act2 = np.maximum(pre2, 0)
        logits = act2 @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        total = exps.sum(axis=1, keepdims=True)
        log_probs = shifted - np.log(total)
        _ = -(onehot * log_probs).sum() / batch

        grad_log_probs = onehot * np.float32(-1.0 / batch)
        grad_logits = grad_log_probs - (exps / total) * grad_log_probs.sum(axis=1, keepdims=True)
        grad_act2 = grad_logits @ w3.T
        grad_pre2 = grad_act2 * (pre2 > 0)
        grad_act1 = grad_pre2 @ w2.T
        grad_pre1 = grad_act1 * (pre1 > 0)
        grads = {
            "w1": images.T @ grad_pre1,
            "b1": grad_pre1.sum(axis=0),
            "w2": act1.T @ grad_pre2,
            "b2": grad_pre2.sum(axis=0),
            "w3": act2.T @ grad_logits,
            "b3": grad_logits.sum(axis=0),
        }
        for name, grad in grads.items():
            params[name] -= MLP_LEARNING_RATE * grad
        return grads

    return step


def large(inputs: Inputs) -> Step:
    x = inputs["x"]

    def step() -> dict[str, np.ndarray]:
        squared = x**2
        tanh_x = np.tanh(x)
        gauss = np.exp(-(x**2))
        _ = (tanh_x * squared + gauss).sum()

        two_x = 2.0 * x
        grad = squared * (1.0 - tanh_x * tanh_x) + tanh_x * two_x - gauss * two_x
        return {"x": grad}

    return step


def hvp(inputs: Inputs) -> Step:
    """``H v`` of ``sum(100 (b - a**2)**2 + (1 - a)**2)`` with ``a = x[:-1]``, ``b = x[1:]``.

    The directional derivative along ``v`` of the gradient ``g[:-1] = -400 a d - 2 (1 - a)``,
    ``g[1:] += 200 d`` (``d = b - a**2``), whose own derivative along ``v`` is ``dd``.
    """
    x, v = inputs["x"], inputs["v"]

    def step() -> dict[str, np.ndarray]:
        a, b = x[:-1], x[1:]
        va, vb = v[:-1], v[1:]
        d = b - a * a
        dd = vb - 2.0 * a * va
        out = np.zeros_like(x)
        out[:-1] = -400.0 * (va * d + a * dd) + 2.0 * va
        out[1:] += 200.0 * dd
        return {"hvp": out}

    return step


def jacobian(inputs: Inputs) -> Step:
    """``d tanh(w @ x) / dx = (1 - tanh(w @ x)**2)[:, None] * w``."""
    w, x = inputs["w"], inputs["x"]

    def step() -> dict[str, np.ndarray]:
        out = np.tanh(w @ x)
        return {"jacobian": (1.0 - out * out)[:, None] * w}

    return step


def tiny(inputs: Inputs) -> Step:
    """Mean ``softplus(z) - y z`` with ``z = X @ w + b``; its gradient in ``z`` is
    ``(sigmoid(z) - y) / n``. ``sigmoid`` is written with ``tanh``, which cannot overflow."""
    X, y = inputs["X"], inputs["y"]
    w, b = inputs["w"].copy(), inputs["b"].copy()
    scale = 1.0 / y.shape[0]

    def step() -> dict[str, np.ndarray]:
        z = X @ w + b
        _ = np.mean(np.logaddexp(0.0, z) - y * z)
        grad_z = (0.5 * np.tanh(0.5 * z) + (0.5 - y)) * scale
        grad_w = grad_z @ X
        grad_b = grad_z.sum()
        w[...] -= TINY_LEARNING_RATE * grad_w
        b[...] -= TINY_LEARNING_RATE * grad_b
        return {"w": grad_w, "b": grad_b}

    return step


def _per_example_forward(inputs: Inputs, xs: np.ndarray, ys: np.ndarray):
    """The 32-64-1 model's hidden layer, logits and the gradient of each loss in its logit."""
    w1, b1, w2, b2 = (inputs[name] for name in ("w1", "b1", "w2", "b2"))
    hidden = np.tanh(xs @ w1 + b1)
    z = hidden @ w2 + b2
    _ = np.logaddexp(0.0, z) - ys * z
    grad_z = 0.5 * np.tanh(0.5 * z) + (0.5 - ys)
    grad_pre = grad_z[:, None] * w2 * (1.0 - hidden * hidden)
    return hidden, grad_z, grad_pre


def per_example(inputs: Inputs) -> Step:
    """The gradient of each example's loss: outer products instead of summed matmuls."""
    xs, ys = inputs["xs"], inputs["ys"]

    def step() -> dict[str, np.ndarray]:
        hidden, grad_z, grad_pre = _per_example_forward(inputs, xs, ys)
        return {
            "w1": xs[:, :, None] * grad_pre[:, None, :],
            "b1": grad_pre,
            "w2": grad_z[:, None] * hidden,
            "b2": grad_z,
        }

    return step


def batch_grad(inputs: Inputs) -> Step:
    """The gradient of the loss summed over the batch."""
    xs, ys = inputs["xs"], inputs["ys"]

    def step() -> dict[str, np.ndarray]:
        hidden, grad_z, grad_pre = _per_example_forward(inputs, xs, ys)
        return {
            "w1": xs.T @ grad_pre,
            "b1": grad_pre.sum(axis=0),
            "w2": grad_z @ hidden,
            "b2": grad_z.sum(),
        }

    return step
