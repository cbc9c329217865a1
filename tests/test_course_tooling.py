"""The release / check / grading tooling on a one-assignment course built in a temp folder."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from minicourse import demo_notebook, grader, make_minicourse

from hepdl_course import checks, course, release


@pytest.fixture
def mini(tmp_path):
    return make_minicourse(tmp_path / "course")


def _problems(root):
    return [str(p) for p in checks.course_problems(course.assignments(root))]


def test_clean_course_has_no_problems(mini):
    assert _problems(mini) == []


def _break(mini, mutate):
    nb = demo_notebook()
    mutate(nb)
    nbformat.write(nb, mini / "solutions" / "demo" / "demo.ipynb")


@pytest.mark.parametrize("mutate, expected", [
    (lambda nb: nb.cells[2].metadata["nbgrader"].pop("grade_id"), "cell 2: nbgrader metadata lacks ['grade_id']"),
    (lambda nb: nb.cells[2].metadata["nbgrader"].update(schema_version=2), "cell 2: nbgrader schema_version must be 3, got 2 (demo_triangle)"),
    (lambda nb: nb.cells[3].metadata["nbgrader"].pop("points"), "cell 3: graded cell needs positive 'points', got None (demo_triangle_tests)"),
    (lambda nb: nb.cells[3].metadata["nbgrader"].update(points=0), "cell 3: graded cell needs positive 'points', got 0"),
    (lambda nb: nb.cells[2].metadata.pop("nbgrader"), "cell 2: has solution or hidden-test markers but no nbgrader metadata"),
    (lambda nb: nb.cells[3].metadata.update(grader("demo_triangle", solution=False, grade=True, points=1)), "cell 3: grade_id 'demo_triangle' already used"),
    (lambda nb: setattr(nb.cells[2], "source", nb.cells[2].source.replace("### END SOLUTION", "")), "cell 2: answer cell lacks"),
    (lambda nb: nb.cells[2].metadata["nbgrader"].update(grade="yes"), "cell 2: nbgrader 'grade' must be true or false"),
])
def test_malformed_metadata_is_named_by_notebook_and_cell(mini, mutate, expected):
    _break(mini, mutate)
    problems = _problems(mini)
    assert any(expected in p and p.startswith("solutions/demo/demo.ipynb") for p in problems), problems
    with pytest.raises(release.ReleaseError, match="release stopped") as info:
        release.release(course.assignments(mini))
    assert "demo.ipynb" in str(info.value)
    assert not (mini / "lessons" / "demo").exists(), "a failed release must write nothing"


@pytest.mark.parametrize("mutate, expected", [
    (lambda nb: nb.cells.pop(0), "the first cell must be markdown starting with '# Title'"),
    (lambda nb: setattr(nb.cells[0], "source", "# Demo\nno header parts"), "must say 'Budget'"),
    (lambda nb: nb.cells[1].metadata.update(tags=[]), "exactly one code cell must be tagged 'parameters'"),
    (lambda nb: nb.cells[4].update(execution_count=3), "cell 4: has outputs or an execution count"),
    (lambda nb: nb.metadata.kernelspec.update(name="python2"), "kernelspec name must be 'python3'"),
    (lambda nb: nb.cells[2].metadata.update(tags=["design"]), "cell 2: the 'design' tag belongs on a design task's graded test cell"),
])
def test_convention_checks(mini, mutate, expected):
    _break(mini, mutate)
    assert any(expected in p for p in _problems(mini)), _problems(mini)


def test_grading_counts_points_design_tasks_and_warmups():
    nb = demo_notebook()
    assert checks.grading(nb) == checks.Grading(points=2, design_points=0, warmups=0)
    nb.cells[3].metadata["tags"] = ["design"]
    assert str(checks.grading(nb)) == "2 points (2 in design tasks), 0 warm-ups"
    nb.cells[3].metadata.pop("nbgrader")  # the test cell becomes a self-check: the answer is a warm-up
    assert str(checks.grading(nb)) == "0 points, 1 warm-up"


def test_invalid_json_is_a_problem_not_a_crash(mini):
    (mini / "solutions" / "demo" / "demo.ipynb").write_text("{ not json")
    assert any("not a valid notebook file" in p for p in _problems(mini))


def test_bad_assignment_toml_is_explained(mini):
    toml = mini / "solutions" / "demo" / "assignment.toml"
    toml.write_text(toml.read_text().replace('section = "lessons"', 'section = "talks"'))
    with pytest.raises(course.AssignmentError, match=r"assignment.toml: section must be one of"):
        course.assignments(mini)


@pytest.mark.parametrize("old, new, expected", [
    ("minutes = 1", "minutes = 120", "minutes = 120 is longer than a 90-minute slot: split the lesson"),
    ("[student]\nseconds = 6\nmemory_mb = 300\n", "", "needs [student] seconds and memory_mb"),
    ("seconds = 6\n", "seconds = 600\n", "minutes = 1 is less than the reading"),
    ("memory_mb = 300", "memory_mb = 1950", "does not fit Binder's 2048 MB"),
    ("memory_mb = 300", "memory_mb = 1200", "tell the student to shut down the kernels"),
])
def test_budgets_cover_reading_the_student_run_and_binder(mini, old, new, expected):
    """minutes covers the prose at 175 words a minute plus the measured student-tier run, a lesson
    fits 90 minutes, the student tier fits Binder beside JupyterLab, and a kernel above 1 GB comes
    with the note to shut finished kernels down."""
    toml = mini / "solutions" / "demo" / "assignment.toml"
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, new))
    assert any(expected in p for p in _problems(mini)), _problems(mini)


@pytest.mark.parametrize("band, flagged", [
    ("demo_accuracy = [0.0, 1.0]", True), ("pion_as_muon = [-0.1, 1.2]", True),
    ("demo_auc = [0.55, 1.0]", False), ("demo_iou = [0.0, 0.4]", False), ("total_mev = [0.0, 1.0e3]", False),
])
def test_a_fraction_band_that_cannot_fail_is_a_problem(mini, band, flagged):
    """A band of [0, 1] on an accuracy, AUC, confusion or other fraction passes whatever the
    notebook computes: check names it; bands on other quantities are the author's call."""
    toml = mini / "solutions" / "demo" / "assignment.toml"
    toml.write_text(toml.read_text().replace("total = [5.5, 6.5]\n", f"total = [5.5, 6.5]\n{band}\n"))
    found = [p for p in _problems(mini) if "admits every value a fraction can take" in p]
    assert len(found) == flagged, _problems(mini)


def test_reading_time_counts_the_prose_only():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("word " * 350),
                                         nbformat.v4.new_code_cell("x = 1  # " + "comment " * 500)])
    assert checks.reading_minutes(nb) == pytest.approx(2.0)


def test_release_strips_solutions_hidden_tests_and_outputs(mini):
    written = release.release(course.assignments(mini))
    assert written == [mini / "lessons" / "demo"]
    student = (mini / "lessons" / "demo" / "demo.ipynb").read_text()
    assert "BEGIN SOLUTION" not in student and "n * (n + 1)" not in student
    assert "raise NotImplementedError()" in student
    assert "BEGIN HIDDEN TESTS" not in student and "triangle(4)" not in student
    assert 'triangle(1) == 1' in student  # visible tests stay
    assert not (mini / "lessons" / "demo" / "assignment.toml").exists()
    nb = json.loads(student)
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_drift_is_detected(mini, tmp_path):
    every = course.assignments(mini)
    release.release(every)
    fresh = tmp_path / "fresh"
    release.generate(every, fresh)
    assert release.differences(every, fresh) == []
    student = mini / "lessons" / "demo" / "demo.ipynb"
    student.write_text(student.read_text().replace("Sum of 1..n", "Sum of 1..n, edited by hand"))
    assert any("differs from solutions/demo" in d for d in release.differences(every, fresh))
    shutil.rmtree(mini / "lessons" / "demo")
    assert any("is missing" in d for d in release.differences(every, fresh))


def test_release_prunes_folders_without_source(mini):
    (mini / "lessons" / "old_lesson").mkdir(parents=True)
    release.release(course.assignments(mini))
    assert not (mini / "lessons" / "old_lesson").exists()


@pytest.mark.grading
def test_grading_roundtrip_on_the_minicourse(mini, tmp_path):
    from hepdl_course.grading import csv_rows, roundtrip

    grades, export = roundtrip(course.assignments(mini), tmp_path / "grading", data_dir=mini / "datasets")
    scores = {g.student: (g.score, g.max_score) for g in grades}
    assert scores == {"solution": (2.0, 2.0), "untouched": (0.0, 2.0)}
    assert all(g.feedback is not None and g.feedback.stat().st_size > 0 for g in grades)
    rows = csv_rows(export)
    assert {(r["student_id"], float(r["score"])) for r in rows} == {("solution", 2.0), ("untouched", 0.0)}


def test_execute_records_results_and_reports_errors(mini, tmp_path):
    from hepdl_course.execute import band_failures, execute

    demo = course.find("demo", mini)
    run = execute(demo, "ci", tmp_path / "run", data_dir=mini / "datasets")
    assert run.error is None and run.results == {"total": 6}
    assert band_failures(demo, run.results) == []
    assert band_failures(demo, {"total": 10}) == ["demo: total = 10 outside [5.5, 6.5]"]
    assert band_failures(demo, {}) == ["demo: result 'total' was not recorded"]
    broken = run = execute(demo, "ci", tmp_path / "run2", parameters={"N": "'text'"})
    assert broken.error is not None and "TypeError" in broken.error


def test_reference_runs_drop_tensorflows_machine_dependent_log_lines():
    """TensorFlow's C++ start-up lines differ between machines: they must not enter a diff,
    while a real stderr message in the same output stays."""
    from nbformat.v4 import new_code_cell, new_output

    from hepdl_course.references import POST_PROCESSORS, drop_machine_logs
    from pytest_notebook.post_processors import list_processor_names

    assert set(POST_PROCESSORS) <= set(list_processor_names()), "reinstall the package: pip install -e ."
    tf_lines = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                "I0000 00:00:1796185648.377868   11222 port.cc:153] oneDNN custom operations are on.\n"
                "To enable the following instructions: AVX2 FMA, in other operations, rebuild.\n")
    cell = new_code_cell("import keras", outputs=[
        new_output("stream", name="stderr", text=tf_lines),
        new_output("stream", name="stderr", text=tf_lines + "UserWarning: a real warning\n"),
        new_output("stream", name="stdout", text="I0000 kept: stdout is the notebook's own\n")])
    nb = nbformat.v4.new_notebook(cells=[cell])
    out, _ = drop_machine_logs(nb, {})
    assert [o.get("text") for o in out.cells[0].outputs] == [
        "UserWarning: a real warning\n", "I0000 kept: stdout is the notebook's own\n"]


def test_reference_runs_mask_the_numbers_of_trained_networks_and_nothing_else():
    """A cell marked as varying keeps its words in the diff and loses its numbers; an unmarked
    cell's numbers still count; a mark without a reason is refused."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from pytest_notebook.diffing import diff_notebooks, filter_diff
    from pytest_notebook.notebook import regex_replace_nb

    from hepdl_course.references import DIFF_IGNORE, DIFF_REPLACE, _fixture, masked_cells

    def run(loss, epochs, road):
        trained = new_code_cell("model.fit(...)", outputs=[new_output(
            "stream", name="stdout", text=f"{epochs} epochs, loss {loss}, 1,498 seeds, 1e-3\n")],
            metadata={"hepdl": {"varies": "numbers from the trained network"}})
        baseline = new_code_cell("road()", outputs=[new_output("stream", name="stdout",
                                                               text=f"road following {road}\n")])
        trained.id, baseline.id = "trained", "baseline"
        return new_notebook(cells=[trained, baseline])

    reference = run("0.365", 20, "0.939")
    masked = masked_cells(reference)
    assert masked == {0: "numbers from the trained network"}
    replace = _fixture(Path("."), False, masked).diff_replace
    assert replace[: len(DIFF_REPLACE)] == DIFF_REPLACE

    def differs(a, b):
        diff = diff_notebooks(regex_replace_nb(a, replace), regex_replace_nb(b, replace))
        return bool(filter_diff(diff, DIFF_IGNORE))

    assert not differs(reference, run("0.362", 19, "0.939"))      # the network's numbers
    assert differs(reference, run("0.365", 20, "0.940"))          # the baseline's number
    words = run("0.365", 20, "0.939")
    words.cells[0].outputs[0].text = "20 epochs, loss 0.365, nothing else\n"
    assert differs(reference, words)                              # the text around them

    reference.cells[1].metadata["hepdl"] = {"varies": ""}
    with pytest.raises(ValueError, match="must state why"):
        masked_cells(reference)


def test_deterministic_notebooks_that_train_a_network_mask_its_numbers():
    """A notebook marked deterministic that calls ``fit`` prints numbers that depend on the
    machine (see hepdl_course.references): at least one of its cells must say so."""
    from hepdl_course.references import masked_cells, parameterised

    for assignment in course.assignments(ROOT):
        nb = parameterised(assignment)
        if assignment.deterministic and any(".fit(" in cell.source for cell in nb.cells):
            assert masked_cells(nb), (f"{assignment.name} trains a network but marks no cell "
                                      "with metadata hepdl.varies")
