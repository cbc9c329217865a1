"""2-D -> 3-D by naive back-projection, and the voxel scores the 2-D -> 3-D lesson reports.

Two wire planes give about 2 x 240 numbers per time slice where the volume has 240 x 240
candidate positions: the third coordinate is under-constrained. The naive reconstruction
(:func:`backproject`) takes, in each time bin, every pair of a hit u wire and a hit v wire whose
crossing lies in the volume, and puts a candidate point at the crossing: ``y = 0.4 (u - v)``,
``z = (0.4 (u + v) - 20) / (2 sin 60)`` (wire centres) and ``x`` the bin's centre
(:func:`hepdl.lartpc.geometry.wire_crossing`). It finds nearly every true point (recall ~1)
but, when several wires fire in one time bin, also every wrong pairing: the *ghosts*. Tracks
along a time slice (constant drift distance) and showers (many hits per slice) are worst. The
deghosting lesson trains a network to tell the true candidates from the ghosts.

A hit (:func:`hit_maps`) is a bin above ``threshold_adc``: on the collection plane its value,
on the induction plane its absolute value (the bipolar pulse's two lobes both count).

Scores on voxels (:func:`voxel_scores`): precision = true voxels among those predicted, recall
= predicted among the true ones, IoU = intersection over union. Scores on points
(:func:`chamfer_cm`): how far, in cm, the predicted points lie from the true ones and the true
ones from the predicted (the Chamfer distance), which a voxel score cannot tell: a point 2 mm
across a voxel boundary costs a voxel score as much as one 20 cm away.
"""

from __future__ import annotations

import numpy as np

from hepdl.lartpc.formats import voxelize
from hepdl.lartpc.geometry import (
    BIN_CM,
    N_PLANES,
    N_TIME_BINS,
    N_WIRES,
    TICKS_PER_BIN,
    in_volume,
    project,
    wire_crossing,
)

__all__ = ["backproject", "backprojection_scores", "chamfer_cm", "hit_maps", "truth_hit_maps", "voxel_scores",
           "wire_pairs"]


def hit_maps(images, *, threshold_adc: float = 12.0) -> np.ndarray:
    """Where the wires are hit: ``|value| > threshold`` on induction, ``value > threshold`` on
    collection.

    Parameters
    ----------
    images : (..., 2, 240, T) array [ADC]
    threshold_adc : float

    Returns
    -------
    bool array of the same shape

    Examples
    --------
    >>> images = np.zeros((2, 240, 128)); images[0, 5, 3] = -20; images[1, 5, 3] = -20
    >>> hits = hit_maps(images)
    >>> bool(hits[0, 5, 3]), bool(hits[1, 5, 3])
    (True, False)
    """
    images = np.asarray(images, dtype=np.float32)
    hits = np.empty(images.shape, dtype=bool)
    hits[..., 0, :, :] = np.abs(images[..., 0, :, :]) > threshold_adc
    hits[..., 1, :, :] = images[..., 1, :, :] > threshold_adc
    return hits


def truth_hit_maps(points) -> np.ndarray:
    """The hit maps a perfect read-out would give: the true points projected onto the planes.

    Each point [cm] marks wire ``floor(u)`` (``floor(v)``) in time bin ``floor(tick / 20)``; no
    pulse shape, noise or threshold. Back-projecting these gives the purely geometric ghosts
    (the "quick geometric model" of the design note).

    Parameters
    ----------
    points : (k, 3) array [cm]

    Returns
    -------
    (2, 240, 128) bool

    Examples
    --------
    >>> hits = truth_hit_maps(np.array([[10.0, 0.0, 45.0]]))
    >>> [tuple(int(i) for i in np.argwhere(plane)[0]) for plane in hits]
    [(122, 25), (122, 25)]
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    u, v, tick = project(points[:, 0], points[:, 1], points[:, 2])
    time_bin = np.floor(tick / TICKS_PER_BIN).astype(np.int64)
    hits = np.zeros((N_PLANES, N_WIRES, N_TIME_BINS), bool)
    for plane, coordinate in enumerate((u, v)):
        wire = np.floor(coordinate).astype(np.int64)
        ok = (wire >= 0) & (wire < N_WIRES) & (time_bin >= 0) & (time_bin < N_TIME_BINS)
        hits[plane, wire[ok], time_bin[ok]] = True
    return hits


def backproject(hits) -> np.ndarray:
    """Candidate 3-D points of one event: every (u, v) pair of hit wires in each time bin.

    Parameters
    ----------
    hits : (2, 240, T) bool
        One event's hit maps (:func:`hit_maps`).

    Returns
    -------
    (M, 3) float32
        Candidates ``x, y, z`` [cm] that lie in the active volume (x at the bin's centre).

    Examples
    --------
    Two points in one time slice give two true candidates and two ghosts:

    >>> from hepdl.lartpc.geometry import project
    >>> u, v, tick = project([5.0, 5.0], [-5.0, 5.0], [40.0, 50.0])
    >>> hits = np.zeros((2, 240, 128), bool)
    >>> hits[0, np.floor(u).astype(int), 12] = True
    >>> hits[1, np.floor(v).astype(int), 12] = True
    >>> backproject(hits).round(1)
    array([[ 4.9, -4.8, 40. ],
           [ 4.9, -8.8, 42.3],
           [ 4.9,  8.8, 47.8],
           [ 4.9,  4.8, 50.1]], dtype=float32)
    """
    u, v, time_bin = wire_pairs(hits).T.astype(np.int64)
    y, z = wire_crossing(u + 0.5, v + 0.5)
    x = (time_bin + 0.5) * BIN_CM
    return np.stack([x, y, z], axis=1).astype(np.float32).reshape(-1, 3)


def wire_pairs(hits) -> np.ndarray:
    """Every (u wire, v wire) pair hit in the same time bin whose crossing lies in the active
    volume: the candidates of :func:`backproject`, as wire and bin numbers.

    Parameters
    ----------
    hits : (2, 240, T) bool
        One event's hit maps (:func:`hit_maps`).

    Returns
    -------
    (M, 3) int16
        ``u wire, v wire, time bin`` of each candidate, ordered by time bin, then u, then v.

    Examples
    --------
    >>> hits = np.zeros((2, 240, 128), bool)
    >>> hits[0, [113, 123], 12] = True
    >>> hits[1, [123, 135], 12] = True
    >>> wire_pairs(hits).tolist()
    [[113, 123, 12], [113, 135, 12], [123, 123, 12], [123, 135, 12]]
    """
    hits = np.asarray(hits, dtype=bool)
    u_wire, u_bin = np.nonzero(hits[0])
    v_wire, v_bin = np.nonzero(hits[1])
    counts_u = np.bincount(u_bin, minlength=hits.shape[-1])
    counts_v = np.bincount(v_bin, minlength=hits.shape[-1])
    order_u, order_v = np.argsort(u_bin, kind="stable"), np.argsort(v_bin, kind="stable")
    start_u = np.concatenate([[0], np.cumsum(counts_u)])
    start_v = np.concatenate([[0], np.cumsum(counts_v)])
    pairs = counts_u * counts_v
    if pairs.sum() == 0:
        return np.zeros((0, 3), np.int16)
    # all pairs of each bin, without a Python loop over pairs
    time_bin = np.repeat(np.arange(hits.shape[-1]), pairs)
    within = np.arange(pairs.sum()) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    u = u_wire[order_u[start_u[time_bin] + within // counts_v[time_bin]]]
    v = v_wire[order_v[start_v[time_bin] + within % counts_v[time_bin]]]
    y, z = wire_crossing(u + 0.5, v + 0.5)
    keep = in_volume((time_bin + 0.5) * BIN_CM, y, z)
    return np.stack([u[keep], v[keep], time_bin[keep]], axis=1).astype(np.int16)


def voxel_scores(predicted, true) -> dict[str, float]:
    """Precision, recall and IoU of a predicted voxel occupancy against the true one.

    Parameters
    ----------
    predicted, true : bool arrays of one shape (or anything; ``!= 0`` is occupied)

    Returns
    -------
    dict
        ``precision``, ``recall``, ``iou`` (NaN where undefined: nothing predicted / true).

    Examples
    --------
    >>> voxel_scores(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    {'precision': 0.5, 'recall': 0.5, 'iou': 0.3333333333333333}
    """
    predicted = np.asarray(predicted) != 0
    true = np.asarray(true) != 0
    both = np.count_nonzero(predicted & true)
    n_pred, n_true = np.count_nonzero(predicted), np.count_nonzero(true)
    union = np.count_nonzero(predicted | true)
    return {"precision": float(both / n_pred) if n_pred else float("nan"),
            "recall": float(both / n_true) if n_true else float("nan"),
            "iou": float(both / union) if union else float("nan")}


def chamfer_cm(points, truth_points) -> dict[str, float]:
    """Mean distances between a set of predicted points and the true points (Chamfer distance).

    Parameters
    ----------
    points : (n, 3) array, the predicted points [cm]
    truth_points : (k, 3) array, the true points [cm]

    Returns
    -------
    dict [cm]
        ``to_truth``: mean over the predicted points of the distance to the nearest true point
        (a ghost far from everything weighs by its distance; precision's analogue);
        ``from_truth``: mean over the true points of the distance to the nearest predicted point
        (a missed stretch weighs by how far the prediction is; recall's analogue);
        ``chamfer``: their mean. NaN where a set is empty.

    Examples
    --------
    >>> truth = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    >>> chamfer_cm(np.array([[0.0, 0.0, 0.0], [0.0, 3.0, 0.0]]), truth)
    {'to_truth': 1.5, 'from_truth': 0.5, 'chamfer': 1.0}
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64)
    truth_points = np.asarray(truth_points, dtype=np.float64)
    for name, value in (("points", points), ("truth_points", truth_points)):
        if value.ndim != 2 or value.shape[1] != 3:
            raise ValueError(f"{name} must have shape (n, 3) [cm], got {value.shape}")
    if not (len(points) and len(truth_points)):
        return {"to_truth": float("nan"), "from_truth": float("nan"), "chamfer": float("nan")}
    to_truth = float(cKDTree(truth_points).query(points)[0].mean())
    from_truth = float(cKDTree(points).query(truth_points)[0].mean())
    return {"to_truth": to_truth, "from_truth": from_truth, "chamfer": (to_truth + from_truth) / 2}


def backprojection_scores(images, points, *, threshold_adc: float = 12.0,
                          voxel_cm: float = 1.0) -> dict[str, np.ndarray]:
    """Back-project every event and score it against its true points, on voxels.

    Parameters
    ----------
    images : (N, 2, 240, T) array [ADC], or None to back-project the true points' own
        projections (:func:`truth_hit_maps`: the geometric ghosts alone)
    points : dict with ``C`` (M, 3) [cm], ``offsets`` (N + 1,) (the ``images3D`` group of a
        simulation, or :func:`hepdl.lartpc.formats.read_points`)
    threshold_adc : hit threshold (:func:`hit_maps`)
    voxel_cm : voxel edge [cm]

    Returns
    -------
    dict of (N,) float arrays
        ``precision``, ``recall``, ``iou``, and ``n_candidates`` (candidate points per event).
    """
    offsets = np.asarray(points["offsets"])
    n = offsets.size - 1 if images is None else len(images)
    if offsets.size != n + 1:
        raise ValueError(f"points hold {offsets.size - 1} events and images {n}; they must match")
    out = {key: np.full(n, np.nan) for key in ("precision", "recall", "iou", "n_candidates")}
    for i in range(n):
        truth = np.asarray(points["C"][offsets[i]:offsets[i + 1]])
        hits = (truth_hit_maps(truth) if images is None
                else hit_maps(images[i], threshold_adc=threshold_adc))
        candidates = backproject(hits)
        scores = voxel_scores(voxelize(candidates, voxel_cm=voxel_cm) > 0,
                              voxelize(truth, voxel_cm=voxel_cm) > 0)
        for key, value in scores.items():
            out[key][i] = value
        out["n_candidates"][i] = len(candidates)
    return out
