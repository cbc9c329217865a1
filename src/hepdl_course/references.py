"""Stored reference runs of the deterministic notebooks, for pytest-notebook regression tests.

A reference is the source notebook with the ci tier's parameters injected, executed by
pytest-notebook itself, stored with its outputs in ``tests/reference/<name>.ipynb``. The test
re-executes it and diffs the outputs; a change in what a notebook prints or shows is then a
visible, reviewed change (regenerate with ``python -m hepdl_course references NAME``).

What is compared exactly, and what is not
-----------------------------------------
Outputs of code whose result does not depend on floating-point reduction order (data loading,
simulation with a seeded generator, baselines, shapes, model summaries) are compared exactly.
The numbers a *trained network* prints are not: TensorFlow's oneDNN kernels
(``TF_ENABLE_ONEDNN_OPTS``), the processor's vector width and the threads' timing change the
order of floating-point sums, the weights drift apart over hundreds of steps, and early stopping
may end after another epoch. Making them bit-reproducible would need
``tf.config.experimental.enable_op_determinism()`` *and* the same kernels on every processor,
which TensorFlow does not promise (oneDNN picks kernels by CPU features), so we do not try. A
source cell whose printed numbers come from a trained network carries, in its metadata, the
reason beside the mask::

    "metadata": {"hepdl": {"varies": "numbers from the trained LSTM: ..."}}

In those cells every number in the text outputs is replaced by ``#`` before the diff, so the
words, the lines and the presence of each output are still compared; the values themselves are
checked as bands on the notebook's ``results.json`` (``[expect]`` in ``assignment.toml``), in
the same test session. ``make test-portability`` runs the notebook tests under several thread
counts, with oneDNN on and off, and under load, to show that nothing else varies.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
from pytest_notebook.nb_regression import NBRegressionError, NBRegressionFixture

from hepdl_course.course import Assignment
from hepdl_course.nbgrader_course import IGNORED

__all__ = ["DIFF_IGNORE", "DIFF_REPLACE", "POST_PROCESSORS", "VARIES_KEY", "check",
           "drop_machine_logs", "masked_cells", "parameterised", "reference_path", "source_drift"]

# Pixels, metadata and tracebacks are not compared; text outputs and their presence are.
DIFF_IGNORE = (
    "/metadata",
    "/cells/*/metadata",
    "/cells/*/execution_count",
    "/cells/*/outputs/*/traceback",
    "/cells/*/outputs/*/data/image/png",
    "/cells/*/outputs/*/data/image/svg+xml",
    "/cells/*/outputs/*/execution_count",
)
# Run-to-run noise in text: timings, memory addresses, TensorFlow's timestamped log lines.
DIFF_REPLACE = (
    ("/cells/*/outputs", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.\d]*", "TIMESTAMP"),
    ("/cells/*/outputs", r"\b\d+(\.\d+)?\s?(ms|us|µs|s)(/step|/sample)?\b", "TIME"),
    ("/cells/*/outputs", r"0x[0-9a-f]{6,}", "0xADDRESS"),
)

# Numbers in the outputs of cells marked as varying (see the module docstring): integers,
# thousands separators, decimals, exponents, signs.
_NUMBER = r"[-+]?\d[\d,]*(\.\d+)?([eE][-+]?\d+)?"
#: Cell metadata ``{"hepdl": {"varies": "<reason>"}}`` marks outputs that depend on the machine.
VARIES_KEY = "varies"


def masked_cells(nb) -> dict[int, str]:
    """Cells whose printed numbers depend on the machine: ``{index: reason}``.

    Raises ``ValueError`` for a mark without a reason (the reason is the point of the mark).
    """
    masked = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("hepdl", {})
        if VARIES_KEY in meta:
            reason = meta[VARIES_KEY]
            if not isinstance(reason, str) or len(reason.split()) < 3:
                raise ValueError(f"cell {index}: metadata hepdl.{VARIES_KEY} must state why its "
                                 f"outputs vary from machine to machine, got {reason!r}")
            masked[index] = reason
    return masked


# TensorFlow's C++ start-up lines on stderr depend on the machine and, it turned out, on more
# than TF_CPP_MIN_LOG_LEVEL: they are removed from the outputs before any comparison.
_MACHINE_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called.*"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\].*"
    r"|To enable the following instructions: .*)\n?", re.MULTILINE)


def drop_machine_logs(nb, resources):
    """pytest-notebook post-processor (entry point ``hepdl_drop_machine_logs``): remove
    TensorFlow's C++ log lines from stderr outputs, and the outputs they leave empty."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = _MACHINE_LOG.sub("", output.get("text", ""))
                if not output["text"]:
                    continue
            kept.append(output)
        cell["outputs"] = kept
    return nb, resources


POST_PROCESSORS = ("coalesce_streams", "hepdl_drop_machine_logs")


def reference_path(assignment: Assignment) -> Path:
    return assignment.root / "tests" / "reference" / f"{assignment.name}.ipynb"


def parameterised(assignment: Assignment) -> nbformat.NotebookNode:
    """The source notebook with the ci parameters injected (what the reference executes)."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    params = {**assignment.tier_parameters("ci"), "RESULTS_PATH": "results.json"}
    nb = parameterize_notebook(load_notebook_node(str(assignment.notebook)), params)
    for cell in nb.cells:  # papermill's bookkeeping is not part of the notebook's meaning
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    return nb


def source_drift(assignment: Assignment) -> list[int]:
    """Indices of cells whose source differs between the reference and the current source."""
    stored = nbformat.read(reference_path(assignment), as_version=4)
    fresh = parameterised(assignment)
    if len(stored.cells) != len(fresh.cells):
        return list(range(max(len(stored.cells), len(fresh.cells))))
    return [i for i, (a, b) in enumerate(zip(stored.cells, fresh.cells)) if a.source != b.source]


def _fixture(work: Path, regen: bool, masked: dict[int, str]):
    masks = tuple((f"/cells/{index}/outputs", _NUMBER, "#") for index in sorted(masked))
    return NBRegressionFixture(
        exec_cwd=str(work),
        exec_timeout=600,
        diff_ignore=DIFF_IGNORE,
        diff_replace=DIFF_REPLACE + masks,
        post_processors=POST_PROCESSORS,
        force_regen=regen,
    )


def check(assignment: Assignment, data_dir: Path, *, regen: bool = False):
    """Execute the reference in a scratch copy of the assignment and diff (or regenerate) it.

    Raises the cell's error if the notebook fails, and ``NBRegressionError`` with the diff if
    its outputs changed (unless ``regen``, which writes the new outputs instead). The numbers of
    the cells in :func:`masked_cells` are not compared (see the module docstring).
    """
    path = reference_path(assignment)
    masked = masked_cells(parameterised(assignment))
    if regen:
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(parameterised(assignment), path)
    elif not path.exists():
        raise FileNotFoundError(
            f"no reference run {path}; create it with: python -m hepdl_course references {assignment.name}")
    # The kernel inherits this process's environment: point it at the data, and keep
    # TensorFlow's C++ start-up log lines (which depend on the machine) out of the outputs.
    settings = {"HEPDL_DATA_DIR": str(Path(data_dir).resolve()), "TF_CPP_MIN_LOG_LEVEL": "2"}
    previous = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="hepdl-ref-") as tmp:
            work = Path(tmp) / assignment.name
            shutil.copytree(assignment.source_dir, work, ignore=shutil.ignore_patterns(*IGNORED))
            try:
                return _fixture(work, regen, masked).check(str(path))
            except NBRegressionError as err:
                if regen and "regenerating file" in str(err):
                    return None  # pytest-notebook's way of saying it wrote the new reference
                raise
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
