"""The public file layout of the LArIAT samples: write it, read it, check it, densify the 3-D truth.

The LArIAT single-particle samples used by LArTPCDNN come as one pair of HDF5 files per class,
the class given by the file name (``electron``, ``photon``, ``pion0``, ``pionPlus``,
``pionMinus``, ``proton``, ``muon``, ``kaon``, ...):

* the 2-D file ``<class>.h5``: ``images`` (called ``features`` in older files) of shape
  (N, 2, 240, T) float16 (2 wire planes x 240 wires x T time ticks; T = 4096 raw ticks of 128 ns
  in the real files) and ``Energy`` (N,);
* the 3-D truth file ``<class>_3D.h5``: ``images3D/C`` (the points ``x, y, z``) and
  ``images3D/V`` (their charge).

The course writes the same layout with T = 128 bins of 20 raw ticks (2.56 us; see
:mod:`hepdl.lartpc.geometry`), and one file pair per class: ``electron``, ``photon``, ``muon``,
``pionPlus``, ``pionMinus`` (split by the pion's charge), ``proton``, ``kaon``. Its 3-D truth is
stored sparse, all events of a file one after the other: ``images3D/C`` (M, 3) float32 [cm],
``images3D/V`` (M,) float32 [thousands of electrons after recombination] and
``images3D/offsets`` (N + 1,) int64 (event ``i`` owns rows ``offsets[i]:offsets[i + 1]``). Both
files also hold ``event`` (N,) int32, the event's number in the course's data set (its row in
the index ``lartpc_events.h5``); ``Energy`` is the primary's kinetic energy [GeV].

How the real files delimit events in ``images3D`` is not documented where the course could
check it: :func:`read_points` accepts the course's offsets, or padded arrays ``C`` (N, P, 3)
with ``V`` (N, P) (rows with V = 0 are padding), and otherwise raises
:class:`LArTPCFormatError` naming what it found.

The readers need no simulator. A missing or unreadable file raises
:class:`hepdl.common.io.DataFileError`; when the file lies in the course's ``datasets/`` folder
its digest is checked first and the message quotes the build command. A file that opens but
does not hold the layout raises :class:`LArTPCFormatError` saying what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hepdl.common import digests
from hepdl.common.data import rebuild_command
from hepdl.common.io import DataFileError, open_h5, write_h5
from hepdl.common.tiers import TIERS
from hepdl.lartpc.geometry import (
    ACTIVE_X_CM,
    ACTIVE_Y_CM,
    ACTIVE_Z_CM,
    N_PLANES,
    N_RAW_TICKS,
    N_TIME_BINS,
    N_WIRES,
    TICKS_PER_BIN,
)

__all__ = [
    "CLASS_OF_FILE",
    "DATASET_NAME",
    "FILE_NAMES",
    "LArTPCFormatError",
    "downsample_ticks",
    "event_points",
    "file_name",
    "read_images",
    "read_points",
    "voxelize",
    "write_public",
]

#: The course's data set of this layout.
DATASET_NAME = "lartpc_events"
#: The class name of each public file name (the real samples' names included).
CLASS_OF_FILE = {"electron": "electron", "photon": "photon", "muon": "muon",
                 "pionPlus": "pion", "pionMinus": "pion", "proton": "proton", "kaon": "kaon",
                 "kaonPlus": "kaon", "kaonMinus": "kaon", "pion0": "pion0"}
#: The files the course writes, in this order.
FILE_NAMES = ("electron", "photon", "muon", "pionPlus", "pionMinus", "proton", "kaon")


class LArTPCFormatError(ValueError):
    """A LArTPC file opens but does not hold what the public layout promises."""


def file_name(class_name: str, pdg: int) -> str:
    """The public file that holds an event of ``class_name`` with primary ``pdg``.

    Examples
    --------
    >>> file_name("pion", -211), file_name("muon", 13)
    ('pionMinus', 'muon')
    """
    if class_name == "pion":
        return "pionPlus" if pdg > 0 else "pionMinus"
    if class_name not in FILE_NAMES:
        raise ValueError(f"class_name must be one of electron, photon, muon, pion, proton, kaon; "
                         f"got {class_name!r}")
    return class_name


def write_public(folder: str | os.PathLike, data: Mapping, classes: Sequence[str]) -> list[Path]:
    """Write simulated events as the public layout, one file pair per class (module docstring).

    Parameters
    ----------
    folder : where the files go (created)
    data : the dict of :func:`hepdl.lartpc.simulate.simulate_events`
    classes : the class names of the labels (``config.classes``)

    Returns
    -------
    list of Path
        Every file written (classes without events get no file).

    Examples
    --------
    >>> import tempfile
    >>> from hepdl.lartpc.simulate import CLASS_NAMES, simulate_events
    >>> data = simulate_events(6, rng=np.random.default_rng(0))
    >>> files = write_public(tempfile.mkdtemp(), data, CLASS_NAMES)
    >>> sorted(f.name for f in files)[:3]
    ['electron.h5', 'electron_3D.h5', 'kaon.h5']
    """
    folder = Path(folder)
    events = data["events"]
    names = np.array([file_name(classes[label], pdg)
                      for label, pdg in zip(events["label"], events["pdg"])])
    offsets = np.asarray(data["images3D"]["offsets"])
    written = []
    for name in FILE_NAMES:
        rows = np.flatnonzero(names == name)
        if rows.size == 0:
            continue
        starts, stops = offsets[rows], offsets[rows + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)]).astype(np.int64)
        energy = np.asarray(events["energy_gev"])[rows].astype(np.float32)
        attrs = {"layout": "LArIAT-like public layout (hepdl.lartpc.formats)",
                 "class": CLASS_OF_FILE[name], "Energy": "kinetic energy [GeV]",
                 "ticks_per_bin": TICKS_PER_BIN}
        written.append(write_h5(folder / f"{name}.h5", {
            "images": np.asarray(data["images"])[rows], "Energy": energy,
            "event": rows.astype(np.int32)}, attrs=attrs))
        written.append(write_h5(folder / f"{name}_3D.h5", {
            "images3D": {"C": np.asarray(data["images3D"]["C"])[take],
                         "V": np.asarray(data["images3D"]["V"])[take],
                         "offsets": np.concatenate([[0], np.cumsum(stops - starts)])},
            "Energy": energy, "event": rows.astype(np.int32)},
            attrs={**attrs, "units": "C [cm], V [thousands of electrons]"}))
    return written


def _rebuild(path: Path) -> str | None:
    """The build command when ``path`` lies in the course's ``lartpc_events/SIZE`` folder."""
    parts = path.resolve().parts
    if DATASET_NAME in parts:
        i = parts.index(DATASET_NAME)
        if i + 1 < len(parts) and parts[i + 1] in TIERS:
            return rebuild_command(DATASET_NAME, parts[i + 1])
    return None


def _check_file(path: Path) -> str | None:
    """Check a course file against its digest; return the rebuild command (None if not ours)."""
    rebuild = _rebuild(path)
    if rebuild is not None:  # a course file: as its build wrote it, or an error
        digests.verify_digest(path, path.parent / f"{DATASET_NAME}.sha256", rebuild=rebuild)
    elif not path.is_file():
        hint = (f"\nRebuild it with:\n    {rebuild}" if rebuild else
                "\nCheck the path, or download the file again.")
        raise DataFileError(f"Data file {path} does not exist.{hint}")
    return rebuild


def _files(path: str | os.PathLike, classes, suffix: str) -> list[tuple[str, Path]]:
    path = Path(path)
    if not path.is_dir():
        stem = path.stem.removesuffix("_3D")
        return [(stem, path)]
    wanted = list(CLASS_OF_FILE) if classes is None else [
        name for name in CLASS_OF_FILE if CLASS_OF_FILE[name] in classes or name in classes]
    found = [(name, path / f"{name}{suffix}.h5") for name in wanted
             if (path / f"{name}{suffix}.h5").exists()]
    if not found:
        rebuild = _rebuild(path / "x")
        hint = (f"\nRebuild it with:\n    {rebuild}" if rebuild else
                "\nCheck the folder, or download the files again.")
        raise DataFileError(f"No LArTPC {'3-D ' if suffix else ''}files in {path}: expected "
                            f"{', '.join(n + suffix + '.h5' for n in wanted)}.{hint}")
    return found


def _read(path: Path, reader):
    rebuild = _check_file(path)
    try:
        with open_h5(path, rebuild=rebuild) as f:
            return reader(f)
    except (DataFileError, LArTPCFormatError, MemoryError):
        raise
    except Exception as err:  # h5py raises OSError, KeyError, ...
        hint = f"\nRebuild it with:\n    {rebuild}" if rebuild else "\nDownload it again."
        raise DataFileError(f"Data file {path} is not readable ({type(err).__name__}: {err}); it "
                            f"may be truncated or corrupt.{hint}") from err


def downsample_ticks(images, factor: int = TICKS_PER_BIN, n_bins: int | None = N_TIME_BINS,
                     start: int = 0) -> np.ndarray:
    """Sum groups of ``factor`` ticks along the last axis (the course's time binning).

    Parameters
    ----------
    images : (..., T) array
    factor : ticks per output bin (20 turns 128 ns ticks into 2.56 us bins)
    n_bins : output bins kept (None: as many as fit)
    start : first tick used

    Returns
    -------
    float32 array (..., n_bins)

    Examples
    --------
    >>> downsample_ticks(np.ones((2, 240, 4096)), 20).shape
    (2, 240, 128)
    """
    images = np.asarray(images)
    available = (images.shape[-1] - start) // factor
    n_bins = available if n_bins is None else n_bins
    if n_bins > available or n_bins < 1:
        raise ValueError(f"cannot take {n_bins} bins of {factor} ticks from tick {start} of "
                         f"{images.shape[-1]}; at most {available}")
    cut = images[..., start:start + n_bins * factor].astype(np.float32)
    return cut.reshape(*images.shape[:-1], n_bins, factor).sum(axis=-1)


def read_images(path: str | os.PathLike, *, classes: Sequence[str] | None = None,
                max_events: int | None = None, ticks_per_bin: int | None = None) -> dict:
    """Read the 2-D wire images of one file, or of every class file in a folder.

    Parameters
    ----------
    path : a ``<class>.h5`` file, or a folder of them (the course's ``datasets/lartpc_events/SIZE``
        or the real samples)
    classes : class or file names to read from a folder (``["muon", "pion"]``); by default every
        file of :data:`CLASS_OF_FILE` that is there
    max_events : read at most this many events per file
    ticks_per_bin : downsample time by this factor on reading (use 20 for the real files'
        4,096 ticks: :func:`downsample_ticks` keeps the first 128 bins); by default 20 if a file
        has 4,096 ticks, else none

    Returns
    -------
    dict
        ``images`` (N, 2, 240, T) float16, ``Energy`` (N,) float32, ``file`` (N,) str (the class
        file), ``class_name`` (N,) str (:data:`CLASS_OF_FILE`), ``event`` (N,) int32 (-1 where
        the file has no such column), file after file in the order of :data:`CLASS_OF_FILE`.

    Raises
    ------
    hepdl.common.io.DataFileError
        A file is missing, damaged or unreadable (the message gives the build command for the
        course's files).
    LArTPCFormatError
        A file lacks ``images``/``features`` or ``Energy``, or its images are not
        (N, 2, 240, T).
    """
    out = {key: [] for key in ("images", "Energy", "file", "class_name", "event")}
    for name, file in _files(path, classes, ""):
        def reader(f, file=file):
            key = "images" if "images" in f else "features" if "features" in f else None
            if key is None or "Energy" not in f:
                raise LArTPCFormatError(
                    f"{file}: a 2-D LArTPC file holds 'images' (or 'features') and 'Energy'; "
                    f"this one has {sorted(f.keys())}. Is it a 3-D file (name ending _3D)?")
            shape = f[key].shape
            if len(shape) != 4 or shape[1] != N_PLANES or shape[2] != N_WIRES:
                raise LArTPCFormatError(
                    f"{file}: {key} has shape {shape}; the layout is (N, {N_PLANES}, {N_WIRES}, "
                    "T): events, wire planes, wires, time ticks")
            n = shape[0] if max_events is None else min(shape[0], max_events)
            factor = ticks_per_bin or (TICKS_PER_BIN if shape[3] == N_RAW_TICKS else 1)
            images = f[key][:n]
            if factor > 1:
                images = downsample_ticks(images, factor).astype(np.float16)
            event = (f["event"][:n].astype(np.int32) if "event" in f
                     else np.full(n, -1, np.int32))
            return images, f["Energy"][:n].astype(np.float32).ravel(), event
        images, energy, event = _read(file, reader)
        out["images"].append(images)
        out["Energy"].append(energy)
        out["event"].append(event)
        out["file"].append(np.full(len(energy), name))
        out["class_name"].append(np.full(len(energy), CLASS_OF_FILE.get(name, name)))
    return {key: np.concatenate(value) for key, value in out.items()}


def read_points(path: str | os.PathLike, *, classes: Sequence[str] | None = None,
                max_events: int | None = None) -> dict:
    """Read the sparse 3-D truth of one ``<class>_3D.h5`` file, or of every one in a folder.

    Returns
    -------
    dict
        ``C`` (M, 3) float32 points ``x, y, z`` [cm], ``V`` (M,) float32 charge, ``offsets``
        (N + 1,) int64 (event ``i`` owns rows ``offsets[i]:offsets[i + 1]``), ``Energy`` (N,),
        ``file``, ``class_name`` (N,) str and ``event`` (N,) int32, in the order of
        :func:`read_images` (so row ``i`` here is image ``i`` there).

    Raises
    ------
    hepdl.common.io.DataFileError, LArTPCFormatError
        As :func:`read_images`.
    """
    parts = {key: [] for key in ("C", "V", "counts", "Energy", "file", "class_name", "event")}
    for name, file in _files(path, classes, "_3D"):
        def reader(f, file=file):
            if "images3D" not in f or "C" not in f["images3D"] or "V" not in f["images3D"]:
                raise LArTPCFormatError(f"{file}: a 3-D LArTPC file holds images3D/C and "
                                        f"images3D/V; this one has {sorted(f.keys())}")
            group = f["images3D"]
            points, charge = group["C"], group["V"]
            if "offsets" in group:
                offsets = group["offsets"][()].astype(np.int64)
                n = offsets.size - 1 if max_events is None else min(offsets.size - 1, max_events)
                stop = int(offsets[n])
                c, v = points[:stop], charge[:stop]
                counts = np.diff(offsets[:n + 1])
            elif len(points.shape) == 3 and points.shape[2] == 3 and \
                    charge.shape == points.shape[:2]:
                n = points.shape[0] if max_events is None else min(points.shape[0], max_events)
                c, v = points[:n], charge[:n]
                keep = v != 0
                counts = keep.sum(axis=1)
                c, v = c[keep], v[keep]
            else:
                raise LArTPCFormatError(
                    f"{file}: images3D/C has shape {points.shape} and images3D/V {charge.shape}, "
                    "with no images3D/offsets; expected C (M, 3) and V (M,) with offsets "
                    "(N + 1,), or C (N, P, 3) and V (N, P) padded with V = 0")
            energy = (f["Energy"][:n].astype(np.float32).ravel() if "Energy" in f
                      else np.full(n, np.nan, np.float32))
            event = f["event"][:n].astype(np.int32) if "event" in f else np.full(n, -1, np.int32)
            return np.asarray(c, np.float32).reshape(-1, 3), np.asarray(v, np.float32), \
                counts, energy, event
        c, v, counts, energy, event = _read(file, reader)
        for key, value in zip(("C", "V", "counts", "Energy", "event"), (c, v, counts, energy, event)):
            parts[key].append(value)
        parts["file"].append(np.full(len(counts), name))
        parts["class_name"].append(np.full(len(counts), CLASS_OF_FILE.get(name, name)))
    out = {key: np.concatenate(value) for key, value in parts.items()}
    out["offsets"] = np.concatenate([[0], np.cumsum(out.pop("counts"))]).astype(np.int64)
    return out


def event_points(points: Mapping, event: int) -> tuple[np.ndarray, np.ndarray]:
    """The points (k, 3) [cm] and charges (k,) of event ``event`` of :func:`read_points`' dict
    (or of the ``images3D`` group of :func:`hepdl.lartpc.simulate.simulate_events`).

    Examples
    --------
    >>> points = {"C": np.arange(9.0).reshape(3, 3), "V": np.ones(3), "offsets": np.array([0, 1, 3])}
    >>> event_points(points, 1)[0].tolist()
    [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
    """
    offsets = np.asarray(points["offsets"])
    n = offsets.size - 1
    if not -n <= event < n:
        raise IndexError(f"event {event} out of range: the points hold {n} events")
    event = event % n
    a, b = int(offsets[event]), int(offsets[event + 1])
    return np.asarray(points["C"][a:b]), np.asarray(points["V"][a:b])


def voxelize(points, charge=None, *, voxel_cm: float = 1.0) -> np.ndarray:
    """Densify points into voxels over the active volume: the summed charge per voxel.

    Parameters
    ----------
    points : (k, 3) array
        ``x, y, z`` [cm] (x in [0, 47], y in [-20, 20], z in [0, 90]); points outside are dropped.
    charge : (k,) array, optional
        Charge per point (any unit); 1 per point (a count) if omitted.
    voxel_cm : float
        Voxel edge [cm]: 1 gives (47, 40, 90) voxels, 2 gives (24, 20, 45) (the last partial
        voxel kept).

    Returns
    -------
    float32 array (nx, ny, nz)
        Use ``> 0`` for the occupancy.

    Examples
    --------
    >>> grid = voxelize(np.array([[0.5, 0.0, 10.2], [0.7, 0.1, 10.9], [46.9, 19.9, 89.9]]))
    >>> grid.shape, float(grid[0, 20, 10]), float(grid[46, 39, 89])
    ((47, 40, 90), 2.0, 1.0)
    """
    if not voxel_cm > 0:
        raise ValueError(f"voxel_cm must be positive, got {voxel_cm!r}")
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    weights = np.ones(len(points)) if charge is None else np.asarray(charge, dtype=float)
    shape = tuple(int(np.ceil(extent / voxel_cm - 1e-9))
                  for extent in (ACTIVE_X_CM, ACTIVE_Y_CM, ACTIVE_Z_CM))
    index = np.floor((points - np.array([0.0, -ACTIVE_Y_CM / 2, 0.0])) / voxel_cm).astype(np.int64)
    ok = np.all((index >= 0) & (index < np.array(shape)), axis=1)
    flat = np.ravel_multi_index(tuple(index[ok].T), shape)
    return np.bincount(flat, weights=weights[ok], minlength=int(np.prod(shape))) \
        .reshape(shape).astype(np.float32)

