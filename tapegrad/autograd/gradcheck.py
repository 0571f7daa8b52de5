"""``gradcheck``: PyTorch's check of analytic against numerical gradients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytic and numerical Jacobians disagree."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    check_forward_ad: bool = False,
) -> bool:
    """Compare the Jacobian from the tape with central finite differences.

    Every input tensor that requires grad is perturbed element by element. Inputs should be
    float64 for the default tolerances. With ``check_forward_ad`` the forward-mode Jacobian
    (from the primitives' JVP rules, column by column) is compared as well.

    >>> import tapegrad as tg
    >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    >>> tg.autograd.gradcheck(lambda t: (t.sin() * t).sum(), (x,))
    True
    """
    from ..engine import run_grad
    from ..tape import no_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in diff:
        if t.dtype != np.float64:
            import warnings

            warnings.warn(
                f"Input of dtype {t.dtype} requires grad: gradcheck is designed for float64 "
                "inputs and may fail at these tolerances.",
                UserWarning,
                stacklevel=2,
            )
    outs = _outputs(fn, inputs)
    for oi, out in enumerate(outs):
        n_out = out.numel()
        analytic = [np.zeros((n_out, t.numel())) for t in diff]
        if out.requires_grad:
            for j in range(n_out):
                seed = np.zeros(n_out, dtype=out.dtype)
                seed[j] = 1
                grads = run_grad([out], diff, [seed.reshape(out.shape)], True, False, True)
                for k, g in enumerate(grads):
                    if g is not None:
                        analytic[k][j] = np.asarray(g.data, dtype=np.float64).ravel()
        for k, t in enumerate(diff):
            numeric = np.zeros((n_out, t.numel()))
            flat = t.data.reshape(-1)
            for i in range(t.numel()):
                orig = flat[i].copy()
                with no_grad():
                    flat[i] = orig + eps
                    plus = np.asarray(_outputs(fn, inputs)[oi].data, dtype=np.float64).ravel()
                    flat[i] = orig - eps
                    minus = np.asarray(_outputs(fn, inputs)[oi].data, dtype=np.float64).ravel()
                    flat[i] = orig
                numeric[:, i] = (plus - minus) / (2 * eps)
            if check_forward_ad:
                forward = _forward_jacobian(fn, inputs, t, oi, n_out)
                bad_fwd = ~np.isclose(forward, numeric, rtol=rtol, atol=atol)
                if bad_fwd.any():
                    if not raise_exception:
                        return False
                    j, i = np.argwhere(bad_fwd)[0]
                    raise GradcheckError(
                        f"Jacobian computed with forward mode mismatch for output {oi} with "
                        f"respect to input {k},\nnumerical:{numeric}\nanalytical:{forward}\n"
                        f"first mismatch at output element {j}, input element {i}"
                    )
            bad = ~np.isclose(analytic[k], numeric, rtol=rtol, atol=atol)
            if bad.any():
                if not raise_exception:
                    return False
                j, i = np.argwhere(bad)[0]
                raise GradcheckError(
                    f"Jacobian mismatch for output {oi} with respect to input {k},\n"
                    f"numerical:{numeric}\nanalytical:{analytic[k]}\n"
                    f"first mismatch at output element {j}, input element {i}: "
                    f"numerical {numeric[j, i]!r} vs analytical {analytic[k][j, i]!r}"
                )
    return True


def _forward_jacobian(
    fn: Callable[..., Any], inputs: tuple[Any, ...], t: Tensor, oi: int, n_out: int
) -> np.ndarray:
    """Jacobian of output ``oi`` with respect to ``t`` by forward mode, one column per element."""
    from ..transforms import jvp

    index = next(i for i, a in enumerate(inputs) if a is t)
    primals = tuple(a.detach() if isinstance(a, Tensor) else a for a in inputs)
    columns = np.zeros((n_out, t.numel()))
    for i in range(t.numel()):
        direction = np.zeros(t.numel(), dtype=t.dtype)
        direction[i] = 1
        tangents = tuple(
            (direction.reshape(t.shape) if j == index else np.zeros_like(np.asarray(a.data)))
            if isinstance(a, Tensor)
            else np.zeros_like(np.asarray(a))
            for j, a in enumerate(primals)
        )
        raw = tuple(a.data if isinstance(a, Tensor) else a for a in primals)

        def on_arrays(*arrays: Any) -> Any:
            # jvp hands the function tensors that carry the tangents' variables.
            outs = fn(*arrays)
            outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
            return [o for o in outs if isinstance(o, Tensor)][oi]

        _, tangent_out = jvp(on_arrays, raw, tangents)
        tangent_out = tangent_out.data if isinstance(tangent_out, Tensor) else tangent_out
        columns[:, i] = np.asarray(tangent_out, dtype=np.float64).ravel()
    return columns
