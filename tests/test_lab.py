"""The README's first command serves JupyterLab with the pre-exercises (checked over HTTP)."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT

pytestmark = pytest.mark.server
TOKEN = "hepdl-test-token"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_make_lab_serves_the_preexercises(tmp_path):
    port = _free_port()
    log = open(tmp_path / "lab.log", "w")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"PORT={port}", f"LAB_ARGS=--no-browser --token={TOKEN}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                status, body = _get(f"{base}/api/contents/preexercises?token={TOKEN}")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("make lab did not serve JupyterLab:\n" + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(1)
        assert status == 200
        listing = sorted(item["name"] for item in json.loads(body)["content"] if item["type"] == "directory")
        assert listing == ["pre1_numpy", "pre2_plotting", "pre3_hdf5", "pre4_keras"]
        status, body = _get(f"{base}/api/contents/preexercises/pre1_numpy/pre1_numpy.ipynb?token={TOKEN}")
        notebook = json.loads(body)["content"]
        assert notebook["cells"][0]["source"].startswith("# ")
        status, page = _get(f"{base}/lab?token={TOKEN}")
        assert status == 200 and "JupyterLab" in page
        kernels = json.loads(_get(f"{base}/api/kernelspecs?token={TOKEN}")[1])
        assert "python3" in kernels["kernelspecs"]
        with pytest.raises(urllib.error.HTTPError) as denied:  # no token, no access
            _get(f"{base}/api/contents/preexercises")
        assert denied.value.code == 403
        text = (tmp_path / "lab.log").read_text()
        assert f"http://127.0.0.1:{port}/lab" in text, "the command must print the URL"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
