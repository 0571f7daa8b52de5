"""JAX-style transforms over functions of arrays, running on the tape.

Inputs are boxed into tensors that require grad (a fresh variable per input, also when the
input already belongs to an outer transform, so nested transforms never confuse their
perturbations), the function runs, and one reverse sweep gives the derivatives. Given arrays,
the transforms return arrays of the same kind and dtype; given tensors, tensors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tape as _tape
from .backend import namespace
from .engine import run_grad
from .primitive import Primitive, bind
from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor
from .tape import INS, OUTS, PARAMS, PRIM, SAVED, SLOT

__all__ = ["grad", "value_and_grad", "vjp", "jvp"]

_state = _tape._state

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


def _box(x: Any, who: str) -> tuple[Tensor, bool]:
    """A fresh tensor variable for input ``x``; the flag says whether ``x`` was a tensor."""
    if isinstance(x, Tensor):
        _check_dtype(x.data.dtype, who)
        if x._slot is not None:
            return bind(ALIAS, (x,)), True
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
    _check_dtype(arr.dtype, who)
    t = Tensor._make(arr)
    t.requires_grad_(True)
    return t, False


def _check_dtype(dtype: np.dtype, who: str) -> None:
    if dtype.kind not in "fc":
        raise TypeError(
            f"{who} requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
            f"np.inexact), but got {dtype.name}. If you want to use integer-valued inputs, use "
            "vjp or set allow_int to True."
        )


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
        _state.transform_depth += 1
        self.prev = _state.grad_enabled
        _state.grad_enabled = True

    def __exit__(self, *exc: object) -> None:
        _state.transform_depth -= 1
        _state.grad_enabled = self.prev


def _unbox(value: Any, as_tensor: bool) -> Any:
    if isinstance(value, Tensor):
        if as_tensor:
            return value
        return value.data
    return value


def _zeros_like(t: Tensor) -> Any:
    return Tensor._make(namespace(t.data).zeros_like(t.data))


def _prepare(args: tuple[Any, ...], argnums: tuple[int, ...], who: str):
    boxed_args = list(args)
    boxes: list[list[Tensor]] = []
    defs = []
    kinds = []
    for n in argnums:
        leaves, td = tree_flatten(args[n])
        bl = []
        kl = []
        for leaf in leaves:
            b, was_tensor = _box(leaf, who)
            bl.append(b)
            kl.append(was_tensor)
        boxes.append(bl)
        defs.append(td)
        kinds.append(kl)
        boxed_args[n] = tree_unflatten(td, bl)
    return boxed_args, boxes, defs, kinds


def _nested() -> bool:
    return _state.transform_depth > 0


def value_and_grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning ``(fun(*args), gradient)`` of a scalar-valued ``fun``.

    >>> import numpy as np, tapegrad as tg
    >>> v, g = tg.value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    >>> v, g
    (np.float64(5.0), array([2., 4.]))
    """

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        boxed_args, boxes, defs, kinds = _prepare(args, nums, "grad")
        any_tensor_in = any(any(k) for k in kinds)
        with _depth():
            result = fun(*boxed_args, **kwargs)
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
        dtype = getattr(out, "dtype", np.dtype(type(out))) if not isinstance(out, Tensor) else out.dtype
        if np.dtype(dtype).kind not in "fc":
            raise TypeError(
                f"grad requires real-valued outputs (output dtype that is a sub-dtype of "
                f"np.floating), but got {np.dtype(dtype).name}."
            )
        flat = [b for bl in boxes for b in bl]
        create = _nested() or any_tensor_in
        if isinstance(out, Tensor) and out._slot is not None:
            with _tape.enable_grad() if create else _tape.no_grad():
                grads = run_grad([out], flat, [None], retain_graph=create,
                                 create_graph=create, allow_unused=True)
        else:
            grads = tuple(None for _ in flat)
        it = iter(grads)
        results = []
        for bl, td, kl in zip(boxes, defs, kinds):
            leaves = []
            for b, was_tensor in zip(bl, kl):
                g = next(it)
                if g is None:
                    g = _zeros_like(b)
                if g.dtype != b.dtype:
                    g = g.to(b.dtype)
                leaves.append(_unbox(g, was_tensor or _nested()))
            results.append(tree_unflatten(td, leaves))
        gradient = results[0] if isinstance(argnums, int) else tuple(results)
        value = _unbox(out, any_tensor_in or _nested())
        if has_aux:
            return (value, _stop(aux, any_tensor_in or _nested())), gradient
        return value, gradient

    return wrapped


def _stop(aux: Any, as_tensor: bool) -> Any:
    leaves, td = tree_flatten(aux)
    return tree_unflatten(td, [_unbox(x, as_tensor) for x in leaves])


def grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    >>> import numpy as np, tapegrad as tg
    >>> tg.grad(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([ 3., 12.])
    >>> tg.grad(tg.grad(lambda x: x ** 3))(2.0)
    np.float64(12.0)
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
    nums = tuple(range(len(primals)))
    boxed_args, boxes, defs, kinds = _prepare(primals, nums, "vjp")
    any_tensor_in = any(any(k) for k in kinds)
    with _depth():
        result = fun(*boxed_args)
    if has_aux:
        out, aux = result
    else:
        out, aux = result, None
    out_leaves, out_def = tree_flatten(out)
    as_tensor = any_tensor_in or _nested()
    flat = [b for bl in boxes for b in bl]

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cot_leaves, cot_def = tree_flatten(cotangent)
        if cot_def != out_def:
            raise ValueError(
                f"Expected the cotangent to have the structure of the output {out_def}, "
                f"got {cot_def}"
            )
        roots = []
        seeds = []
        for o, c in zip(out_leaves, cot_leaves):
            oshape = tuple(getattr(o, "shape", ()))
            cshape = tuple(getattr(c, "shape", ()))
            if oshape != cshape:
                raise ValueError(
                    f"Shape of cotangent input to vjp pullback function {cshape} must be the same "
                    f"as the shape of corresponding primal input {oshape}."
                )
            if isinstance(o, Tensor) and o._slot is not None:
                roots.append(o)
                seeds.append(c)
        create = _nested() or any_tensor_in
        if roots:
            with _tape.enable_grad() if create else _tape.no_grad():
                grads = run_grad(roots, flat, seeds, retain_graph=True, create_graph=create,
                                 allow_unused=True)
        else:
            grads = tuple(None for _ in flat)
        it = iter(grads)
        results = []
        for bl, td, kl in zip(boxes, defs, kinds):
            leaves = []
            for b, was_tensor in zip(bl, kl):
                g = next(it)
                if g is None:
                    g = _zeros_like(b)
                leaves.append(_unbox(g, was_tensor or _nested()))
            results.append(tree_unflatten(td, leaves))
        return tuple(results)

    value = tree_unflatten(out_def, [_unbox(o, as_tensor) for o in out_leaves])
    if has_aux:
        return value, vjp_fn, _stop(aux, as_tensor)
    return value, vjp_fn


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    ``fun`` runs once with every value kept; then one forward walk over the entries it recorded
    applies each primitive's JVP rule, carrying tangents by slot. Nested inside another
    transform, the JVP rules are themselves recorded.

    >>> import numpy as np, tapegrad as tg
    >>> tg.jvp(np.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),))[1]
    array([1.        , 0.54030231])
    """
    from .engine import rewrap_saved

    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp got {len(primals)} primals and {len(tangents)} tangents; they must match"
        )
    boxed_args, boxes, defs, kinds = _prepare(primals, tuple(range(len(primals))), "jvp")
    tan_slots: dict[int, Any] = {}
    for bl, td, t in zip(boxes, defs, tangents):
        t_leaves, t_def = tree_flatten(t)
        if t_def != td:
            raise ValueError(f"tangent structure {t_def} does not match primal structure {td}")
        for b, tl in zip(bl, t_leaves):
            traw = tl.data if isinstance(tl, Tensor) and not _nested() else tl
            bshape = tuple(b.shape)
            tshape = tuple(getattr(traw, "shape", ()))
            if bshape != tshape:
                raise ValueError(
                    f"jvp called with a tangent of shape {tshape} for a primal of shape {bshape}"
                )
            tan_slots[b._slot] = traw
    recorded: list[Any] = []
    tape = _state.tape
    tape.recorders.append(recorded)
    prev_save = _state.save_all
    _state.save_all = True
    try:
        with _depth():
            out = fun(*boxed_args)
    finally:
        _state.save_all = prev_save
        tape.recorders.remove(recorded)
    nested = _nested() or any(any(k) for k in kinds)
    with _tape.enable_grad() if nested else _tape.no_grad():
        for e in recorded:
            ts = tuple(None if s is None else tan_slots.get(s) for s in e[INS])
            if all(t is None for t in ts):
                continue
            if e[PRIM].jvp is None:
                raise NotImplementedError(f"no forward-mode rule for primitive {e[PRIM].name!r}")
            saved = rewrap_saved(e, e[SAVED]) if nested else e[SAVED]
            t_out = e[PRIM].jvp(ts, *saved, **(e[PARAMS] or {}))
            if e[OUTS] is None:
                if t_out is not None:
                    tan_slots[e[SLOT]] = t_out
            else:
                for s, t in zip(e[OUTS], t_out):
                    if t is not None:
                        tan_slots[s] = t
    out_leaves, out_def = tree_flatten(out)
    as_tensor = nested
    t_leaves = []
    for o in out_leaves:
        t = tan_slots.get(o._slot) if isinstance(o, Tensor) and o._slot is not None else None
        raw_o = o.data if isinstance(o, Tensor) else o
        if t is None:
            t = namespace(raw_o).zeros_like(raw_o) if hasattr(raw_o, "shape") else 0.0
        if isinstance(t, Tensor) and not as_tensor:
            t = t.data
        elif not isinstance(t, Tensor) and as_tensor:
            t = Tensor._make(t)
        if hasattr(t, "dtype") and hasattr(raw_o, "dtype") and t.dtype != raw_o.dtype:
            t = t.astype(raw_o.dtype) if not isinstance(t, Tensor) else t.to(raw_o.dtype)
        t_leaves.append(t)
    value = tree_unflatten(out_def, [_unbox(o, as_tensor) for o in out_leaves])
    return value, tree_unflatten(out_def, t_leaves)
