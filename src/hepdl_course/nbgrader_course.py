"""A throw-away nbgrader course directory, and running nbgrader's commands in it.

The repository is not an nbgrader course directory: its sources live in ``solutions/`` and its
student versions in ``preexercises/`` and ``lessons/``. Releasing and the grading tests build a
course directory elsewhere (a temporary folder), copy the sources in and run nbgrader's own
command line there, so nothing nbgrader writes (gradebook, release/, autograded/) lands in the
repository. The configuration it writes sets nbgrader's feedback preprocessors to
:func:`hepdl_course.preprocessors.feedback_preprocessors`: feedback pages show a line in place
of each hidden test region and, for a failed test cell, only the exception's type and message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from hepdl_course.course import Assignment

__all__ = ["IGNORED", "NbgraderError", "make_course", "nbgrader", "nbgrader_env"]

# Files of a source folder that never reach students.
IGNORED = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
    "assignment.toml", "results.json", "*.h5", "*.partial",
]

CONFIG = """\
c = get_config()  # noqa: F821  (nbgrader's config loader provides it)
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.ignore = {ignore!r}
c.CourseDirectory.include = ["*"]
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ExecutePreprocessor.timeout = {timeout}
c.Execute.timeout = {timeout}
c.Execute.kernel_name = "python3"
# Feedback pages without the hidden tests (the graded notebooks and the gradebook keep them).
from hepdl_course.preprocessors import feedback_preprocessors  # noqa: E402
c.GenerateFeedback.preprocessors = feedback_preprocessors()
"""


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries its output."""


def nbgrader_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for nbgrader: this interpreter's bin first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.update(extra or {})
    return env


def make_course(
    course_dir: Path,
    assignments: Iterable[Assignment],
    *,
    course_id: str = "hepdl",
    db_url: str | None = None,
    timeout: int = 600,
) -> Path:
    """Create an nbgrader course directory with the given assignments in ``source/``."""
    course_dir = Path(course_dir).resolve()
    source = course_dir / "source"
    source.mkdir(parents=True, exist_ok=True)
    for assignment in assignments:
        target = source / assignment.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(assignment.source_dir, target,
                        ignore=shutil.ignore_patterns(*IGNORED))
    db_url = db_url or f"sqlite:///{course_dir / 'gradebook.db'}"
    (course_dir / "nbgrader_config.py").write_text(
        CONFIG.format(root=str(course_dir), course_id=course_id, db_url=db_url,
                      ignore=IGNORED, timeout=timeout)
    )
    return course_dir


def nbgrader(
    course_dir: Path,
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course_dir``; raise :class:`NbgraderError` on failure if ``check``."""
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        env=nbgrader_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise NbgraderError(
            f"nbgrader {' '.join(args)} failed (exit {proc.returncode}) in {course_dir}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc
