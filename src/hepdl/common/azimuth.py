"""Azimuth on a circle: wrapping differences and binning angles.

Every detector with a solenoid is read in azimuth phi [rad], measured counter-clockwise from
+x seen from +z. Two operations recur in every room: the difference of two azimuths, wrapped to
the short way round (:func:`wrap_phi`), and the bin of an azimuth among equal bins of the full
turn (:func:`phi_bin`).
"""

from __future__ import annotations

import numpy as np

from hepdl.common.checks import positive_int

__all__ = ["TWO_PI", "phi_bin", "wrap_phi"]

#: One full turn [rad].
TWO_PI = 2.0 * np.pi


def wrap_phi(dphi):
    """Azimuth (difference) ``dphi`` [rad] wrapped into [-pi, pi): the short way round.

    Keeps the input's dtype (float32 stays float32).

    Examples
    --------
    >>> wrap_phi(np.array([0.5, 3.5, -3.5, np.pi])).round(4).tolist()
    [0.5, -2.7832, 2.7832, -3.1416]
    """
    return np.mod(np.asarray(dphi) + np.pi, TWO_PI) - np.pi


def phi_bin(phi, num_phi_bins):
    """Bin of each azimuth among ``num_phi_bins`` equal bins of the full turn.

    ``floor(phi' / 2 pi * num_phi_bins)`` with ``phi' = phi mod 2 pi`` in [0, 2 pi): bin 0
    starts at phi = 0 (the +x axis) and the bins run counter-clockwise. An angle that rounds to
    2 pi lands in the last bin.

    Parameters
    ----------
    phi : array of azimuths [rad], any range (``np.arctan2(y, x)`` of hit positions)
    num_phi_bins : number of bins, an integer >= 1, or an integer array broadcast against
        ``phi`` (e.g. the cells of each hit's layer)

    Returns
    -------
    int64 array of the broadcast shape, values 0 ... num_phi_bins - 1

    Raises
    ------
    ValueError
        if ``num_phi_bins`` is not an integer (array) of at least 1.

    Examples
    --------
    >>> phi_bin(np.array([0.1, np.pi, -0.1]), 4).tolist()
    [0, 2, 3]
    >>> phi_bin(np.array([0.1, 0.1]), np.array([4, 100])).tolist()
    [0, 1]
    """
    n = np.asarray(num_phi_bins)
    if n.ndim == 0:
        n = positive_int("num_phi_bins", num_phi_bins)
    elif n.dtype.kind not in "iu" or (n.size and n.min() < 1):
        raise ValueError(f"num_phi_bins must be integers of at least 1, got an array of "
                         f"{n.dtype} with smallest value {n.min()}")
    angle = np.mod(np.asarray(phi, dtype=float), TWO_PI)
    return np.minimum((angle / TWO_PI * n).astype(np.int64), n - 1)
