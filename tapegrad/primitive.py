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
from sys import getrefcount as _getrefcount
from types import FunctionType
from typing import Any
from weakref import ref as _weakref

import numpy as np

# vmap's batching rules build on this module: reached through the package when called.
import tapegrad as _tapegrad

from . import tape as _tape
from .backend import namespace
from .tape import _EXACT_REFCOUNTS, OUTS, PARAMS, POS, SAVED, SLOT, VERS, Entry, new_slot
from .tape import SAVED_HOOKS as _SAVED_HOOKS
from .tape import pack_saved as _pack_saved
from .tensor import Tensor, show_as
from .tensor import wrap as _new

__all__ = ["Primitive", "bind", "bind1", "bind2", "unary_op", "binary_op", "OUT"]

#: Index meaning "the primitive's output" in a ``uses`` declaration.
OUT = -1

_state = _tape._state
_NDARRAY = np.ndarray
_object_new = object.__new__
_F64 = np.dtype(np.float64)
_C128 = np.dtype(np.complex128)
_next_slot = new_slot
_SAVE_ALL = [(True,) * (n + 1) for n in range(16)]
#: Residuals of at least this many elements count towards the tape's early pruning.
_LARGE = 1 << 15
#: Inputs of at least this many elements may have a one-argument result written over them.
_REUSE_MIN = _tape.INPLACE_MIN
# Host values the NumPy shortcut of a primitive accepts directly.
_HOST = frozenset(
    {
        _NDARRAY,
        int,
        float,
        bool,
        complex,
        np.float64,
        np.float32,
        np.float16,
        np.int64,
        np.int32,
        np.bool_,
        np.complex128,
        np.complex64,
    }
)


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
    graph_inputs : sequence of int, or callable(params), optional
        The arguments PyTorch shows as inputs of the node (``next_functions``); by default
        all. PyTorch's scalar overloads (``2 - x``, ``x ** 2``) and ``where``'s condition are
        not graph inputs.
    np_fwd : str or callable, optional
        The forward on NumPy arrays without parameters, named by its NumPy function (``"sin"``):
        a shortcut the hot path takes for host data.
    vjp_into : sequence of callables or None, optional
        Rules like ``vjp`` that may write their result into the cotangent ``g`` itself. The
        sweep calls one instead of the matching ``vjp`` rule when ``g`` is a large NumPy array
        that nothing but the sweep refers to and the entry differentiates that input alone:
        that saves allocating (and first touching) a new buffer. Each must still return the
        cotangent, computing a new array where ``g``'s shape or dtype cannot hold it.
    vjp_unit : sequence of callables or None, optional
        Rules like ``vjp`` for a cotangent of ones, which ``loss.sum().backward()`` hands to the
        entries under the sum: ``g * v`` is then ``v``. The sweep calls them when ``g`` is a
        large NumPy broadcast of the value 1 and the entry's residuals are freed after it.
        A residual that nothing but the entry holds may then become the cotangent itself;
        that saves a pass over the data and a new buffer.
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
        "np_fwd",
        "promotes",
        "graph_inputs",
        "plan1",
        "plan2",
        "direct2",
        "vjp_into",
        "vjp_unit",
        "large_rules",
        "keeps_type",
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
        np_fwd: Callable[..., Any] | str | None = None,
        graph_inputs: Sequence[int] | Callable[[Any], Sequence[int]] | None = None,
        vjp_into: Sequence[Callable[..., Any] | None] | None = None,
        vjp_unit: Sequence[Callable[..., Any] | None] | None = None,
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
        self.np_fwd = getattr(np, np_fwd) if isinstance(np_fwd, str) else np_fwd
        # Arithmetic keeps integer tensors with Python floats in float32, as PyTorch does.
        self.promotes = broadcasting and nout == 1
        self.graph_inputs = graph_inputs
        self.vjp_into = tuple(vjp_into) if vjp_into is not None else None
        self.vjp_unit = tuple(vjp_unit) if vjp_unit is not None else None
        #: Whether the sweep looks for other rules when a cotangent is large.
        self.large_rules = vjp_into is not None or vjp_unit is not None
        self.keeps_type = _self_typed_loops(self.np_fwd)
        self._plans: dict[tuple[int, int], tuple[bool, ...]] = {}
        # Save plans of the hot paths, by which arguments require grad.
        self.plan1 = self._plan_or_none(1, (1,))
        self.plan2 = self._plan_or_none(2, (1, 2, 3))
        #: Whether two-argument binds may take ``_bind2``'s path with the general forward
        #: (a NumPy forward that takes the parameters, no view, no dtype promotion to apply).
        self.direct2 = nout == 1 and not view and not broadcasting and self.plan2 is not None

    def grad_fn_name(self, params: dict[str, Any] | None) -> str:
        """PyTorch's name of the backward node for an entry with these parameters."""
        gf = self.grad_fn
        return gf if isinstance(gf, str) else gf(params)

    def _plan_or_none(self, nargs: int, masks: tuple[int, ...]) -> Any:
        """Plans for a primitive taking ``nargs`` arguments; ``None`` if it takes more."""
        if self.uses is not None and any(j >= nargs for u in self.uses for j in u):
            return None
        plans = tuple(self.save_plan(nargs, m) for m in masks)
        return plans[0] if nargs == 1 else (None, *plans)

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


def _self_typed_loops(np_fwd: Any) -> frozenset[str]:
    """The inexact dtypes (by character) that the one-argument ufunc ``np_fwd`` maps to
    themselves (``sin``: float16 to complex256), so that it may write its result over its
    input; empty for anything else."""
    if not isinstance(np_fwd, np.ufunc) or np_fwd.nin != 1 or np_fwd.nout != 1:
        return frozenset()
    return frozenset(t[0] for t in np_fwd.types if t[0] == t[-1] and t[0] in "efdgFDG")


def _handed_over(x: Tensor, d: Any, prim: Primitive) -> bool:
    """Whether ``prim``'s forward may write its result over ``x``'s array ``d``, as NumPy does
    with temporaries (``np.exp(-a)`` needs one new array, not two).

    ``x`` must be a temporary that a Python caller handed to the operation (``tg.exp(-a)``): the
    interpreter then moves its only reference into :func:`_bind1`'s frame, so what counts it
    is that frame's ``x``, this function's parameter and ``getrefcount``'s argument. ``d`` must
    be a large writable floating array that owns its data and that ``x`` alone holds (the
    counts add ``x.data`` to those of ``x``): no variable, view, saved residual or tensor sees
    it. The entry the operation records must not save its input, and ``x`` must not be a
    leaf (the tape keeps leaves). Callers written in C hand over borrowed references, which
    count one more, so their arguments are never written over.
    """
    if not _EXACT_REFCOUNTS or _getrefcount(x) != 3 or x._extra is not None:
        return False
    if d.dtype.char not in prim.keeps_type:
        return False
    if x._slot is not None:
        tape = _state.tape
        if x._entry is None or tape.recorders:
            return False
        if tape.grad_enabled and prim.vjp is not None and (tape.save_all or prim.plan1[0]):
            return False
    # ``d`` is held by ``x.data`` and by this function's and ``_bind1``'s variables.
    return _tape.sole_large(d, holders=3)


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


def _share_view(prim: Primitive, base: Any, t: Tensor, params: dict[str, Any] | None) -> None:
    """Give a view the version counter (and base) of the tensor it looks into, and keep how
    it was made: in-place writes through the view go to its base (see tapegrad.inplace)."""
    ob = getattr(t.data, "base", None)
    bd = base.data
    if ob is not None and (ob is bd or ob is getattr(bd, "base", None)):
        t._version = counter = base._counter()
        be = base._extra
        root = be.get("base", base) if be else base
        if t._entry is None:
            # Not recorded. The last item says whether the base required grad: then the view
            # was made under no_grad.
            made = be.get("view") if be else None
            if made is None:
                t._extra = {"base": root, "view": (base, prim, params, base._slot is not None)}
            else:
                # A view of such a view holds it weakly, so that views of views made in a loop
                # do not hold on to each other (one gone, the view is found in the storage).
                t._extra = {"base": root, "view": (_weakref(base), prim, params, made[3])}
        else:
            # How to remake this view from its base, and the base's version it reflects: an
            # in-place change to the base (or another view of it) makes the view's graph stale.
            t._extra = {"base": root, "replay": (base, prim, params, counter[0])}


#: The node PyTorch shows for a view remade after an in-place change of its storage.
REMADE_VIEW = "AsStridedBackward0"


def refresh_view(t: Tensor) -> None:
    """Rebuild the graph of a view whose storage changed in place since it was made.

    The view's values are already current (it shares the storage); its tape entry must then
    be remade from the base's current value, or gradients would flow through the old one.
    """
    extra = t._extra
    replay = extra.get("replay")
    if replay is None:
        return
    base, prim, params, version = replay
    now = t._version[0]
    if now == version or base._slot is None:
        return
    tape = _state.tape
    recording = tape.grad_enabled
    tape.grad_enabled = True  # (also when asked for ``grad_fn`` under ``no_grad``)
    try:
        # PyTorch too remakes such a view's node, as ``AsStridedBackward0`` of the tensor that
        # owns the storage (a base that is itself a stale view is remade on the way).
        fresh = show_as(bind(prim, (base,), params), REMADE_VIEW, extra["base"])
    finally:
        tape.grad_enabled = recording
    t._slot = fresh._slot
    t._entry = fresh._entry
    extra["replay"] = (base, prim, params, now)


def _specialise(body: Any, defaults: tuple[Any, ...], name: str, doc: str) -> Any:
    """``body`` as a new function whose trailing parameters default to ``defaults``."""
    fn = FunctionType(body.__code__, body.__globals__, name, defaults)
    fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def unary_op(prim: Primitive, name: str, doc: str) -> Callable[[Any], Any]:
    """The function ``name(x)`` of a one-argument primitive, also usable as a Tensor method.

    It is :func:`bind1`'s body with ``prim`` bound, so calling it costs one Python call.
    """
    return _specialise(_bind1, (prim, None), name, doc)


def binary_op(prim: Primitive, name: str, doc: str) -> Callable[[Any, Any], Any]:
    """The function ``name(a, b)`` of a two-argument primitive (see :func:`unary_op`)."""
    return _specialise(_bind2, (prim, None), name, doc)


def bind1(prim: Primitive, x: Any, params: dict[str, Any] | None = None) -> Any:
    """``bind`` for one argument: the hot path of unary operations."""
    return _bind1(x, prim, params)


def _bind1(x: Any, prim: Primitive, params: dict[str, Any] | None = None) -> Any:
    # The body of bind1; unary methods and functions are this code with ``prim`` bound as a
    # default argument (see ``unary_op``).
    if x.__class__ is not Tensor:
        if x.__class__ is _NDARRAY and params is None and prim.np_fwd is not None:
            out = prim.np_fwd(x)
            return out if out.__class__ is _NDARRAY else _as_array(out, np)
        if not isinstance(x, Tensor) or x._batched:
            return bind(prim, (x,), params)
    d = x.data
    if params is None:
        np_fwd = prim.np_fwd
        if np_fwd is not None and d.__class__ is _NDARRAY:
            if d.size >= _REUSE_MIN and _handed_over(x, d, prim):
                out = np_fwd(d, out=d)
            else:
                out = np_fwd(d)
        else:
            out = prim.fwd(namespace(d), d)
    else:
        out = prim.fwd(np if d.__class__ is _NDARRAY else namespace(d), d, **params)
    if out.__class__ is not _NDARRAY:
        if prim.nout != 1:
            return bind(prim, (x,), params)
        out = _as_array(out, namespace(d))
    slot = x._slot
    tape = _state.tape
    if slot is None or not tape.grad_enabled or prim.vjp is None:
        t = _object_new(Tensor)  # (``wrap``, inlined: this is every op under no_grad)
        t.data = out
        t._slot = t._entry = t._version = t._extra = None
        if prim.view:
            _share_view(prim, x, t, params)
        return t
    if x._extra is not None and "replay" in x._extra:
        refresh_view(x)
        slot = x._slot
    save_in, save_out = prim.plan1 if not tape.save_all else _SAVE_ALL[1]
    src = x._entry
    new = _next_slot()
    e = [
        prim,
        (slot,),
        (src,),
        ((slot, x),) if src is None else None,
        new,
        None,
        None,
        (),
        params,
        None,
        0,
        None,
    ]
    t = _object_new(Tensor)
    t.data = out
    t._slot = new
    t._entry = e
    t._version = None
    t._extra = None
    if prim.view:
        _share_view(prim, x, t, params)
    if save_in:
        c = x._version
        if c is None:
            c = x._version = [0]
        if save_out:
            e[SAVED] = (d, out)
            t._version = oc = [0]
            e[VERS] = ((c, c[0], 0), (oc, 0, 1))
        else:
            e[SAVED] = (d, None)
            e[VERS] = ((c, c[0], 0),)
    elif save_out:
        e[SAVED] = (None, out)
        t._version = oc = [0]
        e[VERS] = ((oc, 0, 1),)
    if e[SAVED] is not None:
        if d.size >= _LARGE:
            tape.note_saved(d.nbytes)
        if _SAVED_HOOKS[0]:
            e[SAVED] = _pack_saved(e[SAVED])
    entries = tape.entries
    e[POS] = n = len(entries)
    entries.append(e)
    if tape.recorders or n >= tape.next_prune:
        _after_append(tape, e)
    return t


def _after_append(tape: Any, e: Entry) -> None:
    """The rare work after appending: feeding ``tg.Tape`` recorders, amortised pruning."""
    for rec in tape.recorders:
        rec.append(e)
    if e[POS] >= tape.next_prune:
        tape.prune()


def bind2(prim: Primitive, a: Any, b: Any, params: dict[str, Any] | None = None) -> Any:
    """``bind`` for two arguments: the hot path of binary operators (and of ``matmul``, whose
    ``params`` only name the shapes for its rules)."""
    return _bind2(a, b, prim, params)


def _bind2(a: Any, b: Any, prim: Primitive, params: dict[str, Any] | None = None) -> Any:
    # The body of bind2. Operator methods and the functions of binary primitives are this
    # very code with ``prim`` bound as a default argument (see ``binary_op``), which saves a
    # Python call on every operation.
    # (Tensor subclasses such as Parameter are tensors here too; vmap's batched values are not.)
    ac = a.__class__
    if ac is Tensor:
        ad = a.data
        aslot = a._slot
        a_tensor = True
    elif ac is float or ac is _NDARRAY or not isinstance(a, Tensor):
        ad = a
        aslot = None
        a_tensor = False
    elif a._batched:
        return _tapegrad.batching.bind2_batched(prim, a, b, params)
    else:
        ad = a.data
        aslot = a._slot
        a_tensor = True
    bc = b.__class__
    if bc is Tensor:
        bd = b.data
        bslot = b._slot
        b_tensor = True
    elif bc is float or bc is _NDARRAY or not isinstance(b, Tensor):
        bd = b
        bslot = None
        b_tensor = False
    elif b._batched:
        return _tapegrad.batching.bind2_batched(prim, a, b, params)
    else:
        bd = b.data
        bslot = b._slot
        b_tensor = True
    if (ad.__class__ is not _NDARRAY and ad.__class__ not in _HOST) or (
        bd.__class__ is not _NDARRAY and bd.__class__ not in _HOST
    ):
        return _bind_any(prim, (a, b), params)
    np_fwd = prim.np_fwd
    if np_fwd is not None:
        out = np_fwd(ad, bd)
    elif prim.direct2:
        out = prim.fwd(np, ad, bd) if params is None else prim.fwd(np, ad, bd, **params)
    else:
        return _bind_any(prim, (a, b), params)
    if out.__class__ is not _NDARRAY:
        out = _as_array(out, np)
    tape = _state.tape
    if (aslot is None and bslot is None) or not tape.grad_enabled:
        if not a_tensor and not b_tensor:
            return out
        od = out.dtype
        if (od is _F64 or od is _C128) and not (
            ad.__class__ is _NDARRAY and ad.dtype is od and ad.ndim
        ):
            if prim.promotes and not _agrees(ad, bd, od):
                return _retype(_new(out), ad, bd)
        t = _object_new(Tensor)  # (``wrap``, inlined: this is every op under no_grad)
        t.data = out
        t._slot = t._entry = t._version = t._extra = None
        return t
    if aslot is not None and a._extra is not None and "replay" in a._extra:
        refresh_view(a)
        aslot = a._slot
    if bslot is not None and b._extra is not None and "replay" in b._extra:
        refresh_view(b)
        bslot = b._slot
    if tape.save_all:
        sa, sb, so = _SAVE_ALL[2]
    else:
        sa, sb, so = prim.plan2[(aslot is not None) | (bslot is not None) << 1]
    asrc = a._entry if aslot is not None else None
    bsrc = b._entry if bslot is not None else None
    if (aslot is not None and asrc is None) or (bslot is not None and bsrc is None):
        leaves = _leaf_pairs(a, aslot, asrc, b, bslot, bsrc)
    else:
        leaves = None
    bshapes = None
    if prim.broadcasting and ad.__class__ is bd.__class__:
        # (Two arrays. Against a number, the tensor's shape is the result's.)
        ashape = ad.shape
        bshape = bd.shape
        if ashape != bshape:
            oshape = out.shape
            if (aslot is not None and ashape != oshape) or (bslot is not None and bshape != oshape):
                bshapes = (ashape, bshape)
    new = _next_slot()
    e = [prim, (aslot, bslot), (asrc, bsrc), leaves, new, None, None, (), params, bshapes, 0, None]
    t = _object_new(Tensor)
    t.data = out
    t._slot = new
    t._entry = e
    t._version = None
    t._extra = None
    if sa or sb or so:
        e[SAVED] = (ad if sa else None, bd if sb else None, out if so else None)
        vers = ()
        if sa and a_tensor:
            c = a._counter()
            vers = ((c, c[0], 0),)
        if sb and b_tensor:
            c = b._counter()
            vers += ((c, c[0], 1),)
        if so:
            t._version = oc = [0]
            vers += ((oc, 0, 2),)
        e[VERS] = vers
        if out.size >= _LARGE:
            tape.note_saved(out.nbytes)
        if _SAVED_HOOKS[0]:
            e[SAVED] = _pack_saved(e[SAVED])
    entries = tape.entries
    e[POS] = n = len(entries)
    entries.append(e)
    if tape.recorders or n >= tape.next_prune:
        _after_append(tape, e)
    od = out.dtype
    if (od is _F64 or od is _C128) and not (
        ad.__class__ is _NDARRAY and ad.dtype is od and ad.ndim
    ):
        # NumPy may have widened beyond what PyTorch gives (a float64 scalar, an int tensor).
        if prim.promotes and not _agrees(ad, bd, od):
            return _retype(t, ad, bd)
    return t


def _leaf_pairs(a: Any, aslot: Any, asrc: Any, b: Any, bslot: Any, bsrc: Any) -> tuple[Any, ...]:
    pairs: tuple[Any, ...] = ()
    if aslot is not None and asrc is None:
        pairs = ((aslot, a),)
    if bslot is not None and bsrc is None:
        pairs += ((bslot, b),)
    return pairs


def _agrees(ad: Any, bd: Any, od: np.dtype) -> bool:
    """True when an operand already has the wide dtype ``od`` NumPy chose and PyTorch's
    promotion gives it too: it has dimensions, or the other operand is a Python number."""
    if ad.__class__ is _NDARRAY and ad.dtype is od:
        return ad.ndim > 0 or bd.__class__ in _PY_REAL
    if bd.__class__ is _NDARRAY and bd.dtype is od:
        return bd.ndim > 0 or ad.__class__ in _PY_REAL
    return False


# Python numbers that never lift a tensor of a floating (or complex) dtype to another.
_PY_REAL = frozenset({float, int, bool})


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_DEFAULT_OF_CATEGORY = {
    0: np.dtype(np.bool_),
    1: np.dtype(np.int64),
    2: np.dtype(np.float32),
    3: np.dtype(np.complex64),
}


def torch_result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch gives an operation on these operands.

    Operands with dimensions decide, unless a 0-d array or a Python (or NumPy) scalar is of a
    higher category (bool < integer < float < complex): then a 0-d array brings its own dtype
    and a scalar the default dtype of its category (float32 for floats).
    """
    result = None
    result_cat = -1
    for priority in (2, 1, 0):
        members = []
        for v in operands:
            if isinstance(v, np.ndarray) or hasattr(v, "__cuda_array_interface__"):
                p = 2 if v.ndim else 1
            else:
                p = 0
            if p == priority:
                dt = v.dtype if hasattr(v, "dtype") else np.dtype(type(v))
                members.append((dt, _CATEGORY[dt.kind]))
        if not members:
            continue
        cat = max(c for _, c in members)
        if cat > result_cat:
            if priority == 0:
                if cat == 3 and result is not None and result.kind == "f":
                    # A complex number with a float tensor: that float's complex counterpart.
                    result = np.result_type(result, np.complex64)
                else:
                    result = _DEFAULT_OF_CATEGORY[cat]
            else:
                result = np.result_type(*[dt for dt, c in members if c == cat])
            result_cat = cat
    assert result is not None
    return result


def _retype(t: Tensor, ad: Any, bd: Any) -> Tensor:
    """Cast a result to the dtype PyTorch would give it (NumPy widens more eagerly)."""
    target = torch_result_type(ad, bd)
    if target.kind in "biu":  # true division of integers gives the default float
        target = _DEFAULT_OF_CATEGORY[2]
    if target == t.data.dtype:
        return t
    from .ops.shape import astype

    return astype(t, target)


def bind(prim: Primitive, args: Sequence[Any], params: dict[str, Any] | None = None) -> Any:
    """Apply ``prim`` to ``args``: compute, and record on the tape when gradients are needed.

    Tensors in ``args`` are unwrapped; the result is a tensor if any argument was one, else a
    raw array. ``params`` are static keyword parameters passed to the forward and the rules.
    """
    nargs = len(args)
    if nargs == 1:
        x = args[0]
        if prim.nout == 1:
            if prim.plan1 is not None and (
                x.__class__ is Tensor or isinstance(x, Tensor) and not x._batched
            ):
                return _bind1(x, prim, params)  # the one-tensor hot path (parameters allowed)
            if x.__class__ is _NDARRAY:  # plain NumPy maths (rules in a sweep that records nothing)
                out = prim.fwd(np, x) if params is None else prim.fwd(np, x, **params)
                return out if out.__class__ is _NDARRAY else _as_array(out, np)
    elif nargs == 2 and prim.direct2 and (prim.np_fwd is None or params is None):
        return _bind2(args[0], args[1], prim, params)  # (it falls back on ``_bind_any``)
    return _bind_any(prim, args, params)


def _bind_any(prim: Primitive, args: Sequence[Any], params: dict[str, Any] | None) -> Any:
    """The general body of :func:`bind`: any number of arguments, any array module."""
    raws = []
    tensors = 0
    tracked = 0
    xp_src = None
    first_type = None
    for i, a in enumerate(args):
        if a.__class__ is Tensor or isinstance(a, Tensor) and not a._batched:
            d = a.data
            raws.append(d)
            tensors += 1
            if a._slot is not None:
                tracked |= 1 << i
            if first_type is None:
                first_type = d.__class__
                xp_src = d
            elif d.__class__ is not first_type and (
                first_type is not _NDARRAY or d.__class__ is not _NDARRAY
            ):
                if namespace(d) is not namespace(xp_src):
                    raise _device_clash(prim, [r for r in raws if hasattr(r, "shape")])
        elif getattr(a, "_batched", False):
            # A value inside vmap: its primitive's batching rule applies (tapegrad.batching).
            return _tapegrad.batching.bind_batched(prim, args, params)
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
    if not tracked or not _state.tape.grad_enabled or prim.vjp is None:
        if nout == 1:
            return _view_or_new(prim, args, out, None, None, params)
        return tuple(_view_or_new(prim, args, o, None, None, params) for o in out)
    return _record(prim, args, raws, out, params, tracked)


def _view_or_new(
    prim: Primitive,
    args: Sequence[Any],
    out: Any,
    slot: Any,
    entry: Any,
    params: dict[str, Any] | None = None,
) -> Tensor:
    t = _new(out, slot, entry)
    if prim.view and isinstance(args[0], Tensor):
        _share_view(prim, args[0], t, params if entry is None else entry[PARAMS])
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
    ins = []
    srcs = []
    leaves = None
    for a in args:
        if isinstance(a, Tensor):
            extra = a._extra
            if extra is not None and "replay" in extra:
                refresh_view(a)
            slot = a._slot
            if slot is not None:
                ins.append(slot)
                src = a._entry
                srcs.append(src)
                if src is None:
                    leaves = ((slot, a),) if leaves is None else (*leaves, (slot, a))
                continue
        ins.append(None)
        srcs.append(None)
    bshapes = None
    if prim.broadcasting:
        # Only shapes of differentiated inputs that differ from the output's need un-broadcasting.
        oshape = out.shape
        for i in range(n):
            if tracked >> i & 1 and raws[i].shape != oshape:
                bshapes = tuple(getattr(r, "shape", ()) for r in raws)
                break
    e = [prim, tuple(ins), tuple(srcs), leaves, 0, None, None, (), params, bshapes, 0, None]
    if prim.nout == 1:
        e[SLOT] = slot = _next_slot()
        result = _view_or_new(prim, args, out, slot, e)
        outputs: tuple[Any, ...] = (result,)
    else:
        slots = tuple(_next_slot() for _ in out)
        e[SLOT] = slots[0]
        e[OUTS] = slots
        result = tuple(_view_or_new(prim, args, o, s, e) for o, s in zip(out, slots))
        outputs = result

    tape = _state.tape
    if tape.save_all:
        plan = _SAVE_ALL[n]
    else:
        plan = prim._plans.get((n, tracked)) or prim.save_plan(n, tracked)
    if True in plan:
        vers = []
        saved = []
        large = 0
        for i in range(n):
            if plan[i]:
                r = raws[i]
                saved.append(r)
                if getattr(r, "size", 0) >= _LARGE:
                    large += r.nbytes
                a = args[i]
                if isinstance(a, Tensor):
                    c = a._counter()
                    vers.append((c, c[0], i))
            else:
                saved.append(None)
        if plan[n]:
            saved.append(out)
            for r in outputs:
                vers.append((r._counter(), 0, n))
                if r.data.size >= _LARGE:
                    large += r.data.nbytes
        else:
            saved.append(None)
        e[SAVED] = tuple(saved)
        e[VERS] = tuple(vers)
        if large:
            tape.note_saved(large)
    tape.append(e)  # (through the saved-tensor hooks, if any)
    return result
