"""Reductions: sum, mean, prod, max/min (ties split evenly), var, std, vector norms,
logsumexp, and the scans cumsum and cumprod.

Each reduction takes NumPy's ``axis`` (int, tuple or ``None``, negative allowed) and
``keepdims``; the binding functions normalise ``axis`` to a sorted tuple of non-negative ints,
so rules can restore reduced axes with one reshape. Positionally they take
``(x, axis, keepdims)``; NumPy's other parameters (``dtype``, ``ddof``, ``out``) are keywords
with NumPy's names. ``out=`` is refused with a ``TypeError``: results are always new arrays.

Zeros are the delicate case of products. ``prod`` and ``cumprod`` differentiate exactly at
inputs with zeros (as PyTorch does; dividing by the input would give ``0 / 0``), and so do
their higher derivatives: where dividing by the input would be inexact (zeros, denormals,
underflow) or is about to be differentiated again, their rules form the products they need
by scans that only multiply and add, ``O(n log n)`` work along the axis.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from ..backend import namespace
from ..primitive import OUT, Primitive, bind
from ..replay.trace import any_true, is_traced
from ..tensor import Tensor
from .elementwise import _raw, equal, exp, power, sign, subtract, where
from .elementwise import abs as _abs
from .shape import astype, expand_to, reshape, transpose

__all__ = [
    "sum",
    "mean",
    "prod",
    "amax",
    "amin",
    "max",
    "min",
    "var",
    "std",
    "norm",
    "vector_norm",
    "logsumexp",
    "cumsum",
    "cumprod",
    "normalize_axis",
]


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints; ``None`` means every axis.

    Raises NumPy's ``AxisError`` (a ``ValueError`` and ``IndexError``) when out of range.
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        axes = [np.lib.array_utils.normalize_axis_index(int(a), ndim) for a in axis]
        if len(set(axes)) != len(axes):
            raise ValueError("duplicate value in 'axis'")
        return tuple(sorted(axes))
    return (np.lib.array_utils.normalize_axis_index(int(axis), ndim),)


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` as an index in ``[0, ndim)``, a 0-d shape counting as one dimension, with
    PyTorch's ``IndexError`` when out of range (``normalize_axis`` raises NumPy's).

    >>> wrap_dim(-1, 3)
    2
    """
    n = ndim if ndim > 1 else 1
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _restore(g: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the input's ``shape``."""
    if not keepdims and axes and len(axes) < len(shape):
        # Put the reduced axes back as 1s (a full reduction's 0-d cotangent needs none).
        kept = _kept_shape(shape, axes)
        g = g.reshape(kept) if g.__class__ is np.ndarray else reshape(g, kept)
    return expand_to(g, shape)


def _sum_name(params: Any) -> str:
    return "SumBackward1" if params.get("dim_given") else "SumBackward0"


def _mean_name(params: Any) -> str:
    return "MeanBackward1" if params.get("dim_given") else "MeanBackward0"


def _sum_fwd(
    xp: Any, x: Any, axis: Any, keepdims: bool, shape: Any, dim_given: bool = False
) -> Any:
    if x.__class__ is np.ndarray:  # np.sum's own Python layers cost as much as a small sum
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return xp.sum(x, axis=axis, keepdims=keepdims)


SUM = Primitive(
    "sum",
    _sum_fwd,
    (lambda g, x, out, axis, keepdims, shape, dim_given=False: _restore(g, shape, axis, keepdims),),
    lambda t, x, out, axis, keepdims, shape, dim_given=False: sum(t[0], axis, keepdims),
    uses=((),),
    grad_fn=_sum_name,
)


def _mean_fwd(
    xp: Any, x: Any, axis: Any, keepdims: bool, shape: Any, dim_given: bool = False
) -> Any:
    return mean_values(xp, x, axis, keepdims)


def mean_values(xp: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``xp.mean(x, axis, keepdims=keepdims)`` on raw arrays (``axis`` a tuple or ``None``).

    For float32 and float64 NumPy arrays it is NumPy's own sum and division without the
    Python layers of ``np.mean``, which dominate on small arrays (losses, every step).
    """
    if x.__class__ is np.ndarray and x.dtype in _SUM_THEN_DIVIDE:
        n = x.size if axis is None else _count(x.shape, axis)
        if n:
            return _add_reduce(x, axis, None, None, keepdims) / n  # (``x.sum``'s own call)
    return xp.mean(x, axis=axis, keepdims=keepdims)


_SUM_THEN_DIVIDE = (np.dtype(np.float32), np.dtype(np.float64))
_add_reduce = np.add.reduce


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


MEAN = Primitive(
    "mean",
    _mean_fwd,
    (
        lambda g, x, out, axis, keepdims, shape, dim_given=False: _restore(
            g / _count(shape, axis), shape, axis, keepdims
        ),
    ),
    lambda t, x, out, axis, keepdims, shape, dim_given=False: mean(t[0], axis, keepdims),
    uses=((),),
    grad_fn=_mean_name,
)


def _extreme_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, **_: Any) -> Any:
    """Cotangent of max/min over ``axis``: shared evenly among the tied extreme elements."""
    o = out if keepdims else reshape(out, _kept_shape(shape, axis))
    mask = equal(x, o)
    raw_mask = mask.data if hasattr(mask, "_slot") else mask
    weights = raw_mask / raw_mask.sum(axis=axis, keepdims=True)
    weights = weights.astype(g.dtype, copy=False)
    return _restore(g, shape, axis, keepdims) * weights


def _extreme_jvp(t: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, **_: Any) -> Any:
    o = out if keepdims else reshape(out, _kept_shape(shape, axis))
    mask = equal(x, o)
    raw_mask = mask.data if hasattr(mask, "_slot") else mask
    weights = (raw_mask / raw_mask.sum(axis=axis, keepdims=True)).astype(t[0].dtype, copy=False)
    return sum(t[0] * weights, axis, keepdims)


def _amax_name(params: Any) -> str:
    return params.get("name", "AmaxBackward0")


AMAX = Primitive(
    "amax",
    lambda xp, x, axis, keepdims, shape, name=None: xp.max(x, axis=axis, keepdims=keepdims),
    (_extreme_vjp,),
    _extreme_jvp,
    uses=((0, OUT),),
    grad_fn=lambda p: p.get("name") or "AmaxBackward0",
)
AMIN = Primitive(
    "amin",
    lambda xp, x, axis, keepdims, shape, name=None: xp.min(x, axis=axis, keepdims=keepdims),
    (_extreme_vjp,),
    _extreme_jvp,
    uses=((0, OUT),),
    grad_fn=lambda p: p.get("name") or "AminBackward0",
)


def _logsumexp_fwd(xp: Any, x: Any, axis: Any, keepdims: bool, shape: Any) -> Any:
    if x.size == 0:
        return xp.log(xp.sum(xp.exp(x), axis=axis, keepdims=keepdims))
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else xp.squeeze(s, axis=axis)


def _logsumexp_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any) -> Any:
    o = out if keepdims else reshape(out, _kept_shape(shape, axis))
    return _restore(g, shape, axis, keepdims) * exp(subtract(x, o))


def _logsumexp_jvp(t: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any) -> Any:
    o = out if keepdims else reshape(out, _kept_shape(shape, axis))
    return sum(t[0] * exp(subtract(x, o)), axis, keepdims)


LOGSUMEXP = Primitive(
    "logsumexp",
    _logsumexp_fwd,
    (_logsumexp_vjp,),
    _logsumexp_jvp,
    uses=((0, OUT),),
    grad_fn="LogsumexpBackward0",
)


# ---------------------------------------------------------------------- prod


def _kept(out: Any, shape: tuple[int, ...], axis: tuple[int, ...], keepdims: bool) -> Any:
    """A reduction's output with the reduced axes kept (as length-1 axes)."""
    return out if keepdims else reshape(out, _kept_shape(shape, axis))


def _prod_partials(x: Any, out: Any, axis: Any, keepdims: bool, shape: Any) -> Any:
    """``d prod / d x_i``: the product of the other elements of ``x_i``'s lane, shaped like ``x``.

    ``out / x`` where that is accurate: plain arrays (a first derivative) whose products are all
    normal and finite. With a zero, an underflow or an overflow in a lane it is not (``0 / 0``,
    or the lost digits of a denormal), and when the rule is recorded its derivative
    ``1/x - out/x**2`` would cancel; then the products are formed without division (see
    :func:`_products_of_others`).
    """
    o = _kept(out, shape, axis, keepdims)
    if not _is_tensor(x) and _all_normal(o):
        return o / x
    return _products_of_others(x, axis, shape)


def _products_of_others(x: Any, axis: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """For each element, the product of the other elements of its lane over ``axis``: the
    exclusive products from the lane's start times those from its end. Only products, so
    exact with zeros and denormals, and so are its derivatives."""
    nd = len(shape)
    kept = tuple(a for a in range(nd) if a not in axis)
    perm = kept + tuple(axis)
    n = _count(shape, axis)
    m = _count(shape, kept)
    if n == 0 or m == 0:
        return x * 0
    identity = perm == tuple(range(nd))
    y = reshape(x if identity else transpose(x, perm), (m, n))
    others = _exclusive_products(y, 1, 1) * _exclusive_products(y, 1, -1)
    others = reshape(others, tuple(shape[a] for a in perm))
    return others if identity else transpose(others, tuple(int(i) for i in np.argsort(perm)))


def _prod_name(params: Any) -> str:
    return "ProdBackward1" if params.get("dim_given") else "ProdBackward0"


PROD = Primitive(
    "prod",
    lambda xp, x, axis, keepdims, shape, dim_given=False: xp.prod(x, axis=axis, keepdims=keepdims),
    (
        lambda g, x, out, axis, keepdims, shape, dim_given=False: (
            _restore(g, shape, axis, keepdims) * _prod_partials(x, out, axis, keepdims, shape)
        ),
    ),
    lambda t, x, out, axis, keepdims, shape, dim_given=False: sum(
        t[0] * _prod_partials(x, out, axis, keepdims, shape), axis, keepdims
    ),
    uses=((0, OUT),),
    grad_fn=_prod_name,
)

# ---------------------------------------------------------------------- var, std


def _dof(shape: tuple[int, ...], axis: tuple[int, ...], ddof: Any) -> Any:
    """NumPy's divisor of a variance: ``max(n - ddof, 0)``."""
    return builtins.max(_count(shape, axis) - ddof, 0)


def _scale(numerator: float, divisor: Any) -> float:
    """``numerator / divisor`` as a Python float (weak: keeps float32), ``inf`` for 0."""
    return numerator / divisor if divisor else math.inf


def _centred(x: Any, axis: tuple[int, ...]) -> Any:
    return x - mean(x, axis, True)


def _var_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, ddof: Any) -> Any:
    scale = _scale(2.0, _dof(shape, axis, ddof))
    return _restore(g, shape, axis, keepdims) * (_centred(x, axis) * scale)


def _var_jvp(t: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, ddof: Any) -> Any:
    scale = _scale(2.0, _dof(shape, axis, ddof))
    return sum(t[0] * _centred(x, axis), axis, keepdims) * scale


VAR = Primitive(
    "var",
    lambda xp, x, axis, keepdims, shape, ddof: xp.var(x, axis=axis, ddof=ddof, keepdims=keepdims),
    (_var_vjp,),
    _var_jvp,
    uses=((0,),),
    grad_fn="VarBackward0",
)


def _over_std(v: Any, out: Any) -> Any:
    """``v / out``, 0 where ``out`` is 0 (a constant lane: PyTorch's choice of subgradient)."""
    zero = _raw(equal(out, 0))
    if not any_true(zero):
        return v / out
    return where(zero, 0, v / where(zero, 1, out))


def _std_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, ddof: Any) -> Any:
    scale = _scale(1.0, _dof(shape, axis, ddof))
    g = _restore(_over_std(g, out), shape, axis, keepdims)
    return g * (_centred(x, axis) * scale)


def _std_jvp(t: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, ddof: Any) -> Any:
    scale = _scale(1.0, _dof(shape, axis, ddof))
    return _over_std(sum(t[0] * _centred(x, axis), axis, keepdims) * scale, out)


STD = Primitive(
    "std",
    lambda xp, x, axis, keepdims, shape, ddof: xp.std(x, axis=axis, ddof=ddof, keepdims=keepdims),
    (_std_vjp,),
    _std_jvp,
    uses=((0, OUT),),
    grad_fn="StdBackward0",
)

# ---------------------------------------------------------------------- vector norms


def _norm_fwd(xp: Any, x: Any, axis: Any, keepdims: bool, shape: Any, ord: float) -> Any:
    a = xp.abs(x)
    if ord == 2:
        return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=keepdims))
    if ord == 1:
        return xp.sum(a, axis=axis, keepdims=keepdims)
    if ord == math.inf:
        if _count(shape, axis) == 0:  # NumPy: the max-norm of nothing is 0
            return xp.sum(a, axis=axis, keepdims=keepdims)
        return xp.max(a, axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return xp.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return xp.sum(a != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    return xp.sum(a**ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _norm_partials(x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, ord: float) -> Any:
    """``d norm / d x``, shaped like ``x``; PyTorch's subgradients where the norm has a kink."""
    o = _kept(out, shape, axis, keepdims)
    if ord == 2:
        # x / norm, and 0 at the zero vector rather than 0 / 0.
        zero = _raw(equal(o, 0))
        if not any_true(zero):
            return x / o
        return where(zero, 0, x / where(zero, 1, o))
    if ord == 1:
        return sign(x)
    if ord == 0:
        return x * 0
    if math.isinf(ord):
        # The extreme magnitudes share the gradient evenly, as amax/amin do.
        xr = _raw(x)
        hit = namespace(xr).abs(xr) == _raw(o)
        weights = (hit / hit.sum(axis=axis, keepdims=True)).astype(xr.dtype, copy=False)
        return sign(x) * weights
    # General p: sign(x) |x|**(p-1) / norm**(p-1).
    if ord < 1:
        zero = _raw(equal(x, 0))
        scaled = sign(x) * power(where(zero, 1, _abs(x)), ord - 1)
        return scaled * power(o, 1 - ord)
    scaled = sign(x) * power(_abs(x), ord - 1)
    zero = _raw(equal(o, 0))
    if not any_true(zero):
        return scaled / power(o, ord - 1)
    return scaled / power(where(zero, 1, o), ord - 1)


NORM = Primitive(
    "norm",
    _norm_fwd,
    (
        lambda g, x, out, axis, keepdims, shape, ord: (
            _restore(g, shape, axis, keepdims) * _norm_partials(x, out, axis, keepdims, shape, ord)
        ),
    ),
    lambda t, x, out, axis, keepdims, shape, ord: sum(
        t[0] * _norm_partials(x, out, axis, keepdims, shape, ord), axis, keepdims
    ),
    uses=((0, OUT),),
    grad_fn="LinalgVectorNormBackward0",
)

# ---------------------------------------------------------------------- scans


def _cumsum_fwd(xp: Any, x: Any, axis: int, reverse: bool) -> Any:
    if reverse:
        return xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis)
    return xp.cumsum(x, axis=axis)


# ``reverse`` sums from the end: the transpose of a cumulative sum, so each direction's VJP
# is the other one.
CUMSUM = Primitive(
    "cumsum",
    _cumsum_fwd,
    (lambda g, x, out, axis, reverse: _scan_sum(g, axis, not reverse),),
    lambda t, x, out, axis, reverse: _scan_sum(t[0], axis, reverse),
    uses=((),),
    grad_fn="CumsumBackward0",
)


def _scan_sum(x: Any, axis: int, reverse: bool) -> Any:
    return bind(CUMSUM, (x,), {"axis": axis, "reverse": reverse})


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def _all_normal(v: Any) -> bool:
    """Whether every element of ``v`` is a normal, finite float (not 0, not a denormal)."""
    raw = _raw(v)
    if raw.dtype.kind != "f" or is_traced(raw):
        return False
    xp = namespace(raw)
    mag = xp.abs(raw)
    info = np.finfo(raw.dtype)
    return bool(xp.all((mag >= info.tiny) & (mag <= info.max)))


# Scans by doubling (Hillis and Steele): log2(n) steps, each combining every element with the
# one ``d`` places away. They use products and sums only, no division, so they are exact at
# zeros and denormals, and their own derivatives are too: rules written with them can be
# differentiated again at any order.


def _shift(v: Any, d: int, axis: int, fill: float) -> Any:
    """``v`` moved ``d`` places along ``axis`` (towards higher indices for ``d > 0``), with
    ``fill`` where nothing arrives."""
    from .index import getitem

    shape = tuple(v.shape)
    n = shape[axis]
    xp = namespace(_raw(v))
    src = xp.arange(n) - d
    arrives = ((src >= 0) & (src < n)).reshape((n,) + (1,) * (len(shape) - axis - 1))
    moved = getitem(v, (slice(None),) * axis + (xp.clip(src, 0, n - 1),))
    return where(arrives, moved, fill)


def _exclusive_products(x: Any, axis: int, direction: int) -> Any:
    """``prod_{j < k} x_j`` along ``axis`` (``direction=1``), or ``prod_{j > k} x_j``
    (``direction=-1``); 1 where the range is empty."""
    n = tuple(x.shape)[axis]
    e = _shift(x, direction, axis, 1)
    d = 1
    while d < n:
        e = e * _shift(e, direction * d, axis, 1)
        d *= 2
    return e


def _linear_scan(a: Any, b: Any, axis: int, direction: int) -> Any:
    """The solution of ``s_k = a_k + b_k s_{k - direction}`` along ``axis`` (``s`` is 0 before
    the first element): ``direction=1`` runs forwards, -1 backwards."""
    n = tuple(a.shape)[axis]
    d = 1
    while d < n:
        # Invariant: s_k = a_k + b_k s_{k - direction d}.
        a = a + b * _shift(a, direction * d, axis, 0)
        b = b * _shift(b, direction * d, axis, 0)
        d *= 2
    return a


def _cumprod_vjp(g: Any, x: Any, out: Any, axis: int) -> Any:
    """``grad_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j``.

    ``reverse_cumsum(g * out) / x`` where that is accurate (plain arrays whose inputs and
    products are all normal floats). Otherwise, with zeros, denormals or underflow, and
    whenever the rule is recorded (where that division's derivative would cancel), the
    products without division: ``grad_i = L_i S_i`` with ``L_i = prod_{j < i} x_j`` and
    ``S_i = g_i + x_{i+1} S_{i+1}``, both scans.
    """
    if not _is_tensor(x) and _all_normal(x) and _all_normal(out):
        return _scan_sum(g * out, axis, True) / x
    s = _linear_scan(g, _shift(x, -1, axis, 0), axis, -1)
    return _exclusive_products(x, axis, 1) * s


def _cumprod_jvp(t: Any, x: Any, out: Any, axis: int) -> Any:
    """``dout_k = sum_{i <= k} t_i prod_{j <= k, j != i} x_j``: ``out * cumsum(t / x)`` where
    that is accurate, else (see :func:`_cumprod_vjp`) ``T_k = t_k L_k + x_k T_{k-1}``."""
    tx = t[0]
    if not _is_tensor(x) and _all_normal(x) and _all_normal(out):
        return out * _scan_sum(tx / x, axis, False)
    return _linear_scan(tx * _exclusive_products(x, axis, 1), x, axis, 1)


CUMPROD = Primitive(
    "cumprod",
    lambda xp, x, axis: xp.cumprod(x, axis=axis),
    (_cumprod_vjp,),
    _cumprod_jvp,
    uses=((0, OUT),),
    grad_fn="CumprodBackward0",
)

# ---------------------------------------------------------------------- binding functions


def _params(x: Any, axis: Any, keepdims: bool) -> dict[str, Any]:
    shape = tuple(x.shape) if hasattr(x, "shape") else ()
    return {"axis": normalize_axis(axis, len(shape)), "keepdims": bool(keepdims), "shape": shape}


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(
            f"{name}: out= is not supported; tapegrad operations return new arrays "
            "(assign the result instead)"
        )


def _prepare(x: Any, dtype: Any) -> Any:
    """``x`` as an array (or tensor), cast to ``dtype`` when one is given."""
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    if dtype is not None and np.dtype(dtype) != x.dtype:
        x = astype(x, dtype)
    return x


def sum(  # noqa: A001
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dtype: Any = None,
    out: None = None,
    dim_given: bool = False,
) -> Any:
    """Sum over ``axis`` (int, tuple or ``None`` for all).

    >>> tg.ops.reduce.sum(np.arange(6.0).reshape(2, 3), axis=-1)
    array([ 3., 12.])
    """
    if dtype is not None or out is not None:
        _no_out(out, "sum")
        x = _prepare(x, dtype)
    p = _params(x, axis, keepdims)
    if dim_given:
        p["dim_given"] = True
    return bind(SUM, (x,), p)


def mean(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dtype: Any = None,
    out: None = None,
    dim_given: bool = False,
) -> Any:
    """Arithmetic mean over ``axis``.

    >>> tg.ops.reduce.mean(np.arange(6.0).reshape(2, 3), axis=0)
    array([1.5, 2.5, 3.5])
    """
    if dtype is not None or out is not None:
        _no_out(out, "mean")
        x = _prepare(x, dtype)
    p = _params(x, axis, keepdims)
    if dim_given:
        p["dim_given"] = True
    return bind(MEAN, (x,), p)


def prod(
    x: Any, axis: Any = None, keepdims: bool = False, *, dtype: Any = None, out: None = None
) -> Any:
    """Product over ``axis`` (int, tuple or ``None`` for all).

    Parameters
    ----------
    x : array_like or Tensor
    axis : int, tuple of int or None
        The axes to multiply over, negative allowed; all when ``None``.
    keepdims : bool
        Keep the reduced axes as length-1 axes.
    dtype : dtype, optional
        Cast ``x`` to it first (the gradient is cast back).
    out : None
        Not supported.

    Notes
    -----
    The gradient of each element is the product of the others in its lane: exact with one
    zero (the product of the rest at the zero, 0 elsewhere) and with several (0 everywhere),
    as in PyTorch, and under underflow; it is formed without dividing by the input wherever
    that division would lose accuracy, and its own derivatives are exact too.

    Examples
    --------
    >>> tg.ops.reduce.prod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([ 2., 12.])
    >>> tg.grad(tg.ops.reduce.prod)(np.array([2.0, 0.0, 5.0]))
    array([ 0., 10.,  0.])
    """
    _no_out(out, "prod")
    x = _prepare(x, dtype)
    p = _params(x, axis, keepdims)
    if axis is not None:
        p["dim_given"] = True
    return bind(PROD, (x,), p)


def amax(
    x: Any, axis: Any = None, keepdims: bool = False, *, out: None = None, name: str | None = None
) -> Any:
    """Maximum over ``axis``; the gradient is shared evenly among tied maxima (as PyTorch's
    ``amax`` and ``max()``).

    >>> tg.grad(tg.ops.reduce.amax)(np.array([1.0, 3.0, 3.0]))
    array([0. , 0.5, 0.5])
    """
    _no_out(out, "amax")
    p = _params(x, axis, keepdims)
    if name is not None:
        p["name"] = name
    return bind(AMAX, (x,), p)


def amin(
    x: Any, axis: Any = None, keepdims: bool = False, *, out: None = None, name: str | None = None
) -> Any:
    """Minimum over ``axis``; the gradient is shared evenly among tied minima.

    >>> tg.grad(tg.ops.reduce.amin)(np.array([1.0, 3.0, 1.0]))
    array([0.5, 0. , 0.5])
    """
    _no_out(out, "amin")
    p = _params(x, axis, keepdims)
    if name is not None:
        p["name"] = name
    return bind(AMIN, (x,), p)


#: NumPy's ``max``/``min`` are its ``amax``/``amin``.
max = amax  # noqa: A001
min = amin  # noqa: A001


def _ddof(ddof: Any, correction: Any) -> Any:
    if correction is not None:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        return correction
    return ddof


def var(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    ddof: float = 0,
    correction: float | None = None,
    dtype: Any = None,
    out: None = None,
) -> Any:
    """Variance over ``axis``: ``sum(|x - mean|**2) / (n - ddof)``.

    Parameters
    ----------
    x : array_like or Tensor
    axis : int, tuple of int or None
        The axes to reduce, negative allowed; all when ``None``.
    keepdims : bool
        Keep the reduced axes as length-1 axes.
    ddof : int or float
        "Delta degrees of freedom": the divisor is ``max(n - ddof, 0)`` (0 gives ``inf`` or
        ``NaN``, as NumPy). ``ddof=1`` is PyTorch's default, the unbiased estimate.
    correction : int or float, optional
        The Array API's (and PyTorch's) name for ``ddof``; give one of the two.
    dtype : dtype, optional
        Cast ``x`` to it first.
    out : None
        Not supported.

    Notes
    -----
    The forward pass is NumPy's two-pass algorithm; the gradient is
    ``2 (x - mean) / (n - ddof)``.

    Examples
    --------
    >>> tg.ops.reduce.var(np.array([1.0, 2.0, 3.0, 4.0]), ddof=1)
    array(1.66666667)
    >>> tg.grad(tg.ops.reduce.var)(np.array([1.0, 3.0]))
    array([-1.,  1.])
    """
    _no_out(out, "var")
    x = _prepare(x, dtype)
    p = _params(x, axis, keepdims)
    p["ddof"] = _ddof(ddof, correction)
    return bind(VAR, (x,), p)


def std(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    ddof: float = 0,
    correction: float | None = None,
    dtype: Any = None,
    out: None = None,
) -> Any:
    """Standard deviation over ``axis``: ``sqrt(var(x, axis, ddof=ddof))``.

    Parameters are those of :func:`var`. The gradient is ``(x - mean) / ((n - ddof) std)``,
    and 0 in a lane where ``std`` is 0 (all values equal), as in PyTorch.

    Examples
    --------
    >>> tg.ops.reduce.std(np.array([1.0, 3.0]))
    array(1.)
    >>> tg.grad(tg.ops.reduce.std)(np.array([2.0, 2.0]))
    array([0., 0.])
    """
    _no_out(out, "std")
    x = _prepare(x, dtype)
    p = _params(x, axis, keepdims)
    p["ddof"] = _ddof(ddof, correction)
    return bind(STD, (x,), p)


def _norm_order(ord: Any) -> float:
    if ord is None or (isinstance(ord, str) and ord == "fro"):
        return 2.0
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.integer, np.floating)):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    return float(ord)


def norm(
    x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False, *, out: None = None
) -> Any:
    """Vector p-norm of ``x`` over ``axis``, the axes taken together as one vector.

    Parameters
    ----------
    x : array_like or Tensor
    ord : {None, 'fro', 1, 2, inf, -inf, 0} or float
        ``p``: ``sum(|x|**p)**(1/p)``; ``inf``/``-inf`` the largest/smallest magnitude, 0 the
        number of non-zero elements. ``None`` and ``'fro'`` mean 2.
    axis : int, tuple of int or None
        The axes that form the vector (all when ``None``), as in ``torch.norm(x, p, dim)`` and
        ``numpy.linalg.vector_norm``. Matrix norms (``ord`` over two axes in
        ``numpy.linalg.norm``) are ``tapegrad.linalg.norm``'s.
    keepdims : bool
        Keep the reduced axes as length-1 axes.
    out : None
        Not supported.

    Notes
    -----
    Gradients follow PyTorch's: ``x / norm`` for ``ord=2`` and 0 at the zero vector (not
    ``NaN``); ``sign(x)`` for ``ord=1``; for ``inf``/``-inf`` the extreme magnitudes share the
    gradient evenly; 0 for ``ord=0``; ``sign(x) |x|**(p-1) / norm**(p-1)`` otherwise (0 at the
    zero vector, and at zero elements when ``p < 1``).

    Examples
    --------
    >>> tg.ops.reduce.norm(np.array([[3.0, 4.0], [6.0, 8.0]]), axis=1)
    array([ 5., 10.])
    >>> tg.ops.reduce.norm(np.array([3.0, -4.0]), ord=np.inf)
    array(4.)
    >>> tg.grad(tg.ops.reduce.norm)(np.zeros(2))
    array([0., 0.])
    """
    _no_out(out, "norm")
    o = _norm_order(ord)
    x = _prepare(x, None)
    if x.dtype.kind not in "fc":
        x = astype(x, np.float64)
    p = _params(x, axis, keepdims)
    p["ord"] = o
    return bind(NORM, (x,), p)


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """``numpy.linalg.vector_norm``: :func:`norm` with NumPy's keyword-only signature.

    >>> tg.ops.reduce.vector_norm(np.array([1.0, -2.0, 2.0]), ord=1)
    array(5.)
    """
    return norm(x, ord, axis, keepdims)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, *, out: None = None) -> Any:
    """``log(sum(exp(x), axis))`` computed stably.

    >>> tg.ops.reduce.logsumexp(np.array([1000.0, 1000.0]))
    array(1000.69314718)
    """
    _no_out(out, "logsumexp")
    return bind(LOGSUMEXP, (x,), _params(x, axis, keepdims))


def _scan_input(a: Any, axis: Any, dtype: Any) -> tuple[Any, int]:
    """``a`` ready for a scan and the normalised axis: flattened when ``axis`` is ``None``,
    and a 0-d array seen as 1-d (NumPy's rules)."""
    a = _prepare(a, dtype)
    shape = tuple(a.shape)
    if axis is None or not shape:
        size = int(np.prod(shape))
        if shape != (size,):
            a = reshape(a, (size,))
        if axis is None:
            return a, 0
        return a, np.lib.array_utils.normalize_axis_index(int(axis), 1)
    return a, np.lib.array_utils.normalize_axis_index(int(axis), len(shape))


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative sum along ``axis`` (over the flattened array when ``None``).

    >>> tg.ops.reduce.cumsum(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([[1., 3.],
           [3., 7.]])
    >>> tg.grad(lambda x: tg.ops.reduce.cumsum(x).sum())(np.ones(3))
    array([3., 2., 1.])
    """
    _no_out(out, "cumsum")
    a, ax = _scan_input(a, axis, dtype)
    return bind(CUMSUM, (a,), {"axis": ax, "reverse": False})


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative product along ``axis`` (over the flattened array when ``None``).

    Notes
    -----
    The gradient of ``x_i`` is ``sum_{k >= i} g_k prod_{j <= k, j != i} x_j``: computed as
    ``reverse_cumsum(g * out) / x`` when every input and output is a normal float, and
    otherwise (zeros, denormals, underflow), or when it will be differentiated again, by
    scans without division, so it is exact with zeros (as PyTorch's) and so are second and
    higher derivatives.

    Examples
    --------
    >>> tg.ops.reduce.cumprod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    >>> tg.grad(lambda x: tg.ops.reduce.cumprod(x).sum())(np.array([2.0, 0.0, 3.0]))
    array([1., 8., 0.])
    """
    _no_out(out, "cumprod")
    a, ax = _scan_input(a, axis, dtype)
    return bind(CUMPROD, (a,), {"axis": ax})


# ---------------------------------------------------------------------- batching rules
# ``rule(values, batch_dims, params) -> (out, out_batch_dim)`` for ``vmap`` (see
# ``tapegrad.batching``): the batch axis goes first, the reduced (or scanned) axes move up by
# one, and the primitive is bound once for the whole batch.


def _batch_first(v: Any, d: int) -> Any:
    if d == 0:
        return v
    nd = len(v.shape)
    d %= nd
    return transpose(v, (d,) + tuple(i for i in range(nd) if i != d))


def _reduction_batch_rule(prim: Primitive) -> Any:
    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        v = _batch_first(vals[0], dims[0])
        p = dict(params)
        p["axis"] = tuple(a + 1 for a in params["axis"])
        p["shape"] = (tuple(v.shape)[0],) + tuple(params["shape"])
        return bind(prim, (v,), p), 0

    return rule


def _scan_batch_rule(prim: Primitive) -> Any:
    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        p = dict(params)
        p["axis"] = params["axis"] + 1
        return bind(prim, (_batch_first(vals[0], dims[0]),), p), 0

    return rule


#: Batching rules of this module's primitives that ``tapegrad.batching`` registers.
BATCHING_RULES: dict[Primitive, Any] = {
    PROD: _reduction_batch_rule(PROD),
    VAR: _reduction_batch_rule(VAR),
    STD: _reduction_batch_rule(STD),
    NORM: _reduction_batch_rule(NORM),
    CUMSUM: _scan_batch_rule(CUMSUM),
    CUMPROD: _scan_batch_rule(CUMPROD),
}
