"""No rule reaches NumPy directly for array maths: the whole op table on a foreign array type.

``StrictArray`` stands in for a device array (a CuPy array, say): its own array module
(``STRICT``) works on it, and so do its operators, but mixing it with a plain NumPy array —
what a forward or rule does when it calls ``numpy`` on data or makes arrays with NumPy —
raises. Running every row of the op table forward, in reverse and in forward mode on such
arrays proves that primitives take the array module from the data, as they must for CuPy.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg

from .specs import SPECS, OpSpec
from .test_table import _draw_args, _kwargs

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class ForeignArrayError(TypeError):
    """A plain NumPy array met a StrictArray: host code touched device data."""


def _is_plain(x: Any) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, StrictArray)


def _strict(x: Any) -> Any:
    if isinstance(x, np.ndarray) and not isinstance(x, StrictArray):
        return x.view(StrictArray)
    if isinstance(x, np.generic):
        return np.asarray(x).view(StrictArray)
    if isinstance(x, tuple):
        return tuple(_strict(i) for i in x)
    if isinstance(x, list):
        return [_strict(i) for i in x]
    return x


def _plain(x: Any) -> Any:
    if isinstance(x, StrictArray):
        return x.view(np.ndarray)
    if isinstance(x, (tuple, list)):
        return type(x)(_plain(i) for i in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _refuse_plain(where: str, values: Any) -> None:
    flat = values if isinstance(values, (tuple, list)) else (values,)
    for v in flat:
        if isinstance(v, (tuple, list)):
            _refuse_plain(where, v)
        elif _is_plain(v) and v.ndim > 0 and v.dtype.kind in "fc":
            # Integer and boolean host arrays are indices, axes and masks, which device array
            # modules accept; floating host data mixed with device data is the bug to catch.
            raise ForeignArrayError(f"{where} mixed a StrictArray with plain NumPy data")


class StrictArray(np.ndarray):
    """A NumPy array that refuses to be combined with plain NumPy arrays."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _refuse_plain(f"numpy.{ufunc.__name__}", inputs)
        out = getattr(ufunc, method)(*_plain(inputs), **_plain(kwargs))
        return _strict(out)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        _refuse_plain(f"numpy.{func.__name__}", args)
        return _strict(func(*_plain(args), **_plain(kwargs)))


#: Explicit conversions: the sanctioned way host data enters the device module.
_CONVERSIONS = {"asarray", "array", "asanyarray", "ascontiguousarray"}


def _wrap_function(name: str, fn: Any) -> Any:
    def strict_fn(*args: Any, **kwargs: Any) -> Any:
        if name not in _CONVERSIONS:
            _refuse_plain(f"STRICT.{name}", args)
        return _strict(fn(*_plain(args), **_plain(kwargs)))

    strict_fn.__name__ = name
    return strict_fn


def _strict_module(base: types.ModuleType, name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    for attr in dir(base):
        value = getattr(base, attr)
        if attr.startswith("_") or isinstance(value, (types.ModuleType, type, np.ufunc)):
            # Ufuncs dispatch to StrictArray.__array_ufunc__ themselves (``.at`` included).
            setattr(mod, attr, value)
        elif callable(value) and not isinstance(value, np.dtype):
            setattr(mod, attr, _wrap_function(attr, value))
        else:
            setattr(mod, attr, value)
    return mod


STRICT = _strict_module(np, "strict_numpy")
STRICT.linalg = _strict_module(np.linalg, "strict_numpy.linalg")
STRICT.lib = types.ModuleType("strict_numpy.lib")
STRICT.lib.stride_tricks = _strict_module(np.lib.stride_tricks, "strict_numpy.lib.stride_tricks")
STRICT.ndarray = StrictArray
StrictArray.__array_namespace_module__ = STRICT


def test_strict_array_refuses_plain_numpy_arrays() -> None:
    a = np.arange(3.0).view(StrictArray)
    assert isinstance(a * 2, StrictArray)
    assert isinstance(STRICT.sin(a), StrictArray)
    with pytest.raises(ForeignArrayError):
        _ = a + np.ones(3)
    assert isinstance(a[np.array([0, 0])], StrictArray)
    with pytest.raises(ForeignArrayError):
        STRICT.add(a, np.ones(3))


def test_backend_gives_the_strict_module() -> None:
    from tapegrad.backend import namespace

    assert namespace(np.zeros(2).view(StrictArray)) is STRICT


#: Rows whose own test function mixes host constants into the result (a sign-invariant
#: product with NumPy weights), which a device array module would refuse before any rule runs.
_HOST_CONSTANT_ROWS = {"linalg_eigh", "linalg_svd"}


def _rows() -> list[Any]:
    params = []
    for spec in SPECS:
        if spec.name in _HOST_CONSTANT_ROWS:
            continue
        for case in spec.cases:
            params.append(pytest.param(spec, case, id=f"{spec.name}-{case.id}"))
    return params


def _function_of_diff_args(spec: OpSpec, args: list[Any], kwargs: dict[str, Any]) -> Any:
    pos = spec.diff_positions

    def f(*diff: Any) -> Any:
        full = list(args)
        for p, d in zip(pos, diff):
            full[p] = d
        return spec.fn(*full, **kwargs)

    return f


def _assert_strict(what: str, value: Any) -> None:
    leaves = value if isinstance(value, (tuple, list)) else (value,)
    for leaf in leaves:
        if isinstance(leaf, (tuple, list)):
            _assert_strict(what, leaf)
        elif isinstance(leaf, np.ndarray) and leaf.ndim > 0:
            assert isinstance(leaf, StrictArray), f"{what} came back as {type(leaf).__name__}"


@pytest.mark.parametrize("spec, case", _rows())
@settings(max_examples=1, deadline=None)
@given(data=st.data())
def test_op_table_on_foreign_arrays(spec: OpSpec, case: Any, data: st.DataObject) -> None:
    args = _strict(_draw_args(data, spec, case))
    kwargs = {k: _strict(v) for k, v in _kwargs(case).items()}
    f = _function_of_diff_args(spec, args, kwargs)
    xs = [args[p] for p in spec.diff_positions]
    out, pullback = tg.vjp(f, *xs)
    _assert_strict("output", out)
    v = _strict(np.ones(np.shape(out), dtype=np.asarray(_plain(out)).dtype))
    cotangents = pullback(v)
    _assert_strict("cotangent", cotangents)
    tangents = tuple(_strict(np.ones(np.shape(x), dtype=x.dtype)) for x in xs)
    _, t_out = tg.jvp(f, tuple(xs), tangents)
    _assert_strict("tangent", t_out)
