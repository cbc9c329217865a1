"""Figures of the calorimeter room: the detector's geometry and its shower images.

Drawn from the constants of :mod:`hepdl.calorimeter.geometry`, so the figures stay true to the
code. Every function takes ``ax=None`` (or ``axes=None``: a new figure then) and returns what it
drew on; axes carry units.

* :func:`side_view`: the ECAL and HCAL seen from the side (depth along the particle against a
  transverse coordinate), every layer drawn, with the depths in X0 and lambda_I;
* :func:`front_view`: the ECAL window's 25 x 25 cells seen from the front, with the effective
  Moliere radius and the HCAL cell for scale;
* :func:`projections`: one event's ECAL image summed along each axis (x-y, x-layer, y-layer).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from hepdl.common.style import axes_or_new
from hepdl.calorimeter.geometry import (
    ECAL_ABSORBER_MM,
    ECAL_CELL_MM,
    ECAL_LAYER_PITCH_MM,
    ECAL_N_LAYERS,
    ECAL_RM_EFF_MM,
    ECAL_SHAPE,
    HCAL_CELL_MM,
    HCAL_LAMBDA_PER_LAYER,
    HCAL_LAYER_PITCH_MM,
    HCAL_N_LAYERS,
    HCAL_SHAPE,
    HCAL_STEEL_MM,
    ecal_lambda,
    ecal_x0,
)

__all__ = ["front_view", "projections", "side_view"]

_ECAL_DEPTH_MM = ECAL_N_LAYERS * ECAL_LAYER_PITCH_MM
_HCAL_DEPTH_MM = HCAL_N_LAYERS * HCAL_LAYER_PITCH_MM


def side_view(ax=None):
    """The calorimeter from the side: depth [mm] behind the ECAL front against x [mm].

    Every tungsten layer of the ECAL (25 x 3.5 mm at a 6.36 mm pitch) and every steel layer of
    the HCAL (60 x 19 mm at 26.5 mm) is drawn at its place, over the width of the image windows
    (25 cells of 5.1 mm, 5 cells of 30 mm); the text gives the depths in radiation and nuclear
    interaction lengths.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> side_view().get_xlabel()
    'depth behind the ECAL front [mm]'
    """
    ax = axes_or_new(ax, (12, 4.5))
    ecal_half = ECAL_SHAPE[0] * ECAL_CELL_MM / 2
    hcal_half = HCAL_SHAPE[0] * HCAL_CELL_MM / 2
    for k in range(ECAL_N_LAYERS):
        ax.add_patch(plt.Rectangle((k * ECAL_LAYER_PITCH_MM, -ecal_half), ECAL_ABSORBER_MM,
                                   2 * ecal_half, color="tab:blue", lw=0,
                                   label="ECAL: tungsten, 1 X0 per layer" if k == 0 else None))
    for k in range(HCAL_N_LAYERS):
        ax.add_patch(plt.Rectangle((_ECAL_DEPTH_MM + k * HCAL_LAYER_PITCH_MM, -hcal_half),
                                   HCAL_STEEL_MM, 2 * hcal_half, color="0.55", lw=0,
                                   label=f"HCAL: steel + scintillator, {HCAL_LAMBDA_PER_LAYER:.3f} "
                                         "lambda_I per layer" if k == 0 else None))
    ax.annotate("particle", xy=(0, 0), xytext=(-160, 0), ha="right", va="center",
                arrowprops={"arrowstyle": "->", "lw": 2})
    ax.text(_ECAL_DEPTH_MM / 2, ecal_half + 12,
            f"ECAL\n{ECAL_N_LAYERS} layers\n{ecal_x0():.1f} X0\n{ecal_lambda():.2f} lambda_I",
            ha="center", va="bottom", fontsize=9)
    hcal_lambda = HCAL_N_LAYERS * HCAL_LAMBDA_PER_LAYER
    ax.text(_ECAL_DEPTH_MM + _HCAL_DEPTH_MM / 2, hcal_half + 12,
            f"HCAL: {HCAL_N_LAYERS} layers, {hcal_lambda:.1f} lambda_I", ha="center",
            va="bottom", fontsize=9)
    ax.set(xlim=(-400, _ECAL_DEPTH_MM + _HCAL_DEPTH_MM + 40), ylim=(-hcal_half - 30, hcal_half + 90),
           xlabel="depth behind the ECAL front [mm]", ylabel="x [mm]",
           title="the calorimeter from the side (image windows, true scale)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return ax


def front_view(ax=None):
    """The ECAL window from the front: its cells [mm], a circle of one effective Moliere radius
    around the centre, and one HCAL cell for scale.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> front_view().get_ylabel()
    'y [mm]'
    """
    ax = axes_or_new(ax, (5.5, 5.5))
    n = ECAL_SHAPE[0]
    edges = (np.arange(n + 1) - n / 2) * ECAL_CELL_MM
    for edge in edges:
        ax.plot([edge, edge], [edges[0], edges[-1]], color="0.75", lw=0.6)
        ax.plot([edges[0], edges[-1]], [edge, edge], color="0.75", lw=0.6)
    half = ECAL_CELL_MM / 2
    ax.add_patch(plt.Rectangle((-half, -half), ECAL_CELL_MM, ECAL_CELL_MM, color="tab:orange",
                               label=f"impact cell, {ECAL_CELL_MM} mm"))
    ax.add_patch(plt.Circle((0, 0), ECAL_RM_EFF_MM, fill=False, color="tab:blue", lw=2,
                            label=f"effective Moliere radius, {ECAL_RM_EFF_MM:.1f} mm"))
    ax.add_patch(plt.Rectangle((-HCAL_CELL_MM / 2, -HCAL_CELL_MM / 2), HCAL_CELL_MM,
                               HCAL_CELL_MM, fill=False, color="0.3", lw=1.5, ls="--",
                               label=f"one HCAL cell, {HCAL_CELL_MM:.0f} mm"))
    ax.set(xlim=(edges[0], edges[-1]), ylim=(edges[0], edges[-1] + 30), aspect="equal",
           xlabel="x [mm]", ylabel="y [mm]",
           title=f"ECAL window from the front: {n} x {n} cells")
    ax.legend(loc="upper center", fontsize=8, frameon=False, ncol=1)
    return ax


def projections(ecal, *, axes=None, vmin_gev: float = 1e-3, title: str | None = None):
    """One event's ECAL image summed along each axis: x-y (front), layer-x and layer-y (side).

    Parameters
    ----------
    ecal : array (25, 25, 25)
        One event's ECAL cells [GeV], ``(x, y, layer)``.
    axes : three matplotlib Axes, optional
    vmin_gev : float
        Bottom of the logarithmic colour scale [GeV]; emptier cells stay white.
    title : str, optional
        Put on the first panel.

    Returns
    -------
    array of three matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> image = np.zeros((25, 25, 25)); image[12, 12, 3:9] = 1.0
    >>> [ax.get_xlabel() for ax in projections(image)]
    ['x cell', 'ECAL layer (1 X0 each)', 'ECAL layer (1 X0 each)']
    """
    ecal = np.asarray(ecal, dtype=np.float64)
    if ecal.shape != ECAL_SHAPE:
        raise ValueError(f"ecal must be one event's image of shape {ECAL_SHAPE}, got {ecal.shape}")
    if not vmin_gev > 0:
        raise ValueError(f"vmin_gev must be positive, got {vmin_gev!r}")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    axes = np.asarray(axes).ravel()
    if axes.size != 3:
        raise ValueError(f"axes must hold three Axes, got {axes.size}")
    views = ((ecal.sum(axis=2), "x cell", "y cell"),
             (ecal.sum(axis=1), "ECAL layer (1 X0 each)", "x cell"),
             (ecal.sum(axis=0), "ECAL layer (1 X0 each)", "y cell"))
    vmax = max(max(float(view.max()) for view, _, _ in views), 10 * vmin_gev)
    for ax, (view, xlabel, ylabel) in zip(axes, views):
        image = view.T if xlabel == "x cell" else view
        shown = ax.imshow(np.where(image > vmin_gev, image, np.nan), origin="lower",
                          interpolation="nearest", cmap="viridis",
                          norm=LogNorm(vmin=vmin_gev, vmax=vmax))
        ax.set(xlabel=xlabel, ylabel=ylabel)
    axes[-1].figure.colorbar(shown, ax=axes[-1], label="energy [GeV]", pad=0.01)
    if title:
        axes[0].set_title(title, fontsize=10)
    return axes
