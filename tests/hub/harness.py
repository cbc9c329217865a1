"""The school's hub on loopback for the tests: started as root with the real configuration
(deploy/jupyterhub_config.py) against a local mock of GitHub, logged into as a browser would,
with kernels driven through the server's API.

:func:`hub` is a session fixture (registered in tests/conftest.py), shared by tests/test_hub.py
and tests/test_hub_attacks.py; at the end the hub stops and the Linux accounts it made (prefix
``hepdl-t<run>-``), their homes, runtime folders and control groups are removed.

Each run names its accounts after its own process (``<run>`` is the pytest process id in hex), so
two runs on one machine (a developer's and the CI's) never share an account, a home or a
feedback folder; accounts left by a run that was killed are removed by the next run.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from hub.mock_github import MockGitHub

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
PROXY = ROOT / "deploy" / ".node" / "bin" / "configurable-http-proxy"
ARTIFACTS = ROOT / "tests" / "artifacts"
ORG = "hepdl-school"
INSTRUCTOR = "prof-ada"
STUDENTS = [f"student{i:02d}" for i in range(3)]
RUN = f"{os.getpid():x}"                                # this run, in the accounts' names
PREFIX = f"hepdl-t{RUN}-"                               # the test accounts' prefix
_ANY_RUN = re.compile(r"^hepdl-t([0-9a-f]+)-")
MEM_LIMIT_MB, TASKS_LIMIT = 1024, 256
CLASS = [f"class{i:02d}" for i in range(20)]          # the load test's 20 fresh students
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def account(login: str) -> str:
    from hepdl_course.accounts import system_username
    return system_username(login, PREFIX)


class Hub:
    def __init__(self, url: str, mock: MockGitHub, state: Path, log: Path, env: dict):
        self.url, self.mock, self.state, self.log, self.env = url, mock, state, log, env
        self.tokens: dict[str, str] = {}

    def login(self, user: str, next_url: str = "/hub/spawn") -> requests.Session:
        """Log ``user`` in through the GitHub OAuth flow; the session keeps the hub's cookie."""
        s = requests.Session()
        r = s.get(f"{self.url}/hub/oauth_login", params={"next": next_url}, allow_redirects=False, timeout=60)
        assert r.status_code == 302, f"/hub/oauth_login answered {r.status_code}, not a redirect to GitHub"
        authorize = r.headers["Location"]
        assert authorize.startswith(self.mock.url), f"the hub sent the browser to {authorize}, not the mock"
        s.last = s.get(authorize + f"&login={user}", timeout=120)
        return s

    def wait_ready(self, s: requests.Session, user: str, timeout: float = 150) -> None:
        """Wait until ``user``'s JupyterLab answers (following the hub's spawn and OAuth)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = s.get(f"{self.url}/user/{user}/lab", timeout=60)
            if r.status_code == 200 and urlparse(r.url).path.startswith(f"/user/{user}/lab"):
                return
            time.sleep(0.3)
        raise AssertionError(f"{user}'s server was not ready after {timeout} s; hub log: {self.log}")

    def token(self, s: requests.Session, user: str) -> str:
        """An API token of ``user``, asked for with the user's own hub cookie."""
        xsrf = s.cookies.get("_xsrf", path="/hub/") or s.cookies.get("_xsrf")
        r = s.post(f"{self.url}/hub/api/users/{user}/tokens", json={"note": "test", "expires_in": 3600},
                   headers={"X-XSRFToken": xsrf or "", "Referer": f"{self.url}/hub/token"}, timeout=60)
        assert r.status_code == 201, f"token request answered {r.status_code}: {r.text[:300]}"
        self.tokens[user] = r.json()["token"]
        return self.tokens[user]

    def ready_user(self, user: str, next_url: str = "/hub/spawn") -> str:
        """Log ``user`` in, wait for the server, return an API token (once per user)."""
        if user not in self.tokens:
            s = self.login(user, next_url)
            assert s.last.status_code == 200, f"{user} got {s.last.status_code} at login"
            self.wait_ready(s, user)
            self.token(s, user)
        return self.tokens[user]


@pytest.fixture(scope="session")
def hub():
    if not PROXY.exists():
        pytest.fail(f"{PROXY} is missing: run `make -f Makefile -f deploy/hub.mk hub-deps` first")
    for folder in ("lessons", "preexercises"):
        assert (ROOT / folder).is_dir(), f"{folder}/ is missing: run `make release`"
    subprocess.run([sys.executable, "-m", "hepdl.datasets", "build", "--size", "student", "warmup_hits"],
                   check=True, cwd=ROOT, capture_output=True)
    if os.geteuid() != 0:
        pytest.fail("the hub makes a Linux account per user and must run as root: run the tests as root")
    opened = _open_the_way(Path(sys.executable).resolve())
    _remove_accounts_of_dead_runs()
    # Not under pytest's temporary folder (mode 0700): the users' accounts must reach the course.
    state = Path(tempfile.mkdtemp(prefix="hepdl-hub-test-", dir="/tmp"))
    state.chmod(0o711)
    mock = MockGitHub(members={ORG: set(STUDENTS) | set(CLASS) | {"browser01", "limits01"}}).start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ,
               HEPDL_HUB_STATE=str(state), HEPDL_HUB_PORT=str(port),
               HEPDL_HUB_API_PORT=str(free_port()), HEPDL_HUB_PROXY_PORT=str(free_port()),
               HEPDL_HUB_FORMGRADER_PORT=str(free_port()),
               HEPDL_HUB_ORG=ORG, HEPDL_HUB_INSTRUCTORS=INSTRUCTOR, HEPDL_HUB_ADMINS="",
               GITHUB_URL=mock.url, GITHUB_CLIENT_ID="test-client", GITHUB_CLIENT_SECRET=uuid.uuid4().hex,
               OAUTH_CALLBACK_URL=f"{url}/hub/oauth_callback", HEPDL_DATA_DIR="",
               HEPDL_HUB_HOMES=str(state / "homes"), HEPDL_HUB_ACCOUNT_PREFIX=PREFIX,
               HEPDL_HUB_CGROUP=f"hepdl-hub-test-{port}", HEPDL_HUB_MEM_LIMIT=f"{MEM_LIMIT_MB}M",
               HEPDL_HUB_TASKS_LIMIT=str(TASKS_LIMIT), HEPDL_HUB_CPU_LIMIT="1")
    env.pop("JUPYTER_CONFIG_PATH", None)
    log = state / "hub.log"
    with open(os.open(log, os.O_WRONLY | os.O_CREAT, 0o600), "w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(CONFIG)],
                                cwd=state, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        end = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/hub/api", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                pytest.fail(f"the hub did not start; its log:\n{log.read_text()[-4000:]}")
            time.sleep(0.3)
        yield Hub(url, mock, state, log, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        mock.stop()
        _remove_accounts(env["HEPDL_HUB_CGROUP"])
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log, ARTIFACTS / "hub.log")            # for a failure's post-mortem
        shutil.rmtree(state, ignore_errors=True)
        for folder, mode in opened:
            folder.chmod(mode)


def _open_the_way(interpreter: Path) -> list[tuple[Path, int]]:
    """Make the folders above the course's Python interpreter searchable by others (o+x, not
    readable), for as long as the hub runs; (folder, old mode) to restore.

    The users' servers run the course's environment as their own accounts. A school installs
    it with a system Python (/usr/bin/python3.11, deploy/README.md); machines like this CI's
    have it under /root/.pyenv, behind /root (mode 0700), and the hub refuses to start there."""
    opened = []
    for folder in interpreter.parents:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(stat.S_IMODE(mode) | 0o001)
            opened.append((folder, stat.S_IMODE(mode)))
    return opened


def _remove_accounts(cgroup_parent: str) -> None:
    """End every process of the test accounts (their control groups), then remove the accounts,
    their homes and private runtime folders, and the control groups."""
    from hepdl_course.accounts import MARK, remove_account
    from hepdl_course.cgroups import UserCgroup

    for entry in pwd.getpwall():
        if entry.pw_name.startswith(PREFIX) and entry.pw_gecos.startswith(MARK):
            UserCgroup(entry.pw_name, cgroup_parent).remove()
            for pid in _processes_of(entry.pw_uid):         # outside the group: none expected
                os.kill(pid, 9)
            remove_account(entry.pw_name)
            shutil.rmtree(Path("/run/hepdl-hub") / entry.pw_name, ignore_errors=True)
    for controller in ("memory", "pids", "cpu"):
        folder = Path("/sys/fs/cgroup") / controller / cgroup_parent
        if folder.is_dir():
            folder.rmdir()


def _remove_accounts_of_dead_runs() -> None:
    """Remove the test accounts (and their processes) of earlier runs that are no longer alive."""
    from hepdl_course.accounts import MARK, remove_account

    for entry in pwd.getpwall():
        found = _ANY_RUN.match(entry.pw_name)
        if not found or not entry.pw_gecos.startswith(MARK) or _alive(int(found.group(1), 16)):
            continue
        for pid in _processes_of(entry.pw_uid):
            os.kill(pid, 9)
        remove_account(entry.pw_name)
        shutil.rmtree(Path("/run/hepdl-hub") / entry.pw_name, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found.append(int(entry.name))
        except FileNotFoundError:
            pass
    return found


def run_cells(hub: Hub, user: str, token: str, sources: list[str], timeout: float = 120,
              shutdown: bool = True) -> list[dict]:
    """Start a kernel in ``user``'s server, run ``sources`` one after the other, return the replies."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {token}"}
    api = f"{hub.url}/user/{user}/api"
    r = requests.post(f"{api}/kernels", json={"name": "python3"}, headers=headers, timeout=60)
    assert r.status_code == 201, f"starting a kernel answered {r.status_code}: {r.text[:300]}"
    kernel = r.json()["id"]

    async def run():
        ws = await websocket_connect(HTTPRequest(
            f"{api}/kernels/{kernel}/channels".replace("http", "ws", 1), headers=headers))
        results = []
        for source in sources:
            msg_id = uuid.uuid4().hex
            await ws.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                           "session": uuid.uuid4().hex, "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": source, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False}}))
            outputs, reply, idle = [], None, False
            while reply is None or not idle:       # shell reply and iopub idle come in any order
                msg = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] in ("stream", "execute_result", "error"):
                    outputs.append(msg["content"])
                elif msg["msg_type"] == "execute_reply":
                    reply = msg["content"]
                elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
            results.append({"reply": reply, "outputs": outputs})
        ws.close()
        return results

    try:
        return asyncio.run(run())
    finally:
        if shutdown:
            requests.delete(f"{api}/kernels/{kernel}", headers=headers, timeout=60)


def output_text(result: dict) -> str:
    parts = []
    for out in result["outputs"]:
        parts.append(out.get("text") or out.get("data", {}).get("text/plain", "")
                     or "\n".join(out.get("traceback", [])))
    return "".join(parts)
