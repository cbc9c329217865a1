"""What the grading commands tell the instructor and the student (issue 17, items 3 to 5).

The notes tell the truth: a syntax error and a failed import are named on the autograde line
and at the top of the feedback page; a submitted source notebook is named as such, not as
tampering; an untouched notebook leaves no alarming line in the log. Lateness is the
instructor's to control: a due date in the past is warned about, a grace period spares a
submission a few seconds late, an imported submission without a time is refused rather than
timed by its files, and every collected submission is kept in ``originals/``.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html as htmllib
import json
import re
from pathlib import Path

import nbformat
import pytest
from minicourse import make_minicourse
from nbformat.v4 import new_code_cell

from hepdl_course.cli import main as cli

pytestmark = pytest.mark.grading


def run(*args) -> int:
    return cli([str(a) for a in args])


def report(course: Path) -> dict[str, dict]:
    data = json.loads((course / "reports" / "autograde-demo.json").read_text())
    return {r["student"]: r for r in data["students"]}


def answer(nb, body: str):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "demo_triangle":
            cell.source = f"def triangle(n):\n    {body}"
    return nb


def put(inbox: Path, student: str, nb, at: dt.datetime | None = None) -> None:
    folder = inbox / student / "demo"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "demo.ipynb")
    if at is not None:
        (folder / "timestamp.txt").write_text(f"{at:%Y-%m-%d %H:%M:%S} UTC")


def page(course: Path, student: str) -> str:
    raw = (course / "feedback" / student / "demo" / "demo.html").read_text()
    return htmllib.unescape(re.sub(r"<[^>]*>", "", raw))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three students graded from an inbox: the untouched notebook, the source notebook (from
    the repository's solutions/), and a right answer beside a syntax error and a failed import."""
    base = tmp_path_factory.mktemp("notes")
    repo, course, inbox = make_minicourse(base / "repo"), base / "course", base / "inbox"
    assert run("init", course, "--repo", repo) == 0
    assert run("release-course", course, "demo", "--no-exchange") == 0
    released = nbformat.read(course / "release" / "demo" / "demo.ipynb", as_version=4)
    put(inbox, "untouched", released)
    put(inbox, "source", nbformat.read(repo / "solutions" / "demo" / "demo.ipynb", as_version=4))
    broken = answer(released, "return n * (n + 1) // 2")
    broken.cells.insert(2, new_code_cell("import not_a_module_anywhere"))
    broken.cells.insert(3, new_code_cell("x = (1,\nprint(x)"))
    put(inbox, "syntax", broken)
    assert run("collect", course, "demo", "--from", inbox) == 0
    assert run("autograde", course, "demo") == 0
    assert run("feedback", course, "demo") == 0
    return course


def test_a_syntax_error_and_a_failed_import_are_noted_on_the_line_and_the_page(graded):
    notes = " | ".join(report(graded)["syntax"]["notes"])
    assert re.search(r"the cell In \[\d\] has a syntax error \(.+ \(line \d\)\): none of its code ran", notes), notes
    assert "an import failed (ModuleNotFoundError: No module named 'not_a_module_anywhere')" in notes, notes
    assert report(graded)["syntax"]["score"] == 2          # the answer itself is right
    top = page(graded, "syntax").split("Demo")[0]          # the notes come before the notebook
    assert "Notes from the grader" in top and "has a syntax error" in top and "an import failed" in top


def test_a_submitted_source_notebook_is_named_as_such_not_as_tampering(graded):
    notes = report(graded)["source"]["notes"]
    assert any("source version of the notebook" in n for n in notes), notes
    assert not any("had been edited" in n for n in notes), notes
    assert "source version of the notebook" in page(graded, "source")


def test_an_untouched_notebook_has_no_note_and_no_alarming_log_line(graded):
    assert report(graded)["untouched"]["notes"] == []
    assert report(graded)["untouched"]["score"] == 0
    log = (graded / "reports" / "autograde-demo.log").read_text()
    assert "Attribute 'checksum'" not in log, "a warning for the hidden tests nbgrader puts back"
    assert "its hidden tests were put back" in log


def test_a_changed_test_cell_is_still_noted(tmp_path):
    repo, course, inbox = make_minicourse(tmp_path / "repo"), tmp_path / "course", tmp_path / "inbox"
    assert run("init", course, "--repo", repo) == 0
    assert run("release-course", course, "demo", "--no-exchange") == 0
    nb = answer(nbformat.read(course / "release" / "demo" / "demo.ipynb", as_version=4), "return 0")
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "demo_triangle_tests")
    test.source = "pass"
    put(inbox, "mallory", nb)
    assert run("collect", course, "demo", "--from", inbox) == 0
    assert run("autograde", course, "demo") == 0
    student = report(course)["mallory"]
    assert student["score"] == 0
    assert any("read-only cell demo_triangle_tests had been edited" in n for n in student["notes"])
    assert "Attribute 'checksum'" in (course / "reports" / "autograde-demo.log").read_text()


def test_lateness_is_the_instructors_to_control(tmp_path, capsys):
    repo, course, inbox = make_minicourse(tmp_path / "repo"), tmp_path / "course", tmp_path / "inbox"
    assert run("init", course, "--repo", repo, "--late-penalty", "zero", "--grace-minutes", 5) == 0
    due = dt.datetime(2026, 6, 1, 12, 0, 0)
    capsys.readouterr()
    assert run("release-course", course, "demo", "--no-exchange", "--duedate", f"{due:%Y-%m-%d %H:%M:%S} UTC") == 0
    assert "warning: the due date 2026-06-01 12:00:00 UTC is in the past" in capsys.readouterr().err
    assert run("release-course", course, "demo", "--no-exchange", "--duedate", "next tuesday-ish") == 2
    assert "is not a date and time" in capsys.readouterr().err

    released = nbformat.read(course / "release" / "demo" / "demo.ipynb", as_version=4)
    right = answer(released, "return n * (n + 1) // 2")
    put(inbox, "alice", right, due + dt.timedelta(seconds=28))        # within the grace period
    put(inbox, "bob", right, due + dt.timedelta(hours=2))             # late
    put(inbox, "carol", right)                                        # no timestamp.txt
    assert run("collect", course, "demo", "--from", inbox) == 1
    said = capsys.readouterr().out
    assert re.search(r"carol\s+refused: it has no timestamp.txt and demo has a due date", said), said
    assert re.search(r"alice .* late by 28 s, within the grace period", said), said
    assert re.search(r"bob .* LATE by 2 h", said), said
    assert not (course / "submitted" / "carol").exists()
    assert (inbox / "carol" / "demo" / "demo.ipynb").is_file()          # nothing lost
    for student in ("alice", "bob"):                                    # kept as they arrived
        assert list((course / "originals" / student / "demo").glob("*/demo.ipynb")), student

    assert run("collect", course, "demo", "--from", inbox, "--submitted-at", "2026-06-01 13:59 CEST") == 0
    assert re.search(r"carol\s+new\s+2026-06-01 11:59:00", capsys.readouterr().out)
    assert run("autograde", course, "demo") == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:-1]}
    assert "late by 28 s, within the 5 min grace period: no penalty" in lines["alice"], lines
    assert "late by 2 h: penalty 2 (raw score 2)" in lines["bob"], lines
    assert "late" not in lines["carol"], lines
    assert run("grades", course) == 0
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert {s: (float(r["raw_score"]), float(r["late_submission_penalty"]), float(r["score"]))
            for s, r in rows.items()} == {"alice": (2, 0, 2), "bob": (2, 2, 0), "carol": (2, 0, 2)}
