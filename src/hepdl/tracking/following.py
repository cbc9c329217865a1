"""Track following on the TrackML-like barrel: DBSCAN seeds, an LSTM extrapolator, nearest hits.

The pipeline of the "TrackML accuracy with deep learning" talk (L. and N. Finnie, 2019), on the
course's ``tracking_trackml`` data set (ten barrel cylinders from r = 32 to 1020 mm, see
:mod:`hepdl.tracking.trackml`):

1. **seeding**: DBSCAN on (sin phi, cos phi, z/r) of the hits of the innermost layers proposes
   seeds of :data:`N_SEED_HITS` hits (:func:`dbscan_seeds`); for comparison the *true* seeds are
   the first hits of every reconstructable particle (:func:`true_seeds`), and
   :func:`seed_quality` measures purity and efficiency against the truth;
2. **inference**: a predictor extrapolates each track to its next hit. The learned one is an
   LSTM reading the last :data:`N_SEED_HITS` hits' (phi, r, z, z/r) (:func:`build_extrapolator`,
   :func:`training_set`, :func:`lstm_predictor`); the physics one extrapolates phi and z linearly
   in r (:func:`linear_predictor`); :func:`truth_predictor` is a perfect one and
   :func:`stay_predictor` the trivial "the track stays where it is";
3. **fitting**: the nearest unused hit on the predicted layer (a ``scipy.spatial.cKDTree`` per
   layer) joins the track, for all tracks of a batch at once, step after step (:func:`follow`);
4. **scoring**: :func:`submission` gives every hit a track id and
   :func:`hepdl.tracking.scores.trackml_score` scores it;
5. **timing**: :func:`timing` returns seconds per 10,000 tracks for seeding, inference at
   several batch sizes and fitting, the talk's table.

An *event* here is a dict of one event's hits (:func:`prepare_event`): ``hit_id``, ``x``, ``y``,
``z`` [mm], ``layer`` (0 = innermost barrel cylinder ... 9, -1 off the barrel), ``r`` [mm],
``phi`` [rad] and, with the truth, ``particle_id`` (0 = noise) and ``weight``. A *track* is a row
of hit indices into the event, ordered outward, padded with -1.

Keras is imported inside the functions that need it, so importing this module does not import
Keras (nor is the module imported by ``hepdl.tracking``'s ``__init__``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np

from hepdl.common.azimuth import wrap_phi
from hepdl.tracking.formats import event_prefix, read_trackml_event, select_event
from hepdl.tracking.geometry import (TRACKML_HALF_LENGTH_MM, TRACKML_LAYER_IDS,
                                     TRACKML_LAYER_RADII_MM, TRACKML_VOLUME_IDS)
from hepdl.tracking.scores import trackml_score

__all__ = ["FEATURES", "HALF_LENGTH_MM", "LAYER_RADII_MM", "N_LAYERS", "N_SEED_HITS",
           "build_extrapolator", "dbscan_seeds", "decode_targets", "encode_windows", "follow",
           "hit_features", "inference_seconds", "linear_predictor", "lstm_predictor",
           "load_event", "nearest_free_hits", "prepare_event", "score", "seed_quality",
           "stay_predictor", "submission", "timing", "training_set", "true_seeds",
           "true_tracks", "truth_predictor"]

#: radii of the ten barrel cylinders [mm] (:mod:`hepdl.tracking.geometry`)
LAYER_RADII_MM = np.asarray(TRACKML_LAYER_RADII_MM, dtype=float)
#: sensitive half-length of each cylinder along z [mm]
HALF_LENGTH_MM = np.asarray(TRACKML_HALF_LENGTH_MM, dtype=float)
N_LAYERS = LAYER_RADII_MM.size
#: hits in a seed, and hits the LSTM reads to predict the next one
N_SEED_HITS = 5
#: the four hit features of the talk, in this order
FEATURES = ("phi", "r", "z", "z/r")
# scales of the network's inputs: phi and z relative to the window's last hit [rad, mm], r [mm],
# z/r; and of its outputs: the step to the next hit in phi [rad], r [mm] and z [mm]
_IN_SCALE = np.array([0.1, 1000.0, 100.0, 4.0])
_OUT_SCALE = np.array([0.1, 100.0, 100.0])
_LAYER_KEY = {(v, l): i for i, (v, l) in enumerate(zip(TRACKML_VOLUME_IDS, TRACKML_LAYER_IDS))}
_HIT_COLUMNS = ("hit_id", "x", "y", "z", "volume_id", "layer_id")
_TRUTH_COLUMNS = ("hit_id", "particle_id", "weight")


# ---------------------------------------------------------------------------------------------
# reading


def prepare_event(tables: Mapping) -> dict:
    """One event's hits (and truth) as the flat dict the rest of the module uses.

    Parameters
    ----------
    tables : ``{"hits": ..., "truth": ...}`` of ONE event, as returned by
        :func:`hepdl.tracking.formats.read_trackml_event` or
        :func:`hepdl.tracking.formats.select_event` (``truth`` optional)

    Returns
    -------
    dict
        ``hit_id`` (int64), ``x``, ``y``, ``z``, ``r`` [mm], ``phi`` [rad] (float64), ``layer``
        (int64, 0-9 for the barrel cylinders from the inside out, -1 elsewhere), ``event_id``
        (int); with the truth also ``particle_id`` (int64, 0 = noise) and ``weight``.

    Raises
    ------
    ValueError
        No hits table, a missing column (named), an empty event, or a truth table whose hits
        differ from the hits table's.

    Examples
    --------
    >>> event = prepare_event({"hits": {"hit_id": [1], "x": [32.0], "y": [0.0], "z": [5.0],
    ...                                 "volume_id": [8], "layer_id": [2]}})
    >>> event["layer"].tolist(), event["r"].tolist()
    ([0], [32.0])
    >>> prepare_event({"hits": {"hit_id": [], "x": [], "y": [], "z": [], "volume_id": [],
    ...                         "layer_id": []}})
    Traceback (most recent call last):
    ...
    ValueError: the event has no hits: an empty hits table. Pick another event (or check ...
    """
    if not isinstance(tables, Mapping) or "hits" not in tables:
        raise ValueError("the event needs a 'hits' table ({'hits': {...}, 'truth': {...}}), got "
                         f"{sorted(tables) if isinstance(tables, Mapping) else type(tables)}")
    hits = tables["hits"]
    missing = [c for c in _HIT_COLUMNS if c not in hits]
    if missing:
        raise ValueError(f"the hits table lacks the column(s) {', '.join(missing)}; track "
                         f"following needs {', '.join(_HIT_COLUMNS)}")
    hit_id = np.asarray(hits["hit_id"]).astype(np.int64)
    if hit_id.size == 0:
        raise ValueError("the event has no hits: an empty hits table. Pick another event (or "
                         "check that event_id exists in the data set)")
    x, y, z = (np.asarray(hits[c], dtype=float) for c in ("x", "y", "z"))
    volume = np.asarray(hits["volume_id"]).astype(np.int64)
    layer_id = np.asarray(hits["layer_id"]).astype(np.int64)
    layer = np.array([_LAYER_KEY.get(pair, -1) for pair in zip(volume.tolist(),
                                                                 layer_id.tolist())],
                     dtype=np.int64)
    event_ids = np.unique(np.asarray(hits.get("event_id", [0])))
    if event_ids.size > 1:
        raise ValueError(f"the hits table holds {event_ids.size} events; select one first "
                         "(hepdl.tracking.formats.select_event or load_event)")
    event = {"event_id": int(event_ids[0]), "hit_id": hit_id, "x": x, "y": y, "z": z,
             "r": np.hypot(x, y), "phi": np.arctan2(y, x), "layer": layer}
    truth = tables.get("truth")
    if truth is not None:
        missing = [c for c in _TRUTH_COLUMNS if c not in truth]
        if missing:
            raise ValueError(f"the truth table lacks the column(s) {', '.join(missing)}; scoring "
                             f"needs {', '.join(_TRUTH_COLUMNS)}")
        t_id = np.asarray(truth["hit_id"]).astype(np.int64)
        if t_id.size != hit_id.size or not np.array_equal(np.sort(t_id), np.sort(hit_id)):
            raise ValueError(f"the truth table's {t_id.size} hit ids differ from the hits "
                             f"table's {hit_id.size}: the tables come from different events")
        order = np.argsort(t_id)[np.searchsorted(t_id[np.argsort(t_id)], hit_id)]
        event["particle_id"] = np.asarray(truth["particle_id"]).astype(np.int64)[order]
        event["weight"] = np.asarray(truth["weight"], dtype=float)[order]
    return event


def load_event(source, event_id: int = 0) -> dict:
    """One event of a TrackML-layout data set, ready for following (see :func:`prepare_event`).

    Parameters
    ----------
    source : the loaded data set, a dict of ``hits`` and ``truth`` tables with ``event_id``
        columns (``datasets.load("tracking_trackml", SIZE, DATA_DIR)``); or a folder of
        TrackML CSV files ``eventNNNNNNNNN-{hits,truth}.csv`` (the course's copy is
        ``datasets.path("tracking_trackml", SIZE, DATA_DIR).parent / "events"``, the first
        events only)
    event_id : the event (0 is the first)

    Returns
    -------
    dict
        See :func:`prepare_event`.

    Raises
    ------
    hepdl.common.io.DataFileError
        A CSV file is missing; in the course's data folder the message quotes
        ``python -m hepdl.datasets build ...``.
    ValueError
        The event has no hits (e.g. ``event_id`` beyond the data set), or a column is missing.

    Examples
    --------
    >>> data = {"hits": {"event_id": [0, 1], "hit_id": [1, 1], "x": [32.0, 0.0],
    ...                  "y": [0.0, 72.0], "z": [5.0, 1.0], "volume_id": [8, 8],
    ...                  "layer_id": [2, 4]}}
    >>> load_event(data, 1)["layer"].tolist()
    [1]
    """
    if isinstance(source, Mapping):
        return prepare_event(select_event({k: source[k] for k in ("hits", "truth")
                                           if k in source}, int(event_id)))
    return prepare_event(read_trackml_event(event_prefix(source, event_id),
                                            parts=("hits", "truth")))


def hit_features(event: Mapping, rows=None) -> np.ndarray:
    """The talk's four features of hits: (phi [rad], r [mm], z [mm], z/r).

    Parameters
    ----------
    event : see :func:`prepare_event`
    rows : hit indices, any shape (default: every hit); -1 gives NaN features

    Returns
    -------
    numpy.ndarray
        float64, shape ``rows.shape + (4,)``.

    Examples
    --------
    >>> event = {"x": np.array([0.0]), "y": np.array([100.0]), "z": np.array([50.0])}
    >>> hit_features(event).round(4).tolist()
    [[1.5708, 100.0, 50.0, 0.5]]
    """
    x, y, z = (np.asarray(event[c], dtype=float) for c in ("x", "y", "z"))
    rows = np.arange(x.size) if rows is None else np.asarray(rows)
    r = np.hypot(x, y)
    out = np.stack([np.arctan2(y, x), r, z, z / r], axis=-1)[np.where(rows >= 0, rows, 0)]
    out[rows < 0] = np.nan
    return out


# ---------------------------------------------------------------------------------------------
# truth and seeds


def true_tracks(event: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Every particle's barrel hits, ordered outward (by layer, i.e. by r).

    Returns
    -------
    particle_ids : int64 (n_particles,), the particles with at least one barrel hit
    tracks : int64 (n_particles, N_LAYERS), hit indices padded with -1
    """
    if "particle_id" not in event:
        raise ValueError("the event has no truth (particle_id); load it with its truth table")
    pid, layer = event["particle_id"], event["layer"]
    rows = np.flatnonzero((pid > 0) & (layer >= 0))
    rows = rows[np.lexsort((event["r"][rows], pid[rows]))]
    particles, start, counts = np.unique(pid[rows], return_index=True, return_counts=True)
    position = np.arange(rows.size) - np.repeat(start, counts)
    tracks = np.full((particles.size, N_LAYERS), -1, dtype=np.int64)
    keep = position < N_LAYERS
    tracks[np.repeat(np.arange(particles.size), counts)[keep], position[keep]] = rows[keep]
    return particles, tracks


def true_seeds(event: Mapping, n_seed_hits: int = N_SEED_HITS) -> np.ndarray:
    """The first ``n_seed_hits`` hits of every reconstructable particle (that many hits or more).

    Returns
    -------
    numpy.ndarray
        int64 (n_seeds, n_seed_hits) hit indices, ordered outward.
    """
    _, tracks = true_tracks(event)
    return tracks[(tracks >= 0).sum(axis=1) >= n_seed_hits, :n_seed_hits]


def _doublets(event, n_layers, max_dphi, max_z0_mm):
    """Pairs of hits on consecutive layers that could come from the luminous region."""
    from scipy.spatial import cKDTree

    pairs = []
    for layer in range(n_layers - 1):
        a = np.flatnonzero(event["layer"] == layer)
        b = np.flatnonzero(event["layer"] == layer + 1)
        if a.size == 0 or b.size == 0:
            continue
        # neighbours in azimuth: points on the unit circle, chord ~ angle
        ua = np.stack([np.cos(event["phi"][a]), np.sin(event["phi"][a])], 1)
        ub = np.stack([np.cos(event["phi"][b]), np.sin(event["phi"][b])], 1)
        near = cKDTree(ub).query_ball_point(ua, max_dphi)
        counts = np.fromiter((len(n) for n in near), dtype=np.int64, count=a.size)
        if counts.sum() == 0:
            continue
        ia = np.repeat(a, counts)
        ib = b[np.concatenate([np.asarray(n, dtype=np.int64) for n in near])]
        pairs.append(np.stack([ia, ib], 1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64), np.zeros((0, 5))
    pairs = np.concatenate(pairs)
    ra, rb = event["r"][pairs[:, 0]], event["r"][pairs[:, 1]]
    za, zb = event["z"][pairs[:, 0]], event["z"][pairs[:, 1]]
    kappa = wrap_phi(event["phi"][pairs[:, 1]] - event["phi"][pairs[:, 0]]) / (rb - ra)
    cot = (zb - za) / (rb - ra)
    z0 = za - ra * cot
    phi0 = event["phi"][pairs[:, 0]] - kappa * ra
    keep = np.abs(z0) < max_z0_mm
    return pairs[keep], np.stack([phi0, cot, z0, kappa], 1)[keep]


def dbscan_seeds(event: Mapping, *, n_seed_hits: int = N_SEED_HITS, n_layers: int | None = None,
                 features: str = "doublets", eps: float = 2.0, min_samples: int = 2,
                 scales=None, max_dphi: float = 0.1, max_z0_mm: float = 200.0) -> np.ndarray:
    """Seeds from DBSCAN clusters in the innermost ``n_layers`` cylinders.

    Two feature spaces:

    * ``features="hits"``: the talk's per-hit (sin phi, cos phi, z/r), each divided by its
      scale (default 0.01, 0.01, 0.3). Along a track from the beam line phi drifts with the
      curvature and z/r with the vertex z (by 55 mm / 32 mm = 1.7 on the first layer): at a
      thousand tracks per event the clusters merge tracks;
    * ``features="doublets"`` (default): every pair of hits on consecutive layers within
      ``max_dphi`` [rad] whose line in (r, z) meets the beam line within ``max_z0_mm`` becomes
      a point (sin phi0, cos phi0, cot theta, z0 [mm], kappa = dphi/dr [1/mm]), the helix
      parameters, the same for every doublet of a track; divided by the scales (default 0.01,
      0.01, 0.02, 2 mm, 3e-4 /mm). A track's doublets pile up, fake ones are DBSCAN's noise.

    In each cluster the hits are gathered and, per layer, the one nearest the cluster's
    median is kept (outlier removal). A cluster with hits on at least ``n_seed_hits`` layers
    gives one seed, its first ``n_seed_hits`` hits; seeds sharing a hit with a bigger cluster's
    seed are dropped.

    Parameters
    ----------
    event : see :func:`prepare_event`
    n_seed_hits : hits per seed
    n_layers : innermost layers used (default ``n_seed_hits + 1``: one missing hit allowed)
    features : ``"doublets"`` or ``"hits"``
    eps, min_samples : DBSCAN's neighbourhood radius (in scaled feature units) and core size
    scales : the features' scales (see above)
    max_dphi, max_z0_mm : doublet cuts

    Returns
    -------
    numpy.ndarray
        int64 (n_seeds, n_seed_hits) hit indices, ordered outward.
    """
    from sklearn.cluster import DBSCAN

    n_layers = n_seed_hits + 1 if n_layers is None else int(n_layers)
    if n_layers < n_seed_hits:
        raise ValueError(f"n_layers ({n_layers}) must be at least n_seed_hits ({n_seed_hits})")
    empty = np.zeros((0, n_seed_hits), dtype=np.int64)
    if features == "hits":
        rows = np.flatnonzero((event["layer"] >= 0) & (event["layer"] < n_layers))
        phi = event["phi"][rows]
        X = np.stack([np.sin(phi), np.cos(phi), event["z"][rows] / event["r"][rows]], 1)
        X = X / np.asarray(scales or (0.01, 0.01, 0.3))
        members = rows[:, None]
    elif features == "doublets":
        members, params = _doublets(event, n_layers, max_dphi, max_z0_mm)
        X = np.stack([np.sin(params[:, 0]), np.cos(params[:, 0]), *params[:, 1:].T], 1) \
            / np.asarray(scales or (0.01, 0.01, 0.02, 2.0, 3e-4))
    else:
        raise ValueError(f"features must be 'doublets' or 'hits', got {features!r}")
    if X.shape[0] == 0:
        return empty
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(X)
    ok = labels >= 0
    if not ok.any():
        return empty
    labels, X, members = labels[ok], X[ok], members[ok]
    n_clusters = labels.max() + 1
    size = np.bincount(labels, minlength=n_clusters)
    centre = np.stack([np.bincount(labels, X[:, i], n_clusters) / size
                       for i in range(X.shape[1])], 1)
    distance = np.linalg.norm(X - centre[labels], axis=1)
    # every (cluster, hit) pair, ranked by its point's distance from the centre
    lab = np.repeat(labels, members.shape[1])
    hit = members.ravel()
    dist = np.repeat(distance, members.shape[1])
    layer = event["layer"][hit]
    order = np.lexsort((dist, layer, lab))
    key = lab[order] * N_LAYERS + layer[order]
    kept = order[np.r_[True, key[1:] != key[:-1]]]
    lab, hit = lab[kept], hit[kept]
    counts = np.bincount(lab, minlength=n_clusters)
    start = np.searchsorted(lab, np.arange(n_clusters))
    good = np.flatnonzero(counts >= n_seed_hits)
    good = good[np.argsort(-size[good], kind="stable")]
    seeds = hit[start[good, None] + np.arange(n_seed_hits)].reshape(-1, n_seed_hits)
    taken = np.zeros(event["hit_id"].size, dtype=bool)
    keep = np.ones(seeds.shape[0], dtype=bool)
    for i, seed in enumerate(seeds):  # a few hundred seeds: a plain loop is fast enough
        if taken[seed].any():
            keep[i] = False
        else:
            taken[seed] = True
    return seeds[keep].astype(np.int64)


def seed_quality(event: Mapping, seeds) -> dict:
    """Purity and efficiency of seeds against the truth.

    A seed is *pure* when all its hits come from one particle (the talk's "perfect" seeds).

    Returns
    -------
    dict
        ``n_seeds``; ``purity``: fraction of pure seeds; ``efficiency``: fraction of the
        reconstructable particles (at least ``seeds.shape[1]`` barrel hits) that have a pure
        seed; ``duplicates``: pure seeds beyond the first of their particle, over ``n_seeds``.
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    n_seed_hits = seeds.shape[1] if seeds.ndim == 2 else N_SEED_HITS
    reconstructable = true_seeds(event, n_seed_hits).shape[0]
    if seeds.size == 0:
        return {"n_seeds": 0, "purity": 0.0, "efficiency": 0.0, "duplicates": 0.0}
    pid = event["particle_id"][seeds]
    pure = np.all(pid == pid[:, :1], axis=1) & (pid[:, 0] > 0)
    found = np.unique(pid[pure, 0])
    return {"n_seeds": int(seeds.shape[0]), "purity": float(pure.mean()),
            "efficiency": float(found.size / max(reconstructable, 1)),
            "duplicates": float((pure.sum() - found.size) / seeds.shape[0])}


# ---------------------------------------------------------------------------------------------
# the LSTM


def encode_windows(event: Mapping, windows) -> np.ndarray:
    """Network input of hit windows: scaled (phi - phi_last, r, z - z_last, z/r) of each hit.

    phi and z are measured from the window's last hit (the symmetries: rotations about the beam
    and, nearly, shifts of the vertex along it), divided by 0.1 rad and 100 mm; r is divided
    by 1000 mm and z/r by 4.

    Parameters
    ----------
    windows : int (n, k) hit indices, ordered outward, no -1

    Returns
    -------
    numpy.ndarray
        float32 (n, k, 4).
    """
    f = hit_features(event, windows)
    f[..., 0] = wrap_phi(f[..., 0] - f[..., -1:, 0])
    f[..., 2] = f[..., 2] - f[..., -1:, 2]
    return (f / _IN_SCALE).astype(np.float32)


def decode_targets(event: Mapping, last_rows, outputs) -> np.ndarray:
    """Predicted next-hit (phi [rad], r [mm], z [mm]) from network outputs.

    The network predicts the step from the last hit, scaled: (dphi / 0.1 rad, dr / 100 mm,
    dz / 100 mm).
    """
    out = np.asarray(outputs, dtype=float) * _OUT_SCALE
    last = np.asarray(last_rows)
    return np.stack([wrap_phi(event["phi"][last] + out[:, 0]), event["r"][last] + out[:, 1],
                     event["z"][last] + out[:, 2]], axis=1)


def training_set(events, n_hits: int = N_SEED_HITS) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``n_hits`` consecutive hits of true tracks, and the step to the next hit.

    Parameters
    ----------
    events : one event or a list of events (see :func:`prepare_event`), with truth

    Returns
    -------
    X : float32 (n, n_hits, 4), see :func:`encode_windows`
    Y : float32 (n, 3), the scaled step (dphi, dr, dz) to the next hit
    """
    if isinstance(events, Mapping):
        events = [events]
    Xs, Ys = [], []
    for event in events:
        _, tracks = true_tracks(event)
        for start in range(N_LAYERS - n_hits):
            block = tracks[:, start:start + n_hits + 1]
            block = block[np.all(block >= 0, axis=1)]
            if block.size == 0:
                continue
            Xs.append(encode_windows(event, block[:, :n_hits]))
            last, nxt = block[:, n_hits - 1], block[:, n_hits]
            step = np.stack([wrap_phi(event["phi"][nxt] - event["phi"][last]),
                             event["r"][nxt] - event["r"][last],
                             event["z"][nxt] - event["z"][last]], axis=1)
            Ys.append((step / _OUT_SCALE).astype(np.float32))
    if not Xs:
        raise ValueError(f"no true track has {n_hits + 1} hits: nothing to train on")
    return np.concatenate(Xs), np.concatenate(Ys)


def build_extrapolator(n_hits: int = N_SEED_HITS, units: int = 64, learning_rate: float = 0.003):
    """The learned extrapolator: ``Input(n_hits, 4) -> LSTM(units) -> Dense(3)``, MSE loss.

    Returns
    -------
    keras.Sequential
        Compiled with Adam; maps :func:`encode_windows` inputs to scaled next-hit steps.
    """
    import keras

    model = keras.Sequential([keras.Input((n_hits, len(FEATURES))), keras.layers.LSTM(units),
                              keras.layers.Dense(3)], name="lstm_extrapolator")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def _predict(model, X, batch_size: int) -> np.ndarray:
    out = [np.asarray(model.predict_on_batch(X[i:i + batch_size]))
           for i in range(0, X.shape[0], batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 3), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# predictors: (event, tracks (m, N_LAYERS) rows padded -1, length (m,)) -> (m, 3) phi, r, z


def _last(tracks, length, back: int = 1):
    return tracks[np.arange(tracks.shape[0]), length - back]


def lstm_predictor(model, *, batch_size: int = 1024, n_hits: int = N_SEED_HITS) -> Callable:
    """A predictor (see :func:`follow`) that runs ``model`` on each track's last ``n_hits``."""
    def predict(event, tracks, length):
        windows = tracks[np.arange(tracks.shape[0])[:, None],
                         length[:, None] - n_hits + np.arange(n_hits)]
        outputs = _predict(model, encode_windows(event, windows), batch_size)
        return decode_targets(event, windows[:, -1], outputs)
    return predict


def linear_predictor(event: Mapping, tracks, length) -> np.ndarray:
    """Physics extrapolation: phi and z linear in r through the last two hits.

    A helix from the beam line has phi = phi0 - q asin(r / 2R), nearly linear in r for r << R,
    and z linear in the arc length, nearly linear in r. The next layer is the first one after
    the last hit that the line crosses inside the cylinder's length (a steep track leaves the
    short pixel cylinders and next hits a strip layer).
    """
    a, b = _last(tracks, length, 2), _last(tracks, length, 1)
    dr = event["r"][b] - event["r"][a]
    dphi_dr = wrap_phi(event["phi"][b] - event["phi"][a]) / dr
    dz_dr = (event["z"][b] - event["z"][a]) / dr
    R = LAYER_RADII_MM[None, :]
    z = event["z"][b, None] + dz_dr[:, None] * (R - event["r"][b, None])
    ok = (np.arange(N_LAYERS)[None, :] > event["layer"][b, None]) & (
        np.abs(z) < HALF_LENGTH_MM[None, :] + 20.0)
    target = np.argmax(ok, axis=1)
    r_next = np.where(ok.any(axis=1), LAYER_RADII_MM[target], np.nan)
    phi = wrap_phi(event["phi"][b] + dphi_dr * (r_next - event["r"][b]))
    return np.stack([phi, r_next, event["z"][b] + dz_dr * (r_next - event["r"][b])], axis=1)


def truth_predictor(event: Mapping) -> Callable:
    """A perfect predictor: the true next hit of the last hit's particle (NaN when none)."""
    _, tracks = true_tracks(event)
    next_hit = np.full(event["hit_id"].size, -1, dtype=np.int64)
    has = tracks[:, 1:] >= 0
    next_hit[tracks[:, :-1][has]] = tracks[:, 1:][has]

    def predict(event_, tracks_, length):
        nxt = next_hit[_last(tracks_, length)]
        out = hit_features(event_, nxt)[:, :3]
        return out
    return predict


def stay_predictor(event: Mapping, tracks, length) -> np.ndarray:
    """The trivial baseline: the next hit is where the last one is (same phi, r and z)."""
    b = _last(tracks, length)
    return np.stack([event["phi"][b], event["r"][b], event["z"][b]], axis=1)


# ---------------------------------------------------------------------------------------------
# fitting: nearest free hits


def nearest_free_hits(points, hit_xyz, free, *, max_distance_mm: float, k: int = 4,
                      tree=None) -> np.ndarray:
    """Give each predicted point the nearest free hit, each hit to at most one point.

    Conflicts go to the nearer point; the loser tries its next-nearest candidate, up to ``k``.

    Parameters
    ----------
    points : float (m, 3) predicted positions [mm]
    hit_xyz : float (n, 3) candidate hits' positions [mm]
    free : bool (n,), hits still available (changed in place: taken hits become False)
    max_distance_mm : farther hits are never taken
    k : candidates per point
    tree : a ``scipy.spatial.cKDTree`` of ``hit_xyz`` (built when None)

    Returns
    -------
    numpy.ndarray
        int64 (m,): index into ``hit_xyz`` of each point's hit, -1 when none.
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=float)
    m = points.shape[0]
    chosen = np.full(m, -1, dtype=np.int64)
    if m == 0 or len(hit_xyz) == 0:
        return chosen
    tree = cKDTree(hit_xyz) if tree is None else tree
    k = min(k, len(hit_xyz))
    dist, idx = tree.query(points, k=k, distance_upper_bound=max_distance_mm)
    dist, idx = dist.reshape(m, k), idx.reshape(m, k)
    idx = np.where(np.isfinite(dist), idx, -1)
    pending = np.ones(m, dtype=bool)
    for j in range(k):
        cand = np.where(pending, idx[:, j], -1)
        cand[cand >= 0] = np.where(free[cand[cand >= 0]], cand[cand >= 0], -1)
        who = np.flatnonzero(cand >= 0)
        if who.size:
            # per hit, the nearest asking point wins
            order = who[np.lexsort((dist[who, j], cand[who]))]
            win = order[np.r_[True, cand[order][1:] != cand[order][:-1]]]
            chosen[win] = cand[win]
            free[cand[win]] = False
            pending[win] = False
        pending &= idx[:, j] >= 0
    return chosen


def follow(event: Mapping, seeds, predictor: Callable, *, max_distance_mm: float = 15.0,
           k: int = 4, timings: dict | None = None) -> np.ndarray:
    """Extend every seed outward, one hit per step, all seeds of a step at once.

    At each step the predictor gives every active track its next (phi, r, z); the layer after
    the track's last hit nearest in r is chosen, the prediction placed on that cylinder, and
    the nearest unused hit there within ``max_distance_mm`` joins the track
    (:func:`nearest_free_hits`). A track without a prediction (NaN), beyond the last layer or
    without a hit in reach stops.

    Parameters
    ----------
    event : see :func:`prepare_event`
    seeds : int (n, s) hit indices, ordered outward; seeds must not share hits
    predictor : ``predictor(event, tracks, length) -> (m, 3)`` (phi, r, z) of the next hits
    max_distance_mm : the largest prediction-to-hit distance accepted [mm]
    k : candidate hits per prediction
    timings : a dict in which ``"inference"`` and ``"fitting"`` seconds are accumulated

    Returns
    -------
    numpy.ndarray
        int64 (n, N_LAYERS) hit indices of each track, outward, padded with -1.
    """
    from scipy.spatial import cKDTree

    seeds = np.asarray(seeds, dtype=np.int64)
    n = seeds.shape[0]
    tracks = np.full((n, N_LAYERS), -1, dtype=np.int64)
    if n == 0:
        return tracks
    tracks[:, :seeds.shape[1]] = seeds
    length = np.full(n, seeds.shape[1])
    t0 = time.perf_counter()
    xyz = np.stack([event["x"], event["y"], event["z"]], axis=1)
    free = np.ones(xyz.shape[0], dtype=bool)
    free[seeds.ravel()] = False
    by_layer = [np.flatnonzero(event["layer"] == layer) for layer in range(N_LAYERS)]
    trees = [cKDTree(xyz[rows]) if rows.size else None for rows in by_layer]
    fit_s, inf_s = time.perf_counter() - t0, 0.0
    active = event["layer"][seeds[:, -1]] < N_LAYERS - 1
    while active.any():
        who = np.flatnonzero(active & (length < N_LAYERS))
        if who.size == 0:
            break
        t0 = time.perf_counter()
        pred = np.asarray(predictor(event, tracks[who], length[who]), dtype=float)
        t1 = time.perf_counter()
        last_layer = event["layer"][tracks[who, length[who] - 1]]
        gap = np.abs(LAYER_RADII_MM[None, :] - pred[:, 1:2])
        gap[np.arange(N_LAYERS)[None, :] <= last_layer[:, None]] = np.inf
        target = np.argmin(np.nan_to_num(gap, nan=np.inf), axis=1)
        ok = np.isfinite(gap[np.arange(who.size), target]) & np.all(np.isfinite(pred), axis=1)
        points = np.stack([LAYER_RADII_MM[target] * np.cos(pred[:, 0]),
                           LAYER_RADII_MM[target] * np.sin(pred[:, 0]), pred[:, 2]], axis=1)
        found = np.full(who.size, -1, dtype=np.int64)
        for layer in np.unique(target[ok]):
            sel = np.flatnonzero(ok & (target == layer))
            rows = by_layer[layer]
            if trees[layer] is None:
                continue
            layer_free = free[rows]
            got = nearest_free_hits(points[sel], xyz[rows], layer_free,
                                    max_distance_mm=max_distance_mm, k=k, tree=trees[layer])
            free[rows] = layer_free
            found[sel[got >= 0]] = rows[got[got >= 0]]
        extended = who[found >= 0]
        tracks[extended, length[extended]] = found[found >= 0]
        length[extended] += 1
        active[who[found < 0]] = False
        active[extended] &= event["layer"][found[found >= 0]] < N_LAYERS - 1
        inf_s += t1 - t0
        fit_s += time.perf_counter() - t1
    if timings is not None:
        timings["inference"] = timings.get("inference", 0.0) + inf_s
        timings["fitting"] = timings.get("fitting", 0.0) + fit_s
    return tracks


# ---------------------------------------------------------------------------------------------
# scoring and timing


def submission(event: Mapping, tracks) -> dict:
    """A TrackML submission: ``hit_id`` and ``track_id`` of every hit of the event.

    Track ``i`` of ``tracks`` gets id ``i + 1``; a hit on no track gets an id of its own.
    """
    tracks = np.asarray(tracks, dtype=np.int64)
    n_hits = event["hit_id"].size
    track_id = np.zeros(n_hits, dtype=np.int64)
    rows, cols = np.nonzero(tracks >= 0)
    hits = tracks[rows, cols]
    if np.unique(hits).size != hits.size:
        raise ValueError("a hit is on two tracks; tracks must not share hits")
    track_id[hits] = rows + 1
    alone = track_id == 0
    track_id[alone] = tracks.shape[0] + 1 + np.arange(alone.sum())
    return {"hit_id": event["hit_id"].copy(), "track_id": track_id}


def score(event: Mapping, tracks) -> float:
    """TrackML score (:func:`hepdl.tracking.scores.trackml_score`) of followed tracks."""
    truth = {c: event[c] for c in ("hit_id", "particle_id", "weight")}
    return trackml_score(truth, submission(event, tracks))


def inference_seconds(model, X, batch_size: int, *, max_calls: int = 200) -> float:
    """Seconds per window of ``model`` on windows ``X`` at ``batch_size``.

    At most ``max_calls`` batches are timed (after one warm-up call), enough at batch size 1.
    """
    n = min(X.shape[0], batch_size * max_calls)
    _predict(model, X[:min(batch_size, n)], batch_size)  # warm-up: tracing, allocation
    start = time.perf_counter()
    _predict(model, X[:n], batch_size)
    return (time.perf_counter() - start) / n


def timing(event: Mapping, model, *, batch_sizes=(1, 64, 1024, 10_000), seeds=None,
           max_calls: int = 200, **dbscan_options) -> dict:
    """The talk's timing table for one event: seconds per 10,000 tracks.

    Parameters
    ----------
    event : see :func:`prepare_event`
    model : a trained :func:`build_extrapolator`
    batch_sizes : LSTM batch sizes to time
    seeds : the seeds to follow (default: :func:`dbscan_seeds` of the event)
    max_calls : most model calls timed per batch size
    dbscan_options : passed to :func:`dbscan_seeds`

    Returns
    -------
    dict
        ``seeding_per_event`` [s]; ``seeding`` [s per 10k seeds]; ``inference`` {batch size:
        s per 10k tracks, counting the ``N_LAYERS - N_SEED_HITS`` = 5 predictions a track
        needs}; ``fitting`` [s per 10k tracks: trees, nearest hits, bookkeeping]; ``n_tracks``.
    """
    start = time.perf_counter()
    dbscan = dbscan_seeds(event, **dbscan_options)
    seeding = time.perf_counter() - start
    seeds = dbscan if seeds is None else np.asarray(seeds, dtype=np.int64)
    if seeds.shape[0] == 0:
        raise ValueError("no seeds to time: the event gave no DBSCAN seed")
    steps = N_LAYERS - seeds.shape[1]
    X = encode_windows(event, seeds)
    inference = {int(b): inference_seconds(model, X, int(b), max_calls=max_calls) * 1e4 * steps
                 for b in batch_sizes}
    t = {}
    follow(event, seeds, lstm_predictor(model, batch_size=max(batch_sizes)), timings=t)
    return {"seeding_per_event": seeding, "seeding": seeding / max(dbscan.shape[0], 1) * 1e4,
            "inference": inference, "fitting": t["fitting"] / seeds.shape[0] * 1e4,
            "n_tracks": int(seeds.shape[0])}
