"""The LArTPC room's figures: they draw on the Axes given, return it, and label their axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hepdl.lartpc import geometry, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("draw", [plots.wire_plane_view, plots.drift_view])
def test_geometry_views_use_the_given_axes_and_label_units(draw):
    _, ax = plt.subplots()
    assert draw(ax=ax) is ax
    assert "[cm]" in ax.get_xlabel() and "[cm]" in ax.get_ylabel()
    assert ax.get_xlim()[1] >= geometry.ACTIVE_Z_CM


def test_wire_plane_view_draws_the_wires_inside_the_face():
    ax = plots.wire_plane_view(every=40)
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert len(lines) > 6
    for line in lines:
        z, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert np.all((z >= -1e-9) & (z <= geometry.ACTIVE_Z_CM + 1e-9))
        assert np.all(np.abs(y) <= geometry.ACTIVE_Y_CM / 2 + 1e-9)
    with pytest.raises(ValueError, match="every must be a positive int"):
        plots.wire_plane_view(every=0)


def test_wire_image_shows_the_plane_in_drift_centimetres():
    image = np.zeros((geometry.N_WIRES, geometry.N_TIME_BINS), np.float16)
    image[100, 10] = -50.0
    _, ax = plt.subplots()
    assert plots.wire_image(image, plane=0, ax=ax, colorbar=False) is ax
    shown = ax.get_images()[0]
    assert shown.get_array().shape == (geometry.N_TIME_BINS, geometry.N_WIRES)
    assert shown.get_clim() == (-20.0, 20.0)      # induction: symmetric about zero, at least 20
    assert plots.wire_image(image, plane=0, vmax=50.0, colorbar=False).get_images()[0] \
        .get_clim() == (-50.0, 50.0)
    assert ax.get_ylim()[1] == pytest.approx(geometry.N_TIME_BINS * geometry.BIN_CM)
    assert "drift distance x [cm]" == ax.get_ylabel()
    collection = plots.wire_image(image, plane=1, colorbar=False)
    assert collection.get_images()[0].get_clim()[0] == 0.0


def test_wire_image_rejects_wrong_input():
    with pytest.raises(ValueError, match="one plane of shape"):
        plots.wire_image(np.zeros((2, 240, 128)), plane=1)
    with pytest.raises(ValueError, match="plane must be 0"):
        plots.wire_image(np.zeros((240, 128)), plane=2)
