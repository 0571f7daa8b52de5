"""The in-place activations of ``tapegrad.nn.functional`` show PyTorch's in-place nodes.

``F.leaky_relu(h, inplace=True)`` and ``F.leaky_relu_(h)`` leave ``h.grad_fn`` a
``LeakyReluBackward1`` (``elu``/``selu`` an ``EluBackward1``, ``celu`` a ``CeluBackward1``,
``threshold`` a ``ThresholdBackward1``; the others keep their out-of-place name), whose
``next_functions`` lead to what computed ``h`` before the write. Each case runs the same
program with PyTorch and tapegrad on a non-leaf and compares the node's name, its next
functions, the values and the gradients, on inputs that include the kinks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from graphs import node_names

import tapegrad as tg
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TNN = torch.nn

pytestmark = pytest.mark.torch

RNG = np.random.default_rng(11)

#: Points on and around the kinks: 0 (relu, leaky_relu, elu, celu), +-1 (hardtanh), 0.5 (the
#: threshold cases), +-3 (hardswish, hardsigmoid), 6 (relu6), with random values between.
KINKS = np.concatenate(
    [
        [-7.0, -3.0, -2.5, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.5, 3.0, 6.0, 7.0],
        RNG.uniform(-4.0, 8.0, 11),
    ]
)

# name: (ours, theirs) acting in place on their argument; the same call for both libraries
# unless the functional has no in-place form in one of them.
INPLACE: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "relu": (lambda h: F.relu(h, inplace=True), lambda h: TF.relu(h, inplace=True)),
    "relu_": (F.relu_, TF.relu_),
    "relu6": (lambda h: F.relu6(h, inplace=True), lambda h: TF.relu6(h, inplace=True)),
    "hardtanh": (
        lambda h: F.hardtanh(h, -0.5, 2.5, inplace=True),
        lambda h: TF.hardtanh(h, -0.5, 2.5, inplace=True),
    ),
    "hardtanh_": (F.hardtanh_, TF.hardtanh_),
    "hardtanh_args": (lambda h: F.hardtanh_(h, -3.0, 1.0), lambda h: TF.hardtanh_(h, -3.0, 1.0)),
    "leaky_relu": (
        lambda h: F.leaky_relu(h, 0.2, inplace=True),
        lambda h: TF.leaky_relu(h, 0.2, inplace=True),
    ),
    "leaky_relu_": (F.leaky_relu_, TF.leaky_relu_),
    "leaky_relu_slope": (lambda h: F.leaky_relu_(h, 0.5), lambda h: TF.leaky_relu_(h, 0.5)),
    "elu": (lambda h: F.elu(h, inplace=True), lambda h: TF.elu(h, inplace=True)),
    "elu_": (F.elu_, TF.elu_),
    "elu_alpha": (lambda h: F.elu_(h, 2.0), lambda h: TF.elu_(h, 2.0)),
    "selu": (lambda h: F.selu(h, inplace=True), lambda h: TF.selu(h, inplace=True)),
    "selu_": (F.selu_, TF.selu_),
    "celu": (lambda h: F.celu(h, 0.5, inplace=True), lambda h: TF.celu(h, 0.5, inplace=True)),
    "celu_": (F.celu_, TF.celu_),
    "celu_alpha": (lambda h: F.celu_(h, 2.0), lambda h: TF.celu_(h, 2.0)),
    "silu": (lambda h: F.silu(h, inplace=True), lambda h: TF.silu(h, inplace=True)),
    "mish": (lambda h: F.mish(h, inplace=True), lambda h: TF.mish(h, inplace=True)),
    "hardswish": (lambda h: F.hardswish(h, inplace=True), lambda h: TF.hardswish(h, inplace=True)),
    "hardsigmoid": (
        lambda h: F.hardsigmoid(h, inplace=True),
        lambda h: TF.hardsigmoid(h, inplace=True),
    ),
    "threshold": (
        lambda h: F.threshold(h, 0.5, -2.0, inplace=True),
        lambda h: TF.threshold(h, 0.5, -2.0, inplace=True),
    ),
    # A replacement above the threshold: the gradient still follows the input.
    "threshold_": (lambda h: F.threshold_(h, 0.5, 2.0), lambda h: TF.threshold_(h, 0.5, 2.0)),
    # Dropout that zeroes everything, and dropout outside training (the input handed back):
    # deterministic, so both libraries draw the same mask.
    "dropout_all": (
        lambda h: F.dropout(h, 1.0, inplace=True),
        lambda h: TF.dropout(h, 1.0, inplace=True),
    ),
    "dropout_eval": (
        lambda h: F.dropout(h, training=False, inplace=True),
        lambda h: TF.dropout(h, training=False, inplace=True),
    ),
}

#: The name PyTorch 2.x shows for each in-place form (the table the cases check against
#: PyTorch itself; kept here so a change on either side is easy to read off).
TORCH_NAMES = {
    "relu": "ReluBackward0",
    "relu6": "HardtanhBackward0",
    "hardtanh": "HardtanhBackward0",
    "leaky_relu": "LeakyReluBackward1",
    "elu": "EluBackward1",
    "selu": "EluBackward1",
    "celu": "CeluBackward1",
    "silu": "SiluBackward0",
    "mish": "MishBackward0",
    "hardswish": "HardswishBackward0",
    "hardsigmoid": "HardsigmoidBackward0",
    "threshold": "ThresholdBackward1",
    "dropout": "MulBackward0",
}


#: PyTorch's hardsigmoid backward multiplies by a float32 1/6, also in float64.
GRAD_RTOL = {"hardsigmoid": 1e-7, "Hardsigmoid": 1e-7}


def _in_place(lib: Any, fn: Callable[[Any], Any], values: np.ndarray) -> tuple[Any, Any]:
    """``fn`` applied in place to a non-leaf ``x * 1``; returns the leaf and the non-leaf."""
    x = lib.tensor(values.copy(), requires_grad=True)
    h = x * 1.0
    out = fn(h)
    assert out is h
    return x, h


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_forms_show_pytorchs_node(name: str) -> None:
    ours_fn, theirs_fn = INPLACE[name]
    x, h = _in_place(tg, ours_fn, KINKS)
    tx, th = _in_place(torch, theirs_fn, KINKS)
    assert node_names(h.grad_fn) == node_names(th.grad_fn)
    assert type(h.grad_fn).__name__ == type(th.grad_fn).__name__
    assert f"grad_fn=<{th.grad_fn.name()}>" in repr(h)
    base = name.split("_")[0] if not name.startswith("leaky") else "leaky_relu"
    assert h.grad_fn.name() == TORCH_NAMES[base]
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-13, atol=0)
    v = RNG.standard_normal(KINKS.shape)
    h.backward(tg.tensor(v))
    th.backward(torch.tensor(v))
    rtol = GRAD_RTOL.get(name, 1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "celu", "threshold", "hardtanh"])
def test_out_of_place_forms_keep_their_names(name: str) -> None:
    args = {"threshold": (0.5, -2.0)}.get(name, ())
    h = tg.tensor(KINKS, requires_grad=True) * 1.0
    th = torch.tensor(KINKS, requires_grad=True) * 1.0
    got, want = getattr(F, name)(h, *args), getattr(TF, name)(th, *args)
    assert got is not h and want is not th
    assert node_names(got.grad_fn) == node_names(want.grad_fn)
    assert h.grad_fn.name() == th.grad_fn.name() == "MulBackward0"


def test_the_functional_inplace_forms_of_pytorch_are_all_here() -> None:
    for name in ("relu_", "hardtanh_", "leaky_relu_", "elu_", "selu_", "celu_", "threshold_"):
        assert hasattr(TF, name)
        assert name in F.__all__ and callable(getattr(F, name))


@pytest.mark.parametrize(
    "name, args",
    [
        ("ReLU", ()),
        ("ReLU6", ()),
        ("Hardtanh", (-0.5, 2.5)),
        ("LeakyReLU", (0.2,)),
        ("ELU", (1.5,)),
        ("SELU", ()),
        ("CELU", (0.5,)),
        ("SiLU", ()),
        ("Mish", ()),
        ("Hardswish", ()),
        ("Hardsigmoid", ()),
        ("Threshold", (0.5, -2.0)),
    ],
)
def test_modules_with_inplace_show_pytorchs_node(name: str, args: tuple[Any, ...]) -> None:
    ours = getattr(tg.nn, name)(*args, inplace=True)
    theirs = getattr(TNN, name)(*args, inplace=True)
    x, h = _in_place(tg, ours, KINKS)
    tx, th = _in_place(torch, theirs, KINKS)
    assert node_names(h.grad_fn) == node_names(th.grad_fn)
    v = RNG.standard_normal(KINKS.shape)
    h.backward(tg.tensor(v))
    th.backward(torch.tensor(v))
    rtol = GRAD_RTOL.get(name, 1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-15)


def test_chained_inplace_forms_lead_to_each_other() -> None:
    # Names and values only: PyTorch's EluBackward1 and LeakyReluBackward1 keep the result,
    # which the next write overwrites, so its backward raises here.
    def program(f: Any, lib: Any) -> tuple[Any, Any]:
        x = lib.tensor(KINKS.copy(), requires_grad=True)
        h = x * 2.0
        f.leaky_relu_(h, 0.1)
        f.elu_(h)
        f.hardtanh_(h, -0.5, 3.0)
        return x, h

    def chain(node: Any) -> list[str]:
        names = []
        while node is not None and node.name() != "torch::autograd::AccumulateGrad":
            names.append(node.name())
            node = node.next_functions[0][0]
        return names

    x, h = program(F, tg)
    tx, th = program(TF, torch)
    expected = ["HardtanhBackward0", "EluBackward1", "LeakyReluBackward1", "MulBackward0"]
    assert chain(h.grad_fn) == chain(th.grad_fn) == expected
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["elu_", "leaky_relu_", "relu_", "hardtanh_", "celu_"])
def test_writing_through_a_view_records_copy_slices_on_the_base(name: str) -> None:
    def program(f: Any, lib: Any) -> tuple[Any, Any, Any]:
        x = lib.tensor(KINKS.reshape(4, 6).copy(), requires_grad=True)
        base = x * 1.0
        view = base[1]
        getattr(f, name)(view)
        return x, base, view

    x, base, view = program(F, tg)
    tx, tbase, tview = program(TF, torch)
    assert base.grad_fn.name() == tbase.grad_fn.name() == "torch::autograd::CopySlices"
    np.testing.assert_allclose(base.detach().numpy(), tbase.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(view.detach().numpy(), tview.detach().numpy(), rtol=1e-13)
    v = RNG.standard_normal((4, 6))
    base.backward(tg.tensor(v))
    tbase.backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["relu_", "hardtanh_", "leaky_relu_", "elu_", "selu_", "celu_"])
def test_inplace_forms_on_arrays_and_plain_tensors(name: str) -> None:
    want = getattr(TF, name)(torch.tensor(KINKS.copy())).numpy()
    arr = KINKS.copy()
    assert getattr(F, name)(arr) is arr
    np.testing.assert_allclose(arr, want, rtol=1e-13, atol=0)
    t = tg.tensor(KINKS.copy())
    assert getattr(F, name)(t) is t and t.grad_fn is None
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-13, atol=0)


def test_threshold_inplace_on_an_array() -> None:
    arr = KINKS.copy()
    assert F.threshold_(arr, 0.5, 9.0) is arr
    np.testing.assert_array_equal(arr, TF.threshold_(torch.tensor(KINKS.copy()), 0.5, 9.0).numpy())


@pytest.mark.parametrize("name", ["relu_", "leaky_relu_", "elu_", "selu_", "celu_", "hardtanh_"])
def test_inplace_on_a_leaf_that_requires_grad_fails_like_pytorch(name: str) -> None:
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(tg.tensor(KINKS.copy(), requires_grad=True))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(TF, name)(torch.tensor(KINKS.copy(), requires_grad=True))


@pytest.mark.parametrize(
    "ours, theirs_inplace, theirs_out",
    [
        (
            lambda h: F.leaky_relu_(h, -0.5),
            lambda h: TF.leaky_relu_(h, -0.5),
            lambda h: TF.leaky_relu(h, -0.5),
        ),
        (lambda h: F.elu_(h, -0.5), lambda h: TF.elu_(h, -0.5), lambda h: TF.elu(h, -0.5)),
    ],
)
def test_negative_slopes_differentiate_where_pytorch_refuses(
    ours: Callable[[Any], Any],
    theirs_inplace: Callable[[Any], Any],
    theirs_out: Callable[[Any], Any],
) -> None:
    # PyTorch recovers the input from the result in backward, which a negative slope makes
    # impossible, so it raises there; tapegrad keeps the input and gives the out-of-place
    # gradient.
    tx, th = _in_place(torch, theirs_inplace, KINKS)
    with pytest.raises(RuntimeError, match="negative slope"):
        th.sum().backward()
    x, h = _in_place(tg, ours, KINKS)
    h.sum().backward()
    tx = torch.tensor(KINKS.copy(), requires_grad=True)
    theirs_out(tx * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
