import matplotlib as mpl
import numpy as np
import pytest

from hepdl import seeding, style


def test_generator_is_deterministic_and_seed_dependent():
    a = seeding.generator(5).random(4)
    np.testing.assert_array_equal(a, seeding.generator(5).random(4))
    assert not np.array_equal(a, seeding.generator(6).random(4))


def test_spawn_gives_independent_reproducible_streams():
    first = [g.random() for g in seeding.spawn(1, 3)]
    again = [g.random() for g in seeding.spawn(1, 3)]
    assert first == again
    assert len(set(first)) == 3


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        seeding.generator(seed)


def test_generator_draws_the_stream_a_notebook_gets_from_numpy():
    """Notebooks seed numpy with ``np.random.default_rng(SEED)``; the data-set command with
    ``seeding.generator(seed)``: one stream, so a notebook can repeat a build's draws."""
    np.testing.assert_array_equal(seeding.generator(7).random(3), np.random.default_rng(7).random(3))


def test_style_applies_course_look():
    mpl.rcdefaults()
    style.use()
    assert mpl.rcParams["xtick.direction"] == "in"
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == "#3f90da"
    mpl.rcdefaults()
