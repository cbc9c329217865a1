"""nbgrader through ngshare (the Kubernetes exchange of deploy/kubernetes.md), end to end on loopback.

A JupyterHub (no proxy, no spawner: tests/hub/ngshare/jupyterhub_config.py) runs ngshare as a
managed service; one instructor and two students, each with their own hub API token as in a
user pod, run the real ``nbgrader`` commands with ngshare_exchange as the exchange.

Not in the course's pinned environment (deploy/kubernetes.md says why): ngshare_exchange 0.5.3
declares ``jupyter_core<4.11.2`` (jupyter-client 8.10.0 needs >=5.1), and ngshare 0.6.0 from
PyPI silently drops released assignments with SQLAlchemy 2.x (fixed on ngshare's master). The
test is skipped unless both are importable; to run it, in a throwaway venv:

    python3.11 -m venv /tmp/ngshare-venv
    /tmp/ngshare-venv/bin/pip install jupyterhub==6.1.1 nbgrader==0.9.6 <the course's jupyter pins> \
        rapidfuzz "ngshare @ git+https://github.com/LibreTexts/ngshare@6a3125e10d94d3fab7f8785c7ecf7e8464906810"
    /tmp/ngshare-venv/bin/pip install --no-deps ngshare_exchange==0.5.3
    /tmp/ngshare-venv/bin/python -m pytest tests/test_hub_ngshare.py
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("ngshare") is None or importlib.util.find_spec("ngshare_exchange") is None:
    pytest.skip("ngshare and ngshare_exchange are not in the pinned environment (deploy/kubernetes.md)",
                allow_module_level=True)
import nbformat  # noqa: E402
import requests  # noqa: E402

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "hub" / "ngshare"
BIN = Path(sys.executable).parent
COURSE, ASSIGNMENT = "hepdl", "ps1"
INSTRUCTOR, STUDENTS = "prof-ada", ("alice", "bob")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    def __init__(self, state: Path, hub_api: str, ngshare: str, admin_token: str):
        self.state, self.hub_api, self.ngshare, self.admin = state, hub_api, ngshare, admin_token
        self.tokens: dict[str, str] = {}

    def api(self, method: str, path: str, user: str, **kw) -> dict:
        """Call ngshare directly with ``user``'s hub token; returns its JSON (success or not)."""
        r = requests.request(method, self.ngshare + path, timeout=30,
                             headers={"Authorization": f"token {self.tokens[user]}"}, **kw)
        return r.json()

    def nbgrader(self, user: str, cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """``nbgrader ARGS`` as ``user`` would run it in their pod: their name and hub token only."""
        cwd.mkdir(parents=True, exist_ok=True)
        (cwd / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.course_id = {COURSE!r}\n"
            "from ngshare_exchange import configureExchange\n"
            f"configureExchange(c, {self.ngshare!r})\n")
        home = self.state / "homes" / user
        home.mkdir(parents=True, exist_ok=True)
        run_env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "USER": user,
                   "JUPYTERHUB_USER": user, "JUPYTERHUB_API_TOKEN": self.tokens[user], **(env or {})}
        return subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=run_env,
                              capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("ngshare-hub")
    ports = {k: _free_port() for k in ("NG_HUB_PORT", "NG_PUBLIC_PORT", "NG_PORT")}
    admin_token = secrets.token_hex(16)
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "NG_STATE": str(state), "NG_RUNNER": str(FIXTURES / "run_ngshare.py"), "NG_ADMIN": INSTRUCTOR,
           "NG_ADMIN_TOKEN": admin_token}
    log = (state / "hub.log").open("w")
    proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(FIXTURES / "jupyterhub_config.py")],
                            cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    h = Hub(state, f"http://127.0.0.1:{ports['NG_HUB_PORT']}/hub/api",
            f"http://127.0.0.1:{ports['NG_PORT']}/services/ngshare", admin_token)
    try:
        end = time.monotonic() + 45
        while True:
            try:
                if requests.get(h.ngshare + "/healthz", timeout=2).ok and \
                        requests.get(h.hub_api + "/", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, f"the hub exited; log: {state / 'hub.log'}"
            assert time.monotonic() < end, f"hub or ngshare not up after 45 s; log: {state / 'hub.log'}"
            time.sleep(0.3)
        admin = {"Authorization": f"token {admin_token}"}
        users = [INSTRUCTOR, *STUDENTS, "mallory"]
        r = requests.post(h.hub_api + "/users", json={"usernames": users}, headers=admin, timeout=30)
        assert r.status_code == 201, r.text
        for u in users:
            r = requests.post(f"{h.hub_api}/users/{u}/tokens", json={"note": "pod"}, headers=admin, timeout=30)
            assert r.status_code == 201, r.text
            h.tokens[u] = r.json()["token"]
        # the course: the ngshare admin makes it; the instructor enrols the students (not mallory)
        assert h.api("POST", f"/course/{COURSE}", INSTRUCTOR, data={"instructors": json.dumps([INSTRUCTOR])})["success"]
        for s in STUDENTS:
            assert h.api("POST", f"/student/{COURSE}/{s}", INSTRUCTOR,
                         data={"first_name": s, "last_name": "Student", "email": f"{s}@example.org"})["success"]
        yield h
    finally:
        pid_file = state / "ngshare.pid"
        if pid_file.exists():                       # ngshare ignores the hub's SIGINT for ~30 s
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _answer(nb_path: Path, text: str) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[0].source = f"answer = {text!r}"
    nbformat.write(nb, nb_path)


def _ok(p: subprocess.CompletedProcess) -> str:
    out = p.stdout + p.stderr
    assert p.returncode == 0 and " ERROR]" not in out and "CRITICAL" not in out, out[-3000:]
    return out


@pytest.fixture(scope="module")
def released(hub):
    course = hub.state / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    meta = {"nbgrader": {"grade": False, "solution": True, "locked": False, "task": False,
                         "schema_version": 3, "grade_id": "answer"}}
    nb.cells = [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", metadata=meta)]
    nbformat.write(nb, course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    _ok(hub.nbgrader(INSTRUCTOR, course, "db", "assignment", "add", ASSIGNMENT))
    _ok(hub.nbgrader(INSTRUCTOR, course, "generate_assignment", ASSIGNMENT))
    _ok(hub.nbgrader(INSTRUCTOR, course, "release_assignment", ASSIGNMENT))
    listed = hub.api("GET", f"/assignments/{COURSE}", STUDENTS[0])
    # ngshare 0.6.0 from PyPI says "Successfully released" but, with SQLAlchemy 2.x, stores nothing
    assert listed.get("assignments") == [ASSIGNMENT], f"the release did not reach ngshare: {listed}"
    return course


@pytest.fixture(scope="module")
def submitted(hub, released):
    for s in STUDENTS:
        home = hub.state / "work" / s
        _ok(hub.nbgrader(s, home, "fetch_assignment", ASSIGNMENT))
        _answer(home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", f"{s}'s answer")
        _ok(hub.nbgrader(s, home, "submit", ASSIGNMENT))
    return released


def test_collect_names_each_submission_by_its_student(hub, submitted):
    out = _ok(hub.nbgrader(INSTRUCTOR, submitted, "list", "--inbound"))
    for s in STUDENTS:
        assert f"{COURSE} {s} {ASSIGNMENT}" in out, out
    _ok(hub.nbgrader(INSTRUCTOR, submitted, "collect", ASSIGNMENT))
    for s in STUDENTS:
        nb = submitted / "submitted" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert f"{s}'s answer" in nb.read_text(), f"{nb} does not hold {s}'s work"


def test_a_student_cannot_see_or_fetch_another_submission(hub, submitted):
    alice, bob = STUDENTS
    for path in (f"/submissions/{COURSE}/{ASSIGNMENT}", f"/submissions/{COURSE}/{ASSIGNMENT}/{alice}",
                 f"/submission/{COURSE}/{ASSIGNMENT}/{alice}"):
        answer = hub.api("GET", path, bob)
        assert answer == {"success": False, "message": "Permission denied"}, (path, answer)
    own = hub.api("GET", f"/submissions/{COURSE}/{ASSIGNMENT}/{bob}", bob)
    assert own["success"] and {x["student_id"] for x in own["submissions"]} == {bob}
    out = hub.nbgrader(bob, hub.state / "work" / bob, "list", "--inbound")
    assert alice not in out.stdout + out.stderr.replace(str(hub.state), "")
    # someone not enrolled in the course gets nothing at all
    assert hub.api("GET", f"/assignments/{COURSE}", "mallory")["success"] is False
    assert hub.api("GET", f"/assignment/{COURSE}/{ASSIGNMENT}", "mallory")["success"] is False


def test_a_student_cannot_change_the_released_assignment(hub, submitted):
    alice = STUDENTS[0]
    mine = hub.state / "evil" / alice
    (mine / "release" / ASSIGNMENT).mkdir(parents=True)
    (mine / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    p = hub.nbgrader(alice, mine, "release_assignment", ASSIGNMENT, "--force")
    assert p.returncode != 0 and "Permission denied" in p.stdout + p.stderr, p.stdout + p.stderr
    assert hub.api("DELETE", f"/assignment/{COURSE}/{ASSIGNMENT}", alice)["success"] is False
    assert hub.api("POST", f"/assignment/{COURSE}/{ASSIGNMENT}", alice, data={"files": "[]"})["success"] is False
    fresh = hub.state / "work" / "refetch"
    _ok(hub.nbgrader(STUDENTS[1], fresh, "fetch_assignment", ASSIGNMENT))
    assert "YOUR CODE HERE" in (fresh / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(), "released notebook changed"


def test_the_submitter_is_the_token_owner_not_the_environment(hub, submitted):
    """bob claims to be alice (JUPYTERHUB_USER, USER): ngshare files it under bob, from his token."""
    alice, bob = STUDENTS
    home = hub.state / "work" / bob
    _answer(home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", "forged by bob")
    _ok(hub.nbgrader(bob, home, "submit", ASSIGNMENT, env={"JUPYTERHUB_USER": alice, "USER": alice}))
    subs = hub.api("GET", f"/submissions/{COURSE}/{ASSIGNMENT}", INSTRUCTOR)["submissions"]
    assert [x["student_id"] for x in subs].count(alice) == 1, subs
    assert [x["student_id"] for x in subs].count(bob) == 2, subs
    latest_alice = hub.api("GET", f"/submission/{COURSE}/{ASSIGNMENT}/{alice}", INSTRUCTOR)
    files = [base64.b64decode(f["content"]).decode() for f in latest_alice["files"]]
    assert any("alice's answer" in f for f in files), "alice's own submission is no longer her latest"
    assert not any("forged by bob" in f for f in files), "bob's forged submission was filed under alice"
