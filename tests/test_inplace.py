"""In-place operations: values, PyTorch's rules for leaves that require grad, recording on
non-leaves, ``x[idx] = v``, version counters shared by views and ``detach()``, and the error
for a saved value changed in place (API.md section 1).

Expected values and messages were checked against PyTorch 2.13 once and are written out, so
these tests run without PyTorch; the tests marked ``torch`` compare with a live PyTorch.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tapegrad as tg

LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
MODIFIED = (
    "one of the variables needed for gradient computation has been modified by an inplace operation"
)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def values(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _leaf():
    return tg.tensor([1.0, 2.0, 3.0], requires_grad=True)


# ---------------------------------------------------------------------------------------------
# Values on plain tensors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda a: a.add_(1), [2.0, 3.0, 4.0]),
        (lambda a: a.add_(tg.tensor([1.0, 2.0, 3.0]), alpha=2), [3.0, 6.0, 9.0]),
        (lambda a: a.sub_(1), [0.0, 1.0, 2.0]),
        (lambda a: a.sub_(tg.tensor([1.0, 2.0, 3.0]), alpha=2), [-1.0, -2.0, -3.0]),
        (lambda a: a.mul_(2), [2.0, 4.0, 6.0]),
        (lambda a: a.mul_(tg.tensor([0.0, 1.0, -1.0])), [0.0, 2.0, -3.0]),
        (lambda a: a.div_(2), [0.5, 1.0, 1.5]),
        (lambda a: a.div_(tg.tensor([1.0, 4.0, 0.5])), [1.0, 0.5, 6.0]),
        (lambda a: a.zero_(), [0.0, 0.0, 0.0]),
        (lambda a: a.fill_(7.5), [7.5, 7.5, 7.5]),
        (lambda a: a.fill_(tg.tensor(2.0)), [2.0, 2.0, 2.0]),
        (lambda a: a.copy_(tg.tensor([9.0, 8.0, 7.0])), [9.0, 8.0, 7.0]),
        (lambda a: a.copy_(tg.tensor(4.0)), [4.0, 4.0, 4.0]),
        (lambda a: a.copy_(tg.tensor([1, 2, 3])), [1.0, 2.0, 3.0]),
        (lambda a: a.pow_(2), [1.0, 4.0, 9.0]),
        (lambda a: a.clamp_(1.5, 2.5), [1.5, 2.0, 2.5]),
    ],
)
def test_inplace_values_and_identity(op, expected):
    a = tg.tensor([1.0, 2.0, 3.0])
    out = op(a)
    assert out is a
    assert a.tolist() == expected
    assert a.dtype == np.float32
    assert not a.requires_grad


def test_augmented_assignment_keeps_object():
    a = tg.tensor([1.0, 2.0, 3.0])
    ident = id(a)
    a += 1
    a *= 2
    a -= tg.tensor([1.0, 1.0, 1.0])
    a /= 2
    assert id(a) == ident
    assert a.tolist() == [1.5, 2.5, 3.5]
    a **= 2
    assert id(a) == ident
    assert a.tolist() == [2.25, 6.25, 12.25]


def test_inplace_chaining():
    a = tg.ones(3)
    b = a.add_(1).mul_(3)
    assert b is a
    assert a.tolist() == [6.0, 6.0, 6.0]


def test_inplace_broadcasts_into_self():
    a = tg.zeros(2, 2)
    a.add_(tg.tensor([1.0, 2.0]))
    assert a.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    b = tg.zeros(2, 2)
    b.copy_(tg.tensor([1.0, 2.0]))
    assert b.tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_inplace_shape_mismatch_raises():
    a = tg.zeros(3)
    with pytest.raises(
        RuntimeError,
        match=re.escape("output with shape [3] doesn't match the broadcast shape [2, 3]"),
    ):
        a.add_(tg.ones(2, 3))
    assert a.tolist() == [0.0, 0.0, 0.0]


def test_inplace_float_into_integer_raises():
    a = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        a.add_(1.5)
    assert a.tolist() == [1, 2]


def test_inplace_float_into_integer_message():
    a = tg.tensor([1, 2])
    with pytest.raises(RuntimeError) as info:
        a.add_(1.5)
    assert str(info.value) == "result type Float can't be cast to the desired output type Long"


def test_inplace_integer_ops_on_integer_tensor():
    a = tg.tensor([1, 2])
    a += 3
    a *= 2
    assert a.tolist() == [8, 10]
    assert a.dtype == np.int64


def test_inplace_keeps_dtype():
    a = tg.ones(2, dtype=tg.float32)
    a.add_(tg.ones(2, dtype=tg.float64))
    assert a.dtype == np.float32
    a.mul_(np.float64(2.0))
    assert a.dtype == np.float32
    assert a.tolist() == [4.0, 4.0]


def test_setitem_plain_values():
    a = tg.zeros(3)
    a[1] = 5
    a[tg.tensor([True, False, True])] = 2.0
    assert a.tolist() == [2.0, 5.0, 2.0]
    m = tg.zeros(2, 3)
    m[0] = tg.tensor([1.0, 2.0, 3.0])
    m[:, 2] = 9.0
    m[[1, 1], [0, 1]] = tg.tensor([4.0, 5.0])
    assert m.tolist() == [[1.0, 2.0, 9.0], [4.0, 5.0, 9.0]]
    assert not m.requires_grad


# ---------------------------------------------------------------------------------------------
# Leaves that require grad
# ---------------------------------------------------------------------------------------------

LEAF_OPS = {
    "add_": lambda x: x.add_(1),
    "sub_": lambda x: x.sub_(1),
    "mul_": lambda x: x.mul_(2),
    "div_": lambda x: x.div_(2),
    "pow_": lambda x: x.pow_(2),
    "zero_": lambda x: x.zero_(),
    "fill_": lambda x: x.fill_(2.0),
    "copy_": lambda x: x.copy_(tg.ones(3)),
    "clamp_": lambda x: x.clamp_(0, 1),
    "iadd": lambda x: x.__iadd__(1),
    "isub": lambda x: x.__isub__(1),
    "imul": lambda x: x.__imul__(2),
    "itruediv": lambda x: x.__itruediv__(2),
}


@pytest.mark.parametrize("name", list(LEAF_OPS))
def test_inplace_on_leaf_requiring_grad_raises(name):
    x = _leaf()
    with pytest.raises(RuntimeError) as info:
        LEAF_OPS[name](x)
    assert str(info.value) == LEAF_INPLACE
    assert x.tolist() == [1.0, 2.0, 3.0]  # untouched
    assert x.is_leaf


def test_augmented_assignment_on_leaf_raises():
    x = _leaf()
    with pytest.raises(RuntimeError, match=re.escape(LEAF_INPLACE)):
        x += 1
    with pytest.raises(RuntimeError, match=re.escape(LEAF_INPLACE)):
        x *= 2


def test_setitem_on_leaf_requiring_grad_raises():
    # PyTorch words this one "a view of a leaf Variable that requires grad is being used in an
    # in-place operation."
    x = _leaf()
    with pytest.raises(
        RuntimeError,
        match="leaf Variable that requires grad is being used in an in-place operation",
    ):
        x[0] = 5.0
    assert x.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("name", list(LEAF_OPS))
def test_inplace_on_leaf_under_no_grad_works(name):
    x = _leaf()
    with tg.no_grad():
        out = LEAF_OPS[name](x)
    assert out is x
    assert x.is_leaf
    assert x.requires_grad
    assert x.grad_fn is None


def test_sgd_step_under_no_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    lr = 0.1
    for _ in range(2):
        loss = (w * w).sum()
        loss.backward()
        with tg.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    # w <- w (1 - 2 lr), twice
    np.testing.assert_allclose(values(w), [0.64, 1.28], rtol=1e-6)
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w.grad.tolist() == [0.0, 0.0]


def test_setitem_on_leaf_under_no_grad():
    x = _leaf()
    with tg.no_grad():
        x[0] = 10.0
    assert x.tolist() == [10.0, 2.0, 3.0]
    assert x.is_leaf and x.requires_grad
    (x * x).sum().backward()
    assert x.grad.tolist() == [20.0, 4.0, 6.0]


def test_inplace_on_detached_leaf_is_allowed():
    x = _leaf()
    d = x.detach()
    d.add_(1.0)
    assert x.tolist() == [2.0, 3.0, 4.0]
    assert x.requires_grad and x.is_leaf


def test_inplace_on_leaf_not_requiring_grad_with_grad_operand():
    x = _leaf()
    z = tg.zeros(3)
    z += x
    assert z.requires_grad
    assert not z.is_leaf
    assert z.grad_fn.name() == "AddBackward0"
    assert z.tolist() == [1.0, 2.0, 3.0]
    (z * z).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


# ---------------------------------------------------------------------------------------------
# In-place on non-leaves: recorded
# ---------------------------------------------------------------------------------------------

# (operation on y = x * 2 with x = [1, 2, 3], y after it, grad_fn name, x.grad of y.sum())
NONLEAF_TABLE = [
    ("y.add_(1)", [3.0, 5.0, 7.0], "AddBackward0", [2.0, 2.0, 2.0]),
    ("y.sub_(1)", [1.0, 3.0, 5.0], "SubBackward0", [2.0, 2.0, 2.0]),
    ("y.mul_(3)", [6.0, 12.0, 18.0], "MulBackward0", [6.0, 6.0, 6.0]),
    ("y.div_(2)", [1.0, 2.0, 3.0], "DivBackward0", [1.0, 1.0, 1.0]),
    ("y.sub_(y)", [0.0, 0.0, 0.0], "SubBackward0", [0.0, 0.0, 0.0]),
    ("y.add_(x)", [3.0, 6.0, 9.0], "AddBackward0", [3.0, 3.0, 3.0]),
    ("y.mul_(2).add_(x)", [5.0, 10.0, 15.0], "AddBackward0", [5.0, 5.0, 5.0]),
    ("y.zero_()", [0.0, 0.0, 0.0], "ZeroBackward0", [0.0, 0.0, 0.0]),
    ("y.fill_(5.0)", [5.0, 5.0, 5.0], "FillBackward2", [0.0, 0.0, 0.0]),
    ("y.copy_(tg.tensor([5.0, 6.0, 7.0]))", [5.0, 6.0, 7.0], "CopyBackwards", [0.0, 0.0, 0.0]),
    ("y.pow_(2)", [4.0, 16.0, 36.0], "PowBackward0", [8.0, 16.0, 24.0]),
]

_NONLEAF_XFAIL = {
    "y.zero_()": "zero_ on a non-leaf imports a missing ops.shape.constant_like",
    "y.fill_(5.0)": "fill_ on a non-leaf imports a missing ops.shape.constant_like",
    "y.pow_(2)": "pow_ overwrites the array its own rule saved: false 'modified by an inplace "
    "operation' error",
}


def _nonleaf_params(with_names: bool):
    for expr, after, name, grad in NONLEAF_TABLE:
        reason = _NONLEAF_XFAIL.get(expr)
        if with_names and expr.startswith("y.pow_"):
            reason = None  # the name is right; only the backward fails
        if with_names and expr.startswith("y.copy_"):
            reason = "copy_ on a non-leaf is named AddBackward0, PyTorch names it CopyBackwards"
        marks = () if reason else ()
        yield pytest.param(expr, after, name, grad, marks=marks, id=expr)


@pytest.mark.parametrize("expr, after, name, grad", list(_nonleaf_params(False)))
def test_inplace_on_non_leaf_values_and_gradient(expr, after, name, grad):
    x = _leaf()
    y = x * 2
    out = eval(expr)
    assert out is y
    assert y.tolist() == after
    assert y.requires_grad
    assert not y.is_leaf
    y.sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == grad


@pytest.mark.parametrize("expr, after, name, grad", list(_nonleaf_params(True)))
def test_inplace_on_non_leaf_grad_fn_name(expr, after, name, grad):
    x = _leaf()
    y = x * 2
    eval(expr)
    assert y.grad_fn.name().replace("torch::autograd::", "") == name


@pytest.mark.torch
@pytest.mark.parametrize("expr, after, name, grad", list(_nonleaf_params(False)))
def test_inplace_on_non_leaf_matches_torch(torch, expr, after, name, grad):
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ty = tx * 2
    eval(expr.replace("tg.", "torch."), {"x": tx, "y": ty, "torch": torch})
    ty.sum().backward()
    x = _leaf()
    y = x * 2
    eval(expr)
    y.sum().backward()
    np.testing.assert_array_equal(values(y), ty.detach().numpy())
    np.testing.assert_array_equal(values(x.grad), tx.grad.numpy())


def test_augmented_assignment_on_non_leaf():
    x = _leaf()
    y = x * 1
    y += x
    y *= 2
    y -= 1
    y /= 4
    np.testing.assert_allclose(values(y), [0.75, 1.75, 2.75])
    assert y.grad_fn.name() == "DivBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_mul_inplace_by_tensor_requiring_grad():
    # PyTorch: y = x * 1; y.mul_(w); y.sum().backward() -> x.grad = w, w.grad = x
    x = _leaf()
    w = tg.tensor([2.0, 2.0, 2.0], requires_grad=True)
    y = x * 1
    y.mul_(w)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    assert w.grad.tolist() == [1.0, 2.0, 3.0]


def test_div_inplace_by_constant_from_self():
    x = _leaf()
    y = x * 1
    y.div_(y.detach() + 1)
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [0.5, 1 / 3, 0.25], rtol=1e-6)


def test_copy_into_plain_tensor_from_tensor_requiring_grad():
    # PyTorch: z = zeros(3); z.copy_(x) -> z.requires_grad, not a leaf, CopyBackwards;
    # (z * z).sum().backward() -> x.grad == 2 x
    x = _leaf()
    z = tg.zeros(3)
    z.copy_(x)
    assert z.requires_grad
    assert not z.is_leaf
    assert z.grad_fn is not None
    (z * z).sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_copy_into_non_leaf_from_tensor_requiring_grad():
    x = _leaf()
    w = tg.tensor([5.0, 6.0, 7.0], requires_grad=True)
    y = x * 2
    y.copy_(w)
    (y * y).sum().backward()
    assert w.grad.tolist() == [10.0, 12.0, 14.0]
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# x[idx] = v
# ---------------------------------------------------------------------------------------------


def test_setitem_records_and_differentiates_both_sides():
    x = _leaf()
    v = tg.tensor(10.0, requires_grad=True)
    y = x * 1
    y[0] = v * 2
    assert y.tolist() == [20.0, 2.0, 3.0]
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0, 4.0, 6.0]
    assert v.grad.item() == 80.0


def test_setitem_integer_array_index():
    x = _leaf()
    v = tg.tensor([10.0, 20.0], requires_grad=True)
    y = x * 1
    y[[0, 2]] = v
    assert y.tolist() == [10.0, 2.0, 20.0]
    (y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0]
    assert v.grad.tolist() == [1.0, 3.0]


def test_setitem_boolean_mask_constant():
    x = _leaf()
    y = x * 1
    y[y > 1.5] = 0.0
    assert y.tolist() == [1.0, 0.0, 0.0]
    (y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]


def test_setitem_slice_broadcast_value():
    x = _leaf()
    v = tg.tensor([7.0], requires_grad=True)
    y = x * 1
    y[1:] = v
    assert y.tolist() == [1.0, 7.0, 7.0]
    (y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]
    assert v.grad.tolist() == [5.0]


def test_setitem_into_plain_tensor_with_grad_value():
    x = _leaf()
    z = tg.zeros(3)
    z[1] = x[0] * 5
    assert z.tolist() == [0.0, 5.0, 0.0]
    assert z.requires_grad
    assert not z.is_leaf
    assert z.grad_fn.name() == "torch::autograd::CopySlices"
    z.sum().backward()
    assert x.grad.tolist() == [5.0, 0.0, 0.0]


def test_setitem_2d_rows_and_columns():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    r = tg.tensor([10.0, 20.0], requires_grad=True)
    y = x * 1
    y[:, 0] = r
    assert y.tolist() == [[10.0, 2.0], [20.0, 4.0]]
    (y * y).sum().backward()
    assert x.grad.tolist() == [[0.0, 4.0], [0.0, 8.0]]
    assert r.grad.tolist() == [20.0, 40.0]


@pytest.mark.torch
def test_setitem_matches_torch(torch):
    def program(lib):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], requires_grad=True)
        v = lib.tensor([2.0, 3.0], requires_grad=True)
        y = x * 2
        y[:, 1] = v * v
        y[0, 0] = 0.0
        y[y < 0] = 1.0
        z = (y * y).sum() + (y * x).sum()
        z.backward()
        return [t.detach().numpy().copy() for t in (y, x.grad, v.grad)]

    for ours, theirs in zip(program(tg), program(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Saved values changed in place
# ---------------------------------------------------------------------------------------------


def test_inplace_on_saved_non_leaf_makes_backward_raise():
    x = _leaf()
    y = x * 2
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError) as info:
        z.sum().backward()
    msg = str(info.value)
    assert msg.startswith(MODIFIED)
    assert "[tapegrad.FloatTensor [3]]" in msg
    assert "is at version 1; expected version 0 instead" in msg


def test_inplace_on_saved_output_makes_backward_raise():
    x = _leaf()
    a = x.exp()  # saves its output
    a.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        a.sum().backward()


def test_inplace_on_saved_constant_makes_backward_raise():
    x = _leaf()
    c = tg.tensor([1.0, 2.0, 3.0])
    z = x * c  # saves c for x's gradient
    c.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_inplace_on_saved_leaf_under_no_grad_makes_backward_raise():
    x = _leaf()
    z = x * x
    with tg.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_inplace_on_unsaved_values_is_fine():
    x = _leaf()
    c = tg.tensor([1.0, 2.0, 3.0])
    z = x + c  # add saves nothing
    c.add_(1)
    z.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]

    x2 = _leaf()
    y = x2 + 1
    w = y + 1
    y.mul_(2)
    w.sum().backward()
    assert x2.grad.tolist() == [1.0, 1.0, 1.0]

    x3 = _leaf()
    z3 = x3 * 2
    with tg.no_grad():
        x3.add_(1)
    z3.sum().backward()
    assert x3.grad.tolist() == [2.0, 2.0, 2.0]


def test_version_shared_with_detach():
    x = _leaf()
    y = x * 2
    z = y * y
    y.detach().add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_version_shared_with_basic_index_view():
    x = _leaf()
    y = x * 2
    z = y * y
    with tg.no_grad():
        y[0:2].mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_version_shared_with_reshape_view():
    x = _leaf()
    y = x * 2
    z = y * y
    with tg.no_grad():
        y.view(3).mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_version_shared_with_view_of_constant():
    x = _leaf()
    c = tg.tensor([1.0, 2.0, 3.0])
    z = x * c
    c[1:].add_(1)  # a view of c: c's version moves
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_setitem_on_saved_tensor_makes_backward_raise():
    x = _leaf()
    y = x * 2
    z = y * y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_setitem_on_saved_constant_makes_backward_raise():
    x = _leaf()
    c = tg.tensor([1.0, 2.0, 3.0])
    z = x * c
    c[0] = 10.0
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.sum().backward()


def test_modification_after_backward_is_fine():
    x = _leaf()
    y = x * 2
    z = y * y
    z.sum().backward()
    y.add_(1)
    assert x.grad.tolist() == [8.0, 16.0, 24.0]


def test_inplace_on_view_of_non_leaf():
    # PyTorch: y = x * 2; y[0:2].mul_(2); y.sum().backward() -> x.grad == [4, 4, 2]
    x = _leaf()
    y = x * 2
    y[0:2].mul_(2)
    assert y.tolist() == [4.0, 8.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0, 2.0]


# ---------------------------------------------------------------------------------------------
# Views share data
# ---------------------------------------------------------------------------------------------


def test_views_write_through():
    a = tg.ones(4)
    a[1:3].add_(1)
    assert a.tolist() == [1.0, 2.0, 2.0, 1.0]
    b = tg.ones(4)
    b.reshape(2, 2).mul_(3)
    assert b.tolist() == [3.0, 3.0, 3.0, 3.0]
    c = tg.ones(4)
    c.view(2, 2)[0, 0] = 9.0
    assert c.tolist() == [9.0, 1.0, 1.0, 1.0]
    d = tg.ones(2, 2)
    d.T[0].fill_(5.0)
    assert d.tolist() == [[5.0, 1.0], [5.0, 1.0]]


@pytest.mark.parametrize(
    ("index", "value_shape", "value_grad"),
    [
        (0, (1, 3), [[0.0, 1.0, 2.0]]),
        (0, (1, 1), [[3.0]]),
        ((slice(None), slice(1, None)), (1, 1, 2), [[[5.0, 7.0]]]),
        (1, (1, 1, 3), [[[3.0, 4.0, 5.0]]]),
    ],
)
def test_an_assigned_value_with_extra_leading_ones_gets_its_gradient(
    index, value_shape, value_grad
) -> None:
    # NumPy and PyTorch drop a value's leading length-1 axes to fit the region it fills.
    weights = np.arange(6.0).reshape(2, 3)
    value = tg.tensor(np.full(value_shape, 2.0), requires_grad=True)
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    b = x * 1.0
    b[index] = value
    (b * tg.tensor(weights)).sum().backward()
    region = np.zeros((2, 3), dtype=bool)
    region[index] = True
    np.testing.assert_array_equal(x.grad.numpy(), np.where(region, 0.0, weights))
    np.testing.assert_array_equal(value.grad.numpy(), np.array(value_grad))
