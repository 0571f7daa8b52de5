"""``tg.jit``: record a function once per input signature, then replay its NumPy calls.

The first call with a new signature (the pytree structure of the arguments; each array's
shape, dtype and strides; the values of Python scalars and other static arguments) runs the
function on traced inputs (:mod:`tapegrad.replay.trace`), and compiles the calls it made into
a :class:`~tapegrad.replay.program.Program`. Later calls with that signature run the program
on the new arrays: the same NumPy calls in the same order, without the Tensor facade, the tape
or the sweep's bookkeeping, which is what makes small-array code several times faster.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ..pytree import tree_flatten, tree_unflatten
from ..tensor import Tensor
from .optimize import optimize
from .program import Program
from .trace import Recorder, TraceArray, set_active

__all__ = ["jit", "Jitted"]

F = TypeVar("F", bound=Callable[..., Any])

_NDARRAY = np.ndarray
_STATIC_TYPES = (bool, int, float, complex, str, bytes, type(None))
_EAGER = "eager"


class Jitted:
    """A function wrapped by :func:`jit`: call it like the function.

    Attributes
    ----------
    programs : dict
        The compiled program of each signature seen so far (``"eager"`` where the function
        had to run eagerly).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.programs: dict[Any, Any] = {}
        self._warned = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key, arrays = _call_key(args, kwargs)
        if key is None:
            return self.fn(*args, **kwargs)
        found = self.programs.get(key)
        if found is None:
            return self._trace(key, args, kwargs)
        if found is _EAGER:
            return self.fn(*args, **kwargs)
        program, out_tree, as_tensor = found
        outs = program.run(*arrays)
        if as_tensor is None:
            return outs[0] if out_tree is None else tree_unflatten(out_tree, list(outs))
        outs = [Tensor._make(o) if t else o for o, t in zip(outs, as_tensor)]
        return outs[0] if out_tree is None else tree_unflatten(out_tree, outs)

    def program(self, *args: Any, **kwargs: Any) -> Program:
        """The program that a call with these arguments replays (tracing it if need be).

        >>> import numpy as np
        >>> import tapegrad as tg
        >>> f = tg.jit(lambda x: np.sin(x) * 2.0)
        >>> print(f.program(np.zeros(3)).source)
        def replay(v0):
            v1 = f_sin_2(v0)
            del v0
            v2 = f_multiply_3(v1, c4)
            del v1
            return (v2, )
        """
        self(*args, **kwargs)
        found = self.programs.get(_call_key(args, kwargs)[0])
        if not isinstance(found, tuple):
            raise ValueError(f"{_name(self.fn)} runs eagerly for these arguments: no program")
        return found[0]

    # ------------------------------------------------------------------ tracing

    def _trace(self, key: Any, args: Any, kwargs: Any) -> Any:
        rec = Recorder()
        leaves, tree = tree_flatten((args, kwargs))
        traced, inputs = [], []
        for leaf in leaves:
            if leaf.__class__ is _NDARRAY or isinstance(leaf, np.generic):
                t = rec.input(leaf)
                inputs.append(t._var)
                traced.append(t)
            elif leaf.__class__ is Tensor:
                t = rec.input(leaf.data)
                inputs.append(t._var)
                traced.append(Tensor._make(t))
            else:
                traced.append(leaf)
        t_args, t_kwargs = tree_unflatten(tree, traced)
        prev = set_active(rec)
        try:
            out = self.fn(*t_args, **t_kwargs)
        finally:
            rec.open = False
            set_active(prev)
        out_leaves, out_tree = tree_flatten(out)
        outputs, as_tensor, results = [], [], []
        for leaf in out_leaves:
            data = leaf.data if leaf.__class__ is Tensor else leaf
            if data.__class__ is TraceArray and data._rec is rec and data._var is not None:
                outputs.append(data._var)
                plain = _NDARRAY.view(data, _NDARRAY)
            else:
                if _derived_from(data, rec):
                    rec.flag("an output was taken out of the trace (np.asarray of a traced value)")
                # A private copy: each call hands out a fresh one, as the function would.
                outputs.append(("const", data.copy() if isinstance(data, _NDARRAY) else data))
                plain = data
            if leaf.__class__ is Tensor:
                if leaf._slot is not None:
                    rec.flag("an output requires grad, which a replay cannot give it")
                as_tensor.append(True)
                results.append(Tensor._make(plain))
            else:
                as_tensor.append(False)
                results.append(plain)
        if rec.problem is not None:
            self.programs[key] = _EAGER
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"tg.jit: {_name(self.fn)} runs eagerly for these arguments: {rec.problem}",
                    stacklevel=3,
                )
        else:
            nodes, outputs = optimize(rec, outputs)
            program = Program(nodes, inputs, outputs, rec)
            single = out_tree.kind == "leaf"
            self.programs[key] = (
                program,
                None if single else out_tree,
                as_tensor if any(as_tensor) else None,
            )
        return tree_unflatten(out_tree, results)


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _derived_from(x: Any, rec: Recorder) -> bool:
    """Whether a plain array looks into the memory of a traced value."""
    base = getattr(x, "base", None)
    while base is not None:
        if base.__class__ is TraceArray and base._rec is rec:
            return True
        base = getattr(base, "base", None)
    return False


def _call_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """(signature, arrays to replay on) of a call; ``(None, None)`` when it must run eagerly."""
    if not kwargs and all(a.__class__ is _NDARRAY for a in args):
        # The common case: positional NumPy arrays.
        return tuple((a.shape, a.dtype, a.strides) for a in args), args
    leaves, tree = tree_flatten((args, kwargs))
    key, arrays = _signature(leaves)
    return (None, None) if key is None else ((tree, key), arrays)


def _signature(leaves: list[Any]) -> tuple[Any, list[Any] | None]:
    """(key, arrays to replay on), or ``(None, None)`` when the call must run eagerly."""
    key = []
    arrays = []
    for leaf in leaves:
        cls = leaf.__class__
        if cls is _NDARRAY:
            key.append((leaf.shape, leaf.dtype, leaf.strides))
            arrays.append(leaf)
        elif cls is Tensor:
            d = leaf.data
            if leaf._slot is not None or d.__class__ is not _NDARRAY:
                # Tracked by the tape (requires grad, or inside a transform), or on a device:
                # the function's own operations must run.
                return None, None
            key.append(("tensor", d.shape, d.dtype, d.strides))
            arrays.append(d)
        elif isinstance(leaf, np.generic):
            key.append(("scalar", leaf.dtype))
            arrays.append(np.asarray(leaf))
        elif isinstance(leaf, _STATIC_TYPES):
            key.append((cls, leaf))
        elif isinstance(leaf, (Tensor, _NDARRAY)):
            return None, None  # batched values, traced values of an outer jit, subclasses
        else:
            try:
                hash(leaf)
            except TypeError:
                return None, None
            key.append((cls, leaf))
    return tuple(key), arrays


def jit(fn: F) -> F:
    """Record ``fn`` once per input signature and replay its NumPy calls afterwards.

    ``fn`` takes and returns pytrees (tuples, lists, dicts) of NumPy arrays, tensors that do
    not require grad, and static values (Python numbers, strings). Its first call with each
    signature — structure, and each array's shape, dtype and strides — runs it while recording
    every NumPy call made on data derived from the arguments, including the raw maths of
    ``tg.grad``, ``tg.jvp`` and the other transforms inside it; later calls with the same
    signature replay those calls on the new arrays. Results equal the function's own.

    Values ``fn`` reads from outside its arguments (globals, closures) are constants of the
    recording. Where a replay could not repeat the function — it reads input values into
    Python (``if x.sum() > 0``, ``float(x)``), draws tapegrad random numbers, or returns a
    value that requires grad — ``jit`` warns once and runs the function itself for that
    signature. Called with tensors that require grad, inside ``vmap``, or on a GPU, ``fn`` is
    simply run, so gradients through it stay right.

    >>> import numpy as np
    >>> import tapegrad as tg
    >>> def loss(w, x):
    ...     return ((x @ w) ** 2).sum()
    >>> step = tg.jit(tg.value_and_grad(loss))
    >>> value, g = step(np.ones(3), np.eye(3))
    >>> float(value), g
    (3.0, array([2., 2., 2.]))
    """
    return Jitted(fn)  # type: ignore[return-value]
