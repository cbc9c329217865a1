"""One place that turns a seed into random generators.

Library functions never draw from global state: they take ``rng: numpy.random.Generator``.
Only entry points (a notebook's ``parameters`` cell, the data-set command) call
:func:`seed_everything` or :func:`generator`.
"""

from __future__ import annotations

import os
import random

import numpy as np

__all__ = ["generator", "seed_everything", "spawn"]


def _check(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def generator(seed: int) -> np.random.Generator:
    """Return a numpy ``Generator`` for ``seed`` (PCG64).

    Examples
    --------
    >>> generator(7).integers(100) == generator(7).integers(100)
    np.True_
    """
    return np.random.default_rng(_check(seed))


def spawn(seed: int, n: int) -> list[np.random.Generator]:
    """Return ``n`` independent generators from one seed, one per chunk of a chunked build."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return [np.random.default_rng(s) for s in np.random.SeedSequence(_check(seed)).spawn(n)]


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, numpy's legacy state and, if it is already imported, Keras; return a Generator.

    Call it once in a notebook, right after the ``parameters`` cell. Keras is seeded only when
    the notebook has imported it (so that data-only notebooks stay fast); call it again after
    ``import keras`` to seed Keras as well. Set before Keras starts, ``PYTHONHASHSEED`` also
    fixes hash ordering in subprocesses.
    """
    seed = _check(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    return generator(seed)
