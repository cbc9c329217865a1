"""Flat per-event tables: dicts of equal-length columns with an event number per row.

Every simulator of the course builds its hits and particles as such tables (``{"event": ...,
"x": ..., ...}``), and every reader checks the event numbers of one. The helpers here are the
bookkeeping they share: rows of a table, events without hits, the position of a row within its
event, the number of events.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["concat", "count_events", "index_within", "positive_poisson", "take",
           "without_empty_events"]


def positive_poisson(mean: float, size: int, *, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts redrawn until positive (the original RAMP generator skips empty events).

    Examples
    --------
    >>> counts = positive_poisson(0.5, 1000, rng=np.random.default_rng(0))
    >>> int(counts.min()) >= 1
    True
    """
    counts = rng.poisson(mean, size)
    zero = np.flatnonzero(counts == 0)
    while zero.size:
        counts[zero] = rng.poisson(mean, zero.size)
        zero = zero[counts[zero] == 0]
    return counts


def index_within(groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of ``groups`` (sorted, with ``counts`` members per group).

    Examples
    --------
    >>> index_within(np.array([0, 0, 0, 2, 2]), np.array([3, 0, 2])).tolist()
    [0, 1, 2, 0, 1]
    """
    starts = np.cumsum(counts) - counts
    return np.arange(groups.size) - np.repeat(starts, counts)


def take(table: dict[str, np.ndarray], index) -> dict[str, np.ndarray]:
    """Rows ``index`` (a mask or indices) of every column.

    Examples
    --------
    >>> take({"event": np.array([0, 1, 1]), "x": np.array([1.0, 2.0, 3.0])}, [2, 0])["x"].tolist()
    [3.0, 1.0]
    """
    return {key: value[index] for key, value in table.items()}


def concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The rows of ``a`` followed by those of ``b``, column by column (``a``'s columns)."""
    return {key: np.concatenate([a[key], b[key]]) for key in a}


def count_events(event, n_events: int | None = None) -> int:
    """The number of events of a table whose rows carry the event numbers ``event``.

    Parameters
    ----------
    event : int array, the event number (0, 1, ...) of each row
    n_events : the number of events, when known (events without rows at the end are counted
        only then); checked against ``event``

    Raises
    ------
    ValueError
        if an event number lies outside [0, n_events).

    Examples
    --------
    >>> count_events(np.array([0, 2, 2])), count_events(np.array([0, 2]), 5)
    (3, 5)
    >>> count_events(np.array([0, 2]), 2)
    Traceback (most recent call last):
    ...
    ValueError: hits['event'] must lie in [0, n_events=2), got 0..2
    """
    event = np.asarray(event)
    if n_events is None:
        return int(event.max()) + 1 if event.size else 0
    if event.size and (event.min() < 0 or event.max() >= n_events):
        raise ValueError(f"hits['event'] must lie in [0, n_events={n_events}), "
                         f"got {event.min()}..{event.max()}")
    return int(n_events)


def without_empty_events(
    simulate_block: Callable[[int, np.random.Generator], tuple[dict, dict]],
    n_events: int,
    *,
    rng: np.random.Generator,
    max_rounds: int = 100,
) -> tuple[dict, dict]:
    """Simulate ``n_events``, redrawing any event that left no hit at all.

    ``simulate_block(n, rng)`` returns ``(hits, particles)``, flat tables whose ``event`` column
    counts from 0 to n - 1. Events without hits are removed with their particles and simulated
    again, so that every event of a data set holds at least one hit (the loaders treat an empty
    event as a broken file).

    Raises
    ------
    RuntimeError
        if events still have no hit after ``max_rounds`` redraws (the configuration leaves
        almost no hits).
    """
    hits, particles = simulate_block(n_events, rng)
    for _ in range(max_rounds):
        empty = np.setdiff1d(np.arange(n_events), hits["event"])
        if empty.size == 0:
            return hits, particles
        particles = take(particles, ~np.isin(particles["event"], empty))
        new_hits, new_particles = simulate_block(empty.size, rng)
        new_hits["event"] = empty[new_hits["event"]]
        new_particles["event"] = empty[new_particles["event"]]
        hits, particles = concat(hits, new_hits), concat(particles, new_particles)
    raise RuntimeError(
        f"{empty.size} events still had no hit after {max_rounds} redraws; the configuration "
        "leaves almost no hits (check the inefficiency, multiplicity and acceptance)."
    )
