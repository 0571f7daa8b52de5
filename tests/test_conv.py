"""The convolution and pooling primitives: random configurations against PyTorch (values and
gradients of input, weight and bias), transposed convolutions, forward mode, gradients of
gradients, and what the tape records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as F
from tapegrad.ops import conv as cv

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _config(seed: int) -> dict[str, Any]:
    """A random convolution: dimensions, sizes, stride, padding, dilation, groups, bias."""
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 3))
    groups = int(rng.choice([1, 1, 2, 3]))
    cin = groups * int(rng.integers(1, 3))
    cout = groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
    stride = tuple(int(s) for s in rng.integers(1, 4, nd))
    dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
    padding = tuple(int(p) for p in rng.integers(0, 3, nd))
    size = tuple(
        int(d * (k - 1) + 1 + rng.integers(0, 5) - min(2 * p, d * (k - 1)))
        for k, d, p in zip(kernel, dilation, padding)
    )
    return {
        "x": rng.standard_normal((int(rng.integers(1, 3)), cin) + size),
        "w": rng.standard_normal((cout, cin // groups) + kernel),
        "b": rng.standard_normal(cout) if rng.random() < 0.7 else None,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "nd": nd,
    }


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", range(24))
def test_random_convolutions_match_pytorch(seed: int, dtype: Any) -> None:
    c = _config(seed)
    ours_f = F.conv1d if c["nd"] == 1 else F.conv2d
    theirs_f = TF.conv1d if c["nd"] == 1 else TF.conv2d
    kw = {k: c[k] for k in ("stride", "padding", "dilation", "groups")}
    arrays = [c["x"], c["w"]] + ([c["b"]] if c["b"] is not None else [])
    ours = [tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = ours_f(*ours, **kw)
    ref = theirs_f(*theirs, **kw)
    assert out.shape == tuple(ref.shape) and out.dtype == dtype
    rtol, atol = (1e-11, 1e-11) if dtype == np.float64 else (1e-5, 1e-5)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    v = np.random.default_rng(seed + 100).standard_normal(out.shape).astype(dtype)
    out.backward(tg.tensor(v))
    ref.backward(torch.tensor(v))
    for name, a, b in zip(("input", "weight", "bias"), ours, theirs):
        np.testing.assert_allclose(
            a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol, err_msg=name
        )


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(12))
def test_random_transposed_convolutions_match_pytorch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 3))
    groups = int(rng.choice([1, 2]))
    cin, cout_g = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
    stride = tuple(int(s) for s in rng.integers(1, 4, nd))
    dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
    padding = tuple(int(rng.integers(0, d * (k - 1) // 2 + 1)) for k, d in zip(kernel, dilation))
    out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    x = rng.standard_normal((2, cin) + tuple(int(n) for n in rng.integers(2, 5, nd)))
    w = rng.standard_normal((cin, cout_g) + kernel)
    b = rng.standard_normal(cout_g * groups)
    kw = {
        "stride": stride,
        "padding": padding,
        "output_padding": out_pad,
        "groups": groups,
        "dilation": dilation,
    }
    ours_f = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
    theirs_f = TF.conv_transpose1d if nd == 1 else TF.conv_transpose2d
    ours = [tg.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = ours_f(*ours, **kw)
    ref = theirs_f(*theirs, **kw)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-11, atol=1e-11)
    v = rng.standard_normal(out.shape)
    out.backward(tg.tensor(v))
    ref.backward(torch.tensor(v))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.torch
def test_forward_mode_matches_pytorch() -> None:
    c = _config(5)
    x, w = c["x"], c["w"]
    tx, tw = np.ones_like(x) * 0.3, np.linspace(-1, 1, w.size).reshape(w.shape)
    kw = {k: c[k] for k in ("stride", "padding", "dilation", "groups")}
    conv = F.conv1d if c["nd"] == 1 else F.conv2d
    tconv = TF.conv1d if c["nd"] == 1 else TF.conv2d
    _, tangent = tg.jvp(lambda a, b: conv(a, b, **kw), (x, w), (tx, tw))
    _, ref = torch.func.jvp(
        lambda a, b: tconv(a, b, **kw),
        (torch.tensor(x), torch.tensor(w)),
        (torch.tensor(tx), torch.tensor(tw)),
    )
    np.testing.assert_allclose(tangent, ref.numpy(), rtol=1e-11, atol=1e-11)
    y = np.random.default_rng(1).standard_normal((1, 2, 5, 5))
    _, tangent = tg.jvp(lambda a: F.max_pool2d(a, 3, 2, 1), (y,), (np.ones_like(y),))
    np.testing.assert_allclose(tangent, np.ones((1, 2, 3, 3)))


@pytest.mark.torch
def test_gradients_of_gradients_match_pytorch() -> None:
    """Hessian-vector products through convolution and pooling: the VJP rules are
    convolutions and scatters themselves, so they differentiate again."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 7, 6))
    w = rng.standard_normal((4, 1, 3, 2))
    u = rng.standard_normal(w.shape)

    def f(lib: Any, ff: Any, x: Any, w: Any) -> Any:
        h = ff.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
        h = ff.max_pool2d(h * h, 2, ceil_mode=True)
        return (ff.conv_transpose2d(h, w, stride=2) ** 2).sum()

    xo, wo = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (gw,) = tg.autograd.grad(f(tg, F, xo, wo), [wo], create_graph=True)
    (gwt,) = torch.autograd.grad(f(torch, TF, xt, wt), [wt], create_graph=True)
    np.testing.assert_allclose(gw.detach().numpy(), gwt.detach().numpy(), rtol=1e-10)
    hx, hw = tg.autograd.grad((gw * tg.tensor(u)).sum(), [xo, wo])
    hxt, hwt = torch.autograd.grad((gwt * torch.tensor(u)).sum(), [xt, wt])
    np.testing.assert_allclose(hx.numpy(), hxt.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(hw.numpy(), hwt.numpy(), rtol=1e-10, atol=1e-10)


def test_check_grads_through_every_conv_parameter() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 4, 5))
    w = rng.standard_normal((2, 1, 2, 3))
    b = rng.standard_normal(2)
    tg.testing.check_grads(
        lambda x, w, b: cv.conv(
            x,
            w,
            b,
            stride=(2, 1),
            padding=((1, 0), (-1, 2)),
            dilation=(1, 2),
            lhs_dilation=(2, 1),
            groups=2,
        ),
        (x, w, b),
        order=2,
    )


def test_one_entry_per_convolution_and_pooling() -> None:
    x = tg.randn(2, 3, 8, 8, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    b = tg.randn(4, requires_grad=True)
    with tg.Tape() as tape:
        y = F.conv2d(x, w, b, padding=1)
    assert len(tape) == 1 and y.grad_fn.name() == "ConvolutionBackward0"
    assert len(y.grad_fn.next_functions) == 3
    with tg.Tape() as tape:
        z = F.max_pool2d(y, 2)
    assert len(tape) == 1 and z.grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    # The pooled output may change in place: the rule reads only the saved input.
    z.mul_(2.0)
    z.sum().backward()
    assert x.grad.shape == x.shape


def test_max_pool_gradient_goes_to_the_first_maximum() -> None:
    x = tg.tensor([[[[1.0, 1.0], [1.0, 1.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]
    # Overlapping windows: the gradients of an element picked twice add up.
    y = tg.tensor([[[0.0, 5.0, 1.0, 2.0]]], requires_grad=True)
    F.max_pool1d(y, 2, stride=1).sum().backward()
    assert y.grad.tolist() == [[[0.0, 2.0, 0.0, 1.0]]]


def test_conv_on_arrays_and_integer_checks() -> None:
    x = np.arange(10.0).reshape(1, 1, 10)
    out = F.conv1d(x, np.array([[[1.0, 0.0, -1.0]]]), stride=3)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [[[-2.0, -2.0, -2.0]]])
    assert (
        F.conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)).dtype
        == np.float32
    )
    with pytest.raises(ValueError, match="groups"):
        cv.conv(np.ones((1, 3, 4)), np.ones((2, 2, 2)), groups=2)


def test_vmap_of_conv_folds_the_batch() -> None:
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 2, 3, 6))
    w = rng.standard_normal((5, 3, 2))
    b = rng.standard_normal(5)
    out = tg.vmap(lambda x: F.conv1d(x, w, b, padding=1))(xs)
    np.testing.assert_allclose(out, np.stack([F.conv1d(x, w, b, padding=1) for x in xs]))
    bs = rng.standard_normal((4, 5))
    out = tg.vmap(lambda x, bb: F.conv1d(x, w, bb), in_axes=(0, 0))(xs, bs)
    np.testing.assert_allclose(out, np.stack([F.conv1d(x, w, bb) for x, bb in zip(xs, bs)]))
    ys = rng.standard_normal((3, 2, 2, 5, 5))
    pooled = tg.vmap(lambda y: F.max_pool2d(y, 2), in_axes=0)(ys)
    np.testing.assert_allclose(pooled, np.stack([F.max_pool2d(y, 2) for y in ys]))
