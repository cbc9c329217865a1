"""The drift-chamber room: event images of a BESIII-like chamber and how to encode them.

psi(2S) -> pi+ pi- J/psi with J/psi -> e+ e- or mu+ mu-, and e+ e- -> pi+ pi- mu+ mu-, seen by
the 43-layer BESIII main drift chamber in 1 T (the lesson of the talk "Event Classification with
Deep Learning", C. Marocico, 2020). Modules:

* :mod:`~hepdl.driftchamber.kinematics`: the three reactions' four-momenta;
* :mod:`~hepdl.driftchamber.geometry`: the wire table (from ``pybes3``, loaded lazily);
* :mod:`~hepdl.driftchamber.dedx`: restricted Bethe-Bloch in the chamber gas, charge per hit;
* :mod:`~hepdl.driftchamber.simulate`: helices, hits, noise: :func:`simulate.simulate_events`;
* :mod:`~hepdl.driftchamber.events_csv`: one event as the talk's per-event CSV;
* :mod:`~hepdl.driftchamber.encodings`: the binary / total / average / per_hit images;
* :mod:`~hepdl.driftchamber.features`: per-event and per-track baseline numbers.
"""

from hepdl.common.registry import DatasetSpec
from hepdl.driftchamber import dedx, encodings, events_csv, features, geometry, kinematics, simulate

__all__ = ["DATASETS", "dedx", "encodings", "events_csv", "features", "geometry", "kinematics",
           "simulate"]


def _events(n, *, rng):
    config = simulate.DriftChamberConfig()
    return simulate.simulate_events(n, rng=rng, config=config), simulate.config_dict(config)


DATASETS = [
    DatasetSpec("driftchamber_events", _events, {"ci": 300, "student": 3_000, "full": 30_000},
                summary="event images: psi(2S) -> pi pi J/psi (ee, mumu) vs pi pi mu mu in a "
                        "BESIII-like drift chamber"),
]
