"""The public CSV layouts: exact round trips, the data-set export, errors that say what to do."""

from pathlib import Path

import numpy as np
import pytest

from hepdl import datasets
from hepdl.common.io import DataFileError
from hepdl.tracking import formats, ramp, trackml
from hepdl.tracking.formats import TrackingFormatError

RAMP_HEADER = "event_id,cluster_id,layer,iphi,x,y"
TRACKML_HITS_HEADER = "hit_id,x,y,z,volume_id,layer_id,module_id"


@pytest.fixture(scope="module")
def ramp_data():
    return ramp.simulate_ramp_events(20, rng=np.random.default_rng(1),
                                     config=ramp.RampConfig(noise_fraction=0.03))


@pytest.fixture(scope="module")
def trackml_data():
    return trackml.simulate_trackml_events(3, rng=np.random.default_rng(2),
                                           config=trackml.TrackMLConfig(mean_particles=40.0))


def _assert_tables_equal(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_ramp_round_trip_is_exact(tmp_path, ramp_data):
    hits_csv, particles_csv = formats.write_ramp_csv(tmp_path, ramp_data)
    assert hits_csv.read_text().splitlines()[0] == RAMP_HEADER
    assert particles_csv.read_text().splitlines()[0] == "event_id,cluster_id,pt,phi,x_vtx,y_vtx"
    back = formats.read_ramp_csv(tmp_path)
    for table in ("hits", "particles"):
        _assert_tables_equal(back[table], ramp_data[table])
    # the challenge's train.csv: one hits file, any column order, extra columns ignored
    lines = hits_csv.read_text().splitlines()
    swapped = ["hit," + ",".join(line.split(",")[::-1]) for line in lines]
    (tmp_path / "train.csv").write_text("\n".join(swapped) + "\n")
    only_hits = formats.read_ramp_csv(tmp_path / "train.csv")
    assert sorted(only_hits) == ["hits"]
    _assert_tables_equal(only_hits["hits"], ramp_data["hits"])


def test_trackml_round_trip_is_exact(tmp_path, trackml_data):
    prefixes = formats.write_trackml_csv(tmp_path / "events", trackml_data)
    assert [p.name for p in prefixes] == ["event000000000", "event000000001", "event000000002"]
    for event_id, prefix in enumerate(prefixes):
        back = formats.read_trackml_event(prefix)
        one = formats.select_event(trackml_data, event_id)
        for table in ("hits", "truth", "particles"):
            _assert_tables_equal(back[table], one[table])
    assert Path(f"{prefixes[0]}-hits.csv").read_text().startswith(TRACKML_HITS_HEADER + "\n")
    # a test-set event has hits only; max_events keeps the first events, the folder is replaced
    prefixes = formats.write_trackml_csv(tmp_path / "events", trackml_data, max_events=2)
    assert sorted(p.name for p in (tmp_path / "events").iterdir())[-1] == \
        "event000000001-truth.csv"
    Path(f"{prefixes[1]}-truth.csv").unlink()
    Path(f"{prefixes[1]}-particles.csv").unlink()
    assert sorted(formats.read_trackml_event(prefixes[1])) == ["hits"]


def test_the_data_set_build_exports_the_public_layouts(tmp_path):
    path, _ = datasets.build("tracking_ramp", "ci", tmp_path)
    stored = datasets.load("tracking_ramp", "ci", tmp_path)
    exported = formats.read_ramp_csv(path.parent)
    for table in ("hits", "particles"):
        _assert_tables_equal(exported[table], stored[table])
    path, _ = datasets.build("tracking_trackml", "ci", tmp_path)
    stored = datasets.load("tracking_trackml", "ci", tmp_path)
    n_events = datasets.REGISTRY["tracking_trackml"].sizes["ci"]
    assert len(list((path.parent / "events").glob("*-hits.csv"))) == n_events
    back = formats.read_trackml_event(formats.event_prefix(path.parent / "events", n_events - 1))
    one = formats.select_event(stored, n_events - 1)
    for table in ("hits", "truth", "particles"):
        _assert_tables_equal(back[table], one[table])


def _ramp_file(tmp_path, body, header=RAMP_HEADER):
    path = tmp_path / "hits.csv"
    path.write_text(header + "\n" + body)
    return path


@pytest.mark.parametrize("header, body, message", [
    ("event_id,cluster_id,layer,x,y", "0,0,0,39,0\n",
     r"hits.csv: missing column\(s\) iphi; the header line has event_id,cluster_id,layer,x,y"),
    (RAMP_HEADER, "0,0,0,1,39.0,0.0\n0,0,1,x,85.0,0.0\n",
     r"hits.csv: malformed row \(line 3 of the file\): could not convert string 'x'"),
    (RAMP_HEADER, "0,0,0,1,39.0,0.0\n0,0,1,2\n", r"malformed row \(line 3 of the file\)"),
    (RAMP_HEADER, "\n", "hits.csv: the file has a header but no rows: an empty event"),
    (RAMP_HEADER, "0,0,9,1,1100.0,0.0\n",
     r"hits.csv: line 2 puts a hit on layer 9, outside the detector \(layers 0 to 8"),
    (RAMP_HEADER, "0,0,0,9802,39.0,0.0\n",
     "line 2 has iphi = 9802 on layer 0, which has cells 0 to 9801 only"),
    (RAMP_HEADER, "0,-2,0,1,39.0,0.0\n", "line 2 has cluster_id -2"),
    (RAMP_HEADER, "0,0,0,1,nan,0.0\n", "column x holds nan on line 2"),
])
def test_broken_ramp_files_are_explained(tmp_path, header, body, message):
    path = _ramp_file(tmp_path, body, header)
    with pytest.raises(TrackingFormatError, match=message):
        formats.read_ramp_csv(path)


def test_missing_files_quote_the_build_command(tmp_path):
    folder = tmp_path / "datasets" / "tracking_ramp" / "student"
    folder.mkdir(parents=True)
    with pytest.raises(DataFileError, match=r"hits.csv does not exist.\nRebuild it with:\n"
                       r"    python -m hepdl.datasets build --size student --force tracking_ramp"):
        formats.read_ramp_csv(folder)
    with pytest.raises(DataFileError, match="event000000004-hits.csv does not exist"):
        formats.read_trackml_event(tmp_path / "event000000004")


def _trackml_event(tmp_path, hits, truth=None):
    prefix = formats.event_prefix(tmp_path, 3)
    Path(f"{prefix}-hits.csv").write_text(hits)
    if truth is not None:
        Path(f"{prefix}-truth.csv").write_text(truth)
    return prefix


TRUTH_HEADER = "hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight\n"


@pytest.mark.parametrize("hits, truth, message", [
    (TRACKML_HITS_HEADER + "\n", None, "event000000003-hits.csv: the file has a header but no "
                                       "rows: an empty event"),
    (TRACKML_HITS_HEADER + "\n1,32,0,0,8,10,1\n", None,
     r"line 2 puts hit 1 on volume_id 8, layer_id 10, a layer the TrackML detector does not have"),
    (TRACKML_HITS_HEADER + "\n1,32,0,0,8,2,1\n1,72,0,0,8,4,1\n", None,
     "hit_id 1 appears 2 times"),
    ("hit_id,x,y,volume_id,layer_id,module_id\n1,32,0,8,2,1\n", None,
     r"missing column\(s\) z"),
    (TRACKML_HITS_HEADER + "\n1,32,0,0,8,2,1\n", TRUTH_HEADER + "2,5,32,0,0,1,0,0,1\n",
     "event000000003-truth.csv: its hit ids differ from those of"),
    (TRACKML_HITS_HEADER + "\n1,32,0,0,8,2,1\n", TRUTH_HEADER + "1,5,32,0,0,1,0,0,one\n",
     "could not convert string 'one'"),
])
def test_broken_trackml_files_are_explained(tmp_path, hits, truth, message):
    prefix = _trackml_event(tmp_path, hits, truth)
    with pytest.raises(TrackingFormatError, match=message):
        formats.read_trackml_event(prefix)


def test_real_trackml_end_cap_hits_are_accepted(tmp_path):
    prefix = _trackml_event(tmp_path, TRACKML_HITS_HEADER + "\n1,-64.4,-7.2,-1502,7,2,1\n")
    assert formats.read_trackml_event(prefix)["hits"]["volume_id"].tolist() == [7]


def test_bad_arguments_are_explained(tmp_path, trackml_data):
    with pytest.raises(ValueError, match=r"prefix must end in 'event' and nine digits"):
        formats.read_trackml_event(tmp_path / "event000000003-hits.csv")
    with pytest.raises(ValueError, match="parts must include 'hits'"):
        formats.read_trackml_event(tmp_path / "event000000003", parts=("truth",))
    with pytest.raises(ValueError, match="max_events must be at least 1"):
        formats.write_trackml_csv(tmp_path / "e", trackml_data, max_events=0)
    with pytest.raises(ValueError, match="table 'x' has no event_id column"):
        formats.select_event({"x": {"a": np.ones(2)}}, 0)
