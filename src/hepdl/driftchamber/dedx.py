"""Ionisation in the drift-chamber gas: the charge a track leaves on a wire.

The mean is the *restricted* Bethe-Bloch energy loss (PDG Review "Passage of particles through
matter", Eq. 34.12: delta rays above ``T_cut`` escape the cell and are not counted, which gives
the Fermi plateau a gas detector sees) with the Sternheimer density-effect correction
(same review, Eq. 34.7; the gas parameters ``x0 = 1.6``, ``x1 = 4``, ``k = 3`` follow the
Sternheimer-Peierls rule for gases with ``C_bar < 10``). The gas is BESIII's He/C3H8 60:40
(by volume): density 0.851 mg/cm^3, mean excitation energy I = 46.5 eV, <Z/A> = 0.5788.

With ``T_cut = 10 keV`` (a modelling choice, standing in for the truncated mean) the values
relative to minimum ionising are e at 1.55 GeV 1.31, mu at 1.55 GeV 1.09, pi at
0.10/0.15/0.20/0.30/0.50 GeV 2.32/1.53/1.25/1.07/1.00, as quoted in datasets.md B.

The charge of one hit is ``Q = Q_mip * relative_dedx * LogNormal(-s^2/2, s)`` with ``s = 0.40``
(mean 1, so ``Q`` averages to the mean loss): the log-normal stands in for the Landau
fluctuations of the ~1 cm of gas a track crosses in one cell. ``Q`` is path-normalised (no
dependence on the crossing angle), as a calibrated dE/dx would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GasConfig", "lognormal_fluctuation", "relative_dedx", "restricted_dedx"]

_K_MEV_CM2_PER_MOL = 0.307075  # 4 pi N_A r_e^2 m_e c^2 [MeV cm^2 / mol]
_ELECTRON_MASS_MEV = 0.51099895


@dataclass(frozen=True)
class GasConfig:
    """The chamber gas (BESIII MDC: He/C3H8 60:40).

    Attributes
    ----------
    density_g_cm3 : gas density [g/cm^3]
    mean_excitation_ev : mean excitation energy I [eV]
    z_over_a : <Z/A> of the mixture [mol/g]
    cut_energy_kev : T_cut of the restricted energy loss [keV] (modelling choice)
    sternheimer_x0, sternheimer_x1, sternheimer_k : density-effect parameters (gas rule)
    """

    density_g_cm3: float = 0.851e-3
    mean_excitation_ev: float = 46.5
    z_over_a: float = 0.5788
    cut_energy_kev: float = 10.0
    sternheimer_x0: float = 1.6
    sternheimer_x1: float = 4.0
    sternheimer_k: float = 3.0


def _density_effect(beta_gamma, gas: GasConfig):
    plasma_ev = 28.816 * np.sqrt(gas.density_g_cm3 * gas.z_over_a)
    c_bar = 2.0 * np.log(gas.mean_excitation_ev / plasma_ev) + 1.0
    x0, x1, k = gas.sternheimer_x0, gas.sternheimer_x1, gas.sternheimer_k
    a = (c_bar - 2.0 * np.log(10.0) * x0) / (x1 - x0) ** k
    x = np.log10(beta_gamma)
    high = 2.0 * np.log(10.0) * x - c_bar
    return np.where(x >= x1, high, np.where(x >= x0, high + a * np.abs(x1 - x) ** k, 0.0))


def restricted_dedx(beta_gamma, *, mass_gev, gas: GasConfig = GasConfig()):
    """Mean restricted energy loss [MeV cm^2/g] of a unit-charge particle.

    Parameters
    ----------
    beta_gamma : array
        p / m of the particle (dimensionless), > 0.
    mass_gev : float or array
        Its mass [GeV] (enters only through the largest energy transfer T_max).
    gas : GasConfig

    Examples
    --------
    The minimum, near beta gamma = 4, is about 1.6 MeV cm^2/g for this light gas:

    >>> round(float(restricted_dedx(4.0, mass_gev=0.1396)), 2)
    1.62
    """
    bg = np.asarray(beta_gamma, dtype=float)
    if np.any(~(bg > 0)):
        raise ValueError(f"beta_gamma must be positive, got min {bg.min()!r}")
    gamma = np.sqrt(1.0 + bg**2)
    beta2 = bg**2 / gamma**2
    ratio = _ELECTRON_MASS_MEV / (np.asarray(mass_gev, dtype=float) * 1e3)
    t_max = 2.0 * _ELECTRON_MASS_MEV * bg**2 / (1.0 + 2.0 * gamma * ratio + ratio**2)
    t_cut = np.minimum(gas.cut_energy_kev * 1e-3, t_max)
    i_mev = gas.mean_excitation_ev * 1e-6
    bracket = (0.5 * np.log(2.0 * _ELECTRON_MASS_MEV * bg**2 * t_cut / i_mev**2)
               - 0.5 * beta2 * (1.0 + t_cut / t_max) - 0.5 * _density_effect(bg, gas))
    return _K_MEV_CM2_PER_MOL * gas.z_over_a / beta2 * bracket


def _minimum(gas: GasConfig) -> float:
    # T_cut << T_max near the minimum, so the curve there does not depend on the mass
    grid = np.logspace(0.0, 1.5, 3001)
    return float(restricted_dedx(grid, mass_gev=0.13957, gas=gas).min())


def relative_dedx(momentum_gev, mass_gev, *, gas: GasConfig = GasConfig()):
    """Mean restricted dE/dx relative to minimum ionising, for momentum [GeV] and mass [GeV].

    Examples
    --------
    >>> from hepdl.driftchamber.kinematics import mass_gev
    >>> relative_dedx(1.55, np.array([mass_gev(11), mass_gev(13)])).round(2)  # e, mu
    array([1.31, 1.09])
    >>> relative_dedx(np.array([0.10, 0.15, 0.20, 0.30, 0.50]), mass_gev(211)).round(2)
    array([2.32, 1.53, 1.25, 1.07, 1.  ])
    """
    p = np.asarray(momentum_gev, dtype=float)
    m = np.asarray(mass_gev, dtype=float)
    return restricted_dedx(p / m, mass_gev=m, gas=gas) / _minimum(gas)


def lognormal_fluctuation(size, *, rng: np.random.Generator, sigma: float = 0.40):
    """Draw mean-one log-normal factors, ``exp(N(-sigma^2/2, sigma))``.

    Examples
    --------
    >>> f = lognormal_fluctuation(200_000, rng=np.random.default_rng(0))
    >>> round(float(f.mean()), 2), round(float(np.log(f).std()), 2)
    (1.0, 0.4)
    """
    if not sigma >= 0:
        raise ValueError(f"sigma must be non-negative, got {sigma!r}")
    return np.exp(rng.normal(-0.5 * sigma**2, sigma, size))
