"""The public layout of the LCD calorimeter images: one HDF5 file per particle type.

Each file holds, for its N events (as the public CLIC/LCD files do):

=====================  =========================  =======  ======================================
dataset                shape, dtype               unit     meaning
=====================  =========================  =======  ======================================
``ECAL``               (N, 25, 25, 25) float32    GeV      ECAL cells, ``(x, y, layer)``
``HCAL``               (N, 5, 5, 60) float32      GeV      HCAL cells, ``(x, y, layer)``
``energy``             (N,) float32               GeV      the particle's energy
``pdgID``              (N,) int32                          11, 22, 111 or 211
``openingAngle``       (N,) float32               rad      pi0 -> gamma gamma (0 otherwise)
the 46 features        (N,) float64 / int64                :data:`~.features.FEATURE_NAMES`
=====================  =========================  =======  ======================================

and, in the course's files only, the simulator's truth ``conversion_depth_x0``,
``interaction_depth_lambda`` and ``em_fraction`` (:func:`~.simulate.simulate_events`). The
files are named as the public ones, :data:`PARTICLE_FILES` (``EleEscan_1_1.h5``, ...); the
public release keeps them in folders ``Ele/``, ``Gamma/``, ``Pi0/``, ``ChPi/`` and numbers them
``_1_1`` to ``_8_10`` (10,000 events each), the later ones with the larger window
(51 x 51 x 25 ECAL, 11 x 11 x 60 HCAL), which the reader accepts too.

The images are gzip-compressed in chunks of one event, so reading a batch of events
(``read_particle_file(path, events=slice(0, 128))``) decompresses only those events.

The course's build (``python -m hepdl.datasets build --size SIZE calorimeter_showers``) writes
the four particle files and an index ``calorimeter_showers.h5`` beside them, which holds every
event's truth and features (no images), grouped by particle (``Ele``, ``Gamma``, ``Pi0``,
``ChPi``): that is what ``datasets.load`` returns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import h5py
import numpy as np

from hepdl.calorimeter.geometry import (
    ECAL_SHAPE,
    HCAL_SHAPE,
    LARGE_ECAL_SHAPE,
    LARGE_HCAL_SHAPE,
)
from hepdl.common.data import rebuild_command
from hepdl.common.io import DataFileError, open_h5, rebuild_hint, write_h5
from hepdl.common.tiers import TIERS

__all__ = [
    "DATASET_NAME",
    "GROUPS",
    "IMAGE_SHAPES",
    "PARTICLE_FILES",
    "particle_paths",
    "read_particle_file",
    "write_layout",
    "write_particle_file",
]

#: The course's data set of these files.
DATASET_NAME = "calorimeter_showers"
#: Particle -> the public file name.
PARTICLE_FILES = {"e-": "EleEscan_1_1.h5", "gamma": "GammaEscan_1_1.h5",
                  "pi0": "Pi0Escan_1_1.h5", "pi+": "ChPiEscan_1_1.h5"}
#: Particle -> the public folder name, which names its group in the index file.
GROUPS = {"e-": "Ele", "gamma": "Gamma", "pi0": "Pi0", "pi+": "ChPi"}
#: The image shapes (per event) a file may have: the standard and the large window.
IMAGE_SHAPES = {"ECAL": (ECAL_SHAPE, LARGE_ECAL_SHAPE), "HCAL": (HCAL_SHAPE, LARGE_HCAL_SHAPE)}
_IMAGES = ("ECAL", "HCAL")


def _rebuild(path: Path) -> str | None:
    """The build command when ``path`` lies in the course's data-set folder, else None."""
    parts = path.resolve().parts
    if DATASET_NAME in parts[:-1]:
        i = len(parts) - 1 - parts[::-1].index(DATASET_NAME)
        if i + 1 < len(parts) - 1 and parts[i + 1] in TIERS:
            return rebuild_command(DATASET_NAME, parts[i + 1])
    return None


def _hint(path: Path) -> str:
    command = _rebuild(path)
    if command:
        return rebuild_hint(command)
    return ("\nCheck the path, or download the file again (public LCD calorimeter data), or "
            "build the course's copy with:\n    "
            f"{rebuild_command(DATASET_NAME, 'student')}")


def write_particle_file(path: str | os.PathLike, data: Mapping[str, np.ndarray], *,
                        attrs: Mapping | None = None, compression_level: int = 1) -> Path:
    """Write one particle's events in the public layout, atomically.

    Parameters
    ----------
    path : the file (``.../EleEscan_1_1.h5``)
    data : ``ECAL``, ``HCAL`` (images, chunked one event per chunk) and any (N,) arrays
        (``energy``, ``pdgID``, ``openingAngle``, the features, ...)
    attrs : file attributes (numbers and strings as they are, anything else as JSON)
    compression_level : gzip level of every dataset

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    missing = [key for key in (*_IMAGES, "energy", "pdgID") if key not in data]
    if missing:
        raise ValueError(f"cannot write {path.name}: data lacks {', '.join(missing)}")
    n = len(data["energy"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with h5py.File(tmp, "w") as f:
            for key, value in data.items():
                value = np.asarray(value)
                if value.shape[:1] != (n,):
                    raise ValueError(f"cannot write {path.name}: {key} has shape {value.shape}, "
                                     f"not {n} events")
                chunks = (1, *value.shape[1:]) if key in _IMAGES else True
                f.create_dataset(key, data=value, chunks=chunks if n else None,
                                 compression="gzip" if n else None,
                                 compression_opts=compression_level if n else None,
                                 shuffle=bool(n))
            for key, value in (attrs or {}).items():
                if isinstance(value, (str, int, float, np.integer, np.floating, bool)):
                    f.attrs[key] = value
                else:
                    f.attrs[key] = json.dumps(value, sort_keys=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _check_shapes(path: Path, f: h5py.File, keys: Iterable[str]) -> int:
    """Check the images' per-event shapes and that every dataset has the same N; return N."""
    n = None
    for key in keys:
        shape = f[key].shape
        if key in IMAGE_SHAPES and tuple(shape[1:]) not in IMAGE_SHAPES[key]:
            allowed = " or ".join(f"(N, {', '.join(map(str, s))})" for s in IMAGE_SHAPES[key])
            raise DataFileError(
                f"Data file {path}: {key} has shape {shape}, but an LCD calorimeter file holds "
                f"{key} as {allowed} (cells x, y, then the layer). It is not in the public "
                f"layout, or its axes are in another order.{_hint(path)}")
        if not shape:
            continue
        if n is None:
            n = shape[0]
        elif shape[0] != n:
            raise DataFileError(
                f"Data file {path}: {key} has {shape[0]} events but the file's other datasets "
                f"have {n}. The file is truncated or was assembled from different files."
                f"{_hint(path)}")
    return n or 0


def read_particle_file(path: str | os.PathLike, *, keys: Iterable[str] | None = None,
                       events: slice | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Read (some events of) one particle file, the course's or a public one, and check it.

    Parameters
    ----------
    path : the file (``EleEscan_1_1.h5``, ...)
    keys : datasets to read (``["ECAL", "energy"]``); all of the file's if None
    events : which events: a slice, or an array of event indices (any order; each read
        once), all if None

    Returns
    -------
    dict
        ``key -> array`` with the events along the first axis.

    Raises
    ------
    hepdl.common.io.DataFileError
        The file is missing, unreadable (truncated, corrupt), lacks a requested dataset, or an
        image does not have the public shape; the message names the file and, for the
        course's files, the command that rebuilds them.

    Examples
    --------
    >>> read_particle_file("no/such/EleEscan_1_1.h5")
    Traceback (most recent call last):
    ...
    hepdl.common.io.DataFileError: Data file no/such/EleEscan_1_1.h5 does not exist.
    Check the path, or download the file again (public LCD calorimeter data), or build the course's copy with:
        python -m hepdl.datasets build --size student calorimeter_showers
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"Data file {path} does not exist.{_hint(path)}")
    rebuild = _rebuild(path)
    try:
        with open_h5(path, rebuild=rebuild) as f:
            names = list(f.keys()) if keys is None else list(keys)
            absent = [key for key in names if key not in f
                      or not isinstance(f[key], h5py.Dataset)]
            if absent:
                raise DataFileError(
                    f"Data file {path} has no dataset {', '.join(map(repr, absent))}; it has "
                    f"{sorted(f.keys())}. An LCD calorimeter file holds ECAL, HCAL, energy and "
                    f"pdgID at its top level.{_hint(path)}")
            n = _check_shapes(path, f, names)
            if events is None:
                return {key: f[key][()] for key in names}
            if isinstance(events, slice):
                return {key: f[key][events] for key in names}
            index = np.asarray(events, dtype=np.int64)
            if index.size and (index.min() < -n or index.max() >= n):
                raise IndexError(f"events must lie in [0, {n}) for {path.name}, got "
                                 f"{index.min()} to {index.max()}")
            unique, inverse = np.unique(np.mod(index, n) if n else index, return_inverse=True)
            return {key: f[key][unique][inverse] if unique.size else f[key][:0]
                    for key in names}
    except (DataFileError, IndexError, MemoryError):
        raise
    except Exception as err:  # h5py raises OSError, RuntimeError, KeyError, ... on damage
        raise DataFileError(
            f"Data file {path} is not a readable HDF5 file ({type(err).__name__}: {err}). It "
            f"may be truncated or corrupt.{_hint(path)}") from err


def particle_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """The particle files in ``folder``: ``{"e-": folder/EleEscan_1_1.h5, ...}``.

    The public release's subfolders (``Ele/EleEscan_1_1.h5``, ...) are found too.

    Raises
    ------
    hepdl.common.io.DataFileError
        A particle's file is in neither place.

    Examples
    --------
    >>> particle_paths("no/such/folder")
    Traceback (most recent call last):
    ...
    hepdl.common.io.DataFileError: Data file no/such/folder/EleEscan_1_1.h5 does not exist.
    Check the path, or download the file again (public LCD calorimeter data), or build the course's copy with:
        python -m hepdl.datasets build --size student calorimeter_showers
    """
    folder = Path(folder)
    out = {}
    for particle, name in PARTICLE_FILES.items():
        for candidate in (folder / name, folder / GROUPS[particle] / name):
            if candidate.is_file():
                out[particle] = candidate
                break
        else:
            raise DataFileError(f"Data file {folder / name} does not exist."
                                f"{_hint(folder / name)}")
    return out


def write_layout(path: str | os.PathLike, data: Mapping[str, Mapping[str, np.ndarray]], *,
                 attrs: Mapping | None = None) -> list[Path]:
    """Write the data set: one public-layout file per particle and the index at ``path``.

    The :class:`~hepdl.common.registry.DatasetSpec` writer of ``calorimeter_showers``.

    Parameters
    ----------
    path : the index file, ``.../calorimeter_showers.h5``; the particle files go beside it
    data : ``{group: {"ECAL": ..., "HCAL": ..., "energy": ..., ...}}`` with the groups of
        :data:`GROUPS` (``Ele``, ``Gamma``, ``Pi0``, ``ChPi``)
    attrs : the build's attributes (generator, version, seed, size, n, config), written to
        every file

    Returns
    -------
    list of Path
        The four particle files, then the index.
    """
    path = Path(path)
    attrs = dict(attrs or {})
    unknown = set(data) - set(GROUPS.values())
    if unknown:
        raise ValueError(f"unknown particle group(s) {sorted(unknown)}; the groups are "
                         f"{', '.join(GROUPS.values())}")
    written, index, files = [], {}, {}
    for particle, group in GROUPS.items():
        if group not in data:
            continue
        events = data[group]
        target = path.parent / PARTICLE_FILES[particle]
        written.append(write_particle_file(target, events,
                                           attrs={**attrs, "particle": particle}))
        index[group] = {key: value for key, value in events.items() if key not in _IMAGES}
        files[group] = target.name
    written.append(write_h5(path, index, attrs={**attrs, "files": files}))
    return written
