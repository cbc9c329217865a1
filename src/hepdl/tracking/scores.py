"""The two tracking scores: RAMP clustering efficiency and the TrackML double-majority score.

``ramp_score`` is the ``ClusteringEfficiency`` score of the RAMP workflow (``rampwf``, by
B. Kegl, BSD licence) used by the DS@HEP 2017 "HEP_tracking" challenge. Per event:

1. every true cluster (every distinct ``true_id``, **the noise id -1 included**: the original
   treats noise hits as one more true cluster) is assigned the predicted id that holds most of
   its hits, among ids >= 0 (negative predicted ids mean "unassigned" and never count); ties go
   to the smallest predicted id; a cluster whose hits are all unassigned gets nothing;
2. a predicted id assigned to several true clusters keeps only the one where it holds most hits;
3. the event's score is the number of hits so matched over **all** the event's hits (noise
   included).

The score is the mean over events (each event weighs the same, whatever its size). We checked
this against the original code (``rampwf/score_types/clustering_efficiency.py``); our version
is vectorised over all events at once and gives the same numbers (the tests compare it with a
loop written like the original).

``trackml_score`` is ``score_event`` of the TrackML library (github.com/LAL/trackml-library,
``trackml/score.py``, MIT licence): a reconstructed track is good when more than half of its
hits come from one particle (its majority particle) **and** it holds more than half of that
particle's hits; the score is the sum of the truth weights of the good tracks' majority-particle
hits, over the sum of all weights (1 when the weights are TrackML's). Noise hits carry zero
weight, so grouping them scores nothing either way. Every hit of the truth must be in the
submission exactly once.

Both accept dicts of numpy arrays (pandas DataFrames work too; pandas is not needed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["ramp_event_scores", "ramp_score", "trackml_score"]


def _int_array(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one entry per hit), got shape "
                         f"{array.shape}")
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "b" or array.dtype.kind not in "f":
        raise TypeError(f"{name} must hold integer ids, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        bad = array[~np.isfinite(array) | (array != np.round(array))][0]
        raise ValueError(f"{name} must hold integer ids, got {bad}; use integers, with -1 for "
                         "unassigned hits")
    return array.astype(np.int64)


def _dense(values: np.ndarray) -> tuple[np.ndarray, int]:
    uniques, inverse = np.unique(values, return_inverse=True)
    return inverse.ravel().astype(np.int64), uniques.size


def _first_per_group(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Index of the first row of each group after sorting by ``keys`` (last key sorts first)."""
    order = np.lexsort((*keys, group))
    g = group[order]
    first = np.ones(g.size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return order[first]


def ramp_event_scores(event_ids, true_ids, pred_ids) -> tuple[np.ndarray, np.ndarray]:
    """The RAMP clustering efficiency of each event (see the module docstring).

    Parameters
    ----------
    event_ids : event of each hit
    true_ids : true cluster of each hit (the particle; -1 for noise, itself a cluster)
    pred_ids : predicted cluster of each hit; negative means unassigned

    Returns
    -------
    events, scores : the distinct event ids (sorted) and each one's score in [0, 1]

    Examples
    --------
    >>> events, scores = ramp_event_scores([0, 0, 0, 1, 1], [5, 5, 6, 2, 2], [1, 1, 1, 0, -1])
    >>> events.tolist(), scores.tolist()
    ([0, 1], [0.6666666666666666, 0.5])
    """
    event = _int_array("event_ids", event_ids)
    true = _int_array("true_ids", true_ids)
    pred = _int_array("pred_ids", pred_ids)
    if not event.size == true.size == pred.size:
        raise ValueError(f"event_ids, true_ids and pred_ids must have one entry per hit, got "
                         f"lengths {event.size}, {true.size} and {pred.size}")
    if event.size == 0:
        raise ValueError("no hits: event_ids, true_ids and pred_ids are empty")
    events, ev = np.unique(event, return_inverse=True)
    ev = ev.ravel()
    n_hits = np.bincount(ev)
    true_dense, n_true = _dense(true)
    cluster, _ = _dense(ev * n_true + true_dense)  # one id per (event, true cluster)
    cluster_event = np.zeros(cluster.max() + 1, dtype=np.int64)
    cluster_event[cluster] = ev

    matched = np.zeros(events.size)
    assigned = pred >= 0
    if assigned.any():
        pred_dense, n_pred = _dense(pred[assigned])
        pairs, counts = np.unique(cluster[assigned] * n_pred + pred_dense, return_counts=True)
        pair_cluster, pair_pred = pairs // n_pred, pairs % n_pred
        # 1. each true cluster -> its majority predicted id (ties: smallest id)
        best = _first_per_group(pair_cluster, pair_pred, -counts)
        win_event = cluster_event[pair_cluster[best]]
        # 2. a predicted id won by several clusters keeps only its largest count
        keep = _first_per_group(win_event * n_pred + pair_pred[best], -counts[best])
        matched = np.bincount(win_event[keep], weights=counts[best][keep],
                              minlength=events.size)
    return events, matched / n_hits


def ramp_score(event_ids, true_ids, pred_ids) -> float:
    """RAMP clustering efficiency: matched hits over all hits, averaged over events.

    Parameters
    ----------
    event_ids : event of each hit
    true_ids : true cluster of each hit (-1 for noise, which counts as one more cluster)
    pred_ids : predicted cluster of each hit; negative ids mean unassigned

    Returns
    -------
    float
        In [0, 1]; 1 for a perfect clustering.

    Examples
    --------
    Two particles of 3 hits; the prediction splits the second one 2 + 1:

    >>> ramp_score([0] * 6, [0, 0, 0, 1, 1, 1], [7, 7, 7, 8, 8, 9])
    0.8333333333333334
    >>> ramp_score([0] * 6, [0, 0, 0, 1, 1, 1], [0] * 6)   # everything in one cluster
    0.5
    >>> ramp_score([0, 0], [0, 0], [0])
    Traceback (most recent call last):
    ...
    ValueError: event_ids, true_ids and pred_ids must have one entry per hit, got lengths 2, 2 and 1
    """
    return float(np.mean(ramp_event_scores(event_ids, true_ids, pred_ids)[1]))


def _column(table: Mapping, name: str, what: str, needs: str):
    try:
        return np.asarray(table[name])
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"{what} has no column {name!r}; it needs {needs}") from None


def trackml_score(truth: Mapping, submission: Mapping) -> float:
    """TrackML double-majority score of one event.

    Parameters
    ----------
    truth : columns ``hit_id``, ``particle_id`` (0 for noise) and ``weight``
    submission : columns ``hit_id`` and ``track_id`` (non-negative integers), one row per hit
        of ``truth``

    Returns
    -------
    float
        Sum of the weights of the good tracks' majority-particle hits over the sum of all
        weights; 1 for a perfect reconstruction.

    Examples
    --------
    A 4-hit particle found with one hit missing (3 of 4 > 50%), and a noise hit:

    >>> truth = {"hit_id": np.arange(1, 6), "particle_id": np.array([9, 9, 9, 9, 0]),
    ...          "weight": np.array([0.25, 0.25, 0.25, 0.25, 0.0])}
    >>> trackml_score(truth, {"hit_id": np.arange(1, 6), "track_id": np.array([1, 1, 1, 2, 2])})
    0.75
    >>> trackml_score(truth, {"hit_id": np.arange(1, 5), "track_id": np.ones(4, int)})
    Traceback (most recent call last):
    ...
    ValueError: truth has 5 hits but submission has 4 rows; the submission must assign every hit of the event to a track, once
    """
    needs_t, needs_s = "hit_id, particle_id and weight", "hit_id and track_id"
    hit_t = _int_array("truth hit_id", _column(truth, "hit_id", "truth", needs_t))
    particle = _int_array("truth particle_id", _column(truth, "particle_id", "truth", needs_t))
    weight = np.asarray(_column(truth, "weight", "truth", needs_t), dtype=float)
    hit_s = _int_array("submission hit_id", _column(submission, "hit_id", "submission", needs_s))
    track = _int_array("submission track_id",
                       _column(submission, "track_id", "submission", needs_s))
    if not hit_t.size == particle.size == weight.size:
        raise ValueError(f"truth columns must have equal lengths, got hit_id {hit_t.size}, "
                         f"particle_id {particle.size}, weight {weight.size}")
    if hit_s.size != track.size:
        raise ValueError(f"submission columns must have equal lengths, got hit_id {hit_s.size}, "
                         f"track_id {track.size}")
    if hit_s.size != hit_t.size:
        raise ValueError(f"truth has {hit_t.size} hits but submission has {hit_s.size} rows; the "
                         "submission must assign every hit of the event to a track, once")
    if hit_t.size == 0:
        raise ValueError("truth has no hits: score one event with at least one hit")
    if np.any(track < 0):
        raise ValueError(f"track_id must be non-negative, got {track[track < 0][0]}; give every "
                         "hit a track (leftover hits can each get a track of their own)")
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError("truth weight must be finite and non-negative")
    order_t, order_s = np.argsort(hit_t, kind="stable"), np.argsort(hit_s, kind="stable")
    sorted_t, sorted_s = hit_t[order_t], hit_s[order_s]
    if np.any(sorted_t[1:] == sorted_t[:-1]) or np.any(sorted_s[1:] == sorted_s[:-1]):
        raise ValueError("hit_id must be unique in truth and in submission (one row per hit)")
    if not np.array_equal(sorted_t, sorted_s):
        missing = np.setdiff1d(sorted_t, sorted_s)
        raise ValueError(f"submission hit ids differ from the truth's ({missing.size} truth hits "
                         f"missing, e.g. hit_id {missing[:3].tolist()}): score the submission "
                         "against the truth of the same event")
    total = weight.sum()
    if total <= 0:
        raise ValueError("truth weights sum to 0: nothing to score (are they all noise?)")
    particle, weight = particle[order_t], weight[order_t]
    track = track[order_s]

    p_dense, n_particles = _dense(particle)
    t_dense, _ = _dense(track)
    particle_nhits = np.bincount(p_dense)
    track_nhits = np.bincount(t_dense)
    pairs, pair_index = np.unique(t_dense * n_particles + p_dense, return_inverse=True)
    pair_index = pair_index.ravel()
    counts = np.bincount(pair_index)
    weights = np.bincount(pair_index, weights=weight)
    pair_track, pair_particle = pairs // n_particles, pairs % n_particles
    major = _first_per_group(pair_track, pair_particle, -counts)
    n_major = counts[major]
    good = ((n_major / track_nhits[pair_track[major]] > 0.5)
            & (n_major / particle_nhits[pair_particle[major]] > 0.5))
    return float(weights[major][good].sum() / total)
