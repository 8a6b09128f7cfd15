"""The explorables on the built website (adamedu.plots.explorables), driven in headless Chromium, offline.

Every page of ``_toc.yml`` whose built HTML holds an explorable is opened (the gallery ``book/explorables`` must
hold all six). For each explorable the test checks that Plotly (served from ``_static``) drew it and hid the
static picture, then reaches each control with the keyboard (a click on the figure's caption sets where
sequential focus navigation starts, then Tab), moves it with an arrow key, and asserts that the data Plotly
plots changed and that the drawn lines changed; a screenshot of the figure is saved before and after each move
into ``_build/screenshots/``. No request may leave loopback and no JavaScript error may occur. A second visit
with JavaScript off finds each static picture shown, and the text description in the page.

The server, browser and offline context are those of tests/test_site.py (imported, not copied).
"""

import re

import pytest
import test_site
from test_site import PAGES, SCREENSHOTS, SITE, TIMEOUT_MS, leaves_this_machine, page_url, site_file

# test_site's fixtures, shared by name: its local server, its Chromium, and its offline browser context.
site_url, browser, context = test_site.site_url, test_site.browser, test_site.context

pytestmark = pytest.mark.xdist_group("browser")

GALLERY = "book/explorables"
MARKER = 'class="adamedu-explorable"'
EXPLORABLE_PAGES = [p for p in PAGES if site_file(f"/{p}.html").is_file()
                    and MARKER in site_file(f"/{p}.html").read_text(encoding="utf-8")]

# A fingerprint of what Plotly plots (every trace's visibility and data) and of what it drew (the lines' SVG).
_FINGERPRINT_JS = """root => {
  const plot = root.querySelector('.adamedu-plot');
  const hash = s => {
    let h = 5381;
    for (let i = 0; i < s.length; i++) h = (h * 33 ^ s.charCodeAt(i)) >>> 0;
    return h;
  };
  const data = JSON.stringify(plot.data.map(t => [t.visible, t.x, t.y, t.z ? t.z.length : 0]));
  const drawn = [...plot.querySelectorAll('.scatterlayer path.js-line, .scatterlayer path.point')]
                  .map(p => p.getAttribute('d')).join('|');
  return {data: hash(data) + ':' + data.length, drawn: hash(drawn) + ':' + drawn.length,
          title: (plot.layout.title && plot.layout.title.text) || ''};
}"""


def test_the_gallery_holds_the_six(site_url):
    if GALLERY not in PAGES:
        pytest.fail(f"{GALLERY} is not in _toc.yml", pytrace=False)
    html = site_file(f"/{GALLERY}.html").read_text(encoding="utf-8")
    assert html.count(MARKER) == 6
    assert re.search(r'<script src="(\.\./)*_static/plotly\.min\.js', html), "plotly.min.js is not loaded locally"
    assert (SITE / "_static" / "plotly.min.js").is_file()


@pytest.mark.parametrize("page", EXPLORABLE_PAGES)
def test_controls_move_the_figures_by_keyboard(context, site_url, page):
    errors, tab = [], context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
    tab.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    requests = []
    tab.on("request", lambda r: requests.append(r.url))
    name = page.replace("/", "_")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        tab.goto(page_url(site_url, page), wait_until="load")
        figures = tab.locator("figure.adamedu-explorable")
        assert figures.count() >= 1
        assert tab.evaluate("() => typeof window.Plotly") == "object", f"{page}: Plotly did not load"
        for i in range(figures.count()):
            figure = figures.nth(i)
            figure.scroll_into_view_if_needed()
            figure.locator(".adamedu-plot .main-svg").first.wait_for(state="attached")
            assert figure.locator("img.adamedu-fallback").is_hidden(), f"{page} #{i}: the static picture still shows"
            assert len(figure.locator(".adamedu-description").inner_text()) > 100
            controls = figure.locator(".adamedu-controls input, .adamedu-controls select")
            assert controls.count() >= 1, f"{page} #{i}: no controls"
            figure.locator("figcaption").click()  # Tab now starts from here
            for k in range(controls.count()):
                control = controls.nth(k)
                tab.keyboard.press("Tab")
                focused = tab.evaluate("c => document.activeElement === c", control.element_handle())
                assert focused, f"{page} #{i}: Tab did not reach control {k} ({control.get_attribute('id')})"
                label = tab.locator(f"label[for='{control.get_attribute('id')}']").inner_text()
                before = figure.evaluate(_FINGERPRINT_JS)
                figure.screenshot(path=str(SCREENSHOTS / f"{name}-explorable{i}-control{k}-before.png"))
                kind = control.evaluate("c => c.tagName")
                at_end = control.evaluate("c => c.tagName === 'INPUT' ? c.value === c.max : "
                                          "c.selectedIndex === c.options.length - 1")
                if kind == "INPUT":
                    tab.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
                else:
                    tab.keyboard.press("ArrowUp" if at_end else "ArrowDown")
                tab.wait_for_timeout(150)
                after = figure.evaluate(_FINGERPRINT_JS)
                figure.screenshot(path=str(SCREENSHOTS / f"{name}-explorable{i}-control{k}-after.png"))
                assert after["data"] != before["data"], f"{page} #{i}: moving {label!r} changed no plotted data"
                assert after["drawn"] != before["drawn"] or after["title"] != before["title"], \
                    f"{page} #{i}: moving {label!r} changed nothing drawn"
                if kind == "INPUT":
                    assert control.get_attribute("aria-valuetext"), f"{page} #{i}: {label!r} has no aria-valuetext"
        tab.evaluate("() => { document.documentElement.dataset.mode = 'dark'; "
                     "document.documentElement.dataset.theme = 'dark'; }")
        figures.first.screenshot(path=str(SCREENSHOTS / f"{name}-explorable0-dark.png"))
    finally:
        tab.close()
    outside = [u for u in requests if leaves_this_machine(u)]
    assert not outside, f"{page}: requests left this machine: {outside[:5]}"
    assert not errors, f"{page}: JavaScript errors: {errors[:5]}"


@pytest.mark.parametrize("page", EXPLORABLE_PAGES)
def test_without_javascript_the_pictures_and_descriptions_show(browser, site_url, page):
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    ctx.route(leaves_this_machine, lambda route: route.abort())
    tab = ctx.new_page()
    try:
        tab.goto(page_url(site_url, page), wait_until="load")
        figures = tab.locator("figure.adamedu-explorable")
        for i in range(figures.count()):
            figure = figures.nth(i)
            picture = figure.locator("img.adamedu-fallback")
            assert picture.is_visible(), f"{page} #{i}: no static picture without JavaScript"
            assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
            assert figure.get_attribute("aria-describedby") == figure.locator(".adamedu-description").get_attribute(
                "id")
        figures.first.screenshot(path=str(SCREENSHOTS / f"{page.replace('/', '_')}-explorable0-nojs.png"))
    finally:
        ctx.close()
