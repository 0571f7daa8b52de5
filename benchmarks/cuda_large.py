"""The ``large`` workload on a GPU: tapegrad on CuPy against PyTorch CUDA and hand-written CuPy.

``sum(tanh(x)*x**2 + exp(-x**2))`` and its gradient, ``x`` a vector of 4M float32 on GPU 0,
forward + backward per step. The three steps are the CPU benchmark's own (``impls``), given
device arrays: hand-written NumPy code runs on CuPy arrays through NumPy's dispatch protocols,
tapegrad's step on a tensor holding a CuPy array, PyTorch's on a CUDA tensor. ::

    python benchmarks/cuda_large.py                 # 4M float32, 15 rounds
    python benchmarks/cuda_large.py --size 1000000 --rounds 5 --json out.json

Before timing, every library's gradient is checked against a float64 NumPy reference on the
host. Each round times one block of steps per library, in turn, with the device synchronised
before and after the block; the report gives median per-step times and the medians of the
per-round ratios. Needs CuPy and a GPU; PyTorch is optional.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # a script: the repository root on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.impls import with_numpy, with_tapegrad  # noqa: E402

#: The goal: tapegrad on CuPy within this factor of PyTorch CUDA.
GOAL_VS_TORCH = 1.3
#: Relative tolerance of a float32 gradient against the float64 reference.
RTOL = 1e-5

Step = Callable[[], Any]


def reference_gradient(x: np.ndarray) -> np.ndarray:
    """The gradient of the loss at ``x``, in float64 on the host."""
    x = x.astype(np.float64)
    t = np.tanh(x)
    return x * x * (1.0 - t * t) + 2.0 * x * t - 2.0 * x * np.exp(-x * x)


def _torch_step(x_device: Any) -> Step | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    x = torch.from_dlpack(x_device).clone().requires_grad_()

    def step() -> Any:
        x.grad = None
        torch.sum(torch.tanh(x) * x**2 + torch.exp(-(x**2))).backward()
        return x.grad

    step.synchronize = torch.cuda.synchronize
    return step


def steps(x_device: Any) -> dict[str, Step]:
    """One forward + backward step per library, each returning the gradient on the device."""
    cp = _cupy()
    inputs = {"x": x_device}
    numpy_step = with_numpy.large(inputs)
    tapegrad_step = with_tapegrad.large(inputs)
    found: dict[str, Step] = {
        "cupy": lambda: numpy_step()["x"],
        "tapegrad": lambda: tapegrad_step()["x"].data,
    }
    torch_step = _torch_step(x_device)
    if torch_step is not None:
        found["torch"] = torch_step
    for step in found.values():
        step.synchronize = getattr(step, "synchronize", cp.cuda.Device().synchronize)
    return found


def _to_host(gradient: Any) -> np.ndarray:
    if hasattr(gradient, "get"):
        return gradient.get()
    return gradient.detach().cpu().numpy()


def check(rows: dict[str, Step], x_host: np.ndarray) -> dict[str, float]:
    """Each library's relative error against the float64 reference; raises above ``RTOL``."""
    want = reference_gradient(x_host)
    errors = {}
    for name, step in rows.items():
        got = _to_host(step())
        if got.dtype != x_host.dtype or got.shape != x_host.shape:
            raise AssertionError(f"{name}: gradient {got.dtype} {got.shape}, not {x_host.dtype}")
        err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
        if not err <= RTOL:
            raise AssertionError(f"{name}: relative error {err:.3g} over {RTOL:g}")
        errors[name] = err
    return errors


def _time_block(step: Step, repeats: int) -> float:
    step.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    step.synchronize()
    return (time.perf_counter() - start) / repeats


def measure(rows: dict[str, Step], rounds: int, block_seconds: float) -> dict[str, list[float]]:
    """Per-step seconds of each library, one block per library per round, interleaved."""
    repeats = {}
    for name, step in rows.items():
        for _ in range(3):  # warm up: kernels compiled, memory pools filled
            _time_block(step, 1)
        repeats[name] = max(1, round(block_seconds / _time_block(step, 3)))
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(rounds):
        for name, step in rows.items():
            times[name].append(_time_block(step, repeats[name]))
    return times


def report(times: dict[str, list[float]]) -> dict[str, Any]:
    """Median per-step times, and tapegrad's medians of per-round ratios to the others."""
    result: dict[str, Any] = {
        "median_ms": {name: 1e3 * statistics.median(t) for name, t in times.items()},
        "best_ms": {name: 1e3 * min(t) for name, t in times.items()},
    }
    ratios = {}
    for other in ("cupy", "torch"):
        if other in times:
            pairs = zip(times["tapegrad"], times[other], strict=True)
            ratios[other] = statistics.median(a / b for a, b in pairs)
    result["tapegrad_over"] = ratios
    if "torch" in ratios:
        result["goal_vs_torch"] = GOAL_VS_TORCH
        result["goal_met"] = ratios["torch"] <= GOAL_VS_TORCH
    return result


def _cupy() -> Any:
    import cupy

    return cupy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block-seconds", type=float, default=0.2)
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)

    cp = _cupy()
    x_host = np.random.default_rng(0).standard_normal(args.size).astype(np.float32)
    x_device = cp.asarray(x_host)
    rows = steps(x_device)
    errors = check(rows, x_host)
    result = report(measure(rows, args.rounds, args.block_seconds))
    result.update(
        size=args.size,
        rounds=args.rounds,
        relative_error=errors,
        device=cp.cuda.runtime.getDeviceProperties(0)["name"].decode(),
        versions={"cupy": cp.__version__, "numpy": np.__version__},
    )
    if "torch" in rows:
        import torch

        result["versions"]["torch"] = torch.__version__
    print(f"large workload, {args.size} float32 on {result['device']}, {args.rounds} rounds")
    for name, ms in result["median_ms"].items():
        print(f"  {name:9s} {ms:8.3f} ms/step (best {result['best_ms'][name]:.3f})")
    for other, ratio in result["tapegrad_over"].items():
        print(f"  tapegrad / {other}: {ratio:.2f}x")
    if "goal_met" in result:
        print(f"  goal <= {GOAL_VS_TORCH}x torch: {'met' if result['goal_met'] else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
