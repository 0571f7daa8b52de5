"""Hooks: tensor hooks (``register_hook``, ``retain_grad``, post-accumulate hooks) and the
hooks on values saved for backward (``tg.autograd.graph.saved_tensors_hooks``).

Expected values were checked against PyTorch 2.13 and are written out.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.tape
from tapegrad.autograd import graph
from tapegrad.tape import SAVED

SECOND_BACKWARD = "Trying to backward through the graph a second time"
INPLACE = "modified by an inplace operation"

#: The saved-tensor hooks need the tape to call tapegrad.autograd.graph.pack_saved where an
#: entry's residuals are stored and unpack_saved where the sweep reads them; the tape module
#: then keeps the hooks' flags (``SAVED_HOOKS``). Until it does, these tests must fail.
needs_core_hooks = pytest.mark.xfail(
    not hasattr(tapegrad.tape, "SAVED_HOOKS"),
    strict=True,
    reason="the tape does not yet pass saved values through "
    "tapegrad.autograd.graph.pack_saved/unpack_saved",
)


def T(values):
    return tg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# =========================================================================== tensor hooks


def test_hook_replaces_the_gradient_of_a_leaf():
    x = T([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    assert x.grad.tolist() == [20.0, 40.0]


def test_hook_returning_none_observes_only():
    x = T([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]]
    assert x.grad.tolist() == [3.0, 3.0]


def test_hooks_run_in_order_each_seeing_the_last_result():
    x = T([1.0])
    order = []
    x.register_hook(lambda g: order.append(("a", g.tolist())) or g * 2)
    x.register_hook(lambda g: order.append(("b", g.tolist())) or g + 1)
    (x * 3).sum().backward()
    assert order == [("a", [3.0]), ("b", [6.0])]
    assert x.grad.tolist() == [7.0]


def test_a_leaf_used_twice_gets_one_hook_call_with_the_total():
    x = T([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 2 + x * 3).sum().backward()
    assert seen == [[5.0, 5.0]]
    assert x.grad.tolist() == [5.0, 5.0]


def test_remove():
    x = T([1.0])
    handle = x.register_hook(lambda g: g * 100)
    handle.remove()
    handle.remove()  # a second remove is harmless
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]


def test_remove_one_of_several():
    x = T([1.0])
    h1 = x.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: g + 1)
    h1.remove()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [4.0]


def test_handle_as_context_manager():
    x = T([1.0])
    with x.register_hook(lambda g: g * 5):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [6.0]


def test_hook_on_a_non_leaf():
    x = T([1.0, 2.0])
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()) or g * 3)
    (y * y).sum().backward()
    assert seen == [[4.0, 8.0]]  # d(y.y)/dy = 2y
    assert x.grad.tolist() == [24.0, 48.0]  # 3 * 2y * 2


def test_non_leaf_used_twice_gets_one_hook_call():
    x = T([1.0, 2.0])
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    (y * y).sum().backward()
    assert seen == [[4.0, 8.0]]
    assert x.grad.tolist() == [8.0, 16.0]


def test_hook_on_a_non_leaf_under_autograd_grad():
    x = T([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g + 1)
    (g,) = tg.autograd.grad((y * y).sum(), x)
    assert g.tolist() == [10.0, 18.0]  # (2y + 1) * 2


def test_hook_sees_a_differentiable_gradient_under_create_graph():
    x = T([1.0, 2.0])
    y = x**2
    info = []
    y.register_hook(lambda g: info.append(g.requires_grad))
    (g,) = tg.autograd.grad((y**2).sum(), x, create_graph=True)
    assert info == [True]
    assert g.tolist() == [4.0, 32.0]  # 4 x^3
    (h,) = tg.autograd.grad(g.sum(), x)
    assert h.tolist() == [12.0, 48.0]  # 12 x^2


def test_hook_exception_propagates_and_leaves_grad_alone():
    x = T([1.0])
    y = x * 2

    def boom(g):
        raise ValueError("boom")

    y.register_hook(boom)
    with pytest.raises(ValueError, match="boom"):
        y.sum().backward()
    assert x.grad is None


def test_hook_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(
        RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"
    ):
        tg.ones(2).register_hook(lambda g: g)


def test_retain_grad():
    x = T([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    assert y.grad.tolist() == [4.0, 8.0]
    z.backward()
    assert y.grad.tolist() == [8.0, 16.0]  # accumulates, as on leaves
    assert x.grad.tolist() == [16.0, 32.0]
    assert y.retains_grad and not x.retains_grad


@pytest.mark.parametrize("retain_first", [True, False])
def test_retained_grad_includes_hook_changes(retain_first):
    # PyTorch runs the retain_grad hook after the tensor's other hooks, whatever the order.
    x = T([1.0, 2.0])
    y = x * 2
    if retain_first:
        y.retain_grad()
    y.register_hook(lambda g: g * 10)
    if not retain_first:
        y.retain_grad()
    (y * 3).sum().backward()
    assert y.grad.tolist() == [30.0, 30.0]
    assert x.grad.tolist() == [60.0, 60.0]


def test_retain_grad_on_a_leaf_is_a_no_op():
    x = T([1.0])
    x.retain_grad()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]


def test_post_accumulate_grad_hook():
    x = T([1.0, 2.0])
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append((t is x, t.grad.tolist())))
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert calls == [(True, [3.0, 3.0]), (True, [6.0, 6.0])]


def test_post_accumulate_grad_hook_as_an_optimizer_step():
    x = T([1.0, 2.0])

    def step(t):
        with tg.no_grad():
            t -= 0.25 * t.grad
        t.grad = None

    handle = x.register_post_accumulate_grad_hook(step)
    for _ in range(2):
        (x * x).sum().backward()  # x <- x - 0.25 * 2x = x / 2
    assert x.detach().tolist() == [0.25, 0.5]
    assert x.grad is None
    handle.remove()
    (x * x).sum().backward()
    assert x.grad.tolist() == [0.5, 1.0]


def test_post_accumulate_grad_hook_on_a_non_leaf():
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (T([1.0]) * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_backward_inputs_skips_other_leaves_and_their_hooks():
    x = T([1.0, 2.0])
    w = T([3.0, 4.0])
    seen = []
    x.register_hook(lambda g: seen.append(g))
    (x * w).sum().backward(inputs=[w])
    assert seen == []
    assert x.grad is None
    assert w.grad.tolist() == [1.0, 2.0]


def test_autograd_grad_runs_hooks_of_leaf_inputs():
    x = T([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    (g,) = tg.autograd.grad((x * x).sum(), x)
    assert g.tolist() == [20.0, 40.0]


def test_hook_changing_the_shape_is_refused():
    # PyTorch: RuntimeError "hook '<lambda>' has changed the size of value". Here the (1,)
    # gradient broadcasts through the multiplication and gives x.grad == [60.] instead.
    x = T([1.0])
    y = x * tg.tensor(np.array([1.0, 2.0, 3.0]))
    y.register_hook(lambda g: tg.tensor(np.array([10.0])))
    with pytest.raises(RuntimeError, match="changed the size"):
        y.sum().backward()


# =========================================================================== saved-tensor hooks:
# the registry (works without the tape's help)


def test_registry_outside_any_block_returns_values_unchanged():
    a = np.ones(3)
    assert graph.pack(a) is a
    saved = (a, None, 2.0)
    assert graph.pack_saved(saved) is saved
    assert graph.unpack_saved(saved) is saved
    assert graph.pack_saved(None) is None


def test_registry_packs_arrays_with_the_innermost_pair():
    a = np.arange(3.0)
    outer = graph.saved_tensors_hooks(lambda t: ("outer", t), lambda p: p[1])
    inner = graph.saved_tensors_hooks(lambda t: ("inner", t.numpy() * 2), lambda p: p[1] / 2)
    before = graph.STATE[0]
    with outer:
        with inner:
            assert graph.STATE[0] == before + 2
            p = graph.pack(a)
        q = graph.pack(a)
        saved = graph.pack_saved((a, None, 3.0, (a, a)))
    assert graph.STATE[0] == before
    assert isinstance(p, graph.Packed) and p.packed[0] == "inner"
    assert p.shape == (3,) and p.dtype == np.float64
    assert graph.unpack(p).tolist() == [0.0, 1.0, 2.0]
    assert q.packed[0] == "outer"
    assert isinstance(q.packed[1], tg.Tensor) and q.packed[1].data is a
    assert not q.packed[1].requires_grad
    # Unpacking after the block uses the pair that packed.
    assert graph.unpack(q) is a
    assert saved[1] is None and saved[2] == 3.0
    assert all(isinstance(v, graph.Packed) for v in saved[3])
    un = graph.unpack_saved(saved)
    assert un[0] is a and un[1] is None and un[3][0] is a


def test_registry_source_and_repack():
    a = np.ones(2)
    with graph.saved_tensors_hooks(lambda t: t.numpy().copy(), lambda p: p):
        p = graph.pack(a)
    assert graph.saved_source(p) is a
    assert graph.saved_source(a) is a
    b = np.zeros(2)
    r = graph.repack(p, b)
    assert isinstance(r, graph.Packed) and graph.saved_source(r) is b
    assert graph.unpack(r).tolist() == [0.0, 0.0]
    assert graph.repack(a, b) is b


def test_registry_unpack_must_give_a_tensor():
    with graph.saved_tensors_hooks(lambda t: t, lambda p: 3):
        p = graph.pack(np.ones(1))
    with pytest.raises(
        TypeError, match="unpack_hook expected to be a Tensor but got result of type int"
    ):
        graph.unpack(p)


def test_registry_scalars_are_not_packed():
    with graph.saved_tensors_hooks(lambda t: 1 / 0, lambda p: p):
        assert graph.pack(2.0) == 2.0
        assert graph.pack(np.float64(2.0)) == 2.0
        assert graph.pack(None) is None


def test_registry_hooks_are_per_thread():
    a = np.ones(2)
    result = {}
    entered = threading.Event()
    done = threading.Event()

    def other():
        entered.wait(5)
        result["other"] = graph.pack(a)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with graph.saved_tensors_hooks(lambda t: "packed", lambda p: p):
        entered.set()
        done.wait(5)
        mine = graph.pack(a)
    thread.join(5)
    assert result["other"] is a
    assert isinstance(mine, graph.Packed)


def test_disable_saved_tensors_hooks():
    with graph.disable_saved_tensors_hooks("no hooks in here"):
        with pytest.raises(RuntimeError, match="no hooks in here"):
            with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        with pytest.raises(RuntimeError, match="not now"):
            with graph.disable_saved_tensors_hooks("not now"):
                pass
    assert graph.STATE[0] == 0


def test_hooks_must_be_callable():
    with pytest.raises(TypeError, match="two callables"):
        graph.saved_tensors_hooks(lambda t: t, None)


def test_reachable_as_tg_autograd_graph():
    assert tg.autograd.graph.saved_tensors_hooks is graph.saved_tensors_hooks


# =========================================================================== saved-tensor hooks:
# end to end (the tape packs and the sweep unpacks)


class Counting:
    def __init__(self, scale=1.0):
        self.calls = []
        self.scale = scale

    def pack(self, t):
        self.calls.append(("pack", tuple(t.shape)))
        return t.numpy().copy()

    def unpack(self, a):
        self.calls.append("unpack")
        return tg.from_numpy(np.asarray(a * self.scale))


@needs_core_hooks
def test_each_saved_value_is_packed_once_and_unpacked_per_use():
    x = T([1.0, 2.0])
    y = T([3.0, 4.0])
    h = Counting()
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        z = (x * y).sum()  # mul saves x and y; sum saves nothing
        w = (x * 2).sum()  # saves the constant 2 only: not a tensor
    assert h.calls == [("pack", (2,)), ("pack", (2,))]
    z.backward(retain_graph=True)
    assert h.calls.count("unpack") == 2
    z.backward()
    assert h.calls.count("unpack") == 4
    w.backward()
    assert h.calls.count("unpack") == 4
    assert x.grad.tolist() == [8.0, 10.0]  # 2y + 2
    assert y.grad.tolist() == [2.0, 4.0]


@needs_core_hooks
def test_the_sweep_uses_what_unpack_returns():
    x = T([1.0, 2.0])
    y = T([3.0, 4.0])
    h = Counting(scale=2.0)
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        z = (x * y).sum()
    z.backward()
    assert x.grad.tolist() == [6.0, 8.0]  # 2y
    assert y.grad.tolist() == [2.0, 4.0]  # 2x


@needs_core_hooks
def test_outputs_saved_by_a_rule_are_packed():
    x = T([0.0, 1.0])
    h = Counting()
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        y = x.exp()  # exp saves its output
    assert h.calls == [("pack", (2,))]
    y.sum().backward()
    assert h.calls[-1] == "unpack"
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]))


def test_values_saved_outside_the_block_are_left_alone():
    x = T([1.0, 2.0])
    h = Counting()
    y = x * x
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        z = (y * 3).sum()  # saves nothing of y's (the factor 3 is a scalar)
    z.backward()
    assert h.calls == []
    assert x.grad.tolist() == [6.0, 12.0]


@needs_core_hooks
def test_innermost_pair_applies_and_backward_after_the_block():
    x = T([1.0, 2.0])
    outer, inner = Counting(), Counting()
    with graph.saved_tensors_hooks(outer.pack, outer.unpack):
        a = x.sin()
        with graph.saved_tensors_hooks(inner.pack, inner.unpack):
            b = a * a
    assert outer.calls == [("pack", (2,))]
    assert inner.calls == [("pack", (2,)), ("pack", (2,))]
    b.sum().backward()
    assert outer.calls[-1] == "unpack" and inner.calls.count("unpack") == 2
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.sin([1.0, 2.0]) * np.cos([1.0, 2.0]))


@needs_core_hooks
def test_offloaded_values_free_the_originals():
    store = {}

    def pack(t):
        key = len(store)
        store[key] = t.numpy().copy()
        return key

    def unpack(key):
        return tg.from_numpy(store[key])

    x = T(np.linspace(0.0, 1.0, 1000))
    with graph.saved_tensors_hooks(pack, unpack):
        h = x.exp()
        z = (h * h).sum()
    ref = weakref.ref(h.data)
    del h
    assert ref() is None  # only the packed copies keep the value now
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.linspace(0.0, 1.0, 1000)))


@needs_core_hooks
def test_second_backward_still_fails_after_freeing():
    x = T([1.0, 2.0])
    h = Counting()
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        z = (x * x).sum()
    z.backward()
    assert h.calls == [("pack", (2,)), ("pack", (2,)), "unpack", "unpack"]
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        z.backward()
    assert len(h.calls) == 4


@needs_core_hooks
def test_in_place_change_of_a_saved_value_is_still_caught():
    x = T([1.0, 2.0])
    h = Counting()
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        y = x * 1
        z = y.sin()
        y.mul_(2)
    assert h.calls == [("pack", (2,))]  # sin saved y
    with pytest.raises(RuntimeError, match=INPLACE):
        z.sum().backward()


@needs_core_hooks
def test_in_place_function_of_a_saved_input():
    # y.pow_(2) saves y's old value: a copy is kept, and packed by the same hooks.
    def run(pack, unpack):
        x = T([0.5, 1.5])
        with graph.saved_tensors_hooks(pack, unpack):
            y = x * 1
            y.pow_(2)
        y.sum().backward()
        return x.grad.tolist()

    h = Counting()
    assert run(lambda t: t, lambda t: t) == [1.0, 3.0]  # the hooks keep the array itself
    assert run(h.pack, h.unpack) == [1.0, 3.0]
    assert h.calls == [("pack", (2,)), ("pack", (2,)), "unpack"]


@needs_core_hooks
def test_unpack_must_return_a_tensor():
    x = T([1.0])
    with graph.saved_tensors_hooks(lambda t: t, lambda p: "oops"):
        z = (x * x).sum()
    with pytest.raises(TypeError, match="but got result of type str"):
        z.backward()


@needs_core_hooks
def test_higher_order_gradients_through_packed_values():
    x = T([1.0, 2.0])
    h = Counting()
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        y = (x**3).sum()
        (g,) = tg.autograd.grad(y, x, create_graph=True)
    (hess_diag,) = tg.autograd.grad(g.sum(), x)
    assert g.tolist() == [3.0, 12.0]
    assert hess_diag.tolist() == [6.0, 12.0]
    assert h.calls.count("unpack") >= 1


@needs_core_hooks
def test_forward_mode_under_hooks():
    h = Counting()
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        out, tangent = tg.jvp(lambda a: (a * a).sum(), (np.array([1.0, 2.0]),), (np.ones(2),))
    assert float(out) == 5.0
    assert float(tangent) == 6.0
    assert ("pack", (2,)) in h.calls and "unpack" in h.calls


@needs_core_hooks
def test_save_on_cpu():
    x = T([1.0, 2.0, 3.0])
    with graph.save_on_cpu():
        p = x.exp() * x
    z = p.sum()
    # The product saved both factors, as host copies packed by save_on_cpu's hooks.
    saved = p._entry[SAVED]
    assert [type(v) for v in saved[:2]] == [graph.Packed, graph.Packed]
    z.backward()
    xs = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(xs) * (xs + 1))


@needs_core_hooks
def test_hooks_in_one_thread_do_not_pack_another_threads_values():
    barrier = threading.Barrier(2, timeout=5)
    counts = {}

    def work(name, use_hooks):
        h = Counting()
        x = T([1.0, 2.0])
        ctx = graph.saved_tensors_hooks(h.pack, h.unpack) if use_hooks else None
        if ctx:
            ctx.__enter__()
        try:
            barrier.wait()
            z = (x * x).sum()
            barrier.wait()
        finally:
            if ctx:
                ctx.__exit__(None, None, None)
        z.backward()
        counts[name] = (len(h.calls), x.grad.tolist())

    threads = [
        threading.Thread(target=work, args=("hooked", True)),
        threading.Thread(target=work, args=("plain", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert counts["plain"] == (0, [2.0, 4.0])
    assert counts["hooked"] == (4, [2.0, 4.0])  # x saved as both arguments: 2 packs, 2 unpacks


@needs_core_hooks
def test_checkpoint_inputs_are_packed():
    x = T([0.5, 1.0, 2.0])
    h = Counting()
    f = tg.checkpoint(lambda a: tg.sin(a) * a)
    with graph.saved_tensors_hooks(h.pack, h.unpack):
        y = f(x).sum()
    assert ("pack", (3,)) in h.calls
    y.backward()
    assert "unpack" in h.calls
    xs = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), np.cos(xs) * xs + np.sin(xs))
