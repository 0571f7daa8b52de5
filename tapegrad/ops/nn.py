"""Neural-network primitives with fused rules: log-softmax, softmax, NLL loss, and binary
cross-entropy on probabilities and on logits.

These are primitives rather than compositions where a fused rule is more accurate or matches
PyTorch at the edges: ``binary_cross_entropy`` clamps its logarithms at -100 and its gradient
divides by ``max(x (1 - x), 1e-12)``, so inputs of exactly 0 or 1 give finite losses and
gradients, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitive import Primitive, bind, bind2
from ..tensor import Tensor
from .elementwise import exp, log, log1p, maximum, negative, softplus, tanh
from .reduce import mean_values, normalize_axis, sum
from .shape import broadcast_to, reshape, transpose

__all__ = [
    "log_softmax",
    "softmax",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


def _spread(reduced: Any, like: Any) -> Any:
    """A reduced term broadcast to the full shape, so that the tangent of the difference
    keeps that shape even when only this term carries a tangent (nested forward mode)."""
    return broadcast_to(reduced, tuple(like.shape))


def _log_softmax_fwd(xp: Any, x: Any, axis: int) -> Any:
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    shifted = x - m
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


LOG_SOFTMAX = Primitive(
    "log_softmax",
    _log_softmax_fwd,
    (lambda g, x, out, axis: g - exp(out) * sum(g, axis, keepdims=True),),
    lambda t, x, out, axis: t[0] - _spread(sum(exp(out) * t[0], axis, keepdims=True), out),
    uses=((-1,),),
    grad_fn="LogSoftmaxBackward0",
)


def _softmax_fwd(xp: Any, x: Any, axis: int) -> Any:
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(x - m)
    return e / xp.sum(e, axis=axis, keepdims=True)


SOFTMAX = Primitive(
    "softmax",
    _softmax_fwd,
    (lambda g, x, out, axis: out * (g - sum(g * out, axis, keepdims=True)),),
    lambda t, x, out, axis: out * (t[0] - _spread(sum(t[0] * out, axis, keepdims=True), out)),
    uses=((-1,),),
    grad_fn="SoftmaxBackward0",
)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x, axis)``, stable."""
    (ax,) = normalize_axis(axis, len(x.shape))
    return bind(LOG_SOFTMAX, (x,), {"axis": ax})


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x), axis)``, stable."""
    (ax,) = normalize_axis(axis, len(x.shape))
    return bind(SOFTMAX, (x,), {"axis": ax})


def _nll_fwd(
    xp: Any, logp: Any, target: Any, weight: Any, reduction: str, ignore_index: int
) -> Any:
    n = logp.shape[0]
    t = xp.where(target == ignore_index, 0, target)
    picked = logp[xp.arange(n), t]
    w = xp.ones_like(picked) if weight is None else weight[t].astype(logp.dtype)
    w = xp.where(target == ignore_index, 0, w).astype(logp.dtype)
    losses = -picked * w
    if reduction == "none":
        return losses
    if reduction == "sum":
        return xp.sum(losses)
    return xp.sum(losses) / xp.sum(w)


def _nll_vjp(
    g: Any, logp: Any, out: Any, target: Any, weight: Any, reduction: str, ignore_index: int
) -> Any:
    from ..backend import namespace
    from .index import scatter

    raw = logp.data if isinstance(logp, Tensor) else logp
    xp = namespace(raw)
    n = raw.shape[0]
    t = xp.where(target == ignore_index, 0, target)
    w = xp.ones(n, dtype=raw.dtype) if weight is None else weight[t].astype(raw.dtype)
    w = xp.where(target == ignore_index, 0, w).astype(raw.dtype)
    if reduction == "mean":
        w = w / xp.sum(w)
    if reduction == "none":
        coeff = negative(g) * w
    else:
        coeff = reshape(negative(g), (1,)) * w
    return scatter(coeff, (xp.arange(n), t), tuple(raw.shape), False)


def _nll_jvp(
    t: Any, logp: Any, out: Any, target: Any, weight: Any, reduction: str, ignore_index: int
) -> Any:
    from ..backend import namespace
    from .index import getitem

    raw = logp.data if isinstance(logp, Tensor) else logp
    xp = namespace(raw)
    n = raw.shape[0]
    tgt = xp.where(target == ignore_index, 0, target)
    w = xp.ones(n, dtype=raw.dtype) if weight is None else weight[tgt].astype(raw.dtype)
    w = xp.where(target == ignore_index, 0, w).astype(raw.dtype)
    picked = negative(getitem(t[0], (xp.arange(n), tgt))) * w
    if reduction == "none":
        return picked
    total = sum(picked)
    return total / xp.sum(w) if reduction == "mean" else total


NLL_LOSS = Primitive(
    "nll_loss",
    _nll_fwd,
    (_nll_vjp,),
    _nll_jvp,
    uses=((0,),),
    grad_fn="NllLossBackward0",
)


def nll_loss(
    logp: Any, target: Any, weight: Any = None, reduction: str = "mean", ignore_index: int = -100
) -> Any:
    """Negative log-likelihood of class ``target`` under log-probabilities ``logp`` (N, C)."""
    t = target.data if isinstance(target, Tensor) else target
    w = weight.data if isinstance(weight, Tensor) else weight
    if len(logp.shape) != 2:
        raise ValueError(f"nll_loss expects input of shape (N, C), got {tuple(logp.shape)}")
    if tuple(t.shape) != (logp.shape[0],):
        raise ValueError(
            f"Expected input batch_size ({logp.shape[0]}) to match target batch_size "
            f"({t.shape[0] if t.ndim else 0})."
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return bind(
        NLL_LOSS,
        (logp,),
        {"target": t, "weight": w, "reduction": reduction, "ignore_index": ignore_index},
    )


# ---------------------------------------------------------------------- BCE with logits


def _bce_fwd(xp: Any, x: Any, y: Any, weight: Any, pos_weight: Any, reduction: str) -> Any:
    # softplus(-x) = log(1 + exp(-x)), stable (a Python 0.0 keeps x's dtype)
    sp = xp.logaddexp(0.0, -x)
    if sp.dtype != x.dtype:
        sp = sp.astype(x.dtype)
    if pos_weight is not None:
        sp = (1 + (pos_weight - 1) * y) * sp
    loss = (x - y * x) + sp  # (1 - y) x + softplus(-x)
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    return mean_values(xp, loss)


def _bce_scale(g: Any, shape: tuple[int, ...], reduction: str) -> Any:
    """The loss's cotangent ``g`` as each element's share: ``g / n`` for a mean."""
    if reduction != "mean":
        return g
    n = _size(shape)
    if g.__class__ is np.ndarray and not g.ndim:
        # A Python number: NumPy's arithmetic on a 0-d array costs more than the product.
        return float(g) / n
    return g / n


def _bce_grad_x(
    g: Any, x: Any, y: Any, out: Any, weight: Any, pos_weight: Any, reduction: str
) -> Any:
    # sigmoid(x) as 0.5 + 0.5 tanh(x / 2): a few array operations instead of sigmoid's ten
    # (its tails keep their relative accuracy, which this difference does not need: d is off
    # by at most a rounding error of 1, as PyTorch's sigmoid(x) - y is).
    if pos_weight is None:
        d = 0.5 * tanh(0.5 * x) + (0.5 - y)  # sigmoid(x) - y
    else:
        p = 0.5 - 0.5 * tanh(0.5 * x)  # sigmoid(-x)
        d = (1 - y) - (1 + (pos_weight - 1) * y) * p
    if weight is not None:
        d = d * weight
    return _bce_scale(g, x.shape, reduction) * d


def _bce_grad_y(
    g: Any, x: Any, y: Any, out: Any, weight: Any, pos_weight: Any, reduction: str
) -> Any:
    d = negative(x)
    if pos_weight is not None:
        d = d + (pos_weight - 1) * softplus(negative(x))
    if weight is not None:
        d = d * weight
    return _bce_scale(g, tuple(x.shape), reduction) * d


def _bce_jvp(t: Any, x: Any, y: Any, out: Any, weight: Any, pos_weight: Any, reduction: str) -> Any:
    one = 1.0
    terms = None
    if t[0] is not None:
        terms = _bce_grad_x(one, x, y, out, weight, pos_weight, "none") * t[0]
    if t[1] is not None:
        ty = _bce_grad_y(one, x, y, out, weight, pos_weight, "none") * t[1]
        terms = ty if terms is None else terms + ty
    if terms is None or reduction == "none":
        return terms
    return sum(terms) if reduction == "sum" else sum(terms) / _size(x.shape)


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


BCE_WITH_LOGITS = Primitive(
    "binary_cross_entropy_with_logits",
    _bce_fwd,
    (_bce_grad_x, _bce_grad_y),
    _bce_jvp,
    uses=((0, 1), (0,)),
    grad_fn="BinaryCrossEntropyWithLogitsBackward0",
)


def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
) -> Any:
    """Binary cross-entropy on logits, ``-[y log σ(x) + (1-y) log(1-σ(x))]``, stable."""
    if tuple(getattr(target, "shape", ())) != tuple(input.shape):
        raise ValueError(
            f"Target size ({tuple(getattr(target, 'shape', ()))}) must be the same as input "
            f"size ({tuple(input.shape)})"
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    w = weight.data if isinstance(weight, Tensor) else weight
    pw = pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight
    # (Two arguments, no NumPy shortcut: ``bind`` would hand them to the binary hot path.)
    return bind2(
        BCE_WITH_LOGITS, input, target, {"weight": w, "pos_weight": pw, "reduction": reduction}
    )


# ---------------------------------------------------------------------- BCE on probabilities


#: PyTorch's lower bound of ``x (1 - x)`` in the gradient: 1e-12 rounded to float32.
_BCE_EPS = float(np.float32(1e-12))


def _bce_prob_fwd(xp: Any, x: Any, y: Any, weight: Any, reduction: str) -> Any:
    with np.errstate(divide="ignore"):
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
    loss = (y - 1) * log_1mx - y * log_x
    if weight is not None:
        loss = loss * weight
    loss = loss.astype(x.dtype, copy=False)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    return mean_values(xp, loss)


def _bce_prob_grad_x(g: Any, x: Any, y: Any, out: Any, weight: Any, reduction: str) -> Any:
    d = (x - y) / maximum((1 - x) * x, _BCE_EPS)
    if weight is not None:
        d = d * weight
    return _bce_scale(g, tuple(x.shape), reduction) * d


def _bce_prob_grad_y(g: Any, x: Any, y: Any, out: Any, weight: Any, reduction: str) -> Any:
    with np.errstate(divide="ignore"):
        d = log1p(negative(x)) - log(x)
    if weight is not None:
        d = d * weight
    return _bce_scale(g, tuple(x.shape), reduction) * d


def _bce_prob_jvp(t: Any, x: Any, y: Any, out: Any, weight: Any, reduction: str) -> Any:
    terms = None
    if t[0] is not None:
        terms = _bce_prob_grad_x(1.0, x, y, out, weight, "none") * t[0]
    if t[1] is not None:
        ty = _bce_prob_grad_y(1.0, x, y, out, weight, "none") * t[1]
        terms = ty if terms is None else terms + ty
    if terms is None or reduction == "none":
        return terms
    return sum(terms) if reduction == "sum" else sum(terms) / _size(x.shape)


BINARY_CROSS_ENTROPY = Primitive(
    "binary_cross_entropy",
    _bce_prob_fwd,
    (_bce_prob_grad_x, _bce_prob_grad_y),
    _bce_prob_jvp,
    uses=((0, 1), (0,)),
    grad_fn="BinaryCrossEntropyBackward0",
)


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Any:
    """Binary cross-entropy of probabilities ``input`` against ``target`` (same shape):
    ``-w [y log x + (1 - y) log(1 - x)]``, with the logarithms clamped at -100.

    ``weight`` (a constant, broadcast to the input's shape) rescales each element.

    >>> from tapegrad.ops.nn import binary_cross_entropy
    >>> binary_cross_entropy(np.array([0.5, 1.0]), np.array([1.0, 0.0]), reduction="none")
    array([  0.69314718, 100.        ])
    """
    if tuple(getattr(target, "shape", ())) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({tuple(getattr(target, 'shape', ()))}) that is different "
            f"to the input size ({tuple(input.shape)}) is deprecated. Please ensure they have "
            "the same size."
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    w = weight.data if isinstance(weight, Tensor) else weight
    return bind(BINARY_CROSS_ENTROPY, (input, target), {"weight": w, "reduction": reduction})


def _bce_prob_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    """Batching: per-example losses of the whole batch at once, reduced per example."""
    from .reduce import mean

    size = next(tuple(v.shape)[d] for v, d in zip(vals, dims) if d is not None)

    def front(v: Any, d: int | None) -> Any:
        shape = tuple(v.shape)
        if d is None:
            return broadcast_to(reshape(v, (1,) + shape), (size,) + shape)
        if d == 0:
            return v
        return transpose(v, (d,) + tuple(i for i in range(len(shape)) if i != d))

    x, y = (front(v, d) for v, d in zip(vals, dims))
    p = dict(params)
    p["reduction"] = "none"
    losses = bind(BINARY_CROSS_ENTROPY, (x, y), p)
    reduction = params["reduction"]
    if reduction == "none":
        return losses, 0
    axes = tuple(range(1, len(losses.shape)))
    return (sum(losses, axes) if reduction == "sum" else mean(losses, axes)), 0


def register_batching() -> None:
    """Register the batching rules of this module's newer primitives.

    ``tapegrad.batching`` imports this module, so the registration runs later, from
    ``tapegrad.nn.functional``.
    """
    from .. import batching

    batching.register(BINARY_CROSS_ENTROPY, _bce_prob_rule)
