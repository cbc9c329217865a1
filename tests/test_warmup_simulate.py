"""Physics of the pre-exercises' toy detectors: identities and statistical bands."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepdl.warmup import simulate as sim


@pytest.fixture(scope="module")
def events():
    return sim.simulate_barrel_events(3000, rng=np.random.default_rng(1))


def test_hits_lie_on_the_layers(events):
    hits = events["hits"]
    radii = np.asarray(sim.BarrelConfig().layer_radii_mm)
    r = np.hypot(hits["x"], hits["y"])
    np.testing.assert_allclose(r, radii[hits["layer"]], rtol=1e-5)


def test_track_hits_follow_the_helix(events):
    hits, parts = events["hits"], events["particles"]
    track = hits["particle"] >= 0
    # index of each hit's particle in the particles table
    offsets = np.searchsorted(parts["event"], hits["event"][track])
    p = offsets + hits["particle"][track]
    radii = np.hypot(hits["x"][track], hits["y"][track])
    phi_pred = sim.hit_phi(radii, parts["pt"][p], parts["charge"][p], parts["phi0"][p])
    dphi = np.angle(np.exp(1j * (np.arctan2(hits["y"][track], hits["x"][track]) - phi_pred)))
    residual_mm = dphi * radii
    # 0.1 mm smearing along the layer (float32 storage adds ~1e-5 relative)
    assert 0.08 < np.std(residual_mm) < 0.12


def test_multiplicity_efficiency_and_noise(events):
    cfg = sim.BarrelConfig()
    n_events = len(events["events"]["n_particles"])
    mean = events["events"]["n_particles"].mean()
    assert abs(mean - cfg.mean_particles) < 5 * np.sqrt(cfg.mean_particles / n_events)
    hits = events["hits"]
    track = hits["particle"] >= 0
    per_track = track.sum() / len(events["particles"]["pt"])
    # pT >= 0.5 GeV in 2 T curls only beyond 1.67 m: every layer is reached
    expected = len(cfg.layer_radii_mm) * (1 - cfg.inefficiency)
    assert abs(per_track - expected) < 0.02
    noise_per_event = (~track).sum() / n_events
    assert abs(noise_per_event - cfg.mean_noise_hits) < 5 * np.sqrt(cfg.mean_noise_hits / n_events)


def test_curvature_sign_follows_charge():
    # a positive track in +B turns clockwise: phi decreases with radius
    phi = sim.hit_phi(np.array([50.0, 250.0]), 1.0, +1, 0.0)
    assert phi[1] < phi[0] < 0
    assert np.all(sim.hit_phi(np.array([50.0, 250.0]), 1.0, -1, 0.0) > 0)


def test_energy_deposits_are_lognormal_around_the_mpv(events):
    energy = events["hits"]["energy"]
    cfg = sim.BarrelConfig()
    # the mode of the log-normal sits at the configured MPV
    log_e = np.log(energy)
    assert abs(np.median(log_e) - (np.log(cfg.energy_mpv_kev) + cfg.energy_sigma**2)) < 0.02
    assert abs(np.std(log_e) - cfg.energy_sigma) < 0.01


def test_showers_separate_with_both_features_better_than_one():
    data = sim.simulate_showers(20000, rng=np.random.default_rng(2))
    f, y = data["features"], data["label"]
    assert abs(y.mean() - 0.5) < 0.02
    electrons = y == 1
    assert abs(np.median(f["e_over_p"][electrons]) - 1.0) < 0.01
    assert np.median(f["e_over_p"][~electrons]) < 0.8
    auc_eop = roc_auc_score(y, -np.abs(f["e_over_p"] - 1))
    auc_width = roc_auc_score(y, -f["width_mm"])
    assert 0.85 < auc_eop < 0.97 and 0.75 < auc_width < 0.95
    # a product of one-dimensional likelihood-ish scores already beats each feature alone
    combined = -np.abs(f["e_over_p"] - 1) / 0.1 - np.log(f["width_mm"])
    assert roc_auc_score(y, combined) > max(auc_eop, auc_width) + 0.01


def test_bad_sizes_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_events must be an integer of at least 1, got 0"):
        sim.simulate_barrel_events(0, rng=rng)
    with pytest.raises(ValueError, match="n_showers must be an integer of at least 1"):
        sim.simulate_showers(-3, rng=rng)
