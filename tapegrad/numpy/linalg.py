"""``tapegrad.numpy.linalg``: NumPy's ``numpy.linalg`` over tapegrad's linear algebra.

Arrays in, arrays out; tensors in, tensors out (recorded on the tape). Errors are NumPy's:
:class:`LinAlgError` for singular or non-square input, ``ValueError`` naming both shapes on a
mismatch. Names whose ops-level function is missing are left out (see
``tapegrad.numpy.UNRESOLVED``).

>>> import tapegrad.numpy as tnp
>>> tnp.linalg.det(np.array([[2.0, 0.0], [0.0, 3.0]]))
array(6.)
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.linalg import LinAlgError
from numpy.typing import ArrayLike, DTypeLike

from ..tensor import Tensor
from ._common import NoValue, asarray, cast, get, ndim_of, no_out, shape_of
from ._names import UNRESOLVED
from ._ufuncs import vecdot as _vecdot

__all__ = [
    "LinAlgError",
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "qr",
    "eigh",
    "eigvalsh",
    "svd",
    "svdvals",
    "norm",
    "vector_norm",
    "matrix_norm",
    "pinv",
    "matrix_power",
    "multi_dot",
    "matmul",
    "outer",
    "vecdot",
    "tensordot",
    "trace",
    "diagonal",
    "matrix_transpose",
]


def inv(a: ArrayLike | Tensor) -> Any:
    """Inverse of a square matrix (or of each in a stack).

    Raises
    ------
    LinAlgError
        When the matrix is singular or not square.

    Examples
    --------
    >>> tnp.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return get("linalg.inv")(asarray(a))


def solve(a: ArrayLike | Tensor, b: ArrayLike | Tensor) -> Any:
    """Solution ``x`` of ``a @ x = b`` (``b`` a vector or a stack of columns).

    Examples
    --------
    >>> tnp.linalg.solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 2.0]))
    array([1. , 0.5])
    """
    return get("linalg.solve")(asarray(a), asarray(b))


def det(a: ArrayLike | Tensor) -> Any:
    """Determinant (differentiable at singular matrices too).

    Examples
    --------
    >>> tnp.round(tnp.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]])), 6)
    array(-2.)
    """
    return get("linalg.det")(asarray(a))


def slogdet(a: ArrayLike | Tensor) -> Any:
    """``(sign, logabsdet)`` of the determinant, as a named tuple.

    Examples
    --------
    >>> sign, logabsdet = tnp.linalg.slogdet(np.array([[-2.0, 0.0], [0.0, 1.0]]))
    >>> float(sign), float(np.exp(logabsdet))
    (-1.0, 2.0)
    """
    return get("linalg.slogdet")(asarray(a))


def cholesky(a: ArrayLike | Tensor, /, *, upper: bool = False) -> Any:
    """Cholesky factor ``L`` (``a = L @ L.T``), or ``U`` with ``upper=True``.

    Examples
    --------
    >>> tnp.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    array([[2., 0.],
           [1., 1.]])
    """
    return get("linalg.cholesky")(asarray(a), upper=upper)


def qr(a: ArrayLike | Tensor, mode: str = "reduced") -> Any:
    """QR factorisation ``(Q, R)``.

    Examples
    --------
    >>> q, r = tnp.linalg.qr(np.array([[3.0, 0.0], [4.0, 5.0]]))
    >>> np.allclose(q @ r, [[3.0, 0.0], [4.0, 5.0]])
    True
    """
    return get("linalg.qr")(asarray(a), mode)


def eigh(a: ArrayLike | Tensor, UPLO: str = "L") -> Any:  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix.

    Examples
    --------
    >>> w, v = tnp.linalg.eigh(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    array([1., 2.])
    """
    return get("linalg.eigh")(asarray(a), UPLO)


def eigvalsh(a: ArrayLike | Tensor, UPLO: str = "L") -> Any:  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) of a symmetric matrix.

    Examples
    --------
    >>> tnp.linalg.eigvalsh(np.array([[2.0, 0.0], [0.0, 1.0]]))
    array([1., 2.])
    """
    return get("linalg.eigh")(asarray(a), UPLO)[0]


def svd(
    a: ArrayLike | Tensor,
    full_matrices: bool = True,
    compute_uv: bool = True,
    hermitian: bool = False,
) -> Any:
    """Singular value decomposition ``(U, S, Vh)``; ``S`` alone with ``compute_uv=False``.

    Examples
    --------
    >>> tnp.linalg.svd(np.array([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False)
    array([4., 3.])
    """
    return get("linalg.svd")(
        asarray(a), full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian
    )


def svdvals(x: ArrayLike | Tensor, /) -> Any:
    """Singular values, descending.

    Examples
    --------
    >>> tnp.linalg.svdvals(np.array([[3.0, 0.0], [0.0, 4.0]]))
    array([4., 3.])
    """
    return svd(x, full_matrices=False, compute_uv=False)


def norm(
    x: ArrayLike | Tensor,
    ord: Any = None,  # noqa: A002 - NumPy's name
    axis: int | Sequence[int] | None = None,
    keepdims: bool = False,
) -> Any:
    """Matrix or vector norm, as ``numpy.linalg.norm``.

    Examples
    --------
    >>> tnp.linalg.norm(np.array([3.0, 4.0]))
    array(5.)
    """
    return get("linalg.norm")(asarray(x), ord=ord, axis=axis, keepdims=keepdims)


def vector_norm(
    x: ArrayLike | Tensor,
    /,
    *,
    axis: int | Sequence[int] | None = None,
    keepdims: bool = False,
    ord: Any = 2,  # noqa: A002 - NumPy's name
) -> Any:
    """Vector ``ord``-norm over ``axis`` (all axes as one vector when ``None``).

    Examples
    --------
    >>> tnp.linalg.vector_norm(np.array([[1.0, -2.0], [2.0, 0.0]]), ord=1)
    array(5.)
    """
    return get("reduce.vector_norm")(asarray(x), axis=axis, keepdims=keepdims, ord=ord)


def matrix_norm(
    x: ArrayLike | Tensor,
    /,
    *,
    keepdims: bool = False,
    ord: Any = "fro",  # noqa: A002 - NumPy's name
) -> Any:
    """Matrix norm of the last two axes.

    Examples
    --------
    >>> tnp.linalg.matrix_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    array(5.)
    """
    return get("linalg.norm")(asarray(x), ord=ord, axis=(-2, -1), keepdims=keepdims)


def pinv(
    a: ArrayLike | Tensor, rcond: Any = None, hermitian: bool = False, *, rtol: Any = NoValue
) -> Any:
    """Moore-Penrose pseudo-inverse.

    Examples
    --------
    >>> tnp.linalg.pinv(np.array([[2.0, 0.0], [0.0, 0.0]]))
    array([[0.5, 0. ],
           [0. , 0. ]])
    """
    kw = {} if rtol is NoValue else {"rtol": rtol}
    return get("linalg.pinv")(asarray(a), rcond=rcond, hermitian=hermitian, **kw)


def matrix_power(a: ArrayLike | Tensor, n: int) -> Any:
    """``a`` to the integer power ``n`` (``n < 0`` inverts first), by repeated squaring.

    Examples
    --------
    >>> tnp.linalg.matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
    array([[1., 3.],
           [0., 1.]])
    """
    a = asarray(a)
    try:
        n = operator.index(n)
    except TypeError as exc:
        raise TypeError("exponent must be an integer") from exc
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise LinAlgError(
            f"{len(s)}-dimensional array given. Array must be at least two-dimensional"
            if len(s) < 2
            else "Last 2 dimensions of the array must be square"
        )
    matmul_ = get("linalg.matmul")
    if n == 0:
        # The identity, still connected to ``a`` (with a zero gradient) for tensors.
        eye = np.broadcast_to(np.eye(s[-1], dtype=a.dtype), s)
        return get("elementwise.add")(get("elementwise.multiply")(a, 0), eye)
    if n < 0:
        a = get("linalg.inv")(a)
        n = -n
    result = None
    base = a
    while True:
        if n & 1:
            result = base if result is None else matmul_(result, base)
        n >>= 1
        if not n:
            return result
        base = matmul_(base, base)


def multi_dot(arrays: Sequence[ArrayLike | Tensor], *, out: None = None) -> Any:
    """Product of a chain of matrices (the first and last may be vectors).

    Examples
    --------
    >>> tnp.linalg.multi_dot([np.array([1.0, 1.0]), np.eye(2), np.array([2.0, 3.0])])
    array(5.)
    """
    no_out(out, "linalg.multi_dot")
    items = [asarray(a) for a in arrays]
    if len(items) < 2:
        raise ValueError("Expecting at least two arrays.")
    matmul_ = get("linalg.matmul")
    result = items[0]
    for item in items[1:]:
        result = matmul_(result, item)
    return result


def matmul(x1: ArrayLike | Tensor, x2: ArrayLike | Tensor, /) -> Any:
    """Matrix product (see ``tapegrad.numpy.matmul``).

    Examples
    --------
    >>> tnp.linalg.matmul(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return get("linalg.matmul")(asarray(x1), asarray(x2))


def outer(x1: ArrayLike | Tensor, x2: ArrayLike | Tensor, /) -> Any:
    """Outer product of two vectors.

    Examples
    --------
    >>> tnp.linalg.outer(np.array([1.0, 2.0]), np.array([1.0, 10.0]))
    array([[ 1., 10.],
           [ 2., 20.]])
    """
    x1, x2 = asarray(x1), asarray(x2)
    if ndim_of(x1) != 1 or ndim_of(x2) != 1:
        raise ValueError(
            "Input arrays must be one-dimensional, but they are "
            f"x1.ndim={ndim_of(x1)} and x2.ndim={ndim_of(x2)}."
        )
    return get("linalg.outer")(x1, x2)


def vecdot(x1: ArrayLike | Tensor, x2: ArrayLike | Tensor, /, *, axis: int = -1) -> Any:
    """Dot product of vectors along ``axis``.

    Examples
    --------
    >>> tnp.linalg.vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    """
    return _vecdot(x1, x2, axis=axis)


def tensordot(x1: ArrayLike | Tensor, x2: ArrayLike | Tensor, /, *, axes: Any = 2) -> Any:
    """Sum products over the given axes (see ``tapegrad.numpy.tensordot``).

    Examples
    --------
    >>> tnp.linalg.tensordot(np.ones((2, 3)), np.ones((2, 3)))
    array(6.)
    """
    return get("linalg.tensordot")(asarray(x1), asarray(x2), axes)


def trace(x: ArrayLike | Tensor, /, *, offset: int = 0, dtype: DTypeLike | None = None) -> Any:
    """Trace of each matrix of the last two axes.

    Examples
    --------
    >>> tnp.linalg.trace(np.stack([np.eye(2), 2 * np.eye(2)]))
    array([2., 4.])
    """
    return get("shape.trace")(cast(asarray(x), dtype), offset=offset, axis1=-2, axis2=-1)


def diagonal(x: ArrayLike | Tensor, /, *, offset: int = 0) -> Any:
    """Diagonal of each matrix of the last two axes.

    Examples
    --------
    >>> tnp.linalg.diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 4.])
    """
    return get("shape.diagonal")(asarray(x), offset=offset, axis1=-2, axis2=-1)


def matrix_transpose(x: ArrayLike | Tensor, /) -> Any:
    """Swap the last two axes.

    Examples
    --------
    >>> tnp.linalg.matrix_transpose(np.ones((2, 3))).shape
    (3, 2)
    """
    x = asarray(x)
    if ndim_of(x) < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {ndim_of(x)}")
    return get("shape.swapaxes")(x, -1, -2)


# Names whose ops-level functions are missing are taken out (``__getattr__`` says why).
_UNRESOLVED_HERE = {k.split(".", 1)[1]: v for k, v in UNRESOLVED.items() if k.startswith("linalg.")}
for _name in _UNRESOLVED_HERE:
    globals().pop(_name, None)
__all__ = [n for n in __all__ if n not in _UNRESOLVED_HERE]


def __getattr__(name: str) -> Any:
    reason = _UNRESOLVED_HERE.get(name)
    if reason is not None:
        raise AttributeError(
            f"module 'tapegrad.numpy.linalg' has no attribute {name!r} yet: {reason}"
        )
    raise AttributeError(f"module 'tapegrad.numpy.linalg' has no attribute {name!r}")
