"""In-place operations on tensors, with PyTorch's rules.

An in-place change writes into the tensor's storage (so views and ``detach()``-ed aliases see
it) and bumps the shared version counter (so a saved value that changed is caught by the
sweep). When gradients are being recorded the new value is computed out of place first, then
copied in, and the tensor is rebound to the entry that computed it.

Writing through a view of any kind (indexing, ``reshape``/``view``, ``transpose``/``permute``,
``unsqueeze``/``squeeze``, ``diagonal``, ``expand``) is recorded on its base, as PyTorch's
``CopySlices``. A view primitive gathers elements of its base: applied to the flat positions of
the base's elements (an ``arange``) it gives the positions of the view's, and the view's new
value is put there out of place (a view made by indexing puts it with its own index). A view
of a view writes through each level, and is then remade from its new base, shown as PyTorch's
``AsStridedBackward0``. Views remember how they were made also when nothing was recorded: a
view of a tensor that does not require grad, changed by a value that does, makes that tensor
require grad (``CopySlices(None, ...)``), as in PyTorch. (A view of such an unrecorded view
holds it weakly; once it is gone, the positions of the view's elements are read from where
the arrays lie in their shared storage, and the write goes straight to the tensor that owns
it.) A view whose elements share memory (a broadcast) takes ``fill_`` with a number and
``zero_`` only, and raises PyTorch's error for other writes; where a view it was taken of is
such a broadcast, the new value also goes straight to the owner. A view made under
``no_grad`` of a tensor that requires grad may not be changed in place while recording
(PyTorch's error). NumPy's read-only views (diagonals, broadcasts) are written through the
owner's array.

The nodes these writes leave are shown as PyTorch shows them: ``x[idx] = v`` on a tensor that
is not a view is a ``CopySlices`` where PyTorch writes through a view of ``x`` (an integer,
a partial slice or ``None`` in the index), an ``IndexPutBackward0`` for advanced indices alone,
and a ``FillBackward3`` or ``CopyBackwards`` for an index that selects everything. The
``CopySlices`` of a base leads to what computed the base before the write, then to the inputs
of the operation that changed the view other than the view itself (``v.mul_(2)`` on
``v = b[0]`` or ``v = b.t()``: ``(MulBackward0, None)``).
"""

from __future__ import annotations

import weakref
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
NO_GRAD_VIEW_MESSAGE = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace to "
    "be tracked)."
)
OVERLAP_MESSAGE = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)


def _is_view(t: Tensor) -> bool:
    extra = t._extra
    return extra is not None and "base" in extra


def follows_base(t: Tensor) -> bool:
    """Whether ``t`` is a view made without recording whose storage's owner requires grad
    now: PyTorch then records in-place changes to it as to any view of that tensor."""
    extra = t._extra
    return extra is not None and "view" in extra and extra["base"]._slot is not None


def _recording(t: Tensor, others: tuple[Any, ...]) -> bool:
    return _state.tape.grad_enabled and (
        t._slot is not None
        or any(isinstance(o, Tensor) and o._slot is not None for o in others)
        or follows_base(t)
    )


def _overlapping(d: Any) -> bool:
    """Whether an array has elements that share memory (a broadcast dimension), as PyTorch
    tests before writing into a tensor."""
    for n, step in zip(d.shape, d.strides):
        if step == 0 and n > 1:
            return True
    return False


def check_inplace(t: Tensor, overlap_ok: bool = False) -> None:
    """Refuse in-place changes PyTorch refuses: on leaves that require grad (and their views)
    while recording, on views made under no_grad of a tensor that requires grad while
    recording, and (unless ``overlap_ok``: ``fill_`` and ``zero_``) on views whose elements
    share memory."""
    extra = t._extra
    if extra is None or "base" not in extra:
        if t._slot is not None and t._entry is None and _state.tape.grad_enabled:
            raise RuntimeError(INPLACE_LEAF_MESSAGE)
        return
    if _state.tape.grad_enabled:
        root = extra["base"]
        if root._slot is not None:
            made = extra.get("view")
            if made is not None and made[3]:
                # Not recorded, and it (or a view it was taken of) was made from a tensor
                # that required grad: under no_grad.
                raise RuntimeError(NO_GRAD_VIEW_MESSAGE)
            if root._entry is None:
                raise RuntimeError(VIEW_OF_LEAF_MESSAGE)
    if not overlap_ok and _overlapping(t.data):
        raise RuntimeError(OVERLAP_MESSAGE)


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


def apply_inplace(
    t: Tensor, op: Callable[..., Any], *others: Any, overlap_ok: bool = False
) -> Tensor:
    """Replace ``t``'s value by ``op(t, *others)`` in place, recording when needed.

    ``overlap_ok`` lets the write into a view whose elements share memory (PyTorch allows
    ``fill_`` and ``zero_`` there: every element gets the same value)."""
    check_inplace(t, overlap_ok)
    recording = _recording(t, others)
    if recording and _is_view(t):
        if follows_base(t):
            _attach(t)
        result = op(t, *others)
        _check_result(t, result.data if isinstance(result, Tensor) else result)
        if isinstance(result, Tensor) and result._entry is not None:
            _keep_old_value(t, result)
        _write_through_view(t, result)
        return t
    result = op(t, *others)
    rdata = result.data if isinstance(result, Tensor) else result
    _check_result(t, rdata)
    tracked = recording and isinstance(result, Tensor) and result._slot is not None
    if tracked:
        _keep_old_value(t, result)
    _store(t, None, rdata)
    t._bump()
    if tracked:
        t._slot = result._slot
        t._entry = result._entry
    return t


def _made(view: Tensor) -> tuple[Tensor | None, Any, Any]:
    """The base ``view`` was taken of, and the view primitive and parameters that took it;
    ``(None, None, None)`` where that base, a view made without recording that this view
    held weakly (see ``_share_view``), is gone: the view's elements are then found in the
    storage."""
    extra = view._extra
    how = extra.get("replay") or extra["view"]
    base = how[0]
    if base.__class__ is weakref.ref:
        base = base()
        if base is None:
            return None, None, None
    return base, how[1], how[2]


def _gather(prim: Any, params: Any, a: Any) -> Any:
    """The view primitive's forward on the array ``a``."""
    xp = namespace(a)
    return prim.fwd(xp, a) if params is None else prim.fwd(xp, a, **params)


def _positions(view: Tensor) -> tuple[Tensor, Any]:
    """The tensor that owns ``view``'s storage, and the flat positions in it of the view's
    elements (an integer array of the view's shape, on the data's device): the views that
    made ``view`` applied in turn to the positions of the owner's elements."""
    owner = view._extra["base"]
    chain = []
    t = view
    while _is_view(t):
        base, prim, params = _made(t)
        if base is None:
            pos = _positions_in_storage(t, owner)
            break
        chain.append((prim, params))
        t = base
    else:
        pos = _own_positions(owner.data)
    for prim, params in reversed(chain):
        pos = _gather(prim, params, pos)
    return owner, pos


def _own_positions(d: Any) -> Any:
    """The flat position of each element of the array ``d``, in ``d``'s shape."""
    return namespace(d).arange(d.size).reshape(d.shape)


def _address(a: Any) -> int:
    """Where an array's first element lies in memory (CuPy: ``a.data.ptr``)."""
    ptr = getattr(getattr(a, "data", None), "ptr", None)
    return a.__array_interface__["data"][0] if ptr is None else ptr


def _offsets(xp: Any, shape: tuple[int, ...], steps: tuple[int, ...]) -> Any:
    """The offsets, in elements, of an array's elements from its first, given its steps."""
    off = xp.zeros(shape, dtype=np.intp)
    for k, (n, step) in enumerate(zip(shape, steps)):
        if n > 1 and step:
            off = off + (xp.arange(n) * step).reshape((n,) + (1,) * (len(shape) - k - 1))
    return off


def _positions_in_storage(view: Tensor, owner: Tensor) -> Any:
    """The flat positions in ``owner`` of ``view``'s elements, from where both arrays lie in
    the storage they share (PyTorch's ``as_strided`` geometry)."""
    r, d = owner.data, view.data
    xp = namespace(r)
    size = r.itemsize
    rsteps = tuple(st // size for st in r.strides)
    lo = sum(min(0, (n - 1) * st) for n, st in zip(r.shape, rsteps) if n)
    hi = sum(max(0, (n - 1) * st) for n, st in zip(r.shape, rsteps) if n)
    # Position in ``owner`` of each element of the storage it spans.
    image = xp.zeros(hi - lo + 1, dtype=np.intp)
    image[(_offsets(xp, r.shape, rsteps) - lo).reshape(-1)] = xp.arange(r.size)
    start = (_address(d) - _address(r)) // size - lo
    return image[_offsets(xp, d.shape, tuple(st // size for st in d.strides)) + start]


def _coordinates(pos: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """Flat positions in an array of ``shape`` (at least 1-D) as an index of integer arrays."""
    return tuple(namespace(pos).unravel_index(pos, shape))


def _store(t: Tensor, index: Any, raw: Any) -> None:
    """``t.data[index] = raw`` (all of it for ``index=None``, cast as ``copyto`` casts).

    NumPy makes some views read-only (diagonals, broadcasts): those are written through the
    array that owns their storage."""
    d = t.data
    try:
        if index is None:
            namespace(d).copyto(d, raw, casting="unsafe")
        else:
            d[index] = raw
    except ValueError:
        if not _read_only_view(t):
            raise
        root, pos = _positions(t)
        if index is not None:
            pos = pos[index]
        target = root.data if root.data.ndim else root.data[None]
        target[_coordinates(pos, target.shape)] = raw


def _read_only_view(t: Tensor) -> bool:
    """Whether ``t`` is a view whose array refuses writes (NumPy's diagonals and broadcasts;
    CuPy has no read-only arrays)."""
    return not getattr(getattr(t.data, "flags", None), "writeable", True) and _is_view(t)


def _attach(view: Tensor) -> None:
    """Put on the graph a view made without recording, of a tensor that has required grad
    since (another view of it was changed in place by a value that requires grad): remade
    from its base, as PyTorch remakes such a view's node."""
    base, prim, params = _made(view)
    if base is not None and follows_base(base):
        _attach(base)
    _remake(view, base, prim, params)


def _remake(view: Tensor, base: Tensor | None, prim: Any, params: Any) -> None:
    """Rebind ``view`` to a fresh view of ``base``, shown as PyTorch remakes it: an
    ``AsStridedBackward0`` of the tensor that owns the storage. Without a base (see
    ``_made``), the view's elements are gathered from the flattened owner."""
    from . import primitive

    extra = view._extra
    if base is None:
        from .ops.index import GETITEM
        from .ops.shape import reshape

        owner, pos = _positions(view)
        base = reshape(owner, (-1,))
        prim = GETITEM
        params = {"index": pos, "shape": tuple(base.shape), "basic": False}
    fresh = show_as(primitive.bind(prim, (base,), params), primitive.REMADE_VIEW, extra["base"])
    view._slot = fresh._slot
    view._entry = fresh._entry
    extra.pop("view", None)
    extra["replay"] = (base, prim, params, view._version[0])


def _write_through_view(view: Tensor, value: Any) -> None:
    """Record the write of ``value`` (the view's new value, computed from it out of place)
    into the view's base, then rebind the view to a fresh view of the new base, so that
    later uses of it see the new graph.

    The base's ``CopySlices`` node leads to the inputs of ``value``'s node other than the
    view."""
    links = _other_links(value, view)
    if _straight_to_owner(view):
        _put_into_owner(view, None, value, links)
    else:
        _put_through(view, value, links)


def _straight_to_owner(view: Tensor) -> bool:
    """Whether a write into ``view`` goes straight to the tensor that owns the storage,
    rather than through each view it was taken of: where one of those views has elements
    that share memory (a broadcast, whose new value may hold two values for one element),
    or where they were not kept (see ``_made``)."""
    t = view
    while _is_view(t):
        if _overlapping(t.data):
            return True
        t = _made(t)[0]
        if t is None:
            return True
    return False


def _other_links(value: Any, view: Tensor) -> tuple[Any, ...]:
    """The ``next_functions`` links of the node that computed ``value`` from ``view``, less
    the one to ``view`` (PyTorch's ``CopySlices`` drops the changed view's own input; a view
    that does not require grad drops the first constant)."""
    e = value._entry if isinstance(value, Tensor) else None
    if e is None:
        return (input_link(value),)
    links = entry_links(e)
    own = input_link(view)
    for k, link in enumerate(links):
        if own is None:
            same = link is None
        else:
            same = (
                isinstance(link, tuple)
                and isinstance(own, tuple)
                and link[0] is own[0]
                and link[1] == own[1]
            )
        if same:
            return links[:k] + links[k + 1 :]
    return links


def _put(base: Tensor, prim: Any, params: Any, value: Any) -> Any:
    """``base`` with the elements that the view ``prim(base, **params)`` looks at replaced by
    ``value``, out of place: the indexing itself for a view made by indexing, else the
    positions of those elements."""
    from .ops.index import index_put

    if prim.name == "getitem":
        return index_put(base, value, params["index"], name="CopySlices")
    return _put_at(base, _gather(prim, params, _own_positions(base.data)), value)


def _put_at(base: Tensor, pos: Any, value: Any) -> Any:
    """``base`` with its elements at the flat positions ``pos`` replaced by ``value`` (which
    broadcasts to ``pos``'s shape), out of place."""
    from .ops.index import index_put

    if base.data.ndim:
        return index_put(base, value, _coordinates(pos, base.data.shape), name="CopySlices")
    from .ops.shape import reshape

    return reshape(index_put(reshape(base, (1,)), value, pos, name="CopySlices"), ())


def _put_into_owner(view: Tensor, index: Any, value: Any, links: tuple[Any, ...]) -> None:
    """Write ``value`` into ``view[index]`` (all of the view for ``index=None``) straight
    into the tensor that owns the storage, at the positions of those elements there, recorded
    as ``CopySlices``; then remake the view. The views between are remade when next used."""
    owner, pos = _positions(view)
    if index is not None:
        pos = pos[index]
    r = _put_at(owner, pos, value)
    if isinstance(r, Tensor) and r._entry is not None:
        show_links(r, "CopySlices", (input_link(owner), *links))
    _rebind_owner(owner, r)
    base, prim, params = _made(view)
    if base is not None and follows_base(base):
        _attach(base)
    _remake(view, base, prim, params)


def _rebind_owner(owner: Tensor, r: Tensor) -> None:
    """Copy the new value ``r`` into the storage of ``owner`` and rebind it to ``r``'s node."""
    namespace(owner.data).copyto(owner.data, r.data)
    owner._bump()
    owner._slot = r._slot
    owner._entry = r._entry


def _put_through(view: Tensor, value: Any, links: tuple[Any, ...]) -> None:
    """Write ``value`` into the view's base, recorded as ``CopySlices``, whose
    ``next_functions`` are what computed the base and then ``links``; a base that is itself
    a view writes on through. The view is then remade from the new base."""
    base, prim, params = _made(view)
    r = _put(base, prim, params, value)
    if isinstance(r, Tensor) and r._entry is not None:
        show_links(r, "CopySlices", (input_link(base), *links))
    if _is_view(base):
        _put_through(base, r, links)
    else:
        _rebind_owner(base, r)
    _remake(view, base, prim, params)


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
        if _read_only_view(t):
            # A read-only NumPy view (a diagonal, a broadcast): written through its owner.
            from .ops import elementwise

            return apply_inplace(t, getattr(elementwise, ufunc_name), other)
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

    check_inplace(t, overlap_ok=True)
    index = normalize_index(index)
    if _is_view(t) and _overlapping(t.data) and _overlapping(t.data[index]):
        raise RuntimeError(OVERLAP_MESSAGE)
    if not _recording(t, (value,)):
        raw = value.data if isinstance(value, Tensor) else value
        if hasattr(raw, "shape") and namespace(raw) is not namespace(t.data):
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two "
                f"devices, {t.device} and {Tensor._make(raw).device}!"
            )
        _store(t, index, raw)
        t._bump()
        return
    if _is_view(t):
        if follows_base(t):
            _attach(t)
        if _straight_to_owner(t):
            # Only the elements at ``index`` are written (they share no memory).
            _put_into_owner(t, index, value, (input_link(value),))
        else:
            _write_through_view(t, index_put(t, value, index, name="CopySlices"))
        return
    _rebind_owner(t, index_put(t, value, index, name=_put_name(t, index, value)))


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
