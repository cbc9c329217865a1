"""Kernels that nobody uses any more are shut down: the students' memory goes to the notebook
they work on.

A student who closes a lesson's tab and opens the next one leaves the first kernel running, with
its data and its trained networks (0.5-1.6 GB at the student tier). Under Binder's 2 GB, or the
hub's ``mem_limit``, the next lesson's kernel then dies half-way through. Jupyter Server can cull
such kernels itself: every ``cull_interval`` seconds it shuts down each kernel that has been idle
for ``cull_idle_timeout`` seconds **and has no open connection** (``cull_connected=False``: no
notebook tab or console shows it) and is not running a cell (``cull_busy=False``). A notebook
still open in a tab is never touched; a closed one keeps its saved outputs and only loses its
kernel's memory.

The same settings serve every way of running the course: the hub writes them into its users'
common Jupyter configuration, Binder's ``postBuild`` into the environment's, and ``make lab``
passes them on the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["IDLE_SECONDS", "INTERVAL_SECONDS", "culling_args", "culling_config", "write_config"]

#: a kernel with no open tab is shut down after this long without running anything [s]
IDLE_SECONDS = 600
#: how often Jupyter Server looks for such kernels [s]
INTERVAL_SECONDS = 60


def culling_config(idle_seconds: int = IDLE_SECONDS, interval_seconds: int = INTERVAL_SECONDS) -> dict:
    """The Jupyter Server settings (``jupyter_server_config.json`` layout); times in seconds."""
    return {"MappingKernelManager": {"cull_idle_timeout": idle_seconds, "cull_interval": interval_seconds,
                                     "cull_connected": False, "cull_busy": False}}


def culling_args() -> list[str]:
    """The same settings as ``jupyter lab`` / ``jupyter server`` command-line options."""
    settings = culling_config()["MappingKernelManager"]
    return [f"--MappingKernelManager.{name}={value}" for name, value in settings.items()]


def write_config(prefix: str | Path, **times) -> Path:
    """Add the settings to ``etc/jupyter/jupyter_server_config.json`` under ``prefix``
    (``sys.prefix``: every user of that environment), keeping what the file already holds.
    ``times``: :func:`culling_config`'s arguments (the tests shorten them).

    Not a drop-in file in ``jupyter_server_config.d``: Jupyter Server reads those for its
    extensions' switches only.
    """
    path = Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads(path.read_text() or "{}") if path.exists() else {}
    for section, values in culling_config(**times).items():
        config.setdefault(section, {}).update(values)
    path.write_text(json.dumps(config, indent=1) + "\n")
    return path
