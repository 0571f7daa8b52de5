"""``tapegrad.nn.functional``: PyTorch's functional neural-network API.

Every function has PyTorch's name, argument names, defaults and reductions, takes tensors
(returning tensors) as well as NumPy or CuPy arrays (returning arrays, so the functions work
inside ``tg.grad`` and the other transforms), and is differentiable to any order unless its
docstring says otherwise.

Few of them are primitives of their own: convolutions (``conv1d``, ``conv2d``, ``conv3d`` and
the transposed forms) are one ``conv`` primitive, max pooling is one ``max_pool`` primitive,
``erfc`` (for the exact ``gelu``), ``log_softmax``, ``softmax``, ``nll_loss`` and the two
binary cross-entropies are primitives with fused rules; everything else is composed from the
library's operations, and its gradients come from theirs.

>>> x = tg.tensor([[-1.0, 0.0, 2.0]], requires_grad=True)
>>> loss = F.cross_entropy(F.gelu(x), tg.tensor([2]))
>>> loss.backward()
>>> x.grad
tensor([[-0.0080,  0.0561, -0.2256]])
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import creation
from ..backend import namespace
from ..ops import conv as _conv
from ..ops import elementwise as _ew
from ..ops import index as _ix
from ..ops import linalg as _la
from ..ops import nn as _nn
from ..ops import reduce as _red
from ..ops import shape as _sh
from ..ops import special as _sp
from ..tensor import Tensor, dtype_title, show_as

__all__ = [
    # activations
    "relu",
    "relu6",
    "hardtanh",
    "leaky_relu",
    "rrelu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "logsigmoid",
    "tanh",
    "softsign",
    "softplus",
    "hardswish",
    "hardsigmoid",
    "hardshrink",
    "softshrink",
    "tanhshrink",
    "threshold",
    "relu_",
    "hardtanh_",
    "leaky_relu_",
    "rrelu_",
    "elu_",
    "selu_",
    "celu_",
    "threshold_",
    "glu",
    "prelu",
    "softmax",
    "softmin",
    "log_softmax",
    # layers
    "linear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "pad",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "embedding",
    "one_hot",
    "layer_norm",
    "batch_norm",
    "group_norm",
    "instance_norm",
    "normalize",
    # distances
    "cosine_similarity",
    "pairwise_distance",
    # losses
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# ---------------------------------------------------------------------- helpers


def _array_result(fn: Callable[..., Any]) -> Callable[..., Any]:
    """NumPy turns 0-d results of arithmetic into scalars; give callers arrays back."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if out.__class__ is Tensor:
            return out
        if isinstance(out, np.generic):
            return np.asarray(out)
        if isinstance(out, tuple):
            return tuple(np.asarray(o) if isinstance(o, np.generic) else o for o in out)
        return out

    return wrapper


def _raw(x: Any) -> Any:
    """The array behind a tensor (arrays and scalars as they are)."""
    return x.data if isinstance(x, Tensor) else x


def _xp(x: Any) -> Any:
    return namespace(_raw(x))


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _is_plain_tensor(x: Any) -> bool:
    """A tensor of the facade, not a value inside ``vmap``."""
    return isinstance(x, Tensor) and not getattr(x, "_batched", False)


def _detach(x: Any) -> Any:
    """``x`` cut from the graph (arrays are left alone)."""
    return x.detach() if isinstance(x, Tensor) else x


def _const(x: Any, like: Any) -> Any:
    """``x`` (a tensor, array or list) as a constant array on ``like``'s device."""
    return _xp(like).asarray(_raw(x))


def _where(condition: Any, a: Any, b: Any) -> Any:
    """``where`` whose condition may be a batched value inside ``vmap``.

    Conditions are built with the comparison operators (``x > 0``), which keep a batched
    value batched; the condition then goes to the primitive as it is.
    """
    if getattr(condition, "_batched", False):
        from ..primitive import bind

        return bind(_ew.WHERE, (condition, a, b))
    return _ew.where(condition, a, b)


def _inplace(input: Any, fn: Callable[[Any], Any], name: str | None = None) -> Any:
    """``input`` overwritten by ``fn(input)``, with PyTorch's in-place rules for tensors.

    ``name`` is PyTorch's backward node of the in-place form (``LeakyReluBackward1`` for
    ``leaky_relu_``): the new value is shown as that node, whose ``next_functions`` lead to
    what computed ``input`` before the write. Written through a view, the base still shows
    ``CopySlices``.
    """
    if _is_plain_tensor(input):
        from ..inplace import apply_inplace

        if name is None:
            return apply_inplace(input, fn)

        def named(x: Any) -> Any:
            # Called before the write: ``x`` still leads to the entry that computed it.
            return show_as(fn(x), name, x)

        return apply_inplace(input, named)
    if isinstance(input, Tensor):  # a batched value: out of place
        return fn(input)
    out = fn(input)
    _xp(input).copyto(input, out, casting="unsafe")
    return input


def _on_copy(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` applied to a copy of a tensor that requires grad: for the in-place forms of
    compositions whose inner steps save the input for backward, which the in-place write
    would overwrite."""

    def wrapped(x: Any) -> Any:
        if _is_plain_tensor(x) and x.requires_grad:
            x = _sh.clone(x)
        return fn(x)

    return wrapped


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """The reduction, with PyTorch's handling of the deprecated ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(
            "size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            UserWarning,
            stacklevel=4,  # past the _array_result wrapper
        )
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=4,  # past the _array_result wrapper
        )
        reduction = "mean"
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "none":
        return loss
    return _red.sum(loss) if reduction == "sum" else _red.mean(loss)


def _warn_size(input: Any, target: Any) -> None:
    if _shape(target) != _shape(input):
        warnings.warn(
            f"Using a target size ({_size_repr(target)}) that is different to the input size "
            f"({_size_repr(input)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=4,  # past the _array_result wrapper
        )


def _size_repr(x: Any) -> str:
    return f"torch.Size({list(_shape(x))})"


def _ntuple(v: Any, n: int, name: str = "argument") -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {v}")
    return v


# ---------------------------------------------------------------------- activations


@_array_result
def relu(input: Any, inplace: bool = False) -> Any:
    """``max(x, 0)`` elementwise (gradient 0 at 0).

    >>> F.relu(tg.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    if inplace:
        return _inplace(input, _ew.relu)
    return _ew.relu(input)


@_array_result
def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Any:
    """``x`` clipped to ``[min_val, max_val]``; the gradient is 0 outside the open interval.

    >>> F.hardtanh(tg.tensor([-2.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")

    def fn(x: Any) -> Any:
        return _where(x <= min_val, min_val, _where(x >= max_val, max_val, x))

    if inplace:
        return _inplace(input, fn, "HardtanhBackward0")
    return show_as(fn(input), "HardtanhBackward0", input)


@_array_result
def relu6(input: Any, inplace: bool = False) -> Any:
    """``min(max(x, 0), 6)`` elementwise.

    >>> F.relu6(tg.tensor([-1.0, 3.0, 9.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


@_array_result
def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    >>> F.leaky_relu(tg.tensor([-2.0, 3.0]), 0.5)
    tensor([-1.,  3.])
    """

    def fn(x: Any) -> Any:
        return _where(x > 0, x, x * negative_slope)

    if inplace:
        return _inplace(input, fn, "LeakyReluBackward1")
    return show_as(fn(input), "LeakyReluBackward0", input)


def _uniform(shape: tuple[int, ...]) -> np.ndarray:
    """Samples in ``[0, 1)`` of ``shape`` (float64, on the host) from the generator that
    :func:`tapegrad.manual_seed` seeds, drawn as :func:`dropout` draws its mask."""
    return creation.rand(math.prod(shape), dtype=np.float64).data.reshape(shape)


@_array_result
def rrelu(
    input: Any,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Any:
    """Randomized leaky ReLU: ``x`` where ``x > 0``, else ``a * x``.

    In training, every element that is not positive gets its own slope ``a`` drawn uniformly
    from ``[lower, upper]`` (from the generator that :func:`tapegrad.manual_seed` seeds), and
    its gradient is that slope. Outside training ``a = (lower + upper) / 2`` for all of them,
    which is :func:`leaky_relu` with that slope (gradient ``a`` at 0, as in PyTorch).

    Parameters
    ----------
    input : Tensor or array
        The values.
    lower, upper : float
        The range of the slopes; ``lower`` may not exceed ``upper``.
    training : bool
        Draw random slopes (``True``) or use their mean (``False``, the default).
    inplace : bool
        Overwrite ``input`` (a leaf that requires grad is refused, as in PyTorch).

    Returns
    -------
    Tensor or array
        A tensor's ``grad_fn`` is ``RreluWithNoiseBackward0`` (``RreluWithNoiseBackward1``
        in place), whose ``next_functions`` lead to ``input``.

    Raises
    ------
    RuntimeError
        When ``lower > upper``.

    Examples
    --------
    >>> F.rrelu(tg.tensor([-2.0, 3.0]), 0.25, 0.75)
    tensor([-1.,  3.])
    >>> tg.manual_seed(0)
    >>> y = F.rrelu(-tg.ones(1000), 0.1, 0.3, training=True)
    >>> bool((y >= -0.3).all() and (y <= -0.1).all()), round(float(y.mean()), 2)
    (True, -0.2)
    """
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if training:
        dtype = _raw(input).dtype
        slopes = lower + (upper - lower) * _uniform(_shape(input))
        slopes = _xp(input).asarray(slopes.astype(dtype) if dtype.kind == "f" else slopes)
        one = slopes.dtype.type(1.0)

        def fn(x: Any) -> Any:
            # The slope is a constant of the graph: the gradient is the drawn slope.
            return x * _where(x <= 0, slopes, one)

    else:
        slope = (lower + upper) / 2

        def fn(x: Any) -> Any:
            return _where(x > 0, x, x * slope)

    if inplace:
        return _inplace(input, fn, "RreluWithNoiseBackward1")
    return show_as(fn(input), "RreluWithNoiseBackward0", input)


@_array_result
def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> F.elu(tg.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """

    def fn(x: Any) -> Any:
        positive = x > 0
        # exp only of non-positive values: the unused branch cannot overflow into NaN.
        negative_part = _ew.expm1(_where(positive, 0.0, x)) * alpha
        return _where(positive, x, negative_part)

    if inplace:
        return _inplace(input, fn, "EluBackward1")
    return show_as(fn(input), "EluBackward0", input)


@_array_result
def selu(input: Any, inplace: bool = False) -> Any:
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    >>> F.selu(tg.tensor([-1.0, 1.0]))
    tensor([-1.1113,  1.0507])
    """

    def fn(x: Any) -> Any:
        return elu(x, _SELU_ALPHA) * _SELU_SCALE

    if inplace:
        return _inplace(input, fn, "EluBackward1")
    return show_as(fn(input), "EluBackward0", input)


@_array_result
def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> F.celu(tg.tensor([-1.0, 1.0]), alpha=2.0)
    tensor([-0.7869,  1.0000])
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")

    def fn(x: Any) -> Any:
        positive = x > 0
        negative_part = _ew.expm1(_where(positive, 0.0, x) * (1.0 / alpha)) * alpha
        return _where(positive, x, negative_part)

    if inplace:
        return _inplace(input, fn, "CeluBackward1")
    return show_as(fn(input), "CeluBackward0", input)


@_array_result
def gelu(input: Any, approximate: str = "none") -> Any:
    """Gaussian error linear unit, ``x * Phi(x)``.

    ``approximate="none"`` (PyTorch's default) is ``0.5 * x * (1 + erf(x / sqrt(2)))``;
    ``approximate="tanh"`` is ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3)))``.

    >>> F.gelu(tg.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    >>> F.gelu(tg.tensor([-1.0, 0.0, 1.0]), approximate="tanh")
    tensor([-0.1588,  0.0000,  0.8412])
    """
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return show_as(input * 0.5 * (_ew.tanh(inner) + 1.0), "GeluBackward0", input)
    if approximate != "none":
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    # erfc(-x / sqrt(2)) = 1 + erf(x / sqrt(2)) without the cancellation for negative x.
    out = input * 0.5 * _sp.erfc(_ew.negative(input) * _SQRT_HALF)
    return show_as(out, "GeluBackward0", input)


@_array_result
def silu(input: Any, inplace: bool = False) -> Any:
    """``x * sigmoid(x)`` (also called swish).

    >>> F.silu(tg.tensor([-1.0, 1.0]))
    tensor([-0.2689,  0.7311])
    """

    def fn(x: Any) -> Any:
        return x * _ew.sigmoid(x)

    if inplace:
        return _inplace(input, fn, "SiluBackward0")
    return show_as(fn(input), "SiluBackward0", input)


@_array_result
def mish(input: Any, inplace: bool = False) -> Any:
    """``x * tanh(softplus(x))``.

    >>> F.mish(tg.tensor([-1.0, 1.0]))
    tensor([-0.3034,  0.8651])
    """

    def fn(x: Any) -> Any:
        return x * _ew.tanh(_ew.softplus(x))

    if inplace:
        return _inplace(input, _on_copy(fn), "MishBackward0")
    return show_as(fn(input), "MishBackward0", input)


@_array_result
def sigmoid(input: Any) -> Any:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, stable for large ``|x|``.

    >>> F.sigmoid(tg.tensor([0.0]))
    tensor([0.5000])
    """
    return _ew.sigmoid(input)


@_array_result
def logsigmoid(input: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, stable.

    >>> F.logsigmoid(tg.tensor([0.0]))
    tensor([-0.6931])
    """
    out = _ew.negative(_ew.softplus(_ew.negative(input)))
    return show_as(out, "LogSigmoidBackward0", input)


@_array_result
def tanh(input: Any) -> Any:
    """Hyperbolic tangent.

    >>> F.tanh(tg.tensor([0.0]))
    tensor([0.])
    """
    return _ew.tanh(input)


@_array_result
def softsign(input: Any) -> Any:
    """``x / (1 + |x|)``.

    >>> F.softsign(tg.tensor([-1.0, 3.0]))
    tensor([-0.5000,  0.7500])
    """
    return input / (_ew.abs(input) + 1.0)


@_array_result
def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    >>> F.softplus(tg.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """
    scaled = input if beta == 1.0 else input * beta
    soft = _ew.softplus(scaled)
    if beta != 1.0:
        soft = soft * (1.0 / beta)
    return show_as(_where(scaled > threshold, input, soft), "SoftplusBackward0", input)


@_array_result
def hardswish(input: Any, inplace: bool = False) -> Any:
    """``x * relu6(x + 3) / 6``: 0 for ``x <= -3``, ``x`` for ``x >= 3``.

    The gradient is 0 for ``x <= -3``, ``x / 3 + 1/2`` for ``-3 < x < 3`` and 1 for
    ``x >= 3``, as in PyTorch.

    >>> F.hardswish(tg.tensor([-4.0, -1.0, 0.0, 1.0, 4.0]))
    tensor([-0.0000, -0.3333,  0.0000,  0.6667,  4.0000])
    """

    def fn(x: Any) -> Any:
        return _where(x <= -3.0, x * 0.0, _where(x < 3.0, x * (x + 3.0) / 6.0, x))

    if inplace:
        return _inplace(input, _on_copy(fn), "HardswishBackward0")
    return show_as(fn(input), "HardswishBackward0", input)


@_array_result
def hardsigmoid(input: Any, inplace: bool = False) -> Any:
    """``relu6(x + 3) / 6``: 0 for ``x <= -3``, 1 for ``x >= 3``, linear in between (the
    gradient, ``1/6``, is 0 at -3 and 3).

    >>> F.hardsigmoid(tg.tensor([-4.0, 0.0, 1.5, 4.0]))
    tensor([0.0000, 0.5000, 0.7500, 1.0000])
    """

    def fn(x: Any) -> Any:
        return _where(x <= -3.0, 0.0, _where(x >= 3.0, 1.0, (x + 3.0) / 6.0))

    if inplace:
        return _inplace(input, fn, "HardsigmoidBackward0")
    return show_as(fn(input), "HardsigmoidBackward0", input)


@_array_result
def hardshrink(input: Any, lambd: float = 0.5) -> Any:
    """``x`` where ``|x| > lambd``, else 0 (the gradient is 0 at ``+-lambd``).

    >>> F.hardshrink(tg.tensor([-1.0, -0.5, 0.2, 0.75]))
    tensor([-1.0000,  0.0000,  0.0000,  0.7500])
    """
    inside = (input >= -lambd) & (input <= lambd)
    return show_as(_where(inside, 0.0, input), "HardshrinkBackward0", input)


def _check_lambd(input: Any, lambd: float) -> None:
    if lambd < 0:
        dtype = np.dtype(getattr(input, "dtype", np.float64))
        top = np.finfo(dtype).max if dtype.kind == "f" else np.finfo(np.float64).max
        raise RuntimeError(
            f"lambda must be in range [0, {float(top):g}] for input dtype "
            f"{dtype_title(dtype)}, but found {lambd:g}"
        )


@_array_result
def softshrink(input: Any, lambd: float = 0.5) -> Any:
    """``x - lambd`` where ``x > lambd``, ``x + lambd`` where ``x < -lambd``, else 0 (the
    gradient is 0 at ``+-lambd``).

    >>> F.softshrink(tg.tensor([-1.0, 0.2, 0.75]))
    tensor([-0.5000,  0.0000,  0.2500])
    """
    _check_lambd(input, lambd)
    out = _where(input > lambd, input - lambd, _where(input < -lambd, input + lambd, 0.0))
    return show_as(out, "SoftshrinkBackward0", input)


@_array_result
def tanhshrink(input: Any) -> Any:
    """``x - tanh(x)``.

    >>> F.tanhshrink(tg.tensor([0.0, 1.0]))
    tensor([0.0000, 0.2384])
    """
    return input - _ew.tanh(input)


@_array_result
def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Any:
    """``x`` where ``x > threshold``, else ``value`` (the gradient is 0 at the threshold).

    >>> F.threshold(tg.tensor([-1.0, 0.5, 2.0]), 0.5, -2.0)
    tensor([-2., -2.,  2.])
    """

    def fn(x: Any) -> Any:
        return _where(x <= threshold, value, x)

    if inplace:
        return _inplace(input, fn, "ThresholdBackward1")
    return show_as(fn(input), "ThresholdBackward0", input)


_threshold = threshold  # for threshold_, whose argument of that name hides the function

# ---------------------------------------------------------------------- in-place activations


def relu_(input: Any) -> Any:
    """In-place :func:`relu`: ``input`` overwritten by ``max(input, 0)``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``ReluBackward0``.

    Examples
    --------
    >>> h = tg.tensor([-1.0, 2.0], requires_grad=True) * 1.0
    >>> F.relu_(h) is h
    True
    >>> h, h.grad_fn.name()
    (tensor([0., 2.], grad_fn=<ReluBackward0>), 'ReluBackward0')
    """
    return relu(input, inplace=True)


def hardtanh_(input: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    """In-place :func:`hardtanh`: ``input`` clipped to ``[min_val, max_val]``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.
    min_val, max_val : float
        The interval; ``min_val`` may not exceed ``max_val``.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``HardtanhBackward0``.

    Examples
    --------
    >>> h = tg.tensor([-2.0, 0.5, 3.0], requires_grad=True) * 1.0
    >>> F.hardtanh_(h) is h
    True
    >>> h.grad_fn.name()
    'HardtanhBackward0'
    """
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu_(input: Any, negative_slope: float = 0.01) -> Any:
    """In-place :func:`leaky_relu`: ``input`` where positive, else ``negative_slope * input``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.
    negative_slope : float
        The slope for negative inputs.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``LeakyReluBackward1``.

    Examples
    --------
    >>> h = tg.tensor([-2.0, 3.0], requires_grad=True) * 1.0
    >>> F.leaky_relu_(h, 0.5)
    tensor([-1.,  3.], grad_fn=<LeakyReluBackward1>)
    """
    return leaky_relu(input, negative_slope, inplace=True)


def rrelu_(
    input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Any:
    """In-place :func:`rrelu`: ``input`` where positive, else ``a * input``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.
    lower, upper : float
        The range of the slopes; ``lower`` may not exceed ``upper``.
    training : bool
        Draw a random slope per element (``True``) or use ``(lower + upper) / 2``.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``RreluWithNoiseBackward1``.

    Examples
    --------
    >>> h = tg.tensor([-2.0, 3.0], requires_grad=True) * 1.0
    >>> F.rrelu_(h, 0.25, 0.75)
    tensor([-1.,  3.], grad_fn=<RreluWithNoiseBackward1>)
    """
    return rrelu(input, lower, upper, training, inplace=True)


def elu_(input: Any, alpha: float = 1.0) -> Any:
    """In-place :func:`elu`: ``input`` where positive, else ``alpha * (exp(input) - 1)``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.
    alpha : float
        The scale of the negative part.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``EluBackward1``.

    Examples
    --------
    >>> h = tg.tensor([-1.0, 2.0], requires_grad=True) * 1.0
    >>> F.elu_(h)
    tensor([-0.6321,  2.0000], grad_fn=<EluBackward1>)
    """
    return elu(input, alpha, inplace=True)


def selu_(input: Any) -> Any:
    """In-place :func:`selu`: ``input`` overwritten by ``scale * elu(input, alpha)``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``EluBackward1``, as in PyTorch.

    Examples
    --------
    >>> h = tg.tensor([-1.0, 1.0], requires_grad=True) * 1.0
    >>> F.selu_(h)
    tensor([-1.1113,  1.0507], grad_fn=<EluBackward1>)
    """
    return selu(input, inplace=True)


def celu_(input: Any, alpha: float = 1.0) -> Any:
    """In-place :func:`celu`: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.
    alpha : float
        The scale of the negative part (not 0).

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``CeluBackward1``.

    Examples
    --------
    >>> h = tg.tensor([-1.0, 1.0], requires_grad=True) * 1.0
    >>> F.celu_(h, alpha=2.0)
    tensor([-0.7869,  1.0000], grad_fn=<CeluBackward1>)
    """
    return celu(input, alpha, inplace=True)


def threshold_(input: Any, threshold: float, value: float) -> Any:
    """In-place :func:`threshold`: ``input`` where above ``threshold``, else ``value``.

    Parameters
    ----------
    input : Tensor or array
        Overwritten; a leaf that requires grad is refused, as in PyTorch.
    threshold : float
        Elements at or below it are replaced.
    value : float
        Their replacement.

    Returns
    -------
    Tensor or array
        ``input`` itself; a tensor's ``grad_fn`` is ``ThresholdBackward1``.

    Examples
    --------
    >>> x = np.array([-1.0, 0.5, 2.0])
    >>> F.threshold_(x, 0.5, -2.0) is x
    True
    >>> x
    array([-2., -2.,  2.])
    """
    return _threshold(input, threshold, value, inplace=True)


@_array_result
def glu(input: Any, dim: int = -1) -> Any:
    """Gated linear unit: ``a * sigmoid(b)``, where ``a`` and ``b`` are the two halves of
    ``input`` along ``dim`` (whose size must be even).

    >>> F.glu(tg.tensor([[1.0, 2.0, 0.0, 0.0]]))
    tensor([[0.5000, 1.0000]])
    """
    shape = _shape(input)
    if not shape:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = _red.wrap_dim(dim, len(shape))
    if shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim} is size {shape[dim]}"
        )
    a, b = _sh.split(input, 2, axis=dim)
    return show_as(a * _ew.sigmoid(b), "GluBackward0", input)


@_array_result
def prelu(input: Any, weight: Any) -> Any:
    """``x`` where ``x > 0``, else ``weight * x``, with one learned slope per channel
    (dimension 1) or a single one shared by all.

    >>> F.prelu(tg.tensor([[-2.0, 3.0], [1.0, -1.0]]), tg.tensor([0.5, 0.25]))
    tensor([[-1.0000,  3.0000],
            [ 1.0000, -0.2500]])
    """
    shape, wshape = _shape(input), _shape(weight)
    in_dtype = getattr(input, "dtype", None)
    w_dtype = getattr(weight, "dtype", None)
    if in_dtype is not None and w_dtype is not None and np.dtype(in_dtype) != np.dtype(w_dtype):
        raise RuntimeError(
            "prelu: Type promoting not supported. Got "
            f"{dtype_title(in_dtype)} and {dtype_title(w_dtype)}"
        )
    count = math.prod(wshape)
    if count != 1:
        if not shape:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = shape[1] if len(shape) > 1 else 1
        if channels != count:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {count} and channel size = {channels}."
            )
    if len(wshape) > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {len(wshape)}"
        )
    w = weight
    if len(shape) != len(wshape):
        view = [1] * len(shape)
        if len(shape) > 1:
            view[1] = count
        w = _sh.reshape(weight, tuple(view))
    out = _where(input > 0, input, w * input)
    return show_as(out, "PreluKernelBackward0", input, w)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel + 1,  # past the _array_result wrapper
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input: Any, dtype: Any) -> Any:
    if dtype is None:
        return input
    dtype = np.dtype(dtype)
    return input if input.dtype == dtype else _sh.astype(input, dtype)


@_array_result
def softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``exp(x) / sum(exp(x), dim)``, stable; ``dtype`` casts the input first.

    >>> F.softmax(tg.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    if dim is None:
        dim = _softmax_dim("softmax", len(_shape(input)), _stacklevel)
    return _nn.softmax(_softmax_input(input, dtype), dim)


@_array_result
def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``softmax(-x, dim)``.

    >>> F.softmin(tg.tensor([0.0, 1.0]), dim=0)
    tensor([0.7311, 0.2689])
    """
    if dim is None:
        dim = _softmax_dim("softmin", len(_shape(input)), _stacklevel)
    return _nn.softmax(_ew.negative(_softmax_input(input, dtype)), dim)


@_array_result
def log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``x - logsumexp(x, dim)``, stable; ``dtype`` casts the input first.

    >>> F.log_softmax(tg.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    if dim is None:
        dim = _softmax_dim("log_softmax", len(_shape(input)), _stacklevel)
    return _nn.log_softmax(_softmax_input(input, dtype), dim)


# ---------------------------------------------------------------------- linear, dropout


@_array_result
def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """``input @ weight.T + bias``.

    The result shows PyTorch's backward nodes: ``AddmmBackward0`` for a 2-D input with a
    bias; for other ranks with a bias, ``ViewBackward0`` of an ``AddmmBackward0`` on the
    input flattened to 2-D; without a bias, ``MmBackward0`` (2-D input),
    ``SqueezeBackward4`` of an ``MmBackward0`` on ``input.unsqueeze(0)`` (1-D input), or
    ``UnsafeViewBackward0`` of an ``MmBackward0`` on the flattened input (3-D and more).

    >>> F.linear(tg.ones(1, 2), tg.ones(3, 2), tg.zeros(3))
    tensor([[2., 2., 2.]])
    >>> x = tg.ones(2, 1, 2, requires_grad=True)
    >>> F.linear(x, tg.ones(3, 2), tg.zeros(3)).grad_fn.name()
    'ViewBackward0'
    """
    ws = _shape(weight)
    if len(ws) != 2:
        out = _la.matmul(input, weight)
        return out if bias is None else out + bias
    w = _sh.transpose(weight, None, name="TBackward0")
    xs = _shape(input)
    nd = len(xs)
    if bias is not None:
        if nd == 2:  # one addmm in PyTorch
            return show_as(_la.matmul(input, w) + bias, "AddmmBackward0", bias, input, w)
        if nd == 3 or (nd >= 1 and len(_shape(bias)) == 1):
            # PyTorch flattens the input to 2-D, runs addmm and views the result back.
            flat = _sh.reshape(input, (math.prod(xs[:-1]), xs[-1]))
            out = show_as(_la.matmul(flat, w) + bias, "AddmmBackward0", bias, flat, w)
            return _sh.reshape(out, (*xs[:-1], ws[0]))
        return _la.matmul(input, w) + bias
    if nd == 1:  # PyTorch: input.unsqueeze(0).mm(weight.t()).squeeze_(0)
        out = _la.matmul(_sh.expand_dims(input, 0), w)
        return _sh.reshape(out, (ws[0],), name="SqueezeBackward4")
    if nd >= 3:  # PyTorch folds the batch axes into one mm
        out = _la.matmul(_sh.reshape(input, (math.prod(xs[:-1]), xs[-1])), w)
        return _sh.reshape(out, (*xs[:-1], ws[0]), name="UnsafeViewBackward0")
    return _la.matmul(input, w)


#: The magnitude of SELU's negative saturation, ``scale * alpha``: the value alpha dropout
#: gives a dropped element before the affine correction.
_ALPHA_DROPOUT = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_impl(
    input: Any, p: float, training: bool, inplace: bool, feature: bool, alpha: bool
) -> Any:
    """PyTorch's one dropout routine (``_dropout_impl``) behind the six dropouts.

    ``feature`` draws one decision per ``input[n, c]`` (channel-wise dropout) instead of one
    per element; ``alpha`` replaces dropped elements by SELU's negative saturation and
    rescales, so that zero mean and unit variance are kept. The input itself comes back
    outside training, for ``p=0`` and for empty inputs; ``p=1`` multiplies by zero.
    """
    if not 0.0 <= p <= 1.0:  # NaN, which the first check lets through as in PyTorch
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    shape = _shape(input)
    if not training or p == 0.0 or math.prod(shape) == 0:
        return input
    xp = _xp(input)
    dtype = input.dtype
    if p == 1.0:
        zero = xp.zeros((), dtype=dtype)

        def fn(x: Any) -> Any:
            return x * zero

        return _inplace(input, fn) if inplace else fn(input)
    if feature:
        if len(shape) < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = shape[:2] + (1,) * (len(shape) - 2)
    keep = xp.asarray(_uniform(shape) >= p).astype(dtype)
    if alpha:
        a = 1.0 / math.sqrt((_ALPHA_DROPOUT**2 * p + 1.0) * (1.0 - p))
        mask = keep * dtype.type(a)
        shift = (keep - dtype.type(1.0)) * dtype.type(_ALPHA_DROPOUT * a)
        shift = shift + dtype.type(_ALPHA_DROPOUT * a * p)

        def fn(x: Any) -> Any:
            return x * mask + shift

    else:
        mask = keep * dtype.type(1.0 / (1.0 - p))

        def fn(x: Any) -> Any:
            return x * mask

    return _inplace(input, fn) if inplace else fn(input)


def _feature_dropout_unbatched(input: Any, p: float, training: bool, inplace: bool) -> Any:
    """Channel-wise dropout of an input without a batch axis, as PyTorch runs it: on
    ``input.unsqueeze(0)``, squeezed back (so the result shows those two nodes)."""
    shape = _shape(input)
    if inplace and _is_plain_tensor(input):

        def fn(x: Any) -> Any:  # unsqueeze_, dropout_, squeeze_ in PyTorch
            y = _sh.reshape(x, (1, *shape), name="UnsqueezeBackward1")
            y = _dropout_impl(y, p, training, False, True, False)
            return _sh.reshape(y, shape, name="SqueezeBackward4")

        return _inplace(input, fn)
    out = _dropout_impl(_sh.expand_dims(input, 0), p, training, inplace, True, False)
    out = _sh.squeeze(out, 0)
    if inplace and not isinstance(input, Tensor):  # an array: written through the view
        return input
    return out


@_array_result
def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Outside training (or with ``p=0``) the input itself is returned. The mask is drawn from
    the generator that :func:`tapegrad.manual_seed` seeds.

    >>> tg.manual_seed(0)
    >>> F.dropout(tg.ones(6), p=0.5)
    tensor([2., 0., 0., 0., 2., 2.])
    >>> F.dropout(tg.ones(2), p=0.5, training=False)
    tensor([1., 1.])
    """
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, False, False)


@_array_result
def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of a signal: each ``input[n, c, :]`` with probability ``p``; the
    rest are scaled by ``1 / (1 - p)``.

    Parameters
    ----------
    input : Tensor or array
        Of shape ``(N, C, L)``, or ``(C, L)`` without a batch axis.
    p : float
        The probability that a channel is zeroed, in ``[0, 1]``.
    training : bool
        Apply dropout (``True``, the default); otherwise the values pass unchanged.
    inplace : bool
        Overwrite ``input``.

    Returns
    -------
    Tensor or array
        A tensor's ``grad_fn`` is ``MulBackward0`` in training; an input without a batch
        axis goes through ``unsqueeze(0)`` and ``squeeze(0)``, as in PyTorch.

    Raises
    ------
    ValueError
        When ``p`` is outside ``[0, 1]``.
    RuntimeError
        For inputs that are not 2-D or 3-D.

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> F.dropout1d(tg.ones(1, 4, 2), p=0.5)
    tensor([[[2., 2.],
             [0., 0.],
             [0., 0.],
             [0., 0.]]])
    >>> F.dropout1d(tg.ones(2, 3), training=False)
    tensor([[1., 1., 1.],
            [1., 1., 1.]])
    """
    _check_p(p)
    nd = len(_shape(input))
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs)."
        )
    if nd == 2:
        return _feature_dropout_unbatched(input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, True, False)


@_array_result
def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of images: each ``input[n, c, :, :]`` with probability ``p``; the
    rest are scaled by ``1 / (1 - p)``.

    As in PyTorch, a 3-D input is read as ``(N, C, L)`` (channel-wise 1-D dropout, with a
    warning), and inputs that are not 3-D or 4-D are accepted with a deprecation warning
    (channels along axis 1).

    Parameters
    ----------
    input : Tensor or array
        Of shape ``(N, C, H, W)``.
    p : float
        The probability that a channel is zeroed, in ``[0, 1]``.
    training : bool
        Apply dropout (``True``, the default); otherwise ``input`` itself comes back.
    inplace : bool
        Overwrite ``input``.

    Returns
    -------
    Tensor or array
        A tensor's ``grad_fn`` is ``MulBackward0`` in training.

    Raises
    ------
    ValueError
        When ``p`` is outside ``[0, 1]``.
    RuntimeError
        In training, for inputs with fewer than 2 dimensions.

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> y = F.dropout2d(tg.ones(2, 8, 3, 3), p=0.5)
    >>> y[0, :, 0, 0]
    tensor([2., 0., 0., 0., 2., 2., 2., 2.])
    >>> bool((y == y[:, :, :1, :1]).all())  # each channel is all zeros or all twos
    True
    """
    _check_p(p)
    nd = len(_shape(input))
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            UserWarning,
            stacklevel=3,  # past the _array_result wrapper
        )
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=3,  # past the _array_result wrapper
        )
    return _dropout_impl(input, p, training, inplace, True, False)


@_array_result
def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of volumes: each ``input[n, c, :, :, :]`` with probability ``p``;
    the rest are scaled by ``1 / (1 - p)``.

    Parameters
    ----------
    input : Tensor or array
        Of shape ``(N, C, D, H, W)``, or ``(C, D, H, W)`` without a batch axis; other ranks
        are accepted with PyTorch's deprecation warning and read as having no batch axis.
    p : float
        The probability that a channel is zeroed, in ``[0, 1]``.
    training : bool
        Apply dropout (``True``, the default); otherwise the values pass unchanged.
    inplace : bool
        Overwrite ``input``.

    Returns
    -------
    Tensor or array
        A tensor's ``grad_fn`` is ``MulBackward0`` in training; an input without a batch
        axis goes through ``unsqueeze(0)`` and ``squeeze(0)``, as in PyTorch.

    Raises
    ------
    ValueError
        When ``p`` is outside ``[0, 1]``.

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> y = F.dropout3d(tg.ones(1, 6, 2, 2, 2), p=0.5)
    >>> y.sum(dim=(2, 3, 4))
    tensor([[16.,  0.,  0.,  0., 16., 16.]])
    """
    _check_p(p)
    nd = len(_shape(input))
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout3d "
            "exists to provide channel-wise dropout on inputs with 3 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            UserWarning,
            stacklevel=3,  # past the _array_result wrapper
        )
    if nd != 5:
        return _feature_dropout_unbatched(input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, True, False)


@_array_result
def alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False) -> Any:
    """Dropout for SELU networks: keeps zero mean and unit variance.

    Each element is dropped with probability ``p`` and set to SELU's negative saturation
    ``-1.7581``; then all are mapped by ``a * x + b``, with ``a = ((alpha**2 * p + 1) *
    (1 - p)) ** -0.5`` and ``b = a * alpha * p``, so that an input of zero mean and unit
    variance keeps both. Note that ``training`` defaults to ``False``, as in PyTorch.

    Parameters
    ----------
    input : Tensor or array
        Any shape.
    p : float
        The probability that an element is dropped, in ``[0, 1]``; ``p=1`` gives zeros.
    training : bool
        Apply dropout; otherwise (the default) ``input`` itself comes back.
    inplace : bool
        Overwrite ``input``.

    Returns
    -------
    Tensor or array
        A tensor's ``grad_fn`` is ``AddBackward0`` (after a ``MulBackward0``) in training.

    Raises
    ------
    ValueError
        When ``p`` is outside ``[0, 1]``.

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> y = F.alpha_dropout(tg.randn(100_000), p=0.2, training=True)
    >>> round(float(y.mean()), 1), round(float(y.std()), 1)
    (0.0, 1.0)
    >>> F.alpha_dropout(tg.ones(2), p=0.2)
    tensor([1., 1.])
    """
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, False, True)


@_array_result
def feature_alpha_dropout(
    input: Any, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Any:
    """Channel-wise :func:`alpha_dropout`: whole channels ``input[n, c]`` are set to SELU's
    negative saturation with probability ``p`` before the affine correction.

    Parameters
    ----------
    input : Tensor or array
        Of shape ``(N, C, ...)``.
    p : float
        The probability that a channel is dropped, in ``[0, 1]``.
    training : bool
        Apply dropout; otherwise (the default) ``input`` itself comes back.
    inplace : bool
        Overwrite ``input``.

    Returns
    -------
    Tensor or array
        A tensor's ``grad_fn`` is ``AddBackward0`` (after a ``MulBackward0``) in training.

    Raises
    ------
    ValueError
        When ``p`` is outside ``[0, 1]``.
    RuntimeError
        In training, for inputs with fewer than 2 dimensions.

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> y = F.feature_alpha_dropout(tg.zeros(1, 4, 3), p=0.5, training=True)
    >>> y[0, :, 0]
    tensor([ 0.7792, -0.7792, -0.7792, -0.7792])
    >>> bool((y == y[:, :, :1]).all())
    True
    """
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, True, True)


# ---------------------------------------------------------------------- padding


_PAD_NAMES = {
    "reflect": "ReflectionPad{}DBackward0",
    "replicate": "ReplicationPad{}DBackward0",
    "circular": None,
}


def _padded_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Source positions of the padded axis ``[-lo, n + hi)`` for a non-constant mode."""
    pos = np.arange(-lo, n + hi)
    if mode == "reflect":
        period = 2 * (n - 1)
        pos = np.abs(pos) % period if period else np.zeros_like(pos)
        return np.where(pos >= n, period - pos, pos)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    return pos % n  # circular


_HAS_NAMED_GETITEM = "name" in inspect.signature(_ix.getitem).parameters


def _getitem(x: Any, index: Any, name: str | None) -> Any:
    if name is not None and _HAS_NAMED_GETITEM:
        return _ix.getitem(x, index, name=name)
    return _ix.getitem(x, index)


@_array_result
def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Any:
    """Pad the last ``len(pad) // 2`` dimensions: ``pad = (left_last, right_last,
    left_second_last, right_second_last, ...)``, as PyTorch.

    ``mode`` is ``"constant"`` (filled with ``value``, default 0; negative widths crop),
    ``"reflect"`` (mirrored without repeating the edge), ``"replicate"`` (the edge repeated)
    or ``"circular"`` (wrapped around). The gradient of a position read several times adds up.

    >>> F.pad(tg.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
    tensor([[3., 2., 1., 2., 3., 2.]])
    >>> F.pad(tg.tensor([[1.0, 2.0]]), (1, 0), value=9.0)
    tensor([[9., 1., 2.]])
    """
    pad = [int(p) for p in pad]
    shape = _shape(input)
    ndim = len(shape)
    if len(pad) % 2:
        raise ValueError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > ndim:
        raise ValueError(
            "Padding length should be less than or equal to two times the input dimension"
        )
    pairs = {ndim - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(k)}
    if mode == "constant":
        return _pad_constant(input, shape, pairs, 0.0 if value is None else value)
    if mode not in _PAD_NAMES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor. Non-constant "
            "padding pads the last 1, 2 or 3 dimensions of a 2D/3D, 3D/4D or 4D/5D input."
        )
    for d, (lo, hi) in pairs.items():
        n = shape[d]
        limit = n if mode == "reflect" else (n + 1 if mode == "circular" else None)
        if limit is not None and (lo >= limit or hi >= limit):
            raise RuntimeError(
                f"Padding size should be less than the corresponding input dimension, but got: "
                f"padding ({lo}, {hi}) at dimension {d} of input {list(shape)}"
            )
        if n == 0 or (mode == "reflect" and n == 1 and (lo or hi)):
            raise RuntimeError(
                f"input tensor of shape {list(shape)} cannot be padded in mode {mode}"
            )
    dims = sorted(pairs)
    index: list[Any] = [slice(None)] * (ndim - k)
    for j, d in enumerate(dims):
        lo, hi = pairs[d]
        idx = _padded_index(shape[d], lo, hi, mode)
        index.append(idx.reshape((-1,) + (1,) * (k - 1 - j)))
    idx_t = tuple(_const(i, input) if isinstance(i, np.ndarray) else i for i in index)
    template = _PAD_NAMES[mode]
    return _getitem(input, idx_t, template.format(k) if template else None)


def _pad_constant(
    input: Any, shape: tuple[int, ...], pairs: dict[int, tuple[int, int]], value: float
) -> Any:
    crop: list[Any] = []
    cropping = False
    new_shape = list(shape)
    for d, n in enumerate(shape):
        lo, hi = pairs.get(d, (0, 0))
        start, stop = max(-lo, 0), n - max(-hi, 0)
        if start or stop != n:
            cropping = True
        crop.append(slice(start, stop))
        new_shape[d] = n + lo + hi
        if new_shape[d] < 0:
            raise RuntimeError(
                f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                f"output size, which is invalid. Check dimension {d} of your input."
            )
    src = _ix.getitem(input, tuple(crop)) if cropping else input
    place = tuple(
        slice(max(pairs.get(d, (0, 0))[0], 0), max(pairs.get(d, (0, 0))[0], 0) + s)
        for d, s in enumerate(_shape(src))
    )
    base = _xp(input).full(tuple(new_shape), value, dtype=input.dtype)
    out = _ix.index_put(base, src, place, name="ConstantPadNdBackward0")
    return show_as(out, "ConstantPadNdBackward0", input)


# ---------------------------------------------------------------------- convolutions


def _batched(input: Any, nd: int, name: str) -> tuple[Any, bool]:
    """``input`` with a batch dimension, and whether one was added (unbatched input)."""
    shape = _shape(input)
    if len(shape) == nd + 1:
        return _sh.reshape(input, (1,) + shape), True
    if len(shape) != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of size: {list(shape)}"
        )
    return input, False


def _unbatch(out: Any, added: bool) -> Any:
    return _sh.reshape(out, _shape(out)[1:]) if added else out


def _conv_padding(
    padding: Any,
    nd: int,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pairs = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(
            f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}"
        )
    pads = _ntuple(padding, nd, "padding")
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    return tuple((p, p) for p in pads)


def _convnd(
    nd: int,
    name: str,
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Any:
    x, added = _batched(input, nd, name)
    xs = _shape(x)
    ws = _shape(weight)
    if len(ws) != nd + 2:
        raise RuntimeError(
            f"weight should have {nd + 2} dimensions for {name}, got weight of size {list(ws)}"
        )
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if ws[0] % groups:
        raise RuntimeError("Given groups, expected weight to be divisible by groups")
    if xs[1] != ws[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(ws)}, expected input{list(_shape(input))}"
            f" to have {ws[1] * groups} channels, but got {xs[1]} channels instead"
        )
    if bias is not None and _shape(bias) != (ws[0],):
        raise RuntimeError(
            f"Given weight of size {list(ws)}, expected bias to be 1-dimensional with {ws[0]} "
            f"elements, but got bias of size {list(_shape(bias))} instead"
        )
    kernel = ws[2:]
    pads = _conv_padding(padding, nd, kernel, stride, dilation)
    padded = [n + lo + hi for n, (lo, hi) in zip(xs[2:], pads)]
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(p < s for p, s in zip(padded, spans)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, spans))}). Kernel size can't be greater than "
            "actual input size"
        )
    out = _conv.conv(x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)
    if not added:  # PyTorch's node lists the bias, None or not
        out = show_as(out, "ConvolutionBackward0", input, weight, bias)
    return _unbatch(out, added)


@_array_result
def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """1-D convolution (cross-correlation) of ``input`` (N, C_in, L) or (C_in, L) with
    ``weight`` (C_out, C_in / groups, K), plus ``bias`` (C_out,).

    ``padding`` is an int, a 1-tuple, ``"valid"`` (none) or ``"same"`` (output as long as the
    input; stride 1 only).

    >>> F.conv1d(tg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), tg.tensor([[[1.0, -1.0]]]))
    tensor([[[-1., -1., -1.]]])
    """
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


@_array_result
def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """2-D convolution (cross-correlation) of ``input`` (N, C_in, H, W) or (C_in, H, W) with
    ``weight`` (C_out, C_in / groups, kH, kW), plus ``bias`` (C_out,).

    ``stride``, ``padding`` and ``dilation`` are ints or pairs; ``padding`` may also be
    ``"valid"`` or ``"same"`` (stride 1 only; an odd total puts the extra zero at the end, as
    PyTorch). The forward gathers the windows (im2col) and multiplies them with the kernel in
    one matrix product per group; the gradients are convolutions again.

    >>> x = tg.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.conv2d(x, tg.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


@_array_result
def conv3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """3-D convolution of ``input`` (N, C_in, D, H, W) with ``weight`` (C_out, C_in / groups,
    kD, kH, kW); arguments as :func:`conv2d`.

    >>> F.conv3d(tg.ones(1, 1, 2, 2, 2), tg.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 1, 1, 1)
    """
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(
    nd: int,
    name: str,
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Any:
    x, added = _batched(input, nd, name)
    xs = _shape(x)
    ws = _shape(weight)
    if len(ws) != nd + 2:
        raise RuntimeError(
            f"weight should have {nd + 2} dimensions for {name}, got weight of size {list(ws)}"
        )
    if xs[1] != ws[0] or ws[0] % groups:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(ws)}, expected input{list(_shape(input))}"
            f" to have {ws[0]} channels, but got {xs[1]} channels instead"
        )
    stride = _ntuple(stride, nd, "stride")
    pads = _ntuple(padding, nd, "padding")
    out_pads = _ntuple(output_padding, nd, "output_padding")
    dilation = _ntuple(dilation, nd, "dilation")
    for op, s, d in zip(out_pads, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding: {out_pads}, stride: {stride}, dilation: {dilation}"
            )
    kernel = ws[2:]
    cin_g = ws[0] // groups
    cout_g = ws[1]
    # (C_in, C_out/G, *k) -> (C_out, C_in/G, *k) within each group, flipped in space.
    w = _sh.reshape(weight, (groups, cin_g, cout_g) + kernel)
    w = _sh.transpose(w, (0, 2, 1) + tuple(range(3, 3 + nd)))
    w = _sh.reshape(w, (groups * cout_g, cin_g) + kernel)
    w = _ix.getitem(w, (slice(None), slice(None)) + (slice(None, None, -1),) * nd)
    conv_pads = tuple(
        (d * (k - 1) - p, d * (k - 1) - p + op)
        for d, k, p, op in zip(dilation, kernel, pads, out_pads)
    )
    out = _conv.conv(
        x,
        w,
        bias,
        stride=1,
        padding=conv_pads,
        dilation=dilation,
        lhs_dilation=stride,
        groups=groups,
    )
    return _unbatch(out, added)


@_array_result
def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """Transposed 1-D convolution (the gradient of :func:`conv1d` with respect to its input);
    ``weight`` is (C_in, C_out / groups, K).

    >>> F.conv_transpose1d(tg.tensor([[[1.0, 2.0]]]), tg.tensor([[[1.0, 1.0]]]), stride=2)
    tensor([[[1., 1., 2., 2.]]])
    """
    return _conv_transposend(
        1,
        "conv_transpose1d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


@_array_result
def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """Transposed 2-D convolution (the gradient of :func:`conv2d` with respect to its input);
    ``weight`` is (C_in, C_out / groups, kH, kW).

    >>> F.conv_transpose2d(tg.ones(1, 1, 2, 2), tg.ones(1, 1, 2, 2), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_transposend(
        2,
        "conv_transpose2d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


# ---------------------------------------------------------------------- pooling


def _pool_args(
    nd: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any
) -> tuple[tuple[int, ...], ...]:
    kernel = _ntuple(kernel_size, nd, "kernel_size")
    stride = (
        kernel
        if stride is None or (not isinstance(stride, int) and len(stride) == 0)
        else _ntuple(stride, nd, "stride")
    )
    pads = _ntuple(padding, nd, "padding")
    dilation = _ntuple(dilation, nd, "dilation")
    if any(k <= 0 for k in kernel):
        raise RuntimeError("kernel size should be greater than zero")
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should be greater than zero")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    for p, k, d in zip(pads, kernel, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
    return kernel, stride, pads, dilation


def _max_poolnd(
    nd: int,
    name: str,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    kernel, stride, pads, dilation = _pool_args(nd, kernel_size, stride, padding, dilation)
    x, added = _batched(input, nd, name)
    out_sp, _ = _conv.pool_geometry(_shape(x)[2:], kernel, stride, pads, dilation, ceil_mode)
    if any(m <= 0 for m in out_sp):
        raise RuntimeError(
            f"Given input size: {list(_shape(x)[1:])}. Calculated output size: "
            f"{[_shape(x)[1]] + list(out_sp)}. Output size is too small"
        )
    out = _unbatch(_conv.max_pool(x, kernel, stride, pads, dilation, ceil_mode), added)
    if not return_indices:
        return out
    idx = _conv.max_pool_indices(x, kernel, stride, pads, dilation, ceil_mode)
    if added:
        idx = idx[0]
    return out, (Tensor._make(idx) if isinstance(input, Tensor) else idx)


@_array_result
def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum over each window of the last dimension of ``input`` (N, C, L) or (C, L).

    >>> F.max_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 5.0]]]), 2)
    tensor([[[3., 5.]]])
    """
    return _max_poolnd(
        1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


@_array_result
def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum over each ``kernel_size`` window of ``input`` (N, C, H, W) or (C, H, W).

    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the kernel) pads with
    ``-inf``; ``ceil_mode`` rounds the output size up. The gradient goes to the first maximal
    element of each window (row-major order), as PyTorch; with ``return_indices`` the flat
    positions of those elements within each channel come back too.

    >>> x = tg.tensor([[[[1.0, 2.0], [4.0, 3.0]]]], requires_grad=True)
    >>> y = F.max_pool2d(x, 2)
    >>> y.backward(tg.ones(1, 1, 1, 1))
    >>> x.grad
    tensor([[[[0., 0.],
              [1., 0.]]]])
    """
    return _max_poolnd(
        2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _pool_counts(n: int, m: int, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    starts = np.arange(m) * s - p
    ends = np.minimum(starts + k, n + p)
    if include_pad:
        return ends - starts
    return np.minimum(ends, n) - np.maximum(starts, 0)


def _avg_poolnd(
    nd: int,
    name: str,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Any,
) -> Any:
    kernel, stride, pads, _ = _pool_args(nd, kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, added = _batched(input, nd, name)
    shape = _shape(x)
    sp = shape[2:]
    out_sp, conv_pads = _conv.pool_geometry(sp, kernel, stride, pads, (1,) * nd, ceil_mode)
    if any(m <= 0 for m in out_sp):
        raise RuntimeError(
            f"Given input size: {list(shape[1:])}. Calculated output size: "
            f"{[shape[1]] + list(out_sp)}. Output size is too small"
        )
    xp = _xp(input)
    dtype = input.dtype
    flat = _sh.reshape(x, (shape[0] * shape[1], 1) + sp)
    ones = xp.ones((1, 1) + kernel, dtype=dtype)
    sums = _conv.conv(flat, ones, None, stride=stride, padding=conv_pads)
    if divisor_override is not None:
        out = sums * dtype.type(1.0 / divisor_override)
    else:
        counts = np.ones((), dtype=np.int64)
        for n, m, k, s, p in zip(sp, out_sp, kernel, stride, pads):
            c = _pool_counts(n, m, k, s, p, count_include_pad)
            counts = np.multiply.outer(counts, c)
        if (counts == counts.flat[0]).all():
            out = sums * dtype.type(1.0 / counts.flat[0])
        else:
            # Windows left entirely in the padding have count 0 and sum 0, as in PyTorch.
            out = sums / xp.asarray(np.maximum(counts, 1).astype(dtype))
    name_out = f"AvgPool{nd}DBackward0" if nd > 1 else None
    out = _sh.reshape(out, shape[:2] + out_sp, name=name_out)
    if name_out is not None and not added:
        out = show_as(out, name_out, input)
    return _unbatch(out, added)


@_array_result
def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Any:
    """The mean over each window of the last dimension of ``input`` (N, C, L) or (C, L).

    >>> F.avg_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2)
    tensor([[[2., 4.]]])
    """
    return _avg_poolnd(
        1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


@_array_result
def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """The mean over each ``kernel_size`` window of ``input`` (N, C, H, W) or (C, H, W).

    Zero padding counts in the divisor unless ``count_include_pad=False``;
    ``divisor_override`` replaces the divisor altogether.

    >>> F.avg_pool2d(tg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _avg_poolnd(
        2,
        "avg_pool2d",
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


# ---------------------------------------------------------------------- adaptive pooling


def _adaptive_bounds(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's windows of adaptive pooling: ``floor(i n / m)`` to ``ceil((i + 1) n / m)``."""
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def _adaptive_output_size(input: Any, output_size: Any) -> tuple[Any, Any]:
    """``output_size`` as a pair, ``None`` entries taken from the input (PyTorch's
    ``_list_with_default``)."""
    if isinstance(output_size, (int, np.integer)):
        return int(output_size), int(output_size)
    sizes = list(output_size)
    xs = _shape(input)
    if len(xs) <= len(sizes):
        raise ValueError(f"Input dimension should be at least {len(sizes) + 1}")
    sizes = [d if v is None else v for v, d in zip(sizes, xs[len(xs) - len(sizes) :])]
    if len(sizes) != 2:
        raise RuntimeError(
            f"adaptive pooling: output_size must be 2 ints, but got {len(sizes)} elements"
        )
    return int(sizes[0]), int(sizes[1])


def _adaptive_check(name: str, input: Any, sizes: tuple[int, int], colon: str) -> None:
    xs = _shape(input)
    if len(xs) not in (3, 4):
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but got{colon} {list(xs)}")
    for d in range(1, len(xs)):
        if xs[d] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, "
                f"but input has sizes {list(xs)} with dimension {d} being empty"
            )


def _adaptive_avg2d(input: Any, sizes: tuple[int, int]) -> Any:
    _adaptive_check("adaptive_avg_pool2d", input, sizes, "")
    if any(m < 0 for m in sizes):
        raise RuntimeError(
            "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 "
            f"but received {{{sizes[0]}, {sizes[1]}}}"
        )
    if sizes == (1, 1):  # PyTorch takes the mean here
        return show_as(_red.mean(input, (-2, -1), keepdims=True), "MeanBackward1", input)
    xp = _xp(input)
    dtype = input.dtype
    h, w = _shape(input)[-2:]
    mats = []
    for n, m in ((h, sizes[0]), (w, sizes[1])):
        starts, ends = _adaptive_bounds(n, m)
        j = np.arange(n)
        inside = (j >= starts[:, None]) & (j < ends[:, None])
        mats.append(xp.asarray((inside / (ends - starts)[:, None]).astype(dtype)))
    # Rows of the first matrix average the windows of H, columns of the second those of W.
    out = _la.matmul(_la.matmul(mats[0], input), mats[1].T)
    return show_as(out, "AdaptiveAvgPool2DBackward0", input)


@_array_result
def adaptive_avg_pool1d(input: Any, output_size: Any) -> Any:
    """The mean over ``output_size`` windows of the last dimension of ``input`` (N, C, L) or
    (C, L); window ``i`` spans ``floor(i L / out)`` to ``ceil((i + 1) L / out)``, as in
    PyTorch, so windows may overlap.

    >>> F.adaptive_avg_pool1d(tg.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 3)
    tensor([[[1.5000, 3.0000, 4.5000]]])
    """
    if not isinstance(output_size, (int, np.integer)):
        sizes = tuple(output_size)
        if len(sizes) != 1:
            raise RuntimeError(
                "adaptive_avg_pool1d() argument 'output_size' should contain one int "
                f"(got {len(sizes)})"
            )
        output_size = sizes[0]
    nd = len(_shape(input))
    if nd not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {nd}-dimensional tensor for argument #1 "
            "'self' (while checking arguments for adaptive_avg_pool1d)"
        )
    out = _adaptive_avg2d(_sh.expand_dims(input, -2), (1, int(output_size)))
    return _sh.squeeze(out, -2)


@_array_result
def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    """The mean over an ``output_size`` grid of windows of ``input`` (N, C, H, W) or
    (C, H, W); ``output_size`` is an int or a pair, whose ``None`` entries keep the input's
    size. Window ``i`` of a dimension of size ``L`` spans ``floor(i L / out)`` to
    ``ceil((i + 1) L / out)``, as in PyTorch.

    >>> F.adaptive_avg_pool2d(tg.arange(9.0).reshape(1, 1, 3, 3), 2)
    tensor([[[[2., 3.],
              [5., 6.]]]])
    >>> F.adaptive_avg_pool2d(tg.zeros(1, 2, 5, 7), (None, 3)).shape
    (1, 2, 5, 3)
    """
    return _adaptive_avg2d(input, _adaptive_output_size(input, output_size))


def _adaptive_index(n: int, m: int) -> np.ndarray:
    """The positions of the ``m`` windows of adaptive pooling along an axis of size ``n``, one
    row per window, each padded to the longest window (at least 1) by repeating its last
    position (a repeat never changes a window's maximum or which element is first)."""
    starts, ends = _adaptive_bounds(n, m)
    k = max(int((ends - starts).max()) if m else 1, 1)
    return np.minimum(starts[:, None] + np.arange(k), (ends - 1)[:, None])


def _window_pick(windows: Any) -> Any:
    """Which element PyTorch takes from each window (the last axis of ``windows``), kept as a
    length-1 axis: the first maximum, or the last NaN of a window that has one.

    Only positions are computed (nothing to differentiate): from the raw arrays, or with the
    operations that keep a batched value batched inside ``vmap``.
    """
    k = _shape(windows)[-1]
    if getattr(windows, "_batched", False):
        first = windows.argmax(-1, True)
        nan = windows != windows
        flipped = _ix.getitem(nan, (Ellipsis, slice(None, None, -1)))
        last = (k - 1) - flipped.argmax(-1, True)
        return _where(_ix.take_along_axis(nan, last, -1), last, first)
    xp = namespace(windows)
    first = xp.argmax(windows, axis=-1, keepdims=True)
    nan = xp.isnan(windows)
    last = (k - 1) - xp.argmax(nan[..., ::-1], axis=-1, keepdims=True)
    return xp.where(xp.take_along_axis(nan, last, -1), last, first)


def _size_type_error(name: str, what: str) -> TypeError:
    return TypeError(f"{name}(): argument 'output_size' (position 2) must be tuple of ints, {what}")


def _int_sizes(name: str, sizes: Sequence[Any]) -> tuple[int, ...]:
    for i, v in enumerate(sizes):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise _size_type_error(name, f"but found element of type {type(v).__name__} at pos {i}")
    return tuple(int(v) for v in sizes)


def _adaptive_max2d(input: Any, sizes: tuple[int, ...], return_indices: bool) -> Any:
    name = "adaptive_max_pool2d"
    _adaptive_check(name, input, sizes, ":")
    if len(sizes) != 2:
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be 2")
    xs = _shape(input)
    lead = xs[:-2]
    for m in sizes:
        if m < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {m}: {list(lead + sizes)}"
            )
    dtype = np.dtype(input.dtype)
    if dtype.kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for '{dtype_title(dtype)}'")
    (h, w), (oh, ow) = xs[-2:], sizes
    rows, cols = _adaptive_index(h, oh), _adaptive_index(w, ow)
    kh, kw = rows.shape[1], cols.shape[1]
    # Window (i, j) of the output, its elements in row-major order (PyTorch's scan).
    grid = (oh, ow, kh, kw)
    r = np.broadcast_to(rows[:, None, :, None], grid).reshape(oh, ow, kh * kw)
    c = np.broadcast_to(cols[None, :, None, :], grid).reshape(oh, ow, kh * kw)
    xp = _xp(input)
    flat = xp.broadcast_to(xp.asarray((r * w + c).astype(np.int64)), lead + r.shape)
    if getattr(input, "_batched", False):
        pick = _window_pick(_ix.getitem(input, (Ellipsis, r, c)))
        indices = _sh.squeeze(_ix.take_along_axis(flat, pick, -1), -1)
    else:
        pick = _window_pick(_raw(input)[..., r, c])
        indices = xp.take_along_axis(flat, pick, -1)[..., 0]
    # The one differentiable step: a gather of the chosen elements, whose gradient goes to
    # them (summed where overlapping windows choose the same element).
    plane = _sh.reshape(input, lead + (h * w,))
    out = _ix.take_along_axis(plane, _sh.reshape(indices, lead + (oh * ow,)), -1)
    out = show_as(_sh.reshape(out, lead + sizes), "AdaptiveMaxPool2DBackward0", input)
    if not return_indices:
        return out
    return out, (Tensor._make(indices) if _is_plain_tensor(input) else indices)


@_array_result
def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum over ``output_size`` windows of the last dimension of ``input``.

    Window ``i`` of a last dimension of size ``L`` spans ``floor(i L / out)`` to
    ``ceil((i + 1) L / out)``, as in PyTorch, so windows may overlap. Each window gives its
    first maximal element (its last NaN, where it has one), and the gradient goes to that
    element.

    Parameters
    ----------
    input : Tensor or array
        Floating point, of shape (N, C, L) or (C, L); no dimension but N may be empty.
    output_size : int or sequence of one int
        The number of windows.
    return_indices : bool
        Also return the positions of the chosen elements along ``L`` (int64, no gradient).

    Returns
    -------
    Tensor or array, or a pair of them
        The maxima, of shape (N, C, output_size) or (C, output_size), and with
        ``return_indices`` their positions.

    Examples
    --------
    >>> x = tg.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]], requires_grad=True)
    >>> out, idx = F.adaptive_max_pool1d(x, 3, return_indices=True)
    >>> out, idx
    (tensor([[[3., 5., 5.]]], grad_fn=<SqueezeBackward1>), tensor([[[1, 3, 3]]]))
    >>> out.sum().backward()
    >>> x.grad
    tensor([[[0., 1., 0., 2., 0.]]])
    """
    name = "adaptive_max_pool1d"
    if isinstance(output_size, (bool, np.bool_)):
        raise _size_type_error(name, "not bool")
    if isinstance(output_size, (int, np.integer)):
        sizes: tuple[int, ...] = (int(output_size),)
    elif isinstance(output_size, (tuple, list)):
        sizes = _int_sizes(name, output_size)
    else:
        raise _size_type_error(name, f"not {type(output_size).__name__}")
    xs = _shape(input)
    if len(xs) not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {len(xs)}-dimensional tensor for argument #1 "
            f"'self' (while checking arguments for {name})"
        )
    if len(sizes) != 1:
        raise RuntimeError(
            f"{name}() argument 'output_size' should contain one int (got {len(sizes)})"
        )
    for d in range(1, len(xs)):
        if xs[d] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, "
                f"but input has sizes {list(xs)} with dimension {d} being empty"
            )
    res = _adaptive_max2d(_sh.expand_dims(input, -2), (1, sizes[0]), return_indices)
    if not return_indices:
        return _sh.squeeze(res, -2)
    out, indices = res
    return _sh.squeeze(out, -2), _sh.squeeze(indices, -2)


@_array_result
def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum over an ``output_size`` grid of windows of ``input``.

    Window ``i`` of a dimension of size ``L`` spans ``floor(i L / out)`` to
    ``ceil((i + 1) L / out)``, as in PyTorch, so windows may overlap. Each window gives its
    first maximal element in row-major order (its last NaN, where it has one), and the
    gradient goes to that element.

    Parameters
    ----------
    input : Tensor or array
        Floating point, of shape (N, C, H, W) or (C, H, W); no dimension but N may be empty.
    output_size : int or pair
        The grid, ``(H_out, W_out)``; an int is a square grid, and a ``None`` entry keeps the
        input's size.
    return_indices : bool
        Also return the flat positions ``h * W + w`` of the chosen elements within their
        (H, W) plane (int64, no gradient).

    Returns
    -------
    Tensor or array, or a pair of them
        The maxima, of shape (N, C, H_out, W_out) or (C, H_out, W_out), and with
        ``return_indices`` their positions.

    Examples
    --------
    >>> x = tg.tensor([[[[1.0, 5.0, 2.0], [4.0, 3.0, 6.0], [0.0, 8.0, 7.0]]]], requires_grad=True)
    >>> out, idx = F.adaptive_max_pool2d(x, 2, return_indices=True)
    >>> out
    tensor([[[[5., 6.],
              [8., 8.]]]], grad_fn=<AdaptiveMaxPool2DBackward0>)
    >>> idx
    tensor([[[[1, 5],
              [7, 7]]]])
    >>> out.sum().backward()
    >>> x.grad
    tensor([[[[0., 1., 0.],
              [0., 0., 1.],
              [0., 2., 0.]]]])
    >>> F.adaptive_max_pool2d(tg.zeros(2, 5, 7), (None, 3)).shape
    (2, 5, 3)
    """
    name = "adaptive_max_pool2d"
    if isinstance(output_size, (bool, np.bool_)):
        raise _size_type_error(name, "not bool")
    if isinstance(output_size, (int, np.integer)):
        sizes: tuple[int, ...] = (int(output_size),) * 2
    else:
        n = len(output_size)  # PyTorch's TypeError for None and other non-sequences
        xs = _shape(input)
        if len(xs) <= n:
            raise ValueError(f"Input dimension should be at least {n + 1}")
        given = list(output_size)
        sizes = _int_sizes(name, [d if v is None else v for v, d in zip(given, xs[len(xs) - n :])])
    return _adaptive_max2d(input, sizes, return_indices)


# ---------------------------------------------------------------------- embeddings


@_array_result
def embedding(
    input: Any,
    weight: Any,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Any:
    """Rows of ``weight`` picked by the integer indices ``input`` (shape
    ``(*input.shape, embedding_dim)``).

    Gradients of repeated indices add up; rows looked up at ``padding_idx`` get no gradient.
    With ``max_norm``, the rows looked up whose ``norm_type``-norm exceeds it are rescaled
    in place to that norm first (as PyTorch, outside the graph).

    >>> F.embedding(tg.tensor([2, 0]), tg.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    tensor([[4., 5.],
            [0., 1.]])
    """
    if sparse:
        raise NotImplementedError("embedding(sparse=True): tapegrad has no sparse gradients")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding(scale_grad_by_freq=True) is not supported")
    idx = _raw(input)
    idx = idx if hasattr(idx, "dtype") else np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {idx.dtype} instead (while checking arguments for "
            "embedding)"
        )
    ws = _shape(weight)
    if len(ws) != 2:
        raise RuntimeError("'weight' must be 2-D")
    n = ws[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= n
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    rows = _ix.getitem(weight, _const(idx, weight))
    if padding_idx is not None and getattr(rows, "requires_grad", False):
        keep = _xp(weight).asarray((idx != padding_idx)[..., None])
        rows = _ew.where(keep, rows, _detach(rows))
    return show_as(rows, "EmbeddingBackward0", weight)


def _renorm_rows(weight: Any, idx: Any, max_norm: float, norm_type: float) -> None:
    raw = _raw(weight)
    xp = namespace(raw)
    rows = xp.unique(xp.asarray(idx).reshape(-1))
    picked = raw[rows]
    norms = (
        xp.linalg.norm(picked, ord=norm_type, axis=1)
        if norm_type != 2.0
        else xp.sqrt(xp.sum(picked * picked, axis=1))
    )
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(raw.dtype)
    raw[rows] = picked * scale[:, None]
    if isinstance(weight, Tensor):
        weight._bump()


@_array_result
def one_hot(tensor: Any, num_classes: int = -1) -> Any:
    """Integer class indices as one-hot rows (int64), ``num_classes`` wide (by default one
    more than the largest index).

    >>> F.one_hot(tg.tensor([0, 2]))
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    idx = _raw(tensor)
    if idx.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = namespace(idx)
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out) if isinstance(tensor, Tensor) else out


# ---------------------------------------------------------------------- normalisation


def _normalize_last(x: Any, axes: tuple[int, ...], eps: float) -> Any:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` with the biased variance, and the
    statistics."""
    mu = _red.mean(x, axes, keepdims=True)
    centred = x - mu
    var = _red.mean(centred * centred, axes, keepdims=True)
    return centred * _ew.reciprocal(_ew.sqrt(var + eps)), mu, var


@_array_result
def layer_norm(
    input: Any,
    normalized_shape: Sequence[int] | int,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Any:
    """Normalise over the trailing ``normalized_shape`` dimensions, then scale and shift.

    The variance is the biased one (mean of squared deviations), as in PyTorch.

    >>> F.layer_norm(tg.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    shape = (
        (int(normalized_shape),)
        if isinstance(normalized_shape, (int, np.integer))
        else tuple(int(s) for s in normalized_shape)
    )
    xs = _shape(input)
    n = len(shape)
    if n == 0 or len(xs) < n or xs[len(xs) - n :] != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in shape)}], but got input of size{list(xs)}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and _shape(p) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(_shape(p))} and normalized_shape = {list(shape)}"
            )
    axes = tuple(range(len(xs) - n, len(xs)))
    out = _normalize_last(input, axes, eps)[0]
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return show_as(out, "NativeLayerNormBackward0", input, weight, bias)


@_array_result
def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Batch normalisation over dimension 1 of ``input`` (N, C, ...).

    In training, each channel is normalised with the mean and biased variance of the batch,
    and ``running_mean``/``running_var`` (when given) are updated in place outside the graph:
    ``r = (1 - momentum) * r + momentum * stat``, with the unbiased variance. In evaluation,
    the running statistics normalise. ``weight`` and ``bias`` (C,) scale and shift.

    >>> rm, rv = tg.zeros(2), tg.ones(2)
    >>> F.batch_norm(tg.tensor([[1.0, 2.0], [3.0, 6.0]]), rm, rv, training=True)
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]])
    >>> rm, rv
    (tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
    """
    xs = _shape(input)
    if len(xs) < 2:
        raise ValueError(f"batch_norm expects an input of at least 2 dimensions, got {list(xs)}")
    c = xs[1]
    axes = (0,) + tuple(range(2, len(xs)))
    bshape = (1, c) + (1,) * (len(xs) - 2)
    for name, p in (
        ("weight", weight),
        ("bias", bias),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        if p is not None and _shape(p) != (c,):
            raise RuntimeError(f"{name} should contain {c} elements not {math.prod(_shape(p))}")
    if training:
        count = math.prod(xs) // c if c else 0
        if count == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {list(xs)}"
            )
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
        out, mu, var = _normalize_last(input, axes, eps)
        if running_mean is not None or running_var is not None:
            _update_running(running_mean, running_var, mu, var, momentum, count)
    else:
        if eps < 0.0:
            raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
        if running_mean is None or running_var is None:
            raise RuntimeError(
                f"running_{'mean' if running_mean is None else 'var'} must be defined in "
                "evaluation mode"
            )
        rm = _sh.reshape(running_mean, bshape)
        rv = _sh.reshape(running_var, bshape)
        out = (input - rm) * _ew.reciprocal(_ew.sqrt(rv + eps))
    if weight is not None:
        out = out * _sh.reshape(weight, bshape)
    if bias is not None:
        out = out + _sh.reshape(bias, bshape)
    return show_as(out, "NativeBatchNormBackward0", input, weight, bias)


def _update_running(
    running_mean: Any, running_var: Any, mu: Any, var: Any, momentum: float, count: int
) -> None:
    unbiased = count / (count - 1) if count > 1 else float("nan")
    for target, stat, factor in ((running_mean, mu, 1.0), (running_var, var, unbiased)):
        if target is None:
            continue
        raw = _raw(target)
        value = _raw(stat).reshape(-1) * factor
        new = (1.0 - momentum) * raw + momentum * value
        namespace(raw).copyto(raw, new, casting="unsafe")
        if isinstance(target, Tensor):
            target._bump()


@_array_result
def group_norm(
    input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Any:
    """Group normalisation of ``input`` (N, C, ...): the channels split into ``num_groups``
    groups, each sample's group is normalised with its mean and biased variance, then
    ``weight`` and ``bias`` (C,) scale and shift each channel.

    >>> x = tg.tensor([[[1.0, 3.0], [5.0, 7.0], [0.0, 4.0], [2.0, 2.0]]])
    >>> F.group_norm(x, 2)
    tensor([[[-1.3416, -0.4472],
             [ 0.4472,  1.3416],
             [-1.4142,  1.4142],
             [ 0.0000,  0.0000]]])
    """
    xs = _shape(input)
    if len(xs) < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {len(xs)}"
        )
    n, c = xs[0], xs[1]
    size = [n * c // num_groups, num_groups] + list(xs[2:])
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(xs)} and num_groups={num_groups}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and _shape(p) != (c,):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(_shape(p))} and input of shape {list(xs)}"
            )
    grouped = _sh.reshape(input, (n, num_groups, math.prod(xs[1:]) // num_groups))
    out = _sh.reshape(_normalize_last(grouped, (2,), eps)[0], xs)
    bshape = (1, c) + (1,) * (len(xs) - 2)
    if weight is not None:
        out = out * _sh.reshape(weight, bshape)
    if bias is not None:
        out = out + _sh.reshape(bias, bshape)
    return show_as(out, "NativeGroupNormBackward0", input, weight, bias)


@_array_result
def instance_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Instance normalisation of ``input`` (N, C, ...): each channel of each sample is
    normalised over its spatial dimensions, then ``weight`` and ``bias`` (C,) scale and shift.

    As in PyTorch, this is :func:`batch_norm` on the input viewed as one sample of ``N * C``
    channels. With ``use_input_stats`` (the default) the input's statistics normalise, and
    ``running_mean``/``running_var`` (C,), when given, are updated in place with their mean
    over the batch; otherwise the running statistics normalise.

    >>> rm, rv = tg.zeros(2), tg.ones(2)
    >>> F.instance_norm(tg.tensor([[[1.0, 3.0], [2.0, 6.0]]]), rm, rv)
    tensor([[[-1.0000,  1.0000],
             [-1.0000,  1.0000]]])
    >>> rm, rv
    (tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
    """
    xs = _shape(input)
    if use_input_stats and math.prod(xs[2:]) == 1:
        raise ValueError(
            "Expected more than 1 spatial element when training, got input size "
            + _size_repr(input)
        )
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(
            "Expected running_mean and running_var to be defined when use_input_stats is false"
        )
    _red.wrap_dim(1, len(xs))  # the channel dimension must exist
    n = xs[0]

    def repeated(p: Any) -> Any:
        if p is None:
            return None
        return show_as(_sh.tile(p, (n,)), "RepeatBackward0", p)

    stats = []
    for r in (running_mean, running_var):
        raw = None if r is None else _raw(r)
        stats.append(None if raw is None else namespace(raw).tile(raw, n))
    out = batch_norm(
        _sh.reshape(input, (1, n * xs[1]) + xs[2:]),
        stats[0],
        stats[1],
        repeated(weight),
        repeated(bias),
        use_input_stats,
        momentum,
        eps,
    )
    if use_input_stats:
        for target, new in zip((running_mean, running_var), stats):
            if target is None:
                continue
            raw = _raw(target)
            xp = namespace(raw)
            xp.copyto(raw, xp.mean(new.reshape(n, -1), axis=0), casting="unsafe")
            if isinstance(target, Tensor):
                target._bump()
    return _sh.reshape(out, xs)


@_array_result
def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Any:
    """``input / max(||input||_p, eps)`` along ``dim``.

    >>> F.normalize(tg.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    if p == 2.0:
        norm = _ew.sqrt(_red.sum(input * input, dim, keepdims=True))
    elif p == 1.0:
        norm = _red.sum(_ew.abs(input), dim, keepdims=True)
    else:
        norm = _ew.power(_red.sum(_ew.power(_ew.abs(input), p), dim, keepdims=True), 1.0 / p)
    return input / _ew.maximum(norm, eps)


# ---------------------------------------------------------------------- distances


def _broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The shape ``a`` and ``b`` broadcast to (PyTorch's error when they do not)."""
    ndim = max(len(a), len(b))
    a = (1,) * (ndim - len(a)) + tuple(a)
    b = (1,) * (ndim - len(b)) + tuple(b)
    for i in range(ndim - 1, -1, -1):
        if a[i] != b[i] and a[i] != 1 and b[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                f"non-singleton dimension {i}"
            )
    return tuple(sa if sb == 1 else sb for sa, sb in zip(a, b))


def _clamped_norm(x: Any, dim: int | None, eps: float) -> Any:
    """``max(||x||_2, eps)`` along ``dim`` (kept), whose gradient is that of the norm itself:
    PyTorch clamps the norm without recording the clamp."""
    n = _red.norm(x, 2, dim, True)
    return _where(n < eps, (n - _detach(n)) + eps, n)


@_array_result
def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """``sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps))``, the inputs broadcast
    together first; each input is divided by its norm before the product, as in PyTorch.

    >>> F.cosine_similarity(tg.tensor([[1.0, 0.0], [1.0, 1.0]]), tg.tensor([[1.0, 1.0]]))
    tensor([0.7071, 1.0000])
    """
    s1, s2 = _shape(x1), _shape(x2)
    shape = _broadcast_shape(s1, s2)
    dim = _red.wrap_dim(dim, len(shape))
    if s1 != shape:
        x1 = _sh.broadcast_to(x1, shape)
    if s2 != shape:
        x2 = _sh.broadcast_to(x2, shape)
    if not shape:  # a 0-d value is a vector of one element
        dim = None
    unit1 = x1 / _clamped_norm(x1, dim, eps)
    unit2 = x2 / _clamped_norm(x2, dim, eps)
    return _red.sum(unit1 * unit2, dim, dim_given=True)


@_array_result
def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Any:
    """``||x1 - x2 + eps||_p`` over the last dimension (of the inputs broadcast together).

    >>> F.pairwise_distance(tg.tensor([[0.0, 0.0], [1.0, 1.0]]), tg.tensor([[3.0, 4.0]]), eps=0.0)
    tensor([5.0000, 3.6056])
    """
    ndim = max(len(_shape(x1)), len(_shape(x2)))
    d = x1 - x2 + eps
    return _red.norm(d, p, ndim - 1 if ndim else None, keepdim)


# ---------------------------------------------------------------------- regression losses


def _weighted(loss: Any, input: Any, weight: Any, reduction: str) -> Any:
    if weight is None:
        return _reduce(loss, reduction)
    if _shape(weight) != _shape(input):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _red.sum(loss)
    return _red.sum(loss) / _red.sum(weight)


@_array_result
def mse_loss(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """Mean squared error ``mean((input - target) ** 2)``; ``weight`` (shaped like the input)
    weights each element, and the mean then divides by the sum of the weights.

    >>> F.mse_loss(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor(2.)
    """
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    d = input - target
    return show_as(_weighted(d * d, input, weight, reduction), "MseLossBackward0", input, target)


@_array_result
def l1_loss(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """Mean absolute error ``mean(|input - target|)`` (gradient 0 where they are equal).

    >>> F.l1_loss(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor(1.)
    """
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _weighted(_ew.abs(input - target), input, weight, reduction)


def _huber(d: Any, delta: float) -> Any:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``."""
    a = _ew.abs(d)
    return _where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)


@_array_result
def smooth_l1_loss(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Any:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - beta / 2`` (``d = input -
    target``); plain L1 loss when ``beta == 0``.

    >>> F.smooth_l1_loss(tg.tensor([0.0, 3.0]), tg.tensor([0.5, 0.0]))
    tensor(1.3125)
    """
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    if beta == 0.0:
        out = _reduce(_ew.abs(d), reduction)
    else:
        out = _reduce(_huber(d, beta) * (1.0 / beta), reduction)
    return show_as(out, "SmoothL1LossBackward0", input, target)


@_array_result
def huber_loss(
    input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None
) -> Any:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``.

    >>> F.huber_loss(tg.tensor([0.0, 3.0]), tg.tensor([0.5, 0.0]))
    tensor(1.3125)
    """
    _warn_size(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    out = _weighted(_huber(input - target, delta), input, weight, reduction)
    return show_as(out, "HuberLossBackward0", input, target)


# ---------------------------------------------------------------------- classification losses


def _class_targets(input: Any, target: Any, ignore_index: int) -> Any:
    """The raw class indices of ``target``, checked against the input's classes."""
    if getattr(target, "_batched", False):
        return None  # inside vmap: the primitive checks each example's targets
    t = _raw(target)
    t = t if hasattr(t, "dtype") else np.asarray(t)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {t.dtype}")
    shape = _shape(input)
    c = shape[0] if len(shape) == 1 else shape[1]
    if t.size:
        bad = ((t < 0) | (t >= c)) & (t != ignore_index)
        if bool(bad.any()):
            raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    return t


@_array_result
def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """Negative log-likelihood of the class indices ``target`` under the log-probabilities
    ``input``: shapes (C,) and (), (N, C) and (N,), or (N, C, d1, ...) and (N, d1, ...).

    ``weight`` (C,) rescales each class; targets equal to ``ignore_index`` do not count, and
    the mean divides by the total weight of the targets that count.

    >>> F.nll_loss(tg.tensor([[-1.0, -2.0], [-3.0, -0.5]]), tg.tensor([0, 1]))
    tensor(0.7500)
    """
    reduction = _reduction(size_average, reduce, reduction)
    shape = _shape(input)
    if len(shape) < 1:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    _class_targets(input, target, ignore_index)
    w = None if weight is None else _raw(weight)
    c = shape[0] if len(shape) == 1 else shape[1]
    if w is not None and _shape(w) != (c,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but "
            f"got weight tensor of shape: {list(_shape(w))}"
        )
    if len(shape) == 2:
        return _nn.nll_loss(input, target, w, reduction, ignore_index)
    t = _raw(target)
    if len(shape) == 1:
        if _shape(t) != ():
            raise ValueError(
                f"Expected input batch_size (1) to match target batch_size ({_shape(t)[0]})."
            )
        out = _nn.nll_loss(_sh.reshape(input, (1, c)), t.reshape(1), w, reduction, ignore_index)
        return _sh.reshape(out, ()) if reduction == "none" else out
    n, rest = shape[0], shape[2:]
    if _shape(t) != (n,) + rest:
        raise RuntimeError(f"Expected target size {[n] + list(rest)}, got {list(_shape(t))}")
    k = len(rest)
    flat = _sh.reshape(_sh.transpose(input, (0,) + tuple(range(2, 2 + k)) + (1,)), (-1, c))
    out = _nn.nll_loss(flat, t.reshape(-1), w, reduction, ignore_index)
    return _sh.reshape(out, (n,) + rest) if reduction == "none" else out


@_array_result
def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
    """Cross-entropy of the logits ``input`` (C,), (N, C) or (N, C, d1, ...) against class
    indices, or against class probabilities shaped like the input.

    Equals ``nll_loss(log_softmax(input, 1), target)`` for indices. ``label_smoothing``
    mixes the target with the uniform distribution: the loss becomes ``(1 - eps) * nll +
    eps / C * smooth`` with ``smooth`` the (weighted) sum of ``-log p`` over the classes, as
    PyTorch computes it.

    >>> F.cross_entropy(tg.zeros(2, 4), tg.tensor([0, 3]))
    tensor(1.3863)
    >>> F.cross_entropy(tg.tensor([[2.0, 0.0]]), tg.tensor([0]), label_smoothing=0.2)
    tensor(0.3269)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    shape = _shape(input)
    class_dim = 0 if len(shape) == 1 else 1
    c = shape[class_dim]
    logp = _nn.log_softmax(input, class_dim)
    t = _raw(target)
    t_dtype = getattr(t, "dtype", None)
    wshape = tuple(c if i == class_dim else 1 for i in range(len(shape)))
    if t_dtype is not None and t_dtype.kind == "f":
        if _shape(t) != shape:
            raise RuntimeError(
                "Expected floating point type target to have the same shape as the input "
                f"({list(shape)}), got {list(_shape(t))}"
            )
        prob = target
        if label_smoothing > 0.0:
            prob = target * (1.0 - label_smoothing) + label_smoothing / c
        terms = logp * prob
        if weight is not None:
            terms = terms * _sh.reshape(_const(weight, input), wshape)
        if reduction == "none":
            return _ew.negative(_red.sum(terms, class_dim))
        total = _ew.negative(_red.sum(terms))
        if reduction == "sum":
            return total
        return total / (math.prod(shape) // c if c else 0)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0.0:
        return loss
    t = _class_targets(input, target, ignore_index)
    xp = _xp(input)
    ignored = xp.asarray(t == ignore_index)
    if weight is not None:
        w = _const(weight, input)
        smooth = _ew.negative(_red.sum(logp * _sh.reshape(w, wshape), class_dim))
    else:
        smooth = _ew.negative(_red.sum(logp, class_dim))
    smooth = _ew.where(ignored, 0.0, smooth)
    if reduction == "mean":
        kept = ~ignored
        if weight is not None:
            denom = xp.sum(w[xp.where(kept, xp.asarray(t), 0)] * kept)
        else:
            denom = xp.sum(kept)
        smooth = _red.sum(smooth) / denom.astype(input.dtype)
    elif reduction == "sum":
        smooth = _red.sum(smooth)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


@_array_result
def binary_cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross-entropy of probabilities ``input`` against ``target`` of the same shape:
    ``-w [y log x + (1 - y) log(1 - x)]``, logarithms clamped at -100 as in PyTorch, so
    inputs of exactly 0 or 1 give finite losses and gradients.

    >>> F.binary_cross_entropy(tg.tensor([0.5, 0.9]), tg.tensor([1.0, 1.0]))
    tensor(0.3993)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"Using a target size ({_size_repr(target)}) that is different to the input size "
            f"({_size_repr(input)}) is deprecated. Please ensure they have the same size."
        )
    raw = _raw(input)
    if not getattr(input, "_batched", False) and getattr(raw, "size", 0):
        if not bool(((raw >= 0) & (raw <= 1)).all()):
            raise RuntimeError("all elements of input should be between 0 and 1")
    w = None
    if weight is not None:
        w = _xp(input).broadcast_to(_const(weight, input), _shape(input))
    return _nn.binary_cross_entropy(input, target, w, reduction)


@_array_result
def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Any:
    """Binary cross-entropy on logits, ``-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]``
    computed stably in one operation; ``pos_weight`` (``p``) weights the positive term.

    >>> F.binary_cross_entropy_with_logits(tg.zeros(2), tg.tensor([0.0, 1.0]))
    tensor(0.6931)
    """
    if size_average is not None or reduce is not None or reduction != "mean":
        reduction = _reduction(size_average, reduce, reduction)
    return _nn.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)


@_array_result
def kl_div(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Any:
    """Kullback-Leibler divergence ``target * (log target - input)`` with ``input`` given as
    log-probabilities (and ``target`` too with ``log_target=True``).

    ``reduction="batchmean"`` divides the sum by the batch size (the mathematically correct
    KL divergence); ``"mean"`` divides by the number of elements, as PyTorch.

    >>> F.kl_div(tg.log(tg.tensor([0.5, 0.5])), tg.tensor([0.25, 0.75]), reduction="sum")
    tensor(0.1308)
    """
    batchmean = reduction == "batchmean"
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=3,
        )
    reduction = _reduction(size_average, reduce, "sum" if batchmean else reduction)
    if log_target:
        loss = _ew.exp(target) * (target - input)
    else:
        # target * (log target - input), taken as 0 where target is 0 (xlogy's convention).
        positive = _detach(target) > 0
        safe = _where(positive, target, 1.0)
        loss = _where(positive, target * (_ew.log(safe) - input), 0.0)
    if batchmean:
        shape = _shape(input)
        return _red.sum(loss) / (shape[0] if shape else 1)
    return _reduce(loss, reduction)


# Batching rules of this package's primitives: registered here, once tapegrad.batching (which
# imports tapegrad.ops) can be imported.
_nn.register_batching()
_conv.register_batching()
_sp.register_batching()
