"""Functions with derivative rules given by the user: ``custom_vjp``, ``custom_jvp`` (as in JAX)
and ``checkpoint``.

Each call that needs recording becomes one tape entry of a primitive made on the fly, whose
forward is the value already computed and whose VJP and JVP rules call the user's rules; the
facade, ``backward()`` and every transform then see one definition. Called on batched values
(inside ``vmap``), the function's batched version is itself a custom function of the whole
batch, whose rules are the user's rules under ``vmap``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import batching as _b
from . import tape as _tape
from .backend import namespace
from .primitive import Primitive, bind
from .pytree import tree_flatten, tree_unflatten
from .tape import FREED, INS, LEAVES, OUTS, POS, SLOT, SRCS, new_entry, new_slot
from .tensor import Tensor

__all__ = ["custom_vjp", "custom_jvp", "checkpoint"]

_state = _tape._state


# ---------------------------------------------------------------------- shared pieces


def _tracked(leaves: Sequence[Any]) -> bool:
    if not _state.tape.grad_enabled:
        return False
    return any(isinstance(x, Tensor) and x._slot is not None for x in leaves)


def _detached(x: Any) -> Any:
    """``x`` as the user's functions see it when the call itself is recorded: an untracked
    tensor for a tensor (so tensor methods work), the array otherwise."""
    if isinstance(x, Tensor):
        return Tensor._make(x.data)
    return x


def _raw(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.generic) or isinstance(x, (int, float, complex)):
        return np.asarray(x)
    return x


def _zeros(meta: tuple[tuple[int, ...], Any, Any]) -> Any:
    shape, dtype, xp = meta
    return xp.zeros(shape, dtype=dtype)


def _meta(x: Any) -> tuple[tuple[int, ...], Any, Any]:
    raw = _raw(x)
    return tuple(getattr(raw, "shape", ())), getattr(raw, "dtype", np.float64), namespace(raw)


def _saved_tracked(inputs: Sequence[Any]) -> bool:
    """Whether the sweep runs with ``create_graph`` (its saved inputs come back tracked)."""
    return _state.tape.grad_enabled and any(
        isinstance(x, Tensor) and x._slot is not None for x in inputs
    )


def _precomputed(xp: Any, *args: Any, cell: dict[str, Any]) -> Any:
    """Forward of a primitive made on the fly: the value the call already computed."""
    return cell.pop("out")


def _caching_rule(k: int, method: str) -> Callable[..., Any]:
    """VJP rule of argument ``k``: all cotangents come from one call of the owner's
    ``method`` per cotangent ``g`` (the sweep asks once per argument). The owner (the custom
    function) is found in the entry's ``cell``, so that primitives hold no reference to it
    and no reference cycle keeps residuals alive."""

    def rule(g: Any, *saved: Any, cell: dict[str, Any]) -> Any:
        cached = cell.get("ct")
        if cached is None or cached[0] is not g:
            cached = (g, getattr(cell["owner"], method)(g, saved, cell))
            cell["ct"] = cached
        return cached[1][k]

    return rule


def _owner_jvp(method: str) -> Callable[..., Any]:
    """JVP rule that calls the owner's ``method`` (see :func:`_caching_rule`)."""

    def rule(ts: Any, *saved: Any, cell: dict[str, Any]) -> Any:
        return getattr(cell["owner"], method)(ts, *saved, cell=cell)

    return rule


def _cotangents(g: Any, cell: dict[str, Any]) -> Any:
    """The output cotangent as the user's pytree, zeros standing in for ``None``."""
    gs = list(g) if cell["nout"] > 1 else [g]
    gs = [_zeros(m) if x is None else x for x, m in zip(gs, cell["out_meta"])]
    return tree_unflatten(cell["out_def"], gs)


def _check_cotangents(cts: Sequence[Any], cell: dict[str, Any], who: str) -> list[Any]:
    out = []
    for c, (shape, dtype, _xp) in zip(cts, cell["in_meta"]):
        if c is None:
            out.append(None)
            continue
        if not isinstance(c, Tensor) and not hasattr(c, "shape") or isinstance(c, np.generic):
            c = np.asarray(c, dtype=dtype)
        if tuple(c.shape) != shape:
            raise ValueError(
                f"{who} must give each cotangent the shape of its primal input: got shape "
                f"{tuple(c.shape)} for an input of shape {shape}"
            )
        out.append(c)
    return out


def _flat_outputs(out: Any) -> tuple[list[Any], Any]:
    leaves, td = tree_flatten(out)
    return leaves, td


def _sum_over_batch(ct: Any, dim: int | None) -> Any:
    from .ops.reduce import sum as _sum

    if dim is None:
        return _sum(ct, axis=0)
    return _b._moveaxis(ct, 0, dim)


class _Args:
    """How a call's arguments split into static ones (``nondiff_argnums``) and the flat leaves
    of the others, and back."""

    __slots__ = ("args", "static", "positions", "dyn_def", "leaves", "counts")

    def __init__(self, args: tuple[Any, ...], nondiff: tuple[int, ...]) -> None:
        n = len(args)
        nd = tuple(i % n for i in nondiff) if n else ()
        self.args = args
        self.static = {i: args[i] for i in nd}
        self.positions = [i for i in range(n) if i not in self.static]
        dyn = tuple(args[i] for i in self.positions)
        self.leaves, self.dyn_def = tree_flatten(dyn)
        self.counts = [tree_flatten(d)[1].num_leaves for d in dyn]

    def dyn(self, leaves: Sequence[Any]) -> tuple[Any, ...]:
        return tree_unflatten(self.dyn_def, list(leaves))

    def full(self, leaves: Sequence[Any]) -> list[Any]:
        dyn = self.dyn(leaves)
        out: list[Any] = [None] * len(self.args)
        for i, v in self.static.items():
            out[i] = v
        for i, v in zip(self.positions, dyn):
            out[i] = v
        return out

    def static_args(self) -> list[Any]:
        return [self.static[i] for i in sorted(self.static)]

    def split_cotangents(self, cts: Any, who: str) -> list[Any]:
        """The flat cotangent leaves from the user's tuple (one entry per non-static arg)."""
        if not isinstance(cts, (tuple, list)) or len(cts) != len(self.positions):
            raise TypeError(
                f"{who} must return a tuple with one cotangent per non-static argument "
                f"({len(self.positions)}), got {type(cts).__name__}"
                + (f" of length {len(cts)}" if isinstance(cts, (tuple, list)) else "")
            )
        out: list[Any] = []
        for c, n in zip(cts, self.counts):
            if c is None:
                out.extend([None] * n)
                continue
            ls = tree_flatten(c)[0]
            if len(ls) != n:
                raise TypeError(
                    f"{who} returned a cotangent with {len(ls)} leaves for an argument with {n}"
                )
            out.extend(ls)
        return out


# ---------------------------------------------------------------------- custom_vjp


class custom_vjp:
    """A function with a reverse-mode rule given by the user, as ``jax.custom_vjp``.

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` and
    ``bwd(*nondiff_args, residuals, g) -> tuple`` of cotangents, one per non-static argument
    (``None`` for zero). Forward mode through it raises, as in JAX.

    >>> import numpy as np, tapegrad as tg
    >>> @tg.custom_vjp
    ... def f(x):
    ...     return tg.sin(x)
    >>> f.defvjp(lambda x: (tg.sin(x), tg.cos(x)), lambda cos_x, g: (2 * cos_x * g,))
    >>> float(tg.grad(f)(0.0))
    2.0
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        self._prims: dict[tuple[int, int], Primitive] = {}

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set the forward (``(out, residuals)``) and backward rules."""
        self.fwd = fwd
        self.bwd = bwd

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise AttributeError(
                f"No VJP defined for custom_vjp function {getattr(self, '__name__', 'f')} "
                "using defvjp."
            )
        a = _Args(args, self.nondiff_argnums)
        leaves = a.leaves
        level = _b.top_level(leaves)
        if level:
            return self._batched(a, level)
        if not _tracked(leaves):
            return self.fun(*args)
        with _tape.no_grad():
            out, res = self.fwd(*a.full([_detached(x) for x in leaves]))
        out_leaves, out_def = _flat_outputs(out)
        raws = [_raw(o) for o in out_leaves]
        nin, nout = len(leaves), len(raws)
        cell = {
            "owner": self,
            "out": tuple(raws) if nout > 1 else raws[0],
            "res": res,
            "args": a,
            "out_def": out_def,
            "nout": nout,
            "out_meta": [_meta(o) for o in raws],
            "in_meta": [_meta(x) for x in leaves],
        }
        result = bind(self._prim(nin, nout), leaves, {"cell": cell})
        results = list(result) if nout > 1 else [result]
        return tree_unflatten(out_def, results)

    def _prim(self, nin: int, nout: int) -> Primitive:
        prim = self._prims.get((nin, nout))
        if prim is None:
            name = getattr(self, "__name__", "custom_vjp")
            prim = Primitive(
                f"custom_vjp[{name}]",
                _precomputed,
                tuple(_caching_rule(k, "_vjp") for k in range(nin)),
                _owner_jvp("_no_jvp"),
                uses=(tuple(range(nin)),) * nin,
                grad_fn="CustomVjpBackward0",
                nout=nout,
            )
            self._prims[(nin, nout)] = prim
        return prim

    def _vjp(self, g: Any, saved: tuple[Any, ...], cell: dict[str, Any]) -> list[Any]:
        a: _Args = cell["args"]
        inputs = saved[: len(cell["in_meta"])]
        if _saved_tracked(inputs):
            # The sweep is recorded: residuals must depend on the inputs for higher order.
            _out, res = self.fwd(*a.full(inputs))
        else:
            res = cell["res"]
        assert self.bwd is not None
        cts = self.bwd(*a.static_args(), res, _cotangents(g, cell))
        name = f"custom_vjp bwd rule of {getattr(self, '__name__', 'f')}"
        return _check_cotangents(a.split_cotangents(cts, name), cell, name)

    def _no_jvp(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"can't apply forward-mode autodiff (jvp) to a custom_vjp function "
            f"({getattr(self, '__name__', 'f')}); define it with custom_jvp instead"
        )

    def _batched(self, a: _Args, level: int) -> Any:
        from .transforms import vmap

        vals, dims = _b.values_at(a.leaves, level)
        holder: dict[str, Any] = {}

        def flat_fun(*ls: Any) -> Any:
            leaves, td = _flat_outputs(self.fun(*a.full(ls)))
            holder["def"] = td
            return tuple(leaves)

        def flat_fwd(*ls: Any) -> Any:
            assert self.fwd is not None
            out, res = self.fwd(*a.full(ls))
            leaves, td = _flat_outputs(out)
            holder["def"] = td
            return tuple(leaves), res

        def flat_bwd(res: Any, gs: Any) -> Any:
            assert self.bwd is not None
            cts = self.bwd(*a.static_args(), res, tree_unflatten(holder["def"], list(gs)))
            name = f"custom_vjp bwd rule of {getattr(self, '__name__', 'f')}"
            flat = a.split_cotangents(cts, name)
            return tuple(
                _b_zeros_like_example(v, d) if c is None else c for c, v, d in zip(flat, vals, dims)
            )

        axes = tuple(dims)
        inner = custom_vjp(vmap(flat_fun, in_axes=axes))
        fwd_b = vmap(flat_fwd, in_axes=axes)

        def bwd_b(res: Any, gs: Any) -> Any:
            cts = vmap(flat_bwd)(res, tuple(gs))
            return tuple(_sum_over_batch(c, d) for c, d in zip(cts, dims))

        inner.defvjp(fwd_b, bwd_b)
        inner.__name__ = getattr(self, "__name__", "f")
        with _b.below(level):
            outs = inner(*vals)
        return tree_unflatten(holder["def"], [_b._bt(o, 0, level) for o in outs])


def _b_zeros_like_example(v: Any, d: int | None) -> Any:
    """Zeros shaped like one example of value ``v`` (batched along ``d``, or not)."""
    raw = _b._bottom(v)
    shape = tuple(getattr(v, "shape", ()))
    if d is not None:
        shape = shape[:d] + shape[d + 1 :]
    return namespace(raw).zeros(shape, dtype=getattr(v, "dtype", np.float64))


# ---------------------------------------------------------------------- custom_jvp


class custom_jvp:
    """A function with a forward-mode rule given by the user, as ``jax.custom_jvp``.

    ``f.defjvp(jvp)`` with ``jvp(*nondiff_args, primals, tangents) -> (out, tangent_out)``.
    Reverse mode uses the same rule: the VJP is the transpose of the (linear) map from
    tangents to ``tangent_out``, computed by one reverse sweep through the rule.

    >>> import numpy as np, tapegrad as tg
    >>> @tg.custom_jvp
    ... def f(x):
    ...     return tg.sin(x)
    >>> _ = f.defjvp(lambda p, t: (tg.sin(p[0]), 2 * tg.cos(p[0]) * t[0]))
    >>> float(tg.grad(f)(0.0))
    2.0
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable[..., Any] | None = None
        self._prims: dict[tuple[int, int], Primitive] = {}

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Set the JVP rule (usable as a decorator)."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *rules: Callable[..., Any] | None) -> None:
        """One rule per argument, ``rule(g, out, *primals)``: the tangent out for tangent
        ``g`` of that argument (``None``: no dependence), summed over the arguments."""

        def jvp(primals: Any, tangents: Any) -> Any:
            out = self.fun(*primals)
            total = None
            for rule, t in zip(rules, tangents):
                if rule is None:
                    continue
                term = rule(t, out, *primals)
                total = term if total is None else total + term
            return out, (total if total is not None else out * 0)

        self.jvp = jvp

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args: Any) -> Any:
        if self.jvp is None:
            raise AttributeError(
                f"No JVP defined for custom_jvp function {getattr(self, '__name__', 'f')} "
                "using defjvp."
            )
        a = _Args(args, self.nondiff_argnums)
        leaves = a.leaves
        level = _b.top_level(leaves)
        if level:
            return self._batched(a, level)
        if not _tracked(leaves):
            return self.fun(*args)
        with _tape.no_grad():
            out = self.fun(*a.full([_detached(x) for x in leaves]))
        out_leaves, out_def = _flat_outputs(out)
        raws = [_raw(o) for o in out_leaves]
        nin, nout = len(leaves), len(raws)
        cell = {
            "owner": self,
            "out": tuple(raws) if nout > 1 else raws[0],
            "args": a,
            "out_def": out_def,
            "nout": nout,
            "out_meta": [_meta(o) for o in raws],
            "in_meta": [_meta(x) for x in leaves],
        }
        result = bind(self._prim(nin, nout), leaves, {"cell": cell})
        results = list(result) if nout > 1 else [result]
        return tree_unflatten(out_def, results)

    def _prim(self, nin: int, nout: int) -> Primitive:
        prim = self._prims.get((nin, nout))
        if prim is None:
            name = getattr(self, "__name__", "custom_jvp")
            prim = Primitive(
                f"custom_jvp[{name}]",
                _precomputed,
                tuple(_caching_rule(k, "_vjp") for k in range(nin)),
                _owner_jvp("_jvp_rule"),
                uses=(tuple(range(nin)),) * nin,
                grad_fn="CustomJvpBackward0",
                nout=nout,
            )
            self._prims[(nin, nout)] = prim
        return prim

    def _call_rule(self, a: _Args, primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
        assert self.jvp is not None
        return self.jvp(*a.static_args(), a.dyn(primals), a.dyn(tangents))

    def _jvp_rule(self, ts: tuple[Any, ...], *saved: Any, cell: dict[str, Any]) -> Any:
        a: _Args = cell["args"]
        nin = len(cell["in_meta"])
        primals = saved[:nin]
        tangents = [(_zeros(m) if t is None else t) for t, m in zip(ts, cell["in_meta"])]
        _out, t_out = self._call_rule(a, primals, tangents)
        t_leaves = tree_flatten(t_out)[0]
        return tuple(t_leaves) if cell["nout"] > 1 else t_leaves[0]

    def _vjp(self, g: Any, saved: tuple[Any, ...], cell: dict[str, Any]) -> list[Any]:
        from .transforms import _vjp

        a: _Args = cell["args"]
        nin = len(cell["in_meta"])
        primals = saved[:nin]
        diff = [k for k, m in enumerate(cell["in_meta"]) if np.dtype(m[1]).kind in "fc"]

        def linear(*ts: Any) -> Any:
            full = [_zeros(m) for m in cell["in_meta"]]
            for k, t in zip(diff, ts):
                full[k] = t
            return self._call_rule(a, primals, full)[1]

        zeros = [_zeros(cell["in_meta"][k]) for k in diff]
        _out, pullback = _vjp(linear, zeros, False, _state.tape.grad_enabled, ())
        cts = pullback(_cotangents(g, cell))
        out: list[Any] = [None] * nin
        for k, c in zip(diff, cts):
            out[k] = c
        return out

    def _batched(self, a: _Args, level: int) -> Any:
        from .transforms import vmap

        vals, dims = _b.values_at(a.leaves, level)
        holder: dict[str, Any] = {}
        axes = tuple(dims)

        def flat_fun(*ls: Any) -> Any:
            leaves, td = _flat_outputs(self.fun(*a.full(ls)))
            holder["def"] = td
            return tuple(leaves)

        def flat_jvp(ps: Any, ts: Any) -> Any:
            out, t_out = self._call_rule(a, ps, ts)
            leaves, td = _flat_outputs(out)
            holder["def"] = td
            return tuple(leaves), tuple(tree_flatten(t_out)[0])

        inner = custom_jvp(vmap(flat_fun, in_axes=axes))

        def jvp_b(primals: Any, tangents: Any) -> Any:
            return vmap(flat_jvp, in_axes=(axes, axes))(tuple(primals), tuple(tangents))

        inner.defjvp(jvp_b)
        inner.__name__ = getattr(self, "__name__", "f")
        with _b.below(level):
            outs = inner(*vals)
        return tree_unflatten(holder["def"], [_b._bt(o, 0, level) for o in outs])


# ---------------------------------------------------------------------- checkpoint


class _Checkpointed:
    """``checkpoint(fun)``: see :func:`tapegrad.transforms.checkpoint`."""

    def __init__(self, fun: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self._prims: dict[tuple[int, int], Primitive] = {}

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args: Any) -> Any:
        leaves, in_def = tree_flatten(args)
        level = _b.top_level(leaves)
        if level:
            return self._batched(leaves, in_def, level)
        if not _tracked(leaves) or _state.tape.save_all:
            # Nothing to differentiate, or forward mode (which needs every value at once).
            return self.fun(*args)
        return self._record(leaves, in_def)

    def _record(self, leaves: list[Any], in_def: Any) -> Any:
        """Run ``fun`` once, keep its value, and replace what it recorded by one entry."""
        from .transforms import _drop_recorder

        tape = _state.tape
        recorded: list[Any] = []
        tape.recorders.append(recorded)
        try:
            with _tape.enable_grad():
                out = self.fun(*tree_unflatten(in_def, list(leaves)))
        finally:
            _drop_recorder(tape, recorded)
        out_leaves, out_def = _flat_outputs(out)
        # Values the function used from outside its arguments (closures) that require grad:
        # they become inputs of the entry too, so their gradients flow as before.
        made = set()
        for e in recorded:
            made.update(e[OUTS] if e[OUTS] is not None else (e[SLOT],))
        own = {x._slot for x in leaves if isinstance(x, Tensor) and x._slot is not None}
        outer: dict[int, tuple[Any, Any]] = {}
        for e in recorded:
            leaf_of = dict(e[LEAVES]) if e[LEAVES] is not None else {}
            for s, src in zip(e[INS], e[SRCS]):
                if s is None or s in made or s in own or s in outer:
                    continue
                outer[s] = (src, leaf_of.get(s))
        raws = [_raw(o) for o in out_leaves]
        _discard(tape, recorded)
        del recorded, out, out_leaves
        return self._entry(leaves, in_def, raws, out_def, outer)

    def _entry(
        self,
        leaves: list[Any],
        in_def: Any,
        raws: list[Any],
        out_def: Any,
        outer: dict[int, tuple[Any, Any]],
    ) -> Any:
        nin = len(leaves)
        ncl = len(outer)
        nout = len(raws)
        prim = self._prim(nin + ncl, nout)
        ins = []
        srcs = []
        pairs = []
        saved: list[Any] = []
        vers = []
        for i, x in enumerate(leaves):
            if isinstance(x, Tensor) and x._slot is not None:
                ins.append(x._slot)
                srcs.append(x._entry)
                if x._entry is None:
                    pairs.append((x._slot, x))
                c = x._counter()
                vers.append((c, c[0], i))
                saved.append(x.data)
            else:
                ins.append(None)
                srcs.append(None)
                saved.append(x.data if isinstance(x, Tensor) else x)
        closure_slots = []
        for s, (src, leaf) in outer.items():
            ins.append(s)
            srcs.append(src)
            closure_slots.append(s)
            if leaf is not None:
                pairs.append((s, leaf))
            saved.append(None)
        saved.append(None)
        cell = {
            "owner": self,
            "in_def": in_def,
            "nin": nin,
            "closure": closure_slots,
            "out_def": out_def,
            "nout": nout,
            "out_meta": [_meta(o) for o in raws],
        }
        slots = tuple(new_slot() for _ in raws)
        e = new_entry(
            prim,
            tuple(ins),
            tuple(srcs),
            tuple(pairs) if pairs else None,
            slots[0] if slots else new_slot(),
            slots if nout > 1 else None,
            tuple(saved),
            tuple(vers),
            {"cell": cell},
            None,
        )
        results = []
        for r, s in zip(raws, slots):
            results.append(Tensor._make(r, s, e))
        _state.tape.append(e)
        return tree_unflatten(out_def, results)

    def _prim(self, nargs: int, nout: int) -> Primitive:
        prim = self._prims.get((nargs, nout))
        if prim is None:
            prim = Primitive(
                "checkpoint",
                _precomputed,
                tuple(_caching_rule(k, "_vjp") for k in range(nargs)),
                _owner_jvp("_jvp_rule"),
                grad_fn="CheckpointFunctionBackward",
                nout=nout,
            )
            self._prims[(nargs, nout)] = prim
        return prim

    def _vjp(self, g: Any, saved: tuple[Any, ...], cell: dict[str, Any]) -> list[Any]:
        from .transforms import _Boxed, _depth, _seed, _sweep_to

        nin = cell["nin"]
        inputs = list(saved[:nin])
        create = _state.tape.grad_enabled
        diff = [
            k
            for k, x in enumerate(inputs)
            if hasattr(x, "dtype") and np.dtype(x.dtype).kind in "fc"
        ]
        # Run the function again with recording on, then sweep it from the outputs to the
        # inputs (and to the values it closed over).
        boxed = _Boxed(tuple(inputs[k] for k in diff), tuple(range(len(diff))), "checkpoint", ())
        full = list(inputs)
        for k, b in zip(diff, boxed.args):
            full[k] = b
        with _depth():
            out = self.fun(*tree_unflatten(cell["in_def"], full))
        out_leaves = tree_flatten(out)[0]
        gs = list(g) if cell["nout"] > 1 else [g]
        outs, seeds = [], []
        for o, c in zip(out_leaves, gs):
            if c is not None and isinstance(o, Tensor) and o._slot is not None:
                outs.append(o)
                seeds.append(_seed(c, o, create))
        targets = boxed.flat + [_SlotRef(s) for s in cell["closure"]]
        grads = _sweep_to(outs, seeds, targets, create, create) if outs else [None] * len(targets)
        result: list[Any] = [None] * (nin + len(cell["closure"]))
        for k, gk in zip(diff, grads[: len(diff)]):
            result[k] = gk
        for j, gk in enumerate(grads[len(diff) :]):
            result[nin + j] = gk
        return result

    def _jvp_rule(self, ts: tuple[Any, ...], *saved: Any, cell: dict[str, Any]) -> Any:
        from .transforms import jvp

        nin = cell["nin"]
        if any(t is not None for t in ts[nin:]):
            raise NotImplementedError(
                "forward mode through a checkpointed function that closes over values with "
                "tangents; pass them as arguments"
            )
        inputs = list(saved[:nin])
        diff = [k for k, x in enumerate(inputs) if ts[k] is not None]

        def f(*xs: Any) -> Any:
            full = list(inputs)
            for k, x in zip(diff, xs):
                full[k] = x
            return tuple(tree_flatten(self.fun(*tree_unflatten(cell["in_def"], full)))[0])

        _out, t_out = jvp(f, tuple(inputs[k] for k in diff), tuple(ts[k] for k in diff))
        return tuple(t_out) if cell["nout"] > 1 else t_out[0]

    def _batched(self, leaves: list[Any], in_def: Any, level: int) -> Any:
        from .transforms import vmap

        vals, dims = _b.values_at(leaves, level)
        holder: dict[str, Any] = {}

        def flat_fun(*ls: Any) -> Any:
            out_leaves, td = _flat_outputs(self.fun(*tree_unflatten(in_def, list(ls))))
            holder["def"] = td
            return tuple(out_leaves)

        inner = _Checkpointed(vmap(flat_fun, in_axes=tuple(dims)))
        with _b.below(level):
            outs = inner(*vals)
        return tree_unflatten(holder["def"], [_b._bt(o, 0, level) for o in outs])


class _SlotRef:
    """Stands for a value known only by its slot when asking a sweep for its cotangent."""

    __slots__ = ("_slot",)

    def __init__(self, slot: int) -> None:
        self._slot = slot


def _discard(tape: Any, recorded: list[Any]) -> None:
    """Take entries off the tape (and off the recorders of enclosing forward-mode runs)."""
    if not recorded:
        return
    ids = {id(e) for e in recorded}
    kept = [e for e in tape.entries if id(e) not in ids]
    for i, e in enumerate(kept):
        if e[POS] >= 0:  # entries a running sweep has consumed keep their mark
            e[POS] = i
    tape.entries[:] = kept
    for rec in tape.recorders:
        rec[:] = [e for e in rec if id(e) not in ids]
    for e in recorded:
        e[_tape.SAVED] = None
        e[_tape.VERS] = FREED


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` recorded as one entry that saves its inputs and recomputes the rest in the
    backward sweep (see :func:`tapegrad.transforms.checkpoint`)."""
    return _Checkpointed(fun)
