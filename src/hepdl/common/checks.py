"""Argument checks that every room needs, with messages that name the argument and the fix."""

from __future__ import annotations

import numpy as np

__all__ = ["positive_int"]


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer of at least ``minimum``, else raise.

    ``bool`` is refused (``True`` is not a count); numpy integers are accepted.

    Parameters
    ----------
    name : the argument's name, quoted in the message
    value : the value received
    minimum : the smallest value allowed (0 for a seed, 1 for a count of events or bins)

    Raises
    ------
    ValueError
        ``"NAME must be an integer of at least MINIMUM, got VALUE"`` (``"a non-negative
        integer"`` when ``minimum`` is 0).

    Examples
    --------
    >>> positive_int("n_events", 3)
    3
    >>> positive_int("n_events", 0)
    Traceback (most recent call last):
    ...
    ValueError: n_events must be an integer of at least 1, got 0
    >>> positive_int("seed", -1, minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: seed must be a non-negative integer, got -1
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        allowed = "a non-negative integer" if minimum == 0 else f"an integer of at least {minimum}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)
