"""A 3-D barrel tracker that writes the TrackML challenge's per-event tables.

Geometry: the barrel of the TrackML detector (Amrouche et al., "The Tracking Machine Learning
challenge: Accuracy phase", 2019; layer radii and volume envelopes as in the TrackML geometry
data): ten cylinders at r = 32, 72, 116, 172 mm (pixel barrel, ``volume_id`` 8), 260, 360,
500, 660 mm (short strips, volume 13) and 820, 1020 mm (long strips, volume 17), with TrackML's
even ``layer_id`` (2, 4, 6, 8 in each volume). The sensitive half-lengths, 490 mm (pixels) and
1080 mm (strips), sit just inside the volumes' envelopes (500 and 1140 mm). There are no end-caps:
a particle beyond a cylinder's end leaves no hit on it.

Particles: helices in a 2 T field along +z, from a vertex x, y ~ N(0, 0.015 mm), z ~ N(0, 55 mm)
(the LHC luminous region). Between layers the trajectory is exact; at each sensitive layer a
particle gets a multiple-scattering kink in two planes (Highland, PDG eq. 34.15, 2% X0 per layer
at normal incidence, divided by the cosine of the incidence angle), which keeps |p|.

Hits: the true crossing (``tx, ty, tz``) smeared along r-phi and z by pitch / sqrt(12) for the
TrackML pitches: pixels 0.05 x 0.05 mm, short strips 0.08 x 1.2 mm, long strips 0.12 x 10.8 mm.
Module ids number a (phi, z) grid on each layer.

Weights: the TrackML scoring weights (:func:`hit_weights`), computed as the TrackML library does
(``trackml/weights.py`` of github.com/LAL/trackml-library, by M. Kiehn): an order weight from
the proposal [10, 8, 6, 5, 3, 3, 3, 5, 6] stretched over the particle's hits ordered by
|tz - vz| (more weight on the first and last hits; 0 for particles with fewer than 4 hits),
times a pT weight (0.2 below 0.5 GeV, rising linearly to 1 at 3 GeV), zero for noise,
normalised to sum to 1 per event.

Modelling choices (labelled as such): ``mean_particles`` = 1,000 charged particles per event
(a TrackML event holds about 10,000; a tenth keeps the files small); |eta| < 2 uniform, phi
uniform; pT = 0.15 GeV + Exp(0.45 GeV) for 95% of the particles and 1 GeV + Exp(5 GeV) for a
hard 5%; species 80% pions, 12% kaons, 5% (anti)protons, 2% electrons, 1% muons (masses and
charges from the ``particle`` package); a 1% chance per layer of a missing hit, a 0.5% chance
per layer that a particle stops (a nuclear interaction); noise hits making 10% of all hits,
uniform over the layers' surface; only the outgoing half-turn of loopers is simulated;
no module overlaps (one hit per particle and layer), no secondaries, no energy loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from particle import Particle

from hepdl.common import tables
from hepdl.common.azimuth import phi_bin
from hepdl.common.checks import positive_int
from hepdl.common.physics import curvature_radius_mm, highland_theta0, next_crossing
from hepdl.tracking.geometry import (TRACKML_HALF_LENGTH_MM, TRACKML_LAYER_IDS,
                                     TRACKML_LAYER_RADII_MM, TRACKML_VOLUME_IDS)

__all__ = ["ORDER_PROPOSAL", "TrackMLConfig", "config_dict", "hit_weights", "order_weight_matrix",
           "simulate_trackml_events"]

#: TrackML's order-weight proposal (first hit, ..., last hit), stretched to each track length.
ORDER_PROPOSAL = (10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0)
ORDER_MIN_HITS = 4
ORDER_MAX_HITS = 20


@dataclass(frozen=True)
class TrackMLConfig:
    """The TrackML-like barrel and its particles (one entry per layer in the per-layer tuples).

    Attributes
    ----------
    layer_radii_mm : cylinder radii [mm]
    volume_ids, layer_ids : TrackML identifiers of each cylinder
    half_length_mm : sensitive half-length of each cylinder along z [mm]
    resolution_rphi_mm, resolution_z_mm : Gaussian hit smearing along r-phi and z [mm]
    module_size_mm : (r-phi, z) size of the modules of each cylinder [mm]
    field_tesla : solenoid field along +z [T]
    mean_particles : Poisson mean of charged particles per event (zero is redrawn)
    eta_max : particles are uniform in pseudorapidity within +-eta_max
    pt_min_gev : minimum transverse momentum [GeV]
    pt_soft_slope_gev : slope of the soft exponential above ``pt_min_gev`` [GeV]
    hard_fraction : fraction of particles from the hard component
    pt_hard_min_gev, pt_hard_slope_gev : the hard component, ``min + Exp(slope)`` [GeV]
    species : PDG ids of the particles drawn
    species_fractions : their fractions (sum 1)
    vertex_sigma_xy_mm, vertex_sigma_z_mm : Gaussian vertex spread [mm]
    thickness_x0 : material of each layer at normal incidence [radiation lengths]
    inefficiency : probability that a crossed layer records no hit
    stop_probability : probability that a particle stops after each layer
    noise_fraction : expected fraction of all hits that are noise (``particle_id`` 0)
    """

    layer_radii_mm: tuple[float, ...] = TRACKML_LAYER_RADII_MM
    volume_ids: tuple[int, ...] = TRACKML_VOLUME_IDS
    layer_ids: tuple[int, ...] = TRACKML_LAYER_IDS
    half_length_mm: tuple[float, ...] = TRACKML_HALF_LENGTH_MM
    resolution_rphi_mm: tuple[float, ...] = ((0.05 / 12**0.5,) * 4 + (0.08 / 12**0.5,) * 4
                                             + (0.12 / 12**0.5,) * 2)
    resolution_z_mm: tuple[float, ...] = ((0.05 / 12**0.5,) * 4 + (1.2 / 12**0.5,) * 4
                                          + (10.8 / 12**0.5,) * 2)
    module_size_mm: tuple[tuple[float, float], ...] = ((16.8, 70.0),) * 4 + ((48.0, 108.0),) * 6
    field_tesla: float = 2.0
    mean_particles: float = 1000.0
    eta_max: float = 2.0
    pt_min_gev: float = 0.15
    pt_soft_slope_gev: float = 0.45
    hard_fraction: float = 0.05
    pt_hard_min_gev: float = 1.0
    pt_hard_slope_gev: float = 5.0
    species: tuple[int, ...] = (211, -211, 321, -321, 2212, -2212, 11, -11, 13, -13)
    species_fractions: tuple[float, ...] = (0.40, 0.40, 0.06, 0.06, 0.03, 0.02, 0.01, 0.01,
                                            0.005, 0.005)
    vertex_sigma_xy_mm: float = 0.015
    vertex_sigma_z_mm: float = 55.0
    thickness_x0: float = 0.02
    inefficiency: float = 0.01
    stop_probability: float = 0.005
    noise_fraction: float = 0.10

    def __post_init__(self):
        radii = np.asarray(self.layer_radii_mm, dtype=float)
        if radii.ndim != 1 or radii.size < 2 or np.any(np.diff(radii) <= 0) or radii[0] <= 0:
            raise ValueError(f"layer_radii_mm must be increasing positive radii, "
                             f"got {self.layer_radii_mm!r}")
        for name in ("volume_ids", "layer_ids", "half_length_mm", "resolution_rphi_mm",
                     "resolution_z_mm", "module_size_mm"):
            if len(getattr(self, name)) != radii.size:
                raise ValueError(f"{name} needs one entry per layer ({radii.size}), "
                                 f"got {len(getattr(self, name))}")
        if len(self.species) != len(self.species_fractions) or not np.isclose(
                sum(self.species_fractions), 1.0) or min(self.species_fractions) < 0:
            raise ValueError("species_fractions must give one non-negative fraction per entry of "
                             f"species, summing to 1; got {self.species_fractions!r}")
        for pdg in self.species:
            charge = Particle.from_pdgid(pdg).charge
            if abs(charge) != 1:
                raise ValueError(f"species must be charged +-1 particles; PDG id {pdg} has "
                                 f"charge {charge}")
        for name in ("field_tesla", "mean_particles", "eta_max", "pt_min_gev",
                     "pt_soft_slope_gev", "pt_hard_min_gev", "pt_hard_slope_gev"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("vertex_sigma_xy_mm", "vertex_sigma_z_mm", "thickness_x0"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be zero or positive, got {getattr(self, name)!r}")
        for name in ("hard_fraction", "inefficiency", "stop_probability", "noise_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), "
                                 f"got {getattr(self, name)!r}")


def order_weight_matrix(proposal=ORDER_PROPOSAL, min_hits: int = ORDER_MIN_HITS,
                        max_hits: int = ORDER_MAX_HITS) -> np.ndarray:
    """TrackML's order weights, indexed ``[nhits, ihit]``; each row with nhits >= min sums to 1.

    The proposal is stretched linearly over the ``nhits`` hits of a track (TrackML library,
    ``weights.py``); tracks shorter than ``min_hits`` get zero weight.

    Examples
    --------
    >>> w = order_weight_matrix()
    >>> w.shape
    (21, 20)
    >>> np.round(w[9, :9] * 49, 6).tolist()   # nine hits: the proposal itself, over its sum 49
    [10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0]
    >>> float(w[3].sum()), round(float(w[12].sum()), 12)
    (0.0, 1.0)
    """
    proposal = np.asarray(proposal, dtype=float)
    w = np.zeros((max_hits + 1, max_hits))
    for nhits in range(min_hits, max_hits + 1):
        supports = np.arange(proposal.size) * (nhits - 1) / (proposal.size - 1)
        row = np.interp(np.arange(nhits), supports, proposal)
        w[nhits, :nhits] = row / row.sum()
    return w


_ORDER_MATRIX = order_weight_matrix()


def hit_weights(event_id, particle_id, tz, particle_vz, particle_pt) -> np.ndarray:
    """TrackML scoring weights of hits, normalised to sum to 1 in each event.

    Parameters
    ----------
    event_id : event of each hit
    particle_id : particle of each hit, 0 for noise
    tz : true z of each hit [mm]
    particle_vz : vertex z of the hit's particle [mm] (any value for noise)
    particle_pt : transverse momentum of the hit's particle at its vertex [GeV]

    Returns
    -------
    numpy.ndarray
        float64 weights: order weight x pT weight, 0 for noise and for particles with fewer than
        4 hits, divided by the event's sum. Hits are ordered along a particle by |tz - vz|
        (ties in the order of the input), as the TrackML library does.

    Examples
    --------
    One event: a 9-hit particle of 5 GeV and a noise hit; the first hit carries 10/49:

    >>> pid = np.array([1] * 9 + [0])
    >>> tz = np.array([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 5])
    >>> w = hit_weights(np.zeros(10, int), pid, tz, np.zeros(10), np.full(10, 5.0))
    >>> round(float(w[0]), 4), float(w[-1]), round(float(w.sum()), 12)
    (0.2041, 0.0, 1.0)
    """
    event_id = np.asarray(event_id)
    particle_id = np.asarray(particle_id)
    n = event_id.size
    arrays = {"particle_id": particle_id, "tz": tz, "particle_vz": particle_vz,
              "particle_pt": particle_pt}
    for name, value in arrays.items():
        if np.shape(value) != (n,):
            raise ValueError(f"{name} must have one entry per hit ({n}), got shape "
                             f"{np.shape(value)}")
    pt = np.asarray(particle_pt, dtype=float)
    w_pt = np.interp(pt, [min(0.05, 0.5), 0.5, 3.0], [0.2, 0.2, 1.0], left=0.0, right=1.0)
    abs_dz = np.abs(np.asarray(tz, dtype=float) - np.asarray(particle_vz, dtype=float))
    # order by (event, particle, |tz - vz|), ties in input order: two stable sorts
    by_dz = np.argsort(abs_dz, kind="stable")
    _, event_dense = np.unique(event_id, return_inverse=True)
    pid_values, pid_dense = np.unique(particle_id, return_inverse=True)
    group_key = event_dense.ravel().astype(np.int64) * pid_values.size + pid_dense.ravel()
    order = by_dz[np.argsort(group_key[by_dz], kind="stable")]
    ev, pid = event_id[order], particle_id[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (ev[1:] != ev[:-1]) | (pid[1:] != pid[:-1])
    group = np.cumsum(new_group) - 1
    counts = np.bincount(group)
    ihit = tables.index_within(group, counts)
    nhits = counts[group]
    w_order = np.zeros(n)
    ok = (nhits >= ORDER_MIN_HITS) & (ihit < ORDER_MAX_HITS) & (pid != 0)
    w_order[ok] = _ORDER_MATRIX[np.minimum(nhits[ok], ORDER_MAX_HITS), ihit[ok]]
    weight = np.empty(n)
    weight[order] = w_order * w_pt[order]
    _, event_index = np.unique(event_id, return_inverse=True)
    total = np.bincount(event_index, weights=weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[event_index] > 0, weight / total[event_index], 0.0)


def _draw_particles(n_events: int, rng: np.random.Generator, config: TrackMLConfig) -> dict:
    counts = tables.positive_poisson(config.mean_particles, n_events, rng=rng)
    n = int(counts.sum())
    event = np.repeat(np.arange(n_events), counts)
    species = np.asarray(config.species)
    kind = rng.choice(species.size, size=n, p=np.asarray(config.species_fractions))
    masses = np.array([float(Particle.from_pdgid(p).mass) / 1000.0 for p in species])  # GeV
    charges = np.array([int(Particle.from_pdgid(p).charge) for p in species])
    hard = rng.random(n) < config.hard_fraction
    pt = np.where(hard,
                  config.pt_hard_min_gev + rng.exponential(config.pt_hard_slope_gev, n),
                  config.pt_min_gev + rng.exponential(config.pt_soft_slope_gev, n))
    eta = rng.uniform(-config.eta_max, config.eta_max, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    return {
        "event": event,
        "particle_id": tables.index_within(event, counts) + 1,
        "particle_type": species[kind],
        "mass": masses[kind],
        "q": charges[kind],
        "vx": rng.normal(0.0, config.vertex_sigma_xy_mm, n),
        "vy": rng.normal(0.0, config.vertex_sigma_xy_mm, n),
        "vz": rng.normal(0.0, config.vertex_sigma_z_mm, n),
        "px": pt * np.cos(phi),
        "py": pt * np.sin(phi),
        "pz": pt * np.sinh(eta),
    }


def _propagate(parts: dict, rng: np.random.Generator, config: TrackMLConfig) -> dict:
    """Follow the particles ``parts`` out through the cylinders; return their recorded crossings.

    Between layers the helix is exact (:func:`hepdl.common.physics.next_crossing`); at each
    sensitive layer a particle gets a multiple-scattering kink in two planes (Highland, the
    material divided by the cosine of the incidence angle) that keeps |p|. A particle stops
    after a geometric number of layers (``stop_probability``), when it curls back or, for its
    hit only, beyond a cylinder's end; a crossing is recorded unless the layer is inefficient.

    Returns
    -------
    dict of arrays, one entry per recorded crossing
        ``layer``, ``idx`` (row of the particle in ``parts``), ``tx``, ``ty``, ``tz`` (true
        position [mm]), ``tpx``, ``tpy``, ``tpz`` (true momentum there [GeV]).
    """
    n = parts["event"].size
    radii = np.asarray(config.layer_radii_mm, dtype=float)
    half = np.asarray(config.half_length_mm, dtype=float)
    n_layers = radii.size

    efficient = rng.random((n, n_layers)) >= config.inefficiency
    kinks = rng.normal(size=(2, n, n_layers))
    if config.stop_probability > 0:
        n_crossed = rng.geometric(config.stop_probability, n)
    else:
        n_crossed = np.full(n, n_layers + 1)

    q = parts["q"].astype(float)
    x, y, z = parts["vx"].copy(), parts["vy"].copy(), parts["vz"].copy()
    pt = np.hypot(parts["px"], parts["py"])
    pz = parts["pz"].copy()
    p = np.hypot(pt, pz)
    beta = p / np.hypot(p, parts["mass"])
    ux, uy = parts["px"] / pt, parts["py"] / pt
    alive = np.ones(n, dtype=bool)
    rows = []  # per layer: (particle index, true position and momentum)
    for layer, radius in enumerate(radii):
        rc = curvature_radius_mm(pt, field_tesla=config.field_tesla)
        xn, yn, uxn, uyn, turn, reached = next_crossing(x, y, ux, uy, q, rc, radius)
        zn = z + rc * turn * pz / pt
        alive &= reached & (layer < n_crossed)
        crossed = alive & (np.abs(zn) <= half[layer])
        hit = np.flatnonzero(crossed & efficient[:, layer])
        rows.append((np.full(hit.size, layer), hit, xn[hit], yn[hit], zn[hit],
                     pt[hit] * uxn[hit], pt[hit] * uyn[hit], pz[hit]))
        # multiple scattering in the crossed sensitive layers (|p| is kept)
        sin_t, cos_t = pt / p, pz / p
        with np.errstate(invalid="ignore"):
            cos_incidence = np.abs(sin_t * (uxn * xn + uyn * yn) / radius)
        theta0 = np.zeros(n)
        if config.thickness_x0 > 0:
            x_eff = config.thickness_x0 / np.maximum(cos_incidence[crossed], 0.1)  # <= 10x
            theta0[crossed] = highland_theta0(p[crossed], x_eff, beta=beta[crossed],
                                              charge=q[crossed])
        d1, d2 = kinks[0, :, layer] * theta0, kinks[1, :, layer] * theta0
        dx = sin_t * uxn - d1 * uyn - d2 * cos_t * uxn
        dy = sin_t * uyn + d1 * uxn - d2 * cos_t * uyn
        dz = cos_t + d2 * sin_t
        norm = np.sqrt(dx**2 + dy**2 + dz**2)
        dx, dy, dz = dx / norm, dy / norm, dz / norm
        dt = np.hypot(dx, dy)
        keep = ~alive  # dead particles keep finite (unused) values
        pt = np.where(keep, pt, p * dt)
        pz = np.where(keep, pz, p * dz)
        ux = np.where(keep, ux, dx / dt)
        uy = np.where(keep, uy, dy / dt)
        x, y, z = np.where(keep, x, xn), np.where(keep, y, yn), np.where(keep, z, zn)
    names = ("layer", "idx", "tx", "ty", "tz", "tpx", "tpy", "tpz")
    return {name: np.concatenate(col) for name, col in zip(names, zip(*rows))}


def _measure(crossings: dict, parts: dict, n_events: int, rng: np.random.Generator,
             config: TrackMLConfig) -> dict:
    """The hits of recorded ``crossings``: smeared, with noise added and module ids assigned.

    A measured position is the true crossing smeared along r-phi and z by the layer's
    resolution, on the cylinder. Noise hits, ``noise_fraction`` of all hits, are uniform over
    the layers' surface. Modules number a (phi, z) grid of each layer.

    Returns
    -------
    dict of arrays, one entry per hit (track hits first, then noise)
        ``event``, ``x``, ``y``, ``z``, ``volume_id``, ``layer_id``, ``module_id``,
        ``particle_id`` (0 for noise), the truth ``tx`` ... ``tpz``, ``particle_vz``,
        ``particle_pt`` and ``layer`` (0-9).
    """
    radii = np.asarray(config.layer_radii_mm, dtype=float)
    half = np.asarray(config.half_length_mm, dtype=float)
    n_layers = radii.size
    layer, idx = crossings["layer"], crossings["idx"]
    tx, ty, tz = crossings["tx"], crossings["ty"], crossings["tz"]
    # measured position: smeared along r-phi and z, on the cylinder
    res_rphi = np.asarray(config.resolution_rphi_mm)[layer]
    res_z = np.asarray(config.resolution_z_mm)[layer]
    phi_m = np.arctan2(ty, tx) + rng.normal(size=layer.size) * res_rphi / radii[layer]
    z_m = tz + rng.normal(size=layer.size) * res_z
    hit_event = parts["event"][idx]

    track_hits = np.bincount(hit_event, minlength=n_events)
    f = config.noise_fraction
    n_noise = rng.poisson(f / (1.0 - f) * track_hits)
    noise_event = np.repeat(np.arange(n_events), n_noise)
    area = radii * half
    noise_layer = rng.choice(n_layers, size=noise_event.size, p=area / area.sum())
    noise_phi = rng.uniform(-np.pi, np.pi, noise_event.size)
    noise_z = rng.uniform(-1.0, 1.0, noise_event.size) * half[noise_layer]
    noise_r = radii[noise_layer]

    layer = np.concatenate([layer, noise_layer])
    phi_m = np.concatenate([phi_m, noise_phi])
    z_m = np.concatenate([z_m, noise_z])
    r = radii[layer]
    size = np.asarray(config.module_size_mm, dtype=float)
    n_mod_phi = np.ceil(2 * np.pi * radii / size[:, 0]).astype(np.int64)
    n_mod_z = np.ceil(2 * half / size[:, 1]).astype(np.int64)
    mod_phi = phi_bin(phi_m, n_mod_phi[layer])
    mod_z = np.clip(((z_m + half[layer]) / (2 * half[layer]) * n_mod_z[layer]).astype(np.int64),
                    0, n_mod_z[layer] - 1)
    zeros = np.zeros(noise_event.size)
    return {
        "event": np.concatenate([hit_event, noise_event]),
        "x": r * np.cos(phi_m),
        "y": r * np.sin(phi_m),
        "z": z_m,
        "volume_id": np.asarray(config.volume_ids)[layer],
        "layer_id": np.asarray(config.layer_ids)[layer],
        "module_id": 1 + mod_z * n_mod_phi[layer] + mod_phi,
        "particle_id": np.concatenate([parts["particle_id"][idx],
                                       np.zeros(noise_event.size, dtype=np.int64)]),
        "tx": np.concatenate([tx, noise_r * np.cos(noise_phi)]),
        "ty": np.concatenate([ty, noise_r * np.sin(noise_phi)]),
        "tz": np.concatenate([tz, noise_z]),
        "tpx": np.concatenate([crossings["tpx"], zeros]),
        "tpy": np.concatenate([crossings["tpy"], zeros]),
        "tpz": np.concatenate([crossings["tpz"], zeros]),
        "particle_vz": np.concatenate([parts["vz"][idx], zeros]),
        "particle_pt": np.concatenate([np.hypot(parts["px"], parts["py"])[idx], zeros]),
        "layer": layer,
    }


def _simulate_hits(n_events: int, rng: np.random.Generator, config: TrackMLConfig):
    """One block of ``n_events``: particles, their hits and noise, as ``(hits, particles)``.

    Flat tables with an ``event`` column counting from 0, the callback of
    :func:`hepdl.common.tables.without_empty_events` (see :func:`_propagate` and
    :func:`_measure` for the two steps).
    """
    parts = _draw_particles(n_events, rng, config)
    hits = _measure(_propagate(parts, rng, config), parts, n_events, rng, config)
    return hits, parts


def simulate_trackml_events(n_events: int, *, rng: np.random.Generator,
                            config: TrackMLConfig = TrackMLConfig()) -> dict:
    """Simulate ``n_events`` of the TrackML-like barrel (see the module docstring).

    Parameters
    ----------
    n_events : number of events, at least 1
    rng : the random generator
    config : detector and particles

    Returns
    -------
    dict
        Three tables, each with an ``event_id`` column (int32) added to the TrackML columns:
        ``hits``: ``hit_id`` (int32, 1.. within an event, hits sorted by volume, layer and
        module), ``x``, ``y``, ``z`` (float32, [mm]), ``volume_id``, ``layer_id`` (int8),
        ``module_id`` (int32);
        ``truth`` (row for row the same hits): ``hit_id``, ``particle_id`` (int64, 0 = noise),
        ``tx``, ``ty``, ``tz`` (float32, true crossing [mm]), ``tpx``, ``tpy``, ``tpz``
        (float32, true momentum there [GeV]), ``weight`` (float32, sums to 1 per event);
        ``particles``: ``particle_id`` (int64, 1.. within an event), ``particle_type`` (int32,
        PDG id), ``vx``, ``vy``, ``vz`` (float32, [mm]), ``px``, ``py``, ``pz`` (float32,
        [GeV]), ``q`` (int8, [e]), ``nhits`` (int32).

    Examples
    --------
    >>> data = simulate_trackml_events(1, rng=np.random.default_rng(0),
    ...                                config=TrackMLConfig(mean_particles=20.0))
    >>> sorted(data)
    ['hits', 'particles', 'truth']
    >>> bool(np.all(data["truth"]["hit_id"] == data["hits"]["hit_id"]))
    True
    >>> round(float(data["truth"]["weight"].sum()), 6)
    1.0
    """
    n_events = positive_int("n_events", n_events)
    if not isinstance(config, TrackMLConfig):
        raise TypeError(f"config must be a TrackMLConfig, got {type(config).__name__}")
    hits, parts = tables.without_empty_events(
        lambda n, r: _simulate_hits(n, r, config), n_events, rng=rng)

    # sort by event, layer and module, in random order within a module
    shuffle = rng.permutation(hits["event"].size)
    key = (hits["event"] * len(config.layer_radii_mm) + hits["layer"]) * (
        int(hits["module_id"].max()) + 1) + hits["module_id"]
    hits = tables.take(hits, shuffle[np.argsort(key[shuffle], kind="stable")])
    counts = np.bincount(hits["event"], minlength=n_events)
    hit_id = tables.index_within(hits["event"], counts) + 1
    weight = hit_weights(hits["event"], hits["particle_id"], hits["tz"], hits["particle_vz"],
                         hits["particle_pt"])

    order = np.lexsort((parts["particle_id"], parts["event"]))
    parts = tables.take(parts, order)
    # hits per particle: count (event, particle) pairs of the truth table
    n_per_event = np.bincount(parts["event"], minlength=n_events)
    offset = np.cumsum(n_per_event) - n_per_event
    track = hits["particle_id"] > 0
    row = offset[hits["event"][track]] + hits["particle_id"][track] - 1
    nhits = np.bincount(row, minlength=parts["event"].size)

    f32 = np.float32
    ev_hits = hits["event"].astype(np.int32)
    return {
        "hits": {
            "event_id": ev_hits,
            "hit_id": hit_id.astype(np.int32),
            "x": hits["x"].astype(f32), "y": hits["y"].astype(f32), "z": hits["z"].astype(f32),
            "volume_id": hits["volume_id"].astype(np.int8),
            "layer_id": hits["layer_id"].astype(np.int8),
            "module_id": hits["module_id"].astype(np.int32),
        },
        "truth": {
            "event_id": ev_hits,
            "hit_id": hit_id.astype(np.int32),
            "particle_id": hits["particle_id"].astype(np.int64),
            **{key: hits[key].astype(f32) for key in ("tx", "ty", "tz", "tpx", "tpy", "tpz")},
            "weight": weight.astype(f32),
        },
        "particles": {
            "event_id": parts["event"].astype(np.int32),
            "particle_id": parts["particle_id"].astype(np.int64),
            "particle_type": parts["particle_type"].astype(np.int32),
            **{key: parts[key].astype(f32) for key in ("vx", "vy", "vz", "px", "py", "pz")},
            "q": parts["q"].astype(np.int8),
            "nhits": nhits.astype(np.int32),
        },
    }


def config_dict(config) -> dict:
    """A JSON-friendly dict of a config dataclass (for file attributes).

    Examples
    --------
    >>> config_dict(TrackMLConfig())["volume_ids"][:4]
    (8, 8, 8, 8)
    """
    return asdict(config)
