"""``scatter_reduce`` and ``scatter(..., reduce=)`` against PyTorch in float64: values, dtypes,
node names and gradients (ties and zeros included) over dimensions, ranks, ``include_self``
and every reduction; forward mode; finite-difference checks; errors; vmap and jit."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.functions_more import _reduce_at, _scatter_index

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.torch,
    # PyTorch's own deprecation warning for scatter's reduce with a tensor src.
    pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter:UserWarning"),
]

REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]

# (input shape, dim, index shape): repeated indices throughout (the index is longer than the
# input along ``dim``), src as large as the index.
CASES = [
    ((5,), 0, (9,)),
    ((4,), -1, (3,)),
    ((3, 4), 0, (6, 4)),
    ((3, 4), 1, (2, 7)),
    ((3, 4), -1, (3, 5)),
    ((2, 3, 4), 0, (5, 3, 2)),
    ((2, 3, 4), 1, (2, 6, 4)),
    ((2, 3, 4), -1, (1, 2, 9)),
]


def _ids(case: tuple[Any, ...]) -> str:
    shape, dim, ishape = case
    return f"{shape}-dim{dim}-{ishape}"


def _index(rng: np.random.Generator, shape: tuple[int, ...], dim: int, ishape: Any) -> Any:
    return rng.integers(0, shape[dim % len(shape)], ishape)


def check(
    x: np.ndarray,
    dim: int,
    index: np.ndarray,
    src: np.ndarray,
    reduce: str,
    include_self: bool,
    seed: int = 0,
) -> None:
    """Value, dtype, node name and both gradients (of a random weighting) against PyTorch."""
    a, b = tg.tensor(x, requires_grad=True), tg.tensor(src, requires_grad=True)
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = tg.scatter_reduce(a, dim, tg.tensor(index), b, reduce, include_self=include_self)
    tout = torch.scatter_reduce(ta, dim, torch.tensor(index), tb, reduce, include_self=include_self)
    assert tuple(out.shape) == tuple(tout.shape)
    assert str(out.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert out.grad_fn.name() == tout.grad_fn.name() == "ScatterReduceBackward0"
    w = np.random.default_rng(seed).standard_normal(tuple(tout.shape))
    (out * tg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12, atol=1e-12)


def raises(exc: type, fn: Callable[[], Any], tfn: Callable[[], Any]) -> str:
    """Both raise ``exc`` with the same first line of message; that line."""
    with pytest.raises(exc) as ours:
        fn()
    with pytest.raises(exc) as theirs:
        tfn()
    line = str(ours.value).splitlines()[0]
    assert line == str(theirs.value).splitlines()[0]
    return line


# ------------------------------------------------------------------------ scatter_reduce


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_values_and_gradients(case: Any, reduce: str, include_self: bool) -> None:
    shape, dim, ishape = case
    rng = np.random.default_rng(len(shape) * 10 + dim)
    index = _index(rng, shape, dim, ishape)
    check(rng.standard_normal(shape), dim, index, rng.standard_normal(ishape), reduce, include_self)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_ties_share_the_gradient(reduce: str, include_self: bool) -> None:
    rng = np.random.default_rng(1)
    # Few distinct values: many ties between input and src, and within src.
    x = rng.integers(-1, 2, (3, 5)).astype(np.float64)
    src = rng.integers(-1, 2, (7, 5)).astype(np.float64)
    index = rng.integers(0, 3, (7, 5))
    check(x, 0, index, src, reduce, include_self)
    # Hand-checked: 2.0 appears three times at position 0, input included.
    a = tg.tensor([2.0, 1.0], requires_grad=True)
    b = tg.tensor([2.0, 2.0, 0.5], requires_grad=True)
    tg.scatter_reduce(a, 0, tg.tensor([0, 0, 1]), b, "amax").sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1 / 3, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [1 / 3, 1 / 3, 0.0])


def test_amax_counts_the_input_even_when_excluded() -> None:
    # PyTorch counts an input equal to the result among the ties also with
    # include_self=False: src's gradient at position 0 is halved.
    check(np.array([2.0, 5.0]), 0, np.array([0, 1]), np.array([2.0, 1.0]), "amax", False)
    b = tg.tensor([2.0, 1.0], requires_grad=True)
    out = tg.scatter_reduce(
        tg.tensor([2.0, 5.0]), 0, tg.tensor([0, 1]), b, "amax", include_self=False
    )
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), [2.0, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 1.0])


@pytest.mark.parametrize("include_self", [True, False])
def test_prod_with_zeros(include_self: bool) -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(-1, 2, (3, 4)).astype(np.float64)
    src = rng.integers(-1, 2, (6, 4)).astype(np.float64)
    index = rng.integers(0, 3, (6, 4))
    check(x, 0, index, src, "prod", include_self)
    # One zero, two zeros and an input zero, at separate positions.
    x = np.array([0.0, 2.0, 3.0])
    src = np.array([0.0, 4.0, 0.0, 0.0, 5.0, 0.0])
    check(x, 0, np.array([0, 0, 1, 2, 2, 2]), src, "prod", include_self)
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([0.0, 3.0, 4.0], requires_grad=True)
    out = tg.scatter_reduce(a, 0, tg.tensor([0, 0, 1]), b, "prod", include_self=include_self)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), [0.0, 8.0 if include_self else 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [3.0, 0.0, 2.0 if include_self else 1.0])
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 4.0] if include_self else [0.0, 0.0])


def test_prod_double_backward_with_two_zeros_raises_as_pytorch() -> None:
    def run(lib: Any, grad: Callable[..., Any]) -> Any:
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        s = lib.tensor([0.0, 4.0, 0.0, 0.0, 5.0], requires_grad=True)
        out = lib.scatter_reduce(x, 0, lib.tensor([0, 0, 0, 2, 2]), s, "prod")
        (g,) = grad(out.sum(), s, create_graph=True)
        return g, s

    g, s = run(tg, tg.autograd.grad)
    g_torch, s_torch = run(torch, torch.autograd.grad)
    np.testing.assert_allclose(g.detach().numpy(), g_torch.detach().numpy())
    assert g.grad_fn.name() == g_torch.grad_fn.name() == "torch::autograd::Error"
    raises(
        RuntimeError,
        lambda: tg.autograd.grad(g.sum(), s),
        lambda: torch.autograd.grad(g_torch.sum(), s_torch),
    )


def test_second_derivatives_against_pytorch() -> None:
    rng = np.random.default_rng(3)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    index = rng.integers(0, 3, (5, 4))
    for reduce in REDUCTIONS:
        a, b = tg.tensor(x, requires_grad=True), tg.tensor(src, requires_grad=True)
        ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
        out = tg.scatter_reduce(a, 0, tg.tensor(index), b, reduce)
        tout = torch.scatter_reduce(ta, 0, torch.tensor(index), tb, reduce)
        ga = tg.autograd.grad((out**2).sum(), (a, b), create_graph=True)
        gt = torch.autograd.grad((tout**2).sum(), (ta, tb), create_graph=True)
        (ga[0].sum() + (ga[1] * ga[1]).sum()).backward()
        (gt[0].sum() + (gt[1] * gt[1]).sum()).backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_method_and_keywords(reduce: str) -> None:
    rng = np.random.default_rng(4)
    x, src, index = (
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 5)),
        rng.integers(0, 4, (3, 5)),
    )
    ours = tg.tensor(x).scatter_reduce(
        1, tg.tensor(index), tg.tensor(src), reduce, include_self=False
    )
    theirs = torch.tensor(x).scatter_reduce(
        1, torch.tensor(index), torch.tensor(src), reduce=reduce, include_self=False
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    # arrays in, array out
    raw = tg.scatter_reduce(x, 1, index, src, reduce=reduce)
    assert isinstance(raw, np.ndarray)
    np.testing.assert_allclose(
        raw,
        torch.scatter_reduce(torch.tensor(x), 1, torch.tensor(index), torch.tensor(src), reduce),
    )


def test_src_larger_than_index_and_int32_index() -> None:
    rng = np.random.default_rng(5)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    index = rng.integers(0, 3, (2, 4)).astype(np.int32)
    for reduce in REDUCTIONS:
        ours = tg.scatter_reduce(tg.tensor(x), 0, tg.tensor(index), tg.tensor(src), reduce)
        theirs = torch.scatter_reduce(
            torch.tensor(x), 0, torch.tensor(index), torch.tensor(src), reduce
        )
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    # The values of src the index does not reach get a zero gradient (PyTorch's backward
    # refuses a src larger than the index).
    b = tg.tensor(src, requires_grad=True)
    tg.scatter_reduce(tg.tensor(x), 0, tg.tensor(index), b, "sum").sum().backward()
    expected = np.zeros_like(src)
    expected[:2, :4] = 1.0
    np.testing.assert_array_equal(b.grad.numpy(), expected)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float32"])
def test_other_dtypes(dtype: str, reduce: str, include_self: bool) -> None:
    rng = np.random.default_rng(6)
    if dtype == "bool":
        x, src = rng.random((4,)) < 0.5, rng.random((6,)) < 0.5
    else:
        x = rng.integers(-9, 10, (4,)).astype(dtype)
        src = rng.integers(-9, 10, (6,)).astype(dtype)
    index = np.array([0, 0, 2, 2, 2, 3])

    def ours() -> Any:
        return tg.scatter_reduce(
            tg.tensor(x), 0, tg.tensor(index), tg.tensor(src), reduce, include_self=include_self
        )

    def theirs() -> Any:
        return torch.scatter_reduce(
            torch.tensor(x),
            0,
            torch.tensor(index),
            torch.tensor(src),
            reduce,
            include_self=include_self,
        )

    if dtype == "bool" and reduce == "mean":
        raises(NotImplementedError, ours, theirs)
        return
    a, b = ours(), theirs()
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_integer_mean_rounds_down() -> None:
    x, src, index = [-4, 5, 0], [-1, 1, -3, -2], [0, 1, 2, 2]
    for include_self, expected in ((True, [-3, 3, -2]), (False, [-1, 1, -3])):
        ours = tg.scatter_reduce(
            tg.tensor(x), 0, tg.tensor(index), tg.tensor(src), "mean", include_self=include_self
        )
        theirs = torch.scatter_reduce(
            torch.tensor(x),
            0,
            torch.tensor(index),
            torch.tensor(src),
            "mean",
            include_self=include_self,
        )
        assert ours.tolist() == theirs.tolist() == expected


def test_zero_dimensional_input_and_empty_index() -> None:
    for index, src in (([0, 0], [3.0, 4.0]), (0, 3.0)):
        a = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
        ta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        out = tg.scatter_reduce(a, 0, tg.tensor(index), tg.tensor(src, dtype=tg.float64), "prod")
        tout = torch.scatter_reduce(
            ta, 0, torch.tensor(index), torch.tensor(src, dtype=torch.float64), "prod"
        )
        assert out.shape == () and out.item() == tout.item()
        out.backward()
        tout.backward()
        assert a.grad.item() == ta.grad.item()
    x, src = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    for reduce in REDUCTIONS:
        ours = tg.scatter_reduce(
            tg.tensor(x),
            1,
            tg.tensor(np.zeros((0, 3), np.int64)),
            tg.tensor(src),
            reduce,
            include_self=False,
        )
        np.testing.assert_array_equal(ours.numpy(), x)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
def test_forward_mode_against_pytorch(reduce: str, include_self: bool) -> None:
    from torch.func import jvp

    rng = np.random.default_rng(7)
    x, src, index = (
        rng.standard_normal((3, 4)),
        rng.standard_normal((5, 4)),
        rng.integers(0, 3, (5, 4)),
    )
    tx, ts = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    _, ours = tg.jvp(
        lambda a, b: tg.scatter_reduce(
            a, 0, tg.tensor(index), b, reduce, include_self=include_self
        ),
        (tg.tensor(x), tg.tensor(src)),
        (tg.tensor(tx), tg.tensor(ts)),
    )
    _, theirs = jvp(
        lambda a, b: torch.scatter_reduce(
            a, 0, torch.tensor(index), b, reduce, include_self=include_self
        ),
        (torch.tensor(x), torch.tensor(src)),
        (torch.tensor(tx), torch.tensor(ts)),
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- finite differences


def _away(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Distinct values well apart from each other and from 0 (no ties, no kinks)."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) + rng.uniform(0.2, 0.8, n)) / n + 0.5).reshape(shape) * rng.choice(
        [-1.0, 1.0], shape
    )


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("case", CASES[::2] + CASES[5:6], ids=_ids)
def test_finite_differences(case: Any, reduce: str, include_self: bool) -> None:
    shape, dim, ishape = case
    rng = np.random.default_rng(8)
    index = tg.tensor(_index(rng, shape, dim, ishape))
    x, src = _away(rng, *shape), _away(rng, *ishape)

    def f(a: Any, b: Any) -> Any:
        return tg.scatter_reduce(a, dim, index, b, reduce, include_self=include_self)

    tg.testing.check_grads(f, [tg.tensor(x), tg.tensor(src)], order=2, modes=("fwd", "rev"))


def test_gradcheck() -> None:
    rng = np.random.default_rng(9)
    index = tg.tensor(rng.integers(0, 3, (4, 3)))
    for reduce in REDUCTIONS:
        a = tg.tensor(_away(rng, 3, 3), requires_grad=True)
        b = tg.tensor(_away(rng, 4, 3), requires_grad=True)
        assert tg.autograd.gradcheck(
            lambda x, s, r=reduce: tg.scatter_reduce(x, 0, index, s, r), (a, b)
        )


# ------------------------------------------------------------------------- transforms


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_vmap_and_jit(reduce: str) -> None:
    rng = np.random.default_rng(10)
    index = rng.integers(0, 3, (5, 4))

    def f(a: Any, b: Any) -> Any:
        return tg.scatter_reduce(a, 0, tg.tensor(index), b, reduce, include_self=False)

    xb, sb = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    expected = np.stack([f(tg.tensor(xb[i]), tg.tensor(sb[i])).numpy() for i in range(2)])
    np.testing.assert_allclose(tg.vmap(f)(tg.tensor(xb), tg.tensor(sb)).numpy(), expected)
    shared = np.stack([f(tg.tensor(xb[0]), tg.tensor(sb[i])).numpy() for i in range(2)])
    out = tg.vmap(f, in_axes=(None, 0))(tg.tensor(xb[0]), tg.tensor(sb))
    np.testing.assert_allclose(out.numpy(), shared)
    grads = tg.vmap(tg.grad(lambda a, b: (f(a, b) ** 2).sum(), argnums=(0, 1)))
    ga, gb = grads(tg.tensor(xb), tg.tensor(sb))
    for i in range(2):
        ta = torch.tensor(xb[i], requires_grad=True)
        tb = torch.tensor(sb[i], requires_grad=True)
        (
            torch.scatter_reduce(ta, 0, torch.tensor(index), tb, reduce, include_self=False) ** 2
        ).sum().backward()
        np.testing.assert_allclose(ga.numpy()[i], ta.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gb.numpy()[i], tb.grad.numpy(), rtol=1e-12, atol=1e-12)
    jitted = tg.jit(f)
    for i in range(2):
        np.testing.assert_allclose(jitted(tg.tensor(xb[i]), tg.tensor(sb[i])).numpy(), expected[i])


@pytest.mark.parametrize("reduce", ["sum", "prod", "amax", "amin"])
def test_rounds_without_ufunc_at(reduce: str) -> None:
    """The path for array modules without ``ufunc.at`` (CuPy) gives NumPy's result."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4))
    index = rng.integers(0, 3, (6, 4))
    src = rng.standard_normal((6, 4))
    where, part, _ = _scatter_index(x, 0, index, src)
    with_at, rounds = x.copy(), x.copy()
    _reduce_at(np, with_at, where, src[part], reduce, use_at=True)
    _reduce_at(np, rounds, where, src[part], reduce, use_at=False)
    np.testing.assert_array_equal(rounds, with_at)


# ---------------------------------------------------------------------------- errors


def test_errors() -> None:
    x, src = np.zeros((3, 4)), np.ones((2, 4))
    index = np.array([[0, 1, 2, 0], [0, 1, 1, 2]])

    def both(exc: type, x: Any, dim: int, index: Any, src: Any, reduce: Any, **kw: Any) -> str:
        return raises(
            exc,
            lambda: tg.scatter_reduce(
                tg.tensor(x), dim, tg.tensor(index), tg.tensor(src), reduce, **kw
            ),
            lambda: torch.scatter_reduce(
                torch.tensor(x), dim, torch.tensor(index), torch.tensor(src), reduce, **kw
            ),
        )

    line = both(RuntimeError, x, 0, index, src, "add")
    assert "got add" in line
    assert "got maximum" in both(RuntimeError, x, 0, index, src, "maximum", include_self=False)
    both(RuntimeError, x, 0, index + 5, src, "sum")
    both(RuntimeError, x, 0, index - 1, src, "amax")  # negative indices are out of range
    both(RuntimeError, x, 0, index.astype(np.int16), src, "sum")
    both(RuntimeError, x, 0, index, src.astype(np.float32), "sum")
    both(RuntimeError, x, 0, index[0], src, "sum")
    both(RuntimeError, x, 0, np.zeros((3, 4), np.int64), src, "sum")
    both(RuntimeError, x, 1, np.zeros((4, 2), np.int64), np.ones((4, 4)), "mean")
    both(RuntimeError, x, 0, index, np.ones((2, 4, 1)), "prod")
    both(IndexError, x, 0, index, np.ones(8), "sum")
    both(IndexError, x, 2, index, src, "sum")
    both(NotImplementedError, x + 0j, 0, index, src + 0j, "amax")
    # the reduction is checked after the shapes and before the bounds, as in PyTorch
    both(RuntimeError, x, 0, np.zeros((3, 4), np.int64), src, "foo")
    assert "got foo" in both(RuntimeError, x, 0, index + 5, src, "foo")
    with pytest.raises(TypeError, match="'reduce'"):
        tg.scatter_reduce(tg.tensor(x), 0, tg.tensor(index), tg.tensor(src), 5)
    with pytest.raises(TypeError, match="'reduce'"):
        torch.scatter_reduce(torch.tensor(x), 0, torch.tensor(index), torch.tensor(src), 5)
    raises(
        RuntimeError,
        lambda: tg.scatter_reduce(
            tg.tensor(x + 0j, requires_grad=True), 0, tg.tensor(index), tg.tensor(src + 0j), "sum"
        ),
        lambda: torch.scatter_reduce(
            torch.tensor(x + 0j, requires_grad=True),
            0,
            torch.tensor(index),
            torch.tensor(src + 0j),
            "sum",
        ),
    )
    # complex values without gradients work
    ours = tg.scatter_reduce(tg.tensor(x + 1j), 0, tg.tensor(index), tg.tensor(src - 2j), "prod")
    theirs = torch.scatter_reduce(
        torch.tensor(x + 1j), 0, torch.tensor(index), torch.tensor(src - 2j), "prod"
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


# ---------------------------------------------------------------- scatter(..., reduce=)


@pytest.mark.parametrize("reduce", ["add", "multiply"])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_scatter_with_reduce(case: Any, reduce: str) -> None:
    shape, dim, ishape = case
    rng = np.random.default_rng(12)
    x, src, index = (
        rng.standard_normal(shape),
        rng.standard_normal(ishape),
        _index(rng, shape, dim, ishape),
    )
    with pytest.warns(UserWarning, match="scatter_reduce"):
        ours = tg.scatter(tg.tensor(x), dim, tg.tensor(index), tg.tensor(src), reduce=reduce)
    theirs = torch.scatter(
        torch.tensor(x), dim, torch.tensor(index), torch.tensor(src), reduce=reduce
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    for value in (2.5, -1):
        ours = tg.scatter(tg.tensor(x), dim, tg.tensor(index), value=value, reduce=reduce)
        theirs = torch.scatter(
            torch.tensor(x), dim, torch.tensor(index), value=value, reduce=reduce
        )
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    # the method, and a value cast to an integer input's dtype first (2.5 -> 2)
    xi = rng.integers(-3, 4, shape)
    ours = tg.tensor(xi).scatter(dim, tg.tensor(index), 2.5, reduce=reduce)
    theirs = torch.tensor(xi).scatter(dim, torch.tensor(index), 2.5, reduce=reduce)
    assert ours.dtype == tg.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_has_no_derivative(reduce: str) -> None:
    x, src = np.ones((3, 4)), np.full((2, 4), 2.0)
    index = np.array([[0, 1, 2, 0], [0, 1, 1, 2]])

    def ours(with_src: bool) -> Any:
        a = tg.tensor(x, requires_grad=True)
        if with_src:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return tg.scatter(
                    a, 0, tg.tensor(index), tg.tensor(src, requires_grad=True), reduce=reduce
                )
        return tg.scatter(a, 0, tg.tensor(index), value=3.0, reduce=reduce)

    def theirs(with_src: bool) -> Any:
        a = torch.tensor(x, requires_grad=True)
        if with_src:
            return torch.scatter(
                a, 0, torch.tensor(index), torch.tensor(src, requires_grad=True), reduce=reduce
            )
        return torch.scatter(a, 0, torch.tensor(index), value=3.0, reduce=reduce)

    for with_src in (True, False):
        o, t = ours(with_src), theirs(with_src)
        assert o.grad_fn.name() == t.grad_fn.name() == "torch::autograd::NotImplemented"
        assert len(o.grad_fn.next_functions) == len(t.grad_fn.next_functions) == 1 + with_src
        line = raises(RuntimeError, lambda o=o: o.sum().backward(), lambda t=t: t.sum().backward())
        assert line == "derivative for aten::scatter is not implemented"
    with pytest.raises(NotImplementedError, match="forward AD with aten::scatter"):
        tg.jvp(
            lambda a: tg.scatter(a, 0, tg.tensor(index), 3.0, reduce=reduce),
            (tg.tensor(x),),
            (tg.tensor(x),),
        )
    # without gradients it is an ordinary function
    with tg.no_grad():
        assert (
            tg.scatter(
                tg.tensor(x, requires_grad=True), 0, tg.tensor(index), 3.0, reduce=reduce
            ).grad_fn
            is None
        )


def test_scatter_reduce_errors() -> None:
    x, index = np.zeros((3, 4)), np.array([[0, 1, 2, 0]])
    line = raises(
        RuntimeError,
        lambda: tg.scatter(tg.tensor(x), 0, tg.tensor(index), 1.0, reduce="mean"),
        lambda: torch.scatter(torch.tensor(x), 0, torch.tensor(index), 1.0, reduce="mean"),
    )
    assert line == "reduce argument must be either add or multiply."
    with pytest.warns(UserWarning, match="scatter_reduce"):  # a tensor src
        raises(
            RuntimeError,
            lambda: tg.scatter(tg.tensor(x), 0, tg.tensor(index + 5), tg.tensor(x), reduce="sum"),
            lambda: torch.scatter(
                torch.tensor(x), 0, torch.tensor(index + 5), torch.tensor(x), reduce="sum"
            ),
        )
    raises(
        RuntimeError,
        lambda: tg.scatter(tg.tensor(x), 0, tg.tensor(index + 5), 1.0, reduce="add"),
        lambda: torch.scatter(torch.tensor(x), 0, torch.tensor(index + 5), 1.0, reduce="add"),
    )


def test_scatter_and_scatter_add_share_the_checks() -> None:
    x = np.zeros((3, 4))
    raises(
        RuntimeError,
        lambda: tg.scatter_add(tg.tensor(x), 0, tg.tensor([[-1, 0]]), tg.tensor(np.ones((1, 2)))),
        lambda: torch.scatter_add(
            torch.tensor(x), 0, torch.tensor([[-1, 0]]), torch.ones(1, 2, dtype=torch.float64)
        ),
    )
    raises(
        RuntimeError,
        lambda: tg.scatter(tg.tensor(x), 0, tg.tensor(np.zeros((4, 5), np.int64)), 1.0),
        lambda: torch.scatter(torch.tensor(x), 0, torch.zeros(4, 5, dtype=torch.long), 1.0),
    )
    # int32 indices and a 0-D input with a 1-D index, as PyTorch accepts them
    index = np.array([[2, 0, 1, 1]], np.int32)
    ours = tg.scatter_add(tg.tensor(x), 0, tg.tensor(index), tg.tensor(np.ones((1, 4))))
    theirs = torch.scatter_add(
        torch.tensor(x), 0, torch.tensor(index), torch.ones(1, 4, dtype=torch.float64)
    )
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = tg.scatter_add(tg.tensor(2.0), 0, tg.tensor([0, 0]), tg.tensor([3.0, 4.0]))
    assert ours.shape == () and ours.item() == 9.0
