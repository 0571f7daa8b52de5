"""Device kinds for the device-parametrised tests.

A *device kind* says where a test's arrays live, how host data gets there and back, and what
an array on it looks like. Tests draw their inputs and compute their references on the host
(NumPy), move the inputs with ``to_device``, run tapegrad there, check with
``assert_on_device`` that the results stayed there (no host round trip), and compare them on
the host after ``to_host``:

``cpu``
    Plain NumPy arrays; ``to_device`` copies, ``to_host`` is the identity.
``cuda``
    CuPy arrays on GPU 0 (``cupy.asarray`` in, ``.get()`` out). Every case skips, with the
    reason, when :func:`cuda_available` is false: CuPy is not installed, or it finds no
    usable GPU.
``strict``
    :class:`StrictArray`, a NumPy subclass with its own array module (``STRICT``) that refuses
    to be mixed with plain NumPy floating arrays. It stands in for a device array on machines
    without a GPU: a test run on it goes through the very lines it goes through on ``cuda``,
    and any host array that reaches the device maths, from a rule or from the test itself,
    raises :class:`ForeignArrayError`.

``DEVICES`` are the real devices (``cpu``, ``cuda``); ``KINDS`` adds ``strict``. Parametrise
with :func:`device_params`, which gives each kind its test id and the skip mark of an
unavailable one. The op table's checks (``ops/test_table.py``) run on ``DEVICES`` with the
Hypothesis profile's number of examples, and on ``strict`` with one example per case
(``ops/test_foreign_arrays.py``); the transform and ``vmap`` tests run on ``KINDS``.

Where a test needs a function of host arrays (its own finite differences, with steps taken on
the host), :meth:`DeviceKind.on_host` wraps the device function in differentiable moves
(tapegrad's ``to_device`` for ``cuda``), so that the function and its derivatives still run
on the device. ``tg.testing.check_grads`` needs no such wrapper: it moves the directions it
draws to the device of the arguments.
"""

from __future__ import annotations

import contextlib
import importlib.util
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backend import cupy_or_none
from tapegrad.ops import shape as shape_ops
from tapegrad.primitive import Primitive, bind

__all__ = [
    "CPU",
    "CUDA",
    "DEVICES",
    "KINDS",
    "STRICT",
    "STRICT_KIND",
    "DeviceKind",
    "ForeignArrayError",
    "StrictArray",
    "cuda_available",
    "device_params",
    "refusing_host_conversions",
    "skip_marks",
]

# ------------------------------------------------------------------------------ StrictArray


class ForeignArrayError(TypeError):
    """A plain NumPy array met a StrictArray: host code touched device data."""


def _is_plain(x: Any) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, StrictArray)


def _strict(x: Any) -> Any:
    """Results of the strict module: arrays (and NumPy scalars) as StrictArrays."""
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


def _refuse_plain(where: str, values: Any, any_plain: bool = False) -> None:
    """Raise if ``values`` hold plain NumPy data: floating arrays of one dimension or more,
    or, with ``any_plain``, any plain array (0-d and integer or boolean ones too)."""
    flat = values if isinstance(values, (tuple, list)) else (values,)
    for v in flat:
        if isinstance(v, (tuple, list)):
            _refuse_plain(where, v, any_plain)
        elif _is_plain(v) and (any_plain or (v.ndim > 0 and v.dtype.kind in "fc")):
            # Functions of a device module take integer and boolean host arrays as indices,
            # axes and masks; its ufuncs (CuPy's) refuse every host array, 0-d ones included,
            # and take only NumPy scalars.
            raise ForeignArrayError(f"{where} mixed a StrictArray with plain NumPy data")


def _foreign_override(values: Any) -> bool:
    """Whether ``values`` hold a non-NumPy type with its own ``__array_ufunc__`` (a Tensor)."""
    for v in values:
        if isinstance(v, (tuple, list)):
            if _foreign_override(v):
                return True
        elif not isinstance(v, (np.ndarray, np.generic)) and hasattr(v, "__array_ufunc__"):
            return True
    return False


class StrictArray(np.ndarray):
    """A NumPy array that refuses to be combined with plain NumPy arrays.

    Like a CuPy array, it leaves operations with other array types that override NumPy
    (tapegrad's Tensor) to them.
    """

    def get(self) -> np.ndarray:
        """A plain NumPy copy: the explicit move to the host, as ``cupy.ndarray.get``."""
        return np.array(self.view(np.ndarray), copy=True)

    def __getitem__(self, index: Any) -> Any:
        # An element is a 0-d array of the module, as on CuPy, not a NumPy scalar.
        return _strict(super().__getitem__(index))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if _foreign_override(inputs) or _foreign_override(kwargs.get("out", ())):
            return NotImplemented
        where = f"numpy.{ufunc.__name__}"
        if method == "at":  # (array, index, values...): a host index is fine, as in indexing
            _refuse_plain(where, inputs[1])
            _refuse_plain(where, (inputs[0],) + inputs[2:], any_plain=True)
        else:
            _refuse_plain(where, inputs, any_plain=True)
        out = getattr(ufunc, method)(*_plain(inputs), **_plain(kwargs))
        return _strict(out)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        if not all(issubclass(t, np.ndarray) for t in types_):
            return NotImplemented
        _refuse_plain(f"numpy.{func.__name__}", args)
        return _strict(func(*_plain(args), **_plain(kwargs)))


#: NumPy's conversions to a host array. CuPy arrays refuse them (``__array__`` raises);
#: ``refusing_host_conversions`` makes them refuse StrictArrays too.
HOST_CONVERSIONS = ("asarray", "asanyarray", "array", "ascontiguousarray")


def _refusing(name: str, convert: Callable[..., Any]) -> Callable[..., Any]:
    def refuse(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, StrictArray):
            raise ForeignArrayError(f"numpy.{name} made a host array of a StrictArray")
        return convert(obj, *args, **kwargs)

    return refuse


@contextlib.contextmanager
def refusing_host_conversions() -> Iterator[None]:
    """While active, ``numpy.asarray`` and the other ``HOST_CONVERSIONS`` raise
    :class:`ForeignArrayError` when given a StrictArray, as they raise given a CuPy array.

    NumPy hands a subclass through them unchanged, so without this a rule that calls
    ``np.asarray(x)`` or ``np.broadcast_to(np.asanyarray(x), ...)`` on device data would pass
    on StrictArrays and fail on CuPy. (NumPy's own functions, called through
    ``__array_function__``, only ever see plain arrays and are not affected.)
    """
    originals = {name: getattr(np, name) for name in HOST_CONVERSIONS}
    try:
        for name, convert in originals.items():
            setattr(np, name, _refusing(name, convert))
        yield
    finally:
        for name, convert in originals.items():
            setattr(np, name, convert)


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


#: The array module of StrictArrays (what ``tapegrad.backend.namespace`` gives for them).
STRICT = _strict_module(np, "strict_numpy")
STRICT.linalg = _strict_module(np.linalg, "strict_numpy.linalg")
STRICT.lib = types.ModuleType("strict_numpy.lib")
STRICT.lib.stride_tricks = _strict_module(np.lib.stride_tricks, "strict_numpy.lib.stride_tricks")
STRICT.ndarray = StrictArray
StrictArray.__array_namespace_module__ = STRICT


def _to_strict_fwd(xp: Any, x: Any) -> Any:
    return np.array(_plain(x), copy=True).view(StrictArray)


def _from_strict_fwd(xp: Any, x: Any) -> Any:
    return np.array(_plain(x), copy=True)


# The strict counterparts of tapegrad's ``to_device``: differentiable moves, used where a
# test needs a function of host arrays that computes on the device (``DeviceKind.on_host``).
_TO_STRICT = Primitive(
    "to_strict",
    _to_strict_fwd,
    (lambda g, x, out: _from_strict(g),),
    lambda t, x, out: _to_strict(t[0]),
    uses=((),),
)
_FROM_STRICT = Primitive(
    "from_strict",
    _from_strict_fwd,
    (lambda g, x, out: _to_strict(g),),
    lambda t, x, out: _from_strict(t[0]),
    uses=((),),
)


def _to_strict(x: Any) -> Any:
    return bind(_TO_STRICT, (x,))


def _from_strict(x: Any) -> Any:
    return bind(_FROM_STRICT, (x,))


# ------------------------------------------------------------------------------ CUDA


def cuda_available() -> bool:
    """``tapegrad.cuda.is_available()`` where tapegrad has it; else the backend's probe
    (``cupy_or_none``: CuPy importable and a GPU counted), which is what it would report."""
    is_available = getattr(getattr(tg, "cuda", None), "is_available", None)
    if is_available is not None:
        return bool(is_available())
    return cupy_or_none() is not None


def _cuda_skip_reason() -> str:
    if importlib.util.find_spec("cupy") is None:
        why = "CuPy is not installed (tapegrad[cuda] on a machine with an NVIDIA GPU)"
    else:
        why = "CuPy is installed but finds no usable GPU"
    return f"CUDA device not available: {why}"


def _cupy() -> Any:
    cp = cupy_or_none()
    if cp is None:  # only reached by a test that did not skip: a bug in the test
        raise RuntimeError(_cuda_skip_reason())
    return cp


def _cuda_to_device(x: np.ndarray) -> Any:
    cp = _cupy()
    with cp.cuda.Device(0):
        return cp.asarray(x)


def _cuda_to_host(x: Any) -> Any:
    get = getattr(x, "get", None)
    return get() if get is not None else x


def _is_cupy_array(x: Any) -> bool:
    return isinstance(x, _cupy().ndarray)


# ------------------------------------------------------------------------------ kinds


def _identity(x: Any) -> Any:
    return x


@dataclass(frozen=True, eq=False)
class DeviceKind:
    """Where a test's arrays live; see the module docstring."""

    #: test id: ``cpu``, ``cuda``, ``strict``
    name: str
    #: the device of tensors holding its arrays (``Tensor.device``, a ``tg.device``)
    device: tg.device
    #: one host array to one device array (a copy)
    _to_device: Callable[[np.ndarray], Any]
    #: one device array to a NumPy array (host leaves pass through)
    _to_host: Callable[[Any], Any]
    #: whether ``x`` is an array of this kind
    _is_array: Callable[[Any], bool]
    #: differentiable moves, host to device and back, for functions tapegrad transforms
    _move_in: Callable[[Any], Any] = _identity
    _move_out: Callable[[Any], Any] = _identity
    #: whether the kind can run here
    available: Callable[[], bool] = lambda: True
    #: why not, when it cannot
    skip_reason: Callable[[], str] = lambda: ""

    def __repr__(self) -> str:
        return f"DeviceKind({self.name!r})"

    def to_device(self, tree: Any) -> Any:
        """Every NumPy array (and NumPy scalar, as a 0-d array) of ``tree`` (tuples, lists,
        dicts) copied to this kind; other leaves (Python numbers, slices, ...) kept."""
        return _map_arrays(self._to_device, tree)

    def to_host(self, tree: Any) -> Any:
        """Every array of this kind in ``tree`` moved to the host as a NumPy array."""
        if isinstance(tree, (tuple, list)):
            return type(tree)(self.to_host(t) for t in tree)
        if isinstance(tree, dict):
            return {k: self.to_host(v) for k, v in tree.items()}
        return self._to_host(tree) if self._is_array(tree) else tree

    def is_array(self, x: Any) -> bool:
        """Whether ``x`` is an array of this kind (a plain ``numpy.ndarray`` for ``cpu``)."""
        return self._is_array(x)

    def assert_on_device(self, what: str, tree: Any, scalar_ok: bool = False) -> None:
        """Every array leaf of ``tree`` is an array of this kind.

        With ``scalar_ok``, a NumPy scalar may stand for a 0-d array on ``cpu`` (NumPy's
        reductions give them); on the other kinds it would be data brought to the host.
        """
        if isinstance(tree, (tuple, list)):
            for i, t in enumerate(tree):
                self.assert_on_device(f"{what}[{i}]", t, scalar_ok)
            return
        if isinstance(tree, dict):
            for k, t in tree.items():
                self.assert_on_device(f"{what}[{k!r}]", t, scalar_ok)
            return
        if self.is_array(tree):
            return
        if scalar_ok and self is CPU and isinstance(tree, np.generic):
            return
        raise AssertionError(f"{what}: expected an array on {self.name}, got {type(tree)}")

    def fetch(self, what: str, tree: Any, scalar_ok: bool = False) -> Any:
        """``tree`` on the host, after checking that its arrays are of this kind."""
        self.assert_on_device(what, tree, scalar_ok)
        return self.to_host(tree)

    def tensor(self, host: Any, **kwargs: Any) -> tg.Tensor:
        """A tensor holding ``host``'s values on this kind: ``tg.tensor`` of the device array,
        in the dtype of ``np.asarray(host)`` unless ``dtype`` is given (so that Python lists of
        floats give float64 here, as the NumPy references do; ``tg.tensor`` keeps the dtype of
        device data itself, which ``test_table.py``'s
        ``test_tensor_of_device_data_keeps_its_dtype`` checks).
        """
        host = np.asarray(host)
        kwargs.setdefault("dtype", host.dtype)
        return tg.tensor(self.to_device(host), **kwargs)

    def tensor_to_host(self, t: tg.Tensor) -> np.ndarray:
        """A tensor's data on the host, through ``Tensor.cpu()``, after checking its device."""
        assert isinstance(t, tg.Tensor), f"expected a Tensor, got {type(t)}"
        assert t.device == self.device, f"tensor on {t.device}, expected {self.device}"
        self.assert_on_device("tensor data", t.data)
        return self.to_host(t.detach().cpu().numpy())

    def on_host(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """``f`` (a function of arrays of this kind) as a function of host arrays.

        Arguments move to the device and the result back with differentiable moves, so the
        transforms and host-side finite differences can run on it while every rule of ``f``
        runs on the device. The identity on ``cpu``.
        """
        if self._move_in is _identity:
            return f

        def g(*xs: Any) -> Any:
            out = f(*[self._move_in(x) for x in xs])
            if isinstance(out, (tuple, list)):
                return type(out)(self._move_out(o) for o in out)
            return self._move_out(out)

        return g


def _map_arrays(fn: Callable[[np.ndarray], Any], tree: Any) -> Any:
    if isinstance(tree, tuple):
        return tuple(_map_arrays(fn, t) for t in tree)
    if isinstance(tree, list):
        return [_map_arrays(fn, t) for t in tree]
    if isinstance(tree, dict):
        return {k: _map_arrays(fn, v) for k, v in tree.items()}
    if isinstance(tree, np.generic):
        return fn(np.asarray(tree))
    if isinstance(tree, np.ndarray) and not isinstance(tree, StrictArray):
        return fn(tree)
    return tree


CPU = DeviceKind(
    "cpu",
    tg.device("cpu"),
    lambda x: np.array(x, copy=True),
    _identity,
    lambda x: type(x) is np.ndarray,
)

CUDA = DeviceKind(
    "cuda",
    tg.device("cuda:0"),
    _cuda_to_device,
    _cuda_to_host,
    _is_cupy_array,
    lambda x: shape_ops.to_device(x, "cuda:0"),
    lambda y: shape_ops.to_device(y, "cpu"),
    available=cuda_available,
    skip_reason=_cuda_skip_reason,
)

STRICT_KIND = DeviceKind(
    "strict",
    tg.device("cpu"),
    lambda x: np.array(x, copy=True).view(StrictArray),
    lambda x: np.array(x.view(np.ndarray), copy=True),
    lambda x: isinstance(x, StrictArray),
    _to_strict,
    _from_strict,
)

#: The devices tapegrad runs on.
DEVICES: tuple[DeviceKind, ...] = (CPU, CUDA)
#: The devices and the strict stand-in for a device array.
KINDS: tuple[DeviceKind, ...] = (CPU, STRICT_KIND, CUDA)


_SKIP_MARKS: dict[str, list[Any]] = {}


def skip_marks(kind: DeviceKind) -> list[Any]:
    """The skip mark of a kind that cannot run here (none for the others)."""
    if kind.name not in _SKIP_MARKS:
        ok = kind.available()
        _SKIP_MARKS[kind.name] = [] if ok else [pytest.mark.skip(reason=kind.skip_reason())]
    return _SKIP_MARKS[kind.name]


def device_params(
    kinds: Iterable[DeviceKind] = DEVICES, marks: Mapping[str, list[Any]] | None = None
) -> list[Any]:
    """``pytest.param`` per kind, with its name as the id and its skip mark, for
    ``@pytest.mark.parametrize("device", device_params(...))``; ``marks`` adds marks to the
    kinds it names (an xfail where a kind shows a known bug)."""
    extra = marks or {}
    return [pytest.param(k, id=k.name, marks=skip_marks(k) + extra.get(k.name, [])) for k in kinds]
