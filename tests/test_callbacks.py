import numpy as np
import pytest

import keras  # noqa: E402
from hepdl.common.callbacks import TimeBudget  # noqa: E402


class FakeClock:
    """Advances by `step` seconds each time it is read."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_budget_stops_training_gracefully_and_keeps_history():
    x, y = np.zeros((64, 2)), np.zeros((64, 1))
    budget = TimeBudget(10.0, clock=FakeClock(step=4.0))  # 3rd reading is past 10 s
    history = _model().fit(x, y, epochs=50, batch_size=8, verbose=0, callbacks=[budget])
    assert budget.stopped
    assert budget.epochs_run == 1
    assert len(history.history["loss"]) == 1


def test_budget_not_reached_runs_every_epoch():
    x, y = np.zeros((16, 2)), np.zeros((16, 1))
    budget = TimeBudget(1e9)
    history = _model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[budget])
    assert not budget.stopped
    assert len(history.history["loss"]) == 3


@pytest.mark.parametrize("seconds", [0, -1])
def test_budget_must_be_positive(seconds):
    with pytest.raises(ValueError, match="seconds must be positive"):
        TimeBudget(seconds)
