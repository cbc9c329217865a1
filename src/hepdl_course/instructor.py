"""Instructor commands: grade the course with nbgrader in a course directory outside the repository.

The steps, each a command of ``hepdl-course`` (see docs/instructor-guide.md)::

    init COURSE_DIR            a course directory: nbgrader_config.py, source/ from solutions/
    release-course COURSE_DIR NAME...   generate the student version, release it to the exchange
    collect COURSE_DIR NAME    collect submissions from the exchange, or import a folder of them
    autograde COURSE_DIR NAME  grade every submission, one student at a time, and report
    feedback COURSE_DIR NAME   feedback HTML, released to the exchange
    grades COURSE_DIR          export the grades as CSV
    formgrader COURSE_DIR      manual grading in nbgrader's formgrader
    student-config COURSE_DIR  the nbgrader_config.py that students' servers need

A grading run must finish, grade everyone and lose nothing, whatever students submit:

- *Pre-flight*: before nbgrader sees a submission, :func:`preflight` keeps a copy of the
  original in ``originals/``, renames a notebook submitted under the wrong name, restores
  deleted test cells and tampered nbgrader metadata from the released notebook, and replaces a
  file that is not a notebook (invalid JSON, empty) by the untouched student version with a
  note, so that it earns 0 points and still gets a feedback page saying why.
- *One student at a time*: nbgrader runs in a worker process that grades one student per
  request; a student that hangs past ``student_timeout`` or kills the worker is reported as
  failed and the worker is restarted for the others.
- *Resilient execution*: a cell that kills the kernel (``os._exit``, a segfault) or cannot be
  interrupted after the per-cell timeout is marked with an error; the kernel is restarted, the
  cells above are run again and grading goes on, so the other cells still count.
- *A confined kernel*: the kernel that runs a submission cannot open the course directory (the
  gradebook, the sources with their solutions and hidden tests, other students' work), the
  exchange or the repository's ``solutions/``, and writes only in its own working folder and
  TMPDIR (no submission can change the libraries, the data or the settings the next one uses):
  Linux Landlock where the kernel offers it (it also binds the programs the notebook starts,
  and refuses outgoing TCP connections and signals to other processes), and always a Python
  audit hook (which, without Landlock, also refuses starting programs). Programs a notebook
  leaves running are stopped before the next student.
- *Bounded output*: outputs over ``max_output_chars`` are cut in the graded notebook and the
  feedback.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import datetime as _dt
import hashlib
import json
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CourseSettings", "Feedback", "InstructorError", "StudentResult", "autograde", "collect",
    "export_grades", "feedback", "formgrader_command", "import_submissions", "init_course",
    "load_settings", "preflight", "release_course", "student_config",
]

SETTINGS_FILE = "hepdl-course.json"
ORIGINALS = "originals"
REPORTS = "reports"
NOTE_KEY = "hepdl_grader"          # notebook/cell metadata key of the grader's notes
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"   # what `nbgrader submit` writes (in UTC)
MAX_NOTEBOOK_BYTES = 200_000_000                 # a larger submission is kept, not graded

# Environment handed from the grading worker to the confined kernel (and removed there).
_PROTECT_ENV = "HEPDL_GRADE_PROTECT"
_SCRATCH_ENV = "HEPDL_GRADE_SCRATCH"
LANDLOCK_ENV = "HEPDL_GRADE_LANDLOCK"   # "0" turns Landlock off (the audit hook stays)

CONFIG_EXTRA = """
# --- hepdl-course instructor settings (written by `hepdl-course init`; re-run it to change) ---
c.Exchange.root = {exchange!r}
c.LateSubmissionPlugin.penalty_method = {late_penalty!r}
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


# --------------------------------------------------------------------------------------------
# The course directory and its settings
# --------------------------------------------------------------------------------------------

@dataclass
class CourseSettings:
    """What ``init`` was told; stored in ``COURSE_DIR/hepdl-course.json``."""

    repo: str
    course_id: str = "hepdl"
    db_url: str = ""                 # empty: SQLite, COURSE_DIR/gradebook.db
    exchange: str = ""               # empty: COURSE_DIR/exchange
    timeout: int = 600               # seconds per cell
    late_penalty: str = "none"       # nbgrader's LateSubmissionPlugin: "none" or "zero"
    student_timeout: int = 3600      # wall-clock seconds per student (all cells, restarts)
    max_output_chars: int = 100_000  # per output, in the graded notebook and the feedback

    def db(self, course_dir: Path) -> str:
        return self.db_url or f"sqlite:///{Path(course_dir) / 'gradebook.db'}"

    def exchange_dir(self, course_dir: Path) -> Path:
        return Path(self.exchange) if self.exchange else Path(course_dir) / "exchange"


def _course_dir(course_dir: str | os.PathLike) -> Path:
    return Path(course_dir).expanduser().resolve()


def load_settings(course_dir: str | os.PathLike) -> CourseSettings:
    """The settings of an initialised course directory."""
    course_dir = _course_dir(course_dir)
    path = course_dir / SETTINGS_FILE
    if not path.is_file():
        raise InstructorError(f"{course_dir} is not a course directory (no {SETTINGS_FILE}); "
                              f"create it with: hepdl-course init {course_dir}")
    data = json.loads(path.read_text())
    known = {f for f in CourseSettings.__dataclass_fields__}
    return CourseSettings(**{k: v for k, v in data.items() if k in known})


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _sqlite_path(db_url: str) -> str | None:
    if db_url.startswith("sqlite:///"):
        return os.path.realpath(db_url[len("sqlite:///"):])
    return None


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
    student_timeout: int | None = None,
    max_output_chars: int | None = None,
) -> Path:
    """Create or update a course directory; settings not given keep their previous values."""
    from hepdl_course import course
    from hepdl_course.nbgrader_course import make_course

    course_dir = _course_dir(course_dir)
    previous = load_settings(course_dir) if (course_dir / SETTINGS_FILE).is_file() else None
    repo_root = Path(repo).resolve() if repo else (Path(previous.repo) if previous else course.repo_root())
    if _within(str(course_dir), str(repo_root)):
        raise InstructorError(f"the course directory {course_dir} must be outside the repository "
                              f"{repo_root} (nbgrader writes gradebooks and submissions there)")
    settings = previous or CourseSettings(repo=str(repo_root))
    settings.repo = str(repo_root)
    for key, value in dict(course_id=course_id, db_url=db_url, timeout=timeout,
                           late_penalty=late_penalty, student_timeout=student_timeout,
                           max_output_chars=max_output_chars).items():
        if value is not None:
            setattr(settings, key, value)
    if exchange is not None:
        settings.exchange = str(Path(exchange).expanduser().resolve()) if str(exchange) else ""
    if settings.late_penalty not in ("none", "zero"):
        raise InstructorError(f"late penalty must be 'none' or 'zero', got {settings.late_penalty!r}")
    selected = ([course.find(name, repo_root) for name in names] if names
                else course.assignments(repo_root))
    make_course(course_dir, selected, course_id=settings.course_id,
                db_url=settings.db(course_dir), timeout=int(settings.timeout))
    config = course_dir / "nbgrader_config.py"
    exchange_dir = settings.exchange_dir(course_dir)
    config.write_text(config.read_text() + CONFIG_EXTRA.format(
        exchange=str(exchange_dir), late_penalty=settings.late_penalty))
    exchange_dir.mkdir(parents=True, exist_ok=True)
    (course_dir / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2) + "\n")
    if "@" in settings.db_url:   # a server URL may carry a password
        for path in (config, course_dir / SETTINGS_FILE):
            path.chmod(0o600)
    return course_dir


def student_config(course_dir: str | os.PathLike) -> str:
    """The ``nbgrader_config.py`` students' servers need to fetch and submit."""
    course_dir = _course_dir(course_dir)
    settings = load_settings(course_dir)
    return STUDENT_CONFIG.format(course_id=settings.course_id,
                                 exchange=str(settings.exchange_dir(course_dir)))


@dataclass
class _Run:
    returncode: int
    stderr: str
    stdout: str = ""


@contextlib.contextmanager
def _callers_logging_kept():
    """Keep this process's logging handlers open while a traitlets application configures its own.

    traitlets configures logging with ``logging.config.dictConfig``, which closes every handler
    of the process first. absl's handler (imported with Keras) then closes its stream, which is
    whatever ``sys.stderr`` was when Keras was imported: under pytest, its capture file, whose
    loss ended the whole test session. Only the registry of named handlers is cleared here.
    """
    import logging.config

    saved = logging.config._clearExistingHandlers
    logging.config._clearExistingHandlers = logging._handlers.clear
    try:
        yield
    finally:
        logging.config._clearExistingHandlers = saved


def _nbgrader(course_dir: Path, *commands: list[str], keep_going: bool = False) -> _Run:
    """Run nbgrader command lines in ``course_dir``, in this process, output captured.

    Releasing, collecting, feedback and export run no student code; a command of ours imports
    nbgrader once for all of them. (Autograde runs students' code: it uses a worker process.)
    """
    import io
    import traceback
    import warnings

    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    buffer = io.StringIO()
    status = 0
    saved_path = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + saved_path   # alembic
    try:
        with contextlib.chdir(course_dir), _callers_logging_kept(), \
                contextlib.redirect_stderr(buffer), contextlib.redirect_stdout(buffer), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for args in commands:
                print(f"=== nbgrader {' '.join(args)}", file=buffer)
                NbGraderApp.clear_instance()
                app = NbGraderApp.instance()
                code = 0
                try:
                    app.initialize(list(args))
                    app.start()
                except NoStart:         # what jupyter_core raises once a subcommand has run
                    pass
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
                except Exception:  # noqa: BLE001 (reported like nbgrader's own failures)
                    traceback.print_exc(file=buffer)
                    code = 1
                finally:
                    if app.subapp is not None:
                        type(app.subapp).clear_instance()
                    NbGraderApp.clear_instance()
                if code:
                    print(f"=== failed with status {code}: nbgrader {' '.join(args)}", file=buffer)
                    status = code
                    if not keep_going:
                        break
    finally:
        os.environ["PATH"] = saved_path
    return _Run(status, buffer.getvalue())


def _nbgrader_failure(proc: _Run) -> str:
    text = proc.stdout + proc.stderr
    lines = [line for line in text.splitlines()
             if "ERROR" in line or "CRITICAL" in line or "Error" in line or line.startswith("=== failed")]
    return "\n".join(lines[-8:]) or text[-2000:]


# --------------------------------------------------------------------------------------------
# Releasing
# --------------------------------------------------------------------------------------------

def release_course(course_dir: str | os.PathLike, names: list[str], *, duedate: str | None = None,
                   force: bool = False, exchange: bool = True) -> list[Path]:
    """Refresh ``source/NAME`` from the repository, generate the student version and release it.

    ``duedate`` (e.g. ``"2026-07-03 18:00:00 UTC"``) is stored in the gradebook: collect and
    autograde compare submission timestamps with it. ``force`` re-releases to the exchange an
    assignment released before (students who fetched it keep their copy).
    """
    from hepdl_course import course
    from hepdl_course.nbgrader_course import IGNORED

    course_dir = _course_dir(course_dir)
    settings = load_settings(course_dir)
    if not names:
        raise InstructorError("name the assignment(s) to release")
    outbound = settings.exchange_dir(course_dir) / settings.course_id / "outbound"
    again = [n for n in names if exchange and not force and (outbound / n).is_dir()]
    if again:
        raise InstructorError(f"{', '.join(again)} was released before: add --force to release it "
                              "again (students who fetched it keep their copy)")
    commands = []
    for name in names:
        assignment = course.find(name, settings.repo)
        target = course_dir / "source" / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(assignment.source_dir, target, ignore=shutil.ignore_patterns(*IGNORED))
        if duedate:
            commands.append(["db", "assignment", "add", name, f"--duedate={duedate}"])
        commands.append(["generate_assignment", name, "--force"])
        if exchange:
            commands.append(["release_assignment", name] + (["--force"] if force else []))
    proc = _nbgrader(course_dir, *commands)
    if proc.returncode:
        hint = ("\nIt was released before: add --force to release it again (students who "
                "fetched it keep their copy)." if "Destination already exists" in proc.stderr else "")
        raise InstructorError(f"release stopped:\n{_nbgrader_failure(proc)}{hint}")
    return [course_dir / "release" / name for name in names]


# --------------------------------------------------------------------------------------------
# Collecting
# --------------------------------------------------------------------------------------------

def _read_timestamp(folder: Path) -> _dt.datetime | None:
    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    try:
        from dateutil import parser, tz

        value = parser.parse(path.read_text().strip())
    except (ValueError, OverflowError):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(tz.UTC).replace(tzinfo=None)
    return value


def _format_timestamp(value: _dt.datetime) -> str:
    return value.strftime(TIMESTAMP_FORMAT)


def _submissions(course_dir: Path, assignment: str) -> dict[str, Path]:
    submitted = course_dir / "submitted"
    if not submitted.is_dir():
        return {}
    return {p.parent.name: p for p in sorted(submitted.glob(f"*/{assignment}")) if p.is_dir()}


def _slug(folder: Path) -> str:
    stamp = _read_timestamp(folder)
    if stamp is not None:
        return stamp.strftime("%Y%m%dT%H%M%S%f")
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return "untimed-" + digest.hexdigest()[:12]


def keep_original(course_dir: Path, student: str, assignment: str, folder: Path) -> Path:
    """Copy a submission folder to ``originals/STUDENT/ASSIGNMENT/<timestamp>/`` (once)."""
    target = course_dir / ORIGINALS / student / assignment / _slug(folder)
    if not target.exists():
        shutil.copytree(folder, target)
    return target


@dataclass
class Collected:
    student: str
    status: str            # "new", "updated", "unchanged", "kept newer", "late"...
    timestamp: str | None
    late: bool = False


def import_submissions(course_dir: str | os.PathLike, assignment: str,
                       folder: str | os.PathLike) -> list[Collected]:
    """Import ``FOLDER/STUDENT/ASSIGNMENT/...`` (or ``FOLDER/STUDENT/*.ipynb``) into ``submitted/``.

    The submission's time is its ``timestamp.txt`` if it has one, else the newest modification
    time of its files. A later submission replaces an earlier one (the earlier is kept in
    ``originals/``); an earlier or equal one is left out and reported.
    """
    course_dir = _course_dir(course_dir)
    load_settings(course_dir)
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise InstructorError(f"no folder {folder}")
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = student_dir.name
        if "+" in student or student.startswith("-"):
            raise InstructorError(f"student id {student!r} in {folder}: ids may not contain '+' "
                                  "or start with '-'")
        source = student_dir / assignment
        if not source.is_dir():
            if any(student_dir.glob("*.ipynb")):
                source = student_dir
            else:
                continue
        stamp = _read_timestamp(source)
        if stamp is None:
            mtimes = [p.stat().st_mtime for p in source.rglob("*") if p.is_file()]
            stamp = _dt.datetime.fromtimestamp(max(mtimes) if mtimes else source.stat().st_mtime,
                                               _dt.timezone.utc).replace(tzinfo=None)
        dest = course_dir / "submitted" / student / assignment
        status = "new"
        if dest.exists():
            existing = _read_timestamp(dest)
            if existing is not None and existing >= stamp:
                found.append(Collected(student, "kept the newer submission already collected",
                                       _format_timestamp(existing)))
                continue
            keep_original(course_dir, student, assignment, dest)
            shutil.rmtree(dest)
            status = "updated"
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        (dest / "timestamp.txt").write_text(_format_timestamp(stamp))
        found.append(Collected(student, status, _format_timestamp(stamp)))
    return found


def _duedate(course_dir: Path, assignment: str) -> _dt.datetime | None:
    """The due date in the gradebook (naive UTC), read without importing nbgrader."""
    settings = load_settings(course_dir)
    path = _sqlite_path(settings.db(course_dir))
    if path is None or not os.path.exists(path):
        return None
    import sqlite3
    from urllib.parse import quote

    with contextlib.closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)) as con:
        try:
            row = con.execute("SELECT duedate FROM assignment WHERE name = ?", (assignment,)).fetchone()
        except sqlite3.Error:
            return None
    if not row or not row[0]:
        return None
    return _dt.datetime.fromisoformat(str(row[0]))


def collect(course_dir: str | os.PathLike, assignment: str, *, from_dir: str | os.PathLike | None = None,
            before_duedate: bool = False) -> list[Collected]:
    """Collect submissions: from the exchange (``nbgrader collect``) or from a folder.

    From the exchange, the latest submission of each student wins (``--update``); with
    ``before_duedate`` the latest one before the due date (nbgrader's ``--before-duedate``).
    Every submission stays in the exchange's inbound folder.
    """
    course_dir = _course_dir(course_dir)
    load_settings(course_dir)
    before = {s: _read_timestamp(p) for s, p in _submissions(course_dir, assignment).items()}
    if from_dir is not None:
        records = import_submissions(course_dir, assignment, from_dir)
    else:
        for student, path in _submissions(course_dir, assignment).items():
            keep_original(course_dir, student, assignment, path)   # collect --update replaces it
        args = ["collect", assignment] + (["--before-duedate"] if before_duedate else ["--update"])
        proc = _nbgrader(course_dir, args)
        if proc.returncode:
            raise InstructorError(f"nbgrader collect {assignment} failed:\n{_nbgrader_failure(proc)}")
        records = []
        for student, path in _submissions(course_dir, assignment).items():
            stamp = _read_timestamp(path)
            status = ("new" if student not in before else
                      "unchanged" if before[student] == stamp else "updated")
            records.append(Collected(student, status, stamp and _format_timestamp(stamp)))
    due = _duedate(course_dir, assignment)
    for record in records:
        stamp = _read_timestamp(course_dir / "submitted" / record.student / assignment)
        record.late = bool(due and stamp and stamp > due)
    return records


# --------------------------------------------------------------------------------------------
# Pre-flight: make every submission something nbgrader can grade, and say what was done
# --------------------------------------------------------------------------------------------

def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _read_submission(path: Path):
    """(notebook, None) or (None, reason it cannot be graded)."""
    import nbformat

    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"the file is too large to grade ({size / 1e6:.0f} MB)"
    data = path.read_bytes()
    if not data.strip():
        return None, "the file is empty"
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        return None, f"the file is not valid JSON ({str(err)[:120]})"
    except RecursionError:
        return None, "the file is not valid JSON (nested too deeply)"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        return None, "the file is JSON but not a Jupyter notebook"
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            nb = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
        _repair(nb)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 (any reader failure means: not gradable as is)
        return None, f"the file is not a valid Jupyter notebook ({str(err).splitlines()[0][:120]})"
    return nb, None


def _repair(nb) -> None:
    """Fill in fields a hand-edited notebook may lack (what JupyterLab would write)."""
    import nbformat

    nb.setdefault("metadata", nbformat.NotebookNode())
    for cell in nb.cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    with contextlib.suppress(Exception):
        from nbformat.validator import normalize

        normalize(nb, repair_duplicate_cell_ids=True)


def _notice_cell(notes: list[str]):
    from nbformat.v4 import new_markdown_cell

    text = ("**Notes from the grader** (about how this submission was graded):\n\n"
            + "\n".join(f"- {note}" for note in notes))
    cell = new_markdown_cell(text, metadata={NOTE_KEY: {"notes": notes}})
    return cell


def _existing_notes(nb) -> list[str]:
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get(NOTE_KEY)
        if isinstance(meta, dict):
            return list(meta.get("notes", []))
    return []


def _set_notes(nb, notes: list[str]) -> None:
    nb.cells = [c for c in nb.cells if NOTE_KEY not in c.get("metadata", {})]
    if notes:
        nb.cells.insert(0, _notice_cell(notes))


_GRADING_KEYS = ("grade", "solution", "locked", "points", "task", "schema_version")


def _restore_cells(nb, released, notes: list[str]) -> bool:
    """Reset nbgrader metadata from the released notebook; put deleted test cells back."""
    reference = {}
    order = []
    for cell in released.cells:
        gid = _grade_id(cell)
        if gid:
            reference[gid] = cell
            order.append(gid)
    changed = False
    copies: dict[str, int] = {}
    for cell in reversed(nb.cells):         # nbgrader grades the last copy of a duplicated cell
        gid = _grade_id(cell)
        if gid in reference:
            copies[gid] = copies.get(gid, 0) + 1
            if copies[gid] > 1:
                del cell.metadata["nbgrader"]
                changed = True
    for gid, count in copies.items():
        if count > 1:
            notes.append(f"cell {gid} appears {count} times; the last copy was graded, the others "
                         "ran as ordinary cells")
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        gid = _grade_id(cell)
        if gid not in reference:
            del meta["nbgrader"]
            notes.append(f"cell {index} carried nbgrader metadata ({gid or 'no id'}) that is not in "
                         "the released notebook; it was graded as an ordinary cell")
            changed = True
        else:
            ref = reference[gid].metadata["nbgrader"]
            if meta["nbgrader"] != ref:
                if any(meta["nbgrader"].get(k) != ref.get(k) for k in _GRADING_KEYS):
                    notes.append(f"the nbgrader settings of cell {gid} had been changed; they were reset")
                meta["nbgrader"] = copy.deepcopy(ref)
                changed = True
            if meta["nbgrader"].get("locked") and cell.get("source") != reference[gid].get("source"):
                notes.append(f"the read-only cell {gid} had been edited; the original was run")
    present = {_grade_id(c) for c in nb.cells} - {None}
    anchor = None       # the cell after which the next missing cell goes
    for gid in order:
        if gid in present:
            anchor = next(c for c in reversed(nb.cells) if _grade_id(c) == gid)
            continue
        ref_meta = reference[gid].metadata["nbgrader"]
        if not ref_meta.get("grade"):
            continue    # a deleted answer cell is not put back: it would undo the student's code
        restored = copy.deepcopy(reference[gid])
        position = nb.cells.index(anchor) + 1 if anchor is not None else next(
            (i for i, c in enumerate(nb.cells) if _grade_id(c)), len(nb.cells))
        nb.cells.insert(position, restored)
        anchor = restored
        notes.append(f"the test cell {gid} had been deleted; it was put back and run")
        changed = True
    return changed


def preflight(course_dir: str | os.PathLike, assignment: str, student: str) -> list[str]:
    """Make ``submitted/STUDENT/ASSIGNMENT`` gradable; return the notes (also put in the notebook).

    Rules (fair to the student, nothing lost):

    - a notebook under another name is graded as the expected one when its nbgrader cells show
      it is a copy of it (one candidate: renamed; several: the most recently changed);
    - other notebooks are not graded and stay where they are;
    - a file that is empty, not JSON or not a notebook earns 0 points: the untouched student
      version is graded in its place, with a note saying why, so the feedback explains it;
    - deleted test cells and changed nbgrader settings are restored from the released
      notebook (nbgrader itself restores the test code of edited test cells);
    - before any change the submission folder is copied to ``originals/``.
    """
    import nbformat

    course_dir = _course_dir(course_dir)
    folder = course_dir / "submitted" / student / assignment
    release = course_dir / "release" / assignment
    expected = {p.stem: nbformat.read(p, as_version=4) for p in sorted(release.glob("*.ipynb"))}
    if not expected:
        raise InstructorError(f"{release} holds no notebook: run hepdl-course release-course first")
    files = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    nested = sorted(p for p in folder.rglob("*.ipynb") if p.is_file() and p.parent != folder
                    and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    parsed, unreadable = {}, {}
    for path in files:
        nb, reason = _read_submission(path)
        if nb is None:
            unreadable[path.stem] = reason
        else:
            parsed[path.stem] = nb
    where = {path.stem: path for path in files}
    for path in nested:                 # a notebook in a sub-folder (an unpacked zip file)
        key = str(path.relative_to(folder))
        nb, _ = _read_submission(path)
        if nb is not None:
            parsed[key], where[key] = nb, path
    notes: dict[str, list[str]] = {name: [] for name in expected}
    write: dict[str, Any] = {}
    renamed: list[str] = []            # file stems graded under the expected name
    for name, released in expected.items():
        if name in parsed:
            continue
        ids = {_grade_id(c) for c in released.cells} - {None}
        candidates = sorted(
            (len(ids & {_grade_id(c) for c in nb.cells}), where[other].stat().st_mtime, other)
            for other, nb in parsed.items() if other not in expected and other not in renamed)
        candidates = [c for c in candidates if c[0] > 0]
        if name not in unreadable and candidates:
            other = candidates[-1][2]
            renamed.append(other)
            parsed[name] = parsed.pop(other)
            extra = f" (of {len(candidates)} copies, the one changed last)" if len(candidates) > 1 else ""
            notes[name].append(f"the notebook was submitted as {where[other].relative_to(folder)}{extra}; "
                               f"it was graded as {name}.ipynb")
            write[name] = parsed[name]
            continue
        if name in unreadable:
            reason = f"{name}.ipynb could not be read: {unreadable[name]}"
        elif files:
            reason = (f"no notebook named {name}.ipynb was submitted, and none of the submitted "
                      f"notebooks ({', '.join(p.name for p in files)}) is a copy of it")
        else:
            reason = f"no notebook named {name}.ipynb was submitted"
        substitute = copy.deepcopy(released)
        substitute.metadata[NOTE_KEY] = {"substituted": reason}
        parsed[name] = substitute
        notes[name].append(f"{reason}. The file you submitted is kept by the instructor; this page "
                           "shows the untouched assignment in its place, which earns 0 points.")
        write[name] = substitute
    extras = sorted({p.name for p in files if p.stem not in expected and p.stem not in renamed})
    if extras:
        for name in expected:
            notes[name].append(f"not part of the assignment, not graded: {', '.join(extras)}")
    for name, released in expected.items():
        nb = parsed[name]
        if NOTE_KEY not in nb.metadata and _restore_cells(nb, released, notes[name]):
            write[name] = nb
        old = _existing_notes(nb)
        merged = old + [n for n in notes[name] if n not in old]
        if merged != old:
            _set_notes(nb, merged)
            write[name] = nb
        notes[name] = merged
    if write:
        keep_original(course_dir, student, assignment, folder)
        for name, nb in write.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
        for other in renamed:          # graded under the expected name; the original is kept
            if where[other].parent == folder:
                where[other].unlink()
    return [note for name in expected for note in notes[name]]


# --------------------------------------------------------------------------------------------
# The confined grading kernel
# --------------------------------------------------------------------------------------------

# Landlock (Linux >= 5.13): syscall numbers are the same on every architecture.
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# Landlock access rights (ABI 1, then refer = ABI 2 and truncate = ABI 3).
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_REFER, _TRUNCATE = 1 << 13, 1 << 14
# /dev: only these, never the disks (a root kernel could otherwise read the gradebook's bytes).
_DEV_WRITABLE = ("null", "zero", "full", "tty", "ptmx", "shm", "pts")
_DEV_READABLE = ("random", "urandom", "fd", "stdin", "stdout", "stderr")
# Secrets an instructor's home may hold; never readable while grading.
_HOME_SECRETS = (".ssh", ".jupyter", ".pgpass", ".netrc", ".git-credentials", ".aws", ".docker",
                 ".config/gcloud", ".local/share/jupyter/runtime", ".local/share/jupyter/nbgrader_cache")


def _landlock_plan(protect: list[str], writable: list[str],
                  readable: list[str] = ()) -> list[tuple[str, bool]]:
    """(path, writable) grants: read-only around the protected paths and in ``readable`` (inside a
    protected one), read-write in ``writable``.

    Landlock only grants; to hide a folder, grant every sibling of its ancestors. Entries made
    later directly in an ancestor (a new file in /tmp) are not granted: the kernel writes only in
    its working folder and its own TMPDIR.
    """
    protect = sorted({os.path.realpath(p) for p in protect if p})
    ancestors = set()
    for path in protect + ["/dev/null"]:
        parent = os.path.dirname(path)
        while True:
            ancestors.add(parent)
            if parent == os.path.dirname(parent):
                break
            parent = os.path.dirname(parent)
    plan = []
    for folder in sorted(ancestors):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            child = os.path.join(folder, name)
            if child in ancestors or child in protect:
                continue
            real = os.path.realpath(child)
            if any(_within(real, p) or _within(p, real) for p in protect):
                continue
            if folder == "/dev":
                if name in _DEV_WRITABLE or name in _DEV_READABLE:
                    plan.append((child, name in _DEV_WRITABLE))
                continue
            plan.append((child, False))
    return (plan + [(os.path.realpath(p), False) for p in readable]
            + [(os.path.realpath(p), True) for p in writable])


def _landlock(protect: list[str], writable: list[str], readable: list[str] = (), *,
              tcp: bool = False) -> str | None:
    """Confine this process and its children; return a description, or None if unavailable.

    Outgoing TCP connections are refused unless ``tcp`` (a Jupyter server needs them)."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(ctypes.c_long(_LL_CREATE), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        if abi < 1:
            return None
        handled = (1 << 13) - 1                        # ABI 1: execute ... make_sym
        handled |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
        file_rw = handled & (_EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE)
        read_dir, read_file = _EXECUTE | _READ_FILE | _READ_DIR, _EXECUTE | _READ_FILE
        attr = _RulesetAttr(handled, 1 << 1 if abi >= 4 and not tcp else 0,   # refuse outgoing TCP
                            1 << 1 if abi >= 6 else 0)            # no signals to processes outside
        size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
        ruleset = syscall(ctypes.c_long(_LL_CREATE), ctypes.byref(attr), ctypes.c_size_t(size),
                          ctypes.c_uint32(0))
        if ruleset < 0:
            return None
        try:
            for path, rw in _landlock_plan(protect, writable, readable):
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                    rights = (handled if rw else read_dir) if is_dir else (file_rw if rw else read_file)
                    rule = _PathBeneath(rights, fd)
                    syscall(ctypes.c_long(_LL_ADD_RULE), ctypes.c_long(ruleset), ctypes.c_long(1),
                            ctypes.byref(rule), ctypes.c_uint32(0))
                finally:
                    os.close(fd)
            if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                return None
            if syscall(ctypes.c_long(_LL_RESTRICT), ctypes.c_long(ruleset), ctypes.c_uint32(0)) != 0:
                return None
        finally:
            os.close(ruleset)
        return f"Landlock ABI {abi}"
    except Exception:  # noqa: BLE001 (no Landlock: the audit hook still applies)
        return None


# Audit events (PEP 578) naming paths: event -> (indices of paths read, indices of paths written).
_PATH_EVENTS = {
    "open": ((0,), ()), "os.listdir": ((0,), ()), "os.scandir": ((0,), ()),
    "os.getxattr": ((0,), ()), "os.listxattr": ((0,), ()),
    "sqlite3.connect": ((0,), (0,)), "os.rename": ((0,), (0, 1)), "os.link": ((0,), (1,)),
    "os.symlink": ((), (1,)), "os.remove": ((), (0,)), "os.rmdir": ((), (0,)), "os.mkdir": ((), (0,)),
    "os.truncate": ((), (0,)), "os.chmod": ((), (0,)), "os.chown": ((), (0,)), "os.utime": ((), (0,)),
    "os.setxattr": ((), (0,)), "os.removexattr": ((), (0,)),
    "shutil.copyfile": ((0,), (1,)), "shutil.copytree": ((0,), (1,)), "shutil.rmtree": ((), (0,)),
    "shutil.move": ((0,), (0, 1)),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_SPAWN_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "os.forkpty", "pty.spawn"}


def _audit_hook(protect: list[str], writable: list[str], block_spawn: bool):
    """A Python audit hook: no access to ``protect``, no writing outside ``writable``."""
    protect = [os.path.realpath(p) for p in protect if p]
    writable = [os.path.realpath(p) for p in writable] + ["/dev/null", "/dev/shm"]
    parent = os.getppid()
    busy = threading.local()

    def resolve(value) -> str | None:
        if isinstance(value, int) or value is None:
            return None
        try:
            text = os.fsdecode(value)
        except (TypeError, ValueError):
            return None
        if text.startswith("file:"):            # an SQLite URI
            text = text[len("file:"):].split("?")[0]
        if text in ("", ":memory:"):
            return None
        return os.path.realpath(text)

    def check(event, args):
        reads, writes = _PATH_EVENTS[event]
        if event == "open" and len(args) > 2 and isinstance(args[2], int) and args[2] & _WRITE_FLAGS:
            writes = (0,)
        for index in set(reads) | set(writes):
            path = resolve(args[index]) if index < len(args) else None
            if path is None:
                continue
            inside = any(_within(path, w) for w in writable)
            if not inside and any(_within(path, p) for p in protect):
                raise PermissionError(f"not allowed while grading: {path}")
            if index in writes and not inside:
                raise PermissionError(f"not allowed while grading: writing {path}")

    def hook(event, args):
        if getattr(busy, "on", False):
            return
        if event in _PATH_EVENTS:
            busy.on = True
            try:
                check(event, args)
            finally:
                busy.on = False
        elif event in ("os.kill", "os.killpg") and args:
            pid = args[0]
            if event == "os.killpg" or pid <= 0 or pid == parent:
                raise PermissionError("not allowed while grading: signals to other processes")
        elif block_spawn and event in _SPAWN_EVENTS:
            raise PermissionError("not allowed while grading: starting programs")

    return hook


def _private_homes(scratch: str) -> None:
    """Give the kernel its own matplotlib, Keras and IPython folders (seeded with the
    instructor's settings), so that no submission can change them for the next."""
    home = Path.home()
    mpl_cache = Path(os.environ.get("MPLCONFIGDIR")
                     or Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib")
    mpl_config = Path(os.environ.get("MPLCONFIGDIR")
                      or Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib")
    keras = Path(os.environ.get("KERAS_HOME") or home / ".keras")
    seeds = {"MPLCONFIGDIR": [*mpl_cache.glob("fontlist-*.json"), mpl_config / "matplotlibrc"],
             "KERAS_HOME": [keras / "keras.json"], "IPYTHONDIR": []}
    for variable, files in seeds.items():
        folder = Path(scratch) / variable.lower()
        folder.mkdir(exist_ok=True)
        for path in files:
            with contextlib.suppress(OSError):
                if path.is_file():
                    shutil.copyfile(path, folder / path.name)
        os.environ[variable] = str(folder)


def _confine(protect: list[str], landlock: bool = True) -> str:
    """Confine this process (the grading kernel): Landlock where the kernel offers it, and always
    an audit hook. It may read what is not protected and write only in its working folder and
    its TMPDIR."""
    home = os.path.expanduser("~")
    protect = list(protect) + [os.path.join(home, name) for name in _HOME_SECRETS]
    writable = [os.getcwd()] + ([os.environ["TMPDIR"]] if os.environ.get("TMPDIR") else [])
    confined = _landlock(protect, writable) if landlock else None
    sys.addaudithook(_audit_hook(protect, writable, block_spawn=confined is None))
    return confined or "audit hook only (Landlock unavailable): starting programs is refused"


def _grading_kernel() -> None:
    """The kernel that grades a submission: confine this process, then start ipykernel."""
    protect = [p for p in os.environ.pop(_PROTECT_ENV, "").split(os.pathsep) if p]
    scratch = os.environ.pop(_SCRATCH_ENV, "")
    landlock = os.environ.pop(LANDLOCK_ENV, "1") != "0"
    if scratch:
        own = tempfile.mkdtemp(prefix="kernel-", dir=scratch)
        os.environ["TMPDIR"] = own
        tempfile.tempdir = None
        _private_homes(own)
    _confine(protect, landlock)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=sys.argv[1:])


def _kernelspec_dir(parent: Path) -> Path:
    """A JUPYTER_PATH folder whose ``python3`` kernel is the confined grading kernel."""
    folder = parent / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c",
                 "import hepdl_course.instructor as m; m._grading_kernel()",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }, indent=1))
    return parent


# --------------------------------------------------------------------------------------------
# nbgrader preprocessors: resilient execution, bounded output
# --------------------------------------------------------------------------------------------

_CLASSES: dict[str, type] = {}
KERNEL_DIED = "KernelDied"
KERNEL_HUNG = "KernelUnresponsive"


def grading_preprocessors() -> list[type]:
    """nbgrader's autograde preprocessors with :class:`ResilientExecute` and output limits."""
    if not _CLASSES:
        _define_preprocessors()
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades)

    return [_CLASSES["ResilientExecute"], IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
            _CLASSES["LimitOutputSize"], SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


def _define_preprocessors() -> None:
    from nbclient.client import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbformat.v4 import new_output
    from nbgrader.preprocessors import Execute, NbGraderPreprocessor
    from traitlets import Integer

    class ResilientExecute(Execute):
        """nbgrader's Execute, surviving a kernel that dies or cannot be interrupted.

        The cell that killed or hung the kernel gets an error output (a test cell then earns 0);
        a new kernel runs the cells above again (keeping their first outputs) and execution goes
        on with the next cell.
        """

        max_kernel_restarts = Integer(3, help="Kernel restarts per notebook before giving up").tag(config=True)

        def preprocess(self, nb, resources=None, km=None):
            NotebookClient.__init__(self, nb, km)
            self.reset_execution_trackers()
            self._check_assign_resources(resources)
            done, lost, restarts = -1, {}, 0
            while True:
                current = None
                try:
                    with self.setup_kernel():
                        info = self.wait_for_reply(self.kc.kernel_info())
                        if info is not None:
                            self.nb.metadata["language_info"] = info["content"]["language_info"]
                        for index, cell in enumerate(self.nb.cells):
                            if index in lost:
                                continue
                            current = index
                            if index <= done:
                                self._replay(cell, index)
                            else:
                                self.preprocess_cell(cell, resources, index)
                                done = index
                    break
                except (DeadKernelError, CellTimeoutError) as err:
                    if current is None:
                        raise
                    hung = isinstance(err, CellTimeoutError)
                    lost[current] = hung
                    done = max(done, current)
                    restarts += 1
                    self.km, self.kc = None, None
                    why = (f"this cell did not stop within {self.timeout} s and could not be "
                           "interrupted" if hung else "the Python kernel died while running this cell")
                    cell = self.nb.cells[current]
                    message = (f"{why}; the kernel was restarted, the cells above were run again "
                               "and grading went on with the next cell")
                    cell.setdefault("outputs", []).append(new_output(
                        "error", ename=KERNEL_HUNG if hung else KERNEL_DIED, evalue=message,
                        traceback=[message]))
                    if restarts > self.max_kernel_restarts:
                        for later in self.nb.cells[current + 1:]:
                            if later.cell_type == "code":
                                later.outputs = [new_output(
                                    "error", ename=KERNEL_DIED, evalue="not run: too many kernel restarts",
                                    traceback=["not run: too many kernel restarts"])]
                        break
            self.set_widgets_metadata()
            return self.nb, self.resources

        def _replay(self, cell, index):
            if cell.cell_type != "code":
                return
            outputs = cell.get("outputs", [])
            if any(o.get("output_type") == "error" and o.get("ename") in (KERNEL_HUNG, "KeyboardInterrupt")
                   for o in outputs):
                return          # timed out the first time: not worth a second timeout
            saved = copy.deepcopy(outputs), cell.get("execution_count")
            self.execute_cell(cell, index, store_history=True)
            cell.outputs, cell.execution_count = saved

    class LimitOutputSize(NbGraderPreprocessor):
        """Cut outputs longer than ``max_chars`` characters (nbgrader's LimitOutput counts lines)."""

        max_chars = Integer(100_000, help="Largest output kept, in characters").tag(config=True)

        def _cut(self, text: str) -> str:
            if len(text) <= self.max_chars:
                return text
            return text[: self.max_chars] + f"\n... output cut: {len(text):,} characters in all ...\n"

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type != "code":
                return cell, resources
            for output in cell.outputs:
                kind = output.get("output_type")
                if kind == "stream":
                    output.text = self._cut(output.text)
                elif kind == "error":
                    output.evalue = self._cut(str(output.get("evalue", "")))
                    output.traceback = [self._cut(line) for line in output.get("traceback", [])]
                elif kind in ("execute_result", "display_data"):
                    data = output.get("data", {})
                    for mime in list(data):
                        value = data[mime]
                        size = len(value) if isinstance(value, str) else len(json.dumps(value))
                        if size <= self.max_chars:
                            continue
                        if mime == "text/plain" and isinstance(value, str):
                            data[mime] = self._cut(value)
                        else:
                            del data[mime]
                            data.setdefault("text/plain", f"[{mime} output of {size:,} characters removed]")
            return cell, resources

    _CLASSES["ResilientExecute"] = ResilientExecute
    _CLASSES["LimitOutputSize"] = LimitOutputSize


# --------------------------------------------------------------------------------------------
# The grading worker: nbgrader loaded once, one student per request
# --------------------------------------------------------------------------------------------

def _worker_result(app, assignment: str, student: str) -> dict[str, Any]:
    """What the gradebook and the graded notebook say about one student's submission."""
    from nbgrader.api import Gradebook, MissingEntry

    info: dict[str, Any] = {}
    with Gradebook(app.coursedir.db_url, app.coursedir.course_id) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return info
        info.update(score=float(sub.score), max_score=float(sub.max_score),
                    needs_manual_grade=bool(sub.needs_manual_grade),
                    late_seconds=float(sub.total_seconds_late or 0),
                    penalty=float(sum((n.late_submission_penalty or 0) for n in sub.notebooks)))
    events = []
    graded = Path(app.coursedir.root) / "autograded" / student / assignment
    for path in sorted(graded.glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for index, cell in enumerate(cells):
            for output in cell.get("outputs", []):
                name = output.get("ename") if output.get("output_type") == "error" else None
                label = _grade_id(cell) or f"cell {index}"
                if name == KERNEL_DIED:
                    events.append(f"{path.name}: the kernel died in {label}; restarted")
                elif name == KERNEL_HUNG:
                    events.append(f"{path.name}: {label} timed out and could not be interrupted; "
                                  "kernel restarted")
                elif name == "CellTimeoutError":
                    events.append(f"{path.name}: {label} timed out and was interrupted")
    info["events"] = sorted(set(events), key=events.index)
    return info


def _become_subreaper() -> None:
    """Adopt the processes a notebook leaves behind (Linux), so that they can be stopped."""
    if sys.platform == "linux":
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER


def _end_descendants() -> int:
    """Stop every process still below this one (between students there should be none)."""
    import psutil

    try:
        left = psutil.Process().children(recursive=True)
    except psutil.Error:
        return 0
    running = [p for p in left if _alive(p)]
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(left, timeout=10)
    return len(running)


def _alive(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _autograde_worker() -> None:
    """Read JSON jobs ``{"assignment", "student", "force"}`` on stdin; answer one line each."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                               # nothing else may write on the answer channel
    course_dir = Path.cwd()
    from nbgrader.apps.autogradeapp import AutogradeApp
    from nbgrader.converters import Autograde
    from nbgrader.utils import capture_log
    from traitlets.config import Config

    settings = load_settings(course_dir)
    _become_subreaper()
    config = Config()
    config.Autograde.autograde_preprocessors = grading_preprocessors()
    config.LimitOutputSize.max_chars = int(settings.max_output_chars)
    app = AutogradeApp(config=config)
    app.initialize([])
    channel.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        assignment, student = job["assignment"], job["student"]
        result: dict[str, Any] = {"student": student}
        try:
            result["notes"] = preflight(course_dir, assignment, student)
        except Exception as err:  # noqa: BLE001 (reported; nbgrader still gets its chance)
            result["notes"] = [f"pre-flight check failed: {type(err).__name__}: {err}"]
        app.coursedir.assignment_id = assignment
        app.coursedir.student_id = student
        converter = Autograde(coursedir=app.coursedir, parent=app)
        # nbgrader only grades again a *newer* submission; an older one collected with
        # --before-duedate must be graded again too: any other timestamp means regrade
        stamps = [(course_dir / where / student / assignment / "timestamp.txt")
                  for where in ("submitted", "autograded")]
        texts = [p.read_text().strip() if p.is_file() else None for p in stamps]
        converter.force = bool(job.get("force")) or texts[0] != texts[1]
        converter.create_student = True
        outcome = capture_log(converter)
        result["success"] = bool(outcome.get("success"))
        log = outcome.get("log", "")
        result["skipped"] = "Skipping existing assignment" in log
        if not result["success"]:
            errors = [ln for ln in (log + "\n" + outcome.get("error", "")).splitlines()
                      if ln.strip() and ("ERROR" in ln or "Error" in ln or "rror:" in ln)]
            result["reason"] = "\n".join(errors[-6:])[-2000:] or "nbgrader failed (no message)"
        try:
            result.update(_worker_result(app, assignment, student))
        except Exception as err:  # noqa: BLE001
            result.setdefault("reason", f"could not read the gradebook: {err}")
        left = _end_descendants()
        if left:
            result.setdefault("events", []).append(
                f"{left} process(es) the notebook started were still running; they were stopped")
        channel.write(json.dumps(result) + "\n")


# --------------------------------------------------------------------------------------------
# Autograde: every student, one at a time, reported
# --------------------------------------------------------------------------------------------

@dataclass
class StudentResult:
    student: str
    status: str                       # "graded", "needs manual grade" or "failed"
    score: float | None = None        # after nbgrader's late penalty
    max_score: float | None = None
    notes: list[str] = field(default_factory=list)
    reason: str = ""
    late_seconds: float = 0.0
    penalty: float = 0.0
    skipped: bool = False             # already graded and not re-submitted since
    raw_score: float | None = None    # before the late penalty

    def line(self) -> str:
        score = f"{self.score:g}/{self.max_score:g}" if self.score is not None else "-"
        extra = "; ".join(([f"late by {self.late_seconds:.0f} s: penalty {self.penalty:g} "
                            f"(raw score {self.raw_score:g})"]
                           if self.late_seconds > 0 else [])
                          + (["unchanged since the last run"] if self.skipped else [])
                          + self.notes + ([self.reason.splitlines()[-1]] if self.reason else []))
        return f"{self.student:24s} {self.status:19s} {score:>9s}  {extra}"


class _Worker:
    """The grading worker process, restarted when a student kills or hangs it."""

    def __init__(self, course_dir: Path, env: dict[str, str], log):
        self.course_dir, self.env, self.log = course_dir, env, log
        self.proc = None
        self.answers: queue.Queue = queue.Queue()

    def start(self, timeout: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import hepdl_course.instructor as m; m._autograde_worker()"],
            cwd=self.course_dir, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True, start_new_session=True)
        self.answers = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.answers), daemon=True).start()
        try:
            ready = self.answers.get(timeout=timeout)
        except queue.Empty:
            ready = None
        if not ready or not ready.get("ready"):
            self.stop()
            raise InstructorError("the grading worker did not start; see its log in "
                                  f"{self.course_dir / REPORTS}")

    @staticmethod
    def _read(proc, answers) -> None:
        for line in proc.stdout:
            with contextlib.suppress(ValueError):
                answers.put(json.loads(line))
        answers.put(None)               # the worker is gone

    def ask(self, job: dict, timeout: float) -> dict | None:
        """The answer, or None if the worker died or ran past ``timeout`` (it is then stopped)."""
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            answer = self.answers.get(timeout=timeout)
        except (BrokenPipeError, queue.Empty):
            answer = None
        if answer is None:
            self.stop()
        return answer

    def stop(self) -> None:
        """Stop the worker and every process it started (kernels run in their own sessions)."""
        if self.proc is None:
            return
        import psutil

        with contextlib.suppress(psutil.Error):
            family = psutil.Process(self.proc.pid).children(recursive=True)
            for member in family:
                with contextlib.suppress(psutil.Error):
                    member.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._close_pipes()
        self.proc = None

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.stop()
                return
            self._close_pipes()
            self.proc = None


def _protected(course_dir: Path, settings: CourseSettings) -> list[str]:
    """What a grading kernel may not touch."""
    paths = [str(course_dir), str(settings.exchange_dir(course_dir)),
             str(Path(settings.repo) / "solutions")]
    db = _sqlite_path(settings.db(course_dir))
    if db:
        paths.append(db)
    return paths


def autograde(course_dir: str | os.PathLike, assignment: str, *, students: list[str] | None = None,
              force: bool = False, student_timeout: float | None = None,
              data_dir: str | os.PathLike | None = None, echo=None) -> list[StudentResult]:
    """Grade every collected submission of ``assignment``; never stop at one student.

    Returns one :class:`StudentResult` per student and writes them to
    ``reports/autograde-ASSIGNMENT.json``. Without ``force`` a student already graded is only
    graded again after a newer submission was collected.
    """
    from hepdl_course.nbgrader_course import nbgrader_env

    course_dir = _course_dir(course_dir)
    settings = load_settings(course_dir)
    if not (course_dir / "release" / assignment).is_dir():
        raise InstructorError(f"{assignment} was never released in {course_dir}: run "
                              f"hepdl-course release-course {course_dir} {assignment}")
    found = _submissions(course_dir, assignment)
    names = sorted(found) if not students else list(students)
    missing = [s for s in names if s not in found]
    if missing:
        raise InstructorError(f"no collected submission of {assignment} for: {', '.join(missing)}")
    limit = float(student_timeout or settings.student_timeout)
    reports = course_dir / REPORTS
    reports.mkdir(exist_ok=True)
    results: list[StudentResult] = []
    with tempfile.TemporaryDirectory(prefix="hepdl-grading-") as scratch, \
            open(reports / f"autograde-{assignment}.log", "w") as log:
        scratch = Path(scratch)
        env = nbgrader_env({
            "JUPYTER_PATH": os.pathsep.join(
                [str(_kernelspec_dir(scratch / "jupyter"))]
                + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]),
            _PROTECT_ENV: os.pathsep.join(_protected(course_dir, settings)),
            _SCRATCH_ENV: str(scratch),
            "HEPDL_DATA_DIR": str(Path(data_dir).resolve() if data_dir
                                  else Path(settings.repo) / "datasets"),
        })
        env.pop("HEPDL_RESULTS", None)          # results.json goes next to the graded notebook
        worker = _Worker(course_dir, env, log)
        try:
            for student in names:
                if worker.proc is None:
                    worker.start(timeout=300)
                started = time.monotonic()
                answer = worker.ask({"assignment": assignment, "student": student, "force": force},
                                    timeout=limit)
                if answer is None:
                    took = time.monotonic() - started
                    why = (f"grading took longer than {limit:g} s" if took >= limit - 1
                           else "the grading process died (the student's code may have killed it)")
                    shutil.rmtree(course_dir / "autograded" / student / assignment, ignore_errors=True)
                    result = StudentResult(student, "failed", reason=why)
                else:
                    result = _student_result(answer)
                results.append(result)
                if echo:
                    echo(result.line())
        finally:
            worker.close()
    (reports / f"autograde-{assignment}.json").write_text(json.dumps(
        {"assignment": assignment, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(),
         "students": [asdict(r) for r in results]}, indent=2) + "\n")
    return results


def _student_result(answer: dict) -> StudentResult:
    notes = list(answer.get("notes", [])) + list(answer.get("events", []))
    if not answer.get("success"):
        status = "failed"
    elif answer.get("needs_manual_grade"):
        status = "needs manual grade"
    else:
        status = "graded"
    raw = answer.get("score") if status != "failed" else None   # a failed run leaves no new grade
    penalty = answer.get("penalty", 0.0)
    return StudentResult(
        answer["student"], status, None if raw is None else raw - penalty, answer.get("max_score"),
        notes, answer.get("reason", ""), answer.get("late_seconds", 0.0), penalty,
        bool(answer.get("skipped")), raw)


# --------------------------------------------------------------------------------------------
# Feedback, grades, formgrader
# --------------------------------------------------------------------------------------------

@dataclass
class Feedback:
    student: str
    html: list[Path]
    released: bool          # copied to the exchange, where the student's `fetch_feedback` finds it


def feedback(course_dir: str | os.PathLike, assignment: str, *, release: bool = True,
             students: list[str] | None = None) -> list[Feedback]:
    """Generate the feedback HTML of every graded student and release it to the exchange.

    Feedback is released for submissions that came through the exchange (nbgrader needs the
    ``submission_secret.txt`` that ``nbgrader submit`` writes); for imported submissions it
    stays in ``COURSE_DIR/feedback/STUDENT/ASSIGNMENT/`` for the instructor to hand out.
    """
    course_dir = _course_dir(course_dir)
    settings = load_settings(course_dir)
    found = _submissions(course_dir, assignment)
    selected = students or sorted(found)
    only = [[f"--student={s}"] for s in students] if students else [[]]
    commands = [["generate_feedback", assignment, "--force"] + arg for arg in only]
    outbound = settings.exchange_dir(course_dir) / settings.course_id / "outbound" / assignment
    releasable = [s for s in selected if release and outbound.is_dir() and s in found
                  and (found[s] / "submission_secret.txt").is_file()]
    commands += [["release_feedback", assignment, f"--student={s}"] for s in releasable]
    proc = _nbgrader(course_dir, *commands, keep_going=True)
    failed = {line.split("--student=")[-1].strip() for line in proc.stderr.splitlines()
              if line.startswith("=== failed") and "release_feedback" in line}
    if proc.returncode and not (course_dir / "feedback").is_dir():
        raise InstructorError(f"nbgrader generate_feedback {assignment} failed:\n{_nbgrader_failure(proc)}")
    result = []
    for student in selected:
        html = sorted((course_dir / "feedback" / student / assignment).glob("*.html"))
        result.append(Feedback(student, html, bool(html) and student in releasable and student not in failed))
    return result


def export_grades(course_dir: str | os.PathLike, to: str | os.PathLike | None = None) -> Path:
    """Export every grade in the gradebook to CSV (nbgrader's export: one row per submission)."""
    course_dir = _course_dir(course_dir)
    load_settings(course_dir)
    target = Path(to).expanduser().resolve() if to else course_dir / "grades.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    proc = _nbgrader(course_dir, ["export", f"--to={target}"])
    if proc.returncode:
        raise InstructorError(f"nbgrader export failed:\n{_nbgrader_failure(proc)}")
    return target


def formgrader_command(course_dir: str | os.PathLike, *, port: int = 8889, open_browser: bool = False,
                       token: str | None = None) -> list[str]:
    """The Jupyter server command that serves nbgrader's formgrader for ``course_dir``."""
    course_dir = _course_dir(course_dir)
    load_settings(course_dir)
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={course_dir}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--LabApp.default_url=/formgrader"]
    if not open_browser:
        cmd.append("--no-browser")
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd
