"""The read side of the course's data sets: where a built data set lives, and reading it.

Every data set is written by a seeded simulator to ``datasets/NAME/SIZE/NAME.h5``, ``SIZE`` one
of the tiers (:mod:`hepdl.common.tiers`), with ``NAME.sha256`` beside it: the SHA-256 digest of
every file the build wrote. :func:`load` checks the HDF5 file against that digest before reading
it, and every error it raises names the file and the command that rebuilds it.

The folder that holds the data sets is found in this order: the ``root`` argument (a notebook's
``DATA_DIR`` parameter), the ``HEPDL_DATA_DIR`` environment variable, the nearest ``datasets/``
folder in the current folder or above it, and the course checkout the package was installed from.

This module needs no simulator and no registry, so a room may read a data set without importing
:mod:`hepdl.datasets` (which builds them and checks their names: notebooks use it, as
``datasets.load``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from hepdl.common import digests, io
from hepdl.common.tiers import DEFAULT_TIER, check_tier

__all__ = ["ENV_VAR", "data_root", "load", "path", "rebuild_command"]

ENV_VAR = "HEPDL_DATA_DIR"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"a data set's name is lower-case letters, digits and '_', got {name!r}; "
                         "python -m hepdl.datasets list shows the names")
    return name


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


def rebuild_command(name: str, size: str = DEFAULT_TIER, *, force: bool = False) -> str:
    """The shell command that (re)builds one data set; ``force`` rebuilds one that is up to date.

    Examples
    --------
    >>> rebuild_command("warmup_hits", "ci")
    'python -m hepdl.datasets build --size ci warmup_hits'
    >>> rebuild_command("warmup_hits", "ci", force=True)
    'python -m hepdl.datasets build --size ci --force warmup_hits'
    """
    flag = " --force" if force else ""
    return f"python -m hepdl.datasets build --size {check_tier(size)}{flag} {_check_name(name)}"


def path(name: str, size: str = DEFAULT_TIER, root: str | os.PathLike | None = None) -> Path:
    """Where data set ``name`` at ``size`` lives: ``<root>/NAME/SIZE/NAME.h5``."""
    return data_root(root) / _check_name(name) / check_tier(size) / f"{name}.h5"


def load(
    name: str,
    size: str = DEFAULT_TIER,
    root: str | os.PathLike | None = None,
    keys: list[str] | None = None,
) -> dict[str, Any]:
    """Read a built data set into a nested dict of numpy arrays.

    Parameters
    ----------
    name, size, root
        The data set, its tier and the folder that holds ``datasets/`` (see :func:`path`).
    keys
        Datasets or groups to read (``"hits"``, ``"hits/x"``); all of them if omitted.

    Raises
    ------
    hepdl.common.io.DataFileError
        If the file is missing, damaged (its digest differs from the one its build recorded, or
        there is none) or unreadable; the message gives the command that rebuilds it.
    """
    target = path(name, size, root)
    digests.verify_digest(target, rebuild=rebuild_command(name, size))
    # The file is as its build wrote it: if it still cannot be read, only --force rebuilds it.
    return io.read_h5(target, keys, rebuild=rebuild_command(name, size, force=True))
