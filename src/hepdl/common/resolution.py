"""Energy resolution of a calorimeter: the Gaussian core of a response, and its a, b, c fit.

A calorimeter's relative resolution is quoted as the quadrature sum of three terms (PDG Review
"Calorimetry", eq. 35.x; Fabjan and Gianotti, Rev. Mod. Phys. 75 (2003) 1243):

    sigma/E = a / sqrt(E)  (+)  b  (+)  c / E,

the stochastic (sampling) term ``a`` [sqrt(GeV)], the constant term ``b`` (calibration,
non-uniformity, leakage, non-compensation; dimensionless) and the noise term ``c`` [GeV]
(electronic noise, pile-up). ``(+)`` is the sum in quadrature.

The width in each energy bin is that of the distribution's **Gaussian core**: tails (a late
shower start, lateral leakage, a badly measured event) would dominate a standard deviation. The
core is found by an iterative 2-sigma truncation: start from the median and half the 16-84 %
interval, keep the values within ``n_sigma`` widths of the current mean, take their mean and
standard deviation, correct the standard deviation for the truncation (a Gaussian truncated at
+-2 sigma has a standard deviation of 0.880 sigma), and repeat until it settles. For a pure
Gaussian this is an unbiased estimate of sigma; with tails it follows the core.

Detector-independent (the course uses it for the LCD-like calorimeter of
:mod:`hepdl.calorimeter`); numpy and scipy only.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit
from scipy.special import erf

__all__ = ["binned_core", "fit_resolution", "gaussian_core", "resolution_curve"]


def _truncation_factor(n_sigma: float) -> float:
    """Standard deviation of a unit Gaussian truncated at +-n_sigma."""
    phi = np.exp(-0.5 * n_sigma**2) / np.sqrt(2 * np.pi)
    return float(np.sqrt(1.0 - 2.0 * n_sigma * phi / erf(n_sigma / np.sqrt(2.0))))


def gaussian_core(values, *, n_sigma: float = 2.0, max_iterations: int = 50) -> tuple[float, float]:
    """Mean and width of the Gaussian core of a sample, by iterative ``n_sigma`` truncation.

    Parameters
    ----------
    values : array_like, 1-D
        The sample, in any unit (e.g. E_measured / E_true, dimensionless, or a pull). NaN and
        infinite values are ignored; at least 10 finite values are needed.
    n_sigma : float
        Half-width of the window kept at each step, in units of the current width (> 0.5).
    max_iterations : int
        Largest number of truncation steps (it usually settles after 3-6).

    Returns
    -------
    (mean, sigma) : tuple of float, in the unit of ``values``. ``sigma`` is corrected for the
    truncation, so that a Gaussian sample gives its own standard deviation.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(1.0, 0.05, 20_000)
    >>> x[:1000] = 0.5                              # 5 % of the events far in a tail
    >>> mean, sigma = gaussian_core(x)
    >>> round(mean, 2), round(sigma, 3)
    (1.0, 0.05)
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 10:
        raise ValueError(f"values must hold at least 10 finite numbers, got {x.size}")
    if not n_sigma > 0.5:
        raise ValueError(f"n_sigma must be above 0.5, got {n_sigma}")
    factor = _truncation_factor(n_sigma)
    low, mean, high = np.percentile(x, [15.87, 50.0, 84.13])
    sigma = 0.5 * (high - low)
    if sigma == 0.0:
        return float(mean), 0.0
    kept = None
    for _ in range(max_iterations):
        inside = np.abs(x - mean) < n_sigma * sigma
        if inside.sum() < 5:
            break
        if kept is not None and np.array_equal(inside, kept):
            break
        kept = inside
        mean, sigma = x[inside].mean(), x[inside].std() / factor
        if sigma == 0.0:
            break
    return float(mean), float(sigma)


def binned_core(energy_true, energy_measured, edges, *, n_sigma: float = 2.0,
                min_events: int = 10) -> dict:
    """Response and relative resolution in bins of the true energy, from the Gaussian cores.

    In each bin of ``energy_true``, the core of the ratio ``r = energy_measured / energy_true``
    gives the response (its mean) and the relative resolution sigma(r) / mean(r): the width of
    the *calibrated* response, so that a bias does not change it.

    Parameters
    ----------
    energy_true, energy_measured : array_like, shape (n,) [GeV]
        Per event; ``energy_true`` must be positive.
    edges : array_like, shape (n_bins + 1,) [GeV]
        Increasing bin edges of the true energy.
    n_sigma : float
        Truncation of :func:`gaussian_core`.
    min_events : int
        Bins with fewer events get NaN (at least 10).

    Returns
    -------
    dict of float64 arrays, shape (n_bins,)
        ``energy`` (mean true energy of the bin [GeV]), ``response`` (core mean of r),
        ``sigma_rel`` (core sigma of r over its mean), ``sigma_rel_error`` (its statistical
        error, ``sigma_rel / sqrt(2 n)`` times 1.3 for the truncation) and ``count``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> e = rng.uniform(10, 510, 40_000)
    >>> m = e * (1 + rng.normal(size=e.size) * np.sqrt(0.16**2 / e + 0.01**2))
    >>> out = binned_core(e, m, [10, 50, 100, 500])
    >>> np.round(out["sigma_rel"] / np.sqrt(0.16**2 / out["energy"] + 0.01**2), 1).tolist()
    [1.0, 1.0, 1.0]
    """
    true = np.asarray(energy_true, dtype=np.float64)
    measured = np.asarray(energy_measured, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if true.shape != measured.shape or true.ndim != 1:
        raise ValueError(f"energy_true and energy_measured must be 1-D of the same shape, got "
                         f"{true.shape} and {measured.shape}")
    if np.any(true <= 0):
        raise ValueError("energy_true must be positive [GeV]")
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be at least two increasing numbers [GeV], got {edges}")
    if min_events < 10:
        raise ValueError(f"min_events must be at least 10, got {min_events}")
    n_bins = edges.size - 1
    out = {key: np.full(n_bins, np.nan) for key in ("energy", "response", "sigma_rel",
                                                    "sigma_rel_error")}
    out["count"] = np.zeros(n_bins)
    which = np.digitize(true, edges) - 1
    for k in range(n_bins):
        rows = which == k
        out["count"][k] = rows.sum()
        if rows.sum() < min_events:
            continue
        mean, sigma = gaussian_core(measured[rows] / true[rows], n_sigma=n_sigma)
        out["energy"][k] = true[rows].mean()
        out["response"][k] = mean
        out["sigma_rel"][k] = sigma / mean
        out["sigma_rel_error"][k] = 1.3 * sigma / mean / np.sqrt(2.0 * rows.sum())
    return out


def resolution_curve(energy, a, b=0.0, c=0.0):
    """Relative resolution ``sqrt(a^2/E + b^2 + c^2/E^2)``.

    Parameters
    ----------
    energy : array_like [GeV], positive
    a : stochastic term [sqrt(GeV)], e.g. 0.16 for 16 %/sqrt(E)
    b : constant term (dimensionless)
    c : noise term [GeV]

    Returns
    -------
    sigma/E, dimensionless, the shape of ``energy``

    Examples
    --------
    >>> round(float(resolution_curve(100.0, 0.16, 0.01)), 4)
    0.0189
    """
    energy = np.asarray(energy, dtype=np.float64)
    return np.sqrt(a**2 / energy + b**2 + c**2 / energy**2)


def fit_resolution(energy, sigma_rel, sigma_rel_error=None, *, noise_term: bool = True) -> dict:
    """Fit ``sigma/E = a/sqrt(E) (+) b (+) c/E`` to binned resolutions (``scipy.optimize.curve_fit``).

    The three terms are kept non-negative. With few bins the terms are correlated (a larger
    ``c`` takes from ``a`` at low energy): quote the fitted curve at a few energies as well, or
    fix ``c = 0`` (``noise_term=False``) where the detector has no noise, as in the course's
    simulation.

    Parameters
    ----------
    energy : array_like, shape (n_bins,) [GeV]
        The bins' mean true energies; NaN bins are skipped.
    sigma_rel : array_like, shape (n_bins,)
        The relative resolution in each bin (dimensionless).
    sigma_rel_error : array_like, shape (n_bins,), optional
        Its statistical error; equal weights when None.
    noise_term : bool
        Fit ``c`` too (True) or fix it at 0.

    Returns
    -------
    dict of float
        ``a`` [sqrt(GeV)], ``b``, ``c`` [GeV] and their errors ``a_error``, ``b_error``,
        ``c_error`` (from the fit's covariance; 0 for a fixed term).

    Examples
    --------
    >>> e = np.array([20.0, 50.0, 100.0, 200.0, 400.0])
    >>> fit = fit_resolution(e, resolution_curve(e, 0.16, 0.01), noise_term=False)
    >>> round(fit["a"], 3), round(fit["b"], 3), fit["c"]
    (0.16, 0.01, 0.0)
    """
    energy = np.asarray(energy, dtype=np.float64)
    sigma = np.asarray(sigma_rel, dtype=np.float64)
    if energy.shape != sigma.shape or energy.ndim != 1:
        raise ValueError(f"energy and sigma_rel must be 1-D of the same shape, got {energy.shape} "
                         f"and {sigma.shape}")
    error = (np.ones_like(sigma) if sigma_rel_error is None
             else np.asarray(sigma_rel_error, dtype=np.float64))
    if error.shape != sigma.shape:
        raise ValueError(f"sigma_rel_error must have the shape of sigma_rel {sigma.shape}, got "
                         f"{error.shape}")
    ok = np.isfinite(energy) & np.isfinite(sigma) & np.isfinite(error) & (error > 0)
    n_terms = 3 if noise_term else 2
    if ok.sum() < n_terms:
        raise ValueError(f"need at least {n_terms} finite bins to fit, got {int(ok.sum())}")
    if np.any(energy[ok] <= 0):
        raise ValueError("energy must be positive [GeV]")
    e, s, w = energy[ok], sigma[ok], error[ok]
    a0 = float(np.clip(s[0] * np.sqrt(e[0]), 1e-3, 10.0))
    if noise_term:
        p0, upper = (a0, 0.01, 0.1), (10.0, 1.0, 100.0)
        model = resolution_curve
    else:
        p0, upper = (a0, 0.01), (10.0, 1.0)

        def model(x, a, b):
            return resolution_curve(x, a, b)
    params, cov = curve_fit(model, e, s, p0=p0, sigma=w, absolute_sigma=sigma_rel_error is not None,
                            bounds=(0.0, upper), maxfev=20_000)
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if np.all(np.isfinite(cov)) \
        else np.full(n_terms, np.nan)
    out = {"a": float(params[0]), "b": float(params[1]), "c": float(params[2]) if noise_term else 0.0}
    out.update({"a_error": float(errors[0]), "b_error": float(errors[1]),
                "c_error": float(errors[2]) if noise_term else 0.0})
    return out
