"""Loss functions as modules: ``CrossEntropyLoss``, ``NLLLoss``, ``MSELoss``, ``L1Loss``,
``SmoothL1Loss``, ``HuberLoss``, ``BCELoss``, ``BCEWithLogitsLoss``, ``KLDivLoss``.

Class weights are registered as buffers, so they appear in the state dict as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "CrossEntropyLoss",
    "NLLLoss",
    "MSELoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "KLDivLoss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """The reduction that PyTorch's deprecated ``size_average``/``reduce`` select (with its
    warning), or ``reduction`` when both are ``None``."""
    if size_average is None and reduce is None:
        return reduction
    return F._reduction(size_average, reduce, reduction)


class _Loss(Module):
    _reductions: tuple[str, ...] = _REDUCTIONS

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in self._reductions:
            raise ValueError(f"{reduction} is not a valid value for reduction")
        self.reduction = reduction


class CrossEntropyLoss(_Loss):
    """Cross-entropy between logits ``(N, C)`` and class indices ``(N,)``.

    Same as ``log_softmax`` followed by ``nll_loss``; ``weight`` rescales each class and
    targets equal to ``ignore_index`` do not count.

    >>> loss = tg.nn.CrossEntropyLoss()
    >>> loss(tg.zeros(2, 4), tg.tensor([0, 3]))
    tensor(1.3863)
    """

    def __init__(
        self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices under log-probabilities ``(N, C)`` (or
    ``(C,)``, or ``(N, C, d1, ...)``); see :func:`tapegrad.nn.functional.nll_loss`.

    ``weight`` (a buffer, one value per class) rescales each class; targets equal to
    ``ignore_index`` do not count.

    >>> from tapegrad.nn.loss import NLLLoss
    >>> loss = NLLLoss(weight=tg.tensor([1.0, 3.0]))
    >>> loss(tg.tensor([[-1.0, -2.0], [-3.0, -0.5]]), tg.tensor([0, 1]))
    tensor(0.6250)
    >>> list(loss.state_dict())
    ['weight']
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(_legacy_reduction(size_average, reduce, reduction))
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class MSELoss(_Loss):
    """Mean squared error ``mean((input - target) ** 2)`` (``reduction="sum"``/``"none"`` too).

    >>> tg.nn.MSELoss()(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor(2.)
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``mean(|input - target|)`` (``reduction="sum"``/``"none"`` too).

    >>> from tapegrad.nn.loss import L1Loss
    >>> L1Loss()(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor(1.)
    >>> L1Loss(reduction="none")(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor([0., 2.])
    """

    def __init__(
        self, size_average: Any = None, reduce: Any = None, reduction: str = "mean"
    ) -> None:
        super().__init__(_legacy_reduction(size_average, reduce, reduction))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above: ``0.5 d**2 / beta`` where ``|d| <
    beta``, else ``|d| - beta / 2``; see :func:`tapegrad.nn.functional.smooth_l1_loss`.

    >>> from tapegrad.nn.loss import SmoothL1Loss
    >>> SmoothL1Loss()(tg.tensor([0.0, 3.0]), tg.tensor([0.5, 0.0]))
    tensor(1.3125)
    >>> SmoothL1Loss(beta=2.0)(tg.tensor([0.0, 3.0]), tg.tensor([0.5, 0.0]))
    tensor(1.0312)
    """

    def __init__(
        self,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(_legacy_reduction(size_average, reduce, reduction))
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Squared error below ``delta``, scaled absolute error above: ``0.5 d**2`` where ``|d| <
    delta``, else ``delta (|d| - delta / 2)``; see :func:`tapegrad.nn.functional.huber_loss`.

    >>> from tapegrad.nn.loss import HuberLoss
    >>> HuberLoss(delta=2.0)(tg.tensor([0.0, 3.0]), tg.tensor([0.5, 0.0]))
    tensor(2.0625)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities against targets of the same shape; see
    :func:`tapegrad.nn.functional.binary_cross_entropy`.

    ``weight`` (a buffer) multiplies the loss of each element (it broadcasts to the input).

    >>> from tapegrad.nn.loss import BCELoss
    >>> BCELoss()(tg.tensor([0.5, 0.9]), tg.tensor([1.0, 1.0]))
    tensor(0.3993)
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(_legacy_reduction(size_average, reduce, reduction))
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably in one operation.

    ``pos_weight`` multiplies the loss of positive examples (one weight per class).

    >>> tg.nn.BCEWithLogitsLoss()(tg.zeros(2), tg.tensor([0.0, 1.0]))
    tensor(0.6931)
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``; see
    :func:`tapegrad.nn.functional.kl_div`.

    ``reduction="batchmean"`` divides the sum by the batch size (the true KL divergence);
    ``log_target=True`` takes the target as log-probabilities too.

    >>> from tapegrad.nn.loss import KLDivLoss
    >>> loss = KLDivLoss(reduction="batchmean")
    >>> loss(tg.log(tg.tensor([[0.5, 0.5]])), tg.tensor([[0.25, 0.75]]))
    tensor(0.1308)
    """

    _reductions = _REDUCTIONS + ("batchmean",)

    def __init__(
        self,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(_legacy_reduction(size_average, reduce, reduction))
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
