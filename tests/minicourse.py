"""A minimal course (one tiny assignment) built in a temporary folder, for tooling tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HEADER = """# Demo

**What you will learn**: nothing much.
**Prerequisites**: none.
**Budget**: 1 minute; ci tier 5 s and 200 MB on 2 cores.
"""

TOML = """section = "lessons"
order = 1
minutes = 1
deterministic = true

[budget]
seconds = 60
memory_mb = 500

[student]
seconds = 6
memory_mb = 300

[parameters.ci]
N = 3
[parameters.full]
N = 10

[expect]
total = [5.5, 6.5]
"""


def grader(grade_id, *, solution, grade, points=None):
    meta = {"schema_version": 3, "grade_id": grade_id, "solution": solution, "grade": grade,
            "locked": not solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def demo_notebook() -> nbformat.NotebookNode:
    params = new_code_cell("N = 4\nDATA_DIR = None\nRESULTS_PATH = None",
                           metadata={"tags": ["parameters"]})
    answer = new_code_cell(
        'def triangle(n):\n    """Sum of 1..n."""\n    ### BEGIN SOLUTION\n'
        "    return n * (n + 1) // 2\n    ### END SOLUTION",
        metadata=grader("demo_triangle", solution=True, grade=False))
    record = new_code_cell("from hepdl import results\nresults.record('total', triangle(N), path=RESULTS_PATH)")
    tests = new_code_cell(
        '"""triangle gives the sums of 1..n."""\nassert triangle(1) == 1, "triangle(1) should be 1"\n'
        "### BEGIN HIDDEN TESTS\nassert triangle(4) == 10\n### END HIDDEN TESTS",
        metadata=grader("demo_triangle_tests", solution=False, grade=True, points=2))
    nb = new_notebook(cells=[new_markdown_cell(HEADER), params, answer, tests, record])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def make_minicourse(root: Path, notebook: nbformat.NotebookNode | None = None) -> Path:
    """Write a one-assignment course under ``root`` and return ``root``."""
    (root / "solutions" / "demo").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "lessons").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'minicourse'\n")
    nbformat.write(notebook or demo_notebook(), root / "solutions" / "demo" / "demo.ipynb")
    (root / "solutions" / "demo" / "assignment.toml").write_text(TOML)
    return root
