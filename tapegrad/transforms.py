"""JAX-style transforms over functions of arrays, running on the tape.

Inputs are boxed into tensors that require grad (a fresh variable per input, also when the
input already belongs to an outer transform, so nested transforms never confuse their
perturbations), the function runs, and one reverse sweep (``grad``, ``vjp``) or one forward
walk over the entries it recorded (``jvp``) gives the derivatives. Given arrays, the transforms
return arrays of the same kind and dtype; given tensors, tensors.

``vmap`` runs a function once on a whole batch (see :mod:`tapegrad.batching`). ``jacrev`` pushes
every basis cotangent through one reverse sweep at once (``vmap`` of the pullback), and
``jacfwd`` every basis tangent through one forward pass (``vmap`` of ``jvp``). Called inside
``vmap``, ``grad``/``vjp``/``jvp`` differentiate the batched computation with every input
batched, which gives per-example derivatives (``vmap(grad(loss))``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import batching as _b
from . import tape as _tape
from .backend import namespace, ones_like
from .batching import BatchTensor
from .engine import rewrap_saved
from .ops.index import getitem as _getitem
from .ops.shape import astype as _astype
from .ops.shape import clone as _clone
from .ops.shape import reshape as _reshape
from .ops.shape import transpose as _transpose
from .primitive import Primitive, bind1
from .pytree import tree_broadcast_prefix, tree_flatten, tree_unflatten
from .tape import (
    INS,
    OUTS,
    PARAMS,
    PRIM,
    SAVED,
    SAVED_HOOKS,
    SLOT,
    sweep,
    tape_holding,
    unpack_saved,
)
from .tensor import Tensor

__all__ = [
    "grad",
    "value_and_grad",
    "vjp",
    "jvp",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "vmap",
    "checkpoint",
]

_state = _tape._state
_NDARRAY = np.ndarray

# A new variable that equals an outer one: the inner transform differentiates with respect to
# it, and the outer sees the inner results through it.
ALIAS = Primitive(
    "alias",
    lambda xp, x: x,
    (lambda g, x, out: g,),
    lambda t, x, out: t[0],
    uses=((),),
    grad_fn="AliasBackward0",
)
_b.register(ALIAS, _b._unary_rule(ALIAS))


# ---------------------------------------------------------------------- boxing


def _box(x: Any, who: str) -> tuple[Tensor, bool]:
    """A fresh tensor variable for input ``x``; the flag says whether ``x`` was a tensor."""
    if isinstance(x, Tensor):
        _check_dtype(x.dtype, who)
        if x._slot is not None:
            return bind1(ALIAS, x), True
        t = Tensor._make(x.data)
        t._version = x._counter()
        t.requires_grad_(True)
        return t, True
    if isinstance(x, (bool, np.bool_)) or isinstance(x, (int, np.integer)):
        _check_dtype(np.asarray(x).dtype, who)
    if hasattr(x, "shape") and not isinstance(x, np.generic):
        arr = x
    else:
        arr = np.asarray(x)
        if arr.dtype == np.float32 and isinstance(x, float):
            arr = arr.astype(np.float64)
    _check_dtype(arr.dtype, who)  # floating or complex: it may require grad
    return Tensor._make(arr, _tape.new_slot()), False


def _check_dtype(dtype: Any, who: str) -> None:
    if np.dtype(dtype).kind not in "fc":
        raise TypeError(
            f"{who} requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
            f"np.inexact), but got {np.dtype(dtype).name}. If you want to use integer-valued "
            "inputs, use vjp or set allow_int to True."
        )


def _leaf_dtype(x: Any) -> np.dtype:
    if hasattr(x, "dtype"):
        return np.dtype(x.dtype)
    return np.asarray(x).dtype


def _argnums_tuple(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(
                f"argnums {n} is out of range for a function called with {nargs} positional "
                "argument(s)"
            )
    return tuple(n % nargs for n in nums)


class _depth:
    """Counts nested transforms in this thread; inside one, sweeps record themselves."""

    def __enter__(self) -> None:
        _state.tape.transform_depth += 1
        self.prev = _state.tape.grad_enabled
        _state.tape.grad_enabled = True

    def __exit__(self, *exc: object) -> None:
        _state.tape.transform_depth -= 1
        _state.tape.grad_enabled = self.prev


def _drop_recorder(tape: Any, recorded: list[Any]) -> None:
    """Stop feeding ``recorded`` (by identity: recorder lists of equal content are distinct)."""
    recs = tape.recorders
    for i in range(len(recs) - 1, -1, -1):
        if recs[i] is recorded:
            del recs[i]
            return


def _nested() -> bool:
    return _state.tape.transform_depth > 0


def _unbox(value: Any, as_tensor: bool, keep_graph: bool = True) -> Any:
    """A result of the transform: a tensor when ``as_tensor`` (still in the graph when
    ``keep_graph``), else its array; batched values keep their levels around the converted
    bottom value."""
    if isinstance(value, BatchTensor):
        if not as_tensor and value.value.__class__ is _NDARRAY:
            return value  # already a batch of arrays
        return _b.map_bottom(value, lambda v: _unbox(v, as_tensor, keep_graph))
    if isinstance(value, Tensor):
        if as_tensor:
            if keep_graph or value._slot is None:
                return value
            return Tensor._make(value.data)
        d = value.data
        return np.asarray(d) if isinstance(d, np.generic) else d
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if as_tensor and hasattr(value, "shape"):
        return Tensor._make(value)
    return value


def _owned(g: Any) -> Any:
    """A raw gradient that does not alias a buffer of the sweep (seeds, broadcast views).

    An array of any array module that does not own its memory (``base`` set) or is
    read-only is copied: NumPy's read-only broadcast views, CuPy's writable stride-0 ones
    (CuPy arrays have ``base`` but may lack ``flags.writeable``).
    """
    if g.__class__ is _NDARRAY:
        if g.base is not None or not g.flags.writeable:
            return g.copy()
        return g
    if getattr(g, "base", None) is not None or not getattr(
        getattr(g, "flags", None), "writeable", True
    ):
        return g.copy()
    return g


def _cast(g: Any, dtype: Any) -> Any:
    if g.dtype == dtype:
        return g
    if isinstance(g, Tensor):
        return _astype(g, dtype)
    return g.astype(dtype)


def _zeros_of(b: Tensor) -> Any:
    d = b.data
    return namespace(d).zeros_like(d)


def _bottom_tracked(x: Any) -> bool:
    while isinstance(x, BatchTensor):
        x = x.value
    return isinstance(x, Tensor) and x._slot is not None


class _Boxed:
    """Inputs of one transform call: the boxed variables (in the space below any active
    ``vmap``), what the function sees, and how to convert results back."""

    __slots__ = (
        "args",
        "boxes",
        "defs",
        "kinds",
        "shapes",
        "frames",
        "tracked",
        "slots",
        "any_tensor",
    )

    def __init__(
        self,
        args: Sequence[Any],
        argnums: tuple[int, ...],
        who: str,
        frames: tuple[tuple[int, int], ...],
    ) -> None:
        self.frames = frames
        self.args = list(args)
        self.boxes: list[list[Tensor]] = []
        self.defs = []
        self.kinds: list[list[bool]] = []
        self.shapes: list[list[tuple[int, ...]]] = []
        self.tracked = False
        #: Whether any input was a tensor (results are then tensors too).
        self.any_tensor = False
        for n in argnums:
            leaves, td = tree_flatten(args[n])
            bl, kl, sl, views = [], [], [], []
            for leaf in leaves:
                if leaf.__class__ is _NDARRAY and not frames:
                    # The common case, a NumPy array, in short: a new variable holding it.
                    _check_dtype(leaf.dtype, who)
                    sl.append(leaf.shape)
                    box = Tensor._make(leaf, _tape.new_slot())
                    bl.append(box)
                    kl.append(False)
                    views.append(box)
                    continue
                _check_dtype(_leaf_dtype(leaf), who)
                sl.append(tuple(getattr(leaf, "shape", ())))
                if _bottom_tracked(leaf):
                    self.tracked = True
                bottom = _b.lower(leaf, frames) if frames else leaf
                box, was_tensor = _box(bottom, who)
                bl.append(box)
                kl.append(was_tensor)
                self.any_tensor |= was_tensor
                views.append(_b.lift(box, frames) if frames else box)
            self.boxes.append(bl)
            self.defs.append(td)
            self.kinds.append(kl)
            self.shapes.append(sl)
            self.args[n] = tree_unflatten(td, views)
        self.slots = frozenset(b._slot for bl in self.boxes for b in bl)

    @property
    def flat(self) -> list[Tensor]:
        return [b for bl in self.boxes for b in bl]

    def lower(self, v: Any) -> Any:
        return _b.lower(v, self.frames) if self.frames else v

    def lift(self, v: Any) -> Any:
        return _b.lift(v, self.frames) if self.frames else v

    def uses_outside(self, recorded: Sequence[Any]) -> bool:
        """Whether the entries recorded while the function ran read values that require
        grad from before the call (tensors of the graph it closes over): then the results
        must stay in the graph. Slots only grow, so those are the slots below the inputs'."""
        lo = min(self.slots) if self.slots else _tape.new_slot()
        for e in recorded:
            for s in e[INS]:
                if s is not None and s < lo:
                    return True
        return False

    def results(self, grads: Sequence[Any], as_tensor: bool) -> list[Any]:
        """One pytree per argument from the flat list of cotangents (``None``: zero)."""
        it = iter(grads)
        out = []
        for bl, td, kl in zip(self.boxes, self.defs, self.kinds):
            leaves = []
            for b, was_tensor in zip(bl, kl):
                g = next(it)
                if g is None:
                    g = _zeros_of(b)
                g = _cast(g, b.dtype)
                g = _unbox(g, was_tensor or as_tensor)
                if not isinstance(g, Tensor):
                    g = _owned(g)
                leaves.append(self.lift(g))
            out.append(tree_unflatten(td, leaves))
        return out


class _since:
    """Context manager marking where on this thread's tape a function's entries begin:
    ``recorded()`` then lists those still on it. Slots only grow along the tape, so no
    recorder needs feeding while the function runs."""

    __slots__ = ("tape", "start")

    def __enter__(self) -> _since:
        self.tape = tape = _state.tape
        tape.drop_dead_tail()
        self.start = _tape.new_slot()
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def recorded(self) -> list[Any]:
        tape = self.tape
        return tape.entries[tape.first_after(self.start) :]


class _recording:
    """Context manager: feed the entries appended to this thread's tape into a list (for
    walks that must see every entry, also those a sweep inside the function consumed)."""

    __slots__ = ("tape", "entries")

    def __enter__(self) -> list[Any]:
        self.tape = _state.tape
        self.entries: list[Any] = []
        self.tape.recorders.append(self.entries)
        return self.entries

    def __exit__(self, *exc: object) -> None:
        _drop_recorder(self.tape, self.entries)


def _sweep_to(
    outs: Sequence[Any], seeds: Sequence[Any], inputs: Sequence[Any], create: bool, retain: bool
) -> list[Any]:
    """Cotangents of ``inputs`` from one reverse sweep seeded with ``seeds`` at ``outs``."""
    wanted = [b._slot for b in inputs]
    found: dict[int, Any] = {}
    roots = []
    for o, g in zip(outs, seeds):
        if not isinstance(o, Tensor) or o._slot is None:
            continue
        e = o._entry
        if e is None:
            prev = found.get(o._slot)
            found[o._slot] = g if prev is None else prev + g
            continue
        roots.append((e, 0 if e[OUTS] is None else e[OUTS].index(o._slot), g))
    if roots:
        prev_mode = _state.tape.grad_enabled
        _state.tape.grad_enabled = create
        try:
            got = sweep(
                tape_holding(roots[0][0]),
                roots,
                retain_graph=retain,
                create_graph=create,
                wanted=frozenset(wanted),
                accumulate=False,
            )
        finally:
            _state.tape.grad_enabled = prev_mode
        for s, g in got.items():
            prev = found.get(s)
            found[s] = g if prev is None else prev + g
    return [found.get(s) for s in wanted]


def _seed(c: Any, out: Any, create: bool) -> Any:
    """A cotangent as the sweep wants it: raw unless the sweep records, in ``out``'s dtype."""
    if isinstance(c, BatchTensor):
        return _cast(c, out.dtype) if hasattr(out, "dtype") else c
    if isinstance(c, Tensor):
        if not create:
            c = c.data
    elif not hasattr(c, "shape") or isinstance(c, np.generic):
        c = np.asarray(c, dtype=getattr(out, "dtype", None))
    if hasattr(out, "dtype") and c.dtype != out.dtype:
        c = _cast(c, out.dtype)
    if create and not isinstance(c, Tensor):
        c = Tensor._make(c)
    return c


# ---------------------------------------------------------------------- grad, vjp


def value_and_grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning ``(fun(*args), gradient)`` of a scalar-valued ``fun``.

    >>> import numpy as np, tapegrad as tg
    >>> v, g = tg.value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    >>> float(v), g
    (5.0, array([2., 4.]))
    """

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        frames = _b.active_frames()
        boxed = _Boxed(args, nums, "grad", frames)
        nested = _nested()
        with _depth(), _since() as since:
            result = fun(*boxed.args, **kwargs)
            if has_aux:
                if not (isinstance(result, (tuple, list)) and len(result) == 2):
                    raise TypeError(
                        "has_aux=True requires the function to return a pair (output, aux)"
                    )
                out, aux = result
            else:
                out, aux = result, None
            shape = tuple(getattr(out, "shape", ()))
            if shape != ():
                raise TypeError(
                    f"Gradient only defined for scalar-output functions. Output had shape: {shape}."
                )
            dtype = _leaf_dtype(out)
            if dtype.kind not in "fc":
                raise TypeError(
                    "grad requires real-valued outputs (output dtype that is a sub-dtype of "
                    f"np.floating), but got {dtype.name}."
                )
            out_b = boxed.lower(out)
        create = nested or boxed.tracked or boxed.uses_outside(since.recorded())
        as_tensor = create or boxed.any_tensor
        flat = boxed.flat
        if isinstance(out_b, Tensor) and out_b._slot is not None:
            seed = ones_like(out_b.data)
            with _b.hidden(frames):
                grads = _sweep_to([out_b], [_seed(seed, out_b, create)], flat, create, create)
        else:
            grads = [None] * len(flat)
        results = boxed.results(grads, create)
        gradient = results[0] if isinstance(argnums, int) else tuple(results)
        value = _unbox(out, as_tensor, create)
        if has_aux:
            return (value, _stop(aux, as_tensor, create)), gradient
        return value, gradient

    return wrapped


def _stop(aux: Any, as_tensor: bool, keep_graph: bool = True) -> Any:
    leaves, td = tree_flatten(aux)
    return tree_unflatten(td, [_unbox(x, as_tensor, keep_graph) for x in leaves])


def grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    >>> import numpy as np, tapegrad as tg
    >>> tg.grad(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([ 3., 12.])
    >>> float(tg.grad(tg.grad(lambda x: x ** 3))(2.0))
    12.0
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if has_aux:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux
        return vg(*args, **kwargs)[1]

    return wrapped


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(fun(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal.

    >>> import numpy as np, tapegrad as tg
    >>> out, f_vjp = tg.vjp(lambda x: x * 2.0, np.array([1.0, 2.0]))
    >>> f_vjp(np.array([1.0, 10.0]))
    (array([ 2., 20.]),)
    """
    return _vjp(fun, primals, has_aux, None)


def _vjp(
    fun: Callable[..., Any],
    primals: Sequence[Any],
    has_aux: bool,
    create: bool | None,
    frames: tuple[tuple[int, int], ...] | None = None,
) -> Any:
    """``vjp``; ``create`` forces whether the pullback's sweep is recorded (default: when
    nested in another transform, or in the graph of tensors that require grad); ``frames``:
    the ``vmap`` levels to work under (default: the active ones)."""
    if frames is None:
        frames = _b.active_frames()
    boxed = _Boxed(primals, tuple(range(len(primals))), "vjp", frames)
    nested = _nested()
    with _depth(), _since() as since:
        result = fun(*boxed.args)
        if has_aux:
            out, aux = result
        else:
            out, aux = result, None
        out_leaves, out_def = tree_flatten(out)
        out_b = [boxed.lower(o) for o in out_leaves]
    record = (
        (nested or boxed.tracked or boxed.uses_outside(since.recorded()))
        if create is None
        else create
    )
    as_tensor = record or boxed.any_tensor
    flat = boxed.flat

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cot_leaves, cot_def = tree_flatten(cotangent)
        if cot_def != out_def:
            raise ValueError(
                f"Expected the cotangent to have the structure of the output {out_def}, "
                f"got {cot_def}"
            )
        outs = []
        seeds = []
        for o, ob, c in zip(out_leaves, out_b, cot_leaves):
            oshape = tuple(getattr(o, "shape", ()))
            cshape = tuple(getattr(c, "shape", ()))
            if oshape != cshape:
                raise ValueError(
                    f"Shape of cotangent input to vjp pullback function {cshape} must be the "
                    f"same as the shape of corresponding primal input {oshape}."
                )
            if isinstance(ob, Tensor) and ob._slot is not None:
                outs.append(ob)
                seeds.append(_seed(boxed.lower(c), ob, record))
        with _b.hidden(frames):
            grads = _sweep_to(outs, seeds, flat, record, True) if outs else [None] * len(flat)
        return tuple(boxed.results(grads, record))

    value = tree_unflatten(out_def, [_unbox(o, as_tensor, record) for o in out_leaves])
    if has_aux:
        return value, vjp_fn, _stop(aux, as_tensor, record)
    return value, vjp_fn


# ---------------------------------------------------------------------- jvp


def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False
) -> tuple[Any, ...]:
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    ``fun`` runs once with every value kept; then one forward walk over the entries it recorded
    applies each primitive's JVP rule, carrying tangents by slot. Nested inside another
    transform, the JVP rules are themselves recorded.

    >>> import numpy as np, tapegrad as tg
    >>> tg.jvp(tg.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),))[1]
    array([1.        , 0.54030231])
    """
    return _jvp(fun, primals, tangents, has_aux, None)


def _jvp(
    fun: Callable[..., Any],
    primals: Sequence[Any],
    tangents: Sequence[Any],
    has_aux: bool,
    frames: tuple[tuple[int, int], ...] | None,
    walk_level: Any = None,
) -> tuple[Any, ...]:
    """``jvp`` under the ``vmap`` levels ``frames`` (default: the active ones). Tangents may
    be batched at the level ``walk_level`` (a :class:`tapegrad.batching.new_level`, active
    only during the forward walk): the whole batch of tangents then goes through one walk
    while ``fun`` runs once, on the unbatched primals."""
    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp got {len(primals)} primals and {len(tangents)} tangents; they must match"
        )
    if frames is None:
        frames = _b.active_frames()
    boxed = _Boxed(primals, tuple(range(len(primals))), "jvp", frames)
    pending: list[tuple[Tensor, Any]] = []
    for bl, td, sl, t in zip(boxed.boxes, boxed.defs, boxed.shapes, tangents):
        t_leaves, t_def = tree_flatten(t)
        if t_def is not td and t_def != td:
            raise ValueError(f"tangent structure {t_def} does not match primal structure {td}")
        for b, pshape, tl in zip(bl, sl, t_leaves):
            tshape = tuple(getattr(tl, "shape", ()))
            if pshape != tshape:
                raise ValueError(
                    f"jvp called with a tangent of shape {tshape} for a primal of shape {pshape}"
                )
            pending.append((b, tl))
    nested = _nested()
    with _recording() as recorded:
        prev_save = _state.tape.save_all
        _state.tape.save_all = True
        try:
            with _depth():
                result = fun(*boxed.args)
                if has_aux:
                    out, aux = result
                else:
                    out, aux = result, None
                out_leaves, out_def = tree_flatten(out)
                out_b = [boxed.lower(o) for o in out_leaves]
        finally:
            _state.tape.save_all = prev_save
    record = nested or boxed.tracked or boxed.uses_outside(recorded)
    as_tensor = record or boxed.any_tensor
    tan_slots: dict[int, Any] = {}
    for b, tl in pending:
        tb = boxed.lower(tl)
        if isinstance(tb, BatchTensor):
            pass  # a batch of tangents (jacfwd's basis) goes through as it is
        elif isinstance(tb, Tensor):
            if not record:
                tb = tb.data
        elif not hasattr(tb, "shape") or isinstance(tb, np.generic):
            tb = np.asarray(tb, dtype=b.dtype)
        tan_slots[b._slot] = _cast(tb, b.dtype)
    prev_mode = _state.tape.grad_enabled
    _state.tape.grad_enabled = record
    hide = _b.hidden(frames) if frames else None
    if hide is not None:
        hide.__enter__()
    if walk_level is not None:
        walk_level.__enter__()
    try:
        get = tan_slots.get
        for e in recorded:
            ins = e[INS]
            if len(ins) == 1:
                s = ins[0]
                t0 = None if s is None else get(s)
                if t0 is None:
                    continue
                ts: tuple[Any, ...] = (t0,)
            else:
                ts = tuple([None if s is None else get(s) for s in ins])
                for t in ts:
                    if t is not None:
                        break
                else:
                    continue
            prim = e[PRIM]
            if prim.jvp is None:
                raise NotImplementedError(f"no forward-mode rule for primitive {prim.name!r}")
            saved = e[SAVED]
            if SAVED_HOOKS[1]:
                saved = unpack_saved(saved)
            if record:
                saved = rewrap_saved(e, saved)
            params = e[PARAMS]
            t_out = prim.jvp(ts, *saved) if params is None else prim.jvp(ts, *saved, **params)
            if e[OUTS] is None:
                if t_out is not None:
                    tan_slots[e[SLOT]] = t_out
            else:
                for s, t in zip(e[OUTS], t_out):
                    if t is not None:
                        tan_slots[s] = t
    finally:
        if walk_level is not None:
            walk_level.__exit__()
        if hide is not None:
            hide.__exit__()
        _state.tape.grad_enabled = prev_mode
    del recorded
    t_leaves = []
    for ob in out_b:
        t = tan_slots.get(ob._slot) if isinstance(ob, Tensor) and ob._slot is not None else None
        raw = ob.data if isinstance(ob, Tensor) else np.asarray(ob)
        if t is None:
            t = namespace(raw).zeros_like(raw)
        t = _cast(t, raw.dtype) if hasattr(t, "dtype") else np.asarray(t, dtype=raw.dtype)
        t_leaves.append(boxed.lift(_unbox(t, as_tensor, record)))
    value = tree_unflatten(out_def, [_unbox(o, as_tensor, record) for o in out_leaves])
    if has_aux:
        return value, tree_unflatten(out_def, t_leaves), _stop(aux, as_tensor, record)
    return value, tree_unflatten(out_def, t_leaves)


# ---------------------------------------------------------------------- Jacobians


def _float_leaf(x: Any, who: str) -> np.dtype:
    dt = _leaf_dtype(x)
    if dt.kind not in "fc":
        raise TypeError(f"{who} requires real- or complex-valued values, but got {dt.name}.")
    return dt


def _xp_of(x: Any) -> Any:
    return namespace(_b._bottom(x)) if hasattr(x, "shape") else np


def _basis(leaves: Sequence[Any], who: str) -> tuple[list[Any], list[int]]:
    """For leaves of sizes n_i (N in all): arrays of shape (N, *shape_i) holding the rows of
    the N x N identity that belong to each leaf."""
    shapes = [tuple(getattr(x, "shape", ())) for x in leaves]
    sizes = [_numel(s) for s in shapes]
    total = sum(sizes)
    if len(leaves) == 1:
        xp = _xp_of(leaves[0])
        dtype = _float_leaf(leaves[0], who)
        if xp is not np:
            return [xp.eye(total, dtype=dtype).reshape((total,) + shapes[0])], sizes
        # The shared read-only identity; a 1-D leaf gets that very array, which the matmul
        # batching rule recognises (it skips the product with the identity).
        eye = _b._identity(total, dtype)
        return [eye if shapes[0] == (total,) else eye.reshape((total,) + shapes[0])], sizes
    out = []
    off = 0
    for x, s, n in zip(leaves, shapes, sizes):
        xp = _xp_of(x)
        block = xp.zeros((total, n), dtype=_float_leaf(x, who))
        block[off : off + n] = xp.eye(n, dtype=block.dtype)
        out.append(block.reshape((total,) + s))
        off += n
    return out, sizes


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for k in shape:
        n *= k
    return n


def _rows(c: Any, off: int, n: int, total: int) -> Any:
    if off == 0 and n == total:
        return c
    if c.__class__ is _NDARRAY:
        return c[off : off + n]
    return _getitem(c, slice(off, off + n))


def _reshape_to(c: Any, shape: tuple[int, ...]) -> Any:
    if tuple(c.shape) == shape:
        return c
    if c.__class__ is _NDARRAY:
        return c.reshape(shape)
    return _reshape(c, shape)


def _first_to_last(c: Any) -> Any:
    nd = len(tuple(c.shape))
    if nd < 2:
        return c
    order = tuple(range(1, nd)) + (0,)
    if c.__class__ is _NDARRAY:
        return c.transpose(order)
    return _transpose(c, order)


def _map_basis(fun: Callable[[Any], Any], td: Any, basis: list[Any], total: int) -> Any:
    """``vmap(fun)(tree_unflatten(td, basis))`` for basis leaves batched along axis 0 (all of
    size ``total``), without building a ``vmap`` wrapper and checking its axes per call."""
    with _b.new_level(total) as level:
        out = fun(tree_unflatten(td, [_b._bt(v, 0, level) for v in basis]))
        leaves, out_def = tree_flatten(out)
        results = [_vmap_output(o, 0, level, total) for o in leaves]
    return tree_unflatten(out_def, results)


def _writable(c: Any) -> Any:
    """``c``, copied when its array is read-only: a view of the shared basis (a function that
    passes its input through) or a broadcast must not reach the caller as a Jacobian."""
    if c.__class__ is _NDARRAY:
        return c if c.flags.writeable else c.copy()
    if isinstance(c, Tensor) and not isinstance(c, BatchTensor):
        d = c.data
        if d.__class__ is _NDARRAY and not d.flags.writeable:
            return _clone(c) if c._slot is not None else Tensor._make(d.copy())
    return c


def _partial(fun: Callable[..., Any], args: tuple[Any, ...], nums: tuple[int, ...]) -> Any:
    def f(*dyn: Any) -> Any:
        full = list(args)
        for n, d in zip(nums, dyn):
            full[n] = d
        return fun(*full)

    return f


def jacrev(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by reverse mode: one forward run, then every basis cotangent
    through one (batched) reverse sweep. The result has shape ``out.shape + in.shape``.

    >>> import numpy as np, tapegrad as tg
    >>> tg.jacrev(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    @functools.wraps(fun)
    def jacfun(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        primals = [args[n] for n in nums]
        result = vjp(_partial(fun, args, nums), *primals, has_aux=has_aux)
        out, pullback = result[0], result[1]
        out_leaves, out_def = tree_flatten(out)
        basis, sizes = _basis(out_leaves, "jacrev")
        total = sum(sizes)
        cots = _map_basis(pullback, out_def, basis, total)
        per_num = [tree_flatten(c) for c in cots]
        jac_leaves = []
        off = 0
        for o, n in zip(out_leaves, sizes):
            oshape = tuple(getattr(o, "shape", ()))
            trees = []
            for c_leaves, td in per_num:
                blocks = [
                    _writable(_reshape_to(_rows(c, off, n, total), oshape + tuple(c.shape)[1:]))
                    for c in c_leaves
                ]
                trees.append(tree_unflatten(td, blocks))
            jac_leaves.append(trees[0] if isinstance(argnums, int) else tuple(trees))
            off += n
        jac = tree_unflatten(out_def, jac_leaves)
        return (jac, result[2]) if has_aux else jac

    return jacfun


jacobian = jacrev


def jacfwd(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by forward mode: ``fun`` runs once, and every basis tangent
    goes through one forward walk as one batch. The result has shape ``out.shape + in.shape``.

    >>> import numpy as np, tapegrad as tg
    >>> tg.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    @functools.wraps(fun)
    def jacfun(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        primals = tuple(args[n] for n in nums)
        flat = [tree_flatten(p) for p in primals]
        leaves = [x for ls, _ in flat for x in ls]
        for x in leaves:
            _check_dtype(_leaf_dtype(x), "jacfwd")
        basis, sizes = _basis(leaves, "jacfwd")
        total = sum(sizes)
        f = fun if len(args) == 1 else _partial(fun, args, nums)
        frames = _b.active_frames()
        walk = _b.new_level(total)
        level = walk.level
        batched = [_b._bt(v, 0, level) for v in basis]
        trees = []
        k = 0
        for ls, td in flat:
            trees.append(tree_unflatten(td, batched[k : k + len(ls)]))
            k += len(ls)
        result = _jvp(f, primals, tuple(trees), has_aux, frames, walk)
        t_leaves, out_def = tree_flatten(result[1])
        t_leaves = [_vmap_output(t, 0, level, total) for t in t_leaves]
        jac_leaves = []
        for t in t_leaves:
            oshape = tuple(t.shape)[1:]
            trees = []
            k = 0
            off = 0
            for ls, td in flat:
                blocks = []
                for x, n in zip(ls, sizes[k : k + len(ls)]):
                    block = _first_to_last(_rows(t, off, n, total))
                    block = _reshape_to(block, oshape + tuple(getattr(x, "shape", ())))
                    blocks.append(_writable(block))
                    off += n
                trees.append(tree_unflatten(td, blocks))
                k += len(ls)
            jac_leaves.append(trees[0] if isinstance(argnums, int) else tuple(trees))
        jac = tree_unflatten(out_def, jac_leaves)
        return (jac, result[2]) if has_aux else jac

    return jacfun


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of scalar-valued ``fun``: ``jacfwd(jacrev(fun))`` (forward over reverse).

    >>> import numpy as np, tapegrad as tg
    >>> tg.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums), argnums)


# ---------------------------------------------------------------------- vmap


def _mapped_size(x: Any, axis: int, where: str) -> tuple[int, int]:
    """``(normalised axis, size)`` of the axis of ``x`` to be mapped."""
    shape = getattr(x, "shape", None)
    if shape is None:
        if not isinstance(x, (int, float, complex, bool, np.generic)):
            raise ValueError(
                f"vmap was requested to map {where} along axis {axis}, but it is not an array "
                f"({type(x).__name__})"
            )
        shape = ()
    nd = len(tuple(shape))
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"vmap in_axes entries must be int or None, got {axis!r}")
    if not -nd <= axis < nd:
        raise ValueError(
            f"vmap was requested to map {where} along axis {axis}, which implies that its rank "
            f"should be at least {axis + 1 if axis >= 0 else -axis}, but is only {nd} (its "
            f"shape is {tuple(shape)})"
        )
    axis = int(axis) % nd
    return axis, int(tuple(shape)[axis])


def vmap(fun: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0) -> Callable[..., Any]:
    """Vectorise ``fun`` over a batch axis of its inputs, as JAX's ``vmap``.

    ``fun`` runs once, on batched values that look like single examples (their ``shape`` is
    per example); every primitive applies its batching rule, so the whole batch is computed
    by the same NumPy calls. ``in_axes`` is an int, ``None`` (not mapped) or a tuple with one
    entry per positional argument, each a pytree prefix of that argument; keyword arguments
    are mapped along axis 0. ``out_axes`` says where the batch axis goes in each output.

    >>> import numpy as np, tapegrad as tg
    >>> tg.vmap(lambda x, y: x @ y, in_axes=(0, None))(np.ones((3, 2)), np.array([1.0, 2.0]))
    array([3., 3., 3.])
    """

    flat_axes = (
        in_axes is None
        or (isinstance(in_axes, (int, np.integer)) and not isinstance(in_axes, bool))
        or (
            isinstance(in_axes, (tuple, list))
            and all(
                a is None or (isinstance(a, (int, np.integer)) and not isinstance(a, bool))
                for a in in_axes
            )
        )
    )
    flat_out = out_axes is None or (
        isinstance(out_axes, (int, np.integer)) and not isinstance(out_axes, bool)
    )

    @functools.wraps(fun)
    def batched(*args: Any, **kwargs: Any) -> Any:
        if flat_axes and not kwargs and not any(isinstance(a, _CONTAINERS) for a in args):
            # Arguments that are single arrays and axes that are ints: no pytrees to walk.
            if isinstance(in_axes, (tuple, list)):
                if len(in_axes) != len(args):
                    raise ValueError(
                        f"vmap in_axes must have one entry per positional argument: got "
                        f"{len(in_axes)} entries for {len(args)} arguments"
                    )
                axes = list(in_axes)
            else:
                axes = [in_axes] * len(args)
            leaves = list(args)
            where = [f"argument {i}" for i in range(len(args))]
            rebuild = None
        else:
            leaves, axes, where, rebuild = _vmap_inputs(in_axes, args, kwargs)
        size = None
        seen: list[tuple[str, tuple[int, ...], int, int]] = []
        norm: list[int | None] = []
        for x, ax, w in zip(leaves, axes, where):
            if ax is None:
                norm.append(None)
                continue
            ax, n = _mapped_size(x, ax, w)
            norm.append(ax)
            seen.append((w, tuple(x.shape), ax, n))
            if size is None:
                size = n
            elif n != size:
                size = -1
        if size is None:
            raise ValueError("vmap must have at least one non-None value in in_axes")
        if size < 0:
            sizes = sorted({n for *_, n in seen})
            detail = "; ".join(
                f"{w} has shape {s} and axis {ax} is to be mapped" for w, s, ax, _n in seen
            )
            raise ValueError(
                "vmap got inconsistent sizes for array axes to be mapped: "
                f"{', '.join(str(n) for n in sizes)} ({detail})"
            )
        with _b.new_level(size) as level:
            wrapped = [x if ax is None else _b._bt(x, ax, level) for x, ax in zip(leaves, norm)]
            if rebuild is None:
                out = fun(*wrapped)
            else:
                call_args, call_kwargs = rebuild(wrapped)
                out = fun(*call_args, **call_kwargs)
            if flat_out and not isinstance(out, _CONTAINERS) and out is not None:
                return _vmap_output(out, out_axes, level, size)
            out_leaves, out_def = tree_flatten(out)
            oaxes = tree_broadcast_prefix(out_axes, out, "out_axes")
            results = [_vmap_output(o, oa, level, size) for o, oa in zip(out_leaves, oaxes)]
        return tree_unflatten(out_def, results)

    return batched


_CONTAINERS = (tuple, list, dict)


def _vmap_inputs(in_axes: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Leaves of the arguments, their axes (``in_axes`` broadcast as a pytree prefix), where
    each comes from, and a function rebuilding ``(args, kwargs)`` from new leaves."""
    if isinstance(in_axes, list):
        axes_spec: Any = tuple(in_axes)
    else:
        axes_spec = in_axes
    if isinstance(axes_spec, tuple):
        if len(axes_spec) != len(args):
            raise ValueError(
                f"vmap in_axes must have one entry per positional argument: got "
                f"{len(axes_spec)} entries for {len(args)} arguments"
            )
        per_arg = axes_spec
    elif axes_spec is None or isinstance(axes_spec, (int, np.integer)):
        per_arg = (axes_spec,) * len(args)
    else:
        raise TypeError(
            "vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
            f"positional arguments passed to the function, but got {in_axes!r}."
        )
    leaves: list[Any] = []
    axes: list[Any] = []
    where: list[str] = []
    arg_defs = []
    for i, (a, spec) in enumerate(zip(args, per_arg)):
        ls, td = tree_flatten(a)
        axes.extend(tree_broadcast_prefix(spec, a, "in_axes"))
        leaves.extend(ls)
        where.extend([f"argument {i}"] * len(ls))
        arg_defs.append(td)
    kw_leaves, kw_def = tree_flatten(kwargs)
    leaves.extend(kw_leaves)
    axes.extend([0] * len(kw_leaves))
    where.extend(["a keyword argument"] * len(kw_leaves))

    def rebuild(wrapped: list[Any]) -> tuple[list[Any], Any]:
        k = 0
        call_args = []
        for td in arg_defs:
            c = td.num_leaves
            call_args.append(tree_unflatten(td, wrapped[k : k + c]))
            k += c
        return call_args, tree_unflatten(kw_def, wrapped[k:])

    return leaves, axes, where, rebuild


def _vmap_output(o: Any, oa: Any, level: int, size: int) -> Any:
    """One output of a vmapped function: its batch axis (of ``level``) moved to ``oa``."""
    if o.__class__ is BatchTensor and o.level == level and oa is not None:
        mapped = True  # the common case, in short
        v = _b._moveaxis(o.value, o.bdim, 0)
    else:
        mapped = _has_level(o, level)
        if oa is None:
            if mapped:
                raise ValueError(
                    "vmap has mapped output but out_axes is None (an output varies along the batch)"
                )
            return o
        v = _b.unwrap_level(o, level, size)
    nd = len(tuple(v.shape))
    if not -nd <= oa < nd:
        raise ValueError(
            f"vmap out_axes {oa} is out of range for an output with {nd - 1} dimension(s)"
        )
    if not mapped and v.__class__ is _NDARRAY:
        v = np.array(v)  # a writable array, not a broadcast view
    return _b._moveaxis(v, 0, oa % nd)


def _has_level(x: Any, level: int) -> bool:
    while isinstance(x, BatchTensor):
        if x.level == level:
            return True
        x = x.value
    return False


# ---------------------------------------------------------------------- checkpoint


def checkpoint(
    fun: Callable[..., Any] | None = None,
    *,
    prevent_cse: bool = True,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """Recompute ``fun``'s forward during the backward sweep instead of storing its values.

    The call is recorded as one entry that saves only the inputs; its VJP rule runs ``fun``
    again with recording on and differentiates it, so gradients are unchanged and the
    intermediate values of ``fun`` are not kept between the forward and the backward pass.
    Tensors that ``fun`` closes over (a layer's parameters) get their gradients too.
    ``static_argnums`` name arguments that are not arrays (passed through unchanged);
    ``prevent_cse`` is accepted for JAX compatibility (there is no compiler to prevent).

    >>> import numpy as np, tapegrad as tg
    >>> f = tg.checkpoint(lambda x: tg.sin(tg.sin(x)))
    >>> tg.grad(lambda x: f(x).sum())(np.array([0.0]))
    array([1.])
    """
    from .custom import checkpoint as _checkpoint

    if fun is None:
        return lambda f: checkpoint(f, prevent_cse=prevent_cse, static_argnums=static_argnums)
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    if not static:
        return _checkpoint(fun)

    @functools.wraps(fun)
    def with_static(*args: Any) -> Any:
        n = len(args)
        fixed = {i % n: args[i] for i in static}
        pos = [i for i in range(n) if i not in fixed]

        def inner(*dyn: Any) -> Any:
            full = list(args)
            for i, d in zip(pos, dyn):
                full[i] = d
            return fun(*full)

        return _checkpoint(inner)(*[args[i] for i in pos])

    return with_static
