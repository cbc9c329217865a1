"""The course's data sets: where they live, how to build them, how to load them.

Every data set is written by a seeded simulator to ``datasets/NAME/SIZE/NAME.h5`` at one of three
sizes: ``ci`` (tiny, for the test suite), ``student`` (what a notebook uses by default) and
``full`` (the studies as taught). Build from a shell with::

    python -m hepdl.datasets build --size student warmup_hits

and from a notebook with :func:`load`, which tells you that command if the file is missing or
damaged. A build writes, last, ``datasets/NAME/SIZE/NAME.sha256``: the SHA-256 digest of every file
it wrote, in ``sha256sum`` format. :func:`load` checks the HDF5 file against it before reading, and
a build rebuilds any data set whose files no longer match it.

Where the files live and how they are read is :mod:`hepdl.common.data` (the read side, which
needs no registry); this module adds the registry, the names it knows and the build.

The data sets are declared by the detector rooms, each in its ``DATASETS`` list: the registry
finds the rooms itself (every subpackage of :mod:`hepdl` but ``common`` and ``datasets`` that
defines ``DATASETS``), so a new room needs no line here (see ``src/hepdl/README.md``).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path
from typing import Any

import hepdl
from hepdl import __version__
from hepdl.common import data, digests, io, seeding
from hepdl.common.registry import DatasetSpec
from hepdl.common.tiers import TIERS, check_tier

__all__ = [
    "BuildResult",
    "ENV_VAR",
    "REGISTRY",
    "ROOMS",
    "SIZES",
    "DatasetSpec",
    "build",
    "data_root",
    "load",
    "path",
    "rebuild_command",
]

ENV_VAR = data.ENV_VAR
#: The sizes a data set is built at: the course's tiers (:mod:`hepdl.common.tiers`).
SIZES = TIERS


#: Subpackages of :mod:`hepdl` that are not detector rooms.
_NOT_ROOMS = ("common", "datasets")


def _discover_rooms() -> tuple[str, ...]:
    """The detector rooms: every subpackage of :mod:`hepdl` but ``common`` and ``datasets``
    that defines ``DATASETS``, in alphabetical order."""
    rooms = []
    for info in pkgutil.iter_modules(hepdl.__path__):
        if not info.ispkg or info.name in _NOT_ROOMS:
            continue
        if hasattr(importlib.import_module(f"hepdl.{info.name}"), "DATASETS"):
            rooms.append(info.name)
    return tuple(sorted(rooms))


def _collect(rooms: tuple[str, ...]) -> dict[str, DatasetSpec]:
    registry: dict[str, DatasetSpec] = {}
    for room in rooms:
        for spec in importlib.import_module(f"hepdl.{room}").DATASETS:
            if spec.name in registry:
                raise RuntimeError(f"data set {spec.name!r} is declared twice (hepdl.{room}); "
                                   "rename one of them")
            registry[spec.name] = spec
    return registry


#: The detector rooms found (``hepdl.<room>`` with a ``DATASETS`` list).
ROOMS: tuple[str, ...] = _discover_rooms()
#: Every data set, by name.
REGISTRY: dict[str, DatasetSpec] = _collect(ROOMS)


def _spec(name: str) -> DatasetSpec:
    if name not in REGISTRY:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


#: Where the data sets are found: :func:`hepdl.common.data.data_root` (its docstring has the order).
data_root = data.data_root


def rebuild_command(name: str, size: str = "student", *, force: bool = False) -> str:
    """The shell command that (re)builds a data set this registry knows
    (:func:`hepdl.common.data.rebuild_command`); ``force`` rebuilds one that is up to date."""
    return data.rebuild_command(_spec(name).name, size, force=force)


def path(name: str, size: str = "student", root: str | os.PathLike | None = None) -> Path:
    """Where data set ``name`` at ``size`` lives: ``<root>/NAME/SIZE/NAME.h5``."""
    return data.path(_spec(name).name, size, root)


def load(
    name: str,
    size: str = "student",
    root: str | os.PathLike | None = None,
    keys: list[str] | None = None,
) -> dict[str, Any]:
    """Read a built data set into a nested dict of numpy arrays (:func:`hepdl.common.data.load`,
    for a name this registry knows).

    Raises
    ------
    hepdl.common.io.DataFileError
        If the file is missing, damaged (its digest differs from the one its build recorded, or
        there is none) or unreadable; the message gives the command that rebuilds it.
    """
    return data.load(_spec(name).name, size, root, keys)


class BuildResult(tuple):
    """What :func:`build` did: unpacks as ``(file, built)``, and ``reason`` says why.

    ``reason`` is ``"up to date"``, ``"built"`` (there was no file), ``"rebuilt (forced)"`` or
    ``"rebuilt (WHY)"``, e.g. ``"rebuilt (tracking_ramp.h5 damaged: digest differs)"``,
    ``"rebuilt (no digest)"`` or ``"rebuilt (seed differs: 1 in the file, 20261123 wanted)"``.

    Examples
    --------
    >>> result = BuildResult(Path("warmup_hits.h5"), True, "built")
    >>> target, built = result
    >>> built, result.reason
    (True, 'built')
    """

    reason: str

    def __new__(cls, file: Path, built: bool, reason: str) -> BuildResult:
        result = super().__new__(cls, (file, built))
        result.reason = reason
        return result

    @property
    def file(self) -> Path:
        """The data set's HDF5 file."""
        return self[0]

    @property
    def built(self) -> bool:
        """Whether this call wrote the files."""
        return self[1]


def _why_rebuild(target: Path, wanted: dict[str, Any]) -> str | None:
    """Why the files at ``target`` must be (re)built, or None when they are up to date."""
    if not target.exists():
        return "built"
    problem = digests.manifest_problem(digests.manifest_path(target), required=[target])
    if problem:
        return f"rebuilt ({problem})"
    try:
        attrs = io.read_attrs(target)
    except io.DataFileError:
        return f"rebuilt ({target.name} unreadable)"
    differ = [f"{key} differs: {attrs.get(key)!r} in the file, {value!r} wanted"
              for key, value in wanted.items() if attrs.get(key) != value]
    return f"rebuilt ({'; '.join(differ)})" if differ else None


def build(
    name: str,
    size: str = "student",
    root: str | os.PathLike | None = None,
    *,
    seed: int | None = None,
    force: bool = False,
) -> BuildResult:
    """Build one data set; return ``(file, built)`` with the reason (see :class:`BuildResult`).

    Existing files are kept (``built`` is False) unless ``force``, when the HDF5 file was made by
    the same generator, package version, simulator revision (:class:`DatasetSpec`), seed and
    size, and every file the digest file ``NAME.sha256`` lists still has its recorded SHA-256
    digest; anything else is rebuilt. The HDF5 file's attributes record the generator, version,
    revision, seed, size, number of events and the simulator's configuration. The digest file is
    written last, covering every file the build wrote, so an interrupted build leaves none and
    the next build starts again.
    """
    spec = _spec(name)
    n = spec.sizes[check_tier(size)]
    seed = spec.seed if seed is None else seed
    target = path(name, size, root)
    wanted = {"generator": name, "version": __version__, "revision": spec.revision, "seed": seed,
              "size": size, "n": n}
    reason = "rebuilt (forced)" if force and target.exists() else _why_rebuild(target, wanted)
    if reason is None:
        return BuildResult(target, False, "up to date")
    manifest = digests.manifest_path(target)
    manifest.unlink(missing_ok=True)
    arrays, config = spec.simulate(n, rng=seeding.generator(seed))
    written = (spec.write or io.write_h5)(target, arrays, attrs={**wanted, "config": config})
    digests.write_manifest(manifest, [written] if isinstance(written, (str, os.PathLike))
                      else written or ())
    return BuildResult(target, True, reason)
