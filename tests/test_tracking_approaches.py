"""Tests of hepdl.tracking.approaches: conformal map, Hough transform, seed-relative LSTM."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.tracking import approaches, baselines, ramp, scores


def _circle_through_origin(centre_x, centre_y, angles):
    radius = np.hypot(centre_x, centre_y)
    start = np.arctan2(-centre_y, -centre_x)  # the origin's angle seen from the centre
    return centre_x + radius * np.cos(start + angles), centre_y + radius * np.sin(start + angles)


@pytest.mark.parametrize("centre", [(700.0, 0.0), (-300.0, 450.0), (2e4, -5e3)])
def test_conformal_maps_circles_through_origin_to_lines(centre):
    a, b = centre
    x, y = _circle_through_origin(a, b, np.linspace(0.05, 2 * np.pi - 0.05, 50))
    u, v = approaches.conformal(x, y)
    # 2 a u + 2 b v = 1: a straight line at distance 1 / (2 R) from the origin
    np.testing.assert_allclose(2 * a * u + 2 * b * v, 1.0, rtol=1e-9)


def test_conformal_rejects_origin_and_shapes():
    with pytest.raises(ValueError, match="origin"):
        approaches.conformal(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="same shape"):
        approaches.conformal(np.zeros(2) + 1, np.ones(3))


def test_hough_kappa_is_the_track_curvature():
    """A simulated circle of known pT: every hit's kappa at the true phi0 is q / (2 R)."""
    pt_gev, field = 1.5, 2.0
    radius_mm = pt_gev / (0.3 * field) * 1000.0
    phi0 = 0.7
    # clockwise circle (positive charge in the RAMP field) leaving the origin along phi0
    turn = np.linspace(0.01, 0.4, 9)
    centre = radius_mm * np.array([np.sin(phi0), -np.cos(phi0)])
    x = centre[0] - radius_mm * np.sin(phi0 - turn)
    y = centre[1] + radius_mm * np.cos(phi0 - turn)
    u, v = approaches.conformal(x, y)
    kappa = approaches.hough_kappa(u, v, np.array([phi0]))[:, 0]
    np.testing.assert_allclose(kappa, 1.0 / (2.0 * radius_mm), rtol=1e-9)


def test_hough_accumulator_peaks_at_the_track():
    r = np.array([39.0, 85.0, 155.0, 213.0, 271.0, 405.0, 562.0, 762.0, 1000.0])
    phi = 1.2 - np.arcsin(r * 4e-4)  # kappa = +4e-4 /mm, phi0 = 1.2
    u, v = approaches.conformal(r * np.cos(phi), r * np.sin(phi))
    phi0_edges = np.linspace(-np.pi, np.pi, 721)
    kappa_edges = np.linspace(-1e-3, 1e-3, 41)
    votes = approaches.hough_accumulator(u, v, phi0_edges, kappa_edges)
    assert votes.shape == (720, 40)
    assert votes.sum() <= 9 * 720
    i_phi0, i_kappa = np.unravel_index(np.argmax(votes), votes.shape)
    assert votes.max() == 9
    assert abs(0.5 * (phi0_edges[i_phi0] + phi0_edges[i_phi0 + 1]) - 1.2) < 0.02
    assert kappa_edges[i_kappa] <= 4e-4 < kappa_edges[i_kappa + 1] + 1e-12


def test_hough_accumulator_rejects_bad_edges():
    with pytest.raises(ValueError, match="kappa_edges"):
        approaches.hough_accumulator([0.01], [0.0], [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        approaches.hough_accumulator([0.01], [0.0], [0.0, 1.0], [0.0, 1.0], weights=[1.0, 2.0])


def test_hough_finds_hand_made_tracks():
    """Five curved tracks of nine hits and a few noise hits: five clusters, the noise left out."""
    r = np.array([39.0, 85.0, 155.0, 213.0, 271.0, 405.0, 562.0, 762.0, 1000.0])
    phi0 = np.array([0.3, 1.5, 2.9, -2.0, -0.8])
    kappa = np.array([3e-4, -6e-4, 0.0, 8e-4, -2e-4])
    phi = phi0[:, None] - np.arcsin(r[None, :] * kappa[:, None])
    x, y = (r * np.cos(phi)).ravel(), (r * np.sin(phi)).ravel()
    true = np.repeat(np.arange(5), 9)
    layer = np.tile(np.arange(9), 5)
    noise_phi = np.array([0.9, 2.2, -1.4])
    x = np.r_[x, r[[2, 5, 8]] * np.cos(noise_phi)]
    y = np.r_[y, r[[2, 5, 8]] * np.sin(noise_phi)]
    true = np.r_[true, -1, -1, -1]
    layer = np.r_[layer, 2, 5, 8]
    hits = {"event_id": np.zeros(x.size, int), "layer": layer, "x": x, "y": y}
    pred = approaches.hough_clusterer(hits)
    for track in range(5):
        ids = pred[true == track]
        assert np.all(ids == ids[0]) and ids[0] >= 0, f"track {track} split: {ids}"
    assert np.unique(pred[true >= 0]).size == 5
    assert np.all(pred[true < 0] == -1)


def test_hough_clusterer_on_simulated_events_rivals_road_following():
    data = ramp.simulate_ramp_events(40, rng=np.random.default_rng(12))["hits"]
    truth = data["cluster_id"]
    hough = scores.ramp_score(data["event_id"], truth, approaches.hough_clusterer(data))
    road = scores.ramp_score(data["event_id"], truth, baselines.road_following(data))
    trivial = scores.ramp_score(data["event_id"], truth, baselines.each_hit_alone(data))
    assert 0.88 < hough < 1.0
    assert hough > road - 0.03
    assert hough > trivial + 0.6


def test_hough_clusterer_edge_cases():
    empty = {"event_id": np.zeros(0, int), "layer": np.zeros(0, int), "x": np.zeros(0),
             "y": np.zeros(0)}
    assert approaches.hough_clusterer(empty).shape == (0,)
    two = {"event_id": np.zeros(2, int), "layer": np.array([0, 1]), "x": np.array([39.0, 85.0]),
           "y": np.array([0.0, 0.0])}
    assert approaches.hough_clusterer(two).tolist() == [-1, -1]  # fewer hits than min_hits
    with pytest.raises(ValueError, match="equal lengths"):
        approaches.hough_clusterer({**two, "x": np.zeros(3)})
    with pytest.raises(ValueError, match="n_phi0"):
        approaches.hough_clusterer(two, n_phi0=0)


def test_relative_bins_wrap_and_window():
    got = approaches.relative_bins(np.array([3.1, -3.1, 0.0, 3.9]), 3.1, 0.8, 100)
    assert got.dtype == np.int64
    assert got.tolist()[:3] == [50, 55, -1]
    assert got[3] == 50 + int((3.9 - 3.1) / 1.6 * 100) or got[3] == -1
    with pytest.raises(ValueError, match="window_rad"):
        approaches.relative_bins(0.0, 0.0, 4.0, 10)
    with pytest.raises(ValueError, match="num_phi_bins"):
        approaches.relative_bins(0.0, 0.0, 1.0, 0)


def test_relative_images_put_the_seed_in_the_middle():
    data = ramp.simulate_ramp_events(5, rng=np.random.default_rng(3))["hits"]
    phi = np.arctan2(data["y"], data["x"])
    inputs, seeds, pair_seed, pair_hit, pair_bin, targets = approaches.relative_images(
        data["event_id"], data["layer"], phi, 0.8, 100, cluster=data["cluster_id"])
    assert inputs.shape == (seeds.size, 9, 100) and targets.shape == inputs.shape
    assert np.all(data["layer"][seeds] == 0)
    # layer 0: the seed alone, in the middle bin
    assert np.all(inputs[:, 0, 50] == 1) and np.all(inputs[:, 0].sum(axis=1) == 1)
    # the target is a subset of the input, with at most one hit per layer
    assert np.all(targets <= inputs)
    assert np.all(targets.sum(axis=2) <= 1)
    assert np.all(pair_hit < data["layer"].size) and pair_seed.size == pair_bin.size


def test_nearest_other_hit():
    d = approaches.nearest_other_hit([0, 0, 0, 1, 0], [2, 2, 2, 2, 3], [0.1, 0.3, 6.2, 1.0, 0.0])
    np.testing.assert_allclose(d[:3], [2 * np.pi - 6.1, 0.2, 2 * np.pi - 6.1], rtol=1e-9)
    assert np.isinf(d[3]) and np.isinf(d[4])


def test_relative_clusterer_beats_each_hit_alone():
    import keras

    from hepdl.tracking import clusterer

    data = ramp.simulate_ramp_events(120, rng=np.random.default_rng(21))["hits"]
    train = data["event_id"] < 100
    test = ~train
    X = clusterer.as_array(data)
    keras.utils.set_random_seed(5)
    model = approaches.RelativeClusterer(num_phi_bins=60, hidden_dim=24, batch_size=32,
                                         num_epoch=6, learning_rate=0.01, train_seconds=120)
    model.fit(X[train], data["cluster_id"][train])
    pred = model.predict(X[test])
    event, truth = data["event_id"][test], data["cluster_id"][test]
    score = scores.ramp_score(event, truth, pred)
    trivial = scores.ramp_score(event, truth, baselines.each_hit_alone({"event_id": event}))
    assert score > trivial + 0.4, f"relative LSTM {score:.3f} vs each hit alone {trivial:.3f}"
    # an event without a layer-0 hit: every hit unassigned, no crash
    no_seed = X[test][data["layer"][test] > 0]
    no_seed = no_seed[no_seed[:, 0] == no_seed[0, 0]]
    assert np.all(model.predict_single_event(no_seed) == -1)
    with pytest.raises(ValueError, match="window_rad"):
        approaches.RelativeClusterer(window_rad=0.0)

