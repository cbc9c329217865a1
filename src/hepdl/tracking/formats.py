"""The public file layouts of the two tracking data sets: write them, read them, check them.

* RAMP / DS@HEP 2017 "HEP_tracking": one CSV row per hit with the columns
  ``event_id, cluster_id, layer, iphi, x, y`` (``cluster_id`` -1 for noise), and a particle
  table ``event_id, cluster_id, pt, phi, x_vtx, y_vtx``. The course writes them as
  ``hits.csv`` and ``particles.csv``; the challenge's own ``train.csv`` / ``test.csv`` hold hits
  only and read the same way.
* TrackML: per event, ``eventNNNNNNNNN-hits.csv`` (``hit_id, x, y, z, volume_id, layer_id,
  module_id``), ``-truth.csv`` (``hit_id, particle_id, tx, ty, tz, tpx, tpy, tpz, weight``)
  and ``-particles.csv`` (``particle_id, particle_type, vx, vy, vz, px, py, pz, q, nhits``),
  as in the challenge's ``train_*.zip`` (the ``-cells.csv`` files are not simulated).

The readers return the same nested dicts of numpy arrays as the course's HDF5 copies
(:func:`hepdl.datasets.load`), an ``event_id`` column included, so a notebook can switch to the
real files by changing one line. They check what they read: a missing column, a value that is
not a number, a file with no hits (an empty event) or a hit on a layer the detector does not
have raises :class:`TrackingFormatError`, whose message names the file, the problem and the fix.
No pandas needed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hepdl.common.io import DataFileError
from hepdl.common.tiers import TIERS
from hepdl.tracking.geometry import RAMP_LAYER_RADII_MM, RAMP_PHI_PITCH_MM, phi_cells

__all__ = [
    "RAMP_HITS_COLUMNS",
    "RAMP_PARTICLES_COLUMNS",
    "TRACKML_COLUMNS",
    "TRACKML_LAYERS",
    "TrackingFormatError",
    "event_prefix",
    "read_ramp_csv",
    "read_trackml_event",
    "select_event",
    "write_ramp_csv",
    "write_trackml_csv",
]

# column -> dtype, in file order
RAMP_HITS_COLUMNS = {"event_id": np.int32, "cluster_id": np.int32, "layer": np.int8,
                     "iphi": np.int32, "x": np.float32, "y": np.float32}
RAMP_PARTICLES_COLUMNS = {"event_id": np.int32, "cluster_id": np.int32, "pt": np.float32,
                          "phi": np.float32, "x_vtx": np.float32, "y_vtx": np.float32}
TRACKML_COLUMNS = {
    "hits": {"hit_id": np.int32, "x": np.float32, "y": np.float32, "z": np.float32,
             "volume_id": np.int8, "layer_id": np.int8, "module_id": np.int32},
    "truth": {"hit_id": np.int32, "particle_id": np.int64, "tx": np.float32, "ty": np.float32,
              "tz": np.float32, "tpx": np.float32, "tpy": np.float32, "tpz": np.float32,
              "weight": np.float32},
    "particles": {"particle_id": np.int64, "particle_type": np.int32, "vx": np.float32,
                  "vy": np.float32, "vz": np.float32, "px": np.float32, "py": np.float32,
                  "pz": np.float32, "q": np.int8, "nhits": np.int32},
}
#: (volume_id, layer_id) of every layer of the TrackML detector, barrels and end-caps: the
#: course's barrel uses volumes 8, 13 and 17; the real files also have the end-caps.
TRACKML_LAYERS = frozenset(
    [(volume, layer) for volume, n in ((7, 7), (8, 4), (9, 7), (12, 6), (13, 4), (14, 6),
                                       (16, 6), (17, 2), (18, 6))
     for layer in range(2, 2 * n + 1, 2)])

_EVENT_NAME = re.compile(r"^event(\d{9})$")


class TrackingFormatError(ValueError):
    """A tracking CSV file exists but does not hold what its layout promises."""


def _rebuild_hint(path: Path) -> str:
    """The build command when ``path`` lies in the course's datasets folder, else a pointer."""
    parts = path.resolve().parts
    for name in ("tracking_ramp", "tracking_trackml"):
        if name in parts:
            i = parts.index(name)
            size = parts[i + 1] if i + 1 < len(parts) else "student"
            if size in TIERS:
                return (f"\nRebuild it with:\n    python -m hepdl.datasets build --size {size} "
                        f"--force {name}")
    return "\nCheck the path, or export the files again from the data set's HDF5 copy."


def _read_table(path: Path, columns: Mapping[str, type], what: str) -> dict[str, np.ndarray]:
    """Read the named columns of a CSV file with a header line, checking every value."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataFileError(f"Data file {path} does not exist.{_rebuild_hint(path)}") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise TrackingFormatError(
            f"{path}: the file is empty, without even a header line. A {what} file starts with "
            f"the header {','.join(columns)}. The file is truncated: write or download it again."
            f"{_rebuild_hint(path)}")
    header = [name.strip() for name in lines[0].split(",")]
    missing = [name for name in columns if name not in header]
    if missing:
        raise TrackingFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; the header line has "
            f"{','.join(header)}. A {what} file needs the columns {', '.join(columns)} (any order, "
            "named in the first line). Add them, or rename the columns that hold them.")
    body = lines[1:]
    if not any(line.strip() for line in body):
        raise TrackingFormatError(
            f"{path}: the file has a header but no rows: an empty event. Every event holds at "
            f"least one hit; the file is truncated or was written from an empty selection. "
            f"Write it again without empty events.{_rebuild_hint(path)}")
    usecols = [header.index(name) for name in columns]
    dtype = [(name, np.int64 if np.dtype(kind).kind == "i" else np.float64)
             for name, kind in columns.items()]
    try:
        table = np.loadtxt(body, delimiter=",", dtype=dtype, usecols=usecols, ndmin=1)
    except ValueError as err:
        line, problem = _first_bad_line(body, len(header), usecols, dtype)
        where = f" (line {line} of the file)" if line else ""
        raise TrackingFormatError(
            f"{path}: malformed row{where}: {problem or str(err).rstrip('.')}. Every row must "
            f"hold {len(header)} comma-separated numbers, integers in the columns "
            f"{', '.join(n for n, k in columns.items() if np.dtype(k).kind == 'i')}. Fix or "
            f"remove that line.") from None
    out = {}
    for name, kind in columns.items():
        values = table[name]
        kind = np.dtype(kind)
        if kind.kind == "i":
            info = np.iinfo(kind)
            bad = np.flatnonzero((values < info.min) | (values > info.max))
            if bad.size:
                raise TrackingFormatError(
                    f"{path}: column {name} holds {values[bad[0]]} on line {bad[0] + 2}, outside "
                    f"the {kind} range [{info.min}, {info.max}]. Fix that value.")
        elif not np.all(np.isfinite(values)):
            bad = np.flatnonzero(~np.isfinite(values))[0]
            raise TrackingFormatError(
                f"{path}: column {name} holds {values[bad]} on line {bad + 2}; positions and "
                "momenta must be finite numbers. Fix or remove that line.")
        out[name] = values.astype(kind)
    return out


def _first_bad_line(body: list[str], n_fields: int, usecols: list[int],
                    dtype: list) -> tuple[int | None, str | None]:
    """File line number (1 = header) and problem of the first row that does not parse."""
    for number, line in enumerate(body, start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != n_fields:
            return number, f"{len(fields)} fields instead of {n_fields}"
        for column, (name, kind) in zip(usecols, dtype):
            text = fields[column].strip()
            try:
                int(text) if kind is np.int64 else float(text)
            except ValueError:
                return number, f"could not convert string {text!r} in column {name} to a number" \
                    + (" (an integer)" if kind is np.int64 else "")
    return None, None


def _check_ramp_hits(path: Path, hits: dict, layer_radii_mm, phi_pitch_mm) -> None:
    n_layers = len(layer_radii_mm)
    layer = hits["layer"].astype(np.int64)
    bad = np.flatnonzero((layer < 0) | (layer >= n_layers))
    if bad.size:
        raise TrackingFormatError(
            f"{path}: line {bad[0] + 2} puts a hit on layer {layer[bad[0]]}, outside the "
            f"detector (layers 0 to {n_layers - 1}; {bad.size} such rows). The file is not in "
            "the RAMP layout, or its layer column is shifted: layers count from 0 (innermost).")
    n_cells = phi_cells(layer_radii_mm, phi_pitch_mm)
    iphi = hits["iphi"].astype(np.int64)
    bad = np.flatnonzero((iphi < 0) | (iphi >= n_cells[layer]))
    if bad.size:
        i = bad[0]
        raise TrackingFormatError(
            f"{path}: line {i + 2} has iphi = {iphi[i]} on layer {layer[i]}, which has cells 0 to "
            f"{n_cells[layer[i]] - 1} only ({bad.size} such rows). The file does not come from "
            "the RAMP geometry (pitch 0.025 mm on layers 0-4, 0.05 mm on 5-8).")
    bad = np.flatnonzero(hits["cluster_id"] < -1)
    if bad.size:
        raise TrackingFormatError(
            f"{path}: line {bad[0] + 2} has cluster_id {hits['cluster_id'][bad[0]]}; true "
            "cluster ids are the particle's index (0, 1, ...) or -1 for noise.")


def read_ramp_csv(path: str | os.PathLike, *, config=None) -> dict:
    """Read RAMP-layout hits (and particles, when present) and check them.

    Parameters
    ----------
    path : a folder holding ``hits.csv`` (and optionally ``particles.csv``), or one hits file
        such as the challenge's ``train.csv``
    config : the detector the hits must fit (layers and cells): any object with
        ``layer_radii_mm`` and ``phi_pitch_mm``, such as a
        :class:`~hepdl.tracking.ramp.RampConfig`; by default the RAMP geometry of
        :mod:`hepdl.tracking.geometry`

    Returns
    -------
    dict
        ``{"hits": {...}}``, plus ``"particles"`` when the folder has ``particles.csv``; columns
        and dtypes as in :func:`hepdl.tracking.ramp.simulate_ramp_events`.

    Raises
    ------
    hepdl.common.io.DataFileError
        The file does not exist.
    TrackingFormatError
        A missing column, a non-numeric value, no hits at all, or a hit outside the detector.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "hits.csv").write_text("event_id,cluster_id,layer,iphi,x,y\\n"
    ...                                      "0,0,0,0,39.0,0.0\\n0,-1,12,0,1.0,0.0\\n")
    >>> read_ramp_csv(folder)
    Traceback (most recent call last):
    ...
    hepdl.tracking.formats.TrackingFormatError: .../hits.csv: line 3 puts a hit on layer 12, outside the detector (layers 0 to 8; 1 such rows). The file is not in the RAMP layout, or its layer column is shifted: layers count from 0 (innermost).
    """
    path = Path(path)
    folder = path if path.is_dir() else None
    hits_path = path / "hits.csv" if folder else path
    hits = _read_table(hits_path, RAMP_HITS_COLUMNS, "RAMP hits")
    if config is None:
        _check_ramp_hits(hits_path, hits, RAMP_LAYER_RADII_MM, RAMP_PHI_PITCH_MM)
    else:
        _check_ramp_hits(hits_path, hits, config.layer_radii_mm, config.phi_pitch_mm)
    out = {"hits": hits}
    if folder is not None and (folder / "particles.csv").exists():
        out["particles"] = _read_table(folder / "particles.csv", RAMP_PARTICLES_COLUMNS,
                                       "RAMP particles")
    return out


def event_prefix(folder: str | os.PathLike, event_id: int) -> Path:
    """The TrackML file prefix of an event: ``folder/eventNNNNNNNNN``.

    Examples
    --------
    >>> event_prefix("train_100_events", 1000).as_posix()
    'train_100_events/event000001000'
    """
    return Path(folder) / f"event{int(event_id):09d}"


def read_trackml_event(prefix: str | os.PathLike, parts=("hits", "truth", "particles")) -> dict:
    """Read and check one TrackML event: ``PREFIX-hits.csv``, ``-truth.csv``, ``-particles.csv``.

    Parameters
    ----------
    prefix : the files' common prefix, e.g. ``.../train_100_events/event000001000``
    parts : which tables to read; ``truth`` and ``particles`` are skipped when their file is
        absent (a test-set event has hits only), ``hits`` must exist

    Returns
    -------
    dict
        ``{"hits": ..., "truth": ..., "particles": ...}``, each a dict of columns with an
        ``event_id`` column taken from the file name, as in the HDF5 copy (see
        :func:`hepdl.tracking.trackml.simulate_trackml_events`).

    Raises
    ------
    hepdl.common.io.DataFileError
        The hits file does not exist.
    TrackingFormatError
        A missing column, a non-numeric value, a hits file with no rows (an empty event), a hit
        on a (volume_id, layer_id) the TrackML detector does not have, repeated hit ids, or a
        truth file whose hits differ from the hits file's.

    Examples
    --------
    >>> import tempfile
    >>> prefix = event_prefix(tempfile.mkdtemp(), 7)
    >>> _ = Path(f"{prefix}-hits.csv").write_text(
    ...     "hit_id,x,y,z,volume_id,layer_id,module_id\\n1,32.0,0.0,5.0,8,2,1\\n")
    >>> event = read_trackml_event(prefix)
    >>> sorted(event), event["hits"]["event_id"].tolist(), event["hits"]["volume_id"].dtype
    (['hits'], [7], dtype('int8'))
    """
    prefix = Path(prefix)
    match = _EVENT_NAME.match(prefix.name)
    if not match:
        raise ValueError(f"prefix must end in 'event' and nine digits (eventNNNNNNNNN), got "
                         f"{prefix.name!r}: pass the path without the '-hits.csv' ending")
    unknown = set(parts) - set(TRACKML_COLUMNS)
    if unknown or "hits" not in parts:
        raise ValueError(f"parts must include 'hits' and be among {tuple(TRACKML_COLUMNS)}, "
                         f"got {tuple(parts)!r}")
    event_id = int(match.group(1))
    out = {}
    for part in TRACKML_COLUMNS:
        if part not in parts:
            continue
        file = Path(f"{prefix}-{part}.csv")
        if part != "hits" and not file.exists():
            continue
        table = _read_table(file, TRACKML_COLUMNS[part], f"TrackML {part}")
        n = next(iter(table.values())).size
        out[part] = {"event_id": np.full(n, event_id, dtype=np.int32), **table}
    hits_file = Path(f"{prefix}-hits.csv")
    hits = out["hits"]
    pairs = np.stack([hits["volume_id"].astype(np.int64), hits["layer_id"].astype(np.int64)])
    known = np.array(sorted(TRACKML_LAYERS)).T
    ok = np.zeros(pairs.shape[1], dtype=bool)
    for volume, layer in known.T:
        ok |= (pairs[0] == volume) & (pairs[1] == layer)
    if not ok.all():
        i = np.flatnonzero(~ok)[0]
        raise TrackingFormatError(
            f"{hits_file}: line {i + 2} puts hit {hits['hit_id'][i]} on volume_id {pairs[0, i]}, "
            f"layer_id {pairs[1, i]}, a layer the TrackML detector does not have ({(~ok).sum()} "
            "such rows). Volumes are 7-9 (pixels), 12-14 and 16-18 (strips), layers even from 2. "
            "Check that the volume_id and layer_id columns are not swapped.")
    _check_unique_ids(hits_file, hits["hit_id"])
    if "truth" in out:
        truth_file = Path(f"{prefix}-truth.csv")
        _check_unique_ids(truth_file, out["truth"]["hit_id"])
        if not np.array_equal(np.sort(out["truth"]["hit_id"]), np.sort(hits["hit_id"])):
            raise TrackingFormatError(
                f"{truth_file}: its hit ids differ from those of {hits_file} "
                f"({out['truth']['hit_id'].size} truth rows, {hits['hit_id'].size} hits). The "
                "truth file must give one row per hit: the two files come from different events.")
        if np.any(out["truth"]["particle_id"] < 0):
            raise TrackingFormatError(
                f"{truth_file}: negative particle_id; TrackML particle ids are positive and 0 "
                "marks noise.")
    return out


def _check_unique_ids(path: Path, hit_id: np.ndarray) -> None:
    values, counts = np.unique(hit_id, return_counts=True)
    if np.any(counts > 1):
        raise TrackingFormatError(
            f"{path}: hit_id {values[counts > 1][0]} appears {counts.max()} times; every hit has "
            "its own id. Rows were duplicated: remove the repeated rows.")


def select_event(data: Mapping, event_id: int) -> dict:
    """The rows of one event in every table of ``data`` (tables with an ``event_id`` column).

    Examples
    --------
    >>> data = {"hits": {"event_id": np.array([0, 0, 1]), "x": np.array([1.0, 2.0, 3.0])}}
    >>> select_event(data, 0)["hits"]["x"].tolist()
    [1.0, 2.0]
    """
    out = {}
    for name, table in data.items():
        if not isinstance(table, Mapping) or "event_id" not in table:
            raise ValueError(f"table {name!r} has no event_id column; select_event works on the "
                             "tracking data sets' tables (hits, truth, particles)")
        rows = np.asarray(table["event_id"]) == event_id
        out[name] = {key: np.asarray(value)[rows] for key, value in table.items()}
    return out


def _format_columns(table: Mapping, columns: Mapping[str, type]) -> list[str]:
    # numpy's str() of a float is the shortest text that reads back to the same value
    texts = [np.asarray(table[name]).astype(kind).astype(str).tolist()
             for name, kind in columns.items()]
    return [",".join(row) for row in zip(*texts)]


def _write_table(path: Path, table: Mapping, columns: Mapping[str, type]) -> Path:
    missing = [name for name in columns if name not in table]
    if missing:
        raise ValueError(f"cannot write {path.name}: the table lacks the column(s) "
                         f"{', '.join(missing)}; it needs {', '.join(columns)}")
    lines = [",".join(columns), *_format_columns(table, columns)]
    tmp = path.with_name(path.name + ".partial")
    try:
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_ramp_csv(folder: str | os.PathLike, data: Mapping) -> tuple[Path, Path]:
    """Write ``data["hits"]`` and ``data["particles"]`` as ``hits.csv`` and ``particles.csv``.

    Examples
    --------
    >>> import tempfile
    >>> from hepdl.tracking.ramp import simulate_ramp_events
    >>> data = simulate_ramp_events(2, rng=np.random.default_rng(0))
    >>> hits_csv, _ = write_ramp_csv(tempfile.mkdtemp(), data)
    >>> hits_csv.read_text().splitlines()[0]
    'event_id,cluster_id,layer,iphi,x,y'
    >>> back = read_ramp_csv(hits_csv.parent)
    >>> bool(np.array_equal(back["hits"]["x"], data["hits"]["x"]))
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return (_write_table(folder / "hits.csv", data["hits"], RAMP_HITS_COLUMNS),
            _write_table(folder / "particles.csv", data["particles"], RAMP_PARTICLES_COLUMNS))


def write_trackml_csv(folder: str | os.PathLike, data: Mapping, *,
                      max_events: int | None = None) -> list[Path]:
    """Write each event as ``folder/eventNNNNNNNNN-{hits,truth,particles}.csv``.

    The folder is replaced as a whole (written beside it, then renamed), so it never mixes files
    of two builds.

    Parameters
    ----------
    folder : the output folder
    data : ``{"hits", "truth", "particles"}`` tables with ``event_id`` columns
    max_events : write only the first ``max_events`` events (all if None)

    Returns
    -------
    list of Path
        The event prefixes written.

    Examples
    --------
    >>> import tempfile
    >>> from hepdl.tracking.trackml import TrackMLConfig, simulate_trackml_events
    >>> data = simulate_trackml_events(2, rng=np.random.default_rng(0),
    ...                                config=TrackMLConfig(mean_particles=10.0))
    >>> prefixes = write_trackml_csv(Path(tempfile.mkdtemp()) / "events", data)
    >>> [p.name for p in prefixes]
    ['event000000000', 'event000000001']
    >>> back = read_trackml_event(prefixes[1])
    >>> bool(np.array_equal(back["truth"]["particle_id"],
    ...                     select_event(data, 1)["truth"]["particle_id"]))
    True
    """
    folder = Path(folder)
    if max_events is not None and max_events < 1:
        raise ValueError(f"max_events must be at least 1 (or None for all), got {max_events}")
    events = np.unique(np.asarray(data["hits"]["event_id"]))
    if max_events is not None:
        events = events[:max_events]
    # each table sorted by event (stable, so the order within an event is kept)
    tables = {}
    for part in TRACKML_COLUMNS:
        table = {key: np.asarray(value) for key, value in data[part].items()}
        if max_events is not None:
            rows = np.isin(table["event_id"], events)
            table = {key: value[rows] for key, value in table.items()}
        order = np.argsort(table["event_id"], kind="stable")
        ev = table["event_id"][order]
        bounds = np.stack([np.searchsorted(ev, events, "left"),
                           np.searchsorted(ev, events, "right")], axis=1)
        tables[part] = (table, order, bounds)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for i, event_id in enumerate(events):
            for part, columns in TRACKML_COLUMNS.items():
                table, order, bounds = tables[part]
                rows = order[bounds[i, 0]:bounds[i, 1]]
                one = {key: table[key][rows] for key in columns if key in table}
                _write_table(Path(f"{event_prefix(tmp, event_id)}-{part}.csv"), one, columns)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [event_prefix(folder, event_id) for event_id in events]
