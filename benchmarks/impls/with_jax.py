"""JAX in float64 on the CPU, op by op: every step is a function of arrays, differentiated by
``jax.grad`` and friends, without ``jax.jit``.

``benchmarks/impls/with_jax_jit.py`` builds the same steps with each differentiated function
under ``jax.jit``: each builder here takes the wrapper to apply (the identity by default).
JAX dispatches asynchronously, so every step blocks until its results are computed.

XLA's CPU thread pools follow none of the usual environment variables; ``XLA_FLAGS`` asks
for one thread (set here too, before JAX is imported, for use outside the harness), and the
harness worker confines JAX's process to one CPU, which is what actually limits XLA.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from benchmarks.threads import with_xla_flags

os.environ["XLA_FLAGS"] = with_xla_flags(os.environ.get("XLA_FLAGS", ""))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.workloads import (  # noqa: E402
    MLP_LEARNING_RATE,
    MLP_PARAMETERS,
    OVERHEAD_BLOCKS,
    PER_EXAMPLE_PARAMETERS,
    TINY_LEARNING_RATE,
    Inputs,
)

jax.config.update("jax_enable_x64", True)

Step = Callable[[], dict[str, Any]]
Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]


def to_numpy(gradient: Any) -> np.ndarray:
    return np.asarray(gradient)


def _eager(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


def _arrays(inputs: Inputs, *names: str) -> tuple[jax.Array, ...]:
    """The named inputs as JAX arrays on the CPU (copies, as the other libraries' leaves)."""
    return tuple(jnp.array(inputs[name]) for name in names)


def _chain(x, y):
    """The 99 elementwise operations of ``overhead``."""
    for _ in range(OVERHEAD_BLOCKS):
        x = jnp.sin(x)
        x = x * 1.01
        x = x + 0.1
        x = jnp.tanh(x)
        x = x * y
        x = jnp.cos(x)
        x = jnp.exp(x)
        x = x * 0.5
        x = x - 0.25
    return x


def _overhead_loss(x, y):
    return jnp.sum(_chain(x, y))


def nograd(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    """JAX's operations compute without recording anything: no grad mode to enter."""
    x, y = _arrays(inputs, "x", "y")
    chain = wrap(_chain)

    def step() -> dict[str, jax.Array]:
        return {"out": jax.block_until_ready(chain(x, y))}

    return step


def overhead(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    x, y = _arrays(inputs, "x", "y")
    gradient = wrap(jax.grad(_overhead_loss, argnums=(0, 1)))

    def step() -> dict[str, jax.Array]:
        grad_x, grad_y = jax.block_until_ready(gradient(x, y))
        return {"x": grad_x, "y": grad_y}

    return step


def _mlp_loss(params, images, onehot):
    w1, b1, w2, b2, w3, b3 = params
    hidden = jax.nn.relu(images @ w1 + b1)
    hidden = jax.nn.relu(hidden @ w2 + b2)
    logits = hidden @ w3 + b3
    shifted = logits - jax.lax.stop_gradient(logits).max(axis=1, keepdims=True)
    log_probs = shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=1, keepdims=True))
    return -jnp.sum(onehot * log_probs) / images.shape[0]


def _mlp_update(params, images, onehot):
    grads = jax.grad(_mlp_loss)(params, images, onehot)
    return tuple(p - MLP_LEARNING_RATE * g for p, g in zip(params, grads)), grads


def mlp(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    images, onehot = _arrays(inputs, "images", "onehot")
    params = _arrays(inputs, *MLP_PARAMETERS)
    update = wrap(_mlp_update)

    def step() -> dict[str, jax.Array]:
        nonlocal params
        params, grads = jax.block_until_ready(update(params, images, onehot))
        return dict(zip(MLP_PARAMETERS, grads, strict=True))

    return step


def _large_loss(x):
    return jnp.sum(jnp.tanh(x) * x**2 + jnp.exp(-(x**2)))


def large(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    (x,) = _arrays(inputs, "x")
    gradient = wrap(jax.grad(_large_loss))

    def step() -> dict[str, jax.Array]:
        return {"x": jax.block_until_ready(gradient(x))}

    return step


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _hvp(x, v):
    # Forward over reverse, as JAX's documentation recommends: op by op it measured three
    # times faster than reverse over reverse (jax.vjp of jax.grad, or jax.grad of a vdot
    # with jax.grad); jitted, all three took the same time.
    return jax.jvp(jax.grad(rosenbrock), (x,), (v,))[1]


def hvp(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    x, v = _arrays(inputs, "x", "v")
    product = wrap(_hvp)

    def step() -> dict[str, jax.Array]:
        return {"hvp": jax.block_until_ready(product(x, v))}

    return step


def jacobian(inputs: Inputs, wrap: Wrap = _eager, transform: Wrap = jax.jacfwd) -> Step:
    w, x = _arrays(inputs, "w", "x")
    # Op by op, jacfwd measured about three times faster than jacrev on this 64 x 64
    # Jacobian; under jit, jacrev was about 10% faster (with_jax_jit passes it).
    jac = wrap(transform(lambda x, w: jnp.tanh(w @ x)))

    def step() -> dict[str, jax.Array]:
        return {"jacobian": jax.block_until_ready(jac(x, w))}

    return step


def _tiny_loss(params, X, y):
    w, b = params
    z = X @ w + b
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z)


def _tiny_update(params, X, y):
    grads = jax.grad(_tiny_loss)(params, X, y)
    return tuple(p - TINY_LEARNING_RATE * g for p, g in zip(params, grads)), grads


def tiny(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    X, y = _arrays(inputs, "X", "y")
    params = _arrays(inputs, "w", "b")
    update = wrap(_tiny_update)

    def step() -> dict[str, jax.Array]:
        nonlocal params
        params, grads = jax.block_until_ready(update(params, X, y))
        return dict(zip(("w", "b"), grads, strict=True))

    return step


def _example_loss(params, x, y):
    w1, b1, w2, b2 = params
    logit = jnp.tanh(x @ w1 + b1) @ w2 + b2
    return jnp.sum(jnp.logaddexp(0.0, logit) - y * logit)


def per_example(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    xs, ys = _arrays(inputs, "xs", "ys")
    params = _arrays(inputs, *PER_EXAMPLE_PARAMETERS)
    per_example_grad = wrap(jax.vmap(jax.grad(_example_loss), in_axes=(None, 0, 0)))

    def step() -> dict[str, jax.Array]:
        grads = jax.block_until_ready(per_example_grad(params, xs, ys))
        return dict(zip(PER_EXAMPLE_PARAMETERS, grads, strict=True))

    return step


def batch_grad(inputs: Inputs, wrap: Wrap = _eager) -> Step:
    xs, ys = _arrays(inputs, "xs", "ys")
    params = _arrays(inputs, *PER_EXAMPLE_PARAMETERS)
    gradient = wrap(jax.grad(_example_loss))

    def step() -> dict[str, jax.Array]:
        grads = jax.block_until_ready(gradient(params, xs, ys))
        return dict(zip(PER_EXAMPLE_PARAMETERS, grads, strict=True))

    return step
