"""In-place writes leave the graph PyTorch leaves, as seen through ``grad_fn``.

``b[idx] = v`` and in-place operations on views of ``b`` are recorded on ``b`` as an
``index_put``; ``b.grad_fn`` is then PyTorch's node for the write (``CopySlices``,
``IndexPutBackward0``, ``FillBackward3`` or ``CopyBackwards``), and a ``CopySlices`` leads, as
PyTorch's does, to what computed ``b`` before the write and then to the inputs of the operation
applied to the view other than the view itself (``v.mul_(2)``: ``(MulBackward0, None)``). The
view's own ``grad_fn`` is an ``AsStridedBackward0`` leading to that ``CopySlices``.

Each case runs the same program with PyTorch and tapegrad and compares, for every tensor it
returns, the node names two levels deep, the values, and the gradients of the sum of the
results with respect to the leaves. The cases after the table spell some of them out, and
document where tapegrad's graph still differs, and why (tests/test_inplace_views_torch.py
covers in-place writes through views other than indexing).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as tgF

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

RNG = np.random.default_rng(7)
#: Values away from the kinks of clamp, relu and the activations.
X = np.round(RNG.uniform(-2.0, 2.0, (4, 3)), 1) + 0.05
Q = RNG.standard_normal((2, 3))
R = RNG.standard_normal(3)
W = RNG.standard_normal((4, 3))
S = np.array(0.75)
MASK = X > 0

TORCH = SimpleNamespace(lib=torch, F=torch.nn.functional)
TAPEGRAD = SimpleNamespace(lib=tg, F=tgF)


def names(node: Any, depth: int = 2) -> Any:
    """``node``'s name and, ``depth`` levels down, those of its next functions, as nested
    tuples; ``None`` for a missing node."""
    if node is None:
        return None
    if depth == 0:
        return node.name()
    return (node.name(), tuple(names(n, depth - 1) for n, _ in node.next_functions))


def _leaves(m: SimpleNamespace) -> dict[str, Any]:
    return {
        "x": m.lib.tensor(X, requires_grad=True),
        "q": m.lib.tensor(Q, requires_grad=True),
        "r": m.lib.tensor(R, requires_grad=True),
        "w": m.lib.tensor(W, requires_grad=True),
        "s": m.lib.tensor(S, requires_grad=True),
    }


def _view_op(op: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """``op`` applied in place to the row ``b[0]`` of ``b = x * 1``: gives ``(b, b[0])``."""

    def program(m, x, q, r, w, s):
        b = x * 1
        v = b[0]
        op(m, v, q, r, s)
        return b, v

    return program


def _slice_op(op: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """``op`` applied in place to the rows ``b[1:3]`` of ``b = x * 1``: gives the two."""

    def program(m, x, q, r, w, s):
        b = x * 1
        v = b[1:3]
        op(m, v, q, r, s)
        return b, v

    return program


def _base_op(op: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """``op`` applied in place to ``b = x * 1`` itself, which is not a view."""

    def program(m, x, q, r, w, s):
        b = x * 1
        op(m, b, q, r, w, s)
        return (b,)

    return program


def _put(index: Callable[[SimpleNamespace], Any], value: Callable[..., Any]):
    """``b[index] = value`` on ``b = x * 1``."""

    def program(m, x, q, r, w, s):
        b = x * 1
        b[index(m)] = value(x, q, r, w, s)
        return (b,)

    return program


def _mask(m: SimpleNamespace) -> Any:
    return m.lib.tensor(MASK)


def _twice(m, x, q, r, w, s):
    b = x * 1
    b[0] = 5.0
    b[1] = r
    return (b,)


def _untracked_base(index):
    def program(m, x, q, r, w, s):
        b = m.lib.zeros(4, 3, dtype=m.lib.float64)
        b[index] = r
        return (b,)

    return program


def _zero_dim(m, x, q, r, w, s):
    c = x.sum() * 1
    c[...] = s
    return (c,)


def _view_twice(m, x, q, r, w, s):
    b = x * 1
    v = b[0]
    v.mul_(2.0)
    v.add_(1.0)
    return b, v


def _nested(op):
    def program(m, x, q, r, w, s):
        b = x * 1
        v = b[0]
        u = v[1:3]
        op(u, q, r, s)
        return b, v, u

    return program


def _chained_view(m, x, q, r, w, s):
    b = x * 1
    u = b[0][1:3]
    u.mul_(2.0)
    return b, u


def _view_put(index, value):
    def program(m, x, q, r, w, s):
        b = x * 1
        v = b[0]
        v[index(m)] = value(x, q, r, w, s)
        return b, v

    return program


def _base_changed(m, x, q, r, w, s):
    b = x * 1
    v = b[0]
    b.mul_(2.0)
    return b, v


def _row_and_base(m, x, q, r, w, s):
    b = x * 1
    v = b[0]
    v.add_(r)
    b.mul_(2.0)
    return b, v


# name: program(m, x, q, r, w, s) -> the tensors to compare; m holds the library and its
# functional module; x (4, 3), q (2, 3), r (3,), w (4, 3) and s (0-d) are leaves.
CASES: dict[str, Callable[..., tuple[Any, ...]]] = {
    # b[idx] = value on a tensor that is not a view
    "put_row_tensor": _put(lambda m: 0, lambda x, q, r, w, s: r),
    "put_row_float": _put(lambda m: 0, lambda x, q, r, w, s: 5.0),
    "put_row_0d": _put(lambda m: 0, lambda x, q, r, w, s: s),
    "put_row_constant": _put(lambda m: 0, lambda x, q, r, w, s: r.detach()),
    "put_rows": _put(lambda m: slice(1, 3), lambda x, q, r, w, s: q),
    "put_column": _put(lambda m: (slice(None), 1), lambda x, q, r, w, s: s),
    "put_ellipsis_column": _put(lambda m: (Ellipsis, 1), lambda x, q, r, w, s: s),
    "put_step": _put(lambda m: slice(0, 4, 2), lambda x, q, r, w, s: q),
    "put_none": _put(lambda m: None, lambda x, q, r, w, s: s),
    "put_0d_index": _put(lambda m: m.lib.tensor(1), lambda x, q, r, w, s: r),
    "put_true": _put(lambda m: True, lambda x, q, r, w, s: s),
    "put_list": _put(lambda m: [0, 2], lambda x, q, r, w, s: q),
    "put_list_float": _put(lambda m: [0, 2], lambda x, q, r, w, s: 1.0),
    "put_index_tensor": _put(lambda m: m.lib.tensor([3, 1]), lambda x, q, r, w, s: r),
    "put_list_columns": _put(lambda m: (slice(None), [0, 2]), lambda x, q, r, w, s: s),
    "put_ellipsis_list": _put(lambda m: (Ellipsis, [2, 0]), lambda x, q, r, w, s: s),
    "put_list_rows_slice": _put(lambda m: ([0, 2], slice(None)), lambda x, q, r, w, s: q),
    "put_pairs": _put(lambda m: ([0, 1], [1, 2]), lambda x, q, r, w, s: s),
    "put_slice_then_list": _put(lambda m: (slice(1, 3), [0, 2]), lambda x, q, r, w, s: s),
    "put_row_then_list": _put(lambda m: (0, [0, 2]), lambda x, q, r, w, s: s),
    "put_list_then_column": _put(lambda m: ([0, 2], 1), lambda x, q, r, w, s: s),
    "put_mask_float": _put(_mask, lambda x, q, r, w, s: 0.0),
    "put_mask_0d": _put(_mask, lambda x, q, r, w, s: s),
    "put_row_mask": _put(lambda m: (m.lib.tensor(MASK[:, 0]),), lambda x, q, r, w, s: r),
    "put_row_mask_column": _put(lambda m: (m.lib.tensor(MASK[:, 0]), 1), lambda x, q, r, w, s: s),
    "put_all_ellipsis_float": _put(lambda m: Ellipsis, lambda x, q, r, w, s: 5.0),
    "put_all_slice_0d": _put(lambda m: slice(None), lambda x, q, r, w, s: s),
    "put_all_slice_tensor": _put(lambda m: slice(None), lambda x, q, r, w, s: w),
    "put_all_two_slices": _put(lambda m: (slice(None), slice(None)), lambda x, q, r, w, s: s),
    "put_all_bounded_slice": _put(lambda m: slice(0, 4), lambda x, q, r, w, s: s),
    "put_all_long_slice": _put(lambda m: slice(0, 100), lambda x, q, r, w, s: w),
    "put_all_empty_tuple": _put(lambda m: (), lambda x, q, r, w, s: 2.0),
    "put_all_then_partial": _put(lambda m: (slice(None), slice(0, 2)), lambda x, q, r, w, s: s),
    "put_from_end": _put(lambda m: slice(-4, None), lambda x, q, r, w, s: s),
    "put_0d_tensor": _zero_dim,
    "put_twice": _twice,
    "put_untracked_row": _untracked_base(0),
    "put_untracked_list": _untracked_base([0, 2]),
    # in-place operations on the row b[0]
    "row_mul": _view_op(lambda m, v, q, r, s: v.mul_(2.0)),
    "row_mul_tensor": _view_op(lambda m, v, q, r, s: v.mul_(r)),
    "row_add": _view_op(lambda m, v, q, r, s: v.add_(r)),
    "row_add_float": _view_op(lambda m, v, q, r, s: v.add_(1.0)),
    "row_add_itself": _view_op(lambda m, v, q, r, s: v.add_(v)),
    "row_iadd": _view_op(lambda m, v, q, r, s: v.__iadd__(q[1])),
    "row_sub": _view_op(lambda m, v, q, r, s: v.sub_(r)),
    "row_div": _view_op(lambda m, v, q, r, s: v.div_(2.0)),
    "row_pow": _view_op(lambda m, v, q, r, s: v.pow_(2)),
    "row_copy": _view_op(lambda m, v, q, r, s: v.copy_(q[0])),
    "row_copy_constant": _view_op(lambda m, v, q, r, s: v.copy_(r.detach())),
    "row_zero": _view_op(lambda m, v, q, r, s: v.zero_()),
    "row_fill": _view_op(lambda m, v, q, r, s: v.fill_(1.0)),
    "row_fill_0d": _view_op(lambda m, v, q, r, s: v.fill_(s)),
    "row_clamp": _view_op(lambda m, v, q, r, s: v.clamp_(0)),
    "row_clamp_both": _view_op(lambda m, v, q, r, s: v.clamp_(-0.5, 0.5)),
    "row_exp": _view_op(lambda m, v, q, r, s: v.exp_()),
    "row_neg": _view_op(lambda m, v, q, r, s: v.neg_()),
    "row_sigmoid": _view_op(lambda m, v, q, r, s: v.sigmoid_()),
    "row_relu": _view_op(lambda m, v, q, r, s: v.relu_()),
    "row_masked_fill": _view_op(lambda m, v, q, r, s: v.masked_fill_(v > 0, 0.0)),
    "row_masked_fill_0d": _view_op(lambda m, v, q, r, s: v.masked_fill_(v > 0, s)),
    "row_elu_": _view_op(lambda m, v, q, r, s: m.F.elu_(v)),
    "row_leaky_relu_": _view_op(lambda m, v, q, r, s: m.F.leaky_relu_(v, 0.2)),
    "row_relu_inplace": _view_op(lambda m, v, q, r, s: m.F.relu(v, inplace=True)),
    "row_twice": _view_twice,
    # in-place operations on the rows b[1:3]
    "rows_mul": _slice_op(lambda m, v, q, r, s: v.mul_(2.0)),
    "rows_add": _slice_op(lambda m, v, q, r, s: v.add_(q)),
    "rows_add_broadcast": _slice_op(lambda m, v, q, r, s: v.add_(r)),
    "rows_copy": _slice_op(lambda m, v, q, r, s: v.copy_(q)),
    # views of views, and writes into a view by indexing
    "nested_mul": _nested(lambda u, q, r, s: u.mul_(2.0)),
    "nested_add": _nested(lambda u, q, r, s: u.add_(q[0, :2].detach() + s)),
    "chained_view_mul": _chained_view,
    "row_put_element": _view_put(lambda m: 1, lambda x, q, r, w, s: s),
    "row_put_list": _view_put(lambda m: [0, 2], lambda x, q, r, w, s: s),
    "row_put_all": _view_put(lambda m: slice(None), lambda x, q, r, w, s: r),
    "row_put_all_float": _view_put(lambda m: Ellipsis, lambda x, q, r, w, s: 3.0),
    # the base changed after a view of it was taken
    "base_changed": _base_changed,
    "row_then_base": _row_and_base,
    # in-place operations on a tensor that is not a view
    "mul": _base_op(lambda m, b, q, r, w, s: b.mul_(2.0)),
    "mul_tensor": _base_op(lambda m, b, q, r, w, s: b.mul_(r)),
    "imul": _base_op(lambda m, b, q, r, w, s: b.__imul__(r)),
    "add": _base_op(lambda m, b, q, r, w, s: b.add_(r)),
    "add_float": _base_op(lambda m, b, q, r, w, s: b.add_(1.0)),
    "sub": _base_op(lambda m, b, q, r, w, s: b.sub_(w)),
    "div": _base_op(lambda m, b, q, r, w, s: b.div_(r)),
    "pow": _base_op(lambda m, b, q, r, w, s: b.pow_(2)),
    "copy": _base_op(lambda m, b, q, r, w, s: b.copy_(w)),
    "copy_broadcast": _base_op(lambda m, b, q, r, w, s: b.copy_(r)),
    "copy_constant": _base_op(lambda m, b, q, r, w, s: b.copy_(r.detach())),
    "fill": _base_op(lambda m, b, q, r, w, s: b.fill_(1.0)),
    "zero": _base_op(lambda m, b, q, r, w, s: b.zero_()),
    "masked_fill": _base_op(lambda m, b, q, r, w, s: b.masked_fill_(m.lib.tensor(MASK), 0.0)),
    "masked_fill_0d": _base_op(lambda m, b, q, r, w, s: b.masked_fill_(m.lib.tensor(MASK), s)),
    "clamp": _base_op(lambda m, b, q, r, w, s: b.clamp_(0)),
    "clamp_both": _base_op(lambda m, b, q, r, w, s: b.clamp_(-0.5, 0.5)),
    "exp": _base_op(lambda m, b, q, r, w, s: b.exp_()),
    "abs": _base_op(lambda m, b, q, r, w, s: b.abs_()),
    "relu": _base_op(lambda m, b, q, r, w, s: b.relu_()),
    "elu_": _base_op(lambda m, b, q, r, w, s: m.F.elu_(b)),
    "leaky_relu_": _base_op(lambda m, b, q, r, w, s: m.F.leaky_relu_(b, 0.2)),
}


def _run(m: SimpleNamespace, program: Callable[..., tuple[Any, ...]]):
    """The results' graphs and values, and the leaves' gradients of the results' sum."""
    leaves = _leaves(m)
    outs = program(m, **leaves)
    graphs = [names(o.grad_fn) for o in outs]
    values = [np.array(o.detach().numpy(), dtype=np.float64) for o in outs]
    total = outs[0].sum()
    for o in outs[1:]:
        total = total + o.sum()
    total.backward()
    grads = {k: None if t.grad is None else np.asarray(t.grad.numpy()) for k, t in leaves.items()}
    return graphs, values, grads


def _compare_values(ours: list[Any], theirs: list[Any]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _compare_grads(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    for k in theirs:
        if theirs[k] is None:
            assert ours[k] is None or not np.any(ours[k]), k
        else:
            assert ours[k] is not None, k
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("case", list(CASES))
def test_in_place_graph_matches_torch(case: str) -> None:
    program = CASES[case]
    t_graphs, t_values, t_grads = _run(TORCH, program)
    graphs, values, grads = _run(TAPEGRAD, program)
    assert graphs == t_graphs
    _compare_values(values, t_values)
    _compare_grads(grads, t_grads)


def test_copy_slices_of_a_row_lead_past_the_operation() -> None:
    """The example of the module docstring, spelled out."""
    x = tg.tensor(X, requires_grad=True)
    b = x * 1
    v = b[0]
    v.mul_(2)
    assert names(b.grad_fn) == (
        "torch::autograd::CopySlices",
        (("MulBackward0", ("torch::autograd::AccumulateGrad", None)), None),
    )
    assert type(b.grad_fn).__name__ == "CopySlices"
    assert names(v.grad_fn, 1) == ("AsStridedBackward0", ("torch::autograd::CopySlices",))
    assert v.grad_fn.next_functions[0][0] is b.grad_fn


def test_copy_backwards_is_named_as_a_cpp_node() -> None:
    x = tg.tensor(X, requires_grad=True)
    b = x * 1
    b.copy_(tg.tensor(W))
    assert b.grad_fn.name() == "torch::autograd::CopyBackwards"
    assert type(b.grad_fn).__name__ == "CopyBackwards"
    assert repr(b.grad_fn).startswith("<CopyBackwards object at 0x")


# ------------------------------------------------------------------ differences


def _both(program: Callable[..., tuple[Any, ...]]):
    """PyTorch's and tapegrad's runs of ``program``, whose values and gradients agree."""
    theirs = _run(TORCH, program)
    ours = _run(TAPEGRAD, program)
    _compare_values(ours[1], theirs[1])
    _compare_grads(ours[2], theirs[2])
    return ours[0], theirs[0]


@pytest.mark.parametrize("method", ["add_", "sub_"])
@pytest.mark.parametrize("make", [_base_op, _view_op, _slice_op], ids=["base", "row", "rows"])
def test_alpha_leads_to_the_operand_itself(method: str, make) -> None:
    """``b.add_(r, alpha=2)`` (and ``sub_``) multiply ``r`` by ``alpha`` as a primitive of its
    own; the node still leads to ``r`` itself, as PyTorch's ``AddBackward0`` (``SubBackward0``)
    does, which scales inside its rule. On views the write shows PyTorch's ``CopySlices``."""
    ours, theirs = _both(make(lambda m, b, q, r, *rest: getattr(b, method)(r, alpha=2.0)))
    assert ours == theirs
    if make is _base_op:
        node = method[0].upper() + method[1:3] + "Backward0"
        before = ("MulBackward0", ("torch::autograd::AccumulateGrad", None))
        assert ours == [(node, (before, ("torch::autograd::AccumulateGrad", ())))]


@pytest.mark.parametrize("name", ["add", "sub"])
@pytest.mark.parametrize("other", ["r", "number"])
def test_add_and_sub_with_alpha_lead_to_their_operands(name: str, other: str) -> None:
    """``torch.add(x, r, alpha=2)`` is one node whose inputs are ``x`` and ``r``."""

    def program(m, x, q, r, w, s):
        return (getattr(m.lib, name)(x, r if other == "r" else 3.0, alpha=2.0),)

    ours, theirs = _both(program)
    assert ours == theirs


@pytest.mark.parametrize("make", [_base_op, _view_op, _slice_op], ids=["base", "row", "rows"])
def test_fill_with_a_tensor_shows_pytorchs_node(make) -> None:
    """``b.fill_(s)`` with a 0-d tensor is recorded as a broadcasting copy of ``s``, shown as
    PyTorch's ``FillBackward3``, leading to what computed ``b`` and to ``s``; on views the
    write shows ``CopySlices``."""
    ours, theirs = _both(make(lambda m, b, *rest: b.fill_(rest[-1])))  # (``s``: last)
    assert ours == theirs
    if make is _base_op:
        inputs = (
            ("MulBackward0", ("torch::autograd::AccumulateGrad", None)),
            ("torch::autograd::AccumulateGrad", ()),
        )
        assert ours == [("FillBackward3", inputs)]


ACC = "torch::autograd::AccumulateGrad"


@pytest.mark.parametrize(
    "index, value, torch_value, our_value",
    [
        (0, lambda r, s: s.reshape(1), ("ExpandBackward0", ("ViewBackward0",)), None),
        (slice(None), lambda r, s: r, ("ExpandBackward0", ("ViewBackward0",)), (ACC, ())),
        (
            slice(None),
            lambda r, s: r.reshape(1, 3),
            ("ExpandBackward0", ("ViewBackward0",)),
            None,
        ),
        ([0, 2], lambda r, s: s.reshape(1), ("ViewBackward0", ("ViewBackward0",)), None),
    ],
    ids=["row_1", "all_row", "all_1x3", "list_1"],
)
def test_broadcast_values_are_not_expanded_on_the_graph(index, value, torch_value, our_value):
    """``b[idx] = v`` with a ``v`` of another shape than ``b[idx]``: PyTorch views ``v``
    (without its leading ones) and expands it to the region's shape, recording those steps
    (``ViewBackward0``, ``ExpandBackward0``); tapegrad's ``index_put`` broadcasts ``v`` in its
    forward and sums its gradient back in its rule, so the node leads to ``v``'s own node
    (here the ``ViewBackward0`` of the program's ``reshape``, or the leaf)."""

    def program(m, x, q, r, w, s):
        b = x * 1
        b[index] = value(r, s)
        return (b,)

    ours, theirs = _both(program)
    ((name, (before, theirs_value)),) = theirs
    ((our_name, (our_before, ours_value)),) = ours
    assert (our_name, our_before) == (name, before)
    assert theirs_value == torch_value
    assert ours_value == (our_value or ("ViewBackward0", (ACC,)))


def test_view_of_a_tensor_without_grad_takes_in_place_ops_with_grad() -> None:
    """An in-place operation with an input that requires grad on a view of a tensor that
    does not: as in PyTorch the base then requires grad, through ``CopySlices(None, ...)``,
    and the view is remade from it (``AsStridedBackward0``)."""

    def program(m, x, q, r, w, s):
        b = m.lib.zeros(4, 3, dtype=m.lib.float64)
        v = b[0]
        v.add_(r)
        return b, v

    ours, theirs = _both(program)
    assert theirs[0] == ("torch::autograd::CopySlices", (None, (ACC, ())))
    assert theirs[1] == ("AsStridedBackward0", (("torch::autograd::CopySlices", (None, ACC)),))
    assert ours == theirs


def test_transposed_view_takes_in_place_ops_with_grad() -> None:
    """An in-place operation on a row of a transposed view of a tensor that requires grad is
    written back through both views to the base, as PyTorch's ``CopySlices``."""

    def program(m, x, q, r, w, s):
        b = x * 1
        v = b.t()[0]
        v.mul_(2.0)
        return b, v

    ours, theirs = _both(program)
    assert theirs[0] == (
        "torch::autograd::CopySlices",
        (("MulBackward0", (ACC, None)), None),
    )
    assert ours == theirs


@pytest.mark.parametrize("changed", ["base", "row"])
def test_stale_view_of_a_view_is_remade_from_the_owner_of_its_storage(changed: str) -> None:
    """``u = b[0][1:3]``, then ``b`` (or the row ``b[0]``) changed in place: the next use of
    ``u`` remakes its node as an ``AsStridedBackward0`` of the tensor that owns the storage
    (``b``), as in PyTorch."""

    def program(m, x, q, r, w, s):
        b = x * 1
        v = b[0]
        u = v[1:3]
        (b if changed == "base" else v).mul_(2.0)
        return (u,)

    ours, theirs = _both(program)
    before = (
        ("MulBackward0", ("MulBackward0", None))
        if changed == "base"
        else ("torch::autograd::CopySlices", ("MulBackward0", None))
    )
    assert theirs == [("AsStridedBackward0", (before,))]
    assert ours == theirs
