"""Every row of the op table (``specs.py``) against NumPy and finite differences, per device.

For each row and case, Hypothesis draws the arguments from the row's domains (float64 unless
the row says otherwise) and random directions ``u`` and cotangents ``v``; then

- values (within ``rev`` and ``fwd``): ``fn(*args)`` equals the NumPy reference, in shape,
  dtype and value, and so do the values the transforms return;
- ``rev``: ``<vjp(v), u>`` equals ``<v, J u>`` with ``J u`` from central differences;
- ``fwd``: ``jvp(u)`` equals ``J u`` from central differences, element by element;
- ``order2_rev`` / ``order2_fwd``: ``tg.testing.check_grads(order=2)`` in each mode;
- ``float32_rev`` / ``float32_fwd``: float32 arguments give float32 values, cotangents and
  tangents, close to the float64 ones;
- ``facade``: tensors that require grad, the op (or its operator form), ``.backward(v)``:
  the leaves' ``.grad`` equal the transform's cotangents.

Every check runs on each device of ``tests/devices.py`` (test ids end in ``-cpu``, ``-cuda``;
the CUDA cases skip where no GPU is usable): the arguments, directions and cotangents are drawn
on the host and moved to the device, tapegrad runs there, its results must be arrays of that
device, and they are compared on the host with the NumPy references and with central
differences (host steps, device evaluations). ``test_foreign_arrays.py`` runs the same checks
on the strict stand-in for a device array.

A check that tapegrad currently fails is listed in the row's ``xfail`` (strict), with why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from devices import DEVICES, KINDS, DeviceKind, device_params, skip_marks
from hypothesis import given, settings

import tapegrad as tg
from tapegrad.ops import elementwise as ew
from tapegrad.ops import index as ix
from tapegrad.ops import reduce as rd
from tapegrad.testing import strategies as tgst

from .specs import (
    CHECKS,
    DRAWN,
    DRAWN_BROADCAST,
    DRAWN_SAME,
    SPECS,
    Case,
    Domain,
    OpSpec,
)

F64 = np.dtype(np.float64)
F32 = np.dtype(np.float32)
#: Central-difference step for each input dtype.
EPS = {F64: 1e-6, F32: 1e-3}
#: (rtol, atol) of derivatives against central differences, by input dtype.
FD_TOL = {F64: (1e-5, 1e-6), F32: (2e-3, 2e-3)}

# ------------------------------------------------------------------------------ parameters


def _applies(spec: OpSpec, check: str) -> bool:
    if check.startswith("order2"):
        return spec.order2
    if check.startswith("float32"):
        return spec.dtype is None
    if check == "facade":
        return spec.facade
    return True


def table_params(check: str, kinds: Iterable[DeviceKind] = DEVICES) -> Iterator[Any]:
    """``(device, spec, case)`` for every case ``check`` applies to, on each of ``kinds``:
    ids ``<row>-<case>-<device>``, the skip mark of an unavailable device and the row's strict
    xfail for the check."""
    assert check in CHECKS
    for kind in kinds:
        for spec in SPECS:
            if not _applies(spec, check):
                continue
            for case in spec.cases:
                marks = list(skip_marks(kind))
                reason = spec.xfail.get(f"{check}:{case.id}") or spec.xfail.get(check)
                if reason:
                    marks.append(pytest.mark.xfail(strict=True, reason=reason))
                yield pytest.param(
                    kind, spec, case, id=f"{spec.name}-{case.id}-{kind.name}", marks=marks
                )


# ------------------------------------------------------------------------------ drawing


def _draw_shapes(data: st.DataObject, spec: OpSpec, case: Case) -> list[tuple[int, ...]]:
    n = len(spec.args)
    if not isinstance(case.shapes, str):
        assert len(case.shapes) == n, f"{spec.name}: {len(case.shapes)} shapes for {n} args"
        return list(case.shapes)
    if case.shapes == DRAWN:
        assert n == 1
        return [data.draw(tgst.shapes(), label="shape")]
    if case.shapes == DRAWN_SAME:
        s = data.draw(tgst.shapes(), label="shape")
        return [s] * n
    if case.shapes == DRAWN_BROADCAST:
        if n == 2:
            s = data.draw(tgst.shapes(max_dims=3), label="shape")
            t = data.draw(tgst.broadcastable_shapes(s), label="broadcast shape")
            return [s, t] if data.draw(st.booleans(), label="order") else [t, s]
        shapes = data.draw(
            hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=4),
            label="shapes",
        )
        return list(shapes.input_shapes)
    raise AssertionError(f"unknown shape kind {case.shapes!r}")


def _draw_args(
    data: st.DataObject, spec: OpSpec, case: Case, dtype: Any = None
) -> list[np.ndarray]:
    """Positional arguments, differentiable ones in ``dtype`` (default: the row's, float64)."""
    dtype = np.dtype(dtype or spec.dtype or np.float64)
    args = []
    for i, (arg, shape) in enumerate(zip(spec.args, _draw_shapes(data, spec, case), strict=True)):
        if isinstance(arg, Domain):
            strat = tgst.arrays(dtype, shape, elements=arg.elements(dtype))
        else:
            strat = hnp.arrays(arg.dtype, shape, elements=arg.elements())
        args.append(data.draw(strat, label=f"arg{i}"))
    if spec.prepare is not None:
        args = spec.prepare(args)
    return args


def _kwargs(case: Case, dtype: Any = None) -> dict[str, Any]:
    """The case's static keyword arguments; float arrays among them cast to ``dtype``."""
    kw = dict(case.kwargs)
    if dtype is not None:
        for k, v in kw.items():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                kw[k] = v.astype(dtype)
    return kw


def _rng(data: st.DataObject) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def _closure(spec: OpSpec, args: list[Any], kwargs: dict[str, Any]) -> Callable[..., Any]:
    """``fn`` as a function of the differentiable arguments only."""
    pos = spec.diff_positions

    def f(*diff: Any) -> Any:
        full = list(args)
        for p, d in zip(pos, diff, strict=True):
            full[p] = d
        return spec.fn(*full, **kwargs)

    return f


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _perturbed(xs: list[np.ndarray], us: list[np.ndarray], eps: float):
    """``x + eps u`` and ``x - eps u`` in each input's dtype, and the direction they realise."""
    plus = [np.asarray(x + eps * u).astype(x.dtype) for x, u in zip(xs, us, strict=True)]
    minus = [np.asarray(x - eps * u).astype(x.dtype) for x, u in zip(xs, us, strict=True)]
    # After rounding to the input dtype the step taken is (plus - minus) / 2, not eps * u; the
    # central difference is exact for linear functions along this realised direction.
    real = [(_f64(p) - _f64(m)) / (2 * eps) for p, m in zip(plus, minus, strict=True)]
    return plus, minus, real


def _precision(xs: list[np.ndarray], out: Any) -> np.dtype:
    """The least precise of the inputs' and the output's dtypes: it sets steps and tolerances."""
    dtypes = [np.dtype(x.dtype) for x in xs] + [np.asarray(out).dtype]
    return F32 if F32 in dtypes else F64


def _central_difference(f: Callable[..., Any], xs: list[np.ndarray], us: list[np.ndarray]):
    """``(J u, u)``: the central difference of ``f`` at ``xs`` along ``u`` (as realised)."""
    eps = EPS[_precision(xs, f(*xs))]
    plus, minus, real = _perturbed(xs, us, eps)
    ju = (_f64(f(*plus)) - _f64(f(*minus))) / (2 * eps)
    return ju, real


def _tol(xs: list[np.ndarray], out: Any) -> tuple[float, float]:
    return FD_TOL[_precision(xs, out)]


@dataclass
class Drawn:
    """One example: the arguments on the host and on the device, and the function under test.

    ``f`` is ``spec.fn`` as a function of the differentiable arguments, closing over the other
    (device) arguments; ``xs`` are the differentiable arguments on the host, ``dxs`` on the
    device; ``us`` are random directions (host, float64).
    """

    args: list[Any]
    kwargs: dict[str, Any]
    xs: list[np.ndarray]
    us: list[np.ndarray]
    rng: np.random.Generator
    dargs: list[Any]
    dkwargs: dict[str, Any]
    dxs: list[Any]
    f: Callable[..., Any]


def _setup(
    kind: DeviceKind, data: st.DataObject, spec: OpSpec, case: Case, dtype: Any = None
) -> Drawn:
    args = _draw_args(data, spec, case, dtype)
    kwargs = _kwargs(case, dtype)
    xs = [args[p] for p in spec.diff_positions]
    rng = _rng(data)
    us = [rng.standard_normal(np.shape(x)) for x in xs]
    dargs = kind.to_device(args)
    dkwargs = kind.to_device(kwargs)
    dxs = [dargs[p] for p in spec.diff_positions]
    return Drawn(args, kwargs, xs, us, rng, dargs, dkwargs, dxs, _closure(spec, dargs, dkwargs))


def _like(rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    return np.asarray(rng.standard_normal(np.shape(out))).astype(out.dtype)


def _assert_array(
    kind: DeviceKind, name: str, got: Any, like: np.ndarray, scalar_ok: bool = False
) -> None:
    """``got`` is an array of ``kind``, shaped and typed like ``like``.

    With ``scalar_ok``, a NumPy scalar stands for a 0-d array on the CPU (see
    ``test_zero_dim_tangents_are_arrays`` for the strict form).
    """
    kind.assert_on_device(name, got, scalar_ok=scalar_ok and np.ndim(like) == 0)
    assert got.shape == np.shape(like), f"{name}: shape {got.shape} != {np.shape(like)}"
    assert got.dtype == like.dtype, f"{name}: dtype {got.dtype} != {like.dtype}"


# ------------------------------------------------------------------------------ the checks
# Each check is a function of the device kind, the row, the case and Hypothesis' data, shared
# by the tests below (every device) and by test_foreign_arrays.py (the strict stand-in).
#
# The first-order checks run the settings profile's number of examples per case. The others
# re-check, on the same rules, what higher order, float32 and the facade add; they run a fifth
# of it per case (at least 3), so every case is still covered on every run.

SECONDARY = settings(max_examples=max(3, settings.default.max_examples // 5))


def _check_value(kind: DeviceKind, spec: OpSpec, d: Drawn, out: Any) -> None:
    """``fn`` on raw device arrays gives a device array equal to the reference, and to
    ``out`` (the value a transform returned)."""
    direct = spec.fn(*d.dargs, **d.dkwargs)
    ref = np.asarray(spec.ref(*d.args, **d.kwargs))
    _assert_array(kind, "value", direct, ref)
    direct = kind.to_host(direct)
    np.testing.assert_allclose(direct, ref, rtol=spec.rtol, atol=spec.rtol)
    kind.assert_on_device("value of the transform", out, scalar_ok=True)
    np.testing.assert_array_equal(kind.to_host(out), direct)


def check_rev(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    d = _setup(kind, data, spec, case)
    out, pullback = tg.vjp(d.f, *d.dxs)
    _check_value(kind, spec, d, out)
    out = kind.to_host(out)
    v = _like(d.rng, out)
    cots = pullback(kind.to_device(v))
    assert isinstance(cots, tuple) and len(cots) == len(d.xs)
    for i, (c, x) in enumerate(zip(cots, d.xs, strict=True)):
        _assert_array(kind, f"cotangent {i}", c, x, scalar_ok=True)
    cots = kind.to_host(cots)
    for i, c in enumerate(cots):
        assert np.all(np.isfinite(c)), f"cotangent {i} is not finite: {c}"
    ju, real = _central_difference(kind.on_host(d.f), d.xs, d.us)
    lhs = sum(float(np.vdot(_f64(c).ravel(), r.ravel())) for c, r in zip(cots, real, strict=True))
    rhs = float(np.vdot(_f64(v).ravel(), ju.ravel()))
    rtol, atol = _tol(d.xs, out)
    scale = float(np.sum(np.abs(_f64(v) * ju)))
    assert abs(lhs - rhs) <= atol * (1 + scale) + rtol * abs(rhs), (
        f"<vjp(v), u> = {lhs!r} but <v, J u> = {rhs!r} from central differences"
    )


def check_fwd(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    d = _setup(kind, data, spec, case)
    ju, real = _central_difference(kind.on_host(d.f), d.xs, d.us)
    tangents = tuple(r.astype(x.dtype) for r, x in zip(real, d.xs, strict=True))
    out, t_out = tg.jvp(d.f, tuple(d.dxs), kind.to_device(tangents))
    _check_value(kind, spec, d, out)
    out = np.asarray(kind.to_host(out))
    _assert_array(kind, "tangent", t_out, out, scalar_ok=True)
    rtol, atol = _tol(d.xs, out)
    np.testing.assert_allclose(
        _f64(kind.to_host(t_out)),
        ju,
        rtol=rtol,
        atol=atol * (1 + float(np.max(np.abs(ju), initial=0))),
    )


def _check_grads_options(xs: list[np.ndarray], out: Any) -> dict[str, float]:
    """A smaller step than check_grads' default in float64: the table's domains reach 1/4,
    where third derivatives of 1/x and x**-1.5 are large; float32 steps and tolerances when
    the output (``out``, on the host) is float32."""
    if _precision(xs, out) == F32:
        return {"eps": 1e-2, "atol": 2e-2, "rtol": 2e-2}
    return {"eps": 1e-5}


def _check_order2(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject, mode: str):
    # check_grads draws its directions on the host and moves them to the device of the
    # arguments, so the function, its derivatives and the steps all run on the device.
    d = _setup(kind, data, spec, case)
    options = _check_grads_options(d.xs, kind.to_host(d.f(*d.dxs)))
    tg.testing.check_grads(d.f, d.dxs, order=2, modes=(mode,), **options)


def check_order2_rev(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    _check_order2(kind, spec, case, data, "rev")


def check_order2_fwd(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    _check_order2(kind, spec, case, data, "fwd")


def _float32_setup(kind: DeviceKind, data: st.DataObject, spec: OpSpec, case: Case):
    """float32 arguments, and the same function in float64 on the same (exact) values; the
    float32 value (on the host)."""
    d = _setup(kind, data, spec, case, np.float32)
    args64 = [_f64(a) if a.dtype == F32 else a for a in d.args]
    f64 = _closure(spec, kind.to_device(args64), kind.to_device(_kwargs(case)))
    dxs64 = kind.to_device([_f64(x) for x in d.xs])
    out = d.f(*d.dxs)
    ref = kind.to_host(f64(*dxs64))
    _assert_array(kind, "float32 value", out, np.asarray(ref).astype(np.float32))
    out = kind.to_host(out)
    scale = 1 + float(np.max(np.abs(ref), initial=0))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * scale)
    return d, f64, dxs64, out


def check_float32_rev(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    d, f64, dxs64, out = _float32_setup(kind, data, spec, case)
    v = _like(d.rng, out)
    cots = tg.vjp(d.f, *d.dxs)[1](kind.to_device(v))
    cots64 = tg.vjp(f64, *dxs64)[1](kind.to_device(_f64(v)))
    for i, (c, c64, x) in enumerate(zip(cots, cots64, d.xs, strict=True)):
        _assert_array(kind, f"float32 cotangent {i}", c, x, scalar_ok=True)
        c, c64 = kind.to_host(c), kind.to_host(c64)
        scale = 1 + float(np.max(np.abs(c64), initial=0))
        np.testing.assert_allclose(c, c64, rtol=1e-4, atol=1e-4 * scale)


def check_float32_fwd(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    d, f64, dxs64, out = _float32_setup(kind, data, spec, case)
    us32 = tuple(u.astype(np.float32) for u in d.us)
    out32, t32 = tg.jvp(d.f, tuple(d.dxs), kind.to_device(us32))
    _, t64 = tg.jvp(f64, tuple(dxs64), kind.to_device(tuple(_f64(u) for u in us32)))
    kind.assert_on_device("float32 value of jvp", out32, scalar_ok=True)
    np.testing.assert_array_equal(kind.to_host(out32), out)
    _assert_array(kind, "float32 tangent", t32, out, scalar_ok=True)
    t32, t64 = kind.to_host(t32), kind.to_host(t64)
    scale = 1 + float(np.max(np.abs(t64), initial=0))
    np.testing.assert_allclose(t32, t64, rtol=1e-4, atol=1e-4 * scale)


def check_facade(kind: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    d = _setup(kind, data, spec, case)
    out, pullback = tg.vjp(d.f, *d.dxs)
    out = kind.to_host(out)
    v = _like(d.rng, out)
    cots = kind.to_host(pullback(kind.to_device(v)))

    # The dtype is explicit: see test_tensor_of_device_data_keeps_its_dtype.
    leaves = [tg.tensor(x, dtype=x.dtype, requires_grad=True) for x in d.dxs]
    full: list[Any] = list(d.dargs)
    for p, t in zip(spec.diff_positions, leaves, strict=True):
        full[p] = t
    op = spec.tensor_fn or spec.fn
    out_t = op(*full, **d.dkwargs)
    assert isinstance(out_t, tg.Tensor), f"expected a Tensor, got {type(out_t)}"
    assert out_t.requires_grad and out_t.grad_fn is not None
    assert out_t.dtype == out.dtype
    np.testing.assert_allclose(kind.tensor_to_host(out_t), out, rtol=1e-15, atol=0)
    out_t.backward(tg.tensor(kind.to_device(v), dtype=v.dtype))
    for i, (t, c) in enumerate(zip(leaves, cots, strict=True)):
        assert t.grad is not None, f"leaf {i} got no gradient"
        _assert_array(kind, f".grad of leaf {i}", t.grad.data, np.asarray(c), scalar_ok=True)
        np.testing.assert_allclose(kind.tensor_to_host(t.grad), c, rtol=1e-12, atol=1e-14)


#: The check of each name of ``CHECKS``.
CHECKERS: dict[str, Callable[[DeviceKind, OpSpec, Case, st.DataObject], None]] = {
    "rev": check_rev,
    "fwd": check_fwd,
    "order2_rev": check_order2_rev,
    "order2_fwd": check_order2_fwd,
    "float32_rev": check_float32_rev,
    "float32_fwd": check_float32_fwd,
    "facade": check_facade,
}
assert set(CHECKERS) == set(CHECKS)


@pytest.mark.parametrize("device, spec, case", list(table_params("rev")))
@given(data=st.data())
def test_rev(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_rev(device, spec, case, data)


@pytest.mark.parametrize("device, spec, case", list(table_params("fwd")))
@given(data=st.data())
def test_fwd(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_fwd(device, spec, case, data)


@pytest.mark.parametrize("device, spec, case", list(table_params("order2_rev")))
@SECONDARY
@given(data=st.data())
def test_order2_rev(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_order2_rev(device, spec, case, data)


@pytest.mark.parametrize("device, spec, case", list(table_params("order2_fwd")))
@SECONDARY
@given(data=st.data())
def test_order2_fwd(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_order2_fwd(device, spec, case, data)


@pytest.mark.parametrize("device, spec, case", list(table_params("float32_rev")))
@SECONDARY
@given(data=st.data())
def test_float32_rev(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_float32_rev(device, spec, case, data)


@pytest.mark.parametrize("device, spec, case", list(table_params("float32_fwd")))
@SECONDARY
@given(data=st.data())
def test_float32_fwd(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_float32_fwd(device, spec, case, data)


@pytest.mark.parametrize("device, spec, case", list(table_params("facade")))
@SECONDARY
@given(data=st.data())
def test_facade(device: DeviceKind, spec: OpSpec, case: Case, data: st.DataObject) -> None:
    check_facade(device, spec, case, data)


# ------------------------------------------------------------------------------ beyond the table


def _recorded_primitives(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Run every fixed-shape case of the table once on tensors; the primitives evaluated.

    Recording a primitive reads its forward rule, so reading ``fwd`` (or the fast NumPy
    forward, ``np_fwd``) marks the primitive as exercised.
    """
    from tapegrad.primitive import Primitive

    seen: set[str] = set()
    get = Primitive.__getattribute__

    def spy(self: Any, attr: str) -> Any:
        if attr in ("fwd", "np_fwd"):
            seen.add(get(self, "name"))
        return get(self, attr)

    monkeypatch.setattr(Primitive, "__getattribute__", spy)
    rng = np.random.default_rng(0)
    for spec in SPECS:
        for case in spec.cases:
            if isinstance(case.shapes, str):
                continue
            dtype = spec.dtype or np.float64
            args = []
            for arg, shape in zip(spec.args, case.shapes, strict=True):
                if isinstance(arg, Domain):
                    lo, hi = arg.intervals[0]
                    args.append(np.asarray(rng.uniform(lo, hi, shape)).astype(dtype))
                elif arg.dtype == np.bool_:
                    args.append(np.asarray(rng.random(shape) < 0.5))
                else:
                    args.append(np.asarray(rng.integers(arg.low, arg.high + 1, shape)))
            if spec.prepare is not None:
                args = spec.prepare(args)
            # Tensors that require grad: raw arrays may take a shortcut past the primitive.
            for p in spec.diff_positions:
                args[p] = tg.tensor(args[p], requires_grad=True)
            spec.fn(*args, **case.kwargs)
    return seen


#: Primitives checked elsewhere: values-only (backward raises) and device moves.
NOT_IN_TABLE = {"floor_divide", "to_device"}


def test_table_covers_every_primitive(monkeypatch: pytest.MonkeyPatch) -> None:
    import tapegrad.ops as ops_pkg
    from tapegrad.primitive import Primitive

    defined = set()
    for mod in (
        ops_pkg.elementwise,
        ops_pkg.reduce,
        ops_pkg.shape,
        ops_pkg.index,
        ops_pkg.linalg,
        ops_pkg.nn,
    ):
        defined |= {v.name for v in vars(mod).values() if isinstance(v, Primitive)}
    covered = _recorded_primitives(monkeypatch)
    missing = sorted(defined - covered - NOT_IN_TABLE)
    assert not missing, f"primitives without a row in tests/ops/specs.py: {missing}"


def test_floor_divide_values_only() -> None:
    a = np.array([7.0, -7.0, 2.5])
    b = np.array([2.0, 2.0, -1.0])
    np.testing.assert_array_equal(ew.floor_divide(a, b), np.floor_divide(a, b))
    x = tg.tensor(a, requires_grad=True)
    out = (x // tg.tensor(b)).sum()
    with pytest.raises(RuntimeError, match="floor division is not differentiable"):
        out.backward()


@pytest.mark.parametrize("device", device_params(KINDS))
def test_ties_share_the_gradient_evenly(device: DeviceKind) -> None:
    dev, host = device.to_device, device.to_host
    # maximum/minimum split a tie evenly between the two sides, as PyTorch does.
    x = dev(np.array([1.0, 2.0, 3.0]))
    y = dev(np.array([1.0, 0.0, 5.0]))
    g = dev(np.ones(3))
    gx, gy = tg.vjp(ew.maximum, x, y)[1](g)
    device.assert_on_device("cotangents", (gx, gy))
    np.testing.assert_array_equal(host(gx), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(host(gy), [0.5, 0.0, 1.0])
    gx, gy = tg.vjp(ew.minimum, x, y)[1](g)
    np.testing.assert_array_equal(host(gx), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(host(gy), [0.5, 1.0, 0.0])
    # amax/amin share the cotangent among tied extremes, in both modes.
    z = dev(np.array([[3.0, 1.0, 3.0], [0.0, 0.0, 0.0]]))
    g = tg.grad(lambda a: rd.amax(a, axis=1).sum())(z)
    device.assert_on_device("gradient", g)
    np.testing.assert_array_equal(host(g), [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    g = tg.grad(lambda a: rd.amin(a, axis=None))(z)
    np.testing.assert_array_equal(host(g), [[0, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    _, t = tg.jvp(lambda a: rd.amax(a, axis=1), (z,), (dev(np.arange(6.0).reshape(2, 3)),))
    device.assert_on_device("tangent", t)
    np.testing.assert_allclose(host(t), [1.0, 4.0])


@pytest.mark.parametrize("device", device_params(KINDS))
def test_kinks_take_pytorch_subgradients(device: DeviceKind) -> None:
    x = device.to_device(np.array([0.0, -1.0, 2.0]))
    g = device.to_device(np.ones(3))
    for op, expected in ((ew.abs, [0.0, -1.0, 1.0]), (ew.relu, [0.0, 0.0, 1.0])):
        (c,) = tg.vjp(op, x)[1](g)
        device.assert_on_device(f"cotangent of {op.__name__}", c)
        np.testing.assert_array_equal(device.to_host(c), expected)
    (c,) = tg.vjp(ew.sign, x)[1](g)
    np.testing.assert_array_equal(device.to_host(c), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("device", device_params(KINDS))
def test_repeated_integer_indices_add_up(device: DeviceKind) -> None:
    x = np.arange(4.0)
    idx = device.to_device(np.array([1, 1, 3, 1]))
    (g,) = tg.vjp(lambda a: ix.getitem(a, idx), device.to_device(x))[1](
        device.to_device(np.ones(4))
    )
    device.assert_on_device("cotangent", g)
    np.testing.assert_array_equal(device.to_host(g), [0.0, 3.0, 0.0, 1.0])
    t = device.tensor(x, requires_grad=True)
    t[idx].backward(device.tensor(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(device.tensor_to_host(t.grad), [0.0, 7.0, 0.0, 3.0])


ZERO_DIM_OPS = {"add": ew.add, "multiply": ew.multiply, "exp": ew.exp, "sin": ew.sin}


def _zero_dim_args(op: Callable[..., Any]) -> list[np.ndarray]:
    return [np.array(0.5)] * (2 if op in (ew.add, ew.multiply) else 1)


def _assert_zero_dim(device: DeviceKind, x: Any) -> None:
    """A 0-d float64 array of the device, not a NumPy scalar."""
    assert device.is_array(x) and x.shape == () and x.dtype == np.float64, repr(x)


@pytest.mark.parametrize("device", device_params(KINDS))
@pytest.mark.parametrize("name", ZERO_DIM_OPS)
def test_zero_dim_cotangents_are_arrays(name: str, device: DeviceKind) -> None:
    op = ZERO_DIM_OPS[name]
    args = device.to_device(_zero_dim_args(op))
    for c in tg.vjp(op, *args)[1](device.to_device(np.array(1.0))):
        _assert_zero_dim(device, c)


@pytest.mark.parametrize("device", device_params(KINDS))
@pytest.mark.parametrize("name", ZERO_DIM_OPS)
def test_zero_dim_tangents_are_arrays(name: str, device: DeviceKind) -> None:
    op = ZERO_DIM_OPS[name]
    x = device.to_device(_zero_dim_args(op))
    _, t = tg.jvp(op, tuple(x), tuple(device.to_device(np.array(1.0)) for _ in x))
    _assert_zero_dim(device, t)


@pytest.mark.parametrize("device", device_params(KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_tensor_of_device_data_keeps_its_dtype(dtype: Any, device: DeviceKind) -> None:
    # As torch.tensor(np_array) keeps float64: float64 device data is not Python floats.
    data = device.to_device(np.arange(3).astype(dtype))
    for t in (
        tg.tensor(data),
        tg.as_tensor(data),
        tg.tensor(data, requires_grad=dtype != np.int64),
    ):
        assert t.dtype == dtype and t.device == device.device
        device.assert_on_device("tensor data", t.data)


@pytest.mark.parametrize("device", device_params(KINDS))
def test_zero_dim_grad_is_array_backed(device: DeviceKind) -> None:
    t = device.tensor(np.array(0.5), requires_grad=True)
    t.exp().backward()
    assert t.grad.device == device.device
    _assert_zero_dim(device, t.grad.data)
