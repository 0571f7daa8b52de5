"""Table rows of the reductions and scans: prod (also with one and with several zeros per
lane), var and std with ``ddof``/``correction``, vector norms of every order, cumsum and
cumprod (also with zeros).

Where a function has a kink the domain or a ``prepare`` step keeps the drawn points off it:
distinct values for ``std`` (a constant lane is its cone point), non-zero values for the
norms (``|x|`` and the zero vector), distinct magnitudes for the max- and min-norms (ties).
Zeros are put in on purpose where the gradient must be exact at them (``prod``, ``cumprod``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.ops import reduce as rd

from .specs import NONZERO, REAL, Case, OpSpec, _distinct


def _case(shape: tuple[int, ...], axis: Any, keepdims: bool, **kw: Any) -> Case:
    return Case((shape,), {"axis": axis, "keepdims": keepdims, **kw})


def _zeros_per_lane(count: int):
    """A ``prepare`` step: ``count`` zeros in every lane along the last axis (every element of
    a 0-d or shorter lane), at positions that depend on the draw."""

    def prepare(args: list[np.ndarray]) -> list[np.ndarray]:
        x = np.array(args[0], copy=True)
        if x.ndim == 0:
            return [np.zeros_like(x)] + list(args[1:])
        flat = x.reshape(-1, x.shape[-1])
        # The positions of the ``count`` largest values (ties broken by position).
        order = np.argsort(-np.asarray(flat, dtype=np.float64), axis=-1, kind="stable")
        np.put_along_axis(flat, order[:, :count], 0, axis=-1)
        return [flat.reshape(x.shape)] + list(args[1:])

    return prepare


def _distinct_magnitudes(args: list[np.ndarray]) -> list[np.ndarray]:
    """Magnitudes at least 0.25 apart (and at least 0.25), keeping the drawn signs, so the
    largest and smallest magnitudes are unique and no element is 0."""
    x = args[0]
    spread = np.abs(_distinct([np.asarray(x, dtype=np.float64)])[0])
    flat = spread.ravel()
    ranks = np.argsort(np.argsort(flat, kind="stable"), kind="stable")
    mags = 0.25 + 0.25 * ranks + (flat % 0.125)
    signs = np.where(np.asarray(x).ravel() < 0, -1.0, 1.0)
    return [(signs * mags).reshape(np.shape(x)).astype(x.dtype)] + list(args[1:])


def _var_cases() -> tuple[Case, ...]:
    return (
        _case((), None, False),
        _case((4,), -1, True, ddof=1),
        _case((2, 3), 0, False, correction=1),
        _case((2, 3, 4), (0, 2), False, ddof=2),
        _case((2, 3, 4), (-1, 1), True),
    )


def _norm_ref(x: np.ndarray, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    return np.linalg.vector_norm(x, ord=2 if ord is None else ord, axis=axis, keepdims=keepdims)


def _norm_cases(ord: Any, full: bool = False) -> tuple[Case, ...]:
    few = (_case((5,), None, False, ord=ord), _case((2, 3, 4), (0, 2), False, ord=ord))
    if not full:
        return few
    return few + (_case((), None, False, ord=ord), _case((2, 3), -1, True, ord=ord))


def _norm_row(name: str, ord: Any, full: bool = False) -> OpSpec:
    return OpSpec(name, rd.norm, _norm_ref, (NONZERO,), _norm_cases(ord, full))


def _scan_cases() -> tuple[Case, ...]:
    return (
        Case(((),), {"axis": None}),
        Case(((),), {"axis": 0}),
        Case(((5,),), {"axis": 0}),
        Case(((2, 3),), {"axis": None}),
        Case(((2, 3),), {"axis": -1}),
        Case(((2, 3, 4),), {"axis": 1}),
    )


def _scan_zero_cases() -> tuple[Case, ...]:
    # Along the last axis, where the prepare step puts the zeros.
    return (
        Case(((4,),), {"axis": None}),
        Case(((2, 5),), {"axis": -1}),
        Case(((2, 3, 4),), {"axis": 2}),
    )


def _prod_cases() -> tuple[Case, ...]:
    # Lanes of at most 8 elements: products of up to 24 values of [-3, 3] reach 3**24, whose
    # third derivatives swamp central differences.
    return (
        _case((), None, False),
        _case((4,), -1, True),
        _case((2, 3), 0, False),
        _case((2, 3, 4), (0, 2), False),
        _case((1, 2, 3), None, True),
        _case((2, 3), (), False),
    )


def _prod_zero_cases() -> tuple[Case, ...]:
    return (
        _case((4,), None, False),
        _case((2, 5), -1, False),
        _case((2, 3, 4), 2, True),
        # Every lane of the last axis has its zeros, so this reduction sees several lanes' worth.
        _case((2, 3), None, False),
    )


SPECS: tuple[OpSpec, ...] = (
    # ---------------------------------------------------------------- prod
    OpSpec("prod", rd.prod, np.prod, (REAL,), _prod_cases()),
    OpSpec(
        "prod_one_zero", rd.prod, np.prod, (REAL,), _prod_zero_cases(), prepare=_zeros_per_lane(1)
    ),
    OpSpec(
        "prod_two_zeros", rd.prod, np.prod, (REAL,), _prod_zero_cases(), prepare=_zeros_per_lane(2)
    ),
    # ---------------------------------------------------------------- var, std
    OpSpec("var", rd.var, np.var, (REAL,), _var_cases(), rtol=1e-11),
    OpSpec("std", rd.std, np.std, (REAL,), _var_cases(), prepare=_distinct, rtol=1e-11),
    # ---------------------------------------------------------------- vector norms
    _norm_row("norm_2", None, full=True),
    _norm_row("norm_1", 1),
    _norm_row("norm_3", 3),
    _norm_row("norm_1.5", 1.5),
    _norm_row("norm_0.5", 0.5),
    _norm_row("norm_0", 0),
    OpSpec(
        "norm_inf",
        rd.norm,
        _norm_ref,
        (REAL,),
        _norm_cases(np.inf, full=True),
        prepare=_distinct_magnitudes,
    ),
    OpSpec(
        "norm_-inf", rd.norm, _norm_ref, (REAL,), _norm_cases(-np.inf), prepare=_distinct_magnitudes
    ),
    # ---------------------------------------------------------------- scans
    OpSpec("cumsum", rd.cumsum, np.cumsum, (REAL,), _scan_cases()),
    OpSpec("cumprod", rd.cumprod, np.cumprod, (NONZERO,), _scan_cases()),
    OpSpec(
        "cumprod_one_zero",
        rd.cumprod,
        np.cumprod,
        (NONZERO,),
        _scan_zero_cases(),
        prepare=_zeros_per_lane(1),
    ),
    OpSpec(
        "cumprod_two_zeros",
        rd.cumprod,
        np.cumprod,
        (NONZERO,),
        _scan_zero_cases(),
        prepare=_zeros_per_lane(2),
    ),
)
