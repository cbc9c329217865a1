"""nbgrader preprocessors: resilient execution and bounded output, and feedback without hidden tests.

Written as nbgrader writes its own (``nbgrader.preprocessors.Execute``, ``LimitOutput``):
subclasses at module level with configurable traits, overriding only the public
``preprocess`` / ``preprocess_cell`` hooks. :func:`grading_preprocessors` is nbgrader's
autograde list with these two in it; the grading worker sets it as
``Autograde.autograde_preprocessors``. :func:`feedback_preprocessors` is nbgrader's
generate_feedback list with :class:`HideHiddenTests` in it; the course's ``nbgrader_config.py``
(:mod:`hepdl_course.nbgrader_course`) sets it as ``GenerateFeedback.preprocessors``, so the
feedback pages leave the hidden tests out while the graded notebooks and the gradebook keep
them. Importing this module imports nbgrader.

``ResilientExecute`` restarts a kernel by calling ``Execute.preprocess`` again: that method
(nbconvert's ``ExecutePreprocessor.preprocess``) re-initialises the client for the notebook and
starts a new kernel; the cells already run are replayed through ``preprocess_cell``. Each
restart therefore also clears nbclient's per-run trackers (widget state, display ids), which
the replayed cells fill again.
"""

from __future__ import annotations

import copy
import json
import re

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets import Integer, Unicode

from hepdl_course.grading_notes import (
    KERNEL_DIED,
    KERNEL_HUNG,
    execution_notes,
    notes_of,
    set_notes,
)
from hepdl_course.preflight import released_source

__all__ = ["KERNEL_DIED", "KERNEL_HUNG", "HideHiddenTests", "LimitOutputSize", "NoteExecution",
           "ResilientExecute", "RestoreCells", "feedback_preprocessors", "grading_preprocessors",
           "sanitize_preprocessors"]



def _error(ename: str, message: str):
    return new_output("error", ename=ename, evalue=message, traceback=[message])


class ResilientExecute(Execute):
    """nbgrader's Execute, surviving a kernel that dies or cannot be interrupted.

    The cell that killed or hung the kernel gets an error output (a test cell then earns 0);
    a new kernel runs the cells above again (keeping their first outputs) and execution goes
    on with the next cell. After ``max_kernel_restarts`` restarts the remaining code cells get
    an error output instead of being run.
    """

    max_kernel_restarts = Integer(3, help="Kernel restarts per notebook before giving up").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        """Execute every cell of ``nb`` (in place), restarting the kernel when it is lost."""
        self._ran_upto, self._lost, restarts = -1, set(), 0
        while True:
            self._running = None
            try:
                return super().preprocess(nb, resources, km)
            except (DeadKernelError, CellTimeoutError) as err:
                if self._running is None:
                    raise
                km = None                   # a kernel manager given by the caller is spent too
                current, hung = self._running, isinstance(err, CellTimeoutError)
                self._lost.add(current)
                self._ran_upto = max(self._ran_upto, current)
                restarts += 1
                why = (f"this cell did not stop within {self.timeout} s and could not be "
                       "interrupted" if hung else "the Python kernel died while running this cell")
                message = (f"{why}; the kernel was restarted, the cells above were run again "
                           "and grading went on with the next cell")
                nb.cells[current].setdefault("outputs", []).append(
                    _error(KERNEL_HUNG if hung else KERNEL_DIED, message))
                if restarts > self.max_kernel_restarts:
                    for later in nb.cells[current + 1:]:
                        if later.cell_type == "code":
                            later.outputs = [_error(KERNEL_DIED, "not run: too many kernel restarts")]
                    self.set_widgets_metadata()
                    return self.nb, self.resources

    def preprocess_cell(self, cell, resources, index):
        """Run a cell once; after a restart, replay it (a cell already run) or skip it (lost)."""
        if index in self._lost:
            return cell, resources
        self._running = index
        if index <= self._ran_upto:
            self._replay(cell, index)
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, index)
        self._ran_upto = index
        return cell, resources

    def _replay(self, cell, index):
        """Run a cell again in the new kernel, keeping the outputs of its first run."""
        if cell.cell_type != "code":
            return
        outputs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" and o.get("ename") in (KERNEL_HUNG, "KeyboardInterrupt")
               for o in outputs):
            return          # timed out the first time: not worth a second timeout
        saved = copy.deepcopy(outputs), cell.get("execution_count")
        self.execute_cell(cell, index, store_history=True)
        cell.outputs, cell.execution_count = saved


class LimitOutputSize(NbGraderPreprocessor):
    """Cut outputs longer than ``max_chars`` characters (nbgrader's LimitOutput counts lines)."""

    max_chars = Integer(100_000, help="Largest output kept, in characters").tag(config=True)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... output cut: {len(text):,} characters in all ...\n"

    def preprocess_cell(self, cell, resources, index):
        """Cut the cell's long outputs; a long non-text output is replaced by a note."""
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.outputs:
            kind = output.get("output_type")
            if kind == "stream":
                output.text = self._cut(output.text)
            elif kind == "error":
                output.evalue = self._cut(str(output.get("evalue", "")))
                output.traceback = [self._cut(line) for line in output.get("traceback", [])]
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                for mime in list(data):
                    value = data[mime]
                    size = len(value) if isinstance(value, str) else len(json.dumps(value))
                    if size <= self.max_chars:
                        continue
                    if mime == "text/plain" and isinstance(value, str):
                        data[mime] = self._cut(value)
                    else:
                        del data[mime]
                        data.setdefault("text/plain", f"[{mime} output of {size:,} characters removed]")
        return cell, resources


class RestoreCells(OverwriteCells):
    """nbgrader's OverwriteCells, without a warning for a test cell that is as released.

    nbgrader puts the source of every read-only cell back from the gradebook, which holds the
    hidden tests; a test cell with hidden tests therefore always differs from the gradebook, and
    nbgrader logs ``Attribute 'checksum' for cell ... has changed!`` for every submission, the
    untouched ones included. This logs that case at INFO (``hidden tests put back``) and keeps
    the warning for a cell the student really changed.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        self._as_released = False
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid is not None:
            try:
                source = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id).source
            except Exception:  # noqa: BLE001 (nbgrader's own check reports a missing cell)
                source = None
            self._as_released = source is not None and cell.source == released_source(source)
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and self._as_released:
            self.log.info("Cell %s is as released: its hidden tests were put back", name)
        else:
            super().report_change(name, attr, old, new)


def sanitize_preprocessors() -> list[type]:
    """nbgrader's autograde sanitize list with :class:`RestoreCells` for ``OverwriteCells``."""
    return [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCells, CheckCellMetadata]


def grading_preprocessors() -> list[type]:
    """nbgrader's autograde preprocessors with :class:`ResilientExecute` and output limits."""
    return [ResilientExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
            LimitOutputSize, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class HideHiddenTests(ClearHiddenTests):
    """For the feedback: hidden test regions replaced by a line, failures told without code.

    Every cell's hidden test regions (the delimiters of nbgrader's ``ClearHiddenTests``, whose
    configuration this class shares) become one ``placeholder`` line. An error in a test cell
    (a grade cell that is not a solution) is shown as one line, the cell's grade_id and the
    exception's type and message (``mx_triangle_tests failed: AssertionError: triangle(4)
    should be 10``), without the traceback, whose lines quote the test's source. In every
    other output (streams, plain text, the tracebacks of the students' own cells) a line that
    quotes a line of a hidden region is replaced by ``quote_placeholder``: a warning raised in a
    hidden test prints its source line, and so does the traceback of a hidden helper function.
    Works on the copy of the notebook the feedback is made from: the graded notebook and the
    gradebook keep the tests.
    """

    placeholder = Unicode("# hidden tests: not shown",
                          help="The line put in place of a hidden test region of a code cell").tag(config=True)
    markdown_placeholder = Unicode("*(hidden tests: not shown)*",
                                   help="... of a markdown cell").tag(config=True)
    quote_placeholder = Unicode("[a line of a hidden test: not shown]",
                                help="The line put in place of an output line quoting a hidden test").tag(config=True)
    min_quote_chars = Integer(8, help="Hidden lines shorter than this (stripped) are not looked "
                              "for in the outputs (`else:` or a bracket would match too much)").tag(config=True)

    def preprocess(self, nb, resources):
        """Collect the hidden lines of every cell, then redact the cells one by one.

        A hidden line that is also a visible line of the notebook is not secret: outputs quoting
        it are left alone.
        """
        hidden, visible = set(), set()
        for cell in nb.cells:
            regions = self._regions(cell.source)
            for region in regions:
                hidden.update(line.strip() for line in region)
            if regions:
                visible.update(line.strip() for line in self._redacted(cell).split("\n"))
            else:
                visible.update(line.strip() for line in cell.source.split("\n"))
        self._hidden = {line for line in hidden - visible if len(line) >= self.min_quote_chars}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        """Hide the cell's hidden regions and what its outputs quote of them."""
        if self.begin_test_delimeter in cell.source:
            cell.source = self._redacted(cell)
        if cell.cell_type != "code":
            return cell, resources
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error" and is_test:
                output.evalue = self._scrub(str(output.get("evalue", "")))
                output.traceback = [self._summary(cell, output)]
            elif kind == "error":
                output.traceback = [self._scrub(entry) for entry in output.get("traceback", [])]
            elif kind == "stream":
                output.text = self._scrub(output.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                if isinstance(data.get("text/plain"), str):
                    data["text/plain"] = self._scrub(data["text/plain"])
        return cell, resources

    def _regions(self, source: str) -> list[list[str]]:
        """The lines of each hidden region of ``source``, delimiters left out."""
        regions, current = [], None
        for line in source.split("\n"):
            if self.begin_test_delimeter in line:
                current = []
                regions.append(current)
            elif self.end_test_delimeter in line:
                current = None
            elif current is not None:
                current.append(line)
        return regions

    def _redacted(self, cell) -> str:
        lines, hiding = [], False
        for line in cell.source.split("\n"):
            if self.begin_test_delimeter in line:
                hiding = True
                if cell.cell_type == "code":
                    indent = line[: len(line) - len(line.lstrip())]
                    lines.append(indent + self.placeholder)
                else:
                    lines.append(self.markdown_placeholder)
            elif self.end_test_delimeter in line:
                hiding = False
            elif not hiding:
                lines.append(line)
        return "\n".join(lines)

    def _scrub(self, text: str) -> str:
        """``text`` with each line that quotes a hidden line replaced by ``quote_placeholder``."""
        if not self._hidden or not text:
            return text
        lines = text.split("\n")
        for i, line in enumerate(lines):
            plain = _ANSI.sub("", line)
            if any(hidden in plain for hidden in self._hidden):
                lines[i] = self.quote_placeholder
        return "\n".join(lines)

    @staticmethod
    def _summary(cell, output) -> str:
        name = cell.metadata["nbgrader"].get("grade_id", "this test cell")
        ename, evalue = output.get("ename", "Error"), str(output.get("evalue", "")).strip()
        what = f"{ename}: {evalue}" if evalue else f"{ename} (no message)"
        return f"{name} failed: {what}"


class NoteExecution(NbGraderPreprocessor):
    """For the feedback: what happened while the notebook ran (a syntax error, an import that
    failed, a timeout, a kernel that died; :func:`hepdl_course.grading_notes.execution_notes`)
    added to the grader's notes at the top of the page, as the autograde line says it."""

    def preprocess(self, nb, resources):
        events = execution_notes(nb.cells)
        if events:
            old = notes_of(nb)
            set_notes(nb, old + [e for e in events if e not in old])
        return nb, resources


def feedback_preprocessors() -> list[type]:
    """nbgrader's generate_feedback preprocessors with :class:`NoteExecution` and
    :class:`HideHiddenTests` in them."""
    return [GetGrades, NoteExecution, HideHiddenTests, CSSHTMLHeaderPreprocessor]
