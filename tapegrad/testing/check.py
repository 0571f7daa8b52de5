"""``check_grads``: every derivative up to ``order`` against central finite differences.

The arguments may live on any device (NumPy, CuPy or another array module's arrays, or
tensors holding them): the random directions and cotangents are drawn on the host and moved
to the array module of the value they go with, the function and its derivatives run there,
and only the numbers compared come back to the host, in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["check_grads"]

_DEFAULT_EPS = {np.dtype(np.float64): 1e-4, np.dtype(np.float32): 1e-2, np.dtype(np.float16): 1e-1}
_DEFAULT_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 2e-2, np.dtype(np.float16): 1e-1}


def _raw(x: Any) -> Any:
    from ..tensor import Tensor

    return x.data if isinstance(x, Tensor) else x


def _host64(x: Any) -> np.ndarray:
    """``x`` (an array of any device, a tensor, a number) on the host, in float64."""
    from ..backend import to_host

    return np.asarray(to_host(_raw(x)), dtype=np.float64)


def _dtype(x: Any) -> np.dtype:
    raw = _raw(x)
    dtype = getattr(raw, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(raw).dtype


def _on_device_of(host: np.ndarray, like: Any) -> Any:
    """Host data as an array of ``like``'s array module, on ``like``'s device."""
    from ..backend import namespace

    raw = _raw(like)
    xp = namespace(raw)
    if xp is np:
        return host
    dev = getattr(raw, "device", None)
    if hasattr(dev, "__enter__") and hasattr(dev, "__exit__"):  # a CuPy device
        with dev:
            return xp.asarray(host)
    return xp.asarray(host)


def _inner(a: Sequence[Any], b: Sequence[Any]) -> float:
    return float(sum(np.vdot(_host64(x).ravel(), _host64(y).ravel()).real for x, y in zip(a, b)))


def _flat_out(out: Any) -> list[Any]:
    from ..pytree import tree_flatten

    return tree_flatten(out)[0]


def _assert_close(name: str, analytic: float, numeric: float, atol: float, rtol: float) -> None:
    err = abs(analytic - numeric)
    if not err <= atol + rtol * abs(numeric) or np.isnan(analytic) != np.isnan(numeric):
        raise AssertionError(
            f"{name}: derivative {analytic!r} differs from the central finite difference "
            f"{numeric!r} (abs error {err:.3g}, allowed {atol + rtol * abs(numeric):.3g})"
        )


def _directional(
    f: Callable[..., Any], args: Sequence[Any], u: Sequence[Any], eps: float
) -> list[Any]:
    """Central difference of ``f`` at ``args`` along direction ``u``."""
    plus = _flat_out(f(*[a + eps * d for a, d in zip(args, u)]))
    minus = _flat_out(f(*[a - eps * d for a, d in zip(args, u)]))
    return [(_host64(p) - _host64(m)) / (2 * eps) for p, m in zip(plus, minus)]


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    atol: float | None = None,
    rtol: float | None = None,
    eps: float | None = None,
) -> None:
    """Check the derivatives of ``f`` at ``args`` against central finite differences.

    Reverse mode is checked through ``<v, J u> = <vjp(v), u>`` and forward mode through
    ``jvp(u) = J u`` for random directions ``u`` and ``v``; with ``order`` > 1 the same checks
    run on the derivative functions themselves. Raises ``AssertionError`` naming the worst
    disagreement.

    The arguments may be arrays of any device (NumPy, CuPy) or tensors: directions and
    cotangents are drawn on the host, moved to the device of the value they go with, and the
    results are compared on the host.

    >>> import numpy as np, tapegrad as tg
    >>> tg.testing.check_grads(lambda x: np.sin(x) * x, (np.array([0.3, 1.2]),), order=2)
    """
    from ..transforms import jvp, vjp

    args = tuple(
        np.asarray(a, dtype=np.float64) if isinstance(a, (int, float)) else a for a in args
    )
    dtype = np.result_type(*[_dtype(a) for a in args])
    eps = eps if eps is not None else _DEFAULT_EPS.get(np.dtype(dtype), 1e-4)
    atol = atol if atol is not None else _DEFAULT_TOL.get(np.dtype(dtype), 1e-5)
    rtol = rtol if rtol is not None else _DEFAULT_TOL.get(np.dtype(dtype), 1e-5)
    rng = np.random.default_rng(0)

    def rand_like(x: Any) -> Any:
        raw = _raw(x)
        shape = raw.shape if hasattr(raw, "shape") else np.shape(raw)
        host = rng.standard_normal(shape).astype(_dtype(x))
        return _on_device_of(host, x)

    def check(fun: Callable[..., Any], xs: Sequence[Any], remaining: int) -> None:
        if remaining == 0:
            return
        u = [rand_like(x) for x in xs]
        numeric = _directional(fun, xs, u, eps)
        if "fwd" in modes:
            _, t_out = jvp(fun, tuple(xs), tuple(u))
            t_flat = _flat_out(t_out)
            for i, (a, n) in enumerate(zip(t_flat, numeric)):
                a64 = _host64(a)
                err = np.abs(a64 - n) - (atol + rtol * np.abs(n))
                if np.any(err > 0):
                    k = int(np.argmax(err))
                    raise AssertionError(
                        f"forward mode, order {order - remaining + 1}, output {i}: element {k} "
                        f"is {a64.ravel()[k]!r}, finite differences give {n.ravel()[k]!r}"
                    )

            def fwd_fun(*ys: Any) -> Any:
                return jvp(fun, tuple(ys), tuple(u))[1]

            check(fwd_fun, xs, remaining - 1)
        if "rev" in modes:
            out, pullback = vjp(fun, *xs)
            v = [rand_like(o) for o in _flat_out(out)]
            from ..pytree import tree_flatten, tree_unflatten

            _, out_def = tree_flatten(out)
            cot = pullback(tree_unflatten(out_def, v))
            _assert_close(
                f"reverse mode, order {order - remaining + 1}",
                _inner(cot, u),
                _inner(v, numeric),
                atol,
                rtol,
            )

            def rev_fun(*ys: Any) -> Any:
                return vjp(fun, *ys)[1](tree_unflatten(out_def, v))

            check(rev_fun, xs, remaining - 1)

    check(f, list(args), order)
