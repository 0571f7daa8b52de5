"""``tg.viz``: the graph behind a tensor as Graphviz DOT text, and rendered by ``dot``."""

from __future__ import annotations

import doctest
import re
import shutil

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.viz
from tapegrad.primitive import Primitive, bind

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed"
)

HEADER = [
    "digraph {",
    '    node [fontname=monospace fontsize=10 shape=box style="rounded,filled"]',
]


def lines(text: str) -> list[str]:
    assert text.endswith("}\n")
    return text.splitlines()


def labels(text: str) -> dict[str, str]:
    """Node id to label (with ``\\n`` shown as a newline)."""
    return {
        m.group(1): m.group(2).replace("\\n", "\n")
        for m in re.finditer(r'^\s+(n\d+) \[label="((?:[^"\\]|\\.)*)"', text, re.M)
    }


def edges(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s+(n\d+) -> (n\d+)$", text, re.M)


def small_mlp():
    x = tg.tensor(np.ones((4, 3)), requires_grad=True)
    w = tg.tensor(np.full((3, 2), 0.1), requires_grad=True)
    b = tg.tensor(np.zeros(2), requires_grad=True)
    h = (x @ w + b).tanh()
    loss = (h**2).mean()
    return x, w, b, h, loss


def test_dot_text_of_a_small_graph():
    x = tg.ones(2, 3, requires_grad=True)
    y = (x * 2).sum()
    assert lines(tg.viz.graph(y, names={x: "x"})) == HEADER + [
        '    n1 [label="x\\n(2, 3)" fillcolor=lightblue]',
        '    n2 [label="MulBackward0\\n(2, 3)" fillcolor=lightgrey]',
        '    n3 [label="SumBackward0\\n()" fillcolor=darkolivegreen1]',
        "    n1 -> n2",
        "    n2 -> n3",
        "}",
    ]


def test_mlp_graph_nodes_and_edges():
    x, w, b, h, loss = small_mlp()
    text = tg.viz.graph(loss, names={x: "x", w: "w", b: "b", h: "h"})
    assert labels(text) == {
        "n1": "x\n(4, 3)",
        "n2": "w\n(3, 2)",
        "n3": "b\n(2,)",
        "n4": "MmBackward0\n(4, 2)",
        "n5": "AddBackward0\n(4, 2)",
        "n6": "h = TanhBackward0\n(4, 2)",
        "n7": "PowBackward0\n(4, 2)",
        "n8": "MeanBackward0\n()",
    }
    assert edges(text) == [
        ("n1", "n4"),
        ("n2", "n4"),
        ("n4", "n5"),
        ("n3", "n5"),
        ("n5", "n6"),
        ("n6", "n7"),
        ("n7", "n8"),
    ]
    # Labels are the grad_fn names the facade shows.
    assert h.grad_fn.name() == "TanhBackward0"
    assert loss.grad_fn.name() == "MeanBackward0"


def test_output_is_deterministic():
    first = tg.viz.graph(small_mlp()[-1])
    for _ in range(3):
        tg.ones(3, requires_grad=True) * 2  # moves the slot counter on
    assert tg.viz.graph(small_mlp()[-1]) == first
    assert tg.viz.graph(small_mlp()[-1]) == tg.viz.graph(small_mlp()[-1])


def test_graph_survives_backward():
    x, w, b, h, loss = small_mlp()
    before = tg.viz.graph(loss)
    loss.backward()  # frees the saved values
    assert tg.viz.graph(loss) == before


def test_shared_inputs_and_diamonds():
    x = tg.tensor(np.arange(3.0), requires_grad=True)
    a = x.sin()
    y = a * a + x
    text = tg.viz.graph(y, names={x: "x"})
    assert labels(text) == {
        "n1": "x\n(3,)",
        "n2": "SinBackward0\n(3,)",
        "n3": "MulBackward0\n(3,)",
        "n4": "AddBackward0\n(3,)",
    }
    # a * a draws one edge, not two.
    assert edges(text) == [("n1", "n2"), ("n2", "n3"), ("n3", "n4"), ("n1", "n4")]


def test_constants_are_not_nodes():
    x = tg.tensor(np.ones(3), requires_grad=True)
    y = x * tg.tensor(np.arange(3.0)) + 1.0
    text = tg.viz.graph(y)
    assert list(labels(text).values()) == ["(3,)", "MulBackward0\n(3,)", "AddBackward0\n(3,)"]


def test_shapes_of_shape_and_index_operations():
    x = tg.tensor(np.ones((2, 3, 4)), requires_grad=True)
    y = x.reshape(6, 4).T[1:3].sum(dim=0)
    z = y[tg.tensor(np.array([0, 0, 5]))]
    text = tg.viz.graph(z)
    assert list(labels(text).values()) == [
        "(2, 3, 4)",
        "ViewBackward0\n(6, 4)",
        "PermuteBackward0\n(4, 6)",
        "SliceBackward0\n(2, 6)",
        "SumBackward1\n(6,)",
        "IndexBackward0\n(3,)",
    ]


def test_shapes_agree_with_the_tape_listing():
    x = tg.tensor(np.linspace(0.5, 2.0, 12).reshape(3, 4), requires_grad=True)
    v = tg.tensor(np.ones(4), requires_grad=True)
    with tg.Tape() as tape:
        a = (x @ v).exp()
        b = x.T.reshape(2, 6).amax(dim=1)
        c = tg.logsumexp(x, dim=0) if hasattr(tg, "logsumexp") else x.sum(0)
        out = a.sum() + b.mean() * c.sum()
    out.backward()  # freed saved values must not matter
    text = tg.viz.graph(out)
    from_graph = sorted(
        (label.split("\n")[0], label.split("\n")[1])
        for label in labels(text).values()
        if "Backward" in label
    )
    from_tape = sorted((e.grad_fn_name, str(e.shape)) for e in tape)
    assert from_graph == from_tape


def test_multiple_roots_and_names_of_outputs():
    x = tg.tensor(np.ones(2), requires_grad=True)
    a = x * 3
    b = a.exp()
    c = a.sin()
    text = tg.viz.graph([b, c], names={x: "x", b: "b", c: "c"})
    assert labels(text) == {
        "n1": "x\n(2,)",
        "n2": "MulBackward0\n(2,)",
        "n3": "b = ExpBackward0\n(2,)",
        "n4": "c = SinBackward0\n(2,)",
    }
    assert text.count("darkolivegreen1") == 2


def test_leaf_and_constant_roots():
    x = tg.tensor(np.ones((2, 2)), requires_grad=True)
    assert lines(tg.viz.graph(x, names={x: "x"})) == HEADER + [
        '    n1 [label="x\\n(2, 2)" fillcolor=darkolivegreen1]',
        "}",
    ]
    assert lines(tg.viz.graph(tg.zeros(3))) == HEADER + [
        '    n1 [label="(3,)" fillcolor=darkolivegreen1]',
        "}",
    ]


def test_names_are_escaped():
    x = tg.tensor(np.ones(1), requires_grad=True)
    text = tg.viz.graph(x * 2, names={x: 'say "hi" \\ bye'})
    assert '[label="say \\"hi\\" \\\\ bye\\n(1,)" fillcolor=lightblue]' in text


def test_names_as_pairs():
    x = tg.tensor(np.ones(1), requires_grad=True)
    assert tg.viz.graph(x + 1, names=[(x, "x")]) == tg.viz.graph(x + 1, names={x: "x"})


def test_multi_output_entries():
    def rule(g, x, out):
        ga, gb = g
        return np.concatenate(
            [np.zeros(1) if ga is None else ga, np.zeros(2) if gb is None else gb]
        )

    split = Primitive("split_first", lambda xp, x: (x[:1].copy(), x[1:].copy()), (rule,), nout=2)
    x = tg.tensor(np.ones(3), requires_grad=True)
    head, tail = bind(split, (x,))
    y = head.sum() * tail.sum()
    text = tg.viz.graph(y)
    assert labels(text)["n2"] == "Split_firstBackward0\n(1,), (2,)"
    assert edges(text)[:3] == [("n1", "n2"), ("n2", "n3"), ("n2", "n4")]


def test_bad_arguments():
    with pytest.raises(TypeError, match="tensor or a sequence of tensors"):
        tg.viz.graph(np.ones(2))  # type: ignore[arg-type]
    x = tg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="format must be one of"):
        tg.viz.graph(x * 2, format="jpeg")


# --------------------------------------------------------------------------- rendering


def test_render_dot_file_needs_no_graphviz(tmp_path):
    x, *_, loss = small_mlp()
    path = tg.viz.render(loss, tmp_path / "g.dot", names={x: "x"})
    assert open(path).read() == tg.viz.graph(loss, names={x: "x"})


def test_render_without_dot_names_the_program(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    x = tg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="Graphviz's 'dot' program, which was not found"):
        tg.viz.render(x * 2, tmp_path / "g.svg")
    with pytest.raises(RuntimeError, match="'dot'"):
        tg.viz.graph(x * 2, format="svg")
    assert not (tmp_path / "g.svg").exists()


def test_render_unknown_extension(tmp_path):
    x = tg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="cannot tell the format"):
        tg.viz.render(x * 2, tmp_path / "g.bmpx")


@needs_dot
def test_render_svg(tmp_path):
    x, w, b, h, loss = small_mlp()
    path = tg.viz.render(loss, tmp_path / "mlp.svg", names={x: "x", w: "w"})
    svg = open(path).read()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:400]
    for text in ("MmBackward0", "TanhBackward0", "MeanBackward0", "(3, 2)"):
        assert text in svg
    assert svg.count('<g id="node') == 8
    assert svg.count('<g id="edge') == 7


@needs_dot
def test_render_png_and_svg_text(tmp_path):
    *_, loss = small_mlp()
    path = tg.viz.render(loss, tmp_path / "mlp.png")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tg.viz.graph(loss, format="svg")
    assert isinstance(svg, str) and "SumBackward0" not in svg and "MeanBackward0" in svg


def test_doctests():
    result = doctest.testmod(tapegrad.viz)
    assert result.attempted > 0
    assert result.failed == 0


def test_users_operations_are_drawn_without_running_their_code_again():
    calls = []

    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            calls.append("forward")
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * a**2

    x = tg.tensor(np.ones((2, 2)), requires_grad=True)
    y = Cube.apply(x)
    z = tg.checkpoint(lambda a: tg.sin(a).sum(0))(y)
    text = tg.viz.graph(z.sum())
    assert calls == ["forward"]
    assert list(labels(text).values()) == [
        "(2, 2)",
        "CubeBackward\n(2, 2)",
        "CheckpointFunctionBackward\n(2,)",
        "SumBackward0\n()",
    ]
