"""``Parameter``: a tensor that a :class:`~tapegrad.nn.Module` registers as learnable."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import namespace
from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that a module lists among its :meth:`~tapegrad.nn.Module.parameters`.

    Assigning a ``Parameter`` to an attribute of a module registers it. ``Parameter(t)``
    shares ``t``'s storage, is a leaf (even when ``t`` is not) and requires grad unless
    ``requires_grad=False`` is given.

    Parameters
    ----------
    data : Tensor or array_like, optional
        The initial value (an empty float32 tensor when omitted).
    requires_grad : bool, default True
        Whether the parameter is trained.

    Examples
    --------
    >>> w = tg.nn.Parameter(tg.ones(2))
    >>> w
    Parameter containing:
    tensor([1., 1.], requires_grad=True)
    >>> w.is_leaf, w.requires_grad
    (True, True)
    """

    __slots__ = ()

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            p = cls._make(np.empty((0,), dtype=np.float32))
        elif isinstance(data, Tensor):
            p = cls._make(data.data)
            p._version = data._counter()  # shared storage, shared version counter
        else:
            p = cls._make(namespace(data).asarray(data))
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        # Everything happens in __new__; Tensor.__init__ would reallocate the data.
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(self.data.copy(), self.requires_grad)
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Pickle value and flag only: a tape slot means nothing in another process.
        return (_rebuild_parameter, (self.data, self.requires_grad))


def _rebuild_parameter(data: Any, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)
