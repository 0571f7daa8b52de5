"""Tests of tapegrad.nn: modules, parameters, layers, losses, initialisers, and saving."""

from __future__ import annotations

import copy
import io
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import init
from tapegrad.nn.activation import _find_erf
from tapegrad.serialization import STRUCTURE_KEY, load, save

try:
    import torch
except ImportError:  # pragma: no cover - the cross-checks skip
    torch = None


def torch_check(fn):
    """Mark a test that compares with PyTorch; skip it when PyTorch is missing."""
    skip = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
    return pytest.mark.torch(skip(fn))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.seq = nn.Sequential(nn.ReLU())
        self.empty = nn.Sequential()
        self.scale = nn.Parameter(tg.ones(3))
        self.register_buffer("count", tg.zeros(1))
        self.register_buffer("scratch", tg.zeros(2), persistent=False)

    def forward(self, x):
        return self.seq(self.fc(x)) * self.scale


def numpy(t) -> np.ndarray:
    return t.detach().numpy()


# ---------------------------------------------------------------------- Parameter


def test_parameter_is_a_leaf_that_requires_grad_and_shares_storage():
    source = tg.tensor([1.0, 2.0])
    p = nn.Parameter(source)
    assert isinstance(p, tg.Tensor) and p.is_leaf and p.requires_grad
    source.data[0] = 5.0
    assert p.tolist() == [5.0, 2.0]
    frozen = nn.Parameter(tg.ones(2), requires_grad=False)
    assert not frozen.requires_grad


def test_parameter_of_a_non_leaf_is_a_leaf():
    x = tg.ones(2, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.grad_fn is None
    (p * p).sum().backward()
    assert p.grad.tolist() == [4.0, 4.0] and x.grad is None


def test_parameter_repr_matches_pytorch():
    assert repr(nn.Parameter(tg.ones(2, 2))) == (
        "Parameter containing:\ntensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    )
    assert repr(nn.Parameter(tg.ones(2), requires_grad=False)) == (
        "Parameter containing:\ntensor([1., 1.])"
    )


def test_parameter_deepcopy_and_pickle_make_independent_parameters():
    p = nn.Parameter(tg.tensor([1.0, 2.0]))
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert isinstance(q, nn.Parameter) and q.requires_grad
        q.data[0] = 9.0
        assert p.tolist() == [1.0, 2.0]
        (q * q).sum().backward()
        assert p.grad is None


# ---------------------------------------------------------------------- Module API


def test_registration_and_traversal():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert [n for n, _ in net.named_buffers()] == ["count", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc", "seq", "empty"]
    assert [n for n, _ in net.named_modules()] == ["", "fc", "seq", "seq.0", "empty"]
    assert list(net.children())[0] is net.fc
    assert len(list(net.modules())) == 5
    assert net.get_submodule("seq.0") is net.seq[0]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


def test_shared_parameters_and_modules_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_assignment_rules():
    net = Net()
    with pytest.raises(
        TypeError, match="cannot assign 'tapegrad.FloatTensor' as parameter 'scale'"
    ):
        net.scale = tg.ones(3)
    net.scale = None
    assert "scale" not in [n for n, _ in net.named_parameters()]
    net.fc = nn.Linear(2, 3, bias=False)
    assert [n for n, _ in net.named_parameters()] == ["fc.weight"]
    with pytest.raises(TypeError, match="as child module 'fc'"):
        net.fc = 3
    net.count = tg.ones(1)
    assert net.state_dict()["count"].tolist() == [1.0]
    net.plain = 5
    assert net.plain == 5 and "plain" not in dict(net.named_parameters())
    with pytest.raises(KeyError, match="contain"):
        net.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("plain", tg.ones(1))
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        _ = net.missing
    del net.fc
    assert "fc" not in dict(net.named_children())


def test_assignment_before_init_is_an_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_call_runs_forward_and_missing_forward_is_named():
    net = Net()
    out = net(tg.ones(4, 2))
    assert out.shape == (4, 3) and out.requires_grad
    with pytest.raises(
        NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'
    ):
        nn.Module()(tg.ones(1))


def test_train_and_eval_set_the_flag_on_every_module():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_zero_grad_sets_none_or_zeros():
    net = Net()
    net(tg.ones(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_and_apply():
    net = Net()
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential", "Net"]


def test_module_to_double_casts_parameters_grads_and_buffers_in_place():
    net = Net()
    net(tg.ones(1, 2)).sum().backward()
    weight = net.fc.weight
    assert net.double() is net
    assert net.fc.weight is weight and weight.dtype == np.float64
    assert weight.grad.dtype == np.float64 and net.count.dtype == np.float64
    assert net(tg.ones(1, 2, dtype=tg.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(tg.int64)


def test_deepcopy_of_a_module_is_independent():
    net = Net()
    twin = copy.deepcopy(net)
    twin.fc.weight.data[...] = 0
    assert np.abs(numpy(net.fc.weight)).sum() > 0
    twin(tg.ones(1, 2)).sum().backward()
    assert net.fc.weight.grad is None and twin.fc.weight.grad is not None


# ---------------------------------------------------------------------- state dicts


def test_state_dict_keys_share_storage_and_are_detached():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["scale", "count", "fc.weight", "fc.bias"]
    assert isinstance(sd, OrderedDict)
    assert not any(v.requires_grad for v in sd.values())
    sd["fc.bias"].data[0] = 42.0
    assert net.fc.bias[0].item() == 42.0
    assert net.state_dict(keep_vars=True)["fc.weight"] is net.fc.weight


def test_state_dict_round_trip():
    tg.manual_seed(0)
    a = Net()
    tg.manual_seed(1)
    b = Net()
    assert not np.array_equal(numpy(a.fc.weight), numpy(b.fc.weight))
    result = b.load_state_dict(a.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)
    x = tg.randn(3, 2)
    np.testing.assert_array_equal(numpy(a(x)), numpy(b(x)))


def test_load_state_dict_copies_values_and_casts_dtype():
    net = Net()
    sd = {k: v.numpy().astype(np.float64) + 1 for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    assert net.fc.weight.dtype == np.float32
    np.testing.assert_allclose(numpy(net.fc.weight), sd["fc.weight"], rtol=1e-6)
    sd["fc.weight"][...] = 0
    assert np.abs(numpy(net.fc.weight)).sum() > 0


def test_load_state_dict_strict_errors_name_every_key():
    net = Net()
    sd = net.state_dict()
    del sd["fc.bias"], sd["count"]
    sd["extra"] = tg.zeros(1)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    assert str(err.value) == (
        "Error(s) in loading state_dict for Net:\n"
        '\tMissing key(s) in state_dict: "count", "fc.bias". \n'
        '\tUnexpected key(s) in state_dict: "extra". '
    )
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["count", "fc.bias"]
    assert result.unexpected_keys == ["extra"]


def test_load_state_dict_shape_mismatch_raises_even_when_not_strict():
    net = Net()
    sd = net.state_dict()
    sd["fc.weight"] = tg.zeros(2, 2)
    before = numpy(net.fc.bias).copy()
    sd["fc.bias"] = tg.zeros(3)
    for strict in (True, False):
        with pytest.raises(RuntimeError) as err:
            net.load_state_dict(sd, strict=strict)
        assert str(err.value) == (
            "Error(s) in loading state_dict for Net:\n\tsize mismatch for fc.weight: copying a "
            "param with shape (2, 2) from checkpoint, the shape in current model is (3, 2)."
        )
    np.testing.assert_array_equal(numpy(net.fc.bias), before)  # nothing half-loaded


def test_load_state_dict_invalidates_values_saved_for_backward():
    net = nn.Linear(2, 2)
    pending = net(tg.ones(1, 2, requires_grad=True)).sum()
    net.load_state_dict(nn.Linear(2, 2).state_dict())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        pending.backward()


def test_save_and_load_a_state_dict_as_npz(tmp_path):
    net = Net()
    path = tmp_path / "net.npz"
    save(net.state_dict(), path)
    with np.load(path, allow_pickle=False) as raw:
        assert set(raw.files) == {"scale", "count", "fc.weight", "fc.bias", STRUCTURE_KEY}
        np.testing.assert_array_equal(raw["fc.weight"], numpy(net.fc.weight))
    loaded = load(path)
    assert list(loaded) == list(net.state_dict())
    assert all(type(v) is tg.Tensor and not v.requires_grad for v in loaded.values())
    fresh = Net()
    fresh.load_state_dict(loaded)
    np.testing.assert_array_equal(numpy(fresh.fc.weight), numpy(net.fc.weight))


def test_save_round_trips_nested_containers_and_scalars():
    obj = {
        "a": {"b": tg.ones(2, dtype=tg.float64), 3: [None, True, 2, 0.5, "text"]},
        "t": (1, (2.0, np.float32(1.5))),
        "p": nn.Parameter(tg.zeros(1)),
        "r": tg.ones(1, requires_grad=True),
        "arr": np.arange(3),
        "z": 1 + 2j,
        "x/y": tg.zeros(1),
    }
    buf = io.BytesIO()
    save(obj, buf, compress=True)
    buf.seek(0)
    out = load(buf)
    assert out["a"][3] == [None, True, 2, 0.5, "text"]
    assert out["a"]["b"].dtype == np.float64
    assert out["t"] == (1, (2.0, 1.5)) and isinstance(out["t"][1][1], np.float32)
    assert isinstance(out["p"], nn.Parameter) and out["p"].requires_grad
    assert out["r"].requires_grad and type(out["r"]) is tg.Tensor
    assert isinstance(out["arr"], np.ndarray) and out["arr"].tolist() == [0, 1, 2]
    assert out["z"] == 1 + 2j and out["x/y"].tolist() == [0.0]


def test_save_refuses_objects_it_cannot_store_without_pickle():
    with pytest.raises(TypeError, match="save model.state_dict"):
        save(Net(), io.BytesIO())
    with pytest.raises(TypeError, match="keys must be strings or integers"):
        save({(1, 2): 3}, io.BytesIO())


def test_load_plain_npz_nests_at_slashes(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, **{"enc/w": np.ones(2), "enc/b": np.zeros(1), "head": np.ones(1)})
    out = load(path)
    assert sorted(out) == ["enc", "head"] and sorted(out["enc"]) == ["b", "w"]
    assert out["enc"]["w"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------------- repr


def test_repr_matches_pytorch_format():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU())
    assert repr(model) == (
        "Sequential(\n  (0): Linear(in_features=784, out_features=256, bias=True)\n  (1): ReLU()\n)"
    )
    assert repr(Net()) == (
        "Net(\n"
        "  (fc): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (seq): Sequential(\n"
        "    (0): ReLU()\n"
        "  )\n"
        "  (empty): Sequential()\n"
        ")"
    )
    assert repr(nn.Module()) == "Module()"


@torch_check
def test_every_module_repr_matches_pytorch():
    def pair(name, *args, **kwargs):
        return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)

    cases = [
        pair("Linear", 3, 4, bias=False),
        pair("ReLU"),
        pair("Tanh"),
        pair("Sigmoid"),
        pair("GELU"),
        pair("GELU", approximate="tanh"),
        pair("Dropout", 0.25),
        pair("LayerNorm", 256),
        pair("LayerNorm", (4, 5), elementwise_affine=False),
        pair("Embedding", 10, 3),
        pair("Embedding", 5, 2, padding_idx=0),
        pair("Identity"),
        pair("Flatten"),
        pair("Softmax", dim=1),
        pair("LogSoftmax", dim=-1),
        pair("LeakyReLU"),
        pair("Softplus"),
        pair("CrossEntropyLoss"),
        pair("MSELoss"),
        pair("BCEWithLogitsLoss"),
    ]
    for ours, theirs in cases:
        assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------------- containers


def test_sequential_indexing_and_mutation():
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    seq = nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c and len(seq) == 3 and list(seq) == [a, b, c]
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"] and seq[1] is c
    seq.append(nn.Sigmoid())
    assert len(seq) == 3
    named = nn.Sequential(OrderedDict([("enc", a), ("act", b)]))
    assert named.enc is a and [n for n, _ in named.named_children()] == ["enc", "act"]
    with pytest.raises(IndexError):
        seq[5]


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]


# ---------------------------------------------------------------------- layers


def test_linear_default_init_bounds_and_determinism():
    tg.manual_seed(3)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = numpy(layer.weight), numpy(layer.bias)
    assert w.shape == (300, 400) and b.shape == (300,) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound) has standard deviation bound / sqrt(3).
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    tg.manual_seed(3)
    np.testing.assert_array_equal(numpy(nn.Linear(400, 300).weight), w)


def test_linear_forward_is_affine():
    layer = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = x @ numpy(layer.weight).T + numpy(layer.bias)
    np.testing.assert_allclose(numpy(layer(tg.from_numpy(x))), expected, rtol=1e-6)
    nobias = nn.Linear(3, 2, bias=False, dtype=tg.float64)
    assert nobias.bias is None and nobias.weight.dtype == np.float64


def test_dropout_scales_kept_elements_and_is_identity_in_eval():
    tg.manual_seed(0)
    drop = nn.Dropout(0.25)
    out = drop(tg.ones(10000)).numpy()
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.02
    x = tg.ones(5, requires_grad=True)
    y = drop(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    drop.eval()
    assert drop(x) is x
    assert not nn.Dropout(1.0)(tg.ones(3)).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_layer_norm_normalises_the_last_dimensions():
    ln = nn.LayerNorm((2, 3))
    x = tg.tensor(np.arange(12.0).reshape(2, 2, 3))
    y = ln(x).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1, rtol=1e-4)
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 2, 3\]"):
        ln(tg.ones(3, 2))


def test_embedding_lookup_gradients_add_up_and_indices_are_checked():
    emb = nn.Embedding(4, 2)
    out = emb(tg.tensor([[1, 3], [1, 1]]))
    assert out.shape == (2, 2, 2)
    out.sum().backward()
    assert emb.weight.grad[:, 0].tolist() == [0.0, 3.0, 0.0, 1.0]
    with pytest.raises(IndexError, match="index out of range"):
        emb(tg.tensor([4]))
    with pytest.raises(IndexError, match="index out of range"):
        emb(tg.tensor([-1]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        emb(tg.tensor([1.0]))


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=-1)
    assert emb.padding_idx == 3 and emb.weight[3].tolist() == [0.0, 0.0]
    emb(tg.tensor([3, 0, 3])).sum().backward()
    assert emb.weight.grad[3].tolist() == [0.0, 0.0]
    assert emb.weight.grad[0].tolist() == [1.0, 1.0]
    pretrained = nn.Embedding.from_pretrained(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not pretrained.weight.requires_grad
    assert pretrained(tg.tensor([1])).tolist() == [[3.0, 4.0]]


def test_activation_modules_values():
    x = tg.tensor([-2.0, 0.0, 3.0])
    assert nn.ReLU()(x).tolist() == [0.0, 0.0, 3.0]
    assert nn.LeakyReLU(0.5)(x).tolist() == [-1.0, 0.0, 3.0]
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh([-2.0, 0.0, 3.0]), rtol=1e-6)
    np.testing.assert_allclose(
        nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp([2.0, 0.0, -3.0])), rtol=1e-6
    )
    np.testing.assert_allclose(
        nn.Softplus()(x).numpy(), np.log1p(np.exp([-2.0, 0.0, 3.0])), rtol=1e-6
    )
    assert nn.Flatten()(tg.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Identity()(x) is x
    np.testing.assert_allclose(nn.Softmax(dim=0)(x).numpy().sum(), 1.0, rtol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        nn.LogSoftmax()(tg.zeros(2, 3))


def test_gelu_exact_form_needs_erf():
    with pytest.raises(ValueError, match="none or tanh"):
        nn.GELU("fast")
    if _find_erf() is None:
        with pytest.raises(NotImplementedError, match="erf"):
            nn.GELU()(tg.ones(2))
    else:
        np.testing.assert_allclose(nn.GELU()(tg.tensor([1.0])).numpy(), [0.8413447], rtol=1e-6)


def test_losses_values():
    logits = tg.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    target = tg.tensor([0, 2])
    logp = logits.numpy() - np.log(np.exp(logits.numpy()).sum(1, keepdims=True))
    expected = -(logp[0, 0] + logp[1, 2]) / 2
    np.testing.assert_allclose(nn.CrossEntropyLoss()(logits, target).item(), expected, rtol=1e-6)
    assert nn.MSELoss(reduction="sum")(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 0.0])).item() == 5.0
    loss = nn.BCEWithLogitsLoss(pos_weight=tg.tensor([2.0]))
    np.testing.assert_allclose(
        loss(tg.zeros(2), tg.tensor([1.0, 0.0])).item(), 1.5 * math.log(2), rtol=1e-6
    )
    weighted = nn.CrossEntropyLoss(weight=tg.tensor([1.0, 1.0, 3.0]))
    assert list(weighted.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")


# ---------------------------------------------------------------------- init


def test_init_functions_fill_in_place_without_recording():
    w = nn.Parameter(tg.empty(50, 40))
    assert init.zeros_(w) is w and not w.numpy(force=True).any()
    init.ones_(w)
    assert (w.numpy(force=True) == 1).all()
    init.constant_(w, 0.5)
    assert (w.numpy(force=True) == 0.5).all()
    assert w.is_leaf and w.grad_fn is None
    tg.manual_seed(0)
    init.uniform_(w, -2.0, -1.0)
    assert w.numpy(force=True).min() >= -2.0 and w.numpy(force=True).max() < -1.0
    init.normal_(w, 3.0, 0.1)
    assert abs(w.numpy(force=True).mean() - 3.0) < 0.01


@pytest.mark.parametrize(
    "fill, limit",
    [
        (lambda w: init.xavier_uniform_(w, gain=2.0), 2.0 * math.sqrt(6 / (200 + 100))),
        (
            lambda w: init.kaiming_uniform_(w, nonlinearity="relu"),
            math.sqrt(2) * math.sqrt(3 / 200),
        ),
        (lambda w: init.kaiming_uniform_(w, mode="fan_out"), math.sqrt(2) * math.sqrt(3 / 100)),
    ],
)
def test_uniform_initialisers_respect_their_bound(fill, limit):
    tg.manual_seed(0)
    w = fill(tg.empty(100, 200)).numpy()
    assert np.abs(w).max() <= limit * (1 + 1e-6)  # float32 rounding of the bound
    assert np.abs(w).max() > 0.99 * limit


@pytest.mark.parametrize(
    "fill, std",
    [
        (lambda w: init.xavier_normal_(w), math.sqrt(2 / (200 + 100))),
        (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), math.sqrt(2 / 200)),
    ],
)
def test_normal_initialisers_have_their_std(fill, std):
    tg.manual_seed(0)
    w = fill(tg.empty(100, 200)).numpy()
    assert abs(w.std() - std) < 0.02 * std and abs(w.mean()) < 0.02 * std


def test_init_generator_and_fan_errors():
    a = init.normal_(tg.empty(5), generator=np.random.default_rng(7)).numpy()
    b = init.normal_(tg.empty(5), generator=np.random.default_rng(7)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tg.empty(5))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


@torch_check
@pytest.mark.parametrize(
    "args",
    [
        ("linear",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("leaky_relu",),
        ("leaky_relu", 0.2),
        ("selu",),
        ("conv2d",),
    ],
)
def test_calculate_gain_matches_pytorch(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


# ---------------------------------------------------------------------- against PyTorch


def _grads_match(ours_module, theirs_module, ours_out, theirs_out, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(numpy(ours_out), theirs_out.detach().numpy(), rtol=rtol, atol=atol)
    upstream = np.random.default_rng(5).standard_normal(ours_out.shape).astype(np.float32)
    ours_out.backward(tg.from_numpy(upstream))
    theirs_out.backward(torch.from_numpy(upstream))
    for (name, p), (_, q) in zip(
        ours_module.named_parameters(), theirs_module.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol, err_msg=name
        )


def _twin(ours, theirs):
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    return theirs


@torch_check
def test_linear_and_layer_norm_match_pytorch():
    tg.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    ours = nn.Sequential(nn.Linear(5, 4), nn.LayerNorm(4), nn.Tanh())
    init.normal_(ours[1].weight)
    init.normal_(ours[1].bias)
    theirs = _twin(
        ours, torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.LayerNorm(4), torch.nn.Tanh())
    )
    _grads_match(ours, theirs, ours(tg.from_numpy(x)), theirs(torch.from_numpy(x)))


@torch_check
def test_embedding_with_padding_matches_pytorch():
    ours = nn.Embedding(6, 3, padding_idx=2)
    theirs = _twin(ours, torch.nn.Embedding(6, 3, padding_idx=2))
    idx = np.array([[0, 2, 5], [5, 5, 2]])
    _grads_match(ours, theirs, ours(tg.from_numpy(idx)), theirs(torch.from_numpy(idx)))


@torch_check
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("GELU", {"approximate": "tanh"}),
        ("LeakyReLU", {"negative_slope": 0.1}),
        ("Softplus", {}),
        ("Softmax", {"dim": 1}),
        ("LogSoftmax", {"dim": 0}),
        ("Sigmoid", {}),
    ],
)
def test_activations_match_pytorch(name, kwargs):
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32) * 3
    ours_x = tg.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours = getattr(nn, name)(**kwargs)(ours_x)
    theirs = getattr(torch.nn, name)(**kwargs)(theirs_x)
    np.testing.assert_allclose(numpy(ours), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    upstream = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    ours.backward(tg.from_numpy(upstream))
    theirs.backward(torch.from_numpy(upstream))
    # Composite rules (GELU from tanh) round differently from PyTorch's fused kernels.
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-5, atol=1e-5)


@torch_check
def test_loss_modules_match_pytorch():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((8, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 8)
    labels[2] = -100
    probs = rng.random((8, 4)).astype(np.float32)
    weight = np.array([1.0, 2.0, 0.5, 1.5], dtype=np.float32)
    cases = [
        ("CrossEntropyLoss", {"weight": weight}, labels),
        ("CrossEntropyLoss", {"reduction": "sum"}, labels),
        ("MSELoss", {}, probs),
        ("MSELoss", {"reduction": "none"}, probs),
        ("BCEWithLogitsLoss", {"pos_weight": weight}, probs),
    ]
    for name, kwargs, target in cases:
        ours_kw = {
            k: tg.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
        }
        theirs_kw = {
            k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
        }
        ours = getattr(nn, name)(**ours_kw)(tg.from_numpy(logits), tg.from_numpy(target))
        theirs = getattr(torch.nn, name)(**theirs_kw)(
            torch.from_numpy(logits), torch.from_numpy(target)
        )
        np.testing.assert_allclose(
            numpy(ours), theirs.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{name} {kwargs}"
        )
