"""The JAX-style transforms: grad, value_and_grad, vjp, jvp, jacrev, jacfwd, hessian.

Derivatives are checked against central finite differences and against each other
(``<v, J u> = <J^T v, u>``, ``jacrev = jacfwd``) over the op table of ``tests/ops/specs.py``;
Hessians and higher derivatives against closed forms. Also: nesting (perturbation
confusion), pytrees and ``argnums``, dtypes and return types, the Tensor facade on both sides
of a transform, error messages, and that Jacobians are vectorised (one forward run and one
batched sweep, not a loop over basis vectors).
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from ops.specs import DRAWN, DRAWN_BROADCAST, DRAWN_SAME, SPECS, Booleans, Domain, Integers

import tapegrad as tg
from tapegrad.ops import elementwise as ew
from tapegrad.ops import linalg as la
from tapegrad.ops import nn as tnn
from tapegrad.ops import reduce as rd
from tapegrad.testing import strategies as tgst

# ------------------------------------------------------------------------------ helpers


def _draw(rng: np.random.Generator, arg: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A value of one argument of a spec row, inside its domain."""
    if isinstance(arg, Domain):
        out = np.empty(shape)
        flat = out.reshape(-1)
        for i in range(flat.size):
            lo, hi = arg.intervals[rng.integers(len(arg.intervals))]
            flat[i] = rng.uniform(lo, hi)
        return out if shape else np.asarray(out)
    if isinstance(arg, Booleans):
        return rng.random(shape) < 0.5
    assert isinstance(arg, Integers)
    return rng.integers(arg.low, arg.high + 1, size=shape)


def _fixed_shapes(case: Any, nargs: int) -> list[tuple[int, ...]]:
    if case.shapes == DRAWN:
        return [(2, 3)]
    if case.shapes in (DRAWN_BROADCAST, DRAWN_SAME):
        return [(2, 3)] * nargs
    return list(case.shapes)


def _spec_cases():
    for spec in SPECS:
        for case in spec.cases:
            if spec.dtype is not None:
                continue  # casts: their point is the input dtype, covered by the op table
            yield pytest.param(spec, case, id=f"{spec.name}-{case.id}")


def _setup(spec: Any, case: Any, seed: int = 0):
    rng = np.random.default_rng(seed)
    args = [_draw(rng, a, s) for a, s in zip(spec.args, _fixed_shapes(case, len(spec.args)))]
    if spec.prepare is not None:
        args = spec.prepare(args)
    pos = spec.diff_positions
    kwargs = dict(case.kwargs)

    def f(*xs: Any) -> Any:
        full = list(args)
        for p, x in zip(pos, xs):
            full[p] = x
        return spec.fn(*full, **kwargs)

    return f, [args[p] for p in pos], rng


def _fd_jacobian(f: Any, xs: list[np.ndarray], k: int, eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of ``f`` in its argument ``k``: shape out + in."""
    x = xs[k]
    out_shape = np.shape(f(*xs))
    cols = []
    for i in range(x.size):
        d = np.zeros(x.size)
        d[i] = eps
        d = d.reshape(x.shape)
        plus = list(xs)
        minus = list(xs)
        plus[k] = x + d
        minus[k] = x - d
        cols.append((np.asarray(f(*plus)) - np.asarray(f(*minus))).reshape(-1) / (2 * eps))
    jac = np.stack(cols, axis=-1) if cols else np.zeros((int(np.prod(out_shape)), 0))
    return jac.reshape(out_shape + x.shape)


# ------------------------------------------------------------------------------ the op table


@pytest.mark.parametrize("spec, case", list(_spec_cases()))
def test_jacobians_agree_with_finite_differences(spec: Any, case: Any) -> None:
    """jacrev = jacfwd = central differences, and <v, J u> = <J^T v, u>, for every row."""
    f, xs, rng = _setup(spec, case)
    nums = tuple(range(len(xs)))
    j_rev = tg.jacrev(f, argnums=nums)(*xs)
    j_fwd = tg.jacfwd(f, argnums=nums)(*xs)
    out = np.asarray(f(*xs))
    for k in nums:
        fd = _fd_jacobian(f, xs, k)
        assert j_rev[k].shape == out.shape + xs[k].shape
        np.testing.assert_allclose(j_rev[k], fd, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(j_fwd[k], j_rev[k], rtol=1e-12, atol=1e-12)
    # The adjoint identity with random u and v, through vjp and jvp.
    us = [rng.standard_normal(np.shape(x)) for x in xs]
    v = rng.standard_normal(out.shape)
    _, t_out = tg.jvp(f, tuple(xs), tuple(us))
    _, pullback = tg.vjp(f, *xs)
    cots = pullback(v)
    lhs = float(np.vdot(v, t_out))
    rhs = sum(float(np.vdot(c, u)) for c, u in zip(cots, us))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


@given(
    x=tgst.arrays(np.float64, (4,), elements=st.floats(-2, 2)),
    u=tgst.arrays(np.float64, (4,), elements=st.floats(-1, 1)),
    v=tgst.arrays(np.float64, (3,), elements=st.floats(-1, 1)),
)
def test_adjoint_identity_on_a_composite(x: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """<v, J u> = <J^T v, u> for a function mixing matmul, reductions and nonlinearities."""
    W = np.arange(12.0).reshape(3, 4) / 10 - 0.5

    def f(x: Any) -> Any:
        h = ew.tanh(la.matmul(W, x)) * ew.sigmoid(rd.sum(x))
        return tnn.softmax(h) + ew.exp(h) / 3

    _, ju = tg.jvp(f, (x,), (u,))
    (jtv,) = tg.vjp(f, x)[1](v)
    assert float(np.vdot(v, ju)) == pytest.approx(float(np.vdot(jtv, u)), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(tg.jacrev(f)(x) @ u, ju, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tg.jacfwd(f)(x).T @ v, jtv, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ Hessians


def rosenbrock(x: Any) -> Any:
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i, i + 1] += -400 * x[i]
        h[i + 1, i] += -400 * x[i]
        h[i + 1, i + 1] += 200
    return h


def test_hessian_of_a_quadratic_form() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    b = rng.standard_normal(5)

    def f(x: Any) -> Any:
        return la.matmul(x, la.matmul(a, x)) + la.matmul(b, x)

    x = rng.standard_normal(5)
    np.testing.assert_allclose(tg.hessian(f)(x), a + a.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tg.jacrev(tg.jacrev(f))(x), a + a.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tg.jacfwd(tg.jacfwd(f))(x), a + a.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tg.jacrev(tg.grad(f))(x), a + a.T, rtol=1e-12, atol=1e-12)


def test_hessian_of_rosenbrock() -> None:
    x = np.array([-1.2, 1.0, 0.5, -0.3, 2.0, 0.1])
    expected = rosenbrock_hessian(x)
    for h in (tg.hessian(rosenbrock), tg.jacrev(tg.jacrev(rosenbrock)),
              tg.jacfwd(tg.jacrev(rosenbrock)), tg.jacrev(tg.jacfwd(rosenbrock))):
        np.testing.assert_allclose(h(x), expected, rtol=1e-12, atol=1e-9)
    # Hessian-vector product, forward over reverse.
    v = np.arange(6.0)
    _, hv = tg.jvp(tg.grad(rosenbrock), (x,), (v,))
    np.testing.assert_allclose(hv, expected @ v, rtol=1e-12, atol=1e-9)


def test_hessian_with_several_arguments_gives_blocks() -> None:
    def f(x: Any, y: Any) -> Any:
        return (x**2 * y).sum() + (y**3).sum()

    x = np.array([1.0, 2.0])
    y = np.array([3.0, -1.0])
    h = tg.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(h[0][0], np.diag(2 * y))
    np.testing.assert_allclose(h[0][1], np.diag(2 * x))
    np.testing.assert_allclose(h[1][0], np.diag(2 * x))
    np.testing.assert_allclose(h[1][1], np.diag(6 * y))


# ------------------------------------------------------------------------------ higher order

FOURTH_ORDER = {
    "sin": (ew.sin, [np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), np.sin]),
    "exp": (ew.exp, [np.exp] * 4),
    "tanh": (
        ew.tanh,
        [
            lambda x: 1 - np.tanh(x) ** 2,
            lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
            lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2),
            lambda x: (1 - np.tanh(x) ** 2) * (16 * np.tanh(x) - 24 * np.tanh(x) ** 3),
        ],
    ),
    "poly": (
        lambda x: 3 * x**5 - 2 * x**3 + x,
        [
            lambda x: 15 * x**4 - 6 * x**2 + 1,
            lambda x: 60 * x**3 - 12 * x,
            lambda x: 180 * x**2 - 12,
            lambda x: 360 * x,
        ],
    ),
}


@pytest.mark.parametrize("name", FOURTH_ORDER)
def test_derivatives_to_fourth_order_by_nested_grad(name: str) -> None:
    f, derivs = FOURTH_ORDER[name]
    for x in (-1.3, 0.2, 0.9):
        g = f
        for k, d in enumerate(derivs):
            g = tg.grad(g)
            assert float(g(x)) == pytest.approx(float(d(x)), rel=1e-12, abs=1e-12), (name, k + 1)


@pytest.mark.parametrize("name", FOURTH_ORDER)
def test_derivatives_to_fourth_order_by_mixed_jacobians(name: str) -> None:
    f, derivs = FOURTH_ORDER[name]
    x = np.array([-1.3, 0.2, 0.9])
    # Elementwise functions: every Jacobian is diagonal, so the k-th derivative is on the
    # diagonal of the k-th nested Jacobian.
    d4 = tg.jacfwd(tg.jacrev(tg.jacfwd(tg.jacrev(f))))(x)
    assert d4.shape == (3,) * 5
    np.testing.assert_allclose(np.einsum("iiiii->i", d4), derivs[3](x), rtol=1e-12, atol=1e-12)
    d2 = tg.jacfwd(tg.jacrev(f))(x)
    np.testing.assert_allclose(np.einsum("iii->i", d2), derivs[1](x), rtol=1e-12, atol=1e-12)
    # Forward over forward over forward over forward, with a tangent of ones.
    t = np.ones(3)

    def fwd(g: Any) -> Any:
        return lambda y: tg.jvp(g, (y,), (t,))[1]

    np.testing.assert_allclose(fwd(fwd(fwd(fwd(f))))(x), derivs[3](x), rtol=1e-12, atol=1e-12)


def test_perturbation_confusion_reverse() -> None:
    assert tg.grad(lambda x: x * tg.grad(lambda y: x * y)(3.0))(2.0) == 4.0


def test_perturbation_confusion_forward() -> None:
    def f(x: Any) -> Any:
        return x * tg.jvp(lambda y: x * y, (3.0,), (1.0,))[1]

    assert tg.jvp(f, (2.0,), (1.0,))[1] == 4.0
    # And mixing the two modes.
    assert tg.grad(lambda x: x * tg.jvp(lambda y: x * y, (3.0,), (1.0,))[1])(2.0) == 4.0
    assert tg.jvp(lambda x: x * tg.grad(lambda y: x * y)(3.0), (2.0,), (1.0,))[1] == 4.0


# ------------------------------------------------------------------------------ structure


def test_pytrees_and_argnums() -> None:
    def f(params: dict[str, Any], x: Any) -> Any:
        return {"y": ew.tanh(la.matmul(params["w"], x) + params["b"]), "s": rd.sum(x * x)}

    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    x = rng.standard_normal(3)
    jr = tg.jacrev(f, argnums=(0, 1))(params, x)
    jf = tg.jacfwd(f, argnums=(0, 1))(params, x)
    assert jr["y"][0]["w"].shape == (2, 2, 3)
    assert jr["y"][0]["b"].shape == (2, 2)
    assert jr["y"][1].shape == (2, 3)
    assert jr["s"][0]["w"].shape == (2, 3)
    assert jr["s"][1].shape == (3,)
    for k in ("y", "s"):
        for part in ("w", "b"):
            np.testing.assert_allclose(jr[k][0][part], jf[k][0][part], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(jr[k][1], jf[k][1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jr["s"][1], 2 * x)
    g = tg.grad(lambda p, x: rd.sum(f(p, x)["y"]), argnums=0)(params, x)
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["w"], jr["y"][0]["w"].sum(0), rtol=1e-12)


def test_has_aux() -> None:
    def f(x: Any) -> Any:
        return rd.sum(x**2), {"norm": x * 1.0}

    x = np.array([1.0, 2.0])
    g, aux = tg.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    np.testing.assert_allclose(aux["norm"], x)
    (v, aux), g = tg.value_and_grad(f, has_aux=True)(x)
    assert float(v) == 5.0
    j, aux = tg.jacrev(lambda x: (x**2, x.sum()), has_aux=True)(x)
    np.testing.assert_allclose(j, np.diag(2 * x))
    assert float(aux) == 3.0
    j, aux = tg.jacfwd(lambda x: (x**2, x.sum()), has_aux=True)(x)
    np.testing.assert_allclose(j, np.diag(2 * x))
    out, pullback, aux = tg.vjp(lambda x: (x**2, x[0]), x, has_aux=True)
    np.testing.assert_allclose(pullback(np.ones(2))[0], 2 * x)
    assert float(aux) == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype: Any) -> None:
    x = np.array([0.5, -1.0, 2.0], dtype=dtype)

    def f(x: Any) -> Any:
        return ew.sin(x) * x

    g = tg.grad(lambda x: rd.sum(f(x)))(x)
    assert isinstance(g, np.ndarray) and g.dtype == dtype
    for jac in (tg.jacrev(f), tg.jacfwd(f), tg.hessian(lambda x: rd.sum(f(x)))):
        j = jac(x)
        assert isinstance(j, np.ndarray) and j.dtype == dtype and j.shape == (3, 3)
    _, t = tg.jvp(f, (x,), (np.ones(3, dtype=dtype),))
    assert t.dtype == dtype


def test_python_floats_stay_float64() -> None:
    g = tg.grad(lambda x: x**3)(2.0)
    assert isinstance(g, np.ndarray) and g.dtype == np.float64 and float(g) == 12.0
    h = tg.hessian(lambda x: x**3)(2.0)
    assert float(h) == 12.0


def test_zero_dim_results_are_arrays() -> None:
    x = np.array(0.5)
    _, t = tg.jvp(ew.sin, (x,), (np.array(1.0),))
    assert isinstance(t, np.ndarray) and t.shape == ()
    (c,) = tg.vjp(ew.exp, x)[1](np.array(1.0))
    assert isinstance(c, np.ndarray) and c.shape == ()


def test_gradients_are_writable_and_do_not_alias_inputs() -> None:
    x = np.array([1.0, 2.0])
    g = tg.grad(lambda x: rd.sum(x))(x)
    g[0] = 5.0  # a broadcast view of the seed would refuse this
    assert tg.grad(lambda x: rd.sum(x))(x).tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------ the facade


def test_facade_methods_inside_transforms() -> None:
    def f(x: Any) -> Any:
        h = (x.reshape(2, 3).T @ x.reshape(2, 3)).exp()
        return h.sum(dim=0).mean() + x.sigmoid().max() - x.T.sum(axis=0)

    x = np.linspace(-1, 1, 6)
    g = tg.grad(f)(x)
    fd = _fd_jacobian(lambda x: f(tg.tensor(x)).numpy(), [x], 0)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tg.hessian(f)(x), tg.jacrev(tg.grad(f))(x), rtol=1e-10)


def test_transforms_on_tensors_return_tensors_connected_to_the_graph() -> None:
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    g = tg.grad(lambda y: (y**3).sum())(x)
    assert isinstance(g, tg.Tensor) and g.dtype == np.float64
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.0, 4.0, 9.0]))
    # The gradient is a function of x: backward through it gives the second derivative.
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.0, 2.0, 3.0]))
    j = tg.jacrev(lambda y: y**2)(x)
    assert isinstance(j, tg.Tensor) and j.shape == (3, 3)
    j = tg.jacfwd(lambda y: y**2)(tg.tensor([1.0, 2.0]))
    assert isinstance(j, tg.Tensor) and j.dtype == np.float32
    np.testing.assert_allclose(j.numpy(), np.diag([2.0, 4.0]))


def test_facade_code_calling_transforms_in_a_training_step() -> None:
    w = tg.tensor([0.5, -0.5], dtype=tg.float64, requires_grad=True)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])

    def penalty(v: Any) -> Any:
        # the squared norm of the input-gradient of a model: a double-backward regulariser
        gx = tg.grad(lambda xi: ew.tanh(la.matmul(xi, v)).sum())(x[0])
        return (gx**2).sum()

    loss = penalty(w)
    loss.backward()
    fd = _fd_jacobian(lambda v: np.asarray(float(penalty(tg.tensor(v)))), [w.detach().numpy()], 0)
    np.testing.assert_allclose(w.grad.numpy(), fd, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------ vectorised


def test_jacobians_run_the_function_once_and_sweep_once() -> None:
    calls = []

    def f(x: Any) -> Any:
        calls.append(1)
        return ew.tanh(x * 2.0) * ew.sin(x)

    lengths = {}
    for n in (3, 40):
        x = np.linspace(-1, 1, n)
        for name, jac in (("rev", tg.jacrev(f)), ("fwd", tg.jacfwd(f))):
            calls.clear()
            with tg.Tape() as tape:
                j = jac(x)
            assert j.shape == (n, n)
            assert len(calls) == 1, name
            lengths[(name, n)] = len(tape)
    # The number of operations does not grow with the number of basis vectors.
    assert lengths[("rev", 3)] == lengths[("rev", 40)]
    assert lengths[("fwd", 3)] == lengths[("fwd", 40)]


# ------------------------------------------------------------------------------ errors


def test_grad_of_a_non_scalar_names_the_shape() -> None:
    with pytest.raises(TypeError, match=r"\(3,\)"):
        tg.grad(lambda x: x * 2)(np.ones(3))


def test_integer_inputs_name_the_dtype() -> None:
    with pytest.raises(TypeError, match="int64"):
        tg.grad(lambda x: (x * 2).sum())(np.arange(3))
    with pytest.raises(TypeError, match="int64"):
        tg.jacrev(lambda x: x * 2)(np.arange(3))
    with pytest.raises(TypeError, match="int64"):
        tg.jacfwd(lambda x: x * 2)(np.arange(3))


def test_cotangent_of_the_wrong_shape_names_both() -> None:
    _, pullback = tg.vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        pullback(np.ones(2))


def test_tangent_of_the_wrong_shape_names_both() -> None:
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        tg.jvp(lambda x: x * 2, (np.ones(3),), (np.ones(2),))


def test_argnums_out_of_range() -> None:
    with pytest.raises(ValueError, match="argnums"):
        tg.grad(lambda x: x.sum(), argnums=1)(np.ones(2))
    with pytest.raises(ValueError, match="argnums"):
        tg.jacrev(lambda x: x, argnums=(0, 2))(np.ones(2))


# ------------------------------------------------------------------------------ lifetime


def test_results_are_freed_without_the_cycle_collector() -> None:
    """No reference cycle holds a transform's results (per-example gradients are large)."""
    import gc
    import weakref

    x = np.random.default_rng(5).standard_normal((6, 4))
    makers = {
        "grad": lambda: tg.grad(lambda x: rd.sum(x**2))(x),
        "vjp": lambda: tg.vjp(lambda x: x * 2.0, x)[1](x)[0],
        "jvp": lambda: tg.jvp(ew.sin, (x,), (x,))[1],
        "jacrev": lambda: tg.jacrev(ew.sin)(x[0]),
        "jacfwd": lambda: tg.jacfwd(ew.sin)(x[0]),
        "vmap(grad)": lambda: tg.vmap(tg.grad(lambda r: rd.sum(r**2)))(x),
        "hessian": lambda: tg.hessian(lambda r: rd.sum(r**3))(x[0]),
    }
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name, make in makers.items():
            ref = weakref.ref(make())
            assert ref() is None, f"{name}: its result outlived its last reference"
    finally:
        if enabled:
            gc.enable()
