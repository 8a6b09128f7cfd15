"""The built website as a reader meets it: every page of ``_toc.yml`` opened in headless Chromium.

The site in ``_build/html`` (``python3 tasks.py book``; ``tasks.py test`` builds it before running the
tests) is served on 127.0.0.1 and each page is opened once. The tests then fail on: a page of the table of
contents missing from the build, math that MathJax did not typeset, an error or traceback in a cell's
output, an image that does not load, an internal link (with its #anchor) that leads nowhere, a request to
any host but this machine, a JavaScript error, a chapter that does not offer its notebook for download,
and an animation that does not play. Every page is photographed in the theme's light and dark modes into
``_build/screenshots/`` for a person to look at.

Without a built site (or without Chromium and Playwright) the tests are skipped, except under CI, where
they fail. ``ADAMEDU_SITE_DIR`` points them at a site built elsewhere (``--path-output DIR`` builds into
``DIR/_build/html``); ``CHROMIUM`` names the browser if it is not ``/usr/bin/chromium``.
"""

import functools
import http.server
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("ADAMEDU_SITE_DIR") or ROOT / "_build" / "html").resolve()
SCREENSHOTS = SITE.parent / "screenshots"
IN_CI = bool(os.environ.get("CI"))
# Debian's Chromium: Playwright's own browser download needs the internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000
ADAM_CHAPTER = "book/04_adam"

# All tests of this file share one browser and one visit per page: under pytest-xdist's
# --dist loadgroup they run in one worker (under plain -n they still pass, at twice the cost).
pytestmark = pytest.mark.xdist_group("browser")


def skip_or_fail(reason):
    """Locally a missing site or browser skips the tests; CI must have both, so there it is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# -- what the table of contents promises ------------------------------------------------------------------

def toc_pages():
    """Every document named in ``_toc.yml`` (root first), without suffix, e.g. ``book/04_adam``."""
    from test_book import toc_entries  # the one reading of the table of contents

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [re.sub(r"\.(md|ipynb|rst)$", "", entry) for entry in toc_entries(toc)]


def source_suffix(page):
    """The suffix of the page's source file in the repository (``.ipynb`` for a chapter)."""
    for suffix in (".ipynb", ".md", ".rst"):
        if (ROOT / f"{page}{suffix}").is_file():
            return suffix
    return None


PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if source_suffix(p) == ".ipynb"]
SEARCH = "search"  # the search page, opened with a query so that its JavaScript really searches
VISITED = PAGES + [SEARCH]


# -- the page's ids, read from the file (for #anchors of links into pages) --------------------------------

class _IdCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.cache
def ids_in(path):
    collector = _IdCollector()
    collector.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def site_file(url_path):
    """The file under SITE that a same-site URL path names (``/`` and ``dir/`` mean their index.html)."""
    relative = unquote(url_path).lstrip("/")
    target = SITE / relative
    if relative == "" or relative.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


# -- serving the site ---------------------------------------------------------------------------------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the name is http.server's
        pass


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").is_file():
        skip_or_fail(f"no built website in {SITE}: build it first with `python3 tasks.py book`")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def is_loopback(host):
    return host in ("localhost", "::1", "[::1]") or bool(re.fullmatch(r"127(\.\d{1,3}){3}", host or ""))


def leaves_this_machine(url):
    """A network request to any host but loopback (data:, blob: and about: URLs are not requests)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss", "ftp") and not is_loopback(parts.hostname)


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        skip_or_fail("no Chromium: install Debian's (apt-get install chromium); `python3 tasks.py test` does")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


# -- one visit per page -------------------------------------------------------------------------------------

@dataclass
class Visit:
    """What one page showed: each list holds the problems of one kind, as readable strings."""

    page: str
    file: Path
    title: str = ""
    math_elements: int = 0  # .math elements: where Sphinx put the math of the source
    typeset_math: int = 0  # mjx-container elements: what MathJax made of them
    untypeset_math: list = field(default_factory=list)
    output_errors: list = field(default_factory=list)
    broken_images: list = field(default_factory=list)
    internal_links: list = field(default_factory=list)  # (href as written in the DOM, absolute URL)
    download_links: list = field(default_factory=list)
    outside_requests: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    search_results: int = 0
    dark_background: str = ""
    screenshots: list = field(default_factory=list)


def page_url(base, page):
    return f"{base}{SEARCH}.html?q=adam" if page == SEARCH else f"{base}{page}.html"


# Text of the page outside code, scripts and typeset math, where raw TeX would show math that MathJax missed.
# The search page's result excerpts are left out: Sphinx quotes the pages' sources there as plain text, TeX as typed.
_PROSE_TEXT_JS = """() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .cell_input, .cell_output, ' +
               '#search-results';
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
  }
  return parts.join(' ');
}"""

# The opening of TeX that MathJax did not turn into mjx-container: $$, \(, \[, \begin{, or $...\command...$.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\$[^$]{0,200}?\\[A-Za-z]+[^$]{0,200}?\$")

_MATH_JS = """async () => {
  const math = document.querySelectorAll('.math');
  if (math.length === 0) return {count: 0, typeset: 0, missing: [], errors: []};
  const deadline = Date.now() + 20000;
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 50));
  }
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    return {count: math.length, typeset: 0, missing: ['MathJax never started (is its script served?)'], errors: []};
  }
  await MathJax.startup.promise;
  const missing = [...math].filter(e => !e.querySelector('mjx-container') && e.tagName !== 'MJX-CONTAINER')
                           .map(e => e.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                   .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));
  return {count: math.length, typeset: document.querySelectorAll('mjx-container').length, missing, errors};
}"""

# A cell tagged raises-exception (myst-nb's tag for an error shown on purpose) may show one; no other may.
_OUTPUT_ERRORS_JS = """() => {
  const found = [];
  const intended = e => e.closest('.tag_raises-exception');
  const say = (kind, e) => intended(e) ||
    found.push(kind + ': ' + e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 200));
  document.querySelectorAll('.output.stderr, .stderr').forEach(e => say('stderr output', e));
  document.querySelectorAll('.output.traceback, .output.error').forEach(e => say('traceback output', e));
  document.querySelectorAll('.system-message, .problematic').forEach(e => say('Sphinx error in the page', e));
  document.querySelectorAll('.cell_output').forEach(e => {
    if (/Traceback|\\bError\\b|\\w+Error:|\\w+Exception:/.test(e.innerText)) say('error text in a cell output', e);
  });
  return found;
}"""

_IMAGES_JS = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 10000); })));
  return images.filter(img => img.getAttribute('src') && (!img.complete || img.naturalWidth === 0))
               .map(img => (img.getAttribute('src') || '').slice(0, 100));
}"""

_LINKS_JS = """() => [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href])"""

# The theme (pydata-sphinx-theme under sphinx-book-theme) reads "mode"/"theme" from localStorage in an inline
# script at the top of each page and keeps them on <html> as data-mode / data-theme.
_LIGHT_INIT_JS = "localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');"
_SET_MODE_JS = """async (mode) => {
  localStorage.setItem('mode', mode); localStorage.setItem('theme', mode);
  document.documentElement.dataset.mode = mode; document.documentElement.dataset.theme = mode;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return getComputedStyle(document.body).backgroundColor;
}"""


def visit(context, base, page):
    result = Visit(page=page, file=site_file(urlsplit(page_url(base, page)).path))
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.on("console", lambda m: m.type == "error" and result.console_errors.append(
        f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))
    tab.on("pageerror", lambda e: result.console_errors.append(f"uncaught: {e}"))
    tab.on("response", lambda r: r.status >= 400 and result.failed_requests.append(f"{r.status} {r.url}"))
    tab.on("requestfailed", lambda r: not leaves_this_machine(r.url) and result.failed_requests.append(
        f"{r.failure} {r.url}"))
    context.refused_requests = result.outside_requests  # where the context's route records what it refused
    try:
        tab.goto(page_url(base, page), wait_until="load")
        result.title = tab.title()
        math = tab.evaluate(_MATH_JS)
        result.math_elements, result.typeset_math = math["count"], math["typeset"]
        result.untypeset_math = [f"not typeset: {m}" for m in math["missing"]]
        result.untypeset_math += [f"MathJax error: {m}" for m in math["errors"]]
        prose = re.sub(r"\s+", " ", tab.evaluate(_PROSE_TEXT_JS))
        result.untypeset_math += [f"raw TeX left in the text: {prose[m.start():m.start() + 80]!r}"
                                  for m in RAW_TEX.finditer(prose)]
        result.output_errors = tab.evaluate(_OUTPUT_ERRORS_JS)
        result.broken_images = tab.evaluate(_IMAGES_JS)
        links = tab.evaluate(_LINKS_JS)
        result.internal_links = [(raw, absolute) for raw, absolute in links if absolute.startswith(base)]
        result.download_links = [absolute for _, absolute in result.internal_links if "/_sources/" in absolute]
        if page == SEARCH:
            # Sphinx's searchtools.js says "Search finished, ..." in p.search-summary when it is done.
            tab.wait_for_function("() => /finished|did not match/i.test("
                                  "document.querySelector('#search-results .search-summary')?.textContent || '')",
                                  timeout=15_000)
            result.search_results = tab.locator("ul.search li").count()
        else:
            name = page.replace("/", "_")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for mode in ("light", "dark"):
                background = tab.evaluate(_SET_MODE_JS, mode)
                if mode == "dark":
                    result.dark_background = background
                shot = SCREENSHOTS / f"{name}-{mode}.png"
                tab.screenshot(path=str(shot), full_page=True)
                result.screenshots.append(shot)
            tab.evaluate(_SET_MODE_JS, "light")
    finally:
        tab.close()
    return result


@pytest.fixture(scope="module")
def context(browser, site_url):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1,
                              service_workers="block")
    ctx.refused_requests = []

    def refuse(route):
        ctx.refused_requests.append(route.request.url)
        route.abort()

    ctx.route(leaves_this_machine, refuse)  # recorded, and never sent
    ctx.add_init_script(_LIGHT_INIT_JS)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def visits(context, site_url):
    """Each page visited at most once, on first need."""
    cache = {}

    def get(page):
        if page not in cache:
            if not site_file(urlsplit(page_url(site_url, page)).path).is_file():
                pytest.fail(f"{page} is not in the build ({SITE})", pytrace=False)
            cache[page] = visit(context, site_url, page)
        return cache[page]

    return get


def listing(problems, most=12):
    shown = [str(p) for p in problems[:most]]
    if len(problems) > most:
        shown.append(f"... and {len(problems) - most} more")
    return "\n  ".join(shown)


# -- the tests ------------------------------------------------------------------------------------------------

def test_every_toc_page_is_built(site_url):
    missing = [p for p in PAGES if not (SITE / f"{p}.html").is_file()]
    assert not missing, f"pages in _toc.yml missing from {SITE}: {missing}"
    assert (SITE / "index.html").is_file() and (SITE / "search.html").is_file()
    # The download test below is what "each chapter offers its notebook" rests on: it must cover chapters.
    assert CHAPTERS, "no chapter notebook (book/NN_name.ipynb) in _toc.yml"


def source_has_math(page):
    """Whether the page's source has TeX math in its prose ($...$, $$...$$ or an environment)."""
    suffix = source_suffix(page)
    if suffix is None:
        return False
    text = (ROOT / f"{page}{suffix}").read_text(encoding="utf-8")
    if suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.DOTALL)  # code is not math
    return bool(re.search(r"\$[^$\n]+\$|\\begin\{", text))


@pytest.mark.parametrize("page", VISITED)
def test_math_is_typeset(visits, page):
    v = visits(page)
    assert not v.untypeset_math, f"{page}: math left untypeset:\n  {listing(v.untypeset_math)}"
    if source_has_math(page):
        assert v.math_elements > 0, f"{page}: the source has math, the page has no .math element"
        assert v.typeset_math >= v.math_elements, (
            f"{page}: {v.typeset_math} typeset formulas (mjx-container) for {v.math_elements} in the source")


@pytest.mark.parametrize("page", VISITED)
def test_no_error_in_outputs(visits, page):
    v = visits(page)
    assert not v.output_errors, f"{page}: errors shown on the page:\n  {listing(v.output_errors)}"


@pytest.mark.parametrize("page", VISITED)
def test_images_load(visits, page):
    v = visits(page)
    assert not v.broken_images, f"{page}: images that did not load:\n  {listing(v.broken_images)}"


@pytest.mark.parametrize("page", VISITED)
def test_internal_links_lead_somewhere(visits, site_url, page):
    v = visits(page)
    broken = []
    for raw, absolute in v.internal_links:
        parts = urlsplit(absolute)
        target = site_file(parts.path)
        if not target.is_file():
            broken.append(f"{raw}: no file {target.relative_to(SITE)}")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_in(target):
            broken.append(f"{raw}: no id {unquote(parts.fragment)!r} in {target.relative_to(SITE)}")
    assert v.internal_links, f"{page}: no internal link at all (navigation missing?)"
    assert not broken, f"{page}: broken internal links:\n  {listing(sorted(set(broken)))}"


@pytest.mark.parametrize("page", VISITED)
def test_nothing_is_fetched_from_elsewhere(visits, page):
    v = visits(page)
    assert not v.outside_requests, f"{page}: requests to other hosts (refused):\n  {listing(v.outside_requests)}"
    assert not v.failed_requests, f"{page}: requests that failed on this site:\n  {listing(v.failed_requests)}"


@pytest.mark.parametrize("page", VISITED)
def test_no_javascript_errors(visits, page):
    v = visits(page)
    assert not v.console_errors, f"{page}: JavaScript console errors:\n  {listing(v.console_errors)}"


def test_search_finds_pages(visits):
    v = visits(SEARCH)
    assert v.search_results > 0, "the search page found nothing for 'adam'"


@pytest.mark.parametrize("page", PAGES)
def test_screenshots_in_light_and_dark_mode(visits, page):
    v = visits(page)
    assert [s.name for s in v.screenshots] == [f"{page.replace('/', '_')}-{m}.png" for m in ("light", "dark")]
    assert all(s.stat().st_size > 10_000 for s in v.screenshots), f"{page}: suspiciously small screenshots"
    rgb = [int(c) for c in re.findall(r"\d+", v.dark_background)[:3]]
    assert len(rgb) == 3 and max(rgb) < 80, f"{page}: dark mode did not darken the page ({v.dark_background})"


@pytest.mark.parametrize("page", [p for p in PAGES if source_suffix(p)])
def test_page_offers_its_source_for_download(visits, context, page):
    v = visits(page)
    suffix = source_suffix(page)
    wanted = [url for url in v.download_links if urlsplit(url).path.endswith(f"/_sources/{page}{suffix}")]
    assert wanted, f"{page}: no download link to _sources/{page}{suffix} (found {v.download_links})"
    response = context.request.get(wanted[0])
    assert response.ok, f"{page}: {wanted[0]} answered {response.status}"
    if suffix == ".ipynb":
        notebook = json.loads(response.body())
        assert notebook.get("nbformat") == 4 and notebook.get("cells"), f"{page}: the download is not a notebook"


@pytest.mark.skipif(ADAM_CHAPTER not in PAGES, reason=f"{ADAM_CHAPTER} is not in _toc.yml")
def test_adam_animation_plays(context, site_url):
    """The players that matplotlib's to_jshtml writes (adamedu.plots.to_html): Play moves slider and picture."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    try:
        tab.goto(page_url(site_url, ADAM_CHAPTER), wait_until="load")
        players = tab.locator("div.animation")
        assert players.count() >= 1, f"{ADAM_CHAPTER}: no animation player (matplotlib's jshtml) on the page"
        for i in range(players.count()):
            player = players.nth(i)
            image, slider = player.locator("img").first, player.locator("input.anim-slider").first
            tab.wait_for_function("s => Number(s.max) > 0", arg=slider.element_handle(), timeout=10_000)
            frames = int(slider.get_attribute("max") or 0) + 1
            assert frames >= 2, f"{ADAM_CHAPTER}: animation {i} has {frames} frame(s)"
            before = (image.get_attribute("src"), slider.input_value())
            player.scroll_into_view_if_needed()
            player.locator("button[title='Play']").first.click()
            try:
                tab.wait_for_function("([s, start]) => s.value !== start", arg=[slider.element_handle(), before[1]],
                                      timeout=5_000)
                tab.wait_for_timeout(300)  # a few more frames
            except PlaywrightTimeout:
                pytest.fail(f"{ADAM_CHAPTER}: animation {i}: Play did not move it within 5 s", pytrace=False)
            after = (image.get_attribute("src"), slider.input_value())
            player.locator("button[title='Pause']").first.click()
            assert after[0] != before[0], f"{ADAM_CHAPTER}: animation {i}: the picture did not change"
            assert (after[0] or "").startswith("data:image/"), f"{ADAM_CHAPTER}: animation {i} shows {after[0][:40]}"
            shown = tab.evaluate("img => [img.complete, img.naturalWidth]", image.element_handle())
            assert shown[0] and shown[1] > 0, f"{ADAM_CHAPTER}: animation {i}: frame {after[1]} does not display"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            player.screenshot(path=str(SCREENSHOTS / f"{ADAM_CHAPTER.replace('/', '_')}-animation{i}-playing.png"))
    finally:
        tab.close()
