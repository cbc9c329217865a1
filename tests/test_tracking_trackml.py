"""Physics of the TrackML-like 3-D simulator and TrackML's hit weights."""

import numpy as np
import pytest
from particle import Particle

from hepdl.common import physics
from hepdl.tracking import trackml

CFG = trackml.TrackMLConfig()
RADII = np.asarray(CFG.layer_radii_mm)


@pytest.fixture(scope="module")
def events():
    return trackml.simulate_trackml_events(4, rng=np.random.default_rng(21))


def _layer_index(hits):
    return np.searchsorted(RADII, np.hypot(hits["x"], hits["y"]).astype(float) - 1e-3)


def _particle_row(data, event_id, particle_id):
    parts = data["particles"]
    return np.searchsorted(parts["event_id"], event_id) + particle_id - 1


def test_hits_lie_on_the_barrel_cylinders(events):
    hits, truth = events["hits"], events["truth"]
    layer = _layer_index(hits)
    np.testing.assert_allclose(np.hypot(hits["x"], hits["y"]), RADII[layer], rtol=1e-6)
    np.testing.assert_allclose(np.hypot(truth["tx"], truth["ty"]), RADII[layer], rtol=1e-6)
    assert np.all(np.abs(truth["tz"]) <= np.asarray(CFG.half_length_mm)[layer] + 1e-3)
    np.testing.assert_array_equal(hits["volume_id"], np.asarray(CFG.volume_ids)[layer])
    np.testing.assert_array_equal(hits["layer_id"], np.asarray(CFG.layer_ids)[layer])
    assert hits["module_id"].min() >= 1


def test_hit_ids_count_from_one_in_each_event_sorted_by_module(events):
    hits = events["hits"]
    for event_id in np.unique(hits["event_id"]):
        rows = hits["event_id"] == event_id
        np.testing.assert_array_equal(hits["hit_id"][rows], np.arange(1, rows.sum() + 1))
        key = (hits["volume_id"][rows].astype(int) * 100 + hits["layer_id"][rows]) * 10**6 \
            + hits["module_id"][rows]
        assert np.all(np.diff(key) >= 0)
    np.testing.assert_array_equal(events["truth"]["hit_id"], hits["hit_id"])


def test_measurement_smearing_matches_the_pitches(events):
    hits, truth = events["hits"], events["truth"]
    track = truth["particle_id"] > 0
    layer = _layer_index(hits)[track]
    dz = (hits["z"] - truth["tz"])[track]
    dphi = np.angle(np.exp(1j * (np.arctan2(hits["y"], hits["x"])
                                 - np.arctan2(truth["ty"], truth["tx"]))))[track]
    drphi = dphi * RADII[layer]
    for volume in (8, 13, 17):
        sel = np.asarray(CFG.volume_ids)[layer] == volume
        for residual, sigma in ((dz, CFG.resolution_z_mm), (drphi, CFG.resolution_rphi_mm)):
            expected = np.asarray(sigma)[layer][sel][0]
            n = sel.sum()
            # float32 storage adds ~3e-5 mm in quadrature
            assert abs(residual[sel].std() / np.hypot(expected, 3e-5) - 1) < 5 / np.sqrt(2 * n)


def test_scattering_keeps_the_momentum_magnitude(events):
    truth = events["truth"]
    track = truth["particle_id"] > 0
    row = _particle_row(events, truth["event_id"][track], truth["particle_id"][track])
    parts = events["particles"]
    p_vertex = np.sqrt(parts["px"] ** 2 + parts["py"] ** 2 + parts["pz"] ** 2)[row]
    p_hit = np.sqrt(truth["tpx"] ** 2 + truth["tpy"] ** 2 + truth["tpz"] ** 2)[track]
    np.testing.assert_allclose(p_hit, p_vertex, rtol=1e-5)
    # the direction does change: multiple scattering is on
    assert np.std(truth["tpz"][track] - parts["pz"][row]) > 1e-4


def test_without_material_the_hits_lie_on_the_helix():
    cfg = trackml.TrackMLConfig(thickness_x0=0.0, mean_particles=200.0, noise_fraction=0.0)
    data = trackml.simulate_trackml_events(2, rng=np.random.default_rng(5), config=cfg)
    truth, parts = data["truth"], data["particles"]
    row = _particle_row(data, truth["event_id"], truth["particle_id"])
    pt = np.hypot(parts["px"], parts["py"])[row].astype(float)
    rc = physics.curvature_radius_mm(pt, field_tesla=cfg.field_tesla)
    chord = np.hypot(truth["tx"] - parts["vx"][row], truth["ty"] - parts["vy"][row])
    arc = 2 * rc * np.arcsin(chord / (2 * rc))
    # z advances as pz / pT along the transverse arc; pT and pz stay as at the vertex
    np.testing.assert_allclose(truth["tz"] - parts["vz"][row], arc * parts["pz"][row] / pt,
                               atol=2e-3, rtol=1e-4)
    np.testing.assert_allclose(np.hypot(truth["tpx"], truth["tpy"]), pt, rtol=1e-5)
    np.testing.assert_allclose(truth["tpz"], parts["pz"][row], rtol=1e-5, atol=1e-6)
    # a positive particle turns clockwise: the momentum at the hit is rotated by -q * arc / rc
    turn = np.angle(np.exp(1j * (np.arctan2(truth["tpy"], truth["tpx"])
                                 - np.arctan2(parts["py"], parts["px"])[row])))
    np.testing.assert_allclose(turn, -parts["q"][row] * arc / rc, atol=1e-4)


def test_particles_nhits_noise_and_multiplicity(events):
    truth, parts = events["truth"], events["particles"]
    track = truth["particle_id"] > 0
    row = _particle_row(events, truth["event_id"][track], truth["particle_id"][track])
    np.testing.assert_array_equal(np.bincount(row, minlength=parts["nhits"].size), parts["nhits"])
    n = truth["particle_id"].size
    f = CFG.noise_fraction
    assert abs((~track).mean() - f) < 5 * np.sqrt(f * (1 - f) / n)
    per_event = np.bincount(parts["event_id"])
    assert abs(per_event.mean() - CFG.mean_particles) < 5 * np.sqrt(CFG.mean_particles / 4)
    # central particles cross all ten layers unless they stop, miss a hit or curl up
    pt = np.hypot(parts["px"], parts["py"])
    central = (np.abs(np.arcsinh(parts["pz"] / pt)) < 0.5) & (pt > 0.6)
    expected = np.sum((1 - CFG.inefficiency) * (1 - CFG.stop_probability) ** np.arange(10))
    assert abs(parts["nhits"][central].mean() - expected) < 0.1
    assert set(np.unique(parts["particle_type"])) <= set(CFG.species)
    for pdg in np.unique(parts["particle_type"]):
        charge = Particle.from_pdgid(int(pdg)).charge
        assert np.all(parts["q"][parts["particle_type"] == pdg] == charge)


def test_weights_follow_the_trackml_rule(events):
    truth, parts = events["truth"], events["particles"]
    sums = np.bincount(truth["event_id"], weights=truth["weight"])
    np.testing.assert_allclose(sums, 1.0, rtol=1e-5)
    noise = truth["particle_id"] == 0
    assert np.all(truth["weight"][noise] == 0)
    track = ~noise
    row = _particle_row(events, truth["event_id"][track], truth["particle_id"][track])
    short = parts["nhits"][row] < 4
    assert np.all(truth["weight"][track][short] == 0)
    assert np.all(truth["weight"][track][~short] > 0)
    # one 10-hit particle above 3 GeV: its weights follow the stretched proposal
    pt = np.hypot(parts["px"], parts["py"])
    pick = np.flatnonzero((parts["nhits"] == 10) & (pt > 3) & (parts["event_id"] == 0))[0]
    hits = (truth["event_id"] == 0) & (truth["particle_id"] == parts["particle_id"][pick])
    order = np.argsort(np.abs(truth["tz"][hits] - parts["vz"][pick]))
    w = truth["weight"][hits][order]
    np.testing.assert_allclose(w / w.sum(), trackml.order_weight_matrix()[10, :10], rtol=1e-5)
    assert w[0] == w.max()  # the first hit weighs most


def test_hit_weights_pt_dependence_and_errors():
    # two 5-hit particles in one event at 0.3 and 5 GeV: pT weights 0.2 and 1
    event = np.zeros(10, int)
    pid = np.repeat([1, 2], 5)
    tz = np.tile(np.arange(5.0), 2)
    w = trackml.hit_weights(event, pid, tz, np.zeros(10), np.repeat([0.3, 5.0], 5))
    np.testing.assert_allclose(w[5:] / w[:5], 5.0)
    # 1.75 GeV is halfway between 0.5 and 3 GeV: weight 0.6
    w = trackml.hit_weights(event, pid, tz, np.zeros(10), np.repeat([1.75, 5.0], 5))
    np.testing.assert_allclose(w[:5] / w[5:], 0.6)
    with pytest.raises(ValueError, match=r"tz must have one entry per hit \(10\)"):
        trackml.hit_weights(event, pid, tz[:3], np.zeros(10), np.ones(10))


def test_same_seed_same_bytes_other_seed_differs():
    cfg = trackml.TrackMLConfig(mean_particles=50.0)
    a = trackml.simulate_trackml_events(2, rng=np.random.default_rng(1), config=cfg)
    b = trackml.simulate_trackml_events(2, rng=np.random.default_rng(1), config=cfg)
    c = trackml.simulate_trackml_events(2, rng=np.random.default_rng(2), config=cfg)
    for table in a:
        for key in a[table]:
            assert a[table][key].tobytes() == b[table][key].tobytes()
    assert a["hits"]["x"].tobytes() != c["hits"]["x"].tobytes()


@pytest.mark.parametrize("changes, message", [
    ({"volume_ids": (8, 8)}, r"volume_ids needs one entry per layer \(10\), got 2"),
    ({"species": (22,), "species_fractions": (1.0,)}, "PDG id 22 has charge 0"),
    ({"species_fractions": (0.5,) * 10}, "species_fractions must give"),
    ({"noise_fraction": 1.5}, r"noise_fraction must be a probability in \[0, 1\)"),
])
def test_bad_configs_are_explained(changes, message):
    with pytest.raises(ValueError, match=message):
        trackml.TrackMLConfig(**changes)


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="n_events must be an integer of at least 1, got -1"):
        trackml.simulate_trackml_events(-1, rng=np.random.default_rng(0))
