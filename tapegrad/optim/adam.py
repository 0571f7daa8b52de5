"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..backend import namespace
from ..creation import as_tensor
from ..tensor import Tensor
from .optimizer import Optimizer, ParamGroup

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, with PyTorch's exact update rule.

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p                 (or p = p * (1 - lr * weight_decay) when
                                                  decoupled_weight_decay, as AdamW does)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                    (amsgrad only; v_max is used below for v)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-3
        Learning rate.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0
        L2 penalty (added to the gradient unless ``decoupled_weight_decay``).
    amsgrad : bool, default False
        Normalise by the running maximum of the second moment (AMSGrad).
    maximize : bool, default False
        Ascend instead of descend.
    decoupled_weight_decay : bool, default False
        Shrink the weights directly (AdamW) instead of adding to the gradient.

    Examples
    --------
    >>> w = tg.nn.Parameter(tg.tensor([1.0, -1.0]))
    >>> opt = tg.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([ 0.9000, -0.9000], requires_grad=True)
    >>> sorted(opt.state[w])
    ['exp_avg', 'exp_avg_sq', 'step']
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any], group: ParamGroup) -> None:
        xp = namespace(p.data)
        if not state:
            state["step"] = as_tensor(xp.zeros((), dtype=np.float32))
            state["exp_avg"] = as_tensor(xp.zeros_like(p.data))
            state["exp_avg_sq"] = as_tensor(xp.zeros_like(p.data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = as_tensor(xp.zeros_like(p.data))
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        data = p.data
        if group["maximize"]:
            grad = -grad
        state["step"].data += 1
        step = float(state["step"].data)

        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * data

        m = state["exp_avg"].data
        v = state["exp_avg_sq"].data
        if data.dtype.kind == "c":  # complex numbers as pairs of reals, as PyTorch does
            real = data.real.dtype
            data, grad, m, v = (a.view(real) for a in (data, grad, m, v))
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad

        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            v_max = state["max_exp_avg_sq"].data
            if v_max.dtype.kind == "c":
                v_max = v_max.view(v.dtype)
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        denom = xp.sqrt(v) / bias_correction2_sqrt + group["eps"]
        data += -(lr / bias_correction1) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p * (1 - lr * weight_decay)`` before the Adam
    step, instead of adding ``weight_decay * p`` to the gradient.

    Same parameters as :class:`Adam`, with ``weight_decay`` defaulting to ``1e-2``.

    Examples
    --------
    >>> w = tg.nn.Parameter(tg.tensor([1.0]))
    >>> opt = tg.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * 0).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.9500], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
