"""benchmarks/design_bars.py: the design cell's hidden test again on other seeds, each reported."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

_spec = importlib.util.spec_from_file_location(
    "design_bars", Path(__file__).resolve().parents[1] / "benchmarks" / "design_bars.py")
design_bars = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(design_bars)

# default_rng(s).random(): 0.262 for 2, 0.086 for 3, 0.943 for 4
DESIGN = '''"""Checks the value; hidden: the bar of 0.5 on unseen data."""
print("check data: fine")
### BEGIN HIDDEN TESTS
_v = np.random.default_rng(2).random()
print(f"on unseen data: value {_v:.3f} (the bar: 0.5)")
assert _v < 0.5, f"value {_v:.3f} above the bar of 0.5"
### END HIDDEN TESTS'''


def _notebook(design_source=DESIGN):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np"),
                nbformat.v4.new_code_cell(design_source, metadata={"tags": ["design"]}),
                nbformat.v4.new_code_cell("print('after')")]
    return nb


def test_every_seed_is_run_and_reported_with_its_verdict():
    nb = nbformat.from_dict(design_bars.with_seed_copies(_notebook(), [3, 4]))
    assert [c.source for c in nb.cells[-1:]] == ["print('after')"]
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    lines = design_bars.seed_lines(nb)
    assert lines == [
        "seed 2: on unseen data: value 0.262 (the bar: 0.5) -> pass",
        "seed 3: on unseen data: value 0.086 (the bar: 0.5) -> pass",
        "seed 4: on unseen data: value 0.943 (the bar: 0.5) -> FAIL: value 0.943 above the bar of 0.5"]


def test_a_design_cell_without_one_seed_is_refused():
    with pytest.raises(ValueError, match="exactly one default_rng"):
        design_bars.with_seed_copies(
            _notebook(DESIGN.replace("default_rng(2)", "default_rng()")), [1])
    nb = _notebook()
    nb.cells[1].metadata = {}
    with pytest.raises(ValueError, match="no cell is tagged 'design'"):
        design_bars.with_seed_copies(nb, [1])
