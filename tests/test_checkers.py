"""The checkers and the strategies that the rest of the suite relies on.

A checker that never fails proves nothing, so ``check_grads`` and ``gradcheck`` are run on
primitives whose rules are deliberately wrong (a VJP rule, a JVP rule, or a rule that is right
at first order but not differentiable itself) and must fail on each, in the mode that uses the
wrong rule; on correct functions they must pass. The Hypothesis strategies of
``tapegrad.testing.strategies`` must draw what their docstrings promise.
"""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
from tapegrad.autograd.gradcheck import GradcheckError
from tapegrad.ops import elementwise as ew
from tapegrad.ops import linalg as la
from tapegrad.ops import reduce as rd
from tapegrad.primitive import Primitive, bind
from tapegrad.tensor import Tensor
from tapegrad.testing import strategies as tgst

# ------------------------------------------------------------------------------ test primitives


def _sin_fwd(xp: Any, x: Any) -> Any:
    return xp.sin(x)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


SIN = Primitive(
    "test_sin",
    _sin_fwd,
    (lambda g, x, out: g * ew.cos(x),),
    lambda t, x, out: t[0] * ew.cos(x),
    uses=((0,),),
)
# The VJP rule has the wrong sign; the JVP rule is right.
SIN_BAD_VJP = Primitive(
    "test_sin_bad_vjp",
    _sin_fwd,
    (lambda g, x, out: ew.negative(g) * ew.cos(x),),
    lambda t, x, out: t[0] * ew.cos(x),
    uses=((0,),),
)
# The JVP rule is 1% off; the VJP rule is right.
SIN_BAD_JVP = Primitive(
    "test_sin_bad_jvp",
    _sin_fwd,
    (lambda g, x, out: g * ew.cos(x),),
    lambda t, x, out: t[0] * (ew.cos(x) * 1.01),
    uses=((0,),),
)
# Both rules give the right first derivative but compute cos(x) on raw data, outside the tape:
# nothing records them, so second derivatives come out wrong.
SIN_OPAQUE_RULES = Primitive(
    "test_sin_opaque_rules",
    _sin_fwd,
    (lambda g, x, out: g * np.cos(_raw(x)),),
    lambda t, x, out: t[0] * np.cos(_raw(x)),
    uses=((0,),),
)
# A binary primitive whose VJP rule for the second argument is wrong (a*b, d/db = a + 0.1).
MUL_BAD_SECOND = Primitive(
    "test_mul_bad_second",
    lambda xp, a, b: xp.multiply(a, b),
    (lambda g, a, b, out: g * b, lambda g, a, b, out: g * (a + 0.1)),
    lambda t, a, b, out: _mul_tangent(t, a, b),
    uses=((1,), (0,)),
)


def _mul_tangent(t: tuple[Any, Any], a: Any, b: Any) -> Any:
    terms = [
        d
        for d in (None if t[0] is None else t[0] * b, None if t[1] is None else a * t[1])
        if d is not None
    ]
    return None if not terms else terms[0] if len(terms) == 1 else terms[0] + terms[1]


def sin(x: Any) -> Any:
    return bind(SIN, (x,))


def sin_bad_vjp(x: Any) -> Any:
    return bind(SIN_BAD_VJP, (x,))


def sin_bad_jvp(x: Any) -> Any:
    return bind(SIN_BAD_JVP, (x,))


def sin_opaque_rules(x: Any) -> Any:
    return bind(SIN_OPAQUE_RULES, (x,))


def mul_bad_second(a: Any, b: Any) -> Any:
    return bind(MUL_BAD_SECOND, (a, b))


X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.5, 0.7, -0.4])

# ------------------------------------------------------------------------------ check_grads


CORRECT_FUNCTIONS = {
    "test_sin": (sin, (X,)),
    "sin_times_x": (lambda x: ew.multiply(ew.sin(x), x), (X,)),
    "exp_sum": (lambda x: rd.sum(ew.exp(x)), (X,)),
    "matmul": (la.matmul, (np.arange(6.0).reshape(2, 3) / 5, np.array([[1.0], [-0.5], [2.0]]))),
    "two_args": (lambda x, y: ew.true_divide(ew.tanh(x), ew.add(ew.square(y), 1.0)), (X, Y)),
    "logsumexp": (lambda x: rd.logsumexp(x, axis=0), (np.stack([X, Y]),)),
    "scalar": (lambda x: ew.multiply(ew.sin(x), ew.exp(x)), (0.7,)),
}


@pytest.mark.parametrize("name", CORRECT_FUNCTIONS)
@pytest.mark.parametrize("order", [1, 2])
def test_check_grads_passes_on_correct_functions(name: str, order: int) -> None:
    f, args = CORRECT_FUNCTIONS[name]
    assert tg.testing.check_grads(f, args, order=order) is None


def test_check_grads_passes_through_order_three() -> None:
    tg.testing.check_grads(lambda x: ew.multiply(ew.sin(x), ew.square(x)), (X,), order=3)


def test_check_grads_fails_on_a_wrong_vjp_rule() -> None:
    with pytest.raises(AssertionError, match="reverse mode"):
        tg.testing.check_grads(sin_bad_vjp, (X,), order=1)
    with pytest.raises(AssertionError, match="reverse mode"):
        tg.testing.check_grads(sin_bad_vjp, (X,), order=1, modes=("rev",))
    # Forward mode does not use the VJP rule: it passes alone.
    tg.testing.check_grads(sin_bad_vjp, (X,), order=1, modes=("fwd",))


def test_check_grads_fails_on_a_wrong_jvp_rule() -> None:
    with pytest.raises(AssertionError, match="forward mode"):
        tg.testing.check_grads(sin_bad_jvp, (X,), order=1)
    with pytest.raises(AssertionError, match="forward mode"):
        tg.testing.check_grads(sin_bad_jvp, (X,), order=1, modes=("fwd",))
    tg.testing.check_grads(sin_bad_jvp, (X,), order=1, modes=("rev",))


def test_check_grads_fails_on_a_wrong_rule_inside_a_composition() -> None:
    f = lambda x: rd.sum(ew.multiply(sin_bad_vjp(ew.exp(x)), x))  # noqa: E731
    with pytest.raises(AssertionError):
        tg.testing.check_grads(f, (X,), order=1, modes=("rev",))
    g = lambda x: rd.sum(ew.multiply(sin_bad_jvp(ew.exp(x)), x))  # noqa: E731
    with pytest.raises(AssertionError):
        tg.testing.check_grads(g, (X,), order=1, modes=("fwd",))


def test_check_grads_fails_on_a_wrong_rule_for_one_argument() -> None:
    with pytest.raises(AssertionError, match="reverse mode"):
        tg.testing.check_grads(mul_bad_second, (X, Y), order=1, modes=("rev",))
    # With the second argument held fixed, the remaining rule is right.
    tg.testing.check_grads(lambda a: mul_bad_second(a, Y), (X,), order=1, modes=("rev",))


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_check_grads_catches_rules_that_are_not_differentiable(mode: str) -> None:
    # First derivatives are right...
    tg.testing.check_grads(sin_opaque_rules, (X,), order=1, modes=(mode,))
    # ...second derivatives are not, and only order 2 can tell.
    with pytest.raises(AssertionError, match="order 2"):
        tg.testing.check_grads(sin_opaque_rules, (X,), order=2, modes=(mode,))


def test_check_grads_message_names_the_error() -> None:
    with pytest.raises(AssertionError) as info:
        tg.testing.check_grads(sin_bad_jvp, (X,), order=1, modes=("fwd",))
    message = str(info.value)
    assert "element" in message and "finite differences" in message


def test_check_grads_float32_defaults() -> None:
    x = X.astype(np.float32)
    tg.testing.check_grads(sin, (x,), order=1)
    with pytest.raises(AssertionError):
        tg.testing.check_grads(sin_bad_vjp, (x,), order=1, modes=("rev",))


# ------------------------------------------------------------------------------ gradcheck


def _leaf(values: np.ndarray) -> tg.Tensor:
    return tg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_gradcheck_passes_on_correct_functions() -> None:
    x, y = _leaf(X), _leaf(Y)
    assert tg.autograd.gradcheck(sin, (x,)) is True
    assert tg.autograd.gradcheck(lambda a, b: (a * b).sin() + a.exp() / (1 + b * b), (x, y))
    m = _leaf(np.arange(6.0).reshape(2, 3) / 5)
    assert tg.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (m, _leaf(Y)))
    assert tg.autograd.gradcheck(lambda a: a.sum(dim=1).log_softmax(0), (m,))


def test_gradcheck_fails_on_a_wrong_vjp_rule() -> None:
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        tg.autograd.gradcheck(sin_bad_vjp, (_leaf(X),))
    assert tg.autograd.gradcheck(sin_bad_vjp, (_leaf(X),), raise_exception=False) is False
    with pytest.raises(GradcheckError):
        tg.autograd.gradcheck(mul_bad_second, (_leaf(X), _leaf(Y)))
    # Only the tensors that require grad are checked, as in PyTorch.
    assert tg.autograd.gradcheck(mul_bad_second, (_leaf(X), tg.tensor(Y)))


def test_gradcheck_error_is_a_runtime_error() -> None:
    assert issubclass(GradcheckError, RuntimeError)


def test_gradcheck_checks_reverse_mode_by_default() -> None:
    # PyTorch's gradcheck compares reverse-mode Jacobians unless check_forward_ad=True; a wrong
    # JVP rule is invisible to it by default.
    assert tg.autograd.gradcheck(sin_bad_jvp, (_leaf(X),)) is True


def test_gradcheck_fails_on_a_wrong_jvp_rule_with_check_forward_ad() -> None:
    with pytest.raises(GradcheckError):
        tg.autograd.gradcheck(sin_bad_jvp, (_leaf(X),), check_forward_ad=True)
    assert tg.autograd.gradcheck(sin, (_leaf(X),), check_forward_ad=True)


# ------------------------------------------------------------------------------ strategies


def test_strategies_are_exported() -> None:
    assert tg.testing.strategies is tgst
    assert "strategies" in tg.testing.__all__
    for name in tgst.__all__:
        assert callable(getattr(tgst, name))


def test_strategy_docstring_examples_run() -> None:
    result = doctest.testmod(tgst, extraglobs={"np": np, "tg": tg}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@given(st.data())
def test_arrays_default_elements_are_finite_and_well_scaled(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.float16]), label="dtype")
    x = data.draw(tgst.arrays(dtype), label="x")
    assert isinstance(x, np.ndarray) and x.dtype == dtype
    assert 0 <= x.ndim <= 4 and all(1 <= n <= 5 for n in x.shape)
    assert np.all(np.isfinite(x))
    assert np.all(np.abs(x) <= 3.0) and np.all(np.abs(x) >= 0.125)


@given(st.data())
def test_arrays_honour_shape_dtype_and_elements(data: st.DataObject) -> None:
    shape = data.draw(tgst.shapes(), label="shape")
    x = data.draw(tgst.arrays(shape=shape), label="x")
    assert x.shape == shape and x.dtype == np.float64
    y = data.draw(tgst.arrays(np.float32, 4, elements=st.floats(0.5, 1.0, width=32)), label="y")
    assert y.shape == (4,) and y.dtype == np.float32 and np.all((y >= 0.5) & (y <= 1.0))
    z = data.draw(tgst.arrays(np.float64, tgst.shapes(min_dims=2, max_dims=2)), label="z")
    assert z.ndim == 2


@given(st.data())
def test_arrays_of_other_dtypes(data: st.DataObject) -> None:
    i = data.draw(tgst.arrays(np.int64, (3,)), label="ints")
    assert i.dtype == np.int64 and np.all(np.abs(i) <= 3)
    b = data.draw(tgst.arrays(np.bool_, (2, 2)), label="bools")
    assert b.dtype == np.bool_
    c = data.draw(tgst.arrays(np.complex128, (3,)), label="complex")
    assert c.dtype == np.complex128 and np.all(np.isfinite(c))
    assert np.all((np.abs(c) <= 3.0 + 1e-9) & (np.abs(c) >= 0.125 - 1e-9))


@given(st.data())
def test_shapes_respect_their_bounds(data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, 3), label="min_dims")
    hi = data.draw(st.integers(lo, 4), label="max_dims")
    s = data.draw(tgst.shapes(min_dims=lo, max_dims=hi), label="shape")
    assert isinstance(s, tuple) and lo <= len(s) <= hi
    assert all(isinstance(n, int) and 1 <= n <= 5 for n in s)


def test_shapes_reject_inverted_bounds() -> None:
    with pytest.raises(ValueError):
        tgst.shapes(min_dims=3, max_dims=1)


@given(st.data())
def test_broadcastable_shapes_broadcast(data: st.DataObject) -> None:
    shape = data.draw(tgst.shapes(), label="shape")
    other = data.draw(tgst.broadcastable_shapes(shape), label="other")
    assert len(other) <= len(shape) + 1 and all(1 <= n <= 5 for n in other)
    # Aligned on the right, each pair of sides is equal or has a 1 ...
    for a, b in zip(reversed(shape), reversed(other), strict=False):
        assert a == b or 1 in (a, b), (shape, other)
    # ... so arrays of the two shapes broadcast together.
    out = np.broadcast_shapes(shape, other)
    assert np.broadcast(np.empty(shape), np.empty(other)).shape == out


@given(st.data())
def test_well_conditioned_matrices_have_bounded_condition_number(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 5), label="n")
    kappa = data.draw(st.sampled_from([1.0, 4.0, 10.0, 100.0]), label="max_condition")
    a = data.draw(tgst.well_conditioned_matrices(n, max_condition=kappa), label="a")
    assert a.shape == (n, n) and a.dtype == np.float64 and np.all(np.isfinite(a))
    s = np.linalg.svd(a, compute_uv=False)
    assert s.min() >= 0.5 * (1 - 1e-9)
    assert np.linalg.cond(a) <= kappa * (1 + 1e-9)


@given(st.data())
def test_spd_matrices_are_symmetric_positive_definite(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 5), label="n")
    a = data.draw(tgst.spd_matrices(n), label="a")
    assert a.shape == (n, n) and a.dtype == np.float64
    np.testing.assert_array_equal(a, a.T)
    w = np.linalg.eigvalsh(a)
    assert np.all(w > 0) and w.min() >= 0.5 * (1 - 1e-9)
    assert w.max() / w.min() <= 10.0 * (1 + 1e-9)
    np.linalg.cholesky(a)


@given(st.data())
def test_matrix_strategies_take_a_dtype(data: st.DataObject) -> None:
    a = data.draw(tgst.spd_matrices(3, dtype=np.float32), label="spd")
    assert a.dtype == np.float32 and np.array_equal(a, a.T)
    assert np.linalg.eigvalsh(a.astype(np.float64)).min() > 0
    b = data.draw(tgst.well_conditioned_matrices(3, dtype=np.float32), label="wc")
    assert b.dtype == np.float32 and np.linalg.cond(b.astype(np.float64)) <= 10.0 * (1 + 1e-5)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_matrix_strategies_reject_bad_sizes(bad: Any) -> None:
    with pytest.raises(ValueError):
        tgst.spd_matrices(bad)
    with pytest.raises(ValueError):
        tgst.well_conditioned_matrices(bad)


def test_importing_tapegrad_does_not_import_hypothesis() -> None:
    import subprocess
    import sys

    code = "import sys, tapegrad; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
