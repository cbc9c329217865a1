"""Keras 3 model builders for drift-chamber event images (43 layers x azimuth bins).

Three families that read the same images ``(batch, layers, azimuth, channels)`` and differ only
in what they assume about them (their *inductive bias*):

* :func:`build_dense`: fully connected; every pixel is an unrelated input (no locality, no
  symmetry): the most weights, the fewest assumptions;
* :func:`build_cnn`: the CNN of lesson driftchamber2: 3x3 convolutions (locality, the same
  filter at every position), :class:`CircularPad` so that the azimuth wraps around, pooling
  over the whole azimuth row by row (the result does not depend on where in phi an event lies);
* :func:`build_cnn_lstm`: the same convolutions, pooled in azimuth only, so that every one of
  the 43 layers survives as one step of a sequence; an LSTM then reads the layers from the
  innermost (layer 0, radius 79 mm) to the outermost (layer 42, 763 mm). That is the order in
  which a particle from the beam crosses them: a track is a chain of hits whose next hit lies
  one layer further out, close to where the curvature so far predicts, and a curler leaves the
  sequence early. The recurrence carries what was seen at smaller radii to the larger ones.

Every builder takes ``n_classes``: 1 gives one sigmoid output (a binary task, loss
``"binary_crossentropy"``), 2 or more give a softmax over the classes (loss
``"sparse_categorical_crossentropy"`` with integer labels). The models are returned **not
compiled**: a fair comparison trains every family with one recipe (optimiser, learning rate,
loss, callbacks), and that recipe belongs to the lesson, which compiles them all the same way;
:func:`loss_for` names the matching loss.

Every builder starts with ``keras.layers.RandomFlip("horizontal")`` when ``flip=True``: an event
mirrored in azimuth (phi -> -phi) is a possible event of the same class (its tracks bend the
other way, its ionisation is unchanged). The flip acts only in training.

Importing this module imports Keras (and its backend); ``hepdl.driftchamber`` does not import
it, so ``from hepdl.driftchamber import models`` is the way in.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from hepdl.driftchamber.encodings import DEFAULT_NUM_PHI_BINS
from hepdl.driftchamber.geometry import N_LAYERS

__all__ = ["CircularPad", "build_cnn", "build_cnn_lstm", "build_dense", "loss_for"]

#: The image shape of :func:`hepdl.driftchamber.encodings.encode` with a channel axis.
IMAGE_SHAPE = (N_LAYERS, DEFAULT_NUM_PHI_BINS, 1)


@keras.saving.register_keras_serializable(package="hepdl")
class CircularPad(keras.layers.Layer):
    """Pad ``(batch, layers, azimuth, channels)`` by ``size``: zeros in layer, wrap-around in azimuth.

    The azimuth of a drift chamber has no edge: column ``-1`` (phi just below 360 degrees) and
    column 0 are neighbours, so the padding copies the last ``size`` columns in front of the
    first and the first ``size`` behind the last. Radially there is a real edge (nothing inside
    layer 0 or outside layer 42), so the rows are padded with zeros. A ``Conv2D`` with kernel
    ``2 * size + 1`` and no padding after it keeps the image size.

    Parameters
    ----------
    size : int
        Pixels added on each side (>= 1).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(1, 9, dtype="float32").reshape(1, 2, 4, 1)
    >>> keras.ops.convert_to_numpy(CircularPad(1)(image))[0, :, :, 0].astype(int).tolist()
    [[0, 0, 0, 0, 0, 0], [4, 1, 2, 3, 4, 1], [8, 5, 6, 7, 8, 5], [0, 0, 0, 0, 0, 0]]
    """

    def __init__(self, size: int = 1, **kwargs):
        super().__init__(**kwargs)
        if int(size) != size or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.size = int(size)

    def call(self, x):
        k = self.size
        x = keras.ops.concatenate([x[:, :, -k:], x, x[:, :, :k]], axis=2)
        return keras.ops.pad(x, [[0, 0], [k, k], [0, 0], [0, 0]])

    def compute_output_shape(self, input_shape):
        batch, rows, cols, channels = input_shape
        grow = lambda n: None if n is None else n + 2 * self.size  # noqa: E731
        return (batch, grow(rows), grow(cols), channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def loss_for(n_classes: int) -> str:
    """The Keras loss that matches a builder's output for ``n_classes``.

    Parameters
    ----------
    n_classes : int
        1 (one sigmoid output, labels 0/1) or >= 2 (softmax, integer labels 0..n_classes-1).

    Returns
    -------
    str
        ``"binary_crossentropy"`` or ``"sparse_categorical_crossentropy"``.

    Examples
    --------
    >>> loss_for(1), loss_for(3)
    ('binary_crossentropy', 'sparse_categorical_crossentropy')
    """
    _check_classes(n_classes)
    return "binary_crossentropy" if n_classes == 1 else "sparse_categorical_crossentropy"


def build_dense(input_shape: Sequence[int] = IMAGE_SHAPE, units: Sequence[int] = (32,),
                n_classes: int = 3, *, flip: bool = True) -> keras.Model:
    """A fully connected network on the flattened image.

    ``keras.Input`` -> ``RandomFlip`` (if ``flip``) -> ``Flatten`` -> one ReLU ``Dense`` layer per
    entry of ``units`` -> the output layer. The first dense layer alone holds
    ``(layers * azimuth * channels + 1) * units[0]`` weights (176,160 for one 43 x 128 image
    channel and 32 units): each pixel gets its own weight to every unit, so a pattern learned at
    one azimuth must be learned again at every other.

    Parameters
    ----------
    input_shape : (layers, azimuth bins, channels)
    units : widths of the hidden layers (may be empty: a linear model on the pixels)
    n_classes : 1 (sigmoid) or >= 2 (softmax)
    flip : mirror the training images in azimuth at random

    Returns
    -------
    keras.Model, not compiled: images ``(batch, *input_shape)`` -> ``(batch, n_classes)``
    """
    _check_classes(n_classes)
    _check_widths("units", units)
    inputs = keras.Input(shape=tuple(input_shape))
    x = _maybe_flip(inputs, flip)
    x = keras.layers.Flatten()(x)
    for width in units:
        x = keras.layers.Dense(width, activation="relu")(x)
    return keras.Model(inputs, _output(x, n_classes), name="dense")


def build_cnn(widths: Sequence[int] = (8, 16, 32), dense_units: int = 16,
              input_shape: Sequence[int] = IMAGE_SHAPE, n_classes: int = 3, *,
              flip: bool = True) -> keras.Model:
    """The CNN of lesson driftchamber2, for ``n_classes`` outputs.

    ``RandomFlip`` (if ``flip``), then per width a block ``CircularPad(1)`` -> ``Conv2D(width, 3,
    relu)`` -> ``MaxPooling2D(2)``; then each remaining row is pooled over the whole azimuth
    (average and maximum, concatenated), flattened, batch-normalised (momentum 0.9), a ReLU
    ``Dense(dense_units)`` and the output. Rotating an event by a multiple of
    ``2 ** len(widths)`` azimuth bins leaves the output unchanged (up to rounding).

    Parameters
    ----------
    widths : filters of the convolution blocks
    dense_units : width of the hidden dense layer
    input_shape : (layers, azimuth bins, channels); each block halves both (rounding down)
    n_classes : 1 (sigmoid) or >= 2 (softmax)
    flip : mirror the training images in azimuth at random

    Returns
    -------
    keras.Model, not compiled: images ``(batch, *input_shape)`` -> ``(batch, n_classes)``
    """
    _check_classes(n_classes)
    _check_widths("widths", widths, allow_empty=False)
    _check_widths("dense_units", [dense_units], allow_empty=False)
    inputs = keras.Input(shape=tuple(input_shape))
    x = _conv_blocks(_maybe_flip(inputs, flip), widths, pool=(2, 2), input_shape=input_shape)
    x = keras.layers.Flatten()(_pool_azimuth(x))
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.Dense(dense_units, activation="relu")(x)
    return keras.Model(inputs, _output(x, n_classes), name="cnn")


def build_cnn_lstm(widths: Sequence[int] = (8, 16, 32), lstm_units: int = 16,
                   input_shape: Sequence[int] = IMAGE_SHAPE, n_classes: int = 3, *,
                   flip: bool = True) -> keras.Model:
    """Convolutions, then an LSTM that reads the chamber's layers from the inside out.

    ``RandomFlip`` (if ``flip``), then per width a block ``CircularPad(1)`` -> ``Conv2D(width, 3,
    relu)`` -> ``MaxPooling2D((1, 2))``: the pooling halves only the azimuth, so all
    ``input_shape[0]`` layers remain. Each layer's row is pooled over the whole azimuth (average
    and maximum: ``2 * widths[-1]`` features per layer), batch-normalised, and the rows form a
    sequence in layer order, innermost first, which ``LSTM(lstm_units)`` reads; its last state
    feeds the output. A particle crosses the layers in that order, so the recurrence carries what
    was seen at small radii (every track) to the large radii (only the stiff ones get there).

    Parameters
    ----------
    widths : filters of the convolution blocks
    lstm_units : size of the LSTM's state
    input_shape : (layers, azimuth bins, channels); each block halves the azimuth
    n_classes : 1 (sigmoid) or >= 2 (softmax)
    flip : mirror the training images in azimuth at random

    Returns
    -------
    keras.Model, not compiled: images ``(batch, *input_shape)`` -> ``(batch, n_classes)``
    """
    _check_classes(n_classes)
    _check_widths("widths", widths, allow_empty=False)
    _check_widths("lstm_units", [lstm_units], allow_empty=False)
    inputs = keras.Input(shape=tuple(input_shape))
    x = _conv_blocks(_maybe_flip(inputs, flip), widths, pool=(1, 2), input_shape=input_shape)
    x = _pool_azimuth(x)                                           # (batch, layers, 1, 2 w)
    x = keras.layers.Reshape((x.shape[1], x.shape[3]))(x)          # (batch, layers, 2 w): a sequence
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.LSTM(lstm_units)(x)
    return keras.Model(inputs, _output(x, n_classes), name="cnn_lstm")


def _maybe_flip(x, flip):
    return keras.layers.RandomFlip("horizontal")(x) if flip else x


def _conv_blocks(x, widths, *, pool, input_shape):
    rows, cols = int(input_shape[0]), int(input_shape[1])
    if rows < pool[0] ** len(widths) or cols < pool[1] ** len(widths):
        raise ValueError(f"input_shape {tuple(input_shape)} is too small for {len(widths)} blocks that "
                         f"pool by {pool}; use fewer widths or a larger image")
    for width in widths:
        x = CircularPad(1)(x)
        x = keras.layers.Conv2D(width, 3, activation="relu")(x)
        x = keras.layers.MaxPooling2D(pool)(x)
    return x


def _pool_azimuth(x):
    n = x.shape[2]
    return keras.layers.Concatenate()([keras.layers.AveragePooling2D((1, n))(x),
                                       keras.layers.MaxPooling2D((1, n))(x)])


def _output(x, n_classes):
    if n_classes == 1:
        return keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.layers.Dense(n_classes, activation="softmax")(x)


def _check_classes(n_classes):
    if int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer (1 for a sigmoid output, >= 2 for "
                         f"softmax), got {n_classes!r}")


def _check_widths(name, widths, *, allow_empty=True):
    widths = list(widths)
    if not widths and not allow_empty:
        raise ValueError(f"{name} must hold at least one width, got {widths!r}")
    if any(int(w) != w or w < 1 for w in widths):
        raise ValueError(f"{name} must be positive integers, got {widths!r}")
