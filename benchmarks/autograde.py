"""What autograding one submission costs: wall time, CPU time and peak memory of ``nbgrader
autograde`` on the solution notebook of every assignment, hidden tests included.

    .venv/bin/python benchmarks/autograde.py [--tier student] [NAME ...]

At a school the grader re-executes each submission as the student ran it, with the notebook's
own defaults: the student tier (``--tier student``, the default here; it needs the student-size
data, ``make data``). ``--tier ci`` measures the small runs the tests grade. Each assignment is
graded in a fresh course folder by a fresh ``nbgrader`` process; the figures are that process's
and its kernel's (``wait4``: wall seconds, user + system CPU seconds, the largest resident set,
i.e. the kernel's). CPU seconds change less than wall seconds when the machine is loaded; report
both. At the student tier the figures are checked against the ``[student]`` budget stated in
assignment.toml (which the course's checks hold against the lesson's minutes and Binder's 2 GB):
more than 1.5x its seconds or 1.15x its memory is reported. Exits 1 when a budget is missed or
the solution does not get full marks (then the figures mean nothing).

Each row also keeps what the design task's hidden test printed about the unseen data (the
solution's score beside the bar). Writes ``benchmarks/results/autograde-TIER.json``; the
instructor guide's table quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hepdl_course import course
from hepdl_course.grading import read_grades, submit
from hepdl_course.nbgrader_course import make_course, nbgrader, nbgrader_env


def grade_measured(assignment: course.Assignment, tier: str, work: Path, data_dir: Path) -> dict:
    """Autograde ``assignment``'s solution once; its score and what the grading process used."""
    course_dir = make_course(work / assignment.name, [assignment])
    nbgrader(course_dir, ["generate_assignment", assignment.name, "--force"])
    params = assignment.tier_parameters(tier) if tier != "student" else {}
    submit(course_dir, "solution", assignment, assignment.notebook, params)
    env = nbgrader_env({"HEPDL_DATA_DIR": str(data_dir),
                        "HEPDL_RESULTS": str(course_dir / "results.json")})
    start = time.monotonic()
    with open(course_dir / "autograde.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", assignment.name,
                                 "--force"], cwd=course_dir, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"nbgrader autograde {assignment.name} failed; its log: "
                           f"{course_dir / 'autograde.log'}")
    score, max_score = read_grades(course_dir)[(assignment.name, "solution")]
    return {"assignment": assignment.name, "tier": tier, "score": score, "max_score": max_score,
            "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024), "load_1min": round(os.getloadavg()[0], 1),
            "design_unseen": design_unseen(course_dir, assignment)}


def design_unseen(course_dir: Path, assignment: course.Assignment) -> str | None:
    """What the design task's hidden test printed about the unseen data in the autograded
    notebook (its score beside the bar), or None for an assignment without a design task."""
    graded = course_dir / "autograded" / "solution" / assignment.name / assignment.notebook.name
    cells = json.loads(graded.read_text())["cells"]
    for cell in cells:
        if "design" in cell.get("metadata", {}).get("tags", []):
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                           if o.get("output_type") == "stream")
            # the hidden test's line names the unseen data before its bar; the visible test's does not
            lines = [line for line in text.splitlines() if "unseen" in line.split("(the bar")[0]]
            return "; ".join(lines) or None
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--tier", default="student", choices=("ci", "student", "full"))
    args = parser.parse_args(argv)
    root = course.repo_root(Path(__file__).parent)
    selected = ([course.find(n, root) for n in args.names] if args.names
                else course.assignments(root))
    out = root / "benchmarks" / "results" / f"autograde-{args.tier}.json"
    out.parent.mkdir(exist_ok=True)
    rows = json.loads(out.read_text()) if out.exists() else {}
    print(f"{'assignment':26s} {'score':>7s} {'wall s':>7s} {'cpu s':>7s} {'peak MB':>8s} {'load':>5s}")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="hepdl-autograde-bench-") as tmp:
        for a in selected:
            row = grade_measured(a, args.tier, Path(tmp), root / "datasets")
            problems = [] if row["score"] == row["max_score"] else ["NOT FULL MARKS"]
            if args.tier == "student" and a.student_seconds is not None:
                if row["wall_s"] > 1.5 * a.student_seconds:
                    problems.append(f"over the stated {a.student_seconds:.0f} s")
                if row["peak_mb"] > 1.15 * a.student_memory_mb:
                    problems.append(f"over the stated {a.student_memory_mb:.0f} MB")
            bad += bool(problems)
            rows[a.name] = row
            out.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
            print(f"{a.name:26s} {row['score']:g}/{row['max_score']:g}".ljust(34)
                  + f" {row['wall_s']:7.0f} {row['cpu_s']:7.0f} {row['peak_mb']:8d} "
                  f"{row['load_1min']:5.1f}  {'; '.join(problems) or 'ok'}", flush=True)
            if row["design_unseen"]:
                print(f"{'':26s} design task: {row['design_unseen']}", flush=True)
    print(f"written to {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
