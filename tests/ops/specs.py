"""The table of operation specs that ``test_table.py`` checks.

Every differentiable operation of ``tapegrad.ops`` appears here once, as an :class:`OpSpec`:

- ``fn``: the function under test, called on raw NumPy arrays as ``fn(*args, **kwargs)``;
- ``ref``: a NumPy reference for its values, with the same signature;
- ``args``: one entry per positional argument: a :class:`Domain` (a differentiable float
  argument and the values it is drawn from) or a static argument (:class:`Booleans`,
  :class:`Integers`) that is drawn too but held fixed when differentiating;
- ``cases``: the shapes of the arguments (including 0-d and broadcasting variants, or shapes
  Hypothesis draws) together with static keyword arguments (``axis``, ``keepdims``, ...);
- ``order2``: whether second derivatives are checked as well.

Domains keep finite differences honest: positive values for ``log`` and ``sqrt``, values away
from the kinks of ``abs``, ``relu`` and ``clamp``, and, for ``maximum``/``minimum``, two
interleaved lattices so that the two arguments never tie. ``prepare`` moves drawn values
where a domain cannot express the condition (distinct values for ``amax``, dividends away
from multiples of the divisor for ``remainder``).

Adding an operation is adding one row here; the tests pick it up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import numpy as np

from tapegrad import functions as F
from tapegrad.ops import elementwise as ew
from tapegrad.ops import index as ix
from tapegrad.ops import linalg as la
from tapegrad.ops import nn
from tapegrad.ops import reduce as rd
from tapegrad.ops import shape as sh

__all__ = [
    "Domain",
    "Booleans",
    "Integers",
    "Case",
    "OpSpec",
    "SPECS",
    "CHECKS",
    "DRAWN",
    "DRAWN_BROADCAST",
    "DRAWN_SAME",
]

# ------------------------------------------------------------------------------ argument kinds


@dataclass(frozen=True)
class Domain:
    """A differentiable float argument drawn from a union of closed intervals.

    Interval ends are dyadic fractions, exact in float16, float32 and float64, so the same
    domain serves every floating dtype.
    """

    name: str
    intervals: tuple[tuple[float, float], ...]

    def elements(self, dtype: Any = np.float64) -> st.SearchStrategy[float]:
        dt = np.dtype(dtype)
        if len(self.intervals) == 1:
            lo, hi = self.intervals[0]
            return st.floats(lo, hi, width=dt.itemsize * 8)
        # One float laid along the intervals end to end: far cheaper to draw than one_of.
        intervals = self.intervals
        total = sum(hi - lo for lo, hi in intervals)

        def place(t: float) -> float:
            for lo, hi in intervals:
                if t <= hi - lo:
                    break
                t -= hi - lo
            v = float(dt.type(lo + t))  # rounds into [lo, hi]: both ends are exact in dt
            return min(max(v, lo), hi)

        return st.floats(0.0, total).map(place)

    def contains(self, x: np.ndarray) -> bool:
        x = np.asarray(x, dtype=np.float64)
        inside = np.zeros(x.shape, dtype=bool)
        for lo, hi in self.intervals:
            inside |= (x >= lo) & (x <= hi)
        return bool(inside.all())


@dataclass(frozen=True)
class Booleans:
    """A static boolean array (a condition or a mask)."""

    dtype: Any = np.bool_

    def elements(self) -> st.SearchStrategy[bool]:
        return st.booleans()


@dataclass(frozen=True)
class Integers:
    """A static integer array with values in ``[low, high]`` (class labels, indices)."""

    low: int
    high: int
    dtype: Any = np.int64

    def elements(self) -> st.SearchStrategy[int]:
        return st.integers(self.low, self.high)


Arg = Domain | Booleans | Integers

REAL = Domain("real", ((-3.0, 3.0),))
POSITIVE = Domain("positive", ((0.25, 3.0),))
NONZERO = Domain("nonzero", ((-3.0, -0.25), (0.25, 3.0)))
ABOVE_MINUS_ONE = Domain("above -1", ((-0.75, 3.0),))
UNIT_INTERVAL = Domain("[0, 1]", ((0.0, 1.0),))
# Two interleaved lattices: a value of one is at least 1/8 from every value of the other.
LOWER_LATTICE = Domain("k + [1/16, 7/16]", tuple((k + 0.0625, k + 0.4375) for k in range(-3, 3)))
UPPER_LATTICE = Domain("k + [9/16, 15/16]", tuple((k + 0.5625, k + 0.9375) for k in range(-3, 3)))
# Away from the clamp bounds -1 and 1.
AWAY_FROM_UNIT_BOUNDS = Domain("away from +-1", ((-3.0, -1.25), (-0.75, 0.75), (1.25, 3.0)))

# ------------------------------------------------------------------------------ cases

#: One shape drawn by ``tapegrad.testing.strategies.shapes()`` for a unary operation.
DRAWN = "drawn"
#: Shapes drawn to broadcast together (one per argument).
DRAWN_BROADCAST = "drawn-broadcast"
#: One drawn shape shared by every argument.
DRAWN_SAME = "drawn-same"

Shapes = tuple[tuple[int, ...], ...] | str


def _shape_id(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "0d"


def _value_id(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"{v.dtype.kind}{list(v.shape)}"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts).rstrip(":") or ":"
    if v is Ellipsis:
        return "..."
    if isinstance(v, tuple):
        return "(" + ",".join(_value_id(i) for i in v) + ")"
    return repr(v)


@dataclass(frozen=True)
class Case:
    """Shapes of the positional arguments and the static keyword arguments of one variant."""

    shapes: Shapes
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None

    @property
    def id(self) -> str:
        if self.label is not None:
            return self.label
        if isinstance(self.shapes, str):
            sid = self.shapes
        else:
            sid = ",".join(_shape_id(s) for s in self.shapes)
        kw = ",".join(f"{k}={_value_id(v)}" for k, v in self.kwargs.items())
        return f"{sid}[{kw}]" if kw else sid


@dataclass(frozen=True)
class OpSpec:
    """One row of the table; see the module docstring."""

    name: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    args: tuple[Arg, ...]
    cases: tuple[Case, ...]
    order2: bool = True
    prepare: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None
    #: dtype the differentiable arguments are drawn in (``None``: float64, and float32 in the
    #: float32 checks); set for casts, whose input dtype is the point.
    dtype: Any = None
    #: the facade form (operators and methods on tensors), when it differs from ``fn``.
    tensor_fn: Callable[..., Any] | None = None
    facade: bool = True
    #: relative tolerance of the value check against ``ref``.
    rtol: float = 1e-12
    #: check name (or ``"check:case-id"``) -> why tapegrad currently fails it.
    xfail: Mapping[str, str] = field(default_factory=dict)

    @property
    def diff_positions(self) -> tuple[int, ...]:
        return tuple(i for i, a in enumerate(self.args) if isinstance(a, Domain))

    def __repr__(self) -> str:
        return f"OpSpec({self.name!r})"


#: The properties ``test_table.py`` checks for every case of every row (``order2_*`` only where
#: the row says so, ``float32_*`` not for casts); ``rev`` and ``fwd`` also check the values.
CHECKS = (
    "rev",
    "fwd",
    "order2_rev",
    "order2_fwd",
    "float32_rev",
    "float32_fwd",
    "facade",
)

# ------------------------------------------------------------------------------ helpers


def _unary_cases() -> tuple[Case, ...]:
    return (Case(((),)), Case(DRAWN))


def _binary_cases() -> tuple[Case, ...]:
    return (
        Case(((), ())),
        Case(((2, 3), (3,))),
        Case(((3, 1), (1, 4))),
        Case(DRAWN_BROADCAST),
    )


def _unary(name: str, fn: Any, ref: Any, domain: Domain = REAL, **kw: Any) -> OpSpec:
    return OpSpec(name, fn, ref, (domain,), _unary_cases(), **kw)


def _binary(name: str, fn: Any, ref: Any, a: Domain = REAL, b: Domain = REAL, **kw: Any) -> OpSpec:
    return OpSpec(name, fn, ref, (a, b), _binary_cases(), **kw)


def _reduction_cases(extra: tuple[Case, ...] = ()) -> tuple[Case, ...]:
    def c(shape: tuple[int, ...], axis: Any, keepdims: bool) -> Case:
        return Case((shape,), {"axis": axis, "keepdims": keepdims})

    return (
        c((), None, False),
        c((4,), -1, True),
        c((2, 3), None, False),
        c((2, 3), 0, False),
        c((2, 3), -1, True),
        c((2, 3, 4), (0, 2), False),
        c((2, 3, 4), (-1, 1), True),
        c((2, 3, 4), None, True),
    ) + extra


def _distinct(args: list[np.ndarray]) -> list[np.ndarray]:
    """Distinct values at least 0.15 apart that keep the drawn order and depend on the draw.

    Maxima and minima are then unique, so finite differences see no ties.
    """
    x = args[0]
    flat = np.asarray(x, dtype=np.float64).ravel()
    ranks = np.argsort(np.argsort(flat, kind="stable"), kind="stable")
    spread = 0.25 * (ranks - (flat.size - 1) / 2) + flat / 60.0
    return [spread.reshape(np.shape(x)).astype(x.dtype)] + list(args[1:])


def _dividend_off_multiples(args: list[np.ndarray]) -> list[np.ndarray]:
    """``a`` becomes ``a * b`` for ``a`` on the lower lattice, so ``a / b`` is never near an
    integer and ``a % b`` is smooth at the drawn point."""
    a, b = args[0], args[1]
    return [np.asarray(a * b).astype(a.dtype), b]


def _first_target_counted(args: list[np.ndarray]) -> list[np.ndarray]:
    """Class 0 for the first sample, so the mean over non-ignored samples is defined."""
    logp, target = args
    target = target.copy()
    target[0] = 0
    return [logp, target]


def _logsumexp_ref(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _log_softmax_ref(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


def _softmax_ref(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def _nll_ref(
    logp: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> np.ndarray:
    n, c = logp.shape
    w = np.ones(c) if weight is None else weight
    kept = target != ignore_index
    t = np.where(kept, target, 0)
    wt = np.where(kept, w[t], 0.0)
    losses = -logp[np.arange(n), t] * wt
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.sum(losses)
    return np.sum(losses) / np.sum(wt)


def _bce_ref(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
    pos_weight: np.ndarray | None = None,
) -> np.ndarray:
    # PyTorch's definition, written with log(sigmoid) rather than the implementation's form.
    log_sig = np.log(1 / (1 + np.exp(-x)))
    log_one_minus = np.log(1 / (1 + np.exp(x)))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * y * log_sig + (1 - y) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    return np.mean(loss)


def _index_put_ref(x: np.ndarray, v: np.ndarray, index: Any) -> np.ndarray:
    y = x.copy()
    y[index] = v
    return y


def _scatter_ref(g: np.ndarray, index: Any, shape: tuple[int, ...], basic: bool) -> np.ndarray:
    z = np.zeros(shape, dtype=g.dtype)
    np.add.at(z, index, g)
    return z


def _powers(exponents: tuple[Any, ...], domain: Domain, name: str) -> OpSpec:
    # One case per exponent, the shapes alternating between a fixed and a drawn one.
    cases = tuple(Case(((2, 3),) if i % 2 else DRAWN, {"y": y}) for i, y in enumerate(exponents))
    return OpSpec(
        name,
        lambda x, y: ew.power(x, y),
        lambda x, y: np.power(x, y),
        (domain,),
        cases,
        tensor_fn=lambda x, y: x**y,
    )


# ------------------------------------------------------------------------------ the table

SPECS: tuple[OpSpec, ...] = (
    # ---------------------------------------------------------------- arithmetic
    _binary("add", ew.add, np.add, tensor_fn=lambda a, b: a + b),
    _binary("subtract", ew.subtract, np.subtract, tensor_fn=lambda a, b: a - b),
    _binary("rsub", ew.rsub, lambda a, b: b - a),
    _binary("multiply", ew.multiply, np.multiply, tensor_fn=lambda a, b: a * b),
    _binary(
        "true_divide", ew.true_divide, np.true_divide, REAL, NONZERO, tensor_fn=lambda a, b: a / b
    ),
    _unary("negative", ew.negative, np.negative, tensor_fn=lambda x: -x),
    # Exponents avoid 0: where y == 0 the derivative in x is masked to 0 (as PyTorch masks it,
    # so that 0 ** 0 has a finite gradient), and the mixed derivative d2/dx dy taken through
    # that mask is 0 rather than x ** -1, which finite differences rightly report.
    _binary("power", ew.power, np.power, POSITIVE, NONZERO, tensor_fn=lambda a, b: a**b),
    _powers((0, 2, 3, -1), NONZERO, "power_int_exponent"),
    _powers((0.5, -1.5, 2.5), POSITIVE, "power_float_exponent"),
    OpSpec(
        "power_scalar_base",
        lambda y, base: ew.power(base, y),
        lambda y, base: np.power(base, y),
        (REAL,),
        (Case(((2, 3),), {"base": 2.0}), Case(DRAWN, {"base": 0.5}), Case(((),), {"base": 3.0})),
        tensor_fn=lambda y, base: base**y,
    ),
    OpSpec(
        "remainder",
        ew.remainder,
        np.remainder,
        (LOWER_LATTICE, NONZERO),
        (
            Case(((), ())),
            Case(((4,), (4,))),
            Case(((2, 3), (3,))),
            Case(((2, 3), ())),
            Case(((2, 3), (2, 1))),
        ),
        prepare=_dividend_off_multiples,
        tensor_fn=lambda a, b: a % b,
    ),
    # ---------------------------------------------------------------- transcendental
    _unary("exp", ew.exp, np.exp, tensor_fn=lambda x: x.exp()),
    _unary("expm1", ew.expm1, np.expm1),
    _unary("log", ew.log, np.log, POSITIVE, tensor_fn=lambda x: x.log()),
    _unary("log1p", ew.log1p, np.log1p, ABOVE_MINUS_ONE),
    _unary("sin", ew.sin, np.sin, tensor_fn=lambda x: x.sin()),
    _unary("cos", ew.cos, np.cos),
    _unary("tanh", ew.tanh, np.tanh),
    _unary("sqrt", ew.sqrt, np.sqrt, POSITIVE, tensor_fn=lambda x: x.sqrt()),
    _unary("reciprocal", ew.reciprocal, np.reciprocal, NONZERO),
    _unary("square", ew.square, np.square),
    # ---------------------------------------------------------------- kinks and activations
    _unary("abs", ew.abs, np.abs, NONZERO, tensor_fn=lambda x: abs(x)),
    _unary("sign", ew.sign, np.sign, NONZERO),
    _unary("sigmoid", ew.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    _unary("softplus", ew.softplus, lambda x: np.log1p(np.exp(x))),
    _unary("relu", ew.relu, lambda x: np.maximum(x, 0.0), NONZERO, tensor_fn=lambda x: x.relu()),
    _binary("maximum", ew.maximum, np.maximum, LOWER_LATTICE, UPPER_LATTICE),
    _binary("minimum", ew.minimum, np.minimum, UPPER_LATTICE, LOWER_LATTICE),
    OpSpec(
        "where",
        ew.where,
        np.where,
        (Booleans(), REAL, REAL),
        (
            Case(((3,), (3,), (3,))),
            Case(((2, 3), (3,), (2, 1))),
            Case(((), (2,), ())),
            Case(DRAWN_BROADCAST),
        ),
    ),
    OpSpec(
        "clamp",
        lambda x: F.clamp(x, -1.0, 1.0),
        lambda x: np.clip(x, -1.0, 1.0),
        (AWAY_FROM_UNIT_BOUNDS,),
        (Case(((),)), Case(DRAWN)),
    ),
    _unary("floor", ew.floor, np.floor, LOWER_LATTICE),
    _unary("rint", ew.rint, np.rint, LOWER_LATTICE),
    _unary("rint, upper half", ew.rint, np.rint, UPPER_LATTICE),
    _unary("clone", sh.clone, np.copy),
    OpSpec(
        "copy_from",
        sh.copy_from,
        lambda dst, src: np.broadcast_to(src, dst.shape).astype(dst.dtype),
        (REAL, REAL),
        (Case(((2, 3), (3,))), Case(((3,), ())), Case(((2, 3), (2, 3)))),
    ),
    OpSpec(
        "fill",
        sh.fill,
        lambda x, value: np.full_like(x, value),
        (REAL,),
        (Case(((2, 3),), {"value": 0.0}), Case(((),), {"value": 2.5})),
    ),
    # ---------------------------------------------------------------- reductions
    OpSpec(
        "sum",
        rd.sum,
        np.sum,
        (REAL,),
        _reduction_cases((Case(((2, 3),), {"axis": (), "keepdims": False}),)),
        tensor_fn=lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims),
    ),
    OpSpec(
        "mean",
        rd.mean,
        np.mean,
        (REAL,),
        _reduction_cases(),
        tensor_fn=lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims),
    ),
    OpSpec("amax", rd.amax, np.amax, (REAL,), _reduction_cases(), prepare=_distinct),
    OpSpec("amin", rd.amin, np.amin, (REAL,), _reduction_cases(), prepare=_distinct),
    OpSpec("logsumexp", rd.logsumexp, _logsumexp_ref, (REAL,), _reduction_cases(), rtol=1e-13),
    # ---------------------------------------------------------------- shape
    OpSpec(
        "reshape",
        sh.reshape,
        np.reshape,
        (REAL,),
        (
            Case(((2, 3),), {"shape": (6,)}),
            Case(((2, 3),), {"shape": (3, -1)}),
            Case(((2, 3, 4),), {"shape": (4, 1, 6)}),
            Case(((),), {"shape": (1, 1)}),
            Case(((1,),), {"shape": ()}),
        ),
        tensor_fn=lambda x, shape: x.reshape(*shape),
    ),
    OpSpec(
        "transpose",
        sh.transpose,
        np.transpose,
        (REAL,),
        (
            Case(((2, 3),), {"axes": None}),
            Case(((2, 3, 4),), {"axes": (2, 0, 1)}),
            Case(((2, 3, 4),), {"axes": (-1, 0, 1)}),
            Case(((),), {"axes": ()}),
        ),
    ),
    OpSpec(
        "broadcast_to",
        sh.broadcast_to,
        np.broadcast_to,
        (REAL,),
        (
            Case(((3,),), {"shape": (2, 3)}),
            Case(((2, 1),), {"shape": (2, 4)}),
            Case(((),), {"shape": (2, 2)}),
            Case(((1, 3),), {"shape": (4, 2, 3)}),
        ),
    ),
    OpSpec(
        "expand_dims",
        sh.expand_dims,
        np.expand_dims,
        (REAL,),
        (
            Case(((),), {"axis": 0}),
            Case(((2, 3),), {"axis": -1}),
            Case(((2, 3),), {"axis": (0, 2)}),
        ),
    ),
    OpSpec(
        "squeeze",
        sh.squeeze,
        np.squeeze,
        (REAL,),
        (
            Case(((1, 3, 1),), {"axis": None}),
            Case(((1, 3, 1),), {"axis": -1}),
            Case(((1, 3, 1),), {"axis": (0, 2)}),
            Case(((1,),), {"axis": 0}),
        ),
    ),
    # ---------------------------------------------------------------- indexing
    OpSpec(
        "getitem_basic",
        lambda x, index: ix.getitem(x, index),
        lambda x, index: x[index],
        (REAL,),
        (
            Case(((4,),), {"index": 1}),
            Case(((4,),), {"index": slice(1, 3)}),
            Case(((4,),), {"index": slice(None, None, -2)}),
            Case(((3, 4),), {"index": (slice(None), -1)}),
            Case(((3, 4),), {"index": (1, 2)}),
            Case(((2, 3, 4),), {"index": (Ellipsis, slice(1, None), None)}),
        ),
        tensor_fn=lambda x, index: x[index],
    ),
    OpSpec(
        "getitem_int_array",
        lambda x, index: ix.getitem(x, index),
        lambda x, index: x[index],
        (REAL,),
        (
            Case(((3,),), {"index": np.array([0, 2, 0, 0, 1])}, label="3[rep5]"),
            Case(((3, 4),), {"index": np.array([[2, 2], [0, 2]])}, label="3x4[rep2x2]"),
            Case(
                ((3, 4),),
                {"index": (np.array([0, 0, 1]), np.array([1, 1, 3]))},
                label="3x4[pairs-rep]",
            ),
            Case(((3, 4),), {"index": (slice(None), np.array([3, 3, 0]))}, label="3x4[:,rep]"),
        ),
        tensor_fn=lambda x, index: x[index],
    ),
    OpSpec(
        "getitem_bool_mask",
        lambda x, mask: ix.getitem(x, mask),
        lambda x, mask: x[mask],
        (REAL, Booleans()),
        (Case(((5,), (5,))), Case(((2, 3), (2, 3))), Case(((3, 2), (3,)))),
        tensor_fn=lambda x, mask: x[mask],
    ),
    OpSpec(
        "index_put",
        lambda x, v, index: ix.index_put(x, v, index),
        _index_put_ref,
        (REAL, REAL),
        (
            Case(((4,), (2,)), {"index": slice(1, 3)}),
            Case(((3, 4), ()), {"index": (slice(None), 0)}),
            Case(((3, 4), (4,)), {"index": 1}),
            Case(((4,), (2,)), {"index": np.array([3, 0])}, label="4,2[int2]"),
        ),
    ),
    OpSpec(
        "scatter",
        lambda g, index, shape, basic: ix.scatter(g, index, shape, basic),
        _scatter_ref,
        (REAL,),
        (
            Case(
                ((3,),),
                {"index": np.array([0, 2, 0]), "shape": (4,), "basic": False},
                label="3->4[rep]",
            ),
            Case(((3,),), {"index": 1, "shape": (4, 3), "basic": True}, label="3->4x3[1]"),
        ),
        facade=False,
    ),
    # ---------------------------------------------------------------- linear algebra
    OpSpec(
        "matmul",
        la.matmul,
        np.matmul,
        (REAL, REAL),
        (
            Case(((3,), (3,))),
            Case(((2, 3), (3,))),
            Case(((3,), (3, 4))),
            Case(((2, 3), (3, 4))),
            Case(((5, 2, 3), (5, 3, 4))),
            Case(((5, 2, 3), (3, 4))),
            Case(((2, 1, 2, 3), (4, 3, 2))),
            Case(((3,), (2, 3, 4))),
            Case(((2, 2, 3), (3,))),
        ),
        tensor_fn=lambda a, b: a @ b,
    ),
    # ---------------------------------------------------------------- neural-network ops
    OpSpec(
        "log_softmax",
        nn.log_softmax,
        _log_softmax_ref,
        (REAL,),
        (
            Case(((4,),), {"axis": -1}),
            Case(((2, 3),), {"axis": 0}),
            Case(((2, 3, 4),), {"axis": 1}),
        ),
        rtol=1e-13,
        tensor_fn=lambda x, axis: x.log_softmax(axis),
    ),
    OpSpec(
        "softmax",
        nn.softmax,
        _softmax_ref,
        (REAL,),
        (
            Case(((4,),), {"axis": -1}),
            Case(((2, 3),), {"axis": 0}),
            Case(((2, 3, 4),), {"axis": 1}),
        ),
        rtol=1e-13,
        tensor_fn=lambda x, axis: x.softmax(axis),
    ),
    OpSpec(
        "nll_loss",
        nn.nll_loss,
        _nll_ref,
        (REAL, Integers(0, 2)),
        (
            Case(((4, 3), (4,))),
            Case(((1, 3), (1,)), {"reduction": "sum"}),
            Case(((5, 3), (5,)), {"reduction": "none"}),
            Case(((4, 3), (4,)), {"weight": np.array([0.5, 1.0, 2.0])}, label="4x3,4[weight]"),
            Case(((4, 3), (4,)), {"ignore_index": 1}),
        ),
        prepare=_first_target_counted,
    ),
    OpSpec(
        "binary_cross_entropy_with_logits",
        nn.binary_cross_entropy_with_logits,
        _bce_ref,
        (REAL, UNIT_INTERVAL),
        (
            Case(((3,), (3,))),
            Case(((), ()), {"reduction": "sum"}),
            Case(DRAWN_SAME, {"reduction": "none"}),
            Case(((2, 3), (2, 3)), {"weight": np.array([0.5, 1.0, 2.0])}, label="2x3[weight]"),
            Case(
                ((2, 3), (2, 3)),
                {"pos_weight": np.array([3.0, 1.0, 0.25]), "reduction": "sum"},
                label="2x3[pos_weight,sum]",
            ),
        ),
        rtol=1e-13,
    ),
    # ---------------------------------------------------------------- casts
    OpSpec(
        "astype_float32_to_float64",
        lambda x: sh.astype(x, np.float64),
        lambda x: x.astype(np.float64),
        (REAL,),
        (Case(((),)), Case(DRAWN)),
        dtype=np.float32,
    ),
    OpSpec(
        "astype_float64_to_float32",
        lambda x: sh.astype(x, np.float32),
        lambda x: x.astype(np.float32),
        (REAL,),
        (Case(((),)), Case(DRAWN)),
        dtype=np.float64,
    ),
)


def _family_specs() -> tuple[OpSpec, ...]:
    """Rows kept in per-family modules (``specs_<family>.py`` beside this one)."""
    import importlib
    import pkgutil
    from pathlib import Path

    rows: list[OpSpec] = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("specs_"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            rows.extend(module.SPECS)
    return tuple(rows)


SPECS = SPECS + _family_specs()

_names = [s.name for s in SPECS]
assert len(_names) == len(set(_names)), "duplicate spec names"
