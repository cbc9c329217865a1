"""A student attacks the school's hub from inside a kernel (issue 12's matrix, one test per row).

Alice (``student00``) runs code in her own kernel, as a student who wants another's work, the
solutions or the hub's secrets would; Bob (``student01``), Carol (``student02``) and the
instructor prof-ada have servers running beside hers (prof-ada with a terminal open). Every row
must be refused, and nothing of another user read or changed. The hub is tests/hub/harness.py's
(as root, the real configuration, each user their own Linux account); needs root and
``make hub-deps``.
"""

from __future__ import annotations

import json
import pwd
import re
import time
from pathlib import Path

import nbformat
import pytest
import requests

from hub.harness import (INSTRUCTOR, MEM_LIMIT_MB, STUDENTS, TASKS_LIMIT, account, output_text,
                         run_cells)

pytestmark = pytest.mark.server

ALICE, BOB, CAROL = STUDENTS
SECRET_NAME = re.compile(r"(TOKEN|SECRET|KEY)", re.I)
# Kernel code: attempt(name, action) records 'DONE' or the error's name in the dict ``done``.
ATTEMPT = """import json, os
done = {}
def attempt(name, action):
    try:
        action()
        done[name] = 'DONE'
    except OSError as err:
        done[name] = type(err).__name__"""


def alice_runs(hub, source: str, timeout: float = 120) -> str:
    """Run ``source`` in a kernel of Alice's server; its printed output (the cell must not fail)."""
    (result,) = run_cells(hub, ALICE, hub.ready_user(ALICE), [source], timeout=timeout)
    assert result["reply"]["status"] == "ok", f"the probe failed in Alice's kernel:\n{output_text(result)}"
    return output_text(result)


def processes(uid: int | None = None) -> dict[int, int]:
    """pid -> uid of every process (of ``uid`` only, if given), seen by the test (root)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (uid is None or entry.stat().st_uid == uid):
                found[int(entry.name)] = entry.stat().st_uid
        except FileNotFoundError:
            pass
    return found


def secrets_of_others(alice_uid: int) -> dict[str, str]:
    """Every secret-looking environment value (``*TOKEN*``, ``*SECRET*``, ``*KEY*``) of the
    processes that are not Alice's: the hub's, the proxy's, the services', the other servers'."""
    found = {}
    for pid, uid in processes().items():
        if uid == alice_uid:
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        for item in environ.split("\0"):
            key, _, value = item.partition("=")
            if SECRET_NAME.search(key) and len(value) >= 16:
                found[f"{key} of pid {pid}"] = value
    return found


@pytest.fixture(scope="module")
def everyone(hub):
    """Alice, Bob, Carol and prof-ada logged in with servers running; prof-ada with a terminal."""
    tokens = {user: hub.ready_user(user) for user in (ALICE, BOB, CAROL, INSTRUCTOR)}
    r = requests.post(f"{hub.url}/user/{INSTRUCTOR}/api/terminals",
                      headers={"Authorization": f"token {tokens[INSTRUCTOR]}"}, timeout=60)
    assert r.status_code == 200, f"prof-ada's terminal did not open: {r.status_code} {r.text[:200]}"
    return tokens


def test_no_other_process_environment_or_secret_is_readable(hub, everyone):
    """Row 1-4: the hub's OAuth secret, the proxy's token, every server's and service's API token
    were in /proc/PID/environ; now every other process's environment is refused, and none of
    their secrets appears anywhere Alice reads in /proc."""
    alice_uid = pwd.getpwnam(account(ALICE)).pw_uid
    secrets = secrets_of_others(alice_uid)
    names = " ".join(secrets)
    assert "GITHUB_CLIENT_SECRET" in names and "CONFIGPROXY_AUTH_TOKEN" in names and \
        "JUPYTERHUB_API_TOKEN" in names, f"the test did not find the secrets to look for: {names}"
    out = alice_runs(hub, """
import json, os
from pathlib import Path
me, foreign, seen = os.getuid(), [], []
for d in Path('/proc').iterdir():
    if not d.name.isdigit():
        continue
    try:
        uid = d.stat().st_uid
    except OSError:
        continue
    for name in ('environ', 'cmdline'):
        try:
            data = (d / name).read_bytes()
        except OSError:
            continue
        if name == 'environ' and uid != me and data:
            foreign.append(int(d.name))
        seen.append(data.decode(errors='replace'))
print(json.dumps({'foreign': foreign, 'seen': seen}))
""")
    probe = json.loads(out)
    assert probe["foreign"] == [], f"Alice read the environment of processes {probe['foreign']}"
    leaked = [name for name, value in secrets.items() if any(value in text for text in probe["seen"])]
    assert not leaked, f"Alice's kernel read these secrets in /proc: {leaked}"


def test_no_file_of_another_user_or_of_the_hub_is_reachable(hub, everyone):
    """Rows 2, 3 and 5: Bob's files (read, list, write), the hub account's home (OAuth settings
    file, shell history), the hub's secrets and database."""
    bob_home = Path(pwd.getpwnam(account(BOB)).pw_dir)
    hub_home = Path(pwd.getpwuid(0).pw_dir)
    targets = {
        "list Bob's home": f"os.listdir({str(bob_home)!r})",
        "read Bob's notebook": f"open({str(bob_home / 'preexercises/pre1_numpy/pre1_numpy.ipynb')!r}).read()",
        "write in Bob's home": f"open({str(bob_home / 'planted.txt')!r}, 'w').write('x')",
        "list the hub account's home": f"os.listdir({str(hub_home)!r})",
        "read the hub account's shell history": f"open({str(hub_home / '.bash_history')!r}).read()",
        "read the hub's proxy token": f"open({str(hub.state / 'secrets' / 'proxy_auth_token')!r}).read()",
        "read the hub's cookie secret": f"open({str(hub.state / 'secrets' / 'jupyterhub_cookie_secret')!r}).read()",
        "read the hub's database": f"open({str(hub.state / 'jupyterhub.sqlite')!r}, 'rb').read()",
        "list the other homes": f"os.listdir({str(bob_home.parent)!r})",
        "list the grading folder": f"os.listdir({str(hub.state / 'grading')!r})",
    }
    lines = "\n".join(f"attempt({name!r}, lambda: {code})" for name, code in targets.items())
    out = alice_runs(hub, f"""
{ATTEMPT}
{lines}
print(json.dumps(done))
""")
    done = json.loads(out)
    allowed = {name: how for name, how in done.items() if how == "DONE"}
    assert not allowed, f"Alice's kernel could: {allowed} (all: {done})"
    assert not (bob_home / "planted.txt").exists()


def test_no_raw_socket_no_capability_no_other_terminal(hub, everyone):
    """Rows 6 and 7: sniffing the loopback (raw sockets need CAP_NET_RAW) and typing into
    prof-ada's root terminal (TIOCSTI needs her terminal open)."""
    prof_uid = pwd.getpwnam(account(INSTRUCTOR)).pw_uid
    prof_ttys = [p for p in Path("/dev/pts").iterdir() if p.name.isdigit() and p.stat().st_uid == prof_uid]
    assert prof_ttys, "prof-ada's terminal has no /dev/pts entry: the test cannot try it"
    out = alice_runs(hub, """
import json, os, socket
from pathlib import Path
done = {}
for name, args in {'packet': (socket.AF_PACKET, socket.SOCK_RAW, 0x0300),
                   'raw tcp': (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)}.items():
    try:
        socket.socket(*args).close()
        done[name] = 'DONE'
    except OSError as err:
        done[name] = type(err).__name__
opened = []
for tty in Path('/dev/pts').iterdir():
    if tty.name.isdigit():
        try:
            os.close(os.open(tty, os.O_RDWR | os.O_NOCTTY))
            opened.append(tty.name)
        except OSError:
            pass
print(json.dumps({'sockets': done, 'ttys': opened}))
""")
    probe = json.loads(out)
    assert set(probe["sockets"].values()) == {"PermissionError"}, f"raw sockets: {probe['sockets']}"
    stolen = sorted({p.name for p in prof_ttys} & set(probe["ttys"]))
    assert not stolen, f"Alice's kernel opened prof-ada's terminal(s) /dev/pts/{stolen}"


def test_the_loopback_offers_no_open_door(hub, everyone):
    """Rows 2 and 6, the ports of others on the loopback: Bob's kernels talk to his server over
    Unix sockets in his private runtime folder, so Alice cannot subscribe to their outputs
    (iopub) on any of his TCP ports; his server, the proxy's API and the hub's API want tokens."""
    env = hub.env
    bob_uid = pwd.getpwnam(account(BOB)).pw_uid
    run_cells(hub, BOB, everyone[BOB], ["""
import threading, time
def chatter():
    for i in range(600):
        print('bob-secret', i, flush=True)
        time.sleep(0.05)
threading.Thread(target=chatter, daemon=True).start()
"""], shutdown=False)
    runtime = Path("/run/hepdl-hub") / account(BOB)
    transports = {json.loads(f.read_text())["transport"] for f in runtime.glob("kernel-*.json")}
    assert transports == {"ipc"}, f"Bob's kernels use {transports} (KernelManager.transport = ipc expected)"
    out = alice_runs(hub, f"""
import http.client, json, time, zmq
ports = []
for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    for line in open(table).read().splitlines()[1:]:
        f = line.split()
        if f[3] == '0A' and int(f[7]) == {bob_uid}:          # LISTEN, Bob's
            ports.append(int(f[1].rsplit(':', 1)[1], 16))
ctx, poller, heard = zmq.Context(), zmq.Poller(), []
for port in ports:
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b'')
    sub.connect(f'tcp://127.0.0.1:{{port}}')
    poller.register(sub, zmq.POLLIN)
end = time.time() + 5
while time.time() < end:
    for sock, _ in poller.poll(200):
        heard.append(str(sock.recv_multipart()))
def status(port, path, method='GET'):
    try:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
        c.request(method, path, body=b'{{}}' if method == 'POST' else None)
        r = c.getresponse()
        return r.status, r.read()[:2000].decode(errors='replace')
    except Exception as err:                                 # not an HTTP server
        return 0, type(err).__name__
answers = [status(port, '/user/{BOB}/api/contents') for port in ports]
print(json.dumps({{'ports': ports, 'heard': heard, 'answers': answers,
    'routes': status({env["HEPDL_HUB_PROXY_PORT"]}, '/api/routes'),
    'route to me': status({env["HEPDL_HUB_PROXY_PORT"]}, '/api/routes/user/{BOB}', 'POST'),
    'users': status({env["HEPDL_HUB_API_PORT"]}, '/hub/api/users')}}))
""")
    probe = json.loads(out)
    assert probe["ports"], "Bob's server listens on no TCP port: the test cannot try it"
    assert not any("bob-secret" in m for m in probe["heard"]), (
        f"Alice read Bob's kernel's outputs on his ports {probe['ports']}: {probe['heard'][:3]}")
    served = [a for a in probe["answers"] if a[0] == 200 or '"content"' in a[1]]
    assert not served, f"Bob's ports served Alice without a token: {served}"
    for name in ("routes", "route to me", "users"):
        assert probe[name][0] in (401, 403), f"{name}: answered {probe[name][0]} without a token"


def test_limits_are_enforced_and_a_stop_leaves_nothing_behind(hub):
    """Rows 10 and 11: memory past the limit, hundreds of processes, both cores busy; then a
    detached process, and the server's stop."""
    user = "limits01"
    token = hub.ready_user(user)
    (result,) = run_cells(hub, user, token, [f"""
import json, os, subprocess, sys, time
mem = subprocess.run([sys.executable, '-c', 'b = bytearray({2 * MEM_LIMIT_MB} << 20); print(len(b))'],
                     capture_output=True).returncode
started, refused = [], None
try:
    for _ in range({TASKS_LIMIT + 50}):
        started.append(subprocess.Popen(['sleep', '60']))
except OSError as err:
    refused = type(err).__name__
for p in started:
    p.kill(); p.wait()
spin = 'import time\\nt = time.time()\\nwhile time.time() - t < 3: pass'
t0, c0 = time.time(), os.times()
busy = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range(2)]
[p.wait() for p in busy]
c1 = os.times()
cpu = (c1.children_user + c1.children_system - c0.children_user - c0.children_system) / (time.time() - t0)
subprocess.Popen(['sleep', '3600'], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(json.dumps({{'mem': mem, 'started': len(started), 'refused': refused, 'cpu': cpu}}))
"""], timeout=240)
    assert result["reply"]["status"] == "ok", output_text(result)
    probe = json.loads(output_text(result))
    assert probe["mem"] == -9, f"{2 * MEM_LIMIT_MB} MB allocated under a {MEM_LIMIT_MB} MB limit: exit {probe['mem']}"
    assert probe["refused"] and probe["started"] < TASKS_LIMIT, (
        f"{probe['started']} processes started under a limit of {TASKS_LIMIT} tasks")
    assert probe["cpu"] <= 1.25, f"two busy processes used {probe['cpu']:.2f} CPUs under a limit of 1"
    uid = pwd.getpwnam(account(user)).pw_uid
    assert processes(uid), "no process of the user before the stop: the test cannot see the stop work"
    r = requests.delete(f"{hub.url}/hub/api/users/{user}/server",
                        headers={"Authorization": f"token {token}"}, timeout=60)
    assert r.status_code in (202, 204), f"stopping the server answered {r.status_code}"
    end = time.monotonic() + 60
    while processes(uid) and time.monotonic() < end:
        time.sleep(0.5)
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:80]
            for pid in processes(uid)}
    assert not left, f"processes of {user} outlived the server's stop: {left}"
    print(f"\nlimits: {probe['started']} processes started before fork was refused "
          f"({TASKS_LIMIT} tasks), CPU {probe['cpu']:.2f} of 1")


def _answer(notebook: dict, body: str) -> dict:
    """The fetched notebook with the triangle exercise answered by ``body``."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "demo_triangle":
            cell["source"] = f'def triangle(n):\n    """Sum of 1..n."""\n    {body}'
            return notebook
    raise AssertionError("the released demo notebook has no demo_triangle cell")


def test_submissions_are_named_by_their_owners_and_a_forged_one_is_rejected(hub, everyone, tmp_path):
    """Rows 8 and 9, and the lost submissions: release, fetch and submit from the Assignments
    tab's server API, then Alice attacks the exchange (lists the submissions, plants a file in
    the released assignment, submits as Bob); collect keeps three submissions, each under its
    student's own account and with its own content, sets the forged one aside, and autograde
    grades the three."""
    from minicourse import make_minicourse

    from hepdl_course import instructor
    from hepdl_course.cli import main as cli
    from nbgrader.api import Gradebook

    repo, course = make_minicourse(tmp_path / "repo"), tmp_path / "course"
    exchange = hub.state / "exchange"
    assert cli(["init", str(course), "--repo", str(repo), "--exchange", str(exchange),
                "--course-id", "hepdl"]) == 0
    assert cli(["release-course", str(course), "demo"]) == 0
    answers = {ALICE: "return n * (n + 1) // 2  # by alice", BOB: "return n * (n + 1) // 2  # by bob",
               CAROL: "return n  # by carol"}
    for user, body in answers.items():
        headers = {"Authorization": f"token {everyone[user]}"}
        api = f"{hub.url}/user/{user}"
        r = requests.post(f"{api}/assignments/fetch", data={"course_id": "hepdl", "assignment_id": "demo"},
                          headers=headers, timeout=120)
        assert r.status_code == 200 and r.json().get("success"), f"{user}'s fetch: {r.status_code} {r.text[:300]}"
        nb = requests.get(f"{api}/api/contents/demo/demo.ipynb", headers=headers, timeout=60).json()["content"]
        r = requests.put(f"{api}/api/contents/demo/demo.ipynb", headers=headers, timeout=60,
                         json={"type": "notebook", "format": "json", "content": _answer(nb, body)})
        assert r.status_code == 200, f"{user}'s save: {r.status_code} {r.text[:300]}"
        r = requests.post(f"{api}/assignments/submit", data={"course_id": "hepdl", "assignment_id": "demo"},
                          headers=headers, timeout=120)
        assert r.status_code == 200 and r.json().get("success"), f"{user}'s submit: {r.status_code} {r.text[:300]}"

    course_folder = exchange / "hepdl"
    out = alice_runs(hub, f"""
import json, os, subprocess, sys
from pathlib import Path
ex = Path({str(course_folder)!r})
{ATTEMPT}
attempt('list the submissions', lambda: os.listdir(ex / 'inbound'))
attempt('plant a file in the released assignment', lambda: (ex / 'outbound' / 'demo' / 'extra.py').write_text('x'))
attempt('change the released notebook', lambda: open(ex / 'outbound' / 'demo' / 'demo.ipynb', 'a').write(' '))
attempt('replace the released folder', lambda: os.rename(ex / 'outbound', ex / 'outbound-old'))
attempt('replace the course folder', lambda: os.rename(ex, ex.parent / 'hepdl-old'))
forged = subprocess.run([sys.executable, '-m', 'nbgrader', 'submit', 'demo', '--course=hepdl',
                         '--student={account(BOB)}'], capture_output=True, text=True)
done['nbgrader submit --student=Bob'] = forged.returncode
print(json.dumps(done))
""")
    done = json.loads(out)
    forged_status = done.pop("nbgrader submit --student=Bob")
    assert set(done.values()) == {"PermissionError"}, f"Alice's kernel could change the exchange: {done}"

    records = {(r.student, r.status) for r in instructor.collect(course, "demo")}
    accounts = {user: account(user) for user in answers}
    if forged_status == 0:        # nbgrader accepts the name; collect must not
        assert (accounts[BOB], f"rejected: made by {accounts[ALICE]}") in records, records
        assert any((course / "rejected").iterdir()), "the forged submission was not kept aside"
    for user, body in answers.items():
        assert (accounts[user], "new") in records, f"{user}'s submission was not collected: {records}"
        nb = nbformat.read(course / "submitted" / accounts[user] / "demo" / "demo.ipynb", as_version=4)
        assert body in json.dumps(nb.dict()), f"{accounts[user]}'s collected notebook is not {user}'s own"
    assert cli(["autograde", str(course), "demo"]) == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment("demo").submissions}
    assert scores == {accounts[ALICE]: 2.0, accounts[BOB]: 2.0, accounts[CAROL]: 0.0}, scores
