"""Wall time and peak memory of every notebook at the ci tier, against its budget.

    make bench                          # or: .venv/bin/python benchmarks/notebooks.py [NAME ...]

Each notebook runs in a fresh process (papermill, kernel on this machine's cores); the peak is
the kernel's maximum resident memory. Targets (course.md): each notebook within the budget in its
assignment.toml, at most 3 min and 2 GB on 2 cores, the whole course under 15 min. Exits 1 if a
target is missed. Timings vary ~2x from run to run: this is a benchmark, not a test.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hepdl_course import course
from hepdl_course.execute import band_failures, run_measured

COURSE_MINUTES = 15
NOTEBOOK_SECONDS, NOTEBOOK_MB = 180, 2048


def main(names: list[str]) -> int:
    root = course.repo_root(Path(__file__).parent)
    selected = [course.find(n, root) for n in names] if names else course.assignments(root)
    print(f"{'notebook':24s} {'wall s':>8s} {'budget':>7s} {'peak MB':>8s} {'budget':>7s}  status")
    total, missed = 0.0, 0
    with tempfile.TemporaryDirectory(prefix="hepdl-bench-") as tmp:
        for a in selected:
            run = run_measured(a.name, "ci", Path(tmp), data_dir=root / "datasets")
            total += run.wall_s
            problems = []
            if run.error:
                problems.append(f"error: {run.error}")
            problems += band_failures(a, run.results)
            if run.wall_s > min(a.budget_seconds, NOTEBOOK_SECONDS):
                problems.append("over time budget")
            if run.peak_mb > min(a.budget_memory_mb, NOTEBOOK_MB):
                problems.append("over memory budget")
            missed += bool(problems)
            print(f"{a.name:24s} {run.wall_s:8.1f} {a.budget_seconds:7.0f} {run.peak_mb:8.0f} "
                  f"{a.budget_memory_mb:7.0f}  {'; '.join(problems) or 'ok'}", flush=True)
    print(f"{'whole course':24s} {total:8.1f} {COURSE_MINUTES * 60:7d}")
    if total > COURSE_MINUTES * 60:
        missed += 1
        print("whole course over its 15 min target")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
