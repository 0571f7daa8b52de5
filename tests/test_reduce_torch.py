"""Elementwise functions and reductions beyond the op table: values, gradients, second
derivatives and node names against PyTorch in float64 (the tests marked ``torch``); gradients
at zeros, ties, kinks and bounds; NumPy's signatures and errors; float32, 0-d and empty
arrays; batching rules; the docstring examples.
"""

from __future__ import annotations

import doctest
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import batching
from tapegrad.ops import elementwise as ew
from tapegrad.ops import reduce as rd


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    return torch


def _grads(f: Callable[..., Any], xs: list[np.ndarray], v: np.ndarray | None = None):
    """Value of ``f`` on tensors and the gradients of ``<v, f>`` (``v`` random by default)."""
    leaves = [tg.tensor(x, requires_grad=True) for x in xs]
    out = f(*leaves)
    if v is None:
        v = np.random.default_rng(1).standard_normal(out.shape)
    (out * tg.tensor(np.asarray(v))).sum().backward()
    return out, [t.grad.numpy() for t in leaves], v


def _torch_grads(torch: Any, f: Callable[..., Any], xs: list[np.ndarray], v: np.ndarray):
    leaves = [torch.tensor(x, requires_grad=True) for x in xs]
    out = f(*leaves)
    (out * torch.tensor(v)).sum().backward()
    # PyTorch leaves no gradient where an operation has none (the 0-"norm").
    return out, [
        np.zeros(x.shape) if t.grad is None else t.grad.numpy() for t, x in zip(leaves, xs)
    ]


def _same_as_torch(
    torch: Any,
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    xs: list[np.ndarray],
    *,
    rtol: float = 1e-13,
    atol: float = 1e-14,
    name: bool = True,
) -> None:
    out, grads, v = _grads(ours, xs)
    tout, tgrads = _torch_grads(torch, theirs, xs, np.asarray(v))
    assert tuple(out.shape) == tuple(tout.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    for g, tgr in zip(grads, tgrads, strict=True):
        np.testing.assert_allclose(g, tgr, rtol=rtol, atol=atol)
    if name:
        assert out.grad_fn.name() == type(tout.grad_fn).__name__


def _torch_hessian(torch: Any, f: Callable[..., Any], x: np.ndarray) -> np.ndarray:
    return torch.autograd.functional.hessian(f, torch.tensor(x)).numpy()


# ------------------------------------------------------------------------------ elementwise

RNG = np.random.default_rng(0)
UNARY = [
    # (ours, torch's name, sample values)
    (ew.exp2, "exp2", RNG.uniform(-3, 3, (2, 3))),
    (ew.log2, "log2", RNG.uniform(0.1, 3, (2, 3))),
    (ew.log10, "log10", RNG.uniform(0.1, 3, (2, 3))),
    (ew.tan, "tan", RNG.uniform(-1.4, 1.4, (2, 3))),
    (ew.arcsin, "asin", RNG.uniform(-0.99, 0.99, (2, 3))),
    (ew.arccos, "acos", RNG.uniform(-0.99, 0.99, (2, 3))),
    (ew.arctan, "atan", RNG.uniform(-5, 5, (2, 3))),
    (ew.sinh, "sinh", RNG.uniform(-3, 3, (2, 3))),
    (ew.cosh, "cosh", RNG.uniform(-3, 3, (2, 3))),
    (ew.arcsinh, "asinh", np.array([-30.0, -3.0, 0.0, 1e-8, 2.0, 1e5])),
    (ew.arccosh, "acosh", RNG.uniform(1.01, 4, (2, 3))),
    (ew.arctanh, "atanh", RNG.uniform(-0.99, 0.99, (2, 3))),
    # Where both use the closed form of the derivative (|pi x| >= 1/4, and 0); nearer 0
    # PyTorch's cancels, ours takes the series (test_sinc_is_exact_at_and_around_zero).
    (ew.sinc, "sinc", np.array([-2.5, -1.0, -0.3, 0.0, 0.0796, 0.5, 1.0])),
]


@pytest.mark.torch
@pytest.mark.parametrize("ours, name, x", UNARY, ids=[u[1] for u in UNARY])
def test_unary_against_torch(torch, ours, name, x) -> None:
    _same_as_torch(torch, ours, getattr(torch, name), [x], rtol=1e-12, atol=1e-300)


@pytest.mark.torch
@pytest.mark.parametrize("ours, name, x", UNARY, ids=[u[1] for u in UNARY])
def test_unary_second_derivative_against_torch(torch, ours, name, x) -> None:
    if name == "sinc":
        x = x[x != 0]  # PyTorch's sinc rule masks 0; ours is exact there (below)
    ours_dd = tg.vmap(tg.grad(tg.grad(ours)))(x.ravel())
    t = torch.tensor(x.ravel(), requires_grad=True)
    (d,) = torch.autograd.grad(getattr(torch, name)(t).sum(), t, create_graph=True)
    (dd,) = torch.autograd.grad(d.sum(), t)
    np.testing.assert_allclose(ours_dd, dd.numpy(), rtol=1e-10, atol=1e-12)


def test_arcsinh_derivative_does_not_overflow() -> None:
    # 1 / sqrt(x**2 + 1) overflows x**2 (PyTorch gives 0); 1 / hypot(x, 1) = 1 / |x| here.
    x = np.array([-1e200, 1e300])
    np.testing.assert_allclose(tg.vmap(tg.grad(ew.arcsinh))(x), 1 / np.abs(x), rtol=1e-15)


def test_cbrt_values_and_derivatives() -> None:
    x = np.array([-8.0, -0.001, 0.125, 27.0])
    np.testing.assert_array_equal(ew.cbrt(x), np.cbrt(x))
    np.testing.assert_allclose(tg.vmap(tg.grad(ew.cbrt))(x), np.abs(x) ** (-2 / 3) / 3)
    # d2/dx2 x**(1/3) = -2/9 x**(-5/3)
    np.testing.assert_allclose(
        tg.vmap(tg.grad(tg.grad(ew.cbrt)))(x), -2 / 9 * np.sign(x) * np.abs(x) ** (-5 / 3)
    )
    with np.errstate(divide="ignore"):
        assert tg.grad(ew.cbrt)(np.array(0.0)) == np.inf


def test_sinc_is_exact_at_and_around_zero() -> None:
    # sinc(0) = 1, sinc'(0) = 0, sinc''(0) = -pi**2/3, sinc'''(0) = 0.
    zero = np.array(0.0)
    assert ew.sinc(zero) == 1.0
    assert tg.grad(ew.sinc)(zero) == 0.0
    np.testing.assert_allclose(tg.grad(tg.grad(ew.sinc))(zero), -(math.pi**2) / 3, rtol=1e-15)
    assert tg.grad(tg.grad(tg.grad(ew.sinc)))(zero) == 0.0
    # The series and the closed form agree where the rule switches between them.
    edge = 0.25 / math.pi
    x = edge * np.array([0.999, 1.001, 1.5, 3.0])
    closed = (np.cos(np.pi * x) - np.sinc(x)) / x
    np.testing.assert_allclose(tg.vmap(tg.grad(ew.sinc))(x), closed, rtol=1e-13)
    # Near 0 the closed form cancels; the series keeps full precision (sinc'(x) ~ -pi^2 x / 3).
    tiny = np.array([1e-9, -1e-6])
    np.testing.assert_allclose(tg.vmap(tg.grad(ew.sinc))(tiny), -(np.pi**2) * tiny / 3, rtol=1e-12)
    # Forward mode goes through the same rule.
    _, t = tg.jvp(ew.sinc, (np.array([0.0, 0.5]),), (np.ones(2),))
    np.testing.assert_allclose(t, [0.0, (np.cos(np.pi / 2) - np.sinc(0.5)) / 0.5])


BINARY = [
    (ew.arctan2, "atan2", (2, 3), (3,)),
    (ew.hypot, "hypot", (2, 1), (1, 4)),
    (ew.logaddexp, "logaddexp", (3,), ()),
]


@pytest.mark.torch
@pytest.mark.parametrize("ours, name, sa, sb", BINARY, ids=[b[1] for b in BINARY])
def test_binary_against_torch(torch, ours, name, sa, sb) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    _same_as_torch(torch, ours, getattr(torch, name), [a, b])
    # Large arguments: no overflow in hypot or logaddexp.
    if name != "atan2":
        big = [np.array([1e300, -800.0]), np.array([1e300, -801.0])]
        _same_as_torch(torch, ours, getattr(torch, name), big)


def test_arctan2_follows_numpy_argument_order() -> None:
    y, x = np.array([1.0, -1.0, 1.0]), np.array([0.0, -1.0, 2.0])
    np.testing.assert_array_equal(ew.arctan2(y, x), np.arctan2(y, x))
    gy, gx = tg.grad(lambda a, b: ew.arctan2(a, b).sum(), argnums=(0, 1))(y, x)
    r2 = x * x + y * y
    np.testing.assert_allclose(gy, x / r2)
    np.testing.assert_allclose(gx, -y / r2)
    # At the origin the angle jumps: no derivative, NaN (as PyTorch).
    with np.errstate(invalid="ignore"):
        assert np.isnan(tg.grad(lambda a: ew.arctan2(a, 0.0))(np.array(0.0)))


def test_hypot_has_the_zero_subgradient_at_the_origin() -> None:
    ga, gb = tg.grad(lambda a, b: ew.hypot(a, b).sum(), argnums=(0, 1))(
        np.array([0.0, 3.0]), np.array([0.0, 4.0])
    )
    np.testing.assert_array_equal(ga, [0.0, 0.6])
    np.testing.assert_array_equal(gb, [0.0, 0.8])
    _, t = tg.jvp(ew.hypot, (np.zeros(2), np.zeros(2)), (np.ones(2), np.ones(2)))
    np.testing.assert_array_equal(t, [0.0, 0.0])


def test_logaddexp_gradients_are_the_softmax_weights() -> None:
    a, b = np.array([0.0, 1000.0, -1000.0]), np.array([0.0, 0.0, 0.0])
    ga, gb = tg.grad(lambda u, w: ew.logaddexp(u, w).sum(), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(gb, [0.5, 0.0, 1.0])


# ------------------------------------------------------------------------------ clip


@pytest.mark.torch
def test_clip_with_scalar_bounds_against_torch(torch) -> None:
    x = np.array([-2.0, -1.0, -0.5, 0.0, 1.0, 1.5])
    _same_as_torch(torch, lambda t: ew.clip(t, -1.0, 1.0), lambda t: torch.clamp(t, -1.0, 1.0), [x])
    _same_as_torch(torch, lambda t: ew.clip(t, -1.0), lambda t: torch.clamp(t, min=-1.0), [x])
    _same_as_torch(torch, lambda t: ew.clip(t, max=0.0), lambda t: torch.clamp(t, max=0.0), [x])
    # Bounds equal to each other, and crossed (every value becomes the upper bound).
    _same_as_torch(torch, lambda t: ew.clip(t, 1.0, 1.0), lambda t: torch.clamp(t, 1.0, 1.0), [x])
    _same_as_torch(torch, lambda t: ew.clip(t, 1.0, -1.0), lambda t: torch.clamp(t, 1.0, -1.0), [x])


@pytest.mark.torch
def test_clip_with_tensor_bounds_against_torch(torch) -> None:
    x = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0], [0.5, 0.5, 0.5, 0.5, 0.5]])
    lo = np.array([-1.0, -1.0, 1.0, 1.0, -3.0])  # crossed bounds in the last three columns
    hi = np.array([[1.0], [0.5]])
    _same_as_torch(torch, ew.clip, torch.clamp, [x, lo, np.broadcast_to(hi, x.shape).copy()])
    _same_as_torch(torch, lambda a, b: ew.clip(a, b), lambda a, b: torch.clamp(a, min=b), [x, lo])
    _same_as_torch(
        torch, lambda a, b: ew.clip(a, None, b), lambda a, b: torch.clamp(a, max=b), [x, lo]
    )


def test_clip_gradient_is_one_at_the_bounds() -> None:
    x = np.array([-1.0, 1.0, 0.0, 2.0, -3.0])
    np.testing.assert_array_equal(
        tg.grad(lambda t: ew.clip(t, -1.0, 1.0).sum())(x), [1.0, 1.0, 1.0, 0.0, 0.0]
    )
    _, t = tg.jvp(lambda t: ew.clip(t, -1.0, 1.0), (x,), (np.ones(5),))
    np.testing.assert_array_equal(t, [1.0, 1.0, 1.0, 0.0, 0.0])


def test_clip_signature_and_errors() -> None:
    x = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(ew.clip(x, min=-1.0, max=1.0), np.clip(x, -1.0, 1.0))
    np.testing.assert_array_equal(ew.clip(x, None, None), x)
    with pytest.raises(ValueError, match="forbidden"):
        ew.clip(x, -1.0, 1.0, min=0.0)
    with pytest.raises(TypeError, match="out="):
        ew.clip(x, -1.0, 1.0, out=np.empty(3))
    xi = np.array([-3, 0, 4])
    assert ew.clip(xi, -1, 1).dtype == np.clip(xi, -1, 1).dtype
    t = tg.tensor(x, requires_grad=True)
    assert ew.clip(t, -1.0, 1.0).grad_fn.name() == "ClampBackward1"
    assert ew.clip(t, tg.tensor(np.zeros(3))).grad_fn.name() == "ClampBackward0"
    assert len(ew.clip(t, -1.0, 1.0).grad_fn.next_functions) == 1


# ------------------------------------------------------------------------------ prod


PROD_INPUTS = {
    "no-zero": np.array([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]]),
    "one-zero": np.array([[1.5, 0.0, 0.5], [3.0, 0.25, -1.0]]),
    "two-zeros": np.array([[0.0, 0.0, 0.5], [3.0, 0.0, -1.0]]),
    "all-zeros": np.zeros((2, 3)),
}


@pytest.mark.torch
@pytest.mark.parametrize("key", PROD_INPUTS)
def test_prod_against_torch(torch, key) -> None:
    x = PROD_INPUTS[key]
    _same_as_torch(torch, rd.prod, torch.prod, [x])
    _same_as_torch(torch, lambda t: rd.prod(t, 1), lambda t: torch.prod(t, 1), [x])
    _same_as_torch(
        torch, lambda t: rd.prod(t, 0, True), lambda t: torch.prod(t, 0, keepdim=True), [x]
    )
    for flat in (x.ravel(), x[1]):
        np.testing.assert_allclose(
            tg.hessian(rd.prod)(flat), _torch_hessian(torch, torch.prod, flat), atol=1e-15
        )


def test_prod_gradient_with_zeros() -> None:
    g = tg.grad(rd.prod)
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 5.0])), [0.0, 10.0, 0.0])
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 0.0, 5.0])), [0.0, 0.0, 0.0, 0.0])
    # Per lane: one lane with a zero, one with two, one without.
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(
        tg.grad(lambda a: rd.prod(a, axis=1).sum())(x),
        [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [6.0, 3.0, 2.0]],
    )
    _, t = tg.jvp(lambda a: rd.prod(a, axis=1), (x,), (np.ones((3, 3)),))
    np.testing.assert_array_equal(t, [6.0, 0.0, 11.0])
    # Exact Hessians: with two zeros only the pair of zeros has a mixed derivative.
    h = tg.hessian(rd.prod)(np.array([2.0, 0.0, 0.0, 5.0]))
    expected = np.zeros((4, 4))
    expected[1, 2] = expected[2, 1] = 10.0
    np.testing.assert_array_equal(h, expected)
    # Third derivatives at a point with three zeros.
    third = tg.jacfwd(tg.hessian(rd.prod))(np.array([0.0, 0.0, 0.0, 2.0]))
    assert third[0, 1, 2] == 2.0 and third[0, 1, 3] == 0.0


def test_prod_gradient_without_division_under_underflow() -> None:
    # The product underflows to 0 though no element is 0: out / x would give 0 / x = 0.
    x = np.array([1e-200, 1e-200, 3.0])
    np.testing.assert_allclose(tg.grad(rd.prod)(x), [3e-200, 3e-200, 0.0])
    # Denormal inputs: out / x loses digits; the products of the others keep them.
    x = np.array([5e-324, 2.5, 0.5])
    np.testing.assert_array_equal(tg.grad(rd.prod)(x), [x[1] * x[2], x[0] * x[2], x[0] * x[1]])
    # A product that overflows though the partials do not.
    x = np.array([1e200, 1e200, 1e-300])
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(tg.grad(rd.prod)(x), [1e-100, 1e-100, np.inf])
    # NaN stays NaN where the product of the others has it.
    np.testing.assert_array_equal(tg.grad(rd.prod)(np.array([np.nan, 2.0])), [2.0, np.nan])


def test_prod_of_empty_and_0d() -> None:
    e = np.zeros((0, 3))
    assert rd.prod(e).item() == 1.0
    np.testing.assert_array_equal(rd.prod(e, axis=0), np.ones(3))
    assert tg.grad(rd.prod)(e).shape == (0, 3)
    assert tg.grad(lambda a: rd.prod(a, axis=1).sum())(e).shape == (0, 3)
    assert tg.grad(rd.prod)(np.array(0.0)) == 1.0
    np.testing.assert_array_equal(tg.grad(lambda a: rd.prod(a, ()).sum())(np.zeros(2)), [1, 1])


# ------------------------------------------------------------------------------ max / min


@pytest.mark.torch
def test_extremes_split_ties_as_torch(torch) -> None:
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    _same_as_torch(torch, rd.amax, torch.amax, [x])
    _same_as_torch(torch, rd.amin, torch.amin, [x])
    _same_as_torch(torch, lambda t: rd.amax(t, 1), lambda t: torch.amax(t, 1), [x])
    _same_as_torch(torch, lambda t: rd.amin(t, (0, 1)), lambda t: torch.amin(t, (0, 1)), [x])
    _same_as_torch(torch, rd.max, lambda t: torch.amax(t), [x])
    _same_as_torch(torch, rd.min, lambda t: torch.amin(t), [x])


def test_max_and_min_are_numpy_names_of_amax_and_amin() -> None:
    assert rd.max is rd.amax and rd.min is rd.amin
    x = np.array([[3.0, 1.0], [0.0, 5.0]])
    np.testing.assert_array_equal(rd.max(x, axis=0), np.max(x, axis=0))
    np.testing.assert_array_equal(rd.min(x, axis=-1, keepdims=True), np.min(x, -1, keepdims=True))
    np.testing.assert_array_equal(tg.grad(rd.max)(x), [[0, 0], [0, 1]])


# ------------------------------------------------------------------------------ var / std

VAR_CASES = [
    # (axis for us, dim for torch, ddof, keepdims)
    (None, None, 0, False),
    (None, None, 1, False),
    (0, 0, 1, True),
    ((0, 2), (0, 2), 2, False),
    (-1, -1, 0, True),
]


@pytest.mark.torch
@pytest.mark.parametrize("axis, dim, ddof, keepdims", VAR_CASES)
def test_var_and_std_against_torch(torch, axis, dim, ddof, keepdims) -> None:
    x = np.random.default_rng(5).standard_normal((3, 4, 5))

    def theirs(name: str) -> Callable[..., Any]:
        return lambda t: getattr(torch, name)(t, dim=dim, correction=ddof, keepdim=keepdims)

    _same_as_torch(torch, lambda t: rd.var(t, axis, keepdims, ddof=ddof), theirs("var"), [x])
    _same_as_torch(torch, lambda t: rd.std(t, axis, keepdims, ddof=ddof), theirs("std"), [x])
    _same_as_torch(torch, lambda t: rd.std(t, axis, keepdims, correction=ddof), theirs("std"), [x])
    flat = x[0, 0]
    for name, ours in (("var", rd.var), ("std", rd.std)):
        np.testing.assert_allclose(
            tg.hessian(lambda t, ours=ours: ours(t, ddof=1))(flat),
            _torch_hessian(torch, lambda t, name=name: getattr(torch, name)(t), flat),
            rtol=1e-12,
            atol=1e-14,
        )


@pytest.mark.torch
def test_std_of_a_constant_lane_has_zero_gradient(torch) -> None:
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    _same_as_torch(torch, lambda t: rd.std(t, 1), lambda t: torch.std(t, 1, correction=0), [x])
    g = tg.grad(lambda a: rd.std(a, axis=1).sum())(x)
    np.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(tg.hessian(lambda a: rd.std(a))(x[0])))
    _, t = tg.jvp(lambda a: rd.std(a, axis=1), (x,), (np.ones((2, 3)),))
    np.testing.assert_allclose(t, [0.0, 0.0], atol=1e-15)


def test_var_signature_and_errors() -> None:
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(rd.var(x, 1, ddof=1), np.var(x, 1, ddof=1))
    np.testing.assert_allclose(
        rd.std(x, (0, 1), True, correction=1), np.std(x, (0, 1), ddof=1, keepdims=True)
    )
    with pytest.raises(ValueError, match="ddof and correction"):
        rd.var(x, ddof=1, correction=1)
    with pytest.raises(TypeError, match="out="):
        rd.std(x, out=np.empty(()))
    with pytest.raises(np.exceptions.AxisError):
        rd.var(x, 2)
    with pytest.raises(ValueError, match="duplicate"):
        rd.var(x, (0, -2))
    # ddof >= n: NumPy's inf / NaN, and so the gradient is not finite.
    with np.errstate(divide="ignore", invalid="ignore"), pytest.warns(RuntimeWarning):
        assert np.isinf(rd.var(np.array([1.0, 2.0]), ddof=2))
        assert not np.all(np.isfinite(tg.grad(lambda a: rd.var(a, ddof=2))(np.array([1.0, 2.0]))))
    assert rd.var(np.arange(4), dtype=np.float32).dtype == np.float32


# ------------------------------------------------------------------------------ norms

ORDS = [1, 2, np.inf, -np.inf, 0, 3, 0.5, 1.5, -1]


@pytest.mark.torch
@pytest.mark.parametrize("ord", ORDS, ids=str)
def test_norm_against_torch(torch, ord) -> None:
    x = np.array([[3.0, -4.0, 0.5, 1.0], [-1.0, 2.0, -2.0, 0.25]])
    vn = torch.linalg.vector_norm
    _same_as_torch(torch, lambda t: rd.norm(t, ord), lambda t: vn(t, ord), [x])
    _same_as_torch(torch, lambda t: rd.norm(t, ord, 1), lambda t: vn(t, ord, 1), [x])
    _same_as_torch(
        torch, lambda t: rd.norm(t, ord, (0, 1), True), lambda t: vn(t, ord, (0, 1), True), [x]
    )
    if ord not in (0, np.inf, -np.inf, 1):
        np.testing.assert_allclose(
            tg.hessian(lambda t: rd.norm(t, ord))(x[0]),
            _torch_hessian(torch, lambda t: vn(t, ord), x[0]),
            rtol=1e-12,
            atol=1e-14,
        )


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # |0|**p for p < 0
@pytest.mark.parametrize("ord", ORDS, ids=str)
def test_norm_at_zero_and_ties_against_torch(torch, ord) -> None:
    vn = torch.linalg.vector_norm
    # The zero vector (gradient 0, not NaN), a lane with zeros, tied magnitudes.
    x = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, -2.0]])
    out, grads, v = _grads(lambda t: rd.norm(t, ord, 1), [x])
    tout, tgrads = _torch_grads(torch, lambda t: vn(t, ord, 1), [x], np.asarray(v))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-14)
    if ord in (0.5, -1):  # |x|**(p-1) at a zero element: PyTorch's masks differ from p < 1's
        grads[0][1, 0], tgrads[0][1, 0] = 0.0, 0.0
    np.testing.assert_allclose(grads[0], tgrads[0], rtol=1e-14, atol=1e-15)
    assert np.all(np.isfinite(grads[0][0]))


@pytest.mark.parametrize("ord", [None, 1, 3, 1.5, np.inf], ids=str)
def test_norm_gradient_at_the_zero_vector(ord) -> None:
    zero = np.zeros(3)
    np.testing.assert_array_equal(tg.grad(lambda a: rd.norm(a, ord))(zero), zero)
    _, t = tg.jvp(lambda a: rd.norm(a, ord), (zero,), (np.ones(3),))
    assert t == 0.0


def test_norm_signature_and_errors() -> None:
    x = np.array([[3.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(rd.norm(x), np.linalg.norm(x))
    np.testing.assert_allclose(rd.norm(x, "fro"), np.linalg.norm(x, "fro"))
    np.testing.assert_allclose(
        rd.norm(x, 1, axis=-1, keepdims=True),
        np.linalg.vector_norm(x, ord=1, axis=-1, keepdims=True),
    )
    np.testing.assert_allclose(
        rd.vector_norm(x, ord=np.inf, axis=(0, 1)),
        np.linalg.vector_norm(x, ord=np.inf, axis=(0, 1)),
    )
    assert rd.norm(np.array([3, 4])).dtype == np.float64
    assert rd.norm(np.zeros((0, 2)), np.inf, axis=0).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="Invalid norm order 'nuc' for vectors"):
        rd.norm(x, "nuc")
    with pytest.raises(TypeError, match="out="):
        rd.norm(x, out=np.empty(()))
    t = tg.tensor(x, requires_grad=True)
    assert rd.norm(t).grad_fn.name() == "LinalgVectorNormBackward0"


# ------------------------------------------------------------------------------ scans

SCAN_INPUTS = {
    "no-zero": np.array([[1.5, -2.0, 0.5, 2.0], [3.0, 0.25, -1.0, 0.5]]),
    "one-zero": np.array([[1.5, 0.0, 0.5, 2.0], [0.0, 0.25, -1.0, 0.5]]),
    "two-zeros": np.array([[0.0, 2.0, 0.0, 2.0], [3.0, 0.0, 0.0, 0.5]]),
    "last-zero": np.array([[1.5, 2.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]]),
}


@pytest.mark.torch
@pytest.mark.parametrize("key", SCAN_INPUTS)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scans_against_torch(torch, name, key) -> None:
    x = SCAN_INPUTS[key]
    ours, theirs = getattr(rd, name), getattr(torch, name)
    for axis in (0, 1, -1):
        _same_as_torch(torch, lambda t, a=axis: ours(t, a), lambda t, a=axis: theirs(t, a), [x])
    w = np.random.default_rng(2).standard_normal(x.shape[1])
    np.testing.assert_allclose(
        tg.hessian(lambda t: (ours(t, 0) * w).sum())(x[0]),
        _torch_hessian(torch, lambda t: (theirs(t, 0) * torch.tensor(w)).sum(), x[0]),
        atol=1e-14,
    )


@pytest.mark.torch
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("key", SCAN_INPUTS)
def test_cumprod_forward_mode_against_torch(torch, key, axis) -> None:
    from torch.func import jvp as torch_jvp

    x = SCAN_INPUTS[key]
    u = np.random.default_rng(4).standard_normal(x.shape)

    def ours(a: Any) -> Any:
        return rd.cumprod(a, axis)

    def theirs(a: Any) -> Any:
        return torch.cumprod(a, axis)

    _, t = tg.jvp(ours, (x,), (u,))
    _, tt = torch_jvp(theirs, (torch.tensor(x),), (torch.tensor(u),))
    np.testing.assert_allclose(t, tt.numpy(), atol=1e-14)


def _cumprod_second_derivatives(x: np.ndarray, axis: int) -> np.ndarray:
    """``d2 out[k] / dx[i] dx[j] = prod_{l <= k, l != i, j} x[l]`` along ``axis`` (i != j)."""
    xt = np.moveaxis(x, axis, -1)
    lanes, n = xt.reshape(-1, xt.shape[-1]), xt.shape[-1]
    h = np.zeros((lanes.shape[0], n) * 3)
    for r, lane in enumerate(lanes):
        for k in range(n):
            for i in range(k + 1):
                for j in range(k + 1):
                    if i != j:
                        rest = [lane[m] for m in range(k + 1) if m not in (i, j)]
                        h[r, k, r, i, r, j] = np.prod(rest)
    h = h.reshape(xt.shape * 3)
    # Put ``axis`` back in each of the three index groups.
    nd = x.ndim
    order = []
    for g in range(3):
        group = list(range(g * nd, g * nd + nd - 1))
        group.insert(axis, g * nd + nd - 1)
        order += group
    return h.transpose(order)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("key", SCAN_INPUTS)
def test_cumprod_second_derivatives_in_both_modes(key, axis) -> None:
    # PyTorch's forward-over-forward mode is not exact at zeros (torch.func.jacfwd twice
    # gives wrong entries), so the reference is the closed form.
    x = SCAN_INPUTS[key]
    expected = _cumprod_second_derivatives(x, axis)

    def ours(a: Any) -> Any:
        return rd.cumprod(a, axis)

    np.testing.assert_allclose(tg.jacfwd(tg.jacfwd(ours))(x), expected, atol=1e-14)
    np.testing.assert_allclose(tg.jacrev(tg.jacrev(ours))(x), expected, atol=1e-14)
    np.testing.assert_allclose(tg.jacfwd(tg.jacrev(ours))(x), expected, atol=1e-14)


def test_cumprod_gradient_with_zeros() -> None:
    g = tg.grad(lambda a: rd.cumprod(a).sum())
    # sum(cumprod) = x0 + x0 x1 + x0 x1 x2 + ...
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 3.0])), [1.0, 8.0, 0.0])
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 0.0, 5.0])), [1.0, 2.0, 0.0, 0.0])
    np.testing.assert_array_equal(g(np.array([0.0, 4.0])), [5.0, 0.0])
    # The exact Hessian with two zeros (an O(n**2) rule, used when the gradient is recorded).
    w = np.array([1.0, 2.0, 3.0, 4.0])
    h = tg.hessian(lambda a: (rd.cumprod(a) * w).sum())(np.array([2.0, 0.0, 0.0, 5.0]))
    np.testing.assert_array_equal(h, [[0, 2, 0, 0], [2, 0, 46, 0], [0, 46, 0, 0], [0, 0, 0, 0]])


def test_scan_signature_and_shapes() -> None:
    x = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(rd.cumsum(x), np.cumsum(x))
    np.testing.assert_array_equal(rd.cumprod(x, -2), np.cumprod(x, -2))
    np.testing.assert_array_equal(rd.cumsum(np.array(3.0)), np.cumsum(np.array(3.0)))
    np.testing.assert_array_equal(rd.cumsum(np.array(3.0), 0), np.cumsum(np.array(3.0), 0))
    assert rd.cumsum(np.zeros((0, 2)), 0).shape == (0, 2)
    assert tg.grad(lambda a: rd.cumprod(a, 0).sum())(np.zeros((0, 2))).shape == (0, 2)
    assert rd.cumsum(np.arange(3), dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(
        tg.grad(lambda a: rd.cumsum(a, 1)[:, 0].sum())(x), [[1, 0, 0], [1, 0, 0]]
    )
    with pytest.raises(np.exceptions.AxisError):
        rd.cumsum(x, 2)
    with pytest.raises(TypeError, match="out="):
        rd.cumprod(x, 0, None, np.empty_like(x))
    t = tg.tensor(x, requires_grad=True)
    assert rd.cumsum(t, 0).grad_fn.name() == "CumsumBackward0"
    assert rd.cumprod(t, 0).grad_fn.name() == "CumprodBackward0"


# ------------------------------------------------------------------------------ common


FLOAT32_CASES: list[tuple[str, Callable[..., Any], int]] = [
    ("cbrt", ew.cbrt, 1),
    ("exp2", ew.exp2, 1),
    ("log2", lambda x: ew.log2(ew.abs(x) + 1), 1),
    ("log10", lambda x: ew.log10(ew.abs(x) + 1), 1),
    ("tan", ew.tan, 1),
    ("arcsin", lambda x: ew.arcsin(x * 0.25), 1),
    ("arccos", lambda x: ew.arccos(x * 0.25), 1),
    ("arctan", ew.arctan, 1),
    ("sinh", ew.sinh, 1),
    ("cosh", ew.cosh, 1),
    ("arcsinh", ew.arcsinh, 1),
    ("arccosh", lambda x: ew.arccosh(ew.abs(x) + 2), 1),
    ("arctanh", lambda x: ew.arctanh(x * 0.25), 1),
    ("sinc", ew.sinc, 1),
    ("clip", lambda x: ew.clip(x, -0.5, 0.5), 1),
    ("arctan2", ew.arctan2, 2),
    ("hypot", ew.hypot, 2),
    ("logaddexp", ew.logaddexp, 2),
    ("clip_tensor", lambda x, lo: ew.clip(x, lo, 2.0), 2),
    ("prod", lambda x: rd.prod(x, 0), 1),
    ("var", lambda x: rd.var(x, 1, ddof=1), 1),
    ("std", lambda x: rd.std(x, (0, 1)), 1),
    ("norm", lambda x: rd.norm(x, 3, 1), 1),
    ("norm_inf", lambda x: rd.norm(x, np.inf), 1),
    ("cumsum", lambda x: rd.cumsum(x, 1), 1),
    ("cumprod", lambda x: rd.cumprod(x, 0), 1),
]


@pytest.mark.parametrize("name, f, nargs", FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_float32_in_float32_out(name, f, nargs) -> None:
    rng = np.random.default_rng(6)
    xs = [rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32) for _ in range(nargs)]
    out = f(*xs)
    assert out.dtype == np.float32, out.dtype
    grads = tg.grad(lambda *a: f(*a).sum(), argnums=tuple(range(nargs)))(*xs)
    assert all(g.dtype == np.float32 for g in grads)
    _, t = tg.jvp(f, tuple(xs), tuple(np.ones_like(x) for x in xs))
    assert t.dtype == np.float32
    leaves = [tg.tensor(x, requires_grad=True) for x in xs]
    f(*leaves).sum().backward()
    assert all(leaf.grad.dtype == np.float32 for leaf in leaves)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: rd.prod(x, out=x),
        lambda x: rd.sum(x, out=x),
        lambda x: rd.mean(x, out=x),
        lambda x: rd.amax(x, out=x),
        lambda x: rd.amin(x, out=x),
        lambda x: rd.var(x, out=x),
        lambda x: rd.logsumexp(x, out=x),
        lambda x: rd.cumsum(x, out=x),
    ],
)
def test_out_is_refused(f) -> None:
    with pytest.raises(TypeError, match="out= is not supported"):
        f(np.ones(3))


def test_dtype_argument_casts_first() -> None:
    x = np.arange(1, 4)
    assert rd.sum(x, dtype=np.float32).dtype == np.float32
    assert rd.mean(x, dtype=np.float32).dtype == np.float32
    assert rd.prod(x, dtype=np.float64).dtype == np.float64
    g = tg.grad(lambda a: rd.prod(a, dtype=np.float64))(np.array([1.0, 2.0, 3.0], np.float32))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [6.0, 3.0, 2.0])


@pytest.mark.torch
def test_node_names_match_torch(torch) -> None:
    x = np.array([0.5, 0.25])
    cases = [
        (ew.cbrt, None, "CbrtBackward0"),
        (lambda t: rd.prod(t), lambda t: t.prod(), None),
        (lambda t: rd.prod(t, 0), lambda t: t.prod(0), None),
        (lambda t: rd.var(t), lambda t: t.var(), None),
        (lambda t: rd.std(t, 0), lambda t: t.std(0), None),
        (lambda t: rd.norm(t), lambda t: t.norm(), None),
        (lambda t: rd.cumsum(t, 0), lambda t: t.cumsum(0), None),
        (lambda t: rd.cumprod(t, 0), lambda t: t.cumprod(0), None),
        (lambda t: ew.logaddexp(t, t), lambda t: torch.logaddexp(t, t), None),
    ]
    for ours, theirs, name in cases:
        out = ours(tg.tensor(x, requires_grad=True))
        if name is None:
            name = type(theirs(torch.tensor(x, requires_grad=True)).grad_fn).__name__
        assert out.grad_fn.name() == name


@pytest.mark.parametrize("prim", list(rd.BATCHING_RULES), ids=lambda p: p.name)
def test_batching_rules_are_registered(prim) -> None:
    assert batching.rule_for(prim) is rd.BATCHING_RULES[prim]


@pytest.mark.parametrize(
    "f",
    [ew.tan, ew.arcsin, ew.sinc, lambda a: ew.hypot(a, 1.0), lambda a: ew.clip(a, 0.6)],
    ids=["tan", "arcsin", "sinc", "hypot", "clip"],
)
def test_new_elementwise_primitives_batch(f) -> None:
    x = np.random.default_rng(8).uniform(0.5, 0.9, (4, 3))

    def total(a: Any) -> Any:
        return f(a).sum()

    np.testing.assert_allclose(tg.vmap(f, in_axes=1, out_axes=1)(x), f(x))
    np.testing.assert_allclose(tg.vmap(tg.grad(total))(x), tg.grad(total)(x))


@pytest.mark.parametrize(
    "f",
    [
        lambda a: rd.prod(a, 0),
        lambda a: rd.var(a, -1, True, ddof=1),
        lambda a: rd.std(a),
        lambda a: rd.norm(a, 3, (0, 1)),
        lambda a: rd.cumsum(a, 1),
        lambda a: rd.cumprod(a, -1),
    ],
    ids=["prod", "var", "std", "norm", "cumsum", "cumprod"],
)
def test_reductions_batch_along_any_axis(f) -> None:
    x = np.random.default_rng(9).uniform(0.5, 1.5, (3, 4, 5))

    def total(a: Any) -> Any:
        return f(a).sum()

    ref = np.stack([f(x[:, i]) for i in range(4)])
    np.testing.assert_allclose(tg.vmap(f, in_axes=1)(x), ref, rtol=1e-13)
    g_ref = np.stack([tg.grad(total)(x[:, i]) for i in range(4)])
    np.testing.assert_allclose(tg.vmap(tg.grad(total), in_axes=1)(x), g_ref, rtol=1e-12)


def _docstring_tests(module: Any, names: list[str]) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for name in names:
        fn = getattr(module, name)
        tests.extend(
            finder.find(fn, f"{module.__name__}.{name}", module=False, globs={"np": np, "tg": tg})
        )
    return tests


ELEMENTWISE_NAMES = [
    "cbrt",
    "exp2",
    "log2",
    "log10",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "sinh",
    "cosh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "hypot",
    "logaddexp",
    "sinc",
    "clip",
]
REDUCE_NAMES = [
    "sum",
    "mean",
    "prod",
    "amax",
    "amin",
    "var",
    "std",
    "norm",
    "vector_norm",
    "logsumexp",
    "cumsum",
    "cumprod",
]


@pytest.mark.parametrize(
    "module, names", [(ew, ELEMENTWISE_NAMES), (rd, REDUCE_NAMES)], ids=["elementwise", "reduce"]
)
def test_docstring_examples(module, names) -> None:
    tests = _docstring_tests(module, names)
    assert len(tests) == len(names), "every public function has an example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    assert runner.failures == 0


def test_mean_values_is_numpys_mean_bit_for_bit():
    """The forward of ``mean`` (and of the mean-reduced losses) skips np.mean's Python layers
    for float32/float64; values, dtypes, shapes and result types stay NumPy's."""
    import itertools
    import warnings

    from tapegrad.ops.reduce import mean_values

    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64, np.float16, np.int64, np.complex128):
        for shape in [(), (1,), (7,), (3, 5), (4, 1, 6), (2, 3, 4), (0, 3)]:
            x = (rng.standard_normal(shape) * 10).astype(dt)
            nd = len(shape)
            axes = [None] + [c for r in range(nd + 1) for c in itertools.combinations(range(nd), r)]
            for axis, keepdims in itertools.product(axes, (False, True)):
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)  # means of empty slices
                    want = np.mean(x, axis=axis, keepdims=keepdims)
                    got = mean_values(np, x, axis, keepdims)
                assert type(got) is type(want)
                assert np.asarray(got).dtype == np.asarray(want).dtype
                np.testing.assert_array_equal(got, want)


def test_sum_forward_and_restore_are_numpys_bit_for_bit():
    """``sum`` runs ``np.add.reduce`` on NumPy arrays, and the reductions' rules broadcast
    their cotangent back with a hand-made view: both must be exactly what ``np.sum`` and
    ``np.broadcast_to`` give (values, dtypes, types), the view read-only and sharing memory."""
    import itertools

    from tapegrad.ops.reduce import SUM, _restore, normalize_axis

    rng = np.random.default_rng(1)
    for dt in (np.float64, np.float32, np.float16, np.int8, np.uint8, np.bool_, np.complex64):
        for shape in [(), (1,), (7,), (3, 5), (4, 1, 6), (2, 3, 4), (0, 3)]:
            x = (rng.standard_normal(shape) * 4).astype(dt)
            nd = len(shape)
            axes = [c for r in range(nd + 1) for c in itertools.combinations(range(nd), r)]
            for axis, keepdims in itertools.product(axes, (False, True)):
                axis = normalize_axis(axis, nd)
                want = np.sum(x, axis=axis, keepdims=keepdims)
                got = SUM.fwd(np, x, axis, keepdims, shape)
                assert type(got) is type(want) and got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
                g = np.asarray(want)
                kept = tuple(1 if i in axis else n for i, n in enumerate(shape))
                back = _restore(g, shape, axis, keepdims)
                expected = np.broadcast_to(g if keepdims else g.reshape(kept), shape)
                assert back.shape == shape and back.dtype == g.dtype
                np.testing.assert_array_equal(back, expected)
                assert np.shares_memory(back, g) or back.size == 0
                if any(k == 1 and n != 1 for k, n in zip(kept, shape)):
                    assert not back.flags.writeable  # a broadcast: nothing writes through it
    # A cotangent that is not contiguous takes NumPy's own broadcast_to.
    g = np.arange(6.0).reshape(3, 2).T[:, :1]
    np.testing.assert_array_equal(_restore(g, (2, 4), (1,), True), np.broadcast_to(g, (2, 4)))


def test_broadcast_view_is_numpys_broadcast_to():
    from tapegrad.ops.shape import broadcast_view

    rng = np.random.default_rng(2)
    cases = [
        ((), (4,)),
        ((), (2, 3)),
        ((3,), (2, 3)),
        ((1,), (5,)),
        ((2, 1), (2, 4)),
        ((1, 3), (4, 2, 3)),
        ((4, 1, 1), (2, 4, 3, 5)),
        ((2, 3), (2, 3)),
        ((0,), (3, 0)),
    ]
    for dt in (np.float64, np.float32, np.complex128, np.int32, np.bool_):
        for src, shape in cases:
            x = np.asarray(rng.standard_normal(src) * 3).astype(dt)
            got, want = broadcast_view(x, shape), np.broadcast_to(x, shape)
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
            if src != shape:
                assert not got.flags.writeable and (x.size == 0 or np.shares_memory(got, x))
    strided = np.arange(8.0)[::2]  # not contiguous: NumPy's own broadcast_to
    np.testing.assert_array_equal(broadcast_view(strided, (3, 4)), np.broadcast_to(strided, (3, 4)))
