"""Damaged data files are detected: by the digest file a build writes, and by HDF5 itself.

Each case damages a copy of the ci-size ``tracking_ramp`` data set (HDF5 + CSV), then checks that
``datasets.load`` names the file and the rebuild command, that ``datasets.build`` rebuilds it and
says why, and that ``load`` works again.
"""

import os
import re
import shutil
import subprocess

import h5py
import numpy as np
import pytest

from hepdl import datasets
from hepdl.common import digests, io

NAME, SIZE = "tracking_ramp", "ci"
COMMAND = re.escape(f"Rebuild it with:\n    {datasets.rebuild_command(NAME, SIZE)}")
DAMAGED = r"tracking_ramp\.h5 is damaged: its SHA-256 digest differs"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A ci build of tracking_ramp, never damaged itself: each test damages a copy."""
    root = tmp_path_factory.mktemp("built")
    datasets.build(NAME, SIZE, root)
    return root


@pytest.fixture
def copy(built, tmp_path):
    """A fresh copy of the built data set (new files, so nothing is remembered about them)."""
    shutil.copytree(built, tmp_path / "root")
    return tmp_path / "root"


def _overwrite(path, offset, size):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * size)


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _delete_dataset(path):
    with h5py.File(path, "a") as f:
        del f["hits/x"]


def _change_seed(path):
    with h5py.File(path, "a") as f:
        f.attrs["seed"] = 1


def _add_attribute(path):
    with h5py.File(path, "a") as f:
        f.attrs["note"] = "edited by hand"


DAMAGE_TO_THE_HDF5_FILE = {
    "header bytes": lambda p: _overwrite(p, 100, 64),
    "data bytes": lambda p: _overwrite(p, p.stat().st_size // 2, 4000),
    "the issue's bytes": lambda p: _overwrite(p, 2000, 4000),
    "truncation": _truncate,
    "missing dataset": _delete_dataset,
    "wrong seed": _change_seed,
    "added attribute": _add_attribute,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE_TO_THE_HDF5_FILE))
def test_a_damaged_hdf5_file_is_named_rebuilt_and_loads_again(copy, damage):
    target = datasets.path(NAME, SIZE, copy)
    DAMAGE_TO_THE_HDF5_FILE[damage](target)
    with pytest.raises(io.DataFileError, match=f"(?s){re.escape(str(target))} .*{COMMAND}"):
        datasets.load(NAME, SIZE, copy)
    with pytest.raises(io.DataFileError, match=DAMAGED):
        datasets.load(NAME, SIZE, copy)
    result = datasets.build(NAME, SIZE, copy)
    assert result.built and result.reason == "rebuilt (tracking_ramp.h5 damaged: digest differs)"
    assert datasets.load(NAME, SIZE, copy)["hits"]["x"].size > 0
    assert not datasets.build(NAME, SIZE, copy).built


def test_a_damaged_csv_file_is_rebuilt(copy, built):
    csv = datasets.path(NAME, SIZE, copy).parent / "hits.csv"
    good = csv.read_bytes()
    _overwrite(csv, 100, 50)
    datasets.load(NAME, SIZE, copy)  # the HDF5 copy itself is fine
    result = datasets.build(NAME, SIZE, copy)
    assert result.built and result.reason == "rebuilt (hits.csv damaged: digest differs)"
    assert csv.read_bytes() == good
    csv.unlink()
    assert datasets.build(NAME, SIZE, copy).reason == "rebuilt (hits.csv missing)"
    assert csv.read_bytes() == good


def test_a_missing_or_incomplete_digest_file_is_named_and_rebuilt(copy):
    target = datasets.path(NAME, SIZE, copy)
    manifest = digests.manifest_path(target)
    listed = manifest.read_text()
    manifest.unlink()
    with pytest.raises(io.DataFileError,
                       match=f"(?s)tracking_ramp.h5 has no digest .*tracking_ramp.sha256 is "
                             f"missing.*{COMMAND}"):
        datasets.load(NAME, SIZE, copy)
    assert datasets.build(NAME, SIZE, copy).reason == "rebuilt (no digest)"
    datasets.load(NAME, SIZE, copy)

    manifest.write_text("".join(line + "\n" for line in listed.splitlines()
                                if not line.endswith("tracking_ramp.h5")))
    with pytest.raises(io.DataFileError, match=f"(?s)is not listed in its digest file.*{COMMAND}"):
        datasets.load(NAME, SIZE, copy)
    assert datasets.build(NAME, SIZE, copy).reason == "rebuilt (tracking_ramp.h5 not in the digest)"

    manifest.write_text("not a digest\n")
    with pytest.raises(io.DataFileError, match=f"(?s)line 1 is not .*{COMMAND}"):
        datasets.load(NAME, SIZE, copy)
    assert datasets.build(NAME, SIZE, copy).reason == "rebuilt (digest file damaged)"
    datasets.load(NAME, SIZE, copy)


def test_an_interrupted_rebuild_leaves_no_digest(copy, monkeypatch):
    import dataclasses

    def crash(path, data, *, attrs):
        raise RuntimeError("interrupted")

    spec = datasets.REGISTRY[NAME]
    monkeypatch.setitem(datasets.REGISTRY, NAME, dataclasses.replace(spec, write=crash))
    with pytest.raises(RuntimeError, match="interrupted"):
        datasets.build(NAME, SIZE, copy, force=True)
    assert not digests.manifest_path(datasets.path(NAME, SIZE, copy)).exists()
    monkeypatch.setitem(datasets.REGISTRY, NAME, spec)
    assert datasets.build(NAME, SIZE, copy).reason == "rebuilt (no digest)"


@pytest.mark.parametrize("damage", ["header bytes", "the issue's bytes", "data bytes",
                                    "truncation"])
def test_a_corrupt_file_without_digest_gives_a_clear_error(built, tmp_path, damage):
    """Real public files have no digest file: whatever h5py raises becomes a DataFileError."""
    public = tmp_path / "train_sample.h5"
    shutil.copy(datasets.path(NAME, SIZE, built), public)
    DAMAGE_TO_THE_HDF5_FILE[damage](public)
    unreadable = (r"train_sample\.h5 is not a readable HDF5 file \((OSError|RuntimeError): .+\)\. "
                  r"It may be truncated or corrupt: build it again\.\n.*\n\s+get-it-again")
    with pytest.raises(io.DataFileError, match=unreadable) as caught:
        io.read_h5(public, rebuild="get-it-again")
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value.__cause__, (OSError, RuntimeError))


def test_read_attrs_turns_h5py_errors_into_data_file_errors(built, tmp_path):
    public = tmp_path / "public.h5"
    shutil.copy(datasets.path(NAME, SIZE, built), public)
    _truncate(public)
    with pytest.raises(io.DataFileError, match=r"public\.h5 is not a readable HDF5 file"):
        io.read_attrs(public)


def test_a_file_read_twice_is_hashed_once(copy, monkeypatch):
    hashed = []
    real = digests.file_sha256
    monkeypatch.setattr(digests, "file_sha256", lambda path: hashed.append(path) or real(path))
    monkeypatch.setattr(digests, "_SETTLE_NS", 0)
    datasets.load(NAME, SIZE, copy)
    datasets.load(NAME, SIZE, copy, keys=["particles"])
    assert len(hashed) == 1
    target = datasets.path(NAME, SIZE, copy)
    _change_seed(target)
    later = target.stat().st_mtime_ns + 10**9  # as an edit a second later would leave it
    os.utime(target, ns=(later, later))
    with pytest.raises(io.DataFileError, match=DAMAGED):
        datasets.load(NAME, SIZE, copy)
    assert len(hashed) == 2


def test_a_file_changed_within_a_clock_tick_is_not_trusted(copy):
    """A file verified moments after it was written is hashed again: a same-size edit within the
    file system's clock tick could keep its time stamps."""
    target = datasets.path(NAME, SIZE, copy)
    datasets.load(NAME, SIZE, copy)
    _overwrite(target, target.stat().st_size // 2, 4000)
    with pytest.raises(io.DataFileError, match=DAMAGED):
        datasets.load(NAME, SIZE, copy)


def test_the_digest_file_lists_every_file_and_sha256sum_accepts_it(built):
    folder = datasets.path(NAME, SIZE, built).parent
    manifest = digests.manifest_path(datasets.path(NAME, SIZE, built))
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(digests.read_manifest(manifest)) == written - {manifest.name}
    assert manifest.read_text().splitlines()[0] == \
        f"{digests.file_sha256(folder / 'hits.csv')}  hits.csv"
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", manifest.name], cwd=folder,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_manifest_helpers_reject_what_sha256sum_could_not_read(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match="is not inside .*sub"):
        digests.write_manifest(tmp_path / "sub" / "x.sha256", [tmp_path / "x.h5"])
    with pytest.raises(ValueError, match="no files to list"):
        digests.write_manifest(tmp_path / "x.sha256", [])
    with pytest.raises(io.DataFileError, match=r"Digest file .*x\.sha256 does not exist"):
        digests.read_manifest(tmp_path / "x.sha256")
    data = io.write_h5(tmp_path / "x.h5", {"x": np.arange(3)})
    digests.write_manifest(tmp_path / "x.sha256", [data])
    digests.verify_digest(data)
    assert digests.manifest_problem(tmp_path / "x.sha256", required=[data]) is None
