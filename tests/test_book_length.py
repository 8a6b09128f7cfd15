"""Reading comfort (issue 11): each chapter's main line reads in one sitting.

The main line is the prose a reader meets without opening anything: markdown outside math, code, directive
options, figure alt text and the bodies of ``{dropdown}`` blocks (the long asides live there). Chapters aim at
5-8k words of it; none may grow past 8,000.
"""

import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
SKIPPED = ("code", "{code-cell}", "{math}", "{dropdown}", "{literalinclude}", "{glue:figure}", "{figure}")


def main_line_words(markdown):
    text = re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    kept, open_blocks = [], []  # open_blocks: (fence, directive, rest of the opening line)
    for line in text.splitlines():
        fence = re.match(r"^(`{3,}|:{3,})\s*(\{[\w:-]+\})?(.*)$", line.strip())
        if fence:
            mark, directive = fence.group(1), fence.group(2)
            if open_blocks and open_blocks[-1][0] == mark and not directive:
                open_blocks.pop()
            else:
                open_blocks.append((mark, directive or "code", fence.group(3)))
            continue
        hidden = any(d in SKIPPED or "dropdown" in rest for _, d, rest in open_blocks)
        if not hidden and not re.match(r"^:\w[\w-]*:", line.strip()):
            kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"(\{[\w:-]+\})?`[^`]*`", " x ", text)  # a role or inline code reads as one word
    return len(re.findall(r"[A-Za-z][A-Za-z'’-]*", text))


def chapter_markdown(path):
    nb = nbformat.read(path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def test_counter_counts_prose_and_skips_math_code_and_dropdowns():
    markdown = "\n".join([
        "Adam divides the step by $\\sqrt{v}$ here.",  # 6 words, the inline math skipped
        "$$m_t = \\beta_1 m_{t-1}$$",
        "```python", "w = w - lr * g", "```",
        "````{dropdown} A long aside", "one two three four", "````",
        ":::{note}", "Kept words.", ":::",
        "See `adam_step` now.",  # 3 words: see, x, now
    ])
    assert main_line_words(markdown) == 6 + 2 + 3


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_main_line_is_at_most_8000_words(path):
    words = main_line_words(chapter_markdown(path))
    assert 2000 <= words <= 8000, f"{path.name}: {words} main-line words (aim 5-8k; move long asides into dropdowns)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_verbal_tic(path):
    tics = [w for w in ("honest", "honestly") if re.search(rf"\b{w}\b", chapter_markdown(path), re.I)]
    assert not tics, f"{path.name} uses {tics}"
