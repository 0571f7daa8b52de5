"""Shape and indexing functions (``tapegrad.ops.shape``, ``tapegrad.ops.index``) beyond the op
table: values, gradients and node names against PyTorch (the tests marked ``torch``), NumPy's
errors, views, dtypes, long input lists, and the batching rules beside the primitives.
"""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import batching
from tapegrad.ops import index as ix
from tapegrad.ops import shape as sh


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _tuple(out: Any) -> tuple[Any, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _compare_with_torch(
    torch: Any,
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    shapes: list[tuple[int, ...]],
    *,
    names: bool = True,
    seed: int = 0,
) -> None:
    """Values, gradients (for a random cotangent on every output) and node names agree."""
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    leaves = [tg.tensor(x, requires_grad=True) for x in xs]
    tleaves = [torch.tensor(x, requires_grad=True) for x in xs]
    outs = _tuple(ours(*leaves))
    touts = _tuple(theirs(*tleaves))
    assert len(outs) == len(touts)
    loss = None
    tloss = 0
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape)
        assert o.dtype == np.float64
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-14, atol=0)
        if names:
            assert o.grad_fn.name() == type(t.grad_fn).__name__
        v = rng.standard_normal(tuple(t.shape))
        term = (o * tg.tensor(v)).sum()
        loss = term if loss is None else loss + term
        tloss = tloss + (t * torch.tensor(v)).sum()
    loss.backward()
    tloss.backward()
    for leaf, tleaf in zip(leaves, tleaves):
        expected = np.zeros(leaf.shape) if tleaf.grad is None else tleaf.grad.numpy()
        got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


# (id, ours, theirs(torch), shapes, compare node names)
TORCH_CASES: list[tuple[str, Any, Any, list[tuple[int, ...]], bool]] = [
    (
        "swapaxes",
        lambda x: sh.swapaxes(x, 0, 2),
        lambda t, x: t.swapaxes(x, 0, 2),
        [(2, 3, 4)],
        True,
    ),
    (
        "moveaxis",
        lambda x: sh.moveaxis(x, (0, 1), (2, 0)),
        lambda t, x: t.movedim(x, (0, 1), (2, 0)),
        [(2, 3, 4)],
        True,
    ),
    (
        "cat",
        lambda a, b: sh.cat([a, b], dim=1),
        lambda t, a, b: t.cat([a, b], dim=1),
        [(2, 3), (2, 4)],
        True,
    ),
    (
        "cat-negative-dim",
        lambda a, b, c: sh.cat([a, b, c], -1),
        lambda t, a, b, c: t.cat([a, b, c], -1),
        [(2, 1), (2, 3), (2, 2)],
        True,
    ),
    (
        "stack",
        lambda a, b: sh.stack([a, b], axis=1),
        lambda t, a, b: t.stack([a, b], dim=1),
        [(2, 3), (2, 3)],
        True,
    ),
    ("split", lambda x: sh.split_by_size(x, 2, 1), lambda t, x: t.split(x, 2, 1), [(3, 5)], True),
    (
        "split-sizes",
        lambda x: sh.split_by_size(x, [1, 3, 1], 1),
        lambda t, x: t.split(x, [1, 3, 1], 1),
        [(3, 5)],
        True,
    ),
    ("chunk", lambda x: sh.chunk(x, 4, 0), lambda t, x: t.chunk(x, 4, 0), [(6, 2)], True),
    ("unbind", lambda x: sh.unbind(x, 1), lambda t, x: t.unbind(x, 1), [(2, 3)], True),
    ("flip", lambda x: sh.flip(x, (0, 2)), lambda t, x: t.flip(x, (0, 2)), [(2, 3, 4)], True),
    (
        "roll",
        lambda x: sh.roll(x, (1, -2), (0, 1)),
        lambda t, x: t.roll(x, (1, -2), (0, 1)),
        [(3, 4)],
        True,
    ),
    ("roll-flat", lambda x: sh.roll(x, 5), lambda t, x: t.roll(x, 5), [(3, 4)], True),
    ("tile", lambda x: sh.tile(x, (2, 1, 3)), lambda t, x: x.tile((2, 1, 3)), [(2, 3)], True),
    (
        "repeat",
        lambda x: sh.repeat(x, 3, axis=1),
        lambda t, x: x.repeat_interleave(3, dim=1),
        [(2, 3)],
        True,
    ),
    (
        "repeat-counts",
        lambda x: sh.repeat(x, [2, 0, 1], axis=0),
        lambda t, x: x.repeat_interleave(t.tensor([2, 0, 1]), dim=0),
        [(3, 2)],
        True,
    ),
    (
        "pad-constant",
        lambda x: sh.pad(x, ((0, 0), (1, 2), (2, 0)), constant_values=1.5),
        lambda t, x: t.nn.functional.pad(x, (2, 0, 1, 2), value=1.5),
        [(2, 3, 4)],
        True,
    ),
    (
        "pad-reflect",
        lambda x: sh.pad(x, ((0, 0), (2, 3)), mode="reflect"),
        lambda t, x: t.nn.functional.pad(x, (2, 3), mode="reflect"),
        [(2, 5)],
        False,
    ),
    (
        "pad-edge",
        lambda x: sh.pad(x, ((0, 0), (0, 0), (1, 2), (3, 1)), mode="edge"),
        lambda t, x: t.nn.functional.pad(x, (3, 1, 1, 2), mode="replicate"),
        [(1, 2, 3, 4)],
        False,
    ),
    (
        "pad-wrap",
        lambda x: sh.pad(x, ((0, 0), (1, 2)), mode="wrap"),
        lambda t, x: t.nn.functional.pad(x, (1, 2), mode="circular"),
        [(2, 4)],
        False,
    ),
    ("tril", lambda x: sh.tril(x, -1), lambda t, x: t.tril(x, -1), [(2, 3, 4)], True),
    ("triu", lambda x: sh.triu(x, 1), lambda t, x: t.triu(x, 1), [(4, 3)], True),
    (
        "diagonal",
        lambda x: sh.diagonal(x, 1, 2, 0),
        lambda t, x: t.diagonal(x, 1, 2, 0),
        [(3, 2, 4)],
        True,
    ),
    (
        "diagonal-negative-offset",
        lambda x: sh.diagonal(x, -1, -2, -1),
        lambda t, x: t.diagonal(x, -1, -2, -1),
        [(2, 4, 3)],
        True,
    ),
    ("trace", lambda x: sh.trace(x), lambda t, x: t.trace(x), [(3, 4)], False),
    (
        "take",
        lambda x: ix.take(x, np.array([[5, 0], [-1, 5]])),
        lambda t, x: t.take(x, t.tensor([[5, 0], [-1, 5]])),
        [(2, 3)],
        True,
    ),
    (
        "index_select",
        lambda x: ix.take(x, np.array([2, 0, 2]), axis=1),
        lambda t, x: t.index_select(x, 1, t.tensor([2, 0, 2])),
        [(2, 3)],
        True,
    ),
    (
        "take_along_dim",
        lambda x: ix.take_along_axis(x, np.array([[0, 2, 2], [1, 1, 0]]), 1),
        lambda t, x: t.take_along_dim(x, t.tensor([[0, 2, 2], [1, 1, 0]]), 1),
        [(2, 3)],
        True,
    ),
    (
        "gather",
        lambda x: ix.gather(x, 0, np.array([[2, 0, 2, 1], [0, 0, 1, 1]])),
        lambda t, x: t.gather(x, 0, t.tensor([[2, 0, 2, 1], [0, 0, 1, 1]])),
        [(3, 5)],
        True,
    ),
    (
        "index-repeated",
        lambda x: x[np.array([1, 1, 0, 1])],
        lambda t, x: x[t.tensor([1, 1, 0, 1])],
        [(3, 2)],
        True,
    ),
    (
        "index-mixed",
        lambda x: x[np.array([0, 1, 1]), :, np.array([2, 0, 2])],
        lambda t, x: x[t.tensor([0, 1, 1]), :, t.tensor([2, 0, 2])],
        [(2, 3, 4)],
        True,
    ),
    (
        "index-ellipsis-none",
        lambda x: x[None, ..., -1],
        lambda t, x: x[None, ..., -1],
        [(2, 3, 4)],
        True,
    ),
    (
        "index-mask",
        lambda x: x[:, np.array([True, False, True])],
        lambda t, x: x[:, t.tensor([True, False, True])],
        [(2, 3)],
        True,
    ),
]


@pytest.mark.torch
@pytest.mark.parametrize(
    "ours, theirs, shapes, names", [c[1:] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES]
)
def test_values_gradients_and_names_match_torch(torch, ours, theirs, shapes, names):
    _compare_with_torch(torch, ours, lambda *a: theirs(torch, *a), shapes, names=names)


@pytest.mark.torch
def test_concatenating_many_tensors_matches_torch(torch):
    # More inputs than one tape entry holds: joined in groups, one CatBackward0 on top.
    _compare_with_torch(
        torch,
        lambda *xs: sh.cat(list(xs), dim=1),
        lambda *xs: torch.cat(list(xs), dim=1),
        [(2, k % 3 + 1) for k in range(40)],
    )
    _compare_with_torch(
        torch, lambda *xs: sh.stack(list(xs)), lambda *xs: torch.stack(list(xs)), [(3,)] * 33
    )


@pytest.mark.torch
def test_mixed_dtypes_promote_and_gradients_keep_each_dtype(torch):
    a = tg.tensor(np.ones(2, np.float32), requires_grad=True)
    b = tg.tensor(np.ones(3), requires_grad=True)
    out = sh.cat([a, b])
    ta = torch.ones(2, dtype=torch.float32, requires_grad=True)
    tb = torch.ones(3, dtype=torch.float64, requires_grad=True)
    tout = torch.cat([ta, tb])
    assert out.dtype == np.float64 and tout.dtype == torch.float64
    (out * tg.tensor(np.arange(5.0))).sum().backward()
    (tout * torch.arange(5.0, dtype=torch.float64)).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())


@pytest.mark.torch
def test_second_derivatives_match_torch(torch):
    # A Hessian through concatenation, slicing, diagonal and gather.
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((3, 3))
    idx = np.array([[2, 0, 1], [1, 1, 0]])

    def f(x, m):
        y = m.cat([m.flip(x, (0,)), m.tril(x)], 0)
        return (y**3).sum() + (m.diagonal(x) ** 2).sum() + (m.gather(x, 0, idx) ** 3).sum()

    class Ours:
        cat = staticmethod(sh.cat)
        flip = staticmethod(sh.flip)
        tril = staticmethod(sh.tril)
        diagonal = staticmethod(sh.diagonal)

        @staticmethod
        def gather(x, dim, index):
            return ix.gather(x, dim, index)

    class Theirs:
        cat = staticmethod(torch.cat)
        flip = staticmethod(torch.flip)
        tril = staticmethod(torch.tril)
        diagonal = staticmethod(torch.diagonal)

        @staticmethod
        def gather(x, dim, index):
            return torch.gather(x, dim, torch.as_tensor(index))

    h = tg.hessian(lambda x: f(x, Ours))(x0)
    th = torch.autograd.functional.hessian(lambda x: f(x, Theirs), torch.tensor(x0))
    np.testing.assert_allclose(h, th.numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ NumPy's errors


ERRORS: list[tuple[str, Callable[[], Any], type[BaseException], str]] = [
    (
        "concatenate-empty",
        lambda: sh.concatenate([]),
        ValueError,
        "need at least one array to concatenate",
    ),
    (
        "concatenate-0d",
        lambda: sh.concatenate([np.ones(()), np.ones(())]),
        ValueError,
        "zero-dimensional arrays cannot be concatenated",
    ),
    (
        "concatenate-ndim",
        lambda: sh.concatenate([np.ones((2, 3)), np.ones(2)]),
        ValueError,
        "the array at index 0 has 2 dimension(s) and the array at index 1 has 1 dimension(s)",
    ),
    (
        "concatenate-shape",
        lambda: sh.concatenate([np.ones((2, 3)), np.ones((2, 4))]),
        ValueError,
        "along dimension 1, the array at index 0 has size 3 and the array at index 1 has size 4",
    ),
    (
        "concatenate-axis",
        lambda: sh.concatenate([np.ones(2)], axis=1),
        np.exceptions.AxisError,
        "axis 1 is out of bounds for array of dimension 1",
    ),
    (
        "concatenate-out",
        lambda: sh.concatenate([np.ones(2)], out=np.ones(2)),
        TypeError,
        "does not support out=",
    ),
    (
        "concatenate-casting",
        lambda: sh.concatenate([np.ones(2)], dtype=np.int64),
        TypeError,
        "according to the rule 'same_kind'",
    ),
    (
        "stack-shapes",
        lambda: sh.stack([np.ones(2), np.ones(3)]),
        ValueError,
        "all input arrays must have the same shape",
    ),
    ("stack-empty", lambda: sh.stack([]), ValueError, "need at least one array to stack"),
    (
        "stack-out",
        lambda: sh.stack([np.ones(2)], out=np.ones((1, 2))),
        TypeError,
        "does not support out=",
    ),
    (
        "split-unequal",
        lambda: sh.split(np.ones(5), 2),
        ValueError,
        "array split does not result in an equal division",
    ),
    (
        "array_split-zero",
        lambda: sh.array_split(np.ones(5), 0),
        ValueError,
        "number sections must be larger than 0.",
    ),
    ("split-0d", lambda: sh.split(np.ones(()), 1), np.exceptions.AxisError, "out of bounds"),
    (
        "chunk-zero",
        lambda: sh.chunk(np.ones(5), 0),
        RuntimeError,
        "chunk expects `chunks` to be greater than 0, got: 0",
    ),
    (
        "split_by_size-sum",
        lambda: sh.split_by_size(np.ones(5), [1, 1]),
        RuntimeError,
        "split_with_sizes expects split_sizes to sum exactly to 5",
    ),
    (
        "split_by_size-zero",
        lambda: sh.split_by_size(np.ones(5), 0),
        RuntimeError,
        "split_size can only be 0 if dimension size is 0",
    ),
    (
        "moveaxis-lengths",
        lambda: sh.moveaxis(np.ones((2, 3)), (0, 1), (0,)),
        ValueError,
        "`source` and `destination` arguments must have the same number of elements",
    ),
    (
        "moveaxis-repeated",
        lambda: sh.moveaxis(np.ones((2, 3)), (0, 0), (0, 1)),
        ValueError,
        "repeated axis in `source` argument",
    ),
    (
        "swapaxes-range",
        lambda: sh.swapaxes(np.ones((2, 3)), 0, 2),
        np.exceptions.AxisError,
        "axis2: axis 2 is out of bounds for array of dimension 2",
    ),
    ("flip-repeated", lambda: sh.flip(np.ones((2, 3)), (0, 0)), ValueError, "repeated axis"),
    (
        "roll-align",
        lambda: sh.roll(np.ones((2, 3)), (1, 2), (0, 1, 0)),
        ValueError,
        "shape mismatch",
    ),
    (
        "tile-negative",
        lambda: sh.tile(np.ones(2), -1),
        ValueError,
        "negative dimensions are not allowed",
    ),
    (
        "repeat-broadcast",
        lambda: sh.repeat(np.ones(3), [1, 2]),
        ValueError,
        "could not be broadcast together with shape (3,) (2,)",
    ),
    (
        "repeat-negative",
        lambda: sh.repeat(np.ones(3), -1),
        ValueError,
        "negative dimensions are not allowed",
    ),
    (
        "pad-negative",
        lambda: sh.pad(np.ones(3), -1),
        ValueError,
        "index can't contain negative values",
    ),
    (
        "pad-float",
        lambda: sh.pad(np.ones(3), 1.5),
        TypeError,
        "`pad_width` must be of integral type.",
    ),
    (
        "pad-kwargs",
        lambda: sh.pad(np.ones(3), 1, mode="edge", constant_values=2),
        ValueError,
        "unsupported keyword arguments for mode 'edge': {'constant_values'}",
    ),
    (
        "pad-mode",
        lambda: sh.pad(np.ones(3), 1, mode="foo"),
        ValueError,
        "mode 'foo' is not supported",
    ),
    ("pad-mean", lambda: sh.pad(np.ones(3), 1, mode="mean"), NotImplementedError, "'mean'"),
    (
        "pad-empty-axis",
        lambda: sh.pad(np.ones(0), 1, mode="reflect"),
        ValueError,
        "can't extend empty axis 0 using modes other than 'constant' or 'empty'",
    ),
    (
        "diagonal-1d",
        lambda: sh.diagonal(np.ones(3)),
        ValueError,
        "diag requires an array of at least two dimensions",
    ),
    (
        "diagonal-same",
        lambda: sh.diagonal(np.ones((3, 3)), 0, 1, 1),
        ValueError,
        "axis1 and axis2 cannot be the same",
    ),
    (
        "trace-out",
        lambda: sh.trace(np.ones((2, 2)), out=np.ones(())),
        TypeError,
        "does not support out=",
    ),
    (
        "reshape-size",
        lambda: sh.reshape(np.ones(6), (4,)),
        ValueError,
        "shape '[4]' is invalid for input of size 6",
    ),
    (
        "reshape-size-runtime",
        lambda: sh.reshape(np.ones(6), (4,)),
        RuntimeError,
        "shape '[4]' is invalid for input of size 6",
    ),
    (
        "expand_dims-repeated",
        lambda: sh.expand_dims(np.ones(2), (0, 0)),
        ValueError,
        "repeated axis",
    ),
    (
        "broadcast_to",
        lambda: sh.broadcast_to(np.ones(3), (2, 4)),
        ValueError,
        "[original->remapped]: (3,) and requested shape (2, 4)",
    ),
    (
        "take-range",
        lambda: ix.take(np.ones(3), [3]),
        IndexError,
        "index 3 is out of bounds for axis 0 with size 3",
    ),
    (
        "take-negative-range",
        lambda: ix.take(np.ones((2, 3)), [-4], axis=1),
        IndexError,
        "index -4 is out of bounds for axis 1 with size 3",
    ),
    (
        "take-float",
        lambda: ix.take(np.ones(3), np.array([1.0])),
        IndexError,
        "must be an integer array",
    ),
    (
        "take-empty-wrap",
        lambda: ix.take(np.ones(0), [0], mode="wrap"),
        IndexError,
        "cannot do a non-empty take from an empty axes.",
    ),
    (
        "take-out",
        lambda: ix.take(np.ones(3), [0], out=np.ones(1)),
        TypeError,
        "does not support out=",
    ),
    (
        "take_along_axis-ndim",
        lambda: ix.take_along_axis(np.ones((3, 3)), np.ones(3, int), 0),
        ValueError,
        "`indices` and `arr` must have the same number of dimensions",
    ),
    (
        "take_along_axis-none",
        lambda: ix.take_along_axis(np.ones((3, 3)), np.ones((3, 3), int), None),
        ValueError,
        "when axis=None, `indices` must have a single dimension.",
    ),
    (
        "take_along_axis-range",
        lambda: ix.take_along_axis(np.ones((2, 3)), np.full((2, 1), 3), 1),
        IndexError,
        "index 3 is out of bounds for axis 1 with size 3",
    ),
    (
        "take_along_axis-broadcast",
        lambda: ix.take_along_axis(np.ones((2, 3)), np.zeros((3, 1), int), 1),
        ValueError,
        "cannot be broadcast",
    ),
    (
        "gather-ndim",
        lambda: ix.gather(np.ones((3, 4)), 1, np.array([0])),
        RuntimeError,
        "Index tensor must have the same number of dimensions as input tensor",
    ),
    (
        "gather-size",
        lambda: ix.gather(np.ones((3, 4)), 1, np.zeros((4, 1), int)),
        RuntimeError,
        "Size does not match at dimension 0 expected index [4, 1] to be no larger than self "
        "[3, 4] apart from dimension 1",
    ),
    (
        "gather-range",
        lambda: ix.gather(np.ones((3, 4)), 1, np.array([[4]])),
        IndexError,
        "index 4 is out of bounds for dimension 1 with size 4",
    ),
    (
        "gather-negative",
        lambda: ix.gather(np.ones((3, 4)), 1, np.array([[-1]])),
        IndexError,
        "index -1 is out of bounds for dimension 1 with size 4",
    ),
    (
        "getitem-range",
        lambda: ix.getitem(np.ones((2, 3)), (slice(None), np.array([0, 3]))),
        IndexError,
        "index 3 is out of bounds for axis 1 with size 3",
    ),
]


@pytest.mark.parametrize("fn, exc, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_numpy_errors(fn, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        fn()


@pytest.mark.torch
def test_out_of_range_indices_raise_like_numpy_and_torch(torch):
    x = np.ones((2, 3))
    with pytest.raises(IndexError) as ours:
        ix.take(x, [6])
    with pytest.raises(IndexError) as theirs:
        np.take(x, [6])
    assert str(ours.value) == str(theirs.value)
    # PyTorch raises RuntimeError (IndexError here), with the same words.
    with pytest.raises(RuntimeError) as t_err:
        torch.gather(torch.ones(3, 4), 1, torch.tensor([[4]]))
    with pytest.raises(IndexError) as g_err:
        ix.gather(np.ones((3, 4)), 1, np.array([[4]]))
    assert str(g_err.value) == str(t_err.value)


@pytest.mark.parametrize(
    "index",
    [
        (slice(None), np.array([0, 3])),
        (np.array([-3]), Ellipsis),
        (Ellipsis, np.array([1, -4])),
        (None, np.array([[1, 2]]), slice(None)),
        (np.array([True, False]), np.array([3])),
        (np.array([True, False]), np.array([2])),
        (0, None, np.array([-3, 2])),
    ],
    ids=lambda i: repr(i).replace(" ", ""),
)
def test_bounds_check_for_other_array_modules_agrees_with_numpy(index):
    # CuPy wraps indices around; the check that stands in for NumPy's must agree with it.
    x = np.zeros((2, 3))
    try:
        x[index]
    except IndexError as err:
        with pytest.raises(IndexError, match=re.escape(str(err))):
            ix._check_bounds(x.shape, index)
    else:
        ix._check_bounds(x.shape, index)


# ------------------------------------------------------------------------------ views


def test_views_where_numpy_makes_views():
    x = np.arange(24.0).reshape(2, 3, 4)
    views = {
        "swapaxes": sh.swapaxes(x, 0, 2),
        "moveaxis": sh.moveaxis(x, 0, -1),
        "flip": sh.flip(x, 1),
        "split": sh.split(x, 2, axis=2)[1],
        "array_split": sh.array_split(x, 2, axis=1)[0],
        "chunk": sh.chunk(x, 2, 2)[0],
        "unbind": sh.unbind(x, 1)[2],
        "diagonal": sh.diagonal(x, 0, 1, 2),
        "getitem": ix.getitem(x, (Ellipsis, slice(None, None, -2))),
    }
    for name, v in views.items():
        assert np.shares_memory(v, x), name
    copies = {
        "concatenate": sh.concatenate([x, x]),
        "stack": sh.stack([x]),
        "roll": sh.roll(x, 0, 1),
        "tile": sh.tile(x, 1),
        "repeat": sh.repeat(x, 1, axis=0),
        "pad": sh.pad(x, 0),
        "pad-edge": sh.pad(x, 0, mode="edge"),
        "tril": sh.tril(x),
        "take": ix.take(x, 1, axis=0),
        "take_along_axis": ix.take_along_axis(x, np.zeros((2, 3, 1), int), 2),
        "gather": ix.gather(x, 2, np.zeros((2, 3, 1), int)),
    }
    for name, c in copies.items():
        assert not np.shares_memory(c, x), name


def test_tensor_views_see_in_place_changes_of_their_base():
    base = tg.tensor(np.arange(6.0).reshape(2, 3))
    piece = sh.split(base, 3, axis=1)[2]
    flipped = sh.flip(base, 0)
    diag = sh.diagonal(base)
    with tg.no_grad():
        base.add_(10.0)
    np.testing.assert_array_equal(piece.numpy(), [[12.0], [15.0]])
    np.testing.assert_array_equal(flipped.numpy(), [[13.0, 14.0, 15.0], [10.0, 11.0, 12.0]])
    np.testing.assert_array_equal(diag.numpy(), [10.0, 14.0])


def test_writing_into_a_split_piece_reaches_the_base_and_its_gradient():
    x = tg.tensor(np.arange(4.0), requires_grad=True)
    y = x * 1
    first, second = sh.split(y, 2)
    second[0] = first[1] * 10
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 1.0, 10.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 11.0, 0.0, 1.0])


# ------------------------------------------------------------------------------ dtypes, shapes


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: sh.concatenate([x, x], axis=1),
        lambda x: sh.stack([x, x]),
        lambda x: sh.roll(x, 1, 1),
        lambda x: sh.tile(x, (2, 1)),
        lambda x: sh.repeat(x, [1, 2], axis=0),
        lambda x: sh.pad(x, 1),
        lambda x: sh.pad(x, 1, mode="reflect"),
        lambda x: sh.tril(x),
        lambda x: sh.diagonal(x),
        lambda x: sh.trace(x),
        lambda x: ix.take(x, [0, 0]),
        lambda x: ix.gather(x, 1, np.array([[1], [0]])),
    ],
    ids=[
        "concatenate",
        "stack",
        "roll",
        "tile",
        "repeat",
        "pad",
        "pad-reflect",
        "tril",
        "diagonal",
        "trace",
        "take",
        "gather",
    ],
)
def test_float32_stays_float32(fn):
    x = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    out, pullback = tg.vjp(fn, x)
    assert out.dtype == np.float32
    (g,) = pullback(np.ones_like(out))
    assert g.dtype == np.float32 and g.shape == x.shape


def test_empty_arrays():
    x = np.zeros((0, 3))
    assert sh.concatenate([x, np.ones((2, 3))]).shape == (2, 3)
    assert [p.shape for p in sh.array_split(x, 2)] == [(0, 3), (0, 3)]
    assert sh.tile(x, (2, 2)).shape == (0, 6)
    assert sh.repeat(x, 2, axis=1).shape == (0, 6)
    assert sh.pad(x, 1).shape == (2, 5)
    assert sh.diagonal(x).shape == (0,)
    assert ix.take(x, np.array([], dtype=int), axis=1).shape == (0, 0)
    (g,) = tg.vjp(lambda a: sh.pad(a, 1), x)[1](np.ones((2, 5)))
    assert g.shape == (0, 3)


def test_concatenate_accepts_lists_and_one_array():
    np.testing.assert_array_equal(sh.concatenate([[1.0], [2.0, 3.0]]), [1.0, 2.0, 3.0])
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(sh.concatenate(x), np.concatenate(x))
    np.testing.assert_array_equal(sh.stack(x, axis=1), np.stack(x, axis=1))


def test_forward_mode_through_a_constant_operand():
    c = np.array([5.0, 6.0])
    out, t = tg.jvp(lambda a: sh.concatenate([c, a, c]), (np.ones(2),), (np.array([1.0, 2.0]),))
    np.testing.assert_array_equal(out, [5.0, 6.0, 1.0, 1.0, 5.0, 6.0])
    np.testing.assert_array_equal(t, [0.0, 0.0, 1.0, 2.0, 0.0, 0.0])


def test_concatenating_many_records_few_entries():
    xs = [tg.tensor(np.ones(2), requires_grad=True) for _ in range(40)]
    with tg.Tape() as tape:
        out = sh.stack(xs)
    assert out.shape == (40, 2)
    assert len(tape) == 4  # three groups and the join on top
    out.sum().backward()
    assert all(np.array_equal(x.grad.numpy(), [1.0, 1.0]) for x in xs)


def test_pieces_share_the_input_in_the_graph():
    x = tg.tensor(np.arange(6.0), requires_grad=True)
    pieces = sh.chunk(x, 3)
    assert [p.grad_fn.name() for p in pieces] == ["SplitBackward0"] * 3
    (pieces[0] * 1 + pieces[2] * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 0.0, 0.0, 3.0, 3.0])


# ------------------------------------------------------------------------------ batching rules


@pytest.mark.parametrize("prim", list(sh.BATCHING_RULES), ids=lambda p: p.name)
def test_batching_rules_are_registered(prim):
    assert batching.rule_for(prim) is sh.BATCHING_RULES[prim]


def test_vmap_of_shape_functions_with_unbatched_operands():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 3, 3))
    c = rng.standard_normal((3, 3))

    def f(x):
        return sh.concatenate([sh.diagonal(x, 1), sh.trace(sh.triu(c))[None], sh.tril(x)[0]])

    out = tg.vmap(f)(xs)
    np.testing.assert_allclose(out, np.stack([f(x) for x in xs]), rtol=1e-15)
    out = tg.vmap(f, in_axes=2)(np.moveaxis(xs, 0, 2))
    np.testing.assert_allclose(out, np.stack([f(x) for x in xs]), rtol=1e-15)
    g = tg.vmap(tg.grad(lambda x: (f(x) ** 2).sum()))(xs)
    ref = np.stack([tg.grad(lambda x: (f(x) ** 2).sum())(x) for x in xs])
    np.testing.assert_allclose(g, ref, rtol=1e-14)


def test_vmap_with_per_example_indices():
    x = np.arange(5.0) * 10
    idx = np.array([[0, 1], [2, 3], [4, -1]])
    loop = np.stack([np.take(x, i) for i in idx])
    np.testing.assert_array_equal(tg.vmap(lambda i: ix.take(x, i))(idx), loop)
    np.testing.assert_array_equal(tg.vmap(lambda i: ix.getitem(x, i))(idx), loop)
    np.testing.assert_array_equal(tg.vmap(lambda i: tg.tensor(x)[i])(idx).numpy(), loop)
    wrapped = tg.vmap(lambda i: ix.take(x, i, mode="wrap"))(idx + 5)
    np.testing.assert_array_equal(wrapped, np.stack([np.take(x, i, mode="wrap") for i in idx + 5]))
    clipped = tg.vmap(lambda i: ix.take(x, i, mode="clip"))(idx * 3)
    np.testing.assert_array_equal(clipped, np.stack([np.take(x, i, mode="clip") for i in idx * 3]))
    # Per-example labels picking per-example scores, and the per-example gradients.
    scores = np.arange(12.0).reshape(3, 4)
    labels = np.array([1, 3, 0])
    picked = tg.vmap(lambda s, t: ix.take_along_axis(s, t[None], 0))(scores, labels)
    np.testing.assert_array_equal(picked, scores[np.arange(3), labels][:, None])
    picked = tg.vmap(lambda s, t: ix.gather(s, 0, t[None]))(scores, labels)
    np.testing.assert_array_equal(picked, scores[np.arange(3), labels][:, None])
    g = tg.vmap(tg.grad(lambda s, t: (ix.gather(s, 0, t[None]) ** 2).sum()))(scores, labels)
    expected = np.zeros((3, 4))
    expected[np.arange(3), labels] = 2 * scores[np.arange(3), labels]
    np.testing.assert_array_equal(g, expected)


# ------------------------------------------------------------------------------ docs


@pytest.mark.parametrize("module", [sh, ix], ids=["shape", "index"])
def test_doctests(module):
    result = doctest.testmod(
        module, extraglobs={"np": np, "tg": tg}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
