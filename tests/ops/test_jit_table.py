"""``tg.jit`` over the whole op table: a replay gives what the function gives.

For each row and case, a function computing the op's value, its VJP along a cotangent and
its JVP along a tangent is jitted. The first call records it; a second call, on new values of
the same shapes, replays the recording. Both must equal the eager function's results, and the
recording must replay (not fall back to running eagerly) unless the row says why it cannot.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg

from .specs import SPECS, OpSpec
from .test_table import _closure, _draw_args, _kwargs

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _params() -> list[Any]:
    return [
        pytest.param(spec, case, id=f"{spec.name}-{case.id}")
        for spec in SPECS
        for case in spec.cases
    ]


def _nudged(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """New values near ``x``, of its dtype and sign (so they stay in the op's domain)."""
    if x.dtype.kind not in "fc":
        return x
    step = 1 + 1e-3 * rng.uniform(-1, 1, x.shape)
    return np.asarray(x * step).astype(x.dtype)


def _program(spec: OpSpec, args: list[Any], kwargs: dict[str, Any]) -> Any:
    f = _closure(spec, args, kwargs)

    def value_vjp_jvp(xs: tuple[Any, ...], v: Any, us: tuple[Any, ...]) -> Any:
        out, pull = tg.vjp(f, *xs)
        _, tangent = tg.jvp(f, xs, us)
        return out, pull(v), tangent

    return value_vjp_jvp


def _assert_same(got: Any, want: Any) -> None:
    got_leaves, want_leaves = tg.pytree.tree_leaves(got), tg.pytree.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert type(g) is type(w), (type(g), type(w))
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        # Where a rule has a fast branch for some values, a recording takes its general
        # branch, which may round differently: relative to the largest entry, not exact.
        scale = float(np.max(np.abs(w), initial=0.0, where=np.isfinite(w))) if w.size else 0.0
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


@pytest.mark.parametrize(("spec", "case"), _params())
@settings(max_examples=3)
@given(data=st.data())
def test_replay_equals_eager(spec: OpSpec, case: Any, data: st.DataObject) -> None:
    args = _draw_args(data, spec, case)
    kwargs = _kwargs(case)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    xs = tuple(args[p] for p in spec.diff_positions)
    fn = _program(spec, args, kwargs)
    out = np.asarray(_closure(spec, args, kwargs)(*xs))
    v = np.asarray(rng.standard_normal(out.shape)).astype(out.dtype)
    us = tuple(np.asarray(rng.standard_normal(x.shape)).astype(x.dtype) for x in xs)
    jitted = tg.jit(fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _assert_same(jitted(xs, v, us), fn(xs, v, us))
    fallbacks = [str(w.message) for w in caught if "runs eagerly" in str(w.message)]
    assert not fallbacks, fallbacks
    # New values of the same shapes: the recording is replayed.
    xs2 = tuple(_nudged(rng, x) for x in xs)
    v2 = _nudged(rng, v)
    _assert_same(jitted(xs2, v2, us), fn(xs2, v2, us))
    assert len(jitted.programs) == 1
