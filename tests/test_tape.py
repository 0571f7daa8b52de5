"""``tg.Tape``: the Wengert list of a block, as records and as text (API.md section 5)."""

from __future__ import annotations

import doctest
import gc
import threading
import weakref

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.tape_view
from tapegrad.primitive import Primitive, bind
from tapegrad.tape import current_tape
from tapegrad.tape_view import TapeEntry, dtype_short_name


def leaf(shape, dtype=np.float32, value=1.0):
    return tg.tensor(np.full(shape, value, dtype=dtype), requires_grad=True)


# --------------------------------------------------------------------------- the listing


def test_listing_of_the_api_example():
    x = leaf((3, 3))
    y = leaf((3, 3))
    with tg.Tape() as tape:
        z = x * y
    assert len(tape) == 1
    assert str(tape) == "%3 = mul(%1, %2)  f32[3,3]"
    assert z.shape == (3, 3)


def test_listing_names_slots_in_order_of_first_mention():
    x = leaf((3, 3))
    y = leaf((3, 3))
    with tg.Tape() as tape:
        z = (x * y + 2).sum()
    assert str(tape).splitlines() == [
        "%3 = mul(%1, %2)  f32[3,3]",
        "%4 = add(%3, 2)  f32[3,3]",
        "%5 = sum(%4)  f32[]",
    ]
    assert z.item() == 27.0


def test_leaves_are_inputs_not_entries():
    x = leaf((2,))
    with tg.Tape() as tape:
        y = x.exp()
    assert len(tape) == 1
    (entry,) = tape.entries
    assert entry.inputs == (x._slot,)
    assert entry.outputs == (y._slot,)
    assert x._slot not in entry.outputs


def test_same_program_same_text_whatever_ran_before():
    def program():
        a = leaf((2, 3), np.float64)
        b = leaf((3,), np.float64)
        with tg.Tape() as tape:
            (a * b).tanh().mean()
        return str(tape)

    first = program()
    for _ in range(5):
        leaf((1,)) * 2  # moves the tape's slot counter on
    assert program() == first
    assert first.splitlines() == [
        "%3 = mul(%1, %2)  f64[2,3]",
        "%4 = tanh(%3)  f64[2,3]",
        "%5 = mean(%4)  f64[]",
    ]


@pytest.mark.parametrize(
    ("const", "text"),
    [(2, "2"), (0.5, "0.5"), (np.float64(1.25), "1.25"), (True, "True")],
)
def test_scalar_constants_show_their_value(const, text):
    x = leaf((2,), np.float64)
    with tg.Tape() as tape:
        x * const
    assert str(tape) == f"%2 = mul(%1, {text})  f64[2]"


def test_tensor_constants():
    x = leaf((2, 2), np.float64)
    c = tg.tensor(np.array([1.0, 2.0]))
    s = tg.tensor(np.float64(3.0))
    with tg.Tape() as tape:
        y = x + c
        y * s
        x @ tg.tensor(np.eye(2))
    assert str(tape).splitlines() == [
        "%2 = add(%1, const)  f64[2,2]",
        "%3 = mul(%2, 3.0)  f64[2,2]",
        "%4 = matmul(%1, const)  f64[2,2]",
    ]
    assert [e.constants for e in tape] == [(None, None), (None, "3.0"), (None, None)]


def test_reflected_operators_keep_the_constant_in_place():
    x = leaf((2,), np.float64)
    with tg.Tape() as tape:
        2 - x
        1 / x
    # 2 - x is PyTorch's rsub(x, 2); 1 / x is reciprocal(x) * 1.
    assert str(tape).splitlines() == [
        "%2 = rsub(%1, 2)  f64[2]",
        "%3 = reciprocal(%1)  f64[2]",
        "%4 = mul(%3, 1)  f64[2]",
    ]


@pytest.mark.parametrize(
    ("dtype", "short"),
    [
        (np.float16, "f16"),
        (np.float32, "f32"),
        (np.float64, "f64"),
        (np.int32, "i32"),
        (np.int64, "i64"),
        (np.bool_, "b1"),
        (np.complex64, "c64"),
        (np.complex128, "c128"),
        (np.uint8, "u8"),
        (np.int8, "i8"),
        (tg.float32, "f32"),
        ("float64", "f64"),
    ],
)
def test_dtype_short_names(dtype, short):
    assert dtype_short_name(dtype) == short


@pytest.mark.parametrize(
    ("dtype", "short"),
    [(np.float16, "f16"), (np.float32, "f32"), (np.float64, "f64"), (np.complex128, "c128")],
)
def test_output_dtypes_in_the_listing(dtype, short):
    x = tg.tensor(np.ones((4, 1), dtype=dtype), requires_grad=True)
    with tg.Tape() as tape:
        y = x * x
    assert str(tape) == f"%2 = mul(%1, %1)  {short}[4,1]"
    assert tape[0].dtype == short
    assert y.dtype == dtype


def test_retyped_results_show_both_entries():
    # float32 tensor times a float64 0-d tensor: NumPy widens, PyTorch keeps float32.
    x = leaf((2,))
    with tg.Tape() as tape:
        y = x * tg.tensor(np.float64(2.0), requires_grad=True)
    assert y.dtype == np.float32
    lines = str(tape).splitlines()
    assert lines[0] == "%3 = mul(%1, %2)  f64[2]"
    assert lines[-1].endswith("f32[2]")


def test_shapes_of_shape_operations():
    x = leaf((2, 3, 4), np.float64)
    with tg.Tape() as tape:
        a = x.reshape(6, 4)
        b = a.T
        c = b[1:3]
        d = c.sum(dim=0, keepdim=True)
        x.amax()
    assert [(e.name, e.shape) for e in tape] == [
        ("reshape", (6, 4)),
        ("transpose", (4, 6)),
        ("getitem", (2, 6)),
        ("sum", (1, 6)),
        ("amax", ()),
    ]
    assert d.shape == (1, 6)


# --------------------------------------------------------------------------- records


def test_entries_are_read_only_records():
    x = leaf((3,))
    with tg.Tape() as tape:
        y = x * 2
    entries = tape.entries
    assert isinstance(entries, tuple)
    (e,) = entries
    assert isinstance(e, TapeEntry)
    assert e.name == "mul"
    assert e.grad_fn_name == "MulBackward0" == type(y.grad_fn).__name__
    assert e.slot == y._slot
    assert e.shape == (3,)
    assert e.avals == (("f32", (3,)),)
    with pytest.raises(AttributeError):
        e.inputs = ()  # type: ignore[misc]
    assert list(tape) == list(entries)
    assert tape[0] is e
    assert repr(e) == f"<TapeEntry %{y._slot} = mul(%{x._slot}, 2)  f32[3]>"


def test_params_and_grad_fn_names():
    x = leaf((2, 3))
    with tg.Tape() as tape:
        x.sum()
        x.sum(0)
        _ = x.T
        x.t()
    assert [e.grad_fn_name for e in tape] == [
        "SumBackward0",
        "SumBackward1",
        "PermuteBackward0",
        "TBackward0",
    ]
    assert tape[1].params["axis"] == (0,)


def test_repr():
    with tg.Tape() as tape:
        assert repr(tape) == "<tapegrad.Tape: 0 entries, recording>"
        leaf((1,)) * 2
    assert repr(tape) == "<tapegrad.Tape: 1 entry>"
    assert tape.recording is False


def test_nothing_recorded_without_grad():
    x = leaf((2,))
    c = tg.ones(2)
    with tg.Tape() as tape:
        c * 2  # no input requires grad
        with tg.no_grad():
            x * 2
        x.detach() + 1
    assert len(tape) == 0
    assert str(tape) == ""
    assert list(tape) == []


def test_len_counts_the_entries_appended_to_the_thread_tape():
    x = leaf((5,), np.float64)
    before = len(current_tape().entries)
    with tg.Tape() as tape:
        y = x
        for _ in range(7):
            y = y * 1.5 + 1
    appended = len(current_tape().entries) - before
    assert len(tape) == appended == 14
    assert tape[-1].slot == y._slot


# --------------------------------------------------------------------------- nesting


def test_nested_tapes_each_see_their_block():
    x = leaf((2,))
    with tg.Tape() as outer:
        a = x * 2
        with tg.Tape() as inner:
            b = a.exp()
            c = b + a
        d = c.sum()
    assert len(outer) == 4
    assert len(inner) == 2
    assert [e.name for e in outer] == ["mul", "exp", "add", "sum"]
    assert [e.name for e in inner] == ["exp", "add"]
    # Each listing numbers from 1: the inner block's inputs come first.
    assert str(inner).splitlines() == [
        "%2 = exp(%1)  f32[2]",
        "%3 = add(%2, %1)  f32[2]",
    ]
    assert inner[0].outputs == outer[1].outputs
    assert d._entry is not None


def test_sibling_tapes_and_reentry():
    x = leaf((2,))
    tape = tg.Tape()
    with tape:
        x * 2
    with tg.Tape() as other:
        x * 3
    with tape:
        x * 4
    assert [e.constants[1] for e in tape] == ["2", "4"]
    assert [e.constants[1] for e in other] == ["3"]


def test_an_active_tape_cannot_be_entered_again():
    tape = tg.Tape()
    with tape:
        with pytest.raises(RuntimeError, match="already recording"):
            tape.__enter__()
    assert current_tape().recorders == [] or all(
        r is not tape._recorder for r in current_tape().recorders
    )


def test_tape_unsubscribes_on_exception():
    n = len(current_tape().recorders)
    with pytest.raises(ZeroDivisionError):
        with tg.Tape():
            leaf((1,)) * 2
            raise ZeroDivisionError
    assert len(current_tape().recorders) == n


def test_jvp_inside_a_tape_block_leaves_the_tape_subscribed():
    # jvp subscribes its own recorder list and takes it away with list.remove; the tape's
    # recorder must not be mistaken for it.
    x = leaf((2,), np.float64)
    n = len(current_tape().recorders)
    with tg.Tape() as tape:
        out, tangent = tg.jvp(lambda a: a * 2.0, (np.ones(2),), (np.ones(2),))
        x * 3
    assert tangent.tolist() == [2.0, 2.0]
    assert [e.name for e in tape] == ["mul", "mul"]
    assert tape[-1].inputs[0] == x._slot
    assert len(current_tape().recorders) == n


def test_backward_inside_the_block():
    x = leaf((3,), np.float64, value=2.0)
    with tg.Tape() as plain:
        (x * x).sum().backward()
    assert [e.name for e in plain] == ["mul", "sum"]  # the sweep itself records nothing
    assert x.grad.tolist() == [4.0, 4.0, 4.0]
    x.grad = None
    with tg.Tape() as higher:
        y = (x**3).sum()
        (g,) = tg.autograd.grad(y, x, create_graph=True)
    # With create_graph the VJP rules are recorded too: d/dx x^3 = 3 x^2.
    assert len(higher) > 2
    assert g.tolist() == [12.0, 12.0, 12.0]
    assert g._slot in {s for e in higher for s in e.outputs}


def test_transforms_record_on_the_tape():
    with tg.Tape() as tape:
        g = tg.grad(lambda a: (a**2).sum())(np.array([1.0, 3.0]))
    assert g.tolist() == [2.0, 6.0]
    assert str(tape).splitlines() == ["%2 = pow(%1, 2)  f64[2]", "%3 = sum(%2)  f64[]"]


# --------------------------------------------------------------------------- in place, multi-output


def test_in_place_operations_appear_as_entries():
    x = leaf((2, 2), np.float64)
    with tg.Tape() as tape:
        y = x * 1
        y.mul_(3)
        y[0] = 5.0
        y += x
    assert [(e.name, e.grad_fn_name) for e in tape] == [
        ("mul", "MulBackward0"),
        ("mul", "MulBackward0"),
        ("index_put", "CopySlices"),
        ("add", "AddBackward0"),
    ]
    assert y._slot == tape[-1].slot
    assert str(tape).splitlines()[2] == "%4 = index_put(%3, 5.0)  f64[2,2]"


def _split_rule(g, x, out):
    ga, gb = g
    xp = np
    parts = [xp.zeros(1) if ga is None else ga, xp.zeros(x.shape[0] - 1) if gb is None else gb]
    return xp.concatenate(parts)


SPLIT = Primitive(
    "split_first",
    lambda xp, x: (x[:1].copy(), x[1:].copy()),
    (_split_rule,),
    nout=2,
    uses=((0,),),
)


def test_multi_output_entries():
    x = leaf((4,), np.float64)
    with tg.Tape() as tape:
        head, tail = bind(SPLIT, (x,))
        loss = (head * 2).sum() + (tail * 3).sum()
    assert str(tape).splitlines()[0] == "%2, %3 = split_first(%1)  f64[1], f64[3]"
    assert tape[0].outputs == (head._slot, tail._slot)
    loss.backward()
    assert x.grad.tolist() == [2.0, 3.0, 3.0, 3.0]


# --------------------------------------------------------------------------- lifetime, threads


def test_a_kept_tape_holds_no_values_alive():
    x = leaf((1000,), np.float64)
    with tg.Tape() as tape:
        y = x.exp()  # exp saves its output
        z = (y * y).sum()
    ref = weakref.ref(y.data)
    del y, z
    gc.collect()
    current_tape().prune()
    assert ref() is None
    assert len(tape) == 3
    assert str(tape).splitlines()[0] == "%2 = exp(%1)  f64[1000]"


def test_a_tape_records_only_its_own_thread():
    x = leaf((2,))
    started = threading.Event()
    finish = threading.Event()
    seen = {}

    def other():
        with tg.Tape() as theirs:
            a = leaf((3,)) * 5
            started.set()
            finish.wait(5)
            a.sum()
        seen["theirs"] = [e.name for e in theirs]

    thread = threading.Thread(target=other)
    with tg.Tape() as mine:
        thread.start()
        started.wait(5)
        x.exp()
        finish.set()
        thread.join(5)
        x.sin()
    assert [e.name for e in mine] == ["exp", "sin"]
    assert seen["theirs"] == ["mul", "sum"]


def test_doctests():
    result = doctest.testmod(tapegrad.tape_view, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_long_block_keeps_the_tape_pruning():
    x = leaf((10,), np.float64)
    tape = current_tape()
    with tg.Tape() as listing:
        for _ in range(3 * tape.PRUNE_FLOOR):
            (x * 2).sum()  # dead at once
        assert len(tape.entries) <= 2 * tape.PRUNE_FLOOR
    assert len(listing) == 6 * tape.PRUNE_FLOOR


# --------------------------------------------------------------------------- transforms that
# replace what they recorded


def test_checkpoint_is_listed_as_one_entry():
    x = leaf((3,), np.float64)
    f = tg.checkpoint(lambda a: tg.sin(a) * 2.0)
    with tg.Tape() as tape:
        y = f(x).sum()
    # The function's own operations were taken back off the tape and replaced by one entry.
    assert str(tape).splitlines() == ["%2 = checkpoint(%1)  f64[3]", "%3 = sum(%2)  f64[]"]
    assert y.grad_fn.next_functions[0][0].name() == tape[0].grad_fn_name
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(np.ones(3)))


def test_jvp_inside_a_block_lists_its_forward_and_tangent_entries():
    x = leaf((3,), np.float64)
    with tg.Tape() as tape:
        # The closure over x makes the tangent computation part of x's graph.
        _, tangent = tg.jvp(lambda a: tg.sin(a) * x, (np.zeros(3),), (np.ones(3),))
    names = [e.name for e in tape]
    assert names[:2] == ["sin", "mul"]
    assert "cos" in names[2:]
    assert tangent.requires_grad
    np.testing.assert_allclose(tangent.detach().numpy(), np.ones(3))
    recorder_lists = current_tape().recorders
    assert recorder_lists == [] or all(len(r) == 0 for r in recorder_lists)
