"""hepdl: the helper package of the hands-on course on deep learning for particle detectors.

Each lesson imports its own detector room plus the common room::

    from hepdl import results, style          # common room
    from hepdl.warmup import simulate         # the pre-exercises' toy detector

Importing :mod:`hepdl` is cheap: it never imports Keras or TensorFlow. Modules that need Keras
(:mod:`hepdl.common.callbacks`) import it themselves when you import them.
"""

from hepdl.common import io, results, seeding, style

__version__ = "0.1.0"
__all__ = ["io", "results", "seeding", "style", "__version__"]
