"""A stub's NotImplementedError, reached from a later cell, shows as one message naming the unwritten exercise."""

import traceback

import pytest

from adamedu.course import not_written

CELL_DIR = "/tmp/ipykernel_1"  # where ipykernel keeps each cell's code


def frame(filename, lineno, name, line):
    return traceback.FrameSummary(filename, lineno, name, lookup_line=False, line=line)


RUN_CODE = frame("/site-packages/IPython/core/interactiveshell.py", 3577, "run_code", "exec(code_obj, ...)")


def test_a_stub_called_through_a_helper_names_the_stub_and_the_nearest_line_of_this_cell():
    frames = [RUN_CODE,
              frame(f"{CELL_DIR}/222.py", 12, "<module>", "path = adam_path(problem, 0.1)"),
              frame(f"{CELL_DIR}/222.py", 7, "adam_path", "w, m, v = adam_step(w, g, m, v, t, lr, b1, b2, eps)"),
              frame(f"{CELL_DIR}/111.py", 4, "adam_step", 'raise NotImplementedError("write your solution here")')]
    text = not_written.message(frames)
    assert text.startswith("adam_step is not written yet")
    assert "line 7 of this cell calls it:  w, m, v = adam_step(" in text
    assert "Write adam_step in its exercise cell above" in text


def test_the_stub_cell_itself_and_nbgraders_stub():
    frames = [RUN_CODE, frame(f"{CELL_DIR}/111.py", 3, "<module>", "raise NotImplementedError()")]
    assert not_written.message(frames).startswith("this exercise is not written yet")


@pytest.mark.parametrize("frames", [
    # raised inside a library: its own traceback is kept
    [RUN_CODE, frame(f"{CELL_DIR}/222.py", 2, "<module>", "x.to_sparse()"),
     frame("/site-packages/lib/core.py", 90, "to_sparse", "raise NotImplementedError('sparse float16')")],
    # raised by a computed error, not a stub's raise line
    [RUN_CODE, frame(f"{CELL_DIR}/222.py", 2, "<module>", "f()"),
     frame(f"{CELL_DIR}/111.py", 2, "f", "raise error")],
    # no cell in the traceback at all
    [frame("/site-packages/lib/core.py", 90, "g", "raise NotImplementedError")],
])
def test_other_errors_keep_their_traceback(frames):
    assert not_written.message(frames) is None


def test_install_in_a_shell_and_never_over_someone_elses_handler():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.set_custom_exc((), None)
        assert not_written.install(shell) and shell.custom_exceptions == (NotImplementedError,)
        shown = []
        shell._showtraceback = lambda etype, value, stb: shown.append((etype, str(value), stb))
        shell.run_cell("def adam_step(w):\n    raise NotImplementedError('write your solution here')")
        result = shell.run_cell("x = 1\nadam_step(x)")
        assert isinstance(result.error_in_exec, NotImplementedError)  # still an error, as before
        [(etype, value, stb)] = shown
        assert etype is NotImplementedError and value == "write your solution here"
        assert "adam_step is not written yet" in stb[0] and "line 2 of this cell calls it:  adam_step(x)" in stb[0]
        shown.clear()  # a library's NotImplementedError (the standard library's numbers): IPython's traceback
        shell.run_cell("import numbers\nnumbers.Complex.real.fget(1)")
        [(etype, value, stb)] = shown
        assert etype is NotImplementedError and "numbers.py" in "\n".join(stb) and len(stb) > 2
        shell.set_custom_exc((ValueError,), lambda *a, **k: None)
        assert not not_written.install(shell) and shell.custom_exceptions == (ValueError,)
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()
