"""The classical baselines of the RAMP clustering task."""

import numpy as np
import pytest

from hepdl.tracking import baselines, ramp
from hepdl.tracking.scores import ramp_score


@pytest.fixture(scope="module")
def events():
    return ramp.simulate_ramp_events(300, rng=np.random.default_rng(31))["hits"]


def score(hits, pred):
    return ramp_score(hits["event_id"], hits["cluster_id"], pred)


def test_trivial_baselines_sit_near_one_over_hits_per_track(events):
    one = score(events, baselines.one_cluster(events))
    alone = score(events, baselines.each_hit_alone(events))
    # about 10 tracks of 8.4 hits: the largest cluster, or one hit per cluster, is ~1/8 of hits
    assert 0.09 < alone < 0.14 and 0.09 < one < 0.17


def test_road_following_finds_most_tracks(events):
    pred = baselines.road_following(events)
    assert pred.dtype == np.int64 and pred.shape == events["event_id"].shape
    assert 0.9 < score(events, pred) < 1.0
    # a second seed layer recovers the tracks that lost their first hit; a narrow road loses some
    assert score(events, baselines.road_following(events, seed_layers=(0, 1))) > \
        score(events, pred) + 0.01
    assert score(events, baselines.road_following(events, road_rad=0.005)) < score(events, pred)
    # unassigned hits are -1; ids are seed rows, and a seed lies on the seed layer
    seeds = np.unique(pred[pred >= 0])
    assert np.all(events["layer"][seeds] == 0)


def test_clean_stiff_tracks_are_found_exactly():
    cfg = ramp.RampConfig(pt_range_gev=(5.0, 10.0), thickness_x0=0.0, inefficiency=0.0,
                          stop_probability=0.0, mean_tracks=3.0)
    hits = ramp.simulate_ramp_events(50, rng=np.random.default_rng(2), config=cfg)["hits"]
    assert score(hits, baselines.road_following(hits)) == pytest.approx(1.0, abs=0.02)


def test_errors_are_explained(events):
    with pytest.raises(ValueError, match="road_rad must be positive"):
        baselines.road_following(events, road_rad=0.0)
    with pytest.raises(ValueError, match="hits columns must have equal lengths"):
        baselines.road_following({**events, "x": events["x"][:3]})
    empty = {key: value[:0] for key, value in events.items()}
    assert baselines.road_following(empty).size == 0
