"""PyTorch's comparison and logic functions (``torch.eq``, ``x.gt(0)``, ``logical_and``,
``isclose``, ``is_floating_point``, ...) and the methods that mirror top-level functions,
compared with PyTorch: values, dtypes, and that results of comparisons carry no gradient."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

A = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 2.0]])
B = np.array([2.0, 1.0, 0.0])  # broadcast against A's rows

BINARY = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
]


def _both(program):
    theirs = program(torch, lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f"))
    ours = program(tg, lambda a: tg.tensor(a, requires_grad=a.dtype.kind == "f"))
    return ours, theirs


def _same(ours, theirs) -> None:
    assert not ours.requires_grad
    assert not theirs.requires_grad
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "name, other",
    [(n, "tensor") for n in BINARY] + [(n, "number") for n in BINARY if "logical" not in n],
)
def test_binary_comparisons_and_logic_match_torch(name: str, other: str) -> None:
    """(PyTorch's ``logical_*`` take tensors only; tapegrad's also take numbers.)"""

    def program(lib, make):
        a = make(A)
        b = make(B) if other == "tensor" else 2.0
        return getattr(lib, name)(a, b), getattr(a, name)(b)

    ours, theirs = _both(program)
    for o, t in zip(ours, theirs, strict=True):
        _same(o, t)


@pytest.mark.parametrize("name", ["eq", "lt", "logical_or"])
def test_comparisons_of_plain_arrays_give_arrays(name: str) -> None:
    out = getattr(tg, name)(A, B)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, getattr(torch, name)(torch.tensor(A), torch.tensor(B)))


def test_logical_not_matches_torch() -> None:
    ours, theirs = _both(lambda lib, make: (lib.logical_not(make(A)), make(A).logical_not()))
    for o, t in zip(ours, theirs, strict=True):
        _same(o, t)


@pytest.mark.parametrize(
    "kwargs", [{}, {"rtol": 0.0, "atol": 0.15}, {"rtol": 0.2}, {"equal_nan": True}]
)
def test_isclose_matches_torch(kwargs) -> None:
    a = np.array([1.0, 1.1, np.nan, 2.0, 0.0])
    b = np.array([1.0 + 1e-7, 1.0, np.nan, 2.3, 1e-9])

    def program(lib, make):
        return lib.isclose(make(a), make(b), **kwargs), make(a).isclose(make(b), **kwargs)

    ours, theirs = _both(program)
    for o, t in zip(ours, theirs, strict=True):
        _same(o, t)


@pytest.mark.parametrize(
    "value, dtype",
    [(1.5, "float32"), (1.5, "float64"), (1, "int64"), (True, "bool"), (1.0 + 1.0j, "complex64")],
)
def test_dtype_questions_match_torch(value, dtype) -> None:
    t = torch.tensor([value], dtype=getattr(torch, dtype))
    x = tg.tensor([value], dtype=getattr(tg, dtype))
    for question in ("is_floating_point", "is_complex"):
        assert getattr(tg, question)(x) is getattr(torch, question)(t)
        assert getattr(x, question)() is getattr(t, question)()


@pytest.mark.parametrize(
    "method, args",
    [
        ("absolute", ()),
        ("acos", ()),
        ("erf", ()),
        ("erfc", ()),
        ("erfinv", ()),
        ("repeat_interleave", (2,)),
    ],
)
def test_methods_of_top_level_functions_match_torch(method: str, args) -> None:
    data = np.array([-0.6, 0.1, 0.45])

    def program(lib, make):
        x = make(data)
        y = getattr(x, method)(*args)
        if y.requires_grad:
            (y * lib.tensor([1.0, 2.0, 3.0] * (len(y) // 3), dtype=lib.float64)).sum().backward()
        return y, x.grad

    (ours, our_grad), (theirs, their_grad) = _both(program)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    if their_grad is None:
        assert our_grad is None
    else:
        np.testing.assert_allclose(our_grad.numpy(), their_grad.numpy(), rtol=1e-12)


def test_ger_method_matches_torch() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    ours = tg.tensor(a).ger(tg.tensor(b))
    np.testing.assert_array_equal(ours.numpy(), torch.tensor(a).ger(torch.tensor(b)).numpy())


def test_floor_divide_method_matches_torch_and_neither_differentiates() -> None:
    data = np.array([-0.6, 0.5, 1.45])
    ours = tg.tensor(data, requires_grad=True).floor_divide(0.7)
    theirs = torch.tensor(data, requires_grad=True).floor_divide(0.7)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    for y in (ours, theirs):
        with pytest.raises(RuntimeError):
            y.sum().backward()
