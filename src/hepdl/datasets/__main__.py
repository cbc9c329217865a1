"""Command line: ``python -m hepdl.datasets {build,list} ...``.

Examples::

    python -m hepdl.datasets list
    python -m hepdl.datasets build                       # every data set, student size
    python -m hepdl.datasets build --size ci warmup_hits
    python -m hepdl.datasets build --size full --force   # rebuild even if up to date

Each line says what happened: ``up to date``, ``built``, or ``rebuilt (WHY)``, e.g.
``rebuilt (tracking_ramp.h5 damaged: digest differs)`` when a file no longer matches the digest
``NAME.sha256`` its build wrote.
"""

from __future__ import annotations

import argparse
import sys
import time

from hepdl import datasets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hepdl.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build data sets (skips those already up to date)")
    build.add_argument("names", nargs="*", metavar="NAME",
                       help=f"data sets to build (default: all of {', '.join(datasets.REGISTRY)})")
    build.add_argument("--size", choices=datasets.SIZES, default="student")
    build.add_argument("--root", default=None, help="folder holding datasets/ (default: found)")
    build.add_argument("--seed", type=int, default=None, help="override the default seed")
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    sub.add_parser("list", help="list the data sets and their sizes")
    args = parser.parse_args(argv)

    if args.command == "list":
        for spec in datasets.REGISTRY.values():
            sizes = ", ".join(f"{k}={v:,}" for k, v in spec.sizes.items())
            print(f"{spec.name:20s} {spec.summary} ({sizes})")
        return 0

    unknown = [n for n in args.names if n not in datasets.REGISTRY]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; "
                     f"known: {', '.join(sorted(datasets.REGISTRY))}")
    for name in args.names or list(datasets.REGISTRY):
        start = time.perf_counter()
        result = datasets.build(name, args.size, args.root, seed=args.seed, force=args.force)
        print(f"{name:20s} {args.size:8s} {result.reason:11s} {result.file} "
              f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
