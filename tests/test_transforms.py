"""The JAX-style transforms: grad, value_and_grad, vjp, jvp, jacrev, jacfwd, hessian.

Derivatives are checked against central finite differences and against each other
(``<v, J u> = <J^T v, u>``, ``jacrev = jacfwd``) over the op table of ``tests/ops/specs.py``;
Hessians and higher derivatives against closed forms. Also: nesting (perturbation
confusion), pytrees and ``argnums``, dtypes and return types, the Tensor facade on both sides
of a transform, error messages, and that Jacobians are vectorised (one forward run and one
batched sweep, not a loop over basis vectors).

The tests of derivatives run on every device kind of ``tests/devices.py`` (ids end in
``-cpu``, ``-strict``, ``-cuda``; the CUDA cases skip where no GPU is usable): arrays in on a
device give arrays out on that device, compared on the host with the same references.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from devices import KINDS, DeviceKind, device_params
from hypothesis import given
from ops.specs import DRAWN, DRAWN_BROADCAST, DRAWN_SAME, SPECS, Booleans, Domain, Integers

import tapegrad as tg
from tapegrad.ops import elementwise as ew
from tapegrad.ops import linalg as la
from tapegrad.ops import nn as tnn
from tapegrad.ops import reduce as rd
from tapegrad.testing import strategies as tgst

#: Parametrises a test over the device kinds (the ``device`` argument).
on_devices = pytest.mark.parametrize("device", device_params(KINDS))

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
    for device in device_params(KINDS):
        (kind,) = device.values
        for spec in SPECS:
            for case in spec.cases:
                if spec.dtype is not None:
                    continue  # casts: their point is the input dtype, covered by the op table
                yield pytest.param(
                    kind, spec, case, id=f"{spec.name}-{case.id}-{kind.name}", marks=device.marks
                )


def _setup(device: DeviceKind, spec: Any, case: Any, seed: int = 0):
    """The row as a function of its differentiable arguments on ``device``; those arguments
    on the host and on the device."""
    rng = np.random.default_rng(seed)
    args = [_draw(rng, a, s) for a, s in zip(spec.args, _fixed_shapes(case, len(spec.args)))]
    if spec.prepare is not None:
        args = spec.prepare(args)
    pos = spec.diff_positions
    dargs = device.to_device(args)
    kwargs = device.to_device(dict(case.kwargs))

    def f(*xs: Any) -> Any:
        full = list(dargs)
        for p, x in zip(pos, xs):
            full[p] = x
        return spec.fn(*full, **kwargs)

    return f, [args[p] for p in pos], [dargs[p] for p in pos], rng


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


@pytest.mark.parametrize("device, spec, case", list(_spec_cases()))
def test_jacobians_agree_with_finite_differences(device: DeviceKind, spec: Any, case: Any) -> None:
    """jacrev = jacfwd = central differences, and <v, J u> = <J^T v, u>, for every row."""
    f, xs, dxs, rng = _setup(device, spec, case)
    nums = tuple(range(len(xs)))
    j_rev = tg.jacrev(f, argnums=nums)(*dxs)
    j_fwd = tg.jacfwd(f, argnums=nums)(*dxs)
    device.assert_on_device("jacrev", j_rev, scalar_ok=True)
    device.assert_on_device("jacfwd", j_fwd, scalar_ok=True)
    j_rev, j_fwd = device.to_host((j_rev, j_fwd))
    # Central differences: steps on the host, evaluations on the device.
    f_host = device.on_host(f)
    out = np.asarray(f_host(*xs))
    for k in nums:
        fd = _fd_jacobian(f_host, xs, k)
        assert j_rev[k].shape == out.shape + xs[k].shape
        np.testing.assert_allclose(j_rev[k], fd, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(j_fwd[k], j_rev[k], rtol=1e-12, atol=1e-12)
    # The adjoint identity with random u and v, through vjp and jvp.
    us = [rng.standard_normal(np.shape(x)) for x in xs]
    v = rng.standard_normal(out.shape)
    _, t_out = tg.jvp(f, tuple(dxs), device.to_device(tuple(us)))
    _, pullback = tg.vjp(f, *dxs)
    cots = pullback(device.to_device(v))
    device.assert_on_device("tangent", t_out, scalar_ok=True)
    device.assert_on_device("cotangents", cots, scalar_ok=True)
    t_out, cots = device.to_host((t_out, cots))
    lhs = float(np.vdot(v, t_out))
    rhs = sum(float(np.vdot(c, u)) for c, u in zip(cots, us))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


@on_devices
@given(
    x=tgst.arrays(np.float64, (4,), elements=st.floats(-2, 2)),
    u=tgst.arrays(np.float64, (4,), elements=st.floats(-1, 1)),
    v=tgst.arrays(np.float64, (3,), elements=st.floats(-1, 1)),
)
def test_adjoint_identity_on_a_composite(
    device: DeviceKind, x: np.ndarray, u: np.ndarray, v: np.ndarray
) -> None:
    """<v, J u> = <J^T v, u> for a function mixing matmul, reductions and nonlinearities."""
    W = device.to_device(np.arange(12.0).reshape(3, 4) / 10 - 0.5)

    def f(x: Any) -> Any:
        h = ew.tanh(la.matmul(W, x)) * ew.sigmoid(rd.sum(x))
        return tnn.softmax(h) + ew.exp(h) / 3

    dx, du, dv = device.to_device((x, u, v))
    results = (
        tg.jvp(f, (dx,), (du,))[1],
        tg.vjp(f, dx)[1](dv)[0],
        tg.jacrev(f)(dx),
        tg.jacfwd(f)(dx),
    )
    device.assert_on_device("results", results)
    ju, jtv, j_rev, j_fwd = device.to_host(results)
    assert float(np.vdot(v, ju)) == pytest.approx(float(np.vdot(jtv, u)), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(j_rev @ u, ju, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(j_fwd.T @ v, jtv, rtol=1e-10, atol=1e-12)


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


@on_devices
def test_hessian_of_a_quadratic_form(device: DeviceKind) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    b = rng.standard_normal(5)
    da, db = device.to_device((a, b))

    def f(x: Any) -> Any:
        return la.matmul(x, la.matmul(da, x)) + la.matmul(db, x)

    x = device.to_device(rng.standard_normal(5))
    for h in (
        tg.hessian(f),
        tg.jacrev(tg.jacrev(f)),
        tg.jacfwd(tg.jacfwd(f)),
        tg.jacrev(tg.grad(f)),
    ):
        hx = h(x)
        device.assert_on_device("Hessian", hx)
        np.testing.assert_allclose(device.to_host(hx), a + a.T, rtol=1e-12, atol=1e-12)


@on_devices
def test_hessian_of_rosenbrock(device: DeviceKind) -> None:
    x = np.array([-1.2, 1.0, 0.5, -0.3, 2.0, 0.1])
    expected = rosenbrock_hessian(x)
    dx = device.to_device(x)
    for h in (
        tg.hessian(rosenbrock),
        tg.jacrev(tg.jacrev(rosenbrock)),
        tg.jacfwd(tg.jacrev(rosenbrock)),
        tg.jacrev(tg.jacfwd(rosenbrock)),
    ):
        hx = h(dx)
        device.assert_on_device("Hessian", hx)
        np.testing.assert_allclose(device.to_host(hx), expected, rtol=1e-12, atol=1e-9)
    # Hessian-vector product, forward over reverse.
    v = np.arange(6.0)
    _, hv = tg.jvp(tg.grad(rosenbrock), (dx,), (device.to_device(v),))
    device.assert_on_device("Hessian-vector product", hv)
    np.testing.assert_allclose(device.to_host(hv), expected @ v, rtol=1e-12, atol=1e-9)


@on_devices
def test_hessian_with_several_arguments_gives_blocks(device: DeviceKind) -> None:
    def f(x: Any, y: Any) -> Any:
        return (x**2 * y).sum() + (y**3).sum()

    x = np.array([1.0, 2.0])
    y = np.array([3.0, -1.0])
    h = tg.hessian(f, argnums=(0, 1))(*device.to_device((x, y)))
    device.assert_on_device("Hessian blocks", h)
    h = device.to_host(h)
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


@on_devices
@pytest.mark.parametrize("name", FOURTH_ORDER)
def test_derivatives_to_fourth_order_by_nested_grad(name: str, device: DeviceKind) -> None:
    f, derivs = FOURTH_ORDER[name]
    for x in (-1.3, 0.2, 0.9):
        dx = device.to_device(np.array(x))
        g = f
        for k, d in enumerate(derivs):
            g = tg.grad(g)
            gx = g(dx)
            device.assert_on_device(f"derivative {k + 1}", gx)
            assert float(device.to_host(gx)) == pytest.approx(float(d(x)), rel=1e-12, abs=1e-12), (
                name,
                k + 1,
            )


@on_devices
@pytest.mark.parametrize("name", FOURTH_ORDER)
def test_derivatives_to_fourth_order_by_mixed_jacobians(name: str, device: DeviceKind) -> None:
    f, derivs = FOURTH_ORDER[name]
    x = np.array([-1.3, 0.2, 0.9])
    dx = device.to_device(x)
    # Elementwise functions: every Jacobian is diagonal, so the k-th derivative is on the
    # diagonal of the k-th nested Jacobian.
    d4 = tg.jacfwd(tg.jacrev(tg.jacfwd(tg.jacrev(f))))(dx)
    d2 = tg.jacfwd(tg.jacrev(f))(dx)
    # Forward over forward over forward over forward, with a tangent of ones.
    t = device.to_device(np.ones(3))

    def fwd(g: Any) -> Any:
        return lambda y: tg.jvp(g, (y,), (t,))[1]

    f4 = fwd(fwd(fwd(fwd(f))))(dx)
    device.assert_on_device("derivatives", (d4, d2, f4))
    d4, d2, f4 = device.to_host((d4, d2, f4))
    assert d4.shape == (3,) * 5
    np.testing.assert_allclose(np.einsum("iiiii->i", d4), derivs[3](x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.einsum("iii->i", d2), derivs[1](x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f4, derivs[3](x), rtol=1e-12, atol=1e-12)


def _scalars(device: DeviceKind, *values: float) -> tuple[Any, ...]:
    """Python numbers on the CPU (as the tests below were written); 0-d arrays elsewhere."""
    if device.name == "cpu":
        return values
    return tuple(device.to_device(np.array(v)) for v in values)


def _assert_four(device: DeviceKind, what: str, value: Any) -> None:
    device.assert_on_device(what, value, scalar_ok=True)
    assert device.to_host(value) == 4.0, what


@on_devices
def test_perturbation_confusion_reverse(device: DeviceKind) -> None:
    two, three = _scalars(device, 2.0, 3.0)
    _assert_four(device, "grad", tg.grad(lambda x: x * tg.grad(lambda y: x * y)(three))(two))


@on_devices
def test_perturbation_confusion_forward(device: DeviceKind) -> None:
    one, two, three = _scalars(device, 1.0, 2.0, 3.0)

    def f(x: Any) -> Any:
        return x * tg.jvp(lambda y: x * y, (three,), (one,))[1]

    _assert_four(device, "jvp", tg.jvp(f, (two,), (one,))[1])
    # And mixing the two modes.
    _assert_four(
        device,
        "grad of jvp",
        tg.grad(lambda x: x * tg.jvp(lambda y: x * y, (three,), (one,))[1])(two),
    )
    _assert_four(
        device,
        "jvp of grad",
        tg.jvp(lambda x: x * tg.grad(lambda y: x * y)(three), (two,), (one,))[1],
    )


# ------------------------------------------------------------------------------ structure


@on_devices
def test_pytrees_and_argnums(device: DeviceKind) -> None:
    def f(params: dict[str, Any], x: Any) -> Any:
        return {"y": ew.tanh(la.matmul(params["w"], x) + params["b"]), "s": rd.sum(x * x)}

    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    x = rng.standard_normal(3)
    dparams, dx = device.to_device((params, x))
    jr = tg.jacrev(f, argnums=(0, 1))(dparams, dx)
    jf = tg.jacfwd(f, argnums=(0, 1))(dparams, dx)
    g = tg.grad(lambda p, x: rd.sum(f(p, x)["y"]), argnums=0)(dparams, dx)
    device.assert_on_device("Jacobians and gradient", (jr, jf, g))
    jr, jf, g = device.to_host((jr, jf, g))
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
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["w"], jr["y"][0]["w"].sum(0), rtol=1e-12)


@on_devices
def test_has_aux(device: DeviceKind) -> None:
    def f(x: Any) -> Any:
        return rd.sum(x**2), {"norm": x * 1.0}

    x = np.array([1.0, 2.0])
    dx = device.to_device(x)

    def host(what: str, value: Any) -> Any:
        device.assert_on_device(what, value)
        return device.to_host(value)

    g, aux = tg.grad(f, has_aux=True)(dx)
    np.testing.assert_allclose(host("grad", g), 2 * x)
    np.testing.assert_allclose(host("aux", aux["norm"]), x)
    (v, aux), g = tg.value_and_grad(f, has_aux=True)(dx)
    assert float(host("value", v)) == 5.0
    j, aux = tg.jacrev(lambda x: (x**2, x.sum()), has_aux=True)(dx)
    np.testing.assert_allclose(host("jacrev", j), np.diag(2 * x))
    assert float(host("aux", aux)) == 3.0
    j, aux = tg.jacfwd(lambda x: (x**2, x.sum()), has_aux=True)(dx)
    np.testing.assert_allclose(host("jacfwd", j), np.diag(2 * x))
    out, pullback, aux = tg.vjp(lambda x: (x**2, x[0]), dx, has_aux=True)
    np.testing.assert_allclose(host("vjp", pullback(device.to_device(np.ones(2)))[0]), 2 * x)
    assert float(host("aux", aux)) == 1.0


@on_devices
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype: Any, device: DeviceKind) -> None:
    x = device.to_device(np.array([0.5, -1.0, 2.0], dtype=dtype))

    def f(x: Any) -> Any:
        return ew.sin(x) * x

    g = tg.grad(lambda x: rd.sum(f(x)))(x)
    assert device.is_array(g) and g.dtype == dtype
    for jac in (tg.jacrev(f), tg.jacfwd(f), tg.hessian(lambda x: rd.sum(f(x)))):
        j = jac(x)
        assert device.is_array(j) and j.dtype == dtype and j.shape == (3, 3)
    _, t = tg.jvp(f, (x,), (device.to_device(np.ones(3, dtype=dtype)),))
    assert device.is_array(t) and t.dtype == dtype


def test_python_floats_stay_float64() -> None:
    g = tg.grad(lambda x: x**3)(2.0)
    assert isinstance(g, np.ndarray) and g.dtype == np.float64 and float(g) == 12.0
    h = tg.hessian(lambda x: x**3)(2.0)
    assert float(h) == 12.0


@on_devices
def test_zero_dim_results_are_arrays(device: DeviceKind) -> None:
    x, one = device.to_device((np.array(0.5), np.array(1.0)))
    _, t = tg.jvp(ew.sin, (x,), (one,))
    assert device.is_array(t) and t.shape == ()
    (c,) = tg.vjp(ew.exp, x)[1](one)
    assert device.is_array(c) and c.shape == ()


@on_devices
def test_gradients_are_writable_and_do_not_alias_inputs(device: DeviceKind) -> None:
    # The gradient of ``sum`` is the seed broadcast; tapegrad copies such views of buffers of
    # the sweep on every array module (``tapegrad.transforms._owned``).
    x = device.to_device(np.array([1.0, 2.0]))
    g = tg.grad(lambda x: rd.sum(x))(x)
    device.assert_on_device("gradient", g)
    # A read-only broadcast view of the seed would refuse this, a writable one (CuPy has no
    # read-only arrays) would change every element.
    g[0] = 5.0
    assert device.to_host(g).tolist() == [5.0, 1.0]
    assert device.to_host(tg.grad(lambda x: rd.sum(x))(x)).tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------ the facade


@on_devices
def test_facade_methods_inside_transforms(device: DeviceKind) -> None:
    def f(x: Any) -> Any:
        h = (x.reshape(2, 3).T @ x.reshape(2, 3)).exp()
        return h.sum(dim=0).mean() + x.sigmoid().max() - x.T.sum(axis=0)

    x = np.linspace(-1, 1, 6)
    dx = device.to_device(x)
    g = tg.grad(f)(dx)
    h = tg.hessian(f)(dx)
    jg = tg.jacrev(tg.grad(f))(dx)
    device.assert_on_device("derivatives", (g, h, jg))
    g, h, jg = device.to_host((g, h, jg))
    fd = _fd_jacobian(lambda x: device.tensor_to_host(f(device.tensor(x))), [x], 0)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(h, jg, rtol=1e-10)


@on_devices
def test_transforms_on_tensors_return_tensors_connected_to_the_graph(device: DeviceKind) -> None:
    x = device.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    g = tg.grad(lambda y: (y**3).sum())(x)
    assert isinstance(g, tg.Tensor) and g.dtype == np.float64
    np.testing.assert_allclose(device.tensor_to_host(g), 3 * np.array([1.0, 4.0, 9.0]))
    # The gradient is a function of x: backward through it gives the second derivative.
    g.sum().backward()
    np.testing.assert_allclose(device.tensor_to_host(x.grad), 6 * np.array([1.0, 2.0, 3.0]))
    j = tg.jacrev(lambda y: y**2)(x)
    assert isinstance(j, tg.Tensor) and j.shape == (3, 3)
    assert j.device == device.device
    j = tg.jacfwd(lambda y: y**2)(device.tensor(np.array([1.0, 2.0], dtype=np.float32)))
    assert isinstance(j, tg.Tensor) and j.dtype == np.float32
    np.testing.assert_allclose(device.tensor_to_host(j), np.diag([2.0, 4.0]))


@on_devices
def test_facade_code_calling_transforms_in_a_training_step(device: DeviceKind) -> None:
    w = device.tensor([0.5, -0.5], dtype=tg.float64, requires_grad=True)
    x = device.to_device(np.array([[1.0, 2.0], [3.0, -1.0]]))

    def penalty(v: Any) -> Any:
        # the squared norm of the input-gradient of a model: a double-backward regulariser
        gx = tg.grad(lambda xi: ew.tanh(la.matmul(xi, v)).sum())(x[0])
        return (gx**2).sum()

    loss = penalty(w)
    loss.backward()
    fd = _fd_jacobian(
        lambda v: np.asarray(float(penalty(device.tensor(v)))),
        [device.tensor_to_host(w)],
        0,
    )
    np.testing.assert_allclose(device.tensor_to_host(w.grad), fd, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------ checkpoint


def _block(x: Any) -> Any:
    for _ in range(3):
        x = ew.tanh(x * 1.5 + 0.1) * ew.sigmoid(x)
    return x


@on_devices
def test_checkpoint_under_transforms_on_devices(device: DeviceKind) -> None:
    """A checkpointed block gives the derivatives of the plain block, on the device."""
    rng = np.random.default_rng(3)
    x, u = device.to_device((rng.standard_normal(5), rng.standard_normal(5)))
    xs = device.to_device(rng.standard_normal((3, 5)))

    def f(x: Any) -> Any:
        return rd.sum(tg.checkpoint(_block)(x) ** 2)

    def g(x: Any) -> Any:
        return rd.sum(_block(x) ** 2)

    pairs = {
        "grad": (tg.grad(f)(x), tg.grad(g)(x)),
        "jvp": (tg.jvp(f, (x,), (u,))[1], tg.jvp(g, (x,), (u,))[1]),
        "hessian": (tg.hessian(f)(x), tg.hessian(g)(x)),
        "jacrev(grad)": (tg.jacrev(tg.grad(f))(x), tg.hessian(g)(x)),
        "vmap(grad)": (tg.vmap(tg.grad(f))(xs), tg.vmap(tg.grad(g))(xs)),
    }
    for name, (got, expected) in pairs.items():
        device.assert_on_device(name, (got, expected))
        np.testing.assert_allclose(
            device.to_host(got), device.to_host(expected), rtol=1e-10, atol=1e-12, err_msg=name
        )


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
