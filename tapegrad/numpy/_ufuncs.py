"""NumPy's elementwise functions (its ufuncs) over the ops-level primitives.

Each function takes NumPy's arguments (``out=None``, ``dtype=``) and returns an array for
arrays and a tensor for tensors. Differentiable ones bind the primitive named in the name
table (:mod:`tapegrad.numpy._names`); a few are compositions of primitives (``ceil``,
``trunc``, ``rint``, ``degrees``, ``logaddexp2``...). Comparisons, logical and ``is*``
functions give values only: booleans never require grad.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import batching as _b
from ..tensor import Tensor
from ._common import cast, get, no_out, operand, raw, shape_of, values_only

__all__ = [
    "negative", "square", "sqrt", "cbrt", "reciprocal", "sign", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "floor", "absolute", "abs", "fabs", "add",
    "subtract", "multiply", "true_divide", "divide", "floor_divide", "remainder", "mod",
    "power", "pow", "maximum", "minimum", "arctan2", "hypot", "logaddexp", "acos", "asin",
    "atan", "acosh", "asinh", "atanh", "atan2", "positive", "ceil", "trunc", "fix", "rint",
    "round", "around", "deg2rad", "radians", "rad2deg", "degrees", "logaddexp2", "float_power",
    "matmul", "vecdot", "matvec", "vecmat", "greater", "greater_equal", "less", "less_equal",
    "equal", "not_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and",
    "bitwise_or", "bitwise_xor", "logical_not", "invert", "bitwise_invert", "bitwise_not",
    "isnan", "isinf", "isfinite", "signbit",
]  # fmt: skip

# ---------------------------------------------------------------------------- docstrings

# name: (argument, NumPy's result)
_UNARY_EXAMPLES: dict[str, tuple[str, str]] = {
    "negative": ("[1.0, -2.0]", "array([-1.,  2.])"),
    "square": ("[1.0, -2.0]", "array([1., 4.])"),
    "sqrt": ("[1.0, 4.0]", "array([1., 2.])"),
    "cbrt": ("[-8.0, 27.0]", "array([-2.,  3.])"),
    "reciprocal": ("[2.0, 4.0]", "array([0.5 , 0.25])"),
    "sign": ("[-3.0, 0.0, 2.0]", "array([-1.,  0.,  1.])"),
    "exp": ("[0.0, 1.0]", "array([1.        , 2.71828183])"),
    "exp2": ("[1.0, 3.0]", "array([2., 8.])"),
    "expm1": ("[0.0, 1e-10]", "array([0.e+00, 1.e-10])"),
    "log": ("[1.0, np.e]", "array([0., 1.])"),
    "log2": ("[1.0, 8.0]", "array([0., 3.])"),
    "log10": ("[1.0, 100.0]", "array([0., 2.])"),
    "log1p": ("[0.0, 1e-10]", "array([0.e+00, 1.e-10])"),
    "sin": ("[0.0, np.pi / 2]", "array([0., 1.])"),
    "cos": ("[0.0, np.pi]", "array([ 1., -1.])"),
    "tan": ("[0.0, np.pi / 4]", "array([0., 1.])"),
    "arcsin": ("[0.0, 1.0]", "array([0.        , 1.57079633])"),
    "arccos": ("[1.0, 0.0]", "array([0.        , 1.57079633])"),
    "arctan": ("[0.0, 1.0]", "array([0.        , 0.78539816])"),
    "sinh": ("[0.0, 1.0]", "array([0.        , 1.17520119])"),
    "cosh": ("[0.0, 1.0]", "array([1.        , 1.54308063])"),
    "tanh": ("[0.0, 1.0]", "array([0.        , 0.76159416])"),
    "arcsinh": ("[0.0, 1.0]", "array([0.        , 0.88137359])"),
    "arccosh": ("[1.0, 2.0]", "array([0.       , 1.3169579])"),
    "arctanh": ("[0.0, 0.5]", "array([0.        , 0.54930614])"),
    "floor": ("[-1.5, 2.5]", "array([-2.,  2.])"),
    "absolute": ("[-1.5, 2.0]", "array([1.5, 2. ])"),
    "fabs": ("[-1.5, 2.0]", "array([1.5, 2. ])"),
    "positive": ("[-1.5, 2.0]", "array([-1.5,  2. ])"),
    "ceil": ("[-1.5, 2.5]", "array([-1.,  3.])"),
    "trunc": ("[-1.5, 2.5]", "array([-1.,  2.])"),
    "rint": ("[0.5, 1.5, 2.5]", "array([0., 2., 2.])"),
    "deg2rad": ("[180.0]", "array([3.14159265])"),
    "rad2deg": ("[np.pi]", "array([180.])"),
}
# name: (first argument, second argument, NumPy's result)
_BINARY_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "add": ("[1.0, 2.0]", "10.0", "array([11., 12.])"),
    "subtract": ("[1.0, 2.0]", "10.0", "array([-9., -8.])"),
    "multiply": ("[1.0, 2.0]", "10.0", "array([10., 20.])"),
    "true_divide": ("[1.0, 2.0]", "4.0", "array([0.25, 0.5 ])"),
    "floor_divide": ("[7.0, -7.0]", "2.0", "array([ 3., -4.])"),
    "remainder": ("[7.0, -7.0]", "3.0", "array([1., 2.])"),
    "power": ("[2.0, 3.0]", "2.0", "array([4., 9.])"),
    "float_power": ("[2.0, 3.0]", "2.0", "array([4., 9.])"),
    "maximum": ("[1.0, 5.0]", "3.0", "array([3., 5.])"),
    "minimum": ("[1.0, 5.0]", "3.0", "array([1., 3.])"),
    "arctan2": ("[1.0, -1.0]", "1.0", "array([ 0.78539816, -0.78539816])"),
    "hypot": ("[3.0, 5.0]", "4.0", "array([5.        , 6.40312424])"),
    "logaddexp": ("[0.0, 1.0]", "0.0", "array([0.69314718, 1.31326169])"),
    "logaddexp2": ("[0.0, 1.0]", "0.0", "array([1.       , 1.5849625])"),
}

_OUT_DOC = """out : None
        Must be ``None``: tapegrad does not write into out arrays (``TypeError``).
    dtype : dtype, optional
        Cast the input(s) to this dtype first (recorded, so gradients flow back)."""


def _doc(name: str, summary: str, source: str, nargs: int, notes: str = "") -> str:
    if nargs == 1:
        arg, result = _UNARY_EXAMPLES[name]
        params = "x : array_like or Tensor\n        The input."
        example = f">>> tnp.{name}(np.array({arg}))\n    {result}"
    else:
        a, b, result = _BINARY_EXAMPLES[name]
        params = "x1, x2 : array_like, Tensor or scalar\n        The inputs, broadcast together."
        example = f">>> tnp.{name}(np.array({a}), {b})\n    {result}"
    notes_doc = f"\n\n    Notes\n    -----\n    {notes}" if notes else ""
    return f"""{summary}

    NumPy's ``numpy.{name}`` over {source}: an array for arrays, a tensor (recorded on the
    tape) when an input is a tensor.

    Parameters
    ----------
    {params}
    {_OUT_DOC}

    Returns
    -------
    ndarray or Tensor{notes_doc}

    Examples
    --------
    {example}
    """


def _named(fn: Callable[..., Any], name: str, doc: str) -> Callable[..., Any]:
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = "tapegrad.numpy"
    fn.__doc__ = doc
    return fn


# ---------------------------------------------------------------------------- factories


def _unary(name: str, key: str, summary: str, notes: str = "") -> Callable[..., Any]:
    op = get(key)

    def fn(x: ArrayLike | Tensor, /, out: None = None, *, dtype: DTypeLike | None = None) -> Any:
        if out is not None:
            no_out(out, name)
        return op(cast(operand(x), dtype))

    return _named(fn, name, _doc(name, summary, f"``tapegrad.ops.{key}``", 1, notes))


def _binary(name: str, key: str, summary: str, notes: str = "") -> Callable[..., Any]:
    op = get(key)

    def fn(
        x1: ArrayLike | Tensor,
        x2: ArrayLike | Tensor,
        /,
        out: None = None,
        *,
        dtype: DTypeLike | None = None,
    ) -> Any:
        if out is not None:
            no_out(out, name)
        return op(cast(operand(x1), dtype), cast(operand(x2), dtype))

    return _named(fn, name, _doc(name, summary, f"``tapegrad.ops.{key}``", 2, notes))


def _composed1(name: str, summary: str, body: Callable[[Any], Any], notes: str = "") -> Any:
    def fn(x: ArrayLike | Tensor, /, out: None = None, *, dtype: DTypeLike | None = None) -> Any:
        if out is not None:
            no_out(out, name)
        return body(cast(operand(x), dtype))

    return _named(fn, name, _doc(name, summary, "tapegrad's primitives", 1, notes))


def _composed2(name: str, summary: str, body: Callable[[Any, Any], Any], notes: str = "") -> Any:
    def fn(
        x1: ArrayLike | Tensor,
        x2: ArrayLike | Tensor,
        /,
        out: None = None,
        *,
        dtype: DTypeLike | None = None,
    ) -> Any:
        if out is not None:
            no_out(out, name)
        return body(cast(operand(x1), dtype), cast(operand(x2), dtype))

    return _named(fn, name, _doc(name, summary, "tapegrad's primitives", 2, notes))


# ---------------------------------------------------------------------------- differentiable

negative = _unary("negative", "elementwise.negative", "Numerical negative, ``-x``.")
square = _unary("square", "elementwise.square", "``x * x``, elementwise.")
sqrt = _unary("sqrt", "elementwise.sqrt", "Non-negative square root, elementwise.")
cbrt = _unary("cbrt", "elementwise.cbrt", "Cube root, elementwise (real for negative ``x``).")
reciprocal = _unary("reciprocal", "elementwise.reciprocal", "``1 / x``, elementwise.")
sign = _unary("sign", "elementwise.sign", "Sign of ``x`` (-1, 0 or 1); zero gradient.")
exp = _unary("exp", "elementwise.exp", "Exponential ``e**x``, elementwise.")
exp2 = _unary("exp2", "elementwise.exp2", "``2**x``, elementwise.")
expm1 = _unary("expm1", "elementwise.expm1", "``exp(x) - 1``, accurate near 0.")
log = _unary("log", "elementwise.log", "Natural logarithm, elementwise.")
log2 = _unary("log2", "elementwise.log2", "Base-2 logarithm, elementwise.")
log10 = _unary("log10", "elementwise.log10", "Base-10 logarithm, elementwise.")
log1p = _unary("log1p", "elementwise.log1p", "``log(1 + x)``, accurate near 0.")
sin = _unary("sin", "elementwise.sin", "Sine, elementwise (radians).")
cos = _unary("cos", "elementwise.cos", "Cosine, elementwise (radians).")
tan = _unary("tan", "elementwise.tan", "Tangent, elementwise (radians).")
arcsin = _unary("arcsin", "elementwise.arcsin", "Inverse sine, elementwise.")
arccos = _unary("arccos", "elementwise.arccos", "Inverse cosine, elementwise.")
arctan = _unary("arctan", "elementwise.arctan", "Inverse tangent, elementwise.")
sinh = _unary("sinh", "elementwise.sinh", "Hyperbolic sine, elementwise.")
cosh = _unary("cosh", "elementwise.cosh", "Hyperbolic cosine, elementwise.")
tanh = _unary("tanh", "elementwise.tanh", "Hyperbolic tangent, elementwise.")
arcsinh = _unary("arcsinh", "elementwise.arcsinh", "Inverse hyperbolic sine, elementwise.")
arccosh = _unary("arccosh", "elementwise.arccosh", "Inverse hyperbolic cosine, elementwise.")
arctanh = _unary("arctanh", "elementwise.arctanh", "Inverse hyperbolic tangent, elementwise.")
floor = _unary("floor", "elementwise.floor", "Floor, elementwise; zero gradient.")
absolute = _unary(
    "absolute", "elementwise.abs", "Absolute value, elementwise (gradient 0 at 0, as PyTorch)."
)
abs = absolute  # noqa: A001 - NumPy's alias
fabs = _unary("fabs", "elementwise.abs", "Absolute value of real numbers, elementwise.")

add = _binary("add", "elementwise.add", "``x1 + x2``, elementwise, with broadcasting.")
subtract = _binary("subtract", "elementwise.subtract", "``x1 - x2``, elementwise.")
multiply = _binary("multiply", "elementwise.multiply", "``x1 * x2``, elementwise.")
true_divide = _binary("true_divide", "elementwise.true_divide", "``x1 / x2``, elementwise.")
divide = true_divide
floor_divide = _binary(
    "floor_divide",
    "elementwise.floor_divide",
    "``x1 // x2``, elementwise.",
    "Values only on tensors: a backward pass through it raises ``RuntimeError``, as PyTorch's "
    "``//`` does.",
)
remainder = _binary(
    "remainder", "elementwise.remainder", "``x1 % x2`` with the sign of ``x2``, elementwise."
)
mod = remainder
power = _binary("power", "elementwise.power", "``x1 ** x2``, elementwise.")
pow = power  # noqa: A001 - NumPy's alias
maximum = _binary(
    "maximum",
    "elementwise.maximum",
    "Elementwise maximum; on ties each input gets half the gradient (as PyTorch).",
)
minimum = _binary(
    "minimum",
    "elementwise.minimum",
    "Elementwise minimum; on ties each input gets half the gradient (as PyTorch).",
)
arctan2 = _binary("arctan2", "elementwise.arctan2", "Angle of the point ``(x2, x1)``, elementwise.")
hypot = _binary("hypot", "elementwise.hypot", "``sqrt(x1**2 + x2**2)``, elementwise.")
logaddexp = _binary(
    "logaddexp", "elementwise.logaddexp", "``log(exp(x1) + exp(x2))``, computed stably."
)

# NumPy 2's Array API aliases.
acos, asin, atan = arccos, arcsin, arctan
acosh, asinh, atanh = arccosh, arcsinh, arctanh
atan2 = arctan2


def _positive(x: Any) -> Any:
    # The identity; a copy for arrays, as NumPy returns a new array.
    return x if isinstance(x, Tensor) else np.positive(x)


positive = _composed1("positive", "``+x``: the values unchanged.", _positive)


def _ceil(x: Any) -> Any:
    return get("elementwise.negative")(get("elementwise.floor")(get("elementwise.negative")(x)))


ceil = _composed1(
    "ceil", "Ceiling, elementwise; zero gradient.", _ceil, "Computed as ``-floor(-x)``."
)


def _trunc(x: Any) -> Any:
    nonneg = raw(x) >= 0 if not isinstance(x, Tensor) or not x._batched else x >= 0
    return get("elementwise.where")(nonneg, get("elementwise.floor")(x), _ceil(x))


trunc = _composed1("trunc", "Round towards zero, elementwise; zero gradient.", _trunc)
fix = trunc


def _rint(x: Any) -> Any:
    return get("elementwise.rint")(x)


rint = _composed1("rint", "Round to the nearest integer (half to even); zero gradient.", _rint)


def round(  # noqa: A001 - NumPy's name
    a: ArrayLike | Tensor, decimals: int = 0, out: None = None
) -> Any:
    """Round to ``decimals`` decimal places (half to even), as ``numpy.round``; zero gradient.

    Parameters
    ----------
    a : array_like or Tensor
    decimals : int
        Decimal places (negative rounds to tens, hundreds, ...).
    out : None
        Must be ``None``.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.round(np.array([1.25, 2.5, 123.0]), 1)
    array([  1.2,   2.5, 123. ])
    """
    no_out(out, "round")
    a = operand(a)
    if decimals == 0:
        return _rint(a)
    scale = 10.0**decimals
    mul = get("elementwise.multiply")
    return get("elementwise.true_divide")(_rint(mul(a, scale)), scale)


around = round

_DEG = 180.0 / math.pi
deg2rad = _composed1(
    "deg2rad", "Degrees to radians.", lambda x: get("elementwise.multiply")(x, 1 / _DEG)
)
radians = deg2rad
rad2deg = _composed1(
    "rad2deg", "Radians to degrees.", lambda x: get("elementwise.multiply")(x, _DEG)
)
degrees = rad2deg

_LN2 = math.log(2.0)


def _logaddexp2(a: Any, b: Any) -> Any:
    mul = get("elementwise.multiply")
    return mul(get("elementwise.logaddexp")(mul(a, _LN2), mul(b, _LN2)), 1 / _LN2)


logaddexp2 = _composed2("logaddexp2", "``log2(2**x1 + 2**x2)``, computed stably.", _logaddexp2)


def _float_power(a: Any, b: Any) -> Any:
    def widen(v: Any) -> Any:
        if hasattr(v, "dtype"):
            target = np.complex128 if v.dtype.kind == "c" else np.float64
            return cast(v, target)
        return v

    return get("elementwise.power")(widen(a), widen(b))


float_power = _composed2(
    "float_power", "``x1 ** x2`` computed in float64 (complex128 for complex).", _float_power
)


def matmul(
    x1: ArrayLike | Tensor,
    x2: ArrayLike | Tensor,
    /,
    out: None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Any:
    """Matrix product with NumPy's rules for 1-D and stacked (broadcast) operands.

    Parameters
    ----------
    x1, x2 : array_like or Tensor
        Not scalars; the last axis of ``x1`` must match the second-to-last of ``x2`` (or its
        only axis), else ``ValueError`` naming both shapes.
    out : None
        Must be ``None``.
    dtype : dtype, optional
        Cast the inputs first.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.matmul(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    no_out(out, "matmul")
    return get("linalg.matmul")(cast(operand(x1), dtype), cast(operand(x2), dtype))


def _real_only(name: str, *xs: Any) -> None:
    for x in xs:
        if getattr(x, "dtype", np.dtype(float)).kind == "c":
            raise NotImplementedError(f"tapegrad.numpy.{name}: complex inputs are not supported")


def vecdot(
    x1: ArrayLike | Tensor,
    x2: ArrayLike | Tensor,
    /,
    out: None = None,
    *,
    axis: int = -1,
    dtype: DTypeLike | None = None,
) -> Any:
    """Dot product of vectors along ``axis`` (broadcasting the other axes), real inputs.

    Parameters
    ----------
    x1, x2 : array_like or Tensor
    out : None
        Must be ``None``.
    axis : int
        The axis holding the vectors.
    dtype : dtype, optional
        Cast the inputs first.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> tnp.vecdot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    array([3., 7.])
    """
    no_out(out, "vecdot")
    a, b = cast(operand(x1), dtype), cast(operand(x2), dtype)
    _real_only("vecdot", a, b)
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb or sa[axis] != sb[axis]:
        raise ValueError(
            f"vecdot: the vectors along axis {axis} differ in length: shapes {sa} and {sb}"
        )
    return get("reduce.sum")(get("elementwise.multiply")(a, b), axis=axis)


def matvec(
    x1: ArrayLike | Tensor,
    x2: ArrayLike | Tensor,
    /,
    out: None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Any:
    """Matrix-vector product ``x1 @ x2`` over stacks: ``(..., m, n)`` and ``(..., n)``.

    Parameters
    ----------
    x1, x2 : array_like or Tensor
    out : None
        Must be ``None``.
    dtype : dtype, optional
        Cast the inputs first.

    Returns
    -------
    ndarray or Tensor
        Shape ``(..., m)``.

    Examples
    --------
    >>> tnp.matvec(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    array([3., 7.])
    """
    no_out(out, "matvec")
    a, b = cast(operand(x1), dtype), cast(operand(x2), dtype)
    _real_only("matvec", a, b)
    col = get("shape.expand_dims")(b, -1)
    return get("shape.squeeze")(get("linalg.matmul")(a, col), -1)


def vecmat(
    x1: ArrayLike | Tensor,
    x2: ArrayLike | Tensor,
    /,
    out: None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Any:
    """Vector-matrix product ``x1 @ x2`` over stacks: ``(..., n)`` and ``(..., n, m)``.

    Parameters
    ----------
    x1, x2 : array_like or Tensor
    out : None
        Must be ``None``.
    dtype : dtype, optional
        Cast the inputs first.

    Returns
    -------
    ndarray or Tensor
        Shape ``(..., m)``.

    Examples
    --------
    >>> tnp.vecmat(np.array([1.0, 1.0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([4., 6.])
    """
    no_out(out, "vecmat")
    a, b = cast(operand(x1), dtype), cast(operand(x2), dtype)
    _real_only("vecmat", a, b)
    row = get("shape.expand_dims")(a, -2)
    return get("shape.squeeze")(get("linalg.matmul")(row, b), -2)


# ---------------------------------------------------------------------------- values only

_VALUE_DOC = """{summary}

    Values only: the result never requires grad (a tensor when an input is a tensor).

    Parameters
    ----------
    {params}
    out : None
        Must be ``None``.

    Returns
    -------
    ndarray or Tensor

    Examples
    --------
    >>> {example}
    {result}
    """


def _value1(name: str, summary: str, example: str, result: str) -> Callable[..., Any]:
    def fn(x: ArrayLike | Tensor, /, out: None = None) -> Any:
        if out is not None:
            no_out(out, name)
        x = operand(x)
        if not isinstance(x, Tensor):
            return getattr(np, name)(x)
        from ..backend import namespace

        return values_only(lambda r: getattr(namespace(r), name)(r), name, x, elementwise=True)

    doc = _VALUE_DOC.format(
        summary=summary, params="x : array_like or Tensor", example=example, result=result
    )
    return _named(fn, name, doc)


def _value2(name: str, summary: str, example: str, result: str) -> Callable[..., Any]:
    def fn(x1: ArrayLike | Tensor, x2: ArrayLike | Tensor, /, out: None = None) -> Any:
        if out is not None:
            no_out(out, name)
        x1, x2 = operand(x1), operand(x2)
        if not isinstance(x1, Tensor) and not isinstance(x2, Tensor):
            return getattr(np, name)(x1, x2)
        return _b.compare(name, x1, x2)

    doc = _VALUE_DOC.format(
        summary=summary,
        params="x1, x2 : array_like, Tensor or scalar\n        Broadcast together.",
        example=example,
        result=result,
    )
    return _named(fn, name, doc)


_X = "np.array([1.0, 2.0, 3.0])"
greater = _value2(
    "greater", "``x1 > x2``.", f"tnp.greater({_X}, 2)", "array([False, False,  True])"
)
greater_equal = _value2(
    "greater_equal", "``x1 >= x2``.", f"tnp.greater_equal({_X}, 2)", "array([False,  True,  True])"
)
less = _value2("less", "``x1 < x2``.", f"tnp.less({_X}, 2)", "array([ True, False, False])")
less_equal = _value2(
    "less_equal", "``x1 <= x2``.", f"tnp.less_equal({_X}, 2)", "array([ True,  True, False])"
)
equal = _value2("equal", "``x1 == x2``.", f"tnp.equal({_X}, 2)", "array([False,  True, False])")
not_equal = _value2(
    "not_equal", "``x1 != x2``.", f"tnp.not_equal({_X}, 2)", "array([ True, False,  True])"
)
_B1, _B2 = "np.array([True, False])", "np.array([True, True])"
logical_and = _value2(
    "logical_and", "Logical AND.", f"tnp.logical_and({_B1}, {_B2})", "array([ True, False])"
)
logical_or = _value2(
    "logical_or", "Logical OR.", f"tnp.logical_or({_B1}, {_B2})", "array([ True,  True])"
)
logical_xor = _value2(
    "logical_xor", "Logical XOR.", f"tnp.logical_xor({_B1}, {_B2})", "array([False,  True])"
)
bitwise_and = _value2(
    "bitwise_and", "Bitwise AND.", "tnp.bitwise_and(np.array([12]), 10)", "array([8])"
)
bitwise_or = _value2(
    "bitwise_or", "Bitwise OR.", "tnp.bitwise_or(np.array([12]), 10)", "array([14])"
)
bitwise_xor = _value2(
    "bitwise_xor", "Bitwise XOR.", "tnp.bitwise_xor(np.array([12]), 10)", "array([6])"
)
logical_not = _value1(
    "logical_not", "Logical NOT.", f"tnp.logical_not({_B1})", "array([False,  True])"
)
invert = _value1("invert", "Bitwise NOT.", "tnp.invert(np.array([0, 1]))", "array([-1, -2])")
bitwise_invert = invert
bitwise_not = invert
_Y = "np.array([1.0, np.nan, np.inf])"
isnan = _value1("isnan", "Where ``x`` is NaN.", f"tnp.isnan({_Y})", "array([False,  True, False])")
isinf = _value1(
    "isinf", "Where ``x`` is infinite.", f"tnp.isinf({_Y})", "array([False, False,  True])"
)
isfinite = _value1(
    "isfinite", "Where ``x`` is finite.", f"tnp.isfinite({_Y})", "array([ True, False, False])"
)
signbit = _value1(
    "signbit",
    "Where the sign bit is set.",
    "tnp.signbit(np.array([-0.0, 1.0]))",
    "array([ True, False])",
)
