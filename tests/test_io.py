import h5py
import numpy as np
import pytest

from hepdl.common import io


def test_roundtrip_nested_tables_and_attrs(tmp_path):
    data = {"hits": {"x": np.arange(5, dtype=np.float32), "layer": np.arange(5, dtype=np.int8)},
            "images": np.zeros((3, 4, 4), dtype=np.float32)}
    path = io.write_h5(tmp_path / "sub" / "f.h5", data,
                       attrs={"seed": 3, "name": "toy", "config": {"a": [1, 2]}})
    back = io.read_h5(path)
    np.testing.assert_array_equal(back["hits"]["x"], data["hits"]["x"])
    assert back["hits"]["layer"].dtype == np.int8
    assert back["images"].shape == (3, 4, 4)
    assert io.read_attrs(path) == {"seed": 3, "name": "toy", "config": {"a": [1, 2]}}
    with h5py.File(path) as f:
        assert f["hits/x"].compression == "gzip"
        assert f["images"].chunks is not None


def test_read_selected_keys(tmp_path):
    path = io.write_h5(tmp_path / "f.h5", {"a": {"x": np.ones(2), "y": np.zeros(2)}, "b": np.ones(1)})
    assert set(io.read_h5(path, ["a/x"])["a"]) == {"x"}
    assert set(io.read_h5(path, ["b"])) == {"b"}


def test_missing_file_names_file_and_command(tmp_path):
    target = tmp_path / "gone.h5"
    with pytest.raises(io.DataFileError, match=r"gone\.h5 does not exist.*\n.*\n\s+make data"):
        io.read_h5(target, rebuild="make data")
    # It is also a FileNotFoundError, so generic handlers still catch it.
    with pytest.raises(FileNotFoundError):
        io.open_h5(target)


def test_corrupt_file_says_delete_and_rebuild(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"this is not hdf5")
    with pytest.raises(io.DataFileError, match=r"(?s)bad\.h5 is not a readable HDF5 file.*rebuild-cmd"):
        io.read_h5(bad, rebuild="rebuild-cmd")


def test_missing_dataset_lists_what_exists(tmp_path):
    path = io.write_h5(tmp_path / "f.h5", {"hits": {"x": np.ones(2)}})
    with pytest.raises(io.DataFileError, match=r"no dataset or group 'tracks'.*\['hits'\]"):
        io.read_h5(path, ["tracks"])


def test_interrupted_write_leaves_no_file(tmp_path):
    target = tmp_path / "f.h5"
    with pytest.raises(ValueError, match="without '/'"):
        io.write_h5(target, {"a/b": np.ones(2)})
    assert not target.exists()
    assert not list(tmp_path.iterdir())
