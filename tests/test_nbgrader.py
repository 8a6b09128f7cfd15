"""The source notebooks are nbgrader-ready: nbgrader's own generate_assignment and autograde accept them, and
its scores equal `adamedu grade`'s on the same two students.

Everything happens in a temporary course folder (its own nbgrader_config.py and sqlite gradebook); Jupyter's
user and system configuration is switched off (JUPYTER_NO_CONFIG), so no global state is read or written.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_grade import ADAM, ANSWER, GD, NB, WRITTEN, WRONG_ADAM, _cli, source_notebook

from adamedu.course import student_edition as se
from adamedu.course.student_edition import student_notebook

pytest.importorskip("nbgrader")

ASSIGNMENT = "ps1"
# a hidden code cell, as the chapters hold them (glue and asserts on the book's own solution, tagged solution):
# neither release may show it; nbgrader's autograde runs it again, for 0 points
HIDDEN = "hidden_glue = gd_step(1.0, 1.0, 0.5)  # the book's own number\nassert hidden_glue == 0.5"


def course_source():
    """test_grade's made-up notebook with a hidden cell after the gd_step check, marked for nbgrader."""
    nb = source_notebook()
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "gd_step_check")
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(HIDDEN, metadata={"tags": ["remove-cell", "solution"]}))
    nb.cells[at + 1].id = "glue"
    assert se.mark_hidden_solutions(nb, "ch00") == 1
    nbformat.validate(nb)
    return nb

STUDENTS = {  # solution cell grade_id -> what the student wrote
    "alice": {"gd_step_answer": GD, "adam_step_answer": ADAM, "answer_solution": ANSWER},
    "bob": {"gd_step_answer": GD, "adam_step_answer": WRONG_ADAM, "answer_solution": "answer = 41"},
}


def _nbgrader(course, *args):
    env = {**os.environ, "JUPYTER_NO_CONFIG": "1", "JUPYTER_CONFIG_DIR": str(course / ".jupyter"),
           "JUPYTER_DATA_DIR": str(course / ".data"), "JUPYTER_RUNTIME_DIR": str(course / ".runtime"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(course_source(), course / "source" / ASSIGNMENT / NB)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'adamedu-test'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}\n"
        "c.ExecuteOptions.timeout = 120\n")
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    released = nbformat.read(course / "release" / ASSIGNMENT / NB, as_version=4)
    submissions = course.parent / "submissions"
    for student, answers in STUDENTS.items():
        nb = nbformat.from_dict(released)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                cell.source = answers[gid]
        for folder in (course / "submitted" / student / ASSIGNMENT, submissions / student):
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / NB)
    _nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return course, submissions


def test_nbgrader_release_keeps_the_metadata(course):
    released = nbformat.read(course[0] / "release" / ASSIGNMENT / NB, as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in released.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    # the written answer is a manually graded cell worth 0 points (its solution is cleared, see below), the hidden
    # cell an autograded test worth 0 points (its code is cleared)
    assert graded == {"gd_step_check": 2, "adam_step_check": 3, "answer_check": 1, "ch00-ex-why-answer": 0,
                      "ch00-glue-hidden": 0}
    assert all("BEGIN SOLUTION" not in c.source for c in released.cells)
    # the written solution (a sphinx-exercise {solution} directive) does not reach the students either: nbgrader
    # replaces its marked cell by its text stub, as the student edition does
    assert WRITTEN in {c.source for c in source_notebook().cells}
    assert not any("secret written answer" in c.source or "{solution}" in c.source for c in released.cells)
    assert "YOUR ANSWER HERE" in [c.source for c in released.cells if c.cell_type == "markdown"]
    assert "YOUR ANSWER HERE" in [c.source for c in student_notebook(source_notebook()).cells]
    # the hidden cell: nbgrader's release keeps a locked cell with the comment only, the student edition drops it
    [hidden] = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ch00-glue-hidden"]
    assert hidden.source == se.HIDDEN_NOTE and hidden.metadata["nbgrader"]["locked"]
    assert not any("hidden_glue" in c.source for c in released.cells)
    assert not any("hidden_glue" in c.source for c in student_notebook(course_source()).cells)
    assert any("hidden_glue" in c.source for c in course_source().cells)


def test_nbgrader_and_adamedu_grade_agree(course, tmp_path):
    from nbgrader.api import Gradebook

    course_dir, submissions = course
    with Gradebook("sqlite:///" + str(course_dir / "gradebook.db")) as gb:
        theirs = {(student, g.name): g.score for student in STUDENTS
                  for g in gb.find_submission_notebook(NB[:-6], ASSIGNMENT, student).grades if g.max_score}
    done = _cli(submissions, "--out", tmp_path / "out", "--source", course_dir / "source" / ASSIGNMENT)
    assert done.returncode == 0, done.stderr
    ours = {(r["student"], r["exercise"]): float(r["points"])
            for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))}
    assert ours == theirs  # the hidden cell, worth 0 points, is no row of adamedu grade's
    with Gradebook("sqlite:///" + str(course_dir / "gradebook.db")) as gb:  # nbgrader ran it again in autograde
        hidden = {student: [g.max_score for g in gb.find_submission_notebook(NB[:-6], ASSIGNMENT, student).grades
                            if g.name == "ch00-glue-hidden"] for student in STUDENTS}
    assert hidden == {student: [0] for student in STUDENTS}
    autograded = nbformat.read(course_dir / "autograded" / "alice" / ASSIGNMENT / NB, as_version=4)
    [ran] = [c for c in autograded.cells if "hidden_glue" in c.source]
    assert ran.execution_count and not any(o.output_type == "error" for o in ran.outputs)
    # and the two differ where they should: Alice full marks, Bob only gd_step
    assert theirs == {("alice", "gd_step_check"): 2, ("alice", "adam_step_check"): 3, ("alice", "answer_check"): 1,
                      ("bob", "gd_step_check"): 2, ("bob", "adam_step_check"): 0, ("bob", "answer_check"): 0}
