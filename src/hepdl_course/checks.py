"""Checks of the source notebooks: nbgrader metadata, header, parameters, no outputs, budgets, bands.

Each problem names the notebook and the cell (index and grade_id) so that an author can fix it
without guessing. :func:`nbgrader_problems` is what `make release` runs before nbgrader, so a
malformed source stops the release with a readable message rather than a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from hepdl_course.course import Assignment

__all__ = ["Grading", "Problem", "band_problems", "budget_problems", "course_problems", "grading",
           "header_problems", "nbgrader_problems", "read_notebook", "reading_minutes"]

REQUIRED = {"schema_version", "grade_id", "solution", "grade", "locked"}
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
HEADER_PARTS = ("what you will learn", "prerequisites", "budget")
MIN_GRADED = {"preexercises": 3, "lessons": 1}
#: the tag of a design task's test cell (CONTRIBUTING.md, "Graded exercises")
DESIGN_TAG = "design"
#: Budgets (issue 14): a newcomer reads ~150-200 words a minute; a lesson fits a 90-minute slot;
#: Binder gives the whole server 2 GB, and JupyterLab's server itself holds ~140 MB (measured:
#: 136 MB after the page's first requests, nbgrader's extensions loaded, no kernel).
WORDS_PER_MINUTE = 175
MAX_MINUTES = 90
BINDER_MB, LAB_SERVER_MB = 2048, 150
#: a notebook whose kernel needs more tells the student to shut finished kernels down
SHUTDOWN_NOTE_MB = 1024
#: results named so are fractions (accuracies, AUCs, efficiencies, confusions): a band of [0, 1]
#: or wider admits every value they can take, so it is a test that cannot fail
FRACTION = re.compile(r"accuracy|auc|fraction|efficiency|precision|recall|iou|rejection|_as_")


@dataclass(frozen=True)
class Problem:
    notebook: str
    cell: int | None
    message: str

    def __str__(self) -> str:
        where = self.notebook if self.cell is None else f"{self.notebook}, cell {self.cell}"
        return f"{where}: {self.message}"


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, list[Problem]]:
    """Read and validate a notebook; a broken file gives a problem instead of an exception."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, UnicodeDecodeError) as err:
        return None, [Problem(str(path), None, f"not a valid notebook file ({err})")]
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        return nb, [Problem(str(path), None, f"fails the nbformat schema: {err.message}")]
    return nb, []


def nbgrader_problems(path: Path, nb: nbformat.NotebookNode) -> list[Problem]:
    """nbgrader schema-3 metadata and solution / hidden-test markers of one notebook."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}

    def add(index: int, grade_id: str | None, message: str) -> None:
        name = f" ({grade_id})" if grade_id else ""
        problems.append(Problem(str(path), index, f"{message}{name}"))

    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        source = cell.get("source", "")
        has_solution = "### BEGIN SOLUTION" in source or "### END SOLUTION" in source
        has_hidden = "### BEGIN HIDDEN TESTS" in source or "### END HIDDEN TESTS" in source
        if meta is None:
            if has_solution or has_hidden:
                add(index, None, "has solution or hidden-test markers but no nbgrader metadata")
            continue
        if not isinstance(meta, dict):
            add(index, None, f"nbgrader metadata must be an object, got {type(meta).__name__}")
            continue
        grade_id = meta.get("grade_id")
        missing = REQUIRED - set(meta)
        if missing:
            add(index, grade_id, f"nbgrader metadata lacks {sorted(missing)}")
            continue
        if meta["schema_version"] != 3:
            add(index, grade_id, f"nbgrader schema_version must be 3, got {meta['schema_version']!r}")
        for key in ("solution", "grade", "locked"):
            if not isinstance(meta[key], bool):
                add(index, grade_id, f"nbgrader '{key}' must be true or false, got {meta[key]!r}")
        if not isinstance(grade_id, str) or not GRADE_ID.match(grade_id):
            add(index, None, f"grade_id must be letters, digits, '_' or '-', got {grade_id!r}")
        elif grade_id in seen:
            add(index, None, f"grade_id {grade_id!r} already used in cell {seen[grade_id]}")
        else:
            seen[grade_id] = index
        if meta.get("grade") is True:
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
                add(index, grade_id, f"graded cell needs positive 'points', got {points!r}")
        if meta.get("solution") is True and cell.cell_type == "code" and meta.get("grade") is False:
            if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
                add(index, grade_id, "answer cell lacks '### BEGIN SOLUTION' / '### END SOLUTION'")
        if has_solution and not meta.get("solution"):
            add(index, grade_id, "solution markers in a cell whose metadata says solution: false")
        if source.count("### BEGIN SOLUTION") != source.count("### END SOLUTION"):
            add(index, grade_id, "unbalanced BEGIN/END SOLUTION markers")
        if DESIGN_TAG in cell.get("metadata", {}).get("tags", []) and not meta.get("grade"):
            add(index, grade_id, f"the '{DESIGN_TAG}' tag belongs on a design task's graded test cell")
        if has_hidden and not (meta.get("grade") and cell.cell_type == "code"):
            add(index, grade_id, "hidden tests outside a graded code cell")
        if source.count("### BEGIN HIDDEN TESTS") != source.count("### END HIDDEN TESTS"):
            add(index, grade_id, "unbalanced BEGIN/END HIDDEN TESTS markers")
    return problems


@dataclass(frozen=True)
class Grading:
    """What a notebook grades: all points, those of design tasks, and the self-checked warm-ups."""

    points: float
    design_points: float
    warmups: int

    def __str__(self) -> str:
        design = f" ({self.design_points:g} in design tasks)" if self.design_points else ""
        return f"{self.points:g} points{design}, {self.warmups} warm-up{'s' if self.warmups != 1 else ''}"


def grading(nb: nbformat.NotebookNode) -> Grading:
    """Points of the graded cells, of those tagged ``design``, and answer cells with no graded test."""
    points = design = 0.0
    graded, answers = set(), []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if meta.get("grade") and isinstance(meta.get("points"), (int, float)):
            points += meta["points"]
            graded.add(meta.get("grade_id"))
            if DESIGN_TAG in cell.get("metadata", {}).get("tags", []):
                design += meta["points"]
        elif meta.get("solution") and cell.cell_type == "code":
            answers.append(meta.get("grade_id"))
    return Grading(points, design, sum(f"{a}_tests" not in graded for a in answers))


def header_problems(path: Path, nb: nbformat.NotebookNode) -> list[Problem]:
    """The course conventions: header cell, `parameters` cell, no outputs, kernel."""
    problems: list[Problem] = []
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        problems.append(Problem(str(path), 0, "the first cell must be markdown starting with '# Title'"))
    else:
        text = cells[0].source.lower()
        for part in HEADER_PARTS:
            if part not in text:
                problems.append(Problem(str(path), 0, f"the header cell must say '{part.title()}'"))
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1 or cells[tagged[0]].cell_type != "code":
        problems.append(Problem(str(path), None, "exactly one code cell must be tagged 'parameters'"))
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(Problem(str(path), index, "has outputs or an execution count (strip them)"))
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(Problem(str(path), None, f"kernelspec name must be 'python3', got {kernel!r}"))
    return problems


def reading_minutes(nb: nbformat.NotebookNode) -> float:
    """Minutes a newcomer needs to read the notebook's prose, at :data:`WORDS_PER_MINUTE`."""
    words = sum(len(re.findall(r"[^\W_]+", cell.source)) for cell in nb.cells
                if cell.cell_type == "markdown")
    return words / WORDS_PER_MINUTE


def budget_problems(path: Path, assignment: Assignment, nb: nbformat.NotebookNode) -> list[Problem]:
    """The stated budget against what was measured: ``minutes`` covers the reading and the
    student-tier run (``[student]`` in assignment.toml, measured by benchmarks/autograde.py),
    stays within a 90-minute slot, and the student tier fits Binder beside JupyterLab."""
    problems: list[Problem] = []
    if assignment.minutes > MAX_MINUTES:
        problems.append(Problem(str(path), None, f"minutes = {assignment.minutes} is longer than a "
                                f"{MAX_MINUTES}-minute slot: split the lesson"))
    if assignment.student_seconds is None or assignment.student_memory_mb is None:
        problems.append(Problem(str(path), None, "assignment.toml needs [student] seconds and memory_mb, "
                                "measured with `python benchmarks/autograde.py --tier student NAME`"))
        return problems
    reading = reading_minutes(nb)
    needed = reading + assignment.student_seconds / 60
    if assignment.minutes < round(needed):
        problems.append(Problem(str(path), None, (
            f"minutes = {assignment.minutes} is less than the reading ({reading:.0f} min at "
            f"{WORDS_PER_MINUTE} words a minute) plus the student-tier run "
            f"({assignment.student_seconds:.0f} s): {needed:.0f} min before any exercise")))
    if assignment.student_memory_mb + LAB_SERVER_MB > BINDER_MB:
        problems.append(Problem(str(path), None, (
            f"the student tier needs {assignment.student_memory_mb:.0f} MB: with JupyterLab's "
            f"{LAB_SERVER_MB} MB it does not fit Binder's {BINDER_MB} MB")))
    header = nb.cells[0].source.lower() if nb.cells else ""
    if assignment.student_memory_mb > SHUTDOWN_NOTE_MB and "shut down" not in header:
        problems.append(Problem(str(path), 0, (
            f"the student tier needs {assignment.student_memory_mb:.0f} MB: the header's budget must "
            "tell the student to shut down the kernels of finished lessons")))
    return problems


def band_problems(path: Path, assignment: Assignment) -> list[Problem]:
    """``[expect]`` bands that cannot fail: a fraction's band that holds all of [0, 1]."""
    return [Problem(str(path), None, (
                f"[expect] {name} = [{low:g}, {high:g}] admits every value a fraction can take: narrow "
                "it to what the ci run measures (several data seeds), or drop it and say in the toml "
                "why the ci tier cannot measure it"))
            for name, (low, high) in assignment.expect.items()
            if FRACTION.search(name) and low <= 0.0 and high >= 1.0]


def course_problems(every: Iterable[Assignment]) -> list[Problem]:
    """All checks over the course, including grade_ids unique across assignments."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for assignment in every:
        path = assignment.notebook.relative_to(assignment.root)
        nb, read = read_notebook(assignment.notebook)
        problems += [Problem(str(path), p.cell, p.message) for p in read]
        if nb is None:
            continue
        problems += nbgrader_problems(path, nb)
        problems += header_problems(path, nb)
        problems += budget_problems(path, assignment, nb)
        problems += band_problems(path.parent / "assignment.toml", assignment)
        graded = 0
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader") or {}
            grade_id = meta.get("grade_id")
            if meta.get("grade"):
                graded += 1
            if isinstance(grade_id, str):
                if seen.setdefault(grade_id, str(path)) != str(path):
                    problems.append(Problem(str(path), index,
                                            f"grade_id {grade_id!r} already used in {seen[grade_id]}"))
        needed = MIN_GRADED[assignment.section]
        if graded < needed:
            problems.append(Problem(str(path), None,
                                    f"{assignment.section} need at least {needed} graded cells, found {graded}"))
    return problems
