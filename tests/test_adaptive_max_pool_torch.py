"""``F.adaptive_max_pool1d``/``adaptive_max_pool2d`` and their modules against PyTorch.

Values, indices (flat positions within each input plane), gradients and backward nodes are
compared in float64 on inputs with ties (PyTorch takes the first maximum of a window in
row-major order), NaN (the last NaN of a window) and ``-inf``, over windows that overlap and
grids larger than the input; then the errors for bad arguments, the transforms (``vmap``,
``jacrev``, ``jacfwd``, ``hessian``) and the modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TNN = torch.nn

pytestmark = pytest.mark.torch

RNG = np.random.default_rng(5)


def _input(shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "distinct":
        return RNG.standard_normal(shape)
    x = RNG.integers(-2, 3, size=shape).astype(np.float64)  # many ties
    if kind == "nan":
        x[RNG.random(shape) < 0.25] = np.nan
    elif kind == "inf":
        x[RNG.random(shape) < 0.4] = -np.inf
    return x


def _compare(ours_fn: Any, theirs_fn: Any, values: np.ndarray) -> tuple[Any, Any]:
    """Values, indices, gradients and the backward node of ``fn(x, return_indices=True)``."""
    x = tg.tensor(values.copy(), requires_grad=True)
    tx = torch.tensor(values.copy(), requires_grad=True)
    out, idx = ours_fn(x)
    tout, tidx = theirs_fn(tx)
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    assert idx.dtype == np.int64 and not idx.requires_grad and idx.grad_fn is None
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert out.grad_fn.name() == tout.grad_fn.name()
    if tout.numel():  # PyTorch's backward refuses empty outputs
        v = RNG.standard_normal(tuple(tout.shape))
        out.backward(tg.tensor(v))
        tout.backward(torch.tensor(v))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14, atol=1e-15)
    return out, tout


CASES_2D = [
    ((1, 2, 5, 7), (2, 3)),
    ((2, 3, 6, 6), 3),  # windows that tile the input
    ((1, 1, 7, 5), (3, 2)),
    ((2, 4, 5), (4, None)),  # unbatched, one size kept
    ((1, 2, 3, 4), (None, None)),
    ((1, 1, 3, 2), (5, 4)),  # more windows than elements: elements picked several times
    ((2, 2, 4, 3), 1),  # global pooling
    ((3, 1, 1), (2, 3)),
    ((1, 2, 4, 4), [2, 2]),
]


@pytest.mark.parametrize("kind", ["distinct", "ties", "nan", "inf"])
@pytest.mark.parametrize("shape, size", CASES_2D)
def test_adaptive_max_pool2d(shape: tuple[int, ...], size: Any, kind: str) -> None:
    _compare(
        lambda x: F.adaptive_max_pool2d(x, size, return_indices=True),
        lambda x: TF.adaptive_max_pool2d(x, size, return_indices=True),
        _input(shape, kind),
    )


CASES_1D = [
    ((1, 2, 7), 3),
    ((2, 5), 4),
    ((2, 3, 4), 6),
    ((1, 1, 9), (1,)),
    ((3, 6), [2]),
    ((2, 2, 5), np.int64(5)),
]


@pytest.mark.parametrize("kind", ["distinct", "ties", "nan", "inf"])
@pytest.mark.parametrize("shape, size", CASES_1D)
def test_adaptive_max_pool1d(shape: tuple[int, ...], size: Any, kind: str) -> None:
    torch_size = int(size) if isinstance(size, np.integer) else size
    _compare(
        lambda x: F.adaptive_max_pool1d(x, size, return_indices=True),
        lambda x: TF.adaptive_max_pool1d(x, torch_size, return_indices=True),
        _input(shape, kind),
    )


def test_ties_go_to_the_first_maximum_and_nan_to_the_last() -> None:
    x = np.array([[[[1.0, 3.0, 3.0], [3.0, np.nan, 2.0], [0.0, np.nan, 1.0]]]])
    out, idx = F.adaptive_max_pool2d(x, (2, 1), return_indices=True)
    tout, tidx = TF.adaptive_max_pool2d(torch.tensor(x), (2, 1), return_indices=True)
    np.testing.assert_array_equal(idx, tidx.numpy())
    np.testing.assert_array_equal(out, tout.numpy())
    # Window 0 spans rows 0-1 (its NaN is at 4), window 1 rows 1-2 (its last NaN at 7).
    assert idx.ravel().tolist() == [4, 7]
    out, idx = F.adaptive_max_pool1d(np.array([[3.0, 1.0, 3.0, 2.0]]), 1, return_indices=True)
    assert idx.tolist() == [[0]] and out.tolist() == [[3.0]]


@pytest.mark.parametrize("size", [(2, 3), 1])
def test_backward_nodes(size: Any) -> None:
    x = tg.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    node = F.adaptive_max_pool2d(x, size).grad_fn
    tnode = TF.adaptive_max_pool2d(tx, size).grad_fn
    assert node.name() == tnode.name() == "AdaptiveMaxPool2DBackward0"
    ((nxt, _),) = node.next_functions
    assert nxt.variable is x
    # 1d: unsqueeze, the 2d pooling, squeeze, as in PyTorch.
    x1 = tg.tensor(RNG.standard_normal((2, 6)), requires_grad=True)
    tx1 = torch.tensor(x1.detach().numpy(), requires_grad=True)
    chain, tchain = [], []
    node, tnode = F.adaptive_max_pool1d(x1, 4).grad_fn, TF.adaptive_max_pool1d(tx1, 4).grad_fn
    while node.name() != "torch::autograd::AccumulateGrad":
        chain.append(node.name())
        tchain.append(tnode.name())
        node, tnode = node.next_functions[0][0], tnode.next_functions[0][0]
    expected = ["SqueezeBackward1", "AdaptiveMaxPool2DBackward0", "UnsqueezeBackward0"]
    assert chain == tchain == expected


def test_float32_and_empty_batches() -> None:
    x = RNG.standard_normal((2, 3, 5, 7)).astype(np.float32)
    out = F.adaptive_max_pool2d(tg.tensor(x), (3, 2))
    tout = TF.adaptive_max_pool2d(torch.tensor(x), (3, 2))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    for shape, size in [((0, 3, 4, 5), 2), ((0, 2, 3), (2, 2))]:
        got = F.adaptive_max_pool2d(tg.zeros(*shape), size, True)
        want = TF.adaptive_max_pool2d(torch.zeros(*shape), size, True)
        assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]
    got = F.adaptive_max_pool1d(tg.zeros(0, 3, 4), 2)
    assert got.shape == tuple(TF.adaptive_max_pool1d(torch.zeros(0, 3, 4), 2).shape)


def test_empty_grids_have_a_zero_gradient() -> None:
    # PyTorch computes these values but refuses their backward.
    x = tg.tensor(RNG.standard_normal((1, 2, 3, 4)), requires_grad=True)
    out, idx = F.adaptive_max_pool2d(x, (0, 2), return_indices=True)
    tout, tidx = TF.adaptive_max_pool2d(torch.tensor(x.detach().numpy()), (0, 2), True)
    assert out.shape == tuple(tout.shape) and idx.shape == tuple(tidx.shape)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 2, 3, 4)))


def test_arrays_in_arrays_out() -> None:
    x = RNG.standard_normal((2, 5, 6))
    out = F.adaptive_max_pool2d(x, (2, 4))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, TF.adaptive_max_pool2d(torch.tensor(x), (2, 4)).numpy())
    out, idx = F.adaptive_max_pool1d(x, 3, return_indices=True)
    assert isinstance(out, np.ndarray) and isinstance(idx, np.ndarray)
    tout, tidx = TF.adaptive_max_pool1d(torch.tensor(x), 3, return_indices=True)
    np.testing.assert_array_equal(idx, tidx.numpy())
    g = tg.grad(lambda v: (F.adaptive_max_pool2d(v, 2) ** 2).sum())(x)
    tx = torch.tensor(x, requires_grad=True)
    (TF.adaptive_max_pool2d(tx, 2) ** 2).sum().backward()
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-14)


# ---------------------------------------------------------------------- errors

SHAPES = {
    "4d": (2, 3, 5, 7),
    "3d": (3, 5, 7),
    "2d": (3, 5),
    "1d": (5,),
    "5d": (1, 2, 3, 4, 5),
    "empty_L": (2, 3, 0),
    "empty_C": (2, 0, 4),
    "empty_H": (2, 3, 0, 4),
    "empty_C4": (2, 0, 3, 4),
}

ERRORS_1D = [
    ("4d", 2),
    ("1d", 2),
    ("3d", (2, 2)),
    ("3d", ()),
    ("3d", None),
    ("3d", (None,)),
    ("3d", 2.0),
    ("3d", (2.0,)),
    ("3d", True),
    ("3d", (True,)),
    ("3d", "ab"),
    ("3d", -1),
    ("2d", -2),
    ("empty_L", 2),
    ("empty_C", 2),
    ("4d", (2, 2)),
]

ERRORS_2D = [
    ("2d", 2),
    ("5d", 2),
    ("1d", 2),
    ("4d", (2, 2, 2)),
    ("4d", (2,)),
    ("4d", ()),
    ("4d", None),
    ("4d", 2.5),
    ("4d", (2.0, 2)),
    ("4d", (True, 2)),
    ("4d", True),
    ("4d", ("a", 2)),
    ("4d", (-1, 2)),
    ("3d", (2, -3)),
    ("3d", (-2, -3)),
    ("empty_H", 2),
    ("empty_H", -1),
    ("empty_C4", 2),
    ("2d", -1),
    ("2d", (None, 2)),
    ("1d", (None, 2)),
    ("2d", (None, 2, 2)),
]


def _error(fn: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value).split("\n")[0]


@pytest.mark.parametrize("shape, size", ERRORS_1D)
def test_errors_1d(shape: str, size: Any) -> None:
    x = RNG.standard_normal(SHAPES[shape])
    got = _error(lambda: F.adaptive_max_pool1d(tg.tensor(x), size))
    want = _error(lambda: TF.adaptive_max_pool1d(torch.tensor(x), size))
    assert got == want


@pytest.mark.parametrize("shape, size", ERRORS_2D)
def test_errors_2d(shape: str, size: Any) -> None:
    x = RNG.standard_normal(SHAPES[shape])
    got = _error(lambda: F.adaptive_max_pool2d(tg.tensor(x), size))
    want = _error(lambda: TF.adaptive_max_pool2d(torch.tensor(x), size))
    assert got == want


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_inputs_are_refused(dtype: str) -> None:
    x = np.ones((1, 2, 3)).astype(dtype)
    for ours, theirs in [
        (F.adaptive_max_pool1d, TF.adaptive_max_pool1d),
        (F.adaptive_max_pool2d, TF.adaptive_max_pool2d),
    ]:
        got = _error(lambda: ours(tg.tensor(x), 2))  # noqa: B023
        want = _error(lambda: theirs(torch.tensor(x), 2))  # noqa: B023
        assert got == want


# ---------------------------------------------------------------------- transforms


@pytest.mark.parametrize("in_axis", [0, 1, -1])
def test_vmap_equals_a_loop(in_axis: int) -> None:
    xs = _input((3, 2, 5, 7), "ties")
    batched = np.moveaxis(xs, 0, in_axis)

    def f(v: Any) -> Any:
        return F.adaptive_max_pool2d(v, (2, 3), return_indices=True)

    out, idx = tg.vmap(f, in_axes=in_axis)(batched)
    for b in range(3):
        want, want_idx = TF.adaptive_max_pool2d(torch.tensor(xs[b]), (2, 3), True)
        np.testing.assert_array_equal(out[b], want.numpy())
        np.testing.assert_array_equal(idx[b], want_idx.numpy())

    def g(v: Any) -> Any:
        return F.adaptive_max_pool1d(v[0], 4, return_indices=True)

    out, idx = tg.vmap(g, in_axes=in_axis)(batched)
    for b in range(3):
        want, want_idx = TF.adaptive_max_pool1d(torch.tensor(xs[b][0]), 4, True)
        np.testing.assert_array_equal(out[b], want.numpy())
        np.testing.assert_array_equal(idx[b], want_idx.numpy())


def test_per_example_gradients() -> None:
    xs = _input((3, 2, 4, 5), "nan")
    ws = RNG.standard_normal((3, 2, 3, 2))

    def loss(x: Any, w: Any) -> Any:
        return (F.adaptive_max_pool2d(x, (3, 2)) * w).sum()

    g = tg.vmap(tg.grad(loss))(xs, ws)
    for b in range(3):
        tx = torch.tensor(xs[b], requires_grad=True)
        (TF.adaptive_max_pool2d(tx, (3, 2)) * torch.tensor(ws[b])).sum().backward()
        np.testing.assert_allclose(g[b], tx.grad.numpy(), rtol=1e-14)


def test_jacobians_and_hessian() -> None:
    x = RNG.standard_normal((2, 4, 3))

    def f(v: Any) -> Any:
        return F.adaptive_max_pool2d(v, (3, 2))

    want = torch.autograd.functional.jacobian(
        lambda v: TF.adaptive_max_pool2d(v, (3, 2)), torch.tensor(x)
    ).numpy()
    np.testing.assert_allclose(tg.jacrev(f)(x), want, rtol=1e-14)
    np.testing.assert_allclose(tg.jacfwd(f)(x), want, rtol=1e-14)

    def h(v: Any) -> Any:
        return (F.adaptive_max_pool1d(v, 2) ** 3).sum()

    x1 = RNG.standard_normal((2, 5))
    want = torch.autograd.functional.hessian(
        lambda v: (TF.adaptive_max_pool1d(v, 2) ** 3).sum(), torch.tensor(x1)
    ).numpy()
    np.testing.assert_allclose(tg.hessian(h)(x1), want, rtol=1e-13)


# ---------------------------------------------------------------------- modules


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("AdaptiveMaxPool2d", ((2, 3),), {}),
        ("AdaptiveMaxPool2d", (2,), {}),
        ("AdaptiveMaxPool2d", ((None, 3),), {"return_indices": True}),
        ("AdaptiveMaxPool1d", (3,), {}),
        ("AdaptiveMaxPool1d", (4,), {"return_indices": True}),
    ],
)
def test_modules(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    ours, theirs = getattr(tg.nn, name)(*args, **kwargs), getattr(TNN, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.return_indices == theirs.return_indices
    assert not list(ours.parameters())
    shape = (2, 3, 5, 7) if name.endswith("2d") else (2, 3, 7)
    x = _input(shape, "ties")
    got, want = ours(tg.tensor(x)), theirs(torch.tensor(x))
    if kwargs.get("return_indices"):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    else:
        np.testing.assert_array_equal(got.numpy(), want.numpy())
