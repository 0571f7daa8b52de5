"""``tg.nn.functional`` and ``tg.special`` against PyTorch, in float64 and in float32.

Every function runs on tensors that require grad in both libraries, on the same inputs;
the values, and the gradients of ``<out, v>`` for a random ``v``, must agree within the
rounding of the dtype. Tests of behaviour PyTorch defines beyond the numbers (errors, warnings,
in-place updates, random masks) follow the table, and the special functions' own
approximations are checked against SciPy (and mpmath where it is installed).
"""

from __future__ import annotations

import doctest
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.special as tsp
from tapegrad.nn import functional as F
from tapegrad.ops import special as ops_special

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

DTYPES = (np.float64, np.float32)
#: (rtol, atol relative to the largest magnitude) by dtype.
TOL = {np.float64: (1e-10, 1e-12), np.float32: (2e-5, 2e-6)}


class Diff:
    """A float input that requires grad in both libraries."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = np.asarray(value)


class Const:
    """An array input that does not require grad (targets, indices, running statistics)."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = np.asarray(value)


def _ours(a: Any, dtype: Any) -> Any:
    if isinstance(a, Diff):
        return tg.tensor(a.value.astype(dtype), requires_grad=True)
    if isinstance(a, Const):
        v = a.value.astype(dtype) if a.value.dtype.kind == "f" else a.value
        return tg.tensor(v)
    return a


def _theirs(a: Any, dtype: Any) -> Any:
    if isinstance(a, Diff):
        return torch.tensor(a.value.astype(dtype), requires_grad=True)
    if isinstance(a, Const):
        v = a.value.astype(dtype) if a.value.dtype.kind == "f" else a.value
        return torch.tensor(v)
    return a


def _close(got: np.ndarray, want: np.ndarray, dtype: Any, what: str, scale: float = 1.0) -> None:
    rtol, atol = TOL[dtype]
    big = float(np.max(np.abs(want), initial=0.0))
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(
        got, want, rtol=rtol * scale, atol=atol * scale * (1 + big), err_msg=what
    )


def compare(
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    args: list[Any],
    dtype: Any,
    seed: int = 0,
    scale: float = 1.0,
) -> None:
    """Values and gradients of ``ours(*args)`` and ``theirs(*args)`` agree."""
    a_ours = [_ours(a, dtype) for a in args]
    a_theirs = [_theirs(a, dtype) for a in args]
    out = ours(*a_ours)
    ref = theirs(*a_theirs)
    outs = out if isinstance(out, tuple) else (out,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    for o, r in zip(outs, refs, strict=True):
        assert o.dtype == np.dtype(str(r.dtype).replace("torch.", "")), (o.dtype, r.dtype)
        _close(o.detach().numpy(), r.detach().numpy(), dtype, "value", scale)
    o, r = outs[0], refs[0]
    if not r.requires_grad:
        return
    v = np.random.default_rng(seed).standard_normal(r.shape).astype(dtype)
    (o * tg.tensor(v)).sum().backward()
    (r * torch.tensor(v)).sum().backward()
    for i, (ao, at) in enumerate(zip(a_ours, a_theirs, strict=True)):
        if isinstance(args[i], Diff):
            assert ao.grad is not None, f"argument {i} got no gradient"
            assert ao.grad.dtype == np.dtype(dtype)
            _close(ao.grad.numpy(), at.grad.numpy(), dtype, f"gradient of argument {i}", scale)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _x(*shape: int, seed: int = 0, lo: float = -3.0, hi: float = 3.0) -> Diff:
    return Diff(_rng(seed).uniform(lo, hi, shape))


def _same(name: str, **kw: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Our function and PyTorch's of the same name, with the same keyword arguments."""
    ours = getattr(F, name)
    theirs = getattr(TF, name)
    return (lambda *a: ours(*a, **kw)), (lambda *a: theirs(*a, **kw))


def _special(name: str, **kw: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    ours = getattr(tsp, name)
    theirs = getattr(torch.special, name)
    return (lambda *a: ours(*a, **kw)), (lambda *a: theirs(*a, **kw))


def _norm(shape: tuple[int, ...], **kw: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``layer_norm`` with ``normalized_shape`` fixed (weight and bias stay positional)."""
    return (
        (lambda x, *wb: F.layer_norm(x, shape, *wb, **kw)),
        (lambda x, *wb: TF.layer_norm(x, shape, *wb, **kw)),
    )


def _labels(n: int, c: int, seed: int = 1, ignore: int | None = None) -> Const:
    t = _rng(seed).integers(0, c, n)
    if ignore is not None:
        t[1] = ignore
    return Const(t)


def _probs(*shape: int, seed: int = 2) -> Const:
    p = _rng(seed).random(shape) + 0.1
    return Const(p / p.sum(axis=1, keepdims=True))


# (id, (ours, theirs), args builder); arguments are built fresh for each dtype.
CASES: list[tuple[str, tuple[Callable[..., Any], Callable[..., Any]], Callable[[], list[Any]]]]
CASES = [
    # ---------------------------------------------------------------- activations
    ("relu", _same("relu"), lambda: [_x(3, 4)]),
    ("relu6", _same("relu6"), lambda: [_x(3, 4, lo=-2, hi=8)]),
    ("hardtanh", _same("hardtanh", min_val=-0.5, max_val=2.0), lambda: [_x(3, 4)]),
    ("leaky_relu", _same("leaky_relu", negative_slope=0.2), lambda: [_x(3, 4)]),
    ("elu", _same("elu"), lambda: [_x(3, 4)]),
    ("elu_alpha", _same("elu", alpha=0.3), lambda: [_x(3, 4)]),
    ("elu_large", _same("elu"), lambda: [_x(5, lo=50, hi=100)]),
    ("selu", _same("selu"), lambda: [_x(3, 4)]),
    ("celu", _same("celu", alpha=1.5), lambda: [_x(3, 4)]),
    ("gelu", _same("gelu"), lambda: [_x(3, 4, lo=-6, hi=6)]),
    ("gelu_tanh", _same("gelu", approximate="tanh"), lambda: [_x(3, 4, lo=-6, hi=6)]),
    ("silu", _same("silu"), lambda: [_x(3, 4)]),
    ("mish", _same("mish"), lambda: [_x(3, 4)]),
    ("sigmoid", _same("sigmoid"), lambda: [_x(3, 4, lo=-30, hi=30)]),
    ("logsigmoid", _same("logsigmoid"), lambda: [_x(3, 4, lo=-30, hi=30)]),
    ("tanh", _same("tanh"), lambda: [_x(3, 4)]),
    ("softsign", _same("softsign"), lambda: [_x(3, 4)]),
    ("softplus", _same("softplus"), lambda: [_x(3, 4, lo=-30, hi=30)]),
    ("softplus_beta", _same("softplus", beta=2.0, threshold=5.0), lambda: [_x(3, 4)]),
    ("softmax", _same("softmax", dim=1), lambda: [_x(3, 4)]),
    ("softmax_dim0", _same("softmax", dim=0), lambda: [_x(3, 4, 2)]),
    ("softmin", _same("softmin", dim=-1), lambda: [_x(3, 4)]),
    ("log_softmax", _same("log_softmax", dim=1), lambda: [_x(3, 4, lo=-50, hi=50)]),
    # ---------------------------------------------------------------- linear, padding
    ("linear", _same("linear"), lambda: [_x(5, 3), _x(4, 3, seed=1), _x(4, seed=2)]),
    ("linear_nobias", _same("linear"), lambda: [_x(2, 5, 3), _x(4, 3, seed=1)]),
    ("pad_constant", _same("pad", pad=(1, 2, 0, 1), value=0.5), lambda: [_x(2, 3, 4)]),
    ("pad_crop", _same("pad", pad=(-1, 2, 1, -1)), lambda: [_x(2, 3, 4)]),
    ("pad_reflect", _same("pad", pad=(2, 3, 1, 2), mode="reflect"), lambda: [_x(1, 2, 3, 4)]),
    ("pad_reflect1d", _same("pad", pad=(2, 1), mode="reflect"), lambda: [_x(2, 4)]),
    ("pad_replicate", _same("pad", pad=(2, 0, 3, 1), mode="replicate"), lambda: [_x(2, 3, 4)]),
    (
        "pad_replicate3d",
        _same("pad", pad=(1, 0, 2, 1, 0, 1), mode="replicate"),
        lambda: [_x(1, 1, 2, 3, 2)],
    ),
    ("pad_circular", _same("pad", pad=(3, 1, 2, 2), mode="circular"), lambda: [_x(1, 1, 2, 3)]),
    # ---------------------------------------------------------------- convolutions
    (
        "conv1d",
        _same("conv1d", stride=2, padding=1),
        lambda: [_x(2, 3, 9), _x(4, 3, 3, seed=1), _x(4, seed=2)],
    ),
    (
        "conv1d_same_dilated",
        _same("conv1d", padding="same", dilation=2),
        lambda: [_x(2, 2, 7), _x(3, 2, 4, seed=1)],
    ),
    ("conv2d", _same("conv2d"), lambda: [_x(2, 3, 6, 5), _x(4, 3, 3, 2, seed=1), _x(4, seed=2)]),
    (
        "conv2d_stride_pad",
        _same("conv2d", stride=(2, 3), padding=(1, 2)),
        lambda: [_x(2, 3, 7, 8), _x(4, 3, 3, 3, seed=1), _x(4, seed=2)],
    ),
    (
        "conv2d_dilation_groups",
        _same("conv2d", dilation=(2, 1), groups=2, padding=1),
        lambda: [_x(1, 4, 7, 6), _x(6, 2, 3, 2, seed=1), _x(6, seed=2)],
    ),
    (
        "conv2d_depthwise",
        _same("conv2d", groups=3, padding="same"),
        lambda: [_x(2, 3, 5, 5), _x(6, 1, 3, 3, seed=1)],
    ),
    (
        "conv2d_same_even",
        _same("conv2d", padding="same"),
        lambda: [_x(1, 2, 5, 6), _x(3, 2, 2, 4, seed=1), _x(3, seed=2)],
    ),
    (
        "conv2d_valid_unbatched",
        _same("conv2d", padding="valid"),
        lambda: [_x(2, 5, 5), _x(3, 2, 3, 3, seed=1)],
    ),
    (
        "conv2d_1x1_strided",
        _same("conv2d", stride=2),
        lambda: [_x(2, 4, 5, 5), _x(3, 4, 1, 1, seed=1), _x(3, seed=2)],
    ),
    (
        "conv3d",
        _same("conv3d", padding=1, stride=(1, 2, 1)),
        lambda: [_x(1, 2, 3, 4, 3), _x(2, 2, 2, 2, 2, seed=1), _x(2, seed=2)],
    ),
    (
        "conv_transpose1d",
        _same("conv_transpose1d", stride=3, padding=1, output_padding=2),
        lambda: [_x(2, 3, 4), _x(3, 2, 3, seed=1), _x(2, seed=2)],
    ),
    (
        "conv_transpose2d",
        _same("conv_transpose2d", stride=2, padding=1, output_padding=1),
        lambda: [_x(2, 3, 4, 3), _x(3, 2, 3, 3, seed=1), _x(2, seed=2)],
    ),
    (
        "conv_transpose2d_groups_dilation",
        _same("conv_transpose2d", stride=(1, 2), groups=2, dilation=(2, 1)),
        lambda: [_x(1, 4, 3, 3), _x(4, 3, 2, 3, seed=1), _x(6, seed=2)],
    ),
    # ---------------------------------------------------------------- pooling
    ("max_pool2d", _same("max_pool2d", kernel_size=2), lambda: [_x(2, 3, 6, 5)]),
    (
        "max_pool2d_overlap_pad",
        _same("max_pool2d", kernel_size=3, stride=2, padding=1),
        lambda: [_x(2, 2, 7, 6)],
    ),
    (
        "max_pool2d_ceil_dilation",
        _same("max_pool2d", kernel_size=(2, 3), stride=(2, 1), dilation=(2, 1), ceil_mode=True),
        lambda: [_x(1, 2, 8, 7)],
    ),
    (
        "max_pool2d_indices",
        _same("max_pool2d", kernel_size=2, return_indices=True),
        lambda: [_x(2, 2, 4, 5)],
    ),
    (
        "max_pool2d_ties",
        _same("max_pool2d", kernel_size=2, stride=1),
        lambda: [Diff(np.round(_rng(3).uniform(0, 2, (1, 2, 5, 5))))],
    ),
    (
        "max_pool2d_unbatched",
        _same("max_pool2d", kernel_size=3, stride=2, ceil_mode=True),
        lambda: [_x(2, 6, 6)],
    ),
    ("max_pool1d", _same("max_pool1d", kernel_size=3, stride=2, padding=1), lambda: [_x(2, 3, 9)]),
    ("avg_pool2d", _same("avg_pool2d", kernel_size=2), lambda: [_x(2, 3, 6, 5)]),
    (
        "avg_pool2d_pad_ceil",
        _same("avg_pool2d", kernel_size=3, stride=2, padding=1, ceil_mode=True),
        lambda: [_x(2, 2, 6, 7)],
    ),
    (
        "avg_pool2d_exclude_pad",
        _same(
            "avg_pool2d",
            kernel_size=3,
            stride=2,
            padding=1,
            ceil_mode=True,
            count_include_pad=False,
        ),
        lambda: [_x(2, 2, 6, 7)],
    ),
    (
        "avg_pool2d_divisor",
        _same("avg_pool2d", kernel_size=(2, 3), divisor_override=4),
        lambda: [_x(1, 2, 4, 6)],
    ),
    ("avg_pool1d", _same("avg_pool1d", kernel_size=3, stride=2, padding=1), lambda: [_x(2, 3, 8)]),
    # ---------------------------------------------------------------- embeddings, norms
    ("embedding", _same("embedding"), lambda: [Const(np.array([[0, 2, 4], [4, 4, 1]])), _x(5, 3)]),
    (
        "embedding_padding",
        _same("embedding", padding_idx=4),
        lambda: [Const(np.array([[0, 2, 4], [4, 4, 1]])), _x(5, 3)],
    ),
    ("layer_norm", _norm((4,)), lambda: [_x(3, 4), _x(4, seed=1), _x(4, seed=2)]),
    ("layer_norm_2d", _norm((3, 4)), lambda: [_x(2, 3, 4), _x(3, 4, seed=1), _x(3, 4, seed=2)]),
    ("layer_norm_plain", _norm((5,), eps=1e-3), lambda: [_x(2, 5)]),
    ("normalize", _same("normalize"), lambda: [_x(3, 4)]),
    ("normalize_p1", _same("normalize", p=1.0, dim=0), lambda: [_x(3, 4)]),
    ("normalize_p3", _same("normalize", p=3.0, dim=-1), lambda: [_x(3, 4)]),
    # ---------------------------------------------------------------- regression losses
    ("mse_loss", _same("mse_loss"), lambda: [_x(3, 4), _x(3, 4, seed=1)]),
    (
        "mse_loss_sum",
        _same("mse_loss", reduction="sum"),
        lambda: [_x(3, 4), Const(_x(3, 4, seed=1).value)],
    ),
    (
        "mse_loss_weight",
        _same("mse_loss"),
        lambda: [
            _x(3, 4),
            _x(3, 4, seed=1),
            None,
            None,
            "mean",
            Const(_x(3, 4, seed=2, lo=0, hi=1).value),
        ],
    ),
    (
        "l1_loss_weight_sum",
        _same("l1_loss"),
        lambda: [
            _x(3, 4),
            _x(3, 4, seed=1),
            None,
            None,
            "sum",
            Const(_x(3, 4, seed=2, lo=0, hi=1).value),
        ],
    ),
    ("l1_loss", _same("l1_loss"), lambda: [_x(3, 4), _x(3, 4, seed=1)]),
    ("l1_loss_none", _same("l1_loss", reduction="none"), lambda: [_x(3, 4), _x(3, 4, seed=1)]),
    ("smooth_l1_loss", _same("smooth_l1_loss", beta=0.5), lambda: [_x(3, 4), _x(3, 4, seed=1)]),
    (
        "smooth_l1_loss_zero_beta",
        _same("smooth_l1_loss", beta=0.0),
        lambda: [_x(3, 4), _x(3, 4, seed=1)],
    ),
    ("huber_loss", _same("huber_loss", delta=0.7), lambda: [_x(3, 4), _x(3, 4, seed=1)]),
    # ---------------------------------------------------------------- classification losses
    ("cross_entropy", _same("cross_entropy"), lambda: [_x(5, 4), _labels(5, 4)]),
    (
        "cross_entropy_weight_ignore",
        _same("cross_entropy", ignore_index=2),
        lambda: [_x(5, 4), _labels(5, 4, ignore=2), Const(np.array([1.0, 2.0, 0.5, 1.5]))],
    ),
    (
        "cross_entropy_smoothing",
        _same("cross_entropy", label_smoothing=0.15),
        lambda: [_x(5, 4), _labels(5, 4)],
    ),
    (
        "cross_entropy_smoothing_weight_ignore",
        _same("cross_entropy", label_smoothing=0.2, ignore_index=-100),
        lambda: [_x(5, 4), _labels(5, 4, ignore=-100), Const(np.array([1.0, 2.0, 0.5, 1.5]))],
    ),
    (
        "cross_entropy_smoothing_sum",
        _same("cross_entropy", label_smoothing=0.3, reduction="sum"),
        lambda: [_x(5, 4), _labels(5, 4)],
    ),
    (
        "cross_entropy_smoothing_none",
        _same("cross_entropy", label_smoothing=0.3, reduction="none"),
        lambda: [_x(5, 4), _labels(5, 4, ignore=-100)],
    ),
    (
        "cross_entropy_nd",
        _same("cross_entropy"),
        lambda: [_x(2, 3, 4, 2), Const(_rng(4).integers(0, 3, (2, 4, 2)))],
    ),
    (
        "cross_entropy_nd_none",
        _same("cross_entropy", reduction="none", label_smoothing=0.1),
        lambda: [_x(2, 3, 4), Const(_rng(4).integers(0, 3, (2, 4)))],
    ),
    ("cross_entropy_1d", _same("cross_entropy"), lambda: [_x(4), Const(np.array(2))]),
    ("cross_entropy_probs", _same("cross_entropy"), lambda: [_x(5, 4), _probs(5, 4)]),
    (
        "cross_entropy_probs_smoothing_weight",
        _same("cross_entropy", label_smoothing=0.2),
        lambda: [_x(5, 4), _probs(5, 4), Const(np.array([1.0, 2.0, 0.5, 1.5]))],
    ),
    (
        "cross_entropy_probs_none",
        _same("cross_entropy", reduction="none"),
        lambda: [_x(2, 4, 3), _probs(2, 4, 3)],
    ),
    ("nll_loss", _same("nll_loss"), lambda: [_x(5, 4), _labels(5, 4)]),
    (
        "nll_loss_weight_sum",
        _same("nll_loss", reduction="sum"),
        lambda: [_x(5, 4), _labels(5, 4), Const(np.array([1.0, 2.0, 0.5, 1.5]))],
    ),
    (
        "nll_loss_2d",
        _same("nll_loss", ignore_index=1),
        lambda: [_x(2, 3, 4, 2), Const(_rng(4).integers(0, 3, (2, 4, 2)))],
    ),
    ("nll_loss_1d_none", _same("nll_loss", reduction="none"), lambda: [_x(4), Const(np.array(1))]),
    (
        "binary_cross_entropy",
        _same("binary_cross_entropy"),
        lambda: [_x(3, 4, lo=0.01, hi=0.99), _x(3, 4, seed=1, lo=0, hi=1)],
    ),
    (
        "binary_cross_entropy_weight",
        _same("binary_cross_entropy", reduction="sum"),
        lambda: [
            _x(3, 4, lo=0.01, hi=0.99),
            Const(_x(3, 4, seed=1, lo=0, hi=1).value),
            Const(np.array([0.5, 1.0, 2.0, 1.5])),
        ],
    ),
    (
        "binary_cross_entropy_edges",
        _same("binary_cross_entropy", reduction="none"),
        lambda: [
            Diff(np.array([0.0, 1.0, 0.0, 1.0, 0.5])),
            Const(np.array([0.0, 1.0, 1.0, 0.0, 0.3])),
        ],
    ),
    (
        "bce_with_logits",
        _same("binary_cross_entropy_with_logits"),
        lambda: [_x(3, 4), _x(3, 4, seed=1, lo=0, hi=1)],
    ),
    (
        "bce_with_logits_pos_weight",
        _same("binary_cross_entropy_with_logits"),
        lambda: [
            _x(3, 4),
            Const(_x(3, 4, seed=1, lo=0, hi=1).value),
            Const(np.array([0.5, 1.0, 2.0, 1.5])),
            None,
            None,
            "sum",
            Const(np.array([2.0, 1.0, 0.5, 3.0])),
        ],
    ),
    (
        "kl_div",
        _same("kl_div", reduction="batchmean"),
        lambda: [Diff(np.log(_probs(3, 4).value)), _probs(3, 4, seed=5)],
    ),
    (
        "kl_div_log_target",
        _same("kl_div", reduction="sum", log_target=True),
        lambda: [Diff(np.log(_probs(3, 4).value)), Diff(np.log(_probs(3, 4, seed=5).value))],
    ),
    (
        "kl_div_target_grad",
        _same("kl_div", reduction="none"),
        lambda: [Diff(np.log(_probs(3, 4).value)), Diff(_probs(3, 4, seed=5).value)],
    ),
    # ---------------------------------------------------------------- tg.special
    ("special_erf", _special("erf"), lambda: [_x(3, 4)]),
    ("special_erfc", _special("erfc"), lambda: [_x(3, 4, lo=-5, hi=9)]),
    ("special_erfinv", _special("erfinv"), lambda: [_x(3, 4, lo=-0.99, hi=0.99)]),
    ("special_expit", _special("expit"), lambda: [_x(3, 4, lo=-20, hi=20)]),
    ("special_logit", _special("logit"), lambda: [_x(3, 4, lo=0.01, hi=0.99)]),
    ("special_logit_eps", _special("logit", eps=0.2), lambda: [_x(3, 4, lo=0.01, hi=0.99)]),
    ("special_ndtr", _special("ndtr"), lambda: [_x(3, 4, lo=-8, hi=4)]),
    ("special_xlogy", _special("xlogy"), lambda: [_x(3, 4), _x(3, 4, seed=1, lo=0.1, hi=3)]),
    ("special_logsumexp", _special("logsumexp", dim=1), lambda: [_x(3, 4)]),
    ("special_softmax", _special("softmax", dim=0), lambda: [_x(3, 4)]),
    ("special_log_softmax", _special("log_softmax", dim=1), lambda: [_x(3, 4)]),
    ("special_exp2", _special("exp2"), lambda: [_x(3, 4)]),
    ("special_expm1", _special("expm1"), lambda: [_x(3, 4)]),
    ("special_log1p", _special("log1p"), lambda: [_x(3, 4, lo=-0.9)]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name, fns, make", CASES, ids=[c[0] for c in CASES])
def test_matches_pytorch(name: str, fns: Any, make: Any, dtype: Any) -> None:
    ours, theirs = fns
    compare(ours, theirs, make(), dtype)


# ---------------------------------------------------------------------- batch norm


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (2, 3, 4, 4)])
def test_batch_norm_training_and_running_stats_match_pytorch(
    shape: tuple[int, ...], dtype: Any
) -> None:
    c = shape[1]
    rm, rv = _rng(7).random(c), _rng(8).random(c) + 0.5

    def ours(x: Any, w: Any, b: Any, m: Any, v: Any) -> Any:
        return F.batch_norm(x, m, v, w, b, training=True, momentum=0.3)

    def theirs(x: Any, w: Any, b: Any, m: Any, v: Any) -> Any:
        return TF.batch_norm(x, m, v, w, b, training=True, momentum=0.3)

    args = [_x(*shape), _x(c, seed=1), _x(c, seed=2), Const(rm), Const(rv)]
    a_ours = [_ours(a, dtype) for a in args]
    a_theirs = [_theirs(a, dtype) for a in args]
    compare(ours, theirs, args, dtype)
    # The running statistics were updated in place, identically.
    ours(*a_ours)
    theirs(*a_theirs)
    _close(a_ours[3].numpy(), a_theirs[3].numpy(), dtype, "running_mean")
    _close(a_ours[4].numpy(), a_theirs[4].numpy(), dtype, "running_var")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_batch_norm_eval_matches_pytorch(dtype: Any) -> None:
    rm, rv = Const(_rng(7).random(3)), Const(_rng(8).random(3) + 0.5)
    compare(
        lambda x, w, b, m, v: F.batch_norm(x, m, v, w, b),
        lambda x, w, b, m, v: TF.batch_norm(x, m, v, w, b),
        [_x(2, 3, 4), _x(3, seed=1), _x(3, seed=2), rm, rv],
        dtype,
    )
    compare(
        lambda x, m, v: F.batch_norm(x, m, v, eps=0.1),
        lambda x, m, v: TF.batch_norm(x, m, v, eps=0.1),
        [_x(4, 3), rm, rv],
        dtype,
    )


def test_batch_norm_errors_match_pytorch() -> None:
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(tg.ones(4, 3), None, None)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(tg.ones(1, 3), None, None, training=True)
    out = F.batch_norm(tg.randn(4, 3), None, None, training=True)
    assert out.shape == (4, 3)


def test_batch_norm_modules_match_pytorch_over_steps() -> None:
    from tapegrad.nn.layers import BatchNorm1d, BatchNorm2d

    for ours, theirs, shape in (
        (BatchNorm2d(3, momentum=None), torch.nn.BatchNorm2d(3, momentum=None), (4, 3, 2, 2)),
        (BatchNorm1d(3, affine=False), torch.nn.BatchNorm1d(3, affine=False), (5, 3)),
    ):
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for step in range(3):
            x = _rng(step).standard_normal(shape).astype(np.float32)
            y = ours(tg.tensor(x))
            z = theirs(torch.tensor(x))
            _close(y.detach().numpy(), z.detach().numpy(), np.float32, f"step {step}")
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(
                ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key
            )
        ours.eval()
        theirs.eval()
        x = _rng(9).standard_normal(shape).astype(np.float32)
        _close(
            ours(tg.tensor(x)).detach().numpy(),
            theirs(torch.tensor(x)).detach().numpy(),
            np.float32,
            "eval",
        )
    with pytest.raises(ValueError, match="expected 4D input"):
        BatchNorm2d(3)(tg.ones(2, 3))


# ---------------------------------------------------------------------- beyond the numbers


def test_grad_fn_names_match_pytorch() -> None:
    x = tg.randn(2, 3, 6, 6, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    names = {
        "conv2d": F.conv2d(x, w, tg.zeros(4)),
        "max_pool2d": F.max_pool2d(x, 2),
        "avg_pool2d": F.avg_pool2d(x, 2),
        "pad": F.pad(x, (1, 1)),
        "pad_reflect": F.pad(x, (1, 1, 1, 1), mode="reflect"),
        "bce": F.binary_cross_entropy(x.sigmoid(), tg.rand(2, 3, 6, 6)),
        "erf": tsp.erf(x),
        "erfc": tsp.erfc(x),
        "nll": F.nll_loss(F.log_softmax(x[:, :, 0, 0], 1), tg.tensor([0, 1])),
    }
    tx = torch.randn(2, 3, 6, 6, requires_grad=True)
    tw = torch.randn(4, 3, 3, 3, requires_grad=True)
    theirs = {
        "conv2d": TF.conv2d(tx, tw, torch.zeros(4)),
        "max_pool2d": TF.max_pool2d(tx, 2),
        "avg_pool2d": TF.avg_pool2d(tx, 2),
        "pad": TF.pad(tx, (1, 1)),
        "pad_reflect": TF.pad(tx, (1, 1, 1, 1), mode="reflect"),
        "bce": TF.binary_cross_entropy(tx.sigmoid(), torch.rand(2, 3, 6, 6)),
        "erf": torch.special.erf(tx),
        "erfc": torch.special.erfc(tx),
        "nll": TF.nll_loss(TF.log_softmax(tx[:, :, 0, 0], 1), torch.tensor([0, 1])),
    }
    for key, t in names.items():
        want = theirs[key].grad_fn.name()
        if key == "pad_reflect" and not F._HAS_NAMED_GETITEM:
            continue  # the node is named IndexBackward0 where getitem takes no name
        assert t.grad_fn.name() == want, key


def test_second_derivatives_match_pytorch() -> None:
    """Gradients of gradients (create_graph=True) through convolution, pooling, gelu and the
    losses equal PyTorch's."""
    rng = _rng(11)
    x = rng.standard_normal((2, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    v = rng.standard_normal((2, 2, 6, 6))

    def loss(lib: Any, ff: Any, x: Any, w: Any) -> Any:
        h = ff.conv2d(x, w, padding=1, stride=2)
        h = ff.gelu(h)
        h = ff.max_pool2d(h, 2, stride=1)
        h = ff.avg_pool2d(ff.pad(h, (1, 0, 0, 1), mode="reflect"), 2)
        return ff.cross_entropy(h.reshape(2, -1), lib.tensor([0, 2]), label_smoothing=0.1)

    xo, wo = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    go = tg.autograd.grad(loss(tg, F, xo, wo), [xo, wo], create_graph=True)
    gt = torch.autograd.grad(loss(torch, TF, xt, wt), [xt, wt], create_graph=True)
    ho = tg.autograd.grad((go[0] * tg.tensor(v)).sum(), [xo, wo])
    ht = torch.autograd.grad((gt[0] * torch.tensor(v)).sum(), [xt, wt])
    for a, b in zip(go + ho, gt + ht, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_functions_take_arrays_inside_transforms() -> None:
    x = _rng(0).standard_normal((2, 3, 5, 5))
    w = _rng(1).standard_normal((4, 3, 3, 3))

    def f(x: np.ndarray, w: np.ndarray) -> Any:
        h = F.relu(F.conv2d(x, w, padding=1))
        h = F.max_pool2d(h, 2)
        return F.cross_entropy(h.reshape(2, -1)[:, :5], np.array([1, 4]))

    value = f(x, w)
    assert isinstance(value, np.ndarray) and value.shape == ()
    gx, gw = tg.grad(f, argnums=(0, 1))(x, w)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    h = TF.max_pool2d(TF.relu(TF.conv2d(xt, wt, padding=1)), 2)
    TF.cross_entropy(h.reshape(2, -1)[:, :5], torch.tensor([1, 4])).backward()
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert isinstance(F.gelu(np.array(1.0)), np.ndarray)
    assert isinstance(tsp.erf(np.array(0.5)), np.ndarray)


def test_vmap_per_example_gradients_of_a_cnn() -> None:
    """Per-example gradients through conv2d, max_pool2d and the losses: vmap of grad equals
    a loop of grads."""
    rng = _rng(3)
    xs = rng.standard_normal((3, 1, 6, 6))
    ys = np.array([0, 2, 1])
    w = rng.standard_normal((2, 1, 3, 3))

    def loss(w: Any, x: Any, y: Any) -> Any:
        h = F.gelu(F.conv2d(x[None], w, padding=1))
        h = F.max_pool2d(h, 2).reshape(1, -1)[:, :3]
        return F.cross_entropy(h, y[None])

    per = tg.vmap(tg.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    loop = np.stack([tg.grad(loss)(w, xs[i], ys[i]) for i in range(3)])
    np.testing.assert_allclose(per, loop, rtol=1e-12, atol=1e-12)


def test_vmap_over_kernels_and_special_functions() -> None:
    rng = _rng(4)
    x = rng.standard_normal((2, 2, 5))
    ws = rng.standard_normal((3, 4, 2, 2))
    out = tg.vmap(lambda w: F.conv1d(x, w, stride=2), in_axes=0)(ws)
    loop = np.stack([F.conv1d(x, w, stride=2) for w in ws])
    np.testing.assert_allclose(out, loop, rtol=1e-13)
    p = rng.random((3, 4)) * 0.9 + 0.05
    y = rng.random((3, 4))
    out = tg.vmap(lambda a, b: F.binary_cross_entropy(a, b))(p, y)
    loop = np.stack([F.binary_cross_entropy(a, b) for a, b in zip(p, y)])
    np.testing.assert_allclose(out, loop, rtol=1e-13)
    np.testing.assert_allclose(tg.vmap(tsp.erf)(y), tsp.erf(y))


def test_inplace_activations_follow_pytorch() -> None:
    x = tg.tensor([-1.0, 2.0])
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0]
    leaf = tg.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.relu(leaf, inplace=True)
    h = leaf * 2.0
    out = F.leaky_relu(h, 0.1, inplace=True)
    assert out is h
    out.sum().backward()
    assert leaf.grad.tolist() == pytest.approx([0.2, 2.0])
    a = np.array([-1.0, 3.0])
    assert F.elu(a, inplace=True) is a and a[1] == 3.0


def test_dropout_is_reproducible_and_scaled() -> None:
    x = tg.ones(1000, requires_grad=True)
    tg.manual_seed(5)
    a = F.dropout(x, 0.3)
    tg.manual_seed(5)
    b = F.dropout(x, 0.3)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    values = set(np.unique(a.detach().numpy()).tolist())
    assert values == {0.0, np.float32(1 / 0.7)}
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a.detach().numpy())
    assert F.dropout(x, 0.3, training=False) is x
    assert not F.dropout(x, 1.0).detach().numpy().any()
    arr = np.ones((3, 4))
    assert isinstance(F.dropout(arr, 0.5), np.ndarray)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


def test_embedding_max_norm_renormalises_like_pytorch() -> None:
    w = _rng(0).standard_normal((5, 3)).astype(np.float32) * 3
    idx = np.array([[0, 2], [2, 4]])
    ours = tg.tensor(w.copy(), requires_grad=True)
    theirs = torch.tensor(w.copy(), requires_grad=True)
    out = F.embedding(tg.tensor(idx), ours, max_norm=1.5)
    ref = TF.embedding(torch.tensor(idx), theirs, max_norm=1.5)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)


def test_one_hot_matches_pytorch() -> None:
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(
        F.one_hot(tg.tensor(idx)).numpy(), TF.one_hot(torch.tensor(idx)).numpy()
    )
    assert F.one_hot(tg.tensor(idx), 6).shape == (2, 2, 6)
    assert F.one_hot(tg.tensor(idx)).dtype == np.int64


def test_max_pool_indices_match_pytorch() -> None:
    x = np.round(_rng(2).uniform(0, 3, (2, 3, 7, 6))).astype(np.float32)  # many ties
    for kw in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": (2, 2), "dilation": 2, "ceil_mode": True},
    ):
        out, idx = F.max_pool2d(tg.tensor(x), return_indices=True, **kw)
        ref, ridx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
        np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
        assert not idx.requires_grad


def test_loss_arguments_follow_pytorch() -> None:
    x, t = tg.randn(3, 4), tg.randn(3, 4)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        legacy = F.mse_loss(x, t, size_average=False)
    np.testing.assert_allclose(legacy.numpy(), F.mse_loss(x, t, reduction="sum").numpy())
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, tg.randn(4))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(x, t, reduction="avg")
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(x, t, weight=tg.ones(4))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(x, tg.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x, t.sigmoid())
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(x.sigmoid(), tg.rand(4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        F.softmax(tg.ones(2, 3))
    with pytest.raises(RuntimeError, match="label_smoothing must be between"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]), label_smoothing=1.5)
    softmax64 = F.softmax(tg.ones(2, 3), dim=1, dtype=tg.float64)
    assert softmax64.dtype == np.float64


def test_conv_errors_follow_pytorch() -> None:
    x = tg.ones(1, 4, 5, 5)
    with pytest.raises(RuntimeError, match="expected input.* to have 6 channels"):
        F.conv2d(x, tg.ones(2, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        F.conv2d(x, tg.ones(2, 4, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input"):
        F.conv2d(x, tg.ones(2, 4, 6, 6))
    with pytest.raises(RuntimeError, match="Expected 3D .unbatched. or 4D .batched. input"):
        F.conv2d(tg.ones(5, 5), tg.ones(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(tg.ones(2, 5, 5), (5, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D"):
        F.pad(x, (1, 1), mode="replicate")


def test_gelu_module_and_exact_form() -> None:
    x = np.linspace(-5, 5, 11).astype(np.float32)
    _close(
        tg.nn.GELU()(tg.tensor(x)).numpy(),
        torch.nn.GELU()(torch.tensor(x)).numpy(),
        np.float32,
        "GELU",
    )
    # The exact form through erfc keeps its relative accuracy in the negative tail.
    far = np.array([-8.0, -6.0, -4.0])
    want = (
        far * 0.5 * np.array([1.2441921148543568e-15, 1.973175290075396e-09, 6.334248366623985e-05])
    )  # erfc(-x / sqrt(2)) by mpmath
    np.testing.assert_allclose(F.gelu(far), want, rtol=1e-13)


def test_conv2d_module_init_repr_and_state_dict_follow_pytorch() -> None:
    from tapegrad.nn.layers import AvgPool2d, Conv1d, Conv2d, MaxPool2d

    for ours, theirs, shape in (
        (Conv2d(3, 6, 5), torch.nn.Conv2d(3, 6, 5), (2, 3, 9, 9)),
        (
            Conv2d(4, 8, (3, 2), stride=2, padding=1, dilation=(2, 1), groups=2, bias=False),
            torch.nn.Conv2d(
                4, 8, (3, 2), stride=2, padding=1, dilation=(2, 1), groups=2, bias=False
            ),
            (2, 4, 7, 7),
        ),
        (
            Conv2d(2, 2, 3, padding="same", padding_mode="reflect"),
            torch.nn.Conv2d(2, 2, 3, padding="same", padding_mode="reflect"),
            (2, 2, 6, 5),
        ),
        (
            Conv2d(2, 3, 3, padding=2, padding_mode="circular"),
            torch.nn.Conv2d(2, 3, 3, padding=2, padding_mode="circular"),
            (2, 2, 5, 5),
        ),
        (Conv1d(2, 3, 4, padding="valid"), torch.nn.Conv1d(2, 3, 4, padding="valid"), (2, 2, 7)),
        (
            MaxPool2d(3, stride=2, padding=1),
            torch.nn.MaxPool2d(3, stride=2, padding=1),
            (2, 2, 7, 7),
        ),
        (AvgPool2d(2), torch.nn.AvgPool2d(2), (2, 2, 7, 7)),
    ):
        assert repr(ours) == repr(theirs)
        state = ours.state_dict()
        assert list(state) == list(theirs.state_dict())
        theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
        x = _rng(0).standard_normal(shape).astype(np.float32)
        _close(
            ours(tg.tensor(x)).detach().numpy(),
            theirs(torch.tensor(x)).detach().numpy(),
            np.float32,
            repr(ours),
        )
    # PyTorch's initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
    tg.manual_seed(0)
    conv = Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound * (1 + 1e-6)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        Conv2d(3, 6, 3, padding_mode="mirror")


def test_small_cnn_trains_like_pytorch() -> None:
    """Three SGD steps of the same small CNN in both libraries give the same losses and
    weights (float64)."""
    from tapegrad.nn.layers import BatchNorm2d, Conv2d, MaxPool2d

    f64 = {"dtype": tg.float64}
    ours = tg.nn.Sequential(
        Conv2d(1, 4, 3, padding=1, **f64),
        BatchNorm2d(4, **f64),
        tg.nn.ReLU(),
        MaxPool2d(2),
        Conv2d(4, 6, 3, stride=2, groups=2, **f64),
        tg.nn.GELU(),
        tg.nn.Flatten(),
        tg.nn.Linear(6, 3, **f64),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=2, groups=2),
        torch.nn.GELU(),
        torch.nn.Flatten(),
        torch.nn.Linear(6, 3),
    ).double()
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    opt_o = tg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    rng = _rng(12)
    for _ in range(3):
        x = rng.standard_normal((4, 1, 8, 8))
        y = rng.integers(0, 3, 4)
        lo = F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y))
        lt = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-10)
        opt_o.zero_grad()
        opt_t.zero_grad()
        lo.backward()
        lt.backward()
        opt_o.step()
        opt_t.step()
    for (k, v), (_, u) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        np.testing.assert_allclose(v.numpy(), u.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


# ---------------------------------------------------------------------- special functions


@pytest.fixture
def own_approximations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the special functions use this library's approximations, as without SciPy."""
    monkeypatch.setattr(ops_special, "_LIBRARY", {"numpy": None})


GRID = np.concatenate(
    [
        np.linspace(-6.0, 6.0, 2001),
        np.array([0.0, -0.0, 0.4999999999, 0.5, -0.5, 1e-300, -1e-12, 26.0, 27.5, -27.5]),
    ]
)


def test_own_erf_approximations_match_scipy(own_approximations: None) -> None:
    import scipy.special as sps

    np.testing.assert_allclose(tsp.erf(GRID), sps.erf(GRID), rtol=4e-16, atol=1e-300)
    # SciPy's own erfc is off by hundreds of units in the last place in the tail (the mpmath
    # test below holds ours to a few).
    np.testing.assert_allclose(tsp.erfc(GRID), sps.erfc(GRID), rtol=1e-13, atol=1e-300)
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 2001), 1 - np.logspace(-15, -1, 50)])
    np.testing.assert_allclose(tsp.erfinv(y), sps.erfinv(y), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(tsp.erfinv(np.array([1.0, -1.0, 0.0])), [np.inf, -np.inf, 0.0])
    assert np.isnan(tsp.erfinv(np.array([1.5, np.nan]))).all()
    assert np.isnan(tsp.erf(np.array([np.nan]))).all()
    np.testing.assert_array_equal(tsp.erf(np.array([np.inf, -np.inf])), [1.0, -1.0])
    np.testing.assert_array_equal(tsp.erfc(np.array([np.inf, -np.inf])), [0.0, 2.0])
    f32 = tsp.erf(GRID.astype(np.float32))
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, sps.erf(GRID.astype(np.float32)), rtol=1e-7, atol=1e-37)


def test_own_erfc_is_accurate_in_the_far_tail(own_approximations: None) -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    xs = np.linspace(0.5, 26.5, 400)
    want = np.array([float(mpmath.erfc(mpmath.mpf(float(v)))) for v in xs])
    got = tsp.erfc(xs)
    assert np.max(np.abs(got - want) / want) < 4e-15


def test_own_approximations_differentiate(own_approximations: None) -> None:
    x = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    tg.testing.check_grads(tsp.erf, (x,), order=2)
    tg.testing.check_grads(tsp.erfc, (x,), order=2)
    tg.testing.check_grads(tsp.erfinv, (x / 4,), order=2)


def test_special_values_and_gradients_of_extremes_match_pytorch() -> None:
    x = np.array([-30.0, -6.0, 0.0, 6.0, 30.0])
    compare(tsp.erf, torch.special.erf, [Diff(x)], np.float64)
    compare(tsp.erfc, torch.special.erfc, [Diff(x)], np.float64)
    compare(tsp.ndtr, torch.special.ndtr, [Diff(x)], np.float64)


def test_doctests() -> None:
    import tapegrad.nn.activation as activation
    import tapegrad.nn.layers as layers
    import tapegrad.ops.conv as ops_conv
    import tapegrad.ops.nn as ops_nn

    for module in (F, tsp, ops_special, ops_conv, ops_nn, activation, layers):
        result = doctest.testmod(
            module,
            extraglobs={"np": np, "tg": tg, "F": F},
            optionflags=doctest.NORMALIZE_WHITESPACE,
        )
        assert result.failed == 0, module.__name__


def test_no_warnings_on_the_edges_of_bce() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.binary_cross_entropy(tg.tensor([0.0, 1.0]), tg.tensor([0.0, 1.0]))
    assert out.item() == 0.0
