"""Flattening and rebuilding of pytrees: nested tuples, lists and dicts (and ``None``).

Anything else is a leaf. Dict keys are visited in sorted order, as JAX does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "TreeDef"]


class TreeDef:
    """The structure of a pytree, without its leaves."""

    __slots__ = ("kind", "meta", "children")

    def __init__(self, kind: str, meta: Any, children: tuple[TreeDef, ...]) -> None:
        self.kind = kind
        self.meta = meta
        self.children = children

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TreeDef)
            and self.kind == other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __hash__(self) -> int:
        return hash((self.kind, str(self.meta), self.children))

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children))
            return "{" + inner + "}"
        return f"{self.kind}({inner})"


_LEAF = TreeDef("leaf", None, ())


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves of ``tree`` in order, and its structure.

    >>> leaves, td = tree_flatten({"b": 1, "a": (2, [3])})
    >>> leaves
    [2, 3, 1]
    """
    leaves: list[Any] = []

    def walk(t: Any) -> TreeDef:
        if t is None:
            return TreeDef("none", None, ())
        if isinstance(t, tuple) and hasattr(t, "_fields"):
            return TreeDef("namedtuple", type(t), tuple(walk(c) for c in t))
        if isinstance(t, tuple):
            return TreeDef("tuple", None, tuple(walk(c) for c in t))
        if isinstance(t, list):
            return TreeDef("list", None, tuple(walk(c) for c in t))
        if isinstance(t, dict):
            keys = sorted(t)
            return TreeDef("dict", tuple(keys), tuple(walk(t[k]) for k in keys))
        leaves.append(t)
        return _LEAF

    return leaves, walk(tree)


def tree_unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``."""
    it = iter(leaves)

    def build(td: TreeDef) -> Any:
        if td.kind == "leaf":
            return next(it)
        if td.kind == "none":
            return None
        kids = [build(c) for c in td.children]
        if td.kind == "tuple":
            return tuple(kids)
        if td.kind == "namedtuple":
            return td.meta(*kids)
        if td.kind == "list":
            return kids
        return dict(zip(td.meta, kids))

    return build(treedef)


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` to every leaf (and the matching leaves of ``rest``)."""
    leaves, td = tree_flatten(tree)
    others = [tree_flatten(r)[0] for r in rest]
    return tree_unflatten(td, [fn(x, *ys) for x, *ys in zip(leaves, *others)])
