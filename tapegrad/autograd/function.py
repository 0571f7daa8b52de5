"""``tg.autograd.Function``: PyTorch's way of defining an operation with its own backward.

``MyFn.apply(*args)`` runs ``MyFn.forward(ctx, *args)`` without recording, then records one
tape entry of a primitive made for ``MyFn`` (its backward node is named ``MyFnBackward``),
whose VJP rule calls ``MyFn.backward(ctx, *grads)``. Every front of the sweep (``backward()``,
``tg.autograd.grad``, the transforms) uses that one definition; a ``jvp`` staticmethod gives
the forward-mode rule, and ``generate_vmap_rule = True`` lets ``vmap`` batch it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import batching as _b
from .. import tape as _tape
from ..backend import namespace
from ..primitive import Primitive, bind
from ..tensor import Tensor

__all__ = ["Function", "FunctionCtx"]

_state = _tape._state


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``: saved tensors and flags."""

    def __init__(self) -> None:
        self.needs_input_grad: tuple[bool, ...] = ()
        self.materialize_grads = True
        self._to_save: tuple[Any, ...] = ()
        self._resolved: tuple[Any, ...] | None = None
        self._non_differentiable: list[Any] = []
        self._saved_for_forward: tuple[Any, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (inputs, outputs or intermediates) for ``backward``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    "save_for_backward can only save variables, but argument "
                    f"{tensors.index(t)} is of type {type(t).__name__}"
                )
        self._to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep tensors for the ``jvp`` staticmethod."""
        self._saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors given to :meth:`save_for_backward` (as the graph sees them)."""
        if self._resolved is None:
            raise RuntimeError(
                "saved_tensors is only available in backward (after forward has returned)"
            )
        return self._resolved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that never get a gradient."""
        self._non_differentiable.extend(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``None`` output gradients are given to ``backward`` as zeros (default)."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Any) -> None:
        """Accepted for compatibility; in-place outputs are not tracked specially."""


class Function:
    """Base class of operations with a user-written backward, as ``torch.autograd.Function``.

    >>> import tapegrad as tg
    >>> class Cube(tg.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * 3 * x ** 2
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = Cube.apply(x)
    >>> y.grad_fn.name()
    'CubeBackward'
    >>> y.sum().backward()
    >>> x.grad
    tensor([ 3., 12.])
    """

    #: Let ``vmap`` batch this function by running ``forward``/``backward`` on batched values.
    generate_vmap_rule = False

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple[Any, ...], output: Any) -> Any:
        return _NOT_OVERRIDDEN

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def jvp(ctx: FunctionCtx, *tangents: Any) -> Any:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )

    # ------------------------------------------------------------------ apply

    @classmethod
    def _run_forward(cls, ctx: FunctionCtx, args: Sequence[Any]) -> Any:
        if cls.setup_context is Function.setup_context:
            return cls.forward(ctx, *args)
        out = cls.forward(*args)
        cls.setup_context(ctx, tuple(args), out)
        return out

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the function on ``args``, recording one entry when an input requires grad."""
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply takes positional arguments only")
        level = _b.top_level(args)
        if level:
            return cls._apply_batched(args)
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        tracked = _state.tape.grad_enabled and any(ctx.needs_input_grad)
        views = []
        for a in args:
            if isinstance(a, Tensor):
                v = Tensor._make(a.data)
                v._version = a._counter()
                views.append(v)
            else:
                views.append(a)
        with _tape.no_grad():
            out = cls._run_forward(ctx, views)
        if not tracked:
            return out
        is_tuple = isinstance(out, tuple)
        outs = list(out) if is_tuple else [out]
        positions = [k for k, o in enumerate(outs) if isinstance(o, Tensor)]
        tensors = [outs[k] for k in positions]
        spec = _spec(ctx._to_save, views, tensors)
        fwd_spec = _spec(ctx._saved_for_forward, views, tensors)
        ctx._to_save = ()
        ctx._saved_for_forward = ()
        raws = [t.data for t in tensors]
        nout = len(raws)
        if not nout:
            return out
        cell = {
            "owner": cls,
            "out": tuple(raws) if nout > 1 else raws[0],
            "ctx": ctx,
            "spec": spec,
            "fwd_spec": fwd_spec,
            "nout": nout,
            "out_meta": [(tuple(r.shape), r.dtype, namespace(r)) for r in raws],
            "nondiff": [
                j for j, t in enumerate(tensors) if any(t is m for m in ctx._non_differentiable)
            ],
        }
        recorded = bind(cls._prim(len(args), nout), args, {"cell": cell})
        recorded = list(recorded) if nout > 1 else [recorded]
        for j in cell["nondiff"]:
            recorded[j] = Tensor._make(recorded[j].data)
        for k, r in zip(positions, recorded):
            outs[k] = r
        return tuple(outs) if is_tuple else outs[0]

    @classmethod
    def _prim(cls, nin: int, nout: int) -> Primitive:
        cache = cls.__dict__.get("_tg_prims")
        if cache is None:
            cache = {}
            type.__setattr__(cls, "_tg_prims", cache)
        prim = cache.get((nin, nout))
        if prim is None:
            from ..custom import _caching_rule, _owner_jvp, _precomputed

            prim = Primitive(
                cls.__name__,
                _precomputed,
                tuple(_caching_rule(k, "_vjp_rule") for k in range(nin)),
                _owner_jvp("_jvp_rule"),
                grad_fn=f"{cls.__name__}Backward",
                nout=nout,
            )
            cache[(nin, nout)] = prim
        return prim

    @classmethod
    def _vjp_rule(cls, g: Any, saved: tuple[Any, ...], cell: dict[str, Any]) -> list[Any]:
        ctx: FunctionCtx = cell["ctx"]
        nin = len(ctx.needs_input_grad)
        nout = cell["nout"]
        create = _state.tape.grad_enabled
        inputs = saved[:nin]
        outs = saved[nin]
        outs = list(outs) if nout > 1 else [outs]

        ctx._resolved = _resolve(cell["spec"], inputs, outs)
        gs = list(g) if nout > 1 else [g]
        grads_in = []
        for x, (shape, dtype, xp) in zip(gs, cell["out_meta"]):
            if x is None and ctx.materialize_grads:
                x = xp.zeros(shape, dtype=dtype)
            grads_in.append(_as_tensor(x))
        backward = cls.vjp if cls.vjp is not Function.vjp else cls.backward
        result = backward(ctx, *grads_in)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) < nin or any(r is not None for r in result[nin:]):
            raise RuntimeError(
                f"function {cls.__name__}Backward returned an incorrect number of gradients "
                f"(expected {nin}, got {len(result)})"
            )
        out = []
        for k, r in enumerate(result[:nin]):
            if r is None or not ctx.needs_input_grad[k]:
                out.append(None)
                continue
            if not isinstance(r, Tensor):
                r = np.asarray(r)
            want = tuple(getattr(inputs[k], "shape", ()))
            if tuple(r.shape) != want:
                raise RuntimeError(
                    f"Function {cls.__name__}Backward returned an invalid gradient at index "
                    f"{k} - got {list(r.shape)} but expected shape compatible with {list(want)}"
                )
            if isinstance(r, Tensor) and not create and not isinstance(r, _b.BatchTensor):
                r = r.data
            out.append(r)
        return out

    @classmethod
    def _jvp_rule(cls, ts: tuple[Any, ...], *saved: Any, cell: dict[str, Any]) -> Any:
        if cls.jvp is Function.jvp:
            raise NotImplementedError(
                f"You must implement the jvp function for custom autograd.Function "
                f"{cls.__name__} to use it with forward mode AD."
            )
        ctx: FunctionCtx = cell["ctx"]
        nin = len(ctx.needs_input_grad)
        outs = saved[nin]
        outs = list(outs) if cell["nout"] > 1 else [outs]
        ctx._resolved = _resolve(cell["fwd_spec"] or cell["spec"], saved[:nin], outs)
        tangents = []
        for t, x in zip(ts, saved[:nin]):
            if t is None and hasattr(x, "shape"):
                raw = x.data if isinstance(x, Tensor) else x
                t = namespace(raw).zeros_like(raw)
            tangents.append(
                Tensor._make(t) if hasattr(t, "shape") and not isinstance(t, Tensor) else t
            )
        out = cls.jvp(ctx, *tangents)
        outs = list(out) if isinstance(out, tuple) else [out]
        nested = _state.tape.grad_enabled
        outs = [
            o.data
            if isinstance(o, Tensor) and not nested and not isinstance(o, _b.BatchTensor)
            else o
            for o in outs
        ]
        return tuple(outs) if cell["nout"] > 1 else outs[0]

    @classmethod
    def _apply_batched(cls, args: tuple[Any, ...]) -> Any:
        if not cls.generate_vmap_rule:
            raise NotImplementedError(
                f"vmap: {cls.__name__} is an autograd.Function without a batching rule; set "
                "generate_vmap_rule = True on it to let vmap run forward and backward on "
                "batched values"
            )
        from ..custom import custom_vjp

        holder: dict[str, Any] = {}
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)

        def fun(*xs: Any) -> Any:
            with _tape.no_grad():
                return cls._run_forward(FunctionCtx(), xs)

        def fwd(*xs: Any) -> Any:
            ctx = FunctionCtx()
            ctx.needs_input_grad = needs
            with _tape.no_grad():
                out = cls._run_forward(ctx, xs)
            holder["ctx"] = ctx
            saved = ctx._to_save
            ctx._to_save = ()
            return out, tuple(saved)

        def bwd(saved: Any, g: Any) -> Any:
            ctx = holder["ctx"]
            ctx._resolved = tuple(saved)
            gs = g if isinstance(g, tuple) else (g,)
            backward = cls.vjp if cls.vjp is not Function.vjp else cls.backward
            result = backward(ctx, *gs)
            result = result if isinstance(result, tuple) else (result,)
            return tuple(result[: len(args)])

        cv = custom_vjp(fun)
        cv.defvjp(fwd, bwd)
        cv.__name__ = cls.__name__
        return cv(*args)


def _spec(saved: Sequence[Any], views: Sequence[Any], outs: Sequence[Any]) -> list[Any]:
    """Where each saved tensor comes from: an input, an output, or neither (kept as is)."""
    spec: list[Any] = []
    for t in saved:
        if t is None:
            spec.append(("none", None))
        elif any(t is v for v in views):
            spec.append(("in", next(i for i, v in enumerate(views) if t is v)))
        elif any(t is o for o in outs):
            spec.append(("out", next(j for j, o in enumerate(outs) if t is o)))
        else:
            spec.append(("const", t))
    return spec


def _as_tensor(x: Any) -> Any:
    if x is None or isinstance(x, Tensor):
        return x
    return Tensor._make(x) if hasattr(x, "shape") else x


def _resolve(spec: Sequence[Any], inputs: Sequence[Any], outs: Sequence[Any]) -> tuple[Any, ...]:
    """The saved tensors as the sweep sees them (tracked when it records)."""
    resolved = []
    for kind, ref in spec:
        if kind == "in":
            resolved.append(_as_tensor(inputs[ref]))
        elif kind == "out":
            resolved.append(_as_tensor(outs[ref]))
        else:
            resolved.append(ref)
    return tuple(resolved)


class _NotOverridden:
    pass


_NOT_OVERRIDDEN = _NotOverridden()
