"""More PyTorch top-level functions (``diff``, ``cummax``, ``median``, ``scatter``, ``cdist``,
...) against PyTorch in float64: values, dtypes, shapes, gradients (ties included), node
names and errors; finite-difference checks of the differentiable ones; the methods."""

from __future__ import annotations

import doctest
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(0)


def _flat(out: Any) -> list[Any]:
    return list(out) if isinstance(out, tuple) else [out]


def _floating(v: Any) -> bool:
    return str(v.dtype).split(".")[-1].startswith(("float", "complex"))


def compare(
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    *xs: np.ndarray,
    grad: bool = True,
    name: str | None = None,
    rtol: float = 1e-12,
    atol: float = 1e-12,
) -> None:
    """Values, dtypes and shapes of ``ours(*tensors)`` and ``theirs(*torch tensors)``, and the
    gradients of a random weighting of their floating outputs."""
    diff = [grad and np.asarray(x).dtype.kind == "f" for x in xs]
    a = [tg.tensor(x, requires_grad=d) for x, d in zip(xs, diff)]
    b = [torch.tensor(x, requires_grad=d) for x, d in zip(xs, diff)]
    oa, ob = _flat(ours(*a)), _flat(theirs(*b))
    assert len(oa) == len(ob)
    for u, v in zip(oa, ob):
        assert tuple(u.shape) == tuple(v.shape)
        assert str(u.dtype).split(".")[-1] == str(v.dtype).split(".")[-1]
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=rtol, atol=atol)
    if name is not None:
        assert oa[0].grad_fn.name() == name == ob[0].grad_fn.name()
    if not any(diff):
        return
    la, lb = 0, 0
    for u, v in zip(oa, ob):
        if _floating(v) and v.requires_grad:
            w = RNG.standard_normal(tuple(v.shape))
            la = la + (u * tg.tensor(w)).sum()
            lb = lb + (v * torch.tensor(w)).sum()
    la.backward()
    lb.backward()
    for ta, tb, d in zip(a, b, diff):
        if d:
            ga = np.zeros(ta.shape) if ta.grad is None else ta.grad.numpy()
            gb = np.zeros(tb.shape) if tb.grad is None else tb.grad.numpy()
            np.testing.assert_allclose(ga, gb, rtol=rtol, atol=atol)


def raises(exc: type, fn: Callable[[], Any], tfn: Callable[[], Any]) -> None:
    with pytest.raises(exc) as ours:
        fn()
    with pytest.raises(exc) as theirs:
        tfn()
    assert str(ours.value).splitlines()[0] == str(theirs.value).splitlines()[0]


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def ties(*shape: int) -> np.ndarray:
    return RNG.integers(0, 3, shape).astype(np.float64)


# ---------------------------------------------------------------------------------- shape


@pytest.mark.parametrize("kw", [{}, {"n": 2}, {"dim": 0}, {"n": 0}, {"n": 5}, {"dim": -1, "n": 3}])
def test_diff(kw: dict) -> None:
    compare(lambda x: tg.diff(x, **kw), lambda x: torch.diff(x, **kw), randn(3, 4))


def test_diff_prepend_append_and_bool() -> None:
    compare(
        lambda x, p, q: tg.diff(x, dim=0, prepend=p, append=q),
        lambda x, p, q: torch.diff(x, dim=0, prepend=p, append=q),
        randn(3, 2),
        randn(1, 2),
        randn(2, 2),
        name="SubBackward0",
    )
    b = np.array([True, False, False, True])
    compare(tg.diff, torch.diff, b)
    compare(lambda x: x.diff(), lambda x: x.diff(), np.arange(5))


def test_diff_errors() -> None:
    raises(RuntimeError, lambda: tg.diff(tg.tensor(1.0)), lambda: torch.diff(torch.tensor(1.0)))
    raises(
        RuntimeError, lambda: tg.diff(tg.zeros(3), n=-1), lambda: torch.diff(torch.zeros(3), n=-1)
    )
    raises(
        RuntimeError,
        lambda: tg.diff(tg.zeros(3, 4), prepend=tg.zeros(4)),
        lambda: torch.diff(torch.zeros(3, 4), prepend=torch.zeros(4)),
    )


def test_flips() -> None:
    compare(tg.fliplr, torch.fliplr, randn(2, 3, 2), name="FlipBackward0")
    compare(tg.flipud, torch.flipud, randn(3), name="FlipBackward0")
    compare(lambda x: x.fliplr(), lambda x: x.fliplr(), randn(2, 3))
    raises(RuntimeError, lambda: tg.fliplr(tg.zeros(3)), lambda: torch.fliplr(torch.zeros(3)))
    raises(RuntimeError, lambda: tg.flipud(tg.tensor(1.0)), lambda: torch.flipud(torch.tensor(1.0)))


@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (2, 0), (-1, 1)])
def test_rot90(k: int, dims: tuple[int, int]) -> None:
    compare(
        lambda x: tg.rot90(x, k, dims),
        lambda x: torch.rot90(x, k, dims),
        randn(2, 3, 4),
        name="Rot90Backward0",
    )


def test_rot90_errors_and_method() -> None:
    compare(lambda x: x.rot90(), lambda x: x.rot90(), randn(2, 3))
    z, tz = tg.zeros(3, 4), torch.zeros(3, 4)
    raises(RuntimeError, lambda: tg.rot90(z, 1, (0,)), lambda: torch.rot90(tz, 1, (0,)))
    raises(RuntimeError, lambda: tg.rot90(z, 1, (0, 0)), lambda: torch.rot90(tz, 1, (0, 0)))
    raises(RuntimeError, lambda: tg.rot90(tg.zeros(3)), lambda: torch.rot90(torch.zeros(3)))


def test_unflatten() -> None:
    compare(
        lambda x: x.unflatten(1, (2, -1)),
        lambda x: x.unflatten(1, (2, -1)),
        randn(3, 4),
        name="ViewBackward0",
    )
    compare(
        lambda x: tg.unflatten(x, -1, (2, 2)), lambda x: torch.unflatten(x, -1, (2, 2)), randn(4)
    )
    raises(
        RuntimeError,
        lambda: tg.zeros(3, 4).unflatten(1, (3, 3)),
        lambda: torch.zeros(3, 4).unflatten(1, (3, 3)),
    )


@pytest.mark.parametrize("fn", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 1), (1, 2, 3, 4)])
def test_atleast(fn: str, shape: tuple[int, ...]) -> None:
    compare(getattr(tg, fn), getattr(torch, fn), randn(*shape))
    compare(
        lambda a, b: getattr(tg, fn)(a, b),
        lambda a, b: getattr(torch, fn)(a, b),
        randn(*shape),
        randn(2),
    )
    out = getattr(tg, fn)([tg.zeros(2)])
    assert isinstance(out, tuple) and len(out) == 1


# ----------------------------------------------------------------------------------- scans


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cummax_cummin(fn: str, dim: int) -> None:
    for x in (randn(3, 5), ties(3, 5)):
        compare(
            lambda t: getattr(tg, fn)(t, dim),
            lambda t: getattr(torch, fn)(t, dim),
            x,
            name=fn.capitalize() + "Backward0",
        )
        compare(lambda t: getattr(t, fn)(dim), lambda t: getattr(t, fn)(dim), x)


def test_cummax_nan_ints_and_names() -> None:
    x = np.array([1.0, np.nan, 0.0, np.nan, 2.0])
    compare(lambda t: tg.cummax(t, 0), lambda t: torch.cummax(t, 0), x, grad=False)
    compare(lambda t: tg.cummin(t, 0), lambda t: torch.cummin(t, 0), x, grad=False)
    compare(lambda t: tg.cummax(t, 0), lambda t: torch.cummax(t, 0), np.array([2, 1, 3, 3]))
    compare(lambda t: tg.cummin(t, 0), lambda t: torch.cummin(t, 0), np.array(2.0))
    r = tg.cummax(tg.tensor([1.0, 2.0]), 0)
    assert r._fields == ("values", "indices") and type(r).__name__ == "cummax"
    raises(
        IndexError, lambda: tg.cummax(tg.zeros(3, 4), 2), lambda: torch.cummax(torch.zeros(3, 4), 2)
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp(dim: int) -> None:
    compare(
        lambda t: tg.logcumsumexp(t, dim),
        lambda t: torch.logcumsumexp(t, dim),
        5 * randn(3, 4),
        name="LogcumsumexpBackward0",
    )
    compare(lambda t: t.logcumsumexp(dim), lambda t: t.logcumsumexp(dim), randn(2, 3) + 300)
    x = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf]])
    compare(lambda t: tg.logcumsumexp(t, 1), lambda t: torch.logcumsumexp(t, 1), x, grad=False)


# ------------------------------------------------------------------------------ reductions


@pytest.mark.parametrize("kw", [{}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"dim": -1}])
def test_aminmax(kw: dict) -> None:
    for x in (randn(3, 4), ties(3, 4)):
        compare(
            lambda t: tg.aminmax(t, **kw),
            lambda t: torch.aminmax(t, **kw),
            x,
            name="AminmaxBackward0",
        )
        compare(lambda t: t.aminmax(**kw), lambda t: t.aminmax(**kw), x)
    r = tg.aminmax(tg.zeros(2))
    assert r._fields == ("min", "max") and type(r).__name__ == "aminmax"


@pytest.mark.parametrize("fn", ["var_mean", "std_mean"])
@pytest.mark.parametrize(
    "args,kw",
    [
        ((), {}),
        ((1,), {}),
        ((0,), {"keepdim": True}),
        (((0, 1),), {"correction": 0}),
        ((None,), {"correction": 2}),
        ((False,), {}),
        ((1, False, True), {}),
    ],
)
def test_var_std_mean(fn: str, args: tuple, kw: dict) -> None:
    name = "VarMeanBackward0" if fn == "var_mean" else "StdMeanBackward0"
    compare(
        lambda t: getattr(tg, fn)(t, *args, **kw),
        lambda t: getattr(torch, fn)(t, *args, **kw),
        randn(3, 4),
        name=name,
    )


@pytest.mark.parametrize("kw", [{}, {"dim": 0}, {"dim": (0, 1)}, {"dim": 1, "keepdim": True}])
def test_nansum_nanmean(kw: dict) -> None:
    x = randn(3, 4)
    x[0, 1] = x[2, 3] = np.nan
    compare(
        lambda t: tg.nansum(t, **kw), lambda t: torch.nansum(t, **kw), x, name="NansumBackward0"
    )
    compare(lambda t: tg.nanmean(t, **kw), lambda t: torch.nanmean(t, **kw), x, name="DivBackward0")
    compare(lambda t: t.nansum(**kw), lambda t: t.nansum(**kw), x)
    compare(lambda t: t.nanmean(**kw), lambda t: t.nanmean(**kw), x)
    ints = np.arange(12, dtype=np.int32).reshape(3, 4)
    compare(lambda t: tg.nansum(t, **kw), lambda t: torch.nansum(t, **kw), ints)
    out = tg.nanmean(tg.tensor(x, requires_grad=True))
    assert out.grad_fn.next_functions[0][0].name() == "NansumBackward0"
    raises(
        RuntimeError,
        lambda: tg.nanmean(tg.tensor(ints.astype(np.int64))),
        lambda: torch.nanmean(torch.tensor(ints.astype(np.int64))),
    )


def test_median_overall() -> None:
    compare(tg.median, torch.median, randn(3, 4), name="MedianBackward0")
    compare(tg.median, torch.median, randn(6))
    x = np.array([[2.0, 1.0, 2.0, 1.0, 3.0], [1, 1, 1, 1, 1]])
    compare(tg.median, torch.median, x)  # the gradient shared by the equal medians
    compare(lambda t: t.median(), lambda t: t.median(), ties(4, 3))
    compare(tg.median, torch.median, np.array([1.0, np.nan, 0.0]), grad=False)


@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, False), (-1, True), (0, True)])
def test_median_dim(dim: int, keepdim: bool) -> None:
    compare(
        lambda t: tg.median(t, dim, keepdim),
        lambda t: torch.median(t, dim, keepdim),
        randn(4, 5),
        name="MedianBackward1",
    )
    compare(lambda t: t.median(dim, keepdim), lambda t: t.median(dim, keepdim), randn(3, 6))


def test_median_dim_ties_and_nan() -> None:
    x = np.array([[2.0, 1.0, 2.0, 1.0, 3.0], [1, 1, 1, 1, 1]])
    compare(lambda t: tg.median(t, 1), lambda t: torch.median(t, 1), x)
    y = np.array([[1.0, np.nan, 0.0, np.nan], [3.0, 2.0, 1.0, 0.0]])
    compare(lambda t: tg.median(t, 1), lambda t: torch.median(t, 1), y, grad=False)
    r = tg.median(tg.zeros(2, 2), 0)
    assert r._fields == ("values", "indices") and type(r).__name__ == "median"


@pytest.mark.parametrize(
    "k,dim,keepdim", [(1, -1, False), (2, 0, False), (3, 1, True), (4, 1, False)]
)
def test_kthvalue(k: int, dim: int, keepdim: bool) -> None:
    compare(
        lambda t: tg.kthvalue(t, k, dim, keepdim),
        lambda t: torch.kthvalue(t, k, dim, keepdim),
        randn(4, 5),
        name="KthvalueBackward0",
    )
    compare(lambda t: t.kthvalue(k, dim), lambda t: t.kthvalue(k, dim), randn(4, 4))


def test_kthvalue_ties_pass_the_gradient_to_the_index() -> None:
    # At equal values PyTorch's index is its selection algorithm's choice; ours is an index
    # of an equal value, and the gradient goes there.
    x = tg.tensor([[2.0, 1.0, 2.0, 1.0, 3.0], [1, 1, 1, 1, 1]], requires_grad=True)
    values, idx = tg.kthvalue(x, 2, 1)
    tv = torch.kthvalue(torch.tensor(x.detach().numpy()), 2, 1).values
    np.testing.assert_array_equal(values.detach().numpy(), tv.numpy())
    np.testing.assert_array_equal(
        np.take_along_axis(x.detach().numpy(), idx.numpy()[:, None], 1)[:, 0],
        values.detach().numpy(),
    )
    values.sum().backward()
    expected = np.zeros((2, 5))
    expected[[0, 1], idx.numpy()] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    raises(
        RuntimeError,
        lambda: tg.kthvalue(tg.zeros(3, 4), 5, 1),
        lambda: torch.kthvalue(torch.zeros(3, 4), 5, 1),
    )
    raises(
        RuntimeError,
        lambda: tg.kthvalue(tg.zeros(3, 4), 0),
        lambda: torch.kthvalue(torch.zeros(3, 4), 0),
    )


def test_msort() -> None:
    compare(tg.msort, torch.msort, randn(4, 3), name="SortBackward0")
    compare(lambda t: t.msort(), lambda t: t.msort(), randn(5))


# ----------------------------------------------------------------------------- elementwise


def test_frac_and_angles() -> None:
    x = 4 * randn(3, 4)
    compare(tg.frac, torch.frac, x, name="FracBackward0")
    compare(lambda t: t.frac(), lambda t: t.frac(), x)
    compare(tg.deg2rad, torch.deg2rad, 90 * x, name="Deg2RadBackward0")
    compare(tg.rad2deg, torch.rad2deg, x, name="Rad2DegBackward0")
    compare(lambda t: t.deg2rad(), lambda t: t.deg2rad(), np.array([180, 90]))
    compare(lambda t: t.rad2deg(), lambda t: t.rad2deg(), np.array([1, 2]))


def test_fmod() -> None:
    a, b = 5 * randn(3, 4), randn(4) + 3
    compare(tg.fmod, torch.fmod, a, b, name="FmodBackward1")
    compare(lambda t: tg.fmod(t, 1.5), lambda t: torch.fmod(t, 1.5), a, name="FmodBackward0")
    compare(lambda t: t.fmod(-2.0), lambda t: t.fmod(-2.0), a)
    compare(lambda s, t: s.fmod(t), lambda s, t: s.fmod(t), a, -b)
    compare(tg.fmod, torch.fmod, np.array([-7, 7, 5]), np.array([2, -3, 5]))
    compare(lambda t: tg.fmod(t, 3), lambda t: torch.fmod(t, 3), np.array([-7, 7, 5]))


def test_xlogy() -> None:
    x, y = randn(3, 4), np.abs(randn(4)) + 0.1
    x[0, 0] = x[1, 2] = 0.0
    compare(tg.xlogy, torch.xlogy, x, y, name="XlogyBackward0")
    compare(lambda t: tg.xlogy(t, 2.0), lambda t: torch.xlogy(t, 2.0), x, name="XlogyBackward2")
    compare(lambda t: tg.xlogy(3.0, t), lambda t: torch.xlogy(3.0, t), y, name="XlogyBackward1")
    compare(lambda s, t: s.xlogy(t), lambda s, t: s.xlogy(t), x, y)
    # x = 0: value 0 and zero gradients, y = 0 included; NaN in y propagates.
    z = np.array([0.0, 0.0, 1.0, 0.0])
    w = np.array([0.0, 3.0, 0.0, np.nan])
    compare(tg.xlogy, torch.xlogy, z, w, grad=False)
    compare(tg.xlogy, torch.xlogy, z[:3], np.array([1.0, 3.0, 2.0]))
    compare(tg.xlogy, torch.xlogy, np.array([0, 1, 2]), np.array([3, 3, 0]))


@pytest.mark.parametrize("eps", [None, 0.0, 0.1, 0.3])
def test_logit(eps: float | None) -> None:
    x = RNG.uniform(0.02, 0.98, (3, 4))
    x[0, 0], x[1, 1] = 0.1, 0.05
    compare(lambda t: tg.logit(t, eps), lambda t: torch.logit(t, eps), x, name="LogitBackward0")
    compare(lambda t: t.logit(eps), lambda t: t.logit(eps), x)
    compare(lambda t: tg.logit(t, eps), lambda t: torch.logit(t, eps), np.array([0, 1]), rtol=1e-6)


def test_heaviside() -> None:
    x = np.array([-1.5, 0.0, 2.0, 0.0])
    compare(tg.heaviside, torch.heaviside, x, np.array([0.5]), grad=False)
    compare(
        lambda a, b: a.heaviside(b),
        lambda a, b: a.heaviside(b),
        np.array([-1, 0, 3]),
        np.array([7, 8, 9]),
    )
    raises(
        RuntimeError,
        lambda: tg.heaviside(tg.zeros(3), tg.zeros(3, dtype=tg.float64)),
        lambda: torch.heaviside(torch.zeros(3), torch.zeros(3, dtype=torch.float64)),
    )


def test_float_power() -> None:
    a, b = np.abs(randn(3, 4)) + 0.5, randn(4)
    compare(tg.float_power, torch.float_power, a, b, name="PowBackward1")
    compare(
        lambda t: tg.float_power(t, 2), lambda t: torch.float_power(t, 2), a, name="PowBackward0"
    )
    compare(lambda t: t.float_power(0.5), lambda t: t.float_power(0.5), a)
    compare(lambda t: tg.float_power(t, 2), lambda t: torch.float_power(t, 2), np.array([2, 3]))
    compare(lambda t: tg.float_power(t, 2), lambda t: torch.float_power(t, 2), a.astype(np.float32))


@pytest.mark.parametrize("kw", [{}, {"nan": 1.5}, {"posinf": 9.0, "neginf": -9.0}])
def test_nan_to_num(kw: dict) -> None:
    x = np.array([[np.nan, np.inf, 1.0], [-np.inf, -2.0, 0.5]])
    compare(
        lambda t: tg.nan_to_num(t, **kw),
        lambda t: torch.nan_to_num(t, **kw),
        x,
        name="NanToNumBackward0",
    )
    compare(lambda t: t.nan_to_num(**kw), lambda t: t.nan_to_num(**kw), x.astype(np.float32))
    compare(lambda t: tg.nan_to_num(t, **kw), lambda t: torch.nan_to_num(t, **kw), np.array([1, 2]))


# ------------------------------------------------------------------------ indexed updates


def test_masked_select() -> None:
    x = randn(3, 4)
    m = x > 0
    compare(
        lambda t: tg.masked_select(t, tg.tensor(m)),
        lambda t: torch.masked_select(t, torch.tensor(m)),
        x,
        name="MaskedSelectBackward0",
    )
    m1 = np.array([True, False, True, True])
    compare(
        lambda t: t.masked_select(tg.tensor(m1)), lambda t: t.masked_select(torch.tensor(m1)), x
    )
    mcol = np.array([[True], [False], [True]])
    compare(
        lambda t: tg.masked_select(t, tg.tensor(mcol)),
        lambda t: torch.masked_select(t, torch.tensor(mcol)),
        randn(4),
    )
    raises(
        RuntimeError,
        lambda: tg.masked_select(tg.zeros(3), tg.zeros(3)),
        lambda: torch.masked_select(torch.zeros(3), torch.zeros(3)),
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("alpha", [1, 2.5])
def test_index_add(dim: int, alpha: float) -> None:
    x = randn(3, 4)
    index = np.array([0, 2, 0, 1])
    src_shape = list(x.shape)
    src_shape[dim] = 4
    src = randn(*src_shape)
    compare(
        lambda t, s: tg.index_add(t, dim, tg.tensor(index), s, alpha=alpha),
        lambda t, s: torch.index_add(t, dim, torch.tensor(index), s, alpha=alpha),
        x,
        src,
        name="IndexAddBackward0",
    )
    compare(
        lambda t, s: t.index_add(dim, tg.tensor(index), s),
        lambda t, s: t.index_add(dim, torch.tensor(index), s),
        x,
        src,
    )


def test_index_add_errors() -> None:
    z, tz = tg.zeros(3, 4), torch.zeros(3, 4)
    raises(
        RuntimeError,
        lambda: tg.index_add(z, 1, tg.tensor([0, 1]), tg.zeros(3, 3)),
        lambda: torch.index_add(tz, 1, torch.tensor([0, 1]), torch.zeros(3, 3)),
    )
    raises(
        IndexError,
        lambda: tg.index_add(z, 1, tg.tensor([[0, 1]]), tg.zeros(3, 2)),
        lambda: torch.index_add(tz, 1, torch.tensor([[0, 1]]), torch.zeros(3, 2)),
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_and_scatter_add(dim: int) -> None:
    x = randn(3, 4)
    idx_shape = (2, 3)
    size = x.shape[dim]
    # distinct positions along ``dim``, where scatter's result is defined
    index = np.argsort(RNG.random(x.shape), axis=dim)[:2, :3]
    src = randn(2, 3)  # PyTorch's backward takes a src no larger than the index
    compare(
        lambda t, s: tg.scatter(t, dim, tg.tensor(index), s),
        lambda t, s: torch.scatter(t, dim, torch.tensor(index), s),
        x,
        randn(3, 4),
        grad=False,
    )
    compare(
        lambda t, s: tg.scatter(t, dim, tg.tensor(index), s),
        lambda t, s: torch.scatter(t, dim, torch.tensor(index), s),
        x,
        src,
        name="ScatterBackward0",
    )
    compare(
        lambda t: tg.scatter(t, dim, tg.tensor(index), 7.0),
        lambda t: torch.scatter(t, dim, torch.tensor(index), 7.0),
        x,
        name="ScatterBackward1",
    )
    compare(
        lambda t: t.scatter(dim, tg.tensor(index), value=-1.0),
        lambda t: t.scatter(dim, torch.tensor(index), value=-1.0),
        x,
    )
    dup = RNG.integers(0, size, idx_shape)
    compare(
        lambda t, s: tg.scatter_add(t, dim, tg.tensor(dup), s),
        lambda t, s: torch.scatter_add(t, dim, torch.tensor(dup), s),
        x,
        src,
        name="ScatterAddBackward0",
    )
    compare(
        lambda t, s: t.scatter_add(dim, tg.tensor(dup), s),
        lambda t, s: t.scatter_add(dim, torch.tensor(dup), s),
        x,
        src,
    )


def test_scatter_errors() -> None:
    z, tz = tg.zeros(3, 4), torch.zeros(3, 4)
    raises(
        RuntimeError,
        lambda: tg.scatter(z, 1, tg.tensor([0, 1]), tg.zeros(3, 2)),
        lambda: torch.scatter(tz, 1, torch.tensor([0, 1]), torch.zeros(3, 2)),
    )
    raises(
        RuntimeError,
        lambda: tg.scatter(z, 1, tg.tensor([[0, 5]]), tg.zeros(3, 2)),
        lambda: torch.scatter(tz, 1, torch.tensor([[0, 5]]), torch.zeros(3, 2)),
    )


@pytest.mark.parametrize("dim,index", [(0, [2, 0]), (1, [1]), (-1, [3, 3])])
def test_index_fill(dim: int, index: list[int]) -> None:
    x = randn(3, 4)
    compare(
        lambda t: tg.index_fill(t, dim, tg.tensor(index), 5.0),
        lambda t: torch.index_fill(t, dim, torch.tensor(index), 5.0),
        x,
        name="IndexFillBackward0",
    )
    compare(
        lambda t: t.index_fill(dim, tg.tensor(index), -1),
        lambda t: t.index_fill(dim, torch.tensor(index), -1),
        x,
    )


def test_index_fill_errors() -> None:
    raises(
        IndexError,
        lambda: tg.index_fill(tg.zeros(3, 4), 1, tg.tensor([5]), 1.0),
        lambda: torch.index_fill(torch.zeros(3, 4), 1, torch.tensor([5]), 1.0),
    )


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing: str) -> None:
    compare(
        lambda a, b, c: tg.meshgrid(a, b, c, indexing=indexing),
        lambda a, b, c: torch.meshgrid(a, b, c, indexing=indexing),
        randn(2),
        randn(3),
        np.array(4.0),
    )
    compare(
        lambda a, b: tg.meshgrid([a, b], indexing=indexing),
        lambda a, b: torch.meshgrid([a, b], indexing=indexing),
        randn(2),
        randn(3),
    )
    compare(
        lambda a: tg.meshgrid(a, indexing=indexing),
        lambda a: torch.meshgrid(a, indexing=indexing),
        randn(3),
    )


def test_meshgrid_errors() -> None:
    raises(
        RuntimeError,
        lambda: tg.meshgrid(tg.zeros(2), tg.zeros(2), indexing="foo"),
        lambda: torch.meshgrid(torch.zeros(2), torch.zeros(2), indexing="foo"),
    )
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor"):
        tg.meshgrid(tg.zeros(2, 2), tg.zeros(2), indexing="ij")


def test_cartesian_prod() -> None:
    compare(tg.cartesian_prod, torch.cartesian_prod, randn(2), randn(3))
    compare(tg.cartesian_prod, torch.cartesian_prod, randn(2), randn(3), randn(2))
    compare(tg.cartesian_prod, torch.cartesian_prod, randn(3))
    compare(tg.cartesian_prod, torch.cartesian_prod, np.array([1, 2]), np.array([3, 4]))
    raises(
        RuntimeError,
        lambda: tg.cartesian_prod(tg.zeros(3, 4), tg.zeros(3)),
        lambda: torch.cartesian_prod(torch.zeros(3, 4), torch.zeros(3)),
    )


def test_block_diag() -> None:
    compare(
        tg.block_diag,
        torch.block_diag,
        randn(2, 3),
        randn(3),
        np.array(4.0),
        randn(1, 2),
        name="BlockDiagBackward0",
    )
    compare(tg.block_diag, torch.block_diag, randn(2, 2))
    compare(tg.block_diag, torch.block_diag, np.array([1, 2]), np.array([[3]]))
    assert tg.block_diag().shape == tuple(torch.block_diag().shape)
    raises(
        RuntimeError,
        lambda: tg.block_diag(tg.zeros(2, 2, 2)),
        lambda: torch.block_diag(torch.zeros(2, 2, 2)),
    )


@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("args", [(3, 3), (3, 4, 1), (4, 3, -1), (2, 5, 3), (0, 3)])
def test_tri_indices(fn: str, args: tuple) -> None:
    ours, theirs = getattr(tg, fn)(*args), getattr(torch, fn)(*args)
    assert ours.dtype == tg.int64 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert getattr(tg, fn)(3, 3, dtype=tg.int32).dtype == tg.int32


# ------------------------------------------------------------------------- linear algebra


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 3.0)])
def test_add_products(beta: float, alpha: float) -> None:
    kw = {"beta": beta, "alpha": alpha}
    compare(
        lambda i, m, v: tg.addmv(i, m, v, **kw),
        lambda i, m, v: torch.addmv(i, m, v, **kw),
        randn(3),
        randn(3, 4),
        randn(4),
        name="AddmvBackward0",
    )
    compare(
        lambda i, m, v: tg.addmv(i, m, v, **kw),
        lambda i, m, v: torch.addmv(i, m, v, **kw),
        randn(1),
        randn(3, 4),
        randn(4),
    )
    compare(
        lambda i, a, b: tg.addr(i, a, b, **kw),
        lambda i, a, b: torch.addr(i, a, b, **kw),
        randn(3, 4),
        randn(3),
        randn(4),
        name="AddrBackward0",
    )
    compare(
        lambda i, a, b: i.addr(a, b, **kw),
        lambda i, a, b: i.addr(a, b, **kw),
        randn(4),
        randn(3),
        randn(4),
    )
    compare(
        lambda i, a, b: tg.baddbmm(i, a, b, **kw),
        lambda i, a, b: torch.baddbmm(i, a, b, **kw),
        randn(2, 3, 4),
        randn(2, 3, 5),
        randn(2, 5, 4),
        name="BaddbmmBackward0",
    )
    compare(
        lambda i, a, b: i.baddbmm(a, b, **kw),
        lambda i, a, b: i.baddbmm(a, b, **kw),
        randn(3, 1),
        randn(2, 3, 5),
        randn(2, 5, 4),
    )
    compare(
        lambda i, a, b: tg.addbmm(i, a, b, **kw),
        lambda i, a, b: torch.addbmm(i, a, b, **kw),
        randn(3, 4),
        randn(2, 3, 5),
        randn(2, 5, 4),
        name="AddbmmBackward0",
    )
    compare(
        lambda i, m, v: i.addmv(m, v, **kw),
        lambda i, m, v: i.addmv(m, v, **kw),
        randn(3),
        randn(3, 4),
        randn(4),
    )
    compare(
        lambda i, a, b: i.addbmm(a, b, **kw),
        lambda i, a, b: i.addbmm(a, b, **kw),
        randn(4),
        randn(2, 3, 5),
        randn(2, 5, 4),
    )


def test_beta_zero_ignores_nan() -> None:
    compare(
        lambda i, m, v: tg.addmv(i, m, v, beta=0),
        lambda i, m, v: torch.addmv(i, m, v, beta=0),
        np.full(3, np.nan),
        randn(3, 4),
        randn(4),
    )


def test_add_products_errors() -> None:
    z, tz = tg.zeros(3, 4), torch.zeros(3, 4)
    raises(
        RuntimeError,
        lambda: tg.addmv(tg.zeros(3), z, tg.zeros(3)),
        lambda: torch.addmv(torch.zeros(3), tz, torch.zeros(3)),
    )
    raises(
        RuntimeError,
        lambda: tg.addmv(tg.zeros(3), z[0], tg.zeros(3)),
        lambda: torch.addmv(torch.zeros(3), tz[0], torch.zeros(3)),
    )
    raises(
        RuntimeError, lambda: tg.addr(z, z, tg.zeros(4)), lambda: torch.addr(tz, tz, torch.zeros(4))
    )


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), 0.5])
def test_cdist(p: float) -> None:
    compare(
        lambda a, b: tg.cdist(a, b, p),
        lambda a, b: torch.cdist(a, b, p),
        randn(4, 3),
        randn(5, 3),
        name="CdistBackward0",
        rtol=1e-10,
    )
    compare(
        lambda a, b: tg.cdist(a, b, p=p),
        lambda a, b: torch.cdist(a, b, p=p),
        randn(2, 4, 3),
        randn(2, 2, 3),
        rtol=1e-10,
    )


def test_cdist_zero_distance_and_errors() -> None:
    x = randn(3, 2)
    compare(tg.cdist, torch.cdist, x, np.concatenate([x[:1], randn(1, 2)]), rtol=1e-10, atol=1e-10)
    raises(
        RuntimeError,
        lambda: tg.cdist(tg.zeros(3), tg.zeros(3, 4)),
        lambda: torch.cdist(torch.zeros(3), torch.zeros(3, 4)),
    )
    raises(
        RuntimeError,
        lambda: tg.cdist(tg.zeros(3, 4), tg.zeros(3, 5)),
        lambda: torch.cdist(torch.zeros(3, 4), torch.zeros(3, 5)),
    )
    raises(
        RuntimeError,
        lambda: tg.cdist(tg.zeros(3, 4), tg.zeros(3, 4), p=-1),
        lambda: torch.cdist(torch.zeros(3, 4), torch.zeros(3, 4), p=-1),
    )


# ---------------------------------------------------------------------- finite differences


def _away(*shape: int) -> np.ndarray:
    """Random values, well apart from each other (no ties, no kinks between them)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) + RNG.uniform(0.2, 0.8, n)).reshape(shape) / 2


FD_CASES: list[tuple[str, Callable[..., Any], list[np.ndarray]]] = [
    ("diff", lambda x, p: tg.diff(x, 2, 0, prepend=p), [randn(3, 2), randn(1, 2)]),
    ("fliplr", tg.fliplr, [randn(2, 3)]),
    ("flipud", tg.flipud, [randn(3, 2)]),
    ("rot90", lambda x: tg.rot90(x, 3, (1, 2)), [randn(2, 3, 2)]),
    ("unflatten", lambda x: tg.unflatten(x, 1, (2, 2)), [randn(2, 4)]),
    ("atleast_3d", tg.atleast_3d, [randn(3)]),
    ("cummax", lambda x: tg.cummax(x, 1).values, [_away(2, 5)]),
    ("cummin", lambda x: tg.cummin(x, 0).values, [_away(5, 2)]),
    ("logcumsumexp", lambda x: tg.logcumsumexp(x, 1), [randn(2, 4)]),
    ("aminmax", lambda x: tg.aminmax(x, dim=1), [_away(3, 4)]),
    ("var_mean", lambda x: tg.var_mean(x, 1), [randn(3, 4)]),
    ("std_mean", lambda x: tg.std_mean(x, 0, correction=0), [randn(3, 4)]),
    ("nansum", lambda x: tg.nansum(x, 1), [randn(3, 4)]),
    ("nanmean", lambda x: tg.nanmean(x, 0), [randn(3, 4)]),
    ("median", tg.median, [_away(3, 3)]),
    ("median_dim", lambda x: tg.median(x, 1).values, [_away(3, 4)]),
    ("kthvalue", lambda x: tg.kthvalue(x, 2, 0).values, [_away(4, 3)]),
    ("msort", tg.msort, [_away(4, 2)]),
    ("frac", tg.frac, [_away(3, 2) + 0.05]),
    ("fmod", tg.fmod, [_away(3, 4) * 3, np.array([1.3, 1.7, 2.9, 0.7])]),
    ("xlogy", tg.xlogy, [randn(3, 4), np.abs(randn(3, 4)) + 0.5]),
    ("logit", lambda x: tg.logit(x, 0.05), [RNG.uniform(0.1, 0.9, (3, 3))]),
    ("deg2rad", tg.deg2rad, [randn(3)]),
    ("rad2deg", tg.rad2deg, [randn(3)]),
    ("float_power", tg.float_power, [np.abs(randn(3)) + 0.5, randn(3)]),
    ("nan_to_num", tg.nan_to_num, [randn(3)]),
    ("masked_select", lambda x: tg.masked_select(x, tg.tensor([True, False, True])), [randn(2, 3)]),
    (
        "index_add",
        lambda x, s: tg.index_add(x, 1, tg.tensor([0, 0, 2]), s, alpha=2),
        [randn(2, 3), randn(2, 3)],
    ),
    (
        "scatter",
        lambda x, s: tg.scatter(x, 1, tg.tensor([[2, 0], [1, 2]]), s),
        [randn(2, 3), randn(2, 3)],
    ),
    (
        "scatter_add",
        lambda x, s: tg.scatter_add(x, 0, tg.tensor([[1, 1, 0]]), s),
        [randn(2, 3), randn(2, 3)],
    ),
    ("index_fill", lambda x: tg.index_fill(x, 0, tg.tensor([1]), 2.0), [randn(2, 3)]),
    ("meshgrid", lambda a, b: tg.meshgrid(a, b, indexing="xy"), [randn(2), randn(3)]),
    ("cartesian_prod", tg.cartesian_prod, [randn(2), randn(3)]),
    ("block_diag", tg.block_diag, [randn(2, 2), randn(3)]),
    (
        "addmv",
        lambda i, m, v: tg.addmv(i, m, v, beta=0.5, alpha=2),
        [randn(3), randn(3, 2), randn(2)],
    ),
    ("addr", lambda i, a, b: tg.addr(i, a, b, alpha=-1), [randn(3, 2), randn(3), randn(2)]),
    (
        "baddbmm",
        lambda i, a, b: tg.baddbmm(i, a, b, beta=2),
        [randn(2, 2, 3), randn(2, 2, 4), randn(2, 4, 3)],
    ),
    ("addbmm", tg.addbmm, [randn(2, 3), randn(2, 2, 4), randn(2, 4, 3)]),
    ("cdist", tg.cdist, [randn(3, 2), randn(4, 2)]),
    ("cdist_p1", lambda a, b: tg.cdist(a, b, 1.0), [randn(3, 2), randn(4, 2) + 5]),
]


@pytest.mark.parametrize("name,fn,args", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_finite_differences(name: str, fn: Callable[..., Any], args: list[np.ndarray]) -> None:
    tg.testing.check_grads(fn, [tg.tensor(a) for a in args], order=1, modes=("rev",))


def test_results_without_gradient() -> None:
    x = tg.tensor([[1.0, 3.0], [2.0, 0.0]], requires_grad=True)
    for idx in (tg.cummax(x, 1).indices, tg.median(x, 0).indices, tg.kthvalue(x, 1).indices):
        assert idx.dtype == tg.int64 and not idx.requires_grad
    h = tg.heaviside(x, tg.tensor([0.5]))
    assert not h.requires_grad
    assert not tg.tril_indices(2, 2).requires_grad


def test_docstring_examples() -> None:
    import tapegrad.functions_more as module
    import tapegrad.nn.functional as F

    globs = {"np": np, "tg": tg, "F": F}
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(module, globs=globs):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_special_xlogy_and_logit_are_the_top_level_ones() -> None:
    x = tg.tensor([0.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 0.5], requires_grad=True)
    tg.special.xlogy(x, y).sum().backward()
    tx = torch.tensor([0.0, 2.0], requires_grad=True)
    ty = torch.tensor([3.0, 0.5], requires_grad=True)
    torch.special.xlogy(tx, ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)  # log(3) at x=0
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-15)
    p = tg.tensor([0.25, 0.5], requires_grad=True)
    assert tg.special.logit(p, eps=0.3).grad_fn.name() == "LogitBackward0"
