"""How a data set is described: each detector room lists its data sets as :class:`DatasetSpec`.

A room (``hepdl.warmup``, ``hepdl.tracking``, ...) exposes ``DATASETS: list[DatasetSpec]``;
:mod:`hepdl.datasets` collects them into one registry and provides the build command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DatasetSpec"]


@dataclass(frozen=True)
class DatasetSpec:
    """How one data set is made.

    Attributes
    ----------
    name : file and folder name (``datasets/NAME/SIZE/NAME.h5``)
    simulate : ``simulate(n, *, rng) -> (data, config)``: ``data`` a nested dict of arrays
        (written with :func:`hepdl.common.io.write_h5`), ``config`` a JSON-friendly dict of the
        simulator's settings (stored in the file's attributes)
    sizes : number of events (or samples) for each of ``ci``, ``student`` and ``full``
    seed : default seed of the build
    summary : one line for ``python -m hepdl.datasets list``
    write : optional ``write(path, data, attrs)`` for data sets stored in another layout than
        one HDF5 file (e.g. CSV files in a folder); ``path`` is still ``.../NAME.h5`` and such a
        writer puts a small HDF5 index there, so that up-to-date checks work the same way. It
        returns every file it wrote, ``NAME.h5`` included: the build lists them all in the
        digest file ``NAME.sha256`` (a writer that returns one path wrote that file only)
    revision : the simulator's revision, stored in the file's attributes; raise it when the
        simulator's output changes for the same seed and configuration, so that every file
        built before is rebuilt (as is a file written before revisions were recorded)
    """

    name: str
    simulate: Callable[..., tuple[dict[str, Any], dict[str, Any]]]
    sizes: dict[str, int] = field(default_factory=dict)
    seed: int = 20261123
    summary: str = ""
    write: Callable[..., Any] | None = None
    revision: int = 1
