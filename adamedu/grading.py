"""Checks of students' exercise functions (public name used by the chapters); see :mod:`adamedu.course.grading`."""

from .course.grading import (
    EXERCISES,
    GRADED,
    RESULTS,
    CheckFailed,
    Raised,
    Verdict,
    attempt,
    cases,
    check,
    expected,
    judge,
    needs,
)

__all__ = ["check", "attempt", "needs", "cases", "judge", "expected", "Verdict", "Raised", "CheckFailed",
           "EXERCISES", "GRADED", "RESULTS"]
