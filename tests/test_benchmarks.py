"""The benchmark implementations compute the same gradients as the hand-written NumPy floor.

These run the workloads in-process at small sizes (no timing); peers that are not installed,
or not usable here, are skipped. One test drives ``benchmarks/run.py --check-only`` end to end
on the floor alone.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.checks import describe_mismatch, first_gradients  # noqa: E402
from benchmarks.harness import Row  # noqa: E402
from benchmarks.libraries import (  # noqa: E402
    LIBRARIES,
    REFERENCE,
    NotApplicable,
    make_step,
)
from benchmarks.report import (  # noqa: E402
    format_summary,
    format_table,
    goal_results,
    ratios_to_reference,
)
from benchmarks.workloads import WORKLOADS  # noqa: E402

CHECKED_LIBRARIES = [name for name in LIBRARIES if name != REFERENCE]


@pytest.fixture(scope="module")
def reference_gradients() -> dict[str, dict[str, np.ndarray]]:
    return {
        name: first_gradients(REFERENCE, workload, workload.test_size)
        for name, workload in WORKLOADS.items()
    }


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("library", CHECKED_LIBRARIES)
def test_gradients_match_numpy_floor(library, workload, reference_gradients):
    if importlib.util.find_spec(LIBRARIES[library].package) is None:
        pytest.skip(f"{library} is not installed")
    spec = WORKLOADS[workload]
    try:
        got = first_gradients(library, spec, spec.test_size)
    except ImportError as exc:  # not installed cleanly, or (tapegrad-jit) no tg.jit
        pytest.skip(f"{library} is not usable here: {exc}")
    except NotApplicable as exc:
        pytest.skip(str(exc))
    assert describe_mismatch(got, reference_gradients[workload], spec.rtol) is None


def test_tapegrad_jit_steps_are_right_without_jit():
    """The tapegrad-jit steps are pure functions that give the floor's gradients when run as
    they are (``tg.jit`` replaced by the identity), whether or not ``tg.jit`` exists yet."""
    import tapegrad as tg

    name = LIBRARIES["tapegrad-jit"].impl_module
    saved = sys.modules.pop(name, None)
    had_jit, jit = hasattr(tg, "jit"), getattr(tg, "jit", None)
    tg.jit = lambda function: function
    try:
        for workload, spec in WORKLOADS.items():
            # Three steps: the updates of mlp and tiny must feed the next step.
            module, step = make_step("tapegrad-jit", workload, spec.make_inputs(spec.test_size))
            _, floor = make_step(REFERENCE, workload, spec.make_inputs(spec.test_size))
            for _ in range(3):
                got = {key: module.to_numpy(value) for key, value in step().items()}
                expected = floor()
            assert describe_mismatch(got, expected, spec.rtol) is None, workload
    finally:
        if had_jit:
            tg.jit = jit
        else:
            del tg.jit
        sys.modules.pop(name, None)
        if saved is not None:
            sys.modules[name] = saved


def test_a_library_can_decline_a_workload():
    pytest.importorskip("mygrad")
    with pytest.raises(NotApplicable, match="higher-order"):
        make_step("mygrad", "hvp", WORKLOADS["hvp"].make_inputs(4))


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_numpy_floor_matches_finite_differences(workload):
    """The floor is the reference, so check its backward against central differences."""
    spec = WORKLOADS[workload]
    if spec.dtype != np.float64:
        pytest.skip("finite differences need float64")
    inputs = spec.make_inputs(spec.test_size)
    gradients = first_gradients(REFERENCE, spec, spec.test_size)
    if workload == "nograd":  # forward only: its result is the overhead row's chain
        x, y = inputs["x"], inputs["y"]
        for _ in range(11):
            x = np.exp(np.cos(np.tanh(np.sin(x) * 1.01 + 0.1) * y)) * 0.5 - 0.25
        np.testing.assert_allclose(gradients["out"], x, rtol=1e-15)
        return
    for name, gradient, function, wrt in _derivatives(workload, inputs, gradients):
        for index in (0, gradient.size // 2, gradient.size - 1):
            estimate = _central_difference(function, inputs, wrt, index, gradient.shape)
            assert gradient.flat[index] == pytest.approx(estimate, rel=1e-5, abs=1e-8), name


def _central_difference(function, inputs, wrt, index, shape, step_size=1e-6):
    """d function / d inputs[wrt].flat[j] for the ``index``-th entry of a result of ``shape``.

    ``function(inputs)`` returns an array whose entries line up with the result's leading
    axes; ``wrt`` and the trailing axes pick the input entry that entry differentiates by.
    """
    position = np.unravel_index(index, shape)
    leading = len(shape) - inputs[wrt].ndim  # axes that pick an output (jacobian, per-example)
    out_index, in_index = position[:leading], position[leading:]
    values = []
    for sign in (1.0, -1.0):
        moved = {key: value.copy() for key, value in inputs.items()}
        moved[wrt][in_index] += sign * step_size
        values.append(np.asarray(function(moved))[out_index])
    return float((values[0] - values[1]) / (2 * step_size))


def _derivatives(workload, inputs, gradients):
    """``(gradient name, gradient, function, input)``: the gradient is d function / d input."""
    if workload == "hvp":
        # H v is the derivative of the gradient along v: differentiate g(x + t v) in t.
        def along(moved):
            return _rosenbrock_gradient(inputs["x"] + moved["t"] * inputs["v"])

        inputs["t"] = np.array(0.0)
        return [("hvp", gradients["hvp"], along, "t")]
    if workload == "jacobian":
        return [("jacobian", gradients["jacobian"], lambda i: np.tanh(i["w"] @ i["x"]), "x")]
    if workload == "per_example":
        return [(name, g, _per_example_losses, name) for name, g in gradients.items()]
    return [(name, g, lambda i: _loss(workload, i), name) for name, g in gradients.items()]


def _rosenbrock_gradient(x):
    a, b = x[:-1], x[1:]
    gradient = np.zeros_like(x)
    gradient[:-1] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
    gradient[1:] += 200.0 * (b - a * a)
    return gradient


def _per_example_losses(inputs):
    hidden = np.tanh(inputs["xs"] @ inputs["w1"] + inputs["b1"])
    z = hidden @ inputs["w2"] + inputs["b2"]
    return np.logaddexp(0.0, z) - inputs["ys"] * z


def _loss(workload: str, inputs: dict[str, np.ndarray]) -> float:
    """The scalar each float64 workload differentiates, written directly."""
    if workload == "large":
        x = inputs["x"]
        return float(np.sum(np.tanh(x) * x**2 + np.exp(-(x**2))))
    if workload == "tiny":
        z = inputs["X"] @ inputs["w"] + inputs["b"]
        return float(np.mean(np.logaddexp(0.0, z) - inputs["y"] * z))
    if workload == "batch_grad":
        return float(np.sum(_per_example_losses(inputs)))
    x, y = inputs["x"], inputs["y"]
    for _ in range(11):
        x = np.exp(np.cos(np.tanh(np.sin(x) * 1.01 + 0.1) * y)) * 0.5 - 0.25
    return float(np.sum(x))


def test_mismatch_is_reported():
    expected = {"x": np.array([1.0, 2.0, 3.0])}
    assert describe_mismatch({"x": expected["x"] * (1 + 1e-12)}, expected, 1e-8) is None
    wrong = describe_mismatch({"x": np.array([1.0, 2.1, 3.0])}, expected, 1e-8)
    assert wrong is not None and "worst at (1,)" in wrong
    assert describe_mismatch({"x": np.array([np.nan, 2.0, 3.0])}, expected, 1e-8) is not None
    assert "dtype" in describe_mismatch({"x": expected["x"].astype(np.float32)}, expected, 1e-4)
    assert "no gradient" in describe_mismatch({"x": None}, expected, 1e-8)


def test_ratio_pairs_blocks_taken_in_the_same_round():
    # Round 2 ran during a slow spell that hit both libraries alike.
    floor = Row("w", REFERENCE, "ok", block_medians=[1.0, 3.0, 1.0])
    other = Row("w", "torch", "ok", block_medians=[2.0, 6.0, 2.0])
    ratios = ratios_to_reference([floor, other])
    assert ratios == {("w", REFERENCE): 1.0, ("w", "torch"): 2.0}
    table = format_table([floor, other, Row("w", "mygrad", "skipped", "not installed")])
    assert "2.00x" in table and "skipped: not installed" in table


def test_check_only_command_line_passes_on_the_floor():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--check-only",
         "--libs", REFERENCE, "--workloads", "overhead"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "overhead  numpy" in result.stdout and "checked" in result.stdout


def test_goals_compare_with_the_floor_a_baseline_workload_or_memory():
    rows = [
        Row("overhead", REFERENCE, "ok", block_medians=[1.0, 2.0]),
        Row("overhead", "tapegrad", "ok", block_medians=[2.0, 4.0]),
        Row("overhead", "tapegrad-jit", "skipped", "tg.jit not available"),
        Row("large", REFERENCE, "ok", block_medians=[1.0], peak_extra_bytes=600, unit_bytes=100),
        Row("large", "tapegrad", "ok", block_medians=[1.0], peak_extra_bytes=700, unit_bytes=100),
        Row("per_example", REFERENCE, "ok", block_medians=[1.0, 1.0]),
        Row("per_example", "tapegrad", "ok", block_medians=[3.0, 6.0]),
        Row("batch_grad", REFERENCE, "ok", block_medians=[1.0, 1.0]),
        Row("batch_grad", "tapegrad", "ok", block_medians=[1.0, 3.0]),
    ]
    results = {(result.row_name, result.library): result for result in goal_results(rows)}
    assert results["overhead", "tapegrad"].measured == 2.0
    assert results["overhead", "tapegrad"].met
    jit = results["overhead", "tapegrad-jit"]
    assert jit.met is None and jit.note == "tg.jit not available"
    assert results["large", "tapegrad"].met
    memory = results["large memory", "tapegrad"]
    assert memory.measured == 7.0 and memory.met is False
    # Paired by round: 3/1 and 6/3, whose median is 2.5 (the medians' quotient would be 2.25).
    per_example = results["per_example", "tapegrad"]
    assert per_example.against == "batch_grad" and per_example.measured == 2.5
    summary = format_summary(rows)
    assert "MISSED: 7.00" in summary and "met: 2.50" in summary and "large memory" in summary


def test_peak_extra_memory_counts_what_a_step_allocates():
    from benchmarks.worker import peak_extra_bytes

    size = 64 << 20  # above glibc's largest mmap threshold: every such array is mapped afresh

    def step():
        first = np.ones(size // 8)
        return first + 1.0  # both alive at once: twice ``size`` at the peak

    extra, reason = peak_extra_bytes(step)
    if extra is None:
        pytest.skip(reason)
    assert 1.9 * size <= extra <= 2.5 * size


def test_the_python_floor_yardsticks_compute_what_the_floor_does():
    from benchmarks import python_floor

    rows = python_floor.steps()
    assert set(rows) == {"nograd", "overhead", "tiny", "hvp"}
    for row in rows.values():
        python_floor.check(row)  # raises on a mismatch
        assert set(row) >= {"numpy", "tapegrad"} and len(row) == 3


def test_the_gpu_benchmark_reference_is_the_gradient_of_the_large_workload():
    from benchmarks import cuda_large
    from benchmarks.impls import with_numpy
    from benchmarks.workloads import large_inputs

    x = large_inputs(1000)["x"]
    floor = with_numpy.large({"x": x})()["x"]
    np.testing.assert_allclose(cuda_large.reference_gradient(x), floor, rtol=1e-13, atol=1e-15)
    # float32 input, float64 answer: the reference the float32 gradients are checked against
    assert cuda_large.reference_gradient(x.astype(np.float32)).dtype == np.float64


def test_the_gpu_benchmark_reports_medians_of_paired_ratios():
    from benchmarks import cuda_large

    times = {"cupy": [1.0, 1.0, 4.0], "tapegrad": [2.0, 3.0, 4.0], "torch": [2.0, 2.0, 8.0]}
    result = cuda_large.report(times)
    assert result["median_ms"] == {"cupy": 1000.0, "tapegrad": 3000.0, "torch": 2000.0}
    # per round 2, 3, 1 over cupy and 1, 1.5, 0.5 over torch: medians 2 and 1
    assert result["tapegrad_over"] == {"cupy": 2.0, "torch": 1.0}
    assert result["goal_met"] is True


def test_the_cuda_benchmark_checks_every_library_on_the_gpu():
    from devices import CUDA, skip_marks

    if skip_marks(CUDA):
        pytest.skip(CUDA.skip_reason())
    import cupy

    from benchmarks import cuda_large

    x_host = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    rows = cuda_large.steps(cupy.asarray(x_host))
    assert {"cupy", "tapegrad"} <= set(rows)
    errors = cuda_large.check(rows, x_host)  # raises above the tolerance
    assert all(err <= cuda_large.RTOL for err in errors.values())
    with pytest.raises(AssertionError, match="relative error"):
        cuda_large.check({"wrong": lambda: cupy.asarray(x_host)}, x_host)
