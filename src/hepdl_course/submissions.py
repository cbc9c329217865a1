"""The submissions in a course directory: collecting them, their times, the originals kept.

``submitted/STUDENT/ASSIGNMENT/`` is what nbgrader grades; every version that is replaced
(by a later submission, or repaired by :mod:`hepdl_course.preflight`) is first copied to
``originals/STUDENT/ASSIGNMENT/<timestamp>/``, so that nothing a student submitted is lost.
Times are naive UTC, as ``nbgrader submit`` writes them in ``timestamp.txt``.

On a machine where each student has a Linux account (the school's hub), a submission in the
exchange is named by its student but owned by whoever made it; one that claims another student
(``nbgrader submit --student=bob`` run by alice) is set aside in ``rejected/`` before nbgrader
collects, and reported (:func:`forged_submissions`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from hepdl_course import nbgrader_batch
from hepdl_course.settings import (
    InstructorError,
    course_path,
    load_settings,
    sqlite_path,
)

__all__ = ["Collected", "collect", "forged_submissions", "import_submissions", "keep_original",
           "parse_time", "submissions"]

ORIGINALS = "originals"
REJECTED = "rejected"
REJECTED_STATUS = "rejected"   # the status of a forged submission set aside (who made it follows)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"   # what `nbgrader submit` writes (in UTC)


@dataclass
class Collected:
    """One student's collected submission."""

    student: str
    status: str            # "new", "updated", "unchanged", "kept newer"...
    timestamp: str | None  # TIMESTAMP_FORMAT
    late: bool = False     # after the due date in the gradebook and the grace period
    late_seconds: float = 0.0   # after the due date (0 if on time), grace period included


def parse_time(text: str) -> _dt.datetime:
    """A date and time as people and ``nbgrader submit`` write them, as naive UTC (a time
    without a zone is taken as UTC); ``ValueError`` if it is not one.

    >>> parse_time("2026-07-01 20:00:00 CEST")
    datetime.datetime(2026, 7, 1, 18, 0)
    """
    from dateutil import parser, tz

    try:
        value = parser.parse(text.strip(), tzinfos={"CET": 3600, "CEST": 7200})
    except (ValueError, OverflowError) as err:
        raise ValueError(f"{text.strip()!r} is not a date and time ({err})") from err
    if value.tzinfo is not None:
        value = value.astimezone(tz.UTC).replace(tzinfo=None)
    return value


def read_timestamp(folder: Path) -> _dt.datetime | None:
    """The time in ``folder/timestamp.txt`` (naive UTC), or None if there is none readable."""
    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    try:
        return parse_time(path.read_text())
    except (ValueError, OSError):
        return None


def format_timestamp(value: _dt.datetime) -> str:
    """``value`` (naive UTC) as ``nbgrader submit`` writes it.

    >>> format_timestamp(_dt.datetime(2026, 7, 3, 18, 0))
    '2026-07-03 18:00:00.000000 UTC'
    """
    return value.strftime(TIMESTAMP_FORMAT)


def submissions(course_dir: Path, assignment: str) -> dict[str, Path]:
    """Student id -> ``submitted/STUDENT/ASSIGNMENT`` folder, for every collected submission."""
    submitted = course_dir / "submitted"
    if not submitted.is_dir():
        return {}
    return {p.parent.name: p for p in sorted(submitted.glob(f"*/{assignment}")) if p.is_dir()}


def _slug(folder: Path) -> str:
    stamp = read_timestamp(folder)
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


REFUSED = "refused"          # the status of an import left in the folder (its reason follows)


def import_submissions(course_dir: str | os.PathLike, assignment: str, folder: str | os.PathLike,
                       *, submitted_at: _dt.datetime | None = None) -> list[Collected]:
    """Import ``FOLDER/STUDENT/ASSIGNMENT/...`` (or ``FOLDER/STUDENT/*.ipynb``) into ``submitted/``.

    The submission's time is its ``timestamp.txt``. A submission without one (or with one that
    is not a time) takes ``submitted_at`` (naive UTC) when given; otherwise, when the assignment
    has a due date, it is refused (status ``refused: ...``, left in the folder, nothing
    imported for that student), never timed by its files, which copying changes; without a due
    date it takes the time of the import. A later submission replaces an earlier one (the
    earlier is kept in ``originals/``); an earlier or equal one is left out and reported.
    """
    course_dir = course_path(course_dir)
    load_settings(course_dir)
    due = _duedate(course_dir, assignment)
    now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
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
        stamp = read_timestamp(source)
        if stamp is None:
            what = ("its timestamp.txt is not a date and time" if (source / "timestamp.txt").exists()
                    else "it has no timestamp.txt")
            if submitted_at is not None:
                stamp = submitted_at
            elif due is not None:
                found.append(Collected(student, f"{REFUSED}: {what} and {assignment} has a due date; "
                                       f"write its time in {source / 'timestamp.txt'} (e.g. "
                                       "2026-07-01 17:59:00 UTC) or give --submitted-at", None))
                continue
            else:
                stamp = now
        dest = course_dir / "submitted" / student / assignment
        status = "new"
        if dest.exists():
            existing = read_timestamp(dest)
            if existing is not None and existing >= stamp:
                found.append(Collected(student, "kept the newer submission already collected",
                                       format_timestamp(existing)))
                continue
            keep_original(course_dir, student, assignment, dest)
            shutil.rmtree(dest)
            status = "updated"
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        (dest / "timestamp.txt").write_text(format_timestamp(stamp))
        keep_original(course_dir, student, assignment, dest)
        found.append(Collected(student, status, format_timestamp(stamp)))
    return found


def _duedate(course_dir: Path, assignment: str) -> _dt.datetime | None:
    """The due date in the gradebook (naive UTC), read without importing nbgrader."""
    settings = load_settings(course_dir)
    path = sqlite_path(settings.db(course_dir))
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


def forged_submissions(inbound: Path, assignment: str) -> list[tuple[Path, str, str]]:
    """(folder, claimed student, owner) of each submission of ``assignment`` in an exchange's
    ``inbound`` folder whose owner is not the student it names.

    nbgrader names a submission ``STUDENT+ASSIGNMENT+TIME+RANDOM`` from its ``--student`` option,
    which anyone can set. The owner is the account that made the folder, which a student cannot
    choose; a folder owned by the account that collects (an instructor submitting for a student,
    the tests) is trusted.
    """
    forged = []
    for folder in sorted(inbound.iterdir()) if inbound.is_dir() else []:
        parts = folder.name.split("+")
        if len(parts) < 3 or parts[1] != assignment:
            continue
        uid = folder.lstat().st_uid
        if uid == os.geteuid():
            continue
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            owner = f"uid {uid}"
        if owner != parts[0]:
            forged.append((folder, parts[0], owner))
    return forged


def collect(course_dir: str | os.PathLike, assignment: str, *, from_dir: str | os.PathLike | None = None,
            before_duedate: bool = False, submitted_at: str | None = None) -> list[Collected]:
    """Collect submissions: from the exchange (``nbgrader collect``) or from a folder.

    From the exchange, the latest submission of each student wins (``--update``); with
    ``before_duedate`` the latest one before the due date (nbgrader's ``--before-duedate``).
    Every submission stays in the exchange's inbound folder, but for one that claims another
    student's name (:func:`forged_submissions`): it moves to ``COURSE_DIR/rejected/`` and is
    reported with the status ``rejected: made by ACCOUNT``. ``submitted_at`` (a date and time,
    e.g. ``"2026-07-01 17:59 UTC"``) times the imported submissions that have no
    ``timestamp.txt`` (:func:`import_submissions`). Every collected submission is kept in
    ``originals/`` as it arrived.
    """
    course_dir = course_path(course_dir)
    settings = load_settings(course_dir)
    before = {s: read_timestamp(p) for s, p in submissions(course_dir, assignment).items()}
    if submitted_at is not None and from_dir is None:
        raise InstructorError("--submitted-at times the files imported with --from; the exchange "
                              "records its own times")
    if from_dir is not None:
        try:
            when = parse_time(submitted_at) if submitted_at is not None else None
        except ValueError as err:
            raise InstructorError(f"--submitted-at: {err}; write e.g. \"2026-07-01 17:59:00 UTC\"") from None
        records = import_submissions(course_dir, assignment, from_dir, submitted_at=when)
    else:
        for student, path in submissions(course_dir, assignment).items():
            keep_original(course_dir, student, assignment, path)   # collect --update replaces it
        records = []
        inbound = settings.exchange_dir(course_dir) / settings.course_id / "inbound"
        for folder, claimed, owner in forged_submissions(inbound, assignment):
            (course_dir / REJECTED).mkdir(mode=0o700, exist_ok=True)
            shutil.move(str(folder), str(course_dir / REJECTED / folder.name))
            records.append(Collected(claimed, f"{REJECTED_STATUS}: made by {owner}", None))
        args = ["collect", assignment] + (["--before-duedate"] if before_duedate else ["--update"])
        proc = nbgrader_batch.run(course_dir, args)
        if proc.returncode:
            raise InstructorError(f"nbgrader collect {assignment} failed:\n{proc.failure()}")
        for student, path in submissions(course_dir, assignment).items():
            stamp = read_timestamp(path)
            status = ("new" if student not in before else
                      "unchanged" if before[student] == stamp else "updated")
            records.append(Collected(student, status, stamp and format_timestamp(stamp)))
            keep_original(course_dir, student, assignment, path)
    due = _duedate(course_dir, assignment)
    grace = _dt.timedelta(minutes=settings.grace_minutes)
    for record in records:
        if record.status.startswith((REJECTED_STATUS, REFUSED)):
            continue
        stamp = read_timestamp(course_dir / "submitted" / record.student / assignment)
        if due and stamp and stamp > due:
            record.late_seconds = (stamp - due).total_seconds()
            record.late = stamp > due + grace
    return records
