"""Shortcuts of the Jacobian transforms: the shared read-only identity basis, the matmul
batching rule that skips products with it, and ``jacrev``'s direct batching of the basis.

Every shortcut is checked against the general path (the batching rule given a fresh identity
it does not recognise), against hand-written NumPy Jacobians and against finite differences,
over dtypes, non-square and batched shapes, and nested use (inside ``vmap``, under ``grad``,
``jacfwd(jacrev(f))``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import batching as tb
from tapegrad import transforms as tt

RNG = np.random.default_rng(20240611)


def _rand(shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


def _fd_jacobian(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences, ``out.shape + x.shape``."""
    cols = []
    for i in range(x.size):
        d = np.zeros(x.size)
        d[i] = eps
        d = d.reshape(x.shape)
        cols.append((np.asarray(f(x + d)) - np.asarray(f(x - d))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(cols[0]) + x.shape)


# ------------------------------------------------------------------------------ the basis


def test_basis_of_a_vector_is_the_shared_read_only_identity() -> None:
    x = np.ones(7)
    (eye,), sizes = tt._basis([x], "jacfwd")
    (again,), _ = tt._basis([x], "jacfwd")
    assert eye is again and sizes == [7]
    assert not eye.flags.writeable
    np.testing.assert_array_equal(eye, np.eye(7))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_basis_is_kept_per_dtype(dtype: Any) -> None:
    (eye,), _ = tt._basis([np.ones(3, dtype=dtype)], "jacrev")
    assert eye.dtype == dtype
    assert tb._is_identity(eye)


def test_basis_of_a_matrix_and_of_several_leaves() -> None:
    (b,), sizes = tt._basis([np.ones((2, 3))], "jacfwd")
    assert sizes == [6] and b.shape == (6, 2, 3)
    np.testing.assert_array_equal(b.reshape(6, 6), np.eye(6))
    blocks, sizes = tt._basis([np.ones(2), np.ones((1, 3))], "jacfwd")
    assert sizes == [2, 3]
    np.testing.assert_array_equal(
        np.concatenate([blocks[0], blocks[1].reshape(5, 3)], axis=1), np.eye(5)
    )


def test_large_identities_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tb, "_EYES", {})
    monkeypatch.setattr(tb, "_EYE_CACHE_ELEMENTS", 16)
    big = tb._identity(5, np.float64)
    assert not big.flags.writeable and not tb._is_identity(big)
    assert tb._identity(4, np.float64) is tb._identity(4, np.float64)
    # Without the cache the general product runs, with the same result.
    w = _rand((3, 5))
    np.testing.assert_allclose(tg.jacfwd(lambda x: w @ x)(np.ones(5)), w, rtol=0, atol=0)


def test_a_writable_identity_is_not_taken_for_the_basis() -> None:
    assert not tb._is_identity(np.eye(4))
    assert not tb._is_identity(tb._identity(4, np.float64).T)


# ------------------------------------------------------------------------------ matmul rule


def _general(vals: list[Any], dims: list[Any], sa: tuple, sb: tuple) -> np.ndarray:
    """The rule's result with the basis replaced by a fresh (unrecognised) identity, as a
    batch-first array."""
    fresh = [np.array(v) if tb._is_identity(v) else v for v in vals]
    out, d = tb._matmul_rule(fresh, dims, {"sa": sa, "sb": sb})
    return np.moveaxis(out, d, 0)


CASES = [
    # (other operand's shape, unit vectors on the right of the product)
    ((4, 6), True),
    ((6, 6), True),
    ((6,), True),
    ((2, 3, 6), True),
    ((6, 3), False),
    ((6,), False),
    ((6, 6), False),
    ((2, 6, 3), False),
]


@pytest.mark.parametrize(("shape", "right"), CASES)
@pytest.mark.parametrize(
    ("other_dtype", "eye_dtype"),
    [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float32, np.float64),
        (np.float64, np.float32),
        (np.complex128, np.complex128),
        (np.float64, np.complex64),
        (np.int64, np.float64),
    ],
)
def test_unit_product_matches_the_general_rule(
    shape: tuple[int, ...], right: bool, other_dtype: Any, eye_dtype: Any
) -> None:
    other = (
        _rand(shape, other_dtype)
        if np.dtype(other_dtype).kind != "i"
        else np.arange(np.prod(shape)).reshape(shape)
    )
    eye = tb._identity(6, eye_dtype)
    if right:
        vals, dims, sa, sb = [other, eye], [None, 0], shape, (6,)
    else:
        vals, dims, sa, sb = [eye, other], [0, None], (6,), shape
    out, d = tb._matmul_rule(vals, dims, {"sa": sa, "sb": sb})
    got = np.moveaxis(out, d, 0)
    want = _general(vals, dims, sa, sb)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    # A copy, or a read-only view: nothing can write into the operand through it.
    assert not np.shares_memory(out, other) or not out.flags.writeable


@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
def test_a_jacobian_that_is_an_operand_is_a_writable_copy(jac) -> None:
    w = _rand((4, 6))
    got = jac(lambda x: w @ x)(np.ones(6))
    np.testing.assert_array_equal(got, w)
    assert got.flags.writeable and not np.shares_memory(got, w)
    got[...] = 0.0
    assert np.all(w != 0.0)


def test_unit_product_with_the_basis_at_axis_1() -> None:
    w = _rand((4, 6))
    eye = tb._identity(6, np.float64)
    out, d = tb._matmul_rule([w, eye], [None, 1], {"sa": (4, 6), "sb": (6,)})
    np.testing.assert_array_equal(np.moveaxis(out, d, 0), w.T)


def test_unit_product_leaves_other_cases_to_the_general_rule() -> None:
    eye = tb._identity(6, np.float64)
    # Both operands batched, or the other operand a tensor: no shortcut.
    assert tb._unit_product([eye, eye], [0, 0]) is None
    assert tb._unit_product([tg.tensor(np.ones((2, 6))), eye], [None, 0]) is None
    assert tb._unit_product([np.ones((2, 6)), np.eye(6)], [None, 0]) is None


def test_jacfwd_of_a_product_makes_no_matrix_product(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = tb._mm
    monkeypatch.setattr(tb, "_mm", lambda a, b: calls.append(1) or real(a, b))
    w = _rand((5, 8))
    jac = tg.jacfwd(lambda x: tg.tanh(w @ x))(np.ones(8))
    assert not calls
    y = np.tanh(w @ np.ones(8))
    np.testing.assert_allclose(jac, (1 - y * y)[:, None] * w, rtol=1e-14, atol=1e-15)


# ------------------------------------------------------------------------------ end to end


@pytest.mark.parametrize("shape", [(64, 64), (3, 5), (7, 2), (1, 4)])
@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
def test_jacobian_of_tanh_of_a_product(shape: tuple[int, int], jac: Any) -> None:
    w = _rand(shape) / 4
    x = _rand(shape[1:])
    got = jac(lambda x: tg.tanh(w @ x))(x)
    y = np.tanh(w @ x)
    want = (1 - y * y)[:, None] * w
    assert got.shape == shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got, _fd_jacobian(lambda x: np.tanh(w @ x), x), atol=1e-8)


@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
def test_jacobian_of_a_vector_times_matrix(jac: Any) -> None:
    w = _rand((4, 3))
    x = _rand((4,))
    np.testing.assert_allclose(jac(lambda x: x @ w)(x), w.T, rtol=1e-15)
    np.testing.assert_allclose(jac(lambda x: tg.sin(x @ w))(x), np.cos(x @ w)[:, None] * w.T)


@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
def test_jacobian_of_a_stacked_product(jac: Any) -> None:
    w = _rand((2, 3, 5))
    x = _rand((5,))
    np.testing.assert_allclose(jac(lambda x: w @ x)(x), w, rtol=1e-15)
    v = _rand((3,))
    np.testing.assert_allclose(jac(lambda v: v @ w)(v), np.swapaxes(w, 1, 2), rtol=1e-15)


@pytest.mark.parametrize(
    ("dtype", "rtol"), [(np.float32, 1e-5), (np.complex128, 1e-13), (np.complex64, 1e-5)]
)
@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
def test_jacobian_dtypes(dtype: Any, rtol: float, jac: Any) -> None:
    w = (_rand((3, 4)) / 4).astype(dtype)
    x = (_rand((4,)) / 4).astype(dtype)
    got = jac(lambda x: tg.tanh(w @ x))(x)
    y = np.tanh(w @ x)
    assert got.dtype == dtype
    want = (1 - y * y)[:, None] * w
    if jac is tg.jacrev and np.dtype(dtype).kind == "c":
        want = np.conj(want)  # reverse mode gives the conjugate for complex inputs
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_jacfwd_of_a_float32_vector_through_a_float64_matrix() -> None:
    w = _rand((3, 4))
    x = _rand((4,)).astype(np.float32)
    got = tg.jacfwd(lambda x: w @ x)(x)
    # The tangents take the dtype of the product, as with the general rule (w @ eye).
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, w)


def test_jacfwd_gives_exact_entries_of_the_matrix() -> None:
    w = _rand((5, 5)) * 1e300
    np.testing.assert_array_equal(tg.jacfwd(lambda x: w @ x)(np.ones(5)), w)


@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
def test_jacobian_of_the_identity_is_a_fresh_writable_array(jac: Any) -> None:
    x = np.ones(4)
    first = jac(lambda x: x)(x)
    assert first.flags.writeable
    first[0, 1] = 5.0
    second = jac(lambda x: x)(x)
    np.testing.assert_array_equal(second, np.eye(4))
    assert not tb._is_identity(second)
    np.testing.assert_array_equal(tt._basis([x], "jacfwd")[0][0], np.eye(4))


@pytest.mark.parametrize("jac", [tg.jacfwd, tg.jacrev])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_jacobian_of_the_identity_of_a_tensor(jac: Any, requires_grad: bool) -> None:
    got = jac(lambda x: x)(tg.tensor(np.ones(3), requires_grad=requires_grad))
    assert isinstance(got, tg.Tensor)
    got.data[0, 0] = 2.0
    np.testing.assert_array_equal(jac(lambda x: x)(np.ones(3)), np.eye(3))


def test_jacfwd_keeps_the_graph_of_a_tracked_matrix() -> None:
    w = _rand((3, 4))
    x = _rand((4,))
    g = tg.grad(lambda w: (tg.jacfwd(lambda x: tg.tanh(w @ x))(x) ** 2).sum())(w)

    def loss(w: np.ndarray) -> float:
        y = np.tanh(w @ x)
        return float((((1 - y * y)[:, None] * w) ** 2).sum())

    np.testing.assert_allclose(g, _fd_jacobian(loss, w), rtol=1e-6, atol=1e-8)


def test_jacfwd_inside_vmap() -> None:
    w = _rand((3, 4)) / 4
    xs = _rand((5, 4))
    got = tg.vmap(tg.jacfwd(lambda x: tg.tanh(w @ x)))(xs)
    y = np.tanh(xs @ w.T)
    np.testing.assert_allclose(got, (1 - y * y)[:, :, None] * w, rtol=1e-13, atol=1e-15)
    got = tg.vmap(tg.jacrev(lambda x: tg.tanh(w @ x)))(xs)
    np.testing.assert_allclose(got, (1 - y * y)[:, :, None] * w, rtol=1e-13, atol=1e-15)


def test_vmap_over_matrices_of_jacfwd() -> None:
    ws = _rand((5, 3, 4))
    x = _rand((4,))
    got = tg.vmap(lambda w: tg.jacfwd(lambda x: w @ x)(x))(ws)
    np.testing.assert_allclose(got, ws, rtol=1e-15)


@pytest.mark.parametrize(
    "hess",
    [
        lambda f: tg.jacfwd(tg.jacrev(f)),
        lambda f: tg.jacrev(tg.jacfwd(f)),
        lambda f: tg.jacfwd(tg.jacfwd(f)),
        tg.hessian,
    ],
)
def test_hessians_through_products(hess: Any) -> None:
    a = _rand((4, 4))
    a = a @ a.T
    w = _rand((3, 4)) / 4
    x = _rand((4,))

    def f(x: Any) -> Any:
        return 0.5 * (x @ (a @ x)) + tg.tanh(w @ x).sum()

    y = np.tanh(w @ x)
    want = a + w.T @ np.diag(-2 * y * (1 - y * y)) @ w
    np.testing.assert_allclose(hess(f)(x), want, rtol=1e-12, atol=1e-13)


def test_jacrev_of_pytrees_with_aux() -> None:
    w = _rand((3, 2))

    def f(x: Any, y: Any) -> Any:
        return {"a": w @ x, "b": (x * y).sum()}, "aux"

    x, y = _rand((2,)), _rand((2,))
    jac, aux = tg.jacrev(f, argnums=(0, 1), has_aux=True)(x, y)
    assert aux == "aux"
    np.testing.assert_allclose(jac["a"][0], w)
    np.testing.assert_allclose(jac["a"][1], np.zeros((3, 2)))
    np.testing.assert_allclose(jac["b"][0], y)
    np.testing.assert_allclose(jac["b"][1], x)


def test_hvp_by_reverse_over_reverse() -> None:
    def rosenbrock(x: Any) -> Any:
        return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()

    x = RNG.random(6)
    v = RNG.random(6)
    _, pullback = tg.vjp(tg.grad(rosenbrock), x)
    np.testing.assert_allclose(pullback(v)[0], tg.hessian(rosenbrock)(x) @ v, rtol=1e-12)


def test_basis_cache_keeps_the_newest_when_full() -> None:
    for n in range(2, 2 + 2 * tb._EYE_CACHE_ENTRIES):
        eye = tb._identity(n, np.float64)
        assert tb._is_identity(eye)  # cached, though more sizes were asked for than it holds
    assert len(tb._EYES) <= tb._EYE_CACHE_ENTRIES


# ------------------------------------------------------------------ batched elementwise ops


@pytest.mark.parametrize("bdim", [0, 1, 2])
@pytest.mark.parametrize("other_shape", [(), (5,), (4, 5), "float", "int"])
@pytest.mark.parametrize("swap", [False, True])
def test_batched_elementwise_shortcut_matches_the_rule(bdim, other_shape, swap):
    """A batched NumPy value against an unbatched array or number goes straight to NumPy
    (``batching.bind2_batched``): the same values and batch axis as the primitive's rule."""
    from tapegrad.ops import elementwise as ew

    value = np.moveaxis(_rand((3, 4, 5)), 0, bdim)  # batch of 3, examples (4, 5)
    if other_shape == "float":
        other = 1.5
    elif other_shape == "int":
        other = 2
    else:
        other = _rand(other_shape) + 2.0
    for prim in (ew.ADD, ew.SUBTRACT, ew.RSUB, ew.MULTIPLY, ew.TRUE_DIVIDE):
        with tb.new_level(3) as level:
            bt = tb._bt(value, bdim, level)
            args = (other, bt) if swap else (bt, other)
            fast = tb.bind2_batched(prim, *args, None)
            slow = tb.bind_batched(prim, args, None)
        got = np.moveaxis(fast.value, fast.bdim, 0)
        want = np.moveaxis(slow.value, slow.bdim, 0)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_jacfwd_of_an_elementwise_chain_takes_the_shortcut(monkeypatch):
    """Only the product with W goes through a batching rule; tanh's tangent rule multiplies
    straight in NumPy."""
    seen = []
    general = tb.bind_batched
    monkeypatch.setattr(tb, "bind_batched", lambda p, a, k: seen.append(p.name) or general(p, a, k))
    w = _rand((6, 6))
    jac = tg.jacfwd(lambda x: tg.tanh(w @ x))(np.ones(6))
    assert seen == ["matmul"]
    y = np.tanh(w @ np.ones(6))
    np.testing.assert_allclose(jac, (1 - y * y)[:, None] * w, rtol=1e-14, atol=1e-15)
