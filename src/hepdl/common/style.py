"""The course's plot style: mplhep's ROOT-like look with readable sizes for notebooks."""

from __future__ import annotations

import matplotlib as mpl
import mplhep

__all__ = ["axes_or_new", "use"]


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


def axes_or_new(ax=None, figsize: tuple[float, float] = (6.4, 4.8)):
    """``ax`` itself, or the axes of a new figure of ``figsize`` (inches) when ``ax`` is None:
    the way every drawing function of the rooms takes an optional ``ax``."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax
