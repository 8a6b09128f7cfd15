"""What each page of the built site weighs at first load (issue 13: "keep each chapter page under ~5 MB").

Each chapter page and the explorables' gallery is opened in headless Chromium with an empty cache
(tests/page_weight.py: every response from this machine counted, MathJax's fonts included, as served,
uncompressed), and must weigh less than 5 MB (10⁶ bytes each). The table of every page's weight, its own part
and the part shared with other pages, and a gzip estimate, is written to ``_build/weight.md`` (and
``weight.json``) and printed.

Also checked: the theme's Font Awesome script is the few-byte stub of book/_ext/light_icons.py, the subset font
holds every icon the site's pages name (and the theme's full font is not fetched), and the icons show (each
header icon is drawn with a non-zero width).

The server and browser are those of tests/test_site.py (imported, not copied).
"""

import json
import re

import page_weight
import pytest
import test_site
from test_site import CHAPTERS, PAGES, SITE, site_file

# test_site's fixtures, shared by name: its local server and its Chromium.
site_url, browser = test_site.site_url, test_site.browser

pytestmark = pytest.mark.xdist_group("browser")

LIMIT = 5 * page_weight.MB
GALLERY = "book/explorables"
WEIGHED = [p for p in PAGES if p in CHAPTERS or p == GALLERY]


@pytest.fixture(scope="module")
def weights(browser, site_url):
    pages = [p for p in PAGES if site_file(f"/{p}.html").is_file()]
    measured, shared = page_weight.measure_site(browser, site_url, pages)
    report = page_weight.table(measured, shared)
    (SITE.parent / "weight.md").write_text(report + "\n", encoding="utf-8")
    (SITE.parent / "weight.json").write_text(json.dumps(page_weight.as_json(measured, shared), indent=1),
                                             encoding="utf-8")
    print("\n" + report)
    return measured, shared


@pytest.mark.parametrize("page", WEIGHED)
def test_first_load_under_5_mb(weights, page):
    measured, shared = weights
    if page not in measured:
        pytest.fail(f"{page} is not in the build ({SITE})", pytrace=False)
    w = measured[page]
    own, common = w.split(shared)
    biggest = ", ".join(f"{p} {s / 1e6:.2f} MB" for s, p in w.largest(4))
    assert w.total < LIMIT, (f"{page} weighs {w.total / 1e6:.2f} MB at first load (own {own / 1e6:.2f}, shared "
                             f"{common / 1e6:.2f}); the largest: {biggest}")
    assert not w.outside, f"{page}: requests to other hosts: {w.outside[:3]}"
    assert not w.pending, f"{page}: still loading 30 s after the load event: {w.pending[:5]}"


def test_measure_counts_what_the_page_loads(weights):
    """Negative control for the measure itself: a chapter's HTML, MathJax and a MathJax font are counted."""
    measured, _ = weights
    page = next(p for p in CHAPTERS if p in measured)
    paths = measured[page].resources
    assert f"/{page}.html" in paths
    assert paths[f"/{page}.html"][0] == site_file(f"/{page}.html").stat().st_size
    assert any(p.startswith("/_static/mathjax/") and p.endswith(".js") for p in paths)
    assert any(p.startswith("/_static/mathjax/") and p.endswith(".woff") for p in paths), \
        "no MathJax font counted: did the measure stop before MathJax typeset?"


def test_font_awesome_comes_from_the_subset(weights):
    measured, _ = weights
    stub = SITE / "_static" / "scripts" / "fontawesome.js"
    assert stub.stat().st_size < 1000, "the theme's Font Awesome script (1.5 MB) is served: light_icons did not run"
    for page, w in measured.items():
        fonts = [p for p in w.resources if "fa-solid-900" in p]
        assert not fonts, f"{page} fetched the theme's full icon font {fonts}: an icon is missing from the subset"


def test_subset_holds_every_icon_the_pages_name():
    from fontTools.ttLib import TTFont

    css = (SITE / "_static" / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    points = {}  # icon class -> code point, read here independently of book/_ext/light_icons.py
    for selectors, code in re.findall(r'((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:"\\([0-9a-f]+)"\}', css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+):", selectors):
            points[name] = int(code, 16)
    named = set()
    for page in SITE.rglob("*.html"):
        for classes in re.findall(r'class="([^"]*\bfa-solid\b[^"]*)"', page.read_text(encoding="utf-8")):
            named.update(c for c in classes.split() if c in points)
    assert {"fa-magnifying-glass", "fa-bars"} <= named  # the search button and the sidebar toggle, on every page
    cmap = TTFont(str(SITE / "_static" / "fa-solid-subset.woff")).getBestCmap()
    missing = sorted(name for name in named if points[name] not in cmap)
    assert not missing, f"icons the pages name but the subset font lacks: {missing}"


def test_header_icons_are_drawn(browser, site_url):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        tab.goto(f"{site_url}{CHAPTERS[0]}.html", wait_until="load")
        tab.evaluate("() => document.fonts.ready")
        tab.wait_for_load_state("networkidle")
        widths = tab.evaluate("""() => [...document.querySelectorAll('.article-header-buttons i.fa-solid')]
            .filter(i => i.offsetParent !== null).map(i => [i.className, i.getBoundingClientRect().width])""")
        loaded = tab.evaluate("""() => [...document.fonts].filter(f => f.family.includes('Font Awesome') &&
                                        f.status === 'loaded').length""")
    finally:
        tab.close()
    assert widths, "no visible icon in the article's header"
    assert all(w > 5 for _, w in widths), f"icons drawn without width: {widths}"
    assert loaded >= 1, "no Font Awesome font loaded"
