"""``F.linear`` and ``nn.Linear`` on 1-D, 2-D and batched inputs show PyTorch's backward nodes.

PyTorch runs ``linear`` as one ``addmm`` for a 2-D input with a bias, as an ``addmm`` on the
input flattened to 2-D (viewed back) for other ranks with a bias, and through ``matmul``
(``unsqueeze``/``mm``/``squeeze_`` for a 1-D input, a folded ``mm`` for batched inputs)
without one. Each case compares the result's node and its next functions two levels deep,
the values and the gradients of every argument that requires grad.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from graphs import node_tree

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

IN, OUT = 4, 3
SHAPES = [(IN,), (5, IN), (2, 5, IN), (2, 3, 2, IN), (0, 5, IN)]


def _grads_cases() -> list[tuple[bool, tuple[bool, bool, bool]]]:
    """With a bias or not, and which of (input, weight, bias) require grad: every
    combination in which something that is passed does."""
    return [
        (bias, grads)
        for bias in [False, True]
        for grads in itertools.product([False, True], repeat=3)
        if (bias or not grads[2]) and (any(grads[:2]) or grads[2])
    ]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("bias", "grads"), _grads_cases(), ids=str)
def test_linear_nodes_values_and_grads_match_torch(
    shape: tuple[int, ...], bias: bool, grads: tuple[bool, bool, bool]
) -> None:
    rng = np.random.default_rng(len(shape) * 7 + bias)
    xv = rng.standard_normal(shape)
    wv = rng.standard_normal((OUT, IN))
    bv = rng.standard_normal(OUT)
    gx, gw, gb = grads
    ours = [tg.tensor(xv, requires_grad=gx), tg.tensor(wv, requires_grad=gw)]
    theirs = [torch.tensor(xv, requires_grad=gx), torch.tensor(wv, requires_grad=gw)]
    if bias:
        ours.append(tg.tensor(bv, requires_grad=gb))
        theirs.append(torch.tensor(bv, requires_grad=gb))
    got = F.linear(*ours)
    want = TF.linear(*theirs)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-13, atol=1e-13)
    assert got.requires_grad == want.requires_grad
    assert node_tree(got.grad_fn, 2) == node_tree(want.grad_fn, 2)
    if not want.requires_grad:
        return
    v = rng.standard_normal(tuple(want.shape))
    (got * tg.tensor(v)).sum().backward()
    (want * torch.tensor(v)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("shape", "bias", "expected"),
    [
        ((IN,), False, ("SqueezeBackward4", ("MmBackward0",))),
        ((IN,), True, ("ViewBackward0", ("AddmmBackward0",))),
        ((5, IN), False, ("MmBackward0", ("torch::autograd::AccumulateGrad", "TBackward0"))),
        (
            (5, IN),
            True,
            (
                "AddmmBackward0",
                (
                    "torch::autograd::AccumulateGrad",
                    "torch::autograd::AccumulateGrad",
                    "TBackward0",
                ),
            ),
        ),
        ((2, 5, IN), False, ("UnsafeViewBackward0", ("MmBackward0",))),
        ((2, 5, IN), True, ("ViewBackward0", ("AddmmBackward0",))),
    ],
)
def test_linear_node_names(shape: tuple[int, ...], bias: bool, expected: Any) -> None:
    x = tg.ones(shape, requires_grad=True)
    w = tg.ones(OUT, IN, requires_grad=True)
    b = tg.zeros(OUT, requires_grad=True) if bias else None
    out = F.linear(x, w, b)
    np.testing.assert_array_equal(out.detach().numpy(), np.full(shape[:-1] + (OUT,), float(IN)))
    assert node_tree(out.grad_fn, 1) == expected


def test_linear_inner_nodes_lead_to_the_arguments() -> None:
    x = tg.ones(2, 5, IN, requires_grad=True)
    w = tg.ones(OUT, IN, requires_grad=True)
    b = tg.zeros(OUT, requires_grad=True)
    addmm = F.linear(x, w, b).grad_fn.next_functions[0][0]
    (bias_node, _), (view, _), (t, _) = addmm.next_functions
    assert bias_node.variable is b
    assert view.name() == "ViewBackward0" and view.next_functions[0][0].variable is x
    assert t.name() == "TBackward0" and t.next_functions[0][0].variable is w
    mm = F.linear(x[0, 0], w).grad_fn.next_functions[0][0]
    assert mm.next_functions[0][0].name() == "UnsqueezeBackward0"


@pytest.mark.parametrize("shape", SHAPES[:4], ids=str)
@pytest.mark.parametrize("bias", [False, True])
def test_linear_module_matches_torch(shape: tuple[int, ...], bias: bool) -> None:
    ours = nn.Linear(IN, OUT, bias=bias, dtype=tg.float64)
    theirs = torch.nn.Linear(IN, OUT, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        if bias:
            theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    xv = np.random.default_rng(3).standard_normal(shape)
    x, y = tg.tensor(xv, requires_grad=True), torch.tensor(xv, requires_grad=True)
    got, want = ours(x), theirs(y)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-13, atol=1e-13)
    assert node_tree(got.grad_fn, 2) == node_tree(want.grad_fn, 2)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12
    )
    if bias:
        np.testing.assert_allclose(
            ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("shape", SHAPES[:4], ids=str)
@pytest.mark.parametrize("bias", [False, True])
def test_linear_on_arrays_and_under_transforms(shape: tuple[int, ...], bias: bool) -> None:
    rng = np.random.default_rng(5)
    xv, wv, bv = (
        rng.standard_normal(shape),
        rng.standard_normal((OUT, IN)),
        rng.standard_normal(OUT),
    )
    b = bv if bias else None
    want = xv @ wv.T + (bv if bias else 0.0)
    out = F.linear(xv, wv, b)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)
    g = tg.grad(lambda w: F.linear(xv, w, b).sum())(wv)
    np.testing.assert_allclose(
        np.asarray(g), np.broadcast_to(xv.reshape(-1, IN).sum(0), (OUT, IN)), rtol=1e-12
    )
    batched = tg.vmap(lambda x: F.linear(x, tg.tensor(wv), None if b is None else tg.tensor(b)))(
        tg.tensor(np.stack([xv, 2 * xv]))
    )
    np.testing.assert_allclose(
        batched.numpy(),
        np.stack([xv, 2 * xv]) @ wv.T + (bv if bias else 0.0),
        rtol=1e-13,
        atol=1e-13,
    )
