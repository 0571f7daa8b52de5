"""``vmap``: batching rules against a Python loop over examples, for every row of the op table;
per-example gradients; ``in_axes``/``out_axes``, pytrees, nesting; the batched value seen by
the function; composition with the other transforms and the facade; errors.

The tests of values and derivatives run on every device kind of ``tests/devices.py`` (ids end
in ``-cpu``, ``-strict``, ``-cuda``; the CUDA cases skip where no GPU is usable): batched arrays
in on a device give arrays out on that device, compared on the host with the loop over
examples (run on the same device) or a NumPy reference."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from devices import KINDS, DeviceKind, device_params
from hypothesis import given
from ops.specs import DRAWN, DRAWN_BROADCAST, DRAWN_SAME, SPECS, Booleans, Domain, Integers

import tapegrad as tg
from tapegrad import batching
from tapegrad.ops import elementwise as ew
from tapegrad.ops import linalg as la
from tapegrad.ops import nn as tnn
from tapegrad.ops import reduce as rd
from tapegrad.ops import shape as sh
from tapegrad.primitive import Primitive
from tapegrad.testing import strategies as tgst

B = 3

#: Parametrises a test over the device kinds (the ``device`` argument).
on_devices = pytest.mark.parametrize("device", device_params(KINDS))

# ------------------------------------------------------------------------------ the op table


def _draw(rng: np.random.Generator, arg: Any, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(arg, Domain):
        out = np.empty(shape)
        flat = out.reshape(-1)
        for i in range(flat.size):
            lo, hi = arg.intervals[rng.integers(len(arg.intervals))]
            flat[i] = rng.uniform(lo, hi)
        return out
    if isinstance(arg, Booleans):
        return rng.random(shape) < 0.5
    assert isinstance(arg, Integers)
    return rng.integers(arg.low, arg.high + 1, size=shape)


def _shapes(case: Any, n: int) -> list[tuple[int, ...]]:
    if case.shapes == DRAWN:
        return [(2, 3)]
    if case.shapes in (DRAWN_BROADCAST, DRAWN_SAME):
        return [(2, 3)] * n
    return list(case.shapes)


#: Rows that ``vmap`` cannot batch yet, with the reason (strict xfails: a fix shows up).
CORE_LIMITS: dict[str, str] = {}

MODES = ("all-axis0", "first-only", "axis-last")


def _cases():
    for device in device_params(KINDS):
        (kind,) = device.values
        for spec in SPECS:
            for case in spec.cases:
                for mode in MODES:
                    marks = list(device.marks)
                    if spec.name in CORE_LIMITS:
                        marks.append(pytest.mark.xfail(strict=True, reason=CORE_LIMITS[spec.name]))
                    yield pytest.param(
                        kind,
                        spec,
                        case,
                        mode,
                        id=f"{spec.name}-{case.id}-{mode}-{kind.name}",
                        marks=marks,
                    )


def _examples(spec: Any, case: Any, rng: np.random.Generator) -> list[list[np.ndarray]]:
    shapes = _shapes(case, len(spec.args))
    exs = []
    for _ in range(B):
        args = [_draw(rng, a, s) for a, s in zip(spec.args, shapes)]
        if spec.dtype is not None:
            args = [
                a.astype(spec.dtype) if isinstance(d, Domain) else a
                for a, d in zip(args, spec.args)
            ]
        if spec.prepare is not None:
            args = spec.prepare(args)
        exs.append(args)
    return exs


@pytest.mark.parametrize("device, spec, case, mode", list(_cases()))
def test_vmap_equals_a_loop_over_examples(
    device: DeviceKind, spec: Any, case: Any, mode: str
) -> None:
    """vmap(f) and vmap(grad of a projection of f) equal a loop over the examples."""
    dev, host = device.to_device, device.to_host
    rng = np.random.default_rng(7)
    exs = _examples(spec, case, rng)
    kw = dev(dict(case.kwargs))
    pos = spec.diff_positions
    mapped = pos if mode != "first-only" else pos[:1]
    batched, in_axes = [], []
    for i in range(len(spec.args)):
        if i in mapped:
            stacked = np.stack([e[i] for e in exs])
            if mode == "axis-last":
                stacked = np.moveaxis(stacked, 0, -1)
            batched.append(stacked)
            in_axes.append(-1 if mode == "axis-last" else 0)
        else:
            batched.append(exs[0][i])
            in_axes.append(None)

    batched = dev(batched)

    def example(b: int) -> list[Any]:
        return dev([exs[b][i] if i in mapped else exs[0][i] for i in range(len(spec.args))])

    out = tg.vmap(lambda *a: spec.fn(*a, **kw), in_axes=tuple(in_axes))(*batched)
    device.assert_on_device("vmap value", out)
    # The loop runs on the device too; its results are stacked on the host.
    ref = np.stack([host(spec.fn(*example(b), **kw)) for b in range(B)])
    assert out.shape == ref.shape and out.dtype == ref.dtype
    np.testing.assert_allclose(host(out), ref, rtol=1e-12, atol=1e-12)
    if spec.dtype is not None:
        return
    v = rng.standard_normal(ref.shape)

    def loss(*a: Any) -> Any:
        *xs, w = a
        return rd.sum(ew.multiply(spec.fn(*xs, **kw), w))

    k = mapped[0]
    g = tg.vmap(tg.grad(loss, argnums=k), in_axes=tuple(in_axes) + (0,))(*batched, dev(v))
    device.assert_on_device("per-example gradients", g)
    g_ref = np.stack([host(tg.grad(loss, argnums=k)(*example(b), dev(v[b]))) for b in range(B)])
    np.testing.assert_allclose(host(g), g_ref, rtol=1e-10, atol=1e-12)


def _primitives() -> list[Primitive]:
    import importlib
    import pkgutil

    import tapegrad.ops

    prims = []
    for info in pkgutil.iter_modules(tapegrad.ops.__path__):
        mod = importlib.import_module(f"tapegrad.ops.{info.name}")
        for value in vars(mod).values():
            if isinstance(value, Primitive) and value not in prims:
                prims.append(value)
    return prims


def test_every_primitive_has_a_batching_rule() -> None:
    missing = [p.name for p in _primitives() if batching.rule_for(p) is None]
    assert not missing, f"primitives without a batching rule: {missing}"


def test_a_primitive_without_a_rule_raises_naming_it() -> None:
    prim = Primitive("frobnicate", lambda xp, x: x * 2, (lambda g, x, out: g * 2,))
    with pytest.raises(NotImplementedError, match="frobnicate"):
        tg.vmap(lambda x: prim(x))(np.ones((2, 3)))


# ------------------------------------------------------------------------------ per-example


def _mlp_loss(params: Any, x: Any, y: Any) -> Any:
    w1, b1, w2 = params
    h = ew.tanh(la.matmul(x, w1) + b1)
    return tnn.binary_cross_entropy_with_logits(la.matmul(h, w2), y, reduction="sum")


@on_devices
def test_per_example_gradients_of_an_mlp(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    rng = np.random.default_rng(3)
    params = (rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5))
    x = rng.standard_normal((6, 4))
    y = (rng.random(6) < 0.5).astype(float)
    dparams, dx, dy = dev((params, x, y))
    per = fetch("per", tg.vmap(tg.grad(_mlp_loss), in_axes=(None, 0, 0))(dparams, dx, dy))
    loop = [fetch("loop", tg.grad(_mlp_loss)(dparams, dx[i], dy[i])) for i in range(6)]
    for k in range(3):
        assert per[k].shape == (6,) + params[k].shape
        np.testing.assert_allclose(per[k], np.stack([g[k] for g in loop]), rtol=1e-12, atol=1e-14)
    # Their sum is the gradient of the summed loss.
    total = fetch("total", tg.grad(lambda p: _mlp_loss(p, dx, dy))(dparams))
    for k in range(3):
        np.testing.assert_allclose(per[k].sum(0), total[k], rtol=1e-10, atol=1e-12)


@on_devices
def test_per_example_gradients_with_the_facade_inside(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    rng = np.random.default_rng(4)
    w = dev(rng.standard_normal((3, 2)))
    x = dev(rng.standard_normal((5, 3)))
    t = dev(rng.integers(0, 2, size=5))
    classes = dev(np.arange(2))

    def loss(w: Any, x: Any, t: Any) -> Any:
        logits = x @ w
        logp = logits.log_softmax(-1)
        onehot = ew.equal(classes, t[..., None]) if not isinstance(t, tg.Tensor) else None
        return -(logp * onehot).sum() + (w**2).mean()

    per = fetch("per", tg.vmap(tg.grad(loss), in_axes=(None, 0, None))(w, x, t[0]))
    loop = np.stack([fetch("loop", tg.grad(loss)(w, x[i], t[0])) for i in range(5)])
    np.testing.assert_allclose(per, loop, rtol=1e-12, atol=1e-14)
    vg = tg.vmap(tg.value_and_grad(loss), in_axes=(None, 0, None))
    values, grads = fetch("value_and_grad", vg(w, x, t[0]))
    assert values.shape == (5,)
    np.testing.assert_allclose(grads, loop, rtol=1e-12)


@on_devices
def test_grad_of_a_function_using_vmap(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    rng = np.random.default_rng(5)
    w = dev(rng.standard_normal(4))
    xs = dev(rng.standard_normal((6, 4)))

    def f(w: Any) -> Any:
        return rd.sum(tg.vmap(lambda x: ew.tanh(la.matmul(x, w)) ** 2)(xs))

    g = fetch("grad", tg.grad(f)(w))

    def one(x: Any) -> Any:
        return lambda w: ew.tanh(la.matmul(x, w)) ** 2

    loop = sum(fetch("loop", tg.grad(one(xs[i]))(w)) for i in range(6))
    np.testing.assert_allclose(g, loop, rtol=1e-12)
    # And the Hessian of it.
    h = fetch("hessian", tg.hessian(f)(w))
    h_loop = sum(fetch("loop", tg.hessian(one(xs[i]))(w)) for i in range(6))
    np.testing.assert_allclose(h, h_loop, rtol=1e-10, atol=1e-12)


@on_devices
def test_per_example_jacobians_and_hessians(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    rng = np.random.default_rng(6)
    xs = dev(rng.standard_normal((4, 3)))
    a = dev(rng.standard_normal((3, 3)))

    def f(x: Any) -> Any:
        return ew.sin(la.matmul(a, x)) * x

    def loop(fn: Any) -> np.ndarray:
        return np.stack([fetch("loop", fn(xs[i])) for i in range(4)])

    for jac in (tg.jacrev, tg.jacfwd):
        j = fetch("per-example Jacobians", tg.vmap(jac(f))(xs))
        np.testing.assert_allclose(j, loop(jac(f)), rtol=1e-12)
    hess = tg.hessian(lambda x: rd.sum(f(x)))
    h = fetch("per-example Hessians", tg.vmap(hess)(xs))
    np.testing.assert_allclose(h, loop(hess), rtol=1e-12, atol=1e-14)


@on_devices
def test_vmap_of_grad_of_grad_and_jvp(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    xs = np.linspace(-2, 2, 5)
    dxs = dev(xs)
    d2 = fetch("d2", tg.vmap(tg.grad(tg.grad(lambda x: ew.sin(x) * x)))(dxs))
    np.testing.assert_allclose(d2, 2 * np.cos(xs) - xs * np.sin(xs), rtol=1e-12)
    t = tg.vmap(lambda x, v: tg.jvp(ew.tanh, (x,), (v,))[1])(dxs, dev(np.ones(5)))
    np.testing.assert_allclose(fetch("jvp", t), 1 - np.tanh(xs) ** 2, rtol=1e-12)
    # A batched tangent with an unbatched primal: forward-mode columns.
    cols = tg.vmap(lambda v: tg.jvp(lambda x: x**2, (dxs,), (v,))[1])(dev(np.eye(5)))
    np.testing.assert_allclose(fetch("columns", cols), np.diag(2 * xs), atol=1e-15)


# ------------------------------------------------------------------------------ axes


@on_devices
def test_in_axes_none_int_negative_and_out_axes(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    x = np.arange(24.0).reshape(2, 3, 4)
    y = np.arange(4.0)
    dx, dy = dev((x, y))
    out = tg.vmap(lambda a, b: a * b, in_axes=(1, None))(dx, dy)
    np.testing.assert_allclose(fetch("out", out), np.moveaxis(x, 1, 0) * y)
    out = tg.vmap(lambda a: rd.sum(a), in_axes=-1)(dx)
    np.testing.assert_allclose(fetch("out", out), x.sum(axis=(0, 1)))
    out = tg.vmap(lambda a: a * 2, in_axes=0, out_axes=-1)(dx)
    np.testing.assert_allclose(fetch("out", out), np.moveaxis(x, 0, -1) * 2)
    out = tg.vmap(lambda a, b: (a + b, b), in_axes=(0, None), out_axes=(1, None))(dx, dy)
    out = fetch("out", out)
    np.testing.assert_allclose(out[0], np.moveaxis(x + y, 0, 1))
    np.testing.assert_allclose(out[1], y)


@on_devices
def test_pytree_in_axes_prefix_and_keyword_arguments(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    params = {"w": np.arange(6.0).reshape(2, 3), "b": np.array([1.0, -1.0])}
    xs = np.arange(12.0).reshape(4, 3)
    dparams, dxs = dev((params, xs))

    def f(p: Any, x: Any, scale: Any = 1.0) -> Any:
        return (la.matmul(p["w"], x) + p["b"]) * scale

    out = tg.vmap(f, in_axes=({"w": None, "b": None}, 0))(dparams, dxs)
    np.testing.assert_allclose(fetch("out", out), xs @ params["w"].T + params["b"])
    out = tg.vmap(f, in_axes=(None, 0))(dparams, dxs, scale=dev(np.arange(4.0)))
    np.testing.assert_allclose(
        fetch("out", out), (xs @ params["w"].T + params["b"]) * np.arange(4.0)[:, None]
    )
    pair = tg.vmap(lambda t: {"s": t[0] + t[1], "d": [t[0] - t[1]]})((dxs, dev(2 * xs)))
    pair = fetch("pair", pair)
    np.testing.assert_allclose(pair["s"], 3 * xs)
    np.testing.assert_allclose(pair["d"][0], -xs)


@on_devices
def test_nested_vmap_over_different_axes(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    x = np.random.default_rng(8).standard_normal((3, 4, 5))
    dx = dev(x)

    def f(v: Any) -> Any:
        return ew.sin(v) * rd.sum(v)

    out = fetch("out", tg.vmap(tg.vmap(f))(dx))
    ref = np.stack(
        [np.stack([np.sin(x[i, j]) * x[i, j].sum() for j in range(4)]) for i in range(3)]
    )
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    out = fetch("out", tg.vmap(tg.vmap(f, in_axes=1), in_axes=2)(dx))
    ref = np.stack(
        [np.stack([np.sin(x[:, j, i]) * x[:, j, i].sum() for j in range(4)]) for i in range(5)]
    )
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    # An outer batched value used inside the inner function.
    w = np.arange(3.0)
    out = tg.vmap(lambda a: tg.vmap(lambda b: a * b)(dx[0]), in_axes=0)(dev(w))
    np.testing.assert_allclose(fetch("out", out), w[:, None, None] * x[0])
    # Per-example gradients of per-example gradients.
    g = tg.vmap(tg.vmap(tg.grad(lambda v: rd.sum(v**3))))(dx)
    np.testing.assert_allclose(fetch("gradients", g), 3 * x**2, rtol=1e-12)


@on_devices
@given(
    x=tgst.arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=st.floats(-2, 2)
    )
)
def test_vmap_of_a_composite_is_a_loop(device: DeviceKind, x: np.ndarray) -> None:
    def f(r: Any) -> Any:
        return tnn.softmax(r * 2.0) @ ew.exp(r) + rd.amax(r)

    dx = device.to_device(x)
    out = device.fetch("out", tg.vmap(f)(dx))
    loop = np.stack([device.fetch("loop", f(dx[i]), scalar_ok=True) for i in range(len(x))])
    np.testing.assert_allclose(out, loop, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ the value seen


def test_the_function_sees_one_example() -> None:
    seen = {}

    def f(x: Any) -> Any:
        seen["shape"], seen["ndim"], seen["len"] = x.shape, x.ndim, len(x)
        seen["size"] = x.size()
        seen["numel"] = x.numel()
        return x.sum()

    tg.vmap(f)(np.ones((7, 2, 3)))
    assert seen == {"shape": (2, 3), "ndim": 2, "len": 2, "size": (2, 3), "numel": 6}


@on_devices
def test_facade_operations_on_batched_values(device: DeviceKind) -> None:
    x = np.random.default_rng(9).standard_normal((4, 3, 2))
    columns = device.to_device(np.arange(2))

    def f(a: Any) -> Any:
        m = a > 0
        vals, idx = a.max(dim=0)
        return (
            (a.T @ a).sum(-1)
            + vals.sum()
            + a.clamp(-0.5, 0.5).sum()
            + a.mean()
            + a[idx, columns].sum()
            + (m * 1.0).sum()
        )

    out = device.fetch("out", tg.vmap(f)(device.to_device(x)))

    def ref(a: np.ndarray) -> np.ndarray:
        idx = a.argmax(0)
        return (
            (a.T @ a).sum(-1)
            + a.max(0).sum()
            + np.clip(a, -0.5, 0.5).sum()
            + a.mean()
            + a[idx, np.arange(2)].sum()
            + (a > 0).sum()
        )

    np.testing.assert_allclose(out, np.stack([ref(a) for a in x]), rtol=1e-12)
    idx = device.fetch("argmax", tg.vmap(lambda a: a.argmax())(device.to_device(x)))
    np.testing.assert_array_equal(idx, x.reshape(4, -1).argmax(1))


@on_devices
def test_batched_indices_pick_per_example(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    x = np.arange(20.0).reshape(4, 5)
    idx = np.array([[0, 1], [4, 4], [2, 0], [3, 3]])
    dx, didx = dev((x, idx))
    out = tg.vmap(lambda r, i: r[i])(dx, didx)
    np.testing.assert_allclose(fetch("out", out), np.take_along_axis(x, idx, 1))
    table = np.arange(10.0).reshape(5, 2)
    out = tg.vmap(lambda i: batching.getitem(dev(table), i))(didx)
    np.testing.assert_allclose(fetch("out", out), table[idx])
    g = tg.vmap(tg.grad(lambda r, i: rd.sum(r[i] ** 2)))(dx, didx)
    ref = np.zeros_like(x)
    for b in range(4):
        np.add.at(ref[b], idx[b], 2 * x[b, idx[b]])
    np.testing.assert_allclose(fetch("gradients", g), ref)


def test_in_place_changes_and_data_dependent_control_flow_are_refused() -> None:
    with pytest.raises(RuntimeError, match="in-place"):
        tg.vmap(lambda x: x.add_(1.0))(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="control flow"):
        tg.vmap(lambda x: x * 2 if x.sum() > 0 else x)(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="control flow"):
        tg.vmap(lambda x: x.item())(np.ones(2))


# ------------------------------------------------------------------------------ tensors


@on_devices
def test_vmap_of_tensors_returns_tensors_in_the_graph(device: DeviceKind) -> None:
    x = device.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    w = device.tensor([1.0, -2.0], dtype=tg.float64, requires_grad=True)
    y = tg.vmap(lambda r: (r * w).tanh().sum())(x)
    assert isinstance(y, tg.Tensor) and y.shape == (3,) and y.requires_grad
    assert y.device == device.device
    y.sum().backward()
    xd = device.tensor_to_host(x)
    wd = device.tensor_to_host(w)
    sech2 = 1 - np.tanh(xd * wd) ** 2
    np.testing.assert_allclose(device.tensor_to_host(x.grad), sech2 * wd, rtol=1e-12)
    np.testing.assert_allclose(device.tensor_to_host(w.grad), (sech2 * xd).sum(0), rtol=1e-12)


@on_devices
def test_per_example_gradients_of_tensor_parameters(device: DeviceKind) -> None:
    w = device.tensor(np.array([0.5, -1.0]), requires_grad=True)
    xs = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    grad = tg.grad(lambda w, x: ew.tanh(la.matmul(x, w)))
    per = tg.vmap(grad, in_axes=(None, 0))(w, device.to_device(xs))
    assert isinstance(per, tg.Tensor) and per.shape == (3, 2)
    wd = device.tensor_to_host(w)
    ref = (1 - np.tanh(xs @ wd) ** 2)[:, None] * xs
    np.testing.assert_allclose(device.tensor_to_host(per), ref, rtol=1e-12)
    # They stay functions of w: a penalty on them is differentiable.
    (per**2).sum().backward()
    assert w.grad is not None and w.grad.shape == (2,)
    assert w.grad.device == device.device


# ------------------------------------------------------------------------------ errors


def test_inconsistent_batch_sizes_name_the_sizes() -> None:
    with pytest.raises(ValueError, match=r"inconsistent sizes.*3.*4"):
        tg.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))


def test_in_axes_out_of_range() -> None:
    with pytest.raises(ValueError, match="axis 2"):
        tg.vmap(lambda a: a, in_axes=2)(np.ones((3, 4)))
    with pytest.raises(ValueError, match="axis -3"):
        tg.vmap(lambda a: a, in_axes=-3)(np.ones((3, 4)))
    with pytest.raises(ValueError, match="rank"):
        tg.vmap(lambda a: a)(2.0)


def test_in_axes_structure_errors() -> None:
    with pytest.raises(ValueError, match="one entry per positional argument"):
        tg.vmap(lambda a, b: a, in_axes=(0,))(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="at least one non-None"):
        tg.vmap(lambda a: a, in_axes=None)(np.ones(2))
    with pytest.raises(ValueError, match="tree prefix"):
        tg.vmap(lambda t: t[0], in_axes=((0, 0, 0),))((np.ones(2), np.ones(2)))


def test_out_axes_none_for_a_mapped_output() -> None:
    with pytest.raises(ValueError, match="out_axes is None"):
        tg.vmap(lambda a: a * 2, out_axes=None)(np.ones(3))
    out = tg.vmap(lambda a: (a * 2, np.ones(2)), out_axes=(0, None))(np.ones(3))
    np.testing.assert_allclose(out[1], np.ones(2))


def test_unbatched_outputs_are_broadcast_and_writable() -> None:
    out = tg.vmap(lambda a: np.array([1.0, 2.0]))(np.ones(3))
    assert out.shape == (3, 2)
    out[0, 0] = 5.0
    out = tg.vmap(lambda a: 1.5)(np.ones(4))
    np.testing.assert_allclose(out, np.full(4, 1.5))


# ------------------------------------------------------------------------------ masks, labels


@on_devices
def test_where_with_a_batched_condition(device: DeviceKind) -> None:
    x = np.array([[1.0, -1.0], [-2.0, 3.0]])
    dx = device.to_device(x)
    out = tg.vmap(lambda v: tg.where(v > 0, v, 0.0))(dx)
    np.testing.assert_allclose(device.fetch("out", out), np.maximum(x, 0))
    g = tg.vmap(tg.grad(lambda v: rd.sum(tg.where(v > 0, v * v, -v))))(dx)
    np.testing.assert_allclose(device.fetch("gradients", g), np.where(x > 0, 2 * x, -1.0))


@on_devices
def test_per_example_targets_of_nll_loss(device: DeviceKind) -> None:
    dev, fetch = device.to_device, device.fetch
    rng = np.random.default_rng(10)
    w = dev(rng.standard_normal((5, 4)))
    xs = dev(rng.standard_normal((6, 3, 5)))
    ts = rng.integers(0, 4, (6, 3))
    ts[0, 1] = -100
    kept = dev(np.maximum(ts, 0))
    ts = dev(ts)

    def loss(w: Any, x: Any, t: Any) -> Any:
        return tnn.nll_loss(tnn.log_softmax(la.matmul(x, w)), t, ignore_index=-100)

    per = fetch("per", tg.vmap(tg.grad(loss), in_axes=(None, 0, 0))(w, xs, ts))
    loop = np.stack([fetch("loop", tg.grad(loss)(w, xs[i], ts[i])) for i in range(6)])
    np.testing.assert_allclose(per, loop, rtol=1e-12, atol=1e-14)
    for red in ("sum", "none"):

        def per_example(x: Any, t: Any, red: str = red) -> Any:
            return tnn.nll_loss(tnn.log_softmax(x), t, reduction=red)

        got = fetch("per-example losses", tg.vmap(per_example)(xs[..., :4], kept))
        ref = np.stack(
            [
                fetch(
                    "loop",
                    tnn.nll_loss(tnn.log_softmax(xs[i, :, :4]), kept[i], reduction=red),
                    scalar_ok=True,
                )
                for i in range(6)
            ]
        )
        np.testing.assert_allclose(got, ref, rtol=1e-12)


@on_devices
def test_batched_indices_into_an_unbatched_tensor(device: DeviceKind) -> None:
    host_table = np.arange(10.0).reshape(5, 2)
    table = device.tensor(host_table)
    idx = np.array([[0, 1], [4, 4]])
    out = tg.vmap(lambda i: table[i])(device.to_device(idx))
    np.testing.assert_allclose(device.tensor_to_host(out), host_table[idx])


@on_devices
def test_comparison_functions_on_batched_values(device: DeviceKind) -> None:
    x = np.array([[1.0, -1.0], [-2.0, 3.0]])
    out = tg.vmap(lambda v: ew.where(ew.greater(v, 0), v, 0.0))(device.to_device(x))
    np.testing.assert_allclose(device.fetch("out", out), np.maximum(x, 0))


@on_devices
def test_clamp_function_on_batched_values(device: DeviceKind) -> None:
    x = np.array([[1.0, -3.0], [-2.0, 3.0]])
    out = tg.vmap(lambda v: tg.clamp(v, -1.5, 1.5))(device.to_device(x))
    np.testing.assert_allclose(device.fetch("out", out), np.clip(x, -1.5, 1.5))


@on_devices
def test_batched_vector_matrix_products(device: DeviceKind) -> None:
    """The products per-example gradients use: values, derivatives to second order, and the
    one-matrix-product path for a broadcast matrix."""
    dev, fetch = device.to_device, device.fetch
    rng = np.random.default_rng(11)
    a = rng.standard_normal((4, 3))
    b = rng.standard_normal((4, 3, 5))
    v = rng.standard_normal((4, 5))
    da, db, dv = dev((a, b, v))
    out = fetch("vecmat", batching.vecmat(da, db))
    np.testing.assert_allclose(out, np.einsum("bk,bkn->bn", a, b))
    out = fetch("matvec", batching.matvec(db, dv))
    np.testing.assert_allclose(out, np.einsum("bkn,bn->bk", b, v))
    shared = sh.broadcast_to(db[0], b.shape)  # a stride-0 view on the device
    np.testing.assert_allclose(fetch("vecmat", batching.vecmat(da, shared)), a @ b[0])
    np.testing.assert_allclose(fetch("matvec", batching.matvec(shared, dv)), v @ b[0].T)
    # check_grads moves its directions to the device: the products and their derivatives
    # run there.
    tg.testing.check_grads(batching.vecmat, (da, db), order=2)
    tg.testing.check_grads(batching.matvec, (db, dv), order=2)
    tg.testing.check_grads(batching.vecmat, (da[0], db), order=2)  # leading axes broadcast
