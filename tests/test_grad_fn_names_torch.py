"""Operations tapegrad composes of several primitives show PyTorch's one backward node.

``F.gelu(x).grad_fn`` is a ``GeluBackward0`` whose ``next_functions`` lead to ``x``, as in
PyTorch, although tapegrad records ``gelu`` as a few primitives. Each case runs the same
program with PyTorch and tapegrad and compares the node's name, the names of its next
functions, the repr of the result, and the gradients (the view must not change what flows).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from graphs import node_names

import tapegrad as tg
import tapegrad.nn.functional as tgF
from tapegrad.tensor import show_as

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
Z = RNG.standard_normal((3, 4))
BATCH = RNG.standard_normal((2, 3, 4))
IMAGE = RNG.standard_normal((1, 2, 4, 4))

# name: program(lib, functional, a, b, c), given three (3, 4) leaves that require grad
CASES: dict[str, Callable[..., Any]] = {
    "gelu": lambda m, f, a, b, c: f.gelu(a),
    "gelu_tanh": lambda m, f, a, b, c: f.gelu(a, approximate="tanh"),
    "silu": lambda m, f, a, b, c: f.silu(a),
    "mish": lambda m, f, a, b, c: f.mish(a),
    "softplus": lambda m, f, a, b, c: f.softplus(a, beta=2.0),
    "leaky_relu": lambda m, f, a, b, c: f.leaky_relu(a, 0.1),
    "elu": lambda m, f, a, b, c: f.elu(a),
    "selu": lambda m, f, a, b, c: f.selu(a),
    "celu": lambda m, f, a, b, c: f.celu(a, 0.5),
    "hardtanh": lambda m, f, a, b, c: f.hardtanh(a, -0.5, 0.5),
    "relu6": lambda m, f, a, b, c: f.relu6(a * 4.0),
    "logsigmoid": lambda m, f, a, b, c: f.logsigmoid(a),
    "mse_loss": lambda m, f, a, b, c: f.mse_loss(a, b),
    "mse_loss_none": lambda m, f, a, b, c: f.mse_loss(a, b.detach(), reduction="none"),
    "smooth_l1_loss": lambda m, f, a, b, c: f.smooth_l1_loss(a, b, beta=0.5),
    "huber_loss": lambda m, f, a, b, c: f.huber_loss(a, b, delta=0.5),
    "pad": lambda m, f, a, b, c: f.pad(a, (1, 2)),
    "pad_crop": lambda m, f, a, b, c: f.pad(a, (-1, 2, 1, 0), value=0.5),
    "conv2d": lambda m, f, a, b, c: f.conv2d(a.reshape(1, 1, 3, 4), b.reshape(3, 1, 2, 2)),
    "conv2d_bias": lambda m, f, a, b, c: f.conv2d(
        a.reshape(1, 2, 2, 3), b.reshape(2, 2, 1, 3), c[0, :2], padding=1
    ),
    "conv1d": lambda m, f, a, b, c: f.conv1d(a[None], b.T[:, :, None], stride=2),
    "linear": lambda m, f, a, b, c: f.linear(a, b),
    "linear_bias": lambda m, f, a, b, c: f.linear(a, b[:2], c[0, :2]),
    "layer_norm": lambda m, f, a, b, c: f.layer_norm(a, (4,)),
    "layer_norm_affine": lambda m, f, a, b, c: f.layer_norm(a, (4,), b[0], c[0]),
    "embedding": lambda m, f, a, b, c: f.embedding(m.tensor([[0, 2], [1, 1]]), a),
    "avg_pool2d": lambda m, f, a, b, c: f.avg_pool2d(a.reshape(1, 1, 3, 4), (1, 2)),
    "addmm": lambda m, f, a, b, c: m.addmm(a[:, :3], b, c.T, beta=0.5),
    "addcmul": lambda m, f, a, b, c: m.addcmul(a, b, c, value=0.5),
    "addcdiv": lambda m, f, a, b, c: m.addcdiv(a, b, c.exp(), value=2.0),
    "lerp_scalar": lambda m, f, a, b, c: m.lerp(a, b, 0.3),
    "lerp_tensor": lambda m, f, a, b, c: m.lerp(a, b, m.sigmoid(c)),
    "masked_fill": lambda m, f, a, b, c: a.masked_fill(b.detach() > 0, 0.5),
    "sort": lambda m, f, a, b, c: m.sort(a, dim=1).values,
    "sort_descending": lambda m, f, a, b, c: m.sort(a, dim=0, descending=True).values,
    "topk": lambda m, f, a, b, c: m.topk(a, 2).values,
    "max_dim": lambda m, f, a, b, c: m.max(a, 1).values,
    "min_dim_keepdim": lambda m, f, a, b, c: a.min(0, keepdim=True).values,
    "trace": lambda m, f, a, b, c: m.trace(a),
    "diag_embed": lambda m, f, a, b, c: m.diag(a[0], 1),
    "bmm": lambda m, f, a, b, c: m.bmm(a[None], b.T[None]),
    "mv": lambda m, f, a, b, c: m.mv(a, b[0]),
}


def _run(lib: Any, functional: Any, program: Callable[..., Any]) -> tuple[Any, list[Any]]:
    leaves = [lib.tensor(a.copy(), requires_grad=True) for a in (X, Y, Z)]
    return program(lib, functional, *leaves), leaves


@pytest.mark.torch
@pytest.mark.parametrize("name", CASES)
def test_composites_show_pytorchs_backward_node(name: str) -> None:
    ours, our_leaves = _run(tg, tgF, CASES[name])
    theirs, their_leaves = _run(torch, F, CASES[name])
    assert node_names(ours.grad_fn) == node_names(theirs.grad_fn)
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
    assert repr(ours.grad_fn).startswith(f"<{type(theirs.grad_fn).__name__} object at 0x")
    assert f"grad_fn=<{type(theirs.grad_fn).__name__}>" in repr(ours)
    weights = RNG.standard_normal(tuple(theirs.shape))
    (ours * tg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    for mine, ref in zip(our_leaves, their_leaves, strict=True):
        if ref.grad is None:
            assert mine.grad is None
        else:
            np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_show_as_leaves_inputs_handed_back_alone() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert show_as(y, "OtherBackward0", y) is y and y.grad_fn.name() == "MulBackward0"
    assert show_as(x, "OtherBackward0", x).grad_fn is None  # a leaf stays a leaf
    no_grad = tg.tensor([1.0]) * 2.0
    assert show_as(no_grad, "OtherBackward0", no_grad).grad_fn is None
    # PyTorch's dropout in evaluation mode hands its input back, node and all.
    assert tgF.dropout(y, training=False).grad_fn.name() == "MulBackward0"


def test_a_composite_node_survives_backward_and_keeps_no_data() -> None:
    x = tg.tensor(X, requires_grad=True)
    out = tgF.gelu(x)
    node, ((next_node, index),) = out.grad_fn, out.grad_fn.next_functions
    assert node is out.grad_fn and index == 0 and next_node.variable is x
    # retain_graph=False frees the primitives' residuals; the view and the gradients remain.
    out.sum().backward()
    assert out.grad_fn.name() == "GeluBackward0"
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()
    # The node leads to the node of an intermediate input without keeping its data alive.
    h = x * 2.0
    ref = weakref.ref(h)
    out = tgF.silu(h)
    ((next_node, _),) = out.grad_fn.next_functions
    assert next_node.name() == "MulBackward0"
    del h
    out.sum().backward()  # frees the residuals, the only other holders of h's data
    assert ref() is None and out.grad_fn.next_functions[0][0].name() == "MulBackward0"


# A program that changes a view's storage in place, returning the view: (lib, base) -> view.
REMADE_VIEWS: dict[str, Callable[..., Any]] = {
    "row, base changed": lambda m, b: (b[0], b.mul_(2.0))[0],
    "slice, changed itself": lambda m, b: b[:, 1:3].add_(2.0),
    "row, sibling changed": lambda m, b: (b[0], b[1].mul_(3.0))[0],
    "view, base changed": lambda m, b: (b.view(12), b.sub_(1.0))[0],
}


@pytest.mark.parametrize("name", list(REMADE_VIEWS))
def test_a_view_remade_after_an_in_place_change_shows_as_strided(name: str) -> None:
    program = REMADE_VIEWS[name]
    results = []
    for lib in (torch, tg):
        x = lib.tensor(X, requires_grad=True)
        view = program(lib, x * 1.0)
        with lib.no_grad():  # asking for the node must not need grad mode
            node = view.grad_fn.name()
        weights = Y.reshape(-1)[: view.numel()].reshape(view.shape)
        (view * lib.tensor(weights)).sum().backward()
        results.append((node, view.detach().numpy(), x.grad.numpy()))
    (t_node, t_value, t_grad), (node, value, grad) = results
    assert node == t_node == "AsStridedBackward0"
    np.testing.assert_allclose(value, t_value)
    np.testing.assert_allclose(grad, t_grad)
