"""The Wengert list: tape entries, per-thread tapes, grad mode, lifetime, and the reverse sweep.

During the forward pass every differentiable operation whose inputs require grad appends one
:class:`Entry` to the tape of the current thread. An entry names its primitive, the slots
(integers) of its inputs and outputs, and the residuals its VJP rule needs, with the version
of each saved tensor. ``backward()`` and every transform run :func:`sweep`: one loop that walks
a slice of the list backwards, keeps cotangents by slot, and skips entries nothing flows into.

Entries also point at the entries that produced their inputs (``srcs``), so a live tensor keeps
the part of the tape behind it alive; :meth:`Tape.prune` drops, in one amortised pass, every
entry that no tensor and no live entry refers to.
"""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from bisect import bisect_right
from collections.abc import Callable
from itertools import count
from typing import Any, TypeVar

__all__ = [
    "Entry",
    "Tape",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "current_tape",
    "sweep",
    "new_slot",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Slots name values on the tape. One counter for all threads keeps them unique, and
#: increasing along each tape, which lets a sweep start at the first entry that matters.
new_slot = count(1).__next__

SECOND_BACKWARD_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)

#: Marks an entry whose saved values a sweep has released.
FREED = ("freed",)


class Entry:
    """One line of the Wengert list: ``outs = prim(ins)``.

    Attributes
    ----------
    prim : Primitive
        What was computed; owns the VJP and JVP rules.
    ins : tuple
        Slot of each input, ``None`` for inputs that do not require grad.
    srcs : tuple
        For each input, the entry that produced it (``None`` for leaves and constants). These
        references keep the tape behind a live tensor alive.
    leaves : tuple or None
        ``(slot, tensor)`` for each input that is a leaf requiring grad.
    slot : int
        Slot of the (first) output. ``outs`` holds all output slots of multi-output entries.
    saved : tuple or None
        Residuals, aligned with ``(*args, out)``; ``None`` where the rule needs nothing.
    vers : tuple
        ``(version_counter, version, index)`` of every saved tensor, checked by the sweep.
    params : dict or None
        Static parameters of the primitive (axes, shapes, indices).
    bshapes : tuple or None
        Input shapes, kept only when a broadcasting primitive saw different shapes.
    extra : dict or None
        Hooks and ``retain_grad`` registrations on the outputs.
    """

    __slots__ = (
        "prim",
        "ins",
        "srcs",
        "leaves",
        "slot",
        "outs",
        "saved",
        "vers",
        "params",
        "bshapes",
        "pos",
        "extra",
        "__weakref__",
    )

    def __repr__(self) -> str:
        return f"<Entry %{self.slot} = {self.prim.name}>"


class Tape:
    """The Wengert list of one thread."""

    __slots__ = ("entries", "next_prune", "recorders", "__weakref__")

    PRUNE_FLOOR = 2048

    def __init__(self) -> None:
        self.entries: list[Entry | None] = []
        self.next_prune = self.PRUNE_FLOOR
        self.recorders: list[list[Entry]] = []
        _all_tapes.add(self)

    def append(self, e: Entry) -> None:
        entries = self.entries
        e.pos = len(entries)
        entries.append(e)
        if self.recorders:
            for rec in self.recorders:
                rec.append(e)
        if e.pos >= self.next_prune:
            self.prune()

    def __len__(self) -> int:
        return sum(1 for e in self.entries if e is not None)

    def prune(self) -> None:
        """Drop entries that no tensor, view or live entry refers to.

        Walks the list backwards; an entry held only by this list is dead. Dropping it
        releases its references to earlier entries before the walk reaches them, so whole
        dead chains go in one pass.
        """
        entries = self.entries
        getrefcount = sys.getrefcount
        for i in range(len(entries) - 1, -1, -1):
            e = entries[i]
            # References: the list, the local name ``e`` and getrefcount's argument.
            if e is not None and getrefcount(e) <= 3:
                entries[i] = None
        e = None
        live = [x for x in entries if x is not None]
        for i, x in enumerate(live):
            x.pos = i
        self.entries = live
        self.next_prune = max(2 * len(live), self.PRUNE_FLOOR)

    def position(self, e: Entry) -> int:
        """Index of ``e`` in this tape, or -1 when it is not (or no longer) here."""
        pos = e.pos
        entries = self.entries
        if pos < len(entries) and entries[pos] is e:
            return pos
        return -1

    def first_after(self, slot: int) -> int:
        """Index of the first entry whose output slot is greater than ``slot``."""
        return bisect_right(self.entries, slot, key=_entry_slot)


def _entry_slot(e: Entry | None) -> int:
    return -1 if e is None else e.slot


_all_tapes: weakref.WeakSet[Tape] = weakref.WeakSet()


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.tape = Tape()
        self.transform_depth = 0
        # Forward mode needs every input and output of an entry, not only what VJPs read.
        self.save_all = False


_state = _ThreadState()


def current_tape() -> Tape:
    """The tape of the calling thread."""
    return _state.tape


def tape_holding(e: Entry) -> Tape:
    """The tape (of any thread) that holds entry ``e``."""
    tape = _state.tape
    if tape.position(e) >= 0:
        return tape
    for other in list(_all_tapes):
        if other.position(e) >= 0:
            return other
    raise RuntimeError("the graph behind this tensor is no longer on any tape")


# --------------------------------------------------------------------------- grad mode


def is_grad_enabled() -> bool:
    """Whether operations are recorded on the tape in this thread.

    >>> import tapegrad as tg
    >>> tg.is_grad_enabled()
    True
    """
    return _state.grad_enabled


class _GradMode:
    """Base of the grad-mode switches: usable as context manager and as decorator."""

    _mode: bool

    def __enter__(self) -> None:
        self._prev = _state.grad_enabled
        _state.grad_enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _state.grad_enabled
            _state.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.grad_enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Stop recording operations in this thread (context manager or decorator).

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0], requires_grad=True)
    >>> with tg.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_GradMode):
    """Record operations again, also inside :class:`no_grad` (context manager or decorator).

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0], requires_grad=True)
    >>> with tg.no_grad():
    ...     with tg.enable_grad():
    ...         y = x * 2
    >>> y.requires_grad
    True
    """

    _mode = True


class set_grad_enabled(_GradMode):
    """Switch recording on or off: a function call, a context manager or a decorator.

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0], requires_grad=True)
    >>> with tg.set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._prev = _state.grad_enabled
        _state.grad_enabled = self._mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._prev


# --------------------------------------------------------------------------- the sweep


def _version_error(e: Entry, index: int, counter: list[int], expected: int) -> RuntimeError:
    from .tensor import torch_type_name

    saved = e.saved[index]
    where = ""
    if index == len(e.saved) - 1:
        where = f", which is output 0 of {e.prim.grad_fn_name(e.params)},"
    elif e.srcs[index] is not None:
        src = e.srcs[index]
        where = f", which is output 0 of {src.prim.grad_fn_name(src.params)},"
    shape = ", ".join(str(n) for n in saved.shape)
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{torch_type_name(saved.dtype)} [{shape}]]{where} is at version "
        f"{counter[0]}; expected version {expected} instead. Hint: the tensor was changed in "
        "place after it was saved for backward; compute on a copy (x.clone()) or move the "
        "in-place change after backward()."
    )


def sweep(
    tape: Tape,
    roots: list[tuple[Entry, int, Any]],
    *,
    retain_graph: bool,
    create_graph: bool,
    wanted: frozenset[int] | None = None,
    accumulate: bool = True,
) -> dict[int, Any]:
    """Run the reverse sweep over ``tape`` from ``roots``.

    Parameters
    ----------
    roots
        ``(entry, output_index, cotangent)`` for each output to differentiate.
    retain_graph
        Keep the saved values of swept entries (else they are freed).
    create_graph
        Cotangents are tensors and the rules are recorded, so the result is differentiable.
    wanted
        Slots whose cotangents the caller wants back. When given, inputs created before the
        earliest wanted slot are not differentiated at all.
    accumulate
        Deliver cotangents of leaves into their ``.grad`` (``backward()``); when false they are
        only returned.

    Returns
    -------
    dict
        Slot to cotangent, for the wanted slots (or for all leaves reached).
    """
    from .engine import rewrap_saved

    cots: dict[int, Any] = {}
    hi = -1
    for e, k, g in roots:
        pos = tape.position(e)
        if pos < 0:
            raise RuntimeError("the graph behind this tensor is no longer on the tape")
        hi = max(hi, pos)
        s = e.slot if e.outs is None else e.outs[k]
        prev = cots.get(s)
        cots[s] = g if prev is None else prev + g
    floor = -1
    lo = 0
    if wanted is not None:
        floor = min(wanted)
        lo = tape.first_after(floor)
    entries = tape.entries[lo : hi + 1]
    leaf_map: dict[int, Any] = {}
    found: dict[int, Any] = {}
    passed_through: set[int] = set()

    for e in reversed(entries):
        if e is None:
            continue
        outs = e.outs
        if outs is None:
            g = cots.pop(e.slot, None)
            if g is None:
                continue
            if e.extra is not None:
                g = _apply_output_extras(e, 0, g, found, wanted)
        else:
            gs = [cots.pop(s, None) for s in outs]
            if all(x is None for x in gs):
                continue
            if e.extra is not None:
                gs = [
                    x if x is None else _apply_output_extras(e, i, x, found, wanted)
                    for i, x in enumerate(gs)
                ]
            g = tuple(gs)
        if wanted is not None and e.slot in wanted and outs is None:
            found[e.slot] = g
        saved = e.saved
        vers = e.vers
        if vers is FREED:
            raise RuntimeError(SECOND_BACKWARD_MESSAGE)
        if vers:
            for counter, ver, index in vers:
                if counter[0] != ver:
                    raise _version_error(e, index, counter, ver)
        if saved is None:
            saved = _nones(len(e.ins) + 1)
        elif create_graph:
            saved = rewrap_saved(e, saved)
        if e.leaves is not None and accumulate:
            for s, leaf in e.leaves:
                leaf_map[s] = leaf
        rules = e.prim.vjp
        params = e.params
        bshapes = e.bshapes
        for k, s in enumerate(e.ins):
            if s is None or s < floor:
                continue
            rule = rules[k]
            if rule is None:
                continue
            gk = rule(g, *saved) if params is None else rule(g, *saved, **params)
            if gk is None:
                continue
            if bshapes is not None and gk.shape != bshapes[k]:
                from .ops._broadcast import unbroadcast

                gk = unbroadcast(gk, bshapes[k])
            elif gk is g:
                passed_through.add(id(gk))
            prev = cots.get(s)
            cots[s] = gk if prev is None else prev + gk
        if not retain_graph and vers:
            e.saved = None
            e.vers = FREED

    # What is left are cotangents of values made before the slice: leaves, or wanted inputs.
    if wanted is not None:
        for s in wanted:
            if s in cots:
                found[s] = cots[s]
    if accumulate:
        for s, g in cots.items():
            leaf = leaf_map.get(s)
            if leaf is not None:
                _deliver_to_leaf(leaf, g, create_graph, id(g) in passed_through)
    return found if wanted is not None else cots


@functools.cache
def _nones(n: int) -> tuple[None, ...]:
    return (None,) * n


def _apply_output_extras(
    e: Entry, index: int, g: Any, found: dict[int, Any], wanted: frozenset[int] | None
) -> Any:
    """Run the hooks on output ``index`` of ``e`` and fill a retained ``.grad``."""
    from .engine import deliver_retained, run_hooks

    extra = e.extra
    hooks = extra.get(("hooks", index))
    if hooks:
        g = run_hooks(hooks, g)
    ref = extra.get(("retain", index))
    if ref is not None:
        deliver_retained(ref, g)
    return g


def _deliver_to_leaf(leaf: Any, g: Any, create_graph: bool, aliased: bool) -> None:
    from .engine import accumulate_grad

    accumulate_grad(leaf, g, create_graph, aliased)
