"""Rows of the op table for indexing and the gathers of ``tapegrad.ops.index``."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import functions_more
from tapegrad.ops import index as ix

from .specs import NONZERO, REAL, Case, Integers, OpSpec, _distinct


def _gather_ref(x: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
    # PyTorch's gather is take_along_axis on the part of ``x`` that ``index`` covers off ``dim``.
    part = tuple(slice(None) if d == dim else slice(0, m) for d, m in enumerate(index.shape))
    return np.take_along_axis(x[part], index, axis=dim)


def _case(shape: tuple[int, ...], index: Any, label: str) -> Case:
    return Case((shape,), {"index": index}, label=label)


def _getitem(name: str, cases: tuple[Case, ...]) -> OpSpec:
    return OpSpec(
        name,
        lambda x, index: ix.getitem(x, index),
        lambda x, index: x[index],
        (REAL,),
        cases,
        tensor_fn=lambda x, index: x[index],
    )


def _scatter_reduce_ref(
    x: np.ndarray, src: np.ndarray, dim: int, index: np.ndarray, reduce: str, include_self: bool
) -> np.ndarray:
    """PyTorch's ``scatter_reduce``, element by element."""
    combine = {"sum": np.add, "mean": np.add, "prod": np.multiply}
    out = np.array(x, dtype=np.float64, copy=True)
    counts = np.ones(out.shape) if include_self else np.zeros(out.shape)
    started = np.full(out.shape, include_self)
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[dim] = index[pos]
        t = tuple(target)
        v = src[pos]
        if not started[t]:
            out[t], started[t] = v, True
        elif reduce in combine:
            out[t] = combine[reduce](out[t], v)
        else:
            out[t] = (np.maximum if reduce == "amax" else np.minimum)(out[t], v)
        counts[t] += 1
    if reduce == "mean":
        out = np.where(counts > 0, out / np.maximum(counts, 1), out)
    return out


def _jointly_distinct(args: list[np.ndarray]) -> list[np.ndarray]:
    """``input`` and ``src`` with no value in common (each maximum and minimum is unique)."""
    x, src = args[0], args[1]
    both = _distinct([np.concatenate([np.ravel(x), np.ravel(src)])])[0]
    return [both[: x.size].reshape(x.shape), both[x.size :].reshape(src.shape)] + list(args[2:])


#: (input shape, src shape, dim, index): repeated positions, and positions nothing reaches.
_SCATTER_CASES = (
    ((3, 4), (2, 4), 0, np.array([[0, 2, 0, 1], [0, 0, 2, 1]])),
    ((3, 4), (3, 2), 1, np.array([[3, 3], [0, 1], [2, 2]])),
    ((5,), (6,), -1, np.array([4, 0, 4, 4, 1, 0])),
    ((2, 3, 2), (2, 2, 2), 1, np.array([[[0, 2], [0, 0]], [[1, 1], [2, 0]]])),
)


def _scatter_reduce(reduce: str) -> OpSpec:
    cases = tuple(
        Case(
            (xs, ss),
            {"dim": dim, "index": index, "reduce": reduce, "include_self": include},
            label=f"{'x'.join(map(str, xs))}-dim{dim}-{'self' if include else 'noself'}",
        )
        for xs, ss, dim, index in _SCATTER_CASES
        for include in (True, False)
    )
    return OpSpec(
        f"scatter_reduce_{reduce}",
        lambda x, src, dim, index, reduce, include_self: functions_more.scatter_reduce(
            x, dim, index, src, reduce, include_self=include_self
        ),
        _scatter_reduce_ref,
        (NONZERO, NONZERO) if reduce == "prod" else (REAL, REAL),
        cases,
        prepare=_jointly_distinct if reduce in ("amax", "amin") else None,
    )


SPECS: tuple[OpSpec, ...] = (
    *(_scatter_reduce(r) for r in ("sum", "prod", "mean", "amax", "amin")),
    _getitem(
        "getitem_negative",
        (
            _case((4,), -1, "4[-1]"),
            _case((5,), slice(-3, -1), "5[-3:-1]"),
            _case((3, 4), (slice(None, None, -1), -2), "3x4[::-1,-2]"),
            _case((5,), np.array([-1, -5, -1]), "5[neg-rep]"),
        ),
    ),
    _getitem(
        "getitem_ellipsis_none",
        (
            _case((2, 3, 4), (Ellipsis, 1), "2x3x4[...,1]"),
            _case((2, 3, 4), (None, Ellipsis, None), "2x3x4[None,...,None]"),
            _case((2, 3), (0, None, slice(1, None)), "2x3[0,None,1:]"),
            _case((), Ellipsis, "0d[...]"),
            _case((), None, "0d[None]"),
        ),
    ),
    _getitem(
        "getitem_mixed",
        (
            # Advanced indices separated by a slice: their dimension comes first.
            _case(
                (2, 3, 4),
                (np.array([0, 1, 1]), slice(None), np.array([2, 0, 3])),
                "2x3x4[arr,:,arr]",
            ),
            # An integer and an array separated by a slice count as advanced indices.
            _case((2, 3, 4), (1, slice(None), np.array([0, 2, 0])), "2x3x4[1,:,arr]"),
            _case((2, 3, 4), (Ellipsis, np.array([1, 1])), "2x3x4[...,arr]"),
            _case((3, 4), (None, np.array([0, 2]), slice(1, None)), "3x4[None,arr,1:]"),
            _case(
                (3, 4),
                (np.array([[0], [2]]), np.array([1, 3, 1])),
                "3x4[col,row]-broadcast",
            ),
            _case(
                (3, 4),
                (slice(None), np.array([True, False, True, True])),
                "3x4[:,mask]",
            ),
            _case(
                (2, 3, 4),
                (slice(1, None), np.array([2, -1]), slice(None, None, 2)),
                "2x3x4[1:,arr,::2]",
            ),
        ),
    ),
    OpSpec(
        "take",
        lambda x, indices, axis=None, mode="raise": ix.take(x, indices, axis, mode=mode),
        lambda x, indices, axis=None, mode="raise": np.take(x, indices, axis, mode=mode),
        (REAL,),
        (
            Case(((2, 3),), {"indices": np.array([5, 0, 5, -1]), "axis": None}, label="flat"),
            Case(((2, 3),), {"indices": np.array([[2], [0], [2]]), "axis": 1}, label="axis1"),
            Case(((3, 2),), {"indices": np.array(1), "axis": 0}, label="0d-index"),
            Case(((4,),), {"indices": np.array([7, -8]), "mode": "wrap"}, label="wrap"),
            Case(((4,),), {"indices": np.array([10, -5, 2]), "mode": "clip"}, label="clip"),
            Case(((3, 2),), {"indices": np.array([], dtype=np.int64), "axis": 0}, label="empty"),
        ),
    ),
    OpSpec(
        "take_along_axis",
        lambda x, indices, axis: ix.take_along_axis(x, indices, axis),
        lambda x, indices, axis: np.take_along_axis(x, indices, axis),
        (REAL, Integers(-3, 2)),
        (
            Case(((3, 3), (3, 2)), {"axis": 1}),
            Case(((3, 2), (5, 2)), {"axis": 0}),
            Case(((3, 1), (3, 4)), {"axis": 0}),
            Case(((3, 3), (4,)), {"axis": None}),
            Case(((2, 3, 4), (2, 2, 4)), {"axis": -2}),
        ),
    ),
    OpSpec(
        "gather",
        lambda x, index, dim: ix.gather(x, dim, index),
        _gather_ref,
        (REAL, Integers(0, 2)),
        (
            Case(((3, 4), (2, 5)), {"dim": 1}),
            Case(((3, 4), (3, 4)), {"dim": 0}),
            Case(((4, 3, 2), (2, 3, 1)), {"dim": 1}),
            Case(((3,), (6,)), {"dim": -1}),
        ),
    ),
)
