"""``tapegrad.special``: special functions with the names of ``torch.special`` (and of
``scipy.special`` where those agree).

``erf``, ``erfc`` and ``erfinv`` are primitives (see :mod:`tapegrad.ops.special`); the rest is
composed from the library's operations. Every function takes tensors (returning tensors) and
NumPy or CuPy arrays (returning arrays), and is differentiable to any order.

>>> x = tg.tensor([0.0, 1.0], requires_grad=True)
>>> tg.special.erf(x).sum().backward()
>>> x.grad
tensor([1.1284, 0.4151])
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .ops import elementwise as _ew
from .ops import nn as _nn
from .ops import reduce as _red
from .ops import shape as _sh
from .ops.special import erf, erfc, erfinv
from .tensor import Tensor, show_as

__all__ = [
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "logit",
    "ndtr",
    "xlogy",
    "logsumexp",
    "softmax",
    "log_softmax",
    "log1p",
    "expm1",
    "exp2",
]

_SQRT_HALF = math.sqrt(0.5)

log1p = _ew.log1p
expm1 = _ew.expm1


def _array_result(fn: Any) -> Any:
    """NumPy turns 0-d results of arithmetic into scalars; give callers arrays back."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        return np.asarray(out) if isinstance(out, np.generic) else out

    return wrapper


def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, Tensor) else x


def _where(condition: Any, a: Any, b: Any) -> Any:
    """``where`` whose condition may be a batched value inside ``vmap``."""
    if getattr(condition, "_batched", False):
        from .primitive import bind

        return bind(_ew.WHERE, (condition, a, b))
    return _ew.where(condition, a, b)


@_array_result
def expit(input: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``, stable for large ``|x|``.

    >>> tg.special.expit(tg.tensor([0.0, 2.0]))
    tensor([0.5000, 0.8808])
    """
    return _ew.sigmoid(input)


@_array_result
def logit(input: Any, eps: float | None = None) -> Any:
    """``log(p / (1 - p))``, the inverse of :func:`expit`; with ``eps``, ``p`` is first clamped
    to ``[eps, 1 - eps]`` (the gradient is 0 outside).

    >>> tg.special.logit(tg.tensor([0.5, 0.75]))
    tensor([0.0000, 1.0986])
    """
    x = input
    if eps is not None:
        lo, hi = float(eps), 1.0 - float(eps)
        x = _where(x < lo, lo, _where(x > hi, hi, x))
    return show_as(_ew.log(x) - _ew.log1p(_ew.negative(x)), "LogitBackward0", input)


@_array_result
def ndtr(input: Any) -> Any:
    """The standard normal cumulative distribution function ``(1 + erf(x / sqrt(2))) / 2``,
    computed through ``erfc`` so that the lower tail keeps its relative accuracy.

    >>> tg.special.ndtr(tg.tensor([0.0, 1.0]))
    tensor([0.5000, 0.8413])
    """
    return erfc(_ew.negative(input) * _SQRT_HALF) * 0.5


@_array_result
def xlogy(input: Any, other: Any) -> Any:
    """``input * log(other)``, and 0 where ``input == 0`` (unless ``other`` is NaN).

    >>> tg.special.xlogy(tg.tensor([0.0, 2.0]), tg.tensor([0.0, 3.0]))
    tensor([0.0000, 2.1972])
    """
    # One definition with the top-level ``tg.xlogy``: the primitive whose derivative in
    # ``input`` is ``log(other)`` everywhere, 0 included, as PyTorch's.
    from .functions_more import xlogy as _xlogy

    return _xlogy(input, other)


@_array_result
def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Any:
    """``log(sum(exp(input), dim))``, stable.

    >>> tg.special.logsumexp(tg.tensor([0.0, 0.0]), dim=0)
    tensor(0.6931)
    """
    return _red.logsumexp(input, dim, keepdim)


def _cast(input: Any, dtype: Any) -> Any:
    if dtype is None:
        return input
    dtype = np.dtype(dtype)
    return input if input.dtype == dtype else _sh.astype(input, dtype)


@_array_result
def softmax(input: Any, dim: int, dtype: Any = None) -> Any:
    """``exp(x) / sum(exp(x), dim)``, stable; ``dtype`` casts the input first.

    >>> tg.special.softmax(tg.tensor([0.0, 0.0]), 0)
    tensor([0.5000, 0.5000])
    """
    return _nn.softmax(_cast(input, dtype), dim)


@_array_result
def log_softmax(input: Any, dim: int, dtype: Any = None) -> Any:
    """``x - logsumexp(x, dim)``, stable; ``dtype`` casts the input first.

    >>> tg.special.log_softmax(tg.tensor([0.0, 0.0]), 0)
    tensor([-0.6931, -0.6931])
    """
    return _nn.log_softmax(_cast(input, dtype), dim)


@_array_result
def exp2(input: Any) -> Any:
    """``2 ** x``.

    >>> tg.special.exp2(tg.tensor([3.0]))
    tensor([8.])
    """
    return _ew.power(2.0, input)
