"""``tapegrad.numpy.random``: NumPy's random functions, unchanged.

Random draws carry no gradient, so these are NumPy's own functions and classes
(``numpy.random.*``): they return plain NumPy arrays, seeded by ``tnp.random.seed`` (NumPy's
global state) or by a ``default_rng`` generator. Wrap a draw in ``tg.tensor`` to use it in the
facade; ``tg.manual_seed``/``tg.randn`` are the facade's own, PyTorch-style, generator.

>>> import tapegrad.numpy as tnp
>>> tnp.random.seed(0)
>>> a = tnp.random.rand(2)
>>> tnp.random.seed(0)
>>> bool((tnp.random.rand(2) == a).all())
True
>>> tnp.random.default_rng(0).normal(size=3).shape
(3,)
"""

from __future__ import annotations

from typing import Any

import numpy.random as _npr
from numpy.random import (  # noqa: F401 - re-exported
    MT19937,
    PCG64,
    PCG64DXSM,
    SFC64,
    BitGenerator,
    Generator,
    Philox,
    RandomState,
    SeedSequence,
    beta,
    binomial,
    bytes,
    chisquare,
    choice,
    default_rng,
    dirichlet,
    exponential,
    f,
    gamma,
    geometric,
    get_state,
    gumbel,
    hypergeometric,
    laplace,
    logistic,
    lognormal,
    logseries,
    multinomial,
    multivariate_normal,
    negative_binomial,
    noncentral_chisquare,
    noncentral_f,
    normal,
    pareto,
    permutation,
    poisson,
    power,
    rand,
    randint,
    randn,
    random,
    random_integers,
    random_sample,
    ranf,
    rayleigh,
    sample,
    seed,
    set_state,
    shuffle,
    standard_cauchy,
    standard_exponential,
    standard_gamma,
    standard_normal,
    standard_t,
    triangular,
    uniform,
    vonmises,
    wald,
    weibull,
    zipf,
)

__all__ = list(_npr.__all__)


def __getattr__(name: str) -> Any:
    # Anything numpy.random adds later is NumPy's too.
    try:
        return getattr(_npr, name)
    except AttributeError:
        raise AttributeError(f"module 'tapegrad.numpy.random' has no attribute {name!r}") from None
