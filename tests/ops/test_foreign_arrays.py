"""No rule reaches NumPy directly for array maths: the whole op table on a foreign array type.

``StrictArray`` (``tests/devices.py``) stands in for a device array (a CuPy array, say): its
own array module (``STRICT``) works on it, and so do its operators, but mixing it with a plain
NumPy array (what a forward or rule does when it calls ``numpy`` on data or makes arrays with
NumPy) raises. The checks of the op table (``test_table.py``) run here on such arrays, one
example each, through the very code the CUDA cases run with CuPy arrays: the arguments move
to the device kind, every result must come back as a StrictArray, and the comparisons happen
on the host. While they run, NumPy's conversions (``np.asarray`` and the like) refuse
StrictArrays as they refuse CuPy arrays (``refusing_host_conversions``), so a rule that
copies device data to the host fails here too. Values, reverse and forward mode (against
central differences) are checked on
every case of every row; second order, float32 and the facade on one case per row. This
proves that primitives take the array module from the data, as they must for CuPy, and that
the device-parametrised tests themselves keep host and device data apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from devices import (
    STRICT,
    STRICT_KIND,
    ForeignArrayError,
    StrictArray,
    refusing_host_conversions,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg

from .specs import CHECKS, Case, OpSpec
from .test_table import CHECKERS, table_params

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_strict_array_refuses_plain_numpy_arrays() -> None:
    a = np.arange(3.0).view(StrictArray)
    assert isinstance(a * 2, StrictArray)
    assert isinstance(STRICT.sin(a), StrictArray)
    with pytest.raises(ForeignArrayError):
        _ = a + np.ones(3)
    assert isinstance(a[np.array([0, 0])], StrictArray)
    with pytest.raises(ForeignArrayError):
        STRICT.add(a, np.ones(3))
    # Like a CuPy array, it leaves operations with tensors to them.
    t = tg.tensor(a)
    assert isinstance(t.data, StrictArray)
    for out in (a * t, t * a, np.multiply(a, t)):
        assert isinstance(out, tg.Tensor) and isinstance(out.data, StrictArray)


def test_strict_array_refuses_what_cupy_refuses() -> None:
    a = np.arange(3.0).view(StrictArray)
    # Ufuncs refuse every host array, 0-d and integer ones too; NumPy scalars are fine.
    for host in (np.array(2.0), np.arange(3), np.array(True)):
        with pytest.raises(ForeignArrayError):
            np.multiply(a, host)
    assert isinstance(a * np.float64(2.0), StrictArray)
    # A host index is fine in ``ufunc.at``, host values are not.
    np.add.at(a, np.array([0, 0]), 1.0)
    np.testing.assert_array_equal(a.get(), [2.0, 1.0, 2.0])
    with pytest.raises(ForeignArrayError):
        np.add.at(a, np.array([0]), np.ones(1))
    # An element is a 0-d array of the module; ``get`` is the explicit move to the host.
    assert isinstance(a[1], StrictArray) and a[1].shape == ()
    host = a.get()
    assert type(host) is np.ndarray and not np.shares_memory(host, a.view(np.ndarray))
    # NumPy's conversions refuse it while ``refusing_host_conversions`` is active, as they
    # refuse a CuPy array; the host array module itself is not changed outside it.
    with refusing_host_conversions():
        for name in ("asarray", "asanyarray", "array", "ascontiguousarray"):
            with pytest.raises(ForeignArrayError, match=f"numpy.{name}"):
                getattr(np, name)(a)
        assert type(np.asarray([1.0])) is np.ndarray
    assert np.asarray(a) is not None


def test_backend_gives_the_strict_module() -> None:
    from tapegrad.backend import namespace

    assert namespace(np.zeros(2).view(StrictArray)) is STRICT


def test_strict_kind_moves_and_checks() -> None:
    host = {"a": np.arange(3.0), "b": (np.array(2.0), slice(1, None)), "c": 1.5}
    dev = STRICT_KIND.to_device(host)
    STRICT_KIND.assert_on_device("moved", [dev["a"], dev["b"][0]])
    assert dev["b"][1] == slice(1, None) and dev["c"] == 1.5
    back = STRICT_KIND.to_host(dev)
    assert type(back["a"]) is np.ndarray and type(back["b"][0]) is np.ndarray
    np.testing.assert_array_equal(back["a"], host["a"])
    with pytest.raises(AssertionError, match="expected an array on strict"):
        STRICT_KIND.assert_on_device("plain", np.ones(2))
    with pytest.raises(AssertionError, match="expected an array on strict"):
        STRICT_KIND.assert_on_device("scalar", np.float64(1.0), scalar_ok=True)
    # The differentiable moves of ``on_host``: host in, host out, strict in between.
    seen = []

    def f(x: Any) -> Any:
        seen.append(type(x.data if isinstance(x, tg.Tensor) else x))
        return x * x

    g = STRICT_KIND.on_host(f)
    x = np.array([1.0, -2.0])
    assert type(g(x)) is np.ndarray and seen[-1] is StrictArray
    np.testing.assert_allclose(tg.grad(lambda x: g(x).sum())(x), 2 * x)
    np.testing.assert_allclose(tg.jvp(g, (x,), (np.ones(2),))[1], 2 * x)
    tg.testing.check_grads(g, (x,), order=2)


#: Checks run on every case of every row; the others (second order, float32, the facade)
#: run on one case per row, a different one for each check where the row has several.
EVERY_CASE = ("rev", "fwd")


def _params() -> list[Any]:
    params = []
    for k, check in enumerate(CHECKS):
        by_row: dict[str, list[Any]] = {}
        for p in table_params(check, (STRICT_KIND,)):
            by_row.setdefault(p.values[1].name, []).append(p)
        for cases in by_row.values():
            if check not in EVERY_CASE:
                cases = [cases[k % len(cases)]]
            for p in cases:
                _, spec, case = p.values
                params.append(
                    pytest.param(
                        check, spec, case, id=f"{check}-{spec.name}-{case.id}", marks=p.marks
                    )
                )
    return params


@pytest.mark.parametrize("check, spec, case", _params())
@settings(max_examples=1, deadline=None)
@given(data=st.data())
def test_op_table_on_foreign_arrays(
    check: str, spec: OpSpec, case: Case, data: st.DataObject
) -> None:
    with refusing_host_conversions():
        CHECKERS[check](STRICT_KIND, spec, case, data)
