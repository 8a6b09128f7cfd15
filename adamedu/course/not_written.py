"""Show an unwritten exercise as one short message, not a traceback, wherever a notebook cell runs into it.

In the student edition every exercise is a stub that raises ``NotImplementedError`` (``raise
NotImplementedError("write your solution here")``, or nbgrader's ``raise NotImplementedError()``). The check
cell right after it says "not written yet" (see :mod:`adamedu.course.grading`), but the experiment cells
further down call the stub too, and IPython shows each of those calls as 15-30 lines of traceback through
the student's own code. With :func:`install` (called when ``adamedu.grading`` is imported in IPython), such
an error shows as::

    NotImplementedError: momentum_step is not written yet (it still raises NotImplementedError), and line 3 of
    this cell calls it:  w, m = momentum_step(w, g, m, lr, beta)
    Write momentum_step in its exercise cell above and run that cell, then this one.

The error is still an error (the cell fails, ``ename`` and ``evalue`` are unchanged, so graders that read them
see the same thing). Only an error raised by a ``raise NotImplementedError`` line in the notebook's own
cells is shortened; one raised inside a library keeps its full traceback.
"""

import os
import sys
import traceback

__all__ = ["install", "message"]


def message(frames):
    """The short text for a traceback's frames (``traceback.extract_tb``), or None when it is not a stub's."""
    cells = [f for f in frames if f.name == "<module>"]
    if not cells:
        return None
    cell, raiser = cells[0], frames[-1]
    # a stub is a `raise NotImplementedError` line in a notebook cell: its code lives beside the running cell's
    # (ipykernel keeps every cell's code in one folder; plain IPython names them "<ipython-input-...>")
    if not (raiser.line or "").strip().startswith("raise NotImplementedError"):
        return None
    if os.path.dirname(raiser.filename) != os.path.dirname(cell.filename):
        return None
    if raiser.name == "<module>":  # the exercise cell itself
        return "this exercise is not written yet: replace the `raise NotImplementedError` line with your code."
    call = [f for f in frames if f.filename == cell.filename][-1]  # the line of this cell nearest the stub
    line = f":  {call.line.strip()}" if call.line else ""
    return (f"{raiser.name} is not written yet (it still raises NotImplementedError), and line {call.lineno} of "
            f"this cell calls it{line}\nWrite {raiser.name} in its exercise cell above and run that cell, then "
            "this one.")


def _show(shell, etype, value, tb, tb_offset=None):
    text = message(traceback.extract_tb(tb))
    if text is None:  # not a stub: IPython's usual traceback
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    lines = text.splitlines()
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {lines[0]}", *lines[1:]]
    shell._showtraceback(etype, value, stb)
    return stb


def install(shell=None):
    """Shorten stubs' errors in ``shell`` (the running IPython, if any). Leaves a handler someone else set."""
    if shell is None:
        ipython = sys.modules.get("IPython")  # not imported: not running in IPython
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or shell.custom_exceptions:
        return False
    shell.set_custom_exc((NotImplementedError,), _show)
    return True
