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

from .trace import Node, Recorder, Var, last_reads, vars_in

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

    def __init__(
        self,
        nodes: Sequence[Node],
        inputs: Sequence[int],
        outputs: Sequence[Any],
        rec: Recorder | None = None,
    ):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.nodes = _live(nodes, [o for o in outputs if isinstance(o, int)])
        plan = _memory_plan(self.nodes, self.inputs, self.outputs, rec)
        self.source, self.run = _compile(self.nodes, self.inputs, self.outputs, plan)

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


#: Arrays from this many elements on are written into a dying operand's buffer by ufuncs:
#: fresh memory that large comes from the kernel, page by page, and costs more than the
#: ``out=`` argument does.
REUSE_FROM = 1 << 15


class _MemoryPlan:
    """When the compiled function drops each variable, and which ufunc calls write into the
    buffer of an operand that dies with them."""

    def __init__(self) -> None:
        self.drop_after: dict[int, list[int]] = {}
        self.write_into: dict[int, int] = {}


def _memory_plan(
    nodes: Sequence[Node], inputs: Sequence[int], outputs: Sequence[Any], rec: Recorder | None
) -> _MemoryPlan:
    plan = _MemoryPlan()
    kept = {o for o in outputs if isinstance(o, int)}
    last = last_reads(nodes)
    for i, node in enumerate(nodes):
        for o in node.outs:
            last.setdefault(o, i)  # results nothing reads are dropped at once
    for v, i in last.items():
        if v not in kept:
            plan.drop_after.setdefault(i, []).append(v)
    if rec is None:
        return plan
    fresh: set[int] = set()  # buffers a ufunc call of the program made, viewed by nothing else
    inputs_set = set(inputs)
    for i, node in enumerate(nodes):
        if not (isinstance(node.fn, np.ufunc) and not node.kwargs and len(node.outs) == 1):
            continue
        out = node.outs[0]
        shape, dtype = rec.meta[out]
        if not rec.sole_owner(out) or rec.is_written(out):
            continue
        fresh.add(out)
        if math.prod(shape) < REUSE_FROM:
            continue
        for a in node.args:
            if (
                a.__class__ is Var
                and a.n in fresh
                and last.get(a.n) == i
                and a.n not in kept
                and a.n not in inputs_set
                and rec.meta[a.n] == (shape, dtype)
                and sum(1 for b in node.args if b.__class__ is Var and b.n == a.n) == 1
            ):
                plan.write_into[i] = a.n
                fresh.discard(a.n)
                break
    return plan


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
        if vars_in(t):
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


def _compile(
    nodes: Sequence[Node], inputs: Sequence[int], outputs: Sequence[Any], plan: _MemoryPlan
) -> tuple[str, Callable[..., tuple[Any, ...]]]:
    w = _Writer()
    lines = ["def replay(" + ", ".join(f"v{n}" for n in inputs) + "):"]
    for i, node in enumerate(nodes):
        fn = w.name_of(node.fn, "f_" + "".join(c if c.isalnum() else "_" for c in node.name) + "_")
        args = [w.expr(a) for a in node.args]
        args += [f"{k}={w.expr(v)}" for k, v in node.kwargs.items()]
        if i in plan.write_into:
            args.append(f"out=v{plan.write_into[i]}")
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
        dropped = plan.drop_after.get(i)
        if dropped:
            lines.append("    del " + ", ".join(f"v{v}" for v in dropped))
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
