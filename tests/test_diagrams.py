"""hepdl.common.diagrams: the figures are drawn from the objects, and say what the objects are."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from hepdl.common import diagrams


def boxes(ax):
    return [p for p in ax.patches if isinstance(p, FancyBboxPatch)]


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_a_functional_model_with_a_branch_is_drawn_box_by_box_with_its_shapes_and_weights():
    import keras

    x_in = keras.Input((6, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x_in)
    a = keras.layers.MaxPooling2D((1, 8))(x)
    b = keras.layers.AveragePooling2D((1, 8))(x)
    x = keras.layers.Concatenate()([a, b])
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(x_in, out)
    ax = diagrams.model_diagram(model)
    assert len(boxes(ax)) == len(model.layers) == 7
    assert len(arrows(ax)) == 7                       # conv feeds two poolings, both feed the join
    labels = "\n".join(texts(ax))
    assert "Conv2D: 4 filters 3x3, relu" in labels and "output 6 x 8 x 4, 40 weights" in labels
    assert "Dense: 2 units, softmax" in labels and "output 2, 98 weights" in labels
    y = {t.get_text().split(":")[0].split("\n")[0]: t.get_position()[1] for t in ax.texts}
    assert y["MaxPooling2D"] == y["AveragePooling2D"] < y["Conv2D"], "a branch stands side by side"
    assert f"{model.count_params():,} weights" in ax.get_title()
    plt.close("all")


def test_a_sequential_recurrent_model_shows_its_input_and_inner_layers():
    import keras

    model = keras.Sequential([keras.Input((5, 20)), keras.layers.LSTM(8, return_sequences=True),
                              keras.layers.TimeDistributed(keras.layers.Dense(20, activation="softmax"))])
    ax = diagrams.model_diagram(model)
    labels = "\n".join(texts(ax))
    assert len(boxes(ax)) == 3 and len(arrows(ax)) == 2
    assert "Input" in labels and "output 5 x 20" in labels
    assert "LSTM: 8 units, output at every step" in labels
    assert "TimeDistributed(Dense): 20 units, softmax" in labels
    plt.close("all")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_an_unrolled_recurrence_has_one_cell_per_step_and_its_state_arrows(bidirectional):
    ax = diagrams.unrolled_recurrence(4, bidirectional=bidirectional, step_label="layer")
    rows = 2 if bidirectional else 1
    assert len(boxes(ax)) == 4 * (2 + rows)            # input, output and the cells of each step
    state = [a for a in arrows(ax) if a.get_linewidth() > 1.5]
    assert len(state) == 3 * rows                      # forward (and backward) between 4 steps
    long = diagrams.unrolled_recurrence(43, step_label="layer", shown=6)
    assert "layer 42" in "\n".join(texts(long)) and "..." in texts(long)
    with pytest.raises(ValueError, match="n_steps"):
        diagrams.unrolled_recurrence(0)
    plt.close("all")


def test_a_pipeline_has_its_steps_in_order():
    ax = diagrams.pipeline_diagram(["hits", ("seeds", "DBSCAN"), "fit"], title="p")
    assert len(boxes(ax)) == 3 and len(arrows(ax)) == 2
    xs = {t.get_text().split("\n")[0]: t.get_position()[0] for t in ax.texts}
    assert xs["hits"] < xs["seeds"] < xs["fit"]
    with pytest.raises(ValueError, match="at least one"):
        diagrams.pipeline_diagram([])
    plt.close("all")
