"""Every row of the op table (``specs.py``) against NumPy and finite differences.

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

A check that tapegrad currently fails is listed in the row's ``xfail`` (strict), with why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
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


def _params(check: str) -> Iterator[Any]:
    assert check in CHECKS
    for spec in SPECS:
        if not _applies(spec, check):
            continue
        for case in spec.cases:
            reason = spec.xfail.get(f"{check}:{case.id}") or spec.xfail.get(check)
            marks = [()] if reason else []
            yield pytest.param(spec, case, id=f"{spec.name}-{case.id}", marks=marks)


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


def _setup(data: st.DataObject, spec: OpSpec, case: Case, dtype: Any = None):
    args = _draw_args(data, spec, case, dtype)
    kwargs = _kwargs(case, dtype)
    f = _closure(spec, args, kwargs)
    xs = [args[p] for p in spec.diff_positions]
    rng = _rng(data)
    us = [rng.standard_normal(np.shape(x)) for x in xs]
    return args, kwargs, f, xs, us, rng


def _like(rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    return np.asarray(rng.standard_normal(np.shape(out))).astype(out.dtype)


def _assert_array(name: str, got: Any, like: np.ndarray, scalar_ok: bool = False) -> None:
    """``got`` is a NumPy array shaped and typed like ``like``.

    With ``scalar_ok``, a NumPy scalar stands for a 0-d array (see
    ``test_zero_dim_tangents_are_arrays`` for the strict form).
    """
    kinds = (np.ndarray, np.generic) if scalar_ok and np.ndim(like) == 0 else np.ndarray
    assert isinstance(got, kinds), f"{name}: expected a NumPy array, got {type(got)}"
    assert got.shape == np.shape(like), f"{name}: shape {got.shape} != {np.shape(like)}"
    assert got.dtype == like.dtype, f"{name}: dtype {got.dtype} != {like.dtype}"


# ------------------------------------------------------------------------------ the checks
# The first-order checks run the settings profile's number of examples per case. The others
# re-check, on the same rules, what higher order, float32 and the facade add; they run a fifth
# of it per case (at least 3), so every case is still covered on every run.

SECONDARY = settings(max_examples=max(3, settings.default.max_examples // 5))


def _check_value(spec: OpSpec, args: list[Any], kwargs: dict[str, Any], out: Any) -> None:
    """``fn`` on raw arrays gives an array equal to the reference, and to ``out``."""
    direct = spec.fn(*args, **kwargs)
    ref = np.asarray(spec.ref(*args, **kwargs))
    _assert_array("value", direct, ref)
    np.testing.assert_allclose(direct, ref, rtol=spec.rtol, atol=spec.rtol)
    np.testing.assert_array_equal(out, direct)


@pytest.mark.parametrize("spec, case", _params("rev"))
@given(data=st.data())
def test_rev(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    args, kwargs, f, xs, us, rng = _setup(data, spec, case)
    out, pullback = tg.vjp(f, *xs)
    _check_value(spec, args, kwargs, out)
    v = _like(rng, out)
    cots = pullback(v)
    assert isinstance(cots, tuple) and len(cots) == len(xs)
    for i, (c, x) in enumerate(zip(cots, xs, strict=True)):
        _assert_array(f"cotangent {i}", c, x, scalar_ok=True)
        assert np.all(np.isfinite(c)), f"cotangent {i} is not finite: {c}"
    ju, real = _central_difference(f, xs, us)
    lhs = sum(float(np.vdot(_f64(c).ravel(), r.ravel())) for c, r in zip(cots, real, strict=True))
    rhs = float(np.vdot(_f64(v).ravel(), ju.ravel()))
    rtol, atol = _tol(xs, out)
    scale = float(np.sum(np.abs(_f64(v) * ju)))
    assert abs(lhs - rhs) <= atol * (1 + scale) + rtol * abs(rhs), (
        f"<vjp(v), u> = {lhs!r} but <v, J u> = {rhs!r} from central differences"
    )


@pytest.mark.parametrize("spec, case", _params("fwd"))
@given(data=st.data())
def test_fwd(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    args, kwargs, f, xs, us, rng = _setup(data, spec, case)
    ju, real = _central_difference(f, xs, us)
    tangents = tuple(r.astype(x.dtype) for r, x in zip(real, xs, strict=True))
    out, t_out = tg.jvp(f, tuple(xs), tangents)
    _check_value(spec, args, kwargs, out)
    _assert_array("tangent", t_out, np.asarray(out), scalar_ok=True)
    rtol, atol = _tol(xs, out)
    np.testing.assert_allclose(
        _f64(t_out), ju, rtol=rtol, atol=atol * (1 + float(np.max(np.abs(ju), initial=0)))
    )


def _check_grads_options(f: Callable[..., Any], xs: list[np.ndarray]) -> dict[str, float]:
    """A smaller step than check_grads' default in float64: the table's domains reach 1/4,
    where third derivatives of 1/x and x**-1.5 are large; float32 steps and tolerances when
    the output is float32."""
    if _precision(xs, f(*xs)) == F32:
        return {"eps": 1e-2, "atol": 2e-2, "rtol": 2e-2}
    return {"eps": 1e-5}


@pytest.mark.parametrize("spec, case", _params("order2_rev"))
@SECONDARY
@given(data=st.data())
def test_order2_rev(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    _, _, f, xs, _, _ = _setup(data, spec, case)
    tg.testing.check_grads(f, xs, order=2, modes=("rev",), **_check_grads_options(f, xs))


@pytest.mark.parametrize("spec, case", _params("order2_fwd"))
@SECONDARY
@given(data=st.data())
def test_order2_fwd(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    _, _, f, xs, _, _ = _setup(data, spec, case)
    tg.testing.check_grads(f, xs, order=2, modes=("fwd",), **_check_grads_options(f, xs))


def _float32_setup(data: st.DataObject, spec: OpSpec, case: Case):
    """float32 arguments, and the same function in float64 on the same (exact) values."""
    args, kwargs, f32, xs, us, rng = _setup(data, spec, case, np.float32)
    args64 = [_f64(a) if a.dtype == F32 else a for a in args]
    f64 = _closure(spec, args64, _kwargs(case))
    xs64 = [_f64(x) for x in xs]
    out = f32(*xs)
    ref = f64(*xs64)
    _assert_array("float32 value", out, np.asarray(ref).astype(np.float32))
    scale = 1 + float(np.max(np.abs(ref), initial=0))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * scale)
    return f32, f64, xs, xs64, us, rng, out


@pytest.mark.parametrize("spec, case", _params("float32_rev"))
@SECONDARY
@given(data=st.data())
def test_float32_rev(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    f32, f64, xs, xs64, _, rng, out = _float32_setup(data, spec, case)
    v = _like(rng, out)
    cots = tg.vjp(f32, *xs)[1](v)
    cots64 = tg.vjp(f64, *xs64)[1](_f64(v))
    for i, (c, c64, x) in enumerate(zip(cots, cots64, xs, strict=True)):
        _assert_array(f"float32 cotangent {i}", c, x, scalar_ok=True)
        scale = 1 + float(np.max(np.abs(c64), initial=0))
        np.testing.assert_allclose(c, c64, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("spec, case", _params("float32_fwd"))
@SECONDARY
@given(data=st.data())
def test_float32_fwd(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    f32, f64, xs, xs64, us, _, out = _float32_setup(data, spec, case)
    us32 = tuple(u.astype(np.float32) for u in us)
    out32, t32 = tg.jvp(f32, tuple(xs), us32)
    _, t64 = tg.jvp(f64, tuple(xs64), tuple(_f64(u) for u in us32))
    np.testing.assert_array_equal(out32, out)
    _assert_array("float32 tangent", t32, out, scalar_ok=True)
    scale = 1 + float(np.max(np.abs(t64), initial=0))
    np.testing.assert_allclose(t32, t64, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("spec, case", _params("facade"))
@SECONDARY
@given(data=st.data())
def test_facade(spec: OpSpec, case: Case, data: st.DataObject) -> None:
    args, kwargs, f, xs, _, rng = _setup(data, spec, case)
    out, pullback = tg.vjp(f, *xs)
    v = _like(rng, out)
    cots = pullback(v)

    leaves = [tg.tensor(x, requires_grad=True) for x in xs]
    full: list[Any] = list(args)
    for p, t in zip(spec.diff_positions, leaves, strict=True):
        full[p] = t
    op = spec.tensor_fn or spec.fn
    out_t = op(*full, **kwargs)
    assert isinstance(out_t, tg.Tensor), f"expected a Tensor, got {type(out_t)}"
    assert out_t.requires_grad and out_t.grad_fn is not None
    assert out_t.dtype == out.dtype
    np.testing.assert_allclose(out_t.detach().numpy(), out, rtol=1e-15, atol=0)
    out_t.backward(tg.tensor(v))
    for i, (t, c) in enumerate(zip(leaves, cots, strict=True)):
        assert t.grad is not None, f"leaf {i} got no gradient"
        _assert_array(f".grad of leaf {i}", t.grad.numpy(), np.asarray(c), scalar_ok=True)
        np.testing.assert_allclose(t.grad.numpy(), c, rtol=1e-12, atol=1e-14)


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


def test_ties_share_the_gradient_evenly() -> None:
    # maximum/minimum split a tie evenly between the two sides, as PyTorch does.
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 5.0])
    g = np.ones(3)
    gx, gy = tg.vjp(ew.maximum, x, y)[1](g)
    np.testing.assert_array_equal(gx, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0, 1.0])
    gx, gy = tg.vjp(ew.minimum, x, y)[1](g)
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])
    # amax/amin share the cotangent among tied extremes, in both modes.
    z = np.array([[3.0, 1.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(
        tg.grad(lambda a: rd.amax(a, axis=1).sum())(z), [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    )
    np.testing.assert_array_equal(
        tg.grad(lambda a: rd.amin(a, axis=None))(z), [[0, 0, 0], [1 / 3, 1 / 3, 1 / 3]]
    )
    _, t = tg.jvp(lambda a: rd.amax(a, axis=1), (z,), (np.arange(6.0).reshape(2, 3),))
    np.testing.assert_allclose(t, [1.0, 4.0])


def test_kinks_take_pytorch_subgradients() -> None:
    x = np.array([0.0, -1.0, 2.0])
    g = np.ones(3)
    np.testing.assert_array_equal(tg.vjp(ew.abs, x)[1](g)[0], [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(tg.vjp(ew.relu, x)[1](g)[0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(tg.vjp(ew.sign, x)[1](g)[0], [0.0, 0.0, 0.0])


def test_repeated_integer_indices_add_up() -> None:
    x = np.arange(4.0)
    idx = np.array([1, 1, 3, 1])
    (g,) = tg.vjp(lambda a: ix.getitem(a, idx), x)[1](np.ones(4))
    np.testing.assert_array_equal(g, [0.0, 3.0, 0.0, 1.0])
    t = tg.tensor(x, requires_grad=True)
    t[idx].backward(tg.tensor(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(t.grad.numpy(), [0.0, 7.0, 0.0, 3.0])


ZERO_DIM_OPS = {"add": ew.add, "multiply": ew.multiply, "exp": ew.exp, "sin": ew.sin}


def _zero_dim_args(op: Callable[..., Any]) -> list[np.ndarray]:
    return [np.array(0.5)] * (2 if op in (ew.add, ew.multiply) else 1)


@pytest.mark.parametrize("name", ZERO_DIM_OPS)
def test_zero_dim_cotangents_are_arrays(name: str) -> None:
    op = ZERO_DIM_OPS[name]
    for c in tg.vjp(op, *_zero_dim_args(op))[1](np.array(1.0)):
        assert isinstance(c, np.ndarray) and c.shape == () and c.dtype == np.float64, repr(c)


@pytest.mark.parametrize("name", ZERO_DIM_OPS)
def test_zero_dim_tangents_are_arrays(name: str) -> None:
    op = ZERO_DIM_OPS[name]
    x = _zero_dim_args(op)
    _, t = tg.jvp(op, tuple(x), tuple(np.array(1.0) for _ in x))
    assert isinstance(t, np.ndarray) and t.shape == () and t.dtype == np.float64, repr(t)


def test_zero_dim_grad_is_array_backed() -> None:
    t = tg.tensor(np.array(0.5), requires_grad=True)
    t.exp().backward()
    g = t.grad.numpy()
    assert isinstance(g, np.ndarray) and g.shape == () and g.dtype == np.float64, repr(g)
