"""Sphinx configuration for the tapegrad documentation.

Build with ``nox -s docs``, which runs the HTML and doctest builders with warnings as errors:

.. code-block:: sh

   python -m sphinx -W --keep-going -b html docs docs/_build/html
   python -m sphinx -W -b doctest docs docs/_build/doctest

Nothing here reaches the network. Parts of the site are made from what is present at build
time (see ``_ext/tapegrad_docs.py``): the API reference walks the package's namespaces, graph
pictures are drawn with Graphviz's ``dot`` when it is installed (and shown as DOT text when
it is not), and the benchmark table reads ``benchmarks/results/latest.json`` when a run left
one there.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

# Let the documentation build from a source checkout as well as from an installed package.
DOCS_ROOT = Path(__file__).resolve().parent
REPOSITORY_ROOT = DOCS_ROOT.parent
sys.path.insert(0, str(REPOSITORY_ROOT))
sys.path.insert(0, str(DOCS_ROOT / "_ext"))

FALLBACK_VERSION = "0.0.0+unknown"


def _package_version() -> str:
    """Return tapegrad's version: the package's own, the installed one, or a placeholder."""
    try:
        import tapegrad

        return str(tapegrad.__version__)
    except (ImportError, AttributeError):
        pass
    try:
        return metadata.version("tapegrad")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


project = "tapegrad"
author = "The tapegrad authors"
copyright = "the tapegrad authors"
release = _package_version()
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "tapegrad_docs",
]

exclude_patterns = ["_build", "_data", "_ext", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["tapegrad.css"]

# -- API reference ------------------------------------------------------------------------------

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_class_signature = "mixed"
autosummary_generate = False
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Attributes sections as field lists: a documented property is then described once.
napoleon_use_ivar = True

# Docstrings whose examples do not run against the package yet. Their examples are shown as
# code, not run by the doctest builder; each entry says why. Remove an entry once its example
# passes again.
tapegrad_untested_docstrings: dict[str, str] = {}

# -- Doctests -----------------------------------------------------------------------------------

# The names the examples in docstrings take for granted.
doctest_global_setup = """
import numpy as np
import tapegrad as tg
import tapegrad.nn.functional as F
import tapegrad.numpy as tnp
"""

# -- HTML ---------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"tapegrad {release}"
html_theme_options = {
    "sidebar_hide_name": False,
    "navigation_with_keys": True,
}
pygments_style = "friendly"
pygments_dark_style = "monokai"
