"""Candidates, features, labels and scores of the deghosting lesson (hepdl.lartpc.deghost)."""

import numpy as np
import pytest

from hepdl.lartpc import deghost, reconstruct
from hepdl.lartpc.geometry import project
from hepdl.lartpc.simulate import LArTPCConfig, simulate_events


SAMPLE_CLASSES = ("electron", "muon", "proton")


@pytest.fixture(scope="module")
def sample():
    config = LArTPCConfig(classes=SAMPLE_CLASSES, electron_energy_gev=(0.2, 0.4))
    return simulate_events(12, rng=np.random.default_rng(31), config=config)


def test_public_names():
    assert set(deghost.__all__) == {
        "CONTEXT_NAMES", "FEATURE_NAMES", "SHOWER_CLASSES", "TRACK_CLASSES", "angle_to_planes_deg", "at_candidates",
        "candidate_features", "candidate_labels", "candidate_positions", "candidates", "context_features",
        "event_candidates", "projections", "retention_curve", "right_pairings", "scores_of_kept", "voxel_grid", "voxel_max"}
    assert set(deghost.TRACK_CLASSES) | set(deghost.SHOWER_CLASSES) == {
        "electron", "photon", "muon", "pion", "proton", "kaon"}


def test_candidates_are_the_back_projected_points(sample):
    for image in sample["images"][:6]:
        hits = reconstruct.hit_maps(image)
        cands = deghost.candidates(hits)
        assert cands.dtype == np.int16 and cands.shape[1] == 3
        np.testing.assert_allclose(deghost.candidate_positions(cands), reconstruct.backproject(hits), atol=1e-4)
        # every candidate's wires are hit in its bin
        assert hits[0, cands[:, 0], cands[:, 2]].all() and hits[1, cands[:, 1], cands[:, 2]].all()


def test_candidates_of_nothing_and_wrong_shape():
    assert deghost.candidates(np.zeros((2, 240, 128), bool)).shape == (0, 3)
    with pytest.raises(ValueError, match="shape"):
        deghost.candidates(np.zeros((240, 128), bool))
    with pytest.raises(ValueError, match="shape"):
        deghost.candidate_features(np.zeros((240, 128)), np.zeros((0, 3), int))
    assert deghost.candidate_features(np.zeros((2, 240, 128)), np.zeros((0, 3), int)).shape == (0, 12)


def test_two_points_in_one_slice_give_two_true_candidates_and_two_ghosts():
    truth = np.array([[5.4, -5.3, 40.4], [5.4, 5.3, 50.4]])   # bin 13, centre 5.33 cm: the same voxel
    cands = deghost.candidates(reconstruct.truth_hit_maps(truth))
    assert len(cands) == 4
    labels = deghost.candidate_labels(cands, truth)
    assert labels.sum() == 2
    keep = deghost.scores_of_kept(cands, labels, truth)
    assert keep == {"precision": 1.0, "recall": 1.0, "iou": 1.0}
    naive = deghost.scores_of_kept(cands, np.ones(4, bool), truth)
    assert naive["precision"] == pytest.approx(0.5) and naive["recall"] == 1.0


def test_features_read_the_views_at_the_candidate(sample):
    image = sample["images"][3].astype(np.float32)
    cands = deghost.candidates(reconstruct.hit_maps(image))
    features = deghost.candidate_features(image, cands)
    assert features.shape == (len(cands), len(deghost.FEATURE_NAMES)) and features.dtype == np.float32
    name = deghost.FEATURE_NAMES.index
    u, v, t = (cands[:, k].astype(int) for k in range(3))
    np.testing.assert_array_equal(features[:, name("u_at")], image[0, u, t])
    np.testing.assert_array_equal(features[:, name("v_at")], image[1, v, t])
    inner = t > 0
    np.testing.assert_array_equal(features[inner, name("v_before")], image[1, v[inner], t[inner] - 1])
    hits = reconstruct.hit_maps(image)
    np.testing.assert_array_equal(features[:, name("n_v_slice")], hits[1].sum(axis=0)[t])
    assert np.all(features[:, name("n_neighbours_t")] <= features[:, name("n_neighbours")])
    assert features[:, name("n_neighbours")].max() <= 26


def test_neighbour_counts_by_brute_force():
    rng = np.random.default_rng(5)
    cands = np.unique(rng.integers(100, 106, (60, 3)), axis=0)
    cands[:, 2] = cands[:, 2] - 90
    images = np.zeros((2, 240, 128), np.float32)
    features = deghost.candidate_features(images, cands)
    for row, c in zip(features, cands):
        d = np.abs(cands.astype(int) - c.astype(int))
        near = np.all(d <= 1, axis=1) & np.any(d > 0, axis=1)
        assert row[deghost.FEATURE_NAMES.index("n_neighbours")] == near.sum()
        assert row[deghost.FEATURE_NAMES.index("n_neighbours_t")] == (near & (d[:, 2] == 1)).sum()


def test_context_sums_by_brute_force(sample):
    # counts and score sums of the box filter against a loop over the candidates' voxel triples
    image = sample["images"][4].astype(np.float32)
    cands = deghost.candidates(reconstruct.hit_maps(image))
    score = np.random.default_rng(5).random(len(cands))
    voxel = np.floor((deghost.candidate_positions(cands) - [0.0, -20.0, 0.0]) / 1.0).astype(int)
    for box in (1, 5):
        context = deghost.context_features(cands, score, box_voxels=box)
        assert context.shape == (len(cands), len(deghost.CONTEXT_NAMES)) and context.dtype == np.float32
        for i in np.random.default_rng(6).choice(len(cands), 40, replace=False):
            inside = np.all(np.abs(voxel - voxel[i]) <= box // 2, axis=1)
            inside[i] = False
            assert context[i, 0] == inside.sum()
            assert context[i, 1] == pytest.approx(score[inside].sum(), rel=1e-4, abs=1e-4)
        assert np.all((context[:, 4] > 1 / 3 - 1e-3) & (context[:, 4] <= 1 + 1e-6))


def test_context_puts_true_points_on_the_axis(sample):
    # scored by the truth, the true candidates of tracks lie nearer the local axis than the ghosts
    near, far = [], []
    for event in range(len(sample["images"])):
        if SAMPLE_CLASSES[sample["events"]["label"][event]] == "electron":
            continue
        e = deghost.event_candidates(sample["images"], sample["images3D"], event)
        context = deghost.context_features(e["candidates"], e["is_true"], box_voxels=5)
        distance = context[:, deghost.CONTEXT_NAMES.index("axis_distance_cm")]
        near.append(distance[e["is_true"]])
        far.append(distance[~e["is_true"]])
    assert np.median(np.concatenate(near)) < 0.5 * np.median(np.concatenate(far))


def test_context_errors_and_empty():
    cands = np.array([[100, 100, 50], [101, 101, 50]])
    with pytest.raises(ValueError, match="one per candidate"):
        deghost.context_features(cands, [0.5])
    with pytest.raises(ValueError, match="odd"):
        deghost.context_features(cands, [0.5, 0.5], box_voxels=4)
    assert deghost.context_features(np.zeros((0, 3), int), np.zeros(0)).shape == (0, 5)


def test_labels_match_the_voxel_scores(sample):
    event = deghost.event_candidates(sample["images"], sample["images3D"], 0)
    scores = deghost.scores_of_kept(event["candidates"], np.ones(len(event["candidates"]), bool), event["truth"])
    reference = reconstruct.backprojection_scores(sample["images"][:1], {
        "C": sample["images3D"]["C"], "offsets": sample["images3D"]["offsets"][:2]})
    assert scores["iou"] == pytest.approx(reference["iou"][0])
    # keeping exactly the true candidates gives precision 1 and the same recall
    perfect = deghost.scores_of_kept(event["candidates"], event["is_true"], event["truth"])
    assert perfect["precision"] == 1.0 and perfect["recall"] == pytest.approx(scores["recall"])


def test_voxel_max_and_errors():
    cands = np.array([[122, 122, 25], [122, 122, 26], [122, 130, 25]])
    voxels, best = deghost.voxel_max(cands, [True, False, False])
    assert voxels.size == 2 and sorted(best.tolist()) == [0.0, 1.0]
    with pytest.raises(ValueError, match="one per candidate"):
        deghost.voxel_max(cands, [1.0, 2.0])
    with pytest.raises(ValueError, match="one per candidate"):
        deghost.scores_of_kept(cands, [True], np.zeros((1, 3)))


def test_voxel_grid_agrees_with_voxel_max_and_reads_back(sample):
    # the grid's count channel is the candidates' occupancy, its "largest" channel voxel_max, and
    # at_candidates reads a voxel map back at every candidate inside the grid
    e = deghost.event_candidates(sample["images"], sample["images3D"], 1)
    score = np.random.default_rng(3).random(len(e["candidates"]))
    grid = deghost.voxel_grid(e["candidates"], np.column_stack([score, 2 * score]))
    assert grid.shape == (47, 40, 90, 5) and grid.dtype == np.float32
    voxels, best = deghost.voxel_max(e["candidates"], score)
    occupied = np.flatnonzero(grid[..., 0].reshape(-1) > 0)
    np.testing.assert_array_equal(occupied, voxels)
    np.testing.assert_allclose(grid[..., 1].reshape(-1)[voxels], best, rtol=1e-6)
    np.testing.assert_allclose(grid[..., 2], 2 * grid[..., 1], rtol=1e-6)
    assert np.all(grid[..., 3] <= grid[..., 1] + 1e-6)                      # mean <= largest
    np.testing.assert_allclose(np.expm1(grid[..., 0]).sum(), np.count_nonzero(
        deghost.at_candidates(np.ones((47, 40, 90)), e["candidates"])), rtol=1e-5)
    back = deghost.at_candidates(grid[..., 1], e["candidates"])
    inside = back > 0
    assert inside.mean() > 0.9 and np.all(back[inside] >= score[inside] - 1e-6)


def test_voxel_grid_errors_and_empty():
    cands = np.array([[100, 100, 50], [101, 101, 50]])
    with pytest.raises(ValueError, match="one row per candidate"):
        deghost.voxel_grid(cands, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="one row per candidate"):
        deghost.voxel_grid(cands, np.zeros(2))
    assert deghost.voxel_grid(np.zeros((0, 3), int), np.zeros((0, 2))).sum() == 0
    with pytest.raises(ValueError, match="shape"):
        deghost.at_candidates(np.zeros((47, 40, 89)), cands)
    assert deghost.at_candidates(np.zeros((47, 40, 90)), np.zeros((0, 3), int)).shape == (0,)


def test_retention_curve_is_monotone_and_perfect_for_a_perfect_score():
    rng = np.random.default_rng(2)
    is_true = rng.random(500) < 0.3
    curve = deghost.retention_curve(np.where(is_true, 1.0, 0.0) + rng.normal(0, 0.01, 500), is_true)
    assert np.all(curve["rejection"] == 1.0)
    noisy = deghost.retention_curve(is_true + rng.normal(0, 1.0, 500), is_true)
    assert np.all(np.diff(noisy["rejection"]) <= 1e-12)
    assert 0.0 <= noisy["rejection"][-1] <= noisy["rejection"][0] <= 1.0
    with pytest.raises(ValueError, match="both"):
        deghost.retention_curve([0.1, 0.2], [True, True])


def test_angle_to_planes():
    u, v, _ = project(1.0, 0.0, 1.0)
    assert np.isfinite(u) and np.isfinite(v)
    np.testing.assert_allclose(deghost.angle_to_planes_deg([0.0, np.sin(np.radians(20)), -1.0]), [0.0, 20.0, 90.0])


def test_projections_draw_three_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3)
    out = deghost.projections(np.array([[10.0, 0.0, 45.0]]), axes, label="truth")
    assert len(out) == 3 and axes[0].get_xlabel() == "z [cm]"
    plt.close(fig)


def test_right_pairings_are_the_true_points_own_wires(sample):
    event = deghost.event_candidates(sample["images"], sample["images3D"], 1)
    right = deghost.right_pairings(event["candidates"], event["truth"])
    # by brute force: a candidate is right iff some true point projects onto its wires and bin
    u, v, tick = project(*event["truth"].T)
    own = set(zip(np.floor(u).astype(int), np.floor(v).astype(int), np.floor(tick / 20).astype(int)))
    expected = [tuple(int(k) for k in c) in own for c in event["candidates"]]
    assert right.tolist() == expected and 0 < right.sum() < len(right)
    # a perfect pairing is precise but not the truth: voxel edges and pulse spread cost it
    scores = deghost.scores_of_kept(event["candidates"], right, event["truth"])
    assert 0.5 < scores["precision"] < 1.0 and 0.5 < scores["recall"] < 1.0
    # a point beyond the last v wire (v = 240.4) pairs with nothing, not with wire 0 of the next u wire
    beyond = np.array([[4.0, -19.9, 88.0]])
    u, v, _ = project(*beyond.T)
    assert int(u[0]) == 190 and int(v[0]) == 240
    assert not deghost.right_pairings(np.array([[191, 0, 10], [190, 239, 10]]), beyond).any()
    assert deghost.right_pairings(np.zeros((0, 3), int), event["truth"]).shape == (0,)
