"""Tests of tapegrad.optim: update rules against PyTorch, state dicts, and the API's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.optim import SGD, Adam, AdamW, Optimizer
from tapegrad.serialization import load, save

try:
    import torch
except ImportError:  # pragma: no cover - the cross-checks skip
    torch = None


def torch_check(fn):
    """Mark a test that compares with PyTorch; skip it when PyTorch is missing."""
    skip = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
    return pytest.mark.torch(skip(fn))


def mlp(dtype=np.float32, seed=0) -> nn.Sequential:
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)


def data(dtype=np.float32):
    rng = np.random.default_rng(1)
    return rng.standard_normal((32, 5)).astype(dtype), rng.integers(0, 3, 32)


def train(model, opt, x, y, steps=20):
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(tg.from_numpy(x)), tg.from_numpy(y)).backward()
        opt.step()


def torch_twin(model: nn.Sequential):
    """A PyTorch copy of ``model`` with the same weights."""
    dtype = getattr(torch, model[0].weight.dtype.name)
    twin = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).to(
        dtype
    )
    twin.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    )
    return twin


def train_torch(model, opt, x, y, steps=20):
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.from_numpy(x)), torch.from_numpy(y)
        ).backward()
        opt.step()


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
]
OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}


@torch_check
@pytest.mark.parametrize(
    "dtype, rtol, atol", [(np.float32, 1e-5, 1e-6), (np.float64, 1e-10, 0.0)], ids=["f32", "f64"]
)
@pytest.mark.parametrize(
    "name, kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]
)
def test_twenty_steps_match_pytorch(name, kwargs, dtype, rtol, atol):
    model = mlp(dtype)
    twin = torch_twin(model)
    x, y = data(dtype)
    opt = OURS[name](model.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(twin.parameters(), **kwargs)
    train(model, opt, x, y)
    train_torch(twin, topt, x, y)
    for (key, p), (_, tp) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        np.testing.assert_allclose(
            p.detach().numpy(), tp.detach().numpy(), rtol=rtol, atol=atol, err_msg=key
        )
    ours = opt.state_dict()["state"]
    theirs = topt.state_dict()["state"]
    assert sorted(ours) == sorted(theirs)
    for i in theirs:
        assert sorted(ours[i]) == sorted(theirs[i])
        for key, value in theirs[i].items():
            np.testing.assert_allclose(
                ours[i][key].numpy(),
                value.numpy(),
                rtol=max(rtol, 1e-4),
                atol=max(atol, 1e-7),
                err_msg=f"{i}/{key}",
            )


@torch_check
def test_param_groups_match_pytorch():
    model = mlp(np.float64)
    twin = torch_twin(model)
    x, y = data(np.float64)
    opt = SGD(
        [{"params": model[0].parameters(), "lr": 0.3}, {"params": model[2].parameters()}],
        lr=0.1,
        momentum=0.9,
    )
    topt = torch.optim.SGD(
        [{"params": twin[0].parameters(), "lr": 0.3}, {"params": twin[2].parameters()}],
        lr=0.1,
        momentum=0.9,
    )
    train(model, opt, x, y, steps=5)
    train_torch(twin, topt, x, y, steps=5)
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.1]
    assert opt.state_dict()["param_groups"][1]["params"] == [2, 3]


def test_sgd_first_steps_by_hand():
    w = nn.Parameter(tg.tensor([1.0, -2.0]))
    opt = SGD([w], lr=0.1, momentum=0.9, weight_decay=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    # step 1: g = 2w + 0.5w = 2.5w, buf = g, w <- w - 0.1 g = 0.75 w
    # step 2: g = 2.5 * 0.75 w, buf = 0.9 * 2.5 w + g, w <- 0.75 w - 0.1 buf
    expected = np.array([1.0, -2.0]) * (0.75 - 0.1 * (0.9 * 2.5 + 2.5 * 0.75))
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-6)


def test_adam_first_step_moves_each_weight_by_lr():
    w = nn.Parameter(tg.tensor([3.0, -0.5, 1e-3]))
    opt = Adam([w], lr=0.01)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [2.99, -0.49, -0.009], atol=1e-6)
    assert float(opt.state[w]["step"]) == 1.0


def test_adamw_decays_weights_without_gradient_signal():
    w = nn.Parameter(tg.tensor([2.0]))
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        opt.zero_grad()
        (w * 0).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [2.0 * 0.95**3], rtol=1e-6)


def test_adam_complex_parameter_matches_real_pair():
    z = nn.Parameter(tg.tensor(np.array([1 + 2j, -0.5 + 0.25j], dtype=np.complex128)))
    r = nn.Parameter(tg.tensor(np.array([[1.0, 2.0], [-0.5, 0.25]])))
    oz, orr = Adam([z], lr=0.1), Adam([r], lr=0.1)
    for _ in range(3):
        z.grad = tg.tensor(np.array([0.3 - 1j, 2 + 0.5j]))
        r.grad = tg.tensor(np.array([[0.3, -1.0], [2.0, 0.5]]))
        oz.step()
        orr.step()
    np.testing.assert_allclose(
        z.detach().numpy().view(np.float64).reshape(2, 2), r.detach().numpy(), rtol=1e-12
    )


def test_parameters_without_grad_are_left_alone():
    a, b = nn.Parameter(tg.ones(2)), nn.Parameter(tg.ones(2))
    opt = Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    opt.step()
    assert b.detach().tolist() == [1.0, 1.0]
    assert a.detach().tolist() != [1.0, 1.0]
    assert b not in opt.state


def test_zero_grad_to_none_and_to_zeros():
    w = nn.Parameter(tg.ones(3))
    opt = SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_step_invalidates_values_saved_for_backward():
    w = nn.Parameter(tg.tensor([1.0, 2.0]))
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    pending = (w * w).sum()  # saves w
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        pending.backward()


def test_closure_is_called_with_grad_enabled_and_its_loss_returned():
    w = nn.Parameter(tg.tensor([1.0]))
    opt = SGD([w], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 1.0
    assert w.item() == 0.0


def test_state_dict_round_trip_through_a_file_resumes_exactly(tmp_path):
    x, y = data()
    straight = mlp()
    opt = Adam(straight.parameters(), lr=1e-2, amsgrad=True)
    train(straight, opt, x, y, steps=20)

    first = mlp()
    opt1 = Adam(first.parameters(), lr=1e-2, amsgrad=True)
    train(first, opt1, x, y, steps=10)
    path = tmp_path / "checkpoint.tg"
    save({"model": first.state_dict(), "optim": opt1.state_dict()}, path)
    assert path.exists() and not (tmp_path / "checkpoint.tg.npz").exists()

    checkpoint = load(path)
    resumed = mlp(seed=123)
    resumed.load_state_dict(checkpoint["model"])
    opt2 = Adam(resumed.parameters(), lr=0.5)
    opt2.load_state_dict(checkpoint["optim"])
    assert opt2.param_groups[0]["lr"] == 1e-2
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    train(resumed, opt2, x, y, steps=10)
    for p, q in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_copies_and_casts_state():
    w = nn.Parameter(tg.zeros(2, dtype=tg.float64))
    opt = SGD([w], lr=0.1, momentum=0.9)
    buf = tg.tensor([1.0, 2.0])  # float32
    opt.load_state_dict(
        {
            "state": {"0": {"momentum_buffer": buf}},
            "param_groups": [
                {
                    "lr": 0.2,
                    "momentum": 0.9,
                    "dampening": 0.0,
                    "weight_decay": 0.0,
                    "nesterov": False,
                    "maximize": False,
                    "params": [0],
                }
            ],
        }
    )
    loaded = opt.state[w]["momentum_buffer"]
    assert loaded.dtype == np.float64
    buf.data[0] = 100.0
    assert loaded.tolist() == [1.0, 2.0]
    assert opt.param_groups[0]["lr"] == 0.2 and opt.param_groups[0]["params"] == [w]


def test_load_state_dict_rejects_mismatched_groups():
    a, b = nn.Parameter(tg.ones(1)), nn.Parameter(tg.ones(1))
    sd = SGD([a], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        SGD([a, b], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: SGD(p, lr=-1), "Invalid learning rate: -1"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (lambda p: AdamW(p, eps=-1e-8), "Invalid epsilon value"),
    ],
)
def test_invalid_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(tg.ones(1))])


def test_invalid_parameter_lists():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        SGD(nn.Parameter(tg.ones(1)), lr=0.1)
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {w}}], lr=0.1)
    opt = SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})


def test_repr_lists_each_group_sorted_like_pytorch():
    opt = Adam([nn.Parameter(tg.ones(1))], lr=0.01)
    assert repr(opt) == (
        "Adam (\n"
        "Parameter Group 0\n"
        "    amsgrad: False\n"
        "    betas: (0.9, 0.999)\n"
        "    decoupled_weight_decay: False\n"
        "    eps: 1e-08\n"
        "    lr: 0.01\n"
        "    maximize: False\n"
        "    weight_decay: 0.0\n"
        ")"
    )
    assert isinstance(opt, Optimizer)
