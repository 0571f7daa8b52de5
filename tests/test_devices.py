"""Devices: ``tg.device`` objects, ``tg.cuda``, moves between devices, creation on a device,
and the transforms and ``check_grads`` on device arrays (the ``strict`` stand-in of
``devices.py`` where no GPU is usable).

Where PyTorch defines the same thing (device objects, their text, equality and errors), the
tests compare with it (``torch`` marker; skipped without torch).
"""

from __future__ import annotations

import copy
import doctest
import pickle
import re
from typing import Any

import numpy as np
import pytest
from devices import CPU, CUDA, KINDS, STRICT_KIND, DeviceKind, StrictArray, device_params

import tapegrad as tg
import tapegrad.backend
import tapegrad.cuda
from tapegrad import transforms
from tapegrad.backend import normalize_device, to_host
from tapegrad.ops import elementwise as ew
from tapegrad.ops import reduce as rd

F64 = np.dtype(np.float64)
NO_GPU = pytest.mark.skipif(tg.cuda.is_available(), reason="a GPU is usable here")
NO_CUPY_MESSAGE = "device 'cuda:0' requested, but CuPy with a usable GPU is not available"


@pytest.fixture
def torch() -> Any:
    return pytest.importorskip("torch")


# ------------------------------------------------------------------------------ device objects

VALID = [
    ("cpu",),
    ("cuda",),
    ("cuda:0",),
    ("cuda:1",),
    ("cuda:12",),
    ("cpu:0",),
    ("cuda", 0),
    ("cuda", 1),
    ("cpu", 0),
    ("cuda", None),
]


@pytest.mark.parametrize("args", VALID, ids=repr)
def test_device_text_and_attributes(args: tuple[Any, ...]) -> None:
    d = tg.device(*args)
    kind = args[0].split(":")[0]
    index = int(args[0].split(":")[1]) if ":" in args[0] else (args[1] if len(args) > 1 else None)
    assert (d.type, d.index) == (kind, index)
    assert str(d) == (kind if index is None else f"{kind}:{index}")
    if index is None:
        assert repr(d) == f"device(type='{kind}')"
    else:
        assert repr(d) == f"device(type='{kind}', index={index})"
    assert tg.device(d) == d and tg.device(str(d)) == d
    assert tg.device(type=kind, index=index) == d


@pytest.mark.torch
@pytest.mark.parametrize("args", VALID, ids=repr)
def test_device_text_and_attributes_match_torch(torch: Any, args: tuple[Any, ...]) -> None:
    ours, theirs = tg.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


def test_device_equality_and_hashing() -> None:
    assert tg.device("cuda:1") == tg.device("cuda", 1)
    assert hash(tg.device("cuda:1")) == hash(tg.device("cuda", 1))
    # As in PyTorch: a device without an index is not the device with index 0.
    assert tg.device("cuda") != tg.device("cuda:0")
    assert tg.device("cpu") != tg.device("cpu:0")
    assert tg.device("cpu") != tg.device("cuda")
    # Never equal to text: compare devices, or ``.type``.
    assert tg.device("cpu") != "cpu" and "cpu" != tg.device("cpu")
    assert tg.device("cuda:1") != "cuda:1" and tg.device("cuda") != 0
    assert len({tg.device("cpu"), tg.device("cpu"), tg.device("cuda:0"), tg.device("cuda")}) == 3
    assert {tg.device("cuda", 0): "gpu"}[tg.device("cuda:0")] == "gpu"


@pytest.mark.torch
def test_device_equality_matches_torch(torch: Any) -> None:
    specs = ["cpu", "cpu:0", "cpu:1", "cuda", "cuda:0", "cuda:1"]
    for a in specs:
        assert (tg.device(a) == a) == (torch.device(a) == a), a
        for b in specs:
            assert (tg.device(a) == tg.device(b)) == (torch.device(a) == torch.device(b)), (a, b)
            assert (tg.device(a) != tg.device(b)) == (torch.device(a) != torch.device(b)), (a, b)


def test_device_is_immutable_and_pickles() -> None:
    d = tg.device("cuda", 2)
    with pytest.raises(AttributeError):
        d.index = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        d.type = "cpu"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(d)) == d
    assert copy.deepcopy(d) == d and copy.copy(d) == d
    assert pickle.loads(pickle.dumps(tg.device("cpu"))) == tg.device("cpu")


BAD_STRINGS = [
    "gpu",
    "tpu",
    "CUDA",
    "cuda_x",
    "gpu:0",
    "",
    "cuda:x",
    "cuda:-1",
    "cuda:01",
    "cuda:",
    "cuda:1:2",
    " cuda",
    "cuda: 1",
    "cu da",
    "cuda0",
    ":0",
    "9",
]


@pytest.mark.parametrize("text", BAD_STRINGS, ids=repr)
def test_bad_device_strings_raise_runtime_errors(text: str) -> None:
    with pytest.raises(RuntimeError):
        tg.device(text)
    with pytest.raises(RuntimeError):
        tg.zeros(2, device=text)
    with pytest.raises(RuntimeError):
        tg.ones(2).to(text) if text else tg.ones(2).to(device=text)


def _types_list(message: str) -> str:
    """PyTorch lists all its device types; tapegrad has two. The rest of the text agrees."""
    return re.sub(r"Expected one of .* device type", "Expected one of <types> device type", message)


@pytest.mark.torch
@pytest.mark.parametrize("text", BAD_STRINGS, ids=repr)
def test_bad_device_strings_match_torch(torch: Any, text: str) -> None:
    with pytest.raises(RuntimeError) as theirs:
        torch.device(text)
    with pytest.raises(RuntimeError) as ours:
        tg.device(text)
    assert _types_list(str(ours.value)) == _types_list(str(theirs.value))


def test_bad_device_messages() -> None:
    with pytest.raises(
        RuntimeError, match="^Expected one of cpu, cuda device type at start of device string: tpu$"
    ):
        tg.device("tpu")
    with pytest.raises(RuntimeError, match=r"^Invalid device string: 'cuda:x'$"):
        tg.device("cuda:x")
    with pytest.raises(RuntimeError, match="^Device string must not be empty$"):
        tg.device("")


BAD_ARGUMENTS = [
    (("cuda", -1), RuntimeError),
    ((-1,), RuntimeError),
    (("cuda:1", 2), RuntimeError),
    (("cuda", "1"), TypeError),
    (("cuda", True), TypeError),
    (("cuda", 1.0), TypeError),
    ((None,), TypeError),
    ((1.5,), TypeError),
]


@pytest.mark.parametrize(("args", "error"), BAD_ARGUMENTS, ids=repr)
def test_bad_device_arguments(args: tuple[Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        tg.device(*args)


@pytest.mark.torch
@pytest.mark.parametrize(("args", "error"), BAD_ARGUMENTS, ids=repr)
def test_bad_device_arguments_match_torch(
    torch: Any, args: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error) as theirs:
        torch.device(*args)
    with pytest.raises(error) as ours:
        tg.device(*args)
    if error is RuntimeError or args[0] == "cuda":
        assert str(ours.value) == str(theirs.value)


def test_device_of_a_device_with_an_index_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="argument 'type' .* must be str, not device"):
        tg.device(tg.device("cpu"), 0)


def test_an_integer_names_a_gpu() -> None:
    # CUDA is tapegrad's only accelerator; PyTorch refuses torch.device(0) without one.
    assert tg.device(1) == tg.device("cuda", 1)
    assert tg.device(np.int64(0)) == tg.device("cuda:0")


def test_normalize_device_gives_canonical_text() -> None:
    assert normalize_device(None) == "cpu"
    assert normalize_device(tg.device("cpu", 3)) == "cpu"
    assert normalize_device("cuda:2") == normalize_device(tg.device("cuda", 2)) == "cuda:2"
    assert normalize_device(2) == "cuda:2"
    if not tg.cuda.is_available():
        assert normalize_device("cuda") == "cuda:0"


@pytest.mark.torch
def test_other_libraries_device_objects_are_accepted(torch: Any) -> None:
    t = tg.ones(2)
    assert t.to(torch.device("cpu")) is t
    assert tg.zeros(2, device=torch.device("cpu")).device == tg.device("cpu")


# ------------------------------------------------------------------------------ tg.cuda


def test_cuda_module_is_exposed() -> None:
    assert tg.cuda is tapegrad.cuda
    assert tg.device is tapegrad.backend.device
    for name in ("is_available", "device_count", "current_device", "synchronize"):
        assert callable(getattr(tg.cuda, name))


@NO_GPU
def test_cuda_without_a_gpu() -> None:
    assert tg.cuda.is_available() is False
    assert tg.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CuPy|No CUDA GPUs"):
        tg.cuda.current_device()
    with pytest.raises(RuntimeError, match="CuPy|No CUDA GPUs"):
        tg.cuda.synchronize()
    with pytest.raises(RuntimeError, match="CuPy|No CUDA GPUs"):
        tg.cuda.synchronize("cuda:0")


@pytest.mark.torch
@NO_GPU
def test_cuda_queries_without_a_gpu_match_torch(torch: Any) -> None:
    if torch.cuda.is_available():
        pytest.skip("torch finds a GPU")
    assert tg.cuda.is_available() == torch.cuda.is_available()
    assert tg.cuda.device_count() == torch.cuda.device_count()


def test_cuda_with_a_gpu() -> None:
    if not tg.cuda.is_available():
        pytest.skip("CUDA device not available")
    n = tg.cuda.device_count()
    assert n >= 1 and 0 <= tg.cuda.current_device() < n
    tg.cuda.synchronize()
    tg.cuda.synchronize(0)
    tg.cuda.synchronize(tg.device("cuda", 0))
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        tg.cuda.synchronize("cpu")
    t = tg.ones(2).cuda()
    assert t.device == tg.device("cuda", tg.cuda.current_device()) and t.is_cuda
    assert t.to("cuda") is t and t.cuda() is t
    assert repr(t) == "tensor([1., 1.], device='cuda:0')"
    assert t.cpu().device == tg.device("cpu")


@pytest.mark.parametrize("module", [tapegrad.cuda, tapegrad.backend], ids=lambda m: m.__name__)
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------------ tensors


def test_tensor_device_is_a_device_object() -> None:
    for t in (tg.ones(2), tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True) * 2):
        assert isinstance(t.device, tg.device)
        assert t.device == tg.device("cpu") and t.device.type == "cpu"
        assert t.device.index is None and str(t.device) == "cpu"
        assert repr(t.device) == "device(type='cpu')"
        assert not t.is_cuda


@pytest.mark.torch
def test_tensor_device_matches_torch(torch: Any) -> None:
    ours, theirs = tg.zeros(2).device, torch.zeros(2).device
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    assert (ours == "cpu") == (theirs == "cpu")


CPU_FORMS = ["cpu", "cpu:0", tg.device("cpu"), tg.device("cpu", 0)]


@pytest.mark.parametrize("where", CPU_FORMS, ids=repr)
def test_moves_to_the_cpu_of_cpu_tensors_are_no_ops(where: Any) -> None:
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    assert t.to(where) is t and t.to(device=where) is t and t.cpu() is t
    u = t.to(where, tg.float64)
    assert u.dtype == tg.float64 and u.device == tg.device("cpu")
    u = t.to(tg.float64, device=where)
    assert u.dtype == tg.float64 and u.grad_fn is not None


@NO_GPU
@pytest.mark.parametrize(
    "move",
    [
        lambda t: t.to("cuda"),
        lambda t: t.to("cuda:0"),
        lambda t: t.to(tg.device("cuda")),
        lambda t: t.to(tg.device("cuda", 0)),
        lambda t: t.to(0),
        lambda t: t.to(device=0),
        lambda t: t.to("cuda", tg.float64),
        lambda t: t.cuda(),
        lambda t: t.cuda(0),
        lambda t: t.cuda("cuda:0"),
        lambda t: t.cuda(tg.device("cuda")),
    ],
)
def test_moves_to_cuda_without_a_gpu_are_clear_errors(move: Any) -> None:
    with pytest.raises(RuntimeError, match=re.escape(NO_CUPY_MESSAGE)):
        move(tg.ones(2))


@NO_GPU
def test_the_error_names_the_gpu_asked_for() -> None:
    with pytest.raises(RuntimeError, match="device 'cuda:1' requested"):
        tg.ones(2).to(tg.device("cuda", 1))
    with pytest.raises(RuntimeError, match="device 'cuda:3' requested"):
        tg.ones(2).cuda(3)


def test_cuda_of_a_cpu_device_is_an_error() -> None:
    for where in ("cpu", tg.device("cpu")):
        with pytest.raises(RuntimeError, match="Invalid device, must be cuda device"):
            tg.ones(2).cuda(where)
        with pytest.raises(RuntimeError, match="Invalid device, must be cuda device"):
            tg.nn.Linear(2, 2).cuda(where)


class _FakeCudaDevice:
    id = 0


class _FakeCupyArray:
    """Enough of a CuPy array on GPU 0 for ``Tensor.device`` and ``repr``."""

    device = _FakeCudaDevice()

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)

    def get(self) -> np.ndarray:
        return self._a.copy()


def test_tensors_on_a_gpu_show_their_device() -> None:
    t = tg.Tensor._make(_FakeCupyArray(np.ones(2, dtype=np.float32)))
    assert t.device == tg.device("cuda", 0) and t.is_cuda
    assert repr(t.device) == "device(type='cuda', index=0)"
    # PyTorch's repr of a CUDA tensor.
    assert repr(t) == "tensor([1., 1.], device='cuda:0')"
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        t.numpy()


CREATIONS = {
    "tensor": lambda **kw: tg.tensor([1.0, 2.0], **kw),
    "as_tensor": lambda **kw: tg.as_tensor(np.ones(2), **kw),
    "zeros": lambda **kw: tg.zeros(2, 3, **kw),
    "ones": lambda **kw: tg.ones((2, 3), **kw),
    "empty": lambda **kw: tg.empty(2, **kw),
    "full": lambda **kw: tg.full((2,), 1.5, **kw),
    "eye": lambda **kw: tg.eye(3, **kw),
    "arange": lambda **kw: tg.arange(0, 5, **kw),
    "linspace": lambda **kw: tg.linspace(0, 1, 5, **kw),
    "randn": lambda **kw: tg.randn(2, **kw),
    "rand": lambda **kw: tg.rand(2, **kw),
    "randint": lambda **kw: tg.randint(0, 5, (2,), **kw),
    "zeros_like": lambda **kw: tg.zeros_like(tg.ones(2), **kw),
    "ones_like": lambda **kw: tg.ones_like(tg.ones(2), **kw),
    "empty_like": lambda **kw: tg.empty_like(tg.ones(2), **kw),
    "full_like": lambda **kw: tg.full_like(tg.ones(2), 3.0, **kw),
    "randn_like": lambda **kw: tg.randn_like(tg.ones(2), **kw),
    "rand_like": lambda **kw: tg.rand_like(tg.ones(2), **kw),
    "randint_like": lambda **kw: tg.randint_like(tg.ones(2), 0, 5, **kw),
}


@pytest.mark.parametrize("where", [None, *CPU_FORMS], ids=repr)
@pytest.mark.parametrize("name", CREATIONS)
def test_creation_functions_on_the_cpu(name: str, where: Any) -> None:
    t = CREATIONS[name](device=where)
    assert t.device == tg.device("cpu")
    assert type(t.data) is np.ndarray


@NO_GPU
@pytest.mark.parametrize("where", ["cuda", tg.device("cuda"), tg.device("cuda", 0), 0])
@pytest.mark.parametrize("name", CREATIONS)
def test_creation_functions_on_cuda_without_a_gpu(name: str, where: Any) -> None:
    with pytest.raises(RuntimeError, match=re.escape(NO_CUPY_MESSAGE)):
        CREATIONS[name](device=where)


@pytest.mark.parametrize("where", CPU_FORMS, ids=repr)
def test_module_to_a_cpu_device(where: Any) -> None:
    model = tg.nn.Linear(2, 3)
    w = model.weight
    assert model.to(where) is model and model.cpu() is model
    assert model.weight is w and w.device == tg.device("cpu")
    model.to(where, tg.float64)
    assert w.dtype == tg.float64 and w.device == tg.device("cpu")
    model.to(device=where, dtype=tg.float32)
    assert w.dtype == tg.float32


@NO_GPU
@pytest.mark.parametrize(
    "move",
    [
        lambda m: m.cuda(),
        lambda m: m.cuda(0),
        lambda m: m.to("cuda"),
        lambda m: m.to(tg.device("cuda", 0)),
        lambda m: m.to(0),
        lambda m: m.to(device="cuda:0"),
    ],
)
def test_module_to_cuda_without_a_gpu(move: Any) -> None:
    with pytest.raises(RuntimeError, match=re.escape(NO_CUPY_MESSAGE)):
        move(tg.nn.Linear(2, 3))


def test_saved_tensors_kept_on_the_cpu_come_back() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.autograd.graph.save_on_cpu():
        y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# ------------------------------------------------------------------------------ device data


def test_to_host() -> None:
    a = np.arange(3.0)
    assert to_host(a) is a
    s = STRICT_KIND.to_device(a)
    assert type(to_host(s)) is np.ndarray
    np.testing.assert_array_equal(to_host(s), a)
    assert type(to_host(np.float32(1.5))) is np.ndarray
    assert type(to_host(_FakeCupyArray(a))) is np.ndarray


@pytest.mark.parametrize("device", device_params(KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.int64, np.bool_])
def test_tensor_of_device_data_keeps_its_dtype_and_device(device: DeviceKind, dtype: Any) -> None:
    data = device.to_device(np.arange(3).astype(dtype))
    # (``tg.Tensor(data)`` is PyTorch's legacy constructor: float32 whatever the data.)
    for t in (tg.tensor(data), tg.as_tensor(data), tg.tensor(data, requires_grad=dtype == F64)):
        assert t.dtype == dtype, (type(t.data), t.dtype)
        assert t.device == device.device
        device.assert_on_device("tensor data", t.data)
    # Python data keeps PyTorch's defaults.
    assert tg.tensor([1.0]).dtype == tg.float32 and tg.tensor([1j]).dtype == tg.complex64


@pytest.mark.torch
def test_tensor_of_float64_array_is_float64_as_in_torch(torch: Any) -> None:
    a = np.arange(3.0)
    assert str(tg.tensor(a).dtype) == str(torch.tensor(a).dtype).removeprefix("torch.")
    s = STRICT_KIND.to_device(a)
    assert tg.tensor(s).dtype == tg.float64


@pytest.mark.parametrize("device", device_params(KINDS))
def test_gradients_are_not_views_of_the_seed(device: DeviceKind) -> None:
    x = device.to_device(np.array([1.0, 2.0, 3.0]))
    for g in (
        tg.grad(lambda x: rd.sum(x))(x),
        tg.grad(lambda x: tg.sum(x))(x),
        tg.vjp(lambda x: rd.sum(x), x)[1](device.to_device(np.array(1.0)))[0],
    ):
        device.assert_on_device("gradient", g)
        assert getattr(g, "base", None) is None
        assert g.strides == (8,)
        g[0] = 5.0
        assert device.to_host(g).tolist() == [5.0, 1.0, 1.0]
    assert device.to_host(x).tolist() == [1.0, 2.0, 3.0]


class _LooseArray:
    """An array type with ``base`` and ``copy`` and no ``flags`` (as some CuPy versions)."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.copies = 0

    def copy(self) -> _LooseArray:
        self.copies += 1
        return _LooseArray(None)


def test_owned_copies_views_of_any_array_module() -> None:
    view = _LooseArray(base=object())
    assert transforms._owned(view) is not view and view.copies == 1
    own = _LooseArray(base=None)
    assert transforms._owned(own) is own
    a = np.ones(3)
    assert transforms._owned(a) is a
    b = transforms._owned(np.broadcast_to(a, (2, 3)))
    assert b.base is None and b.flags.writeable
    s = STRICT_KIND.to_device(a)[:2]
    c = transforms._owned(s)
    assert isinstance(c, StrictArray) and c is not s and c.flags.writeable


@pytest.mark.parametrize("device", device_params(KINDS))
def test_check_grads_on_device_arrays(device: DeviceKind) -> None:
    seen: list[type] = []

    def f(x: Any, w: Any) -> Any:
        seen.append(type(x.data if isinstance(x, tg.Tensor) else x))
        return ew.sin(x) * rd.sum(w * x)

    x, w = device.to_device((np.array([0.3, -1.2, 0.7]), np.array([1.5, 0.5, -2.0])))
    tg.testing.check_grads(f, (x, w), order=2)
    tg.testing.check_grads(f, (x, w), order=1, modes=("rev",))
    tg.testing.check_grads(f, (x, w), order=1, modes=("fwd",))
    # The function saw device data only: arguments, steps and directions stayed there.
    kinds = {StrictArray} if device is STRICT_KIND else {type(x)}
    assert set(seen) == kinds, seen


@pytest.mark.parametrize("device", device_params(KINDS))
def test_check_grads_on_device_tensors_and_float32(device: DeviceKind) -> None:
    x = device.tensor(np.array([0.3, -1.2]), dtype=tg.float32)
    tg.testing.check_grads(lambda x: (x * x).exp(), (x,), order=2)
    tg.testing.check_grads(lambda x: tg.sin(x) * x, (device.tensor([0.5, 2.0]),), order=2)


@pytest.mark.parametrize("device", device_params(KINDS))
@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_check_grads_on_device_arrays_finds_wrong_derivatives(
    device: DeviceKind, mode: str
) -> None:
    @tg.custom_jvp
    def f(x: Any) -> Any:
        return ew.sin(x)

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return ew.sin(x), ew.cos(x) * t * 1.5  # wrong by half

    x = device.to_device(np.array([0.3, 1.2]))
    with pytest.raises(AssertionError, match="mode, order 1"):
        tg.testing.check_grads(f, (x,), order=1, modes=(mode,))


def test_check_grads_moves_its_directions_to_the_device() -> None:
    # Without the moves, a strict array meeting a host direction raises ForeignArrayError.
    x = STRICT_KIND.to_device(np.array([0.5, 1.5]))
    tg.testing.check_grads(lambda x: ew.exp(x) * x, (x,), order=2)
    tg.testing.check_grads(lambda x: (ew.exp(x), rd.sum(x)), (x,), order=2)


def test_device_kinds_name_device_objects() -> None:
    assert CPU.device == tg.device("cpu") and STRICT_KIND.device == tg.device("cpu")
    assert CUDA.device == tg.device("cuda", 0)


def test_cuda_forward_backward_and_transforms_never_wait_for_the_gpu() -> None:
    """No host round trip on the GPU: under ``cupyx.allow_synchronize(False)`` any copy of
    device data to the host (``.get()``, ``.item()``, ``numpy.asarray``, a Python number
    from a device scalar) raises, so the facade's forward and backward and the transforms
    below run with no transfer at all.

    Indexing with integer arrays is the one forward that reads the device: CuPy would wrap
    an out-of-bounds index silently, so tapegrad checks the bounds first (as it does for
    boolean masks, whose result shape needs their count). Its backward reads nothing."""
    if not tg.cuda.is_available():
        pytest.skip("CUDA device not available")
    import cupy
    import cupyx

    rng = np.random.default_rng(0)
    w_host, x_host = rng.standard_normal((5, 3)), rng.standard_normal((8, 5))
    onehot = cupy.asarray(np.eye(3)[rng.integers(0, 3, size=8)])
    w = tg.tensor(cupy.asarray(w_host), requires_grad=True)
    b = tg.zeros(3, device="cuda", requires_grad=True)
    x = cupy.asarray(x_host)

    def loss_fn(w: Any, x: Any) -> Any:
        h = tg.tanh(x @ w) * 2.0 + 1.0
        logp = tg.nn.functional.log_softmax(h, dim=-1)
        return -(logp * onehot).sum() / 8 + (w**2).sum() * 1e-3

    picked = (w * 1.0)[cupy.asarray([4, 0, 4])]  # the bounds check reads the device here
    with cupyx.allow_synchronize(False):
        loss = loss_fn(w, x) + b.sum() + picked.sum()
        loss.backward()
        grad = tg.grad(lambda w: loss_fn(w, x))(cupy.asarray(w_host))
        per_example = tg.vmap(tg.grad(lambda w, xi: tg.sum(tg.tanh(xi @ w))), (None, 0))(
            cupy.asarray(w_host), x
        )
        jac = tg.jacrev(lambda v: tg.tanh(v @ w.detach()))(x[0])
    for got in (w.grad, b.grad):
        assert isinstance(got.data, cupy.ndarray)
    for got in (grad, per_example, jac):
        assert isinstance(got, cupy.ndarray)
    rows_picked = np.zeros((5, 3))
    np.add.at(rows_picked, [4, 0, 4], 1.0)
    np.testing.assert_allclose(w.grad.cpu().numpy(), grad.get() + rows_picked, rtol=1e-12)
    np.testing.assert_allclose(b.grad.cpu().numpy(), np.ones(3))
    assert per_example.shape == (8, 5, 3) and jac.shape == (3, 5)
