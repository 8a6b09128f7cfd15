"""The built website for every reader: axe-core's WCAG checks, phones, the keyboard, and image descriptions.

Every page of the site (as in tests/test_site.py, plus the index of terms) is opened in headless Chromium and
checked with axe-core (https://github.com/dequelabs/axe-core), the WCAG 2.0 / 2.1 level A and AA rules, in the
theme's light and dark modes. The tests fail on:

- a critical or serious axe violation inside ``main`` (the article, its header and its page contents). What axe
  finds in the theme's own navigation outside ``main`` does not fail a test; every violation, inside and
  outside, is written to ``_build/a11y/<page>.json`` for the accessibility note;
- a page wider than the phone's screen at 390 and 320 CSS pixels (the offending elements are named);
- more than 30 presses of Tab from the top of the Adam chapter to the animation's controls (using the skip
  link "Skip to the animation" that book/_static/a11y.js adds; the count past every stop is printed), a stop
  on the way without a visible focus indicator, a skip link that does not move the focus into the article;
- an image without a description (no alt, or a file path as alt): xfail (strict) while the Sphinx guard
  ``adamedu_require_alt_text`` is off in _config.yml, so that the test fails the day the descriptions are all
  written and the guard is still off.

Phone screenshots (390 px) of chapters 1, 4 and 8 go to ``_build/screenshots/``.

axe-core comes from npm: ``python3 tasks.py test`` installs it into ``.venv/node_modules`` (``AXE_CORE`` names
another ``axe.min.js``). It is injected from that file: nothing is fetched from outside this machine.
"""

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from page_weight import MATHJAX_DONE_JS
from test_site import (  # noqa: F401 - test_site's fixtures, reached through `request` below
    _LIGHT_INIT_JS,
    _SET_MODE_JS,
    ADAM_CHAPTER,
    PAGES,
    ROOT,
    SCREENSHOTS,
    SITE,
    TIMEOUT_MS,
    VISITED,
    browser,
    leaves_this_machine,
    page_url,
    site_url,
    skip_or_fail,
)

pytestmark = pytest.mark.xdist_group("browser")

AXE = Path(os.environ.get("AXE_CORE") or ROOT / ".venv" / "node_modules" / "axe-core" / "axe.min.js")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
A11Y_PAGES = VISITED + ["genindex"]
PHONE_WIDTHS = (390, 320)
PHONE_SCREENSHOTS = [p for p in PAGES if re.search(r"/0[148]_", p)]  # chapters 1, 4 and 8
TAB_LIMIT = 30
REPORTS = SITE.parent / "a11y"


def alt_guard_on():
    """Whether _config.yml turns on the Sphinx guard against images without a description (book/_ext)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return bool(((config.get("sphinx") or {}).get("config") or {}).get("adamedu_require_alt_text"))


# -- opening pages --------------------------------------------------------------------------------------------

# axe on the whole document; each node located: inside <article>, elsewhere in <main>, or in the theme around it.
_AXE_JS = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  const region = target => {
    let el = null;
    try { el = document.querySelector(Array.isArray(target) ? target[0] : target); } catch (e) {}
    if (!el) return 'unknown';
    return el.closest('article') ? 'article' : el.closest('main') ? 'main' : 'theme';
  };
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, tags: v.tags,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), impact: n.impact, region: region(n.target),
                              html: n.html.slice(0, 200), summary: (n.failureSummary || '').slice(0, 300)})),
  }));
}"""

_IMAGES_ALT_JS = """() => [...document.querySelectorAll('main img')].map(img => ({
  src: (img.getAttribute('src') || '').slice(0, 80), alt: img.getAttribute('alt'),
  hidden: img.closest('[aria-hidden=true]') !== null || img.getAttribute('role') === 'presentation'}))"""


def _new_context(chromium, width, height=900):
    ctx = chromium.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                              service_workers="block")
    ctx.route(leaves_this_machine, lambda route: route.abort())  # never sent (tests/test_site.py reports them)
    ctx.add_init_script(_LIGHT_INIT_JS)
    return ctx


def _open(ctx, base, page):
    tab = ctx.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(page_url(base, page), wait_until="load")
    tab.evaluate(MATHJAX_DONE_JS)  # typeset, fonts loaded: contrast is read on the final text
    return tab


@pytest.fixture(scope="module")
def base(request):
    """The site served on 127.0.0.1 (tests/test_site.py's site_url)."""
    return request.getfixturevalue("site_url")


@pytest.fixture(scope="module")
def chromium(request):
    """Headless Chromium (tests/test_site.py's browser)."""
    return request.getfixturevalue("browser")


@pytest.fixture(scope="module")
def axe_file():
    if not AXE.is_file():
        skip_or_fail(f"no axe-core at {AXE}: `python3 tasks.py test` installs it (npm install axe-core@4)")
    return AXE


@pytest.fixture(scope="module")
def desktop(chromium):
    ctx = _new_context(chromium, 1280)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def audits(desktop, base, axe_file):
    """Each page audited at most once: axe in light and dark mode, and the images' alt texts."""
    cache = {}

    def get(page):
        if page not in cache:
            tab = _open(desktop, base, page)
            try:
                tab.add_script_tag(path=str(axe_file))
                found = {"page": page, "violations": [], "images": tab.evaluate(_IMAGES_ALT_JS)}
                for mode in ("light", "dark"):
                    tab.evaluate(_SET_MODE_JS, mode)
                    tab.wait_for_timeout(300)  # the theme's colour transitions
                    for v in tab.evaluate(_AXE_JS, WCAG):
                        found["violations"].append({**v, "mode": mode})
            finally:
                tab.close()
            REPORTS.mkdir(parents=True, exist_ok=True)
            (REPORTS / f"{page.replace('/', '_')}.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
            cache[page] = found
        return cache[page]

    return get


def blocking(audit, regions):
    """'mode rule (impact): target' for every critical or serious violation in the given regions."""
    return [f"{v['mode']} {v['id']} ({n['impact']}): {n['target']}  {n['summary'][:160]}"
            for v in audit["violations"] for n in v["nodes"] if n["impact"] in BLOCKING and n["region"] in regions]


def listing(problems, most=15):
    shown = [str(p) for p in problems[:most]]
    if len(problems) > most:
        shown.append(f"... and {len(problems) - most} more")
    return "\n  ".join(shown)


# -- axe --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", A11Y_PAGES)
def test_no_serious_axe_violation_in_the_article(audits, page):
    found = blocking(audits(page), ("article", "main", "unknown"))
    assert not found, f"{page}: critical/serious WCAG A/AA violations (axe-core):\n  {listing(found)}"


def test_axe_sees_violations(desktop, base, axe_file, tmp_path):
    """Negative control: the same audit finds a low-contrast link and an unlabelled slider in the article."""
    tab = _open(desktop, base, PAGES[0])
    try:
        tab.add_script_tag(path=str(axe_file))
        tab.evaluate("""() => { const p = document.createElement('p');
          p.innerHTML = '<a href="#" style="color:#9a9a9a;background:#fff">pale link</a> <input type="range">';
          document.querySelector('article').append(p); }""")
        rules = {v["id"] for v in tab.evaluate(_AXE_JS, WCAG) for n in v["nodes"] if n["region"] == "article"}
    finally:
        tab.close()
    assert {"color-contrast", "label"} <= rules, rules


# -- phones ------------------------------------------------------------------------------------------------------

# Elements sticking out to the right of the screen, except inside a box that scrolls or clips sideways.
_OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && !clipped(el) && getComputedStyle(el).position !== 'fixed';
  });
  const outermost = wide.filter(el => !wide.includes(el.parentElement));
  return {width, scrollWidth: document.documentElement.scrollWidth,
          culprits: outermost.slice(0, 8).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
            (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
            + ' right=' + Math.round(el.getBoundingClientRect().right))};
}"""


@pytest.fixture(scope="module")
def phones(chromium):
    contexts = {width: _new_context(chromium, width, 800) for width in PHONE_WIDTHS}
    yield contexts
    for ctx in contexts.values():
        ctx.close()


@pytest.mark.parametrize("width", PHONE_WIDTHS)
@pytest.mark.parametrize("page", A11Y_PAGES)
def test_no_page_is_wider_than_a_phone(phones, base, page, width):
    tab = _open(phones[width], base, page)
    try:
        tab.wait_for_timeout(200)  # the animation's player is set up in a setTimeout
        found = tab.evaluate(_OVERFLOW_JS)
        if width == 390 and page in PHONE_SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / f"{page.replace('/', '_')}-phone{width}.png"), full_page=True)
    finally:
        tab.close()
    assert found["scrollWidth"] <= found["width"], (
        f"{page} at {width} px: the page is {found['scrollWidth']} px wide; sticking out:\n  "
        f"{listing(found['culprits'])}")


def test_phone_screenshots_were_taken():
    # runs after the phone tests (file order); -k selections that skip them skip this too
    shots = [SCREENSHOTS / f"{p.replace('/', '_')}-phone390.png" for p in PHONE_SCREENSHOTS]
    if not all(s.is_file() for s in shots):
        pytest.skip("the phone tests did not run in this session")
    assert len(PHONE_SCREENSHOTS) == 3 and all(s.stat().st_size > 10_000 for s in shots)


# -- the keyboard ------------------------------------------------------------------------------------------------

# Where the focus is, and whether it can be seen: an outline or a box shadow drawn around it.
_FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return {what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' +
                (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40),
          inPlayer: el.closest('.animation') !== null, inMain: el.closest('main') !== null,
          visible: outline || shadow};
}"""


def tab_to_the_animation(context, base, use_skip_links):
    """The Tab stops from the top of the Adam chapter to the animation's first control. With use_skip_links,
    Enter on the "Skip to the animation" link when Tab reaches it (Enter is not counted)."""
    tab = _open(context, base, ADAM_CHAPTER)
    stops = []
    try:
        tab.wait_for_selector("div.animation input.anim-slider", state="attached")
        for _ in range(300):
            tab.keyboard.press("Tab")
            focus = tab.evaluate(_FOCUS_JS)
            stops.append(focus)
            if focus and focus["inPlayer"]:
                break
            if use_skip_links and focus and focus["what"].startswith("a Skip to the animation"):
                tab.keyboard.press("Enter")
    finally:
        tab.close()
    assert stops and stops[-1] and stops[-1]["inPlayer"], f"{ADAM_CHAPTER}: Tab never reached the animation"
    return stops


@pytest.mark.skipif(ADAM_CHAPTER not in PAGES, reason=f"{ADAM_CHAPTER} is not in _toc.yml")
def test_the_animation_is_reached_in_few_tab_presses_each_stop_visible(desktop, base):
    shortcut = tab_to_the_animation(desktop, base, use_skip_links=True)
    every = tab_to_the_animation(desktop, base, use_skip_links=False)
    print(f"\n{ADAM_CHAPTER}: the animation's controls are reached in {len(shortcut)} presses of Tab (and one "
          f"Enter on 'Skip to the animation'); {len(every)} presses of Tab past every stop")
    assert len(shortcut) < TAB_LIMIT, (f"{ADAM_CHAPTER}: {len(shortcut)} presses of Tab to reach the animation; "
                                       f"stops:\n  {listing([s and s['what'] for s in shortcut], 40)}")
    # without the skip links: every stop is a link, a button or a scrollable code cell, none a formula
    assert len(every) < 100, f"{ADAM_CHAPTER}: {len(every)} Tab stops before the animation (formulas back?)"
    invisible = sorted({s["what"] for s in shortcut + every if s and not s["visible"]})
    assert not invisible, f"{ADAM_CHAPTER}: focus not visible on:\n  {listing(invisible)}"


def test_math_is_out_of_the_tab_order_and_still_read_out(desktop, base):
    tab = _open(desktop, base, ADAM_CHAPTER)
    try:
        found = tab.evaluate("""() => ({
          math: document.querySelectorAll('mjx-container').length,
          tabbable: document.querySelectorAll('mjx-container[tabindex]:not([tabindex="-1"])').length,
          assistive: document.querySelectorAll('mjx-container mjx-assistive-mml math').length})""")
    finally:
        tab.close()
    assert found["math"] > 0, found
    assert found["tabbable"] == 0, f"{found['tabbable']} formulas are tab stops"
    assert found["assistive"] == found["math"], f"formulas without MathML for screen readers: {found}"


def test_the_skip_link_moves_the_focus_into_the_article(desktop, base):
    tab = _open(desktop, base, ADAM_CHAPTER)
    try:
        tab.keyboard.press("Tab")
        first = tab.evaluate(_FOCUS_JS)
        tab.keyboard.press("Enter")
        tab.keyboard.press("Tab")
        after = tab.evaluate(_FOCUS_JS)
    finally:
        tab.close()
    assert first and "skip" in first["what"].lower(), f"the first Tab stop is {first}, not a skip link"
    assert first["visible"], "the skip link is not visible when focused"
    assert after and after["inMain"], f"after the skip link, Tab goes to {after}, outside the article"


# -- image descriptions ------------------------------------------------------------------------------------------

PATH_LIKE = re.compile(r"(^|/)[^\s/]+\.(png|jpe?g|gif|svg|webp)$|^\.{0,2}/|_images/", re.IGNORECASE)


def undescribed(images):
    """The images (not hidden from screen readers) whose alt is missing, empty, a file path or one word."""
    bad = []
    for img in images:
        alt = (img["alt"] or "").strip()
        if img["hidden"]:
            continue
        if not alt or PATH_LIKE.search(alt) or len(alt.split()) < 3:
            bad.append(f"{img['src']}: alt={img['alt']!r}")
    return bad


def test_the_description_check_catches_paths_and_missing_alts():
    images = [{"src": "a.png", "alt": None, "hidden": False}, {"src": "b.png", "alt": "../_images/b.png",
              "hidden": False}, {"src": "c.png", "alt": "plot", "hidden": False},
              {"src": "d.png", "alt": "The loss falls tenfold every 20 steps", "hidden": False},
              {"src": "e.png", "alt": "", "hidden": True}]
    assert [b.split(":")[0] for b in undescribed(images)] == ["a.png", "b.png", "c.png"]


@pytest.mark.xfail(not alt_guard_on(), strict=True,
                   reason="the figures' descriptions are not written yet: adamedu_require_alt_text is off")
def test_every_image_has_a_description(audits):
    bad = [f"{page}: {b}" for page in A11Y_PAGES for b in undescribed(audits(page)["images"])]
    assert not bad, f"{len(bad)} images without a description:\n  {listing(bad)}"
