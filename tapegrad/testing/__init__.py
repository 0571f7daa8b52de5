"""Testing helpers: ``check_grads`` (JAX's) and Hypothesis strategies."""

from . import strategies
from .check import check_grads

__all__ = ["check_grads", "strategies"]
