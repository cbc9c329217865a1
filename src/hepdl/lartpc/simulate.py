"""Single particles from a test beam in a LArIAT-like liquid-argon TPC: wire images and 3-D truth.

One particle per event, of a class drawn in balanced numbers (:data:`CLASS_NAMES`): electron,
photon, muon (mu+ or mu-), charged pion (pi+ or pi-), proton, kaon (K+). It enters the active
volume through the upstream face (z = 0) at ``(x, y)`` uniform in the config's window, with a
direction drawn uniformly in solid angle within ``max_angle_deg`` of the beam axis (z), and a
momentum (energy for e and gamma) uniform in the class's range:

=========  ======================  =================================================
class      range                   what the images show
=========  ======================  =================================================
electron   E 0.1-1.0 GeV           a shower starting at the entry point (1 MIP start)
photon     E 0.1-1.0 GeV           nothing, then a shower after the conversion gap (2 MIP start)
muon       p 0.2-1.0 GeV/c         a MIP track, through-going above ~0.3 GeV/c
pion       p 0.2-1.0 GeV/c         a MIP track, often ending in a hadronic interaction
proton     p 0.3-1.0 GeV/c         a short, dense track with a Bragg peak (2.5-92 cm)
kaon       p 0.3-1.0 GeV/c         a denser track; a stopping K+ emits a 236 MeV/c mu+
=========  ======================  =================================================

Physics (:mod:`hepdl.lartpc.argon` for the constants and their sources):

* **Charged hadrons and muons** are stepped in ``step_cm`` steps along their CSDA range: the
  kinetic energy at each step is the inverse of the range table at the residual range, so the
  energy lost per step follows Bethe-Bloch (I = 188 eV) and rises into the Bragg peak at the end
  (no Landau fluctuations: modelling choice). Multiple scattering: each step turns the direction
  by two Gaussian plane angles of the Highland width (:func:`hepdl.common.physics.highland_theta0`)
  for that step's momentum and velocity. A track ends where it leaves the volume or stops.
* **Pion hadronic interactions** (and those of their secondary pions, two generations):
  after an Exp(``pion_interaction_length_cm`` = 86 cm) path the pion ends and 1-4 charged
  secondaries start there (60 % protons, 40 % pi+-), sharing 30-90 % of its kinetic energy
  (Dirichlet), in directions with cos theta uniform in [-0.3, 1] about the pion's (modelling
  choice: no neutrons, pi0 or nuclear fragments are drawn; the missing energy is invisible).
  A stopping pi+ decays to a 4.1 MeV mu+ (1.4 cm); a stopping pi- is captured (nothing drawn).
  A stopping K+ decays to mu+ nu (p = 235.5 MeV/c, its 64 % mode, taken as 100 %). Protons,
  muons and kaons do not interact in flight; muons do not decay (no Michel electrons).
* **Electromagnetic showers**, a branching model with the same stepping: an electron (or
  positron) loses ``electron_dedx_mev_per_cm`` = 2.3 MeV/cm by ionisation (ESTAR, about
  1.6 MeV cm2/g at 1-100 MeV) and radiates bremsstrahlung photons above ``brem_cut_mev`` with
  the complete-screening spectrum ``(1/X0) (4/3 - 4/3 y + y^2) / y`` (PDG eq. 34.29; y the
  photon's energy fraction), X0 = 14 cm, with Highland scattering; below ``electron_cut_mev``
  it deposits its remaining energy along a final straight piece. A photon travels Exp(18 cm)
  (9/7 X0) and, above 10 MeV, converts into an e+ e- pair sharing its energy uniformly (less
  1.022 MeV); from 1 to 10 MeV it Compton-scatters (the electron's energy uniform up to the
  Compton edge, both directions from the kinematics) and the scattered photon goes on; below
  1 MeV it is absorbed (modelling choice: one mean free path for all energies). Photons that leave the volume take their energy with them. This
  gives showers with shower maxima at about ``ln(E / Ec)`` X0, Moliere radius ~9 cm, branches
  and isolated blobs, and the photon's gap. Positron annihilation and delta rays are left out.
* **Charge**: each step's energy becomes ``E R / W`` electrons, R from the modified Box model
  at the step's dE/dx (a MIP keeps 0.70, a Bragg peak less), W = 23.6 eV; then drift,
  diffusion, wire response, noise and zero suppression (:mod:`hepdl.lartpc.readout`).

Truth: every step's mid-point and its charge (the 3-D target), and per event the class, PDG
id, kinetic energy, momentum, entry point and direction, the distance to the first interaction
(the photon's conversion gap, the pion's interaction point), the primary's path length in the
volume and whether it stopped inside.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from hepdl.common.checks import positive_int
from hepdl.common.physics import highland_theta0
from hepdl.lartpc import argon
from hepdl.lartpc.geometry import (
    N_PLANES,
    N_TIME_BINS,
    N_WIRES,
    in_volume,
)
from hepdl.lartpc.readout import ReadoutConfig, add_noise, wire_signals

__all__ = [
    "CLASS_NAMES",
    "PDG_IDS",
    "SHOWER_CLASSES",
    "LArTPCConfig",
    "config_dict",
    "simulate_events",
]

#: Class label -> name (the ``label`` column).
CLASS_NAMES = ("electron", "photon", "muon", "pion", "proton", "kaon")
#: The classes whose events are showers (the others are tracks).
SHOWER_CLASSES = ("electron", "photon")
#: PDG ids of each class's primary (the first is used for one charge, the second for the other).
PDG_IDS = {"electron": (11, 11), "photon": (22, 22), "muon": (13, -13), "pion": (211, -211),
           "proton": (2212, 2212), "kaon": (321, 321)}

_E_MASS = argon.mass_mev(11)
_MU_MASS = argon.mass_mev(13)
_PAIR_THRESHOLD_MEV = 10.0
_ABSORB_MEV = 1.0


@dataclass(frozen=True)
class LArTPCConfig:
    """Settings of the LArTPC simulation.

    Attributes
    ----------
    classes : the classes simulated, in balanced numbers (names from :data:`CLASS_NAMES`)
    electron_energy_gev, photon_energy_gev : (min, max) of the uniform energy [GeV]
    muon_momentum_gev, pion_momentum_gev, proton_momentum_gev, kaon_momentum_gev : (min, max)
        of the uniform momentum [GeV/c]
    max_angle_deg : largest angle of the entering direction to the beam axis z [degrees]
    entry_x_cm, entry_y_cm : (min, max) of the uniform entry point on the face z = 0 [cm]
    step_cm : step length of the transport [cm]
    pion_interaction_length_cm : mean free path of charged pions to a hadronic interaction [cm]
    electron_dedx_mev_per_cm : ionisation loss of electrons and positrons [MeV/cm]
    brem_cut_mev : bremsstrahlung photons below this energy are not emitted [MeV] (their
        energy stays with the electron and is deposited locally)
    electron_cut_mev : below this energy an electron ends in one straight piece [MeV]
    readout : drift and read-out settings (:class:`~hepdl.lartpc.readout.ReadoutConfig`)
    """

    classes: tuple[str, ...] = CLASS_NAMES
    electron_energy_gev: tuple[float, float] = (0.1, 1.0)
    photon_energy_gev: tuple[float, float] = (0.1, 1.0)
    muon_momentum_gev: tuple[float, float] = (0.2, 1.0)
    pion_momentum_gev: tuple[float, float] = (0.2, 1.0)
    proton_momentum_gev: tuple[float, float] = (0.3, 1.0)
    kaon_momentum_gev: tuple[float, float] = (0.3, 1.0)
    max_angle_deg: float = 25.0
    entry_x_cm: tuple[float, float] = (8.0, 39.0)
    entry_y_cm: tuple[float, float] = (-12.0, 12.0)
    step_cm: float = 0.3
    pion_interaction_length_cm: float = 86.0
    electron_dedx_mev_per_cm: float = 2.3
    brem_cut_mev: float = 2.0
    electron_cut_mev: float = 2.0
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)

    def __post_init__(self):
        unknown = [c for c in self.classes if c not in CLASS_NAMES]
        if unknown or not self.classes:
            raise ValueError(f"classes must be a non-empty tuple of names from {CLASS_NAMES}, "
                             f"got {self.classes!r}")
        if not 0.0 < self.step_cm <= 2.0:
            raise ValueError(f"step_cm must be in (0, 2] cm, got {self.step_cm!r}")
        if not 0.0 <= self.max_angle_deg < 90.0:
            raise ValueError(f"max_angle_deg must be in [0, 90), got {self.max_angle_deg!r}")
        if not self.electron_cut_mev > 0 or not self.brem_cut_mev > 0:
            raise ValueError("electron_cut_mev and brem_cut_mev must be positive, got "
                             f"{self.electron_cut_mev!r} and {self.brem_cut_mev!r}")


def config_dict(config: LArTPCConfig) -> dict:
    """A JSON-friendly dict of the configuration (for file attributes).

    Examples
    --------
    >>> config_dict(LArTPCConfig())["readout"]["noise_adc"]
    4.0
    """
    return asdict(config)


def _basis(direction):
    """Two unit vectors perpendicular to ``direction`` and to each other."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(direction[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(direction, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(direction, e1)


def _turn(direction, angles):
    """``direction`` turned by the plane angles ``angles`` (..., 2) [rad] (exact rotation)."""
    e1, e2 = _basis(direction)
    total = np.hypot(angles[..., 0], angles[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        c1 = np.where(total > 0, angles[..., 0] / total, 1.0)
        c2 = np.where(total > 0, angles[..., 1] / total, 0.0)
    sideways = c1[..., None] * e1 + c2[..., None] * e2
    return np.cos(total)[..., None] * direction + np.sin(total)[..., None] * sideways


def _isotropic(rng, cos_range=(-1.0, 1.0), about=None):
    """A unit vector with cos(theta) uniform in ``cos_range`` about ``about`` (z if None)."""
    cos_theta = rng.uniform(*cos_range)
    phi = rng.uniform(0.0, 2.0 * np.pi)
    sin_theta = np.sqrt(max(0.0, 1.0 - cos_theta**2))
    local = np.array([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta])
    if about is None:
        return local
    e1, e2 = _basis(about)
    return local[0] * e1 + local[1] * e2 + local[2] * about


def _walk(start, direction, steps, theta0, rng):
    """Positions (n + 1, 3) [cm] after each step, and the final direction, with scattering."""
    kicks = rng.standard_normal((steps.size, 2)) * theta0[:, None]
    angles = np.cumsum(kicks, axis=0)
    before = np.vstack([np.zeros((1, 2)), angles[:-1]])
    directions = _turn(direction, before)
    positions = start + np.vstack([np.zeros((1, 3)),
                                   np.cumsum(steps[:, None] * directions, axis=0)])
    final = _turn(direction, angles[-1])
    return positions, final / np.linalg.norm(final)


def _split(length, step):
    n = max(int(np.ceil(length / step - 1e-9)), 1)
    steps = np.full(n, step)
    steps[-1] = length - step * (n - 1)
    return steps


def _inside_prefix(positions):
    """Number of steps whose end point is still inside, before the first one that is not."""
    inside = in_volume(positions[1:, 0], positions[1:, 1], positions[1:, 2])
    out = np.flatnonzero(~inside)
    return (out[0], True) if out.size else (inside.size, False)


class _Event:
    """Deposits (mid-points, energy, dE/dx) of one event, collected as the stack is worked off."""

    def __init__(self):
        self.points, self.energy, self.dedx = [], [], []

    def add(self, positions, energy, steps):
        self.points.append(0.5 * (positions[:-1] + positions[1:]))
        self.energy.append(energy)
        self.dedx.append(energy / np.maximum(steps, 1e-6))


def _heavy(event, stack, particle, config, rng, *, record=None):
    """Step a muon, pion, proton or kaon; push its secondaries and decay products."""
    pdg, position, direction, kinetic, generation = particle
    mass = argon.mass_mev(abs(pdg))
    total_range = float(argon.csda_range_cm(kinetic, mass))
    length, interacts = total_range, False
    if abs(pdg) == 211:
        distance = rng.exponential(config.pion_interaction_length_cm)
        if distance < total_range:
            length, interacts = distance, True
    steps = _split(length, config.step_cm)
    travelled = np.cumsum(steps)
    kinetic_path = argon.kinetic_from_range_mev(
        np.maximum(total_range - np.concatenate([[0.0], travelled]), 0.0), mass)
    kinetic_path[0] = kinetic
    momentum = np.sqrt(kinetic_path[:-1] * (kinetic_path[:-1] + 2.0 * mass))
    beta = momentum / (kinetic_path[:-1] + mass)
    theta0 = highland_theta0(momentum / 1000.0,
                             np.maximum(steps / argon.RADIATION_LENGTH_CM, 1e-4), beta=beta)
    positions, final = _walk(position, direction, steps, theta0, rng)
    n_in, exited = _inside_prefix(positions)
    energy = -np.diff(kinetic_path)
    event.add(positions[:n_in + 1], energy[:n_in], steps[:n_in])
    if record is not None:
        record["path_cm"] = float(steps[:n_in].sum())
        record["stopped"] = not exited and not interacts
        record["interaction_cm"] = float(length) if interacts and not exited else np.nan
    if exited:
        return
    end = positions[-1]
    if interacts:
        _interaction(stack, end, final, kinetic_path[-1], generation, rng)
    elif pdg == 211:
        stack.append((-13, end, _isotropic(rng), 4.12, generation + 1))
    elif pdg == 321:
        stack.append((-13, end, _isotropic(rng),
                      float(argon.momentum_to_kinetic_mev(235.5, _MU_MASS)), generation + 1))


def _interaction(stack, position, direction, kinetic, generation, rng):
    """Charged secondaries of a pion's hadronic interaction (see the module docstring)."""
    n = 1 + min(int(rng.poisson(1.2)), 3)
    available = kinetic * rng.uniform(0.3, 0.9)
    shares = available * rng.dirichlet(np.ones(n))
    for share in shares:
        is_proton = rng.uniform() < 0.6
        pdg = 2212 if is_proton else int(rng.choice([211, -211]))
        if not is_proton and generation >= 2:
            pdg = 2212  # the third generation draws no more pions
        out = _isotropic(rng, (-0.3, 1.0), about=direction)
        if share > 1.0:
            stack.append((pdg, position, out, float(share), generation + 1))


def _brem_rate(energy, cut):
    """Bremsstrahlung photons above ``cut`` per cm for an electron of ``energy`` (same unit)."""
    y = cut / energy
    return ((4.0 / 3.0) * np.log(1.0 / y) - (4.0 / 3.0) * (1.0 - y)
            + 0.5 * (1.0 - y**2)) / argon.RADIATION_LENGTH_CM


def _brem_fraction(cut_fraction, rng):
    """Energy fraction of a bremsstrahlung photon: (4/3 - 4/3 y + y^2) / y on [cut, 1]."""
    while True:
        y = cut_fraction ** (1.0 - rng.uniform())
        if rng.uniform() * (4.0 / 3.0) <= 4.0 / 3.0 - 4.0 / 3.0 * y + y**2:
            return y


def _electron(event, stack, particle, config, rng):
    """Step an electron or positron: ionisation, bremsstrahlung, scattering."""
    _, position, direction, energy, generation = particle
    dedx = config.electron_dedx_mev_per_cm
    while True:
        if energy <= config.electron_cut_mev:
            steps = _split(energy / dedx, config.step_cm)
            positions = position + np.vstack([np.zeros((1, 3)),
                                              np.cumsum(steps)[:, None] * direction])
            n_in, _ = _inside_prefix(positions)
            event.add(positions[:n_in + 1], dedx * steps[:n_in], steps[:n_in])
            return
        can_radiate = energy > config.brem_cut_mev
        to_brem = (rng.exponential(1.0 / _brem_rate(energy, config.brem_cut_mev))
                   if can_radiate else np.inf)
        to_cut = (energy - config.electron_cut_mev) / dedx
        length = min(to_brem, to_cut)
        steps = _split(length, config.step_cm)
        along = energy - dedx * (np.cumsum(steps) - steps)  # energy at each step's start
        momentum = np.sqrt(along * (along + 2.0 * _E_MASS))
        theta0 = highland_theta0(momentum / 1000.0,
                                 np.maximum(steps / argon.RADIATION_LENGTH_CM, 1e-4),
                                 beta=momentum / (along + _E_MASS))
        positions, final = _walk(position, direction, steps, theta0, rng)
        n_in, exited = _inside_prefix(positions)
        event.add(positions[:n_in + 1], dedx * steps[:n_in], steps[:n_in])
        if exited:
            return
        energy -= dedx * length
        position, direction = positions[-1], final
        if to_brem < to_cut:
            photon = energy * _brem_fraction(config.brem_cut_mev / energy, rng)
            if photon < energy:
                stack.append((22, position, direction, photon, generation + 1))
                energy -= photon


def _photon(stack, particle, config, rng):
    """Move a photon to its conversion point; return the distance [cm] (inf if it left)."""
    _, position, direction, energy, generation = particle
    distance = rng.exponential(argon.PAIR_MEAN_FREE_PATH_CM)
    point = position + distance * direction
    if not in_volume(*point):
        return np.inf
    if energy > _PAIR_THRESHOLD_MEV:
        kinetic = energy - 2.0 * _E_MASS
        share = rng.uniform()
        for part, pdg in ((share, 11), (1.0 - share, -11)):
            angle = _E_MASS / max(part * kinetic, _E_MASS)
            out = _turn(direction, rng.normal(0.0, angle, 2))
            stack.append((pdg, point, out / np.linalg.norm(out), part * kinetic, generation + 1))
    elif energy > _ABSORB_MEV:
        # Compton scattering: electron energy uniform up to the Compton edge (modelling
        # choice, instead of Klein-Nishina), angles from the kinematics
        edge = 2.0 * energy / _E_MASS
        scattered = energy * (1.0 - rng.uniform(0.0, edge / (1.0 + edge)))
        cos_gamma = np.clip(1.0 - _E_MASS * (1.0 / scattered - 1.0 / energy), -1.0, 1.0)
        phi = rng.uniform(0.0, 2.0 * np.pi)
        e1, e2 = _basis(direction)
        sin_gamma = np.sqrt(1.0 - cos_gamma**2)
        out = cos_gamma * direction + sin_gamma * (np.cos(phi) * e1 + np.sin(phi) * e2)
        electron = energy * direction - scattered * out
        stack.append((22, point, out, scattered, generation + 1))
        stack.append((11, point, electron / np.linalg.norm(electron), energy - scattered,
                      generation + 1))
    else:
        stack.append((11, point, direction, energy, generation + 1))  # photo-absorption
    return distance


def _one_event(pdg, position, direction, kinetic, config, rng):
    """All deposits of one primary; returns (points, energy, dedx) and the primary's record."""
    event = _Event()
    record = {"path_cm": 0.0, "stopped": False, "interaction_cm": np.nan}
    stack = [(pdg, position, direction, kinetic, 0)]
    first = True
    while stack:
        particle = stack.pop()
        kind = abs(particle[0])
        if kind == 22:
            distance = _photon(stack, particle, config, rng)
            if first:
                record["interaction_cm"] = distance if np.isfinite(distance) else np.nan
        elif kind == 11:
            _electron(event, stack, particle, config, rng)
        else:
            _heavy(event, stack, particle, config, rng, record=record if first else None)
        first = False
    if not event.points:
        return np.zeros((0, 3)), np.zeros(0), np.zeros(0), record
    return (np.concatenate(event.points), np.concatenate(event.energy),
            np.concatenate(event.dedx), record)


def _primaries(labels, classes, config, rng):
    """PDG id, kinetic energy [MeV], momentum [MeV], entry point and direction of each event."""
    n = labels.size
    names = np.array(classes)[labels]
    charge_flip = rng.uniform(size=n) < 0.5
    pdg = np.array([PDG_IDS[name][int(flip)] for name, flip in zip(names, charge_flip)])
    low = np.array([getattr(config, _RANGE_FIELD[name])[0] for name in names]) * 1000.0
    high = np.array([getattr(config, _RANGE_FIELD[name])[1] for name in names]) * 1000.0
    drawn = rng.uniform(low, high)
    mass = np.array([0.0 if p == 22 else argon.mass_mev(abs(p)) for p in pdg])
    shower = np.isin(names, SHOWER_CLASSES)
    kinetic = np.where(shower, drawn, np.sqrt(drawn**2 + mass**2) - mass)
    momentum = np.where(shower, np.sqrt(kinetic * (kinetic + 2.0 * mass)), drawn)
    cos_max = np.cos(np.radians(config.max_angle_deg))
    cos_theta = rng.uniform(cos_max, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    direction = np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)
    entry = np.stack([rng.uniform(*config.entry_x_cm, n), rng.uniform(*config.entry_y_cm, n),
                      np.zeros(n)], axis=1)
    return pdg, kinetic, momentum, entry, direction


_RANGE_FIELD = {"electron": "electron_energy_gev", "photon": "photon_energy_gev",
                "muon": "muon_momentum_gev", "pion": "pion_momentum_gev",
                "proton": "proton_momentum_gev", "kaon": "kaon_momentum_gev"}


def simulate_events(n_events: int, *, rng: np.random.Generator,
                    config: LArTPCConfig = LArTPCConfig()) -> dict:
    """Simulate ``n_events`` single-particle events, the classes in balanced numbers.

    Parameters
    ----------
    n_events : int
        Number of events (>= 1).
    rng : numpy.random.Generator
    config : LArTPCConfig

    Returns
    -------
    dict
        ``images``: (n, 2, 240, 128) float16 [ADC], plane 0 induction (u), 1 collection (v),
        then wire and time bin (2.56 us, 0.395 cm of drift);
        ``events``: per event ``label`` int8 (index into ``config.classes``), ``pdg`` int32,
        ``energy_gev`` float32 (kinetic energy), ``momentum_gev`` float32,
        ``x0_cm``, ``y0_cm``, ``z0_cm`` float32 (entry point), ``dir_x``, ``dir_y``, ``dir_z``
        float32 (unit direction), ``interaction_cm`` float32 (path to the photon's conversion
        or the pion's interaction; NaN if none in the volume), ``path_cm`` float32 (the charged
        primary's path in the volume; 0 for photons), ``stopped`` int8 (1 if the charged
        primary stopped inside), ``n_points`` int32, ``deposited_gev`` float32 (energy
        deposited in the volume);
        ``images3D``: the 3-D truth of all events, ``C`` (M, 3) float32 step mid-points
        ``x, y, z`` [cm], ``V`` (M,) float32 charge after recombination [thousands of
        electrons], ``offsets`` (n + 1,) int64: event ``i`` owns rows
        ``offsets[i]:offsets[i + 1]``.

    Examples
    --------
    >>> data = simulate_events(6, rng=np.random.default_rng(0))
    >>> data["images"].shape, data["images"].dtype
    ((6, 2, 240, 128), dtype('float16'))
    >>> sorted(data["events"]["label"].tolist())
    [0, 1, 2, 3, 4, 5]
    >>> int(data["images3D"]["offsets"][-1]) == len(data["images3D"]["V"])
    True
    """
    n_events = positive_int("n_events", n_events)
    classes = tuple(config.classes)
    labels = rng.permutation(np.arange(n_events) % len(classes)).astype(np.int8)
    pdg, kinetic, momentum, entry, direction = _primaries(labels, classes, config, rng)
    images = np.empty((n_events, N_PLANES, N_WIRES, N_TIME_BINS), np.float16)
    columns = {name: np.zeros(n_events, np.float32)
               for name in ("interaction_cm", "path_cm", "deposited_gev")}
    stopped = np.zeros(n_events, np.int8)
    points, charges, counts = [], [], np.zeros(n_events, np.int64)
    for i in range(n_events):
        deposits, energy, dedx, record = _one_event(int(pdg[i]), entry[i], direction[i],
                                                    float(kinetic[i]), config, rng)
        electrons = argon.ionisation_electrons(energy, dedx)
        signal = wire_signals(deposits[:, 0], deposits[:, 1], deposits[:, 2], electrons,
                              rng=rng, config=config.readout)
        images[i] = add_noise(signal, rng=rng, config=config.readout).astype(np.float16)
        points.append(deposits.astype(np.float32))
        charges.append((electrons / 1000.0).astype(np.float32))
        counts[i] = energy.size
        columns["interaction_cm"][i] = record["interaction_cm"]
        columns["path_cm"][i] = record["path_cm"]
        columns["deposited_gev"][i] = energy.sum() / 1000.0
        stopped[i] = record["stopped"]
    events = {
        "label": labels,
        "pdg": pdg.astype(np.int32),
        "energy_gev": (kinetic / 1000.0).astype(np.float32),
        "momentum_gev": (momentum / 1000.0).astype(np.float32),
        "x0_cm": entry[:, 0].astype(np.float32),
        "y0_cm": entry[:, 1].astype(np.float32),
        "z0_cm": entry[:, 2].astype(np.float32),
        "dir_x": direction[:, 0].astype(np.float32),
        "dir_y": direction[:, 1].astype(np.float32),
        "dir_z": direction[:, 2].astype(np.float32),
        **columns,
        "stopped": stopped,
        "n_points": counts.astype(np.int32),
    }
    return {
        "images": images,
        "events": events,
        "images3D": {"C": np.concatenate(points).reshape(-1, 3),
                     "V": np.concatenate(charges),
                     "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)},
    }
