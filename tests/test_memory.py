"""Memory stays bounded in long training loops, also when a metric is computed each step
without ``no_grad`` and never backpropagated (DESIGN.md, "Nothing lives forever").

Each run measures the length of the thread's tape and the bytes ``tracemalloc`` sees at the
start, after a warm-up and at the end (plus the largest values sampled along the way), prints
them (``pytest -s`` shows them), and checks that after the warm-up neither grows beyond a
small factor. The long soak (100,000 steps) is marked ``slow``; a short one runs by default.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tape import SRCS, Tape, current_tape

#: Below this many entries the tape never prunes, so lengths are judged against it.
FLOOR = Tape.PRUNE_FLOOR


@dataclass
class Figures:
    steps: int
    tape: tuple[int, int, int]  # start, after warm-up, end
    tape_max: int  # largest length sampled after the warm-up
    bytes: tuple[int, int, int]
    bytes_max: int
    metric: float

    def report(self, name: str) -> str:
        t0, t1, t2 = self.tape
        b0, b1, b2 = self.bytes
        return (
            f"\n[{name}] {self.steps} steps: tape entries start {t0}, after warm-up {t1}, "
            f"end {t2} (max {self.tape_max}); traced bytes start {b0:,}, after warm-up "
            f"{b1:,}, end {b2:,} (max {self.bytes_max:,}); last metric {self.metric:.4f}"
        )


def measure(step: Callable[[int], float], steps: int, warmup: int, every: int = 50) -> Figures:
    """Run ``step(i)`` ``steps`` times under tracemalloc and take the figures.

    The start, warm-up and end figures are taken right after a prune of the tape (which the
    tape does by itself whenever it doubles past the floor), so that they do not depend on
    where in that cycle they fall; the maxima are sampled as the loop runs, without pruning.
    """
    tape = current_tape()

    def figure() -> tuple[int, int]:
        tape.prune()
        return len(tape.entries), tracemalloc.get_traced_memory()[0]

    gc.collect()
    # Objects made before the run (other tests', Hypothesis's) need not be scanned by the
    # collector again and again while it runs: it would only slow the loop down.
    gc.freeze()
    tracemalloc.start()
    try:
        t0, b0 = figure()
        t1 = b1 = 0
        tape_max = bytes_max = 0
        metric = float("nan")
        for i in range(steps):
            metric = step(i)
            if i + 1 == warmup:
                t1, b1 = figure()
            elif i + 1 > warmup and (i + 1) % every == 0:
                tape_max = max(tape_max, len(tape.entries))
                bytes_max = max(bytes_max, tracemalloc.get_traced_memory()[0])
        t2, b2 = figure()
    finally:
        tracemalloc.stop()
        gc.unfreeze()
    return Figures(steps, (t0, t1, t2), max(tape_max, t2), (b0, b1, b2), max(bytes_max, b2), metric)


def check_bounded(f: Figures, bytes_factor: float = 1.5, bytes_slack: int = 256 * 1024) -> None:
    _t0, t1, t2 = f.tape
    _b0, b1, b2 = f.bytes
    # After a prune only what is live is left: the same after the warm-up and at the end.
    assert t2 <= t1 + 16, f
    assert b2 <= bytes_factor * b1 + bytes_slack, f
    # In between, the tape prunes itself when it doubles past the floor: it may grow to
    # twice what is live (or to the floor), but no further, however many steps run.
    assert f.tape_max <= 2 * max(t1, FLOOR) + 64, f
    # ... and what the entries waiting for that prune hold is bounded as well.
    assert f.bytes_max <= 4 * b1 + 4 * 1024 * 1024, f


# --------------------------------------------------------------------------- the workloads


def mlp_trainer(seed: int = 0, hidden: int = 16) -> Callable[[int], float]:
    """One SGD step of a two-layer MLP per call, plus an un-backpropagated metric."""
    rng = np.random.default_rng(seed)
    xd = rng.standard_normal((64, 4))
    yd = (np.sin(xd[:, :1] * 2) + xd[:, 1:2] > 0).astype(np.float64)
    x, y = tg.tensor(xd), tg.tensor(yd)
    w1 = tg.tensor(rng.standard_normal((4, hidden)) * 0.5, requires_grad=True)
    b1 = tg.tensor(np.zeros(hidden), requires_grad=True)
    w2 = tg.tensor(rng.standard_normal((hidden, 1)) * 0.5, requires_grad=True)
    b2 = tg.tensor(np.zeros(1), requires_grad=True)
    params = [w1, b1, w2, b2]
    history: list[float] = []
    # The latest metric tensor stays alive between steps (as a logger might hold it), and
    # with it the entries it depends on; the metrics before it must be freed.
    last: dict[str, tg.Tensor] = {}

    def step(i: int) -> float:
        h = tg.relu(x @ w1 + b1)
        logits = h @ w2 + b2
        loss = tg.nn.functional.binary_cross_entropy_with_logits(logits, y)
        # A metric computed with grad mode on: it records entries that no backward consumes.
        p = tg.sigmoid(logits)
        brier = ((p - y) ** 2).mean()
        margin = (logits * (2 * y - 1)).amin()
        loss.backward()
        with tg.no_grad():
            for q in params:
                q -= 0.05 * q.grad
                q.grad = None
        history.append(brier.item())
        last["brier"] = brier
        if len(history) > 100:  # a bounded window of plain floats, as a logger would keep
            del history[:50]
        assert margin.requires_grad and brier.requires_grad
        return history[-1]

    return step


def logistic_with_transforms(seed: int = 1) -> Callable[[int], float]:
    """JAX-style: tg.value_and_grad of a logistic loss on arrays, plus a recorded metric."""
    rng = np.random.default_rng(seed)
    xd = rng.standard_normal((128, 6))
    yd = (xd @ rng.standard_normal(6) > 0).astype(np.float64)
    x, y = tg.tensor(xd), tg.tensor(yd)
    state = {"w": np.zeros(6)}

    def loss_fn(w: tg.Tensor) -> tg.Tensor:
        z = tg.matmul(x, w)
        return (tg.softplus(z) - z * y).mean()

    vg = tg.value_and_grad(loss_fn)
    w_metric = tg.tensor(np.zeros(6), requires_grad=True)

    def step(i: int) -> float:
        value, g = vg(state["w"])
        state["w"] = state["w"] - 0.5 * np.asarray(g)
        with tg.no_grad():
            w_metric.copy_(tg.tensor(state["w"]))
        norm = (w_metric * w_metric).sum().sqrt()  # recorded, never backpropagated
        agree = tg.sigmoid(x @ w_metric).mean()  # recorded too
        assert norm.requires_grad and agree.requires_grad
        return float(value)

    return step


# --------------------------------------------------------------------------- the tests


def test_short_soak_mlp_with_metric(capsys):
    f = measure(mlp_trainer(), steps=5_000, warmup=1_000)
    with capsys.disabled():
        print(f.report("mlp, short"))
    check_bounded(f)
    assert f.metric < 0.2  # it learned: the Brier score of a coin flip is 0.25


def test_short_soak_transforms(capsys):
    f = measure(logistic_with_transforms(), steps=1_000, warmup=200)
    with capsys.disabled():
        print(f.report("value_and_grad, short"))
    check_bounded(f)
    assert f.metric < 0.6


def test_metric_graphs_are_freed_when_their_tensors_die():
    x = tg.tensor(np.ones((50, 50)), requires_grad=True)
    tape = current_tape()
    gc.collect()
    tape.prune()
    base = len(tape.entries)
    for _ in range(3 * FLOOR):
        m = (x * 2).sum()  # never backpropagated
    assert m.requires_grad
    tape.prune()
    assert len(tape.entries) <= base + 2  # the last metric's two entries
    del m
    tape.prune()
    assert len(tape.entries) == base


def test_a_backward_takes_the_dropped_graphs_it_passes_off_the_tape():
    """Dead entries inside the stretch a backward sweeps go with it, so the next backward
    does not walk them again; live ones stay, and their graphs still backpropagate."""
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tape = current_tape()
    gc.collect()
    tape.prune()
    base = len(tape.entries)
    kept = (x * 5).sum()  # a live graph between the dropped ones
    for _ in range(10):
        (x * 2).sum()  # dropped at once: two dead entries each
    (x * 3).sum().backward()
    assert len(tape.entries) == base + 2  # ``kept``'s two entries only
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])
    kept.backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 8.0, 8.0])
    assert len(tape.entries) == base


def test_transforms_in_a_loop_take_the_graphs_of_finished_calls_off_the_tape():
    """A pullback may run any number of times, so ``vjp`` leaves its graph on the tape; once
    the pullback is gone, the next transform call takes that graph off (not only a prune
    thousands of entries later). A pullback still held keeps its graph and still works."""

    def rosenbrock(x):
        return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()

    gradient = tg.grad(rosenbrock)
    x = np.array([0.5, -1.0, 2.0, 1.5])
    v = np.array([1.0, 0.0, -2.0, 0.5])
    tape = current_tape()
    gc.collect()
    tape.prune()
    base = len(tape.entries)
    _, kept = tg.vjp(gradient, x)
    held = len(tape.entries) - base
    assert held > 0
    lengths = []
    for _ in range(50):
        _, pullback = tg.vjp(gradient, x)
        product = pullback(v)[0]
        del pullback
        lengths.append(len(tape.entries) - base)
    # Each call finds only the previous call's dead graph on the tape, next to ``kept``'s:
    # the length does not grow from one call to the next.
    assert len(set(lengths)) == 1
    assert lengths[0] <= 2 * held
    # The Hessian of the Rosenbrock function, written out, times v.
    hessian = np.zeros((4, 4))
    for i in range(3):
        a, b = x[i], x[i + 1]
        hessian[i, i] += 1200.0 * a**2 - 400.0 * b + 2.0
        hessian[i, i + 1] = hessian[i + 1, i] = -400.0 * a
        hessian[i + 1, i + 1] += 200.0
    np.testing.assert_allclose(product, hessian @ v, rtol=1e-12)
    np.testing.assert_allclose(kept(v)[0], hessian @ v, rtol=1e-12)


@pytest.mark.parametrize("room", [0, 1, 2])
def test_a_prune_set_off_while_a_backward_records_leaves_no_swept_entry_behind(room, monkeypatch):
    """A backward with ``create_graph=True`` records as it sweeps, and an append may then
    prune the tape, renewing its list under the sweep. The entries the sweep consumed must
    still leave the tape, and every live graph stay on it."""
    x = tg.tensor([0.5, 1.5, 2.0], requires_grad=True)
    tape = current_tape()
    gc.collect()
    tape.prune()
    held = []
    while len(tape.entries) < tape.next_prune - 6 - room:
        held.append(x * 3.0)  # live graphs
    for _ in range(4):
        x * 2.0  # dead entries, which the prune takes off
    y = (x**3).sum()
    swept = [y._entry, y._entry[SRCS][0]]  # the sum and the power
    prunes = []
    prune = Tape.prune
    monkeypatch.setattr(Tape, "prune", lambda self: prunes.append(1) or prune(self))
    (g,) = tg.autograd.grad(y, x, create_graph=True, retain_graph=False)
    assert prunes == [1]  # the case under test: a prune during the sweep
    assert not any(e is s for e in tape.entries for s in swept)
    assert all(tape.position(t._entry) >= 0 for t in held)
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6.0 * x.detach().numpy())


def test_large_residuals_of_dropped_graphs_are_freed_before_the_count_floor():
    """Forward passes on large arrays whose results are dropped: their residuals go once
    ``Tape.PRUNE_BYTES`` of them have been saved, long before ``PRUNE_FLOOR`` entries."""
    import weakref

    n = 1 << 18  # 2 MiB of float64 per array
    x = tg.tensor(np.linspace(-1.0, 1.0, n), requires_grad=True)
    tape = current_tape()
    gc.collect()
    tape.prune()
    y = tg.exp(x)  # exp saves its output
    first = weakref.ref(y.data)
    del y
    steps = 0
    while first() is not None:
        z = tg.exp(x).sum()  # another residual of 2 MiB, never backpropagated
        steps += 1
        assert 2 * steps < FLOOR // 4, "the dropped residual is still alive"
    assert len(tape.entries) < FLOOR
    # Live graphs keep theirs: the last result still backpropagates.
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.linspace(-1.0, 1.0, n)))


@pytest.mark.slow
def test_long_soak_mlp_with_metric(capsys):
    f = measure(mlp_trainer(), steps=100_000, warmup=5_000, every=500)
    with capsys.disabled():
        print(f.report("mlp, long"))
    check_bounded(f, bytes_factor=1.25)
    assert f.metric < 0.2
