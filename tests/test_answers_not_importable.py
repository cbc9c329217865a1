"""No graded answer is one import away (course.md, "Graded answers and the package").

Every student kernel imports ``hepdl``, so a function of the package that answers a graded cell
gives its points away. A graded answer is the function (or class) an answer cell defines when
the notebook has a test cell ``<grade_id>_tests`` with points. Two checks, both read with
:mod:`ast`, over every source notebook in ``solutions/`` and every module of ``src/hepdl``:

* **by name**: no graded answer has the name of a public function, class or method of the package;
* **by body**: no graded answer's body is a near copy of a package function's body: both bodies
  become token sequences (node kinds, attribute names and constants; the names of variables and
  arguments dropped, so renaming them does not hide a copy), compared with
  :class:`difflib.SequenceMatcher`; a ratio of :data:`COPY_RATIO` or more is a copy.

The body check cannot see an answer that the package computes with other code (a vectorised
version, another signature). Those pairs, found by reading, are in :data:`SAME_ANSWER`, and a
third check keeps each of them ungraded.

An exercise whose answer the later lessons need from the package is not graded: its check cell
tells the student when they are right, and the points go to a design task graded on unseen data.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: similarity of two bodies' token sequences at and above which one is a copy of the other
COPY_RATIO = 0.85
#: bodies shorter than this many tokens (a return of one expression) are too short to compare
MIN_TOKENS = 25


def _tokens(function: ast.FunctionDef | ast.ClassDef) -> list[str]:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring
    out: list[str] = []
    for statement in body:
        for node in ast.walk(statement):
            kind = type(node).__name__
            if isinstance(node, ast.Attribute):
                out.append(f"{kind}.{node.attr}")
            elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
                out.append(f"{kind}={node.value!r}")
            elif isinstance(node, (ast.Name, ast.arg, ast.Load, ast.Store, ast.Constant)):
                continue  # variable names, contexts and messages say nothing of what the code does
            else:
                out.append(kind)
    return out


def _package_functions() -> dict[str, list[tuple[str, list[str]]]]:
    """Public function, class and method names of src/hepdl -> [(where, tokens)]."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for path in sorted((ROOT / "src" / "hepdl").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                found.setdefault(node.name, []).append((where, _tokens(node)))
    return found


def _graded_answers() -> list[tuple[str, str, ast.FunctionDef | ast.ClassDef]]:
    """(notebook, grade_id, definition) of every graded answer cell's functions and classes."""
    answers = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        meta = [c.get("metadata", {}).get("nbgrader", {}) for c in cells]
        graded = {m.get("grade_id") for m in meta if m.get("grade") and m.get("points", 0) > 0}
        for cell, m in zip(cells, meta):
            grade_id = m.get("grade_id")
            if not (m.get("solution") and cell["cell_type"] == "code" and f"{grade_id}_tests" in graded):
                continue
            source = "".join(cell["source"])
            source = re.sub(r"^\s*%.*$", "", source, flags=re.M)  # IPython magics are not Python
            for node in ast.parse(source).body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    answers.append((path.parent.name, grade_id, node))
    return answers


PACKAGE = _package_functions()
ANSWERS = _graded_answers()

#: (assignment, answer) -> the package's function that gives the same result by other code
#: ("src/hepdl/... name"), or a library's ("sklearn.metrics name": a module, then the name)
SAME_ANSWER = {
    ("tracking1_clusterer", "phi_bin"): "src/hepdl/tracking/clusterer.py phi_bin",
    ("tracking1_clusterer", "build_model"): "src/hepdl/tracking/clusterer.py build_model",
    ("tracking1_clusterer", "assign_hits"): "src/hepdl/tracking/clusterer.py assign_hits",
    ("tracking3_approaches", "conformal_map"): "src/hepdl/tracking/approaches.py conformal",
    ("tracking3_approaches", "hough_votes"): "src/hepdl/tracking/approaches.py hough_accumulator",
    ("tracking3_approaches", "relative_bin"): "src/hepdl/tracking/approaches.py relative_bins",
    ("driftchamber1_encodings", "encode_per_hit"): "src/hepdl/driftchamber/encodings.py encode",
    ("driftchamber1_encodings", "scale_by_training_max"):
        "src/hepdl/driftchamber/encodings.py normalise",
    ("pre4_keras", "build_model"): "src/hepdl/driftchamber/models.py build_dense",
    ("tracking4_following", "features"): "src/hepdl/tracking/following.py hit_features",
    ("tracking4_following", "nearest_free"): "src/hepdl/tracking/following.py nearest_free_hits",
    ("tracking4_following", "in_batches"): "src/hepdl/tracking/following.py _predict",
    ("pre1_numpy", "energy_per_event"): "src/hepdl/driftchamber/features.py event_features",
    ("pre3_hdf5", "read_event"): "src/hepdl/common/io.py read_h5",
    ("driftchamber2_binary", "build_cnn"): "src/hepdl/driftchamber/models.py build_cnn",
    ("driftchamber4_tracks", "charge_from_bending"): "src/hepdl/driftchamber/tracks.py curvature_sign",
    ("lartpc2_particle_id", "downsample_views"): "src/hepdl/lartpc/formats.py downsample_ticks",
    ("lartpc2_particle_id", "mean_per_class_accuracy"): "sklearn.metrics balanced_accuracy_score",
}


def test_there_are_graded_answers_to_check():
    assert len(ANSWERS) >= 30, f"expected the course's graded answers, found {len(ANSWERS)}"
    assert "Clusterer" in PACKAGE and "ramp_score" in PACKAGE


@pytest.mark.parametrize("notebook,grade_id,node", ANSWERS, ids=[f"{a}:{g}" for a, g, _ in ANSWERS])
def test_no_graded_answer_is_a_public_name_of_the_package(notebook, grade_id, node):
    clash = [where for where, _ in PACKAGE.get(node.name, []) if not node.name.startswith("_")]
    assert not clash, (
        f"{notebook} grades {node.name} ({grade_id}), which the package defines too: {clash}. "
        "A student imports it and has the points. Grade a design task instead, or rename the "
        "package's function only if it does something else")


@pytest.mark.parametrize("notebook,grade_id,node", ANSWERS, ids=[f"{a}:{g}" for a, g, _ in ANSWERS])
def test_no_graded_answer_is_a_copy_of_a_package_function(notebook, grade_id, node):
    mine = _tokens(node)
    if len(mine) < MIN_TOKENS:
        return
    copies = []
    for name, defs in PACKAGE.items():
        for where, theirs in defs:
            if len(theirs) < MIN_TOKENS:
                continue
            matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
            if matcher.real_quick_ratio() >= COPY_RATIO and matcher.quick_ratio() >= COPY_RATIO:
                ratio = matcher.ratio()
                if ratio >= COPY_RATIO:
                    copies.append(f"{where} ({ratio:.2f})")
    assert not copies, (
        f"{notebook}'s graded answer {node.name} ({grade_id}) is a near copy of {copies}: a "
        "student calls that and has the points. Grade a design task instead")


@pytest.mark.parametrize("notebook,answer", sorted(SAME_ANSWER))
def test_answers_the_package_computes_otherwise_are_not_graded(notebook, answer):
    path, name = SAME_ANSWER[notebook, answer].split()
    if path.startswith("src/"):
        assert any(where.startswith(path + ":") for where, _ in PACKAGE.get(name, [])), (
            f"{path} no longer defines {name}: update SAME_ANSWER")
    else:
        assert hasattr(importlib.import_module(path), name), f"{path} has no {name}: update SAME_ANSWER"
    source = (ROOT / "solutions" / notebook / f"{notebook}.ipynb").read_text()
    assert f"def {answer}(" in source, f"{notebook} no longer asks for {answer}: update SAME_ANSWER"
    graded = [(a, g) for a, g, node in ANSWERS if a == notebook and node.name == answer]
    assert not graded, (
        f"{notebook} grades {answer} ({graded[0][1]}), which {path}'s {name} answers: keep it a "
        "self-checked warm-up and grade a design task instead")


def test_the_copy_check_finds_a_renamed_copy():
    """The body check sees through renamed variables (a copy of the package's assign_hits)."""
    source = '''
def pick(s, threshold=0.0):
    "a docstring"
    s = np.asarray(s, dtype=float)
    if s.ndim != 2:
        raise ValueError(f"2-D please, got {s.shape}")
    if s.shape[0] == 0:
        return np.full(s.shape[1], -1, dtype=np.int64)
    winner = np.argmax(s, axis=0)
    return np.where(s.max(axis=0) > threshold, winner, -1).astype(np.int64)
'''
    node = ast.parse(source).body[0]
    theirs = [t for _, t in PACKAGE["assign_hits"]]
    assert max(difflib.SequenceMatcher(None, _tokens(node), t, autojunk=False).ratio()
               for t in theirs) >= COPY_RATIO
    other = [t for _, t in PACKAGE["ramp_score"]]
    assert max(difflib.SequenceMatcher(None, _tokens(node), t, autojunk=False).ratio()
               for t in other) < COPY_RATIO
