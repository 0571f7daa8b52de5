"""Rows of the op table for the shape functions of ``tapegrad.ops.shape``.

Functions that return several arrays (``split``, ``chunk``, ...) are checked through one
array: their pieces flattened and joined, so every piece's gradient is seen at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.ops import shape as sh

from .specs import DRAWN, REAL, Case, OpSpec


def _joined(pieces: Any) -> Any:
    """tapegrad's pieces, flattened and joined (in order)."""
    return sh.concatenate([sh.reshape(p, (-1,)) for p in pieces])


def _np_joined(pieces: Any) -> np.ndarray:
    return np.concatenate([np.reshape(p, (-1,)) for p in pieces])


def _torch_split_ref(x: np.ndarray, size: Any, dim: int) -> np.ndarray:
    n = x.shape[dim]
    if isinstance(size, int):
        cuts = list(range(size, n, size))
    else:
        cuts = list(np.cumsum(size)[:-1])
    return _np_joined(np.split(x, cuts, axis=dim))


def _chunk_ref(x: np.ndarray, chunks: int, dim: int) -> np.ndarray:
    n = x.shape[dim]
    size = -(-n // chunks) if n else 1
    return _np_joined(np.split(x, list(range(size, n, size)), axis=dim))


def _c(arg_shape: tuple[int, ...], label: str | None = None, **kwargs: Any) -> Case:
    return Case((arg_shape,), kwargs, label=label)


def _c2(a: tuple[int, ...], b: tuple[int, ...], **kwargs: Any) -> Case:
    return Case((a, b), kwargs)


SPECS: tuple[OpSpec, ...] = (
    # ---------------------------------------------------------------- axes
    OpSpec(
        "swapaxes",
        sh.swapaxes,
        np.swapaxes,
        (REAL,),
        (
            _c((2, 3, 4), axis1=0, axis2=-1),
            _c((2, 3), axis1=1, axis2=0),
            _c((3,), axis1=0, axis2=0),
        ),
    ),
    OpSpec(
        "moveaxis",
        sh.moveaxis,
        np.moveaxis,
        (REAL,),
        (
            _c((2, 3, 4), source=0, destination=-1),
            _c((2, 3, 4), source=(0, 1), destination=(-1, -2)),
            _c((2, 3), source=-1, destination=0),
        ),
    ),
    OpSpec(
        "reshape_order_f",
        sh.reshape,
        np.reshape,
        (REAL,),
        (
            _c((2, 3), shape=(3, 2), order="F"),
            _c((2, 3, 4), shape=(4, -1), order="F"),
            _c((6,), shape=(2, 3), order="F"),
        ),
    ),
    # ---------------------------------------------------------------- joining
    OpSpec(
        "concatenate",
        lambda a, b, axis: sh.concatenate([a, b], axis=axis),
        lambda a, b, axis: np.concatenate([a, b], axis=axis),
        (REAL, REAL),
        (
            _c2((2, 3), (4, 3), axis=0),
            _c2((2, 3), (2, 1), axis=-1),
            _c2((2, 3), (3, 2), axis=None),
            _c2((3,), (0,), axis=0),
        ),
    ),
    OpSpec(
        "concatenate_many",
        lambda x, axis: sh.concatenate(sh.unbind(x, 0), axis=axis),
        lambda x, axis: np.concatenate(list(x), axis=axis),
        (REAL,),
        (_c((17, 2), axis=0), _c((31, 2, 1), axis=-1), _c((2, 2), axis=0)),
    ),
    OpSpec(
        "stack",
        lambda a, b, axis: sh.stack([a, b], axis=axis),
        lambda a, b, axis: np.stack([a, b], axis=axis),
        (REAL, REAL),
        (
            _c2((2, 3), (2, 3), axis=0),
            _c2((2, 3), (2, 3), axis=-1),
            _c2((2, 3), (2, 3), axis=1),
            _c2((), (), axis=0),
        ),
    ),
    OpSpec(
        "stack_many",
        lambda x, axis: sh.stack(sh.unbind(x, 0), axis=axis),
        lambda x, axis: np.stack(list(x), axis=axis),
        (REAL,),
        (_c((17, 2), axis=1), _c((16,), axis=0)),
    ),
    # ---------------------------------------------------------------- splitting
    OpSpec(
        "split",
        lambda x, sections, axis: _joined(sh.split(x, sections, axis)),
        lambda x, sections, axis: _np_joined(np.split(x, sections, axis)),
        (REAL,),
        (
            _c((6,), sections=3, axis=0),
            _c((2, 6), sections=[1, 4], axis=1, label="2x6[[1,4],axis=1]"),
            _c((5, 2), sections=[2, 10], axis=0, label="5x2[[2,10],axis=0]"),
            _c((4, 3), sections=[-1], axis=0, label="4x3[[-1],axis=0]"),
        ),
    ),
    OpSpec(
        "array_split",
        lambda x, sections, axis: _joined(sh.array_split(x, sections, axis)),
        lambda x, sections, axis: _np_joined(np.array_split(x, sections, axis)),
        (REAL,),
        (
            _c((5,), sections=3, axis=0),
            _c((2, 7), sections=3, axis=-1),
            _c((3,), sections=5, axis=0),
        ),
    ),
    OpSpec(
        "split_by_size",
        lambda x, size, dim: _joined(sh.split_by_size(x, size, dim)),
        _torch_split_ref,
        (REAL,),
        (
            _c((5,), size=2, dim=0),
            _c((2, 5), size=[1, 4], dim=1, label="2x5[[1,4],dim=1]"),
        ),
    ),
    OpSpec(
        "chunk",
        lambda x, chunks, dim: _joined(sh.chunk(x, chunks, dim)),
        _chunk_ref,
        (REAL,),
        (
            _c((6,), chunks=4, dim=0),
            _c((3, 5), chunks=2, dim=1),
            _c((0,), chunks=3, dim=0),
        ),
    ),
    OpSpec(
        "unbind",
        lambda x, dim: sh.stack(sh.unbind(x, dim), axis=0),
        lambda x, dim: np.moveaxis(x, dim, 0),
        (REAL,),
        (_c((3, 2), dim=0), _c((2, 3), dim=-1)),
    ),
    # ---------------------------------------------------------------- rearranging
    OpSpec(
        "flip",
        sh.flip,
        np.flip,
        (REAL,),
        (
            _c((4,), axis=None),
            _c((2, 3), axis=1),
            _c((2, 3, 4), axis=(0, 2)),
            _c((), axis=None),
            Case(DRAWN, {"axis": None}),
        ),
    ),
    OpSpec(
        "roll",
        sh.roll,
        np.roll,
        (REAL,),
        (
            _c((5,), shift=2, axis=None),
            _c((2, 3), shift=-1, axis=1),
            _c((2, 3), shift=(1, 2), axis=(0, 1)),
            _c((2, 3), shift=4, axis=None),
            _c((3,), shift=0, axis=0),
            _c((2, 3), shift=(1, 1), axis=(1, 1)),
        ),
    ),
    OpSpec(
        "tile",
        sh.tile,
        np.tile,
        (REAL,),
        (
            _c((2,), reps=2),
            _c((2, 3), reps=(2, 1)),
            _c((3,), reps=(2, 1, 2)),
            _c((), reps=3),
            _c((2, 2), reps=1),
            _c((2,), reps=0),
        ),
    ),
    OpSpec(
        "repeat",
        sh.repeat,
        np.repeat,
        (REAL,),
        (
            _c((3,), repeats=2, axis=None),
            _c((2, 3), repeats=2, axis=1),
            _c((2, 3), repeats=[1, 0, 2], axis=1, label="2x3[repeats=[1,0,2],axis=1]"),
            _c((2, 2), repeats=3, axis=None),
            _c((2, 3), repeats=[2, 1], axis=-2, label="2x3[repeats=[2,1],axis=-2]"),
            _c((), repeats=2, axis=None),
        ),
    ),
    OpSpec(
        "pad_constant",
        sh.pad,
        np.pad,
        (REAL,),
        (
            _c((3,), pad_width=1),
            _c((2, 3), pad_width=((1, 0), (2, 1))),
            _c((2, 3), pad_width=(1, 2), constant_values=2.5),
            _c((2, 2), pad_width=1, constant_values=((1.0, 2.0), (3.0, 4.0))),
            _c((), pad_width=0),
        ),
    ),
    OpSpec(
        "pad_index_modes",
        sh.pad,
        np.pad,
        (REAL,),
        (
            _c((3,), pad_width=2, mode="edge"),
            _c((3,), pad_width=5, mode="reflect"),
            _c((2, 3), pad_width=((1, 1), (2, 0)), mode="reflect"),
            _c((2, 3), pad_width=(2, 3), mode="symmetric"),
            _c((2, 3), pad_width=((0, 3), (1, 2)), mode="wrap"),
        ),
    ),
    # ---------------------------------------------------------------- triangles and diagonals
    OpSpec(
        "tril",
        sh.tril,
        np.tril,
        (REAL,),
        (_c((3, 3), k=0), _c((2, 3, 4), k=1), _c((4, 3), k=-1), _c((3,), k=0)),
        tensor_fn=lambda x, k: sh.tril(x, k),
    ),
    OpSpec(
        "triu",
        sh.triu,
        np.triu,
        (REAL,),
        (_c((3, 3), k=0), _c((2, 3, 4), k=-1), _c((4, 3), k=2), _c((3,), k=1)),
    ),
    OpSpec(
        "diagonal",
        sh.diagonal,
        np.diagonal,
        (REAL,),
        (
            _c((3, 3), offset=0, axis1=0, axis2=1),
            _c((3, 4), offset=1, axis1=0, axis2=1),
            _c((4, 3), offset=-2, axis1=0, axis2=1),
            _c((2, 3, 4), offset=0, axis1=2, axis2=0),
            _c((2, 3, 4), offset=1, axis1=-1, axis2=-2),
            _c((2, 3, 4), offset=-1, axis1=0, axis2=2),
            _c((2, 3), offset=5, axis1=0, axis2=1),
        ),
    ),
    OpSpec(
        "trace",
        sh.trace,
        np.trace,
        (REAL,),
        (
            _c((3, 3), offset=0),
            _c((2, 3, 4), offset=1, axis1=1, axis2=2),
            _c((3, 4), offset=-1),
        ),
    ),
)
