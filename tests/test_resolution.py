"""hepdl.common.resolution: the Gaussian core and the a, b, c fit, on seeded samples of known width,
and on the calorimeter simulator's electrons (its stated 16 %/sqrt(E) (+) 1 %)."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.common.resolution import binned_core, fit_resolution, gaussian_core, resolution_curve

SEED = 20261204


def test_core_of_a_gaussian_is_its_sigma():
    rng = np.random.default_rng(SEED)
    for sigma in (0.01, 0.3, 5.0):
        x = rng.normal(2.0, sigma, 40_000)
        mean, width = gaussian_core(x)
        # standard errors: sigma / sqrt(n) for the mean, about 1.3 sigma / sqrt(2 n) for the width
        assert abs(mean - 2.0) < 5 * sigma / np.sqrt(x.size)
        assert abs(width / sigma - 1) < 5 * 1.3 / np.sqrt(2 * x.size)


def test_core_ignores_tails_that_a_standard_deviation_does_not():
    rng = np.random.default_rng(SEED + 1)
    x = np.r_[rng.normal(1.0, 0.05, 19_000), rng.uniform(0.0, 0.8, 1_000)]   # a 5 % low tail
    mean, width = gaussian_core(x)
    assert x.std() > 2.5 * 0.05
    assert abs(mean - 1.0) < 0.005 and abs(width / 0.05 - 1) < 0.05


def test_core_with_three_sigma_window_and_nans():
    rng = np.random.default_rng(SEED + 2)
    x = np.r_[rng.normal(0.0, 1.0, 20_000), np.nan, np.inf]
    assert abs(gaussian_core(x, n_sigma=3.0)[1] - 1) < 0.04


def test_binned_core_recovers_response_and_resolution():
    rng = np.random.default_rng(SEED + 3)
    e = rng.uniform(10, 510, 60_000)
    m = 0.8 * e * (1 + rng.normal(size=e.size) * resolution_curve(e, 0.5, 0.05))
    out = binned_core(e, m, [10, 30, 100, 300, 510])
    np.testing.assert_allclose(out["response"], 0.8, rtol=0.01)
    # a bin's width mixes energies; at its mean energy the curve is within a few per cent
    np.testing.assert_allclose(out["sigma_rel"], resolution_curve(out["energy"], 0.5, 0.05), rtol=0.06)
    assert out["count"].sum() == e.size and np.all(out["sigma_rel_error"] < 0.05 * out["sigma_rel"])


def test_binned_core_marks_empty_bins():
    e = np.linspace(20, 40, 50)
    out = binned_core(e, e, [10, 50, 100])
    assert np.isnan(out["sigma_rel"][1]) and out["count"].tolist() == [50, 0]


@pytest.mark.parametrize("noise_term", [True, False])
def test_fit_recovers_terms(noise_term):
    e = np.array([15.0, 30.0, 60.0, 120.0, 240.0, 450.0])
    c = 0.3 if noise_term else 0.0
    s = resolution_curve(e, 0.58, 0.05, c)
    fit = fit_resolution(e, s, 0.01 * s, noise_term=noise_term)
    np.testing.assert_allclose([fit["a"], fit["b"], fit["c"]], [0.58, 0.05, c], atol=2e-3)
    assert fit["a_error"] < 0.02


def test_simulated_electrons_have_the_stated_resolution():
    from hepdl.calorimeter.simulate import simulate_events
    data = simulate_events(1500, rng=np.random.default_rng(SEED), particle="e-")
    measured = data["ECAL"].sum(axis=(1, 2, 3), dtype=float) + data["HCAL"].sum(axis=(1, 2, 3), dtype=float)
    out = binned_core(data["energy"], measured, [10, 30, 70, 150, 300, 510])
    fit = fit_resolution(out["energy"], out["sigma_rel"], out["sigma_rel_error"], noise_term=False)
    # 300 events a bin measure each width to about 5 %
    assert 0.13 <= fit["a"] <= 0.20, fit
    assert fit["b"] <= 0.02, fit
    assert np.all(np.abs(out["response"] - 0.99) < 0.02)


def test_errors_are_explained():
    with pytest.raises(ValueError, match="at least 10"):
        gaussian_core([1.0, 2.0])
    with pytest.raises(ValueError, match="n_sigma"):
        gaussian_core(np.arange(20.0), n_sigma=0.1)
    with pytest.raises(ValueError, match="same shape"):
        binned_core(np.ones(20), np.ones(21), [0, 2])
    with pytest.raises(ValueError, match="positive"):
        binned_core(np.zeros(20), np.ones(20), [0, 2])
    with pytest.raises(ValueError, match="increasing"):
        binned_core(np.ones(20), np.ones(20), [2, 1])
    with pytest.raises(ValueError, match="finite bins"):
        fit_resolution([10.0, np.nan], [0.1, 0.1])
    with pytest.raises(ValueError, match="shape"):
        fit_resolution([10.0, 20.0, 30.0], [0.1, 0.1])
