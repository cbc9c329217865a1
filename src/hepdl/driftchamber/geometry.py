"""The BESIII main drift chamber (MDC): 43 layers, 6,796 sense wires, in a 1 T solenoid.

The wire table is BESIII's own, shipped by the ``pybes3`` package
(``pybes3.mdc.get_mdc_geom_table()``, MIT licence): for every wire its east (z > 0) and west
(z < 0) end points, its layer and whether it is a stereo wire. It gives the chamber of
datasets.md B: sense-wire radii (at the end plates) 78.85 mm to 763.4 mm, wires per layer 40, 44,
48, 56, 64, 72, 80, 80, 76, 76, 88, 88, 100, 100, 112, 112, 128, 128, 140, 140, 160 x4, 176 x4,
208 x4, 240 x4, 256 x4, 288 x3, layers 0-7 and 20-35 stereo, the rest axial; half-lengths 390 mm
(layer 0) to 1153 mm (layer 42). ``pybes3`` is imported only when the table is first needed, so
``import hepdl.driftchamber`` stays light.

In every layer the wires are equally spaced in azimuth and a stereo wire is a straight line from
its east end to its west end, turned by a fixed twist angle; so the azimuth of wire ``i`` at
height ``z`` is that of wire 0 at ``z`` plus ``2 pi i / N``, which :func:`nearest_wire` uses.
Lengths here are in mm (pybes3 gives cm).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from hepdl.common.azimuth import wrap_phi

__all__ = ["N_LAYERS", "N_WIRES", "ChamberGeometry", "load_geometry", "nearest_wire"]

N_LAYERS = 43
N_WIRES = 6796
PYBES3_PIN = "pybes3==0.5.6"


@dataclass(frozen=True, eq=False)
class ChamberGeometry:
    """The sense-wire geometry, per layer and per wire (all lengths in mm, angles in rad).

    Attributes
    ----------
    radius_mm : (43,) sense-wire radius at the end plates [mm]
    half_length_mm : (43,) half-length of the layer's wires [mm]
    n_wires : (43,) wires in the layer
    is_stereo : (43,) True for stereo layers
    first_wire : (43,) index of the layer's wire 0 in the wire arrays (global wire id)
    east_mm, west_mm : (43, 3) end points (x, y, z) of each layer's wire 0 [mm]
    wire_layer, wire_index : (6796,) layer and wire number of each wire
    wire_x_mm, wire_y_mm : (6796,) wire mid-point ``((XE + XW) / 2, (YE + YW) / 2)`` [mm], the
        talk's ``X`` and ``Y``
    """

    radius_mm: np.ndarray
    half_length_mm: np.ndarray
    n_wires: np.ndarray
    is_stereo: np.ndarray
    first_wire: np.ndarray
    east_mm: np.ndarray
    west_mm: np.ndarray
    wire_layer: np.ndarray
    wire_index: np.ndarray
    wire_x_mm: np.ndarray
    wire_y_mm: np.ndarray


@cache
def load_geometry() -> ChamberGeometry:
    """Return the chamber geometry from ``pybes3``'s wire table (read once, then cached).

    Raises
    ------
    ImportError
        If ``pybes3`` is not installed (the message gives the pip command).

    Examples
    --------
    >>> geo = load_geometry()
    >>> int(geo.n_wires.sum()), geo.radius_mm[[0, -1]].round(1).tolist()
    (6796, [78.8, 763.4])
    >>> np.flatnonzero(geo.is_stereo).tolist() == list(range(8)) + list(range(20, 36))
    True
    """
    try:
        from pybes3 import mdc
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The drift-chamber geometry comes from BESIII's wire table in the pybes3 package, "
            f"which is not installed. Install it with:\n    pip install {PYBES3_PIN}"
        ) from err
    table = mdc.get_mdc_geom_table("np")
    order = np.lexsort((table["wire"], table["layer"]))
    layer = np.asarray(table["layer"])[order].astype(np.int64)
    wire = np.asarray(table["wire"])[order].astype(np.int64)
    east = np.stack([table["east_x"], table["east_y"], table["east_z"]], -1)[order] * 10.0
    west = np.stack([table["west_x"], table["west_y"], table["west_z"]], -1)[order] * 10.0
    n_wires = np.bincount(layer, minlength=N_LAYERS)
    if layer.size != N_WIRES or n_wires.size != N_LAYERS:
        raise RuntimeError(f"pybes3's MDC table has {layer.size} wires in {n_wires.size} layers; "
                           f"expected {N_WIRES} in {N_LAYERS}. Install {PYBES3_PIN}.")
    first = np.concatenate([[0], np.cumsum(n_wires)[:-1]])
    return ChamberGeometry(
        radius_mm=np.hypot(east[first, 0], east[first, 1]),
        half_length_mm=east[first, 2].copy(),
        n_wires=n_wires,
        is_stereo=np.asarray(table["is_stereo"])[order][first].astype(bool),
        first_wire=first,
        east_mm=east[first],
        west_mm=west[first],
        wire_layer=layer,
        wire_index=wire,
        wire_x_mm=0.5 * (east[:, 0] + west[:, 0]),
        wire_y_mm=0.5 * (east[:, 1] + west[:, 1]),
    )


def nearest_wire(geometry: ChamberGeometry, layer, phi_rad, z_mm):
    """The wire of ``layer`` closest in azimuth to a point at ``(phi_rad, z_mm)`` on the layer.

    Parameters
    ----------
    geometry : ChamberGeometry
    layer : int array
        Layer numbers 0-42.
    phi_rad : array
        Azimuth of the point [rad].
    z_mm : array
        Its height along the beam [mm] (stereo wires are at a different azimuth at every z).

    Returns
    -------
    wire : int64 array
        Wire number within the layer.
    delta_phi : float array
        Azimuth of the point minus that of the wire at ``z_mm`` [rad], in [-pi/N, pi/N].

    Examples
    --------
    Wire 0 of the last layer sits at phi = 0.0166 rad (3/4 of its 0.0218 rad pitch), so phi = 0
    is nearest to wire 287 and phi = pi to wire 143:

    >>> geo = load_geometry()
    >>> wire, dphi = nearest_wire(geo, np.array([42, 42]), np.array([0.0, np.pi]), np.zeros(2))
    >>> wire.tolist()
    [287, 143]
    """
    layer = np.asarray(layer)
    east_x, east_y, east_z = (np.ascontiguousarray(geometry.east_mm[:, i])[layer] for i in range(3))
    west_x, west_y, west_z = (np.ascontiguousarray(geometry.west_mm[:, i])[layer] for i in range(3))
    fraction = (east_z - np.asarray(z_mm)) / (east_z - west_z)
    x0 = east_x + fraction * (west_x - east_x)
    y0 = east_y + fraction * (west_y - east_y)
    n = geometry.n_wires[layer]
    pitch = 2.0 * np.pi / n
    offset = np.asarray(phi_rad) - np.arctan2(y0, x0)
    wire = np.mod(np.rint(offset / pitch).astype(np.int64), n)
    delta_phi = wrap_phi(offset - wire * pitch)
    return wire, delta_phi
