"""The kernel that runs a submission while grading: ipykernel, started confined.

:func:`kernelspec_dir` writes a ``python3`` kernelspec whose command is this module's
:func:`main`; the autograde worker puts it first on ``JUPYTER_PATH``, so that nbgrader's
``Execute`` starts it for every notebook. :func:`main` reads what to protect from the
environment (and removes it there), gives the kernel its own TMPDIR and its own matplotlib,
Keras and IPython folders, confines the process (:func:`hepdl_course.sandbox.confine`) and only
then starts ipykernel. The kernel starts in the student's folder, which may hold any files the
student submitted: Python runs with ``-P``, so that none of them is imported before the
confinement (a submitted ``hepdl_course/`` folder would otherwise replace this module).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from hepdl_course.sandbox import confine

__all__ = ["LANDLOCK_ENV", "PROTECT_ENV", "SCRATCH_ENV", "kernelspec_dir", "main"]

# Environment handed from the grading worker to the confined kernel (and removed there).
PROTECT_ENV = "HEPDL_GRADE_PROTECT"     # os.pathsep-separated paths the kernel may not touch
SCRATCH_ENV = "HEPDL_GRADE_SCRATCH"     # a folder in which each kernel makes its own TMPDIR
LANDLOCK_ENV = "HEPDL_GRADE_LANDLOCK"   # "0" turns Landlock off (the audit hook stays)


def _private_homes(scratch: str) -> None:
    """Give the kernel its own matplotlib, Keras and IPython folders (seeded with the
    instructor's settings), so that no submission can change them for the next."""
    home = Path.home()
    mpl_cache = Path(os.environ.get("MPLCONFIGDIR")
                     or Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib")
    mpl_config = Path(os.environ.get("MPLCONFIGDIR")
                      or Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib")
    keras = Path(os.environ.get("KERAS_HOME") or home / ".keras")
    seeds = {"MPLCONFIGDIR": [*mpl_cache.glob("fontlist-*.json"), mpl_config / "matplotlibrc"],
             "KERAS_HOME": [keras / "keras.json"], "IPYTHONDIR": []}
    for variable, files in seeds.items():
        folder = Path(scratch) / variable.lower()
        folder.mkdir(exist_ok=True)
        for path in files:
            with contextlib.suppress(OSError):
                if path.is_file():
                    shutil.copyfile(path, folder / path.name)
        os.environ[variable] = str(folder)


def main() -> None:
    """The kernel that grades a submission: confine this process, then start ipykernel."""
    protect = [p for p in os.environ.pop(PROTECT_ENV, "").split(os.pathsep) if p]
    scratch = os.environ.pop(SCRATCH_ENV, "")
    landlock = os.environ.pop(LANDLOCK_ENV, "1") != "0"
    if scratch:
        own = tempfile.mkdtemp(prefix="kernel-", dir=scratch)
        os.environ["TMPDIR"] = own
        tempfile.tempdir = None
        _private_homes(own)
    confine(protect, landlock)
    sys.path.insert(0, "")      # the notebook's folder, for its own imports, now that it is confined
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=sys.argv[1:])


def kernelspec_dir(parent: Path) -> Path:
    """A JUPYTER_PATH folder (``parent``) whose ``python3`` kernel is the confined grading kernel."""
    folder = parent / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps({
        # -P: the working folder (the student's) is not on sys.path until the kernel is confined
        "argv": [sys.executable, "-P", "-m", "hepdl_course.grading_kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }, indent=1))
    return parent


if __name__ == "__main__":
    main()
