"""hepdl.common.stats: bootstrap intervals cover what they claim, pair, and keep every class."""

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from hepdl.common.stats import bootstrap_interval


def test_the_68_percent_interval_of_an_auc_covers_the_true_auc_about_68_percent_of_the_time():
    """Scores N(0, 1) against N(1, 1): the true AUC is Phi(1 / sqrt 2) = 0.760. Over 60 test
    sets of 40 events per class, the interval holds it in 68% +- 6% (binomial) of them."""
    rng = np.random.default_rng(7)
    truth = norm.cdf(1 / np.sqrt(2))
    y = np.r_[np.zeros(40), np.ones(40)]
    hits = 0
    for _ in range(60):
        score = np.r_[rng.normal(0, 1, 40), rng.normal(1, 1, 40)]
        low, high = bootstrap_interval(roc_auc_score, y, score, rng=rng, strata=y, n_resamples=100)
        hits += low <= truth <= high
    assert 0.50 <= hits / 60 <= 0.85, f"coverage {hits / 60:.2f}"


def test_a_paired_difference_is_narrower_than_either_score():
    """Two models that share most of their score: their AUCs each move with the test set, their
    difference hardly does."""
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(100), np.ones(100)]
    common = np.r_[rng.normal(0, 1, 100), rng.normal(1, 1, 100)]
    a, b = common + rng.normal(0, 0.2, 200), common + rng.normal(0, 0.2, 200)
    width = lambda interval: interval[1] - interval[0]  # noqa: E731
    alone = bootstrap_interval(roc_auc_score, y, a, rng=rng, strata=y)
    paired = bootstrap_interval(lambda y, a, b: roc_auc_score(y, a) - roc_auc_score(y, b), y, a, b,
                                rng=rng, strata=y)
    assert width(paired) < 0.5 * width(alone), (alone, paired)
    assert paired[0] <= roc_auc_score(y, a) - roc_auc_score(y, b) <= paired[1]


def test_stratified_resamples_keep_every_class_and_bad_input_is_named():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(30), np.ones(2)]                 # unstratified, a resample often has no 1
    score = np.r_[rng.normal(0, 1, 30), [3.0, 0.1]]
    low, high = bootstrap_interval(roc_auc_score, y, score, rng=rng, strata=y, n_resamples=300)
    assert 0.5 <= low <= high <= 1.0
    with pytest.raises(ValueError, match="same length"):
        bootstrap_interval(roc_auc_score, y, score[:-1], rng=rng)
    with pytest.raises(ValueError, match="one label per row"):
        bootstrap_interval(roc_auc_score, y, score, rng=rng, strata=y[:-1])
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(roc_auc_score, y, score, rng=rng, level=1.5)
