"""Deghosting back-projected candidates: candidate indices, local features, labels, scores, displays.

The 2-D -> 3-D lesson (lartpc3) starts from the naive back-projection of
:mod:`hepdl.lartpc.reconstruct`: in each time bin, every pair of a hit u wire and a hit v wire
whose crossing lies in the volume is a *candidate* 3-D point. Most candidates are *ghosts*
(wrong pairings, and pairings with noise hits). Here a candidate is kept as its integer triple
``(u wire, v wire, time bin)`` (:func:`candidates`), so that the two views can be read at it:

* :func:`candidate_features`: local numbers per candidate (:data:`FEATURE_NAMES`): the two
  views' charges at the candidate's wires and time bin and in the neighbouring bins, how many
  wires of each plane fire in the slice (how many candidates share the wire), and how many
  candidates are the candidate's neighbours in the ``(u, v, t)`` grid;
* :func:`candidate_labels`: true (the candidate's voxel holds a true point) or ghost;
* :func:`right_pairings`: the candidates that are a true point's own wire pair and time bin, the
  choice a perfect pairing would make (a reference: it needs the truth);
* :func:`context_features`: given a first score per candidate, what its neighbourhood says
  (:data:`CONTEXT_NAMES`): how many candidates share its box of voxels, how they scored, and
  how far it lies from the line they draw; the input of a second pass (*auto-context*);
* :func:`voxel_grid`: the candidates as a dense 3-D image (per voxel their number and the
  largest and mean of any per-candidate values), the input of a 3-D network, and
  :func:`at_candidates`, a voxel map read back at the candidates;
* :func:`voxel_max`, :func:`scores_of_kept`: from a keep decision or a score per candidate to
  1 cm voxels, and the voxel precision, recall and IoU of :func:`reconstruct.voxel_scores`;
* :func:`retention_curve`: ghost rejection against true-voxel retention as the threshold on a
  score moves;
* :func:`angle_to_planes_deg`: a direction's angle to the wire planes;
* :func:`projections`: three 2-D projections (x-z, y-z, x-y) of a set of points, for displays.

The package holds the features and the metrics; the *decision* (which candidates to keep) is
the lesson's, and graded there.

Units: wire numbers are integers 0-239 (a pitch is 0.4 cm), time bins 0-127 (0.395 cm of drift
each, :data:`hepdl.lartpc.geometry.BIN_CM`), charges in ADC counts, positions in cm.
"""

from __future__ import annotations

import numpy as np

from hepdl.lartpc.formats import voxelize
from hepdl.lartpc.geometry import (
    ACTIVE_X_CM,
    ACTIVE_Y_CM,
    ACTIVE_Z_CM,
    BIN_CM,
    N_PLANES,
    N_TIME_BINS,
    N_WIRES,
    TICKS_PER_BIN,
    project,
    wire_crossing,
)
from hepdl.lartpc.reconstruct import hit_maps, voxel_scores, wire_pairs

__all__ = [
    "CONTEXT_NAMES",
    "FEATURE_NAMES",
    "SHOWER_CLASSES",
    "TRACK_CLASSES",
    "angle_to_planes_deg",
    "at_candidates",
    "candidate_features",
    "candidate_labels",
    "candidate_positions",
    "candidates",
    "context_features",
    "event_candidates",
    "projections",
    "retention_curve",
    "right_pairings",
    "scores_of_kept",
    "voxel_grid",
    "voxel_max",
]

TRACK_CLASSES = ("muon", "pion", "proton", "kaon")
SHOWER_CLASSES = ("electron", "photon")

FEATURE_NAMES = (
    "u_before",         # induction ADC (signed) of the u wire in bin t-1
    "u_at",             # ... in the candidate's bin t
    "u_after",          # ... in bin t+1
    "v_before",         # collection ADC of the v wire in bin t-1
    "v_at",             # ... in bin t
    "v_after",          # ... in bin t+1
    "u_sides",          # |induction ADC| of wires u-1 and u+1 in bin t, summed
    "v_sides",          # collection ADC of wires v-1 and v+1 in bin t, summed
    "n_u_slice",        # hit u wires in bin t: the candidates that share the v wire (before the volume cut)
    "n_v_slice",        # hit v wires in bin t: the candidates that share the u wire
    "n_neighbours",     # other candidates within +-1 wire and +-1 bin in (u, v, t): of 26 places
    "n_neighbours_t",   # of those, in bin t-1 or t+1: of 18 places
)

CONTEXT_NAMES = (
    "n_others",         # other candidates in the box of voxels around the candidate's voxel
    "score_others",     # the sum of their first-pass scores
    "mean_score_others",  # ... divided by their number (0 without others)
    "axis_distance_cm", # distance [cm] from the score-weighted principal axis of the box's candidates
    "linearity",        # that axis' share of the score-weighted variance: 1 on a line, 1/3 in a blob
)


def candidates(hits) -> np.ndarray:
    """The back-projected candidates of one event as wire and bin numbers.

    Every pair of a hit u wire and a hit v wire in the same time bin whose crossing (wire
    centres) lies in the active volume; the same points as
    :func:`hepdl.lartpc.reconstruct.backproject`, in the same order.

    Parameters
    ----------
    hits : (2, 240, 128) bool
        One event's hit maps (:func:`hepdl.lartpc.reconstruct.hit_maps`).

    Returns
    -------
    (M, 3) int16
        ``u wire, v wire, time bin`` of each candidate.

    Examples
    --------
    Two u wires and two v wires hit in bin 12: four pairings, two of them ghosts.

    >>> hits = np.zeros((2, 240, 128), bool)
    >>> hits[0, [113, 123], 12] = True
    >>> hits[1, [123, 135], 12] = True
    >>> candidates(hits).tolist()
    [[113, 123, 12], [113, 135, 12], [123, 123, 12], [123, 135, 12]]
    """
    hits = np.asarray(hits, dtype=bool)
    if hits.shape != (N_PLANES, N_WIRES, N_TIME_BINS):
        raise ValueError(f"hits must have shape (2, 240, 128), got {hits.shape}")
    return wire_pairs(hits)


def candidate_positions(cands) -> np.ndarray:
    """Positions ``x, y, z`` [cm] of candidates ``(u wire, v wire, time bin)``: wire centres,
    the bin's centre in drift.

    Examples
    --------
    >>> candidate_positions(np.array([[122, 122, 25]])).round(2).tolist()
    [[10.07, 0.0, 45.03]]
    """
    cands = np.asarray(cands).reshape(-1, 3)
    y, z = wire_crossing(cands[:, 0] + 0.5, cands[:, 1] + 0.5)
    x = (cands[:, 2] + 0.5) * BIN_CM
    return np.stack([x, y, z], axis=1).astype(np.float64)


def angle_to_planes_deg(dir_x) -> np.ndarray:
    """Angle [degrees] between a direction and the wire planes (the planes are normal to the
    drift axis x): ``arcsin(|dir_x|)``. 0 for a track that stays in one drift slice (the worst
    case for back-projection), 90 for one along the drift.

    Parameters
    ----------
    dir_x : array, the x component of unit direction vectors

    Examples
    --------
    >>> angle_to_planes_deg([0.0, 0.5, -1.0]).round(1).tolist()
    [0.0, 30.0, 90.0]
    """
    return np.degrees(np.arcsin(np.clip(np.abs(np.asarray(dir_x, dtype=np.float64)), 0.0, 1.0)))


def _keys(u, v, t):
    return (np.asarray(u, np.int64) * N_WIRES + np.asarray(v, np.int64)) * N_TIME_BINS + np.asarray(t, np.int64)


def _count_present(cands, offsets) -> np.ndarray:
    # how many of the candidates + offset exist among the candidates, per candidate
    u, v, t = (cands[:, k].astype(np.int64) for k in range(3))
    present = np.sort(_keys(u, v, t))
    count = np.zeros(len(cands), np.int64)
    for du, dv, dt in offsets:
        uu, vv, tt = u + du, v + dv, t + dt
        ok = (uu >= 0) & (uu < N_WIRES) & (vv >= 0) & (vv < N_WIRES) & (tt >= 0) & (tt < N_TIME_BINS)
        key = _keys(uu, vv, tt)
        where = np.clip(np.searchsorted(present, key), 0, max(present.size - 1, 0))
        count += ok & (present.size > 0) & (present[where] == key)
    return count


_AROUND = [(du, dv, dt) for du in (-1, 0, 1) for dv in (-1, 0, 1) for dt in (-1, 0, 1)
           if (du, dv, dt) != (0, 0, 0)]
_ACROSS_TIME = [offset for offset in _AROUND if offset[2] != 0]


def candidate_features(images, cands, *, threshold_adc: float = 12.0) -> np.ndarray:
    """Local features of one event's candidates (:data:`FEATURE_NAMES`, in that order).

    Parameters
    ----------
    images : (2, 240, 128) array [ADC]
        The event's two views (plane 0 induction, 1 collection).
    cands : (M, 3) int array
        ``u wire, v wire, time bin`` (:func:`candidates`).
    threshold_adc : float
        The hit threshold the candidates were made with [ADC] (for the slice counts and runs).

    Returns
    -------
    (M, 10) float32
        Charges in ADC counts, the rest counts.

    Examples
    --------
    >>> images = np.zeros((2, 240, 128), np.float32)
    >>> images[0, 120, 30:32] = -40.0; images[1, 120, 30:32] = 60.0; images[1, 130, 31] = 20.0
    >>> cands = candidates(hit_maps(images))
    >>> cands.tolist()
    [[120, 120, 30], [120, 120, 31], [120, 130, 31]]
    >>> features = candidate_features(images, cands)
    >>> features.shape, features[2, :6].tolist()
    ((3, 12), [-40.0, -40.0, 0.0, 0.0, 20.0, 0.0])
    >>> features[2, 8:].tolist()       # 1 u wire and 2 v wires hit in bin 31; no neighbour
    [1.0, 2.0, 0.0, 0.0]
    >>> features[0, 10:].tolist()      # (120, 120, 30) and (120, 120, 31) are neighbours in time
    [1.0, 1.0]
    """
    images = np.asarray(images, dtype=np.float32)
    if images.shape != (N_PLANES, N_WIRES, N_TIME_BINS):
        raise ValueError(f"images must have shape (2, 240, 128), got {images.shape}")
    cands = np.asarray(cands).reshape(-1, 3).astype(np.intp)
    hits = hit_maps(images, threshold_adc=threshold_adc)
    u, v, t = cands[:, 0], cands[:, 1], cands[:, 2]
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))                       # wire and bin +-1 exist
    pu, pv, pt = u + 1, v + 1, t + 1
    n_slice = hits.sum(axis=1)                                             # (2, 128)
    columns = [padded[0, pu, pt - 1], padded[0, pu, pt], padded[0, pu, pt + 1],
               padded[1, pv, pt - 1], padded[1, pv, pt], padded[1, pv, pt + 1],
               np.abs(padded[0, pu - 1, pt]) + np.abs(padded[0, pu + 1, pt]),
               padded[1, pv - 1, pt] + padded[1, pv + 1, pt],
               n_slice[0, t], n_slice[1, t],
               _count_present(cands, _AROUND), _count_present(cands, _ACROSS_TIME)]
    return np.stack(columns, axis=1).astype(np.float32) if len(cands) else np.zeros((0, len(FEATURE_NAMES)), np.float32)


def _grid_shape(voxel_cm: float) -> tuple[int, int, int]:
    # the voxel grid of hepdl.lartpc.formats.voxelize
    return tuple(int(np.ceil(extent / voxel_cm - 1e-9)) for extent in (ACTIVE_X_CM, ACTIVE_Y_CM, ACTIVE_Z_CM))


def _voxel_triples(positions, voxel_cm: float) -> np.ndarray:
    # (k, 3) integer voxel coordinates of positions [cm] (may lie outside the grid)
    return np.floor((np.asarray(positions, float).reshape(-1, 3) - np.array([0.0, -ACTIVE_Y_CM / 2, 0.0]))
                    / voxel_cm).astype(np.int64)


def _voxel_index(positions, voxel_cm: float) -> np.ndarray:
    # flat index of each position's voxel in the grid of hepdl.lartpc.formats.voxelize (-1 outside)
    shape = _grid_shape(voxel_cm)
    index = _voxel_triples(positions, voxel_cm)
    ok = np.all((index >= 0) & (index < np.array(shape)), axis=1)
    flat = np.full(len(index), -1, np.int64)
    flat[ok] = np.ravel_multi_index(tuple(index[ok].T), shape)
    return flat


def candidate_labels(cands, truth_points, *, voxel_cm: float = 1.0) -> np.ndarray:
    """True for the candidates whose voxel holds a true point, False for the ghosts.

    Parameters
    ----------
    cands : (M, 3) int array (:func:`candidates`)
    truth_points : (k, 3) array [cm]
    voxel_cm : voxel edge [cm]

    Returns
    -------
    (M,) bool

    Examples
    --------
    >>> candidate_labels(np.array([[122, 122, 25], [122, 130, 25]]), np.array([[10.2, 0.3, 45.4]])).tolist()
    [True, False]
    """
    mine = _voxel_index(candidate_positions(cands), voxel_cm)
    truth = np.unique(_voxel_index(truth_points, voxel_cm))
    return np.isin(mine, truth[truth >= 0]) & (mine >= 0)


def right_pairings(cands, truth_points) -> np.ndarray:
    """True for the candidates that pair a true point's own u wire, v wire and time bin.

    A perfect pairing (the wire pairs that the charge really came from, nothing else) keeps
    exactly these. Scored on voxels (:func:`scores_of_kept`) it is a reference for any deghosting
    that decides per pairing: its IoU falls short of 1 because a candidate sits at the crossing of
    the wire centres and the time bin's centre (up to 0.2 pitch and half a bin from the charge),
    which puts some of it across a voxel edge, and because the induction wire's bipolar pulse
    changes sign in the point's own bin, where it is then below threshold (no candidate there).
    It needs the truth, so it is a yardstick, not a method.

    Parameters
    ----------
    cands : (M, 3) int array, ``u wire, v wire, time bin`` (:func:`candidates`)
    truth_points : (k, 3) array [cm]

    Returns
    -------
    (M,) bool

    Examples
    --------
    Two points in one slice, four pairings: the two right ones.

    >>> truth = np.array([[5.4, -5.3, 40.4], [5.4, 5.3, 50.4]])
    >>> from hepdl.lartpc.reconstruct import truth_hit_maps
    >>> cands = candidates(truth_hit_maps(truth))
    >>> right_pairings(cands, truth).tolist()
    [True, False, False, True]
    """
    cands = np.asarray(cands).reshape(-1, 3).astype(np.int64)
    points = np.asarray(truth_points, dtype=np.float64).reshape(-1, 3)
    u, v, tick = project(points[:, 0], points[:, 1], points[:, 2])
    u, v, t = np.floor(u), np.floor(v), np.floor(tick / TICKS_PER_BIN)
    read = (u >= 0) & (u < N_WIRES) & (v >= 0) & (v < N_WIRES) & (t >= 0) & (t < N_TIME_BINS)
    own = _keys(u[read], v[read], t[read])
    return np.isin(_keys(cands[:, 0], cands[:, 1], cands[:, 2]), own)


def context_features(cands, score, *, box_voxels: int = 1, voxel_cm: float = 1.0) -> np.ndarray:
    """What a candidate's neighbourhood says, given a first score for every candidate of the event.

    The candidates are binned into the voxels of :func:`hepdl.lartpc.formats.voxelize`; for each
    candidate, the box of ``box_voxels`` x ``box_voxels`` x ``box_voxels`` voxels centred on its
    own is summed (a box filter, so the cost is that of the grid, not of the pairs): the number
    of candidates in it, their scores, and the score-weighted mean and covariance of their
    positions. A true point of a track sits among well-scored candidates that line up, and on
    their line; a ghost sits off it, or among poorly scored ones. Feeding these numbers to a
    second classifier beside the local features is *auto-context*: each pass sees the previous
    pass's verdict on the neighbours, a cheap stand-in for the receptive field of a 3-D network.

    Parameters
    ----------
    cands : (M, 3) int array, ``u wire, v wire, time bin`` (:func:`candidates`)
    score : (M,) array in [0, 1], a first score per candidate (for instance P(true) of a
        classifier on :func:`candidate_features`)
    box_voxels : odd int >= 1, the box's edge in voxels (1: the candidate's own voxel)
    voxel_cm : voxel edge [cm]

    Returns
    -------
    (M, 5) float32, columns :data:`CONTEXT_NAMES`: counts, scores (sums and mean), a distance in
    cm and a fraction in [1/3, 1]. The candidate itself counts in the mean position and the axis,
    not in ``n_others`` and the score sums. Where nothing in the box has a score above 0 there is
    no axis: the distance is then half the box's edge.

    Examples
    --------
    Five candidates on a line along z (one wire of each plane more per step) scored 1, and one
    2.4 cm off it scored 0, in a box of 7 voxels: the well-scored candidates draw the axis, the
    last one lies 2.4 cm from it.

    >>> cands = np.array([[100 + k, 100 + k, 50] for k in range(5)] + [[110, 104, 50]])
    >>> context = context_features(cands, [1, 1, 1, 1, 1, 0], box_voxels=7)
    >>> np.round(context[:, 3].astype(float), 1).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 2.4]
    >>> np.round(context[[0, 1, 5], :3].astype(float), 2).tolist()     # others in the box, their score, its mean
    [[4.0, 4.0, 1.0], [5.0, 4.0, 0.8], [4.0, 4.0, 1.0]]
    >>> context_features(cands, np.ones(6), box_voxels=1)[:, 0].tolist()   # alone in its voxel, or not
    [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    """
    from scipy import ndimage

    cands = np.asarray(cands).reshape(-1, 3)
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    if score.size != len(cands):
        raise ValueError(f"score has {score.size} entries for {len(cands)} candidates; give one per candidate")
    if int(box_voxels) != box_voxels or box_voxels < 1 or box_voxels % 2 == 0:
        raise ValueError(f"box_voxels must be an odd integer >= 1 (a box centred on the voxel), got {box_voxels}")
    if len(cands) == 0:
        return np.zeros((0, len(CONTEXT_NAMES)), np.float32)
    positions = candidate_positions(cands)
    shape = _grid_shape(voxel_cm)
    where = tuple(np.clip(_voxel_triples(positions, voxel_cm), 0, np.array(shape) - 1).T)
    flat = np.ravel_multi_index(where, shape)
    pairs = [(a, b) for a in range(3) for b in range(a, 3)]
    channels = [np.ones(len(cands)), score, *(score * positions[:, a] for a in range(3)),
                *(score * positions[:, a] * positions[:, b] for a, b in pairs)]
    volume = int(box_voxels) ** 3
    sums = [ndimage.uniform_filter(np.bincount(flat, weights=c, minlength=int(np.prod(shape))).reshape(shape),
                                   size=int(box_voxels), mode="constant")[where] * volume for c in channels]
    count, weight = np.rint(sums[0]), sums[1]
    safe = np.maximum(weight, 1e-9)
    mean = np.stack(sums[2:5], axis=1) / safe[:, None]
    covariance = np.empty((len(cands), 3, 3))
    for k, (a, b) in enumerate(pairs):
        covariance[:, a, b] = covariance[:, b, a] = sums[5 + k] / safe - mean[:, a] * mean[:, b]
    eigenvalues, eigenvectors = np.linalg.eigh(covariance + 1e-4 * np.eye(3))
    offset = positions - mean
    along = np.einsum("ij,ij->i", offset, eigenvectors[:, :, 2])
    distance = np.sqrt(np.maximum(np.einsum("ij,ij->i", offset, offset) - along ** 2, 0.0))
    others = np.maximum(count - 1, 0)
    score_others = np.maximum(weight - score, 0.0)
    columns = [others, score_others, np.where(others > 0, score_others / np.maximum(others, 1), 0.0),
               np.where(weight > 1e-9, distance, 0.5 * box_voxels * voxel_cm),
               eigenvalues[:, 2] / np.maximum(eigenvalues.sum(axis=1), 1e-12)]
    return np.stack(columns, axis=1).astype(np.float32)


def voxel_max(cands, score, *, voxel_cm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """From a score per candidate to a score per candidate voxel: the largest in each voxel.

    Parameters
    ----------
    cands : (M, 3) int array (:func:`candidates`)
    score : (M,) array (any unit; a keep mask works too)
    voxel_cm : voxel edge [cm]

    Returns
    -------
    voxels : (K,) int64, flat indices into the grid of :func:`hepdl.lartpc.formats.voxelize`
    best : (K,) float64, the largest score among each voxel's candidates

    Examples
    --------
    >>> voxel_max(np.array([[122, 122, 25], [122, 122, 26], [122, 130, 25]]), [0.2, 0.7, 0.4])[1].tolist()
    [0.4, 0.7]
    """
    flat = _voxel_index(candidate_positions(cands), voxel_cm)
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    if score.size != flat.size:
        raise ValueError(f"score has {score.size} entries for {flat.size} candidates; give one per candidate")
    ok = flat >= 0
    voxels, inverse = np.unique(flat[ok], return_inverse=True)
    best = np.full(voxels.size, -np.inf)
    np.maximum.at(best, inverse, score[ok])
    return voxels, best


def voxel_grid(cands, values, *, voxel_cm: float = 1.0) -> np.ndarray:
    """The candidates of one event as a dense 3-D image: per voxel, their number and the largest
    and the mean of each value, the input of a 3-D network.

    Parameters
    ----------
    cands : (M, 3) int array (:func:`candidates`)
    values : (M, k) array, k numbers per candidate (for instance a first-pass score and prepared
        charges; any unit)
    voxel_cm : voxel edge [cm]

    Returns
    -------
    (nx, ny, nz, 1 + 2k) float32 over the grid of :func:`hepdl.lartpc.formats.voxelize`
    ((47, 40, 90) at 1 cm): channel 0 ``log(1 + n)`` of the voxel's candidates, then the largest
    of each value column, then the mean of each; 0 in voxels without a candidate. Candidates
    outside the grid are dropped.

    Examples
    --------
    Two candidates share a voxel, a third lies in another:

    >>> cands = np.array([[122, 122, 25], [122, 122, 26], [122, 130, 25]])
    >>> grid = voxel_grid(cands, np.array([[0.2], [0.6], [0.4]]))
    >>> grid.shape, int((grid[..., 0] > 0).sum())
    ((47, 40, 90, 3), 2)
    >>> sorted(np.round(grid[grid[..., 0] > 0][:, 1:].astype(float), 2).tolist())   # largest and mean value per voxel
    [[0.4, 0.4], [0.6, 0.4]]
    """
    cands = np.asarray(cands).reshape(-1, 3)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or len(values) != len(cands):
        raise ValueError(f"values must have shape ({len(cands)}, k), one row per candidate; got {values.shape}")
    shape = _grid_shape(voxel_cm)
    n_voxels, k = int(np.prod(shape)), values.shape[1]
    flat = _voxel_index(candidate_positions(cands), voxel_cm)
    ok = flat >= 0
    flat, values = flat[ok], values[ok]
    count = np.bincount(flat, minlength=n_voxels).astype(np.float64)
    grid = np.zeros((n_voxels, 1 + 2 * k), np.float32)
    grid[:, 0] = np.log1p(count)
    if flat.size:
        voxels, inverse = np.unique(flat, return_inverse=True)
        largest = np.full((voxels.size, k), -np.inf)
        np.maximum.at(largest, inverse, values)
        grid[voxels, 1:1 + k] = largest
        for column in range(k):
            grid[:, 1 + k + column] = np.bincount(flat, weights=values[:, column], minlength=n_voxels) / np.maximum(count, 1)
    return grid.reshape(*shape, 1 + 2 * k)


def at_candidates(grid, cands, *, voxel_cm: float = 1.0) -> np.ndarray:
    """Read a voxel map back at the candidates: the value of each candidate's voxel.

    Parameters
    ----------
    grid : (nx, ny, nz) array over the grid of :func:`hepdl.lartpc.formats.voxelize` (for
        instance a 3-D network's P(true) per voxel)
    cands : (M, 3) int array (:func:`candidates`)
    voxel_cm : voxel edge [cm]

    Returns
    -------
    (M,) float64; 0 for candidates outside the grid (the last time bins lie beyond the 47 cm drift)

    Examples
    --------
    >>> grid = np.zeros((47, 40, 90)); grid[10, 20, 45] = 0.9
    >>> at_candidates(grid, np.array([[122, 122, 25], [122, 130, 25], [122, 122, 127]])).tolist()
    [0.9, 0.0, 0.0]
    """
    grid = np.asarray(grid)
    shape = _grid_shape(voxel_cm)
    if grid.shape != shape:
        raise ValueError(f"grid must have the voxel grid's shape {shape} at {voxel_cm:g} cm, got {grid.shape}")
    flat = _voxel_index(candidate_positions(cands), voxel_cm)
    values = np.zeros(flat.size)
    values[flat >= 0] = grid.reshape(-1)[flat[flat >= 0]]
    return values


def scores_of_kept(cands, keep, truth_points, *, voxel_cm: float = 1.0) -> dict[str, float]:
    """Voxel precision, recall and IoU of the kept candidates against the true points.

    Parameters
    ----------
    cands : (M, 3) int array (:func:`candidates`)
    keep : (M,) bool, the candidates kept
    truth_points : (k, 3) array [cm]
    voxel_cm : voxel edge [cm]

    Returns
    -------
    dict: ``precision``, ``recall``, ``iou`` (:func:`hepdl.lartpc.reconstruct.voxel_scores`)

    Examples
    --------
    >>> cands = np.array([[122, 122, 25], [122, 130, 25]])
    >>> scores_of_kept(cands, [True, False], np.array([[10.2, 0.3, 45.4]]))
    {'precision': 1.0, 'recall': 1.0, 'iou': 1.0}
    """
    keep = np.asarray(keep, dtype=bool).reshape(-1)
    cands = np.asarray(cands).reshape(-1, 3)
    if keep.size != len(cands):
        raise ValueError(f"keep has {keep.size} entries for {len(cands)} candidates; give one per candidate")
    predicted = voxelize(candidate_positions(cands[keep]), voxel_cm=voxel_cm) > 0
    return voxel_scores(predicted, voxelize(truth_points, voxel_cm=voxel_cm) > 0)


def retention_curve(score, is_true, *, retention=None) -> dict[str, np.ndarray]:
    """Ghost rejection against true retention as the threshold on a score moves.

    Parameters
    ----------
    score : (K,) array, higher = more likely true (per candidate or per voxel, :func:`voxel_max`)
    is_true : (K,) bool
    retention : array of the true-retention fractions to report at (default 0.50-1.00 in 0.01)

    Returns
    -------
    dict: ``retention`` (the fractions of true entries kept), ``rejection`` (the fraction of
    ghosts removed at each) and ``threshold`` (the score cut: keep ``score >= threshold``)

    Examples
    --------
    >>> curve = retention_curve([0.9, 0.8, 0.3, 0.2], [True, True, False, True], retention=[2 / 3, 1.0])
    >>> curve["rejection"].tolist(), curve["threshold"].tolist()
    ([1.0, 0.0], [0.8, 0.2])
    """
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    is_true = np.asarray(is_true, dtype=bool).reshape(-1)
    if score.size != is_true.size:
        raise ValueError(f"score ({score.size}) and is_true ({is_true.size}) must have one entry each")
    if not is_true.any() or is_true.all():
        raise ValueError("is_true must hold both true entries and ghosts")
    retention = np.arange(0.50, 1.0001, 0.01) if retention is None else np.asarray(retention, dtype=np.float64)
    true_sorted = np.sort(score[is_true])[::-1]
    ghosts = score[~is_true]
    keep_n = np.clip(np.ceil(retention * true_sorted.size - 1e-9).astype(np.int64), 1, true_sorted.size)
    threshold = true_sorted[keep_n - 1]
    rejection = np.array([np.mean(ghosts < cut) for cut in threshold])
    return {"retention": retention, "rejection": rejection, "threshold": threshold}


def event_candidates(images, points, event: int, *, threshold_adc: float = 12.0,
                     voxel_cm: float = 1.0) -> dict[str, np.ndarray]:
    """One event's candidates, features, labels and true points, in one call.

    Parameters
    ----------
    images : (N, 2, 240, 128) array [ADC]
    points : dict with ``C`` (k, 3) [cm] and ``offsets`` (N + 1,) (:func:`hepdl.lartpc.formats.read_points`,
        or the ``images3D`` of a simulation)
    event : int
    threshold_adc, voxel_cm : the hit threshold [ADC] and the voxel edge [cm]

    Returns
    -------
    dict: ``candidates`` (M, 3) int16, ``features`` (M, 10) float32, ``is_true`` (M,) bool,
    ``truth`` (k, 3) float [cm]
    """
    offsets = np.asarray(points["offsets"])
    truth = np.asarray(points["C"][offsets[event]:offsets[event + 1]], dtype=np.float64)
    image = np.asarray(images[event], dtype=np.float32)
    cands = candidates(hit_maps(image, threshold_adc=threshold_adc))
    return {"candidates": cands, "features": candidate_features(image, cands, threshold_adc=threshold_adc),
            "is_true": candidate_labels(cands, truth, voxel_cm=voxel_cm), "truth": truth}


def projections(points, axes, *, label=None, **scatter):
    """Scatter points [cm] in three projections, x-z, y-z and x-y, on three Axes.

    Parameters
    ----------
    points : (k, 3) array [cm]
    axes : three matplotlib Axes
    label : legend label (on the first Axes)
    scatter : passed to ``Axes.scatter`` (``s``, ``c``, ``alpha``, ...)

    Returns
    -------
    the three Axes
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    scatter = {"s": 2, "linewidths": 0, **scatter}
    pairs = ((2, 0, "z [cm]", "x (drift) [cm]", ACTIVE_Z_CM, ACTIVE_X_CM),
             (2, 1, "z [cm]", "y [cm]", ACTIVE_Z_CM, ACTIVE_Y_CM),
             (0, 1, "x (drift) [cm]", "y [cm]", ACTIVE_X_CM, ACTIVE_Y_CM))
    for k, (ax, (i, j, xlabel, ylabel, width, height)) in enumerate(zip(axes, pairs)):
        ax.scatter(points[:, i], points[:, j], label=label if k == 0 else None, **scatter)
        low_j = -height / 2 if j == 1 else 0.0
        ax.set(xlim=(0, width), ylim=(low_j, low_j + height), xlabel=xlabel, ylabel=ylabel)
    return axes

