"""Table rows of the special functions, the convolution and pooling primitives, binary
cross-entropy on probabilities, and the composite functions of ``tapegrad.nn.functional``.

References are written independently of tapegrad: SciPy for the special functions, explicit
loops over output positions for convolutions and pooling, and the textbook formulas for the
rest. Sizes stay tiny so the rows are cheap.

Kinks are kept off the drawn points: non-zero inputs for ``elu``/``leaky_relu``, values away
from the pooling ties (``_distinct``), spread values for the normalisations (a constant lane
is the cone point of the standard deviation).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.special as sps

from tapegrad import special as tsp
from tapegrad.nn import functional as F
from tapegrad.ops import conv as cv
from tapegrad.ops import nn as nn_ops
from tapegrad.ops import special as sp

from .specs import (
    DRAWN,
    DRAWN_SAME,
    LOWER_LATTICE,
    NONZERO,
    POSITIVE,
    REAL,
    UNIT_INTERVAL,
    UPPER_LATTICE,
    Case,
    Domain,
    Integers,
    OpSpec,
    _distinct,
)

INSIDE_UNIT = Domain("(-7/8, 7/8)", ((-0.875, 0.875),))
# Away from the kinks of hardswish and hardsigmoid at -3 and 3.
AWAY_FROM_THREE = Domain("away from +-3", ((-5.0, -3.25), (-2.75, 2.75), (3.25, 5.0)))
# Away from the kinks of hardshrink and softshrink at +-1/2 (the default lambd).
AWAY_FROM_HALF = Domain("away from +-1/2", ((-3.0, -0.75), (-0.25, 0.25), (0.75, 3.0)))
# Away from the threshold 1/2 of the threshold rows.
AWAY_FROM_THRESHOLD = Domain("away from 1/2", ((-3.0, 0.25), (0.75, 3.0)))
PROBABILITY = Domain("[1/16, 15/16]", ((0.0625, 0.9375),))


def _unary_cases() -> tuple[Case, ...]:
    return (Case(((),)), Case(DRAWN))


# ------------------------------------------------------------------------------ references


def _pairs(padding: Any, nd: int) -> list[tuple[int, int]]:
    if isinstance(padding, int):
        return [(padding, padding)] * nd
    return [(p, p) if isinstance(p, int) else tuple(p) for p in padding]


def _tup(v: Any, nd: int) -> tuple[int, ...]:
    return (v,) * nd if isinstance(v, int) else tuple(v)


def _conv_ref(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    lhs_dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    """Convolution by its definition: one dot product per output position."""
    nd = x.ndim - 2
    s, d, ld = _tup(stride, nd), _tup(dilation, nd), _tup(lhs_dilation, nd)
    pads = _pairs(padding, nd)
    # Input dilation, then padding (negative amounts crop).
    dil = np.zeros(x.shape[:2] + tuple(l * (n - 1) + 1 for l, n in zip(ld, x.shape[2:])))
    dil[(slice(None), slice(None)) + tuple(slice(None, None, l) for l in ld)] = x
    full = np.pad(dil, [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in pads])
    crop = tuple(
        slice(max(-lo, 0), full.shape[2 + i] - max(-hi, 0)) for i, (lo, hi) in enumerate(pads)
    )
    xp = full[(slice(None), slice(None)) + crop]
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    k = w.shape[2:]
    og = o // groups
    out_sp = [(xp.shape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(nd)]
    out = np.zeros((n, o) + tuple(out_sp))
    for pos in itertools.product(*[range(m) for m in out_sp]):
        window = tuple(
            slice(p * si, p * si + di * (ki - 1) + 1, di) for p, si, di, ki in zip(pos, s, d, k)
        )
        patch = xp[(slice(None), slice(None)) + window]  # (N, C, *k)
        for g in range(groups):
            pg = patch[:, g * cg : (g + 1) * cg]
            wg = w[g * og : (g + 1) * og]
            out[(slice(None), slice(g * og, (g + 1) * og)) + pos] = np.tensordot(
                pg, wg, axes=(list(range(1, nd + 2)), list(range(1, nd + 2)))
            )
    if b is not None:
        out = out + b.reshape((o,) + (1,) * nd)
    return out


def _conv(x: Any, w: Any, **kw: Any) -> Any:
    return cv.conv(x, w, None, **kw)


def _max_pool_ref(
    x: np.ndarray, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool = False
) -> np.ndarray:
    nd = len(kernel)
    out_sp = []
    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        m = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (m - 1) * s >= n + p:
            m -= 1
        out_sp.append(m)
    out = np.full(x.shape[:2] + tuple(out_sp), -np.inf)
    for pos in itertools.product(*[range(m) for m in out_sp]):
        for off in itertools.product(*[range(k) for k in kernel]):
            src = [q * s - p + o * d for q, s, p, o, d in zip(pos, stride, padding, off, dilation)]
            if all(0 <= i < n for i, n in zip(src, x.shape[2:])):
                idx = (slice(None), slice(None)) + tuple(pos)
                out[idx] = np.maximum(out[idx], x[(slice(None), slice(None)) + tuple(src)])
    assert nd == len(out_sp)
    return out


def _avg_pool2d_ref(
    x: np.ndarray,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    k, s, p = kernel_size, stride or kernel_size, padding
    h, w = x.shape[2:]
    sizes = []
    for n in (h, w):
        m = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (m - 1) * s >= n + p:
            m -= 1
        sizes.append(m)
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for i in range(sizes[0]):
        for j in range(sizes[1]):
            h0, w0 = i * s - p, j * s - p
            h1, w1 = min(h0 + k, h + p), min(w0 + k, w + p)
            pool = (h1 - h0) * (w1 - w0)
            h0c, w0c, h1c, w1c = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            total = x[:, :, h0c:h1c, w0c:w1c].sum(axis=(2, 3))
            div = pool if count_include_pad else (h1c - h0c) * (w1c - w0c)
            out[:, :, i, j] = total / div
    return out


def _bce_ref(
    x: np.ndarray, y: np.ndarray, weight: Any = None, reduction: str = "mean"
) -> np.ndarray:
    loss = -(y * np.log(x) + (1 - y) * np.log(1 - x))
    if weight is not None:
        loss = loss * weight
    return {"none": loss, "sum": np.sum(loss), "mean": np.mean(loss)}[reduction]


def _gelu_ref(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * sps.erfc(-x / np.sqrt(2))


def _elu_ref(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def _layer_norm_ref(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, normalized_shape: tuple[int, ...]
) -> np.ndarray:
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w + b


def _batch_norm_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w.reshape(shape) + b.reshape(shape)


def _group_norm_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray, num_groups: int) -> np.ndarray:
    g = x.reshape(x.shape[0], num_groups, -1)
    mu = g.mean(axis=2, keepdims=True)
    var = ((g - mu) ** 2).mean(axis=2, keepdims=True)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = ((g - mu) / np.sqrt(var + 1e-5)).reshape(x.shape)
    return y * w.reshape(shape) + b.reshape(shape)


def _instance_norm_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w.reshape(shape) + b.reshape(shape)


def _adaptive_windows(n: int, m: int) -> list[slice]:
    """Window ``i`` spans ``floor(i n / m)`` to ``ceil((i + 1) n / m)``."""
    return [slice(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


def _adaptive_pool2d_ref(x: np.ndarray, output_size: Any, reduce: Any) -> np.ndarray:
    sizes = (output_size,) * 2 if isinstance(output_size, int) else output_size
    h, w = x.shape[-2:]
    oh, ow = (n if m is None else m for m, n in zip(sizes, (h, w)))
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i, rows in enumerate(_adaptive_windows(h, oh)):
        for j, cols in enumerate(_adaptive_windows(w, ow)):
            out[..., i, j] = reduce(x[..., rows, cols], axis=(-2, -1))
    return out


def _adaptive_avg_pool1d_ref(x: np.ndarray, output_size: int) -> np.ndarray:
    return _adaptive_pool2d_ref(x[..., None, :], (1, output_size), np.mean)[..., 0, :]


def _adaptive_max_pool1d_ref(x: np.ndarray, output_size: int) -> np.ndarray:
    return _adaptive_pool2d_ref(x[..., None, :], (1, output_size), np.max)[..., 0, :]


def _pad_ref(
    x: np.ndarray, pad: tuple[int, ...], mode: str = "constant", value: float = 0.0
) -> np.ndarray:
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    # Negative widths crop.
    x = x[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, x.shape))]
    widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    np_mode = {
        "constant": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }[mode]
    if np_mode == "constant":
        return np.pad(x, widths, constant_values=value)
    return np.pad(x, widths, mode=np_mode)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _cross_entropy_ref(
    x: np.ndarray,
    t: np.ndarray,
    weight: Any = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> np.ndarray:
    """PyTorch's definition: with smoothing eps, the target distribution is
    ``(1 - eps) * onehot + eps / C``; class weights weight each term; the mean divides by the
    total weight of the targets."""
    logp = _log_softmax(x, 1)
    n, c = x.shape[:2]
    w = np.ones(c) if weight is None else weight
    moved = np.moveaxis(logp, 1, -1).reshape(-1, c)
    tt = t.reshape(-1)
    onehot = np.eye(c)[tt]
    dist = (1 - label_smoothing) * onehot + label_smoothing / c
    per = -(dist * w * moved).sum(-1)
    if reduction == "none":
        return per.reshape(t.shape)
    if reduction == "sum":
        return per.sum()
    return per.sum() / w[tt].sum()


def _nll_nd_ref(x: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
    c = x.shape[1]
    picked = -np.take_along_axis(np.moveaxis(x, 1, -1), t[..., None], -1)[..., 0]
    assert picked.shape == t.shape and c > 0
    return {"none": picked, "sum": picked.sum(), "mean": picked.mean()}[reduction]


def _spread(args: list[np.ndarray]) -> list[np.ndarray]:
    """Distinct values at least 1/4 apart in the first argument (no constant lanes)."""
    return _distinct(args[:1]) + list(args[1:])


def _conv2d_ref(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: Any = 0, groups: int = 1
) -> np.ndarray:
    """``F.conv2d``'s reference: unbatched inputs, and ``"same"`` padding for 2x2 kernels
    (one zero at the end of each spatial dimension, as PyTorch)."""
    if padding == "same":
        assert w.shape[2:] == (2, 2)
        padding = ((0, 1), (0, 1))
    batched = x.ndim == 4
    out = _conv_ref(x if batched else x[None], w, b, stride=stride, padding=padding, groups=groups)
    return out if batched else out[0]


def _prelu_ref(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """PyTorch's: the weight viewed as ``(1, C, 1, ...)``, or as ``x``'s shape of ones."""
    if w.ndim != x.ndim:
        view = [1] * x.ndim
        if x.ndim > 1:
            view[1] = w.size
        w = w.reshape(view)
    return np.where(x > 0, x, w * x)


def _glu_ref(x: np.ndarray, dim: int = -1) -> np.ndarray:
    a, b = np.split(x, 2, axis=dim)
    return a / (1 + np.exp(-b))


def _cosine_similarity_ref(x1: np.ndarray, x2: np.ndarray, dim: int = 1) -> np.ndarray:
    x1, x2 = np.broadcast_arrays(x1, x2)
    n1 = np.sqrt((x1 * x1).sum(axis=dim))
    n2 = np.sqrt((x2 * x2).sum(axis=dim))
    return (x1 * x2).sum(axis=dim) / (n1 * n2)


def _pairwise_distance_ref(
    x1: np.ndarray, x2: np.ndarray, p: float = 2.0, keepdim: bool = False
) -> np.ndarray:
    d = np.abs(x1 - x2 + 1e-6)
    return (d**p).sum(axis=-1, keepdims=keepdim) ** (1.0 / p)


# ------------------------------------------------------------------------------ the rows

SPECS: tuple[OpSpec, ...] = (
    # ---------------------------------------------------------------- special functions
    OpSpec("erf", sp.erf, sps.erf, (REAL,), _unary_cases(), rtol=1e-14),
    OpSpec("erfc", sp.erfc, sps.erfc, (REAL,), _unary_cases(), rtol=1e-14),
    OpSpec("erfinv", sp.erfinv, sps.erfinv, (INSIDE_UNIT,), _unary_cases(), rtol=1e-14),
    # ---------------------------------------------------------------- convolution
    OpSpec(
        "conv",
        _conv,
        lambda x, w, **kw: _conv_ref(x, w, **kw),
        (REAL, REAL),
        (
            Case(((1, 2, 5), (3, 2, 2))),
            Case(((2, 2, 4, 4), (2, 2, 2, 2)), {"stride": 2}),
            Case(
                ((1, 4, 4, 3), (4, 2, 3, 2)),
                {"padding": ((1, 0), (1, 1)), "dilation": (1, 2), "groups": 2},
                label="1x4x4x3,4x2x3x2[pad,dilation,groups]",
            ),
            Case(
                ((1, 1, 3, 3), (1, 1, 2, 2)),
                {"lhs_dilation": 2, "padding": 1},
                label="1x1x3x3,1x1x2x2[lhs_dilation]",
            ),
            Case(
                ((1, 1, 6), (2, 1, 2)),
                {"stride": 2, "padding": ((-1, 1),)},
                label="1x1x6,2x1x2[crop]",
            ),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "conv_bias",
        lambda x, w, b, **kw: cv.conv(x, w, b, **kw),
        lambda x, w, b, **kw: _conv_ref(x, w, b, **kw),
        (REAL, REAL, REAL),
        (Case(((1, 2, 3, 3), (3, 2, 2, 2), (3,)), {"padding": 1}),),
        rtol=1e-13,
    ),
    OpSpec(
        "conv2d",
        F.conv2d,
        _conv2d_ref,
        (REAL, REAL, REAL),
        (
            Case(
                ((1, 2, 4, 4), (2, 1, 2, 2), (2,)),
                {"padding": "same", "groups": 2},
                label="1x2x4x4,2x1x2x2,2[same,groups]",
            ),
            Case(
                ((2, 4, 4), (3, 2, 3, 3), (3,)),
                {"stride": 2, "padding": 1},
                label="unbatched[stride,padding]",
            ),
        ),
        rtol=1e-13,
    ),
    # ---------------------------------------------------------------- pooling
    OpSpec(
        "max_pool",
        cv.max_pool,
        _max_pool_ref,
        (REAL,),
        (
            Case(
                ((1, 2, 4, 4),),
                {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0), "dilation": (1, 1)},
                label="1x2x4x4[2x2]",
            ),
            Case(
                ((1, 1, 5, 5),),
                {
                    "kernel": (3, 3),
                    "stride": (2, 2),
                    "padding": (1, 1),
                    "dilation": (1, 1),
                    "ceil_mode": True,
                },
                label="1x1x5x5[3x3,pad,ceil]",
            ),
            Case(
                ((2, 1, 6),),
                {"kernel": (3,), "stride": (1,), "padding": (0,), "dilation": (1,)},
                label="2x1x6[overlap]",
            ),
            Case(
                ((1, 1, 5, 5),),
                {"kernel": (2, 2), "stride": (1, 2), "padding": (0, 1), "dilation": (2, 1)},
                label="1x1x5x5[dilation]",
            ),
        ),
        prepare=_distinct,
    ),
    OpSpec(
        "avg_pool2d",
        F.avg_pool2d,
        _avg_pool2d_ref,
        (REAL,),
        (
            Case(((1, 2, 4, 4),), {"kernel_size": 2}, label="1x2x4x4[2]"),
            Case(
                ((1, 1, 5, 5),),
                {
                    "kernel_size": 3,
                    "stride": 2,
                    "padding": 1,
                    "ceil_mode": True,
                    "count_include_pad": False,
                },
                label="1x1x5x5[3,pad,ceil,exclude_pad]",
            ),
        ),
        rtol=1e-13,
    ),
    # ---------------------------------------------------------------- losses
    OpSpec(
        "binary_cross_entropy",
        nn_ops.binary_cross_entropy,
        _bce_ref,
        (PROBABILITY, UNIT_INTERVAL),
        (
            Case(((3,), (3,))),
            Case(((), ()), {"reduction": "sum"}),
            Case(DRAWN_SAME, {"reduction": "none"}),
            Case(
                ((2, 3), (2, 3)), {"weight": np.array([[0.5, 1.0, 2.0]] * 2)}, label="2x3[weight]"
            ),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "cross_entropy",
        F.cross_entropy,
        _cross_entropy_ref,
        (REAL, Integers(0, 2)),
        (
            Case(((4, 3), (4,)), {"label_smoothing": 0.1}),
            Case(
                ((4, 3), (4,)),
                {"weight": np.array([0.5, 1.0, 2.0]), "label_smoothing": 0.2},
                label="4x3,4[weight,smoothing]",
            ),
            Case(((2, 3, 2), (2, 2)), {"reduction": "none", "label_smoothing": 0.3}),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "nll_loss_nd",
        lambda x, t, **kw: F.nll_loss(x, t, **kw),
        _nll_nd_ref,
        (REAL, Integers(0, 2)),
        (
            Case(((2, 3, 2), (2, 2))),
            Case(((1, 3, 2, 2), (1, 2, 2)), {"reduction": "none"}),
        ),
        rtol=1e-13,
    ),
    # ---------------------------------------------------------------- composite activations
    OpSpec(
        "gelu",
        F.gelu,
        _gelu_ref,
        (REAL,),
        (Case(((),)), Case(DRAWN), Case(DRAWN, {"approximate": "tanh"})),
        rtol=1e-13,
    ),
    OpSpec("elu", F.elu, _elu_ref, (NONZERO,), (Case(DRAWN), Case(((2, 3),), {"alpha": 0.5}))),
    OpSpec("silu", F.silu, lambda x: x / (1 + np.exp(-x)), (REAL,), (Case(DRAWN),), rtol=1e-13),
    OpSpec(
        "leaky_relu",
        F.leaky_relu,
        lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
        (NONZERO,),
        (Case(DRAWN), Case(((3,),), {"negative_slope": 0.2})),
    ),
    OpSpec(
        "hardswish",
        F.hardswish,
        lambda x: x * np.clip(x + 3, 0, 6) / 6,
        (AWAY_FROM_THREE,),
        _unary_cases(),
    ),
    OpSpec(
        "hardsigmoid",
        F.hardsigmoid,
        lambda x: np.clip(x + 3, 0, 6) / 6,
        (AWAY_FROM_THREE,),
        _unary_cases(),
    ),
    OpSpec(
        "hardshrink",
        F.hardshrink,
        lambda x, lambd=0.5: np.where(np.abs(x) > lambd, x, 0.0),
        (AWAY_FROM_HALF,),
        (Case(((),)), Case(DRAWN), Case(((2, 3),), {"lambd": 0.5})),
    ),
    OpSpec(
        "softshrink",
        F.softshrink,
        lambda x, lambd=0.5: np.where(np.abs(x) > lambd, x - np.sign(x) * lambd, 0.0),
        (AWAY_FROM_HALF,),
        (Case(((),)), Case(DRAWN), Case(((2, 3),), {"lambd": 0.5})),
    ),
    OpSpec("tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x), (REAL,), _unary_cases()),
    OpSpec(
        "threshold",
        F.threshold,
        lambda x, threshold, value: np.where(x > threshold, x, value),
        (AWAY_FROM_THRESHOLD,),
        (
            Case(((),), {"threshold": 0.5, "value": -2.0}),
            Case(DRAWN, {"threshold": 0.5, "value": 1.5}),
        ),
    ),
    OpSpec(
        "glu",
        F.glu,
        _glu_ref,
        (REAL,),
        (
            Case(((2, 4),)),
            Case(((4, 3),), {"dim": 0}),
            Case(((3, 2, 2),), {"dim": 1}),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "prelu",
        F.prelu,
        _prelu_ref,
        (NONZERO, REAL),
        (
            Case(((2, 3, 2), (3,))),
            Case(((4,), (1,))),
            Case(((2, 3), ())),
            Case(((), (1,))),
        ),
    ),
    # ---------------------------------------------------------------- distances
    OpSpec(
        "cosine_similarity",
        F.cosine_similarity,
        _cosine_similarity_ref,
        # Non-zero elements: no vector near the zero vector, where the norms are clamped.
        (NONZERO, NONZERO),
        (
            Case(((3, 4), (3, 4))),
            Case(((2, 3), (1, 3)), {"dim": 0}),
            Case(((2, 3, 2), (3, 2)), {"dim": 1}),
            Case(((4,), (4,)), {"dim": 0}),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "pairwise_distance",
        F.pairwise_distance,
        _pairwise_distance_ref,
        # Interleaved lattices: no difference is 0, the kink of |.| (and of the 2-norm).
        (LOWER_LATTICE, UPPER_LATTICE),
        (
            Case(((3, 4), (3, 4))),
            Case(((2, 3), (3,)), {"keepdim": True}),
            Case(((4,), (4,)), {"p": 1.0}),
            Case(((2, 3), (2, 3)), {"p": 3.0}),
        ),
        rtol=1e-13,
    ),
    # ---------------------------------------------------------------- layers
    OpSpec(
        "layer_norm",
        lambda x, w, b, normalized_shape: F.layer_norm(x, normalized_shape, w, b),
        _layer_norm_ref,
        (REAL, REAL, REAL),
        (
            Case(((2, 3), (3,), (3,)), {"normalized_shape": (3,)}),
            Case(((2, 2, 2), (2, 2), (2, 2)), {"normalized_shape": (2, 2)}),
        ),
        prepare=_spread,
        rtol=1e-12,
    ),
    OpSpec(
        "batch_norm",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        _batch_norm_ref,
        (REAL, REAL, REAL),
        (Case(((3, 2), (2,), (2,))), Case(((2, 2, 3), (2,), (2,)))),
        prepare=_spread,
        rtol=1e-12,
    ),
    OpSpec(
        "group_norm",
        lambda x, w, b, num_groups: F.group_norm(x, num_groups, w, b),
        _group_norm_ref,
        (REAL, REAL, REAL),
        (
            Case(((2, 4, 3), (4,), (4,)), {"num_groups": 2}),
            Case(((1, 6, 2, 2), (6,), (6,)), {"num_groups": 3}),
        ),
        prepare=_spread,
        rtol=1e-12,
    ),
    OpSpec(
        "instance_norm",
        lambda x, w, b: F.instance_norm(x, None, None, w, b),
        _instance_norm_ref,
        (REAL, REAL, REAL),
        (Case(((2, 3, 4), (3,), (3,))), Case(((1, 2, 2, 3), (2,), (2,)))),
        prepare=_spread,
        rtol=1e-12,
    ),
    OpSpec(
        "adaptive_avg_pool1d",
        F.adaptive_avg_pool1d,
        _adaptive_avg_pool1d_ref,
        (REAL,),
        (
            Case(((1, 2, 7),), {"output_size": 3}),
            Case(((2, 5),), {"output_size": 4}),
            Case(((2, 1, 4),), {"output_size": 1}),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "adaptive_avg_pool2d",
        F.adaptive_avg_pool2d,
        lambda x, output_size: _adaptive_pool2d_ref(x, output_size, np.mean),
        (REAL,),
        (
            Case(((1, 2, 5, 7),), {"output_size": (2, 3)}),
            Case(((2, 4, 3),), {"output_size": (3, None)}),
            Case(((1, 2, 3, 3),), {"output_size": 1}),
        ),
        rtol=1e-13,
    ),
    OpSpec(
        "adaptive_max_pool1d",
        F.adaptive_max_pool1d,
        _adaptive_max_pool1d_ref,
        (REAL,),
        (
            Case(((1, 2, 7),), {"output_size": 3}),
            Case(((2, 5),), {"output_size": 4}),
            # More windows than elements: elements picked by several windows.
            Case(((2, 1, 4),), {"output_size": 6}),
        ),
        prepare=_distinct,
    ),
    OpSpec(
        "adaptive_max_pool2d",
        F.adaptive_max_pool2d,
        lambda x, output_size: _adaptive_pool2d_ref(x, output_size, np.max),
        (REAL,),
        (
            Case(((1, 2, 5, 7),), {"output_size": (2, 3)}),
            Case(((2, 4, 3),), {"output_size": (3, None)}),
            Case(((1, 2, 3, 3),), {"output_size": 1}),
            Case(((1, 1, 3, 2),), {"output_size": (4, 3)}),
        ),
        prepare=_distinct,
    ),
    OpSpec(
        "pad",
        F.pad,
        _pad_ref,
        (REAL,),
        (
            Case(((2, 3),), {"pad": (1, 2)}),
            Case(((1, 3, 4),), {"pad": (-1, 2, 1, 0), "value": 0.5}, label="1x3x4[crop,value]"),
            Case(((1, 3, 4),), {"pad": (2, 3, 1, 2), "mode": "reflect"}),
            Case(((1, 2, 3),), {"pad": (2, 1), "mode": "replicate"}),
            Case(((1, 1, 2, 3),), {"pad": (3, 1, 2, 2), "mode": "circular"}),
        ),
    ),
    OpSpec(
        "embedding",
        lambda idx, weight, **kw: F.embedding(idx, weight, **kw),
        lambda idx, weight, **kw: weight[idx],
        (Integers(0, 3), REAL),
        (Case(((2, 3), (4, 2))), Case(((5,), (4, 3)))),
    ),
    # ---------------------------------------------------------------- tg.special compositions
    OpSpec(
        "ndtr",
        tsp.ndtr,
        sps.ndtr,
        (REAL,),
        _unary_cases(),
        rtol=1e-13,
    ),
    OpSpec(
        "logit",
        tsp.logit,
        sps.logit,
        (PROBABILITY,),
        _unary_cases(),
        rtol=1e-13,
    ),
    OpSpec(
        "xlogy",
        tsp.xlogy,
        sps.xlogy,
        # Not 0 in the first argument: the function has a kink there in its other argument.
        (NONZERO, POSITIVE),
        (Case(((3,), (3,))), Case(((2, 3), (3,)))),
        rtol=1e-13,
    ),
)
