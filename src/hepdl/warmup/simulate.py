"""Two small toy data sets for the pre-exercises.

``simulate_barrel_events``: a 2-D barrel tracker seen along the beam. Charged particles leave
the origin in a solenoid field, so their paths are circles through the origin; each crosses five
cylindrical layers. For a circle of radius :math:`R_c` through the origin, the hit on a layer of
radius :math:`r` sits at azimuth

.. math:: \\phi(r) = \\phi_0 - q \\arcsin\\left(\\frac{r}{2 R_c}\\right), \\qquad
          R_c\\,[\\mathrm{m}] = \\frac{p_T\\,[\\mathrm{GeV}]}{0.3\\,B\\,[\\mathrm{T}]},

the standard helix relation (PDG Review, "Passage of particles through matter" and
"Kinematics"). Modelling choices: pT uniform in 0.5-5 GeV, phi uniform, charge +-1 with equal
odds, Poisson multiplicity, 2% hit inefficiency, position smearing of 0.1 mm along the layer,
uniform noise hits, energy deposits drawn from a log-normal around a 30 keV most-probable value
(a stand-in for the Landau distribution of a ~100 um silicon sensor).

``simulate_showers``: two calorimeter features for electrons and charged pions of 2-20 GeV,
E/p (cluster energy over track momentum) and the shower width. Electrons deposit all their
energy (E/p ~ 1, resolution 15%/sqrt(E) (+) 1%) in a narrow shower (Moliere radius);
pions deposit a fraction of it, broadly spread and wider. Modelling choices: pion E/p
from a Beta(4, 2.2) scaled by 1.15 and smeared by 50%/sqrt(E); widths log-normal,
pions' correlated with E/p. The classes overlap enough that a cut on one feature is
clearly beaten by a classifier that uses both.

Both are seeded through a ``numpy.random.Generator`` and vectorised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hepdl.common.checks import positive_int
from hepdl.common.physics import curvature_radius_mm

__all__ = [
    "BarrelConfig",
    "ShowerConfig",
    "config_dict",
    "curvature_radius_mm",
    "hit_phi",
    "simulate_barrel_events",
    "simulate_showers",
]


@dataclass(frozen=True)
class BarrelConfig:
    """Toy barrel tracker.

    Attributes
    ----------
    layer_radii_mm : radii of the five layers [mm]
    field_tesla : solenoid field [T]
    mean_particles : Poisson mean of particles per event
    pt_range_gev : (min, max) of the uniform pT distribution [GeV]
    inefficiency : probability that a layer misses a hit
    resolution_mm : Gaussian smearing of the hit along the layer [mm]
    mean_noise_hits : Poisson mean of random noise hits per event
    energy_mpv_kev : most probable deposit per hit [keV]
    energy_sigma : log-normal width of the deposit
    """

    layer_radii_mm: tuple[float, ...] = (50.0, 100.0, 150.0, 200.0, 250.0)
    field_tesla: float = 2.0
    mean_particles: float = 6.0
    pt_range_gev: tuple[float, float] = (0.5, 5.0)
    inefficiency: float = 0.02
    resolution_mm: float = 0.1
    mean_noise_hits: float = 3.0
    energy_mpv_kev: float = 30.0
    energy_sigma: float = 0.3


@dataclass(frozen=True)
class ShowerConfig:
    """Electron/pion calorimeter toy.

    Attributes
    ----------
    momentum_range_gev : (min, max) of the uniform track momentum [GeV]
    electron_fraction : fraction of electrons in the sample
    """

    momentum_range_gev: tuple[float, float] = (2.0, 20.0)
    electron_fraction: float = 0.5



def hit_phi(radius_mm, pt_gev, charge, phi0, *, field_tesla: float = 2.0):
    """Azimuth [rad] where a track from the origin crosses a layer, or NaN if it curls first.

    Parameters
    ----------
    radius_mm : layer radius [mm]
    pt_gev : transverse momentum [GeV]
    charge : +1 or -1 [e]
    phi0 : initial direction [rad]
    field_tesla : solenoid field [T]

    Examples
    --------
    A 1 GeV track in 2 T has R_c = 1.668 m; at r = 1 m it has turned by asin(0.2998):

    >>> round(float(hit_phi(1000.0, 1.0, +1, 0.0)), 4)
    -0.3045
    >>> bool(np.isnan(hit_phi(1000.0, 0.2, +1, 0.0)))
    True
    """
    radius_curv_mm = curvature_radius_mm(pt_gev, field_tesla=field_tesla)
    ratio = np.asarray(radius_mm) / (2.0 * radius_curv_mm)
    with np.errstate(invalid="ignore"):
        turned = np.where(ratio <= 1.0, np.arcsin(np.minimum(ratio, 1.0)), np.nan)
    return np.asarray(phi0) - np.asarray(charge) * turned


def simulate_barrel_events(n_events: int, *, rng: np.random.Generator, config=BarrelConfig()):
    """Simulate ``n_events`` of the toy barrel tracker.

    Returns
    -------
    dict
        ``hits``: ``event`` (int32), ``layer`` (int8, 0 = innermost; noise hits sit on real
        layers too), ``x``, ``y`` [mm] (float32), ``energy`` [keV] (float32),
        ``particle`` (int32, index in the event's particle list, -1 for noise);
        ``particles``: ``event``, ``particle``, ``pt`` [GeV], ``phi0`` [rad], ``charge``;
        ``events``: ``n_particles`` per event.
    """
    n_events = positive_int("n_events", n_events)
    radii = np.asarray(config.layer_radii_mm, dtype=float)
    n_layers = radii.size
    counts = rng.poisson(config.mean_particles, n_events)
    n_part = int(counts.sum())
    part_event = np.repeat(np.arange(n_events), counts)
    part_index = np.arange(n_part) - np.repeat(np.cumsum(counts) - counts, counts)
    pt = rng.uniform(*config.pt_range_gev, n_part)
    phi0 = rng.uniform(-np.pi, np.pi, n_part)
    charge = rng.choice(np.array([-1, 1]), n_part)

    phi = hit_phi(radii[None, :], pt[:, None], charge[:, None], phi0[:, None],
                  field_tesla=config.field_tesla)
    phi = phi + rng.normal(0.0, config.resolution_mm, phi.shape) / radii[None, :]
    keep = ~np.isnan(phi) & (rng.random(phi.shape) >= config.inefficiency)
    p_idx, layer = np.nonzero(keep)

    n_noise = rng.poisson(config.mean_noise_hits, n_events)
    noise_event = np.repeat(np.arange(n_events), n_noise)
    noise_layer = rng.integers(0, n_layers, noise_event.size)
    noise_phi = rng.uniform(-np.pi, np.pi, noise_event.size)

    event = np.concatenate([part_event[p_idx], noise_event])
    layers = np.concatenate([layer, noise_layer])
    phis = np.concatenate([phi[p_idx, layer], noise_phi])
    particle = np.concatenate([part_index[p_idx], np.full(noise_event.size, -1)])
    r = radii[layers]
    energy = config.energy_mpv_kev * np.exp(rng.normal(0.0, config.energy_sigma, event.size)
                                            + config.energy_sigma**2)
    order = np.lexsort((phis, layers, event))
    hits = {
        "event": event[order].astype(np.int32),
        "layer": layers[order].astype(np.int8),
        "x": (r * np.cos(phis))[order].astype(np.float32),
        "y": (r * np.sin(phis))[order].astype(np.float32),
        "energy": energy[order].astype(np.float32),
        "particle": particle[order].astype(np.int32),
    }
    particles = {
        "event": part_event.astype(np.int32),
        "particle": part_index.astype(np.int32),
        "pt": pt.astype(np.float32),
        "phi0": phi0.astype(np.float32),
        "charge": charge.astype(np.int8),
    }
    return {"hits": hits, "particles": particles, "events": {"n_particles": counts.astype(np.int32)}}


def simulate_showers(n_showers: int, *, rng: np.random.Generator, config=ShowerConfig()):
    """Simulate calorimeter features for electrons (label 1) and charged pions (label 0).

    Returns
    -------
    dict
        ``features``: ``e_over_p`` (dimensionless), ``width_mm`` [mm], ``momentum_gev`` [GeV]
        (all float32); ``label`` (int8, 1 = electron).
    """
    n_showers = positive_int("n_showers", n_showers)
    label = (rng.random(n_showers) < config.electron_fraction).astype(np.int8)
    p = rng.uniform(*config.momentum_range_gev, n_showers)
    is_e = label == 1
    e_res = np.hypot(0.15 / np.sqrt(p), 0.01)
    pi_res = 0.50 / np.sqrt(p)
    frac_pi = 1.15 * rng.beta(4.0, 2.2, n_showers)
    e_over_p = np.where(is_e, 1.0 + e_res * rng.normal(size=n_showers),
                        frac_pi + pi_res * rng.normal(size=n_showers))
    # Electron showers: ~Moliere radius (9 mm in tungsten), slowly narrowing with energy.
    width_e = 9.0 * (1.0 - 0.1 * np.log(p / 2.0)) * np.exp(0.25 * rng.normal(size=n_showers))
    # Pion showers are wider; a pion that dumps most of its energy early looks more compact.
    width_pi = 16.0 * (1.3 - 0.6 * np.clip(frac_pi, 0, 1.2)) * np.exp(0.45 * rng.normal(size=n_showers))
    width = np.where(is_e, width_e, width_pi)
    features = {
        "e_over_p": e_over_p.astype(np.float32),
        "width_mm": width.astype(np.float32),
        "momentum_gev": p.astype(np.float32),
    }
    return {"features": features, "label": label}


def config_dict(config) -> dict:
    """A JSON-friendly dict of a config dataclass (for file attributes)."""
    return asdict(config)
