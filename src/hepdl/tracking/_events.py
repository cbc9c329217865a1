"""Private helpers shared by the two simulators: event bookkeeping on flat tables."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__: list[str] = []


def positive_poisson(mean: float, size: int, *, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts redrawn until positive (the original RAMP generator skips empty events)."""
    counts = rng.poisson(mean, size)
    zero = np.flatnonzero(counts == 0)
    while zero.size:
        counts[zero] = rng.poisson(mean, zero.size)
        zero = zero[counts[zero] == 0]
    return counts


def index_within(groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of ``groups`` (sorted, with ``counts`` members per group)."""
    starts = np.cumsum(counts) - counts
    return np.arange(groups.size) - np.repeat(starts, counts)


def take(table: dict[str, np.ndarray], index) -> dict[str, np.ndarray]:
    """Rows ``index`` (a mask or indices) of every column."""
    return {key: value[index] for key, value in table.items()}


def concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([a[key], b[key]]) for key in a}


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
