"""Matrix products: ``matmul`` over every 1-D, 2-D, batched and broadcast case."""

from __future__ import annotations

from typing import Any

from ..primitive import Primitive, bind
from ._broadcast import unbroadcast
from .shape import reshape, transpose

__all__ = ["matmul", "swap_last"]


def swap_last(x: Any) -> Any:
    """Swap the last two axes."""
    nd = len(x.shape)
    axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return transpose(x, axes, name="TransposeBackward0")


def _as_matrix(x: Any, shape: tuple[int, ...], row: bool) -> Any:
    """A 1-D operand as a 1×k row (left operand) or k×1 column (right operand)."""
    if len(shape) != 1:
        return x
    return reshape(x, (1, shape[0]) if row else (shape[0], 1))


def _grad_matrix(g: Any, sa: tuple[int, ...], sb: tuple[int, ...]) -> Any:
    """The output cotangent with the axes that 1-D operands dropped put back."""
    if len(sa) == 1 and len(sb) == 1:
        return reshape(g, (1, 1))
    if len(sa) == 1:
        gs = tuple(g.shape)
        return reshape(g, gs[:-1] + (1, gs[-1]))
    if len(sb) == 1:
        return reshape(g, tuple(g.shape) + (1,))
    return g


def _grad_a(g: Any, a: Any, b: Any, out: Any, sa: Any, sb: Any) -> Any:
    if len(sa) == 2 and len(sb) == 2:
        return matmul(g, swap_last(b))
    ga = matmul(_grad_matrix(g, sa, sb), swap_last(_as_matrix(b, sb, row=False)))
    a2 = (1, sa[0]) if len(sa) == 1 else sa
    ga = unbroadcast(ga, a2)
    return reshape(ga, sa) if len(sa) == 1 else ga


def _grad_b(g: Any, a: Any, b: Any, out: Any, sa: Any, sb: Any) -> Any:
    if len(sa) == 2 and len(sb) == 2:
        return matmul(swap_last(a), g)
    gb = matmul(swap_last(_as_matrix(a, sa, row=True)), _grad_matrix(g, sa, sb))
    b2 = (sb[0], 1) if len(sb) == 1 else sb
    gb = unbroadcast(gb, b2)
    return reshape(gb, sb) if len(sb) == 1 else gb


def _jvp(t: Any, a: Any, b: Any, out: Any, sa: Any, sb: Any) -> Any:
    ta, tb = t
    terms = []
    if ta is not None:
        terms.append(matmul(ta, b))
    if tb is not None:
        terms.append(matmul(a, tb))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _matmul_name(p: Any) -> str:
    na, nb = len(p["sa"]), len(p["sb"])
    if na == 1 and nb == 1:
        return "DotBackward0"
    if na == 2 and nb == 1:
        return "MvBackward0"
    if na == 2 and nb == 2:
        return "MmBackward0"
    if na == 1 and nb == 2:
        return "SqueezeBackward4"
    return "UnsafeViewBackward0"


MATMUL = Primitive(
    "matmul",
    lambda xp, a, b, sa, sb: xp.matmul(a, b),
    (_grad_a, _grad_b),
    _jvp,
    uses=((1,), (0,)),
    grad_fn=_matmul_name,
)


def matmul(a: Any, b: Any) -> Any:
    """Matrix product with NumPy's rules for 1-D and batched (broadcast) operands."""
    sa = tuple(a.shape) if hasattr(a, "shape") else ()
    sb = tuple(b.shape) if hasattr(b, "shape") else ()
    if not sa or not sb:
        raise ValueError(
            "matmul: Input operand does not have enough dimensions "
            f"(shapes {sa} and {sb}); use * for scalars"
        )
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: mismatch in the contracted dimension: shapes {sa} and {sb} "
            f"({k_a} != {k_b})"
        )
    return bind(MATMUL, (a, b), {"sa": sa, "sb": sb})
