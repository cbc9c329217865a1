"""The pre-exercises' room: a toy barrel tracker and an electron/pion calorimeter toy."""

from hepdl.common.registry import DatasetSpec
from hepdl.warmup import simulate

__all__ = ["DATASETS", "simulate"]


def _hits(n, *, rng):
    config = simulate.BarrelConfig()
    return simulate.simulate_barrel_events(n, rng=rng, config=config), simulate.config_dict(config)


def _showers(n, *, rng):
    config = simulate.ShowerConfig()
    return simulate.simulate_showers(n, rng=rng, config=config), simulate.config_dict(config)


DATASETS = [
    DatasetSpec("warmup_hits", _hits, {"ci": 200, "student": 2_000, "full": 20_000},
                summary="pre-exercises: toy 5-layer barrel tracker, hits and particles"),
    DatasetSpec("warmup_showers", _showers, {"ci": 4_000, "student": 20_000, "full": 200_000},
                summary="pre-exercises: electron/pion calorimeter features (E/p, width)"),
]
