"""Front ends of the reverse sweep: ``backward()``, ``autograd.grad()`` and the reverse-mode
transforms, plus what the sweep does with tensors (hooks, ``.grad`` accumulation, re-wrapping
saved values for ``create_graph``)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import tape as _tape
from .backend import namespace, ones_like
from .tape import INS, LEAVES, OUTS, SLOT, SRCS, Entry, sweep, tape_holding
from .tensor import Tensor, wrap

__all__ = ["run_backward", "backward_scalar", "run_grad", "accumulate_grad"]

_state = _tape._state
_NDARRAY = np.ndarray


def _seed(t: Tensor, gradient: Any, create_graph: bool, index: int) -> Any:
    """The cotangent that starts the sweep at output ``t``: ones for a scalar, else ``gradient``."""
    if gradient is None:
        if t.data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        if t.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"grad can be implicitly created only for real scalar outputs but got "
                f"{t.data.dtype}"
            )
        g = ones_like(t.data)
    else:
        if isinstance(gradient, Tensor):
            g = gradient if create_graph else gradient.data
        else:
            g = namespace(t.data).asarray(gradient, dtype=t.data.dtype)
        shape = g.shape
        if tuple(shape) != tuple(t.data.shape):
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{index}] has a shape of {_size(shape)} and "
                f"output[{index}] has a shape of {_size(t.data.shape)}."
            )
    if create_graph and not isinstance(g, Tensor):
        g = Tensor._make(g)
    return g


def _size(shape: Sequence[int]) -> str:
    return "tapegrad.Size([" + ", ".join(str(n) for n in shape) + "])"


def _roots(
    outputs: Sequence[Tensor], grads: Sequence[Any], create_graph: bool
) -> tuple[list[tuple[Entry, int, Any]], list[tuple[Tensor, Any]]]:
    """Split outputs into tape roots and leaf outputs (a leaf's gradient is its seed)."""
    roots = []
    leaf_outputs = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        if not isinstance(t, Tensor) or t._slot is None:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        seed = _seed(t, g, create_graph, i)
        e = t._entry
        if e is None:
            leaf_outputs.append((t, seed))
        else:
            roots.append((e, 0 if e[OUTS] is None else e[OUTS].index(t._slot), seed))
    return roots, leaf_outputs


def _tape_of(roots: list[tuple[Entry, int, Any]]) -> _tape.Tape:
    tape = tape_holding(roots[0][0])
    for e, _k, _g in roots[1:]:
        if tape.position(e) < 0:
            raise RuntimeError(
                "outputs recorded on different threads' tapes cannot be swept together"
            )
    return tape


def backward_scalar(t: Tensor, retain_graph: bool | None) -> None:
    """``t.backward()`` with no argument but ``retain_graph``: the one-root sweep of every
    training step, without the bookkeeping of many roots, seeds and ``inputs``."""
    e = t._entry
    if e is None:
        run_backward([t], [None], retain_graph, False)
        return
    seed = _seed(t, None, False, 0)
    k = 0 if e[OUTS] is None else e[OUTS].index(t._slot)
    tape = tape_holding(e)
    state = _state.tape
    prev = state.grad_enabled
    state.grad_enabled = False
    try:
        sweep(tape, [(e, k, seed)], retain_graph=bool(retain_graph), create_graph=False)
    finally:
        state.grad_enabled = prev


def run_backward(
    tensors: Sequence[Tensor],
    grad_tensors: Sequence[Any],
    retain_graph: bool | None,
    create_graph: bool,
    inputs: Sequence[Tensor] | Tensor | None = None,
) -> None:
    """Accumulate d(tensors)/d(leaves) into the leaves' ``.grad`` (``Tensor.backward``)."""
    if retain_graph is None:
        retain_graph = create_graph
    roots, leaf_outputs = _roots(tensors, grad_tensors, create_graph)
    only: set[int] | None = None
    if inputs is not None:
        seq = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not seq:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        only = {t._slot for t in seq}
    with _grad_mode(create_graph):
        if roots:
            tape = _tape_of(roots)
            if only is None:
                sweep(tape, roots, retain_graph=retain_graph, create_graph=create_graph)
            else:
                found = sweep(
                    tape,
                    roots,
                    retain_graph=retain_graph,
                    create_graph=create_graph,
                    wanted=frozenset(only),
                    accumulate=False,
                )
                for t in seq:
                    if t._slot in found:
                        _deliver(t, found[t._slot], create_graph, True)
        for leaf, seed in leaf_outputs:
            if only is None or leaf._slot in only:
                accumulate_grad(leaf, seed, create_graph, True)


def _deliver(t: Tensor, g: Any, create_graph: bool, aliased: bool) -> None:
    if t._entry is None:
        accumulate_grad(t, g, create_graph, aliased)
    else:
        t._grad = _grad_tensor(g, t, aliased, create_graph)


def run_grad(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Any],
    retain_graph: bool | None,
    create_graph: bool,
    allow_unused: bool,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) without touching ``.grad`` (``tg.autograd.grad``)."""
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not isinstance(t, Tensor) or t._slot is None:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, leaf_outputs = _roots(outputs, grad_outputs, create_graph)
    wanted = frozenset(t._slot for t in inputs)
    found: dict[int, Any] = {}
    with _grad_mode(create_graph):
        if roots:
            found = sweep(
                _tape_of(roots),
                roots,
                retain_graph=retain_graph,
                create_graph=create_graph,
                wanted=wanted,
                accumulate=False,
            )
        for leaf, seed in leaf_outputs:
            if leaf._slot in wanted:
                prev = found.get(leaf._slot)
                found[leaf._slot] = seed if prev is None else prev + seed
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t._slot)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
            result.append(None)
        else:
            if t._entry is None and t._extra is not None and t._extra.get("hooks"):
                g = run_hooks(t._extra["hooks"], g)  # a leaf's hooks run as in backward()
            result.append(_grad_tensor(g, t, True, create_graph))
    return tuple(result)


class _grad_mode:
    """Grad mode during a sweep: on (recording) for ``create_graph``, else off."""

    def __init__(self, create_graph: bool) -> None:
        self.mode = create_graph

    def __enter__(self) -> None:
        self.prev = _state.tape.grad_enabled
        _state.tape.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.tape.grad_enabled = self.prev


def _grad_tensor(g: Any, like: Tensor, aliased: bool, create_graph: bool) -> Tensor:
    """A gradient as a tensor of ``like``'s dtype that owns its data."""
    if isinstance(g, Tensor):
        if g.dtype != like.dtype:
            from .ops.shape import astype

            g = astype(g, like.dtype)
        return g if create_graph else Tensor._make(g.data)
    if isinstance(g, np.generic):  # rules on 0-d arrays may produce NumPy scalars
        return Tensor._make(np.asarray(g, dtype=like.data.dtype))
    if g.dtype != like.data.dtype:
        g = g.astype(like.data.dtype)
    elif aliased or getattr(g, "base", None) is not None:
        g = g.copy()
    return Tensor._make(g)


def accumulate_grad(leaf: Tensor, g: Any, create_graph: bool, aliased: bool) -> None:
    """Add ``g`` into ``leaf.grad`` (PyTorch's AccumulateGrad), running the leaf's hooks."""
    extra = leaf._extra
    if (
        g.__class__ is _NDARRAY
        and not create_graph
        and (
            extra is None
            or extra.get("grad") is None
            and not extra.get("hooks")
            and "post_hooks" not in extra
        )
    ):
        # The first gradient of a plain leaf (every training step after ``zero_grad``).
        d = leaf.data
        if g.dtype is d.dtype and g.shape == d.shape:
            if aliased or g.base is not None:
                g = g.copy()
            if extra is None:
                leaf._extra = {"grad": wrap(g)}
            else:
                extra["grad"] = wrap(g)
            return
    if extra is not None and extra.get("hooks"):
        g = run_hooks(extra["hooks"], g)
        aliased = True
    if g.shape != leaf.data.shape:
        raise RuntimeError(
            f"gradient of shape {tuple(g.shape)} does not match the leaf's shape "
            f"{tuple(leaf.data.shape)}"
        )
    current = leaf._grad
    if current is None:
        leaf._grad = _grad_tensor(g, leaf, aliased, create_graph)
    elif create_graph or isinstance(g, Tensor) and g._slot is not None:
        leaf._grad = current + (g if isinstance(g, Tensor) else Tensor._make(g))
    else:
        gd = g.data if isinstance(g, Tensor) else g
        if current._slot is not None:
            leaf._grad = Tensor._make(current.data + gd)
        else:
            current.data += gd
    if extra is not None and extra.get("post_hooks"):
        for hook in list(extra["post_hooks"]):
            hook(leaf)


def run_hooks(hooks: list[Any], g: Any) -> Any:
    """Call tensor hooks in order on gradient ``g``; a returned value replaces it."""
    as_tensor = not isinstance(g, Tensor)
    gt = Tensor._make(g) if as_tensor else g
    for hook in list(hooks):
        new = hook(gt)
        if new is not None:
            new = new if isinstance(new, Tensor) else Tensor._make(namespace(g).asarray(new))
            if tuple(new.shape) != tuple(gt.shape):
                name = getattr(hook, "__name__", repr(hook))
                raise RuntimeError(
                    f"hook '{name}' has changed the size of value: the gradient had shape "
                    f"{tuple(gt.shape)} and the hook returned shape {tuple(new.shape)}"
                )
            gt = new
    return gt.data if as_tensor else gt


def deliver_retained(ref: weakref.ref[Tensor], g: Any) -> None:
    """Fill ``.grad`` of a non-leaf that called ``retain_grad()``."""
    t = ref()
    if t is None:
        return
    if t._grad is None:
        t._grad = _grad_tensor(g, t, True, isinstance(g, Tensor))
    else:
        t._grad = Tensor._make(t._grad.data + (g.data if isinstance(g, Tensor) else g))


def rewrap_saved(e: Entry, saved: tuple[Any, ...]) -> tuple[Any, ...]:
    """Saved arrays as tracked tensors again, so rules run with ``create_graph`` are recorded
    and connected to the values they read."""
    leaves = dict(e[LEAVES]) if e[LEAVES] is not None else {}
    out = []
    n = len(e[INS])
    for i, raw in enumerate(saved):
        if raw is None:
            out.append(None)
            continue
        if i < n:
            slot = e[INS][i]
            if slot is None:
                out.append(raw)
            elif slot in leaves:
                out.append(leaves[slot])
            else:
                out.append(Tensor._make(raw, slot, e[SRCS][i]))
        elif e[OUTS] is None:
            out.append(Tensor._make(raw, e[SLOT], e))
        else:
            out.append(tuple(Tensor._make(r, s, e) for r, s in zip(raw, e[OUTS])))
    return tuple(out)
