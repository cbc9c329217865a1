"""A notebook's ci-tier results on several data seeds, beside its bands.

    .venv/bin/python benchmarks/bands.py calorimeter1_showers --data calorimeter_showers
    .venv/bin/python benchmarks/bands.py lartpc3_deghosting --data lartpc_events --seeds 1007 2007

The ci test runs each notebook once, on the default ci data and the default ``SEED``, but a band
in ``[expect]`` must hold for any seed. After a change that moves a simulator's output or a
notebook's numbers, this runs each named notebook at the ci tier on the default data (``SEED``
as the notebook sets it), then on the ci data built with each of ``--seeds`` (``--data`` names
the data sets to build, in a temporary folder) with ``SEED`` 1, 2, ... in turn. It prints every
recorded result with its band and the value of each run, marking those out of band: the figures
an assignment.toml's bracketed comments quote, and the evidence for a band. Exits 1 if a run
fails or a value is out of band. It takes a few minutes per notebook: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hepdl import datasets
from hepdl_course import course
from hepdl_course.execute import execute, in_band

DEFAULT_SEEDS = (1010, 2010, 3010, 4010)


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "-"


def table(assignment: course.Assignment, runs: list[dict]) -> tuple[list[str], int]:
    """One line per recorded result (banded ones first): band, the runs' values, OUT if any
    banded value is missing or out of its band; and the number of such lines."""
    names = list(assignment.expect) + sorted({k for r in runs for k in r} - set(assignment.expect))
    lines, out = [], 0
    for name in names:
        values = [r.get(name) for r in runs]
        band = assignment.expect.get(name)
        bad = band is not None and not all(in_band(band, v) for v in values)
        out += bad
        band_text = f"[{band[0]:g}, {band[1]:g}]" if band else "(no band)"
        lines.append(f"  {name:44s} {band_text:16s} " + " ".join(f"{_value(v):>7s}" for v in values)
                     + ("  OUT" if bad else ""))
    return lines, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", help="assignments to run")
    parser.add_argument("--data", nargs="+", required=True, metavar="DATASET",
                        help="the data sets the notebooks read, built at each seed")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS),
                        help="data seeds besides the default (default: %(default)s)")
    args = parser.parse_args(argv)
    root = course.repo_root(Path(__file__).parent)
    selected = [course.find(name, root) for name in args.names]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="hepdl-bands-") as tmp:
        runs = [("default data", root / "datasets", None)]
        for k, seed in enumerate(args.seeds, start=1):
            folder = Path(tmp) / f"data-{seed}"
            for name in args.data:
                datasets.build(name, "ci", folder, seed=seed)
            runs.append((f"--seed {seed}, SEED {k}", folder, k))
        for a in selected:
            results = []
            print(f"{a.name}: runs " + "; ".join(label for label, _, _ in runs), flush=True)
            for label, data_dir, seed in runs:
                run = execute(a, "ci", Path(tmp) / "work", data_dir=data_dir,
                              parameters={"SEED": seed} if seed is not None else None)
                if run.error:
                    failed += 1
                    print(f"  {label}: ERROR {run.error}", flush=True)
                results.append(run.results)
            lines, out = table(a, results)
            print("\n".join(lines), flush=True)
            failed += out
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
