"""The grades in the gradebook: exported to CSV (``grades``), graded by hand (``formgrader``)."""

from __future__ import annotations

import os
from pathlib import Path

from hepdl_course import nbgrader_batch
from hepdl_course.lab import jupyter_lab_command
from hepdl_course.settings import InstructorError, course_path, load_settings

__all__ = ["export_grades", "formgrader_command"]


def export_grades(course_dir: str | os.PathLike, to: str | os.PathLike | None = None) -> Path:
    """Export every grade in the gradebook to CSV (nbgrader's export: one row per submission).

    Writes ``to`` (default ``COURSE_DIR/grades.csv``) and returns its path.
    """
    course_dir = course_path(course_dir)
    load_settings(course_dir)
    target = Path(to).expanduser().resolve() if to else course_dir / "grades.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    proc = nbgrader_batch.run(course_dir, ["export", f"--to={target}"])
    if proc.returncode:
        raise InstructorError(f"nbgrader export failed:\n{proc.failure()}")
    return target


def formgrader_command(course_dir: str | os.PathLike, *, port: int = 8889, open_browser: bool = False,
                       token: str | None = None) -> list[str]:
    """The Jupyter server command that serves nbgrader's formgrader for ``course_dir``.

    Run it in ``course_dir`` with :func:`hepdl_course.nbgrader_course.nbgrader_env`.
    """
    course_dir = course_path(course_dir)
    load_settings(course_dir)
    return jupyter_lab_command(course_dir, default_url="/formgrader", port=port,
                               open_browser=open_browser, token=token)
