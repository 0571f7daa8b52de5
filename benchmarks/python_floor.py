"""What Python itself costs on the small-array rows: the floor under any pure-Python facade.

On a length-16 vector a NumPy call takes a few hundred nanoseconds, so on the ``nograd``,
``overhead``, ``tiny`` and ``hvp`` rows whatever a library does in Python around each call
shows up in the ratio. This script measures yardsticks next to hand-written NumPy and
tapegrad, on the same work as ``run.py``'s rows:

``minimal wrapper`` (``nograd``)
    The least a tensor type can do: make one object holding the result of each NumPy call.
    No grad mode, no dtype rules, no checks.
``bare tape`` (``overhead``, ``tiny``)
    A bare Wengert tape: each operation appends its input ids and VJP closures to a list, and
    the backward pass walks it with a dict of cotangents. No facade, no version counters, no
    broadcasting rules, no hooks, no freeing.
``bare tape, 2nd order`` (``hvp``)
    The same tape with rules written in its own operations, so that a backward pass run while
    recording is itself on the list and can be swept again (reverse over reverse).

Each is timed in blocks interleaved with the NumPy floor, BLAS on one thread, and reported as
the median of the per-round ratios, like ``run.py`` does::

    python benchmarks/python_floor.py
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # a script: the repository root on the path, pools pinned first
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from benchmarks.threads import pin_environment

    pin_environment()  # before NumPy is imported

import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.impls import with_numpy, with_tapegrad  # noqa: E402
from benchmarks.threads import limit_thread_pools  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    OVERHEAD_BLOCKS,
    TINY_LEARNING_RATE,
    Inputs,
    hvp_inputs,
    overhead_inputs,
    tiny_inputs,
)

Unary = Callable[[Any], Any]

# ---------------------------------------------------------------------- a minimal wrapper


_new = object.__new__


class Wrapped:
    """The least a tensor type can be: an object holding an array (each operator one call)."""

    __slots__ = ("data",)

    def __mul__(self, other: object, _ufunc: np.ufunc = np.multiply) -> Wrapped:
        out = _new(Wrapped)
        out.data = _ufunc(self.data, other.data if other.__class__ is Wrapped else other)
        return out

    def __add__(self, other: object, _ufunc: np.ufunc = np.add) -> Wrapped:
        out = _new(Wrapped)
        out.data = _ufunc(self.data, other.data if other.__class__ is Wrapped else other)
        return out

    def __sub__(self, other: object, _ufunc: np.ufunc = np.subtract) -> Wrapped:
        out = _new(Wrapped)
        out.data = _ufunc(self.data, other.data if other.__class__ is Wrapped else other)
        return out


def _wrapping(fn: np.ufunc) -> Callable[[Wrapped], Wrapped]:
    def wrapped(x: Wrapped) -> Wrapped:
        out = _new(Wrapped)
        out.data = fn(x.data)
        return out

    return wrapped


w_sin, w_cos, w_tanh, w_exp = (_wrapping(f) for f in (np.sin, np.cos, np.tanh, np.exp))


# ---------------------------------------------------------------------- a bare tape


class Tape:
    """A Wengert list: ``(output id, input ids, VJP closures)`` per operation."""

    def __init__(self) -> None:
        self.ops: list[tuple[int, tuple[int, ...], tuple[Callable[..., np.ndarray], ...]]] = []

    def var(self, data: np.ndarray) -> Var:
        return self.record(data, (), ())

    def record(self, data: np.ndarray, ins: tuple[int, ...], vjps: tuple) -> Var:
        v = Var(data, len(self.ops), self)
        self.ops.append((v.id, ins, vjps))
        return v

    def gradients(self, out: Var) -> dict[int, np.ndarray]:
        cots = {out.id: np.ones_like(out.data)}
        for oid, ins, vjps in reversed(self.ops):
            g = cots.pop(oid, None)
            if g is None:
                continue
            if not ins:
                cots[oid] = g  # an input: keep its gradient
            for i, vjp in zip(ins, vjps, strict=True):
                gi = vjp(g)
                prev = cots.get(i)
                cots[i] = gi if prev is None else prev + gi
        return cots


class Var:
    __slots__ = ("data", "id", "tape")

    def __init__(self, data: np.ndarray, id: int, tape: Tape) -> None:
        self.data, self.id, self.tape = data, id, tape

    def __mul__(self, other: Var | float) -> Var:
        a = self.data
        if isinstance(other, Var):
            b = other.data
            return self.tape.record(a * b, (self.id, other.id), (lambda g: g * b, lambda g: g * a))
        return self.tape.record(a * other, (self.id,), (lambda g: g * other,))

    def __add__(self, other: float) -> Var:
        return self.tape.record(self.data + other, (self.id,), (lambda g: g,))

    def __sub__(self, other: float) -> Var:
        return self.tape.record(self.data - other, (self.id,), (lambda g: g,))

    def sum(self) -> Var:
        shape = self.data.shape
        return self.tape.record(self.data.sum(), (self.id,), (lambda g: np.broadcast_to(g, shape),))


def t_sin(x: Var) -> Var:
    d = x.data
    return x.tape.record(np.sin(d), (x.id,), (lambda g: g * np.cos(d),))


def t_cos(x: Var) -> Var:
    d = x.data
    return x.tape.record(np.cos(d), (x.id,), (lambda g: -g * np.sin(d),))


def t_tanh(x: Var) -> Var:
    out = np.tanh(x.data)
    return x.tape.record(out, (x.id,), (lambda g: g * (1.0 - out * out),))


def t_exp(x: Var) -> Var:
    out = np.exp(x.data)
    return x.tape.record(out, (x.id,), (lambda g: g * out,))


def chain(x: Any, y: Any, sin: Unary, tanh: Unary, cos: Unary, exp: Unary) -> Any:
    """``overhead``'s 99 operations, with the given functions for the four of them that are
    not operators (the yardstick's own)."""
    for _ in range(OVERHEAD_BLOCKS):
        x = sin(x)
        x = x * 1.01
        x = x + 0.1
        x = tanh(x)
        x = x * y
        x = cos(x)
        x = exp(x)
        x = x * 0.5
        x = x - 0.25
    return x


# ---------------------------------------------------------------------- the tiny loop


def bare_tiny(inputs: Inputs) -> Callable[[], dict[str, np.ndarray]]:
    """``tiny``'s step on the bare tape: ``X @ w``, ``+ b`` and the mean logistic loss as one
    operation each (as tapegrad records them), then the SGD update."""
    X, y = inputs["X"], inputs["y"]
    w, b = inputs["w"].copy(), inputs["b"].copy()
    scale = 1.0 / y.shape[0]

    def step() -> dict[str, np.ndarray]:
        tape = Tape()
        wv, bv = tape.var(w), tape.var(b)
        xw = tape.record(X @ wv.data, (wv.id,), (lambda g: g @ X,))
        z = xw.data + bv.data
        zv = tape.record(z, (xw.id, bv.id), (lambda g: g, lambda g: g.sum()))
        loss = np.mean(np.logaddexp(0.0, z) - y * z)
        lv = tape.record(
            loss, (zv.id,), (lambda g: g * ((0.5 * np.tanh(0.5 * z) + (0.5 - y)) * scale),)
        )
        cots = tape.gradients(lv)
        grad_w, grad_b = cots[wv.id], cots[bv.id]
        w[...] -= TINY_LEARNING_RATE * grad_w
        b[...] -= TINY_LEARNING_RATE * grad_b
        return {"w": grad_w, "b": grad_b}

    return step


# ---------------------------------------------------------------------- a bare tape to 2nd order


class RecordingTape:
    """A bare Wengert list that records while ``on``. Its rules are made of :class:`Value`
    operations, so a backward pass run while it records is itself on the list."""

    def __init__(self) -> None:
        self.ops: list[tuple[tuple[int, Callable[[Value], Value]], ...]] = []
        self.on = True

    def var(self, data: np.ndarray) -> Value:
        v = self.const(data)
        v.id = len(self.ops)
        self.ops.append(())
        return v

    def const(self, data: np.ndarray) -> Value:
        v = _new(Value)
        v.data, v.id, v.tape = data, -1, self
        return v

    def record(self, data: np.ndarray, pairs: tuple[tuple[Value, Any], ...]) -> Value:
        v = self.const(data)
        ins = tuple((p.id, rule) for p, rule in pairs if p.id >= 0)
        if ins:
            v.id = len(self.ops)
            self.ops.append(ins)
        return v

    def grad(self, out: Value, seed: Value, leaf: Value) -> Value:
        """The cotangent of ``leaf`` from one backward pass seeded with ``seed`` at ``out``."""
        cots = {out.id: seed}
        ops = self.ops
        for k in range(out.id, leaf.id, -1):
            g = cots.pop(k, None)
            if g is None:
                continue
            for i, rule in ops[k]:
                gi = rule(g)
                prev = cots.get(i)
                cots[i] = gi if prev is None else prev + gi
        return cots[leaf.id]


class Value:
    """A value on a :class:`RecordingTape`: just the operations ``rosenbrock`` uses, and
    those its rules use."""

    __slots__ = ("data", "id", "tape")

    def _op(self, data: np.ndarray, pairs: Callable[[], tuple[tuple[Value, Any], ...]]) -> Value:
        tape = self.tape
        return tape.record(data, pairs()) if tape.on else tape.const(data)

    def __mul__(self, other: Value | float) -> Value:
        if other.__class__ is Value:
            return self._op(
                self.data * other.data,
                lambda: ((self, lambda g: g * other), (other, lambda g: g * self)),
            )
        return self._op(self.data * other, lambda: ((self, lambda g: g * other),))

    __rmul__ = __mul__

    def __add__(self, other: Value) -> Value:
        return self._op(self.data + other.data, lambda: ((self, _same), (other, _same)))

    def __sub__(self, other: Value) -> Value:
        return self._op(self.data - other.data, lambda: ((self, _same), (other, _negated)))

    def __rsub__(self, c: float) -> Value:
        return self._op(c - self.data, lambda: ((self, _negated),))

    def __neg__(self) -> Value:
        return self._op(-self.data, lambda: ((self, _negated),))

    def __pow__(self, n: float) -> Value:
        return self._op(self.data**n, lambda: ((self, lambda g: g * (self * float(n))),))

    def __getitem__(self, index: slice) -> Value:
        shape = self.data.shape
        return self._op(self.data[index], lambda: ((self, lambda g: g.scatter(index, shape)),))

    def scatter(self, index: slice, shape: tuple[int, ...]) -> Value:
        out = np.zeros(shape)
        out[index] = self.data
        return self._op(out, lambda: ((self, lambda g: g[index]),))

    def broadcast(self, shape: tuple[int, ...]) -> Value:
        return self._op(np.broadcast_to(self.data, shape), lambda: ((self, Value.sum),))

    def sum(self) -> Value:
        shape = self.data.shape
        return self._op(self.data.sum(), lambda: ((self, lambda g: g.broadcast(shape)),))


def _same(g: Value) -> Value:
    return g


def _negated(g: Value) -> Value:
    return -g


def bare_hvp(inputs: Inputs) -> Callable[[], dict[str, np.ndarray]]:
    """``hvp``'s step on the 2nd-order bare tape: the gradient of ``rosenbrock`` is recorded,
    then pulled back along ``v`` (reverse over reverse, as tapegrad's step does)."""
    x, v = inputs["x"], inputs["v"]

    def step() -> dict[str, np.ndarray]:
        tape = RecordingTape()
        xv = tape.var(x)
        gradient = tape.grad(with_tapegrad.rosenbrock(xv), tape.const(np.ones(())), xv)
        tape.on = False
        return {"hvp": tape.grad(gradient, tape.const(v), xv).data}

    return step


# ---------------------------------------------------------------------- measuring


def steps() -> dict[str, dict[str, Callable[[], object]]]:
    """Per row, the step of each contender (the NumPy floor first), on ``run.py``'s inputs."""
    inputs = overhead_inputs(16)
    tiny, hvp = tiny_inputs(32), hvp_inputs(100)
    xw, yw = Wrapped(), Wrapped()
    xw.data, yw.data = inputs["x"].copy(), inputs["y"].copy()

    def bare_tape() -> dict[str, np.ndarray]:
        tape = Tape()
        x, y = tape.var(inputs["x"]), tape.var(inputs["y"])
        cots = tape.gradients(chain(x, y, t_sin, t_tanh, t_cos, t_exp).sum())
        return {"x": cots[x.id], "y": cots[y.id]}

    return {
        "nograd": {
            "numpy": with_numpy.nograd(inputs),
            "minimal wrapper": lambda: {"out": chain(xw, yw, w_sin, w_tanh, w_cos, w_exp).data},
            "tapegrad": with_tapegrad.nograd(inputs),
        },
        "overhead": {
            "numpy": with_numpy.overhead(inputs),
            "bare tape": bare_tape,
            "tapegrad": with_tapegrad.overhead(inputs),
        },
        "tiny": {
            "numpy": with_numpy.tiny(tiny),
            "bare tape": bare_tiny(tiny),
            "tapegrad": with_tapegrad.tiny(tiny),
        },
        "hvp": {
            "numpy": with_numpy.hvp(hvp),
            "bare tape, 2nd order": bare_hvp(hvp),
            "tapegrad": with_tapegrad.hvp(hvp),
        },
    }


def check(row: dict[str, Callable[[], object]]) -> None:
    """Every contender computes what the floor computes."""
    want = row["numpy"]()
    for name, step in row.items():
        if name == "numpy":
            continue  # (called once already: the steps of ``tiny`` update their parameters)
        got = step()
        for key, value in want.items():
            value_got = with_tapegrad.to_numpy(got[key])
            if not np.allclose(value_got, value, rtol=1e-10, atol=1e-12):
                raise AssertionError(f"{name} computes a different {key!r} from the floor")


def _block(step: Callable[[], object], seconds: float) -> float:
    """Seconds per call over a block of about ``seconds``."""
    calls = 0
    start = time.perf_counter()
    while True:
        for _ in range(20):
            step()
        calls += 20
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def measure(rounds: int = 15, seconds: float = 0.2) -> dict[str, dict[str, float]]:
    """Median per-round ratio to the floor, per row and contender."""
    limit_thread_pools()
    table = {}
    for row_name, row in steps().items():
        check(row)
        ratios: dict[str, list[float]] = {name: [] for name in row if name != "numpy"}
        for _ in range(rounds):
            floor = _block(row["numpy"], seconds)
            for name in ratios:
                ratios[name].append(_block(row[name], seconds) / floor)
        table[row_name] = {name: statistics.median(r) for name, r in ratios.items()}
    return table


def main() -> None:
    for row, ratios in measure().items():
        cells = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items())
        print(f"{row:9s} (x hand-written NumPy): {cells}")


if __name__ == "__main__":
    main()
