"""Binder: repo2docker reads binder/, installs its pins and runs binder/postBuild and binder/start.

``jupyter-repo2docker --no-build --debug`` prints the Dockerfile it would build, without Docker.
The pins themselves are compared with requirements.txt in tests/test_environment.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory):
    exe = Path(sys.executable).parent / "jupyter-repo2docker"
    if not exe.exists():
        exe = shutil.which("jupyter-repo2docker")
    assert exe, "jupyter-repo2docker is missing: it is pinned in requirements.txt (make install)"
    # A small copy of what repo2docker reads (binder/ and the top-level files), not the data/venv.
    repo = tmp_path_factory.mktemp("binder-repo")
    shutil.copytree(BINDER, repo / "binder")
    for name in ("requirements.txt", "pyproject.toml", "README.md", "environment.yml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, repo / name)
    proc = subprocess.run([str(exe), "--no-build", "--debug", "--no-run", str(repo)],
                          capture_output=True, text=True, timeout=240,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"repo2docker failed:\n{out[-3000:]}"
    return out


def test_repo2docker_uses_binder_environment_and_runs_postbuild(dockerfile):
    assert "binder/environment.yml" in dockerfile, "repo2docker did not pick binder/environment.yml"
    assert re.search(r"^RUN \./binder/postBuild$", dockerfile, re.M), "postBuild from binder/ is not run"
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile, "binder/start is not the entrypoint"
    assert "requirements.txt" not in dockerfile.split("binder/environment.yml", 1)[1].split("postBuild")[0], (
        "repo2docker would install the root requirements.txt next to binder/environment.yml")


def test_postbuild_installs_course_builds_data_and_locks_instructor_tools():
    script = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK) and os.access(BINDER / "start", os.X_OK), (
        "binder/postBuild and binder/start must be executable (chmod +x)")
    lines = [line.split("#")[0].strip() for line in script.splitlines()]
    assert "set -euo pipefail" in lines or "set -e" in lines, "postBuild must stop at the first error"
    assert any(re.match(r"python -m pip install .*-e \.$", line) for line in lines), "hepdl is not installed"
    assert "python -m hepdl.datasets build --size student" in lines, "student data is not built"
    for ext in ("formgrader", "create-assignment"):
        assert any("disable" in l and f"@jupyter/nbgrader:{ext}" in l for l in lines), f"{ext} not disabled"
        assert any(" lock " in l and f"@jupyter/nbgrader:{ext}" in l for l in lines), f"{ext} not locked"
    assert "jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader" in lines
    start = (BINDER / "start").read_text()
    assert "TF_CPP_MIN_LOG_LEVEL" in start and 'exec "$@"' in start, "start must quiet TF and exec the server"
