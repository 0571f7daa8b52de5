"""``tapegrad.linalg`` against ``torch.linalg``: values, named results, backward node names
and gradients (float64, CPU), batched and unbatched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(7)
M = RNG.standard_normal((3, 3)) + 3.0 * np.eye(3)
BATCH = RNG.standard_normal((2, 3, 3)) + 3.0 * np.eye(3)
RECT = RNG.standard_normal((2, 4, 3))
SPD = M @ M.T + np.eye(3)
SYM = BATCH + np.swapaxes(BATCH, -1, -2)


def _sign_fixed(m: Any, x: Any) -> Any:
    """Factors are unique up to signs of columns: fix each by its first row's sign."""
    return x * m.sign(x[..., :1, :])


# name: (input, program(lib, A) -> tensor or tuple of tensors)
CASES: dict[str, tuple[np.ndarray, Callable[[Any, Any], Any]]] = {
    "inv": (M, lambda m, A: m.linalg.inv(A)),
    "inv_batch": (BATCH, lambda m, A: m.linalg.inv(A)),
    "det": (BATCH, lambda m, A: m.linalg.det(A)),
    "slogdet": (BATCH, lambda m, A: tuple(m.linalg.slogdet(A))),
    "solve_vector": (M, lambda m, A: m.linalg.solve(A, A[:, 0] * 2.0)),
    "solve_batch_vectors": (BATCH, lambda m, A: m.linalg.solve(A, A[..., 0])),
    "solve_matrix": (BATCH, lambda m, A: m.linalg.solve(A, A[0] + 1.0)),
    "solve_right": (BATCH, lambda m, A: m.linalg.solve(A, A[1] * 3.0, left=False)),
    "cholesky": (SPD, lambda m, A: m.linalg.cholesky(A @ A.mT)),
    "cholesky_upper": (SPD, lambda m, A: m.linalg.cholesky(A @ A.mT, upper=True)),
    "qr": (RECT, lambda m, A: tuple(_sign_fixed(m, f) for f in m.linalg.qr(A))[1:]),
    "qr_complete_r": (BATCH, lambda m, A: m.linalg.qr(A, mode="complete").R.abs()),
    "eigh": (SYM, lambda m, A: m.linalg.eigh(A + A.mT).eigenvalues),
    "eigh_upper": (SYM, lambda m, A: m.linalg.eigh(A, UPLO="U").eigenvalues),
    "eigvalsh": (SYM, lambda m, A: m.linalg.eigvalsh(A + A.mT)),
    "svd_S": (RECT, lambda m, A: m.linalg.svd(A, full_matrices=False).S),
    "svd_U": (RECT, lambda m, A: _sign_fixed(m, m.linalg.svd(A, full_matrices=False).U)),
    "svdvals": (RECT, lambda m, A: m.linalg.svdvals(A)),
    "pinv": (RECT, lambda m, A: m.linalg.pinv(A)),
    "matrix_power": (M, lambda m, A: m.linalg.matrix_power(A, 3)),
    "matrix_power_negative": (M, lambda m, A: m.linalg.matrix_power(A, -2)),
    "multi_dot": (M, lambda m, A: m.linalg.multi_dot([A, A.mT, A[:, 0]])),
    "vecdot": (BATCH, lambda m, A: m.linalg.vecdot(A, A[0], dim=1)),
    "norm": (BATCH, lambda m, A: m.linalg.norm(A)),
    "norm_dim": (BATCH, lambda m, A: m.linalg.norm(A, dim=1, keepdim=True)),
    "norm_ord_vector": (M, lambda m, A: m.linalg.norm(A[0], 3)),
    "norm_ord_matrix": (M, lambda m, A: m.linalg.norm(A, "nuc")),
    "norm_matrix_dims": (BATCH, lambda m, A: m.linalg.norm(A, 1, dim=(0, 2))),
    "norm_fro_dims": (BATCH, lambda m, A: m.linalg.norm(A, dim=(2, 1))),
    "vector_norm": (BATCH, lambda m, A: m.linalg.vector_norm(A)),
    "vector_norm_inf": (BATCH, lambda m, A: m.linalg.vector_norm(A, float("inf"), dim=(0, 2))),
    "vector_norm_dtype": (M, lambda m, A: m.linalg.vector_norm(A.float(), dtype=m.float64)),
    "matrix_norm": (BATCH, lambda m, A: m.linalg.matrix_norm(A)),
    "matrix_norm_2": (BATCH, lambda m, A: m.linalg.matrix_norm(A, 2)),
    "matrix_norm_neg_inf": (BATCH, lambda m, A: m.linalg.matrix_norm(A, -float("inf"))),
}


#: Cases whose PyTorch node is an inner step of its own composition (the ``SumBackward1`` of
#: a nuclear norm, the ``ViewBackward0`` after a chain ending in a vector): values and
#: gradients are compared, node names are not.
INNER_NODES = {"multi_dot", "norm_ord_matrix"}


def _flat(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, tuple) else (x,)


@pytest.mark.parametrize("name", CASES)
def test_linalg_matches_torch(name: str) -> None:
    data, program = CASES[name]
    a, b = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = _flat(program(tg, a)), _flat(program(torch, b))
    assert len(ours) == len(theirs)
    loss_ours, loss_theirs = 0.0, 0.0
    for k, (mine, ref) in enumerate(zip(ours, theirs, strict=True)):
        assert mine.shape == tuple(ref.shape) and str(mine.dtype) == str(ref.dtype)[6:]
        np.testing.assert_allclose(
            mine.detach().numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-10
        )
        if ref.grad_fn is not None:
            if name not in INNER_NODES:
                assert type(mine.grad_fn).__name__ == type(ref.grad_fn).__name__
            w = RNG.standard_normal(tuple(ref.shape)) + k
            loss_ours = loss_ours + (mine * tg.tensor(w, dtype=mine.dtype)).sum()
            loss_theirs = loss_theirs + (ref * torch.tensor(w, dtype=ref.dtype)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_qr_mode_r_gives_r_and_an_empty_q() -> None:
    ours, theirs = (
        tg.linalg.qr(tg.tensor(RECT), mode="r"),
        torch.linalg.qr(torch.tensor(RECT), mode="r"),
    )
    assert ours.Q.shape == tuple(theirs.Q.shape) == (0,)
    np.testing.assert_allclose(ours.R.abs().numpy(), theirs.R.abs().numpy(), rtol=1e-12)


def test_named_results_have_pytorchs_fields() -> None:
    A = tg.tensor(SYM)
    assert tg.linalg.slogdet(A)._fields == ("sign", "logabsdet")
    assert tg.linalg.qr(A)._fields == ("Q", "R")
    assert tg.linalg.eigh(A)._fields == ("eigenvalues", "eigenvectors")
    assert tg.linalg.svd(A)._fields == ("U", "S", "Vh")


def test_linalg_errors_are_pytorchs() -> None:
    for program in (
        lambda m: m.linalg.norm(m.ones(2, 2, 2), 2),
        lambda m: m.linalg.qr(m.ones(2, 2), mode="full"),
        lambda m: m.linalg.multi_dot([m.ones(2, 2)]),
        lambda m: m.linalg.vector_norm(m.ones(2, dtype=m.float64), dtype=m.float32),
    ):
        with pytest.raises(RuntimeError) as ours:
            program(tg)
        with pytest.raises(RuntimeError) as theirs:
            program(torch)
        assert str(ours.value) == str(theirs.value)


def test_linalg_inside_transforms_takes_arrays() -> None:
    g = tg.grad(lambda A: tg.linalg.slogdet(A).logabsdet)(M)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, np.linalg.inv(M).T, rtol=1e-12)
