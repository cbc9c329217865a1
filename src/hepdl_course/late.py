"""Late submissions: nbgrader's penalty with a grace period (``hepdl-course init --grace-minutes``).

nbgrader calls a submission late when its timestamp is after the due date, by any margin: with
the ``zero`` penalty a notebook submitted 28 s late earns nothing. :class:`GracePeriodPlugin` is
nbgrader's ``LateSubmissionPlugin`` with a grace period: a submission late by at most
``grace_seconds`` gets no penalty. nbgrader still records it as late (the gradebook's seconds
late, the export); the autograde line says it was within the grace period. The course's
``nbgrader_config.py`` sets it as ``AssignLatePenalties.plugin_class``. Importing this module
imports nbgrader.
"""

from __future__ import annotations

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

__all__ = ["GracePeriodPlugin"]


class GracePeriodPlugin(LateSubmissionPlugin):
    """nbgrader's late penalty (``penalty_method``), none within ``grace_seconds`` of the due date."""

    grace_seconds = Float(0.0, help="Seconds after the due date during which a submission gets "
                          "no late penalty (it is still recorded as late)").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        if total_seconds_late <= self.grace_seconds:
            self.log.info("%s is %.0f s late, within the grace period of %.0f s: no penalty",
                          student_id, total_seconds_late, self.grace_seconds)
            return None
        return super().late_submission_penalty(student_id, score, total_seconds_late)
