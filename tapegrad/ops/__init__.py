"""The primitives, by family. Each module defines primitives (forward, VJP and JVP rules side
by side) and the functions that bind them; the rules use these same functions, so they are
recorded when a sweep runs with ``create_graph=True``."""

from . import elementwise, index, linalg, nn, reduce, shape  # noqa: F401
