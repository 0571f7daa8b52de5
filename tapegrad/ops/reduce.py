"""Reductions: sum, mean, max/min (ties split evenly), logsumexp.

Each takes NumPy's ``axis`` (int, tuple or ``None``, negative allowed) and ``keepdims``; the
binding functions normalise ``axis`` to a sorted tuple of non-negative ints, so rules can
restore reduced axes with one reshape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitive import OUT, Primitive, bind
from .elementwise import equal, exp, subtract

__all__ = ["sum", "mean", "amax", "amin", "logsumexp", "normalize_axis"]


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


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _restore(g: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the input's ``shape``."""
    from .shape import broadcast_to, reshape

    if not keepdims and axes:
        g = reshape(g, _kept_shape(shape, axes))
    return broadcast_to(g, shape)


def _sum_name(params: Any) -> str:
    return "SumBackward1" if params.get("dim_given") else "SumBackward0"


def _mean_name(params: Any) -> str:
    return "MeanBackward1" if params.get("dim_given") else "MeanBackward0"


SUM = Primitive(
    "sum",
    lambda xp, x, axis, keepdims, shape, dim_given=False: xp.sum(x, axis=axis, keepdims=keepdims),
    (lambda g, x, out, axis, keepdims, shape, dim_given=False: _restore(g, shape, axis, keepdims),),
    lambda t, x, out, axis, keepdims, shape, dim_given=False: sum(t[0], axis, keepdims),
    uses=((),),
    grad_fn=_sum_name,
)


def _mean_fwd(xp: Any, x: Any, axis: Any, keepdims: bool, shape: Any, dim_given: bool = False) -> Any:
    return xp.mean(x, axis=axis, keepdims=keepdims)


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
    from .shape import reshape

    o = out if keepdims else reshape(out, _kept_shape(shape, axis))
    mask = equal(x, o)
    raw_mask = mask.data if hasattr(mask, "_slot") else mask
    weights = raw_mask / raw_mask.sum(axis=axis, keepdims=True)
    weights = weights.astype(g.dtype, copy=False)
    return _restore(g, shape, axis, keepdims) * weights


def _extreme_jvp(t: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any, **_: Any) -> Any:
    from .shape import reshape

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
    from .shape import reshape

    o = out if keepdims else reshape(out, _kept_shape(shape, axis))
    return _restore(g, shape, axis, keepdims) * exp(subtract(x, o))


def _logsumexp_jvp(t: Any, x: Any, out: Any, axis: Any, keepdims: bool, shape: Any) -> Any:
    from .shape import reshape

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


def _params(x: Any, axis: Any, keepdims: bool) -> dict[str, Any]:
    shape = tuple(x.shape) if hasattr(x, "shape") else ()
    return {"axis": normalize_axis(axis, len(shape)), "keepdims": bool(keepdims), "shape": shape}


def sum(x: Any, axis: Any = None, keepdims: bool = False, *, dim_given: bool = False) -> Any:  # noqa: A001
    """Sum over ``axis`` (int, tuple or ``None`` for all)."""
    p = _params(x, axis, keepdims)
    if dim_given:
        p["dim_given"] = True
    return bind(SUM, (x,), p)


def mean(x: Any, axis: Any = None, keepdims: bool = False, *, dim_given: bool = False) -> Any:
    """Arithmetic mean over ``axis``."""
    p = _params(x, axis, keepdims)
    if dim_given:
        p["dim_given"] = True
    return bind(MEAN, (x,), p)


def amax(x: Any, axis: Any = None, keepdims: bool = False, *, name: str | None = None) -> Any:
    """Maximum over ``axis``; the gradient is shared evenly among tied maxima."""
    p = _params(x, axis, keepdims)
    if name is not None:
        p["name"] = name
    return bind(AMAX, (x,), p)


def amin(x: Any, axis: Any = None, keepdims: bool = False, *, name: str | None = None) -> Any:
    """Minimum over ``axis``; the gradient is shared evenly among tied minima."""
    p = _params(x, axis, keepdims)
    if name is not None:
        p["name"] = name
    return bind(AMIN, (x,), p)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` computed stably."""
    return bind(LOGSUMEXP, (x,), _params(x, axis, keepdims))
