"""The talk's four event images of the drift chamber: binary, total, average and per_hit.

Image geometry (a choice of this course): a polar "unrolled chamber" of shape
``(43, num_phi_bins)``: row = layer (0 innermost, 42 outermost), column = azimuth bin of the
fired wire's mid-point ``(X, Y)``, ``floor(phi / 2 pi * num_phi_bins)`` with ``phi`` in
[0, 2 pi) measured counter-clockwise from +x (:func:`hepdl.common.azimuth.phi_bin`). Every wire
maps to one pixel; with the default ``num_phi_bins = 128`` an
outer layer (288 wires) puts two or three wires in a pixel and the innermost (40 wires) fills
every third pixel. A straight track is a near-vertical line, a bent one a slanted curve, a curler
a "V" that turns back up (curlers cross a layer twice); the left and right edges are the same
azimuth (a CNN may pad circularly). Pixels of a layer are all the same area in this picture,
so outer layers get no more weight than inner ones, unlike an (x, y) picture.

The encodings differ only in the value painted where a wire fired:

``binary``  1
``total``   the event's total charge (sum of ``rc`` over all its hits)
``average`` the event's mean charge per hit
``per_hit`` the charge of the hit (summed if two wires fall into one pixel)

so ``binary`` knows only the pattern (the track momenta), ``total`` and ``average`` add one
number per event, and only ``per_hit`` keeps which hits carry more charge. As in the talk, each
is normalised over the whole data set: :func:`fit_normalisation` finds the scale (the largest
pixel value) on the training images and :func:`normalise` divides any set by it, so the
training images lie in [0, 1].

An event without hits gives an all-zero image.
"""

from __future__ import annotations

import os

import numpy as np

from hepdl.common import io
from hepdl.common.azimuth import phi_bin
from hepdl.common.checks import positive_int
from hepdl.driftchamber.geometry import N_LAYERS

__all__ = ["DEFAULT_NUM_PHI_BINS", "ENCODINGS", "encode", "encode_file", "fit_normalisation",
           "normalise"]

ENCODINGS = ("binary", "total", "average", "per_hit")
#: azimuth bins (image columns) unless told otherwise
DEFAULT_NUM_PHI_BINS = 128


def _check_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    return encoding


def encode(hits, *, encoding: str, n_events: int | None = None,
           num_phi_bins: int = DEFAULT_NUM_PHI_BINS):
    """Turn a hits table into images ``(n_events, 43, num_phi_bins)`` (float32, not normalised).

    Parameters
    ----------
    hits : mapping
        ``layer``, ``x``, ``y`` [mm], ``rc`` [ADC counts] and, for several events, ``event``
        (a table without ``event``, such as one read by
        :func:`hepdl.driftchamber.events_csv.read_event_csv`, is one event).
    encoding : str
        One of :data:`ENCODINGS`.
    n_events : int, optional
        Number of events (pass ``len(data["events"]["type"])`` so that events without hits at
        the end get their empty images); by default the largest ``event`` + 1.
    num_phi_bins : int
        Azimuth bins (image columns).

    Returns
    -------
    numpy.ndarray (n_events, 43, num_phi_bins), float32

    Examples
    --------
    Two hits in event 0 (layer 0 at phi = 0, layer 42 at phi = pi), none in event 1:

    >>> hits = {"event": np.array([0, 0]), "layer": np.array([0, 42]),
    ...         "x": np.array([80.0, -760.0]), "y": np.array([1.0, -1.0]),
    ...         "rc": np.array([500.0, 700.0])}
    >>> img = encode(hits, encoding="average", n_events=2, num_phi_bins=8)
    >>> img.shape, img[0, 0, 0], img[0, 42, 4], float(img[1].sum())
    ((2, 43, 8), np.float32(600.0), np.float32(600.0), 0.0)
    >>> encode(hits, encoding="per_hit", n_events=2, num_phi_bins=8)[0, 42, 4]
    np.float32(700.0)
    """
    _check_encoding(encoding)
    num_phi_bins = positive_int("num_phi_bins", num_phi_bins)
    layer = np.asarray(hits["layer"]).astype(np.int64)
    n_hits = layer.size
    event = (np.asarray(hits["event"]).astype(np.int64) if "event" in hits
             else np.zeros(n_hits, dtype=np.int64))
    if n_events is None:
        n_events = int(event.max()) + 1 if n_hits else 1
    if n_hits and (event.min() < 0 or event.max() >= n_events):
        raise ValueError(f"hits['event'] must lie in [0, n_events={n_events}), "
                         f"got {event.min()}..{event.max()}")
    if n_hits and (layer.min() < 0 or layer.max() >= N_LAYERS):
        raise ValueError(f"hits['layer'] must lie in [0, {N_LAYERS}), "
                         f"got {layer.min()}..{layer.max()}")
    images = np.zeros((n_events, N_LAYERS, num_phi_bins), dtype=np.float32)
    if n_hits == 0:
        return images
    column = phi_bin(np.arctan2(np.asarray(hits["y"], float), np.asarray(hits["x"], float)),
                     num_phi_bins)
    flat = images.reshape(-1)
    index = (event * N_LAYERS + layer) * num_phi_bins + column
    charge = np.asarray(hits["rc"], dtype=float)
    if encoding == "per_hit":
        np.add.at(flat, index, charge.astype(np.float32))
        return images
    if encoding == "binary":
        flat[index] = 1.0
        return images
    total = np.bincount(event, weights=charge, minlength=n_events)
    if encoding == "total":
        flat[index] = total[event]
    else:  # average
        count = np.bincount(event, minlength=n_events)
        flat[index] = (total / np.maximum(count, 1))[event]
    return images


def fit_normalisation(images, percentile: float | None = None) -> float:
    """The data-set-wide scale of a set of training images.

    Parameters
    ----------
    images : array of any shape, the training images (never the test images)
    percentile : None for the largest pixel value; a number in (0, 100] for that percentile of
        the lit (positive) pixels, which one rare huge deposit cannot drag (``per_hit`` images:
        driftchamber2 compares the two)

    Raises
    ------
    ValueError
        If the images have no positive pixel (no hit at all): there is nothing to scale by.

    Examples
    --------
    >>> fit_normalisation(np.array([[[0.0, 2.0]], [[4.0, 0.0]]]))
    4.0
    >>> fit_normalisation(np.array([[[0.0, 2.0]], [[4.0, 0.0]]]), percentile=50)
    3.0
    """
    images = np.asarray(images)
    if percentile is not None and not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    lit = images[images > 0]
    scale = 0.0 if lit.size == 0 else (float(lit.max()) if percentile is None
                                       else float(np.percentile(lit, percentile)))
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"the training images have no positive pixel (largest value {scale!r}); "
                         "fit the normalisation on a training set that has hits")
    return scale


def normalise(images, scale: float):
    """Divide images by the scale found by :func:`fit_normalisation` (returns float32).

    Examples
    --------
    >>> normalise(np.array([[[0.0, 2.0]]]), 4.0)
    array([[[0. , 0.5]]], dtype=float32)
    """
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}; "
                         "use fit_normalisation on the training images")
    return (np.asarray(images, dtype=np.float32) / np.float32(scale)).astype(np.float32)


def encode_file(path: str | os.PathLike, *, encoding: str,
                num_phi_bins: int = DEFAULT_NUM_PHI_BINS, rebuild: str | None = None):
    """Read a drift-chamber data file and return ``(images, event_types)``.

    Parameters
    ----------
    path : path of a ``driftchamber_events`` HDF5 file
    encoding : one of :data:`ENCODINGS`
    num_phi_bins : azimuth bins (image columns)
    rebuild : the command that recreates the file, quoted if it is missing or broken

    Raises
    ------
    hepdl.common.io.DataFileError
        The file is missing, corrupt, or lacks ``hits`` or ``events``.
    """
    _check_encoding(encoding)
    data = io.read_h5(path, ["hits", "events"], rebuild=rebuild)
    missing = [name for name in ("layer", "x", "y", "rc", "event") if name not in data["hits"]]
    if "type" not in data["events"] or missing:
        hint = f"\nRebuild it with:\n    {rebuild}" if rebuild else ""
        raise io.DataFileError(f"Data file {path} lacks events/type or hits/{missing}: it is not a "
                               f"drift-chamber events file of this version.{hint}")
    types = data["events"]["type"]
    return (encode(data["hits"], encoding=encoding, n_events=types.size,
                   num_phi_bins=num_phi_bins), types)
