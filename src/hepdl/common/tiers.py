"""The three sizes every data set is built at and every notebook runs at: the *tiers*.

=========  ==================================================================================
tier       what it is for
=========  ==================================================================================
``ci``     the test suite: tiny data, every notebook in a few minutes on 2 CPU cores
``student`` what a student runs in the room or on Binder (a laptop, minutes per training)
``full``   the studies as taught, with the figures the lessons quote (a GPU helps)
=========  ==================================================================================

A notebook's ``SIZE`` parameter is its tier: the course's executor sets it from the tier it runs
(``python -m hepdl_course execute NAME --tier ci``), and ``datasets.load(name, SIZE)`` reads the
data set built at that tier (``python -m hepdl.datasets build --size SIZE``). The number of
events at each tier is a property of the data set (``python -m hepdl.datasets list``).
"""

from __future__ import annotations

__all__ = ["DEFAULT_TIER", "TIERS", "check_tier"]

#: Every tier, smallest first.
TIERS: tuple[str, ...] = ("ci", "student", "full")
#: The tier of a notebook opened by a student (its ``SIZE`` default).
DEFAULT_TIER = "student"


def check_tier(tier: str) -> str:
    """Return ``tier`` if it is one of :data:`TIERS`, else raise ``ValueError`` naming them.

    Examples
    --------
    >>> check_tier("ci")
    'ci'
    >>> check_tier("small")
    Traceback (most recent call last):
    ...
    ValueError: size (tier) must be one of 'ci', 'student', 'full'; got 'small'
    """
    if tier not in TIERS:
        raise ValueError(f"size (tier) must be one of {', '.join(map(repr, TIERS))}; got {tier!r}")
    return tier
