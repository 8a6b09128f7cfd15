"""Coursework: checks of students' exercise functions and the student edition of the chapters."""
