"""Development sessions for tapegrad: tests, lint, docs, benchmarks and the demo.

Run ``nox -l`` to list them and ``nox -s NAME`` to run one. Every session builds its own
virtual environment with the interpreter that runs nox, so no particular Python minor
version has to be installed. Arguments after ``--`` reach the underlying tool, for example
``nox -s tests -- -k tape -x``.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint"]

LINT_PATHS = ("tapegrad", "tests", "benchmarks", "noxfile.py")
DOCS_SOURCE = "docs"
DOCS_BUILD = "docs/_build"


@nox.session(python=None)
def tests(session: nox.Session) -> None:
    """Run the test suite, with PyTorch installed for the cross-checks."""
    session.install("-e", ".[test,torch]")
    session.run("pytest", "-q", *session.posargs, env={"HYPOTHESIS_PROFILE": "ci"})


@nox.session(python=None)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff; changes nothing."""
    session.install("ruff")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session(python=None)
def docs(session: nox.Session) -> None:
    """Build the HTML documentation and run its examples; any warning fails the build."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", DOCS_SOURCE, f"{DOCS_BUILD}/html"
    )
    session.run("sphinx-build", "-W", "-b", "doctest", DOCS_SOURCE, f"{DOCS_BUILD}/doctest")


@nox.session(python=None)
def bench(session: nox.Session) -> None:
    """Time tapegrad against its peers; arguments go to ``benchmarks/run.py``."""
    session.install("-e", ".[bench,torch]")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=None)
def demo(session: nox.Session) -> None:
    """Train a small model end to end; arguments go to ``python -m tapegrad.demo``."""
    session.install("-e", ".[demo]")
    session.run("python", "-m", "tapegrad.demo", *session.posargs)
