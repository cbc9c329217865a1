"""The common room: file I/O, results, plot style, seeding and training callbacks."""

from hepdl.common import io, results, seeding, style

__all__ = ["io", "results", "seeding", "style"]
