"""The grader's notes: what a student and an instructor are told about how a submission was graded.

Notes come from two places. Pre-flight (:mod:`hepdl_course.preflight`) says what it changed
before nbgrader ran; :func:`execution_notes` reads the graded notebook's outputs for what
happened while it ran (a kernel that died, a cell interrupted, a syntax error, an import that
failed). Both reach the autograde line and the top of the feedback page: the notes live in a
markdown cell at the top of the notebook, under the cell metadata key :data:`NOTE_KEY`
(:func:`notes_of`, :func:`set_notes`). Importing this module imports nothing of nbgrader.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["NOTE_KEY", "duration", "execution_notes", "late_note", "notes_of", "set_notes"]

NOTE_KEY = "hepdl_grader"               # notebook/cell metadata key of the grader's notes
KERNEL_DIED = "KernelDied"              # ename of the error output put in a cell that killed the kernel
KERNEL_HUNG = "KernelUnresponsive"      # ... in a cell that could not be interrupted
SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
IMPORT_ERRORS = ("ModuleNotFoundError", "ImportError")


def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _is_test(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader")
    return isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")


def _label(cell: dict, index: int) -> str:
    """How the student finds the cell on the page: its grade id, or its ``In [n]`` number."""
    gid = _grade_id(cell)
    if gid:
        return gid
    count = cell.get("execution_count")
    return f"the cell In [{count}]" if count else f"cell {index}"


def execution_notes(cells: list[dict], filename: str = "") -> list[str]:
    """What happened while the cells ran, one note per event, in cell order.

    A kernel that died or hung and a cell interrupted at the time limit are noted in any cell.
    A syntax error and a failed import are noted in the student's cells (answers and their own
    cells, not the test cells, whose failures the page shows at the test): the code of a cell
    with a syntax error did not run at all, so what it defines is missing in the tests below.

    >>> cell = {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [
    ...     {"output_type": "error", "ename": "SyntaxError", "evalue": "invalid syntax (2531694446.py, line 2)"}]}
    >>> execution_notes([cell])
    ['the cell In [3] has a syntax error (invalid syntax (line 2)): none of its code ran']
    """
    prefix = f"{filename}: " if filename else ""
    notes: list[str] = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        label = _label(cell, index)
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            name = output.get("ename", "")
            value = re.sub(r"\(\d+\.py, line (\d+)\)", r"(line \1)", str(output.get("evalue", "")).strip())
            if name == KERNEL_DIED:
                note = f"the kernel died in {label}; restarted, the cells above run again"
            elif name == KERNEL_HUNG:
                note = f"{label} timed out and could not be interrupted; the kernel was restarted"
            elif name == "CellTimeoutError":
                note = f"{label} timed out and was interrupted"
            elif _is_test(cell):
                continue
            elif name in SYNTAX_ERRORS:
                note = f"{label} has a syntax error ({value}): none of its code ran"
            elif name in IMPORT_ERRORS:
                note = f"{label}: an import failed ({name}: {value}); the code after it in the cell did not run"
            else:
                continue
            notes.append(prefix + note)
    return list(dict.fromkeys(notes))


def duration(seconds: float) -> str:
    """``seconds`` for a person: ``'28 s'``, ``'3 min 20 s'``, ``'2 h 5 min'``, ``'3 days 4 h'``.

    >>> [duration(s) for s in (28.4, 200, 7500, 273600)]
    ['28 s', '3 min 20 s', '2 h 5 min', '3 days 4 h']
    """
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def late_note(seconds_late: float, penalty: float, raw_score: float | None, *,
              grace_seconds: float = 0) -> str:
    """The note of a late submission: by how much, within the grace period or not, the penalty.

    >>> late_note(28, 0, 10, grace_seconds=300)
    'late by 28 s, within the 5 min grace period: no penalty'
    >>> late_note(7200, 10, 10)
    'late by 2 h: penalty 10 (raw score 10)'
    """
    late = f"late by {duration(seconds_late)}"
    if seconds_late <= grace_seconds:
        return f"{late}, within the {duration(grace_seconds)} grace period: no penalty"
    raw = f" (raw score {raw_score:g})" if raw_score is not None else ""
    return f"{late}: penalty {penalty:g}{raw}"


def notes_of(nb: Any) -> list[str]:
    """The notes already at the top of a notebook (an nbformat node or a dict)."""
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get(NOTE_KEY)
        if isinstance(meta, dict):
            return list(meta.get("notes", []))
    return []


def set_notes(nb: Any, notes: list[str]) -> None:
    """Put ``notes`` in one markdown cell at the top of ``nb`` (an nbformat node), replacing any."""
    from nbformat.v4 import new_markdown_cell

    nb.cells = [c for c in nb.cells if NOTE_KEY not in c.get("metadata", {})]
    if notes:
        text = ("**Notes from the grader** (about how this submission was graded):\n\n"
                + "\n".join(f"- {note}" for note in notes))
        nb.cells.insert(0, new_markdown_cell(text, metadata={NOTE_KEY: {"notes": notes}}))
