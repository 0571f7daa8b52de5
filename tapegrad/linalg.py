"""``tapegrad.linalg``: PyTorch's ``torch.linalg`` (``dim``, ``keepdim``, named results).

The maths is ``tapegrad.numpy.linalg``'s (NumPy's names and arguments); these functions take
PyTorch's arguments, return PyTorch's named tuples, and name their results' backward nodes
as PyTorch does (``LinalgInvExBackward0``). Every one is differentiable, batched over leading
dimensions, and works on arrays inside transforms as on tensors.

>>> import tapegrad as tg
>>> A = tg.tensor([[2.0, 0.0], [0.0, 4.0]], requires_grad=True)
>>> tg.linalg.inv(A)
tensor([[0.5000, 0.0000],
        [0.0000, 0.2500]], grad_fn=<LinalgInvExBackward0>)
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import functions as _functions
from .backend import namespace
from .numpy import linalg as _np_linalg
from .ops import elementwise as _ew
from .ops import shape as _shp
from .tensor import Tensor, dtype_title, show_as

__all__ = [
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]

SlogdetResult = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
QRResult = namedtuple("linalg_qr", ["Q", "R"])
EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])

_VECTOR_NORM = "LinalgVectorNormBackward0"


def _ndim(x: Any) -> int:
    return len(getattr(x, "shape", ()))


def _dims(dim: Any) -> tuple[int, ...] | None:
    if dim is None:
        return None
    return (int(dim),) if isinstance(dim, int) or not hasattr(dim, "__len__") else tuple(dim)


def _as_dtype(name: str, x: Any, dtype: Any) -> Any:
    """``x`` cast to ``dtype`` for a norm's ``dtype=`` argument, which may only widen."""
    if dtype is None:
        return x
    if not np.can_cast(x.dtype, dtype, "safe"):
        raise RuntimeError(
            f"linalg.{name}: the dtype of the input ({dtype_title(x.dtype)}) should be "
            f"convertible without narrowing to the specified dtype ({dtype_title(dtype)})"
        )
    return x.to(dtype) if hasattr(x, "to") else x.astype(dtype)


def inv(A: Any) -> Any:
    """The inverse of each square matrix of ``A`` (``(*, n, n)``).

    >>> import tapegrad as tg
    >>> tg.linalg.inv(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[-2.0000,  1.0000],
            [ 1.5000, -0.5000]])
    """
    return show_as(_np_linalg.inv(A), "LinalgInvExBackward0", A)


def det(A: Any) -> Any:
    """The determinant of each square matrix of ``A``.

    >>> import tapegrad as tg
    >>> tg.linalg.det(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    return show_as(_np_linalg.det(A), "LinalgDetBackward0", A)


def slogdet(A: Any) -> SlogdetResult:
    """The sign and the log of the absolute value of each determinant, ``(sign, logabsdet)``.

    >>> import tapegrad as tg
    >>> tg.linalg.slogdet(tg.tensor([[1.0, 2.0], [3.0, 4.0]])).logabsdet
    tensor(0.6931)
    """
    sign, logabsdet = _np_linalg.slogdet(A)
    return SlogdetResult(sign, show_as(logabsdet, "LinalgSlogdetBackward0", A))


def solve(A: Any, B: Any, *, left: bool = True) -> Any:
    """``X`` with ``A X = B`` (``X A = B`` when ``left=False``). ``B`` is a batch of vectors
    when its shape is ``A``'s without the last dimension, else a batch of matrices.

    >>> import tapegrad as tg
    >>> tg.linalg.solve(tg.tensor([[2.0, 0.0], [0.0, 4.0]]), tg.tensor([2.0, 2.0]))
    tensor([1.0000, 0.5000])
    """
    a_shape, b_shape = tuple(A.shape), tuple(getattr(B, "shape", ()))
    if not left:  # X A = B  <=>  A^T X^T = B^T
        if len(b_shape) < 2:
            raise RuntimeError(
                "linalg.solve: Vector broadcasting of the left hand side is not "
                "supported for left=False. In this case linalg.solve is "
                "equivalent to B / A.squeeze(-1)"
            )
        At, Bt = _np_linalg.matrix_transpose(A), _np_linalg.matrix_transpose(B)
        out = _np_linalg.matrix_transpose(_np_linalg.solve(At, Bt))
        return show_as(out, "LinalgSolveExBackward0", A, B)
    if b_shape == a_shape[:-1]:  # PyTorch's rule: a batch of vectors
        x = _np_linalg.solve(A, _shp.expand_dims(B, -1))
        out = _shp.squeeze(x, -1)
    else:
        out = _np_linalg.solve(A, B)
    return show_as(out, "LinalgSolveExBackward0", A, B)


def cholesky(A: Any, *, upper: bool = False) -> Any:
    """The Cholesky factor of each symmetric positive-definite matrix: lower triangular
    ``L`` with ``A = L L^H``, or upper ``U = L^H`` with ``upper=True``.

    >>> import tapegrad as tg
    >>> tg.linalg.cholesky(tg.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    return show_as(_np_linalg.cholesky(A, upper=upper), "LinalgCholeskyExBackward0", A)


def qr(A: Any, mode: str = "reduced") -> QRResult:
    """``Q`` with orthonormal columns and upper triangular ``R``, ``A = Q R``; ``mode`` is
    ``"reduced"``, ``"complete"`` or ``"r"`` (then ``Q`` is empty).

    >>> import tapegrad as tg
    >>> tg.linalg.qr(tg.tensor([[3.0, 0.0], [4.0, 5.0]])).R.abs()
    tensor([[5., 4.],
            [0., 3.]])
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    if mode == "r":
        R = _np_linalg.qr(A, mode="r")
        raw = R.data if isinstance(R, Tensor) else R
        empty = namespace(raw).zeros((0,), dtype=raw.dtype)
        return QRResult(
            Tensor._make(empty) if isinstance(R, Tensor) else empty,
            show_as(R, "LinalgQrBackward0", A),
        )
    Q, R = _np_linalg.qr(A, mode=mode)
    return QRResult(show_as(Q, "LinalgQrBackward0", A), show_as(R, "LinalgQrBackward0", A))


def eigh(A: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix, read from
    its lower (``UPLO="L"``) or upper triangle.

    >>> import tapegrad as tg
    >>> tg.linalg.eigh(tg.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    tensor([1., 3.])
    """
    w, v = _np_linalg.eigh(A, UPLO=UPLO)
    name = "LinalgEighBackward0"
    return EighResult(show_as(w, name, A), show_as(v, name, A))


def eigvalsh(A: Any, UPLO: str = "L") -> Any:
    """The eigenvalues (ascending) of each symmetric matrix.

    >>> import tapegrad as tg
    >>> tg.linalg.eigvalsh(tg.tensor([[2.0, 1.0], [1.0, 2.0]]))
    tensor([1., 3.])
    """
    return show_as(_np_linalg.eigvalsh(A, UPLO=UPLO), "LinalgEighBackward0", A)


def svd(A: Any, full_matrices: bool = True) -> SVDResult:
    """``U``, the singular values ``S`` (descending) and ``Vh`` with ``A = U diag(S) Vh``.

    >>> import tapegrad as tg
    >>> tg.linalg.svd(tg.tensor([[3.0, 0.0], [0.0, -2.0]])).S
    tensor([3., 2.])
    """
    U, S, Vh = _np_linalg.svd(A, full_matrices=full_matrices)
    name = "LinalgSvdBackward0"
    return SVDResult(show_as(U, name, A), show_as(S, name, A), show_as(Vh, name, A))


def svdvals(A: Any) -> Any:
    """The singular values of each matrix, in descending order.

    >>> import tapegrad as tg
    >>> tg.linalg.svdvals(tg.tensor([[3.0, 0.0], [0.0, -2.0]]))
    tensor([3., 2.])
    """
    return show_as(_np_linalg.svdvals(A), "LinalgSvdBackward0", A)


def pinv(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Any:
    """The Moore-Penrose pseudo-inverse; singular values below ``rtol`` times the largest
    are dropped (by default ``max(m, n)`` times the dtype's machine epsilon).

    >>> import tapegrad as tg
    >>> tg.linalg.pinv(tg.tensor([[2.0, 0.0], [0.0, 0.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.0000]])
    """
    if atol is not None:
        raise NotImplementedError("linalg.pinv(atol=...): tapegrad supports rtol only")
    if rtol is None:
        m, n = tuple(A.shape)[-2:]
        rtol = max(m, n) * float(np.finfo(A.dtype).eps)
    out = _np_linalg.pinv(A, hermitian=hermitian, rtol=rtol)
    return show_as(out, "LinalgPinvBackward0", A)


def matrix_power(A: Any, n: int) -> Any:
    """``A`` multiplied by itself ``n`` times (the inverse's power for negative ``n``).

    >>> import tapegrad as tg
    >>> tg.linalg.matrix_power(tg.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    return _np_linalg.matrix_power(A, n)


def multi_dot(tensors: Sequence[Any]) -> Any:
    """The product of a chain of matrices, in the cheapest order (the first and last may be
    vectors).

    >>> import tapegrad as tg
    >>> tg.linalg.multi_dot([tg.ones(2), tg.eye(2), tg.ones(2)])
    tensor(2.)
    """
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    return _np_linalg.multi_dot(list(tensors))


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Any:
    """The dot product along ``dim`` (the first vector conjugated), broadcast.

    >>> import tapegrad as tg
    >>> tg.linalg.vecdot(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    if "c" in (np.dtype(x.dtype).kind, np.dtype(getattr(y, "dtype", float)).kind):
        return _np_linalg.vecdot(x, y, axis=dim)
    return _functions.sum(
        _ew.multiply(x, y), dim
    )  # PyTorch's own steps: MulBackward0, SumBackward1


def vector_norm(
    x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Any:
    """The ``ord``-norm of ``x`` as a vector: over all elements (``dim=None``), or along
    ``dim`` (an int or a tuple).

    >>> import tapegrad as tg
    >>> tg.linalg.vector_norm(tg.tensor([[3.0, 4.0], [0.0, 0.0]]))
    tensor(5.)
    """
    x = _as_dtype("vector_norm", x, dtype)
    out = _np_linalg.vector_norm(x, axis=_dims(dim), keepdims=keepdim, ord=ord)
    return show_as(out, _VECTOR_NORM, x)


def matrix_norm(
    A: Any,
    ord: Any = "fro",
    dim: tuple[int, int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Any:
    """The ``ord``-norm of the matrices that ``dim`` spans: ``"fro"``, ``"nuc"``, ``2``,
    ``-2``, ``1``, ``-1``, ``inf`` or ``-inf``.

    >>> import tapegrad as tg
    >>> tg.linalg.matrix_norm(tg.tensor([[3.0, 0.0], [0.0, 4.0]]), ord=2)
    tensor(4.)
    """
    A = _as_dtype("matrix_norm", A, dtype)
    out = _np_linalg.norm(A, ord=ord, axis=tuple(dim), keepdims=keepdim)
    return show_as(out, _VECTOR_NORM, A) if ord == "fro" else out


def norm(
    A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Any:
    """A vector norm or a matrix norm, as ``dim`` says: without ``dim`` and ``ord`` the
    2-norm of all elements; with ``ord`` and no ``dim``, ``A`` must be 1-D or 2-D; an int
    ``dim`` is a vector norm, a pair a matrix norm.

    >>> import tapegrad as tg
    >>> tg.linalg.norm(tg.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(5.)
    """
    dims = _dims(dim)
    if ord is None:
        if dims is None or len(dims) == 1:
            return vector_norm(A, 2, dims, keepdim, dtype=dtype)
        return matrix_norm(A, "fro", dims, keepdim, dtype=dtype)
    if dims is None:
        nd = _ndim(A)
        if nd not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                f"Got {nd}D."
            )
        dims = tuple(range(nd))
    if len(dims) == 1:
        return vector_norm(A, ord, dims, keepdim, dtype=dtype)
    return matrix_norm(A, ord, dims, keepdim, dtype=dtype)
