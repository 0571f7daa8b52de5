"""``save`` and ``load``: state dicts (and other nested containers of tensors) as ``.npz`` files.

No code is pickled. Each tensor or array becomes one array of the archive, named by its path
in the container with the parts joined by ``"/"`` (``"fc.weight"``, ``"state/0/exp_avg"``),
so the file reads with plain ``np.load(path)`` too. One more entry, a JSON text, records the
shape of the container: dicts, lists, tuples, numbers, strings, ``None`` and which arrays
were tensors (or parameters) and whether they required grad. :func:`load` reads the file with
``allow_pickle=False``; an ``.npz`` written by other means loads as a dict of tensors, nested
at each ``"/"`` of its array names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from .creation import as_tensor
from .tensor import Tensor

__all__ = ["save", "load"]

SEP = "/"
STRUCTURE_KEY = "__tapegrad_structure__"
FORMAT_VERSION = 1
# Names np.savez itself takes as keywords cannot name arrays.
_RESERVED = {STRUCTURE_KEY, "file", "args", "kwds", "allow_pickle"}

PathOrFile = str | os.PathLike[str] | IO[bytes]


def _host(data: Any) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data
    get = getattr(data, "get", None)  # CuPy
    return get() if get is not None else np.asarray(data)


class _Encoder:
    """Turns a container into a JSON-able tree plus a dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _name(self, path: list[str]) -> str:
        base = SEP.join(path) or "value"
        name, n = base, 1
        while name in self.arrays or name in _RESERVED:
            name, n = f"{base}~{n}", n + 1
        return name

    def encode(self, node: Any, path: list[str]) -> Any:
        if isinstance(node, Tensor):
            from .nn.parameter import Parameter

            name = self._name(path)
            self.arrays[name] = _host(node.data)
            return {
                "tensor": name,
                "requires_grad": node.requires_grad,
                "parameter": isinstance(node, Parameter),
            }
        if isinstance(node, np.generic):
            name = self._name(path)
            self.arrays[name] = np.asarray(node)
            return {"scalar": name}
        if isinstance(node, np.ndarray) or hasattr(node, "__cuda_array_interface__"):
            name = self._name(path)
            self.arrays[name] = _host(node)
            return {"array": name}
        if node is None or isinstance(node, (bool, int, float, str)):
            return {"value": node}
        if isinstance(node, complex):
            return {"complex": [node.real, node.imag]}
        if isinstance(node, Mapping):
            items = []
            for key, value in node.items():
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise TypeError(
                        f"cannot save a dict key of type {type(key).__name__}: keys must be "
                        "strings or integers"
                    )
                items.append([key, self.encode(value, [*path, str(key)])])
            return {"dict": items}
        if isinstance(node, (list, tuple)):
            kind = "list" if isinstance(node, list) else "tuple"
            return {kind: [self.encode(v, [*path, str(i)]) for i, v in enumerate(node)]}
        raise TypeError(
            f"cannot save an object of type {type(node).__name__}: tapegrad.save stores "
            "tensors, arrays, numbers, strings and None in nested dicts, lists and tuples "
            "(for a model, save model.state_dict())"
        )


def save(obj: Any, f: PathOrFile, *, compress: bool = False) -> None:
    """Save a state dict (or any nested dict/list/tuple of tensors, arrays and plain values)
    to ``f``, a path or a binary file, as an ``.npz`` archive.

    The path is used as given (no ``.npz`` is appended). ``compress=True`` deflates the
    arrays.

    Examples
    --------
    >>> import io
    >>> from tapegrad.serialization import load, save
    >>> buf = io.BytesIO()
    >>> model = tg.nn.Linear(2, 1)
    >>> save(model.state_dict(), buf)
    >>> _ = buf.seek(0)
    >>> state = load(buf)
    >>> list(state)
    ['weight', 'bias']
    >>> np.array_equal(state["weight"].numpy(), model.weight.detach().numpy())
    True
    """
    encoder = _Encoder()
    tree = encoder.encode(obj, [])
    header = json.dumps({"format": FORMAT_VERSION, "tree": tree})
    arrays: dict[str, Any] = dict(encoder.arrays)
    arrays[STRUCTURE_KEY] = np.array(header)
    writer = np.savez_compressed if compress else np.savez
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            writer(fh, **arrays)
    else:
        writer(f, **arrays)


def _decode(node: dict[str, Any], npz: Any) -> Any:
    if "value" in node:
        return node["value"]
    if "tensor" in node:
        arr = npz[node["tensor"]]
        if node.get("parameter"):
            from .nn.parameter import Parameter

            return Parameter(arr, requires_grad=node.get("requires_grad", True))
        t = as_tensor(arr)
        return t.requires_grad_() if node.get("requires_grad") else t
    if "array" in node:
        return npz[node["array"]]
    if "scalar" in node:
        return npz[node["scalar"]][()]
    if "complex" in node:
        re, im = node["complex"]
        return complex(re, im)
    if "dict" in node:
        return {key: _decode(value, npz) for key, value in node["dict"]}
    if "list" in node:
        return [_decode(v, npz) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, npz) for v in node["tuple"])
    raise ValueError(f"unrecognised entry in the file's structure: {sorted(node)}")


def _unflatten(npz: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in npz.files:
        *parents, leaf = name.split(SEP)
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"array name {name!r} nests under another array's name")
        if leaf in node:
            raise ValueError(f"array name {name!r} is also a prefix of other array names")
        node[leaf] = as_tensor(npz[name])
    return out


def load(f: PathOrFile) -> Any:
    """Load what :func:`save` wrote, with tensors on the CPU.

    Reads with ``np.load(..., allow_pickle=False)``: a file can hold only arrays and text,
    never code. An ``.npz`` written by other means gives a dict of tensors, nested at each
    ``"/"`` of the array names.

    Examples
    --------
    >>> import io
    >>> from tapegrad.serialization import load, save
    >>> buf = io.BytesIO()
    >>> save({"step": 3, "betas": (0.9, 0.999), "w": tg.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> load(buf)
    {'step': 3, 'betas': (0.9, 0.999), 'w': tensor([1., 1.])}
    """
    with np.load(f, allow_pickle=False) as npz:
        if STRUCTURE_KEY not in npz.files:
            return _unflatten(npz)
        header = json.loads(str(npz[STRUCTURE_KEY][()]))
        version = header.get("format")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported tapegrad file format {version} (this version reads {FORMAT_VERSION})"
            )
        return _decode(header["tree"], npz)
