"""tapegrad: tape-based automatic differentiation for NumPy and CuPy.

A Tensor facade with PyTorch's semantics and JAX-style function transforms, both running on
one Wengert list.

>>> import tapegrad as tg
>>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from __future__ import annotations

from ._version import __version__
from .tensor import Tensor
from .tape import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    DoubleTensor,
    FloatTensor,
    LongTensor,
    arange,
    as_tensor,
    bool,
    complex64,
    complex128,
    double,
    empty,
    empty_like,
    eye,
    float,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    linspace,
    long,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    tensor,
    uint8,
    zeros,
    zeros_like,
)
from .functions import (
    abs,
    add,
    amax,
    amin,
    clamp,
    cos,
    div,
    exp,
    expm1,
    flatten,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    mm,
    mul,
    neg,
    permute,
    pow,
    reciprocal,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    squeeze,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    where,
)
from .transforms import grad, jvp, value_and_grad, vjp
from . import autograd, nn, testing

__all__ = [name for name in dir() if not name.startswith("_")]
