"""The tape, visible: ``with tg.Tape() as tape: ...`` lists the entries recorded in a block.

Every differentiable operation appends one entry to the tape of its thread (see
:mod:`tapegrad.tape`). A :class:`Tape` subscribes to that list for the duration of a ``with``
block and keeps a small read-only record of each entry appended meanwhile: the primitive, the
slots of its inputs and outputs, the value of scalar constants, and the dtype and shape of each
output. ``print(tape)`` renders the records as a Wengert list::

    %3 = mul(%1, %2)  f32[3,3]
    %4 = add(%3, 2)  f32[3,3]
    %5 = sum(%4)  f32[]

Slots are numbered in the order the listing first mentions them, so the same program prints
the same text whatever ran before it; leaves and values made before the block appear as
inputs only. The records hold no array data: a :class:`Tape` kept after its block neither
keeps the recorded values alive nor stops the tape from pruning them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import tape as _tape
from .tape import FREED, INS, OUTS, PARAMS, PRIM, SAVED, SLOT, VERS, Entry

__all__ = ["Tape", "TapeEntry", "dtype_short_name"]

#: Short dtype names of the listing, as in MLIR and XLA's HLO text.
_SHORT = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "b1",
    "complex64": "c64",
    "complex128": "c128",
}


def dtype_short_name(dtype: Any) -> str:
    """The short name of a dtype used by tape listings: ``f32``, ``i64``, ``b1``, ``c128``...

    >>> import numpy as np
    >>> dtype_short_name(np.float32), dtype_short_name(np.bool_), dtype_short_name("complex128")
    ('f32', 'b1', 'c128')
    """
    dt = np.dtype(dtype)
    name = _SHORT.get(dt.name)
    if name is not None:
        return name
    return f"{dt.kind}{8 * dt.itemsize}"


def _aval(value: Any) -> tuple[str, tuple[int, ...]] | None:
    """``(dtype short name, shape)`` of an array-like value, or ``None``."""
    dtype = getattr(value, "dtype", None)
    shape = getattr(value, "shape", None)
    if dtype is None or shape is None:
        return None
    try:
        return dtype_short_name(dtype), tuple(int(n) for n in shape)
    except TypeError:
        return None


def _scalar_text(value: Any) -> str | None:
    """The text of a constant in a listing when it is a scalar, else ``None``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, (int, float, complex)):
        return repr(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return repr(value.item())
    return None


class TapeEntry:
    """A read-only record of one tape entry, as a :class:`Tape` saw it appended.

    Attributes
    ----------
    primitive : Primitive
        The operation (``primitive.name`` is the short name of the listing).
    name : str
        The primitive's short name (``"mul"``, ``"sum"``, ...).
    grad_fn_name : str
        PyTorch's name of the backward node (``"MulBackward0"``).
    inputs : tuple of (int or None)
        Tape slot of each input; ``None`` for constants (inputs that do not require grad).
    outputs : tuple of int
        Tape slot of each output.
    params : dict or None
        Static parameters of the primitive (axes, shapes, indices).
    constants : tuple
        For each input, the constant's text when it is a scalar (``"2"``, ``"0.5"``), else
        ``None``.
    avals : tuple of ((str, tuple of int) or None)
        ``(dtype short name, shape)`` of each output; ``None`` where it could not be seen.
    """

    __slots__ = ("primitive", "inputs", "outputs", "params", "constants", "avals")

    def __init__(
        self,
        primitive: Any,
        inputs: tuple[int | None, ...],
        outputs: tuple[int, ...],
        params: dict[str, Any] | None,
        constants: tuple[str | None, ...],
        avals: tuple[tuple[str, tuple[int, ...]] | None, ...],
    ) -> None:
        object.__setattr__(self, "primitive", primitive)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "constants", constants)
        object.__setattr__(self, "avals", avals)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TapeEntry is read-only")

    @property
    def name(self) -> str:
        """The primitive's short name."""
        return str(self.primitive.name)

    @property
    def grad_fn_name(self) -> str:
        """PyTorch's name of the backward node for this entry."""
        return str(self.primitive.grad_fn_name(self.params))

    @property
    def slot(self) -> int:
        """Slot of the (first) output."""
        return self.outputs[0]

    @property
    def dtype(self) -> str | None:
        """Short dtype name of the (first) output, e.g. ``"f32"``."""
        aval = self.avals[0]
        return None if aval is None else aval[0]

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the (first) output."""
        aval = self.avals[0]
        return None if aval is None else aval[1]

    def format(self, number: dict[int, int] | None = None) -> str:
        """One listing line; ``number`` maps tape slots to the numbers shown (default: slots)."""

        def ref(slot: int) -> str:
            return f"%{slot if number is None else number[slot]}"

        args = []
        for slot, const in zip(self.inputs, self.constants, strict=False):
            if slot is None:
                args.append("const" if const is None else const)
            else:
                args.append(ref(slot))
        outs = ", ".join(ref(s) for s in self.outputs)
        types = ", ".join(
            "?" if a is None else f"{a[0]}[{','.join(str(n) for n in a[1])}]" for a in self.avals
        )
        return f"{outs} = {self.name}({', '.join(args)})  {types}"

    def __repr__(self) -> str:
        return f"<TapeEntry {self.format()}>"


def _find_outputs(e: Entry, nout: int) -> tuple[Any, Any] | None:
    """The output tensors of the entry being appended, and the arguments of its primitive.

    The tape hands recorders the entry alone; its output tensors (which the entry does not
    reference) are still locals of the call that is appending it, a few frames up.
    """
    from .tensor import Tensor

    # Frames: this function, _record, _Recorder.append, the tape's append helper, the bind.
    frame = sys._getframe(3)
    for _ in range(5):
        if frame is None:
            return None
        loc = frame.f_locals
        for value in loc.values():
            if isinstance(value, Tensor):
                if value._entry is e and nout == 1:
                    return (value,), _arguments(loc, e)
            elif type(value) in (tuple, list) and len(value) == nout:
                if all(isinstance(v, Tensor) and v._entry is e for v in value):
                    return tuple(value), _arguments(loc, e)
        frame = frame.f_back
    return None


def _arguments(loc: dict[str, Any], e: Entry) -> Sequence[Any] | None:
    """The primitive's arguments among the locals of the call that bound it."""
    n = len(e[INS])
    args = loc.get("args")
    if isinstance(args, (tuple, list)) and len(args) == n:
        return args
    if n == 2 and "a" in loc and "b" in loc:
        return (loc["a"], loc["b"])
    return None


class _Recorder(list):  # type: ignore[type-arg]
    """A subscriber on ``Tape.recorders``: keeps a record per entry, not the entry itself.

    While a transform's own recorder list is subscribed after this one (``jvp``,
    ``checkpoint``, custom rules: they may take the entries they saw back off the tape with
    ``rec[:] = kept``), the entries appended meanwhile are held here too, so that records of
    entries taken back can be dropped; they are let go at the next entry appended after that
    recorder left, or when the block ends. Otherwise the list stays empty, and a block around
    a long loop keeps nothing alive.

    It compares by identity, so code that removes its own recorder list from the tape with
    ``list.remove`` never takes this one away instead.
    """

    __slots__ = ("records", "tape", "pending")

    def __init__(self, tape: _tape.Tape, records: list[TapeEntry]) -> None:
        super().__init__()
        self.tape = tape
        self.records = records
        # id of each held entry -> its record.
        self.pending: dict[int, TapeEntry] = {}

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    __hash__ = None  # type: ignore[assignment]

    def _inside_transform(self) -> bool:
        recs = self.tape.recorders
        for i in range(len(recs) - 1, -1, -1):
            r = recs[i]
            if r is self:
                return False
            if not isinstance(r, _Recorder):
                return True
        return False

    def release(self) -> None:
        """Let go of held entries: their records stay."""
        if self.pending:
            self.pending.clear()
            del self[:]

    def append(self, e: Entry) -> None:  # type: ignore[override]
        record = _record(e)
        self.records.append(record)
        if self._inside_transform():
            list.append(self, e)
            self.pending[id(e)] = record
        else:
            self.release()

    def __setitem__(self, index: Any, value: Any) -> None:
        kept = list(value) if isinstance(index, slice) else [value]
        dropped = [e for e in self[index if isinstance(index, slice) else slice(index, index + 1)]]
        list.__setitem__(self, index, value)
        keep = {id(e) for e in kept}
        gone = {
            id(self.pending.pop(id(e)))
            for e in dropped
            if id(e) not in keep and id(e) in self.pending
        }
        if gone:
            self.records[:] = [r for r in self.records if id(r) not in gone]


def _record(e: Entry) -> TapeEntry:
    from .tensor import Tensor

    prim = e[PRIM]
    ins = tuple(e[INS])
    outs = tuple(e[OUTS]) if e[OUTS] is not None else (e[SLOT],)
    found = _find_outputs(e, len(outs))
    avals: list[Any] = [None] * len(outs)
    args: Sequence[Any] | None = None
    if found is not None:
        tensors, args = found
        avals = [_aval(t.data) for t in tensors]
    saved = e[SAVED] if e[VERS] is not FREED else None
    if saved is not None and any(a is None for a in avals):
        out = saved[-1]
        if out is not None:
            outs_saved = out if isinstance(out, tuple) else (out,)
            avals = [
                a if a is not None else _aval(o) for a, o in zip(avals, outs_saved, strict=False)
            ]
    constants: list[str | None] = []
    for i, slot in enumerate(ins):
        text = None
        if slot is None:
            value = None
            if args is not None:
                value = args[i]
                if isinstance(value, Tensor):
                    value = value.data
            elif saved is not None and i < len(saved) - 1:
                value = saved[i]
            if value is not None:
                text = _scalar_text(value)
        constants.append(text)
    return TapeEntry(prim, ins, outs, e[PARAMS], tuple(constants), tuple(avals))


class Tape:
    """Record the Wengert list of a block: ``with tg.Tape() as tape: ...``.

    ``len(tape)`` is the number of entries recorded inside the block, ``print(tape)`` lists
    them one per line (output slot, primitive, input slots, output dtype and shape), and
    ``tape.entries`` (or iterating over the tape) gives read-only :class:`TapeEntry` records.
    Tapes nest: each sees the entries of its own block. A tape records the thread that
    entered it.

    >>> import tapegrad as tg
    >>> x = tg.ones(3, 3, requires_grad=True)
    >>> y = tg.ones(3, 3, requires_grad=True)
    >>> with tg.Tape() as tape:
    ...     z = (x * y + 2).sum()
    >>> len(tape)
    3
    >>> print(tape)
    %3 = mul(%1, %2)  f32[3,3]
    %4 = add(%3, 2)  f32[3,3]
    %5 = sum(%4)  f32[]
    """

    def __init__(self) -> None:
        self._records: list[TapeEntry] = []
        self._recorder: _Recorder | None = None
        self._tape: _tape.Tape | None = None

    def __enter__(self) -> Tape:
        if self._recorder is not None:
            raise RuntimeError("this Tape is already recording; use a new tg.Tape() to nest")
        self._tape = _tape.current_tape()
        rec = _Recorder(self._tape, self._records)
        self._recorder = rec
        self._tape.recorders.append(rec)
        return self

    def __exit__(self, *exc: object) -> None:
        rec, tape = self._recorder, self._tape
        self._recorder = None
        self._tape = None
        if tape is None or rec is None:
            return
        rec.release()
        recorders = tape.recorders
        for i in range(len(recorders) - 1, -1, -1):
            if recorders[i] is rec:
                del recorders[i]
                break

    @property
    def recording(self) -> bool:
        """Whether the ``with`` block is running."""
        return self._recorder is not None

    @property
    def entries(self) -> tuple[TapeEntry, ...]:
        """The records of the entries appended inside the block, in order."""
        return tuple(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TapeEntry]:
        return iter(tuple(self._records))

    def __getitem__(self, index: int) -> TapeEntry:
        return self._records[index]

    def numbering(self) -> dict[int, int]:
        """Tape slot to the number the listing shows, in order of first mention."""
        number: dict[int, int] = {}
        for r in self._records:
            for s in r.inputs:
                if s is not None and s not in number:
                    number[s] = len(number) + 1
            for s in r.outputs:
                if s not in number:
                    number[s] = len(number) + 1
        return number

    def __str__(self) -> str:
        number = self.numbering()
        return "\n".join(r.format(number) for r in self._records)

    def __repr__(self) -> str:
        n = len(self._records)
        state = ", recording" if self.recording else ""
        return f"<tapegrad.Tape: {n} {'entry' if n == 1 else 'entries'}{state}>"
