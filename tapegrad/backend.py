"""Array namespaces per device, device objects, dtype defaults and device checks.

Every rule and primitive asks this module for the array module that owns the data at hand
(NumPy on the CPU, CuPy on a GPU) instead of importing NumPy for array maths, so the same code
runs on either device. :class:`device` (``tg.device``) names a device as PyTorch's
``torch.device`` does; internally devices travel as canonical text, ``"cpu"`` or ``"cuda:N"``
(:func:`normalize_device`, :func:`device_of`).
"""

from __future__ import annotations

import operator
import re
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "namespace",
    "ones_like",
    "device",
    "as_device",
    "cuda_device",
    "device_of",
    "to_host",
    "default_float",
    "is_float_dtype",
    "cupy_or_none",
    "normalize_device",
]

_NDARRAY = np.ndarray
_cupy: ModuleType | None = None
_cupy_checked = False


def cupy_or_none() -> ModuleType | None:
    """Return the ``cupy`` module when it is installed and a GPU is usable, else ``None``."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # type: ignore[import-not-found]

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:
            _cupy = None
    return _cupy


_UNIT: dict[np.dtype, np.ndarray] = {}


def ones_like(x: Any) -> Any:
    """``xp.ones_like(x)`` in ``x``'s array module: the seed of a sweep from a scalar output.

    A NumPy seed is a copy of a cached 0-d one (``np.ones_like`` takes longer than the rest
    of a small backward's setup).

    >>> ones_like(np.zeros((1, 1), dtype=np.float32))
    array([[1.]], dtype=float32)
    """
    if x.__class__ is not _NDARRAY:
        return namespace(x).ones_like(x)
    if x.size != 1:
        return np.ones_like(x)
    unit = _UNIT.get(x.dtype)
    if unit is None:
        unit = _UNIT[x.dtype] = np.ones((), x.dtype)
    out = unit.copy()
    return out if x.ndim == 0 else out.reshape(x.shape)


def namespace(x: Any) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) that owns ``x``.

    Python scalars and NumPy scalars belong to NumPy.

    >>> import numpy as np
    >>> namespace(np.ones(2)).__name__
    'numpy'
    """
    if type(x) is _NDARRAY:
        return np
    mod = type(x).__module__
    if mod.startswith("cupy"):
        cp = cupy_or_none()
        if cp is not None:
            return cp
    custom = getattr(x, "__array_namespace__", None)
    if custom is not None and not isinstance(x, _NDARRAY) and not isinstance(x, np.generic):
        return custom()
    if isinstance(x, _NDARRAY):
        ns = getattr(type(x), "__array_namespace_module__", None)
        return ns if ns is not None else np
    return np


# ------------------------------------------------------------------------------ devices

#: The device types tapegrad has array modules for (PyTorch knows more; they are errors here).
DEVICE_TYPES = ("cpu", "cuda")
#: PyTorch's grammar of device strings: a type, then optionally ``:`` and an index without
#: leading zeros.
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::([1-9][0-9]*|0))?")
_NO_INDEX: Any = object()


def _check_index(index: Any) -> int:
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise TypeError(
            f"device(): argument 'index' (position 2) must be int, not {index.__class__.__name__}"
        )
    index = operator.index(index)
    if index < 0:
        raise RuntimeError("Device index must not be negative")
    return index


def _parse(text: str) -> tuple[str, int | None]:
    """``(type, index)`` of a device string, with PyTorch's error messages."""
    if not text:
        raise RuntimeError("Device string must not be empty")
    match = _DEVICE_STRING.fullmatch(text)
    if match is None:
        raise RuntimeError(f"Invalid device string: '{text}'")
    kind, index = match.group(1), match.group(2)
    if kind not in DEVICE_TYPES:
        raise RuntimeError(
            f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: "
            f"{kind}"
        )
    return kind, None if index is None else int(index)


class device:
    """A device that tensors can live on, as PyTorch's ``torch.device``: ``"cpu"`` (NumPy
    arrays) or ``"cuda"`` (CuPy arrays on a GPU).

    ``tg.device("cuda:1")`` and ``tg.device("cuda", 1)`` name GPU 1; ``tg.device("cuda")``
    has no index and means the current GPU (:func:`tapegrad.cuda.current_device`) where a
    tensor is placed. A device is immutable and hashable, and equals another device of the
    same type and index only, as in PyTorch: ``tg.device("cuda") != tg.device("cuda:0")``, and
    a device never equals a string (compare ``t.device.type == "cpu"``, or with
    ``tg.device("cpu")``). Device strings follow PyTorch's grammar and errors; the types other
    than ``cpu`` and ``cuda`` that PyTorch knows are errors here.

    A bare integer ``N`` is ``cuda:N``: CUDA is tapegrad's only accelerator. (PyTorch without
    an accelerator refuses ``torch.device(0)``; here the error comes where data is placed.)

    Parameters
    ----------
    type : str, device or int
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or ``"cpu:N"``, as PyTorch allows), an existing
        device (returned as an equal device), or a GPU index.
    index : int, optional
        The device index, when ``type`` is a string without one.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.device("cuda", 1)
    device(type='cuda', index=1)
    >>> d = tg.device("cuda:1")
    >>> d.type, d.index, str(d)
    ('cuda', 1, 'cuda:1')
    >>> tg.device("cpu"), tg.device("cuda").index is None
    (device(type='cpu'), True)
    >>> tg.device("cuda") == tg.device("cuda:0"), tg.device("cpu") == "cpu"
    (False, False)
    >>> tg.zeros(2).device
    device(type='cpu')
    >>> tg.device("gpu")
    Traceback (most recent call last):
        ...
    RuntimeError: Expected one of cpu, cuda device type at start of device string: gpu
    """

    __slots__ = ("_type", "_index")

    _type: str
    _index: int | None

    def __init__(self, type: Any, index: Any = _NO_INDEX) -> None:
        if isinstance(type, device):
            if index is not _NO_INDEX:
                raise TypeError("device(): argument 'type' (position 1) must be str, not device")
            kind, idx = type._type, type._index
        elif isinstance(type, str):
            kind, idx = _parse(type)
            if index is not _NO_INDEX:
                if idx is not None:
                    raise RuntimeError(
                        "type (string) must not include an index because index was passed "
                        f"explicitly: {type}"
                    )
                idx = None if index is None else _check_index(index)
        elif hasattr(type, "__index__") and not isinstance(type, bool) and index is _NO_INDEX:
            kind, idx = "cuda", _check_index(type)
        else:
            got = type.__class__.__name__
            if index is not _NO_INDEX:
                got += f", {index.__class__.__name__}"
            raise TypeError(
                f"device() received an invalid combination of arguments - got ({got}), but "
                "expected one of:\n * (tapegrad.device device)\n * (str type, int index = -1)"
            )
        object.__setattr__(self, "_type", kind)
        object.__setattr__(self, "_index", idx)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"attribute '{name}' of 'tapegrad.device' objects is not writable")

    @property
    def type(self) -> str:
        """``"cpu"`` or ``"cuda"``."""
        return self._type

    @property
    def index(self) -> int | None:
        """The device index, or ``None`` when the device was named without one."""
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __reduce__(self) -> tuple[Any, ...]:
        return (device, (str(self),))


_DEVICES: dict[str, device] = {}


def as_device(spec: Any) -> device:
    """``spec`` (a device, a device string, a GPU index, or another library's device object
    with ``type`` and ``index``, such as ``torch.device``) as a :class:`device`."""
    if isinstance(spec, device):
        return spec
    if isinstance(spec, str):
        found = _DEVICES.get(spec)
        if found is None:
            found = _DEVICES[spec] = device(spec)
        return found
    if hasattr(spec, "type") and hasattr(spec, "index") and not isinstance(spec, np.dtype):
        return as_device(str(spec))
    return device(spec)


def cuda_device(spec: Any = None) -> device:
    """The GPU that ``.cuda(spec)`` means: the current one for ``None``, ``cuda:N`` for
    ``N``; a device of another type is an error (PyTorch's)."""
    d = as_device("cuda" if spec is None else spec)
    if d.type != "cuda":
        raise RuntimeError("Invalid device, must be cuda device")
    return d


def device_of(x: Any) -> str:
    """``"cpu"`` for host data, ``"cuda:N"`` for CuPy data on GPU ``N``."""
    if isinstance(x, (_NDARRAY, np.generic, int, float, complex, bool)):
        return "cpu"
    dev = getattr(x, "device", None)
    ident = getattr(dev, "id", None)
    if ident is not None:
        return f"cuda:{ident}"
    return "cpu"


def normalize_device(device: Any) -> str:
    """Canonical text, ``"cpu"`` or ``"cuda:N"``, of ``None`` (the CPU), a device string, a
    :class:`device`, or a GPU index. A CUDA device without an index is the current GPU
    (GPU 0 where CuPy is not usable). Bad strings raise PyTorch's errors.

    >>> normalize_device("cuda:1"), normalize_device(device("cpu", 0)), normalize_device(2)
    ('cuda:1', 'cpu', 'cuda:2')
    """
    if device is None:
        return "cpu"
    d = as_device(device)
    if d.type == "cpu":
        return "cpu"
    index = d.index
    if index is None:
        cp = cupy_or_none()
        index = 0 if cp is None else int(cp.cuda.runtime.getDevice())
    return f"cuda:{index}"


def to_host(x: Any) -> np.ndarray:
    """``x``'s values as a NumPy array: NumPy data as it is, CuPy data copied from its GPU
    (``.get()``, which any array type with such a method gets), other arrays (NumPy
    subclasses, NumPy scalars) through ``numpy.asarray``.

    >>> to_host(np.float64(2.0))
    array(2.)
    """
    if type(x) is _NDARRAY:
        return x
    get = getattr(x, "get", None)
    if callable(get):  # a device array's explicit copy to the host
        return get()
    return np.asarray(x)


def module_for_device(device: str) -> ModuleType:
    """The array module that stores data on ``device`` (canonical text)."""
    if device == "cpu":
        return np
    cp = cupy_or_none()
    if cp is None:
        raise RuntimeError(
            f"device {device!r} requested, but CuPy with a usable GPU is not available "
            "(install tapegrad[cuda] on a machine with an NVIDIA GPU)"
        )
    return cp


def default_float() -> np.dtype:
    """The default floating dtype of the creation functions (float32, as in PyTorch)."""
    return _FLOAT32


def is_float_dtype(dtype: np.dtype) -> bool:
    """True for floating and complex dtypes: the ones that can require gradients."""
    return dtype.kind in "fc"


_FLOAT32 = np.dtype(np.float32)
