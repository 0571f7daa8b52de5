"""The benchmark implementations compute the same gradients as the hand-written NumPy floor.

These run the workloads in-process at small sizes (no timing); peers that are not installed
are skipped. One test drives ``benchmarks/run.py --check-only`` end to end on the floor alone.
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
from benchmarks.libraries import LIBRARIES, REFERENCE  # noqa: E402
from benchmarks.report import format_table, ratios_to_reference  # noqa: E402
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
    got = first_gradients(library, spec, spec.test_size)
    assert describe_mismatch(got, reference_gradients[workload], spec.rtol) is None


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_numpy_floor_matches_finite_differences(workload):
    """The floor is the reference, so check its backward against central differences."""
    spec = WORKLOADS[workload]
    if spec.dtype != np.float64:
        pytest.skip("finite differences need float64")
    inputs = spec.make_inputs(spec.test_size)
    gradients = first_gradients(REFERENCE, spec, spec.test_size)
    step_size = 1e-6
    for name, gradient in gradients.items():
        for index in (0, inputs[name].size // 2, inputs[name].size - 1):
            values = []
            for sign in (1.0, -1.0):
                moved = {key: value.copy() for key, value in inputs.items()}
                moved[name].flat[index] += sign * step_size
                values.append(_loss(workload, moved))
            estimate = (values[0] - values[1]) / (2 * step_size)
            assert gradient.flat[index] == pytest.approx(estimate, rel=1e-5, abs=1e-8)


def _loss(workload: str, inputs: dict[str, np.ndarray]) -> float:
    """The scalar each float64 workload differentiates, written directly."""
    if workload == "large":
        x = inputs["x"]
        return float(np.sum(np.tanh(x) * x**2 + np.exp(-(x**2))))
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
