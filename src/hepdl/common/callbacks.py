"""Keras callbacks the course needs (importing this module imports Keras)."""

from __future__ import annotations

import time

import keras

__all__ = ["TimeBudget"]


class TimeBudget(keras.callbacks.Callback):
    """Stop training gracefully once a wall-clock budget is spent.

    The check runs after every batch; when the budget is exceeded, training finishes the
    current batch and stops (``model.stop_training = True``): the weights, the history and the
    remaining notebook cells are kept. ``stopped`` tells whether the budget fired and
    ``epochs_run`` how many epochs ran (the last may be partial).

    Parameters
    ----------
    seconds
        Wall-clock budget in seconds for the whole ``fit`` call (> 0).
    clock
        A zero-argument function returning seconds; ``time.monotonic`` by default (tests
        pass a fake clock).
    """

    def __init__(self, seconds: float, *, clock=time.monotonic):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        self.seconds = float(seconds)
        self.clock = clock
        self.stopped = False
        self.epochs_run = 0
        self._start: float | None = None

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self.stopped = False
        self.epochs_run = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_run = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self._start is not None and self.clock() - self._start > self.seconds:
            self.stopped = True
            self.model.stop_training = True
