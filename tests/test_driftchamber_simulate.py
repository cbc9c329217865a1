"""Physics of the drift-chamber simulation: kinematic identities, the chamber, dE/dx, hits."""

import numpy as np
import pytest

from hepdl.driftchamber import dedx, geometry, kinematics
from hepdl.driftchamber import simulate as sim

M_PSI2S = kinematics.mass_gev(100443)
M_JPSI = kinematics.mass_gev(443)
M_PI = kinematics.mass_gev(211)


@pytest.fixture(scope="module")
def data():
    return sim.simulate_events(3000, rng=np.random.default_rng(11))


@pytest.fixture(scope="module")
def tracks(data):
    """Per-track truth: (n, 4) arrays of momentum, pT, cos theta, mass, and the event type."""
    p = data["particles"]
    n = data["events"]["type"].size
    mom = np.stack([p["px"], p["py"], p["pz"]], -1).astype(float).reshape(n, 4, 3)
    mass = np.select([np.abs(p["pdg"]) == 11, np.abs(p["pdg"]) == 13],
                     [kinematics.mass_gev(11), kinematics.mass_gev(13)], M_PI).reshape(n, 4)
    pmag = np.linalg.norm(mom, axis=-1)
    return {"p3": mom, "p": pmag, "pt": np.hypot(mom[..., 0], mom[..., 1]),
            "cos_theta": mom[..., 2] / pmag, "mass": mass,
            "energy": np.sqrt(pmag**2 + mass**2), "type": data["events"]["type"]}


# --- geometry -----------------------------------------------------------------------------------

def test_geometry_is_the_besiii_mdc():
    geo = geometry.load_geometry()
    expected = ([40, 44, 48, 56, 64, 72, 80, 80, 76, 76, 88, 88, 100, 100, 112, 112, 128, 128,
                 140, 140] + [160] * 4 + [176] * 4 + [208] * 4 + [240] * 4 + [256] * 4 + [288] * 3)
    assert geo.n_wires.tolist() == expected and geo.n_wires.sum() == geometry.N_WIRES == 6796
    assert np.flatnonzero(geo.is_stereo).tolist() == list(range(8)) + list(range(20, 36))
    assert abs(geo.radius_mm[0] - 78.9) < 0.1 and abs(geo.radius_mm[-1] - 763.4) < 0.1
    assert np.all(np.diff(geo.radius_mm) > 0) and np.all(np.diff(geo.half_length_mm) >= 0)


def test_nearest_wire_is_within_half_a_cell():
    geo = geometry.load_geometry()
    rng = np.random.default_rng(0)
    layer = rng.integers(0, 43, 5000)
    phi = rng.uniform(-np.pi, np.pi, 5000)
    z = rng.uniform(-1, 1, 5000) * geo.half_length_mm[layer]
    wire, dphi = geometry.nearest_wire(geo, layer, phi, z)
    assert np.all((wire >= 0) & (wire < geo.n_wires[layer]))
    assert np.all(np.abs(dphi) <= np.pi / geo.n_wires[layer] + 1e-12)


# --- kinematics ---------------------------------------------------------------------------------

def test_four_momentum_is_conserved_with_psi2s_at_rest(data, tracks):
    assert np.abs(tracks["p3"].sum(axis=1)).max() < 2e-6  # GeV, float32 storage
    np.testing.assert_allclose(tracks["energy"].sum(axis=1), M_PSI2S, atol=2e-5)


def test_dilepton_mass_is_the_jpsi_only_in_jpsi_events(tracks):
    p4 = np.concatenate([tracks["energy"][..., None], tracks["p3"]], -1)
    m_ll = kinematics.invariant_mass(p4[:, 2], p4[:, 3])
    jpsi = tracks["type"] < 2
    np.testing.assert_allclose(m_ll[jpsi], M_JPSI, atol=2e-4)
    # flat phase space: a broad spectrum, no peak
    continuum = m_ll[~jpsi]
    assert continuum.std() > 0.2 and np.mean(np.abs(continuum - M_JPSI) < 0.01) < 0.05
    m_pipi = kinematics.invariant_mass(p4[:, 0], p4[:, 1])[jpsi]
    assert m_pipi.min() > 2 * M_PI and m_pipi.max() < M_PSI2S - M_JPSI + 1e-4


def test_lepton_and_pion_momenta(tracks):
    jpsi = tracks["type"] < 2
    lepton = tracks["p"][jpsi][:, 2:]
    # kinematic limits: J/psi recoiling at most against m_pipi = 2 m_pi
    p_jpsi = kinematics.two_body_momentum(M_PSI2S, M_JPSI, 2 * M_PI)
    beta_gamma, gamma = p_jpsi / M_JPSI, np.hypot(1.0, p_jpsi / M_JPSI)
    q = kinematics.two_body_momentum(M_JPSI, 0.0, 0.0)
    assert lepton.min() > gamma * q - beta_gamma * q - 0.01
    assert lepton.max() < gamma * q + beta_gamma * q + 0.01
    assert np.mean((lepton > 1.43) & (lepton < 1.68)) > 0.85
    assert abs(np.median(lepton) - q) < 0.01
    pions = tracks["p"][jpsi][:, :2]
    assert pions.max() < 0.5 and 0.2 < np.median(pions) < 0.3


def test_jpsi_decay_follows_one_plus_cos2(tracks):
    jpsi = tracks["type"] < 2
    p4 = np.concatenate([tracks["energy"][..., None], tracks["p3"]], -1)[jpsi]
    parent = p4[:, 2] + p4[:, 3]
    rest = kinematics.boost(p4[:, 2], -parent[:, 1:] / parent[:, :1])
    cos2 = (rest[:, 3] / np.linalg.norm(rest[:, 1:], axis=1)) ** 2
    n = cos2.size  # <cos^2> is 2/5 for 1 + cos^2, 1/3 for an isotropic decay
    assert abs(cos2.mean() - 0.4) < 5 * 0.3 / np.sqrt(n)


def test_about_18_percent_of_pions_curl(data, tracks):
    jpsi = tracks["type"] < 2
    pt = tracks["pt"][jpsi][:, :2]
    fraction = np.mean(pt < 0.114)
    assert abs(fraction - 0.18) < 0.04
    # 2R = 2 pT / (0.3 B) falls short of the last layer (763.4 mm) exactly below 0.1145 GeV
    assert abs(2 * sim.curvature_radius_mm(0.1145, field_tesla=1.0) - 763.4) < 1.5


def test_curlers_stay_inside_and_recross_layers(data, tracks):
    hits = data["hits"]
    n = tracks["type"].size
    key = hits["event"].astype(np.int64) * 4 + hits["trk"]
    on_track = hits["trk"] >= 0
    per_layer = np.zeros((n * 4, 43), dtype=np.int64)
    np.add.at(per_layer, (key[on_track], hits["layer"][on_track]), 1)
    pt = tracks["pt"].reshape(-1)
    central = np.abs(tracks["cos_theta"].reshape(-1)) < 0.3
    curler = (2 * sim.curvature_radius_mm(pt, field_tesla=1.0) < 763.4) & central & (pt > 0.06)
    assert curler.sum() > 20
    assert np.all(per_layer[curler, 42] == 0)
    # the way back in crosses the same layers again
    assert np.mean(per_layer[curler].max(axis=1) >= 2) > 0.9
    stiff = (pt > 0.3) & central
    assert np.mean(per_layer[stiff, 42] == 1) > 0.97 and np.all(per_layer[stiff].max(axis=1) == 1)


def test_hits_lie_on_the_wires_of_the_helix(data, tracks):
    geo = geometry.load_geometry()
    hits = data["hits"]
    gid = geo.first_wire[hits["layer"]] + hits["wire"]
    assert np.all(hits["wire"] < geo.n_wires[hits["layer"]])
    np.testing.assert_allclose(hits["x"], geo.wire_x_mm[gid], atol=1e-3)
    np.testing.assert_allclose(hits["y"], geo.wire_y_mm[gid], atol=1e-3)
    assert np.array_equal(hits["stereo"], geo.is_stereo[hits["layer"]].astype(np.int8))
    # one hit per fired wire, sorted by event, layer, wire
    order_key = (hits["event"].astype(np.int64) * 10_000 + gid)
    assert np.all(np.diff(order_key) > 0)
    # axial hits of stiff tracks: the wire is the one nearest to phi0 - q asin(r / 2R)
    stiff = hits["trk"] >= 0
    t = hits["event"][stiff] * 4 + hits["trk"][stiff]
    pt = tracks["pt"].reshape(-1)[t]
    axial = (hits["stereo"][stiff] == 0) & (pt > 0.3)
    p3 = tracks["p3"].reshape(-1, 3)[t][axial]
    charge = np.array([1, -1, 1, -1])[hits["trk"][stiff][axial]]
    layer = hits["layer"][stiff][axial]
    r = geo.radius_mm[layer]
    phi_track = (np.arctan2(p3[:, 1], p3[:, 0])
                 - charge * np.arcsin(r / (2 * sim.curvature_radius_mm(pt[axial], field_tesla=1.0))))
    phi_wire = np.arctan2(hits["y"][stiff][axial], hits["x"][stiff][axial])
    cell = np.abs(np.angle(np.exp(1j * (phi_track - phi_wire)))) * geo.n_wires[layer] / (2 * np.pi)
    assert axial.sum() > 10_000 and cell.max() < 0.5 + 1e-3


def test_acceptance_follows_the_chamber_length(data, tracks):
    hits = data["hits"]
    on_track = hits["trk"] >= 0
    key = hits["event"][on_track].astype(np.int64) * 4 + hits["trk"][on_track]
    n_tracks = tracks["pt"].size
    layers_hit = np.zeros((n_tracks, 43), dtype=bool)
    layers_hit[key, hits["layer"][on_track]] = True
    n_layers = layers_hit.sum(axis=1)
    cos_t = np.abs(tracks["cos_theta"].reshape(-1))
    pt = tracks["pt"].reshape(-1)
    assert np.all(n_layers[cos_t > 0.985] == 0)  # beyond the innermost layer's end
    inside = (cos_t < 0.9) & (pt > 0.3)
    # inside |cos theta| < 0.93 a track crosses at least the 20 inner layers; it may lose a few
    # hits to a track that fired the same wire first (cells are 4.5 to 9 degrees wide inside)
    assert np.all(n_layers[inside] >= 20)
    barrel = n_layers[(cos_t < 0.8) & (pt > 0.3)]
    assert np.mean(barrel == 43) > 0.8 and np.mean(barrel >= 40) > 0.97


def test_noise_is_ten_percent_of_the_hits(data):
    noise = data["hits"]["trk"] < 0
    assert abs(noise.mean() - 0.10) < 0.01


def test_classes_are_balanced_and_particles_ordered(data):
    types = data["events"]["type"]
    assert np.bincount(types).tolist() == [1000, 1000, 1000]
    pdg = data["particles"]["pdg"].reshape(-1, 4)
    assert np.all(pdg[:, :2] == [211, -211])
    lepton = np.where(types == 0, 11, 13)
    assert np.array_equal(pdg[:, 2], -lepton) and np.array_equal(pdg[:, 3], lepton)
    assert sim.simulate_events(7, rng=np.random.default_rng(0))["events"]["type"].size == 7


# --- dE/dx and charge ---------------------------------------------------------------------------

@pytest.mark.parametrize("pdg, momentum_gev, expected", [
    (11, 1.55, 1.31), (13, 1.55, 1.09), (211, 0.10, 2.32), (211, 0.15, 1.53),
    (211, 0.20, 1.25), (211, 0.30, 1.07), (211, 0.50, 1.00),
])
def test_bethe_bloch_reproduces_the_quoted_relative_values(pdg, momentum_gev, expected):
    value = float(dedx.relative_dedx(momentum_gev, kinematics.mass_gev(pdg)))
    assert abs(value / expected - 1) < 0.02


def test_dedx_has_its_minimum_near_beta_gamma_4_and_a_fermi_plateau():
    beta_gamma = np.logspace(-0.5, 4, 400)
    rel = dedx.relative_dedx(beta_gamma * 0.1396, 0.1396)
    assert abs(rel.min() - 1) < 1e-3 and 3 < beta_gamma[np.argmin(rel)] < 5
    assert abs(rel[-1] - rel[-20]) < 0.01  # plateau at high beta gamma


def test_hit_charge_is_mean_dedx_times_a_lognormal(data, tracks):
    hits = data["hits"]
    config = sim.DriftChamberConfig()
    on_track = hits["trk"] >= 0
    t = hits["event"][on_track] * 4 + hits["trk"][on_track]
    expected = config.charge_mip_adc * dedx.relative_dedx(tracks["p"].reshape(-1)[t],
                                                          tracks["mass"].reshape(-1)[t])
    ratio = hits["rc"][on_track] / expected
    assert abs(ratio.mean() - 1) < 0.02  # a wire keeps its earliest pulse: no bias
    assert abs(np.log(ratio).std() - config.charge_log_sigma) < 0.02
    types = tracks["type"][hits["event"]]
    lepton = hits["trk"] >= 2
    e_over_mu = hits["rc"][lepton & (types == 0)].mean() / hits["rc"][lepton & (types == 1)].mean()
    assert abs(e_over_mu - 1.31 / 1.09) < 0.03


# --- determinism and errors ---------------------------------------------------------------------

def test_same_seed_same_bytes_other_seed_other_events():
    a = sim.simulate_events(30, rng=np.random.default_rng(5))
    b = sim.simulate_events(30, rng=np.random.default_rng(5))
    c = sim.simulate_events(30, rng=np.random.default_rng(6))
    for group in a:
        for key in a[group]:
            assert a[group][key].tobytes() == b[group][key].tobytes(), f"{group}/{key}"
    assert a["hits"]["x"].tobytes() != c["hits"]["x"].tobytes()


def test_bad_arguments_are_explained():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_events must be an integer of at least 1, got 0"):
        sim.simulate_events(0, rng=rng)
    with pytest.raises(ValueError, match="noise_fraction must be in"):
        sim.DriftChamberConfig(noise_fraction=1.0)
    with pytest.raises(ValueError, match="max_turns must be at least 1"):
        sim.DriftChamberConfig(max_turns=0)
    with pytest.raises(ValueError, match="beta_gamma must be positive"):
        dedx.restricted_dedx(np.array([1.0, 0.0]), mass_gev=0.1396)
    with pytest.raises(ValueError, match="n must be non-negative"):
        kinematics.phase_space_pipimumu(-1, rng=rng)
