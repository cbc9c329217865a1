"""Physics-aware approaches to RAMP hit clustering: conformal map, Hough transform, seed-relative LSTM.

Three pieces of domain knowledge, each a few lines of numpy:

* **circles through the origin become lines.** A track from the beam line (0, 0) in a solenoid
  field is a circle through the origin, x^2 + y^2 = 2 a x + 2 b y (centre (a, b), radius
  R = sqrt(a^2 + b^2)). The conformal map (u, v) = (x, y) / (x^2 + y^2) (an inversion in the unit
  circle) turns it into the straight line 2 a u + 2 b v = 1 (:func:`conformal`). Written with
  the track's initial direction phi0 and signed curvature kappa = q / (2 R) [1/mm], every hit of
  the track satisfies kappa = u sin(phi0) - v cos(phi0), i.e. sin(phi0 - phi) = kappa r
  (:func:`hough_kappa`); a straight track (kappa = 0) is the line through the origin at phi0.
  (P. Hough, US patent 3069654, 1962; the conformal trick for tracks: M. Hansroul, H. Jeremie
  and D. Savard, Nucl. Instrum. Meth. A 270 (1988) 498.)
* **a Hough transform finds those lines by voting.** Each hit votes, in every phi0 bin, for the
  kappa of the track through it; hits of one track pile up in one cell of the (phi0, kappa)
  accumulator (:func:`hough_accumulator`). :func:`hough_clusterer` takes the highest peak of
  each event, gives the track the nearest hit of each layer close to the peak's curve, removes
  those hits' votes and repeats.
* **the physics does not depend on the azimuth.** Rotating an event does not change which hits
  belong together, so :class:`RelativeClusterer` shows the LSTM each seed's event in azimuth
  *relative to the seed* (:func:`relative_bins`), in a window of +-``window_rad`` around it:
  every seed sees its own track start in the centre bin, the network learns one road instead of
  one per angle, and the same number of bins covers a narrower window (finer bins).

The plain LSTM clusterer of lesson 1, the base class of :class:`RelativeClusterer`, is
:class:`hepdl.tracking.clusterer.Clusterer`.

The vertex spread (0.67 mm) and multiple scattering move hits off the ideal curve; the Hough
tolerances are therefore per layer (inner layers, where a millimetre is a large angle, get wider
ones).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hepdl.common.azimuth import TWO_PI, wrap_phi
from hepdl.common.checks import positive_int
from hepdl.tracking import clusterer
from hepdl.tracking.baselines import hit_arrays
from hepdl.tracking.clusterer import HIT_COLUMNS, N_LAYERS

__all__ = ["RelativeClusterer", "conformal", "hough_accumulator", "hough_clusterer", "hough_kappa",
           "nearest_other_hit", "relative_bins", "relative_images"]

def conformal(x, y) -> tuple[np.ndarray, np.ndarray]:
    """The conformal map (u, v) = (x, y) / (x^2 + y^2): circles through the origin become lines.

    Parameters
    ----------
    x, y : arrays of the same shape, hit positions [mm], not at the origin

    Returns
    -------
    u, v : float arrays of the input's shape [1/mm]

    Examples
    --------
    The circle of radius 1 centred on (1, 0) passes through the origin; its points map to the
    vertical line u = 1/2:

    >>> t = np.array([0.5, 1.0, 2.0])
    >>> u, v = conformal(1 + np.cos(t), np.sin(t))
    >>> np.round(u, 12).tolist()
    [0.5, 0.5, 0.5]
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    r2 = x * x + y * y
    if np.any(r2 == 0):
        raise ValueError("conformal: a hit at the origin (x = y = 0) has no image; drop it first")
    return x / r2, y / r2


def hough_kappa(u, v, phi0) -> np.ndarray:
    """Signed curvature kappa = u sin(phi0) - v cos(phi0) of the track from the origin through each hit.

    A circle through the origin that leaves it in direction ``phi0`` and passes through the hit
    has kappa = q / (2 R) = sin(phi0 - phi) / r [1/mm] (R its radius; positive when it turns
    clockwise, which is what a positive particle does in the RAMP field). In conformal
    coordinates this is linear in (u, v): the Hough line.

    Parameters
    ----------
    u, v : arrays (n_hits,), conformal coordinates [1/mm]
    phi0 : array (n_phi0,), initial directions [rad]

    Returns
    -------
    float array (n_hits, n_phi0) [1/mm]

    Examples
    --------
    A hit at r = 500 mm, phi = 0 lies on the straight track phi0 = 0 and on the circle of
    radius 500 mm leaving at phi0 = pi / 6 (kappa = 1 / 1000):

    >>> u, v = conformal(np.array([500.0]), np.array([0.0]))
    >>> np.round(hough_kappa(u, v, np.array([0.0, np.pi / 6])) * 1000, 12).tolist()
    [[0.0, 1.0]]
    """
    u, v = np.asarray(u, dtype=float).ravel(), np.asarray(v, dtype=float).ravel()
    phi0 = np.asarray(phi0, dtype=float).ravel()
    return u[:, None] * np.sin(phi0)[None, :] - v[:, None] * np.cos(phi0)[None, :]


def hough_accumulator(u, v, phi0_edges, kappa_edges, weights=None) -> np.ndarray:
    """Hough votes in (phi0, kappa): each hit votes once per phi0 bin, in its kappa bin.

    A circle through the origin can be run in two directions: (phi0, kappa) and
    (phi0 + pi, -kappa) are the same conformal line. A hit therefore votes only in the phi0
    bins it lies ahead of (|phi - phi0| < pi / 2), so that each track makes one peak, not two.

    Parameters
    ----------
    u, v : arrays (n_hits,), conformal coordinates [1/mm]
    phi0_edges : increasing array (n_phi0 + 1,), bin edges in phi0 [rad]; votes are cast at the
        bin centres
    kappa_edges : increasing array (n_kappa + 1,), bin edges in kappa [1/mm]; votes outside are
        dropped
    weights : optional array (n_hits,), the weight of each hit's votes (default 1)

    Returns
    -------
    float array (n_phi0, n_kappa), the summed votes

    Examples
    --------
    Three hits of the straight track phi0 = 0.3, with 3 phi0 bins and 2 kappa bins:

    >>> r = np.array([100.0, 200.0, 300.0])
    >>> u, v = conformal(r * np.cos(0.3), r * np.sin(0.3))
    >>> hough_accumulator(u, v, [0.2, 0.25, 0.35, 0.4], [-1e-3, -1e-5, 1e-5, 1e-3]).tolist()
    [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]]
    """
    phi0_edges = np.asarray(phi0_edges, dtype=float)
    kappa_edges = np.asarray(kappa_edges, dtype=float)
    for name, edges in (("phi0_edges", phi0_edges), ("kappa_edges", kappa_edges)):
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError(f"{name} must be an increasing 1-D array of at least two edges, "
                             f"got {edges!r}")
    u = np.asarray(u, dtype=float).ravel()
    weights = np.ones(u.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if weights.size != u.size:
        raise ValueError(f"weights needs one entry per hit ({u.size}), got {weights.size}")
    centres = 0.5 * (phi0_edges[1:] + phi0_edges[:-1])
    kappa = hough_kappa(u, v, centres)
    k_bin = np.searchsorted(kappa_edges, kappa, side="right") - 1
    n_kappa = kappa_edges.size - 1
    inside = (k_bin >= 0) & (k_bin < n_kappa) & _ahead(u, v, centres)
    cell = np.broadcast_to(np.arange(centres.size)[None, :], k_bin.shape) * n_kappa + k_bin
    votes = np.bincount(cell[inside], weights=np.broadcast_to(weights[:, None], k_bin.shape)[inside],
                        minlength=centres.size * n_kappa)
    return votes.reshape(centres.size, n_kappa)


def _ahead(u, v, phi0):
    # (n_hits, n_phi0): the hit lies ahead of direction phi0, cos(phi - phi0) > 0
    u, v = np.asarray(u, dtype=float).ravel(), np.asarray(v, dtype=float).ravel()
    return u[:, None] * np.cos(phi0)[None, :] + v[:, None] * np.sin(phi0)[None, :] > 0


def _layer_tolerance(r, base, vertex_mm):
    # kappa tolerance of a hit at radius r: binning + a vertex offset of vertex_mm moves the
    # hit's azimuth by vertex_mm / r, i.e. its kappa by about vertex_mm / r^2
    return base + vertex_mm / r**2


def hough_clusterer(hits: Mapping, *, n_phi0: int = 720, n_kappa: int = 64,
                    max_kappa: float = 1.05e-3, min_hits: int = 3, kappa_tolerance: float = 3e-5,
                    vertex_mm: float = 1.5, max_tracks: int = 200) -> np.ndarray:
    """Cluster RAMP hits with a Hough transform in conformal space, event by event.

    For each event: fill the (phi0, kappa) accumulator (:func:`hough_accumulator`) with the
    free hits; take the highest cell (a track candidate); on each layer, give the candidate the
    free hit whose kappa at the cell's phi0 is nearest the cell's kappa, if within the layer's
    tolerance; remove those hits and repeat until the highest cell has fewer than ``min_hits``
    votes. Hits left over stay unassigned (-1).

    Parameters
    ----------
    hits : columns ``event_id``, ``layer``, ``x``, ``y`` [mm]
    n_phi0 : number of phi0 bins over [-pi, pi)
    n_kappa : number of kappa bins over [-max_kappa, max_kappa]
    max_kappa : largest |kappa| = 1 / (2 R) searched [1/mm]; 1e-3 is pT = 0.3 GeV in 2 T
    min_hits : a peak needs at least this many votes to make a track
    kappa_tolerance : half-width in kappa of the window around a peak, outer layers [1/mm]
    vertex_mm : vertex offset the window allows for; adds vertex_mm / r^2 at radius r [mm]
    max_tracks : at most this many tracks per event (a safety net)

    Returns
    -------
    numpy.ndarray
        int64 cluster id of each hit (the row of the track's first hit), -1 for unassigned.

    Examples
    --------
    Two straight tracks at phi = 0 and phi = 1, on the four outer layers:

    >>> r = np.array([405.0, 562.0, 762.0, 1000.0] * 2)
    >>> phi = np.repeat([0.0, 1.0], 4)
    >>> hits = {"event_id": np.zeros(8, int), "layer": np.tile([5, 6, 7, 8], 2),
    ...         "x": r * np.cos(phi), "y": r * np.sin(phi)}
    >>> hough_clusterer(hits).tolist()
    [0, 0, 0, 0, 4, 4, 4, 4]
    """
    event, layer, x, y = hit_arrays(hits)
    for name, value in (("n_phi0", n_phi0), ("n_kappa", n_kappa), ("min_hits", min_hits)):
        positive_int(name, value)
    if not max_kappa > 0 or not kappa_tolerance > 0 or not vertex_mm >= 0:
        raise ValueError(f"max_kappa and kappa_tolerance must be positive and vertex_mm at least 0 "
                         f"[1/mm, mm], got {max_kappa!r}, {kappa_tolerance!r}, {vertex_mm!r}")
    pred = np.full(event.size, -1, dtype=np.int64)
    if event.size == 0:
        return pred
    u, v = conformal(x, y)
    r = np.hypot(x, y)
    phi0_edges = np.linspace(-np.pi, np.pi, n_phi0 + 1)
    centres = 0.5 * (phi0_edges[1:] + phi0_edges[:-1])
    kappa_edges = np.linspace(-max_kappa, max_kappa, n_kappa + 1)
    kappa = hough_kappa(u, v, centres)  # (n_hits, n_phi0)
    k_bin = np.searchsorted(kappa_edges, kappa, side="right") - 1
    valid = (k_bin >= 0) & (k_bin < n_kappa) & _ahead(u, v, centres)
    cell = np.where(valid, np.arange(n_phi0)[None, :] * n_kappa + k_bin, -1)
    tolerance = _layer_tolerance(r, kappa_tolerance, vertex_mm)
    order = np.argsort(event, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(event[order]) != 0, True])
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = np.sort(order[start:stop])
        free = np.ones(rows.size, dtype=bool)
        votes = np.bincount(cell[rows][valid[rows]], minlength=n_phi0 * n_kappa)
        for _ in range(max_tracks):
            best = int(np.argmax(votes))
            if votes[best] < min_hits:
                break
            i_phi0, i_kappa = divmod(best, n_kappa)
            k_peak = 0.5 * (kappa_edges[i_kappa] + kappa_edges[i_kappa + 1])
            dk = np.abs(kappa[rows, i_phi0] - k_peak)
            near = (free & valid[rows, i_phi0]
                    & (dk < tolerance[rows] + 0.5 * (kappa_edges[1] - kappa_edges[0])))
            cand = np.flatnonzero(near)
            # nearest hit per layer (in units of its tolerance)
            cand = cand[np.lexsort((dk[cand] / tolerance[rows][cand], layer[rows][cand]))]
            first = np.r_[True, np.diff(layer[rows][cand]) != 0]
            take = cand[first]
            if take.size < min_hits:
                # a peak made of votes that do not line up: drop its cell and look again
                votes[best] = 0
                continue
            taken = rows[take]
            pred[taken] = taken.min()
            free[take] = False
            gone = cell[taken][valid[taken]]
            np.subtract.at(votes, gone, 1)
    return pred


def relative_bins(phi_hit, phi_seed, window_rad: float, num_phi_bins: int) -> np.ndarray:
    """Bin of each hit's azimuth relative to its seed, in a window of +-window_rad; -1 outside.

    The azimuth difference dphi = phi_hit - phi_seed is wrapped into [-pi, pi); the window
    [-window_rad, window_rad) is cut into ``num_phi_bins`` equal bins, so the seed itself
    (dphi = 0) sits in bin ``num_phi_bins // 2``.

    Parameters
    ----------
    phi_hit, phi_seed : arrays of the same shape (or broadcastable), azimuths [rad]
    window_rad : half-width of the window, in (0, pi] [rad]
    num_phi_bins : number of bins, an integer >= 1

    Returns
    -------
    int64 array of the broadcast shape: bins 0 ... num_phi_bins - 1, or -1 outside the window

    Examples
    --------
    >>> relative_bins(np.array([0.0, 0.06, -0.05, 3.0, 2 * np.pi - 0.01]), 0.0, 0.1, 4).tolist()
    [2, 3, 1, -1, 1]
    """
    if not 0 < window_rad <= np.pi:
        raise ValueError(f"window_rad must be in (0, pi] [rad], got {window_rad!r}")
    positive_int("num_phi_bins", num_phi_bins)
    dphi = wrap_phi(np.asarray(phi_hit, dtype=float) - np.asarray(phi_seed, dtype=float))
    b = np.floor((dphi + window_rad) / (2.0 * window_rad) * num_phi_bins).astype(np.int64)
    return np.where((b >= 0) & (b < num_phi_bins), b, -1)


def _seed_pairs(event, layer):
    """(seed index, hit row) for every hit of every seed's event; seeds are the layer-0 hits."""
    seeds = np.flatnonzero(layer == 0)
    order = np.argsort(event, kind="stable")
    ev_sorted = event[order]
    start = np.searchsorted(ev_sorted, event[seeds], "left")
    stop = np.searchsorted(ev_sorted, event[seeds], "right")
    counts = stop - start
    pair_seed = np.repeat(np.arange(seeds.size), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pair_hit = order[np.repeat(start, counts) + offset]
    return seeds, pair_seed, pair_hit


def relative_images(event, layer, phi, window_rad: float, num_phi_bins: int, cluster=None):
    """Seed-relative images: one (n_layers, num_phi_bins) image per layer-0 hit, seed centred.

    Like :func:`hepdl.tracking.clusterer.seed_images`, with the azimuth measured from the seed
    (:func:`relative_bins`): layers 1 ... n_layers - 1 hold the event's hits inside the window,
    layer 0 only the seed (in bin ``num_phi_bins // 2``).

    Parameters
    ----------
    event, layer : int arrays (n_hits,), event and layer (0 = innermost) of each hit
    phi : float array (n_hits,), azimuth of each hit [rad]
    window_rad, num_phi_bins : see :func:`relative_bins`
    cluster : optional int array (n_hits,), the true particle of each hit (-1 noise); when
        given, the targets are returned too

    Returns
    -------
    inputs : float32 array (n_seeds, n_layers, num_phi_bins)
    seeds : int64 array (n_seeds,), the row of each seed hit
    pair_seed, pair_hit, pair_bin : int64 arrays, every (seed, hit of its event) pair and the
        hit's relative bin (-1 outside the window)
    targets : float32 array like ``inputs`` (only when ``cluster`` is given): the bins of the
        seed's own track
    """
    event = np.asarray(event).astype(np.int64)
    layer = np.asarray(layer).astype(np.int64)
    phi = np.asarray(phi, dtype=float)
    n_layers = N_LAYERS
    seeds, pair_seed, pair_hit = _seed_pairs(event, layer)
    pair_bin = relative_bins(phi[pair_hit], phi[seeds][pair_seed], window_rad, num_phi_bins)
    inputs = np.zeros((seeds.size, n_layers, num_phi_bins), dtype=np.float32)
    shown = (pair_bin >= 0) & ((layer[pair_hit] > 0) | (pair_hit == seeds[pair_seed]))
    inputs[pair_seed[shown], layer[pair_hit[shown]], pair_bin[shown]] = 1.0
    out = (inputs, seeds, pair_seed, pair_hit, pair_bin)
    if cluster is None:
        return out
    cluster = np.asarray(cluster).astype(np.int64)
    targets = np.zeros_like(inputs)
    mine = shown & (cluster[pair_hit] >= 0) & (cluster[pair_hit] == cluster[seeds][pair_seed])
    targets[pair_seed[mine], layer[pair_hit[mine]], pair_bin[mine]] = 1.0
    return (*out, targets)


class RelativeClusterer(clusterer.Clusterer):
    """The DS@HEP LSTM clusterer fed seed-relative images (domain knowledge: rotation symmetry).

    Same interface and training as :class:`hepdl.tracking.clusterer.Clusterer` (``fit(X, y)``,
    ``outputs``, ``from_outputs``, ``predict``, ``predict_single_event``; ``X`` has the columns
    ``event_id, layer, iphi, x, y``), but each seed's image is binned in azimuth relative to
    the seed, over +-``window_rad``, with ``num_phi_bins`` bins: hits outside the window are
    invisible to the seed and never join its track.

    Parameters
    ----------
    window_rad : half-width of the window around the seed [rad]; 0.8 keeps every track above
        about 0.45 GeV (a 0.3 GeV track turns by pi / 2 before the last layer)
    other parameters : as :class:`hepdl.tracking.clusterer.Clusterer`
    """

    def __init__(self, num_phi_bins=100, hidden_dim=50, batch_size=128, num_epoch=5,
                 learning_rate=0.005, min_score=0.0, train_seconds=600, window_rad=0.8, *,
                 validation_split=0.1, bidirectional=False, verbose=0):
        super().__init__(num_phi_bins=num_phi_bins, hidden_dim=hidden_dim,
                         batch_size=batch_size, num_epoch=num_epoch,
                         learning_rate=learning_rate, min_score=min_score,
                         train_seconds=train_seconds, validation_split=validation_split,
                         bidirectional=bidirectional, verbose=verbose)
        if not 0 < window_rad <= np.pi:
            raise ValueError(f"window_rad must be in (0, pi] [rad], got {window_rad!r}")
        self.window_rad = window_rad

    def _relative(self, X, y=None):
        X = np.asarray(X, dtype=float).reshape(-1, len(HIT_COLUMNS))
        phi = np.arctan2(X[:, 4], X[:, 3])
        return relative_images(X[:, 0], X[:, 1], phi, self.window_rad, self.num_phi_bins,
                               cluster=y)

    def images(self, X):
        """The seed-relative input images of ``X`` and the row of each seed hit."""
        inputs, seeds, *_ = self._relative(X)
        return inputs, seeds

    def training_set(self, X, y):
        """Seed-relative input images, seed rows and targets of hits ``X`` and true ids ``y``."""
        inputs, seeds, *_, targets = self._relative(X, np.asarray(y))
        return inputs, seeds, targets

    def from_outputs(self, X, outputs, seeds):
        """Track id of each hit from relative outputs (the row of its seed hit, or -1)."""
        X = np.asarray(X, dtype=float).reshape(-1, len(HIT_COLUMNS))
        event, layer = X[:, 0].astype(np.int64), X[:, 1].astype(np.int64)
        _, seeds_again, pair_seed, pair_hit, pair_bin = self._relative(X)
        if not np.array_equal(seeds_again, seeds):
            raise ValueError("seeds do not match X: pass the seeds returned by outputs(X)")
        score = np.where(pair_bin >= 0,
                         np.asarray(outputs)[pair_seed, layer[pair_hit], np.maximum(pair_bin, 0)],
                         0.0)
        score[pair_hit == seeds[pair_seed]] = 2.0  # a seed hit belongs to its own track
        score[(layer[pair_hit] == 0) & (pair_hit != seeds[pair_seed])] = 0.0
        pred = np.full(event.size, -1, dtype=np.int64)
        if seeds.size == 0:
            return pred
        # best seed per hit (ties to the first seed), as clusterer.assign_hits does per event
        order = np.lexsort((pair_seed, -score, pair_hit))
        first = np.r_[True, np.diff(pair_hit[order]) != 0]
        best = order[first]
        ok = score[best] > self.min_score
        pred[pair_hit[best[ok]]] = seeds[pair_seed[best[ok]]]
        return pred


def nearest_other_hit(event, layer, phi) -> np.ndarray:
    """Azimuthal distance from each hit to the nearest other hit on the same layer of its event.

    A layer holds at most one hit per track, so the nearest other hit on the layer belongs to
    another track (or is noise): this measures how close-by the neighbouring tracks are.

    Parameters
    ----------
    event, layer : int arrays (n_hits,)
    phi : float array (n_hits,), azimuth of each hit [rad]

    Returns
    -------
    float array (n_hits,) [rad], in [0, pi]; ``inf`` for a hit alone on its layer

    Examples
    --------
    >>> nearest_other_hit([0, 0, 0, 1], [2, 2, 2, 2], [0.1, 0.3, 6.2, 1.0]).round(3).tolist()
    [0.183, 0.2, 0.183, inf]
    """
    event = np.asarray(event).astype(np.int64)
    layer = np.asarray(layer).astype(np.int64)
    phi = np.mod(np.asarray(phi, dtype=float), TWO_PI)
    if not event.size == layer.size == phi.size:
        raise ValueError(f"event, layer and phi need one entry per hit, got lengths {event.size}, "
                         f"{layer.size} and {phi.size}")
    nearest = np.full(phi.size, np.inf)
    if phi.size == 0:
        return nearest
    order = np.lexsort((phi, layer, event))
    group = np.stack([event[order], layer[order]])
    start = np.r_[True, np.any(group[:, 1:] != group[:, :-1], axis=0)]
    group_id = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    size = np.diff(np.r_[first, order.size])
    p = phi[order]
    # the next hit in azimuth within the group, wrapping from the last to the first
    nxt = np.arange(order.size) + 1
    last_of_group = first[group_id] + size[group_id] - 1
    nxt = np.where(np.arange(order.size) == last_of_group, first[group_id], nxt)
    gap = np.mod(p[nxt] - p, TWO_PI)
    gap = np.minimum(gap, TWO_PI - gap)
    prev_gap = np.empty_like(gap)
    prev_gap[nxt] = gap
    d = np.minimum(gap, prev_gap)
    d[size[group_id] == 1] = np.inf
    nearest[order] = d
    return nearest
