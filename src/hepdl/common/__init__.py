"""The common room: what every detector room shares (see ``src/hepdl/README.md``).

File I/O (:mod:`~hepdl.common.io`), the digests that catch damaged files
(:mod:`~hepdl.common.digests`), the data sets' read side (:mod:`~hepdl.common.data`), the tiers
(:mod:`~hepdl.common.tiers`), results, plot style, seeding, the data-set description
(:mod:`~hepdl.common.registry`), argument checks (:mod:`~hepdl.common.checks`), per-event
tables (:mod:`~hepdl.common.tables`), azimuth wrapping and binning
(:mod:`~hepdl.common.azimuth`), solenoid physics (:mod:`~hepdl.common.physics`), energy resolutions (Gaussian cores and the
a/sqrt(E) + b + c/E fit, :mod:`~hepdl.common.resolution`) and, imported
on their own because they need Keras, the training callbacks (:mod:`~hepdl.common.callbacks`)
and the per-class training-data pipeline (:mod:`~hepdl.common.pipeline`).
"""

from hepdl.common import io, results, seeding, style

__all__ = ["io", "results", "seeding", "style"]
