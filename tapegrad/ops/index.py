"""Indexing: ``x[idx]`` (basic, integer-array and boolean), ``x[idx] = v``, and the gathers
built on them: ``take``, ``take_along_axis`` and PyTorch's ``gather``.

The cotangent of ``x[idx]`` is scattered back with ``add.at``, so repeated integer indices
add up. Writing ``x[idx] = v`` into a tensor in the graph records an out-of-place
``index_put`` and rebinds the tensor to its result, as PyTorch's ``CopySlices`` does. The
gathers are ``x[idx]`` with an index they build (``getitem`` named after PyTorch's node).

Out-of-range indices raise ``IndexError``: NumPy checks them itself; on other array modules
(CuPy wraps them around) the bounds are checked before indexing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import namespace
from ..primitive import Primitive, bind, bind1
from ..replay.trace import RECORDING_NUMPY
from ..tensor import Tensor
from ._broadcast import unbroadcast

__all__ = [
    "getitem",
    "scatter",
    "index_put",
    "normalize_index",
    "take",
    "take_along_axis",
    "gather",
]

_NDARRAY = np.ndarray
_normalize_axis_index = np.lib.array_utils.normalize_axis_index


def normalize_index(index: Any) -> Any:
    """Tensors inside an index become their arrays; lists become integer or boolean arrays."""

    def one(i: Any) -> Any:
        if isinstance(i, Tensor):
            return i.data
        if isinstance(i, list):
            return np.asarray(i)
        return i

    if isinstance(index, tuple):
        return tuple(one(i) for i in index)
    return one(index)


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


def _index_name(index: Any) -> str:
    """PyTorch's node for ``x[index]``: the last operation its indexing performs."""
    items = index if isinstance(index, tuple) else (index,)
    if not _is_basic(index):
        return "IndexBackward0"
    last = None
    full_slice = False
    for i in items:
        if isinstance(i, (int, np.integer)):
            last = "SelectBackward0"
        elif isinstance(i, slice):
            if i == slice(None):
                full_slice = True
            else:
                last = "SliceBackward0"
        elif i is None and last is None:
            last = "UnsqueezeBackward0"
    return last or ("SliceBackward0" if full_slice else "AliasBackward0")


def _check_bounds(shape: tuple[int, ...], index: Any) -> None:
    """Raise NumPy's ``IndexError`` for an integer array index out of range.

    Only needed where the array module does not check (CuPy wraps indices around).
    """
    items = index if isinstance(index, tuple) else (index,)
    consumed = 0
    for i in items:
        if i is None or i is Ellipsis:
            continue
        consumed += getattr(i, "ndim", 1) if getattr(i, "dtype", None) == np.bool_ else 1
    axis = 0
    for i in items:
        if i is None:
            continue
        if i is Ellipsis:
            axis += len(shape) - consumed
            continue
        dtype = getattr(i, "dtype", None)
        if dtype is not None and dtype == np.bool_:
            axis += i.ndim
            continue
        if dtype is not None and dtype.kind in "iu" and getattr(i, "size", 0) and axis < len(shape):
            n = shape[axis]
            lo, hi = int(i.min()), int(i.max())
            if hi >= n or lo < -n:
                bad = hi if hi >= n else lo
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
        axis += 1


def _scatter_fwd(xp: Any, g: Any, index: Any, shape: Any, basic: bool) -> Any:
    if basic:
        z = xp.zeros(shape, dtype=g.dtype)
        z[index] = g
        return z
    return _scatter_add(xp, g, index, shape)


def _scatter_add(xp: Any, g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index``, repeated positions adding up."""
    z = xp.zeros(shape, dtype=g.dtype)
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(z, index, g)
        return z
    # An array module without ``ufunc.at``: sum by flat position with ``bincount``.
    pos = xp.arange(z.size).reshape(shape)[index]
    flat = pos.reshape(-1)
    w = xp.broadcast_to(g, pos.shape).reshape(-1)
    if w.dtype.kind == "c":
        re = xp.bincount(flat, weights=w.real, minlength=z.size)
        im = xp.bincount(flat, weights=w.imag, minlength=z.size)
        total = re + 1j * im
    else:
        total = xp.bincount(flat, weights=w, minlength=z.size)
    return total.reshape(shape).astype(g.dtype)


def _getitem_grad(
    g: Any, x: Any, out: Any, index: Any, shape: Any, basic: bool, name: str | None = None
) -> Any:
    if g.__class__ is _NDARRAY:  # a sweep that records nothing: NumPy at once
        return _scatter_fwd(np, g, index, shape, basic)
    return scatter(g, index, shape, basic)


def _scatter_grad(g: Any, x: Any, out: Any, index: Any, shape: Any, basic: bool) -> Any:
    return g[index] if g.__class__ is _NDARRAY else getitem(g, index)


def _getitem_fwd(xp: Any, x: Any, index: Any, shape: Any, basic: bool, name: Any = None) -> Any:
    out = x[index]
    if out.__class__ is not _NDARRAY and basic and x.__class__ is _NDARRAY:
        # One element: NumPy hands back a scalar, a copy. Its 0-d view is what PyTorch gives,
        # so that ``x[0].add_(1)`` writes into ``x``.
        out = x[(*index, Ellipsis)] if index.__class__ is tuple else x[index, ...]
    return out


GETITEM = Primitive(
    "getitem",
    _getitem_fwd,
    (_getitem_grad,),
    lambda t, x, out, index, shape, basic, name=None: getitem(t[0], index),
    uses=((),),
    grad_fn=lambda p: p.get("name") or _index_name(p["index"]),
    view=True,
)
SCATTER = Primitive(
    "scatter",
    _scatter_fwd,
    (_scatter_grad,),
    lambda t, x, out, index, shape, basic: scatter(t[0], index, shape, basic),
    uses=((),),
    grad_fn="IndexAddBackward0",
)


def _index_put_fwd(xp: Any, x: Any, v: Any, index: Any, name: str = "") -> Any:
    y = xp.array(x, copy=True)  # an array also when ``x`` is a 0-d NumPy scalar
    y[index] = v
    return y


def _zeros_like(x: Any) -> Any:
    """Zeros shaped like ``x`` (also where ``x`` holds infinities or NaN)."""
    from .shape import fill

    return fill(x, 0)


def _index_put_value_grad(g: Any, x: Any, v: Any, out: Any, index: Any, name: str = "") -> Any:
    region = getitem(g, index)
    vshape = tuple(v.shape) if hasattr(v, "shape") else ()
    extra = len(vshape) - len(tuple(region.shape))
    if extra > 0:
        # NumPy (like PyTorch) drops a value's leading length-1 axes to fit the region.
        from .shape import reshape

        region = reshape(unbroadcast(region, vshape[extra:]), vshape)
    else:
        region = unbroadcast(region, vshape)
    dtype = getattr(v, "dtype", None)
    if dtype is not None and dtype != region.dtype and dtype.kind in "fc":
        from .shape import astype

        region = astype(region, dtype)  # the value's gradient in the value's dtype
    return region


INDEX_PUT = Primitive(
    "index_put",
    _index_put_fwd,
    (
        lambda g, x, v, out, index, name="": index_put(g, 0, index),
        _index_put_value_grad,
    ),
    lambda t, x, v, out, index, name="": index_put(
        t[0] if t[0] is not None else _zeros_like(out), 0 if t[1] is None else t[1], index
    ),
    uses=((), (1,)),
    grad_fn=lambda p: p.get("name") or "IndexPutBackward0",
)


def _has_batched(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(i.__class__ is not _NDARRAY and getattr(i, "_batched", False) for i in items)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def getitem(x: Any, index: Any, *, name: str | None = None) -> Any:
    """``x[index]`` for basic, integer-array and boolean indices.

    Basic indices (integers, slices, ``None``, ``...``) give views; integer arrays gather,
    and the gradient of an element picked several times is the sum of its cotangents.

    Parameters
    ----------
    x : array or Tensor
    index
        Anything NumPy accepts; tensors and lists inside it are read as arrays.
    name : str, optional
        The backward node's name (by default PyTorch's name for this kind of index).

    Examples
    --------
    >>> from tapegrad.ops.index import getitem
    >>> getitem(np.arange(6.0).reshape(2, 3), (Ellipsis, [2, 0]))
    array([[2., 0.],
           [5., 3.]])
    >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward()
    >>> x.grad
    tensor([2., 0., 1.])
    """
    if index.__class__ is slice or index.__class__ is int:
        basic = True  # the most common index, which needs no normalising
    else:
        index = normalize_index(index)
        basic = _is_basic(index)
    shape = tuple(x.shape)
    if not basic:
        if _has_batched(index):
            # Indices that differ from example to example inside vmap.
            from ..batching import getitem as batched_getitem

            return batched_getitem(x, index)
        raw = _raw(x)
        if raw.__class__ is not _NDARRAY and namespace(raw) not in (np, RECORDING_NUMPY):
            # NumPy (and a replay of NumPy calls) raises for these itself.
            _check_bounds(shape, index)
    p: dict[str, Any] = {"index": index, "shape": shape, "basic": basic}
    if name is not None:
        p["name"] = name
    return bind(GETITEM, (x,), p)


def scatter(g: Any, index: Any, shape: Any, basic: bool) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up).

    ``basic`` says the index has no repeated positions (then plain assignment places ``g``).

    >>> from tapegrad.ops.index import scatter
    >>> scatter(np.ones(3), np.array([0, 2, 0]), (4,), False)
    array([2., 0., 1., 0.])
    """
    return bind1(SCATTER, g, {"index": index, "shape": tuple(shape), "basic": basic})


def index_put(x: Any, v: Any, index: Any, *, name: str | None = None) -> Any:
    """A copy of ``x`` with ``x[index] = v`` (out of place).

    >>> from tapegrad.ops.index import index_put
    >>> index_put(np.zeros(4), 1.0, slice(1, 3))
    array([0., 1., 1., 0.])
    """
    p: dict[str, Any] = {"index": normalize_index(index)}
    if name is not None:
        p["name"] = name
    return bind(INDEX_PUT, (x, v), p)


# ---------------------------------------------------------------------- gathers


def _index_array(indices: Any, like: Any, who: str) -> Any:
    """``indices`` as an integer array on the device of ``like`` (a value batched by vmap
    stays as it is)."""
    idx = normalize_index(indices)
    if not hasattr(idx, "dtype"):
        idx = np.asarray(idx)
    if getattr(idx, "_batched", False):
        if idx.dtype.kind not in "iu":
            raise IndexError(f"{who}: `indices` must be an integer array (got {idx.dtype})")
        return idx
    if idx.dtype == np.bool_:
        idx = idx.astype(np.intp)
    if idx.dtype.kind not in "iu":
        raise IndexError(f"{who}: `indices` must be an integer array (got {idx.dtype})")
    if idx.__class__ is not _NDARRAY and namespace(_raw(like)) is np:
        get = getattr(idx, "get", None)  # a device array indexing host data
        idx = get() if get is not None else np.asarray(idx)
    # Host indices stay on the host: device array modules index with them directly.
    return idx


def take(
    a: Any, indices: Any, axis: int | None = None, out: Any = None, mode: str = "raise"
) -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when ``None``).

    The result has the shape ``a.shape[:axis] + indices.shape + a.shape[axis + 1:]``.

    Parameters
    ----------
    a : array or Tensor
    indices : int or array of int
        Negative indices count from the end.
    axis : int or None
    out : None
        Not supported (``TypeError``).
    mode : {"raise", "wrap", "clip"}
        Out-of-range indices raise ``IndexError``, wrap around, or are clipped.

    Examples
    --------
    >>> from tapegrad.ops.index import take
    >>> take(np.arange(6.0).reshape(2, 3), [5, 0])
    array([5., 0.])
    >>> take(np.arange(6.0).reshape(2, 3), [[2], [-1]], axis=1).shape
    (2, 2, 1)
    """
    if out is not None:
        raise TypeError("take() does not support out=; use the returned array")
    x = a if hasattr(a, "shape") else np.asarray(a)
    idx = _index_array(indices, x, "take")
    name = "IndexSelectBackward0"
    if axis is None:
        from .shape import reshape

        x = reshape(x, (-1,))
        axis = 0
        name = "TakeBackward0"
    shape = tuple(x.shape)
    ax = _normalize_axis_index(int(axis), len(shape))
    n = shape[ax]
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    if mode != "raise":
        if n == 0:
            if idx.size:
                raise IndexError("cannot do a non-empty take from an empty axes.")
        elif mode == "wrap":
            idx = idx % n
        else:
            from .elementwise import maximum, minimum

            idx = maximum(minimum(idx, n - 1), 0)
    return getitem(x, (slice(None),) * ax + (idx,), name=name)


def _grids(xp: Any, shape: tuple[int, ...], axis: int) -> list[Any]:
    """``arange(shape[d])`` shaped to broadcast along axis ``d``, for every ``d`` but ``axis``."""
    nd = len(shape)
    return [
        None if d == axis else xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
        for d, n in enumerate(shape)
    ]


def take_along_axis(arr: Any, indices: Any, axis: int | None = -1) -> Any:
    """Pick ``arr``'s elements at ``indices`` along ``axis``, matching the other axes
    (NumPy's ``take_along_axis``, PyTorch's ``take_along_dim``; ``GatherBackward0``).

    ``indices`` has ``arr``'s number of dimensions and broadcasts against it off ``axis``;
    with ``axis=None`` the flattened array is indexed by 1-D ``indices``.

    >>> from tapegrad.ops.index import take_along_axis
    >>> x = np.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> take_along_axis(x, np.argsort(x, axis=1), axis=1)
    array([[10., 20., 30.],
           [40., 50., 60.]])
    """
    x = arr if hasattr(arr, "shape") else np.asarray(arr)
    idx = _index_array(indices, x, "take_along_axis")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        from .shape import reshape

        x = reshape(x, (-1,))
        axis = 0
    shape = tuple(x.shape)
    if idx.ndim != len(shape):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    ax = _normalize_axis_index(int(axis), len(shape))
    index = _grids(namespace(_raw(x)), shape, ax)
    index[ax] = idx
    try:
        np.broadcast_shapes(*(tuple(i.shape) for i in index))
    except ValueError:
        raise ValueError(
            f"shape mismatch: indices of shape {tuple(idx.shape)} cannot be broadcast against "
            f"the array of shape {shape} off axis {ax}"
        ) from None
    return getitem(x, tuple(index), name="GatherBackward0")


def gather(input: Any, dim: int, index: Any) -> Any:  # noqa: A002 - PyTorch's name
    """PyTorch's ``gather``: ``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim=0``.

    ``index`` has ``input``'s number of dimensions, and is no larger than ``input`` off
    ``dim``; the result has ``index``'s shape (``GatherBackward0``). Indices outside
    ``[0, input.shape[dim])`` raise ``IndexError`` (negative ones too, as in PyTorch).

    >>> from tapegrad.ops.index import gather
    >>> gather(np.array([[1.0, 2.0], [3.0, 4.0]]), 1, np.array([[0, 0], [1, 0]]))
    array([[1., 1.],
           [4., 3.]])
    """
    x = input if hasattr(input, "shape") else np.asarray(input)
    idx = _index_array(index, x, "gather")
    shape = tuple(x.shape)
    ishape = tuple(idx.shape)
    if len(ishape) != len(shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if not shape:  # a 0-d input is read as one element along dim 0
        from .shape import reshape

        return reshape(gather(reshape(x, (1,)), dim, reshape(idx, (1,))), ())
    ax = _normalize_axis_index(int(dim), len(shape))
    for d, (m, n) in enumerate(zip(ishape, shape)):
        if d != ax and m > n:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(ishape)} to be no "
                f"larger than self {list(shape)} apart from dimension {ax}"
            )
    if idx.size and not getattr(idx, "_batched", False):
        # As in PyTorch, negative indices are out of range too.
        lo, hi = int(idx.min()), int(idx.max())
        n = shape[ax]
        if hi >= n or lo < 0:
            bad = hi if hi >= n else lo
            raise IndexError(f"index {bad} is out of bounds for dimension {ax} with size {n}")
    grid = _grids(namespace(_raw(x)), ishape, ax)
    grid[ax] = idx
    return getitem(x, tuple(grid), name="GatherBackward0")
