"""What the instructor hands out: assignments (``release-course``) and feedback (``feedback``).

Both run nbgrader's own commands in the course directory (:mod:`hepdl_course.nbgrader_batch`)
and release to the exchange, where the students' ``fetch_assignment`` and ``fetch_feedback``
find them.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hepdl_course import nbgrader_batch
from hepdl_course.grading_notes import duration
from hepdl_course.settings import InstructorError, course_path, load_settings
from hepdl_course.submissions import parse_time, submissions

__all__ = ["Feedback", "feedback", "release_course"]

AGAIN = "add --force to release it again (students who fetched it keep their copy)"


@dataclass
class Feedback:
    """One student's feedback pages."""

    student: str
    html: list[Path]
    released: bool          # copied to the exchange, where the student's `fetch_feedback` finds it


def release_course(course_dir: str | os.PathLike, names: list[str], *, duedate: str | None = None,
                   force: bool = False, exchange: bool = True, warn=None) -> list[Path]:
    """Refresh ``source/NAME`` from the repository, generate the student version and release it.

    ``duedate`` (e.g. ``"2026-07-03 18:00:00 UTC"``) is stored in the gradebook: collect and
    autograde compare submission timestamps with it. ``force`` re-releases to the exchange an
    assignment released before (students who fetched it keep their copy). ``warn`` is called
    with a message when the due date is in the past (every submission would be late), or cannot
    be read (then nothing is released).
    """
    from hepdl_course import course
    from hepdl_course.nbgrader_course import IGNORED

    course_dir = course_path(course_dir)
    settings = load_settings(course_dir)
    if not names:
        raise InstructorError("name the assignment(s) to release")
    if duedate:
        try:
            due = parse_time(duedate)
        except ValueError as err:
            raise InstructorError(f"the due date {err}; write e.g. \"2026-07-03 18:00:00 UTC\"") from None
        now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
        if due < now and warn is not None:
            warn(f"the due date {duedate} is in the past (by {duration((now - due).total_seconds())}): "
                 "every submission will be late; release again with FORCE and a later due date "
                 "if that is not what you meant")
    outbound = settings.exchange_dir(course_dir) / settings.course_id / "outbound"
    again = [n for n in names if exchange and not force and (outbound / n).is_dir()]
    if again:
        raise InstructorError(f"{', '.join(again)} was released before: {AGAIN}")
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
    proc = nbgrader_batch.run(course_dir, *commands)
    if proc.returncode:
        hint = f"\nIt was released before: {AGAIN}." if "Destination already exists" in proc.output else ""
        raise InstructorError(f"release stopped:\n{proc.failure()}{hint}")
    return [course_dir / "release" / name for name in names]


def feedback(course_dir: str | os.PathLike, assignment: str, *, release: bool = True,
             students: list[str] | None = None) -> list[Feedback]:
    """Generate the feedback HTML of every graded student and release it to the exchange.

    Feedback is released for submissions that came through the exchange (nbgrader needs the
    ``submission_secret.txt`` that ``nbgrader submit`` writes); for imported submissions it
    stays in ``COURSE_DIR/feedback/STUDENT/ASSIGNMENT/`` for the instructor to hand out.
    """
    course_dir = course_path(course_dir)
    settings = load_settings(course_dir)
    found = submissions(course_dir, assignment)
    selected = students or sorted(found)
    only = [[f"--student={s}"] for s in students] if students else [[]]
    commands = [["generate_feedback", assignment, "--force"] + arg for arg in only]
    outbound = settings.exchange_dir(course_dir) / settings.course_id / "outbound" / assignment
    releasable = [s for s in selected if release and outbound.is_dir() and s in found
                  and (found[s] / "submission_secret.txt").is_file()]
    commands += [["release_feedback", assignment, f"--student={s}"] for s in releasable]
    proc = nbgrader_batch.run(course_dir, *commands, keep_going=True)
    failed = {args[-1].split("--student=")[-1] for args in proc.failed() if args[0] == "release_feedback"}
    if proc.returncode and not (course_dir / "feedback").is_dir():
        raise InstructorError(f"nbgrader generate_feedback {assignment} failed:\n{proc.failure()}")
    result = []
    for student in selected:
        html = sorted((course_dir / "feedback" / student / assignment).glob("*.html"))
        result.append(Feedback(student, html, bool(html) and student in releasable and student not in failed))
    return result
