"""Cotangents through broadcasting operations: summed back to each input's shape into arrays
of their own, handed on unchanged (not copied) where an input has the output's shape, and
never shared with an array the caller can see."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tapegrad.ops._broadcast import unbroadcast


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_unbroadcast_sums_into_an_array_of_its_own(shapes, dtype):
    out_shape = shapes.result_shape
    for shape in shapes.input_shapes:
        g = np.arange(1.0, 1.0 + np.prod(out_shape)).reshape(out_shape).astype(dtype)
        got = unbroadcast(g, shape)
        want = g
        while want.ndim > len(shape):
            want = want.sum(axis=0)
        for i, n in enumerate(shape):
            if n == 1 and want.shape[i] != 1:
                want = want.sum(axis=i, keepdims=True)
        assert got.__class__ is np.ndarray
        assert got.shape == tuple(shape) and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)
        if tuple(shape) != tuple(out_shape):
            assert not np.shares_memory(got, g)
            if len(shape) == len(out_shape) or not shape:
                assert got.base is None  # no reshape needed: nothing for .grad to copy


def test_an_input_of_the_outputs_shape_receives_the_cotangent_itself():
    x = tg.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), requires_grad=True)
    b = tg.tensor(np.array([0.5]), requires_grad=True)
    h = x * 2.0
    out = h + b
    seen = {}
    out.register_hook(lambda g: seen.setdefault("out", g.numpy()))
    h.register_hook(lambda g: seen.setdefault("h", g.numpy()))
    weights = np.arange(12.0).reshape(3, 4)
    (out * tg.from_numpy(weights)).sum().backward()
    assert seen["h"] is seen["out"] or np.shares_memory(seen["h"], seen["out"])
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * weights)
    np.testing.assert_array_equal(b.grad.numpy(), [weights.sum()])


@pytest.mark.parametrize("b_shape", [(), (1,), (4,), (3, 1)])
def test_a_leaf_never_shares_the_callers_gradient(b_shape):
    x = tg.tensor(np.ones((3, 4)), requires_grad=True)
    b = tg.tensor(np.full(b_shape, 0.5), requires_grad=True)
    seed = np.arange(12.0).reshape(3, 4)
    (x + b).backward(gradient=tg.from_numpy(seed))
    assert not np.shares_memory(x.grad.numpy(), seed)
    np.testing.assert_array_equal(x.grad.numpy(), seed)
    want_b = unbroadcast(seed, b_shape)
    seed += 100.0  # the caller's array changes; the gradients must not
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(b.grad.numpy(), want_b)
    assert b.grad.shape == b_shape
