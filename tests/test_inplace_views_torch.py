"""In-place changes through views of every kind, compared with PyTorch.

A view made by reshaping, transposing, permuting, (un)squeezing, taking a diagonal, slicing or
selecting shares its base's memory; changing it in place changes the base. PyTorch records
that on the base as ``CopySlices`` and remakes the view as ``AsStridedBackward0``; tapegrad
writes the view's new value into its base at the positions of the view's elements (through
each view a view was taken of) and shows the same nodes.

Each program runs with PyTorch and with tapegrad; for every tensor it returns the test
compares the values, the version counter, and the node names two levels deep, then the
gradients of a weighted sum of the results with respect to all the leaves. Programs that
PyTorch refuses are compared by the error's type and message.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from devices import DEVICES, DeviceKind, device_params

import tapegrad as tg

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

RNG = np.random.default_rng(11)
X = np.round(RNG.uniform(-2.0, 2.0, (2, 3)), 2)
Y = np.round(RNG.uniform(-2.0, 2.0, 3), 2)
P = np.round(RNG.uniform(-2.0, 2.0, 2), 2)
A = np.round(RNG.uniform(-2.0, 2.0, (3, 3)), 2)
Z = np.round(RNG.uniform(-2.0, 2.0, (2, 3, 4)), 2)
S = np.array(0.75)

TORCH = SimpleNamespace(lib=torch, name="torch")
TAPEGRAD = SimpleNamespace(lib=tg, name="tapegrad")

ACC = "torch::autograd::AccumulateGrad"
COPY_SLICES = "torch::autograd::CopySlices"
MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace"
OVERLAP = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)
NO_GRAD_VIEW = "A view was created in no_grad mode and is being modified inplace with grad mode"


def names(node: Any, depth: int = 2) -> Any:
    """``node``'s name and, ``depth`` levels down, those of its next functions."""
    if node is None:
        return None
    if depth == 0:
        return node.name()
    return (node.name(), tuple(names(n, depth - 1) for n, _ in node.next_functions))


def weights(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed weights of ``shape`` that tell every element apart."""
    n = int(np.prod(shape, dtype=int))
    return (np.cos(np.arange(n) * 1.3) + 1.5).reshape(shape)


def version(m: SimpleNamespace, t: Any) -> int:
    return t._version if m is TORCH else t._version_value


def _leaves(m: SimpleNamespace) -> dict[str, Any]:
    return {
        k: m.lib.tensor(v, dtype=m.lib.float64, requires_grad=True)
        for k, v in (("x", X), ("y", Y), ("p", P), ("a", A), ("z", Z), ("s", S))
    }


def _zeros(m: SimpleNamespace, *shape: int) -> Any:
    return m.lib.zeros(*shape, dtype=m.lib.float64)


# --------------------------------------------------------------------------- programs
# program(m, x, y, p, a, z, s) -> the tensors to compare; x (2, 3), y (3,), p (2,), a (3, 3),
# z (2, 3, 4) and s (0-d) are float64 leaves that require grad.


def t_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.mul_(2.0)
    return b, v


def t_mul_tensor(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.mul_(y[:, None])
    return b, v


def view_add(m, x, y, p, a, z, s):
    b = x * 1
    v = b.view(6)
    v.add_(1.0)
    return b, v


def view_minus_one_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b.view(-1)
    v.mul_(s)
    return b, v


def permute_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b.permute(1, 0)
    v.mul_(3.0)
    return b, v


def permute_3d(m, x, y, p, a, z, s):
    c = z * 1
    v = c.permute(2, 0, 1)
    v.mul_(y)
    return c, v


def permute_3d_setitem(m, x, y, p, a, z, s):
    c = z * 1
    v = c.permute(1, 2, 0)
    v[1, 2] = p
    return c, v


def diagonal_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b.diagonal()
    v.mul_(2.0)
    return b, v


def diagonal_offset(m, x, y, p, a, z, s):
    c = a * 1
    v = c.diagonal(1)
    v.add_(p)
    return c, v


def diagonal_negative_offset(m, x, y, p, a, z, s):
    c = a * 1
    v = c.diagonal(-1)
    v.mul_(p)
    return c, v


def diagonal_dims(m, x, y, p, a, z, s):
    c = z * 1
    v = c.diagonal(0, 1, 2)
    v.mul_(2.0)
    return c, v


def unsqueeze_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b.unsqueeze(0)
    v.mul_(2.0)
    return b, v


def unsqueeze_squeeze(m, x, y, p, a, z, s):
    b = x * 1
    u = b.unsqueeze(1)
    v = u.squeeze(1)
    v.add_(y)
    return b, u, v


def squeeze_mul(m, x, y, p, a, z, s):
    c = (x * 1).reshape(2, 1, 3)
    v = c.squeeze(1)
    v.mul_(y)
    return c, v


def unsqueeze_0d(m, x, y, p, a, z, s):
    c = s * 1
    v = c.unsqueeze(0)
    v.mul_(3.0)
    return c, v


def narrow_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b.narrow(1, 1, 2)
    v.mul_(p[:, None])
    return b, v


def select_add(m, x, y, p, a, z, s):
    b = x * 1
    v = b.select(1, 2)
    v.add_(s)
    return b, v


def element_mul(m, x, y, p, a, z, s):
    """One element is a 0-d view (NumPy alone gives a copy): writes through it reach ``b``."""
    b = x * 1
    v = b[1, 2]
    v.mul_(s)
    return b, v


def flat_element_add(m, x, y, p, a, z, s):
    b = x * 1
    v = b.view(-1)[4]
    v.add_(y[0])
    return b, v


def element_of_row_fill(m, x, y, p, a, z, s):
    b = x * 1
    v = b[0][1]
    v.fill_(s)
    return b, v


def step_slice_mul(m, x, y, p, a, z, s):
    b = x * 1
    v = b[:, ::2]
    v.mul_(2.0)
    return b, v


def step_slice_of_t(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()[::2]
    v.sub_(x.t()[::2])
    return b, v


def reshape_row_zero(m, x, y, p, a, z, s):
    b = x * 1
    u = b.reshape(3, 2)
    v = u[0]
    v.zero_()
    return b, u, v


def view_of_view_of_view(m, x, y, p, a, z, s):
    b = x * 1
    w = b.view(6)
    u = w[1:5]
    v = u.view(2, 2)
    v.mul_(2.0)
    return b, w, u, v


def view_of_view_of_view_tensor(m, x, y, p, a, z, s):
    c = a * 1
    w = c.t()
    u = w[1:]
    v = u.diagonal()
    v.mul_(p)
    return c, w, u, v


def t_setitem_float(m, x, y, p, a, z, s):
    b = x * 1
    v = b.T
    v[0] = 5.0
    return b, v


def t_setitem_tensor(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v[1] = p
    return b, v


def t_setitem_column(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v[:, 0] = y
    return b, v


def t_setitem_list(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v[[0, 2]] = s
    return b, v


def setitem_on_t_of_base(m, x, y, p, a, z, s):
    b = x * 1
    b.T[0] = s
    return (b,)


def t_copy(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.copy_(x.t() * 3)
    return b, v


def t_fill_tensor(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.fill_(s)
    return b, v


def t_exp(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.exp_()
    return b, v


def t_clamp(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.clamp_(-0.5, 0.5)
    return b, v


def t_pow(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.pow_(2)
    return b, v


def t_twice(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.mul_(2.0)
    v.add_(y[:, None])
    return b, v


def two_views(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    w = b.view(6)
    v.mul_(2.0)
    w.add_(s)
    return b, v, w


def two_views_saved(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    w = b.view(6)
    v.mul_(y[:, None])
    w.mul_(m.lib.cat([y, y]))  # the rule for y saves w's old value
    return b, v, w


def view_then_base(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    v.mul_(2.0)
    b.add_(y)
    return b, v


def base_then_view(m, x, y, p, a, z, s):
    b = x * 1
    v = b.diagonal()
    b.mul_(y)
    v.add_(1.0)
    return b, v


def stale_view_of_view(m, x, y, p, a, z, s):
    b = x * 1
    w = b.t()
    u = w[1:]
    b.mul_(2.0)
    return (u,)


def untracked_base_row(m, x, y, p, a, z, s):
    b = _zeros(m, 2, 3)
    v = b[0]
    v.add_(y)
    return b, v


def untracked_base_t(m, x, y, p, a, z, s):
    b = _zeros(m, 3, 2)
    v = b.t()
    v.add_(x)
    return b, v


def untracked_base_view_of_view(m, x, y, p, a, z, s):
    b = _zeros(m, 3, 2)
    u = b.t()
    v = u[1]
    v.copy_(y * 2)
    return b, u, v


def untracked_base_setitem(m, x, y, p, a, z, s):
    b = _zeros(m, 2, 3)
    v = b.t()
    v[2] = p
    return b, v


def untracked_base_diagonal(m, x, y, p, a, z, s):
    b = _zeros(m, 3, 3)
    v = b.diagonal()
    v.mul_(2.0)  # nothing to record: the base stays without grad
    v.add_(y)
    return b, v


def untracked_base_sibling(m, x, y, p, a, z, s):
    b = _zeros(m, 2, 3)
    v = b[0]
    w = b.t()
    v.add_(y)
    w.mul_(2.0)
    return b, w


def expand_no_overlap(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(1, 3)
    v.mul_(2.0)
    return c, v


def expand_zero(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(2, 3)
    v.zero_()
    return c, v


def expand_fill(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(2, 3)
    v.fill_(1.5)
    return c, v


def expand_row_setitem(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(2, 3)
    v[0] = p[0]
    return c, v


def expand_row_mul(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(2, 3)[1]
    v.mul_(x[0])
    return c, v


def expand_t_column_mul(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(2, 3).t()[:, 1]
    v.mul_(p[1])
    return c, v


def no_grad_expanded_row_setitem(m, x, y, p, a, z, s):
    c = y * 1
    v = c.expand(2, 3)
    with m.lib.no_grad():
        v[1] = 2.0
    return c, v


def no_grad_write_through_t(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    with m.lib.no_grad():
        v.mul_(2.0)
    return b, v


def no_grad_write_through_diagonal(m, x, y, p, a, z, s):
    b = x * 1
    v = b.diagonal()
    with m.lib.no_grad():
        v.add_(1.0)
        v.clamp_(0.0, 1.5)
        b.diagonal()[1] = 7.0
    return b, v


def views_of_dropped_views(m, x, y, p, a, z, s):
    """Views of views of a tensor without grad, the views between them dropped: tapegrad
    finds their elements from where they lie in the storage."""
    b = _zeros(m, 4, 3)
    v = b.t()[1:].diagonal()
    v.add_(p)
    u = b[1:, ::2].t().unsqueeze(0)
    u.mul_(1.5)
    u.sub_(x * 2)
    return b, v, u


# name: program
CASES: dict[str, Callable[..., tuple[Any, ...]]] = {
    "t_mul": t_mul,
    "t_mul_tensor": t_mul_tensor,
    "view_add": view_add,
    "view_minus_one_mul": view_minus_one_mul,
    "permute_mul": permute_mul,
    "permute_3d": permute_3d,
    "permute_3d_setitem": permute_3d_setitem,
    "diagonal_mul": diagonal_mul,
    "diagonal_offset": diagonal_offset,
    "diagonal_negative_offset": diagonal_negative_offset,
    "diagonal_dims": diagonal_dims,
    "unsqueeze_mul": unsqueeze_mul,
    "unsqueeze_squeeze": unsqueeze_squeeze,
    "squeeze_mul": squeeze_mul,
    "unsqueeze_0d": unsqueeze_0d,
    "narrow_mul": narrow_mul,
    "select_add": select_add,
    "element_mul": element_mul,
    "flat_element_add": flat_element_add,
    "element_of_row_fill": element_of_row_fill,
    "step_slice_mul": step_slice_mul,
    "step_slice_of_t": step_slice_of_t,
    "reshape_row_zero": reshape_row_zero,
    "view_of_view_of_view": view_of_view_of_view,
    "view_of_view_of_view_tensor": view_of_view_of_view_tensor,
    "t_setitem_float": t_setitem_float,
    "t_setitem_tensor": t_setitem_tensor,
    "t_setitem_column": t_setitem_column,
    "t_setitem_list": t_setitem_list,
    "setitem_on_t_of_base": setitem_on_t_of_base,
    "t_copy": t_copy,
    "t_fill_tensor": t_fill_tensor,
    "t_exp": t_exp,
    "t_clamp": t_clamp,
    "t_pow": t_pow,
    "t_twice": t_twice,
    "two_views": two_views,
    "two_views_saved": two_views_saved,
    "view_then_base": view_then_base,
    "base_then_view": base_then_view,
    "stale_view_of_view": stale_view_of_view,
    "untracked_base_row": untracked_base_row,
    "untracked_base_t": untracked_base_t,
    "untracked_base_view_of_view": untracked_base_view_of_view,
    "untracked_base_setitem": untracked_base_setitem,
    "untracked_base_diagonal": untracked_base_diagonal,
    "expand_no_overlap": expand_no_overlap,
    "expand_row_setitem": expand_row_setitem,
    "expand_row_mul": expand_row_mul,
    "expand_t_column_mul": expand_t_column_mul,
    "no_grad_expanded_row_setitem": no_grad_expanded_row_setitem,
    "no_grad_write_through_t": no_grad_write_through_t,
    "no_grad_write_through_diagonal": no_grad_write_through_diagonal,
    "views_of_dropped_views": views_of_dropped_views,
}


def _forward(m: SimpleNamespace, program: Callable[..., tuple[Any, ...]]):
    """The leaves, the results, and the results' values, versions and graphs."""
    leaves = _leaves(m)
    outs = program(m, **leaves)
    run = {
        "graphs": [names(o.grad_fn) for o in outs],
        "values": [np.array(o.detach().numpy(), dtype=np.float64) for o in outs],
        "versions": [version(m, o) for o in outs],
    }
    return leaves, outs, run


def _backward(m: SimpleNamespace, leaves: dict[str, Any], outs: tuple[Any, ...]) -> dict[str, Any]:
    """The leaves' gradients of a weighted sum of the results."""
    total = None
    for o in outs:
        term = (o * m.lib.tensor(weights(tuple(o.shape)), dtype=m.lib.float64)).sum()
        total = term if total is None else total + term
    total.backward()
    return {k: None if t.grad is None else np.asarray(t.grad.numpy()) for k, t in leaves.items()}


def _run(m: SimpleNamespace, program: Callable[..., tuple[Any, ...]]) -> dict[str, Any]:
    leaves, outs, run = _forward(m, program)
    run["grads"] = _backward(m, leaves, outs)
    return run


def _compare(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours["graphs"] == theirs["graphs"]
    assert ours["versions"] == theirs["versions"]
    assert len(ours["values"]) == len(theirs["values"])
    for a, b in zip(ours["values"], theirs["values"]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    if "grads" not in theirs:
        return
    for k, g in theirs["grads"].items():
        if g is None:
            assert ours["grads"][k] is None, k
        else:
            assert ours["grads"][k] is not None, k
            np.testing.assert_allclose(ours["grads"][k], g, rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("case", list(CASES))
def test_in_place_through_views_matches_torch(case: str) -> None:
    program = CASES[case]
    theirs = _run(TORCH, program)
    ours = _run(TAPEGRAD, program)
    _compare(ours, theirs)


def test_values_of_the_table_are_written_through() -> None:
    """A few of the programs above, with their values spelled out."""
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = x * 1
    b.t().mul_(2)
    assert b.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
    b = x * 1
    b.diagonal().mul_(10)
    assert b.tolist() == [[0.0, 1.0, 2.0], [3.0, 40.0, 5.0]]
    b = x * 1
    b.reshape(3, 2)[0].zero_()
    assert b.tolist() == [[0.0, 0.0, 2.0], [3.0, 4.0, 5.0]]
    b.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]
    x.grad = None
    b = x * 1
    b.T[0] = 5.0
    assert b.tolist() == [[5.0, 1.0, 2.0], [5.0, 4.0, 5.0]]
    b.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    y = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = tg.zeros(2, 3)
    c[0].add_(y)
    assert c.requires_grad and c.tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    (c * 2).sum().backward()
    assert y.grad.tolist() == [2.0, 2.0, 2.0]


# --------------------------------------------------------------------------- errors


def _error(m: SimpleNamespace, program: Callable[..., Any]) -> BaseException:
    leaves = _leaves(m)
    with pytest.raises(Exception) as info:
        program(m, **leaves)
    return info.value


def saved_base_then_view(m, x, y, p, a, z, s):
    b = x * 1
    c = b * b  # saves b
    b.t().mul_(2.0)
    c.sum().backward()


def saved_element_then_base(m, x, y, p, a, z, s):
    """An element is a view: it shares its base's version counter."""
    b = x * 1
    e = b[0, 0]
    out = e * e
    b.add_(1.0)
    out.backward()


def saved_view_then_sibling(m, x, y, p, a, z, s):
    b = x * 1
    v = b.t()
    c = v.exp()  # saves its output, not b: no error from that
    d = v * y[:, None]  # saves the view v
    b.view(6).add_(1.0)
    (c.sum() + d.sum()).backward()


def saved_diagonal_then_transposed(m, x, y, p, a, z, s):
    b = x * 1
    c = b.diagonal().sin()  # saves the diagonal
    b.t().mul_(2.0)
    c.sum().backward()


def expanded_mul(m, x, y, p, a, z, s):
    c = y * 1
    c.expand(2, 3).mul_(2.0)


def expanded_add_tensor(m, x, y, p, a, z, s):
    c = y * 1
    c.expand(2, 3).add_(x)


def expanded_copy(m, x, y, p, a, z, s):
    c = y * 1
    c.expand(2, 3).copy_(x)


def expanded_fill_tensor(m, x, y, p, a, z, s):
    c = y * 1
    c.expand(2, 3).fill_(s)


def expanded_setitem_all(m, x, y, p, a, z, s):
    c = y * 1
    c.expand(2, 3)[:] = 1.0


def expanded_setitem_column(m, x, y, p, a, z, s):
    c = y * 1
    c.expand(2, 3)[:, 0] = s


def expanded_of_constant(m, x, y, p, a, z, s):
    c = _zeros(m, 3)
    c.expand(2, 3).add_(1.0)


def expanded_under_no_grad(m, x, y, p, a, z, s):
    c = y * 1
    with m.lib.no_grad():
        c.expand(2, 3).mul_(2.0)


def expanded_column_transposed(m, x, y, p, a, z, s):
    c = (y * 1).reshape(3, 1)
    c.expand(3, 2).t().exp_()


def no_grad_view_mul(m, x, y, p, a, z, s):
    b = x * 1
    with m.lib.no_grad():
        v = b.t()
    v.mul_(2.0)


def no_grad_view_of_leaf(m, x, y, p, a, z, s):
    with m.lib.no_grad():
        v = x.diagonal()
    v.add_(1.0)


def no_grad_view_add_tensor(m, x, y, p, a, z, s):
    b = x * 1
    with m.lib.no_grad():
        v = b[0]
    v.add_(y)


def view_of_leaf(m, x, y, p, a, z, s):
    x.t().mul_(2.0)


ERRORS: dict[str, tuple[Callable[..., Any], str]] = {
    "saved_base_then_view": (saved_base_then_view, MODIFIED),
    "saved_element_then_base": (saved_element_then_base, MODIFIED),
    "saved_view_then_sibling": (saved_view_then_sibling, MODIFIED),
    "saved_diagonal_then_transposed": (saved_diagonal_then_transposed, MODIFIED),
    "expanded_mul": (expanded_mul, OVERLAP),
    "expanded_add_tensor": (expanded_add_tensor, OVERLAP),
    "expanded_copy": (expanded_copy, OVERLAP),
    "expanded_fill_tensor": (expanded_fill_tensor, OVERLAP),
    "expanded_setitem_all": (expanded_setitem_all, OVERLAP),
    "expanded_setitem_column": (expanded_setitem_column, OVERLAP),
    "expanded_of_constant": (expanded_of_constant, OVERLAP),
    "expanded_under_no_grad": (expanded_under_no_grad, OVERLAP),
    "expanded_column_transposed": (expanded_column_transposed, OVERLAP),
    "no_grad_view_mul": (no_grad_view_mul, NO_GRAD_VIEW),
    "no_grad_view_of_leaf": (no_grad_view_of_leaf, NO_GRAD_VIEW),
    "no_grad_view_add_tensor": (no_grad_view_add_tensor, NO_GRAD_VIEW),
    "view_of_leaf": (view_of_leaf, "a view of a leaf Variable that requires grad"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_refused_as_in_torch(case: str) -> None:
    program, message = ERRORS[case]
    theirs = _error(TORCH, program)
    ours = _error(TAPEGRAD, program)
    assert type(theirs) is RuntimeError
    assert type(ours) is RuntimeError
    assert str(theirs).startswith(message)
    assert str(ours).startswith(message)
    if message in (OVERLAP, NO_GRAD_VIEW):
        assert str(ours) == str(theirs)


def test_overlapping_view_is_left_unchanged_by_a_refused_write() -> None:
    c = tg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="more than one element"):
        c.expand(2, 3).mul_(2.0)
    assert c.tolist() == [1.0, 2.0, 3.0]
    assert c._version_value == 0
    c.expand(2, 3).fill_(4.0)
    assert c.tolist() == [4.0, 4.0, 4.0]
    assert c._version_value == 1


# --------------------------------------------------------------------------- views of views


def test_views_of_dropped_views_are_found_in_the_storage() -> None:
    b = tg.zeros(4, 3, dtype=tg.float64)
    v = b.t()[1:].diagonal()
    made = v._extra["view"][0]
    assert made() is None  # the slice it was taken of is gone: held weakly
    y = tg.tensor(P, requires_grad=True)
    v.add_(y)  # (``views_of_dropped_views`` compares more with PyTorch)
    assert b.tolist() == [[0.0, P[0], 0.0], [0.0, 0.0, P[1]], [0.0] * 3, [0.0] * 3]
    assert names(v.grad_fn, 1) == ("AsStridedBackward0", (COPY_SLICES,))
    (b * 3).sum().backward()
    assert y.grad.tolist() == [3.0, 3.0]


def test_views_of_dropped_views_take_writes_without_grad() -> None:
    b = tg.zeros(4, 3, dtype=tg.float64)
    v = b.t()[1:].diagonal()  # a read-only NumPy diagonal
    v.add_(1.0)
    v[1] = 5.0
    with tg.no_grad():
        b.flip(0)[1:, ::2].t().fill_(2.0)
    tb = torch.zeros(4, 3, dtype=torch.float64)
    tv = tb.t()[1:].diagonal()
    tv.add_(1.0)
    tv[1] = 5.0
    tb.flip(0)[1:, ::2].t().fill_(2.0)  # (a copy in PyTorch: flip copies)
    # (``flip`` is a view in tapegrad, of negative steps, as in NumPy)
    assert b.tolist() == [
        [2.0, 1.0, 2.0],
        [2.0, 0.0, 2.0],
        [2.0, 0.0, 2.0],
        [0.0, 0.0, 0.0],
    ]
    assert tb.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 5.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert b._version_value == 3


def test_views_made_in_a_loop_do_not_hold_each_other() -> None:
    x = tg.zeros(4, 4, dtype=tg.float64)
    with tg.no_grad():
        v = x.t()
        first = weakref.ref(v)
        for _ in range(3):
            v = v.t()
    assert first() is None
    v.mul_(2.0)  # still written into x
    y = tg.tensor(np.arange(4.0), requires_grad=True)
    v[0].add_(y)
    assert x.requires_grad
    assert x[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert names(x.grad_fn) == (COPY_SLICES, (None, (ACC, ())))
    x.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_strided_owner() -> None:
    """A tensor over a strided NumPy array (``from_numpy``): its views' positions in it come
    from the storage too."""
    a = np.zeros((3, 8))
    b = tg.from_numpy(a[:, ::2])
    v = b.t()[::-1][1:]
    y = tg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    v.add_(y)
    expected = np.zeros((3, 4))
    expected.T[::-1][1:] += y.detach().numpy()
    np.testing.assert_array_equal(b.detach().numpy(), expected)
    np.testing.assert_array_equal(a[:, ::2], expected)
    (b * tg.tensor(weights((3, 4)))).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), weights((3, 4)).T[::-1][1:])


# --------------------------------------------------------------------------- differences


@pytest.mark.parametrize("program", [expand_zero, expand_fill])
def test_fill_of_an_expanded_view_differentiates(program: Callable[..., Any]) -> None:
    """``zero_`` and ``fill_`` with a number may write into a broadcast view (every element
    gets the same value): the forward, the nodes and the versions are PyTorch's. PyTorch's
    backward through that ``CopySlices`` then raises its overlap error; tapegrad's gives the
    gradient (none reaches the overwritten elements of the base)."""
    leaves, outs, theirs = _forward(TORCH, program)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        _backward(TORCH, leaves, outs)
    leaves, outs, ours = _forward(TAPEGRAD, program)
    _compare(ours, theirs)
    grads = _backward(TAPEGRAD, leaves, outs)
    assert grads["y"].tolist() == [0.0, 0.0, 0.0]
    assert all(grads[k] is None for k in "xpazs")


def _sibling(read_node: bool, by_tensor: bool) -> Callable[..., tuple[Any, ...]]:
    """``w`` is taken of ``b`` while ``b`` does not require grad; another view of ``b`` is
    then changed by a value that requires grad, and ``w`` changed in place."""

    def program(m, x, y, p, a, z, s):
        b = _zeros(m, 2, 3)
        v = b[0]
        w = b.t()[1:]
        v.add_(y)
        if read_node:
            w.grad_fn  # noqa: B018 (remakes the view's node in PyTorch)
        if by_tensor:
            w.mul_(x.t()[1:])
        else:
            w.add_(2.0)
        return b, w

    return program


@pytest.mark.parametrize("by_tensor", [True, False])
def test_sibling_view_of_a_base_that_came_to_require_grad(by_tensor: bool) -> None:
    """PyTorch remakes the node of such a view when asked for it, and records the change
    then; changed before, it takes the view for a leaf and raises. tapegrad remakes the view
    when it is changed in place, whether or not its node was read."""
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        _run(TORCH, _sibling(False, by_tensor))
    theirs = _run(TORCH, _sibling(True, by_tensor))
    _compare(_run(TAPEGRAD, _sibling(False, by_tensor)), theirs)
    _compare(_run(TAPEGRAD, _sibling(True, by_tensor)), theirs)


def test_sibling_view_follows_its_base_only_when_changed_in_place() -> None:
    """Used out of place, a view taken of ``b`` before ``b`` came to require grad (through
    another view) still does not require grad in tapegrad, where PyTorch remakes its node:
    operations do not look at how their inputs were made (that would slow every one)."""
    y = tg.tensor(Y, requires_grad=True)
    b = tg.zeros(2, 3, dtype=tg.float64)
    w = b[0]
    b[0].add_(y)
    assert b.requires_grad
    assert not w.requires_grad
    np.testing.assert_allclose((w * 2).numpy(), 2 * Y)

    ty = torch.tensor(Y, requires_grad=True)
    tb = torch.zeros(2, 3, dtype=torch.float64)
    tw = tb[0]
    tb[0].add_(ty)
    assert tw.requires_grad


# --------------------------------------------------------------------------- devices


def _on(kind: DeviceKind) -> SimpleNamespace:
    """tapegrad with the tensors the programs make placed on ``kind``."""

    def tensor(v: Any, dtype: Any = None, requires_grad: bool = False) -> Any:
        return kind.tensor(np.asarray(v), dtype=dtype, requires_grad=requires_grad)

    def zeros(*shape: int, dtype: Any = None) -> Any:
        return tensor(np.zeros(shape), dtype=dtype)

    lib = SimpleNamespace(
        tensor=tensor, zeros=zeros, cat=tg.cat, no_grad=tg.no_grad, float64=tg.float64
    )
    return SimpleNamespace(lib=lib, name=kind.name)


# (Not on the strict stand-in for a device array: its array module's functions give arrays
# whose ``base`` does not lead to their argument's, so its transposes and diagonals are not
# views of their argument there.)
@pytest.mark.parametrize("device", device_params(DEVICES))
@pytest.mark.parametrize(
    "case",
    [
        "t_mul_tensor",
        "permute_3d_setitem",
        "diagonal_offset",
        "unsqueeze_0d",
        "view_of_view_of_view_tensor",
        "t_setitem_list",
        "untracked_base_view_of_view",
        "expand_row_setitem",
        "no_grad_write_through_diagonal",
        "views_of_dropped_views",
    ],
)
def test_in_place_through_views_on_devices(device: DeviceKind, case: str) -> None:
    """The positions of a view's elements in its base are computed with the data's array
    module: the writes stay on the device."""
    program = CASES[case]
    theirs = _run(TORCH, program)
    m = _on(device)
    leaves = _leaves(m)
    outs = program(m, **leaves)
    assert [names(o.grad_fn) for o in outs] == theirs["graphs"]
    for o, value in zip(outs, theirs["values"]):
        np.testing.assert_allclose(device.tensor_to_host(o), value, rtol=1e-12, atol=1e-12)
    total = None
    for o in outs:
        term = (o * m.lib.tensor(weights(tuple(o.shape)), dtype=tg.float64)).sum()
        total = term if total is None else total + term
    total.backward()
    for k, g in theirs["grads"].items():
        ours = leaves[k].grad
        if g is None:
            assert ours is None, k
        else:
            np.testing.assert_allclose(device.tensor_to_host(ours), g, rtol=1e-12, atol=1e-12)
