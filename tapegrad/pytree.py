"""Flattening and rebuilding of pytrees: nested tuples, lists and dicts (and ``None``).

Anything else is a leaf. Dict keys are visited in sorted order, as JAX does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "tree_flatten",
    "tree_unflatten",
    "tree_map",
    "tree_leaves",
    "tree_structure",
    "tree_broadcast_prefix",
    "TreeDef",
]


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
_NONE = TreeDef("none", None, ())


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves of ``tree`` in order, and its structure.

    >>> leaves, td = tree_flatten({"b": 1, "a": (2, [3])})
    >>> leaves
    [2, 3, 1]
    """
    if not isinstance(tree, (tuple, list, dict)) and tree is not None:
        return [tree], _LEAF
    leaves: list[Any] = []
    return leaves, _walk(tree, leaves)


# Module-level recursion (not nested closures that refer to themselves): a self-referencing
# closure is a reference cycle, and it would keep the leaves (gradients, batches) alive
# until the cyclic garbage collector runs.


def _walk(t: Any, leaves: list[Any]) -> TreeDef:
    if t is None:
        return _NONE
    if isinstance(t, tuple):
        kids = tuple(_walk(c, leaves) for c in t)
        if hasattr(t, "_fields"):
            return TreeDef("namedtuple", type(t), kids)
        return TreeDef("tuple", None, kids)
    if isinstance(t, list):
        return TreeDef("list", None, tuple(_walk(c, leaves) for c in t))
    if isinstance(t, dict):
        keys = sorted(t)
        return TreeDef("dict", tuple(keys), tuple(_walk(t[k], leaves) for k in keys))
    leaves.append(t)
    return _LEAF


def tree_unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``."""
    if treedef.kind == "leaf":
        return leaves[0]
    return _build(treedef, iter(leaves))


def _build(td: TreeDef, it: Any) -> Any:
    kind = td.kind
    if kind == "leaf":
        return next(it)
    if kind == "none":
        return None
    kids = [_build(c, it) for c in td.children]
    if kind == "tuple":
        return tuple(kids)
    if kind == "namedtuple":
        return td.meta(*kids)
    if kind == "list":
        return kids
    return dict(zip(td.meta, kids))


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` to every leaf (and the matching leaves of ``rest``)."""
    leaves, td = tree_flatten(tree)
    others = [tree_flatten(r)[0] for r in rest]
    return tree_unflatten(td, [fn(x, *ys) for x, *ys in zip(leaves, *others)])


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree`` in order."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The structure of ``tree``."""
    return tree_flatten(tree)[1]


def tree_broadcast_prefix(prefix: Any, tree: Any, name: str = "prefix") -> list[Any]:
    """One value per leaf of ``tree``: ``prefix`` is a pytree prefix of ``tree`` whose leaves
    (ints or ``None``, as ``vmap``'s ``in_axes``) apply to every leaf below them.

    >>> tree_broadcast_prefix((0, None), ([1, 2], {"a": 3}))
    [0, 0, None]
    """
    out: list[Any] = []

    def walk(p: Any, t: Any) -> None:
        if p is None or not isinstance(p, (tuple, list, dict)):
            out.extend([p] * tree_flatten(t)[1].num_leaves)
            return
        if isinstance(p, (tuple, list)) and isinstance(t, (tuple, list)) and len(p) == len(t):
            for pi, ti in zip(p, t):
                walk(pi, ti)
            return
        if isinstance(p, dict) and isinstance(t, dict) and set(p) == set(t):
            for k in sorted(t):
                walk(p[k], t[k])
            return
        raise ValueError(
            f"{name} specification must be a tree prefix of the corresponding value, got "
            f"specification {p!r} for value tree {tree_flatten(t)[1]!r}"
        )

    walk(prefix, tree)
    return out
