"""Rows of the op table for linear algebra (``tapegrad.ops.linalg``).

Inputs of the factorisations are made well conditioned by ``prepare`` hooks, from the drawn
values: general matrices ``U diag(s) V^T`` with orthonormal factors taken from the draw and
singular values at least 0.4 apart (inverses, solves, determinants, QR, SVD and pinv are then
smooth and finite differences trustworthy); symmetric positive-definite matrices
``Q diag(w) Q^T`` with eigenvalues at least 0.4 apart for ``cholesky`` and ``eigh``.

``cholesky`` and ``eigh`` read one triangle of a matrix taken to be symmetric, and their
gradients are the symmetric ones: their rows differentiate ``op(sym(a))``, with
``sym(a) = (a + a^T) / 2``, so perturbations stay symmetric.

Multi-output operations return one array for the table: their outputs flattened and
concatenated. Eigen- and singular vectors enter only through sign-invariant products
(``V diag(c) V^T``, ``U diag(c) Vh``), since their signs are arbitrary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.ops import index as ix
from tapegrad.ops import linalg as la
from tapegrad.ops import reduce as rd
from tapegrad.ops import shape as sh

from .specs import REAL, Case, OpSpec

# ------------------------------------------------------------------------------ input makers


def _fixed_rotation(n: int) -> np.ndarray:
    """A fixed dense ``n x n`` orthogonal matrix (the same on every call)."""
    return np.linalg.qr(np.random.default_rng(n).standard_normal((n, n)))[0]


def _orthonormal(x: np.ndarray) -> np.ndarray:
    """Orthonormal columns (``(..., m, min(m, n))``) from a drawn ``(..., m, n)`` matrix.

    Householder QR gives an orthonormal ``Q`` for any matrix, zeros included; the fixed
    rotation then makes its entries generic (a sparse draw would give a signed permutation,
    and QR's sign choices are discontinuous where an entry is 0).
    """
    return _fixed_rotation(x.shape[-2]) @ np.linalg.qr(x)[0]


def _spread(x: np.ndarray, k: int, low: float = 1.0) -> np.ndarray:
    """``k`` values, descending, at least 0.4 apart, nudged by the draw (one set per matrix)."""
    batch = x.shape[:-2]
    flat = np.tanh(x.reshape(batch + (-1,)))[..., :k]
    if flat.shape[-1] < k:
        flat = np.concatenate([flat, np.zeros(batch + (k - flat.shape[-1],))], axis=-1)
    return low + 0.6 * np.arange(k)[::-1] + 0.1 * flat


def _well_conditioned(x: np.ndarray) -> np.ndarray:
    """``U diag(s) V^T`` with singular values in ``[0.9, 1.1 + 0.6 (k - 1)]``, 0.4 apart."""
    x64 = np.asarray(x, dtype=np.float64)
    m, n = x64.shape[-2:]
    k = min(m, n)
    u = _orthonormal(x64)[..., :, :k]
    v = _orthonormal(np.swapaxes(x64, -1, -2) + 0.5)[..., :, :k]
    s = _spread(x64, k)
    return ((u * s[..., None, :]) @ np.swapaxes(v, -1, -2)).astype(x.dtype)


def _spd(x: np.ndarray) -> np.ndarray:
    """``Q diag(w) Q^T``, exactly symmetric, eigenvalues in ``[0.9, ...]`` 0.4 apart."""
    x64 = np.asarray(x, dtype=np.float64)
    q = _orthonormal(x64)
    w = _spread(x64, x64.shape[-1])
    a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    return ((a + np.swapaxes(a, -1, -2)) / 2).astype(x.dtype)


def _first_well_conditioned(args: list[np.ndarray]) -> list[np.ndarray]:
    return [_well_conditioned(args[0])] + list(args[1:])


def _first_spd(args: list[np.ndarray]) -> list[np.ndarray]:
    return [_spd(args[0])] + list(args[1:])


def _primes(n: int) -> list[int]:
    out: list[int] = []
    k = 2
    while len(out) < n:
        if all(k % p for p in out):
            out.append(k)
        k += 1
    return out


def _generic_magnitudes(args: list[np.ndarray]) -> list[np.ndarray]:
    """Magnitudes ``sqrt(p)`` for distinct primes ``p`` in the drawn order, with the drawn
    signs: no two magnitudes, and no two sums of distinct magnitudes (row and column sums),
    are equal, so max/min-based norms have unique maximisers; none is near 0."""
    x = args[0]
    flat = np.asarray(x, dtype=np.float64).ravel()
    ranks = np.argsort(np.argsort(flat, kind="stable"), kind="stable")
    roots = np.sqrt(np.array(_primes(flat.size), dtype=np.float64))
    sign = np.where(flat < 0, -1.0, 1.0)
    values = sign * (roots[ranks] + 1e-4 * np.tanh(flat))
    return [values.reshape(np.shape(x)).astype(x.dtype)] + list(args[1:])


# ------------------------------------------------------------------------------ helpers


def _sym(a: Any) -> Any:
    return (a + la.swap_last(a)) * 0.5


def _sym_np(a: np.ndarray) -> np.ndarray:
    return (a + np.swapaxes(a, -1, -2)) * 0.5


def _cat(*xs: Any) -> Any:
    """The arrays flattened and concatenated, with tapegrad's operations."""
    sizes = [int(np.prod(np.shape(x), dtype=np.int64)) for x in xs]
    total = sum(sizes)
    acc = None
    start = 0
    for x, n in zip(xs, sizes, strict=True):
        part = ix.scatter(sh.reshape(x, (n,)), slice(start, start + n), (total,), True)
        acc = part if acc is None else acc + part
        start += n
    return acc


def _cat_np(*xs: Any) -> np.ndarray:
    return np.concatenate([np.ravel(x) for x in xs])


def _weights(k: int) -> np.ndarray:
    return np.arange(1.0, k + 1.0)


def _weights_like(w: Any) -> Any:
    """``_weights(k)`` for the ``k`` values along the last axis of ``w``, as a row to scale
    the columns of ``w``'s matrices, made from ``w`` so that it lives on ``w``'s device, in its
    dtype (a constant: no derivative flows through it)."""
    return sh.expand_dims(rd.cumsum(sh.fill(w, 1.0), axis=-1), -2)


def _qr_fn(a: Any) -> Any:
    q, r = la.qr(a)
    return _cat(q, r)


def _qr_ref(a: np.ndarray) -> np.ndarray:
    q, r = np.linalg.qr(a)
    return _cat_np(q, r)


def _slogdet_fn(a: Any) -> Any:
    sign, logabs = la.slogdet(a)
    return _cat(sign, logabs)


def _slogdet_ref(a: np.ndarray) -> np.ndarray:
    sign, logabs = np.linalg.slogdet(a)
    return _cat_np(sign, logabs)


def _eigh_fn(a: Any, UPLO: str = "L") -> Any:
    w, v = la.eigh(_sym(a), UPLO=UPLO)
    c = _weights_like(w)
    return _cat(w, la.matmul(v * c, la.swap_last(v)))


def _eigh_ref(a: np.ndarray, UPLO: str = "L") -> np.ndarray:
    w, v = np.linalg.eigh(_sym_np(a), UPLO=UPLO)
    c = _weights(w.shape[-1])
    return _cat_np(w, (v * c) @ np.swapaxes(v, -1, -2))


def _svd_fn(a: Any) -> Any:
    u, s, vh = la.svd(a, full_matrices=False)
    c = _weights_like(s)
    return _cat(s, la.matmul(u * c, vh))


def _svd_ref(a: np.ndarray) -> np.ndarray:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    c = _weights(s.shape[-1])
    return _cat_np(s, (u * c) @ vh)


def _einsum(*ops: Any, subscripts: Any, optimize: Any = False) -> Any:
    if isinstance(subscripts, str):
        return la.einsum(subscripts, *ops, optimize=optimize)
    # NumPy's sublist form: operand, sublist, operand, sublist, ..., [output sublist]
    items: list[Any] = []
    for op, sub in zip(ops, subscripts, strict=False):
        items += [op, list(sub)]
    items += [list(s) for s in subscripts[len(ops) :]]
    return la.einsum(*items, optimize=optimize)


def _einsum_ref(*ops: Any, subscripts: Any, optimize: Any = False) -> Any:
    if isinstance(subscripts, str):
        return np.einsum(subscripts, *ops)
    items: list[Any] = []
    for op, sub in zip(ops, subscripts, strict=False):
        items += [op, list(sub)]
    items += [list(s) for s in subscripts[len(ops) :]]
    return np.einsum(*items)


def _sub(s: str, shapes: tuple[tuple[int, ...], ...], **kw: Any) -> Case:
    return Case(shapes, {"subscripts": s, **kw}, label=f"{s}[{','.join(map(str, shapes))}]")


# ------------------------------------------------------------------------------ the rows

SPECS: tuple[OpSpec, ...] = (
    # ---------------------------------------------------------------- products
    OpSpec(
        "dot",
        la.dot,
        np.dot,
        (REAL, REAL),
        (
            Case(((2, 3), (3, 4))),
            Case(((2, 3, 4), (2, 4, 3))),
            Case(((), (2, 3))),
        ),
    ),
    OpSpec("vdot", la.vdot, np.vdot, (REAL, REAL), (Case(((2, 3), (3, 2))),)),
    OpSpec(
        "inner", la.inner, np.inner, (REAL, REAL), (Case(((2, 3), (4, 3))), Case(((2, 2, 3), (3,))))
    ),
    OpSpec("outer", la.outer, np.outer, (REAL, REAL), (Case(((2, 2), (3,))),)),
    OpSpec(
        "tensordot",
        la.tensordot,
        np.tensordot,
        (REAL, REAL),
        (
            Case(((2, 3, 4), (3, 4, 2)), {"axes": 2}),
            Case(((2, 3, 4), (4, 5, 2)), {"axes": ([0, 2], [2, 0])}),
            Case(((2,), (3,)), {"axes": 0}),
        ),
    ),
    OpSpec(
        "kron",
        la.kron,
        np.kron,
        (REAL, REAL),
        (Case(((3,), (2,))), Case(((2, 1, 2), (2, 2)))),
    ),
    OpSpec(
        "einsum1",
        _einsum,
        _einsum_ref,
        (REAL,),
        (
            _sub("...ii->...i", ((2, 3, 3),)),
            _sub("ijk->kj", ((2, 3, 4),)),
            _sub("iji->ij", ((2, 3, 2),)),
        ),
    ),
    OpSpec(
        "einsum2",
        _einsum,
        _einsum_ref,
        (REAL, REAL),
        (
            _sub("ij,j->", ((2, 3), (3,))),
            _sub("...ij,...jk", ((2, 2, 3), (3, 4))),
            _sub("ij,ij->ij", ((1, 3), (4, 3))),
            Case(
                ((2, 3, 2), (2, 2)),
                {"subscripts": ((0, 1, 2), (0, 2), (1, 0))},
                label="sublist[bij,bj->ib]",
            ),
        ),
    ),
    OpSpec(
        "einsum3",
        _einsum,
        _einsum_ref,
        (REAL, REAL, REAL),
        (
            _sub("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))),
            _sub("i,ij,j", ((3,), (3, 4), (4,)), optimize=True),
        ),
    ),
    # ---------------------------------------------------------------- inverses and solves
    OpSpec(
        "linalg_inv",
        la.inv,
        np.linalg.inv,
        (REAL,),
        (Case(((3, 3),)), Case(((2, 3, 3),))),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_solve",
        la.solve,
        np.linalg.solve,
        (REAL, REAL),
        (
            Case(((3, 3), (3,))),
            Case(((3, 3), (3, 2))),
            Case(((2, 3, 3), (3,))),
            Case(((3, 3), (2, 3, 1))),
        ),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_det",
        la.det,
        np.linalg.det,
        (REAL,),
        (Case(((3, 3),)), Case(((2, 3, 3),)), Case(((1, 1),))),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_slogdet",
        _slogdet_fn,
        _slogdet_ref,
        (REAL,),
        (Case(((3, 3),)), Case(((2, 3, 3),))),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_pinv",
        la.pinv,
        np.linalg.pinv,
        (REAL,),
        (Case(((3, 3),)), Case(((4, 3),)), Case(((2, 3, 4),))),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    # ---------------------------------------------------------------- factorisations
    OpSpec(
        "linalg_cholesky",
        lambda a, upper=False: la.cholesky(_sym(a), upper=upper),
        lambda a, upper=False: np.linalg.cholesky(_sym_np(a), upper=upper),
        (REAL,),
        (Case(((3, 3),)), Case(((2, 3, 3),), {"upper": True})),
        prepare=_first_spd,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_qr",
        _qr_fn,
        _qr_ref,
        (REAL,),
        (Case(((3, 3),)), Case(((4, 3),)), Case(((2, 3, 5),))),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_eigh",
        _eigh_fn,
        _eigh_ref,
        (REAL,),
        (Case(((3, 3),)), Case(((2, 3, 3),), {"UPLO": "U"})),
        prepare=_first_spd,
        rtol=1e-10,
    ),
    OpSpec(
        "linalg_svd",
        _svd_fn,
        _svd_ref,
        (REAL,),
        (Case(((3, 3),)), Case(((4, 3),)), Case(((2, 3, 4),))),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
    # ---------------------------------------------------------------- norms
    OpSpec(
        "linalg_norm_vector",
        la.norm,
        np.linalg.norm,
        (REAL,),
        (
            Case(((2, 3, 2),), {"ord": None, "axis": None, "keepdims": True}),
            Case(((2, 3),), {"ord": 1, "axis": 0, "keepdims": True}),
            Case(((2, 3),), {"ord": -np.inf, "axis": -1}),
        ),
        prepare=_generic_magnitudes,
    ),
    OpSpec(
        "linalg_norm_matrix",
        la.norm,
        np.linalg.norm,
        (REAL,),
        (
            Case(((3, 4),), {"ord": "fro"}),
            Case(((3, 4),), {"ord": 1}),
            Case(((2, 3, 4),), {"ord": -np.inf, "axis": (2, 0), "keepdims": True}),
        ),
        prepare=_generic_magnitudes,
    ),
    OpSpec(
        "linalg_norm_spectral",
        la.norm,
        np.linalg.norm,
        (REAL,),
        (
            Case(((3, 4),), {"ord": "nuc"}),
            Case(((2, 3, 4),), {"ord": 2, "axis": (1, 2)}),
            Case(((4, 3),), {"ord": -2}),
        ),
        prepare=_first_well_conditioned,
        rtol=1e-10,
    ),
)
