"""The graph behind a tensor as Graphviz DOT text, and rendered to SVG or PNG.

:func:`graph` walks the tape entries a tensor depends on (each entry points at the entries
that produced its inputs) and writes one node per leaf and per entry, labelled as PyTorch
labels backward nodes (``MulBackward0``) with the shape of the value, and one edge from each
input to the operation that reads it. Node ids follow the order in which the program made
the values, so the same program gives the same text every time.

>>> import tapegrad as tg
>>> x = tg.ones(2, 3, requires_grad=True)
>>> y = (x * 2).sum()
>>> print(tg.viz.graph(y, names={x: "x"}), end="")
digraph {
    node [fontname=monospace fontsize=10 shape=box style="rounded,filled"]
    n1 [label="x\\n(2, 3)" fillcolor=lightblue]
    n2 [label="MulBackward0\\n(2, 3)" fillcolor=lightgrey]
    n3 [label="SumBackward0\\n()" fillcolor=darkolivegreen1]
    n1 -> n2
    n2 -> n3
}
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .autograd.graph import Packed
from .tape import BSHAPES, FREED, INS, LEAVES, OUTS, PARAMS, PRIM, SAVED, SLOT, SRCS, VERS, Entry
from .tensor import Tensor

__all__ = ["graph", "render"]

Shape = tuple[int, ...]

_LEAF_COLOR = "lightblue"
_OP_COLOR = "lightgrey"
_ROOT_COLOR = "darkolivegreen1"
_RENDERED = {"svg": "svg", "png": "png", "pdf": "pdf"}
#: Largest number of elements of stand-in inputs used to find a shape by running a forward.
_MAX_STAND_IN = 1 << 22


def _roots(t: Tensor | Sequence[Tensor]) -> list[Tensor]:
    roots = [t] if isinstance(t, Tensor) else list(t)
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"graph() takes a tensor or a sequence of tensors, got {type(t).__name__}")
    return roots


def _collect(roots: list[Tensor]) -> tuple[list[Entry], dict[int, Tensor]]:
    """Entries reachable from the roots (in the order the program made them) and the leaves."""
    seen: dict[int, Entry] = {}
    leaves: dict[int, Tensor] = {}
    stack = [r._entry for r in roots if r._entry is not None]
    for r in roots:
        if r._entry is None:
            leaves[id(r)] = r
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen[id(e)] = e
        if e[LEAVES] is not None:
            for _slot, leaf in e[LEAVES]:
                leaves[id(leaf)] = leaf
        for src in e[SRCS]:
            if src is not None and id(src) not in seen:
                stack.append(src)
    entries = sorted(seen.values(), key=lambda e: e[SLOT])
    return entries, leaves


def _out_slots(e: Entry) -> tuple[int, ...]:
    return tuple(e[OUTS]) if e[OUTS] is not None else (e[SLOT],)


def _saved(e: Entry) -> tuple[Any, ...] | None:
    return e[SAVED] if e[VERS] is not FREED else None


def _shape_of(value: Any) -> Shape | None:
    shape = getattr(value, "shape", None)
    if shape is None or isinstance(value, np.generic):
        return None
    return tuple(int(n) for n in shape)


def _infer_shapes(entries: list[Entry], known: dict[int, Shape]) -> dict[int, Shape]:
    """Shapes of the entries' outputs by slot, from what the tape holds.

    Entries keep no reference to their outputs, so a shape comes, in order of preference,
    from: the value itself (a root, or an output the entry saved); a later entry that saved
    it or noted its shape for un-broadcasting; the broadcast of a broadcasting primitive's
    input shapes; or running the primitive's forward on stand-in arrays of the input shapes.
    """
    shapes = dict(known)
    evidence: dict[int, Shape] = {}
    for e in entries:
        saved = _saved(e)
        for i, s in enumerate(e[INS]):
            if s is None or s in evidence:
                continue
            if saved is not None and saved[i] is not None:
                shape = _shape_of(saved[i])
                if shape is not None:
                    evidence[s] = shape
                    continue
            if e[BSHAPES] is not None:
                evidence[s] = tuple(e[BSHAPES][i])
        if saved is not None and saved[-1] is not None:
            out = saved[-1]
            outs = out if isinstance(out, tuple) else (out,)
            for s, o in zip(_out_slots(e), outs, strict=False):
                shape = _shape_of(o)
                if shape is not None:
                    evidence.setdefault(s, shape)
    for e in entries:
        slots = _out_slots(e)
        missing = [s for s in slots if s not in shapes]
        if not missing:
            continue
        for s in missing:
            if s in evidence:
                shapes[s] = evidence[s]
        if all(s in shapes for s in slots):
            continue
        inferred = _forward_shapes(e, shapes)
        if inferred is not None:
            for s, shape in zip(slots, inferred, strict=False):
                shapes.setdefault(s, shape)
    return shapes


def _forward_shapes(e: Entry, shapes: dict[int, Shape]) -> tuple[Shape, ...] | None:
    prim = e[PRIM]
    ins = e[INS]
    if prim.broadcasting and prim.nout == 1:
        if e[BSHAPES] is not None:
            try:
                return (tuple(np.broadcast_shapes(*[tuple(b) for b in e[BSHAPES]])),)
            except ValueError:
                return None
        # Without recorded shapes, every differentiated input has the output's shape.
        for s in ins:
            if s is not None and s in shapes:
                return (shapes[s],)
        return None
    params = e[PARAMS] or {}
    cell = params.get("cell")
    if cell is not None:
        # Operations defined by users' code (autograd.Function, custom_vjp, checkpoint) note
        # their outputs; their forward is not run again here.
        meta = cell.get("out_meta") if isinstance(cell, dict) else None
        if meta is None:
            return None
        return tuple(tuple(int(n) for n in m[0]) for m in meta)
    saved = _saved(e)
    args = []
    rng = np.random.default_rng(0)
    size = 0
    for i, s in enumerate(ins):
        if s is not None:
            if s not in shapes:
                return None
            size += int(np.prod(shapes[s]))
            if size > _MAX_STAND_IN:
                return None
            args.append(rng.standard_normal(shapes[s]))
        elif saved is not None and saved[i] is not None:
            value = saved[i]
            if isinstance(value, Packed):  # packed by saved-tensor hooks
                value = np.zeros(value.shape, value.dtype)
            args.append(value)
        else:
            return None
    try:
        with np.errstate(all="ignore"):
            out = prim.fwd(np, *args, **params)
    except Exception:
        if len(ins) == 1 and e[PARAMS] is None and prim.nout == 1 and ins[0] in shapes:
            return (shapes[ins[0]],)  # an elementwise function outside its domain
        return None
    outs = out if prim.nout != 1 else (out,)
    result = tuple(_shape_of(np.asarray(o)) for o in outs)
    return None if any(r is None for r in result) else result  # type: ignore[return-value]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape_text(shape: Shape | None) -> str:
    return "(?)" if shape is None else str(tuple(shape))


def graph(
    t: Tensor | Sequence[Tensor],
    *,
    names: Mapping[Tensor, str] | Iterable[tuple[Tensor, str]] | None = None,
    format: str = "dot",
) -> str | bytes:
    """The computation graph behind ``t`` as Graphviz DOT text (or rendered by ``dot``).

    Parameters
    ----------
    t : Tensor or sequence of Tensor
        The output(s) whose graph to draw.
    names : dict, optional
        ``{tensor: "name"}`` labels for leaves (and for intermediate values, whose operation
        node then shows the name).
    format : {"dot", "svg", "png", "pdf"}
        ``"dot"`` returns the DOT text; the others run Graphviz's ``dot`` program and return
        SVG text or PNG/PDF bytes.

    Returns
    -------
    str or bytes
        Leaves are light blue, operations grey, the outputs green; each node shows the shape
        of its value, operations PyTorch's name of their backward node. Edges run from
        inputs to the operations that read them.

    Examples
    --------
    >>> import tapegrad as tg
    >>> w = tg.ones(3, requires_grad=True)
    >>> 'SumBackward0' in tg.viz.graph((w * w).sum())
    True
    """
    roots = _roots(t)
    named: dict[int, str] = {}
    named_leaf: dict[int, str] = {}
    items = names.items() if isinstance(names, Mapping) else (names or ())
    for tensor, name in items:
        named_leaf[id(tensor)] = str(name)
        if tensor._slot is not None:
            named[tensor._slot] = str(name)

    entries, leaves = _collect(roots)
    leaf_list = sorted(leaves.values(), key=lambda x: (x._slot is None, x._slot or 0))
    known: dict[int, Shape] = {}
    for leaf in leaf_list:
        if leaf._slot is not None:
            known[leaf._slot] = tuple(leaf.shape)
    root_slots = set()
    for r in roots:
        if r._slot is not None:
            known[r._slot] = tuple(r.shape)
            root_slots.add(r._slot)
    shapes = _infer_shapes(entries, known)

    # Number values in the order the program made them: slots increase along the tape.
    items_in_order: list[tuple[int, str, Any]] = []
    for leaf in leaf_list:
        key = leaf._slot if leaf._slot is not None else -1
        items_in_order.append((key, "leaf", leaf))
    for e in entries:
        items_in_order.append((e[SLOT], "op", e))
    items_in_order.sort(key=lambda item: item[0])

    ids: dict[Any, str] = {}
    lines = [
        "digraph {",
        '    node [fontname=monospace fontsize=10 shape=box style="rounded,filled"]',
    ]
    for n, (_key, kind, obj) in enumerate(items_in_order, 1):
        node = f"n{n}"
        if kind == "leaf":
            ids[("leaf", id(obj))] = node
            if obj._slot is not None:
                ids[("slot", obj._slot)] = node
            label = _shape_text(tuple(obj.shape))
            name = named_leaf.get(id(obj))
            if name is not None:
                label = f"{name}\n{label}"
            color = _ROOT_COLOR if any(obj is r for r in roots) else _LEAF_COLOR
            lines.append(f"    {node} [label={_quote(label)} fillcolor={color}]")
        else:
            e = obj
            for s in _out_slots(e):
                ids[("slot", s)] = node
            outs = _out_slots(e)
            shape_text = ", ".join(_shape_text(shapes.get(s)) for s in outs)
            label = f"{e[PRIM].grad_fn_name(e[PARAMS])}\n{shape_text}"
            labelled = [named[s] for s in outs if s in named]
            if labelled:
                label = f"{', '.join(labelled)} = {label}"
            color = _ROOT_COLOR if any(s in root_slots for s in outs) else _OP_COLOR
            lines.append(f"    {node} [label={_quote(label)} fillcolor={color}]")
    for e in entries:
        target = ids[("slot", e[SLOT])]
        drawn = set()
        for s in e[INS]:
            if s is None:
                continue
            source = ids.get(("slot", s))
            if source is None or (source, target) in drawn:
                continue
            drawn.add((source, target))
            lines.append(f"    {source} -> {target}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if format == "dot":
        return text
    if format not in _RENDERED:
        raise ValueError(f"format must be one of 'dot', 'svg', 'png', 'pdf'; got {format!r}")
    data = _run_dot(text, format)
    return data.decode() if format == "svg" else data


def _run_dot(text: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "rendering the graph needs Graphviz's 'dot' program, which was not found on PATH; "
            "install Graphviz (e.g. 'apt-get install graphviz', 'brew install graphviz' or "
            "'conda install graphviz'), or use tg.viz.graph(t) for the DOT text"
        )
    proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed ({proc.returncode}): {proc.stderr.decode().strip()}")
    return proc.stdout


def render(
    t: Tensor | Sequence[Tensor],
    path: str | os.PathLike[str],
    *,
    names: Mapping[Tensor, str] | None = None,
    format: str | None = None,
) -> str:
    """Draw the graph behind ``t`` into the file ``path`` with Graphviz's ``dot``.

    The format (``svg``, ``png`` or ``pdf``) comes from ``format`` or else from the file's
    extension; a ``.dot``/``.gv`` path gets the DOT text and needs no Graphviz. Raises
    ``RuntimeError`` naming the missing program when ``dot`` is not installed.

    Returns
    -------
    str
        The path written.
    """
    path = os.fspath(path)
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower()
    if fmt in ("dot", "gv"):
        text = graph(t, names=names)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)  # type: ignore[arg-type]
        return path
    if fmt not in _RENDERED:
        raise ValueError(
            f"cannot tell the format of {path!r}: use a .svg, .png, .pdf or .dot path, or "
            "pass format="
        )
    data = graph(t, names=names, format=fmt)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path
