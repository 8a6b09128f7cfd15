"""Checks of students' exercise functions (public name used by the chapters); see :mod:`adamedu.course.grading`."""

from .course.grading import EXERCISES, GRADED, CheckFailed, Verdict, attempt, cases, check, judge, needs

__all__ = ["check", "attempt", "needs", "cases", "judge", "Verdict", "CheckFailed", "EXERCISES", "GRADED"]
