"""NumPy's protocols on tensors: ``__array_ufunc__`` and ``__array_function__``.

NumPy's own functions and ufuncs given tensors return tensors recorded on the tape; ufunc
methods map where there is a meaning (``np.add.reduce`` is ``sum``); anything without a rule
raises ``TypeError`` naming it; ``out=`` raises; ``ndarray <op> tensor`` gives the tensor the
reflected operator gives.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.numpy import _dispatch


def leaf(values: Any, dtype: Any = np.float64) -> tg.Tensor:
    return tg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------- mixed operators

A = np.array([[1.5, 2.0], [0.5, 3.0]])
T = np.array([[0.7, 1.3], [2.2, 0.4]])

# operator, node of ``ndarray <op> tensor``, node of ``tensor <op> ndarray``
OPERATORS = [
    (operator.add, "AddBackward0", "AddBackward0"),
    (operator.sub, "RsubBackward1", "SubBackward0"),
    (operator.mul, "MulBackward0", "MulBackward0"),
    (operator.truediv, "MulBackward0", "DivBackward0"),
    (operator.pow, "PowBackward2", "PowBackward0"),
    (operator.matmul, "MmBackward0", "MmBackward0"),
    (operator.mod, "RemainderBackward1", "RemainderBackward1"),
    (operator.floordiv, "FloorDivideBackward0", "FloorDivideBackward0"),
]


@pytest.mark.parametrize(
    "op, left_node, right_node", OPERATORS, ids=lambda v: getattr(v, "__name__", v)
)
def test_mixed_operators_give_tensors(
    op: Callable[..., Any], left_node: str, right_node: str
) -> None:
    t = leaf(T)
    for result, node, reflected in (
        (op(A, t), left_node, getattr(t, f"__r{op.__name__.strip('_')}__")(A)),
        (op(t, A), right_node, op(t, A)),
    ):
        assert isinstance(result, tg.Tensor)
        assert result.grad_fn.name() == node
        assert type(result.grad_fn).__name__ == type(reflected.grad_fn).__name__
        np.testing.assert_allclose(result.detach().numpy(), reflected.detach().numpy())
    np.testing.assert_allclose(op(A, t).detach().numpy(), op(A, T))
    np.testing.assert_allclose(op(t, A).detach().numpy(), op(T, A))


@pytest.mark.parametrize(
    "op",
    [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.matmul],
)
def test_mixed_operator_gradients(op: Callable[..., Any]) -> None:
    t = leaf(T)
    op(A, t).sum().backward()
    expected = tg.grad(lambda x: op(A, x).sum())(T)
    np.testing.assert_allclose(t.grad.numpy(), expected)
    t2 = leaf(T)
    (op(t2, A) * 2).sum().backward()
    np.testing.assert_allclose(t2.grad.numpy(), tg.grad(lambda x: (op(x, A) * 2).sum())(T))


def test_mixed_operators_with_scalars_and_float32() -> None:
    t = leaf([1.0, 2.0], np.float32)
    r = np.float64(2.0) * t
    assert isinstance(r, tg.Tensor) and r.dtype == np.float32  # a scalar does not widen
    assert r.grad_fn.name() == (t * np.float64(2.0)).grad_fn.name()
    r = 2.0 * t
    assert r.dtype == np.float32 and r.grad_fn.name() == "MulBackward0"
    r = np.ones(2, dtype=np.float64) * t  # an array with dimensions does, as PyTorch
    assert r.dtype == np.float64
    r = np.ones(2, dtype=np.float32) - t
    assert r.dtype == np.float32 and r.grad_fn.name() == "RsubBackward1"


def test_comparisons_of_arrays_and_tensors() -> None:
    t = leaf([1.0, 3.0])
    for result in (np.array([2.0, 2.0]) < t, t > np.array([2.0, 2.0]), np.greater(t, 2.0)):
        assert isinstance(result, tg.Tensor) and not result.requires_grad
        np.testing.assert_array_equal(result.numpy(), [False, True])


def test_inplace_array_op_with_tensor_raises() -> None:
    a = np.ones(2)
    with pytest.raises(TypeError, match="does not write into out arrays"):
        a += leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="does not write into out arrays"):
        a *= tg.tensor([1.0, 2.0])
    np.testing.assert_array_equal(a, [1.0, 1.0])


# ------------------------------------------------------------------------ ufunc __call__


@pytest.mark.parametrize(
    "ufunc, args, node",
    [
        (np.sin, (T,), "SinBackward0"),
        (np.exp, (T,), "ExpBackward0"),
        (np.log, (T,), "LogBackward0"),
        (np.sqrt, (T,), "SqrtBackward0"),
        (np.tanh, (T,), "TanhBackward0"),
        (np.negative, (T,), "NegBackward0"),
        (np.absolute, (T,), "AbsBackward0"),
        (np.square, (T,), "PowBackward0"),
        (np.add, (T, A), "AddBackward0"),
        (np.multiply, (T, A), "MulBackward0"),
        (np.divide, (T, A), "DivBackward0"),
        (np.power, (T, A), "PowBackward1"),
        (np.maximum, (T, A), "MaximumBackward0"),
        (np.arctan2, (T, A), "Atan2Backward0"),
        (np.hypot, (T, A), "HypotBackward0"),
        (np.logaddexp, (T, A), "LogaddexpBackward0"),
        (np.matmul, (T, A), "MmBackward0"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_ufunc_on_tensors(ufunc: np.ufunc, args: tuple[np.ndarray, ...], node: str) -> None:
    ts = [leaf(a) for a in args]
    with tg.Tape() as tape:
        r = ufunc(*ts)
    assert len(tape) >= 1
    assert isinstance(r, tg.Tensor) and r.grad_fn.name() == node
    np.testing.assert_allclose(r.detach().numpy(), ufunc(*args))
    r.sum().backward()
    name = ufunc.__name__
    grads = tg.grad(lambda *xs: getattr(tnp, name)(*xs).sum(), argnums=tuple(range(len(args))))(
        *args
    )
    for t, g in zip(ts, grads):
        np.testing.assert_allclose(t.grad.numpy(), g)


def test_ufunc_with_a_tensor_second() -> None:
    t = leaf(T)
    r = np.add(A, t)
    assert r.grad_fn.name() == "AddBackward0"
    r = np.subtract(A, t)  # what `A - t` reaches: the reflected operator's node
    assert r.grad_fn.name() == "RsubBackward1"
    np.testing.assert_allclose(r.detach().numpy(), A - T)
    r = np.matmul(A, t)
    assert r.grad_fn.name() == "MmBackward0"
    r.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), tg.grad(lambda x: tnp.matmul(A, x).sum())(T))


def test_ufunc_dtype_casts_first() -> None:
    t = leaf([1.0, 2.0], np.float32)
    r = np.sin(t, dtype=np.float64)
    assert r.dtype == np.float64
    r.sum().backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad.numpy(), np.cos([1.0, 2.0]), rtol=1e-6)


def test_value_only_ufuncs_return_tensors_without_grad() -> None:
    t = leaf([1.0, np.nan, -np.inf])
    for ufunc in (np.isnan, np.isfinite, np.isinf, np.signbit):
        r = ufunc(t)
        assert isinstance(r, tg.Tensor) and not r.requires_grad
        np.testing.assert_array_equal(r.numpy(), ufunc(t.detach().numpy()))
    r = np.logical_and(t > 0, np.array([True, True, True]))
    assert isinstance(r, tg.Tensor)
    np.testing.assert_array_equal(r.numpy(), [True, False, False])


def test_unsupported_ufunc_keywords_raise() -> None:
    t = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="numpy.sin: where="):
        np.sin(t, where=np.array([True, False]))
    with pytest.raises(TypeError, match="casting="):
        np.add(t, 1.0, casting="unsafe")
    assert isinstance(np.sin(t, where=True), tg.Tensor)


# ------------------------------------------------------------------------- ufunc methods


def test_ufunc_reduce_maps_to_reductions() -> None:
    x = np.array([[1.0, 5.0, 2.0], [3.0, 4.0, 0.5]])
    cases = [
        (np.add, {}, "SumBackward1"),
        (np.add, {"axis": None}, "SumBackward0"),
        (np.add, {"axis": 1, "keepdims": True}, "SumBackward1"),
        (np.multiply, {"axis": 1}, "ProdBackward1"),
        (np.maximum, {"axis": 1}, None),
        (np.minimum, {}, None),
        (np.logaddexp, {"axis": 1}, "LogsumexpBackward0"),
    ]
    for ufunc, kw, node in cases:
        t = leaf(x)
        r = ufunc.reduce(t, **kw)
        assert isinstance(r, tg.Tensor)
        np.testing.assert_allclose(r.detach().numpy(), ufunc.reduce(x, **kw))
        if node is not None:
            assert r.grad_fn.name() == node
        r.sum().backward()
        g = tg.grad(lambda v, u=ufunc, k=kw: u.reduce(v, **k).sum())(x)
        np.testing.assert_allclose(t.grad.numpy(), g)
    # A gradient by finite differences, through NumPy's ufunc method on the boxed input.
    tg.testing.check_grads(lambda v: np.logaddexp.reduce(v, axis=0), (x,), order=1, modes=("rev",))
    b = tg.tensor(x > 1)
    np.testing.assert_array_equal(np.logical_and.reduce(b, axis=1).numpy(), [False, False])
    np.testing.assert_array_equal(np.logical_or.reduce(b, axis=0).numpy(), [True, True, True])


def test_ufunc_accumulate_and_outer() -> None:
    x = np.array([[1.0, 5.0], [3.0, 4.0]])
    for ufunc, node in ((np.add, "CumsumBackward0"), (np.multiply, "CumprodBackward0")):
        t = leaf(x)
        r = ufunc.accumulate(t, axis=1)
        assert r.grad_fn.name() == node
        np.testing.assert_allclose(r.detach().numpy(), ufunc.accumulate(x, axis=1))
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, 4.0])
    for ufunc in (np.subtract, np.multiply, np.hypot, np.maximum):
        ta, tb = leaf(a), leaf(b)
        r = ufunc.outer(ta, tb)
        assert isinstance(r, tg.Tensor) and r.shape == (3, 2)
        np.testing.assert_allclose(r.detach().numpy(), ufunc.outer(a, b))
        r.sum().backward()
        ga, gb = tg.grad(lambda u, v, f=ufunc: f.outer(u, v).sum(), argnums=(0, 1))(a, b)
        np.testing.assert_allclose(ta.grad.numpy(), ga)
        np.testing.assert_allclose(tb.grad.numpy(), gb)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda t: np.subtract.reduce(t), "numpy.subtract.reduce"),
        (lambda t: np.maximum.accumulate(t), "numpy.maximum.accumulate"),
        (lambda t: np.add.reduceat(t, [0, 1]), "numpy.add.reduceat"),
        (lambda t: np.add.at(t, [0], 1.0), "numpy.add.at"),
        (lambda t: np.sin.outer(t, t), None),
        (lambda t: np.fmod(t, 2.0), "numpy.fmod"),
        (lambda t: np.copysign(t, -1.0), "numpy.copysign"),
        (lambda t: np.conjugate(t), "numpy.conjugate"),
    ],
)
def test_ufunc_without_rule_raises_type_error(call: Callable[..., Any], name: str | None) -> None:
    t = leaf([1.0, 2.0, 3.0])
    with pytest.raises((TypeError, ValueError)) as info:
        call(t)
    if name is not None:
        assert info.type is TypeError
        assert name in str(info.value)


# ------------------------------------------------------------------ __array_function__


@pytest.mark.parametrize(
    "call, node",
    [
        (lambda t, a: np.sum(t, axis=0), "SumBackward1"),
        (lambda t, a: np.sum(t), "SumBackward0"),
        (lambda t, a: np.mean(t), "MeanBackward0"),
        (lambda t, a: np.concatenate([t, a]), "CatBackward0"),
        (lambda t, a: np.stack([a, t]), "StackBackward0"),
        (lambda t, a: np.where(a > 1, t, 0.0), "WhereBackward0"),
        (lambda t, a: np.dot(a, t), "MmBackward0"),
        (lambda t, a: np.transpose(t), "PermuteBackward0"),
        (lambda t, a: np.reshape(t, -1), "ViewBackward0"),
        (lambda t, a: np.clip(t, 0.5, 1.5), "ClampBackward1"),
        (lambda t, a: np.linalg.inv(t), "LinalgInvExBackward0"),
        (lambda t, a: np.linalg.det(t), "LinalgDetBackward0"),
        (lambda t, a: np.einsum("ij,jk->ik", t, a), None),
        (lambda t, a: np.var(t, axis=1, ddof=1), "VarBackward0"),
        (lambda t, a: np.cumsum(t, axis=0), "CumsumBackward0"),
        (lambda t, a: np.trace(t), None),
        (lambda t, a: np.linalg.norm(t), "LinalgVectorNormBackward0"),
        (lambda t, a: np.sort(t, axis=1), None),
        (lambda t, a: np.average(t, axis=0, weights=np.array([1.0, 3.0])), None),
    ],
)
def test_numpy_functions_on_tensors(call: Callable[..., Any], node: str | None) -> None:
    t = leaf(T)
    with tg.Tape() as tape:
        r = call(t, A)
    assert len(tape) >= 1
    assert isinstance(r, tg.Tensor) and r.requires_grad
    if node is not None:
        assert r.grad_fn.name() == node
    np.testing.assert_allclose(r.detach().numpy(), call(T, A))
    (r * 1.5).sum().backward()
    expected = tg.grad(lambda x: (call(x, A) * 1.5).sum())(T)
    np.testing.assert_allclose(t.grad.numpy(), expected)


def test_functions_returning_several_tensors() -> None:
    t = leaf(T)
    parts = np.split(t, 2, axis=1)
    assert isinstance(parts, list) and all(isinstance(p, tg.Tensor) for p in parts)
    sign, logdet = np.linalg.slogdet(t)
    assert isinstance(logdet, tg.Tensor) and logdet.requires_grad
    q, r = np.linalg.qr(t)
    (q.sum() + r.sum() + logdet).backward()
    assert t.grad is not None
    w, v = np.linalg.eigh(leaf(A + A.T))
    assert isinstance(w, tg.Tensor) and isinstance(v, tg.Tensor)


def test_value_only_functions_give_tensors_without_grad() -> None:
    t = leaf(T)
    for r in (np.argmax(t, axis=0), np.argsort(t), np.count_nonzero(t > 1), np.any(t > 2)):
        assert isinstance(r, tg.Tensor) and not r.requires_grad
    assert np.shape(t) == (2, 2) and np.ndim(t) == 2 and np.size(t) == 4
    assert np.allclose(t.detach(), T) is True
    assert np.array_equal(tg.tensor([1, 2]), np.array([1, 2])) is True
    z = np.zeros_like(t)
    assert isinstance(z, tg.Tensor) and not z.requires_grad


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda t: np.median(t), "numpy.median"),
        (lambda t: np.percentile(t, 50), "numpy.percentile"),
        (lambda t: np.unique(t), "numpy.unique"),
        (lambda t: np.histogram(t), "numpy.histogram"),
        (lambda t: np.diff(t), "numpy.diff"),
        (lambda t: np.linalg.eig(t), "numpy.linalg.eig"),
        (lambda t: np.fft.fft(t), "numpy.fft.fft"),
        (lambda t: np.linspace(t, 2.0, 3), "numpy.linspace"),
    ],
)
def test_function_without_rule_raises_type_error(call: Callable[..., Any], name: str) -> None:
    t = leaf([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match=name.replace(".", r"\.") + " has no tapegrad rule"):
        call(t)
    # Also for a tensor that does not require grad: the result would silently be an array.
    with pytest.raises(TypeError, match="has no tapegrad rule"):
        call(t.detach())


def test_unresolved_name_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(_dispatch.FUNCTIONS, np.median, raising=False)
    monkeypatch.setitem(tnp.UNRESOLVED, "median", "tapegrad.ops.reduce.median does not exist yet")
    with pytest.raises(TypeError, match="numpy.median is not available on tapegrad tensors yet"):
        np.median(leaf([1.0, 2.0]))


def test_out_raises_for_functions() -> None:
    t = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="does not write into out arrays"):
        np.sum(t, out=np.empty(()))
    with pytest.raises(TypeError, match="does not write into out arrays"):
        np.sin(t, out=np.empty(2))
    with pytest.raises(TypeError, match="does not write into out arrays"):
        np.add.reduce(t, out=np.empty(()))
    with pytest.raises(TypeError, match="does not write into out arrays"):
        np.concatenate([t, t], out=np.empty(4))


def test_foreign_types_are_left_to_others() -> None:
    class Foreign:
        def __array_function__(self, *args: Any) -> Any:
            return NotImplemented

    t = leaf([1.0])
    assert _dispatch.array_function(np.sum, (tg.Tensor, Foreign), (t,), {}) is NotImplemented
    with pytest.raises(TypeError):
        np.concatenate([t, Foreign()])


def test_tables_cover_tnp() -> None:
    assert _dispatch.rule_for(np.sum) is tnp.sum
    assert _dispatch.rule_for(np.linalg.inv) is tnp.linalg.inv
    assert _dispatch.rule_for(np.sin) is tnp.sin
    assert _dispatch.rule_for(np.abs) is tnp.absolute
    assert _dispatch.rule_for(np.median) is None
    for name in tnp.resolved_names():
        module, short = (np.linalg, name[7:]) if name.startswith("linalg.") else (np, name)
        obj = getattr(module, short, None)
        if obj is None or obj is getattr(tnp, short, None):
            continue
        assert _dispatch.rule_for(obj) is not None, name


# ---------------------------------------------------------------------- conversion, views


def test_asarray_of_a_tensor_that_requires_grad_raises() -> None:
    t = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        np.asarray(t)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        np.array(t)
    d = t.detach()
    a = np.asarray(d)
    assert type(a) is np.ndarray and np.shares_memory(a, d.numpy())


# ------------------------------------------------------------------------ inside transforms


def test_plain_numpy_code_is_differentiable() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.sin(x) ** 2) + np.mean(np.exp(x) * np.array([1.0, 2.0, 3.0]))

    x = np.array([0.1, 0.5, 1.0])
    g = tg.grad(f)(x)
    np.testing.assert_allclose(g, 2 * np.sin(x) * np.cos(x) + np.exp(x) * [1.0, 2.0, 3.0] / 3)
    tg.testing.check_grads(f, (x,), order=2)
    h = tg.hessian(lambda v: np.sum(v**3))(x)
    np.testing.assert_allclose(h, np.diag(6 * x))


def test_numpy_functions_under_vmap() -> None:
    batch = np.arange(12.0).reshape(3, 4) / 10
    out = tg.vmap(lambda v: np.dot(v, np.sin(v)))(batch)
    np.testing.assert_allclose(out, np.einsum("ij,ij->i", batch, np.sin(batch)))
    out = tg.vmap(lambda v: np.sum(np.where(np.isnan(v), 0.0, v) ** 2))(batch)
    np.testing.assert_allclose(out, (batch**2).sum(1))
    out = tg.vmap(lambda v: np.concatenate([v, np.ones(2)]), in_axes=1)(batch)
    np.testing.assert_allclose(out, np.concatenate([batch.T, np.ones((4, 2))], axis=1))
    per_example = tg.vmap(tg.grad(lambda v: np.sum(np.tanh(v))))(batch)
    np.testing.assert_allclose(per_example, 1 - np.tanh(batch) ** 2)


def test_jvp_through_numpy_functions() -> None:
    x, u = np.array([0.3, 0.7]), np.array([1.0, -1.0])
    out, tangent = tg.jvp(lambda v: np.linalg.norm(np.exp(v)), (x,), (u,))
    np.testing.assert_allclose(out, np.linalg.norm(np.exp(x)))
    e = np.exp(x)
    np.testing.assert_allclose(tangent, e @ (e * u) / np.linalg.norm(e))
