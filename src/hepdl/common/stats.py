"""How much of a test-set number is luck: bootstrap intervals over the test events.

A score measured on n test events (an AUC, an accuracy, the difference of two models' scores on
the same events) would come out differently on another n events of the same kind. Resampling
the test events with replacement and recomputing the number many times shows that spread
(Efron's bootstrap; Efron and Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13 for
the percentile interval). Two models compared on the *same* events are resampled together
(*paired*): their difference is then much better known than either number alone.

The resampling is stratified by class (each class resampled within itself, keeping its count),
which ``scipy.stats.bootstrap`` does not offer: an unstratified resample of a small test set can
lose a class, and an AUC is then undefined.

What it leaves out: the spread from training. Another seed trains another network, which
scores differently on the same events; lesson tracking2 measures that spread by retraining.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bootstrap_interval"]


def bootstrap_interval(statistic: Callable[..., float], *arrays, rng: np.random.Generator,
                       strata=None, n_resamples: int = 500, level: float = 0.68) -> tuple[float, float]:
    """Percentile interval of ``statistic(*arrays)`` over bootstrap resamples of the rows.

    Parameters
    ----------
    statistic : called with the resampled arrays, in the order given; returns a number
    arrays : equal-length arrays, one row per test event (labels, scores, predictions...);
        every array is resampled with the same rows (paired)
    rng : numpy Generator (keyword only), e.g. ``hepdl.seeding.generator(SEED)``
    strata : optional labels of the rows; each stratum is resampled within itself (pass the
        class labels for an AUC, so that every resample holds every class)
    n_resamples : number of resamples
    level : probability content of the central interval (0.68: about one standard deviation)

    Returns
    -------
    (low, high) : the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the statistic

    >>> rng = np.random.default_rng(1)
    >>> y = np.r_[np.zeros(500), np.ones(500)]
    >>> low, high = bootstrap_interval(lambda y: y.mean(), y, rng=rng)
    >>> bool(0.47 < low < 0.5 < high < 0.53)
    True
    """
    arrays = [np.asarray(a) for a in arrays]
    if not arrays or any(a.ndim == 0 or len(a) != len(arrays[0]) for a in arrays):
        raise ValueError("give one or more arrays of the same length (one row per test event), "
                         f"got lengths {[np.shape(a) for a in arrays]}")
    if len(arrays[0]) == 0:
        raise ValueError("no test events to resample")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if int(n_resamples) < 10:
        raise ValueError(f"n_resamples must be at least 10, got {n_resamples!r}")
    if strata is None:
        groups = [np.arange(len(arrays[0]))]
    else:
        strata = np.asarray(strata)
        if strata.shape != (len(arrays[0]),):
            raise ValueError(f"strata must hold one label per row: {strata.shape} against {len(arrays[0])} rows")
        groups = [np.flatnonzero(strata == value) for value in np.unique(strata)]
    values = np.empty(int(n_resamples))
    for i in range(values.size):
        rows = np.concatenate([rng.choice(group, size=group.size) for group in groups])
        values[i] = statistic(*(a[rows] for a in arrays))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
