"""NumPy's protocols on tensors: ``__array_ufunc__`` and ``__array_function__``.

With them, NumPy's own functions take tensors and give tensors recorded on the tape:
``np.sin(t)``, ``np.add(a, t)``, ``np.sum(t, axis=0)``, ``np.concatenate([t, a])``,
``np.linalg.inv(t)``. Each NumPy function or ufunc is looked up in a table built from
``tapegrad.numpy``: NumPy's ``numpy.<name>`` goes to ``tapegrad.numpy.<name>``.

- Ufunc methods: ``np.add.reduce`` is ``sum`` (``multiply`` → ``prod``, ``maximum`` →
  ``max``, ``minimum`` → ``min``, ``logaddexp`` → ``logsumexp``, ``logical_and``/``or`` →
  ``all``/``any``), ``accumulate`` of ``add``/``multiply`` is ``cumsum``/``cumprod``, and
  ``outer`` works for every binary ufunc; anything else raises ``TypeError`` naming it.
- A NumPy function without a rule raises ``TypeError`` naming it: the graph is never dropped
  silently by converting a tensor to an array.
- ``out=`` raises ``TypeError``: tapegrad does not write into out arrays (so
  ``ndarray += tensor`` raises too; write ``a = a + t``).
- ``ndarray <op> tensor`` reaches NumPy's ufunc first; it is handed to the tensor's reflected
  operator, so ``a - t`` records the same node (``RsubBackward1``) as ``t.__rsub__(a)``.

``np.asarray(t)`` does not go through these protocols: it calls ``Tensor.__array__``, which
raises for a tensor that requires grad, as ``t.numpy()`` does.

>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> y = np.sum(np.sin(x) * np.array([2.0, 3.0]))
>>> y.backward()
>>> x.grad
tensor([ 1.0806, -1.2484])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import numpy as tnp
from ..tensor import Tensor
from ._common import NoValue, get
from ._names import UNRESOLVED

__all__ = ["UFUNCS", "FUNCTIONS", "array_ufunc", "array_function", "rule_for"]


def _build_ufuncs() -> dict[np.ufunc, Callable[..., Any]]:
    table: dict[np.ufunc, Callable[..., Any]] = {}
    for name in tnp.__all__:
        obj = getattr(np, name, None)
        if isinstance(obj, np.ufunc):
            table[obj] = getattr(tnp, name)
    return table


def _is_dispatched(obj: Any) -> bool:
    return callable(obj) and hasattr(obj, "_implementation") and not isinstance(obj, np.ufunc)


def _build_functions() -> dict[Any, Callable[..., Any]]:
    table: dict[Any, Callable[..., Any]] = {}
    for module, target in ((np, tnp), (np.linalg, tnp.linalg)):
        for name in target.__all__:
            obj = getattr(module, name, None)
            mine = getattr(target, name, None)
            if _is_dispatched(obj) and mine is not None and mine is not obj:
                table[obj] = mine
    return table


#: NumPy ufunc -> the ``tapegrad.numpy`` function its ``__call__`` goes to.
UFUNCS: dict[np.ufunc, Callable[..., Any]] = _build_ufuncs()
#: NumPy function (``np.sum``, ``np.linalg.inv``...) -> the ``tapegrad.numpy`` function.
FUNCTIONS: dict[Any, Callable[..., Any]] = _build_functions()

# ``ndarray <op> tensor``: the tensor's reflected operator, as when NumPy defers.
_REFLECTED: dict[np.ufunc, str] = {
    np.add: "__radd__",
    np.subtract: "__rsub__",
    np.multiply: "__rmul__",
    np.true_divide: "__rtruediv__",
    np.floor_divide: "__rfloordiv__",
    np.remainder: "__rmod__",
    np.power: "__rpow__",
    np.matmul: "__rmatmul__",
}
# Keyword arguments of a ufunc call that are accepted only at their defaults.
_DEFAULTS: dict[str, Any] = {
    "where": True,
    "casting": "same_kind",
    "order": "K",
    "subok": True,
    "signature": None,
}


def _qualname(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    if isinstance(func, np.ufunc):
        module = "numpy"
    return f"{module}.{getattr(func, '__name__', repr(func))}"


def _no_rule(func: Any, what: str | None = None) -> TypeError:
    name = what or _qualname(func)
    short = name.removeprefix("numpy.")
    reason = UNRESOLVED.get(short)
    if reason is not None:
        return TypeError(f"{name} is not available on tapegrad tensors yet: {reason}")
    return TypeError(
        f"{name} has no tapegrad rule, so it does not take tensors (converting the tensor to "
        "an array would drop it from the graph). Use a tapegrad.numpy function, or call it on "
        "t.detach().numpy() for values only."
    )


def _check_out(kwargs: dict[str, Any], name: str) -> None:
    out = kwargs.pop("out", None)
    if out is None or (isinstance(out, tuple) and all(o is None for o in out)):
        return
    raise TypeError(
        f"{name}: out= is not supported with tensors: tapegrad does not write into out arrays "
        "(for `array += tensor` write `array = array + tensor`)"
    )


def _check_defaults(kwargs: dict[str, Any], name: str) -> None:
    for key, default in _DEFAULTS.items():
        if key in kwargs:
            value = kwargs.pop(key)
            same = value is default if isinstance(default, bool) else value == default
            if not same:
                raise TypeError(f"{name}: {key}={value!r} is not supported with tensors")


def rule_for(func: Any) -> Callable[..., Any] | None:
    """The ``tapegrad.numpy`` function a NumPy function or ufunc goes to (``None``: none).

    >>> rule_for(np.sum) is tnp.sum, rule_for(np.sin) is tnp.sin
    (True, True)
    """
    if isinstance(func, np.ufunc):
        return UFUNCS.get(func)
    return FUNCTIONS.get(func)


# --------------------------------------------------------------------------------- ufuncs


def _reduce(ufunc: np.ufunc, x: Any, kwargs: dict[str, Any], name: str) -> Any:
    axis = kwargs.pop("axis", 0)
    dtype = kwargs.pop("dtype", None)
    keepdims = kwargs.pop("keepdims", False)
    initial = kwargs.pop("initial", NoValue)
    where = kwargs.pop("where", True)
    if kwargs:
        raise TypeError(f"{name}: unsupported keyword arguments {sorted(kwargs)}")
    if ufunc is np.add:
        return tnp.sum(x, axis, dtype, None, keepdims, initial, where)
    if ufunc is np.multiply:
        return tnp.prod(x, axis, dtype, None, keepdims, initial, where)
    if ufunc in (np.maximum, np.minimum, np.logaddexp, np.logical_and, np.logical_or):
        if dtype is not None:
            x = tnp.astype(x, dtype)
        if ufunc is np.maximum:
            return tnp.max(x, axis, None, keepdims, initial, where)
        if ufunc is np.minimum:
            return tnp.min(x, axis, None, keepdims, initial, where)
        if initial is not NoValue or where is not True:
            raise TypeError(f"{name}: initial= and where= are not supported with tensors")
        if ufunc is np.logaddexp:
            return get("reduce.logsumexp")(x, axis, keepdims)
        if ufunc is np.logical_and:
            return tnp.all(x, axis, None, keepdims)
        return tnp.any(x, axis, None, keepdims)
    raise _no_rule(ufunc, name)


def _accumulate(ufunc: np.ufunc, x: Any, kwargs: dict[str, Any], name: str) -> Any:
    axis = kwargs.pop("axis", 0)
    dtype = kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"{name}: unsupported keyword arguments {sorted(kwargs)}")
    if ufunc is np.add:
        return tnp.cumsum(x, axis, dtype)
    if ufunc is np.multiply:
        return tnp.cumprod(x, axis, dtype)
    raise _no_rule(ufunc, name)


def _outer(ufunc: np.ufunc, a: Any, b: Any, kwargs: dict[str, Any], name: str) -> Any:
    fn = UFUNCS.get(ufunc)
    if fn is None or ufunc.nin != 2 or ufunc.signature is not None:
        raise _no_rule(ufunc, name)
    a = tnp.asarray(a)
    b = tnp.asarray(b)
    a = tnp.reshape(a, tuple(a.shape) + (1,) * len(b.shape))
    return fn(a, b, **kwargs)


def array_ufunc(
    ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``Tensor.__array_ufunc__``: NumPy's ``ufunc.method(*inputs, **kwargs)`` on tensors.

    >>> np.add.reduce(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([4., 6.])
    """
    if method == "__call__" and not kwargs:
        # The common case (``w @ x``, ``np.sin(x)``): nothing to check.
        fn = UFUNCS.get(ufunc)
        if fn is not None:
            if (
                len(inputs) == 2
                and isinstance(inputs[1], Tensor)
                and not isinstance(inputs[0], Tensor)
            ):
                reflected = _REFLECTED.get(ufunc)
                if reflected is not None:
                    return getattr(inputs[1], reflected)(inputs[0])
            return fn(*inputs)
    name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    _check_out(kwargs, name)
    if method == "__call__":
        fn = UFUNCS.get(ufunc)
        if fn is None:
            raise _no_rule(ufunc, name)
        _check_defaults(kwargs, name)
        if (
            not kwargs
            and len(inputs) == 2
            and isinstance(inputs[1], Tensor)
            and not isinstance(inputs[0], Tensor)
        ):
            reflected = _REFLECTED.get(ufunc)
            if reflected is not None:
                return getattr(inputs[1], reflected)(inputs[0])
        return fn(*inputs, **kwargs)
    if method == "reduce":
        return _reduce(ufunc, inputs[0], kwargs, name)
    if method == "accumulate":
        return _accumulate(ufunc, inputs[0], kwargs, name)
    if method == "outer":
        _check_defaults(kwargs, name)
        return _outer(ufunc, inputs[0], inputs[1], kwargs, name)
    if method == "at":
        raise TypeError(f"{name} is not supported with tensors: it writes in place")
    raise TypeError(f"{name} is not supported with tensors")


# ------------------------------------------------------------------------------ functions


def _foreign(types: tuple[type, ...]) -> bool:
    for t in types:
        if issubclass(t, (Tensor, np.ndarray)) or t.__module__.split(".")[0] == "cupy":
            continue
        return True
    return False


def array_function(
    func: Any, types: tuple[type, ...], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``Tensor.__array_function__``: NumPy's ``func(*args, **kwargs)`` with tensors among
    the arguments.

    >>> np.concatenate([tg.tensor([1.0]), np.array([2.0], dtype=np.float32)])
    tensor([1., 2.])
    """
    if _foreign(types):
        return NotImplemented
    impl = FUNCTIONS.get(func)
    if impl is None:
        raise _no_rule(func)
    return impl(*args, **kwargs)
