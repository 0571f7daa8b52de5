"""PyTorch's tests and searches over tensors: ``isnan``, ``argsort``, ``nonzero``, ``allclose``...

Their results are indices, booleans or counts, so none of them records anything or carries a
gradient. Each takes a tensor (or an array, whose array module it uses) and, where PyTorch
returns a tensor, returns a tensor on the same device that does not require grad.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import namespace
from .ops import elementwise as _ew
from .ops import reduce as _red
from .tensor import Tensor

__all__ = [
    "allclose",
    "argsort",
    "argwhere",
    "count_nonzero",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "is_complex",
    "is_floating_point",
    "is_tensor",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "nonzero",
    "not_equal",
    "numel",
    "signbit",
]


def _raw(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.data
    return x if hasattr(x, "dtype") else np.asarray(x)


def _result(raw: Any) -> Tensor:
    return Tensor._make(namespace(raw).asarray(raw))


def _elementwise(ufunc_name: str, doc: str) -> Any:
    def test(input: Any) -> Tensor:  # noqa: A002
        x = _raw(input)
        return _result(getattr(namespace(x), ufunc_name)(x))

    test.__name__ = test.__qualname__ = ufunc_name
    test.__doc__ = doc
    return test


isnan = _elementwise(
    "isnan",
    """Where the elements are NaN, as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.isnan(tg.tensor([1.0, float("nan")]))
    tensor([False,  True])
    """,
)
isinf = _elementwise(
    "isinf",
    """Where the elements are infinite, as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.isinf(tg.tensor([1.0, float("-inf")]))
    tensor([False,  True])
    """,
)
isfinite = _elementwise(
    "isfinite",
    """Where the elements are neither infinite nor NaN, as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.isfinite(tg.tensor([1.0, float("inf"), float("nan")]))
    tensor([ True, False, False])
    """,
)
signbit = _elementwise(
    "signbit",
    """Where the sign bit is set (negative numbers and ``-0.0``), as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.signbit(tg.tensor([1.0, -0.0, -2.0]))
    tensor([False,  True,  True])
    """,
)


def argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:  # noqa: A002
    """The indices that sort ``input`` along ``dim``, as ``tg.sort(...).indices`` gives them
    (equal values keep their order; NaN sorts as the largest value).

    >>> import tapegrad as tg
    >>> tg.argsort(tg.tensor([3.0, 1.0, 2.0]), descending=True)
    tensor([0, 2, 1])
    """
    from .functions import sort

    x = input if isinstance(input, Tensor) else Tensor._make(_raw(input))
    return sort(x, dim, descending)[1]


def nonzero(input: Any, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """The indices of the non-zero elements: one row per element (shape ``(n, ndim)``), or
    with ``as_tuple=True`` one index tensor per dimension.

    >>> import tapegrad as tg
    >>> tg.nonzero(tg.tensor([[0.0, 1.0], [2.0, 0.0]]))
    tensor([[0, 1],
            [1, 0]])
    >>> tg.nonzero(tg.tensor([0.0, 3.0, 4.0]), as_tuple=True)
    (tensor([1, 2]),)
    """
    x = _raw(input)
    xp = namespace(x)
    if as_tuple:
        if x.ndim == 0:  # PyTorch treats a scalar as a 1-element vector here
            x = x.reshape(1)
        return tuple(_result(i.astype(np.int64, copy=False)) for i in xp.nonzero(x))
    return argwhere(input)


def argwhere(input: Any) -> Tensor:  # noqa: A002
    """The indices of the non-zero elements, one row per element (shape ``(n, ndim)``).

    >>> import tapegrad as tg
    >>> tg.argwhere(tg.tensor([0.0, 5.0, 0.0, 7.0]))
    tensor([[1],
            [3]])
    """
    x = _raw(input)
    return _result(namespace(x).argwhere(x).astype(np.int64, copy=False))


def count_nonzero(input: Any, dim: Any = None) -> Tensor:  # noqa: A002
    """How many elements are non-zero, overall or along ``dim`` (an int or a tuple).

    >>> import tapegrad as tg
    >>> tg.count_nonzero(tg.tensor([[0.0, 1.0], [2.0, 3.0]]), dim=0)
    tensor([1, 2])
    """
    x = _raw(input)
    axis = None if dim is None else _red.normalize_axis(dim, x.ndim)
    counts = namespace(x).count_nonzero(x, axis=axis)
    return _result(namespace(x).asarray(counts, dtype=np.int64))


def allclose(
    input: Any,  # noqa: A002
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether ``|input - other| <= atol + rtol * |other|`` everywhere (broadcast).

    >>> import tapegrad as tg
    >>> tg.allclose(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0 + 1e-9]))
    True
    """
    a, b = _raw(input), _raw(other)
    return bool(namespace(a).allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Any, other: Any) -> bool:  # noqa: A002
    """Whether the two have the same shape and the same elements.

    >>> import tapegrad as tg
    >>> tg.equal(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0])), tg.equal(tg.ones(2), tg.ones(3))
    (True, False)
    """
    a, b = _raw(input), _raw(other)
    return tuple(a.shape) == tuple(b.shape) and bool(namespace(a).all(a == b))


def numel(input: Any) -> int:  # noqa: A002
    """The number of elements.

    >>> import tapegrad as tg
    >>> tg.numel(tg.zeros(2, 3))
    6
    """
    return int(np.prod(_raw(input).shape, dtype=np.int64))


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a tapegrad tensor.

    >>> import tapegrad as tg
    >>> tg.is_tensor(tg.ones(1)), tg.is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


# ---------------------------------------------------------------------- comparisons and logic


def _elementwise2(ufunc_name: str, name: str, doc: str) -> Any:
    """A test of two operands, broadcast against each other: a tensor, an array or a number
    each (inside ``vmap`` the batch axis is kept)."""

    def test(input: Any, other: Any) -> Any:  # noqa: A002
        return _ew._compare(ufunc_name, input, other)

    test.__name__ = test.__qualname__ = name
    test.__doc__ = doc
    return test


def _comparison(ufunc_name: str, name: str, symbol: str, example: str) -> Any:
    return _elementwise2(
        ufunc_name,
        name,
        f"""``input {symbol} other`` elementwise, broadcast, as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.{name}(tg.tensor([1.0, 2.0, 3.0]), 2.0)
    tensor({example})
    """,
    )


eq = _comparison("equal", "eq", "==", "[False,  True, False]")
ne = _comparison("not_equal", "ne", "!=", "[ True, False,  True]")
lt = _comparison("less", "lt", "<", "[ True, False, False]")
le = _comparison("less_equal", "le", "<=", "[ True,  True, False]")
gt = _comparison("greater", "gt", ">", "[False, False,  True]")
ge = _comparison("greater_equal", "ge", ">=", "[False,  True,  True]")
# PyTorch's longer names for the same functions.
not_equal = _comparison("not_equal", "not_equal", "!=", "[ True, False,  True]")
less = _comparison("less", "less", "<", "[ True, False, False]")
less_equal = _comparison("less_equal", "less_equal", "<=", "[ True,  True, False]")
greater = _comparison("greater", "greater", ">", "[False, False,  True]")
greater_equal = _comparison("greater_equal", "greater_equal", ">=", "[False,  True,  True]")


def _logic(ufunc_name: str, word: str, example: str) -> Any:
    return _elementwise2(
        ufunc_name,
        ufunc_name,
        f"""Elementwise logical {word} of the truth of each element (nonzero is true), broadcast.

    >>> import tapegrad as tg
    >>> tg.{ufunc_name}(tg.tensor([0.0, 0.0, 2.0, 3.0]), tg.tensor([0.0, 1.0, 0.0, 1.0]))
    tensor({example})
    """,
    )


logical_and = _logic("logical_and", "and", "[False, False, False,  True]")
logical_or = _logic("logical_or", "or", "[False,  True,  True,  True]")
logical_xor = _logic("logical_xor", "exclusive or", "[False,  True,  True, False]")
logical_not = _elementwise(
    "logical_not",
    """Elementwise logical not (zero is false), as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.logical_not(tg.tensor([0.0, 2.0]))
    tensor([ True, False])
    """,
)


def isclose(
    input: Any,  # noqa: A002
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """Where ``|input - other| <= atol + rtol |other|``, elementwise, as a boolean tensor.

    >>> import tapegrad as tg
    >>> tg.isclose(tg.tensor([1.0, 1.1]), tg.tensor([1.0 + 1e-7, 1.0]))
    tensor([ True, False])
    """
    x, y = _raw(input), _raw(other)
    return _result(namespace(x).isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def is_floating_point(input: Any) -> bool:  # noqa: A002
    """Whether ``input``'s dtype is a floating-point one (float16, float32, float64).

    >>> import tapegrad as tg
    >>> tg.is_floating_point(tg.tensor([1.0])), tg.is_floating_point(tg.tensor([1]))
    (True, False)
    """
    return _raw(input).dtype.kind == "f"


def is_complex(input: Any) -> bool:  # noqa: A002
    """Whether ``input``'s dtype is a complex one.

    >>> import tapegrad as tg
    >>> tg.is_complex(tg.tensor([1.0 + 2.0j])), tg.is_complex(tg.tensor([1.0]))
    (True, False)
    """
    return _raw(input).dtype.kind == "c"
