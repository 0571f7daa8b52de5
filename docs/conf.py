"""Sphinx configuration for the tapegrad documentation.

Build with ``nox -s docs``, which runs the HTML and doctest builders with warnings as errors.
Nothing here reaches the network.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

# Let the documentation build from a source checkout as well as from an installed package.
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY_ROOT))

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
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
html_static_path: list[str] = []

# -- API reference ------------------------------------------------------------------------------

autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# -- Doctests -----------------------------------------------------------------------------------

doctest_global_setup = """
import numpy as np
import tapegrad as tg

try:
    import tapegrad.numpy as tnp
except ImportError:
    tnp = None
"""

# -- HTML ---------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"tapegrad {release}"
