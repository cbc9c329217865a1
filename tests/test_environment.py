"""The three descriptions of the environment agree, and the running one matches them."""

import re
from importlib.metadata import PackageNotFoundError, version

import pytest
import yaml


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        assert match, f"not an exact pin: {line!r} (every requirement is pinned with ==)"
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _conda_pins(path):
    env = yaml.safe_load(path.read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, f"{path}: expected one pip section"
    assert "python=3.11" in env["dependencies"], f"{path}: python=3.11 must be pinned"
    return _pins(pip_sections[0])


@pytest.fixture(scope="module")
def requirements(root):
    return _pins((root / "requirements.txt").read_text().splitlines())


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_conda_files_carry_the_same_pins(root, requirements, env_file):
    assert _conda_pins(root / env_file) == requirements


def test_installed_versions_match_the_pins(requirements):
    wrong = {}
    for name, pinned in requirements.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"installed versions differ from requirements.txt (pinned, installed): {wrong}"


def test_ci_runs_the_readme_test_command(root):
    readme = (root / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    script = (root / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.M), ".ci/run must run the README's `make test`"
    assert "|| true" not in script and "set +e" not in script
    workflow = (root / ".github" / "workflows" / "ci.yml").read_text()
    assert "bash .ci/run" in workflow


def test_binder_postbuild_stops_on_error_and_installs_the_package(root):
    post = (root / "binder" / "postBuild").read_text()
    assert "set -e" in post
    assert "pip install --no-deps -e ." in post
    assert "hepdl.datasets build --size student" in post
    assert "@jupyter/nbgrader:formgrader" in post
