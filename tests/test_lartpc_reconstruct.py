"""Naive 2-D -> 3-D back-projection and its voxel scores, per topology (hepdl.lartpc.reconstruct).
"""

import numpy as np
import pytest

from hepdl.lartpc import reconstruct
from hepdl.lartpc.geometry import project
from hepdl.lartpc.simulate import LArTPCConfig, simulate_events


@pytest.fixture(scope="module")
def sample():
    config = LArTPCConfig(classes=("electron", "photon", "muon", "proton", "pion"),
                          electron_energy_gev=(0.2, 0.6), photon_energy_gev=(0.2, 0.6))
    data = simulate_events(100, rng=np.random.default_rng(21), config=config)
    return data, data["events"]["label"] < 2


def test_back_projection_finds_the_true_points(sample):
    data, shower = sample
    scores = reconstruct.backprojection_scores(data["images"], data["images3D"])
    for name, mask in (("tracks", ~shower), ("showers", shower)):
        assert np.nanmean(scores["recall"][mask]) > 0.9, name
        assert np.nanmean(scores["precision"][mask]) < 0.5, f"{name}: ghosts are expected"
        assert np.all(scores["iou"][mask] <= scores["precision"][mask] + 1e-12)


def test_showers_have_more_ghosts_than_tracks(sample):
    data, shower = sample
    scores = reconstruct.backprojection_scores(None, data["images3D"])  # geometry alone
    tracks, showers = (np.nanmean(scores["precision"][m]) for m in (~shower, shower))
    spread = np.nanstd(scores["precision"]) / np.sqrt(shower.sum())
    assert showers < tracks - 2 * spread, (showers, tracks)
    assert np.nanmean(scores["recall"]) > 0.8


def test_one_point_gives_one_candidate_and_two_give_four():
    u, v, _ = project([5.0, 5.0], [-5.0, 5.0], [40.0, 50.0])
    hits = np.zeros((2, 240, 128), bool)
    hits[0, int(u[0]), 12] = hits[1, int(v[0]), 12] = True
    one = reconstruct.backproject(hits)
    np.testing.assert_allclose(one[0, 1:], [-5.0, 40.0], atol=0.5)
    hits[0, int(u[1]), 12] = hits[1, int(v[1]), 12] = True
    assert len(reconstruct.backproject(hits)) == 4
    assert reconstruct.backproject(np.zeros((2, 240, 128), bool)).shape == (0, 3)


def test_truth_hits_and_scores():
    hits = reconstruct.truth_hit_maps(np.array([[10.0, 0.0, 45.0], [10.0, 19.0, 89.9]]))
    assert hits.sum() == 2 + 1  # the far point's u (243.4) is beyond the last wire
    assert reconstruct.voxel_scores([1, 0], [0, 0])["recall"] != reconstruct.voxel_scores(
        [1, 0], [0, 0])["recall"]  # NaN: nothing true
    with pytest.raises(ValueError, match="must match"):
        reconstruct.backprojection_scores(np.zeros((2, 2, 240, 128)),
                                          {"C": np.zeros((0, 3)), "offsets": np.zeros(2, int)})


def test_chamfer_distances_match_a_loop_and_a_shift():
    rng = np.random.default_rng(5)
    points, truth = rng.uniform(0, 10, (50, 3)), rng.uniform(0, 10, (40, 3))
    d = np.linalg.norm(points[:, None] - truth[None], axis=2)
    got = reconstruct.chamfer_cm(points, truth)
    np.testing.assert_allclose([got["to_truth"], got["from_truth"]], [d.min(1).mean(), d.min(0).mean()])
    assert got["chamfer"] == pytest.approx((got["to_truth"] + got["from_truth"]) / 2)
    line = np.c_[np.zeros(500), np.zeros(500), np.linspace(0, 50, 500)]  # a track of 1 mm steps
    shifted = reconstruct.chamfer_cm(line + [0.3, 0.0, 0.0], line)
    np.testing.assert_allclose([shifted["to_truth"], shifted["from_truth"]], [0.3, 0.3], rtol=1e-9)
    assert np.isnan(reconstruct.chamfer_cm(np.zeros((0, 3)), truth)["chamfer"])
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        reconstruct.chamfer_cm(np.zeros((4, 2)), truth)


def test_back_projection_covers_the_truth_and_its_ghosts_lie_centimetres_away(sample):
    """Recall's analogue in cm: every true point has a candidate within a few mm (the wires'
    0.4 cm pitch); the ghosts put the candidates' mean distance to the truth at centimetres."""
    data, shower = sample
    C, offsets = data["images3D"]["C"], data["images3D"]["offsets"]
    found = [reconstruct.chamfer_cm(reconstruct.backproject(reconstruct.hit_maps(data["images"][i])),
                                    C[offsets[i]:offsets[i + 1]]) for i in range(len(shower))]
    from_truth = np.array([f["from_truth"] for f in found])
    to_truth = np.array([f["to_truth"] for f in found])
    assert np.nanmax(from_truth) < 0.4, np.nanmax(from_truth)
    for name, mask in (("tracks", ~shower), ("showers", shower)):
        assert np.nanmean(to_truth[mask]) > 1.5, (name, np.nanmean(to_truth[mask]))
    assert np.nanmean(to_truth[shower]) > np.nanmean(to_truth[~shower])
