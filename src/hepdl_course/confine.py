"""Start a program confined by Landlock: it may not read the protected folders.

Used by the school's JupyterHub (deploy/jupyterhub_config.py) as a second wall behind the file
permissions of each user's own account: were a folder's mode wrong, the server and its kernels
still could not read the repository's solutions, the gradebook or the hub's state. Landlock
(Linux >= 5.13) confines the process and everything it starts, across ``exec``::

    python -m hepdl_course.confine --protect REPO/solutions --protect STATE \\
        --readable STATE/course --writable /home/hepdl-alice -- jupyterhub-singleuser

Everything not protected stays readable (the Python environment, the system); the program may
write only under ``--writable`` folders (and the usual ``/dev`` entries). Network connections
are allowed: a Jupyter server talks to its hub and its kernels over TCP. Where the kernel has no
Landlock the program starts without it, with a warning on stderr (the file permissions still
hold). The folders to protect must be listable by the calling account: Landlock can only grant,
so a protected path is hidden by granting its ancestors' other entries, and the entries of a
folder the account cannot list are not granted at all.
"""

from __future__ import annotations

import argparse
import os
import sys

from hepdl_course.sandbox import apply_landlock

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hepdl_course.confine",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--protect", action="append", default=[], help="a folder or file it may not read")
    parser.add_argument("--readable", action="append", default=[],
                        help="a folder inside a protected one that it may read")
    parser.add_argument("--writable", action="append", default=[], help="a folder it may write in")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the program and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("name the program to start after --")
    for folder in args.writable:
        os.makedirs(folder, exist_ok=True)
    confined = apply_landlock(args.protect, args.writable, args.readable, tcp=True)
    if confined is None:
        print("hepdl_course.confine: Landlock is not available on this kernel: starting "
              f"{command[0]} without it (only file permissions keep it from "
              f"{', '.join(args.protect)})", file=sys.stderr)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
