"""Physics of the LArTPC room in bands: ranges, dE/dx, Bragg peak, recombination, conversion
gap, projections, wire responses, S/N, determinism (hepdl.lartpc)."""

import numpy as np
import pytest

from hepdl.lartpc import argon, geometry, readout
from hepdl.lartpc.simulate import CLASS_NAMES, LArTPCConfig, simulate_events

NOISELESS = readout.ReadoutConfig(noise_adc=0.0)


def _range(pdg, p_gev):
    mass = argon.mass_mev(pdg)
    return float(argon.csda_range_cm(argon.momentum_to_kinetic_mev(p_gev * 1000.0, mass), mass))


@pytest.mark.parametrize(("pdg", "p_gev", "expected_cm", "tolerance"), [
    (13, 0.3, 82.0, 0.03), (13, 0.5, 173.0, 0.03), (13, 1.0, 398.0, 0.03),
    (211, 0.3, 67.0, 0.03),
    (2212, 0.5, 11.5, 0.04), (2212, 0.8, 50.0, 0.04), (2212, 1.0, 92.0, 0.04),
])
def test_csda_ranges_match_the_design_notes_table(pdg, p_gev, expected_cm, tolerance):
    assert _range(pdg, p_gev) == pytest.approx(expected_cm, rel=tolerance)


def test_range_and_energy_are_inverse_and_ranges_grow_with_energy():
    mass = argon.mass_mev(2212)
    kinetic = np.geomspace(2.0, 2000.0, 50)
    ranges = argon.csda_range_cm(kinetic, mass)
    assert np.all(np.diff(ranges) > 0)
    np.testing.assert_allclose(argon.kinetic_from_range_mev(ranges, mass), kinetic, rtol=1e-3)


def test_mip_dedx_and_the_bragg_peak():
    mu = argon.mass_mev(13)
    beta_gamma = np.geomspace(0.5, 100.0, 400)
    dedx = argon.stopping_power_mev_per_cm(mu * (np.sqrt(1 + beta_gamma**2) - 1), mu)
    assert 2.05 < dedx.min() < 2.15, "the minimum of dE/dx in LAr is 2.105 MeV/cm (PDG)"
    assert 3.0 < beta_gamma[dedx.argmin()] < 4.0
    # a proton 1 cm before it stops loses several times the MIP value
    proton = argon.mass_mev(2212)
    near_end = argon.stopping_power_mev_per_cm(argon.kinetic_from_range_mev(1.0, proton), proton)
    assert near_end > 5 * argon.MIP_DEDX_MEV_PER_CM


def test_recombination_of_a_mip_is_about_seventy_percent():
    assert 0.68 < argon.box_recombination(argon.MIP_DEDX_MEV_PER_CM) < 0.72
    # denser ionisation recombines more
    assert argon.box_recombination(20.0) < 0.4


def _muons():
    config = LArTPCConfig(classes=("muon",), muon_momentum_gev=(0.8, 1.0), max_angle_deg=5.0,
                          readout=NOISELESS)
    return simulate_events(24, rng=np.random.default_rng(11), config=config)


def test_simulated_mip_charge_per_cm_and_signal_to_noise():
    data = _muons()
    points = data["images3D"]
    step = LArTPCConfig().step_cm
    offsets = points["offsets"]
    first = np.concatenate([points["V"][a:a + 30] for a in offsets[:-1]])  # first 9 cm
    electrons_per_cm = np.median(first) * 1000.0 / step
    expected = argon.ionisation_electrons(2.2, 2.2)  # a muon at 0.8-1 GeV/c: 2.2 MeV/cm
    assert electrons_per_cm == pytest.approx(expected, rel=0.05)
    assert 2.05 < argon.dedx_from_charge(electrons_per_cm) < 2.35
    noise = LArTPCConfig().readout.noise_adc
    for plane, (low, high) in enumerate([(8.0, 30.0), (10.0, 30.0)]):
        peaks = np.abs(data["images"][:, plane].astype(np.float32)).max(axis=-1)
        s_over_n = np.median(peaks[peaks > 0]) / noise
        assert low < s_over_n < high, f"plane {plane}: S/N {s_over_n:.1f}"


def test_a_stopping_proton_has_a_bragg_peak():
    config = LArTPCConfig(classes=("proton",), proton_momentum_gev=(0.55, 0.6),
                          max_angle_deg=5.0, entry_x_cm=(20.0, 25.0), readout=NOISELESS)
    data = simulate_events(12, rng=np.random.default_rng(3), config=config)
    events = data["events"]
    assert events["stopped"].all()
    step = config.step_cm
    last_cm = []
    for i, (a, b) in enumerate(zip(data["images3D"]["offsets"][:-1],
                                   data["images3D"]["offsets"][1:])):
        lengths = np.full(b - a, step)
        lengths[-1] = events["path_cm"][i] - step * (b - a - 1)
        residual = np.cumsum(lengths[::-1])[::-1]  # residual range at each step's start
        end = residual <= 1.0 + 1e-6
        charge = data["images3D"]["V"][a:b] * 1000.0
        last_cm.append(charge[end].sum() / lengths[end].sum())
    dedx = argon.dedx_from_charge(np.median(last_cm))
    assert dedx > 5.0 * argon.MIP_DEDX_MEV_PER_CM, f"last cm: {dedx:.1f} MeV/cm"
    assert np.median(last_cm) > 2.0 * argon.ionisation_electrons(2.105, 2.105)
    # the path of a stopping proton is its CSDA range
    mass = argon.mass_mev(2212)
    expected = argon.csda_range_cm(events["energy_gev"] * 1000.0, mass)
    np.testing.assert_allclose(events["path_cm"], expected, rtol=0.02)


def test_photons_convert_after_a_gap_of_nine_sevenths_x0():
    config = LArTPCConfig(classes=("photon",), photon_energy_gev=(0.1, 0.12), max_angle_deg=0.0,
                          entry_x_cm=(20.0, 27.0), entry_y_cm=(-3.0, 3.0), readout=NOISELESS)
    n = 160
    events = simulate_events(n, rng=np.random.default_rng(5), config=config)["events"]
    gap = events["interaction_cm"]
    converted = np.isfinite(gap)
    # maximum likelihood of an exponential censored at the far face (z = 90 cm)
    mean = (gap[converted].sum() + 90.0 * np.count_nonzero(~converted)) / converted.sum()
    sigma = 18.0 / np.sqrt(converted.sum())
    assert abs(mean - 18.0) < 4 * sigma, f"mean conversion gap {mean:.1f} cm"
    assert np.all(gap[converted] > 0)


def test_projection_follows_the_design_notes_formulas():
    rng = np.random.default_rng(0)
    x, y, z = rng.uniform(0, 47, 50), rng.uniform(-20, 20, 50), rng.uniform(0, 90, 50)
    u, v, tick = geometry.project(x, y, z)
    s, c = np.sin(np.radians(60)), np.cos(np.radians(60))
    np.testing.assert_allclose(u, (z * s + (y + 20) * c) / 0.4)
    np.testing.assert_allclose(v, (z * s - (y - 20) * c) / 0.4)
    np.testing.assert_allclose(tick, x / (0.1543 * 0.128))
    np.testing.assert_allclose(np.stack(geometry.wire_crossing(u, v)), np.stack([y, z]),
                               atol=1e-9)


def test_a_deposit_lands_on_its_wire_and_time_bin():
    points = [(3.3, -7.0, 12.0), (40.0, 11.0, 70.0)]
    for x, y, z in points:
        u, v, _ = geometry.project(x, y, z)
        image = readout.wire_signals([x], [y], [z], [1e5], rng=np.random.default_rng(0),
                                     config=readout.ReadoutConfig(diffusion_long_cm2_per_s=0.0,
                                                                  diffusion_trans_cm2_per_s=0.0))
        wire, time_bin = np.unravel_index(np.argmax(image[1]), image[1].shape)
        assert (wire, time_bin) == (int(v // 1), int(x // geometry.BIN_CM))  # collection: v
        assert np.argmax(np.abs(image[0]).max(axis=1)) == int(u // 1)  # induction: u


def test_induction_is_bipolar_and_collection_unipolar():
    kernels = readout.response_kernels()
    induction, collection = kernels
    assert abs(induction.sum()) < 1e-12 and collection.sum() == pytest.approx(1.0)
    assert np.all(collection >= 0)
    positive, negative = np.flatnonzero(induction > 0), np.flatnonzero(induction < 0)
    assert positive.size and negative.size and positive.mean() < negative.mean()
    # on an image: each induction wire integrates to ~0, each collection wire to its charge
    image = _muons()["images"][0].astype(np.float32)
    totals = image.sum(axis=-1)
    hit = totals[1] > 20
    assert np.all(np.abs(totals[0][hit]) < 0.05 * totals[1][hit].max())


def test_zero_suppressed_images_are_mostly_empty():
    data = simulate_events(12, rng=np.random.default_rng(2))
    assert np.mean(data["images"] == 0) > 0.97


def test_same_seed_same_bytes_other_seed_other_events():
    a = simulate_events(6, rng=np.random.default_rng(7))
    b = simulate_events(6, rng=np.random.default_rng(7))
    c = simulate_events(6, rng=np.random.default_rng(8))
    assert a["images"].tobytes() == b["images"].tobytes()
    assert a["images3D"]["C"].tobytes() == b["images3D"]["C"].tobytes()
    for key in a["events"]:
        assert a["events"][key].tobytes() == b["events"][key].tobytes(), key
    assert a["images"].tobytes() != c["images"].tobytes()


def test_every_class_and_its_energy_range():
    data = simulate_events(24, rng=np.random.default_rng(1))
    events = data["events"]
    assert np.bincount(events["label"]).tolist() == [4] * len(CLASS_NAMES)
    assert np.all((events["momentum_gev"] > 0.09) & (events["momentum_gev"] < 1.01))
    np.testing.assert_allclose(np.linalg.norm(np.stack([events[f"dir_{a}"] for a in "xyz"]),
                                              axis=0), 1.0, rtol=1e-6)
    assert np.all(events["n_points"] == np.diff(data["images3D"]["offsets"]))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="classes must be"):
        LArTPCConfig(classes=("neutrino",))
    with pytest.raises(ValueError, match="n_events"):
        simulate_events(0, rng=np.random.default_rng(0))


def test_pions_interact_with_an_interaction_length_of_86_cm():
    config = LArTPCConfig(classes=("pion",), pion_momentum_gev=(0.3, 0.3), max_angle_deg=0.0,
                          entry_x_cm=(20.0, 27.0), entry_y_cm=(-3.0, 3.0), readout=NOISELESS)
    n = 80
    events = simulate_events(n, rng=np.random.default_rng(9), config=config)["events"]
    range_cm = _range(211, 0.3)  # 67 cm: they stop inside unless they interact first
    expected = 1.0 - np.exp(-range_cm / 86.0)
    interacted = np.isfinite(events["interaction_cm"])
    assert abs(interacted.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    assert np.all(events["stopped"][~interacted] == 1)
    assert np.all(events["interaction_cm"][interacted] < range_cm)


def test_the_configuration_is_recorded_as_json():
    import json

    from hepdl.lartpc.simulate import config_dict

    text = json.dumps(config_dict(LArTPCConfig()))
    assert '"noise_adc": 4.0' in text and '"classes": ["electron"' in text
