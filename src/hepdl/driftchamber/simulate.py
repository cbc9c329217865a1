"""A BESIII-like drift chamber seeing psi(2S) -> pi+ pi- J/psi and e+ e- -> pi+ pi- mu+ mu-.

Three event types, in balanced numbers (the lesson's classes), see :data:`EVENT_TYPES`:
0 ``psi(2S) -> pi+ pi- J/psi, J/psi -> e+ e-``; 1 the same with ``J/psi -> mu+ mu-``;
2 ``e+ e- -> pi+ pi- mu+ mu-`` in flat four-body phase space, all at sqrt(s) = m(psi(2S)) with
the psi(2S) at rest (kinematics: :mod:`hepdl.driftchamber.kinematics`).

Tracking. Each particle leaves the beam line (x = y = 0, z = z0 drawn per event from the beam
spot) on a helix in the solenoid field B = 1 T along +z. With ``R = pT / (0.3 B)`` and ``psi``
the angle the momentum has turned, the track sits at radius ``r = 2 R |sin(psi / 2)|``, azimuth
``phi0 - q psi / 2`` and height ``z0 + R psi pz / pT`` (PDG Review "Kinematics"; a positive
track turns clockwise). It crosses the layer of radius ``r_l`` (the 43 BESIII layers, see
:mod:`hepdl.driftchamber.geometry`) at ``psi_out = 2 asin(r_l / 2R)`` and, if it turns back
before the outer wall (``2R <`` 810 mm: a "curler", pions below pT = 0.114 GeV never reach the
last layer), again on its way in at ``2 pi - psi_out``, and so on every turn up to
``max_turns``. A crossing is a hit when the track is inside the layer's length (``|z| <`` the
wire half-length, which gives the chamber's |cos theta| < 0.93 acceptance: a track inside it
crosses at least the 20 inner layers) on the wire nearest in azimuth at that z (stereo wires are
twisted). The hit's ``x, y`` are the wire's mid-point (the talk's ``(XE + XW) / 2``), its
``rt`` a drift time ``t0 + d / v_drift`` (``d`` the distance to the wire) smeared by the time
resolution, its ``rc`` the charge ``Q_mip * <dE/dx>(beta gamma) * LogNormal`` of
:mod:`hepdl.driftchamber.dedx`. A wire fires once: when several crossings (or a noise hit) fall
on one wire, the earliest pulse is kept. Noise hits, 10% of all hits, sit on random wires with
a minimum-ionising charge and a random time.

Modelling choices (labelled as such): no energy loss, multiple scattering or bremsstrahlung
along the path (a curler repeats its circle exactly, so later turns re-hit the same axial
wires); crossings at the end-plate radius of the layer; 100% hit efficiency; the drift
velocity, t0, time resolution and ADC scale below; noise uniform over the wires.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from hepdl.common.checks import positive_int
from hepdl.common.physics import curvature_radius_mm
from hepdl.driftchamber import kinematics
from hepdl.driftchamber.dedx import GasConfig, lognormal_fluctuation, relative_dedx
from hepdl.driftchamber.geometry import N_WIRES, ChamberGeometry, load_geometry, nearest_wire
from hepdl.driftchamber.kinematics import N_TRACKS

__all__ = [
    "EVENT_TYPES",
    "DriftChamberConfig",
    "config_dict",
    "curvature_radius_mm",
    "simulate_events",
]

#: Event type number -> name.
EVENT_TYPES = ("jpsi_ee", "jpsi_mumu", "pipimumu")
_TRACK_BLOCK = 8192


@dataclass(frozen=True)
class DriftChamberConfig:
    """Settings of the drift-chamber simulation.

    Attributes
    ----------
    field_tesla : solenoid field [T]
    outer_wall_radius_mm : radius of the chamber's outer wall [mm]; a track whose circle
        reaches beyond it leaves the chamber, one that turns back inside it curls
    max_turns : full turns of a curler that are followed (modelling choice)
    beam_spot_z_mm : Gaussian width of the interaction point along z [mm]
    noise_fraction : fraction of all hits that are noise
    charge_mip_adc : mean charge of a minimum-ionising hit [ADC counts] (modelling choice)
    charge_log_sigma : width s of the log-normal charge fluctuation
    t0_ns : time offset of a zero-distance hit [ns]
    drift_velocity_mm_per_ns : drift velocity [mm/ns]
    time_resolution_ns : Gaussian smearing of the drift time [ns]
    noise_time_range_ns : (min, max) of the uniform noise-hit times [ns]
    gas : the chamber gas (dE/dx)
    """

    field_tesla: float = 1.0
    outer_wall_radius_mm: float = 810.0
    max_turns: int = 3
    beam_spot_z_mm: float = 10.0
    noise_fraction: float = 0.10
    charge_mip_adc: float = 600.0
    charge_log_sigma: float = 0.40
    t0_ns: float = 250.0
    drift_velocity_mm_per_ns: float = 0.025
    time_resolution_ns: float = 5.0
    noise_time_range_ns: tuple[float, float] = (0.0, 1600.0)
    gas: GasConfig = field(default_factory=GasConfig)

    def __post_init__(self):
        if not self.max_turns >= 1:
            raise ValueError(f"max_turns must be at least 1, got {self.max_turns!r}")
        if not 0.0 <= self.noise_fraction < 1.0:
            raise ValueError(f"noise_fraction must be in [0, 1), got {self.noise_fraction!r}")
        if not self.field_tesla > 0:
            raise ValueError(f"field_tesla must be positive, got {self.field_tesla!r}")


def config_dict(config: DriftChamberConfig) -> dict:
    """A JSON-friendly dict of the configuration (for file attributes).

    Examples
    --------
    >>> config_dict(DriftChamberConfig())["gas"]["mean_excitation_ev"]
    46.5
    """
    return asdict(config)



def _four_momenta(types, *, rng):
    n = types.size
    p4 = np.empty((n, N_TRACKS, 4))
    jpsi = types < 2
    m_lep = np.where(types == 0, kinematics.mass_gev(11), kinematics.mass_gev(13))[jpsi]
    p4[jpsi] = kinematics.psi2s_to_pipi_jpsi(m_lep, rng=rng)
    p4[~jpsi] = kinematics.phase_space_pipimumu(int((~jpsi).sum()), rng=rng)
    return p4


def _first_per_group(event, gid, time):
    """Indices of the earliest hit on each (event, wire), sorted by event and wire.

    One int64 sort: (event, wire) in the high bits, the time in picoseconds (clipped to
    [0, 16.7 us)) in the low 24 bits.
    """
    time_ps = np.clip(np.rint(np.asarray(time) * 1000.0), 0, 2**24 - 1).astype(np.int64)
    wire_key = event.astype(np.int64) * N_WIRES + gid
    order = np.argsort((wire_key << 24) | time_ps)
    first = np.ones(order.size, dtype=bool)
    sorted_key = wire_key[order]
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    return order[first]


def _track_hits(tracks, geo: ChamberGeometry, config: DriftChamberConfig, *, rng):
    """All layer crossings of all tracks inside the chamber: one row per crossing."""
    radius = curvature_radius_mm(tracks["pt"], field_tesla=config.field_tesla)
    curler = 2.0 * radius < config.outer_wall_radius_mm
    n_cross = np.where(curler, 2 * config.max_turns, 1)
    reach = geo.radius_mm[None, :] <= 2.0 * radius[:, None]
    crossing = np.arange(2 * config.max_turns)
    mask = reach[:, :, None] & (crossing[None, None, :] < n_cross[:, None, None])
    t, layer, c = np.nonzero(mask)
    psi_out = 2.0 * np.arcsin(np.minimum(geo.radius_mm[layer] / (2.0 * radius[t]), 1.0))
    psi = 2.0 * np.pi * (c // 2) + np.where(c % 2 == 0, psi_out, 2.0 * np.pi - psi_out)
    z = tracks["z0"][t] + radius[t] * psi * tracks["pz"][t] / tracks["pt"][t]
    inside = np.abs(z) < geo.half_length_mm[layer]
    t, layer, psi, z = t[inside], layer[inside], psi[inside], z[inside]
    phi = tracks["phi0"][t] - tracks["charge"][t] * psi / 2.0
    wire, delta_phi = nearest_wire(geo, layer, phi, z)
    distance = geo.radius_mm[layer] * np.abs(delta_phi)
    rt = (config.t0_ns + distance / config.drift_velocity_mm_per_ns
          + rng.normal(0.0, config.time_resolution_ns, t.size))
    rc = (config.charge_mip_adc * tracks["dedx"][t]
          * lognormal_fluctuation(t.size, rng=rng, sigma=config.charge_log_sigma))
    return {"event": tracks["event"][t], "gid": geo.first_wire[layer] + wire,
            "rt": rt, "rc": rc, "trk": tracks["trk"][t]}


def _noise_hits(n_track_hits, geo: ChamberGeometry, config: DriftChamberConfig, *, rng):
    f = config.noise_fraction
    counts = rng.poisson(f / (1.0 - f) * n_track_hits)
    event = np.repeat(np.arange(n_track_hits.size), counts)
    n = event.size
    return {"event": event, "gid": rng.integers(0, geo.wire_layer.size, n),
            "rt": rng.uniform(*config.noise_time_range_ns, n),
            "rc": config.charge_mip_adc * lognormal_fluctuation(n, rng=rng,
                                                                 sigma=config.charge_log_sigma),
            "trk": np.full(n, -1)}


def simulate_events(n_events: int, *, rng: np.random.Generator,
                    config: DriftChamberConfig = DriftChamberConfig()):
    """Simulate ``n_events`` events, a third of each type, in random order.

    Parameters
    ----------
    n_events : int
        Number of events (>= 1).
    rng : numpy.random.Generator
    config : DriftChamberConfig

    Returns
    -------
    dict
        ``hits`` (sorted by event, layer, wire; one hit per fired wire):
        ``event`` int32, ``layer`` int8 (0-42), ``wire`` int16 (within the layer),
        ``stereo`` int8 (1 stereo, 0 axial), ``x``, ``y`` [mm] float32 (wire mid-point),
        ``rt`` [ns] float32 (drift time), ``rc`` [ADC counts] float32 (charge),
        ``trk`` int8 (0 pi+, 1 pi-, 2 l+, 3 l-, -1 noise);
        ``particles`` (four per event, in ``trk`` order): ``event`` int32, ``trk`` int8,
        ``pdg`` int32, ``px``, ``py``, ``pz`` [GeV] float32;
        ``events``: ``type`` int8 (index into :data:`EVENT_TYPES`).

    Examples
    --------
    >>> data = simulate_events(6, rng=np.random.default_rng(0))
    >>> np.bincount(data["events"]["type"]).tolist(), data["particles"]["pdg"][:4].tolist()
    ([2, 2, 2], [211, -211, -11, 11])
    """
    n_events = positive_int("n_events", n_events)
    geo = load_geometry()
    types = rng.permutation(np.arange(n_events) % len(EVENT_TYPES)).astype(np.int8)
    p4 = _four_momenta(types, rng=rng)
    z0 = rng.normal(0.0, config.beam_spot_z_mm, n_events)

    lepton = np.where(types == 0, 11, 13)
    pdg = np.stack([np.full(n_events, 211), np.full(n_events, -211), -lepton, lepton], axis=1)
    p4 = p4.reshape(-1, 4)
    pdg = pdg.reshape(-1)
    track_mass = np.select([np.abs(pdg) == 11, np.abs(pdg) == 13],
                           [kinematics.mass_gev(11), kinematics.mass_gev(13)],
                           kinematics.mass_gev(211))
    momentum = np.linalg.norm(p4[:, 1:], axis=1)
    tracks = {
        "event": np.repeat(np.arange(n_events), N_TRACKS),
        "trk": np.tile(np.arange(N_TRACKS), n_events),
        "pt": np.hypot(p4[:, 1], p4[:, 2]),
        "pz": p4[:, 3],
        "phi0": np.arctan2(p4[:, 2], p4[:, 1]),
        "charge": np.tile([1, -1, 1, -1], n_events),  # pi+, pi-, l+, l-
        "z0": np.repeat(z0, N_TRACKS),
        "dedx": relative_dedx(momentum, track_mass, gas=config.gas),
    }
    # tracks in blocks of _TRACK_BLOCK, so that memory stays flat for large builds
    blocks = [_track_hits({k: v[start:start + _TRACK_BLOCK] for k, v in tracks.items()}, geo,
                          config, rng=rng)
              for start in range(0, tracks["event"].size, _TRACK_BLOCK)]
    hits = {k: np.concatenate([block[k] for block in blocks]) for k in blocks[0]}
    keep = _first_per_group(hits["event"], hits["gid"], hits["rt"])
    hits = {k: v[keep] for k, v in hits.items()}
    noise = _noise_hits(np.bincount(hits["event"], minlength=n_events), geo, config, rng=rng)
    hits = {k: np.concatenate([hits[k], noise[k]]) for k in hits}
    keep = _first_per_group(hits["event"], hits["gid"], hits["rt"])  # sorted by event, gid
    hits = {k: v[keep] for k, v in hits.items()}
    layer = geo.wire_layer[hits["gid"]]
    return {
        "hits": {
            "event": hits["event"].astype(np.int32),
            "layer": layer.astype(np.int8),
            "wire": geo.wire_index[hits["gid"]].astype(np.int16),
            "stereo": geo.is_stereo[layer].astype(np.int8),
            "x": geo.wire_x_mm[hits["gid"]].astype(np.float32),
            "y": geo.wire_y_mm[hits["gid"]].astype(np.float32),
            "rt": hits["rt"].astype(np.float32),
            "rc": np.rint(hits["rc"]).astype(np.float32),
            "trk": hits["trk"].astype(np.int8),
        },
        "particles": {
            "event": tracks["event"].astype(np.int32),
            "trk": tracks["trk"].astype(np.int8),
            "pdg": pdg.astype(np.int32),
            "px": p4[:, 1].astype(np.float32),
            "py": p4[:, 2].astype(np.float32),
            "pz": p4[:, 3].astype(np.float32),
        },
        "events": {"type": types},
    }
