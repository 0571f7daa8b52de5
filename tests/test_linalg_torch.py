"""Linear algebra against PyTorch (``torch.linalg``, float64, CPU), and its behaviour at the
edges: NumPy's errors, dtypes, singular and degenerate inputs, and ``vmap``.

The op table (``tests/ops/specs_linalg.py``) checks every derivative against finite
differences; here the values, gradients and second derivatives are compared with PyTorch's,
through the Tensor facade, and PyTorch's ``grad_fn`` names with ours.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops import linalg as la

# ------------------------------------------------------------------------------ inputs

RNG_SEED = 20240601


def _rng(k: int = 0) -> np.random.Generator:
    return np.random.default_rng(RNG_SEED + k)


def _well_conditioned(shape: tuple[int, ...], k: int = 0) -> np.ndarray:
    """``U diag(s) V^T`` with distinct singular values in ``[1, 1 + 0.7 (n - 1)]``."""
    rng = _rng(k)
    m, n = shape[-2:]
    r = min(m, n)
    u = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, m)))[0][..., :r]
    v = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))[0][..., :r]
    s = 1.0 + 0.7 * np.arange(r)[::-1]
    return (u * s) @ np.swapaxes(v, -1, -2)


def _spd(shape: tuple[int, ...], k: int = 0) -> np.ndarray:
    q = np.linalg.qr(_rng(k).standard_normal(shape))[0]
    w = 1.0 + 0.7 * np.arange(shape[-1])
    a = (q * w) @ np.swapaxes(q, -1, -2)
    return (a + np.swapaxes(a, -1, -2)) / 2


def _normal(shape: tuple[int, ...], k: int = 0) -> np.ndarray:
    return _rng(k).standard_normal(shape)


# ------------------------------------------------------------------------------ the comparison


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, tuple) else (x,)


def _compare(
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    *arrays: np.ndarray,
    rtol: float = 1e-9,
    atol: float = 1e-10,
    second_order: bool = False,
) -> None:
    """Values, gradients of a random linear loss of the outputs, and (optionally) the gradient
    of a random linear function of that gradient, in tapegrad and in PyTorch."""
    import torch

    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs = _as_tuple(ours(*xs))
    touts = _as_tuple(theirs(*ts))
    assert len(outs) == len(touts)
    rng = _rng(99)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outs]
    for i, (o, t) in enumerate(zip(outs, touts, strict=True)):
        assert tuple(o.shape) == tuple(t.shape), f"output {i}: {o.shape} vs {tuple(t.shape)}"
        np.testing.assert_allclose(
            o.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"output {i}"
        )
    loss = sum((o * tg.tensor(w)).sum() for o, w in zip(outs, weights, strict=True))
    tloss = sum((t * torch.tensor(w)).sum() for t, w in zip(touts, weights, strict=True))
    grads = tg.autograd.grad(loss, xs, create_graph=second_order)
    tgrads = torch.autograd.grad(tloss, ts, create_graph=second_order)
    for i, (g, t) in enumerate(zip(grads, tgrads, strict=True)):
        np.testing.assert_allclose(
            g.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"grad {i}"
        )
    if second_order:
        dirs = [rng.standard_normal(tuple(g.shape)) for g in grads]
        gg = sum((g * tg.tensor(d)).sum() for g, d in zip(grads, dirs, strict=True))
        tgg = sum((t * torch.tensor(d)).sum() for t, d in zip(tgrads, dirs, strict=True))
        if not gg.requires_grad:
            # The gradient is constant (a linear function): no second derivative on either side.
            assert not tgg.requires_grad
            return
        second = tg.autograd.grad(gg, xs, allow_unused=True)
        tsecond = torch.autograd.grad(tgg, ts, allow_unused=True)
        for i, (g, t) in enumerate(zip(second, tsecond, strict=True)):
            if t is None:
                assert g is None or np.allclose(g.detach().numpy(), 0, atol=atol)
                continue
            np.testing.assert_allclose(
                g.detach().numpy(),
                t.detach().numpy(),
                rtol=rtol * 100,
                atol=atol * 100,
                err_msg=f"second derivative {i}",
            )


def _tsym(a: Any) -> Any:
    return (a + a.mT) / 2


def _weights(k: int) -> np.ndarray:
    return np.arange(1.0, k + 1.0)


# ------------------------------------------------------------------------------ products


@pytest.mark.torch
class TestProductsAgainstTorch:
    def test_dot(self) -> None:
        import torch

        _compare(la.dot, torch.dot, _normal((4,)), _normal((4,), 1))
        _compare(la.dot, torch.matmul, _normal((2, 3)), _normal((3, 4), 1))
        _compare(
            la.dot,
            lambda a, b: torch.tensordot(a, b, dims=([-1], [-2])),
            _normal((2, 3, 4)),
            _normal((5, 4, 2), 1),
        )

    def test_vdot_inner_outer(self) -> None:
        import torch

        _compare(
            la.vdot,
            lambda a, b: torch.vdot(a.flatten(), b.flatten()),
            _normal((2, 3)),
            _normal((3, 2), 1),
        )
        _compare(la.inner, torch.inner, _normal((2, 3)), _normal((4, 2, 3), 1))
        _compare(
            la.outer,
            lambda a, b: torch.outer(a.flatten(), b.flatten()),
            _normal((2, 2)),
            _normal((3,), 1),
        )

    @pytest.mark.parametrize(
        "axes", [2, 1, 0, ([0, 2], [2, 0]), ([1], [0])], ids=["2", "1", "0", "pairs", "single"]
    )
    def test_tensordot(self, axes: Any) -> None:
        import torch

        shapes = {
            "2": ((2, 3, 4), (3, 4, 2)),
            "1": ((2, 3, 4), (4, 5)),
            "0": ((2, 3), (4,)),
            "pairs": ((2, 3, 4), (4, 5, 2)),
            "single": ((2, 3, 4), (3, 5)),
        }
        key = {2: "2", 1: "1", 0: "0"}.get(axes) if isinstance(axes, int) else None
        if key is None:
            key = "pairs" if len(axes[0]) == 2 else "single"
        sa, sb = shapes[key]
        _compare(
            lambda a, b: la.tensordot(a, b, axes),
            lambda a, b: torch.tensordot(a, b, dims=axes),
            _normal(sa),
            _normal(sb, 1),
            second_order=True,
        )

    @pytest.mark.parametrize("sa, sb", [((2, 2), (2, 3)), ((3,), (2,)), ((2, 1, 2), (2, 2))])
    def test_kron(self, sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
        import torch

        _compare(la.kron, torch.kron, _normal(sa), _normal(sb, 1))

    @pytest.mark.parametrize(
        "spec, shapes",
        [
            ("ij,jk->ik", ((2, 3), (3, 4))),
            ("ii->i", ((3, 3),)),
            ("ii", ((3, 3),)),
            ("bii->b", ((2, 3, 3),)),
            ("...ij,...jk->...ik", ((2, 2, 3), (3, 4))),
            ("ij,ij->ij", ((1, 3), (4, 3))),
            ("ij,j->", ((2, 3), (3,))),
            ("i,j,k->ijk", ((2,), (3,), (4,))),
            ("ab,bc,cd,de->ae", ((2, 3), (3, 4), (4, 5), (5, 2))),
            ("ba,Ab", ((2, 3), (4, 2))),
        ],
    )
    def test_einsum(self, spec: str, shapes: tuple[tuple[int, ...], ...]) -> None:
        import torch

        arrays = [_normal(s, k) for k, s in enumerate(shapes)]
        _compare(
            lambda *xs: la.einsum(spec, *xs),
            lambda *ts: torch.einsum(spec, *ts),
            *arrays,
            second_order=True,
        )


# ------------------------------------------------------------------------------ linalg


@pytest.mark.torch
class TestLinalgAgainstTorch:
    @pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
    def test_inv(self, shape: tuple[int, ...]) -> None:
        import torch

        _compare(la.inv, torch.linalg.inv, _well_conditioned(shape), second_order=True)

    @pytest.mark.parametrize(
        "sa, sb",
        [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 1))],
    )
    def test_solve(self, sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
        import torch

        _compare(
            la.solve, torch.linalg.solve, _well_conditioned(sa), _normal(sb, 1), second_order=True
        )

    @pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
    def test_det_and_slogdet(self, shape: tuple[int, ...]) -> None:
        import torch

        a = _well_conditioned(shape)
        _compare(la.det, torch.linalg.det, a, second_order=True)
        _compare(
            lambda x: tuple(la.slogdet(x)),
            lambda t: tuple(torch.linalg.slogdet(t)),
            a,
            second_order=True,
        )

    @pytest.mark.parametrize("upper", [False, True])
    def test_cholesky(self, upper: bool) -> None:
        import torch

        # No symmetrisation on either side: both give the symmetric gradient.
        _compare(
            lambda x: la.cholesky(x, upper=upper),
            lambda t: torch.linalg.cholesky(t, upper=upper),
            _spd((2, 3, 3)),
            second_order=True,
        )

    @pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 2)])
    def test_qr(self, shape: tuple[int, ...]) -> None:
        import torch

        _compare(
            lambda x: tuple(la.qr(x)),
            lambda t: tuple(torch.linalg.qr(t)),
            _well_conditioned(shape),
            second_order=True,
        )

    def test_eigh(self) -> None:
        import torch

        a = _spd((2, 4, 4))
        c = _weights(4)

        def ours(x: Any) -> Any:
            w, v = la.eigh(x)
            return w, la.matmul(v * c, la.swap_last(v))

        def theirs(t: Any) -> Any:
            w, v = torch.linalg.eigh(t)
            return w, (v * torch.tensor(c)) @ v.mT

        _compare(ours, theirs, a, second_order=True)

    @pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 3, 4)])
    def test_svd(self, shape: tuple[int, ...]) -> None:
        import torch

        a = _well_conditioned(shape)
        c = _weights(min(shape[-2:]))

        def ours(x: Any) -> Any:
            u, s, vh = la.svd(x, full_matrices=False)
            return s, la.matmul(u * c, vh)

        def theirs(t: Any) -> Any:
            u, s, vh = torch.linalg.svd(t, full_matrices=False)
            return s, (u * torch.tensor(c)) @ vh

        _compare(ours, theirs, a, second_order=True)
        _compare(lambda x: la.svd(x, compute_uv=False), torch.linalg.svdvals, a)

    @pytest.mark.parametrize("shape", [(3, 3), (5, 3), (2, 3, 5)])
    def test_pinv(self, shape: tuple[int, ...]) -> None:
        import torch

        _compare(la.pinv, torch.linalg.pinv, _well_conditioned(shape), second_order=True)

    @pytest.mark.parametrize(
        "shape, ord, axis, keepdims",
        [
            ((5,), None, None, False),
            ((2, 3, 4), None, None, False),
            ((2, 3), 2, 1, True),
            ((2, 3), 1, 0, False),
            ((4,), np.inf, None, False),
            ((4,), -np.inf, None, False),
            ((4,), 3, None, False),
            ((4,), 0.5, None, False),
            ((3, 4), "fro", None, False),
            ((3, 4), "nuc", None, False),
            ((3, 4), 2, None, False),
            ((4, 3), -2, None, False),
            ((3, 4), 1, None, False),
            ((3, 4), -1, None, True),
            ((2, 3, 4), np.inf, (2, 0), False),
            ((3, 4), -np.inf, None, False),
        ],
    )
    def test_norm(self, shape: tuple[int, ...], ord: Any, axis: Any, keepdims: bool) -> None:
        import torch

        x = _normal(shape) + 0.1 * np.arange(np.prod(shape)).reshape(shape)
        _compare(
            lambda t: la.norm(t, ord, axis, keepdims),
            lambda t: torch.linalg.norm(t, ord, axis, keepdims),
            x,
        )

    def test_grad_fn_names_are_pytorch_names(self) -> None:
        import torch

        a = _well_conditioned((3, 3))
        s = _spd((3, 3))
        v = _normal((3,))
        cases: list[tuple[Callable[..., Any], Callable[..., Any], np.ndarray]] = [
            (la.inv, torch.linalg.inv, a),
            (lambda x: la.solve(x, v), lambda t: torch.linalg.solve(t, torch.tensor(v)), a),
            (la.det, torch.linalg.det, a),
            (lambda x: la.slogdet(x)[1], lambda t: torch.linalg.slogdet(t)[1], a),
            (la.cholesky, torch.linalg.cholesky, s),
            (lambda x: la.qr(x)[0], lambda t: torch.linalg.qr(t)[0], a),
            (lambda x: la.eigh(x)[0], lambda t: torch.linalg.eigh(t)[0], s),
            (lambda x: la.svd(x)[1], lambda t: torch.linalg.svd(t)[1], a),
            (la.pinv, torch.linalg.pinv, a),
            (la.norm, torch.linalg.norm, a),
            (lambda x: la.outer(x[0], x[1]), lambda t: torch.outer(t[0], t[1]), a),
        ]
        for ours, theirs, x in cases:
            name = ours(tg.tensor(x, requires_grad=True)).grad_fn.name()
            assert name == theirs(torch.tensor(x, requires_grad=True)).grad_fn.name()


# ------------------------------------------------------------------------------ NumPy's errors


def test_singular_matrices_raise_linalg_error() -> None:
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    for x in (sing, tg.tensor(sing, requires_grad=True)):
        with pytest.raises(np.linalg.LinAlgError):
            la.inv(x)
        with pytest.raises(np.linalg.LinAlgError):
            la.solve(x, np.ones(2))
    with pytest.raises(np.linalg.LinAlgError):
        la.cholesky(-np.eye(2))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        la.inv(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        la.det(np.ones(3))


@pytest.mark.parametrize(
    "call, shapes",
    [
        (lambda: la.solve(np.eye(3), np.ones(4)), ["(3, 3)", "(4,)"]),
        (lambda: la.solve(np.eye(3), np.ones((2, 3))), ["(3, 3)", "(2, 3)"]),
        (lambda: la.dot(np.ones((2, 3)), np.ones(4)), ["(2, 3)", "(4,)"]),
        (lambda: la.inner(np.ones((2, 3)), np.ones((3, 2))), ["(2, 3)", "(3, 2)"]),
        (lambda: la.tensordot(np.ones((2, 3)), np.ones((4, 3)), 1), ["(2, 3)", "(4, 3)"]),
        (lambda: la.vdot(np.ones(3), np.ones(4)), ["(3,)", "(4,)"]),
        (lambda: la.matmul(np.ones((2, 3)), np.ones((4, 2))), ["(2, 3)", "(4, 2)"]),
        (lambda: la.einsum("ij,jk", np.ones((2, 3)), np.ones((4, 2))), ["(2, 3)", "(4, 2)"]),
    ],
)
def test_shape_mismatches_name_both_shapes(call: Callable[[], Any], shapes: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        call()
    for s in shapes:
        assert s in str(info.value)


@pytest.mark.parametrize(
    "args, message",
    [
        (("ij,jk->ii", np.ones((2, 3)), np.ones((3, 2))), "multiple times"),
        (("ij->k", np.ones((2, 3))), "never appeared"),
        (("i...->i", np.ones((2, 3))), "ellipsis"),
        (("ii->i", np.ones((1, 3))), "don't match"),
        (("ij,jk", np.ones((2, 3))), "fewer operands"),
        (("i1", np.ones((2, 3))), "invalid subscript"),
        (("ijk", np.ones((2, 3))), "dimensions"),
    ],
)
def test_einsum_errors(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        la.einsum(*args)


def test_norm_errors() -> None:
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        la.norm(np.ones((2, 2, 2)), "fro")
    with pytest.raises(ValueError, match="for vectors"):
        la.norm(np.ones(3), "fro")
    with pytest.raises(ValueError, match="for matrices"):
        la.norm(np.ones((3, 3)), 3)


# ------------------------------------------------------------------------------ values and dtypes


def test_einsum_matches_numpy_on_many_subscripts() -> None:
    cases = [
        ("ba,Ab", ((2, 3), (4, 2))),
        ("i...,i...", ((2, 3, 4), (2, 4))),
        ("ij...,jk...", ((2, 3, 4), (3, 2, 1))),
        ("i,->i", ((3,), ())),
        ("...,...", ((2, 3), (3,))),
        ("iji->ij", ((2, 3, 2),)),
        ("aab,bc,cd->d", ((2, 2, 3), (3, 4), (4, 5))),
        ("ii,ij,jk->k", ((3, 3), (3, 4), (4, 2))),
        ("ij,jk,kl,lm->", ((2, 3), (3, 4), (4, 5), (5, 2))),
    ]
    for spec, shapes in cases:
        ops = [_normal(s, k) for k, s in enumerate(shapes)]
        ref = np.einsum(spec, *ops)
        for optimize in (False, True, "optimal"):
            got = la.einsum(spec, *ops, optimize=optimize)
            assert isinstance(got, np.ndarray) and got.shape == np.shape(ref), spec
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, err_msg=spec)
    a, b = _normal((2, 3)), _normal((4, 2))
    np.testing.assert_allclose(
        la.einsum(a, [1, 0], b, [26, 1]), np.einsum(a, [1, 0], b, [26, 1]), rtol=1e-12
    )
    np.testing.assert_allclose(
        la.einsum(a, [0, Ellipsis], b, [26, 0], [Ellipsis, 26]),
        np.einsum(a, [0, Ellipsis], b, [26, 0], [Ellipsis, 26]),
        rtol=1e-12,
    )


def test_einsum_of_many_operands_checks_to_second_order() -> None:
    ops = [_normal((2, 3)), _normal((3, 4), 1), _normal((4, 2), 2)]
    for optimize in (False, True):

        def chain(*xs: Any, optimize: Any = optimize) -> Any:
            return la.einsum("ij,jk,kl->il", *xs, optimize=optimize)

        tg.testing.check_grads(chain, ops, order=2)


F32_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("dot", la.dot, ((3,), (3,))),
    ("vdot", la.vdot, ((2, 2), (4,))),
    ("inner", la.inner, ((2, 3), (3,))),
    ("outer", la.outer, ((2,), (3,))),
    ("tensordot", lambda a, b: la.tensordot(a, b, 1), ((2, 3), (3, 2))),
    ("kron", la.kron, ((2,), (2, 2))),
    ("einsum", lambda a, b: la.einsum("ij,jk", a, b), ((2, 3), (3, 2))),
    ("inv", la.inv, ("wc",)),
    ("solve", la.solve, ("wc", (3,))),
    ("det", la.det, ("wc",)),
    ("slogdet", lambda a: la.slogdet(a)[1], ("wc",)),
    ("cholesky", la.cholesky, ("spd",)),
    ("qr", lambda a: la.qr(a)[1], ("wc",)),
    ("eigh", lambda a: la.eigh(a)[0], ("spd",)),
    ("svd", lambda a: la.svd(a)[1], ("wc",)),
    ("pinv", la.pinv, ("wc",)),
    ("norm", la.norm, ((3, 3),)),
    ("norm_nuc", lambda a: la.norm(a, "nuc"), ("wc",)),
]


@pytest.mark.parametrize("name, fn, shapes", F32_CASES, ids=[c[0] for c in F32_CASES])
def test_float32_in_float32_out(name: str, fn: Callable[..., Any], shapes: tuple[Any, ...]) -> None:
    arrays = []
    for k, s in enumerate(shapes):
        if s == "wc":
            arrays.append(_well_conditioned((3, 3), k))
        elif s == "spd":
            arrays.append(_spd((3, 3), k))
        else:
            arrays.append(_normal(s, k))
    arrays = [a.astype(np.float32) for a in arrays]
    assert fn(*arrays).dtype == np.float32
    out, pullback = tg.vjp(fn, *arrays)
    assert out.dtype == np.float32
    for c in pullback(np.ones_like(out)):
        assert c.dtype == np.float32
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    res = fn(*leaves)
    assert res.dtype == tg.float32
    res.sum().backward()
    assert all(t.grad.dtype == tg.float32 for t in leaves)


def test_result_types_have_numpy_and_pytorch_field_names() -> None:
    a = _well_conditioned((3, 3))
    s = _spd((3, 3))
    assert la.slogdet(a)._fields == ("sign", "logabsdet")
    assert la.qr(a)._fields == ("Q", "R")
    assert la.eigh(s)._fields == ("eigenvalues", "eigenvectors")
    assert la.svd(a)._fields == ("U", "S", "Vh")
    np.testing.assert_allclose(la.qr(a, mode="r"), np.linalg.qr(a, mode="r"))
    u, sv, vh = la.svd(_well_conditioned((4, 3)))
    assert u.shape == (4, 4) and vh.shape == (3, 3)
    np.testing.assert_allclose(sv, np.linalg.svd(_well_conditioned((4, 3)), compute_uv=False))


# ------------------------------------------------------------------------------ degenerate inputs


def test_det_gradient_at_singular_matrices_is_the_cofactor() -> None:
    # The derivative of det at a matrix of rank n - 1 is its (non-zero) cofactor matrix;
    # PyTorch 2.13 returns zeros there, so this is checked against the closed form.
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(tg.grad(la.det)(sing), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    # Rank n - 1 in 3x3: the cofactor matrix is the adjugate transposed.
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    cof = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(tg.grad(la.det)(a), cof, atol=1e-12)
    # The second derivative of a 2x2 determinant is constant, also at a singular point.
    h = tg.hessian(la.det)(sing).reshape(4, 4)
    np.testing.assert_allclose(h, np.fliplr(np.diag([1.0, -1.0, -1.0, 1.0])), atol=1e-12)


def test_slogdet_of_a_singular_matrix_gives_infinities_not_a_crash() -> None:
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    sign, logabs = la.slogdet(sing)
    assert sign == 0 and logabs == -np.inf
    g = tg.grad(lambda a: la.slogdet(a)[1])(sing)
    assert not np.all(np.isfinite(g))


def test_eigh_with_repeated_eigenvalues() -> None:
    a = np.diag([1.0, 1.0, 2.0])
    # Through the eigenvalues alone the gradient is defined.
    np.testing.assert_allclose(tg.grad(lambda x: la.eigh(x)[0].sum())(a), np.eye(3), atol=1e-12)
    # Through the eigenvectors it is not: inf/nan, never an exception.
    with np.errstate(all="raise"):
        g = tg.grad(lambda x: (la.eigh(x)[1] ** 3).sum())(a)
    assert not np.all(np.isfinite(g))
    _, t = tg.jvp(lambda x: la.eigh(x)[1], (a,), (_normal((3, 3)),))
    assert not np.all(np.isfinite(t))


def test_svd_values_differentiable_at_repeated_singular_values() -> None:
    np.testing.assert_allclose(
        tg.grad(lambda x: la.svd(x, compute_uv=False).sum())(np.eye(3)), np.eye(3), atol=1e-12
    )
    np.testing.assert_allclose(tg.grad(lambda x: la.norm(x, "nuc"))(2 * np.eye(2)), np.eye(2))


def test_svd_full_matrices_gradient_through_the_reduced_part_only() -> None:
    a = _well_conditioned((3, 5))
    g = tg.grad(lambda x: la.svd(x)[2][:3].sum())(a)
    g_reduced = tg.grad(lambda x: la.svd(x, full_matrices=False)[2].sum())(a)
    np.testing.assert_allclose(g, g_reduced, rtol=1e-10)
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        tg.grad(lambda x: la.svd(x)[2].sum())(a)
    # Forward mode: the completion's tangent is undefined (nan), the rest is computed.
    _, (du, ds, dvh) = tg.jvp(lambda x: tuple(la.svd(x)), (a,), (_normal((3, 5)),))
    assert np.all(np.isfinite(ds)) and np.all(np.isfinite(du))
    assert np.all(np.isfinite(dvh[:3])) and np.all(np.isnan(dvh[3:]))


def test_norm_gradient_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(tg.grad(la.norm)(np.zeros(3)), np.zeros(3))
    x = tg.tensor(np.zeros((2, 2)), requires_grad=True)
    la.norm(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))
    assert float(la.norm(np.array([0.0, 1.0, -2.0]), 0)) == 2.0


def test_rules_save_only_what_they_read() -> None:
    # einsum and matmul keep no output: changing it in place leaves backward valid.
    x = tg.tensor(2 * np.eye(2), requires_grad=True)
    y = la.einsum("ij,jk->ik", x, x)
    y.add_(1.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 2), 4.0))
    # inv keeps its output: changing that in place is caught.
    x = tg.tensor(2 * np.eye(2), requires_grad=True)
    y = la.inv(x)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ------------------------------------------------------------------------------ vmap


@pytest.fixture
def batching_rules() -> None:
    """The rules of ``BATCHING_RULES``, registered where the package has not done it yet."""
    from tapegrad import batching

    for prim, rule in la.BATCHING_RULES.items():
        if batching.rule_for(prim) is None:
            batching.register(prim, rule)


@pytest.mark.usefixtures("batching_rules")
def test_vmap_matches_the_stacked_computation() -> None:
    a = _well_conditioned((4, 3, 3))
    s = _spd((4, 3, 3))
    b = _normal((4, 3))
    cases: list[tuple[Callable[..., Any], tuple[np.ndarray, ...], Any]] = [
        (la.inv, (a,), 0),
        (la.det, (a,), 0),
        (lambda x: la.slogdet(x)[1], (a,), 0),
        (la.cholesky, (s,), 0),
        (lambda x: la.qr(x)[1], (a,), 0),
        (lambda x: la.eigh(x)[0], (s,), 0),
        (lambda x: la.svd(x, full_matrices=False)[1], (a,), 0),
        (la.pinv, (a,), 0),
        (lambda x: la.norm(x, "nuc"), (a,), 0),
        (lambda x, y: la.solve(x, y), (a, b), (0, 0)),
        (lambda x, y: la.solve(x, y), (a[0], b), (None, 0)),
        (lambda x, y: la.einsum("ij,j->i", x, y), (a, b), (0, 0)),
        (lambda x: la.einsum("ii", x), (a,), 0),
    ]
    for fn, args, in_axes in cases:
        got = tg.vmap(fn, in_axes=in_axes)(*args)
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        per = [
            fn(*[x if ax is None else x[i] for x, ax in zip(args, axes, strict=True)])
            for i in range(4)
        ]
        np.testing.assert_allclose(got, np.stack(per), rtol=1e-10, atol=1e-12)
    # Per-example gradients through vmap.
    g = tg.vmap(tg.grad(lambda x: la.slogdet(x)[1]))(a)
    np.testing.assert_allclose(g, np.swapaxes(np.linalg.inv(a), -1, -2), rtol=1e-10)


def test_doctests() -> None:
    result = doctest.testmod(
        la, extraglobs={"np": np, "tg": tg}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 20 and result.failed == 0
