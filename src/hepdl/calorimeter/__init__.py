"""The calorimeter room: 3-D shower images of an LCD/CLIC-like ECAL and HCAL.

Single e-, gamma, pi0 and pi+ at normal incidence, 10-510 GeV, seen by a silicon-tungsten ECAL
(25 x 25 cells x 25 layers) and a steel-scintillator HCAL (5 x 5 x 60), as in the public LCD
calorimeter data set of the talk "imaging detector data sets" (CaloDNN; CLIC detector
studies). The lessons: particle identification (gamma vs pi0 is hard once the photons merge,
e vs pi is easy) and energy regression (sampling, non-compensation, leakage). Modules:

* :mod:`~hepdl.calorimeter.geometry`: cells, layers, materials (X0, R_M, Ec, lambda_I);
* :mod:`~hepdl.calorimeter.simulate`: the parameterised showers,
  :func:`simulate.simulate_events` (one particle type at a time);
* :mod:`~hepdl.calorimeter.features`: the public feature set (``add_features``);
* :mod:`~hepdl.calorimeter.formats`: the public layout, one HDF5 file per particle: write,
  read (the real files too) and check.

Data set (``python -m hepdl.datasets build --size ci calorimeter_showers``): the four particle
files ``EleEscan_1_1.h5``, ``GammaEscan_1_1.h5``, ``Pi0Escan_1_1.h5``, ``ChPiEscan_1_1.h5`` in
``datasets/calorimeter_showers/SIZE/``, with the index ``calorimeter_showers.h5`` (truth and
features of every event, no images) that ``datasets.load`` reads. The sizes are events per
particle.
"""

from __future__ import annotations

from hepdl.calorimeter import features, formats, geometry, simulate
from hepdl.calorimeter.formats import particle_paths, read_particle_file
from hepdl.common.registry import DatasetSpec

__all__ = ["DATASETS", "features", "formats", "geometry", "particle_paths",
           "read_particle_file", "simulate"]


def _showers(n, *, rng):
    """``n`` events of each particle, with their features, grouped as the index file is."""
    config = simulate.CalorimeterConfig()
    data = {}
    for particle, group in formats.GROUPS.items():
        events = simulate.simulate_events(n, rng=rng, config=config, particle=particle)
        events.update(features.add_features(events["ECAL"], events["HCAL"]))
        data[group] = events
    return data, simulate.config_dict(config)


DATASETS = [
    DatasetSpec(formats.DATASET_NAME, _showers, {"ci": 200, "student": 2_500, "full": 10_000},
                summary="calorimeter: LCD-like ECAL 25x25x25 + HCAL 5x5x60 images of e-, gamma, "
                        "pi0, pi+ (one file per particle, public layout); sizes per particle",
                # 2: the albedo is sampled with the shower (it was added after the sampling);
                # 3: the pions' f_em width shrinks with energy (it was 0.10 at every energy)
                write=formats.write_layout, revision=3),
]
