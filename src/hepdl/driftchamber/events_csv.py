"""One event as the talk's per-event CSV file (``ID, Layer, Wire, Stereo, X, Y, RT, RC, TRK``).

The talk's first step split the simulation output into one file per event::

    ID,Layer,Wire,Stereo,X,Y,RT,RC,TRK
    0,0,10,1,14.805,74.431,277.312,705,1

``ID`` numbers the hits of the event from 0, ``Layer`` and ``Wire`` name the wire, ``Stereo`` is
1 for a stereo wire, ``X, Y`` [mm] the wire's mid-point ``((XE + XW)/2, (YE + YW)/2)``, ``RT``
[ns] the drift time, ``RC`` [ADC counts] the charge and ``TRK`` the track (0 pi+, 1 pi-, 2 l+,
3 l-, -1 noise). Floats are written with 9 significant digits, so a float32 table reads back
exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hepdl.common.io import DataFileError

__all__ = ["CSV_COLUMNS", "read_event_csv", "write_event_csv"]

#: The CSV header, and the hits-table field of each column.
CSV_COLUMNS = ("ID", "Layer", "Wire", "Stereo", "X", "Y", "RT", "RC", "TRK")
_FIELDS = {"Layer": ("layer", np.int8), "Wire": ("wire", np.int16), "Stereo": ("stereo", np.int8),
           "X": ("x", np.float32), "Y": ("y", np.float32), "RT": ("rt", np.float32),
           "RC": ("rc", np.float32), "TRK": ("trk", np.int8)}
_FORMAT = ["%d", "%d", "%d", "%d", "%.9g", "%.9g", "%.9g", "%.9g", "%d"]


def write_event_csv(path: str | os.PathLike, hits, event: int) -> Path:
    """Write the hits of one event to ``path`` in the talk's per-event CSV layout.

    Parameters
    ----------
    path : destination file (parent folders are created)
    hits : the hits table of a data set (``event``, ``layer``, ``wire``, ``stereo``, ``x``,
        ``y``, ``rt``, ``rc``, ``trk``)
    event : the event number to export (an event without hits gives a header-only file)

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> hits = {"event": np.array([0, 1]), "layer": np.array([0, 5]), "wire": np.array([10, 3]),
    ...         "stereo": np.array([1, 1]), "x": np.float32([14.805, 1.0]),
    ...         "y": np.float32([74.431, 2.0]), "rt": np.float32([277.312, 300.0]),
    ...         "rc": np.float32([705.0, 600.0]), "trk": np.array([1, -1])}
    >>> out = write_event_csv(Path(tempfile.mkdtemp()) / "event_0.csv", hits, 0)
    >>> print(out.read_text().strip())
    ID,Layer,Wire,Stereo,X,Y,RT,RC,TRK
    0,0,10,1,14.8050003,74.4309998,277.312012,705,1
    >>> read_event_csv(out)["x"]
    array([14.805], dtype=float32)
    """
    missing = [name for name, _ in _FIELDS.values() if name not in hits] + (
        [] if "event" in hits else ["event"])
    if missing:
        raise KeyError(f"hits lacks {missing}; pass the hits table of a drift-chamber data set")
    select = np.asarray(hits["event"]) == event
    columns = [np.arange(int(select.sum()))]
    columns += [np.asarray(hits[name])[select] for name, _ in _FIELDS.values()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.empty((columns[0].size, len(CSV_COLUMNS)), dtype=object)
    for j, values in enumerate(columns):
        rows[:, j] = values.tolist()
    with open(path, "w", newline="") as f:
        f.write(",".join(CSV_COLUMNS) + "\n")
        if rows.size:
            np.savetxt(f, rows, fmt=_FORMAT, delimiter=",")
    return path


def read_event_csv(path: str | os.PathLike):
    """Read a per-event CSV file back into a hits table (one event, no ``event`` column).

    Returns
    -------
    dict
        ``id`` (int32) and ``layer``, ``wire``, ``stereo``, ``x``, ``y``, ``rt``, ``rc``,
        ``trk`` with the dtypes of the HDF5 hits table.

    Raises
    ------
    hepdl.common.io.DataFileError
        The file is missing, or is not a CSV of this layout (the message says what is wrong).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"Event file {path} does not exist. Write it with "
                            "hepdl.driftchamber.events_csv.write_event_csv(path, hits, event).")
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"Event file {path} could not be read as text ({err}).") from err
    header = tuple(name.strip() for name in lines[0].split(",")) if lines else ()
    if header != CSV_COLUMNS:
        got = repr(lines[0][:80]) if lines else "an empty file"
        raise DataFileError(f"Event file {path} does not start with the header "
                            f"{','.join(CSV_COLUMNS)}; got {got}.")
    body = [line for line in lines[1:] if line.strip()]
    try:
        table = (np.loadtxt(body, delimiter=",", ndmin=2) if body
                 else np.zeros((0, len(CSV_COLUMNS))))
    except ValueError as err:
        raise DataFileError(f"Event file {path} has a malformed row ({err}); "
                            "write it again with write_event_csv.") from err
    if table.shape[1] != len(CSV_COLUMNS):
        raise DataFileError(f"Event file {path} has {table.shape[1]} columns per row, "
                            f"expected {len(CSV_COLUMNS)}.")
    out = {"id": table[:, 0].astype(np.int32)}
    for j, column in enumerate(CSV_COLUMNS[1:], start=1):
        name, dtype = _FIELDS[column]
        out[name] = table[:, j].astype(dtype)
    return out
