"""The instructor guide's grading path on the course's hub, end to end (issue 17, item 1).

On tests/hub/harness.py's hub (as root, the real configuration, each user their own Linux
account), the grading folder is made as ``make hub`` makes it (``make hub-grading``), then the
guide's own ``make`` lines run as written, with the guide's ``export COURSE_DIR=...`` pointing
at the hub's grading folder: release the first pre-exercise; two students fetch it from the
*Assignments* tab's server API, one answers every exercise, one submits it untouched; collect,
autograde, feedback; the students fetch their feedback (no hidden test in it); the grades are
exported, and the formgrader service lists the submissions. The time of each step goes to
``tests/artifacts/hub-grading-steps.json``. Needs root and ``make hub-deps``.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html as htmllib
import json
import os
import re
import shlex
import subprocess
import time

import nbformat
import pytest
import requests
from hub.harness import ARTIFACTS, INSTRUCTOR, ROOT, STUDENTS, account
from test_instructor_guide import guide_make_lines

pytestmark = pytest.mark.server

ASSIGNMENT = "pre1_numpy"
ALICE, BOB = STUDENTS[:2]
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


class Steps:
    """Runs the guide's commands and keeps the time of each step."""

    def __init__(self, hub):
        self.hub, self.times = hub, {}
        self.env = {**os.environ, "COURSE_DIR": str(hub.state / "grading"),
                    "HEPDL_HUB_STATE": str(hub.state)}

    def make(self, argv: list[str], step: str) -> str:
        started = time.monotonic()
        proc = subprocess.run(["make", "-s", "-C", str(ROOT), *argv], env=self.env,
                              capture_output=True, text=True, timeout=900)
        self.times[step] = round(time.monotonic() - started, 1)
        assert proc.returncode == 0, f"`make {' '.join(argv)}` failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout + proc.stderr

    def guide(self, target: str, **values: str) -> str:
        """The guide's first ``make TARGET`` line, run with ``values`` for its variables (an
        example due date or assignment list of the page replaced by the test's own)."""
        line = next((ln for ln in guide_make_lines() if shlex.split(ln)[1] == target), None)
        assert line, f"the guide has no `make {target}` line"
        argv = shlex.split(line)[1:]
        for i, arg in enumerate(argv):
            name = arg.split("=", 1)[0]
            if name in values:
                argv[i] = f"{name}={values[name]}"
        return self.make(argv, target)

    def timed(self, step: str, action):
        started = time.monotonic()
        result = action()
        self.times[step] = round(time.monotonic() - started, 1)
        return result


def solved(nb):
    """``nb`` (the released notebook) with every answer cell holding the source's solution."""
    answers = {}
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = "\n".join(
                line for line in cell.source.split("\n") if line.strip() not in MARKERS)
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    return nb


def hidden_lines() -> list[str]:
    """The source's hidden test lines that no visible line shows (8 characters or more)."""
    hidden, shown, inside = [], set(), False
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        for line in cell.source.splitlines():
            if "HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif line.strip():
                (hidden.append if inside else shown.add)(line.strip())
    return [ln for ln in hidden if len(ln) >= 8 and not any(ln in other for other in shown)]


def student_action(hub, user: str, action: str) -> None:
    """What the *Assignments* tab's buttons do: POST to nbgrader's server extension."""
    r = requests.post(f"{hub.url}/user/{user}/assignments/{action}",
                      data={"course_id": "hepdl", "assignment_id": ASSIGNMENT},
                      headers={"Authorization": f"token {hub.ready_user(user)}"}, timeout=300)
    assert r.status_code == 200 and r.json().get("success"), f"{user}'s {action}: {r.status_code} {r.text[:500]}"


def contents(hub, user: str, path: str, **params) -> dict:
    r = requests.get(f"{hub.url}/user/{user}/api/contents/{path}", params=params,
                     headers={"Authorization": f"token {hub.ready_user(user)}"}, timeout=60)
    assert r.status_code == 200, f"{user} cannot read {path}: {r.status_code}"
    return r.json()


def test_the_guides_grading_path_runs_on_the_hub(hub):
    steps = Steps(hub)
    course = hub.state / "grading"
    steps.make(["hub-grading"], "make hub-grading (what make hub does)")
    due = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    said = steps.guide("release-course", ASSIGNMENT=ASSIGNMENT, DUEDATE=f"{due:%Y-%m-%d %H:%M:%S} UTC")
    assert "warning" not in said, said
    assert (hub.state / "exchange" / "hepdl" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    for user in (ALICE, BOB):
        steps.timed(f"{user} logs in", lambda u=user: hub.ready_user(u))
        steps.timed(f"{user} fetches", lambda u=user: student_action(hub, u, "fetch"))
        nb = contents(hub, user, f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb")["content"]
        if user == ALICE:
            r = requests.put(f"{hub.url}/user/{user}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                             json={"type": "notebook", "format": "json", "content": solved(nb)},
                             headers={"Authorization": f"token {hub.ready_user(user)}"}, timeout=60)
            assert r.status_code == 200, f"{user}'s save: {r.status_code} {r.text[:300]}"
        steps.timed(f"{user} submits", lambda u=user: student_action(hub, u, "submit"))

    said = steps.guide("collect", ASSIGNMENT=ASSIGNMENT)
    for user in (ALICE, BOB):
        assert re.search(rf"^{account(user)}\s+new\s", said, re.M), said
    assert "LATE" not in said

    steps.guide("autograde", ASSIGNMENT=ASSIGNMENT)
    report = {r["student"]: r for r in
              json.loads((course / "reports" / f"autograde-{ASSIGNMENT}.json").read_text())["students"]}
    alice, bob = report[account(ALICE)], report[account(BOB)]
    assert alice["status"] == bob["status"] == "graded", report
    assert alice["score"] == alice["max_score"] > 0 and bob["score"] == 0, report
    assert alice["notes"] == [] and bob["notes"] == [], "an ordinary submission got a note"

    said = steps.guide("feedback", ASSIGNMENT=ASSIGNMENT)
    assert said.count("released to the exchange") == 2, said
    hidden = hidden_lines()
    assert hidden, "the test needs hidden tests to look for"
    for user, score in ((ALICE, alice["max_score"]), (BOB, 0)):
        steps.timed(f"{user} fetches the feedback", lambda u=user: student_action(hub, u, "fetch_feedback"))
        folders = contents(hub, user, f"{ASSIGNMENT}/feedback")["content"]
        assert len(folders) == 1, folders
        page = contents(hub, user, f"{folders[0]['path']}/{ASSIGNMENT}.html", type="file",
                        format="text")["content"]
        text = htmllib.unescape(re.sub(r"<[^>]*>", "", page))
        assert re.search(rf"Score:\s*{score:g}(\.0)?\s*/\s*{alice['max_score']:g}", text), text[:600]
        shown = [line for line in hidden if line in text or htmllib.escape(line) in page]
        assert not shown, f"{user}'s feedback page shows hidden tests: {shown[:3]}"

    steps.guide("grades")
    with open(course / "grades.csv", newline="") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle) if r["assignment"] == ASSIGNMENT}
    assert {s: float(r["score"]) for s, r in rows.items()} == {
        account(ALICE): alice["max_score"], account(BOB): 0.0}

    s = hub.login(INSTRUCTOR, next_url="/hub/home")
    end = time.monotonic() + 90
    while True:
        r = s.get(f"{hub.url}/services/formgrader/formgrader/api/submissions/{ASSIGNMENT}", timeout=60)
        if r.status_code == 200 or time.monotonic() > end:
            break
        time.sleep(1)
    assert r.status_code == 200, f"the formgrader service answered {r.status_code}"
    assert {sub["student"] for sub in r.json()} >= {account(ALICE), account(BOB)}

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hub-grading-steps.json").write_text(json.dumps(steps.times, indent=1) + "\n")
    print(json.dumps(steps.times, indent=1))
