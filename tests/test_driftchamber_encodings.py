"""Event images, the per-event CSV, and the lesson's ladder of AUCs from simple features."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from hepdl import datasets
from hepdl.common.io import DataFileError, read_h5, write_h5
from hepdl.driftchamber import encodings as enc
from hepdl.driftchamber import events_csv, features
from hepdl.driftchamber import simulate as sim


@pytest.fixture(scope="module")
def small():
    return sim.simulate_events(60, rng=np.random.default_rng(3))


@pytest.fixture(scope="module")
def student():
    """The student size (3,000 events): enough for AUCs to +-0.02."""
    return sim.simulate_events(datasets.REGISTRY["driftchamber_events"].sizes["student"],
                               rng=np.random.default_rng(21))


# --- images -------------------------------------------------------------------------------------

def test_the_four_encodings_paint_the_same_pixels(small):
    hits, n = small["hits"], small["events"]["type"].size
    images = {name: enc.encode(hits, encoding=name, n_events=n) for name in enc.ENCODINGS}
    for name, image in images.items():
        assert image.shape == (n, 43, enc.DEFAULT_NUM_PHI_BINS) and image.dtype == np.float32, name
        assert np.array_equal(image > 0, images["binary"] > 0), name
    assert set(np.unique(images["binary"])) == {0.0, 1.0}
    f = features.event_features(hits, n)
    hit = images["binary"] > 0
    for e in range(n):
        np.testing.assert_allclose(images["total"][e][hit[e]], f["total_charge"][e], rtol=1e-6)
        np.testing.assert_allclose(images["average"][e][hit[e]], f["mean_charge"][e], rtol=1e-6)
    # per_hit keeps every hit's charge: the image sums to the event's total
    np.testing.assert_allclose(images["per_hit"].sum(axis=(1, 2)), f["total_charge"], rtol=1e-5)
    # rows are layers: every hit lands in its own layer's row
    rows = hit.any(axis=2).sum(axis=0)
    assert np.array_equal(rows > 0, np.bincount(hits["layer"], minlength=43) > 0)


def test_events_without_hits_give_empty_images(small):
    hits = small["hits"]
    keep = hits["event"] != 1
    images = enc.encode({k: v[keep] for k, v in hits.items()}, encoding="per_hit", n_events=62)
    assert images.shape[0] == 62 and images[[1, 60, 61]].sum() == 0 and images[0].sum() > 0
    empty = {k: v[:0] for k, v in hits.items()}
    for name in enc.ENCODINGS:
        assert not enc.encode(empty, encoding=name, n_events=3).any()


def test_normalisation_is_fitted_on_training_images_and_applied_to_others(small):
    hits, n = small["hits"], small["events"]["type"].size
    train = enc.encode({k: v[hits["event"] < 40] for k, v in hits.items()}, encoding="total",
                       n_events=40)
    valid = enc.encode(hits, encoding="total", n_events=n)[40:]
    scale = enc.fit_normalisation(train)
    assert enc.normalise(train, scale).max() == 1.0
    np.testing.assert_allclose(enc.normalise(valid, scale), valid / scale, rtol=1e-6)
    assert enc.fit_normalisation(enc.encode(hits, encoding="binary", n_events=n)) == 1.0
    with pytest.raises(ValueError, match="training images have no positive pixel"):
        enc.fit_normalisation(np.zeros((2, 43, 8)))
    with pytest.raises(ValueError, match="scale must be a positive finite number, got 0.0"):
        enc.normalise(train, 0.0)


def test_bad_encoding_arguments_are_explained(small):
    hits = small["hits"]
    with pytest.raises(ValueError, match=r"encoding must be one of \('binary', 'total'"):
        enc.encode(hits, encoding="energy")
    with pytest.raises(ValueError, match="num_phi_bins must be an integer of at least 1, got 0"):
        enc.encode(hits, encoding="binary", num_phi_bins=0)
    with pytest.raises(ValueError, match=r"hits\['event'\] must lie in \[0, n_events=2\)"):
        enc.encode(hits, encoding="binary", n_events=2)


def test_images_from_the_built_file_and_its_errors(tmp_path):
    path, _ = datasets.build("driftchamber_events", "ci", tmp_path)
    data = datasets.load("driftchamber_events", "ci", tmp_path)
    assert sorted(data) == ["events", "hits", "particles"]
    assert sorted(data["hits"]) == sorted(["event", "layer", "wire", "stereo", "x", "y", "rt",
                                           "rc", "trk"])
    assert sorted(data["particles"]) == sorted(["event", "trk", "pdg", "px", "py", "pz"])
    images, types = enc.encode_file(path, encoding="average")
    assert images.shape == (300, 43, enc.DEFAULT_NUM_PHI_BINS) and np.bincount(types).tolist() == [100] * 3
    np.testing.assert_array_equal(images, enc.encode(data["hits"], encoding="average",
                                                     n_events=300))
    rebuild = datasets.rebuild_command("driftchamber_events", "ci")
    with pytest.raises(DataFileError, match="python -m hepdl.datasets build --size ci"):
        enc.encode_file(tmp_path / "missing.h5", encoding="binary", rebuild=rebuild)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataFileError, match="not a readable HDF5 file"):
        enc.encode_file(broken, encoding="binary")
    partial = write_h5(tmp_path / "partial.h5", {"hits": read_h5(path, ["hits"])["hits"]})
    with pytest.raises(DataFileError, match="has no dataset or group 'events'"):
        enc.encode_file(partial, encoding="binary")


# --- the per-event CSV --------------------------------------------------------------------------

def test_event_csv_round_trip(small, tmp_path):
    hits = small["hits"]
    path = events_csv.write_event_csv(tmp_path / "event_5.csv", hits, 5)
    assert path.read_text().splitlines()[0] == "ID,Layer,Wire,Stereo,X,Y,RT,RC,TRK"
    back = events_csv.read_event_csv(path)
    mine = hits["event"] == 5
    assert np.array_equal(back["id"], np.arange(mine.sum()))
    for key in ("layer", "wire", "stereo", "x", "y", "rt", "rc", "trk"):
        assert back[key].dtype == hits[key].dtype, key
        assert np.array_equal(back[key], hits[key][mine]), key
    for name in enc.ENCODINGS:
        np.testing.assert_array_equal(enc.encode(back, encoding=name),
                                      enc.encode(hits, encoding=name, n_events=60)[5:6])
    empty = events_csv.read_event_csv(events_csv.write_event_csv(tmp_path / "e.csv", hits, 999))
    assert empty["x"].size == 0 and not enc.encode(empty, encoding="per_hit").any()


def test_event_csv_errors_are_clear(tmp_path):
    with pytest.raises(DataFileError, match="does not exist. Write it with"):
        events_csv.read_event_csv(tmp_path / "nope.csv")
    bad_header = tmp_path / "header.csv"
    bad_header.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataFileError, match="does not start with the header ID,Layer,Wire"):
        events_csv.read_event_csv(bad_header)
    bad_row = tmp_path / "row.csv"
    bad_row.write_text("ID,Layer,Wire,Stereo,X,Y,RT,RC,TRK\n0,1,2,0,1.5,oops,3,4,0\n")
    with pytest.raises(DataFileError, match="malformed row"):
        events_csv.read_event_csv(bad_row)
    with pytest.raises(KeyError, match=r"hits lacks \['rc'\]"):
        events_csv.write_event_csv(tmp_path / "x.csv", {k: np.zeros(1) for k in
                                   ("event", "layer", "wire", "stereo", "x", "y", "rt", "trk")}, 0)


# --- the lesson's physics: what each encoding can know -----------------------------------------

def _auc(labels, score):
    return float(roc_auc_score(labels, score))


def _fitted_auc(x, labels):
    """AUC of a logistic regression trained on one half and tested on the other."""
    idx = np.random.default_rng(0).permutation(labels.size)
    train, test = idx[: labels.size // 2], idx[labels.size // 2:]
    model = LogisticRegression(max_iter=2000).fit(x[train], labels[train])
    return float(roc_auc_score(labels[test], model.predict_proba(x[test])[:, 1]))


def test_auc_ladder_ee_vs_mumu(student):
    hits, types = student["hits"], student["events"]["type"]
    n = types.size
    binary = enc.encode(hits, encoding="binary", n_events=n)
    total = enc.encode(hits, encoding="total", n_events=n).max(axis=(1, 2))
    average = enc.encode(hits, encoding="average", n_events=n).max(axis=(1, 2))
    n_pixels = binary.sum(axis=(1, 2))
    tracks = features.track_features(hits, n)
    # per-track charge: the mean charge of the two stiffest tracks (the leptons)
    stiffest = np.argsort(-np.nan_to_num(tracks["pt_fit_gev"]), axis=1)[:, :2]
    n_hits = np.take_along_axis(tracks["n_hits"], stiffest, 1)
    charge = np.take_along_axis(np.nan_to_num(tracks["mean_charge"]), stiffest, 1)
    per_track = (n_hits * charge).sum(1) / np.maximum(n_hits.sum(1), 1)

    jpsi = types < 2
    electrons = types[jpsi] == 0
    auc_binary = _auc(electrons, n_pixels[jpsi])
    auc_total = _auc(electrons, total[jpsi])
    auc_average = _auc(electrons, average[jpsi])
    auc_per_track = _auc(electrons, per_track[jpsi])
    assert abs(auc_binary - 0.5) < 0.06, "binary images know only the (equal) momenta"
    assert 0.58 < auc_total < 0.80 and 0.75 < auc_average < 0.93 and auc_per_track > 0.90
    assert auc_binary < auc_total < auc_average < auc_per_track
    # a total image also shows how many hits there are: with the count it is as good as average
    both = np.log(np.c_[total, n_pixels])[jpsi]
    assert _fitted_auc(both, electrons) > auc_total + 0.05


def test_jpsi_events_are_easy_to_tell_from_pipimumu(student):
    hits, types = student["hits"], student["events"]["type"]
    n = types.size
    tracks = features.track_features(hits, n)
    pt = np.sort(np.nan_to_num(tracks["pt_fit_gev"]), axis=1)
    x = np.c_[pt, np.sort(tracks["n_hits"], axis=1)]
    assert _fitted_auc(x, types < 2) > 0.93
    # the fitted pT measures the true pT
    p = student["particles"]
    true_pt = np.hypot(p["px"], p["py"]).reshape(n, 4)
    fitted = tracks["pt_fit_gev"]
    good = np.isfinite(fitted) & (tracks["n_hits"] >= 30)
    assert abs(np.median(fitted[good] / true_pt[good]) - 1) < 0.05


def test_event_and_track_features_reject_bad_tables():
    hits = {"event": np.array([0, 5]), "trk": np.array([0, 7]), "stereo": np.zeros(2),
            "x": np.ones(2), "y": np.ones(2), "rc": np.ones(2)}
    with pytest.raises(ValueError, match=r"hits\['event'\] must lie in \[0, n_events=3\)"):
        features.event_features(hits, 3)
    with pytest.raises(ValueError, match=r"hits\['trk'\] must be -1 \(noise\) or 0..3, got 7"):
        features.track_features(hits, 6)
