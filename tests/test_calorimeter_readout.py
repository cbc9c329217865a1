"""Merged ECAL readouts: channel sums conserve energy and match a plain loop, bad segmentations are
refused with a message, the fixed classifier's inputs, and the segmentation figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hepdl.calorimeter import readout  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _random_segmentation(rng, n_channels):
    return rng.integers(0, n_channels, size=(25, 25, 25))


def test_public_names():
    assert sorted(readout.__all__) == ["channel_sums", "check_segmentation", "fraction_features",
                                       "plot_segmentation"]


def test_channel_sums_match_a_loop_and_conserve_the_energy():
    rng = np.random.default_rng(1)
    ecal = rng.exponential(0.1, size=(3, 25, 25, 25)).astype(np.float32)
    seg = _random_segmentation(rng, 7)
    sums = readout.channel_sums(ecal, seg, 9)
    assert sums.shape == (3, 9) and sums.dtype == np.float64
    expected = np.array([[ecal[i][seg == c].sum(dtype=np.float64) for c in range(9)] for i in range(3)])
    np.testing.assert_allclose(sums, expected, rtol=1e-10)
    np.testing.assert_allclose(sums.sum(axis=1), ecal.sum(axis=(1, 2, 3), dtype=np.float64), rtol=1e-10)
    assert np.all(sums[:, 7:] == 0), "unused channels read zero"


def test_many_events_are_summed_in_chunks_alike():
    rng = np.random.default_rng(3)
    ecal = rng.exponential(0.1, size=(600, 25, 25, 25)).astype(np.float32)
    seg = _random_segmentation(rng, 5)
    sums = readout.channel_sums(ecal, seg, 5)
    np.testing.assert_allclose(sums[[0, 255, 256, 599]], readout.channel_sums(ecal[[0, 255, 256, 599]], seg, 5), rtol=1e-12)
    np.testing.assert_allclose(sums.sum(axis=1), ecal.sum(axis=(1, 2, 3), dtype=np.float64), rtol=1e-9)


def test_one_channel_per_cell_gives_back_the_image():
    rng = np.random.default_rng(2)
    ecal = rng.exponential(0.1, size=(2, 25, 25, 25))
    sums = readout.channel_sums(ecal, np.arange(25**3).reshape(25, 25, 25), 25**3)
    np.testing.assert_array_equal(sums, ecal.reshape(2, -1))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((25, 25, 24), dtype=int), "shape"),
    (np.zeros((25, 25, 25)), "integer"),
    (np.full((25, 25, 25), 4), "0 ... 3"),
    (np.full((25, 25, 25), -1), "0 ... 3"),
])
def test_bad_segmentations_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        readout.check_segmentation(bad, 4)


def test_bad_budget_and_images_are_refused():
    seg = np.zeros((25, 25, 25), dtype=int)
    with pytest.raises(ValueError, match="max_channels"):
        readout.check_segmentation(seg, 0)
    with pytest.raises(ValueError, match="ecal"):
        readout.channel_sums(np.zeros((2, 25, 25)), seg, 1)


def test_fraction_features_are_shares_and_log_energy():
    sums = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0], [2.0, 2.0, 4.0]])
    f = readout.fraction_features(sums)
    assert f.shape == (3, 4) and f.dtype == np.float64
    np.testing.assert_allclose(f[:, :3].sum(axis=1), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(f[:, 3], [np.log(4.0), np.log(1e-3), np.log(8.0)])
    assert np.all(np.isfinite(f))
    with pytest.raises(ValueError, match="2-D"):
        readout.fraction_features(np.ones(3))


def test_plot_segmentation_uses_the_given_axes_and_labels_units():
    _, axes = plt.subplots(1, 3)
    seg = (np.arange(25)[:, None, None] // 5 + np.zeros((1, 25, 25), dtype=int))
    out = readout.plot_segmentation(seg, layers=(0, 12), axes=axes)
    assert list(out) == list(axes)
    assert all("[mm]" in ax.get_xlabel() for ax in axes)
    assert axes[-1].get_ylabel() == "layer"
    with pytest.raises(ValueError, match="axes"):
        readout.plot_segmentation(seg, layers=(0,), axes=axes)
