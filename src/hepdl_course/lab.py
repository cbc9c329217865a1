"""Serve the course in JupyterLab on localhost (the README's first command ends here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hepdl_course.kernels import culling_args

__all__ = ["jupyter_lab_command", "lab_command"]


def jupyter_lab_command(root: Path, *, default_url: str, port: int, open_browser: bool,
                        token: str | None) -> list[str]:
    """The ``jupyter lab`` command line that serves ``root`` on 127.0.0.1:``port`` (no other
    port if it is taken), opening ``default_url``; ``token=None`` lets Jupyter make one."""
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--LabApp.default_url={default_url}",
        *culling_args(),                       # kernels with no open tab are shut down when idle
    ]
    if not open_browser:
        cmd.append("--no-browser")
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def lab_command(root: Path, *, port: int = 8888, open_browser: bool = True,
                token: str | None = None) -> list[str]:
    """The ``jupyter lab`` command line that serves the course ``root``, opening the pre-exercises."""
    return jupyter_lab_command(root, default_url="/lab/tree/preexercises", port=port,
                               open_browser=open_browser, token=token)


def run_lab(root: Path, **kwargs) -> int:
    """Replace this process with JupyterLab; data sets are found under ``root/datasets``."""
    os.environ.setdefault("HEPDL_DATA_DIR", str(root / "datasets"))
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    cmd = lab_command(root, **kwargs)
    print("Starting JupyterLab on http://127.0.0.1:%d/lab (the URL with its token follows)" % kwargs.get("port", 8888),
          flush=True)
    os.execv(cmd[0], cmd)
    return 0  # not reached
