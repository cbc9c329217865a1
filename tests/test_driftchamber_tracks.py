"""Per-track inputs, labels and targets of the drift-chamber events (hepdl.driftchamber.tracks)."""

import numpy as np
import pytest

from hepdl.driftchamber import simulate, tracks


@pytest.fixture(scope="module")
def data():
    out = simulate.simulate_events(200, rng=np.random.default_rng(7))
    seq = tracks.track_sequences(out["hits"], 200)
    return out, seq, tracks.track_targets(out["particles"], 200)


def test_shapes(data):
    _, seq, tgt = data
    assert seq.shape == (200, 4, 43, 4) and seq.dtype == np.float32
    assert tgt["species"].shape == (200, 4) and tgt["momentum"].shape == (200, 4, 3)
    x, angle = tracks.network_inputs(seq)
    assert x.shape == seq.shape and angle.shape == (200, 4)


def test_labels_match_particle_table(data):
    out, _, tgt = data
    p = out["particles"]
    order = np.argsort(p["event"].astype(np.int64) * 4 + p["trk"])
    pdg = p["pdg"][order].reshape(200, 4)
    assert np.all(pdg[:, 0] == 211) and np.all(pdg[:, 1] == -211)
    assert np.all(tgt["charge"] == [1, -1, 1, -1])          # pi+, pi-, l+, l-
    assert np.all(tgt["species"][:, :2] == 0)
    lepton = np.where(np.abs(pdg[:, 2]) == 11, 1, 2)
    assert np.all(tgt["species"][:, 2] == lepton) and np.all(tgt["species"][:, 3] == lepton)
    np.testing.assert_allclose(tgt["momentum"][..., 2], p["pz"][order].reshape(200, 4))


def test_every_hit_goes_to_its_track(data):
    out, seq, _ = data
    h = out["hits"]
    on = h["trk"] >= 0
    counted = np.zeros((200, 4), int)
    np.add.at(counted, (h["event"][on], h["trk"][on]), 1)
    layers = np.zeros((200, 4, 43), bool)
    layers[h["event"][on], h["trk"][on], h["layer"][on]] = True
    np.testing.assert_array_equal(seq[..., 3] > 0, layers)
    # the flags count the layers, never more than the hits; noise adds nothing
    assert np.all(seq[..., 3].sum(-1) <= counted)
    assert np.all(seq[..., 3].sum(-1)[counted == 0] == 0)


def test_momentum_sums_to_zero_per_event(data):
    """psi(2S) at rest: the four final-state momenta cancel (float32 rounding only)."""
    _, _, tgt = data
    assert np.abs(tgt["momentum"].sum(axis=1)).max() < 1e-5
    assert np.linalg.norm(tgt["momentum"], axis=-1).mean() > 0.3


def test_curvature_sign_matches_charge(data):
    """Tracks that cross 10+ layers: the bending gives the charge almost always."""
    _, seq, tgt = data
    long = seq[..., 3].sum(-1) >= 10
    agree = (tracks.curvature_sign(seq) == tgt["charge"])[long].mean()
    assert agree > 0.9, agree
    # the leptons (stiff, never curl) are all right
    lep = long[:, 2:]
    assert (tracks.curvature_sign(seq)[:, 2:] == tgt["charge"][:, 2:])[lep].mean() > 0.98


def test_rotation_puts_innermost_hit_on_x_axis(data):
    _, seq, _ = data
    x, angle = tracks.network_inputs(seq)
    has = seq[..., 3].sum(-1) > 0
    first = np.argmax(seq[..., 3] > 0, axis=-1)
    y_first = np.take_along_axis(x[..., 1], first[..., None], -1)[..., 0]
    assert np.abs(y_first[has]).max() < 1e-5
    back = tracks.rotate_xy(tracks.rotate_xy(seq[..., :2], -angle[..., None]), angle[..., None])
    np.testing.assert_allclose(back, seq[..., :2], atol=1e-3)


def test_errors():
    with pytest.raises(ValueError, match="trk"):
        tracks.track_sequences({"event": np.array([0]), "layer": np.array([0]),
                                "trk": np.array([4]), "x": np.zeros(1), "y": np.zeros(1),
                                "rc": np.zeros(1)})
    with pytest.raises(ValueError, match="exactly 4"):
        tracks.track_targets({"event": np.array([0]), "trk": np.array([0]), "pdg": np.array([211]),
                              "px": np.zeros(1), "py": np.zeros(1), "pz": np.zeros(1)})
