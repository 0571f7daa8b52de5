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
from .dtypes import (
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from .creation import (
    DoubleTensor,
    FloatTensor,
    LongTensor,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
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
from . import autograd, nn, optim, testing
from .serialization import load, save

__all__ = [name for name in dir() if not name.startswith("_")]
