"""nbgrader preprocessors for autograding: resilient execution and bounded output.

Written as nbgrader writes its own (``nbgrader.preprocessors.Execute``, ``LimitOutput``):
subclasses at module level with configurable traits, overriding only the public
``preprocess`` / ``preprocess_cell`` hooks. :func:`grading_preprocessors` is nbgrader's
autograde list with these two in it; the grading worker sets it as
``Autograde.autograde_preprocessors``. Importing this module imports nbgrader.

``ResilientExecute`` restarts a kernel by calling ``Execute.preprocess`` again: that method
(nbconvert's ``ExecutePreprocessor.preprocess``) re-initialises the client for the notebook and
starts a new kernel; the cells already run are replayed through ``preprocess_cell``. Each
restart therefore also clears nbclient's per-run trackers (widget state, display ids), which
the replayed cells fill again.
"""

from __future__ import annotations

import copy
import json

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.v4 import new_output
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern, LimitOutput,
    NbGraderPreprocessor, SaveAutoGrades)
from traitlets import Integer

__all__ = ["KERNEL_DIED", "KERNEL_HUNG", "LimitOutputSize", "ResilientExecute",
           "grading_preprocessors"]

KERNEL_DIED = "KernelDied"              # ename of the error output put in a cell that killed the kernel
KERNEL_HUNG = "KernelUnresponsive"      # ... in a cell that could not be interrupted


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


def grading_preprocessors() -> list[type]:
    """nbgrader's autograde preprocessors with :class:`ResilientExecute` and output limits."""
    return [ResilientExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
            LimitOutputSize, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
