"""Autograde every submission of an assignment, one student at a time, and report.

:func:`autograde` hands the students one by one to a grading worker process
(:mod:`hepdl_course.grading_worker`) and waits at most ``student_timeout`` seconds for each
answer. A student whose grading hangs past it, or whose code kills the worker, is reported as
failed and the worker is restarted for the others: the batch always completes. The worker's
kernels are the confined grading kernel (:mod:`hepdl_course.grading_kernel`), protected from
the course directory, the exchange, the gradebook and the repository's ``solutions/``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hepdl_course.grading_kernel import PROTECT_ENV, SCRATCH_ENV, kernelspec_dir
from hepdl_course.grading_notes import late_note
from hepdl_course.settings import (
    CourseSettings,
    InstructorError,
    course_path,
    load_settings,
    sqlite_path,
)
from hepdl_course.submissions import submissions

__all__ = ["REPORTS", "StudentResult", "autograde"]

REPORTS = "reports"           # COURSE_DIR/reports: autograde-ASSIGNMENT.json and .log
WORKER_START_SECONDS = 300    # the worker must say it is ready within this


@dataclass
class StudentResult:
    """How one student's submission was graded (a line of ``reports/autograde-ASSIGNMENT.json``)."""

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
    grace_seconds: float = 0.0        # the course's grace period (no penalty within it)

    def line(self) -> str:
        """One line for the terminal: student, status, score and what happened."""
        score = f"{self.score:g}/{self.max_score:g}" if self.score is not None else "-"
        extra = "; ".join(([late_note(self.late_seconds, self.penalty, self.raw_score,
                                      grace_seconds=self.grace_seconds)]
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
        """Start the worker and wait (``timeout`` seconds at most) until it is ready."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hepdl_course.grading_worker"],
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
        """Let the worker finish (end of its input), or stop it after a minute."""
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
    db = sqlite_path(settings.db(course_dir))
    if db:
        paths.append(db)
    return paths


def _student_result(answer: dict, grace_seconds: float = 0.0) -> StudentResult:
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
        bool(answer.get("skipped")), raw, grace_seconds)


def autograde(course_dir: str | os.PathLike, assignment: str, *, students: list[str] | None = None,
              force: bool = False, student_timeout: float | None = None,
              data_dir: str | os.PathLike | None = None, echo=None) -> list[StudentResult]:
    """Grade every collected submission of ``assignment``; never stop at one student.

    Returns one :class:`StudentResult` per student and writes them to
    ``reports/autograde-ASSIGNMENT.json`` (the worker's log beside it). Without ``force`` a
    student already graded is only graded again after a newer submission was collected.
    ``student_timeout`` (seconds) overrides the course's; ``data_dir`` is the notebooks'
    ``HEPDL_DATA_DIR`` (default: the repository's ``datasets/``); ``echo`` is called with each
    student's :meth:`StudentResult.line` as soon as it is known.
    """
    from hepdl_course.nbgrader_course import nbgrader_env

    course_dir = course_path(course_dir)
    settings = load_settings(course_dir)
    if not (course_dir / "release" / assignment).is_dir():
        raise InstructorError(f"{assignment} was never released in {course_dir}: run "
                              f"hepdl-course release-course {course_dir} {assignment}")
    found = submissions(course_dir, assignment)
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
                [str(kernelspec_dir(scratch / "jupyter"))]
                + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]),
            PROTECT_ENV: os.pathsep.join(_protected(course_dir, settings)),
            SCRATCH_ENV: str(scratch),
            "HEPDL_DATA_DIR": str(Path(data_dir).resolve() if data_dir
                                  else Path(settings.repo) / "datasets"),
        })
        env.pop("HEPDL_RESULTS", None)          # results.json goes next to the graded notebook
        worker = _Worker(course_dir, env, log)
        try:
            for student in names:
                if worker.proc is None:
                    worker.start(timeout=WORKER_START_SECONDS)
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
                    result = _student_result(answer, 60.0 * settings.grace_minutes)
                results.append(result)
                if echo:
                    echo(result.line())
        finally:
            worker.close()
    (reports / f"autograde-{assignment}.json").write_text(json.dumps(
        {"assignment": assignment, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(),
         "students": [asdict(r) for r in results]}, indent=2) + "\n")
    return results
