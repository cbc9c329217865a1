"""Pre-flight: make a submission something nbgrader can grade, and say what was done.

Run by the grading worker (:mod:`hepdl_course.grading_worker`) on each student before nbgrader
sees the submission. The rules are fair to the student and lose nothing: see :func:`preflight`.
The notes say what was changed; they are put in the notebook (a markdown cell at the top, with
the notes also under the cell metadata key ``hepdl_grader``), so that the feedback page says
why, and returned to the autograde report.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from pathlib import Path
from typing import Any

from hepdl_course.grading_notes import NOTE_KEY, notes_of, set_notes
from hepdl_course.settings import InstructorError, course_path
from hepdl_course.submissions import keep_original

__all__ = ["grade_id", "is_source_version", "preflight", "released_source"]

MAX_NOTEBOOK_BYTES = 200_000_000   # a larger submission is kept, not graded
BEGIN_SOLUTION, BEGIN_HIDDEN, END_HIDDEN = "### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def grade_id(cell: dict) -> str | None:
    """The nbgrader ``grade_id`` of a cell (a dict), or None if it has none."""
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _read_submission(path: Path):
    """(notebook, None) or (None, reason it cannot be graded)."""
    import nbformat

    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"the file is too large to grade ({size / 1e6:.0f} MB)"
    data = path.read_bytes()
    if not data.strip():
        return None, "the file is empty"
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        return None, f"the file is not valid JSON ({str(err)[:120]})"
    except RecursionError:
        return None, "the file is not valid JSON (nested too deeply)"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        return None, "the file is JSON but not a Jupyter notebook"
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            nb = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
        _repair(nb)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 (any reader failure means: not gradable as is)
        return None, f"the file is not a valid Jupyter notebook ({str(err).splitlines()[0][:120]})"
    return nb, None


def _repair(nb) -> None:
    """Fill in fields a hand-edited notebook may lack (what JupyterLab would write)."""
    import nbformat

    nb.setdefault("metadata", nbformat.NotebookNode())
    for cell in nb.cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    with contextlib.suppress(Exception):
        from nbformat.validator import normalize

        normalize(nb, repair_duplicate_cell_ids=True)


def released_source(source: str) -> str:
    r"""``source`` as nbgrader releases it: each hidden test region (its delimiters included)
    left out, as nbgrader's ``ClearHiddenTests`` does.

    >>> released_source("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS")
    'assert f(1) == 1'
    """
    lines, hiding = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            hiding = True
        elif END_HIDDEN in line:
            hiding = False
        elif not hiding:
            lines.append(line)
    return "\n".join(lines)


def is_source_version(nb) -> bool:
    """Whether ``nb`` is the instructor's source notebook (solution or hidden-test regions in
    it), not the student version nbgrader released."""
    return any(marker in cell.get("source", "") for cell in nb.cells
               for marker in (BEGIN_SOLUTION, BEGIN_HIDDEN))


_GRADING_KEYS = ("grade", "solution", "locked", "points", "task", "schema_version")


def _restore_cells(nb, released, notes: list[str]) -> bool:
    """Reset nbgrader metadata from the released notebook; put deleted test cells back."""
    reference = {}
    order = []
    for cell in released.cells:
        gid = grade_id(cell)
        if gid:
            reference[gid] = cell
            order.append(gid)
    changed = False
    copies: dict[str, int] = {}
    for cell in reversed(nb.cells):         # nbgrader grades the last copy of a duplicated cell
        gid = grade_id(cell)
        if gid in reference:
            copies[gid] = copies.get(gid, 0) + 1
            if copies[gid] > 1:
                del cell.metadata["nbgrader"]
                changed = True
    for gid, count in copies.items():
        if count > 1:
            notes.append(f"cell {gid} appears {count} times; the last copy was graded, the others "
                         "ran as ordinary cells")
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        gid = grade_id(cell)
        if gid not in reference:
            del meta["nbgrader"]
            notes.append(f"cell {index} carried nbgrader metadata ({gid or 'no id'}) that is not in "
                         "the released notebook; it was graded as an ordinary cell")
            changed = True
        else:
            ref = reference[gid].metadata["nbgrader"]
            if meta["nbgrader"] != ref:
                if any(meta["nbgrader"].get(k) != ref.get(k) for k in _GRADING_KEYS):
                    notes.append(f"the nbgrader settings of cell {gid} had been changed; they were reset")
                meta["nbgrader"] = copy.deepcopy(ref)
                changed = True
            if (meta["nbgrader"].get("locked")
                    and released_source(cell.get("source", "")) != reference[gid].get("source")):
                notes.append(f"the read-only cell {gid} had been edited; the original was run")
    present = {grade_id(c) for c in nb.cells} - {None}
    anchor = None       # the cell after which the next missing cell goes
    for gid in order:
        if gid in present:
            anchor = next(c for c in reversed(nb.cells) if grade_id(c) == gid)
            continue
        ref_meta = reference[gid].metadata["nbgrader"]
        if not ref_meta.get("grade"):
            continue    # a deleted answer cell is not put back: it would undo the student's code
        restored = copy.deepcopy(reference[gid])
        position = nb.cells.index(anchor) + 1 if anchor is not None else next(
            (i for i, c in enumerate(nb.cells) if grade_id(c)), len(nb.cells))
        nb.cells.insert(position, restored)
        anchor = restored
        notes.append(f"the test cell {gid} had been deleted; it was put back and run")
        changed = True
    return changed


def preflight(course_dir: str | os.PathLike, assignment: str, student: str) -> list[str]:
    """Make ``submitted/STUDENT/ASSIGNMENT`` gradable; return the notes (also put in the notebook).

    Rules (fair to the student, nothing lost):

    - a notebook under another name is graded as the expected one when its nbgrader cells show
      it is a copy of it (one candidate: renamed; several: the most recently changed);
    - other notebooks are not graded and stay where they are;
    - a file that is empty, not JSON or not a notebook earns 0 points: the untouched student
      version is graded in its place, with a note saying why, so the feedback explains it;
    - deleted test cells and changed nbgrader settings are restored from the released
      notebook (nbgrader itself restores the test code of edited test cells);
    - before any change the submission folder is copied to ``originals/``.
    """
    import nbformat

    course_dir = course_path(course_dir)
    folder = course_dir / "submitted" / student / assignment
    release = course_dir / "release" / assignment
    expected = {p.stem: nbformat.read(p, as_version=4) for p in sorted(release.glob("*.ipynb"))}
    if not expected:
        raise InstructorError(f"{release} holds no notebook: run hepdl-course release-course first")
    files = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    nested = sorted(p for p in folder.rglob("*.ipynb") if p.is_file() and p.parent != folder
                    and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    parsed, unreadable = {}, {}
    for path in files:
        nb, reason = _read_submission(path)
        if nb is None:
            unreadable[path.stem] = reason
        else:
            parsed[path.stem] = nb
    where = {path.stem: path for path in files}
    for path in nested:                 # a notebook in a sub-folder (an unpacked zip file)
        key = str(path.relative_to(folder))
        nb, _ = _read_submission(path)
        if nb is not None:
            parsed[key], where[key] = nb, path
    notes: dict[str, list[str]] = {name: [] for name in expected}
    write: dict[str, Any] = {}
    renamed: list[str] = []            # file stems graded under the expected name
    for name, released in expected.items():
        if name in parsed:
            continue
        ids = {grade_id(c) for c in released.cells} - {None}
        candidates = sorted(
            (len(ids & {grade_id(c) for c in nb.cells}), where[other].stat().st_mtime, other)
            for other, nb in parsed.items() if other not in expected and other not in renamed)
        candidates = [c for c in candidates if c[0] > 0]
        if name not in unreadable and candidates:
            other = candidates[-1][2]
            renamed.append(other)
            parsed[name] = parsed.pop(other)
            extra = f" (of {len(candidates)} copies, the one changed last)" if len(candidates) > 1 else ""
            notes[name].append(f"the notebook was submitted as {where[other].relative_to(folder)}{extra}; "
                               f"it was graded as {name}.ipynb")
            write[name] = parsed[name]
            continue
        if name in unreadable:
            reason = f"{name}.ipynb could not be read: {unreadable[name]}"
        elif files:
            reason = (f"no notebook named {name}.ipynb was submitted, and none of the submitted "
                      f"notebooks ({', '.join(p.name for p in files)}) is a copy of it")
        else:
            reason = f"no notebook named {name}.ipynb was submitted"
        substitute = copy.deepcopy(released)
        substitute.metadata[NOTE_KEY] = {"substituted": reason}
        parsed[name] = substitute
        notes[name].append(f"{reason}. The file you submitted is kept by the instructor; this page "
                           "shows the untouched assignment in its place, which earns 0 points.")
        write[name] = substitute
    extras = sorted({p.name for p in files if p.stem not in expected and p.stem not in renamed})
    if extras:
        for name in expected:
            notes[name].append(f"not part of the assignment, not graded: {', '.join(extras)}")
    for name, released in expected.items():
        nb = parsed[name]
        if NOTE_KEY not in nb.metadata and is_source_version(nb):
            notes[name].append("this is the instructor's source version of the notebook (it holds the "
                               "solutions and the hidden tests), not the student version that was "
                               "released; it was graded as submitted")
        if NOTE_KEY not in nb.metadata and _restore_cells(nb, released, notes[name]):
            write[name] = nb
        old = notes_of(nb)
        merged = old + [n for n in notes[name] if n not in old]
        if merged != old:
            set_notes(nb, merged)
            write[name] = nb
        notes[name] = merged
    if write:
        keep_original(course_dir, student, assignment, folder)
        for name, nb in write.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
        for other in renamed:          # graded under the expected name; the original is kept
            if where[other].parent == folder:
                where[other].unlink()
    return [note for name in expected for note in notes[name]]
