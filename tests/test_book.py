"""Checks of the book's sources that need no build: the table of contents, stored notebooks, citations,
and the rule that chapters show the package's update rules instead of re-typing them.

Each check is a function of the files it reads, so that the tests below run it both on the real book
and on a small made-up book that breaks the rule (which the check must catch).
"""

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
PAGE_SUFFIXES = (".md", ".ipynb", ".rst")
EXERCISE_TAG = re.compile(r"exercise|solution", re.IGNORECASE)


# -- the table of contents ---------------------------------------------------------------------------------

def toc_entries(toc):
    """Every document the table of contents names (``root`` and each ``file``), as written there."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def missing_toc_files(root):
    """Entries of ``root/_toc.yml`` with no file behind them."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    missing = []
    for entry in toc_entries(toc):
        path = root / entry
        candidates = [path] if path.suffix in PAGE_SUFFIXES else [path.with_name(path.name + s) for s in PAGE_SUFFIXES]
        if not any(c.is_file() for c in candidates):
            missing.append(entry)
    return missing


def book_notebooks(book):
    """Every notebook under ``book``, leaving out build output and Jupyter's checkpoints."""
    skip = {"_build", ".ipynb_checkpoints"}
    return sorted(p for p in book.rglob("*.ipynb") if not skip & set(p.relative_to(book).parts))


def notebooks_missing_from_toc(root):
    """Notebooks under ``root/book`` that the table of contents does not list (they would not be built)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    listed = {str(Path(e).with_suffix("")) if Path(e).suffix in PAGE_SUFFIXES else e for e in toc_entries(toc)}
    return [str(nb.relative_to(root)) for nb in book_notebooks(root / "book")
            if str(nb.relative_to(root).with_suffix("")) not in listed]


def test_every_toc_entry_has_a_file():
    assert missing_toc_files(ROOT) == []


def test_every_notebook_is_in_the_toc():
    assert notebooks_missing_from_toc(ROOT) == [], "add these notebooks to _toc.yml"


def test_toc_checks_catch_a_broken_toc(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "book" / "01_listed.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "book" / "02_forgotten.ipynb")
    (tmp_path / "book" / ".ipynb_checkpoints").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "book" / ".ipynb_checkpoints" / "x-checkpoint.ipynb")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: Part\n    chapters:\n      - file: book/01_listed\n      - file: book/03_not_written\n"
    )
    assert missing_toc_files(tmp_path) == ["book/03_not_written"]
    assert notebooks_missing_from_toc(tmp_path) == ["book/02_forgotten.ipynb"]


# -- notebooks are stored clean ----------------------------------------------------------------------------

def stored_outputs(path):
    """Code cells of the notebook at ``path`` that carry outputs or an execution count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [f"cell {i}" for i, cell in enumerate(nb["cells"])
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]


@pytest.mark.parametrize("path", book_notebooks(BOOK), ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    assert stored_outputs(path) == [], (
        f"{path.name} is stored with outputs; clear them (Jupyter: Edit > Clear Outputs of All Cells) before saving")


def test_output_check_catches_outputs_and_counts(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1"), nbformat.v4.new_code_cell("2 + 2"),
                nbformat.v4.new_code_cell("3 + 3"), nbformat.v4.new_markdown_cell("text")]
    nbformat.write(nb, tmp_path / "clean.ipynb")
    assert stored_outputs(tmp_path / "clean.ipynb") == []
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "4"}, execution_count=1)]
    nb.cells[2].execution_count = 2
    nbformat.write(nb, tmp_path / "run.ipynb")
    assert stored_outputs(tmp_path / "run.ipynb") == ["cell 1", "cell 2"]


# -- chapters show the package's update rules, they do not re-type them -----------------------------------

_ONE = r"\(\s*1(?:\.0*)?\s*-\s*"                                   # "(1 - " or "(1.0 -"
_NAME = r"[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?"                        # m, self.m, state['m'], m[i]
_LR = r"(?:[A-Za-z_]\w*\.)*(?:lr|alpha|eta|learning_rate|step_size|α|η)(?:_\w+)?\b"
_EPS = r"(?:[A-Za-z_]\w*\.)*(?:eps|epsilon|ε)\w*"

UPDATE_RULE_PATTERNS = {
    # m = beta1 * m + (1 - beta1) * g  (and v with g**2; any names, any spacing)
    "moving average": re.compile(
        rf"(?P<b1>[A-Za-z_][\w.]*)\s*\*\s*{_NAME}\s*\+\s*{_ONE}(?P=b1)\s*\)\s*\*"   # beta * m + (1 - beta) *
        rf"|{_NAME}\s*\*\s*(?P<b2>[A-Za-z_][\w.]*)\s*\+\s*{_ONE}(?P=b2)\s*\)\s*\*"  # m * beta + (1 - beta) *
        rf"|{_ONE}(?P<b3>[A-Za-z_][\w.]*)\s*\)\s*\*[^+\n]+\+\s*(?P=b3)\s*\*"        # (1 - beta) * g + beta * m
        rf"|\+=\s*{_ONE}[A-Za-z_][\w.]*\s*\)\s*\*"                       # m += (1 - beta) * (g - m)
    ),
    # m / (1 - beta1 ** t), v / (1 - np.power(beta2, t))
    "bias correction": re.compile(
        rf"[A-Za-z_][\w.\]\)]*\s*/\s*{_ONE}(?:[A-Za-z_][\w.]*\s*\*\*|(?:np\.|math\.)?pow(?:er)?\s*\()"
    ),
    # np.sqrt(v) + eps, np.sqrt(v + eps), v ** 0.5 + eps
    "adaptive denominator": re.compile(
        rf"sqrt\s*\((?:[^()\n]|\([^()\n]*\))*\)\s*\+\s*{_EPS}"
        rf"|sqrt\s*\([^()\n]*\+\s*{_EPS}\s*\)"
        rf"|\*\*\s*\(?\s*0?\.5\s*\)?\s*\+\s*{_EPS}"
    ),
    # w - lr * g, w -= lr * g, x = x - 0.1 * grad
    "gradient step": re.compile(
        rf"(?:\b[A-Za-z_][\w.]*|[\]\)])\s*-=?\s*{_LR}\s*\*"          # not 1 - lr * L, a growth factor
        rf"|(?P<w>{_NAME})\s*(?:=\s*(?P=w)\s*-|-=)\s*\d[\d.]*(?:e-?\d+)?\s*\*\s*(?:g|grad\w*|gradient\w*|d[a-z]\w*)\b"
    ),
}


def strip_comment(line):
    """The code of a line without its comment (a '#' inside a string is rare enough to ignore here)."""
    return line.split("#", 1)[0]


def update_rules_in(source):
    """The lines of ``source`` that write an update rule, each as ``(pattern name, line)``."""
    found = []
    for line in source.splitlines():
        code = strip_comment(line)
        found += [(name, line.strip()) for name, pattern in UPDATE_RULE_PATTERNS.items() if pattern.search(code)]
    return found


def code_cells(path):
    """``(index, tags, source)`` of each code cell of a notebook, or of a MyST markdown notebook."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return [(i, cell.get("metadata", {}).get("tags", []), "".join(cell["source"]))
                for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"]
    cells = []
    blocks = re.finditer(r"^```\{code-cell\}[^\n]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)
    for i, block in enumerate(blocks):
        body = block.group(1)
        tags = re.search(r"^:tags:\s*\[(.*?)\]", body, re.M)
        cells.append((i, [t.strip(" '\"") for t in tags.group(1).split(",")] if tags else [], body))
    return cells


def untagged_update_rules(path):
    """Update rules written in code cells of ``path`` that are not tagged as an exercise or its solution."""
    return [f"cell {i}: {name}: {line}" for i, tags, source in code_cells(path)
            if not any(EXERCISE_TAG.search(tag) for tag in tags)
            for name, line in update_rules_in(source)]


WRITTEN_RULES = [
    "m = beta1 * m + (1 - beta1) * g",
    "v = beta2*v + (1-beta2)*g**2",
    "self.m = self.beta1 * self.m + (1.0 - self.beta1) * grad",
    "state['v'] = b2 * state['v'] + (1 - b2) * np.square(g)",
    "m = m * beta + (1 - beta) * g",
    "m = (1 - b1) * g + b1 * m",
    "m += (1 - beta) * (g - m)",
    "m_hat = m / (1 - beta1 ** t)",
    "v_hat = v / (1-beta2**(t))",
    "mhat = m / (1 - np.power(beta1, t))",
    "step = m_hat / (np.sqrt(v_hat) + eps)",
    "w -= lr * g / (math.sqrt(G) + self.eps)",
    "den = np.sqrt(v + epsilon)",
    "w = w - lr * m_hat / (v_hat ** 0.5 + eps)",
    "w = w - lr * g",
    "w -= lr*g",
    "params['W'] = params['W'] - alpha * grads['W']",
    "return w - learning_rate * grad",
    "x = x - self.lr_t * m",
    "x = x - 0.1 * grad",
    "w[i] -= 1e-3 * dw",
    "for t in range(100): w = w - η * g(w)",
]

LEGITIMATE_CODE = [
    "opt = ae.Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)",
    "params, state = opt.step(params, grads, state)",
    "loss = x**2 + 10 * y**2",
    "window = 1 / (1 - beta)",
    "correction = 1 / (1 - beta1 ** t)",
    "ax.plot(t, 1 - beta1 ** t)",
    "first_step = lr * (1 - beta1) / np.sqrt(1 - beta2)",
    "torch_opt = keras.optimizers.SGD(learning_rate=lr * (1 - beta), momentum=beta)",
    "lr_max = 2 / L",
    "y = 3 * x + rng.normal(0, 1, size=100)",
    "# w = w - lr * g, the rule shown above",
    "lrs = [lr * 10 ** k for k in range(-3, 1)]",
    "gap = w_gd - w_adam",
    "d = np.sqrt(dx**2 + dy**2)",
    "print(f'relative error {np.abs(a - b).max():.1e}')",
    "history = ae.minimize(problem, x0, ae.Momentum(lr=0.1, beta=0.9), steps=100)",
    "kappa = L / ell",
    "growth = np.abs(1 - lr * L)",
    "factor = 1 - 2 * lr",
    "x_star = h * c / (h + lam)",
]


@pytest.mark.parametrize("line", WRITTEN_RULES)
def test_detector_finds_a_written_update_rule(line):
    assert update_rules_in(line), f"not detected: {line}"


@pytest.mark.parametrize("line", LEGITIMATE_CODE)
def test_detector_leaves_ordinary_code_alone(line):
    assert update_rules_in(line) == []


def test_detector_honours_exercise_tags(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("The rule is $w \\leftarrow w - \\alpha g$: `w = w - lr * g`."),
        nbformat.v4.new_code_cell("def gd_step(w, g, lr):\n    return w - lr * g",
                                  metadata={"tags": ["exercise-solution"]}),
        nbformat.v4.new_code_cell("m = beta * m + (1 - beta) * g", metadata={"tags": ["Exercise"]}),
        nbformat.v4.new_code_cell("import numpy as np\nw = np.zeros(2)\nw = w - lr * g",
                                  metadata={"tags": ["hide-input"]}),
    ]
    nbformat.write(nb, tmp_path / "chapter.ipynb")
    assert untagged_update_rules(tmp_path / "chapter.ipynb") == ["cell 3: gradient step: w = w - lr * g"]

    (tmp_path / "page.md").write_text(
        "# Page\n\n```{code-cell} ipython3\n:tags: [solution]\nw -= lr * g\n```\n\n"
        "```{code-cell} ipython3\nv_hat = v / (1 - beta2 ** t)\n```\n"
    )
    assert untagged_update_rules(tmp_path / "page.md") == ["cell 1: bias correction: v_hat = v / (1 - beta2 ** t)"]


def chapter_sources():
    pages = [p for p in BOOK.glob("*.md") if "{code-cell}" in p.read_text(encoding="utf-8")]
    return sorted(book_notebooks(BOOK) + pages)


@pytest.mark.parametrize("path", chapter_sources(), ids=lambda p: p.name)
def test_no_update_rule_outside_exercises(path):
    assert untagged_update_rules(path) == [], (
        f"{path.name} writes an update rule: show the package's instead (literalinclude with :pyobject:, or call "
        "the optimizer), or tag the cell as an exercise or its solution")


# -- citations ---------------------------------------------------------------------------------------------

CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")


def bib_keys(bib_text):
    return re.findall(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", bib_text, re.M)


def cited_keys(text):
    return {key.strip() for keys in CITE_ROLE.findall(text) for key in keys.split(",") if key.strip()}


def book_texts(book):
    """The text of every page under ``book``; for notebooks, the markdown and code cells."""
    texts = {}
    for path in sorted(book.rglob("*.md")) + book_notebooks(book):
        if "_build" in path.parts:
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            texts[path] = "\n".join("".join(cell["source"]) for cell in cells)
        else:
            texts[path] = path.read_text(encoding="utf-8")
    return texts


def unknown_citations(book):
    known = set(bib_keys((book / "references.bib").read_text(encoding="utf-8")))
    return {f"{path.name}: {key}" for path, text in book_texts(book).items() for key in cited_keys(text) - known}


def test_every_cited_key_is_in_references_bib():
    assert unknown_citations(BOOK) == set()


def test_references_bib_has_no_duplicate_keys():
    keys = bib_keys((BOOK / "references.bib").read_text(encoding="utf-8"))
    assert keys and len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_citation_check_catches_an_unknown_key(tmp_path):
    (tmp_path / "references.bib").write_text("@article{known2020paper,\n  title = {A},\n}\n")
    (tmp_path / "page.md").write_text("As {cite:t}`known2020paper` and {cite}`known2020paper, typo2021paper` show.")
    assert cited_keys((tmp_path / "page.md").read_text()) == {"known2020paper", "typo2021paper"}
    assert unknown_citations(tmp_path) == {"page.md: typo2021paper"}


# -- the build configuration -------------------------------------------------------------------------------

def test_config_keeps_sphinx_inside_the_book():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    excluded = set(config["exclude_patterns"])
    assert {".venv", "_build", "tests", "adamedu"} <= excluded
    assert config["only_build_toc_files"] is True


def test_config_executes_every_notebook_and_fails_on_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["execute"]["allow_errors"] is False
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
