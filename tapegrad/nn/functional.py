"""``tapegrad.nn.functional``: activations and losses with PyTorch's names and defaults."""

from __future__ import annotations

from typing import Any

from ..ops import elementwise as _ew
from ..ops import linalg as _la
from ..ops import nn as _nn
from ..ops import reduce as _red

__all__ = [
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "softmax",
    "log_softmax",
    "linear",
    "mse_loss",
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
]

relu = _ew.relu
sigmoid = _ew.sigmoid
tanh = _ew.tanh
binary_cross_entropy_with_logits = _nn.binary_cross_entropy_with_logits


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(beta * x)) / beta``."""
    if beta == 1.0:
        return _ew.softplus(input)
    return _ew.softplus(input * beta) / beta


def softmax(input: Any, dim: int) -> Any:
    """Softmax along ``dim``."""
    return _nn.softmax(input, dim)


def log_softmax(input: Any, dim: int) -> Any:
    """Log-softmax along ``dim``."""
    return _nn.log_softmax(input, dim)


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """``input @ weight.T + bias``.

    >>> import tapegrad as tg
    >>> tg.nn.functional.linear(tg.ones(1, 2), tg.ones(3, 2), tg.zeros(3))
    tensor([[2., 2., 2.]])
    """
    from ..ops.linalg import swap_last

    out = _la.matmul(input, swap_last(weight) if len(weight.shape) == 2 else weight)
    return out if bias is None else out + bias


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error."""
    d = input - target
    sq = d * d
    if reduction == "none":
        return sq
    return _red.sum(sq) if reduction == "sum" else _red.mean(sq)


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Any:
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``."""
    return _nn.nll_loss(input, target, weight, reduction, ignore_index)


def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean") -> Any:
    """Cross-entropy of logits ``input`` (N, C) against class indices ``target``.

    >>> import tapegrad as tg
    >>> tg.nn.functional.cross_entropy(tg.zeros(2, 4), tg.tensor([0, 3]))
    tensor(1.3863)
    """
    return _nn.nll_loss(_nn.log_softmax(input, 1), target, weight, reduction, ignore_index)

# Functions whose modules live beside their layers.
from .activation import gelu, leaky_relu  # noqa: E402
from .layers import dropout, embedding, layer_norm  # noqa: E402

__all__ += ["gelu", "leaky_relu", "dropout", "embedding", "layer_norm"]
