"""Linear algebra: products, ``einsum``, and the ``linalg`` factorisations.

Products (``matmul``, ``einsum`` of one or two operands) and the factorisations (``inv``,
``solve``, ``det``, ``slogdet``, ``cholesky``, ``qr``, ``eigh``, ``svd``, ``pinv``) are
primitives: each has a fused VJP and JVP rule written with tapegrad's own operations, so
second derivatives are recorded like any other. The long tail (``dot``, ``vdot``, ``inner``,
``outer``, ``tensordot``, ``kron``, ``einsum`` of three or more operands, contracted
pairwise, and ``norm``, whose vector norms are ``tapegrad.ops.reduce.norm``) is composed from
them and the other families.

Every function follows NumPy's signature and errors: batched (stacked) matrices wherever NumPy
takes them, ``numpy.linalg.LinAlgError`` for singular or non-square input, ``ValueError``
naming both shapes on a mismatch, and float32 in, float32 out.

Conventions of the gradients (the standard matrix-calculus results, as in Giles' "An extended
collection of matrix derivative results", and as PyTorch and JAX give them):

- ``cholesky`` and ``eigh`` read one triangle of a matrix assumed symmetric; their gradients
  are the symmetric matrices (PyTorch's convention), and their JVPs symmetrise the tangent.
- ``eigh`` and ``svd`` gradients through the eigen/singular vectors divide by differences of
  eigenvalues (squared singular values): where these repeat the gradient holds ``inf`` or
  ``nan``, as in PyTorch and JAX. Gradients through the values alone are always defined.
- ``det`` is differentiable at singular matrices (the cofactor matrix, from an SVD).
- ``qr`` is differentiable for square, tall and wide matrices; ``svd`` with
  ``full_matrices=True`` of a non-square matrix only through the reduced factors.
"""

from __future__ import annotations

import contextlib
import functools
import string
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..backend import namespace
from ..primitive import OUT, Primitive, bind, bind2
from ..tensor import Tensor
from ._broadcast import unbroadcast
from .elementwise import abs as _abs
from .elementwise import exp, multiply, negative, where
from .index import getitem
from .reduce import amax, amin, normalize_axis, vector_norm
from .reduce import norm as _reduce_norm
from .reduce import sum as _sum
from .shape import astype, broadcast_to, expand_dims, reshape, squeeze, transpose

__all__ = [
    "matmul",
    "swap_last",
    "dot",
    "vdot",
    "inner",
    "outer",
    "tensordot",
    "kron",
    "einsum",
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "qr",
    "eigh",
    "svd",
    "norm",
    "vector_norm",
    "matrix_norm",
    "pinv",
    "SlogdetResult",
    "QRResult",
    "EighResult",
    "SVDResult",
    "BATCHING_RULES",
]

LinAlgError = np.linalg.LinAlgError


# ---------------------------------------------------------------------- helpers


def swap_last(x: Any) -> Any:
    """Swap the last two axes (recorded as PyTorch's ``TransposeBackward0``).

    Examples
    --------
    >>> from tapegrad.ops.linalg import swap_last
    >>> swap_last(np.zeros((4, 2, 3))).shape
    (4, 3, 2)
    """
    if not hasattr(x, "_slot") and hasattr(x, "swapaxes"):
        return x.swapaxes(-1, -2)  # a raw array (a rule that records nothing): its own method
    nd = len(x.shape)
    axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return transpose(x, axes, name="TransposeBackward0")


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _arr(x: Any) -> Any:
    """Tensors and arrays as they are; Python numbers and nested lists as NumPy arrays."""
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)


def _raw(x: Any) -> Any:
    """The array under a tensor (the whole batch under a batched value)."""
    return x.data if isinstance(x, Tensor) else x


def _xp(x: Any) -> Any:
    return namespace(_raw(x))


def _eye(n: int, like: Any) -> Any:
    """An ``n x n`` identity in the dtype and array module of ``like`` (a constant)."""
    return _xp(like).eye(n, dtype=like.dtype)


def _tri(n: int, like: Any, k: int = 0) -> Any:
    """The lower-triangular mask of ones (diagonal ``k`` and below), as a constant."""
    return _xp(like).tri(n, k=k, dtype=like.dtype)


def _col(x: Any) -> Any:
    return expand_dims(x, -1)


def _row(x: Any) -> Any:
    return expand_dims(x, -2)


def _diag_embed(v: Any) -> Any:
    """``(..., n)`` to the diagonal matrices ``(..., n, n)``."""
    return _col(v) * _eye(v.shape[-1], v)


def _diag_part(m: Any) -> Any:
    """The diagonals ``(..., n)`` of square matrices ``(..., n, n)``."""
    return _sum(m * _eye(m.shape[-1], m), axis=-1)


def _add(a: Any, b: Any) -> Any:
    """``a + b`` where ``None`` stands for zero."""
    if a is None:
        return b
    return a if b is None else a + b


def _pair_inverse(d: Any) -> Any:
    """``F[..., i, j] = 1 / (d_j - d_i)`` off the diagonal, 0 on it (``inf`` where values repeat).

    The diagonal is filled before dividing, so no ``0 / 0`` enters a recorded derivative.
    """
    n = d.shape[-1]
    eye = _eye(n, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 - eye) / (_row(d) - _col(d) + eye)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Division by zero gives ``inf``/``nan`` silently where a gradient is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        yield


def _lapack(xp: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``xp.linalg.fn`` so that singular or indefinite input raises ``LinAlgError``.

    NumPy raises by itself; CuPy only when asked to, and with its own class.
    """
    if xp.__name__ != "cupy":
        return fn(*args, **kwargs)
    try:
        import cupyx

        with cupyx.errstate(linalg="raise"):
            return fn(*args, **kwargs)
    except Exception as exc:
        if type(exc).__name__ == "LinAlgError" and not isinstance(exc, LinAlgError):
            raise LinAlgError(str(exc)) from exc
        raise


def _check_square(name: str, shape: tuple[int, ...]) -> None:
    """NumPy's errors for input that is not a (stack of) square matrices."""
    if len(shape) < 2:
        raise LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )
    if shape[-1] != shape[-2]:
        raise LinAlgError(f"Last 2 dimensions of the array must be square (got {shape} in {name})")


def _check_matrix(shape: tuple[int, ...]) -> None:
    if len(shape) < 2:
        raise LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )


def _select(rows: int, cols: int, start: int, like: Any) -> Any:
    """The constant ``rows x cols`` matrix with ones on the diagonal starting at column
    ``start``: ``x @ _select(...)`` places the columns of ``x`` at ``start`` of a wider matrix."""
    return _xp(like).eye(rows, cols, k=start, dtype=like.dtype)


# ---------------------------------------------------------------------- matmul


def _as_matrix(x: Any, shape: tuple[int, ...], row: bool) -> Any:
    """A 1-D operand as a 1×k row (left operand) or k×1 column (right operand)."""
    if len(shape) != 1:
        return x
    return reshape(x, (1, shape[0]) if row else (shape[0], 1))


def _grad_matrix(g: Any, sa: tuple[int, ...], sb: tuple[int, ...]) -> Any:
    """The output cotangent with the axes that 1-D operands dropped put back."""
    if len(sa) == 1 and len(sb) == 1:
        return reshape(g, (1, 1))
    if len(sa) == 1:
        gs = tuple(g.shape)
        return reshape(g, gs[:-1] + (1, gs[-1]))
    if len(sb) == 1:
        return reshape(g, tuple(g.shape) + (1,))
    return g


def _grad_a(g: Any, a: Any, b: Any, out: Any, sa: Any, sb: Any) -> Any:
    if g.__class__ is b.__class__ is _NDARRAY and len(sa) + len(sb) == 3:
        # NumPy, matrix and vector: the outer product g b^T, or b g (a sweep that records
        # nothing; the products the ``matmul`` function would pick, without its checks)
        return np.multiply(g[:, None], b) if len(sa) == 2 else b @ g
    if len(sa) == 2 and len(sb) == 2:
        return matmul(g, swap_last(b))
    if len(sa) == 2 and len(sb) == 1:  # matrix @ vector: the outer product g b^T
        return reshape(g, (sa[0], 1)) * b
    if len(sa) == 1 and len(sb) == 2:  # vector @ matrix: b g
        return matmul(b, g)
    ga = matmul(_grad_matrix(g, sa, sb), swap_last(_as_matrix(b, sb, row=False)))
    a2 = (1, sa[0]) if len(sa) == 1 else sa
    ga = unbroadcast(ga, a2)
    return reshape(ga, sa) if len(sa) == 1 else ga


def _grad_b(g: Any, a: Any, b: Any, out: Any, sa: Any, sb: Any) -> Any:
    if g.__class__ is a.__class__ is _NDARRAY and len(sa) + len(sb) == 3:
        # NumPy, matrix and vector: g a, or the outer product a g^T (as in ``_grad_a``)
        return g @ a if len(sa) == 2 else np.multiply(a[:, None], g)
    if len(sa) == 2 and len(sb) == 2:
        return matmul(swap_last(a), g)
    if len(sa) == 2 and len(sb) == 1:  # matrix @ vector: g a
        return matmul(g, a)
    if len(sa) == 1 and len(sb) == 2:  # vector @ matrix: the outer product a g^T
        return reshape(a, (sa[0], 1)) * g
    gb = matmul(swap_last(_as_matrix(a, sa, row=True)), _grad_matrix(g, sa, sb))
    b2 = (sb[0], 1) if len(sb) == 1 else sb
    gb = unbroadcast(gb, b2)
    return reshape(gb, sb) if len(sb) == 1 else gb


def _jvp(t: Any, a: Any, b: Any, out: Any, sa: Any, sb: Any) -> Any:
    ta, tb = t
    terms = []
    if ta is not None:
        terms.append(matmul(ta, b))
    if tb is not None:
        terms.append(matmul(a, tb))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _matmul_name(p: Any) -> str:
    na, nb = len(p["sa"]), len(p["sb"])
    if na == 1 and nb == 1:
        return "DotBackward0"
    if na == 2 and nb == 1:
        return "MvBackward0"
    if na == 2 and nb == 2:
        return "MmBackward0"
    if na == 1 and nb == 2:
        return "SqueezeBackward4"
    return "UnsafeViewBackward0"


_NDARRAY = np.ndarray

MATMUL = Primitive(
    "matmul",
    lambda xp, a, b, sa, sb: xp.matmul(a, b),
    (_grad_a, _grad_b),
    _jvp,
    uses=((1,), (0,)),
    grad_fn=_matmul_name,
    np_fwd="matmul",
)


def matmul(a: Any, b: Any) -> Any:
    """Matrix product with NumPy's rules for 1-D and batched (broadcast) operands.

    Examples
    --------
    >>> from tapegrad.ops.linalg import matmul
    >>> matmul(np.ones((2, 3)), np.arange(3.0))
    array([3., 3.])
    """
    if a.__class__ is b.__class__ and not hasattr(a, "_slot") and getattr(a, "ndim", 0) and b.ndim:
        # Raw arrays (what rules multiply when nothing is recorded): the array's own matmul.
        sa, sb = a.shape, b.shape
        k_b = sb[0] if len(sb) == 1 else sb[-2]
        if sa[-1] != k_b:
            raise ValueError(
                f"matmul: mismatch in the contracted dimension: shapes {tuple(sa)} and "
                f"{tuple(sb)} ({sa[-1]} != {k_b})"
            )
        out = a @ b
        return np.asarray(out) if isinstance(out, np.generic) else out  # (1-D @ 1-D)
    # (A value inside vmap has the shape of one example: its own ``shape``, not its data's.)
    sa = a.data.shape if a.__class__ is Tensor else tuple(getattr(a, "shape", ()))
    sb = b.data.shape if b.__class__ is Tensor else tuple(getattr(b, "shape", ()))
    if not sa or not sb:
        raise ValueError(
            "matmul: Input operand does not have enough dimensions "
            f"(shapes {sa} and {sb}); use * for scalars"
        )
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: mismatch in the contracted dimension: shapes {sa} and {sb} ({k_a} != {k_b})"
        )
    return bind2(MATMUL, a, b, {"sa": sa, "sb": sb})


# ---------------------------------------------------------------------- products by composition


def _not_aligned(sa: tuple[int, ...], sb: tuple[int, ...], ia: int, ib: int) -> ValueError:
    return ValueError(
        f"shapes {sa} and {sb} not aligned: {sa[ia]} (dim {ia % len(sa)}) != "
        f"{sb[ib]} (dim {ib % len(sb)})"
    )


def tensordot(a: Any, b: Any, axes: Any = 2, *, dims: Any = None) -> Any:
    """Sum of products over the given axes of ``a`` and ``b`` (NumPy's ``tensordot``).

    Parameters
    ----------
    a, b : array_like or Tensor
    axes : int or (sequence of int, sequence of int)
        An int ``N`` contracts the last ``N`` axes of ``a`` with the first ``N`` of ``b``; a
        pair lists the axes of ``a`` and of ``b`` to contract, in matching order.
    dims : int or pair, keyword-only
        PyTorch's name for ``axes``.

    Returns
    -------
    array or Tensor
        The free axes of ``a`` followed by the free axes of ``b``.

    Examples
    --------
    >>> from tapegrad.ops.linalg import tensordot
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> tensordot(a, np.ones((3, 2)), axes=1)
    array([[ 3.,  3.],
           [12., 12.]])
    >>> tensordot(a, a, axes=([0, 1], [0, 1]))
    array(55.)
    """
    a, b = _arr(a), _arr(b)
    if dims is not None:
        axes = dims
    sa, sb = _shape(a), _shape(b)
    na, nb = len(sa), len(sb)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0:
            raise ValueError(f"tensordot: axes must be non-negative, got {n}")
        if n > na or n > nb:
            raise ValueError(f"tensordot: cannot contract {n} axes of shapes {sa} and {sb}")
        axes_a: list[int] = list(range(na - n, na))
        axes_b: list[int] = list(range(n))
    else:
        xa, xb = axes
        xa = [xa] if isinstance(xa, (int, np.integer)) else list(xa)
        xb = [xb] if isinstance(xb, (int, np.integer)) else list(xb)
        if len(xa) != len(xb):
            raise ValueError(f"shape-mismatch for sum: axes {xa} of {sa} and {xb} of {sb}")
        axes_a = [np.lib.array_utils.normalize_axis_index(int(i), na) for i in xa]
        axes_b = [np.lib.array_utils.normalize_axis_index(int(i), nb) for i in xb]
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ValueError(
                f"shape-mismatch for sum: shapes {sa} and {sb} differ on the contracted axes "
                f"({sa[i]} at axis {i} != {sb[j]} at axis {j})"
            )
    free_a = [i for i in range(na) if i not in axes_a]
    free_b = [j for j in range(nb) if j not in axes_b]
    k = int(np.prod([sa[i] for i in axes_a], dtype=np.int64))
    ma = int(np.prod([sa[i] for i in free_a], dtype=np.int64))
    mb = int(np.prod([sb[j] for j in free_b], dtype=np.int64))
    order_a = free_a + axes_a
    order_b = axes_b + free_b
    at = a if order_a == list(range(na)) else transpose(a, tuple(order_a))
    bt = b if order_b == list(range(nb)) else transpose(b, tuple(order_b))
    if _shape(at) != (ma, k):
        at = reshape(at, (ma, k))
    if _shape(bt) != (k, mb):
        bt = reshape(bt, (k, mb))
    out = matmul(at, bt)
    shape = tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b)
    return out if _shape(out) == shape else reshape(out, shape)


def dot(a: Any, b: Any) -> Any:
    """NumPy's ``dot``: a scalar product for scalars, ``matmul`` for vectors and matrices, and
    for N-D operands the sum over the last axis of ``a`` and the second-to-last of ``b``.

    Examples
    --------
    >>> from tapegrad.ops.linalg import dot
    >>> dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> dot(x, x).backward()
    >>> x.grad
    tensor([2., 4.])
    """
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return multiply(a, b)
    ib = 0 if len(sb) == 1 else -2
    if sa[-1] != sb[ib]:
        raise _not_aligned(sa, sb, -1, ib)
    if len(sb) == 1 or (len(sa) <= 2 and len(sb) == 2):
        return matmul(a, b)
    return tensordot(a, b, axes=([len(sa) - 1], [len(sb) - 2]))


def inner(a: Any, b: Any) -> Any:
    """Sum of products over the last axes of ``a`` and ``b`` (NumPy's ``inner``).

    Examples
    --------
    >>> from tapegrad.ops.linalg import inner
    >>> inner(np.eye(2), np.array([3.0, 4.0]))
    array([3., 4.])
    """
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        raise _not_aligned(sa, sb, -1, -1)
    if len(sa) == 1 and len(sb) == 1:
        return matmul(a, b)
    return tensordot(a, b, axes=([len(sa) - 1], [len(sb) - 1]))


def vdot(a: Any, b: Any) -> Any:
    """The dot product of ``a`` and ``b`` flattened (NumPy's ``vdot``, real operands).

    Examples
    --------
    >>> from tapegrad.ops.linalg import vdot
    >>> vdot(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array(5.)
    """
    a, b = _arr(a), _arr(b)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        raise NotImplementedError("vdot: complex operands are not supported")
    sa, sb = _shape(a), _shape(b)
    na, nb = int(np.prod(sa, dtype=np.int64)), int(np.prod(sb, dtype=np.int64))
    if na != nb:
        raise ValueError(f"vdot: operands of shapes {sa} and {sb} differ in size ({na} != {nb})")
    fa = a if len(sa) == 1 else reshape(a, (na,))
    fb = b if len(sb) == 1 else reshape(b, (nb,))
    return matmul(fa, fb)


def outer(a: Any, b: Any) -> Any:
    """``out[i, j] = a.ravel()[i] * b.ravel()[j]`` (NumPy's ``outer``).

    Examples
    --------
    >>> from tapegrad.ops.linalg import outer
    >>> outer(np.array([1.0, 2.0]), np.array([1.0, 10.0, 100.0]))
    array([[  1.,  10., 100.],
           [  2.,  20., 200.]])
    """
    a, b = _arr(a), _arr(b)
    na = int(np.prod(_shape(a), dtype=np.int64))
    nb = int(np.prod(_shape(b), dtype=np.int64))
    return multiply(reshape(a, (na, 1)), reshape(b, (1, nb)))


def kron(a: Any, b: Any) -> Any:
    """The Kronecker product: blocks ``a[i, j, ...] * b`` (NumPy's ``kron``).

    Examples
    --------
    >>> from tapegrad.ops.linalg import kron
    >>> kron(np.eye(2), np.array([[1.0, 2.0]]))
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]])
    """
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + sa
    sb = (1,) * (nd - len(sb)) + sb
    # a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...), then merge each pair of axes.
    ai = tuple(n for d in sa for n in (d, 1))
    bi = tuple(n for d in sb for n in (1, d))
    prod = multiply(reshape(a, ai), reshape(b, bi))
    return reshape(prod, tuple(x * y for x, y in zip(sa, sb)))


# ---------------------------------------------------------------------- einsum

_LETTERS = string.ascii_letters


def _sublist_labels(sub: Any) -> str:
    """An ``einsum`` sublist (ints and ``...``) as a subscripts string."""
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        elif isinstance(s, (int, np.integer)) and 0 <= int(s) < 52:
            k = int(s)
            out.append(chr(ord("A") + k) if k < 26 else chr(ord("a") + k - 26))
        else:
            raise ValueError(f"subscript in a sublist must be an int in [0, 52) or ..., got {s!r}")
    return "".join(out)


def _parse_operands(operands: Sequence[Any]) -> tuple[list[str], str | None, list[Any]]:
    """``(input subscripts, output subscripts or None, operands)`` from either calling form."""
    if not operands:
        raise ValueError("No input operands")
    if isinstance(operands[0], str):
        subs = "".join(operands[0].split())
        ops = list(operands[1:])
        if "->" in subs:
            lhs, out = subs.split("->", 1)
            if "->" in out:
                raise ValueError("einstein sum subscript string contains more than one '->'")
        else:
            lhs, out = subs, None
        ins = lhs.split(",")
        if len(ins) != len(ops):
            raise ValueError(
                f"more operands ({len(ops)}) than subscripts ({len(ins)}) given in einstein sum"
                if len(ops) > len(ins)
                else f"fewer operands ({len(ops)}) than subscripts ({len(ins)}) given in "
                "einstein sum"
            )
        return ins, out, ops
    items = list(operands)
    out_sub = items.pop() if len(items) % 2 == 1 else None
    ops = items[0::2]
    ins = [_sublist_labels(s) for s in items[1::2]]
    return ins, (None if out_sub is None else _sublist_labels(out_sub)), ops


def _normalize_subscripts(
    ins: list[str], out: str | None, shapes: list[tuple[int, ...]]
) -> tuple[list[str], str]:
    """Subscripts with the ellipsis spelled out in unused letters, and the output made
    explicit (NumPy's implicit rule: the ellipsis, then each label used once, sorted)."""
    for spec in ins + ([out] if out is not None else []):
        rest = spec.replace("...", "")
        for ch in rest:
            if ch not in _LETTERS:
                raise ValueError(
                    f"invalid subscript '{ch}' in einstein sum subscripts string, subscripts "
                    "must be letters"
                )
        if spec.count("...") > 1 or "." in rest:
            raise ValueError(
                "einstein sum subscripts string contains a '.' that is not part "
                "of an ellipsis ('...')"
            )
    used = {ch for spec in ins + ([out] if out else []) for ch in spec if ch != "."}
    widths = []
    for k, (spec, shape) in enumerate(zip(ins, shapes)):
        labels = len(spec.replace("...", ""))
        if "..." in spec:
            w = len(shape) - labels
            if w < 0:
                raise ValueError(
                    f"operand {k} has {len(shape)} dimensions (shape {shape}) but subscripts "
                    f"'{spec}' name {labels}"
                )
            widths.append(w)
        else:
            if labels != len(shape):
                raise ValueError(
                    f"operand {k} has {len(shape)} dimensions (shape {shape}) but einstein sum "
                    f"subscripts '{spec}' name {labels}"
                )
            widths.append(0)
    width = max(widths, default=0)
    free = [ch for ch in _LETTERS if ch not in used]
    if width > len(free):
        raise ValueError("einsum: too many dimensions for the letters left to the ellipsis")
    ell = "".join(free[:width])
    full = [
        spec.replace("...", ell[width - w :]) if "..." in spec else spec
        for spec, w in zip(ins, widths)
    ]
    if out is None:
        counts: dict[str, int] = {}
        for spec in full:
            for ch in spec:
                counts[ch] = counts.get(ch, 0) + 1
        out_full = ell + "".join(sorted(ch for ch, c in counts.items() if c == 1 and ch not in ell))
    else:
        if "..." in out:
            out_full = out.replace("...", ell)
        elif width:
            raise ValueError(
                "output has more dimensions than subscripts given in einstein sum, but no '...' "
                "ellipsis provided to broadcast the extra dimensions."
            )
        else:
            out_full = out
        seen = set()
        present = set("".join(full))
        for ch in out_full:
            if ch in seen:
                raise ValueError(
                    f"einstein sum subscripts string includes output subscript '{ch}' multiple "
                    "times"
                )
            if ch not in present:
                raise ValueError(
                    f"einstein sum subscripts string included output subscript '{ch}' which "
                    "never appeared in an input"
                )
            seen.add(ch)
    # Sizes agree per label, up to broadcasting of size 1.
    sizes: dict[str, int] = {}
    for spec, shape in zip(full, shapes):
        mine: dict[str, int] = {}
        for ch, n in zip(spec, shape):
            if ch in mine and mine[ch] != n:
                raise ValueError(
                    f"dimensions in single operand for collapsing index '{ch}' don't match "
                    f"({mine[ch]} != {n})"
                )
            mine[ch] = n
            m = sizes.get(ch, 1)
            if n != 1 and m != 1 and n != m:
                raise ValueError(
                    "operands could not be broadcast together with shapes "
                    f"{' '.join(str(s) for s in shapes)}: subscript '{ch}' has sizes {m} and {n}"
                )
            sizes[ch] = max(m, n)
    return full, out_full


def _take_diagonals(x: Any, labels: str) -> tuple[Any, str]:
    """The diagonal over each label repeated within one operand (``ii -> i``)."""
    while len(set(labels)) != len(labels):
        ch = next(c for c in labels if labels.count(c) > 1)
        pos = [i for i, c in enumerate(labels) if c == ch]
        rest = [i for i in range(len(labels)) if i not in pos]
        order = pos + rest
        if order != list(range(len(labels))):
            x = transpose(x, tuple(order))
        idx = _xp(x).arange(_shape(x)[0])
        x = getitem(x, (idx,) * len(pos))
        labels = ch + "".join(labels[i] for i in rest)
    return x, labels


@functools.lru_cache(maxsize=512)
def _split_spec(spec: str) -> tuple[tuple[str, ...], str]:
    lhs, out = spec.split("->")
    return tuple(lhs.split(",")), out


def _einsum_fwd(xp: Any, *ops: Any, spec: str, shapes: Any, optimize: Any) -> Any:
    return xp.einsum(spec, *ops, optimize=optimize)


def _einsum_vjp(k: int) -> Any:
    """The VJP rule of operand ``k``: the cotangent contracted with the other operands."""

    def rule(g: Any, *saved: Any, spec: str, shapes: Any, optimize: Any) -> Any:
        args = saved[:-1]
        ins, out = _split_spec(spec)
        mine = ins[k]
        others = [j for j in range(len(ins)) if j != k]
        avail = set(out).union(*(ins[j] for j in others))
        target = "".join(c for c in mine if c in avail)
        sub = ",".join([out] + [ins[j] for j in others]) + "->" + target
        gk = einsum(sub, g, *[args[j] for j in others], optimize=optimize)
        shape = shapes[k]
        gshape = _shape(gk)
        # Size-1 axes of this operand that broadcast against the others: sum them back.
        summed = tuple(
            i for i, c in enumerate(target) if shape[mine.index(c)] == 1 and gshape[i] != 1
        )
        if summed:
            gk = _sum(gk, axis=summed, keepdims=True)
        if target != mine:
            # Labels of this operand only, summed away by the forward: broadcast back.
            gshape = _shape(gk)
            kept = tuple(gshape[target.index(c)] if c in avail else 1 for c in mine)
            gk = broadcast_to(reshape(gk, kept), shape)
        return gk

    return rule


def _einsum_jvp(t: Any, *saved: Any, spec: str, shapes: Any, optimize: Any) -> Any:
    args = saved[:-1]
    acc = None
    for k, tk in enumerate(t):
        if tk is None:
            continue
        ops = list(args)
        ops[k] = tk
        acc = _add(acc, einsum(spec, *ops, optimize=optimize))
    return acc


def _einsum_name(p: Any) -> str:
    ins, out = _split_spec(p["spec"])
    if len(ins) > 1:
        return "ViewBackward0"
    return "PermuteBackward0" if len(out) == len(ins[0]) else "SumBackward1"


def _einsum_primitive(n: int) -> Primitive:
    """The ``einsum`` primitive of ``n`` (1 or 2) operands: the VJP of each reads the other."""
    return Primitive(
        "einsum",
        _einsum_fwd,
        tuple(_einsum_vjp(k) for k in range(n)),
        _einsum_jvp,
        uses=tuple(tuple(j for j in range(n) if j != k) for k in range(n)),
        grad_fn=_einsum_name,
    )


EINSUM1 = _einsum_primitive(1)
EINSUM2 = _einsum_primitive(2)


def _contraction_path(
    specs: list[str], out: str, shapes: list[tuple[int, ...]], optimize: Any
) -> list[tuple[int, ...]]:
    """Steps of positions to contract in turn, NumPy's ``einsum_path`` form: each step takes
    the operands at its positions off the list and appends their contraction."""
    if optimize is False or optimize is None:
        return [(0, 1)] * (len(specs) - 1)
    dummies = [np.broadcast_to(np.empty((), dtype=np.float64), s) for s in shapes]
    how = "greedy" if optimize is True else optimize
    path = np.einsum_path(",".join(specs) + "->" + out, *dummies, optimize=how)[0]
    return [tuple(int(i) for i in step) for step in path[1:]]


def _keep(labels: str, needed: set[str]) -> str:
    return "".join(dict.fromkeys(c for c in labels if c in needed))


def _einsum_pairwise(specs: list[str], out: str, ops: list[Any], optimize: Any) -> Any:
    """Three or more operands as a sequence of one- and two-operand contractions."""
    specs = list(specs)
    ops = list(ops)
    for step in _contraction_path(specs, out, [_shape(o) for o in ops], optimize):
        picked = sorted(set(step))
        group = [(specs[k], ops[k]) for k in picked]
        for k in reversed(picked):
            del specs[k], ops[k]
        acc_spec, acc = group[0]
        if len(group) == 1:
            keep = _keep(acc_spec, set(out).union(*specs))
            if keep != acc_spec:
                acc, acc_spec = _einsum_bound([acc_spec], keep, [acc], optimize), keep
        for n, (spec, op) in enumerate(group[1:], start=2):
            later = specs + [s for s, _ in group[n:]]
            keep = _keep(acc_spec + spec, set(out).union(*later))
            acc, acc_spec = _einsum_bound([acc_spec, spec], keep, [acc, op], optimize), keep
        specs.append(acc_spec)
        ops.append(acc)
    (last,) = specs
    if last == out:
        return ops[0]
    return _einsum_bound([last], out, ops, optimize)


def _einsum_bound(specs: list[str], out: str, ops: list[Any], optimize: Any) -> Any:
    """Bind the one- or two-operand primitive to normalised subscripts."""
    params = {
        "spec": ",".join(specs) + "->" + out,
        "shapes": tuple(_shape(o) for o in ops),
        "optimize": optimize,
    }
    return bind(EINSUM1 if len(ops) == 1 else EINSUM2, ops, params)


def einsum(*operands: Any, optimize: Any = False) -> Any:
    """Einstein summation, with NumPy's subscripts (implicit or explicit output, ellipsis,
    broadcasting, repeated labels for diagonals) and NumPy's sublist form.

    Parameters
    ----------
    *operands : str and arrays, or arrays and sublists
        ``einsum("ij,jk->ik", a, b)`` or ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.
    optimize : bool or str, keyword-only
        Passed to the array module's ``einsum`` (contraction order; values are the same).

    Returns
    -------
    array or Tensor

    Notes
    -----
    A label repeated within one operand takes that operand's diagonal first (recorded as
    indexing), so the gradient of operand ``k`` is always the ``einsum`` of the cotangent with
    the other operands, broadcast over labels only ``k`` has. Three or more operands are
    contracted two at a time, in order, or along NumPy's ``einsum_path`` when ``optimize``
    is set.

    Examples
    --------
    >>> from tapegrad.ops.linalg import einsum
    >>> a = np.arange(4.0).reshape(2, 2)
    >>> einsum("ij,jk->ik", a, a)
    array([[ 2.,  3.],
           [ 6., 11.]])
    >>> einsum("ii", a)
    array(3.)
    >>> x = tg.tensor(a, requires_grad=True)
    >>> einsum("...ii->...", x).backward()
    >>> x.grad
    tensor([[1., 0.],
            [0., 1.]], dtype=tapegrad.float64)
    """
    ins, out, ops = _parse_operands(operands)
    ops = [_arr(o) for o in ops]
    full, out_full = _normalize_subscripts(ins, out, [_shape(o) for o in ops])
    for k, labels in enumerate(full):
        if len(set(labels)) != len(labels):
            ops[k], full[k] = _take_diagonals(ops[k], labels)
    if len(ops) > 2:
        return _einsum_pairwise(full, out_full, ops, optimize)
    return _einsum_bound(full, out_full, ops, optimize)


# ---------------------------------------------------------------------- inv, solve


def _inv_fwd(xp: Any, a: Any) -> Any:
    return _lapack(xp, xp.linalg.inv, a)


INV = Primitive(
    "inv",
    _inv_fwd,
    (lambda g, a, out: negative(matmul(swap_last(out), matmul(g, swap_last(out)))),),
    lambda t, a, out: negative(matmul(out, matmul(t[0], out))),
    uses=((OUT,),),
    grad_fn="LinalgInvExBackward0",
)


def inv(a: Any) -> Any:
    """The inverse of a square matrix, or of each matrix in a stack ``(..., M, M)``.

    Raises ``numpy.linalg.LinAlgError`` for a singular matrix. The gradient is
    ``-inv(a).T @ g @ inv(a).T``.

    Examples
    --------
    >>> from tapegrad.ops.linalg import inv
    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    >>> x = tg.tensor([[2.0]], requires_grad=True)
    >>> inv(x).sum().backward()
    >>> x.grad
    tensor([[-0.2500]])
    """
    a = _arr(a)
    _check_square("inv", _shape(a))
    return bind(INV, (a,))


def _solve_fwd(xp: Any, a: Any, b: Any, vec: bool, sa: Any, sb: Any) -> Any:
    bm = b[..., None] if vec else b
    if xp is not np:
        # NumPy broadcasts the stacks; other array modules may want them equal.
        batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
        a = xp.broadcast_to(a, batch + a.shape[-2:])
        bm = xp.broadcast_to(bm, batch + bm.shape[-2:])
    x = _lapack(xp, xp.linalg.solve, a, bm)
    return x[..., 0] if vec else x


def _solve_m(a: Any, b: Any) -> Any:
    """``solve`` with ``b`` a (stack of) matrices, whatever its number of dimensions."""
    return bind(SOLVE, (a, b), {"vec": False, "sa": _shape(a), "sb": _shape(b)})


def _solve_grad_b(g: Any, a: Any, b: Any, out: Any, vec: bool, sa: Any, sb: Any) -> Any:
    gb = _solve_m(swap_last(a), _col(g) if vec else g)
    if vec:
        gb = squeeze(gb, -1)
    return unbroadcast(gb, sb)


def _solve_grad_a(g: Any, a: Any, b: Any, out: Any, vec: bool, sa: Any, sb: Any) -> Any:
    gb = _solve_m(swap_last(a), _col(g) if vec else g)
    x = _col(out) if vec else out
    return unbroadcast(negative(matmul(gb, swap_last(x))), sa)


def _solve_jvp(t: Any, a: Any, b: Any, out: Any, vec: bool, sa: Any, sb: Any) -> Any:
    ta, tb = t
    rhs = None
    if tb is not None:
        rhs = _col(tb) if vec else tb
    if ta is not None:
        rhs = _add(rhs, negative(matmul(ta, _col(out) if vec else out)))
    if rhs is None:
        return None
    x = _solve_m(a, rhs)
    return squeeze(x, -1) if vec else x


SOLVE = Primitive(
    "solve",
    _solve_fwd,
    (_solve_grad_a, _solve_grad_b),
    _solve_jvp,
    uses=((0, OUT), (0,)),
    grad_fn="LinalgSolveExBackward0",
)


def solve(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b`` for ``x`` (NumPy 2's rules).

    Parameters
    ----------
    a : (..., M, M) array_like or Tensor
    b : (M,) or (..., M, K) array_like or Tensor
        A 1-D ``b`` is one vector (for every matrix of ``a``); otherwise ``b`` is a stack of
        matrices whose batch axes broadcast against those of ``a``.

    Returns
    -------
    array or Tensor
        ``x``, shaped ``(..., M)`` or ``(..., M, K)``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a matrix of ``a`` is singular or not square.
    ValueError
        If the shapes do not match (the message names both).

    Examples
    --------
    >>> from tapegrad.ops.linalg import solve
    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    _check_square("solve", sa)
    if not sb:
        raise ValueError(f"solve: b must have at least one dimension (shapes {sa} and {sb})")
    vec = len(sb) == 1
    m = sb[0] if vec else sb[-2]
    if m != sa[-1]:
        raise ValueError(
            f"solve: shapes {sa} and {sb} do not match: a has {sa[-1]} rows, b has {m}"
        )
    if not vec:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ValueError(
                f"solve: the stacks of shapes {sa} and {sb} do not broadcast together"
            ) from None
    return bind(SOLVE, (a, b), {"vec": vec, "sa": sa, "sb": sb})


# ---------------------------------------------------------------------- det, slogdet


def _expand2(x: Any) -> Any:
    """``(...)`` to ``(..., 1, 1)``."""
    return expand_dims(x, (-2, -1))


def _cofactor_svd(a: Any) -> Any:
    """The cofactor matrix ``det(a) inv(a).T``, also for singular ``a``.

    With ``a = U diag(s) Vh`` it is ``det(U) det(Vh) U diag(prod_{j != i} s_j) Vh``.
    """
    u, s, vh = svd(a, full_matrices=False)
    xp = _xp(u)
    sign = xp.sign(xp.linalg.det(_raw(u)) * xp.linalg.det(_raw(vh))).astype(s.dtype)
    n = s.shape[-1]
    others = None
    for j in range(n):
        mask = np.arange(n) == j
        factor = where(xp.asarray(mask), 1, getitem(s, (Ellipsis, slice(j, j + 1))))
        others = factor if others is None else others * factor
    scaled = others * xp.asarray(sign)[..., None]
    return matmul(u * _row(scaled), vh)


def _cofactor(a: Any, d: Any) -> Any:
    """``d * inv(a).T`` with ``d = det(a)``; from an SVD where ``a`` is singular."""
    try:
        return _expand2(d) * swap_last(inv(a))
    except LinAlgError:
        return _cofactor_svd(a)


def _det_fwd(xp: Any, a: Any) -> Any:
    return xp.linalg.det(a)


DET = Primitive(
    "det",
    _det_fwd,
    (lambda g, a, out: _expand2(g) * _cofactor(a, out),),
    lambda t, a, out: _sum(_cofactor(a, out) * t[0], axis=(-2, -1)),
    uses=((0, OUT),),
    grad_fn="LinalgDetBackward0",
)


def det(a: Any) -> Any:
    """The determinant of a square matrix, or of each in a stack ``(..., M, M)``.

    The gradient is the cofactor matrix ``det(a) * inv(a).T``; at a singular matrix, where
    the inverse does not exist, it is computed from an SVD, so it stays the derivative there.

    Examples
    --------
    >>> from tapegrad.ops.linalg import det
    >>> x = tg.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    >>> d = det(x)
    >>> d.backward()
    >>> x.grad
    tensor([[ 4., -2.],
            [-2.,  1.]])
    """
    a = _arr(a)
    _check_square("det", _shape(a))
    return bind(DET, (a,))


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` of :func:`slogdet`."""

    sign: Any
    logabsdet: Any


def _inv_t_over_det(a: Any, out: Any) -> Any:
    """``inv(a).T``: the gradient of ``log|det a|`` (``inf``/``nan`` where ``a`` is singular)."""
    try:
        return swap_last(inv(a))
    except LinAlgError:
        sign, logabs = out
        with _quiet():
            return _cofactor_svd(a) / _expand2(sign * exp(logabs))


def _slogdet_fwd(xp: Any, a: Any) -> Any:
    sign, logabs = xp.linalg.slogdet(a)
    return sign, logabs


def _slogdet_vjp(g: Any, a: Any, out: Any) -> Any:
    gl = g[1]
    if gl is None:
        return None  # the sign is piecewise constant
    return _expand2(gl) * _inv_t_over_det(a, out)


SLOGDET = Primitive(
    "slogdet",
    _slogdet_fwd,
    (_slogdet_vjp,),
    lambda t, a, out: (None, _sum(_inv_t_over_det(a, out) * t[0], axis=(-2, -1))),
    uses=((0, OUT),),
    grad_fn="LinalgSlogdetBackward0",
    nout=2,
)


def slogdet(a: Any) -> SlogdetResult:
    """Sign and natural log of the absolute value of the determinant.

    Returns
    -------
    SlogdetResult
        ``(sign, logabsdet)``; the gradient flows through ``logabsdet`` only
        (``inv(a).T`` times its cotangent).

    Examples
    --------
    >>> from tapegrad.ops.linalg import slogdet
    >>> sign, logabs = slogdet(np.array([[-2.0, 0.0], [0.0, 0.5]]))
    >>> float(sign), float(logabs)
    (-1.0, 0.0)
    """
    a = _arr(a)
    _check_square("slogdet", _shape(a))
    return SlogdetResult(*bind(SLOGDET, (a,)))


# ---------------------------------------------------------------------- cholesky


def _phi(x: Any) -> Any:
    """The lower triangle of ``x`` with its diagonal halved."""
    n = x.shape[-1]
    return x * (_tri(n, x) - 0.5 * _eye(n, x))


def _sym(x: Any) -> Any:
    return (x + swap_last(x)) * 0.5


def _cholesky_fwd(xp: Any, a: Any, upper: bool) -> Any:
    low = _lapack(xp, xp.linalg.cholesky, a)
    return xp.ascontiguousarray(xp.swapaxes(low, -1, -2)) if upper else low


def _cholesky_vjp(g: Any, a: Any, out: Any, upper: bool) -> Any:
    low = swap_last(out) if upper else out
    gl = swap_last(g) if upper else g
    li = inv(low)
    s = matmul(swap_last(li), matmul(_phi(matmul(swap_last(low), gl)), li))
    return _sym(s)


def _cholesky_jvp(t: Any, a: Any, out: Any, upper: bool) -> Any:
    low = swap_last(out) if upper else out
    li = inv(low)
    dl = matmul(low, _phi(matmul(li, matmul(_sym(t[0]), swap_last(li)))))
    return swap_last(dl) if upper else dl


CHOLESKY = Primitive(
    "cholesky",
    _cholesky_fwd,
    (_cholesky_vjp,),
    _cholesky_jvp,
    uses=((OUT,),),
    grad_fn="LinalgCholeskyExBackward0",
)


def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """The Cholesky factor ``L`` (lower, ``a = L @ L.T``) of a symmetric positive-definite
    matrix, or of each in a stack; ``upper=True`` gives ``L.T``.

    Only the lower triangle of ``a`` is read. The gradient is the symmetric one
    ``sym(L^-T Φ(L^T gL) L^-1)`` (``Φ``: lower triangle, diagonal halved), as PyTorch's.

    Raises ``numpy.linalg.LinAlgError`` if a matrix is not positive definite.

    Examples
    --------
    >>> from tapegrad.ops.linalg import cholesky
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    array([[2., 0.],
           [1., 1.]])
    """
    a = _arr(a)
    _check_square("cholesky", _shape(a))
    return bind(CHOLESKY, (a,), {"upper": bool(upper)})


# ---------------------------------------------------------------------- qr


class QRResult(NamedTuple):
    """``(Q, R)`` of :func:`qr`."""

    Q: Any
    R: Any


def _qr_fwd(xp: Any, a: Any) -> Any:
    q, r = xp.linalg.qr(a, mode="reduced")
    return q, r


def _copyltu(m: Any) -> Any:
    """The symmetric matrix whose lower triangle is that of ``m``."""
    n = m.shape[-1]
    low = m * _tri(n, m, -1)
    return low + swap_last(low) + m * _eye(n, m)


def _qr_vjp_tall(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """The VJP for ``m >= n``: ``(gQ + Q copyltu(M)) R^-T`` with ``M = R gR^T - gQ^T Q``."""
    m_ = None
    if gr is not None:
        m_ = matmul(r, swap_last(gr))
    if gq is not None:
        m_ = _add(m_, negative(matmul(swap_last(gq), q)))
    b = _add(gq, matmul(q, _copyltu(m_)))
    return swap_last(_solve_m(r, swap_last(b)))


def _qr_vjp(g: Any, a: Any, out: Any) -> Any:
    q, r = out
    gq, gr = g
    m, n = q.shape[-2], r.shape[-1]
    if m >= n:
        return _qr_vjp_tall(q, r, gq, gr)
    # Wide: a = [X | Y] with X = Q Rx square, and R = [Rx | V], V = Q^T Y.
    rx = getitem(r, (Ellipsis, slice(None, m)))
    v = getitem(r, (Ellipsis, slice(m, None)))
    gu = gv = None
    if gr is not None:
        gu = getitem(gr, (Ellipsis, slice(None, m)))
        gv = getitem(gr, (Ellipsis, slice(m, None)))
    gq_total = gq
    if gv is not None:
        gq_total = _add(gq, matmul(matmul(q, v), swap_last(gv)))
    gx = _qr_vjp_tall(q, rx, gq_total, gu)
    ga = matmul(gx, _select(m, n, 0, gx))
    if gv is not None:
        ga = ga + matmul(matmul(q, gv), _select(n - m, n, m, gx))
    return ga


def _qr_jvp_tall(q: Any, r: Any, dx: Any) -> tuple[Any, Any]:
    dx_rinv = swap_last(_solve_m(swap_last(r), swap_last(dx)))
    qt_dx_rinv = matmul(swap_last(q), dx_rinv)
    low = qt_dx_rinv * _tri(qt_dx_rinv.shape[-1], qt_dx_rinv, -1)
    do = low - swap_last(low)
    dq = matmul(q, do - qt_dx_rinv) + dx_rinv
    dr = matmul(qt_dx_rinv - do, r)
    return dq, dr


def _qr_jvp(t: Any, a: Any, out: Any) -> Any:
    q, r = out
    m, n = q.shape[-2], r.shape[-1]
    if m >= n:
        return _qr_jvp_tall(q, r, t[0])
    rx = getitem(r, (Ellipsis, slice(None, m)))
    v = getitem(r, (Ellipsis, slice(m, None)))
    dq, drx = _qr_jvp_tall(q, rx, getitem(t[0], (Ellipsis, slice(None, m))))
    dy = getitem(t[0], (Ellipsis, slice(m, None)))
    dv = matmul(swap_last(q), dy - matmul(dq, v))
    dr = matmul(drx, _select(m, n, 0, drx)) + matmul(dv, _select(n - m, n, m, drx))
    return dq, dr


QR = Primitive(
    "qr",
    _qr_fwd,
    (_qr_vjp,),
    _qr_jvp,
    uses=((OUT,),),
    grad_fn="LinalgQrBackward0",
    nout=2,
)


def qr(a: Any, mode: str = "reduced") -> Any:
    """QR factorisation ``a = Q @ R`` of a matrix or a stack ``(..., M, N)``.

    Parameters
    ----------
    a : (..., M, N) array_like or Tensor
    mode : {"reduced", "complete", "r"}
        ``"reduced"``: ``Q`` is ``(..., M, K)``, ``R`` is ``(..., K, N)`` with
        ``K = min(M, N)``; ``"complete"`` is the same when ``M <= N`` (the only case it
        supports); ``"r"`` returns ``R`` alone.

    Returns
    -------
    QRResult or array or Tensor

    Examples
    --------
    >>> from tapegrad.ops.linalg import qr
    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> np.allclose(q @ r, [[3.0, 1.0], [4.0, 2.0]])
    True
    >>> np.round(np.abs(r), 6)
    array([[5. , 2.2],
           [0. , 0.4]])
    """
    a = _arr(a)
    shape = _shape(a)
    _check_matrix(shape)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unrecognized mode '{mode}'; qr supports 'reduced', 'complete', 'r'")
    if mode == "complete" and shape[-2] > shape[-1]:
        raise NotImplementedError(
            "qr: mode='complete' of a tall matrix is not supported (its extra columns of Q "
            "are not determined by a); use mode='reduced'"
        )
    q, r = bind(QR, (a,))
    return r if mode == "r" else QRResult(q, r)


# ---------------------------------------------------------------------- eigh


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)`` of :func:`eigh`."""

    eigenvalues: Any
    eigenvectors: Any


def _eigh_fwd(xp: Any, a: Any, UPLO: str) -> Any:
    w, v = xp.linalg.eigh(a, UPLO=UPLO)
    return w, v


def _eigh_vjp(g: Any, a: Any, out: Any, UPLO: str) -> Any:
    w, v = out
    gw, gv = g
    inner_ = None if gw is None else _diag_embed(gw)
    if gv is not None:
        vtg = matmul(swap_last(v), gv)
        with _quiet():
            inner_ = _add(inner_, (vtg - swap_last(vtg)) * 0.5 * _pair_inverse(w))
    return matmul(v, matmul(inner_, swap_last(v)))


def _eigh_jvp(t: Any, a: Any, out: Any, UPLO: str) -> Any:
    w, v = out
    p = matmul(swap_last(v), matmul(_sym(t[0]), v))
    with _quiet():
        dv = matmul(v, p * _pair_inverse(w))
    return _diag_part(p), dv


EIGH = Primitive(
    "eigh",
    _eigh_fwd,
    (_eigh_vjp,),
    _eigh_jvp,
    uses=((OUT,),),
    grad_fn="LinalgEighBackward0",
    nout=2,
)


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, or of each in a stack.

    Only the triangle ``UPLO`` (``"L"`` or ``"U"``) of ``a`` is read. The gradient is the
    symmetric ``V (diag(gw) + F ∘ skew(V^T gV)) V^T`` with ``F_ij = 1 / (w_j - w_i)``: where
    eigenvalues repeat and the eigenvectors receive a cotangent it holds ``inf``/``nan``
    (the eigenvectors are not determined there); through the eigenvalues alone it is always
    defined.

    Examples
    --------
    >>> from tapegrad.ops.linalg import eigh
    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    >>> x = tg.tensor([[2.0, 1.0], [1.0, 2.0]], requires_grad=True)
    >>> eigh(x).eigenvalues[1].backward()
    >>> x.grad
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    a = _arr(a)
    _check_square("eigh", _shape(a))
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return EighResult(*bind(EIGH, (a,), {"UPLO": UPLO}))


# ---------------------------------------------------------------------- svd


class SVDResult(NamedTuple):
    """``(U, S, Vh)`` of :func:`svd`."""

    U: Any
    S: Any
    Vh: Any


def _svd_fwd(xp: Any, a: Any, full_matrices: bool) -> Any:
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


def _reduced_factors(out: Any, g: Any) -> tuple[Any, ...]:
    """``U``, ``Vh`` and their cotangents cut to the ``K = min(M, N)`` singular vectors.

    With ``full_matrices=True`` the extra vectors of a non-square matrix are an arbitrary
    orthonormal completion: a cotangent on them has no gradient, so it must be zero.
    """
    u, s, vh = out
    gu, gs, gvh = g
    k = s.shape[-1]
    if u.shape[-1] != k:
        extra = None if gu is None else getitem(gu, (Ellipsis, slice(k, None)))
        if extra is not None and _xp(extra).any(_raw(extra)):
            raise NotImplementedError(
                "svd: the gradient through the extra columns of U of full_matrices=True is not "
                "defined; use full_matrices=False"
            )
        u = getitem(u, (Ellipsis, slice(None, k)))
        gu = None if gu is None else getitem(gu, (Ellipsis, slice(None, k)))
    if vh.shape[-2] != k:
        extra = None if gvh is None else getitem(gvh, (Ellipsis, slice(k, None), slice(None)))
        if extra is not None and _xp(extra).any(_raw(extra)):
            raise NotImplementedError(
                "svd: the gradient through the extra rows of Vh of full_matrices=True is not "
                "defined; use full_matrices=False"
            )
        vh = getitem(vh, (Ellipsis, slice(None, k), slice(None)))
        gvh = None if gvh is None else getitem(gvh, (Ellipsis, slice(None, k), slice(None)))
    return u, s, vh, gu, gs, gvh


def _svd_vjp(g: Any, a: Any, out: Any, full_matrices: bool) -> Any:
    u, s, vh, gu, gs, gvh = _reduced_factors(out, g)
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    v = swap_last(vh)
    inner_ = None if gs is None else _diag_embed(gs)
    with _quiet():
        f = _pair_inverse(s * s) if (gu is not None or gvh is not None) else None
        ga = None
        if gu is not None:
            utg = matmul(swap_last(u), gu)
            inner_ = _add(inner_, (utg - swap_last(utg)) * f * _row(s))
            if m > k:
                ga = matmul((gu - matmul(u, utg)) / _row(s), vh)
        if gvh is not None:
            gv = swap_last(gvh)
            vtg = matmul(vh, gv)
            inner_ = _add(inner_, _col(s) * ((vtg - swap_last(vtg)) * f))
            if n > k:
                ga = _add(ga, matmul(u, swap_last((gv - matmul(v, vtg)) / _row(s))))
    core = matmul(u, matmul(inner_, vh))
    return _add(core, ga)


def _svd_jvp(t: Any, a: Any, out: Any, full_matrices: bool) -> Any:
    u, s, vh = out
    k = s.shape[-1]
    m, n = u.shape[-2], vh.shape[-1]
    full_u, full_v = u.shape[-1] != k, vh.shape[-2] != k
    if full_u:
        u = getitem(u, (Ellipsis, slice(None, k)))
    if full_v:
        vh = getitem(vh, (Ellipsis, slice(None, k), slice(None)))
    da = t[0]
    v = swap_last(vh)
    dav = matmul(da, v)
    dp = matmul(swap_last(u), dav)
    ds = _diag_part(dp)
    with _quiet():
        f = _pair_inverse(s * s)
        dpt = swap_last(dp)
        du = matmul(u, f * (dp * _row(s) + _col(s) * dpt))
        dv = matmul(v, f * (_col(s) * dp + dpt * _row(s)))
        if m > k:
            du = du + (dav - matmul(u, dp)) / _row(s)
        if n > k:
            dv = dv + (matmul(swap_last(da), u) - matmul(v, dpt)) / _row(s)
    dvh = swap_last(dv)
    # The extra vectors of full_matrices=True are an arbitrary completion: no tangent.
    if full_u:
        du = matmul(du, _select(k, m, 0, du)) + _undefined_columns(m, m, k, du)
    if full_v:
        dvh = matmul(_select(n, k, 0, dvh), dvh) + swap_last(_undefined_columns(n, n, k, dvh))
    return du, ds, dvh


def _undefined_columns(rows: int, cols: int, start: int, like: Any) -> Any:
    """Zeros with NaN in columns ``start`` and after: tangents that are not defined."""
    xp = _xp(like)
    z = xp.zeros((rows, cols), dtype=like.dtype)
    z[:, start:] = np.nan
    return z


SVD = Primitive(
    "svd",
    _svd_fwd,
    (_svd_vjp,),
    _svd_jvp,
    uses=((OUT,),),
    grad_fn="LinalgSvdBackward0",
    nout=3,
)


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` of a matrix or a stack.

    Parameters
    ----------
    a : (..., M, N) array_like or Tensor
    full_matrices : bool
        ``True`` (NumPy's default): ``U`` is ``(..., M, M)`` and ``Vh`` ``(..., N, N)``;
        ``False``: ``(..., M, K)`` and ``(..., K, N)`` with ``K = min(M, N)``. Gradients
        through the extra vectors of the full form are not defined.
    compute_uv : bool
        ``False`` returns ``S`` alone.
    hermitian : bool
        Accepted for NumPy's signature; the general algorithm is used.

    Returns
    -------
    SVDResult or array or Tensor
        Singular values in descending order.

    Notes
    -----
    The gradient through ``U`` and ``Vh`` needs distinct, non-zero singular values (it holds
    ``inf``/``nan`` otherwise); through ``S`` alone it is ``U diag(gS) Vh`` and always defined.

    Examples
    --------
    >>> from tapegrad.ops.linalg import svd
    >>> svd(np.array([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False)
    array([4., 3.])
    >>> x = tg.tensor([[3.0, 0.0], [0.0, -4.0]], requires_grad=True)
    >>> svd(x, full_matrices=False).S.sum().backward()
    >>> x.grad
    tensor([[ 1.,  0.],
            [ 0., -1.]])
    """
    a = _arr(a)
    shape = _shape(a)
    _check_matrix(shape)
    square = shape[-1] == shape[-2]
    full = bool(full_matrices) and compute_uv and not square
    u, s, vh = bind(SVD, (a,), {"full_matrices": full})
    return SVDResult(u, s, vh) if compute_uv else s


# ---------------------------------------------------------------------- pinv

_NO_VALUE = object()


def _pinv_fwd(xp: Any, a: Any, rcond: Any) -> Any:
    if xp is np:
        return np.linalg.pinv(a, rcond=rcond)
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return xp.empty(a.shape[:-2] + (n, m), dtype=a.dtype)
    u, s, vt = xp.linalg.svd(a, full_matrices=False)
    cutoff = xp.asarray(rcond)[..., None] * xp.max(s, axis=-1, keepdims=True)
    large = s > cutoff
    s = xp.where(large, 1 / xp.where(large, s, 1), 0).astype(s.dtype)
    return xp.matmul(xp.swapaxes(vt, -1, -2), s[..., None] * xp.swapaxes(u, -1, -2))


def _pinv_vjp(g: Any, a: Any, out: Any, rcond: Any) -> Any:
    # gA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)
    p = out
    pt = swap_last(p)
    gt = swap_last(g)
    t1 = negative(matmul(pt, matmul(g, pt)))
    x = matmul(gt, matmul(p, pt))
    t2 = x - matmul(a, matmul(p, x))
    y = matmul(matmul(pt, p), gt)
    t3 = y - matmul(matmul(y, p), a)
    return t1 + t2 + t3


def _pinv_jvp(t: Any, a: Any, out: Any, rcond: Any) -> Any:
    # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
    p = out
    pt = swap_last(p)
    dat = swap_last(t[0])
    t1 = negative(matmul(p, matmul(t[0], p)))
    z = matmul(p, matmul(pt, dat))
    t2 = z - matmul(matmul(z, a), p)
    w = matmul(dat, matmul(pt, p))
    t3 = w - matmul(p, matmul(a, w))
    return t1 + t2 + t3


PINV = Primitive(
    "pinv",
    _pinv_fwd,
    (_pinv_vjp,),
    _pinv_jvp,
    uses=((0, OUT),),
    grad_fn="LinalgPinvBackward0",
)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _NO_VALUE) -> Any:
    """The Moore-Penrose pseudo-inverse of a matrix or a stack ``(..., M, N)``.

    Singular values below ``rcond * max(S)`` count as zero; ``rcond`` and ``rtol`` follow
    NumPy (default ``1e-15``; ``rtol=None`` means ``max(M, N) * eps``). The gradient is the
    closed form of Golub and Pereyra, valid where the rank does not change; it needs no
    distinct singular values.

    Examples
    --------
    >>> from tapegrad.ops.linalg import pinv
    >>> pinv(np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([[1., 0.],
           [0., 0.]])
    >>> pinv(np.array([[2.0], [0.0]]))
    array([[0.5, 0. ]])
    """
    a = _arr(a)
    shape = _shape(a)
    _check_matrix(shape)
    if rcond is None:
        if rtol is _NO_VALUE:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(shape[-2:]) * float(np.finfo(a.dtype).eps)
        else:
            rcond = rtol
    elif rtol is not _NO_VALUE:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    return bind(PINV, (a,), {"rcond": rcond})


# ---------------------------------------------------------------------- norms


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The matrix norm over the last two axes, as NumPy 2's ``numpy.linalg.matrix_norm``.

    Examples
    --------
    >>> from tapegrad.ops.linalg import matrix_norm
    >>> matrix_norm(np.stack([np.eye(2), 2 * np.eye(2)]), ord="nuc")
    array([2., 4.])
    """
    return norm(x, ord, (-2, -1), keepdims)


def _to_float(x: Any) -> Any:
    return x if x.dtype.kind in "fc" else astype(x, np.float64)


def _vector_norm_ord(x: Any, ord: Any, axis: int, keepdims: bool) -> Any:
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    return _reduce_norm(x, ord, axis, keepdims)


def _matrix_norm_ord(x: Any, ord: Any, row: int, col: int, keepdims: bool) -> Any:
    nd = len(_shape(x))
    if ord is None or ord == "fro":
        out = _reduce_norm(x, 2, (row, col), False)
    elif ord in ("nuc", 2, -2):
        rest = [i for i in range(nd) if i not in (row, col)]
        moved = transpose(x, tuple(rest + [row, col]))
        s = svd(moved, compute_uv=False)
        if ord == "nuc":
            out = _sum(s, -1)
        else:
            out = amax(s, -1) if ord == 2 else amin(s, -1)
    elif ord in (1, -1, np.inf, -np.inf):
        summed, kept = (row, col) if ord in (1, -1) else (col, row)
        sums = _sum(_abs(x), summed)
        if kept > summed:
            kept -= 1
        out = amax(sums, kept) if ord in (1, np.inf) else amin(sums, kept)
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        shape = list(_shape(x))
        shape[row] = 1
        shape[col] = 1
        out = reshape(out, tuple(shape))
    return out


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """Vector or matrix norm, as ``numpy.linalg.norm``.

    Parameters
    ----------
    x : array_like or Tensor
    ord : {None, "fro", "nuc", inf, -inf, 0, 1, -1, 2, -2, other number}
        Vector norms (one axis): ``None``/2 Euclidean, ``inf``/``-inf`` largest/smallest
        ``|x|``, 0 the count of non-zeros (no gradient), other ``p`` ``sum(|x|**p)**(1/p)``.
        Matrix norms (two axes): ``None``/"fro" Frobenius, "nuc" the sum of singular values,
        2/-2 the largest/smallest singular value, 1/-1 max/min column sum of ``|x|``,
        ``inf``/``-inf`` max/min row sum.
    axis : None, int or (int, int)
        ``None``: the whole (flattened) array when ``ord`` is ``None``, else ``x`` must be
        1-D or 2-D.
    keepdims : bool

    Returns
    -------
    array or Tensor

    Notes
    -----
    Vector norms and the Frobenius norm are :func:`tapegrad.ops.reduce.norm`, whose gradients
    are PyTorch's subgradients (0 at the zero vector); the spectral norms go through
    :func:`svd` (defined where the extreme singular value is simple).

    Examples
    --------
    >>> from tapegrad.ops.linalg import norm
    >>> a = np.array([[1.0, -2.0], [3.0, 4.0]])
    >>> float(norm(a)) == float(np.sqrt(30.0))
    True
    >>> norm(a, ord=1), norm(a, ord=np.inf), norm(a, axis=0, ord=1)
    (array(6.), array(7.), array([4., 6.]))
    """
    x = _to_float(_arr(x))
    nd = len(_shape(x))
    if axis is None:
        if ord is None:
            return _reduce_norm(x, None, None, keepdims)
        if nd == 1:
            axes: tuple[int, ...] = (0,)
        elif nd == 2:
            axes = (0, 1)
        else:
            raise ValueError("Improper number of dimensions to norm.")
    elif isinstance(axis, (int, np.integer)):
        axes = (int(axis),)
    else:
        axes = tuple(int(a) for a in axis)
    if len(axes) == 1:
        (ax,) = normalize_axis(axes, nd)
        return _vector_norm_ord(x, ord, ax, keepdims)
    if len(axes) == 2:
        row = np.lib.array_utils.normalize_axis_index(axes[0], nd)
        col = np.lib.array_utils.normalize_axis_index(axes[1], nd)
        if row == col:
            raise ValueError("Duplicate axes given.")
        return _matrix_norm_ord(x, ord, row, col, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


# ---------------------------------------------------------------------- batching rules
# ``rule(values, batch_dims, params) -> (out, out_batch_dims)`` for ``vmap`` (see
# ``tapegrad.batching``): every primitive here works on stacks already, so a rule moves the
# batch axis in front of the matrix axes and binds the primitive once for the whole batch.


def _front(v: Any, d: int | None) -> Any:
    """``v`` with its batch axis ``d`` first (``None``: not batched, left as it is)."""
    if d is None or d == 0:
        return v
    nd = len(_shape(v))
    d %= nd
    order = (d,) + tuple(i for i in range(nd) if i != d)
    return transpose(v, order)


def _unary_rule(fn: Any) -> Any:
    def rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
        out = fn(_front(vals[0], dims[0]), **(params or {}))
        if isinstance(out, tuple):
            return tuple(out), (0,) * len(out)
        return out, 0

    return rule


def _solve_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    a, b = _front(vals[0], dims[0]), _front(vals[1], dims[1])
    if params["vec"]:
        b = _col(b)  # one column per example (or one for all)
    # Stacks broadcast from the right: give each batched value's per-example stack the same
    # rank, so that the batch axes line up in front.
    ranks = [len(_shape(v)) - (d is not None) for v, d in zip((a, b), dims)]
    top = max(ranks)
    lined = []
    for v, d, r in zip((a, b), dims, ranks):
        if d is not None and r < top:
            s = _shape(v)
            v = reshape(v, (s[0],) + (1,) * (top - r) + s[1:])
        lined.append(v)
    x = _solve_m(lined[0], lined[1])
    return (squeeze(x, -1) if params["vec"] else x), 0


def _einsum_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    ins, out = _split_spec(params["spec"])
    used = set("".join(ins) + out)
    b = next(c for c in _LETTERS if c not in used)
    specs = []
    ops = []
    for v, d, labels in zip(vals, dims, ins):
        if d is None:
            specs.append(labels)
            ops.append(v)
        else:
            specs.append(b + labels)
            ops.append(_front(v, d))
    spec = ",".join(specs) + "->" + b + out
    return einsum(spec, *ops, optimize=params["optimize"]), 0


def _pinv_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    rcond = params["rcond"]
    if np.ndim(rcond):
        raise NotImplementedError("vmap of pinv with an array rcond is not supported")
    return pinv(_front(vals[0], dims[0]), rcond), 0


def _svd_rule(vals: list[Any], dims: list[Any], params: Any) -> tuple[Any, Any]:
    x = _front(vals[0], dims[0])
    out = bind(SVD, (x,), {"full_matrices": params["full_matrices"]})
    return tuple(out), (0, 0, 0)


#: Batching rules of this module's primitives, for ``tapegrad.batching.register``.
BATCHING_RULES: dict[Primitive, Any] = {
    INV: _unary_rule(lambda x: bind(INV, (x,))),
    DET: _unary_rule(lambda x: bind(DET, (x,))),
    SLOGDET: _unary_rule(lambda x: bind(SLOGDET, (x,))),
    CHOLESKY: _unary_rule(lambda x, upper: bind(CHOLESKY, (x,), {"upper": upper})),
    QR: _unary_rule(lambda x: bind(QR, (x,))),
    EIGH: _unary_rule(lambda x, UPLO: bind(EIGH, (x,), {"UPLO": UPLO})),
    SVD: _svd_rule,
    PINV: _pinv_rule,
    SOLVE: _solve_rule,
    EINSUM1: _einsum_rule,
    EINSUM2: _einsum_rule,
}
