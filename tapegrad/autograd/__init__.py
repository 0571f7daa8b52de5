"""PyTorch's functional autograd API: ``grad``, ``backward``, ``gradcheck``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine import run_backward, run_grad
from ..tensor import Tensor
from . import graph
from .function import Function, FunctionCtx
from .gradcheck import gradcheck

__all__ = ["grad", "backward", "gradcheck", "Function", "FunctionCtx", "graph"]


def _seq(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, Tensor) or not isinstance(x, (list, tuple)):
        return [x]
    return list(x)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> tg.autograd.grad((x ** 2).sum(), x)
    (tensor([2., 4.]),)
    """
    outs = _seq(outputs)
    ins = _seq(inputs)
    gos = _seq(grad_outputs) or [None] * len(outs)
    if len(gos) != len(outs):
        raise RuntimeError(
            f"grad requires one grad_output per output: got {len(gos)} grad_outputs and "
            f"{len(outs)} outputs"
        )
    return run_grad(outs, ins, gos, retain_graph, create_graph, allow_unused)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad`` (as ``Tensor.backward``)."""
    ts = _seq(tensors)
    gs = _seq(grad_tensors) or [None] * len(ts)
    run_backward(ts, gs, retain_graph, create_graph, inputs)
