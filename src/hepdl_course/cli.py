"""``python -m hepdl_course`` (or ``hepdl-course``): the course's maintenance commands."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hepdl_course import course


def _selected(names: list[str]) -> list[course.Assignment]:
    every = course.assignments()
    if not names:
        return every
    return [course.find(name) for name in names]


def cmd_list(args) -> int:
    for a in course.assignments():
        print(f"{a.section:13s} {a.order:2d} {a.name:24s} ~{a.minutes} min, "
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


def main(argv: list[str] | None = None) -> int:
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
    p.add_argument("--tier", default="ci", choices=["ci", "student", "full"])
    p.add_argument("--work-dir", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_execute)
    p = sub.add_parser("roundtrip", help="grade the solution and the untouched student version")
    p.add_argument("names", nargs="*")
    p.add_argument("--tier", default="ci", choices=["ci", "student", "full"])
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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (course.AssignmentError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"hepdl-course {args.command}: {message}", file=sys.stderr)
        return 2
