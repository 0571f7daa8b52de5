"""Activation functions as modules.

The functions themselves live in :mod:`tapegrad.nn.functional`; ``gelu`` and ``leaky_relu``
are re-exported here for code that imports them from this module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init as _init
from .functional import gelu, leaky_relu  # noqa: F401  (re-exported, see above)
from .module import Module
from .parameter import Parameter

__all__ = [
    "ReLU",
    "ReLU6",
    "Tanh",
    "Sigmoid",
    "GELU",
    "LeakyReLU",
    "ELU",
    "SiLU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "SELU",
    "CELU",
    "Mish",
    "Softsign",
    "Hardtanh",
    "Hardswish",
    "Hardsigmoid",
    "Hardshrink",
    "Softshrink",
    "Tanhshrink",
    "Threshold",
    "GLU",
    "LogSigmoid",
    "Softmin",
    "PReLU",
    "RReLU",
    "CosineSimilarity",
    "PairwiseDistance",
]


def _find_erf() -> Callable[[Any], Any] | None:
    """The differentiable ``erf`` operation (``tg.special.erf``) that exact GELU uses."""
    from .. import special

    return special.erf


class ReLU(Module):
    """``max(x, 0)`` elementwise; with ``inplace=True`` the input is overwritten (PyTorch's
    rules for in-place changes apply).

    >>> tg.nn.ReLU()(tg.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """Hyperbolic tangent elementwise.

    >>> tg.nn.Tanh()(tg.tensor([0.0]))
    tensor([0.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` elementwise.

    >>> tg.nn.Sigmoid()(tg.tensor([0.0]))
    tensor([0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class GELU(Module):
    """Gaussian error linear unit; see :func:`gelu` for the two forms.

    >>> tg.nn.GELU(approximate="tanh")(tg.tensor([1.0]))
    tensor([0.8412])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"approximate argument must be either none or tanh, got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """``x`` for positive ``x``, ``negative_slope * x`` otherwise.

    >>> tg.nn.LeakyReLU(0.1)(tg.tensor([-1.0, 1.0]))
    tensor([-0.1000,  1.0000])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, a smooth ReLU.

    >>> tg.nn.Softplus()(tg.tensor([0.0]))
    tensor([0.6931])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``dim``.

    >>> tg.nn.Softmax(dim=1)(tg.zeros(1, 4))
    tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim``.

    >>> tg.nn.LogSoftmax(dim=1)(tg.zeros(1, 2))
    tensor([[-0.6931, -0.6931]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ReLU6(Module):
    """``min(max(x, 0), 6)`` elementwise.

    >>> from tapegrad.nn.activation import ReLU6
    >>> ReLU6()(tg.tensor([-1.0, 7.0]))
    tensor([0., 6.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ELU(Module):
    """``x`` for positive ``x``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> from tapegrad.nn.activation import ELU
    >>> ELU()(tg.tensor([-1.0, 1.0]))
    tensor([-0.6321,  1.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """``x * sigmoid(x)`` elementwise.

    >>> from tapegrad.nn.activation import SiLU
    >>> SiLU()(tg.tensor([1.0]))
    tensor([0.7311])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SELU(Module):
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    >>> from tapegrad.nn.activation import SELU
    >>> SELU()(tg.tensor([-1.0, 1.0]))
    tensor([-1.1113,  1.0507])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class CELU(Module):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> from tapegrad.nn.activation import CELU
    >>> CELU(alpha=2.0)(tg.tensor([-1.0, 1.0]))
    tensor([-0.7869,  1.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Mish(Module):
    """``x * tanh(softplus(x))``.

    >>> from tapegrad.nn.activation import Mish
    >>> Mish()(tg.tensor([-1.0, 1.0]))
    tensor([-0.3034,  0.8651])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Softsign(Module):
    """``x / (1 + |x|)``.

    >>> from tapegrad.nn.activation import Softsign
    >>> Softsign()(tg.tensor([-1.0, 3.0]))
    tensor([-0.5000,  0.7500])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``; ``min_value``/``max_value`` are the deprecated
    names of the bounds.

    >>> from tapegrad.nn.activation import Hardtanh
    >>> Hardtanh(-2.0, 2.0)(tg.tensor([-3.0, 0.5, 3.0]))
    tensor([-2.0000,  0.5000,  2.0000])
    """

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn(
                "keyword argument `min_value` is deprecated and renamed to `min_val`",
                FutureWarning,
                stacklevel=2,
            )
            min_val = min_value
        if max_value is not None:
            warnings.warn(
                "keyword argument `max_value` is deprecated and renamed to `max_val`",
                FutureWarning,
                stacklevel=2,
            )
            max_val = max_value
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if self.max_val <= self.min_val:
            raise AssertionError(
                f"max_val ({self.max_val}) must be greater than min_val ({self.min_val})"
            )

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class Hardswish(Module):
    """``x * relu6(x + 3) / 6``.

    >>> from tapegrad.nn.activation import Hardswish
    >>> Hardswish()(tg.tensor([-1.0, 1.0]))
    tensor([-0.3333,  0.6667])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, self.inplace)


class Hardsigmoid(Module):
    """``relu6(x + 3) / 6``.

    >>> from tapegrad.nn.activation import Hardsigmoid
    >>> Hardsigmoid()(tg.tensor([-4.0, 0.0, 1.5]))
    tensor([0.0000, 0.5000, 0.7500])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input, self.inplace)


class Hardshrink(Module):
    """``x`` where ``|x| > lambd``, else 0.

    >>> from tapegrad.nn.activation import Hardshrink
    >>> Hardshrink()(tg.tensor([-1.0, 0.25, 0.75]))
    tensor([-1.0000,  0.0000,  0.7500])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """``x`` moved ``lambd`` towards 0, and 0 where ``|x| <= lambd``.

    >>> from tapegrad.nn.activation import Softshrink
    >>> Softshrink()(tg.tensor([-1.0, 0.25, 0.75]))
    tensor([-0.5000,  0.0000,  0.2500])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Tanhshrink(Module):
    """``x - tanh(x)``.

    >>> from tapegrad.nn.activation import Tanhshrink
    >>> Tanhshrink()(tg.tensor([0.0, 1.0]))
    tensor([0.0000, 0.2384])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``.

    >>> from tapegrad.nn.activation import Threshold
    >>> Threshold(0.5, -2.0)(tg.tensor([-1.0, 0.5, 2.0]))
    tensor([-2., -2.,  2.])
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class GLU(Module):
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second half.

    >>> from tapegrad.nn.activation import GLU
    >>> GLU()(tg.tensor([[1.0, 2.0, 0.0, 0.0]]))
    tensor([[0.5000, 1.0000]])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSigmoid(Module):
    """``log(sigmoid(x))``, stable.

    >>> from tapegrad.nn.activation import LogSigmoid
    >>> LogSigmoid()(tg.tensor([0.0]))
    tensor([-0.6931])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softmin(Module):
    """Softmin (softmax of ``-x``) along ``dim``.

    >>> from tapegrad.nn.activation import Softmin
    >>> Softmin(dim=0)(tg.tensor([0.0, 1.0]))
    tensor([0.7311, 0.2689])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """``x`` for positive ``x``, ``weight * x`` otherwise, with ``num_parameters`` learned
    slopes (one per channel, or one shared), each initialised to ``init``.

    >>> from tapegrad.nn.activation import PReLU
    >>> m = PReLU()
    >>> m
    PReLU(num_parameters=1)
    >>> m(tg.tensor([-2.0, 2.0]))
    tensor([-0.5000,  2.0000], grad_fn=<PreluKernelBackward0>)
    >>> m.weight
    Parameter containing:
    tensor([0.2500], requires_grad=True)
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(creation.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set every slope back to ``init``."""
        _init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class CosineSimilarity(Module):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``; see
    :func:`~tapegrad.nn.functional.cosine_similarity`.

    >>> from tapegrad.nn.activation import CosineSimilarity
    >>> CosineSimilarity(dim=0)(tg.tensor([1.0, 0.0]), tg.tensor([1.0, 1.0]))
    tensor(0.7071)
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` over the last dimension; the order ``p`` is kept as ``norm``.

    >>> from tapegrad.nn.activation import PairwiseDistance
    >>> PairwiseDistance(eps=0.0)(tg.tensor([[0.0, 0.0]]), tg.tensor([[3.0, 4.0]]))
    tensor([5.])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class RReLU(Module):
    """Randomized leaky ReLU (:func:`tapegrad.nn.functional.rrelu`): in training mode each
    element that is not positive is multiplied by a slope drawn uniformly from
    ``[lower, upper]``; in evaluation mode by ``(lower + upper) / 2``.

    Parameters
    ----------
    lower, upper : float
        The range of the slopes.
    inplace : bool
        Overwrite the input.

    Examples
    --------
    >>> act = tg.nn.RReLU(0.1, 0.3)
    >>> act
    RReLU(lower=0.1, upper=0.3)
    >>> act.eval()(tg.tensor([-1.0, 2.0]))
    tensor([-0.2000,  2.0000])
    >>> tg.manual_seed(0)
    >>> y = act.train()(-tg.ones(1000))
    >>> bool((y >= -0.3).all() and (y <= -0.1).all())
    True
    """

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace_str}"
