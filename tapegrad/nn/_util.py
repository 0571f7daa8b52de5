"""In-place writes that bypass the tape but keep version counters honest.

Initialisers, ``load_state_dict`` and the optimisers overwrite a parameter's array directly
(NumPy or CuPy) for speed. Bumping the tensor's version counter afterwards keeps the promise
that a backward through values saved before the change raises instead of returning a wrong
gradient.
"""

from __future__ import annotations

from typing import Any

from ..backend import namespace
from ..tensor import Tensor

__all__ = ["assign_", "mark_modified"]


def mark_modified(t: Tensor) -> None:
    """Record that ``t``'s data was changed in place (bump its version counter)."""
    t._bump()


def assign_(t: Tensor, value: Any) -> Tensor:
    """Copy ``value`` (a tensor, an array or a scalar, broadcast and cast to ``t``'s dtype and
    device) into ``t``'s storage, outside the tape; returns ``t``."""
    xp = namespace(t.data)
    src = value.data if isinstance(value, Tensor) else value
    xp.copyto(t.data, xp.asarray(src), casting="unsafe")
    mark_modified(t)
    return t
