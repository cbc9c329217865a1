"""The calorimeter room's figures: they draw on the Axes given, return it, and label their axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hepdl.calorimeter import geometry, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_public_names():
    assert sorted(plots.__all__) == ["front_view", "projections", "side_view"]


@pytest.mark.parametrize("draw", [plots.side_view, plots.front_view])
def test_geometry_views_use_the_given_axes_and_label_units(draw):
    _, ax = plt.subplots()
    assert draw(ax=ax) is ax
    assert "[mm]" in ax.get_xlabel() and "[mm]" in ax.get_ylabel()


def test_side_view_draws_every_layer_at_its_depth():
    ax = plots.side_view()
    patches = ax.patches
    assert len(patches) == geometry.ECAL_N_LAYERS + geometry.HCAL_N_LAYERS
    ecal_back = geometry.ECAL_N_LAYERS * geometry.ECAL_LAYER_PITCH_MM
    hcal_back = ecal_back + geometry.HCAL_N_LAYERS * geometry.HCAL_LAYER_PITCH_MM
    assert patches[0].get_x() == 0.0
    assert patches[geometry.ECAL_N_LAYERS - 1].get_x() + geometry.ECAL_ABSORBER_MM <= ecal_back
    assert patches[-1].get_x() + geometry.HCAL_STEEL_MM <= hcal_back
    assert ax.get_xlim()[1] >= hcal_back


def test_front_view_circle_is_the_effective_moliere_radius():
    ax = plots.front_view()
    circles = [p for p in ax.patches if isinstance(p, matplotlib.patches.Circle)]
    assert len(circles) == 1 and circles[0].get_radius() == pytest.approx(geometry.ECAL_RM_EFF_MM)


def test_projections_sum_the_image_along_each_axis():
    image = np.zeros(geometry.ECAL_SHAPE)
    image[3, 20, 5] = 2.0
    axes = plots.projections(image, title="one cell")
    front, side_x, side_y = (ax.get_images()[0].get_array() for ax in axes)
    assert front.shape == (25, 25) and front[20, 3] == 2.0        # drawn as (y, x)
    assert side_x[3, 5] == 2.0 and side_y[20, 5] == 2.0             # (x, layer), (y, layer)
    assert np.ma.count(front) == 1                                 # empty cells stay blank
    assert axes[0].get_title() == "one cell"


def test_projections_reject_wrong_input():
    with pytest.raises(ValueError, match="one event's image"):
        plots.projections(np.zeros((5, 5, 60)))
    with pytest.raises(ValueError, match="vmin_gev must be positive"):
        plots.projections(np.zeros(geometry.ECAL_SHAPE), vmin_gev=0.0)
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="three Axes"):
        plots.projections(np.zeros(geometry.ECAL_SHAPE), axes=axes)
