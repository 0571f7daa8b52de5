"""PyTorch's tests and searches (``isnan``, ``argsort``, ``nonzero``, ...), the top-level forms
of methods (``tg.round``, ``tg.t``, ``tg.narrow``, ...) and the in-place elementwise methods
(``x.exp_()``), each against PyTorch: values, dtypes, ``grad_fn`` names and gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

SPECIAL = np.array([[1.5, -0.0, np.nan, 0.0], [-np.inf, 2.0, np.inf, -3.25], [0.0, 0.5, 0.0, 7.0]])
TIES = np.array([[3.0, 1.0, 3.0, np.nan, 1.0], [0.0, -1.0, 2.0, 2.0, -1.0]])


def _host(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_host(i) for i in x)
    if isinstance(x, (tg.Tensor, torch.Tensor)):
        return x.detach().numpy()
    return x


QUERIES: dict[str, Callable[[Any, Any], Any]] = {
    "isnan": lambda m, a: m.isnan(a),
    "isinf": lambda m, a: m.isinf(a),
    "isfinite": lambda m, a: m.isfinite(a),
    "signbit": lambda m, a: m.signbit(a),
    "isnan_method": lambda m, a: a.isnan(),
    "nonzero": lambda m, a: m.nonzero(a),
    "nonzero_tuple": lambda m, a: m.nonzero(a, as_tuple=True),
    "nonzero_scalar_tuple": lambda m, a: m.nonzero(a[0, 0], as_tuple=True),
    "argwhere": lambda m, a: m.argwhere(a),
    "count_nonzero": lambda m, a: m.count_nonzero(a),
    "count_nonzero_dim": lambda m, a: a.count_nonzero(dim=1),
    "count_nonzero_dims": lambda m, a: m.count_nonzero(a, dim=(0, 1)),
    "allclose_self": lambda m, a: m.allclose(a, a),
    "allclose_nan": lambda m, a: m.allclose(a, a, equal_nan=True),
    "allclose_close": lambda m, a: a[2].allclose(a[2] + 1e-9),
    "allclose_far": lambda m, a: m.allclose(a[2], a[2] + 1e-3, rtol=1e-6),
    "equal": lambda m, a: m.equal(a[1:], a[1:]),
    "equal_shapes": lambda m, a: m.equal(a, a[:2]),
    "equal_values": lambda m, a: a[2].equal(a[2] * 2),
    "numel": lambda m, a: m.numel(a),
    "is_tensor": lambda m, a: (m.is_tensor(a), m.is_tensor([1.0])),
    "all": lambda m, a: m.all(a),
    "all_dim": lambda m, a: m.all(a, dim=1),
    "any_dim_keepdim": lambda m, a: m.any(a == 0, dim=0, keepdim=True),
}


@pytest.mark.parametrize("name", QUERIES)
def test_queries_match_pytorch(name: str) -> None:
    theirs = QUERIES[name](torch, torch.tensor(SPECIAL))
    ours = QUERIES[name](tg, tg.tensor(SPECIAL))
    assert type(_host(ours)) is type(_host(theirs))
    flat = theirs if isinstance(theirs, tuple) else (theirs,)
    if all(isinstance(t, torch.Tensor) for t in flat):
        for mine, ref in zip(_host((ours,)), _host((theirs,)), strict=True):
            mine_t, ref_t = (mine, ref) if isinstance(ref, tuple) else ((mine,), (ref,))
            for m_, r_ in zip(mine_t, ref_t, strict=True):
                assert m_.dtype == r_.dtype and m_.shape == r_.shape
                np.testing.assert_array_equal(m_, r_)
        flat = ours if isinstance(ours, tuple) else (ours,)
        assert all(not t.requires_grad for t in flat)
    else:
        assert ours == theirs


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_argsort_is_sorts_stable_order(dim: int, descending: bool) -> None:
    ours = tg.argsort(tg.tensor(TIES), dim=dim, descending=descending)
    theirs = torch.argsort(torch.tensor(TIES), dim=dim, descending=descending, stable=True)
    assert ours.dtype == tg.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(tg.tensor(TIES).argsort(dim, descending).numpy(), ours.numpy())


def test_queries_take_arrays_and_give_tensors() -> None:
    out = tg.isnan(np.array([1.0, np.nan]))
    assert isinstance(out, tg.Tensor) and out.tolist() == [False, True]
    assert tg.numel(np.zeros((2, 3))) == 6 and tg.equal(np.ones(2), np.ones(2))


# name: (program, torch's node name or None for no gradient)
FUNCTIONS: dict[str, tuple[Callable[[Any, Any], Any], str | None]] = {
    "round": (lambda m, a: m.round(a), None),
    "round_decimals": (lambda m, a: m.round(a * 10.0, decimals=1), None),
    "ceil": (lambda m, a: m.ceil(a), None),
    "trunc": (lambda m, a: m.trunc(a), None),
    "clone": (lambda m, a: m.clone(a), "CloneBackward0"),
    "t": (lambda m, a: m.t(a), "TBackward0"),
    "t_vector": (lambda m, a: m.t(a[0]), None),
    "narrow": (lambda m, a: m.narrow(a, 1, 1, 2), "SliceBackward0"),
    "narrow_negative_dim": (lambda m, a: m.narrow(a, -2, 0, 1), "SliceBackward0"),
    "select": (lambda m, a: m.select(a, 1, -1), "SelectBackward0"),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_top_level_forms_of_methods_match_pytorch(name: str) -> None:
    program, node = FUNCTIONS[name]
    x = np.random.default_rng(1).standard_normal((3, 4)) * 3.0
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = program(tg, a), program(torch, b)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    if node is not None:
        assert ours.grad_fn.name() == theirs.grad_fn.name() == node
    w = np.random.default_rng(2).standard_normal(tuple(theirs.shape))
    (ours * tg.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-14)


def test_t_of_more_than_two_dimensions_is_pytorchs_error() -> None:
    with pytest.raises(RuntimeError) as ours:
        tg.t(tg.zeros(2, 3, 4))
    with pytest.raises(RuntimeError) as theirs:
        torch.t(torch.zeros(2, 3, 4))
    assert str(ours.value) == str(theirs.value)


IN_PLACE = ["abs_", "neg_", "negative_", "exp_", "log_", "sqrt_", "square_", "reciprocal_"]
IN_PLACE += ["sigmoid_", "tanh_", "sin_", "cos_", "relu_"]


@pytest.mark.parametrize("method", IN_PLACE)
def test_in_place_elementwise_methods_match_pytorch(method: str) -> None:
    x = np.random.default_rng(3).uniform(0.2, 2.0, (2, 3)) * np.array([1.0, -1.0, 1.0])
    if method in ("log_", "sqrt_"):
        x = np.abs(x)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = a * 1.0, b * 1.0
    assert getattr(ours, method)() is ours and getattr(theirs, method)() is theirs
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-15)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13)


def test_in_place_methods_on_a_leaf_that_requires_grad_are_pytorchs_error() -> None:
    with pytest.raises(RuntimeError) as ours:
        tg.ones(2, requires_grad=True).exp_()
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2, requires_grad=True).exp_()
    assert str(ours.value) == str(theirs.value)


def test_masked_fill_in_place_matches_pytorch() -> None:
    x = np.arange(6.0).reshape(2, 3)
    mask = x % 2 == 0
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = a * 2.0, b * 2.0
    ours.masked_fill_(tg.tensor(mask), -1.0)
    theirs.masked_fill_(torch.tensor(mask), -1.0)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
