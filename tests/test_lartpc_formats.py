"""The LArTPC public layout: writer and reader round trip, real-file variants, damaged and missing
files, voxels (hepdl.lartpc.formats)."""

import h5py
import numpy as np
import pytest

from hepdl import datasets
from hepdl.common.io import DataFileError
from hepdl.lartpc import formats
from hepdl.lartpc.geometry import VOXEL_SHAPE
from hepdl.lartpc.simulate import CLASS_NAMES, simulate_events

REBUILD = "python -m hepdl.datasets build --size ci lartpc_events"


@pytest.fixture(scope="module")
def simulated():
    return simulate_events(14, rng=np.random.default_rng(4))


def test_the_layout_round_trips(tmp_path, simulated):
    files = formats.write_public(tmp_path, simulated, CLASS_NAMES)
    names = {f.name for f in files}
    assert {"electron.h5", "photon_3D.h5", "muon.h5", "proton_3D.h5"} <= names
    images = formats.read_images(tmp_path)
    points = formats.read_points(tmp_path)
    order = images["event"]
    assert sorted(order.tolist()) == list(range(14))
    np.testing.assert_array_equal(points["event"], order)
    assert images["images"].dtype == np.float16
    assert images["images"].tobytes() == simulated["images"][order].tobytes()
    np.testing.assert_array_equal(images["Energy"], simulated["events"]["energy_gev"][order])
    labels = np.array([CLASS_NAMES.index(c) for c in images["class_name"]])
    np.testing.assert_array_equal(labels, simulated["events"]["label"][order])
    for row, event in enumerate(order):
        c, v = formats.event_points(points, row)
        c0, v0 = formats.event_points(simulated["images3D"], int(event))
        np.testing.assert_array_equal(c, c0)
        np.testing.assert_array_equal(v, v0)
    only = formats.read_images(tmp_path, classes=["muon"], max_events=1)
    assert set(only["class_name"]) == {"muon"} and len(only["Energy"]) == 1


def test_real_files_with_features_ticks_and_padded_points(tmp_path):
    rng = np.random.default_rng(0)
    raw = np.zeros((3, 2, 240, 4096), np.float16)
    raw[:, 1, 100, 40:60] = 1.0
    with h5py.File(tmp_path / "pionMinus.h5", "w") as f:
        f["features"] = raw
        f["Energy"] = np.array([[1.0], [2.0], [3.0]], np.float32)
    images = formats.read_images(tmp_path / "pionMinus.h5")
    assert images["images"].shape == (3, 2, 240, 128)
    assert float(images["images"][0, 1, 100].astype(np.float32).sum()) == 20.0
    assert images["class_name"].tolist() == ["pion"] * 3 and images["event"].tolist() == [-1] * 3
    padded = np.zeros((2, 5, 3), np.float32)
    charge = np.zeros((2, 5), np.float32)
    padded[0, :2], charge[0, :2] = rng.uniform(1, 10, (2, 3)), 1.0
    padded[1, :3], charge[1, :3] = rng.uniform(1, 10, (3, 3)), 2.0
    with h5py.File(tmp_path / "pionMinus_3D.h5", "w") as f:
        f["images3D/C"], f["images3D/V"] = padded, charge
    points = formats.read_points(tmp_path)
    assert points["offsets"].tolist() == [0, 2, 5]
    np.testing.assert_array_equal(formats.event_points(points, 1)[0], padded[1, :3])


def test_a_file_without_the_layout_is_explained(tmp_path):
    with h5py.File(tmp_path / "muon.h5", "w") as f:
        f["images"] = np.zeros((2, 3, 240, 10), np.float16)
        f["Energy"] = np.zeros(2)
    with pytest.raises(formats.LArTPCFormatError, match=r"shape \(2, 3, 240, 10\).*\(N, 2, 240"):
        formats.read_images(tmp_path)
    with pytest.raises(DataFileError, match="(?s)No LArTPC 3-D files.*download"):
        formats.read_points(tmp_path)
    (tmp_path / "proton.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(DataFileError, match="(?s)proton.h5 is not a readable HDF5 file.*good copy"):
        formats.read_images(tmp_path / "proton.h5")


def test_damaged_or_missing_course_files_name_the_build_command(tmp_path):
    path, _ = datasets.build("lartpc_events", "ci", tmp_path)
    folder = path.parent
    index = datasets.load("lartpc_events", "ci", tmp_path)["events"]
    images = formats.read_images(folder)
    # the index tells each event's file and row
    file_names = np.array(formats.FILE_NAMES)[index["file"]]
    for event in images["event"][:5]:
        assert file_names[event] in ("pionPlus", "pionMinus") or \
            formats.CLASS_OF_FILE[file_names[event]] == CLASS_NAMES[index["label"][event]]
    target = folder / "electron.h5"
    with open(target, "r+b") as f:
        f.seek(target.stat().st_size // 2)
        f.write(b"\xff" * 64)
    with pytest.raises(DataFileError, match=f"(?s)electron.h5 is damaged.*{REBUILD}"):
        formats.read_images(folder)
    (folder / "muon_3D.h5").unlink()
    with pytest.raises(DataFileError, match=f"(?s)muon_3D.h5.*{REBUILD}"):
        formats.read_points(folder / "muon_3D.h5")
    (folder / "lartpc_events.sha256").unlink()  # an interrupted build
    with pytest.raises(DataFileError, match=f"(?s)proton.h5 has no digest.*{REBUILD}"):
        formats.read_images(folder, classes=["proton"])


def test_voxelize_counts_and_sums_charge():
    points = np.array([[0.2, -19.9, 0.1], [0.8, -19.5, 0.9], [46.5, 19.5, 89.5], [50.0, 0, 0]])
    grid = formats.voxelize(points, np.array([1.0, 2.0, 4.0, 8.0]))
    assert grid.shape == VOXEL_SHAPE and grid.dtype == np.float32
    assert grid[0, 0, 0] == 3.0 and grid[46, 39, 89] == 4.0 and grid.sum() == 7.0
    assert formats.voxelize(points, voxel_cm=2.0).shape == (24, 20, 45)
    with pytest.raises(ValueError, match="voxel_cm"):
        formats.voxelize(points, voxel_cm=0)


def test_downsampling_needs_enough_ticks():
    with pytest.raises(ValueError, match="cannot take 128 bins of 20 ticks"):
        formats.downsample_ticks(np.zeros((2, 240, 1000)))
