"""Primitives: one definition holds an operation's forward, VJP and JVP rules; ``bind`` applies it.

A :class:`Primitive` is the only way maths enters the tape. ``bind(prim, args, params)``
unwraps tensors, runs the forward on raw arrays of the right array module, and, when grad mode
is on and an input requires grad, appends one :class:`~tapegrad.tape.Entry` holding exactly
the residuals the rules of the differentiated inputs need.

Rules are written with tapegrad's own operations (``tapegrad.ops``). Given raw arrays they run
as plain array code; given tensors (a sweep with ``create_graph=True``, or a transform nested
in another) they are recorded themselves, which is how higher derivatives work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tape as _tape
from .backend import namespace
from .tape import Entry, new_slot
from .tensor import Tensor

__all__ = ["Primitive", "bind", "OUT"]

#: Index meaning "the primitive's output" in a ``uses`` declaration.
OUT = -1

_state = _tape._state
_NDARRAY = np.ndarray
_SAVE_ALL = [(True,) * (n + 1) for n in range(16)]


class Primitive:
    """An operation known to the tape.

    Parameters
    ----------
    name : str
        Short name shown by ``print(tape)`` (``mul``, ``sum``, ...).
    fwd : callable
        ``fwd(xp, *args, **params)`` on raw arrays of array module ``xp``.
    vjp : sequence of callables or None
        One rule per positional argument, ``rule(g, *args, out, **params) -> cotangent``;
        ``None`` marks an argument with no gradient. Arguments the rule does not need arrive
        as ``None`` (see ``uses``).
    jvp : callable, optional
        ``jvp(tangents, *args, out, **params)``: the output tangent, given one tangent per
        argument (``None`` for a zero tangent).
    uses : sequence of sequences of int, optional
        For each argument, which of ``(*args, out)`` its VJP rule reads (``OUT`` = -1 for the
        output). The tape saves the union over the arguments that require grad; default: all.
    grad_fn : str or callable
        PyTorch's name for the backward node (``"MulBackward0"``), or ``fn(params) -> name``.
    nout : int
        Number of outputs (``fwd`` then returns a tuple).
    broadcasting : bool
        Inputs broadcast against each other; the sweep un-broadcasts cotangents.
    view : bool
        The output may share memory with the first argument (reshape, transpose, slicing):
        it then shares that tensor's version counter.
    """

    __slots__ = (
        "name",
        "fwd",
        "vjp",
        "jvp",
        "uses",
        "grad_fn",
        "nout",
        "broadcasting",
        "view",
        "_plans",
        "__weakref__",
    )

    def __init__(
        self,
        name: str,
        fwd: Callable[..., Any],
        vjp: Sequence[Callable[..., Any] | None] | None = None,
        jvp: Callable[..., Any] | None = None,
        *,
        uses: Sequence[Sequence[int]] | None = None,
        grad_fn: str | Callable[[dict[str, Any] | None], str] | None = None,
        nout: int = 1,
        broadcasting: bool = False,
        view: bool = False,
    ) -> None:
        self.name = name
        self.fwd = fwd
        self.vjp = tuple(vjp) if vjp is not None else None
        self.jvp = jvp
        self.uses = tuple(tuple(u) for u in uses) if uses is not None else None
        self.grad_fn = grad_fn if grad_fn is not None else name.capitalize() + "Backward0"
        self.nout = nout
        self.broadcasting = broadcasting
        self.view = view
        self._plans: dict[tuple[int, int], tuple[bool, ...]] = {}

    def grad_fn_name(self, params: dict[str, Any] | None) -> str:
        """PyTorch's name of the backward node for an entry with these parameters."""
        gf = self.grad_fn
        return gf if isinstance(gf, str) else gf(params)

    def save_plan(self, nargs: int, tracked_mask: int) -> tuple[bool, ...]:
        """Which of ``(*args, out)`` to keep when the arguments in ``tracked_mask`` need grad."""
        key = (nargs, tracked_mask)
        plan = self._plans.get(key)
        if plan is None:
            keep = [False] * (nargs + 1)
            for i in range(nargs):
                if not tracked_mask >> i & 1:
                    continue
                if self.vjp is None or i >= len(self.vjp) or self.vjp[i] is None:
                    continue
                needed = self.uses[i] if self.uses is not None else range(-1, nargs)
                for j in needed:
                    keep[j if j >= 0 else nargs] = True
            plan = tuple(keep)
            self._plans[key] = plan
        return plan

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"

    def __call__(self, *args: Any, **params: Any) -> Any:
        return bind(self, args, params or None)


def _as_array(out: Any, xp: Any) -> Any:
    """NumPy returns scalars from ufuncs on 0-d arrays; the tape deals in arrays only."""
    if isinstance(out, np.generic) or not hasattr(out, "shape"):
        return np.asarray(out) if xp is np else xp.asarray(out)
    return out


def _device_clash(prim: Primitive, arrays: list[Any]) -> RuntimeError:
    from .backend import device_of

    devs = []
    for a in arrays:
        d = device_of(a)
        if d not in devs:
            devs.append(d)
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{devs[0]} and {devs[1]}! (when calling {prim.name})"
    )


def bind(prim: Primitive, args: Sequence[Any], params: dict[str, Any] | None = None) -> Any:
    """Apply ``prim`` to ``args``: compute, and record on the tape when gradients are needed.

    Tensors in ``args`` are unwrapped; the result is a tensor if any argument was one, else a
    raw array. ``params`` are static keyword parameters passed to the forward and the rules.
    """
    raws = []
    tensors = 0
    tracked = 0
    xp_src = None
    first_type = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            d = a.data
            raws.append(d)
            tensors += 1
            if a._slot is not None:
                tracked |= 1 << i
            if first_type is None:
                first_type = type(d)
                xp_src = d
            elif type(d) is not first_type and (
                first_type is not _NDARRAY or type(d) is not _NDARRAY
            ):
                if namespace(d) is not namespace(xp_src):
                    raise _device_clash(prim, [r for r in raws if hasattr(r, "shape")])
        else:
            raws.append(a)
            if xp_src is None and hasattr(a, "shape"):
                xp_src = a
    xp = np if xp_src is None or type(xp_src) is _NDARRAY else namespace(xp_src)
    if params is None:
        out = prim.fwd(xp, *raws)
    else:
        out = prim.fwd(xp, *raws, **params)
    nout = prim.nout
    if nout == 1:
        if type(out) is not _NDARRAY:
            out = _as_array(out, xp)
    else:
        out = tuple(o if type(o) is _NDARRAY else _as_array(o, xp) for o in out)
    if not tensors:
        return out
    if not tracked or not _state.grad_enabled or prim.vjp is None:
        if nout == 1:
            return _view_or_new(prim, args, out, None, None)
        return tuple(_view_or_new(prim, args, o, None, None) for o in out)
    return _record(prim, args, raws, out, params, tracked)


def _view_or_new(prim: Primitive, args: Sequence[Any], out: Any, slot: Any, entry: Any) -> Tensor:
    t = Tensor._make(out, slot, entry)
    if prim.view:
        base = args[0]
        if isinstance(base, Tensor):
            ob = getattr(out, "base", None)
            bd = base.data
            if ob is not None and (ob is bd or ob is getattr(bd, "base", None)):
                t._version = base._version
                t._base = base if base._base is None else base._base
    return t


def _record(
    prim: Primitive,
    args: Sequence[Any],
    raws: list[Any],
    out: Any,
    params: dict[str, Any] | None,
    tracked: int,
) -> Any:
    n = len(args)
    e = Entry()
    e.prim = prim
    e.params = params
    e.extra = None
    ins = []
    srcs = []
    leaves = None
    for a in args:
        if isinstance(a, Tensor) and a._slot is not None:
            ins.append(a._slot)
            src = a._entry
            srcs.append(src)
            if src is None:
                if leaves is None:
                    leaves = []
                leaves.append((a._slot, a))
        else:
            ins.append(None)
            srcs.append(None)
    e.ins = tuple(ins)
    e.srcs = tuple(srcs)
    e.leaves = tuple(leaves) if leaves is not None else None

    if prim.nout == 1:
        slot = new_slot()
        e.slot = slot
        e.outs = None
        result = _view_or_new(prim, args, out, slot, e)
        out_versions = ((result._version, result._version[0], n),)
    else:
        slots = tuple(new_slot() for _ in out)
        e.slot = slots[0]
        e.outs = slots
        result = tuple(_view_or_new(prim, args, o, s, e) for o, s in zip(out, slots))
        out_versions = tuple((r._version, r._version[0], n) for r in result)

    plan = prim.save_plan(n, tracked) if not _state.save_all else _SAVE_ALL[n]
    vers = []
    if any(plan):
        saved = []
        for i in range(n):
            if plan[i]:
                saved.append(raws[i])
                a = args[i]
                if isinstance(a, Tensor):
                    vers.append((a._version, a._version[0], i))
            else:
                saved.append(None)
        if plan[n]:
            saved.append(out)
            vers.extend(out_versions)
        else:
            saved.append(None)
        e.saved = tuple(saved)
    else:
        e.saved = None
    e.vers = tuple(vers)

    e.bshapes = None
    if prim.broadcasting:
        # Only shapes of differentiated inputs that differ from the output's need un-broadcasting.
        oshape = out.shape
        for i in range(n):
            if tracked >> i & 1 and raws[i].shape != oshape:
                e.bshapes = tuple(getattr(r, "shape", ()) for r in raws)
                break
    _state.tape.append(e)
    return result
