"""Sphinx extension for the tapegrad documentation.

Three directives build parts of the site from the code and the data present at build time:

``.. tapegrad-api:: PAGE``
    One page of the API reference. The page's sections name the objects of a topic; every
    public name of the walked namespaces that no section names lands in a catch-all section,
    so a name added to the package appears in the reference without editing these pages.

``.. tapegrad-graph::``
    Runs the Python code in its content and draws the computation graph of the tensor named by
    ``:root:`` with :func:`tapegrad.viz.graph`. With Graphviz's ``dot`` on ``PATH`` the picture
    is inlined as SVG; without it the DOT text is shown instead, and nothing warns.

``.. tapegrad-benchmarks::``
    The tables of a benchmark run: every row's time relative to the NumPy floor for every
    library, the memory rows, tapegrad's goals and verdicts, and the median time per step;
    with ``:chart:``, the run's chart below them. The figures come from
    ``benchmarks/results/latest.json`` (and ``latest.png``) when a run left them there, else
    from those kept with the documentation: ``docs/_data/benchmarks.json`` and
    ``docs/_static/benchmarks.png``.

Two event handlers tidy the API reference: functions whose trailing parameters bind a
primitive (``tg.sin`` is ``bind1``'s body with the primitive as a default argument) show the
user's signature only, and docstrings listed in ``tapegrad_untested_docstrings`` keep their
examples as highlighted code that the doctest builder does not run (see ``conf.py``).
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import posixpath
import re
import shutil
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------------
# API reference: topics
# ---------------------------------------------------------------------------------------------


@dataclass
class Section:
    """A titled group of objects of one namespace on an API page."""

    title: str
    module: str
    #: Space-separated names, in the order they are shown.
    names: str = ""
    intro: str = ""
    #: Collect the namespace's public names that no section of any page lists.
    rest: bool = False
    #: Only callables (functions and classes) are collected by ``rest``.
    rest_callables: bool = False
    #: Start with the module's docstring.
    module_doc: bool = False


#: Sub-namespaces of ``tapegrad`` that have pages (or sections) of their own.
DOCUMENTED_SUBMODULES = {
    "autograd",
    "nn",
    "optim",
    "testing",
    "viz",
    "numpy",
    "linalg",
    "special",
}

#: Implementation modules that ``tapegrad.__all__`` happens to list. They are described in
#: one line each; the objects worth knowing from them are documented on the pages.
INTERNAL_MODULES_NOTE = (
    "The package is split into implementation modules. Their contents are internal, except "
    "for the objects documented on these pages; each is described here by its docstring."
)

PAGES: dict[str, list[Section]] = {
    "tensor": [
        Section(
            "The Tensor class",
            "tapegrad",
            "Tensor",
            "A :class:`~tapegrad.Tensor` wraps a NumPy (or CuPy) array and, when it requires "
            "grad, the slot of the tape entry that produced it.",
        ),
        Section(
            "Making tensors from data",
            "tapegrad",
            "tensor as_tensor from_numpy FloatTensor DoubleTensor LongTensor",
        ),
        Section(
            "Grad mode",
            "tapegrad",
            "no_grad enable_grad set_grad_enabled is_grad_enabled",
            "Whether operations are recorded is a per-thread switch. Each of these works as a "
            "context manager and as a decorator.",
        ),
        Section("Saving and loading", "tapegrad", "save load"),
    ],
    "creation": [
        Section(
            "Filled tensors",
            "tapegrad",
            "zeros ones empty full eye zeros_like ones_like empty_like full_like",
            "Shapes are given as a tuple or as separate integers; every function takes "
            "``dtype=``, ``device=`` and ``requires_grad=``.",
        ),
        Section("Ranges", "tapegrad", "arange linspace"),
        Section(
            "Random tensors",
            "tapegrad",
            "manual_seed randn rand randint randn_like rand_like randint_like",
            ":func:`~tapegrad.manual_seed` makes the random functions reproducible.",
        ),
    ],
    "operations": [
        Section(
            "Arithmetic",
            "tapegrad",
            "add sub subtract mul multiply div divide true_divide floor_divide remainder neg "
            "negative pow reciprocal square sqrt abs absolute sign floor ceil trunc round clamp "
            "clip maximum "
            "minimum hypot where frac fmod xlogy heaviside float_power nan_to_num deg2rad rad2deg",
            "Functions with PyTorch's names and arguments (``dim``, ``keepdim``). They take "
            "tensors, NumPy arrays and Python scalars, and record on the tape when an input "
            "requires grad.",
        ),
        Section(
            "Exponentials and logarithms",
            "tapegrad",
            "exp exp2 expm1 log log2 log10 log1p logaddexp logit",
        ),
        Section(
            "Trigonometric and hyperbolic functions",
            "tapegrad",
            "sin cos tan arcsin asin arccos acos arctan atan arctan2 atan2 sinh cosh tanh "
            "arcsinh asinh arccosh acosh arctanh atanh sinc",
        ),
        Section("Special functions", "tapegrad", "erf erfc erfinv"),
        Section("Activations", "tapegrad", "relu sigmoid softplus softmax log_softmax"),
        Section(
            "Reductions",
            "tapegrad",
            "sum mean prod max min amax amin argmax argmin var std norm logsumexp cumsum cumprod "
            "nansum nanmean median kthvalue aminmax var_mean std_mean cummax cummin logcumsumexp "
            "diff",
        ),
        Section(
            "Shapes, joining and splitting",
            "tapegrad",
            "reshape flatten ravel squeeze unsqueeze t transpose permute swapaxes swapdims "
            "moveaxis movedim broadcast_to cat concat concatenate stack split chunk unbind flip "
            "roll tile repeat_interleave clone unflatten fliplr flipud rot90 atleast_1d atleast_2d "
            "atleast_3d meshgrid cartesian_prod block_diag",
        ),
        Section(
            "Indexing and selection",
            "tapegrad",
            "take take_along_dim gather narrow select diag diagonal tril triu masked_select "
            "index_add index_fill scatter scatter_add scatter_reduce msort tril_indices "
            "triu_indices",
        ),
        Section(
            "Linear algebra",
            "tapegrad",
            "matmul mm bmm mv dot vdot inner outer ger einsum tensordot kron trace det slogdet "
            "inverse addmv addr baddbmm addbmm cdist",
        ),
        Section(
            "Tests and searches",
            "tapegrad",
            "eq ne lt le gt ge not_equal less less_equal greater greater_equal logical_and "
            "logical_or logical_xor logical_not isclose isnan isinf isfinite signbit all any "
            "nonzero argwhere count_nonzero argsort allclose equal numel is_tensor "
            "is_floating_point is_complex",
            "Their results are booleans, indices or counts: they record nothing and carry no "
            "gradient.",
        ),
        Section(
            "More operations",
            "tapegrad",
            rest=True,
            rest_callables=True,
            intro="Further functions at the top level of the package.",
        ),
        Section("tapegrad.linalg", "tapegrad.linalg", rest=True),
        Section("tapegrad.special", "tapegrad.special", rest=True),
    ],
    "transforms": [
        Section(
            "Gradients",
            "tapegrad",
            "grad value_and_grad",
            "Transforms take a function and return a function. The function may take and "
            "return tensors, NumPy arrays, Python scalars and pytrees (nested tuples, lists "
            "and dicts) of them; transforms nest to any order.",
        ),
        Section("Vector-Jacobian and Jacobian-vector products", "tapegrad", "vjp jvp"),
        Section("Jacobians and Hessians", "tapegrad", "jacrev jacfwd jacobian hessian"),
        Section("Vectorising", "tapegrad", "vmap"),
        Section("Memory", "tapegrad", "checkpoint"),
        Section(
            "Replaying a recording",
            "tapegrad",
            "jit",
            "``jit`` records the NumPy calls a function makes, transforms included, and "
            "replays them on later calls: the same results without the per-operation cost of "
            "the tape.",
        ),
        Section("", "tapegrad.replay.jit", "Jitted"),
    ],
    "autograd": [
        Section(
            "PyTorch's functional API",
            "tapegrad.autograd",
            "grad backward",
        ),
        Section(
            "Operations with their own derivatives",
            "tapegrad",
            "custom_vjp custom_jvp",
            "JAX's decorators, and PyTorch's :class:`tapegrad.autograd.Function` below, both "
            "turn a Python function into one entry on the tape whose rules you supply.",
        ),
        Section("", "tapegrad.autograd", "Function FunctionCtx"),
        Section(
            "Saved-tensor hooks",
            "tapegrad.autograd.graph",
            "saved_tensors_hooks disable_saved_tensors_hooks save_on_cpu",
            "What the tape saves for the backward sweep can be packed when it is saved and "
            "unpacked when the sweep reads it.",
        ),
        Section("Checking gradients", "tapegrad.autograd", "gradcheck"),
        Section("Other names", "tapegrad.autograd", rest=True),
    ],
    "tape": [
        Section(
            "Recording a block",
            "tapegrad",
            "Tape",
            "``print(tape)`` lists what a block recorded.",
        ),
        Section("", "tapegrad.tape_view", "TapeEntry"),
        Section("Drawing the graph", "tapegrad.viz", "graph render"),
        Section("Other names of tapegrad.viz", "tapegrad.viz", rest=True),
        Section(
            "Primitives",
            "tapegrad.primitive",
            "Primitive bind unary_op binary_op OUT",
            "The building blocks of every operation; :doc:`/primitives` walks through adding one.",
        ),
        Section("", "tapegrad.batching", "register"),
    ],
    "nn": [
        Section(
            "Modules and parameters",
            "tapegrad.nn",
            "Module Parameter IncompatibleKeys",
        ),
        Section(
            "Containers",
            "tapegrad.nn",
            "Sequential ModuleList ModuleDict ParameterList ParameterDict",
        ),
        Section(
            "Layers",
            "tapegrad.nn",
            "Linear Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d MaxPool1d MaxPool2d "
            "AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool1d "
            "AdaptiveMaxPool2d Flatten Unflatten Dropout Dropout1d Dropout2d Dropout3d "
            "AlphaDropout FeatureAlphaDropout LayerNorm GroupNorm BatchNorm1d "
            "BatchNorm2d InstanceNorm1d InstanceNorm2d Embedding Identity",
        ),
        Section(
            "Activations",
            "tapegrad.nn",
            "ReLU ReLU6 Tanh Sigmoid GELU SiLU Mish ELU SELU CELU LeakyReLU PReLU RReLU Softplus "
            "Softsign Hardtanh Hardswish Hardsigmoid Hardshrink Softshrink Tanhshrink Threshold "
            "GLU LogSigmoid Softmax Softmin LogSoftmax",
        ),
        Section(
            "Losses",
            "tapegrad.nn",
            "CrossEntropyLoss NLLLoss MSELoss L1Loss SmoothL1Loss HuberLoss BCEWithLogitsLoss "
            "BCELoss KLDivLoss",
        ),
        Section("More modules", "tapegrad.nn", rest=True),
        Section(
            "Initialisers (tapegrad.nn.init)",
            "tapegrad.nn.init",
            rest=True,
            intro="In-place initialisers of parameters, with PyTorch's names and defaults.",
        ),
    ],
    "functional": [
        Section(
            "Activations",
            "tapegrad.nn.functional",
            "relu relu6 hardtanh leaky_relu rrelu prelu elu selu celu gelu silu mish hardswish "
            "hardsigmoid hardshrink softshrink tanhshrink threshold glu sigmoid logsigmoid tanh "
            "softsign softplus softmax softmin log_softmax relu_ hardtanh_ leaky_relu_ rrelu_ "
            "elu_ selu_ celu_ threshold_",
            "The examples on this page use ``import tapegrad.nn.functional as F``.",
        ),
        Section(
            "Layers",
            "tapegrad.nn.functional",
            "linear dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout "
            "pad embedding one_hot layer_norm batch_norm group_norm instance_norm normalize",
        ),
        Section(
            "Convolution and pooling",
            "tapegrad.nn.functional",
            "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
            "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d "
            "adaptive_avg_pool1d adaptive_avg_pool2d adaptive_max_pool1d adaptive_max_pool2d",
        ),
        Section(
            "Losses",
            "tapegrad.nn.functional",
            "mse_loss l1_loss smooth_l1_loss huber_loss nll_loss cross_entropy "
            "binary_cross_entropy binary_cross_entropy_with_logits kl_div",
        ),
        Section("More functions", "tapegrad.nn.functional", rest=True),
    ],
    "optim": [
        Section("Optimisers", "tapegrad.optim", "SGD Adam AdamW"),
        Section("Base class", "tapegrad.optim", "Optimizer"),
        Section("More names", "tapegrad.optim", rest=True),
    ],
    "testing": [
        Section("Finite differences", "tapegrad.testing", "check_grads"),
        Section(
            "Hypothesis strategies (tapegrad.testing.strategies)",
            "tapegrad.testing.strategies",
            rest=True,
            intro="Strategies for property-based tests of your own functions; they need the "
            "`Hypothesis <https://hypothesis.readthedocs.io>`_ package.",
        ),
        Section("More names", "tapegrad.testing", rest=True),
    ],
    "numpy": [
        Section("Functions", "tapegrad.numpy", rest=True),
        Section("tapegrad.numpy.linalg", "tapegrad.numpy.linalg", rest=True, module_doc=True),
        Section("tapegrad.numpy.random", "tapegrad.numpy.random", rest=True, module_doc=True),
    ],
}

#: Top-level names that go in the data types table rather than in sections.
DTYPE_PAGE = "tensor"


def _import(modname: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(modname)
    except ImportError:
        return None


def public_names(modname: str) -> list[str]:
    """The public names of a namespace: its ``__all__`` or, without one, what tapegrad defines
    there (names imported from NumPy, ``typing`` and the like are left out).

    A namespace package with nothing in it (a directory being filled) has no public names.
    """
    mod = _import(modname)
    if mod is None:
        return []
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(mod).items()
            if not n.startswith("_")
            and not isinstance(v, types.ModuleType)
            and str(getattr(v, "__module__", modname)).startswith("tapegrad")
        ]
    out = []
    for n in names:
        if n.startswith("_") or not hasattr(mod, n):
            continue
        value = getattr(mod, n)
        # ``from __future__ import annotations`` leaves a feature object behind.
        if type(value).__name__ == "_Feature":
            continue
        out.append(n)
    return out


def _is_dtype(value: Any) -> bool:
    return isinstance(value, np.dtype)


def _is_foreign(value: Any) -> bool:
    """Whether a value is another library's object re-exported as it is (``tnp.ndarray``,
    ``tnp.pi``). Those are listed by name, not documented with their own docstrings."""
    if isinstance(value, types.ModuleType):
        return not value.__name__.startswith("tapegrad")
    module = getattr(value, "__module__", None)
    if not isinstance(module, str):
        module = type(value).__module__
        if module == "builtins" and not isinstance(value, (dict, list, tuple, set)):
            return True  # numbers, None (``newaxis``)
        if module == "builtins":
            return False
    return not module.startswith("tapegrad")


def listed_names() -> set[tuple[str, str]]:
    """``(module, name)`` of every name that a section lists explicitly."""
    return {(s.module, n) for sections in PAGES.values() for s in sections for n in s.names.split()}


def rest_of(section: Section) -> list[str]:
    """The names a catch-all section collects: public, not listed, not shown elsewhere."""
    listed = listed_names()
    mod = _import(section.module)
    names = []
    for n in public_names(section.module):
        if (section.module, n) in listed:
            continue
        value = getattr(mod, n)
        if isinstance(value, types.ModuleType):
            continue
        if section.module == "tapegrad" and _is_dtype(value):
            continue
        if section.rest_callables and not callable(value):
            continue
        names.append(n)
    if section.module == "tapegrad" and not section.rest_callables:
        return names
    return sorted(names, key=str.lower) if section.module != "tapegrad.numpy" else names


def top_level_leftovers() -> list[str]:
    """Top-level names that are neither callables, modules nor dtypes (documented as data)."""
    mod = _import("tapegrad")
    listed = listed_names()
    out = []
    for n in public_names("tapegrad"):
        value = getattr(mod, n)
        if ("tapegrad", n) in listed or callable(value) or _is_dtype(value):
            continue
        if isinstance(value, types.ModuleType):
            continue
        out.append(n)
    return out


def internal_modules() -> list[str]:
    """Submodules listed in ``tapegrad.__all__`` that are implementation detail."""
    mod = _import("tapegrad")
    out = []
    for n in public_names("tapegrad"):
        value = getattr(mod, n)
        if isinstance(value, types.ModuleType) and n not in DOCUMENTED_SUBMODULES:
            out.append(n)
    return sorted(out)


def _object_lines(modname: str, name: str) -> list[str]:
    """The autodoc directive for one object."""
    mod = _import(modname)
    value = getattr(mod, name)
    full = f"{modname}.{name}"
    if inspect.isclass(value):
        lines = [f".. autoclass:: {full}", "   :members:"]
        if issubclass(value, Exception):
            lines = [f".. autoexception:: {full}"]
        elif name == "Tensor":
            lines += ["   :undoc-members:", "   :member-order: alphabetical"]
        else:
            bases = [b for b in value.__bases__ if b is not object]
            if bases:
                lines.append("   :show-inheritance:")
        return lines
    if isinstance(value, types.ModuleType):
        return [f".. automodule:: {full}", "   :no-members:"]
    if callable(value):
        return [f".. autofunction:: {full}"]
    # Module-level data: described by its ``#:`` comment, when it has one.
    doc: list[str] = []
    try:
        from sphinx.pycode import ModuleAnalyzer

        doc = list(ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", name), []))
    except Exception:  # noqa: BLE001 - no source to analyse
        doc = []
    if not doc:
        doc = [f"An object of type ``{type(value).__name__}``."]
    lines = [f".. py:data:: {name}", f"   :module: {modname}", ""]
    return lines + [f"   {line}" if line.strip() else "" for line in doc]


def _foreign_lines(modname: str, names: list[str]) -> list[str]:
    """Short entries for names that another library's objects fill (``tnp.ndarray``).

    They get targets of their own, so that types named in signatures and docstrings
    (``dtype``, ``ndarray``) resolve to them rather than to look-alike attributes.
    """
    mod = _import(modname)
    lines = [
        f"These names of ``{modname}`` are NumPy's (or Python's) own objects, re-exported "
        "unchanged.",
        "",
        f".. currentmodule:: {modname}",
        "",
    ]
    for n in names:
        value = getattr(mod, n)
        origin = getattr(value, "__module__", None)
        qual = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if inspect.isclass(value):
            kind = "exception" if issubclass(value, BaseException) else "class"
        elif callable(value):
            kind = "function"
        else:
            kind = "data"
        lines += [f".. py:{kind}:: {n}"]
        if kind == "data":
            lines += [f"   :value: {value!r}"]
        lines += ["   :no-contents-entry:", ""]
        if isinstance(origin, str) and qual:
            lines += [f"   ``{origin}.{qual}``.", ""]
        else:
            lines += [f"   A constant of type ``{type(value).__name__}``.", ""]
    return lines


def _summary_lines(modname: str, names: Iterable[str]) -> list[str]:
    mod = _import(modname)
    entries = [n for n in names if callable(getattr(mod, n))]
    if len(entries) < 2:
        return []
    # autosummary wants names relative to the current module.
    lines = [f".. currentmodule:: {modname}", "", ".. autosummary::", "   :nosignatures:", ""]
    lines += [f"   {n}" for n in entries]
    return lines + [""]


def _underline(title: str) -> list[str]:
    return [title, "-" * len(title), ""]


def _dtype_lines() -> list[str]:
    mod = _import("tapegrad")
    by_dtype: dict[np.dtype, list[str]] = {}
    for n in public_names("tapegrad"):
        value = getattr(mod, n)
        if _is_dtype(value):
            by_dtype.setdefault(value, []).append(n)
    if not by_dtype:
        return []
    lines = _underline("Data types")
    lines += [
        "Data types are NumPy dtypes: ``tg.float32 is np.dtype('float32')``, and a tensor's "
        "``.dtype`` is the dtype of its array. PyTorch's aliases name the same objects.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - name",
        "     - aliases",
        "     - NumPy dtype",
    ]
    canonical = {}
    for dt, names in by_dtype.items():
        # The name that equals the dtype's own name comes first.
        names = sorted(names, key=lambda n: (n != dt.name, len(n), n))
        canonical[names[0]] = (dt, names[1:])
    for name in sorted(canonical, key=lambda n: (canonical[n][0].kind, canonical[n][0].itemsize)):
        dt, aliases = canonical[name]
        alias_text = ", ".join(f":py:data:`tg.{a} <tapegrad.{a}>`" for a in aliases) or "—"
        lines += [
            f"   * - :py:data:`tg.{name} <tapegrad.{name}>`",
            f"     - {alias_text}",
            f"     - ``np.dtype('{dt.name}')``",
        ]
    lines.append("")
    lines += [".. currentmodule:: tapegrad", ""]
    for name in sorted(canonical):
        dt, aliases = canonical[name]
        lines += [f".. py:data:: {name}", f"   :value: np.dtype('{dt.name}')", ""]
        lines += [f"   The ``{dt.name}`` data type.", ""]
        for alias in aliases:
            lines += [f".. py:data:: {alias}", f"   :value: np.dtype('{dt.name}')", ""]
            lines += [f"   Another name of :py:data:`tapegrad.{name}`.", ""]
    return lines


def page_lines(page: str) -> list[str]:
    """The reST of one API page."""
    lines: list[str] = []
    for section in PAGES[page]:
        mod = _import(section.module)
        if mod is None:
            continue
        if section.rest:
            names = rest_of(section)
        else:
            names = [n for n in section.names.split() if hasattr(mod, n)]
        own = [n for n in names if not _is_foreign(getattr(mod, n))]
        foreign = [n for n in names if _is_foreign(getattr(mod, n))]
        if not names and not section.module_doc:
            continue
        if section.title:
            lines += _underline(section.title)
        if section.module_doc:
            lines += [f".. automodule:: {section.module}", "   :no-members:", ""]
        if section.intro:
            lines += [section.intro, ""]
        lines += _summary_lines(section.module, own)
        for n in own:
            lines += _object_lines(section.module, n) + [""]
        if foreign:
            lines += _foreign_lines(section.module, foreign)
    if page == DTYPE_PAGE:
        lines += _dtype_lines()
        extra = top_level_leftovers()
        if extra:
            lines += _underline("Other names")
            for n in extra:
                lines += _object_lines("tapegrad", n) + [""]
    if page == "tape":
        modules = internal_modules()
        if modules:
            lines += _underline("Implementation modules")
            lines += [INTERNAL_MODULES_NOTE, ""]
            for n in modules:
                lines += [f".. automodule:: tapegrad.{n}", "   :no-members:", ""]
    if page == "numpy" and not public_names("tapegrad.numpy"):
        lines += [
            ".. note::",
            "",
            "   ``tapegrad.numpy`` has no functions in the version of tapegrad this page was "
            "built from.",
            "",
        ]
    return lines


class ApiDirective(SphinxDirective):
    """``.. tapegrad-api:: PAGE``: the sections of one API reference page."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        page = self.arguments[0]
        if page not in PAGES:
            raise self.error(f"unknown API page {page!r}; known: {', '.join(sorted(PAGES))}")
        lines = page_lines(page)
        # Re-read the page when a namespace it walks changes (a name added to ``__all__``).
        for section in PAGES[page]:
            mod = _import(section.module)
            path = getattr(mod, "__file__", None)
            if path:
                self.env.note_dependency(path)
        container = nodes.section()
        container.document = self.state.document
        source = f"<tapegrad-api {page}>"
        content = StringList(lines, source=source)
        nested_parse_with_titles(self.state, content, container)
        return container.children


# ---------------------------------------------------------------------------------------------
# API reference: signatures and untested docstrings
# ---------------------------------------------------------------------------------------------


def _strip_bound_primitive(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Drop the parameters that bind a primitive (``prim=Primitive('sin'), params=None``)."""
    if what not in ("function", "method") or signature is None:
        return None
    defaults = getattr(obj, "__defaults__", None)
    if not defaults:
        return None
    from tapegrad.primitive import Primitive

    if not any(isinstance(d, Primitive) for d in defaults):
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    kept = []
    for p in sig.parameters.values():
        if isinstance(p.default, Primitive):
            break
        kept.append(p)
    if what == "method" and kept:
        kept = kept[1:]  # the tensor the method is called on
    new = sig.replace(parameters=kept, return_annotation=inspect.Signature.empty)
    text = str(new)
    return text, return_annotation


_PROMPT = re.compile(r"^(\s*)>>>")


def _untested_examples(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Show the examples of listed docstrings as code that the doctest builder skips."""
    listed = app.config.tapegrad_untested_docstrings
    qual = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
    if name not in listed and qual not in listed:
        return
    out: list[str] = []
    in_block = False
    indent = ""
    for line in lines:
        m = _PROMPT.match(line)
        if not in_block and m:
            indent = m.group(1)
            out += [f"{indent}.. code-block:: pycon", ""]
            in_block = True
        if in_block:
            if not line.strip():
                in_block = False
                out.append(line)
                continue
            out.append(f"{indent}   {line[len(indent) :]}")
        else:
            out.append(line)
    lines[:] = out


# ---------------------------------------------------------------------------------------------
# Graph pictures
# ---------------------------------------------------------------------------------------------


def _svg_body(svg: str) -> str:
    """The ``<svg>`` element of Graphviz's output, without the XML prolog and doctype."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


class GraphDirective(SphinxDirective):
    """``.. tapegrad-graph::``: run code and draw the graph behind one of its tensors.

    Options: ``:root:`` an expression for the tensor (or tuple of tensors) to draw;
    ``:names:`` space-separated variable names to label in the picture; ``:caption:``;
    ``:hide-code:`` to show the picture only.
    """

    has_content = True
    option_spec = {
        "root": directives.unchanged_required,
        "names": directives.unchanged,
        "caption": directives.unchanged,
        "hide-code": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        import tapegrad as tg

        code = "\n".join(self.content)
        namespace: dict[str, Any] = {"np": np, "tg": tg}
        try:
            exec(compile(code, f"<{self.env.docname}: tapegrad-graph>", "exec"), namespace)
            root = eval(self.options.get("root", "y"), namespace)
            names = [(namespace[n], n) for n in self.options.get("names", "").split()]
            dot_text = tg.viz.graph(root, names=names)
        except Exception as exc:  # noqa: BLE001 - reported as a build error
            raise self.error(f"tapegrad-graph: the code failed: {exc!r}") from exc

        result: list[nodes.Node] = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code)
            block["language"] = "python"
            result.append(block)

        figure = nodes.container(classes=["tapegrad-graph"])
        if shutil.which("dot") is not None:
            svg = tg.viz.graph(root, names=names, format="svg")
            figure += nodes.raw(
                "", f"<div class='tapegrad-graph-svg'>{_svg_body(svg)}</div>", format="html"
            )
            # Builders other than HTML get the DOT text.
            other = addnodes.only(expr="not html")
            other += nodes.literal_block(dot_text, dot_text)
            figure += other
        else:
            note = nodes.paragraph(
                "",
                "Graphviz's dot program was not available when this page was built, so the "
                "graph is shown as its DOT text.",
                classes=["tapegrad-graph-note"],
            )
            figure += note
            block = nodes.literal_block(dot_text, dot_text)
            block["language"] = "text"
            figure += block
        caption = self.options.get("caption")
        if caption:
            para = nodes.paragraph()
            para["classes"].append("tapegrad-graph-caption")
            parsed, _ = self.state.inline_text(caption, self.lineno)
            para += parsed
            figure += para
        result.append(figure)
        return result


# ---------------------------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------------------------

LIBRARY_ORDER = (
    "numpy",
    "tapegrad",
    "tapegrad-jit",
    "torch",
    "jax",
    "jax-jit",
    "autograd",
    "mygrad",
)
#: Column headings: what runs, in words, rather than the harness's names.
LIBRARY_TITLES = {
    "numpy": "NumPy by hand",
    "tapegrad": "tapegrad (eager)",
    "tapegrad-jit": "tapegrad (tg.jit)",
    "torch": "PyTorch",
    "jax": "JAX (op by op)",
    "jax-jit": "JAX (jax.jit)",
    "autograd": "HIPS autograd",
    "mygrad": "MyGrad",
}
#: How a goal names the library it is about, in the goal and verdict columns.
GOAL_NAMES = {"tapegrad": "eager", "tapegrad-jit": "tg.jit"}
#: Where the kept figures' chart lives (``*.png`` outside ``_static`` is not kept in git).
KEPT_CHART = Path("_static") / "benchmarks.png"


def format_seconds(seconds: float | None) -> str:
    """``1.23 ms``-style text with three significant figures."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def benchmark_source(srcdir: Path) -> tuple[Path, bool]:
    """The results file to show, and whether it is a fresh run (else the kept figures)."""
    live = REPOSITORY_ROOT / "benchmarks" / "results" / "latest.json"
    if live.is_file():
        try:
            json.loads(live.read_text(encoding="utf-8"))["rows"]
            return live, True
        except (ValueError, KeyError, TypeError):
            logger.info("benchmarks/results/latest.json is unreadable; using the kept figures")
    return srcdir / "_data" / "benchmarks.json", False


def benchmark_chart(path: Path, fresh: bool, srcdir: Path) -> Path:
    """The chart that goes with the results in ``path``."""
    return path.with_suffix(".png") if fresh else srcdir / KEPT_CHART


def _title(library: str) -> str:
    return LIBRARY_TITLES.get(library, library)


def _goal_row(goal: dict[str, Any]) -> list[str]:
    """One line of the goals table, from one goal record of ``latest.json``: the row, which
    tapegrad, the goal, the figure measured and the verdict."""
    library = goal.get("library", "tapegrad")
    limit = goal.get("limit")
    against = goal.get("against", "numpy")
    workload = goal.get("workload", "")
    row = goal.get("row") or workload
    label = _workload_label(workload) + row[len(workload) :] if row.startswith(workload) else row
    if against == "memory":
        what = f"≤\u00a0{limit:g} × the size of ``{goal.get('unit') or 'x'}``"
        unit = ""
    elif against == "numpy":
        what = f"≤\u00a0{limit:g}× NumPy by hand"
        unit = "×"
    else:
        what = f"≤\u00a0{limit:g}× {_title(library)} on {_workload_label(against)}"
        unit = "×"
    measured = goal.get("measured")
    if measured is None:
        note = goal.get("note")
        figure, verdict = "—", f"not measured ({note})" if note else "not measured"
    else:
        figure, verdict = f"{measured:.2f}{unit}", "met" if measured <= limit else "missed"
    return [label, _title(library), what, figure, verdict]


def _seconds_cell(seconds: float | None) -> str:
    # A no-break space keeps the number and its unit on one line.
    return "—" if seconds is None else format_seconds(seconds).replace(" ", "\u00a0")


def _time_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    if row.get("status") != "ok" or row.get("ratio_to_numpy") is None:
        return str(row.get("status") or "—")
    return f"{row['ratio_to_numpy']:.2f}×"


def _memory_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    multiple = row.get("peak_extra_multiple")
    if multiple is not None:
        return f"{multiple:.2f}"
    if row.get("status") != "ok":
        return str(row.get("status") or "—")
    return "not measured"


def _list_table(
    caption: str, header: list[str], body: list[list[str]], stubs: int = 1
) -> list[str]:
    lines = [
        f".. list-table:: {caption}",
        "   :header-rows: 1",
        f"   :stub-columns: {stubs}",
        "   :widths: auto",
        "   :class: tapegrad-bench-table",
        "",
    ]
    for cells in [header, *body]:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    lines.append("")
    return lines


def _workload_label(name: str) -> str:
    return f"``{name}``"


def benchmark_lines(data: dict[str, Any], fresh: bool) -> list[str]:
    """reST for the figures in ``data`` (the JSON that ``benchmarks/run.py`` writes).

    A table of times relative to the NumPy floor, with a memory row under each workload whose
    memory was measured; when the file records them, a table of tapegrad's goals with the
    figures they were judged on and the verdicts; the median time of one step; why any cell
    is empty; and where the figures come from. Files written before goals and memory were
    recorded show without those tables and rows.
    """
    rows = data.get("rows", [])
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    libraries = [lib for lib in LIBRARY_ORDER if any(r["library"] == lib for r in rows)]
    libraries += sorted({r["library"] for r in rows} - set(libraries))
    cell = {(r["workload"], r["library"]): r for r in rows}
    memory_goals = {
        g.get("workload") for g in data.get("goals") or [] if g.get("against") == "memory"
    }

    header = ["row", *(_title(lib) for lib in libraries)]
    body = []
    for w in workloads:
        body.append([_workload_label(w), *(_time_cell(cell.get((w, lib))) for lib in libraries)])
        measured = any(
            (cell.get((w, lib)) or {}).get("peak_extra_multiple") is not None for lib in libraries
        )
        if w in memory_goals or measured:
            memory = [_memory_cell(cell.get((w, lib))) for lib in libraries]
            body.append([f"{_workload_label(w)} memory", *memory])
    lines = _list_table(
        "Time of one step relative to NumPy by hand (lower is faster); a memory row gives the "
        "peak extra memory of one step in multiples of the size of its input",
        header,
        body,
    )

    goal_rows = [_goal_row(goal) for goal in data.get("goals") or []]
    if goal_rows:
        lines += _list_table(
            "tapegrad's goals",
            ["row", "library", "goal", "measured", "verdict"],
            goal_rows,
            stubs=2,
        )

    def seconds(w: str, lib: str) -> float | None:
        return (cell.get((w, lib)) or {}).get("median_seconds")

    timed = [w for w in workloads if any(seconds(w, lib) for lib in libraries)]
    if timed:
        body = [
            [_workload_label(w), *(_seconds_cell(seconds(w, lib)) for lib in libraries)]
            for w in timed
        ]
        lines += _list_table(
            "Median time of one step", ["row", *(_title(lib) for lib in libraries)], body
        )

    # Why cells are empty: one line per library and reason, naming the rows it covers.
    reasons: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        status = r.get("status")
        if status in ("skipped", "failed"):
            message = (r.get("message") or "").strip().splitlines()
            reason = message[-1] if message else status
            reasons.setdefault((r["library"], f"{status}: {reason}"), []).append(r["workload"])
        memory_message = (r.get("memory_message") or "").strip()
        if status == "ok" and r.get("peak_extra_multiple") is None and memory_message:
            key = (r["library"], f"memory not measured: {memory_message.splitlines()[-1]}")
            reasons.setdefault(key, []).append(r["workload"])
    if reasons:
        lines += ["Empty cells:", ""]
        for (library, reason), names in reasons.items():
            where = (
                "every row"
                if set(names) == set(workloads)
                else ", ".join(_workload_label(n) for n in names)
            )
            lines.append(f"* {_title(library)} on {where}: {reason.rstrip('.')}.")
        lines.append("")

    env = data.get("environment", {})
    versions = env.get("versions", {})
    plan = data.get("plan") or {}
    where = (
        "These figures were read from ``benchmarks/results/latest.json`` when this page was built."
        if fresh
        else "These are the figures kept with the documentation (``docs/_data/benchmarks.json``)."
    )
    detail = []
    if env.get("date"):
        detail.append(f"measured on {env['date'][:10]}")
    if env.get("python"):
        detail.append(f"Python {env['python']}")
    if env.get("cpu_count"):
        detail.append(f"{env['cpu_count']} CPUs (one thread per library)")
    if versions:
        # tapegrad-jit and jax-jit are the versions of tapegrad and JAX again.
        shown = {
            k: v
            for k, v in versions.items()
            if v and not (k.endswith("-jit") and k.removesuffix("-jit") in versions)
        }
        detail.append(", ".join(f"{k} {v}" for k, v in sorted(shown.items())))
    if plan.get("blocks"):
        detail.append(
            f"{plan['blocks']} timing blocks of {plan.get('block_seconds', '?')} s per row"
        )
    if detail:
        detail[0] = detail[0][0].upper() + detail[0][1:]
        where += " " + "; ".join(detail) + "."
    lines += [where, ""]
    return lines


class BenchmarksDirective(SphinxDirective):
    """``.. tapegrad-benchmarks::``: the tables of the last benchmark run, and its chart."""

    has_content = False
    option_spec = {"chart": directives.flag}

    def run(self) -> list[nodes.Node]:
        srcdir = Path(self.env.srcdir)
        path, fresh = benchmark_source(srcdir)
        self.env.note_dependency(str(path))
        data = json.loads(path.read_text(encoding="utf-8"))
        lines = benchmark_lines(data, fresh)
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=str(path)), container)
        result = list(container.children)
        chart = benchmark_chart(path, fresh, srcdir)
        if "chart" in self.options and chart.is_file():
            self.env.note_dependency(str(chart))
            encoded = base64.b64encode(chart.read_bytes()).decode("ascii")
            result.append(
                nodes.raw(
                    "",
                    "<img class='tapegrad-bench-chart' alt='One panel per row: each "
                    "library's time relative to NumPy by hand, or its peak extra memory, "
                    f"with tapegrad's goal in red' src='data:image/png;base64,{encoded}'/>",
                    format="html",
                )
            )
        return result


# ---------------------------------------------------------------------------------------------
# Source pages
# ---------------------------------------------------------------------------------------------


def _follow_imported(app: Sphinx, modname: str, fullname: str) -> str | None:
    """Where ``sphinx.ext.viewcode`` looks for the source of a documented object: the module
    that defines it when that is part of tapegrad, else the module it is documented in (so
    that NumPy's re-exported objects get no source page of their own)."""
    if not modname or not modname.startswith("tapegrad"):
        return None
    obj: Any = _import(modname)
    for part in fullname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return modname
    owner = getattr(obj, "__module__", None)
    if isinstance(owner, str) and owner.startswith("tapegrad"):
        return owner
    return modname


def _find_source(app: Sphinx, modname: str) -> tuple[str, dict[str, Any]] | None:
    """The source and tags of a tapegrad module, read as ``sphinx.ext.viewcode`` reads them.

    Answering here makes viewcode write the module's page on every build. Left to itself it
    keeps a page that is newer than the module's file, and an incremental build then keeps
    a page without the anchors of objects that were added to the reference since.
    """
    if not modname.startswith("tapegrad"):
        return None
    from sphinx.pycode import ModuleAnalyzer

    try:
        analyzer = ModuleAnalyzer.for_module(modname)
        analyzer.find_tags()
    except Exception:  # noqa: BLE001 - viewcode then skips the module, as it would
        return None
    return analyzer.code, analyzer.tags


_BACKLINK = re.compile(r'(<a class="viewcode-back" href=")([^"#]*)#([^"]+)(")')


def _fix_viewcode_backlinks(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Point the ``[docs]`` links of highlighted source pages at the right anchors.

    ``sphinx.ext.viewcode`` keeps one module prefix per source module, so when objects of one
    module are documented under two prefixes (``tapegrad.Tape`` and
    ``tapegrad.tape_view.TapeEntry``) the links of one of them name an anchor that does not
    exist. Such a link is redirected to the object of the same name on the same page.
    """
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    objects = app.env.domains["py"].objects
    base = posixpath.dirname(pagename)

    def repair(match: re.Match[str]) -> str:
        href, anchor = match.group(2), match.group(3)
        if anchor in objects:
            return match.group(0)
        docname = posixpath.normpath(posixpath.join(base, href))
        docname = docname.removesuffix(".html")
        parts = anchor.split(".")
        for k in range(1, len(parts)):
            suffix = "." + ".".join(parts[k:])
            found = [
                name
                for name, entry in objects.items()
                if name.endswith(suffix) and entry.docname == docname
            ]
            if len(found) == 1:
                return f"{match.group(1)}{href}#{found[0]}{match.group(4)}"
        return match.group(0)

    context["body"] = _BACKLINK.sub(repair, context["body"])


# ---------------------------------------------------------------------------------------------


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("tapegrad_untested_docstrings", {}, "env")
    app.add_directive("tapegrad-api", ApiDirective)
    app.add_directive("tapegrad-graph", GraphDirective)
    app.add_directive("tapegrad-benchmarks", BenchmarksDirective)
    app.connect("autodoc-process-signature", _strip_bound_primitive)
    app.connect("autodoc-process-docstring", _untested_examples)
    app.connect("html-page-context", _fix_viewcode_backlinks)
    app.connect("viewcode-follow-imported", _follow_imported)
    app.connect("viewcode-find-source", _find_source)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
