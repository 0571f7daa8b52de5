"""Bad input: errors that name both sides, PyTorch's messages, NaN and inf as NumPy has them,
and failures inside users' functions that leave the tape in working order."""

from __future__ import annotations

import gc
import re
import types
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tape import Tape, current_tape

NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"
SECOND_BACKWARD = "Trying to backward through the graph a second time"


@pytest.fixture(autouse=True)
def _quiet_numpy():
    # NumPy warns on log(0), 1/0 and the like; PyTorch does not. Values are what is checked.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def t64(values, requires_grad=False):
    return tg.tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


# =========================================================================== shapes


@pytest.mark.parametrize("grad_mode", [True, False])
@pytest.mark.parametrize("requires_grad", [True, False])
@pytest.mark.parametrize(
    "op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: b - a, lambda a, b: a / b]
)
def test_broadcast_mismatch_is_numpys_error_naming_both_shapes(op, requires_grad, grad_mode):
    a = tg.ones(2, 3, requires_grad=requires_grad)
    b = tg.ones(4)
    with tg.set_grad_enabled(grad_mode):
        with pytest.raises(ValueError) as info:
            op(a, b)
    message = str(info.value)
    assert "could not be broadcast" in message
    assert re.search(r"\(2,3\).*\(4,\)|\(4,\).*\(2,3\)", message), message


def test_broadcast_mismatch_with_an_array_operand():
    with pytest.raises(ValueError, match=r"shapes \(2,3\) \(4,\)"):
        tg.ones(2, 3, requires_grad=True) + np.ones(4)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((2, 3), (4, 2)), ((3,), (4,)), ((2, 3, 4), (2, 5, 6)), ((5,), (4, 2)), ((2, 3), (2,))],
)
@pytest.mark.parametrize("requires_grad", [True, False])
def test_matmul_mismatch_names_both_shapes(sa, sb, requires_grad):
    a = tg.ones(*sa, requires_grad=requires_grad)
    b = tg.ones(*sb)
    with pytest.raises(ValueError) as info:
        a @ b
    message = str(info.value)
    assert str(sa) in message and str(sb) in message, message


def test_mm_and_matmul_function_name_both_shapes():
    for fn in (tg.mm, tg.matmul):
        with pytest.raises(ValueError, match=re.escape("shapes (2, 3) and (4, 2)")):
            fn(tg.ones(2, 3), tg.ones(4, 2))


def test_in_place_shape_errors_name_both_shapes():
    with pytest.raises(
        RuntimeError,
        match=re.escape("output with shape [3] doesn't match the broadcast shape [2, 3]"),
    ):
        tg.ones(3).add_(tg.ones(2, 3))
    y = tg.ones(3, requires_grad=True) * 1
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        y.add_(tg.ones(4))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        tg.ones(3).add_(tg.ones(4))
    with pytest.raises(ValueError, match=r"from shape \(4,\) into shape \(3,\)"):
        tg.ones(3)[:] = tg.ones(4)


def test_gradient_argument_shape_mismatch():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        (x * 2).backward(tg.ones(2))
    assert str(info.value) == (
        "Mismatch in shape: grad_output[0] has a shape of tapegrad.Size([2]) and output[0] "
        "has a shape of tapegrad.Size([3])."
    )
    assert x.grad is None


def test_reshape_and_index_errors():
    x = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape("shape '[5]' is invalid for input of size 6")):
        x.reshape(5)
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        x[5]


def test_transform_output_must_be_a_scalar():
    with pytest.raises(TypeError, match=re.escape("Output had shape: (2,)")):
        tg.grad(lambda a: a * 2)(np.ones(2))


# =========================================================================== dtypes


def test_in_place_cast_error_names_both_dtypes():
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        tg.ones(2, dtype=tg.int64).add_(tg.ones(2))
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        tg.ones(2, dtype=tg.int64).add_(1.5)


def test_assigned_grad_names_both_dtypes_and_shapes():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="different type: tapegrad.float64 vs tapegrad.float32"):
        x.grad = tg.ones(3, dtype=tg.float64)
    with pytest.raises(RuntimeError, match=re.escape("different size: (4,) vs (3,)")):
        x.grad = tg.ones(4)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(
        RuntimeError, match="only Tensors of floating point dtype can require gradients"
    ):
        tg.ones(2, dtype=tg.int64).requires_grad_()
    with pytest.raises(
        RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"
    ):
        tg.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("value", [np.ones(2, dtype=np.int64), 3, np.int32(1)])
def test_transforms_name_an_integer_dtype(value):
    with pytest.raises(TypeError, match=r"but got int(64|32)"):
        tg.grad(lambda a: (a * 2).sum())(value)


# =========================================================================== devices


class _Device:
    id = 0


class FakeGPUArray:
    """Stands in for a CuPy array: its own array namespace and a device with an id."""

    device = _Device()

    def __init__(self, a):
        self._a = np.asarray(a)

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)

    def __array_namespace__(self):
        return _FAKE_XP


_FAKE_XP = types.ModuleType("fake_gpu_namespace")


@pytest.mark.parametrize(
    ("label", "op"),
    [
        ("add", lambda c, g: c + g),
        ("add", lambda c, g: g + c),
        ("mul", lambda c, g: c * g),
        ("matmul", lambda c, g: c @ g),
    ],
)
@pytest.mark.parametrize("requires_grad", [True, False])
def test_device_mismatch_names_both_devices(label, op, requires_grad):
    gpu = tg.Tensor._make(FakeGPUArray(np.ones(3)))
    cpu = tg.tensor(np.ones(3), requires_grad=requires_grad)
    assert gpu.device == tg.device("cuda:0") and cpu.device == tg.device("cpu")
    with pytest.raises(RuntimeError) as info:
        op(cpu, gpu)
    message = str(info.value)
    assert message.startswith(
        "Expected all tensors to be on the same device, but found at least two devices, "
    )
    assert "cpu" in message and "cuda:0" in message and f"(when calling {label})" in message


def test_device_mismatch_in_setitem():
    gpu = tg.Tensor._make(FakeGPUArray(np.ones(3)))
    with pytest.raises(RuntimeError, match="at least two devices, cpu and cuda:0"):
        tg.ones(3, dtype=tg.float64)[0] = gpu


def test_cuda_without_cupy_is_a_clear_error():
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("CuPy is installed")
    with pytest.raises(RuntimeError, match="device 'cuda:0' requested, but CuPy"):
        tg.ones(2, device="cuda")
    with pytest.raises(
        RuntimeError, match="Expected one of cpu, cuda device type at start of device string: tpu"
    ):
        tg.ones(2, device="tpu")


def test_real_devices_mismatch():
    cp = pytest.importorskip("cupy")
    try:
        cp.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001
        pytest.skip("no usable GPU")
    a = tg.ones(3, device="cuda", requires_grad=True)
    b = tg.ones(3)
    with pytest.raises(RuntimeError, match="cuda:0 and cpu|cpu and cuda:0"):
        a + b


# =========================================================================== backward errors


@pytest.mark.parametrize(
    "make",
    [
        lambda: tg.ones(3).sum(),
        lambda: tg.ones(3, requires_grad=True).detach().sum(),
        lambda: (tg.ones(3, requires_grad=True) * 2).detach(),
        lambda: tg.tensor(2.0),
    ],
    ids=["plain", "detached-leaf", "detached-result", "scalar"],
)
def test_backward_without_grad_fn(make):
    t = make()
    if t.ndim:
        t = t.sum()
    with pytest.raises(RuntimeError) as info:
        t.backward()
    assert str(info.value) == NO_GRAD_FN


def test_backward_of_values_made_under_no_grad():
    x = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=NO_GRAD_FN):
        y.backward()
    with pytest.raises(RuntimeError, match=NO_GRAD_FN):
        tg.autograd.grad(y, x)


def test_non_scalar_backward():
    with pytest.raises(
        RuntimeError, match="grad can be implicitly created only for scalar outputs"
    ):
        (tg.ones(3, requires_grad=True) * 2).backward()


# =========================================================================== NaN and inf


_NAN_FORWARD = [
    ("log", lambda m, x: m.log(x), [0.0, -1.0, 1.0, np.inf]),
    ("sqrt", lambda m, x: m.sqrt(x), [0.0, -1.0, 4.0, np.inf]),
    ("exp", lambda m, x: m.exp(x), [1000.0, -1000.0, np.nan, -np.inf]),
    ("reciprocal", lambda m, x: 1.0 / x, [0.0, -0.0, np.inf, np.nan]),
    ("sub-self", lambda m, x: x - x, [np.inf, -np.inf, 1.0, np.nan]),
    ("mul-zero", lambda m, x: x * 0.0, [np.inf, np.nan, 1.0, -np.inf]),
    ("tanh", lambda m, x: m.tanh(x), [np.inf, -np.inf, np.nan, 0.0]),
    ("sum", lambda m, x: x.sum(), [1.0, np.nan, 2.0, 3.0]),
    ("amax", lambda m, x: x.max(), [1.0, np.nan, np.inf, 3.0]),
    ("mean-inf", lambda m, x: x.mean(), [np.inf, -np.inf, 1.0, 2.0]),
]


@pytest.mark.parametrize("requires_grad", [True, False])
@pytest.mark.parametrize(("name", "fn", "values"), _NAN_FORWARD, ids=[c[0] for c in _NAN_FORWARD])
def test_nan_and_inf_values_are_numpys(name, fn, values, requires_grad):
    a = np.array(values)
    got = fn(tg, t64(values, requires_grad))
    expected = fn(np, a)
    np.testing.assert_array_equal(got.detach().numpy(), expected)


@pytest.mark.parametrize(
    ("name", "fn", "values", "grad"),
    [
        ("square", lambda x: (x * x).sum(), [1.0, np.nan, 3.0], [2.0, np.nan, 6.0]),
        ("log-at-0", lambda x: tg.log(x).sum(), [0.0, 1.0, -1.0], [np.inf, 1.0, -1.0]),
        ("sqrt-at-0", lambda x: tg.sqrt(x).sum(), [0.0, 4.0, -1.0], [np.inf, 0.25, np.nan]),
        ("times-zero", lambda x: (x * 0.0).sum(), [np.inf, 1.0, np.nan], [0.0, 0.0, 0.0]),
        ("exp-overflow", lambda x: tg.exp(x).sum(), [1000.0, 0.0, -1000.0], [np.inf, 1.0, 0.0]),
        ("reciprocal", lambda x: (1.0 / x).sum(), [0.0, 2.0, -0.0], [-np.inf, -0.25, -np.inf]),
        ("tanh-inf", lambda x: tg.tanh(x).sum(), [np.inf, -np.inf, 0.0], [0.0, 0.0, 1.0]),
        ("mean", lambda x: x.mean(), [1.0, np.nan, 3.0], [1 / 3, 1 / 3, 1 / 3]),
        ("amax-inf", lambda x: x.amax(), [1.0, np.inf, 3.0], [0.0, 1.0, 0.0]),
        ("amax-nan", lambda x: x.amax(), [1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]),
    ],
)
def test_nan_and_inf_gradients_match_pytorch(name, fn, values, grad):
    # Expected gradients are PyTorch 2.13's for the same program.
    x = t64(values, requires_grad=True)
    fn(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array(grad))


def test_nan_in_one_element_stays_there():
    x = t64([1.0, np.nan, 3.0], requires_grad=True)
    w = t64([1.0, 2.0, 3.0], requires_grad=True)
    (tg.sin(x) * w).sum().backward()
    assert np.isnan(x.grad.numpy()[1]) and np.isnan(w.grad.numpy()[1])
    np.testing.assert_allclose(x.grad.numpy()[[0, 2]], np.cos([1.0, 3.0]) * [1.0, 3.0])
    np.testing.assert_allclose(w.grad.numpy()[[0, 2]], np.sin([1.0, 3.0]))


@pytest.mark.parametrize(
    ("name", "fn", "grad"),
    [
        ("max", lambda x: x.max(), [0.0, 1.0, 0.0]),
        ("maximum", lambda x: tg.maximum(x, t64([2.0, 2.0, 2.0])).sum(), [0.0, 1.0, 1.0]),
        ("relu", lambda x: tg.relu(x).sum(), [1.0, 1.0, 1.0]),
    ],
)
@pytest.mark.xfail(
    strict=True,
    reason="PyTorch routes the gradient to a NaN input of max()/maximum/relu; here it is "
    "dropped (maximum, relu) or spread as NaN (max)",
)
def test_gradient_at_a_nan_input_goes_where_pytorch_sends_it(name, fn, grad):
    x = t64([1.0, np.nan, 3.0], requires_grad=True)
    fn(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array(grad))


# ==================================================================== failures in users' code


def _failing(after: int):
    def f(a):
        y = a
        for _ in range(after):
            y = tg.sin(y) * 2.0
        raise KeyError("user error")

    return f


def test_exception_inside_grad_leaves_no_half_recorded_work():
    tape = current_tape()
    gc.collect()  # earlier tests' tracebacks may hold entries in reference cycles
    tape.prune()
    base = len(tape.entries)
    a = np.linspace(0.1, 1.0, 4)
    for _ in range(3 * Tape.PRUNE_FLOOR // 10):
        with pytest.raises(KeyError, match="user error"):
            tg.grad(_failing(5))(a)
        assert tg.is_grad_enabled()
        assert len(tape.entries) < base + 2 * Tape.PRUNE_FLOOR + 64
    # The next call works and gives the right numbers.
    g = tg.grad(lambda x: (tg.sin(x) ** 2).sum())(a)
    np.testing.assert_allclose(g, 2 * np.sin(a) * np.cos(a))
    gc.collect()  # the caught exceptions' tracebacks form cycles
    tape.prune()
    assert len(tape.entries) <= base
    assert tape.recorders == []


def test_exception_inside_nested_transforms():
    a = np.array([0.5, 1.5])
    with pytest.raises(KeyError):
        tg.grad(lambda x: tg.grad(_failing(2))(x).sum())(a)
    # Depth and mode were restored: a plain grad returns arrays, not tensors.
    g = tg.grad(lambda x: (x**3).sum())(a)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, 3 * a**2)
    h = tg.grad(lambda x: tg.grad(lambda y: (y**3).sum())(x).sum())(a)
    np.testing.assert_allclose(h, 6 * a)


def test_exception_inside_jvp_vjp_and_value_and_grad():
    a = np.array([0.5, 1.5])
    tape = current_tape()
    for call in (
        lambda: tg.jvp(_failing(3), (a,), (np.ones(2),)),
        lambda: tg.vjp(_failing(3), a),
        lambda: tg.value_and_grad(_failing(3))(a),
    ):
        with pytest.raises(KeyError):
            call()
        assert tape.recorders == []
        assert not tape.save_all
        assert tape.transform_depth == 0
    out, tangent = tg.jvp(lambda x: tg.sin(x), (a,), (np.ones(2),))
    np.testing.assert_allclose(tangent, np.cos(a))


def test_exception_inside_a_primitive_records_nothing():
    x = tg.ones(3, requires_grad=True)
    tape = current_tape()
    n = len(tape.entries)
    with pytest.raises(ValueError):
        x + tg.ones(4)
    with pytest.raises(ValueError):
        x @ tg.ones(4)
    assert len(tape.entries) == n


def test_exception_in_a_hook_during_backward_then_fresh_work():
    x = t64([1.0, 2.0], requires_grad=True)
    y = x * 3

    def boom(g):
        raise ZeroDivisionError("hook failed")

    handle = y.register_hook(boom)
    with pytest.raises(ZeroDivisionError):
        (y * y).sum().backward()
    assert x.grad is None
    handle.remove()
    z = (x * x).sum()
    z.backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_failed_sweep_does_not_poison_the_tape():
    # An in-place error in one backward; other graphs (and the same leaves) still work.
    x = t64([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y.sin()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    assert x.grad is None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    w = (y * y).sum()  # y = 2x: d/dx 4x^2 = 8x
    x.grad = None
    w.backward()
    assert x.grad.tolist() == [8.0, 16.0]


def test_second_backward_error_then_fresh_graph():
    x = t64([1.0, 2.0], requires_grad=True)
    y = tg.sin(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 2.0]))
    tg.sin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([1.0, 2.0]))
