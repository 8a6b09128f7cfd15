"""Checks of students' exercise functions (public name used by the chapters); see :mod:`adamedu.course.grading`."""

from .course.grading import EXERCISES, attempt, check

__all__ = ["check", "attempt", "EXERCISES"]
