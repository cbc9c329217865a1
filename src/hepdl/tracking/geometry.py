"""The tracking room's two detectors: where their layers are and how they are named.

The geometry is shared by the simulators (:mod:`~hepdl.tracking.ramp`,
:mod:`~hepdl.tracking.trackml`, whose configs take their defaults from here) and by the
readers of the public layouts (:mod:`~hepdl.tracking.formats`,
:mod:`~hepdl.tracking.following`), which need no simulator.

* **RAMP** (DS@HEP 2017 "HEP_tracking", after ATLAS HL-LHC studies, CERN-LHCC-2017-005
  section 2.4): nine barrel layers seen along the beam, divided in azimuth into cells of
  0.025 mm (pixel layers 0-4) or 0.05 mm (strip layers 5-8); a layer of radius R has
  ``int(2 pi R / pitch) + 1`` cells (:func:`phi_cells`).
* **TrackML** barrel (Amrouche et al., "The Tracking Machine Learning challenge: Accuracy
  phase", 2019): ten cylinders, pixels (``volume_id`` 8), short strips (13) and long strips
  (17), with TrackML's even ``layer_id``; sensitive half-lengths 490 mm (pixels) and 1080 mm
  (strips).

Lengths in mm.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RAMP_LAYER_RADII_MM", "RAMP_N_LAYERS", "RAMP_PHI_PITCH_MM", "TRACKML_HALF_LENGTH_MM",
           "TRACKML_LAYER_IDS", "TRACKML_LAYER_RADII_MM", "TRACKML_N_LAYERS",
           "TRACKML_VOLUME_IDS", "phi_cells"]

#: radii of the RAMP tracker's nine layers [mm]
RAMP_LAYER_RADII_MM: tuple[float, ...] = (39.0, 85.0, 155.0, 213.0, 271.0, 405.0, 562.0, 762.0,
                                          1000.0)
#: cell size along each RAMP layer [mm]
RAMP_PHI_PITCH_MM: tuple[float, ...] = (0.025,) * 5 + (0.05,) * 4
#: layers of the RAMP tracker (layer 0 is the innermost)
RAMP_N_LAYERS = len(RAMP_LAYER_RADII_MM)

#: radii of the TrackML barrel's ten cylinders [mm]
TRACKML_LAYER_RADII_MM: tuple[float, ...] = (32.0, 72.0, 116.0, 172.0, 260.0, 360.0, 500.0,
                                             660.0, 820.0, 1020.0)
#: TrackML ``volume_id`` of each cylinder
TRACKML_VOLUME_IDS: tuple[int, ...] = (8, 8, 8, 8, 13, 13, 13, 13, 17, 17)
#: TrackML ``layer_id`` of each cylinder
TRACKML_LAYER_IDS: tuple[int, ...] = (2, 4, 6, 8, 2, 4, 6, 8, 2, 4)
#: sensitive half-length of each cylinder along z [mm]
TRACKML_HALF_LENGTH_MM: tuple[float, ...] = (490.0,) * 4 + (1080.0,) * 6
#: cylinders of the TrackML barrel (0 is the innermost)
TRACKML_N_LAYERS = len(TRACKML_LAYER_RADII_MM)


def phi_cells(layer_radii_mm=RAMP_LAYER_RADII_MM, phi_pitch_mm=RAMP_PHI_PITCH_MM) -> np.ndarray:
    """Number of azimuthal cells of each layer, ``int(2 pi R / pitch) + 1``.

    Parameters
    ----------
    layer_radii_mm : layer radii R [mm]
    phi_pitch_mm : cell size along each layer [mm]

    Examples
    --------
    >>> phi_cells().tolist()
    [9802, 21363, 38956, 53533, 68110, 50894, 70624, 95756, 125664]
    """
    radii = np.asarray(layer_radii_mm, dtype=float)
    pitch = np.asarray(phi_pitch_mm, dtype=float)
    return (2.0 * np.pi * radii / pitch).astype(np.int64) + 1
