"""Group and instance normalisation and adaptive pooling against PyTorch (float64): values,
gradients of inputs and parameters, backward node names and their ``next_functions``,
module reprs, parameter/buffer/state-dict names, running statistics, and error messages."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from graphs import node_tree

import tapegrad as tg
import tapegrad.nn.functional as tgF
from tapegrad.nn.layers import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    BatchNorm1d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
)

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
F = torch.nn.functional

RTOL = 1e-12
ATOL = 1e-12
RNG = np.random.default_rng(0)


def _close(ours: Any, theirs: Any) -> None:
    a = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    b = theirs.detach().numpy()
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def _leaves(arrays: list[np.ndarray | None]) -> tuple[list[Any], list[Any]]:
    ours = [None if a is None else tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _compare(
    program: Callable[..., Any], arrays: list[np.ndarray | None], depth: int = 2
) -> tuple[Any, Any]:
    """Run ``program(functional, *leaves)`` with both libraries; compare the values, the node
    trees and the gradients of every leaf."""
    ours_in, theirs_in = _leaves(arrays)
    ours = program(tgF, *ours_in)
    theirs = program(F, *theirs_in)
    _close(ours, theirs)
    assert node_tree(ours.grad_fn, depth) == node_tree(theirs.grad_fn, depth)
    cot = RNG.standard_normal(tuple(theirs.shape))
    ours.backward(tg.tensor(cot))
    theirs.backward(torch.tensor(cot))
    for a, b in zip(ours_in, theirs_in):
        if a is not None:
            _close(a.grad, b.grad)
    return ours, theirs


X3 = RNG.standard_normal((2, 6, 5))
X4 = RNG.standard_normal((2, 4, 3, 5))
W6, B6 = RNG.standard_normal(6), RNG.standard_normal(6)
W4, B4 = RNG.standard_normal(4), RNG.standard_normal(4)


# ------------------------------------------------------------------------------ functional


@pytest.mark.parametrize(
    ("x", "groups", "w", "b"),
    [
        (X3, 3, W6, B6),
        (X3, 2, None, None),
        (X3, 6, W6, None),
        (X4, 1, W4, B4),
        (X4, 4, W4, None),
        (RNG.standard_normal((3, 4)), 2, W4, B4),
    ],
)
def test_group_norm(x: np.ndarray, groups: int, w: Any, b: Any) -> None:
    _compare(lambda f, x, w, b: f.group_norm(x, groups, w, b, eps=1e-3), [x, w, b])


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("x", [X3, X4, RNG.standard_normal((1, 6, 4))], ids=["3d", "4d", "n1"])
def test_instance_norm(x: np.ndarray, affine: bool) -> None:
    c = x.shape[1]
    w, b = (RNG.standard_normal(c), RNG.standard_normal(c)) if affine else (None, None)
    # The view over batch_norm of PyTorch, three levels down.
    _compare(lambda f, x, w, b: f.instance_norm(x, None, None, w, b), [x, w, b], depth=3)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_running_stats(use_input_stats: bool) -> None:
    x = X4
    rm, rv = RNG.standard_normal(4), RNG.uniform(0.5, 2.0, 4)
    ours_rs = [tg.tensor(rm), tg.tensor(rv)]
    theirs_rs = [torch.tensor(rm), torch.tensor(rv)]
    ours_in, theirs_in = _leaves([x, W4, B4])
    ours = tgF.instance_norm(ours_in[0], *ours_rs, *ours_in[1:], use_input_stats, 0.3, 1e-4)
    theirs = F.instance_norm(theirs_in[0], *theirs_rs, *theirs_in[1:], use_input_stats, 0.3, 1e-4)
    _close(ours, theirs)
    assert node_tree(ours.grad_fn, 3) == node_tree(theirs.grad_fn, 3)
    for a, b in zip(ours_rs, theirs_rs):
        _close(a, b)
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in zip(ours_in, theirs_in):
        _close(a.grad, b.grad)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_node(training: bool, affine: bool) -> None:
    w, b = (W6, B6) if affine else (None, None)
    rm, rv = RNG.standard_normal(6), RNG.uniform(0.5, 2.0, 6)

    def program(f: Any, x: Any, w: Any, b: Any) -> Any:
        lib = tg if f is tgF else torch
        return f.batch_norm(x, lib.tensor(rm), lib.tensor(rv), w, b, training=training)

    ours, _ = _compare(program, [X3, w, b])
    assert ours.grad_fn.name() == "NativeBatchNormBackward0"


def test_norm_nodes_for_inputs_without_grad() -> None:
    x_t, w_t = torch.tensor(X3), torch.tensor(W6, requires_grad=True)
    x, w = tg.tensor(X3), tg.tensor(W6, requires_grad=True)
    rm, rv = np.zeros(6), np.ones(6)
    pairs = [
        (tgF.group_norm(x, 3, w), F.group_norm(x_t, 3, w_t)),
        (tgF.instance_norm(x, None, None, w), F.instance_norm(x_t, None, None, w_t)),
        (
            tgF.batch_norm(x, tg.tensor(rm), tg.tensor(rv), w),
            F.batch_norm(x_t, torch.tensor(rm), torch.tensor(rv), w_t),
        ),
    ]
    for ours, theirs in pairs:
        assert node_tree(ours.grad_fn, 3) == node_tree(theirs.grad_fn, 3)


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((2, 3, 7), 3),
        ((2, 3, 7), (4,)),
        ((3, 10), 4),
        ((2, 3, 5), 1),
        ((1, 2, 6), 6),
        ((1, 2, 4), 7),
    ],
)
def test_adaptive_avg_pool1d(shape: tuple[int, ...], size: Any) -> None:
    _compare(lambda f, x: f.adaptive_avg_pool1d(x, size), [RNG.standard_normal(shape)], depth=3)


SIZES_2D = [
    ((2, 3, 5, 7), (2, 3)),
    ((2, 3, 5, 7), 4),
    ((2, 3, 5, 7), (None, 3)),
    ((2, 3, 5, 7), (5, None)),
    ((3, 7, 5), (3, 2)),
    ((2, 3, 5, 7), (1, 1)),
    ((2, 3, 5, 7), 1),
    ((1, 2, 3, 4), (6, 9)),
    ((1, 2, 6, 4), (3, 4)),
]


@pytest.mark.parametrize(("shape", "size"), SIZES_2D)
def test_adaptive_avg_pool2d(shape: tuple[int, ...], size: Any) -> None:
    _compare(lambda f, x: f.adaptive_avg_pool2d(x, size), [RNG.standard_normal(shape)])


def test_arrays_in_arrays_out() -> None:
    x = RNG.standard_normal((2, 4, 3, 5))
    for ours, theirs in [
        (tgF.group_norm(x, 2), F.group_norm(torch.tensor(x), 2)),
        (tgF.instance_norm(x), F.instance_norm(torch.tensor(x))),
        (tgF.adaptive_avg_pool2d(x, (2, 3)), F.adaptive_avg_pool2d(torch.tensor(x), (2, 3))),
        (tgF.adaptive_avg_pool1d(x[0], 2), F.adaptive_avg_pool1d(torch.tensor(x[0]), 2)),
    ]:
        assert isinstance(ours, np.ndarray)
        _close(ours, theirs)


# ------------------------------------------------------------------------------ modules


def _same_names(ours: Any, theirs: Any) -> None:
    for ours_items, theirs_items in [
        (ours.named_parameters(), theirs.named_parameters()),
        (ours.named_buffers(), theirs.named_buffers()),
        (ours.state_dict().items(), theirs.state_dict().items()),
    ]:
        a = [(k, tuple(v.shape)) for k, v in ours_items]
        b = [(k, tuple(v.shape)) for k, v in theirs_items]
        assert a == b


MODULES = [
    ("GroupNorm", GroupNorm, (3, 6), {}, X3),
    ("GroupNorm", GroupNorm, (2, 6), {"eps": 1e-3, "affine": False}, X3),
    ("GroupNorm", GroupNorm, (1, 6), {"bias": False}, X3),
    ("InstanceNorm1d", InstanceNorm1d, (6,), {}, X3),
    ("InstanceNorm1d", InstanceNorm1d, (6,), {"affine": True, "momentum": None}, X3),
    ("InstanceNorm1d", InstanceNorm1d, (6,), {"affine": True, "bias": False}, X3),
    ("InstanceNorm2d", InstanceNorm2d, (4,), {"track_running_stats": True}, X4),
    ("InstanceNorm2d", InstanceNorm2d, (4,), {"affine": True, "track_running_stats": True}, X4),
    ("AdaptiveAvgPool1d", AdaptiveAvgPool1d, (3,), {}, X3),
    ("AdaptiveAvgPool2d", AdaptiveAvgPool2d, ((None, 3),), {}, X4),
    ("AdaptiveAvgPool2d", AdaptiveAvgPool2d, (2,), {}, X4),
]


@pytest.mark.parametrize(("name", "cls", "args", "kwargs", "x"), MODULES)
def test_module_repr_names_and_forward(
    name: str, cls: Any, args: Any, kwargs: Any, x: np.ndarray
) -> None:
    if name.startswith("Adaptive"):
        ours, theirs = cls(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    else:
        ours = cls(*args, **kwargs, dtype=tg.float64)
        theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    _same_names(ours, theirs)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        value = RNG.standard_normal(tuple(q.shape))
        p.data[...] = value
        with torch.no_grad():
            q.copy_(torch.tensor(value))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    _close(yo, yt)
    assert node_tree(yo.grad_fn, 3) == node_tree(yt.grad_fn, 3)
    yo.sum().backward()
    yt.sum().backward()
    _close(xo.grad, xt.grad)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad)


@pytest.mark.parametrize(
    ("name", "cls", "shape"),
    [("InstanceNorm1d", InstanceNorm1d, (3, 4, 5)), ("InstanceNorm2d", InstanceNorm2d, X4.shape)],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_instance_norm_tracks_running_stats(
    name: str, cls: Any, shape: tuple[int, ...], momentum: Any
) -> None:
    kw = {"affine": True, "track_running_stats": True, "momentum": momentum}
    ours = cls(shape[1], **kw, dtype=tg.float64)
    theirs = getattr(torch.nn, name)(shape[1], **kw, dtype=torch.float64)
    for step in range(3):
        x = RNG.standard_normal(shape) * (step + 1) + step
        _close(ours(tg.tensor(x)), theirs(torch.tensor(x)))
    for key, value in theirs.state_dict().items():
        _close(ours.state_dict()[key], value)
    assert int(ours.num_batches_tracked) == 0
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal(shape)
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    _close(yo, yt)
    assert node_tree(yo.grad_fn, 3) == node_tree(yt.grad_fn, 3)
    yo.sum().backward()
    yt.sum().backward()
    _close(xo.grad, xt.grad)
    # Unbatched input
    _close(ours(tg.tensor(x[0])), theirs(torch.tensor(x[0])))


def test_instance_norm_without_tracking_normalises_in_eval() -> None:
    ours, theirs = InstanceNorm1d(6).eval(), torch.nn.InstanceNorm1d(6).eval()
    _close(ours(tg.tensor(X3)), theirs(torch.tensor(X3)))
    _close(ours(tg.tensor(X3[0])), theirs(torch.tensor(X3[0])))


def test_state_dict_round_trip() -> None:
    theirs = torch.nn.InstanceNorm2d(4, affine=True, track_running_stats=True, dtype=torch.float64)
    theirs(torch.tensor(X4))
    ours = InstanceNorm2d(4, affine=True, track_running_stats=True, dtype=tg.float64)
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    _close(ours(tg.tensor(X4)), theirs(torch.tensor(X4)))


def test_batch_norm_module_node() -> None:
    ours, theirs = BatchNorm1d(6, dtype=tg.float64), torch.nn.BatchNorm1d(6, dtype=torch.float64)
    x = RNG.standard_normal((4, 6))
    yo, yt = ours(tg.tensor(x, requires_grad=True)), theirs(torch.tensor(x, requires_grad=True))
    assert node_tree(yo.grad_fn, 2) == node_tree(yt.grad_fn, 2)


# ------------------------------------------------------------------------------ errors


ERRORS = [
    lambda m, f: f.group_norm(m.tensor(X3), 4),
    lambda m, f: f.group_norm(m.tensor(X3[0, 0]), 1),
    lambda m, f: f.group_norm(m.zeros(1, 2, 1), 2),
    lambda m, f: f.group_norm(m.tensor(X3), 3, m.ones(5)),
    lambda m, f: f.group_norm(m.tensor(X3), 0),
    lambda m, f: f.instance_norm(m.zeros(2, 3, 1)),
    lambda m, f: f.instance_norm(m.zeros(4)),
    lambda m, f: f.instance_norm(m.tensor(X3), use_input_stats=False),
    lambda m, f: f.instance_norm(m.tensor(X3), m.zeros(6), None, use_input_stats=False),
    lambda m, f: f.instance_norm(m.tensor(X3), None, None, m.ones(5)),
    lambda m, f: f.instance_norm(m.tensor(X3), m.zeros(5), m.ones(5)),
    lambda m, f: f.adaptive_avg_pool2d(m.tensor(X3[0, 0]), 2),
    lambda m, f: f.adaptive_avg_pool2d(m.tensor(X4[None]), 2),
    lambda m, f: f.adaptive_avg_pool2d(m.tensor(X3[0, 0]), (None, 2)),
    lambda m, f: f.adaptive_avg_pool2d(m.tensor(X3), (2, 2, 2)),
    lambda m, f: f.adaptive_avg_pool2d(m.tensor(X4), (-1, 2)),
    lambda m, f: f.adaptive_avg_pool2d(m.zeros(2, 3, 0, 3), 2),
    lambda m, f: f.adaptive_avg_pool1d(m.tensor(X3), (2, 2)),
    lambda m, f: f.adaptive_avg_pool1d(m.tensor(X3[0, 0]), 2),
    lambda m, f: f.adaptive_avg_pool1d(m.tensor(X4), 2),
    lambda m, f: m.nn.GroupNorm(4, 6) if m is torch else GroupNorm(4, 6),
    lambda m, f: (m.nn.InstanceNorm1d if m is torch else InstanceNorm1d)(6)(m.zeros(2, 6, 4, 4)),
    lambda m, f: (m.nn.InstanceNorm2d if m is torch else InstanceNorm2d)(6)(m.zeros(6, 4)),
    lambda m, f: (m.nn.InstanceNorm1d if m is torch else InstanceNorm1d)(6, affine=True)(
        m.zeros(2, 5, 4)
    ),
]


@pytest.mark.parametrize("program", ERRORS)
def test_errors_match_torch(program: Callable[..., Any]) -> None:
    with pytest.raises(Exception) as theirs:
        program(torch, F)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        program(tg, tgF)


def test_group_norm_bias_of_the_wrong_size() -> None:
    # PyTorch raises too, but its message shows the weight's shape where the bias's belongs.
    with pytest.raises(RuntimeError):
        F.group_norm(torch.tensor(X3), 3, torch.ones(6), torch.ones(5))
    with pytest.raises(RuntimeError, match=re.escape("but got bias of shape [5] and input")):
        tgF.group_norm(tg.tensor(X3), 3, tg.ones(6), tg.ones(5))


def test_instance_norm_warns_on_feature_mismatch_without_affine() -> None:
    with pytest.warns(UserWarning) as ours:
        InstanceNorm1d(6)(tg.zeros(2, 5, 4))
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.nn.InstanceNorm1d(6)(torch.zeros(2, 5, 4))
    assert str(ours[0].message) == str(theirs[0].message)
