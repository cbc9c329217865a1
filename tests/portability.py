"""Run tests under the conditions that differ from one machine to the next (``make test-portability``).

A suite that passes only on the machine that wrote its references lies to the next one. This
runs pytest (by default the notebook tests: every notebook at the ci tier with its result bands,
and the reference-run regressions) once per variation:

=============  ======================================================================
variation      what changes
=============  ======================================================================
onednn-off     ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow's own kernels instead of oneDNN's
onednn-on      ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN's kernels (the default on x86 Linux)
threads-1      ``OMP_NUM_THREADS=1``: one thread per reduction
threads-2      ``OMP_NUM_THREADS=2``
under-load     one busy process per core runs beside the tests (a shared CI machine)
=============  ======================================================================

and prints one line per variation with its outcome and wall time. Exit status 0 only if every
variation passed.

Usage::

    python tests/portability.py                         # every variation, notebook tests
    python tests/portability.py under-load threads-1    # some of them
    python tests/portability.py --pytest-args "-m 'not server'"   # another selection
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIATIONS: dict[str, dict[str, str]] = {
    "onednn-off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn-on": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "threads-1": {"OMP_NUM_THREADS": "1"},
    "threads-2": {"OMP_NUM_THREADS": "2"},
    "under-load": {},
}
LOADED = {"under-load"}
DEFAULT_PYTEST_ARGS = "-m notebook"


def _busy_processes() -> list[subprocess.Popen]:
    """One CPU-bound process per core, as another job on a shared machine would be."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 1)]


def run(name: str, pytest_args: str) -> tuple[int, str, float]:
    """Run pytest under one variation; return (exit status, pytest's summary line, seconds)."""
    env = {**os.environ, **VARIATIONS[name]}
    load = _busy_processes() if name in LOADED else []
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                               *shlex.split(pytest_args)],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        for busy in load:
            busy.kill()
            busy.wait()
    wall = time.perf_counter() - start
    log = ROOT / ".portability" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    summary = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return proc.returncode, (summary[-1].strip("= ") if summary else f"no summary, see {log}"), wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variations", nargs="*", metavar="VARIATION",
                        help=f"any of {', '.join(VARIATIONS)} (default: all)")
    parser.add_argument("--pytest-args", default=DEFAULT_PYTEST_ARGS,
                        help=f"pytest's arguments (default: {DEFAULT_PYTEST_ARGS!r})")
    args = parser.parse_args(argv)
    unknown = [name for name in args.variations if name not in VARIATIONS]
    if unknown:
        parser.error(f"unknown variation(s) {', '.join(unknown)}; known: {', '.join(VARIATIONS)}")
    failed = []
    print(f"pytest {args.pytest_args} under {len(args.variations or VARIATIONS)} variations "
          f"on {os.cpu_count()} cores (logs in .portability/)", flush=True)
    for name in args.variations or VARIATIONS:
        status, summary, wall = run(name, args.pytest_args)
        print(f"{name:12s} {'ok' if status == 0 else 'FAILED':7s} {wall:7.0f} s  {summary}",
              flush=True)
        if status != 0:
            failed.append(name)
    if failed:
        print(f"failed under: {', '.join(failed)} (see .portability/<variation>.log)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
