"""Figures of the LArTPC room: the detector's geometry and its wire images.

Drawn from the constants of :mod:`hepdl.lartpc.geometry`, so the figures stay true to the code.
Every function takes ``ax=None`` (a new figure then) and returns the ``Axes``; axes carry units.

* :func:`wire_plane_view`: the read-out face seen from the drift volume (``z`` along the beam,
  ``y`` vertical), with every ``every``-th wire of the induction (u, +60 degrees) and the
  collection (v, -60 degrees) plane;
* :func:`drift_view`: the volume seen from above (``z`` along the beam, ``x`` the drift
  distance): cathode, field, drift of the ionisation electrons to the wire planes;
* :func:`wire_image`: one plane of one event's image, wire against drift distance.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from hepdl.common.style import axes_or_new
from hepdl.lartpc.geometry import (
    ACTIVE_X_CM,
    ACTIVE_Y_CM,
    ACTIVE_Z_CM,
    BIN_CM,
    N_TIME_BINS,
    N_WIRES,
    PLANE_NAMES,
    WIRE_ANGLE_DEG,
    WIRE_PITCH_CM,
)

__all__ = ["drift_view", "wire_image", "wire_plane_view"]

_SIN = np.sin(np.radians(WIRE_ANGLE_DEG))
_COS = np.cos(np.radians(WIRE_ANGLE_DEG))
_PLANE_COLORS = ("tab:blue", "tab:red")


def _wire_segment(plane: int, coordinate: float):
    """End points (z, y) [cm] of the wire line ``u = coordinate`` (plane 0) or ``v`` (plane 1),
    clipped to the read-out face; None where the line misses it."""
    y = np.linspace(-ACTIVE_Y_CM / 2, ACTIVE_Y_CM / 2, 2001)
    if plane == 0:
        z = (coordinate * WIRE_PITCH_CM - (y + ACTIVE_Y_CM / 2) * _COS) / _SIN
    else:
        z = (coordinate * WIRE_PITCH_CM + (y - ACTIVE_Y_CM / 2) * _COS) / _SIN
    inside = (z >= 0) & (z <= ACTIVE_Z_CM)
    if not inside.any():
        return None
    return z[inside][[0, -1]], y[inside][[0, -1]]


def wire_plane_view(ax=None, *, every: int = 20):
    """The read-out face (z, y) [cm] with every ``every``-th wire of both planes.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    every : int
        Draw wires 0, every, 2 every, ... of each plane (240 wires at 4 mm are too dense to see).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> wire_plane_view().get_xlabel()
    'z along the beam [cm]'
    """
    if not (isinstance(every, (int, np.integer)) and every >= 1):
        raise ValueError(f"every must be a positive int, got {every!r}")
    ax = axes_or_new(ax, (9, 4.6))
    ax.add_patch(plt.Rectangle((0, -ACTIVE_Y_CM / 2), ACTIVE_Z_CM, ACTIVE_Y_CM, fill=False,
                               lw=2, color="black"))
    for plane, (name, color) in enumerate(zip(PLANE_NAMES, _PLANE_COLORS)):
        for k, wire in enumerate(range(0, N_WIRES, every)):
            segment = _wire_segment(plane, wire + 0.5)
            if segment is not None:
                ax.plot(*segment, color=color, lw=1, alpha=0.8,
                        label=f"{name}: every {every}th of {N_WIRES} wires, {WIRE_PITCH_CM * 10:.0f} mm "
                              f"pitch, {'+' if plane == 0 else '-'}{WIRE_ANGLE_DEG:.0f} deg"
                        if k == 0 else None)
        first = _wire_segment(plane, 0.5)
        if first is not None:
            ax.annotate(f"{'u' if plane == 0 else 'v'} = 0", (first[0][0], first[1][0]),
                        xytext=(-28, -4 if plane == 0 else 4), textcoords="offset points",
                        color=color, fontsize=9)
    ax.annotate("beam", xy=(0, 0), xytext=(-14, 0), ha="right", va="center",
                arrowprops={"arrowstyle": "->", "lw": 2})
    ax.set(xlim=(-22, ACTIVE_Z_CM + 4), ylim=(-ACTIVE_Y_CM / 2 - 4, ACTIVE_Y_CM / 2 + 14),
           aspect="equal", xlabel="z along the beam [cm]", ylabel="y vertical [cm]",
           title="the wire planes, seen from the drift volume (drift x into the page)")
    ax.legend(loc="upper center", fontsize=8, ncol=1, frameon=False)
    return ax


def drift_view(ax=None):
    """The volume from above: z [cm] along the beam, x [cm] the drift distance to the planes.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> drift_view().get_ylabel()
    'x drift distance [cm]'
    """
    ax = axes_or_new(ax, (9, 4.6))
    ax.add_patch(plt.Rectangle((0, 0), ACTIVE_Z_CM, ACTIVE_X_CM, fill=False, lw=2, color="black"))
    ax.plot([0, ACTIVE_Z_CM], [ACTIVE_X_CM, ACTIVE_X_CM], color="0.4", lw=5,
            label="cathode (x = 47 cm, -23 kV)")
    for plane, (name, color) in enumerate(zip(PLANE_NAMES, _PLANE_COLORS)):
        ax.plot([0, ACTIVE_Z_CM], [-0.6 - 1.2 * plane] * 2, color=color, lw=3,
                label=f"wire plane {name}")
    track_z = np.linspace(0, 60, 7)
    track_x = 30 - 0.15 * track_z
    ax.plot(track_z, track_x, color="tab:green", lw=2.5, label="a track: ionisation electrons")
    for z, x in zip(track_z[1::2], track_x[1::2]):
        ax.annotate("", xy=(z, 1.0), xytext=(z, x - 1.0),
                    arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 1, "ls": "--"})
    ax.text(70, 22, "E = 0.49 kV/cm\ndrift 1.54 mm/us\n47 cm in 305 us", fontsize=9)
    ax.set(xlim=(-5, ACTIVE_Z_CM + 5), ylim=(-5, ACTIVE_X_CM + 14), xlabel="z along the beam [cm]",
           ylabel="x drift distance [cm]", title="seen from above: electrons drift to the wires")
    ax.legend(loc="upper center", fontsize=8, ncol=2, frameon=False)
    return ax


def wire_image(image, *, plane: int, ax=None, vmax: float | None = None, colorbar: bool = True):
    """One plane of one event: wire number against drift distance [cm], colour in ADC counts.

    Parameters
    ----------
    image : array (240, 128)
        One plane of an image of :func:`hepdl.lartpc.read_images` [ADC].
    plane : int
        0 (induction u: bipolar, drawn in red and blue about zero) or 1 (collection v).
    ax : matplotlib Axes, optional
    vmax : float, optional
        Top of the colour scale [ADC]; the 99.9th percentile of ``|image|`` (at least 20) if
        omitted.
    colorbar : bool
        Add a colour bar.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> wire_image(np.zeros((240, 128)), plane=1).get_xlabel()
    'collection wire number (4 mm pitch)'
    """
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (N_WIRES, N_TIME_BINS):
        raise ValueError(f"image must be one plane of shape ({N_WIRES}, {N_TIME_BINS}), "
                         f"got {image.shape}")
    if plane not in (0, 1):
        raise ValueError(f"plane must be 0 (induction) or 1 (collection), got {plane!r}")
    ax = axes_or_new(ax, (6, 4))
    if vmax is None:
        vmax = max(float(np.percentile(np.abs(image), 99.9)), 20.0)
    style = ({"cmap": "RdBu_r", "vmin": -vmax, "vmax": vmax} if plane == 0
             else {"cmap": "gist_heat_r", "vmin": 0.0, "vmax": vmax})
    shown = ax.imshow(image.T, origin="lower", aspect="auto", interpolation="nearest",
                      extent=(0, N_WIRES, 0, N_TIME_BINS * BIN_CM), **style)
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, label="ADC counts", pad=0.01)
    ax.set(xlabel=f"{'induction' if plane == 0 else 'collection'} wire number (4 mm pitch)",
           ylabel="drift distance x [cm]")
    return ax
