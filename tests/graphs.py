"""Backward graphs as plain data, to compare tapegrad's with PyTorch's in tests."""

from __future__ import annotations

from typing import Any


def node_tree(node: Any, depth: int) -> Any:
    """Names of ``node`` and of its ``next_functions``, ``depth`` levels down (``None`` for a
    missing node)."""
    if node is None:
        return None
    if depth == 0:
        return node.name()
    return (node.name(), tuple(node_tree(f, depth - 1) for f, _ in node.next_functions))


def node_names(node: Any) -> tuple[str | None, list[str | None]]:
    """The name of ``node`` and those of its next functions, ``AccumulateGrad`` unqualified."""

    def name(n: Any) -> str | None:
        if n is None:
            return None
        text = n.name()
        return "AccumulateGrad" if text == "torch::autograd::AccumulateGrad" else text

    return name(node), [name(n) for n, _ in node.next_functions]
