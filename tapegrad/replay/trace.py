"""Tracing at the array level: every NumPy call made on a function's inputs, in order.

A traced input is a :class:`TraceArray`, a NumPy array subclass holding the real values. NumPy
hands every ufunc (``__array_ufunc__``) and every public function (``__array_function__``)
applied to it back to the class, and tapegrad's primitives reach NumPy through the array
module of their data (``backend.namespace``), which for a ``TraceArray`` is a recording
namespace. Each call is run on the plain arrays underneath and appended to a
:class:`Recorder` as a :class:`Node`; its results come back as ``TraceArray`` values again.

This sees what the tape does not: the raw array maths of a reverse sweep and of forward-mode
rules, non-differentiable operations (comparisons, ``argmax``), detached values, in-place
writes. What a function computes from its inputs without going through NumPy on these arrays
— a Python ``bool`` or ``float`` taken from them, tapegrad's random numbers — cannot be
replayed; the recorder notes it (:attr:`Recorder.problem`) and ``jit`` then runs that
function eagerly.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "TraceArray",
    "Recorder",
    "Node",
    "Var",
    "active_recorder",
    "note_impure",
    "is_traced",
    "any_true",
    "all_true",
    "vars_in",
    "last_reads",
]

_NDARRAY = np.ndarray

#: Functions whose results depend on the shape and dtype of their first argument only.
_SHAPE_ONLY = frozenset({"ones_like", "zeros_like", "empty_like", "full_like"})
#: Functions whose Python results depend on shapes and dtypes only.
_STATIC = frozenset(
    "shape ndim size result_type iscomplexobj isrealobj may_share_memory shares_memory "
    "can_cast isfortran broadcast_shapes".split()
)


class Var:
    """A value of the traced program, by number."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"v{self.n}"


class Node:
    """One recorded call: ``outs = fn(*args, **kwargs)`` with :class:`Var` in the templates.

    ``outs`` lists the output variables (empty for a call made for its effect, such as an
    in-place write); ``unpack`` says the call returns a sequence of them; ``as_array`` that it
    returned a NumPy scalar, which the replay turns back into a 0-d array; ``effect`` that it
    must run even if nothing reads its results (in-place writes, random draws).
    """

    __slots__ = ("fn", "name", "args", "kwargs", "outs", "unpack", "as_array", "effect")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        effect: bool,
    ) -> None:
        self.fn = fn
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.outs: list[int] = []
        self.unpack = False
        self.as_array = False
        self.effect = effect

    def reads(self) -> list[int]:
        """Numbers of the variables this call reads."""
        found: list[int] = []
        _collect_vars(self.args, found)
        _collect_vars(self.kwargs, found)
        return found


def vars_in(template: Any) -> list[int]:
    """Numbers of the variables a template (of arguments) mentions."""
    found: list[int] = []
    _collect_vars(template, found)
    return found


def last_reads(nodes: Sequence[Node]) -> dict[int, int]:
    """For each variable the nodes read, the index of the last node that reads it."""
    last: dict[int, int] = {}
    for i, node in enumerate(nodes):
        for v in node.reads():
            last[v] = i
    return last

    def __repr__(self) -> str:
        outs = ", ".join(f"v{o}" for o in self.outs) or "_"
        return f"{outs} = {self.name}{self.args!r}"


def _collect_vars(obj: Any, found: list[int]) -> None:
    if obj.__class__ is Var:
        found.append(obj.n)
    elif obj.__class__ in (tuple, list):
        for x in obj:
            _collect_vars(x, found)
    elif obj.__class__ is dict:
        for x in obj.values():
            _collect_vars(x, found)
    elif obj.__class__ is slice:
        _collect_vars((obj.start, obj.stop, obj.step), found)


class Recorder:
    """The calls traced so far, what is known of their values, and whether the trace can be
    replayed.

    Besides the calls it keeps, for the optimiser (:mod:`tapegrad.replay.optimize`): each
    variable's shape and dtype; which variables depend on the inputs (*tainted*); *families*
    of variables that may share memory (views of one buffer), and which families are written
    in place; and the values of the variables that do not depend on the inputs.
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.n_vars = 0
        self.open = True
        #: Why the trace cannot stand for the function (``None`` while it can).
        self.problem: str | None = None
        self.meta: dict[int, tuple[tuple[int, ...], np.dtype]] = {}
        self.root: dict[int, int] = {}
        self.tainted: set[int] = set()
        self.tainted_roots: set[int] = set()
        self.written_roots: set[int] = set()
        self.values: dict[int, np.ndarray] = {}
        #: Variables whose memory belongs to an array from outside (a constant they view).
        self.borrowed: set[int] = set()
        self._taint = False
        self._read: list[tuple[int, np.ndarray]] = []
        self._consts: list[np.ndarray] = []
        self._family_sizes: dict[int, int] | None = None  # counted once recording is over

    def new_var(self) -> int:
        n = self.n_vars
        self.n_vars += 1
        return n

    def input(self, array: np.ndarray) -> TraceArray:
        """A traced input holding ``array``'s values."""
        raw = np.asarray(array)
        t = _NDARRAY.view(raw, TraceArray)
        t._rec = self
        t._var = n = self.new_var()
        self.tainted.add(n)
        self.root[n] = n
        self.meta[n] = (raw.shape, raw.dtype)
        return t

    def is_tainted(self, var: int) -> bool:
        """Whether the value of ``var`` may depend on the inputs."""
        return var in self.tainted or self.root[var] in self.tainted_roots

    def sole_owner(self, var: int) -> bool:
        """Whether ``var`` holds a buffer of its own that no other variable views."""
        sizes = self._family_sizes
        if sizes is None:
            sizes = self._family_sizes = {}
            for r in self.root.values():
                sizes[r] = sizes.get(r, 0) + 1
        return self.root[var] == var and sizes[var] == 1

    def is_written(self, var: int) -> bool:
        """Whether the memory of ``var`` is written in place anywhere in the program."""
        return self.root[var] in self.written_roots

    def flag(self, why: str) -> None:
        if self.problem is None:
            self.problem = why

    # -------------------------------------------------------------- recording one call

    def call(
        self,
        fn: Callable[..., Any],
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        effect: bool = False,
    ) -> Any:
        """Run ``fn`` on the plain arrays under ``args`` and record it."""
        self._read = []
        self._consts = []
        raw_args, t_args = self._split(args)
        raw_kwargs, t_kwargs = self._split(kwargs)
        read = self._read
        out_raw = raw_kwargs.get("out")
        result = fn(*raw_args, **raw_kwargs)
        if not self.open:
            return result
        if name in _SHAPE_ONLY and t_args and t_args[0].__class__ is Var:
            # Only the shape and dtype of the first argument matter: it is a constant.
            t_args = (raw_args[0], *t_args[1:])
            read = [(v, r) for v, r in read if r is not raw_args[0]]
        node = Node(fn, name, t_args, t_kwargs, effect)
        self._taint = tainted = any(self.is_tainted(v) for v in node.reads())
        if out_raw is not None:
            node.effect = True
            outs = kwargs["out"]
            if outs.__class__ is not tuple:
                outs, out_raw = (outs,), (out_raw,)
            if any(o.__class__ is not TraceArray for o in outs if o is not None):
                self.flag(f"{name} writes values of the inputs into an array made outside them")
            for o in outs:
                if o.__class__ is TraceArray and o._var is not None:
                    self._write(o._var, tainted)
            for o, r in zip(outs, out_raw, strict=True):
                if result is r:
                    self.nodes.append(node)
                    return o
        elif result is None and t_args and t_args[0].__class__ is Var:
            self._write(t_args[0].n, tainted)  # setitem, add.at, copyto, fill, sort
        self._read = read
        return self._wrap(node, result)

    def _write(self, var: int, tainted: bool) -> None:
        root = self.root[var]
        self.written_roots.add(root)
        if tainted:
            self.tainted_roots.add(root)

    def _escaped(self, plain: np.ndarray) -> Any:
        """The template of a plain array that may look into a traced value (``np.asarray``
        of one): that value's variable when it is the same view, else the array itself."""
        base = plain.base
        while base is not None and base.__class__ is not TraceArray:
            base = getattr(base, "base", None)
        if base is None or base._rec is not self or base._var is None:
            return plain
        if (
            plain.shape == base.shape
            and plain.strides == base.strides
            and plain.dtype == base.dtype
            and plain.__array_interface__["data"] == base.__array_interface__["data"]
        ):
            self._read.append((base._var, plain))
            return Var(base._var)
        self.flag("a view of a traced value was made outside NumPy's protocols")
        return plain

    def _wrap(self, node: Node, result: Any) -> Any:
        cls = result.__class__
        if cls is _NDARRAY or isinstance(result, _NDARRAY):
            self.nodes.append(node)
            return self._out(node, result)
        if isinstance(result, np.generic):
            node.as_array = True
            self.nodes.append(node)
            return self._out(node, np.asarray(result))
        if result is None:
            node.effect = True
            self.nodes.append(node)
            return None
        if isinstance(result, tuple) and all(isinstance(r, (_NDARRAY, np.generic)) for r in result):
            node.unpack = True
            node.as_array = any(isinstance(r, np.generic) for r in result)
            self.nodes.append(node)
            items = [self._out(node, np.asarray(r)) for r in result]
            return cls(*items) if hasattr(cls, "_fields") else cls(items)
        if isinstance(result, np.dtype) or node.name in _STATIC:
            return result  # depends on shapes and dtypes only, which the signature fixes
        # A Python value computed from the data (a bool, an int, a list): the program would
        # keep this one value for every later call.
        if self._taint:
            self.flag(f"{node.name} turned traced values into a Python {cls.__name__}")
        return result

    def _out(self, node: Node, raw: np.ndarray) -> TraceArray:
        t = _NDARRAY.view(raw, TraceArray)
        t._rec = self
        t._var = n = self.new_var()
        node.outs.append(n)
        self.meta[n] = (raw.shape, raw.dtype)
        self.root[n] = n
        for v, r in self._read:
            if np.may_share_memory(raw, r):
                self.root[n] = self.root[v]  # a view: one buffer, one family
                break
        if any(np.may_share_memory(raw, c) for c in self._consts):
            self.borrowed.add(n)
        if self._taint:
            self.tainted.add(n)
        else:
            self.values[n] = raw
        return t

    def _split(self, obj: Any) -> tuple[Any, Any]:
        """(plain values, template with :class:`Var`) of a call's arguments."""
        cls = obj.__class__
        if cls is TraceArray:
            raw = _NDARRAY.view(obj, _NDARRAY)
            if obj._rec is self and obj._var is not None:
                self._read.append((obj._var, raw))
                return raw, Var(obj._var)
            if obj._rec is self:
                self.flag("an operation on traced values was not recorded")
            return raw, raw
        if cls is _NDARRAY:
            self._consts.append(obj)
            return obj, self._escaped(obj) if obj.base is not None else obj
        if cls is tuple or cls is list:
            pairs = [self._split(x) for x in obj]
            raws = cls(p[0] for p in pairs)
            if all(p[0] is p[1] for p in pairs):
                return raws, raws
            return raws, cls(p[1] for p in pairs)
        if cls is dict:
            pairs2 = {k: self._split(v) for k, v in obj.items()}
            raws_d = {k: p[0] for k, p in pairs2.items()}
            if all(p[0] is p[1] for p in pairs2.values()):
                return raws_d, raws_d
            return raws_d, {k: p[1] for k, p in pairs2.items()}
        if cls is slice:
            (start, stop, step), (ts, tp, tt) = self._split((obj.start, obj.stop, obj.step))
            raw_s = slice(start, stop, step)
            if ts is start and tp is stop and tt is step:
                return raw_s, raw_s
            return raw_s, slice(ts, tp, tt)
        return obj, obj


# ------------------------------------------------------------------ the active recorder

_active = threading.local()


def active_recorder() -> Recorder | None:
    """The recorder of the trace running in this thread, if any."""
    return getattr(_active, "rec", None)


def set_active(rec: Recorder | None) -> Recorder | None:
    prev = getattr(_active, "rec", None)
    _active.rec = rec
    return prev


def note_impure(what: str) -> None:
    """Tell a running trace that the function did something a replay cannot repeat."""
    rec = getattr(_active, "rec", None)
    if rec is not None:
        rec.flag(what)


# ------------------------------------------------------------------ value-dependent branches


def is_traced(x: Any) -> bool:
    """Whether ``x`` (an array or a tensor) holds values that depend on the arguments of a
    function :func:`~tapegrad.jit` is recording: then no Python decision may rest on them."""
    d = x if isinstance(x, _NDARRAY) else getattr(x, "data", None)
    if d.__class__ is not TraceArray:
        return False
    rec = d._rec
    return rec is not None and rec.open and d._var is not None and rec.is_tainted(d._var)


def any_true(mask: Any) -> bool:
    """``bool(mask.any())``, for choosing between a fast branch and a general one.

    For traced values it answers ``True``: the replay must take the branch that is right for
    every value (rules make both branches agree where the fast one applies).
    """
    return True if is_traced(mask) else bool(mask.any())


def all_true(mask: Any) -> bool:
    """``bool(mask.all())``; ``False`` for traced values (see :func:`any_true`)."""
    return False if is_traced(mask) else bool(mask.all())


# ------------------------------------------------------------------ the array type


def _recorder_in(objs: Any) -> Recorder | None:
    for x in objs:
        if x.__class__ is TraceArray:
            rec = x._rec
            if rec is not None and rec.open:
                return rec
        elif x.__class__ in (tuple, list):
            rec = _recorder_in(x)
            if rec is not None:
                return rec
    return None


def _plain(obj: Any) -> Any:
    if obj.__class__ is TraceArray:
        return _NDARRAY.view(obj, _NDARRAY)
    if obj.__class__ in (tuple, list):
        return obj.__class__(_plain(x) for x in obj)
    if obj.__class__ is dict:
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _traced_call(
    fn: Callable[..., Any],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    effect: bool = False,
) -> Any:
    rec = _recorder_in(args) or _recorder_in(tuple(kwargs.values()))
    if rec is None:
        return fn(*_plain(args), **_plain(kwargs))
    return rec.call(fn, name, args, kwargs, effect=effect)


def _tensor_type() -> type:
    from ..tensor import Tensor

    return Tensor


def _has_tensor(objs: Any) -> bool:
    tensor = _tensor_type()
    return any(isinstance(x, tensor) for x in objs)


class TraceArray(np.ndarray):
    """A NumPy array whose operations are recorded by the trace that made it."""

    _rec: Recorder | None
    _var: int | None

    def __array_finalize__(self, obj: Any) -> None:
        # A view NumPy made by itself: not (yet) a value of the program.
        self._rec = None
        self._var = None

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if _has_tensor(inputs) or _has_tensor(kwargs.get("out", ())):
            return NotImplemented  # the Tensor's own override records it through the tape
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        return _traced_call(fn, name, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if any(issubclass(t, _tensor_type()) for t in types):
            return NotImplemented
        return _traced_call(func, func.__name__, tuple(args), dict(kwargs))

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __setitem__(self, index: Any, value: Any) -> None:
        _traced_call(operator.setitem, "setitem", (self, index, value), {}, effect=True)

    def __getitem__(self, index: Any) -> Any:
        return _traced_call(operator.getitem, "getitem", (self, index), {})


def _value_reader(name: str, what: str, read: Callable[..., Any]) -> Callable[..., Any]:
    """A method that hands values to Python: noted, since a replay would keep this answer."""

    def method(self: TraceArray, *args: Any) -> Any:
        if is_traced(self):
            self._rec.flag(f"the function reads values of its inputs ({what})")
        return read(_NDARRAY.view(self, _NDARRAY), *args)

    method.__name__ = name
    return method


def _method(name: str, effect: bool = False) -> Callable[..., Any]:
    base = getattr(_NDARRAY, name)

    def method(self: TraceArray, *args: Any, **kwargs: Any) -> Any:
        return _traced_call(base, name, (self, *args), kwargs, effect)

    method.__name__ = name
    return method


def _attribute(name: str) -> property:
    get = operator.attrgetter(name)

    def getter(self: TraceArray) -> Any:
        return _traced_call(get, name, (self,), {})

    return property(getter)


# Methods and attributes of ndarray that make arrays from the data without a ufunc or a
# public NumPy function: each is recorded as one call.
for _name in (
    "reshape transpose swapaxes squeeze ravel flatten copy astype view diagonal repeat take "
    "conj conjugate sum mean prod max min any all std var argmax argmin cumsum cumprod clip "
    "round dot trace argsort nonzero compress choose searchsorted argpartition __copy__"
).split():
    setattr(TraceArray, _name, _method(_name))
for _name, _what, _read in (
    ("__bool__", "bool()", bool),
    ("__float__", "float()", float),
    ("__int__", "int()", int),
    ("__complex__", "complex()", complex),
    ("__index__", "an index", operator.index),
    ("item", ".item()", _NDARRAY.item),
    ("tolist", ".tolist()", _NDARRAY.tolist),
    ("tobytes", ".tobytes()", _NDARRAY.tobytes),
):
    setattr(TraceArray, _name, _value_reader(_name, _what, _read))
for _name in "sort partition fill put resize".split():
    setattr(TraceArray, _name, _method(_name, effect=True))
for _name in ("T", "mT", "real", "imag"):
    setattr(TraceArray, _name, _attribute(_name))
del _name, _what, _read


# ------------------------------------------------------------------ the array module


class _RecordingNamespace:
    """The array module of traced data: NumPy, with the calls that take no traced argument
    (creating arrays, drawing random numbers) and the conversions that would drop the trace
    (``asarray``) recorded too. Everything else is NumPy itself: its ufuncs and functions
    come back to :class:`TraceArray` through NumPy's protocols."""

    def __init__(self, module: Any, name: str, effect: bool = False) -> None:
        self._module = module
        self.__name__ = name
        self._effect = effect
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        cache = self.__dict__["_cache"]
        if name in cache:
            return cache[name]
        attr = getattr(self._module, name)
        if name == "random" and self._module is np:
            value: Any = _RecordingNamespace(np.random, "numpy.random", effect=True)
        elif name == "lib" and self._module is np:
            value = _RecordingNamespace(np.lib, "numpy.lib")
        elif name == "stride_tricks" and self._module is np.lib:
            # as_strided makes a view without dispatching on its argument.
            value = _RecordingNamespace(np.lib.stride_tricks, "numpy.lib.stride_tricks")
        elif self._module is np.lib.stride_tricks and callable(attr):
            value = _recording(attr, name, effect=False)
        elif self._effect and callable(attr):
            value = _recording(attr, f"random.{name}", effect=True)
        elif name in _MAKERS:
            value = _recording(attr, name, effect=False)
        else:
            value = attr
        cache[name] = value
        return value


def _recording(fn: Callable[..., Any], name: str, effect: bool) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        rec = _recorder_in(args) or _recorder_in(tuple(kwargs.values())) or active_recorder()
        if rec is None or not rec.open:
            return fn(*_plain(args), **_plain(kwargs))
        return rec.call(fn, name, args, kwargs, effect=effect)

    call.__name__ = name
    return call


#: NumPy functions that make arrays without dispatching on a traced argument.
_MAKERS = frozenset(
    "zeros ones empty full arange eye identity linspace logspace geomspace tri array asarray "
    "asanyarray ascontiguousarray asfortranarray frombuffer fromiter indices".split()
)

RECORDING_NUMPY = _RecordingNamespace(np, "numpy")
TraceArray.__array_namespace_module__ = RECORDING_NUMPY  # type: ignore[attr-defined]
