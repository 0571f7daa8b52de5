"""CUDA devices (``tg.cuda``): whether tapegrad can use a GPU, and which, as ``torch.cuda``.

tapegrad keeps CUDA data in CuPy arrays. CuPy is optional: without it (or without a GPU it
can use) :func:`is_available` is ``False``, :func:`device_count` is 0, and the functions that
need a GPU raise ``RuntimeError`` saying why. (PyTorch's CPU-only builds raise
``AssertionError("Torch not compiled with CUDA enabled")`` there, its CUDA builds on machines
without a GPU ``RuntimeError``.)

>>> import tapegrad as tg
>>> device = "cuda" if tg.cuda.is_available() else "cpu"
>>> x = tg.ones(3, device=device)
>>> x.device.type == device
True
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

from .backend import cupy_or_none, normalize_device

__all__ = ["is_available", "device_count", "current_device", "synchronize"]


def _unavailable_reason() -> str:
    if importlib.util.find_spec("cupy") is None:
        return (
            "tapegrad has no CUDA support here: CuPy is not installed (install tapegrad[cuda] "
            "on a machine with an NVIDIA GPU)"
        )
    return "No CUDA GPUs are available (CuPy is installed but finds no usable GPU)"


def _cupy() -> ModuleType:
    cp = cupy_or_none()
    if cp is None:
        raise RuntimeError(_unavailable_reason())
    return cp


def is_available() -> bool:
    """Whether tensors can live on a GPU: CuPy is installed and finds at least one GPU.

    >>> import tapegrad as tg
    >>> isinstance(tg.cuda.is_available(), bool)
    True
    """
    return cupy_or_none() is not None


def device_count() -> int:
    """The number of GPUs tapegrad can use (0 without CuPy or without a GPU).

    >>> import tapegrad as tg
    >>> n = tg.cuda.device_count()
    >>> n > 0 if tg.cuda.is_available() else n == 0
    True
    """
    cp = cupy_or_none()
    return 0 if cp is None else int(cp.cuda.runtime.getDeviceCount())


def current_device() -> int:
    """The index of the current GPU: where ``device="cuda"`` (no index) places data.

    Raises ``RuntimeError`` when no GPU is usable.

    >>> import tapegrad as tg
    >>> if tg.cuda.is_available():
    ...     assert tg.zeros(1, device="cuda").device.index == tg.cuda.current_device()
    """
    return int(_cupy().cuda.runtime.getDevice())


def synchronize(device: Any = None) -> None:
    """Wait for all the work queued on a GPU (the current one by default) to finish.

    ``device`` is a CUDA device, its string or its index. Raises ``RuntimeError`` when no GPU
    is usable, and ``ValueError`` for a device that is not a CUDA device (PyTorch's errors).

    >>> import tapegrad as tg
    >>> if tg.cuda.is_available():
    ...     y = tg.ones(1000, device="cuda").exp().sum()
    ...     tg.cuda.synchronize()
    """
    cp = _cupy()
    text = normalize_device("cuda" if device is None else device)
    if text == "cpu":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    with cp.cuda.Device(int(text.split(":")[1])):
        cp.cuda.runtime.deviceSynchronize()
