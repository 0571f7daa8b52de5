"""In-place operations on tensors, with PyTorch's rules.

An in-place change writes into the tensor's storage (so views and ``detach()``-ed aliases see
it) and bumps the shared version counter (so a saved value that changed is caught by the
sweep). When gradients are being recorded the new value is computed out of place first, then
copied in, and the tensor is rebound to the entry that computed it. Writing through a view
made by indexing is recorded on its base (PyTorch's ``CopySlices``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import tape as _tape
from .backend import namespace
from .tape import SAVED, VERS
from .tensor import INPLACE_LEAF_MESSAGE, Tensor, dtype_title, show_as

__all__ = ["apply_inplace", "apply_inplace_fast", "setitem", "check_inplace"]

_state = _tape._state

VIEW_OF_LEAF_MESSAGE = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)
UNSUPPORTED_VIEW_MESSAGE = (
    "in-place operation on a reshaped, transposed or broadcast view of a tensor that requires "
    "grad: such views cannot write their gradient back to the base here. Change the base "
    "through indexing (x[idx] = value), or work on a copy (view.clone())."
)


def _recording(t: Tensor, others: tuple[Any, ...]) -> bool:
    return _state.tape.grad_enabled and (
        t._slot is not None or any(isinstance(o, Tensor) and o._slot is not None for o in others)
    )


def check_inplace(t: Tensor) -> None:
    """Refuse in-place changes PyTorch refuses: on leaves that require grad (and their views)
    while recording."""
    if not _state.tape.grad_enabled:
        return
    if t._slot is not None and t._entry is None:
        raise RuntimeError(INPLACE_LEAF_MESSAGE)
    base = t._base
    if base is not None and base._slot is not None and base._entry is None:
        raise RuntimeError(VIEW_OF_LEAF_MESSAGE)


def _check_result(t: Tensor, rdata: Any) -> None:
    if tuple(rdata.shape) != tuple(t.data.shape):
        raise RuntimeError(
            f"output with shape {list(t.data.shape)} doesn't match the broadcast shape "
            f"{list(rdata.shape)}"
        )
    if rdata.dtype != t.data.dtype and not np.can_cast(
        rdata.dtype, t.data.dtype, casting="same_kind"
    ):
        raise RuntimeError(
            f"result type {dtype_title(rdata.dtype)} can't be cast to the desired output "
            f"type {dtype_title(t.data.dtype)}"
        )


def _keep_old_value(t: Tensor, result: Tensor) -> None:
    """The entry that computed ``result`` may have saved ``t``'s array, about to be overwritten:
    give it a private copy of the old value instead (whose version can never move)."""
    from .autograd.graph import repack, saved_source

    e = result._entry
    saved = e[SAVED]
    if saved is None:
        return
    data = t.data
    hit = [saved_source(x) is data for x in saved]
    if not any(hit):
        return
    old = data.copy()
    e[SAVED] = tuple(repack(x, old) if h else x for x, h in zip(saved, hit))
    e[VERS] = tuple(v for v in e[VERS] if not hit[v[2]])


def apply_inplace(t: Tensor, op: Callable[..., Any], *others: Any) -> Tensor:
    """Replace ``t``'s value by ``op(t, *others)`` in place, recording when needed."""
    check_inplace(t)
    recording = _recording(t, others)
    view_of = t._extra.get("view_of") if t._extra else None
    if recording and t._base is not None:
        if view_of is None:
            raise RuntimeError(UNSUPPORTED_VIEW_MESSAGE)
        result = op(t, *others)
        _check_result(t, result.data if isinstance(result, Tensor) else result)
        _write_through_view(t, view_of, result)
        return t
    result = op(t, *others)
    rdata = result.data if isinstance(result, Tensor) else result
    _check_result(t, rdata)
    tracked = recording and isinstance(result, Tensor) and result._slot is not None
    if tracked:
        _keep_old_value(t, result)
    namespace(t.data).copyto(t.data, rdata, casting="unsafe")
    t._bump()
    if tracked:
        t._slot = result._slot
        t._entry = result._entry
    return t


def _write_through_view(view: Tensor, view_of: tuple[Tensor, Any], value: Any) -> None:
    """Record ``base[index] = value`` for the view ``base[index]``, then rebind the view to
    a fresh ``base[index]`` so that later uses of it see the new graph."""
    from .ops.index import getitem
    from .primitive import REMADE_VIEW

    base, index = view_of
    setitem(base, index, value)
    fresh = show_as(getitem(base, index), REMADE_VIEW, base)
    view._slot = fresh._slot
    view._entry = fresh._entry
    replay = view._extra.get("replay")
    if replay is not None:
        view._extra["replay"] = (*replay[:3], view._version[0])


def apply_inplace_fast(t: Tensor, ufunc_name: str, other: Any) -> Tensor:
    """In-place arithmetic with nothing to record: one ufunc call into the tensor's storage."""
    check_inplace(t)
    o = other.data if isinstance(other, Tensor) else other
    xp = namespace(t.data)
    try:
        getattr(xp, ufunc_name)(t.data, o, out=t.data)
    except TypeError as err:  # e.g. a float into an integer tensor
        rtype = np.float32 if isinstance(o, float) else np.result_type(t.data, o)
        raise RuntimeError(
            f"result type {dtype_title(rtype)} can't be cast to the desired output type "
            f"{dtype_title(t.data.dtype)}"
        ) from err
    except ValueError as err:
        oshape = getattr(o, "shape", ())
        raise RuntimeError(
            f"output with shape {list(t.data.shape)} doesn't match the broadcast shape "
            f"{list(np.broadcast_shapes(t.data.shape, oshape))}"
        ) from err
    t._bump()
    return t


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value`` in place; recorded as ``CopySlices`` when gradients are needed."""
    from .ops.index import index_put, normalize_index

    check_inplace(t)
    index = normalize_index(index)
    if not _recording(t, (value,)):
        raw = value.data if isinstance(value, Tensor) else value
        if hasattr(raw, "shape") and namespace(raw) is not namespace(t.data):
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two "
                f"devices, {t.device} and {Tensor._make(raw).device}!"
            )
        t.data[index] = raw
        t._bump()
        return
    view_of = t._extra.get("view_of") if t._extra else None
    if t._base is not None:
        if view_of is None:
            raise RuntimeError(UNSUPPORTED_VIEW_MESSAGE)
        _write_through_view(t, view_of, index_put(t, value, index, name="CopySlices"))
        return
    r = index_put(t, value, index, name="CopySlices")
    namespace(t.data).copyto(t.data, r.data)
    t._bump()
    t._slot = r._slot
    t._entry = r._entry
