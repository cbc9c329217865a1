"""Liquid argon as a detector medium: Bethe-Bloch, CSDA ranges, recombination, showers.

Sources (PDG Review of Particle Physics, "Passage of particles through matter" and the PDG's
"Atomic and nuclear properties" page for liquid argon):

* mean energy loss of a heavy charged particle, with the density effect,

  .. math:: -\\frac{dE}{dx} = K z^2 \\frac{Z}{A} \\frac{\\rho}{\\beta^2}
            \\left[\\frac12 \\ln\\frac{2 m_e c^2 \\beta^2\\gamma^2 T_{max}}{I^2} - \\beta^2
            - \\frac{\\delta(\\beta\\gamma)}{2}\\right],

  K = 0.307075 MeV cm2/mol, Z/A = 18/39.948, rho = 1.396 g/cm3, I = 188 eV, and Sternheimer's
  parameters for liquid argon (C = 5.2146, x0 = 0.2, x1 = 3.0, a = 0.19559, k = 3.0): the
  minimum is 2.105 MeV/cm (1.508 MeV cm2/g);
* the CSDA range, the integral of 1 / (dE/dx) over the kinetic energy
  (:func:`csda_range_cm`); below beta gamma = 0.05 (a proton of 1.2 MeV) Bethe-Bloch fails and
  the residual range is taken as ``T / (dE/dx)`` at that point (less than 0.01 cm);
* radiation length X0 = 14.0 cm, critical energy 32.8 MeV (electrons), Moliere radius 9.04 cm,
  nuclear interaction length 85.8 cm; a photon converts after a mean free path of
  9/7 X0 = 18 cm;
* recombination: the modified Box model of ArgoNeuT (JINST 8 (2013) P08005),
  ``R = ln(alpha + xi) / xi`` with ``xi = beta (dE/dx) / (rho E)``, alpha = 0.93,
  beta = 0.212 (kV/cm)(g/cm2)/MeV; at 0.4865 kV/cm a MIP keeps R = 0.70 of its ionisation
  electrons; W = 23.6 eV per ion pair.

Units: energies in MeV, lengths in cm, charges in electrons, as the names say.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from hepunits import MeV, eV
from particle import Particle

from hepdl.lartpc.geometry import FIELD_KV_PER_CM

__all__ = [
    "BOX_ALPHA",
    "BOX_BETA",
    "CRITICAL_ENERGY_MEV",
    "DENSITY_G_PER_CM3",
    "INTERACTION_LENGTH_CM",
    "MEAN_EXCITATION_EV",
    "MIP_DEDX_MEV_PER_CM",
    "MOLIERE_RADIUS_CM",
    "PAIR_MEAN_FREE_PATH_CM",
    "RADIATION_LENGTH_CM",
    "W_ION_EV",
    "Z_OVER_A",
    "box_recombination",
    "csda_range_cm",
    "dedx_from_charge",
    "ionisation_electrons",
    "kinetic_from_range_mev",
    "mass_mev",
    "momentum_to_kinetic_mev",
    "stopping_power_mev_per_cm",
]

DENSITY_G_PER_CM3 = 1.396
Z_OVER_A = 18.0 / 39.948
MEAN_EXCITATION_EV = 188.0
W_ION_EV = 23.6
RADIATION_LENGTH_CM = 14.0
CRITICAL_ENERGY_MEV = 32.84
MOLIERE_RADIUS_CM = 9.043
INTERACTION_LENGTH_CM = 85.77
PAIR_MEAN_FREE_PATH_CM = 9.0 / 7.0 * RADIATION_LENGTH_CM
#: Box model parameters (ArgoNeuT): alpha, and beta [(kV/cm)(g/cm2)/MeV].
BOX_ALPHA = 0.93
BOX_BETA = 0.212
#: The minimum of dE/dx in liquid argon [MeV/cm] (PDG: 1.508 MeV cm2/g).
MIP_DEDX_MEV_PER_CM = 2.105

_K = 0.307075  # MeV cm2 / mol
_ME = Particle.from_pdgid(11).mass * MeV  # MeV
# Sternheimer density-effect parameters of liquid argon (PDG)
_C_BAR, _X0, _X1, _A, _K_EXP = 5.2146, 0.2000, 3.0000, 0.19559, 3.0000
_BG_MIN = 0.05


def mass_mev(pdg: int) -> float:
    """Mass [MeV] of the particle with PDG id ``pdg`` (from the ``particle`` package).

    Examples
    --------
    >>> round(mass_mev(13), 3)
    105.658
    """
    return float(Particle.from_pdgid(pdg).mass) * MeV


def momentum_to_kinetic_mev(p_mev, mass):
    """Kinetic energy [MeV] of momentum ``p_mev`` [MeV] and mass ``mass`` [MeV]."""
    p_mev = np.asarray(p_mev, dtype=float)
    return np.sqrt(p_mev**2 + mass**2) - mass


def _density_effect(beta_gamma):
    x = np.log10(beta_gamma)
    two_ln10 = 2.0 * np.log(10.0)
    return np.where(x >= _X1, two_ln10 * x - _C_BAR,
                    np.where(x >= _X0, two_ln10 * x - _C_BAR + _A * (_X1 - x) ** _K_EXP, 0.0))


def stopping_power_mev_per_cm(kinetic_mev, mass, *, charge: float = 1.0):
    """Mean energy loss -dE/dx [MeV/cm] in liquid argon (Bethe-Bloch, density effect).

    Parameters
    ----------
    kinetic_mev : array
        Kinetic energy [MeV]; below beta gamma = 0.05 the value at beta gamma = 0.05 is used.
    mass : float
        Particle mass [MeV].
    charge : float
        Charge [e].

    Examples
    --------
    The minimum (a muon of 0.3 GeV/c is close to it) and a slow proton:

    >>> mu = mass_mev(13)
    >>> round(float(stopping_power_mev_per_cm(momentum_to_kinetic_mev(350.0, mu), mu)), 2)
    2.1
    >>> round(float(stopping_power_mev_per_cm(20.0, mass_mev(2212))), 1)
    25.3
    """
    kinetic = np.asarray(kinetic_mev, dtype=float)
    gamma = 1.0 + kinetic / mass
    beta_gamma = np.maximum(np.sqrt(np.maximum(gamma**2 - 1.0, 0.0)), _BG_MIN)
    gamma = np.sqrt(1.0 + beta_gamma**2)
    beta2 = beta_gamma**2 / gamma**2
    ratio = _ME / mass
    t_max = 2.0 * _ME * beta_gamma**2 / (1.0 + 2.0 * gamma * ratio + ratio**2)
    excitation = MEAN_EXCITATION_EV * eV / MeV
    log_term = 0.5 * np.log(2.0 * _ME * beta_gamma**2 * t_max / excitation**2)
    return (_K * charge**2 * Z_OVER_A * DENSITY_G_PER_CM3 / beta2
            * (log_term - beta2 - 0.5 * _density_effect(beta_gamma)))


@cache
def _range_table(mass: float):
    """(kinetic energies [MeV], CSDA ranges [cm]) on a log grid, for ``mass`` [MeV]."""
    t_min = mass * (np.sqrt(1.0 + _BG_MIN**2) - 1.0)
    kinetic = np.geomspace(t_min, 2.0e5, 4000)
    inverse = 1.0 / stopping_power_mev_per_cm(kinetic, mass)
    steps = 0.5 * (inverse[1:] + inverse[:-1]) * np.diff(kinetic)
    start = t_min * inverse[0]
    ranges = start + np.concatenate([[0.0], np.cumsum(steps)])
    return np.log(kinetic), np.log(ranges), t_min, start


def csda_range_cm(kinetic_mev, mass):
    """CSDA range [cm] in liquid argon of a particle of kinetic energy ``kinetic_mev`` [MeV].

    Examples
    --------
    The design note's table (mu 0.3/0.5/1 GeV/c: 82/173/398 cm; p 0.5/0.8/1 GeV/c:
    11.5/50/92 cm):

    >>> mu, p = mass_mev(13), mass_mev(2212)
    >>> [round(float(csda_range_cm(momentum_to_kinetic_mev(q, mu), mu))) for q in (300, 500, 1000)]
    [82, 173, 398]
    >>> [round(float(csda_range_cm(momentum_to_kinetic_mev(q, p), p)), 1) for q in (500, 800, 1000)]
    [11.5, 49.6, 92.3]
    """
    log_t, log_r, t_min, start = _range_table(float(mass))
    kinetic = np.asarray(kinetic_mev, dtype=float)
    with np.errstate(divide="ignore"):
        inside = np.exp(np.interp(np.log(np.maximum(kinetic, t_min)), log_t, log_r))
    return np.where(kinetic >= t_min, inside, start * np.maximum(kinetic, 0.0) / t_min)


def kinetic_from_range_mev(range_cm, mass):
    """Kinetic energy [MeV] of a particle with residual CSDA range ``range_cm`` [cm].

    The inverse of :func:`csda_range_cm`: it gives the energy along a stopping track.

    Examples
    --------
    >>> p = mass_mev(2212)
    >>> round(float(kinetic_from_range_mev(csda_range_cm(100.0, p), p)), 3)
    100.0
    """
    log_t, log_r, t_min, start = _range_table(float(mass))
    residual = np.asarray(range_cm, dtype=float)
    with np.errstate(divide="ignore"):
        inside = np.exp(np.interp(np.log(np.maximum(residual, start)), log_r, log_t))
    return np.where(residual >= start, inside, t_min * np.maximum(residual, 0.0) / start)


def box_recombination(dedx_mev_per_cm, *, field_kv_per_cm: float = FIELD_KV_PER_CM):
    """Fraction of ionisation electrons that escape recombination (modified Box model).

    ``R = ln(alpha + xi) / xi``, ``xi = beta (dE/dx) / (rho E)`` (ArgoNeuT's fit).

    Parameters
    ----------
    dedx_mev_per_cm : array
        Local energy loss [MeV/cm].
    field_kv_per_cm : float
        Drift field [kV/cm].

    Examples
    --------
    >>> round(float(box_recombination(MIP_DEDX_MEV_PER_CM)), 3)
    0.703
    """
    dedx = np.maximum(np.asarray(dedx_mev_per_cm, dtype=float), 1e-6)
    xi = BOX_BETA * dedx / (DENSITY_G_PER_CM3 * field_kv_per_cm)
    return np.log(BOX_ALPHA + xi) / xi


def ionisation_electrons(energy_mev, dedx_mev_per_cm, *,
                         field_kv_per_cm: float = FIELD_KV_PER_CM):
    """Electrons freed and escaping recombination from a deposit ``energy_mev`` [MeV] made at
    ``dedx_mev_per_cm`` [MeV/cm]: ``E R / W``, W = 23.6 eV.

    Examples
    --------
    >>> round(float(ionisation_electrons(MIP_DEDX_MEV_PER_CM, MIP_DEDX_MEV_PER_CM)))  # per cm
    62700
    """
    energy = np.asarray(energy_mev, dtype=float)
    return (energy * MeV / (W_ION_EV * eV)
            * box_recombination(dedx_mev_per_cm, field_kv_per_cm=field_kv_per_cm))



def dedx_from_charge(electrons_per_cm, *, field_kv_per_cm: float = FIELD_KV_PER_CM):
    """dE/dx [MeV/cm] from the charge per cm that escaped recombination: the inverse of the
    modified Box model, ``dE/dx = (exp(xi0 dQ/dx W) - alpha) / xi0``, ``xi0 = beta / (rho E)``
    (the calorimetry of ArgoNeuT and LArIAT).

    Parameters
    ----------
    electrons_per_cm : array
        Ionisation electrons per cm after recombination (before attachment).

    Examples
    --------
    >>> q = ionisation_electrons(MIP_DEDX_MEV_PER_CM, MIP_DEDX_MEV_PER_CM)
    >>> round(float(dedx_from_charge(q)), 3)
    2.105
    """
    xi0 = BOX_BETA / (DENSITY_G_PER_CM3 * field_kv_per_cm)
    charge = np.asarray(electrons_per_cm, dtype=float) * W_ION_EV * eV / MeV
    return (np.exp(xi0 * charge) - BOX_ALPHA) / xi0
