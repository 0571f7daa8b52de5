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
import sysconfig
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from itertools import count
from typing import Any, TypeVar

# The engine and the ops build on this module; the few of their functions it calls are looked
# up through the package when called (importing them here would be circular).
import tapegrad as _tapegrad

__all__ = [
    "Entry",
    "new_entry",
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

#: Saved-tensor hooks (tapegrad.autograd.graph): [blocks active in any thread, whether
#: anything was ever packed]. Recording and the sweep check these before calling that module.
SAVED_HOOKS: list[Any] = [0, False]


# An entry is a plain list, because making one is on every operation's path and a list is
# several times cheaper to build than an object. The fields, by index:
#
#   PRIM     the Primitive: what was computed; owns the VJP and JVP rules
#   INS      slot of each input; None for inputs that do not require grad
#   SRCS     for each input, the entry that produced it (None for leaves and constants); these
#            references keep the tape behind a live tensor alive
#   LEAVES   ((slot, tensor), ...) for inputs that are leaves requiring grad, or None
#   SLOT     slot of the (first) output
#   OUTS     all output slots of a multi-output entry, else None
#   SAVED    residuals aligned with (*args, out), None where no rule reads them; None when
#            nothing is saved
#   VERS     ((version_counter, version, index), ...) of each saved tensor, checked by the
#            sweep; FREED once a sweep without retain_graph released the residuals
#   PARAMS   static parameters of the primitive (axes, shapes, indices), or None
#   BSHAPES  input shapes when a broadcasting primitive saw different shapes, else None
#   POS      index in the tape's list (kept up to date when the list is compacted)
#   EXTRA    dict of hooks, retain_grad registrations and cached grad_fn nodes, or None
PRIM, INS, SRCS, LEAVES, SLOT, OUTS, SAVED, VERS, PARAMS, BSHAPES, POS, EXTRA = range(12)

Entry = list


def new_entry(
    prim: Any,
    ins: tuple[Any, ...],
    srcs: tuple[Any, ...],
    leaves: tuple[Any, ...] | None,
    slot: int,
    outs: tuple[int, ...] | None,
    saved: tuple[Any, ...] | None,
    vers: Any,
    params: dict[str, Any] | None,
    bshapes: tuple[Any, ...] | None,
) -> Entry:
    """A new entry (not yet on a tape)."""
    return [prim, ins, srcs, leaves, slot, outs, saved, vers, params, bshapes, -1, None]


def describe(e: Entry) -> str:
    """``%slot = name(%in, ...)`` for an entry."""
    ins = ", ".join("const" if s is None else f"%{s}" for s in e[INS])
    return f"%{e[SLOT]} = {e[PRIM].name}({ins})"


class Tape:
    """The Wengert list of one thread."""

    __slots__ = (
        "entries",
        "next_prune",
        "large_saved",
        "recorders",
        "grad_enabled",
        "save_all",
        "transform_depth",
        "__weakref__",
    )

    PRUNE_FLOOR = 2048
    #: Bytes of large residuals saved since the last prune that make the next append prune.
    PRUNE_BYTES = 64 << 20

    def __init__(self) -> None:
        self.entries: list[Entry | None] = []
        self.next_prune = self.PRUNE_FLOOR
        self.large_saved = 0
        self.recorders: list[list[Entry]] = []
        # The thread's recording state lives on its tape, so the hot path reads one
        # thread-local (the tape) and then plain attributes.
        self.grad_enabled = True
        # Forward mode needs every input and output of an entry, not only what VJPs read.
        self.save_all = False
        self.transform_depth = 0
        _all_tapes.add(self)

    def append(self, e: Entry) -> None:
        if SAVED_HOOKS[0] and e[SAVED] is not None:
            e[SAVED] = pack_saved(e[SAVED])
        entries = self.entries
        e[POS] = len(entries)
        entries.append(e)
        if self.recorders:
            for rec in self.recorders:
                rec.append(e)
        if e[POS] >= self.next_prune:
            self.prune()

    def note_saved(self, nbytes: int) -> None:
        """Count a large residual just saved. Entries nothing refers to any more (the graph of
        a forward pass whose result was dropped) hold their residuals until a prune; pruning
        by bytes as well as by count bounds that memory, as PyTorch frees such graphs at once.
        """
        self.large_saved += nbytes
        if self.large_saved >= self.PRUNE_BYTES:
            self.next_prune = 0  # the append that follows prunes

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
            if x[POS] != _SWEPT:  # (a sweep under way, recording, takes those off itself)
                x[POS] = i
        self.entries = live
        self.next_prune = max(2 * len(live), self.PRUNE_FLOOR)
        self.large_saved = 0

    def drop_dead_tail(self) -> None:
        """Take the entries at the end of the list that nothing refers to any more off it.

        Each call of a transform such as ``vjp`` leaves its graph on the tape for its pullback,
        which may run any number of times; once the pullback is gone, that graph is dead but
        would stay until the next prune, lengthening every walk and bisection of the list.
        Transforms call this as they start, so a loop of them keeps the tape short.
        """
        entries = self.entries
        getrefcount = sys.getrefcount
        while entries:
            e = entries[-1]
            # References: the list, the local name ``e`` and getrefcount's argument. (Taking
            # the next entry lets go of the one popped, and of what it referred to.)
            if e is not None and getrefcount(e) > 3:
                return
            entries.pop()

    def drop_swept(self, lo: int, hi: int, count: int) -> None:
        """Take the ``count`` entries a sweep consumed (marked ``pos == _SWEPT``) in
        ``[lo, hi]`` off the list (``count=-1``: however many there are).

        Backward without ``retain_graph`` frees the graph it swept, as PyTorch does; dropping
        its entries keeps later sweeps from walking past them. Entries after ``hi`` move
        forward without having their positions rewritten (that would cost a pass over
        everything recorded later): :meth:`position` finds them from their old position.
        """
        entries = self.entries
        if count == hi + 1 - lo:  # the whole stretch was swept (a training step's graph)
            del entries[lo : hi + 1]
            return
        kept = [e for e in entries[lo : hi + 1] if e is not None and e[POS] != _SWEPT]
        for i, e in enumerate(kept, lo):
            e[POS] = i
        entries[lo : hi + 1] = kept

    def position(self, e: Entry) -> int:
        """Index of ``e`` in this tape, or -1 when it is not (or no longer) here."""
        pos = e[POS]
        entries = self.entries
        n = len(entries)
        if 0 <= pos < n and entries[pos] is e:
            return pos
        if pos < 0:
            return -1
        # Moved forward by a compaction: the list is ordered by slot.
        i = bisect_left(entries, e[SLOT], key=_entry_slot)
        if i < n and entries[i] is e:
            e[POS] = i
            return i
        return -1

    def first_after(self, slot: int) -> int:
        """Index of the first entry whose output slot is greater than ``slot``."""
        return bisect_right(self.entries, slot, key=_entry_slot)


def _entry_slot(e: Entry | None) -> int:
    return -1 if e is None else e[SLOT]


_all_tapes: weakref.WeakSet[Tape] = weakref.WeakSet()


class _ThreadState(threading.local):
    """Per-thread state: the thread's tape, which also carries its recording flags
    (``_state.tape.grad_enabled``, ``save_all``, ``transform_depth``)."""

    def __init__(self) -> None:
        self.tape = Tape()


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
    # Not on any tape: a backward without retain_graph consumed it.
    raise RuntimeError(SECOND_BACKWARD_MESSAGE)


# --------------------------------------------------------------------------- grad mode


def is_grad_enabled() -> bool:
    """Whether operations are recorded on the tape in this thread.

    >>> import tapegrad as tg
    >>> tg.is_grad_enabled()
    True
    """
    return _state.tape.grad_enabled


class _GradMode:
    """Base of the grad-mode switches: usable as context manager and as decorator."""

    _mode: bool

    def __enter__(self) -> None:
        # (A thread keeps its tape for good: the one found here is the one to restore.)
        self._tape = tape = _state.tape
        self._prev = tape.grad_enabled
        tape.grad_enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        self._tape.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _state.tape.grad_enabled
            _state.tape.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.tape.grad_enabled = prev

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
        self._prev = _state.tape.grad_enabled
        _state.tape.grad_enabled = self._mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _state.tape.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        # Used as a decorator, the call above must not change the mode of the thread.
        _state.tape.grad_enabled = self._prev
        return super().__call__(fn)


# --------------------------------------------------------------------------- the sweep


def _version_error(e: Entry, index: int, counter: list[int], expected: int) -> RuntimeError:
    from .tensor import torch_type_name

    saved = e[SAVED][index]
    where = ""
    if index == len(e[SAVED]) - 1:
        where = f", which is output 0 of {grad_fn_name(e)},"
    elif e[SRCS][index] is not None:
        src = e[SRCS][index]
        where = f", which is output 0 of {grad_fn_name(src)},"
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
    cots: dict[int, Any] = {}
    hi = -1
    for e, k, g in roots:
        pos = tape.position(e)
        if pos < 0:
            raise RuntimeError(SECOND_BACKWARD_MESSAGE)
        hi = max(hi, pos)
        s = e[SLOT] if e[OUTS] is None else e[OUTS][k]
        prev = cots.get(s)
        cots[s] = g if prev is None else prev + g
    floor = -1
    lo = 0
    if wanted is not None:
        floor = min(wanted)
        lo = tape.first_after(floor)
    elif hi > _SHORT_TAPE:
        lo = _lowest_reachable(tape, [r[0] for r in roots], hi)
    listed = tape.entries
    entries = listed[lo : hi + 1]
    leaf_map: dict[int, Any] = {}
    found: dict[int, Any] = {}
    passed_through: set[int] = set()
    swept = 0

    pop = cots.pop
    get = cots.get
    # Sums the sweep made itself, which nothing else refers to: later cotangents for the same
    # slot are added into them in place. (Kept here, by id, until their slot is consumed.)
    owned: dict[int, Any] = {}
    if create_graph:
        owned = _NEVER_OWNED
    # Entries nothing refers to any more (graphs whose results were dropped) are taken off
    # the tape as the sweep passes them, so later sweeps do not walk them again. Not while
    # recording: an append may then prune and renumber the tape under the sweep.
    reap = _EXACT_REFCOUNTS and not create_graph
    for e in reversed(entries):
        outs = e[OUTS]
        if outs is None:
            g = pop(e[SLOT], None)
            if g is None:
                # (references: the tape, ``entries``, ``e`` and getrefcount's argument)
                if reap and _getrefcount(e) <= 4:
                    _reap(e)
                    swept += 1
                continue
            if owned:
                owned.pop(id(g), None)
            if e[EXTRA] is not None:
                g = _apply_output_extras(e, 0, g, found, wanted)
            if wanted is not None and e[SLOT] in wanted:
                found[e[SLOT]] = g
        else:
            gs = [pop(s, None) for s in outs]
            if all(x is None for x in gs):
                if reap and _getrefcount(e) <= 4:
                    _reap(e)
                    swept += 1
                continue
            if e[EXTRA] is not None:
                gs = [
                    x if x is None else _apply_output_extras(e, i, x, found, wanted)
                    for i, x in enumerate(gs)
                ]
            g = tuple(gs)
        vers = e[VERS]
        if vers:
            if vers is FREED:
                raise RuntimeError(SECOND_BACKWARD_MESSAGE)
            for counter, ver, index in vers:
                if counter[0] != ver:
                    raise _version_error(e, index, counter, ver)
        saved = e[SAVED]
        if saved is None:
            saved = _NONES[len(e[INS])]
        else:
            if SAVED_HOOKS[1]:
                saved = unpack_saved(saved)
            if create_graph:
                saved = _tapegrad.engine.rewrap_saved(e, saved)
        if e[LEAVES] is not None:
            for s, leaf in e[LEAVES]:
                leaf_map[s] = leaf
        params = e[PARAMS]
        if e[BSHAPES] is None:
            prim = e[PRIM]
            rules = prim.vjp
            if prim.large_rules and g.__class__ is _NDARRAY and g.size >= INPLACE_MIN:
                rules = _large_rules(prim, g, e[INS], floor, retain_graph)
            for s, rule in zip(e[INS], rules):
                if s is None or rule is None or s < floor:
                    continue
                gk = rule(g, *saved) if params is None else rule(g, *saved, **params)
                if gk is None:
                    continue
                if gk is g:
                    passed_through.add(id(gk))
                prev = get(s)
                if prev is None:
                    cots[s] = gk
                elif id(prev) in owned:
                    prev += gk
                elif sole_large(gk) and gk.shape == prev.shape and gk.dtype == prev.dtype:
                    gk += prev  # a new array only this sweep holds: the sum goes into it
                    cots[s] = gk
                    owned[id(gk)] = gk
                else:
                    cots[s] = acc = prev + gk
                    if acc.__class__ is _NDARRAY:
                        owned[id(acc)] = acc
        else:
            _sweep_broadcast_inputs(e, g, saved, params, floor, cots, passed_through)
        if not retain_graph:
            if vers:
                e[SAVED] = None
                e[VERS] = FREED
            e[POS] = _SWEPT
            swept += 1
        # Let go of this entry's cotangent and residuals now, not when the next entry
        # replaces them: on large arrays that is one buffer less at the peak.
        g = saved = gk = prev = acc = None

    if swept:
        if tape.entries is listed:
            tape.drop_swept(lo, hi, swept)
        else:  # a prune (set off by recording) renewed the list: ``lo`` and ``hi`` are stale
            tape.drop_swept(0, len(tape.entries) - 1, -1)
    # What is left are cotangents of values made before the slice: leaves, or wanted inputs.
    if wanted is not None:
        for s in wanted:
            if s in cots:
                found[s] = cots[s]
        if len(cots) > len(found):
            _check_nothing_lost(cots, wanted, leaf_map, floor)
    if accumulate:
        owned = None  # its sums are leaves' cotangents now: ``cots`` alone holds them
        deliver = _tapegrad.engine.accumulate_grad
        for s in cots:
            leaf = leaf_map.get(s)
            if leaf is not None:
                g = cots[s]
                # Whether the leaf's cotangent may be referred to elsewhere (a rule may return
                # its cotangent or a residual unchanged; two leaves may receive one array), so
                # that its ``.grad`` must be a copy. Where reference counts are exact they
                # decide (the references: ``cots``, ``g`` and the argument, counted before
                # ``g`` is on the call's stack). Elsewhere the record of cotangents passed
                # through unchanged does; it holds ids only, so a later array that reuses
                # one of their ids is copied needlessly, never shared.
                if _EXACT_REFCOUNTS:
                    aliased = _getrefcount(g) > 3
                else:
                    aliased = id(g) in passed_through
                deliver(leaf, g, create_graph, aliased)
            elif wanted is None:
                # A non-leaf whose entry an earlier backward already swept off the tape.
                raise RuntimeError(SECOND_BACKWARD_MESSAGE)
    return found if wanted is not None else cots


def _check_nothing_lost(
    cots: dict[int, Any], wanted: frozenset[int], leaves: dict[int, Any], floor: int
) -> None:
    """Raise PyTorch's error where a cotangent reached a value made after the wanted inputs
    (so it may depend on them) that is neither wanted nor a leaf: its entry is gone, taken off
    by an earlier backward without ``retain_graph``, and the gradient through it would be
    lost. (A value saved by such a backward run with ``create_graph=True`` leads there.)"""
    for s in cots:
        if s > floor and s not in wanted and s not in leaves:
            raise RuntimeError(SECOND_BACKWARD_MESSAGE)


def _reap(e: Entry) -> None:
    """Mark a dead entry for removal, letting go of what it holds at once (the entries it
    points at may then be dead too when the sweep reaches them)."""
    e[POS] = _SWEPT
    e[SRCS] = e[LEAVES] = e[SAVED] = None


#: Tapes up to this long are swept from their start; on longer ones a backward first finds
#: where its graph begins, so that other graphs recorded before it cost nothing.
_SHORT_TAPE = 256


def _lowest_reachable(tape: Tape, starts: list[Entry], hi: int) -> int:
    """The lowest position of an entry that the roots' graph reaches (through ``SRCS``).

    Gives up, returning 0, once the walk has seen half the entries up to ``hi``: the graph then
    fills most of the tape, and sweeping it all costs less than walking it twice.
    """
    budget = hi // 2
    seen: set[int] = set()
    stack = list(starts)
    low = hi
    while stack:
        e = stack.pop()
        key = id(e)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > budget:
            return 0
        pos = tape.position(e)
        if pos < 0:
            continue  # swept by an earlier backward: the sweep reports it if it is needed
        if pos < low:
            low = pos
        for src in e[SRCS]:
            if src is not None:
                stack.append(src)
    return low


def _sweep_broadcast_inputs(
    e: Entry,
    g: Any,
    saved: tuple[Any, ...],
    params: Any,
    floor: int,
    cots: dict[int, Any],
    passed_through: set[int],
) -> None:
    """The input loop of the sweep for an entry whose inputs were broadcast: cotangents are
    summed back to each input's shape."""
    unbroadcast = _tapegrad.ops._broadcast.unbroadcast
    bshapes = e[BSHAPES]
    for k, (s, rule) in enumerate(zip(e[INS], e[PRIM].vjp)):
        if s is None or rule is None or s < floor:
            continue
        gk = rule(g, *saved) if params is None else rule(g, *saved, **params)
        if gk is None:
            continue
        if tuple(gk.shape) != bshapes[k]:
            gk = unbroadcast(gk, bshapes[k])
        elif gk is g:
            passed_through.add(id(gk))
        prev = cots.get(s)
        cots[s] = gk if prev is None else prev + gk


def _large_rules(
    prim: Any, g: Any, ins: tuple[Any, ...], floor: int, retain: bool
) -> tuple[Any, ...]:
    """The entry's rules for a large NumPy cotangent ``g``: those that write into ``g`` when
    nothing but the sweep holds it; those for a cotangent of ones when ``g`` is a broadcast
    one, unless the entry keeps its residuals (a unit rule may hand one on as the cotangent)."""
    if prim.vjp_into is not None and sole_large(g, holders=2):
        return _into_rules(prim, ins, floor)
    if prim.vjp_unit is not None and not retain and _is_unit(g):
        return prim.vjp_unit
    return prim.vjp


def _is_unit(g: Any) -> bool:
    """True for a non-empty array of ones that is a broadcast of one element: the cotangent
    that ``sum`` (and then ``add``) hand on from the seed of ``loss.backward()``."""
    return not any(g.strides) and g.item(0) == 1


def _into_rules(prim: Any, ins: tuple[Any, ...], floor: int) -> tuple[Any, ...]:
    """The entry's VJP rules, with the rule that may write into the cotangent in place of the
    plain one when the sweep differentiates only that one input (no other rule then reads the
    cotangent, or hands it on as its own)."""
    rules = prim.vjp
    only = -1
    for k, s in enumerate(ins):
        if s is not None and rules[k] is not None and s >= floor:
            if only >= 0:
                return rules
            only = k
    into = prim.vjp_into[only] if only >= 0 else None
    return rules if into is None else rules[:only] + (into,) + rules[only + 1 :]


#: Cotangents from this many elements up are worth writing into (a new buffer of that size
#: costs more to allocate and touch than the bookkeeping that avoids it).
INPLACE_MIN = 1 << 15
# Whether the reference counts that decide in-place writes are the ones this module and its
# callers account for. Each call site states how many references its path holds (``holders``);
# those numbers depend on how the interpreter passes arguments (3.10, 3.12 and 3.13 each count
# differently at some sites, and an array a user still holds could then be overwritten), and
# the free-threaded build defers counts. They are verified on CPython 3.11 by the test suite;
# every other interpreter computes out of place.
_EXACT_REFCOUNTS = (
    sys.implementation.name == "cpython"
    and sys.version_info[:2] == (3, 11)
    and not sysconfig.get_config_var("Py_GIL_DISABLED")
)
_getrefcount = sys.getrefcount


def grad_fn_name(e: Entry) -> str:
    """PyTorch's name of the backward node of entry ``e``: its primitive's, or the name of
    the composite operation it ends (``tensor.show_as``)."""
    extra = e[EXTRA]
    if extra is not None:
        shown = extra.get("composite")
        if shown is not None:
            return shown[0]
    return e[PRIM].grad_fn_name(e[PARAMS])


def sole_large(a: Any, holders: int = 1) -> bool:
    """True for a large, writable, floating NumPy array that owns its data and that nothing
    refers to but the caller's one variable (or the ``holders`` references the caller
    accounts for): the caller may overwrite it.

    The references counted are those, this function's parameter and ``getrefcount``'s
    argument. A view, an array held in a list, a dict, a tensor or a second variable, or one
    a hook kept, has more references (or does not own its data) and is left alone.
    """
    if a.__class__ is not _NDARRAY or a.size < INPLACE_MIN or not _EXACT_REFCOUNTS:
        return False
    if _getrefcount(a) != holders + 2 or a.dtype.kind not in "fc":
        return False
    flags = a.flags  # (it refers to ``a``: counted above, not after)
    return flags.owndata and flags.writeable


class _NeverOwned(dict):
    """An empty ``owned`` map that stays empty: sweeps that record accumulate out of place."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


_NEVER_OWNED = _NeverOwned()
_NDARRAY = __import__("numpy").ndarray

#: ``saved`` of an entry whose rules read nothing, by number of arguments.
_NONES = [(None,) * (n + 1) for n in range(64)]
#: Position of an entry that a sweep without ``retain_graph`` has taken off the tape.
_SWEPT = -2


def _apply_output_extras(
    e: Entry, index: int, g: Any, found: dict[int, Any], wanted: frozenset[int] | None
) -> Any:
    """Run the hooks on output ``index`` of ``e`` and fill a retained ``.grad``."""
    from .engine import deliver_retained, run_hooks

    extra = e[EXTRA]
    hooks = extra.get(("hooks", index))
    if hooks:
        g = run_hooks(hooks, g)
    ref = extra.get(("retain", index))
    if ref is not None:
        deliver_retained(ref, g)
    return g


def pack_saved(saved: tuple[Any, ...]) -> tuple[Any, ...]:
    """An entry's residuals through this thread's saved-tensor hooks, if it has any."""
    from .autograd.graph import pack_saved as pack

    return pack(saved)


def unpack_saved(saved: tuple[Any, ...]) -> tuple[Any, ...]:
    """An entry's residuals through the unpack hooks that packed them."""
    from .autograd.graph import unpack_saved as unpack

    return unpack(saved)
