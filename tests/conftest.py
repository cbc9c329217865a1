"""Shared fixtures: the repository, the ci-size data sets, a non-interactive matplotlib."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
# Executed notebooks and nbgrader find the interpreter's tools (jupyter, alembic) on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


from hub.harness import hub  # noqa: E402,F401 (the school's hub, for tests/test_hub*.py)

# Programs that tests start, not modules to import (--doctest-modules would run them).
collect_ignore = ["hub/ngshare"]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def ci_data(root) -> Path:
    """Build (or find up to date) every data set at the ci size; return the datasets folder."""
    from hepdl import datasets

    for name in datasets.REGISTRY:
        datasets.build(name, "ci", root / "datasets")
    return root / "datasets"


def no_landlock(what: str) -> str:
    """The failure message of a test that needs Landlock on a kernel that does not offer it."""
    return (f"{what}: this kernel ({os.uname().release}) offers no Landlock. The course's "
            "sandboxes need Linux 5.13 or later with Landlock enabled (`landlock` in "
            "/sys/kernel/security/lsm, or the boot parameter lsm=...,landlock); without it they "
            "fall back to weaker protection, which this test does not accept.")


def assignment_names() -> list[str]:
    from hepdl_course.course import assignments

    return [a.name for a in assignments(ROOT)]


# name -> (wall seconds, kernel peak MB) of the ci-tier runs, printed at the end of the session.
MEASURED: dict[str, tuple[float, float]] = {}


def pytest_terminal_summary(terminalreporter):
    if not MEASURED:
        return
    terminalreporter.section("ci-tier notebook runs (wall time, kernel peak memory)")
    for name, (wall, peak) in MEASURED.items():
        terminalreporter.write_line(f"{name:28s} {wall:7.1f} s {peak:8.0f} MB")
    terminalreporter.write_line(f"{'all notebooks':28s} {sum(w for w, _ in MEASURED.values()):7.1f} s")
