"""The book's accessibility extensions (book/_ext) on a tiny Sphinx project, without building the book.

- alt_text_guard: with ``adamedu_require_alt_text`` on, an image without alt text, or with a file path as its
  alt, is a warning (so ``-W`` fails the build); a described image is not; with the option off (the default)
  nothing is said.
- accessible_markup: citations are list items of the citation list (ARIA 1.2's list/listitem), not
  doc-biblioentry.
"""

import base64
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from alt_text_guard import alt_problem  # noqa: E402 - book/_ext is put on the path just above

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0g"
                       "AAAABJRU5ErkJggg==")  # one white pixel

PAGE = """Tiny
====

.. image:: bare.png

.. image:: path.png
   :alt: _images/path.png

.. image:: described.png
   :alt: The loss falls tenfold every twenty steps

.. figure:: figure.png

   A caption is not a description.

A claim [Kingma]_.

.. [Kingma] D. P. Kingma and J. Ba. Adam: a method for stochastic optimization. 2015.
"""


def build(tmp_path, extensions, **config):
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    for name in ("bare.png", "path.png", "described.png", "figure.png"):
        (src / name).write_bytes(PNG)
    (src / "index.rst").write_text(PAGE, encoding="utf-8")
    lines = [f"extensions = {extensions!r}"] + [f"{key} = {value!r}" for key, value in config.items()]
    (src / "conf.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    warnings = io.StringIO()
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "html",
                 status=None, warning=warnings, freshenv=True)
    app.build()
    return warnings.getvalue(), (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_the_guard_warns_on_images_without_a_description(tmp_path):
    warnings, _ = build(tmp_path, ["alt_text_guard"], adamedu_require_alt_text=True)
    said = [line for line in warnings.splitlines() if "alt text" in line]
    assert len(said) == 3, warnings
    assert "'bare.png' has no alt text" in warnings
    assert "'path.png' has a file path as alt text ('_images/path.png')" in warnings
    assert "'figure.png' has no alt text" in warnings  # a caption is not the image's description
    assert "described.png" not in warnings
    assert all("index.rst" in line for line in said), said  # each names where the image is


def test_the_guard_is_off_by_default(tmp_path):
    warnings, html = build(tmp_path, ["alt_text_guard"])
    assert "alt text" not in warnings, warnings
    assert 'alt="_images/bare.png"' in html  # the file path that a screen reader would read out: what the guard is for


@pytest.mark.parametrize("alt, uri, problem", [
    (None, "a.png", "has no alt text"),
    ("   ", "a.png", "has no alt text"),
    ("a.png", "a.png", "file path"),
    ("../_images/3f2a.png", "x.png", "file path"),
    ("/abs/fig.svg", "x.png", "file path"),
    ("The path zig-zags across the ravine", "a.png", None),
    ("Loss of 0.5 after 40 steps", "a.png", None),
])
def test_alt_problem(alt, uri, problem):
    found = alt_problem(alt, uri)
    assert (found is None) if problem is None else (problem in found)


def test_citations_are_list_items(tmp_path):
    _, html = build(tmp_path, ["accessible_markup"])
    assert 'role="list" class="citation-list"' in html
    assert 'role="listitem"' in html and "doc-biblioentry" not in html
