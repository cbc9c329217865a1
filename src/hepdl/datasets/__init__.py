"""The course's data sets: where they live, how to build them, how to load them.

Every data set is written by a seeded simulator to ``datasets/NAME/SIZE/NAME.h5`` at one of three
sizes: ``ci`` (tiny, for the test suite), ``student`` (what a notebook uses by default) and
``full`` (the studies as taught). Build from a shell with::

    python -m hepdl.datasets build --size student warmup_hits

and from a notebook with :func:`load`, which tells you that command if the file is missing.

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


def rebuild_command(name: str, size: str = "student") -> str:
    """The shell command that (re)builds one data set.

    Examples
    --------
    >>> rebuild_command("warmup_hits", "ci")
    'python -m hepdl.datasets build --size ci warmup_hits'
    """
    return f"python -m hepdl.datasets build --size {_check_size(size)} {_spec(name).name}"


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
        If the file is missing or broken; the message gives the command that rebuilds it.
    """
    return io.read_h5(path(name, size, root), keys, rebuild=rebuild_command(name, size))


def build(
    name: str,
    size: str = "student",
    root: str | os.PathLike | None = None,
    *,
    seed: int | None = None,
    force: bool = False,
) -> tuple[Path, bool]:
    """Build one data set; return ``(file, built)``.

    An existing file made by the same package version, seed and size is kept (``built`` is
    False) unless ``force``; anything else is rebuilt. The file's attributes record the
    generator, version, seed, size, number of events and the simulator's configuration.
    """
    spec = _spec(name)
    n = spec.sizes[_check_size(size)]
    seed = spec.seed if seed is None else seed
    target = path(name, size, root)
    wanted = {"generator": name, "version": __version__, "seed": seed, "size": size, "n": n}
    if target.exists() and not force:
        try:
            attrs = io.read_attrs(target)
        except io.DataFileError:
            attrs = {}
        if all(attrs.get(key) == value for key, value in wanted.items()):
            return target, False
    data, config = spec.simulate(n, rng=seeding.generator(seed))
    (spec.write or io.write_h5)(target, data, attrs={**wanted, "config": config})
    return target, True
