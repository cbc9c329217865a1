"""Generate the student notebooks (`preexercises/`, `lessons/`) from `solutions/` with nbgrader.

nbgrader's ``generate_assignment`` replaces solution regions with a stub that raises
``NotImplementedError``, removes hidden tests, strips outputs and records checksums of the
locked cells. The sources are checked first: malformed nbgrader metadata stops the release with
a message naming the notebook and the cell.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hepdl_course.checks import nbgrader_problems, read_notebook
from hepdl_course.course import Assignment
from hepdl_course.course import assignments as course_assignments
from hepdl_course.nbgrader_course import make_course, nbgrader

__all__ = ["ReleaseError", "differences", "generate", "release"]


class ReleaseError(RuntimeError):
    """A source notebook cannot be released; the message says which notebook and cell."""


def _validate(assignments: Sequence[Assignment]) -> None:
    problems = []
    for assignment in assignments:
        nb, read = read_notebook(assignment.notebook)
        problems += read
        if nb is not None:
            problems += nbgrader_problems(assignment.notebook.relative_to(assignment.root), nb)
    if problems:
        raise ReleaseError("release stopped; fix these source notebooks:\n  "
                           + "\n  ".join(str(p) for p in problems))


def generate(assignments: Sequence[Assignment], out_dir: Path) -> dict[str, Path]:
    """Generate student versions into ``out_dir/<section>/<name>/``; return name -> folder."""
    _validate(assignments)
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="hepdl-release-") as tmp:
        course = make_course(Path(tmp) / "course", assignments)
        result = {}
        for assignment in assignments:
            nbgrader(course, ["generate_assignment", assignment.name, "--force"])
            target = out_dir / assignment.section / assignment.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course / "release" / assignment.name, target)
            result[assignment.name] = target
    return result


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def differences(assignments: Sequence[Assignment], generated_root: Path) -> list[str]:
    """Files that differ between the committed student folders and a fresh generation."""
    found = []
    for assignment in assignments:
        fresh = generated_root / assignment.section / assignment.name
        committed = assignment.release_dir
        names = _tree(fresh) | _tree(committed)
        for name in sorted(names):
            a, b = fresh / name, committed / name
            if not a.exists():
                found.append(f"{committed / name} is not generated from solutions/ (stale?)")
            elif not b.exists():
                found.append(f"{committed / name} is missing")
            elif not filecmp.cmp(a, b, shallow=False):
                found.append(f"{committed / name} differs from solutions/{assignment.name}")
    return found


def release(assignments: Sequence[Assignment]) -> list[Path]:
    """Regenerate the committed student folders; remove released folders whose source is gone."""
    root = assignments[0].root if assignments else None
    with tempfile.TemporaryDirectory(prefix="hepdl-release-out-") as tmp:
        made = generate(assignments, Path(tmp))
        written = []
        for assignment in assignments:
            target = assignment.release_dir
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(made[assignment.name], target)
            written.append(target)
    if root is not None:
        names = {a.name for a in course_assignments(root)}
        for section in ("preexercises", "lessons"):
            folder = root / section
            for child in folder.iterdir() if folder.exists() else []:
                if child.is_dir() and child.name not in names:
                    shutil.rmtree(child)
    return written
