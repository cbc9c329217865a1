"""Tests of hepdl.tracking.clusterer: the DS@HEP 2017 LSTM clusterer of lesson 1."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hepdl.tracking import baselines, clusterer, scores


def _event():
    """A hand-made event: two tracks of 9 hits (ids 0, 1) at phi ~ 0.1 and ~ 3.3, and one noise hit."""
    layer = np.r_[np.arange(9), np.arange(9), 4]
    phi = np.r_[np.full(9, 0.1), np.full(9, 3.3), 5.0]
    radius = 100.0 + 50.0 * layer
    cluster = np.r_[np.zeros(9), np.ones(9), -1].astype(np.int64)
    return {"event_id": np.full(19, 7), "layer": layer, "iphi": np.zeros(19),
            "x": radius * np.cos(phi), "y": radius * np.sin(phi), "cluster_id": cluster}


def test_import_does_not_pull_in_keras():
    code = "import sys, hepdl.tracking.clusterer; print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_phi_bin_edges_and_errors():
    phi = np.array([0.0, 0.1, np.pi / 2 + 1e-9, np.pi - 1e-9, np.pi + 1e-9, -0.1, -1e-12])
    got = clusterer.phi_bin(np.cos(phi), np.sin(phi), 4)
    assert got.dtype == np.int64 and got.tolist() == [0, 0, 1, 1, 2, 3, 3]
    assert clusterer.phi_bin(np.array([5.0]), np.array([-1e-300]), 10)[0] == 9
    assert clusterer.phi_bin(np.ones((2, 3)), np.ones((2, 3)), 8).shape == (2, 3)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="num_phi_bins"):
            clusterer.phi_bin(np.ones(1), np.ones(1), bad)


def test_seed_images_and_targets_on_a_hand_made_event():
    ev = _event()
    bins = clusterer.phi_bin(ev["x"], ev["y"], 20)
    inputs, seeds = clusterer.seed_images(ev["event_id"], ev["layer"], bins, 20)
    assert seeds.tolist() == [0, 9] and inputs.shape == (2, 9, 20) and inputs.dtype == np.float32
    # layer 0 holds only the seed; the other layers every hit of the event
    assert inputs[0, 0].sum() == 1 and inputs[0, 0, bins[0]] == 1 and inputs[1, 0, bins[9]] == 1
    np.testing.assert_array_equal(inputs[0, 1:], inputs[1, 1:])
    assert inputs[0, 4].sum() == 3  # two tracks and the noise hit on layer 4
    targets = clusterer.seed_targets(ev["event_id"], ev["layer"], bins, ev["cluster_id"], seeds, 20)
    assert targets.shape == (2, 9, 20)
    np.testing.assert_array_equal(targets.sum(axis=2), np.ones((2, 9)))  # one bin per layer
    assert targets[0, 5, bins[5]] == 1 and targets[1, 5, bins[14]] == 1
    assert targets[:, 4, bins[18]].sum() == 0  # noise is nobody's target
    # no seed: empty arrays of the right shape
    no = ev["layer"] > 0
    inp, sd = clusterer.seed_images(ev["event_id"][no], ev["layer"][no], bins[no], 20)
    assert inp.shape == (0, 9, 20) and sd.size == 0
    assert clusterer.seed_targets(ev["event_id"][no], ev["layer"][no], bins[no],
                                  ev["cluster_id"][no], sd, 20).shape == (0, 9, 20)


def test_bad_layer_and_bad_bins_raise():
    ev = _event()
    bins = clusterer.phi_bin(ev["x"], ev["y"], 20)
    layer = ev["layer"].copy()
    layer[3] = 9
    with pytest.raises(ValueError, match="layers must be 0"):
        clusterer.seed_images(ev["event_id"], layer, bins, 20)
    with pytest.raises(ValueError, match="bins must be"):
        clusterer.seed_images(ev["event_id"], ev["layer"], bins + 20, 20)
    X = clusterer.as_array(ev)
    X[0, 1] = -1
    with pytest.raises(ValueError, match="layers must be 0"):
        clusterer.Clusterer().fit(X, ev["cluster_id"])
    with pytest.raises(ValueError, match="columns"):
        clusterer.Clusterer().fit(X[:, :4], ev["cluster_id"])


def test_assign_hits():
    s = np.array([[0.1, 0.7, 0.05, 0.4], [0.8, 0.2, 0.01, 0.1], [0.1, 0.1, 0.02, 0.4]])
    assert clusterer.assign_hits(s, 0.1).tolist() == [1, 0, -1, 0]
    assert clusterer.assign_hits(np.zeros((0, 3))).tolist() == [-1, -1, -1]
    assert clusterer.assign_hits(np.zeros((2, 0))).shape == (0,)
    with pytest.raises(ValueError, match="2-D"):
        clusterer.assign_hits(np.ones(3))


def test_correct_hits_averages_to_the_ramp_score():
    rng = np.random.default_rng(4)
    event = np.repeat(np.arange(5), 30)
    true = rng.integers(0, 6, event.size)
    pred = np.where(rng.random(event.size) < 0.7, true, rng.integers(-1, 8, event.size))
    ok = clusterer.correct_hits(event, true, pred)
    np.testing.assert_allclose(np.bincount(event, ok).mean() / 30, scores.ramp_score(event, true, pred))
    assert clusterer.correct_hits([], [], []).shape == (0,)


def test_perfect_outputs_cluster_the_hand_made_event():
    ev = _event()
    X = clusterer.as_array(ev)
    model = clusterer.Clusterer(num_phi_bins=20)
    bins = clusterer.phi_bin(ev["x"], ev["y"], 20)
    inputs, seeds = model.images(X)
    targets = clusterer.seed_targets(ev["event_id"], ev["layer"], bins, ev["cluster_id"], seeds, 20)
    pred = model.from_outputs(X, targets, seeds)
    assert pred[:9].tolist() == [0] * 9 and pred[9:18].tolist() == [9] * 9 and pred[18] == -1
    with pytest.raises(RuntimeError, match="fit"):
        model.predict(X)


def test_from_outputs_takes_an_assignment_rule():
    ev = _event()
    X = clusterer.as_array(ev)
    model = clusterer.Clusterer(num_phi_bins=20)
    bins = clusterer.phi_bin(ev["x"], ev["y"], 20)
    inputs, seeds = model.images(X)
    targets = clusterer.seed_targets(ev["event_id"], ev["layer"], bins, ev["cluster_id"], seeds, 20)
    seen = []

    def last_seed(scores, layer):
        seen.append((scores.shape, layer.shape))
        return np.full(scores.shape[1], scores.shape[0] - 1)

    pred = model.from_outputs(X, targets, seeds, rule=last_seed)
    assert seen == [((2, 19), (19,))]
    assert np.all(pred == seeds[-1])
    np.testing.assert_array_equal(model.from_outputs(X, targets, seeds, rule=lambda s, l: clusterer.assign_hits(s)),
                                  model.from_outputs(X, targets, seeds))
    with pytest.raises(ValueError, match="one seed index in -1 ... 1"):
        model.from_outputs(X, targets, seeds, rule=lambda s, l: np.full(s.shape[1], 2))
    with pytest.raises(ValueError, match="shape"):
        model.from_outputs(X, targets, seeds, rule=lambda s, l: np.zeros(3))


def test_training_on_ci_data_beats_trivial_clusterings(root):
    import keras

    from hepdl import datasets

    datasets.build("tracking_ramp", "ci", root / "datasets")
    hits = datasets.load("tracking_ramp", "ci", root / "datasets")["hits"]
    events = np.unique(hits["event_id"])
    train = np.isin(hits["event_id"], events[:120])
    test = np.isin(hits["event_id"], events[-40:])
    X = clusterer.as_array(hits)
    keras.utils.set_random_seed(3)
    model = clusterer.Clusterer(num_phi_bins=100, batch_size=32, num_epoch=10, learning_rate=0.01,
                                train_seconds=60)
    model.fit(X[train], hits["cluster_id"][train])
    assert model.n_seeds > 500 and len(model.history.history["val_loss"]) >= 1
    pred = model.predict(X[test])
    event, truth = hits["event_id"][test], hits["cluster_id"][test]
    score = scores.ramp_score(event, truth, pred)
    test_hits = {k: v[test] for k, v in hits.items()}
    trivial = max(scores.ramp_score(event, truth, baselines.each_hit_alone(test_hits)),
                  scores.ramp_score(event, truth, baselines.one_cluster(test_hits)))
    assert score > trivial + 0.35, f"LSTM {score:.3f} vs best trivial clustering {trivial:.3f}"
    # an event without a layer-0 hit: every hit -1, no crash
    one = X[test][X[test][:, 0] == events[-1]]
    assert np.all(model.predict_single_event(one[one[:, 1] > 0]) == -1)
    assert model.predict(np.zeros((0, 5))).shape == (0,)
    with pytest.raises(ValueError, match="one event"):
        model.predict_single_event(X[test])
    with pytest.raises(ValueError, match="no layer-0 hit"):
        clusterer.Clusterer().fit(one[one[:, 1] > 0], np.zeros(int(np.sum(one[:, 1] > 0))))


def test_early_stopping_keeps_the_weights_of_the_lowest_validation_loss(root):
    """10 events, many epochs: the network overfits, training stops ``patience`` epochs after
    the validation minimum, and the model kept is the one of that minimum."""
    import keras

    from hepdl import datasets

    datasets.build("tracking_ramp", "ci", root / "datasets")
    hits = datasets.load("tracking_ramp", "ci", root / "datasets")["hits"]
    train = np.isin(hits["event_id"], np.unique(hits["event_id"])[:10])
    X, y = clusterer.as_array(hits)[train], hits["cluster_id"][train]
    keras.utils.set_random_seed(5)
    model = clusterer.Clusterer(num_phi_bins=50, hidden_dim=20, batch_size=16, num_epoch=200,
                                learning_rate=0.02, train_seconds=60, validation_split=0.2, patience=4)
    model.fit(X, y)
    val = model.history.history["val_loss"]
    assert len(val) < 200, "the validation loss of 10 events never stopped improving"
    assert model.best_epoch == int(np.argmin(val)) == len(val) - 1 - 4
    inputs, _, targets = model.training_set(X, y)
    held = slice(int(len(inputs) * 0.8), None)             # Keras validates on the last 20%
    kept = float(model.model.evaluate(inputs[held], targets[held], verbose=0))
    assert kept == pytest.approx(min(val), rel=1e-3), "the model kept is not the best epoch's"
    with pytest.raises(ValueError, match="validation_split"):
        clusterer.Clusterer(patience=3, validation_split=0.0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_only_the_bidirectional_model_looks_beyond_the_layer_it_answers_for(bidirectional):
    import keras

    keras.utils.set_random_seed(5)
    model = clusterer.build_model(8, clusterer.N_LAYERS, 12, bidirectional=bidirectional)
    assert model.output_shape == (None, clusterer.N_LAYERS, 12)
    assert any(isinstance(layer, keras.layers.Bidirectional) for layer in model.layers) == bidirectional
    image = np.random.default_rng(2).integers(0, 2, (1, clusterer.N_LAYERS, 12)).astype("float32")
    changed = image.copy()
    changed[0, 6:] = 1.0 - changed[0, 6:]  # flip every pixel of layers 6-8
    before, after = (keras.ops.convert_to_numpy(model(x)) for x in (image, changed))
    np.testing.assert_allclose(before.sum(axis=-1), 1.0, rtol=1e-5)  # a softmax per layer
    inner_change = np.abs(after[0, :6] - before[0, :6]).max()
    assert np.abs(after[0, 6:] - before[0, 6:]).max() > 1e-4
    if bidirectional:
        assert inner_change > 1e-4, "the inward LSTM carries the outer layers to the inner answers"
    else:
        assert inner_change == 0.0, "the outward LSTM cannot see beyond the layer it answers for"
