"""Physics of the RAMP 2-D tracker simulator: identities and statistical bands."""

import numpy as np
import pytest

from hepdl.common import physics
from hepdl.tracking import ramp

CFG = ramp.RampConfig()
RADII = np.asarray(CFG.layer_radii_mm)


@pytest.fixture(scope="module")
def events():
    return ramp.simulate_ramp_events(2000, rng=np.random.default_rng(11))


def _hits_per_particle(data):
    hits, parts = data["hits"], data["particles"]
    track = hits["cluster_id"] >= 0
    key = parts["event_id"].astype(np.int64) * 1000 + parts["cluster_id"]
    counts = np.bincount(hits["event_id"][track].astype(np.int64) * 1000
                         + hits["cluster_id"][track], minlength=key.max() + 1)
    return counts[key]


def test_hits_sit_at_the_centre_of_their_cell(events):
    hits = events["hits"]
    r = np.hypot(hits["x"], hits["y"])
    np.testing.assert_allclose(r, RADII[hits["layer"]], rtol=1e-6)
    n_cells = ramp.n_phi_cells(CFG)[hits["layer"]]
    phi = np.mod(np.arctan2(hits["y"], hits["x"]).astype(float), 2 * np.pi)
    np.testing.assert_array_equal(np.floor(phi / (2 * np.pi) * n_cells).astype(int), hits["iphi"])
    # N_phi = int(2 pi R / pitch) + 1: the cell size is the pitch
    np.testing.assert_allclose(2 * np.pi * RADII / ramp.n_phi_cells(CFG), CFG.phi_pitch_mm,
                               rtol=2e-4)


def test_one_hit_per_cell_and_events_in_order(events):
    hits = events["hits"]
    cells = np.stack([hits["event_id"], hits["layer"], hits["iphi"]])
    assert np.unique(cells, axis=1).shape[1] == cells.shape[1]
    assert np.all(np.diff(hits["event_id"]) >= 0)
    assert np.array_equal(np.unique(hits["event_id"]), np.arange(2000))
    # hits are shuffled within an event (the original files are): layers are not sorted
    assert np.mean(np.diff(hits["layer"].astype(int)) < 0) > 0.3


def test_multiplicity_and_hits_per_track_match_the_original(events):
    parts = events["particles"]
    n_tracks = np.bincount(parts["event_id"])
    mean = CFG.mean_tracks / (1 - np.exp(-CFG.mean_tracks))  # zero is redrawn
    assert abs(n_tracks.mean() - mean) < 5 * np.sqrt(mean / n_tracks.size)
    per_track = _hits_per_particle(events)
    # each layer: 3% inefficiency; the track survives layer l with 0.99^l (stops after a hit)
    layers = np.arange(len(RADII))
    expected = np.sum((1 - CFG.inefficiency) * (1 - CFG.stop_probability) ** layers)
    assert abs(expected - 8.39) < 0.01  # the original data: 8.38 hits per track
    assert abs(per_track.mean() - expected) < 5 * per_track.std() / np.sqrt(per_track.size)
    fraction = np.bincount(events["hits"]["layer"], minlength=9) / per_track.size
    p = (1 - CFG.inefficiency) * (1 - CFG.stop_probability) ** layers
    assert np.all(np.abs(fraction - p) < 5 * np.sqrt(p * (1 - p) / per_track.size))


def test_particle_gun(events):
    parts = events["particles"]
    pt = np.abs(parts["pt"])
    n = pt.size
    low, high = CFG.pt_range_gev
    assert pt.min() >= low and pt.max() <= high
    assert abs(pt.mean() - (low + high) / 2) < 5 * (high - low) / np.sqrt(12 * n)
    assert abs(np.mean(parts["pt"] > 0) - 0.5) < 5 * 0.5 / np.sqrt(n)
    for v in (parts["x_vtx"], parts["y_vtx"]):
        assert abs(v.std() - CFG.vertex_sigma_mm) < 5 * CFG.vertex_sigma_mm / np.sqrt(2 * n)
    assert np.all(np.abs(parts["phi"]) <= np.pi)


def test_without_scattering_hits_follow_the_circle_through_the_vertex():
    cfg = ramp.RampConfig(thickness_x0=0.0, vertex_sigma_mm=0.0, pt_range_gev=(0.3, 2.0))
    data = ramp.simulate_ramp_events(200, rng=np.random.default_rng(3), config=cfg)
    hits, parts = data["hits"], data["particles"]
    track = hits["cluster_id"] >= 0
    offsets = np.searchsorted(parts["event_id"], hits["event_id"][track])
    p = offsets + hits["cluster_id"][track]
    r = RADII[hits["layer"][track]]
    rc = physics.curvature_radius_mm(np.abs(parts["pt"][p]), field_tesla=2.0)
    phi_pred = parts["phi"][p] - np.sign(parts["pt"][p]) * np.arcsin(r / (2 * rc))
    phi = np.arctan2(hits["y"][track], hits["x"][track])
    residual_mm = np.angle(np.exp(1j * (phi - phi_pred))) * r
    # within half a cell (plus float32 rounding of phi0 and of x, y)
    assert np.all(np.abs(residual_mm) < np.asarray(cfg.phi_pitch_mm)[hits["layer"][track]] / 2
                  + 1e-3)


def test_multiple_scattering_matches_highland_and_scales_as_one_over_pt():
    spread = {}
    for pt in (1.0, 4.0):
        cfg = ramp.RampConfig(pt_range_gev=(pt, pt * 1.0001), vertex_sigma_mm=0.0,
                              inefficiency=0.0, stop_probability=0.0)
        data = ramp.simulate_ramp_events(1500, rng=np.random.default_rng(5), config=cfg)
        hits, parts = data["hits"], data["particles"]
        last = hits["layer"] == 8
        p = np.searchsorted(parts["event_id"], hits["event_id"][last]) + hits["cluster_id"][last]
        rc = physics.curvature_radius_mm(pt, field_tesla=2.0)
        phi_pred = parts["phi"][p] - np.sign(parts["pt"][p]) * np.arcsin(RADII[8] / (2 * rc))
        dphi = np.angle(np.exp(1j * (np.arctan2(hits["y"][last], hits["x"][last]) - phi_pred)))
        spread[pt] = dphi.std()
        # kinks on layers 0-7, each moving the outer hit by theta0 * (R8 - Rk)
        theta0 = physics.highland_theta0(pt, cfg.thickness_x0)
        expected = theta0 * np.sqrt(np.sum((RADII[8] - RADII[:8]) ** 2)) / RADII[8]
        assert abs(spread[pt] / expected - 1) < 0.1, (pt, spread[pt], expected)
    assert abs(spread[1.0] / spread[4.0] - 4.0) < 0.5


def test_curvature_sign_follows_charge():
    cfg = ramp.RampConfig(thickness_x0=0.0, vertex_sigma_mm=0.0, pt_range_gev=(0.3, 0.4),
                          inefficiency=0.0, stop_probability=0.0)
    data = ramp.simulate_ramp_events(100, rng=np.random.default_rng(2), config=cfg)
    hits, parts = data["hits"], data["particles"]
    outer = hits["layer"] == 8
    p = np.searchsorted(parts["event_id"], hits["event_id"][outer]) + hits["cluster_id"][outer]
    turn = np.angle(np.exp(1j * (np.arctan2(hits["y"][outer], hits["x"][outer]) - parts["phi"][p])))
    # positive particles turn clockwise in a field along +z
    assert np.all(np.sign(turn) == -np.sign(parts["pt"][p]))


def test_noise_hits_and_the_hard_setting():
    cfg = ramp.RampConfig.hard(noise_fraction=0.05)
    assert cfg.mean_tracks == 50.0
    data = ramp.simulate_ramp_events(300, rng=np.random.default_rng(4), config=cfg)
    hits = data["hits"]
    n = hits["event_id"].size
    noise = np.mean(hits["cluster_id"] == -1)
    assert abs(noise - 0.05) < 5 * np.sqrt(0.05 * 0.95 / n) + 0.002  # a few noise hits merge
    n_tracks = np.bincount(data["particles"]["event_id"])
    assert abs(n_tracks.mean() - 50) < 5 * np.sqrt(50 / 300)


def test_exponential_spectrum_stays_in_range_and_falls():
    cfg = ramp.RampConfig(pt_spectrum="exponential", pt_slope_gev=1.0)
    pt = np.abs(ramp.simulate_ramp_events(500, rng=np.random.default_rng(6),
                                          config=cfg)["particles"]["pt"])
    assert pt.min() >= 0.3 and pt.max() <= 10.0
    # truncated exponential above 0.3 GeV with slope 1 GeV: mean 1.3 GeV (the tail is negligible)
    assert abs(pt.mean() - 1.3) < 5 * 1.0 / np.sqrt(pt.size)


def test_every_event_has_hits_even_when_most_tracks_are_lost():
    cfg = ramp.RampConfig(mean_tracks=0.3, inefficiency=0.9)
    data = ramp.simulate_ramp_events(300, rng=np.random.default_rng(7), config=cfg)
    assert np.array_equal(np.unique(data["hits"]["event_id"]), np.arange(300))
    assert np.all(np.bincount(data["particles"]["event_id"]) >= 1)


def test_same_seed_same_bytes_other_seed_differs():
    a = ramp.simulate_ramp_events(50, rng=np.random.default_rng(9))
    b = ramp.simulate_ramp_events(50, rng=np.random.default_rng(9))
    c = ramp.simulate_ramp_events(50, rng=np.random.default_rng(10))
    for table in ("hits", "particles"):
        for key in a[table]:
            assert a[table][key].tobytes() == b[table][key].tobytes()
    assert a["hits"]["x"].tobytes() != c["hits"]["x"].tobytes()


@pytest.mark.parametrize("changes, message", [
    ({"mean_tracks": 0}, "mean_tracks must be positive, got 0"),
    ({"inefficiency": 1.0}, r"inefficiency must be a probability in \[0, 1\), got 1.0"),
    ({"pt_spectrum": "flat"}, "pt_spectrum must be one of"),
    ({"pt_range_gev": (2.0, 1.0)}, "pt_range_gev must be"),
    ({"phi_pitch_mm": (0.025,)}, r"phi_pitch_mm needs one positive pitch per layer \(9\)"),
])
def test_bad_configs_are_explained(changes, message):
    with pytest.raises(ValueError, match=message):
        ramp.RampConfig(**changes)


def test_bad_sizes_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_events must be an integer of at least 1, got 0"):
        ramp.simulate_ramp_events(0, rng=rng)
    with pytest.raises(TypeError, match="config must be a RampConfig"):
        ramp.simulate_ramp_events(1, rng=rng, config={"mean_tracks": 3})
