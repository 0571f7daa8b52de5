"""Shape primitives and the shape functions built on them.

The primitives here are reshape, transpose, broadcast, dtype casts, copies, device moves,
concatenation (which also stacks), diagonals and triangles. Everything else is composed:
``swapaxes`` and ``moveaxis`` are transposes; ``split``, ``chunk`` and ``flip`` are basic
slices (views, as in NumPy); ``roll`` concatenates two slices; ``tile`` and ``repeat`` are a
broadcast between two reshapes (or an integer-array take); ``pad`` writes the array into a
constant frame or gathers it with an index map. Their derivatives, of any order and in both
modes, come from the primitives they are made of.

Reshape, transpose, slices and diagonals return views where NumPy does; the facade then
shares the version counter of the base, so an in-place change through either is seen by the
other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import namespace
from ..primitive import Primitive, bind, bind1
from ..tensor import Tensor
from ._broadcast import unbroadcast
from .index import getitem, index_put, scatter

__all__ = [
    "reshape",
    "transpose",
    "broadcast_to",
    "astype",
    "clone",
    "fill",
    "copy_from",
    "to_device",
    "expand_dims",
    "squeeze",
    "swapaxes",
    "moveaxis",
    "movedim",
    "concatenate",
    "cat",
    "stack",
    "split",
    "array_split",
    "split_by_size",
    "chunk",
    "unbind",
    "flip",
    "roll",
    "tile",
    "repeat",
    "pad",
    "tril",
    "triu",
    "diagonal",
    "trace",
    "ReshapeError",
    "BATCHING_RULES",
]

_NDARRAY = np.ndarray
_normalize_axis_index = np.lib.array_utils.normalize_axis_index
_normalize_axis_tuple = np.lib.array_utils.normalize_axis_tuple


class ReshapeError(RuntimeError, ValueError):
    """A shape that does not fit the array's size.

    It is a ``RuntimeError`` (what PyTorch raises) and a ``ValueError`` (what NumPy raises).
    """


def _reshape_name(params: Any) -> str:
    return params.get("name") or "ViewBackward0"


RESHAPE = Primitive(
    "reshape",
    lambda xp, x, shape, in_shape, name=None: xp.reshape(x, shape),
    (lambda g, x, out, shape, in_shape, name=None: reshape(g, in_shape),),
    lambda t, x, out, shape, in_shape, name=None: reshape(t[0], shape),
    uses=((),),
    grad_fn=_reshape_name,
    view=True,
)


def _transpose_name(params: Any) -> str:
    return params.get("name") or "PermuteBackward0"


TRANSPOSE = Primitive(
    "transpose",
    lambda xp, x, axes, name=None: xp.transpose(x, axes),
    (lambda g, x, out, axes, name=None: transpose(g, tuple(np.argsort(axes))),),
    lambda t, x, out, axes, name=None: transpose(t[0], axes),
    uses=((),),
    grad_fn=_transpose_name,
    view=True,
)


def broadcast_view(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(x, shape)`` for a NumPy array ``x`` that broadcasts to ``shape``:
    the same read-only view, made without ``broadcast_to``'s Python layers (on small arrays
    they cost more than the rest of a reduction's gradient).

    >>> broadcast_view(np.arange(3.0), (2, 3))
    array([[0., 1., 2.],
           [0., 1., 2.]])
    """
    if x.shape == shape:
        return x
    dtype = x.dtype
    if dtype.hasobject:  # (a buffer of object pointers must not be looked into)
        return np.broadcast_to(x, shape)
    lead = len(shape) - x.ndim
    strides = (0,) * lead
    if x.ndim:
        strides += tuple(
            0 if k == 1 and n != 1 else st for k, n, st in zip(x.shape, shape[lead:], x.strides)
        )
    try:
        view = np.ndarray(shape, dtype, x, 0, strides)
    except ValueError:  # not contiguous: no buffer to look into
        return np.broadcast_to(x, shape)
    # (``setflags``, not ``flags.writeable``: each ``flags`` read builds an object.)
    view.setflags(write=False)
    return view


def _broadcast_fwd(xp: Any, x: Any, shape: Any, in_shape: Any) -> Any:
    return broadcast_view(x, shape) if x.__class__ is np.ndarray else xp.broadcast_to(x, shape)


BROADCAST_TO = Primitive(
    "broadcast_to",
    _broadcast_fwd,
    (lambda g, x, out, shape, in_shape: unbroadcast(g, in_shape),),
    lambda t, x, out, shape, in_shape: broadcast_to(t[0], shape),
    uses=((),),
    grad_fn="ExpandBackward0",
    view=True,
)
ASTYPE = Primitive(
    "astype",
    lambda xp, x, dtype, in_dtype: x.astype(dtype),
    (lambda g, x, out, dtype, in_dtype: astype(g, in_dtype),),
    lambda t, x, out, dtype, in_dtype: astype(t[0], dtype),
    uses=((),),
    grad_fn="ToCopyBackward0",
)
CLONE = Primitive(
    "clone",
    lambda xp, x: x.copy(),
    (lambda g, x, out: g,),
    lambda t, x, out: t[0],
    uses=((),),
    grad_fn="CloneBackward0",
)
FILL = Primitive(
    "fill",
    lambda xp, x, value, name: xp.full_like(x, value),
    # The old value is overwritten: it gets a zero gradient, as in PyTorch.
    (lambda g, x, out, value, name: g * 0,),
    lambda t, x, out, value, name: t[0] * 0,
    uses=((),),
    grad_fn=lambda p: p["name"],
)


def _copy_fwd(xp: Any, dst: Any, src: Any, shape: Any, dtype: Any) -> Any:
    return xp.broadcast_to(xp.asarray(src, dtype=dtype), shape).copy()


def _copy_src_grad(g: Any, dst: Any, src: Any, out: Any, shape: Any, dtype: Any) -> Any:
    sshape = tuple(getattr(src, "shape", ()))
    g = unbroadcast(g, sshape)
    sdtype = getattr(src, "dtype", None)
    return astype(g, sdtype) if sdtype is not None and sdtype != g.dtype else g


COPY = Primitive(
    "copy",
    _copy_fwd,
    (lambda g, dst, src, out, shape, dtype: g * 0, _copy_src_grad),
    lambda t, dst, src, out, shape, dtype: (
        None
        if t[1] is None
        else broadcast_to(astype(t[1], dtype) if t[1].dtype != dtype else t[1], shape)
    ),
    uses=((), (1,)),
    grad_fn="CopyBackwards",
)


def _to_device_fwd(xp: Any, x: Any, device: str, in_device: str) -> Any:
    from ..backend import module_for_device

    if device == "cpu":
        get = getattr(x, "get", None)
        return get() if get is not None else np.asarray(x)
    target = module_for_device(device)
    with target.cuda.Device(int(device.split(":")[1])):
        return target.asarray(x)


TO_DEVICE = Primitive(
    "to_device",
    _to_device_fwd,
    (lambda g, x, out, device, in_device: to_device(g, in_device),),
    lambda t, x, out, device, in_device: to_device(t[0], device),
    uses=((),),
    grad_fn="ToCopyBackward0",
)


# ---------------------------------------------------------------------- helpers


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _array_like(x: Any) -> Any:
    """Tensors and arrays as they are; lists and scalars as NumPy arrays."""
    if isinstance(x, Tensor) or hasattr(x, "shape"):
        return x
    return np.asarray(x)


def _xp(x: Any) -> Any:
    """The array module of the data underneath ``x`` (a raw array or any tensor)."""
    return namespace(x.data if isinstance(x, Tensor) else x)


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(
            f"{name}() does not support out=: tapegrad arrays are immutable values on the tape; "
            "use the returned array"
        )


def _slices_at(axis: int, item: Any) -> tuple[Any, ...]:
    """An index selecting ``item`` along ``axis`` and everything along the axes before it."""
    return (slice(None),) * axis + (item,)


def _infer_shape(shape: tuple[int, ...], in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve one -1 entry and check that the sizes agree (PyTorch's message)."""
    size = math.prod(in_shape)
    if shape.count(-1) > 1:
        raise ReshapeError("only one dimension can be inferred")
    if any(n < -1 for n in shape):
        raise ReshapeError(f"invalid shape dimension {min(shape)} in shape {list(shape)}")
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or size % known:
            raise ReshapeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size:
        raise ReshapeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def reshape(x: Any, shape: Any, order: str = "C", *, name: str | None = None) -> Any:
    """``x`` with a new shape; a view when NumPy can make one.

    Parameters
    ----------
    x : array or Tensor
    shape : int or sequence of int
        The new shape; one entry may be -1 (inferred from the size).
    order : {"C", "F", "A"}
        Read and write elements in row-major ("C", "A") or column-major ("F") order.

    Raises
    ------
    ReshapeError
        (a ``RuntimeError`` and a ``ValueError``) when the sizes do not agree.

    Examples
    --------
    >>> from tapegrad.ops.shape import reshape
    >>> reshape(np.arange(6.0), (2, -1))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    >>> reshape(np.arange(6.0), (2, 3), order="F")
    array([[0., 2., 4.],
           [1., 3., 5.]])
    """
    x = _array_like(x)
    in_shape = _shape_of(x)
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = _infer_shape(tuple(int(n) for n in shape), in_shape)
    if order == "F":
        # Column-major order is row-major order on the reversed axes.
        xt = transpose(x) if len(in_shape) > 1 else x
        r = reshape(xt, shape[::-1], name=name)
        return transpose(r) if len(shape) > 1 else r
    if order not in ("C", "A"):
        raise ValueError(f"order must be one of 'C', 'F', 'A' (got {order!r})")
    p: dict[str, Any] = {"shape": shape, "in_shape": in_shape}
    if name is not None:
        p["name"] = name
    return bind(RESHAPE, (x,), p)


def transpose(x: Any, axes: Any = None, *, name: str | None = None) -> Any:
    """Permute the axes (reverse them when ``axes`` is ``None``); a view.

    >>> from tapegrad.ops.shape import transpose
    >>> transpose(np.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    x = _array_like(x)
    nd = len(_shape_of(x))
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    axes = tuple(_normalize_axis_index(int(a), nd) for a in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"axes {axes} don't match array of {nd} dimensions")
    p: dict[str, Any] = {"axes": axes}
    if name is not None:
        p["name"] = name
    return bind(TRANSPOSE, (x,), p)


def broadcast_to(x: Any, shape: Any) -> Any:
    """Broadcast ``x`` to ``shape`` (a read-only view).

    >>> from tapegrad.ops.shape import broadcast_to
    >>> broadcast_to(np.arange(3.0), (2, 3))
    array([[0., 1., 2.],
           [0., 1., 2.]])
    """
    x = _array_like(x)
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(n) for n in shape)
    in_shape = _shape_of(x)
    if in_shape == shape:
        return x
    if any(n < 0 for n in shape):
        raise ValueError("all elements of broadcast shape must be non-negative")
    if len(shape) < len(in_shape) or any(
        a != b and a != 1 for a, b in zip(in_shape[::-1], shape[::-1])
    ):
        raise ValueError(
            f"operands could not be broadcast together with remapped shapes "
            f"[original->remapped]: {in_shape} and requested shape {shape}"
        )
    return bind(BROADCAST_TO, (x,), {"shape": shape, "in_shape": in_shape})


def expand_to(x: Any, shape: tuple[int, ...]) -> Any:
    """:func:`broadcast_to` for an array or tensor ``x`` known to broadcast to the tuple
    ``shape``: the rules of reductions call it, and skip the checks.

    >>> from tapegrad.ops.shape import expand_to
    >>> expand_to(np.arange(3.0), (2, 3)).shape
    (2, 3)
    """
    if x.__class__ is np.ndarray:
        return broadcast_view(x, shape)
    in_shape = tuple(x.shape)
    if in_shape == shape:
        return x
    return bind1(BROADCAST_TO, x, {"shape": shape, "in_shape": in_shape})


def expand_dims(x: Any, axis: Any) -> Any:
    """Insert length-1 axes at ``axis`` (``UnsqueezeBackward0``); a view.

    >>> from tapegrad.ops.shape import expand_dims
    >>> expand_dims(np.zeros((2, 3)), (0, -1)).shape
    (1, 2, 3, 1)
    """
    x = _array_like(x)
    shape = _shape_of(x)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    nd = len(shape) + len(axes)
    axes = _normalize_axis_tuple(tuple(int(a) for a in axes), nd)
    new = list(shape)
    for a in sorted(axes):
        new.insert(a, 1)
    return reshape(x, tuple(new), name="UnsqueezeBackward0")


def squeeze(x: Any, axis: Any = None) -> Any:
    """Remove length-1 axes (all of them, or those in ``axis``); a view.

    >>> from tapegrad.ops.shape import squeeze
    >>> squeeze(np.zeros((1, 3, 1)), axis=-1).shape
    (1, 3)
    """
    x = _array_like(x)
    shape = _shape_of(x)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
        return reshape(x, new, name="SqueezeBackward0")
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = _normalize_axis_tuple(tuple(int(a) for a in axes), len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return reshape(x, new, name="SqueezeBackward1")


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Interchange two axes (``TransposeBackward0``); a view.

    >>> from tapegrad.ops.shape import swapaxes
    >>> swapaxes(np.zeros((2, 3, 4)), 0, -1).shape
    (4, 3, 2)
    """
    x = _array_like(x)
    nd = len(_shape_of(x))
    a = _normalize_axis_index(int(axis1), nd, "axis1")
    b = _normalize_axis_index(int(axis2), nd, "axis2")
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, tuple(axes), name="TransposeBackward0")


def moveaxis(x: Any, source: Any, destination: Any) -> Any:
    """Move axes to new positions, the others keeping their order (``PermuteBackward0``).

    >>> from tapegrad.ops.shape import moveaxis
    >>> moveaxis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    >>> moveaxis(np.zeros((2, 3, 4)), (0, 1), (-1, -2)).shape
    (4, 3, 2)
    """
    x = _array_like(x)
    nd = len(_shape_of(x))
    src = _normalize_axis_tuple(source, nd, "source")
    dst = _normalize_axis_tuple(destination, nd, "destination")
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order), name="PermuteBackward0")


def movedim(input: Any, source: Any, destination: Any) -> Any:  # noqa: A002
    """PyTorch's name for :func:`moveaxis`."""
    return moveaxis(input, source, destination)


def _move_last(g: Any, pos: int) -> Any:
    """Move the last axis of ``g`` to ``pos`` (nothing recorded when it is already there)."""
    nd = len(_shape_of(g))
    if pos == nd - 1 or nd < 2:
        return g
    order = list(range(nd - 1))
    order.insert(pos, nd - 1)
    return transpose(g, tuple(order), name="PermuteBackward0")


# ---------------------------------------------------------------------- concatenation
# One primitive joins arrays along an existing axis (``concatenate``) or a new one
# (``stack``). Its VJP hands each input its slice of the cotangent (a view); it saves nothing.
# The tape keeps at most ``_MAX_ARITY`` inputs per entry, so longer lists are joined in
# groups first.

_MAX_ARITY = 15


def _concat_fwd(
    xp: Any, *arrays: Any, axis: int, sizes: Any, dtypes: Any, stack: bool, name: str
) -> Any:
    if stack:
        return xp.stack(arrays, axis=axis)
    return xp.concatenate(arrays, axis=axis)


def _piece_index(k: int, axis: int, sizes: Sequence[int], stack: bool) -> tuple[Any, ...]:
    """Where input ``k`` sits in the output."""
    if stack:
        return _slices_at(axis, k)
    start = 0
    for s in sizes[:k]:
        start += s
    return _slices_at(axis, slice(start, start + sizes[k]))


def _concat_rule(k: int) -> Any:
    def rule(
        g: Any, *saved: Any, axis: int, sizes: Any, dtypes: Any, stack: bool, name: str
    ) -> Any:
        piece = getitem(g, _piece_index(k, axis, sizes, stack))
        return piece if piece.dtype == dtypes[k] else astype(piece, dtypes[k])

    return rule


def _concat_jvp(
    t: Any, *saved: Any, axis: int, sizes: Any, dtypes: Any, stack: bool, name: str
) -> Any:
    out = saved[-1]
    pieces = []
    for k, tk in enumerate(t):
        if tk is None:
            tk = fill(getitem(out, _piece_index(k, axis, sizes, stack)), 0)
        elif tk.dtype != out.dtype:
            tk = astype(tk, out.dtype)
        pieces.append(tk)
    p = {
        "axis": axis,
        "sizes": sizes,
        "dtypes": (out.dtype,) * len(pieces),
        "stack": stack,
        "name": name,
    }
    return bind(CONCATENATE, tuple(pieces), p)


CONCATENATE = Primitive(
    "concatenate",
    _concat_fwd,
    tuple(_concat_rule(k) for k in range(_MAX_ARITY)),
    _concat_jvp,
    uses=((),) * _MAX_ARITY,
    grad_fn=lambda p: p["name"],
)


def _join(
    arrays: list[Any], shapes: list[tuple[int, ...]], axis: int, stack: bool, name: str
) -> Any:
    """Bind ``CONCATENATE`` on checked inputs of ``shapes``, in groups when there are many."""
    if len(arrays) > _MAX_ARITY:
        groups = [
            _join(arrays[i : i + _MAX_ARITY], shapes[i : i + _MAX_ARITY], axis, stack, name)
            for i in range(0, len(arrays), _MAX_ARITY)
        ]
        return _join(groups, [tuple(g.shape) for g in groups], axis, False, name)
    sizes = (1,) * len(arrays) if stack else tuple([s[axis] for s in shapes])
    dtypes = tuple([a.dtype for a in arrays])
    p = {"axis": axis, "sizes": sizes, "dtypes": dtypes, "stack": stack, "name": name}
    return bind(CONCATENATE, tuple(arrays), p)


def _inputs(arrays: Any, dtype: Any, casting: str, who: str) -> list[Any]:
    """The arrays to join, as arrays or tensors, cast to ``dtype`` when one is given."""
    if isinstance(arrays, Tensor) or hasattr(arrays, "shape"):
        # One array stands for the list of its rows, as in NumPy.
        shape = _shape_of(arrays)
        arrays = [arrays[i] for i in range(shape[0])] if shape else [arrays]
    items = [
        a if a.__class__ is _NDARRAY or isinstance(a, Tensor) else _array_like(a) for a in arrays
    ]
    if not items:
        raise ValueError(f"need at least one array to {who}")
    if dtype is not None:
        dtype = np.dtype(dtype)
        for i, a in enumerate(items):
            if a.dtype != dtype:
                if not np.can_cast(a.dtype, dtype, casting=casting):
                    raise TypeError(
                        f"Cannot cast array data from {a.dtype!r} to {dtype!r} according to "
                        f"the rule {casting!r}"
                    )
                items[i] = astype(a, dtype)
    return items


def _concatenation_error(shapes: list[tuple[int, ...]], ax: int) -> ValueError:
    """NumPy's message for the first input whose shape does not fit the first one's."""
    first = shapes[0]
    nd = len(first)
    for i, s in enumerate(shapes[1:], 1):
        if len(s) != nd:
            return ValueError(
                "all the input arrays must have same number of dimensions, but the array at "
                f"index 0 has {nd} dimension(s) and the array at index {i} has {len(s)} "
                "dimension(s)"
            )
        for d in range(nd):
            if d != ax and s[d] != first[d]:
                return ValueError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension {d}, the array at index 0 has size "
                    f"{first[d]} and the array at index {i} has size {s[d]}"
                )
    raise AssertionError("the shapes fit")


def concatenate(
    arrays: Sequence[Any],
    axis: int | None = 0,
    out: Any = None,
    *,
    dtype: Any = None,
    casting: str = "same_kind",
) -> Any:
    """Join arrays along an existing axis (``CatBackward0``).

    Parameters
    ----------
    arrays : sequence of arrays or Tensors
        Same shape except along ``axis``; dtypes are promoted as in NumPy and each input
        gets its gradient in its own dtype.
    axis : int or None
        The axis to join along (negative counts from the end); ``None`` flattens first.
    out : None
        Not supported (``TypeError``).
    dtype, casting
        Cast the inputs to ``dtype`` first, under the rule ``casting``.

    Raises
    ------
    ValueError
        With NumPy's message when the list is empty, an input is 0-d, or shapes differ.

    Examples
    --------
    >>> from tapegrad.ops.shape import concatenate
    >>> concatenate([np.zeros((1, 2)), np.ones((2, 2))]).shape
    (3, 2)
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = concatenate([x, 2 * x])
    >>> y.grad_fn.name()
    'CatBackward0'
    >>> y.sum().backward()
    >>> x.grad
    tensor([3., 3.])
    """
    if out is not None:
        _no_out(out, "concatenate")
    items = _inputs(arrays, dtype, casting, "concatenate")
    if axis is None:
        items = [reshape(a, (-1,)) for a in items]
        axis = 0
    shapes = [tuple(a.shape) for a in items]
    first = shapes[0]
    nd = len(first)
    if nd == 0 or not all(shapes):
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    ax = (
        _normalize_axis_index(axis, nd)
        if axis.__class__ is int
        else _normalize_axis_index(int(axis), nd)
    )
    rest = first[:ax] + first[ax + 1 :]
    for s in shapes:
        if s is not first and (len(s) != nd or s[:ax] + s[ax + 1 :] != rest):
            raise _concatenation_error(shapes, ax)
    return _join(items, shapes, ax, False, "CatBackward0")


def cat(tensors: Sequence[Any], dim: int = 0) -> Any:
    """PyTorch's name for :func:`concatenate` (``dim`` for ``axis``).

    >>> from tapegrad.ops.shape import cat
    >>> cat([np.zeros((2, 1)), np.ones((2, 2))], dim=1)
    array([[0., 1., 1.],
           [0., 1., 1.]])
    """
    return concatenate(tensors, axis=dim)


def stack(
    arrays: Sequence[Any],
    axis: int = 0,
    out: Any = None,
    *,
    dtype: Any = None,
    casting: str = "same_kind",
) -> Any:
    """Join arrays of one shape along a new axis (``StackBackward0``).

    >>> from tapegrad.ops.shape import stack
    >>> stack([np.zeros(3), np.ones(3)], axis=-1).shape
    (3, 2)
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> stack([x, x * x]).grad_fn.name()
    'StackBackward0'
    """
    _no_out(out, "stack")
    items = _inputs(arrays, dtype, casting, "stack")
    shapes = {tuple(a.shape) for a in items}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    (shape,) = shapes
    ax = _normalize_axis_index(int(axis), len(shape) + 1)
    return _join(items, [shape] * len(items), ax, True, "StackBackward0")


# ---------------------------------------------------------------------- splitting
# Pieces are basic slices: views of the input, as NumPy's are. Their cotangents are scattered
# back by the slicing rule.


def _pieces(x: Any, bounds: Sequence[tuple[int, int]], axis: int, name: str) -> list[Any]:
    return [getitem(x, _slices_at(axis, slice(a, b)), name=name) for a, b in bounds]


def _split_axis(x: Any, axis: int) -> tuple[int, int]:
    shape = _shape_of(x)
    ax = _normalize_axis_index(int(axis), len(shape))
    return ax, shape[ax]


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into ``N`` nearly equal pieces, or at the given indices (views).

    With an integer ``N`` the first ``n % N`` pieces have one element more than the others;
    with a sequence of indices the pieces are ``ary[:i0]``, ``ary[i0:i1]``, ..., ``ary[ik:]``.

    >>> from tapegrad.ops.shape import array_split
    >>> [p.tolist() for p in array_split(np.arange(5.0), 3)]
    [[0.0, 1.0], [2.0, 3.0], [4.0]]
    >>> [p.shape for p in array_split(np.zeros((2, 6)), [1, 4], axis=1)]
    [(2, 1), (2, 3), (2, 2)]
    """
    x = _array_like(ary)
    ax, n = _split_axis(x, axis)
    try:
        cuts = [int(i) for i in indices_or_sections]
    except TypeError:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.") from None
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = []
        start = 0
        for s in sizes:
            bounds.append((start, start + s))
            start += s
        name = "SplitBackward0" if extra == 0 else "SplitWithSizesBackward0"
        return _pieces(x, bounds, ax, name)
    points = [0] + cuts + [n]
    return _pieces(x, list(zip(points[:-1], points[1:])), ax, "SplitWithSizesBackward0")


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into ``N`` equal pieces, or at the given indices (views).

    Raises ``ValueError`` when ``N`` does not divide the length of ``axis``.

    >>> from tapegrad.ops.shape import split
    >>> [p.tolist() for p in split(np.arange(4.0), 2)]
    [[0.0, 1.0], [2.0, 3.0]]
    >>> [p.tolist() for p in split(np.arange(4.0), [1])]
    [[0.0], [1.0, 2.0, 3.0]]
    """
    x = _array_like(ary)
    try:
        len(indices_or_sections)
    except TypeError:
        _, n = _split_axis(x, axis)
        sections = int(indices_or_sections)
        if sections > 0 and n % sections:
            raise ValueError("array split does not result in an equal division") from None
    return array_split(x, indices_or_sections, axis)


def split_by_size(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Any, ...]:
    """PyTorch's ``split``: pieces of ``split_size`` (the last may be shorter), or of the
    given sizes, which must add up to the length of ``dim`` (views).

    >>> from tapegrad.ops.shape import split_by_size
    >>> [p.tolist() for p in split_by_size(np.arange(5.0), 2)]
    [[0.0, 1.0], [2.0, 3.0], [4.0]]
    >>> [p.tolist() for p in split_by_size(np.arange(5.0), [1, 4])]
    [[0.0], [1.0, 2.0, 3.0, 4.0]]
    """
    x = _array_like(tensor)
    ax, n = _split_axis(x, dim)
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0:
            raise RuntimeError(
                f"split expects split_size be non-negative, but got split_size={size}"
            )
        if size == 0:
            if n != 0:
                raise RuntimeError(
                    "split_size can only be 0 if dimension size is 0, but got dimension size "
                    f"of {n}"
                )
            return tuple(_pieces(x, [(0, 0)], ax, "SplitBackward0"))
        bounds = [(i, min(i + size, n)) for i in range(0, n, size)] or [(0, 0)]
        return tuple(_pieces(x, bounds, ax, "SplitBackward0"))
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
            f"at dimension {ax}), but got split_sizes={sizes}"
        )
    bounds = []
    start = 0
    for s in sizes:
        bounds.append((start, start + s))
        start += s
    return tuple(_pieces(x, bounds, ax, "SplitWithSizesBackward0"))


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Any, ...]:  # noqa: A002
    """PyTorch's ``chunk``: at most ``chunks`` pieces of ``ceil(n / chunks)`` elements along
    ``dim`` (the last may be shorter; fewer pieces when they run out), as views.

    >>> from tapegrad.ops.shape import chunk
    >>> [p.tolist() for p in chunk(np.arange(6.0), 4)]
    [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    """
    x = _array_like(input)
    chunks = int(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    ax, n = _split_axis(x, dim)
    if n == 0:
        return tuple(_pieces(x, [(0, 0)] * chunks, ax, "SplitBackward0"))
    size = -(-n // chunks)
    return tuple(
        _pieces(x, [(i, min(i + size, n)) for i in range(0, n, size)], ax, "SplitBackward0")
    )


def unbind(input: Any, dim: int = 0) -> tuple[Any, ...]:  # noqa: A002
    """The slices along ``dim``, that axis removed (``UnbindBackward0``), as views.

    >>> from tapegrad.ops.shape import unbind
    >>> [p.tolist() for p in unbind(np.arange(4.0).reshape(2, 2), 1)]
    [[0.0, 2.0], [1.0, 3.0]]
    """
    x = _array_like(input)
    ax, n = _split_axis(x, dim)
    return tuple(getitem(x, _slices_at(ax, i), name="UnbindBackward0") for i in range(n))


# ---------------------------------------------------------------------- rearranging


def flip(m: Any, axis: Any = None) -> Any:
    """Reverse the order of elements along ``axis`` (all axes when ``None``); a view.

    >>> from tapegrad.ops.shape import flip
    >>> flip(np.arange(4.0).reshape(2, 2), 1)
    array([[1., 0.],
           [3., 2.]])
    """
    x = _array_like(m)
    nd = len(_shape_of(x))
    axes = range(nd) if axis is None else _normalize_axis_tuple(axis, nd)
    index = [slice(None)] * nd
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem(x, tuple(index), name="FlipBackward0")


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Shift elements cyclically along ``axis`` (the flattened array when ``None``).

    ``shift`` and ``axis`` may be tuples (broadcast against each other; shifts of a repeated
    axis add up). The result is a new array (``RollBackward0``).

    >>> from tapegrad.ops.shape import roll
    >>> roll(np.arange(5.0), 2)
    array([3., 4., 0., 1., 2.])
    >>> roll(np.arange(4.0).reshape(2, 2), (1, 1), (0, 1))
    array([[3., 2.],
           [1., 0.]])
    """
    x = _array_like(a)
    shape = _shape_of(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), shape, name="RollBackward0")
    nd = len(shape)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    if shifts.ndim > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    total = [0] * nd
    for s, ax in zip(shifts.reshape(-1).tolist(), axes.reshape(-1).tolist()):
        total[_normalize_axis_index(int(ax), nd)] += int(s)
    out = x
    for ax, s in enumerate(total):
        n = shape[ax]
        s = s % n if n else 0
        if s:
            head = getitem(out, _slices_at(ax, slice(n - s, None)))
            tail = getitem(out, _slices_at(ax, slice(None, n - s)))
            pieces = [head, tail]
            out = _join(pieces, [tuple(q.shape) for q in pieces], ax, False, "RollBackward0")
    if out is x:  # nothing moved; NumPy still returns a new array
        out = clone(x) if nd == 0 else _join([x], [shape], 0, False, "RollBackward0")
    return out


def tile(A: Any, reps: Any) -> Any:  # noqa: N803 - NumPy's name
    """Repeat the whole array ``reps`` times along each axis (``RepeatBackward0``).

    As in NumPy, the shorter of ``A.shape`` and ``reps`` is padded with leading 1s.

    >>> from tapegrad.ops.shape import tile
    >>> tile(np.array([0.0, 1.0]), 2)
    array([0., 1., 0., 1.])
    >>> tile(np.array([0.0, 1.0]), (2, 1))
    array([[0., 1.],
           [0., 1.]])
    """
    x = _array_like(A)
    shape = _shape_of(x)
    try:
        reps_t = tuple(int(r) for r in reps)
    except TypeError:
        reps_t = (int(reps),)
    if any(r < 0 for r in reps_t):
        raise ValueError("negative dimensions are not allowed")
    d = max(len(reps_t), len(shape))
    shape = (1,) * (d - len(shape)) + shape
    reps_t = (1,) * (d - len(reps_t)) + reps_t
    if all(r == 1 for r in reps_t):
        out = clone(x)
        return reshape(out, shape) if _shape_of(out) != shape else out
    # (s0, s1, ...) -> (1, s0, 1, s1, ...) -> (r0, s0, r1, s1, ...) -> (r0 s0, r1 s1, ...)
    spread = tuple(v for n in shape for v in (1, n))
    wide = tuple(v for r, n in zip(reps_t, shape) for v in (r, n))
    y = broadcast_to(reshape(x, spread), wide)
    return reshape(y, tuple(r * n for r, n in zip(reps_t, shape)), name="RepeatBackward0")


def _host_ints(v: Any) -> np.ndarray:
    """Integers given as a list, array or tensor, on the host (they shape the result)."""
    if isinstance(v, Tensor):
        v = v.data
    get = getattr(v, "get", None)
    if get is not None and not isinstance(v, np.ndarray):
        v = get()
    return np.asarray(v)


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array when
    ``None``).

    ``repeats`` is an integer or one count per element. Integer repeats broadcast (the
    gradient sums over the copies); per-element counts gather by index
    (``IndexSelectBackward0``).

    >>> from tapegrad.ops.shape import repeat
    >>> repeat(np.array([1.0, 2.0]), 2)
    array([1., 1., 2., 2.])
    >>> repeat(np.array([[1.0, 2.0], [3.0, 4.0]]), [1, 2], axis=0)
    array([[1., 2.],
           [3., 4.],
           [3., 4.]])
    """
    x = _array_like(a)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    shape = _shape_of(x)
    ax = _normalize_axis_index(int(axis), len(shape))
    n = shape[ax]
    counts = _host_ints(repeats)
    if counts.dtype.kind not in "iub":
        raise TypeError(
            f"Cannot cast array data from {counts.dtype!r} to dtype('int64') according to the "
            "rule 'safe'"
        )
    if counts.size == 1:
        r = int(counts.reshape(()))
        if r < 0:
            raise ValueError("negative dimensions are not allowed")
        if r == 1:
            return clone(x)
        wide = shape[: ax + 1] + (r,) + shape[ax + 1 :]
        y = broadcast_to(expand_dims(x, ax + 1), wide)
        return reshape(y, shape[:ax] + (n * r,) + shape[ax + 1 :])
    # An index map made on the host (device array modules index with host arrays).
    idx = np.repeat(np.arange(n), counts)  # NumPy's errors for bad counts
    return getitem(x, _slices_at(ax, idx), name="IndexSelectBackward0")


# ---------------------------------------------------------------------- padding

_PAD_KWARGS = {
    "constant": {"constant_values"},
    "empty": set(),
    "edge": set(),
    "reflect": {"reflect_type"},
    "symmetric": {"reflect_type"},
    "wrap": set(),
}
_PAD_NOT_IMPLEMENTED = {"linear_ramp", "maximum", "mean", "median", "minimum"}


def _as_pairs(x: Any, ndim: int, as_index: bool = False) -> np.ndarray:
    """NumPy's broadcasting of a pad specification to one ``(before, after)`` pair per axis."""
    v = np.asarray(x)
    if as_index:
        if v.dtype.kind not in "iu":
            raise TypeError("`pad_width` must be of integral type.")
        if v.size and v.min() < 0:
            raise ValueError("index can't contain negative values")
    if v.ndim < 3 and v.size == 2 and v.shape != (2, 1):
        v = v.reshape(-1)
    return np.broadcast_to(v, (ndim, 2))


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """Pad with NumPy's ``pad_width`` forms and the modes ``constant`` (also ``empty``,
    which pads with zeros), ``edge``, ``reflect``, ``symmetric`` and ``wrap``.

    Constant padding writes the array into a filled frame (``ConstantPadNdBackward0``);
    the other modes gather through an index map, so the gradients of repeated elements
    add up.

    Parameters
    ----------
    array : array or Tensor
    pad_width : int or sequence
        ``n``, ``(before, after)``, or one ``(before, after)`` pair per axis.
    mode : str
        The padding mode.
    constant_values : scalar or sequence, optional
        Fill values of the ``constant`` mode, in NumPy's forms (default 0).
    reflect_type : {"even"}, optional
        Only NumPy's default, ``"even"``, is supported.

    Examples
    --------
    >>> from tapegrad.ops.shape import pad
    >>> pad(np.array([1.0, 2.0]), (1, 2), constant_values=9.0)
    array([9., 1., 2., 9., 9.])
    >>> pad(np.array([1.0, 2.0, 3.0]), 2, mode="reflect")
    array([3., 2., 1., 2., 3., 2., 1.])
    """
    x = _array_like(array)
    shape = _shape_of(x)
    nd = len(shape)
    if mode in _PAD_NOT_IMPLEMENTED:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported by tapegrad")
    if mode not in _PAD_KWARGS:
        raise ValueError(f"mode {mode!r} is not supported")
    unknown = set(kwargs) - _PAD_KWARGS[mode]
    if unknown:
        raise ValueError(f"unsupported keyword arguments for mode {mode!r}: {unknown}")
    widths = _as_pairs(pad_width, nd, as_index=True)
    out_shape = tuple(int(n + b + a) for n, (b, a) in zip(shape, widths))
    xp = _xp(x)
    if mode in ("constant", "empty"):
        values = kwargs.get("constant_values", 0)
        if np.ndim(values) == 0:
            frame = xp.full(out_shape, values, dtype=x.dtype)
        else:
            frame = xp.zeros(shape, dtype=x.dtype)
            frame = xp.pad(
                frame,
                [tuple(w) for w in widths.tolist()],
                mode="constant",
                constant_values=_as_pairs(values, nd),
            )
        interior = tuple(slice(int(b), int(b) + n) for n, (b, _) in zip(shape, widths))
        return index_put(frame, x, interior, name="ConstantPadNdBackward0")
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: only reflect_type='even' is supported by tapegrad")
    if nd == 0:
        return clone(x)
    # Index maps made on the host (device array modules index with host arrays).
    maps = [np.pad(np.arange(n), (int(b), int(a)), mode=mode) for n, (b, a) in zip(shape, widths)]
    return getitem(x, np.ix_(*maps))


# ---------------------------------------------------------------------- triangles, diagonals


def _tri_batch_rule(prim: Primitive) -> Any:
    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        # The per-example matrices are the last two axes: the batch axis goes first.
        return bind(prim, (moveaxis(vals[0], dims[0], 0),), params), 0

    return rule


TRIL = Primitive(
    "tril",
    lambda xp, x, k: xp.tril(x, k),
    (lambda g, x, out, k: tril(g, k),),
    lambda t, x, out, k: tril(t[0], k),
    uses=((),),
    grad_fn="TrilBackward0",
)
TRIU = Primitive(
    "triu",
    lambda xp, x, k: xp.triu(x, k),
    (lambda g, x, out, k: triu(g, k),),
    lambda t, x, out, k: triu(t[0], k),
    uses=((),),
    grad_fn="TriuBackward0",
)


def _triangle(prim: Primitive, m: Any, k: int) -> Any:
    x = _array_like(m)
    shape = _shape_of(x)
    if not shape:
        raise ValueError(f"{prim.name} requires an array of at least one dimension")
    if len(shape) == 1:  # NumPy reads a vector as every row of a square matrix
        x = broadcast_to(x, (shape[0], shape[0]))
    return bind(prim, (x,), {"k": int(k)})


def tril(m: Any, k: int = 0) -> Any:
    """Zero the elements above the ``k``-th diagonal of the last two axes.

    >>> from tapegrad.ops.shape import tril
    >>> tril(np.ones((3, 3)), -1)
    array([[0., 0., 0.],
           [1., 0., 0.],
           [1., 1., 0.]])
    """
    return _triangle(TRIL, m, k)


def triu(m: Any, k: int = 0) -> Any:
    """Zero the elements below the ``k``-th diagonal of the last two axes.

    >>> from tapegrad.ops.shape import triu
    >>> triu(np.ones((2, 3)), 1)
    array([[0., 1., 1.],
           [0., 0., 1.]])
    """
    return _triangle(TRIU, m, k)


def _diagonal_vjp(g: Any, x: Any, out: Any, offset: int, axis1: int, axis2: int, shape: Any) -> Any:
    length = _shape_of(g)[-1]
    xp = _xp(g)
    index: list[Any] = [slice(None)] * len(shape)
    index[axis1] = xp.arange(length) + max(-offset, 0)
    index[axis2] = xp.arange(length) + max(offset, 0)
    # NumPy puts the dimension of two adjacent index arrays where they stand, else first.
    pos = min(axis1, axis2) if abs(axis1 - axis2) == 1 else 0
    # Diagonal positions are distinct: plain assignment scatters them.
    return scatter(_move_last(g, pos), tuple(index), shape, True)


def _diagonal_batch_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    p = dict(params)
    p["axis1"] = params["axis1"] + 1
    p["axis2"] = params["axis2"] + 1
    v = moveaxis(vals[0], dims[0], 0)
    p["shape"] = _shape_of(v)
    return bind(DIAGONAL, (v,), p), 0


DIAGONAL = Primitive(
    "diagonal",
    lambda xp, x, offset, axis1, axis2, shape: xp.diagonal(x, offset, axis1, axis2),
    (_diagonal_vjp,),
    lambda t, x, out, offset, axis1, axis2, shape: diagonal(t[0], offset, axis1, axis2),
    uses=((),),
    grad_fn="DiagonalBackward0",
    view=True,
)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of the matrices on ``axis1`` and ``axis2``, as a new last axis.

    A read-only view, as in NumPy. ``offset > 0`` takes a diagonal above the main one.

    >>> from tapegrad.ops.shape import diagonal
    >>> diagonal(np.arange(9.0).reshape(3, 3))
    array([0., 4., 8.])
    >>> diagonal(np.arange(9.0).reshape(3, 3), offset=1)
    array([1., 5.])
    """
    x = _array_like(a)
    shape = _shape_of(x)
    if len(shape) < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    a1 = _normalize_axis_index(int(axis1), len(shape), "axis1")
    a2 = _normalize_axis_index(int(axis2), len(shape), "axis2")
    if a1 == a2:
        raise ValueError("axis1 and axis2 cannot be the same")
    p = {"offset": int(offset), "axis1": a1, "axis2": a2, "shape": shape}
    return bind(DIAGONAL, (x,), p)


def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    """Sum along a diagonal (see :func:`diagonal`).

    >>> from tapegrad.ops.shape import trace
    >>> trace(np.arange(9.0).reshape(3, 3))
    array(12.)
    """
    from .reduce import sum as _sum

    _no_out(out, "trace")
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None and np.dtype(dtype) != d.dtype:
        d = astype(d, dtype)
    return _sum(d, axis=-1)


# ---------------------------------------------------------------------- casts and copies


def astype(x: Any, dtype: Any) -> Any:
    """A copy of ``x`` in ``dtype``; the gradient is cast back."""
    dtype = np.dtype(dtype)
    return bind(ASTYPE, (x,), {"dtype": dtype, "in_dtype": x.dtype})


def clone(x: Any) -> Any:
    """A copy of ``x`` that stays in the graph."""
    return bind(CLONE, (x,))


def fill(x: Any, value: Any, *, name: str = "FillBackward2") -> Any:
    """An array like ``x`` full of ``value`` (no gradient flows to ``x``)."""
    return bind(FILL, (x,), {"value": value, "name": name})


def copy_from(dst: Any, src: Any) -> Any:
    """``src`` broadcast to ``dst``'s shape and cast to its dtype; the gradient goes to ``src``."""
    return bind(COPY, (dst, src), {"shape": tuple(dst.shape), "dtype": dst.dtype})


def to_device(x: Any, device: str) -> Any:
    """``x`` copied to ``device`` ("cpu" or "cuda:N"); the gradient is copied back."""
    from ..backend import device_of

    src = x.data if hasattr(x, "_slot") else x
    return bind(TO_DEVICE, (x,), {"device": device, "in_device": device_of(src)})


def _concatenate_batch_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    n = next(_shape_of(v)[d] for v, d in zip(vals, dims) if d is not None)
    moved = []
    for v, d in zip(vals, dims):
        if d is None:
            s = _shape_of(v)
            v = broadcast_to(reshape(v, (1,) + s), (n,) + s)
        else:
            v = moveaxis(v, d, 0)
        moved.append(v)
    p = dict(params)
    p["axis"] = params["axis"] + 1
    return bind(CONCATENATE, tuple(moved), p), 0


#: Batching rules of this module's primitives that ``tapegrad.batching`` registers
#: (``rule(values, batch_dims, params) -> (out, out_batch_dim)``).
BATCHING_RULES = {
    CONCATENATE: _concatenate_batch_rule,
    DIAGONAL: _diagonal_batch_rule,
    TRIL: _tri_batch_rule(TRIL),
    TRIU: _tri_batch_rule(TRIU),
}
