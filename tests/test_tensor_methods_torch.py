"""The Tensor methods that are PyTorch's top-level functions applied to the tensor give
PyTorch's values, dtypes and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")

SQUARE = [[2.0, 0.5, 0.1], [0.3, 1.5, 0.2], [0.4, 0.6, 1.8]]  # well-conditioned, SPD-ish
UNIT = [[0.1, -0.4, 0.7], [0.2, 0.5, -0.3]]  # inside (-1, 1)
ABOVE_ONE = [[1.5, 2.0, 3.0], [1.2, 4.0, 2.5]]

# name -> (values of self, call on the tensor given the module)
CASES = {
    "subtract": (UNIT, lambda m, x: x.subtract(m.ones(3), alpha=2)),
    "multiply": (UNIT, lambda m, x: x.multiply(x)),
    "divide": (ABOVE_ONE, lambda m, x: x.divide(m.tensor([2.0, 4.0, 8.0]))),
    "true_divide": (ABOVE_ONE, lambda m, x: x.true_divide(3.0)),
    "negative": (UNIT, lambda m, x: x.negative()),
    "exp2": (UNIT, lambda m, x: x.exp2()),
    "expm1": (UNIT, lambda m, x: x.expm1()),
    "log2": (ABOVE_ONE, lambda m, x: x.log2()),
    "log10": (ABOVE_ONE, lambda m, x: x.log10()),
    "tan": (UNIT, lambda m, x: x.tan()),
    "arcsin": (UNIT, lambda m, x: x.arcsin()),
    "arccos": (UNIT, lambda m, x: x.arccos()),
    "arctan": (UNIT, lambda m, x: x.arctan()),
    "arctan2": (UNIT, lambda m, x: x.arctan2(x * 0.5 + 1.0)),
    "sinh": (UNIT, lambda m, x: x.sinh()),
    "cosh": (UNIT, lambda m, x: x.cosh()),
    "arcsinh": (UNIT, lambda m, x: x.arcsinh()),
    "arccosh": (ABOVE_ONE, lambda m, x: x.arccosh()),
    "arctanh": (UNIT, lambda m, x: x.arctanh()),
    "hypot": (UNIT, lambda m, x: x.hypot(x + 2.0)),
    "logaddexp": (UNIT, lambda m, x: x.logaddexp(x * 3.0)),
    "sinc": (UNIT, lambda m, x: x.sinc()),
    "prod": (ABOVE_ONE, lambda m, x: x.prod(dim=1, keepdim=True)),
    "prod all": (ABOVE_ONE, lambda m, x: x.prod()),
    "var": (UNIT, lambda m, x: x.var(dim=0)),
    "var correction": (UNIT, lambda m, x: x.var(dim=1, correction=0, keepdim=True)),
    "std": (UNIT, lambda m, x: x.std()),
    "std unbiased": (UNIT, lambda m, x: x.std(1, unbiased=False)),
    "norm": (UNIT, lambda m, x: x.norm()),
    "norm p dim": (UNIT, lambda m, x: x.norm(p=1, dim=1)),
    "cumsum": (UNIT, lambda m, x: x.cumsum(dim=1)),
    "cumprod": (ABOVE_ONE, lambda m, x: x.cumprod(0)),
    "moveaxis": (UNIT, lambda m, x: x.moveaxis(0, 1)),
    "broadcast_to": (UNIT, lambda m, x: x[0].broadcast_to((4, 3))),
    "flip": (UNIT, lambda m, x: x.flip(0, 1)),
    "flip list": (UNIT, lambda m, x: x.flip([1])),
    "roll": (UNIT, lambda m, x: x.roll(1, 1)),
    "tile": (UNIT, lambda m, x: x.tile(2, 1)),
    "repeat": (UNIT, lambda m, x: x.repeat(2, 1, 2)),
    "tril": (SQUARE, lambda m, x: x.tril()),
    "triu": (SQUARE, lambda m, x: x.triu(1)),
    "diagonal": (SQUARE, lambda m, x: x.diagonal(offset=1)),
    "trace": (SQUARE, lambda m, x: x.trace()),
    "take": (UNIT, lambda m, x: x.take(m.tensor([0, 4, 4]))),
    "take_along_dim": (UNIT, lambda m, x: x.take_along_dim(m.tensor([[0], [2]]), dim=1)),
    "gather": (UNIT, lambda m, x: x.gather(1, m.tensor([[2, 0], [1, 1]]))),
    "inner": (UNIT, lambda m, x: x.inner(x)),
    "outer": (UNIT, lambda m, x: x[0].outer(x[1])),
    "kron": (UNIT, lambda m, x: x.kron(x)),
    "inverse": (SQUARE, lambda m, x: x.inverse()),
    "det": (SQUARE, lambda m, x: x.det()),
    "slogdet": (SQUARE, lambda m, x: x.slogdet()[1]),
    "pinverse": (UNIT, lambda m, x: x.pinverse()),
    "where": (UNIT, lambda m, x: x.where(x > 0, x * 10.0)),
    "split": (UNIT, lambda m, x: x.split(2, dim=1)[1]),
    "chunk": (UNIT, lambda m, x: x.chunk(3, dim=1)[2]),
    "unbind": (UNIT, lambda m, x: x.unbind(1)[0]),
    "floor": (ABOVE_ONE, lambda m, x: x.floor() * x),
    "bmm": (SQUARE, lambda m, x: x[None].bmm(x[None])),
    "mv": (SQUARE, lambda m, x: x.mv(x[0])),
    "diag": (UNIT, lambda m, x: x[1].diag(1)),
    "swapdims": (UNIT, lambda m, x: x.swapdims(0, 1)),
    "movedim": (UNIT, lambda m, x: x.movedim(0, 1)),
    "ravel": (UNIT, lambda m, x: x.ravel()),
    "ravel_of_t": (UNIT, lambda m, x: x.t().ravel()),
    "type_as": (UNIT, lambda m, x: x.type_as(m.zeros(1, dtype=m.float32))),
    "narrow": (UNIT, lambda m, x: x.narrow(1, 1, 2)),
    "select": (UNIT, lambda m, x: x.select(-1, 2)),
    "index_select": (UNIT, lambda m, x: x.index_select(1, m.tensor([2, 0, 2]))),
    "round": (ABOVE_ONE, lambda m, x: (x * 1.7).round() * x),
    "round decimals": (UNIT, lambda m, x: (x / 3).round(decimals=2) * x),
    "ceil": (UNIT, lambda m, x: (x * 3).ceil() * x),
    "trunc": (UNIT, lambda m, x: (x * 3).trunc() * x),
    "rsqrt": (ABOVE_ONE, lambda m, x: x.rsqrt()),
    "masked_fill": (UNIT, lambda m, x: x.masked_fill(x > 0.15, 0.5)),
    "masked_fill broadcast": (UNIT, lambda m, x: x.masked_fill(m.tensor([True, False, True]), -1)),
    "addmm": (SQUARE, lambda m, x: x.addmm(x, x.T, beta=0.5, alpha=2)),
    "addmm broadcast": (SQUARE, lambda m, x: m.addmm(x[0], x, x)),
    "addcmul": (UNIT, lambda m, x: x.addcmul(x, x * 2, value=0.5)),
    "addcdiv": (UNIT, lambda m, x: x.addcdiv(x + 1, x + 2, value=-1)),
    "lerp": (UNIT, lambda m, x: x.lerp(x * 3, 0.3)),
    "lerp tensor weight": (UNIT, lambda m, x: m.lerp(x, x.flip(1), x)),
}


def _run(module, values, call):
    x = module.tensor(values, dtype=module.float64, requires_grad=True)
    out = call(module, x)
    weights = module.arange(1, out.numel() + 1, dtype=module.float64).reshape(out.shape)
    (out * weights).sum().backward()
    return out.detach().numpy(), str(out.dtype).replace("torch.", ""), x.grad.numpy()


@pytest.mark.parametrize("case", sorted(CASES))
def test_method_gives_pytorchs_values_and_gradients(case):
    values, call = CASES[case]
    got, got_dtype, got_grad = _run(tg, values, call)
    want, want_dtype, want_grad = _run(torch, values, call)
    assert got_dtype == want_dtype
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-8, atol=1e-10)


def test_repeat_needs_a_size_per_dimension():
    x = tg.ones(2, 3)
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        torch.ones(2, 3).repeat(2)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: x.new_zeros(2, 3),
        lambda m, x: x.new_ones((4,)),
        lambda m, x: x.new_full((2,), 3.5),
        lambda m, x: x.new_tensor([1, 2]),
        lambda m, x: x.new_tensor([0.1], dtype=m.float32),
        lambda m, x: x.new_empty(3).fill_(2.0),
    ],
)
def test_new_tensors_take_the_dtype_of_the_tensor(call):
    got = call(tg, tg.tensor([1.0, 2.0], dtype=tg.float64))
    want = call(torch, torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    assert not got.requires_grad and got.grad_fn is None
    np.testing.assert_array_equal(got.numpy(), want.numpy())


SORTABLE = [[0.3, float("nan"), 0.3, -1.0, 2.0], [2.0, 0.5, 0.5, 0.1, -np.inf]]
DISTINCT = [[0.3, 0.9, 0.2, -1.0, 0.4], [2.0, 0.5, 0.7, 0.1, -3.0]]


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_as_pytorch_stable(dim, descending):
    def run(module, values, differentiate):
        x = module.tensor(values, dtype=module.float64, requires_grad=True)
        out = x.sort(dim=dim, descending=descending, stable=True)
        if not differentiate:
            return out.values.detach().numpy(), out.indices.numpy()
        weights = module.arange(1.0, 11.0, dtype=module.float64).reshape(2, 5)
        (out.values * weights).sum().backward()
        return out.values.detach().numpy(), out.indices.numpy(), x.grad.numpy()

    # Ties, NaN (the largest value) and infinities: the order; distinct values: gradients too.
    for values, differentiate in ((SORTABLE, False), (DISTINCT, True)):
        ours = run(tg, values, differentiate)
        theirs = run(torch, values, differentiate)
        for got, want in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("k", "dim", "largest"), [(2, 1, True), (3, 1, False), (1, 0, True)])
def test_topk_as_pytorch(k, dim, largest):
    results = []
    for module in (tg, torch):
        x = module.tensor(DISTINCT, dtype=module.float64, requires_grad=True)
        out = x.topk(k, dim=dim, largest=largest)
        weights = module.arange(1.0, out.values.numel() + 1, dtype=module.float64)
        (out.values * weights.reshape(out.values.shape)).sum().backward()
        results.append((out.values.detach().numpy(), out.indices.numpy(), x.grad.numpy()))
    for got, want in zip(*results, strict=True):
        np.testing.assert_array_equal(got, want)


def test_topk_refuses_k_beyond_the_dimension():
    with pytest.raises(RuntimeError, match="out of range"):
        tg.topk(tg.tensor([1.0, 2.0]), 3)


def test_addmm_with_beta_zero_ignores_the_input_as_pytorch() -> None:
    nan = np.full((2, 2), np.nan)
    a = np.arange(6.0).reshape(2, 3)
    ours = tg.addmm(tg.tensor(nan, requires_grad=True), tg.tensor(a), tg.tensor(a.T), beta=0)
    theirs = torch.addmm(torch.tensor(nan), torch.tensor(a), torch.tensor(a.T), beta=0)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())
    assert ours.grad_fn.name() == "AddmmBackward0"
