"""The instructor commands (hepdl_course.instructor and its modules) on a fast three-part assignment.

The submission matrix runs every case through the same commands an instructor types
(``hepdl-course init / release-course / collect / autograde / feedback / grades``) in one
temporary course with one student per case, and checks for every case: the batch completes, the
grade is the stated one, feedback HTML exists (showing no hidden test) and the other students'
grades are intact.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html as htmllib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, no_landlock
from minicourse import HEADER, TOML, grader
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from hepdl_course.cli import main as cli

pytestmark = pytest.mark.grading

CELL_TIMEOUT = 6          # seconds per cell in the test course: the infinite loops stay quick
STUDENT_TIMEOUT = 120


# ---------------------------------------------------------------------------------------------
# A fast assignment with three graded parts (2 + 1 + 2 points)
# ---------------------------------------------------------------------------------------------

PARTS = {  # grade_id: (answer source with the solution, test source, points)
    "mx_triangle": (
        'def triangle(n):\n    """Sum of 1..n."""\n    ### BEGIN SOLUTION\n    return n * (n + 1) // 2\n'
        "    ### END SOLUTION",
        '"""triangle sums 1..n."""\nassert triangle(1) == 1, "triangle(1) should be 1"\n'
        '### BEGIN HIDDEN TESTS\nassert triangle(4) == 10, "triangle(4) should be 10"\n### END HIDDEN TESTS', 2),
    "mx_square": (
        'def square(x):\n    """x squared."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION',
        '"""square squares."""\nassert square(2) == 4\n### BEGIN HIDDEN TESTS\nassert square(-3) == 9\n'
        "### END HIDDEN TESTS", 1),
    "mx_mean": (
        'def mean(xs):\n    """The mean of xs."""\n    ### BEGIN SOLUTION\n    return fsum(xs) / len(xs)\n'
        "    ### END SOLUTION",
        '"""mean averages."""\nassert mean([1, 2, 3]) == 2\n### BEGIN HIDDEN TESTS\n'
        "assert mean([0.5, 1.5]) == 1.0\n### END HIDDEN TESTS", 2),
}
MAX_SCORE = 5.0
HIDDEN = [line for _, test, _ in PARTS.values()       # the hidden test lines, never in a feedback page
          for line in test.split("### BEGIN HIDDEN TESTS\n")[1].split("### END HIDDEN TESTS")[0].splitlines()]


def matrix_notebook() -> nbformat.NotebookNode:
    cells = [new_markdown_cell(HEADER),
             new_code_cell("N = 4\nDATA_DIR = None\nRESULTS_PATH = None", metadata={"tags": ["parameters"]}),
             new_code_cell("from math import fsum")]
    for number, (gid, (answer, test, points)) in enumerate(PARTS.items(), start=1):
        cells.append(new_markdown_cell(f"### Exercise {number} ({points} points)"))
        cells.append(new_code_cell(answer, metadata=grader(gid, solution=True, grade=False)))
        cells.append(new_code_cell(test, metadata=grader(f"{gid}_tests", solution=False, grade=True,
                                                         points=points)))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def make_repo(root: Path) -> Path:
    """A one-assignment course repository (``solutions/mx``) like the real one."""
    (root / "solutions" / "mx").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'matrix'\n")
    nbformat.write(matrix_notebook(), root / "solutions" / "mx" / "mx.ipynb")
    (root / "solutions" / "mx" / "assignment.toml").write_text(TOML.replace("total = [5.5, 6.5]", ""))
    return root


# ---------------------------------------------------------------------------------------------
# The submissions: each built from the released (student) version or the solution
# ---------------------------------------------------------------------------------------------

def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _answer(nb, gid, body):
    """Answer cell ``gid`` with ``body`` as the function body (after the docstring)."""
    head = PARTS[gid][0].split("    ### BEGIN SOLUTION")[0]
    _cell(nb, gid).source = head + textwrap.indent(textwrap.dedent(body).strip(), "    ")


def _solve(nb, *gids):
    for gid in gids:
        _answer(nb, gid, PARTS[gid][0].split("### BEGIN SOLUTION\n")[1].split("    ### END SOLUTION")[0])


CHEAT = '''
import glob, os, sqlite3, subprocess
loot = []
places = [os.getcwd(), *map(str, __import__("pathlib").Path.cwd().parents), {course!r}, {repo!r}]
for base in places:
    for pattern in ("gradebook.db", "source/*/*.ipynb", "*/*.ipynb", "solutions/*/*.ipynb"):
        for path in glob.glob(os.path.join(base, pattern)):
            try:
                loot.append(open(path, encoding="utf-8", errors="replace").read())
            except OSError as err:
                print("refused:", type(err).__name__)
for path in ({course!r} + "/gradebook.db", {course!r} + "/source/mx/mx.ipynb"):
    try:
        loot.append(open(path, encoding="utf-8", errors="replace").read())
    except OSError as err:
        print("refused:", type(err).__name__)
    try:
        loot.append(subprocess.run(["cat", path], capture_output=True, text=True, errors="replace").stdout)
    except OSError as err:
        print("refused:", type(err).__name__)
try:
    con = sqlite3.connect({course!r} + "/gradebook.db")
    loot += [row[0] for row in con.execute("SELECT source FROM source_cell")]
    con.execute("UPDATE grade SET manual_score = 99")
    con.execute("UPDATE source_cell SET source = 'pass'")
    con.commit()
except Exception as err:
    print("refused:", type(err).__name__)
try:
    with open({course!r} + "/gradebook.db", "r+b") as handle:
        handle.write(b"garbage")
except OSError as err:
    print("refused:", type(err).__name__)
loot = [item for item in loot if item]
for target in ({repo!r} + "/datasets/poison.txt", {repo!r} + "/pyproject.toml"):
    try:
        with open(target, "a") as handle:        # what the next students' kernels would read
            handle.write("tampered")
    except OSError as err:
        print("refused:", type(err).__name__)
text = "\\n".join(loot)
print("found", len(loot), "files")
solution = "return n * (n + 1) " + "// 2"
if solution in text:
    exec("def triangle(n):\\n    " + solution + "\\ndef square(x):\\n    return x * x\\n"
         "def mean(xs):\\n    return sum(xs) / len(xs)")
'''


EXPECTED = {  # student (one per case) -> the score out of 5 they must get, and why
    "solution": 5,                  # full marks
    "untouched": 0,                 # zero autograded points
    "partly_right": 2,              # triangle right, square wrong, mean not done
    "fails_hidden_tests": 2,        # triangle and square pass their visible tests, fail the hidden ones
    "answer_deleted": 3,            # triangle's answer cell deleted: its test fails, the rest counts
    "test_deleted": 5,              # triangle's test cell deleted: put back and run, answer counts
    "cell_duplicated": 5,           # the last copy of a duplicated cell is graded
    "test_edited": 2 + 1,           # triangle's test edited to pass (and given 100 points): no gain
    "infinite_loop": 4,             # square's cell times out and is interrupted; the others count
    "loop_ignores_interrupt": 4,    # ...cannot be interrupted: kernel restarted, the others count
    "huge_output": 5,               # 200,000 lines and a 3 MB line: cut in the feedback, full marks
    "syntax_error": 3,              # mean's cell does not parse
    "import_error": 3,              # the imports cell raises: mean (needs fsum) fails, the rest counts
    "kernel_dies": 4,               # os._exit in square's cell: kernel restarted, the others count
    "invalid_json": 0,              # the untouched version is graded in its place, with a note
    "empty_file": 0,
    "not_a_notebook": 0,            # valid JSON, not a notebook
    "wrong_name": 5,                # one notebook under another name: graded as mx.ipynb
    "in_subfolder": 5,              # the notebook inside a folder (an unpacked zip): graded
    "extra_notebook": 5,            # the extra notebook is left alone
    "reads_hidden_tests": 0,        # reads (and tries to write) the gradebook and sources: gains nothing
    "leaves_a_process": 5,          # starts a program that outlives its kernel: it is stopped
}


def submissions(released: nbformat.NotebookNode, course: Path, repo: Path) -> dict:
    """student -> files {name: notebook or bytes}; the expected grades are in EXPECTED."""
    def student(*solved):
        nb = copy.deepcopy(released)
        _solve(nb, *solved)
        return nb

    cases = {}
    cases["solution"] = {"mx.ipynb": student(*PARTS)}
    cases["untouched"] = {"mx.ipynb": copy.deepcopy(released)}
    nb = student("mx_triangle")
    _answer(nb, "mx_square", "return x + x")              # wrong: square(-3) == -6
    cases["partly_right"] = {"mx.ipynb": nb}
    nb = student("mx_mean")
    _answer(nb, "mx_triangle", "return n")                # triangle(1) right; hidden, with a message: wrong
    _answer(nb, "mx_square", "return x + x")              # square(2) right; hidden, no message: wrong
    cases["fails_hidden_tests"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    nb.cells.remove(_cell(nb, "mx_triangle"))
    cases["answer_deleted"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    nb.cells.remove(_cell(nb, "mx_triangle_tests"))       # put back and run: the answer still counts
    cases["test_deleted"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    wrong = copy.deepcopy(_cell(nb, "mx_square"))
    wrong.source = wrong.source.replace("return x * x", "return 0")
    wrong["id"] = "wrong-copy"
    nb.cells.insert(nb.cells.index(_cell(nb, "mx_square")), wrong)   # the later copy wins
    test_copy = copy.deepcopy(_cell(nb, "mx_mean_tests"))
    test_copy["id"] = "test-copy"
    nb.cells.insert(nb.cells.index(_cell(nb, "mx_mean_tests")) + 1, test_copy)
    cases["cell_duplicated"] = {"mx.ipynb": nb}
    nb = student("mx_square", "mx_mean")                    # triangle left as the stub...
    _cell(nb, "mx_triangle_tests").source = "pass  # all good"   # ...and its test edited to pass
    _cell(nb, "mx_triangle_tests").metadata["nbgrader"]["points"] = 100
    cases["test_edited"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    _cell(nb, "mx_square").source = "while True:\n    pass\n" + _cell(nb, "mx_square").source
    cases["infinite_loop"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    _cell(nb, "mx_square").source = ("import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                                     "    except KeyboardInterrupt:\n        pass\n")
    cases["loop_ignores_interrupt"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    _cell(nb, "mx_triangle").source += ("\nfor i in range(200_000):\n    print('line', i)\n"
                                        "print('x' * 3_000_000)")
    cases["huge_output"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    _cell(nb, "mx_mean").source = "def mean(xs:\n    return 1"
    cases["syntax_error"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    imports = next(c for c in nb.cells if c.source == "from math import fsum")
    imports.source = "import not_a_module_anywhere\nfrom math import fsum"
    cases["import_error"] = {"mx.ipynb": nb}
    nb = student(*PARTS)
    _cell(nb, "mx_square").source += "\nimport os\nos._exit(1)"
    cases["kernel_dies"] = {"mx.ipynb": nb}
    cases["invalid_json"] = {"mx.ipynb": b'{"cells": [\n  {"cell_type": "code", '}
    cases["empty_file"] = {"mx.ipynb": b""}
    cases["not_a_notebook"] = {"mx.ipynb": b'{"answer": 42}'}
    cases["wrong_name"] = {"mx (1).ipynb": student(*PARTS)}
    cases["in_subfolder"] = {"mx/mx.ipynb": student(*PARTS), ".ipynb_checkpoints/mx-checkpoint.ipynb": released}
    cases["extra_notebook"] = {"mx.ipynb": student(*PARTS), "scratch.ipynb": new_notebook()}
    nb = student(*PARTS)
    _cell(nb, "mx_triangle").source += ("\nimport subprocess\ntry:\n    print('pid', subprocess.Popen("
                                        "['sleep', '600'], start_new_session=True).pid)\n"
                                        "except OSError as err:\n    print('refused:', err)")
    cases["leaves_a_process"] = {"mx.ipynb": nb}
    nb = copy.deepcopy(released)
    _cell(nb, "mx_triangle").source = CHEAT.format(course=str(course), repo=str(repo))
    cases["reads_hidden_tests"] = {"mx.ipynb": nb}
    return cases


def write_submission(folder: Path, files: dict) -> None:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            nbformat.write(content, folder / name)


def gradebook(course: Path, assignment: str = "mx") -> dict[str, tuple[float, float]]:
    """student -> (score, max_score), straight from the SQLite gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: (float(s.score), float(s.max_score))
                for s in gb.find_assignment(assignment).submissions}


def run_cli(*args) -> int:
    return cli([str(a) for a in args])


def hidden_lines(notebook: Path) -> list[str]:
    """The lines of a notebook's hidden test regions (stripped), but for short ones and those
    that a visible line contains (not secret)."""
    hidden, shown, inside = [], set(), False
    for cell in nbformat.read(notebook, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif line.strip():
                (hidden.append if inside else shown.add)(line.strip())
    return [line for line in hidden if len(line) >= 8 and not any(line in other for other in shown)]


def page_text(page: Path) -> str:
    """A feedback page as a reader sees it: tags removed (highlighted code is one span per
    token), entities decoded."""
    return htmllib.unescape(re.sub(r"<[^>]*>", "", page.read_text()))


def leaked(page: Path, hidden: list[str]) -> list[str]:
    """The hidden lines a feedback page shows, in its text or anywhere in its HTML (embedded
    data, attributes), plus the delimiters if they are there."""
    raw, text = page.read_text(), page_text(page)
    found = [line for line in hidden
             if line in text or htmllib.escape(line) in raw or json.dumps(line)[1:-1] in raw]
    return found + [d for d in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS") if d in raw]


# ---------------------------------------------------------------------------------------------
# The submission matrix: one course, one student per case, the instructor's commands
# ---------------------------------------------------------------------------------------------

class Matrix:
    pass


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    run = Matrix()
    base = tmp_path_factory.mktemp("matrix")
    run.repo, run.course, run.inbox = make_repo(base / "repo"), base / "course", base / "inbox"
    assert run_cli("init", run.course, "--repo", run.repo, "--timeout", CELL_TIMEOUT,
                   "--student-timeout", STUDENT_TIMEOUT) == 0
    assert run_cli("release-course", run.course, "mx", "--no-exchange") == 0
    released = nbformat.read(run.course / "release" / "mx" / "mx.ipynb", as_version=4)
    run.cases = submissions(released, run.course, run.repo)
    for name, files in run.cases.items():
        write_submission(run.inbox / name / "mx", files)
    assert run_cli("collect", run.course, "mx", "--from", run.inbox) == 0
    run.autograde_status = run_cli("autograde", run.course, "mx")
    run.report = {r["student"]: r for r in
                  json.loads((run.course / "reports" / "autograde-mx.json").read_text())["students"]}
    run.feedback_status = run_cli("feedback", run.course, "mx")
    assert run_cli("grades", run.course) == 0
    with open(run.course / "grades.csv", newline="") as handle:
        run.csv = {row["student_id"]: row for row in csv.DictReader(handle)}
    run.grades = gradebook(run.course)
    return run


def test_every_case_has_a_stated_grade(matrix):
    assert sorted(matrix.cases) == sorted(EXPECTED)


def test_the_batch_completes_and_grades_everyone(matrix):
    assert matrix.autograde_status == 0, json.dumps(matrix.report, indent=1)
    assert matrix.feedback_status == 0
    assert {s: r["status"] for s, r in matrix.report.items()} == {s: "graded" for s in EXPECTED}
    assert sorted(matrix.csv) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_submission_matrix(matrix, case):
    course, expected = matrix.course, float(EXPECTED[case])
    assert matrix.grades[case] == (expected, MAX_SCORE), matrix.report[case]
    assert float(matrix.csv[case]["score"]) == expected
    html = course / "feedback" / case / "mx" / "mx.html"
    assert html.is_file() and "<html" in html.read_text()[:2000].lower()
    intact = {student: score for student, (score, _) in matrix.grades.items()}
    assert intact == {s: float(v) for s, v in EXPECTED.items()}, "another student's grade changed"
    assert (course / "submitted" / case / "mx").is_dir(), "a submission was lost"


@pytest.mark.parametrize("case", ["invalid_json", "empty_file", "not_a_notebook"])
def test_an_unreadable_file_is_kept_and_explained(matrix, case):
    original = matrix.cases[case]["mx.ipynb"]
    kept = list((matrix.course / "originals" / case / "mx").glob("*/mx.ipynb"))
    assert len(kept) == 1 and kept[0].read_bytes() == original
    assert "could not be read" in (matrix.course / "feedback" / case / "mx" / "mx.html").read_text()
    assert any("could not be read" in note for note in matrix.report[case]["notes"])


def test_the_notes_say_what_was_done(matrix):
    notes = {s: " ".join(r["notes"]) for s, r in matrix.report.items()}
    assert "submitted as mx (1).ipynb" in notes["wrong_name"]
    assert (matrix.course / "originals" / "wrong_name" / "mx").is_dir()
    assert "not graded: scratch.ipynb" in notes["extra_notebook"]
    assert (matrix.course / "submitted" / "extra_notebook" / "mx" / "scratch.ipynb").is_file()
    assert "mx_triangle_tests had been deleted" in notes["test_deleted"]
    assert "appears 2 times" in notes["cell_duplicated"]
    assert "settings of cell mx_triangle_tests" in notes["test_edited"]
    assert "cell mx_triangle_tests had been edited; the original was run" in notes["test_edited"]
    assert "submitted as mx/mx.ipynb" in notes["in_subfolder"]
    assert "timed out and was interrupted" in notes["infinite_loop"]
    assert "could not be interrupted" in notes["loop_ignores_interrupt"]
    assert "kernel died" in notes["kernel_dies"]
    assert "submitted as" in (matrix.course / "feedback" / "wrong_name" / "mx" / "mx.html").read_text()


def test_a_program_left_running_is_stopped(matrix):
    import psutil

    graded = nbformat.read(matrix.course / "autograded" / "leaves_a_process" / "mx" / "mx.ipynb", 4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    # Without Landlock the audit hook refuses to start programs, so none is left running to stop:
    # that machine cannot test this (and its grading kernels are less confined): say so.
    assert "refused:" not in printed, no_landlock("the grading kernel refused to start a program")
    pid = int(printed.split("pid ")[1].split()[0])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "were still running; they were stopped" in " ".join(matrix.report["leaves_a_process"]["notes"])


def test_feedback_tells_which_hidden_test_failed_without_its_code(matrix):
    """Every feedback page: hidden regions replaced by a line, failures told by type and message;
    the graded notebooks keep the hidden tests (for the formgrader)."""
    pages = sorted((matrix.course / "feedback").glob("*/mx/*.html"))
    assert {page.parts[-3] for page in pages} == set(EXPECTED)
    for page in pages:
        student = page.parts[-3]
        graded = matrix.course / "autograded" / student / "mx" / "mx.ipynb"
        assert set(HIDDEN) <= set(hidden_lines(graded)), f"{student}: the graded notebook lost its hidden tests"
        assert not leaked(page, HIDDEN + hidden_lines(graded)), f"{student}'s feedback shows hidden tests"
        assert page_text(page).count("# hidden tests: not shown") >= len(PARTS), student
    text = page_text(matrix.course / "feedback" / "fails_hidden_tests" / "mx" / "mx.html")
    assert 'assert triangle(1) == 1, "triangle(1) should be 1"' in text     # the visible test is shown
    assert "mx_triangle_tests failed: AssertionError: triangle(4) should be 10" in text
    assert "mx_square_tests failed: AssertionError (no message)" in text
    assert "most recent call last" not in text and "----> " not in text    # no traceback
    untouched = page_text(matrix.course / "feedback" / "untouched" / "mx" / "mx.html")
    assert "mx_triangle_tests failed: NotImplementedError" in untouched
    assert "triangle(4) should be 10" not in page_text(matrix.course / "feedback" / "solution" / "mx" / "mx.html")


def test_the_feedback_preprocessor_hides_hidden_lines_in_sources_and_outputs():
    """HideHiddenTests alone: markdown regions, a hidden helper quoted by a traceback of a
    student's cell or by a warning, a test cell's error reduced to one line."""
    from nbformat.v4 import new_output

    from hepdl_course.preprocessors import HideHiddenTests

    secret = "assert x > 41, 'x is too small'"
    helper = new_code_cell(f"def check(x):\n    ### BEGIN HIDDEN TESTS\n    {secret}\n    ### END HIDDEN TESTS\n"
                           "    return x", metadata=grader("check_tests", solution=False, grade=True, points=1))
    helper.outputs = [new_output("error", ename="AssertionError", evalue="x is too small",
                                 traceback=["\x1b[0;31m----> 3\x1b[0m     " + secret, "AssertionError: x is too small"])]
    answer = new_code_cell("x = check(4)", metadata=grader("answer", solution=True, grade=False))
    answer.outputs = [new_output("error", ename="AssertionError", evalue="", traceback=[
        "Cell In[3], line 1\n----> 1 x = check(4)\n",
        ("Cell In[2], line 3\n      1 def check(x):\n"
         f"\x1b[1;32m----> 3\x1b[0m     \x1b[38;5;28m{secret[:6]}\x1b[39m{secret[6:]}\n")]),
        new_output("stream", name="stderr", text=f"/tmp/1.py:3: DeprecationWarning: old\n  {secret}\nmore\n")]
    told = new_markdown_cell("Explain.\n### BEGIN HIDDEN TESTS\nThe grader looks for the word 'fermion'.\n"
                             "### END HIDDEN TESTS", metadata=grader("told", solution=False, grade=True, points=1))
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[helper, answer, told]), {})
    assert nb.cells[0].source == "def check(x):\n    # hidden tests: not shown\n    return x"
    assert nb.cells[0].outputs[0].traceback == ["check_tests failed: AssertionError: x is too small"]
    assert nb.cells[2].source == "Explain.\n*(hidden tests: not shown)*"
    shown = json.dumps(nb)
    assert "x > 41" not in shown and "fermion" not in shown
    assert "----> 1 x = check(4)" in nb.cells[1].outputs[0].traceback[0]     # the student's own line stays
    assert "DeprecationWarning: old" in nb.cells[1].outputs[1].text and "more" in nb.cells[1].outputs[1].text


def test_huge_output_is_cut(matrix):
    html = matrix.course / "feedback" / "huge_output" / "mx" / "mx.html"
    assert html.stat().st_size < 1_000_000
    graded = (matrix.course / "autograded" / "huge_output" / "mx" / "mx.ipynb").read_text()
    assert "Output truncated" in graded or "output cut" in graded


def test_reading_the_gradebook_or_the_sources_gains_nothing(matrix):
    graded = nbformat.read(matrix.course / "autograded" / "reads_hidden_tests" / "mx" / "mx.ipynb", 4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "found 0 files" in printed and "refused: PermissionError" in printed
    con = sqlite3.connect(matrix.course / "gradebook.db")
    sources = [row[0] for row in con.execute("SELECT source FROM source_cell")]
    assert any("triangle(4) == 10" in src for src in sources), "hidden tests were overwritten"
    assert con.execute("SELECT COUNT(*) FROM grade WHERE manual_score = 99").fetchone()[0] == 0
    con.close()
    assert not (matrix.repo / "datasets" / "poison.txt").exists()
    assert "tampered" not in (matrix.repo / "pyproject.toml").read_text()


@pytest.mark.server
def test_formgrader_serves_the_course_for_manual_grading(matrix, tmp_path):
    """Manual grading: the formgrader lists the submissions; a manual score reaches the export."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "hepdl-formgrader-test"
    log = open(tmp_path / "formgrader.log", "w")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen([sys.executable, "-m", "hepdl_course", "formgrader", str(matrix.course),
                             "--port", str(port), "--token", token, "--no-browser"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}/formgrader"

    def call(path, data=None):
        request = urllib.request.Request(f"{base}{path}", data=data, method="PUT" if data else "GET",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                page = call("")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("no formgrader:\n" + (tmp_path / "formgrader.log").read_text()[-3000:])
                time.sleep(1)
        assert "formgrader" in page.lower()
        said = (tmp_path / "formgrader.log").read_text()      # what the instructor reads
        assert said.count(f"http://127.0.0.1:{port}/formgrader?token={token}") == 1, said
        assert "file://" not in said and len(said.splitlines()) <= 8, said
        submissions = json.loads(call("/api/submissions/mx"))
        assert {s["student"] for s in submissions} == set(EXPECTED)
        notebooks = json.loads(call("/api/submitted_notebooks/mx/mx"))
        notebook = next(n for n in notebooks if n["student"] == "answer_deleted")
        grades = json.loads(call(f"/api/grades?submission_id={notebook['id']}"))
        triangle = next(g for g in grades if g["name"] == "mx_triangle_tests")
        call(f"/api/grade/{triangle['id']}", json.dumps({"manual_score": 1.0}).encode())
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    assert run_cli("grades", matrix.course, "--to", tmp_path / "after.csv") == 0
    with open(tmp_path / "after.csv", newline="") as handle:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert rows["answer_deleted"] == EXPECTED["answer_deleted"] + 1



# ---------------------------------------------------------------------------------------------
# Late submissions and re-submissions, through a hub-style exchange
# ---------------------------------------------------------------------------------------------

DUE = dt.datetime(2026, 6, 1, 12, 0, 0)


def student_submit(config_file: Path, home: Path, student: str, notebook, at: dt.datetime,
                   fetch: bool = False) -> None:
    """What a student's ``nbgrader fetch_assignment`` / ``submit`` do, at a chosen time."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    config.Exchange.cache = str(home / "cache" / student)
    config.Exchange.assignment_dir = str(home / student)
    coursedir = CourseDirectory(config=config, root=str(home / student))
    coursedir.assignment_id, coursedir.student_id = "mx", student
    auth = Authenticator(config=config)
    if fetch:
        ExchangeFetchAssignment(coursedir=coursedir, authenticator=auth, config=config).start()
        fetched = nbformat.read(home / student / "mx" / "mx.ipynb", as_version=4)
        notebook = notebook(fetched)
    write_submission(home / student / "mx", {"mx.ipynb": notebook})

    class SubmitAt(ExchangeSubmit):
        def set_timestamp(self):
            self.timestamp = at.strftime("%Y-%m-%d %H:%M:%S.%f UTC")

    SubmitAt(coursedir=coursedir, authenticator=auth, config=config).start()


def student_fetch_feedback(config_file: Path, home: Path, student: str) -> None:
    """What a student's ``nbgrader fetch_feedback`` does."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchFeedback
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    config.Exchange.cache = str(home / "cache" / student)
    config.Exchange.assignment_dir = str(home / student)
    coursedir = CourseDirectory(config=config, root=str(home / student))
    coursedir.assignment_id, coursedir.student_id = "mx", student
    ExchangeFetchFeedback(coursedir=coursedir, config=config).start()


def test_late_and_repeated_submissions_follow_nbgrader_settings(tmp_path):
    repo, course = make_repo(tmp_path / "repo"), tmp_path / "course"
    exchange, db = tmp_path / "srv" / "exchange", tmp_path / "db" / "gradebook.db"
    db.parent.mkdir()
    assert run_cli("init", course, "--repo", repo, "--exchange", exchange, "--db-url", f"sqlite:///{db}",
                   "--late-penalty", "zero", "--timeout", CELL_TIMEOUT) == 0
    assert run_cli("release-course", course, "mx", "--duedate", f"{DUE:%Y-%m-%d %H:%M:%S} UTC") == 0
    assert (exchange / "hepdl" / "outbound" / "mx" / "mx.ipynb").is_file()
    assert run_cli("release-course", course, "mx") == 2          # released before: needs --force
    assert run_cli("student-config", course, "--write", tmp_path / "etc" / "nbgrader_config.py") == 0
    student_config = tmp_path / "etc" / "nbgrader_config.py"
    released = nbformat.read(course / "release" / "mx" / "mx.ipynb", as_version=4)

    def solved(nb=released, *gids):
        nb = copy.deepcopy(nb)
        _solve(nb, *(gids or PARTS))
        return nb

    hour = dt.timedelta(hours=1)
    home = tmp_path / "home"
    student_submit(student_config, home, "alice", solved, DUE - hour, fetch=True)      # on time
    student_submit(student_config, home, "bob", released, DUE - 2 * hour)              # on time...
    student_submit(student_config, home, "bob", solved(), DUE + hour)                  # ...then late
    student_submit(student_config, home, "carol", released, DUE - 2 * hour)            # re-submitted
    student_submit(student_config, home, "carol", solved(), DUE - hour)                # on time
    inbox = tmp_path / "inbox"                                                         # no hub: a folder
    write_submission(inbox / "dave" / "mx", {"mx.ipynb": solved()})
    (inbox / "dave" / "mx" / "timestamp.txt").write_text(f"{DUE + 24 * hour:%Y-%m-%d %H:%M:%S} UTC")

    assert run_cli("collect", course, "mx") == 0
    assert run_cli("collect", course, "mx", "--from", inbox) == 0
    assert run_cli("autograde", course, "mx") == 0
    report = {r["student"]: r for r in json.loads((course / "reports" / "autograde-mx.json").read_text())["students"]}
    assert {s: (r["raw_score"], r["penalty"], r["score"], r["late_seconds"] > 0) for s, r in report.items()} == {
        "alice": (5, 0, 5, False), "bob": (5, 5, 0, True), "carol": (5, 0, 5, False), "dave": (5, 5, 0, True)}
    assert db.is_file() and not (course / "gradebook.db").exists()

    assert run_cli("feedback", course, "mx") == 0
    # released for the three who submitted through the exchange; dave's stays in feedback/
    assert len(list((exchange / "hepdl" / "feedback").glob("*.html"))) == 3
    assert (course / "feedback" / "dave" / "mx" / "mx.html").is_file()
    student_fetch_feedback(student_config, home, "alice")
    assert list((home / "alice" / "mx" / "feedback").glob("*/mx.html"))
    pages = [*(course / "feedback").glob("*/mx/*.html"), *(exchange / "hepdl" / "feedback").glob("*.html"),
             *(home / "alice" / "mx" / "feedback").glob("*/mx.html")]
    assert len(pages) == 4 + 3 + 1
    assert not [page for page in pages if leaked(page, HIDDEN)], "a feedback page shows hidden tests"

    # alice re-submits after grading (still before the due date): only she is graded again
    student_submit(student_config, home, "alice", solved(released, "mx_triangle"), DUE - hour / 2)
    assert run_cli("collect", course, "mx") == 0
    assert run_cli("autograde", course, "mx") == 0
    report = {r["student"]: r for r in json.loads((course / "reports" / "autograde-mx.json").read_text())["students"]}
    assert {s: r["skipped"] for s, r in report.items()} == {"alice": False, "bob": True, "carol": True, "dave": True}
    assert {s: r["score"] for s, r in report.items()} == {"alice": 2, "bob": 0, "carol": 5, "dave": 0}
    assert (course / "originals" / "alice" / "mx").is_dir()     # her first collected submission

    # nbgrader's --before-duedate: bob's last submission before the due date counts instead
    assert run_cli("collect", course, "mx", "--before-duedate") == 0
    assert run_cli("autograde", course, "mx", "--student", "bob") == 0
    report = json.loads((course / "reports" / "autograde-mx.json").read_text())["students"]
    assert [(r["student"], r["score"], r["late_seconds"]) for r in report] == [("bob", 0, 0)]
    assert len(list((exchange / "hepdl" / "inbound").glob("bob+mx+*"))) == 2   # nothing lost

    # a student whose grading outlasts --student-timeout fails alone; the next one is graded.
    # erin's loop ignores interrupts, and the per-cell timeout is set above the limit: her
    # grading outlasts the limit on any machine, while carol's (a fresh kernel, quick cells) has
    # the whole limit, with a wide margin even on a loaded machine.
    limit = 30
    assert run_cli("init", course, "--timeout", 3 * limit) == 0
    hang = copy.deepcopy(released)
    _cell(hang, "mx_triangle").source = ("import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                                         "    except KeyboardInterrupt:\n        pass")
    write_submission(inbox / "erin" / "mx", {"mx.ipynb": hang})
    (inbox / "erin" / "mx" / "timestamp.txt").write_text(f"{DUE - hour:%Y-%m-%d %H:%M:%S} UTC")
    assert run_cli("collect", course, "mx", "--from", inbox) == 0
    assert run_cli("autograde", course, "mx", "--student", "erin", "--student", "carol", "--force",
                   "--student-timeout", limit) == 1
    report = {r["student"]: r for r in json.loads((course / "reports" / "autograde-mx.json").read_text())["students"]}
    assert report["erin"]["status"] == "failed", report["erin"]
    assert f"grading took longer than {limit} s" in report["erin"]["reason"]
    assert (report["carol"]["status"], report["carol"]["score"]) == ("graded", 5)
    assert (course / "submitted" / "erin" / "mx" / "mx.ipynb").is_file()


# ---------------------------------------------------------------------------------------------
# The confined kernel, the course directory, the real pre-exercise
# ---------------------------------------------------------------------------------------------

PROBE = r'''
import json, os, subprocess, sys
from hepdl_course.sandbox import confine
secret = sys.argv[1]
how = confine([os.path.dirname(secret)], landlock=sys.argv[2] == "1")
out = {"how": how}
def attempt(name, action):
    try:
        action()
        out[name] = "allowed"
    except Exception as err:
        out[name] = type(err).__name__
def cat():
    if "SECRET" not in subprocess.run(["cat", secret], capture_output=True, text=True).stdout:
        raise PermissionError("cat could not read it")
attempt("read_secret", lambda: open(secret).read())
attempt("list_course", lambda: os.listdir(os.path.dirname(secret)))
attempt("write_secret", lambda: open(secret, "a").write("x"))
attempt("read_own", lambda: open("own.txt").read())
attempt("write_own", lambda: open("new.txt", "w").write("x"))
attempt("cat_secret", cat)
attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
attempt("read_library", lambda: open(sys.argv[3]).read())
attempt("write_library", lambda: open(sys.argv[3], "a").write("tampered"))
print(json.dumps(out))
'''


@pytest.mark.parametrize("landlock", ["1", "0"])
def test_the_grading_kernel_cannot_reach_the_course(tmp_path, landlock):
    secret = tmp_path / "course" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("SECRET")
    work = tmp_path / "course" / "autograded" / "student" / "mx"
    work.mkdir(parents=True)
    (work / "own.txt").write_text("mine")
    library = tmp_path / "venv" / "module.py"      # what every later kernel imports
    library.parent.mkdir()
    library.write_text("VALUE = 1\n")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(secret), landlock, str(library)],
                          cwd=work, capture_output=True, text=True, timeout=60)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    how = out.pop("how")
    assert out == {"read_secret": "PermissionError", "list_course": "PermissionError",
                   "write_secret": "PermissionError", "read_own": "allowed", "write_own": "allowed",
                   "cat_secret": "PermissionError", "signal_parent": "PermissionError",
                   "read_library": "allowed", "write_library": "PermissionError"}, how
    assert secret.read_text() == "SECRET" and library.read_text() == "VALUE = 1\n"
    if landlock == "0":
        assert how.startswith("audit hook only")
    else:
        assert how.startswith("Landlock"), no_landlock(f"the grading kernel is confined by {how!r}")


def test_the_grading_kernel_starts_before_any_submitted_file_is_imported(tmp_path):
    """The kernel starts in the student's folder: a submitted ``hepdl_course/`` must not replace
    the module that confines it."""
    from hepdl_course.grading_kernel import kernelspec_dir

    kernels = kernelspec_dir(tmp_path / "jupyter") / "kernels"
    spec = json.loads((kernels / "python3" / "kernel.json").read_text())
    work = tmp_path / "autograded" / "mallory" / "mx"
    (work / "hepdl_course").mkdir(parents=True)
    (work / "hepdl_course" / "__init__.py").write_text('print("UNCONFINED")\nraise SystemExit(0)\n')
    argv = spec["argv"][: spec["argv"].index("-f")] + ["--version"]      # ipykernel prints, exits
    proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HEPDL_GRADE_LANDLOCK": "0"})
    assert "UNCONFINED" not in proc.stdout + proc.stderr
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr


def test_init_keeps_the_course_outside_the_repository_and_remembers_its_settings(tmp_path, capsys):
    repo, course = make_repo(tmp_path / "repo"), tmp_path / "course"
    assert run_cli("init", repo / "grading", "--repo", repo) == 2
    assert "must be outside the repository" in capsys.readouterr().err
    assert run_cli("init", course, "--repo", repo, "--late-penalty", "zero", "--timeout", "30",
                   "--exchange", tmp_path / "exchange") == 0
    config = (course / "nbgrader_config.py").read_text()
    assert run_cli("init", course) == 0                       # a re-run keeps every setting
    assert (course / "nbgrader_config.py").read_text() == config
    assert "penalty_method = 'zero'" in config and "Execute.timeout = 30" in config
    assert f"c.Exchange.root = {str(tmp_path / 'exchange')!r}" in config
    assert (course / "source" / "mx" / "mx.ipynb").is_file()
    assert not (course / "source" / "mx" / "assignment.toml").exists()
    capsys.readouterr()
    assert run_cli("student-config", course) == 0
    assert "c.CourseDirectory.course_id = 'hepdl'" in capsys.readouterr().out
    assert run_cli("autograde", course, "mx") == 2             # never released
    assert "release-course" in capsys.readouterr().err
    assert run_cli("autograde", tmp_path / "nowhere", "mx") == 2


@pytest.mark.notebook
def test_the_real_pre1_numpy_through_the_commands(tmp_path, ci_data):
    """The course's first pre-exercise, solution and untouched, graded in the confined kernel."""
    from hepdl_course import course as course_mod
    from hepdl_course.grading import inject_parameters

    course = tmp_path / "course"
    assert run_cli("init", course, "pre1_numpy", "--repo", ROOT) == 0
    assert run_cli("release-course", course, "pre1_numpy", "--no-exchange") == 0
    assignment = course_mod.find("pre1_numpy", ROOT)
    inbox = tmp_path / "inbox"
    for student, source in (("solution", assignment.notebook),
                            ("untouched", course / "release" / "pre1_numpy" / "pre1_numpy.ipynb")):
        target = inbox / student / "pre1_numpy" / "pre1_numpy.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes(source.read_bytes())
        inject_parameters(target, assignment.tier_parameters("ci"))
    assert run_cli("collect", course, "pre1_numpy", "--from", inbox) == 0
    assert run_cli("autograde", course, "pre1_numpy", "--data-dir", ci_data) == 0
    assert run_cli("feedback", course, "pre1_numpy") == 0
    report = {r["student"]: r for r in
              json.loads((course / "reports" / "autograde-pre1_numpy.json").read_text())["students"]}
    assert report["solution"]["score"] == report["solution"]["max_score"] > 0, report
    assert report["untouched"]["score"] == 0
    for student in report:
        page = course / "feedback" / student / "pre1_numpy" / "pre1_numpy.html"
        graded = course / "autograded" / student / "pre1_numpy" / "pre1_numpy.ipynb"
        assert page.is_file() and not leaked(page, hidden_lines(graded))
    assert not list((ROOT / "solutions").rglob("results.json"))


def test_running_nbgrader_keeps_the_callers_log_streams_open(tmp_path):
    """traitlets' logging set-up closes every handler of the process; absl's (Keras's) handler
    then closes its stream. That stream was pytest's capture file and the whole session died:
    nbgrader's applications run in a child process, whose handlers are its own."""
    import io
    import logging

    from hepdl_course import nbgrader_batch

    class ClosesItsStream(logging.StreamHandler):      # what absl's handler does on close()
        def close(self):
            self.stream.close()
            super().close()

    stream = io.StringIO()
    handler = ClosesItsStream(stream)
    logger = logging.getLogger("hepdl-test-caller")
    logger.addHandler(handler)
    try:
        run = nbgrader_batch.run(tmp_path, ["--version"], ["generate_feedback", "nothing"], ["--version"],
                                 keep_going=True)
        assert not stream.closed, "nbgrader's logging set-up closed the caller's log stream"
        logger.warning("still logging")
        assert "still logging" in stream.getvalue()
    finally:
        logger.removeHandler(handler)
    assert run.returncode == 1 and run.failed() == [["generate_feedback", "nothing"]], run.output
    assert run.output.count("=== nbgrader --version") == 2, run.output
