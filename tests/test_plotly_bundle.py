"""The Plotly bundle the website serves (book/_ext/plotly_offline.py).

- Plotly's cartesian partial bundle holds every trace type the six explorables draw. The bundle's trace types
  are those its npm package's README names (plotly.js-cartesian-dist-min 4.1.1: "Contains trace modules bar,
  box, contour, heatmap, histogram, histogram2d, histogram2dcontour, image, pie, scatter, scatterternary and
  violin"); when the bundle is installed, the test also reads the trace modules it registers from the file.
  Sliders and dropdowns (updatemenus) are components of Plotly's core, in every bundle.
- The extension serves that bundle when its version equals the plotly package's plotly.js version, and falls back
  to the package's full bundle (saying so in the build log) when it is absent or of another version: a tiny
  Sphinx project, built without the book.
"""

import io
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("plotly")
from plotly.offline import get_plotlyjs_version  # noqa: E402

from adamedu.plots import explorables as ex  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import plotly_offline  # noqa: E402 - book/_ext is put on the path just above

# From the README of npm's plotly.js-cartesian-dist-min@4.1.1 (the version plotly 7.1 embeds).
CARTESIAN_TRACES = {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "image",
                    "pie", "scatter", "scatterternary", "violin"}
INSTALLED = [p for p in plotly_offline.cartesian_candidates(ROOT) if p.is_file()]


@pytest.fixture(scope="module")
def figures():
    return [f() for f in (ex.gd_learning_rate, ex.momentum_rate_map, ex.optimizer_race, ex.adam_bias_correction,
                         ex.adamw_settling, ex.warmup_vs_radam)]


def trace_types(explorable):
    return {trace.get("type", "scatter") for trace in explorable.figure["data"]}


def test_every_explorable_trace_type_is_in_the_cartesian_bundle(figures):
    used = set().union(*(trace_types(e) for e in figures))
    assert used >= {"scatter", "heatmap"}  # the explorables do plot these (a check that the test sees traces)
    assert used <= CARTESIAN_TRACES, f"not in Plotly's cartesian bundle: {sorted(used - CARTESIAN_TRACES)}"
    assert (trace_types(figures[0]) | {"scatter3d"}) - CARTESIAN_TRACES == {"scatter3d"}  # negative control


@pytest.mark.skipif(not INSTALLED, reason="plotly.js-cartesian-dist-min is not installed (tasks.py installs it)")
def test_the_installed_cartesian_bundle_registers_those_trace_types():
    text = INSTALLED[0].read_text(encoding="utf-8")
    registered = set(re.findall(r'moduleType:"trace",name:"(\w+)"', text))
    assert registered == CARTESIAN_TRACES
    assert plotly_offline.bundle_version(INSTALLED[0]) == get_plotlyjs_version()


def fake_bundle(path, version):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"/**\n* plotly.js (cartesian - minified) v{version}\n*/\nvar Plotly={{}};\n", encoding="utf-8")
    return path


def build(tmp_path, monkeypatch, bundle_version=None):
    """A one-page Sphinx project with an explorable marker; the fake bundle (if any) in its .venv/node_modules.
    Returns (the build log, the served plotly.min.js, the page)."""
    from sphinx.application import Sphinx

    monkeypatch.delenv("PLOTLY_CARTESIAN_JS", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "no-env"))  # not the real environment's node_modules
    src = tmp_path / "src"
    src.mkdir()
    if bundle_version:
        fake_bundle(src / ".venv" / plotly_offline.CARTESIAN, bundle_version)
    (src / "index.rst").write_text("Tiny\n====\n\n.. raw:: html\n\n   <figure class=\"adamedu-explorable\">"
                                   "</figure>\n", encoding="utf-8")
    (src / "conf.py").write_text("extensions = ['plotly_offline']\nexclude_patterns = ['.venv']\n",
                                 encoding="utf-8")
    status = io.StringIO()
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "html",
                 status=status, warning=io.StringIO(), freshenv=True)
    app.build()
    out = tmp_path / "out"
    return status.getvalue(), (out / "_static" / "plotly.min.js").read_bytes(), \
        (out / "index.html").read_text(encoding="utf-8")


def full_bundle():
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def test_serves_the_cartesian_bundle_of_the_same_version(tmp_path, monkeypatch):
    log, served, page = build(tmp_path, monkeypatch, get_plotlyjs_version())
    assert served.startswith(b"/**\n* plotly.js (cartesian - minified)")
    assert "serving the cartesian bundle" in log
    assert re.search(r'<script src="_static/plotly\.min\.js', page)


def test_falls_back_to_the_full_bundle_when_the_cartesian_one_is_absent(tmp_path, monkeypatch):
    log, served, page = build(tmp_path, monkeypatch)
    assert served == full_bundle()
    assert "serving the full bundle" in log and "no cartesian bundle" in log
    assert re.search(r'<script src="_static/plotly\.min\.js', page)


def test_falls_back_to_the_full_bundle_when_the_versions_differ(tmp_path, monkeypatch):
    log, served, _ = build(tmp_path, monkeypatch, "1.0.0")
    assert served == full_bundle()
    assert "serving the full bundle" in log and f"is plotly.js 1.0.0, not {get_plotlyjs_version()}" in log


def test_bundle_version_reads_only_a_cartesian_header(tmp_path):
    assert plotly_offline.bundle_version(fake_bundle(tmp_path / "c.js", "4.1.1")) == "4.1.1"
    full = tmp_path / "full.js"
    full.write_bytes(full_bundle()[:400])
    assert plotly_offline.bundle_version(full) is None
