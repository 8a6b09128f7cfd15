"""Grade one student's notebook: run it in a fresh kernel, then judge each graded exercise outside the kernel.

This module is the worker that ``adamedu grade`` runs in a process of its own, one per job slot (``python -m
adamedu.course.grade_notebook`` reads jobs as JSON lines on stdin and answers each with a JSON line of rows on
stdout). Each job, one student's notebook, runs in a fresh kernel process of its own. The worker trusts the
source notebook and this package; it trusts nothing the student's notebook does.

How a verdict is reached (the anti-forgery design):

1. **Exercises and points come from the source notebook.** A graded cell is a code cell whose nbgrader
   metadata says ``grade: true, solution: false`` with its ``grade_id`` and ``points``; the exercise it grades
   and the student's function are read from its ``check("adam_step", adam_step)`` call, if it has one. The
   submission's own metadata is never believed.
2. **Check cells are restored.** Every locked or graded cell of the source replaces the submission's cell with
   the same ``grade_id``; one the student deleted is put back where the source has it.
3. **The kernel only answers questions; it never decides.** Right after each restored check cell the worker
   injects a probe cell. The probe calls the student's function on inputs that *this* process generated from a
   seed the kernel never sees before that moment, and writes back the returned values only, as data (numpy
   arrays as ``.npy`` bytes read with ``allow_pickle=False``, numbers, strings, lists; never pickle, whose
   loading runs code). This process then judges those values with its own, untouched ``adamedu`` (the
   ``grading`` module imported here, never in the kernel). Whatever the notebook did to ``adamedu.grading``,
   ``check`` or ``print`` inside its kernel, the only thing that earns points is a function that returns the
   right values for inputs it could not know in advance.
   A **value exercise** (a check cell ``check_value("tilted_threshold")``; the exercise's answer is values
   the student computed, see :mod:`adamedu.course.value_judges`) gets a probe of its own after the check
   cell: it sends back the values of the variables the exercise declares and the results of calling its
   functions on fixed arguments (``breaking_gradients(0.9, 0.99)``), in the same codec, and this process
   decides with ``grading.judge_values``, which recomputes the experiment with the package. Patching numpy,
   ``adamedu`` or ``check_value`` in the kernel changes nothing here; only right values earn the points.
   The exercise and what it reads come from the source cell's ``check_value`` call and this package's
   registry ``grading.VALUE_EXERCISES``; the cell's ``"adamedu": {"values": [...]}`` metadata documents them.
   A check cell that asserts on an experiment's results without a judge (``needs(...)``, ``attempt(...)``
   and ``assert``; no ``check`` or ``check_value`` call) has no trusted judge: its verdict is whether the
   restored cell ran without an error, as in nbgrader (``judged_by = kernel``); a check cell with both needs
   both (``grader+kernel``; an instructor's own notebook may hold such cells, the book's chapters do not). A
   check cell may hold several ``check``/``check_value`` calls (chapter 7's ``p_norm_scale`` and
   ``adamax_p_norm``, chapter 9's ``newton_schulz_hand`` and ``newton_schulz``): each gets its probe and its
   judge, and the cell's points need every one of them. Every graded check of every chapter (1-11) is judged
   by the grader alone. A hidden cell (tagged ``solution``, marked for nbgrader as a 0-point test; see
   :func:`~adamedu.course.student_edition.mark_hidden_solutions`) is never handed out and grades nothing here.
   A canary cell injected after each such cell raises an error that must show up in its output, so a notebook
   that swallows errors (``set_custom_exc``, a patched ``showtraceback``) gets ``error`` rather than points.
   What the canary cannot see: code that patches what those asserts call (numpy, ``adamedu`` in memory).
4. **Every notebook runs apart**: in its own kernel process (with ``RLIMIT_AS`` set to the memory limit),
   with a wall-clock budget for the whole notebook, in a temporary copy of the student's folder that is also
   its working directory, with the kernel's stdout and stderr sent to ``/dev/null`` (so nothing it prints can
   pose as this worker's answer), and with an IPython profile of its own in that temporary folder (the
   instructor's startup files do not run, and the students' code is not recorded in their history).

What it does not stop (it is not a sandbox; see the README): the kernel runs as the instructor's user, so code
that deliberately reaches outside (absolute paths, ``/proc``, the network, the installed ``adamedu`` files on
disk) is not prevented; run ``adamedu grade`` in a container for a real course. A function that calls
``adamedu``'s own implementation (``ae.Adam().update``) returns right values and passes: the grade measures
what the function returns, not how; the submission's source shows it. A student whose code reads the probe's
inputs still has to compute the right outputs for them. Code that kills its kernel, or exhausts the memory
limit, ends that notebook: its remaining exercises are rows with status ``error``.
"""

import ast
import base64
import dataclasses
import io
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import nbformat
import numpy as np

from ..optimizers._base import Optimizer
from . import grading
from .student_edition import is_hidden

__all__ = ["graded_cells", "assemble", "grade_one", "read_submission", "Unreadable", "STATUSES"]

STATUSES = ("passed", "failed", "not written", "error", "timeout", "missing", "unreadable")
MAX_RESULT_BYTES = 64 * 2**20  # a probe's answer larger than this is not read


class Unreadable(ValueError):  # noqa: N818 (a status, like the rows say)
    """A submission that is not a notebook we can run (invalid JSON, another nbformat, malformed cells)."""


# -- what the source grades ------------------------------------------------------------------------------------
def nbgrader_meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_graded(cell):
    """An autograded test cell: nbgrader's ``grade: true`` without ``solution: true``, in a code cell that is handed
    out (a hidden cell, marked for nbgrader as a test worth 0 points, grades nothing here)."""
    meta = nbgrader_meta(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")
            and not is_hidden(cell))


def is_protected(cell):
    """A cell the student may not change: locked, or an autograded test cell."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade_id")) and (bool(meta.get("locked")) or is_graded(cell))


def graded_cells(source_nb):
    """The graded exercises of a source notebook: ``[{grade_id, points, exercise, function, asserts, judges}, ...]``
    in order.

    ``judges`` lists the cell's ``check("name", function)`` and ``check_value("name")`` calls in the order they
    appear, as ``(exercise, function)`` pairs (``function`` None for a value exercise); every one of them must
    pass for the cell's points. ``exercise`` and ``function`` are the first of them; a graded cell with no such
    call is judged by name (``grade_id``) if the judge knows it, else it has ``exercise = None``.
    """
    out = []
    for cell in source_nb.cells:
        if not is_graded(cell):
            continue
        meta = nbgrader_meta(cell)
        judges = _judge_calls(cell.source)
        if not judges and judge_knows(meta["grade_id"]):
            judges = [(meta["grade_id"], None if is_value(meta["grade_id"]) else meta["grade_id"])]
        exercise, function = judges[0] if judges else (None, None)
        out.append({"grade_id": meta["grade_id"], "points": float(meta.get("points", 0)),
                    "exercise": exercise, "function": function, "asserts": _has_more_than_check(cell.source),
                    "judges": judges})
    return out


def _judge_calls(source):
    """``[("p_norm_scale", "p_norm_scale"), ("adamax_p_norm", None)]`` from a cell holding
    ``check("p_norm_scale", p_norm_scale)`` and ``check_value("adamax_p_norm")``, in source order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if name == "check_value" and len(node.args) == 1:
            found.append((node.lineno, node.col_offset, first.value, None))
        elif name == "check" and len(node.args) >= 2 and isinstance(node.args[1], ast.Name):
            found.append((node.lineno, node.col_offset, first.value, node.args[1].id))
    return [(exercise, function) for *_, exercise, function in sorted(found)]


def _has_more_than_check(source):
    """Whether a check cell does more than ``check(...)`` calls (its own asserts, which run in the kernel)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return True
    return not all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                   and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) in CHECKS
                   for node in body)


CHECKS = ("check", "check_value")  # the calls a check cell may hold and still be judged by the grader alone


def _check_value_call(source):
    """``"tilted_threshold"`` from a cell holding ``check_value("tilted_threshold")``; else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check_value"):
            return node.args[0].value
    return None


# -- the judge: this process's own adamedu ---------------------------------------------------------------------
# The cases and the verdict come from adamedu.course.grading, imported in this (trusted) process: cases(name,
# seed) makes the inputs, judge(name, inputs, returned, after) decides from the returned values alone.
def judge_knows(exercise):
    return exercise in grading.GRADED or is_value(exercise)


def is_value(exercise):
    return exercise in grading.VALUE_EXERCISES


def value_request(exercise):
    """What the probe of value exercise ``exercise`` fetches: variable names and (function, args) calls."""
    from .value_judges import calls_of

    ex = grading.VALUE_EXERCISES[exercise]
    return {"fetch": list(ex.fetch),
            "calls": [[label, function, [wire_arg(a) for a in args],
                       None if then is None else [[wire_arg(a) for a in targs] for targs in then]]
                      for label, function, args, then in calls_of(ex)]}


def wire_arg(a):
    """An argument of a value exercise's call as the probe receives it: data, or an expression to evaluate."""
    from .value_judges import Arg

    if isinstance(a, Arg):
        return {"expr": a.value} if a.expr else encode(a.value)
    return encode(a)


def judge_value(exercise, report):
    """``(status, message)`` of a value exercise from a probe's report (values already decoded)."""
    from .value_judges import Missing, calls_of

    answers = {}
    for name, answer in report["values"].items():
        answers[name] = Missing(name) if "missing" in answer else answer["value"]
    for label, function, _, _ in calls_of(grading.VALUE_EXERCISES[exercise]):
        answer = report["calls"].get(label, {"missing": True})
        if "missing" in answer:
            answers[label] = Missing(function)
        elif "not_written" in answer:
            answers[label] = grading.Raised("NotImplementedError")
        elif "raised" in answer:
            answers[label] = grading.Raised(answer["raised"], answer["message"])
        else:
            answers[label] = answer["value"]
    verdict = grading.judge_values(exercise, answers)
    if verdict.passed:
        return "passed", verdict.message
    if "not written yet" in verdict.message:
        return "not written", verdict.message
    return "failed", verdict.message


def make_cases(exercise, seed):
    """The inputs for ``exercise``: a list of ``{"args": [...], "kwargs": {...}}``."""
    return [{"args": [], "kwargs": case} for case in grading.cases(exercise, seed)]


def judge(exercise, cases, answers):
    """``(status, message)`` for the answers (one per case, in order, until the first that raised)."""
    if not answers:
        return "error", f"{exercise} gave no answer"
    returned, after = [], []
    for answer in answers:
        if "not_written" in answer:
            returned.append(grading.Raised("NotImplementedError"))
        elif "raised" in answer:
            returned.append(grading.Raised(answer["raised"], answer["message"]))
        else:
            returned.append(answer["returned"])
        after.append(answer.get("after", {}))
    if len(answers) < len(cases) and "returned" in answers[-1]:
        return "error", f"{exercise} gave {len(answers)} answers for {len(cases)} inputs"
    verdict = grading.judge(exercise, [c["kwargs"] for c in cases[:len(answers)]], returned, after)
    if verdict.passed:
        return "passed", verdict.message
    if "not_written" in answers[-1] and "is not written yet" in verdict.message:
        return "not written", verdict.message
    return "failed", verdict.message


# -- data across the kernel boundary ---------------------------------------------------------------------------
def encode(x):
    """JSON-able data for inputs sent into the kernel (the kernel's probe has its own copy of this codec)."""
    if isinstance(x, (np.ndarray, np.generic)):
        buf = io.BytesIO()
        np.save(buf, np.asarray(x), allow_pickle=False)
        return {"npy": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(x, float) and not math.isfinite(x):
        return {"float": repr(x)}
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, (tuple, list)):
        return {type(x).__name__: [encode(i) for i in x]}
    if isinstance(x, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in x.items()]}
    if isinstance(x, type) and issubclass(x, np.generic):
        return {"nptype": np.dtype(x).name}
    if isinstance(x, Optimizer):  # rebuilt in the kernel from its class name and hyperparameters
        return {"optimizer": type(x).__name__,
                "fields": {f.name: encode(getattr(x, f.name)) for f in dataclasses.fields(x)}}
    raise TypeError(f"cannot send a {type(x).__name__} to the kernel")


def decode(x):
    """The value a probe sent back, as plain Python and numpy objects; never runs code (no pickle)."""
    if isinstance(x, dict):
        if "npy" in x:
            return np.load(io.BytesIO(base64.b64decode(x["npy"])), allow_pickle=False)
        if "float" in x:
            return float(x["float"])
        if "tuple" in x:
            return tuple(decode(i) for i in x["tuple"])
        if "list" in x:
            return [decode(i) for i in x["list"]]
        if "dict" in x:
            return {_hashable(decode(k)): decode(v) for k, v in x["dict"]}
        if "object" in x:
            return opaque(str(x["object"]), str(x.get("repr", ""))[:300])
        if "optimizer" in x:
            return rebuilt_optimizer(x)
        raise ValueError(f"unknown value in a probe's answer: {sorted(x)}")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise ValueError(f"unknown value in a probe's answer: {type(x).__name__}")


def rebuilt_optimizer(x):
    """An ``adamedu`` optimizer that a probe sent back as its class name and hyperparameters, rebuilt here by
    this process's own ``adamedu`` (only its optimizer classes, only data as arguments); anything else, or
    hyperparameters it refuses, stays an opaque stand-in."""
    import adamedu

    name = str(x.get("optimizer", ""))
    cls = getattr(adamedu, name, None) if name.isidentifier() and not name.startswith("_") else None
    fields = x.get("fields")
    if isinstance(cls, type) and issubclass(cls, Optimizer) and isinstance(fields, dict):
        try:
            return cls(**{str(k): decode(v) for k, v in fields.items()})
        except Exception:  # noqa: BLE001 (a refused hyperparameter: the judge says what it got)
            pass
    return opaque(f"adamedu.{name}", f"{name}(...)")


def _hashable(k):
    return k if isinstance(k, (str, int, float, bool, type(None), tuple)) else repr(k)


def opaque(type_name, text):
    """A stand-in for a returned object that is not data: an instance of an empty class of the same name
    (so that a message says "got Momentum"), whose repr is the object's; no code of the student's runs here."""
    name = type_name.rsplit(".", 1)[-1]
    name = name if name.isidentifier() else "object"
    return type(name, (), {"__repr__": lambda self: text or f"<{type_name}>", "__module__": "submission"})()


PROBE = r'''
def __adamedu_probe(function, cases_json, out_path):
    # Injected by `adamedu grade`: call the function on the grader's inputs and write back what it returned.
    import base64 as _b64, io as _io, json as _json, math as _math
    import numpy as _np

    def dec(x):
        if isinstance(x, dict):
            if "npy" in x:
                return _np.load(_io.BytesIO(_b64.b64decode(x["npy"])), allow_pickle=False)
            if "float" in x:
                return float(x["float"])
            if "tuple" in x:
                return tuple(dec(i) for i in x["tuple"])
            if "list" in x:
                return [dec(i) for i in x["list"]]
            if "dict" in x:
                return {dec(k): dec(v) for k, v in x["dict"]}
            if "nptype" in x:
                return getattr(_np, x["nptype"])
            if "optimizer" in x:
                import adamedu as _ae
                return getattr(_ae, x["optimizer"])(**{k: dec(v) for k, v in x["fields"].items()})
            if "expr" in x:  # an argument that is not data (a Keras optimizer): the grader's own expression
                return eval(x["expr"], globals())
        return x

    def enc(x, depth=0):
        if depth > 20:
            return {"object": "too deeply nested", "repr": ""}
        if isinstance(x, (_np.ndarray, _np.generic)) and _np.asarray(x).dtype != object:
            buf = _io.BytesIO()
            _np.save(buf, _np.array(x), allow_pickle=False)
            return {"npy": _b64.b64encode(buf.getvalue()).decode("ascii")}
        if x is None or type(x) in (bool, str):
            return x
        if isinstance(x, int) and not isinstance(x, bool):
            return int(x)
        if isinstance(x, float):
            return float(x) if _math.isfinite(x) else {"float": repr(float(x))}
        if isinstance(x, (tuple, list)):
            return {"tuple" if isinstance(x, tuple) else "list": [enc(i, depth + 1) for i in x]}
        if isinstance(x, dict):
            return {"dict": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
        if type(x).__module__.startswith("adamedu.") and hasattr(x, "__dataclass_fields__") and hasattr(x, "init"):
            return {"optimizer": type(x).__name__,  # an adamedu optimizer: its class name and hyperparameters
                    "fields": {f: enc(getattr(x, f), depth + 1) for f in x.__dataclass_fields__}}
        try:
            text = repr(x)[:300]
        except BaseException:
            text = ""
        return {"object": type(x).__module__ + "." + type(x).__qualname__, "repr": text}

    fn = globals().get(function)
    answers, report = [], {"function": function}
    if fn is None:
        report["absent"] = True
    elif not callable(fn):
        report["not_callable"] = type(fn).__name__
    else:
        for case in _json.loads(cases_json):
            args, kwargs = dec(case["args"]), dec(case["kwargs"])
            try:
                returned = fn(*args, **kwargs)
            except NotImplementedError:
                answers.append({"not_written": True})
                break
            except BaseException as err:
                answers.append({"raised": type(err).__name__, "message": str(err)[:2000]})
                break
            answers.append({"returned": enc(returned), "after": enc(kwargs)})
    report["answers"] = answers
    with _io.open(out_path, "w", encoding="utf-8") as f:
        _json.dump(report, f)


__adamedu_probe(%(function)r, %(cases)r, %(out_path)r)
del __adamedu_probe
'''


VALUE_PROBE = r'''
def __adamedu_values(request_json, out_path):
    # Injected by `adamedu grade`: send back the values of the exercise's variables and of its calls, as data.
    import base64 as _b64, io as _io, json as _json, math as _math
    import numpy as _np
%(dec)s
%(enc)s
    request = _json.loads(request_json)
    report = {"values": {}, "calls": {}}
    scope = globals()
    for name in request["fetch"]:
        report["values"][name] = {"value": enc(scope[name])} if name in scope else {"missing": True}
    for label, function, args, then in request["calls"]:
        fn = scope.get(function)
        if fn is None:
            report["calls"][label] = {"missing": True}
            continue
        try:
            value = fn(*[dec(a) for a in args])
            if then is not None:  # the call returned a function (a schedule): its values at these arguments
                value = [_np.asarray(value(*[dec(a) for a in targs])) for targs in then]
            report["calls"][label] = {"value": enc(value)}
        except NotImplementedError:
            report["calls"][label] = {"not_written": True}
        except BaseException as err:
            report["calls"][label] = {"raised": type(err).__name__, "message": str(err)[:2000]}
    with _io.open(out_path, "w", encoding="utf-8") as f:
        _json.dump(report, f)


__adamedu_values(%(request)r, %(out_path)r)
del __adamedu_values
'''


def value_probe_source(exercise, out_path):
    """The code of a value exercise's probe cell (the encoder is the function probe's own ``enc``)."""
    dec = PROBE[PROBE.index("    def dec(x):"):PROBE.index("    def enc(x, depth=0):")]
    enc = PROBE[PROBE.index("    def enc(x, depth=0):"):PROBE.index("    fn = globals().get(function)")]
    return VALUE_PROBE % {"dec": dec.rstrip() + "\n", "enc": enc.rstrip() + "\n",
                          "request": json.dumps(value_request(exercise)), "out_path": str(out_path)}


def read_values(path):
    """``(report, None)`` from a value probe's file, values decoded; or ``(None, why)``."""
    return _read_probe_file(path, _decode_values)


def _decode_values(raw):
    report = {"values": {}, "calls": {}}
    for part in ("values", "calls"):
        for label, a in raw[part].items():
            if "value" in a:
                report[part][str(label)] = {"value": decode(a["value"])}
            elif "raised" in a:
                report[part][str(label)] = {"raised": str(a["raised"])[:100], "message": str(a["message"])[:2000]}
            elif "not_written" in a:
                report[part][str(label)] = {"not_written": True}
            else:
                report[part][str(label)] = {"missing": True}
    return report


def _read_probe_file(path, decode_report):
    """``(decode_report(the file's JSON), None)``, or ``(None, why)`` when the file is absent, too large or not ours."""
    path = Path(path)
    if not path.exists():
        return None, "absent"
    if path.stat().st_size > MAX_RESULT_BYTES:
        return None, f"the answer is larger than {MAX_RESULT_BYTES // 2**20} MB"
    try:
        return decode_report(json.loads(path.read_text(encoding="utf-8"))), None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return None, f"the answer could not be read ({type(err).__name__}: {err})"


def probe_source(function, cases, out_path):
    """The code of a probe cell; ``cases`` are sent as data (JSON with base64 ``.npy`` arrays)."""
    wire = [{"args": encode(list(c["args"])), "kwargs": encode(dict(c["kwargs"]))} for c in cases]
    return PROBE % {"function": function, "cases": json.dumps(wire), "out_path": str(out_path)}


def read_answers(path):
    """``(report, None)`` from a probe's file, or ``(None, why)`` when it is absent or not our format."""
    return _read_probe_file(path, _decode_answers)


def _decode_answers(report):
    answers = []
    for a in report["answers"]:
        if "returned" in a:
            after = decode(a["after"])
            answers.append({"returned": decode(a["returned"]), "after": after if isinstance(after, dict) else {}})
        elif "raised" in a:
            answers.append({"raised": str(a["raised"])[:100], "message": str(a["message"])[:2000]})
        else:
            answers.append({"not_written": True})
    report["answers"] = answers
    return report


# -- reading and assembling ------------------------------------------------------------------------------------
def read_submission(path):
    """The submitted notebook as an nbformat 4 node; raises :class:`Unreadable` with a reason a student can act on."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise Unreadable(f"the file is not text (UTF-8): {err}") from None
    except json.JSONDecodeError as err:
        raise Unreadable(f"the file is not valid JSON (a notebook is JSON): {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Unreadable("the file is JSON but not a notebook (no list of cells)")
    if data.get("nbformat") != 4:
        raise Unreadable(f"the notebook is nbformat {data.get('nbformat')!r}; the grader reads nbformat 4 "
                         "(open and save it with Jupyter 4 or later)")
    for i, cell in enumerate(data["cells"]):
        source = cell.get("source") if isinstance(cell, dict) else None
        if (not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw")
                or not (isinstance(source, str) or isinstance(source, list)
                        and all(isinstance(s, str) for s in source))):
            raise Unreadable(f"cell {i} is malformed (a cell needs a cell_type and a source)")
    nb = nbformat.from_dict(data)
    for cell in nb.cells:
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        cell.setdefault("metadata", {})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def assemble(reference, submission):
    """The notebook to run: the submission with every protected cell of ``reference`` restored by ``grade_id``.

    A protected cell the student changed gets the reference's source back; one the student deleted is put back
    after the cell that precedes it in the reference; a duplicate of one is dropped. Everything else is the
    student's.
    """
    protected = {nbgrader_meta(c)["grade_id"]: c for c in reference.cells if is_protected(c)}
    cells, seen = [], set()
    for cell in submission.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in protected:
            if gid not in seen:
                cells.append(_fresh(protected[gid]))
                seen.add(gid)
        else:
            if is_graded(cell) or nbgrader_meta(cell).get("locked"):  # a student's cell that claims to be graded
                cell.metadata.pop("nbgrader", None)
            cells.append(cell)
    anchor = -1
    for ref in reference.cells:
        gid = nbgrader_meta(ref).get("grade_id")
        if not gid:
            continue
        found = next((i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == gid), None)
        if found is not None:
            anchor = found
        elif gid in protected:
            anchor += 1
            cells.insert(anchor, _fresh(protected[gid]))
    out = nbformat.v4.new_notebook(cells=cells, metadata=submission.metadata)
    for i, cell in enumerate(out.cells):
        cell.id = f"graded-{i}"
    return out


def _fresh(cell):
    copy = nbformat.from_dict(json.loads(json.dumps(cell)))
    if copy.cell_type == "code":
        copy.outputs, copy.execution_count = [], None
    return copy


# -- running ---------------------------------------------------------------------------------------------------
LAUNCH = ("import resource; limit = {limit}; "
          "limit and resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
          "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()")


def _kernel_spec(folder, memory_bytes):
    """A kernel spec whose kernel lowers its own address-space limit before it runs any notebook code."""
    spec = Path(folder) / "kernels" / "adamedu-grade"
    spec.mkdir(parents=True)
    # no history: the students' code stays out of the instructor's IPython history database
    argv = [sys.executable, "-c", LAUNCH.format(limit=int(memory_bytes or 0)), "-f", "{connection_file}",
            "--HistoryManager.enabled=False"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "adamedu grade",
                                                  "language": "python"}))
    return "adamedu-grade"


def execute(nb, cwd, timeout, memory_bytes, jupyter_dir):
    """Run ``nb`` in a fresh kernel in ``cwd``; returns ``(outcome, message)``, outcome ``ok|timeout|died|error``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    kernel = _kernel_spec(jupyter_dir, memory_bytes)
    deadline = []

    def remaining(cell):
        if not deadline:
            deadline.append(time.monotonic() + timeout)
        return max(1, math.ceil(deadline[0] - time.monotonic()))

    client = NotebookClient(nb, kernel_name=kernel, timeout_func=remaining, allow_errors=True, startup_timeout=120,
                            resources={"metadata": {"path": str(cwd)}}, record_timing=False)
    # The kernel finds its spec through JUPYTER_PATH, and its IPython profile lives in the notebook's temporary
    # folder (IPYTHONDIR): the instructor's startup files do not run in it, and nothing it stores there outlives
    # the notebook. The kernel copies the environment when it starts; this process gets its own back after.
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "IPYTHONDIR")}
    os.environ["JUPYTER_PATH"], os.environ["IPYTHONDIR"] = str(jupyter_dir), str(Path(jupyter_dir) / "ipython")
    try:
        client.execute(cwd=str(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except CellTimeoutError:
        return "timeout", f"the notebook did not finish within {timeout:g} s (an endless loop?)"
    except DeadKernelError:
        return "died", ("the notebook's kernel died (it ran out of memory, or the notebook ended its own process); "
                        "exercises after that point could not be graded")
    except Exception as err:  # a kernel that cannot start, a broken connection
        return "error", f"the notebook could not be run: {type(err).__name__}: {err}"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "ok", ""


def grade_one(job):
    """The rows of one student's notebook: ``job`` holds student, notebook, source, submission (a path or None),
    timeout (s), memory (bytes, 0 for none), seed."""
    source = nbformat.read(job["source"], as_version=4)
    graded = graded_cells(source)

    def rows(status, message, per=None):
        out = []
        for g in graded:
            s, m = per.get(g["grade_id"], (status, message)) if per else (status, message)
            by = ("" if s in ("missing", "unreadable") else "kernel" if g["grade_id"] in watched
                  else "grader+kernel" if g["asserts"] else "grader")
            out.append({"student": job["student"], "notebook": job["notebook"], "exercise": g["grade_id"],
                        "points": g["points"] if s == "passed" else 0.0, "max_points": g["points"],
                        "status": s, "message": m, "judged_by": by})
        return out

    watched = {g["grade_id"] for g in graded if not g["judges"] or not all(judge_knows(e) for e, _ in g["judges"])}
    submission = job.get("submission")
    if not submission or not Path(submission).is_file():
        return rows("missing", f"{job['notebook']} was not handed in")
    try:
        nb = read_submission(submission)
    except Unreadable as err:
        return rows("unreadable", f"{job['notebook']} could not be read: {err}")

    from .student_edition import student_notebook

    with tempfile.TemporaryDirectory(prefix="adamedu-grade-", ignore_cleanup_errors=True) as tmp:
        tmp = Path(tmp)
        work, answers_dir = tmp / "work", tmp / "answers"
        shutil.copytree(Path(submission).parent, work, symlinks=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        answers_dir.mkdir()
        runnable = assemble(student_notebook(source), nb)
        seed = int(job.get("seed", 0))
        probes, canaries = {}, {}
        for g in graded:
            at = next(i for i, c in enumerate(runnable.cells) if nbgrader_meta(c).get("grade_id") == g["grade_id"])
            cell = runnable.cells[at]
            if g["grade_id"] in watched or g["asserts"]:  # its own asserts count: a canary shows whether errors
                nonce = secrets.token_hex(8)               # still get reported after it
                canary = nbformat.v4.new_code_cell(f"raise AssertionError('adamedu-grade canary {nonce}')")
                runnable.cells.insert(at + 1, canary)
                canaries[g["grade_id"]] = (cell, canary, nonce)
            if g["grade_id"] in watched:
                continue
            probes[g["grade_id"]] = []
            for exercise, function in reversed(g["judges"]):  # inserted at the same place: the first ends first
                out_path = answers_dir / f"{secrets.token_hex(8)}.json"
                if is_value(exercise):
                    cases, source_code = None, value_probe_source(exercise, out_path)
                else:
                    cases = make_cases(exercise, seed)
                    source_code = probe_source(function or exercise, cases, out_path)
                runnable.cells.insert(at + 1, nbformat.v4.new_code_cell(source_code))
                probes[g["grade_id"]].insert(0, (exercise, function or exercise, cases, out_path))
        outcome, why = execute(runnable, work, float(job["timeout"]), job.get("memory", 0), tmp / "jupyter")

        per = {}
        for g in graded:
            gid = g["grade_id"]
            if gid not in probes:
                per[gid] = judged_in_kernel(*canaries[gid], outcome, why)
                continue
            verdicts = [judge_probe(exercise, function, cases, out_path, outcome, why)
                        for exercise, function, cases, out_path in probes[gid]]
            failed = [v for v in verdicts if v[0] != "passed"]
            per[gid] = failed[0] if failed else ("passed", "\n".join(m for _, m in verdicts))
            if per[gid][0] == "passed" and gid in canaries:  # the judged function is right; the cell's own
                per[gid] = judged_in_kernel(*canaries[gid], outcome, why)  # asserts must pass as well
        return rows(None, None, per)


def judge_probe(exercise, function, cases, out_path, outcome, why):
    """``(status, message)`` of one judged call of a check cell, from its probe's file."""
    value = is_value(exercise)
    report, missing = read_values(out_path) if value else read_answers(out_path)
    if report is None:
        if missing != "absent":
            return "error", f"the grader's probe failed: {missing}"
        if outcome == "timeout":
            return "timeout", why
        if outcome in ("died", "error"):
            return "error", why
        return "error", "the grader's probe did not run (the notebook's code interfered with it)"
    if value:
        return judge_value(exercise, report)
    if report.get("absent"):
        return "failed", (f"no function named {function} is defined at this check (was it renamed, or its cell "
                          f"not run?); the exercise asks for {function}")
    if report.get("not_callable"):
        return "failed", f"{function} is a {report['not_callable']}, not a function"
    return judge(exercise, cases, report["answers"])


def judged_in_kernel(cell, canary, nonce, outcome, why):
    """The verdict of a check that has no trusted judge: whether its restored cell ran without an error.

    Weaker than a judged exercise (code earlier in the notebook can change what the cell's asserts call); the
    canary cell after it must fail visibly, else the notebook tampers with error reporting and no verdict is
    given.
    """
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return ("timeout", why) if outcome == "timeout" else ("error", why or "the check cell did not run")
    canary_errors = [o for o in canary.get("outputs", []) if o.get("output_type") == "error"]
    if not any(nonce in str(o.get("evalue", "")) for o in canary_errors):
        if canary.get("execution_count") is None and outcome != "ok":
            return ("timeout", why) if outcome == "timeout" else ("error", why)
        return "error", ("the notebook changes how errors are reported (an exception handler or hook swallowed a "
                         "test error), so this check cannot be graded automatically")
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "passed", "✓ the check ran without an error."
    name, value = str(errors[0].get("ename", "")), str(errors[0].get("evalue", ""))
    if name == "NotImplementedError" or "not written yet" in value:
        return "not written", value or "not written yet (it raises NotImplementedError)"
    return "failed", f"{name}: {value}" if name not in ("CheckFailed", "AssertionError") or not value else value


def serve():
    """Grade jobs one after another: a JSON job per line on stdin, a JSON line per job on stdout
    (``{"rows": [...]}``, or ``{"error": "..."}`` when grading the job failed; its traceback goes to stderr)."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever else writes to stdout (a library's warning) lands in stderr, never in the answers
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            answer = {"rows": grade_one(json.loads(line))}
        except Exception as err:  # one job's failure is that job's error rows, not the end of the worker
            traceback.print_exc()
            answer = {"error": f"{type(err).__name__}: {err}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
