"""The LArIAT-like time projection chamber: active volume, wire planes, drift and time bins.

LArIAT (Fermilab test beam, the refurbished ArgoNeuT TPC; LArIAT collaboration, "The Liquid
Argon In A Testbeam (LArIAT) experiment", JINST 15 (2020) P04026) has an active volume of
47 cm (drift, ``x``) x 40 cm (vertical, ``y``) x 90 cm (beam, ``z``) and two read-out planes of
240 wires each at 4 mm pitch, at +60 and -60 degrees to the vertical: the induction plane ``u``
(bipolar signals) and the collection plane ``v`` (unipolar). The field of 0.4865 kV/cm gives a
drift speed of 1.543 mm/us, so the 47 cm drift takes 2,380 ticks of 128 ns. The numbers and the
projection formulas are those of the course's design note (``datasets.md`` section D).

Coordinates here [cm]: ``x`` in [0, 47] is the distance from the wire planes (x = 0 at the
anode, 47 at the cathode), ``y`` in [-20, 20], ``z`` in [0, 90] along the beam (z = 0 the
upstream face). A point projects onto the planes at

.. math:: u = \\frac{z \\sin 60^\\circ + (y + 20) \\cos 60^\\circ}{0.4}, \\qquad
          v = \\frac{z \\sin 60^\\circ - (y - 20) \\cos 60^\\circ}{0.4}, \\qquad
          \\mathrm{tick} = \\frac{x}{0.1543\\,\\mathrm{cm/\\mu s} \\times 0.128\\,\\mu s},

in wire pitches and raw ticks: the charge lands on wire ``floor(u)`` (wire ``i`` collects the
strip ``i <= u < i + 1``), and wires 0 to 239 exist. The formulas reach ``u = 244.9`` at the far
top corner (z = 90, y = 20): the 1.5 % of the volume with ``u >= 240`` or ``v >= 240`` is not
read out (modelling choice, as the formulas imply). Back from a wire pair:
``y = 0.4 (u - v)``, ``z = (0.4 (u + v) - 20) / (2 sin 60)`` (:func:`wire_crossing`).

The course's images are downsampled in time: one image bin sums :data:`TICKS_PER_BIN` = 20 raw
ticks (2.56 us, 0.395 cm of drift, about one wire pitch, so the two axes of an image have nearly
the same scale) and an image has :data:`N_TIME_BINS` = 128 bins (2,560 ticks, the 2,380-tick
drift plus room for the shaping tail). The public files have 4,096 raw ticks; see
:func:`hepdl.lartpc.formats.downsample_ticks`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVE_X_CM",
    "ACTIVE_Y_CM",
    "ACTIVE_Z_CM",
    "BIN_CM",
    "DRIFT_SPEED_CM_PER_US",
    "ELECTRON_LIFETIME_US",
    "FIELD_KV_PER_CM",
    "N_PLANES",
    "N_RAW_TICKS",
    "N_TIME_BINS",
    "N_WIRES",
    "PLANE_NAMES",
    "TICKS_PER_BIN",
    "TICK_US",
    "VOXEL_SHAPE",
    "WIRE_ANGLE_DEG",
    "WIRE_PITCH_CM",
    "in_volume",
    "project",
    "wire_crossing",
]

#: Active volume [cm]: drift (x), vertical (y), beam (z).
ACTIVE_X_CM = 47.0
ACTIVE_Y_CM = 40.0
ACTIVE_Z_CM = 90.0
#: Wires per plane, their pitch [cm] and angle to the vertical [degrees] (+60 for u, -60 for v).
N_WIRES = 240
WIRE_PITCH_CM = 0.4
WIRE_ANGLE_DEG = 60.0
N_PLANES = 2
#: Plane 0 is the induction plane u (bipolar signals), plane 1 the collection plane v (unipolar).
PLANE_NAMES = ("u (induction)", "v (collection)")
#: Drift field [kV/cm] and drift speed [cm/us] (LArIAT).
FIELD_KV_PER_CM = 0.4865
DRIFT_SPEED_CM_PER_US = 0.1543
#: Electron lifetime [us] (LArIAT's typical purity).
ELECTRON_LIFETIME_US = 1600.0
#: Raw digitisation tick [us] and the number of ticks in a public file's read-out window.
TICK_US = 0.128
N_RAW_TICKS = 4096
#: Raw ticks summed into one image bin, and image bins kept (the course's downsampling).
TICKS_PER_BIN = 20
N_TIME_BINS = 128
#: Drift distance per image bin [cm] (0.395 cm).
BIN_CM = DRIFT_SPEED_CM_PER_US * TICK_US * TICKS_PER_BIN
#: Voxels of 1 cm over the active volume: (x, y, z).
VOXEL_SHAPE = (47, 40, 90)

_SIN = np.sin(np.radians(WIRE_ANGLE_DEG))
_COS = np.cos(np.radians(WIRE_ANGLE_DEG))


def in_volume(x, y, z):
    """True where the point ``(x, y, z)`` [cm] lies in the active volume.

    Examples
    --------
    >>> in_volume(np.array([0.0, 47.5]), 0.0, 10.0).tolist()
    [True, False]
    """
    x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
    return ((x >= 0) & (x < ACTIVE_X_CM) & (y >= -ACTIVE_Y_CM / 2) & (y < ACTIVE_Y_CM / 2)
            & (z >= 0) & (z < ACTIVE_Z_CM))


def project(x, y, z):
    """Project points [cm] onto the two planes: continuous wire coordinates and raw ticks.

    Parameters
    ----------
    x, y, z : arrays
        Point coordinates [cm] (see the module docstring for the frame).

    Returns
    -------
    u, v : float arrays
        Position across the induction and collection wires [wire pitches]; the point's charge
        lands on wire ``floor(u)`` (``floor(v)``), wires 0 to 239 exist.
    tick : float array
        Drift time in raw ticks of 128 ns (``x / (0.1543 cm/us x 0.128 us)``).

    Examples
    --------
    >>> u, v, tick = project(10.0, 0.0, 45.0)
    >>> round(float(u), 2), round(float(v), 2), round(float(tick), 1)
    (122.43, 122.43, 506.3)
    """
    x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
    u = (z * _SIN + (y + ACTIVE_Y_CM / 2) * _COS) / WIRE_PITCH_CM
    v = (z * _SIN - (y - ACTIVE_Y_CM / 2) * _COS) / WIRE_PITCH_CM
    tick = x / (DRIFT_SPEED_CM_PER_US * TICK_US)
    return u, v, tick


def wire_crossing(u, v):
    """The ``(y, z)`` [cm] where u-coordinate ``u`` and v-coordinate ``v`` [pitches] cross.

    The inverse of :func:`project` in the wire plane: ``y = 0.4 (u - v)`` and
    ``z = (0.4 (u + v) - 20) / (2 sin 60)``. For wire numbers, pass their centres
    (``wire + 0.5``).

    Examples
    --------
    >>> u, v, _ = project(5.0, -3.0, 30.0)
    >>> [round(float(c), 6) for c in wire_crossing(u, v)]
    [-3.0, 30.0]
    """
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    y = WIRE_PITCH_CM * (u - v)
    z = (WIRE_PITCH_CM * (u + v) - ACTIVE_Y_CM * _COS) / (2.0 * _SIN)
    return y, z
