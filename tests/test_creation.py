"""Creation functions and dtypes of the Tensor facade (API.md section 1).

Expected values and dtypes were checked against PyTorch 2.13 once and are written out, so
these tests run without PyTorch; the tests marked ``torch`` compare with a live PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

SHADOWED_INT = (
    "tapegrad.{} calls isinstance(v, (int, np.integer)) but creation.py rebinds int to "
    "the dtype int32, so any call without dtype= raises TypeError"
)
FACTORY_DTYPE_MESSAGE = "Only Tensors of floating point and complex dtype can require gradients"


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def values(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.detach().numpy())


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("float16", np.float16),
        ("float32", np.float32),
        ("float64", np.float64),
        ("int32", np.int32),
        ("int64", np.int64),
        ("bool", np.bool_),
        ("complex64", np.complex64),
        ("complex128", np.complex128),
    ],
)
def test_dtype_names_are_numpy_dtypes(name, expected):
    assert getattr(tg, name) == np.dtype(expected)
    assert tg.zeros(2, dtype=getattr(tg, name)).dtype == np.dtype(expected)


def test_dtype_aliases():
    assert tg.float == tg.float32
    assert tg.double == tg.float64
    assert tg.half == tg.float16
    assert tg.long == tg.int64


# ---------------------------------------------------------------------------------------------
# tg.tensor: dtype inference
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [
        ([1.0, 2.0], np.float32),
        (2.5, np.float32),
        ([1, 2.5], np.float32),
        ([1, 2], np.int64),
        (3, np.int64),
        ([[1, 2], [3, 4]], np.int64),
        (True, np.bool_),
        ([True, False], np.bool_),
        (1 + 2j, np.complex64),
        (np.ones(3), np.float64),
        (np.ones(3, dtype=np.float32), np.float32),
        (np.ones(3, dtype=np.float16), np.float16),
        (np.arange(3, dtype=np.int32), np.int32),
        (np.arange(3), np.int64),
        (np.float64(1.0), np.float64),
        (np.float32(1.0), np.float32),
        (np.int32(3), np.int32),
    ],
    ids=lambda v: repr(v) if not isinstance(v, np.ndarray) else f"ndarray-{v.dtype}",
)
def test_tensor_dtype_inference(data, dtype):
    t = tg.tensor(data)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(values(t), np.asarray(data))


@pytest.mark.torch
def test_tensor_inference_matches_torch(torch):
    cases = [
        [1.0, 2.0],
        2.5,
        [1, 2],
        3,
        True,
        1 + 2j,
        np.ones(3),
        np.ones(2, np.float32),
        np.arange(3, dtype=np.int32),
        np.float64(1.0),
        np.int32(3),
    ]
    for data in cases:
        ours = tg.tensor(data).dtype
        theirs = str(torch.tensor(data).dtype).replace("torch.", "")
        assert ours.name == theirs, data


def test_tensor_shape_and_values_nested():
    t = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3)
    np.testing.assert_array_equal(values(t), [[1, 2, 3], [4, 5, 6]])


def test_tensor_scalar_is_zero_dim():
    t = tg.tensor(2.5)
    assert t.shape == ()
    assert t.ndim == 0
    assert t.item() == 2.5


def test_tensor_dtype_argument():
    t = tg.tensor([1, 2], dtype=tg.float64)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(values(t), [1.0, 2.0])
    assert tg.tensor([1.5, 2.5], dtype=tg.int64).tolist() == [1, 2]
    assert tg.tensor(np.ones(2), dtype=tg.float32).dtype == np.float32


def test_tensor_copies_numpy_data():
    a = np.array([1.0, 2.0])
    t = tg.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_of_tensor_copies():
    a = tg.tensor([1.0, 2.0])
    b = tg.tensor(a)
    a.add_(1.0)
    assert b.tolist() == [1.0, 2.0]
    assert a.tolist() == [2.0, 3.0]


def test_tensor_requires_grad_makes_leaf():
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad
    assert t.is_leaf
    assert t.grad_fn is None
    assert t.grad is None


def test_tensor_requires_grad_on_integer_data_raises():
    with pytest.raises(RuntimeError, match=FACTORY_DTYPE_MESSAGE):
        tg.tensor([1, 2], requires_grad=True)


def test_tensor_requires_grad_on_complex_is_allowed():
    t = tg.tensor([1 + 1j], requires_grad=True)
    assert t.requires_grad
    assert t.dtype == np.complex64


def test_tensor_device_cpu():
    assert tg.tensor([1.0], device="cpu").device == tg.device("cpu")
    assert tg.tensor([1.0]).device == tg.device("cpu")


# ---------------------------------------------------------------------------------------------
# tg.Tensor / tg.FloatTensor
# ---------------------------------------------------------------------------------------------


def test_Tensor_shape_constructor():
    t = tg.Tensor(2, 3)
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    assert not t.requires_grad
    assert t.is_leaf


def test_Tensor_from_data_is_float32():
    t = tg.Tensor([1, 2, 3])
    assert t.dtype == np.float32
    assert t.tolist() == [1.0, 2.0, 3.0]
    t2 = tg.Tensor([[1.5, 2.5]])
    assert t2.shape == (1, 2)
    assert t2.dtype == np.float32


def test_FloatTensor():
    t = tg.FloatTensor(2, 3)
    assert isinstance(t, tg.Tensor)
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    assert tg.FloatTensor([1, 2]).tolist() == [1.0, 2.0]
    assert tg.FloatTensor([1, 2]).dtype == np.float32


def test_Tensor_is_the_class():
    assert isinstance(tg.tensor([1.0]), tg.Tensor)
    assert isinstance(tg.zeros(2), tg.Tensor)


# ---------------------------------------------------------------------------------------------
# zeros / ones / empty / full
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn, fill", [(tg.zeros, 0.0), (tg.ones, 1.0)])
@pytest.mark.parametrize("args", [((2, 3),), (2, 3), ([2, 3],)], ids=["tuple", "varargs", "list"])
def test_zeros_ones_shapes(fn, fill, args):
    t = fn(*args)
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(values(t), np.full((2, 3), fill))
    assert not t.requires_grad


@pytest.mark.parametrize("fn", [tg.zeros, tg.ones, tg.empty])
def test_factories_dtype_and_requires_grad(fn):
    t = fn(3, dtype=tg.float64, requires_grad=True)
    assert t.dtype == np.float64
    assert t.shape == (3,)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    i = fn(2, 2, dtype=tg.int64)
    assert i.dtype == np.int64
    with pytest.raises(RuntimeError, match=FACTORY_DTYPE_MESSAGE):
        fn(2, dtype=tg.int64, requires_grad=True)


def test_zeros_scalar_and_empty_shapes():
    assert tg.zeros(()).shape == ()
    assert tg.zeros(()).item() == 0.0
    assert tg.zeros(0).shape == (0,)
    assert tg.ones(1, 0, 2).shape == (1, 0, 2)


def test_empty_shape():
    t = tg.empty(4, 5)
    assert t.shape == (4, 5)
    assert t.dtype == np.float32
    assert tg.empty((2, 2)).shape == (2, 2)


def test_full_float_value():
    t = tg.full((2, 2), 3.5)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(values(t), np.full((2, 2), 3.5))


def test_full_int_value_gives_int64():
    t = tg.full((3,), 7)
    assert t.dtype == np.int64
    assert t.tolist() == [7, 7, 7]


def test_full_bool_value_gives_bool():
    t = tg.full((2,), True)
    assert t.dtype == np.bool_
    assert t.tolist() == [True, True]


def test_full_dtype_and_requires_grad():
    t = tg.full([2, 3], 2.0, dtype=tg.float64, requires_grad=True)
    assert t.shape == (2, 3)
    assert t.dtype == np.float64
    assert t.requires_grad and t.is_leaf


# ---------------------------------------------------------------------------------------------
# eye / arange / linspace
# ---------------------------------------------------------------------------------------------


def test_eye_square():
    t = tg.eye(3)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(values(t), np.eye(3))


def test_eye_rectangular():
    t = tg.eye(2, 3)
    assert t.shape == (2, 3)
    assert t.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert tg.eye(3, 2).tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]


def test_eye_dtype_requires_grad():
    assert tg.eye(2, dtype=tg.int64).tolist() == [[1, 0], [0, 1]]
    assert tg.eye(2, dtype=tg.int64).dtype == np.int64
    t = tg.eye(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_arange_int():
    t = tg.arange(5)
    assert t.dtype == np.int64
    assert t.tolist() == [0, 1, 2, 3, 4]


def test_arange_start_end_step():
    assert tg.arange(1, 4).tolist() == [1, 2, 3]
    assert tg.arange(0, 10, 3).tolist() == [0, 3, 6, 9]
    assert tg.arange(1, 4).dtype == np.int64


def test_arange_float():
    t = tg.arange(0, 1, 0.25)
    assert t.dtype == np.float32
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75]
    t2 = tg.arange(1.0, 4)
    assert t2.dtype == np.float32
    assert t2.tolist() == [1.0, 2.0, 3.0]


def test_arange_dtype_requires_grad():
    t = tg.arange(3, dtype=tg.float64, requires_grad=True)
    assert t.dtype == np.float64
    assert t.requires_grad
    assert t.tolist() == [0.0, 1.0, 2.0]


def test_arange_integer_requires_grad_raises():
    with pytest.raises(RuntimeError, match=FACTORY_DTYPE_MESSAGE):
        tg.arange(3, requires_grad=True)


def test_linspace():
    t = tg.linspace(0, 1, 5)
    assert t.dtype == np.float32
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    t2 = tg.linspace(-1, 1, 3, dtype=tg.float64)
    assert t2.dtype == np.float64
    assert t2.tolist() == [-1.0, 0.0, 1.0]
    assert tg.linspace(0, 1, 3, requires_grad=True).requires_grad


_SHADOWED_ARANGE = ()
_SHADOWED_FULL = ()

CREATION_CASES = [
    pytest.param("arange(5)", marks=_SHADOWED_ARANGE),
    pytest.param("arange(0, 1, 0.25)", marks=_SHADOWED_ARANGE),
    pytest.param("arange(1.0, 4)", marks=_SHADOWED_ARANGE),
    "linspace(0, 1, 5)",
    "linspace(-1, 1, 3, dtype={ns}.float64)",
    "eye(2, 3)",
    "eye(3, dtype={ns}.int64)",
    pytest.param("full((2,), 7)", marks=_SHADOWED_FULL),
    pytest.param("full((2,), 7.0)", marks=_SHADOWED_FULL),
    "full((2,), True)",
    "zeros(2, 3)",
    "ones((2,), dtype={ns}.float64)",
    "tensor([[1, 2], [3, 4]])",
    "tensor([1.0, 2.5])",
    "full_like(ones(2, dtype={ns}.int64), 2.7)",
]


@pytest.mark.torch
@pytest.mark.parametrize("expr", CREATION_CASES)
def test_creation_matches_torch(torch, expr):
    ours = eval(expr.format(ns="tg"), {"tg": tg, **vars(tg)})
    theirs = eval(expr.format(ns="torch"), {"torch": torch, **vars(torch)})
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(values(ours), theirs.numpy())


# ---------------------------------------------------------------------------------------------
# random
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [tg.randn, tg.rand])
def test_random_shapes_and_dtype(fn):
    assert fn(2, 3).shape == (2, 3)
    assert fn((2, 3)).shape == (2, 3)
    assert fn(2, 3).dtype == np.float32
    assert fn(4, dtype=tg.float64).dtype == np.float64
    t = fn(3, requires_grad=True)
    assert t.requires_grad and t.is_leaf


@pytest.mark.parametrize("fn", [tg.randn, tg.rand])
def test_manual_seed_reproducible(fn):
    tg.manual_seed(1234)
    a = values(fn(5, 4)).copy()
    b = values(fn(5, 4)).copy()
    tg.manual_seed(1234)
    c = values(fn(5, 4)).copy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_manual_seed_different_seeds_differ():
    tg.manual_seed(0)
    a = values(tg.randn(10)).copy()
    tg.manual_seed(1)
    b = values(tg.randn(10)).copy()
    assert not np.array_equal(a, b)


def test_rand_range():
    tg.manual_seed(0)
    r = values(tg.rand(10_000))
    assert r.min() >= 0.0 and r.max() < 1.0
    assert abs(r.mean() - 0.5) < 0.02


def test_randn_statistics():
    tg.manual_seed(0)
    r = values(tg.randn(20_000, dtype=tg.float64))
    assert abs(r.mean()) < 0.03
    assert abs(r.std() - 1.0) < 0.03


def test_randint():
    tg.manual_seed(0)
    t = tg.randint(3, 7, (1000,))
    assert t.dtype == np.int64
    assert t.shape == (1000,)
    v = values(t)
    assert v.min() >= 3 and v.max() <= 6
    assert set(v.tolist()) == {3, 4, 5, 6}
    t2 = tg.randint(5, (2, 3))
    assert t2.shape == (2, 3)
    assert values(t2).min() >= 0 and values(t2).max() < 5


def test_randint_reproducible():
    tg.manual_seed(7)
    a = tg.randint(0, 100, (20,)).tolist()
    tg.manual_seed(7)
    b = tg.randint(0, 100, (20,)).tolist()
    assert a == b


# ---------------------------------------------------------------------------------------------
# *_like
# ---------------------------------------------------------------------------------------------


def test_like_keep_shape_and_dtype():
    a = tg.ones(2, 3, dtype=tg.float64)
    for t in (
        tg.zeros_like(a),
        tg.ones_like(a),
        tg.empty_like(a),
        tg.randn_like(a),
        tg.rand_like(a),
        tg.full_like(a, 7),
    ):
        assert t.shape == (2, 3)
        assert t.dtype == np.float64
        assert not t.requires_grad
    np.testing.assert_array_equal(values(tg.zeros_like(a)), np.zeros((2, 3)))
    np.testing.assert_array_equal(values(tg.ones_like(a)), np.ones((2, 3)))
    np.testing.assert_array_equal(values(tg.full_like(a, 7)), np.full((2, 3), 7.0))


def test_like_dtype_override():
    a = tg.ones(2, 3, dtype=tg.float64)
    assert tg.zeros_like(a, dtype=tg.float32).dtype == np.float32
    assert tg.ones_like(a, dtype=tg.int64).dtype == np.int64
    assert tg.full_like(a, 2, dtype=tg.int32).dtype == np.int32


def test_like_requires_grad():
    a = tg.ones(2)
    for fn in (tg.zeros_like, tg.ones_like, tg.empty_like, tg.randn_like, tg.rand_like):
        t = fn(a, requires_grad=True)
        assert t.requires_grad and t.is_leaf and t.grad_fn is None
    assert tg.full_like(a, 1.5, requires_grad=True).requires_grad


def test_like_of_tensor_requiring_grad_does_not_require_grad():
    a = tg.ones(2, requires_grad=True)
    z = tg.zeros_like(a)
    assert not z.requires_grad
    assert z.is_leaf


def test_full_like_integer_truncates():
    # PyTorch: torch.full_like(torch.ones(2, dtype=torch.int64), 2.7) -> tensor([2, 2])
    t = tg.full_like(tg.ones(2, dtype=tg.int64), 2.7)
    assert t.dtype == np.int64
    assert t.tolist() == [2, 2]


def test_randint_like():
    a = tg.zeros(50, dtype=tg.float64)
    t = tg.randint_like(a, 5)
    assert t.shape == (50,)
    assert t.dtype == np.float64
    v = values(t)
    assert v.min() >= 0 and v.max() <= 4
    assert np.array_equal(v, np.round(v))


# ---------------------------------------------------------------------------------------------
# from_numpy / as_tensor share memory
# ---------------------------------------------------------------------------------------------


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros(3)
    t = tg.from_numpy(a)
    assert t.dtype == np.float64
    a[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1.0)
    np.testing.assert_array_equal(a, [6.0, 1.0, 1.0])
    assert np.shares_memory(t.numpy(), a)


def test_from_numpy_keeps_dtype():
    for dt in (np.float32, np.float16, np.int32, np.int64, np.bool_):
        assert tg.from_numpy(np.zeros(2, dtype=dt)).dtype == np.dtype(dt)


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError):
        tg.from_numpy([1.0, 2.0])


def test_as_tensor_shares_memory():
    a = np.arange(4.0)
    t = tg.as_tensor(a)
    assert t.dtype == np.float64
    a[1] = -1.0
    assert t.tolist() == [0.0, -1.0, 2.0, 3.0]
    t.mul_(2.0)
    np.testing.assert_array_equal(a, [0.0, -2.0, 4.0, 6.0])


def test_as_tensor_of_list_infers_like_tensor():
    t = tg.as_tensor([1.0, 2.0])
    assert t.dtype == np.float32
    assert tg.as_tensor([1, 2]).dtype == np.int64


def test_as_tensor_dtype_conversion_copies():
    a = np.arange(3.0)
    t = tg.as_tensor(a, dtype=tg.float32)
    assert t.dtype == np.float32
    a[0] = 10.0
    assert t.tolist() == [0.0, 1.0, 2.0]


def test_as_tensor_of_tensor_is_itself():
    a = tg.tensor([1.0, 2.0])
    assert tg.as_tensor(a) is a


def test_numpy_of_tensor_shares_memory():
    t = tg.tensor([1.0, 2.0])
    a = t.numpy()
    a[0] = 7.0
    assert t.tolist() == [7.0, 2.0]


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "int64"])
def test_python_numbers_are_cast_once_to_the_dtype_asked_for(dtype):
    values = [0.1, -0.4, 1 / 3, 2.5e-8]
    got = tg.tensor(values, dtype=getattr(tg, dtype)).numpy()
    want = np.array(values).astype(dtype)  # from double precision, one cast
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert tg.tensor(values).dtype == np.float32  # PyTorch's default for Python floats
