"""NumPy's reductions, shape functions and products over the ops-level functions.

Signatures are NumPy's (``axis``, ``keepdims``, ``dtype``, ``ddof``, ``out=None``); arrays
give arrays and tensors give tensors recorded on the tape. A few NumPy names are compositions
of the ops-level functions (``ptp``, ``average``, ``sort``, ``hstack``, ``atleast_2d``,
``diag``, ``meshgrid``...); value-only functions (``argmax``, ``argsort``, ``nonzero``,
``allclose``...) never record.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..backend import namespace
from ..tensor import Tensor
from ._common import (
    NoValue,
    asarray,
    cast,
    get,
    is_batched,
    ndim_of,
    no_out,
    not_batched,
    operand,
    raw,
    shape_of,
    values_only,
    wrap_like,
)
from ._names import _accepts

__all__ = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "ptp", "var", "std", "average",
    "cumsum", "cumprod", "argmax", "argmin", "argsort", "sort", "all", "any", "count_nonzero",
    "nonzero", "argwhere", "flatnonzero", "isclose", "allclose", "array_equal", "shape", "ndim",
    "size", "reshape", "ravel", "transpose", "permute_dims", "matrix_transpose", "swapaxes",
    "moveaxis", "squeeze", "expand_dims", "broadcast_to", "broadcast_arrays", "atleast_1d",
    "atleast_2d", "atleast_3d", "concatenate", "concat", "stack", "hstack", "vstack", "dstack",
    "column_stack", "split", "array_split", "hsplit", "vsplit", "flip", "fliplr", "flipud",
    "roll", "tile", "repeat", "pad", "tril", "triu", "diagonal", "trace", "diag", "take",
    "take_along_axis", "copy", "astype", "meshgrid", "dot", "vdot", "inner", "outer", "einsum",
    "tensordot", "kron", "where", "clip", "sinc",
]  # fmt: skip

_normalize_axis_index = np.lib.array_utils.normalize_axis_index

# ------------------------------------------------------------------------------- reductions


_TAKES_DIM = {key: not _accepts(get(key), ["dim_given"]) for key in ("reduce.sum", "reduce.mean")}
_DIM_GIVEN = {"dim_given": True}
_NO_KW: dict[str, Any] = {}


def _dim_kw(key: str, axis: Any) -> dict[str, Any]:
    """PyTorch names ``x.sum(0)`` ``SumBackward1`` and ``x.sum()`` ``SumBackward0``: tell the
    op whether an axis was given, when it takes that hint."""
    return _DIM_GIVEN if axis is not None and _TAKES_DIM[key] else _NO_KW


def _given(v: Any) -> bool:
    return v is not NoValue and v is not None


def _masked(a: Any, where: Any, fill: Any) -> Any:
    if where is NoValue or where is True:
        return a
    return get("elementwise.where")(operand(where), a, fill)


def sum(  # noqa: A001 - NumPy's name
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: Any = NoValue,
    where: Any = NoValue,
) -> Any:
    """Sum of elements over ``axis``.

    Parameters
    ----------
    a : array_like or Tensor
    axis : int, tuple of int or None
        Axes to sum over (negative allowed); all when ``None``.
    dtype : dtype, optional
        Cast ``a`` to it first.
    out : None
        Must be ``None``: tapegrad does not write into out arrays.
    keepdims : bool
        Keep the reduced axes as length-1 axes.
    initial : scalar, optional
        Added to the sum.
    where : array_like of bool, optional
        Elements to include.

    Returns
    -------
    ndarray or Tensor
        NumPy's dtype for arrays (integers sum in int64); a 0-d array for a full reduction.

    Examples
    --------
    >>> tnp.sum(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    array([4., 6.])
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> tnp.sum(x * x)
    tensor(5., grad_fn=<SumBackward0>)
    """
    no_out(out, "sum")
    a = _masked(cast(asarray(a), dtype), where, 0)
    r = get("reduce.sum")(a, axis, keepdims, **_dim_kw("reduce.sum", axis))
    return r if initial is NoValue else get("elementwise.add")(r, initial)


def mean(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    *,
    where: Any = NoValue,
) -> Any:
    """Arithmetic mean over ``axis``.

    Parameters
    ----------
    a : array_like or Tensor
    axis : int, tuple of int or None
    dtype : dtype, optional
        Cast ``a`` to it first.
    out : None
        Must be ``None``.
    keepdims : bool
    where : array_like of bool, optional
        Elements to include.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.mean(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([1.5, 3.5])
    """
    no_out(out, "mean")
    a = cast(asarray(a), dtype)
    if where is not NoValue and where is not True:
        mask = operand(where)
        total = sum(a, axis, keepdims=keepdims, where=mask)
        count = np.sum(np.broadcast_to(raw(mask), shape_of(a)), axis=axis, keepdims=keepdims)
        return get("elementwise.true_divide")(total, count)
    return get("reduce.mean")(a, axis, keepdims, **_dim_kw("reduce.mean", axis))


def prod(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: Any = NoValue,
    where: Any = NoValue,
) -> Any:
    """Product of elements over ``axis``.

    Parameters
    ----------
    a : array_like or Tensor
    axis : int, tuple of int or None
    dtype : dtype, optional
        Cast ``a`` to it first.
    out : None
        Must be ``None``.
    keepdims : bool
    initial : scalar, optional
        Multiplies the product.
    where : array_like of bool, optional
        Elements to include.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.prod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([ 2., 12.])
    """
    no_out(out, "prod")
    a = _masked(cast(asarray(a), dtype), where, 1)
    r = get("reduce.prod")(a, axis, keepdims)
    return r if initial is NoValue else get("elementwise.multiply")(r, initial)


def _extreme(
    name: str,
    key: str,
    pair: str,
    a: Any,
    axis: Any,
    out: Any,
    keepdims: bool,
    initial: Any,
    where: Any,
) -> Any:
    no_out(out, name)
    a = asarray(a)
    if where is not NoValue and where is not True:
        if initial is NoValue:
            raise ValueError(
                f"reduction operation '{pair}' does not have an identity, so to use a where "
                "mask one has to specify 'initial'"
            )
        a = _masked(a, where, initial)
    r = get(key)(a, axis, keepdims)
    return r if initial is NoValue else get(f"elementwise.{pair}")(r, initial)


def max(  # noqa: A001 - NumPy's name
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: Any = NoValue,
    where: Any = NoValue,
) -> Any:
    """Maximum over ``axis``; tied maxima share the gradient evenly (as PyTorch).

    Parameters
    ----------
    a : array_like or Tensor
    axis : int, tuple of int or None
    out : None
        Must be ``None``.
    keepdims : bool
    initial : scalar, optional
        A lower bound of the result.
    where : array_like of bool, optional
        Elements to include (needs ``initial``).

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.max(np.array([[1.0, 5.0], [3.0, 4.0]]), axis=0)
    array([3., 5.])
    """
    return _extreme("max", "reduce.max", "maximum", a, axis, out, keepdims, initial, where)


def min(  # noqa: A001 - NumPy's name
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: Any = NoValue,
    where: Any = NoValue,
) -> Any:
    """Minimum over ``axis``; tied minima share the gradient evenly (as PyTorch).

    Parameters are those of :func:`max` (``initial`` is an upper bound).

    Examples
    --------
    >>> tnp.min(np.array([[1.0, 5.0], [3.0, 4.0]]), axis=0)
    array([1., 4.])
    """
    return _extreme("min", "reduce.min", "minimum", a, axis, out, keepdims, initial, where)


def amax(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: Any = NoValue,
    where: Any = NoValue,
) -> Any:
    """Maximum over ``axis`` (NumPy's alias of :func:`max`).

    Examples
    --------
    >>> tnp.amax(np.array([1.0, 3.0, 2.0]))
    array(3.)
    """
    return _extreme("amax", "reduce.amax", "maximum", a, axis, out, keepdims, initial, where)


def amin(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: Any = NoValue,
    where: Any = NoValue,
) -> Any:
    """Minimum over ``axis`` (NumPy's alias of :func:`min`).

    Examples
    --------
    >>> tnp.amin(np.array([1.0, 3.0, 2.0]))
    array(1.)
    """
    return _extreme("amin", "reduce.amin", "minimum", a, axis, out, keepdims, initial, where)


def ptp(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
) -> Any:
    """Range ``max - min`` over ``axis``.

    Parameters
    ----------
    a : array_like or Tensor
    axis : int, tuple of int or None
    out : None
        Must be ``None``.
    keepdims : bool

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.ptp(np.array([[1.0, 5.0], [3.0, 4.0]]), axis=1)
    array([4., 1.])
    """
    no_out(out, "ptp")
    a = asarray(a)
    hi = get("reduce.amax")(a, axis, keepdims)
    lo = get("reduce.amin")(a, axis, keepdims)
    return get("elementwise.subtract")(hi, lo)


def var(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    ddof: float = 0,
    keepdims: bool = False,
    *,
    correction: float | None = None,
) -> Any:
    """Variance over ``axis``: ``sum(|a - mean|**2) / (n - ddof)``.

    Parameters
    ----------
    a : array_like or Tensor
    axis : int, tuple of int or None
    dtype : dtype, optional
        Cast ``a`` to it first.
    out : None
        Must be ``None``.
    ddof : int or float
        Delta degrees of freedom (``ddof=1`` is PyTorch's default, the unbiased estimate).
    keepdims : bool
    correction : int or float, optional
        The Array API's name for ``ddof``; give one of the two.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.var(np.array([1.0, 2.0, 3.0, 4.0]))
    array(1.25)
    >>> tnp.var(np.array([1.0, 2.0, 3.0, 4.0]), ddof=1)
    array(1.66666667)
    """
    no_out(out, "var")
    a = cast(asarray(a), dtype)
    return get("reduce.var")(a, axis, keepdims, ddof=ddof, correction=correction)


def std(
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    ddof: float = 0,
    keepdims: bool = False,
    *,
    correction: float | None = None,
) -> Any:
    """Standard deviation over ``axis``, ``sqrt(var(a, axis, ddof=ddof))``.

    Parameters are those of :func:`var`.

    Examples
    --------
    >>> tnp.std(np.array([1.0, 3.0]))
    array(1.)
    """
    no_out(out, "std")
    a = cast(asarray(a), dtype)
    return get("reduce.std")(a, axis, keepdims, ddof=ddof, correction=correction)


def average(
    a: ArrayLike | Tensor,
    axis: int | None = None,
    weights: ArrayLike | Tensor | None = None,
    returned: bool = False,
    *,
    keepdims: bool = False,
) -> Any:
    """Weighted average over ``axis`` (the mean when ``weights`` is ``None``).

    Parameters
    ----------
    a : array_like or Tensor
    axis : int or None
    weights : array_like or Tensor, optional
        The shape of ``a``, or 1-D along ``axis``; gradients flow to tensor weights too.
    returned : bool
        Also return the sum of the weights.
    keepdims : bool

    Returns
    -------
    ndarray or Tensor, or a tuple ``(average, sum_of_weights)``

    Raises
    ------
    ZeroDivisionError
        When the weights sum to zero.

    Examples
    --------
    >>> tnp.average(np.array([1.0, 2.0, 4.0]), weights=np.array([1.0, 1.0, 2.0]))
    array(2.75)
    """
    a = asarray(a)
    shape = shape_of(a)
    if weights is None:
        avg = get("reduce.mean")(a, axis, keepdims)
        if not returned:
            return avg
        n = int(np.prod(shape)) // builtins.max(int(np.prod(shape_of(avg))), 1)
        scl = np.full(shape_of(avg), n, dtype=avg.dtype)
        return avg, wrap_like(scl, a)
    w = asarray(weights)
    if shape_of(w) != shape:
        if axis is None:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        if ndim_of(w) != 1:
            raise TypeError("1D weights expected when shapes of a and weights differ.")
        ax = _normalize_axis_index(int(axis), len(shape))
        if shape_of(w)[0] != shape[ax]:
            raise ValueError("Length of weights not compatible with specified axis.")
        w = get("shape.reshape")(w, tuple(n if i == ax else 1 for i, n in enumerate(shape)))
    scl = get("reduce.sum")(get("shape.broadcast_to")(w, shape), axis, keepdims)
    if not is_batched(scl) and np.any(np.asarray(raw(scl)) == 0):
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    total = get("reduce.sum")(get("elementwise.multiply")(a, w), axis, keepdims)
    avg = get("elementwise.true_divide")(total, scl)
    return (avg, scl) if returned else avg


def cumsum(
    a: ArrayLike | Tensor,
    axis: int | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
) -> Any:
    """Cumulative sum along ``axis`` (of the flattened array when ``None``).

    Parameters
    ----------
    a : array_like or Tensor
    axis : int or None
    dtype : dtype, optional
        Cast ``a`` to it first.
    out : None
        Must be ``None``.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.cumsum(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([[1., 3.],
           [3., 7.]])
    """
    no_out(out, "cumsum")
    return get("reduce.cumsum")(cast(asarray(a), dtype), axis)


def cumprod(
    a: ArrayLike | Tensor,
    axis: int | None = None,
    dtype: DTypeLike | None = None,
    out: None = None,
) -> Any:
    """Cumulative product along ``axis`` (of the flattened array when ``None``).

    Parameters are those of :func:`cumsum`.

    Examples
    --------
    >>> tnp.cumprod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    """
    no_out(out, "cumprod")
    return get("reduce.cumprod")(cast(asarray(a), dtype), axis)


# -------------------------------------------------------------------- value-only reductions


def argmax(
    a: ArrayLike | Tensor, axis: int | None = None, out: None = None, *, keepdims: bool = False
) -> Any:
    """Indices of the maxima along ``axis`` (of the flattened array when ``None``); no gradient.

    Examples
    --------
    >>> tnp.argmax(np.array([[1.0, 5.0], [3.0, 4.0]]), axis=1)
    array([1, 1])
    """
    no_out(out, "argmax")
    return _arg_extreme("argmax", asarray(a), axis, keepdims)


def argmin(
    a: ArrayLike | Tensor, axis: int | None = None, out: None = None, *, keepdims: bool = False
) -> Any:
    """Indices of the minima along ``axis``; no gradient.

    Examples
    --------
    >>> tnp.argmin(np.array([[1.0, 5.0], [3.0, 4.0]]), axis=0)
    array([0, 1])
    """
    no_out(out, "argmin")
    return _arg_extreme("argmin", asarray(a), axis, keepdims)


def _arg_extreme(name: str, a: Any, axis: Any, keepdims: bool) -> Any:
    if is_batched(a):
        if axis is None:
            not_batched(name, a)
        return getattr(a, name)(axis, keepdims)
    return values_only(
        lambda r: getattr(namespace(r), name)(r, axis=axis, keepdims=keepdims), name, a
    )


def argsort(
    a: ArrayLike | Tensor,
    axis: int | None = -1,
    kind: str | None = None,
    order: Any = None,
    *,
    stable: bool | None = None,
) -> Any:
    """Indices that sort ``a`` along ``axis``; no gradient.

    Examples
    --------
    >>> tnp.argsort(np.array([3.0, 1.0, 2.0]))
    array([1, 2, 0])
    """
    a = asarray(a)
    return values_only(
        lambda r: (
            np.argsort(r, axis=axis, kind=kind, order=order, stable=stable)
            if isinstance(r, np.ndarray)
            else namespace(r).argsort(r, axis=axis)
        ),
        "argsort",
        a,
    )


def sort(
    a: ArrayLike | Tensor,
    axis: int | None = -1,
    kind: str | None = None,
    order: Any = None,
    *,
    stable: bool | None = None,
) -> Any:
    """Sorted copy of ``a`` along ``axis`` (flattened when ``None``); differentiable.

    The gradient of each output element goes to the input element it came from.

    Parameters
    ----------
    a : array_like or Tensor
    axis : int or None
    kind, stable
        NumPy's choice of algorithm (ties keep their order with ``stable=True``).
    order : None
        Structured arrays are not supported.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.sort(np.array([[3.0, 1.0], [0.0, 2.0]]), axis=0)
    array([[0., 1.],
           [3., 2.]])
    """
    if order is not None:
        raise TypeError("tapegrad.numpy.sort: order= (structured arrays) is not supported")
    a = asarray(a)
    not_batched("sort", a)
    if axis is None:
        a = get("shape.reshape")(a, (-1,))
        axis = -1
    idx = (
        np.argsort(raw(a), axis=axis, kind=kind, stable=stable)
        if isinstance(raw(a), np.ndarray)
        else namespace(raw(a)).argsort(raw(a), axis=axis)
    )
    return get("index.take_along_axis")(a, idx, axis)


def all(  # noqa: A001 - NumPy's name
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
) -> Any:
    """Whether all elements along ``axis`` are true; no gradient.

    Examples
    --------
    >>> tnp.all(np.array([[True, False], [True, True]]), axis=1)
    array([False,  True])
    """
    no_out(out, "all")
    a = asarray(a)
    return values_only(
        lambda r: namespace(r).asarray(namespace(r).all(r, axis=axis, keepdims=keepdims)), "all", a
    )


def any(  # noqa: A001 - NumPy's name
    a: ArrayLike | Tensor,
    axis: int | Sequence[int] | None = None,
    out: None = None,
    keepdims: bool = False,
) -> Any:
    """Whether any element along ``axis`` is true; no gradient.

    Examples
    --------
    >>> tnp.any(np.array([[True, False], [False, False]]), axis=1)
    array([ True, False])
    """
    no_out(out, "any")
    a = asarray(a)
    return values_only(
        lambda r: namespace(r).asarray(namespace(r).any(r, axis=axis, keepdims=keepdims)), "any", a
    )


def count_nonzero(
    a: ArrayLike | Tensor, axis: int | Sequence[int] | None = None, *, keepdims: bool = False
) -> Any:
    """Number of non-zero elements along ``axis``; no gradient.

    Examples
    --------
    >>> int(tnp.count_nonzero(np.array([0.0, 1.0, 2.0])))
    2
    """
    a = asarray(a)
    return values_only(
        lambda r: np.count_nonzero(r, axis=axis, keepdims=keepdims), "count_nonzero", a
    )


def nonzero(a: ArrayLike | Tensor) -> tuple[Any, ...]:
    """Indices of the non-zero elements, one array per axis; no gradient.

    Examples
    --------
    >>> tnp.nonzero(np.array([0.0, 3.0, 0.0, 4.0]))
    (array([1, 3]),)
    """
    a = asarray(a)
    return values_only(lambda r: tuple(namespace(r).nonzero(r)), "nonzero", a)


def argwhere(a: ArrayLike | Tensor) -> Any:
    """Indices of the non-zero elements as rows; no gradient.

    Examples
    --------
    >>> tnp.argwhere(np.array([[0.0, 1.0], [2.0, 0.0]]))
    array([[0, 1],
           [1, 0]])
    """
    a = asarray(a)
    return values_only(lambda r: namespace(r).argwhere(r), "argwhere", a)


def flatnonzero(a: ArrayLike | Tensor) -> Any:
    """Indices of the non-zero elements of the flattened array; no gradient.

    Examples
    --------
    >>> tnp.flatnonzero(np.array([[0.0, 1.0], [2.0, 0.0]]))
    array([1, 2])
    """
    a = asarray(a)
    return values_only(lambda r: namespace(r).flatnonzero(r), "flatnonzero", a)


def isclose(
    a: ArrayLike | Tensor,
    b: ArrayLike | Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Any:
    """Where ``|a - b| <= atol + rtol * |b|``; no gradient.

    Examples
    --------
    >>> tnp.isclose(np.array([1.0, 2.0]), np.array([1.0 + 1e-9, 2.1]))
    array([ True, False])
    """
    a, b = operand(a), operand(b)
    return values_only(
        lambda x, y: np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), "isclose", a, b
    )


def allclose(
    a: ArrayLike | Tensor,
    b: ArrayLike | Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether all elements of ``a`` and ``b`` are close (see :func:`isclose`).

    Examples
    --------
    >>> tnp.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    True
    """
    a, b = operand(a), operand(b)
    not_batched("allclose", a, b)
    return bool(np.allclose(_host(a), _host(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1: ArrayLike | Tensor, a2: ArrayLike | Tensor, equal_nan: bool = False) -> bool:
    """Whether ``a1`` and ``a2`` have the same shape and elements.

    Examples
    --------
    >>> tnp.array_equal(np.array([1, 2]), [1, 2])
    True
    """
    a1, a2 = operand(a1), operand(a2)
    not_batched("array_equal", a1, a2)
    return bool(np.array_equal(_host(a1), _host(a2), equal_nan=equal_nan))


def _host(x: Any) -> Any:
    r = raw(x)
    get_ = getattr(r, "get", None)
    return get_() if get_ is not None and not isinstance(r, np.ndarray) else r


def shape(a: ArrayLike | Tensor) -> tuple[int, ...]:
    """The shape of ``a``.

    Examples
    --------
    >>> tnp.shape(tg.ones(2, 3))
    (2, 3)
    """
    return shape_of(a)


def ndim(a: ArrayLike | Tensor) -> int:
    """The number of axes of ``a``.

    Examples
    --------
    >>> tnp.ndim(np.ones((2, 3)))
    2
    """
    return len(shape_of(a))


def size(a: ArrayLike | Tensor, axis: int | None = None) -> int:
    """The number of elements of ``a`` (along ``axis`` when given).

    Examples
    --------
    >>> tnp.size(np.ones((2, 3)))
    6
    """
    s = shape_of(a)
    return int(np.prod(s)) if axis is None else s[axis]


# ------------------------------------------------------------------------------------ shape


def reshape(
    a: ArrayLike | Tensor,
    /,
    shape: int | Sequence[int] | None = None,
    order: str = "C",
    *,
    newshape: int | Sequence[int] | None = None,
    copy: bool | None = None,
) -> Any:
    """``a`` with a new shape (one entry may be -1).

    Parameters
    ----------
    a : array_like or Tensor
    shape : int or tuple of int
    order : {'C', 'F', 'A'}
        Read and write the elements in this index order.
    newshape : int or tuple of int, optional
        NumPy's older name of ``shape``.
    copy : bool, optional
        ``True`` always copies.

    Returns
    -------
    ndarray or Tensor

    Raises
    ------
    ValueError
        When the sizes differ (the error is also a ``RuntimeError``, as in PyTorch).

    Examples
    --------
    >>> tnp.reshape(np.arange(6.0), (2, -1))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    if newshape is not None:
        if shape is not None:
            raise TypeError("You cannot specify 'newshape' and 'shape' arguments at the same time.")
        shape = newshape
    if shape is None:
        raise TypeError("reshape() missing 1 required positional argument: 'shape'")
    r = get("shape.reshape")(asarray(a), shape, order)
    return get("shape.clone")(r) if copy else r


def ravel(a: ArrayLike | Tensor, order: str = "C") -> Any:
    """``a`` flattened to 1-D.

    Examples
    --------
    >>> tnp.ravel(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 2., 3., 4.])
    """
    return get("shape.reshape")(asarray(a), (-1,), "C" if order in ("K", "A") else order)


def transpose(a: ArrayLike | Tensor, axes: Sequence[int] | None = None) -> Any:
    """``a`` with its axes permuted (reversed when ``axes`` is ``None``).

    Examples
    --------
    >>> tnp.transpose(np.ones((2, 3, 4)), (1, 0, 2)).shape
    (3, 2, 4)
    """
    return get("shape.transpose")(asarray(a), axes)


def permute_dims(a: ArrayLike | Tensor, axes: Sequence[int] | None = None) -> Any:
    """The Array API's name for :func:`transpose`.

    Examples
    --------
    >>> tnp.permute_dims(np.ones((2, 3)), (1, 0)).shape
    (3, 2)
    """
    return transpose(a, axes)


def matrix_transpose(x: ArrayLike | Tensor, /) -> Any:
    """Swap the last two axes of a matrix or a stack of matrices.

    Examples
    --------
    >>> tnp.matrix_transpose(np.ones((5, 2, 3))).shape
    (5, 3, 2)
    """
    x = asarray(x)
    if ndim_of(x) < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {ndim_of(x)}")
    return get("shape.swapaxes")(x, -1, -2)


def swapaxes(a: ArrayLike | Tensor, axis1: int, axis2: int) -> Any:
    """``a`` with two axes interchanged.

    Examples
    --------
    >>> tnp.swapaxes(np.ones((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    return get("shape.swapaxes")(asarray(a), axis1, axis2)


def moveaxis(
    a: ArrayLike | Tensor, source: int | Sequence[int], destination: int | Sequence[int]
) -> Any:
    """``a`` with axes moved to new positions (the others keep their order).

    Examples
    --------
    >>> tnp.moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    return get("shape.moveaxis")(asarray(a), source, destination)


def squeeze(a: ArrayLike | Tensor, axis: int | Sequence[int] | None = None) -> Any:
    """``a`` without its length-1 axes (those in ``axis`` only, when given).

    Examples
    --------
    >>> tnp.squeeze(np.ones((1, 3, 1))).shape
    (3,)
    """
    return get("shape.squeeze")(asarray(a), axis)


def expand_dims(a: ArrayLike | Tensor, axis: int | Sequence[int]) -> Any:
    """``a`` with length-1 axes inserted at ``axis``.

    Examples
    --------
    >>> tnp.expand_dims(np.ones(3), 0).shape
    (1, 3)
    """
    return get("shape.expand_dims")(asarray(a), axis)


def broadcast_to(array: ArrayLike | Tensor, shape: int | Sequence[int], subok: bool = False) -> Any:
    """``array`` broadcast to ``shape`` (a read-only view for arrays).

    Examples
    --------
    >>> tnp.broadcast_to(np.array([1.0, 2.0]), (2, 2))
    array([[1., 2.],
           [1., 2.]])
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return get("shape.broadcast_to")(asarray(array), shape)


def broadcast_arrays(*args: ArrayLike | Tensor, subok: bool = False) -> tuple[Any, ...]:
    """The inputs broadcast against each other.

    Examples
    --------
    >>> [a.shape for a in tnp.broadcast_arrays(np.ones(3), np.ones((2, 1)))]
    [(2, 3), (2, 3)]
    """
    arrays = [asarray(a) for a in args]
    target = np.broadcast_shapes(*(shape_of(a) for a in arrays))
    return tuple(get("shape.broadcast_to")(a, target) for a in arrays)


def _atleast(arys: tuple[Any, ...], pad: Any) -> Any:
    out = []
    for a in arys:
        a = asarray(a)
        s = shape_of(a)
        new = pad(s)
        out.append(a if new == s else get("shape.reshape")(a, new))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys: ArrayLike | Tensor) -> Any:
    """The inputs with at least one axis (a tuple when more than one is given).

    Examples
    --------
    >>> tnp.atleast_1d(np.array(2.0))
    array([2.])
    """
    return _atleast(arys, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*arys: ArrayLike | Tensor) -> Any:
    """The inputs with at least two axes (1-D ``(n,)`` becomes ``(1, n)``).

    Examples
    --------
    >>> tnp.atleast_2d(np.array([1.0, 2.0])).shape
    (1, 2)
    """
    return _atleast(arys, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


def atleast_3d(*arys: ArrayLike | Tensor) -> Any:
    """The inputs with at least three axes (``(n,)`` becomes ``(1, n, 1)``, ``(m, n)``
    becomes ``(m, n, 1)``).

    Examples
    --------
    >>> tnp.atleast_3d(np.ones((2, 3))).shape
    (2, 3, 1)
    """

    def pad(s: tuple[int, ...]) -> tuple[int, ...]:
        if len(s) == 0:
            return (1, 1, 1)
        if len(s) == 1:
            return (1, s[0], 1)
        if len(s) == 2:
            return s + (1,)
        return s

    return _atleast(arys, pad)


def concatenate(
    arrays: Sequence[ArrayLike | Tensor],
    /,
    axis: int | None = 0,
    out: None = None,
    *,
    dtype: DTypeLike | None = None,
    casting: str = "same_kind",
) -> Any:
    """Join arrays along an existing axis (flattened first when ``axis`` is ``None``).

    Parameters
    ----------
    arrays : sequence of array_like or Tensor
        Same shape except along ``axis``; dtypes promote as in NumPy.
    axis : int or None
    out : None
        Must be ``None``.
    dtype, casting
        Cast the inputs to ``dtype`` first, under the rule ``casting``.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.concatenate([np.zeros((1, 2)), np.ones((1, 2))])
    array([[0., 0.],
           [1., 1.]])
    """
    no_out(out, "concatenate")
    items = [asarray(a) for a in arrays]
    if axis is not None and items:
        _check_join(items, axis)
    return get("shape.concatenate")(items, axis=axis, dtype=dtype, casting=casting)


def _check_join(items: list[Any], axis: int) -> None:
    """NumPy's error for inputs that differ off the joining axis, naming both shapes."""
    shapes = [shape_of(a) for a in items]
    first = shapes[0]
    if not first:
        return
    ax = _normalize_axis_index(int(axis), len(first))
    for i, s in enumerate(shapes[1:], 1):
        if len(s) == len(first):
            for d in range(len(first)):
                if d != ax and s[d] != first[d]:
                    raise ValueError(
                        "all the input array dimensions except for the concatenation axis must "
                        f"match exactly, but along dimension {d}, the array at index 0 has size "
                        f"{first[d]} and the array at index {i} has size {s[d]} (shapes {first} "
                        f"and {s})"
                    )


def concat(
    arrays: Sequence[ArrayLike | Tensor],
    /,
    axis: int | None = 0,
    out: None = None,
    *,
    dtype: DTypeLike | None = None,
    casting: str = "same_kind",
) -> Any:
    """The Array API's name for :func:`concatenate`.

    Examples
    --------
    >>> tnp.concat([np.zeros(2), np.ones(1)])
    array([0., 0., 1.])
    """
    return concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)


def stack(
    arrays: Sequence[ArrayLike | Tensor],
    axis: int = 0,
    out: None = None,
    *,
    dtype: DTypeLike | None = None,
    casting: str = "same_kind",
) -> Any:
    """Join arrays of one shape along a new axis.

    Parameters
    ----------
    arrays : sequence of array_like or Tensor
        All of one shape, else ``ValueError`` naming the first two shapes that differ.
    axis : int
        Position of the new axis in the result.
    out : None
        Must be ``None``.
    dtype, casting
        Cast the inputs to ``dtype`` first, under the rule ``casting``.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.stack([np.zeros(2), np.ones(2)], axis=1)
    array([[0., 1.],
           [0., 1.]])
    """
    no_out(out, "stack")
    items = [asarray(a) for a in arrays]
    shapes = [shape_of(a) for a in items]
    for i, s in enumerate(shapes[1:], 1):
        if s != shapes[0]:
            raise ValueError(
                "all input arrays must have the same shape, but the array at index 0 has "
                f"shape {shapes[0]} and the array at index {i} has shape {s}"
            )
    return get("shape.stack")(items, axis=axis, dtype=dtype, casting=casting)


def hstack(
    tup: Sequence[ArrayLike | Tensor], *, dtype: DTypeLike | None = None, casting: str = "same_kind"
) -> Any:
    """Join arrays column-wise (along axis 1; axis 0 for 1-D inputs).

    Examples
    --------
    >>> tnp.hstack([np.zeros(2), np.ones(1)])
    array([0., 0., 1.])
    """
    arrs = [atleast_1d(a) for a in tup]
    axis = 0 if arrs and ndim_of(arrs[0]) == 1 else 1
    return get("shape.concatenate")(arrs, axis=axis, dtype=dtype, casting=casting)


def vstack(
    tup: Sequence[ArrayLike | Tensor], *, dtype: DTypeLike | None = None, casting: str = "same_kind"
) -> Any:
    """Join arrays row-wise (1-D inputs become rows).

    Examples
    --------
    >>> tnp.vstack([np.zeros(2), np.ones(2)])
    array([[0., 0.],
           [1., 1.]])
    """
    arrs = [atleast_2d(a) for a in tup]
    return get("shape.concatenate")(arrs, axis=0, dtype=dtype, casting=casting)


def dstack(tup: Sequence[ArrayLike | Tensor]) -> Any:
    """Join arrays along the third axis.

    Examples
    --------
    >>> tnp.dstack([np.zeros(2), np.ones(2)]).shape
    (1, 2, 2)
    """
    return get("shape.concatenate")([atleast_3d(a) for a in tup], axis=2)


def column_stack(tup: Sequence[ArrayLike | Tensor]) -> Any:
    """1-D arrays as columns of a 2-D array (2-D arrays join as they are).

    Examples
    --------
    >>> tnp.column_stack([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    array([[1., 3.],
           [2., 4.]])
    """
    arrs = []
    for a in tup:
        a = asarray(a)
        if ndim_of(a) < 2:
            a = get("shape.reshape")(a, (-1, 1))
        arrs.append(a)
    return get("shape.concatenate")(arrs, axis=1)


def split(ary: ArrayLike | Tensor, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into equal sections, or at the given indices, along ``axis``.

    Examples
    --------
    >>> tnp.split(np.arange(4.0), 2)
    [array([0., 1.]), array([2., 3.])]
    """
    return list(get("shape.split")(asarray(ary), indices_or_sections, axis))


def array_split(ary: ArrayLike | Tensor, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Like :func:`split`, allowing sections of unequal size.

    Examples
    --------
    >>> tnp.array_split(np.arange(3.0), 2)
    [array([0., 1.]), array([2.])]
    """
    return list(get("shape.array_split")(asarray(ary), indices_or_sections, axis))


def hsplit(ary: ArrayLike | Tensor, indices_or_sections: Any) -> list[Any]:
    """Split column-wise (along axis 1; axis 0 for 1-D input).

    Examples
    --------
    >>> [p.shape for p in tnp.hsplit(np.ones((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
    ary = asarray(ary)
    if ndim_of(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if ndim_of(ary) > 1 else 0)


def vsplit(ary: ArrayLike | Tensor, indices_or_sections: Any) -> list[Any]:
    """Split row-wise (along axis 0) an array of 2 or more axes.

    Examples
    --------
    >>> [p.shape for p in tnp.vsplit(np.ones((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    ary = asarray(ary)
    if ndim_of(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def flip(m: ArrayLike | Tensor, axis: int | Sequence[int] | None = None) -> Any:
    """``m`` with the order of elements reversed along ``axis`` (all axes when ``None``).

    Examples
    --------
    >>> tnp.flip(np.array([1.0, 2.0, 3.0]))
    array([3., 2., 1.])
    """
    return get("shape.flip")(asarray(m), axis)


def fliplr(m: ArrayLike | Tensor) -> Any:
    """Reverse the order along axis 1.

    Examples
    --------
    >>> tnp.fliplr(np.array([[1.0, 2.0]]))
    array([[2., 1.]])
    """
    m = asarray(m)
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return get("shape.flip")(m, 1)


def flipud(m: ArrayLike | Tensor) -> Any:
    """Reverse the order along axis 0.

    Examples
    --------
    >>> tnp.flipud(np.array([1.0, 2.0]))
    array([2., 1.])
    """
    m = asarray(m)
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return get("shape.flip")(m, 0)


def roll(
    a: ArrayLike | Tensor, shift: int | Sequence[int], axis: int | Sequence[int] | None = None
) -> Any:
    """Roll elements along ``axis`` (of the flattened array when ``None``).

    Examples
    --------
    >>> tnp.roll(np.array([1.0, 2.0, 3.0]), 1)
    array([3., 1., 2.])
    """
    return get("shape.roll")(asarray(a), shift, axis)


def tile(A: ArrayLike | Tensor, reps: int | Sequence[int]) -> Any:  # noqa: N803 - NumPy's name
    """``A`` repeated ``reps`` times along each axis.

    Examples
    --------
    >>> tnp.tile(np.array([1.0, 2.0]), 2)
    array([1., 2., 1., 2.])
    """
    return get("shape.tile")(asarray(A), reps)


def repeat(a: ArrayLike | Tensor, repeats: int | Sequence[int], axis: int | None = None) -> Any:
    """Each element of ``a`` repeated ``repeats`` times (of the flattened array when ``axis``
    is ``None``).

    Examples
    --------
    >>> tnp.repeat(np.array([1.0, 2.0]), 2)
    array([1., 1., 2., 2.])
    """
    return get("shape.repeat")(asarray(a), repeats, axis)


def pad(array: ArrayLike | Tensor, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """``array`` padded with ``pad_width`` elements on each side (NumPy's modes and keywords,
    as far as ``tapegrad.ops.shape.pad`` supports them).

    Examples
    --------
    >>> tnp.pad(np.array([1.0, 2.0]), 1)
    array([0., 1., 2., 0.])
    """
    return get("shape.pad")(asarray(array), pad_width, mode, **kwargs)


def tril(m: ArrayLike | Tensor, k: int = 0) -> Any:
    """Lower triangle of (each matrix of) ``m``: the elements above diagonal ``k`` zeroed.

    Examples
    --------
    >>> tnp.tril(np.ones((2, 2)))
    array([[1., 0.],
           [1., 1.]])
    """
    return get("shape.tril")(asarray(m), k)


def triu(m: ArrayLike | Tensor, k: int = 0) -> Any:
    """Upper triangle of (each matrix of) ``m``: the elements below diagonal ``k`` zeroed.

    Examples
    --------
    >>> tnp.triu(np.ones((2, 2)))
    array([[1., 1.],
           [0., 1.]])
    """
    return get("shape.triu")(asarray(m), k)


def diagonal(a: ArrayLike | Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal ``offset`` of the matrices spanned by ``axis1`` and ``axis2``.

    Examples
    --------
    >>> tnp.diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 4.])
    """
    return get("shape.diagonal")(asarray(a), offset, axis1, axis2)


def trace(
    a: ArrayLike | Tensor,
    offset: int = 0,
    axis1: int = 0,
    axis2: int = 1,
    dtype: DTypeLike | None = None,
    out: None = None,
) -> Any:
    """Sum along a diagonal (see :func:`diagonal`).

    Examples
    --------
    >>> tnp.trace(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array(5.)
    """
    no_out(out, "trace")
    return get("shape.trace")(cast(asarray(a), dtype), offset, axis1, axis2)


def diag(v: ArrayLike | Tensor, k: int = 0) -> Any:
    """The ``k``-th diagonal of a 2-D array, or a 2-D array with 1-D ``v`` on that diagonal.

    Examples
    --------
    >>> tnp.diag(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    >>> tnp.diag(np.array([[1.0, 2.0], [3.0, 4.0]]), 1)
    array([2.])
    """
    v = asarray(v)
    nd = ndim_of(v)
    if nd == 2:
        return get("shape.diagonal")(v, k)
    if nd != 1:
        raise ValueError("Input must be 1- or 2-d.")
    m = shape_of(v)[0]
    n = m + builtins.abs(k)
    r = raw(v) if not is_batched(v) else None
    xp = namespace(r) if r is not None and hasattr(r, "shape") else np
    zeros = xp.zeros((n, n), dtype=v.dtype)
    idx = np.arange(m)
    rows, cols = idx + builtins.max(-k, 0), idx + builtins.max(k, 0)
    return get("index.index_put")(zeros, v, (rows, cols))


def take(
    a: ArrayLike | Tensor,
    indices: Any,
    axis: int | None = None,
    out: None = None,
    mode: str = "raise",
) -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when ``None``).

    ``IndexError`` for an index out of range (``mode='raise'``); repeated indices add up
    their gradients.

    Examples
    --------
    >>> tnp.take(np.array([1.0, 2.0, 3.0]), [2, 0])
    array([3., 1.])
    """
    no_out(out, "take")
    return get("index.take")(asarray(a), _index(indices), axis, mode=mode)


def take_along_axis(arr: ArrayLike | Tensor, indices: Any, axis: int | None = -1) -> Any:
    """Elements of ``arr`` picked by an index array of matching shape along ``axis``.

    Examples
    --------
    >>> tnp.take_along_axis(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1], [0]]), 1)
    array([[2.],
           [3.]])
    """
    return get("index.take_along_axis")(asarray(arr), _index(indices), axis)


def _index(indices: Any) -> Any:
    if isinstance(indices, Tensor):
        return indices.data
    return indices if hasattr(indices, "shape") else np.asarray(indices)


def copy(a: ArrayLike | Tensor, order: str = "K", subok: bool = False) -> Any:
    """A copy of ``a`` (recorded for tensors: ``CloneBackward0``).

    Examples
    --------
    >>> tnp.copy(np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return get("shape.clone")(asarray(a))


def astype(
    x: ArrayLike | Tensor, dtype: DTypeLike, /, *, copy: bool = True, device: Any = None
) -> Any:
    """``x`` cast to ``dtype`` (the gradient is cast back).

    Examples
    --------
    >>> tnp.astype(np.array([1.5, 2.5]), np.float32)
    array([1.5, 2.5], dtype=float32)
    """
    x = asarray(x)
    if not copy and x.dtype == np.dtype(dtype):
        return x
    return get("shape.astype")(x, dtype)


def meshgrid(
    *xi: ArrayLike | Tensor, copy: bool = True, sparse: bool = False, indexing: str = "xy"
) -> tuple[Any, ...]:
    """Coordinate arrays from coordinate vectors (differentiable in each vector).

    Examples
    --------
    >>> xs, ys = tnp.meshgrid(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0]))
    >>> xs.shape, ys.shape
    ((2, 3), (2, 3))
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    n = len(xi)
    s0 = (1,) * n
    out = [get("shape.reshape")(asarray(x), s0[:i] + (-1,) + s0[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and n > 1:
        out[0] = get("shape.reshape")(out[0], (1, -1) + s0[2:])
        out[1] = get("shape.reshape")(out[1], (-1, 1) + s0[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
        if copy:
            out = [o.copy() if isinstance(o, np.ndarray) else o for o in out]
    return tuple(out)


# --------------------------------------------------------------------------------- products


def dot(a: ArrayLike | Tensor, b: ArrayLike | Tensor, out: None = None) -> Any:
    """NumPy's ``dot``: inner product of vectors, matrix product, or a sum product over the
    last axis of ``a`` and the second-to-last of ``b``.

    Examples
    --------
    >>> tnp.dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    """
    no_out(out, "dot")
    return get("linalg.dot")(operand(a), operand(b))


def vdot(a: ArrayLike | Tensor, b: ArrayLike | Tensor, /) -> Any:
    """Dot product of the flattened inputs (the first conjugated).

    Examples
    --------
    >>> tnp.vdot(np.array([[1.0, 2.0]]), np.array([3.0, 4.0]))
    array(11.)
    """
    return get("linalg.vdot")(asarray(a), asarray(b))


def inner(a: ArrayLike | Tensor, b: ArrayLike | Tensor, /) -> Any:
    """Sum product over the last axes of ``a`` and ``b``.

    Examples
    --------
    >>> tnp.inner(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    """
    return get("linalg.inner")(operand(a), operand(b))


def outer(a: ArrayLike | Tensor, b: ArrayLike | Tensor, out: None = None) -> Any:
    """Outer product of the flattened inputs.

    Examples
    --------
    >>> tnp.outer(np.array([1.0, 2.0]), np.array([1.0, 10.0]))
    array([[ 1., 10.],
           [ 2., 20.]])
    """
    no_out(out, "outer")
    return get("linalg.outer")(asarray(a), asarray(b))


def einsum(*operands: Any, out: None = None, optimize: Any = False, **kwargs: Any) -> Any:
    """Einstein summation, e.g. ``einsum('ij,jk->ik', a, b)``.

    Parameters
    ----------
    *operands
        The subscripts and the arrays or tensors (or NumPy's interleaved form).
    out : None
        Must be ``None``.
    optimize : bool or str
        Contraction order, as NumPy's.
    dtype : dtype, optional
        Cast the operands first.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.einsum("ij,j->i", np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    no_out(out, "einsum")
    dtype = kwargs.pop("dtype", None)
    for key, default in (("order", "K"), ("casting", "safe")):
        if kwargs.get(key, default) != default:
            raise TypeError(f"tapegrad.numpy.einsum: {key}={kwargs[key]!r} is not supported")
        kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"einsum() got unexpected keyword arguments {sorted(kwargs)}")
    ops = [o if isinstance(o, (str, list)) else cast(asarray(o), dtype) for o in operands]
    return get("linalg.einsum")(*ops, optimize=optimize)


def tensordot(a: ArrayLike | Tensor, b: ArrayLike | Tensor, axes: Any = 2) -> Any:
    """Sum products over the given axes (the last ``axes`` of ``a`` and first of ``b``).

    Examples
    --------
    >>> tnp.tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    return get("linalg.tensordot")(asarray(a), asarray(b), axes)


def kron(a: ArrayLike | Tensor, b: ArrayLike | Tensor) -> Any:
    """Kronecker product.

    Examples
    --------
    >>> tnp.kron(np.array([1.0, 2.0]), np.array([1.0, 10.0]))
    array([ 1., 10.,  2., 20.])
    """
    return get("linalg.kron")(asarray(a), asarray(b))


# ------------------------------------------------------------------------------- selection


def where(condition: ArrayLike | Tensor, x: Any = None, y: Any = None, /) -> Any:
    """``x`` where ``condition`` holds, else ``y``; with the condition alone, its nonzero
    indices (see :func:`nonzero`).

    No gradient flows to the condition.

    Examples
    --------
    >>> tnp.where(np.array([True, False]), np.array([1.0, 2.0]), 0.0)
    array([1., 0.])
    """
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return get("elementwise.where")(operand(condition), operand(x), operand(y))


def clip(
    a: ArrayLike | Tensor,
    a_min: Any = NoValue,
    a_max: Any = NoValue,
    out: None = None,
    *,
    min: Any = NoValue,  # noqa: A002 - NumPy's keyword
    max: Any = NoValue,  # noqa: A002 - NumPy's keyword
) -> Any:
    """Limit the values of ``a`` to ``[a_min, a_max]`` (PyTorch's ``clamp`` gradients).

    Parameters
    ----------
    a : array_like or Tensor
    a_min, a_max : scalar, array_like, Tensor or None
        Bounds (``None``: none on that side); tensor bounds get gradients too. ``min=`` and
        ``max=`` are NumPy 2's keyword aliases.
    out : None
        Must be ``None``.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.clip(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0)
    array([-1. ,  0.5,  1. ])
    """
    no_out(out, "clip")

    def opt(v: Any) -> Any:
        return None if v is NoValue else operand(v)

    return get("elementwise.clip")(asarray(a), opt(a_min), opt(a_max), min=opt(min), max=opt(max))


def sinc(x: ArrayLike | Tensor) -> Any:
    """Normalised sinc, ``sin(pi x) / (pi x)`` (1 at 0).

    Examples
    --------
    >>> tnp.sinc(np.array([0.0, 0.5]))
    array([1.        , 0.63661977])
    """
    return get("elementwise.sinc")(operand(x))
