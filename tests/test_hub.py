"""The school's JupyterHub (deploy/jupyterhub_config.py), end to end on loopback: logins,
the students' servers under their own accounts, what a student reaches through the front door,
20 students at once, a browser. The hub is tests/hub/harness.py's (shared with
tests/test_hub_attacks.py); needs root and ``make hub-deps``.
"""

from __future__ import annotations

import json
import pwd
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import jupyterhub  # noqa: F401 (pinned in requirements.txt: a missing one is a failure)
import oauthenticator  # noqa: F401
from hub.harness import (ARTIFACTS, CLASS, INSTRUCTOR, MARKERS, ROOT, STUDENTS, account, output_text,
                         run_cells)

pytestmark = pytest.mark.server

LOAD_TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def student(hub):
    user = STUDENTS[0]
    t0 = time.monotonic()
    s = hub.login(user)
    assert s.last.status_code == 200, f"{user} (an org member) got {s.last.status_code} at login"
    hub.wait_ready(s, user)
    print(f"\nlogin-to-ready, one student alone: {time.monotonic() - t0:.1f} s")
    return user, s, hub.token(s, user)


def test_each_user_runs_as_their_own_account_without_privileges(hub, student):
    """The server and its kernel run as the student's account (made at first login, home 0700),
    with no capabilities and no_new_privs, in a control group with the hub's limits."""
    user, _, token = student
    name = account(user)
    entry = pwd.getpwnam(name)
    assert entry.pw_gecos.startswith("hepdl-hub"), f"{name} was not made by the hub: {entry}"
    home = Path(entry.pw_dir)
    assert home.parent == hub.state / "homes" and (home.stat().st_mode & 0o777) == 0o700, (
        f"{name}'s home {home} has mode {home.stat().st_mode & 0o777:o}, not 700")
    (result,) = run_cells(hub, user, token, [
        "import os, pathlib, getpass\n"
        "status = dict(l.split(':\\t', 1) for l in pathlib.Path('/proc/self/status').read_text().splitlines() if ':\\t' in l)\n"
        "print(getpass.getuser(), os.getuid(), status['CapEff'].strip(), status['CapPrm'].strip(), "
        "status['NoNewPrivs'].strip(), pathlib.Path('/proc/self/cgroup').read_text().count('/' + getpass.getuser()))"])
    assert result["reply"]["status"] == "ok", output_text(result)
    who, uid, cap_eff, cap_prm, nnp, groups = output_text(result).split()
    assert (who, int(uid)) == (name, entry.pw_uid), f"the kernel runs as {who} ({uid}), not {name}"
    assert int(cap_eff, 16) == 0 and int(cap_prm, 16) == 0, f"the kernel has capabilities {cap_eff}/{cap_prm}"
    assert nnp == "1", "the kernel may gain privileges (no_new_privs is not set)"
    assert int(groups) == 3, f"the kernel is in {groups} of its 3 control groups (memory, pids, cpu)"


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
    (result,) = run_cells(hub, user, token, [scan])
    assert result["reply"]["status"] == "ok", output_text(result)
    count, found = output_text(result).split(" ", 1)
    assert int(count) > 0 and found.strip() == "[]", f"reachable from the kernel: {found}"


def test_student_kernel_cannot_read_the_sources_the_gradebook_or_other_homes(hub, student):
    """File permissions (the student's own account) and Landlock behind them keep the student's
    kernel out of the repository's solutions and tests, the hub's state (secrets, grading folder,
    log, database, the other students' homes), while its own home and the course work."""
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
    (result,) = run_cells(hub, user, token, [probe])
    assert result["reply"]["status"] == "ok", output_text(result)
    assert output_text(result).strip() == "[] refused True mine", (
        f"the student's kernel reached protected files (readable, other homes, course, own file): "
        f"{output_text(result)}")


def test_preexercise_first_cells_run_in_the_kernel(hub, student):
    user, _, token = student
    headers = {"Authorization": f"token {token}"}
    nb = requests.get(f"{hub.url}/user/{user}/api/contents/preexercises/pre1_numpy/pre1_numpy.ipynb",
                      headers=headers, timeout=60).json()["content"]
    code = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"][:4]
    code.append("print(n_events, len(hits['x']) > 0)")
    results = run_cells(hub, user, token, ["import os; os.chdir('preexercises/pre1_numpy')", *code])
    for source, result in zip(["chdir", *code], results):
        assert result["reply"]["status"] == "ok", f"cell failed:\n{source}\n{output_text(result)}"
    assert output_text(results[-1]).strip().endswith("True"), "the student-size warmup_hits data did not load"


def test_twenty_students_log_in_and_run_a_cell_at_once(hub):
    def one(user):
        t0 = time.monotonic()
        s = hub.login(user)
        assert s.last.status_code == 200, f"{user}: login answered {s.last.status_code}"
        hub.wait_ready(s, user, timeout=240)
        LOAD_TIMES[user] = time.monotonic() - t0
        token = hub.token(s, user)
        (result,) = run_cells(hub, user, token, [f"print(6 * 7, {user!r})"])
        return user, result

    with ThreadPoolExecutor(len(CLASS)) as pool:
        done = list(pool.map(one, CLASS))
    failed = {u: (r["reply"]["status"], output_text(r)) for u, r in done
              if r["reply"]["status"] != "ok" or output_text(r).strip() != f"42 {u}"}
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
