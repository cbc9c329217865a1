"""One place that turns a seed into a random generator.

Library functions never draw from global state: they take ``rng: numpy.random.Generator``.
Only entry points make generators: the data-set command with :func:`generator` (or, for a build
in chunks, one generator per chunk from :func:`spawn`), a notebook with
the libraries' own calls, once, after its ``parameters`` cell::

    rng = np.random.default_rng(SEED)      # numpy: the same stream as generator(SEED)
    keras.utils.set_random_seed(SEED)      # Keras: starting weights, shuffling, dropout

A notebook that compares trainings fairly calls ``keras.utils.set_random_seed`` again before
each model it builds, so that every model starts from the same weights.
"""

from __future__ import annotations

import numpy as np

from hepdl.common.checks import positive_int

__all__ = ["generator", "spawn"]


def _check(seed: int) -> int:
    return positive_int("seed", seed, minimum=0)


def generator(seed: int) -> np.random.Generator:
    """Return a numpy ``Generator`` for ``seed`` (PCG64).

    Examples
    --------
    >>> generator(7).integers(100) == generator(7).integers(100)
    np.True_
    """
    return np.random.default_rng(_check(seed))


def spawn(seed: int, n: int) -> list[np.random.Generator]:
    """Return ``n`` independent generators from one seed, one per chunk of a chunked build
    (``SeedSequence(seed).spawn(n)``: the chunks' draws do not depend on how many there are
    before them, so a build can run its chunks in parallel)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return [np.random.default_rng(s) for s in np.random.SeedSequence(_check(seed)).spawn(n)]
