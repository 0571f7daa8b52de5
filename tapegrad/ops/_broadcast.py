"""Un-broadcasting of cotangents: the one helper every broadcasting rule shares."""

from __future__ import annotations

from typing import Any

import numpy as np

_NDARRAY = np.ndarray
_add_reduce = np.add.reduce


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes along which an input of ``shape`` was broadcast.

    Works on raw arrays and on tensors (then it is recorded, like any rule).

    >>> import numpy as np
    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), (2, 1))
    array([[3.],
           [3.]])
    """
    gshape = tuple(g.shape)
    shape = tuple(shape)
    if gshape == shape:
        return g
    if not shape and g.__class__ is _NDARRAY:  # a 0-d input (a bias, a scale): the total
        return np.asarray(_add_reduce(g, None))
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    if not hasattr(g, "_slot"):
        # A raw array (a sweep that records nothing): the array's own methods suffice. Without
        # leading axes the sum already has the input's shape, and is an array of its own.
        if not axes:
            return g.reshape(shape)
        if g.__class__ is not _NDARRAY:
            return g.sum(axis=axes, keepdims=True).reshape(shape)
        g = _add_reduce(g, axis=axes, keepdims=True)  # (``sum`` without its Python layers)
        return g.reshape(shape) if lead else g
    from .reduce import sum as _sum
    from .shape import reshape

    if axes:
        g = _sum(g, axis=axes, keepdims=True)
    if tuple(g.shape) != shape:
        g = reshape(g, shape)
    return g
