"""The course's data sets: where they live, how to build them, how to load them.

Every data set is written by a seeded simulator to ``datasets/NAME/SIZE/NAME.h5`` at one of three
sizes: ``ci`` (tiny, for the test suite), ``student`` (what a notebook uses by default) and
``full`` (the studies as taught). Build from a shell with::

    python -m hepdl.datasets build --size student warmup_hits

and from a notebook with :func:`load`, which tells you that command if the file is missing or
damaged. A build writes, last, ``datasets/NAME/SIZE/NAME.sha256``: the SHA-256 digest of every file
it wrote, in ``sha256sum`` format. :func:`load` checks the HDF5 file against it before reading, and
a build rebuilds any data set whose files no longer match it.

The folder that holds ``datasets/`` is found in this order: the ``root`` argument (a notebook's
``DATA_DIR`` parameter), the ``HEPDL_DATA_DIR`` environment variable, the nearest ``datasets/``
folder in the current folder or above it, and the course checkout the package was installed from.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from hepdl import __version__
from hepdl.common import io, seeding
from hepdl.common.registry import DatasetSpec

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

ENV_VAR = "HEPDL_DATA_DIR"
SIZES = ("ci", "student", "full")


ROOMS = ("warmup", "tracking", "driftchamber")


def _collect() -> dict[str, DatasetSpec]:
    registry: dict[str, DatasetSpec] = {}
    for room in ROOMS:
        for spec in importlib.import_module(f"hepdl.{room}").DATASETS:
            if spec.name in registry:
                raise RuntimeError(f"data set {spec.name!r} is declared twice (hepdl.{room})")
            registry[spec.name] = spec
    return registry


REGISTRY: dict[str, DatasetSpec] = _collect()


def _spec(name: str) -> DatasetSpec:
    if name not in REGISTRY:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def _check_size(size: str) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    return size


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Return the folder that holds the course's data sets (see the module docstring)."""
    if root is not None and str(root) != "":
        return Path(root)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "datasets").is_dir():
            return folder / "datasets"
    checkout = Path(__file__).resolve().parents[3] / "datasets"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "No datasets/ folder found in the current folder or above it. Run from inside the "
        f"course folder, or set {ENV_VAR}=/path/to/datasets, or pass DATA_DIR."
    )


def rebuild_command(name: str, size: str = "student", *, force: bool = False) -> str:
    """The shell command that (re)builds one data set; ``force`` rebuilds one that is up to date.

    Examples
    --------
    >>> rebuild_command("warmup_hits", "ci")
    'python -m hepdl.datasets build --size ci warmup_hits'
    >>> rebuild_command("warmup_hits", "ci", force=True)
    'python -m hepdl.datasets build --size ci --force warmup_hits'
    """
    flag = " --force" if force else ""
    return f"python -m hepdl.datasets build --size {_check_size(size)}{flag} {_spec(name).name}"


def path(name: str, size: str = "student", root: str | os.PathLike | None = None) -> Path:
    """Where data set ``name`` at ``size`` lives: ``<root>/NAME/SIZE/NAME.h5``."""
    return data_root(root) / _spec(name).name / _check_size(size) / f"{name}.h5"


def load(
    name: str,
    size: str = "student",
    root: str | os.PathLike | None = None,
    keys: list[str] | None = None,
) -> dict[str, Any]:
    """Read a built data set into a nested dict of numpy arrays.

    Raises
    ------
    hepdl.common.io.DataFileError
        If the file is missing, damaged (its digest differs from the one its build recorded, or
        there is none) or unreadable; the message gives the command that rebuilds it.
    """
    target = path(name, size, root)
    io.verify_digest(target, rebuild=rebuild_command(name, size))
    # The file is as its build wrote it: if it still cannot be read, only --force rebuilds it.
    return io.read_h5(target, keys, rebuild=rebuild_command(name, size, force=True))


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
    problem = io.manifest_problem(io.manifest_path(target), required=[target])
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
    the same generator, package version, seed and size, and every file the digest file
    ``NAME.sha256`` lists still has its recorded SHA-256 digest; anything else is rebuilt. The
    HDF5 file's attributes record the generator, version, seed, size, number of events and the
    simulator's configuration. The digest file is written last, covering every file the build
    wrote, so an interrupted build leaves none and the next build starts again.
    """
    spec = _spec(name)
    n = spec.sizes[_check_size(size)]
    seed = spec.seed if seed is None else seed
    target = path(name, size, root)
    wanted = {"generator": name, "version": __version__, "seed": seed, "size": size, "n": n}
    reason = "rebuilt (forced)" if force and target.exists() else _why_rebuild(target, wanted)
    if reason is None:
        return BuildResult(target, False, "up to date")
    manifest = io.manifest_path(target)
    manifest.unlink(missing_ok=True)
    data, config = spec.simulate(n, rng=seeding.generator(seed))
    written = (spec.write or io.write_h5)(target, data, attrs={**wanted, "config": config})
    io.write_manifest(manifest, [written] if isinstance(written, (str, os.PathLike))
                      else written or ())
    return BuildResult(target, True, reason)
