"""Transforms against a hand-written NumPy floor and PyTorch, on one thread.

Three workloads:

- ``hvp``: Hessian-vector product of the 100-d Rosenbrock function, forward over reverse
  (``tg.jvp(tg.grad(f), (x,), (v,))``);
- ``jacobian``: the full Jacobian of ``tanh(W @ x)`` with ``W`` 64 x 64, by ``tg.jacrev`` and
  ``tg.jacfwd``;
- ``per-example``: gradients of a small MLP's loss for each of 128 examples with
  ``tg.vmap(tg.grad(loss))``, against one ``tg.grad`` of the summed loss.

Each implementation is checked against the NumPy result before it is timed; the table gives
the median time per call over repeated runs and its ratio to the NumPy floor.

Run: ``python benchmarks/transforms_bench.py [--quick]``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tapegrad as tg  # noqa: E402
from tapegrad.ops.nn import binary_cross_entropy_with_logits  # noqa: E402

try:
    from threadpoolctl import threadpool_limits

    _LIMITS = threadpool_limits(limits=1)
except ImportError:  # the environment variables above already pin BLAS
    _LIMITS = None

try:
    import torch
    import torch.func

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - PyTorch is optional here
    torch = None

GOALS = {"hvp": 12.0, "jacobian": 10.0}
PER_EXAMPLE_GOAL = 3.0


def _calls_for(fn: Callable[[], Any], min_time: float) -> int:
    """How many calls of ``fn`` take about ``min_time`` seconds."""
    for _ in range(3):
        fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time / 5 or n >= 1 << 16:
            break
        n *= 2
    return max(1, int(n * min_time / max(elapsed, 1e-9)))


def timeit(impls: dict[str, Callable[[], Any]], repeats: int,
           min_time: float) -> dict[str, list[float]]:
    """Seconds per call of each implementation in each of ``repeats`` rounds. The rounds
    interleave the implementations, so that the ratios between them taken within a round are
    little affected by other load on the machine. As ``timeit`` does, the cyclic garbage
    collector is paused while timing (its passes cost in proportion to all live objects,
    PyTorch's included, not to the code timed)."""
    counts = {name: _calls_for(fn, min_time) for name, fn in impls.items()}
    runs: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            n = counts[name]
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                runs[name].append((time.perf_counter() - t0) / n)
            finally:
                gc.enable()
    return runs


def _close(name: str, got: Any, want: np.ndarray, rtol: float = 1e-9) -> None:
    got = got.detach().numpy() if hasattr(got, "detach") else np.asarray(got)
    if not np.allclose(got, want, rtol=rtol, atol=rtol):
        raise AssertionError(f"{name} disagrees with NumPy: max error {np.abs(got - want).max()}")


# ------------------------------------------------------------------------------ workloads


def hvp_workload(rng: np.random.Generator) -> dict[str, Callable[[], Any]]:
    n = 100
    x = rng.standard_normal(n)
    v = rng.standard_normal(n)

    def rosenbrock(x: Any) -> Any:
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    def numpy_hvp() -> np.ndarray:
        a, b = x[:-1], x[1:]
        d = b - a * a
        va, vb = v[:-1], v[1:]
        dd = vb - 2 * a * va
        out = np.zeros_like(x)
        out[:-1] = -400 * (va * d + a * dd) + 2 * va
        out[1:] += 200 * dd
        return out

    want = numpy_hvp()
    impls: dict[str, Callable[[], Any]] = {"numpy (hand-written)": numpy_hvp}
    grad_f = tg.grad(rosenbrock)
    impls["tapegrad jvp(grad(f))"] = lambda: tg.jvp(grad_f, (x,), (v,))[1]
    if torch is not None:
        xt, vt = torch.tensor(x), torch.tensor(v)
        tgrad = torch.func.grad(rosenbrock)
        impls["torch.func jvp(grad(f))"] = lambda: torch.func.jvp(tgrad, (xt,), (vt,))[1]
        impls["torch.autograd.functional.hvp"] = (
            lambda: torch.autograd.functional.hvp(rosenbrock, xt, vt)[1]
        )
    for name, fn in impls.items():
        _close(name, fn(), want)
    return impls


def jacobian_workload(rng: np.random.Generator) -> dict[str, Callable[[], Any]]:
    n = 64
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)

    def f(x: Any) -> Any:
        return tg.tanh(w @ x)

    def numpy_jacobian() -> np.ndarray:
        return (1 - np.tanh(w @ x) ** 2)[:, None] * w

    want = numpy_jacobian()
    impls: dict[str, Callable[[], Any]] = {"numpy (hand-written)": numpy_jacobian}
    jr, jf = tg.jacrev(f), tg.jacfwd(f)
    impls["tapegrad jacrev"] = lambda: jr(x)
    impls["tapegrad jacfwd"] = lambda: jf(x)
    if torch is not None:
        wt, xt = torch.tensor(w), torch.tensor(x)

        def ft(x: Any) -> Any:
            return torch.tanh(wt @ x)

        tjr, tjf = torch.func.jacrev(ft), torch.func.jacfwd(ft)
        impls["torch.func jacrev"] = lambda: tjr(xt)
        impls["torch.func jacfwd"] = lambda: tjf(xt)
        impls["torch.autograd.functional.jacobian"] = (
            lambda: torch.autograd.functional.jacobian(ft, xt, vectorize=True)
        )
    for name, fn in impls.items():
        _close(name, fn(), want)
    return impls


def per_example_workload(rng: np.random.Generator) -> tuple[dict[str, Callable[[], Any]],
                                                            dict[str, Callable[[], Any]]]:
    batch, d, h = 128, 32, 64
    xs = rng.standard_normal((batch, d))
    ys = (rng.random(batch) < 0.5).astype(np.float64)
    params = (rng.standard_normal((d, h)) / np.sqrt(d), np.zeros(h),
              rng.standard_normal(h) / np.sqrt(h), np.zeros(()))

    def loss(p: Any, x: Any, y: Any) -> Any:
        w1, b1, w2, b2 = p
        hidden = tg.tanh(x @ w1 + b1)
        return binary_cross_entropy_with_logits(hidden @ w2 + b2, y, reduction="sum")

    def numpy_per_example() -> tuple[np.ndarray, ...]:
        w1, b1, w2, b2 = params
        hidden = np.tanh(xs @ w1 + b1)
        z = hidden @ w2 + b2
        dz = 1 / (1 + np.exp(-z)) - ys
        dh = dz[:, None] * w2 * (1 - hidden**2)
        return (np.einsum("bi,bj->bij", xs, dh), dh, dz[:, None] * hidden, dz)

    def numpy_summed() -> tuple[np.ndarray, ...]:
        w1, b1, w2, b2 = params
        hidden = np.tanh(xs @ w1 + b1)
        z = hidden @ w2 + b2
        dz = 1 / (1 + np.exp(-z)) - ys
        dh = dz[:, None] * w2 * (1 - hidden**2)
        return (xs.T @ dh, dh.sum(0), hidden.T @ dz, dz.sum())

    per_grad = tg.vmap(tg.grad(loss), in_axes=(None, 0, 0))
    sum_grad = tg.grad(lambda p: loss(p, xs, ys))
    per: dict[str, Callable[[], Any]] = {
        "numpy per-example (hand-written)": numpy_per_example,
        "tapegrad vmap(grad(loss))": lambda: per_grad(params, xs, ys),
    }
    summed: dict[str, Callable[[], Any]] = {
        "numpy summed (hand-written)": numpy_summed,
        "tapegrad grad(summed loss)": lambda: sum_grad(params),
    }
    if torch is not None:
        tparams = tuple(torch.tensor(p) for p in params)
        txs, tys = torch.tensor(xs), torch.tensor(ys)

        def tloss(p: Any, x: Any, y: Any) -> Any:
            w1, b1, w2, b2 = p
            hidden = torch.tanh(x @ w1 + b1)
            return torch.nn.functional.binary_cross_entropy_with_logits(
                hidden @ w2 + b2, y, reduction="sum"
            )

        tper = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))
        tsum = torch.func.grad(lambda p: tloss(p, txs, tys))
        per["torch.func vmap(grad(loss))"] = lambda: tper(tparams, txs, tys)
        summed["torch.func grad(summed loss)"] = lambda: tsum(tparams)
    for group, want in ((per, numpy_per_example()), (summed, numpy_summed())):
        for name, fn in group.items():
            for got, w in zip(fn(), want):
                _close(name, got, w)
    return per, summed


# ------------------------------------------------------------------------------ main


def _ratio(runs: dict[str, list[float]], name: str, base: str) -> float:
    """Median over rounds of the time of ``name`` over that of ``base`` in the same round."""
    return statistics.median(a / b for a, b in zip(runs[name], runs[base]))


def _table(title: str, impls: dict[str, Callable[[], Any]], repeats: int,
           min_time: float) -> dict[str, list[float]]:
    runs = timeit(impls, repeats, min_time)
    floor = next(iter(runs))
    print(f"\n{title}")
    print(f"  {'implementation':40s} {'median':>10s} {'best':>10s} {'x floor':>8s}")
    for name, ts in runs.items():
        print(f"  {name:40s} {statistics.median(ts) * 1e6:8.1f}us {min(ts) * 1e6:8.1f}us "
              f"{_ratio(runs, name, floor):8.1f}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    args = parser.parse_args(argv)
    repeats, min_time = (7, 0.05) if args.quick else (21, 0.2)
    rng = np.random.default_rng(0)
    print(f"NumPy {np.__version__}, torch {torch.__version__ if torch else 'absent'}, "
          "one thread; medians of repeated runs")
    hvp = _table("Hessian-vector product, Rosenbrock, n = 100", hvp_workload(rng), repeats,
                 min_time)
    jac = _table("Jacobian of tanh(W @ x), W 64 x 64", jacobian_workload(rng), repeats,
                 min_time)
    per_impls, sum_impls = per_example_workload(rng)
    grads = _table("Per-example gradients, MLP 32-64-1, 128 examples (floor: NumPy "
                   "per-example), and the gradient of the summed loss",
                   {**per_impls, **sum_impls}, repeats, min_time)
    per = {k: grads[k] for k in per_impls}
    summed = {k: grads[k] for k in sum_impls}
    both = {**per, **summed}
    print("\nGoals (medians over rounds of within-round ratios)")
    rows = [
        ("HVP", _ratio(hvp, "tapegrad jvp(grad(f))", "numpy (hand-written)"), GOALS["hvp"],
         "the NumPy floor"),
        ("Jacobian rev", _ratio(jac, "tapegrad jacrev", "numpy (hand-written)"),
         GOALS["jacobian"], "the NumPy floor"),
        ("Jacobian fwd", _ratio(jac, "tapegrad jacfwd", "numpy (hand-written)"),
         GOALS["jacobian"], "the NumPy floor"),
        ("vmap(grad)", _ratio(both, "tapegrad vmap(grad(loss))", "tapegrad grad(summed loss)"),
         PER_EXAMPLE_GOAL, "one grad of the summed loss"),
    ]
    for label, ratio, goal, what in rows:
        print(f"  {label:14s} {ratio:6.1f}x {what} (goal <= {goal:g}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
