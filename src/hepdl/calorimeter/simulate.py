"""Single e-, gamma, pi0 and pi+ showers in an LCD/CLIC-like calorimeter, as 3-D cell images.

Every event is one particle at normal incidence, with an energy drawn uniformly in 10-510 GeV
(an "energy scan" as in the public files), hitting a random point of the ECAL window's central
cell. A shower is a cloud of *spots* drawn from parameterised profiles; each spot carries an
equal share of the shower's energy and is histogrammed into the cell it falls in
(``np.bincount``), whole chunks of events at once. Cells are then smeared for sampling.
Geometry and materials: :mod:`hepdl.calorimeter.geometry`.

Electromagnetic showers (e-, gamma, the photons of a pi0):

* Longitudinal profile: a Gamma distribution in depth t [X0], ``dE/dt ~ (bt)^(a-1) e^(-bt)``
  with ``b = 0.5`` and maximum ``t_max = (a - 1) / b = ln(E / Ec) + C``, ``C = -0.5`` for an
  electron and ``+0.5`` for a photon (PDG Review "Passage of particles through matter",
  electromagnetic cascades; Longo and Sestili 1975). A photon first converts after an exponential depth of
  mean 9/7 X0 (drawn per photon and stored); its shower then starts there with ``C = 0.5 - 9/7``,
  so that its mean maximum is ``ln(E/Ec) + 0.5`` from the front. The maximum T and the shape
  ``alpha = a`` fluctuate shower by shower, log-normally and correlated, with Grindhammer and
  Peters' widths for sampling calorimeters ``sigma(ln T) = 1 / (-2.5 + 1.25 ln y)``,
  ``sigma(ln alpha) = 1 / (-0.82 + 0.79 ln y)`` (``y = E/Ec``: 0.16 and 0.21 at 10 GeV,
  0.09 and 0.13 at 500 GeV) and correlation ``0.784 - 0.023 ln y``; then ``b = (a - 1) / T``.
* The first charged particles, which the Gamma profile misses (it rises like ``t^(a-1)``):
  in the j-th layer (j = 0, 1, 2) from the shower's start, ``N_j`` minimum-ionising tracks on
  its axis, ``n0`` = 1 for an electron and 2 for a converted photon's pair, each multiplying
  as in Furry's model (a Yule process doubling every X0): ``N_j = n0 + NegativeBinomial(n0,
  2^-j)``, mean ``n0 2^j``.
* Albedo: energy scattered back from the shower into the ECAL layers in front of its maximum,
  on average ``1e-3 E exp(-d / 5 X0)`` per layer at a distance d from the maximum (0.4 % of E
  in all), in Gamma-distributed 5 MeV quanta (modelling choice, sized so that a few MIPs'
  worth reach the first layer at a few hundred GeV: a photon that has not converted there is
  then no longer silent in it).
* Lateral profile: Grindhammer and Peters (hep-ex/0001020), ``f(r) = p f_C(r) + (1 - p) f_T(r)``
  with ``f_i(r) = 2 r R_i^2 / (r^2 + R_i^2)^2``, a core ``R_C = z1 + z2 tau`` and a tail
  ``R_T = k1 (exp(k3 (tau - k2)) + exp(k4 (tau - k2)))`` in units of the effective Moliere
  radius, ``tau = t / t_max``, and the core fraction ``p(tau)`` (about 0.85 at the maximum),
  with their parameters for tungsten (Z = 74).
* Past the ECAL's 25 X0 the shower goes on in the HCAL (1.089 X0 per layer), whose cells see
  the leaking energy.
* Sampling: each cell's energy ``e`` is replaced by a Gamma variate of mean ``e`` and variance
  ``a^2 e`` (``a`` = 0.16 sqrt(GeV) in the ECAL, 0.30 in the HCAL), so that a sum of cells has
  variance ``a^2 E``: sigma/E = 16 %/sqrt(E), and every cell stays positive. A per-event scale
  factor of width 1 % (calibration non-uniformity) adds the constant term: sigma/E =
  16 %/sqrt(E) (+) 1 % in all, the CLICdet ECAL's 15.6 %/sqrt(E) (+) 1 %. The albedo is
  shower energy and is sampled with it; the first tracks' ionisation is added after the
  sampling and the scale factor, as sharp MIP signals with their own Moyal fluctuation.

pi0 -> gamma gamma (mass from ``particle``): isotropic in the pi0 frame, so the energy
fraction ``z = E1 / E`` is uniform in ``[(1 - beta) / 2, (1 + beta) / 2]`` and the opening angle
is ``cos theta = 1 - m^2 / (2 E1 E2)``, at least ``2 m / E`` (at ``z = 1/2``). Each photon flies
from the interaction point at its own angle to the pi0 direction (transverse momenta balance),
so at the ECAL front (1.5 m) the two photons are about 8 cells apart at 10 GeV, 1.6 at
50 GeV and less than one cell above about 80 GeV: the substructure a 3-D image keeps and the
summary features blur.

pi+ (mass from ``particle``):

* A minimum-ionising track (Landau-like, Moyal, fluctuations of 10 %) through every layer in
  front of the first inelastic interaction, which happens after an exponential depth of mean
  1.15 lambda_I (so 54 % of pions start showering in the ECAL's 0.88 lambda_I; 0.1 % punch
  through the whole calorimeter).
* From there a hadronic shower with a Gamma profile in depth [lambda_I], maximum
  ``t_max = 0.2 ln(E / GeV) + 0.7`` (PDG Review "Calorimetry"; Fabjan and Gianotti 2003) and
  ``b = 1 / lambda_I``.
* An electromagnetic fraction ``f_em``, mean ``1 - (E / 0.7 GeV)^(-0.18)`` (Groom's power law:
  0.38 at 10 GeV, 0.59 at 100 GeV, 0.69 at 500 GeV), drawn per event from a Beta distribution
  whose width shrinks with energy, ``0.20 (E / 10 GeV)^(-0.4)`` (0.20 at 10 GeV, 0.08 at 100
  GeV, 0.04 at 500 GeV): the f_em fluctuations of a real non-compensating calorimeter are
  neither a stochastic nor a constant term, and they fall with energy (Wigmans, *Calorimetry*,
  2nd ed., 2017; Groom, NIM A 572 (2007) 633). The exponent and the widths are modelling
  choices: with them the f_em fluctuations are about half of the stochastic term's variance
  (removing each shower's f_em lowers a from about 0.58 to 0.40), so that a correction that
  reads f_em from the shower's shape (software compensation) improves the stochastic term, as
  CALICE measured on data (JINST 7 (2012) P09017). Its pi0s are made early (an exponential
  depth of mean 0.4 lambda_I behind the first interaction) and shower over a few X0 (a Gamma
  profile with its maximum at 5 X0), so that a pion that interacts in the tungsten leaves a
  good part of its energy there; its spots are narrow (the effective Moliere radius) and seen
  on the electron scale. The hadronic rest is broad (a core of 0.15 lambda_I for 75 % of its
  spots, a halo of 0.5 lambda_I) and seen at ``1 / (e/h)``, ``e/h = 1.4``, with an intrinsic
  Gamma fluctuation of 45 %/sqrt(E_h) (nuclear binding energy, neutrons): together with the
  sampling this gives about 58 %/sqrt(E) (+) 2 % for the energy the window contains, and a
  pion response that is below the electron's and grows with energy (non-compensation). (Up to
  simulator revision 2 the f_em width was 0.10 at every energy and the intrinsic term 70 %:
  a constant term of 5 %, which a network removed, and a stochastic term it could not touch.)
* What falls outside the 5 x 5 HCAL window (15 cm) or behind its 60 layers is lost, as in the
  public images: the window is narrow for hadron showers, and their measured sum is well below
  E.

Modelling choices and what is left out: no magnetic field and no tracker or other material
in front (``upstream_material_x0`` = 0; the knob is there); the parameterised profiles above instead of a particle-by-particle
cascade (no individual secondaries, no delayed neutrons, no saturation, no cell noise or
threshold in the stored images); the HCAL window is centred on the cell of the impact point
(as the public windows are centred on the barycentre), with the ECAL and HCAL windows offset
at random within a cell; equal-energy spots (50 MeV, at least 100 and at most 4,000 per shower)
set the granularity of the shower-shape fluctuations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from hepunits import GeV, MeV
from particle import Particle

from hepdl.calorimeter import geometry as geo
from hepdl.common.checks import positive_int

__all__ = [
    "PARTICLES",
    "CalorimeterConfig",
    "config_dict",
    "mass_gev",
    "pi0_decay",
    "simulate_events",
]

#: The simulated particles: name -> PDG id.
PARTICLES = {"e-": 11, "gamma": 22, "pi0": 111, "pi+": 211}

_CHUNK = 128  # events simulated at once (memory stays below ~0.3 GB)
_N_ECAL = int(np.prod(geo.ECAL_SHAPE))
_N_HCAL = int(np.prod(geo.HCAL_SHAPE))
_N_LAYERS = geo.ECAL_N_LAYERS + geo.HCAL_N_LAYERS
_EARLY_LAYERS = 3


@dataclass(frozen=True)
class CalorimeterConfig:
    """Settings of the calorimeter simulation (the defaults are the data set's).

    Attributes
    ----------
    energy_range_gev : (min, max) of the uniform particle energy [GeV]
    ecal_sampling_term, hcal_sampling_term : stochastic term a of the cells' sampling
        fluctuation, variance a^2 e for a cell of energy e [sqrt(GeV)]
    constant_term : relative width of the per-event scale factor (calibration)
    em_profile_b : b of the electromagnetic Gamma profile [1/X0]
    t_max_offset_electron, t_max_offset_photon : C in t_max = ln(E/Ec) + C [X0]
    profile_fluctuation_scale : scales the shower-by-shower log-normal fluctuations of the
        profile's maximum T and shape alpha (= a), whose widths are Grindhammer and Peters'
        for sampling calorimeters, sigma(ln T) = 1 / (-2.5 + 1.25 ln y) and sigma(ln alpha) =
        1 / (-0.82 + 0.79 ln y), y = E / Ec, correlated by rho = 0.784 - 0.023 ln y
    conversion_length_x0 : mean depth of a photon's first conversion [X0]
    upstream_material_x0 : material in front of the ECAL (a tracker) [X0]: showers may start,
        and photons convert, that far before the ECAL front (what falls there is lost);
        0 in the data set, as in the design
    albedo_fraction : backscattered energy per layer in front of the maximum, over E, at
        zero distance
    albedo_length_x0 : its attenuation length towards the front [X0]
    albedo_quantum_gev : its fluctuation quantum [GeV]
    pion_interaction_length_lambda : mean depth of a pion's first inelastic interaction
        [lambda_I]
    hadron_t_max_slope, hadron_t_max_offset : t_max = slope ln(E/GeV) + offset [lambda_I]
    hadron_profile_b : b of the hadronic Gamma profile [1/lambda_I]
    hadron_em_production_lambda : mean depth behind the first interaction at which the
        electromagnetic part is made (its pi0s) [lambda_I]
    hadron_em_t_max_x0 : shower maximum of the pion's electromagnetic sub-showers [X0]
    em_fraction_scale_gev, em_fraction_exponent : mean f_em = 1 - (E/scale)^(-exponent)
    em_fraction_sigma, em_fraction_sigma_exponent : width of the event-by-event f_em (Beta
        distribution), ``sigma * (E_shower / 10 GeV)^(-exponent)``: it shrinks with energy
    e_over_h : response to the electromagnetic over the hadronic component
    hadron_intrinsic_term : relative fluctuation of the hadronic component's visible energy,
        term/sqrt(E_h) [sqrt(GeV)]
    hadron_core_fraction : fraction of the hadronic component's spots in the narrow core
    hadron_core_radius_lambda, hadron_halo_radius_lambda : median radius of the core and the
        halo [effective lambda_I]
    mip_width : relative width of the Moyal (Landau-like) MIP fluctuation per layer
    spot_energy_gev : energy of one spot [GeV]
    min_spots, max_spots : bounds of the spots per shower
    """

    energy_range_gev: tuple[float, float] = (10.0, 510.0)
    ecal_sampling_term: float = 0.16
    hcal_sampling_term: float = 0.30
    constant_term: float = 0.01
    em_profile_b: float = 0.5
    t_max_offset_electron: float = -0.5
    t_max_offset_photon: float = 0.5
    profile_fluctuation_scale: float = 1.0
    conversion_length_x0: float = 9.0 / 7.0
    upstream_material_x0: float = 0.0
    albedo_fraction: float = 1e-3
    albedo_length_x0: float = 5.0
    albedo_quantum_gev: float = 0.005
    pion_interaction_length_lambda: float = 1.15
    hadron_t_max_slope: float = 0.2
    hadron_t_max_offset: float = 0.7
    hadron_profile_b: float = 1.0
    hadron_em_production_lambda: float = 0.4
    hadron_em_t_max_x0: float = 5.0
    em_fraction_scale_gev: float = 0.7
    em_fraction_exponent: float = 0.18
    em_fraction_sigma: float = 0.20
    em_fraction_sigma_exponent: float = 0.4
    e_over_h: float = 1.4
    hadron_intrinsic_term: float = 0.45
    hadron_core_fraction: float = 0.75
    hadron_core_radius_lambda: float = 0.15
    hadron_halo_radius_lambda: float = 0.5
    mip_width: float = 0.1
    spot_energy_gev: float = 0.05
    min_spots: int = 100
    max_spots: int = 4000

    def __post_init__(self):
        low, high = self.energy_range_gev
        if not 1.0 <= low <= high:
            raise ValueError(f"energy_range_gev must be (min, max) with 1 <= min <= max GeV, "
                             f"got {self.energy_range_gev!r}")
        for name in ("ecal_sampling_term", "hcal_sampling_term", "spot_energy_gev",
                     "em_profile_b", "hadron_profile_b", "conversion_length_x0",
                     "pion_interaction_length_lambda", "e_over_h", "albedo_length_x0",
                     "albedo_quantum_gev", "hadron_intrinsic_term"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("albedo_fraction", "upstream_material_x0", "constant_term"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.em_fraction_sigma < 0.5:
            raise ValueError(f"em_fraction_sigma must be in [0, 0.5), got "
                             f"{self.em_fraction_sigma!r}")
        if not self.em_fraction_sigma_exponent >= 0:
            raise ValueError(f"em_fraction_sigma_exponent must be >= 0 (the width must not grow "
                             f"with energy), got {self.em_fraction_sigma_exponent!r}")
        if not 1 <= self.min_spots <= self.max_spots:
            raise ValueError(f"need 1 <= min_spots <= max_spots, got {self.min_spots!r} and "
                             f"{self.max_spots!r}")


def config_dict(config: CalorimeterConfig) -> dict:
    """A JSON-friendly dict of the configuration (for file attributes).

    Examples
    --------
    >>> config_dict(CalorimeterConfig())["e_over_h"]
    1.4
    """
    out = asdict(config)
    out["energy_range_gev"] = list(out["energy_range_gev"])
    return out


def mass_gev(pdg_id: int) -> float:
    """A particle's mass [GeV], from the ``particle`` package.

    Examples
    --------
    >>> round(mass_gev(111), 5), round(mass_gev(211), 5)
    (0.13498, 0.13957)
    """
    return Particle.from_pdgid(pdg_id).mass * MeV / GeV


def pi0_decay(energy_gev, *, rng: np.random.Generator):
    """Decay pi0s of energy ``energy_gev`` [GeV] into two photons, isotropically in their frame.

    Returns
    -------
    fraction : array
        ``z = E1 / E`` of the first photon, uniform in ``[(1 - beta)/2, (1 + beta)/2]``.
    opening_angle : array
        Angle between the photons [rad], ``cos theta = 1 - m^2 / (2 E1 E2)``, at least
        ``2 asin(m / E)`` (about ``2 m / E``).
    theta1, theta2 : arrays
        Angle of each photon to the pi0's direction [rad] (``E1 sin theta1 = E2 sin theta2``,
        ``theta1 + theta2 = theta``).

    Examples
    --------
    >>> z, angle, t1, t2 = pi0_decay(np.full(1000, 10.0), rng=np.random.default_rng(0))
    >>> bool(angle.min() >= 2 * mass_gev(111) / 10.0), bool(np.allclose(t1 + t2, angle))
    (True, True)
    """
    energy = np.asarray(energy_gev, dtype=float)
    m = mass_gev(111)
    beta = np.sqrt(np.clip(1.0 - (m / energy) ** 2, 0.0, 1.0))
    fraction = 0.5 * (1.0 + beta * rng.uniform(-1.0, 1.0, energy.shape))
    e1, e2 = fraction * energy, (1.0 - fraction) * energy
    cos_angle = np.clip(1.0 - m * m / (2.0 * e1 * e2), -1.0, 1.0)
    angle = np.arccos(cos_angle)
    theta1 = np.arctan2(e2 * np.sin(angle), e1 + e2 * cos_angle)
    return fraction, angle, theta1, angle - theta1


def _x0_to_layer(t_x0):
    """Depth [X0 from the ECAL front] -> (continuous layer coordinate, in the ECAL?)."""
    ecal_x0 = geo.ECAL_N_LAYERS * geo.ECAL_X0_PER_LAYER
    in_ecal = t_x0 < ecal_x0
    u = np.where(in_ecal, t_x0 / geo.ECAL_X0_PER_LAYER,
                 geo.ECAL_N_LAYERS + (t_x0 - ecal_x0) / geo.HCAL_X0_PER_LAYER)
    return u, in_ecal


def _lambda_to_layer(t_lambda):
    """Depth [lambda_I from the ECAL front] -> (continuous layer coordinate, in the ECAL?)."""
    ecal_lambda = geo.ECAL_N_LAYERS * geo.ECAL_LAMBDA_PER_LAYER
    in_ecal = t_lambda < ecal_lambda
    u = np.where(in_ecal, t_lambda / geo.ECAL_LAMBDA_PER_LAYER,
                 geo.ECAL_N_LAYERS + (t_lambda - ecal_lambda) / geo.HCAL_LAMBDA_PER_LAYER)
    return u, in_ecal


def _layer_to_x0(u):
    """Continuous layer coordinate -> depth [X0 from the ECAL front]."""
    n = geo.ECAL_N_LAYERS
    return np.where(u < n, u * geo.ECAL_X0_PER_LAYER,
                    n * geo.ECAL_X0_PER_LAYER + (u - n) * geo.HCAL_X0_PER_LAYER)


def _layer_depth_mm(u):
    """Continuous layer coordinate -> depth behind the ECAL front [mm]."""
    n = geo.ECAL_N_LAYERS
    return np.where(u < n, u * geo.ECAL_LAYER_PITCH_MM,
                    n * geo.ECAL_LAYER_PITCH_MM + (u - n) * geo.HCAL_LAYER_PITCH_MM)


def _radius(median, rng, n):
    """Radii drawn from f(r) = 2 r R^2 / (r^2 + R^2)^2 (median R): r = R sqrt(v / (1 - v))."""
    v = np.minimum(rng.random(n), 1.0 - 1e-9)
    return median * np.sqrt(v / (1.0 - v))


def _spot_counts(energy, config):
    return np.clip(np.ceil(energy / config.spot_energy_gev), config.min_spots,
                   config.max_spots).astype(np.int64)


def _em_spots(energy, start_x0, x_mm, y_mm, slope_x, slope_y, t_max_offset, n_initial,
              config, rng):
    """Spots of electromagnetic showers: (shower index, layer coordinate, x, y [mm], E [GeV])."""
    m = energy.size
    # the parameterisations hold above ~1 GeV: a softer photon (a pi0 decaying very
    # asymmetrically) gets the profile and lateral parameters of a 1 GeV one
    ln_e_floor = np.log(np.maximum(energy, 1.0))
    ln_y = np.log(energy / geo.TUNGSTEN["critical_energy_gev"])
    ln_y_floor = ln_e_floor - np.log(geo.TUNGSTEN["critical_energy_gev"])
    # shower-to-shower fluctuations of the maximum T and of alpha (= a), correlated, with
    # Grindhammer and Peters' widths and correlation for sampling calorimeters;
    # b = (alpha - 1) / T
    scale = config.profile_fluctuation_scale
    sigma_ln_t = scale / (-2.5 + 1.25 * ln_y_floor)
    sigma_ln_a = scale / (-0.82 + 0.79 * ln_y_floor)
    rho = 0.784 - 0.023 * ln_y_floor
    z1, z2 = rng.standard_normal((2, m))
    t_max = np.maximum(ln_y + t_max_offset, 0.5) * np.exp(sigma_ln_t * z1)
    a = (1.0 + config.em_profile_b * t_max) * np.exp(
        sigma_ln_a * (rho * z1 + np.sqrt(1.0 - rho**2) * z2))
    a = np.maximum(a, 1.0 + 0.25 * config.em_profile_b)  # keep a rise for soft photons
    b = (a - 1.0) / t_max
    counts = _spot_counts(energy, config)
    idx = np.repeat(np.arange(m), counts)
    n = idx.size
    t_rel = rng.gamma(a[idx]) / b[idx]
    tau = np.minimum(t_rel / t_max[idx], 4.0)
    # Grindhammer-Peters lateral parameters (homogeneous media), Z of tungsten
    z = geo.TUNGSTEN["z"]
    ln_e = ln_e_floor[idx]
    core = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * z) * tau
    tail = (0.659 - 0.00309 * z) * (np.exp(-2.59 * (tau - 0.645))
                                    + np.exp((0.3585 + 0.0421 * ln_e) * (tau - 0.645)))
    w = (0.401 + 0.00187 * z - tau) / (1.313 - 0.0686 * ln_e)
    p_core = np.clip((2.632 - 0.00094 * z) * np.exp(w - np.exp(w)), 0.0, 1.0)
    median = np.where(rng.random(n) < p_core, core, tail)
    u, in_ecal = _x0_to_layer(start_x0[idx] + t_rel)
    r_mm = _radius(median, rng, n) * np.where(in_ecal, geo.ECAL_RM_EFF_MM, geo.HCAL_RM_EFF_MM)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    depth = _layer_depth_mm(u)
    x = x_mm[idx] + slope_x[idx] * depth + r_mm * np.cos(phi)
    y = y_mm[idx] + slope_y[idx] * depth + r_mm * np.sin(phi)
    tracks = _early_tracks(start_x0, n_initial, x_mm, y_mm, slope_x, slope_y, config, rng)
    # the tracks' ionisation and the albedo are part of the shower's energy
    taken = np.bincount(tracks[0], weights=tracks[4], minlength=m)
    parts = []
    if config.albedo_fraction > 0:
        # the albedo is shower energy (soft photons and electrons): its cells are sampled
        # like the rest of the shower, unlike the tracks' sharp MIP signals
        albedo = _albedo(energy, start_x0 + t_max, x_mm, y_mm, slope_x, slope_y, config, rng)
        taken += np.bincount(albedo[0], weights=albedo[4], minlength=m)
        parts.append(albedo)
    rest = np.maximum(energy - taken, 0.0)
    return _concat_spots([(idx, u, x, y, (rest / counts)[idx]), *parts]), tracks


def _albedo(energy, peak_x0, x_mm, y_mm, slope_x, slope_y, config, rng):
    """Energy scattered back from the shower into the ECAL layers in front of its maximum:
    in layer k, on average ``albedo_fraction E exp(-d_k / albedo_length_x0)``, d_k the distance
    from the layer to the maximum [X0], in Gamma-distributed quanta of
    ``albedo_quantum_gev``, at a radius drawn from the tail profile (median 1 R_M)."""
    k = np.arange(geo.ECAL_N_LAYERS)
    centre_x0 = (k + 0.5) * geo.ECAL_X0_PER_LAYER
    distance = peak_x0[:, None] - centre_x0[None, :]
    mean = np.where(distance > 0, config.albedo_fraction * energy[:, None]
                    * np.exp(-np.maximum(distance, 0.0) / config.albedo_length_x0), 0.0)
    event, layer = np.nonzero(mean > 0)
    quantum = config.albedo_quantum_gev
    e = rng.gamma(mean[event, layer] / quantum, quantum)
    r_mm = _radius(geo.ECAL_RM_EFF_MM, rng, event.size)
    phi = rng.uniform(0.0, 2.0 * np.pi, event.size)
    depth = (layer + 0.5) * geo.ECAL_LAYER_PITCH_MM
    x = x_mm[event] + slope_x[event] * depth + r_mm * np.cos(phi)
    y = y_mm[event] + slope_y[event] * depth + r_mm * np.sin(phi)
    return event, layer + 0.5, x, y, e


def _early_tracks(start_x0, n_initial, x_mm, y_mm, slope_x, slope_y, config, rng):
    """The ionisation of a shower's first charged particles, which the Gamma profile misses:
    ``N_j`` minimum-ionising tracks in the j-th layer (j = 0, 1, 2) from the shower's start, on
    its axis, ``n0`` = 1 for an electron, 2 for a converted photon's pair. Each particle
    multiplies as in Furry's model (a Yule process doubling every X0), so ``N_j`` is ``n0``
    plus a negative binomial: mean ``n0 2^j``, geometric fluctuations."""
    m = start_x0.size
    u0, _ = _x0_to_layer(start_x0)
    j = np.arange(_EARLY_LAYERS)
    layer = np.floor(u0)[:, None] + j[None, :]
    n_tracks = n_initial + rng.negative_binomial(n_initial, 0.5 ** j[None, :], (m, j.size))
    per_layer = np.where(layer < geo.ECAL_N_LAYERS, geo.ECAL_MIP_GEV, geo.HCAL_MIP_GEV)
    e = n_tracks * per_layer * np.maximum(
        1.0 + config.mip_width * _moyal(layer.size, rng).reshape(layer.shape)
        / np.sqrt(n_tracks), 0.0)
    depth = _layer_depth_mm(layer + 0.5)
    x = x_mm[:, None] + slope_x[:, None] * depth
    y = y_mm[:, None] + slope_y[:, None] * depth
    idx = np.repeat(np.arange(m), _EARLY_LAYERS)
    return idx, (layer + 0.5).ravel(), x.ravel(), y.ravel(), e.ravel()


def _beta_variates(mean, sigma, rng):
    """Beta variates of the given mean and standard deviation (arrays of one shape, or scalars)."""
    mean = np.clip(mean, 1e-3, 1.0 - 1e-3)
    if np.all(sigma == 0):
        return mean
    sigma = np.maximum(sigma, 1e-6)
    kappa = np.maximum(mean * (1.0 - mean) / sigma**2 - 1.0, 0.5)
    return rng.beta(mean * kappa, (1.0 - mean) * kappa)


def _moyal(n, rng):
    """Standard Moyal variates (a Landau-like tail): -ln(Z^2), Z standard normal."""
    return -np.log(np.maximum(rng.standard_normal(n) ** 2, 1e-300))


def _pion_showers(energy, x_mm, y_mm, config, rng):
    """Spots and MIP track of pions; returns (spots, mip per layer (m, 85), truth)."""
    m = energy.size
    depth = rng.exponential(config.pion_interaction_length_lambda, m)
    u0, _ = _lambda_to_layer(depth)
    n_mip = np.minimum(np.floor(u0), _N_LAYERS).astype(np.int64)
    layers = np.arange(_N_LAYERS)
    crossed = layers[None, :] < n_mip[:, None]
    per_layer = np.where(layers < geo.ECAL_N_LAYERS, geo.ECAL_MIP_GEV, geo.HCAL_MIP_GEV)
    mip_loss = (crossed * per_layer).sum(axis=1)
    mip = crossed * per_layer * np.maximum(
        1.0 + config.mip_width * _moyal(crossed.size, rng).reshape(crossed.shape), 0.0)
    showering = u0 < _N_LAYERS
    e_shower = np.where(showering, np.maximum(energy - mip_loss, 0.0), 0.0)
    mean_fem = 1.0 - (np.maximum(e_shower, config.em_fraction_scale_gev)
                      / config.em_fraction_scale_gev) ** (-config.em_fraction_exponent)
    sigma_fem = config.em_fraction_sigma * (np.maximum(e_shower, 1.0) / 10.0) ** (
        -config.em_fraction_sigma_exponent)
    f_em = np.where(showering, _beta_variates(mean_fem, sigma_fem, rng), 0.0)
    e_em = f_em * e_shower
    e_had = (1.0 - f_em) * e_shower
    c2 = config.hadron_intrinsic_term**2
    shape = np.maximum(e_had, 1e-6) / c2
    visible_had = e_had / config.e_over_h * rng.gamma(shape, 1.0 / shape)
    counts = np.where(showering, _spot_counts(e_shower, config), 0)
    n_em = np.clip(np.rint(counts * f_em), 0, counts).astype(np.int64)
    idx = np.repeat(np.arange(m), counts)
    n = idx.size
    k = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    is_em = k < n_em[idx]
    spot_e = np.where(is_em, e_em[idx] / np.maximum(n_em, 1)[idx],
                      visible_had[idx] / np.maximum(counts - n_em, 1)[idx])
    t_max = (config.hadron_t_max_slope * np.log(np.maximum(e_shower, 1.0))
             + config.hadron_t_max_offset)
    a = 1.0 + config.hadron_profile_b * t_max
    # hadronic spots follow the cascade's profile in lambda_I; the pi0s that carry the
    # electromagnetic part are made early (an exponential depth behind the first
    # interaction) and then shower over a few X0
    t = depth[idx] + np.where(is_em, rng.exponential(config.hadron_em_production_lambda, n),
                              rng.gamma(a[idx]) / config.hadron_profile_b)
    u, in_ecal = _lambda_to_layer(t)
    em_depth = rng.gamma(1.0 + config.em_profile_b * config.hadron_em_t_max_x0, 1.0,
                         n) / config.em_profile_b
    u_em, _ = _x0_to_layer(_layer_to_x0(u) + em_depth)
    u = np.where(is_em, u_em, u)
    in_ecal = u < geo.ECAL_N_LAYERS
    lam = np.where(in_ecal, geo.ECAL_LAMBDA_EFF_MM, geo.HCAL_LAMBDA_EFF_MM)
    rm = np.where(in_ecal, geo.ECAL_RM_EFF_MM, geo.HCAL_RM_EFF_MM)
    in_core = rng.random(n) < config.hadron_core_fraction
    median = np.where(is_em, rm, lam * np.where(in_core, config.hadron_core_radius_lambda,
                                                 config.hadron_halo_radius_lambda))
    r_mm = _radius(median, rng, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    spots = (idx, u, x_mm[idx] + r_mm * np.cos(phi), y_mm[idx] + r_mm * np.sin(phi), spot_e)
    return spots, mip, {"interaction_depth_lambda": depth, "em_fraction": f_em}


def _histogram(m, spots, hcal_x, hcal_y):
    """Spots -> ECAL (m, 25, 25, 25) and HCAL (m, 5, 5, 60) images [GeV] (float64)."""
    idx, u, x, y, e = spots
    nx, ny, nl = geo.ECAL_SHAPE
    layer = np.floor(u).astype(np.int64)
    ix = np.floor(x / geo.ECAL_CELL_MM + nx / 2).astype(np.int64)
    iy = np.floor(y / geo.ECAL_CELL_MM + ny / 2).astype(np.int64)
    ok = (layer >= 0) & (layer < nl) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    flat = ((idx * nx + ix) * ny + iy) * nl + layer
    ecal = np.bincount(flat[ok], weights=e[ok], minlength=m * _N_ECAL).reshape(m, nx, ny, nl)
    hx, hy, hl = geo.HCAL_SHAPE
    layer = layer - nl
    ix = np.floor((x - hcal_x[idx]) / geo.HCAL_CELL_MM + hx / 2).astype(np.int64)
    iy = np.floor((y - hcal_y[idx]) / geo.HCAL_CELL_MM + hy / 2).astype(np.int64)
    ok = (layer >= 0) & (layer < hl) & (ix >= 0) & (ix < hx) & (iy >= 0) & (iy < hy)
    flat = ((idx * hx + ix) * hy + iy) * hl + layer
    hcal = np.bincount(flat[ok], weights=e[ok], minlength=m * _N_HCAL).reshape(m, hx, hy, hl)
    return ecal, hcal


def _sample(image, term, rng):
    """Replace each cell's energy e by a Gamma variate of mean e and variance term^2 e."""
    hit = image > 0
    scale = term * term
    image[hit] = rng.gamma(image[hit] / scale, scale)
    return image


def _concat_spots(parts):
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(5))


def _simulate_chunk(m, particle, config, rng):
    energy = rng.uniform(*config.energy_range_gev, m)
    half = geo.ECAL_CELL_MM / 2
    x_imp, y_imp = rng.uniform(-half, half, (2, m))
    hcal_x, hcal_y = (np.array([x_imp, y_imp])
                      + rng.uniform(-geo.HCAL_CELL_MM / 2, geo.HCAL_CELL_MM / 2, (2, m)))
    zero = np.zeros(m)
    nan = np.full(m, np.nan)
    truth = {"openingAngle": zero, "conversion_depth_x0": nan,
             "interaction_depth_lambda": nan, "em_fraction": np.ones(m)}
    mip = None
    tracks = None
    upstream = np.full(m, -config.upstream_material_x0)
    if particle == "e-":
        spots, tracks = _em_spots(energy, upstream, x_imp, y_imp, zero, zero,
                                  config.t_max_offset_electron, 1, config, rng)
    elif particle == "gamma":
        conversion = rng.exponential(config.conversion_length_x0, m) + upstream
        spots, tracks = _em_spots(energy, conversion, x_imp, y_imp, zero, zero,
                          config.t_max_offset_photon - config.conversion_length_x0, 2, config,
                          rng)
        truth["conversion_depth_x0"] = conversion
    elif particle == "pi0":
        fraction, angle, theta1, theta2 = pi0_decay(energy, rng=rng)
        phi = rng.uniform(0.0, 2.0 * np.pi, m)
        # photon 1 along +(cos phi, sin phi), photon 2 opposite; slopes dx/dz
        slope = np.concatenate([np.tan(theta1), -np.tan(theta2)])
        slope_x, slope_y = slope * np.tile(np.cos(phi), 2), slope * np.tile(np.sin(phi), 2)
        conversion = rng.exponential(config.conversion_length_x0, 2 * m) + np.tile(upstream, 2)
        (idx, u, x, y, e), tracks = _em_spots(
            np.concatenate([fraction * energy, (1.0 - fraction) * energy]), conversion,
            np.tile(x_imp, 2) + geo.ECAL_FRONT_DISTANCE_MM * slope_x,
            np.tile(y_imp, 2) + geo.ECAL_FRONT_DISTANCE_MM * slope_y, slope_x, slope_y,
            config.t_max_offset_photon - config.conversion_length_x0, 2, config, rng)
        spots = (idx % m, u, x, y, e)
        tracks = (tracks[0] % m, *tracks[1:])
        truth["openingAngle"] = angle
        truth["conversion_depth_x0"] = np.minimum(conversion[:m], conversion[m:])
    else:
        spots, mip, pion_truth = _pion_showers(energy, x_imp, y_imp, config, rng)
        truth.update(pion_truth)
    ecal, hcal = _histogram(m, spots, hcal_x, hcal_y)
    _sample(ecal, config.ecal_sampling_term, rng)
    _sample(hcal, config.hcal_sampling_term, rng)
    scale = np.maximum(1.0 + rng.normal(0.0, config.constant_term, m), 0.0)
    ecal *= scale[:, None, None, None]
    hcal *= scale[:, None, None, None]
    if tracks is not None:  # ionisation is not smeared: a MIP signal is sharp
        ecal_tracks, hcal_tracks = _histogram(m, tracks, hcal_x, hcal_y)
        ecal += ecal_tracks
        hcal += hcal_tracks
    if mip is not None:  # the track passes the impact cell in both windows
        nx, ny, nl = geo.ECAL_SHAPE
        hx, hy, _ = geo.HCAL_SHAPE
        ecal[:, nx // 2, ny // 2, :] += mip[:, :nl]
        hcal[:, hx // 2, hy // 2, :] += mip[:, nl:]
    out = {"ECAL": ecal.astype(np.float32), "HCAL": hcal.astype(np.float32),
           "energy": energy.astype(np.float32),
           "pdgID": np.full(m, PARTICLES[particle], dtype=np.int32)}
    out.update({key: np.asarray(value, dtype=np.float32) for key, value in truth.items()})
    return out


def simulate_events(n_events: int, *, rng: np.random.Generator,
                    config: CalorimeterConfig = CalorimeterConfig(), particle: str = "e-"):
    """Simulate ``n_events`` showers of one particle type.

    Parameters
    ----------
    n_events : int
        Number of showers (>= 1).
    rng : numpy.random.Generator
    config : CalorimeterConfig
    particle : str
        One of :data:`PARTICLES`: ``"e-"``, ``"gamma"``, ``"pi0"``, ``"pi+"``.

    Returns
    -------
    dict of arrays, one row per event
        ``ECAL`` (n, 25, 25, 25) float32 and ``HCAL`` (n, 5, 5, 60) float32: cell energies on
        the electron scale [GeV], ``(x, y, layer)``; ``energy`` float32 [GeV]; ``pdgID`` int32;
        ``openingAngle`` float32 [rad] (pi0; 0 otherwise); ``conversion_depth_x0`` float32:
        depth of the (first) photon conversion behind the ECAL front [X0] (gamma, pi0; NaN
        otherwise; negative for a conversion in ``upstream_material_x0``);
        ``interaction_depth_lambda`` float32: depth of the first inelastic interaction
        [lambda_I] (pi+; NaN otherwise, beyond 7.9 for a pion that punches through);
        ``em_fraction`` float32: f_em of the pion's shower (1 for e-, gamma, pi0).

    Examples
    --------
    >>> data = simulate_events(4, rng=np.random.default_rng(0), particle="gamma")
    >>> data["ECAL"].shape, data["HCAL"].shape, data["pdgID"].tolist()
    ((4, 25, 25, 25), (4, 5, 5, 60), [22, 22, 22, 22])
    >>> bool(np.all(np.abs(data["ECAL"].sum(axis=(1, 2, 3)) / data["energy"] - 1) < 0.2))
    True
    """
    n_events = positive_int("n_events", n_events)
    if particle not in PARTICLES:
        raise ValueError(f"particle must be one of {', '.join(map(repr, PARTICLES))}, got "
                         f"{particle!r}")
    out = None
    for start in range(0, n_events, _CHUNK):
        chunk = _simulate_chunk(min(_CHUNK, n_events - start), particle, config, rng)
        if out is None:  # filled in place: a large build holds its images once
            out = {key: np.empty((n_events, *value.shape[1:]), value.dtype)
                   for key, value in chunk.items()}
        for key, value in chunk.items():
            out[key][start:start + value.shape[0]] = value
    return out
