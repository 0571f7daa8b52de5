"""Table rows of the elementwise operations beyond arithmetic: cube root, base-2 and base-10
exponentials and logarithms, the trigonometric and hyperbolic functions and their inverses,
``arctan2``, ``hypot``, ``logaddexp``, ``sinc`` and ``clip``.

Domains keep each function smooth at the drawn points: ``tan`` away from its poles, the
inverse functions inside their domains (and away from the ends, where derivatives blow up),
``arctan2`` and ``hypot`` off the first argument's zero (the branch cut and the cone), and
``clip``'s input on a lattice interleaved with its bounds', so the input never meets a bound.
"""

from __future__ import annotations

import numpy as np

from tapegrad import functions_more
from tapegrad.ops import elementwise as ew

from .specs import (
    AWAY_FROM_UNIT_BOUNDS,
    DRAWN,
    DRAWN_BROADCAST,
    NONZERO,
    POSITIVE,
    REAL,
    Case,
    Domain,
    OpSpec,
    _binary,
    _unary,
)

#: Inside (-pi/2, pi/2), away from the poles of tan.
BELOW_POLES = Domain("[-1.25, 1.25]", ((-1.25, 1.25),))
#: Inside (-1, 1), away from the ends where arcsin, arccos and arctanh have singular slopes.
INSIDE_UNIT = Domain("[-0.75, 0.75]", ((-0.75, 0.75),))
#: Above 1, where arccosh is smooth.
ABOVE_ONE = Domain("[1.25, 3]", ((1.25, 3.0),))
#: Around 0, where sinc's derivative switches between its series and its closed form.
TWO_AND_A_HALF = Domain("+-[37/16, 11/4]", ((-2.75, -2.3125), (2.3125, 2.75)))
SLIGHTLY_ABOVE_ONE = Domain("[1, 1.125]", ((1.0, 1.125),))
NEAR_ZERO = Domain("[-1/8, 1/8]", ((-0.125, 0.125),))
# Three interleaved lattices for clip(x, lo, hi): within each unit cell lo < x < hi, and any
# two values are at least 1/8 apart, so x never meets a bound and lo never meets hi (but x
# lies below lo, between, or above hi, and lo > hi happens, across cells).
CELLS = range(-3, 3)
LOW = Domain("k + [1/16, 1/4]", tuple((k + 0.0625, k + 0.25) for k in CELLS))
MID = Domain("k + [3/8, 5/8]", tuple((k + 0.375, k + 0.625) for k in CELLS))
HIGH = Domain("k + [3/4, 15/16]", tuple((k + 0.75, k + 0.9375) for k in CELLS))

#: Fixed bounds on the LOW and HIGH lattices, for clip against bounds that are not differentiated.
STATIC_LOW = np.array([0.125, -0.875, 1.125])
STATIC_HIGH = np.array([[1.8125], [-0.1875]])


def _clip_cases() -> tuple[Case, ...]:
    return (
        Case(((), (), ())),
        Case(((3,), (3,), (3,))),
        Case(((2, 3), (3,), (2, 1))),
        Case(((2, 1), (), (1, 4))),
    )


SPECS: tuple[OpSpec, ...] = (
    # ---------------------------------------------------------------- powers and logarithms
    _unary("cbrt", ew.cbrt, np.cbrt, NONZERO),
    _unary("exp2", ew.exp2, np.exp2),
    _unary("log2", ew.log2, np.log2, POSITIVE),
    _unary("log10", ew.log10, np.log10, POSITIVE),
    # ---------------------------------------------------------------- trigonometric
    _unary("tan", ew.tan, np.tan, BELOW_POLES, rtol=1e-11),
    _unary("arcsin", ew.arcsin, np.arcsin, INSIDE_UNIT),
    _unary("arccos", ew.arccos, np.arccos, INSIDE_UNIT),
    _unary("arctan", ew.arctan, np.arctan),
    _binary("arctan2", ew.arctan2, np.arctan2, NONZERO, REAL),
    # ---------------------------------------------------------------- hyperbolic
    _unary("sinh", ew.sinh, np.sinh),
    _unary("cosh", ew.cosh, np.cosh),
    _unary("arcsinh", ew.arcsinh, np.arcsinh),
    _unary("arccosh", ew.arccosh, np.arccosh, ABOVE_ONE),
    _unary("arctanh", ew.arctanh, np.arctanh, INSIDE_UNIT),
    # ---------------------------------------------------------------- others
    _binary("hypot", ew.hypot, np.hypot, NONZERO, REAL),
    _binary("logaddexp", ew.logaddexp, np.logaddexp),
    # fmod's derivative in its divisor is -trunc(x / y): constant (2 or -2) on the domain
    _binary("fmod", functions_more.fmod, np.fmod, TWO_AND_A_HALF, SLIGHTLY_ABOVE_ONE),
    _unary("sinc", ew.sinc, np.sinc),
    _unary("sinc_near_zero", ew.sinc, np.sinc, NEAR_ZERO),
    # ---------------------------------------------------------------- clip
    OpSpec(
        "clip",
        ew.clip,
        np.clip,
        (AWAY_FROM_UNIT_BOUNDS,),
        (
            Case(((),), {"a_min": -1.0, "a_max": 1.0}),
            Case(DRAWN, {"a_min": -1.0, "a_max": 1.0}),
            Case(((2, 3),), {"a_min": -1.0, "a_max": None}),
            Case(((2, 3),), {"a_min": None, "a_max": 1.0}),
        ),
    ),
    OpSpec(
        "clip_tensor_bounds",
        ew.clip,
        np.clip,
        (MID, LOW, HIGH),
        _clip_cases() + (Case(DRAWN_BROADCAST),),
    ),
    OpSpec(
        "clip_tensor_min",
        lambda x, lo: ew.clip(x, lo, None),
        lambda x, lo: np.maximum(x, lo),
        (MID, LOW),
        (Case(((), ())), Case(((2, 3), (3,)))),
    ),
    OpSpec(
        "clip_tensor_max",
        lambda x, hi: ew.clip(x, max=hi),
        lambda x, hi: np.minimum(x, hi),
        (MID, HIGH),
        (Case(((), ())), Case(((2, 3), (2, 1)))),
    ),
    OpSpec(
        "clip_array_bounds",
        ew.clip,
        np.clip,
        (MID,),
        (
            Case(((2, 3),), {"a_min": STATIC_LOW, "a_max": STATIC_HIGH}, label="2x3[lo3,hi2x1]"),
            Case(((3,),), {"a_min": STATIC_LOW, "a_max": None}, label="3[lo3]"),
        ),
    ),
)
