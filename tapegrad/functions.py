"""Top-level functions with PyTorch's names (``dim``, ``keepdim``), over the primitives.

They take tensors, and raw arrays too (then they return arrays), so the same function works
in the facade and inside transforms. Each delegates to the ops-level function that does the
work (``tapegrad.ops``); the node it records is that function's.

>>> import tapegrad as tg
>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> tg.cat([x, 2 * x]).sum().backward()
>>> x.grad
tensor([3., 3.])
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import namespace
from .ops import elementwise as _ew
from .ops import index as _ix
from .ops import linalg as _la
from .ops import nn as _nn
from .ops import reduce as _red
from .ops import shape as _shp
from .tensor import Tensor, check_subtraction, dtype_title, show_as

__all__ = [
    # elementwise
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg",
    "negative", "pow", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos",
    "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "atan2", "arctan2", "sinh",
    "cosh", "tanh", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "sqrt",
    "square", "abs", "absolute", "sign", "floor", "remainder", "floor_divide", "sigmoid", "relu",
    "softplus", "maximum", "minimum", "clamp", "clip", "where", "reciprocal", "hypot",
    "logaddexp", "sinc", "erf", "erfc", "erfinv",
    # reductions
    "sum", "mean", "prod", "amax", "amin", "max", "min", "var", "std", "logsumexp", "norm",
    "cumsum", "cumprod", "argmax", "argmin",
    # shape
    "reshape", "transpose", "permute", "swapaxes", "swapdims", "movedim", "moveaxis",
    "squeeze", "unsqueeze", "flatten", "ravel", "broadcast_to", "cat", "concat", "concatenate",
    "stack", "split", "chunk", "unbind", "flip", "roll", "tile", "repeat_interleave", "tril",
    "triu", "diagonal", "trace", "diag", "take", "take_along_dim", "gather", "sort", "topk",
    # products and linear algebra
    "matmul", "mm", "bmm", "mv", "addmm", "addcmul", "addcdiv", "lerp", "dot", "vdot", "inner",
    "outer", "ger", "einsum",
    "tensordot", "kron", "det", "inverse", "slogdet",
    # nn
    "softmax", "log_softmax",
]  # fmt: skip


def _special(name: str) -> Any:
    from .ops import special

    return getattr(special, name)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _as_input(x: Any) -> Any:
    return x if isinstance(x, Tensor) or hasattr(x, "shape") else np.asarray(x)


# ---------------------------------------------------------------------------- elementwise


def _scaled(other: Any, alpha: Any) -> Any:
    """``alpha * other``, the second operand of ``add`` and ``sub`` with ``alpha``: a Python
    number when both are, as PyTorch folds them, else a product."""
    if alpha == 1:
        return other
    if other.__class__ in _NUMBERS and alpha.__class__ in _NUMBERS:
        return other * alpha
    return _ew.multiply(other, alpha)


_NUMBERS = frozenset({int, float, bool, complex})


def _shown_unscaled(out: Any, node: str, input: Any, other: Any) -> Any:  # noqa: A002
    """The result of ``add`` or ``sub`` shown as PyTorch's one node, whose ``next_functions``
    lead to ``other`` itself rather than to the product by ``alpha``."""
    return show_as(out, node, input, other) if isinstance(other, Tensor) else out


def _add_scaled(input: Any, product: Any, beta: Any, alpha: Any) -> Any:  # noqa: A002
    """``beta * input + alpha * product``; ``beta == 0`` ignores ``input`` (its NaN too)
    but for its shape."""
    scaled = _scaled(product, alpha)
    if isinstance(beta, (int, float)) and beta == 0:
        return _ew.where(np.True_, scaled, input)
    return _ew.add(_scaled(input, beta), scaled)


def add(input: Any, other: Any, *, alpha: Any = 1) -> Any:  # noqa: A002 - PyTorch's name
    """``input + alpha * other``.

    >>> tg.add(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 1.0]), alpha=2)
    tensor([3., 4.])
    """
    return _shown_unscaled(_ew.add(input, _scaled(other, alpha)), "AddBackward0", input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Any:  # noqa: A002
    """``input - alpha * other``.

    >>> tg.sub(tg.tensor([3.0]), tg.tensor([1.0]), alpha=2)
    tensor([1.])
    """
    check_subtraction(input, other)
    out = _ew.subtract(input, _scaled(other, alpha))
    return _shown_unscaled(out, "SubBackward0", input, other)


subtract = sub
mul = _ew.multiply
multiply = _ew.multiply


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Any:  # noqa: A002
    """``input / other``; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient
    (whose gradient is then zero).

    >>> tg.div(tg.tensor([7.0, -7.0]), 2.0, rounding_mode="trunc")
    tensor([ 3., -3.])
    """
    if rounding_mode is None:
        return _ew.true_divide(input, other)
    if rounding_mode in ("floor", "trunc"):
        q = _ew.true_divide(input, other)
        if rounding_mode == "floor":
            return _ew.floor(q)
        # floor(|q|) with q's sign: trunc's values, floor's zero gradient.
        return _ew.where(q >= 0, _ew.floor(q), _ew.negative(_ew.floor(_ew.negative(q))))
    raise ValueError(
        "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


divide = div
true_divide = _ew.true_divide
neg = _ew.negative
negative = _ew.negative
pow = _ew.power  # noqa: A001 - PyTorch's name
exp = _ew.exp
exp2 = _ew.exp2
expm1 = _ew.expm1
log = _ew.log
log2 = _ew.log2
log10 = _ew.log10
log1p = _ew.log1p
sin = _ew.sin
cos = _ew.cos
tan = _ew.tan
asin = arcsin = _ew.arcsin
acos = arccos = _ew.arccos
atan = arctan = _ew.arctan
atan2 = arctan2 = _ew.arctan2
sinh = _ew.sinh
cosh = _ew.cosh
tanh = _ew.tanh
asinh = arcsinh = _ew.arcsinh
acosh = arccosh = _ew.arccosh
atanh = arctanh = _ew.arctanh
sqrt = _ew.sqrt
square = _ew.square
abs = _ew.abs  # noqa: A001 - PyTorch's name
absolute = _ew.abs
sign = _ew.sign
floor = _ew.floor
remainder = _ew.remainder
floor_divide = _ew.floor_divide
sigmoid = _ew.sigmoid
relu = _ew.relu
softplus = _ew.softplus
maximum = _ew.maximum
minimum = _ew.minimum
reciprocal = _ew.reciprocal
hypot = _ew.hypot
logaddexp = _ew.logaddexp
sinc = _ew.sinc


def erf(input: Any) -> Any:  # noqa: A002
    """The error function (``tapegrad.ops.special.erf``).

    >>> tg.erf(tg.tensor([0.0]))
    tensor([0.])
    """
    return _special("erf")(input)


def erfc(input: Any) -> Any:  # noqa: A002
    """The complementary error function ``1 - erf(x)``.

    >>> tg.erfc(tg.tensor([0.0]))
    tensor([1.])
    """
    return _special("erfc")(input)


def erfinv(input: Any) -> Any:  # noqa: A002
    """The inverse error function.

    >>> tg.erfinv(tg.tensor([0.0]))
    tensor([0.])
    """
    return _special("erfinv")(input)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """``input`` where ``condition`` holds, else ``other``; with the condition alone, the
    indices of its non-zero elements (a tuple, one per dimension).

    >>> tg.where(tg.tensor([True, False]), tg.tensor([1.0, 2.0]), 0.0)
    tensor([1., 0.])
    """
    if input is None and other is None:
        raw = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
        idx = namespace(raw).nonzero(raw)
        if isinstance(condition, Tensor):
            return tuple(Tensor._make(i.astype(np.int64, copy=False)) for i in idx)
        return tuple(idx)
    if input is None or other is None:
        raise TypeError("where() expected both input and other, or neither")
    return _ew.where(condition, input, other)


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    """Limit values to ``[min, max]`` (``ClampBackward1`` for scalar bounds,
    ``ClampBackward0`` for tensor bounds, which get gradients too).

    >>> tg.clamp(tg.tensor([-2.0, 0.5, 3.0]), min=-1.0, max=1.0)
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    return _ew.clip(input, min, max)


clip = clamp


# ---------------------------------------------------------------------------- reductions


def _int_sum_input(input: Any, dtype: Any) -> Any:
    if dtype is not None:
        return _shp.astype(input, dtype)
    # PyTorch sums (and multiplies) bool and integer tensors in int64.
    if isinstance(input, Tensor) and input.dtype.kind in "biu" and input.dtype != np.int64:
        return _shp.astype(input, np.int64)
    return input


def sum(  # noqa: A001 - PyTorch's name
    input: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
) -> Any:
    """Sum over ``dim`` (int or tuple; all when ``None``).

    >>> tg.sum(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=1)
    tensor([3., 7.])
    """
    x = _int_sum_input(input, dtype)
    return _red.sum(x, dim, keepdim, dim_given=dim is not None)


def mean(
    input: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
) -> Any:
    """Mean over ``dim``.

    >>> tg.mean(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0)
    tensor([2., 3.])
    """
    x = input if dtype is None else _shp.astype(input, dtype)
    if isinstance(x, Tensor) and x.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dtype_title(x.dtype)}"
        )
    return _red.mean(x, dim, keepdim, dim_given=dim is not None)


def prod(
    input: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
) -> Any:
    """Product over ``dim`` (all elements when ``None``).

    >>> tg.prod(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=1)
    tensor([ 2., 12.])
    """
    return _red.prod(_int_sum_input(input, dtype), dim, keepdim)


def amax(input: Any, dim: Any = (), keepdim: bool = False) -> Any:  # noqa: A002
    """Maximum over ``dim`` (all when omitted); ties share the gradient.

    >>> tg.amax(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=0)
    tensor([3., 5.])
    """
    return _red.amax(input, None if dim == () else dim, keepdim)


def amin(input: Any, dim: Any = (), keepdim: bool = False) -> Any:  # noqa: A002
    """Minimum over ``dim``; ties share the gradient.

    >>> tg.amin(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=0)
    tensor([1., 4.])
    """
    return _red.amin(input, None if dim == () else dim, keepdim)


MinMax = namedtuple("MinMax", ["values", "indices"])


def _extreme(name: str, input: Any, dim: Any, keepdim: bool) -> Any:  # noqa: A002
    if isinstance(input, Tensor):
        method = getattr(input, name)
        return method() if dim is None else method(dim, keepdim)
    x = _as_input(input)
    if isinstance(dim, (Tensor, np.ndarray)):
        return (_ew.maximum if name == "max" else _ew.minimum)(x, dim)
    reduce = _red.amax if name == "max" else _red.amin
    if dim is None:
        return reduce(x, None, False)
    idx = getattr(namespace(x), "arg" + name)(x, axis=dim, keepdims=True)
    values = np.take_along_axis(x, idx, axis=dim)
    if not keepdim:
        values, idx = values.squeeze(axis=dim), idx.squeeze(axis=dim)
    return MinMax(values, idx)


def max(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """The largest element; with ``dim``, ``(values, indices)`` along it; with a tensor as
    second argument, the elementwise maximum.

    >>> tg.max(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=1).values
    tensor([5., 4.])
    """
    return _extreme("max", input, dim, keepdim)


def min(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """The smallest element; with ``dim``, ``(values, indices)`` along it.

    >>> tg.min(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=1).indices
    tensor([0, 0])
    """
    return _extreme("min", input, dim, keepdim)


def _correction(dim: Any, unbiased: Any, correction: Any) -> tuple[Any, float]:
    if isinstance(dim, bool):  # var(x, unbiased)
        dim, unbiased = None, dim
    if correction is not None:
        if unbiased is not None:
            raise RuntimeError("var/std: give either unbiased or correction, not both")
        return dim, float(correction)
    return dim, 0.0 if unbiased is False else 1.0


def var(
    input: Any,  # noqa: A002
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Any:
    """Variance over ``dim`` with PyTorch's default ``correction=1`` (the unbiased estimate).

    >>> tg.var(tg.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.6667)
    """
    dim, ddof = _correction(dim, unbiased, correction)
    return _red.var(input, dim, keepdim, ddof=ddof)


def std(
    input: Any,  # noqa: A002
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Any:
    """Standard deviation over ``dim`` with PyTorch's default ``correction=1``.

    >>> tg.std(tg.tensor([1.0, 3.0]))
    tensor(1.4142)
    """
    dim, ddof = _correction(dim, unbiased, correction)
    return _red.std(input, dim, keepdim, ddof=ddof)


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Any:  # noqa: A002
    """``log(sum(exp(input), dim))``, stable.

    >>> tg.logsumexp(tg.tensor([0.0, 0.0]), dim=0)
    tensor(0.6931)
    """
    return _red.logsumexp(input, dim, keepdim)


def norm(
    input: Any,  # noqa: A002
    p: Any = "fro",
    dim: Any = None,
    keepdim: bool = False,
    dtype: Any = None,
) -> Any:
    """PyTorch's ``norm``: the vector ``p``-norm over ``dim`` (all elements as one vector
    when ``None``); ``'fro'`` is the 2-norm, ``'nuc'`` the nuclear norm of matrices.

    >>> tg.norm(tg.tensor([[3.0, 4.0], [0.0, 0.0]]), dim=1)
    tensor([5., 0.])
    """
    x = input if dtype is None else _shp.astype(input, dtype)
    if isinstance(p, str):
        if p == "nuc":
            return _la.norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
        if p != "fro":
            raise RuntimeError(f"norm: unknown p={p!r}")
        p = 2
    return _red.norm(x, p, dim, keepdim)


def cumsum(input: Any, dim: int, *, dtype: Any = None) -> Any:  # noqa: A002
    """Cumulative sum along ``dim``.

    >>> tg.cumsum(tg.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([1., 3., 6.])
    """
    return _red.cumsum(_int_sum_input(input, dtype), dim)


def cumprod(input: Any, dim: int, *, dtype: Any = None) -> Any:  # noqa: A002
    """Cumulative product along ``dim``.

    >>> tg.cumprod(tg.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([1., 2., 6.])
    """
    return _red.cumprod(_int_sum_input(input, dtype), dim)


def argmax(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """Indices of the maxima (no gradient).

    >>> tg.argmax(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=1)
    tensor([1, 1])
    """
    if isinstance(input, Tensor):
        return input.argmax(dim, keepdim)
    x = _as_input(input)
    return namespace(x).argmax(x, axis=dim, keepdims=keepdim if dim is not None else False)


def argmin(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """Indices of the minima (no gradient).

    >>> tg.argmin(tg.tensor([[1.0, 5.0], [3.0, 4.0]]), dim=1)
    tensor([0, 0])
    """
    if isinstance(input, Tensor):
        return input.argmin(dim, keepdim)
    x = _as_input(input)
    return namespace(x).argmin(x, axis=dim, keepdims=keepdim if dim is not None else False)


# ---------------------------------------------------------------------------------- shape


def reshape(input: Any, shape: Sequence[int]) -> Any:  # noqa: A002
    """``input`` with a new shape.

    >>> tg.reshape(tg.arange(4.0), (2, 2)).shape
    (2, 2)
    """
    return _shp.reshape(input, shape)


def transpose(input: Any, dim0: int, dim1: int) -> Any:  # noqa: A002
    """Swap two dimensions.

    >>> tg.transpose(tg.zeros(2, 3), 0, 1).shape
    (3, 2)
    """
    nd = len(input.shape)
    axes = list(range(nd))
    d0 = np.lib.array_utils.normalize_axis_index(dim0, nd)
    d1 = np.lib.array_utils.normalize_axis_index(dim1, nd)
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return _shp.transpose(input, tuple(axes), name="TransposeBackward0")


swapaxes = transpose
swapdims = transpose


def permute(input: Any, dims: Sequence[int]) -> Any:  # noqa: A002
    """Reorder dimensions.

    >>> tg.permute(tg.zeros(2, 3, 4), (2, 0, 1)).shape
    (4, 2, 3)
    """
    return _shp.transpose(input, tuple(dims), name="PermuteBackward0")


def movedim(input: Any, source: Any, destination: Any) -> Any:  # noqa: A002
    """Move dimensions to new positions.

    >>> tg.movedim(tg.zeros(2, 3, 4), 0, -1).shape
    (3, 4, 2)
    """
    return _shp.movedim(input, source, destination)


moveaxis = movedim


def squeeze(input: Any, dim: Any = None) -> Any:  # noqa: A002
    """Remove length-1 dimensions.

    >>> tg.squeeze(tg.zeros(1, 3, 1)).shape
    (3,)
    """
    return _shp.squeeze(input, dim)


def unsqueeze(input: Any, dim: int) -> Any:  # noqa: A002
    """Insert a length-1 dimension at ``dim``.

    >>> tg.unsqueeze(tg.zeros(3), 0).shape
    (1, 3)
    """
    return _shp.expand_dims(input, dim)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:  # noqa: A002
    """Flatten a range of dimensions.

    >>> tg.flatten(tg.zeros(2, 3, 4), 1).shape
    (2, 12)
    """
    if isinstance(input, Tensor):
        return input.flatten(start_dim, end_dim)
    shape = tuple(input.shape)
    if not shape:
        return _shp.reshape(input, (1,))
    s = np.lib.array_utils.normalize_axis_index(start_dim, len(shape))
    e = np.lib.array_utils.normalize_axis_index(end_dim, len(shape))
    return _shp.reshape(input, shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :])


def ravel(input: Any) -> Any:  # noqa: A002
    """``input`` as one dimension: a view where its memory allows, as ``flatten()``.

    >>> tg.ravel(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 2., 3., 4.])
    """
    return flatten(input)


def broadcast_to(input: Any, size: Sequence[int]) -> Any:  # noqa: A002
    """``input`` broadcast to ``size`` (``ExpandBackward0``).

    >>> tg.broadcast_to(tg.tensor([1.0, 2.0]), (2, 2)).shape
    (2, 2)
    """
    return _shp.broadcast_to(input, size)


def cat(tensors: Sequence[Any], dim: int = 0) -> Any:
    """Join tensors along an existing dimension (``CatBackward0``).

    >>> tg.cat([tg.zeros(1, 2), tg.ones(2, 2)]).shape
    (3, 2)
    """
    return _shp.cat(tensors, dim)


concat = cat


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Any:
    """PyTorch's ``concatenate`` (``axis``): :func:`cat`.

    >>> tg.concatenate([tg.zeros(2, 1), tg.ones(2, 1)], axis=1).shape
    (2, 2)
    """
    return _shp.cat(tensors, axis)


def stack(tensors: Sequence[Any], dim: int = 0) -> Any:
    """Join tensors of one shape along a new dimension (``StackBackward0``).

    >>> tg.stack([tg.zeros(2), tg.ones(2)], dim=1).shape
    (2, 2)
    """
    return _shp.stack(tensors, axis=dim)


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Any, ...]:
    """PyTorch's ``split``: pieces of ``split_size`` (the last may be shorter), or of the
    given sizes.

    >>> [p.shape for p in tg.split(tg.zeros(5), 2)]
    [(2,), (2,), (1,)]
    """
    return _shp.split_by_size(tensor, split_size_or_sections, dim)


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Any, ...]:  # noqa: A002
    """Split into ``chunks`` pieces of (nearly) equal size.

    >>> [p.shape for p in tg.chunk(tg.zeros(5), 2)]
    [(3,), (2,)]
    """
    return _shp.chunk(input, chunks, dim)


def unbind(input: Any, dim: int = 0) -> tuple[Any, ...]:  # noqa: A002
    """The slices along ``dim``, without that dimension.

    >>> [p.shape for p in tg.unbind(tg.zeros(2, 3))]
    [(3,), (3,)]
    """
    return _shp.unbind(input, dim)


def flip(input: Any, dims: Any) -> Any:  # noqa: A002
    """Reverse the order of elements along ``dims``.

    >>> tg.flip(tg.tensor([1.0, 2.0, 3.0]), [0])
    tensor([3., 2., 1.])
    """
    return _shp.flip(input, tuple(dims) if isinstance(dims, list) else dims)


def roll(input: Any, shifts: Any, dims: Any = None) -> Any:  # noqa: A002
    """Roll elements along ``dims`` (of the flattened tensor when ``None``).

    >>> tg.roll(tg.tensor([1.0, 2.0, 3.0]), 1)
    tensor([3., 1., 2.])
    """
    return _shp.roll(input, shifts, dims)


def tile(input: Any, dims: Sequence[int]) -> Any:  # noqa: A002
    """Repeat ``input`` ``dims`` times along each dimension.

    >>> tg.tile(tg.tensor([1.0, 2.0]), (2,))
    tensor([1., 2., 1., 2.])
    """
    return _shp.tile(input, dims)


def repeat_interleave(input: Any, repeats: Any, dim: int | None = None) -> Any:  # noqa: A002
    """Repeat each element ``repeats`` times (of the flattened tensor when ``dim`` is None).

    >>> tg.repeat_interleave(tg.tensor([1.0, 2.0]), 2)
    tensor([1., 1., 2., 2.])
    """
    if isinstance(repeats, Tensor):
        repeats = repeats.data
    return _shp.repeat(input, repeats, dim)


def tril(input: Any, diagonal: int = 0) -> Any:  # noqa: A002
    """Lower triangle (elements above ``diagonal`` zeroed).

    >>> tg.tril(tg.ones(2, 2))
    tensor([[1., 0.],
            [1., 1.]])
    """
    return _shp.tril(input, diagonal)


def triu(input: Any, diagonal: int = 0) -> Any:  # noqa: A002
    """Upper triangle (elements below ``diagonal`` zeroed).

    >>> tg.triu(tg.ones(2, 2))
    tensor([[1., 1.],
            [0., 1.]])
    """
    return _shp.triu(input, diagonal)


def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:  # noqa: A002
    """The diagonal ``offset`` of the matrices spanned by ``dim1`` and ``dim2``.

    >>> tg.diagonal(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    """
    return _shp.diagonal(input, offset, dim1, dim2)


def trace(input: Any) -> Any:  # noqa: A002
    """Sum of the main diagonal of a 2-D tensor.

    >>> tg.trace(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    """
    if len(_shape(input)) != 2:
        raise RuntimeError(
            f"trace: expected a matrix, but got tensor with dim {len(_shape(input))}"
        )
    return show_as(_shp.trace(input), "TraceBackward0", input)


def diag(input: Any, diagonal: int = 0) -> Any:  # noqa: A002
    """The ``diagonal``-th diagonal of a matrix, or a matrix with a vector on it.

    >>> tg.diag(tg.tensor([1.0, 2.0]))
    tensor([[1., 0.],
            [0., 2.]])
    """
    nd = len(_shape(input))
    if nd == 2:
        return _shp.diagonal(input, diagonal)
    if nd != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{nd}D")
    m = _shape(input)[0]
    n = m + builtins.abs(diagonal)
    raw = input.data if isinstance(input, Tensor) else input
    xp = namespace(raw) if hasattr(raw, "shape") and not getattr(input, "_batched", False) else np
    idx = np.arange(m)
    rows, cols = idx + builtins.max(-diagonal, 0), idx + builtins.max(diagonal, 0)
    out = _ix.index_put(xp.zeros((n, n), dtype=input.dtype), input, (rows, cols))
    return show_as(out, "DiagEmbedBackward0", input)


def take(input: Any, index: Any) -> Any:  # noqa: A002
    """Elements of the flattened ``input`` at ``index``.

    >>> tg.take(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([0, 3]))
    tensor([1., 4.])
    """
    return _ix.take(input, index.data if isinstance(index, Tensor) else index)


def take_along_dim(input: Any, indices: Any, dim: int | None = None) -> Any:  # noqa: A002
    """Elements picked by ``indices`` along ``dim`` (of the flattened tensors when ``None``).

    >>> tg.take_along_dim(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([[1], [0]]), 1)
    tensor([[2.],
            [3.]])
    """
    idx = indices.data if isinstance(indices, Tensor) else indices
    return _ix.take_along_axis(input, idx, dim)


SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _sort_indices(raw: Any, dim: int, descending: bool) -> Any:
    """Indices that sort ``raw`` along ``dim``, stably: equal values keep their order, and NaN
    counts as the largest value, as in PyTorch."""
    xp = namespace(raw)
    if not descending:
        return xp.argsort(raw, axis=dim, kind="stable")
    # Descending and stable: sort the reversed array ascending, reverse that order, and map
    # positions in the reversed array back (NaN, last ascending, comes first).
    n = raw.shape[dim]
    order = xp.argsort(xp.flip(raw, axis=dim), axis=dim, kind="stable")
    return (n - 1) - xp.flip(order, axis=dim)


def sort(
    input: Any,  # noqa: A002
    dim: int = -1,
    descending: bool = False,
    stable: bool = False,
) -> SortResult:
    """The values of ``input`` sorted along ``dim`` and the indices they came from.

    Equal values keep their order (a stable sort, whatever ``stable`` says), and NaN sorts as
    the largest value. Gradients flow to the values' original places.

    >>> tg.sort(tg.tensor([3.0, 1.0, 2.0]), descending=True)
    sort(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
    """
    raw = input.data if isinstance(input, Tensor) else np.asarray(input)
    if raw.ndim == 0:
        return SortResult(input, Tensor._make(namespace(raw).zeros((), dtype=np.int64)))
    dim = _red.normalize_axis(dim, raw.ndim)[0]
    idx = _sort_indices(raw, dim, descending).astype(np.int64, copy=False)
    values = show_as(_ix.take_along_axis(input, idx, dim), "SortBackward0", input)
    return SortResult(values, Tensor._make(idx))


def topk(
    input: Any,  # noqa: A002
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,  # noqa: A002
) -> TopkResult:
    """The ``k`` largest (or, with ``largest=False``, smallest) values along ``dim``, in order,
    and their indices.

    >>> tg.topk(tg.tensor([1.0, 4.0, 3.0, 2.0]), 2)
    topk(values=tensor([4., 3.]), indices=tensor([1, 2]))
    """
    raw = input.data if isinstance(input, Tensor) else np.asarray(input)
    d = _red.normalize_axis(dim, raw.ndim)[0] if raw.ndim else 0
    size = raw.shape[d] if raw.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range (k={k}, dimension size {size})")
    if raw.ndim == 0:
        return TopkResult(input, Tensor._make(namespace(raw).zeros((), dtype=np.int64)))
    idx = _sort_indices(raw, d, largest).astype(np.int64, copy=False)
    idx = idx[(slice(None),) * d + (slice(0, k),)]
    values = show_as(_ix.take_along_axis(input, idx, d), "TopkBackward0", input)
    return TopkResult(values, Tensor._make(idx))


def gather(input: Any, dim: int, index: Any) -> Any:  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (``GatherBackward0``).

    >>> tg.gather(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, tg.tensor([[1], [0]]))
    tensor([[2.],
            [3.]])
    """
    return _ix.gather(input, dim, index)


# ------------------------------------------------------------------------ linear algebra

matmul = _la.matmul
mm = _la.matmul


def addmm(
    input: Any,  # noqa: A002
    mat1: Any,
    mat2: Any,
    *,
    beta: Any = 1,
    alpha: Any = 1,
) -> Any:
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-D ``mat1`` and ``mat2``.

    >>> tg.addmm(tg.ones(2), tg.ones(2, 3), tg.ones(3, 2), alpha=2)
    tensor([[7., 7.],
            [7., 7.]])
    """
    if len(_shape(mat1)) != 2 or len(_shape(mat2)) != 2:
        raise RuntimeError(
            f"mat1 and mat2 must be matrices, got {len(_shape(mat1))}-D and "
            f"{len(_shape(mat2))}-D tensors"
        )
    out = _add_scaled(input, _la.matmul(mat1, mat2), beta, alpha)
    return show_as(out, "AddmmBackward0", input, mat1, mat2)


def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:  # noqa: A002
    """``input + value * tensor1 * tensor2``, broadcast.

    >>> tg.addcmul(tg.ones(2), tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]), value=0.5)
    tensor([2.5000, 5.0000])
    """
    out = _ew.add(input, _scaled(_ew.multiply(tensor1, tensor2), value))
    return show_as(out, "AddcmulBackward0", input, tensor1, tensor2)


def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:  # noqa: A002
    """``input + value * tensor1 / tensor2``, broadcast.

    >>> tg.addcdiv(tg.ones(2), tg.tensor([1.0, 2.0]), tg.tensor([4.0, 8.0]), value=2)
    tensor([1.5000, 1.5000])
    """
    out = _ew.add(input, _scaled(_ew.true_divide(tensor1, tensor2), value))
    return show_as(out, "AddcdivBackward0", input, tensor1, tensor2)


def lerp(input: Any, end: Any, weight: Any) -> Any:  # noqa: A002
    """Linear interpolation ``input + weight * (end - input)``.

    >>> tg.lerp(tg.tensor([0.0, 10.0]), tg.tensor([10.0, 20.0]), 0.25)
    tensor([ 2.5000, 12.5000])
    """
    out = _ew.add(input, _ew.multiply(weight, _ew.subtract(end, input)))
    if isinstance(weight, Tensor):  # PyTorch's overload with a tensor weight
        return show_as(out, "LerpBackward1", input, end, weight)
    return show_as(out, "LerpBackward0", input, end)


def bmm(input: Any, mat2: Any) -> Any:  # noqa: A002
    """Batched matrix product of two 3-D tensors.

    >>> tg.bmm(tg.ones(2, 1, 3), tg.ones(2, 3, 1)).shape
    (2, 1, 1)
    """
    if len(_shape(input)) != 3 or len(_shape(mat2)) != 3:
        raise RuntimeError("batch1 and batch2 must be 3D tensors")
    return show_as(_la.matmul(input, mat2), "BmmBackward0", input, mat2)


def mv(input: Any, vec: Any) -> Any:  # noqa: A002
    """Matrix-vector product.

    >>> tg.mv(tg.eye(2), tg.tensor([1.0, 2.0]))
    tensor([1., 2.])
    """
    if len(_shape(input)) != 2 or len(_shape(vec)) != 1:
        raise RuntimeError("vector + matrix @ vector expected, got a matrix and a vector")
    return show_as(_la.matmul(input, vec), "MvBackward0", input, vec)


def dot(input: Any, other: Any) -> Any:  # noqa: A002
    """Inner product of two 1-D tensors.

    >>> tg.dot(tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]))
    tensor(11.)
    """
    if len(_shape(input)) != 1 or len(_shape(other)) != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {len(_shape(input))}D and {len(_shape(other))}D tensors"
        )
    return _la.dot(input, other)


def vdot(input: Any, other: Any) -> Any:  # noqa: A002
    """Inner product of two 1-D tensors, the first conjugated.

    >>> tg.vdot(tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]))
    tensor(11.)
    """
    return _la.vdot(input, other)


def inner(input: Any, other: Any) -> Any:  # noqa: A002
    """Sum product over the last dimensions.

    >>> tg.inner(tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]))
    tensor(11.)
    """
    return _la.inner(input, other)


def outer(input: Any, vec2: Any) -> Any:  # noqa: A002
    """Outer product of two vectors.

    >>> tg.outer(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 10.0]))
    tensor([[ 1., 10.],
            [ 2., 20.]])
    """
    return _la.outer(input, vec2)


ger = outer


def einsum(equation: str, *operands: Any) -> Any:
    """Einstein summation; the operands may also be given as one list.

    >>> tg.einsum("ij,j->i", tg.eye(2), tg.tensor([1.0, 2.0]))
    tensor([1., 2.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _la.einsum(equation, *operands)


def tensordot(a: Any, b: Any, dims: Any = 2) -> Any:
    """Sum products over ``dims`` (a count, or two lists of dimensions).

    >>> tg.tensordot(tg.ones(2, 3), tg.ones(3, 4), dims=1).shape
    (2, 4)
    """
    return _la.tensordot(a, b, dims)


def kron(input: Any, other: Any) -> Any:  # noqa: A002
    """Kronecker product.

    >>> tg.kron(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 10.0]))
    tensor([ 1., 10.,  2., 20.])
    """
    return _la.kron(input, other)


def det(input: Any) -> Any:  # noqa: A002
    """Determinant of a square matrix (or of each in a batch).

    >>> tg.det(tg.tensor([[2.0, 0.0], [0.0, 3.0]]))
    tensor(6.)
    """
    return _la.det(input)


def inverse(input: Any) -> Any:  # noqa: A002
    """Inverse of a square matrix (or of each in a batch).

    >>> tg.inverse(tg.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    return _la.inv(input)


def slogdet(input: Any) -> Any:  # noqa: A002
    """``(sign, logabsdet)`` of the determinant.

    >>> tg.slogdet(tg.tensor([[-2.0, 0.0], [0.0, 1.0]])).sign
    tensor(-1.)
    """
    return _la.slogdet(input)


# ------------------------------------------------------------------------------------- nn


def softmax(input: Any, dim: int) -> Any:  # noqa: A002
    """Softmax along ``dim``.

    >>> tg.softmax(tg.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return _nn.softmax(input, dim)


def log_softmax(input: Any, dim: int) -> Any:  # noqa: A002
    """Log-softmax along ``dim``.

    >>> tg.log_softmax(tg.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    return _nn.log_softmax(input, dim)


# ------------------------------------------------------------- PyTorch's names for methods


def round(input: Any, *, decimals: int = 0) -> Any:  # noqa: A001, A002
    """Round half to even, to ``decimals`` places (zero gradient, ``RoundBackward0``).

    >>> tg.round(tg.tensor([0.5, 1.5, -2.25]), decimals=1)
    tensor([ 0.5000,  1.5000, -2.2000])
    """
    from . import numpy as tnp

    return tnp.round(input, decimals)


def ceil(input: Any) -> Any:  # noqa: A002
    """The smallest integer not below each element (zero gradient).

    >>> tg.ceil(tg.tensor([-0.5, 1.2]))
    tensor([-0., 2.])
    """
    from . import numpy as tnp

    return tnp.ceil(input)


def trunc(input: Any) -> Any:  # noqa: A002
    """Each element with its fractional part dropped, towards zero (zero gradient).

    >>> tg.trunc(tg.tensor([-1.7, 1.7]))
    tensor([-1.,  1.])
    """
    from . import numpy as tnp

    return tnp.trunc(input)


def clone(input: Any) -> Any:  # noqa: A002
    """A copy with its own data, through which gradients flow (``CloneBackward0``).

    >>> tg.clone(tg.tensor([1.0, 2.0], requires_grad=True))
    tensor([1., 2.], grad_fn=<CloneBackward0>)
    """
    return _shp.clone(_as_input(input))


def t(input: Any) -> Any:  # noqa: A002
    """The transpose of a matrix; vectors and scalars as they are (``TBackward0``).

    >>> tg.t(tg.zeros(2, 3)).shape
    (3, 2)
    """
    x = _as_input(input)
    nd = len(_shape(x))
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return _shp.transpose(x, None, name="TBackward0")


def narrow(input: Any, dim: int, start: int, length: int) -> Any:  # noqa: A002
    """The slice ``start:start + length`` along ``dim`` (a view).

    >>> tg.narrow(tg.arange(6).reshape(2, 3), 1, 1, 2)
    tensor([[1, 2],
            [4, 5]])
    """
    x = _as_input(input)
    d = _red.normalize_axis(dim, len(_shape(x)))[0]
    return x[(slice(None),) * d + (slice(start, start + length),)]


def select(input: Any, dim: int, index: int) -> Any:  # noqa: A002
    """The sub-tensor at ``index`` along ``dim``, without that dimension (a view).

    >>> tg.select(tg.arange(6).reshape(2, 3), 1, -1)
    tensor([2, 5])
    """
    x = _as_input(input)
    d = _red.normalize_axis(dim, len(_shape(x)))[0]
    return x[(slice(None),) * d + (index,)]


def all(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """Whether every element is true (non-zero), overall or along ``dim`` (no gradient).

    >>> tg.all(tg.tensor([[1.0, 0.0], [2.0, 3.0]]), dim=1)
    tensor([False,  True])
    """
    x = input if isinstance(input, Tensor) else Tensor._make(_as_input(input))
    return x.all(dim, keepdim)


def any(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """Whether any element is true (non-zero), overall or along ``dim`` (no gradient).

    >>> tg.any(tg.tensor([[1.0, 0.0], [0.0, 0.0]]), dim=1)
    tensor([ True, False])
    """
    x = input if isinstance(input, Tensor) else Tensor._make(_as_input(input))
    return x.any(dim, keepdim)
