"""Write the student edition of the book: the chapters with exercises, their solutions taken out.

Solutions are marked with nbgrader's convention, which many instructors already know:

- in a code cell, the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are the solution;
  the student edition replaces them by a stub that raises ``NotImplementedError`` (indented like them);
- in a markdown cell, a sphinx-exercise ``{solution}`` directive is the written solution; the student
  edition removes it, and so every cell from ``{solution-start}`` to ``{solution-end}``. For nbgrader, whose
  ``generate_assignment`` knows nothing of directives, each written solution sits alone in a markdown cell
  marked as nbgrader's "manually graded answer" (``solution`` and ``grade`` true, 0 points; see
  :func:`mark_written_solutions`): nbgrader's release replaces it by "YOUR ANSWER HERE", and so does the
  student edition;
- a cell tagged ``solution`` that holds no code marker (the book's hidden glue and asserts on its own
  solutions) is removed whole. For nbgrader, :func:`mark_hidden_solutions` wraps its code in nbgrader's
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` and marks it as an autograded test cell worth 0 points:
  nbgrader's release removes the region (ClearHiddenTests), leaving a locked cell with one comment, and its
  autograde puts the code back and runs it, for no points.

Checks (``adamedu.grading.check(...)``) are kept, and outputs are cleared, so the first check a student
meets fails with the checker's message until the exercise is done. The source tree is never written to.
"""

import re
import shutil
from pathlib import Path

import nbformat

__all__ = ["make_student_edition", "student_notebook", "has_exercises", "mark_written_solutions",
           "mark_hidden_solutions", "is_hidden", "BOOK"]

BOOK = Path(__file__).resolve().parents[2] / "book"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError(\"write your solution here\")"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"  # nbgrader's ClearHiddenTests
HIDDEN_NOTE = "# the book's own glue and checks of its solutions: not part of the exercise"
ANSWER_STUB = "YOUR ANSWER HERE"  # nbgrader's ClearSolutions.text_stub: what both releases put in a written answer
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}")


def has_exercises(nb):
    """Whether the notebook holds at least one exercise (a sphinx-exercise directive or a tagged cell)."""
    return any("{exercise" in cell.source or "exercise" in cell.metadata.get("tags", []) for cell in nb.cells)


def student_notebook(nb):
    """A copy of notebook ``nb`` with every solution taken out and every output cleared."""
    cells, gated = [], False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            if "{solution-start}" in cell.source:
                gated = True
            if gated:
                gated = "{solution-end}" not in cell.source
                continue
            source = _drop_directives(cell.source, "solution")
            if not source.strip() and cell.metadata.get("nbgrader", {}).get("solution"):
                source = ANSWER_STUB  # a written answer's cell, as nbgrader's release leaves it
            if not source.strip():
                continue
            cell = nbformat.v4.new_markdown_cell(source, metadata=cell.metadata)
        elif gated:
            continue
        elif cell.cell_type == "code":
            if is_hidden(cell):
                continue
            if BEGIN in cell.source:
                source = _stub_solutions(cell.source)
            else:
                source = cell.source
            metadata = {k: v for k, v in cell.metadata.items() if k not in ("execution", "collapsed", "scrolled")}
            metadata["tags"] = [t for t in tags if t not in ("hide-input", "hide-cell", "remove-input")]
            if not metadata["tags"]:
                del metadata["tags"]
            cell = nbformat.v4.new_code_cell(source, metadata=metadata)
        cells.append(cell)
    out = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    for i, cell in enumerate(out.cells):
        cell.id = f"cell-{i}"
    return out


def _stub_solutions(source):
    """Replace each BEGIN/END SOLUTION region by the stub, at the region's indentation."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub_line for stub_line in STUB.splitlines())
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r} in a cell starting {lines[0]!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r} in a cell starting {lines[0]!r}")
    return "\n".join(out)


def _drop_directives(source, name):
    """Remove every ``{name}`` directive block (backtick or colon fenced) from markdown ``source``."""
    lines, out, closing = source.splitlines(), [], None
    for line in lines:
        if closing is None:
            match = _FENCE.match(line)
            if match and match["name"] == name:
                closing = match["fence"]
                continue
            out.append(line)
        elif line.strip() == closing:
            closing = None
    return "\n".join(out).strip("\n") + ("\n" if out else "")


def make_student_edition(out_dir, book=BOOK, overwrite=False):
    """Write the student edition of every notebook under ``book`` that holds exercises into ``out_dir``.

    Returns the written paths. Refuses an ``out_dir`` inside the source tree, and a non-empty one
    unless ``overwrite`` is true.
    """
    out_dir, book = Path(out_dir).resolve(), Path(book).resolve()
    if not book.is_dir():  # e.g. a non-editable install: the chapters are not next to the package
        raise ValueError(f"book {book}: no such folder (it should hold the chapter notebooks; give it with --book)")
    source_root = book.parent
    if out_dir == source_root or source_root in out_dir.parents and not _ignored(out_dir, source_root):
        raise ValueError(f"out_dir {out_dir} is inside the source tree {source_root}; the student edition is "
                         "written elsewhere (or under _build/), so that it can never overwrite the solutions")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a directory")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f"out_dir {out_dir} is not empty; choose an empty or new directory, or pass "
                                  "--overwrite to replace its contents")
        shutil.rmtree(out_dir)
    notebooks = sorted(p for p in book.glob("*.ipynb"))
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        if not has_exercises(nb):
            continue
        student = student_notebook(nb)
        nbformat.validate(student)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    if not written:
        raise ValueError(f"no notebook under {book} holds exercises")
    return written


def mark_written_solutions(nb, prefix):
    """Make the ``{solution}`` directives of notebook ``nb`` safe for nbgrader's ``generate_assignment``: each
    goes into a markdown cell of its own (text before or after it is split off into cells of its own), marked as
    a manually graded answer worth 0 points, ``grade_id`` ``f"{prefix}-{label}-answer"``. Changes ``nb`` in
    place and returns how many cells it marked; marking a marked notebook changes nothing."""
    cells, marked = [], 0
    for cell in nb.cells:
        if cell.cell_type != "markdown" or not _has_directive(cell.source, "solution"):
            cells.append(cell)
            continue
        for i, (part, is_solution) in enumerate(_split_directives(cell.source, "solution")):
            new = cell if i == 0 else nbformat.v4.new_markdown_cell(part)
            new.source = part
            if i > 0:
                new.id = f"{cell.get('id', 'cell')}-{i}"[:64]
            if is_solution:
                label = (part.splitlines()[0].split("}", 1)[1].strip() or f"solution-{marked}")
                new.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 0,
                                            "grade_id": f"{prefix}-{label}-answer", "schema_version": 3}
                marked += 1
            else:
                new.metadata.pop("nbgrader", None)
            cells.append(new)
    nb.cells = cells
    return marked


def is_hidden(cell):
    """A code cell that neither edition hands out: tagged ``solution``, without a solution region to stub."""
    return (cell.get("cell_type") == "code" and "solution" in cell.get("metadata", {}).get("tags", [])
            and BEGIN not in cell.get("source", ""))


def mark_hidden_solutions(nb, prefix):
    """Make the hidden code cells of notebook ``nb`` (:func:`is_hidden`) safe for nbgrader's
    ``generate_assignment``: each one's code goes between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
    under a one-line comment, and the cell is marked as an autograded test cell worth 0 points, ``grade_id``
    ``f"{prefix}-{cell id}-hidden"``. nbgrader's release then keeps only the comment (its autograde runs the code
    again, for no points); ``adamedu grade`` grades nothing in it and the student edition leaves it out.
    Changes ``nb`` in place and returns how many cells are marked; marking a marked notebook changes nothing."""
    marked = 0
    for cell in nb.cells:
        if not is_hidden(cell):
            continue
        if BEGIN_HIDDEN not in cell.source:
            cell.source = f"{HIDDEN_NOTE}\n{BEGIN_HIDDEN}\n{cell.source.strip(chr(10))}\n{END_HIDDEN}"
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 0,
                                     "grade_id": cell.metadata.get("nbgrader", {}).get("grade_id")
                                     or f"{prefix}-{cell.get('id') or marked}-hidden", "schema_version": 3}
        marked += 1
    return marked


def _has_directive(source, name):
    return any((m := _FENCE.match(line)) and m["name"] == name for line in source.splitlines())


def _split_directives(source, name):
    """``[(text, is_directive), ...]``: markdown ``source`` cut into the ``{name}`` blocks and the rest."""
    parts, current, closing = [], [], None
    for line in source.splitlines():
        match = _FENCE.match(line) if closing is None else None
        if match and match["name"] == name:
            if "\n".join(current).strip():
                parts.append(("\n".join(current).strip("\n"), False))
            current, closing = [line], match["fence"]
        elif closing is not None:
            current.append(line)
            if line.strip() == closing:
                parts.append(("\n".join(current), True))
                current, closing = [], None
        else:
            current.append(line)
    if "\n".join(current).strip():
        parts.append(("\n".join(current).strip("\n"), closing is not None))
    return parts


def _ignored(out_dir, source_root):
    """Build output under the source tree (``_build``) is not source."""
    return "_build" in out_dir.relative_to(source_root).parts


if __name__ == "__main__":  # python -m adamedu.course.student_edition --mark-written book/07_variants.ipynb ...
    import sys

    MARKS = {"--mark-written": (mark_written_solutions, "written solutions"),
             "--mark-hidden": (mark_hidden_solutions, "hidden code cells")}
    if len(sys.argv) < 3 or sys.argv[1] not in MARKS:
        sys.exit("usage: python -m adamedu.course.student_edition --mark-written|--mark-hidden NOTEBOOK...")
    mark, what = MARKS[sys.argv[1]]
    for name in sys.argv[2:]:
        book_nb = nbformat.read(name, as_version=4)
        count = mark(book_nb, "ch" + Path(name).name[:2])
        nbformat.write(book_nb, name)
        print(f"{name}: {count} {what} marked for nbgrader")
