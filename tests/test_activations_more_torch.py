"""The hard, shrinking and gated activations, ``prelu``, ``threshold`` and the two distances
of ``tapegrad.nn.functional`` (and their modules) against PyTorch in float64.

Values and gradients are compared on inputs that include the kinks, where the gradient is a
convention (PyTorch's), together with the backward node each result shows, the errors for bad
arguments, the in-place forms and the modules' reprs and parameters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import activation as A
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TNN = torch.nn

pytestmark = pytest.mark.torch

RNG = np.random.default_rng(7)

#: Points on and around the kinks of the hard activations (-3, 3), the shrinkage bounds
#: (+-0.5) and the threshold of the threshold cases (0.5).
KINKS = np.array([-4.0, -3.0, -2.9, -1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0, 2.9, 3.0, 4.0])


def _pair(values: list[np.ndarray]) -> tuple[list[Any], list[Any]]:
    ours = [tg.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    return ours, theirs


def _names(node: Any, torch_side: bool) -> tuple[str, list[str | None]]:
    if torch_side:
        name = type(node).__name__
        nexts = [None if n is None else type(n).__name__ for n, _ in node.next_functions]
        return name, nexts
    nexts = [None if n is None else n.name() for n, _ in node.next_functions]
    nexts = ["AccumulateGrad" if n == "torch::autograd::AccumulateGrad" else n for n in nexts]
    return node.name(), nexts


def _run(
    ours_fn: Callable[..., Any],
    theirs_fn: Callable[..., Any],
    values: list[np.ndarray],
    *,
    grad_rtol: float = 1e-12,
) -> tuple[Any, Any]:
    """Compare the values and the gradients of ``<out, v>`` for a random ``v``."""
    ours, theirs = _pair(values)
    got = ours_fn(*ours)
    want = theirs_fn(*theirs)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-13, atol=0)
    v = RNG.standard_normal(tuple(want.shape))
    (got * tg.tensor(v)).sum().backward()
    (want * torch.tensor(v)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=grad_rtol, atol=1e-15)
    return got, want


# name: (ours, theirs, inputs)
CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], list[np.ndarray]]] = {
    "hardswish": (F.hardswish, TF.hardswish, [KINKS]),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [KINKS]),
    "hardshrink": (F.hardshrink, TF.hardshrink, [KINKS]),
    "hardshrink_lambd": (
        lambda x: F.hardshrink(x, 1.0),
        lambda x: TF.hardshrink(x, 1.0),
        [KINKS],
    ),
    "hardshrink_negative_lambd": (
        lambda x: F.hardshrink(x, -1.0),
        lambda x: TF.hardshrink(x, -1.0),
        [KINKS],
    ),
    "softshrink": (F.softshrink, TF.softshrink, [KINKS]),
    "softshrink_lambd": (
        lambda x: F.softshrink(x, lambd=3.0),
        lambda x: TF.softshrink(x, lambd=3.0),
        [KINKS],
    ),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, [KINKS]),
    "threshold": (
        lambda x: F.threshold(x, 0.5, -2.0),
        lambda x: TF.threshold(x, 0.5, -2.0),
        [KINKS],
    ),
    "glu": (F.glu, TF.glu, [RNG.standard_normal((3, 4))]),
    "glu_dim0": (
        lambda x: F.glu(x, 0),
        lambda x: TF.glu(x, 0),
        [RNG.standard_normal((4, 3))],
    ),
    "glu_dim1": (
        lambda x: F.glu(x, dim=1),
        lambda x: TF.glu(x, dim=1),
        [RNG.standard_normal((2, 6, 3))],
    ),
    "prelu_shared": (F.prelu, TF.prelu, [KINKS.reshape(13, 1), np.array([0.25])]),
    "prelu_channels": (
        F.prelu,
        TF.prelu,
        [np.array([[-1.0, 0.0, 2.0], [1.0, -2.0, 0.0]]), np.array([0.25, 0.5, -0.1])],
    ),
    "prelu_4d": (
        F.prelu,
        TF.prelu,
        [RNG.standard_normal((2, 3, 2, 2)), np.array([0.1, 0.2, 0.3])],
    ),
    "prelu_1d": (F.prelu, TF.prelu, [KINKS, np.array([0.3])]),
    "prelu_0d_weight": (F.prelu, TF.prelu, [RNG.standard_normal((2, 3)), np.array(0.2)]),
    "prelu_0d_input": (F.prelu, TF.prelu, [np.array(-1.5), np.array([0.2])]),
    "softmin": (
        lambda x: F.softmin(x, dim=1),
        lambda x: TF.softmin(x, dim=1),
        [RNG.standard_normal((2, 5))],
    ),
    "cosine_similarity": (
        F.cosine_similarity,
        TF.cosine_similarity,
        [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
    ),
    "cosine_similarity_broadcast": (
        lambda a, b: F.cosine_similarity(a, b, dim=0),
        lambda a, b: TF.cosine_similarity(a, b, dim=0),
        [RNG.standard_normal((1, 3)), RNG.standard_normal((4, 3))],
    ),
    "cosine_similarity_rank": (
        lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=1e-6),
        lambda a, b: TF.cosine_similarity(a, b, dim=-1, eps=1e-6),
        [RNG.standard_normal((2, 3, 4)), RNG.standard_normal((3, 4))],
    ),
    "cosine_similarity_1d": (
        lambda a, b: F.cosine_similarity(a, b, dim=0),
        lambda a, b: TF.cosine_similarity(a, b, dim=0),
        [np.array([1.0, 2.0, -1.0]), np.array([0.5, -1.0, 2.0])],
    ),
    "cosine_similarity_0d": (
        lambda a, b: F.cosine_similarity(a, b, dim=0),
        lambda a, b: TF.cosine_similarity(a, b, dim=0),
        [np.array(-2.0), np.array(3.0)],
    ),
    # The norms are clamped to eps without the clamp being recorded: a zero vector, and one
    # shorter than eps, get the gradient PyTorch gives.
    "cosine_similarity_zero_vector": (
        F.cosine_similarity,
        TF.cosine_similarity,
        [np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), np.array([[1.0, -1.0, 2.0]] * 2)],
    ),
    "cosine_similarity_tiny_vector": (
        lambda a, b: F.cosine_similarity(a, b, eps=1e-3),
        lambda a, b: TF.cosine_similarity(a, b, eps=1e-3),
        [np.array([[1e-4, -2e-4, 3e-5]]), np.array([[1.0, -1.0, 2.0]])],
    ),
    "pairwise_distance": (
        F.pairwise_distance,
        TF.pairwise_distance,
        [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
    ),
    "pairwise_distance_keepdim_broadcast": (
        lambda a, b: F.pairwise_distance(a, b, keepdim=True),
        lambda a, b: TF.pairwise_distance(a, b, keepdim=True),
        [RNG.standard_normal(4), RNG.standard_normal((3, 4))],
    ),
    "pairwise_distance_p1": (
        lambda a, b: F.pairwise_distance(a, b, p=1.0),
        lambda a, b: TF.pairwise_distance(a, b, p=1.0),
        [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
    ),
    "pairwise_distance_p3": (
        lambda a, b: F.pairwise_distance(a, b, 3.0, 1e-3),
        lambda a, b: TF.pairwise_distance(a, b, 3.0, 1e-3),
        [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
    ),
    "pairwise_distance_inf": (
        lambda a, b: F.pairwise_distance(a, b, p=float("inf")),
        lambda a, b: TF.pairwise_distance(a, b, p=float("inf")),
        [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
    ),
    "pairwise_distance_p_half": (
        lambda a, b: F.pairwise_distance(a, b, p=0.5),
        lambda a, b: TF.pairwise_distance(a, b, p=0.5),
        [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
    ),
    "pairwise_distance_1d": (
        F.pairwise_distance,
        TF.pairwise_distance,
        [np.array([1.0, 2.0]), np.array([2.0, 1.0])],
    ),
    "pairwise_distance_0d": (
        F.pairwise_distance,
        TF.pairwise_distance,
        [np.array(1.0), np.array(2.0)],
    ),
    # The difference x1 - x2 + eps is exactly 0: the norm's gradient there is 0.
    "pairwise_distance_zero": (
        lambda a, b: F.pairwise_distance(a, b, eps=0.0),
        lambda a, b: TF.pairwise_distance(a, b, eps=0.0),
        [np.array([[1.0, 2.0], [0.5, 0.5]]), np.array([[1.0, 2.0], [0.0, 1.0]])],
    ),
}

#: PyTorch computes hardsigmoid's gradient with a float32 ``1/6`` in every dtype.
GRAD_RTOL = {"hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients(name: str) -> None:
    ours, theirs, values = CASES[name]
    _run(ours, theirs, values, grad_rtol=GRAD_RTOL.get(name, 1e-12))


#: Cases whose result is one PyTorch node (named, and leading to the inputs) or a short
#: composition that tapegrad records the same way.
NODE_CASES = [
    "hardswish",
    "hardsigmoid",
    "hardshrink",
    "softshrink",
    "tanhshrink",
    "threshold",
    "glu",
    "glu_dim1",
    "prelu_shared",
    "prelu_channels",
    "prelu_1d",
    "prelu_0d_weight",
    "prelu_0d_input",
    "softmin",
    "cosine_similarity",
]


@pytest.mark.parametrize("name", NODE_CASES)
def test_backward_nodes(name: str) -> None:
    ours_fn, theirs_fn, values = CASES[name]
    ours, theirs = _pair(values)
    got, want = ours_fn(*ours), theirs_fn(*theirs)
    assert _names(got.grad_fn, False) == _names(want.grad_fn, True)


def test_prelu_weight_view_leads_to_the_weight() -> None:
    x = tg.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    w = tg.tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)
    out = F.prelu(x, w)
    view = out.grad_fn.next_functions[1][0]
    assert view.name() == "ViewBackward0"
    assert view.next_functions[0][0].variable is w


@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid", "threshold", "mish"])
def test_inplace_forms(name: str) -> None:
    ours_fn = {
        "mish": lambda h: F.mish(h, inplace=True),
        "hardswish": lambda h: F.hardswish(h, inplace=True),
        "hardsigmoid": lambda h: F.hardsigmoid(h, True),
        "threshold": lambda h: F.threshold(h, 0.5, -2.0, inplace=True),
    }[name]
    theirs_fn = {
        "mish": lambda h: TF.mish(h, inplace=True),
        "hardswish": lambda h: TF.hardswish(h, inplace=True),
        "hardsigmoid": lambda h: TF.hardsigmoid(h, True),
        "threshold": lambda h: TF.threshold(h, 0.5, -2.0, inplace=True),
    }[name]

    def ours(x: Any) -> Any:
        h = x * 1.0
        out = ours_fn(h)
        assert out is h
        return out

    def theirs(x: Any) -> Any:
        h = x * 1.0
        out = theirs_fn(h)
        assert out is h
        return out

    _run(ours, theirs, [KINKS], grad_rtol=GRAD_RTOL.get(name, 1e-12))


def test_inplace_on_a_leaf_that_requires_grad_fails_like_pytorch() -> None:
    leaf = tg.tensor(KINKS.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.hardswish(leaf, inplace=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        TF.hardswish(torch.tensor(KINKS.copy(), requires_grad=True), inplace=True)


def test_inplace_on_arrays_and_plain_tensors() -> None:
    for ours, theirs in [
        (lambda x: F.hardswish(x, True), lambda x: TF.hardswish(x, True)),
        (lambda x: F.hardsigmoid(x, True), lambda x: TF.hardsigmoid(x, True)),
        (lambda x: F.threshold(x, 0.5, 9.0, True), lambda x: TF.threshold(x, 0.5, 9.0, True)),
    ]:
        want = theirs(torch.tensor(KINKS.copy())).numpy()
        arr = KINKS.copy()
        assert ours(arr) is arr
        np.testing.assert_allclose(arr, want, rtol=1e-15)
        t = tg.tensor(KINKS.copy())
        assert ours(t) is t
        np.testing.assert_allclose(t.numpy(), want, rtol=1e-15)


def test_arrays_in_arrays_out() -> None:
    x = KINKS.copy()
    for fn in (F.hardswish, F.hardsigmoid, F.hardshrink, F.softshrink, F.tanhshrink):
        out = fn(x)
        assert isinstance(out, np.ndarray)
    assert isinstance(F.threshold(x, 0.5, 1.0), np.ndarray)
    assert isinstance(F.glu(x[:12]), np.ndarray)
    assert isinstance(F.prelu(x, np.array([0.25])), np.ndarray)
    assert isinstance(F.cosine_similarity(x, x, dim=0), np.ndarray)
    assert isinstance(F.pairwise_distance(x, x), np.ndarray)
    g = tg.grad(lambda v: F.hardswish(v).sum())(x)
    want = torch.tensor(x, requires_grad=True)
    TF.hardswish(want).sum().backward()
    np.testing.assert_allclose(g, want.grad.numpy(), rtol=1e-15)


# ------------------------------------------------------------------------------ errors


def _error(fn: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


ERROR_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "glu_odd": lambda f, m: f.glu(m.ones(2, 3)),
    "glu_scalar": lambda f, m: f.glu(m.tensor(1.0)),
    "glu_dim": lambda f, m: f.glu(m.ones(2, 4), dim=2),
    "glu_negative_dim": lambda f, m: f.glu(m.ones(2, 4), dim=-3),
    "prelu_count": lambda f, m: f.prelu(m.ones(2, 3), m.ones(2)),
    "prelu_count_1d": lambda f, m: f.prelu(m.ones(3), m.ones(3)),
    "prelu_weight_ndim": lambda f, m: f.prelu(m.ones(2, 3), m.ones(3, 1)),
    "prelu_zero_dim": lambda f, m: f.prelu(m.tensor(1.0), m.ones(3)),
    "prelu_dtypes": lambda f, m: f.prelu(m.ones(2, 3), m.ones(3, dtype=m.float64)),
    "softshrink_negative": lambda f, m: f.softshrink(m.ones(2, dtype=m.float64), -1.0),
    "softshrink_negative_float": lambda f, m: f.softshrink(m.ones(2), -0.5),
    "cosine_broadcast": lambda f, m: f.cosine_similarity(m.ones(2, 3), m.ones(4, 3)),
    "cosine_broadcast_inner": lambda f, m: f.cosine_similarity(m.ones(2, 3), m.ones(2, 4)),
    "cosine_dim": lambda f, m: f.cosine_similarity(m.ones(2, 3), m.ones(2, 3), dim=2),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_match_pytorch(name: str) -> None:
    case = ERROR_CASES[name]
    ours = _error(lambda: case(F, tg))
    theirs = _error(lambda: case(TF, torch))
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs)


# ------------------------------------------------------------------------------ modules

MODULES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("SELU", (), {}),
    ("SELU", (True,), {}),
    ("CELU", (), {}),
    ("CELU", (0.5,), {"inplace": True}),
    ("Mish", (), {}),
    ("Mish", (), {"inplace": True}),
    ("Softsign", (), {}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 3, True), {}),
    ("Hardtanh", (-0.5,), {"max_val": 0.25}),
    ("Hardswish", (), {}),
    ("Hardswish", (True,), {}),
    ("Hardsigmoid", (), {}),
    ("Hardsigmoid", (), {"inplace": True}),
    ("Hardshrink", (), {}),
    ("Hardshrink", (1,), {}),
    ("Softshrink", (), {}),
    ("Softshrink", (), {"lambd": 0.25}),
    ("Tanhshrink", (), {}),
    ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.5, -2.0), {"inplace": True}),
    ("GLU", (), {}),
    ("GLU", (0,), {}),
    ("LogSigmoid", (), {}),
    ("Softmin", (), {}),
    ("Softmin", (1,), {}),
    ("PReLU", (), {}),
    ("PReLU", (4, 0.1), {}),
    ("CosineSimilarity", (), {}),
    ("CosineSimilarity", (0, 1e-5), {}),
    ("PairwiseDistance", (), {}),
    ("PairwiseDistance", (1, 1e-3, True), {}),
]

MODULE_INPUT = np.array(
    [
        [-4.0, -3.0, -1.0, 0.0],
        [0.5, 1.0, 3.0, 4.0],
        [-0.5, 0.25, 2.0, -2.0],
        [0.1, 20.0, -0.3, 1.5],
    ]
)


def _ident(case: tuple[str, tuple[Any, ...], dict[str, Any]]) -> str:
    name, args, kwargs = case
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({','.join(parts)})"


@pytest.mark.parametrize("case", MODULES, ids=_ident)
def test_module_repr_and_attributes(case: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    name, args, kwargs = case
    ours = getattr(A, name)(*args, **kwargs)
    theirs = getattr(TNN, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    public = {k: v for k, v in vars(theirs).items() if not k.startswith("_") and k != "training"}
    for key, value in public.items():
        assert getattr(ours, key) == value, key


@pytest.mark.parametrize("case", MODULES, ids=_ident)
def test_module_forward(case: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    name, args, kwargs = case
    if name == "PReLU":  # float64 parameters for float64 inputs
        ours_m = A.PReLU(*args, **kwargs, dtype=np.float64)
        theirs_m = TNN.PReLU(*args, **kwargs, dtype=torch.float64)
    else:
        ours_m = getattr(A, name)(*args, **kwargs)
        theirs_m = getattr(TNN, name)(*args, **kwargs)
    inplace = getattr(theirs_m, "inplace", False)
    two = name in ("CosineSimilarity", "PairwiseDistance")
    values = [MODULE_INPUT, MODULE_INPUT[::-1] * 0.5] if two else [MODULE_INPUT]
    rtol = GRAD_RTOL.get(name.lower(), 1e-12)
    if inplace:
        _run(lambda x: ours_m(x * 1.0), lambda x: theirs_m(x * 1.0), values, grad_rtol=rtol)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Softmin() without dim warns in both
            _run(ours_m, theirs_m, values, grad_rtol=rtol)
    if name == "PReLU":
        np.testing.assert_allclose(
            ours_m.weight.grad.numpy(), theirs_m.weight.grad.numpy(), rtol=1e-12
        )


def test_softmin_module_warns_without_dim() -> None:
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        A.Softmin()(tg.ones(2, 3))


def test_prelu_parameters_and_state_dict() -> None:
    ours, theirs = A.PReLU(3, init=0.1), TNN.PReLU(3, init=0.1)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert isinstance(ours.weight, tg.nn.Parameter) and ours.weight.requires_grad
    assert ours.weight.dtype == np.float32
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd) == ["weight"]
    np.testing.assert_array_equal(sd["weight"].detach().numpy(), tsd["weight"].numpy())
    assert tuple(A.PReLU().weight.shape) == tuple(TNN.PReLU().weight.shape) == (1,)
    double = A.PReLU(2, dtype=np.float64)
    assert double.weight.dtype == np.float64
    ours.load_state_dict({"weight": tg.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))})
    np.testing.assert_array_equal(ours.weight.detach().numpy(), [1.0, 2.0, 3.0])
    ours.reset_parameters()
    np.testing.assert_array_equal(ours.weight.detach().numpy(), np.full(3, 0.1, dtype=np.float32))


def test_prelu_module_trains_its_weight() -> None:
    ours, theirs = A.PReLU(2), TNN.PReLU(2)
    x = RNG.standard_normal((4, 2)).astype(np.float32)
    ours(tg.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)


def test_hardtanh_deprecated_names_and_bounds() -> None:
    for lib in (A, TNN):
        with pytest.warns(FutureWarning, match="`min_value` is deprecated"):
            m = lib.Hardtanh(min_value=-2.0)
        assert m.min_val == -2.0
        with pytest.warns(FutureWarning, match="`max_value` is deprecated"):
            m = lib.Hardtanh(max_value=2.0)
        assert m.max_val == 2.0
    with pytest.raises(AssertionError) as ours:
        A.Hardtanh(1.0, 1.0)
    with pytest.raises(AssertionError) as theirs:
        TNN.Hardtanh(1.0, 1.0)
    assert str(ours.value) == str(theirs.value)


def test_modules_in_a_sequential_model() -> None:
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(4, 6), A.Hardswish(), A.GLU(), A.PReLU(1))
    out = model(tg.ones(2, 4))
    assert tuple(out.shape) == (2, 3)
    out.sum().backward()
    assert model[3].weight.grad is not None
