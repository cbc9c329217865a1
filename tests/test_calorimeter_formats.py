"""The calorimeter's public layout (write, read, check) and its feature set."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from hepdl.calorimeter import DATASETS, features, formats, geometry
from hepdl.calorimeter.simulate import simulate_events
from hepdl.common.io import DataFileError, read_attrs, read_h5

BUILD = "python -m hepdl.datasets build --size ci calorimeter_showers"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The data set's own simulate + write at 12 events per particle, in a ci-like folder."""
    spec = DATASETS[0]
    data, config = spec.simulate(12, rng=np.random.default_rng(3))
    index = tmp_path_factory.mktemp("data") / "calorimeter_showers" / "ci" / \
        "calorimeter_showers.h5"
    written = spec.write(index, data, attrs={"seed": 3, "config": config})
    return index, data, written


def test_layout_round_trip(built):
    index, data, written = built
    folder = index.parent
    assert [p.name for p in written] == [*formats.PARTICLE_FILES.values(), index.name]
    paths = formats.particle_paths(folder)
    for particle, group in formats.GROUPS.items():
        back = formats.read_particle_file(paths[particle])
        assert set(back) == set(data[group])
        for key, value in data[group].items():
            np.testing.assert_array_equal(back[key], value, err_msg=key)
        assert back["ECAL"].dtype == np.float32 and back["ECAL"].shape == (12, 25, 25, 25)
        assert back["HCAL"].dtype == np.float32 and back["HCAL"].shape == (12, 5, 5, 60)
        assert set(features.FEATURE_NAMES) <= set(back)
        assert read_attrs(paths[particle])["particle"] == particle
        with h5py.File(paths[particle]) as f:  # one event per chunk: a batch reads only itself
            assert f["ECAL"].chunks == (1, 25, 25, 25) and f["ECAL"].compression == "gzip"
    # the index: truth and features of every particle, no images
    table = read_h5(index)
    assert set(table) == set(formats.GROUPS.values())
    assert "ECAL" not in table["Pi0"] and table["Pi0"]["openingAngle"].shape == (12,)
    np.testing.assert_array_equal(table["Ele"]["ECAL_E"], data["Ele"]["ECAL_E"])
    assert read_attrs(index)["files"]["ChPi"] == "ChPiEscan_1_1.h5"


def test_reading_some_events(built):
    index, data, _ = built
    path = index.parent / "Pi0Escan_1_1.h5"
    part = formats.read_particle_file(path, keys=["ECAL", "energy"], events=np.array([7, 2, 7]))
    assert set(part) == {"ECAL", "energy"}
    np.testing.assert_array_equal(part["ECAL"], data["Pi0"]["ECAL"][[7, 2, 7]])
    batch = formats.read_particle_file(path, keys=["energy"], events=slice(4, 8))
    np.testing.assert_array_equal(batch["energy"], data["Pi0"]["energy"][4:8])
    with pytest.raises(IndexError, match=r"events must lie in \[0, 12\)"):
        formats.read_particle_file(path, keys=["energy"], events=[12])


def test_the_public_subfolders_and_large_window_are_read(tmp_path):
    """The public release keeps its files in Ele/, Gamma/, ... and its later files have the
    51 x 51 x 25 / 11 x 11 x 60 window: both read the same way."""
    for particle, group in formats.GROUPS.items():
        formats.write_particle_file(
            tmp_path / group / formats.PARTICLE_FILES[particle],
            {"ECAL": np.zeros((2, *geometry.LARGE_ECAL_SHAPE), np.float32),
             "HCAL": np.zeros((2, *geometry.LARGE_HCAL_SHAPE), np.float32),
             "energy": np.array([10.0, 20.0], np.float32), "pdgID": np.array([22, 22])})
    paths = formats.particle_paths(tmp_path)
    assert paths["pi+"] == tmp_path / "ChPi" / "ChPiEscan_1_1.h5"
    assert formats.read_particle_file(paths["gamma"])["ECAL"].shape == (2, 51, 51, 25)


def test_wrong_shapes_and_missing_datasets_are_explained(tmp_path):
    path = tmp_path / "GammaEscan_1_1.h5"
    with h5py.File(path, "w") as f:
        f["ECAL"] = np.zeros((2, 25, 25, 30), np.float32)  # layers in the wrong place
        f["HCAL"] = np.zeros((2, 5, 5, 60), np.float32)
        f["energy"] = np.ones(3)
    with pytest.raises(DataFileError, match=r"ECAL has shape \(2, 25, 25, 30\)"):
        formats.read_particle_file(path)
    with pytest.raises(DataFileError, match="energy has 3 events but the file's other"):
        formats.read_particle_file(path, keys=["HCAL", "energy"])
    with pytest.raises(DataFileError, match="has no dataset 'pdgID'"):
        formats.read_particle_file(path, keys=["pdgID"])


def test_missing_or_damaged_file_names_the_build_command(built, tmp_path):
    index, _, _ = built
    folder = tmp_path / "calorimeter_showers" / "ci"
    with pytest.raises(DataFileError, match=f"does not exist.\nRebuild it with:\n    {BUILD}"):
        formats.read_particle_file(folder / "EleEscan_1_1.h5")
    folder.mkdir(parents=True)
    damaged = folder / "EleEscan_1_1.h5"
    good = (index.parent / "EleEscan_1_1.h5").read_bytes()
    damaged.write_bytes(good[: len(good) // 3])  # truncated
    with pytest.raises(DataFileError, match=f"(?s)truncated or corrupt.*\n    {BUILD}"):
        formats.read_particle_file(damaged)
    damaged.write_bytes(good[:4096] + b"\xff" * (len(good) - 4096))  # chunks overwritten
    with pytest.raises(DataFileError, match=BUILD):
        formats.read_particle_file(damaged)
    with pytest.raises(DataFileError, match="download the file again"):
        formats.particle_paths(tmp_path)


def test_writer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="data lacks HCAL"):
        formats.write_particle_file(tmp_path / "x.h5", {"ECAL": np.zeros((1, 25, 25, 25)),
                                                        "energy": [1.0], "pdgID": [11]})
    with pytest.raises(ValueError, match="unknown particle group"):
        formats.write_layout(tmp_path / "calorimeter_showers.h5", {"Muon": {}})


def _features_by_hand(ecal, hcal):
    """The public addFeatures, one event at a time, written out plainly."""
    out = {name: [] for name in features.FEATURE_NAMES}
    for e_img, h_img in zip(ecal, hcal):
        for calo, img in (("ECAL", e_img), ("HCAL", h_img)):
            img = img.astype(float)
            total = img.sum()
            out[f"{calo}_E"].append(total)
            out[f"{calo}_nHits"].append(int(np.count_nonzero(img > 0.1)))
            first, second = img[:, :, 0].sum(), img[:, :, 1].sum()
            out[f"{calo}_ratioFirstLayerToTotalE"].append(first / total if total else np.nan)
            out[f"{calo}_ratioFirstLayerToSecondLayerE"].append(
                first / second if second else (np.nan if first == 0 else np.inf))
            for axis, keep in (("X", 0), ("Y", 1), ("Z", 2)):
                projection = img.sum(axis=tuple(a for a in range(3) if a != keep))
                index = np.arange(projection.size)
                mean = np.average(index, weights=projection) if total else np.nan
                out[f"{calo}moment{axis}1"].append(mean)
                for k in range(2, 7):
                    out[f"{calo}moment{axis}{k}"].append(
                        np.sum(projection * (index - mean) ** k) / total if total else np.nan)
        out["HCAL_ECAL_ERatio"].append(out["HCAL_E"][-1] / out["ECAL_E"][-1])
        out["HCAL_ECAL_nHitsRatio"].append(
            out["HCAL_nHits"][-1] / out["ECAL_nHits"][-1] if out["ECAL_nHits"][-1] else np.nan)
    return {name: np.array(values) for name, values in out.items()}


def test_features_match_a_direct_computation():
    rng = np.random.default_rng(11)
    ecal = np.zeros((3, 25, 25, 25), np.float32)
    hcal = np.zeros((3, 5, 5, 60), np.float32)
    # event 0: hand-made, two ECAL cells and one HCAL cell
    ecal[0, 12, 12, 0], ecal[0, 10, 14, 3], hcal[0, 2, 1, 5] = 0.5, 2.0, 0.05
    # event 1: random sparse cells in both; event 2: ECAL only (HCAL ratios nan, as public)
    for event in (1, 2):
        cells = rng.integers(0, 25, (40, 3))
        ecal[event, cells[:, 0], cells[:, 1], cells[:, 2]] = rng.exponential(0.3, 40)
    hcal[1, rng.integers(0, 5, 10), rng.integers(0, 5, 10), rng.integers(0, 60, 10)] = 0.4
    ours = features.add_features(ecal, hcal)
    theirs = _features_by_hand(ecal, hcal)
    assert list(ours) == list(features.FEATURE_NAMES) and len(ours) == 46
    for name in features.FEATURE_NAMES:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    assert ours["ECAL_nHits"].tolist()[0] == 2 and ours["HCAL_nHits"][0] == 0
    np.testing.assert_allclose(ours["ECALmomentX1"][0], (0.5 * 12 + 2.0 * 10) / 2.5)
    assert np.isnan(ours["HCALmomentZ3"][2]) and ours["HCAL_ECAL_ERatio"][2] == 0


def test_features_of_simulated_showers_are_finite_where_expected():
    data = simulate_events(30, rng=np.random.default_rng(4), particle="e-")
    f = features.add_features(data["ECAL"], data["HCAL"])
    for name in features.FEATURE_NAMES:
        if name.startswith("ECAL"):
            assert np.all(np.isfinite(f[name])), name
    np.testing.assert_allclose(f["ECAL_E"], data["ECAL"].sum(axis=(1, 2, 3)), rtol=1e-5)
    assert features.feature_matrix(f).shape == (30, 46)
    with pytest.raises(ValueError, match="same n"):
        features.add_features(data["ECAL"], data["HCAL"][:2])
