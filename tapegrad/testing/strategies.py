"""Hypothesis strategies for property-based tests of differentiable code.

The strategies draw inputs on which finite differences are trustworthy: finite, well-scaled
values, small shapes, and matrices whose inverse and factorisations are well conditioned.
They need `Hypothesis <https://hypothesis.readthedocs.io>`_ (``pip install hypothesis``),
which is imported when a strategy is first built, so importing :mod:`tapegrad.testing`
works without it.

>>> from hypothesis import given, settings
>>> from tapegrad.testing.strategies import arrays
>>> @settings(max_examples=20, deadline=None)
... @given(arrays(shape=(3,)))
... def test_grad_of_sum_of_squares(x):
...     np.testing.assert_allclose(tg.grad(lambda y: (y * y).sum())(x), 2 * x)
>>> test_grad_of_sum_of_squares()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "arrays",
    "shapes",
    "broadcastable_shapes",
    "well_conditioned_matrices",
    "spd_matrices",
]

#: Largest magnitude of a default element.
MAX_MAGNITUDE = 3.0
#: Smallest non-zero magnitude of a default element (exact in float16, float32 and float64).
MIN_MAGNITUDE = 0.125
#: Largest side of a default shape.
MAX_SIDE = 5


def _hypothesis() -> tuple[Any, Any]:
    """``(hypothesis.strategies, hypothesis.extra.numpy)``, with a clear error when missing."""
    try:
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tapegrad.testing.strategies needs Hypothesis: pip install hypothesis "
            "(or pip install 'tapegrad[test]')"
        ) from exc
    return st, hnp


def _default_elements(dtype: np.dtype) -> SearchStrategy[Any]:
    st, _ = _hypothesis()
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else -int(MAX_MAGNITUDE)
        return st.integers(low, int(MAX_MAGNITUDE))
    if dtype.kind == "f":
        width = dtype.itemsize * 8
        magnitude = st.floats(MIN_MAGNITUDE, MAX_MAGNITUDE, width=width)
        return st.one_of(magnitude, magnitude.map(lambda v: -v))
    if dtype.kind == "c":
        return st.complex_numbers(
            min_magnitude=MIN_MAGNITUDE,
            max_magnitude=MAX_MAGNITUDE,
            allow_nan=False,
            allow_infinity=False,
            width=dtype.itemsize * 8,
        )
    raise TypeError(f"arrays: no default elements for dtype {dtype.name}; pass elements=")


def arrays(
    dtype: Any = np.float64,
    shape: int | tuple[int, ...] | SearchStrategy[tuple[int, ...]] | None = None,
    elements: SearchStrategy[Any] | None = None,
) -> SearchStrategy[np.ndarray]:
    """NumPy arrays of finite, well-scaled values.

    Parameters
    ----------
    dtype : dtype-like, default ``np.float64``
        The arrays' dtype.
    shape : int, tuple of int, strategy of tuples, or None
        The shape, or a strategy drawing it; ``None`` draws one from :func:`shapes`.
    elements : strategy, optional
        The values. By default floating arrays hold values whose magnitude lies in
        ``[0.125, 3]`` with either sign: finite, never subnormal, and away from zero, where
        functions such as ``log(abs(x))``, ``1 / x`` or ``abs`` are singular or kinked.
        Complex arrays get magnitudes in the same range, integer arrays values in ``[-3, 3]``
        (``[0, 3]`` when unsigned), boolean arrays either value.

    Returns
    -------
    SearchStrategy of numpy.ndarray
        A 0-d array (not a NumPy scalar) when the shape is ``()``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from tapegrad.testing.strategies import arrays
    >>> @settings(max_examples=20, deadline=None)
    ... @given(arrays(np.float32, shape=(2, 3)))
    ... def test_values(x):
    ...     assert x.dtype == np.float32 and x.shape == (2, 3)
    ...     assert np.all(np.isfinite(x)) and np.all(np.abs(x) >= 0.125)
    >>> test_values()
    """
    _, hnp = _hypothesis()
    dtype = np.dtype(dtype)
    if shape is None:
        shape = shapes()
    if elements is None:
        elements = _default_elements(dtype)
    return hnp.arrays(dtype, shape, elements=elements)


def shapes(
    min_dims: int = 0, max_dims: int = 4, *, min_side: int = 1, max_side: int = MAX_SIDE
) -> SearchStrategy[tuple[int, ...]]:
    """Array shapes with ``min_dims`` to ``max_dims`` axes of small sides.

    Parameters
    ----------
    min_dims, max_dims : int
        Bounds on the number of axes; ``()`` (a 0-d array) is drawn when ``min_dims`` is 0.
    min_side, max_side : int, keyword-only
        Bounds on each side (default 1 to 5): no empty arrays unless ``min_side=0``.

    Returns
    -------
    SearchStrategy of tuple of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from tapegrad.testing.strategies import shapes
    >>> @settings(max_examples=20, deadline=None)
    ... @given(shapes(min_dims=1, max_dims=3))
    ... def test_shape(s):
    ...     assert 1 <= len(s) <= 3 and all(1 <= n <= 5 for n in s)
    >>> test_shape()
    """
    _, hnp = _hypothesis()
    if max_dims < min_dims:
        raise ValueError(f"shapes: max_dims={max_dims} is smaller than min_dims={min_dims}")
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    shape: tuple[int, ...],
    *,
    min_dims: int = 0,
    max_dims: int | None = None,
    min_side: int = 1,
    max_side: int = MAX_SIDE,
) -> SearchStrategy[tuple[int, ...]]:
    """Shapes that broadcast together with ``shape`` (NumPy's rules).

    Each drawn shape, aligned on the right with ``shape``, has at every axis either the same
    side, or 1, or any side where ``shape`` has 1; it may have fewer axes, or more (the extra
    leading axes have sides in ``[min_side, max_side]``). So ``np.broadcast_shapes(shape,
    drawn)`` always succeeds.

    Parameters
    ----------
    shape : tuple of int
        The shape to broadcast against.
    min_dims, max_dims : int, keyword-only
        Bounds on the number of axes of the drawn shape; ``max_dims`` defaults to one more
        than ``len(shape)``.
    min_side, max_side : int, keyword-only
        Bounds on sides the drawn shape chooses freely.

    Returns
    -------
    SearchStrategy of tuple of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from tapegrad.testing.strategies import broadcastable_shapes
    >>> @settings(max_examples=20, deadline=None)
    ... @given(broadcastable_shapes((2, 1, 3)))
    ... def test_broadcasts(s):
    ...     out = np.broadcast_shapes((2, 1, 3), s)
    ...     assert out[-1] == 3 and len(out) == max(3, len(s))
    >>> test_broadcasts()
    """
    _, hnp = _hypothesis()
    shape = tuple(int(n) for n in shape)
    if max_dims is None:
        max_dims = max(len(shape), min_dims) + 1
    return hnp.broadcastable_shapes(
        shape, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def _orthogonal(n: int) -> SearchStrategy[np.ndarray]:
    """Orthogonal ``n x n`` float64 matrices: the Q factor of a drawn matrix."""
    st, hnp = _hypothesis()
    raw = hnp.arrays(np.float64, (n, n), elements=st.floats(-1.0, 1.0))
    # Householder QR gives an exactly orthogonal Q (to rounding) even for a singular matrix.
    return raw.map(lambda m: np.linalg.qr(m)[0])


def _check_n(n: int, who: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{who}: n must be a positive int, got {n!r}")
    return int(n)


def well_conditioned_matrices(
    n: int, *, dtype: Any = np.float64, max_condition: float = 10.0
) -> SearchStrategy[np.ndarray]:
    """Invertible ``n x n`` matrices whose 2-norm condition number is at most ``max_condition``.

    Each matrix is ``U @ diag(s) @ V.T`` for drawn orthogonal ``U``, ``V`` and singular values
    ``s`` in ``[c, c * max_condition]`` with a drawn scale ``c`` in ``[0.5, 2]``: general
    (neither symmetric nor triangular), with inverses, solves and determinants that finite
    differences can check.

    Parameters
    ----------
    n : int
        Number of rows and columns.
    dtype : dtype-like, keyword-only
        A floating dtype (default float64); the matrix is built in float64 and then cast.
    max_condition : float, keyword-only
        Bound on ``np.linalg.cond(a)`` (up to rounding of the cast).

    Returns
    -------
    SearchStrategy of numpy.ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from tapegrad.testing.strategies import well_conditioned_matrices
    >>> @settings(max_examples=20, deadline=None)
    ... @given(well_conditioned_matrices(3))
    ... def test_inverse(a):
    ...     np.testing.assert_allclose(a @ np.linalg.inv(a), np.eye(3), atol=1e-12)
    >>> test_inverse()
    """
    st, _ = _hypothesis()
    n = _check_n(n, "well_conditioned_matrices")
    dtype = np.dtype(dtype)
    if max_condition < 1:
        raise ValueError(
            f"well_conditioned_matrices: max_condition must be >= 1, got {max_condition}"
        )
    singular = st.lists(st.floats(1.0, float(max_condition)), min_size=n, max_size=n).map(np.array)
    scale = st.floats(0.5, 2.0)

    def build(parts: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> np.ndarray:
        u, v, s, c = parts
        return ((u * (c * s)) @ v.T).astype(dtype)

    return st.tuples(_orthogonal(n), _orthogonal(n), singular, scale).map(build)


def spd_matrices(
    n: int, *, dtype: Any = np.float64, max_condition: float = 10.0
) -> SearchStrategy[np.ndarray]:
    """Symmetric positive-definite ``n x n`` matrices with bounded condition number.

    Each matrix is ``Q @ diag(w) @ Q.T`` for a drawn orthogonal ``Q`` and eigenvalues ``w`` in
    ``[c, c * max_condition]`` with a drawn scale ``c`` in ``[0.5, 2]``, made exactly symmetric.
    Every eigenvalue is at least about 0.5, so Cholesky factorisations and solves are stable.

    Parameters
    ----------
    n : int
        Number of rows and columns.
    dtype : dtype-like, keyword-only
        A floating dtype (default float64); the matrix is built in float64 and then cast.
    max_condition : float, keyword-only
        Bound on the ratio of the largest to the smallest eigenvalue.

    Returns
    -------
    SearchStrategy of numpy.ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from tapegrad.testing.strategies import spd_matrices
    >>> @settings(max_examples=20, deadline=None)
    ... @given(spd_matrices(4))
    ... def test_spd(a):
    ...     assert np.array_equal(a, a.T)
    ...     assert np.linalg.eigvalsh(a).min() > 0.4
    ...     np.linalg.cholesky(a)
    >>> test_spd()
    """
    st, _ = _hypothesis()
    n = _check_n(n, "spd_matrices")
    dtype = np.dtype(dtype)
    if max_condition < 1:
        raise ValueError(f"spd_matrices: max_condition must be >= 1, got {max_condition}")
    eigen = st.lists(st.floats(1.0, float(max_condition)), min_size=n, max_size=n).map(np.array)
    scale = st.floats(0.5, 2.0)

    def build(parts: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
        q, w, c = parts
        a = (q * (c * w)) @ q.T
        return ((a + a.T) / 2).astype(dtype)

    return st.tuples(_orthogonal(n), eigen, scale).map(build)
