"""A one-argument operation may write its result over a large temporary input that nothing
else refers to (``tg.exp(-a)`` needs one new array, not two), as NumPy does with its own
temporaries: values and gradients are unchanged, and no array anyone can still see is
ever written."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.primitive as primitive_module
import tapegrad.tape as tape_module
from tapegrad.tape import INPLACE_MIN

N = 2 * INPLACE_MIN

pytestmark = pytest.mark.skipif(
    not tape_module._EXACT_REFCOUNTS, reason="arrays are reused only where refcounts are exact"
)


def _peak_arrays(fn) -> float:
    """The peak of memory allocated while ``fn`` runs, in arrays of N float64 values."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] / (N * 8)
    finally:
        tracemalloc.stop()


def _never_reused(monkeypatch):
    monkeypatch.setattr(primitive_module, "_REUSE_MIN", 1 << 62)


def test_a_chain_of_temporaries_needs_one_array(monkeypatch):
    t = tg.tensor(np.linspace(-3.0, 3.0, N))
    with tg.no_grad():
        chain = lambda: tg.exp(tg.sin(tg.cos(t)))  # noqa: E731
        assert _peak_arrays(chain) < 1.1
        got = chain().numpy()
        with monkeypatch.context() as m:
            _never_reused(m)
            assert _peak_arrays(chain) > 1.9
            want = chain().numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, np.exp(np.sin(np.cos(t.numpy()))))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_recorded_operations_give_the_same_values_and_gradients(monkeypatch, dtype):
    a = np.linspace(-2.0, 2.0, N).astype(dtype)

    def run():
        x = tg.tensor(a.copy(), requires_grad=True)
        y = tg.exp(-(x**2)) + tg.tanh(tg.exp(x * 0.5))
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    # sin keeps its input for its gradient, not its output: exp writes over that.
    x = tg.tensor(a.astype(np.float64), requires_grad=True)
    assert _peak_arrays(lambda: tg.exp(tg.sin(x * 2.0))) < 2.1
    with monkeypatch.context() as m:
        _never_reused(m)
        assert _peak_arrays(lambda: tg.exp(tg.sin(x * 2.0))) > 2.9
    got = run()
    with monkeypatch.context() as m:
        _never_reused(m)
        want = run()
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype == dtype
        np.testing.assert_array_equal(g, w)
    e = np.exp(0.5 * a.astype(np.float64))
    grad = -2 * a * np.exp(-(a.astype(np.float64) ** 2)) + (1 - np.tanh(e) ** 2) * e * 0.5
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    np.testing.assert_allclose(got[1], grad, **tol)


def test_arrays_others_can_see_are_never_written():
    base = np.linspace(-1.0, 1.0, N)

    # An input in a variable.
    kept = tg.cos(tg.tensor(base))
    before = kept.numpy().copy()
    tg.exp(kept)
    np.testing.assert_array_equal(kept.numpy(), before)

    # An array shared with the caller.
    shared = base.copy()
    tg.exp(tg.from_numpy(shared))
    np.testing.assert_array_equal(shared, base)

    # A view, and the base of a view.
    whole = tg.tensor(base)
    tg.exp(whole[::2])
    view = whole.reshape(2, -1)
    tg.exp(whole)
    np.testing.assert_array_equal(whole.numpy(), base)
    np.testing.assert_array_equal(view.numpy().ravel(), base)

    # An input the recorded entry saves: sin keeps its input for its gradient.
    x = tg.tensor(base, requires_grad=True)
    tg.sin(x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.cos(3.0 * base), rtol=1e-12)

    # A leaf: the tape keeps it, so its values must stay.
    out = tg.exp(tg.tensor(base, requires_grad=True))
    leaf = out.grad_fn.next_functions[0][0].variable
    np.testing.assert_array_equal(leaf.detach().numpy(), base)

    # An integer input: exp gives floats, in a new array.
    ints = tg.exp(tg.tensor(np.arange(N) % 3))
    np.testing.assert_allclose(ints.numpy(), np.exp(np.arange(N) % 3))
