"""benchmarks/bands.py's table: every run's value beside the band, OUT where one misses it."""

import importlib.util
from pathlib import Path

from hepdl_course.course import Assignment

_spec = importlib.util.spec_from_file_location(
    "bands", Path(__file__).resolve().parents[1] / "benchmarks" / "bands.py")
bands = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bands)


def test_the_table_marks_a_value_out_of_band_or_missing_and_lists_unbanded_results():
    a = Assignment(name="x", root=Path("."), section="lessons", order=1, minutes=1,
                   deterministic=False, budget_seconds=1, budget_memory_mb=1,
                   expect={"auc": (0.8, 0.9), "iou": (0.1, 0.5)})
    lines, out = bands.table(a, [{"auc": 0.85, "iou": 0.2, "extra": 3.0},
                                 {"auc": 0.95, "extra": 4.0}])
    assert out == 2, lines
    assert lines[0].split()[:5] == ["auc", "[0.8,", "0.9]", "0.85", "0.95"] and lines[0].endswith("OUT")
    assert lines[1].split()[-2:] == ["-", "OUT"]
    assert lines[2].split()[:3] == ["extra", "(no", "band)"] and not lines[2].endswith("OUT")
    _, out = bands.table(a, [{"auc": 0.85, "iou": 0.2}])
    assert out == 0
