"""The grading round trip: release, submit, autograde, feedback and export in a course directory.

Used by the tests on every assignment: the source notebook submitted as it is must earn full
marks, the untouched student version zero autograded points, and both must get feedback HTML.
Submissions may have a tier's parameters injected (papermill's injected-parameters cell, which
nbgrader leaves alone) so that grading runs on small data.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from hepdl_course.course import Assignment
from hepdl_course.nbgrader_course import make_course, nbgrader

__all__ = ["Grade", "inject_parameters", "read_grades", "roundtrip", "submit"]


@dataclass(frozen=True)
class Grade:
    assignment: str
    student: str
    score: float
    max_score: float
    feedback: Path | None


def inject_parameters(path: Path, parameters: dict[str, Any]) -> None:
    """Add papermill's injected-parameters cell after the ``parameters`` cell, in place."""
    if not parameters:
        return
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(path)), parameters)
    nbformat.write(nb, path)


def submit(course_dir: Path, student: str, assignment: Assignment, notebook: Path,
           parameters: dict[str, Any] | None = None) -> Path:
    """Place ``notebook`` as ``student``'s submission of ``assignment``."""
    folder = Path(course_dir) / "submitted" / student / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{assignment.name}.ipynb"
    shutil.copyfile(notebook, target)
    inject_parameters(target, parameters or {})
    return target


def read_grades(course_dir: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(assignment, student) -> (score, max_score), read from the gradebook."""
    from nbgrader.api import Gradebook

    db_url = f"sqlite:///{Path(course_dir) / 'gradebook.db'}"
    grades = {}
    with Gradebook(db_url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                grades[(assignment.name, submission.student.id)] = (
                    float(submission.score), float(submission.max_score))
    return grades


def roundtrip(
    assignments: Sequence[Assignment],
    course_dir: Path,
    *,
    tier: str = "ci",
    data_dir: Path | None = None,
    results_path: Path | None = None,
) -> tuple[list[Grade], Path]:
    """Grade the solution and the untouched student version of every assignment.

    Returns the grades (students ``solution`` and ``untouched``) and the exported CSV.
    """
    course_dir = make_course(course_dir, assignments)
    env = {"HEPDL_DATA_DIR": str(Path(data_dir or assignments[0].root / "datasets").resolve()),
           "HEPDL_RESULTS": str(results_path or course_dir / "results.json")}
    for assignment in assignments:
        nbgrader(course_dir, ["generate_assignment", assignment.name, "--force"])
        params = assignment.tier_parameters(tier)
        submit(course_dir, "solution", assignment, assignment.notebook, params)
        student_version = course_dir / "release" / assignment.name / f"{assignment.name}.ipynb"
        submit(course_dir, "untouched", assignment, student_version, params)
        nbgrader(course_dir, ["autograde", assignment.name, "--force"], env=env)
        nbgrader(course_dir, ["generate_feedback", assignment.name, "--force"], env=env)
    export = course_dir / "grades.csv"
    nbgrader(course_dir, ["export", f"--to={export}"])
    grades = []
    for (name, student), (score, max_score) in sorted(read_grades(course_dir).items()):
        html = course_dir / "feedback" / student / name / f"{name}.html"
        grades.append(Grade(name, student, score, max_score, html if html.exists() else None))
    return grades, export


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of nbgrader's exported grades CSV."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
