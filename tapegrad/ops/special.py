"""Special functions as primitives: the error function ``erf``, its complement ``erfc`` and
its inverse ``erfinv``.

NumPy has none of them. On host data the forward uses :mod:`scipy.special` when SciPy is
installed and this module's own approximations otherwise; on CuPy data it uses
:mod:`cupyx.scipy.special`. The own approximations are accurate to a few units in the last
place of float64:

- ``|x| < 1/2``: the Taylor series of ``erf``, ``x * P(x**2)`` with 14 terms;
- ``|x| >= 1/2``: ``erfc(x) = t * exp(-x**2 + f(t))`` with ``t = 2 / (2 + x)``, where the
  smooth ``f`` is a Chebyshev expansion of degree 27 on ``t`` in ``[0, 4/5]``; ``exp(-x**2)``
  is split as ``exp(-h**2) * exp(-(x - h)(x + h))`` with ``h`` a multiple of 1/16, so that
  rounding ``x**2`` costs no accuracy where ``erfc`` is tiny;
- ``erfinv``: a closed-form first guess refined by three Halley steps on ``erf(x) = y``
  (written through ``erfc`` near ``|y| = 1``).

The coefficients were computed in 50-digit arithmetic for this module. Lower-precision
floats (float16, float32) are evaluated in float64 and rounded back.

The derivative rules are written in tapegrad's operations, so higher derivatives follow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..primitive import OUT, Primitive, unary_op
from .elementwise import exp, negative, square

__all__ = ["erf", "erfc", "erfinv", "ERF", "ERFC", "ERFINV"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0

# erf(x) = x * sum_n TAYLOR[n] * x**(2n), |x| < 1/2 (truncation below 1e-18).
_TAYLOR = (
    1.1283791670955126,
    -0.37612638903183754,
    0.11283791670955126,
    -0.026866170645131252,
    0.005223977625442188,
    -0.0008548327023450853,
    0.00012055332981789664,
    -1.492565035840625e-05,
    1.6462114365889248e-06,
    -1.6365844691234924e-07,
    1.4807192815879218e-08,
    -1.2290555301717928e-09,
    9.422759064650411e-11,
    -6.7113668551641105e-12,
)
# log(erfc(x) * exp(x**2) / t) for t = 2 / (2 + x) in [0, 4/5], as a Chebyshev series in
# u = 5t/2 - 1 (truncation below 1e-19).
_CHEB = (
    -0.78318707272406,
    0.5058947933173407,
    0.020165332295700413,
    -0.004150784270483714,
    -0.0006929393033131829,
    8.061304448090166e-05,
    2.5850999510766174e-05,
    -2.4532413619366538e-06,
    -1.0665628949056516e-06,
    1.0956136201272647e-07,
    4.618283721422925e-08,
    -6.305089137369667e-09,
    -1.9633309872353595e-09,
    3.979371116364933e-10,
    7.359712081538667e-11,
    -2.4619582503772172e-11,
    -1.769647748682444e-12,
    1.3810080809606214e-12,
    -4.600206617963027e-14,
    -6.380484046552098e-14,
    9.937718418245514e-15,
    1.856958347210499e-15,
    -7.707956385933372e-16,
    3.1621351296209296e-17,
    3.448945247480971e-17,
    -8.625438866510632e-18,
    -1.1313151778630992e-19,
    5.605328814696142e-19,
)


# ---------------------------------------------------------------------- own approximations


def _erf_series(xp: Any, x: Any) -> Any:
    """``erf(x)`` by its Taylor series; accurate for ``|x| <= 1/2``."""
    x2 = x * x
    acc = xp.full_like(x, _TAYLOR[-1])
    for c in _TAYLOR[-2::-1]:
        acc = acc * x2 + c
    return x * acc


def _erfc_tail(xp: Any, a: Any) -> Any:
    """``erfc(a)`` for ``a >= 1/2`` (float64), with small relative error down to underflow."""
    a = xp.minimum(a, 30.0)  # erfc(30) underflows; keeps inf out of (a - h) * (a + h)
    t = 2.0 / (2.0 + a)
    u = 2.5 * t - 1.0
    two_u = 2.0 * u
    b1 = xp.zeros_like(a)
    b2 = xp.zeros_like(a)
    for c in _CHEB[:0:-1]:
        b1, b2 = two_u * b1 - b2 + c, b1
    f = u * b1 - b2 + _CHEB[0]
    h = xp.floor(a * 16.0) / 16.0  # h * h is exact
    return t * xp.exp(-(h * h)) * xp.exp(f - (a - h) * (a + h))


def _as_f64(xp: Any, x: Any) -> Any:
    return xp.asarray(x, dtype=np.float64)


def erf_approx(xp: Any, x: Any) -> Any:
    """``erf(x)`` on raw float arrays of module ``xp`` by this module's approximations.

    >>> erf_approx(np, np.array([0.0, 0.5, -2.0]))
    array([ 0.        ,  0.52049988, -0.99532227])
    """
    dt = x.dtype
    x = _as_f64(xp, x)
    a = xp.abs(x)
    small = a < 0.5
    series = _erf_series(xp, xp.where(small, x, 0.0))
    tail = 1.0 - _erfc_tail(xp, xp.maximum(a, 0.5))
    out = xp.where(small, series, xp.where(x < 0, -tail, tail))
    out = xp.where(xp.isnan(x), x, out)
    return out.astype(dt, copy=False)


def erfc_approx(xp: Any, x: Any) -> Any:
    """``erfc(x) = 1 - erf(x)`` on raw float arrays, accurate where it is tiny.

    >>> erfc_approx(np, np.array([0.0, 3.0, 10.0]))
    array([1.00000000e+00, 2.20904970e-05, 2.08848758e-45])
    """
    dt = x.dtype
    x = _as_f64(xp, x)
    a = xp.abs(x)
    small = a < 0.5
    series = 1.0 - _erf_series(xp, xp.where(small, x, 0.0))
    tail = _erfc_tail(xp, xp.maximum(a, 0.5))
    out = xp.where(small, series, xp.where(x < 0, 2.0 - tail, tail))
    out = xp.where(xp.isnan(x), x, out)
    return out.astype(dt, copy=False)


def erfinv_approx(xp: Any, y: Any) -> Any:
    """The inverse of ``erf`` on raw float arrays (``±inf`` at ``±1``, NaN outside).

    >>> erfinv_approx(np, np.array([0.0, 0.5, -0.999]))
    array([ 0.        ,  0.47693628, -2.32675377])
    """
    dt = y.dtype
    y = _as_f64(xp, y)
    ay = xp.abs(y)
    inside = ay < 1.0
    ys = xp.where(inside, ay, 0.5)
    # Winitzki's closed form (relative error below 2e-3) as the first guess.
    a = 0.147
    ln = xp.log1p(-ys * ys)
    b = 2.0 / (math.pi * a) + ln / 2.0
    x = xp.sqrt(xp.sqrt(b * b - ln / a) - b)
    for _ in range(3):
        # Halley's step on erf(x) - y, whose second derivative is -2x times the first.
        resid = xp.where(
            x < 0.5,
            _erf_series(xp, xp.minimum(x, 0.5)) - ys,
            (1.0 - ys) - _erfc_tail(xp, xp.maximum(x, 0.5)),
        )
        step = resid / (_TWO_OVER_SQRT_PI * xp.exp(-x * x))
        x = x - step / (1.0 + x * step)
    out = xp.where(inside, x, xp.where(ay == 1.0, xp.inf, xp.nan))
    out = xp.where(y < 0, -out, out)
    out = xp.where(xp.isnan(y), y, out)
    return out.astype(dt, copy=False)


# ---------------------------------------------------------------------- library forwards

_LIBRARY: dict[str, Any] = {}


def _library(xp: Any) -> Any:
    """``scipy.special`` for NumPy, ``cupyx.scipy.special`` for CuPy; ``None`` if missing."""
    key = xp.__name__
    if key not in _LIBRARY:
        try:
            if xp is np:
                import scipy.special as lib
            elif key == "cupy":
                import cupyx.scipy.special as lib  # type: ignore[import-not-found]
            else:  # another array module: the own approximations, written with ``xp``
                lib = None
        except ImportError:
            lib = None
        _LIBRARY[key] = lib
    return _LIBRARY[key]


def _forward(name: str, approx: Any) -> tuple[Any, Any]:
    """The forward ``fwd(xp, x)`` and the NumPy shortcut ``np_fwd(x)`` of one function."""

    def fwd(xp: Any, x: Any) -> Any:
        x = xp.asarray(x)
        if x.dtype.kind not in "f":
            x = x.astype(np.float64 if x.dtype.kind != "c" else x.dtype)
        lib = _library(xp)
        if lib is None:
            return approx(xp, x)
        out = getattr(lib, name)(x)
        return out.astype(x.dtype, copy=False) if out.dtype != x.dtype else out

    def np_fwd(x: Any) -> Any:
        return fwd(np, x)

    return fwd, np_fwd


_erf_fwd, _erf_np = _forward("erf", erf_approx)
_erfc_fwd, _erfc_np = _forward("erfc", erfc_approx)
_erfinv_fwd, _erfinv_np = _forward("erfinv", erfinv_approx)


def _gauss(x: Any) -> Any:
    """``2/sqrt(pi) * exp(-x**2)``, the derivative of ``erf``."""
    return _TWO_OVER_SQRT_PI * exp(negative(square(x)))


ERF = Primitive(
    "erf",
    _erf_fwd,
    (lambda g, x, out: g * _gauss(x),),
    lambda t, x, out: t[0] * _gauss(x),
    uses=((0,),),
    grad_fn="ErfBackward0",
    np_fwd=_erf_np,
)
ERFC = Primitive(
    "erfc",
    _erfc_fwd,
    (lambda g, x, out: negative(g) * _gauss(x),),
    lambda t, x, out: negative(t[0]) * _gauss(x),
    uses=((0,),),
    grad_fn="ErfcBackward0",
    np_fwd=_erfc_np,
)
ERFINV = Primitive(
    "erfinv",
    _erfinv_fwd,
    (lambda g, x, out: g * (_SQRT_PI_OVER_TWO * exp(square(out))),),
    lambda t, x, out: t[0] * (_SQRT_PI_OVER_TWO * exp(square(out))),
    uses=((OUT,),),
    grad_fn="ErfinvBackward0",
    np_fwd=_erfinv_np,
)

erf = unary_op(
    ERF,
    "erf",
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt``.

    Its derivative is ``2/sqrt(pi) * exp(-x**2)``. Takes arrays (returns arrays) and tensors.

    >>> from tapegrad.ops.special import erf
    >>> erf(np.array([0.0, 1.0]))
    array([0.        , 0.84270079])
    """,
)
erfc = unary_op(
    ERFC,
    "erfc",
    """The complementary error function ``1 - erf(x)``, accurate where it is tiny.

    >>> from tapegrad.ops.special import erfc
    >>> erfc(np.array([0.0, 5.0]))
    array([1.00000000e+00, 1.53745979e-12])
    """,
)
erfinv = unary_op(
    ERFINV,
    "erfinv",
    """The inverse error function: ``erf(erfinv(y)) = y`` for ``-1 < y < 1``.

    Its derivative is ``sqrt(pi)/2 * exp(erfinv(y)**2)``.

    >>> from tapegrad.ops.special import erfinv
    >>> erfinv(np.array([0.0, 0.5]))
    array([0.        , 0.47693628])
    """,
)


def register_batching() -> None:
    """Register this module's batching rules with ``tapegrad.batching`` (called by
    ``tapegrad.nn.functional`` once batching can be imported)."""
    from .. import batching

    for prim in (ERF, ERFC, ERFINV):
        batching.register_elementwise(prim)
