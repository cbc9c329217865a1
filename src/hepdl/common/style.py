"""The course's plot style: mplhep's ROOT-like look with readable sizes for notebooks."""

from __future__ import annotations

import matplotlib as mpl
import mplhep

__all__ = ["use"]


def use() -> None:
    """Apply the course style to every following matplotlib figure.

    mplhep's ``ROOT`` style (ticks on all sides, inward ticks) scaled down to fit a notebook,
    with a colour-blind-safe cycle.
    """
    mplhep.style.use("ROOT")
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.8),
            "figure.dpi": 100,
            "font.size": 12,
            "axes.titlesize": 12,
            "axes.labelsize": 12,
            "legend.fontsize": 10,
            "xtick.labelsize": 11,
            "ytick.labelsize": 11,
            "axes.prop_cycle": mpl.cycler(
                color=["#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59"]
            ),
        }
    )
