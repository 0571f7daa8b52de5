"""Top-level functions with PyTorch's names (``dim``, ``keepdim``), over the primitives.

They take tensors, and raw arrays too (then they return arrays), so the same function works
in the facade and inside transforms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .ops import elementwise as _ew
from .ops import linalg as _la
from .ops import nn as _nn
from .ops import reduce as _red
from .ops import shape as _shp

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "expm1", "sin", "cos",
    "tanh", "sqrt", "abs", "sign", "sigmoid", "relu", "softplus", "maximum", "minimum", "where",
    "square", "reciprocal", "sum", "mean", "amax", "amin", "logsumexp", "matmul", "mm",
    "reshape", "transpose", "permute", "softmax", "log_softmax", "clamp", "squeeze",
    "unsqueeze", "flatten",
]

add = _ew.add
sub = _ew.subtract
mul = _ew.multiply
div = _ew.true_divide
neg = _ew.negative
pow = _ew.power  # noqa: A001 - PyTorch's name
exp = _ew.exp
log = _ew.log
log1p = _ew.log1p
expm1 = _ew.expm1
sin = _ew.sin
cos = _ew.cos
tanh = _ew.tanh
sqrt = _ew.sqrt
abs = _ew.abs  # noqa: A001
sign = _ew.sign
sigmoid = _ew.sigmoid
relu = _ew.relu
softplus = _ew.softplus
maximum = _ew.maximum
minimum = _ew.minimum
where = _ew.where
square = _ew.square
reciprocal = _ew.reciprocal
matmul = _la.matmul
mm = _la.matmul


def sum(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Sum over ``dim`` (int or tuple; all when ``None``)."""
    return _red.sum(input, dim, keepdim, dim_given=dim is not None)


def mean(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """Mean over ``dim``."""
    return _red.mean(input, dim, keepdim, dim_given=dim is not None)


def amax(input: Any, dim: Any = (), keepdim: bool = False) -> Any:
    """Maximum over ``dim`` (all when omitted); ties share the gradient."""
    return _red.amax(input, None if dim == () else dim, keepdim)


def amin(input: Any, dim: Any = (), keepdim: bool = False) -> Any:
    """Minimum over ``dim``; ties share the gradient."""
    return _red.amin(input, None if dim == () else dim, keepdim)


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Any:
    """``log(sum(exp(input), dim))``, stable.

    >>> import tapegrad as tg
    >>> tg.logsumexp(tg.tensor([0.0, 0.0]), dim=0)
    tensor(0.6931)
    """
    return _red.logsumexp(input, dim, keepdim)


def reshape(input: Any, shape: Sequence[int]) -> Any:
    """``input`` with a new shape."""
    return _shp.reshape(input, shape)


def transpose(input: Any, dim0: int, dim1: int) -> Any:
    """Swap two dimensions."""
    nd = len(input.shape)
    axes = list(range(nd))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return _shp.transpose(input, tuple(axes), name="TransposeBackward0")


def permute(input: Any, dims: Sequence[int]) -> Any:
    """Reorder dimensions."""
    return _shp.transpose(input, tuple(dims), name="PermuteBackward0")


def squeeze(input: Any, dim: Any = None) -> Any:
    """Remove length-1 dimensions."""
    return _shp.squeeze(input, dim)


def unsqueeze(input: Any, dim: int) -> Any:
    """Insert a length-1 dimension at ``dim``."""
    return _shp.expand_dims(input, dim)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Flatten a range of dimensions."""
    from .tensor import Tensor

    if isinstance(input, Tensor):
        return input.flatten(start_dim, end_dim)
    import numpy as np

    shape = tuple(input.shape)
    s, e = start_dim % max(len(shape), 1), end_dim % max(len(shape), 1)
    return _shp.reshape(input, shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :])


def softmax(input: Any, dim: int) -> Any:
    """Softmax along ``dim``."""
    return _nn.softmax(input, dim)


def log_softmax(input: Any, dim: int) -> Any:
    """Log-softmax along ``dim``."""
    return _nn.log_softmax(input, dim)


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    """Limit values to ``[min, max]``."""
    out = input
    if min is not None:
        out = _ew.where(_ew.less(out, min), min, out)
    if max is not None:
        out = _ew.where(_ew.greater(out, max), max, out)
    return out
