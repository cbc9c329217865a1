"""The LSTM hit clusterer of the DS@HEP 2017 tracking hands-on (lesson 1), as a library module.

Each hit on the innermost layer (layer 0) is a *seed*. For every seed the event becomes an image
of ``N_LAYERS`` rows (detector layers) by ``num_phi_bins`` columns (azimuthal bins): 1 where a hit
is, with only the seed itself left on layer 0. An LSTM reads the image layer by layer and a
softmax per layer says in which bin the seed's track crosses that layer. Each hit then goes to
the seed that wants it most (:func:`assign_hits`).

The code is the same as in ``solutions/tracking1_clusterer`` (where the students write
:func:`phi_bin`, :func:`build_model` and :func:`assign_hits`); later lessons import it from here::

    from hepdl.tracking import clusterer
    model = clusterer.Clusterer(num_phi_bins=100).fit(X_train, y_train)
    ids = model.predict(X_test)

Keras is imported inside the functions that need it, so ``import hepdl.tracking.clusterer``
stays fast and works without a Keras backend; this module is deliberately not imported by
``hepdl.tracking``'s ``__init__``.

``X`` arrays have one row per hit and the columns :data:`HIT_COLUMNS` (the RAMP layout, see
:func:`as_array`); ``y`` holds the true cluster ids. Predicted ids are the row of the seed hit
within ``X`` (so unique across the events of one call), or -1 for unassigned hits.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hepdl.common import azimuth
from hepdl.common.checks import positive_int
from hepdl.tracking.geometry import RAMP_N_LAYERS

__all__ = ["HIT_COLUMNS", "N_LAYERS", "Clusterer", "as_array", "assign_hits", "build_model",
           "correct_hits", "phi_bin", "seed_images", "seed_targets"]

#: detector layers of the RAMP tracker (layer 0 is the innermost, where seeds are)
N_LAYERS = RAMP_N_LAYERS
#: the RAMP array layout of ``X``: one row per hit, these columns
HIT_COLUMNS = ("event_id", "layer", "iphi", "x", "y")

def phi_bin(x, y, num_phi_bins: int) -> np.ndarray:
    """Azimuthal bin of each hit, floor(phi / 2 pi * num_phi_bins) with phi in [0, 2 pi).

    The azimuth of the position ``(x, y)`` binned by :func:`hepdl.common.azimuth.phi_bin`.

    Parameters
    ----------
    x, y : arrays of the same shape, hit positions [mm]
    num_phi_bins : number of equal bins in azimuth, an integer >= 1

    Returns
    -------
    int64 array of the input's shape, values 0 ... num_phi_bins - 1

    Raises
    ------
    ValueError
        if ``num_phi_bins`` is not an integer >= 1.

    Examples
    --------
    >>> phi_bin(np.array([1.0, 0.0]), np.array([1.0, -1.0]), 4).tolist()
    [0, 3]
    """
    return azimuth.phi_bin(np.arctan2(np.asarray(y, dtype=float), np.asarray(x, dtype=float)),
                           num_phi_bins)


def _check_layers(layer) -> np.ndarray:
    layer = np.asarray(layer).astype(np.int64)
    if layer.size and (layer.min() < 0 or layer.max() >= N_LAYERS):
        bad = layer[(layer < 0) | (layer >= N_LAYERS)]
        raise ValueError(f"hit layers must be 0 ... {N_LAYERS - 1} (the RAMP tracker), got "
                         f"{np.unique(bad)[:5].tolist()}; check the column order of X "
                         f"(expected {HIT_COLUMNS})")
    return layer


def seed_images(event, layer, bins, num_phi_bins: int):
    """One image (N_LAYERS, num_phi_bins) per layer-0 hit: all hits of its event, only the seed on layer 0.

    Parameters
    ----------
    event, layer, bins : int arrays (n_hits,), event id, layer (0 ... 8) and azimuthal bin
        (0 ... num_phi_bins - 1) of each hit
    num_phi_bins : bins per layer

    Returns
    -------
    inputs : float32 array (n_seeds, N_LAYERS, num_phi_bins), 1 where a hit is
    seeds : int64 array (n_seeds,), the row of each seed hit, in row order

    Raises
    ------
    ValueError
        for a layer outside 0 ... 8 or a bin outside 0 ... num_phi_bins - 1.
    """
    event = np.asarray(event).astype(np.int64)
    layer = _check_layers(layer)
    bins = np.asarray(bins).astype(np.int64)
    if bins.size and (bins.min() < 0 or bins.max() >= num_phi_bins):
        raise ValueError(f"bins must be 0 ... {num_phi_bins - 1} for num_phi_bins={num_phi_bins}, "
                         f"got {bins.min()} ... {bins.max()}; compute them with "
                         "phi_bin(x, y, num_phi_bins)")
    _, ev = np.unique(event, return_inverse=True)
    ev = ev.ravel()
    images = np.zeros((ev.max(initial=-1) + 1, N_LAYERS, num_phi_bins), dtype=np.float32)
    images[ev, layer, bins] = 1.0
    seeds = np.flatnonzero(layer == 0)
    inputs = images[ev[seeds]]
    inputs[:, 0, :] = 0.0
    inputs[np.arange(seeds.size), 0, bins[seeds]] = 1.0
    return inputs, seeds


def seed_targets(event, layer, bins, cluster, seeds, num_phi_bins: int) -> np.ndarray:
    """The target of each seed: 1 in the bins of its own track's hits.

    Parameters
    ----------
    event, layer, bins : int arrays (n_hits,), as for :func:`seed_images`
    cluster : int array (n_hits,), true track id within the event (-1: noise, never a target)
    seeds : int array (n_seeds,), seed rows from :func:`seed_images`
    num_phi_bins : bins per layer

    Returns
    -------
    float32 array (n_seeds, N_LAYERS, num_phi_bins)
    """
    event, bins, cluster = (np.asarray(a).astype(np.int64) for a in (event, bins, cluster))
    layer = _check_layers(layer)
    seeds = np.asarray(seeds).astype(np.int64)
    targets = np.zeros((seeds.size, N_LAYERS, num_phi_bins), dtype=np.float32)
    if seeds.size == 0:
        return targets
    track = event * (int(cluster.max()) + 2) + cluster
    order = np.argsort(track[seeds])
    where = np.minimum(np.searchsorted(track[seeds][order], track), seeds.size - 1)
    found = (cluster >= 0) & (track[seeds][order][where] == track)
    targets[order[where[found]], layer[found], bins[found]] = 1.0
    return targets


def build_model(num_hidden: int, length: int, dim: int, loss="categorical_crossentropy",
                optimizer="nadam", *, bidirectional: bool = False):
    """The DS@HEP clusterer network: LSTM(num_hidden, return_sequences) then a softmax per layer.

    Parameters
    ----------
    num_hidden : LSTM units
    length : sequence length (detector layers)
    dim : features per step (azimuthal bins), also the size of each softmax
    loss, optimizer : passed to ``model.compile``
    bidirectional : if True, ``keras.layers.Bidirectional`` runs a second LSTM from the last
        layer inwards and the softmax of layer l sees both (the outward LSTM alone cannot see
        beyond layer l); twice the LSTM weights

    Returns
    -------
    compiled ``keras.Model`` mapping (batch, length, dim) to (batch, length, dim)
    """
    import keras  # here: the numpy parts of this module do not need Keras

    inputs = keras.Input(shape=(length, dim))
    lstm = keras.layers.LSTM(num_hidden, return_sequences=True)
    hidden = (keras.layers.Bidirectional(lstm) if bidirectional else lstm)(inputs)
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(dim, activation="softmax"))(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(loss=loss, optimizer=optimizer)
    return model


def assign_hits(scores, min_score: float = 0.0) -> np.ndarray:
    """Seed (row) with the highest score for each hit (ties to the first), -1 if not above min_score.

    Parameters
    ----------
    scores : array (n_seeds, n_hits), how much each seed wants each hit; n_seeds may be 0
    min_score : a hit whose best score is not strictly above it stays unassigned

    Returns
    -------
    int64 array (n_hits,)

    Examples
    --------
    >>> assign_hits(np.array([[0.1, 0.7, 0.05], [0.8, 0.2, 0.01]]), min_score=0.1).tolist()
    [1, 0, -1]
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_seeds, n_hits), got shape {scores.shape}")
    if scores.shape[0] == 0:
        return np.full(scores.shape[1], -1, dtype=np.int64)
    best = np.argmax(scores, axis=0)
    return np.where(scores.max(axis=0) > min_score, best, -1).astype(np.int64)


def as_array(table: Mapping) -> np.ndarray:
    """The RAMP array layout: float array (n_hits, 5), columns :data:`HIT_COLUMNS`.

    Parameters
    ----------
    table : mapping of column name to array (n_hits,), e.g. a loaded ``tracking_ramp`` hits table
    """
    missing = [name for name in HIT_COLUMNS if name not in table]
    if missing:
        raise KeyError(f"as_array needs the columns {HIT_COLUMNS}; missing {missing}")
    return np.stack([np.asarray(table[name], dtype=float) for name in HIT_COLUMNS], axis=1)


def correct_hits(event, true, pred) -> np.ndarray:
    """True for the hits the RAMP score counts as matched (its steps 1 and 2, hit by hit).

    Step 1: each true track's majority predicted id; step 2: an id that is the majority of
    several tracks keeps only the track where it has most hits. A hit is correct when its
    predicted id is its track's surviving majority id; -1 never matches. Averaged per event,
    this is :func:`hepdl.tracking.scores.ramp_score`.

    Parameters
    ----------
    event, true, pred : int arrays (n_hits,), event id, true and predicted cluster id

    Returns
    -------
    bool array (n_hits,)

    Examples
    --------
    >>> correct_hits([0] * 6, [0, 0, 0, 1, 1, 1], [7, 7, 7, 8, 8, 9]).tolist()
    [True, True, True, True, True, False]
    """
    event, true, pred = (np.asarray(a).astype(np.int64) for a in (event, true, pred))
    if not event.shape == true.shape == pred.shape:
        raise ValueError(f"event, true and pred must have one entry per hit, got shapes "
                         f"{event.shape}, {true.shape}, {pred.shape}")
    if event.size == 0:
        return np.zeros(0, dtype=bool)
    tracks, track = np.unique(np.stack([event, true], axis=1), axis=0, return_inverse=True)
    track = track.ravel()
    combo, counts = np.unique(np.stack([track, pred], axis=1), axis=0, return_counts=True)
    counts = np.where(combo[:, 1] >= 0, counts, 0)
    best = np.lexsort((-counts, combo[:, 0]))
    best = best[np.r_[True, np.diff(combo[best, 0]) != 0]]
    best = best[counts[best] > 0]
    ev_best, id_best = tracks[combo[best, 0], 0], combo[best, 1]
    keep = np.lexsort((-counts[best], id_best, ev_best))
    keep = best[keep[np.r_[True, (np.diff(id_best[keep]) != 0) | (np.diff(ev_best[keep]) != 0)]]]
    majority = np.full(tracks.shape[0], -1)
    majority[combo[keep, 0]] = combo[keep, 1]
    return (pred >= 0) & (pred == majority[track])


class Clusterer:
    """The DS@HEP 2017 LSTM clusterer: ``fit(X, y)``, ``predict(X)``, ``predict_single_event``.

    Parameters
    ----------
    num_phi_bins : azimuthal bins of the seed images (the hands-on used 100 or 200)
    hidden_dim : LSTM units
    batch_size : seeds per gradient step
    num_epoch : passes over the training seeds
    learning_rate : Nadam's step size
    min_score : a hit whose best seed score is not above it stays unassigned (-1)
    train_seconds : wall-time budget of the training [s]
        (:class:`hepdl.common.callbacks.TimeBudget`)
    validation_split : fraction of the training seeds (the last ones) kept for the
        validation loss in ``history``; 0 trains on all of them
    bidirectional : read the layers both ways (see :func:`build_model`); the seed's model is
        the outward LSTM alone (False)
    patience : early stopping: stop when the validation loss has not improved for this many
        epochs and keep the weights of its lowest value (``keras.callbacks.EarlyStopping``);
        None trains all ``num_epoch`` epochs. Needs a validation split.
    verbose : Keras' ``fit`` verbosity

    Attributes (after ``fit``)
    --------------------------
    model : the trained ``keras.Model``
    history : Keras' History (``history.history["loss"]``, ``["val_loss"]``)
    budget : the TimeBudget (``budget.stopped`` is True if it cut the training)
    n_seeds : number of training seeds
    best_epoch : with ``patience``, the epoch (from 0) whose weights the model kept; else the last
    """

    def __init__(self, num_phi_bins=100, hidden_dim=50, batch_size=128, num_epoch=5,
                 learning_rate=0.005, min_score=0.0, train_seconds=600, *,
                 validation_split=0.1, bidirectional=False, patience=None, verbose=0):
        positive_int("num_phi_bins", num_phi_bins)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        if patience is not None:
            positive_int("patience", patience)
            if validation_split == 0:
                raise ValueError("early stopping (patience) watches the validation loss: give a "
                                 "validation_split above 0")
        self.patience = patience
        self.num_phi_bins, self.hidden_dim = num_phi_bins, hidden_dim
        self.batch_size, self.num_epoch = batch_size, num_epoch
        self.learning_rate, self.min_score = learning_rate, min_score
        self.train_seconds = train_seconds
        self.validation_split, self.bidirectional = validation_split, bool(bidirectional)
        self.verbose = verbose

    def _columns(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(HIT_COLUMNS):
            raise ValueError(f"X must be a 2-D array (n_hits, {len(HIT_COLUMNS)}) with columns "
                             f"{HIT_COLUMNS}, got shape {X.shape}; build it with as_array(hits)")
        bins = phi_bin(X[:, 3], X[:, 4], self.num_phi_bins)
        return X[:, 0].astype(np.int64), _check_layers(X[:, 1]), bins

    def images(self, X):
        """The input images of ``X``, float32 (n_seeds, N_LAYERS, num_phi_bins), and the seed rows."""
        event, layer, bins = self._columns(X)
        return seed_images(event, layer, bins, self.num_phi_bins)

    def training_set(self, X, y):
        """Input images, seed rows and one-hot targets (n_seeds, N_LAYERS, num_phi_bins) of ``X``, ``y``."""
        event, layer, bins = self._columns(X)
        y = np.asarray(y).astype(np.int64)
        if y.shape != event.shape:
            raise ValueError(f"y must hold one true id per hit of X: {y.shape} against {event.shape}")
        inputs, seeds = seed_images(event, layer, bins, self.num_phi_bins)
        return inputs, seeds, seed_targets(event, layer, bins, y, seeds, self.num_phi_bins)

    def fit(self, X, y):
        """Train on hits ``X`` (n_hits, 5) and true ids ``y`` (n_hits,); returns self.

        Raises ValueError if ``X`` holds no layer-0 hit (nothing to train on).
        """
        import keras

        from hepdl.common.callbacks import TimeBudget

        inputs, seeds, targets = self.training_set(X, y)
        if seeds.size == 0:
            raise ValueError("no layer-0 hit in X: the clusterer needs seeds to train on; pass "
                             "events with hits on layer 0")
        self.model = build_model(self.hidden_dim, N_LAYERS, self.num_phi_bins,
                                 optimizer=keras.optimizers.Nadam(learning_rate=self.learning_rate),
                                 bidirectional=self.bidirectional)
        self.budget = TimeBudget(seconds=self.train_seconds)
        split = self.validation_split if seeds.size * self.validation_split >= 1 else 0.0
        callbacks = [self.budget]
        if self.patience is not None and split > 0:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True))
        self.history = self.model.fit(inputs, targets, batch_size=self.batch_size,
                                      epochs=self.num_epoch, validation_split=split,
                                      callbacks=callbacks, verbose=self.verbose)
        losses = self.history.history.get("val_loss") if len(callbacks) > 1 else None
        self.best_epoch = int(np.argmin(losses)) if losses else len(self.history.history["loss"]) - 1
        self.n_seeds = seeds.size
        return self

    def outputs(self, X):
        """Network outputs, float32 (n_seeds, N_LAYERS, num_phi_bins), and the seeds of ``X``."""
        if not hasattr(self, "model"):
            raise RuntimeError("this Clusterer is not trained yet: call fit(X, y) first")
        inputs, seeds = self.images(X)
        if seeds.size == 0:
            return np.zeros((0, N_LAYERS, self.num_phi_bins), dtype=np.float32), seeds
        import keras

        # direct calls in chunks, not model.predict: no tf.function tracing for each new model
        chunks = [keras.ops.convert_to_numpy(self.model(inputs[i:i + 4096], training=False))
                  for i in range(0, seeds.size, 4096)]
        return np.concatenate(chunks).astype(np.float32), seeds

    def from_outputs(self, X, outputs, seeds, *, rule=None):
        """Track id of each hit (the row of its seed hit, -1 unassigned) from network outputs.

        ``outputs`` may also be perfect targets (:func:`seed_targets`): the binning ceiling.
        ``rule(scores, layer)`` turns one event's scores, array (n_seeds, n_hits), and its hits'
        layers, int array (n_hits,), into the seed index of each hit (-1: unassigned); None is
        :func:`assign_hits` with ``min_score``, each hit choosing on its own.
        """
        if rule is None:
            def rule(scores, layer):
                return assign_hits(scores, self.min_score)
        event, layer, bins = self._columns(X)
        outputs = np.asarray(outputs)
        seeds = np.asarray(seeds).astype(np.int64)
        pred = np.full(event.size, -1, dtype=np.int64)
        for e in np.unique(event):
            rows = np.flatnonzero(event == e)
            mine = np.flatnonzero(event[seeds] == e)
            if mine.size == 0:
                continue  # no seed in this event: every hit stays -1
            scores_e = outputs[mine][:, layer[rows], bins[rows]]  # (n_seeds, n_hits)
            own = np.searchsorted(rows, seeds[mine])
            scores_e[:, own] = np.eye(mine.size)  # a seed hit belongs to its own track
            ids = np.asarray(rule(scores_e, layer[rows])).astype(np.int64)
            if ids.shape != rows.shape or ids.min(initial=0) < -1 or ids.max(initial=0) >= mine.size:
                raise ValueError(f"rule must return one seed index in -1 ... {mine.size - 1} per "
                                 f"hit, shape {rows.shape}; got shape {ids.shape}, values "
                                 f"{ids.min(initial=0)} ... {ids.max(initial=0)}")
            pred[rows[ids >= 0]] = seeds[mine[ids[ids >= 0]]]
        return pred

    def predict(self, X):
        """Track id of each hit of ``X`` (any number of events), int64 (n_hits,)."""
        return self.from_outputs(X, *self.outputs(X))

    def predict_single_event(self, X_event):
        """Track id of each hit of one event, int64 (n_hits,)."""
        X_event = np.asarray(X_event, dtype=float)
        if X_event.ndim == 2 and X_event.shape[0] and np.unique(X_event[:, 0]).size > 1:
            raise ValueError("predict_single_event takes the hits of one event; use predict for "
                             "several")
        return self.predict(X_event)
