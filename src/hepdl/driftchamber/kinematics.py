"""Event kinematics at sqrt(s) = m(psi(2S)), with the psi(2S) at rest.

Three reactions (the lesson's three event types), each giving four charged particles in a fixed
order ``(pi+, pi-, l+, l-)``:

* ``psi(2S) -> pi+ pi- J/psi``, ``J/psi -> e+ e-`` and ``J/psi -> mu+ mu-``, generated as the
  sequential two-body chain ``psi(2S) -> J/psi X``, ``X -> pi+ pi-``, ``J/psi -> l+ l-``;
* ``e+ e- -> pi+ pi- mu+ mu-``, flat four-body phase space (no J/psi peak), generated with the
  Raubold-Lynch / GENBOD algorithm (F. James, CERN 68-15) and unweighted by accept-reject.

Physics sources and modelling choices:

* masses from the ``particle`` package (PDG); the J/psi width (93 keV) is neglected;
* the pi pi mass is drawn in ``[2 m_pi, m_psi(2S) - m_J/psi]`` = [0.279, 0.589] GeV with density
  ``p* q* (m^2 - 4 m_pi^2)^2``: three-body phase space (``p*`` the J/psi momentum in the psi(2S)
  frame, ``q*`` the pion momentum in the pi pi frame) times the S-wave factor that pushes the
  spectrum to high mass as measured by BES (modelling choice of the course, see datasets.md B);
* the J/psi direction is isotropic in the psi(2S) frame and the pions isotropic in the pi pi frame
  (modelling choice);
* ``J/psi -> l+ l-`` follows ``1 + cos^2(theta)``, theta the l+ angle to the beam (z) axis in
  the J/psi rest frame: the J/psi keeps the transverse polarisation of the e+e- annihilation.

Four-momenta are arrays ``(..., 4)`` ordered ``(E, px, py, pz)`` in GeV.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from hepunits import GeV, MeV
from particle import Particle

__all__ = [
    "N_TRACKS",
    "PDG_ID",
    "boost",
    "invariant_mass",
    "mass_gev",
    "phase_space_pipimumu",
    "psi2s_to_pipi_jpsi",
    "sample_cos_theta_transverse",
    "sample_pipi_mass",
    "two_body_momentum",
]

#: Charged tracks of every reaction, in the order (pi+, pi-, l+, l-): ``trk`` 0, 1, 2, 3.
N_TRACKS = 4
#: PDG ids used here, by name.
PDG_ID = {"psi(2S)": 100443, "J/psi": 443, "pi+": 211, "pi-": -211, "e+": -11, "e-": 11,
          "mu+": -13, "mu-": 13}


@cache
def mass_gev(pdgid: int) -> float:
    """Mass [GeV] of a particle from the ``particle`` package (PDG).

    Examples
    --------
    >>> round(mass_gev(100443), 4), round(mass_gev(211), 5)
    (3.6861, 0.13957)
    """
    return float(Particle.from_pdgid(pdgid).mass) * MeV / GeV  # particle gives MeV


def two_body_momentum(m_parent, m1, m2):
    """Momentum [GeV] of either daughter of a two-body decay in the parent's rest frame.

    ``p = sqrt((M^2 - (m1 + m2)^2) (M^2 - (m1 - m2)^2)) / (2 M)``; zero below threshold.

    Examples
    --------
    >>> round(float(two_body_momentum(3.0969, 0.000511, 0.000511)), 4)
    1.5484
    """
    m_parent, m1, m2 = (np.asarray(a, dtype=float) for a in (m_parent, m1, m2))
    lam = (m_parent**2 - (m1 + m2) ** 2) * (m_parent**2 - (m1 - m2) ** 2)
    return np.sqrt(np.maximum(lam, 0.0)) / (2.0 * m_parent)


def invariant_mass(*four_momenta):
    """Invariant mass [GeV] of the sum of four-momenta ``(..., 4)``.

    Examples
    --------
    >>> p = np.array([[5.0, 0.0, 0.0, 3.0], [5.0, 0.0, 0.0, -3.0]])
    >>> float(invariant_mass(p[0], p[1]))
    10.0
    """
    total = np.sum(np.stack(np.broadcast_arrays(*four_momenta)), axis=0)
    m2 = total[..., 0] ** 2 - np.sum(total[..., 1:] ** 2, axis=-1)
    return np.sqrt(np.maximum(m2, 0.0))


def boost(p4, beta):
    """Lorentz-boost four-momenta ``p4`` (..., 4) into the frame where the rest frame moves with
    velocity ``beta`` (..., 3) [units of c], i.e. from a particle's rest frame to the lab.

    Examples
    --------
    A particle at rest boosted with beta = 0.6 along x gets gamma m and beta gamma m:

    >>> boost(np.array([1.0, 0, 0, 0]), np.array([0.6, 0, 0])).round(3)
    array([1.25, 0.75, 0.  , 0.  ])
    """
    p4 = np.asarray(p4, dtype=float)
    beta = np.asarray(beta, dtype=float)
    b2 = np.sum(beta**2, axis=-1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], axis=-1)
    coef = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    energy = gamma * (p4[..., 0] + bp)
    momentum = p4[..., 1:] + (coef * bp + gamma * p4[..., 0])[..., None] * beta
    return np.concatenate([energy[..., None], momentum], axis=-1)


def _isotropic(n, *, rng):
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=-1)


def _decay(parent, m1, m2, direction):
    """Two-body decay of ``parent`` (lab four-momenta) along ``direction`` (unit, rest frame)."""
    m_parent = invariant_mass(parent)
    p = two_body_momentum(m_parent, m1, m2)[..., None] * direction
    d1 = np.concatenate([np.sqrt(m1**2 + np.sum(p**2, -1))[..., None], p], axis=-1)
    d2 = np.concatenate([np.sqrt(m2**2 + np.sum(p**2, -1))[..., None], -p], axis=-1)
    beta = parent[..., 1:] / parent[..., :1]
    return boost(d1, beta), boost(d2, beta)


def sample_cos_theta_transverse(n: int, *, rng: np.random.Generator):
    """Draw ``n`` values of cos(theta) with density ``(1 + cos^2 theta) * 3/8`` on [-1, 1].

    Inverts the cumulative distribution ``(c + c^3/3 + 4/3) * 3/8`` exactly (Cardano).

    Examples
    --------
    >>> c = sample_cos_theta_transverse(200_000, rng=np.random.default_rng(0))
    >>> round(float(np.mean(c**2)), 2)  # 2/5 for 1 + cos^2, 1/3 for flat
    0.4
    """
    u = rng.random(n)
    q = 4.0 - 8.0 * u  # c^3 + 3 c + q = 0
    root = np.sqrt(q**2 / 4.0 + 1.0)
    return np.clip(np.cbrt(-q / 2.0 + root) + np.cbrt(-q / 2.0 - root), -1.0, 1.0)


def _pipi_mass_density(m_pipi):
    m_pi, m_psi, m_jpsi = mass_gev(211), mass_gev(100443), mass_gev(443)
    return (two_body_momentum(m_psi, m_jpsi, m_pipi) * two_body_momentum(m_pipi, m_pi, m_pi)
            * (m_pipi**2 - 4.0 * m_pi**2) ** 2)


def sample_pipi_mass(n: int, *, rng: np.random.Generator, n_grid: int = 4001):
    """Draw ``n`` pi pi masses [GeV] for psi(2S) -> pi+ pi- J/psi (see the module docstring).

    Inverse-CDF sampling on a grid of ``n_grid`` points between the kinematic limits.

    Examples
    --------
    >>> m = sample_pipi_mass(10_000, rng=np.random.default_rng(0))
    >>> bool(m.min() > 0.279 and m.max() < 0.590), round(float(np.median(m)), 2)
    (True, 0.52)
    """
    m_pi, m_psi, m_jpsi = mass_gev(211), mass_gev(100443), mass_gev(443)
    grid = np.linspace(2.0 * m_pi, m_psi - m_jpsi, n_grid)
    density = _pipi_mass_density(grid)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    return np.interp(rng.random(n), cdf / cdf[-1], grid)


def psi2s_to_pipi_jpsi(lepton_mass_gev, *, rng: np.random.Generator):
    """Four-momenta of ``psi(2S) -> pi+ pi- J/psi, J/psi -> l+ l-`` with the psi(2S) at rest.

    Parameters
    ----------
    lepton_mass_gev : array (n,)
        Lepton mass [GeV] of each event (``mass_gev(11)`` or ``mass_gev(13)``).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray (n, 4, 4)
        ``(E, px, py, pz)`` [GeV] of ``(pi+, pi-, l+, l-)``.

    Examples
    --------
    >>> p = psi2s_to_pipi_jpsi(np.full(3, mass_gev(13)), rng=np.random.default_rng(1))
    >>> total = p.sum(axis=1)
    >>> bool(np.abs(total[:, 1:]).max() < 1e-12), bool(np.allclose(total[:, 0], 3.6861, atol=1e-4))
    (True, True)
    >>> np.allclose(invariant_mass(p[:, 2], p[:, 3]), mass_gev(443))
    True
    """
    m_lep = np.asarray(lepton_mass_gev, dtype=float)
    n = m_lep.size
    m_pi, m_psi, m_jpsi = mass_gev(211), mass_gev(100443), mass_gev(443)
    m_pipi = sample_pipi_mass(n, rng=rng)
    psi = np.zeros((n, 4))
    psi[:, 0] = m_psi
    jpsi, pipi = _decay(psi, np.full(n, m_jpsi), m_pipi, _isotropic(n, rng=rng))
    pi_plus, pi_minus = _decay(pipi, np.full(n, m_pi), np.full(n, m_pi), _isotropic(n, rng=rng))
    cos_t = sample_cos_theta_transverse(n, rng=rng)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    axis = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=-1)
    l_plus, l_minus = _decay(jpsi, m_lep, m_lep, axis)
    return np.stack([pi_plus, pi_minus, l_plus, l_minus], axis=1)


def phase_space_pipimumu(n: int, *, rng: np.random.Generator, batch_factor: float = 3.0):
    """Four-momenta of ``e+ e- -> pi+ pi- mu+ mu-`` at sqrt(s) = m(psi(2S)), flat phase space.

    GENBOD (Raubold-Lynch): two sorted uniforms fix the intermediate masses
    ``M2 = m_pi+ + m_pi- + r1 T`` and ``M3 = M2_min + m_mu + r2 T`` (``T`` the kinetic energy);
    the event weight is the product of the three two-body momenta, unweighted by accept-reject
    against its analytic upper bound. Batches are drawn until ``n`` events are accepted.

    Returns
    -------
    numpy.ndarray (n, 4, 4)
        ``(E, px, py, pz)`` [GeV] of ``(pi+, pi-, mu+, mu-)``.

    Examples
    --------
    >>> p = phase_space_pipimumu(5, rng=np.random.default_rng(2))
    >>> p.shape, bool(np.allclose(invariant_mass(*p.transpose(1, 0, 2)), mass_gev(100443)))
    ((5, 4, 4), True)
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    masses = np.array([mass_gev(211), mass_gev(211), mass_gev(13), mass_gev(13)])
    m_tot = mass_gev(100443)
    kinetic = m_tot - masses.sum()
    cum = np.cumsum(masses)
    w_max = (two_body_momentum(cum[1] + kinetic, masses[0], masses[1])
             * two_body_momentum(cum[2] + kinetic, cum[1], masses[2])
             * two_body_momentum(m_tot, cum[2], masses[3]))
    accepted = []
    n_left = n
    while n_left > 0:
        size = int(batch_factor * n_left) + 16
        r = np.sort(rng.random((size, 2)), axis=1)
        m2 = cum[1] + r[:, 0] * kinetic
        m3 = cum[2] + r[:, 1] * kinetic
        p12 = two_body_momentum(m2, masses[0], masses[1])
        p3 = two_body_momentum(m3, m2, masses[2])
        p4 = two_body_momentum(m_tot, m3, masses[3])
        keep = rng.random(size) * w_max < p12 * p3 * p4
        m2, m3 = m2[keep][:n_left], m3[keep][:n_left]
        k = m2.size
        top = np.zeros((k, 4))
        top[:, 0] = m_tot
        sys3, mu_minus = _decay(top, m3, np.full(k, masses[3]), _isotropic(k, rng=rng))
        sys2, mu_plus = _decay(sys3, m2, np.full(k, masses[2]), _isotropic(k, rng=rng))
        pi_plus, pi_minus = _decay(sys2, np.full(k, masses[0]), np.full(k, masses[1]),
                                   _isotropic(k, rng=rng))
        accepted.append(np.stack([pi_plus, pi_minus, mu_plus, mu_minus], axis=1))
        n_left -= k
    return np.concatenate(accepted, axis=0) if accepted else np.zeros((0, 4, 4))
