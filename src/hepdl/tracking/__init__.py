"""The tracking room: RAMP 2-D hit clustering and TrackML-like 3-D track following.

Modules
-------
``geometry``   the two detectors' layers, shared by the simulators and the readers
``ramp``       the 2-D RAMP / DS@HEP 2017 simulator (``simulate_ramp_events``, ``RampConfig``)
``trackml``    the 3-D TrackML-like barrel simulator and TrackML's hit weights
``formats``    the public CSV layouts: ``read_ramp_csv``, ``read_trackml_event``, writers
``scores``     ``ramp_score`` (RAMP clustering efficiency) and ``trackml_score``
``baselines``  ``road_following`` and the trivial clusterings

The physics of charged particles in a solenoid (curvature radius, layer crossings, multiple
scattering) is :mod:`hepdl.common.physics`, shared with the other rooms.

Imported on their own (they hold the models the lessons teach; Keras is imported lazily):
``clusterer`` (the DS@HEP LSTM clusterer), ``approaches`` (conformal map, Hough transform,
seed-relative LSTM), ``following`` (TrackML-style seeding, LSTM track following, timing).

Data sets (``python -m hepdl.datasets build --size ci tracking_ramp tracking_trackml``): the
HDF5 copy goes to ``datasets/NAME/SIZE/NAME.h5`` and the public layout beside it
(``hits.csv`` + ``particles.csv`` for RAMP; ``events/eventNNNNNNNNN-{hits,truth,particles}.csv``
for TrackML, the first :data:`TRACKML_CSV_EVENTS` events). The writers return every file they
wrote, so the build's digest file ``NAME.sha256`` covers the CSV files too.
"""

from __future__ import annotations

from pathlib import Path

from hepdl.common.io import write_h5
from hepdl.common.registry import DatasetSpec
from hepdl.tracking import baselines, formats, geometry, ramp, scores, trackml
from hepdl.tracking.formats import read_ramp_csv, read_trackml_event

__all__ = ["DATASETS", "TRACKML_CSV_EVENTS", "baselines", "formats", "geometry", "ramp",
           "read_ramp_csv", "read_trackml_event", "scores", "trackml"]

#: TrackML events exported as CSV beside the HDF5 copy (all of ci and student, the first 50 of
#: full: each event's three files take about 1.1 MB).
TRACKML_CSV_EVENTS = 50


def _simulate_ramp(n, *, rng):
    config = ramp.RampConfig()
    return ramp.simulate_ramp_events(n, rng=rng, config=config), ramp.config_dict(config)


def _simulate_trackml(n, *, rng):
    config = trackml.TrackMLConfig()
    return (trackml.simulate_trackml_events(n, rng=rng, config=config),
            trackml.config_dict(config))


def _write_ramp(path, data, *, attrs):
    # CSV first, HDF5 last; every file written is returned for the build's digest file
    csv = formats.write_ramp_csv(Path(path).parent, data)
    return [*csv, write_h5(path, data, attrs={**attrs, "csv": "hits.csv, particles.csv"})]


def _write_trackml(path, data, *, attrs):
    prefixes = formats.write_trackml_csv(Path(path).parent / "events", data,
                                         max_events=TRACKML_CSV_EVENTS)
    csv = [Path(f"{prefix}-{part}.csv") for prefix in prefixes for part in formats.TRACKML_COLUMNS]
    # gzip level 1: as small as level 4 for these float tables, and twice as fast
    return [*csv, write_h5(path, data, attrs={**attrs, "csv": f"events/ ({len(prefixes)} events)"},
                           compression_level=1)]


DATASETS = [
    DatasetSpec("tracking_ramp", _simulate_ramp, {"ci": 200, "student": 2_000, "full": 10_000},
                summary="tracking: RAMP 2-D 9-layer tracker, hits + particles (HDF5 and CSV)",
                write=_write_ramp),
    DatasetSpec("tracking_trackml", _simulate_trackml, {"ci": 5, "student": 50, "full": 500},
                summary="tracking: TrackML-like 3-D barrel, hits/truth/particles (HDF5 and CSV)",
                write=_write_trackml),
]
