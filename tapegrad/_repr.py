"""PyTorch-compatible text for tensors.

:func:`tensor_repr` renders a NumPy array exactly as PyTorch 2.13 prints a tensor holding
the same values with the corresponding dtype, with ``tapegrad.`` in place of ``torch.`` in
dtype names. The layout follows PyTorch's default print options: 4 digits of precision,
lines wrapped at 80 characters, and above 1000 elements a summary that keeps the first and
last 3 entries of every axis longer than 6 and puts ``...`` in between. Lines break exactly
where PyTorch breaks them, so the two texts differ in the dtype namespace alone.

How a floating-point block is rendered depends on its finite, nonzero values only:

* *integer mode* -- every such value is integral: ``1.``, ``-3.``;
* *scientific mode* -- the largest magnitude exceeds ``1e8``, the smallest is below ``1e-4``,
  or their ratio exceeds 1000: ``1.0000e-08``;
* *fixed mode* -- otherwise: ``1.5000``.

Scientific mode takes precedence over integer mode. Every element is right-aligned to the
widest rendering among those finite, nonzero values; zeros, ``nan`` and ``inf`` take part
in neither the mode choice nor the width. A complex block renders its real and imaginary
parts with one such formatter each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["format_dtype", "tensor_repr"]

PRECISION = 4
"""Digits after the decimal point in fixed and scientific mode."""
THRESHOLD = 1000
"""Tensors with more elements than this are summarised."""
EDGE_ITEMS = 3
"""Items kept at each end of a summarised axis."""
LINE_WIDTH = 80
"""Characters per line before a 1-D block wraps, and before a suffix moves to a new line."""

_PREFIX = "tensor("
_NAMESPACE = "tapegrad."
# Characters the namespace adds over PyTorch's ``torch.`` in a dtype name.
_NAMESPACE_EXTRA_LENGTH = len(_NAMESPACE) - len("torch.")
_SCI_MAX = 1.0e8
_SCI_MIN = 1.0e-4
_SCI_RATIO = 1000.0

_SUPPORTED_DTYPES = frozenset(
    [
        "bool",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    ]
)
# Dtypes PyTorch leaves out of a non-empty tensor's text (float32 is the default dtype).
_IMPLICIT_DTYPES = frozenset(["float32", "complex64", "int64", "bool"])
# An empty tensor names every dtype except the default floating dtype.
_IMPLICIT_EMPTY_DTYPE = "float32"


def format_dtype(dtype: np.dtype | type | str) -> str:
    """Name a dtype the way tensor text shows it.

    Parameters
    ----------
    dtype : numpy.dtype, type or str
        Anything :class:`numpy.dtype` accepts, e.g. ``np.float32`` or ``"int64"``.

    Returns
    -------
    str
        ``"tapegrad."`` followed by the dtype name, e.g. ``"tapegrad.float64"``.

    Raises
    ------
    TypeError
        If the dtype has no tensor counterpart (strings, objects, ``longdouble``, ...).

    Examples
    --------
    >>> format_dtype(np.float64)
    'tapegrad.float64'
    """
    name = np.dtype(dtype).name
    if name not in _SUPPORTED_DTYPES:
        raise TypeError(f"no tensor dtype corresponds to NumPy dtype {name!r}")
    return _NAMESPACE + name


def tensor_repr(
    data: np.ndarray,
    *,
    requires_grad: bool = False,
    grad_fn_name: str | None = None,
    device: str = "cpu",
) -> str:
    """Render an array as PyTorch prints a tensor with the same values and dtype.

    Parameters
    ----------
    data : numpy.ndarray
        Values to show; any shape (0-d and empty included) and any dtype that has a tensor
        counterpart (bool, signed and unsigned integers, float16/32/64, complex64/128).
    requires_grad : bool, optional
        Append ``requires_grad=True``; ignored when ``grad_fn_name`` is given, as in PyTorch.
    grad_fn_name : str, optional
        Class name of the node that produced the tensor; appended as
        ``grad_fn=<AddBackward0>``.
    device : str, optional
        Device the tensor lives on. Anything other than ``"cpu"`` is appended as
        ``device='cuda:0'``; a bare ``"cuda"`` is shown with its index 0, since a tensor
        always lives on a numbered device.

    Returns
    -------
    str
        The tensor's text; ``repr`` and ``str`` of a tensor are both this string.

    Examples
    --------
    >>> tensor_repr(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    'tensor([1., 2.], requires_grad=True)'
    >>> tensor_repr(np.array([1.5, 2.0]))
    'tensor([1.5000, 2.0000], dtype=tapegrad.float64)'
    """
    array = np.asarray(data)
    dtype_name = format_dtype(array.dtype).removeprefix(_NAMESPACE)
    indent = len(_PREFIX)
    suffixes = []
    if device != "cpu":
        suffixes.append(f"device='{_device_name(device)}'")
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype_name != _IMPLICIT_EMPTY_DTYPE:
            suffixes.append(f"dtype={format_dtype(array.dtype)}")
        body = "[]"
    else:
        if dtype_name not in _IMPLICIT_DTYPES:
            suffixes.append(f"dtype={format_dtype(array.dtype)}")
        body = _format_values(array, indent)
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _append_suffixes(_PREFIX + body, suffixes, indent)


def _device_name(device: str) -> str:
    """Give a device its index when it has none (``"cuda"`` -> ``"cuda:0"``)."""
    text = str(device)
    return "cuda:0" if text == "cuda" else text


def _append_suffixes(text: str, suffixes: Sequence[str], indent: int) -> str:
    """Close the text with its ``, key=value`` suffixes, wrapping any that overflow a line.

    Suffixes break where PyTorch breaks them: a dtype name counts as long as its ``torch.``
    spelling, so the text differs from PyTorch's in the namespace alone.
    """
    parts = [text]
    # PyTorch's running line length counts two characters beyond the last line's own.
    line_length = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        suffix_length = len(suffix) - suffix.count(_NAMESPACE) * _NAMESPACE_EXTRA_LENGTH
        if line_length + suffix_length + 2 > LINE_WIDTH:
            parts.append(",\n" + " " * indent + suffix)
            line_length = indent + suffix_length
        else:
            parts.append(", " + suffix)
            line_length += suffix_length + 2
    parts.append(")")
    return "".join(parts)


def _format_values(array: np.ndarray, indent: int) -> str:
    """Render the bracketed values of a non-empty array, summarised when it is large."""
    summarize = array.size > THRESHOLD
    elided = tuple(summarize and size > 2 * EDGE_ITEMS for size in array.shape)
    shown = _edge_items(array, elided)
    if np.iscomplexobj(shown):
        real_cells, real_width = _float_cells(shown.real)
        imag_cells, imag_width = _float_cells(shown.imag)
        cells = [
            _join_complex(real, imag) for real, imag in zip(real_cells, imag_cells, strict=True)
        ]
        cell_width = real_width + 2 + imag_width + 1
    else:
        if np.issubdtype(shown.dtype, np.floating):
            cells, width = _float_cells(shown)
        else:
            cells, width = _exact_cells(shown)
        cell_width = width + 2
    grid = np.empty(len(cells), dtype=object)
    grid[:] = cells
    return _layout(grid.reshape(shown.shape), elided, indent, cell_width)


def _edge_items(array: np.ndarray, elided: tuple[bool, ...]) -> np.ndarray:
    """Keep only the first and last ``EDGE_ITEMS`` entries along every elided axis."""
    edges = np.r_[0:EDGE_ITEMS, -EDGE_ITEMS:0]
    for axis, is_elided in enumerate(elided):
        if is_elided:
            array = np.take(array, edges, axis=axis)
    return array


def _exact_cells(values: np.ndarray) -> tuple[list[str], int]:
    """Render integers and booleans as Python does, right-aligned to the widest of them."""
    texts = [str(value) for value in values.ravel().tolist()]
    width = max(1, max(map(len, texts)))
    return [text.rjust(width) for text in texts], width


def _float_cells(values: np.ndarray) -> tuple[list[str], int]:
    """Render real floating-point values in the mode and width their magnitudes call for.

    Returns the right-aligned cells in C order and their common width.
    """
    flat = values.ravel().astype(np.float64)
    significant = np.isfinite(flat) & (flat != 0)
    chosen = flat[significant]
    if chosen.size == 0:
        render = _render_integral
    else:
        magnitudes = np.abs(chosen)
        smallest = float(magnitudes.min())
        largest = float(magnitudes.max())
        scientific = largest / smallest > _SCI_RATIO or largest > _SCI_MAX or smallest < _SCI_MIN
        if scientific:
            render = _render_scientific
        elif np.array_equal(np.ceil(chosen), chosen):
            render = _render_integral
        else:
            render = _render_fixed
    texts = [render(value) for value in flat.tolist()]
    width = max(
        (len(text) for text, keep in zip(texts, significant.tolist(), strict=True) if keep),
        default=1,
    )
    return [text.rjust(width) for text in texts], width


def _render_scientific(value: float) -> str:
    return f"{value:.{PRECISION}e}"


def _render_fixed(value: float) -> str:
    return f"{value:.{PRECISION}f}"


def _render_integral(value: float) -> str:
    text = f"{value:.0f}"
    # A trailing point marks a finite value as floating point; nan and inf need no mark.
    return text + "." if text[-1].isdigit() else text


def _join_complex(real: str, imag: str) -> str:
    """Combine a padded real cell and a padded imaginary cell into ``a+bj``."""
    imag_text = (imag + "j").lstrip()
    sign = "" if imag_text[0] in "+-" else "+"
    return real + sign + imag_text


def _layout(cells: np.ndarray, elided: tuple[bool, ...], indent: int, cell_width: int) -> str:
    """Nest rendered cells in brackets, one line per row of a matrix, blank lines between
    higher blocks, with ``...`` standing for the middle of every elided axis."""
    if cells.ndim == 0:
        return cells[()]
    if cells.ndim == 1:
        items = cells.tolist()
        if elided[0]:
            items[EDGE_ITEMS:EDGE_ITEMS] = [" ..."]
        per_line = max(1, (LINE_WIDTH - indent) // cell_width)
        lines = [
            ", ".join(items[start : start + per_line]) for start in range(0, len(items), per_line)
        ]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    blocks = [_layout(block, elided[1:], indent + 1, cell_width) for block in cells]
    if elided[0]:
        blocks[EDGE_ITEMS:EDGE_ITEMS] = ["..."]
    separator = "," + "\n" * (cells.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(blocks) + "]"
