"""Making a recorded program shorter and its calls cheaper, without changing one result.

One pass over the recorded calls, in order:

- *folding*: a call that reads nothing derived from the inputs (``eye``, the seed ``ones``
  of a sweep, anything computed from closed-over arrays) is replaced by the value it had
  while recording;
- *identities*: ``x * 1``, ``x ** 1``, ``astype`` to the same dtype, ``reshape`` or
  ``broadcast_to`` to the same shape, a ``copy`` nothing writes into, become ``x``;
- *common calls*: a call identical to an earlier one (same function, same arguments) reuses
  its results;
- *cheaper forms*: ``np.sum`` becomes ``np.add.reduce`` with positional arguments, the
  functions ``reshape``/``transpose``/``swapaxes`` the ndarray methods, and a Python number
  next to a float array a 0-d array of that array's dtype (what NumPy converts it to anyway,
  without converting it on every call).

None of this touches memory that is written in place (a family of views of a buffer that
some call writes into), and no output ends up sharing memory with an input or another output
because of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .trace import Node, Recorder, Var, last_reads

__all__ = ["optimize"]

_NDARRAY = np.ndarray
_METHOD_FORMS = {
    np.reshape: _NDARRAY.reshape,
    np.transpose: _NDARRAY.transpose,
    np.swapaxes: _NDARRAY.swapaxes,
}
_SUMS = (np.sum, _NDARRAY.sum)


def optimize(rec: Recorder, outputs: list[Any]) -> tuple[list[Node], list[Any]]:
    """The calls of ``rec`` after the rewrites above, and the outputs after them."""
    subst: dict[int, Any] = {}
    out_vars = {o for o in outputs if isinstance(o, int)}
    seen: dict[Any, list[int]] = {}
    kept: list[Node] = []
    for node in rec.nodes:
        node.args = _substitute(node.args, subst)
        node.kwargs = _substitute(node.kwargs, subst)
        reads = node.reads()
        touched = reads + node.outs
        if node.effect or not node.outs or any(rec.is_written(v) for v in touched):
            kept.append(node)
            continue
        if not any(rec.is_tainted(v) for v in touched) and all(o in rec.values for o in node.outs):
            for o in node.outs:
                subst[o] = rec.values[o]
            continue
        if node.outs[0] not in out_vars:
            same = _identity(node, rec)
            if same is not None:
                subst[node.outs[0]] = same
                continue
            key = _key(node)
            if key is not None:
                earlier = seen.get(key)
                if earlier is not None and not any(o in out_vars for o in node.outs):
                    for o, e in zip(node.outs, earlier, strict=True):
                        subst[o] = Var(e)
                    continue
                seen[key] = node.outs
        kept.append(_cheaper(node, rec))
    kept = _drop_last_copies(kept, rec, outputs, subst)
    new_outputs = []
    for o in outputs:
        if isinstance(o, int) and o in subst:
            v = subst[o]
            o = v.n if v.__class__ is Var else ("const", np.array(v, copy=True))
        new_outputs.append(o)
    return kept, new_outputs


def _drop_last_copies(
    nodes: list[Node], rec: Recorder, outputs: list[Any], subst: dict[int, Any]
) -> list[Node]:
    """Drop a ``copy`` of a buffer that nothing reads afterwards and that only the program
    holds (made by it, viewed by nothing else, not an input): it can be handed out itself."""
    last = last_reads(nodes)
    made = {o for node in nodes for o in node.outs}
    out_vars = [o for o in outputs if isinstance(o, int)]
    kept = []
    for i, node in enumerate(nodes):
        if node.name in ("copy", "__copy__") and len(node.args) == 1 and not node.kwargs:
            src = node.args[0]
            if (
                src.__class__ is Var
                and src.n in made
                and src.n not in rec.borrowed
                and last.get(src.n) == i
                and src.n not in out_vars
                and rec.sole_owner(src.n)
                and not rec.is_written(src.n)
                and rec.meta[src.n] == rec.meta[node.outs[0]]
            ):
                subst[node.outs[0]] = src
                continue
        node.args = _substitute(node.args, subst)
        node.kwargs = _substitute(node.kwargs, subst)
        kept.append(node)
    return kept


def _substitute(t: Any, subst: dict[int, Any]) -> Any:
    cls = t.__class__
    if cls is Var:
        return subst.get(t.n, t)
    if cls is tuple or cls is list:
        return cls(_substitute(x, subst) for x in t)
    if cls is dict:
        return {k: _substitute(v, subst) for k, v in t.items()}
    if cls is slice:
        return slice(*(_substitute(x, subst) for x in (t.start, t.stop, t.step)))
    return t


def _is_one(x: Any) -> bool:
    return x.__class__ in (int, float) and x == 1


def _identity(node: Node, rec: Recorder) -> Any:
    """The variable a call merely passes on, or ``None``."""
    args, kwargs, name = node.args, node.kwargs, node.name
    out_meta = rec.meta[node.outs[0]]

    def same_as(v: Any) -> Any:
        return v if v.__class__ is Var and rec.meta[v.n] == out_meta else None

    if name in ("multiply", "power") and len(args) == 2 and not kwargs:
        if out_meta[1].kind not in "fc":
            return None
        a, b = args
        if _is_one(b):
            return same_as(a)
        if name == "multiply" and _is_one(a):
            return same_as(b)
        return None
    if not args:
        return None
    if name == "astype" and kwargs.get("copy") is False and len(args) == 2:
        return same_as(args[0])
    if name in ("reshape", "broadcast_to", "copy", "__copy__"):
        return same_as(args[0])
    return None


def _key(node: Node) -> Any:
    """A hashable description of a call, or ``None``."""
    try:
        key = (id(node.fn), _hashable(node.args), _hashable(node.kwargs))
        hash(key)
    except TypeError:
        return None
    return key


def _hashable(t: Any) -> Any:
    cls = t.__class__
    if cls is Var:
        return ("v", t.n)
    if cls is tuple or cls is list:
        return (cls.__name__, *(_hashable(x) for x in t))
    if cls is dict:
        return ("d", *((k, _hashable(v)) for k, v in t.items()))
    if cls is slice:
        return ("s", _hashable((t.start, t.stop, t.step)))
    if isinstance(t, (_NDARRAY, np.generic)):
        return ("id", id(t))
    return (cls, t)


def _cheaper(node: Node, rec: Recorder) -> Node:
    fn, args, kwargs = node.fn, node.args, node.kwargs
    if isinstance(fn, np.ufunc) and len(args) == 2 and not kwargs:
        a, b = args
        if a.__class__ is Var and b.__class__ in (int, float):
            node.args = (a, _zero_d(b, rec.meta[a.n][1]))
        elif b.__class__ is Var and a.__class__ in (int, float):
            node.args = (_zero_d(a, rec.meta[b.n][1]), b)
        return node
    method = _METHOD_FORMS.get(fn)
    if method is not None and args and args[0].__class__ is Var and not kwargs:
        node.fn = method
        return node
    if fn in _SUMS and args and args[0].__class__ is Var and len(args) == 1:
        x = args[0]
        shape, dtype = rec.meta[x.n]
        if dtype.kind in "fc" and set(kwargs) <= {"axis", "keepdims", "dtype"}:
            if kwargs.get("dtype") is not None:
                return node
            axis = kwargs.get("axis")
            keepdims = bool(kwargs.get("keepdims", False))
            if len(shape) == 1 and axis in (None, 0, -1, (0,), (-1,)):
                axis = 0
            node.fn, node.name = np.add.reduce, "add.reduce"
            node.kwargs = {}
            node.args = (x, axis, None, None, True) if keepdims else (x, axis)
    return node


def _zero_d(value: Any, dtype: np.dtype) -> Any:
    """A Python number as the 0-d array NumPy makes of it next to an array of ``dtype``."""
    if dtype.kind not in "fc":
        return value
    return np.asarray(value, dtype=dtype)
