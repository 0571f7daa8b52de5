"""Layers with parameters or modes: Linear, Conv1d, Conv2d, Conv3d, ConvTranspose1d,
ConvTranspose2d, pooling (adaptive pooling too), the dropouts (Dropout, Dropout1d, Dropout2d,
Dropout3d, AlphaDropout, FeatureAlphaDropout), LayerNorm,
GroupNorm, BatchNorm1d, BatchNorm2d, InstanceNorm1d, InstanceNorm2d, Embedding, Identity,
Flatten, Unflatten.

The layers call the functions of :mod:`tapegrad.nn.functional`; ``dropout``, ``layer_norm``
and ``embedding`` are re-exported here for code that imports them from this module.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional import dropout, embedding, layer_norm
from .module import Module
from .parameter import Parameter

__all__ = [
    "Identity",
    "Linear",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "Flatten",
    "Unflatten",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "LayerNorm",
    "GroupNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "Embedding",
    "dropout",
    "layer_norm",
    "embedding",
]


class Identity(Module):
    """Returns its input; a placeholder that accepts and ignores any arguments.

    >>> tg.nn.Identity(54, unused="argument")(tg.tensor([1.0]))
    tensor([1.])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """Affine map ``y = x @ W.T + b`` over the last dimension.

    The weight (``out_features x in_features``) is initialised as PyTorch does, by
    ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(in_features), 1/sqrt(in_features))``, and
    the bias from the same range.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool, default True
        Whether to learn an additive bias.
    device, dtype : optional
        Where and in which floating-point dtype to create the parameters (float32 by default).

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> layer = tg.nn.Linear(3, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer(tg.ones(5, 3)).shape
    (5, 2)
    >>> [tuple(p.shape) for p in layer.parameters()]
    [(2, 3), (2,)]
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        kw = {"device": device, "dtype": dtype}
        self.weight = Parameter(creation.empty(out_features, in_features, **kw))
        if bias:
            self.bias = Parameter(creation.empty(out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh initial values, as the constructor does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def _ntuple(v: Any, n: int) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    return v * n if len(v) == 1 else v


class _ConvNd(Module):
    """Shared body of the convolutions and transposed convolutions (PyTorch's ``_ConvNd``)."""

    _nd = 0
    _transposed = False
    _padding_modes = ("zeros", "reflect", "replicate", "circular")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel = _ntuple(kernel_size, nd)
        stride_t = _ntuple(stride, nd)
        dilation_t = _ntuple(dilation, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in stride_t):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in self._padding_modes:
            raise ValueError(
                f"padding_mode must be one of {set(self._padding_modes)}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel
        self.stride = stride_t
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, nd)
        self.dilation = dilation_t
        self.transposed = self._transposed
        self.output_padding = (0,) * nd
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's widths (last dimension first) for the non-zero padding modes.
        if isinstance(self.padding, str):
            widths = [0, 0] * nd
            if self.padding == "same":
                for d, k, i in zip(dilation_t, kernel, range(nd - 1, -1, -1)):
                    total = d * (k - 1)
                    widths[2 * i] = total // 2
                    widths[2 * i + 1] = total - total // 2
        else:
            widths = [p for p in reversed(self.padding) for _ in range(2)]
        self._reversed_padding_repeated_twice = widths
        kw = {"device": device, "dtype": dtype}
        if self._transposed:
            shape = (in_channels, out_channels // groups, *kernel)
        else:
            shape = (out_channels, in_channels // groups, *kernel)
        self.weight = Parameter(creation.empty(*shape, **kw))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh initial values as PyTorch does: the weight by
        ``kaiming_uniform_(a=sqrt(5))``, the bias from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _conv(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        fn = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over an input (N, C_in, L) or (C_in, L); see :class:`Conv2d`.

    >>> tg.manual_seed(0)
    >>> from tapegrad.nn.layers import Conv1d
    >>> conv = Conv1d(2, 4, 3, padding=1)
    >>> conv
    Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=(1,))
    >>> conv(tg.ones(5, 2, 7)).shape
    (5, 4, 7)
    """

    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over an input (N, C_in, H, W) or (C_in, H, W).

    The weight (``out_channels x in_channels / groups x kH x kW``) is initialised as PyTorch
    does, by ``kaiming_uniform_(a=sqrt(5))``, and the bias from ``U(-1/sqrt(fan_in),
    1/sqrt(fan_in))`` with ``fan_in = in_channels / groups * kH * kW``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or pair
    stride, dilation : int or pair, default 1
    padding : int, pair, ``"valid"`` or ``"same"``, default 0
        ``"same"`` keeps the spatial size (stride 1 only).
    groups : int, default 1
        Split the channels into groups convolved separately (``in_channels`` for depthwise).
    bias : bool, default True
    padding_mode : ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``
    device, dtype : optional
        Where and in which floating-point dtype to create the parameters (float32 default).

    Examples
    --------
    >>> tg.manual_seed(0)
    >>> from tapegrad.nn.layers import Conv2d
    >>> conv = Conv2d(1, 8, 3)
    >>> conv
    Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))
    >>> conv(tg.ones(2, 1, 28, 28)).shape
    (2, 8, 26, 26)
    >>> Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False)
    Conv2d(4, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=4, bias=False)
    """

    _nd = 2


class Conv3d(_ConvNd):
    """3-D convolution over an input (N, C_in, D, H, W) or (C_in, D, H, W); arguments as
    :class:`Conv2d`, with triples in place of pairs.

    >>> tg.manual_seed(0)
    >>> from tapegrad.nn.layers import Conv3d
    >>> conv = Conv3d(1, 2, (1, 3, 3), padding=(0, 1, 1))
    >>> conv
    Conv3d(1, 2, kernel_size=(1, 3, 3), stride=(1, 1, 1), padding=(0, 1, 1))
    >>> conv(tg.ones(4, 1, 3, 5, 5)).shape
    (4, 2, 3, 5, 5)
    >>> conv.weight.shape
    (2, 1, 1, 3, 3)
    """

    _nd = 3


class _ConvTransposeNd(_ConvNd):
    """Shared body of the transposed convolutions (PyTorch's ``_ConvTransposeNd``).

    The weight is ``in_channels x out_channels / groups x kernel``; ``forward`` takes an
    optional ``output_size`` that picks the output padding.
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__} does not support string padding")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.output_padding = _ntuple(output_padding, self._nd)

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        nd = self._nd
        if output_size is None:
            return self.output_padding
        lead = 2 if input.ndim == nd + 2 else 1
        size = [int(s) for s in output_size]
        if len(size) == lead + nd:
            size = size[lead:]
        if len(size) != nd:
            raise ValueError(
                f"ConvTranspose{nd}D: for {input.ndim}D input, output_size must have {nd} "
                f"or {lead + nd} elements (got {len(size)})"
            )
        lo = [
            (input.shape[lead + d] - 1) * self.stride[d]
            - 2 * self.padding[d]
            + self.dilation[d] * (self.kernel_size[d] - 1)
            + 1
            for d in range(nd)
        ]
        hi = [m + s - 1 for m, s in zip(lo, self.stride)]
        for n, a, b in zip(size, lo, hi):
            if not a <= n <= b:
                raise ValueError(
                    f"requested an output size of {size}, but valid sizes range from {lo} to "
                    f"{hi} (for an input of {list(input.shape[lead:])})"
                )
        return tuple(n - a for n, a in zip(size, lo))

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        fn = (F.conv_transpose1d, F.conv_transpose2d)[self._nd - 1]
        return fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution over an input (N, C_in, L) or (C_in, L); see
    :func:`tapegrad.nn.functional.conv_transpose1d`.

    The output length is ``(L - 1) * stride - 2 * padding + dilation * (kernel_size - 1) +
    output_padding + 1``. The weight (``in_channels x out_channels / groups x kernel_size``)
    and the bias are initialised as PyTorch does.

    >>> tg.manual_seed(0)
    >>> from tapegrad.nn.layers import ConvTranspose1d
    >>> up = ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1)
    >>> up
    ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,), padding=(1,), output_padding=(1,))
    >>> up(tg.ones(5, 4, 8)).shape
    (5, 2, 16)
    >>> up.weight.shape
    (4, 2, 3)
    """

    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution over an input (N, C_in, H, W) or (C_in, H, W); see
    :func:`tapegrad.nn.functional.conv_transpose2d`.

    ``forward(input, output_size)`` picks the output padding that gives ``output_size``.

    >>> tg.manual_seed(0)
    >>> from tapegrad.nn.layers import ConvTranspose2d
    >>> up = ConvTranspose2d(3, 6, 3, stride=2, padding=1)
    >>> up
    ConvTranspose2d(3, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
    >>> x = tg.ones(1, 3, 4, 4)
    >>> up(x).shape
    (1, 6, 7, 7)
    >>> up(x, output_size=(8, 8)).shape
    (1, 6, 8, 8)
    """

    _nd = 2


class _MaxPoolNd(Module):
    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """The maximum over each window of the last dimension; see
    :func:`tapegrad.nn.functional.max_pool1d`.

    >>> from tapegrad.nn.layers import MaxPool1d
    >>> pool = MaxPool1d(2)
    >>> pool
    MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(tg.tensor([[[1.0, 3.0, 2.0, 5.0]]]))
    tensor([[[3., 5.]]])
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool2d(_MaxPoolNd):
    """The maximum over each window; see :func:`tapegrad.nn.functional.max_pool2d`.

    >>> from tapegrad.nn.layers import MaxPool2d
    >>> pool = MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(tg.arange(16.0).reshape(1, 1, 4, 4))
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool1d(Module):
    """The mean over each window of the last dimension; see
    :func:`tapegrad.nn.functional.avg_pool1d`.

    >>> from tapegrad.nn.layers import AvgPool1d
    >>> pool = AvgPool1d(3, stride=2)
    >>> pool
    AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))
    >>> pool(tg.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]]))
    tensor([[[2., 4., 6.]]])
    """

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, 1)
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1)
        self.padding = _ntuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean over each window; see :func:`tapegrad.nn.functional.avg_pool2d`.

    >>> from tapegrad.nn.layers import AvgPool2d
    >>> pool = AvgPool2d(2)
    >>> pool
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    >>> pool(tg.ones(1, 1, 4, 4)).shape
    (1, 1, 2, 2)
    """

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePoolNd(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """The mean over ``output_size`` windows of the last dimension; see
    :func:`tapegrad.nn.functional.adaptive_avg_pool1d`.

    >>> from tapegrad.nn.layers import AdaptiveAvgPool1d
    >>> pool = AdaptiveAvgPool1d(3)
    >>> pool
    AdaptiveAvgPool1d(output_size=3)
    >>> pool(tg.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]))
    tensor([[[1.5000, 3.0000, 4.5000]]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """The mean over an ``output_size`` grid of windows (``None`` keeps a size); see
    :func:`tapegrad.nn.functional.adaptive_avg_pool2d`.

    >>> from tapegrad.nn.layers import AdaptiveAvgPool2d
    >>> pool = AdaptiveAvgPool2d((None, 3))
    >>> pool
    AdaptiveAvgPool2d(output_size=(None, 3))
    >>> pool(tg.zeros(1, 2, 5, 7)).shape
    (1, 2, 5, 3)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """The maximum over ``output_size`` windows of the last dimension; see
    :func:`tapegrad.nn.functional.adaptive_max_pool1d`.

    Parameters
    ----------
    output_size : int or sequence of one int
        The number of windows.
    return_indices : bool
        Also return the positions of the maxima.

    Examples
    --------
    >>> from tapegrad.nn.layers import AdaptiveMaxPool1d
    >>> pool = AdaptiveMaxPool1d(3)
    >>> pool
    AdaptiveMaxPool1d(output_size=3)
    >>> pool(tg.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]))
    tensor([[[3., 5., 5.]]])
    """

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """The maximum over an ``output_size`` grid of windows (``None`` keeps a size); see
    :func:`tapegrad.nn.functional.adaptive_max_pool2d`.

    Parameters
    ----------
    output_size : int or pair
        The grid, ``(H_out, W_out)``; ``None`` entries keep the input's size.
    return_indices : bool
        Also return the flat positions of the maxima within each plane.

    Examples
    --------
    >>> from tapegrad.nn.layers import AdaptiveMaxPool2d
    >>> pool = AdaptiveMaxPool2d((2, 3))
    >>> pool
    AdaptiveMaxPool2d(output_size=(2, 3))
    >>> pool(tg.zeros(1, 2, 5, 7)).shape
    (1, 2, 2, 3)
    >>> AdaptiveMaxPool2d(1, return_indices=True)(tg.tensor([[[1.0, 4.0], [3.0, 2.0]]]))
    (tensor([[[4.]]]), tensor([[[1]]]))
    """

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class Flatten(Module):
    """Flatten dimensions ``start_dim`` to ``end_dim`` into one (the batch dim stays).

    >>> tg.nn.Flatten()(tg.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dimension ``dim`` of the input into the shape ``unflattened_size`` (a tuple or
    list of ints, one of which may be ``-1``); the inverse of :class:`Flatten`.

    >>> from tapegrad.nn.layers import Unflatten
    >>> m = Unflatten(1, (2, 5, 5))
    >>> m
    Unflatten(dim=1, unflattened_size=(2, 5, 5))
    >>> m(tg.zeros(3, 50)).shape
    (3, 2, 5, 5)
    >>> Unflatten(-1, [2, -1])(tg.zeros(3, 8)).shape
    (3, 2, 4)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                "unflattened_size must be a tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        for i, n in enumerate(unflattened_size):
            if not isinstance(n, int):
                raise TypeError(
                    "unflattened_size must be tuple of ints, but found element of type "
                    f"{type(n).__name__} at pos {i}"
                )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        from .. import unflatten

        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _DropoutNd(Module):
    """The dropout modules' ``p`` (checked to lie in ``[0, 1]``) and ``inplace``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training mode, zero elements with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; in evaluation mode, pass the input through. With ``inplace=True`` the
    input is overwritten.

    >>> drop = tg.nn.Dropout(p=0.5)
    >>> drop
    Dropout(p=0.5, inplace=False)
    >>> tg.manual_seed(0)
    >>> sorted(set(drop(tg.ones(100)).tolist()))
    [0.0, 2.0]
    >>> drop.eval()(tg.ones(3))
    tensor([1., 1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel-wise dropout for signals: in training mode, zero each channel
    ``input[n, c, :]`` with probability ``p`` and scale the rest by ``1 / (1 - p)``; in
    evaluation mode, pass the values through (:func:`tapegrad.nn.functional.dropout1d`).

    Parameters
    ----------
    p : float
        The probability that a channel is zeroed, in ``[0, 1]``.
    inplace : bool
        Overwrite the input.

    Examples
    --------
    >>> drop = tg.nn.Dropout1d(p=0.5)
    >>> drop
    Dropout1d(p=0.5, inplace=False)
    >>> tg.manual_seed(0)
    >>> drop(tg.ones(1, 4, 2))
    tensor([[[2., 2.],
             [0., 0.],
             [0., 0.],
             [0., 0.]]])
    >>> drop.eval()(tg.ones(4, 2)).shape
    (4, 2)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel-wise dropout for images: in training mode, zero each channel
    ``input[n, c, :, :]`` with probability ``p`` and scale the rest by ``1 / (1 - p)``; in
    evaluation mode, pass the input through (:func:`tapegrad.nn.functional.dropout2d`).

    Parameters
    ----------
    p : float
        The probability that a channel is zeroed, in ``[0, 1]``.
    inplace : bool
        Overwrite the input.

    Examples
    --------
    >>> drop = tg.nn.Dropout2d(p=0.25)
    >>> drop
    Dropout2d(p=0.25, inplace=False)
    >>> tg.manual_seed(0)
    >>> y = drop(tg.ones(2, 3, 4, 4))
    >>> sorted(set(y.flatten().tolist())), bool((y == y[:, :, :1, :1]).all())
    ([0.0, 1.3333333730697632], True)
    >>> drop.eval()(tg.ones(1, 1, 1, 2))
    tensor([[[[1., 1.]]]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Channel-wise dropout for volumes: in training mode, zero each channel
    ``input[n, c, :, :, :]`` with probability ``p`` and scale the rest by ``1 / (1 - p)``; in
    evaluation mode, pass the values through (:func:`tapegrad.nn.functional.dropout3d`).

    Parameters
    ----------
    p : float
        The probability that a channel is zeroed, in ``[0, 1]``.
    inplace : bool
        Overwrite the input.

    Examples
    --------
    >>> drop = tg.nn.Dropout3d()
    >>> drop
    Dropout3d(p=0.5, inplace=False)
    >>> tg.manual_seed(0)
    >>> drop(tg.ones(1, 6, 2, 2, 2)).sum(dim=(2, 3, 4))
    tensor([[16.,  0.,  0.,  0., 16., 16.]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks (:func:`tapegrad.nn.functional.alpha_dropout`): in training
    mode, dropped elements take SELU's negative saturation and an affine correction keeps
    zero mean and unit variance; in evaluation mode, the input passes through. As in
    PyTorch, ``inplace`` is stored and shown but the input is never overwritten.

    Parameters
    ----------
    p : float
        The probability that an element is dropped, in ``[0, 1]``.
    inplace : bool
        Kept for PyTorch's signature and repr.

    Examples
    --------
    >>> drop = tg.nn.AlphaDropout(p=0.2)
    >>> drop
    AlphaDropout(p=0.2, inplace=False)
    >>> tg.manual_seed(0)
    >>> y = drop(tg.randn(100_000))
    >>> round(float(y.mean()), 1), round(float(y.std()), 1)
    (0.0, 1.0)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Channel-wise alpha dropout (:func:`tapegrad.nn.functional.feature_alpha_dropout`):
    in training mode, whole channels ``input[n, c]`` are dropped to SELU's negative
    saturation before the affine correction; in evaluation mode, the input passes through.
    As in PyTorch, ``inplace`` is stored and shown but the input is never overwritten.

    Parameters
    ----------
    p : float
        The probability that a channel is dropped, in ``[0, 1]``.
    inplace : bool
        Kept for PyTorch's signature and repr.

    Examples
    --------
    >>> drop = tg.nn.FeatureAlphaDropout(p=0.5)
    >>> drop
    FeatureAlphaDropout(p=0.5, inplace=False)
    >>> tg.manual_seed(0)
    >>> drop(tg.zeros(1, 4, 2))
    tensor([[[ 0.7792,  0.7792],
             [-0.7792, -0.7792],
             [-0.7792, -0.7792],
             [-0.7792, -0.7792]]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)


def _register_affine(
    module: Module, shape: tuple[int, ...], affine: bool, bias: bool, device: Any, dtype: Any
) -> None:
    """A normalisation layer's ``weight`` (ones) and ``bias`` (zeros, unless ``bias`` is
    false) of ``shape`` when ``affine``; otherwise both registered as ``None``."""
    if affine:
        module.weight = Parameter(creation.ones(shape, device=device, dtype=dtype))
        if bias:
            module.bias = Parameter(creation.zeros(shape, device=device, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dimensions.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance; ``weight``
    starts at ones and ``bias`` at zeros.

    >>> ln = tg.nn.LayerNorm(2)
    >>> ln
    LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> ln(tg.tensor([[1.0, 3.0], [0.0, -2.0]])).detach()
    tensor([[-1.0000,  1.0000],
            [ 1.0000, -1.0000]])
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        """Set ``weight`` to ones and ``bias`` to zeros."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalisation: the ``num_channels`` channels split into ``num_groups`` groups,
    each normalised per sample; see :func:`tapegrad.nn.functional.group_norm`. With
    ``affine``, ``weight`` starts at ones and ``bias`` (unless ``bias=False``) at zeros.

    >>> from tapegrad.nn.layers import GroupNorm
    >>> gn = GroupNorm(1, 2)
    >>> gn
    GroupNorm(1, 2, eps=1e-05, affine=True, bias=True)
    >>> gn(tg.tensor([[[1.0], [3.0]]])).detach()
    tensor([[[-1.0000],
             [ 1.0000]]])
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(
                f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, (num_channels,), affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        """Set ``weight`` to ones and ``bias`` to zeros."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class Embedding(Module):
    """A lookup table: integer indices select rows of ``weight`` (``num_embeddings x
    embedding_dim``, initialised from ``N(0, 1)``).

    With ``padding_idx`` that row starts at zero and receives no gradient.

    >>> tg.manual_seed(0)
    >>> emb = tg.nn.Embedding(10, 3, padding_idx=0)
    >>> emb
    Embedding(10, 3, padding_idx=0)
    >>> emb(tg.tensor([[0, 4], [4, 9]])).shape
    (2, 2, 3)
    >>> emb(tg.tensor([0])).tolist()
    [[0.0, 0.0, 0.0]]
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            w = creation.empty(num_embeddings, embedding_dim, device=device, dtype=dtype)
            self.weight = Parameter(w, requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(
                    "Shape of weight does not match num_embeddings and embedding_dim"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An embedding whose weight is ``embeddings`` (frozen unless ``freeze=False``)."""
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze)

    def reset_parameters(self) -> None:
        """Draw the weight from ``N(0, 1)`` and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class _NormBase(Module):
    """Parameters, running statistics and repr shared by the batch and instance norms
    (PyTorch's ``_NormBase``)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = {"device": device, "dtype": dtype}
        if affine:
            self.weight = Parameter(creation.ones(num_features, **kw))
            if bias:
                self.bias = Parameter(creation.zeros(num_features, **kw))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **kw))
            self.register_buffer("running_var", creation.ones(num_features, **kw))
            self.register_buffer(
                "num_batches_tracked", creation.tensor(0, dtype=np.int64, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Reset the running statistics, ``weight`` to ones and ``bias`` to zeros."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """Shared body of :class:`BatchNorm1d` and :class:`BatchNorm2d` (PyTorch's ``_BatchNorm``)."""

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            from ._util import assign_

            assign_(self.num_batches_tracked, self.num_batches_tracked.data + 1)
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if keep else None,
            self.running_var if keep else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of an input (N, C) or (N, C, L) over all but the channel
    dimension; see :func:`tapegrad.nn.functional.batch_norm`.

    >>> from tapegrad.nn.layers import BatchNorm1d
    >>> bn = BatchNorm1d(2)
    >>> bn
    BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    >>> bn(tg.tensor([[1.0, 2.0], [3.0, 6.0]])).detach()
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]])
    >>> bn.running_mean
    tensor([0.2000, 0.4000])
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of an input (N, C, H, W) per channel; in training the batch
    statistics normalise and the running ones are updated, in evaluation the running ones
    normalise.

    >>> from tapegrad.nn.layers import BatchNorm2d
    >>> bn = BatchNorm2d(3)
    >>> bn(tg.randn(4, 3, 5, 5)).shape
    (4, 3, 5, 5)
    >>> int(bn.num_batches_tracked)
    1
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class _InstanceNorm(_NormBase):
    """Shared body of :class:`InstanceNorm1d` and :class:`InstanceNorm2d` (PyTorch's
    ``_InstanceNorm``)."""

    #: dimensions of an input without a batch dimension
    _no_batch_dim = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.ndim - self._no_batch_dim
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features"
                    f" ({self.num_features}), but got: {input.shape[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. "
                "You can silence this warning by not passing in num_features, "
                "which is not used because affine=False",
                stacklevel=2,
            )
        if input.ndim == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of an input (N, C, L) or (C, L): each channel of each sample
    normalised over its length; see :func:`tapegrad.nn.functional.instance_norm`. No
    parameters and no running statistics unless ``affine``/``track_running_stats``.

    >>> from tapegrad.nn.layers import InstanceNorm1d
    >>> norm = InstanceNorm1d(2)
    >>> norm
    InstanceNorm1d(2, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)
    >>> norm(tg.tensor([[[1.0, 3.0], [2.0, 6.0]]]))
    tensor([[[-1.0000,  1.0000],
             [-1.0000,  1.0000]]])
    """

    _no_batch_dim = 2

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of an input (N, C, H, W) or (C, H, W): each channel of each
    sample normalised over its plane; with ``track_running_stats`` the running statistics
    are updated in training and normalise in evaluation.

    >>> from tapegrad.nn.layers import InstanceNorm2d
    >>> norm = InstanceNorm2d(3, track_running_stats=True)
    >>> norm(tg.randn(4, 3, 5, 5)).shape
    (4, 3, 5, 5)
    >>> sorted(norm.state_dict())
    ['num_batches_tracked', 'running_mean', 'running_var']
    """

    _no_batch_dim = 3

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (3, 4):
            raise ValueError(f"expected 3D or 4D input (got {input.ndim}D input)")
