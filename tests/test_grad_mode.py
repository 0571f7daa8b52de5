"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` as context managers and
decorators, ``is_grad_enabled``, and grad mode being per thread (API.md section 1)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tapegrad as tg


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    """A failing test must not leave grad mode off for the tests after it."""
    yield
    tg.set_grad_enabled(True)


def _leaf():
    return tg.tensor([1.0, 2.0], requires_grad=True)


def test_enabled_by_default():
    assert tg.is_grad_enabled() is True


def test_no_grad_context():
    x = _leaf()
    with tg.no_grad():
        assert tg.is_grad_enabled() is False
        y = x * 2
    assert tg.is_grad_enabled() is True
    assert not y.requires_grad
    assert y.is_leaf
    assert y.grad_fn is None
    assert y.tolist() == [2.0, 4.0]
    z = x * 2
    assert z.requires_grad


def test_no_grad_records_nothing_on_the_tape():
    x = _leaf()
    with tg.no_grad():
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        y.backward()
    assert x.grad is None


def test_no_grad_restores_after_exception():
    with pytest.raises(ValueError):
        with tg.no_grad():
            raise ValueError("boom")
    assert tg.is_grad_enabled()


def test_nested_no_grad_and_enable_grad():
    x = _leaf()
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            y = x * 2
        assert not tg.is_grad_enabled()
        z = x * 2
        with tg.no_grad():
            assert not tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.requires_grad and y.grad_fn.name() == "MulBackward0"
    assert not z.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_enable_grad_outside_no_grad_is_noop():
    with tg.enable_grad():
        assert tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_no_grad_decorator():
    x = _leaf()

    @tg.no_grad()
    def double(t):
        """Doubles."""
        assert not tg.is_grad_enabled()
        return t * 2

    y = double(x)
    assert not y.requires_grad
    assert tg.is_grad_enabled()
    assert double.__name__ == "double"
    assert double.__doc__ == "Doubles."


def test_no_grad_decorator_restores_after_exception():
    @tg.no_grad()
    def fail():
        raise KeyError("x")

    with pytest.raises(KeyError):
        fail()
    assert tg.is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad():
    x = _leaf()

    @tg.enable_grad()
    def square(t):
        return t * t

    with tg.no_grad():
        y = square(x)
        assert not tg.is_grad_enabled()
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_set_grad_enabled_context():
    x = _leaf()
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad
    with tg.no_grad():
        with tg.set_grad_enabled(True):
            z = x * 2
        assert not tg.is_grad_enabled()
    assert z.requires_grad


@pytest.mark.parametrize("flag", [True, False])
def test_set_grad_enabled_with_flag_variable(flag):
    x = _leaf()
    with tg.set_grad_enabled(flag):
        y = x * 2
    assert y.requires_grad is flag
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_function():
    x = _leaf()
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    assert (x * 2).requires_grad


def test_set_grad_enabled_decorator():
    # PyTorch restores the previous mode when the object is used as a decorator.
    x = _leaf()

    @tg.set_grad_enabled(False)
    def f(t):
        return t * 3

    assert tg.is_grad_enabled()
    y = f(x)
    assert not y.requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_result_combined_with_graph():
    x = _leaf()
    with tg.no_grad():
        c = x * 10
    y = (x * c).sum()
    y.backward()
    assert x.grad.tolist() == [10.0, 20.0]


def test_no_grad_parameter_update_keeps_leaf():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    ident = id(w)
    with tg.no_grad():
        w -= 0.25 * w.grad
    assert id(w) == ident
    assert w.is_leaf
    assert w.requires_grad
    assert w.grad_fn is None
    assert w.tolist() == [0.5, 1.0]


def test_grad_mode_does_not_change_values():
    x = tg.tensor(np.array([0.3, -1.2, 2.5]), requires_grad=True)
    y1 = (x.exp() * x - x**2).sum()
    with tg.no_grad():
        y2 = (x.exp() * x - x**2).sum()
    assert y1.item() == y2.item()


# ---------------------------------------------------------------------------------------------
# Per thread
# ---------------------------------------------------------------------------------------------


def _run_in_thread(fn):
    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as err:  # surfaced in the calling thread
            result["error"] = err

    t = threading.Thread(target=target)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive()
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_new_thread_starts_with_grad_enabled():
    with tg.no_grad():
        assert _run_in_thread(tg.is_grad_enabled) is True
        assert not tg.is_grad_enabled()


def test_no_grad_in_thread_does_not_affect_main_thread():
    entered = threading.Event()
    release = threading.Event()
    state = {}

    def worker():
        with tg.no_grad():
            state["worker"] = tg.is_grad_enabled()
            entered.set()
            release.wait(timeout=30)
            x = tg.tensor([1.0], requires_grad=True)
            state["worker_result_requires_grad"] = (x * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    try:
        assert entered.wait(timeout=30)
        # The worker is inside no_grad now; this thread still records.
        assert tg.is_grad_enabled()
        x = tg.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        assert y.requires_grad
        y.backward()
        assert x.grad.tolist() == [2.0, 4.0]
    finally:
        release.set()
        t.join(timeout=30)
    assert state == {"worker": False, "worker_result_requires_grad": False}


def test_no_grad_in_main_thread_does_not_affect_worker():
    entered = threading.Event()
    done = threading.Event()
    state = {}

    def worker():
        assert entered.wait(timeout=30)
        x = tg.tensor([1.0, 2.0], requires_grad=True)
        y = (x * 3).sum()
        state["enabled"] = tg.is_grad_enabled()
        state["requires_grad"] = y.requires_grad
        y.backward()
        state["grad"] = x.grad.tolist()
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    with tg.no_grad():
        entered.set()
        assert done.wait(timeout=30)
        assert not tg.is_grad_enabled()
    t.join(timeout=30)
    assert state == {"enabled": True, "requires_grad": True, "grad": [3.0, 3.0]}


def test_backward_in_several_threads():
    def work(k):
        def fn():
            x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
            for _ in range(20):
                (x * x * k).sum().backward()
            return x.grad.tolist()

        return fn

    results = {}
    threads = []
    for k in (1.0, 2.0, 3.0, 4.0):

        def target(k=k):
            results[k] = work(k)()

        threads.append(threading.Thread(target=target))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for k in (1.0, 2.0, 3.0, 4.0):
        assert results[k] == [40.0 * k, 80.0 * k, 120.0 * k]


def test_set_grad_enabled_in_thread_is_local():
    def fn():
        tg.set_grad_enabled(False)
        return tg.is_grad_enabled()

    assert _run_in_thread(fn) is False
    assert tg.is_grad_enabled()


@pytest.mark.torch
def test_grad_mode_matches_torch(torch):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        out = []
        with lib.no_grad():
            out.append((x * 2).requires_grad)
            with lib.enable_grad():
                out.append((x * 2).requires_grad)
            with lib.set_grad_enabled(True):
                out.append((x * 2).requires_grad)
        with lib.set_grad_enabled(False):
            out.append((x * 2).requires_grad)
        out.append((x * 2).requires_grad)
        out.append(lib.is_grad_enabled())
        return out

    assert program(tg) == program(torch)
