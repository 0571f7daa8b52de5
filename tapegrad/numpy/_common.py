"""Helpers shared by the modules of :mod:`tapegrad.numpy`: argument conversion, ``out=``,
dtype casts, and value-only computations on raw data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import batching as _b
from ..backend import namespace
from ..tensor import Tensor
from ._names import OPS, _lookup

__all__ = [
    "NoValue",
    "get",
    "no_out",
    "asarray",
    "operand",
    "cast",
    "raw",
    "is_batched",
    "shape_of",
    "ndim_of",
    "values_only",
    "wrap_like",
    "not_batched",
]


class _NoValueType:
    """Marks a keyword the caller did not pass (NumPy's ``<no value>``)."""

    _instance: _NoValueType | None = None

    def __new__(cls) -> _NoValueType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"


NoValue: Any = _NoValueType()


def get(key: str) -> Any:
    """The ops-level function ``"module.function"`` (a ``Missing`` that raises if absent)."""
    fn = OPS.get(key)
    if fn is None:
        fn = OPS[key] = _lookup(key)[0]
    return fn


def no_out(out: Any, name: str) -> None:
    """Raise ``TypeError`` for a non-``None`` ``out=`` argument."""
    if out is None or (isinstance(out, tuple) and all(o is None for o in out)):
        return
    raise TypeError(
        f"tapegrad.numpy.{name}: out= is not supported: tapegrad does not write into out "
        "arrays; use the returned value instead"
    )


def _is_array(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray)) or hasattr(x, "__cuda_array_interface__")


def asarray(x: Any) -> Any:
    """Tensors and arrays as they are; anything else array-like as a NumPy array."""
    return x if _is_array(x) else np.asarray(x)


_SCALARS = (int, float, complex, bool, np.generic)


def operand(x: Any) -> Any:
    """An operand of an elementwise function: tensors, arrays and scalars as they are (Python
    scalars stay weakly typed, as in NumPy); sequences become arrays."""
    return x if _is_array(x) or isinstance(x, _SCALARS) else np.asarray(x)


def cast(x: Any, dtype: Any) -> Any:
    """``x`` in ``dtype`` (recorded for tensors); ``x`` itself when ``dtype`` is ``None``."""
    if dtype is None:
        return x
    dt = np.dtype(dtype)
    if _is_array(x):
        return x if x.dtype == dt else get("shape.astype")(x, dt)
    return np.asarray(x, dtype=dt)


def raw(x: Any) -> Any:
    """The array under a tensor (the full batch for a batched value)."""
    return x.data if isinstance(x, Tensor) else x


def is_batched(*xs: Any) -> bool:
    """Whether any of ``xs`` is a value inside ``vmap``."""
    return any(getattr(x, "_batched", False) for x in xs)


def not_batched(name: str, *xs: Any) -> None:
    """Raise ``NotImplementedError`` when a value-only function meets a batched value."""
    if is_batched(*xs):
        raise NotImplementedError(
            f"vmap: tapegrad.numpy.{name} has no batching rule (its result depends on the "
            "values in a way that is not elementwise); call it outside vmap"
        )


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of a tensor, an array or a scalar."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def ndim_of(x: Any) -> int:
    return len(shape_of(x))


def wrap_like(out: Any, *inputs: Any) -> Any:
    """``out`` (a raw result) as a tensor that does not require grad when an input is one."""
    if any(isinstance(x, Tensor) for x in inputs):
        if isinstance(out, tuple):
            return tuple(Tensor._make(namespace(o).asarray(o)) for o in out)
        xp = namespace(out) if hasattr(out, "shape") else np
        return Tensor._make(xp.asarray(out))
    return out


def values_only(fn: Callable[..., Any], name: str, *arrays: Any, elementwise: bool = False) -> Any:
    """``fn(*raw arrays)``, a result without gradient: a tensor when an input is a tensor.

    ``elementwise`` functions of one argument also work on batched values (inside ``vmap``);
    others raise ``NotImplementedError`` there.
    """
    if is_batched(*arrays):
        if elementwise and len(arrays) == 1:
            return _b.map_bottom(arrays[0], lambda v: fn(raw(v)))
        not_batched(name, *arrays)
    out = fn(*(raw(a) for a in arrays))
    return wrap_like(out, *arrays)
