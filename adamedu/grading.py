"""Checks of students' exercise functions (public name used by the chapters); see :mod:`adamedu.course.grading`."""

from .course.grading import (
    EXERCISES,
    GRADED,
    RESULTS,
    VALUE_EXERCISES,
    CheckFailed,
    Raised,
    Verdict,
    attempt,
    cases,
    check,
    check_value,
    expected,
    judge,
    judge_values,
    needs,
)

__all__ = ["check", "check_value", "attempt", "needs", "cases", "judge", "judge_values", "expected", "Verdict",
           "Raised", "CheckFailed", "EXERCISES", "VALUE_EXERCISES", "GRADED", "RESULTS"]
