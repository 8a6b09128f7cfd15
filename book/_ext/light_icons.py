"""The theme's icons from a small font, not from Font Awesome's 1.5 MB script (issue 13: page weight).

pydata-sphinx-theme (under sphinx-book-theme) loads ``_static/scripts/fontawesome.js`` on every page: Font
Awesome's SVG-with-JavaScript build, all 2000 icons, 1.49 MB, there so that sites can add custom icons. This site
adds none. The theme's stylesheet already carries Font Awesome's webfont rules (``.fa-solid``, ``.fa-sun:before
{content: "\\f185"}``, the ``@font-face`` of ``fa-solid-900.woff2``, 156 kB), which draw the same icons from a
font once the script is gone. When the HTML build has finished, this extension

1. replaces ``_static/scripts/fontawesome.js`` by a script that does nothing (the theme's template loads it by
   name; the stub is a few hundred bytes);
2. finds every Font Awesome icon the built site can show: the ``fa-*`` classes in its HTML and in the theme's
   scripts (which add a few, such as the search dialog's ``fa-xmark``), with their code points from the theme's
   stylesheet, and the icons the stylesheets put in CSS content themselves (the admonitions' lightbulb and
   bell, the contents' chevron: Private Use Area characters outside Font Awesome's own icon rules);
3. writes ``_static/fa-solid-subset.woff``, the solid font cut down to those glyphs (fontTools' subsetter; a
   few kB), and ``_static/fa-solid-subset.css``, an ``@font-face`` for it with the theme's family, weight and
   style. Every page links that stylesheet after the theme's, and the last ``@font-face`` with the same
   descriptors wins: browsers fetch the subset, not the theme's 156 kB font. (Were a glyph missing from the
   subset, the browser would fall back to the theme's full font: the icon still shows, and the page's weight,
   which tests/test_site_weight.py measures, tells.)
4. takes the rules of the icons the site does not use out of the theme's stylesheet (1800 of them, 85 kB of its
   397 kB), read from the installed theme, not from the output, so that a later build finds them all again.

Without fontTools (or without the theme's font) step 3 writes a stylesheet without a rule: the theme's own font
then draws the icons. The build log says which icons the subset holds.
"""

import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

FONTAWESOME_JS = Path("_static") / "scripts" / "fontawesome.js"
THEME_CSS = Path("_static") / "styles" / "pydata-sphinx-theme.css"
SOLID_TTF = Path("_static") / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf"
SUBSET_CSS = "fa-solid-subset.css"
SUBSET_FONT = "fa-solid-subset.woff"

STUB = ("/* adamedu (book/_ext/light_icons.py): Font Awesome's SVG-with-JavaScript build is not loaded; the theme's\n"
        "   stylesheet draws its icons from a font holding only the icons this site uses (fa-solid-subset.woff). */\n")

_ICON_CLASS = re.compile(r"\bfa-[a-z0-9]+(?:-[a-z0-9]+)*")
# ".fa-magnifying-glass:before,.fa-search:before{content:"\f002"}" in Font Awesome 6's minified CSS
_CSS_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:"\\([0-9a-fA-F]+)"\}')
_CSS_NAME = re.compile(r"\.(fa-[a-z0-9-]+):{1,2}before")
_CSS_ESCAPE = re.compile(r'\\([0-9a-fA-F]{4,6})')


def code_points(css_text):
    """{icon class: code point} for every icon rule of Font Awesome's stylesheet."""
    points = {}
    for selectors, hexcode in _CSS_RULE.findall(css_text):
        for name in _CSS_NAME.findall(selectors):
            points[name] = int(hexcode, 16)
    return points


def icon_classes(paths):
    """Every ``fa-*`` class-like word in the given files (HTML pages, scripts)."""
    found = set()
    for path in paths:
        found.update(_ICON_CLASS.findall(Path(path).read_text(encoding="utf-8", errors="replace")))
    return found


def css_content_points(css_text):
    """Private Use Area characters (Font Awesome's code points) a stylesheet uses outside Font Awesome's icon
    rules, written as characters or as escapes (``--pst-icon-lightbulb: "\uf0eb"``, ``content: "\\f107"``)."""
    rest = _CSS_RULE.sub("", css_text)
    points = {ord(c) for c in rest if 0xE000 <= ord(c) <= 0xF8FF}
    points.update(int(h, 16) for h in _CSS_ESCAPE.findall(rest) if 0xE000 <= int(h, 16) <= 0xF8FF)
    return points


def theme_stylesheet(outdir):
    """The text of the theme's stylesheet as the theme ships it (the output's copy may be trimmed already)."""
    try:
        import pydata_sphinx_theme

        shipped = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / \
            "styles" / THEME_CSS.name
    except ImportError:
        shipped = None
    source = shipped if shipped is not None and shipped.is_file() else Path(outdir) / THEME_CSS
    return source.read_text(encoding="utf-8")


def without_unused_rules(css_text, used_names):
    """The stylesheet without the icon rules none of whose classes is in ``used_names``."""
    def keep(match):
        return match.group(0) if set(_CSS_NAME.findall(match.group(1))) & used_names else ""

    return _CSS_RULE.sub(keep, css_text)


def used_code_points(outdir):
    """{name: code point} of the icons the built site at ``outdir`` can show: the icon classes its pages and
    theme scripts name, and (named ``css U+XXXX``) the icons its stylesheets use in CSS content."""
    outdir = Path(outdir)
    files = [p for p in outdir.rglob("*.html") if "_static" not in p.parts]
    files += [p for p in (outdir / "_static" / "scripts").glob("*.js") if p.name != "fontawesome.js"]
    points = code_points(theme_stylesheet(outdir))
    used = {name: points[name] for name in sorted(icon_classes(files)) if name in points}
    for css in sorted((outdir / "_static").rglob("*.css")):
        for point in sorted(css_content_points(css.read_text(encoding="utf-8", errors="replace"))):
            used.setdefault(f"css U+{point:04X}", point)
    return used


def subset_font(source, unicodes, target):
    """Write the glyphs of ``unicodes`` from the font ``source`` into the WOFF file ``target``."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"  # zlib: WOFF2 would need the brotli module
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    font = subset.load_font(str(source), options)  # reads the file lazily: closed below
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(set(unicodes) | {0x20}))  # and the space, lest a blank fetch the full font
        subsetter.subset(font)
        subset.save_font(font, str(target), options)
    finally:
        font.close()


def font_face(font_file):
    return ('@font-face{font-display:block;font-family:"Font Awesome 6 Free";font-style:normal;font-weight:900;'
            f'src:url({font_file}) format("woff")}}\n')


def _lighten(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    script = outdir / FONTAWESOME_JS
    if script.is_file():
        script.write_text(STUB, encoding="utf-8")
    css = outdir / "_static" / SUBSET_CSS
    note = "/* adamedu (book/_ext/light_icons.py): the theme's Font Awesome font, cut to the icons the site uses */\n"
    if not ((outdir / THEME_CSS).is_file() and (outdir / SOLID_TTF).is_file()):
        css.write_text(note + "/* (no theme font found: none cut) */\n", encoding="utf-8")
        logger.info("light_icons: no Font Awesome stylesheet or font in the theme: the icons' font is not cut")
        return
    icons = used_code_points(outdir)
    theme_css = outdir / THEME_CSS
    theme_css.write_text(without_unused_rules(theme_stylesheet(outdir), set(icons)), encoding="utf-8")
    try:
        subset_font(outdir / SOLID_TTF, set(icons.values()), outdir / "_static" / SUBSET_FONT)
    except ImportError:
        css.write_text(note + "/* (fontTools is not installed: the theme's font is used) */\n", encoding="utf-8")
        logger.info("light_icons: fontTools is missing: the theme's full Font Awesome font draws the icons")
        return
    css.write_text(note + font_face(SUBSET_FONT), encoding="utf-8")
    size = (outdir / "_static" / SUBSET_FONT).stat().st_size
    logger.info(f"light_icons: {len(icons)} icons in {SUBSET_FONT} ({size} bytes): {', '.join(icons)}")


def setup(app):
    app.add_css_file(SUBSET_CSS)
    app.connect("build-finished", _lighten)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
