"""The LArTPC room: single particles in a LArIAT-like liquid-argon TPC, seen by two wire planes.

The lessons "wire images", "particle ID" and "2D -> 3D" (issue 16; design note ``datasets.md``
section D). Modules:

* :mod:`~hepdl.lartpc.geometry`: the active volume, the two wire planes at +-60 degrees, drift,
  ticks and the course's time bins; projection of points onto the planes and back;
* :mod:`~hepdl.lartpc.argon`: liquid argon: Bethe-Bloch, CSDA ranges, Box recombination,
  radiation length and the other constants, with their sources;
* :mod:`~hepdl.lartpc.readout`: drift, diffusion, wire response (bipolar induction, unipolar
  collection), noise and zero suppression;
* :mod:`~hepdl.lartpc.simulate`: the particles and their showers and interactions:
  :func:`simulate.simulate_events`, :class:`simulate.LArTPCConfig`;
* :mod:`~hepdl.lartpc.formats`: the public file layout (one 2-D and one 3-D file per class):
  ``write_public``, ``read_images``, ``read_points``, ``voxelize``;
* :mod:`~hepdl.lartpc.reconstruct`: the naive 2-D -> 3-D back-projection and voxel scores;
* :mod:`~hepdl.lartpc.deghost`: the back-projected candidates of one event, their local features
  and truth labels, the perfect pairing (a yardstick), the context of a first score (for a
  second pass), the scores of a kept subset and the retention curve (the deghosting lesson; the
  keep-or-reject decision itself is the student's).

Data set (``python -m hepdl.datasets build --size ci lartpc_events``): the public layout goes to
``datasets/lartpc_events/SIZE/`` (``electron.h5``, ``electron_3D.h5``, ... one pair per class)
and ``lartpc_events.h5`` beside it is the index: the per-event truth table ``events`` (class,
PDG id, energy, entry point, direction, ...) with the ``file`` and ``row`` of each event in the
public files. The digest file covers every file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hepdl.common.io import write_h5
from hepdl.common.registry import DatasetSpec
from hepdl.lartpc import argon, deghost, formats, geometry, readout, reconstruct, simulate
from hepdl.lartpc.formats import read_images, read_points, voxelize

__all__ = ["DATASETS", "argon", "deghost", "formats", "geometry", "read_images", "read_points", "readout",
           "reconstruct", "simulate", "voxelize"]


def _simulate(n, *, rng):
    config = simulate.LArTPCConfig()
    return simulate.simulate_events(n, rng=rng, config=config), simulate.config_dict(config)


def _write(path, data, *, attrs):
    """The public layout beside ``path``, then the index ``path`` (HDF5, written last)."""
    classes = tuple(attrs["config"]["classes"])
    files = formats.write_public(Path(path).parent, data, classes)
    events = dict(data["events"])
    names = [formats.file_name(classes[label], pdg)
             for label, pdg in zip(events["label"], events["pdg"])]
    file_index = np.array([formats.FILE_NAMES.index(name) for name in names], np.int8)
    row = np.zeros(file_index.size, np.int32)
    for k in range(len(formats.FILE_NAMES)):
        mine = file_index == k
        row[mine] = np.arange(np.count_nonzero(mine))
    events["file"], events["row"] = file_index, row
    index = write_h5(path, {"events": events}, attrs={
        **attrs, "files": list(formats.FILE_NAMES), "classes": list(classes),
        "layout": "events/file indexes the attribute 'files'; events/row is the row there"})
    return [*files, index]


DATASETS = [
    DatasetSpec("lartpc_events", _simulate, {"ci": 300, "student": 1_800, "full": 12_000},
                summary="LArIAT-like TPC: e, gamma, mu, pi, p, K wire images (2 x 240 x 128) "
                        "and 3-D truth points (public layout, one file pair per class)",
                write=_write),
]
