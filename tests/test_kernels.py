"""Idle kernels with no open tab are shut down (hepdl_course.kernels), on every way of serving
the course: a live Jupyter Server that reads only the written configuration culls a kernel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hepdl_course import kernels, lab

TOKEN = "kernel-culling-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, path: str, method: str = "GET"):
    request = urllib.request.Request(f"{base}{path}", method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def test_settings_cull_only_idle_kernels_with_no_open_tab():
    settings = kernels.culling_config()["MappingKernelManager"]
    assert settings["cull_connected"] is False and settings["cull_busy"] is False, (
        "a kernel shown in a tab or running a cell must never be culled")
    assert 300 <= settings["cull_idle_timeout"] <= 3600 and 0 < settings["cull_interval"] <= settings["cull_idle_timeout"]


def test_lab_hub_and_binder_use_the_settings():
    cmd = lab.lab_command(Path("."), open_browser=False)
    assert all(arg in cmd for arg in kernels.culling_args())
    root = Path(__file__).resolve().parents[1]
    assert "culling_config()" in (root / "deploy" / "jupyterhub_config.py").read_text()
    assert "write_config(sys.prefix)" in (root / "binder" / "postBuild").read_text()


def test_a_server_reading_the_written_config_culls_an_idle_kernel(tmp_path):
    (tmp_path / "prefix" / "etc" / "jupyter").mkdir(parents=True)
    (tmp_path / "prefix" / "etc" / "jupyter" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"terminals_enabled": False}}))
    path = kernels.write_config(tmp_path / "prefix", idle_seconds=2, interval_seconds=1)
    assert json.loads(path.read_text())["ServerApp"] == {"terminals_enabled": False}, "the file's settings were lost"
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(path.parent), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "jupyter", "server", f"--ServerApp.root_dir={tmp_path}", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--no-browser",
           f"--IdentityProvider.token={TOKEN}", "--allow-root"]
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _api(base, "/api/status")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("jupyter server did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
        kernel = _api(base, "/api/kernels", "POST")["id"]
        deadline = time.monotonic() + 60
        while kernel in [k["id"] for k in _api(base, "/api/kernels")]:
            assert time.monotonic() < deadline, (
                "the idle kernel was not culled within 60 s:\n" + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
