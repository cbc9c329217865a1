"""Record a notebook's key numbers in a results JSON file.

A result that is only printed cannot be checked. Notebooks call :func:`record` for every number
that matters (a validation AUC, a score, a fitted slope); the course's tests read the file after
executing the notebook and assert each value in a band stated next to the notebook.

Where the file goes, first match wins:

1. the ``path`` argument (a notebook passes its ``RESULTS_PATH`` parameter);
2. the environment variable ``HEPDL_RESULTS`` (set by the test and benchmark runners);
3. ``results.json`` in the current folder, i.e. next to the notebook being run.
"""

from __future__ import annotations

import json
import math
import os
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ENV_VAR", "load", "record", "results_path"]

ENV_VAR = "HEPDL_RESULTS"


def results_path(path: str | os.PathLike | None = None) -> Path:
    """Resolve where results are written (see the module docstring for the order)."""
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path("results.json")


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (Real, np.floating)) and not isinstance(value, int):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"result value must be finite, got {value}")
        return value
    if isinstance(value, (int, str)) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(
        f"result value must be a number, string, bool, list or dict, got {type(value).__name__}"
    )


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read the results recorded so far (an empty dict if there are none)."""
    target = results_path(path)
    if not target.exists():
        return {}
    try:
        return json.loads(target.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"results file {target} is not valid JSON ({err}); delete it and run the notebook again"
        ) from err


def record(name: str, value: Any, *, path: str | os.PathLike | None = None) -> Any:
    """Store ``value`` under ``name`` in the results file and return ``value`` unchanged.

    Parameters
    ----------
    name
        A short identifier such as ``"val_auc"``; recording the same name again overwrites it.
    value
        A finite number, a string, a bool, or a list/dict of those (numpy types are converted).
    path
        Where to write; see the module docstring for the default.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "results.json"
    >>> record("val_auc", np.float32(0.93), path=out)
    np.float32(0.93)
    >>> round(load(out)["val_auc"], 4)
    0.93
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"result name must be a Python identifier such as 'val_auc', got {name!r}")
    target = results_path(path)
    current = load(target)
    current[name] = _plain(value)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, target)
    return value
