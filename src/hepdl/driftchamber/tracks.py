"""Single tracks of the drift-chamber events: inputs, labels and targets, grouped by event.

The lesson "Tracks" classifies each track (species pi / e / mu, charge sign) and regresses its
momentum. Every event has exactly four tracks (``trk`` 0 pi+, 1 pi-, 2 l+, 3 l-), so all arrays
here have the shape ``(n_events, 4, ...)``: the event grouping that a momentum-conservation loss
needs is the first axis, and a batch of events is a batch of complete four-track groups.

The input of one track is a **layer-ordered sequence**: for each of the 43 layers, the mean
position ``(x, y)`` [mm] and mean charge ``rc`` [ADC counts] of the track's hits on that layer,
and a flag saying whether it has any. The sequence has a fixed length (43) without padding
tricks, keeps the order in radius that a helix from the beam line follows, and is what a circle
fit uses. Its limit: a curler (a slow pion with 2R below the outer wall) crosses the same layers
again on its way in, and the mean of the outgoing and incoming hits is then not on the helix.

What is learnable:

* the **charge sign**, from the sense in which the track bends (in B along +z a positive track
  turns clockwise: the azimuth of its hits decreases with radius);
* the **transverse momentum** ``pT = 0.3 B R`` from the radius of curvature of the axial hits;
  ``(px, py)`` then follow from the direction at the origin;
* ``pz`` only weakly: the table gives the stereo wires' mid-points, not where the track crossed
  them, so ``pz`` shows only as small offsets of the stereo hits from the axial circle and as
  the number of layers a steep track crosses before it leaves through the end plate;
* the **species** from the charge per hit (restricted dE/dx: e 1.31, mu 1.09, slow pi 1.5-2.3
  times minimum ionising) together with the momentum (the pions are below 0.41 GeV, the leptons
  at 1.3-1.8 GeV).

Functions:

* :func:`track_sequences`: the per-layer sequences of every track, ``(n_events, 4, 43, 4)``;
* :func:`end_points`: the innermost and outermost hit of each track;
* :func:`curvature_sign`: the sign of the bending (``+1`` clockwise = positive charge);
* :func:`reference_angle`, :func:`network_inputs`: rotate each track so its innermost hit lies
  on the +x axis and scale it, the inputs of a small network;
* :func:`track_targets`: species, charge sign and ``(px, py, pz)`` from the particle table;
* :func:`rotate_xy`: rotate momenta between the lab and a track's frame.
"""

from __future__ import annotations

import numpy as np

from hepdl.common.tables import count_events
from hepdl.driftchamber.geometry import N_LAYERS
from hepdl.driftchamber.kinematics import N_TRACKS

__all__ = ["N_TRACKS", "N_LAYERS", "AXIAL", "N_CHANNELS", "SPECIES", "R_SCALE_MM", "Q_SCALE_ADC",
           "track_sequences", "end_points", "curvature_sign", "reference_angle", "rotate_xy",
           "network_inputs", "track_targets"]

#: Channels of a sequence step: x [mm], y [mm], rc [ADC counts], hit flag (0 or 1).
N_CHANNELS = 4
#: Species classes, in label order.
SPECIES = ("pion", "electron", "muon")
#: Length scale of the network inputs [mm] (the chamber's outer wall).
R_SCALE_MM = 810.0
#: Charge scale of the network inputs [ADC counts] (a minimum-ionising hit).
Q_SCALE_ADC = 600.0


def track_sequences(hits, n_events: int | None = None):
    """Layer-ordered sequence of every track: mean x, y, charge per layer and a hit flag.

    Parameters
    ----------
    hits : mapping
        The hits table (``event``, ``layer``, ``trk``, ``x``, ``y`` [mm], ``rc`` [ADC counts]);
        noise hits (``trk = -1``) are left out.
    n_events : int, optional
        Number of events (pass it: events without track hits at the end would be missed).

    Returns
    -------
    numpy.ndarray, float32, shape (n_events, 4, 43, 4)
        ``[..., 0]`` x [mm], ``[..., 1]`` y [mm], ``[..., 2]`` rc [ADC counts] (means over the
        track's hits on that layer), ``[..., 3]`` 1 where the track has a hit on the layer;
        zeros where it has none.

    Examples
    --------
    >>> hits = {"event": np.array([0, 0, 0]), "layer": np.array([0, 0, 5]),
    ...         "trk": np.array([2, 2, -1]), "x": np.array([1.0, 3.0, 9.0]),
    ...         "y": np.zeros(3), "rc": np.array([500.0, 700.0, 1.0])}
    >>> s = track_sequences(hits, 1)
    >>> s.shape, s[0, 2, 0].tolist()
    ((1, 4, 43, 4), [2.0, 0.0, 600.0, 1.0])
    """
    trk = np.asarray(hits["trk"])
    if trk.size and trk.max() >= N_TRACKS:
        raise ValueError(f"hits['trk'] must be -1 (noise) or 0..{N_TRACKS - 1}, got {trk.max()}")
    n = count_events(hits["event"], n_events)
    on = trk >= 0
    layer = np.asarray(hits["layer"])[on].astype(np.int64)
    if layer.size and (layer.min() < 0 or layer.max() >= N_LAYERS):
        raise ValueError(f"hits['layer'] must lie in 0..{N_LAYERS - 1}")
    key = (np.asarray(hits["event"])[on].astype(np.int64) * N_TRACKS + trk[on]) * N_LAYERS + layer
    size = n * N_TRACKS * N_LAYERS
    count = np.bincount(key, minlength=size).astype(np.float64)
    safe = np.maximum(count, 1.0)
    out = np.zeros((size, N_CHANNELS), dtype=np.float64)
    for c, name in enumerate(("x", "y", "rc")):
        weights = np.asarray(hits[name], float)[on]
        out[:, c] = np.bincount(key, weights=weights, minlength=size) / safe
    out[:, 3] = count > 0
    return out.reshape(n, N_TRACKS, N_LAYERS, N_CHANNELS).astype(np.float32)


#: Axial layers (wires parallel to the beam: their mid-point lies on the track's circle).
AXIAL = np.r_[np.arange(8, 20), np.arange(36, 43)]


def end_points(seq, layers=None):
    """Positions of each track's innermost and outermost hit.

    Parameters
    ----------
    seq : array, shape (..., 43, 4)
        Sequences from :func:`track_sequences`.
    layers : int array, optional
        Only these layers count (e.g. :data:`AXIAL`); all by default.

    Returns
    -------
    inner, outer : numpy.ndarray, shape (..., 2)
        (x, y) [mm] of the innermost and the outermost layer with a hit (zeros without one).
    found : numpy.ndarray, bool, shape (...)
        Whether the track has a hit on those layers.
    """
    seq = np.asarray(seq)
    present = seq[..., 3] > 0
    if layers is not None:
        keep = np.zeros(seq.shape[-2], bool)
        keep[layers] = True
        present = present & keep
    idx = np.arange(seq.shape[-2])
    first = np.where(present, idx, seq.shape[-2]).min(axis=-1)
    last = np.where(present, idx, -1).max(axis=-1)
    some = last >= 0
    f = np.clip(first, 0, seq.shape[-2] - 1)[..., None, None]
    l = np.clip(last, 0, seq.shape[-2] - 1)[..., None, None]
    index_shape = seq.shape[:-2] + (1, 2)
    p_first = np.take_along_axis(seq[..., :2], np.broadcast_to(f, index_shape), -2)[..., 0, :]
    p_last = np.take_along_axis(seq[..., :2], np.broadcast_to(l, index_shape), -2)[..., 0, :]
    return p_first, p_last, some


def curvature_sign(seq):
    """Charge sign from the bending: +1 where the track turns clockwise seen from +z.

    The z-component of ``r_first x r_last`` (innermost and outermost hit on an axial layer,
    :data:`AXIAL`) is negative for a track that turns clockwise, which in a field along +z is a
    positive one. Stereo layers are skipped: their wires' mid-points are off the track's circle
    by more than a stiff track's bending.

    Parameters
    ----------
    seq : array, shape (..., 43, 4)
        Sequences from :func:`track_sequences`.

    Returns
    -------
    numpy.ndarray, int64, shape (...)
        +1, -1, or 0 where the track has no axial hit.
    """
    p_first, p_last, some = end_points(seq, AXIAL)
    cross = p_first[..., 0] * p_last[..., 1] - p_first[..., 1] * p_last[..., 0]
    return np.where(some, -np.sign(cross), 0).astype(np.int64)


def reference_angle(seq):
    """Azimuth [rad] of each track's innermost hit, shape (...); 0 for a track without hits."""
    p_first, _, some = end_points(seq)
    return np.where(some, np.arctan2(p_first[..., 1], p_first[..., 0]), 0.0)


def rotate_xy(vectors, angle):
    """Rotate the first two components of ``vectors`` (..., >=2) by ``angle`` [rad] (...)."""
    v = np.array(vectors, dtype=np.float64, copy=True)
    c, s = np.cos(angle), np.sin(angle)
    x, y = v[..., 0].copy(), v[..., 1].copy()
    v[..., 0] = c * x - s * y
    v[..., 1] = s * x + c * y
    return v


def network_inputs(seq):
    """Scaled sequences in each track's own frame, and the frame's angle.

    Each track is rotated by minus its :func:`reference_angle`, so that its innermost hit lies
    on the +x axis: the network then need not learn that the physics is the same at every
    azimuth. Positions are divided by :data:`R_SCALE_MM`, charges by :data:`Q_SCALE_ADC`.

    Parameters
    ----------
    seq : array, shape (..., 43, 4)

    Returns
    -------
    inputs : numpy.ndarray, float32, shape (..., 43, 4)
    angle : numpy.ndarray, float64, shape (...)
        Rotate a prediction made in the track's frame by ``+angle`` to get it in the lab.
    """
    seq = np.asarray(seq, dtype=np.float64)
    angle = reference_angle(seq)
    out = rotate_xy(seq, -angle[..., None])
    out[..., :2] /= R_SCALE_MM
    out[..., 2] /= Q_SCALE_ADC
    out[..., :3] *= out[..., 3:4]  # empty layers stay exactly zero
    return out.astype(np.float32), angle


def track_targets(particles, n_events: int | None = None):
    """Species, charge sign and momentum of every track, as (n_events, 4, ...) arrays.

    Parameters
    ----------
    particles : mapping
        The particle table (``event``, ``trk``, ``pdg``, ``px``, ``py``, ``pz`` [GeV]), four
        rows per event.
    n_events : int, optional

    Returns
    -------
    dict
        ``species`` int64 (n_events, 4): 0 pion, 1 electron, 2 muon (:data:`SPECIES`);
        ``charge`` int64 (n_events, 4): +1 / -1 from the PDG id;
        ``momentum`` float64 (n_events, 4, 3): px, py, pz [GeV].
    """
    event = np.asarray(particles["event"]).astype(np.int64)
    trk = np.asarray(particles["trk"]).astype(np.int64)
    n = count_events(event, n_events)
    key = event * N_TRACKS + trk
    if key.size != n * N_TRACKS or np.bincount(key, minlength=n * N_TRACKS).max(initial=0) != 1:
        raise ValueError(f"the particle table must hold exactly {N_TRACKS} tracks (trk 0..3) "
                         f"for each of the {n} events; got {key.size} rows")
    order = np.argsort(key)
    pdg = np.asarray(particles["pdg"])[order].astype(np.int64)
    species = np.select([np.abs(pdg) == 211, np.abs(pdg) == 11, np.abs(pdg) == 13], [0, 1, 2], -1)
    if np.any(species < 0):
        raise ValueError(f"unexpected PDG ids {sorted(set(pdg[species < 0].tolist()))}")
    # PDG: pi+ = 211, e- = 11, mu- = 13 (leptons have the opposite sign convention).
    charge = np.where(species == 0, np.sign(pdg), -np.sign(pdg))
    momentum = np.stack([np.asarray(particles[c], float)[order] for c in ("px", "py", "pz")], -1)
    shape = (n, N_TRACKS)
    return {"species": species.reshape(shape), "charge": charge.reshape(shape),
            "momentum": momentum.reshape(shape + (3,))}
