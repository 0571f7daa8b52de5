"""``rrelu`` and the channel-wise and alpha dropouts of ``tapegrad.nn.functional`` (and their
modules) against PyTorch.

What is deterministic is compared exactly with PyTorch: evaluation mode (values, gradients,
the backward nodes two or three levels deep), ``p=0`` and ``p=1``, the backward nodes in
training, the errors and warnings, the modules' reprs. The random draws come from tapegrad's
own generator, so in training the tests check properties instead: whole channels dropped
together, the fraction dropped close to ``p``, alpha dropout keeping zero mean and unit
variance, slopes inside ``[lower, upper]``, reproducibility under ``tg.manual_seed``, and
gradients equal to the mask and scale read off the output.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from graphs import node_tree

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TNN = torch.nn

pytestmark = [
    pytest.mark.torch,
    # dropout2d of a 3-D input (one of the ranks it accepts) warns, in PyTorch and here
    pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input:UserWarning"),
]

RNG = np.random.default_rng(11)
ALPHA = 1.7580993408473766  # SELU's scale * alpha

DROPOUTS = [
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
]
MODULES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]

#: The input ranks each dropout accepts without warning or error.
RANKS = {
    "dropout": [1, 2, 3],
    "dropout1d": [2, 3],
    "dropout2d": [3, 4],
    "dropout3d": [4, 5],
    "alpha_dropout": [0, 1, 3],
    "feature_alpha_dropout": [2, 3, 4],
}


def _shape(rank: int) -> tuple[int, ...]:
    return (2, 3, 4, 2, 3)[:rank]


def _pair(
    value: np.ndarray, requires_grad: bool = True, nonleaf: bool = False
) -> tuple[Any, Any, Any, Any]:
    """Leaves of tapegrad and PyTorch, and (``nonleaf``) the tensors ``leaf * 1.0``."""
    a = tg.tensor(value.copy(), requires_grad=requires_grad)
    b = torch.tensor(value.copy(), requires_grad=requires_grad)
    if nonleaf:
        return a, b, a * 1.0, b * 1.0
    return a, b, a, b


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# ---------------------------------------------------------------------- rrelu: evaluation

EDGES = np.array([-3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0])


@pytest.mark.parametrize("bounds", [(), (0.1, 0.3), (0.2, 0.2), (-1.0, 2.0), (0.0, 1.0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rrelu_eval_matches_torch(bounds: tuple[float, ...], dtype: Any) -> None:
    value = np.concatenate([EDGES, RNG.standard_normal(9)]).astype(dtype)
    a, b, x, y = _pair(value)
    got = F.rrelu(x, *bounds)
    want = TF.rrelu(y, *bounds)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert node_tree(got.grad_fn, 2) == node_tree(want.grad_fn, 2)
    assert got.grad_fn.name() == "RreluWithNoiseBackward0"
    v = RNG.standard_normal(value.shape).astype(dtype)
    (got * tg.tensor(v)).sum().backward()
    (want * torch.tensor(v)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("how", ["rrelu_", "inplace"])
@pytest.mark.parametrize("training", [False, True])
def test_rrelu_in_place_nodes_match_torch(how: str, training: bool) -> None:
    a, b, h, k = _pair(EDGES.copy(), nonleaf=True)
    if how == "rrelu_":
        got = F.rrelu_(h, 0.1, 0.3, training)
        want = TF.rrelu_(k, 0.1, 0.3, training)
    else:
        got = F.rrelu(h, 0.1, 0.3, training, inplace=True)
        want = TF.rrelu(k, 0.1, 0.3, training, inplace=True)
    assert got is h and want is k
    assert node_tree(got.grad_fn, 3) == node_tree(want.grad_fn, 3)
    assert got.grad_fn.name() == "RreluWithNoiseBackward1"
    if not training:
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_rrelu_in_place_refuses_leaves_and_writes_arrays() -> None:
    leaf = tg.tensor([-1.0, 2.0], requires_grad=True)
    tleaf = torch.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as ours:
        F.rrelu_(leaf)
    with pytest.raises(RuntimeError) as theirs:
        TF.rrelu_(tleaf)
    assert str(ours.value) == str(theirs.value)
    arr = np.array([-2.0, 0.0, 3.0])
    out = F.rrelu_(arr, 0.25, 0.75)
    assert out is arr
    np.testing.assert_array_equal(arr, [-1.0, 0.0, 3.0])
    out = F.rrelu(np.array([-4.0, 1.0]), 0.5, 0.5)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [-2.0, 1.0])


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("inplace", [False, True])
def test_rrelu_bounds_error_matches_torch(training: bool, inplace: bool) -> None:
    with pytest.raises(RuntimeError) as ours:
        F.rrelu(tg.tensor([-1.0, 2.0]), 0.5, 0.1, training, inplace)
    with pytest.raises(RuntimeError) as theirs:
        TF.rrelu(torch.tensor([-1.0, 2.0]), 0.5, 0.1, training, inplace)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "args",
    [(), (0.1, 0.3), (0.1, 0.3, True), (0.0, 1.0, False)],
)
def test_rrelu_module_repr_and_eval_match_torch(args: tuple[Any, ...]) -> None:
    ours, theirs = nn.RReLU(*args), TNN.RReLU(*args)
    assert repr(ours) == repr(theirs)
    ours.eval()
    theirs.eval()
    a, b, h, k = _pair(np.concatenate([EDGES, RNG.standard_normal(5)]), nonleaf=True)
    got, want = ours(h), theirs(k)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert node_tree(got.grad_fn, 2) == node_tree(want.grad_fn, 2)
    assert (got is h) == (want is k)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


# ---------------------------------------------------------------------- rrelu: training


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rrelu_training_draws_slopes_in_bounds(dtype: Any) -> None:
    lower, upper = 0.1, 0.4
    value = RNG.standard_normal(20_000).astype(dtype)
    value[:10] = 0.0
    x = tg.tensor(value, requires_grad=True)
    tg.manual_seed(3)
    out = F.rrelu(x, lower, upper, training=True)
    assert out.dtype == np.dtype(dtype)
    assert out.grad_fn.name() == "RreluWithNoiseBackward0"
    y = out.detach().numpy()
    pos = value > 0
    np.testing.assert_array_equal(y[pos], value[pos])
    neg = value < 0
    slopes = y[neg] / value[neg]
    assert slopes.min() >= np.float32(lower) * (1 - 1e-6)
    assert slopes.max() <= np.float32(upper) * (1 + 1e-6)
    # uniform on [lower, upper]: mean (lower + upper) / 2, variance (upper - lower)**2 / 12
    assert abs(slopes.mean() - (lower + upper) / 2) < 0.005
    assert abs(slopes.var() - (upper - lower) ** 2 / 12) < 0.001
    assert len(np.unique(slopes)) > 0.9 * len(slopes)  # a slope per element
    out.sum().backward()
    grad = x.grad.numpy()
    np.testing.assert_array_equal(grad[pos], 1.0)
    np.testing.assert_allclose(grad[neg], slopes, rtol=1e-6)
    # at zero the output is zero and the gradient a drawn slope, as in PyTorch
    np.testing.assert_array_equal(y[:10], 0.0)
    assert ((grad[:10] >= lower * (1 - 1e-6)) & (grad[:10] <= upper * (1 + 1e-6))).all()
    assert len(np.unique(grad[:10])) == 10


def test_rrelu_training_is_reproducible_and_random() -> None:
    x = tg.tensor(-np.ones(50))
    tg.manual_seed(5)
    first = F.rrelu(x, training=True).numpy()
    second = F.rrelu(x, training=True).numpy()
    tg.manual_seed(5)
    again = F.rrelu(x, training=True).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    module = nn.RReLU()
    tg.manual_seed(5)
    np.testing.assert_array_equal(module(x).numpy(), first)
    module.eval()
    np.testing.assert_allclose(module(x).numpy(), -(1 / 8 + 1 / 3) / 2, rtol=1e-15)


def test_rrelu_training_in_place_matches_out_of_place() -> None:
    value = RNG.standard_normal(30)
    x = tg.tensor(value, requires_grad=True)
    tg.manual_seed(9)
    want = F.rrelu(x, 0.2, 0.5, training=True)
    want.sum().backward()
    grad = x.grad.numpy().copy()
    x.grad = None
    h = x * 1.0
    tg.manual_seed(9)
    got = F.rrelu_(h, 0.2, 0.5, training=True)
    assert got is h
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    got.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_rrelu_training_with_equal_bounds_matches_torch() -> None:
    a, b, x, y = _pair(np.concatenate([EDGES, RNG.standard_normal(9)]))
    got = F.rrelu(x, 0.3, 0.3, training=True)
    want = TF.rrelu(y, 0.3, 0.3, training=True)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-15)
    assert node_tree(got.grad_fn, 2) == node_tree(want.grad_fn, 2)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-15)


# ---------------------------------------------------------------------- dropouts: arguments


@pytest.mark.parametrize("name", DROPOUTS)
@pytest.mark.parametrize("p", [1.5, -0.1])
def test_dropout_probability_error_matches_torch(name: str, p: float) -> None:
    with pytest.raises(ValueError) as ours:
        getattr(F, name)(tg.ones(2, 3, 4, 5), p)
    with pytest.raises(ValueError) as theirs:
        getattr(TF, name)(torch.ones(2, 3, 4, 5), p)
    assert str(ours.value) == str(theirs.value)
    assert str(ours.value) == f"dropout probability has to be between 0 and 1, but got {p}"


@pytest.mark.parametrize("name", ["dropout", "dropout2d", "alpha_dropout"])
@pytest.mark.parametrize("training", [False, True])
def test_dropout_nan_probability_error_matches_torch(name: str, training: bool) -> None:
    with pytest.raises(RuntimeError) as ours:
        _quiet(lambda: getattr(F, name)(tg.ones(2, 3, 4, 5), math.nan, training))
    with pytest.raises(RuntimeError) as theirs:
        _quiet(lambda: getattr(TF, name)(torch.ones(2, 3, 4, 5), math.nan, training))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", MODULES)
def test_dropout_module_repr_and_errors_match_torch(name: str) -> None:
    for args in [(), (0.25,), (0.1, True), (0,), (1,)]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(TNN, name)(*args))
    assert repr(getattr(nn, name)(p=0.5, inplace=False)) == f"{name}(p=0.5, inplace=False)"
    for p in [1.5, -0.5]:
        with pytest.raises(ValueError) as ours:
            getattr(nn, name)(p)
        with pytest.raises(ValueError) as theirs:
            getattr(TNN, name)(p)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("rank", [0, 1, 4])
@pytest.mark.parametrize("training", [False, True])
def test_dropout1d_rank_error_matches_torch(rank: int, training: bool) -> None:
    with pytest.raises(RuntimeError) as ours:
        F.dropout1d(tg.ones(_shape(rank)), 0.5, training)
    with pytest.raises(RuntimeError) as theirs:
        TF.dropout1d(torch.ones(_shape(rank)), 0.5, training)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    ("name", "rank", "training"),
    [
        ("dropout2d", 0, True),
        ("dropout2d", 1, True),
        ("dropout3d", 0, True),
        ("feature_alpha_dropout", 0, True),
        ("feature_alpha_dropout", 1, True),
    ],
)
def test_feature_dropout_of_too_few_dims_errors_as_torch(
    name: str, rank: int, training: bool
) -> None:
    with pytest.raises(RuntimeError) as ours:
        _quiet(lambda: getattr(F, name)(tg.ones(_shape(rank)), 0.5, training))
    with pytest.raises(RuntimeError) as theirs:
        _quiet(lambda: getattr(TF, name)(torch.ones(_shape(rank)), 0.5, training))
    assert str(ours.value) == str(theirs.value)
    assert str(ours.value) == "Feature dropout requires at least 2 dimensions in the input"


def _warnings_of(fn: Callable[[], Any]) -> list[tuple[str, type, str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(str(w.message), w.category, w.filename) for w in caught]


@pytest.mark.parametrize(
    ("name", "rank", "training"),
    [
        (name, rank, training)
        for name in ["dropout2d", "dropout3d"]
        for rank in range(7)
        for training in [False, True]
        if not (training and rank < 2 and (name, rank) != ("dropout3d", 1))  # errors
    ],
)
def test_dropout_rank_warnings_match_torch(name: str, rank: int, training: bool) -> None:
    shape = (2, 3, 4, 2, 3, 2)[:rank]
    ours = _warnings_of(lambda: getattr(F, name)(tg.ones(shape), 0.5, training))
    theirs = _warnings_of(lambda: getattr(TF, name)(torch.ones(shape), 0.5, training))
    assert ours == theirs
    assert all(filename == __file__ for _, _, filename in ours)
    ok = (3, 4) if name == "dropout2d" else (4, 5)
    assert len(ours) == (rank not in ok) + (name == "dropout2d" and rank == 3)


# ---------------------------------------------------------------------- dropouts: deterministic


def _cases() -> list[tuple[str, int]]:
    return [(name, rank) for name in DROPOUTS for rank in RANKS[name]]


@pytest.mark.parametrize(("name", "rank"), _cases())
@pytest.mark.parametrize("setting", ["eval", "p0"])
@pytest.mark.parametrize("nonleaf", [False, True])
def test_dropout_identity_matches_torch(name: str, rank: int, setting: str, nonleaf: bool) -> None:
    """Outside training and with p=0 the values pass unchanged; the input itself comes back
    where PyTorch hands it back, and the nodes (unsqueeze/squeeze for inputs without a batch
    axis) are PyTorch's."""
    value = RNG.standard_normal(_shape(rank))
    p, training = (0.5, False) if setting == "eval" else (0.0, True)
    a, b, x, y = _pair(value, nonleaf=nonleaf)
    got = getattr(F, name)(x, p, training)
    want = getattr(TF, name)(y, p, training)
    np.testing.assert_array_equal(got.detach().numpy(), value)
    np.testing.assert_array_equal(want.detach().numpy(), value)
    assert (got is x) == (want is y)
    assert node_tree(got.grad_fn, 3) == node_tree(want.grad_fn, 3)
    v = RNG.standard_normal(value.shape)
    (got * tg.tensor(v)).sum().backward()
    (want * torch.tensor(v)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize(("name", "rank"), _cases())
@pytest.mark.parametrize("nonleaf", [False, True])
def test_dropout_p1_matches_torch(name: str, rank: int, nonleaf: bool) -> None:
    value = RNG.standard_normal(_shape(rank))
    a, b, x, y = _pair(value, nonleaf=nonleaf)
    got = getattr(F, name)(x, 1.0, True)
    want = getattr(TF, name)(y, 1.0, True)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert not got.detach().numpy().any()
    assert node_tree(got.grad_fn, 3) == node_tree(want.grad_fn, 3)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize(("name", "rank"), _cases())
@pytest.mark.parametrize("nonleaf", [False, True])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_dropout_training_nodes_match_torch(
    name: str, rank: int, nonleaf: bool, requires_grad: bool
) -> None:
    value = RNG.standard_normal(_shape(rank))
    _, _, x, y = _pair(value, requires_grad=requires_grad, nonleaf=nonleaf)
    got = getattr(F, name)(x, 0.3, True)
    want = getattr(TF, name)(y, 0.3, True)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.requires_grad == want.requires_grad
    assert node_tree(got.grad_fn, 3) == node_tree(want.grad_fn, 3)


@pytest.mark.parametrize(("name", "rank"), _cases())
@pytest.mark.parametrize("setting", ["train", "eval", "p0", "p1"])
def test_dropout_in_place_nodes_match_torch(name: str, rank: int, setting: str) -> None:
    value = RNG.standard_normal(_shape(rank))
    p, training = {"train": (0.3, True), "eval": (0.3, False), "p0": (0.0, True)}.get(
        setting, (1.0, True)
    )
    a, b, h, k = _pair(value, nonleaf=True)
    got = getattr(F, name)(h, p, training, inplace=True)
    want = getattr(TF, name)(k, p, training, inplace=True)
    assert got is h and want is k
    assert tuple(h.shape) == value.shape
    assert node_tree(got.grad_fn, 3) == node_tree(want.grad_fn, 3)
    if setting != "train":
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize(("name", "rank"), [("dropout1d", 2), ("dropout1d", 3), ("dropout3d", 4)])
@pytest.mark.parametrize("training", [False, True])
def test_dropout_in_place_on_leaf_errors_as_torch(name: str, rank: int, training: bool) -> None:
    x = tg.ones(_shape(rank), requires_grad=True)
    y = torch.ones(_shape(rank), requires_grad=True)
    try:
        getattr(TF, name)(y, 0.5, training, inplace=True)
    except RuntimeError as err:
        with pytest.raises(RuntimeError) as ours:
            getattr(F, name)(x, 0.5, training, inplace=True)
        assert str(ours.value) == str(err)
    else:
        assert getattr(F, name)(x, 0.5, training, inplace=True) is x


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_of_empty_input_hands_it_back(name: str) -> None:
    shape = {"dropout1d": (0, 3, 2), "dropout3d": (0, 3, 2, 2, 2)}.get(name, (0, 3, 2, 2))
    x = tg.ones(shape, requires_grad=True)
    y = torch.ones(shape, requires_grad=True)
    assert getattr(TF, name)(y, 0.5, True) is y
    assert getattr(F, name)(x, 0.5, True) is x


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("p", [0.0, 0.4, 1.0])
def test_dropout_module_eval_is_identity_as_torch(name: str, p: float) -> None:
    rank = {"Dropout1d": 3, "Dropout3d": 5}.get(name, 4)
    value = RNG.standard_normal(_shape(rank))
    _, _, h, k = _pair(value, nonleaf=True)
    ours, theirs = getattr(nn, name)(p).eval(), getattr(TNN, name)(p).eval()
    assert not ours.training
    got, want = ours(h), theirs(k)
    assert (got is h) and (want is k)
    np.testing.assert_array_equal(got.detach().numpy(), value)


# ---------------------------------------------------------------------- dropouts: training


def _channels(out: np.ndarray) -> np.ndarray:
    """``out`` as (N * C, rest): one row per channel."""
    return out.reshape(out.shape[0] * out.shape[1], -1)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("dropout1d", (40, 50, 7)),
        ("dropout2d", (40, 50, 3, 3)),
        ("dropout3d", (40, 50, 2, 2, 2)),
    ],
)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_channel_dropout_drops_whole_channels(name: str, shape: tuple[int, ...], p: float) -> None:
    value = RNG.uniform(0.5, 1.5, shape)
    x = tg.tensor(value, requires_grad=True)
    tg.manual_seed(1)
    out = getattr(F, name)(x, p)
    assert out.grad_fn.name() == "MulBackward0"
    ratio = _channels(out.detach().numpy() / value)
    dropped = (ratio == 0).all(axis=1)
    kept = np.isclose(ratio, 1 / (1 - p), rtol=1e-14).all(axis=1)
    assert (dropped | kept).all()  # each channel is all dropped or all kept and scaled
    n = len(dropped)
    assert abs(dropped.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    # the gradient is the applied mask and scale
    v = RNG.standard_normal(shape)
    (out * tg.tensor(v)).sum().backward()
    mask = (out.detach().numpy() / value).reshape(shape)
    np.testing.assert_allclose(x.grad.numpy(), mask * v, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("dropout", (30, 40, 5)),
        ("dropout1d", (40, 50, 7)),
        ("dropout1d", (50, 7)),
        ("dropout2d", (40, 50, 3, 3)),
        ("dropout3d", (40, 50, 2, 2, 2)),
        ("dropout3d", (50, 2, 2, 2)),
    ],
)
def test_in_place_dropout_gradient_is_the_mask(name: str, shape: tuple[int, ...]) -> None:
    value = RNG.uniform(0.5, 1.5, shape)
    x = tg.tensor(value, requires_grad=True)
    h = x * 1.0
    tg.manual_seed(1)
    out = getattr(F, name)(h, 0.4, inplace=True)
    assert out is h
    mask = out.detach().numpy() / value
    assert set(np.unique(np.round(mask, 12))) == {0.0, round(1 / 0.6, 12)}
    v = RNG.standard_normal(shape)
    (out * tg.tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask * v, rtol=1e-14, atol=0)
    tg.manual_seed(1)
    want = getattr(F, name)(tg.tensor(value), 0.4).numpy()
    np.testing.assert_array_equal(want, out.detach().numpy())


@pytest.mark.parametrize("name", ["dropout1d", "dropout3d"])
def test_channel_dropout_without_batch_axis(name: str) -> None:
    shape = (300, 5) if name == "dropout1d" else (300, 2, 2, 2)
    x = tg.ones(shape, requires_grad=True)
    tg.manual_seed(2)
    out = getattr(F, name)(x, 0.5)
    assert tuple(out.shape) == shape
    assert out.grad_fn.name() == "SqueezeBackward1"
    rows = out.detach().numpy().reshape(shape[0], -1)
    assert ((rows == 0).all(axis=1) | (rows == 2).all(axis=1)).all()
    assert 0.4 < (rows[:, 0] == 0).mean() < 0.6
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


def test_dropout2d_of_3d_input_drops_along_axis_1() -> None:
    x = tg.ones(4, 100, 6)
    tg.manual_seed(4)
    with pytest.warns(UserWarning, match="channel-wise 1D dropout"):
        out = F.dropout2d(x, 0.5).numpy()
    assert ((out == 0).all(axis=2) | (out == 2).all(axis=2)).all()
    assert 0.35 < (out[:, :, 0] == 0).mean() < 0.65


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(p: float) -> None:
    value = RNG.standard_normal(400_000)
    x = tg.tensor(value, requires_grad=True)
    tg.manual_seed(6)
    out = F.alpha_dropout(x, p, training=True)
    assert out.grad_fn.name() == "AddBackward0"
    y = out.detach().numpy()
    assert abs(y.mean()) < 0.01
    assert abs(y.var() - 1.0) < 0.01
    a = 1.0 / math.sqrt((ALPHA**2 * p + 1) * (1 - p))
    dropped = np.isclose(y, -ALPHA * a * (1 - p), rtol=0, atol=1e-12)
    kept = np.isclose(y, a * value + ALPHA * a * p, rtol=1e-13, atol=1e-13)
    assert (dropped | kept).all()
    assert abs(dropped.mean() - p) < 4 * math.sqrt(p * (1 - p) / len(y))
    v = RNG.standard_normal(y.shape)
    (out * tg.tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0.0, a) * v, rtol=1e-14)


def test_alpha_dropout_float32_keeps_dtype() -> None:
    x = tg.tensor(RNG.standard_normal(100_000).astype(np.float32))
    tg.manual_seed(6)
    y = F.alpha_dropout(x, 0.3, True)
    assert y.dtype == np.float32
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_feature_alpha_dropout_drops_whole_channels(p: float) -> None:
    shape = (60, 50, 4)
    value = RNG.standard_normal(shape)
    x = tg.tensor(value, requires_grad=True)
    tg.manual_seed(8)
    out = F.feature_alpha_dropout(x, p, training=True)
    y = out.detach().numpy()
    a = 1.0 / math.sqrt((ALPHA**2 * p + 1) * (1 - p))
    dropped = np.isclose(y, -ALPHA * a * (1 - p), rtol=0, atol=1e-12)
    kept = np.isclose(y, a * value + ALPHA * a * p, rtol=1e-13, atol=1e-13)
    assert (dropped | kept).all()
    per_channel = _channels(dropped)
    assert (per_channel.all(axis=1) | ~per_channel.any(axis=1)).all()
    assert abs(per_channel[:, 0].mean() - p) < 4 * math.sqrt(p * (1 - p) / len(per_channel))
    assert abs(y.mean()) < 0.05 and abs(y.var() - 1) < 0.05
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0.0, a), rtol=1e-14)


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropouts_are_reproducible_under_manual_seed(name: str) -> None:
    x = tg.tensor(RNG.standard_normal((8, 6, 3, 2, 2)))
    if name == "dropout1d":
        x = x[:, :, :, 0, 0]
    fn = getattr(F, name)
    tg.manual_seed(12)
    first = _quiet(lambda: fn(x, 0.5, True)).numpy()
    second = _quiet(lambda: fn(x, 0.5, True)).numpy()
    tg.manual_seed(12)
    again = _quiet(lambda: fn(x, 0.5, True)).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(("name", "function"), list(zip(MODULES, DROPOUTS)))
def test_dropout_modules_call_their_function(name: str, function: str) -> None:
    x = tg.tensor(RNG.standard_normal((4, 6, 3, 2, 2)))
    if name == "Dropout1d":
        x = x[:, :, :, 0, 0]
    if name == "Dropout2d":
        x = x[:, :, :, :, 0]
    module = getattr(nn, name)(0.4)
    assert module.training
    tg.manual_seed(13)
    got = module(x).numpy()
    tg.manual_seed(13)
    want = getattr(F, function)(x, 0.4, True).numpy()
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, x.numpy())
    module.eval()
    assert module(x) is x


@pytest.mark.parametrize("name", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_modules_never_write_in_place(name: str) -> None:
    # PyTorch's modules store inplace but do not pass it on.
    value = RNG.standard_normal((4, 6, 3))
    x, y = tg.tensor(value.copy()), torch.tensor(value.copy())
    ours, theirs = getattr(nn, name)(0.5, inplace=True), getattr(TNN, name)(0.5, inplace=True)
    assert repr(ours) == repr(theirs)
    assert ours(x) is not x and theirs(y) is not y
    np.testing.assert_array_equal(x.numpy(), value)
    np.testing.assert_array_equal(y.numpy(), value)


@pytest.mark.parametrize("name", ["Dropout1d", "Dropout2d", "Dropout3d"])
def test_channel_dropout_modules_write_in_place(name: str) -> None:
    rank = {"Dropout1d": 3, "Dropout2d": 4, "Dropout3d": 5}[name]
    value = RNG.uniform(1.0, 2.0, _shape(rank))
    x = tg.tensor(value.copy())
    tg.manual_seed(14)
    out = getattr(nn, name)(0.5, inplace=True)(x)
    assert out is x
    ratio = _channels(x.numpy() / value)
    assert ((ratio == 0).all(axis=1) | (ratio == 2).all(axis=1)).all()


@pytest.mark.parametrize("name", DROPOUTS)
@pytest.mark.parametrize("inplace", [False, True])
def test_dropouts_take_arrays(name: str, inplace: bool) -> None:
    rank = RANKS[name][-1]
    value = RNG.uniform(1.0, 2.0, _shape(rank))
    arr = value.copy()
    tg.manual_seed(15)
    out = getattr(F, name)(arr, 0.5, True, inplace)
    assert isinstance(out, np.ndarray)
    assert (out is arr) == inplace
    tg.manual_seed(15)
    want = getattr(F, name)(tg.tensor(value), 0.5, True).numpy()
    np.testing.assert_array_equal(out, want)
    if name == "dropout1d":
        arr2 = value[0].copy()
        tg.manual_seed(15)
        out = F.dropout1d(arr2, 0.5, True, inplace)
        assert isinstance(out, np.ndarray) and out.shape == value[0].shape
        assert (out is arr2) == inplace
        rows = out / value[0]
        assert ((rows == 0).all(axis=1) | (rows == 2).all(axis=1)).all()
