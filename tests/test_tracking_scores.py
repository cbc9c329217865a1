"""The RAMP and TrackML scores on hand-made events, against loops written like the originals."""

import numpy as np
import pytest

from hepdl.tracking.scores import ramp_event_scores, ramp_score, trackml_score


def reference_ramp(event_ids, true_ids, pred_ids):
    """A loop that follows rampwf's ClusteringEfficiency step by step (noise -1 is a cluster)."""
    score = 0.0
    events = np.unique(event_ids)
    for event in events:
        rows = event_ids == event
        true, pred = true_ids[rows], pred_ids[rows]
        clusters = np.unique(true)
        assigned = np.empty(clusters.size, dtype=np.int64)
        positives = np.zeros(clusters.size, dtype=np.int64)
        for i, cluster in enumerate(clusters):
            found = pred[true == cluster]
            found = found[found >= 0]
            if found.size:
                assigned[i] = np.argmax(np.bincount(found))
                positives[i] = np.sum(found == assigned[i])
            else:
                assigned[i] = -1
        order = np.argsort(positives, kind="stable")
        positives, assigned = positives[order], assigned[order]
        good = assigned >= 0
        for i in range(assigned.size - 1):
            if assigned[i] in assigned[i + 1:]:
                good[i] = False
        score += positives[good].sum() / rows.sum()
    return score / events.size


def reference_trackml(particle, weight, track):
    """A loop over tracks: the double-majority rule of trackml-library's score_event."""
    total = 0.0
    for t in np.unique(track):
        in_track = track == t
        ids, counts = np.unique(particle[in_track], return_counts=True)
        major = ids[np.argmax(counts)]
        n_major = counts.max()
        if n_major / in_track.sum() > 0.5 and n_major / np.sum(particle == major) > 0.5:
            total += weight[in_track & (particle == major)].sum()
    return total / weight.sum()


def random_event_set(rng, n_events=30):
    """Events of a few clusters, noise (-1), and a prediction with noise, merges and splits."""
    event, true = [], []
    for e in range(n_events):
        sizes = rng.integers(1, 10, rng.integers(1, 8))
        true.append(np.concatenate([np.repeat(np.arange(sizes.size), sizes),
                                    np.full(rng.integers(0, 4), -1)]))
        event.append(np.full(true[-1].size, e))
    event, true = np.concatenate(event), np.concatenate(true)
    pred = np.where(rng.random(true.size) < 0.7, true, rng.integers(-1, 6, true.size))
    return event, true, pred


def test_ramp_score_agrees_with_the_original_loop():
    rng = np.random.default_rng(0)
    for _ in range(20):
        event, true, pred = random_event_set(rng)
        assert ramp_score(event, true, pred) == pytest.approx(reference_ramp(event, true, pred))
    # scores do not depend on the order of the hits, nor on the names of the clusters
    order = rng.permutation(true.size)
    assert ramp_score(event[order], true[order], pred[order]) == pytest.approx(
        ramp_score(event, true, pred))
    assert ramp_score(event, true, np.where(pred >= 0, pred * 7 + 100, -1)) == pytest.approx(
        ramp_score(event, true, pred))


def test_ramp_limiting_cases():
    event = np.repeat([0, 1], [10, 6])
    true = np.array([0, 0, 0, 0, 0, 1, 1, 1, -1, -1, 0, 0, 0, 1, 1, 2])
    # perfect: noise hits grouped under an id >= 0 of their own count as matched
    assert ramp_score(event, true, np.where(true >= 0, true, 99)) == 1.0
    # the truth itself as prediction leaves noise at -1, i.e. unassigned: their share is lost
    assert ramp_score(event, true, true) == pytest.approx((8 / 10 + 1) / 2)
    # everything in one cluster: each event keeps its largest true cluster
    assert ramp_score(event, true, np.zeros(16, int)) == pytest.approx((5 / 10 + 3 / 6) / 2)
    # every hit alone: one hit per true cluster (noise included)
    assert ramp_score(event, true, np.arange(16)) == pytest.approx((3 / 10 + 3 / 6) / 2)
    # nothing assigned
    assert ramp_score(event, true, np.full(16, -1)) == 0.0
    events, scores = ramp_event_scores(event, true, np.zeros(16, int))
    assert events.tolist() == [0, 1] and scores.tolist() == [0.5, 0.5]


@pytest.mark.parametrize("moved", [0, 1, 2, 3, 4])
def test_ramp_degrades_as_hits_leave_their_cluster(moved):
    # 40 clusters of 10 hits; `moved` hits of each go to a fresh cluster each: score 1 - moved/10
    true = np.repeat(np.arange(40), 10)
    pred = true.copy()
    within = np.tile(np.arange(10), 40)
    leave = within < moved
    pred[leave] = 1000 + np.arange(leave.sum())
    assert ramp_score(np.zeros(400, int), true, pred) == pytest.approx(1 - moved / 10)


def test_ramp_random_relabelling_follows_the_expected_curve():
    # relabel a fraction f of hits to random other ids: majority survives, score ~ 1 - f
    rng = np.random.default_rng(1)
    true = np.repeat(np.arange(2000), 9)
    event = true // 10
    for f in (0.1, 0.2, 0.3):
        pred = np.where(rng.random(true.size) < f, rng.integers(10**6, 10**7, true.size), true)
        assert abs(ramp_score(event, true, pred) - (1 - f)) < 0.01


def test_ramp_errors_are_explained():
    with pytest.raises(ValueError, match="got lengths 3, 3 and 2"):
        ramp_score([0, 0, 0], [1, 1, 1], [1, 1])
    with pytest.raises(ValueError, match="no hits"):
        ramp_score([], [], [])
    with pytest.raises(ValueError, match="pred_ids must hold integer ids, got 0.5"):
        ramp_score([0, 0], [1, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match="true_ids must be one-dimensional"):
        ramp_score([0, 0], [[1, 1]], [0, 0])
    assert ramp_score([0, 0], [1, 1], [2.0, 2.0]) == 1.0  # integral floats are fine


def make_truth(rng, n_particles=50):
    nhits = rng.integers(1, 12, n_particles)
    particle = np.concatenate([np.repeat(np.arange(1, n_particles + 1), nhits),
                               np.zeros(30, int)])
    weight = np.where(particle > 0, rng.random(particle.size), 0.0)
    weight[np.isin(particle, np.flatnonzero(nhits < 4) + 1)] = 0.0
    weight /= weight.sum()
    hit_id = rng.permutation(particle.size) + 1
    return {"hit_id": hit_id, "particle_id": particle, "weight": weight}


def test_trackml_score_agrees_with_the_track_loop():
    rng = np.random.default_rng(2)
    for _ in range(20):
        truth = make_truth(rng)
        n = truth["hit_id"].size
        track = np.where(rng.random(n) < 0.75, truth["particle_id"], rng.integers(0, 60, n))
        order = rng.permutation(n)  # the submission may list hits in any order
        submission = {"hit_id": truth["hit_id"][order], "track_id": track[order]}
        assert trackml_score(truth, submission) == pytest.approx(
            reference_trackml(truth["particle_id"], truth["weight"], track))


def test_trackml_limiting_cases():
    rng = np.random.default_rng(3)
    truth = make_truth(rng)
    hit_id, particle = truth["hit_id"], truth["particle_id"]
    assert trackml_score(truth, {"hit_id": hit_id, "track_id": particle}) == pytest.approx(1.0)
    # track ids are names: relabelling them changes nothing
    assert trackml_score(truth, {"hit_id": hit_id, "track_id": particle * 3 + 11}) == \
        pytest.approx(1.0)
    # one track holding everything: no particle has more than half of the hits
    assert trackml_score(truth, {"hit_id": hit_id, "track_id": np.zeros_like(hit_id)}) == 0.0
    # every hit alone: pure tracks, but each holds one hit of a particle that has 4 or more
    assert trackml_score(truth, {"hit_id": hit_id, "track_id": np.arange(hit_id.size)}) == 0.0


@pytest.mark.parametrize("moved", [0, 1, 2, 3, 4])
def test_trackml_degrades_as_hits_leave_their_track(moved):
    # 30 particles of 10 equal-weight hits; `moved` hits each go to singleton tracks
    particle = np.repeat(np.arange(1, 31), 10)
    truth = {"hit_id": np.arange(300), "particle_id": particle, "weight": np.full(300, 1 / 300)}
    track = particle.copy()
    leave = np.tile(np.arange(10), 30) < moved
    track[leave] = 1000 + np.arange(leave.sum())
    assert trackml_score(truth, {"hit_id": np.arange(300), "track_id": track}) == pytest.approx(
        1 - moved / 10)
    # beyond half the particle's hits the track is lost altogether
    track[np.tile(np.arange(10), 30) < 5] = 5000 + np.arange(150)
    assert trackml_score(truth, {"hit_id": np.arange(300), "track_id": track}) == 0.0


def test_trackml_errors_are_explained():
    truth = {"hit_id": np.arange(1, 5), "particle_id": np.array([1, 1, 1, 1]),
             "weight": np.full(4, 0.25)}
    good = {"hit_id": np.arange(1, 5), "track_id": np.zeros(4, int)}
    with pytest.raises(ValueError, match="truth has 4 hits but submission has 3 rows"):
        trackml_score(truth, {"hit_id": np.arange(1, 4), "track_id": np.zeros(3, int)})
    with pytest.raises(ValueError, match="submission columns must have equal lengths, got hit_id "
                                         "4, track_id 3"):
        trackml_score(truth, {"hit_id": np.arange(1, 5), "track_id": np.zeros(3, int)})
    with pytest.raises(ValueError, match="truth columns must have equal lengths"):
        trackml_score({**truth, "weight": np.ones(3)}, good)
    with pytest.raises(ValueError, match="submission has no column 'track_id'; it needs hit_id "
                                         "and track_id"):
        trackml_score(truth, {"hit_id": np.arange(1, 5), "track": np.zeros(4)})
    with pytest.raises(ValueError, match="track_id must be non-negative, got -1"):
        trackml_score(truth, {"hit_id": np.arange(1, 5), "track_id": np.array([0, 0, 0, -1])})
    with pytest.raises(ValueError, match=r"submission hit ids differ from the truth's \(1 truth "
                                         r"hits missing, e.g. hit_id \[4\]\)"):
        trackml_score(truth, {"hit_id": np.array([1, 2, 3, 9]), "track_id": np.zeros(4, int)})
    with pytest.raises(ValueError, match="hit_id must be unique"):
        trackml_score(truth, {"hit_id": np.array([1, 2, 3, 3]), "track_id": np.zeros(4, int)})
    with pytest.raises(ValueError, match="truth weights sum to 0"):
        trackml_score({**truth, "weight": np.zeros(4)}, good)
