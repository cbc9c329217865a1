"""The design tasks' bars on more unseen data: each solution's hidden test again, on other seeds.

    .venv/bin/python benchmarks/design_bars.py NAME [NAME ...] [--tier ci] [--seeds 1 2]
                                               [--dev-seeds 2026 1]

A design task's hidden test simulates unseen events with one secret seed and holds the
solution to a bar; one seed says little about the margin. When a simulator changes (and its
room's ``revision`` goes up), run this before moving a bar. Each run executes the solution
notebook at ``--tier`` (default ``student``: the notebook as a student runs it; it needs
``make data``) with the notebook's ``SEED`` set to each of ``--dev-seeds`` (the development data
the solution fits on). Right after the cell tagged ``design``, copies of that cell run with the
hidden seed (its one ``default_rng(...)`` literal) replaced by each of ``--seeds``, and the
hidden seed itself first. Each copy's line is what the hidden test prints (the score beside
the bar), then ``pass``, or ``FAIL`` with the assertion's message. Exits 1 when the solution
misses a bar anywhere, or a run breaks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from hepdl_course import course
from hepdl_course.execute import execute

HIDDEN = "### BEGIN HIDDEN TESTS"
_SEED = re.compile(r"default_rng\(\s*([0-9_]+)\s*\)")
_TAG = "design-seed"


def design_cell(nb: dict) -> tuple[int, str, str]:
    """The index and source of the cell tagged ``design``, and its hidden test's seed literal."""
    for k, cell in enumerate(nb["cells"]):
        if "design" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            seeds = _SEED.findall(source.split(HIDDEN, 1)[-1]) if HIDDEN in source else []
            if len(seeds) != 1:
                raise ValueError(f"the design cell's hidden test needs exactly one "
                                 f"default_rng(<int>) seed, found {seeds}")
            return k, source, seeds[0]
    raise ValueError("no cell is tagged 'design'")


def with_seed_copies(nb: dict, seeds: list[int]) -> dict:
    """``nb`` with, after its design cell, one cell per seed that runs the design cell's code with
    the hidden seed replaced, catching the assertion so that every seed is reported."""
    k, source, hidden = design_cell(nb)
    visible, tests = source.split(HIDDEN, 1)
    copies = []
    for seed in [hidden, *map(str, seeds)]:
        code = visible + HIDDEN + _SEED.sub(f"default_rng({seed})", tests)
        copies.append({
            "cell_type": "code", "execution_count": None, "outputs": [],
            "metadata": {"tags": [_TAG]}, "id": f"design-seed-{len(copies)}",
            "source": (f"print('seed {seed}:', end=' ')\n"
                       f"try:\n    exec(compile({code!r}, 'design cell, seed {seed}', 'exec'))\n"
                       f"    print('pass')\n"
                       f"except AssertionError as _bar_error:\n    print('FAIL:', _bar_error)\n")})
    nb["cells"][k + 1:k + 1] = copies
    return nb


def seed_lines(executed: dict) -> list[str]:
    """Per seed copy in an executed notebook: the seed, what the hidden test printed about the
    unseen data (the line that names it before its bar), and ``pass`` or ``FAIL: ...``."""
    lines = []
    for cell in executed["cells"]:
        if _TAG in cell.get("metadata", {}).get("tags", []):
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                           if o.get("output_type") == "stream")
            seed, _, said = text.partition(":")
            unseen = [line.strip() for line in said.splitlines()
                      if "unseen" in line.split("(the bar")[0]]
            last = said.strip().splitlines()[-1] if said.strip() else ""
            verdict = last if last == "pass" or last.startswith("FAIL") else "no verdict"
            said = "; ".join(unseen) or "(no line about unseen data)"
            lines.append(f"{seed}: {said} -> {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", help="assignments with a design task")
    parser.add_argument("--tier", default="student", choices=("ci", "student", "full"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2],
                        help="hidden seeds besides the notebook's own (default: %(default)s)")
    parser.add_argument("--dev-seeds", nargs="+", type=int, default=[2026, 1],
                        help="values of the notebook's SEED (default: %(default)s)")
    args = parser.parse_args(argv)
    root = course.repo_root(Path(__file__).parent)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="hepdl-design-bars-") as tmp:
        for a in (course.find(name, root) for name in args.names):
            for dev in args.dev_seeds:
                run = execute(a, args.tier, Path(tmp), parameters={"SEED": dev},
                              transform=lambda nb: with_seed_copies(nb, args.seeds))
                print(f"{a.name}, {args.tier} tier, SEED {dev}:", flush=True)
                executed = Path(run.notebook)
                lines = seed_lines(json.loads(executed.read_text())) if executed.exists() else []
                for line in lines:
                    print(f"  hidden {line}", flush=True)
                if run.error:
                    print(f"  ERROR {run.error}", flush=True)
                bad += (bool(run.error) or len(lines) != len(args.seeds) + 1
                        or not all(line.endswith("-> pass") for line in lines))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
