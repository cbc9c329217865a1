"""The instructor's course directory and its settings (``hepdl-course init``, ``student-config``).

A course directory lives outside the repository: nbgrader writes the gradebook, the
submissions and the graded notebooks there. ``init`` writes ``nbgrader_config.py`` (from
:func:`hepdl_course.nbgrader_course.make_course` plus the settings below), copies the sources
from ``solutions/`` and records what it was told in ``hepdl-course.json``, so that a re-run and
every later command use the same settings.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["CourseSettings", "InstructorError", "course_path", "init_course", "load_settings",
           "sqlite_path", "student_config"]

SETTINGS_FILE = "hepdl-course.json"

CONFIG_EXTRA = """
# --- hepdl-course instructor settings (written by `hepdl-course init`; re-run it to change) ---
c.Exchange.root = {exchange!r}
c.LateSubmissionPlugin.penalty_method = {late_penalty!r}
c.AssignLatePenalties.plugin_class = "hepdl_course.late.GracePeriodPlugin"
c.GracePeriodPlugin.grace_seconds = {grace_seconds!r}
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
"""

STUDENT_CONFIG = """\
# nbgrader settings for the students' Jupyter servers (e.g. /etc/jupyter/nbgrader_config.py on
# the hub's user image): where to fetch assignments from and submit them to.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
"""


class InstructorError(RuntimeError):
    """An instructor command cannot go on; the message says why and what to do."""


@dataclass
class CourseSettings:
    """What ``init`` was told; stored in ``COURSE_DIR/hepdl-course.json``."""

    repo: str
    course_id: str = "hepdl"
    db_url: str = ""                 # empty: SQLite, COURSE_DIR/gradebook.db
    exchange: str = ""               # empty: COURSE_DIR/exchange
    timeout: int = 600               # seconds per cell
    late_penalty: str = "none"       # nbgrader's LateSubmissionPlugin: "none" or "zero"
    grace_minutes: float = 0.0       # no penalty for a submission late by at most this
    student_timeout: int = 3600      # wall-clock seconds per student (all cells, restarts)
    max_output_chars: int = 100_000  # per output, in the graded notebook and the feedback

    def db(self, course_dir: Path) -> str:
        """The gradebook's SQLAlchemy URL."""
        return self.db_url or f"sqlite:///{Path(course_dir) / 'gradebook.db'}"

    def exchange_dir(self, course_dir: Path) -> Path:
        """The nbgrader exchange folder (shared with the students' servers)."""
        return Path(self.exchange) if self.exchange else Path(course_dir) / "exchange"


def course_path(course_dir: str | os.PathLike) -> Path:
    """``course_dir`` as an absolute path, ``~`` expanded and links resolved."""
    return Path(course_dir).expanduser().resolve()


def sqlite_path(db_url: str) -> str | None:
    """The file of an SQLite gradebook URL (real path), or None for a database server.

    >>> sqlite_path("postgresql://grader@db/hepdl") is None
    True
    """
    if db_url.startswith("sqlite:///"):
        return os.path.realpath(db_url[len("sqlite:///"):])
    return None


def load_settings(course_dir: str | os.PathLike) -> CourseSettings:
    """The settings of an initialised course directory; :class:`InstructorError` if it is not one."""
    course_dir = course_path(course_dir)
    path = course_dir / SETTINGS_FILE
    if not path.is_file():
        raise InstructorError(f"{course_dir} is not a course directory (no {SETTINGS_FILE}); "
                              f"create it with: hepdl-course init {course_dir}")
    data = json.loads(path.read_text())
    known = set(CourseSettings.__dataclass_fields__)
    return CourseSettings(**{k: v for k, v in data.items() if k in known})


def init_course(
    course_dir: str | os.PathLike,
    names: list[str] | None = None,
    *,
    repo: str | os.PathLike | None = None,
    course_id: str | None = None,
    db_url: str | None = None,
    exchange: str | os.PathLike | None = None,
    timeout: int | None = None,
    late_penalty: str | None = None,
    grace_minutes: float | None = None,
    student_timeout: int | None = None,
    max_output_chars: int | None = None,
) -> Path:
    """Create or update a course directory; settings not given keep their previous values.

    ``timeout`` and ``student_timeout`` are in seconds (per cell, per student); ``grace_minutes``
    is how late a submission may be without a penalty (:mod:`hepdl_course.late`).
    """
    from hepdl_course import course
    from hepdl_course.nbgrader_course import make_course

    course_dir = course_path(course_dir)
    previous = load_settings(course_dir) if (course_dir / SETTINGS_FILE).is_file() else None
    repo_root = Path(repo).resolve() if repo else (Path(previous.repo) if previous else course.repo_root())
    if course_dir.is_relative_to(repo_root):
        raise InstructorError(f"the course directory {course_dir} must be outside the repository "
                              f"{repo_root} (nbgrader writes gradebooks and submissions there)")
    settings = previous or CourseSettings(repo=str(repo_root))
    settings.repo = str(repo_root)
    for key, value in dict(course_id=course_id, db_url=db_url, timeout=timeout,
                           late_penalty=late_penalty, grace_minutes=grace_minutes,
                           student_timeout=student_timeout,
                           max_output_chars=max_output_chars).items():
        if value is not None:
            setattr(settings, key, value)
    if exchange is not None:
        settings.exchange = str(Path(exchange).expanduser().resolve()) if str(exchange) else ""
    if settings.late_penalty not in ("none", "zero"):
        raise InstructorError(f"late penalty must be 'none' or 'zero', got {settings.late_penalty!r}")
    if not settings.grace_minutes >= 0:
        raise InstructorError(f"the grace period must be 0 or more minutes, got {settings.grace_minutes!r}")
    selected = ([course.find(name, repo_root) for name in names] if names
                else course.assignments(repo_root))
    make_course(course_dir, selected, course_id=settings.course_id,
                db_url=settings.db(course_dir), timeout=int(settings.timeout))
    config = course_dir / "nbgrader_config.py"
    exchange_dir = settings.exchange_dir(course_dir)
    config.write_text(config.read_text() + CONFIG_EXTRA.format(
        exchange=str(exchange_dir), late_penalty=settings.late_penalty,
        grace_seconds=60.0 * settings.grace_minutes))
    exchange_dir.mkdir(parents=True, exist_ok=True)
    (course_dir / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2) + "\n")
    if "@" in settings.db_url:   # a server URL may carry a password
        for path in (config, course_dir / SETTINGS_FILE):
            path.chmod(0o600)
    return course_dir


def student_config(course_dir: str | os.PathLike) -> str:
    """The ``nbgrader_config.py`` students' servers need to fetch and submit."""
    course_dir = course_path(course_dir)
    settings = load_settings(course_dir)
    return STUDENT_CONFIG.format(course_id=settings.course_id,
                                 exchange=str(settings.exchange_dir(course_dir)))
