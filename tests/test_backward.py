"""The reverse sweep seen through the facade: ``backward()``, ``.grad`` accumulation,
``retain_grad``, ``retain_graph``, ``create_graph``, ``inputs=``, hooks and
``tg.autograd.grad`` (API.md sections 1 and 2).

Expected values and messages were checked against PyTorch 2.13 once and are written out, so
these tests run without PyTorch; the tests marked ``torch`` compare with a live PyTorch.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import tapegrad as tg

SECOND_BACKWARD = "Trying to backward through the graph a second time"
SECOND_BACKWARD_FULL = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
NON_SCALAR = "grad can be implicitly created only for scalar outputs"
NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"
NONLEAF_GRAD_WARNING = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def values(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.detach().numpy())


# ---------------------------------------------------------------------------------------------
# backward(): scalar, vector, errors
# ---------------------------------------------------------------------------------------------


def test_scalar_backward():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    assert y.backward() is None
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert x.grad.dtype == np.float32
    assert not x.grad.requires_grad
    assert x.grad.is_leaf


def test_classic_tutorial_values():
    # The PyTorch autograd tutorial: out = mean(3 (x + 2)^2) at x = ones(2, 2).
    x = tg.ones(2, 2, requires_grad=True)
    out = ((x + 2) * (x + 2) * 3).mean()
    assert out.item() == 27.0
    out.backward()
    np.testing.assert_array_equal(values(x.grad), np.full((2, 2), 4.5))


def test_vector_backward_with_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x**2
    y.backward(tg.tensor([1.0, 0.0, 1.0]))
    assert x.grad.tolist() == [2.0, 0.0, 6.0]


def test_vector_backward_gradient_keyword():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 3
    y.backward(gradient=tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert x.grad.tolist() == [[3.0, 6.0], [9.0, 12.0]]


def test_vjp_through_matrix():
    m = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    x = tg.tensor([1.0, 1.0], requires_grad=True)
    y = m @ x
    y.backward(tg.tensor([1.0, 10.0]))
    # v^T M = [1 + 30, 2 + 40]
    assert x.grad.tolist() == [31.0, 42.0]


def test_non_scalar_backward_without_gradient_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert str(info.value) == NON_SCALAR
    assert x.grad is None


def test_one_element_non_scalar_backward_is_implicit():
    # PyTorch accepts any single-element output.
    x = tg.tensor([3.0], requires_grad=True)
    (x * x).backward()
    assert x.grad.tolist() == [6.0]


def test_backward_gradient_shape_mismatch_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape: grad_output\\[0\\] has a shape of"):
        (x * 2).backward(tg.ones(3))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError) as info:
        tg.ones(2).sum().backward()
    assert str(info.value) == NO_GRAD_FN
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=NO_GRAD_FN):
        y.backward()


def test_backward_on_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.backward(tg.tensor([2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 3.0]
    s = tg.tensor(3.0, requires_grad=True)
    s.backward()
    assert s.grad.item() == 1.0
    assert s.grad.shape == ()


def test_gradient_of_unused_leaf_stays_none():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    assert y.grad is None


def test_leaf_used_several_times_adds_up():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x * x + x * 2 - x).sum().backward()
    # 3 x^2 + 1
    assert x.grad.tolist() == [4.0, 13.0, 28.0]


def test_diamond_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y * y + y).sum()
    z.backward()
    # dz/dx = (2y + 1) * 2 with y = 2x
    assert x.grad.tolist() == [10.0, 18.0]


def test_deep_chain():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(200):
        y = y * 1.01
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.01**200], rtol=1e-4)


def test_grad_is_none_before_backward():
    x = tg.tensor([1.0], requires_grad=True)
    _ = x * 2
    assert x.grad is None


# ---------------------------------------------------------------------------------------------
# .grad accumulation
# ---------------------------------------------------------------------------------------------


def test_grad_accumulates_across_backward_calls():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]
    (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, 8.0]


def test_grad_zeroing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x.grad = None
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_grad_does_not_alias_between_leaves():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()
    x.grad.add_(100.0)
    assert y.grad.tolist() == [1.0, 1.0]


def test_grad_does_not_alias_the_seed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    v = tg.tensor([5.0, 6.0])
    (x * 1).backward(v)
    x.grad.add_(1.0)
    assert v.tolist() == [5.0, 6.0]
    x2 = tg.tensor([1.0, 2.0], requires_grad=True)
    (x2 + 0).backward(v)
    x2.grad.mul_(0.0)
    assert v.tolist() == [5.0, 6.0]


def test_grad_setter_checks_shape():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.grad = tg.tensor([1.0, 1.0])
    (x * 2).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        x.grad = tg.ones(3)


def test_training_loop_accumulation():
    w = tg.tensor([0.5, -0.5], requires_grad=True)
    xs = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    for _ in range(3):
        loss = (xs @ w).sum()
        loss.backward()
    assert w.grad.tolist() == [12.0, 18.0]


# ---------------------------------------------------------------------------------------------
# non-leaf .grad and retain_grad
# ---------------------------------------------------------------------------------------------


def test_non_leaf_grad_warns_and_is_none():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match=re.escape(NONLEAF_GRAD_WARNING)) as rec:
        g = y.grad
    assert g is None
    assert "retain_grad()" in str(rec[0].message)


def test_leaf_grad_does_not_warn():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None
        assert tg.ones(2).grad is None


def test_retain_grad():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad.tolist() == [4.0, 8.0, 12.0]
    assert x.grad.tolist() == [8.0, 16.0, 24.0]


def test_retain_grad_accumulates():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward(retain_graph=True)
    (y * y).sum().backward()
    assert y.grad.tolist() == [8.0, 16.0, 24.0]
    assert x.grad.tolist() == [16.0, 32.0, 48.0]


def test_retain_grad_on_leaf_is_noop():
    x = tg.tensor([1.0], requires_grad=True)
    x.retain_grad()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0]


def test_retain_grad_without_requires_grad_raises():
    with pytest.raises(
        RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"
    ):
        tg.ones(2).retain_grad()


def test_retain_grad_of_output_itself():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.retain_grad()
    y.backward()
    assert y.grad.item() == 1.0


# ---------------------------------------------------------------------------------------------
# retain_graph and the second backward
# ---------------------------------------------------------------------------------------------


def test_second_backward_through_saved_values_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert str(info.value).startswith(SECOND_BACKWARD)
    assert str(info.value) == SECOND_BACKWARD_FULL
    assert x.grad.tolist() == [2.0, 4.0]  # the failed call added nothing


@pytest.mark.parametrize("op", ["exp", "sin", "tanh", "sigmoid", "sqrt"])
def test_second_backward_through_saved_values_raises_for_unary(op):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = getattr(x, op)().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=re.escape(SECOND_BACKWARD)):
        y.backward()


def test_second_backward_with_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [6.0, 12.0]
    with pytest.raises(RuntimeError, match=re.escape(SECOND_BACKWARD)):
        y.backward()


def test_a_graph_made_with_create_graph_but_not_retained_raises_where_it_reaches_freed_values():
    """``create_graph=True, retain_graph=False`` frees the first graph while the new one is
    recorded. Where the new graph reads a value the first one computed (``sin(x)``, saved by
    the product), its second derivative must go through the freed graph: PyTorch raises, and
    so must tapegrad rather than drop that path (it returned ``2 cos(x)`` without the
    ``-x sin(x)`` term)."""
    x = tg.tensor([0.5, 1.5, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad((tg.sin(x) * x).sum(), x, create_graph=True, retain_graph=False)
    xs = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), np.cos(xs) * xs + np.sin(xs))
    with pytest.raises(RuntimeError) as info:
        tg.autograd.grad(g.sum(), x)
    assert str(info.value) == SECOND_BACKWARD_FULL
    # Where the new graph reads only the leaf, the second derivative needs nothing freed.
    (g,) = tg.autograd.grad((x**3).sum(), x, create_graph=True, retain_graph=False)
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6.0 * xs)


def test_second_backward_without_saved_values_is_never_wrong():
    # PyTorch gives x.grad == [2, 2]; the contract allows raising instead, never a wrong value.
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 2).sum()
    y.backward()
    try:
        y.backward()
    except RuntimeError as err:
        assert str(err).startswith(SECOND_BACKWARD)
        assert x.grad.tolist() == [1.0, 1.0]
    else:
        assert x.grad.tolist() == [2.0, 2.0]


def test_shared_prefix_second_graph_is_never_wrong():
    # PyTorch: h = x + 1; a = (h*h).sum(); b = (h*3).sum(); a.backward(); b.backward()
    # succeeds with x.grad == 2h + 3 == [7, 9]. Raising is allowed; a wrong value is not.
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x + 1
    a = (h * h).sum()
    b = (h * 3).sum()
    a.backward()
    assert x.grad.tolist() == [4.0, 6.0]
    try:
        b.backward()
    except RuntimeError as err:
        assert str(err).startswith(SECOND_BACKWARD)
        assert x.grad.tolist() == [4.0, 6.0]
    else:
        assert x.grad.tolist() == [7.0, 9.0]


def test_shared_prefix_with_saved_values_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    a = (h + 1).sum()
    b = (h * 3).sum()
    a.backward()
    with pytest.raises(RuntimeError, match=re.escape(SECOND_BACKWARD)):
        b.backward()


def test_shared_prefix_with_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    a = (h + 1).sum()
    b = (h * 3).sum()
    a.backward(retain_graph=True)
    b.backward()
    # 2x + 6x
    assert x.grad.tolist() == [8.0, 16.0]


def test_new_graph_each_iteration_works():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_retain_graph_defaults_to_create_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    y.backward(create_graph=True)
    y.backward()  # allowed: create_graph kept the graph
    np.testing.assert_allclose(values(x.grad), [6.0, 24.0])


# ---------------------------------------------------------------------------------------------
# create_graph: higher derivatives
# ---------------------------------------------------------------------------------------------


def test_create_graph_second_derivative_via_backward():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert g.requires_grad
    assert g.grad_fn is not None
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0, 18.0]


def test_create_graph_second_derivative_via_autograd_grad():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = tg.autograd.grad((x**3).sum(), x, create_graph=True)
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert g.requires_grad
    assert repr(g) == "tensor([ 3., 12., 27.], grad_fn=<MulBackward0>)"
    (g2,) = tg.autograd.grad(g.sum(), x, create_graph=True)
    assert g2.tolist() == [6.0, 12.0, 18.0]
    (g3,) = tg.autograd.grad(g2.sum(), x)
    assert g3.tolist() == [6.0, 6.0, 6.0]
    assert not g3.requires_grad
    assert x.grad is None


def test_create_graph_mixed_partials():
    x = tg.tensor(2.0, requires_grad=True)
    y = tg.tensor(3.0, requires_grad=True)
    f = x * x * y + y * y  # f_x = 2xy, f_xy = 2x, f_y = x^2 + 2y, f_yy = 2
    gx, gy = tg.autograd.grad(f, (x, y), create_graph=True)
    assert gx.item() == 12.0 and gy.item() == 10.0
    (gxy,) = tg.autograd.grad(gx, y, retain_graph=True)
    (gxx,) = tg.autograd.grad(gx, x)
    assert gxy.item() == 4.0
    assert gxx.item() == 6.0
    (gyy,) = tg.autograd.grad(gy, y)
    assert gyy.item() == 2.0


@pytest.mark.parametrize(
    "expr, d1, d2",
    [
        ("x.exp()", [2.7182818285, 7.3890560989], [2.7182818285, 7.3890560989]),
        ("x.sin()", [0.5403023059, -0.4161468365], [-0.8414709848, -0.9092974268]),
        ("x.log()", [1.0, 0.5], [-1.0, -0.25]),
        ("1 / x", [-1.0, -0.25], [2.0, 0.25]),
        ("x.tanh()", [0.4199743416, 0.0706508249], [-0.6397000084, -0.1362186874]),
        ("x.sqrt()", [0.5, 0.3535533906], [-0.25, -0.0883883476]),
    ],
)
def test_second_derivatives_of_unary_functions(expr, d1, d2):
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = tg.autograd.grad(eval(expr).sum(), x, create_graph=True)
    np.testing.assert_allclose(values(g), d1, rtol=1e-8)
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(values(h), d2, rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# backward(inputs=...)
# ---------------------------------------------------------------------------------------------


def test_backward_inputs_restricts_accumulation():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == [3.0, 4.0]
    assert w.grad is None


def test_backward_inputs_single_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=w)
    assert w.grad.tolist() == [1.0, 2.0]
    assert x.grad is None


def test_backward_inputs_accumulates():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x, w], retain_graph=True)
    (x * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == [6.0, 8.0]
    assert w.grad.tolist() == [1.0, 2.0]


def test_backward_inputs_non_leaf():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    (y * y).sum().backward(inputs=[y])
    assert x.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert y.grad.tolist() == [4.0, 8.0, 12.0]


def test_backward_inputs_non_leaf_grad_does_not_warn():
    # PyTorch warns about a non-leaf's .grad only while it is undefined.
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    (y * y).sum().backward(inputs=[y])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad.tolist() == [4.0, 8.0, 12.0]


def test_backward_inputs_empty_raises():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="'inputs' argument to backward\\(\\) cannot be empty."):
        (x * 2).sum().backward(inputs=[])


# ---------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------


def test_register_hook_replaces_leaf_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(g):
        seen.append(g.tolist())
        return g * 10

    h = x.register_hook(hook)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]]
    assert x.grad.tolist() == [30.0, 30.0]
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    assert len(seen) == 1


def test_hook_returning_none_keeps_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]]
    assert x.grad.tolist() == [2.0, 4.0]


def test_hook_on_non_leaf_changes_upstream_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    # dL/dy = 2y = [4, 8], +1 -> [5, 9], times dy/dx = 2
    assert x.grad.tolist() == [10.0, 18.0]


def test_hooks_run_in_order():
    x = tg.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [30.0]


def test_hook_called_once_per_backward_with_total_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.tolist()))
    (x * 2 + x * 3).sum().backward()
    assert calls == [[5.0, 5.0]]


def test_hook_remove_twice_is_harmless():
    x = tg.tensor([1.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 0)
    h.remove()
    h.remove()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(
        RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"
    ):
        tg.ones(2).register_hook(lambda g: g)


def test_hook_on_non_leaf_removed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    h = y.register_hook(lambda g: g * 100)
    h.remove()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_post_accumulate_grad_hook():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(t):
        assert t is x
        seen.append(t.grad.tolist())

    x.register_post_accumulate_grad_hook(hook)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0], [6.0, 6.0]]


def test_post_accumulate_grad_hook_can_update_parameter():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def sgd(p):
        with tg.no_grad():
            p.sub_(0.5 * p.grad)
        p.grad = None

    w.register_post_accumulate_grad_hook(sgd)
    (w * w).sum().backward()
    assert w.tolist() == [0.0, 0.0]
    assert w.grad is None
    assert w.is_leaf


def test_post_accumulate_grad_hook_removed():
    x = tg.tensor([1.0], requires_grad=True)
    seen = []
    h = x.register_post_accumulate_grad_hook(lambda t: seen.append(1))
    h.remove()
    (x * 2).sum().backward()
    assert seen == []


def test_post_accumulate_grad_hook_on_non_leaf_raises():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"
    ):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


# ---------------------------------------------------------------------------------------------
# tg.autograd.grad
# ---------------------------------------------------------------------------------------------


def test_autograd_grad_basic_does_not_touch_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    out = tg.autograd.grad((x**2).sum(), x)
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].tolist() == [2.0, 4.0]
    assert x.grad is None
    assert repr(out) == "(tensor([2., 4.]),)"


def test_autograd_grad_several_inputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    gx, gy = tg.autograd.grad((x * y).sum(), [x, y])
    assert gx.tolist() == [3.0, 4.0]
    assert gy.tolist() == [1.0, 2.0]


def test_autograd_grad_allow_unused():
    a = tg.ones(2, requires_grad=True)
    b = tg.ones(2, requires_grad=True)
    ga, gb = tg.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)
    assert ga.tolist() == [2.0, 2.0]
    assert gb is None


def test_autograd_grad_unused_raises():
    a = tg.ones(2, requires_grad=True)
    b = tg.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match="appears to not have been used in the graph. Set allow_unused=True if this is the "
        "desired behavior.",
    ):
        tg.autograd.grad((a * 2).sum(), [a, b])


def test_autograd_grad_unused_message_matches_torch():
    a = tg.ones(2, requires_grad=True)
    b = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        tg.autograd.grad((a * 2).sum(), [a, b])
    assert str(info.value) == (
        "The differentiated Tensor at index 1 appears to not have been used in the graph. "
        "Set allow_unused=True if this is the desired behavior."
    )


def test_autograd_grad_input_without_grad_raises():
    a = tg.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError, match="One of the differentiated Tensors does not require grad"
    ):
        tg.autograd.grad((a * 2).sum(), [a, tg.ones(2)])


def test_autograd_grad_grad_outputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad(x * x, x, grad_outputs=tg.tensor([1.0, 10.0]))
    assert g.tolist() == [2.0, 40.0]
    (g,) = tg.autograd.grad((x * x).sum(), x, grad_outputs=tg.tensor(2.0))
    assert g.tolist() == [4.0, 8.0]
    assert x.grad is None


def test_autograd_grad_non_scalar_without_grad_outputs_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=NON_SCALAR):
        tg.autograd.grad(x * x, x)


def test_autograd_grad_several_outputs_add_up():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad([(x * 2).sum(), (x * x).sum()], x)
    assert g.tolist() == [4.0, 6.0]


def test_autograd_grad_several_outputs_with_grad_outputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad(
        [x * 2, x * x], x, grad_outputs=[tg.tensor([1.0, 1.0]), tg.tensor([1.0, 0.0])]
    )
    assert g.tolist() == [4.0, 2.0]


def test_autograd_grad_with_respect_to_non_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    (gy,) = tg.autograd.grad((y * y).sum(), y)
    assert gy.tolist() == [6.0, 12.0]


def test_autograd_grad_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    (g1,) = tg.autograd.grad(y, x, retain_graph=True)
    (g2,) = tg.autograd.grad(y, x)
    assert g1.tolist() == g2.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match=re.escape(SECOND_BACKWARD)):
        tg.autograd.grad(y, x)


def test_autograd_grad_keeps_leaf_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad((x.double() ** 2).sum(), x)
    assert g.dtype == np.float32
    assert g.tolist() == [2.0, 4.0]


def test_autograd_backward_function():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    tg.autograd.backward([(x * 2).sum(), (x * x).sum()])
    assert x.grad.tolist() == [4.0, 6.0]
    x.grad = None
    tg.autograd.backward([x * 2, x * x], [tg.tensor([1.0, 1.0]), tg.tensor([1.0, 0.0])])
    assert x.grad.tolist() == [4.0, 2.0]


# ---------------------------------------------------------------------------------------------
# Cross-checks with PyTorch
# ---------------------------------------------------------------------------------------------


@pytest.mark.torch
def test_hooks_retain_grad_and_higher_order_match_torch(torch):
    def program(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        w = lib.tensor([1.5, 2.0, -0.5], requires_grad=True)
        h = x * w
        h.retain_grad()
        h.register_hook(lambda g: g * 2)
        z = (h.exp() * x).sum() + (w**3).sum()
        (gx, gw) = lib.autograd.grad(z, (x, w), create_graph=True)
        (gxx,) = lib.autograd.grad(gx.sum(), x, retain_graph=True)
        z.backward()
        return [t.detach().numpy().copy() for t in (gx, gw, gxx, x.grad, w.grad, h.grad)]

    for ours, theirs in zip(program(tg), program(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


@pytest.mark.torch
def test_vector_backward_matches_torch(torch):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4))
    v = rng.standard_normal((3, 4))

    def program(lib):
        x = lib.tensor(a, requires_grad=True)
        y = (x.sin() * x + x / 3) ** 2
        y.backward(lib.tensor(v))
        return x.grad.numpy()

    np.testing.assert_allclose(program(tg), program(torch), rtol=1e-12)


def _many_graphs(n: int) -> tuple[tg.Tensor, list[tg.Tensor]]:
    w = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    losses = [((w * float(i + 1)).sin() * w).sum() for i in range(n)]
    return w, losses


@pytest.mark.parametrize("order", ["recorded", "reversed", "interleaved"])
def test_backward_of_one_graph_among_many_leaves_the_others_intact(order: str) -> None:
    from tapegrad.tape import current_tape

    tape = current_tape()
    tape.prune()
    before = len(tape)
    n = 300  # longer than a tape that is swept from its start
    w, losses = _many_graphs(n)
    picks = list(range(n))
    if order == "reversed":
        picks.reverse()
    elif order == "interleaved":
        picks = picks[::2] + picks[1::2]
    x = w.detach().numpy()
    expected = np.zeros(3)
    for i in picks:
        losses[i].backward()
        c = float(i + 1)
        expected += np.sin(c * x) + x * c * np.cos(c * x)
        np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-10, atol=1e-9)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        losses[picks[0]].backward()
    del losses
    tape.prune()
    assert len(tape) == before
