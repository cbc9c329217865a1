"""Charged particles in a solenoid: curvature, layer crossings, multiple scattering.

Physics relations several detector rooms share. The field points along +z, so a positive
particle turns clockwise seen from +z (its azimuth decreases as it flies out). Standard
relations (PDG Review of Particle Physics, "Passage of particles through matter", eq. 34.15, and
"Kinematics"):

.. math:: R_c\\,[\\mathrm{m}] = \\frac{p_T\\,[\\mathrm{GeV}]}{0.2998\\,B\\,[\\mathrm{T}]}, \\qquad
          \\theta_0 = \\frac{13.6\\,\\mathrm{MeV}}{\\beta c p}\\,z\\,\\sqrt{x/X_0}
          \\left[1 + 0.038 \\ln\\left(\\frac{x z^2}{X_0 \\beta^2}\\right)\\right].

The speed of light and the elementary charge come from ``hepunits``; 13.6 MeV and 0.038 are
the Highland fit's parameters. All functions work on arrays of particles at once (one numpy
call per detector layer). Lengths are in mm, momenta in GeV, fields in T, angles in rad.
"""

from __future__ import annotations

import numpy as np
from hepunits import GeV, MeV, c_light, eplus, mm, tesla

__all__ = ["curvature_radius_mm", "highland_theta0", "next_crossing"]


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


def highland_theta0(p_gev, x_over_x0, *, beta=1.0, charge=1.0):
    """RMS plane scattering angle [rad] after a thickness ``x_over_x0`` [radiation lengths].

    The Highland formula as given by the PDG (eq. 34.15), for momentum ``p_gev`` [GeV],
    velocity ``beta`` (v/c) and charge ``charge`` [e].

    Examples
    --------
    The RAMP detector's layers (2% X0) scatter a 1 GeV particle by 1.64 mrad:

    >>> round(float(highland_theta0(1.0, 0.02)) * 1e3, 2)
    1.64
    """
    p = np.asarray(p_gev, dtype=float) * GeV
    x = np.asarray(x_over_x0, dtype=float)
    z2 = np.asarray(charge, dtype=float) ** 2
    beta = np.asarray(beta, dtype=float)
    return (13.6 * MeV / (beta * p) * np.sqrt(z2 * x)
            * (1.0 + 0.038 * np.log(x * z2 / beta**2)))


def next_crossing(x, y, ux, uy, charge, radius_curv_mm, layer_radius_mm):
    """Where particles moving outward on circles first cross the cylinder ``layer_radius_mm``.

    Each particle sits at ``(x, y)`` [mm] inside the cylinder, moving along the transverse unit
    vector ``(ux, uy)``, and bends on a circle of radius ``radius_curv_mm`` [mm]; ``charge``
    (+1 or -1) gives the sense (clockwise for +1 in a field along +z).

    Returns
    -------
    x_new, y_new : crossing point [mm] (NaN where there is none)
    ux_new, uy_new : transverse direction there
    turn : angle turned on the circle to get there [rad]; the transverse path is
        ``radius_curv_mm * turn``
    reached : bool, False where the particle curls back before the cylinder

    Examples
    --------
    A 1 GeV positive particle from the origin along +x, in 2 T, crosses r = 1 m below the
    x axis, at azimuth -asin(r / 2 R_c):

    >>> rc = curvature_radius_mm(1.0, field_tesla=2.0)
    >>> xn, yn, uxn, uyn, turn, ok = next_crossing(0.0, 0.0, 1.0, 0.0, 1, rc, 1000.0)
    >>> round(float(np.arctan2(yn, xn)), 4), round(float(-np.arcsin(1000.0 / (2 * rc))), 4)
    (-0.3045, -0.3045)
    >>> bool(ok), round(float(turn), 4)   # the direction turned by twice the azimuth
    (True, 0.609)
    """
    x, y, ux, uy = (np.asarray(a, dtype=float) for a in (x, y, ux, uy))
    q = np.sign(np.asarray(charge, dtype=float))
    rc = np.asarray(radius_curv_mm, dtype=float)
    radius = np.asarray(layer_radius_mm, dtype=float)
    # centre of the circle: to the right of the motion for q > 0 (clockwise turn)
    cx = x + q * rc * uy
    cy = y - q * rc * ux
    d = np.hypot(cx, cy)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (radius**2 - rc**2 + d**2) / (2.0 * d)
        h = np.sqrt(radius**2 - a**2)
        reached = (d > 0) & (np.abs(radius - rc) <= d) & (d <= radius + rc) & np.isfinite(h)
        mx, my = a * cx / d, a * cy / d
        # the two crossings; the angle turned to reach each, from the start point's radius
        # vector (x - cx, y - cy) = q rc (-uy, ux), in the sense of motion (-q)
        turns, points = [], []
        for sign in (1.0, -1.0):
            px = mx - sign * h * cy / d
            py = my + sign * h * cx / d
            bx, by = px - cx, py - cy
            cross = q * rc * (-uy * by - ux * bx)
            dot = q * rc * (-uy * bx + ux * by)
            turns.append(np.mod(-q * np.arctan2(cross, dot), 2.0 * np.pi))
            points.append((px, py))
        first = turns[0] <= turns[1]
        px = np.where(first, points[0][0], points[1][0])
        py = np.where(first, points[0][1], points[1][1])
        turn = np.where(first, turns[0], turns[1])
        ux_new = q * (py - cy) / rc
        uy_new = -q * (px - cx) / rc
    nan = np.nan
    return (np.where(reached, px, nan), np.where(reached, py, nan),
            np.where(reached, ux_new, nan), np.where(reached, uy_new, nan),
            np.where(reached, turn, nan), reached)
