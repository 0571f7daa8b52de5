"""Shared test configuration: Hypothesis profiles.

Two profiles are registered and the one named by the ``HYPOTHESIS_PROFILE`` environment
variable is loaded (``dev`` when it is unset):

``ci``
    25 examples per property and no deadline, so the full suite stays within the time of a
    continuous-integration run on a small machine; ``nox -s tests`` selects it.
``dev``
    100 examples per property and no deadline, for a more thorough local run.

Deadlines are off in both: a property that differentiates through a matrix decomposition
can take far longer on its first example than on later ones, which is not a failure.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest
from devices import STRICT_KIND, refusing_host_conversions
from hypothesis import HealthCheck, settings

PROFILE_ENV_VAR = "HYPOTHESIS_PROFILE"
DEFAULT_PROFILE = "dev"

# Both start from Hypothesis's own defaults. Without an explicit parent a profile inherits
# whatever profile is active when it is registered, and where the environment says CI,
# Hypothesis has already loaded a built-in profile that is also named "ci": ours would then
# inherit from the very profile it replaces, and reading its settings never ends.
_BASE = settings.get_profile("default")
settings.register_profile(
    "ci",
    parent=_BASE,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=_BASE, max_examples=100, deadline=None)

settings.load_profile(os.environ.get(PROFILE_ENV_VAR, DEFAULT_PROFILE))


@pytest.fixture(autouse=True)
def _strict_arrays_refuse_host_conversions(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests on the strict stand-in for a device array run with NumPy's host conversions
    refusing StrictArrays (``devices.refusing_host_conversions``), as they refuse CuPy arrays."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and any(p is STRICT_KIND for p in callspec.params.values()):
        with refusing_host_conversions():
            yield
    else:
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``torch`` (cross-checks against PyTorch) skip where it is not installed."""
    if importlib.util.find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="PyTorch is not installed (pip install -e .[torch])")
    for item in items:
        if item.get_closest_marker("torch") is not None:
            item.add_marker(skip)
