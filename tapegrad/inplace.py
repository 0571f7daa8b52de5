"""In-place operations on tensors, with PyTorch's rules.

An in-place change writes into the tensor's storage (so views and ``detach()``-ed aliases see
it) and bumps the shared version counter (so a saved value that changed is caught by the
sweep). When gradients are being recorded the new value is computed out of place first, then
copied in, and the tensor is rebound to the entry that computed it. Writing through a view
made by indexing is recorded on its base (PyTorch's ``CopySlices``).

The nodes these writes leave are shown as PyTorch shows them: ``x[idx] = v`` on a tensor that
is not a view is a ``CopySlices`` where PyTorch writes through a view of ``x`` (an integer,
a partial slice or ``None`` in the index), an ``IndexPutBackward0`` for advanced indices alone,
and a ``FillBackward3`` or ``CopyBackwards`` for an index that selects everything. The
``CopySlices`` of a base leads to what computed the base before the write, then to the inputs
of the operation that changed the view other than the view itself (``v.mul_(2)`` on
``v = b[0]``: ``(MulBackward0, None)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import tape as _tape
from .backend import namespace
from .tape import SAVED, VERS
from .tensor import (
    INPLACE_LEAF_MESSAGE,
    Tensor,
    dtype_title,
    entry_links,
    input_link,
    show_as,
    show_links,
)

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
        if isinstance(result, Tensor) and result._entry is not None:
            _keep_old_value(t, result)
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
    a fresh ``base[index]`` so that later uses of it see the new graph.

    ``value`` is the view's new value, computed from it out of place; the base's
    ``CopySlices`` node leads to the inputs of ``value``'s node other than the view."""
    from .ops.index import getitem
    from .primitive import REMADE_VIEW

    base, index = view_of
    _put_through(base, index, value, _other_links(value, view))
    # Shown as PyTorch remakes it: from the tensor that owns the storage.
    root = view._extra.get("base", base)
    fresh = show_as(getitem(base, index), REMADE_VIEW, root)
    view._slot = fresh._slot
    view._entry = fresh._entry
    replay = view._extra.get("replay")
    if replay is not None:
        view._extra["replay"] = (*replay[:3], view._version[0])


def _other_links(value: Any, view: Tensor) -> tuple[Any, ...]:
    """The ``next_functions`` links of the node that computed ``value`` from ``view``, less
    the one to ``view`` (PyTorch's ``CopySlices`` drops the changed view's own input)."""
    e = value._entry if isinstance(value, Tensor) else None
    if e is None:
        return (input_link(value),)
    links = entry_links(e)
    own = input_link(view)
    for k, link in enumerate(links):
        if (
            isinstance(link, tuple)
            and isinstance(own, tuple)
            and link[0] is own[0]
            and link[1] == own[1]
        ):
            return links[:k] + links[k + 1 :]
    return links


def _put_through(base: Tensor, index: Any, value: Any, links: tuple[Any, ...]) -> None:
    """``base[index] = value`` recorded as ``CopySlices``, whose ``next_functions`` are what
    computed ``base`` and then ``links``; a base that is itself a view writes on through."""
    from .ops.index import index_put

    r = index_put(base, value, index, name="CopySlices")
    if isinstance(r, Tensor) and r._entry is not None:
        show_links(r, "CopySlices", (input_link(base), *links))
    if base._base is not None:
        view_of = base._extra.get("view_of") if base._extra else None
        if view_of is None:
            raise RuntimeError(UNSUPPORTED_VIEW_MESSAGE)
        _write_through_view(base, view_of, r)
        return
    namespace(base.data).copyto(base.data, r.data)
    base._bump()
    base._slot = r._slot
    base._entry = r._entry


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
    if t._base is not None:
        view_of = t._extra.get("view_of") if t._extra else None
        if view_of is None:
            raise RuntimeError(UNSUPPORTED_VIEW_MESSAGE)
        _write_through_view(t, view_of, index_put(t, value, index, name="CopySlices"))
        return
    r = index_put(t, value, index, name=_put_name(t, index, value))
    namespace(t.data).copyto(t.data, r.data)
    t._bump()
    t._slot = r._slot
    t._entry = r._entry


def _put_name(t: Tensor, index: Any, value: Any) -> str:
    """PyTorch's node for ``t[index] = value`` on a tensor that is not a view.

    PyTorch first applies the basic part of the index as a view (integers, ``None``,
    booleans, slices other than a whole dimension from its start), writes through that view
    when there is one (``CopySlices``), and otherwise puts the advanced indices
    (``IndexPutBackward0``), or, with nothing left to index, copies (``CopyBackwards``) or
    fills with a 0-d value (``FillBackward3``).
    """
    items = index if isinstance(index, tuple) else (index,)
    shape = tuple(t.shape)
    used = sum(_dims_taken(i) for i in items if i is not Ellipsis)
    dim = 0
    advanced = False
    for i in items:
        if i is Ellipsis:
            dim += len(shape) - used
        elif i is None or isinstance(i, (bool, int, np.bool_, np.integer)):
            return "CopySlices"
        elif isinstance(i, slice):
            whole = (
                dim < len(shape)
                and i.start in (None, 0)
                and i.step in (None, 1)
                and (i.stop is None or i.stop >= shape[dim])
            )
            if not whole:
                return "CopySlices"
            dim += 1
        elif getattr(i, "ndim", 1) == 0:  # a 0-d index: a number for PyTorch
            return "CopySlices"
        else:
            advanced = True
            dim += _dims_taken(i)
    if advanced:
        return "IndexPutBackward0"
    vshape = tuple(getattr(value, "shape", ()))
    return "FillBackward3" if vshape == () and shape != () else "CopyBackwards"


def _dims_taken(i: Any) -> int:
    """How many dimensions of the indexed tensor the index item ``i`` consumes."""
    if i is None or isinstance(i, (bool, np.bool_)):
        return 0
    dtype = getattr(i, "dtype", None)
    if dtype is not None and dtype == np.bool_:
        return int(i.ndim)
    return 1
