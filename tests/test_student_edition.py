"""The student edition: solutions out, stubs in, checks kept; it runs until the first check, which fails helpfully."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from adamedu.course import student_edition as se

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(p for p in BOOK.glob("*.ipynb") if se.has_exercises(nbformat.read(p, as_version=4)))


def public_lines(nb):
    """The lines a student may see: code outside the solution markers (cells not tagged solution), prose
    outside solution directives. A solution may share such a line (a loop header, say) without leaking."""
    lines = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" not in cell.metadata.get("tags", []):
            inside = False
            for line in cell.source.splitlines():
                inside = (inside or line.strip() == se.BEGIN) and line.strip() != se.END
                if not inside and line.strip() != se.END:
                    lines.add(line.strip())
        elif cell.cell_type == "markdown":
            fence = None
            for line in cell.source.splitlines():
                if fence is None and line.lstrip().startswith((":::{solution", "```{solution")):
                    fence = line.lstrip()[:3]
                elif fence is not None and line.strip() == fence:
                    fence = None
                elif fence is None:
                    lines.add(line.strip())
    return "\n".join(lines)


def solution_lines(nb):
    """Every substantial line of every solution in the source notebook."""
    lines = []
    for cell in nb.cells:
        text = cell.source
        if cell.cell_type == "code" and se.BEGIN in text:
            inside = False
            for line in text.splitlines():
                if line.strip() == se.BEGIN:
                    inside = True
                elif line.strip() == se.END:
                    inside = False
                elif inside:
                    lines.append(line.strip())
        if cell.cell_type == "markdown" and "{solution}" in text:
            kept = se._drop_directives(text, "solution").splitlines()
            lines += [line.strip() for line in text.splitlines() if line not in kept]
    return [line for line in lines if len(line) > 12 and not line.startswith((":::", ":class:", "```"))]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "edition"
    # through the console script, as an instructor runs it
    script = Path(sys.executable).parent / "adamedu"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "adamedu.cli"]
    result = subprocess.run([*cmd, "student-edition", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return out


def test_every_chapter_has_at_least_four_exercises():
    chapters = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
    assert chapters, "no chapters"
    for path in chapters:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        assert text.count("{exercise}") >= 4, f"{path.name} has {text.count('{exercise}')} exercises, needs 4"


def test_the_edition_holds_every_chapter_with_exercises(edition):
    assert CHAPTERS, "no chapter holds exercises yet"
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in CHAPTERS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_survives_and_stubs_and_checks_remain(edition, chapter):
    source = nbformat.read(chapter, as_version=4)
    student = nbformat.read(edition / chapter.name, as_version=4)
    nbformat.validate(student)
    text = "\n".join(c.source for c in student.cells)
    public = public_lines(source)
    leaked = [line for line in solution_lines(source) if line in text and line not in public]
    assert not leaked, f"solution lines in the student edition of {chapter.name}: {leaked[:5]}"
    assert se.BEGIN not in text and "{solution}" not in text and "{solution-start}" not in text
    stubs = text.count("raise NotImplementedError")
    assert stubs == sum(c.source.count(se.BEGIN) for c in source.cells if c.cell_type == "code")
    checks = [c.source for c in source.cells if "check" in c.metadata.get("tags", [])]
    assert all(c in text for c in checks), "a check cell was lost"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in student.cells
               if c.cell_type == "code")


TF_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers", "cuda_dnn",
            "TF_CPP_MIN_LOG_LEVEL")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_check_of_the_untouched_edition_says_not_written_yet_in_one_paragraph(edition, chapter):
    """The whole student notebook runs (errors allowed); every check cell ends with the checker's message:
    a CheckFailed naming the missing work, no KeyError/NameError, no traceback through grading.py. Cells
    that are neither exercises nor checks run cleanly, and no TensorFlow start-up line reaches an output."""
    import nbclient

    nb = nbformat.read(edition / chapter.name, as_version=4)
    checks = [i for i, c in enumerate(nb.cells) if "check" in c.metadata.get("tags", [])]
    assert checks, f"{chapter.name} has no check cell"
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(edition)}})
    client.execute()
    problems = []
    for i in checks:
        errors = [o for o in nb.cells[i].get("outputs", []) if o.get("output_type") == "error"]
        if len(errors) != 1:
            problems.append(f"cell {i}: {len(errors)} errors, expected the checker's one")
            continue
        error = errors[0]
        trace = "\n".join(error.get("traceback", []))
        if error["ename"] != "CheckFailed" or "not written yet" not in error["evalue"]:
            problems.append(f"cell {i}: {error['ename']}: {error['evalue'][:200]}")
        elif "grading.py" in trace or "Traceback" in trace or len(error["traceback"]) > len(
                error["evalue"].splitlines()) + 1:
            problems.append(f"cell {i}: the message comes with a traceback:\n{trace[:500]}")
    stubs_called = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for error in (o for o in cell.get("outputs", []) if o.get("output_type") == "error"):
            # a stub reached from any cell: its short message, naming the exercise, never the frames between
            trace = "\n".join(error.get("traceback", []))
            if error["ename"] == "NotImplementedError":
                stubs_called += "is not written yet (it still raises" in trace
                if "Traceback" in trace or "File " in trace or len(error["traceback"]) > 2 or (
                        "is not written yet" not in trace):
                    problems.append(f"cell {i}: a stub's error with a traceback:\n{trace[:500]}")
        tags = cell.metadata.get("tags", [])
        if "check" not in tags and "exercise" not in tags and any(
                o.get("output_type") == "error" for o in cell.get("outputs", [])):
            problems.append(f"cell {i} (neither exercise nor check) failed: {cell.source[:80]!r}")
        streams = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        noise = [n for n in TF_NOISE if n in streams]
        if noise:
            problems.append(f"cell {i}: TensorFlow's log in the output: {noise}")
    assert not problems, f"{chapter.name}:\n" + "\n".join(problems)
    if chapter.stem in ("02_momentum", "04_adam", "07_variants", "08_keras"):  # experiments that call a stub
        assert stubs_called, f"{chapter.name}: no experiment cell ran into a stub (the check above is vacuous)"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_nbgrader_metadata_is_kept_and_well_formed(edition, chapter):
    """Solution cells and autograded check cells carry nbgrader's metadata in the source and in the edition."""
    source = nbformat.read(chapter, as_version=4)
    student = nbformat.read(edition / chapter.name, as_version=4)
    checks = [c.metadata["nbgrader"] for c in source.cells if "check" in c.metadata.get("tags", [])]
    solutions = [c.metadata.get("nbgrader") for c in source.cells if c.cell_type == "code" and se.BEGIN in c.source]
    # every check cell is locked; the graded ones carry points (a demonstration that runs the student's function
    # after a graded check, e.g. chapter 2's translation of buffer_step, is a locked read-only cell)
    graded = [g for g in checks if g["grade"]]
    assert graded and all(g["locked"] and not g["solution"] for g in checks)
    assert all(g["points"] > 0 for g in graded) and all("points" not in g for g in checks if not g["grade"])
    assert all(s and s["solution"] and not s["grade"] and not s["locked"] for s in solutions)
    kept = [c.metadata.get("nbgrader") for c in student.cells if c.cell_type == "code" and "nbgrader" in c.metadata]
    assert kept == [c.metadata["nbgrader"] for c in source.cells if c.cell_type == "code" and "nbgrader" in c.metadata
                    and not ("solution" in c.metadata.get("tags", []) and se.BEGIN not in c.source)]


def test_grade_ids_are_unique_across_the_book_and_nbgrader_accepts_the_metadata():
    ids = [c.metadata["nbgrader"]["grade_id"] for p in sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
           for c in nbformat.read(p, as_version=4).cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.match(r"ch\d\d-", i) for i in ids)
    nbgraderformat = pytest.importorskip("nbgrader.nbgraderformat")
    for path in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        nbgraderformat.MetadataValidator().validate_nb(nbformat.read(path, as_version=nbformat.NO_CONVERT))


def test_the_tool_never_writes_into_the_source_tree_and_refuses_a_full_directory(tmp_path):
    with pytest.raises(ValueError, match="inside the source tree"):
        se.make_student_edition(ROOT / "student")
    with pytest.raises(ValueError, match="inside the source tree"):
        se.make_student_edition(BOOK)
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("an instructor's file")
    with pytest.raises(FileExistsError, match="not empty"):
        se.make_student_edition(full)
    assert (full / "keep.txt").read_text() == "an instructor's file"
    written = se.make_student_edition(full, overwrite=True)
    assert written and not (full / "keep.txt").exists()


def test_a_missing_book_folder_is_named(tmp_path):
    """A non-editable install has no book/ next to the package: say so, not 'no notebook holds exercises'."""
    with pytest.raises(ValueError, match=r"book .*nowhere: no such folder .*--book"):
        se.make_student_edition(tmp_path / "out", book=tmp_path / "nowhere")
    assert not (tmp_path / "out").exists()


def test_the_command_line_explains_a_refusal(tmp_path):
    (tmp_path / "x").write_text("")
    result = subprocess.run([sys.executable, "-m", "adamedu.cli", "student-edition", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not empty" in result.stderr and "--overwrite" in result.stderr


def test_stubs_keep_the_indentation_and_the_rest_of_the_cell():
    source = "def f(w):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return w\n    ### END SOLUTION\n\nprint(1)"
    stubbed = se._stub_solutions(source)
    assert stubbed.splitlines()[:2] == ["def f(w):", "    '''doc'''"]
    assert "    raise NotImplementedError(" in stubbed and "return w" not in stubbed and stubbed.endswith("print(1)")
    compile(stubbed, "<stub>", "exec")
    with pytest.raises(ValueError, match="without"):
        se._stub_solutions("### BEGIN SOLUTION\nx = 1")


def test_solution_directives_of_both_fences_are_removed_and_the_rest_kept():
    md = ("Before.\n\n:::{solution} ex-a\n:class: dropdown\n\nSecret answer.\n:::\n\nMiddle.\n\n"
          "```{solution} ex-b\nAnother secret.\n```\n\nAfter.\n")
    kept = se._drop_directives(md, "solution")
    assert "Secret" not in kept and "Another secret" not in kept
    assert all(word in kept for word in ("Before.", "Middle.", "After."))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_nbgrader_release_leaks_no_written_solution(chapter):
    """nbgrader's own ClearSolutions (what generate_assignment runs) on the source: no {solution} directive is
    left, because every written solution sits in a marked cell of its own (mark_written_solutions)."""
    clear = pytest.importorskip("nbgrader.preprocessors").ClearSolutions
    source = nbformat.read(chapter, as_version=4)
    unmarked = [c for c in source.cells if c.cell_type == "markdown" and se._has_directive(c.source, "solution")
                and not c.metadata.get("nbgrader", {}).get("solution")]
    assert not unmarked, (f"{len(unmarked)} written solutions of {chapter.name} are not marked for nbgrader: run "
                          f"python -m adamedu.course.student_edition --mark-written book/{chapter.name}")
    released, _ = clear(enforce_metadata=True).preprocess(source, {"language": "python"})
    text = "\n".join(c.source for c in released.cells)
    assert "{solution}" not in text and "{solution-start}" not in text
    secrets = [line for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "markdown"
               and c.metadata.get("nbgrader", {}).get("solution")
               for line in c.source.splitlines()[3:] if len(line) > 40]
    assert secrets and not any(line in text for line in secrets)


def test_marking_written_solutions_splits_and_is_idempotent():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Before.\n\n:::{solution} ex-a\n:class: dropdown\n\nSecret.\n:::\n\nAfter.")])
    assert se.mark_written_solutions(nb, "ch00") == 1
    assert [c.source for c in nb.cells] == ["Before.", ":::{solution} ex-a\n:class: dropdown\n\nSecret.\n:::", "After."]
    assert nb.cells[1].metadata["nbgrader"]["grade_id"] == "ch00-ex-a-answer"
    before = nbformat.writes(nb)
    assert se.mark_written_solutions(nb, "ch00") == 1 and nbformat.writes(nb) == before
    assert [c.source.strip() for c in se.student_notebook(nb).cells] == ["Before.", se.ANSWER_STUB, "After."]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_nbgrader_release_leaks_no_hidden_cell(chapter):
    """nbgrader's own ClearHiddenTests (what generate_assignment runs) on the source: of a hidden code cell (tagged
    solution, removed from the student edition) only its comment is left, because mark_hidden_solutions put its
    code between nbgrader's hidden-test delimiters; nbgrader's metadata validator accepts the marked cells."""
    preprocessors = pytest.importorskip("nbgrader.preprocessors")
    source = nbformat.read(chapter, as_version=4)
    hidden = [c for c in source.cells if se.is_hidden(c)]
    unmarked = [c for c in hidden if se.BEGIN_HIDDEN not in c.source]
    assert hidden and not unmarked, (f"{len(unmarked)} hidden cells of {chapter.name} are not marked for nbgrader: "
                                     f"run python -m adamedu.course.student_edition --mark-hidden book/{chapter.name}")
    assert all(c.metadata["nbgrader"]["points"] == 0 and c.metadata["nbgrader"]["grade"] for c in hidden)
    released, _ = preprocessors.ClearHiddenTests().preprocess(source, {})
    released, _ = preprocessors.ClearSolutions(enforce_metadata=True).preprocess(released, {"language": "python"})
    left = {c.source for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-hidden")}
    assert left == {se.HIDDEN_NOTE}
    original = nbformat.read(chapter, as_version=4).cells
    public = {line.strip() for c in original if not se.is_hidden(c) for line in c.source.splitlines()}
    code = [line.strip() for c in original if se.is_hidden(c) for line in c.source.splitlines()
            if len(line.strip()) > 20 and not line.startswith("#")]
    text = {line.strip() for c in released.cells for line in c.source.splitlines()}
    leaked = [line for line in code if line in text and line not in public]
    assert code and not leaked, leaked[:5]


def test_marking_hidden_cells_is_idempotent_and_the_edition_drops_them():
    glue = nbformat.v4.new_code_cell("secret = 6 * 7\nassert secret == 42",
                                     metadata={"tags": ["remove-cell", "solution"]})
    exercise = nbformat.v4.new_code_cell(f"def f():\n    {se.BEGIN}\n    return 1\n    {se.END}",
                                         metadata={"tags": ["solution"]})  # a solution region: stubbed, not hidden
    nb = nbformat.v4.new_notebook(cells=[exercise, glue])
    glue.id = "abc"
    assert se.mark_hidden_solutions(nb, "ch00") == 1
    assert glue.source == f"{se.HIDDEN_NOTE}\n{se.BEGIN_HIDDEN}\nsecret = 6 * 7\nassert secret == 42\n{se.END_HIDDEN}"
    assert glue.metadata["nbgrader"]["grade_id"] == "ch00-abc-hidden" and "nbgrader" not in exercise.metadata
    before = nbformat.writes(nb)
    assert se.mark_hidden_solutions(nb, "ch00") == 1 and nbformat.writes(nb) == before
    assert [c.source for c in se.student_notebook(nb).cells] == [se._stub_solutions(exercise.source)]
    exec(compile(glue.source, "<hidden>", "exec"), {})  # the delimiters are comments: the cell still runs
