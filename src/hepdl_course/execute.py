"""Execute a source notebook with papermill at a tier, outside the repository.

The assignment folder is copied to a work folder, the tier's parameters are injected (plus
``DATA_DIR`` and ``RESULTS_PATH``), and the executed notebook and its ``results.json`` are left
there. Run through :func:`run_measured` (a fresh Python process per notebook) the wall time and
the kernel's peak resident memory are measured as well: that is what the tests and the
benchmark use.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hepdl_course.course import Assignment
from hepdl_course.nbgrader_course import IGNORED

__all__ = ["Execution", "band_failures", "execute", "run_measured"]


@dataclass
class Execution:
    assignment: str
    tier: str
    notebook: str
    results: dict[str, Any]
    wall_s: float
    peak_mb: float | None = None
    error: str | None = None


def execute(
    assignment: Assignment,
    tier: str,
    work_dir: Path,
    *,
    data_dir: Path | None = None,
    parameters: dict[str, Any] | None = None,
    transform: Callable[[dict], dict] | None = None,
) -> Execution:
    """Run ``assignment``'s source notebook at ``tier`` in ``work_dir/<name>/``.

    A cell that raises does not raise here: the error is returned in ``Execution.error`` with
    the executed notebook kept for inspection. ``transform``, if given, edits the copied
    notebook (its JSON as a dict) before it runs: benchmarks use it to add cells.
    """
    import papermill

    work = Path(work_dir).resolve() / assignment.name
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(assignment.source_dir, work, ignore=shutil.ignore_patterns(*IGNORED))
    if transform is not None:
        copy = work / f"{assignment.name}.ipynb"
        copy.write_text(json.dumps(transform(json.loads(copy.read_text())), indent=1))
    results_path = work / "results.json"
    data_dir = Path(data_dir or assignment.root / "datasets").resolve()
    params = {**assignment.tier_parameters(tier), **(parameters or {}),
              "DATA_DIR": str(data_dir), "RESULTS_PATH": str(results_path)}
    output = work / f"{assignment.name}.executed.ipynb"
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(work / f"{assignment.name}.ipynb"),
            str(output),
            parameters=params,
            cwd=str(work),
            kernel_name="python3",
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue} (cell {err.exec_count})"
    wall = time.perf_counter() - start
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return Execution(assignment.name, tier, str(output), results, wall, error=error)


def in_band(band: tuple[float, float], value: Any) -> bool:
    """Whether a recorded result is a number inside its ``[expect]`` band (edges included)."""
    low, high = band
    return isinstance(value, (int, float)) and low <= value <= high


def band_failures(assignment: Assignment, results: dict[str, Any]) -> list[str]:
    """Results outside their ``[expect]`` band (or missing), as readable lines."""
    failures = []
    for name, (low, high) in assignment.expect.items():
        if name not in results:
            failures.append(f"{assignment.name}: result {name!r} was not recorded")
        elif not in_band((low, high), results[name]):
            failures.append(f"{assignment.name}: {name} = {results[name]!r} outside [{low}, {high}]")
    return failures


def _peak_children_mb() -> float:
    # Linux reports ru_maxrss in KiB: the largest waited-for child, i.e. the kernel.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_measured(name: str, tier: str, work_dir: Path, *, data_dir: Path | None = None,
                 timeout: float | None = None) -> Execution:
    """Execute one notebook in a fresh process and measure wall time and kernel peak memory."""
    cmd = [sys.executable, "-m", "hepdl_course", "execute", name, "--tier", tier,
           "--work-dir", str(work_dir), "--json"]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode not in (0, 1) or not lines:
        raise RuntimeError(f"executing {name} crashed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return Execution(**json.loads(lines[-1]))


def main_execute(assignment: Assignment, tier: str, work_dir: Path, data_dir: Path | None,
                 as_json: bool) -> int:
    """The ``execute`` command: run, then print a summary (JSON for :func:`run_measured`)."""
    result = execute(assignment, tier, work_dir, data_dir=data_dir)
    result.peak_mb = round(_peak_children_mb(), 1)
    if as_json:
        print(json.dumps(asdict(result)))
    else:
        print(f"{result.assignment} [{tier}] {result.wall_s:.1f} s, kernel peak {result.peak_mb:.0f} MB")
        print(f"executed notebook: {result.notebook}")
        print(json.dumps(result.results, indent=2))
        for line in band_failures(assignment, result.results) if tier == "ci" else []:
            print("OUT OF BAND:", line)
        if result.error:
            print("ERROR:", result.error)
    return 1 if result.error else 0
