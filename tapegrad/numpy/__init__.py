"""``tapegrad.numpy``: NumPy's names and signatures, differentiable.

``import tapegrad.numpy as tnp`` and write NumPy code: ``tnp.sum(x, axis=0, keepdims=True)``,
``tnp.var(x, ddof=1)``, ``tnp.linalg.solve(a, b)``. Every function returns a plain array for
plain arrays (outside any transform, nothing is recorded) and a tensor, recorded on the tape,
when an input is a tensor — so the same code runs eagerly on arrays, on tensors in the
PyTorch-style facade, and inside ``tg.grad``/``tg.vmap``/... where inputs are tensors.

What differs from NumPy:

- ``out=`` must be ``None``: tapegrad does not write into out arrays (``TypeError``);
- full reductions of arrays return 0-d arrays rather than NumPy scalars;
- ``asarray(t)`` returns the tensor ``t`` itself, ``array([t1, t2])`` stacks them (recorded),
  and ``zeros_like(t)`` gives a tensor;
- functions whose result does not depend differentiably on the input (``argmax``,
  ``argsort``, ``nonzero``, comparisons, ``isnan``...) return values only, never recorded.

Errors are NumPy's: ``ValueError`` naming both shapes on a mismatch, ``IndexError`` (NumPy's
``AxisError``, which is also a ``ValueError``) out of range, ``numpy.linalg.LinAlgError``.

Which NumPy names exist depends on the ops-level functions of ``tapegrad.ops``: the name
table (:data:`TABLE`) maps each differentiable NumPy name to the functions it is built on
and is resolved when this module is imported. A name whose functions are missing is not
defined; ``tnp.<name>`` then raises ``AttributeError`` saying what is missing, and
:data:`UNRESOLVED` lists them all.

``tnp.random`` is NumPy's random module (values only). There is no ``tnp.fft``: FFTs have no
tapegrad primitive yet.

>>> import tapegrad.numpy as tnp
>>> tnp.mean(np.array([1.0, 2.0, 6.0]))
array(3.)
>>> tg.grad(lambda x: tnp.sum(tnp.sin(x) ** 2))(np.array([0.0, np.pi / 4]))
array([0., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import (  # noqa: F401 - NumPy's dtypes and dtype functions, re-exported
    bool_,
    can_cast,
    complex64,
    complex128,
    complexfloating,
    double,
    dtype,
    e,
    euler_gamma,
    finfo,
    float16,
    float32,
    float64,
    floating,
    generic,
    half,
    iinfo,
    inexact,
    inf,
    int8,
    int16,
    int32,
    int64,
    integer,
    intp,
    isdtype,
    issubdtype,
    nan,
    ndarray,
    newaxis,
    number,
    pi,
    promote_types,
    result_type,
    signedinteger,
    single,
    uint8,
    uint16,
    uint32,
    uint64,
    unsignedinteger,
)

from . import _creation, _functions, _ufuncs
from ._creation import *  # noqa: F403
from ._functions import *  # noqa: F403
from ._names import STATUS, TABLE, UNRESOLVED  # noqa: F401 - public
from ._ufuncs import *  # noqa: F403

bool = _np.bool  # noqa: A001 - NumPy 2's name for bool_
broadcast_shapes = _np.broadcast_shapes

_DTYPES = [
    "bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "intp", "float16", "float32", "float64", "half", "single", "double", "complex64",
    "complex128", "dtype", "finfo", "iinfo", "result_type", "promote_types", "can_cast",
    "issubdtype", "isdtype", "number", "integer", "signedinteger", "unsignedinteger",
    "inexact", "floating", "complexfloating", "generic", "ndarray", "broadcast_shapes",
]  # fmt: skip
_CONSTANTS = ["pi", "e", "inf", "nan", "newaxis", "euler_gamma"]

# Names of the table whose ops-level functions are missing are taken out of the namespace.
for _name in UNRESOLVED:
    if "." not in _name:
        globals().pop(_name, None)

from . import linalg, random  # noqa: E402, F401 - public submodules

__all__ = sorted(
    {n for n in (*_ufuncs.__all__, *_functions.__all__, *_creation.__all__) if n not in UNRESOLVED}
    | set(_DTYPES)
    | set(_CONSTANTS)
    | {"linalg", "random", "TABLE", "STATUS", "UNRESOLVED"}
)


def resolved_names() -> list[str]:
    """The NumPy names of the name table that resolve (``"linalg.inv"`` for ``linalg``).

    Examples
    --------
    >>> "sum" in tnp.resolved_names()
    True
    """
    return sorted(n for n, reason in STATUS.items() if reason is None)


def __getattr__(name: str) -> Any:
    reason = UNRESOLVED.get(name)
    if reason is not None:
        raise AttributeError(f"module 'tapegrad.numpy' has no attribute {name!r} yet: {reason}")
    if name == "fft":
        raise AttributeError(
            "module 'tapegrad.numpy' has no attribute 'fft': FFTs have no tapegrad primitive "
            "yet; use numpy.fft on arrays (values only)"
        )
    raise AttributeError(f"module 'tapegrad.numpy' has no attribute {name!r}")
