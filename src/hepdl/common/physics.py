"""Physics relations several detector rooms share."""

from __future__ import annotations

import numpy as np
from hepunits import GeV, c_light, eplus, mm, tesla

__all__ = ["curvature_radius_mm"]


def curvature_radius_mm(pt_gev, *, field_tesla: float):
    """Radius of curvature [mm] of a unit-charge track of ``pt_gev`` [GeV] in ``field_tesla`` [T].

    R = pT / (e c B), i.e. R [m] = pT [GeV] / (0.2998 B [T]).

    Examples
    --------
    >>> round(float(curvature_radius_mm(1.0, field_tesla=2.0)), 1)
    1667.8
    >>> round(float(2 * curvature_radius_mm(0.114, field_tesla=1.0)))  # a BESIII curler's diameter
    761
    """
    return np.asarray(pt_gev) * GeV / (eplus * c_light * field_tesla * tesla) / mm
