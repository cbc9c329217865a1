"""Run several nbgrader command lines in a course directory, in one child Python process.

The instructor commands that run no student code (release, collect, feedback, export) call
nbgrader's own applications, as ``nbgrader ARGS`` would, one command line after another in one
child process: nbgrader is imported once per call, not once per command line (feedback runs
one ``release_feedback`` per student).

Why a child process and not this one: a traitlets application configures logging with
``logging.config.dictConfig``, which first closes every logging handler of the process. A
caller's handler that closes its stream (absl's, imported with Keras, holds the ``sys.stderr``
of its import: under pytest, the capture file) would be lost. In a child process only the
child's own handlers are touched; running in-process would need a patch of the private
``logging.config._clearExistingHandlers``. The price, measured on a shared 2-core machine: a
call costs about 3 s (interpreter start and nbgrader's import, 2.5 to 3 s of it), where
in-process calls after the first cost 0.01 s. A ``hepdl-course`` command is one process that
imported nbgrader anyway, so it barely notices (``grades``: 3.61 s against 3.56 s, medians of
8); a test session that runs many commands in one process pays about 3 s per command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BatchRun", "main", "run"]

FAILED = "=== failed"      # how the output marks a failed command line (then its status and args)


@dataclass
class BatchRun:
    """The outcome of :func:`run`."""

    returncode: int          # 0, or the status of the last command line that failed
    output: str              # stdout and stderr together; each command line after ``=== nbgrader ARGS``

    def failure(self) -> str:
        """The lines of the output that say what went wrong (the last few), for an error message."""
        lines = [line for line in self.output.splitlines()
                 if "ERROR" in line or "CRITICAL" in line or "Error" in line or line.startswith(FAILED)]
        return "\n".join(lines[-8:]) or self.output[-2000:]

    def failed(self) -> list[list[str]]:
        """The argument lists of the command lines that failed."""
        return [json.loads(line.split(": ", 1)[1]) for line in self.output.splitlines()
                if line.startswith(FAILED)]


def run(course_dir: str | os.PathLike, *commands: list[str], keep_going: bool = False,
        timeout: float | None = None) -> BatchRun:
    """Run nbgrader command lines (``["collect", "pre1_numpy"]``...) in ``course_dir``.

    Stops at the first failure unless ``keep_going``; ``timeout`` is in seconds for them all.
    """
    from hepdl_course.nbgrader_course import nbgrader_env

    request = json.dumps({"commands": [list(map(str, args)) for args in commands],
                          "keep_going": keep_going})
    proc = subprocess.run([sys.executable, "-u", "-m", "hepdl_course.nbgrader_batch", request],
                          cwd=Path(course_dir), env=nbgrader_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return BatchRun(proc.returncode, proc.stdout)


def _run_one(args: list[str]) -> int:
    """Run one nbgrader command line in this process; its exit status."""
    import traceback

    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.clear_instance()
    app = NbGraderApp.instance()
    try:
        app.initialize(args)
        app.start()
    except NoStart:                 # what jupyter_core raises once a subcommand has run
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    except Exception:  # noqa: BLE001 (reported like nbgrader's own failures)
        traceback.print_exc()
        return 1
    finally:
        if app.subapp is not None:
            type(app.subapp).clear_instance()
        NbGraderApp.clear_instance()
    return 0


def main(argv: list[str] | None = None) -> int:
    """The child: run the command lines of the JSON request in ``argv[0]``; the exit status."""
    request = json.loads((sys.argv[1:] if argv is None else argv)[0])
    status = 0
    for args in request["commands"]:
        print(f"=== nbgrader {' '.join(args)}")
        code = _run_one(args)
        if code:
            print(f"{FAILED} with status {code}: {json.dumps(args)}")
            status = code
            if not request["keep_going"]:
                break
    return status


if __name__ == "__main__":
    sys.exit(main())
