"""Tests of hepdl.driftchamber.models: shapes, weight counts, symmetry, outputs, errors."""

import numpy as np
import pytest

import keras  # noqa: E402

from hepdl.driftchamber import models  # noqa: E402

SMALL = (8, 16, 1)


def _predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(7).random((3, 43, 128, 1)).astype("float32")


def test_room_init_does_not_import_models():
    import hepdl.driftchamber as room

    assert "models" not in room.__all__


def test_circular_pad_wraps_azimuth_and_zero_pads_layers():
    image = np.arange(1, 9, dtype="float32").reshape(1, 2, 4, 1)
    padded = keras.ops.convert_to_numpy(models.CircularPad(2)(image))[0, :, :, 0]
    assert padded.shape == (6, 8)
    np.testing.assert_array_equal(padded[:2], 0)
    np.testing.assert_array_equal(padded[-2:], 0)
    np.testing.assert_array_equal(padded[2], [3, 4, 1, 2, 3, 4, 1, 2])
    np.testing.assert_array_equal(padded[3], [7, 8, 5, 6, 7, 8, 5, 6])


def test_circular_pad_config_round_trip():
    layer = models.CircularPad(3, name="pad")
    again = models.CircularPad.from_config(layer.get_config())
    assert again.size == 3 and again.name == "pad"


@pytest.mark.parametrize("n_classes", [1, 3])
@pytest.mark.parametrize("builder", [models.build_dense, models.build_cnn, models.build_cnn_lstm])
def test_output_shape_and_activation(builder, n_classes, images):
    model = builder(n_classes=n_classes)
    assert model.input_shape == (None, 43, 128, 1)
    assert model.output_shape == (None, n_classes)
    assert not model.compiled, "builders return models that are not compiled"
    out = _predict(model, images)
    assert out.shape == (3, n_classes)
    assert np.all((out > 0) & (out < 1))
    if n_classes > 1:
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
        assert model.layers[-1].activation.__name__ == "softmax"
    else:
        assert model.layers[-1].activation.__name__ == "sigmoid"


def test_loss_for():
    assert models.loss_for(1) == "binary_crossentropy"
    assert models.loss_for(3) == "sparse_categorical_crossentropy"


def test_dense_weight_count():
    # (43 * 128 + 1) * 32 + (32 + 1) * 3
    assert models.build_dense(units=[32], n_classes=3).count_params() == 5505 * 32 + 33 * 3
    # no hidden layer: a linear model on the pixels, one sigmoid output
    assert models.build_dense(SMALL, units=[], n_classes=1).count_params() == 8 * 16 + 1


def test_cnn_weight_count_matches_lesson_two():
    # lesson driftchamber2 quotes 12,321 weights for widths [8, 16, 32] and 16 dense units
    assert models.build_cnn([8, 16, 32], 16, n_classes=1).count_params() == 12_321
    # the softmax head adds (16 + 1) weights per extra class
    assert models.build_cnn([8, 16, 32], 16, n_classes=3).count_params() == 12_321 + 2 * 17


def test_cnn_lstm_weight_count():
    w = [8, 16, 32]
    conv = (9 + 1) * 8 + (72 + 1) * 16 + (144 + 1) * 32
    features = 2 * 32
    lstm = 4 * 16 * (features + 16 + 1)
    expected = conv + 4 * features + lstm + (16 + 1) * 3
    assert models.build_cnn_lstm(w, 16, n_classes=3).count_params() == expected


def test_cnn_lstm_reads_every_layer_as_a_step():
    model = models.build_cnn_lstm([4, 8], 6, n_classes=3)
    lstm = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert len(lstm) == 1
    assert tuple(lstm[0].input.shape) == (None, 43, 16), "one step per chamber layer, 2 x 8 features"


@pytest.mark.parametrize("builder", [models.build_cnn, models.build_cnn_lstm])
def test_rotation_invariance_by_pooling_stride(builder, images):
    # three blocks, each halving the azimuth: rotations by multiples of 8 bins change nothing
    model = builder([4, 8, 8], 8, n_classes=3)
    out = _predict(model, images)
    for shift in (8, 16, -40):
        np.testing.assert_allclose(_predict(model, np.roll(images, shift, axis=2)), out, rtol=1e-4, atol=1e-6)


def test_dense_is_not_rotation_invariant(images):
    keras.utils.set_random_seed(1)
    model = models.build_dense(units=[16], n_classes=3)
    out = _predict(model, images)
    assert np.abs(_predict(model, np.roll(images, 8, axis=2)) - out).max() > 1e-4


def test_flip_only_in_training():
    keras.utils.set_random_seed(0)
    with_flip = models.build_cnn([4], 4, SMALL, n_classes=1)
    without = models.build_cnn([4], 4, SMALL, n_classes=1, flip=False)
    kinds = lambda m: [type(layer).__name__ for layer in m.layers]  # noqa: E731
    assert "RandomFlip" in kinds(with_flip) and "RandomFlip" not in kinds(without)
    assert with_flip.count_params() == without.count_params()


def test_binary_cnn_learns_a_toy_task():
    # class 1 has one bright row in the outer layers, class 0 in the inner ones, at random azimuth
    rng = np.random.default_rng(3)
    n = 256
    y = rng.integers(0, 2, n)
    x = np.zeros((n, 8, 16, 1), dtype="float32")
    rows = np.where(y == 1, 6, 1)
    cols = rng.integers(0, 16, n)
    x[np.arange(n), rows, cols, 0] = 1.0
    x[np.arange(n), rows, (cols + 1) % 16, 0] = 1.0
    keras.utils.set_random_seed(0)
    model = models.build_cnn([4], 4, SMALL, n_classes=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=models.loss_for(1), metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    accuracy = model.evaluate(x, y, verbose=0)[1]
    assert accuracy > 0.9


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_classes=0), "n_classes"),
    (dict(n_classes=2.5), "n_classes"),
    (dict(widths=[]), "widths"),
    (dict(widths=[4, 0]), "widths"),
    (dict(widths=[4] * 6, input_shape=(8, 16, 1)), "too small"),
])
def test_cnn_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build_cnn(**kwargs)


def test_other_errors():
    with pytest.raises(ValueError, match="size"):
        models.CircularPad(0)
    with pytest.raises(ValueError, match="units"):
        models.build_dense(units=[-3])
    with pytest.raises(ValueError, match="lstm_units"):
        models.build_cnn_lstm(lstm_units=0)
    with pytest.raises(ValueError, match="n_classes"):
        models.loss_for(0)
