"""Elementwise primitives: arithmetic, powers, exponentials, trigonometry, activations.

Each primitive's rules sit beside it. VJP rules take ``(g, *args, out)``; arguments a rule does
not read (see ``uses``) arrive as ``None``. JVP rules take ``(tangents, *args, out)`` with
``None`` for zero tangents. Broadcasting is un-done by the sweep, not by the rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitive import OUT, Primitive, bind, bind2, binary_op, unary_op

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
    "reciprocal",
    "square",
    "log1p",
    "expm1",
    "softplus",
    "greater",
    "less",
    "equal",
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
) -> Primitive:
    return Primitive(name, fwd, (vjp,), jvp, uses=(uses,), grad_fn=grad_fn, np_fwd=np_fwd)


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
)
# ``2 - x`` is recorded with the tensor first, as PyTorch's rsub: out = b - a.
RSUB = Primitive(
    "rsub",
    lambda xp, a, b: xp.subtract(b, a),
    (lambda g, a, b, out: negative(g), lambda g, a, b, out: g),
    lambda t, a, b, out: _tsum(None if t[0] is None else negative(t[0]), t[1]),
    uses=((), ()),
    grad_fn="RsubBackward1",
    broadcasting=True,
    graph_inputs=(0,),
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
)
NEGATIVE = _unary(
    "neg",
    lambda xp, x: xp.negative(x),
    lambda g, x, out: negative(g),
    lambda t, x, out: negative(t[0]),
    (),
    "NegBackward0",
    "negative",
)


def _pow_grad_base(g: Any, x: Any, y: Any, out: Any) -> Any:
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 0:
            return g * 0
        return g * (y * power(x, y - 1))
    # Where the exponent is 0 the derivative is 0, also at x = 0 (as PyTorch).
    return where(equal(y, 0), 0, g * (y * power(x, y - 1)))


def _pow_grad_exponent(g: Any, x: Any, y: Any, out: Any) -> Any:
    # d/dy x**y = x**y log x; taken as 0 where x = 0 and y >= 0 (as PyTorch).
    at_zero = _raw(equal(x, 0))
    safe = where(at_zero, 1, x)
    return where(at_zero & _raw(greater_equal(y, 0)), 0, g * out * log(safe))


def _pow_name(params: Any) -> str:
    kind = params.get("kind", 1) if params else 1
    return f"PowBackward{kind}"


POWER = Primitive(
    "pow",
    lambda xp, x, y, kind=1: xp.power(x, y),
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
FLOOR = _unary(
    "floor",
    lambda xp, x: xp.floor(x),
    lambda g, x, out: g * 0,
    lambda t, x, out: t[0] * 0,
    (),
    "FloorBackward0",
    "floor",
)

# ---------------------------------------------------------------------- transcendental

EXP = _unary(
    "exp",
    lambda xp, x: xp.exp(x),
    lambda g, x, out: g * out,
    lambda t, x, out: t[0] * out,
    (OUT,),
    "ExpBackward0",
    "exp",
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
    lambda g, x, out: g * (1 - out * out),
    lambda t, x, out: t[0] * (1 - out * out),
    (OUT,),
    "TanhBackward0",
    "tanh",
)
SQRT = _unary(
    "sqrt",
    lambda xp, x: xp.sqrt(x),
    lambda g, x, out: g / (2 * out),
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
    lambda g, x, out: g * (2 * x),
    lambda t, x, out: t[0] * (2 * x),
    (0,),
    "PowBackward0",
    "square",
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
    lambda g, x, out: g * (out * (1 - out)),
    lambda t, x, out: t[0] * (out * (1 - out)),
    (OUT,),
    "SigmoidBackward0",
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
    from ..tensor import Tensor

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
    from ..tensor import Tensor

    return x.data if isinstance(x, Tensor) else x


def _compare(ufunc_name: str, a: Any, b: Any) -> Any:
    from ..backend import namespace
    from ..tensor import Tensor

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


rsub = binary_op(RSUB, "rsub", "``b - a``, recorded as PyTorch's ``rsub`` (the tensor ``a`` first).")


multiply = binary_op(MULTIPLY, "multiply", "``a * b`` with broadcasting.")


true_divide = binary_op(TRUE_DIVIDE, "true_divide", "``a / b`` with broadcasting.")


divide = true_divide


negative = unary_op(NEGATIVE, "negative", "``-x``.")


def power(x: Any, y: Any) -> Any:
    """``x ** y``; the tensor (if any) decides PyTorch's node name (PowBackward0/1/2)."""
    from ..tensor import Tensor

    xt = isinstance(x, Tensor)
    yt = isinstance(y, Tensor)
    kind = 1 if xt and yt else (2 if yt else 0)
    out = bind(POWER, (x, y), {"kind": kind} if kind != 1 else None)
    if xt != yt and isinstance(out, Tensor) and out.dtype == _F64:
        return _torch_promote(out, x if xt else y, y if xt else x)
    return out


_F64 = np.dtype(np.float64)


def _torch_promote(out: Any, tensor: Any, scalar: Any) -> Any:
    """Cast ``tensor ** scalar`` (or the reverse) to the dtype PyTorch gives it."""
    from ..primitive import torch_result_type
    from .shape import astype

    target = torch_result_type(tensor.data, scalar.data if hasattr(scalar, "_slot") else scalar)
    return astype(out, target) if target != out.dtype else out


def remainder(a: Any, b: Any) -> Any:
    """``a % b`` (Python's sign convention, as NumPy and PyTorch)."""
    from ..tensor import Tensor

    if isinstance(a, Tensor) and not isinstance(b, Tensor) and not hasattr(b, "shape"):
        return bind2(REMAINDER_SCALAR, a, b)
    return bind2(REMAINDER, a, b)


floor_divide = binary_op(FLOOR_DIVIDE, "floor_divide", "``a // b``: values only; a backward pass through it raises.")


floor = unary_op(FLOOR, "floor", "Elementwise floor (zero gradient).")


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


sigmoid = unary_op(SIGMOID, "sigmoid", "Logistic sigmoid ``1 / (1 + exp(-x))``, stable for large ``|x|``.")


softplus = unary_op(SOFTPLUS, "softplus", "``log(1 + exp(x))``, stable for large ``|x|``.")


relu = unary_op(RELU, "relu", "``max(x, 0)`` (gradient 0 at 0, as PyTorch).")


maximum = binary_op(MAXIMUM, "maximum", "Elementwise maximum; on ties each side gets half the gradient.")


minimum = binary_op(MINIMUM, "minimum", "Elementwise minimum; on ties each side gets half the gradient.")


def where(condition: Any, a: Any, b: Any) -> Any:
    """``a`` where ``condition`` holds, else ``b`` (broadcast); no gradient to the condition."""
    return bind(WHERE, (_raw(condition), a, b))
