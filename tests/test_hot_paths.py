"""Shortcuts on the paths every training step takes, checked against what the general paths
(and PyTorch) do: operations on ``Parameter`` (a Tensor subclass), two-argument primitives
without a NumPy shortcut (``binary_cross_entropy_with_logits``), ``p -= lr * p.grad`` under
``no_grad``, and the first ``.grad`` a leaf receives from ``backward()``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.nn import Parameter

RNG = np.random.default_rng(7)


def _fd(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar function."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


# ---------------------------------------------------------------------- Parameter operands


@pytest.mark.parametrize(
    "op, name",
    [
        (lambda p, x: p * x, "MulBackward0"),
        (lambda p, x: x - p, "SubBackward0"),
        (lambda p, x: x @ p, "MvBackward0"),
        (lambda p, x: tg.sin(p), "SinBackward0"),
        (lambda p, x: -p, "NegBackward0"),
    ],
)
def test_operations_on_parameters_are_recorded_as_on_tensors(op, name):
    data = RNG.standard_normal(3)
    x = tg.tensor(RNG.standard_normal((3, 3)) if name == "MvBackward0" else RNG.standard_normal(3))
    p = Parameter(tg.tensor(data))
    out = op(p, x)
    assert type(out) is tg.Tensor
    assert out.grad_fn.name() == name
    out.sum().backward()

    def value(v: np.ndarray) -> float:
        return float(op(tg.tensor(v), x).sum())

    np.testing.assert_allclose(p.grad.numpy(), _fd(value, data), rtol=1e-6, atol=1e-8)


def test_a_parameter_saved_for_backward_and_changed_in_place_is_caught():
    p = Parameter(tg.tensor([1.0, 2.0]))
    y = (p * p).sum()
    with tg.no_grad():
        p.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_operations_on_parameters_under_no_grad_give_plain_tensors():
    p = Parameter(tg.tensor([1.0, 2.0]))
    with tg.no_grad():
        out = p * 3.0
    assert type(out) is tg.Tensor and not out.requires_grad
    assert out.tolist() == [3.0, 6.0]


# ---------------------------------------------------------------------- two-argument primitives


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_takes_the_two_argument_path_with_its_parameters(reduction, dtype):
    x = RNG.standard_normal(6).astype(dtype)
    y = (RNG.random(6) < 0.5).astype(dtype)
    xt = tg.tensor(x, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(xt, tg.tensor(y), reduction=reduction)
    assert out.dtype == np.dtype(dtype)
    assert out.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    loss = np.logaddexp(0.0, x.astype(np.float64)) - y * x.astype(np.float64)
    expected = {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=rtol)
    out.sum().backward()
    sig = 1 / (1 + np.exp(-x.astype(np.float64)))
    scale = 1 / x.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(xt.grad.numpy(), (sig - y) * scale, rtol=rtol, atol=1e-7)


def test_a_two_argument_primitive_on_raw_arrays_returns_a_raw_array():
    out = tg.ops.nn.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.0, 1.0]))
    assert type(out) is np.ndarray and out.shape == ()
    np.testing.assert_allclose(out, np.log(2.0))


# ---------------------------------------------------------------------- in-place arithmetic


@pytest.mark.parametrize(
    "update, expected",
    [
        (lambda p, g: p.__isub__(0.5 * g), [0.5, 1.0]),
        (lambda p, g: p.__iadd__(g), [2.0, 4.0]),
        (lambda p, g: p.__imul__(g), [1.0, 4.0]),
        (lambda p, g: p.__itruediv__(g), [1.0, 1.0]),
        (lambda p, g: p.__isub__(1), [0.0, 1.0]),
    ],
)
def test_an_update_under_no_grad_writes_into_the_leaf_and_counts_a_version(update, expected):
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    storage = p.data
    grad = tg.tensor([1.0, 2.0])
    before = p._version_value
    with tg.no_grad():
        out = update(p, grad)
    assert out is p and p.data is storage
    assert p.tolist() == expected
    assert p._version_value == before + 1
    assert p.requires_grad and p.is_leaf


def test_an_update_outside_no_grad_on_a_leaf_that_requires_grad_still_raises():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p -= tg.tensor([1.0, 1.0])
    assert p.tolist() == [1.0, 2.0]


def test_in_place_arithmetic_keeps_pytorchs_errors():
    ints = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        ints -= 0.5
    bools = tg.tensor([True, False])
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors"):
        bools -= tg.tensor([True, True])
    small = tg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        small += tg.ones(3, 2)


def test_in_place_arithmetic_on_a_view_reaches_its_base():
    base = tg.tensor([1.0, 2.0, 3.0, 4.0])
    view = base[1:3]
    view -= 1.0
    assert base.tolist() == [1.0, 1.0, 2.0, 4.0]
    assert view._version_value == base._version_value == 1


# ---------------------------------------------------------------------- the first .grad


def test_the_first_grad_of_a_leaf_is_its_own_array():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = tg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    (x * w).sum().backward()
    assert x.grad.tolist() == [4.0, 5.0, 6.0] and w.grad.tolist() == [1.0, 2.0, 3.0]
    # ``x``'s gradient is ``w``'s data times a broadcast one: never ``w``'s storage itself.
    assert not np.shares_memory(x.grad.numpy(), w.detach().numpy())
    assert x.grad.numpy().flags.owndata and x.grad.numpy().flags.writeable


def test_a_gradient_handed_on_unchanged_is_copied_into_grad():
    x = tg.tensor(2.0, requires_grad=True)
    y = x + 0.0  # the rule of add hands the seed on unchanged
    y.backward()
    x.grad.add_(1.0)
    y2 = x + 0.0
    y2.backward()
    assert x.grad.item() == 3.0


def test_grad_set_to_none_then_filled_again():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0]
        x.grad = None
    assert x.grad is None


def test_the_first_grad_still_runs_post_accumulate_hooks():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * 3.0).sum().backward()
    assert seen == [[3.0, 3.0]]


# ---------------------------------------------------------------------- matmul on raw arrays


def test_matmul_of_raw_arrays_checks_shapes_and_returns_arrays():
    from tapegrad.ops.linalg import matmul

    out = matmul(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert type(out) is np.ndarray and out.shape == () and out == 11.0
    np.testing.assert_array_equal(matmul(np.ones((2, 3)), np.arange(3.0)), [3.0, 3.0])
    np.testing.assert_array_equal(matmul(np.arange(2.0), np.ones((2, 3))), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\) \(3 != 4\)"):
        matmul(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        matmul(2.0, 3.0)
