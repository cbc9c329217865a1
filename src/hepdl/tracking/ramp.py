"""A 2-D barrel tracker in the layout of the RAMP / DS@HEP 2017 "HEP_tracking" challenge.

The detector and the generator follow the original challenge's simulation (the RAMP kit
``HEP_tracking``, ``simulation/simulate.py`` and ``produce.py``, after ATLAS HL-LHC studies,
CERN-LHCC-2017-005 section 2.4):

* nine barrel layers at R = 39, 85, 155, 213, 271, 405, 562, 762 and 1000 mm, seen along the
  beam; each is divided in azimuth into cells of 0.025 mm (pixel layers 0-4) or 0.05 mm (strip
  layers 5-8), ``N_phi = int(2 pi R / pitch) + 1`` cells, numbered ``iphi`` from phi = 0;
* tracks per event ~ Poisson(10) (redrawn if 0, as the original does), a "hard" setting with
  Poisson(50) (:meth:`RampConfig.hard`); pT uniform in 0.3-10 GeV (or a falling exponential);
  azimuth uniform; charge +-1; vertex x, y ~ N(0, 0.67 mm);
* circles in B = 2 T (R_c [m] = pT [GeV] / (0.3 B [T])) from layer to layer; at each layer a
  Gaussian multiple-scattering kink of theta0 = 13.6 MeV / pT * sqrt(0.02) * (1 + 0.038 ln 0.02)
  (Highland, 2% X0 per layer; in 2-D the momentum is pT);
* a 3% chance per layer of losing the hit and a 1% chance per layer that the track stops there
  (after its hit); optional noise hits uniform over layers and cells;
* a hit is the cell the track crosses; two particles in the same cell make one hit, which keeps
  the later particle's id (as in the original, where the later particle overwrites the cell).

Expected hits per track: sum over layers of 0.97 x 0.99^l = 8.39 (the original data: 8.38).

Modelling choices that differ from the original code, on purpose:

* the field points along +z, so a positive particle turns clockwise (azimuth decreasing with
  radius); the original code bends positive tracks the other way;
* the original code's magnet constant (R [mm] = pT [MeV] / 0.3) corresponds to 1 T; we use the
  2 T of the design notes; with pT >= 0.3 GeV both reach the outer layer;
* ``x, y`` are the centre of the hit cell (the original writes the cell's lower edge, half a
  pitch away: 12.5 or 25 um);
* pT is stored in GeV (the original particle files give MeV).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from hepdl.common import tables
from hepdl.common.azimuth import phi_bin
from hepdl.common.checks import positive_int
from hepdl.common.physics import curvature_radius_mm, highland_theta0, next_crossing
from hepdl.tracking.geometry import RAMP_LAYER_RADII_MM, RAMP_PHI_PITCH_MM, phi_cells

__all__ = ["RampConfig", "config_dict", "n_phi_cells", "simulate_ramp_events"]

PT_SPECTRA = ("uniform", "exponential")


@dataclass(frozen=True)
class RampConfig:
    """The RAMP 2-D tracker and its particle gun.

    Attributes
    ----------
    layer_radii_mm : radii of the nine layers [mm]
    phi_pitch_mm : cell size along the layer, one per layer [mm]
    field_tesla : solenoid field along +z [T]
    mean_tracks : Poisson mean of tracks per event (zero is redrawn)
    pt_spectrum : ``"uniform"`` in ``pt_range_gev``, or ``"exponential"``: falling as
        exp(-pT / pt_slope_gev), truncated to ``pt_range_gev``
    pt_range_gev : (min, max) transverse momentum [GeV]
    pt_slope_gev : slope of the exponential spectrum [GeV]
    vertex_sigma_mm : Gaussian spread of the vertex in x and in y [mm]
    thickness_x0 : material per layer [radiation lengths], for multiple scattering
    inefficiency : probability that a crossed layer records no hit
    stop_probability : probability that a track stops after each layer it crosses
    noise_fraction : expected fraction of all hits that are noise (``cluster_id`` -1)
    """

    layer_radii_mm: tuple[float, ...] = RAMP_LAYER_RADII_MM
    phi_pitch_mm: tuple[float, ...] = RAMP_PHI_PITCH_MM
    field_tesla: float = 2.0
    mean_tracks: float = 10.0
    pt_spectrum: str = "uniform"
    pt_range_gev: tuple[float, float] = (0.3, 10.0)
    pt_slope_gev: float = 1.0
    vertex_sigma_mm: float = 2.0 / 3.0
    thickness_x0: float = 0.02
    inefficiency: float = 0.03
    stop_probability: float = 0.01
    noise_fraction: float = 0.0

    def __post_init__(self):
        radii = np.asarray(self.layer_radii_mm, dtype=float)
        if radii.ndim != 1 or radii.size < 2 or np.any(np.diff(radii) <= 0) or radii[0] <= 0:
            raise ValueError(f"layer_radii_mm must be at least two increasing positive radii, "
                             f"got {self.layer_radii_mm!r}")
        if len(self.phi_pitch_mm) != radii.size or min(self.phi_pitch_mm) <= 0:
            raise ValueError(f"phi_pitch_mm needs one positive pitch per layer ({radii.size}), "
                             f"got {self.phi_pitch_mm!r}")
        if self.pt_spectrum not in PT_SPECTRA:
            raise ValueError(f"pt_spectrum must be one of {PT_SPECTRA}, got {self.pt_spectrum!r}")
        low, high = self.pt_range_gev
        if not 0 < low < high:
            raise ValueError(f"pt_range_gev must be (min, max) with 0 < min < max [GeV], "
                             f"got {self.pt_range_gev!r}")
        for name in ("field_tesla", "mean_tracks", "pt_slope_gev"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("vertex_sigma_mm", "thickness_x0"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be zero or positive, got {getattr(self, name)!r}")
        for name in ("inefficiency", "stop_probability", "noise_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), "
                                 f"got {getattr(self, name)!r}")

    @classmethod
    def hard(cls, **changes) -> RampConfig:
        """The "hard" setting: Poisson(50) tracks per event (other fields as given).

        Examples
        --------
        >>> RampConfig.hard().mean_tracks
        50.0
        """
        return replace(cls(), **{"mean_tracks": 50.0, **changes})


def n_phi_cells(config: RampConfig = RampConfig()) -> np.ndarray:
    """Number of azimuthal cells of each layer of ``config``, ``int(2 pi R / pitch) + 1``.

    See :func:`hepdl.tracking.geometry.phi_cells`.

    Examples
    --------
    >>> n_phi_cells().tolist()
    [9802, 21363, 38956, 53533, 68110, 50894, 70624, 95756, 125664]
    """
    return phi_cells(config.layer_radii_mm, config.phi_pitch_mm)


def _draw_pt(n: int, rng: np.random.Generator, config: RampConfig) -> np.ndarray:
    low, high = config.pt_range_gev
    u = rng.random(n)
    if config.pt_spectrum == "uniform":
        return low + (high - low) * u
    slope = config.pt_slope_gev
    return low - slope * np.log1p(-u * (1.0 - np.exp(-(high - low) / slope)))


def _simulate_cell_hits(n_events: int, rng: np.random.Generator, config: RampConfig):
    """One block of ``n_events``: the particles and the cells they fire, with noise.

    Returns ``(hits, particles)``, flat tables with an ``event`` column counting from 0 (the
    callback of :func:`hepdl.common.tables.without_empty_events`): ``hits`` one row per fired
    cell (``event``, ``cluster_id``, ``layer``, ``iphi``, a random sort ``key``), two particles
    in one cell making one hit that keeps the later particle's id; ``particles`` one row per
    generated particle.
    """
    radii = np.asarray(config.layer_radii_mm, dtype=float)
    n_layers = radii.size
    n_cells = n_phi_cells(config)

    counts = tables.positive_poisson(config.mean_tracks, n_events, rng=rng)
    n_part = int(counts.sum())
    event = np.repeat(np.arange(n_events), counts)
    cluster = tables.index_within(event, counts)
    pt = _draw_pt(n_part, rng, config)
    phi0 = rng.uniform(-np.pi, np.pi, n_part)
    charge = 2 * rng.integers(0, 2, n_part) - 1
    x_vtx = rng.normal(0.0, config.vertex_sigma_mm, n_part)
    y_vtx = rng.normal(0.0, config.vertex_sigma_mm, n_part)
    theta0 = (highland_theta0(pt, config.thickness_x0) if config.thickness_x0 > 0
              else np.zeros(n_part))
    kinks = rng.normal(size=(n_part, n_layers)) * theta0[:, None]
    efficient = rng.random((n_part, n_layers)) >= config.inefficiency
    # number of layers crossed before stopping (stops after its hit on the last one)
    if config.stop_probability > 0:
        n_crossed = rng.geometric(config.stop_probability, n_part)
    else:
        n_crossed = np.full(n_part, n_layers + 1)

    rc = curvature_radius_mm(pt, field_tesla=config.field_tesla)
    x, y = x_vtx.copy(), y_vtx.copy()
    ux, uy = np.cos(phi0), np.sin(phi0)
    alive = np.ones(n_part, dtype=bool)
    hit = np.zeros((n_part, n_layers), dtype=bool)
    hit_phi = np.zeros((n_part, n_layers))
    for layer, radius in enumerate(radii):
        x, y, ux, uy, _, reached = next_crossing(x, y, ux, uy, charge, rc, radius)
        alive &= reached & (layer < n_crossed)
        hit[:, layer] = alive & efficient[:, layer]
        hit_phi[:, layer] = np.arctan2(y, x)
        cos_k, sin_k = np.cos(kinks[:, layer]), np.sin(kinks[:, layer])
        ux, uy = cos_k * ux - sin_k * uy, sin_k * ux + cos_k * uy

    p_idx, layer = np.nonzero(hit)
    iphi = phi_bin(hit_phi[p_idx, layer], n_cells[layer])
    hit_event = event[p_idx]
    hit_cluster = cluster[p_idx]

    # noise: a fraction f of all hits, i.e. f / (1 - f) per track hit, uniform over layers/cells
    track_hits = np.bincount(hit_event, minlength=n_events)
    f = config.noise_fraction
    n_noise = rng.poisson(f / (1.0 - f) * track_hits)
    noise_event = np.repeat(np.arange(n_events), n_noise)
    noise_layer = rng.integers(0, n_layers, noise_event.size)
    noise_iphi = (rng.random(noise_event.size) * n_cells[noise_layer]).astype(np.int64)

    hits = {
        "event": np.concatenate([hit_event, noise_event]),
        "cluster_id": np.concatenate([hit_cluster, np.full(noise_event.size, -1)]),
        "layer": np.concatenate([layer, noise_layer]),
        "iphi": np.concatenate([iphi, noise_iphi]),
    }
    # one hit per cell: the particle simulated last (largest id) wins; noise never hides a track
    order = np.lexsort((-hits["cluster_id"], hits["iphi"], hits["layer"], hits["event"]))
    hits = tables.take(hits, order)
    cell = np.stack([hits["event"], hits["layer"], hits["iphi"]])
    first = np.ones(cell.shape[1], dtype=bool)
    first[1:] = np.any(cell[:, 1:] != cell[:, :-1], axis=0)
    hits = tables.take(hits, first)
    hits["key"] = rng.random(hits["event"].size)  # the original shuffles hits within an event

    particles = {"event": event, "cluster_id": cluster, "pt": charge * pt, "phi": phi0,
                 "x_vtx": x_vtx, "y_vtx": y_vtx}
    return hits, particles


def simulate_ramp_events(n_events: int, *, rng: np.random.Generator,
                         config: RampConfig = RampConfig()) -> dict:
    """Simulate ``n_events`` of the RAMP 2-D tracker (see the module docstring for the physics).

    Parameters
    ----------
    n_events : number of events, at least 1
    rng : the random generator
    config : detector and particle gun

    Returns
    -------
    dict
        ``hits`` (one row per hit, events in order, hits shuffled within an event as in the
        original files): ``event_id`` (int32), ``cluster_id`` (int32, the particle's index in
        its event, -1 for noise), ``layer`` (int8, 0-8), ``iphi`` (int32, cell number from
        phi = 0), ``x``, ``y`` (float32, centre of the cell [mm]);
        ``particles`` (one row per generated particle, hits or not): ``event_id``,
        ``cluster_id`` (int32), ``pt`` (float32, [GeV], signed by the charge), ``phi``
        (float32, initial direction [rad]), ``x_vtx``, ``y_vtx`` (float32, vertex [mm]).
        Every event has at least one hit (an event that left none is drawn again).

    Examples
    --------
    >>> data = simulate_ramp_events(3, rng=np.random.default_rng(1))
    >>> sorted(data["hits"])
    ['cluster_id', 'event_id', 'iphi', 'layer', 'x', 'y']
    >>> np.unique(data["hits"]["event_id"]).tolist()
    [0, 1, 2]
    """
    n_events = positive_int("n_events", n_events)
    if not isinstance(config, RampConfig):
        raise TypeError(f"config must be a RampConfig, got {type(config).__name__}")
    hits, particles = tables.without_empty_events(
        lambda n, r: _simulate_cell_hits(n, r, config), n_events, rng=rng)

    order = np.lexsort((hits["key"], hits["event"]))
    hits = tables.take(hits, order)
    radii = np.asarray(config.layer_radii_mm, dtype=float)
    n_cells = n_phi_cells(config)
    phi_cell = 2.0 * np.pi * (hits["iphi"] + 0.5) / n_cells[hits["layer"]]
    r = radii[hits["layer"]]
    order = np.lexsort((particles["cluster_id"], particles["event"]))
    particles = tables.take(particles, order)
    return {
        "hits": {
            "event_id": hits["event"].astype(np.int32),
            "cluster_id": hits["cluster_id"].astype(np.int32),
            "layer": hits["layer"].astype(np.int8),
            "iphi": hits["iphi"].astype(np.int32),
            "x": (r * np.cos(phi_cell)).astype(np.float32),
            "y": (r * np.sin(phi_cell)).astype(np.float32),
        },
        "particles": {
            "event_id": particles["event"].astype(np.int32),
            "cluster_id": particles["cluster_id"].astype(np.int32),
            "pt": particles["pt"].astype(np.float32),
            "phi": particles["phi"].astype(np.float32),
            "x_vtx": particles["x_vtx"].astype(np.float32),
            "y_vtx": particles["y_vtx"].astype(np.float32),
        },
    }


def config_dict(config) -> dict:
    """A JSON-friendly dict of a config dataclass (for file attributes).

    Examples
    --------
    >>> config_dict(RampConfig())["mean_tracks"]
    10.0
    """
    return asdict(config)
