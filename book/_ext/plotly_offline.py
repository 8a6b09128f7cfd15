"""Plotly served from the site itself, on the pages that hold an explorable (adamedu.plots.explorables).

At the start of the build, a Plotly bundle is copied as ``plotly.min.js`` into a folder that is added to
``html_static_path``, so it lands in ``_build/html/_static/``; nothing is fetched from a CDN. Which bundle:

- Plotly's *cartesian* partial bundle (npm ``plotly.js-cartesian-dist-min``, 1.5 MB), which `tasks.py` installs
  into ``.venv/node_modules``, when it is found and its plotly.js version equals the one the installed plotly
  package embeds (the explorables' figures are written by that package, for that version). It holds every trace
  type the explorables use (scatter, heatmap, contour; tests/test_plotly_bundle.py checks this), and sliders and
  dropdowns are part of Plotly's core.
- Otherwise the full ``plotly.min.js`` of the plotly package (4.8 MB). The build log says which bundle it copied
  and why.

It is looked for at ``$PLOTLY_CARTESIAN_JS`` (a path to the file), else in ``node_modules`` of the project's
``.venv`` and of the running Python's environment (``sys.prefix``).

Each page whose body holds an explorable (the marker class ``adamedu-explorable``) gets a ``<script>`` for it in
its head (before the page's own scripts run, so the explorable's inline script finds ``window.Plotly``); other
pages do not load it.

An explorable's output also carries ``application/vnd.plotly.v1+json`` (for JupyterLab). myst-nb renders every
mime type of an output before it picks the one the builder shows (here ``text/html``), and warns about the
types it has no renderer for, which ``-W`` turns into an error: this extension silences that one kind of
warning (``mystnb.unknown_mime_type``). An output with no type the site can show still fails the build
(``mystnb.mime_priority``).
"""

import os
import re
import shutil
import sys
from pathlib import Path

from sphinx.util import logging

MARKER = 'class="adamedu-explorable"'
FILENAME = "plotly.min.js"
CARTESIAN = Path("node_modules") / "plotly.js-cartesian-dist-min" / "plotly-cartesian.min.js"
_VERSION = re.compile(rb"plotly\.js \(cartesian[^)]*\) v(\d+\.\d+\.\d+)")

logger = logging.getLogger(__name__)


def bundle_version(path):
    """The plotly.js version in the header comment of a cartesian bundle (``plotly.js (cartesian - minified)
    v4.1.1``), or None if the file does not start with one."""
    with open(path, "rb") as f:
        match = _VERSION.search(f.read(400))
    return match.group(1).decode() if match else None


def cartesian_candidates(root):
    if os.environ.get("PLOTLY_CARTESIAN_JS"):
        yield Path(os.environ["PLOTLY_CARTESIAN_JS"])
    yield Path(root) / ".venv" / CARTESIAN
    yield Path(sys.prefix) / CARTESIAN


def choose_bundle(root, candidates=None):
    """(path of the bundle to serve, why): the cartesian bundle if one of the candidates exists and matches the
    plotly package's plotly.js version, else the plotly package's full bundle."""
    import plotly
    from plotly.offline import get_plotlyjs_version

    full = Path(plotly.__file__).parent / "package_data" / FILENAME
    wanted = get_plotlyjs_version()
    why = []
    for path in cartesian_candidates(root) if candidates is None else candidates:
        if not path.is_file():
            continue
        found = bundle_version(path)
        if found == wanted:
            return path, f"the cartesian bundle {path} (plotly.js {wanted})"
        why.append(f"{path} is plotly.js {found or '(no version in its header)'}, not {wanted}")
    why = "; ".join(why) or (f"no cartesian bundle (npm install --prefix .venv "
                             f"plotly.js-cartesian-dist-min@{wanted}, or set PLOTLY_CARTESIAN_JS)")
    return full, f"the full bundle of the plotly package (plotly.js {wanted}): {why}"


def _copy_plotly(app):
    if app.builder.format != "html":
        return
    source, why = choose_bundle(app.confdir or app.srcdir)
    logger.info(f"plotly_offline: serving {why}")
    folder = Path(app.doctreedir).parent / "plotly_static"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / FILENAME)
    app.config.html_static_path = [*app.config.html_static_path, str(folder)]


def _add_plotly(app, pagename, templatename, context, doctree):
    if MARKER in (context.get("body") or ""):
        # The inline script of an explorable needs Plotly when the page is parsed: no defer, no async.
        app.add_js_file(FILENAME, priority=200)


def _quiet_plotly_mime(app, config):
    if "mystnb.unknown_mime_type" not in config.suppress_warnings:
        config.suppress_warnings = [*config.suppress_warnings, "mystnb.unknown_mime_type"]


def setup(app):
    app.connect("config-inited", _quiet_plotly_mime)
    app.connect("builder-inited", _copy_plotly)
    app.connect("html-page-context", _add_plotly)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
