"""``python -m hepdl_course`` (or ``hepdl-course``): the course's maintenance commands."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hepdl.common.tiers import TIERS
from hepdl_course import course


def _selected(names: list[str]) -> list[course.Assignment]:
    every = course.assignments()
    if not names:
        return every
    return [course.find(name) for name in names]


def cmd_list(args) -> int:
    from hepdl_course.checks import grading, read_notebook

    for a in course.assignments():
        nb, _ = read_notebook(a.notebook)
        graded = grading(nb) if nb is not None else "unreadable notebook"
        print(f"{a.section:13s} {a.order:2d} {a.name:24s} ~{a.minutes} min, {graded}; "
              f"ci budget {a.budget_seconds:.0f} s / {a.budget_memory_mb:.0f} MB")
    return 0


def cmd_check(args) -> int:
    from hepdl_course.checks import course_problems

    problems = course_problems(_selected(args.names))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_release(args) -> int:
    from hepdl_course.release import ReleaseError, differences, generate, release

    every = course.assignments()
    try:
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                generate(every, Path(tmp))
                diffs = differences(every, Path(tmp))
            for line in diffs:
                print(line)
            if diffs:
                print("Student notebooks are out of date: run `make release` and commit the result.")
                return 1
            print("Student notebooks match solutions/.")
            return 0
        for folder in release(every):
            print(f"released {folder.relative_to(folder.parents[1])}")
    except ReleaseError as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def cmd_execute(args) -> int:
    from hepdl_course.execute import main_execute

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="hepdl-run-"))
    data = Path(args.data_dir) if args.data_dir else None
    return main_execute(course.find(args.name), args.tier, work, data, args.json)


def cmd_roundtrip(args) -> int:
    from hepdl_course.grading import roundtrip

    selected = _selected(args.names)
    course_dir = Path(args.course_dir or tempfile.mkdtemp(prefix="hepdl-grading-"))
    grades, export = roundtrip(selected, course_dir / "course", tier=args.tier)
    failed = 0
    for grade in grades:
        expected = grade.max_score if grade.student == "solution" else 0.0
        ok = grade.score == expected and grade.feedback is not None
        failed += not ok
        print(f"{'ok ' if ok else 'BAD'} {grade.assignment:24s} {grade.student:10s} "
              f"{grade.score:g}/{grade.max_score:g} feedback={'yes' if grade.feedback else 'MISSING'}")
    print(f"grades exported to {export}")
    return 1 if failed else 0


def cmd_references(args) -> int:
    from hepdl import datasets
    from hepdl_course.references import check, reference_path

    root = course.repo_root()
    for assignment in _selected(args.names):
        if not assignment.deterministic:
            print(f"skip {assignment.name}: not marked deterministic in assignment.toml")
            continue
        for name in datasets.REGISTRY:
            datasets.build(name, "ci", root / "datasets")
        check(assignment, root / "datasets", regen=True)
        print(f"wrote {reference_path(assignment).relative_to(root)}")
    return 0


def cmd_lab(args) -> int:
    from hepdl_course.lab import run_lab

    return run_lab(course.repo_root(), port=args.port, open_browser=not args.no_browser,
                   token=args.token)


# --- instructor commands: a course directory outside the repository (hepdl_course.instructor) ---

def _instructor(run) -> int:
    from hepdl_course.instructor import InstructorError
    from hepdl_course.nbgrader_course import NbgraderError

    try:
        return run()
    except (InstructorError, NbgraderError) as err:
        print(f"hepdl-course: {err}", file=sys.stderr)
        return 2


def cmd_init(args) -> int:
    from hepdl_course import instructor

    def run():
        course_dir = instructor.init_course(
            args.course_dir, args.names, repo=args.repo, course_id=args.course_id,
            db_url=args.db_url, exchange=args.exchange, timeout=args.timeout,
            late_penalty=args.late_penalty, grace_minutes=args.grace_minutes,
            student_timeout=args.student_timeout,
            max_output_chars=args.max_output_chars)
        settings = instructor.load_settings(course_dir)
        print(f"course directory {course_dir}")
        print(f"  gradebook  {settings.db(course_dir)}")
        print(f"  exchange   {settings.exchange_dir(course_dir)}")
        print(f"  sources    {', '.join(sorted(p.name for p in (course_dir / 'source').iterdir()))}")
        print(f"  per-cell timeout {settings.timeout} s, per-student {settings.student_timeout} s, "
              f"late penalty {settings.late_penalty!r}, grace period {settings.grace_minutes:g} min")
        return 0
    return _instructor(run)


def cmd_release_course(args) -> int:
    from hepdl_course import instructor

    def run():
        def warn(message):
            print(f"hepdl-course: warning: {message}", file=sys.stderr)

        for folder in instructor.release_course(args.course_dir, args.names, duedate=args.duedate,
                                                force=args.force, exchange=not args.no_exchange,
                                                warn=warn):
            where = "" if args.no_exchange else " and released to the exchange"
            print(f"generated {folder}{where}")
        return 0
    return _instructor(run)


def cmd_collect(args) -> int:
    from hepdl_course import instructor

    def run():
        from hepdl_course.grading_notes import duration
        from hepdl_course.submissions import REFUSED

        records = instructor.collect(args.course_dir, args.assignment, from_dir=args.from_dir,
                                     before_duedate=args.before_duedate, submitted_at=args.submitted_at)
        for r in records:
            late = (f"LATE by {duration(r.late_seconds)}" if r.late else
                    f"late by {duration(r.late_seconds)}, within the grace period" if r.late_seconds else "")
            print(f"{r.student:24s} {r.status:12s} {r.timestamp or '':28s} {late}".rstrip())
        refused = [r for r in records if r.status.startswith(REFUSED)]
        print(f"{len(records) - len(refused)} submission(s) of {args.assignment}"
              + (f"; {len(refused)} refused (left where they are: see above)" if refused else ""))
        return 1 if refused else 0
    return _instructor(run)


def cmd_autograde(args) -> int:
    from hepdl_course import instructor
    from hepdl_course.autograde import REPORTS
    from hepdl_course.settings import course_path

    def run():
        print(f"{'student':24s} {'status':19s} {'score':>9s}  notes")
        results = instructor.autograde(
            args.course_dir, args.assignment, students=args.student, force=args.force,
            student_timeout=args.student_timeout, data_dir=args.data_dir, echo=print)
        failed = [r for r in results if r.status == "failed"]
        manual = [r for r in results if r.status == "needs manual grade"]
        print(f"{len(results)} student(s): {len(results) - len(failed) - len(manual)} graded, "
              f"{len(manual)} need a manual grade, {len(failed)} failed; report in "
              f"{course_path(args.course_dir) / REPORTS}")
        return 1 if failed else 0
    return _instructor(run)


def cmd_feedback(args) -> int:
    from hepdl_course import instructor

    def run():
        results = instructor.feedback(args.course_dir, args.assignment, release=not args.no_release,
                                      students=args.student)
        for r in results:
            where = ("released to the exchange" if r.released else
                     "not released (not submitted through the exchange, or --no-release)")
            html = ", ".join(str(p) for p in r.html)
            print(f"{r.student:24s} {html + '; ' + where if html else 'NO FEEDBACK (not graded)'}")
        return 1 if any(not r.html for r in results) else 0
    return _instructor(run)


def cmd_grades(args) -> int:
    from hepdl_course import instructor

    def run():
        path = instructor.export_grades(args.course_dir, args.to)
        print(f"grades exported to {path}")
        return 0
    return _instructor(run)


def cmd_formgrader(args) -> int:
    import os
    import secrets

    from hepdl_course import instructor
    from hepdl_course.nbgrader_course import nbgrader_env
    from hepdl_course.settings import course_path

    def run():
        cmd = instructor.formgrader_command(args.course_dir, port=args.port,
                                            open_browser=not args.no_browser, token=None)
        cmd += ["--log-level=WARN", "--LabApp.log_level=WARN"]   # start-up lines would bury the URL
        token = args.token or secrets.token_urlsafe(24)
        print(f"The formgrader of {course_path(args.course_dir)}:\n\n"
              f"    http://127.0.0.1:{args.port}/formgrader?token={token}\n\n"
              "Open it in a browser on this machine. Ctrl-C twice here stops it.", flush=True)
        os.chdir(course_path(args.course_dir))
        # the token goes in the environment: a command line is readable by every local user
        os.execve(cmd[0], cmd, nbgrader_env({"JUPYTER_TOKEN": token}))
        return 0  # not reached
    return _instructor(run)


def cmd_student_config(args) -> int:
    from hepdl_course import instructor

    def run():
        text = instructor.student_config(args.course_dir)
        if args.write:
            Path(args.write).parent.mkdir(parents=True, exist_ok=True)
            Path(args.write).write_text(text)
            print(f"wrote {args.write}")
        else:
            print(text, end="")
        return 0
    return _instructor(run)


def _add_instructor_parsers(sub) -> None:
    p = sub.add_parser("init", help="create or update a course directory outside the repository")
    p.add_argument("course_dir")
    p.add_argument("names", nargs="*", help="assignments to copy into source/ (default: all)")
    p.add_argument("--db-url", default=None,
                   help="gradebook database URL (default: SQLite COURSE_DIR/gradebook.db)")
    p.add_argument("--exchange", default=None, help="nbgrader exchange folder (default: COURSE_DIR/exchange)")
    p.add_argument("--course-id", default=None, help="nbgrader course id (default: hepdl)")
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: 600)")
    p.add_argument("--student-timeout", type=int, default=None,
                   help="seconds per student, all cells (default: 3600)")
    p.add_argument("--late-penalty", choices=["none", "zero"], default=None,
                   help="nbgrader's late submission penalty (default: none)")
    p.add_argument("--grace-minutes", type=float, default=None,
                   help="no late penalty for a submission late by at most this (default: 0)")
    p.add_argument("--max-output-chars", type=int, default=None,
                   help="longest output kept in graded notebooks (default: 100000)")
    p.add_argument("--repo", default=None, help="the course repository (default: this checkout)")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("release-course", help="generate assignments and release them to the exchange")
    p.add_argument("course_dir")
    p.add_argument("names", nargs="+")
    p.add_argument("--duedate", default=None, help='e.g. "2026-07-03 18:00:00 UTC"')
    p.add_argument("--force", action="store_true", help="release again an assignment released before")
    p.add_argument("--no-exchange", action="store_true", help="only generate release/ (no hub)")
    p.set_defaults(func=cmd_release_course)
    p = sub.add_parser("collect", help="collect submissions from the exchange or a folder")
    p.add_argument("course_dir")
    p.add_argument("assignment")
    p.add_argument("--from", dest="from_dir", default=None,
                   help="import FOLDER/STUDENT/ASSIGNMENT/*.ipynb instead of the exchange")
    p.add_argument("--before-duedate", action="store_true",
                   help="each student's last submission before the due date (exchange only)")
    p.add_argument("--submitted-at", default=None,
                   help='with --from: the time of the submissions that have no timestamp.txt, '
                        'e.g. "2026-07-01 17:59:00 UTC" (without it they are refused when the '
                        'assignment has a due date)')
    p.set_defaults(func=cmd_collect)
    p = sub.add_parser("autograde", help="grade every collected submission, one student at a time")
    p.add_argument("course_dir")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=None, help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again submissions graded before")
    p.add_argument("--student-timeout", type=float, default=None)
    p.add_argument("--data-dir", default=None, help="the data sets (default: the repository's datasets/)")
    p.set_defaults(func=cmd_autograde)
    p = sub.add_parser("feedback", help="generate feedback HTML and release it to the exchange")
    p.add_argument("course_dir")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=None)
    p.add_argument("--no-release", action="store_true", help="only generate COURSE_DIR/feedback/")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("grades", help="export the grades to CSV")
    p.add_argument("course_dir")
    p.add_argument("--to", default=None, help="CSV file (default: COURSE_DIR/grades.csv)")
    p.set_defaults(func=cmd_grades)
    p = sub.add_parser("formgrader", help="serve nbgrader's formgrader for manual grading")
    p.add_argument("course_dir")
    p.add_argument("--port", type=int, default=8889)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--token", default=None)
    p.set_defaults(func=cmd_formgrader)
    p = sub.add_parser("student-config", help="the nbgrader_config.py for the students' servers")
    p.add_argument("course_dir")
    p.add_argument("--write", default=None, help="write it to this file instead of printing it")
    p.set_defaults(func=cmd_student_config)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``hepdl-course`` (``python -m hepdl_course``): every subcommand."""
    parser = argparse.ArgumentParser(prog="hepdl-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the assignments").set_defaults(func=cmd_list)
    p = sub.add_parser("check", help="check the source notebooks' metadata and conventions")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("release", help="regenerate preexercises/ and lessons/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report drift, write nothing")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("execute", help="run one source notebook with papermill at a tier")
    p.add_argument("name")
    p.add_argument("--tier", default="ci", choices=TIERS)
    p.add_argument("--work-dir", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_execute)
    p = sub.add_parser("roundtrip", help="grade the solution and the untouched student version")
    p.add_argument("names", nargs="*")
    p.add_argument("--tier", default="ci", choices=TIERS)
    p.add_argument("--course-dir", default=None)
    p.set_defaults(func=cmd_roundtrip)
    p = sub.add_parser("references", help="regenerate the stored reference runs (pytest-notebook)")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_references)
    p = sub.add_parser("lab", help="serve the course in JupyterLab on 127.0.0.1")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--token", default=None, help="fixed access token (default: a random one)")
    p.set_defaults(func=cmd_lab)
    _add_instructor_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (course.AssignmentError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"hepdl-course {args.command}: {message}", file=sys.stderr)
        return 2
