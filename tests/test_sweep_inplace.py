"""The sweep writes into large cotangents that only it holds (``Primitive.vjp_into`` and the
in-place sums of ``tapegrad.tape.sole_large``): gradients are the same as with new arrays, and
no array anyone else can see is ever changed."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.tape as tape_module
from tapegrad.tape import INPLACE_MIN, sole_large

#: In-place writes happen only where reference counts are verified (CPython 3.11); elsewhere
#: the sweep computes out of place and the tests below that the writes happen do not apply.
needs_exact_refcounts = pytest.mark.skipif(
    not tape_module._EXACT_REFCOUNTS, reason="no in-place writes on this interpreter"
)

N = 2 * INPLACE_MIN  # large enough for the in-place paths


def _grads(fn, *arrays):
    leaves = [tg.tensor(a.copy(), requires_grad=True) for a in arrays]
    fn(*leaves).backward()
    return [leaf.grad.numpy().copy() for leaf in leaves]


def _without_inplace(monkeypatch, fn, *arrays):
    with monkeypatch.context() as m:
        m.setattr(tape_module, "INPLACE_MIN", 1 << 62)
        return _grads(fn, *arrays)


GRAPHS = {
    "large workload": lambda x: (tg.tanh(x) * x**2 + tg.exp(-(x**2))).sum(),
    "subtract, both sides": lambda x: (tg.exp(x) - tg.sin(x) * 2.0).sum(),
    "fan-out into one leaf": lambda x: (-(x**2) + tg.exp(x) * 3.0 - x / 4.0).sum(),
    "rsub and division": lambda x: ((1.0 - tg.exp(-x)) / 2.0).sum(),
    "square and scale": lambda x: (tg.square(x * 0.5) * 3.0).sum(),
    "a product of two branches": lambda x: (tg.exp(x) * tg.cos(x)).sum(),
    "tanh and sigmoid": lambda x: (tg.tanh(x * 2.0) * 3.0 + tg.sigmoid(x - 1.0) * 0.5).sum(),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_match_the_out_of_place_sweep(monkeypatch, name, dtype):
    x = np.linspace(-2.0, 2.0, N).astype(dtype)
    fn = GRAPHS[name]
    (got,) = _grads(fn, x)
    (want,) = _without_inplace(monkeypatch, fn, x)
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got, want)


def test_two_leaves_and_a_shared_cotangent(monkeypatch):
    a = np.linspace(-1.0, 1.0, N)
    b = np.linspace(0.5, 1.5, N)

    def fn(x, y):
        return (tg.exp(x - y) * 2.0 + (x * y) ** 2).sum()

    for got, want in zip(_grads(fn, a, b), _without_inplace(monkeypatch, fn, a, b), strict=True):
        np.testing.assert_array_equal(got, want)
    # Against the closed form, so that both sweeps are right, not only equal.
    gx, gy = _grads(fn, a, b)
    e = np.exp(a - b)
    np.testing.assert_allclose(gx, 2 * e + 2 * a * b * b, rtol=1e-12)
    np.testing.assert_allclose(gy, -2 * e + 2 * a * a * b, rtol=1e-12)


def test_arrays_others_hold_are_never_written():
    x = tg.tensor(np.linspace(-1.0, 1.0, N), requires_grad=True)
    kept = []
    h = tg.exp(x * 3.0)
    h.register_hook(lambda g: kept.append(g) or None)  # a hook keeps the cotangent
    m = -h
    m.retain_grad()
    seed = np.full(N, 0.5)
    seed_copy = seed.copy()
    (m * 2.0).backward(tg.from_numpy(seed))
    np.testing.assert_array_equal(seed, seed_copy)  # the caller's gradient is untouched
    np.testing.assert_array_equal(m.grad.numpy(), np.full(N, 1.0))  # retained, then untouched
    np.testing.assert_array_equal(kept[0], np.full(N, -1.0))  # what the hook kept, too
    np.testing.assert_allclose(x.grad.numpy(), -3.0 * np.exp(3.0 * np.linspace(-1.0, 1.0, N)))


def test_retain_graph_backward_twice_gives_the_same_gradient():
    x = tg.tensor(np.linspace(-1.0, 1.0, N), requires_grad=True)
    y = (-(x**2) * tg.exp(x)).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


@needs_exact_refcounts
def test_sole_large_counts_every_reference():
    a = np.zeros(N)
    assert sole_large(a)
    alias = a
    assert not sole_large(a)
    del alias
    held = [a]
    assert not sole_large(a)
    held.clear()
    assert sole_large(a)
    assert not sole_large(a[1:])  # a view
    assert not sole_large(np.zeros(INPLACE_MIN - 1))  # small
    assert not sole_large(np.zeros(N, dtype=np.int64))  # not floating
    frozen = np.zeros(N)
    frozen.flags.writeable = False
    assert not sole_large(frozen)


@needs_exact_refcounts
def test_the_in_place_rules_do_run(monkeypatch):
    """The comparisons above are only worth something if the in-place rules are taken."""
    chosen = []
    plain = tape_module._into_rules

    def spy(prim, ins, floor):
        rules = plain(prim, ins, floor)
        if rules is not prim.vjp:
            chosen.append(prim.name)
        return rules

    monkeypatch.setattr(tape_module, "_into_rules", spy)
    _grads(GRAPHS["large workload"], np.linspace(-2.0, 2.0, N))
    assert sorted(chosen) == ["neg", "pow", "pow", "tanh"]  # -u, both squares of x, tanh


def test_a_leaf_adopts_the_sweeps_own_array_and_shares_with_nobody(monkeypatch):
    import tapegrad.engine as engine

    aliased = []
    plain = engine.accumulate_grad

    def spy(leaf, g, create_graph, shared):
        aliased.append(shared)
        return plain(leaf, g, create_graph, shared)

    monkeypatch.setattr(engine, "accumulate_grad", spy)
    _grads(GRAPHS["large workload"], np.linspace(-2.0, 2.0, N))
    # No copy of the summed cotangent where counts decide; a copy where they cannot tell.
    assert aliased == [not tape_module._EXACT_REFCOUNTS]

    # One array for two leaves: each gets its own copy.
    x = tg.tensor(np.ones(N), requires_grad=True)
    y = tg.tensor(np.ones(N), requires_grad=True)
    ((x + y) * 2.0).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    ((x + y) * 2.0).sum().backward()  # accumulates into x.grad and y.grad in place
    np.testing.assert_array_equal(x.grad.numpy(), np.full(N, 4.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(N, 4.0))

    # A gradient the caller passed in, handed through unchanged, is copied.
    seed = tg.ones(N)
    x.grad = None
    (x + 0.0).backward(seed)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    x.grad += 1.0
    np.testing.assert_array_equal(seed.numpy(), np.ones(N))


def test_reference_counts_decide_only_on_the_verified_interpreter():
    import sys

    # CPython 3.11 has no free-threaded build, so the version and implementation decide.
    verified = sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11)
    assert tape_module._EXACT_REFCOUNTS == verified
    if not verified:
        assert not sole_large(np.zeros(N))  # nothing is ever written in place
