"""``adamedu grade``: grade a whole class, one row per student, notebook and graded exercise.

::

    adamedu grade SUBMISSIONS --out OUT [--timeout SECONDS] [--jobs N] [--overwrite] [--source BOOK_DIR]

``SUBMISSIONS`` holds one folder per student (the folder's name is the student's id) with that student's
notebooks, named as in the student edition. The exercises and their points come from the source notebooks
(``--source``, the book by default): every code cell with nbgrader metadata ``grade: true`` and ``points``.
Each notebook runs in a fresh kernel of its own and is judged by :mod:`adamedu.course.grade_notebook`
(``--jobs`` notebooks at a time; one long-lived grading worker per slot); its module docstring describes why
a submission cannot forge its verdict, and what this is not (a sandbox). Writes ``OUT/grades.csv``,
``OUT/feedback/<student>.md`` and ``OUT/grading.json`` (the settings and the seed of the inputs, to grade
again with the same inputs: ``--seed``).
"""

import concurrent.futures
import csv
import json
import os
import queue
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from .grade_notebook import STATUSES, graded_cells

__all__ = ["grade_class", "GradeError", "COLUMNS"]

COLUMNS = ("student", "notebook", "exercise", "points", "max_points", "status", "message", "judged_by")
OURS = ("grades.csv", "grading.json", "feedback")  # what OUT holds after a run


class GradeError(ValueError):
    """An instructor's error: what was given, and what is needed instead."""


def assignment(source_dir):
    """``{notebook file name: [graded exercise, ...]}`` for every source notebook that has graded cells."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise GradeError(f"--source {source_dir}: no such folder (it should hold the source notebooks)")
    found = {}
    for path in sorted(source_dir.glob("*.ipynb")):
        graded = graded_cells(nbformat.read(path, as_version=4))
        if graded:
            found[path.name] = graded
    if not found:
        raise GradeError(f"--source {source_dir}: no notebook there has a graded cell (nbgrader metadata "
                         "'grade': true with 'points' on a check cell)")
    return found


def students(submissions):
    """The student folders of ``submissions``, sorted by name (hidden folders such as .ipynb_checkpoints skipped)."""
    submissions = Path(submissions)
    if not submissions.exists():
        raise GradeError(f"SUBMISSIONS {submissions}: no such folder")
    if not submissions.is_dir():
        raise GradeError(f"SUBMISSIONS {submissions} is a file; give the folder that holds one folder per student")
    found = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not found:
        raise GradeError(f"SUBMISSIONS {submissions} holds no student folder; it should hold one folder per "
                         "student, named by the student's id, with that student's notebooks")
    return found


def prepare_out(out, submissions, overwrite):
    out, submissions = Path(out).resolve(), Path(submissions).resolve()
    if out == submissions or submissions in out.parents:
        raise GradeError(f"--out {out} is inside SUBMISSIONS {submissions}; write the grades elsewhere")
    if out.exists() and not out.is_dir():
        raise GradeError(f"--out {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise GradeError(f"--out {out} is not empty; choose a new or empty folder, or pass --overwrite to "
                             f"replace the grades in it")
        strangers = [p.name for p in out.iterdir() if p.name not in OURS]
        if strangers:
            raise GradeError(f"--out {out} holds files that `adamedu grade` did not write ({', '.join(strangers[:5])}"
                             "); --overwrite only replaces grades.csv, grading.json and feedback/")
        for name in OURS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


def grade_class(submissions, out, source_dir, timeout=300.0, jobs=1, overwrite=False, seed=None,
                memory_mb=4096, progress=None):
    """Grade every student of ``submissions`` against the notebooks of ``source_dir``; returns the rows."""
    if timeout <= 0:
        raise GradeError(f"--timeout {timeout:g}: must be a positive number of seconds")
    if jobs < 1:
        raise GradeError(f"--jobs {jobs}: must be at least 1")
    exercises = assignment(source_dir)
    people = students(submissions)
    out = prepare_out(out, submissions, overwrite)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    work = [{"student": p.name, "notebook": name, "source": str(Path(source_dir).resolve() / name),
             "submission": str(p.resolve() / name) if (p / name).is_file() else None,
             "timeout": float(timeout), "memory": int(memory_mb) * 2**20, "seed": seed}
            for p in people for name in exercises]
    results = {}
    lock, done = threading.Lock(), [0]
    workers = queue.SimpleQueue()
    for _ in range(jobs):
        workers.put(_Worker())

    def run(job):
        worker = workers.get()
        try:
            rows = worker.grade(job)
        finally:
            workers.put(worker)
        with lock:
            done[0] += 1
            if progress:
                progress(done[0], len(work))
        return rows

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for job, rows in zip(work, pool.map(run, work), strict=True):
                results[(job["student"], job["notebook"])] = rows
    finally:
        while not workers.empty():
            workers.get().stop()
    rows = [row for job in work for row in results[(job["student"], job["notebook"])]]
    _write_csv(out / "grades.csv", rows)
    (out / "feedback").mkdir()
    for p in people:
        mine = [r for r in rows if r["student"] == p.name]
        (out / "feedback" / f"{p.name}.md").write_text(feedback(p.name, mine), encoding="utf-8")
    (out / "grading.json").write_text(json.dumps({"seed": seed, "timeout": timeout, "jobs": jobs,
                                                  "memory_mb": memory_mb, "source": str(Path(source_dir).resolve()),
                                                  "submissions": str(Path(submissions).resolve())}, indent=1))
    return rows


class _Worker:
    """A long-lived ``python -m adamedu.course.grade_notebook`` process that grades jobs one at a time.

    One per job slot, so its start (about a second: nbformat's schema libraries, numpy, adamedu) is paid once
    per slot rather than once per notebook. Student code never runs in it: each notebook still gets a fresh
    kernel process of its own. A worker that dies, hangs or answers nonsense costs that notebook (error rows)
    and is replaced for the next one.
    """

    command = (sys.executable, "-m", "adamedu.course.grade_notebook")
    grace = 240.0  # s past a notebook's own timeout (which its kernel enforces) before the worker counts as hung

    def __init__(self):
        self.env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])  # the adamedu this process runs, for worker and kernel
        self.env["PYTHONPATH"] = os.pathsep.join(
            [root] + [p for p in self.env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.env.setdefault("OPENBLAS_NUM_THREADS", "1")  # one job slot, one core: BLAS threads only contend
        self.env.setdefault("OMP_NUM_THREADS", "1")
        self.env.setdefault("MPLBACKEND", "Agg")  # figures are never looked at while grading: do not render them
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        self.proc = None

    def _start(self):
        self.log = tempfile.TemporaryFile()  # stderr to a file: a pipe nobody reads would fill and block it
        self.proc = subprocess.Popen(list(self.command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=self.env)
        self.pending = b""

    def stop(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()  # its signal to end
            except OSError:
                pass
            self._end(wait=30)

    def _end(self, wait=0.0):
        """Let the worker end within ``wait`` seconds, else kill it; returns why it ended (see _last_error)."""
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        why = self._last_error()
        self.log.close()
        self.proc = None
        return why

    def _last_error(self):
        """Why the worker ended: the signal that killed it, or its last line on stderr."""
        self.log.seek(0)
        lines = self.log.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        code = self.proc.returncode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            return f"the grader's worker was killed by {name} (by the notebook's code?)"
        return lines[-1] if lines else f"the grader's worker ended with exit status {code}"

    def _read_line(self, deadline):
        """The worker's next line; ``EOFError`` when it ends, None when the deadline passes first."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line

    def grade(self, job):
        """The rows of one job; a worker that fails or hangs becomes error rows, never a crash."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        ended = False
        try:
            self.proc.stdin.write(json.dumps(job).encode() + b"\n")
            self.proc.stdin.flush()
            line = self._read_line(time.monotonic() + job["timeout"] + self.grace)
        except (OSError, EOFError):  # it ended (its pipe closes a moment before it can be waited for)
            line, ended = None, True
        if line is not None:
            try:
                answer = json.loads(line)
                if "rows" in answer:
                    return answer["rows"]
                why = answer["error"]
            except (ValueError, KeyError, TypeError) as err:
                why = f"the grader's worker answered nonsense ({err})"
                self._end()
        elif not ended:
            why = "the grader's worker did not finish"
            self._end()
        else:
            why = self._end(wait=30)  # its output closed: it is ending (else it is killed)
        source = nbformat.read(job["source"], as_version=4)
        return [{"student": job["student"], "notebook": job["notebook"], "exercise": g["grade_id"], "points": 0.0,
                 "max_points": g["points"], "status": "error", "message": f"grading failed: {why}", "judged_by": ""}
                for g in graded_cells(source)]


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "points": _num(row["points"]), "max_points": _num(row["max_points"])})


def _num(x):
    return f"{x:g}"


def feedback(student, rows):
    """A student's report in Markdown: the total, then per notebook and exercise the points and the message."""
    got, total = sum(r["points"] for r in rows), sum(r["max_points"] for r in rows)
    lines = [f"# Feedback for {student}", "", f"**Total: {_num(got)} / {_num(total)} points.**", ""]
    for notebook in dict.fromkeys(r["notebook"] for r in rows):
        mine = [r for r in rows if r["notebook"] == notebook]
        nb_got, nb_total = sum(r["points"] for r in mine), sum(r["max_points"] for r in mine)
        lines += [f"## {notebook}: {_num(nb_got)} / {_num(nb_total)}", ""]
        for r in mine:
            lines += [f"### {r['exercise']}: {_num(r['points'])} / {_num(r['max_points'])} ({r['status']})", ""]
            if r["message"]:
                lines += ["```text", r["message"].replace("```", "'''"), "```", ""]
    return "\n".join(lines)


def summary(rows):
    """The class's score distribution, as lines for the terminal."""
    per_student = {}
    for r in rows:
        got, total = per_student.get(r["student"], (0.0, 0.0))
        per_student[r["student"]] = (got + r["points"], total + r["max_points"])
    scores = [100 * got / total if total else 0.0 for got, total in per_student.values()]
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    lines = [f"{len(per_student)} students, {len(rows)} graded exercises: "
             + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
    if scores:
        lines.append(f"score (% of the points): mean {statistics.mean(scores):.1f}, median "
                     f"{statistics.median(scores):.1f}, min {min(scores):.1f}, max {max(scores):.1f}")
        width = max(1, max(sum(lo <= s < lo + 10 or lo == 90 and s == 100 for s in scores) for lo in range(0, 100, 10)))
        for lo in range(90, -1, -10):
            n = sum(lo <= s < lo + 10 or (lo == 90 and s == 100) for s in scores)
            bar = "#" * round(30 * n / width)
            lines.append(f"  {lo:3d}-{lo + 10 if lo < 90 else 100:<3d}% {bar:<30} {n}")
    return lines


class ProgressBar:
    """``[#####-----] 12/40 notebooks, 1m02s`` on stderr; one line per tenth when stderr is not a terminal."""

    def __init__(self, stream=None):
        self.stream, self.start = stream or sys.stderr, time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done, total):
        elapsed = time.monotonic() - self.start
        bar = "#" * round(30 * done / total)
        text = f"[{bar:<30}] {done}/{total} notebooks, {int(elapsed // 60)}m{int(elapsed % 60):02d}s"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done == total else ""))
        elif done == total or done * 10 // total != (done - 1) * 10 // total:
            self.stream.write(text + "\n")
        self.stream.flush()
