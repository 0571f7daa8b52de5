"""Shape primitives: reshape, transpose, broadcast, dtype casts, copies, device moves.

Reshape and transpose return views where NumPy does; the facade then shares the version
counter of the base, so an in-place change through either is seen by the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitive import Primitive, bind
from ._broadcast import unbroadcast

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
]


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
BROADCAST_TO = Primitive(
    "broadcast_to",
    lambda xp, x, shape, in_shape: xp.broadcast_to(x, shape),
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
    lambda t, dst, src, out, shape, dtype: None
    if t[1] is None
    else broadcast_to(astype(t[1], dtype) if t[1].dtype != dtype else t[1], shape),
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


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _infer_shape(shape: tuple[int, ...], in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve one -1 entry and check that the sizes agree (PyTorch's message)."""
    size = int(np.prod(in_shape))
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = int(np.prod([n for n in shape if n != -1]))
        if known == 0 or size % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if int(np.prod(shape)) != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def reshape(x: Any, shape: Any, *, name: str | None = None) -> Any:
    """``x`` with a new shape (one entry may be -1); a view when NumPy can make one."""
    in_shape = _shape_of(x)
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = _infer_shape(tuple(int(n) for n in shape), in_shape)
    p: dict[str, Any] = {"shape": shape, "in_shape": in_shape}
    if name is not None:
        p["name"] = name
    return bind(RESHAPE, (x,), p)


def transpose(x: Any, axes: Any = None, *, name: str | None = None) -> Any:
    """Permute the axes (reverse them when ``axes`` is ``None``)."""
    nd = len(_shape_of(x))
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    axes = tuple(np.lib.array_utils.normalize_axis_index(int(a), nd) for a in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"axes {axes} don't match array of {nd} dimensions")
    p: dict[str, Any] = {"axes": axes}
    if name is not None:
        p["name"] = name
    return bind(TRANSPOSE, (x,), p)


def broadcast_to(x: Any, shape: Any) -> Any:
    """Broadcast ``x`` to ``shape`` (a read-only view)."""
    shape = tuple(int(n) for n in shape)
    in_shape = _shape_of(x)
    if in_shape == shape:
        return x
    try:
        np.broadcast_shapes(in_shape, shape)
    except ValueError:
        raise ValueError(
            f"operands could not be broadcast together with remapped shapes "
            f"[original->remapped]: {in_shape} and requested shape {shape}"
        ) from None
    return bind(BROADCAST_TO, (x,), {"shape": shape, "in_shape": in_shape})


def expand_dims(x: Any, axis: Any) -> Any:
    """Insert length-1 axes at ``axis`` (``UnsqueezeBackward0``)."""
    shape = _shape_of(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = len(shape) + len(axes)
    axes = sorted(np.lib.array_utils.normalize_axis_index(int(a), nd) for a in axes)
    new = list(shape)
    for a in axes:
        new.insert(a, 1)
    return reshape(x, tuple(new), name="UnsqueezeBackward0")


def squeeze(x: Any, axis: Any = None) -> Any:
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    shape = _shape_of(x)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
        return reshape(x, new, name="SqueezeBackward0")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = {np.lib.array_utils.normalize_axis_index(int(a), len(shape)) for a in axes}
    for a in axes:
        if shape[a] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return reshape(x, new, name="SqueezeBackward1")


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
