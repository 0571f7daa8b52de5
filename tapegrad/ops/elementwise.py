"""Elementwise primitives: arithmetic, powers, exponentials, trigonometry, activations.

Each primitive's rules sit beside it. VJP rules take ``(g, *args, out)``; arguments a rule does
not read (see ``uses``) arrive as ``None``. JVP rules take ``(tangents, *args, out)`` with
``None`` for zero tangents. Broadcasting is un-done by the sweep, not by the rules.

Where a derivative has a removable singularity or a kink, the rules mask it with the
"double ``where``": the unsafe operand is replaced by a harmless value *before* the division
(``safe = where(c, 1, x)``), so that no ``inf`` or ``NaN`` reaches the recorded graph and
higher derivatives stay finite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import tape as _tape
from ..primitive import OUT, Primitive, binary_op, bind, bind2, unary_op
from ..replay.trace import all_true, any_true
from ..tensor import Tensor

__all__ = [
    "add",
    "subtract",
    "multiply",
    "true_divide",
    "negative",
    "power",
    "exp",
    "log",
    "sin",
    "cos",
    "tanh",
    "sqrt",
    "abs",
    "sign",
    "sigmoid",
    "relu",
    "maximum",
    "minimum",
    "where",
    "remainder",
    "floor_divide",
    "floor",
    "rint",
    "reciprocal",
    "square",
    "log1p",
    "expm1",
    "softplus",
    "greater",
    "less",
    "equal",
    "divide",
    "cbrt",
    "exp2",
    "log2",
    "log10",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "sinh",
    "cosh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "hypot",
    "logaddexp",
    "sinc",
    "clip",
]


def _tsum(*terms: Any) -> Any:
    """Sum of the non-``None`` tangent terms, ``None`` when all are."""
    acc = None
    for t in terms:
        if t is not None:
            acc = t if acc is None else acc + t
    return acc


def _unary(
    name: str,
    fwd: Any,
    vjp: Any,
    jvp: Any,
    uses: tuple[int, ...],
    grad_fn: str,
    np_fwd: str | None = None,
    vjp_into: Any = None,
    vjp_unit: Any = None,
) -> Primitive:
    return Primitive(
        name,
        fwd,
        (vjp,),
        jvp,
        uses=(uses,),
        grad_fn=grad_fn,
        np_fwd=np_fwd,
        vjp_into=None if vjp_into is None else (vjp_into,),
        vjp_unit=None if vjp_unit is None else (vjp_unit,),
    )


# Rules that write into the cotangent ``g`` (see ``Primitive``'s ``vjp_into``): ``g`` is then a
# large floating NumPy array that only the sweep holds.


def _ufunc_into(ufunc: np.ufunc, g: Any, other: Any) -> Any:
    """``ufunc(g, other)``, into ``g`` when the result has ``g``'s shape and dtype."""
    if other.__class__ in (float, int) or (
        other.__class__ is _NDARRAY and other.shape == g.shape and other.dtype == g.dtype
    ):
        return ufunc(g, other, out=g)
    return ufunc(g, other)


def _negated_into(g: Any, *_: Any) -> Any:
    return np.negative(g, out=g)


def _twice_times_into(g: Any, x: Any) -> Any:
    """``g * (2 x)`` (the rule of ``x ** 2``) in two passes over ``g`` and no new array."""
    return _ufunc_into(np.multiply, _ufunc_into(np.multiply, g, x), 2)


def _one_minus_square_np(out: Any) -> Any:
    """``1 - out**2`` of a NumPy array, in one new array."""
    d = np.multiply(out, out)
    return np.subtract(1, d, out=d)


def _times_one_minus_square_into(g: Any, x: Any, out: Any) -> Any:
    """``g * (1 - out**2)`` (the rule of ``tanh``) with one new array instead of two."""
    return _ufunc_into(np.multiply, g, _one_minus_square_np(out))


def _times_out_one_minus_out_into(g: Any, x: Any, out: Any) -> Any:
    """``g * (out * (1 - out))`` (the rule of ``sigmoid``) with one new array instead of two."""
    d = np.subtract(1, out)
    return _ufunc_into(np.multiply, g, np.multiply(d, out, out=d))


_NDARRAY = np.ndarray
_F64 = np.dtype(np.float64)

# Rules for a cotangent of ones (see ``Primitive``'s ``vjp_unit``): ``g`` is then a large
# broadcast view of one element equal to 1, so ``g * v`` is ``v``, exactly.


def _taken(v: Any, g: Any) -> bool:
    """Whether the residual ``v`` may itself become the cotangent ``g * v``: it has ``g``'s
    shape and dtype, and nothing refers to it but the entry's saved tuple.

    ``v`` reaches here from the sweep's ``rule(g, *saved)`` through the rule and one helper,
    which account for the other four references: the call's argument tuple, and the
    parameters of the rule, the helper and this function.
    """
    return (
        v.__class__ is _NDARRAY
        and v.shape == g.shape
        and v.dtype == g.dtype
        and _tape.sole_large(v, holders=5)
    )


def _unit_times(g: Any, v: Any) -> Any:
    """``g * v`` for a cotangent of ones: ``v`` itself where nothing else holds it."""
    return v if _taken(v, g) else g * v


def _unit_one_minus_square(g: Any, out: Any) -> Any:
    """``g * (1 - out**2)`` (the rule of ``tanh``) for a cotangent of ones: ``1 - out**2``,
    computed in ``out`` where nothing else holds it."""
    if _taken(out, g):
        return np.subtract(1, np.multiply(out, out, out=out), out=out)
    if out.shape == g.shape and out.dtype == g.dtype:
        return _one_minus_square_np(out)
    return g * (1 - out * out)


def _unit_out_one_minus_out(g: Any, out: Any) -> Any:
    """``g * (out * (1 - out))`` (the rule of ``sigmoid``) for a cotangent of ones."""
    if out.shape == g.shape and out.dtype == g.dtype:
        d = np.subtract(1, out)
        return np.multiply(d, out, out=d)
    return g * (out * (1 - out))


# ---------------------------------------------------------------------- arithmetic

ADD = Primitive(
    "add",
    lambda xp, a, b: xp.add(a, b),
    (lambda g, a, b, out: g, lambda g, a, b, out: g),
    lambda t, a, b, out: _tsum(t[0], t[1]),
    uses=((), ()),
    grad_fn="AddBackward0",
    broadcasting=True,
    np_fwd="add",
)
SUBTRACT = Primitive(
    "sub",
    lambda xp, a, b: xp.subtract(a, b),
    (lambda g, a, b, out: g, lambda g, a, b, out: negative(g)),
    lambda t, a, b, out: _tsum(t[0], None if t[1] is None else negative(t[1])),
    uses=((), ()),
    grad_fn="SubBackward0",
    broadcasting=True,
    np_fwd="subtract",
    vjp_into=(None, _negated_into),
)


# ``2 - x`` is recorded with the tensor first, as PyTorch's rsub: out = b - a.
def _rsub_np(a: Any, b: Any) -> Any:
    return np.subtract(b, a)


RSUB = Primitive(
    "rsub",
    lambda xp, a, b: xp.subtract(b, a),
    (lambda g, a, b, out: negative(g), lambda g, a, b, out: g),
    lambda t, a, b, out: _tsum(None if t[0] is None else negative(t[0]), t[1]),
    uses=((), ()),
    grad_fn="RsubBackward1",
    broadcasting=True,
    graph_inputs=(0,),
    np_fwd=_rsub_np,
    vjp_into=(_negated_into, None),
)
MULTIPLY = Primitive(
    "mul",
    lambda xp, a, b: xp.multiply(a, b),
    (lambda g, a, b, out: g * b, lambda g, a, b, out: g * a),
    lambda t, a, b, out: _tsum(
        None if t[0] is None else t[0] * b, None if t[1] is None else a * t[1]
    ),
    uses=((1,), (0,)),
    grad_fn="MulBackward0",
    broadcasting=True,
    np_fwd="multiply",
    vjp_into=(
        lambda g, a, b, out: _ufunc_into(np.multiply, g, b),
        lambda g, a, b, out: _ufunc_into(np.multiply, g, a),
    ),
    vjp_unit=(
        lambda g, a, b, out: _unit_times(g, b),
        lambda g, a, b, out: _unit_times(g, a),
    ),
)
TRUE_DIVIDE = Primitive(
    "div",
    lambda xp, a, b: xp.true_divide(a, b),
    (lambda g, a, b, out: g / b, lambda g, a, b, out: negative(g) * a / (b * b)),
    lambda t, a, b, out: _tsum(
        None if t[0] is None else t[0] / b,
        None if t[1] is None else negative(t[1]) * a / (b * b),
    ),
    uses=((1,), (0, 1)),
    grad_fn="DivBackward0",
    broadcasting=True,
    np_fwd="true_divide",
    vjp_into=(lambda g, a, b, out: _ufunc_into(np.true_divide, g, b), None),
)
NEGATIVE = _unary(
    "neg",
    lambda xp, x: xp.negative(x),
    lambda g, x, out: negative(g),
    lambda t, x, out: negative(t[0]),
    (),
    "NegBackward0",
    "negative",
    _negated_into,
)


def _pow_grad_base(g: Any, x: Any, y: Any, out: Any) -> Any:
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 0:
            return g * 0
        if y == 1:
            return g
        if y == 2:
            # y * x ** 1, without the pass that computes x ** 1. Doubling is exact, so the
            # order is free: doubling ``g`` first records one operation, not two, when a
            # recorded sweep hands a constant cotangent (the first sweep of a Hessian).
            return g * 2 * x
        return g * (y * power(x, y - 1))
    # Where the exponent is 0 the derivative is 0, also at x = 0 (as PyTorch).
    return where(equal(y, 0), 0, g * (y * power(x, y - 1)))


def _pow_grad_base_into(g: Any, x: Any, y: Any, out: Any) -> Any:
    if y.__class__ in (int, float) and y == 2:
        return _twice_times_into(g, x)
    return _pow_grad_base(g, x, y, out)


def _pow_grad_exponent(g: Any, x: Any, y: Any, out: Any) -> Any:
    # d/dy x**y = x**y log x; taken as 0 where x = 0 and y >= 0 (as PyTorch).
    if x.__class__ in (int, float):
        # A Python base: its log is a Python number, so no host array meets device data.
        log_x = math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)
        return g * out * log_x
    at_zero = _raw(equal(x, 0))
    safe = where(at_zero, 1, x)
    return where(at_zero & _raw(greater_equal(y, 0)), 0, g * out * log(safe))


def _pow_name(params: Any) -> str:
    kind = params.get("kind", 1) if params else 1
    return f"PowBackward{kind}"


def _pow_fwd(xp: Any, x: Any, y: Any, kind: int = 1) -> Any:
    if y.__class__ in (int, float) and y == 2 and getattr(x, "dtype", _F64).kind in "fc":
        return xp.square(x)  # NumPy's own x ** 2: one multiply, not a call of pow
    return xp.power(x, y)


def _pow_np(x: Any, y: Any) -> Any:
    return _pow_fwd(np, x, y)


POWER = Primitive(
    "pow",
    _pow_fwd,
    (
        lambda g, x, y, out, kind=1: _pow_grad_base(g, x, y, out),
        lambda g, x, y, out, kind=1: _pow_grad_exponent(g, x, y, out),
    ),
    lambda t, x, y, out, kind=1: _tsum(
        None if t[0] is None else _pow_grad_base(t[0], x, y, out),
        None if t[1] is None else _pow_grad_exponent(t[1], x, y, out),
    ),
    uses=((0, 1), (0, 1, OUT)),
    grad_fn=_pow_name,
    broadcasting=True,
    np_fwd=_pow_np,
    vjp_into=(lambda g, x, y, out, kind=1: _pow_grad_base_into(g, x, y, out), None),
    graph_inputs=lambda p: {0: (0,), 1: (0, 1), 2: (1,)}[p.get("kind", 1) if p else 1],
)


def _remainder_fwd(xp: Any, a: Any, b: Any) -> Any:
    return xp.remainder(a, b)


_REMAINDER_RULES = (
    (
        lambda g, a, b, out: g,
        lambda g, a, b, out: negative(g) * floor(true_divide(a, b)),
    ),
    lambda t, a, b, out: _tsum(
        t[0], None if t[1] is None else negative(t[1]) * floor(true_divide(a, b))
    ),
)
# ``x % 2``: PyTorch's scalar overload, a node with one input.
REMAINDER_SCALAR = Primitive(
    "remainder",
    _remainder_fwd,
    *_REMAINDER_RULES,
    uses=((), (0, 1)),
    grad_fn="RemainderBackward0",
    broadcasting=True,
    np_fwd="remainder",
    graph_inputs=(0,),
)
REMAINDER = Primitive(
    "remainder",
    _remainder_fwd,
    (
        lambda g, a, b, out: g,
        lambda g, a, b, out: negative(g) * floor(true_divide(a, b)),
    ),
    lambda t, a, b, out: _tsum(
        t[0], None if t[1] is None else negative(t[1]) * floor(true_divide(a, b))
    ),
    uses=((), (0, 1)),
    grad_fn="RemainderBackward1",
    broadcasting=True,
    np_fwd="remainder",
)


def _not_differentiable(name: str) -> Any:
    def rule(g: Any, *args: Any, **params: Any) -> Any:
        raise RuntimeError(
            f"{name} is not differentiable: its derivative is zero almost everywhere and "
            "undefined at its jumps. Compute it under tg.no_grad() or on detached values."
        )

    return rule


FLOOR_DIVIDE = Primitive(
    "floor_divide",
    lambda xp, a, b: xp.floor_divide(a, b),
    (_not_differentiable("floor division"), _not_differentiable("floor division")),
    None,
    uses=((), ()),
    grad_fn="FloorDivideBackward0",
    broadcasting=True,
    np_fwd="floor_divide",
)


def _rounding(name: str, grad_fn: str) -> Primitive:
    """A rounding to integers, NumPy's function ``name``: piecewise constant, so its
    derivative is zero (as PyTorch takes it at the jumps too)."""
    return _unary(
        name,
        lambda xp, x: getattr(xp, name)(x),
        lambda g, x, out: g * 0,
        lambda t, x, out: t[0] * 0,
        (),
        grad_fn,
        name,
    )


FLOOR = _rounding("floor", "FloorBackward0")
RINT = _rounding("rint", "RoundBackward0")

# ---------------------------------------------------------------------- transcendental

EXP = _unary(
    "exp",
    lambda xp, x: xp.exp(x),
    lambda g, x, out: g * out,
    lambda t, x, out: t[0] * out,
    (OUT,),
    "ExpBackward0",
    "exp",
    lambda g, x, out: _ufunc_into(np.multiply, g, out),
    lambda g, x, out: _unit_times(g, out),
)
EXPM1 = _unary(
    "expm1",
    lambda xp, x: xp.expm1(x),
    lambda g, x, out: g * (out + 1),
    lambda t, x, out: t[0] * (out + 1),
    (OUT,),
    "Expm1Backward0",
    "expm1",
)
LOG = _unary(
    "log",
    lambda xp, x: xp.log(x),
    lambda g, x, out: g / x,
    lambda t, x, out: t[0] / x,
    (0,),
    "LogBackward0",
    "log",
)
LOG1P = _unary(
    "log1p",
    lambda xp, x: xp.log1p(x),
    lambda g, x, out: g / (x + 1),
    lambda t, x, out: t[0] / (x + 1),
    (0,),
    "Log1PBackward0",
    "log1p",
)
SIN = _unary(
    "sin",
    lambda xp, x: xp.sin(x),
    lambda g, x, out: g * cos(x),
    lambda t, x, out: t[0] * cos(x),
    (0,),
    "SinBackward0",
    "sin",
)
COS = _unary(
    "cos",
    lambda xp, x: xp.cos(x),
    lambda g, x, out: negative(g) * sin(x),
    lambda t, x, out: negative(t[0]) * sin(x),
    (0,),
    "CosBackward0",
    "cos",
)
TANH = _unary(
    "tanh",
    lambda xp, x: xp.tanh(x),
    lambda g, x, out: g * (1.0 - out * out),
    lambda t, x, out: t[0] * (1 - out * out),
    (OUT,),
    "TanhBackward0",
    "tanh",
    _times_one_minus_square_into,
    lambda g, x, out: _unit_one_minus_square(g, out),
)
SQRT = _unary(
    "sqrt",
    lambda xp, x: xp.sqrt(x),
    lambda g, x, out: g / (2.0 * out),
    lambda t, x, out: t[0] / (2 * out),
    (OUT,),
    "SqrtBackward0",
    "sqrt",
)
RECIPROCAL = _unary(
    "reciprocal",
    lambda xp, x: xp.reciprocal(x),
    lambda g, x, out: negative(g) * (out * out),
    lambda t, x, out: negative(t[0]) * (out * out),
    (OUT,),
    "ReciprocalBackward0",
    "reciprocal",
)
SQUARE = _unary(
    "square",
    lambda xp, x: xp.square(x),
    lambda g, x, out: g * (2.0 * x),
    lambda t, x, out: t[0] * (2 * x),
    (0,),
    "PowBackward0",
    "square",
    lambda g, x, out: _twice_times_into(g, x),
)
ABS = _unary(
    "abs",
    lambda xp, x: xp.abs(x),
    lambda g, x, out: g * sign(x),
    lambda t, x, out: t[0] * sign(x),
    (0,),
    "AbsBackward0",
    "abs",
)
SIGN = _unary(
    "sign",
    lambda xp, x: xp.sign(x),
    lambda g, x, out: g * 0,
    lambda t, x, out: t[0] * 0,
    (),
    "SignBackward0",
    "sign",
)


def _sigmoid_fwd(xp: Any, x: Any) -> Any:
    # Stable on both tails: exp of a non-positive number only.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


SIGMOID = _unary(
    "sigmoid",
    _sigmoid_fwd,
    lambda g, x, out: g * (out * (1.0 - out)),
    lambda t, x, out: t[0] * (out * (1 - out)),
    (OUT,),
    "SigmoidBackward0",
    vjp_into=_times_out_one_minus_out_into,
    vjp_unit=lambda g, x, out: _unit_out_one_minus_out(g, out),
)


def _softplus_fwd(xp: Any, x: Any) -> Any:
    return xp.logaddexp(x, xp.zeros((), dtype=x.dtype)).astype(x.dtype, copy=False)


SOFTPLUS = _unary(
    "softplus",
    _softplus_fwd,
    lambda g, x, out: g * sigmoid(x),
    lambda t, x, out: t[0] * sigmoid(x),
    (0,),
    "SoftplusBackward0",
)
RELU = _unary(
    "relu",
    lambda xp, x: xp.maximum(x, 0).astype(x.dtype, copy=False),
    lambda g, x, out: g * greater(out, 0),
    lambda t, x, out: t[0] * greater(out, 0),
    (OUT,),
    "ReluBackward0",
)


# ---------------------------------------------------------------------- more transcendental

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

CBRT = _unary(
    "cbrt",
    lambda xp, x: xp.cbrt(x),
    lambda g, x, out: g / (3 * (out * out)),
    lambda t, x, out: t[0] / (3 * (out * out)),
    (OUT,),
    "CbrtBackward0",
    "cbrt",
)
EXP2 = _unary(
    "exp2",
    lambda xp, x: xp.exp2(x),
    lambda g, x, out: g * (out * _LN2),
    lambda t, x, out: t[0] * (out * _LN2),
    (OUT,),
    "Exp2Backward0",
    "exp2",
)
LOG2 = _unary(
    "log2",
    lambda xp, x: xp.log2(x),
    lambda g, x, out: g / (x * _LN2),
    lambda t, x, out: t[0] / (x * _LN2),
    (0,),
    "Log2Backward0",
    "log2",
)
LOG10 = _unary(
    "log10",
    lambda xp, x: xp.log10(x),
    lambda g, x, out: g / (x * _LN10),
    lambda t, x, out: t[0] / (x * _LN10),
    (0,),
    "Log10Backward0",
    "log10",
)
TAN = _unary(
    "tan",
    lambda xp, x: xp.tan(x),
    lambda g, x, out: g * (1.0 + out * out),
    lambda t, x, out: t[0] * (1 + out * out),
    (OUT,),
    "TanBackward0",
    "tan",
)


def _one_minus_square(x: Any) -> Any:
    # (1 - x)(1 + x) rather than 1 - x*x: accurate near |x| = 1.
    return (1 - x) * (1 + x)


ARCSIN = _unary(
    "arcsin",
    lambda xp, x: xp.arcsin(x),
    lambda g, x, out: g / sqrt(_one_minus_square(x)),
    lambda t, x, out: t[0] / sqrt(_one_minus_square(x)),
    (0,),
    "AsinBackward0",
    "arcsin",
)
ARCCOS = _unary(
    "arccos",
    lambda xp, x: xp.arccos(x),
    lambda g, x, out: negative(g) / sqrt(_one_minus_square(x)),
    lambda t, x, out: negative(t[0]) / sqrt(_one_minus_square(x)),
    (0,),
    "AcosBackward0",
    "arccos",
)
ARCTAN = _unary(
    "arctan",
    lambda xp, x: xp.arctan(x),
    lambda g, x, out: g / (1.0 + x * x),
    lambda t, x, out: t[0] / (1 + x * x),
    (0,),
    "AtanBackward0",
    "arctan",
)
SINH = _unary(
    "sinh",
    lambda xp, x: xp.sinh(x),
    lambda g, x, out: g * cosh(x),
    lambda t, x, out: t[0] * cosh(x),
    (0,),
    "SinhBackward0",
    "sinh",
)
COSH = _unary(
    "cosh",
    lambda xp, x: xp.cosh(x),
    lambda g, x, out: g * sinh(x),
    lambda t, x, out: t[0] * sinh(x),
    (0,),
    "CoshBackward0",
    "cosh",
)
# 1 / sqrt(x**2 + 1) as 1 / hypot(x, 1): no overflow of x**2 for large |x|.
ARCSINH = _unary(
    "arcsinh",
    lambda xp, x: xp.arcsinh(x),
    lambda g, x, out: g / hypot(x, 1.0),
    lambda t, x, out: t[0] / hypot(x, 1.0),
    (0,),
    "AsinhBackward0",
    "arcsinh",
)
ARCCOSH = _unary(
    "arccosh",
    lambda xp, x: xp.arccosh(x),
    lambda g, x, out: g / sqrt((x - 1) * (x + 1)),
    lambda t, x, out: t[0] / sqrt((x - 1) * (x + 1)),
    (0,),
    "AcoshBackward0",
    "arccosh",
)
ARCTANH = _unary(
    "arctanh",
    lambda xp, x: xp.arctanh(x),
    lambda g, x, out: g / _one_minus_square(x),
    lambda t, x, out: t[0] / _one_minus_square(x),
    (0,),
    "AtanhBackward0",
    "arctanh",
)


def _arctan2_grad_y(g: Any, y: Any, x: Any, out: Any) -> Any:
    return g * (x / (x * x + y * y))


def _arctan2_grad_x(g: Any, y: Any, x: Any, out: Any) -> Any:
    return g * (negative(y) / (x * x + y * y))


# NumPy's argument order: arctan2(x1, x2) is the angle of the point (x2, x1).
ARCTAN2 = Primitive(
    "arctan2",
    lambda xp, y, x: xp.arctan2(y, x),
    (_arctan2_grad_y, _arctan2_grad_x),
    lambda t, y, x, out: _tsum(
        None if t[0] is None else _arctan2_grad_y(t[0], y, x, out),
        None if t[1] is None else _arctan2_grad_x(t[1], y, x, out),
    ),
    uses=((0, 1), (0, 1)),
    grad_fn="Atan2Backward0",
    broadcasting=True,
    np_fwd="arctan2",
)


def _hypot_share(a: Any, out: Any) -> Any:
    """``a / hypot(a, b)``, taken as 0 at the origin (the subgradient ``norm`` uses)."""
    at_origin = _raw(equal(out, 0))
    if not any_true(at_origin):
        return a / out
    return where(at_origin, 0, a / where(at_origin, 1, out))


HYPOT = Primitive(
    "hypot",
    lambda xp, a, b: xp.hypot(a, b),
    (
        lambda g, a, b, out: g * _hypot_share(a, out),
        lambda g, a, b, out: g * _hypot_share(b, out),
    ),
    lambda t, a, b, out: _tsum(
        None if t[0] is None else t[0] * _hypot_share(a, out),
        None if t[1] is None else t[1] * _hypot_share(b, out),
    ),
    uses=((0, OUT), (1, OUT)),
    grad_fn="HypotBackward0",
    broadcasting=True,
    np_fwd="hypot",
)
# d/da log(e**a + e**b) = sigmoid(a - b): the difference keeps its digits when a and b are
# large (e**(a - out) would lose log 2 against out).
LOGADDEXP = Primitive(
    "logaddexp",
    lambda xp, a, b: xp.logaddexp(a, b),
    (
        lambda g, a, b, out: g * sigmoid(subtract(a, b)),
        lambda g, a, b, out: g * sigmoid(subtract(b, a)),
    ),
    lambda t, a, b, out: _tsum(
        None if t[0] is None else t[0] * sigmoid(subtract(a, b)),
        None if t[1] is None else t[1] * sigmoid(subtract(b, a)),
    ),
    uses=((0, 1), (0, 1)),
    grad_fn="LogaddexpBackward0",
    broadcasting=True,
    np_fwd="logaddexp",
)

#: Below this |pi x| the derivative of sinc is taken from its Taylor series: the closed form
#: (cos(pi x) - sinc(x)) / x cancels there, and the series is exact at 0 (and so are the
#: higher derivatives recorded through it).
_SINC_SERIES_BELOW = 0.25
# Coefficients of d/dv (sin v / v) = v * sum_n c_n v**(2n), c_n = (-1)**(n+1) (2n+2) / (2n+3)!.
_SINC_SERIES = tuple((-1.0) ** (n + 1) * (2 * n + 2) / math.factorial(2 * n + 3) for n in range(6))


def _sinc_derivative(x: Any, out: Any) -> Any:
    """d/dx sinc(x) for NumPy's normalised ``sinc(x) = sin(pi x) / (pi x)``."""
    small = less(abs(_raw(x)), _SINC_SERIES_BELOW / math.pi)
    v = x * math.pi
    if any_true(small):
        u = v * v
        poly = _SINC_SERIES[-1]
        for c in reversed(_SINC_SERIES[:-1]):
            poly = poly * u + c
        series = v * poly * math.pi
        if all_true(small):
            return series
        safe = where(small, 1, x)  # the closed form, finite where it is not used
        return where(small, series, (cos(safe * math.pi) - out) / safe)
    return (cos(v) - out) / x


SINC = _unary(
    "sinc",
    lambda xp, x: xp.sinc(x),
    lambda g, x, out: g * _sinc_derivative(x, out),
    lambda t, x, out: t[0] * _sinc_derivative(x, out),
    (0, OUT),
    "SincBackward0",
    "sinc",
)


# ---------------------------------------------------------------------- clip
# The bounds are positional arguments (arrays, tensors, Python numbers or None for "no bound"),
# so that tensor bounds get gradients. PyTorch's subgradients: the input gets the gradient
# where min <= x <= max (both ends included), a bound where it is the one that is active.


def _clip_fwd(xp: Any, x: Any, lo: Any, hi: Any, scalar: bool = False) -> Any:
    if lo is None and hi is None:
        return xp.array(x, copy=True)
    if lo is None:
        return xp.minimum(x, hi)
    if hi is None:
        return xp.maximum(x, lo)
    return xp.minimum(xp.maximum(x, lo), hi)


def _clip_masks(x: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any]:
    """Boolean masks (raw arrays, or ``None`` when absent) of where the input, the lower and
    the upper bound receive the gradient."""
    xr, lr, hr = _raw(x), _raw(lo), _raw(hi)
    if lr is None and hr is None:
        return None, None, None
    if hr is None:
        return _compare("greater_equal", xr, lr), _compare("less", xr, lr), None
    if lr is None:
        return _compare("less_equal", xr, hr), None, _compare("greater", xr, hr)
    inside = _compare("greater_equal", xr, lr) & _compare("less_equal", xr, hr)
    low = _compare("less", xr, lr) & _compare("less", lr, hr)
    high = _compare("greater", xr, hr) | _compare("less", hr, lr)
    return inside, low, high


def _masked(g: Any, mask: Any) -> Any:
    return g if mask is None else where(mask, g, 0)


CLIP = Primitive(
    "clamp",
    _clip_fwd,
    (
        lambda g, x, lo, hi, out, scalar=False: _masked(g, _clip_masks(x, lo, hi)[0]),
        lambda g, x, lo, hi, out, scalar=False: _masked(g, _clip_masks(x, lo, hi)[1]),
        lambda g, x, lo, hi, out, scalar=False: _masked(g, _clip_masks(x, lo, hi)[2]),
    ),
    lambda t, x, lo, hi, out, scalar=False: _clip_tangent(t, _clip_masks(x, lo, hi)),
    uses=((0, 1, 2), (0, 1, 2), (0, 1, 2)),
    grad_fn=lambda p: "ClampBackward1" if p and p.get("scalar") else "ClampBackward0",
    broadcasting=True,
    graph_inputs=lambda p: (0,) if p and p.get("scalar") else None,
)


def _clip_tangent(t: Any, masks: tuple[Any, Any, Any]) -> Any:
    return _tsum(*(None if ti is None else _masked(ti, m) for ti, m in zip(t, masks)))


def _tie_share(a: Any, b: Any) -> Any:
    """1 where a wins, 0 where b wins, 1/2 on ties (PyTorch splits ties evenly)."""
    return where(greater(a, b), 1.0, where(equal(a, b), 0.5, 0.0))


MAXIMUM = Primitive(
    "maximum",
    lambda xp, a, b: xp.maximum(a, b),
    (
        lambda g, a, b, out: g * _astype_like(_tie_share(a, b), g),
        lambda g, a, b, out: g * _astype_like(_tie_share(b, a), g),
    ),
    lambda t, a, b, out: _tsum(
        None if t[0] is None else t[0] * _astype_like(_tie_share(a, b), t[0]),
        None if t[1] is None else t[1] * _astype_like(_tie_share(b, a), t[1]),
    ),
    uses=((0, 1), (0, 1)),
    grad_fn="MaximumBackward0",
    broadcasting=True,
    np_fwd="maximum",
)
MINIMUM = Primitive(
    "minimum",
    lambda xp, a, b: xp.minimum(a, b),
    (
        lambda g, a, b, out: g * _astype_like(_tie_share(b, a), g),
        lambda g, a, b, out: g * _astype_like(_tie_share(a, b), g),
    ),
    lambda t, a, b, out: _tsum(
        None if t[0] is None else t[0] * _astype_like(_tie_share(b, a), t[0]),
        None if t[1] is None else t[1] * _astype_like(_tie_share(a, b), t[1]),
    ),
    uses=((0, 1), (0, 1)),
    grad_fn="MinimumBackward0",
    broadcasting=True,
    np_fwd="minimum",
)


def _astype_like(mask: Any, like: Any) -> Any:
    """A constant mask in the dtype of ``like`` (masks carry no gradient)."""
    raw = mask.data if isinstance(mask, Tensor) else mask
    dtype = like.dtype
    return raw.astype(dtype, copy=False) if hasattr(raw, "astype") else raw


WHERE = Primitive(
    "where",
    lambda xp, c, a, b: xp.where(c, a, b),
    (
        None,
        lambda g, c, a, b, out: where(c, g, 0),
        lambda g, c, a, b, out: where(c, 0, g),
    ),
    lambda t, c, a, b, out: _where_tangent(c, t[1], t[2]),
    uses=((), (0,), (0,)),
    grad_fn="WhereBackward0",
    broadcasting=True,
    graph_inputs=(1, 2),
)


def _where_tangent(c: Any, ta: Any, tb: Any) -> Any:
    if ta is None and tb is None:
        return None
    return where(c, 0 if ta is None else ta, 0 if tb is None else tb)


# ---------------------------------------------------------------------- comparisons
# Comparisons give boolean results that never require grad: computed on raw data.


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _compare(ufunc_name: str, a: Any, b: Any) -> Any:
    from ..backend import namespace

    if getattr(a, "_batched", False) or getattr(b, "_batched", False):
        from ..batching import compare  # inside vmap: keep the batch axis

        return compare(ufunc_name, a, b)
    ra, rb = _raw(a), _raw(b)
    src = ra if hasattr(ra, "shape") else rb
    xp = namespace(src)
    out = getattr(xp, ufunc_name)(ra, rb)
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Tensor._make(xp.asarray(out))
    return out


def greater(a: Any, b: Any) -> Any:
    """``a > b`` elementwise (no gradient)."""
    return _compare("greater", a, b)


def greater_equal(a: Any, b: Any) -> Any:
    """``a >= b`` elementwise (no gradient)."""
    return _compare("greater_equal", a, b)


def less(a: Any, b: Any) -> Any:
    """``a < b`` elementwise (no gradient)."""
    return _compare("less", a, b)


def less_equal(a: Any, b: Any) -> Any:
    """``a <= b`` elementwise (no gradient)."""
    return _compare("less_equal", a, b)


def equal(a: Any, b: Any) -> Any:
    """``a == b`` elementwise (no gradient)."""
    return _compare("equal", a, b)


def not_equal(a: Any, b: Any) -> Any:
    """``a != b`` elementwise (no gradient)."""
    return _compare("not_equal", a, b)


# ---------------------------------------------------------------------- binding functions


add = binary_op(ADD, "add", "``a + b`` with broadcasting.")


subtract = binary_op(SUBTRACT, "subtract", "``a - b`` with broadcasting.")


rsub = binary_op(
    RSUB, "rsub", "``b - a``, recorded as PyTorch's ``rsub`` (the tensor ``a`` first)."
)


multiply = binary_op(MULTIPLY, "multiply", "``a * b`` with broadcasting.")


true_divide = binary_op(TRUE_DIVIDE, "true_divide", "``a / b`` with broadcasting.")


divide = true_divide


negative = unary_op(NEGATIVE, "negative", "``-x``.")


def power(x: Any, y: Any) -> Any:
    """``x ** y``; the tensor (if any) decides PyTorch's node name (PowBackward0/1/2)."""
    xt = isinstance(x, Tensor)
    yt = isinstance(y, Tensor)
    kind = 1 if xt and yt else (2 if yt else 0)
    out = bind2(POWER, x, y, POW_KINDS[kind])
    if xt != yt and isinstance(out, Tensor) and out.dtype == _F64:
        return _torch_promote(out, x if xt else y, y if xt else x)
    return out


#: ``power``'s parameters by kind: which operand is the tensor (PowBackward0/1/2).
POW_KINDS = ({"kind": 0}, None, {"kind": 2})


def _torch_promote(out: Any, tensor: Any, scalar: Any) -> Any:
    """Cast ``tensor ** scalar`` (or the reverse) to the dtype PyTorch gives it."""
    if scalar.__class__ in (int, float) and tensor.data.dtype == out.dtype:
        return out  # a Python number keeps the tensor's dtype, in PyTorch as in NumPy
    from ..primitive import torch_result_type
    from .shape import astype

    target = torch_result_type(tensor.data, scalar.data if hasattr(scalar, "_slot") else scalar)
    return astype(out, target) if target != out.dtype else out


def remainder(a: Any, b: Any) -> Any:
    """``a % b`` (Python's sign convention, as NumPy and PyTorch)."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and not hasattr(b, "shape"):
        return bind2(REMAINDER_SCALAR, a, b)
    return bind2(REMAINDER, a, b)


floor_divide = binary_op(
    FLOOR_DIVIDE, "floor_divide", "``a // b``: values only; a backward pass through it raises."
)


floor = unary_op(FLOOR, "floor", "Elementwise floor (zero gradient).")
rint = unary_op(RINT, "rint", "Round to the nearest integer, half to even (zero gradient).")


exp = unary_op(EXP, "exp", "Elementwise ``e**x``.")


expm1 = unary_op(EXPM1, "expm1", "Elementwise ``e**x - 1``, accurate near 0.")


log = unary_op(LOG, "log", "Natural logarithm.")


log1p = unary_op(LOG1P, "log1p", "``log(1 + x)``, accurate near 0.")


sin = unary_op(SIN, "sin", "Sine.")


cos = unary_op(COS, "cos", "Cosine.")


tanh = unary_op(TANH, "tanh", "Hyperbolic tangent.")


sqrt = unary_op(SQRT, "sqrt", "Square root (gradient ``inf`` at 0, as PyTorch).")


reciprocal = unary_op(RECIPROCAL, "reciprocal", "``1 / x``.")


square = unary_op(SQUARE, "square", "``x * x``.")


abs = unary_op(ABS, "abs", "Absolute value (gradient 0 at 0, as PyTorch).")


sign = unary_op(SIGN, "sign", "Sign (zero gradient).")


sigmoid = unary_op(
    SIGMOID, "sigmoid", "Logistic sigmoid ``1 / (1 + exp(-x))``, stable for large ``|x|``."
)


softplus = unary_op(SOFTPLUS, "softplus", "``log(1 + exp(x))``, stable for large ``|x|``.")


relu = unary_op(RELU, "relu", "``max(x, 0)`` (gradient 0 at 0, as PyTorch).")


maximum = binary_op(
    MAXIMUM, "maximum", "Elementwise maximum; on ties each side gets half the gradient."
)


minimum = binary_op(
    MINIMUM, "minimum", "Elementwise minimum; on ties each side gets half the gradient."
)


def where(condition: Any, a: Any, b: Any) -> Any:
    """``a`` where ``condition`` holds, else ``b`` (broadcast); no gradient to the condition."""
    return bind(WHERE, (_raw(condition), a, b))


cbrt = unary_op(
    CBRT,
    "cbrt",
    """Cube root, real for negative ``x`` (gradient ``inf`` at 0, as ``sqrt``).

    >>> tg.ops.elementwise.cbrt(np.array([-8.0, 27.0]))
    array([-2.,  3.])
    """,
)


exp2 = unary_op(
    EXP2,
    "exp2",
    """Elementwise ``2**x``.

    >>> tg.ops.elementwise.exp2(np.array([0.0, 3.0]))
    array([1., 8.])
    """,
)


log2 = unary_op(
    LOG2,
    "log2",
    """Base-2 logarithm.

    >>> tg.ops.elementwise.log2(np.array([1.0, 8.0]))
    array([0., 3.])
    """,
)


log10 = unary_op(
    LOG10,
    "log10",
    """Base-10 logarithm.

    >>> tg.ops.elementwise.log10(np.array([1.0, 100.0]))
    array([0., 2.])
    """,
)


tan = unary_op(
    TAN,
    "tan",
    """Tangent; the derivative ``1 + tan(x)**2`` reuses the output.

    >>> tg.grad(lambda x: tg.ops.elementwise.tan(x))(np.array(0.0))
    array(1.)
    """,
)


arcsin = unary_op(
    ARCSIN,
    "arcsin",
    """Inverse sine on ``[-1, 1]`` (derivative ``1 / sqrt(1 - x**2)``).

    >>> tg.grad(lambda x: tg.ops.elementwise.arcsin(x))(np.array(0.0))
    array(1.)
    """,
)


arccos = unary_op(
    ARCCOS,
    "arccos",
    """Inverse cosine on ``[-1, 1]`` (derivative ``-1 / sqrt(1 - x**2)``).

    >>> tg.grad(lambda x: tg.ops.elementwise.arccos(x))(np.array(0.0))
    array(-1.)
    """,
)


arctan = unary_op(
    ARCTAN,
    "arctan",
    """Inverse tangent (derivative ``1 / (1 + x**2)``).

    >>> tg.grad(lambda x: tg.ops.elementwise.arctan(x))(np.array(1.0))
    array(0.5)
    """,
)


arctan2 = binary_op(
    ARCTAN2,
    "arctan2",
    """Angle of the point ``(x2, x1)``, NumPy's ``arctan2(x1, x2)``, with broadcasting.

    The gradients are ``x2 / r**2`` and ``-x1 / r**2`` with ``r = hypot(x1, x2)``; at the origin,
    where the angle jumps, they are ``NaN`` (as in PyTorch).

    >>> tg.grad(lambda y: tg.ops.elementwise.arctan2(y, 1.0))(np.array(0.0))
    array(1.)
    """,
)


sinh = unary_op(
    SINH,
    "sinh",
    """Hyperbolic sine.

    >>> tg.grad(lambda x: tg.ops.elementwise.sinh(x))(np.array(0.0))
    array(1.)
    """,
)


cosh = unary_op(
    COSH,
    "cosh",
    """Hyperbolic cosine.

    >>> tg.grad(lambda x: tg.ops.elementwise.cosh(x))(np.array(0.0))
    array(0.)
    """,
)


arcsinh = unary_op(
    ARCSINH,
    "arcsinh",
    """Inverse hyperbolic sine (derivative ``1 / hypot(x, 1)``, no overflow for large ``x``).

    >>> tg.grad(lambda x: tg.ops.elementwise.arcsinh(x))(np.array(0.0))
    array(1.)
    """,
)


arccosh = unary_op(
    ARCCOSH,
    "arccosh",
    """Inverse hyperbolic cosine on ``[1, inf)`` (derivative ``1 / sqrt(x**2 - 1)``).

    >>> tg.ops.elementwise.arccosh(np.array([1.0]))
    array([0.])
    """,
)


arctanh = unary_op(
    ARCTANH,
    "arctanh",
    """Inverse hyperbolic tangent on ``(-1, 1)`` (derivative ``1 / (1 - x**2)``).

    >>> tg.grad(lambda x: tg.ops.elementwise.arctanh(x))(np.array(0.5))
    array(1.33333333)
    """,
)


hypot = binary_op(
    HYPOT,
    "hypot",
    """``sqrt(a**2 + b**2)`` without overflow, with broadcasting.

    The gradients are ``a / hypot`` and ``b / hypot``; at the origin, where ``hypot`` has a
    cone (as ``norm`` of a 2-vector), both are 0, the subgradient ``norm`` takes (PyTorch's
    ``hypot`` gives ``NaN`` there).

    >>> tg.ops.elementwise.hypot(np.array([3.0]), np.array([4.0]))
    array([5.])
    >>> tg.grad(lambda a: tg.ops.elementwise.hypot(a, 4.0))(np.array(3.0))
    array(0.6)
    """,
)


logaddexp = binary_op(
    LOGADDEXP,
    "logaddexp",
    """``log(exp(a) + exp(b))`` computed stably, with broadcasting.

    >>> tg.ops.elementwise.logaddexp(np.array([1000.0]), np.array([1000.0]))
    array([1000.69314718])
    >>> tg.grad(lambda a: tg.ops.elementwise.logaddexp(a, 0.0))(np.array(0.0))
    array(0.5)
    """,
)


sinc = unary_op(
    SINC,
    "sinc",
    """NumPy's normalised sinc, ``sin(pi x) / (pi x)``, equal to 1 at 0.

    The derivative is ``(cos(pi x) - sinc(x)) / x``, taken from its Taylor series near 0, so it
    is exact there (0 at 0) and so are the higher derivatives (``-pi**2 / 3`` at 0).

    >>> tg.ops.elementwise.sinc(np.array([0.0, 0.5]))
    array([1.        , 0.63661977])
    >>> tg.grad(tg.grad(lambda x: tg.ops.elementwise.sinc(x)))(np.array(0.0))
    array(-3.28986813)
    """,
)


def _is_tensor(v: Any) -> bool:
    return isinstance(v, Tensor)


def clip(
    a: Any,
    a_min: Any = None,
    a_max: Any = None,
    out: None = None,
    *,
    min: Any = None,  # noqa: A002 - NumPy's keyword
    max: Any = None,  # noqa: A002 - NumPy's keyword
) -> Any:
    """Limit the values of ``a`` to ``[a_min, a_max]`` (NumPy's ``clip``, PyTorch's ``clamp``).

    Parameters
    ----------
    a : array_like or Tensor
        The values.
    a_min, a_max : scalar, array_like, Tensor or None
        The bounds, broadcast against ``a``; ``None`` means no bound on that side. Tensor bounds
        receive gradients. ``min=`` and ``max=`` are NumPy's keyword aliases.
    out : None
        Not supported: results are new arrays.

    Returns
    -------
    array or Tensor
        ``minimum(maximum(a, a_min), a_max)``: where ``a_min > a_max`` every value is
        ``a_max``, as in NumPy and PyTorch.

    Notes
    -----
    The gradients are PyTorch's: ``a`` gets the incoming gradient where
    ``a_min <= a <= a_max`` (bounds included), ``a_min`` where ``a < a_min < a_max``, and
    ``a_max`` where ``a > a_max`` or ``a_max < a_min``.

    Examples
    --------
    >>> tg.ops.elementwise.clip(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0)
    array([-1. ,  0.5,  1. ])
    >>> tg.grad(lambda x: tg.ops.elementwise.clip(x, -1.0, 1.0).sum())(np.array([-2.0, 1.0, 3.0]))
    array([0., 1., 0.])
    """
    if out is not None:
        raise TypeError("clip: out= is not supported; tapegrad operations return new arrays")
    if min is not None or max is not None:
        if a_min is not None or a_max is not None:
            raise ValueError(
                "Passing `min` or `max` keyword argument when `a_min` and `a_max` are provided "
                "is forbidden."
            )
        a_min, a_max = min, max
    scalar = not (_is_tensor(a_min) or _is_tensor(a_max))
    return bind(CLIP, (a, a_min, a_max), {"scalar": True} if scalar else None)
