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

This module gathers the commands' functions (``hepdl_course.cli`` calls them); each job has its
own module::

    settings        the course directory and its settings (init, student-config)
    handout         release-course and feedback
    submissions     collect, imported submissions, their times, the originals kept
    autograde       one student at a time through the grading worker; the report
    grading_worker  the worker process: pre-flight, nbgrader's Autograde, the gradebook
    preflight       repairing a submission before nbgrader sees it
    preprocessors   nbgrader preprocessors: resilient execution, bounded output
    grading_kernel  the confined kernel a submission runs in
    sandbox         Landlock and the audit hook (also used by hepdl_course.confine)
    gradebook       grades (CSV export) and the formgrader
    nbgrader_batch  nbgrader command lines run in a child process
"""

from __future__ import annotations

from hepdl_course.autograde import StudentResult, autograde
from hepdl_course.gradebook import export_grades, formgrader_command
from hepdl_course.handout import Feedback, feedback, release_course
from hepdl_course.preflight import preflight
from hepdl_course.settings import (
    CourseSettings, InstructorError, init_course, load_settings, student_config)
from hepdl_course.submissions import collect, import_submissions

__all__ = [
    "CourseSettings", "Feedback", "InstructorError", "StudentResult", "autograde", "collect",
    "export_grades", "feedback", "formgrader_command", "import_submissions", "init_course",
    "load_settings", "preflight", "release_course", "student_config",
]
