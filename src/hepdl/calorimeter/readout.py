"""Coarser readouts of the ECAL image: cells merged into channels, and what a classifier gets.

A *segmentation* maps every ECAL cell ``(x, y, layer)`` of the 25 x 25 x 25 window to a channel
number; a readout with that segmentation measures one energy per channel, the sum of its cells.
Merging cells models a detector with larger cells (fewer electronics channels, less data), a
trigger that keeps a few sums per cluster, or a choice of what to store. Lesson
*calorimeter4_scans* uses it for the granularity study and its design task.

Modelling choice: the merged channels are perfect sums of the simulated cells (no extra noise
per channel, no threshold), so a coarser readout here loses information only through the
merging itself.
"""

from __future__ import annotations

import numpy as np

from hepdl.calorimeter import geometry as geo

__all__ = ["channel_sums", "check_segmentation", "fraction_features", "plot_segmentation"]

_CHUNK = 256  # events summed at once (about 30 MB of index for the 15,625 cells)


def check_segmentation(segmentation, max_channels: int) -> np.ndarray:
    """The segmentation as an int64 array, after checking its shape and channel numbers.

    Parameters
    ----------
    segmentation : integer array of shape (25, 25, 25), ``(x, y, layer)``: the channel number
        of every ECAL cell
    max_channels : the channel budget: numbers must lie in ``0 ... max_channels - 1``

    Returns
    -------
    int64 array (25, 25, 25)

    Examples
    --------
    >>> seg = check_segmentation(np.zeros((25, 25, 25), dtype=int), max_channels=1)
    >>> seg.dtype, seg.shape
    (dtype('int64'), (25, 25, 25))
    """
    if int(max_channels) != max_channels or max_channels < 1:
        raise ValueError(f"max_channels must be a positive integer, got {max_channels!r}")
    array = np.asarray(segmentation)
    if array.shape != geo.ECAL_SHAPE:
        raise ValueError(f"segmentation must have shape {geo.ECAL_SHAPE} (x, y, layer), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"segmentation must hold integer channel numbers, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= max_channels:
        raise ValueError(f"channel numbers must lie in 0 ... {int(max_channels) - 1}, got "
                         f"{int(array.min())} ... {int(array.max())}")
    return array.astype(np.int64)


def channel_sums(ecal, segmentation, n_channels: int) -> np.ndarray:
    """The energy of every channel: the sum of its cells, event by event.

    Parameters
    ----------
    ecal : array (n, 25, 25, 25), cell energies [GeV], ``(x, y, layer)``
    segmentation : integer array (25, 25, 25), channel numbers in ``0 ... n_channels - 1``
    n_channels : number of channels (columns of the result; unused channels read 0)

    Returns
    -------
    float64 array (n, n_channels), channel energies [GeV]

    Examples
    --------
    >>> ecal = np.ones((2, 25, 25, 25))
    >>> seg = (np.arange(25) >= 12)[None, None, :] * np.ones((25, 25, 1), dtype=int)
    >>> channel_sums(ecal, seg, 3).tolist()
    [[7500.0, 8125.0, 0.0], [7500.0, 8125.0, 0.0]]
    """
    segmentation = check_segmentation(segmentation, n_channels)
    ecal = np.asarray(ecal)
    if ecal.ndim != 4 or ecal.shape[1:] != geo.ECAL_SHAPE:
        raise ValueError(f"ecal must have shape (n, 25, 25, 25), got {ecal.shape}")
    flat, out = segmentation.ravel(), np.zeros((len(ecal), n_channels))
    for start in range(0, len(ecal), _CHUNK):       # in chunks: the index array is 8 bytes a cell
        block = ecal[start:start + _CHUNK].reshape(-1, flat.size)
        index = (np.arange(len(block))[:, None] * n_channels + flat[None, :]).ravel()
        out[start:start + len(block)] = np.bincount(index, weights=block.ravel().astype(np.float64),
                                                    minlength=len(block) * n_channels).reshape(-1, n_channels)
    return out


def fraction_features(sums) -> np.ndarray:
    """What the lesson's fixed classifier reads: each channel's share of the energy, and ln E.

    Parameters
    ----------
    sums : array (n, n_channels), channel energies [GeV]

    Returns
    -------
    float64 array (n, n_channels + 1): ``sums / total`` (0 for an empty event) and
    ``ln(total / GeV)`` (total floored at 1 MeV)

    Examples
    --------
    >>> fraction_features(np.array([[1.0, 3.0]])).round(3).tolist()
    [[0.25, 0.75, 1.386]]
    """
    sums = np.asarray(sums, dtype=np.float64)
    if sums.ndim != 2:
        raise ValueError(f"sums must be 2-D (events, channels), got shape {sums.shape}")
    total = sums.sum(axis=1, keepdims=True)
    shares = np.divide(sums, total, out=np.zeros_like(sums), where=total > 0)
    return np.column_stack([shares, np.log(np.maximum(total[:, 0], 1e-3))])


def plot_segmentation(segmentation, *, layers=(0, 3, 8, 16), axes=None):
    """Draw a segmentation: the channels of a few layers (x-y), and a side view (x-layer at y = 12).

    Neighbouring cells of one channel share a colour; the colours repeat, so two channels far
    apart may look alike, the white lines are the channel boundaries.

    Parameters
    ----------
    segmentation : integer array (25, 25, 25) of channel numbers
    layers : the layers drawn face-on
    axes : ``len(layers) + 1`` matplotlib Axes, or None for a new figure

    Returns
    -------
    the array of Axes
    """
    import matplotlib.pyplot as plt

    segmentation = np.asarray(segmentation)
    if segmentation.shape != geo.ECAL_SHAPE:
        raise ValueError(f"segmentation must have shape {geo.ECAL_SHAPE}, got {segmentation.shape}")
    if axes is None:
        _, axes = plt.subplots(1, len(layers) + 1, figsize=(3.0 * (len(layers) + 1.6), 3.2),
                               gridspec_kw={"width_ratios": [1] * len(layers) + [1.6]}, layout="constrained")
    axes = np.atleast_1d(axes)
    if len(axes) != len(layers) + 1:
        raise ValueError(f"axes must hold {len(layers) + 1} Axes (the layers and a side view), got {len(axes)}")
    _, colour = np.unique(segmentation, return_inverse=True)
    colour = colour.reshape(segmentation.shape) % 20
    half = geo.ECAL_CELL_MM * geo.ECAL_SHAPE[0] / 2
    for ax, layer in zip(axes[:-1], layers):
        _draw(ax, colour[:, :, layer].T, segmentation[:, :, layer].T, (-half, half, -half, half))
        ax.set(title=f"layer {layer}", xlabel="x [mm]", ylabel="y [mm]")
    n_layers = geo.ECAL_SHAPE[2]
    _draw(axes[-1], colour[:, 12, :].T, segmentation[:, 12, :].T, (-half, half, n_layers - 0.5, -0.5))
    axes[-1].set(title="side view, y = 0", xlabel="x [mm]", ylabel="layer", aspect="auto")
    return axes


def _draw(ax, colour, ids, extent):
    """Channel colours of a 2-D slice (rows = the vertical axis) with white channel boundaries."""
    lower = extent[2] < extent[3]                    # row 0 at the bottom (face view) or the top (side view)
    ax.imshow(colour, cmap="tab20", vmin=0, vmax=19, extent=extent, interpolation="nearest",
              origin="lower" if lower else "upper")
    rows, cols = ids.shape
    x0, x1 = extent[:2]
    y0, y1 = extent[2:] if lower else extent[:1:-1]  # y of row 0's outer edge, and of the last row's
    dx, dy = (x1 - x0) / cols, (y1 - y0) / rows
    for i, j in zip(*np.nonzero(ids[:, 1:] != ids[:, :-1])):
        ax.plot([x0 + (j + 1) * dx] * 2, [y0 + i * dy, y0 + (i + 1) * dy], color="white", lw=0.8)
    for i, j in zip(*np.nonzero(ids[1:, :] != ids[:-1, :])):
        ax.plot([x0 + j * dx, x0 + (j + 1) * dx], [y0 + (i + 1) * dy] * 2, color="white", lw=0.8)
