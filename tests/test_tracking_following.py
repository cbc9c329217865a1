"""Tests of hepdl.tracking.following: seeds, predictors, nearest-hit following, scoring.

The bands are computed in the same run from the ci data set (the perfect predictor's ceiling,
the trivial baselines); nothing here is timed (speed: benchmarks/tracking_following.py).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hepdl import datasets
from hepdl.common.io import DataFileError
from hepdl.tracking import following


@pytest.fixture(scope="module")
def ci_events(ci_data):
    data = datasets.load("tracking_trackml", "ci", ci_data)
    return [following.load_event(data, i) for i in range(5)]


@pytest.fixture(scope="module")
def event(ci_events):
    return ci_events[-1]


def _reconstructable_weight(event, n_seed_hits=following.N_SEED_HITS):
    pids, tracks = following.true_tracks(event)
    ok = pids[(tracks >= 0).sum(axis=1) >= n_seed_hits]
    return event["weight"][np.isin(event["particle_id"], ok)].sum() / event["weight"].sum()


def test_importing_the_module_does_not_import_keras():
    code = ("import sys, hepdl.tracking.following; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_prepare_event_names_missing_columns_and_empty_events():
    hits = {"hit_id": [1, 2], "x": [32.0, 0.0], "y": [0.0, 72.0], "z": [1.0, 2.0],
            "volume_id": [8, 8], "layer_id": [2, 4]}
    event = following.prepare_event({"hits": hits})
    assert event["layer"].tolist() == [0, 1]
    np.testing.assert_allclose(event["r"], [32.0, 72.0])
    with pytest.raises(ValueError, match="lacks the column.*layer_id"):
        following.prepare_event({"hits": {k: v for k, v in hits.items() if k != "layer_id"}})
    with pytest.raises(ValueError, match="no hits"):
        following.prepare_event({"hits": {k: [] for k in hits}})
    with pytest.raises(ValueError, match="truth table lacks the column.*weight"):
        following.prepare_event({"hits": hits, "truth": {"hit_id": [1, 2], "particle_id": [1, 1]}})
    with pytest.raises(ValueError, match="'hits' table"):
        following.prepare_event({"truth": {}})
    with pytest.raises(ValueError, match="differ"):
        following.prepare_event({"hits": hits, "truth": {"hit_id": [1, 3], "particle_id": [1, 1],
                                                 "weight": [0.5, 0.5]}})


def test_truth_is_aligned_to_hits_whatever_the_order():
    hits = {"hit_id": [5, 7], "x": [32.0, 72.0], "y": [0.0, 0.0], "z": [1.0, 2.0],
            "volume_id": [8, 8], "layer_id": [2, 4]}
    truth = {"hit_id": [7, 5], "particle_id": [3, 4], "weight": [0.25, 0.75]}
    event = following.prepare_event({"hits": hits, "truth": truth})
    assert event["particle_id"].tolist() == [4, 3]
    np.testing.assert_allclose(event["weight"], [0.75, 0.25])


def test_a_missing_csv_file_quotes_the_build_command(tmp_path):
    events = tmp_path / "datasets" / "tracking_trackml" / "ci" / "events"
    with pytest.raises(DataFileError, match="python -m hepdl.datasets build --size ci --force "
                                            "tracking_trackml"):
        following.load_event(events, 0)


def test_an_event_beyond_the_data_set_is_a_clear_error(ci_data):
    data = datasets.load("tracking_trackml", "ci", ci_data)
    with pytest.raises(ValueError, match="no hits"):
        following.load_event(data, 99)


def test_csv_and_hdf5_copies_give_the_same_event(ci_data, ci_events):
    events = datasets.path("tracking_trackml", "ci", ci_data).parent / "events"
    from_csv = following.load_event(events, 4)
    for key in ("hit_id", "layer", "particle_id"):
        np.testing.assert_array_equal(from_csv[key], ci_events[4][key])
    np.testing.assert_allclose(from_csv["z"], ci_events[4]["z"], rtol=1e-6)


def test_hit_features_are_phi_r_z_zr():
    event = {"x": np.array([-10.0, 0.0]), "y": np.array([0.0, -20.0]), "z": np.array([5.0, -40])}
    f = following.hit_features(event, np.array([[1, 0, -1]]))
    assert f.shape == (1, 3, 4)
    np.testing.assert_allclose(f[0, :2], [[-np.pi / 2, 20.0, -40.0, -2.0], [np.pi, 10.0, 5.0, 0.5]])
    assert np.isnan(f[0, 2]).all()


def test_true_tracks_are_ordered_outward(event):
    pids, tracks = following.true_tracks(event)
    assert pids.size == np.unique(event["particle_id"][event["particle_id"] > 0]).size
    layers = np.where(tracks >= 0, event["layer"][np.maximum(tracks, 0)], 99)
    assert np.all((np.diff(layers, axis=1) > 0) | (tracks[:, 1:] < 0)), "one hit per layer, outward"
    assert np.all((tracks[:, 1:] < 0) | (tracks[:, :-1] >= 0)), "padding last"
    same = event["particle_id"][np.maximum(tracks, 0)] == pids[:, None]
    assert np.all(same | (tracks < 0))


def test_perfect_predictor_reaches_the_reconstructable_ceiling(event):
    """True seeds followed with the true next hit: every reconstructable particle found."""
    seeds = following.true_seeds(event)
    tracks = following.follow(event, seeds, following.truth_predictor(event))
    ceiling = _reconstructable_weight(event)
    assert 0.8 < ceiling < 1.0
    assert abs(following.score(event, tracks) - ceiling) < 0.01
    assert following.score(event, seeds) < ceiling - 0.2  # the seeds alone are far from it


def test_physics_extrapolation_beats_trivial_and_random_predictors(event):
    seeds = following.true_seeds(event)
    rng = np.random.default_rng(0)

    def random_predictor(ev, tracks, length):
        last = tracks[np.arange(tracks.shape[0]), length - 1]
        nxt = np.minimum(ev["layer"][last] + 1, following.N_LAYERS - 1)
        return np.stack([rng.uniform(-np.pi, np.pi, last.size), following.LAYER_RADII_MM[nxt],
                         rng.uniform(-1, 1, last.size) * following.HALF_LENGTH_MM[nxt]], axis=1)

    linear = following.score(event, following.follow(event, seeds, following.linear_predictor))
    stay = following.score(event, following.follow(event, seeds, following.stay_predictor))
    rand = following.score(event, following.follow(event, seeds, random_predictor))
    ceiling = _reconstructable_weight(event)
    assert linear > ceiling - 0.12, (linear, ceiling)
    assert linear > stay + 0.2 and linear > rand + 0.3, (linear, stay, rand)


def test_doublet_dbscan_seeds_are_pure_and_beat_per_hit_dbscan(event):
    seeds = following.dbscan_seeds(event)
    assert seeds.ndim == 2 and seeds.shape[1] == following.N_SEED_HITS and seeds.dtype == np.int64
    assert np.unique(seeds).size == seeds.size, "seeds must not share hits"
    quality = following.seed_quality(event, seeds)
    truth = following.seed_quality(event, following.true_seeds(event))
    assert truth["purity"] == truth["efficiency"] == 1.0
    assert quality["purity"] > 0.9 and 0.4 < quality["efficiency"] < 1.0, quality
    per_hit = following.seed_quality(event, following.dbscan_seeds(event, features="hits"))
    assert per_hit["efficiency"] < quality["efficiency"] - 0.3, (per_hit, quality)
    followed = following.score(event, following.follow(event, seeds, following.linear_predictor))
    assert following.score(event, seeds) < followed < following.score(event, following.follow(
        event, following.true_seeds(event), following.linear_predictor))
    with pytest.raises(ValueError, match="features"):
        following.dbscan_seeds(event, features="pixels")


def test_nearest_free_hits_resolves_conflicts_by_distance():
    hits = np.array([[0.0, 0, 0], [10.0, 0, 0], [100.0, 0, 0]])
    points = np.array([[1.0, 0, 0], [0.5, 0, 0], [200.0, 0, 0]])
    free = np.ones(3, dtype=bool)
    got = following.nearest_free_hits(points, hits, free, max_distance_mm=20.0)
    # point 1 is nearer hit 0 and wins it; point 0 falls back to hit 1; point 2 is out of reach
    assert got.tolist() == [1, 0, -1]
    assert free.tolist() == [False, False, True]
    free = np.array([False, True, True])
    assert following.nearest_free_hits(points[:1], hits, free, max_distance_mm=20.0).tolist() == [1]


def test_submission_gives_every_hit_one_track(event):
    seeds = following.true_seeds(event)[:10]
    sub = following.submission(event, seeds)
    np.testing.assert_array_equal(sub["hit_id"], event["hit_id"])
    assert np.unique(sub["track_id"]).size == event["hit_id"].size - seeds.size + 10
    with pytest.raises(ValueError, match="two tracks"):
        following.submission(event, np.array([[0, 1], [1, 2]]))


def test_lstm_learns_to_extrapolate_and_batching_does_not_change_tracks(ci_events):
    """A short training beats 'stay at the last hit' by far; batch size is only a speed knob."""
    import keras

    keras.utils.set_random_seed(0)
    X, Y = following.training_set(ci_events[:2])
    Xt, Yt = following.training_set(ci_events[4])
    assert X.shape[1:] == (following.N_SEED_HITS, 4) and Y.shape[1:] == (3,)
    model = following.build_extrapolator(units=32, learning_rate=0.005)
    model.fit(X, Y, epochs=3, batch_size=128, verbose=0)
    mse = float(np.mean((model.predict(Xt, batch_size=1024, verbose=0) - Yt) ** 2))
    stay = float(np.mean(Yt ** 2))  # the trivial prediction: a step of zero
    assert mse < 0.2 * stay, (mse, stay)
    event = ci_events[4]
    seeds = following.true_seeds(event)[:200]
    big = following.follow(event, seeds, following.lstm_predictor(model, batch_size=1024))
    small = following.follow(event, seeds, following.lstm_predictor(model, batch_size=37))
    assert (big >= 0).sum() > seeds.size * 1.3, "the LSTM extends the seeds"
    # float32 batch arithmetic may flip a near tie; nearly every hit must agree
    assert np.mean(big == small) > 0.99
    t = following.timing(event, model, batch_sizes=(16, 1024), seeds=seeds, max_calls=3)
    assert set(t) == {"seeding_per_event", "seeding", "inference", "fitting", "n_tracks"}
    assert t["n_tracks"] == 200 and all(v > 0 for v in t["inference"].values())
