"""Classical baselines for the RAMP clustering task, to compare the learned clusterers against.

``road_following`` is the textbook track follower (e.g. R. Fruhwirth and A. Strandlie,
"Pattern Recognition, Tracking and Vertex Reconstruction in Particle Detectors", Springer 2021,
chapter 5, "track following"): every hit of the innermost layer seeds a track; layer by layer
outward, each track predicts where it crosses the next layer and takes the nearest hit in
azimuth inside a road. The prediction is a straight line from the beam line after the seed,
then the circle through the beam line (0, 0) and the track's last two hits. A hit claimed by
several tracks goes to the closest one; a track that finds no hit in its road keeps its
prediction and tries the next layer. A second pass can seed from leftover hits on later layers
(tracks whose first hit was lost).

Two trivial baselines give the floor of the score: :func:`one_cluster` (everything in one
cluster) and :func:`each_hit_alone`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hepdl.common.azimuth import TWO_PI, wrap_phi

__all__ = ["each_hit_alone", "hit_arrays", "one_cluster", "road_following"]


def one_cluster(hits: Mapping) -> np.ndarray:
    """Every hit of an event in one cluster (id 0).

    Examples
    --------
    >>> one_cluster({"event_id": np.array([3, 3, 4])}).tolist()
    [0, 0, 0]
    """
    return np.zeros(np.asarray(hits["event_id"]).size, dtype=np.int64)


def each_hit_alone(hits: Mapping) -> np.ndarray:
    """Every hit its own cluster (ids 0, 1, 2, ...).

    Examples
    --------
    >>> each_hit_alone({"event_id": np.array([3, 3, 4])}).tolist()
    [0, 1, 2]
    """
    return np.arange(np.asarray(hits["event_id"]).size, dtype=np.int64)


def _predict_phi(r_a, phi_a, r_b, phi_b, n_on_track, r_next):
    """Azimuth at ``r_next`` of the circle through (0, 0), hit A and hit B (B the last)."""
    xa, ya = r_a * np.cos(phi_a), r_a * np.sin(phi_a)
    xb, yb = r_b * np.cos(phi_b), r_b * np.sin(phi_b)
    det = xa * yb - ya * xb
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = 0.5 * (r_a**2 * yb - r_b**2 * ya) / det
        yc = 0.5 * (xa * r_b**2 - xb * r_a**2) / det
        rho = np.hypot(xc, yc)
        phi_c = np.arctan2(yc, xc)
        side = np.sign(wrap_phi(phi_b - phi_c))
        circle = phi_c + side * np.arccos(np.clip(r_next / (2.0 * rho), -1.0, 1.0))
    use_circle = (n_on_track >= 2) & np.isfinite(circle) & (np.abs(det) > 1e-9)
    return np.where(use_circle, circle, phi_b)


def hit_arrays(hits):
    """``event_id``, ``layer`` (int64), ``x``, ``y`` [mm] (float) of a hit table, checked for equal lengths."""
    event = np.asarray(hits["event_id"]).astype(np.int64)
    layer = np.asarray(hits["layer"]).astype(np.int64)
    x, y = np.asarray(hits["x"], dtype=float), np.asarray(hits["y"], dtype=float)
    if not event.size == layer.size == x.size == y.size:
        raise ValueError(f"hits columns must have equal lengths, got event_id {event.size}, "
                         f"layer {layer.size}, x {x.size}, y {y.size}")
    return event, layer, x, y


def road_following(hits: Mapping, *, road_rad: float = 0.05,
                   seed_layers: tuple[int, ...] = (0,)) -> np.ndarray:
    """Cluster RAMP hits by following roads outward from seeds (see the module docstring).

    Vectorised over all tracks of all events at once: one numpy pass per layer and seed layer.

    Parameters
    ----------
    hits : columns ``event_id``, ``layer`` (0 = innermost), ``x``, ``y`` [mm]
    road_rad : half-width of the road in azimuth around the prediction [rad]
    seed_layers : layers whose still-unassigned hits seed tracks, in this order

    Returns
    -------
    numpy.ndarray
        int64 predicted cluster id of each hit (the row number of its seed hit), -1 for hits
        no track took.

    Examples
    --------
    Two straight tracks in one event, at phi = 0 and phi = 1:

    >>> r = np.array([39.0, 85.0, 155.0] * 2)
    >>> phi = np.repeat([0.0, 1.0], 3)
    >>> hits = {"event_id": np.zeros(6, int), "layer": np.tile([0, 1, 2], 2),
    ...         "x": r * np.cos(phi), "y": r * np.sin(phi)}
    >>> road_following(hits).tolist()
    [0, 0, 0, 3, 3, 3]
    """
    event, layer, x, y = hit_arrays(hits)
    if not road_rad > 0:
        raise ValueError(f"road_rad must be positive [rad], got {road_rad!r}")
    pred = np.full(event.size, -1, dtype=np.int64)
    if event.size == 0:
        return pred
    r = np.hypot(x, y)
    phi = np.mod(np.arctan2(y, x), TWO_PI)
    n_layers = int(layer.max()) + 1
    _, ev = np.unique(event, return_inverse=True)
    ev = ev.ravel()
    key = ev * 8.0 + phi  # sorts by event, then azimuth (8 > 2 pi)

    for seed_layer in seed_layers:
        seeds = np.flatnonzero((layer == seed_layer) & (pred < 0))
        if seeds.size == 0:
            continue
        pred[seeds] = seeds
        t_event, t_id = ev[seeds], seeds
        r_a, phi_a = np.zeros(seeds.size), phi[seeds]
        r_b, phi_b = r[seeds], phi[seeds]
        n_on = np.ones(seeds.size, dtype=np.int64)
        for next_layer in range(seed_layer + 1, n_layers):
            free = np.flatnonzero((layer == next_layer) & (pred < 0))
            if free.size == 0:
                continue
            free = free[np.argsort(key[free], kind="stable")]
            free_key, free_ev = key[free], ev[free]
            r_next = np.median(r[free])
            target = np.mod(_predict_phi(r_a, phi_a, r_b, phi_b, n_on, r_next), TWO_PI)
            pos = np.searchsorted(free_key, t_event * 8.0 + target)
            first = np.searchsorted(free_ev, t_event, "left")
            last = np.searchsorted(free_ev, t_event, "right") - 1
            # candidates: both neighbours in azimuth, and the event's first and last hits on the
            # layer (the neighbours across phi = 0)
            cand = np.stack([pos - 1, pos, first, last])
            inside = (cand >= first) & (cand <= last) & (last >= first)
            cand = np.clip(cand, 0, free.size - 1)
            dphi = np.where(inside, np.abs(wrap_phi(phi[free[cand]] - target)), np.inf)
            best = np.argmin(dphi, axis=0)
            columns = np.arange(t_id.size)
            best_dphi = dphi[best, columns]
            hit = free[cand[best, columns]]
            ok = np.flatnonzero(best_dphi < road_rad)
            # a hit wanted by several tracks goes to the closest one
            order = ok[np.lexsort((best_dphi[ok], hit[ok]))]
            winner = np.ones(order.size, dtype=bool)
            winner[1:] = hit[order][1:] != hit[order][:-1]
            won = order[winner]
            pred[hit[won]] = t_id[won]
            r_a[won], phi_a[won] = r_b[won], phi_b[won]
            r_b[won], phi_b[won] = r[hit[won]], phi[hit[won]]
            n_on[won] += 1
    return pred
