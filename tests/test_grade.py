"""`adamedu grade` on a made-up class: points and status rows per student, forgery attempts, instructor errors.

The class is small and its notebook tiny (two exercises of adamedu.grading, gd_step and adam_step) so that it
runs in CI in well under a minute per kernel; each student is one folder, each kind of submission one student.
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from adamedu.course import grade, grade_notebook
from adamedu.course.student_edition import mark_written_solutions, student_notebook

ROOT = Path(__file__).resolve().parents[1]
NB = "hw.ipynb"
TIMEOUT = 40  # seconds per notebook: a kernel starts in a few; the endless loop costs this once


def _meta(grade_id, *, solution=False, graded=False, locked=False, points=None):
    meta = {"grade": graded, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


GD = '''def gd_step(w, g, lr):
    """One step of gradient descent."""
    ### BEGIN SOLUTION
    return w - lr * g
    ### END SOLUTION'''

ADAM = '''def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    """One step of Adam; returns (w, m, v)."""
    ### BEGIN SOLUTION
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION'''

# an experiment's answer, checked by the cell's own asserts (no trusted judge: read from the kernel, canary-guarded)
ANSWER = "### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION"
ANSWER_CHECK = ('from adamedu.grading import needs\nneeds("answer")\n'
                'assert answer == 42, f"answer should be 42, got {answer}"')
SWALLOW = "answer = 41\nget_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"


def source_notebook():
    """A tiny source notebook in the book's shape, with the nbgrader metadata the chapters carry."""
    cell = nbformat.v4
    cells = [
        cell.new_markdown_cell("# Homework\nWrite `gd_step`, then `adam_step`."),
        cell.new_code_cell("import numpy as np\nfrom adamedu.grading import check",
                           metadata=_meta("setup", locked=True)),
        cell.new_code_cell(GD, metadata=_meta("gd_step_answer", solution=True)),
        cell.new_code_cell('check("gd_step", gd_step)', metadata=_meta("gd_step_check", graded=True, locked=True,
                                                                      points=2)),
        cell.new_code_cell(ADAM, metadata=_meta("adam_step_answer", solution=True)),
        cell.new_code_cell('check("adam_step", adam_step)', metadata=_meta("adam_step_check", graded=True,
                                                                          locked=True, points=3)),
        cell.new_markdown_cell("An experiment: what is six times seven?"),
        cell.new_code_cell(ANSWER, metadata=_meta("answer_solution", solution=True)),
        cell.new_code_cell(ANSWER_CHECK, metadata=_meta("answer_check", graded=True, locked=True, points=1)),
        cell.new_markdown_cell(":::{exercise} Why\n:label: ex-why\n\nWhy forty-two?\n:::"),
        cell.new_markdown_cell(WRITTEN),  # a written solution, as the chapters hold them
    ]
    nb = cell.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
    for i, c in enumerate(nb.cells):
        c.id = f"src-{i}"
    mark_written_solutions(nb, "ch00")
    nbformat.validate(nb)
    return nb


WRITTEN = ":::{solution} ex-why\n:class: dropdown\n\nThe secret written answer: six times seven.\n:::"


def _solved(nb, **answers):
    """A copy of student edition ``nb`` with the solution cells (by grade_id) replaced by ``answers``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return nb


WRONG_ADAM = ADAM.replace("m_hat = m / (1 - beta1**t)", "m_hat = m").replace("v_hat = v / (1 - beta2**t)",
                                                                              "v_hat = v")
CHEAT = '''import adamedu.grading, adamedu.course.grading as inner
inner._check_case = lambda *a, **k: None           # every case "passes" inside this kernel
adamedu.grading.check = inner.check = lambda *a, **k: print("✓ adam_step is correct")
check = lambda *a, **k: print("✓ adam_step is correct")
print("✓ correct")


def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    return w, m, v'''


NW = ("answer_check", "not written", 0)


def _every(status):
    return [(exercise, status, 0) for exercise in ("gd_step_check", "adam_step_check", "answer_check")]


def make_class(folder, source):
    """One student per kind of submission; returns {student: expected [(exercise, status, points)]}."""
    edition = student_notebook(source)
    full = source  # the solutions, markers and all, are a correct submission
    students = {
        "full": (full, [("gd_step_check", "passed", 2), ("adam_step_check", "passed", 3),
                        ("answer_check", "passed", 1)]),
        "untouched": (edition, [("gd_step_check", "not written", 0), ("adam_step_check", "not written", 0), NW]),
        "mistake": (_solved(edition, gd_step_answer=GD, adam_step_answer=WRONG_ADAM),
                    [("gd_step_check", "passed", 2), ("adam_step_check", "failed", 0), NW]),
        "cheater": (_solved(edition, gd_step_answer=GD, adam_step_answer=CHEAT),
                    [("gd_step_check", "passed", 2), ("adam_step_check", "failed", 0), NW]),
        "loop": (_solved(edition, gd_step_answer=GD, adam_step_answer="while True:\n    pass"),
                 [("gd_step_check", "passed", 2), ("adam_step_check", "timeout", 0), ("answer_check", "timeout", 0)]),
        "renamed": (_solved(edition, gd_step_answer=GD.replace("def gd_step", "def gradient_step"),
                            adam_step_answer=ADAM.replace("return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v",
                                                          "return [w, m]")),
                    [("gd_step_check", "failed", 0), ("adam_step_check", "failed", 0), NW]),
        "writer": (_solved(edition, gd_step_answer=GD + '\n\nopen("note.txt", "w").write("x")\n'
                                                        'open("../escape.txt", "w").write("x")',
                           adam_step_answer="def adam_step(*args, **kwargs):\n    raise ValueError('my own bug')"),
                   [("gd_step_check", "passed", 2), ("adam_step_check", "failed", 0), NW]),
        # swallows every error after its answer: the experiment's check cannot be read, the judged one still can
        "swallower": (_solved(edition, gd_step_answer=GD, answer_solution=SWALLOW),
                      [("gd_step_check", "passed", 2), ("adam_step_check", "not written", 0),
                       ("answer_check", "error", 0)]),
    }
    # ends the grading worker that started its kernel: its notebook gets error rows, the next one a new worker
    students["killer"] = (_solved(edition, gd_step_answer=GD + "\n\nimport os, signal\n"
                                                              "os.kill(os.getppid(), signal.SIGKILL)"),
                          _every("error"))
    # tampered: the gd check deleted, the adam check replaced by a print, a fake graded cell added; adam is wrong
    tampered = _solved(edition, gd_step_answer=GD, adam_step_answer=WRONG_ADAM)
    tampered.cells = [c for c in tampered.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "gd_step_check"]
    for c in tampered.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "adam_step_check":
            c.source = 'print("✓ adam_step is correct on 40 random cases")'
    tampered.cells.append(nbformat.v4.new_code_cell("print('bonus')", metadata=_meta("bonus", graded=True,
                                                                                    points=100)))
    students["tampered"] = (tampered, [("gd_step_check", "passed", 2), ("adam_step_check", "failed", 0), NW])

    expected = {}
    for name, (nb, rows) in students.items():
        (folder / name).mkdir(parents=True)
        nbformat.write(nb, folder / name / NB)
        expected[name] = rows
    (folder / "broken").mkdir()
    (folder / "broken" / NB).write_text('{"cells": [ this is not json')
    expected["broken"] = _every("unreadable")
    (folder / "old").mkdir()
    (folder / "old" / NB).write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "cells": []}))
    expected["old"] = _every("unreadable")
    (folder / "absent").mkdir()
    (folder / "absent" / "something_else.ipynb").write_text("{}")
    expected["absent"] = _every("missing")
    return expected


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    book, submissions, out = tmp / "book", tmp / "class" / "submissions", tmp / "out"
    book.mkdir()
    nbformat.write(source_notebook(), book / NB)
    expected = make_class(submissions, source_notebook())
    before = _snapshot(submissions)
    done = _cli(submissions, "--out", out, "--source", book, "--timeout", TIMEOUT, "--jobs", 2)
    return {"tmp": tmp, "expected": expected, "out": out, "done": done, "before": before,
            "submissions": submissions, "rows": list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "adamedu.cli", "grade", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=900)


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_every_student_gets_the_expected_status_and_points(graded_class):
    assert graded_class["done"].returncode == 0, graded_class["done"].stderr
    got = {}
    for row in graded_class["rows"]:
        assert row["notebook"] == NB
        got.setdefault(row["student"], []).append((row["exercise"], row["status"], float(row["points"])))
    assert got == graded_class["expected"]
    assert list(graded_class["rows"][0]) == list(grade.COLUMNS)
    assert {float(r["max_points"]) for r in graded_class["rows"] if r["exercise"] == "adam_step_check"} == {3}


def test_messages_are_the_checkers_own(graded_class):
    msg = {(r["student"], r["exercise"]): r["message"] for r in graded_class["rows"]}
    assert "no bias correction" in msg["mistake", "adam_step_check"]
    assert "input: adam_step(" in msg["mistake", "adam_step_check"] and "expected" in msg["mistake", "adam_step_check"]
    assert "not written yet" in msg["untouched", "gd_step_check"]
    assert "did not finish within" in msg["loop", "adam_step_check"]
    assert "no function named gd_step" in msg["renamed", "gd_step_check"]
    assert "should return (w, m, v)" in msg["renamed", "adam_step_check"]
    assert "raised ValueError: my own bug" in msg["writer", "adam_step_check"]
    assert "not valid JSON" in msg["broken", "gd_step_check"]
    assert "nbformat 3" in msg["old", "gd_step_check"]
    assert "not handed in" in msg["absent", "gd_step_check"]
    assert "no bias correction" in msg["tampered", "adam_step_check"]  # the restored check, judged outside
    assert "answer is not defined" in msg["untouched", "answer_check"]
    assert "changes how errors are reported" in msg["swallower", "answer_check"]
    assert "worker was killed by SIGKILL" in msg["killer", "gd_step_check"]
    judged_by = {(r["student"], r["exercise"]): r["judged_by"] for r in graded_class["rows"]}
    assert judged_by["full", "adam_step_check"] == "grader" and judged_by["full", "answer_check"] == "kernel"
    # the cheater's function returned its inputs unchanged: judged as wrong, whatever the kernel printed
    assert "returned a wrong result" in msg["cheater", "adam_step_check"]


def test_feedback_file_per_student(graded_class):
    feedback = graded_class["out"] / "feedback"
    assert sorted(p.stem for p in feedback.iterdir()) == sorted(graded_class["expected"])
    text = (feedback / "mistake.md").read_text(encoding="utf-8")
    assert "Total: 2 / 6 points" in text and "adam_step_check: 0 / 3 (failed)" in text
    assert "no bias correction" in text
    assert "Total: 6 / 6" in (feedback / "full.md").read_text(encoding="utf-8")


def test_terminal_shows_progress_and_the_distribution(graded_class):
    done = graded_class["done"]
    assert "/13 notebooks" in done.stderr  # the progress bar (one line per tenth when not a terminal)
    assert "13 students, 39 graded exercises" in done.stdout
    assert "median" in done.stdout and "90-100%" in done.stdout


def test_submissions_untouched_and_nothing_escapes_the_temporary_copy(graded_class):
    assert _snapshot(graded_class["submissions"]) == graded_class["before"]
    tmp = graded_class["tmp"]
    assert not (tmp / "class" / "escape.txt").exists() and not (tmp / "escape.txt").exists()
    assert sorted(p.name for p in graded_class["out"].iterdir()) == ["feedback", "grades.csv", "grading.json"]


def test_same_seed_same_messages(graded_class, tmp_path):
    """Inputs come from a seed recorded in grading.json: grading again with it reproduces every message."""
    seed = json.loads((graded_class["out"] / "grading.json").read_text())["seed"]
    sub = tmp_path / "sub"
    (sub / "mistake").mkdir(parents=True)
    (sub / "mistake" / NB).write_bytes((graded_class["submissions"] / "mistake" / NB).read_bytes())
    done = _cli(sub, "--out", tmp_path / "out", "--source", graded_class["tmp"] / "book", "--seed", seed)
    assert done.returncode == 0, done.stderr
    again = list(csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8")))
    first = [r for r in graded_class["rows"] if r["student"] == "mistake"]
    assert [r["message"] for r in again] == [r["message"] for r in first]


def test_instructor_errors_exit_nonzero_with_a_message(graded_class, tmp_path):
    book = graded_class["tmp"] / "book"
    assert "no such folder" in _cli(tmp_path / "nowhere", "--out", tmp_path / "o", "--source", book).stderr
    (tmp_path / "empty").mkdir()
    done = _cli(tmp_path / "empty", "--out", tmp_path / "o", "--source", book)
    assert done.returncode != 0 and "no student folder" in done.stderr
    done = _cli(graded_class["submissions"], "--out", graded_class["out"], "--source", book)
    assert done.returncode != 0 and "--overwrite" in done.stderr
    done = _cli(graded_class["submissions"], "--out", tmp_path / "o", "--source", tmp_path / "empty")
    assert done.returncode != 0 and "no notebook there has a graded cell" in done.stderr
    done = _cli(graded_class["submissions"], "--out", graded_class["submissions"] / "x", "--source", book)
    assert done.returncode != 0 and "inside SUBMISSIONS" in done.stderr
    assert not (tmp_path / "o").exists()


# -- the parts, without a kernel -------------------------------------------------------------------------------
FAKE_WORKER = r"""
import json, sys, time
for line in sys.stdin:
    job = json.loads(line)
    if job["student"] == "hangs":
        time.sleep(60)
    elif job["student"] == "nonsense":
        print("this is not json", flush=True)
    elif job["student"] == "crashes":
        sys.exit("worker bug: out of cheese")
    else:
        print(json.dumps({"rows": [{"student": job["student"], "status": "passed"}]}), flush=True)
"""


@pytest.mark.parametrize("student, message", [
    ("hangs", "the grader's worker did not finish"),
    ("nonsense", "the grader's worker answered nonsense"),
    ("crashes", "worker bug: out of cheese"),
])
def test_a_worker_that_hangs_or_fails_costs_one_notebook_and_is_replaced(tmp_path, student, message):
    (tmp_path / "book").mkdir()
    nbformat.write(source_notebook(), tmp_path / "book" / NB)
    worker = grade._Worker()
    worker.command, worker.grace = (sys.executable, "-c", FAKE_WORKER), 1.0
    job = {"notebook": NB, "source": str(tmp_path / "book" / NB), "timeout": 0.5}
    try:
        rows = worker.grade({**job, "student": student})
        assert [(r["exercise"], r["status"], r["points"]) for r in rows] == _every("error")
        assert all(message in r["message"] for r in rows), rows
        assert worker.grade({**job, "student": "next"}) == [{"student": "next", "status": "passed"}]
    finally:
        worker.stop()


def test_assemble_restores_changed_and_deleted_check_cells():
    source = source_notebook()
    edition = student_notebook(source)
    sub = _solved(edition, gd_step_answer="x = 1", gd_step_check="print('✓')")
    del sub.cells[5]  # the adam check
    sub.cells.insert(0, nbformat.v4.new_code_cell("y = 2"))
    run = grade_notebook.assemble(edition, sub)
    sources = [c.source for c in run.cells]
    assert sources == ["y = 2", edition.cells[0].source, edition.cells[1].source, "x = 1",
                       'check("gd_step", gd_step)', edition.cells[4].source, 'check("adam_step", adam_step)',
                       *(c.source for c in edition.cells[6:])]


def test_graded_cells_come_from_the_source():
    assert grade_notebook.graded_cells(source_notebook()) == [
        {"grade_id": "gd_step_check", "points": 2.0, "exercise": "gd_step", "function": "gd_step", "asserts": False,
         "judges": [("gd_step", "gd_step")]},
        {"grade_id": "adam_step_check", "points": 3.0, "exercise": "adam_step", "function": "adam_step",
         "asserts": False, "judges": [("adam_step", "adam_step")]},
        {"grade_id": "answer_check", "points": 1.0, "exercise": None, "function": None, "asserts": True,
         "judges": []}]


def test_answers_never_unpickle(tmp_path):
    import pickle

    import numpy as np

    path = tmp_path / "a.json"
    evil = {"npy": __import__("base64").b64encode(pickle.dumps(np.array([object()], dtype=object))).decode()}
    path.write_text(json.dumps({"answers": [{"returned": evil, "after": {"dict": []}}]}))
    report, why = grade_notebook.read_answers(path)
    assert report is None and "could not be read" in why


# -- the real chapters -------------------------------------------------------------------------------------------
def test_every_chapter_has_graded_exercises_and_every_check_call_a_judge():
    found = grade.assignment(ROOT / "book")
    chapters = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(found) == chapters
    for name, graded in found.items():
        assert all(g["points"] > 0 for g in graded), name
        for g in graded:  # a check("name", fn) cell is judged outside the kernel: the judge must know the name
            assert g["exercise"] is None or grade_notebook.judge_knows(g["exercise"]), (name, g)
    judged = [g["exercise"] for graded in found.values() for g in graded if g["exercise"]]
    assert {"gd_step", "momentum_step", "rmsprop_step", "adam_step", "adamw_step"} <= set(judged)


def test_a_cheater_on_the_real_chapter_gets_nothing(tmp_path):
    """Chapter 4 as handed out, with adam_step replaced by the cheat and the check cell edited: no points."""
    from adamedu.course.student_edition import BOOK

    edition = student_notebook(nbformat.read(BOOK / "04_adam.ipynb", as_version=4))
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in edition.cells}
    cells["ch04-adam_step-solution"].source = CHEAT
    cells["ch04-adam_step-check"].source = 'print("✓ adam_step is correct on 40 random cases")'
    (tmp_path / "sub" / "mallory").mkdir(parents=True)
    nbformat.write(edition, tmp_path / "sub" / "mallory" / "04_adam.ipynb")
    done = _cli(tmp_path / "sub", "--out", tmp_path / "out", "--jobs", 2, "--source", BOOK)
    assert done.returncode == 0, done.stderr
    rows = {r["exercise"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))}
    assert rows["ch04-adam_step-check"]["status"] == "failed"
    assert "returned a wrong result" in rows["ch04-adam_step-check"]["message"]
    assert rows["ch04-eps_scale-check"]["status"] == "not written"
    assert {r["status"] for r in rows.values() if not r["exercise"].startswith("ch04")} == {"missing"}
    assert sum(float(r["points"]) for r in rows.values()) == 0


# -- value exercises: the answer is a value, fetched as data and judged in the grader's process ----------------------
VALUE_SETUP = "import numpy as np\nimport adamedu as ae\nfrom adamedu.grading import check_value"
VALUE_ANSWER = '''### BEGIN SOLUTION
tilted = ae.Quadratic([2.0, 50.0], angle=-np.pi / 4)
mu, L = np.linalg.eigvalsh(tilted.hessian)
predicted_threshold = measured_threshold = 2 / L
predicted_factor = measured_factor = ((L - mu) / (L + mu)) ** 2
### END SOLUTION'''
# wrong values, and everything in the kernel patched so that its own check passes them
VALUE_CHEAT = '''predicted_threshold = measured_threshold = 0.5
predicted_factor = measured_factor = 0.5
import adamedu.course.value_judges as vj, adamedu.grading, adamedu.course.grading as inner
from adamedu.course.grading import Verdict
vj.judge_values = lambda name, answers: Verdict(name, True, "✓ the experiment confirms the predictions")
np.allclose = lambda *a, **k: True
np.linalg.eigvalsh = lambda h: np.array([2.0, 4.0])         # 2 / L = 0.5 inside this kernel
check_value = adamedu.grading.check_value = inner.check_value = lambda *a, **k: print("✓ correct")'''


def value_source():
    cell = nbformat.v4
    nb = cell.new_notebook(cells=[
        cell.new_code_cell(VALUE_SETUP, metadata=_meta("setup", locked=True)),
        cell.new_code_cell(VALUE_ANSWER, metadata=_meta("tilted_solution", solution=True)),
        cell.new_code_cell('check_value("tilted_threshold")', metadata=_meta("tilted_check", graded=True, locked=True,
                                                                            points=3)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for i, c in enumerate(nb.cells):
        c.id = f"value-{i}"
    return nb


@pytest.mark.parametrize("student, answer, status, points", [
    ("right", VALUE_ANSWER, "passed", 3.0),
    ("cheater", VALUE_CHEAT, "failed", 0.0),
    ("untouched", None, "not written", 0.0),
])
def test_value_exercise_judged_outside_the_kernel(tmp_path, student, answer, status, points):
    source = value_source()
    assert grade_notebook.graded_cells(source) == [{"grade_id": "tilted_check", "points": 3.0,
                                                    "exercise": "tilted_threshold", "function": None,
                                                    "asserts": False, "judges": [("tilted_threshold", None)]}]
    (tmp_path / "book").mkdir()
    nbformat.write(source, tmp_path / "book" / NB)
    edition = student_notebook(source)
    submission = edition if answer is None else _solved(edition, tilted_solution=answer)
    (tmp_path / "class" / student).mkdir(parents=True)
    nbformat.write(submission, tmp_path / "class" / student / NB)
    [row] = grade_notebook.grade_one({"student": student, "notebook": NB, "source": str(tmp_path / "book" / NB),
                                      "submission": str(tmp_path / "class" / student / NB), "timeout": TIMEOUT,
                                      "memory": 0, "seed": 0})
    assert (row["status"], row["points"], row["judged_by"]) == (status, points, "grader"), row
    if student == "cheater":
        assert "predicted_threshold is wrong" in row["message"] and "0.50000" in row["message"]
    if student == "right":
        assert row["message"].endswith("✓ the experiment confirms the predictions")


def test_the_kernel_keeps_out_of_the_instructors_ipython_profile(tmp_path, monkeypatch):
    """A student's code is neither recorded in the instructor's IPython history nor run after the instructor's
    startup files; the grader's own environment is the same after a notebook as before."""
    profile = tmp_path / "instructor_ipython"
    spied = tmp_path / "startup_ran"
    (profile / "profile_default" / "startup").mkdir(parents=True)
    (profile / "profile_default" / "startup" / "00-spy.py").write_text(f"open({str(spied)!r}, 'w').write('x')\n")
    monkeypatch.setenv("IPYTHONDIR", str(profile))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    (tmp_path / "book").mkdir()
    nbformat.write(value_source(), tmp_path / "book" / NB)
    (tmp_path / "class" / "right").mkdir(parents=True)
    nbformat.write(value_source(), tmp_path / "class" / "right" / NB)
    [row] = grade_notebook.grade_one({"student": "right", "notebook": NB, "source": str(tmp_path / "book" / NB),
                                      "submission": str(tmp_path / "class" / "right" / NB), "timeout": TIMEOUT,
                                      "memory": 0, "seed": 0})
    assert row["status"] == "passed", row
    assert not spied.exists()
    assert sorted(p.relative_to(profile).as_posix() for p in profile.rglob("*")) == [
        "profile_default", "profile_default/startup", "profile_default/startup/00-spy.py"]
    assert os.environ["IPYTHONDIR"] == str(profile) and "JUPYTER_PATH" not in os.environ


def test_chapters_1_to_6_are_judged_outside_the_kernel():
    """Every graded check of chapters 1-6 is a check(...) or check_value(...) with a trusted judge and nothing else
    in its cell; a value check's metadata names what the judge reads."""
    from adamedu.course import value_judges

    found = grade.assignment(ROOT / "book")
    for chapter in sorted(found)[:6]:
        for g in found[chapter]:
            assert g["exercise"] and grade_notebook.judge_knows(g["exercise"]) and not g["asserts"], (chapter, g)
        nb = nbformat.read(ROOT / "book" / chapter, as_version=4)
        for cell in nb.cells:
            name = grade_notebook._check_value_call(cell.source) if cell.cell_type == "code" else None
            if name:
                ex = value_judges.VALUE_EXERCISES[name]
                assert cell.metadata["adamedu"] == {"judge": [name], "values": [*ex.fetch, *dict.fromkeys(
                    f for f, _ in ex.calls)]}, (chapter, name)


# -- chapters 7 and 8: every graded check judged by the grader -------------------------------------------------------
CHEAT_78 = '''import numpy as np
import adamedu.course.value_judges as vj, adamedu.grading, adamedu.course.grading as inner
from adamedu.course.grading import Verdict
vj.judge_values = lambda name, answers: Verdict(name, True, "✓ correct")
inner.judge = lambda name, inputs, returned, after=None: Verdict(name, True, "✓ correct")
np.allclose = lambda *a, **k: True
check = check_value = adamedu.grading.check = adamedu.grading.check_value = lambda *a, **k: print("✓ correct")
'''


def _cheat_78(edition):
    """Every solution cell replaced by functions that return 0, after patching the checkers in the kernel."""
    import ast

    nb = nbformat.from_dict(json.loads(json.dumps(edition)))
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            names = [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
            cell.source = CHEAT_78 + "\n".join(f"def {n}(*args, **kwargs):\n    return 0" for n in names)
    return nb


def test_chapters_7_and_8_graded_outside_the_kernel(tmp_path):
    """Chapters 7 and 8 as sources: the solutions get every point; a cheater who patches check, check_value, the
    judges and numpy in the kernel gets none; the untouched edition of chapter 7 is "not written" everywhere."""
    from adamedu.course.student_edition import BOOK

    chapters = ("07_variants.ipynb", "08_keras.ipynb")
    sources = {c: nbformat.read(BOOK / c, as_version=4) for c in chapters}
    for name, make in [("full", lambda nb: nb), ("cheater", lambda nb: _cheat_78(student_notebook(nb)))]:
        for c in chapters:
            (tmp_path / "sub" / name).mkdir(parents=True, exist_ok=True)
            nbformat.write(make(sources[c]), tmp_path / "sub" / name / c)
    (tmp_path / "sub" / "untouched").mkdir()
    nbformat.write(student_notebook(sources[chapters[0]]), tmp_path / "sub" / "untouched" / chapters[0])
    done = _cli(tmp_path / "sub", "--out", tmp_path / "out", "--jobs", 2, "--source", BOOK, "--timeout", 300)
    assert done.returncode == 0, done.stderr
    rows = [r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))
            if r["notebook"] in chapters]
    by = {(r["student"], r["notebook"]): [] for r in rows}
    for r in rows:
        by[r["student"], r["notebook"]].append(r)
    for c in chapters:
        full = by["full", c]
        assert len(full) == 4 and all(r["status"] == "passed" and float(r["points"]) == float(r["max_points"]) == 3
                                      and r["judged_by"] == "grader" for r in full), full
        cheat = by["cheater", c]
        assert sum(float(r["points"]) for r in cheat) == 0 and all(r["status"] == "failed" for r in cheat), cheat
        assert not any("✓ correct" in r["message"] for r in cheat)
    untouched = by["untouched", chapters[0]]
    assert all(r["status"] == "not written" and "not written yet" in r["message"] for r in untouched), untouched
    assert {r["status"] for r in by["untouched", chapters[1]]} == {"missing"}


# -- chapters 9 to 11: one graded run of the three chapters ----------------------------------------------------------
def _exercises_only(nb):
    """The notebook with only its set-up (code cells up to the import of the checks), its exercise cells and its graded
    check cells: a submission whose other cells the student deleted. The grader restores nothing else, so the run
    costs a kernel start and the checks, not the chapter's experiments."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    setup = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and "from adamedu.grading import" in c.source)
    nb.cells = [c for i, c in enumerate(nb.cells) if c.cell_type == "code" and (
        i <= setup or grade_notebook.nbgrader_meta(c).get("solution") or grade_notebook.is_graded(c))]
    return nb


def test_chapters_9_to_11_graded_outside_the_kernel(tmp_path):
    """Chapters 9-11 as sources (the real chapters, their check cells and metadata): the solutions get every point,
    judged by the grader; a cheater who patches check, check_value, the judges and numpy in the kernel gets none; the
    untouched edition is "not written yet" everywhere, never a raw error. The submissions hold only the exercise
    and check cells (see _exercises_only), so the nine notebooks take seconds each."""
    from adamedu.course.student_edition import BOOK

    chapters = ("09_preconditioning.ipynb", "10_schedules_stability.ipynb", "11_memory_scale.ipynb")
    sources = {c: nbformat.read(BOOK / c, as_version=4) for c in chapters}
    make = {"full": lambda nb: nb, "cheater": lambda nb: _cheat_78(student_notebook(nb)), "untouched": student_notebook}
    for name, edition in make.items():
        (tmp_path / "sub" / name).mkdir(parents=True)
        for c in chapters:
            nbformat.write(_exercises_only(edition(sources[c])), tmp_path / "sub" / name / c)
    done = _cli(tmp_path / "sub", "--out", tmp_path / "out", "--jobs", 2, "--source", BOOK, "--timeout", 120)
    assert done.returncode == 0, done.stderr
    rows = [r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))
            if r["notebook"] in chapters]
    by = {}
    for r in rows:
        by.setdefault((r["student"], r["notebook"]), []).append(r)
    for c in chapters:
        full = by["full", c]
        assert len(full) == 1 and all(r["status"] == "passed" and float(r["points"]) == float(r["max_points"]) == 3
                                      and r["judged_by"] == "grader" for r in full), full
        cheat = by["cheater", c]
        assert all(r["status"] == "failed" and float(r["points"]) == 0 and r["judged_by"] == "grader"
                   and "✓ correct" not in r["message"] for r in cheat), cheat
        untouched = by["untouched", c]
        assert all(r["status"] == "not written" and "not written yet" in r["message"] for r in untouched), untouched
    messages = {(r["student"], r["notebook"][:2]): r["message"] for r in rows}
    assert "✓ by hand: diag(3, 4) / 5" in messages["full", "09"]  # both judges of the cell spoke
    assert "✓ by hand: 0, 5e-4, 1e-3" in messages["full", "10"]
    assert "shape ()" in messages["cheater", "09"] and "At t = 6 (half-way up)" in messages["cheater", "10"]
