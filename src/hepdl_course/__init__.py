"""Course tooling for instructors and CI: checks, release, execution, grading, local lab.

Students never need this package; notebooks import :mod:`hepdl` only.
"""
