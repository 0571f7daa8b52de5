"""Batching: the values ``vmap`` passes through a function, and a batching rule per primitive.

Inside ``vmap`` every mapped value is a :class:`BatchTensor`: a tensor whose ``value`` holds the
whole batch (a NumPy/CuPy array, a tensor, or the :class:`BatchTensor` of an enclosing
``vmap``), whose ``bdim`` says which axis of ``value`` is the batch axis, and whose ``level``
names the ``vmap`` call it belongs to (an inner ``vmap`` has a higher level). Its ``shape`` and
``ndim`` are those of one example, so the function sees per-example shapes; ``.data`` is the
full batched array underneath.

Binding a primitive to arguments of which one is batched comes here (:func:`bind_batched`,
called by :func:`tapegrad.primitive.bind`). The highest level among the arguments is handled
first: its batched arguments are unwrapped to their values, the primitive's batching rule
``rule(values, batch_dims, params) -> (out, out_batch_dim)`` computes the whole batch at once
by binding the primitive (or others) on the values, and the result is wrapped again. Values of
lower levels stay batched tensors of their own level, so the rule's own ``bind`` calls batch
them in turn: nested ``vmap`` needs no special case. Because rules bind ordinary primitives on
the values, the tape records the batched computation whenever a value requires grad, which is
how ``grad`` of a function that uses ``vmap`` works. A primitive without a rule raises
``NotImplementedError`` naming it: a batch is never split into a Python loop.

Transforms called inside ``vmap`` (``grad``, ``vjp``, ``jvp``) work on the full batch: they
move the batch axes of their inputs to the front, broadcast inputs that are not batched over
the batch (as read-only views), differentiate the batched computation, and wrap the results
back (see :func:`lower` and :func:`lift`). Since every value they differentiate with respect
to is then batched, and examples never mix, the derivatives they compute are per example.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backend import namespace
from .ops import elementwise as _ew
from .ops import index as _ix
from .ops import linalg as _la
from .ops import nn as _nn
from .ops import reduce as _red
from .ops import shape as _sh
from .ops._broadcast import unbroadcast as _unbroadcast_op
from .primitive import Primitive, bind
from .tensor import Tensor

__all__ = [
    "BatchTensor",
    "bind_batched",
    "register",
    "rule_for",
    "active_frames",
    "new_level",
    "below",
    "hidden",
    "lower",
    "lift",
    "unwrap_level",
    "wrap_level",
    "is_batched",
    "top_level",
    "values_at",
    "compare",
]

_NDARRAY = np.ndarray

Rule = Callable[[list[Any], list[Any], Any], tuple[Any, Any]]

#: Batching rules of the primitives of ``tapegrad.ops`` (and of this package's own).
_RULES: dict[Primitive, Rule] = {}
#: Rules of primitives made on the fly (custom_vjp, checkpoint, ...), dropped with them.
_DYNAMIC_RULES: weakref.WeakKeyDictionary[Primitive, Rule] = weakref.WeakKeyDictionary()

_next_level = itertools.count(1).__next__


class _Frames(threading.local):
    def __init__(self) -> None:
        #: ``(level, size)`` of each active ``vmap`` of this thread, outermost first.
        self.stack: list[tuple[int, int]] = []


_frames = _Frames()


def active_frames() -> tuple[tuple[int, int], ...]:
    """``(level, batch size)`` of the ``vmap`` calls running in this thread, outermost first."""
    return tuple(_frames.stack)


class new_level:
    """Context manager: a new ``vmap`` level of batch size ``size`` (its number is ``.level``)."""

    __slots__ = ("level", "size")

    def __init__(self, size: int) -> None:
        self.level = _next_level()
        self.size = size

    def __enter__(self) -> int:
        _frames.stack.append((self.level, self.size))
        return self.level

    def __exit__(self, *exc: object) -> None:
        stack = _frames.stack
        if stack and stack[-1][0] == self.level:
            stack.pop()
        else:  # pragma: no cover - a level left out of order
            _frames.stack = [f for f in stack if f[0] != self.level]


class below:
    """Context manager: code that works on the values under batch level ``level`` (a batching
    rule, a custom function's batched body) sees only the ``vmap`` calls of lower levels."""

    __slots__ = ("level", "saved")

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> None:
        stack = self.saved = _frames.stack
        if stack and stack[-1][0] >= self.level:
            _frames.stack = [f for f in stack if f[0] < self.level]

    def __exit__(self, *exc: object) -> None:
        _frames.stack = self.saved


class hidden:
    """Context manager: code that works below the batch levels of ``frames`` (the sweep of a
    transform called inside ``vmap``) sees only the other active ``vmap`` calls."""

    __slots__ = ("frames", "saved")

    def __init__(self, frames: Sequence[tuple[int, int]]) -> None:
        self.frames = frames

    def __enter__(self) -> None:
        stack = self.saved = _frames.stack
        if self.frames and stack:
            _frames.stack = [f for f in stack if f not in self.frames]

    def __exit__(self, *exc: object) -> None:
        _frames.stack = self.saved


def register(prim: Primitive, rule: Rule, *, dynamic: bool = False) -> None:
    """Make ``rule(values, batch_dims, params) -> (out, out_batch_dim)`` the batching rule of
    ``prim``. ``dynamic`` rules (for primitives made on the fly) go when their primitive goes."""
    if dynamic:
        _DYNAMIC_RULES[prim] = rule
    else:
        _RULES[prim] = rule


def rule_for(prim: Primitive) -> Rule | None:
    """The batching rule of ``prim``, or ``None``."""
    rule = _RULES.get(prim)
    if rule is None:
        rule = _DYNAMIC_RULES.get(prim)
    return rule


# ---------------------------------------------------------------------- the batched value


def _shape(v: Any) -> tuple[int, ...]:
    s = getattr(v, "shape", None)
    return () if s is None else tuple(s)


def _bottom(v: Any) -> Any:
    while isinstance(v, Tensor):
        v = v.data if not isinstance(v, BatchTensor) else v.value
    return v


class BatchTensor(Tensor):
    """A batch of values seen one example at a time (the values ``vmap`` passes to ``f``).

    ``value`` holds the whole batch, ``bdim`` is its batch axis and ``level`` the ``vmap`` it
    belongs to. ``shape``, ``ndim``, ``size()`` and ``len()`` are per example.
    """

    __slots__ = ("value", "bdim", "level")
    _batched = True

    def __init__(self, value: Any, bdim: int, level: int) -> None:
        self.value = value
        self.bdim = bdim
        self.level = level
        self._slot = None
        self._entry = None
        self._version = None
        self._extra = None

    # ------------------------------------------------------------------ array attributes

    @property  # type: ignore[override]
    def data(self) -> Any:
        """The full batched array underneath (every level's batch axis included).

        Boolean and integer batches (masks, indices, class labels) answer with themselves:
        operations that unwrap such arguments with ``.data`` (``where``'s condition,
        ``nll_loss``'s target, index normalisation) then pass them on still batched, so
        their batching rules see the batch (or NumPy refuses them loudly) instead of taking
        the full array for one example.
        """
        v = self.value
        if v.dtype.kind in "biu":
            return self
        return _bottom(v)

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        """Shape of one example."""
        s = _shape(self.value)
        b = self.bdim
        return s[:b] + s[b + 1 :]

    @property
    def ndim(self) -> int:  # type: ignore[override]
        """Number of dimensions of one example."""
        return len(_shape(self.value)) - 1

    @property
    def dtype(self) -> np.dtype:  # type: ignore[override]
        """The dtype of the values."""
        return self.value.dtype

    @property
    def batch_size(self) -> int:
        """The length of the batch axis."""
        return _shape(self.value)[self.bdim]

    def size(self, dim: int | None = None) -> Any:
        """Per-example shape, or the length of its dimension ``dim``."""
        s = self.shape
        return s if dim is None else s[dim]

    def dim(self) -> int:
        """Number of dimensions of one example."""
        return self.ndim

    def numel(self) -> int:
        """Number of elements of one example."""
        return int(np.prod(self.shape))

    nelement = numel

    def __len__(self) -> int:
        s = self.shape
        if not s:
            raise TypeError("len() of a 0-d tensor")
        return s[0]

    def __iter__(self) -> Any:
        s = self.shape
        if not s:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(s[0]):
            yield self[i]

    # ------------------------------------------------------------------ autograd state

    @property  # type: ignore[override]
    def requires_grad(self) -> bool:
        """Whether the batch underneath requires grad."""
        v = self.value
        return isinstance(v, Tensor) and v.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        raise RuntimeError(
            "requires_grad cannot be set on a value inside vmap; set it on the input before "
            "calling the vmapped function, or use tg.grad inside it"
        )

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        raise RuntimeError(
            "requires_grad_() cannot be called on a value inside vmap; set it on the input "
            "before calling the vmapped function, or use tg.grad inside it"
        )

    @property
    def grad_fn(self) -> Any:  # type: ignore[override]
        v = self.value
        return v.grad_fn if isinstance(v, Tensor) else None

    @property
    def is_leaf(self) -> bool:  # type: ignore[override]
        v = self.value
        return not isinstance(v, Tensor) or v.is_leaf

    def detach(self) -> Tensor:
        """The same batch, cut from the graph at every level."""
        v = self.value
        return BatchTensor(v.detach() if isinstance(v, Tensor) else v, self.bdim, self.level)

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            "backward() cannot be called inside vmap; use tg.grad or tg.vjp inside the "
            "vmapped function (vmap(grad(f)) gives per-example gradients)"
        )

    # ------------------------------------------------------------------ data-dependent

    def _data_dependent(self, what: str) -> RuntimeError:
        return RuntimeError(
            f"{what} of a batched value inside vmap: its value differs from example to "
            "example, so Python control flow cannot depend on it. Use tg.where (or compute "
            "outside vmap)."
        )

    def item(self) -> Any:
        raise self._data_dependent("item()")

    def tolist(self) -> Any:
        raise self._data_dependent("tolist()")

    def numpy(self, *, force: bool = False) -> np.ndarray:
        raise self._data_dependent("numpy()")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise RuntimeError(
            "a batched value inside vmap cannot become a NumPy array: it holds one value per "
            "example. Use tapegrad operations on it (to index an unbatched tensor with "
            "batched indices, use tapegrad.batching.getitem(x, indices))."
        )

    def __bool__(self) -> bool:
        raise self._data_dependent("bool()")

    def __float__(self) -> float:
        raise self._data_dependent("float()")

    def __int__(self) -> int:
        raise self._data_dependent("int()")

    def __index__(self) -> int:
        raise self._data_dependent("use as an index")

    def __complex__(self) -> complex:
        raise self._data_dependent("complex()")

    def __repr__(self) -> str:
        return f"BatchedTensor(lvl={self.level}, bdim={self.bdim}, value={self.value!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __hash__(self) -> int:
        return id(self)

    # ------------------------------------------------------------------ comparisons

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return compare("equal", self, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return compare("not_equal", self, other)

    def __lt__(self, other: Any) -> Any:
        return compare("less", self, other)

    def __le__(self, other: Any) -> Any:
        return compare("less_equal", self, other)

    def __gt__(self, other: Any) -> Any:
        return compare("greater", self, other)

    def __ge__(self, other: Any) -> Any:
        return compare("greater_equal", self, other)

    def __and__(self, other: Any) -> Any:
        return compare("bitwise_and", self, other)

    def __or__(self, other: Any) -> Any:
        return compare("bitwise_or", self, other)

    def __xor__(self, other: Any) -> Any:
        return compare("bitwise_xor", self, other)

    def __rand__(self, other: Any) -> Any:
        return compare("bitwise_and", other, self)

    def __ror__(self, other: Any) -> Any:
        return compare("bitwise_or", other, self)

    def __rxor__(self, other: Any) -> Any:
        return compare("bitwise_xor", other, self)

    def __invert__(self) -> Any:
        name = "logical_not" if self.dtype.kind == "b" else "invert"
        return _raw_map(name, self)

    # ------------------------------------------------------------------ methods that read data

    def clamp(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        """Limit values to ``[min, max]`` (gradient 1 inside, 0 outside)."""
        out: Any = self
        if min is not None:
            out = (
                _ew.maximum(out, min)
                if isinstance(min, Tensor)
                else bind(_ew.WHERE, (compare("less", out, min), min, out))
            )
        if max is not None:
            out = (
                _ew.minimum(out, max)
                if isinstance(max, Tensor)
                else bind(_ew.WHERE, (compare("greater", out, max), max, out))
            )
        return out

    clip = clamp

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Indices of the maxima (no gradient)."""
        return _arg_extreme("argmax", self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Indices of the minima (no gradient)."""
        return _arg_extreme("argmin", self, dim, keepdim)

    def max(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Any:
        """The largest element, or ``(values, indices)`` along ``dim``."""
        return _extreme(self, "argmax", _red.amax, "MaxBackward1", dim, keepdim, axis, keepdims)

    def min(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Any:
        """The smallest element, or ``(values, indices)`` along ``dim``."""
        return _extreme(self, "argmin", _red.amin, "MinBackward1", dim, keepdim, axis, keepdims)

    def __getitem__(self, index: Any) -> Any:
        return getitem(self, index)

    # ------------------------------------------------------------------ in place

    def _no_inplace(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "in-place operations on batched values are not supported inside vmap: write the "
            "computation out of place (y = x + 1 rather than x += 1; tg.where or index_put "
            "rather than x[i] = v)"
        )

    __setitem__ = _no_inplace
    __iadd__ = __isub__ = __imul__ = __itruediv__ = __ipow__ = _no_inplace
    add_ = sub_ = mul_ = div_ = pow_ = clamp_ = zero_ = fill_ = copy_ = _no_inplace


def is_batched(x: Any) -> bool:
    """Whether ``x`` is a batched value (inside ``vmap``)."""
    return isinstance(x, BatchTensor)


def _bt(value: Any, bdim: int, level: int) -> BatchTensor:
    t = _new_bt(BatchTensor)
    t.value = value
    t.bdim = bdim
    t.level = level
    t._slot = None
    t._entry = None
    t._version = None
    t._extra = None
    return t


_new_bt = object.__new__


# ---------------------------------------------------------------------- binding


def top_level(args: Sequence[Any]) -> int:
    """The highest ``vmap`` level among ``args`` (0 when none is batched)."""
    level = 0
    for a in args:
        if isinstance(a, BatchTensor) and a.level > level:
            level = a.level
    return level


def values_at(args: Sequence[Any], level: int) -> tuple[list[Any], list[int | None]]:
    """Arguments of ``level`` unwrapped to their values, and their batch axes (``None`` for
    arguments not batched at that level)."""
    vals = []
    dims: list[int | None] = []
    for a in args:
        if isinstance(a, BatchTensor) and a.level == level:
            vals.append(a.value)
            dims.append(a.bdim)
        else:
            vals.append(a)
            dims.append(None)
    return vals, dims


def bind_batched(prim: Primitive, args: Sequence[Any], params: dict[str, Any] | None) -> Any:
    """Apply ``prim`` to arguments of which at least one is batched, through its rule."""
    level = top_level(args)
    vals, dims = values_at(args, level)
    rule = _RULES.get(prim)
    if rule is None:
        rule = _DYNAMIC_RULES.get(prim)
        if rule is None:
            raise NotImplementedError(
                f"vmap: no batching rule for primitive {prim.name!r}; register one with "
                "tapegrad.batching.register"
            )
    stack = _frames.stack
    if stack and stack[-1][0] >= level:
        # The rule works on the values under ``level``: transforms it calls must not see it.
        _frames.stack = [f for f in stack if f[0] < level]
        try:
            out, odim = rule(vals, dims, params)
        finally:
            _frames.stack = stack
    else:
        out, odim = rule(vals, dims, params)
    if isinstance(out, tuple):
        return tuple(_bt(o, d, level) for o, d in zip(out, odim))
    return _bt(out, odim, level)


def bind2_batched(prim: Primitive, a: Any, b: Any, params: dict[str, Any] | None) -> Any:
    """``bind_batched`` for two arguments, one of them batched.

    Under a broadcasting elementwise primitive, a batched NumPy value against a NumPy array
    or Python number of no higher per-example rank goes straight to NumPy: with the batch
    axis first, broadcasting lines the other operand up with each example's trailing axes,
    as the primitive's rule would (without finding the rule, the level and the alignment).
    """
    if params is None and prim in _NUMPY_BROADCASTING:
        if a.__class__ is BatchTensor:
            bt, other = a, b
        else:
            bt, other = b, a
        v = bt.value
        c = other.__class__
        if v.__class__ is _NDARRAY and (
            c is float or c is int or (c is _NDARRAY and other.ndim < v.ndim)
        ):
            if bt.bdim:
                v = _moveaxis(v, bt.bdim, 0)
            out = prim.np_fwd(v, other) if bt is a else prim.np_fwd(other, v)
            return _bt(out if out.__class__ is _NDARRAY else np.asarray(out), 0, bt.level)
    return bind_batched(prim, (a, b), params)


# ---------------------------------------------------------------------- value helpers
# Values are raw arrays (NumPy fast paths), tensors, or batched values of lower levels; the
# helpers bind the shape primitives on the latter, so moves are recorded where they must be.


def _moveaxis(v: Any, src: int, dst: int) -> Any:
    if src == dst:
        return v
    nd = len(_shape(v))
    src %= nd
    dst %= nd
    if src == dst:
        return v
    if dst == 0:
        order = (src,) + tuple(range(src)) + tuple(range(src + 1, nd))
    else:
        rest = [i for i in range(nd) if i != src]
        rest.insert(dst, src)
        order = tuple(rest)
    if v.__class__ is _NDARRAY:
        return v.transpose(order)
    return _sh.transpose(v, order)


def _reshape(v: Any, shape: tuple[int, ...]) -> Any:
    if v.__class__ is _NDARRAY:
        return v.reshape(shape)
    if _shape(v) == tuple(shape):
        return v
    return _sh.reshape(v, shape)


def _broadcast(v: Any, shape: tuple[int, ...]) -> Any:
    if _shape(v) == tuple(shape):
        return v
    if v.__class__ is _NDARRAY:
        return np.broadcast_to(v, shape)
    if isinstance(v, Tensor):
        return _sh.broadcast_to(v, shape)
    if not hasattr(v, "shape"):
        v = np.asarray(v)
    return namespace(v).broadcast_to(v, shape)


def _front(v: Any, d: int | None, size: int) -> Any:
    """``v`` with its batch axis ``d`` first; an unbatched ``v`` broadcast over the batch."""
    if d is None:
        s = _shape(v)
        if not hasattr(v, "shape"):
            v = np.asarray(v)
        return _broadcast(v, (size,) + s)
    return _moveaxis(v, d, 0)


def _size(vals: Sequence[Any], dims: Sequence[int | None]) -> int:
    for v, d in zip(vals, dims):
        if d is not None:
            return _shape(v)[d]
    raise AssertionError("no batched argument")


def _pad(v: Any, rank: int) -> Any:
    """A batch-first value of per-example rank < ``rank`` with 1s inserted after the batch axis."""
    s = _shape(v)
    missing = rank - (len(s) - 1)
    if missing <= 0:
        return v
    return _reshape(v, (s[0],) + (1,) * missing + s[1:])


def _aligned(vals: Sequence[Any], dims: Sequence[int | None]) -> list[Any]:
    """Batched arguments moved batch-first and padded to a common per-example rank, so that
    NumPy's broadcasting lines their examples up; unbatched ones (right-aligned) as they are."""
    rank = 0
    for v, d in zip(vals, dims):
        r = len(_shape(v)) - (d is not None)
        if r > rank:
            rank = r
    out = []
    for v, d in zip(vals, dims):
        if d is None:
            out.append(v)
            continue
        if d:
            v = _moveaxis(v, d, 0)
        out.append(_pad(v, rank))
    return out


# ---------------------------------------------------------------------- rules: elementwise


def _unary_rule(prim: Primitive) -> Rule:
    np_fwd = prim.np_fwd

    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        v = vals[0]
        if params is None and np_fwd is not None and v.__class__ is _NDARRAY:
            out = np_fwd(v)
            return (out if out.__class__ is _NDARRAY else np.asarray(out)), dims[0]
        return bind(prim, (v,), params), dims[0]

    return rule


#: Primitives whose batching rule is the elementwise one and that have a NumPy forward.
_NUMPY_BROADCASTING: set[Primitive] = set()


def _elementwise_rule(prim: Primitive) -> Rule:
    np_fwd = prim.np_fwd
    if np_fwd is not None:
        _NUMPY_BROADCASTING.add(prim)

    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        args = _aligned(vals, dims)
        if params is None and np_fwd is not None:
            for a in args:
                c = a.__class__
                if c is not _NDARRAY and c is not float and c is not int:
                    break
            else:
                return np_fwd(*args), 0
        return bind(prim, args, params), 0

    return rule


_UNARY = (
    _ew.NEGATIVE,
    _ew.FLOOR,
    _ew.RINT,
    _ew.EXP,
    _ew.EXPM1,
    _ew.LOG,
    _ew.LOG1P,
    _ew.SIN,
    _ew.COS,
    _ew.TANH,
    _ew.SQRT,
    _ew.RECIPROCAL,
    _ew.SQUARE,
    _ew.ABS,
    _ew.SIGN,
    _ew.SIGMOID,
    _ew.SOFTPLUS,
    _ew.RELU,
    _sh.ASTYPE,
    _sh.CLONE,
    _sh.FILL,
    _sh.TO_DEVICE,
)
_BROADCASTING = (
    _ew.ADD,
    _ew.SUBTRACT,
    _ew.RSUB,
    _ew.MULTIPLY,
    _ew.TRUE_DIVIDE,
    _ew.POWER,
    _ew.REMAINDER,
    _ew.REMAINDER_SCALAR,
    _ew.FLOOR_DIVIDE,
    _ew.MAXIMUM,
    _ew.MINIMUM,
    _ew.WHERE,
)
for _p in _UNARY:
    register(_p, _unary_rule(_p))
for _p in _BROADCASTING:
    register(_p, _elementwise_rule(_p))


def register_elementwise(prim: Primitive, *, dynamic: bool = False) -> None:
    """Give ``prim`` the batching rule of an elementwise (broadcasting) primitive."""
    register(prim, _elementwise_rule(prim), dynamic=dynamic)


# ---------------------------------------------------------------------- rules: reductions


def _reduction_rule(prim: Primitive) -> Rule:
    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        v = _moveaxis(vals[0], dims[0], 0)
        p = dict(params)
        p["axis"] = tuple(a + 1 for a in params["axis"])
        p["shape"] = (_shape(v)[0],) + tuple(params["shape"])
        return bind(prim, (v,), p), 0

    return rule


for _p in (_red.SUM, _red.MEAN, _red.AMAX, _red.AMIN, _red.LOGSUMEXP):
    register(_p, _reduction_rule(_p))


def _axis_rule(prim: Primitive) -> Rule:
    """Primitives with one ``axis`` parameter (softmax, log_softmax)."""

    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        v = _moveaxis(vals[0], dims[0], 0)
        p = dict(params)
        p["axis"] = params["axis"] + 1
        return bind(prim, (v,), p), 0

    return rule


register(_nn.LOG_SOFTMAX, _axis_rule(_nn.LOG_SOFTMAX))
register(_nn.SOFTMAX, _axis_rule(_nn.SOFTMAX))


# ---------------------------------------------------------------------- rules: shape


def _reshape_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    v = _moveaxis(vals[0], dims[0], 0)
    n = _shape(v)[0]
    p = dict(params)
    p["shape"] = (n,) + tuple(params["shape"])
    p["in_shape"] = (n,) + tuple(params["in_shape"])
    if v.__class__ is _NDARRAY and params.get("name") is None:
        return v.reshape(p["shape"]), 0
    return bind(_sh.RESHAPE, (v,), p), 0


def _transpose_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    v, d = vals[0], dims[0]
    # Per-example axis j of the value sits at j, or j + 1 past the batch axis.
    order = (d,) + tuple(a if a < d else a + 1 for a in params["axes"])
    if v.__class__ is _NDARRAY:
        return v.transpose(order), 0
    p = dict(params)
    p["axes"] = order
    return bind(_sh.TRANSPOSE, (v,), p), 0


def _broadcast_to_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    v = _moveaxis(vals[0], dims[0], 0)
    shape = tuple(params["shape"])
    v = _pad(v, len(shape))
    return _broadcast(v, (_shape(v)[0],) + shape), 0


def _copy_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    n = _size(vals, dims)
    shape = tuple(params["shape"])
    dst = _front(vals[0], dims[0], n)
    src = vals[1] if dims[1] is None else _pad(_moveaxis(vals[1], dims[1], 0), len(shape))
    return bind(_sh.COPY, (dst, src), {"shape": (n,) + shape, "dtype": params["dtype"]}), 0


register(_sh.RESHAPE, _reshape_rule)
register(_sh.TRANSPOSE, _transpose_rule)
register(_sh.BROADCAST_TO, _broadcast_to_rule)
register(_sh.COPY, _copy_rule)


# ---------------------------------------------------------------------- rules: indexing


def _index_items(index: Any) -> tuple[Any, ...]:
    return index if isinstance(index, tuple) else (index,)


def _is_advanced(i: Any) -> bool:
    return hasattr(i, "shape") and not isinstance(i, np.generic) or isinstance(i, (list, bool))


def _is_bool_index(i: Any) -> bool:
    dtype = getattr(i, "dtype", None)
    if dtype is None:
        dtype = np.asarray(i).dtype
    return dtype == np.bool_


def _batch_axis_of_index(items: tuple[Any, ...]) -> int:
    """Where the batch axis lands in ``x[(slice(None),) + items]`` when ``x`` is batch-first.

    NumPy puts the dimensions of advanced indices in place of the first one when they are
    adjacent, and first when they are separated by a slice, ``None`` or ``...``.
    """
    arrays = [i for i in items if _is_advanced(i)]
    if not arrays:
        return 0
    pos = [k for k, i in enumerate(items) if _is_advanced(i) or isinstance(i, (int, np.integer))]
    if pos[-1] - pos[0] + 1 == len(pos):
        return 0
    shapes = []
    for i in items:
        if _is_advanced(i):
            if _is_bool_index(i):
                mask = i if hasattr(i, "shape") else np.asarray(i)
                shapes.append((int(namespace(mask).count_nonzero(mask)),))
            else:
                shapes.append(_shape(i) if hasattr(i, "shape") else np.shape(i))
    return len(np.broadcast_shapes(*shapes))


def _getitem_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    v = _moveaxis(vals[0], dims[0], 0)
    items = _index_items(params["index"])
    if any(isinstance(i, BatchTensor) for i in items):
        raise NotImplementedError(
            "vmap: batched indices reach the getitem primitive directly; index the batched "
            "value (x[i]) or use tapegrad.batching.getitem"
        )
    full = (slice(None),) + items
    p = dict(params)
    p["index"] = full
    p["shape"] = (_shape(v)[0],) + tuple(params["shape"])
    p["name"] = params.get("name") or _ix._index_name(params["index"])
    return bind(_ix.GETITEM, (v,), p), _batch_axis_of_index(items)


def _scatter_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    items = _index_items(params["index"])
    g = _moveaxis(vals[0], dims[0], _batch_axis_of_index(items))
    n = _shape(g)[_batch_axis_of_index(items)]
    p = dict(params)
    p["index"] = (slice(None),) + items
    p["shape"] = (n,) + tuple(params["shape"])
    return bind(_ix.SCATTER, (g,), p), 0


def _region_shape(shape: tuple[int, ...], index: Any) -> tuple[int, ...]:
    # The probe lives with the index arrays: a device module refuses host probes and back.
    xp = next((namespace(i) for i in _index_items(index) if hasattr(i, "shape")), np)
    probe = xp.broadcast_to(xp.zeros((), dtype=np.int8), shape)
    return tuple(probe[index].shape)


def _index_put_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    n = _size(vals, dims)
    x = _front(vals[0], dims[0], n)
    index = params["index"]
    items = _index_items(index)
    full = (slice(None),) + items
    v, dv = vals[1], dims[1]
    ax = _batch_axis_of_index(items)
    if dv is not None or ax != 0:
        region = _region_shape(_shape(x)[1:], index)
        v = _front(v, dv, n)
        v = _broadcast(_pad(v, len(region)), (n,) + region)
        v = _moveaxis(v, 0, ax)
    p = dict(params)
    p["index"] = full
    return bind(_ix.INDEX_PUT, (x, v), p), 0


register(_ix.GETITEM, _getitem_rule)
register(_ix.SCATTER, _scatter_rule)
register(_ix.INDEX_PUT, _index_put_rule)


def _advanced_position(items: tuple[Any, ...], ndim: int) -> int | None:
    """Where NumPy puts the advanced-index dimensions of ``x[items]`` (``x`` of ``ndim``
    dimensions): the number of result dimensions before them when the advanced indices are
    adjacent, ``None`` when they are separated (then they come first)."""
    adv = [k for k, i in enumerate(items) if _is_advanced(i) or isinstance(i, (int, np.integer))]
    if not adv or adv[-1] - adv[0] + 1 != len(adv):
        return None
    consumed = 0
    for i in items:
        if i is None:
            continue
        if i is Ellipsis:
            continue
        consumed += len(_shape(i)) if _is_advanced(i) and _is_bool_index(i) else 1
    before = 0
    for i in items[: adv[0]]:
        if i is Ellipsis:
            before += ndim - consumed
        else:
            before += 1  # a slice or None
    return before


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` where ``x`` or the index arrays may be batched (per-example indices)."""
    items = _index_items(index)
    if not any(isinstance(i, BatchTensor) for i in items):
        return _ix.getitem(x, index)
    items = tuple(np.asarray(i) if isinstance(i, list) else i for i in items)
    level = top_level((x,) + items)
    if any(isinstance(i, BatchTensor) and i.level == level and i.dtype == np.bool_ for i in items):
        raise NotImplementedError(
            "vmap: indexing with a batched boolean mask gives examples of different sizes; "
            "use tg.where instead"
        )
    ndim = len(tuple(x.shape)) if hasattr(x, "shape") else 0
    place = _advanced_position(items, ndim)
    (xv,), (xd,) = values_at((x,), level)
    ivals, idims = values_at(items, level)
    n = _shape(xv)[xd] if xd is not None else _size(ivals, idims)
    xv = _front(xv, xd, n)
    # Batched index arrays go batch-first; the batch itself is indexed by an arange, so the
    # advanced indices pick each example's entries from that example.
    rank = len(
        np.broadcast_shapes(
            *[
                _shape(v)[1:] if d is not None else _shape(v)
                for v, d in zip(ivals, idims)
                if d is not None or _is_advanced(v)
            ]
        )
    )
    new = []
    for v, d in zip(ivals, idims):
        if d is not None:
            v = _pad(_moveaxis(v, d, 0), rank)
            v = v.data if isinstance(v, Tensor) and not isinstance(v, BatchTensor) else v
        new.append(v)
    ar = np.arange(n).reshape((n,) + (1,) * rank)
    out = getitem(xv, (ar,) + tuple(new))
    if place:
        # The arange made the advanced dimensions come first; put them where one example's
        # indexing puts them.
        nd = len(_shape(out))
        order = [0] + list(range(1 + rank, 1 + rank + place)) + list(range(1, 1 + rank))
        order += list(range(1 + rank + place, nd))
        if out.__class__ is _NDARRAY:
            out = out.transpose(order)
        else:
            out = _sh.transpose(out, tuple(order))
    return _bt(out, 0, level)


def _arg_extreme(name: str, x: BatchTensor, dim: Any, keepdim: bool) -> Any:
    v = _moveaxis(x.value, x.bdim, 0)
    n = _shape(v)[0]
    if dim is None:
        v = _reshape(v, (n, -1) if x.ndim else (n, 1))
        ax, keepdim = 1, False
    else:
        ax = np.lib.array_utils.normalize_axis_index(int(dim), x.ndim) + 1
    if isinstance(v, BatchTensor):
        r = getattr(v, name)(ax, keepdim)
    else:
        raw = v.data if isinstance(v, Tensor) else v
        r = getattr(namespace(raw), name)(raw, axis=ax, keepdims=keepdim)
    return _bt(r, 0, x.level)


_MinMax = namedtuple("MinMax", ["values", "indices"])


def _extreme(
    x: BatchTensor,
    arg: str,
    reduce_fn: Any,
    one_name: str,
    dim: Any,
    keepdim: Any,
    axis: Any,
    keepdims: Any,
) -> Any:
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    if dim is None:
        return reduce_fn(x, None, False, name=one_name)
    if isinstance(dim, Tensor):  # x.max(other): the elementwise form
        return (_ew.maximum if arg == "argmax" else _ew.minimum)(x, dim)
    nd = x.ndim
    ax = np.lib.array_utils.normalize_axis_index(int(dim), nd)
    idx = _arg_extreme(arg, x, ax, True)
    kept = x.shape[:ax] + (1,) + x.shape[ax + 1 :]
    grids: list[Any] = list(np.ogrid[tuple(slice(k) for k in kept)])
    grids[ax] = idx
    values = getitem(x, tuple(grids))
    if not keepdim:
        values = _sh.squeeze(values, ax)
        idx = _sh.squeeze(idx, ax)
    return _MinMax(values, idx)


# ---------------------------------------------------------------------- rules: linear algebra


#: Read-only identity matrices by ``(size, dtype)``: the standard bases that ``jacfwd`` and
#: ``jacrev`` push through a function. The matmul rule recognises them by identity (``is``),
#: so only arrays made by :func:`_identity` take its shortcut.
_EYES: dict[tuple[int, np.dtype], np.ndarray] = {}
#: Identities of more elements than this are made per call, not kept.
_EYE_CACHE_ELEMENTS = 1 << 20
_EYE_CACHE_ENTRIES = 32


def _identity(n: int, dtype: Any) -> np.ndarray:
    """The ``n x n`` identity of ``dtype`` as a read-only NumPy array, shared while small."""
    key = (n, np.dtype(dtype))
    eye = _EYES.get(key)
    if eye is None:
        eye = np.eye(n, dtype=key[1])
        eye.flags.writeable = False
        if n * n <= _EYE_CACHE_ELEMENTS:
            if len(_EYES) >= _EYE_CACHE_ENTRIES:
                del _EYES[next(iter(_EYES))]  # the oldest: a long session keeps its fast path
            _EYES[key] = eye
    return eye


def _is_identity(v: Any) -> bool:
    """Whether ``v`` is one of the cached identities (so its examples are the unit vectors)."""
    return v.__class__ is _NDARRAY and v.ndim == 2 and _EYES.get((v.shape[0], v.dtype)) is v


def _unit_product(vals: list[Any], dims: list[Any]) -> tuple[Any, Any] | None:
    """``matmul`` where one operand is a batch of unit vectors (a cached identity: example
    ``i`` is ``e_i``) and the other an unbatched array: example ``i`` of ``a @ e_i`` is column
    ``i`` of ``a`` and of ``e_i @ b`` row ``i`` of ``b``, so the result is the other operand
    with the right axis as batch axis, without the ``n x n`` product. (Its entries are exact:
    ``eye @ a`` can also hold NaN where ``a`` has infinities, from ``0 * inf``.) It is a
    read-only view when no conversion is needed, like the identity itself: what reaches a
    caller is copied (``transforms._writable``). ``None`` when the shortcut does not apply."""
    a, b = vals
    da, db = dims
    if da is None and db is not None and a.__class__ is _NDARRAY and _is_identity(b):
        return _times_identity(a, b.dtype), a.ndim - 1
    if db is None and da is not None and b.__class__ is _NDARRAY and _is_identity(a):
        return _times_identity(b, a.dtype), max(b.ndim - 2, 0)
    return None


def _times_identity(x: np.ndarray, eye_dtype: np.dtype) -> np.ndarray:
    """``x`` in the dtype of its product with an identity of ``eye_dtype``: a read-only view
    of ``x`` when that is its own dtype, else a converted copy."""
    if x.dtype is not eye_dtype and x.dtype != np.result_type(x.dtype, eye_dtype):
        return x.astype(np.result_type(x.dtype, eye_dtype))
    view = x.view()
    view.flags.writeable = False
    return view


def _matmul_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    a, b = vals
    da, db = dims
    if (da is None or db is None) and _EYES:
        unit = _unit_product(vals, dims)
        if unit is not None:
            return unit
    sa, sb = tuple(params["sa"]), tuple(params["sb"])
    mm = _mm
    if db is None:
        a = _moveaxis(a, da, 0)
        n = _shape(a)[0]
        if len(sa) == 1:
            if len(sb) <= 2:
                return mm(a, b), 0  # (n, k) @ (k,) or (k, m)
            a = _reshape(a, (n,) + (1,) * (len(sb) - 2) + (1, sa[0]))
            out = mm(a, b)
            s = _shape(out)
            return _reshape(out, s[:-2] + s[-1:]), 0
        if len(sa) == 2 and len(sb) == 2:
            # One product for the whole batch: (n*m, k) @ (k, p).
            out = mm(_reshape(a, (n * sa[0], sa[1])), b)
            return _reshape(out, (n, sa[0], sb[1])), 0
        if len(sb) > len(sa):
            a = _pad(a, len(sb))
        return mm(a, b), 0
    if da is None:
        b = _moveaxis(b, db, 0)
        n = _shape(b)[0]
        if len(sb) == 1:
            if len(sa) == 1:
                return mm(b, a), 0  # (n, k) @ (k,)
            if len(sa) == 2:
                return mm(b, _swap(a)), 0  # (n, k) @ (k, m): one product
            out = mm(a, _swap(b))  # (..., m, k) @ (k, n) -> batch last
            return out, len(_shape(out)) - 1
        if len(sa) == 2 and len(sb) == 2 and sb[1] == 1:
            # Columns: [(m, k) @ (k, 1) for each example] is (n, k) @ (k, m), one product.
            out = mm(_reshape(b, (n, sb[0])), _swap(a))
            return _reshape(out, (n, sa[0], 1)), 0
        if len(sa) == 2 and len(sb) == 2:
            # (m, k) @ [(k, p) for each example] as one (m, k) @ (k, n*p) product.
            k, p = sb
            bb = _reshape(_moveaxis(b, 0, 1), (k, n * p))
            out = mm(a, bb)
            return _reshape(out, (sa[0], n, p)), 1
        if len(sa) > len(sb):
            b = _pad(b, len(sa))
        return mm(a, b), 0
    a = _moveaxis(a, da, 0)
    b = _moveaxis(b, db, 0)
    n = _shape(a)[0]
    if len(sa) == 1 and len(sb) == 1:
        return _red.sum(_ew.multiply(a, b), axis=1), 0
    if len(sa) == 1 and len(sb) == 2:
        return vecmat(a, b), 0
    if len(sa) == 2 and len(sb) == 1:
        return matvec(a, b), 0
    out_shape = _matmul_shape(sa, sb)
    if len(sa) == 1:
        a = _reshape(a, (n, 1, sa[0]))
    if len(sb) == 1:
        b = _reshape(b, (n, sb[0], 1))
    rank = max(len(_shape(a)), len(_shape(b))) - 1
    out = mm(_pad(a, rank), _pad(b, rank))
    return _reshape(out, (n,) + out_shape), 0


def _swap(x: Any) -> Any:
    """``x`` with its last two axes swapped."""
    if x.__class__ is _NDARRAY:
        return x.swapaxes(-1, -2)
    return _la.swap_last(x)


def _mm(a: Any, b: Any) -> Any:
    """``a @ b``: NumPy's directly for arrays, the primitive otherwise."""
    if a.__class__ is _NDARRAY and b.__class__ is _NDARRAY:
        return a @ b
    return _la.matmul(a, b)


def _matmul_shape(sa: tuple[int, ...], sb: tuple[int, ...]) -> tuple[int, ...]:
    a = (1,) + sa if len(sa) == 1 else sa
    b = sb + (1,) if len(sb) == 1 else sb
    batch = np.broadcast_shapes(a[:-2], b[:-2])
    out = tuple(batch) + (a[-2], b[-1])
    if len(sa) == 1:
        out = out[:-2] + out[-1:]
    if len(sb) == 1:
        out = out[:-1]
    return out


register(_la.MATMUL, _matmul_rule)


# Products of a batch of vectors with a batch of matrices. Per-example gradients make the
# parameters batched (a broadcast of one array), and a matmul with an inner dimension of 1
# (the outer products of their gradients) is NumPy's slowest path: these primitives compute
# outer products by broadcasting and use one matrix product when the matrices are a broadcast.


def _shared_matrix(b: Any) -> Any:
    """The matrix of a stack of matrices that is one matrix broadcast (zero strides), else
    ``None``."""
    lead = b.ndim - 2
    if lead > 0 and all(st == 0 for st in b.strides[:lead]):
        return b[(0,) * lead]
    return None


def _finish(out: Any, lead: tuple[int, ...], xp: Any) -> Any:
    shape = tuple(np.broadcast_shapes(out.shape[:-1], lead)) + out.shape[-1:]
    return out if out.shape == shape else xp.broadcast_to(out, shape).copy()


def _vecmat_fwd(xp: Any, a: Any, b: Any, sa: Any, sb: Any) -> Any:
    m = _shared_matrix(b)
    if m is not None:
        return _finish(a @ m, b.shape[:-2], xp)
    return xp.matmul(a[..., None, :], b)[..., 0, :]


def _matvec_fwd(xp: Any, b: Any, v: Any, sb: Any, sv: Any) -> Any:
    m = _shared_matrix(b)
    if m is not None:
        return _finish(v @ m.T, b.shape[:-2], xp)
    return xp.matmul(b, v[..., None])[..., 0]


def _outer(u: Any, w: Any) -> Any:
    """``u[..., :, None] * w[..., None, :]``."""
    if u.__class__ is _NDARRAY and w.__class__ is _NDARRAY:
        return u[..., :, None] * w[..., None, :]
    su, sw = _shape(u), _shape(w)
    return _ew.multiply(_reshape(u, su + (1,)), _reshape(w, sw[:-1] + (1, sw[-1])))


def _unbroadcast(g: Any, shape: Any) -> Any:
    return _unbroadcast_op(g, tuple(shape))


def vecmat(a: Any, b: Any) -> Any:
    """``a[..., k] @ b[..., k, n]`` for each leading index (leading axes broadcast)."""
    return bind(VECMAT, (a, b), {"sa": _shape(a), "sb": _shape(b)})


def matvec(b: Any, v: Any) -> Any:
    """``b[..., k, n] @ v[..., n]`` for each leading index (leading axes broadcast)."""
    return bind(MATVEC, (b, v), {"sb": _shape(b), "sv": _shape(v)})


VECMAT = Primitive(
    "vecmat",
    _vecmat_fwd,
    (
        lambda g, a, b, out, sa, sb: _unbroadcast(matvec(b, g), sa),
        lambda g, a, b, out, sa, sb: _unbroadcast(_outer(a, g), sb),
    ),
    lambda t, a, b, out, sa, sb: _ew._tsum(
        None if t[0] is None else vecmat(t[0], b), None if t[1] is None else vecmat(a, t[1])
    ),
    uses=((1,), (0,)),
    grad_fn="UnsafeViewBackward0",
)
MATVEC = Primitive(
    "matvec",
    _matvec_fwd,
    (
        lambda g, b, v, out, sb, sv: _unbroadcast(_outer(g, v), sb),
        lambda g, b, v, out, sb, sv: _unbroadcast(vecmat(g, b), sv),
    ),
    lambda t, b, v, out, sb, sv: _ew._tsum(
        None if t[0] is None else matvec(t[0], v), None if t[1] is None else matvec(b, t[1])
    ),
    uses=((1,), (0,)),
    grad_fn="UnsafeViewBackward0",
)


def _vec_rule(prim: Primitive, names: tuple[str, str], cores: tuple[int, int]) -> Rule:
    """Batching rule of ``vecmat``/``matvec``: batch both operands first, with their other
    leading axes lined up (``cores``: the number of trailing axes each operand contracts)."""

    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        n = _size(vals, dims)
        x, y = (_front(v, d, n) for v, d in zip(vals, dims))
        lead = max(len(_shape(x)) - 1 - cores[0], len(_shape(y)) - 1 - cores[1])
        x = _pad(x, lead + cores[0])
        y = _pad(y, lead + cores[1])
        return bind(prim, (x, y), {names[0]: _shape(x), names[1]: _shape(y)}), 0

    return rule


register(VECMAT, _vec_rule(VECMAT, ("sa", "sb"), (1, 2)))
register(MATVEC, _vec_rule(MATVEC, ("sb", "sv"), (2, 1)))


# ---------------------------------------------------------------------- rules: losses


def _nll_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    logp = _moveaxis(vals[0], dims[0], 0)
    n, rows, classes = _shape(logp)
    target = params["target"]
    weight = params["weight"]
    ignore = params["ignore_index"]
    if isinstance(target, BatchTensor):
        # Per-example targets (their ``.data`` is themselves): one row of targets per example.
        tv = target.value
        if isinstance(tv, BatchTensor) or _shape(tv)[target.bdim] != n:
            raise NotImplementedError(
                "vmap: nll_loss with targets batched at another level than the input"
            )
        tv = _moveaxis(_raw_of(tv), target.bdim, 0)
    else:
        xp = namespace(target)
        tv = xp.broadcast_to(target, (n, rows))
    xp = namespace(tv)
    flat = _reshape(logp, (n * rows, classes))
    losses = _nn.nll_loss(flat, xp.ascontiguousarray(tv).reshape(-1), weight, "none", ignore)
    losses = _reshape(losses, (n, rows))
    reduction = params["reduction"]
    if reduction == "none":
        return losses, 0
    total = _red.sum(losses, axis=1)
    if reduction == "sum":
        return total, 0
    kept = tv != ignore
    t = xp.where(kept, tv, 0)
    w = xp.ones(t.shape) if weight is None else weight[t]
    denom = xp.sum(xp.where(kept, w, 0), axis=1).astype(_bottom(losses).dtype)
    return _ew.true_divide(total, denom), 0


def _bce_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    n = _size(vals, dims)
    shape = np.broadcast_shapes(
        _shape(vals[0])[: dims[0]] + _shape(vals[0])[dims[0] + 1 :]
        if dims[0] is not None
        else _shape(vals[0]),
        _shape(vals[1])[: dims[1]] + _shape(vals[1])[dims[1] + 1 :]
        if dims[1] is not None
        else _shape(vals[1]),
    )
    x = _broadcast(_pad(_front(vals[0], dims[0], n), len(shape)), (n,) + tuple(shape))
    y = _broadcast(_pad(_front(vals[1], dims[1], n), len(shape)), (n,) + tuple(shape))
    p = dict(params)
    reduction = p["reduction"]
    p["reduction"] = "none"
    losses = bind(_nn.BCE_WITH_LOGITS, (x, y), p)
    axes = tuple(range(1, len(shape) + 1))
    if reduction == "none" or not axes:
        return losses, 0
    if reduction == "sum":
        return _red.sum(losses, axis=axes), 0
    return _red.mean(losses, axis=axes), 0


register(_nn.NLL_LOSS, _nll_rule)
register(_nn.BCE_WITH_LOGITS, _bce_rule)


def _register_op_modules() -> None:
    """Rules the op modules define beside their primitives (``BATCHING_RULES``), and the
    elementwise rule for every elementwise primitive without one."""
    for mod in (_ew, _ix, _la, _nn, _red, _sh):
        for prim, rule in getattr(mod, "BATCHING_RULES", {}).items():
            _RULES.setdefault(prim, rule)
    for value in vars(_ew).values():
        if isinstance(value, Primitive) and value not in _RULES:
            if value.broadcasting:
                register(value, _elementwise_rule(value))
            elif value.vjp is not None and len(value.vjp) == 1:
                register(value, _unary_rule(value))
    for value in vars(_red).values():
        if isinstance(value, Primitive) and value not in _RULES:
            register(value, _axes_rule(value))


def _axes_rule(prim: Primitive) -> Rule:
    """Reductions and scans over ``axis`` (an int or a tuple of ints, per example), with the
    input's ``shape`` among the parameters when the rules need it."""

    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        v = _moveaxis(vals[0], dims[0], 0)
        n = _shape(v)[0]
        p = dict(params)
        axis = params.get("axis")
        if axis is None:
            p["axis"] = tuple(range(1, len(_shape(v))))
        elif isinstance(axis, tuple):
            p["axis"] = tuple(a + 1 for a in axis)
        else:
            p["axis"] = int(axis) + 1
        if "shape" in params:
            p["shape"] = (n,) + tuple(params["shape"])
        return bind(prim, (v,), p), 0

    return rule


_register_op_modules()


# ---------------------------------------------------------------------- comparisons


def _raw_of(v: Any) -> Any:
    return v.data if isinstance(v, Tensor) and not isinstance(v, BatchTensor) else v


def compare(ufunc_name: str, a: Any, b: Any) -> Any:
    """An elementwise comparison (or logical operation) where ``a`` or ``b`` may be batched;
    the result never requires grad."""
    level = top_level((a, b))
    if not level:
        return _ew._compare(ufunc_name, a, b)
    vals, dims = values_at((a, b), level)
    va, vb = _aligned(vals, dims)
    if isinstance(va, BatchTensor) or isinstance(vb, BatchTensor):
        return _bt(compare(ufunc_name, va, vb), 0, level)
    ra, rb = _raw_of(va), _raw_of(vb)
    src = ra if hasattr(ra, "shape") else rb
    xp = namespace(src)
    return _bt(xp.asarray(getattr(xp, ufunc_name)(ra, rb)), 0, level)


def _raw_map(ufunc_name: str, x: BatchTensor) -> Any:
    v = x.value
    if isinstance(v, BatchTensor):
        return _bt(_raw_map(ufunc_name, v), x.bdim, x.level)
    raw = _raw_of(v)
    xp = namespace(raw)
    return _bt(xp.asarray(getattr(xp, ufunc_name)(raw)), x.bdim, x.level)


# ---------------------------------------------------------------------- crossing levels


def _bcast_front(v: Any, size: int) -> Any:
    """``v`` (not batched at the level being crossed) repeated along a new leading axis."""
    if isinstance(v, Tensor):
        return _sh.broadcast_to(v, (size,) + tuple(v.shape))
    a = v if hasattr(v, "shape") else np.asarray(v)
    return namespace(a).broadcast_to(a, (size,) + tuple(a.shape))


def unwrap_level(v: Any, level: int, size: int) -> Any:
    """``v`` with ``level``'s batch axis made explicit at axis 0 of each (lower-level) example.

    Batched values of higher levels stay batched on top; values not batched at ``level`` are
    broadcast along the new axis (a read-only view for arrays).
    """
    if isinstance(v, BatchTensor):
        if v.level == level:
            return _moveaxis(v.value, v.bdim, 0)
        if v.level > level:
            return _bt(unwrap_level(v.value, level, size), v.bdim + 1, v.level)
    return _bcast_front(v, size)


def wrap_level(v: Any, level: int, pos: int = 0) -> Any:
    """The inverse of :func:`unwrap_level`: axis ``pos`` of ``v`` becomes ``level``'s batch."""
    if isinstance(v, BatchTensor) and v.level > level:
        bh = v.bdim
        vpos = pos if pos < bh else pos + 1
        return _bt(wrap_level(v.value, level, vpos), bh - 1 if vpos < bh else bh, v.level)
    if not hasattr(v, "shape") or isinstance(v, np.generic):
        v = np.asarray(v)
    return _bt(v, pos, level)


def lower(v: Any, frames: Sequence[tuple[int, int]]) -> Any:
    """``v`` with the batch axes of ``frames`` (outermost first) as its leading axes."""
    for level, size in reversed(frames):
        v = unwrap_level(v, level, size)
    return v


def lift(v: Any, frames: Sequence[tuple[int, int]]) -> Any:
    """The inverse of :func:`lower`: leading axes become the batches of ``frames``."""
    for level, _size in frames:
        v = wrap_level(v, level, 0)
    return v


def map_bottom(v: Any, fn: Callable[[Any], Any]) -> Any:
    """``v`` with ``fn`` applied to the array or tensor under its batch levels."""
    if isinstance(v, BatchTensor):
        return _bt(map_bottom(v.value, fn), v.bdim, v.level)
    return fn(v)
