"""``tg.jit``: record once per signature, replay after; same results as running the function."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F


def rosenbrock(x: Any) -> Any:
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


@contextlib.contextmanager
def _no_fallback() -> Iterator[None]:
    """Fail if jit falls back to running the function eagerly."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="tg.jit")
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_hessian_vector_product_replays_on_new_values(rng: np.random.Generator) -> None:
    def hvp(x: Any, v: Any) -> Any:
        return tg.jvp(tg.grad(rosenbrock), (x,), (v,))[1]

    fast = tg.jit(hvp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            x, v = rng.standard_normal(20), rng.standard_normal(20)
            got = fast(x, v)
            assert type(got) is np.ndarray and got.dtype == np.float64
            np.testing.assert_array_equal(got, hvp(x, v))
    assert len(fast.programs) == 1
    # The exact Hessian of the Rosenbrock function, column by column.
    x = rng.standard_normal(20)
    hess = tg.hessian(rosenbrock)(x)
    for i in range(3):
        np.testing.assert_allclose(fast(x, np.eye(20)[i]), hess[:, i], rtol=1e-12)


def test_gradients_of_a_long_chain_equal_eager(rng: np.random.Generator) -> None:
    def chain(x: Any, y: Any) -> Any:
        for _ in range(5):
            x = tg.exp(tg.cos(tg.tanh(tg.sin(x) * 1.01 + 0.1) * y)) * 0.5 - 0.25
        return x.sum()

    step = tg.jit(tg.value_and_grad(chain, argnums=(0, 1)))
    for _ in range(3):
        x, y = rng.uniform(-1, 1, 16), rng.uniform(0.5, 1.5, 16)
        value, (gx, gy) = step(x, y)
        want_value, (wx, wy) = tg.value_and_grad(chain, argnums=(0, 1))(x, y)
        assert float(value) == float(want_value)
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


def test_a_new_signature_records_again(rng: np.random.Generator) -> None:
    f = tg.jit(tg.grad(rosenbrock))
    f(rng.standard_normal(5))
    f(rng.standard_normal(5))
    assert len(f.programs) == 1
    f(rng.standard_normal(6))
    f(rng.standard_normal(5).astype(np.float32))
    f(rng.standard_normal(10)[::2])  # other strides
    assert len(f.programs) == 4
    x = rng.standard_normal(7).astype(np.float32)
    got = f(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, tg.grad(rosenbrock)(x))


def test_training_step_with_detached_maxima_and_relu(rng: np.random.Generator) -> None:
    def loss(params: dict[str, Any], x: Any, onehot: Any) -> Any:
        h = tg.relu(x @ params["w1"] + params["b1"])
        z = h @ params["w2"]
        z = z - z.max(dim=1, keepdim=True).values.detach()
        logp = z - tg.log(tg.exp(z).sum(dim=1, keepdim=True))
        return -(onehot * logp).sum(dim=1).mean()

    def step(params: dict[str, Any], x: Any, onehot: Any) -> Any:
        value, grads = tg.value_and_grad(loss)(params, x, onehot)
        new = {k: params[k] - 0.1 * grads[k] for k in params}
        return new, value

    params = {
        "w1": rng.standard_normal((6, 5)),
        "b1": rng.standard_normal(5),
        "w2": rng.standard_normal((5, 3)),
    }
    fast = tg.jit(step)
    slow_params = dict(params)
    with _no_fallback():
        for _ in range(4):
            x = rng.standard_normal((8, 6))
            onehot = np.eye(3)[rng.integers(0, 3, 8)]
            params, value = fast(params, x, onehot)
            slow_params, slow_value = step(slow_params, x, onehot)
            assert float(value) == pytest.approx(float(slow_value), rel=1e-14)
            for k in params:
                np.testing.assert_allclose(params[k], slow_params[k], rtol=1e-14)


def test_jacobians_and_per_example_gradients(rng: np.random.Generator) -> None:
    w = rng.standard_normal((6, 6))

    def f(x: Any) -> Any:
        return tg.tanh(w @ x)

    for transform in (tg.jacrev, tg.jacfwd):
        fast = tg.jit(transform(f))
        for _ in range(2):
            x = rng.standard_normal(6)
            np.testing.assert_allclose(fast(x), transform(f)(x), rtol=1e-14)

    def loss(p: Any, x: Any, y: Any) -> Any:
        return F.binary_cross_entropy_with_logits(tg.tanh(x @ p).sum(), y)

    per_example = tg.vmap(tg.grad(loss), in_axes=(None, 0, 0))
    fast = tg.jit(per_example)
    with _no_fallback():
        for _ in range(2):
            p, xs, ys = rng.standard_normal((3, 2)), rng.standard_normal((5, 3)), rng.random(5)
            np.testing.assert_allclose(fast(p, xs, ys), per_example(p, xs, ys), rtol=1e-14)


def test_tensors_in_tensors_out() -> None:
    fast = tg.jit(lambda t: (t * 2).sin())
    for value in (1.0, 2.0):
        out = fast(tg.full((3,), value))
        assert isinstance(out, tg.Tensor) and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), np.sin(np.full(3, value * 2, np.float32)))


def test_tensors_that_require_grad_run_the_function_itself() -> None:
    fast = tg.jit(lambda t: (t * 2).sin())
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    out = fast(x)
    assert out.grad_fn is not None and type(out.grad_fn).__name__ == "SinBackward0"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(2 * np.array([0.5, 1.0])), rtol=1e-6)
    assert not fast.programs
    # Differentiating through a jitted function gives the function's own gradient.
    g = tg.grad(lambda x: tg.jit(rosenbrock)(x))(np.arange(4.0))
    np.testing.assert_array_equal(g, tg.grad(rosenbrock)(np.arange(4.0)))


def test_in_place_writes_replay() -> None:
    def f(x: Any, y: Any) -> Any:
        x += 1  # on the caller's array, as the function itself does
        buf = np.zeros_like(y)
        buf[1:] = y[:-1] * 2
        buf[0] = 5.0
        return x * buf

    fast = tg.jit(f)
    a, b = np.zeros(3), np.arange(3.0)
    c, d = np.zeros(3), np.arange(3.0)
    for _ in range(3):
        np.testing.assert_array_equal(fast(a, b), f(c, d))
        np.testing.assert_array_equal(a, c)
        b += 1.0
        d += 1.0
    assert len(fast.programs) == 1


def test_reading_values_into_python_falls_back_with_a_warning() -> None:
    def f(x: Any) -> Any:
        return x * 2 if x.sum() > 0 else x * 3

    fast = tg.jit(f)
    with pytest.warns(UserWarning, match=r"runs eagerly.*bool\(\)"):
        np.testing.assert_array_equal(fast(np.ones(2)), [2.0, 2.0])
    # The same signature with the other branch still gives the function's answer.
    np.testing.assert_array_equal(fast(-np.ones(2)), [-3.0, -3.0])


def test_random_numbers_fall_back() -> None:
    fast = tg.jit(lambda x: x + tg.randn(3, dtype=tg.float64).numpy())
    with pytest.warns(UserWarning, match="random"):
        a = fast(np.zeros(3))
    b = fast(np.zeros(3))
    assert not np.array_equal(a, b)


def test_outputs_that_do_not_depend_on_the_inputs(rng: np.random.Generator) -> None:
    fast = tg.jit(lambda x: (x.sum(), np.ones(2), "label", 3))
    s, ones, label, three = fast(np.arange(3.0))
    assert float(s) == 3.0 and label == "label" and three == 3
    ones[0] = 7.0  # the caller owns what it gets back
    _, ones2, _, _ = fast(np.arange(3.0))
    np.testing.assert_array_equal(ones2, [1.0, 1.0])


def test_static_arguments_are_part_of_the_signature() -> None:
    fast = tg.jit(lambda x, power: x**power)
    np.testing.assert_array_equal(fast(np.arange(3.0), 2), [0.0, 1.0, 4.0])
    np.testing.assert_array_equal(fast(np.arange(3.0), 3), [0.0, 1.0, 8.0])
    assert len(fast.programs) == 2


def test_the_program_is_straight_line_numpy() -> None:
    fast = tg.jit(lambda x: np.sin(x) * 2.0)
    program = fast.program(np.zeros(3))
    assert len(program) == 2
    assert "sin" in program.source and "multiply" in program.source
    # Calls whose results nothing needs are left out.
    fast = tg.jit(lambda x: (np.exp(x), np.cos(x))[1])
    assert "exp" not in fast.program(np.zeros(3)).source


def test_jit_inside_jit_records_one_program(rng: np.random.Generator) -> None:
    inner = tg.jit(lambda x: tg.sin(x) * 2)
    outer = tg.jit(lambda x: inner(x) + 1)
    x = rng.standard_normal(3)
    np.testing.assert_array_equal(outer(x), np.sin(x) * 2 + 1)
    x = rng.standard_normal(3)
    np.testing.assert_array_equal(outer(x), np.sin(x) * 2 + 1)
    assert not inner.programs and len(outer.programs) == 1


def test_large_temporaries_are_reused_and_results_stay_fresh(rng: np.random.Generator) -> None:
    def f(x: Any) -> Any:
        return (tg.tanh(x) * x**2 + tg.exp(-(x**2))).sum()

    g = tg.jit(tg.grad(f))
    x = rng.standard_normal(1 << 16)
    first = g(x)
    second = g(x + 1.0)
    np.testing.assert_array_equal(first, tg.grad(f)(x))
    np.testing.assert_array_equal(second, tg.grad(f)(x + 1.0))
    assert not np.shares_memory(first, second)
    source = g.program(x).source
    assert "out=" in source  # dying temporaries lend their buffers
    assert "del " in source  # and the rest are dropped after their last use


def test_a_constant_handed_out_by_a_replay_is_a_fresh_copy() -> None:
    table = np.arange(3.0)
    fast = tg.jit(lambda x: (x + 1, np.asarray(table)))
    fast(np.zeros(3))  # the recording call returns what the function returns: table itself
    for _ in range(2):
        _, t = fast(np.zeros(3))
        assert not np.shares_memory(t, table)
        t[0] = 99.0
    np.testing.assert_array_equal(table, [0.0, 1.0, 2.0])
