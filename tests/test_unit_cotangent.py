"""Under ``loss.sum().backward()`` the entries below the sum receive a cotangent of ones, and
``g * v`` is ``v``: on large arrays the sweep skips that product (``Primitive.vjp_unit``) and
hands on a residual that nothing else holds as the cotangent itself. Gradients are
bit-identical to the general rules', fewer arrays are made, and no array anyone can see is
ever written."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.tape as tape_module
from tapegrad.ops import elementwise as ew
from tapegrad.tape import INPLACE_MIN

N = 2 * INPLACE_MIN

pytestmark = pytest.mark.skipif(
    not tape_module._EXACT_REFCOUNTS,
    reason="residuals are handed on only where refcounts are exact",
)

UNIT_PRIMITIVES = (ew.MULTIPLY, ew.EXP, ew.TANH, ew.SIGMOID)

GRAPHS = {
    "large workload": lambda x: (tg.tanh(x) * x**2 + tg.exp(-(x**2))).sum(),
    "product of two leaves' functions": lambda x: (tg.exp(x) * tg.sin(x)).sum(),
    "tanh and sigmoid under a sum": lambda x: (tg.tanh(x * 2.0) + tg.sigmoid(x - 1.0)).sum(),
    "difference": lambda x: (tg.exp(x) - tg.tanh(x)).sum(),
    "scaled seed": lambda x: (tg.exp(x) * 3.0).sum() * 0.5,
    "mean (a seed of 1/n)": lambda x: tg.exp(x).mean(),
}


def _grad(fn, a):
    x = tg.tensor(a.copy(), requires_grad=True)
    fn(x).backward()
    return x.grad.numpy()


def _without_unit_rules(monkeypatch):
    for prim in UNIT_PRIMITIVES:
        monkeypatch.setattr(prim, "vjp_unit", None)


def _backward_peak(fn, a) -> float:
    """Memory allocated at the peak of the backward pass, in arrays of ``a``'s size."""
    x = tg.tensor(a.copy(), requires_grad=True)
    loss = fn(x)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        loss.backward()
        return tracemalloc.get_traced_memory()[1] / a.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_are_bit_identical_to_the_general_rules(monkeypatch, name, dtype):
    a = np.linspace(-2.0, 2.0, N).astype(dtype)
    got = _grad(GRAPHS[name], a)
    with monkeypatch.context() as m:
        _without_unit_rules(m)
        want = _grad(GRAPHS[name], a)
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got, want)


def test_the_large_workload_against_its_closed_form():
    a = np.linspace(-2.0, 2.0, N)
    t = np.tanh(a)
    want = (1 - t * t) * a**2 + t * 2 * a - np.exp(-(a**2)) * 2 * a
    np.testing.assert_allclose(_grad(GRAPHS["large workload"], a), want, rtol=1e-12, atol=1e-15)


def test_residuals_become_cotangents(monkeypatch):
    fn = GRAPHS["large workload"]
    a = np.linspace(-2.0, 2.0, N)
    with_unit = _backward_peak(fn, a)
    with monkeypatch.context() as m:
        _without_unit_rules(m)
        without = _backward_peak(fn, a)
    # exp and mul hand on their residuals; tanh computes 1 - out**2 in its own output.
    assert with_unit < 2.1
    assert without > 3.9


def test_residuals_someone_holds_are_never_handed_on():
    a = np.linspace(-2.0, 2.0, N)
    x = tg.tensor(a.copy(), requires_grad=True)
    t = tg.tanh(x)
    s = x**2
    e = tg.exp(s)
    kept = [v.detach().numpy().copy() for v in (t, s, e)]
    seen = {}
    t.register_hook(lambda g: seen.setdefault("t", g.numpy()))
    s.register_hook(lambda g: seen.setdefault("s", g.numpy()))
    (t * s + e).sum().backward()
    for v, before in zip((t, s, e), kept, strict=True):
        np.testing.assert_array_equal(v.detach().numpy(), before)
    # t's cotangent is s's value (and s's is t + e), in new memory.
    np.testing.assert_array_equal(seen["t"], kept[1])
    np.testing.assert_array_equal(seen["s"], kept[0] + kept[2])
    assert not np.shares_memory(seen["t"], s.detach().numpy())
    assert not np.shares_memory(seen["s"], t.detach().numpy())
    want = (1 - np.tanh(a) ** 2) * a**2 + np.tanh(a) * 2 * a + np.exp(a**2) * 2 * a
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    assert not np.shares_memory(x.grad.numpy(), t.detach().numpy())


@pytest.mark.parametrize("fn", [tg.tanh, tg.sigmoid, tg.exp], ids=["tanh", "sigmoid", "exp"])
def test_an_output_someone_holds_keeps_its_values(fn):
    a = np.linspace(-2.0, 2.0, N)
    x = tg.tensor(a.copy(), requires_grad=True)
    y = fn(x)
    before = y.detach().numpy().copy()
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), before)
    slope = {"tanh": 1 - before**2, "sigmoid": before * (1 - before), "exp": before}
    np.testing.assert_allclose(x.grad.numpy(), slope[fn.__name__], rtol=1e-12)
    assert not np.shares_memory(x.grad.numpy(), y.detach().numpy())


def test_a_leafs_value_is_never_its_neighbours_gradient():
    a, b = np.linspace(-1.0, 1.0, N), np.linspace(0.5, 1.5, N)
    x = tg.tensor(a.copy(), requires_grad=True)
    y = tg.tensor(b.copy(), requires_grad=True)
    (x * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), b)
    np.testing.assert_array_equal(y.grad.numpy(), a)
    assert not np.shares_memory(x.grad.numpy(), y.detach().numpy())
    assert not np.shares_memory(y.grad.numpy(), x.detach().numpy())
    x.grad.add_(1.0)
    np.testing.assert_array_equal(y.detach().numpy(), b)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_retain_graph_keeps_residuals_intact(name):
    a = np.linspace(-2.0, 2.0, N)
    x = tg.tensor(a.copy(), requires_grad=True)
    loss = GRAPHS[name](x)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_only_a_broadcast_of_one_counts_as_unit():
    is_unit = tape_module._is_unit
    assert is_unit(np.broadcast_to(np.float64(1.0), (N,)))
    assert is_unit(np.broadcast_to(np.ones((1, 1), np.float32), (N // 4, 4)))
    assert not is_unit(np.broadcast_to(np.float64(2.0), (N,)))
    assert not is_unit(np.ones(N))  # owns its memory: a rule may have written it
    assert not is_unit(np.broadcast_to(np.array([1.0, 2.0]), (N // 2, 2)))
