"""Plotly served from the site itself, on the pages that hold an explorable (adamedu.plots.explorables).

At the start of the build, ``plotly.min.js`` of the installed plotly package is copied into a folder that is
added to ``html_static_path``, so it lands in ``_build/html/_static/``; nothing is fetched from a CDN. Each page
whose body holds an explorable (the marker class ``adamedu-explorable``) gets a ``<script>`` for it in its head
(before the page's own scripts run, so the explorable's inline script finds ``window.Plotly``); other pages do not
load its 4.8 MB.

An explorable's output also carries ``application/vnd.plotly.v1+json`` (for JupyterLab). myst-nb renders every
mime type of an output before it picks the one the builder shows (here ``text/html``), and warns about the
types it has no renderer for, which ``-W`` turns into an error: this extension silences that one kind of
warning (``mystnb.unknown_mime_type``). An output with no type the site can show still fails the build
(``mystnb.mime_priority``).
"""

import shutil
from pathlib import Path

MARKER = 'class="adamedu-explorable"'
FILENAME = "plotly.min.js"


def _copy_plotly(app):
    if app.builder.format != "html":
        return
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / FILENAME
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
