"""The name table of :mod:`tapegrad.numpy`: which ops-level functions each NumPy name uses.

``TABLE`` maps every differentiable NumPy name that ``tapegrad.numpy`` offers (``"var"``,
``"linalg.inv"``) to the functions of ``tapegrad.ops`` it is built on, written
``"module.function"``, or ``"module.function(param, ...)"`` when the wrapper passes those
keyword parameters. :func:`resolve` looks each one up once, when ``tapegrad.numpy`` is
imported:

- a NumPy name resolves when every ops-level function it needs exists and accepts the
  parameters it is given; the public function is then exported;
- otherwise the name is left out of the namespace and ``UNRESOLVED[name]`` says why (the
  missing function, or the parameter its signature lacks). ``tnp.<name>`` then raises
  ``AttributeError`` with that reason, and NumPy's own function on a tensor raises
  ``TypeError`` with it.

Names that need no ops-level function (array creation, constants, dtypes, value-only
functions such as ``argmax`` or ``isnan``) are not in the table: they are always there.

>>> from tapegrad.numpy._names import TABLE, STATUS
>>> TABLE["var"]
('reduce.var(axis, keepdims, ddof, correction)',)
>>> STATUS["add"] is None
True
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any

__all__ = ["TABLE", "OPS", "STATUS", "UNRESOLVED", "resolve", "Missing"]

# ---------------------------------------------------------------------------------- the table

_UNARY = (
    "negative", "square", "sqrt", "cbrt", "reciprocal", "sign", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "floor", "sinc",
)  # fmt: skip
_BINARY = (
    "add", "subtract", "multiply", "true_divide", "floor_divide", "remainder", "power",
    "maximum", "minimum", "arctan2", "hypot", "logaddexp",
)  # fmt: skip

TABLE: dict[str, tuple[str, ...]] = {
    # ------------------------------------------------------------ elementwise (ufuncs)
    **{name: (f"elementwise.{name}",) for name in _UNARY},
    **{name: (f"elementwise.{name}",) for name in _BINARY},
    "divide": ("elementwise.true_divide",),
    "mod": ("elementwise.remainder",),
    "pow": ("elementwise.power",),
    "float_power": ("elementwise.power", "shape.astype"),
    "absolute": ("elementwise.abs",),
    "abs": ("elementwise.abs",),
    "fabs": ("elementwise.abs",),
    "positive": (),
    "acos": ("elementwise.arccos",),
    "asin": ("elementwise.arcsin",),
    "atan": ("elementwise.arctan",),
    "acosh": ("elementwise.arccosh",),
    "asinh": ("elementwise.arcsinh",),
    "atanh": ("elementwise.arctanh",),
    "atan2": ("elementwise.arctan2",),
    "ceil": ("elementwise.floor", "elementwise.negative"),
    "trunc": ("elementwise.floor", "elementwise.negative", "elementwise.where"),
    "fix": ("elementwise.floor", "elementwise.negative", "elementwise.where"),
    "rint": ("elementwise.rint",),
    "round": ("elementwise.rint", "elementwise.multiply", "elementwise.true_divide"),
    "around": ("elementwise.rint", "elementwise.multiply", "elementwise.true_divide"),
    "deg2rad": ("elementwise.multiply",),
    "radians": ("elementwise.multiply",),
    "rad2deg": ("elementwise.multiply",),
    "degrees": ("elementwise.multiply",),
    "logaddexp2": ("elementwise.logaddexp", "elementwise.multiply"),
    "clip": ("elementwise.clip(min, max)",),
    "where": ("elementwise.where",),
    "matmul": ("linalg.matmul",),
    "vecdot": ("elementwise.multiply", "reduce.sum(axis)"),
    "matvec": ("linalg.matmul", "shape.expand_dims", "shape.squeeze"),
    "vecmat": ("linalg.matmul", "shape.expand_dims", "shape.squeeze"),
    # ------------------------------------------------------------ reductions
    "sum": ("reduce.sum(axis, keepdims)",),
    "mean": ("reduce.mean(axis, keepdims)",),
    "prod": ("reduce.prod(axis, keepdims)",),
    "max": ("reduce.max(axis, keepdims)",),
    "min": ("reduce.min(axis, keepdims)",),
    "amax": ("reduce.amax(axis, keepdims)",),
    "amin": ("reduce.amin(axis, keepdims)",),
    "ptp": ("reduce.amax(axis, keepdims)", "reduce.amin(axis, keepdims)"),
    "var": ("reduce.var(axis, keepdims, ddof, correction)",),
    "std": ("reduce.std(axis, keepdims, ddof, correction)",),
    "average": ("reduce.mean(axis, keepdims)", "reduce.sum(axis, keepdims)"),
    "cumsum": ("reduce.cumsum(axis)",),
    "cumprod": ("reduce.cumprod(axis)",),
    "sort": ("index.take_along_axis",),
    # ------------------------------------------------------------ shape
    "reshape": ("shape.reshape(order)",),
    "ravel": ("shape.reshape(order)",),
    "transpose": ("shape.transpose",),
    "permute_dims": ("shape.transpose",),
    "matrix_transpose": ("shape.swapaxes",),
    "swapaxes": ("shape.swapaxes",),
    "moveaxis": ("shape.moveaxis",),
    "squeeze": ("shape.squeeze",),
    "expand_dims": ("shape.expand_dims",),
    "broadcast_to": ("shape.broadcast_to",),
    "broadcast_arrays": ("shape.broadcast_to",),
    "atleast_1d": ("shape.reshape",),
    "atleast_2d": ("shape.reshape",),
    "atleast_3d": ("shape.reshape",),
    "concatenate": ("shape.concatenate(axis, dtype, casting)",),
    "concat": ("shape.concatenate(axis, dtype, casting)",),
    "stack": ("shape.stack(axis, dtype, casting)",),
    "hstack": ("shape.concatenate(axis, dtype, casting)", "shape.reshape"),
    "vstack": ("shape.concatenate(axis, dtype, casting)", "shape.reshape"),
    "dstack": ("shape.concatenate(axis)", "shape.reshape"),
    "column_stack": ("shape.concatenate(axis)", "shape.reshape"),
    "split": ("shape.split",),
    "array_split": ("shape.array_split",),
    "hsplit": ("shape.split",),
    "vsplit": ("shape.split",),
    "flip": ("shape.flip",),
    "fliplr": ("shape.flip",),
    "flipud": ("shape.flip",),
    "roll": ("shape.roll",),
    "tile": ("shape.tile",),
    "repeat": ("shape.repeat",),
    "pad": ("shape.pad",),
    "tril": ("shape.tril",),
    "triu": ("shape.triu",),
    "diagonal": ("shape.diagonal",),
    "trace": ("shape.trace",),
    "diag": ("shape.diagonal", "index.index_put"),
    "take": ("index.take(mode)",),
    "take_along_axis": ("index.take_along_axis",),
    "copy": ("shape.clone",),
    "astype": ("shape.astype",),
    "meshgrid": ("shape.reshape", "shape.broadcast_to"),
    # ------------------------------------------------------------ products
    "dot": ("linalg.dot",),
    "vdot": ("linalg.vdot",),
    "inner": ("linalg.inner",),
    "outer": ("linalg.outer",),
    "einsum": ("linalg.einsum(optimize)",),
    "tensordot": ("linalg.tensordot",),
    "kron": ("linalg.kron",),
    # ------------------------------------------------------------ tapegrad.numpy.linalg
    "linalg.inv": ("linalg.inv",),
    "linalg.solve": ("linalg.solve",),
    "linalg.det": ("linalg.det",),
    "linalg.slogdet": ("linalg.slogdet",),
    "linalg.cholesky": ("linalg.cholesky(upper)",),
    "linalg.qr": ("linalg.qr",),
    "linalg.eigh": ("linalg.eigh",),
    "linalg.eigvalsh": ("linalg.eigh",),
    "linalg.svd": ("linalg.svd(full_matrices, compute_uv, hermitian)",),
    "linalg.svdvals": ("linalg.svd(full_matrices, compute_uv, hermitian)",),
    "linalg.norm": ("linalg.norm(ord, axis, keepdims)",),
    "linalg.vector_norm": ("reduce.vector_norm(axis, keepdims, ord)",),
    "linalg.matrix_norm": ("linalg.norm(ord, axis, keepdims)",),
    "linalg.pinv": ("linalg.pinv(rcond, hermitian)",),
    "linalg.matrix_power": (
        "linalg.matmul",
        "linalg.inv",
        "elementwise.add",
        "elementwise.multiply",
    ),
    "linalg.multi_dot": ("linalg.matmul",),
    "linalg.matmul": ("linalg.matmul",),
    "linalg.outer": ("linalg.outer",),
    "linalg.vecdot": ("elementwise.multiply", "reduce.sum(axis)"),
    "linalg.tensordot": ("linalg.tensordot",),
    "linalg.trace": ("shape.trace(offset, axis1, axis2)",),
    "linalg.diagonal": ("shape.diagonal(offset, axis1, axis2)",),
    "linalg.matrix_transpose": ("shape.swapaxes",),
}

_SPEC = re.compile(r"^(\w+)\.(\w+)(?:\(([\w, ]*)\))?$")


class Missing:
    """Stands in for an ops-level function that is not there (or has another signature).

    Calling it raises ``NotImplementedError`` with the reason, so a composition that reaches
    it by mistake fails loudly instead of computing something else.
    """

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason

    def __bool__(self) -> bool:
        return False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"tapegrad.numpy: {self.reason}")

    def __repr__(self) -> str:
        return f"Missing({self.spec!r}: {self.reason})"


def _accepts(fn: Callable[..., Any], params: list[str]) -> list[str]:
    """The names in ``params`` that ``fn`` cannot take as keyword arguments."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return []
    kinds = {p.name: p.kind for p in sig.parameters.values()}
    if any(k is inspect.Parameter.VAR_KEYWORD for k in kinds.values()):
        return []
    ok = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p for p in params if kinds.get(p) not in ok]


def _lookup(spec: str) -> tuple[Callable[..., Any] | Missing, str | None]:
    """The function ``spec`` names (or a :class:`Missing`), and why ``spec`` does not resolve
    (``None`` when it does): the function is missing, or lacks a parameter ``spec`` lists."""
    m = _SPEC.match(spec)
    if m is None:  # pragma: no cover - a typo in the table
        raise ValueError(f"bad ops spec {spec!r}")
    module_name, attr, params = m.group(1), m.group(2), m.group(3)
    where = f"tapegrad.ops.{module_name}"
    try:
        module = importlib.import_module(where)
    except ImportError as exc:
        miss = Missing(spec, f"{where} cannot be imported ({exc})")
        return miss, miss.reason
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        miss = Missing(spec, f"{where}.{attr} does not exist yet")
        return miss, miss.reason
    wanted = [p.strip() for p in params.split(",") if p.strip()] if params else []
    lacking = _accepts(fn, wanted)
    if lacking:
        names = ", ".join(repr(p) for p in lacking)
        return fn, f"{where}.{attr} exists but does not take the keyword parameter(s) {names}"
    return fn, None


def resolve() -> tuple[dict[str, Any], dict[str, str | None]]:
    """Look up every ops-level function of :data:`TABLE`.

    Returns
    -------
    ops : dict
        ``"module.function"`` (without parameters) to the function, or to a :class:`Missing`
        when the function does not exist.
    status : dict
        Each NumPy name of the table to ``None`` when it resolves, else the reason it does not.

    Examples
    --------
    >>> ops, status = resolve()
    >>> ops["elementwise.sin"] is tg.ops.elementwise.sin
    True
    """
    ops: dict[str, Any] = {}
    status: dict[str, str | None] = {}
    for name, specs in TABLE.items():
        reasons = []
        for spec in specs:
            fn, reason = _lookup(spec)
            ops[spec.split("(")[0]] = fn
            if reason is not None:
                reasons.append(reason)
        status[name] = "; ".join(reasons) if reasons else None
    return ops, status


#: ``"module.function"`` -> the ops-level function (or a :class:`Missing`).
OPS: dict[str, Any]
#: NumPy name -> ``None`` when it resolves, else the reason.
STATUS: dict[str, str | None]
OPS, STATUS = resolve()
#: NumPy name -> the reason it does not resolve (only the names that do not).
UNRESOLVED: dict[str, str] = {k: v for k, v in STATUS.items() if v is not None}
