"""Creation functions and dtypes of the Tensor facade (PyTorch's names and defaults)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import module_for_device, namespace, normalize_device
from .replay.trace import note_impure
from .tensor import FACTORY_DTYPE_MESSAGE, Tensor

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "empty",
    "full",
    "eye",
    "arange",
    "linspace",
    "randn",
    "rand",
    "randint",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "randn_like",
    "rand_like",
    "randint_like",
    "manual_seed",
    "FloatTensor",
    "DoubleTensor",
    "LongTensor",
]

_rng = np.random.default_rng()


def manual_seed(seed: Any) -> None:
    """Seed the generator behind :func:`randn`, :func:`rand` and :func:`randint`.

    >>> import tapegrad as tg
    >>> tg.manual_seed(0); a = tg.randn(3)
    >>> tg.manual_seed(0); b = tg.randn(3)
    >>> bool((a == b).all())
    True
    """
    global _rng
    _rng = np.random.default_rng(seed if not isinstance(seed, Tensor) else seed.item())
    from .backend import cupy_or_none

    cp = cupy_or_none()
    if cp is not None:
        cp.random.seed(seed)


def _require_grad(t: Tensor) -> Tensor:
    """``requires_grad=True`` given to a factory (PyTorch's wording for this case)."""
    if t.data.dtype.kind not in "fc":
        raise RuntimeError(FACTORY_DTYPE_MESSAGE)
    return t.requires_grad_(True)


def _shape(size: Sequence[Any]) -> tuple[Any, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _finish(data: Any, requires_grad: Any, device: Any) -> Tensor:
    dev = normalize_device(device)
    if dev != "cpu":
        xp = module_for_device(dev)
        with xp.cuda.Device(int(dev.split(":")[1])):
            data = xp.asarray(data)
    t = Tensor._make(data)
    if requires_grad:
        _require_grad(t)
    return t


def _infer(arr: Any, source: Any) -> Any:
    """PyTorch's inference: Python floats give float32, complex gives complex64; an array
    (anything with a ``shape`` and a ``dtype``: NumPy, CuPy, other array modules' arrays and
    NumPy scalars) keeps its dtype, as ``torch.tensor(np_array)`` does."""
    if hasattr(source, "shape") and hasattr(source, "dtype"):
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.complex128:
        return arr.astype(np.complex64)
    return arr


def _is_tensor_seq(data: Any) -> Any:
    return isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data)


def tensor(data: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python floats give float32 and ints int64, as in PyTorch; an array (NumPy's, CuPy's)
    keeps its dtype, and device data stays on its device unless ``device`` is given.

    >>> import tapegrad as tg
    >>> tg.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    >>> tg.tensor([1, 2]).dtype
    dtype('int64')
    """
    if isinstance(data, Tensor):
        arr = data.data.copy()
    elif _is_tensor_seq(data):
        arr = np.array([d.detach().numpy() if isinstance(d, Tensor) else d for d in data])
    else:
        xp = namespace(data) if hasattr(data, "shape") else np
        arr = xp.array(data, copy=True)
    # Python numbers are read in double precision, then cast once: to the dtype asked for,
    # else to PyTorch's default for them (a detour through float32 would round twice).
    if dtype is not None:
        arr = arr.astype(np.dtype(dtype), copy=False)
    else:
        arr = _infer(arr, data)
    if device is None and not isinstance(arr, np.ndarray):
        t = Tensor._make(arr)
        if requires_grad:
            _require_grad(t)
        return t
    return _finish(arr, requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor sharing memory with ``data`` where it can (no copy for arrays of that dtype)."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if hasattr(data, "shape") and not isinstance(data, np.generic):
        arr = data if dtype is None else data.astype(np.dtype(dtype), copy=False)
        return _finish(arr, False, device) if device is not None else Tensor._make(arr)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with NumPy array ``a``.

    >>> import numpy as np, tapegrad as tg
    >>> a = np.zeros(2)
    >>> t = tg.from_numpy(a)
    >>> a[0] = 5
    >>> t
    tensor([5., 0.], dtype=tapegrad.float64)
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    return Tensor._make(a)


def _filled(fill: Any, size: Sequence[Any], dtype: Any, device: Any, requires_grad: Any) -> Tensor:
    dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
    shape = _shape(size)
    dev = normalize_device(device)
    xp = module_for_device(dev)
    if fill is None:
        data = xp.empty(shape, dtype=dt)
    else:
        data = xp.full(shape, fill, dtype=dt)
    t = Tensor._make(data)
    if requires_grad:
        _require_grad(t)
    return t


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: Any = False) -> Tensor:
    """A tensor of zeros of shape ``size`` (float32 unless ``dtype`` says otherwise)."""
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: Any = False) -> Tensor:
    """A tensor of ones."""
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: Any = False) -> Tensor:
    """An uninitialised tensor."""
    return _filled(None, size, dtype, device, requires_grad)


def full(
    size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype follows the value, as in PyTorch)."""
    if dtype is None:
        if isinstance(fill_value, (np.bool_, bool)):
            dtype = np.bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = np.int64
        elif isinstance(fill_value, complex):
            dtype = np.complex64
        else:
            dtype = np.float32
    return _filled(
        fill_value,
        (size,) if not isinstance(size, (tuple, list)) else (tuple(size),),
        dtype,
        device,
        requires_grad,
    )


def eye(
    n: Any, m: Any = None, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """The identity matrix (``n`` × ``m``)."""
    xp = module_for_device(normalize_device(device))
    data = xp.eye(n, m, dtype=np.dtype(dtype) if dtype is not None else np.float32)
    t = Tensor._make(data)
    return _require_grad(t) if requires_grad else t


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: Any = False,
) -> Tensor:
    """Evenly spaced values in ``[start, end)``; int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else np.float32
    xp = module_for_device(normalize_device(device))
    t = Tensor._make(xp.arange(start, end, step).astype(np.dtype(dtype)))
    return _require_grad(t) if requires_grad else t


def linspace(
    start: Any,
    end: Any,
    steps: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: Any = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    xp = module_for_device(normalize_device(device))
    data = xp.linspace(start, end, steps).astype(np.dtype(dtype) if dtype else np.float32)
    t = Tensor._make(data)
    return _require_grad(t) if requires_grad else t


def _random(draw: Any, size: Sequence[Any], dtype: Any, device: Any, requires_grad: Any) -> Tensor:
    dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
    note_impure("random numbers (tapegrad's generator)")
    data = draw(_shape(size)).astype(dt)
    return _finish(data, requires_grad, device)


def randn(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: Any = False,
    generator: Any = None,
) -> Tensor:
    """Standard normal samples."""
    rng = generator if generator is not None else _rng
    return _random(rng.standard_normal, size, dtype, device, requires_grad)


def rand(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: Any = False,
    generator: Any = None,
) -> Tensor:
    """Uniform samples in ``[0, 1)``."""
    rng = generator if generator is not None else _rng
    return _random(rng.random, size, dtype, device, requires_grad)


def randint(
    low: Any,
    high: Any = None,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: Any = False,
) -> Tensor:
    """Random integers in ``[low, high)`` of shape ``size`` (int64)."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    note_impure("random numbers (tapegrad's generator)")
    data = _rng.integers(low, high, size=tuple(size)).astype(np.dtype(dtype) if dtype else np.int64)
    return _finish(data, requires_grad, device)


def _like(t: Tensor, dtype: Any, device: Any) -> dict[str, Any]:
    """The ``dtype`` and ``device`` a ``*_like`` function uses: given, or ``t``'s."""
    return {
        "dtype": dtype if dtype is not None else t.dtype,
        "device": device if device is not None else t.device,
    }


def zeros_like(
    t: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """Zeros with the shape (and dtype, device) of ``t``."""
    return zeros(t.shape, **_like(t, dtype, device), requires_grad=requires_grad)


def ones_like(
    t: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """Ones with the shape (and dtype, device) of ``t``."""
    return ones(t.shape, **_like(t, dtype, device), requires_grad=requires_grad)


def empty_like(
    t: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """Uninitialised, with the shape of ``t``."""
    return empty(t.shape, **_like(t, dtype, device), requires_grad=requires_grad)


def full_like(
    t: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """Filled with ``fill_value``, with the shape of ``t``."""
    return full(t.shape, fill_value, **_like(t, dtype, device), requires_grad=requires_grad)


def randn_like(
    t: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """Standard normal samples with the shape of ``t``."""
    return randn(t.shape, **_like(t, dtype, device), requires_grad=requires_grad)


def rand_like(
    t: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: Any = False
) -> Tensor:
    """Uniform samples with the shape of ``t``."""
    return rand(t.shape, **_like(t, dtype, device), requires_grad=requires_grad)


def randint_like(
    t: Tensor, low: Any, high: Any = None, *, dtype: Any = None, device: Any = None
) -> Tensor:
    """Random integers with the shape of ``t``."""
    return randint(low, high, t.shape, **_like(t, dtype, device))


def FloatTensor(*args: Any) -> Tensor:  # noqa: N802 - PyTorch's name
    """``FloatTensor(*shape)`` (uninitialised) or ``FloatTensor(data)``, float32."""
    return Tensor(*args)


def DoubleTensor(*args: Any) -> Tensor:  # noqa: N802
    """Like :func:`FloatTensor`, float64."""
    return Tensor(*args).double()


def LongTensor(*args: Any) -> Tensor:  # noqa: N802
    """Like :func:`FloatTensor`, int64."""
    return Tensor(*args).long()
