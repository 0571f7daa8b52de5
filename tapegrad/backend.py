"""Array namespaces per device, dtype defaults and device checks.

Every rule and primitive asks this module for the array module that owns the data at hand
(NumPy on the CPU, CuPy on a GPU) instead of importing NumPy for array maths, so the same code
runs on either device.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "namespace",
    "device_of",
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
    """Turn ``None``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a device object into canonical text."""
    if device is None:
        return "cpu"
    text = str(device)
    if text == "cpu":
        return "cpu"
    if text == "cuda":
        return "cuda:0"
    if text.startswith("cuda:") and text[5:].isdigit():
        return text
    raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {text}")


def module_for_device(device: str) -> ModuleType:
    """The array module that stores data on ``device``."""
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
