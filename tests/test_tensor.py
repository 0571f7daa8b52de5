"""The Tensor facade: attributes, conversions, ``requires_grad`` contagion, leaves, ``grad_fn``
views and their names, reprs, operators with scalars in every position, comparisons, indexing,
matmul and dtype preservation (API.md section 1).

Expected values were checked against PyTorch 2.13 once and are written out, so these tests run
without PyTorch; the tests marked ``torch`` compare the same programs with a live PyTorch.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg

NUMPY_MESSAGE = (
    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
)
LEAF_FLAG_MESSAGE = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = "
    "var.detach()."
)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def values(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def ev(expr: str, **names):
    """Evaluate a table's expression over the named tensors."""
    return eval(expr, {"tg": tg, "np": np}, names)


def torch_dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


# ---------------------------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------------------------


def test_shape_dtype_ndim():
    t = tg.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4)
    assert isinstance(t.shape, tuple)
    assert t.dtype == tg.float32
    assert t.ndim == 3
    assert t.dim() == 3
    assert tg.tensor(1.0).ndim == 0
    assert tg.tensor(1.0).shape == ()


def test_size_and_numel():
    t = tg.ones(2, 3)
    assert t.size() == (2, 3)
    assert t.size(0) == 2
    assert t.size(1) == 3
    assert t.size(-1) == 3
    assert t.numel() == 6
    assert tg.tensor(5.0).numel() == 1
    assert tg.zeros(0, 3).numel() == 0


def test_device():
    cpu = tg.device("cpu")
    assert tg.ones(2).device == cpu
    assert tg.ones(2, requires_grad=True).device == cpu
    assert (tg.ones(2, requires_grad=True) * 2).device == cpu


def test_T_reverses_dimensions():
    a = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert a.T.shape == (3, 2)
    assert a.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert tg.zeros(2, 3, 4).T.shape == (4, 3, 2)
    assert tg.zeros(3).T.shape == (3,)


def test_t_method():
    a = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert a.t().tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert tg.tensor([1.0, 2.0]).t().tolist() == [1.0, 2.0]
    with pytest.raises(
        RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"
    ):
        tg.zeros(2, 3, 4).t()


def test_item():
    assert tg.tensor(2.5).item() == 2.5
    assert isinstance(tg.tensor(2.5).item(), float)
    assert tg.tensor([[3]]).item() == 3
    assert isinstance(tg.tensor(3).item(), int)
    assert isinstance(tg.tensor(True).item(), bool)
    x = tg.tensor(2.0, requires_grad=True)
    assert (x * 3).item() == 6.0  # item() works on tensors that require grad
    with pytest.raises(
        RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"
    ):
        tg.tensor([1.0, 2.0]).item()


def test_tolist():
    assert tg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert tg.tensor([1.5, 2.5]).tolist() == [1.5, 2.5]
    assert tg.tensor(2.5).tolist() == 2.5
    assert isinstance(tg.tensor([1.5]).tolist()[0], float)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.tolist() == [1.0, 2.0]  # tolist() works on tensors that require grad


def test_numpy_shares_memory():
    t = tg.tensor([1.0, 2.0, 3.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray)
    assert a.dtype == np.float32
    a[1] = 20.0
    assert t.tolist() == [1.0, 20.0, 3.0]


def test_numpy_raises_when_requires_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        x.numpy()
    assert str(info.value) == NUMPY_MESSAGE
    with pytest.raises(RuntimeError, match=re.escape(NUMPY_MESSAGE)):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_numpy_on_no_grad_result_works():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])


def test_np_asarray_of_tensor():
    t = tg.tensor([1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])


def test_to_dtype():
    t = tg.tensor([1.5, 2.5])
    d = t.to(tg.float64)
    assert d.dtype == np.float64
    assert d.tolist() == [1.5, 2.5]
    assert t.dtype == np.float32
    assert t.to(tg.int64).tolist() == [1, 2]
    assert t.to("cpu") is t
    assert t.to(tg.float32) is t
    assert t.to(dtype=tg.float64).dtype == np.float64
    assert t.to("cpu", tg.float64).dtype == np.float64


def test_float_double():
    t = tg.tensor([1, 2])
    assert t.float().dtype == np.float32
    assert t.double().dtype == np.float64
    assert t.float().tolist() == [1.0, 2.0]
    f = tg.tensor([1.0])
    assert f.float() is f
    assert f.cpu() is f


def test_to_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    assert x.grad.tolist() == [2.0, 4.0]


def test_detach_shares_storage_both_ways():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    assert d.is_leaf
    assert d.grad_fn is None
    d[0] = 10.0
    assert x.tolist() == [10.0, 2.0, 3.0]
    with tg.no_grad():
        x.mul_(2.0)
    assert d.tolist() == [20.0, 4.0, 6.0]


def test_detach_of_non_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.tolist() == [3.0, 6.0]
    assert y.requires_grad  # y itself is unchanged


def test_detach_cuts_the_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.detach() * x).sum()
    y.backward()
    assert x.grad.tolist() == [1.0, 2.0]  # only the non-detached factor is differentiated


def test_detach_in_place():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert not y.requires_grad
    assert y.is_leaf
    assert y.grad_fn is None


def test_len_and_iteration():
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3
    assert rows[2].tolist() == [5.0, 6.0]
    with pytest.raises(TypeError):
        len(tg.tensor(1.0))


def test_python_number_conversions():
    assert float(tg.tensor(2.5)) == 2.5
    assert int(tg.tensor(3.7)) == 3
    assert bool(tg.tensor(1.0)) is True
    assert bool(tg.tensor(0.0)) is False
    with pytest.raises(
        RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"
    ):
        bool(tg.tensor([1.0, 2.0]))


# ---------------------------------------------------------------------------------------------
# requires_grad, contagion, leaves
# ---------------------------------------------------------------------------------------------


def test_default_does_not_require_grad():
    t = tg.tensor([1.0])
    assert not t.requires_grad
    assert t.is_leaf
    assert t.grad_fn is None
    assert t.grad is None


def test_requires_grad_contagion():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    for r in (x + c, c + x, x * c, c - x, x / c, c**x, x @ c, -x, x.sum(), x[0], x.T):
        assert r.requires_grad
        assert not r.is_leaf
        assert r.grad_fn is not None
    for r in (c + c, c * 2, c.sum(), -c, c[0]):
        assert not r.requires_grad
        assert r.is_leaf
        assert r.grad_fn is None


def test_contagion_through_a_chain():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    y = c * 2
    z = y + 1
    assert not z.requires_grad
    w = z * x
    assert w.requires_grad
    assert (w.sum() * 0).requires_grad


def test_requires_grad_setter_on_leaf():
    t = tg.tensor([1.0, 2.0])
    t.requires_grad = True
    assert t.requires_grad and t.is_leaf
    assert (t * 2).requires_grad
    t.requires_grad = False
    assert not t.requires_grad
    assert not (t * 2).requires_grad


def test_requires_grad_method_returns_self():
    t = tg.tensor([1.0, 2.0])
    assert t.requires_grad_() is t
    assert t.requires_grad
    assert t.requires_grad_(False) is t
    assert not t.requires_grad


def test_requires_grad_false_on_non_leaf_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        y.requires_grad_(False)
    assert str(info.value) == LEAF_FLAG_MESSAGE
    with pytest.raises(RuntimeError, match=re.escape(LEAF_FLAG_MESSAGE)):
        y.requires_grad = False
    assert y.requires_grad


def test_requires_grad_true_on_non_leaf_is_noop():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    fn = y.grad_fn
    assert y.requires_grad_(True) is y
    y.requires_grad = True
    assert not y.is_leaf
    assert y.grad_fn is fn


def test_requires_grad_on_integer_tensor_raises():
    t = tg.tensor([1, 2])
    with pytest.raises(
        RuntimeError, match="^only Tensors of floating point dtype can require gradients$"
    ):
        t.requires_grad_()
    with pytest.raises(
        RuntimeError,
        match="^only Tensors of floating point and complex dtype can require gradients$",
    ):
        t.requires_grad = True
    assert not t.requires_grad
    t.requires_grad_(False)  # turning it off is fine


def test_update_without_no_grad_makes_non_leaf():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w = w - 0.1 * w.grad
    assert not w.is_leaf
    assert w.requires_grad
    assert w.grad_fn.name() == "SubBackward0"
    np.testing.assert_allclose(values(w), [0.8, 1.6], rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# grad_fn: names, next_functions, reprs
# ---------------------------------------------------------------------------------------------

# (expression over x: float32 (2, 2) leaf requiring grad, y: same shape leaf, grad_fn name)
GRAD_FN_NAMES = [
    ("x + y", "AddBackward0"),
    ("x + 2", "AddBackward0"),
    ("2 + x", "AddBackward0"),
    ("x - y", "SubBackward0"),
    ("x - 2", "SubBackward0"),
    ("2 - x", "RsubBackward1"),
    ("x * y", "MulBackward0"),
    ("x * 2", "MulBackward0"),
    ("2 * x", "MulBackward0"),
    ("2 / x", "MulBackward0"),
    ("x / y", "DivBackward0"),
    ("x / 2", "DivBackward0"),
    ("x ** 2", "PowBackward0"),
    ("x ** y", "PowBackward1"),
    ("2 ** x", "PowBackward2"),
    ("-x", "NegBackward0"),
    ("x @ y", "MmBackward0"),
    ("x.mm(y)", "MmBackward0"),
    ("x.sum()", "SumBackward0"),
    ("x.sum(0)", "SumBackward1"),
    ("x.mean()", "MeanBackward0"),
    ("x.mean(0)", "MeanBackward1"),
    ("x.t()", "TBackward0"),
    ("x.T", "PermuteBackward0"),
    ("x[0]", "SelectBackward0"),
    ("x[[0, 0]]", "IndexBackward0"),
    ("x[x > 0]", "IndexBackward0"),
    ("x.reshape(4)", "ViewBackward0"),
    ("x.view(4)", "ViewBackward0"),
    ("x.max()", "MaxBackward1"),
    ("x % 2", "RemainderBackward0"),
    pytest.param(
        "x % y",
        "RemainderBackward1",
        marks=(),
    ),
    ("abs(x)", "AbsBackward0"),
    ("x.exp()", "ExpBackward0"),
    ("x[1:]", "SliceBackward0"),
    ("x[:, 1]", "SelectBackward0"),
    ("x[None]", "UnsqueezeBackward0"),
    ("x.transpose(0, 1)", "TransposeBackward0"),
    ("x.permute(1, 0)", "PermuteBackward0"),
    ("x.double()", "ToCopyBackward0"),
    pytest.param(
        "x[:]",
        "SliceBackward0",
        marks=(),
    ),
]


def _xy():
    x = tg.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    y = tg.tensor([[0.5, 2.0], [1.0, 3.0]], requires_grad=True)
    return x, y


@pytest.mark.parametrize("expr, name", GRAD_FN_NAMES)
def test_grad_fn_names(expr, name):
    x, y = _xy()
    r = ev(expr, x=x, y=y)
    fn = r.grad_fn
    assert fn.name() == name
    assert type(fn).__name__ == name
    assert re.fullmatch(rf"<{name} object at 0x[0-9a-f]+>", repr(fn))


@pytest.mark.torch
@pytest.mark.parametrize("expr, name", GRAD_FN_NAMES)
def test_grad_fn_names_match_torch(torch, expr, name):
    tx = torch.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    ty = torch.tensor([[0.5, 2.0], [1.0, 3.0]], requires_grad=True)
    theirs = eval(expr, {"x": tx, "y": ty})
    x, y = _xy()
    ours = ev(expr, x=x, y=y)
    assert ours.grad_fn.name() == theirs.grad_fn.name() == name


def test_grad_fn_none_on_leaves_and_constants():
    x = tg.tensor([1.0], requires_grad=True)
    assert x.grad_fn is None
    assert (tg.ones(2) * 2).grad_fn is None
    with tg.no_grad():
        assert (x * 2).grad_fn is None


def test_next_functions_of_mul_by_scalar():
    # PyTorch: (x*2).grad_fn.next_functions == ((<AccumulateGrad object at 0x...>, 0), (None, 0))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    nf = (x * 2).grad_fn.next_functions
    assert len(nf) == 2
    (acc, i0), (none, i1) = nf
    assert type(acc).__name__ == "AccumulateGrad"
    assert re.fullmatch(r"<AccumulateGrad object at 0x[0-9a-f]+>", repr(acc))
    assert acc.variable is x
    assert (i0, none, i1) == (0, None, 0)


def test_next_functions_two_leaves_share_accumulator():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    nf = (x * y).grad_fn.next_functions
    assert [type(n).__name__ for n, _ in nf] == ["AccumulateGrad", "AccumulateGrad"]
    assert nf[0][0].variable is x
    assert nf[1][0].variable is y
    # one accumulator per leaf, the same object while it is held
    acc = nf[0][0]
    assert (x + 1).grad_fn.next_functions[0][0] is acc


def test_next_functions_constant_first():
    x = tg.tensor([1.0, 2.0])
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    nf = (x * y).grad_fn.next_functions
    assert nf[0] == (None, 0)
    assert nf[1][0].variable is y


def test_next_functions_chain():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y + 1).sum()
    ((add, k),) = z.grad_fn.next_functions
    assert add.name() == "AddBackward0" and k == 0
    mul, _ = add.next_functions[0]
    assert mul is y.grad_fn
    assert mul.name() == "MulBackward0"
    assert mul.next_functions[0][0].variable is x


def test_next_functions_of_unary():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for r in (-x, x.sum(), x.exp(), x[0]):
        nf = r.grad_fn.next_functions
        assert len(nf) == 1
        assert nf[0][0].variable is x and nf[0][1] == 0


def test_next_functions_rtruediv():
    # PyTorch: (2/x).grad_fn.next_functions == ((<ReciprocalBackward0 ...>, 0), (None, 0))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    nf = (2 / x).grad_fn.next_functions
    assert nf[0][0].name() == "ReciprocalBackward0"
    assert nf[1] == (None, 0)


def _names(nf):
    return [None if n is None else type(n).__name__ for n, _ in nf]


# PyTorch binds the tensor first and keeps Python scalars out of next_functions where the op
# has a Scalar overload; the shapes below were printed by PyTorch 2.13.
NEXT_FUNCTION_SHAPES = [
    ("x + 2", ["AccumulateGrad", None]),
    ("x - 2", ["AccumulateGrad", None]),
    ("x * 2", ["AccumulateGrad", None]),
    ("2 + x", ["AccumulateGrad", None]),
    pytest.param(
        "2 - x",
        ["AccumulateGrad"],
        marks=(),
    ),
    pytest.param(
        "x ** 2",
        ["AccumulateGrad"],
        marks=(),
    ),
    pytest.param(
        "2 ** x",
        ["AccumulateGrad"],
        marks=(),
    ),
    pytest.param(
        "x % 2",
        ["AccumulateGrad"],
        marks=(),
    ),
    ("-x", ["AccumulateGrad"]),
    ("x.sum()", ["AccumulateGrad"]),
]


@pytest.mark.parametrize("expr, expected", NEXT_FUNCTION_SHAPES)
def test_next_functions_shape(expr, expected):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert _names(ev(expr, x=x).grad_fn.next_functions) == expected


@pytest.mark.torch
@pytest.mark.parametrize("expr, expected", NEXT_FUNCTION_SHAPES)
def test_next_functions_shape_matches_torch(torch, expr, expected):
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    assert _names(eval(expr, {"x": tx}).grad_fn.next_functions) == expected
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert _names(ev(expr, x=x).grad_fn.next_functions) == expected


def test_accumulate_grad_node_name():
    x = tg.tensor([1.0], requires_grad=True)
    acc = (x * 2).grad_fn.next_functions[0][0]
    assert acc.name() == "torch::autograd::AccumulateGrad"
    assert acc.next_functions == ()


def test_repr_leaf_requires_grad():
    assert repr(tg.tensor([1.0, 1.0], requires_grad=True)) == "tensor([1., 1.], requires_grad=True)"
    assert repr(tg.ones(2, requires_grad=True)) == "tensor([1., 1.], requires_grad=True)"


def test_repr_grad_fn():
    x = tg.ones(2, 2, requires_grad=True)
    y = x + 2
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    z = y * y * 3
    out = z.mean()
    assert repr(z) == "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward0>)"
    assert repr(out) == "tensor(27., grad_fn=<MeanBackward0>)"
    out.backward()
    assert repr(x.grad) == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"


def test_repr_plain_and_dtypes():
    assert repr(tg.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tg.tensor(np.array([1.0, 2.0]))) == "tensor([1., 2.], dtype=tapegrad.float64)"
    assert (
        repr(tg.tensor(np.array([1.0, 2.0]), requires_grad=True))
        == "tensor([1., 2.], dtype=tapegrad.float64, requires_grad=True)"
    )
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], dtype=tapegrad.float64, grad_fn=<MulBackward0>)"
    assert str(tg.tensor([True, False])) == "tensor([ True, False])"


def test_repr_no_grad_result():
    x = tg.tensor([1.0, 1.0], requires_grad=True)
    with tg.no_grad():
        assert repr(x * 2) == "tensor([2., 2.])"
    assert repr(x.detach()) == "tensor([1., 1.])"


# ---------------------------------------------------------------------------------------------
# Operators with scalars in every position (float64 inputs; gradients of .sum())
# ---------------------------------------------------------------------------------------------

X = [1.0, 2.0, 3.0]
Y = [0.5, 2.0, 4.0]

# (expression, value, d/dx, d/dy or None, grad_fn name), from PyTorch 2.13
OPERATOR_TABLE = [
    ("x + 2", [3.0, 4.0, 5.0], [1.0, 1.0, 1.0], None, "AddBackward0"),
    ("2 + x", [3.0, 4.0, 5.0], [1.0, 1.0, 1.0], None, "AddBackward0"),
    ("x - 2", [-1.0, 0.0, 1.0], [1.0, 1.0, 1.0], None, "SubBackward0"),
    ("2 - x", [1.0, 0.0, -1.0], [-1.0, -1.0, -1.0], None, "RsubBackward1"),
    ("x * 2", [2.0, 4.0, 6.0], [2.0, 2.0, 2.0], None, "MulBackward0"),
    ("2 * x", [2.0, 4.0, 6.0], [2.0, 2.0, 2.0], None, "MulBackward0"),
    ("x / 2", [0.5, 1.0, 1.5], [0.5, 0.5, 0.5], None, "DivBackward0"),
    ("2 / x", [2.0, 1.0, 0.6666666667], [-2.0, -0.5, -0.2222222222], None, "MulBackward0"),
    ("x ** 2", [1.0, 4.0, 9.0], [2.0, 4.0, 6.0], None, "PowBackward0"),
    ("2 ** x", [2.0, 4.0, 8.0], [1.3862943611, 2.7725887222, 5.5451774445], None, "PowBackward2"),
    (
        "x ** 0.5",
        [1.0, 1.4142135624, 1.7320508076],
        [0.5, 0.3535533906, 0.2886751346],
        None,
        "PowBackward0",
    ),
    ("x + y", [1.5, 4.0, 7.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], "AddBackward0"),
    ("x - y", [0.5, 0.0, -1.0], [1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], "SubBackward0"),
    ("x * y", [0.5, 4.0, 12.0], [0.5, 2.0, 4.0], [1.0, 2.0, 3.0], "MulBackward0"),
    ("x / y", [2.0, 1.0, 0.75], [2.0, 0.5, 0.25], [-4.0, -0.5, -0.1875], "DivBackward0"),
    (
        "x ** y",
        [1.0, 4.0, 81.0],
        [0.5, 4.0, 108.0],
        [0.0, 2.7725887222, 88.9875953821],
        "PowBackward1",
    ),
    ("-x", [-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0], None, "NegBackward0"),
    ("abs(x - 2.5)", [1.5, 0.5, 0.5], [-1.0, -1.0, 1.0], None, "AbsBackward0"),
    ("x % 2", [1.0, 0.0, 1.0], [1.0, 1.0, 1.0], None, "RemainderBackward0"),
    ("x % -2", [-1.0, 0.0, -1.0], [1.0, 1.0, 1.0], None, "RemainderBackward0"),
    ("(-x) % 2", [1.0, 0.0, 1.0], [-1.0, -1.0, -1.0], None, "RemainderBackward0"),
    ("x % y", [0.0, 0.0, 3.0], [1.0, 1.0, 1.0], [-2.0, -1.0, 0.0], "RemainderBackward1"),
    ("x @ y", [16.5], [0.5, 2.0, 4.0], [1.0, 2.0, 3.0], "DotBackward0"),
    ("x + x", [2.0, 4.0, 6.0], [2.0, 2.0, 2.0], None, "AddBackward0"),
    ("x * x", [1.0, 4.0, 9.0], [2.0, 4.0, 6.0], None, "MulBackward0"),
    ("x / x", [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], None, "DivBackward0"),
    ("2.5 - x", [1.5, 0.5, -0.5], [-1.0, -1.0, -1.0], None, "RsubBackward1"),
    ("x - 0.5", [0.5, 1.5, 2.5], [1.0, 1.0, 1.0], None, "SubBackward0"),
    ("1 / x", [1.0, 0.5, 0.3333333333], [-1.0, -0.25, -0.1111111111], None, "MulBackward0"),
    ("x ** -1", [1.0, 0.5, 0.3333333333], [-1.0, -0.25, -0.1111111111], None, "PowBackward0"),
    ("(x - 2) ** 2", [1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], None, "PowBackward0"),
]


@pytest.mark.parametrize(
    "expr, value, gx, gy, name", OPERATOR_TABLE, ids=[r[0] for r in OPERATOR_TABLE]
)
def test_operator_values_and_gradients(expr, value, gx, gy, name):
    x = tg.tensor(np.array(X), requires_grad=True)
    y = tg.tensor(np.array(Y), requires_grad=True)
    r = ev(expr, x=x, y=y)
    assert r.dtype == np.float64
    np.testing.assert_allclose(values(r).reshape(-1), value, rtol=1e-9, atol=1e-9)
    r.sum().backward()
    np.testing.assert_allclose(values(x.grad), gx, rtol=1e-9, atol=1e-9)
    if gy is None:
        assert y.grad is None
    else:
        np.testing.assert_allclose(values(y.grad), gy, rtol=1e-9, atol=1e-9)


def _name_params():
    for expr, _v, _gx, _gy, name in OPERATOR_TABLE:
        marks = ()
        if expr == "x % y":
            marks = ()
        yield pytest.param(expr, name, marks=marks, id=expr)


@pytest.mark.parametrize("expr, name", list(_name_params()))
def test_operator_grad_fn_name(expr, name):
    x = tg.tensor(np.array(X), requires_grad=True)
    y = tg.tensor(np.array(Y), requires_grad=True)
    assert ev(expr, x=x, y=y).grad_fn.name() == name


@pytest.mark.parametrize(
    "expr, value, gx, gy, name", OPERATOR_TABLE, ids=[r[0] for r in OPERATOR_TABLE]
)
def test_operators_keep_float32(expr, value, gx, gy, name):
    x = tg.tensor(X, requires_grad=True)
    y = tg.tensor(Y, requires_grad=True)
    r = ev(expr, x=x, y=y)
    assert r.dtype == np.float32
    np.testing.assert_allclose(values(r).reshape(-1), value, rtol=1e-6)
    r.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(values(x.grad), gx, rtol=1e-5, atol=1e-6)
    if gy is not None:
        assert y.grad.dtype == np.float32


@pytest.mark.torch
@pytest.mark.parametrize(
    "expr, value, gx, gy, name", OPERATOR_TABLE, ids=[r[0] for r in OPERATOR_TABLE]
)
def test_operators_match_torch(torch, expr, value, gx, gy, name):
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(Y, dtype=torch.float64, requires_grad=True)
    tr = eval(expr, {"x": tx, "y": ty})
    tr.sum().backward()
    x = tg.tensor(np.array(X), requires_grad=True)
    y = tg.tensor(np.array(Y), requires_grad=True)
    r = ev(expr, x=x, y=y)
    r.sum().backward()
    np.testing.assert_allclose(values(r), tr.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(values(x.grad), tx.grad.numpy(), rtol=1e-12)
    if ty.grad is None:
        assert y.grad is None
    else:
        np.testing.assert_allclose(values(y.grad), ty.grad.numpy(), rtol=1e-12)


def test_operators_with_numpy_array_on_the_left():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = np.array([3.0, 4.0])
    r = a * x
    assert isinstance(r, tg.Tensor)
    assert r.grad_fn.name() == "MulBackward0"
    r.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    assert isinstance(a - x, tg.Tensor)
    assert (a - x).tolist() == [2.0, 2.0]


def test_broadcasting_gradients_reduce_to_input_shape():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = tg.tensor([10.0, 20.0, 30.0], requires_grad=True)
    c = tg.tensor([[2.0], [3.0]], requires_grad=True)
    ((x + b) * c).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]
    assert b.grad.tolist() == [5.0, 5.0, 5.0]
    assert c.grad.tolist() == [[66.0], [75.0]]


def test_scalar_tensor_broadcast_gradient():
    s = tg.tensor(2.0, requires_grad=True)
    v = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (s * v).sum().backward()
    assert s.grad.shape == ()
    assert s.grad.item() == 6.0
    assert v.grad.tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------------------------------
# Floor division and remainder
# ---------------------------------------------------------------------------------------------


def test_floordiv_values():
    x = tg.tensor([5.0, 7.0, -3.0])
    assert (x // 2).tolist() == [2.0, 3.0, -2.0]
    assert (7 // tg.tensor([2.0, -2.0, 3.0])).tolist() == [3.0, -4.0, 2.0]
    assert (x // tg.tensor([2.0, 2.0, 2.0])).tolist() == [2.0, 3.0, -2.0]
    assert (tg.tensor([7, -7]) // 2).tolist() == [3, -4]
    assert (tg.tensor([7, -7]) // 2).dtype == np.int64


def test_floordiv_values_with_requires_grad():
    x = tg.tensor([5.0, 7.0, -3.0], requires_grad=True)
    r = x // 2
    assert r.tolist() == [2.0, 3.0, -2.0]
    assert r.dtype == np.float32


@pytest.mark.parametrize("expr", ["x // 2", "7 // x", "x // y"])
def test_floordiv_backward_raises(expr):
    x = tg.tensor([5.0, 7.0, -3.0], requires_grad=True)
    y = tg.tensor([2.0, 2.0, 2.0], requires_grad=True)
    r = ev(expr, x=x, y=y)
    with pytest.raises(RuntimeError, match="not differentiable"):
        r.sum().backward()


def test_floordiv_under_no_grad_is_fine():
    x = tg.tensor([5.0, 7.0], requires_grad=True)
    with tg.no_grad():
        q = x // 2
    ((x * q).sum()).backward()
    assert x.grad.tolist() == [2.0, 3.0]


def test_remainder_values():
    x = tg.tensor([5.0, -5.0, 5.5])
    assert (x % 3).tolist() == [2.0, 1.0, 2.5]
    assert (x % -3).tolist() == [-1.0, -2.0, -0.5]
    assert (tg.tensor([7, -7]) % 3).tolist() == [1, 2]


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("x > 1.5", [False, True, True]),
        ("x >= 2", [False, True, True]),
        ("x < y", [False, False, True]),
        ("x <= y", [False, True, True]),
        ("x == y", [False, True, False]),
        ("x != y", [True, False, True]),
        ("x == 2", [False, True, False]),
        ("2 < x", [False, False, True]),
        ("1.5 >= x", [True, False, False]),
        ("(x * 2) > y", [True, True, True]),
    ],
)
def test_comparisons_never_require_grad(expr, expected):
    x = tg.tensor(X, requires_grad=True)
    y = tg.tensor(Y, requires_grad=True)
    r = ev(expr, x=x, y=y)
    assert isinstance(r, tg.Tensor)
    assert r.dtype == np.bool_
    assert not r.requires_grad
    assert r.is_leaf
    assert r.grad_fn is None
    assert r.tolist() == expected


def test_comparison_result_usable_as_mask_weight():
    x = tg.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    (x * (x > 0)).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 1.0]


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------

A = np.arange(12.0).reshape(3, 4)
W = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0], [100.0, 200.0, 300.0, 400.0]])

# (expression over a: (3, 4) arange, value, gradient of (a[...] * weight-of-ones).sum())
INDEX_TABLE = [
    ("a[1]", [4.0, 5.0, 6.0, 7.0], [[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]),
    ("a[-1]", [8.0, 9.0, 10.0, 11.0], [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]]),
    ("a[:, 2]", [2.0, 6.0, 10.0], [[0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0]]),
    ("a[..., 1]", [1.0, 5.0, 9.0], [[0, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]]),
    ("a[1:, ::2]", [[4.0, 6.0], [8.0, 10.0]], [[0, 0, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]]),
    ("a[1, 2]", 6.0, [[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]),
    ("a[None, 0]", [[0.0, 1.0, 2.0, 3.0]], [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),
    (
        "a[[0, 2, 0]]",
        [[0.0, 1.0, 2.0, 3.0], [8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0]],
        [[2, 2, 2, 2], [0, 0, 0, 0], [1, 1, 1, 1]],
    ),
    ("a[[0, 2], [1, 3]]", [1.0, 11.0], [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]),
    (
        "a[:, [0, 0, 3]]",
        [[0.0, 0.0, 3.0], [4.0, 4.0, 7.0], [8.0, 8.0, 11.0]],
        [[2, 0, 0, 1], [2, 0, 0, 1], [2, 0, 0, 1]],
    ),
    ("a[1, [0, 3, 3]]", [4.0, 7.0, 7.0], [[0, 0, 0, 0], [1, 0, 0, 2], [0, 0, 0, 0]]),
    ("a[a > 6]", [7.0, 8.0, 9.0, 10.0, 11.0], [[0, 0, 0, 0], [0, 0, 0, 1], [1, 1, 1, 1]]),
    (
        "a[tg.tensor([2, 0])]",
        [[8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0]],
        [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]],
    ),
    (
        "a[tg.tensor([True, False, True])]",
        [[0.0, 1.0, 2.0, 3.0], [8.0, 9.0, 10.0, 11.0]],
        [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]],
    ),
    ("a[tg.tensor([[0, 0], [1, 0]])]", None, [[3, 3, 3, 3], [1, 1, 1, 1], [0, 0, 0, 0]]),
    ("a[1][2:]", [6.0, 7.0], [[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]),
]


@pytest.mark.parametrize("expr, value, grad", INDEX_TABLE, ids=[r[0] for r in INDEX_TABLE])
def test_indexing_values_and_gradients(expr, value, grad):
    a = tg.tensor(A, requires_grad=True)
    r = ev(expr, a=a)
    assert r.requires_grad
    if value is not None:
        np.testing.assert_array_equal(values(r), value)
    r.sum().backward()
    assert a.grad.dtype == np.float64
    np.testing.assert_array_equal(values(a.grad), grad)


def test_repeated_indices_accumulate_weighted():
    x = tg.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    w = tg.tensor([1.0, 10.0, 100.0])
    (x[[0, 0, 3]] * w).sum().backward()
    assert x.grad.tolist() == [11.0, 0.0, 0.0, 100.0]


def test_boolean_mask_gradient():
    x = tg.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    r = x[x > 0]
    assert r.tolist() == [2.0, 4.0]
    (r**2).sum().backward()
    assert x.grad.tolist() == [0.0, 4.0, 0.0, 8.0]


@pytest.mark.torch
@pytest.mark.parametrize("expr", [r[0] for r in INDEX_TABLE])
def test_indexing_matches_torch(torch, expr):
    rng = np.random.default_rng(0)
    a = tg.tensor(A, requires_grad=True)
    r = ev(expr, a=a)
    wt = rng.standard_normal(r.shape)
    (r * tg.tensor(wt)).sum().backward()
    ta = torch.tensor(A, requires_grad=True)
    tr = eval(expr.replace("tg.tensor", "torch.tensor"), {"a": ta, "torch": torch})
    (tr * torch.tensor(wt)).sum().backward()
    assert r.grad_fn.name() == tr.grad_fn.name()
    np.testing.assert_array_equal(values(r), tr.detach().numpy())
    np.testing.assert_allclose(values(a.grad), ta.grad.numpy(), rtol=1e-12)


def test_index_out_of_range_raises_index_error():
    a = tg.tensor(A, requires_grad=True)
    with pytest.raises(IndexError):
        a[3]
    with pytest.raises(IndexError):
        a[[0, 5]]


def test_indexing_without_grad_is_plain():
    a = tg.tensor(A)
    r = a[[0, 0]]
    assert not r.requires_grad
    assert r.grad_fn is None
    assert r.shape == (2, 4)


def test_basic_index_is_a_view():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    row = a[0]
    row.add_(10.0)
    assert a.tolist() == [[11.0, 12.0], [3.0, 4.0]]


# ---------------------------------------------------------------------------------------------
# Matmul
# ---------------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)),
    ((1, 2, 3), (4, 3, 2)),
]


def _matmul_loss_np(a, b, w):
    return float((np.matmul(a, b) * w).sum())


def _numeric_grad(f, x, eps=1e-3):
    """Central differences: exact up to rounding for a loss that is linear in ``x``."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xm = x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_gradients(sa, sb):
    rng = np.random.default_rng(sum(sa) * 7 + sum(sb))
    an = rng.standard_normal(sa)
    bn = rng.standard_normal(sb)
    out_shape = np.matmul(an, bn).shape
    wn = rng.standard_normal(out_shape)
    a = tg.tensor(an, requires_grad=True)
    b = tg.tensor(bn, requires_grad=True)
    r = a @ b
    assert r.shape == out_shape
    np.testing.assert_allclose(values(r), np.matmul(an, bn), rtol=1e-12, atol=1e-12)
    (r * tg.tensor(wn)).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(
        values(a.grad), _numeric_grad(lambda v: _matmul_loss_np(v, bn, wn), an), atol=1e-8
    )
    np.testing.assert_allclose(
        values(b.grad), _numeric_grad(lambda v: _matmul_loss_np(an, v, wn), bn), atol=1e-8
    )


@pytest.mark.torch
@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_gradients_match_torch(torch, sa, sb):
    rng = np.random.default_rng(1)
    an = rng.standard_normal(sa).astype(np.float32)
    bn = rng.standard_normal(sb).astype(np.float32)
    wn = rng.standard_normal(np.matmul(an, bn).shape).astype(np.float32)
    a = tg.tensor(an, requires_grad=True)
    b = tg.tensor(bn, requires_grad=True)
    (tg.matmul(a, b) * tg.tensor(wn)).sum().backward()
    ta = torch.tensor(an, requires_grad=True)
    tb = torch.tensor(bn, requires_grad=True)
    (torch.matmul(ta, tb) * torch.tensor(wn)).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(values(a.grad), ta.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(values(b.grad), tb.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_matmul_known_values():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = tg.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
    r = a @ b
    assert r.tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert r.grad_fn.name() == "MmBackward0"
    r.sum().backward()
    assert a.grad.tolist() == [[11.0, 15.0], [11.0, 15.0]]
    assert b.grad.tolist() == [[4.0, 4.0], [6.0, 6.0]]


@pytest.mark.parametrize(
    "sa, sb, name",
    [((3,), (3,), "DotBackward0"), ((2, 3), (3,), "MvBackward0"), ((2, 3), (3, 2), "MmBackward0")],
)
def test_matmul_grad_fn_names(sa, sb, name):
    a = tg.ones(*sa, requires_grad=True)
    b = tg.ones(*sb, requires_grad=True)
    assert (a @ b).grad_fn.name() == name


def test_matmul_with_vector_values():
    m = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    v = tg.tensor([1.0, -1.0])
    assert (m @ v).tolist() == [-1.0, -1.0]
    assert (v @ m).tolist() == [-2.0, -2.0]
    assert (v @ v).item() == 2.0
    assert (v @ v).shape == ()


def test_matmul_shape_mismatch_raises():
    with pytest.raises((RuntimeError, ValueError)):
        tg.ones(2, 3) @ tg.ones(2, 3)


# ---------------------------------------------------------------------------------------------
# dtypes of results and gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "x * 2.0",
        "2.0 * x",
        "x + 1",
        "x - 0.5",
        "x / 3",
        "3 / x",
        "x ** 2",
        "x ** 0.5",
        "2 ** x",
        "2.5 ** x",
        "-x",
        "x % 2",
        "x // 2",
        "x @ x",
        "x.sum()",
        "x.mean()",
        "x * True",
    ],
)
def test_float32_stays_float32(expr):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert ev(expr, x=x).dtype == np.float32


def test_numpy_float64_scalar_keeps_float32():
    # PyTorch: (torch.ones(2) * np.float64(2.0)).dtype == torch.float32
    x = tg.ones(2)
    assert (x * np.float64(2.0)).dtype == np.float32


def test_zero_dim_tensor_does_not_upcast():
    # PyTorch: (torch.tensor(1.0, dtype=torch.float64) + torch.ones(2)).dtype == torch.float32
    r = tg.tensor(1.0, dtype=tg.float64) + tg.ones(2)
    assert r.dtype == np.float32


def test_float16_stays_float16():
    x = tg.ones(2, dtype=tg.float16)
    assert (x * 2.0).dtype == np.float16
    assert (x + 1).dtype == np.float16


def test_mixed_tensor_dtypes_promote():
    assert (tg.ones(2) + tg.ones(2, dtype=tg.float64)).dtype == np.float64
    assert (tg.tensor([1, 2]) + tg.tensor([1, 2], dtype=tg.int32)).dtype == np.int64
    assert (tg.tensor([True]) + 1).dtype == np.int64


# (PyTorch refuses subtraction with a boolean operand, so those pairs are left out.)
_NUMBER_CASES = [
    (op, dtype, scalar)
    for op in ("add", "sub", "mul", "truediv")
    for dtype in ("float64", "float32", "int64", "int32", "bool", "complex128")
    for scalar in (2, 2.5, True, 1j)
    if not (op == "sub" and (dtype == "bool" or scalar is True))
]


@pytest.mark.parametrize(("op", "dtype", "scalar"), _NUMBER_CASES)
def test_zero_d_tensor_with_python_number_promotes_as_pytorch(op, dtype, scalar):
    torch = pytest.importorskip("torch")
    import operator

    fn = getattr(operator, op)
    value = np.array(1 if dtype != "bool" else True, dtype=dtype)
    for args in ((value, scalar), (scalar, value)):
        ours = fn(*(tg.tensor(a) if a is value else a for a in args))
        theirs = fn(*(torch.tensor(a) if a is value else a for a in args))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (args, op)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


_SUBTRACTIONS = {
    "bool - bool": lambda m, b, f: b - b,
    "bool - 1": lambda m, b, f: b - 1,
    "1 - bool": lambda m, b, f: 1 - b,
    "float - True": lambda m, b, f: f - True,
    "True - float": lambda m, b, f: True - f,
    "float - bool": lambda m, b, f: f - b,
    "bool - float": lambda m, b, f: b - f,
    "sub(float, True)": lambda m, b, f: m.sub(f, True),
    "float.sub(bool)": lambda m, b, f: f.sub(b),
    "bool.sub_(bool)": lambda m, b, f: b.clone().sub_(b),
    "float -= True": lambda m, b, f: f.clone().sub_(True),
}


@pytest.mark.parametrize("case", sorted(_SUBTRACTIONS))
def test_subtraction_with_a_boolean_raises_as_pytorch(case):
    torch = pytest.importorskip("torch")

    def message(module):
        b = module.tensor([True, False])
        f = module.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError) as info:
            _SUBTRACTIONS[case](module, b, f)
        return str(info.value)

    assert message(tg) == message(torch)


_SCALED = {
    "x.add(y, alpha=2)": lambda m, x, y: x.add(y, alpha=2),
    "x.sub(y, alpha=2)": lambda m, x, y: x.sub(y, alpha=2),
    "x.add(2, alpha=3)": lambda m, x, y: x.add(2, alpha=3),
    "x.sub(y)": lambda m, x, y: x.sub(y),
    "sub(x, 2, alpha=0.5)": lambda m, x, y: m.sub(x, 2, alpha=0.5),
    "add(x, y, alpha=-1.5)": lambda m, x, y: m.add(x, y, alpha=-1.5),
}


@pytest.mark.parametrize("case", sorted(_SCALED))
def test_add_and_sub_with_alpha_as_pytorch(case):
    torch = pytest.importorskip("torch")
    results = []
    for module in (tg, torch):
        x = module.tensor([1.0, 2.0], requires_grad=True)
        y = module.tensor([3.0, 4.0], requires_grad=True)
        out = _SCALED[case](module, x, y)
        (out * module.tensor([1.0, 10.0])).sum().backward()
        results.append(
            (
                out.detach().numpy().tolist(),
                str(out.dtype).replace("torch.", ""),
                out.grad_fn.name(),
                x.grad.numpy().tolist(),
                None if y.grad is None else y.grad.numpy().tolist(),
            )
        )
    assert results[0] == results[1]


def test_numpy_namespace_subtracts_booleans_as_numpy():
    got = tg.numpy.subtract(tg.tensor([True, False]), 1)
    assert got.dtype == np.int64 and got.tolist() == [0, -1]


def test_integer_tensor_with_float_scalar_gives_float32():
    t = tg.tensor([1, 2])
    assert (t + 1.5).dtype == np.float32
    assert (t * 2.0).dtype == np.float32
    assert (t / 2).dtype == np.float32
    assert (t / 2).tolist() == [0.5, 1.0]
    assert (t**2).dtype == np.int64
    assert (2**t).dtype == np.int64


def test_float_scalar_power_of_integer_tensor_gives_float32():
    # PyTorch: (2.0 ** torch.tensor([1, 2])).dtype == torch.float32
    t = tg.tensor([1, 2])
    assert (2.0**t).dtype == np.float32
    assert (2.0**t).tolist() == [2.0, 4.0]


def test_integer_tensor_with_float32_tensor_gives_float32():
    # PyTorch: (torch.tensor([1, 2]) + torch.tensor([1., 2.])).dtype == torch.float32
    i = tg.tensor([1, 2])
    x = tg.tensor([1.0, 2.0])
    assert (i + x).dtype == np.float32
    assert (x * i).dtype == np.float32


def test_gradient_has_leaf_dtype():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.double() * 2
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_gradient_dtype_with_mixed_precision_op():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = x + tg.ones(3, dtype=tg.float64)
    assert z.dtype == np.float64
    z.sum().backward()
    assert x.grad.dtype == np.float32


def test_float64_leaf_gets_float64_gradient():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.dtype == np.float64
    assert x.grad.tolist() == [2.0, 4.0]


@pytest.mark.torch
@pytest.mark.parametrize(
    "expr",
    [
        "x * 2.0",
        "x + 1",
        "x / 3",
        "2 ** x",
        "2.5 ** x",
        "x ** 2",
        "i + 1.5",
        "i * 2.0",
        "i / 2",
        "i ** 2",
        "2 ** i",
        "i // 2",
        "i % 2",
        "x + d",
        "b + 1",
        "h * 2.0",
        "h + x",
        pytest.param("2.0 ** i", marks=()),
        pytest.param("2.5 ** i", marks=()),
        pytest.param("i + x", marks=()),
        pytest.param("x * i", marks=()),
        pytest.param(
            "x * np.float64(2.0)",
            marks=(),
        ),
        pytest.param("d[0] + x", marks=()),
    ],
)
def test_result_dtypes_match_torch(torch, expr):
    ns = {
        "x": tg.tensor([1.0, 2.0]),
        "i": tg.tensor([1, 2]),
        "d": tg.tensor(np.array([1.0, 2.0])),
        "b": tg.tensor([True, False]),
        "h": tg.ones(2, dtype=tg.float16),
        "np": np,
    }
    tns = {
        "x": torch.tensor([1.0, 2.0]),
        "i": torch.tensor([1, 2]),
        "d": torch.tensor([1.0, 2.0], dtype=torch.float64),
        "b": torch.tensor([True, False]),
        "h": torch.ones(2, dtype=torch.float16),
        "np": np,
    }
    ours = eval(expr, ns)
    theirs = eval(expr, tns)
    assert ours.dtype.name == torch_dtype_name(theirs)
    np.testing.assert_allclose(values(ours).astype(np.float64), theirs.double().numpy(), rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# Reductions: PyTorch's and NumPy's keywords
# ---------------------------------------------------------------------------------------------


def test_sum_dim_keepdim_and_axis_keepdims():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.sum().item() == 21.0
    assert x.sum(0).tolist() == [5.0, 7.0, 9.0]
    assert x.sum(dim=1).tolist() == [6.0, 15.0]
    assert x.sum(axis=1).tolist() == [6.0, 15.0]
    assert x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert x.sum(dim=(0, 1)).item() == 21.0
    assert x.mean(axis=0).tolist() == [2.5, 3.5, 4.5]
    assert x.mean(dim=1, keepdim=True).tolist() == [[2.0], [5.0]]
    (x.sum(axis=0, keepdims=True) * tg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


def test_mean_gradient():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x.mean().backward()
    assert x.grad.tolist() == [[0.25, 0.25], [0.25, 0.25]]
    x.grad = None
    x.mean(dim=0).sum().backward()
    assert x.grad.tolist() == [[0.5, 0.5], [0.5, 0.5]]


# ---------------------------------------------------------------------------------------------
# Property: broadcasting binary operators reduce gradients to each input's shape
# ---------------------------------------------------------------------------------------------


def _unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    data=st.data(),
)
def test_broadcast_binary_gradients_property(shapes, data):
    sa, sb = shapes.input_shapes
    elems = st.floats(0.5, 2.0)
    an = data.draw(hnp.arrays(np.float64, sa, elements=elems))
    bn = data.draw(hnp.arrays(np.float64, sb, elements=elems))
    a = tg.tensor(an, requires_grad=True)
    b = tg.tensor(bn, requires_grad=True)
    out = a * b + a / b - b**2
    np.testing.assert_allclose(values(out), an * bn + an / bn - bn**2, rtol=1e-12)
    out.sum().backward()
    ga = _unbroadcast(np.broadcast_to(bn + 1 / bn, shapes.result_shape) * 1.0, sa)
    gb_full = np.broadcast_to(an - an / bn**2, shapes.result_shape) - 2 * np.broadcast_to(
        bn, shapes.result_shape
    )
    gb = _unbroadcast(gb_full, sb)
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(values(a.grad), ga, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(values(b.grad), gb, rtol=1e-10, atol=1e-12)
