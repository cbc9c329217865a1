"""Per-event and per-track summary numbers of the drift-chamber hits.

They are the baselines a CNN on the event images is compared with: what a single number, or a
few per track, already tells about the event type.

* :func:`event_features`: number of hits (all a binary image knows, summed), the event's total
  charge (what the ``total`` encoding paints on every hit) and its mean charge per hit (the
  ``average`` encoding).
* :func:`track_features`: per track, grouped by the hits' ``trk`` label (the talk's TRK): its
  number of hits, mean charge, and transverse momentum from a circle fit through the beam line.

The circle fit: a track from the origin lies on ``x^2 + y^2 = 2 a x + 2 b y`` (centre ``(a, b)``,
radius ``R = sqrt(a^2 + b^2)``), linear in ``(a, b)``, so an algebraic least-squares fit is one
2x2 solve per track, done for all tracks at once with sums (Kasa's fit). It leans towards small
circles, so a few Gauss-Newton steps on the hits' distances to the circle follow. Only axial
wires are used: the mid-point of a stereo wire is not where the track crossed it.
``pT = 0.3 B R``.
"""

from __future__ import annotations

import numpy as np

from hepdl.common.physics import curvature_radius_mm
from hepdl.common.tables import count_events
from hepdl.driftchamber.kinematics import N_TRACKS

__all__ = ["N_TRACKS", "event_features", "track_features"]

def event_features(hits, n_events: int | None = None):
    """Number of hits, total charge and mean charge per hit of every event.

    Parameters
    ----------
    hits : mapping
        The hits table (``event``, ``rc`` [ADC counts]).
    n_events : int, optional
        Number of events (pass it: events without hits at the end would be missed otherwise).

    Returns
    -------
    dict of (n_events,) arrays
        ``n_hits`` (int64), ``total_charge`` and ``mean_charge`` [ADC counts] (float64; 0 for an
        event without hits).

    Examples
    --------
    >>> hits = {"event": np.array([0, 0, 2]), "rc": np.array([100.0, 300.0, 50.0])}
    >>> f = event_features(hits, n_events=3)
    >>> f["n_hits"].tolist(), f["total_charge"].tolist(), f["mean_charge"].tolist()
    ([2, 0, 1], [400.0, 0.0, 50.0], [200.0, 0.0, 50.0])
    """
    n = count_events(hits["event"], n_events)
    event = np.asarray(hits["event"])
    n_hits = np.bincount(event, minlength=n)
    total = np.bincount(event, weights=np.asarray(hits["rc"], dtype=float), minlength=n)
    mean = np.divide(total, n_hits, out=np.zeros(n), where=n_hits > 0)
    return {"n_hits": n_hits, "total_charge": total, "mean_charge": mean}


def track_features(hits, n_events: int | None = None, *, field_tesla: float = 1.0,
                   min_axial_hits: int = 3, gauss_newton_steps: int = 5):
    """Per-track hit count, mean charge and fitted pT, as ``(n_events, 4)`` arrays.

    Parameters
    ----------
    hits : mapping
        The hits table (``event``, ``trk``, ``stereo``, ``x``, ``y`` [mm], ``rc``); noise hits
        (``trk = -1``) are ignored.
    n_events : int, optional
        Number of events.
    field_tesla : float
        Solenoid field [T].
    min_axial_hits : int
        Fewer axial hits than this give ``pt_fit_gev = NaN``.
    gauss_newton_steps : int
        Refinements of the algebraic circle fit towards the least-squares (geometric) one.

    Returns
    -------
    dict of (n_events, 4) arrays, column = ``trk``
        ``n_hits`` (int64), ``mean_charge`` [ADC counts] (NaN without hits),
        ``pt_fit_gev`` [GeV] (NaN where the fit is not possible).

    Examples
    --------
    Three hits on the circle of centre (1000, 0) mm through the origin: R = 1 m, pT = 0.3 GeV.

    >>> phi = np.array([0.3, 0.6, 0.9])
    >>> hits = {"event": np.zeros(3, int), "trk": np.zeros(3, int), "stereo": np.zeros(3, int),
    ...         "x": 1000 - 1000 * np.cos(phi), "y": 1000 * np.sin(phi), "rc": np.full(3, 600.0)}
    >>> round(float(track_features(hits, 1)["pt_fit_gev"][0, 0]), 3)
    0.3
    """
    n = count_events(hits["event"], n_events)
    trk = np.asarray(hits["trk"])
    on_track = trk >= 0
    if np.any(trk >= N_TRACKS):
        raise ValueError(f"hits['trk'] must be -1 (noise) or 0..{N_TRACKS - 1}, got {trk.max()}")
    key = np.asarray(hits["event"])[on_track].astype(np.int64) * N_TRACKS + trk[on_track]
    size = n * N_TRACKS
    n_hits = np.bincount(key, minlength=size)
    charge = np.bincount(key, weights=np.asarray(hits["rc"], float)[on_track], minlength=size)
    mean_charge = np.divide(charge, n_hits, out=np.full(size, np.nan), where=n_hits > 0)

    axial = np.asarray(hits["stereo"])[on_track] == 0
    k = key[axial]
    x = np.asarray(hits["x"], float)[on_track][axial]
    y = np.asarray(hits["y"], float)[on_track][axial]
    r2 = x * x + y * y

    def total(values):
        return np.bincount(k, weights=values, minlength=size)

    sxx, sxy, syy, sxr, syr = total(x * x), total(x * y), total(y * y), total(x * r2), total(y * r2)
    det = sxx * syy - sxy**2
    good = (np.bincount(k, minlength=size) >= min_axial_hits) & (det > 0)
    safe = np.where(good, det, 1.0)
    a = (sxr * syy - syr * sxy) / (2.0 * safe)
    b = (syr * sxx - sxr * sxy) / (2.0 * safe)
    # The algebraic fit above is biased to small circles (its residual is 2 R times the
    # distance); a few Gauss-Newton steps minimise the distances themselves.
    for _ in range(gauss_newton_steps):
        dx, dy = x - a[k], y - b[k]
        rho = np.maximum(np.hypot(dx, dy), 1e-9)
        radius = np.maximum(np.hypot(a, b), 1e-9)[k]
        d = rho - radius
        ja, jb = -dx / rho - a[k] / radius, -dy / rho - b[k] / radius
        haa, hab, hbb = total(ja * ja), total(ja * jb), total(jb * jb)
        ga, gb = total(ja * d), total(jb * d)
        det_gn = haa * hbb - hab**2
        ok = good & (det_gn > 0)
        safe_gn = np.where(ok, det_gn, 1.0)
        a = a - np.where(ok, (hbb * ga - hab * gb) / safe_gn, 0.0)
        b = b - np.where(ok, (haa * gb - hab * ga) / safe_gn, 0.0)
    pt = np.where(good, np.hypot(a, b) / curvature_radius_mm(1.0, field_tesla=field_tesla), np.nan)
    shape = (n, N_TRACKS)
    return {"n_hits": n_hits.reshape(shape), "mean_charge": mean_charge.reshape(shape),
            "pt_fit_gev": pt.reshape(shape)}
