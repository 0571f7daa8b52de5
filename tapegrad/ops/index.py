"""Indexing: ``x[idx]`` (basic, integer-array and boolean) and ``x[idx] = v``.

The cotangent of ``x[idx]`` is scattered back with ``add.at``, so repeated integer indices
add up. Writing ``x[idx] = v`` into a tensor in the graph records an out-of-place
``index_put`` and rebinds the tensor to its result, as PyTorch's ``CopySlices`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import namespace
from ..primitive import Primitive, bind
from ._broadcast import unbroadcast

__all__ = ["getitem", "scatter", "index_put", "normalize_index"]


def normalize_index(index: Any) -> Any:
    """Tensors inside an index become their arrays; lists become integer or boolean arrays."""
    from ..tensor import Tensor

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
    return all(
        i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items
    )


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


def _scatter_fwd(xp: Any, g: Any, index: Any, shape: Any, basic: bool) -> Any:
    z = xp.zeros(shape, dtype=g.dtype)
    if basic:
        z[index] = g
    else:
        xp.add.at(z, index, g)
    return z


GETITEM = Primitive(
    "getitem",
    lambda xp, x, index, shape, basic, name=None: x[index],
    (lambda g, x, out, index, shape, basic, name=None: scatter(g, index, shape, basic),),
    lambda t, x, out, index, shape, basic, name=None: getitem(t[0], index),
    uses=((),),
    grad_fn=lambda p: p.get("name") or _index_name(p["index"]),
    view=True,
)
SCATTER = Primitive(
    "scatter",
    _scatter_fwd,
    (lambda g, x, out, index, shape, basic: getitem(g, index),),
    lambda t, x, out, index, shape, basic: scatter(t[0], index, shape, basic),
    uses=((),),
    grad_fn="IndexAddBackward0",
)


def _index_put_fwd(xp: Any, x: Any, v: Any, index: Any, name: str = "") -> Any:
    y = x.copy()
    y[index] = v
    return y


def _index_put_value_grad(g: Any, x: Any, v: Any, out: Any, index: Any, name: str = "") -> Any:
    region = getitem(g, index)
    shape = tuple(v.shape) if hasattr(v, "shape") else ()
    return unbroadcast(region, shape)


INDEX_PUT = Primitive(
    "index_put",
    _index_put_fwd,
    (
        lambda g, x, v, out, index, name="": index_put(g, 0, index),
        _index_put_value_grad,
    ),
    lambda t, x, v, out, index, name="": index_put(
        t[0] if t[0] is not None else out * 0, 0 if t[1] is None else t[1], index
    ),
    uses=((), (1,)),
    grad_fn=lambda p: p.get("name") or "IndexPutBackward0",
)


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for basic, integer-array and boolean indices."""
    index = normalize_index(index)
    shape = tuple(x.shape)
    return bind(GETITEM, (x,), {"index": index, "shape": shape, "basic": _is_basic(index)})


def scatter(g: Any, index: Any, shape: Any, basic: bool) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    return bind(SCATTER, (g,), {"index": index, "shape": tuple(shape), "basic": basic})


def index_put(x: Any, v: Any, index: Any, *, name: str | None = None) -> Any:
    """A copy of ``x`` with ``x[index] = v`` (out of place)."""
    p: dict[str, Any] = {"index": normalize_index(index)}
    if name is not None:
        p["name"] = name
    return bind(INDEX_PUT, (x, v), p)
