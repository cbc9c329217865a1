"""The grading worker: a process that loads nbgrader once and grades one student per request.

Started by :func:`hepdl_course.autograde.autograde` (``python -m hepdl_course.grading_worker``
in the course directory). The protocol is one JSON object per line: the worker answers
``{"ready": true}`` once nbgrader is set up, then reads jobs
``{"assignment", "student", "force"}`` on stdin and answers each with one line::

    {"student", "notes", "success", "skipped", "reason", "score", "max_score",
     "needs_manual_grade", "late_seconds", "penalty", "events"}

(the last six from the gradebook, absent if nbgrader recorded nothing). Only the answers go to
stdout; everything else the worker and nbgrader print goes to stderr, the autograde log.

For each job: :func:`hepdl_course.preflight.preflight`, then nbgrader's ``Autograde`` converter
with :func:`hepdl_course.preprocessors.grading_preprocessors`, then the gradebook is read and
every process the notebook left running is stopped (the worker is a child subreaper on Linux,
so they are its descendants even after their parent exits).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import sys
from pathlib import Path
from typing import Any

from hepdl_course.grading_notes import execution_notes
from hepdl_course.preflight import preflight
from hepdl_course.settings import load_settings

__all__ = ["main"]

_PR_SET_CHILD_SUBREAPER = 36


def _gradebook_result(app, assignment: str, student: str) -> dict[str, Any]:
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
        events += execution_notes(cells, path.name)
    info["events"] = sorted(set(events), key=events.index)
    return info


def _become_subreaper() -> None:
    """Adopt the processes a notebook leaves behind (Linux), so that they can be stopped."""
    if sys.platform == "linux":
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _alive(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _end_descendants() -> int:
    """Stop every process still below this one (between students there should be none);
    the number that were still running."""
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


def _grade(app, job: dict, course_dir: Path) -> dict[str, Any]:
    """Pre-flight, autograde and report one student (``job``)."""
    from nbgrader.converters import Autograde
    from nbgrader.utils import capture_log

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
        result.update(_gradebook_result(app, assignment, student))
    except Exception as err:  # noqa: BLE001
        result.setdefault("reason", f"could not read the gradebook: {err}")
    left = _end_descendants()
    if left:
        result.setdefault("events", []).append(
            f"{left} process(es) the notebook started were still running; they were stopped")
    return result


def main() -> None:
    """Read JSON jobs ``{"assignment", "student", "force"}`` on stdin; answer one line each."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                               # nothing else may write on the answer channel
    course_dir = Path.cwd()
    from nbgrader.apps.autogradeapp import AutogradeApp
    from traitlets.config import Config

    from hepdl_course.preprocessors import grading_preprocessors, sanitize_preprocessors

    settings = load_settings(course_dir)
    _become_subreaper()
    config = Config()
    config.Autograde.autograde_preprocessors = grading_preprocessors()
    config.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    config.LimitOutputSize.max_chars = int(settings.max_output_chars)
    app = AutogradeApp(config=config)
    app.initialize([])
    channel.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        channel.write(json.dumps(_grade(app, json.loads(line), course_dir)) + "\n")


if __name__ == "__main__":
    main()
