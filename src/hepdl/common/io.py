"""HDF5 reading and writing with errors that say what to do.

Every file the course writes is HDF5 (h5py): tables are groups of equal-length 1-D datasets
(``hits/x``, ``hits/layer``, ...), images are N-D datasets, and the file's attributes record the
generator, its version, the seed and the configuration. Writes are chunked, gzip-compressed and
atomic (a temporary file renamed into place), so an interrupted build never leaves a half file.

A missing or unreadable file raises :class:`DataFileError`, whose message names the file and,
when the caller knows it, the command that rebuilds it. Whatever h5py raises while reading
(``OSError``, ``RuntimeError``, ``KeyError``, ...) becomes such an error too.

Damage that HDF5 cannot see (bytes overwritten in a chunk, an edited attribute) is caught by the
digest file beside the data: :mod:`hepdl.common.digests`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = ["DataFileError", "open_h5", "read_attrs", "read_h5", "rebuild_hint", "write_h5"]


class DataFileError(FileNotFoundError):
    """A course data file is missing, unreadable, or lacks a dataset the caller needs."""


def rebuild_hint(rebuild: str | None) -> str:
    """The end of an error message: the command that rebuilds the file, when it is known."""
    return f"\nRebuild it with:\n    {rebuild}" if rebuild else ""


@contextmanager
def _reading(path: str | os.PathLike, rebuild: str | None) -> Iterator[None]:
    """Turn whatever h5py raises inside the block into a :class:`DataFileError` naming ``path``."""
    try:
        yield
    except (DataFileError, MemoryError):
        raise
    except Exception as err:  # h5py raises OSError, RuntimeError, KeyError, ValueError, ...
        fix = "build it again" if rebuild else "replace it with a good copy"
        raise DataFileError(
            f"Data file {path} is not a readable HDF5 file ({type(err).__name__}: {err}). It may "
            f"be truncated or corrupt: {fix}.{rebuild_hint(rebuild)}"
        ) from err


def open_h5(path: str | os.PathLike, *, rebuild: str | None = None) -> h5py.File:
    """Open an HDF5 file read-only, or raise :class:`DataFileError` saying how to rebuild it.

    Parameters
    ----------
    path
        The file to open.
    rebuild
        The shell command that recreates the file, quoted in the error message.

    Examples
    --------
    >>> open_h5("no/such/file.h5", rebuild="python -m hepdl.datasets build NAME")
    Traceback (most recent call last):
    ...
    hepdl.common.io.DataFileError: Data file no/such/file.h5 does not exist.
    Rebuild it with:
        python -m hepdl.datasets build NAME
    """
    path = Path(path)
    _check_exists(path, rebuild)
    with _reading(path, rebuild):
        return h5py.File(path, "r")


def _check_exists(path: Path, rebuild: str | None) -> None:
    if not path.is_file():
        raise DataFileError(f"Data file {path} does not exist.{rebuild_hint(rebuild)}")


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"HDF5 names must be non-empty strings without '/', got {key!r}")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "/"))
        else:
            flat[name] = value
    return flat


def write_h5(
    path: str | os.PathLike,
    data: Mapping[str, Any],
    *,
    attrs: Mapping[str, Any] | None = None,
    compression_level: int = 4,
) -> Path:
    """Write nested arrays to HDF5 atomically, chunked and gzip-compressed.

    Parameters
    ----------
    path
        Destination file; parent folders are created.
    data
        A mapping of names to arrays; a nested mapping becomes an HDF5 group
        (``{"hits": {"x": ..., "y": ...}}`` gives datasets ``hits/x`` and ``hits/y``).
    attrs
        File attributes. Numbers and strings are stored as they are; anything else
        (dicts, lists) as JSON text.
    compression_level
        gzip level, 0 to 9.

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp()) / "demo.h5"
    >>> _ = write_h5(tmp, {"hits": {"x": np.arange(3.0)}}, attrs={"seed": 1})
    >>> read_h5(tmp)["hits"]["x"]
    array([0., 1., 2.])
    >>> read_attrs(tmp)["seed"]
    1
    """
    path = Path(path)
    flat = _flatten(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with h5py.File(tmp, "w") as f:
            for name, value in flat.items():
                array = np.asarray(value)
                if array.dtype.kind in "OU":
                    array = array.astype("S")
                if array.ndim == 0 or array.size == 0:
                    f.create_dataset(name, data=array)
                else:
                    f.create_dataset(
                        name,
                        data=array,
                        chunks=True,
                        compression="gzip",
                        compression_opts=compression_level,
                        shuffle=True,
                    )
            for key, value in (attrs or {}).items():
                if isinstance(value, (str, int, float, np.integer, np.floating, bool)):
                    f.attrs[key] = value
                else:
                    f.attrs[key] = json.dumps(value, sort_keys=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_h5(
    path: str | os.PathLike,
    keys: Iterable[str] | None = None,
    *,
    rebuild: str | None = None,
) -> dict[str, Any]:
    """Read datasets of an HDF5 file into a nested dict of numpy arrays.

    Parameters
    ----------
    path
        The file to read.
    keys
        Dataset or group paths to read (``"hits"``, ``"hits/x"``); all of them if omitted.
    rebuild
        The command that recreates the file, quoted if it is missing or broken.

    Raises
    ------
    DataFileError
        The file is missing, unreadable, or lacks one of ``keys`` (the message lists what it has).
        It does not check a digest: call :func:`verify_digest` first for that.
    """
    out: dict[str, Any] = {}
    with _reading(path, rebuild), open_h5(path, rebuild=rebuild) as f:
        names = list(keys) if keys is not None else list(f.keys())
        for name in names:
            if name not in f:
                raise DataFileError(
                    f"Data file {path} has no dataset or group {name!r}; it has "
                    f"{sorted(f.keys())}. It may come from an older generator.{rebuild_hint(rebuild)}"
                )
            node = f[name]
            target = out
            parts = name.strip("/").split("/")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            if isinstance(node, h5py.Group):
                group: dict[str, Any] = {}
                node.visititems(
                    lambda sub, obj, g=group: _store(g, sub, obj)
                )
                target[parts[-1]] = group
            else:
                target[parts[-1]] = node[()]
    return out


def _store(group: dict[str, Any], name: str, obj: Any) -> None:
    if isinstance(obj, h5py.Dataset):
        target = group
        parts = name.split("/")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = obj[()]


def read_attrs(path: str | os.PathLike, *, rebuild: str | None = None) -> dict[str, Any]:
    """Return a file's attributes, decoding the JSON-encoded ones and numpy scalars.

    Raises
    ------
    DataFileError
        The file is missing or unreadable.
    """
    attrs: dict[str, Any] = {}
    with _reading(path, rebuild), open_h5(path, rebuild=rebuild) as f:
        for key, value in f.attrs.items():
            if isinstance(value, bytes):
                value = value.decode()
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass
            elif isinstance(value, np.generic):
                value = value.item()
            attrs[key] = value
    return attrs
