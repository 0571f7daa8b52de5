"""The Tensor facade: PyTorch's user-visible semantics over the tape.

A :class:`Tensor` wraps an array (``.data``). A tensor that requires grad carries a *slot*, the
name of its value on the tape; a non-leaf also points at the tape entry that produced it, and
``grad_fn`` is a view of that entry. The facade does no maths of its own: every operator binds
a primitive from :mod:`tapegrad.ops`.
"""

from __future__ import annotations

import sys as _sys
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import tape as _tape
from ._repr import format_dtype, tensor_repr
from .backend import as_device, cuda_device, device_of, is_float_dtype, namespace, normalize_device
from .backend import device as Device
from .tape import EXTRA, INS, LEAVES, OUTS, PARAMS, PRIM, SRCS, new_slot

__all__ = ["Tensor", "torch_type_name", "Node", "AccumulateGrad", "show_as"]

_state = _tape._state

_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
    "complex64": "ComplexFloatTensor",
    "complex128": "ComplexDoubleTensor",
}

NONLEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead."
)
LEAF_REQUIRES_GRAD_MESSAGE = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = "
    "var.detach()."
)
# PyTorch words this differently depending on how requires_grad is asked for.
FLOAT_ONLY_MESSAGE = "only Tensors of floating point dtype can require gradients"
FLOAT_COMPLEX_MESSAGE = "only Tensors of floating point and complex dtype can require gradients"
FACTORY_DTYPE_MESSAGE = "Only Tensors of floating point and complex dtype can require gradients"
INPLACE_LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."
BOOL_SUBTRACTION_MESSAGE = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
    "invert a mask, use the `~` or `logical_not()` operator instead."
)
TWO_BOOL_SUBTRACTION_MESSAGE = (
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
    "`logical_xor()` operator instead."
)


def torch_type_name(dtype: np.dtype) -> str:
    """PyTorch's legacy type name for a dtype, e.g. ``tapegrad.FloatTensor`` for float32."""
    return "tapegrad." + _TYPE_NAMES.get(np.dtype(dtype).name, "Tensor")


def wrap(data: Any, slot: int | None = None, entry: Any = None) -> Tensor:
    """A tensor over ``data`` (no copy): the constructor the hot path uses."""
    t = _object_new(Tensor)
    t.data = data
    t._slot = slot
    t._entry = entry
    t._version = None
    t._extra = None
    return t


_object_new = object.__new__


class Tensor:
    """A multi-dimensional array that can record its history on the tape.

    ``Tensor(*shape)`` makes an uninitialised float32 tensor of that shape; ``Tensor(data)``
    copies nested lists or arrays (as float32). Most code uses :func:`tapegrad.tensor`.

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # Few slots keep creation cheap: the version counter is made when first needed, and rare
    # state (gradient, view base, hooks) lives in ``_extra``.
    __slots__ = ("data", "_slot", "_entry", "_version", "_extra", "__weakref__")

    # NumPy hands mixed expressions (``array * tensor``) to the tensor's reflected operators.
    __array_priority__ = 1000
    # True on the batched values vmap passes through a function (tapegrad.batching).
    _batched = False

    def __init__(self, *args: Any) -> None:
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            arr = np.array(args[0].data if isinstance(args[0], Tensor) else args[0])
            data = arr.astype(np.float32) if arr.dtype != np.float32 else arr
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            data = np.empty(tuple(int(n) for n in shape), dtype=np.float32)
        self.data = data
        self._slot = None
        self._entry = None
        self._version = None
        self._extra = None

    @classmethod
    def _make(cls, data: Any, slot: int | None = None, entry: Any = None) -> Tensor:
        t = object.__new__(cls)
        t.data = data
        t._slot = slot
        t._entry = entry
        t._version = None
        t._extra = None
        return t

    def _counter(self) -> list[int]:  # noqa: D401
        """The version counter, shared with views; made on first use."""
        v = self._version
        if v is None:
            v = self._version = [0]
        return v

    def _bump(self) -> None:
        """Record an in-place change."""
        v = self._version
        if v is None:
            self._version = [1]
        else:
            v[0] += 1

    @property
    def _base(self) -> Tensor | None:
        extra = self._extra
        return extra.get("base") if extra else None

    @property
    def _grad(self) -> Tensor | None:
        extra = self._extra
        return extra.get("grad") if extra else None

    @_grad.setter
    def _grad(self, value: Tensor | None) -> None:
        extra = self._extra
        if extra is None:
            if value is None:
                return
            extra = self._extra = {}
        extra["grad"] = value

    @property
    def _version_value(self) -> int:
        v = self._version
        return 0 if v is None else v[0]

    # ------------------------------------------------------------------ autograd state

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded (contagious through operations)."""
        return self._slot is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self._set_requires_grad(flag, FLOAT_COMPLEX_MESSAGE)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; returns ``self``.

        >>> import tapegrad as tg
        >>> tg.ones(2).requires_grad_()
        tensor([1., 1.], requires_grad=True)
        """
        return self._set_requires_grad(requires_grad, FLOAT_ONLY_MESSAGE)

    def _set_requires_grad(self, requires_grad: bool, dtype_message: str) -> Tensor:
        flag = bool(requires_grad)
        if self._entry is not None:
            if flag:
                return self
            raise RuntimeError(LEAF_REQUIRES_GRAD_MESSAGE)
        if flag:
            if not is_float_dtype(self.data.dtype):
                raise RuntimeError(dtype_message)
            if self._slot is None:
                self._slot = new_slot()
        else:
            self._slot = None
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user and for tensors that do not require grad."""
        return self._entry is None

    @property
    def grad_fn(self) -> Node | None:
        """The backward node of the tape entry that produced this tensor (``None`` on leaves)."""
        if self._extra is not None and "replay" in self._extra:
            _tapegrad.primitive.refresh_view(self)  # a view whose storage changed in place
        e = self._entry
        if e is None:
            return None
        return Node.of(e, _output_index(e, self._slot))

    @property
    def grad(self) -> Tensor | None:
        """Accumulated gradient of a leaf (or of a non-leaf after :meth:`retain_grad`)."""
        extra = self._extra
        g = extra.get("grad") if extra else None
        if g is None and self._entry is not None and not self.retains_grad:
            warnings.warn(NONLEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {tuple(value.shape)} "
                    f"vs {tuple(self.shape)}"
                )
            if value.dtype != self.dtype:
                raise RuntimeError(
                    f"assigned grad has data of a different type: {format_dtype(value.dtype)} "
                    f"vs {format_dtype(self.dtype)}"
                )
        extra = self._extra
        if extra is not None:
            extra["grad"] = value
        elif value is not None:
            self._extra = {"grad": value}

    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf keeps its ``.grad`` (see :meth:`retain_grad`)."""
        return bool(self._extra and self._extra.get("retains_grad"))

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor during backward.

        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> y = x * 3
        >>> y.retain_grad()
        >>> y.sum().backward()
        >>> y.grad
        tensor([1., 1.])
        """
        if self._slot is None:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._entry is None:
            return
        if self._extra is None:
            self._extra = {}
        if self._extra.get("retains_grad"):
            return
        self._extra["retains_grad"] = True
        e = self._entry
        if e[EXTRA] is None:
            e[EXTRA] = {}
        e[EXTRA][("retain", _output_index(e, self._slot))] = weakref.ref(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``.remove()``.

        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> x.sum().backward()
        >>> x.grad
        tensor([10., 10.])
        """
        if self._slot is None:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._entry is None:
            if self._extra is None:
                self._extra = {}
            hooks = self._extra.setdefault("hooks", [])
        else:
            e = self._entry
            if e[EXTRA] is None:
                e[EXTRA] = {}
            hooks = e[EXTRA].setdefault(("hooks", _output_index(e, self._slot)), [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(tensor)`` on a leaf after its ``.grad`` has been accumulated."""
        if self._entry is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if self._extra is None:
            self._extra = {}
        hooks = self._extra.setdefault("post_hooks", [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and version counter), outside the graph.

        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> d = x.detach()
        >>> d.requires_grad
        False
        """
        t = Tensor._make(self.data)
        t._version = self._counter()
        return t

    def detach_(self) -> Tensor:
        """Detach this tensor from the graph in place; it becomes a leaf."""
        self._slot = None
        self._entry = None
        return self

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Sequence[Tensor] | Tensor | None = None,
    ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves behind it.

        ``gradient`` is required for non-scalar tensors: the vector ``v`` of the
        vector-Jacobian product. ``retain_graph`` defaults to ``create_graph``.

        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x ** 2).backward(tg.tensor([1.0, 0.0, 1.0]))
        >>> x.grad
        tensor([2., 0., 6.])
        """
        if gradient is None and not create_graph and inputs is None and self._slot is not None:
            _engine.backward_scalar(self, retain_graph)
        else:
            _engine.run_backward([self], [gradient], retain_graph, create_graph, inputs)

    # ------------------------------------------------------------------ array attributes

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape, a tuple of ints."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data (``tapegrad.float32`` is ``numpy.dtype('float32')``)."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def device(self) -> Device:
        """The :class:`~tapegrad.device` the data lives on: ``device(type='cpu')``, or
        ``device(type='cuda', index=N)`` for CuPy data on GPU ``N``."""
        return as_device(device_of(self.data))

    @property
    def is_cuda(self) -> bool:
        """Whether the data lives on a GPU."""
        return device_of(self.data) != "cpu"

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return self.data.shape
        return self.data.shape[dim]

    def dim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    nelement = numel

    def element_size(self) -> int:
        """Bytes per element."""
        return self.data.itemsize

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.data.size} elements cannot be converted to Scalar"
            )
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists of numbers."""
        return _host(self.data).tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array sharing memory (CPU tensors that do not require grad)."""
        if self._slot is not None and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if device_of(self.data) != "cpu":
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
            return _host(self.data)
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _numpy_dispatch().array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _numpy_dispatch().array_function(func, types, args, kwargs)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Any:
        return self.data.__dlpack_device__()

    # ------------------------------------------------------------------ conversion

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Convert to a device and/or dtype: ``t.to("cuda")``, ``t.to(tg.float64)``."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and not _is_dtype_name(a):
                device = a
            elif isinstance(a, (Device, int)) and not isinstance(a, bool):
                device = a
            elif hasattr(a, "type") and hasattr(a, "index"):
                device = str(a)
            else:
                dtype = a
        out = self
        target = None if device is None else normalize_device(device)
        if target is not None and target != device_of(self.data):
            from .ops.shape import to_device

            out = to_device(out, target)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            from .ops.shape import astype

            out = astype(out, np.dtype(dtype))
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        """This tensor on the CPU (itself when already there)."""
        return self.to("cpu")

    def cuda(self, device: int | str | Device | None = None) -> Tensor:
        """This tensor on a GPU: the current one, or ``device`` (an index, ``"cuda:N"`` or a
        :class:`~tapegrad.device`); itself when already there."""
        return self.to(cuda_device(device))

    def type(self, dtype: Any = None) -> Any:
        """The legacy type name, or a converted tensor when ``dtype`` is given."""
        if dtype is None:
            return torch_type_name(self.dtype)
        return self.to(dtype)

    def float(self) -> Tensor:
        """As float32."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """As float64."""
        return self.to(np.float64)

    def half(self) -> Tensor:
        """As float16."""
        return self.to(np.float16)

    def long(self) -> Tensor:
        """As int64."""
        return self.to(np.int64)

    def int(self) -> Tensor:
        """As int32."""
        return self.to(np.int32)

    def bool(self) -> Tensor:
        """As bool."""
        return self.to(np.bool_)

    def clone(self) -> Tensor:
        """A copy that stays in the graph (``CloneBackward0``)."""
        from .ops.shape import clone

        return clone(self)

    def contiguous(self) -> Tensor:
        """This tensor (NumPy-backed data needs no layout change for the ops here)."""
        return self

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        name = None
        if self._entry is not None:
            name = _tape.grad_fn_name(self._entry)
        return tensor_repr(
            _host(self.data),
            requires_grad=self._slot is not None and self._entry is None,
            grad_fn_name=name,
            device=device_of(self.data),
        )

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.data.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.data.reshape(()).item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    # ------------------------------------------------------------------ in place

    def _check_inplace(self) -> None:
        _inplace.check_inplace(self)

    def _inplace(self, op: Callable[..., Any], *others: Any) -> Tensor:
        return _inplace.apply_inplace(self, op, *others)

    def _arith_(self, name: str, other: Any) -> Tensor:
        """In-place arithmetic: a direct ufunc call when nothing needs recording."""
        if not _state.tape.grad_enabled or not _needs_record(self, other):
            return _inplace.apply_inplace_fast(self, name, other)
        return _inplace.apply_inplace(self, getattr(_OPS, name), other)

    def zero_(self) -> Tensor:
        """Fill with zeros in place (``ZeroBackward0`` when recorded)."""
        from .ops.shape import fill

        # (PyTorch fills views whose elements share memory too: they all get the same value.)
        return _inplace.apply_inplace(
            self, lambda s: fill(s, 0, name="ZeroBackward0"), overlap_ok=True
        )

    def fill_(self, value: Any) -> Tensor:
        """Fill with ``value`` in place (``FillBackward2`` when recorded; ``FillBackward3`` for a
        0-d tensor ``value``)."""
        from .ops.shape import copy_from, fill

        if isinstance(value, Tensor):
            # A broadcasting copy of the 0-d ``value``, shown as PyTorch's ``FillBackward3``.
            return self._inplace(
                lambda s, v: show_as(copy_from(s, v), "FillBackward3", s, v), value
            )
        return _inplace.apply_inplace(
            self, lambda s: fill(s, value, name="FillBackward2"), overlap_ok=True
        )

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast, cast) into this tensor in place (``CopyBackwards``)."""
        from .ops.shape import copy_from

        return self._inplace(copy_from, src)

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """In-place ``self += alpha * other``."""
        return self._scaled_arith_("add", other, alpha)

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """In-place ``self -= alpha * other``."""
        check_subtraction(self, other)
        return self._scaled_arith_("subtract", other, alpha)

    def _scaled_arith_(self, name: str, other: Any, alpha: Any) -> Tensor:
        """``add_`` or ``sub_`` with ``alpha``. Recorded with a tensor ``other``, the value
        is that of ``tg.add`` (``tg.sub``), whose node leads to ``other`` itself, as PyTorch's
        does, not to the product by ``alpha``."""
        if alpha == 1 or not isinstance(other, Tensor):
            return self._arith_(name, other if alpha == 1 else other * alpha)
        if not _state.tape.grad_enabled or not _needs_record(self, other):
            return _inplace.apply_inplace_fast(self, name, other * alpha)
        op = getattr(_tapegrad, name)
        return _inplace.apply_inplace(self, lambda s, o: op(s, o, alpha=alpha), other)

    def mul_(self, other: Any) -> Tensor:
        """In-place ``self *= other``."""
        return self._arith_("multiply", other)

    def div_(self, other: Any) -> Tensor:
        """In-place ``self /= other``."""
        return self._arith_("true_divide", other)

    def pow_(self, other: Any) -> Tensor:
        """In-place ``self **= other``."""
        return self._inplace(_OPS.power, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """In-place clamp."""
        return self._inplace(lambda s: s.clamp(min, max))

    def __iadd__(self, other: Any) -> Tensor:
        return self if _plain_inplace(self, _np_add, other) else self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self if _plain_inplace(self, _np_subtract, other) else self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self if _plain_inplace(self, _np_multiply, other) else self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self if _plain_inplace(self, _np_true_divide, other) else self.div_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)

    def __setitem__(self, index: Any, value: Any) -> None:
        _inplace.setitem(self, index, value)


def _numpy_dispatch() -> Any:
    """The module behind the NumPy protocols (it builds on this one, so it is found when
    called; the module table is cheaper than an import statement on every ufunc)."""
    module = _sys.modules.get("tapegrad.numpy._dispatch")
    if module is None:
        from .numpy import _dispatch as module
    return module


def _plain_inplace(t: Tensor, ufunc: Any, other: Any) -> bool:
    """``t op= other`` as one NumPy call when nothing is recorded and nothing can go wrong
    that the general path reports: a non-boolean NumPy tensor that is not a view, and a
    Python number or such a tensor. (An optimiser's update under ``no_grad``.) Returns
    whether it did."""
    d = t.data
    if d.__class__ is not _NDARRAY or d.dtype is _BOOL or t._batched:
        return False
    extra = t._extra
    if extra is not None and "base" in extra:
        return False
    oc = other.__class__
    if oc is Tensor:
        o = other.data
        if o.__class__ is not _NDARRAY or o.dtype is _BOOL:
            return False
        if _state.tape.grad_enabled and (t._slot is not None or other._slot is not None):
            return False
    elif oc is float or oc is int:
        o = other
        if _state.tape.grad_enabled and t._slot is not None:
            return False
    else:
        return False
    try:
        ufunc(d, o, d)
    except (TypeError, ValueError):
        return False  # (raised before writing; the general path says why)
    v = t._version
    if v is None:
        t._version = [1]
    else:
        v[0] += 1
    return True


_NDARRAY = np.ndarray
_np_add, _np_subtract, _np_multiply, _np_true_divide = (
    np.add,
    np.subtract,
    np.multiply,
    np.true_divide,
)


def _needs_record(t: Tensor, other: Any) -> bool:
    if t._slot is not None or (isinstance(other, Tensor) and other._slot is not None):
        return True
    return _inplace.follows_base(t)


def dtype_title(dtype: Any) -> str:
    """PyTorch's short dtype name in messages: ``Float``, ``Long``, ..."""
    names = {
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
        "int64": "Long",
        "int32": "Int",
        "int16": "Short",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
        "complex64": "ComplexFloat",
        "complex128": "ComplexDouble",
    }
    return names.get(np.dtype(dtype).name, str(dtype))


def _is_dtype_name(text: str) -> bool:
    if text in ("cpu", "cuda") or text.startswith("cuda:"):
        return False
    try:
        np.dtype(text)
    except TypeError:
        return False
    return True


def _host(data: Any) -> np.ndarray:
    if type(data) is np.ndarray:
        return data
    get = getattr(data, "get", None)
    return get() if get is not None else np.asarray(data)


def _output_index(e: Any, slot: int | None) -> int:
    return 0 if e[OUTS] is None else e[OUTS].index(slot)


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# ---------------------------------------------------------------------- grad_fn views


#: Backward nodes whose ``name()`` PyTorch qualifies with its C++ namespace.
_CPP_NODES = frozenset({"CopySlices", "CopyBackwards"})


class Node:
    """A view of one tape entry, named as PyTorch names backward nodes (``AddBackward0``).

    Instances are of a subclass whose class name is that name, so ``type(t.grad_fn).__name__``
    and the repr match PyTorch's.
    """

    _classes: dict[str, type[Node]] = {}

    def __init__(self, entry: Any, index: int) -> None:
        self._entry = entry
        self._index = index

    @classmethod
    def of(cls, entry: Any, index: int) -> Node:
        """The (cached) node of output ``index`` of ``entry``."""
        if entry[EXTRA] is not None:
            ref = entry[EXTRA].get(("node", index))
            node = ref() if ref is not None else None
            if node is not None:
                return node
        name = _tape.grad_fn_name(entry)
        klass = cls._classes.get(name)
        if klass is None:
            klass = type(name, (Node,), {"__module__": "tapegrad.autograd"})
            cls._classes[name] = klass
        node = klass(entry, index)
        if entry[EXTRA] is None:
            entry[EXTRA] = {}
        entry[EXTRA][("node", index)] = weakref.ref(node)
        return node

    def name(self) -> str:
        """PyTorch's name of this node, e.g. ``"MulBackward0"``; PyTorch's nodes written in
        C++ (``CopySlices``, ``CopyBackwards``) give their qualified name, as there."""
        name = type(self).__name__
        return "torch::autograd::" + name if name in _CPP_NODES else name

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """One ``(node, output_index)`` pair per input; ``(None, 0)`` for constants."""
        return tuple(_input_pair(x) for x in entry_links(self._entry))

    @property
    def metadata(self) -> dict[str, Any]:
        """A dict for users' own annotations, kept as long as the node."""
        if not hasattr(self, "_metadata"):
            self._metadata: dict[str, Any] = {}
        return self._metadata

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"


def input_link(x: Any) -> Any:
    """What a composite's node keeps of one input to give its ``next_functions`` pair: the
    leaf itself (as PyTorch's ``AccumulateGrad`` does), or the entry and output that made
    it, never its data; ``None`` for an input that does not require grad."""
    if not isinstance(x, Tensor) or not x.requires_grad:
        return None
    if x._entry is None:
        return x
    return (x._entry, _output_index(x._entry, x._slot))


def entry_links(e: Any) -> tuple[Any, ...]:
    """The inputs that the node of entry ``e`` shows as its ``next_functions``, one link
    (see :func:`input_link`) each: those given to :func:`show_as`, or else the entry's
    inputs that PyTorch counts as graph inputs."""
    shown_as = e[EXTRA].get("composite") if e[EXTRA] is not None else None
    if shown_as is not None:
        return shown_as[1]
    links: list[Any] = []
    leaves = dict(e[LEAVES]) if e[LEAVES] is not None else {}
    shown = e[PRIM].graph_inputs
    if callable(shown):
        shown = shown(e[PARAMS])
    for i, (slot, src) in enumerate(zip(e[INS], e[SRCS])):
        if shown is not None and i not in shown:
            continue
        if slot is None:
            links.append(None)
        elif src is None:
            links.append(leaves.get(slot))
        else:
            links.append((src, _output_index(src, slot)))
    return tuple(links)


def _input_pair(link: Any) -> tuple[Any, int]:
    if link is None:
        return (None, 0)
    if isinstance(link, Tensor):
        return (AccumulateGrad.of(link), 0)
    entry, index = link
    return (Node.of(entry, index), index)


def show_as(out: Any, name: str, *inputs: Any) -> Any:
    """Present ``out``, the result of an operation tapegrad composes of several primitives,
    as PyTorch presents its one backward node: ``out.grad_fn`` is named ``name``, and its
    ``next_functions`` lead to ``inputs`` (PyTorch's differentiable arguments, in its order).

    Only the view changes: the tape keeps the primitives, and gradients flow through them. An
    ``out`` that is not a new result of the operation (an input handed back unchanged, a
    value that does not require grad, a value inside ``vmap``) is left alone.

    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = show_as(x * 2.0 + 1.0, "TwiceBackward0", x)
    >>> y.grad_fn.name(), y.grad_fn.next_functions[0][0].name()
    ('TwiceBackward0', 'torch::autograd::AccumulateGrad')
    """
    if out.__class__ is not Tensor:
        return out
    e = out._entry
    if e is None or any(x.__class__ is Tensor and x._entry is e for x in inputs):
        return out
    show_links(out, name, tuple(input_link(x) for x in inputs))
    return out


def show_links(out: Tensor, name: str, links: tuple[Any, ...]) -> None:
    """Like :func:`show_as`, with the ``next_functions`` given as links (what
    :func:`input_link` makes of an input, or what :func:`entry_links` gives of a node):
    for nodes that take over inputs of other nodes, as PyTorch's ``CopySlices`` does."""
    e = out._entry
    if e[EXTRA] is None:
        e[EXTRA] = {}
    e[EXTRA]["composite"] = (name, links)


class AccumulateGrad:
    """The node that accumulates a leaf's gradient into its ``.grad``."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    @classmethod
    def of(cls, leaf: Tensor) -> AccumulateGrad:
        """The leaf's node: the same object for as long as anyone holds it."""
        if leaf._extra is None:
            leaf._extra = {}
        ref = leaf._extra.get("accumulator")
        node = ref() if ref is not None else None
        if node is None:
            node = cls(leaf)
            leaf._extra["accumulator"] = weakref.ref(node)
        return node

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple[()]:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class _OpsNamespace:
    """Late-bound access to the elementwise ops (they import this module)."""

    def __getattr__(self, name: str) -> Any:
        from .ops import elementwise

        value = getattr(elementwise, name)
        setattr(self, name, value)
        return value


_OPS = _OpsNamespace()


# ---------------------------------------------------------------------- operators and methods
# Defined after the class so the ops modules (which import this one) can load first.

from collections import namedtuple  # noqa: E402

import tapegrad as _tapegrad  # noqa: E402  (for methods that are top-level functions)

from . import engine as _engine  # noqa: E402
from . import inplace as _inplace  # noqa: E402
from .ops import elementwise as _ew  # noqa: E402
from .ops import index as _ix  # noqa: E402
from .ops import linalg as _la  # noqa: E402
from .ops import reduce as _red  # noqa: E402
from .ops import shape as _shp  # noqa: E402
from .primitive import binary_op, bind1, bind2  # noqa: E402

_NO_DIM = object()
_BOOL = np.dtype(np.bool_)
_f64 = np.dtype(np.float64)
_f32 = np.dtype(np.float32)

MinMax = namedtuple("MinMax", ["values", "indices"])


def _binary(prim: Any) -> Callable[[Tensor, Any], Any]:
    return binary_op(prim, "op", None)


_subtract = _binary(_ew.SUBTRACT)


def _reflected(prim: Any) -> Callable[[Tensor, Any], Any]:
    def op(self: Tensor, other: Any) -> Any:
        return bind2(prim, other, self)

    return op


def _rtruediv(self: Tensor, other: Any) -> Any:
    # PyTorch computes ``c / x`` as ``reciprocal(x) * c`` (a MulBackward0 node).
    x = self if self.data.dtype.kind in "fc" else _shp.astype(self, _f32)
    return _ew.multiply(_ew.reciprocal(x), other)


def _is_boolean(v: Any) -> bool:
    """A boolean operand: a bool tensor or array, or a Python or NumPy bool."""
    if v.__class__ is Tensor:
        return v.data.dtype is _BOOL
    return v.__class__ is bool or getattr(v, "dtype", None) == _BOOL


def check_subtraction(a: Any, b: Any) -> None:
    """Raise PyTorch's error for ``a - b`` with a boolean operand."""
    if _is_boolean(a):
        raise RuntimeError(
            TWO_BOOL_SUBTRACTION_MESSAGE if _is_boolean(b) else BOOL_SUBTRACTION_MESSAGE
        )
    if _is_boolean(b):
        raise RuntimeError(BOOL_SUBTRACTION_MESSAGE)


def _sub(self: Tensor, other: Any) -> Any:
    oc = other.__class__
    if self.data.dtype is _BOOL or (oc is not float and oc is not int and _is_boolean(other)):
        check_subtraction(self, other)
    return _subtract(self, other)


def _rsub(self: Tensor, other: Any) -> Any:
    oc = other.__class__
    if self.data.dtype is _BOOL or (oc is not float and oc is not int and _is_boolean(other)):
        check_subtraction(other, self)
    return _ew.rsub(self, other)


def _dims(args: tuple[Any, ...]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(a) for a in args[0])
    return tuple(int(a) for a in args)


def _reduce_args(dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> tuple[Any, bool, bool]:
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    given = dim is not _NO_DIM
    return (None if dim is _NO_DIM else dim), bool(keepdim), given


def _sum(self, dim=_NO_DIM, keepdim=False, dtype=None, *, axis=None, keepdims=None):
    """Sum over ``dim`` (int or tuple; all when omitted); ``axis``/``keepdims`` also work."""
    if dim is _NO_DIM and axis is None and dtype is None and keepdims is None and not keepdim:
        d = self.data
        if self.__class__ is Tensor and d.dtype.kind in "fc":
            # ``x.sum()``, a loss's last step: straight to the primitive, as ``_red.sum`` would.
            p = {"axis": _ALL_AXES[d.ndim], "keepdims": False, "shape": d.shape}
            return bind1(_red.SUM, self, p)
    d, k, given = _reduce_args(dim, keepdim, axis, keepdims)
    x = self if dtype is None else _shp.astype(self, dtype)
    if x.data.dtype.kind in "biu" and dtype is None:
        x = _shp.astype(x, np.int64)
    return _red.sum(x, d, k, dim_given=given)


def _mean(self, dim=_NO_DIM, keepdim=False, dtype=None, *, axis=None, keepdims=None):
    """Mean over ``dim`` (all when omitted)."""
    d, k, given = _reduce_args(dim, keepdim, axis, keepdims)
    x = self if dtype is None else _shp.astype(self, dtype)
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dtype_title(x.data.dtype)}"
        )
    return _red.mean(x, d, k, dim_given=given)


def _extreme(reduce_fn: Callable[..., Any], arg_name: str, one_name: str, dim_name: str):
    def method(self, dim=_NO_DIM, keepdim=False, *, axis=None, keepdims=None):
        d, k, given = _reduce_args(dim, keepdim, axis, keepdims)
        if not given:
            return reduce_fn(self, None, False, name=one_name)
        if isinstance(d, Tensor):  # torch.maximum-style call: x.max(other)
            return (_ew.maximum if arg_name == "argmax" else _ew.minimum)(self, d)
        (ax,) = _red.normalize_axis(d, self.ndim)
        xp = namespace(self.data)
        idx = getattr(xp, arg_name)(self.data, axis=ax, keepdims=True)
        values = _take_along(self, idx, ax, k, dim_name)
        return MinMax(values, Tensor._make(idx if k else xp.squeeze(idx, axis=ax)))

    method.__doc__ = (
        f"Without ``dim``: the {'largest' if arg_name == 'argmax' else 'smallest'} element "
        "(ties share the gradient). With ``dim``: ``(values, indices)`` along it."
    )
    return method


def _take_along(x: Tensor, idx: Any, axis: int, keepdim: bool, name: str) -> Any:
    grids = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
    grids[axis] = idx
    index = tuple(grids)
    r = _ix.bind(
        _ix.GETITEM, (x,), {"index": index, "shape": x.shape, "basic": False, "name": name}
    )
    if not keepdim:
        r = _shp.reshape(r, r.shape[:axis] + r.shape[axis + 1 :], name=name)
    return show_as(r, name, x)


def _transpose_method(self, dim0, dim1):
    """Swap two dimensions."""
    nd = self.ndim
    axes = list(range(nd))
    d0 = np.lib.array_utils.normalize_axis_index(dim0, nd)
    d1 = np.lib.array_utils.normalize_axis_index(dim1, nd)
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return _shp.transpose(self, tuple(axes), name="TransposeBackward0")


def _t(self):
    """Transpose of a tensor with at most 2 dimensions."""
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return _shp.transpose(self, None, name="TBackward0")


def _permute(self, *dims):
    """Reorder the dimensions."""
    return _shp.transpose(self, _dims(dims), name="PermuteBackward0")


def _reshape(self, *shape):
    """A tensor with the same data and a new shape."""
    return _shp.reshape(self, _dims(shape))


def _expand(self, *sizes):
    """Broadcast to ``sizes`` (-1 keeps a dimension)."""
    sizes = _dims(sizes)
    lead = len(sizes) - self.ndim
    full = tuple((self.shape[i - lead] if n == -1 else n) for i, n in enumerate(sizes))
    return _shp.broadcast_to(self, full)


def _flatten(self, start_dim=0, end_dim=-1):
    """Flatten dimensions ``start_dim..end_dim`` into one."""
    if self.ndim == 0:
        return _shp.reshape(self, (1,))
    s = np.lib.array_utils.normalize_axis_index(start_dim, self.ndim)
    e = np.lib.array_utils.normalize_axis_index(end_dim, self.ndim)
    shape = self.shape[:s] + (int(np.prod(self.shape[s : e + 1])),) + self.shape[e + 1 :]
    return _shp.reshape(self, shape)


def _clamp(self, min=None, max=None):
    """Limit values to ``[min, max]`` (same as :func:`tapegrad.clamp`)."""
    from .functions import clamp

    return clamp(self, min, max)


def _argext(name: str):
    def method(self, dim=None, keepdim=False):
        xp = namespace(self.data)
        r = getattr(xp, name)(self.data, axis=dim, keepdims=keepdim if dim is not None else False)
        return Tensor._make(xp.asarray(r))

    method.__doc__ = f"Indices of the {'maxima' if name == 'argmax' else 'minima'} (no gradient)."
    return method


def _truth(name: str):
    def method(self, dim=None, keepdim=False):
        xp = namespace(self.data)
        r = getattr(xp, name)(self.data, axis=dim, keepdims=keepdim if dim is not None else False)
        return Tensor._make(xp.asarray(r))

    method.__doc__ = f"Whether {name} elements are true, over ``dim`` or overall (no gradient)."
    return method


def _softmax_method(self, dim):
    from .ops.nn import softmax

    return softmax(self, dim)


def _log_softmax_method(self, dim):
    from .ops.nn import log_softmax

    return log_softmax(self, dim)


def _logical(ufunc_name: str):
    def op(self, other):
        return _ew._compare(ufunc_name, self, other)

    return op


def _pow(self, other):
    if (other.__class__ is float or other.__class__ is int) and self.__class__ is Tensor:
        d = self.data
        if d.dtype.kind == "f":
            # ``x ** 2`` on floats keeps the dtype: no promotion to check, straight to the
            # primitive (``PowBackward0``).
            return bind2(_ew.POWER, self, other, _ew.POW_KINDS[0])
    return _ew.power(self, other)


def _getitem(self, index):
    if (index.__class__ is slice or index.__class__ is int) and self.__class__ is Tensor:
        # The most common indices, which need no normalising: straight to the primitive.
        p = {"index": index, "shape": self.data.shape, "basic": True}
        return bind1(_ix.GETITEM, self, p)
    return _ix.getitem(self, index)


#: ``axis`` of a reduction over all axes, by number of dimensions.
_ALL_AXES = tuple(tuple(range(n)) for n in range(65))


def _invert(self):
    xp = namespace(self.data)
    if self.data.dtype.kind == "b":
        return Tensor._make(xp.logical_not(self.data))
    return Tensor._make(xp.invert(self.data))


_methods: dict[str, Any] = {
    "__add__": _binary(_ew.ADD),
    "__radd__": _binary(_ew.ADD),
    "__sub__": _sub,
    "__rsub__": _rsub,
    "__mul__": _binary(_ew.MULTIPLY),
    "__rmul__": _binary(_ew.MULTIPLY),
    "__truediv__": _binary(_ew.TRUE_DIVIDE),
    "__rtruediv__": _rtruediv,
    "__floordiv__": _binary(_ew.FLOOR_DIVIDE),
    "__rfloordiv__": _reflected(_ew.FLOOR_DIVIDE),
    "__mod__": lambda self, other: _ew.remainder(self, other),
    "__rmod__": _reflected(_ew.REMAINDER),
    "__pow__": _pow,
    "__rpow__": lambda self, other: _ew.power(other, self),
    "__matmul__": _la.matmul,
    "__rmatmul__": lambda self, other: _la.matmul(other, self),
    "__neg__": _ew.negative,
    "__pos__": lambda self: self,
    "__abs__": _ew.abs,
    "__getitem__": _getitem,
    "__eq__": _logical("equal"),
    "__ne__": _logical("not_equal"),
    "__lt__": _logical("less"),
    "__le__": _logical("less_equal"),
    "__gt__": _logical("greater"),
    "__ge__": _logical("greater_equal"),
    "__and__": _logical("bitwise_and"),
    "__or__": _logical("bitwise_or"),
    "__xor__": _logical("bitwise_xor"),
    "__invert__": _invert,
    "mul": _binary(_ew.MULTIPLY),
    "div": _binary(_ew.TRUE_DIVIDE),
    "pow": lambda self, other: _ew.power(self, other),
    "remainder": lambda self, other: _ew.remainder(self, other),
    "matmul": _la.matmul,
    "mm": lambda self, other: _la.matmul(self, other),
    "dot": lambda self, other: _la.matmul(self, other),
    "neg": lambda self: _ew.negative(self),
    "exp": _ew.exp,
    "log": _ew.log,
    "log1p": _ew.log1p,
    "sin": _ew.sin,
    "cos": _ew.cos,
    "tanh": _ew.tanh,
    "sqrt": _ew.sqrt,
    "abs": _ew.abs,
    "sign": _ew.sign,
    "sigmoid": _ew.sigmoid,
    "relu": _ew.relu,
    "reciprocal": _ew.reciprocal,
    "square": _ew.square,
    "maximum": lambda self, other: _ew.maximum(self, other),
    "minimum": lambda self, other: _ew.minimum(self, other),
    "clamp": _clamp,
    "clip": _clamp,
    "sum": _sum,
    "mean": _mean,
    "max": _extreme(_red.amax, "argmax", "MaxBackward1", "MaxBackward0"),
    "min": _extreme(_red.amin, "argmin", "MinBackward1", "MinBackward0"),
    "amax": lambda self, dim=None, keepdim=False: _red.amax(
        self, None if dim == () else dim, keepdim
    ),
    "amin": lambda self, dim=None, keepdim=False: _red.amin(
        self, None if dim == () else dim, keepdim
    ),
    "logsumexp": lambda self, dim, keepdim=False: _red.logsumexp(self, dim, keepdim),
    "all": _truth("all"),
    "any": _truth("any"),
    "argmax": _argext("argmax"),
    "argmin": _argext("argmin"),
    "softmax": _softmax_method,
    "log_softmax": _log_softmax_method,
    "reshape": _reshape,
    "view": _reshape,
    "view_as": lambda self, other: _shp.reshape(self, other.shape),
    "reshape_as": lambda self, other: _shp.reshape(self, other.shape),
    "transpose": _transpose_method,
    "swapaxes": _transpose_method,
    "t": _t,
    "permute": _permute,
    "unsqueeze": lambda self, dim: _shp.expand_dims(self, dim),
    "squeeze": lambda self, dim=None: _shp.squeeze(self, dim),
    "expand": _expand,
    "expand_as": lambda self, other: _shp.broadcast_to(self, other.shape),
    "flatten": _flatten,
}


def _top_level(name: str) -> Callable[..., Any]:
    """The method ``x.name(...)``: the top-level function ``tapegrad.name(x, ...)``, which
    follows PyTorch's signature (looked up on first call: that module imports this one)."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(_tapegrad, name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def _dims_method(name: str) -> Callable[..., Any]:
    """A method taking its dimensions as one sequence or as several ints (``x.flip(0, 1)``)."""

    def method(self: Tensor, *dims: Any) -> Any:
        return getattr(_tapegrad, name)(self, _dims(dims))

    method.__name__ = method.__qualname__ = name
    return method


def _repeat(self: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes`` times along each dimension (PyTorch's ``repeat``)."""
    reps = _dims(sizes)
    if len(reps) < self.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    return _tapegrad.tile(self, reps)


def _where(self: Tensor, condition: Any, other: Any) -> Any:
    """``tapegrad.where(condition, self, other)``."""
    return _tapegrad.where(condition, self, other)


def _new_full(
    self: Tensor,
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A new tensor of ``size`` filled with ``fill_value``, of this tensor's dtype and device
    unless given others."""
    return _tapegrad.full(
        _dims((size,)),
        fill_value,
        dtype=self.dtype if dtype is None else dtype,
        device=self.device if device is None else device,
        requires_grad=requires_grad,
    )


def _new_filled(fill: Any) -> Callable[..., Tensor]:
    """``x.new_zeros(*size)`` and its kind: :func:`_new_full` with ``fill``."""

    def method(self: Tensor, *size: Any, **kwargs: Any) -> Tensor:
        return _new_full(self, _dims(size), fill, **kwargs)

    method.__doc__ = f"A new tensor of ``size`` filled with {fill}, of this tensor's dtype."
    return method


def _new_tensor(
    self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """``tapegrad.tensor(data)`` of ``x``'s dtype and device unless given others."""
    return _tapegrad.tensor(
        data,
        dtype=self.dtype if dtype is None else dtype,
        device=self.device if device is None else device,
        requires_grad=requires_grad,
    )


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    """This tensor in ``other``'s dtype."""
    return self.to(other.dtype)


def _unary_inplace(op_name: str) -> Callable[..., Any]:
    def method(self: Tensor) -> Tensor:
        return self._inplace(getattr(_OPS, op_name))

    method.__name__ = method.__qualname__ = op_name + "_"
    method.__doc__ = f"In-place ``{op_name}``: this tensor overwritten by ``tg.{op_name}(self)``."
    return method


def _narrow(self: Tensor, dim: int, start: int, length: int) -> Any:
    """The slice ``start:start + length`` along ``dim`` (a view)."""
    dim = _red.normalize_axis(dim, self.ndim)[0]
    return self[(slice(None),) * dim + (slice(start, start + length),)]


def _select(self: Tensor, dim: int, index: int) -> Any:
    """The sub-tensor at ``index`` along ``dim``, without that dimension (a view)."""
    dim = _red.normalize_axis(dim, self.ndim)[0]
    return self[(slice(None),) * dim + (index,)]


def _index_select(self: Tensor, dim: int, index: Any) -> Any:
    """The entries at the integer ``index`` (1-D) along ``dim``."""
    dim = _red.normalize_axis(dim, self.ndim)[0]
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    return _ix.getitem(self, (slice(None),) * dim + (idx,), name="IndexSelectBackward0")


def _round(self: Tensor, *, decimals: int = 0) -> Any:
    """Round half to even, to ``decimals`` places (zero gradient)."""
    return _tapegrad.numpy.round(self, decimals)


def _masked_fill(self: Tensor, mask: Any, value: Any) -> Any:
    """``value`` where the boolean ``mask`` (broadcast to this shape) holds, else this."""
    out = _tapegrad.where(mask, value, self)
    if isinstance(value, Tensor):  # PyTorch's overload with a 0-d tensor value
        return show_as(out, "MaskedFillBackward1", self, value)
    return show_as(out, "MaskedFillBackward0", self)


def _pinverse(self: Tensor, rcond: float = 1e-15) -> Any:
    """The pseudo-inverse (singular values below ``rcond`` times the largest are dropped)."""
    return _la.pinv(self, rcond=rcond)


# PyTorch's methods that are its top-level functions applied to the tensor.
for _name in (
    "add sub subtract multiply divide true_divide negative exp2 expm1 log2 log10 tan arcsin "
    "arccos arctan arctan2 sinh cosh arcsinh arccosh arctanh hypot logaddexp sinc prod var std "
    "norm cumsum cumprod moveaxis movedim ravel broadcast_to roll tril triu diagonal trace "
    "take take_along_dim gather inner outer kron inverse det slogdet split chunk floor bmm mv "
    "diag unbind swapdims sort topk addmm addcmul addcdiv lerp argsort isnan isinf isfinite "
    "signbit nonzero argwhere count_nonzero allclose equal diff fliplr flipud rot90 cummax "
    "cummin logcumsumexp aminmax nansum nanmean median kthvalue frac fmod xlogy logit deg2rad "
    "rad2deg heaviside float_power nan_to_num masked_select index_add scatter scatter_add "
    "scatter_reduce index_fill unflatten msort addmv addr baddbmm addbmm eq ne lt le gt ge "
    "not_equal less less_equal greater greater_equal logical_and logical_or logical_xor "
    "logical_not isclose is_floating_point is_complex absolute acos erf erfc erfinv "
    "floor_divide ger repeat_interleave"
).split():
    _methods.setdefault(_name, _top_level(_name))
_methods.update(
    flip=_dims_method("flip"),
    tile=_dims_method("tile"),
    repeat=_repeat,
    where=_where,
    pinverse=_pinverse,
    type_as=_type_as,
    new_zeros=_new_filled(0),
    new_ones=_new_filled(1),
    new_empty=_new_filled(0),
    new_full=_new_full,
    new_tensor=_new_tensor,
    narrow=_narrow,
    select=_select,
    index_select=_index_select,
    round=_round,
    ceil=lambda self: _tapegrad.numpy.ceil(self),
    trunc=lambda self: _tapegrad.numpy.trunc(self),
    rsqrt=lambda self: _ew.reciprocal(_ew.sqrt(self)),
    masked_fill=_masked_fill,
    masked_fill_=lambda self, mask, value: self._inplace(lambda s: _masked_fill(s, mask, value)),
)
# In-place forms of elementwise functions (``x.exp_()``), recorded as the function itself.
for _name, _op in (
    ("abs_", "abs"),
    ("neg_", "negative"),
    ("negative_", "negative"),
    ("exp_", "exp"),
    ("log_", "log"),
    ("sqrt_", "sqrt"),
    ("square_", "square"),
    ("reciprocal_", "reciprocal"),
    ("sigmoid_", "sigmoid"),
    ("tanh_", "tanh"),
    ("sin_", "sin"),
    ("cos_", "cos"),
    ("relu_", "relu"),
):
    _methods.setdefault(_name, _unary_inplace(_op))

for _name, _fn in _methods.items():
    if _fn.__doc__ is None and not _name.startswith("__"):
        _fn.__doc__ = f"Same as ``tapegrad.{_name}(self, ...)``."
    setattr(Tensor, _name, _fn)

Tensor.T = property(
    lambda self: _shp.transpose(self, None, name="PermuteBackward0"),
    doc="The tensor with its dimensions reversed.",
)
Tensor.mT = property(lambda self: _la.swap_last(self), doc="Transpose of the last two dimensions.")
Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise
