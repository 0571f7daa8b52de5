"""Hooks on the values the tape saves for backward (PyTorch's ``torch.autograd.graph``).

While a :class:`saved_tensors_hooks` block is active in a thread, every residual an entry
saves for its VJP rule is passed through ``pack_hook`` when it is saved, and what the hook
returns is stored instead; when a sweep needs the value, ``unpack_hook`` gets it back. The
pair is remembered with each saved value, so the sweep (usually run after the block has
ended) unpacks with the hooks that packed. Blocks nest; the innermost pair applies. Hooks are
per thread.

The tape calls :func:`pack_saved` where an entry's residuals are stored and
:func:`unpack_saved` where the sweep reads them. It first checks :data:`STATE` (kept in
:mod:`tapegrad.tape`, so that recording need not import this module): ``STATE[0]`` counts
the hook blocks active in any thread, ``STATE[1]`` says whether anything was ever packed.

>>> import tapegrad as tg
>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> packed = []
>>> def pack(t):
...     packed.append(t.shape)
...     return t.numpy().copy()
>>> def unpack(a):
...     return tg.from_numpy(a)
>>> with tg.autograd.graph.saved_tensors_hooks(pack, unpack):
...     y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4.])
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tape as _tape

__all__ = [
    "saved_tensors_hooks",
    "disable_saved_tensors_hooks",
    "save_on_cpu",
    "pack",
    "unpack",
    "pack_saved",
    "unpack_saved",
    "saved_source",
    "repack",
    "Packed",
    "STATE",
]

#: ``[number of hook blocks active in any thread, whether anything was ever packed]``: the
#: tape's only checks while no hooks are in use. The list lives in :mod:`tapegrad.tape`.
STATE: list[Any] = getattr(_tape, "SAVED_HOOKS", None) or [0, False]

_lock = threading.Lock()


class _Local(threading.local):
    def __init__(self) -> None:
        self.stack: list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] = []
        self.disabled: list[str] = []


_local = _Local()


class Packed:
    """A saved value as its ``pack_hook`` returned it, with the hook pair that packed it.

    ``shape`` and ``dtype`` are the original value's (error messages name them without
    unpacking); ``source`` is a weak reference to the original array, so an in-place change
    can tell whether it is about to overwrite a value saved here.
    """

    __slots__ = ("packed", "pack_hook", "unpack_hook", "shape", "dtype", "source")

    def __init__(self, value: Any, hooks: tuple[Callable[[Any], Any], Callable[[Any], Any]]):
        from ..tensor import Tensor

        self.pack_hook, self.unpack_hook = hooks
        self.shape = value.shape
        self.dtype = value.dtype
        try:
            self.source: Callable[[], Any] = weakref.ref(value)
        except TypeError:
            self.source = _dead
        self.packed = self.pack_hook(Tensor._make(value))

    def unpack(self) -> Any:
        """The saved array, from ``unpack_hook``."""
        from ..tensor import Tensor

        value = self.unpack_hook(self.packed)
        if isinstance(value, Tensor):
            return value.data
        if (
            hasattr(value, "shape")
            and hasattr(value, "dtype")
            and not isinstance(value, np.generic)
        ):
            return value
        raise TypeError(
            "Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
            f"{type(value).__name__}"
        )

    def __repr__(self) -> str:
        return f"<Packed {self.dtype} {tuple(self.shape)}: {self.packed!r}>"


def _dead() -> None:
    return None


def _is_array(value: Any) -> bool:
    return (
        value is not None
        and hasattr(value, "shape")
        and hasattr(value, "dtype")
        and not isinstance(value, (np.generic, Packed))
    )


class saved_tensors_hooks:
    """Context manager: pack every value saved for backward with ``pack_hook``, and get it
    back with ``unpack_hook`` when the backward sweep needs it.

    Parameters
    ----------
    pack_hook : callable
        ``pack_hook(tensor) -> Any``, called once per saved value when it is saved. It gets a
        tensor that does not require grad and shares the saved value's data; it must not
        change it in place.
    unpack_hook : callable
        ``unpack_hook(packed) -> Tensor``, called each time the sweep uses the value; it must
        return a tensor (or array) with the saved value's contents.

    Notes
    -----
    Blocks nest and the innermost pair applies. Hooks are per thread. Values saved while
    the block was active are unpacked with its hooks also when ``backward()`` runs after
    the block ended.

    Examples
    --------
    Keep the saved values as float16 copies (half the memory, less precision):

    >>> import numpy as np, tapegrad as tg
    >>> def pack(t):
    ...     return t.numpy().astype(np.float16)
    >>> def unpack(a):
    ...     return tg.from_numpy(a.astype(np.float32))
    >>> x = tg.tensor([0.5, 2.0], requires_grad=True)
    >>> with tg.autograd.graph.saved_tensors_hooks(pack, unpack):
    ...     y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([1., 4.])
    """

    def __init__(
        self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any, Any], Any] | Any
    ) -> None:
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("saved_tensors_hooks takes two callables: pack_hook, unpack_hook")
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _local.disabled:
            raise RuntimeError(_local.disabled[-1])
        _local.stack.append((self.pack_hook, self.unpack_hook))
        with _lock:
            STATE[0] += 1
        return self

    def __exit__(self, *exc: object) -> None:
        stack = _local.stack
        pair = (self.pack_hook, self.unpack_hook)
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] is pair[0] and stack[i][1] is pair[1]:
                del stack[i]
                break
        with _lock:
            STATE[0] -= 1


class disable_saved_tensors_hooks:
    """Context manager: entering :class:`saved_tensors_hooks` inside it raises
    ``RuntimeError(error_message)`` (for code whose saved values must stay as they are)."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        if _local.stack:
            raise RuntimeError(self.error_message)
        _local.disabled.append(self.error_message)

    def __exit__(self, *exc: object) -> None:
        _local.disabled.pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep the values saved for backward in host memory, and move each back to its device
    when the sweep needs it (PyTorch's ``save_on_cpu``). On the CPU it keeps a copy.

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> with tg.autograd.graph.save_on_cpu():
    ...     y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])
    """

    def __init__(self, pin_memory: bool = False) -> None:
        def pack(t: Any) -> tuple[str, np.ndarray]:
            data = t.data
            host = (
                data.get()
                if hasattr(data, "get") and not isinstance(data, np.ndarray)
                else np.array(data)
            )
            return t.device, host

        def unpack(packed: tuple[str, np.ndarray]) -> Any:
            from ..tensor import Tensor

            device, host = packed
            t = Tensor._make(host)
            return t if device.type == "cpu" else t.to(device)

        super().__init__(pack, unpack)
        self.pin_memory = pin_memory


# --------------------------------------------------------------------------- the tape's calls


def pack(value: Any) -> Any:
    """``value`` as it should be saved: packed by the innermost hooks of this thread, if any."""
    if not STATE[0]:
        return value
    stack = _local.stack
    if not stack or not _is_array(value):
        return value
    STATE[1] = True
    return Packed(value, stack[-1])


def unpack(value: Any) -> Any:
    """A saved value as the rules need it (the inverse of :func:`pack`)."""
    if value.__class__ is Packed:
        return value.unpack()
    return value


def pack_saved(saved: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """An entry's residuals with each array packed (a multi-output entry saves a tuple)."""
    if saved is None or not STATE[0] or not _local.stack:
        return saved
    return tuple(tuple(pack(v) for v in x) if type(x) is tuple else pack(x) for x in saved)


def unpack_saved(saved: tuple[Any, ...]) -> tuple[Any, ...]:
    """An entry's residuals unpacked for its rules; the same tuple if nothing was packed."""
    if not STATE[1]:
        return saved
    for x in saved:
        if x.__class__ is Packed or (type(x) is tuple and any(v.__class__ is Packed for v in x)):
            break
    else:
        return saved
    return tuple(tuple(unpack(v) for v in x) if type(x) is tuple else unpack(x) for x in saved)


def saved_source(value: Any) -> Any:
    """The array a saved value stands for: itself, or the original of a packed value (while
    it is alive, else ``None``)."""
    if value.__class__ is Packed:
        return value.source()
    return value


def repack(value: Any, new: Any) -> Any:
    """``new`` saved in place of ``value``, packed by the same hooks when ``value`` was."""
    if value.__class__ is Packed:
        return Packed(new, (value.pack_hook, value.unpack_hook))
    return new
