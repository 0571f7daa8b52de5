"""More top-level functions with PyTorch's names and signatures (``diff``, ``cummax``,
``median``, ``scatter``, ``cdist``, ...), composed of tapegrad's differentiable operations.

Like :mod:`tapegrad.functions`, they take tensors and raw arrays. Indices and booleans they
return carry no gradient. Where PyTorch records one backward node for what is composed here,
the result shows that node (``CummaxBackward0``, ``XlogyBackward0``, ...).

>>> import tapegrad as tg
>>> x = tg.tensor([1.0, 3.0, 2.0], requires_grad=True)
>>> tg.cummax(x, 0).values.sum().backward()
>>> x.grad
tensor([1., 2., 0.])
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import batching as _batching
from .backend import namespace
from .functions import _add_scaled, _scaled
from .functions import _as_input as _in
from .ops import elementwise as _ew
from .ops import index as _ix
from .ops import linalg as _la
from .ops import reduce as _red
from .ops import shape as _shp
from .ops.reduce import wrap_dim as _wrap_dim
from .primitive import Primitive
from .tensor import Tensor, dtype_title, show_as

__all__ = [
    "diff", "fliplr", "flipud", "rot90", "cummax", "cummin", "logcumsumexp", "aminmax",
    "std_mean", "var_mean", "nansum", "nanmean", "median", "kthvalue", "frac", "fmod", "xlogy",
    "logit", "deg2rad", "rad2deg", "heaviside", "float_power", "nan_to_num", "masked_select",
    "index_add", "scatter", "scatter_add", "scatter_reduce", "index_fill", "unflatten", "msort",
    "cartesian_prod", "meshgrid", "block_diag", "tril_indices", "triu_indices", "addmv",
    "addr", "baddbmm", "addbmm", "cdist", "atleast_1d", "atleast_2d", "atleast_3d",
]  # fmt: skip

_I64 = np.dtype(np.int64)
_I32 = np.dtype(np.int32)
_F32 = np.dtype(np.float32)

cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])
aminmax_result = namedtuple("aminmax", ["min", "max"])
median_result = namedtuple("median", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])


# ------------------------------------------------------------------------------- helpers


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _ndim(x: Any) -> int:
    return len(tuple(x.shape)) if hasattr(x, "shape") else 0


def _indices(like: Any, idx: Any) -> Any:
    """Raw integer indices as PyTorch's int64 result: a tensor when ``like`` is one."""
    idx = idx.astype(np.int64, copy=False)
    return Tensor._make(idx) if isinstance(like, Tensor) else idx


def _floating(x: Any) -> Any:
    """``x`` itself when floating or complex, else converted to float32 (PyTorch's default
    dtype for the result of a floating function of integers)."""
    return x if x.dtype.kind in "fc" else _shp.astype(x, _F32)


def _dims_of(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _trunc(x: Any) -> Any:
    """Round towards zero (zero gradient): ``tapegrad.numpy.trunc``, for tensors and arrays."""
    from .numpy import trunc

    return trunc(x)


# ----------------------------------------------------------------------- shape functions


def diff(
    input: Any,  # noqa: A002 - PyTorch's name
    n: int = 1,
    dim: int = -1,
    prepend: Any = None,
    append: Any = None,
) -> Any:
    """The ``n``-th forward difference along ``dim``, after joining ``prepend`` and ``append``
    to ``input`` along it (booleans differ by exclusive or).

    >>> tg.diff(tg.tensor([1.0, 4.0, 9.0, 16.0]))
    tensor([3., 5., 7.])
    >>> tg.diff(tg.tensor([[1.0, 2.0], [4.0, 8.0]]), dim=0, prepend=tg.zeros(1, 2))
    tensor([[1., 2.],
            [3., 6.]])
    """
    x = _in(input)
    nd = _ndim(x)
    if nd == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap_dim(dim, nd)
    parts = []
    for extra in (prepend, x, append):
        if extra is None:
            continue
        extra = _in(extra)
        if _ndim(extra) != nd:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        parts.append(extra)
    if len(parts) > 1:
        x = _shp.concatenate(parts, axis=d)
    before = (slice(None),) * d
    for _ in range(n):
        if tuple(x.shape)[d] == 0:
            break
        hi, lo = x[before + (slice(1, None),)], x[before + (slice(None, -1),)]
        x = _ew.not_equal(hi, lo) if x.dtype == np.bool_ else _ew.subtract(hi, lo)
    return x


def fliplr(input: Any) -> Any:  # noqa: A002
    """``input`` with its columns (dimension 1) in reverse order.

    >>> tg.fliplr(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[2., 1.],
            [4., 3.]])
    """
    x = _in(input)
    if _ndim(x) < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return _shp.flip(x, 1)


def flipud(input: Any) -> Any:  # noqa: A002
    """``input`` with its rows (dimension 0) in reverse order.

    >>> tg.flipud(tg.tensor([1.0, 2.0, 3.0]))
    tensor([3., 2., 1.])
    """
    x = _in(input)
    if _ndim(x) < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return _shp.flip(x, 0)


def rot90(input: Any, k: int = 1, dims: Sequence[int] = (0, 1)) -> Any:  # noqa: A002
    """``input`` rotated by ``k`` quarter turns in the plane of ``dims``, from the first
    towards the second (``Rot90Backward0``).

    >>> tg.rot90(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[2., 4.],
            [1., 3.]])
    """
    x = _in(input)
    dims = tuple(dims)
    nd = _ndim(x)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = _wrap_dim(dims[0], nd), _wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    if k == 1:
        out = _shp.swapaxes(_shp.flip(x, d1), d0, d1)
    elif k == 2:
        out = _shp.flip(x, (d0, d1))
    elif k == 3:
        out = _shp.swapaxes(_shp.flip(x, d0), d0, d1)
    else:
        out = _shp.clone(x)
    return show_as(out, "Rot90Backward0", input)


def unflatten(input: Any, dim: int, sizes: Sequence[int]) -> Any:  # noqa: A002
    """``input`` with dimension ``dim`` split into ``sizes`` (one may be -1).

    >>> tg.unflatten(tg.arange(6), 0, (2, 3))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    x = _in(input)
    shape = tuple(x.shape)
    d = _wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in sizes if s != -1)
    size = shape[d] if shape else 1
    if (-1 in sizes and (known == 0 or size % known)) or (-1 not in sizes and known != size):
        raise RuntimeError(
            f"unflatten: Provided sizes {_dims_of(sizes)} don't multiply up to the size of "
            f"dim {dim} ({size}) in the input tensor"
        )
    if -1 in sizes:
        sizes = tuple(size // known if s == -1 else s for s in sizes)
    return _shp.reshape(x, shape[:d] + sizes + shape[d + 1 :])


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least one dimension (a tuple for several tensors).

    >>> tg.atleast_1d(tg.tensor(1.0))
    tensor([1.])
    """
    return _atleast(1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least two dimensions (new ones in front).

    >>> tg.atleast_2d(tg.tensor([1.0, 2.0]))
    tensor([[1., 2.]])
    """
    return _atleast(2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least three dimensions (as NumPy: ``(n,)`` becomes ``(1, n, 1)``).

    >>> tg.atleast_3d(tg.tensor([1.0, 2.0])).shape
    (1, 2, 1)
    """
    return _atleast(3, tensors)


def _atleast(k: int, tensors: tuple[Any, ...]) -> Any:
    many = len(tensors) != 1
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors, many = tuple(tensors[0]), True
    out = []
    for t in tensors:
        x = _in(t)
        shape = tuple(x.shape)
        if len(shape) >= k:
            out.append(x)
            continue
        if k == 3 and len(shape) == 1:
            new = (1, shape[0], 1)
        elif k == 3 and len(shape) == 2:
            new = shape + (1,)
        else:
            new = (1,) * (k - len(shape)) + shape
        out.append(_shp.reshape(x, new))
    return tuple(out) if many else out[0]


# --------------------------------------------------------------------------------- scans


def _running_best(raw: Any, dim: int, largest: bool) -> Any:
    """Indices of the running maximum (or minimum) along ``dim``: the last of equal values,
    and NaN, once met, as the extreme (PyTorch's ``cummax`` and ``cummin``)."""
    xp = namespace(raw)
    a = xp.moveaxis(raw, dim, -1)
    idx = xp.zeros(a.shape, dtype=np.int64)
    n = a.shape[-1]
    if n == 0 or a.size == 0:
        return xp.moveaxis(idx, -1, dim)
    floating = a.dtype.kind in "fc"
    best = a[..., 0]
    cur = xp.zeros(a.shape[:-1], dtype=np.int64)
    for i in range(1, n):
        v = a[..., i]
        better = v >= best if largest else v <= best
        if floating:
            better = xp.isnan(v) | (~xp.isnan(best) & better)
        best = xp.where(better, v, best)
        cur = xp.where(better, i, cur)
        idx[..., i] = cur
    return xp.moveaxis(idx, -1, dim)


def _cumulative_extreme(input: Any, dim: int, largest: bool) -> Any:  # noqa: A002
    x = _in(input)
    raw = _raw(x)
    nd = _ndim(x)
    d = _wrap_dim(dim, nd)
    result = cummax_result if largest else cummin_result
    if nd == 0:
        zero = namespace(raw).zeros((), dtype=np.int64)
        return result(_shp.clone(x), _indices(x, zero))
    idx = _running_best(raw, d, largest)
    values = _ix.take_along_axis(x, idx, d)
    values = show_as(values, "CummaxBackward0" if largest else "CumminBackward0", input)
    return result(values, _indices(x, idx))


def cummax(input: Any, dim: int) -> Any:  # noqa: A002
    """The running maximum along ``dim`` and where each was found (the last of equal
    values); the gradient goes to those places (``CummaxBackward0``).

    >>> tg.cummax(tg.tensor([1.0, 3.0, 2.0, 3.0]), 0)
    cummax(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cumulative_extreme(input, dim, True)


def cummin(input: Any, dim: int) -> Any:  # noqa: A002
    """The running minimum along ``dim`` and where each was found (``CumminBackward0``).

    >>> tg.cummin(tg.tensor([3.0, 1.0, 2.0, 1.0]), 0)
    cummin(values=tensor([3., 1., 1., 1.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cumulative_extreme(input, dim, False)


def logcumsumexp(input: Any, dim: int) -> Any:  # noqa: A002
    """``log(cumsum(exp(input), dim))``, shifted by the maximum along ``dim`` for stability
    (``LogcumsumexpBackward0``).

    >>> tg.logcumsumexp(tg.tensor([0.0, 0.0, 0.0]), 0)
    tensor([0.0000, 0.6931, 1.0986])
    """
    x = _in(input)
    nd = _ndim(x)
    d = _wrap_dim(dim, nd)
    if nd == 0:
        return show_as(_shp.clone(x), "LogcumsumexpBackward0", input)
    raw = _raw(x)
    xp = namespace(raw)
    if raw.size == 0:
        return _shp.clone(x)
    m = xp.max(raw, axis=d, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(raw.dtype)
    out = _ew.add(_ew.log(_red.cumsum(_ew.exp(_ew.subtract(x, m)), d)), m)
    return show_as(out, "LogcumsumexpBackward0", input)


# ---------------------------------------------------------------------------- reductions


def aminmax(input: Any, *, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """The minimum and maximum, overall or along ``dim``; equal extremes share the gradient
    (``AminmaxBackward0``).

    >>> tg.aminmax(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=1)
    aminmax(min=tensor([1., 3.]), max=tensor([5., 4.]))
    """
    x = _in(input)
    if dim is not None:
        _wrap_dim(dim, _ndim(x))
    lo = show_as(_red.amin(x, dim, keepdim), "AminmaxBackward0", input)
    hi = show_as(_red.amax(x, dim, keepdim), "AminmaxBackward0", input)
    return aminmax_result(lo, hi)


def _moments(input: Any, dim: Any, unbiased: Any, keepdim: bool, correction: Any) -> Any:  # noqa: A002
    from .functions import _correction

    if isinstance(dim, bool):
        dim, unbiased = None, dim
    dim, ddof = _correction(dim, unbiased, correction)
    x = _in(input)
    return x, dim, ddof


def var_mean(
    input: Any,  # noqa: A002
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> tuple[Any, Any]:
    """``(var, mean)`` over ``dim``, the variance with PyTorch's default ``correction=1``
    (``VarMeanBackward0``).

    >>> tg.var_mean(tg.tensor([1.0, 2.0, 3.0, 4.0]))
    (tensor(1.6667), tensor(2.5000))
    """
    x, dim, ddof = _moments(input, dim, unbiased, keepdim, correction)
    v = _red.var(x, dim, keepdim, ddof=ddof)
    m = _red.mean(x, dim, keepdim)
    return show_as(v, "VarMeanBackward0", input), show_as(m, "VarMeanBackward0", input)


def std_mean(
    input: Any,  # noqa: A002
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> tuple[Any, Any]:
    """``(std, mean)`` over ``dim`` with PyTorch's default ``correction=1``
    (``StdMeanBackward0``).

    >>> tg.std_mean(tg.tensor([1.0, 3.0]))
    (tensor(1.4142), tensor(2.))
    """
    x, dim, ddof = _moments(input, dim, unbiased, keepdim, correction)
    s = _red.std(x, dim, keepdim, ddof=ddof)
    m = _red.mean(x, dim, keepdim)
    return show_as(s, "StdMeanBackward0", input), show_as(m, "StdMeanBackward0", input)


def _zero_nans(x: Any) -> Any:
    raw = _raw(x)
    if raw.dtype.kind not in "fc":
        return x
    return _ew.where(namespace(raw).isnan(raw), 0.0, x)


def nansum(
    input: Any,  # noqa: A002
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
) -> Any:
    """The sum over ``dim`` with NaN counted as zero (``NansumBackward0``; no gradient to
    NaN).

    >>> tg.nansum(tg.tensor([1.0, float("nan"), 2.0]))
    tensor(3.)
    """
    from .functions import _int_sum_input

    x = _int_sum_input(_in(input), dtype)
    out = _red.sum(_zero_nans(x), dim, keepdim, dim_given=dim is not None)
    return show_as(out, "NansumBackward0", input)


def nanmean(
    input: Any,  # noqa: A002
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
) -> Any:
    """The mean over ``dim`` of the elements that are not NaN.

    >>> tg.nanmean(tg.tensor([1.0, float("nan"), 2.0]))
    tensor(1.5000)
    """
    x = _in(input)
    if dtype is not None:
        x = _shp.astype(x, dtype)
    if x.dtype.kind not in "fc":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{dtype_title(x.dtype)}"
        )
    raw = _raw(x)
    xp = namespace(raw)
    axis = None if dim is None else _red.normalize_axis(dim, raw.ndim)
    count = xp.sum(~xp.isnan(raw), axis=axis, keepdims=keepdim).astype(raw.real.dtype)
    total = nansum(x, dim, keepdim)
    return _ew.true_divide(total, count)


def _select_sorted(raw: Any, d: int, k: Any) -> Any:
    """Indices, along ``d``, of the ``k``-th smallest (0-based) element of each slice, in a
    stable order that puts NaN last; a slice holding NaN gives its first NaN when
    ``nan_first``."""
    from .functions import _sort_indices

    order = _sort_indices(raw, d, False)
    xp = namespace(raw)
    return xp.take_along_axis(order, k, axis=d)


def median(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """The lower median: overall (equal medians share the gradient, ``MedianBackward0``), or
    along ``dim`` as ``(values, indices)`` (``MedianBackward1``). A slice holding NaN has
    median NaN.

    >>> tg.median(tg.tensor([4.0, 1.0, 3.0, 2.0]))
    tensor(2.)
    >>> tg.median(tg.tensor([[4.0, 1.0, 3.0], [0.0, 6.0, 5.0]]), dim=1)
    median(values=tensor([3., 5.]), indices=tensor([2, 2]))
    """
    x = _in(input)
    raw = _raw(x)
    xp = namespace(raw)
    if dim is None:
        flat = raw.reshape(-1)
        if flat.size == 0:
            return show_as(_ew.multiply(_red.sum(x), np.nan), "MedianBackward0", input)
        k = _median_rank(xp, flat, 0, False)
        idx = _select_sorted(flat, 0, k)
        m = flat[idx[0]]
        mask = xp.isnan(raw) if bool(xp.isnan(m)) else raw == m
        out = _red.amax(_ew.where(mask, x, -np.inf), None, False)
        return show_as(out, "MedianBackward0", input)
    nd = _ndim(x)
    d = _wrap_dim(dim, nd)
    if nd == 0:
        zero = xp.zeros((), dtype=np.int64)
        return median_result(show_as(_shp.clone(x), "MedianBackward1", input), _indices(x, zero))
    if raw.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    k = _median_rank(xp, raw, d, True)
    idx = _select_sorted(raw, d, k)
    values = _ix.take_along_axis(x, idx, d)
    if not keepdim:
        values, idx = _shp.squeeze(values, d), idx.squeeze(axis=d)
    return median_result(show_as(values, "MedianBackward1", input), _indices(x, idx))


def _median_rank(xp: Any, raw: Any, d: int, keepdims: bool) -> Any:
    """The sorted position of the lower median of each slice along ``d``, or of its first
    NaN where it holds one."""
    n = raw.shape[d]
    shape = list(raw.shape)
    shape[d] = 1
    rank = xp.full(tuple(shape), (n - 1) // 2, dtype=np.int64)
    if raw.dtype.kind in "fc":
        nans = xp.isnan(raw)
        valid = xp.sum(~nans, axis=d, keepdims=True)
        rank = xp.where(xp.any(nans, axis=d, keepdims=True), valid, rank)
    return rank


def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """The ``k``-th smallest element along ``dim`` (``k`` from 1) and its index, the index of
    one of equal values; the gradient goes to that index (``KthvalueBackward0``).

    >>> tg.kthvalue(tg.tensor([4.0, 1.0, 3.0, 2.0]), 2)
    kthvalue(values=tensor(2.), indices=tensor(3))
    """
    x = _in(input)
    raw = _raw(x)
    xp = namespace(raw)
    nd = _ndim(x)
    d = _wrap_dim(dim, nd)
    size = raw.shape[d] if nd else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if nd == 0:
        zero = xp.zeros((), dtype=np.int64)
        return kthvalue_result(
            show_as(_shp.clone(x), "KthvalueBackward0", input), _indices(x, zero)
        )
    shape = list(raw.shape)
    shape[d] = 1
    idx = _select_sorted(raw, d, xp.full(tuple(shape), k - 1, dtype=np.int64))
    values = _ix.take_along_axis(x, idx, d)
    if not keepdim:
        values, idx = _shp.squeeze(values, d), idx.squeeze(axis=d)
    return kthvalue_result(show_as(values, "KthvalueBackward0", input), _indices(x, idx))


def msort(input: Any) -> Any:  # noqa: A002
    """``input`` sorted along its first dimension (``SortBackward0``).

    >>> tg.msort(tg.tensor([[3.0, 1.0], [1.0, 2.0]]))
    tensor([[1., 1.],
            [3., 2.]])
    """
    from .functions import sort

    return sort(_in(input), 0).values


# ------------------------------------------------------------------------- elementwise


def frac(input: Any) -> Any:  # noqa: A002
    """The fractional part ``input - trunc(input)``, with the sign of ``input``
    (``FracBackward0``).

    >>> tg.frac(tg.tensor([1.5, -2.25]))
    tensor([ 0.5000, -0.2500])
    """
    x = _in(input)
    return show_as(_ew.subtract(x, _trunc(x)), "FracBackward0", input)


def _fmod_other(g: Any, a: Any, b: Any, out: Any) -> Any:
    return _ew.negative(_ew.multiply(g, _trunc(_ew.true_divide(a, b))))


FMOD = Primitive(
    "fmod",
    lambda xp, a, b: xp.fmod(a, b),
    (lambda g, a, b, out: g, _fmod_other),
    lambda t, a, b, out: _ew._tsum(t[0], None if t[1] is None else _fmod_other(t[1], a, b, out)),
    uses=((), (0, 1)),
    grad_fn="FmodBackward1",
    broadcasting=True,
)


def fmod(input: Any, other: Any) -> Any:  # noqa: A002
    """The remainder of ``input / other`` with the sign of ``input`` (C's ``fmod``); its
    gradient is 1 for ``input`` and ``-trunc(input / other)`` for ``other``.

    >>> tg.fmod(tg.tensor([-3.0, 3.0]), 2.0)
    tensor([-1.,  1.])
    """
    from .primitive import bind

    x = _in(input)
    if isinstance(other, (int, float)) and not isinstance(other, builtins.bool):
        if x.dtype.kind not in "fc" and isinstance(other, float):
            x = _shp.astype(x, _F32)
        raw = x.data if isinstance(x, Tensor) else x
        out = bind(FMOD, (x, namespace(raw).asarray(other, dtype=x.dtype)))
        return show_as(out, "FmodBackward0", input)
    y = _in(other)
    return bind(FMOD, (x, y))


def _xlogy_fwd(xp: Any, x: Any, y: Any) -> Any:
    with np.errstate(all="ignore"):
        return xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log(y)).astype(x.dtype, copy=False)


XLOGY = Primitive(
    "xlogy",
    _xlogy_fwd,
    (
        lambda g, x, y, out: _ew.multiply(g, _ew.log(y)),
        lambda g, x, y, out: _ew.multiply(g, _ew.true_divide(x, y)),
    ),
    lambda t, x, y, out: _ew._tsum(
        None if t[0] is None else _ew.multiply(t[0], _ew.log(y)),
        None if t[1] is None else _ew.multiply(t[1], _ew.true_divide(x, y)),
    ),
    uses=((1,), (0, 1)),
    grad_fn="XlogyBackward0",
    broadcasting=True,
)


def xlogy(input: Any, other: Any) -> Any:  # noqa: A002
    """``input * log(other)``, and 0 where ``input`` is 0 (unless ``other`` is NaN); the
    gradients are PyTorch's, ``log(other)`` and ``input / other`` (``XlogyBackward0``).

    >>> tg.xlogy(tg.tensor([0.0, 2.0]), tg.tensor([0.0, 1.0]))
    tensor([0., 0.])
    """
    from .primitive import bind

    numbers = (int, float)
    if isinstance(input, numbers) and isinstance(other, numbers):
        raise TypeError("xlogy() expects at least one tensor argument")
    x = input if isinstance(input, numbers) else _in(input)
    y = other if isinstance(other, numbers) else _in(other)
    dtype = np.result_type(*[v.dtype for v in (x, y) if not isinstance(v, numbers)])
    if dtype.kind not in "fc":
        dtype = _F32
    xp = namespace(_raw(y if isinstance(x, numbers) else x))
    x, y = (
        xp.asarray(v, dtype=dtype)
        if isinstance(v, numbers)
        else (v if v.dtype == dtype else _shp.astype(v, dtype))
        for v in (x, y)
    )
    out = bind(XLOGY, (x, y))
    if isinstance(input, numbers):
        return show_as(out, "XlogyBackward1", other)
    if isinstance(other, numbers):
        return show_as(out, "XlogyBackward2", input)
    return out


def logit(input: Any, eps: float | None = None) -> Any:  # noqa: A002
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given
    (no gradient outside it; ``LogitBackward0``): ``tg.special.logit``.

    >>> tg.logit(tg.tensor([0.5, 0.25]))
    tensor([ 0.0000, -1.0986])
    """
    from .special import logit as _logit

    return _logit(_floating(_in(input)), eps)


def deg2rad(input: Any) -> Any:  # noqa: A002
    """Degrees to radians (``Deg2RadBackward0``).

    >>> tg.deg2rad(tg.tensor([180.0, 90.0]))
    tensor([3.1416, 1.5708])
    """
    x = _floating(_in(input))
    return show_as(_ew.multiply(x, math.pi / 180.0), "Deg2RadBackward0", input)


def rad2deg(input: Any) -> Any:  # noqa: A002
    """Radians to degrees (``Rad2DegBackward0``).

    >>> tg.rad2deg(tg.tensor(np.pi))
    tensor(180.)
    """
    x = _floating(_in(input))
    return show_as(_ew.multiply(x, 180.0 / math.pi), "Rad2DegBackward0", input)


def heaviside(input: Any, values: Any) -> Any:  # noqa: A002
    """The Heaviside step: 0 below zero, 1 above, ``values`` at zero (no gradient).

    >>> tg.heaviside(tg.tensor([-1.0, 0.0, 2.0]), tg.tensor([0.5]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    x, v = _in(input), _in(values)
    if x.dtype != v.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if x.dtype.kind == "c":
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    xr, vr = _raw(x), _raw(v)
    xp = namespace(xr)
    out = xp.where(xr == 0, vr, (xr > 0).astype(xr.dtype)).astype(xr.dtype, copy=False)
    return Tensor._make(out) if isinstance(x, Tensor) or isinstance(v, Tensor) else out


def float_power(input: Any, exponent: Any) -> Any:  # noqa: A002
    """``input ** exponent`` in double precision (float64, or complex128 for complex).

    >>> tg.float_power(tg.tensor([2, 3]), 2)
    tensor([4., 9.], dtype=tapegrad.float64)
    """
    from . import numpy as tnp

    return tnp.float_power(input, exponent)


def nan_to_num(
    input: Any,  # noqa: A002
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Any:
    """``input`` with NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by
    default 0 and the dtype's largest and lowest values); no gradient to those places
    (``NanToNumBackward0``).

    >>> tg.nan_to_num(tg.tensor([float("nan"), float("inf"), 1.0]), posinf=9.0)
    tensor([0., 9., 1.])
    """
    x = _in(input)
    raw = _raw(x)
    if raw.dtype.kind not in "fc":
        return _shp.clone(x)
    xp = namespace(raw)
    info = np.finfo(raw.real.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    fill = xp.where(xp.isnan(raw), nan, xp.where(raw > 0, posinf, neginf)).astype(raw.dtype)
    out = _ew.where(xp.isfinite(raw), x, fill)
    return show_as(out, "NanToNumBackward0", input)


# --------------------------------------------------------------------- indexed updates


def masked_select(input: Any, mask: Any) -> Any:  # noqa: A002
    """The elements of ``input`` where the boolean ``mask`` holds, as a 1-D tensor; the two
    broadcast (``MaskedSelectBackward0``).

    >>> tg.masked_select(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([True, False]))
    tensor([1., 3.])
    """
    x, m = _in(input), _in(mask)
    if m.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    mr = _raw(m)
    mr = namespace(mr).broadcast_to(mr, shape)
    xb = x if tuple(x.shape) == shape else _shp.broadcast_to(x, shape)
    out = _ix.getitem(xb, mr)
    return show_as(out, "MaskedSelectBackward0", input)


def _index_raw(index: Any) -> Any:
    return _raw(index) if hasattr(index, "shape") else np.asarray(index)


def _along(xp: Any, shape: tuple[int, ...], d: int, idx: Any) -> tuple[Any, ...]:
    """An advanced index over ``shape`` that takes ``idx`` (of ``shape``, or 1-D for
    dimension ``d``) along ``d`` and every position along the other dimensions."""
    nd = len(shape)
    out = []
    for k in range(nd):
        if k == d:
            out.append(idx if idx.ndim == nd else idx.reshape((-1,) + (1,) * (nd - 1 - k)))
        else:
            out.append(xp.arange(shape[k]).reshape((-1,) + (1,) * (nd - 1 - k)))
    return tuple(out)


def _check_bounds(idx: Any, d: int, size: int, exc: type = IndexError) -> None:
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        bad = hi if hi >= size else lo
        if lo < -size or hi >= size:
            raise exc(f"index {bad} is out of bounds for dimension {d} with size {size}")


def index_add(
    input: Any,  # noqa: A002
    dim: int,
    index: Any,
    source: Any,
    *,
    alpha: Any = 1,
) -> Any:
    """``input`` with ``alpha * source`` added at positions ``index`` (a vector) along ``dim``;
    repeated indices add up (``IndexAddBackward0``).

    >>> tg.index_add(tg.zeros(3), 0, tg.tensor([0, 2, 0]), tg.tensor([1.0, 2.0, 3.0]))
    tensor([4., 0., 2.])
    """
    x, src = _in(input), _in(source)
    idx = _index_raw(index)
    shape = tuple(x.shape)
    d = _wrap_dim(dim, len(shape))
    if idx.ndim > 1:
        raise IndexError(
            "index_add_(): Index is supposed to be a vector, but got dim: "
            f"{idx.ndim} with type: {dtype_title(idx.dtype)} and size: {_dims_of(idx.shape)}"
        )
    idx = idx.reshape(-1)
    sshape = tuple(src.shape)
    ssize = sshape[d] if sshape else 1
    if idx.shape[0] != ssize:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.shape[0]}) should be equal to "
            f"source.size(dim): ({ssize}), for dim: {d}"
        )
    if not shape:
        return show_as(
            _ew.add(x, _scaled(_shp.reshape(src, ()), alpha)), "IndexAddBackward0", input, source
        )
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= shape[d]):
        raise IndexError("index out of range in self")
    xp = namespace(_raw(x))
    idx = xp.asarray(idx)
    placed = _ix.scatter(_scaled(src, alpha), _along(xp, sshape, d, idx), shape, False)
    return show_as(_ew.add(x, placed), "IndexAddBackward0", input, source)


def _scatter_index(
    x: Any, dim: int, index: Any, src: Any, check: Any = None
) -> tuple[Any, Any, Any]:
    """PyTorch's checks of scatter's arguments, in its order (``check()`` runs where it checks
    ``reduce``), for an ``x`` of at least one dimension.

    Returns ``(where, part, src)``: the advanced index of the positions ``index`` points at,
    the slices of ``src`` that go there, and ``src`` (made 1-D when 0-D). ``where`` is
    ``None`` when ``index`` is empty: nothing is written.
    """
    idx = _index_raw(index)
    shape = tuple(x.shape)
    d = _wrap_dim(dim, len(shape))
    if idx.size and idx.dtype != _I64 and idx.dtype != _I32:
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if src is not None and src.dtype != x.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if idx.size:
        # A 0-D index or src counts as 1-D.
        ishape = tuple(idx.shape) or (1,)
        if len(ishape) != len(shape):
            raise RuntimeError(
                "Index tensor must have the same number of dimensions as self tensor"
            )
        wrong = any(k != d and i > n for k, (i, n) in enumerate(zip(ishape, shape)))
        if src is not None:
            sshape = tuple(src.shape)
            if (not sshape and len(ishape) > 1) or len(sshape) > len(ishape):
                raise RuntimeError(
                    "Index tensor must have the same number of dimensions as src tensor"
                )
            for k, i in enumerate(ishape):
                if wrong:
                    break
                if k >= len(sshape or (1,)):
                    _wrap_dim(k, len(sshape))  # PyTorch's IndexError for src.size(k)
                wrong = i > (sshape or (1,))[k]
            if wrong:
                raise RuntimeError(
                    f"Expected index {_dims_of(idx.shape)} to be no larger than self "
                    f"{_dims_of(shape)} apart from dimension {d} and to be no larger size than "
                    f"src {_dims_of(sshape)}"
                )
            if not sshape:
                src = _shp.reshape(src, (1,))
        elif wrong:
            raise RuntimeError(
                f"Expected index {_dims_of(idx.shape)} to be no larger than self "
                f"{_dims_of(shape)} apart from dimension {d}"
            )
    if check is not None:
        check()
    if not idx.size:
        return None, None, src
    idx = idx.reshape(ishape)
    size = shape[d]
    bad = (idx < 0) | (idx >= size)
    if bad.any():  # negative indices are out of range too, as in PyTorch
        first = int(idx.reshape(-1)[int(bad.reshape(-1).argmax())])
        raise RuntimeError(f"index {first} is out of bounds for dimension {d} with size {size}")
    xp = namespace(_raw(x))
    idx = xp.asarray(idx)
    return _along(xp, ishape, d, idx), tuple(slice(0, n) for n in ishape), src


def _part(s: Any, part: Any) -> Any:
    """``s[part]``: the values of ``src`` that an index of the slices ``part`` scatters."""
    return s if tuple(s.shape) == tuple(p.stop for p in part) else s[part]


def _at_least_1d(x: Any) -> Any:
    """``x`` as 1-D when 0-D (PyTorch's scatters read a 0-D tensor as one element along dim 0)."""
    return _shp.reshape(x, (1,)) if not tuple(x.shape) else x


def _like_input(out: Any, x: Any) -> Any:
    return _shp.reshape(out, ()) if not tuple(x.shape) else out


#: The array module's function each reduction applies position by position.
_UFUNC_OF = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _reduce_identity(xp: Any, dtype: Any, reduce: str) -> Any:
    """The value a reduction starts from where ``include_self=False``."""
    if reduce in ("amax", "amin"):
        high = reduce == "amin"
        if dtype.kind in "fc":
            return xp.asarray(math.inf if high else -math.inf, dtype=dtype)
        if dtype.kind == "b":
            return xp.asarray(high, dtype=dtype)
        info = np.iinfo(dtype)
        return xp.asarray(info.max if high else info.min, dtype=dtype)
    return xp.asarray(1 if reduce == "prod" else 0, dtype=dtype)


def _reduce_at(
    xp: Any, out: Any, index: Any, s: Any, reduce: str, use_at: bool | None = None
) -> Any:
    """Combine ``s`` into ``out[index]`` in place, element by element in order, so that
    repeated positions reduce together (NumPy's ``ufunc.at``).

    Array modules without ``ufunc.at`` for every function (CuPy) take rounds instead: each
    round updates positions that are distinct, the ``r``-th value aimed at each position.
    """
    op = getattr(xp, _UFUNC_OF[reduce])
    if use_at is None:
        use_at = getattr(xp, "__name__", "") == "numpy"
    if use_at:
        op.at(out, index, s)
        return out
    flat = out.reshape(-1)  # a view: ``out`` is C-contiguous
    pos = xp.arange(out.size).reshape(out.shape)[index]
    vals = xp.broadcast_to(s, pos.shape).reshape(-1)
    pos = pos.reshape(-1)
    if not pos.size:
        return out
    order = xp.argsort(pos, kind="stable")
    pos, vals = pos[order], vals[order]
    rank = xp.arange(pos.size) - xp.searchsorted(pos, pos, side="left")
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        at = pos[sel]
        flat[at] = op(flat[at], vals[sel])
    return out


def _scatter_reduce_fwd(
    xp: Any, x: Any, s: Any, index: Any, reduce: str, include_self: bool
) -> Any:
    out = xp.array(x, copy=True, order="C")
    if not include_self:
        out[index] = _reduce_identity(xp, out.dtype, reduce)
    _reduce_at(xp, out, index, s, reduce)
    if reduce == "mean":
        count = xp.zeros(out.shape, dtype=out.dtype)
        _reduce_at(xp, count, index, xp.ones((), dtype=out.dtype), "sum")
        if include_self:
            count += 1
        else:
            count[count == 0] = 1
        out = out // count if out.dtype.kind in "iu" else out / count
    return out


def _ties(x: Any, s: Any, out: Any, index: Any) -> tuple[Any, Any, Any]:
    """For amax and amin: where ``x`` and ``s`` equal the result, and how many values share
    each result (``x`` counted even where ``include_self=False``, as PyTorch counts it)."""
    o = _raw(out)
    self_is = (_raw(x) == o).astype(o.dtype)
    src_is = (_raw(s) == o[index]).astype(o.dtype)
    n = _ix.scatter(src_is, index, tuple(o.shape), False) + self_is
    return self_is, src_is, n


def _self_factor(x: Any, s: Any, index: Any, include_self: bool) -> Any:
    """For prod: d out / d x, the product of the other factors at each position (PyTorch's
    way: the product with ``x`` read as 1 where it is 0, divided by that)."""
    xr = _raw(x)
    one = namespace(xr).ones((), dtype=xr.dtype)
    masked = _ew.where(xr == 0, one, x)
    return _ew.true_divide(_scatter_reduce_bind(masked, s, index, "prod", include_self), masked)


def _src_factor(x: Any, s: Any, out: Any, index: Any, include_self: bool) -> tuple[Any, Any]:
    """For prod: d out[index] / d s, the product of the other factors (PyTorch's way:
    ``out / s``, or where ``s`` is the only zero at its position, the product with it read
    as 1); and how many zeros of ``s`` each position of the result receives."""
    sr = _raw(s)
    one = namespace(sr).ones((), dtype=sr.dtype)
    zero = sr == 0
    zeros_at = _ix.scatter(zero.astype(sr.dtype), index, tuple(_raw(x).shape), False)
    single = zero & (zeros_at[index] == 1)
    alt = _scatter_reduce_bind(x, _ew.where(single, one, s), index, "prod", include_self)
    factor = _ew.where(
        single,
        _ix.getitem(alt, index),
        _ew.true_divide(_ix.getitem(out, index), _ew.where(zero, one, s)),
    )
    return factor, zeros_at


def _double_backward_error(g: Any, x: Any, out: Any) -> Any:
    raise RuntimeError(
        "scatter_reduce(): Double backward is unsupported for src when >1 zeros in src are "
        "scattered to the same position in self"
    )


#: The gradient of prod for src where two zeros or more meet: PyTorch's formula does not
#: define its own gradient, and differentiating it raises (PyTorch's ``Error`` node).
DELAYED_ERROR = Primitive(
    "delayed_error",
    lambda xp, x: xp.array(x, copy=True),
    (_double_backward_error,),
    lambda t, x, out: t[0],
    uses=((),),
    grad_fn="torch::autograd::Error",
)


def _scatter_reduce_self_grad(
    g: Any, x: Any, s: Any, out: Any, index: Any, reduce: str, include_self: bool
) -> Any:
    if reduce == "sum":
        gs = g
    elif reduce == "mean":
        gs = _ew.true_divide(g, _mean_count(_raw(out), index, include_self))
    elif reduce == "prod":
        gs = _ew.multiply(g, _self_factor(x, s, index, include_self))
    else:
        self_is, _, n = _ties(x, s, out, index)
        gs = _ew.multiply(self_is, _ew.true_divide(g, n))
    return gs if include_self else _ix.index_put(gs, 0, index)


def _scatter_reduce_src_grad(
    g: Any, x: Any, s: Any, out: Any, index: Any, reduce: str, include_self: bool
) -> Any:
    if reduce == "sum":
        return _ix.getitem(g, index)
    if reduce == "mean":
        return _ix.getitem(_ew.true_divide(g, _mean_count(_raw(out), index, include_self)), index)
    if reduce == "prod":
        factor, zeros_at = _src_factor(x, s, out, index, include_self)
        gs = _ew.multiply(_ix.getitem(g, index), factor)
        if isinstance(gs, Tensor) and gs.requires_grad and bool((zeros_at > 1).any()):
            from .primitive import bind

            gs = bind(DELAYED_ERROR, (gs,))
        return gs
    _, src_is, n = _ties(x, s, out, index)
    return _ew.multiply(src_is, _ix.getitem(_ew.true_divide(g, n), index))


def _mean_count(o: Any, index: Any, include_self: bool) -> Any:
    """How many values each position of the result averages (at least 1)."""
    xp = namespace(o)
    count = _ix.scatter(xp.ones(o[index].shape, dtype=o.dtype), index, tuple(o.shape), False)
    if include_self:
        return count + 1
    return xp.where(count == 0, xp.ones((), dtype=o.dtype), count)


def _scatter_reduce_jvp(
    t: Any, x: Any, s: Any, out: Any, index: Any, reduce: str, include_self: bool
) -> Any:
    tx, ts = t
    shape = tuple(_raw(out).shape)
    if reduce in ("sum", "mean"):
        tx = tx if tx is not None else _shp.fill(x, 0)
        ts = ts if ts is not None else _shp.fill(s, 0)
        return _scatter_reduce_bind(tx, ts, index, reduce, include_self)
    if reduce == "prod":
        self_t = None if tx is None else _ew.multiply(tx, _self_factor(x, s, index, include_self))
        src_t = None
        if ts is not None:
            factor = _src_factor(x, s, out, index, include_self)[0]
            src_t = _ix.scatter(_ew.multiply(ts, factor), index, shape, False)
    else:
        self_is, src_is, n = _ties(x, s, out, index)
        self_t = None if tx is None else _ew.true_divide(_ew.multiply(self_is, tx), n)
        src_t = None
        if ts is not None:
            src_t = _ew.true_divide(_ix.scatter(_ew.multiply(src_is, ts), index, shape, False), n)
    if self_t is not None and not include_self:
        self_t = _ix.index_put(self_t, 0, index)
    return _ew._tsum(self_t, src_t)


SCATTER_REDUCE = Primitive(
    "scatter_reduce",
    _scatter_reduce_fwd,
    (_scatter_reduce_self_grad, _scatter_reduce_src_grad),
    _scatter_reduce_jvp,
    grad_fn="ScatterReduceBackward0",
)


def _scatter_reduce_bind(x: Any, s: Any, index: Any, reduce: str, include_self: bool) -> Any:
    from .primitive import bind

    params = {"index": index, "reduce": reduce, "include_self": include_self}
    return bind(SCATTER_REDUCE, (x, s), params)


def _no_scatter_derivative(g: Any, *args: Any, **params: Any) -> Any:
    raise RuntimeError("derivative for aten::scatter is not implemented")


def _no_scatter_jvp(t: Any, *args: Any, **params: Any) -> Any:
    raise NotImplementedError(
        "Trying to use forward AD with aten::scatter that does not support it."
    )


#: ``scatter(..., reduce=)``: PyTorch defines no derivative for it, and neither does this.
SCATTER_REDUCED = Primitive(
    "scatter",
    _scatter_reduce_fwd,
    (_no_scatter_derivative, _no_scatter_derivative),
    _no_scatter_jvp,
    uses=((), ()),
    grad_fn="torch::autograd::NotImplemented",
)


def _scatter_reduce_batch_rule(prim: Primitive) -> Any:
    """vmap: the batch axis first on both operands, and a full slice in front of the index."""

    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        from .primitive import bind

        n = _batching._size(vals, dims)
        x = _batching._front(vals[0], dims[0], n)
        s = _batching._front(vals[1], dims[1], n)
        p = dict(params)
        p["index"] = (slice(None),) + tuple(params["index"])
        return bind(prim, (x, s), p), 0

    return rule


def scatter(
    input: Any,  # noqa: A002
    dim: int,
    index: Any,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Any:
    """``input`` with ``src[i][j]`` written at ``[index[i][j]][j]`` (``dim=0``), or ``value``
    everywhere ``index`` points (``ScatterBackward0`` / ``ScatterBackward1``).

    With ``reduce="add"`` or ``"multiply"`` the values are added to or multiplied into
    ``input`` instead, repeated indices accumulating. As in PyTorch that form has no
    derivative: its result shows ``torch::autograd::NotImplemented``, and differentiating
    through it raises ``RuntimeError`` (``NotImplementedError`` in forward mode). With a
    tensor ``src`` it warns, as PyTorch does, that :func:`scatter_reduce` is the function for
    reductions.

    >>> tg.scatter(tg.zeros(2, 3), 1, tg.tensor([[2], [0]]), tg.tensor([[1.0], [2.0]]))
    tensor([[0., 0., 1.],
            [2., 0., 0.]])
    >>> tg.scatter(tg.ones(3), 0, tg.tensor([0, 0, 2]), value=2.0, reduce="multiply")
    tensor([4., 1., 2.])
    """
    if src is not None and value is not None:
        raise TypeError("scatter() takes src or value, not both")
    if src is None and value is None:
        raise TypeError("scatter() missing src or value")
    x = _in(input)
    if reduce is not None:
        return _scatter_reduced(input, x, dim, index, src, value, reduce)
    x1 = _at_least_1d(x)
    if src is None or isinstance(src, (int, float, builtins.bool)):
        value = src if value is None else value
        where, _, _ = _scatter_index(x1, dim, index, None)
        if where is None:
            out = _shp.clone(x1)
        else:
            out = _ix.index_put(x1, namespace(_raw(x)).asarray(value, dtype=x.dtype), where)
        return show_as(_like_input(out, x), "ScatterBackward1", input)
    where, part, s = _scatter_index(x1, dim, index, _in(src))
    out = _shp.clone(x1) if where is None else _ix.index_put(x1, s[part], where)
    return show_as(_like_input(out, x), "ScatterBackward0", input, src)


def _scatter_reduced(
    input: Any,  # noqa: A002
    x: Any,
    dim: int,
    index: Any,
    src: Any,
    value: Any,
    reduce: Any,
) -> Any:
    """``scatter(..., reduce=)``: ``add`` or ``multiply`` into ``input``."""
    from .primitive import bind

    def check() -> None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")

    x1 = _at_least_1d(x)
    xp = namespace(_raw(x))
    if src is None or isinstance(src, (int, float, complex, builtins.bool)):
        value = src if value is None else value
        where, part, _ = _scatter_index(x1, dim, index, None, check)
        shown: tuple[Any, ...] = (input,)
        if where is not None:
            # The value in input's dtype (2.5 multiplies an integer tensor by 2, as in PyTorch).
            v = xp.asarray(value).astype(x.dtype)
            s: Any = xp.broadcast_to(v, tuple(p.stop for p in part))
    else:
        warnings.warn(
            "The reduce argument of scatter with Tensor src is deprecated in PyTorch; "
            "use scatter_reduce instead for more reduction options.",
            UserWarning,
            stacklevel=3,
        )
        where, part, s = _scatter_index(x1, dim, index, _in(src), check)
        shown = (input, src)
        if where is not None:
            s = _part(s, part)
    if where is None:
        out = _shp.clone(x1)
    else:
        red = "sum" if reduce == "add" else "prod"
        out = bind(SCATTER_REDUCED, (x1, s), {"index": where, "reduce": red, "include_self": True})
    return show_as(_like_input(out, x), "torch::autograd::NotImplemented", *shown)


def scatter_add(input: Any, dim: int, index: Any, src: Any) -> Any:  # noqa: A002
    """``input`` with ``src[i][j]`` added at ``[index[i][j]][j]`` (``dim=0``); repeated
    indices add up (``ScatterAddBackward0``).

    >>> tg.scatter_add(tg.zeros(3), 0, tg.tensor([0, 0, 2]), tg.tensor([1.0, 2.0, 3.0]))
    tensor([3., 0., 3.])
    """
    x = _in(input)
    x1 = _at_least_1d(x)
    where, part, s = _scatter_index(x1, dim, index, _in(src))
    if where is None:
        out = _shp.clone(x1)
    else:
        out = _ew.add(x1, _ix.scatter(s[part], where, tuple(x1.shape), False))
    return show_as(_like_input(out, x), "ScatterAddBackward0", input, src)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(
    input: Any,  # noqa: A002
    dim: int,
    index: Any,
    src: Any,
    reduce: str,
    *,
    include_self: bool = True,
) -> Any:
    """``input`` with the values of ``src`` reduced into the positions ``index`` points at
    along ``dim`` (``[index[i][j]][j]`` for ``src[i][j]`` when ``dim=0``), as PyTorch's
    ``scatter_reduce`` (``ScatterReduceBackward0``).

    Parameters
    ----------
    input : Tensor or array
    dim : int
    index : Tensor or array of int64 or int32
        ``input``'s number of dimensions, no larger than ``src``, nor than ``input`` off
        ``dim``; repeated indices reduce together.
    src : Tensor or array
        Of ``input``'s dtype.
    reduce : {"sum", "prod", "mean", "amax", "amin"}
    include_self : bool
        Whether the values of ``input`` at the positions written take part in the reduction
        (else they are replaced). Positions nothing is scattered to keep ``input``.

    Returns
    -------
    Tensor or array
        ``input``'s shape and dtype; ``mean`` rounds down for integers.

    Notes
    -----
    The gradients are PyTorch's. ``amax`` and ``amin`` share a result's gradient evenly
    between the values equal to it (counting the value of ``input`` there even with
    ``include_self=False``, as PyTorch does). ``prod`` handles zeros: the gradient of a factor
    is the product of the others. Forward mode (``jvp``) gives the same linearisation, also
    for ``prod``.

    Examples
    --------
    >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> src = tg.tensor([4.0, 5.0, 6.0, 7.0])
    >>> out = tg.scatter_reduce(x, 0, tg.tensor([0, 0, 2, 2]), src, "amax")
    >>> out
    tensor([5., 2., 7.], grad_fn=<ScatterReduceBackward0>)
    >>> tg.scatter_reduce(x, 0, tg.tensor([0, 0, 2, 2]), src, "mean", include_self=False)
    tensor([4.5000, 2.0000, 6.5000], grad_fn=<ScatterReduceBackward0>)
    >>> out.sum().backward()
    >>> x.grad
    tensor([0., 1., 0.])
    """
    x, s = _in(input), _in(src)
    if not isinstance(reduce, str):
        raise TypeError(
            "scatter_reduce(): argument 'reduce' (position 5) must be str, not "
            f"{type(reduce).__name__}"
        )

    def check() -> None:
        if reduce not in _REDUCTIONS:
            raise RuntimeError(
                f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
            )

    x1 = _at_least_1d(x)
    where, part, s1 = _scatter_index(x1, dim, index, s, check)
    kind = x.dtype.kind
    if (kind == "c" and reduce in ("amax", "amin")) or (kind == "b" and reduce == "mean"):
        device = "cpu" if _raw(x).__class__ is np.ndarray else "cuda"
        raise NotImplementedError(
            f'"scatter_gather_tensor_{device}_reduce_{reduce}" not implemented for '
            f"'{dtype_title(x.dtype)}'"
        )
    if kind == "c" and _is_tracked(x, s):
        raise RuntimeError(
            "scatter_reduce does not support automatic differentiation for outputs with "
            "complex dtype."
        )
    if where is None:
        out = _shp.clone(x1)
    else:
        out = _scatter_reduce_bind(x1, _part(s1, part), where, reduce, bool(include_self))
    return show_as(_like_input(out, x), "ScatterReduceBackward0", input, src)


def _is_tracked(*xs: Any) -> bool:
    from .tape import is_grad_enabled

    return is_grad_enabled() and any(isinstance(v, Tensor) and v.requires_grad for v in xs)


def index_fill(input: Any, dim: int, index: Any, value: Any) -> Any:  # noqa: A002
    """``input`` with the slices at ``index`` along ``dim`` set to ``value``
    (``IndexFillBackward0``).

    >>> tg.index_fill(tg.zeros(2, 3), 1, tg.tensor([0, 2]), 5.0)
    tensor([[5., 0., 5.],
            [5., 0., 5.]])
    """
    x = _in(input)
    shape = tuple(x.shape)
    d = _wrap_dim(dim, len(shape))
    idx = _index_raw(index)
    if idx.ndim > 1:
        raise IndexError("Index has to be a vector/scalar")
    idx = idx.reshape(-1)
    _check_bounds(idx, d, shape[d] if shape else 1)
    if not shape:
        where: Any = () if idx.size else (slice(0, 0),)
        if not idx.size:
            return _shp.clone(x)
    else:
        where = (slice(None),) * d + (namespace(_raw(x)).asarray(idx),)
    if isinstance(value, Tensor):
        out = _ix.index_put(x, _shp.astype(value, x.dtype), where)
        return show_as(out, "IndexFillBackward1", input, value)
    out = _ix.index_put(x, namespace(_raw(x)).asarray(value, dtype=x.dtype), where)
    return show_as(out, "IndexFillBackward0", input)


# ------------------------------------------------------------------------ construction


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Any, ...]:
    """Coordinate grids of 0-d or 1-d tensors: ``'ij'`` (the default) indexes the grid by
    the tensors in order, ``'xy'`` swaps the first two dimensions.

    >>> a, b = tg.meshgrid(tg.tensor([1, 2]), tg.tensor([3, 4, 5]), indexing="ij")
    >>> b
    tensor([[3, 4, 5],
            [3, 4, 5]])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    xs = [_in(t) for t in tensors]
    for x in xs:
        if _ndim(x) > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: " + repr(x)
            )
    sizes = [int(np.prod(tuple(x.shape))) for x in xs]
    axes = list(range(len(xs)))
    if indexing == "xy" and len(xs) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(xs)
    for a, s in zip(axes, sizes):
        shape[a] = s
    out = []
    for a, x in zip(axes, xs):
        view = [1] * len(xs)
        view[a] = -1
        out.append(_shp.broadcast_to(_shp.reshape(x, tuple(view)), tuple(shape)))
    return tuple(out)


def cartesian_prod(*tensors: Any) -> Any:
    """The Cartesian product of 1-D tensors, one combination a row (a single tensor comes
    back as it is).

    >>> tg.cartesian_prod(tg.tensor([1, 2]), tg.tensor([3, 4]))
    tensor([[1, 3],
            [1, 4],
            [2, 3],
            [2, 4]])
    """
    xs = [_in(t) for t in tensors]
    for x in xs:
        if _ndim(x) != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {_dims_of(x.shape)}")
    if len(xs) == 1:
        return xs[0]
    grids = meshgrid(*xs, indexing="ij")
    return _shp.stack([_shp.reshape(g, (-1,)) for g in grids], axis=1)


def block_diag(*tensors: Any) -> Any:
    """A block-diagonal matrix of the given tensors (0-d as 1x1, 1-d as a row)
    (``BlockDiagBackward0``).

    >>> tg.block_diag(tg.tensor([[1.0, 2.0]]), tg.tensor(3.0))
    tensor([[1., 2., 0.],
            [0., 0., 3.]])
    """
    from .creation import zeros

    xs = []
    for i, t in enumerate(tensors):
        x = _in(t)
        nd = _ndim(x)
        if nd > 2:
            raise RuntimeError(
                "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{i} has {nd} dimensions"
            )
        xs.append(x if nd == 2 else _shp.reshape(x, (1, -1)))
    if not xs:
        return zeros(1, 0)
    dtype = np.result_type(*[x.dtype for x in xs])
    rows = builtins.sum(x.shape[0] for x in xs)
    cols = builtins.sum(x.shape[1] for x in xs)
    xp = namespace(_raw(xs[0]))
    out: Any = xp.zeros((rows, cols), dtype=dtype)
    r = c = 0
    for x in xs:
        h, w = x.shape
        if h and w:
            v = x if x.dtype == dtype else _shp.astype(x, dtype)
            out = _ix.index_put(out, v, (slice(r, r + h), slice(c, c + w)))
        r, c = r + h, c + w
    if not isinstance(out, Tensor) and any(isinstance(t, Tensor) for t in tensors):
        out = Tensor._make(out)
    return show_as(out, "BlockDiagBackward0", *tensors)


def _tri_indices(which: str, row: int, col: int, offset: int, dtype: Any, device: Any) -> Any:
    from .creation import tensor

    r, c = getattr(np, which)(row, offset, col)
    return tensor(np.stack([r, c]).astype(np.int64), dtype=dtype, device=device)


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None
) -> Any:
    """The row and column indices (a ``2 x N`` tensor) of the lower triangle of a
    ``row x col`` matrix, diagonal ``offset`` included.

    >>> tg.tril_indices(3, 3)
    tensor([[0, 1, 1, 2, 2, 2],
            [0, 0, 1, 0, 1, 2]])
    """
    return _tri_indices("tril_indices", row, col, offset, dtype or _I64, device)


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None
) -> Any:
    """The row and column indices of the upper triangle of a ``row x col`` matrix.

    >>> tg.triu_indices(2, 3, 1)
    tensor([[0, 0, 1],
            [1, 2, 2]])
    """
    return _tri_indices("triu_indices", row, col, offset, dtype or _I64, device)


# ------------------------------------------------------------------------ linear algebra


def addmv(input: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:  # noqa: A002
    """``beta * input + alpha * (mat @ vec)`` (``AddmvBackward0``).

    >>> tg.addmv(tg.ones(2), tg.eye(2), tg.tensor([1.0, 2.0]), alpha=2)
    tensor([3., 5.])
    """
    x, m, v = _in(input), _in(mat), _in(vec)
    if _ndim(m) != 2 or _ndim(v) != 1 or _ndim(x) > 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {_ndim(x)}, {_ndim(m)}, {_ndim(v)}"
        )
    if m.shape[1] != v.shape[0] or (_ndim(x) == 1 and x.shape[0] not in (1, m.shape[0])):
        raise RuntimeError(
            f"size mismatch, got input ({_dims_of(x.shape)[1:-1]}), mat "
            f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})"
        )
    out = _add_scaled(x, _la.matmul(m, v), beta, alpha)
    return show_as(out, "AddmvBackward0", input, mat, vec)


def addr(input: Any, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:  # noqa: A002
    """``beta * input + alpha * outer(vec1, vec2)`` (``AddrBackward0``).

    >>> tg.addr(tg.zeros(2, 2), tg.tensor([1.0, 2.0]), tg.tensor([1.0, 3.0]))
    tensor([[1., 3.],
            [2., 6.]])
    """
    x, a, b = _in(input), _in(vec1), _in(vec2)
    for name, v in (("vec1", a), ("vec2", b)):
        if _ndim(v) != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {_ndim(v)}-D")
    out = _add_scaled(x, _la.outer(a, b), beta, alpha)
    return show_as(out, "AddrBackward0", input, vec1, vec2)


def _check_batches(b1: Any, b2: Any) -> None:
    for name, b in (("batch1", b1), ("batch2", b2)):
        if _ndim(b) != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if b1.shape[0] != b2.shape[0] or b1.shape[2] != b2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{b1.shape[0]}, {b1.shape[2]}] but got: [{b2.shape[0]}, {b2.shape[1]}]."
        )


def baddbmm(
    input: Any,  # noqa: A002
    batch1: Any,
    batch2: Any,
    *,
    beta: Any = 1,
    alpha: Any = 1,
) -> Any:
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices
    (``BaddbmmBackward0``).

    >>> tg.baddbmm(tg.ones(2, 1, 1), tg.ones(2, 1, 3), tg.ones(2, 3, 1)).reshape(-1)
    tensor([4., 4.])
    """
    x, b1, b2 = _in(input), _in(batch1), _in(batch2)
    _check_batches(b1, b2)
    out = _add_scaled(x, _la.matmul(b1, b2), beta, alpha)
    return show_as(out, "BaddbmmBackward0", input, batch1, batch2)


def addbmm(
    input: Any,  # noqa: A002
    batch1: Any,
    batch2: Any,
    *,
    beta: Any = 1,
    alpha: Any = 1,
) -> Any:
    """``beta * input + alpha * sum_i batch1[i] @ batch2[i]`` (``AddbmmBackward0``).

    >>> tg.addbmm(tg.zeros(1, 1), tg.ones(2, 1, 3), tg.ones(2, 3, 1))
    tensor([[6.]])
    """
    x, b1, b2 = _in(input), _in(batch1), _in(batch2)
    _check_batches(b1, b2)
    product = _red.sum(_la.matmul(b1, b2), 0, False, dim_given=True)
    out = _add_scaled(x, product, beta, alpha)
    return show_as(out, "AddbmmBackward0", input, batch1, batch2)


def cdist(
    x1: Any,
    x2: Any,
    p: float = 2.0,
    compute_mode: str = "use_mm_for_euclid_dist_if_necessary",
) -> Any:
    """The ``p``-norm distances between the rows of ``x1`` (``[..., P, M]``) and of ``x2``
    (``[..., R, M]``), a ``[..., P, R]`` tensor (``CdistBackward0``).

    >>> tg.cdist(tg.tensor([[0.0, 0.0]]), tg.tensor([[3.0, 4.0], [1.0, 0.0]]))
    tensor([[5., 1.]])
    """
    a, b = _in(x1), _in(x2)
    for name, v in (("X1", a), ("X2", b)):
        if _ndim(v) < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {_ndim(v)}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    diff = _ew.subtract(_shp.expand_dims(a, -2), _shp.expand_dims(b, -3))
    out = _red.norm(diff, p, -1, False)
    return show_as(out, "CdistBackward0", x1, x2)


# Both are elementwise and broadcasting: vmap batches them like the other binary operations.
_batching.register_elementwise(FMOD)
_batching.register_elementwise(XLOGY)
_batching.register_elementwise(DELAYED_ERROR)
_batching.register(SCATTER_REDUCE, _scatter_reduce_batch_rule(SCATTER_REDUCE))
_batching.register(SCATTER_REDUCED, _scatter_reduce_batch_rule(SCATTER_REDUCED))
