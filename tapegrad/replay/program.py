"""A traced function as straight-line Python: the recorded NumPy calls, compiled once.

:class:`Program` keeps the calls the outputs need (and every call made for its effect: in-place
writes, random draws, in their order), then writes them out as the body of one Python
function, ``v7 = f7(v3, v5)``, with the callables and constants bound as globals of that
function. Calling it runs NumPy on plain arrays with nothing in between: no tensors, no tape,
no dispatch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .trace import Node, Var

__all__ = ["Program"]


class Program:
    """The replayable form of a trace.

    Parameters
    ----------
    nodes
        The recorded calls, in order.
    inputs
        Variable numbers of the traced inputs, in the order the compiled function takes them.
    outputs
        For each output, a variable number or ``("const", value)``.
    """

    def __init__(self, nodes: Sequence[Node], inputs: Sequence[int], outputs: Sequence[Any]):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.nodes = _live(nodes, [o for o in outputs if isinstance(o, int)])
        self.source, self.run = _compile(self.nodes, self.inputs, self.outputs)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Program of {len(self.nodes)} calls>\n{self.source}"


def _live(nodes: Sequence[Node], needed_outputs: list[int]) -> list[Node]:
    """The nodes that outputs or effects need, in their original order."""
    needed = set(needed_outputs)
    keep = []
    for node in reversed(nodes):
        if node.effect or any(o in needed for o in node.outs):
            keep.append(node)
            needed.update(node.reads())
    keep.reverse()
    return keep


class _Writer:
    """Python text for templates; constants and callables become named globals."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {"__builtins__": {}, "_asarray": np.asarray}
        self._names: dict[int, str] = {}

    def name_of(self, value: Any, hint: str) -> str:
        key = id(value)
        name = self._names.get(key)
        if name is None:
            name = f"{hint}{len(self.globals)}"
            self.globals[name] = value
            self._names[key] = name
        return name

    def expr(self, t: Any) -> str:
        cls = t.__class__
        if cls is Var:
            return f"v{t.n}"
        if t is None or t is Ellipsis or cls is bool or cls is int or cls is str:
            return "..." if t is Ellipsis else repr(t)
        if cls is float and math.isfinite(t):
            return repr(t)
        if _has_var(t):
            if cls is tuple:
                return "(" + "".join(self.expr(x) + ", " for x in t) + ")"
            if cls is list:
                return "[" + ", ".join(self.expr(x) for x in t) + "]"
            if cls is slice:
                self.globals["slice"] = slice
                return f"slice({self.expr(t.start)}, {self.expr(t.stop)}, {self.expr(t.step)})"
            if cls is dict:
                items = ", ".join(f"{self.expr(k)}: {self.expr(v)}" for k, v in t.items())
                return "{" + items + "}"
        return self.name_of(t, "c")


def _has_var(t: Any) -> bool:
    cls = t.__class__
    if cls is Var:
        return True
    if cls is tuple or cls is list:
        return any(_has_var(x) for x in t)
    if cls is dict:
        return any(_has_var(x) for x in t.values())
    if cls is slice:
        return _has_var((t.start, t.stop, t.step))
    return False


def _compile(
    nodes: Sequence[Node], inputs: Sequence[int], outputs: Sequence[Any]
) -> tuple[str, Callable[..., tuple[Any, ...]]]:
    w = _Writer()
    lines = ["def replay(" + ", ".join(f"v{n}" for n in inputs) + "):"]
    for node in nodes:
        fn = w.name_of(node.fn, "f_" + "".join(c if c.isalnum() else "_" for c in node.name) + "_")
        args = [w.expr(a) for a in node.args]
        args += [f"{k}={w.expr(v)}" for k, v in node.kwargs.items()]
        call = f"{fn}({', '.join(args)})"
        if node.as_array and not node.unpack:
            call = f"_asarray({call})"
        if not node.outs:
            lines.append(f"    {call}")
        elif node.unpack:
            lines.append(f"    {''.join(f'v{o}, ' for o in node.outs)}= {call}")
            if node.as_array:
                lines.extend(f"    v{o} = _asarray(v{o})" for o in node.outs)
        else:
            lines.append(f"    v{node.outs[0]} = {call}")
    results = [
        f"v{o}"
        if isinstance(o, int)
        else w.name_of(o[1], "c") + (".copy()" if isinstance(o[1], np.ndarray) else "")
        for o in outputs
    ]
    lines.append("    return (" + "".join(r + ", " for r in results) + ")")
    source = "\n".join(lines)
    namespace = w.globals
    exec(compile(source, "<tapegrad replay>", "exec"), namespace)
    return source, namespace["replay"]
