"""Array creation for :mod:`tapegrad.numpy`.

``zeros``, ``ones``, ``arange``, ``linspace``, ``eye``... are NumPy's own functions: new
arrays carry no gradient. ``array``/``asarray`` and the ``*_like`` functions also accept
tensors: ``asarray(t)`` is ``t`` itself (so code written for ``tnp`` works inside
transforms), ``array(t)`` a recorded copy, ``array([t1, t2])`` a recorded stack, and
``zeros_like(t)`` a tensor of zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy import (  # noqa: F401 - re-exported
    arange,
    empty,
    eye,
    full,
    geomspace,
    identity,
    linspace,
    logspace,
    ones,
    tri,
    zeros,
)
from numpy.typing import ArrayLike, DTypeLike

from ..backend import module_for_device, namespace, normalize_device
from ..tensor import Tensor
from ._common import cast, get, raw

__all__ = [
    "array",
    "asarray",
    "asanyarray",
    "ascontiguousarray",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "logspace",
    "geomspace",
    "eye",
    "identity",
    "tri",
]


def _has_tensor(obj: Any) -> bool:
    if isinstance(obj, Tensor):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_tensor(o) for o in obj)
    return False


def _first_tensor(obj: Any) -> Tensor | None:
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _stack_nested(obj: Any, dtype: Any) -> Any:
    """Nested sequences holding tensors as one tensor, by stacking (recorded)."""
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        if not _has_tensor(obj):
            return np.asarray(obj, dtype=dtype)
        return get("shape.stack")([_stack_nested(o, dtype) for o in obj], axis=0)
    return np.asarray(obj, dtype=dtype)


def _ndmin(x: Any, ndmin: int) -> Any:
    nd = len(x.shape)
    if nd >= ndmin:
        return x
    return get("shape.reshape")(x, (1,) * (ndmin - nd) + tuple(x.shape))


def array(
    object: Any,  # noqa: A002 - NumPy's name
    dtype: DTypeLike | None = None,
    *,
    copy: bool | None = True,
    order: str = "K",
    subok: bool = False,
    ndmin: int = 0,
    like: Any = None,
) -> Any:
    """An array from ``object``; tensors (also inside lists) give a recorded tensor.

    Parameters
    ----------
    object : array_like, Tensor, or nested sequences holding tensors
    dtype : dtype, optional
    copy : bool or None
        For tensors: ``True`` records a copy (``CloneBackward0``), else the tensor itself.
    order, subok, like
        NumPy's, for arrays.
    ndmin : int
        Minimum number of axes (ones are prepended).

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.array([1, 2])
    array([1, 2])
    >>> x = tg.tensor(1.0, requires_grad=True)
    >>> tnp.array([x, 2 * x])
    tensor([1., 2.], grad_fn=<StackBackward0>)
    """
    if isinstance(object, Tensor) or _has_tensor(object):
        first = _first_tensor(object)
        target = dtype
        if target is None and not isinstance(object, Tensor) and first is not None:
            target = first.dtype
        out = _stack_nested(object, target)
        if isinstance(object, Tensor):
            out = cast(out, dtype) if dtype is not None else out
            if copy and out is object:
                out = get("shape.clone")(out)
        else:
            out = cast(out, dtype)
        return _ndmin(out, ndmin)
    kw = {} if like is None else {"like": like}
    return np.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin, **kw)


def asarray(
    a: Any,
    dtype: DTypeLike | None = None,
    order: str | None = None,
    *,
    device: Any = None,
    copy: bool | None = None,
    like: Any = None,
) -> Any:
    """``a`` as an array; a tensor stays the tensor (cast to ``dtype`` when given).

    Examples
    --------
    >>> tnp.asarray([1.0, 2.0], dtype=np.float32)
    array([1., 2.], dtype=float32)
    >>> x = tg.tensor([1.0])
    >>> tnp.asarray(x) is x
    True
    """
    if isinstance(a, Tensor):
        out = cast(a, dtype)
        return get("shape.clone")(out) if copy and out is a else out
    if _has_tensor(a):
        return array(a, dtype=dtype)
    kw: dict[str, Any] = {} if like is None else {"like": like}
    if device is not None:
        where = normalize_device(device)
        if where != "cpu":
            return module_for_device(where).asarray(a, dtype=dtype, order=order)
    return np.asarray(a, dtype=dtype, order=order, copy=copy, **kw)


def asanyarray(a: Any, dtype: DTypeLike | None = None, order: str | None = None, **kw: Any) -> Any:
    """Same as :func:`asarray` (tensors stay tensors).

    Examples
    --------
    >>> tnp.asanyarray((1, 2))
    array([1, 2])
    """
    return asarray(a, dtype=dtype, order=order, **kw)


def ascontiguousarray(a: Any, dtype: DTypeLike | None = None, **kw: Any) -> Any:
    """``a`` as a C-contiguous array; a tensor stays the tensor.

    Examples
    --------
    >>> tnp.ascontiguousarray(np.ones((2, 2)).T).flags["C_CONTIGUOUS"]
    True
    """
    if isinstance(a, Tensor):
        return cast(a, dtype)
    return np.ascontiguousarray(a, dtype=dtype, **kw)


def _like(fill: str, a: Any, dtype: Any, shape: Any, value: Any = None) -> Tensor:
    r = raw(a)
    xp = namespace(r) if hasattr(r, "shape") else np
    dt = a.dtype if dtype is None else np.dtype(dtype)
    shp = tuple(a.shape) if shape is None else ((shape,) if np.ndim(shape) == 0 else tuple(shape))
    if fill == "full":
        data = xp.full(shp, value, dtype=dt)
    else:
        data = getattr(xp, fill)(shp, dtype=dt)
    return Tensor._make(data)


def zeros_like(
    a: ArrayLike | Tensor,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    device: Any = None,
) -> Any:
    """Zeros with the shape and dtype of ``a``; a tensor (not requiring grad) for a tensor.

    Examples
    --------
    >>> tnp.zeros_like(tg.ones(2))
    tensor([0., 0.])
    """
    if isinstance(a, Tensor):
        return _like("zeros", a, dtype, shape)
    return np.zeros_like(a, dtype=dtype, order=order, subok=subok, shape=shape)


def ones_like(
    a: ArrayLike | Tensor,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    device: Any = None,
) -> Any:
    """Ones with the shape and dtype of ``a``; a tensor (not requiring grad) for a tensor.

    Examples
    --------
    >>> tnp.ones_like(np.zeros(2, dtype=np.int32))
    array([1, 1], dtype=int32)
    """
    if isinstance(a, Tensor):
        return _like("ones", a, dtype, shape)
    return np.ones_like(a, dtype=dtype, order=order, subok=subok, shape=shape)


def empty_like(
    prototype: ArrayLike | Tensor,
    /,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    device: Any = None,
) -> Any:
    """An uninitialised array like ``prototype``; a tensor for a tensor.

    Examples
    --------
    >>> tnp.empty_like(np.zeros((2, 3))).shape
    (2, 3)
    """
    if isinstance(prototype, Tensor):
        return _like("empty", prototype, dtype, shape)
    return np.empty_like(prototype, dtype=dtype, order=order, subok=subok, shape=shape)


def full_like(
    a: ArrayLike | Tensor,
    fill_value: Any,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    device: Any = None,
) -> Any:
    """``fill_value`` with the shape and dtype of ``a``; a tensor for a tensor.

    Examples
    --------
    >>> tnp.full_like(np.zeros(2), 7.0)
    array([7., 7.])
    """
    if isinstance(a, Tensor):
        return _like("full", a, dtype, shape, fill_value)
    return np.full_like(a, fill_value, dtype=dtype, order=order, subok=subok, shape=shape)
