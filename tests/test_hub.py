"""The school's JupyterHub (deploy/jupyterhub_config.py), end to end on loopback.

One hub, started with the real configuration file against a local mock of GitHub
(tests/hub/mock_github.py), is shared by every test of this module and stopped at the end.
Needs ``make hub-deps`` (configurable-http-proxy from npm in deploy/.node, chromium from apt).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest

import jupyterhub  # noqa: F401,E402 (pinned in requirements.txt: a missing one is a failure)
import oauthenticator  # noqa: F401,E402
import requests  # noqa: E402

from hub.mock_github import MockGitHub  # noqa: E402

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
PROXY = ROOT / "deploy" / ".node" / "bin" / "configurable-http-proxy"
ARTIFACTS = ROOT / "tests" / "artifacts"
ORG = "hepdl-school"
INSTRUCTOR = "prof-ada"
STUDENTS = [f"student{i:02d}" for i in range(2)]
CLASS = [f"class{i:02d}" for i in range(20)]          # the load test's 20 fresh students
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
LOAD_TIMES: dict[str, float] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    def __init__(self, url: str, mock: MockGitHub, state: Path, log: Path):
        self.url, self.mock, self.state, self.log = url, mock, state, log

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
        return r.json()["token"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if not PROXY.exists():
        pytest.fail(f"{PROXY} is missing: run `make -f Makefile -f deploy/hub.mk hub-deps` first")
    for folder in ("lessons", "preexercises"):
        assert (ROOT / folder).is_dir(), f"{folder}/ is missing: run `make release`"
    subprocess.run([sys.executable, "-m", "hepdl.datasets", "build", "--size", "student", "warmup_hits"],
                   check=True, cwd=ROOT, capture_output=True)
    state = tmp_path_factory.mktemp("hub-state")
    mock = MockGitHub(members={ORG: set(STUDENTS) | set(CLASS) | {"browser01"}}).start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ,
               HEPDL_HUB_STATE=str(state), HEPDL_HUB_PORT=str(port),
               HEPDL_HUB_API_PORT=str(_free_port()), HEPDL_HUB_PROXY_PORT=str(_free_port()),
               HEPDL_HUB_FORMGRADER_PORT=str(_free_port()),
               HEPDL_HUB_ORG=ORG, HEPDL_HUB_INSTRUCTORS=INSTRUCTOR, HEPDL_HUB_ADMINS="",
               GITHUB_URL=mock.url, GITHUB_CLIENT_ID="test-client", GITHUB_CLIENT_SECRET=uuid.uuid4().hex,
               OAUTH_CALLBACK_URL=f"{url}/hub/oauth_callback", HEPDL_DATA_DIR="")
    env.pop("JUPYTER_CONFIG_PATH", None)
    log = state / "hub.log"
    with open(log, "w") as out:
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
        yield Hub(url, mock, state, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        mock.stop()
        _stop_left_behind(state)


def _stop_left_behind(state: Path) -> None:
    """Kill the servers and kernels that outlived the hub: every process working under ``state``.

    Each spawned server runs in its own session, so stopping the hub's process group does not
    reach the servers the hub did not stop in time, nor their kernels (a CI run left 21 behind)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone already, or not ours
            continue
        if cwd == str(state) or cwd.startswith(f"{state}/"):
            try:
                os.kill(int(entry.name), 9)
            except ProcessLookupError:
                pass


def _run_cells(hub: Hub, user: str, token: str, sources: list[str], timeout: float = 120) -> list[dict]:
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
        requests.delete(f"{api}/kernels/{kernel}", headers=headers, timeout=60)


def _text(result: dict) -> str:
    parts = []
    for out in result["outputs"]:
        parts.append(out.get("text") or out.get("data", {}).get("text/plain", "")
                     or "\n".join(out.get("traceback", [])))
    return "".join(parts)


@pytest.fixture(scope="module")
def student(hub):
    user = STUDENTS[0]
    t0 = time.monotonic()
    s = hub.login(user)
    assert s.last.status_code == 200, f"{user} (an org member) got {s.last.status_code} at login"
    hub.wait_ready(s, user)
    print(f"\nlogin-to-ready, one student alone: {time.monotonic() - t0:.1f} s")
    return user, s, hub.token(s, user)


def test_member_logs_in_and_reaches_lab_with_the_lessons(hub, student):
    user, s, token = student
    r = s.get(f"{hub.url}/user/{user}/lab", timeout=60)
    assert r.status_code == 200 and "JupyterLab" in r.text, "the student's JupyterLab page did not load"
    listing = requests.get(f"{hub.url}/user/{user}/api/contents", headers={"Authorization": f"token {token}"},
                           timeout=60).json()
    names = {item["name"] for item in listing["content"]}
    assert {"lessons", "preexercises"} <= names, f"the student's home holds {sorted(names)}"
    # The student settings are in force: no formgrader in the student's own server, and the
    # instructor lab extensions disabled in the page the browser gets.
    r = requests.get(f"{hub.url}/user/{user}/formgrader", headers={"Authorization": f"token {token}"},
                     timeout=60)
    assert r.status_code == 404, f"the student's server serves the formgrader (status {r.status_code})"
    page = s.get(f"{hub.url}/user/{user}/lab", timeout=60).text
    assert '"@jupyter/nbgrader:formgrader"' in page.split('"disabledExtensions"', 1)[-1][:2000], (
        "the formgrader lab extension is not disabled for students")


def test_non_member_is_refused(hub):
    s = hub.login("mallory")
    assert s.last.status_code == 403, f"a non-member got {s.last.status_code}, expected 403"


def test_student_cannot_open_formgrader_or_another_server(hub, student):
    user, s, token = student
    r = s.get(f"{hub.url}/services/formgrader/formgrader", timeout=60)
    assert r.status_code == 403, f"a student reached the formgrader (status {r.status_code}, {r.url})"
    other = STUDENTS[1]
    s_other = hub.login(other)
    hub.wait_ready(s_other, other)                 # the other server is running
    r = s.get(f"{hub.url}/user/{other}/lab", timeout=60)
    assert r.status_code in (403, 404), f"{user} opened {other}'s server (status {r.status_code}, {r.url})"
    r = requests.get(f"{hub.url}/user/{other}/api/contents", headers={"Authorization": f"token {token}"},
                     timeout=60)
    assert r.status_code == 403, f"{user}'s token listed {other}'s files (status {r.status_code})"


def test_instructor_opens_formgrader(hub):
    s = hub.login(INSTRUCTOR, next_url="/hub/home")
    assert s.last.status_code == 200, f"the instructor got {s.last.status_code} at login"
    end = time.monotonic() + 90
    while True:
        r = s.get(f"{hub.url}/services/formgrader/formgrader", timeout=60)
        if r.status_code == 200 or time.monotonic() > end:
            break
        time.sleep(1)
    assert r.status_code == 200 and "formgrade" in r.text.lower(), (
        f"the instructor could not open the formgrader: {r.status_code} {r.url}")


def test_student_reaches_no_solution_hidden_test_or_gradebook(hub, student):
    user, _, token = student
    headers = {"Authorization": f"token {token}"}
    api = f"{hub.url}/user/{user}/api/contents"
    seen, bad, stack = [], [], [""]
    while stack:
        path = stack.pop()
        item = requests.get(f"{api}/{path}", headers=headers, timeout=60).json()
        if item["type"] == "directory":
            stack.extend(child["path"] for child in item["content"])
            continue
        seen.append(path)
        text = json.dumps(item["content"]) if item["type"] == "notebook" else str(item.get("content"))
        if "gradebook" in path or any(m in text for m in MARKERS):
            bad.append(path)
    assert any(p.endswith(".ipynb") for p in seen), f"the contents API showed no notebook: {seen}"
    assert not bad, f"released to the student with solutions/hidden tests/gradebook: {bad}"
    # The same seen from the student's kernel: home, the published course folder, the data.
    scan = r"""
import os, pathlib
bad, n = [], 0
course = pathlib.Path(os.environ["HEPDL_DATA_DIR"]).parent
for top in (pathlib.Path.home(), pathlib.Path.cwd(), course):
    for p in top.rglob("*"):
        if p.is_file():
            n += 1
            if "gradebook" in p.name or (p.suffix in (".ipynb", ".py", ".md") and any(
                    m in p.read_text(errors="replace") for m in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"))):
                bad.append(str(p))
print(n, bad)
"""
    (result,) = _run_cells(hub, user, token, [scan])
    assert result["reply"]["status"] == "ok", _text(result)
    count, found = _text(result).split(" ", 1)
    assert int(count) > 0 and found.strip() == "[]", f"reachable from the kernel: {found}"


def test_student_kernel_cannot_read_the_sources_the_gradebook_or_other_homes(hub, student):
    """All servers share one Linux account here: Landlock (hepdl_course.confine) must keep the
    student's kernel out of the repository's solutions and tests, the hub's state (secrets,
    grading folder, log, the other students' homes), while its own home and the course work."""
    user, _, token = student
    state = hub.state
    probe = f"""
import os, pathlib
refused, readable = [], []
for path in {[str(ROOT / "solutions" / "pre1_numpy" / "pre1_numpy.ipynb"),
              str(ROOT / "tests" / "test_hub.py"), str(ROOT / ".git" / "HEAD"),
              str(state / "secrets" / "proxy_auth_token"), str(state / "grading" / "nbgrader_config.py"),
              str(state / "hub.log"), str(state / "jupyterhub.sqlite")]!r}:
    try:
        open(path, "rb").read(1)
        readable.append(path)
    except PermissionError:
        refused.append(path)
try:
    others = os.listdir({str(state / "homes")!r})
except PermissionError:
    others = "refused"
pathlib.Path("own.txt").write_text("mine")
course = pathlib.Path(os.environ["HEPDL_DATA_DIR"]).parent
print(readable, others, len(list(course.rglob("*.ipynb"))) > 0, pathlib.Path("own.txt").read_text())
"""
    (result,) = _run_cells(hub, user, token, [probe])
    assert result["reply"]["status"] == "ok", _text(result)
    assert _text(result).strip() == "[] refused True mine", (
        f"the student's kernel reached protected files (readable, other homes, course, own file): "
        f"{_text(result)}")


def test_preexercise_first_cells_run_in_the_kernel(hub, student):
    user, _, token = student
    headers = {"Authorization": f"token {token}"}
    nb = requests.get(f"{hub.url}/user/{user}/api/contents/preexercises/pre1_numpy/pre1_numpy.ipynb",
                      headers=headers, timeout=60).json()["content"]
    code = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"][:4]
    code.append("print(n_events, len(hits['x']) > 0)")
    results = _run_cells(hub, user, token, ["import os; os.chdir('preexercises/pre1_numpy')", *code])
    for source, result in zip(["chdir", *code], results):
        assert result["reply"]["status"] == "ok", f"cell failed:\n{source}\n{_text(result)}"
    assert _text(results[-1]).strip().endswith("True"), "the student-size warmup_hits data did not load"


def test_twenty_students_log_in_and_run_a_cell_at_once(hub):
    def one(user):
        t0 = time.monotonic()
        s = hub.login(user)
        assert s.last.status_code == 200, f"{user}: login answered {s.last.status_code}"
        hub.wait_ready(s, user, timeout=240)
        LOAD_TIMES[user] = time.monotonic() - t0
        token = hub.token(s, user)
        (result,) = _run_cells(hub, user, token, [f"print(6 * 7, {user!r})"])
        return user, result

    with ThreadPoolExecutor(len(CLASS)) as pool:
        done = list(pool.map(one, CLASS))
    failed = {u: (r["reply"]["status"], _text(r)) for u, r in done
              if r["reply"]["status"] != "ok" or _text(r).strip() != f"42 {u}"}
    assert len(done) == len(CLASS) and not failed, f"these students' cells failed: {failed}"
    times = sorted(LOAD_TIMES.values())
    print(f"\nlogin-to-ready, 20 students at once: median {times[len(times) // 2]:.1f} s, "
          f"max {times[-1]:.1f} s, min {times[0]:.1f} s")


def test_browser_student_runs_a_preexercise(hub):
    from playwright import sync_api
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make -f Makefile -f deploy/hub.mk hub-deps`")
    ARTIFACTS.mkdir(exist_ok=True)
    user = "browser01"
    hub.mock.default_login = user
    notebook = "preexercises/pre1_numpy/pre1_numpy.ipynb"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"{hub.url}/hub/oauth_login?next=/hub/user-redirect/lab/tree/{notebook}")
            page.wait_for_url(f"**/user/{user}/lab/tree/**", timeout=180_000)
            page.on("dialog", lambda dialog: dialog.dismiss())
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for()
            # Run > Run All Cells: the cells run in order up to the first exercise, whose
            # unanswered cell raises NotImplementedError and stops the queue (as for a student).
            accept = page.locator(".jp-Dialog .jp-mod-accept")   # "Select Kernel", if JupyterLab asks
            try:
                accept.wait_for(timeout=10_000)
                accept.click()
            except sync_api.TimeoutError:
                pass
            page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
            page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
            try:
                accept.wait_for(timeout=5_000)
                accept.click()
            except sync_api.TimeoutError:
                pass
            cells = page.locator(".jp-Notebook .jp-CodeCell")
            for i in range(5):                     # parameters, imports, style, data, columns
                sync_api.expect(cells.nth(i).locator(".jp-InputPrompt")).to_have_text(
                    re.compile(r"\[\d+\]:"), timeout=180_000)
            # The fifth code cell lists the columns of the student-size data loaded by the fourth.
            sync_api.expect(cells.nth(4).locator(".jp-OutputArea")).to_contain_text("dtype", timeout=60_000)
            first = [cells.nth(i).locator(".jp-OutputArea").inner_text() for i in range(5)]
            tracebacks = [t for t in first if "Traceback" in t or "Error" in t]
            assert not tracebacks, f"the first cells raised: {tracebacks}"
            page.locator(".jp-Notebook .jp-CodeCell").nth(3).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "hub_student_pre1_numpy.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "hub_student_failure.png"))
            raise
        finally:
            browser.close()
