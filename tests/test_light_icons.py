"""book/_ext/light_icons.py: the theme's icons from a subset of Font Awesome's font (issue 13, page weight).

Checked on the installed pydata-sphinx-theme's own stylesheet and font, without building the book: the icon
rules are read right (hand-picked code points from Font Awesome 6's published cheatsheet: magnifying-glass
U+F002 with its alias search, sun U+F185, xmark U+F00D), the stylesheet's own icons (the admonitions' lightbulb
U+F0EB) are found, and the subset font holds exactly the wanted glyphs (and a glyph not asked for is absent:
the negative control). The built site's use of the subset is checked in tests/test_site_weight.py.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import light_icons  # noqa: E402 - book/_ext is put on the path just above

pydata = pytest.importorskip("pydata_sphinx_theme")
THEME_STATIC = Path(pydata.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
THEME_CSS = THEME_STATIC / "styles" / "pydata-sphinx-theme.css"
SOLID_TTF = THEME_STATIC / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf"


def test_icon_rules_of_the_theme_stylesheet():
    points = light_icons.code_points(THEME_CSS.read_text(encoding="utf-8"))
    assert points["fa-magnifying-glass"] == points["fa-search"] == 0xF002
    assert points["fa-sun"] == 0xF185
    assert points["fa-xmark"] == 0xF00D
    assert len(points) > 1000  # the whole icon set is in the stylesheet


def test_stylesheet_icons_outside_the_icon_rules():
    css = ':root{--pst-icon-lightbulb:"\uf0eb"}.x:after{content:"\\f107";font-family:Font Awesome}' \
          '.fa-sun:before{content:"\\f185"}.y:after{content:"\\2014"}'
    assert light_icons.css_content_points(css) == {0xF0EB, 0xF107}  # not the icon rule, not an em dash
    theme = light_icons.css_content_points(THEME_CSS.read_text(encoding="utf-8"))
    assert 0xF0EB in theme  # the tip admonition's lightbulb


def test_icon_classes_found_in_pages(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<i class="fa-solid fa-sun fa-lg"></i><span class="fa-solid fa-magnifying-glass"></span>',
                    encoding="utf-8")
    assert light_icons.icon_classes([page]) == {"fa-solid", "fa-sun", "fa-lg", "fa-magnifying-glass"}


def test_unused_icon_rules_are_taken_out():
    css = THEME_CSS.read_text(encoding="utf-8")
    trimmed = light_icons.without_unused_rules(css, {"fa-sun", "fa-search"})
    assert light_icons.code_points(trimmed) == {"fa-sun": 0xF185, "fa-magnifying-glass": 0xF002, "fa-search": 0xF002}
    assert len(css) - len(trimmed) > 50_000
    # everything else is untouched: the stylesheet minus the icon rules is the same text
    assert light_icons._CSS_RULE.sub("", trimmed) == light_icons._CSS_RULE.sub("", css)
    assert light_icons.css_content_points(trimmed) == light_icons.css_content_points(css)


@pytest.mark.skipif(not SOLID_TTF.is_file(), reason="the theme ships no fa-solid-900.ttf")
def test_subset_holds_the_wanted_glyphs_only(tmp_path):
    from fontTools.ttLib import TTFont

    target = tmp_path / "subset.woff"
    light_icons.subset_font(SOLID_TTF, {0xF185, 0xF002}, target)
    with TTFont(str(target)) as font:
        cmap, flavor = font.getBestCmap(), font.flavor
    assert {0xF185, 0xF002} <= set(cmap)
    assert 0xF00D not in cmap and 0xF0EB not in cmap  # not asked for: cut
    assert flavor == "woff"
    assert target.stat().st_size < 10_000 < SOLID_TTF.stat().st_size
