"""Convolution and max pooling over any number of spatial dimensions.

``conv`` is one primitive for every convolution the library needs: grouped, strided, with
kernel dilation, with padding on each side (negative padding crops), and with *input*
dilation (zeros between input elements, which is what a transposed convolution is). Its
forward gathers the input windows with a strided view (im2col) and contracts them with the
kernel in one matrix product per group.

Its two VJP rules are convolutions again, so gradients of gradients need nothing more:

- the cotangent of the input is the cotangent ``g`` convolved with the flipped kernel whose
  in/out channels are swapped, with stride and input dilation exchanged, and the padding that
  lines the result up with the input;
- the cotangent of the kernel is the input convolved with ``g`` as the kernel, batch and
  channel axes exchanged (groups kept apart), with stride and kernel dilation exchanged.

``max_pool`` takes the maximum of each window; its VJP sends the cotangent to the first
maximal element of each window (PyTorch's choice on ties), through ``scatter`` so that
overlapping windows add up. The winning positions are found again from the saved input when
the rule runs, so an in-place change to the pooled output does not invalidate the gradient.

Index conventions (one spatial dimension, input length ``L``, kernel length ``K``): the input
dilated by ``l`` has length ``l*(L-1)+1``; after padding ``(lo, hi)`` its length is ``Lp``;
the output has ``(Lp - d*(K-1) - 1) // s + 1`` positions, position ``i`` reading ``i*s +
k*d`` for ``k < K``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..primitive import Primitive, bind
from ..replay.trace import any_true
from ..tensor import Tensor
from .index import getitem, scatter
from .reduce import sum as _sum
from .shape import broadcast_to, reshape, transpose

__all__ = [
    "conv",
    "max_pool",
    "max_pool_indices",
    "conv_output_size",
    "pool_geometry",
    "CONV",
    "MAX_POOL",
]

Pairs = tuple[tuple[int, int], ...]


def conv_output_size(
    n: int, k: int, stride: int, pad: tuple[int, int], dilation: int, lhs_dilation: int = 1
) -> int:
    """The number of output positions along one spatial dimension (may be ``<= 0``).

    >>> conv_output_size(5, 3, 1, (1, 1), 1)
    5
    """
    nd = lhs_dilation * (n - 1) + 1 if n > 0 else 0
    return (nd + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _dilate_pad(xp: Any, x: Any, lhs_dilation: Sequence[int], padding: Pairs, fill: Any = 0) -> Any:
    """``x`` (batch, channel, *spatial) dilated by ``lhs_dilation`` and padded by ``padding``
    (negative amounts crop)."""
    if any(lv > 1 for lv in lhs_dilation):
        shape = tuple(x.shape[:2]) + tuple(
            lv * (n - 1) + 1 if n else 0 for lv, n in zip(lhs_dilation, x.shape[2:])
        )
        z = xp.zeros(shape, dtype=x.dtype)
        z[(slice(None), slice(None)) + tuple(slice(None, None, lv) for lv in lhs_dilation)] = x
        x = z
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        crop = tuple(
            slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(padding, x.shape[2:])
        )
        x = x[(slice(None), slice(None)) + crop]
    if any(lo > 0 or hi > 0 for lo, hi in padding):
        widths = ((0, 0), (0, 0)) + tuple((max(lo, 0), max(hi, 0)) for lo, hi in padding)
        x = xp.pad(x, widths, constant_values=fill)
    return x


def _windows(
    xp: Any,
    x: Any,
    out: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    groups: int = 1,
) -> Any:
    """The strided view ``(N, G, C/G, *out, *kernel)`` of the windows of ``x`` (N, C, ...)."""
    n, c = x.shape[:2]
    s_n, s_c = x.strides[:2]
    s_sp = x.strides[2:]
    shape = (n, groups, c // groups) + tuple(out) + tuple(kernel)
    strides = (
        (s_n, (c // groups) * s_c, s_c)
        + tuple(s * st for s, st in zip(stride, s_sp))
        + tuple(d * st for d, st in zip(dilation, s_sp))
    )
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def _conv_fwd(
    xp: Any,
    x: Any,
    w: Any,
    b: Any = None,
    *,
    stride: tuple[int, ...],
    padding: Pairs,
    dilation: tuple[int, ...],
    lhs_dilation: tuple[int, ...],
    groups: int,
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
) -> Any:
    nd = len(stride)
    xp_ = _dilate_pad(xp, x, lhs_dilation, padding)
    n = xp_.shape[0]
    o = w.shape[0]
    g = groups
    cg = w.shape[1]
    og = o // g
    kernel = tuple(w.shape[2:])
    out_sp = tuple(
        (lp - d * (k - 1) - 1) // s + 1
        for lp, k, s, d in zip(xp_.shape[2:], kernel, stride, dilation)
    )
    p = math.prod(out_sp)
    kk = math.prod(kernel)
    win = _windows(xp, xp_, out_sp, kernel, stride, dilation, g)
    out_axes = tuple(range(3, 3 + nd))
    k_axes = tuple(range(3 + nd, 3 + 2 * nd))
    if out_sp[-1] >= kernel[-1]:
        # im2col as (G, C/G * kernel, N * out): the copy runs along the longer output rows.
        cols = xp.reshape(xp.transpose(win, (1, 2) + k_axes + (0,) + out_axes), (g, cg * kk, n * p))
        res = xp.matmul(xp.reshape(w, (g, og, cg * kk)), cols)  # (G, O/G, N*P)
        res = xp.reshape(res, (g, og, n) + out_sp)
        res = xp.transpose(res, (2, 0, 1) + tuple(range(3, 3 + nd)))
    else:
        # im2col as (G, N * out, C/G * kernel): the copy runs along the longer kernel rows.
        cols = xp.reshape(xp.transpose(win, (1, 0) + out_axes + (2,) + k_axes), (g, n * p, cg * kk))
        wm = xp.transpose(xp.reshape(w, (g, og, cg * kk)), (0, 2, 1))
        res = xp.matmul(cols, wm)  # (G, N*P, O/G)
        res = xp.reshape(res, (g, n) + out_sp + (og,))
        res = xp.transpose(res, (1, 0, 2 + nd) + tuple(range(2, 2 + nd)))
    res = xp.reshape(xp.ascontiguousarray(res), (n, o) + out_sp)
    if b is not None:
        res = res + xp.reshape(b, (o,) + (1,) * nd)
    return res


def _conv_grad_x(
    g: Any,
    x: Any,
    w: Any,
    *rest: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    lhs_dilation: Any,
    groups: int,
    x_shape: Any,
    w_shape: Any,
) -> Any:
    nd = len(stride)
    o, cg = w_shape[:2]
    kernel = tuple(w_shape[2:])
    og = o // groups
    # The kernel with in/out channels exchanged within each group, flipped in space.
    wt = reshape(w, (groups, og, cg) + kernel)
    wt = transpose(wt, (0, 2, 1) + tuple(range(3, 3 + nd)))
    wt = reshape(wt, (groups * cg, og) + kernel)
    wt = getitem(wt, (slice(None), slice(None)) + (slice(None, None, -1),) * nd)
    out_sp = tuple(g.shape[2:])
    pad = tuple(
        (d * (k - 1) - lo, lv * (n - 1) - s * (m - 1) + lo)
        for (lo, _), d, k, lv, n, s, m in zip(
            padding, dilation, kernel, lhs_dilation, x_shape[2:], stride, out_sp
        )
    )
    return conv(
        g,
        wt,
        None,
        stride=lhs_dilation,
        padding=pad,
        dilation=dilation,
        lhs_dilation=stride,
        groups=groups,
    )


def _conv_grad_w(
    g: Any,
    x: Any,
    w: Any,
    *rest: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    lhs_dilation: Any,
    groups: int,
    x_shape: Any,
    w_shape: Any,
) -> Any:
    nd = len(stride)
    n, c = x_shape[:2]
    o = w_shape[0]
    kernel = tuple(w_shape[2:])
    cg = c // groups
    og = o // groups
    sp = tuple(x_shape[2:])
    out_sp = tuple(g.shape[2:])
    rest_axes = tuple(range(3, 3 + nd))
    # Batch and channels exchanged: the batch is summed over, like channels in a convolution.
    xt = reshape(
        transpose(reshape(x, (n, groups, cg) + sp), (2, 1, 0) + rest_axes), (cg, groups * n) + sp
    )
    gt = reshape(
        transpose(reshape(g, (n, groups, og) + out_sp), (1, 2, 0) + rest_axes),
        (groups * og, n) + out_sp,
    )
    # Crop the trailing input no output position reads, so exactly K positions come out.
    pad = []
    for (lo, hi), lv, ln, s, m, d, k in zip(
        padding, lhs_dilation, sp, stride, out_sp, dilation, kernel
    ):
        lp = lv * (ln - 1) + 1 + lo + hi
        used = s * (m - 1) + d * (k - 1) + 1
        pad.append((lo, hi - (lp - used)))
    gw = conv(
        xt,
        gt,
        None,
        stride=dilation,
        padding=tuple(pad),
        dilation=stride,
        lhs_dilation=lhs_dilation,
        groups=groups,
    )
    return transpose(gw, (1, 0) + tuple(range(2, 2 + nd)))


def _conv_grad_b(g: Any, x: Any, w: Any, b: Any, out: Any, *, stride: Any, **_: Any) -> Any:
    return _sum(g, (0,) + tuple(range(2, 2 + len(stride))))


def _conv_jvp(t: Any, x: Any, w: Any, *rest: Any, **p: Any) -> Any:
    static = {k: p[k] for k in ("stride", "padding", "dilation", "lhs_dilation", "groups")}
    acc = None
    if t[0] is not None:
        acc = conv(t[0], w, None, **static)
    if t[1] is not None:
        term = conv(x, t[1], None, **static)
        acc = term if acc is None else acc + term
    if len(t) > 2 and t[2] is not None:
        out = rest[-1]
        tb = reshape(t[2], (t[2].shape[0],) + (1,) * len(p["stride"]))
        acc = broadcast_to(tb, tuple(out.shape)) if acc is None else acc + tb
    return acc


CONV = Primitive(
    "conv",
    _conv_fwd,
    (_conv_grad_x, _conv_grad_w, _conv_grad_b),
    _conv_jvp,
    uses=((1,), (0,), ()),
    grad_fn="ConvolutionBackward0",
)


def _tuple(v: Any, nd: int, name: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * nd
    if len(v) != nd:
        raise ValueError(f"expected {name} to be a single integer or a list of {nd} integers")
    return v


def conv(
    x: Any,
    w: Any,
    b: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    lhs_dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """Convolution (cross-correlation, as in deep learning) of ``x`` (N, C, *spatial) with the
    kernel ``w`` (O, C/groups, *kernel), plus ``b`` (O,) if given.

    ``padding`` is an int, one int per spatial dimension, or a ``(low, high)`` pair per
    dimension (negative amounts crop); ``lhs_dilation`` inserts ``lhs_dilation - 1`` zeros
    between input elements (a transposed convolution). Works on arrays and tensors.

    >>> from tapegrad.ops.conv import conv
    >>> conv(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2)))
    array([[[1., 3., 5., 7.]]])
    """
    xs = tuple(x.shape)
    ws = tuple(w.shape)
    nd = len(xs) - 2
    if nd < 1 or len(ws) != nd + 2:
        raise ValueError(
            f"conv expects an input (N, C, *spatial) and a kernel with as many dimensions; "
            f"got shapes {xs} and {ws}"
        )
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    lhs_dilation = _tuple(lhs_dilation, nd, "lhs_dilation")
    if isinstance(padding, (int, np.integer)):
        pads: Pairs = ((int(padding), int(padding)),) * nd
    else:
        items = list(padding)
        if len(items) == 1 and nd > 1:
            items = items * nd
        pads = tuple(
            (int(p), int(p)) if isinstance(p, (int, np.integer)) else (int(p[0]), int(p[1]))
            for p in items
        )
    groups = int(groups)
    if groups < 1 or ws[0] % groups or xs[1] != ws[1] * groups:
        raise ValueError(
            f"conv: input of shape {xs} and kernel of shape {ws} do not agree with "
            f"groups={groups}: expected {ws[1] * groups} input channels and a number of output "
            "channels divisible by groups"
        )
    params = {
        "stride": stride,
        "padding": pads,
        "dilation": dilation,
        "lhs_dilation": lhs_dilation,
        "groups": groups,
        "x_shape": xs,
        "w_shape": ws,
    }
    args = (x, w) if b is None else (x, w, b)
    return bind(CONV, args, params)


# ---------------------------------------------------------------------- max pooling


def pool_geometry(
    shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool,
) -> tuple[tuple[int, ...], Pairs]:
    """Output sizes of a pooling and the (low, high) padding that makes every window fit
    (``ceil_mode`` may need more on the high side).

    >>> pool_geometry((5,), (2,), (2,), (0,), (1,), True)
    ((3,), ((0, 1),))
    """
    out = []
    pads = []
    for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        m = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (m - 1) * s >= n + p:
            m -= 1  # the last window must start inside the input or the left padding
        out.append(max(m, 0))
        extra = max(0, (m - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
        pads.append((p, p + extra))
    return tuple(out), tuple(pads)


def _pool_views(
    xp: Any, x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> tuple[tuple[int, ...], list[tuple[tuple[int, ...], Any]]]:
    """The output sizes, and for each kernel offset the strided view of ``x`` (padded with
    the lowest value) that the offset reads at every output position, in row-major order."""
    nd = len(kernel)
    out_sp, pads = pool_geometry(tuple(x.shape[2:]), kernel, stride, padding, dilation, ceil_mode)
    fill = -xp.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp_ = _dilate_pad(xp, x, (1,) * nd, pads, fill)
    views = []
    for off in itertools.product(*(range(k) for k in kernel)):
        index = tuple(
            slice(o * d, o * d + (m - 1) * s + 1, s)
            for o, d, m, s in zip(off, dilation, out_sp, stride)
        )
        views.append((off, xp_[(slice(None), slice(None)) + index]))
    return out_sp, views


def _window_max(
    xp: Any, x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> Any:
    """The maximum of each window (NaN if the window holds one)."""
    _, views = _pool_views(xp, x, kernel, stride, padding, dilation, ceil_mode)
    out = views[0][1].copy()
    for _, v in views[1:]:
        xp.maximum(out, v, out=out)
    return out


def _window_argmax(
    xp: Any, x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> Any:
    """The flat index (within its channel) of each window's maximum, PyTorch's ``indices``:
    an element wins if it is greater than every element before it in row-major order, or if
    it is NaN (so the first maximum wins, and the last NaN)."""
    nd = len(kernel)
    sp = tuple(x.shape[2:])
    out_sp, views = _pool_views(xp, x, kernel, stride, padding, dilation, ceil_mode)
    # Row-major strides of the input's spatial dimensions, in elements.
    steps = [math.prod(sp[i + 1 :]) for i in range(nd)]
    best = views[0][1].copy()
    delta = xp.zeros(best.shape, dtype=np.int32)
    nan = x.dtype.kind == "f" and any_true(xp.isnan(x))
    for off, v in views[1:]:
        wins = v > best
        if nan:
            wins |= xp.isnan(v)
        xp.maximum(best, v, out=best)  # NaN stays, so only a later NaN wins after one
        # delta = where(wins, offset, delta), in arithmetic (far faster than a masked copy).
        offset = sum(o * d * st for o, d, st in zip(off, dilation, steps))
        delta -= (delta - offset) * wins
    base = xp.zeros((), dtype=np.int64)
    for i in range(nd):
        pos = xp.arange(out_sp[i], dtype=np.int64) * stride[i] - padding[i]
        base = base + xp.reshape(pos * steps[i], (out_sp[i],) + (1,) * (nd - 1 - i))
    index = base + delta
    if x.dtype.kind == "f" and any_true(xp.isneginf(best)):
        # A window of -inf may have found its maximum in the padding: point into the input.
        index = _clip_to_input(xp, index, base, delta, out_sp, sp, stride, padding, steps)
    return index


def _clip_to_input(
    xp: Any,
    index: Any,
    base: Any,
    delta: Any,
    out_sp: Any,
    sp: Any,
    stride: Any,
    padding: Any,
    steps: Any,
) -> Any:
    """``index`` with each coordinate clipped into the input (windows of ``-inf`` only)."""
    nd = len(sp)
    rem = delta
    coords = []
    for i in range(nd):
        coords.append(rem // steps[i])
        rem = rem % steps[i]
    index = xp.zeros(index.shape, dtype=np.int64)
    for i in range(nd):
        pos = xp.arange(out_sp[i], dtype=np.int64) * stride[i] - padding[i]
        pos = xp.reshape(pos, (out_sp[i],) + (1,) * (nd - 1 - i))
        index = index * sp[i] + xp.clip(pos + coords[i], 0, sp[i] - 1)
    return index


def _pool_fwd(
    xp: Any, x: Any, *, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> Any:
    return _window_max(xp, x, kernel, stride, padding, dilation, ceil_mode)


def _raw(v: Any) -> Any:
    return v.data if isinstance(v, Tensor) else v


def _flat_positions(
    x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> Any:
    """Positions of the window maxima in ``x`` flattened whole."""
    from ..backend import namespace

    raw = _raw(x)
    xp = namespace(raw)
    index = _window_argmax(xp, raw, kernel, stride, padding, dilation, ceil_mode)
    n, c = raw.shape[:2]
    per_channel = math.prod(raw.shape[2:])
    base = xp.reshape(xp.arange(n * c, dtype=np.int64) * per_channel, (n, c) + (1,) * len(kernel))
    return xp.reshape(index + base, (-1,))


def _pool_vjp(g: Any, x: Any, out: Any, **p: Any) -> Any:
    shape = tuple(x.shape)
    pos = _flat_positions(x, **p)
    flat = scatter(reshape(g, (-1,)), pos, (math.prod(shape),), False)
    return reshape(flat, shape)


def _pool_jvp(t: Any, x: Any, out: Any, **p: Any) -> Any:
    pos = _flat_positions(x, **p)
    return reshape(getitem(reshape(t[0], (-1,)), pos), tuple(out.shape))


MAX_POOL = Primitive(
    "max_pool",
    _pool_fwd,
    (_pool_vjp,),
    _pool_jvp,
    uses=((0,),),
    grad_fn=lambda p: f"MaxPool{len(p['kernel'])}DWithIndicesBackward0",
)


def max_pool(
    x: Any,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool = False,
) -> Any:
    """The maximum of each window of ``x`` (N, C, *spatial); the gradient goes to the first
    maximal element of each window.

    >>> from tapegrad.ops.conv import max_pool
    >>> max_pool(np.array([[[1.0, 3.0, 2.0, 0.0]]]), (2,), (2,), (0,), (1,))
    array([[[3., 2.]]])
    """
    params = {
        "kernel": tuple(kernel),
        "stride": tuple(stride),
        "padding": tuple(padding),
        "dilation": tuple(dilation),
        "ceil_mode": bool(ceil_mode),
    }
    return bind(MAX_POOL, (x,), params)


def max_pool_indices(
    x: Any,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool = False,
) -> Any:
    """The flat index (within each channel) of each window's maximum, as an int64 array."""
    from ..backend import namespace

    raw = _raw(x)
    return _window_argmax(
        namespace(raw),
        raw,
        tuple(kernel),
        tuple(stride),
        tuple(padding),
        tuple(dilation),
        ceil_mode,
    )


# ---------------------------------------------------------------------- batching rules


def _front(v: Any, d: int | None, size: int) -> Any:
    """``v`` with its batch axis first (broadcast along a new one when it has none)."""
    shape = tuple(v.shape)
    if d is None:
        return broadcast_to(reshape(v, (1,) + shape), (size,) + shape)
    if d == 0:
        return v
    order = (d,) + tuple(i for i in range(len(shape)) if i != d)
    return transpose(v, order)


def _conv_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    x, w = vals[0], vals[1]
    b = vals[2] if len(vals) > 2 else None
    dx, dw = dims[0], dims[1]
    db = dims[2] if len(dims) > 2 else None
    static = {k: params[k] for k in ("stride", "padding", "dilation", "lhs_dilation")}
    if dw is None and db is None:
        # Examples are independent in the batch axis: fold the vmap axis into it.
        x = _front(x, dx, 0)
        shape = tuple(x.shape)
        x = reshape(x, (shape[0] * shape[1],) + shape[2:])
        out = conv(x, w, b, groups=params["groups"], **static)
        return reshape(out, shape[:2] + tuple(out.shape[1:])), 0
    # A batch of kernels: fold the vmap axis into the groups.
    size = next(v.shape[d] for v, d in zip(vals, dims) if d is not None)
    x = _front(x, dx, size)
    w = _front(w, dw, size)
    bsz, n, c = tuple(x.shape[:3])
    sp = tuple(x.shape[3:])
    nd = len(sp)
    x = reshape(transpose(x, (1, 0, 2) + tuple(range(3, 3 + nd))), (n, bsz * c) + sp)
    ws = tuple(w.shape)
    w = reshape(w, (ws[0] * ws[1],) + ws[2:])
    if b is not None:
        b = reshape(_front(b, db, size), (-1,))
    out = conv(x, w, b, groups=params["groups"] * bsz, **static)
    o = ws[1]
    return reshape(out, (n, bsz, o) + tuple(out.shape[2:])), 1


def _pool_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    x = _front(vals[0], dims[0], 0)
    shape = tuple(x.shape)
    x = reshape(x, (shape[0] * shape[1],) + shape[2:])
    out = bind(MAX_POOL, (x,), params)
    return reshape(out, shape[:2] + tuple(out.shape[1:])), 0


def register_batching() -> None:
    """Register this module's batching rules with ``tapegrad.batching`` (called by
    ``tapegrad.nn.functional`` once batching can be imported)."""
    from .. import batching

    batching.register(CONV, _conv_rule)
    batching.register(MAX_POOL, _pool_rule)
