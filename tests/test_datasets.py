import dataclasses
import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from hepdl import datasets
from hepdl.common.digests import manifest_path, read_manifest
from hepdl.common.io import DataFileError, read_attrs


def _digest(path):
    from hepdl.common.io import read_h5

    data = read_h5(path)
    h = hashlib.sha256()

    def walk(tree, prefix=""):
        for key in sorted(tree):
            if isinstance(tree[key], dict):
                walk(tree[key], prefix + key + "/")
            else:
                h.update((prefix + key).encode())
                h.update(np.ascontiguousarray(tree[key]).tobytes())

    walk(data)
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(datasets.REGISTRY))
def test_build_is_deterministic_idempotent_and_recorded(tmp_path, name):
    path, built = datasets.build(name, "ci", tmp_path / "a")
    assert built and path == tmp_path / "a" / name / "ci" / f"{name}.h5"
    again, built_again = datasets.build(name, "ci", tmp_path / "a")
    assert again == path and not built_again
    other, _ = datasets.build(name, "ci", tmp_path / "b")
    assert _digest(path) == _digest(other)
    # the same seed gives the same bytes in every file, so the same digest file
    assert manifest_path(path).read_bytes() == manifest_path(other).read_bytes()
    reseeded, _ = datasets.build(name, "ci", tmp_path / "c", seed=1)
    assert _digest(path) != _digest(reseeded)
    assert manifest_path(path).read_bytes() != manifest_path(reseeded).read_bytes()
    attrs = read_attrs(path)
    assert attrs["generator"] == name and attrs["size"] == "ci"
    assert attrs["n"] == datasets.REGISTRY[name].sizes["ci"]
    assert isinstance(attrs["config"], dict)


@pytest.mark.parametrize("name", sorted(datasets.REGISTRY))
def test_the_digest_file_covers_every_file_the_build_wrote(tmp_path, name):
    path, _ = datasets.build(name, "ci", tmp_path)
    manifest = manifest_path(path)
    written = {p.relative_to(path.parent).as_posix() for p in path.parent.rglob("*")
               if p.is_file() and p != manifest}
    assert set(read_manifest(manifest)) == written and path.name in written
    if shutil.which("sha256sum"):  # the shell's own check accepts it
        check = subprocess.run(["sha256sum", "--check", "--quiet", manifest.name],
                               cwd=path.parent, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_stale_file_is_rebuilt(tmp_path):
    path, _ = datasets.build("warmup_showers", "ci", tmp_path, seed=1)
    _, rebuilt = datasets.build("warmup_showers", "ci", tmp_path)  # default seed differs
    assert rebuilt
    path.write_bytes(b"garbage")
    _, rebuilt = datasets.build("warmup_showers", "ci", tmp_path)
    assert rebuilt


def test_a_new_simulator_revision_rebuilds_the_files_built_before(tmp_path, monkeypatch):
    spec = datasets.REGISTRY["warmup_showers"]
    path, _ = datasets.build("warmup_showers", "ci", tmp_path)
    assert read_attrs(path)["revision"] == spec.revision
    monkeypatch.setitem(datasets.REGISTRY, "warmup_showers",
                        dataclasses.replace(spec, revision=spec.revision + 1))
    result = datasets.build("warmup_showers", "ci", tmp_path)
    assert result.built and "revision differs" in result.reason, result.reason
    assert read_attrs(path)["revision"] == spec.revision + 1


def test_load_of_missing_data_quotes_the_build_command(tmp_path):
    with pytest.raises(DataFileError,
                       match=r"python -m hepdl.datasets build --size ci warmup_hits"):
        datasets.load("warmup_hits", "ci", tmp_path)


def test_unknown_names_and_sizes_are_explained(tmp_path):
    with pytest.raises(KeyError, match="unknown data set 'nope'; known: .*warmup_hits"):
        datasets.path("nope")
    with pytest.raises(ValueError, match=r"size \(tier\) must be one of 'ci', 'student', 'full'"):
        datasets.path("warmup_hits", "huge", tmp_path)


def test_data_root_search_order(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    (tmp_path / "datasets").mkdir()
    deep = tmp_path / "lessons" / "x"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert datasets.data_root() == tmp_path / "datasets"
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "elsewhere"))
    assert datasets.data_root() == tmp_path / "elsewhere"
    assert datasets.data_root(tmp_path / "given") == tmp_path / "given"


def test_command_line_builds_lists_and_rejects(tmp_path):
    run = [sys.executable, "-m", "hepdl.datasets"]
    out = subprocess.run(run + ["build", "--size", "ci", "--root", str(tmp_path), "warmup_hits"],
                         capture_output=True, text=True, check=True).stdout
    assert "built" in out and (tmp_path / "warmup_hits" / "ci" / "warmup_hits.h5").exists()
    out = subprocess.run(run + ["build", "--size", "ci", "--root", str(tmp_path), "warmup_hits"],
                         capture_output=True, text=True, check=True).stdout
    assert "up to date" in out
    built = tmp_path / "warmup_hits" / "ci" / "warmup_hits.h5"
    with open(built, "r+b") as f:
        f.seek(built.stat().st_size // 2)
        f.write(b"\xff" * 100)
    out = subprocess.run(run + ["build", "--size", "ci", "--root", str(tmp_path), "warmup_hits"],
                         capture_output=True, text=True, check=True).stdout
    assert "rebuilt (warmup_hits.h5 damaged: digest differs)" in out
    listing = subprocess.run(run + ["list"], capture_output=True, text=True, check=True).stdout
    assert all(name in listing for name in datasets.REGISTRY)
    bad = subprocess.run(run + ["build", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown data set(s) nope" in bad.stderr


def test_every_data_set_has_a_card(root):
    for name in datasets.REGISTRY:
        card = root / "datasets" / name / "README.md"
        assert card.is_file(), f"missing data set card {card}"
        text = card.read_text()
        assert datasets.rebuild_command(name, "student") in text


def test_the_read_side_needs_no_registry(tmp_path):
    """hepdl.common.data reads what hepdl.datasets built, by name, without the registry (so a
    room may read a data set); a name that could escape its folder is refused."""
    from hepdl.common import data

    datasets.build("warmup_hits", "ci", tmp_path)
    assert data.path("warmup_hits", "ci", tmp_path) == datasets.path("warmup_hits", "ci", tmp_path)
    np.testing.assert_array_equal(data.load("warmup_hits", "ci", tmp_path, keys=["hits"])["hits"]["x"],
                                  datasets.load("warmup_hits", "ci", tmp_path)["hits"]["x"])
    for bad in ("../etc", "Warmup", ""):
        with pytest.raises(ValueError, match="python -m hepdl.datasets list"):
            data.path(bad, "ci", tmp_path)
