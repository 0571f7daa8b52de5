"""Losses, layers and containers of ``tapegrad.nn`` against their ``torch.nn`` namesakes:
repr, parameter and state-dict names and shapes, forward values and gradients (float64)."""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn.containers import ModuleDict, ParameterDict, ParameterList
from tapegrad.nn.layers import (
    AvgPool1d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    MaxPool1d,
    Unflatten,
)
from tapegrad.nn.loss import BCELoss, HuberLoss, KLDivLoss, L1Loss, NLLLoss, SmoothL1Loss

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL = 1e-12
ATOL = 1e-12


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy()


def _close(ours: Any, theirs: Any, msg: str = "") -> None:
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, msg
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=msg)


def _same_repr(ours: nn.Module, theirs: Any) -> None:
    assert repr(ours) == repr(theirs).replace("torch.", "tapegrad.")


def _same_names(ours: nn.Module, theirs: Any) -> None:
    """named_parameters, named_buffers and state_dict: same keys, order and shapes."""
    for ours_items, theirs_items in [
        (ours.named_parameters(), theirs.named_parameters()),
        (ours.named_buffers(), theirs.named_buffers()),
        (ours.state_dict().items(), theirs.state_dict().items()),
    ]:
        a = [(k, tuple(v.shape)) for k, v in ours_items]
        b = [(k, tuple(v.shape)) for k, v in theirs_items]
        assert a == b


def _copy_from(ours: nn.Module, theirs: Any) -> None:
    """Give ``ours`` the parameter and buffer values of ``theirs``."""
    state = {k: tg.from_numpy(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    for (k, p), (_, q) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_array_equal(_np(p), _np(q), err_msg=k)


def _pair(x: np.ndarray, grad: bool = True) -> tuple[Any, Any]:
    x = np.array(x, order="C")  # PyTorch's nll_loss2d backward wants contiguous inputs
    if x.dtype.kind == "f" and grad:
        return tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    return tg.tensor(x), torch.tensor(x)


def _backward_weighted(ours_out: Any, theirs_out: Any, seed: int = 9) -> None:
    w = np.random.default_rng(seed).standard_normal(tuple(theirs_out.shape))
    (ours_out * tg.tensor(w)).sum().backward()
    (theirs_out * torch.tensor(w)).sum().backward()


def _check(
    ours: nn.Module,
    theirs: Any,
    *inputs: np.ndarray,
    grad: tuple[bool, ...] | None = None,
    call: Any = None,
) -> tuple[Any, Any]:
    """Repr, names, forward and gradients (inputs and parameters) of two twin modules."""
    _same_repr(ours, theirs)
    _same_names(ours, theirs)
    grad = grad if grad is not None else (True,) * len(inputs)
    pairs = [_pair(x, g) for x, g in zip(inputs, grad)]
    ours_in = [p[0] for p in pairs]
    theirs_in = [p[1] for p in pairs]
    call = call or (lambda m, *a: m(*a))
    ours_out = call(ours, *ours_in)
    theirs_out = call(theirs, *theirs_in)
    _close(ours_out, theirs_out, "forward")
    _backward_weighted(ours_out, theirs_out)
    checked = 0
    for i, (a, b) in enumerate(zip(ours_in, theirs_in)):
        if b.requires_grad:
            assert b.grad is not None and a.grad is not None, f"input {i}"
            _close(a.grad, b.grad, f"grad of input {i}")
            checked += 1
    for (name, p), (name_t, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        assert p.grad is not None and q.grad is not None, name
        _close(p.grad, q.grad, f"grad of {name}")
        checked += 1
    assert checked > 0
    return ours_out, theirs_out


RNG = np.random.default_rng(2024)

# tapegrad's counterpart of the torch.nn names the container tests use.
TG = SimpleNamespace(
    Module=nn.Module,
    Parameter=nn.Parameter,
    ModuleDict=ModuleDict,
    ParameterList=ParameterList,
    ParameterDict=ParameterDict,
    ReLU=nn.ReLU,
    Tanh=nn.Tanh,
    Sigmoid=nn.Sigmoid,
    Identity=nn.Identity,
)


# ---------------------------------------------------------------------- losses


def _regression_inputs() -> tuple[np.ndarray, np.ndarray]:
    x = RNG.standard_normal((4, 5)) * 2.0
    y = RNG.standard_normal((4, 5)) * 2.0
    y[0, 0] = x[0, 0]  # a zero difference: the subgradient there is 0 in both
    y[1, 1] = x[1, 1] + 0.25  # inside the quadratic zone of every beta/delta below
    return x, y


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_l1_loss(reduction):
    x, y = _regression_inputs()
    _check(L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), x, y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.5, 3.0, 0.0])
def test_smooth_l1_loss(reduction, beta):
    x, y = _regression_inputs()
    ours, theirs = (
        SmoothL1Loss(reduction=reduction, beta=beta),
        torch.nn.SmoothL1Loss(reduction=reduction, beta=beta),
    )
    assert ours.beta == theirs.beta == beta
    _check(ours, theirs, x, y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_loss(reduction, delta):
    x, y = _regression_inputs()
    ours, theirs = HuberLoss(reduction, delta), torch.nn.HuberLoss(reduction, delta)
    assert ours.delta == theirs.delta == delta
    _check(ours, theirs, x, y)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 4), (4,), (3, 4, 2, 3)])
def test_nll_loss(weighted, reduction, shape):
    logp = np.log(RNG.dirichlet(np.ones(4), size=math.prod(shape) // 4))
    if len(shape) == 4:
        logp = logp.reshape(3, 2, 3, 4).transpose(0, 3, 1, 2)
    else:
        logp = logp.reshape(shape)
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    target = RNG.integers(0, 4, tshape)
    if target.ndim:
        target.reshape(-1)[1] = 7  # ignored below
    weight = np.array([0.5, 2.0, 1.0, 3.0]) if weighted else None
    ignore = 7 if target.ndim else -100
    ours = NLLLoss(
        tg.tensor(weight) if weighted else None, ignore_index=ignore, reduction=reduction
    )
    theirs = torch.nn.NLLLoss(
        torch.tensor(weight) if weighted else None, ignore_index=ignore, reduction=reduction
    )
    assert ours.ignore_index == theirs.ignore_index == ignore
    _check(ours, theirs, logp, target)
    if weighted:
        assert list(ours.state_dict()) == ["weight"]
        _close(ours.state_dict()["weight"], theirs.state_dict()["weight"])


@pytest.mark.parametrize("weight_shape", [None, (5,), (4, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_loss(weight_shape, reduction):
    x = RNG.uniform(0.02, 0.98, (4, 5))
    x[0, 0], x[0, 1] = 0.0, 1.0  # log clamped at -100 in both
    y = RNG.uniform(0.0, 1.0, (4, 5))
    y[0, 0], y[0, 1] = 1.0, 0.0
    weight = None if weight_shape is None else RNG.uniform(0.5, 2.0, weight_shape)
    ours = BCELoss(None if weight is None else tg.tensor(weight), reduction=reduction)
    theirs = torch.nn.BCELoss(None if weight is None else torch.tensor(weight), reduction=reduction)
    _check(ours, theirs, x, y, grad=(True, False))
    assert list(ours.state_dict()) == ([] if weight is None else ["weight"])


@pytest.mark.parametrize("target_kind", ["prob", "prob_with_zero", "log"])
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
def test_kl_div_loss(target_kind, reduction):
    logp = np.log(RNG.dirichlet(np.ones(5), size=4))
    q = RNG.dirichlet(np.ones(5), size=4)
    log_target = target_kind == "log"
    if target_kind == "prob_with_zero":
        q[1, 2] = 0.0  # contributes 0 (xlogy's convention)
    target = np.log(q) if log_target else q
    ours = KLDivLoss(reduction=reduction, log_target=log_target)
    theirs = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)
    assert (ours.reduction, ours.log_target) == (theirs.reduction, theirs.log_target)
    # At a zero target PyTorch's gradient with respect to the target is nan; only the
    # input's gradient is compared there.
    grad = (True, target_kind != "prob_with_zero")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reduction="mean" warns in both
        _check(ours, theirs, logp, target, grad=grad)


@pytest.mark.parametrize(
    "size_average, reduce", [(False, None), (True, None), (None, False), (False, True)]
)
@pytest.mark.parametrize("name", ["L1Loss", "SmoothL1Loss", "NLLLoss", "BCELoss", "KLDivLoss"])
def test_loss_legacy_reduction_arguments(name, size_average, reduce):
    ours_cls = {
        "L1Loss": L1Loss,
        "SmoothL1Loss": SmoothL1Loss,
        "NLLLoss": NLLLoss,
        "BCELoss": BCELoss,
        "KLDivLoss": KLDivLoss,
    }[name]
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours = ours_cls(size_average=size_average, reduce=reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(torch.nn, name)(size_average=size_average, reduce=reduce)
    assert ours.reduction == theirs.reduction
    assert ours.reduction == ("none" if reduce is False else "mean" if size_average else "sum")


def test_loss_reprs_and_invalid_reduction():
    for ours, theirs in [
        (L1Loss(), torch.nn.L1Loss()),
        (SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)),
        (HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0)),
        (NLLLoss(tg.ones(3)), torch.nn.NLLLoss(torch.ones(3))),
        (BCELoss(), torch.nn.BCELoss()),
        (KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean")),
    ]:
        _same_repr(ours, theirs)
        _same_names(ours, theirs)
        assert ours.reduction == theirs.reduction
    with pytest.raises(ValueError, match="batchmean is not a valid value"):
        L1Loss(reduction="batchmean")
    with pytest.raises(ValueError, match="avg is not a valid value"):
        KLDivLoss(reduction="avg")


# ---------------------------------------------------------------------- pooling


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((2,), {}),
        ((3,), {"stride": 2, "padding": 1}),
        ((3,), {"stride": 1, "dilation": 2}),
        ((2,), {"stride": 2, "ceil_mode": True}),
        (((3,),), {"stride": (2,), "padding": (1,), "dilation": (1,)}),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_max_pool1d(args, kwargs, batched):
    x = RNG.permutation(3 * 2 * 9).reshape(3, 2, 9).astype(np.float64)  # no ties
    x = x if batched else x[0]
    ours, theirs = MaxPool1d(*args, **kwargs), torch.nn.MaxPool1d(*args, **kwargs)
    assert (ours.kernel_size, ours.stride) == (theirs.kernel_size, theirs.stride)
    _check(ours, theirs, x)


def test_max_pool1d_return_indices():
    x = RNG.standard_normal((2, 3, 10))
    ours = MaxPool1d(3, stride=2, padding=1, return_indices=True)
    theirs = torch.nn.MaxPool1d(3, stride=2, padding=1, return_indices=True)
    _same_repr(ours, theirs)
    (a, ai), (b, bi) = ours(tg.tensor(x)), theirs(torch.tensor(x))
    _close(a, b)
    np.testing.assert_array_equal(_np(ai), _np(bi))


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((3,), {}),
        ((3,), {"stride": 2}),
        ((4,), {"stride": 2, "padding": 2}),
        ((4,), {"stride": 2, "padding": 2, "count_include_pad": False}),
        ((3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
        ((3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
        (((2,),), {"stride": (1,), "padding": (1,)}),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_avg_pool1d(args, kwargs, batched):
    x = RNG.standard_normal((3, 2, 10))
    x = x if batched else x[0]
    ours, theirs = AvgPool1d(*args, **kwargs), torch.nn.AvgPool1d(*args, **kwargs)
    assert (ours.kernel_size, ours.stride, ours.padding) == (
        theirs.kernel_size,
        theirs.stride,
        theirs.padding,
    )
    _check(ours, theirs, x)


# ---------------------------------------------------------------------- convolutions


def _twins(cls: Any, torch_cls: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours = cls(*args, **kwargs).double()
    theirs = torch_cls(*args, **kwargs).double()
    _same_repr(ours, theirs)
    _same_names(ours, theirs)
    _copy_from(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize(
    "args, kwargs, shape",
    [
        ((2, 4, 3), {}, (2, 2, 5, 6, 7)),
        ((2, 4, (1, 2, 3)), {"stride": (1, 2, 1), "bias": False}, (2, 2, 4, 5, 6)),
        ((4, 6, 3), {"groups": 2, "padding": 1, "dilation": (1, 2, 1)}, (1, 4, 5, 6, 5)),
        ((2, 3, (3, 2, 3)), {"padding": "same"}, (2, 2, 4, 5, 6)),
        ((2, 3, 3), {"padding": "valid"}, (2, 2, 4, 5, 6)),
        ((2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 4, 5, 6)),
        ((2, 3, 3), {"padding": (0, 1, 2), "padding_mode": "replicate"}, (2, 2, 4, 5, 6)),
        ((2, 3, 2), {"padding": "same", "padding_mode": "circular"}, (2, 2, 4, 5, 6)),
        ((2, 3, 2), {"stride": 2}, (2, 4, 6, 5)),  # unbatched
    ],
)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
def test_conv3d(args, kwargs, shape):
    ours, theirs = _twins(Conv3d, torch.nn.Conv3d, *args, **kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    assert (ours.padding, ours.stride, ours.dilation, ours.transposed) == (
        theirs.padding,
        theirs.stride,
        theirs.dilation,
        theirs.transposed,
    )
    _check(ours, theirs, RNG.standard_normal(shape))


@pytest.mark.parametrize(
    "args, kwargs, shape",
    [
        ((3, 2, 3), {}, (2, 3, 7)),
        ((3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 6)),
        ((4, 6, 2), {"groups": 2, "stride": 3, "bias": False}, (2, 4, 5)),
        ((2, 2, 3), {"dilation": 2, "stride": 3, "output_padding": 2}, (1, 2, 4)),
        (((2, 3, (4,)), {"stride": (2,), "padding": (1,)}, (2, 5))),  # unbatched
    ],
)
def test_conv_transpose1d(args, kwargs, shape):
    ours, theirs = _twins(ConvTranspose1d, torch.nn.ConvTranspose1d, *args, **kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    assert ours.transposed and theirs.transposed
    assert ours.output_padding == theirs.output_padding
    _check(ours, theirs, RNG.standard_normal(shape))


@pytest.mark.parametrize(
    "args, kwargs, shape",
    [
        ((3, 2, 3), {}, (2, 3, 4, 5)),
        ((3, 4, (3, 2)), {"stride": (2, 1), "padding": (1, 0)}, (2, 3, 4, 5)),
        ((4, 6, 3), {"groups": 2, "stride": 2, "output_padding": 1, "bias": False}, (1, 4, 3, 3)),
        ((2, 2, 3), {"dilation": (2, 1), "stride": 2, "padding": 1}, (2, 2, 4, 4)),
        ((2, 3, 2), {"stride": 2}, (2, 3, 4)),  # unbatched
    ],
)
def test_conv_transpose2d(args, kwargs, shape):
    ours, theirs = _twins(ConvTranspose2d, torch.nn.ConvTranspose2d, *args, **kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    assert ours.output_padding == theirs.output_padding
    _check(ours, theirs, RNG.standard_normal(shape))


@pytest.mark.parametrize("output_size", [(8, 7), [2, 2, 8, 8], (7, 7)])
def test_conv_transpose2d_output_size(output_size):
    ours, theirs = _twins(ConvTranspose2d, torch.nn.ConvTranspose2d, 3, 2, 3, stride=2, padding=1)
    x = RNG.standard_normal((2, 3, 4, 4))

    def call(m, a):
        return m(a, output_size=output_size)

    out, _ = _check(ours, theirs, x, call=call)
    assert out.shape[-2:] == tuple(output_size[-2:])
    with pytest.raises(ValueError, match="requested an output size"):
        ours(tg.tensor(x), output_size=(10, 10))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        ours(tg.tensor(x), output_size=(8,))


def test_conv_transpose1d_output_size():
    ours, theirs = _twins(ConvTranspose1d, torch.nn.ConvTranspose1d, 2, 3, 4, stride=3)
    _check(ours, theirs, RNG.standard_normal((2, 5)), call=lambda m, a: m(a, output_size=[3, 18]))


def test_transposed_convolutions_reject_other_padding_modes():
    for cls in (ConvTranspose1d, ConvTranspose2d):
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
            cls(2, 2, 3, padding_mode="reflect")


@pytest.mark.parametrize(
    "cls, args",
    [
        (ConvTranspose1d, (6, 32, 5)),
        (ConvTranspose2d, (8, 24, 3, 1, 0, 0, 2)),
        (Conv3d, (4, 40, 3)),
    ],
)
def test_convolution_init_draws_from_pytorchs_ranges(cls, args):
    tg.manual_seed(1)
    m = cls(*args)
    w = _np(m.weight)
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias alike
    for values in (w, _np(m.bias)):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.8 * bound
        assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.35)


# ---------------------------------------------------------------------- Unflatten


@pytest.mark.parametrize(
    "dim, size, shape",
    [
        (1, (2, 5, 5), (3, 50)),
        (-1, [2, -1], (3, 4, 8)),
        (0, (3, 1), (3, 4)),
        (1, (-1,), (2, 6, 2)),
        (-2, (2, 1, 3), (4, 6, 2)),
    ],
)
def test_unflatten(dim, size, shape):
    ours, theirs = Unflatten(dim, size), torch.nn.Unflatten(dim, size)
    assert (ours.dim, ours.unflattened_size) == (theirs.dim, theirs.unflattened_size)
    out, theirs_out = _check(ours, theirs, RNG.standard_normal(shape))
    assert out.shape == tuple(theirs_out.shape)


def test_unflatten_errors_match_pytorch():
    for bad in [(3, 3), (3, -1), (0, -1)]:
        with pytest.raises(RuntimeError) as ours_err:
            Unflatten(1, bad)(tg.zeros(3, 8))
        with pytest.raises(RuntimeError) as theirs_err:
            torch.nn.Unflatten(1, bad)(torch.zeros(3, 8))
        assert str(ours_err.value) == str(theirs_err.value)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        Unflatten(1, (-1, -1))(tg.zeros(3, 8))
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        torch.nn.Unflatten(1, (-1, -1))(torch.zeros(3, 8))
    with pytest.raises(IndexError, match="Dimension out of range"):
        Unflatten(2, (2, 4))(tg.zeros(3, 8))
    with pytest.raises(TypeError, match="found element of type float at pos 1"):
        Unflatten(1, (2, 4.0))
    with pytest.raises(TypeError, match="found type int"):
        Unflatten(1, 8)


# ---------------------------------------------------------------------- containers


def _linear_pair(i: int, o: int) -> tuple[Any, Any]:
    return _twins(nn.Linear, torch.nn.Linear, i, o)


def test_module_dict_registers_indexes_and_backpropagates():
    (a, ta), (b, tb) = _linear_pair(3, 4), _linear_pair(4, 2)
    ours = ModuleDict({"enc": a, "act": nn.Tanh()})
    ours.update([("dec", b)])
    theirs = torch.nn.ModuleDict({"enc": ta, "act": torch.nn.Tanh()})
    theirs.update([("dec", tb)])
    _same_repr(ours, theirs)
    _same_names(ours, theirs)
    assert list(ours) == list(theirs) == ["enc", "act", "dec"]
    assert list(ours.keys()) == list(theirs.keys())
    assert [type(m).__name__ for m in ours.values()] == [type(m).__name__ for m in theirs.values()]
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert len(ours) == len(theirs) == 3
    assert "dec" in ours and "nope" not in ours
    assert ours["enc"] is a

    def call(m, x):
        return m["dec"](m["act"](m["enc"](x)))

    _check(ours, theirs, RNG.standard_normal((5, 3)), call=call)


def test_module_dict_mutation_matches_pytorch():
    def build(lib):
        d = lib.ModuleDict(OrderedDict([("b", lib.ReLU()), ("a", lib.Tanh())]))
        d["c"] = lib.Sigmoid()
        d.update({"z": lib.Identity(), "b": lib.Tanh()})
        del d["a"]
        popped = d.pop("c")
        return d, popped

    (ours, op), (theirs, tp) = build(TG), build(torch.nn)
    _same_repr(ours, theirs)
    assert type(op).__name__ == type(tp).__name__ == "Sigmoid"
    assert list(ours) == list(theirs) == ["b", "z"]
    ours.clear()
    theirs.clear()
    assert repr(ours) == repr(theirs) == "ModuleDict()"
    with pytest.raises(KeyError):
        ours["b"]
    with pytest.raises(TypeError, match="iterable of key/value pairs"):
        ModuleDict(3)
    with pytest.raises(ValueError, match="has length 1; 2 is required"):
        ModuleDict([("a",)])
    with pytest.raises(KeyError, match="already exists"):
        ModuleDict({"keys": nn.ReLU()})
    with pytest.raises(NotImplementedError):
        ModuleDict()(1)


def test_parameter_list_registers_indexes_and_backpropagates():
    vals = [RNG.standard_normal((3, 4)), RNG.standard_normal(2), RNG.standard_normal(4)]

    def build(lib, tensor):
        class Model(lib.Module):
            def __init__(self):
                super().__init__()
                self.params = lib.ParameterList([tensor(v) for v in vals])

            def forward(self, x):
                return (x @ self.params[0]) * self.params[-1] + self.params[1].sum()

        return Model()

    ours, theirs = build(TG, tg.tensor), build(torch.nn, torch.tensor)
    assert [k for k, _ in ours.named_parameters()] == ["params.0", "params.1", "params.2"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.params)
    _check(ours, theirs, RNG.standard_normal((5, 3)))


def test_parameter_list_behaves_like_pytorchs():
    def build(lib, tensor):
        p = lib.ParameterList([lib.Parameter(tensor(np.ones((2, 3)))), tensor(np.zeros(4))])
        p.append(tensor(np.zeros((1, 2), dtype=np.float32)))
        p.extend([tensor(np.ones(1)), "label", 3])
        p += [lib.Parameter(tensor(np.ones(2)), requires_grad=False)]
        p[1] = tensor(np.full(5, 2.0))
        return p

    ours, theirs = build(TG, tg.tensor), build(torch.nn, torch.tensor)
    _same_repr(ours, theirs)
    _same_names(ours, theirs)
    assert len(ours) == len(theirs) == 7
    assert [type(v).__name__ for v in ours] == [type(v).__name__ for v in theirs]
    assert ours[4] == theirs[4] == "label" and ours[-2] == theirs[-2] == 3
    assert not ours[6].requires_grad
    np.testing.assert_array_equal(_np(ours[1]), _np(theirs[1]))
    sliced, theirs_sliced = ours[1:6:2], theirs[1:6:2]
    _same_repr(sliced, theirs_sliced)
    assert sliced[0] is ours[1]
    assert [k for k, _ in ours[::-1].named_parameters()] == [
        k for k, _ in theirs[::-1].named_parameters()
    ]
    with pytest.raises(IndexError, match="index 7 is out of range"):
        ours[7]
    with pytest.raises(IndexError, match="index -8 is out of range"):
        ours[-8] = tg.ones(1)
    with pytest.raises(TypeError, match="should be called with an iterable"):
        ours.extend(tg.ones(3))
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        ours(1)
    assert repr(ParameterList()) == repr(torch.nn.ParameterList()) == "ParameterList()"


def test_parameter_dict_registers_indexes_and_backpropagates():
    scale, shift = RNG.standard_normal(4), RNG.standard_normal(4)

    def build(lib, tensor):
        class Model(lib.Module):
            def __init__(self):
                super().__init__()
                # A plain dict: taken in sorted key order, as PyTorch does.
                self.affine = lib.ParameterDict({"shift": tensor(shift), "scale": tensor(scale)})

            def forward(self, x):
                return x * self.affine["scale"] + self.affine["shift"]

        return Model()

    ours, theirs = build(TG, tg.tensor), build(torch.nn, torch.tensor)
    assert repr(ours) == repr(theirs).replace("torch.", "tapegrad.")
    _same_names(ours, theirs)
    assert list(ours.state_dict()) == ["affine.scale", "affine.shift"]
    _check(ours, theirs, RNG.standard_normal((3, 4)))


def test_parameter_dict_behaves_like_pytorchs():
    def build(lib, tensor):
        d = lib.ParameterDict(OrderedDict([("w", tensor(np.ones((2, 3)))), ("a", "text")]))
        d["b"] = lib.Parameter(tensor(np.zeros(4, dtype=np.float32)))
        d.update([("c", tensor(np.ones(1))), ("w", tensor(np.ones(3)))])
        d.update({"z": 5, "y": tensor(np.ones(2))})
        assert d.setdefault("b") is d["b"]
        d.setdefault("n")
        return d

    ours, theirs = build(TG, tg.tensor), build(torch.nn, torch.tensor)
    _same_repr(ours, theirs)
    _same_names(ours, theirs)
    assert list(ours) == list(theirs) == ["w", "a", "b", "c", "y", "z", "n"]
    assert list(reversed(ours)) == list(reversed(theirs))
    assert list(ours.keys()) == list(theirs.keys())
    assert [type(v).__name__ for v in ours.values()] == [type(v).__name__ for v in theirs.values()]
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert "c" in ours and "q" not in ours and len(ours) == len(theirs) == 7
    assert ours.get("q", 1) == theirs.get("q", 1) == 1
    assert ours.get("a") == "text"

    key, value = ours.popitem()
    assert (key, value) == theirs.popitem() == ("n", None)
    popped, theirs_popped = ours.pop("c"), theirs.pop("c")
    assert isinstance(popped, nn.Parameter) and isinstance(theirs_popped, torch.nn.Parameter)
    del ours["a"]
    del theirs["a"]
    _same_repr(ours, theirs)
    _same_names(ours, theirs)

    merged, theirs_merged = (
        ours | ParameterDict({"m": tg.ones(1)}),
        theirs | (torch.nn.ParameterDict({"m": torch.ones(1)})),
    )
    _same_repr(merged, theirs_merged)
    assert merged["w"] is ours["w"]
    copied = ours.copy()
    assert list(copied) == list(ours) and copied["b"] is ours["b"]
    ours |= ParameterDict({"k": tg.ones(2)})
    theirs |= torch.nn.ParameterDict({"k": torch.ones(2)})
    _same_repr(ours, theirs)
    fresh = ours.fromkeys(["p", "q"], 0.5)
    assert list(fresh.items()) == list(theirs.fromkeys(["p", "q"], 0.5).items())

    with pytest.raises(TypeError, match="not a string"):
        ours[1]
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        ours(1)
    ours.clear()
    theirs.clear()
    assert repr(ours) == repr(theirs) == "ParameterDict()"
    assert list(ours.named_parameters()) == []
    with pytest.raises(KeyError):
        ours.popitem()
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        ParameterDict([("a", 1, 2)])
