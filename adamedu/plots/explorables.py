"""Explorables: figures whose hyperparameters the reader moves, computed by the package when the book builds.

Each builder runs :func:`adamedu.minimize` over a small grid of slider values and returns an
:class:`Explorable`: a Plotly figure whose sliders and menus only pick among those precomputed runs
(``restyle`` / ``update`` calls, no JavaScript of ours that computes anything). ::

    from adamedu.plots import explorables
    explorables.gd_learning_rate()        # as the last line of a cell: interactive in JupyterLab and on the site

How it is shown
---------------
``Explorable._repr_mimebundle_`` gives every reader something:

- ``application/vnd.plotly.v1+json``: the figure with Plotly's own sliders and menus, which JupyterLab
  (the ``jupyterlab-plotly`` extension that comes with plotly) draws interactively;
- ``text/html``, which the website (myst-nb) shows: the static picture of the default view (a PNG drawn by
  matplotlib from the same data), a visually hidden text description for screen readers, and a small script
  that, when Plotly is on the page, draws the figure and replaces Plotly's sliders (which a keyboard cannot
  reach) by native ``<input type="range">`` and ``<select>`` controls that call the same Plotly methods;
  without JavaScript, or without Plotly, the picture stays;
- ``image/png`` (the default view) and ``text/plain`` (the description) for everything else.

The website serves ``plotly.min.js`` itself (``book/_ext/plotly_offline.py`` copies Plotly's cartesian bundle,
or without it the plotly package's full one, into ``_static`` and adds it to the pages that hold an
explorable): nothing is fetched from elsewhere. The figures therefore use only the cartesian bundle's trace
types (scatter, heatmap, contour here; tests/test_plotly_bundle.py checks it).

Every path shown is a :func:`adamedu.minimize` run; ``Explorable.runs`` keeps them, keyed by the controls'
values, so a test can compare what the figure holds with a fresh run. To keep the pages light (issue 13: a
chapter page under ~5 MB), the page carries 4 significant digits of each number, the landscapes' contours on a
50 × 50 grid, and the race's loss curves only at the steps where they bend (:func:`_loss_curve`: within a
thousandth of the plotted range of the full curve); paths keep every iterate.
"""

# L (the smoothness constant) and T (the warm-up length) keep the capitals of their equations.
# ruff: noqa: N803, N806

import base64
import hashlib
import html
import io
import json
import math

import matplotlib
import matplotlib.colors
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..loop import minimize
from ..optimizers import Adam, AdamW, GradientDescent, Momentum, RAdam, RMSprop
from ..problems import Noisy, Problem, Quadratic, Rosenbrock, Saddle, ravine

__all__ = ["Explorable", "gd_learning_rate", "momentum_rate", "momentum_rate_map", "optimizer_race",
           "adam_bias_correction", "adamw_settling", "warmup_vs_radam", "LANDSCAPES"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
_DIGITS = 4  # significant digits of the numbers a page carries: the paths equal the runs to 5e-4, relatively
# (a pixel of a 400-pixel panel is 2.5e-3 of it): the page stays light
_CONTROL_SPACE = 60  # pixels below the plot for each Plotly slider (JupyterLab); the site uses native controls
_BELOW = 95  # pixels below the plot area for the x-axis's ticks and title, and the legend


# -- the container ----------------------------------------------------------------------------------------


class Explorable:
    """A Plotly figure with controls, its static default view, and a text description.

    ``figure`` is a dict ``{"data": [...], "layout": {...}}`` (Plotly's JSON form; ``layout["sliders"]`` and
    ``layout["updatemenus"]`` are the controls). ``runs`` maps the controls' values to the
    :class:`~adamedu.loop.Trace` each shows. ``description`` says in words what the default view shows and
    what the controls do.
    """

    def __init__(self, name, title, figure, description, runs):
        _place_controls(figure["layout"])
        self.name, self.title, self.figure, self.description, self.runs = name, title, figure, description, runs
        self._png = None

    def __repr__(self):
        return f"<Explorable {self.name}: {self.title}>"

    @property
    def controls(self):
        """The sliders and menus, as Plotly describes them (``[(kind, spec), ...]``)."""
        layout = self.figure["layout"]
        return [("slider", s) for s in layout.get("sliders", [])] + \
               [("menu", m) for m in layout.get("updatemenus", [])]

    def to_plotly(self):
        """The figure as a ``plotly.graph_objects.Figure`` (for ``.show()``, ``.write_html()`` ...)."""
        import plotly.graph_objects as go

        return go.Figure(self.figure)

    def png(self):
        """The default view as PNG bytes, drawn by matplotlib from the figure's data (cached)."""
        if self._png is None:
            fig = static_figure(self.figure)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=72)
            self._png = buffer.getvalue()
        return self._png

    def to_html(self):
        """The HTML the website shows: picture, description, and the interactive figure when Plotly is there."""
        text = html.escape(self.description)
        site = _site_figure(self.figure)
        spec = json.dumps(site, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        # named by its content, so that a rebuild writes the same page (and two different figures differ)
        uid = f"adamedu-x-{self.name}-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"
        picture = base64.b64encode(self.png()).decode("ascii")
        return (
            f'<figure class="adamedu-explorable" id="{uid}" role="group" aria-labelledby="{uid}-title" '
            f'aria-describedby="{uid}-desc" style="{_CARD}">\n'
            f'<figcaption id="{uid}-title" style="color:black"><strong>{html.escape(self.title)}</strong>'
            f'</figcaption>\n'
            f'<p id="{uid}-desc" class="adamedu-description" style="{_VISUALLY_HIDDEN}">{text}</p>\n'
            f'<div class="adamedu-controls" style="display:flex;flex-wrap:wrap;gap:0.4em 1.5em;margin:0.4em 0"></div>\n'
            # a group, not an img: the chart holds focusable parts (an img must not: axe's nested-interactive)
            f'<div class="adamedu-plot" role="group" aria-label="{html.escape(self.title)}: an interactive chart; '
            f'its description is above"></div>\n'
            f'<img class="adamedu-fallback" src="data:image/png;base64,{picture}" '
            f'alt="{html.escape(self.title)} (default view; described above)" '
            f'style="max-width:100%;background:white">\n'
            f'<script type="application/json" class="adamedu-spec">{spec}</script>\n'
            f"<script>{_SCRIPT}\nadameduExplorable(document.getElementById('{uid}'));</script>\n"
            f"</figure>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            PLOTLY_MIME: _jsonable(self.figure),
            "text/html": self.to_html(),
            "image/png": base64.b64encode(self.png()).decode("ascii"),
            "text/plain": f"{self.title}. {self.description}",
        }


# A white card with black ink, like the static figures: it reads the same on the light and the dark theme.
_CARD = "margin:1em 0;padding:0.5em;background:white;color:black;border-radius:4px;color-scheme:light"
_VISUALLY_HIDDEN = ("position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
                    "clip:rect(0 0 0 0);white-space:nowrap;border:0")

# The controls: one native, labelled, keyboard-operable element per Plotly slider or menu, calling the very
# Plotly method (restyle / update) with the very arguments of the Plotly control it stands for.
_SCRIPT = r"""window.adameduExplorable = window.adameduExplorable || function (root) {
  if (!root || !window.Plotly) { return; }  // no Plotly: the static picture stays
  var spec = JSON.parse(root.querySelector('.adamedu-spec').textContent);
  var plot = root.querySelector('.adamedu-plot'), box = root.querySelector('.adamedu-controls');
  var apply = function (step) { return Plotly[step.method].apply(null, [plot].concat(step.args)); };
  Plotly.newPlot(plot, spec.data, spec.layout, {responsive: true, displaylogo: false, displayModeBar: false});
  root.querySelector('.adamedu-fallback').hidden = true;
  spec.controls.forEach(function (c, i) {
    var id = root.id + '-c' + i, label = document.createElement('label'), out;
    label.htmlFor = id; label.textContent = c.label + ' ';
    var wrap = document.createElement('span'); wrap.appendChild(label);
    var input = document.createElement(c.kind === 'slider' ? 'input' : 'select');
    input.id = id;
    if (c.kind === 'slider') {
      input.type = 'range'; input.min = 0; input.max = c.steps.length - 1; input.step = 1; input.value = c.active;
      out = document.createElement('output'); out.htmlFor = id;
      var show = function () {
        var text = c.steps[input.value].label; out.textContent = ' ' + text;
        input.setAttribute('aria-valuetext', c.label + ' ' + text);
      };
      show();
      input.addEventListener('input', function () { show(); apply(c.steps[input.value]); });
    } else {
      c.steps.forEach(function (s, k) {
        var o = document.createElement('option'); o.value = k; o.textContent = s.label; input.appendChild(o);
      });
      input.value = c.active;
      input.addEventListener('change', function () { apply(c.steps[input.value]); });
    }
    wrap.appendChild(input); if (out) { wrap.appendChild(out); }
    box.appendChild(wrap);
  });
};"""


def _site_figure(figure):
    """The figure for the website: Plotly's controls taken out (native ones stand in) and their room given back."""
    layout = dict(figure["layout"])
    sliders, menus = layout.pop("sliders", []), layout.pop("updatemenus", [])
    layout["height"] = layout["height"] - _CONTROL_SPACE * len(sliders) - (40 if menus else 0)
    layout["margin"] = {**layout["margin"], "b": _BELOW, "t": layout["margin"]["t"] - (40 if menus else 0)}
    area = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    layout["legend"] = {**layout["legend"], "y": -58 / area}
    controls = [{"kind": "slider", "label": s["currentvalue"]["prefix"].rstrip(" =:"), "active": s["active"],
                 "steps": [{"label": st["label"], "method": st["method"], "args": st["args"]} for st in s["steps"]]}
                for s in sliders]
    controls += [{"kind": "menu", "label": m["name"], "active": m["active"],
                  "steps": [{"label": b["label"], "method": b["method"], "args": b["args"]} for b in m["buttons"]]}
                 for m in menus]
    return {"data": figure["data"], "layout": layout, "controls": controls}


def _jsonable(figure):
    return json.loads(json.dumps(figure, allow_nan=False))


# -- numbers for the page ---------------------------------------------------------------------------------


def _num(values):
    """A list of floats rounded to _DIGITS significant digits (a light page); non-finite values become None."""
    out = []
    for v in np.asarray(values, dtype=float).ravel():
        if not math.isfinite(v):
            out.append(None)
        elif v.is_integer() and abs(v) < 1e15:
            out.append(int(v))  # "3", not "3.0"
        else:
            out.append(float(f"{v:.{_DIGITS}g}"))
    return out


def _fmt(value):
    return f"{value:g}"


def _colors():
    """The colour cycle of matplotlib's settings, so explorables and static figures agree."""
    return [matplotlib.colors.to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]]


# -- the runs -----------------------------------------------------------------------------------------------


def _sweep(settings, problem, x0, make_optimizer, steps):
    """``{setting: minimize(problem, x0, make_optimizer(setting), steps)}`` for each setting of a grid.

    ``problem`` is a Problem, or a function of the setting that returns one (Adam + L2's penalized problem
    changes with λ). Every path an explorable shows is one of these runs.
    """
    return {s: minimize(problem(s) if callable(problem) else problem, x0, make_optimizer(s), steps)
            for s in settings}


def _simplified(x, y, tolerance):
    """Indices of the points of the curve (x, y) to keep: straight lines between kept points pass within
    ``tolerance`` (vertically, in the units plotted) of every dropped point (Ramer, Douglas and Peucker's
    simplification). The first and last points are kept; a curve with a non-finite value is kept whole."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(y)
    if n <= 2 or not np.all(np.isfinite(y)):
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[[0, -1]] = True
    spans = [(0, n - 1)]
    while spans:
        i, j = spans.pop()
        if j <= i + 1:
            continue
        between = np.arange(i + 1, j)
        line = y[i] + (y[j] - y[i]) * (x[between] - x[i]) / (x[j] - x[i])
        k = int(np.argmax(np.abs(y[between] - line)))
        if abs(y[between[k]] - line[k]) > tolerance:
            keep[between[k]] = True
            spans += [(i, between[k]), (between[k], j)]
    return np.flatnonzero(keep)


def _loss_curve(losses, log, pixels=1e-3):
    """(steps, losses) of a loss curve thinned where it is smooth: within ``pixels`` of the plotted range (a
    thousandth: under half a pixel of a 400-pixel panel) of the full curve, on a log or a linear axis."""
    losses = np.asarray(losses, dtype=float)
    steps = np.arange(len(losses))
    shown = np.log10(losses) if log and np.all(losses > 0) else losses
    finite = shown[np.isfinite(shown)]
    span = float(np.ptp(finite)) if finite.size else 0.0
    keep = _simplified(steps, shown, pixels * span) if span > 0 else np.arange(len(losses))
    return steps[keep], losses[keep]


# -- building blocks of the figures -------------------------------------------------------------------------


def _layout(title, height, n_sliders, axes, menus=False, width=None):
    """A white layout (readable on the light and the dark theme, as the static figures) with room for controls."""
    layout = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "height": height,  # of the plot, its title and legend: _place_controls adds room for the sliders
        "margin": {"l": 60, "r": 20, "t": 70 + (40 if menus else 0), "b": _BELOW},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "black"},
        "legend": {"orientation": "h", "x": 0, "y": 0, "yanchor": "top", "bgcolor": "rgba(255,255,255,0.85)"},
        "showlegend": True,
    }
    if width:
        layout["width"] = width
    layout.update(axes)
    return layout


def _axis(title, domain, *, log=False, range_=None, anchor=None, equal_to=None):
    axis = {"title": {"text": title}, "domain": list(domain), "showline": True, "linecolor": "black",
            "mirror": True, "ticks": "outside", "zeroline": False, "gridcolor": "#dddddd"}
    if log:
        axis["type"] = "log"
        axis["exponentformat"] = "power"  # 10⁻⁶, not Plotly's SI prefix "1µ"
    if range_ is not None:
        axis["range"] = [float(r) for r in range_]
        axis["autorange"] = False
        axis["constrain"] = "domain"  # equal axes shrink the panel, not widen the window shown
    if anchor:
        axis["anchor"] = anchor
    if equal_to:
        axis["scaleanchor"] = equal_to
        axis["scaleratio"] = 1
    return axis


def _landscape(problem, window, name_axes=("x", "y"), resolution=50, showscale=True, bar_x=0.46):
    """Contours of log10(loss − min) over ``window`` (a log scale gives a ravine's floor as many lines as its walls)."""
    (x0, x1), (y0, y1) = window
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    z = np.array([[problem.loss(np.array([x, y])) for x in xs] for y in ys])
    positive = z.min() >= 0
    shown = np.log10(z - z.min() + 1e-3 * (np.ptp(z) or 1)) if positive else z
    trace = {"type": "contour", "x": _num(xs), "y": _num(ys), "z": [_num(row) for row in shown],
             "colorscale": "Viridis", "ncontours": 20, "line": {"color": "white", "width": 0.5},
             "showscale": showscale, "hoverinfo": "skip", "name": "loss",
             "colorbar": {"title": {"text": "log₁₀ loss" if positive else "loss", "side": "right"},
                          "len": 0.9, "thickness": 12, "x": bar_x, "xanchor": "left"},
             "xaxis": name_axes[0], "yaxis": name_axes[1], "showlegend": False}
    return trace


def _path_trace(path, name, color, axes=("x", "y"), dash=None, visible=True):
    return {"type": "scatter", "mode": "lines+markers", "x": _num(path[:, 0]), "y": _num(path[:, 1]),
            "name": name, "line": {"color": color, "width": 2, **({"dash": dash} if dash else {})},
            "marker": {"size": 4, "color": color, "line": {"color": "white", "width": 0.5}},
            "xaxis": axes[0], "yaxis": axes[1], "visible": visible}


def _curve_trace(y, name, color, axes=("x2", "y2"), x=None, dash=None, visible=True, showlegend=False):
    x = np.arange(len(y)) if x is None else x
    return {"type": "scatter", "mode": "lines", "x": _num(x), "y": _num(y), "name": name,
            "line": {"color": color, "width": 2, **({"dash": dash} if dash else {})},
            "xaxis": axes[0], "yaxis": axes[1], "visible": visible, "showlegend": showlegend}


def _point_trace(xy, name, color, axes=("x", "y"), symbol="circle", size=12, visible=True, showlegend=True):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return {"type": "scatter", "mode": "markers", "x": _num(xy[:, 0]), "y": _num(xy[:, 1]), "name": name,
            "marker": {"symbol": symbol, "size": size, "color": color, "line": {"color": "black", "width": 1}},
            "xaxis": axes[0], "yaxis": axes[1], "visible": visible, "showlegend": showlegend}


def _place_controls(layout):
    """Stack the sliders below the legend, in pixels converted to the paper's units (the plot area's height)."""
    sliders = layout.get("sliders", [])
    layout["height"] = layout["height"] + _CONTROL_SPACE * len(sliders)
    layout["margin"]["b"] = _BELOW + _CONTROL_SPACE * len(sliders)
    area = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]  # the plot area, in pixels
    layout["legend"]["y"] = -58 / area
    for i, s in enumerate(sliders):
        s["y"] = -(_BELOW + _CONTROL_SPACE * i) / area


def _slider(prefix, labels, steps_args, active, method="restyle", index=0, n=1):
    """A Plotly slider: step k calls ``Plotly[method](plot, *steps_args[k])``; stacked below the plot."""
    return {"active": int(active), "currentvalue": {"prefix": f"{prefix} = ", "font": {"size": 13}},
            "pad": {"t": 10, "b": 5}, "len": 0.95, "x": 0.03, "xanchor": "left",
            "y": 0, "yanchor": "top",  # placed by _place_controls
            "steps": [{"label": str(label), "method": method, "args": args}
                      for label, args in zip(labels, steps_args, strict=True)]}


def _menu(name, labels, steps_args, active, method="update", x=0.0):
    """A Plotly dropdown above the plot; ``name`` labels the native control that stands for it on the site."""
    return {"name": name, "type": "dropdown", "active": int(active), "x": x, "xanchor": "left", "y": 1.2,
            "yanchor": "top", "showactive": True, "bgcolor": "white",
            "buttons": [{"label": str(label), "method": method, "args": args}
                        for label, args in zip(labels, steps_args, strict=True)]}


# -- 1. gradient descent: the learning rate across 2/L ------------------------------------------------------


GD_LRS = tuple(round(0.01 + 0.005 * k, 3) for k in range(23))  # 0.01, 0.015, ..., 0.12: across 2/L = 0.1


def gd_learning_rate(lrs=GD_LRS, default=0.08, x0=(1.5, 1.5), steps=40):
    """Gradient descent on the ravine x² + 10y² with a slider for the learning rate α, across 2/L = 0.1.

    Left: the path over the contours; right: the loss on a log scale. Past α = 2/L the zig-zag across the
    ravine grows at every step and the path leaves the picture.
    """
    problem = ravine()
    lrs = _grid(lrs, "lrs", "gd_learning_rate")
    active = _index_of(default, lrs, "default", "gd_learning_rate")
    runs = _sweep(lrs, problem, x0, lambda lr: GradientDescent(lr=lr), steps)
    limit = 2 / problem.L
    window = ((-2.0, 2.0), (-2.0, 2.0))
    color = _colors()[0]

    def verdict(lr):
        trace = runs[lr]
        if lr > limit:
            return f"α = {lr:g} > 2/L = {limit:g}: the path diverges (loss {trace.final_loss:.3g} after {steps} steps)"
        if lr == limit:
            return f"α = 2/L = {limit:g}: the path bounces between two points forever"
        return f"α = {lr:g} < 2/L = {limit:g}: loss {trace.final_loss:.2g} after {steps} steps"

    first = runs[lrs[active]]
    data = [_landscape(problem, window),
            _path_trace(first.path, "gradient descent", color),
            _curve_trace(first.losses, "loss", color),
            _point_trace(problem.minimum, "minimum", "gold", symbol="star", size=14)]
    args = [[{"x": [_num(runs[lr].path[:, 0]), _num(np.arange(len(runs[lr].losses)))],
              "y": [_num(runs[lr].path[:, 1]), _num(runs[lr].losses)]},
             {"title.text": verdict(lr)}, [1, 2]] for lr in lrs]
    axes = {"xaxis": _axis("x", (0, 0.45), range_=window[0]), "yaxis": _axis("y", (0, 1), range_=window[1],
                                                                              equal_to="x"),
            "xaxis2": _axis("step", (0.68, 1), anchor="y2"),
            "yaxis2": _axis("loss (log scale)", (0, 1), log=True, anchor="x2", range_=(-12, 8))}
    layout = _layout(verdict(lrs[active]), 420, 1, axes)
    layout["sliders"] = [_slider("α", [_fmt(lr) for lr in lrs], args, active, method="update")]
    description = (f"Gradient descent on f(x, y) = x² + 10y² from {tuple(x0)}, {steps} steps. Left: the path over the "
                   f"contours of the loss; right: the loss on a log scale. A slider sets the learning rate α from "
                   f"{lrs[0]:g} to {lrs[-1]:g} (shown first: {lrs[active]:g}). Below α = 2/L = {limit:g} the loss "
                   f"falls; above it the zig-zag across the ravine grows at every step and the loss climbs "
                   f"(at α = {lrs[-1]:g} it reaches {runs[lrs[-1]].final_loss:.3g}).")
    return Explorable("gd-lr", "Gradient descent: move the learning rate across 2/L",
                      {"data": data, "layout": layout}, description, runs)


# -- 2. momentum: the (α, β) map of the rate ----------------------------------------------------------------


def momentum_rate(lr, beta, curvatures):
    r"""The rate at which momentum's distance to the minimum shrinks per step on a quadratic, in the long run.

    Along a direction of curvature h, ``Momentum(lr=α, beta=β)`` is the linear recursion
    w_t = (1 + β − α(1 − β)h) w_{t−1} − β w_{t−2} (chapter 2, Polyak's heavy ball), whose state (w_t, w_{t−1})
    is multiplied by the matrix [[1 + β − α(1 − β)h, −β], [1, 0]] each step. The rate is the largest spectral
    radius of these matrices over the curvatures: below 1 the iteration converges, at or above 1 it does not.
    """
    h = np.asarray(curvatures, dtype=float)
    rates = []
    for hi in h.ravel():
        matrix = np.array([[1 + beta - lr * (1 - beta) * hi, -beta], [1.0, 0.0]])
        rates.append(np.abs(np.linalg.eigvals(matrix)).max())
    return float(max(rates))


def _optimal_momentum(problem):
    kappa, L, mu = problem.condition_number, problem.L, problem.mu
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2 / (1 - beta), beta


def momentum_rate_map(lrs=None, betas=None, default=(0.1, 0.9), x0=(1.5, 1.5), steps=60, resolution=60):
    """Momentum on the ravine: the map of its rate over (α, β) next to the path of the (α, β) the reader picks.

    Left: :func:`momentum_rate` over α (log scale) and β, a marker at the chosen pair; right: the path. The
    sliders hold the values chapter 2 names: α = 0.1, 1.8, 2.0, β = 0.9, and the optimal α*, β*.
    """
    problem = ravine()
    lr_star, beta_star = _optimal_momentum(problem)
    lrs = sorted({0.01, 0.03, 0.1, round(lr_star, 4), 0.3, 0.6, 1.0, 1.8, 2.0, 3.0} if lrs is None else lrs)
    betas = sorted({0.0, round(beta_star, 4), 0.5, 0.7, 0.9, 0.95} if betas is None else betas)
    lrs, betas = _grid(lrs, "lrs", "momentum_rate_map"), _grid(betas, "betas", "momentum_rate_map")
    a_active = _index_of(default[0], lrs, "default α", "momentum_rate_map")
    b_active = _index_of(default[1], betas, "default β", "momentum_rate_map")
    runs = _sweep([(lr, beta) for lr in lrs for beta in betas], problem, x0,
                  lambda s: Momentum(lr=s[0], beta=s[1]), steps)

    map_lrs = np.geomspace(0.005, 5.0, resolution)
    map_betas = np.linspace(0.0, 0.99, resolution)
    rate = np.array([[momentum_rate(a, b, problem.curvatures) for a in map_lrs] for b in map_betas])
    window = ((-2.0, 2.0), (-2.0, 2.0))
    color = _colors()[1]
    shown = np.clip(rate, 0.5, 1.1)  # the colours resolve rates from 0.5 (the best here: 0.55) to 1 (diverges)
    heat = {"type": "heatmap", "x": _num(map_lrs), "y": _num(map_betas), "z": [_num(r) for r in shown],
            "zmin": 0.5, "zmax": 1.1, "name": "rate",
            "colorscale": [[0, "#0d0887"], [0.5, "#cc4778"], [0.8, "#f0f921"], [0.8334, "#7f0000"], [1, "#3f0000"]],
            "colorbar": {"title": {"text": "rate per step", "side": "top"}, "len": 0.9, "thickness": 12,
                         "x": 0.475, "xanchor": "left", "tickvals": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                         "ticktext": ["≤ 0.5", "0.6", "0.7", "0.8", "0.9", "≥ 1"]},
            "hovertemplate": "α = %{x:.3g}, β = %{y:.2f}: rate %{z:.3f}<extra></extra>", "xaxis": "x", "yaxis": "y",
            "showlegend": False}
    # One path trace (and one marker) per β; the α slider rewrites all of them, the β slider shows one.
    n = len(betas)
    data = [heat]
    for j, beta in enumerate(betas):
        data.append(_point_trace((lrs[a_active], beta), "your (α, β)", "white", size=13, visible=j == b_active,
                                 showlegend=False))
    data.append(_landscape(problem, window, ("x2", "y2"), showscale=False))
    for j, beta in enumerate(betas):
        run = runs[(lrs[a_active], beta)]
        data.append(_path_trace(run.path, "momentum", color, ("x2", "y2"), visible=j == b_active))
    paths0 = 2 + n
    marks = list(range(1, 1 + n))
    paths = list(range(paths0, paths0 + n))

    def title(lr, beta):
        r = momentum_rate(lr, beta, problem.curvatures)
        fate = "diverges" if r >= 1 else f"distance × {r:.3f} per step"
        return f"Momentum α = {lr:g}, β = {beta:g}: {fate}"

    lr_args = [[{"x": [[lr]] * n + [_num(runs[(lr, b)].path[:, 0]) for b in betas],
                 "y": [[b] for b in betas] + [_num(runs[(lr, b)].path[:, 1]) for b in betas]}, marks + paths]
               for lr in lrs]
    beta_args = [[{"visible": [k == j for k in range(n)] * 2}, marks + paths] for j in range(n)]
    axes = {"xaxis": _axis("learning rate α (log scale)", (0, 0.45), log=True,
                           range_=(math.log10(map_lrs[0]), math.log10(map_lrs[-1]))),
            "yaxis": _axis("β", (0, 1), range_=(0, 0.99)),
            "xaxis2": _axis("x", (0.66, 1), anchor="y2", range_=window[0]),
            "yaxis2": _axis("y", (0, 1), anchor="x2", range_=window[1], equal_to="x2")}
    layout = _layout(title(lrs[a_active], betas[b_active]), 420, 2, axes)
    layout["title"]["text"] = "Momentum on x² + 10y²: the rate over (α, β), and the path for yours"
    labels_a = [f"{lr:g}" + (" (α*)" if lr == round(lr_star, 4) else "") for lr in lrs]
    labels_b = [f"{b:g}" + (" (β*)" if b == round(beta_star, 4) else "") for b in betas]
    layout["sliders"] = [_slider("α", labels_a, lr_args, a_active, index=0, n=2),
                         _slider("β", labels_b, beta_args, b_active, index=1, n=2)]
    best = float(rate.min())
    description = (f"Left: a map of momentum's rate of convergence on x² + 10y² over the learning rate α "
                   f"({map_lrs[0]:g} to {map_lrs[-1]:g}, log scale) and β (0 to 0.99): the factor by which the "
                   f"distance to the minimum shrinks per step, from the spectral radius of the iteration; dark red "
                   f"where it is 1 or more (no convergence). The best rate on the map is {best:.3f}, near "
                   f"α* = {lr_star:.4f}, β* = {beta_star:.4f}. Right: the path of {steps} steps from {tuple(x0)} for "
                   f"the pair chosen with two sliders (shown first: {title(lrs[a_active], betas[b_active])}).")
    return Explorable("momentum-map", "Momentum: the rate over (α, β), and the path for the pair you pick",
                      {"data": data, "layout": layout}, description, runs)


# -- 3. the race on four landscapes ---------------------------------------------------------------------------


LANDSCAPES = {
    # name: (problem, start, window)
    "ravine": (ravine, (1.5, 1.5), ((-2.0, 2.0), (-2.0, 2.0))),
    "rotated ravine": (lambda: Quadratic([2.0, 20.0], angle=math.pi / 6), (1.5, 1.5), ((-2.0, 2.0), (-2.0, 2.0))),
    "Rosenbrock": (Rosenbrock, (-1.5, 2.5), ((-2.0, 2.0), (-1.0, 3.0))),
    "saddle": (Saddle, (1.5, 0.01), ((-2.0, 2.0), (-2.0, 2.0))),
}
"""The landscapes of the race: a problem factory, the start, and the window drawn."""

RACE_LRS = {
    "GD": (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.08),
    "Momentum": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
    "RMSprop": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
    "Adam": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
}
RACE_DEFAULTS = {"GD": 0.05, "Momentum": 0.1, "RMSprop": 0.02, "Adam": 0.1}
_RACERS = {"GD": GradientDescent, "Momentum": Momentum, "RMSprop": RMSprop, "Adam": Adam}


def optimizer_race(lrs=None, defaults=None, landscapes=tuple(LANDSCAPES), steps=150):
    """GD, Momentum (β = 0.9), RMSprop and Adam from one start, a learning-rate slider each, and a landscape menu.

    Left: the four paths over the contours; right: the losses (log scale, linear on the saddle, whose loss has no
    floor). ``lrs`` maps each optimizer ("GD", "Momentum", "RMSprop", "Adam") to its slider's values.
    """
    lrs = {name: _grid(v, f"lrs[{name!r}]", "optimizer_race") for name, v in {**RACE_LRS, **(lrs or {})}.items()}
    defaults = {**RACE_DEFAULTS, **(defaults or {})}
    active = {name: _index_of(defaults[name], lrs[name], f"defaults[{name!r}]", "optimizer_race") for name in lrs}
    for name in landscapes:
        if name not in LANDSCAPES:
            raise ValueError(f"optimizer_race: landscapes must be among {list(LANDSCAPES)}, got {name!r}")
    names = list(_RACERS)
    colors = _colors()
    runs, data, groups = {}, [], []
    for land in landscapes:
        factory, x0, window = LANDSCAPES[land]
        problem = factory()
        runs.update(_sweep([(land, name, lr) for name in names for lr in lrs[name]], problem, x0,
                           lambda s: _RACERS[s[1]](lr=s[2]), steps))
        first = land == landscapes[0]
        group = {"contour": len(data)}
        data.append({**_landscape(problem, window), "visible": first})
        group["paths"], group["losses"] = [], []
        for i, name in enumerate(names):
            run = runs[(land, name, lrs[name][active[name]])]
            group["paths"].append(len(data))
            data.append({**_path_trace(run.path, name, colors[i]), "visible": first, "legendgroup": name,
                         "marker": {"size": 3, "color": colors[i]}})
        for i, name in enumerate(names):
            run = runs[(land, name, lrs[name][active[name]])]
            group["losses"].append(len(data))
            t, loss = _loss_curve(_shown_loss(run.losses, land), log=land != "saddle")
            data.append({**_curve_trace(loss, name, colors[i], x=t), "visible": first, "legendgroup": name})
        group["start"] = len(data)
        data.append({**_point_trace(x0, "start", "white", size=10, showlegend=first), "visible": first})
        groups.append(group)
    n = len(data)

    def trace_ids(g):
        return [g["contour"], *g["paths"], *g["losses"], g["start"]]

    menu_args = []
    for k, land in enumerate(landscapes):
        visible = [False] * n
        for i in trace_ids(groups[k]):
            visible[i] = True
        _, _, window = LANDSCAPES[land]
        saddle = land == "saddle"
        menu_args.append([{"visible": visible},
                          {"xaxis.range": list(window[0]), "yaxis.range": list(window[1]),
                           "yaxis2.type": "linear" if saddle else "log",
                           "yaxis2.autorange": True,
                           "yaxis2.title.text": "loss (linear: the saddle has no floor)" if saddle else
                           "loss (log scale)"}])
    sliders = []
    for i, name in enumerate(names):
        ids, xs, ys = [], [], []
        for k in range(len(landscapes)):
            ids += [groups[k]["paths"][i], groups[k]["losses"][i]]
        steps_args = []
        for lr in lrs[name]:
            xs, ys = [], []
            for land in landscapes:
                run = runs[(land, name, lr)]
                t, loss = _loss_curve(_shown_loss(run.losses, land), log=land != "saddle")
                xs += [_num(run.path[:, 0]), _num(t)]
                ys += [_num(run.path[:, 1]), _num(loss)]
            steps_args.append([{"x": xs, "y": ys}, ids])
        sliders.append(_slider(f"{name} α", [_fmt(lr) for lr in lrs[name]], steps_args, active[name], index=i,
                               n=len(names)))
    _, _, window = LANDSCAPES[landscapes[0]]
    axes = {"xaxis": _axis("x", (0, 0.45), range_=window[0]),
            "yaxis": _axis("y", (0, 1), range_=window[1], equal_to="x"),
            "xaxis2": _axis("step", (0.68, 1), anchor="y2"),
            "yaxis2": _axis("loss (log scale)", (0, 1), log=landscapes[0] != "saddle", anchor="x2")}
    layout = _layout("Race: GD, Momentum, RMSprop and Adam", 440, len(names), axes, menus=True)
    layout["sliders"] = sliders
    layout["updatemenus"] = [_menu("landscape", list(landscapes), menu_args, 0)]
    finals = {name: runs[(landscapes[0], name, lrs[name][active[name]])].final_loss for name in names}
    ranking = ", ".join(f"{name} (α = {lrs[name][active[name]]:g}) {finals[name]:.2g}"
                        for name in sorted(names, key=lambda nm: finals[nm]))
    description = (f"Four optimizers race for {steps} steps from the same start: gradient descent, momentum "
                   f"(β = 0.9), RMSprop and Adam. Left: their paths over the contours of the loss; right: their "
                   f"losses against the step. A menu chooses the landscape ({', '.join(landscapes)}) and one slider "
                   f"per optimizer sets its learning rate. Shown first, on the {landscapes[0]}, the final losses "
                   f"are: {ranking}.")
    return Explorable("race", "Race of four optimizers: choose the landscape and each learning rate",
                      {"data": data, "layout": layout}, description, runs)


def _every(path, every):
    """Every ``every``-th point of a path, and its last: a long run drawn with a light page."""
    keep = np.unique(np.append(np.arange(0, len(path), every), len(path) - 1))
    return path[keep]


def _shown_loss(losses, land):
    return losses if land == "saddle" else np.maximum(losses, 1e-16)  # a log axis cannot show an exact 0


# -- 4. Adam's first steps, with and without bias correction ---------------------------------------------------


ADAM_BETA2S = (0.9, 0.99, 0.999, 0.9999)


def adam_bias_correction(beta2s=ADAM_BETA2S, default=0.999, lr=0.1, x0=(1.5, 1.5), steps=30):
    """Adam's first steps on the ravine, bias correction on or off (a menu), β₂ on a slider.

    Left: the path; right: the largest coordinate of each step in units of α. Without the correction the first
    step is (1 − β₁)/√(1 − β₂) times α (3.16 for the defaults); with it, exactly α.
    """
    problem = ravine()
    beta2s = _grid(beta2s, "beta2s", "adam_bias_correction")
    active = _index_of(default, beta2s, "default", "adam_bias_correction")
    runs = _sweep([(on, b2) for on in (True, False) for b2 in beta2s], problem, x0,
                  lambda s: Adam(lr=lr, beta2=s[1], bias_correction=s[0]), steps)
    window = ((-2.0, 2.0), (-2.0, 2.0))
    colors = _colors()
    settings = [(True, "bias correction on", colors[3], None), (False, "bias correction off", colors[2], "dot")]

    def step_ratio(run):
        return np.abs(np.diff(run.path, axis=0)).max(axis=1) / lr

    data = [_landscape(problem, window)]
    for on, label, color, dash in settings:
        data.append({**_path_trace(runs[(on, beta2s[active])].path, label, color, dash=dash), "visible": True})
    for on, label, color, dash in settings:
        ratio = step_ratio(runs[(on, beta2s[active])])
        data.append({**_curve_trace(ratio, label, color, x=np.arange(1, len(ratio) + 1), dash=dash),
                     "mode": "lines+markers", "marker": {"size": 4, "color": color}})
    data.append(_point_trace(problem.minimum, "minimum", "gold", symbol="star", size=14))
    ids = [1, 2, 3, 4]
    b2_args = []
    for b2 in beta2s:
        r_on, r_off = step_ratio(runs[(True, b2)]), step_ratio(runs[(False, b2)])
        b2_args.append([{"x": [_num(runs[(True, b2)].path[:, 0]), _num(runs[(False, b2)].path[:, 0]),
                               _num(np.arange(1, len(r_on) + 1)), _num(np.arange(1, len(r_off) + 1))],
                         "y": [_num(runs[(True, b2)].path[:, 1]), _num(runs[(False, b2)].path[:, 1]),
                               _num(r_on), _num(r_off)]}, ids])
    show = {"on and off": [True, True, True, True], "on": [True, False, True, False],
            "off": [False, True, False, True]}
    menu_args = [[{"visible": v}, ids] for v in show.values()]
    axes = {"xaxis": _axis("x", (0, 0.45), range_=window[0]), "yaxis": _axis("y", (0, 1), range_=window[1],
                                                                              equal_to="x"),
            "xaxis2": _axis("step t", (0.68, 1), anchor="y2"),
            "yaxis2": _axis("largest step / α (log scale)", (0, 1), log=True, anchor="x2", range_=(-2, 1.5))}
    layout = _layout(f"Adam's first {steps} steps (α = {lr:g}, β₁ = 0.9)", 420, 1, axes, menus=True)
    layout["sliders"] = [_slider("β₂", [_fmt(b) for b in beta2s], b2_args, active)]
    layout["updatemenus"] = [_menu("bias correction", list(show), menu_args, 0, method="restyle")]
    first_off = step_ratio(runs[(False, beta2s[active])])[0]
    description = (f"Adam (α = {lr:g}, β₁ = 0.9) for {steps} steps on x² + 10y² from {tuple(x0)}, with and "
                   f"without bias correction. Left: the two paths; right: the largest coordinate of each step, "
                   f"divided by α, on a log scale. A slider sets β₂ ({', '.join(_fmt(b) for b in beta2s)}; shown "
                   f"first: {beta2s[active]:g}) and a menu shows either run or both. With bias correction the first "
                   f"step is exactly α; without it, it is {first_off:.3g} α for β₂ = {beta2s[active]:g}, and the "
                   f"larger β₂, the larger and longer-lasting the excess.")
    return Explorable("adam-bias", "Adam's first steps: bias correction on and off, and β₂",
                      {"data": data, "layout": layout}, description, runs)


# -- 5. Adam + L2 against AdamW: where each settles ------------------------------------------------------------


ADAMW_DECAYS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
ADAMW_H = (1.0, 0.1)  # curvatures
ADAMW_C = (2.0, -3.0)  # the minimum of f


def adamw_settling(weight_decays=ADAMW_DECAYS, default=1.0, lr=0.1, steps=1000, every=5):
    """Adam on f + λ/2‖w‖² against AdamW(weight_decay=λ) on f, a slider for λ: where does each settle?

    f is the quadratic with curvatures (1, 0.1) and minimum c = (2, −3), from w₀ = 0. Adam + L2 settles at the
    ridge solution h c/(h + λ); AdamW near clip(c, −1/λ, 1/λ) (chapter 5): both are marked. The page shows every
    ``every``-th iterate of each run (and the last).
    """
    h, c = np.array(ADAMW_H), np.array(ADAMW_C)
    problem = Quadratic(h, c=c)
    decays = _grid(weight_decays, "weight_decays", "adamw_settling")
    active = _index_of(default, decays, "default", "adamw_settling")
    x0 = (0.0, 0.0)
    runs = _sweep([("Adam + L2", lam) for lam in decays],
                  lambda s: Quadratic(h + s[1], c=h * c / (h + s[1])), x0, lambda s: Adam(lr=lr), steps)
    runs.update(_sweep([("AdamW", lam) for lam in decays], problem, x0,
                       lambda s: AdamW(lr=lr, weight_decay=s[1]), steps))
    colors = _colors()
    window = ((-1.0, 4.0), (-4.0, 1.0))

    def ridge(lam):
        return h * c / (h + lam)

    def box(lam):
        return c if lam == 0 else np.clip(c, -1 / lam, 1 / lam)

    lam0 = decays[active]
    data = [_landscape(problem, window, bar_x=0.46),
            _path_trace(_every(runs[("Adam + L2", lam0)].path, every), "Adam + L2", colors[0]),
            _path_trace(_every(runs[("AdamW", lam0)].path, every), "AdamW", colors[3]),
            _point_trace(ridge(lam0), "ridge h·c/(h + λ)", colors[0], symbol="diamond", size=13),
            _point_trace(box(lam0), "clip(c, ±1/λ), chapter 5's estimate", colors[3], symbol="square", size=12),
            _point_trace(c, "minimum of f", "gold", symbol="star", size=14)]
    # Right: w₂, the flat direction where the two differ most, against the step, with the two predictions.
    kept = _every(np.arange(steps + 1), every)
    ends = [0, steps]
    data += [_curve_trace(_every(runs[("Adam + L2", lam0)].path, every)[:, 1], "Adam + L2", colors[0], x=kept),
             _curve_trace(_every(runs[("AdamW", lam0)].path, every)[:, 1], "AdamW", colors[3], x=kept),
             _curve_trace([ridge(lam0)[1]] * 2, "ridge", colors[0], x=ends, dash="dot"),
             _curve_trace([box(lam0)[1]] * 2, "clip", colors[3], x=ends, dash="dot")]
    args = []
    for lam in decays:
        a, w = _every(runs[("Adam + L2", lam)].path, every), _every(runs[("AdamW", lam)].path, every)
        r, b = ridge(lam), box(lam)
        # Plotly.restyle reuses a shorter list cyclically: every attribute gets one entry per trace.
        args.append([{"x": [_num(a[:, 0]), _num(w[:, 0]), _num(r[:1]), _num(b[:1]), _num(kept), _num(kept), ends, ends],
                      "y": [_num(a[:, 1]), _num(w[:, 1]), _num(r[1:]), _num(b[1:]), _num(a[:, 1]), _num(w[:, 1]),
                            _num([r[1]] * 2), _num([b[1]] * 2)]}, [1, 2, 3, 4, 6, 7, 8, 9]])
    axes = {"xaxis": _axis("w₁ (curvature 1)", (0, 0.45), range_=window[0]),
            "yaxis": _axis("w₂ (curvature 0.1)", (0, 1), range_=window[1], equal_to="x"),
            "xaxis2": _axis("step", (0.68, 1), anchor="y2"),
            "yaxis2": _axis("w₂ (dotted: the two predictions)", (0, 1), anchor="x2", range_=window[1])}
    layout = _layout("Adam + L2 against AdamW: where each settles", 440, 1, axes)
    layout["sliders"] = [_slider("λ", [_fmt(v) for v in decays], args, active)]
    end_l2 = runs[("Adam + L2", lam0)].final
    end_w = runs[("AdamW", lam0)].path[-steps // 10:].mean(axis=0)  # AdamW keeps oscillating: the mean of the end
    description = (f"Adam with an L2 penalty λ/2‖w‖² and AdamW with weight_decay = λ, both α = {lr:g}, {steps} steps "
                   f"from 0 on the quadratic with curvatures {ADAMW_H} and minimum {ADAMW_C}. Left: the two paths over "
                   f"the contours of the loss; right: the coordinate w₂ against the step, dotted lines at the two "
                   f"predictions. A slider sets λ ({', '.join(_fmt(v) for v in decays)}; shown first: {lam0:g}). "
                   f"Adam + L2 ends at ({end_l2[0]:.3f}, {end_l2[1]:.3f}), the ridge solution h·c/(h + λ) (diamond); "
                   f"AdamW settles around ({end_w[0]:.3f}, {end_w[1]:.3f}) (the mean of its last tenth), near "
                   f"clip(c, −1/λ, 1/λ) (square): its decay does not depend on the curvature, while the penalty "
                   f"pulls the flat direction in much more.")
    return Explorable("adamw", "Adam + L2 against AdamW: move the weight decay",
                      {"data": data, "layout": layout}, description, runs)


# -- 6. warm-up against RAdam -------------------------------------------------------------------------------


WARMUPS = (1, 10, 25, 50, 100, 200, 500, 1000)


class _Slope(Problem):
    """f(x) = x: the gradient is 1 everywhere, so each step of an optimizer shows its step size directly."""

    shape = (1,)
    name = "f(x) = x"

    def _loss(self, x):
        return x[0]

    def _grad(self, x, t):
        return np.ones(1)


def _warmed(lr, warmup):
    def schedule(t):  # linear warm-up: α·t/T for the first T steps, then α
        return lr * min(1.0, t / warmup)

    schedule.__name__ = f"linear_warmup_{warmup}"
    return schedule


def warmup_vs_radam(warmups=WARMUPS, default=100, lr=0.3, sigma=20.0, probe_steps=1000, steps=300):
    """Adam with a linear warm-up of T steps (a slider) against RAdam, whose rectification is a built-in warm-up.

    Left: the step each takes for a constant gradient, in units of α (runs on f(x) = x with ε = 0); right: the
    loss on the ravine seen through noisy gradients (σ = ``sigma``), with plain Adam as a control.
    """
    warmups = _grid(warmups, "warmups", "warmup_vs_radam")
    active = _index_of(default, warmups, "default", "warmup_vs_radam")
    slope, noisy = _Slope(), Noisy(ravine(), sigma, seed=0)
    x0, s0 = (1.5, 1.5), np.zeros(1)
    runs = _sweep([("probe", "RAdam")] + [("probe", T) for T in warmups], slope, s0,
                  lambda s: RAdam(lr=1.0, eps=0.0) if s[1] == "RAdam" else Adam(lr=_warmed(1.0, s[1]), eps=0.0),
                  probe_steps)
    runs.update(_sweep([("noisy", "RAdam"), ("noisy", "Adam")] + [("noisy", T) for T in warmups], noisy, x0,
                       lambda s: {"RAdam": RAdam, "Adam": Adam}[s[1]](lr=lr) if s[1] in ("RAdam", "Adam")
                       else Adam(lr=_warmed(lr, s[1])), steps))
    shown = np.unique(np.geomspace(1, probe_steps, 150).round().astype(int))  # a log axis: steps spread evenly on it

    def multiplier(run):
        return -np.diff(run.path[:, 0])[shown - 1]  # the step of f(x) = x is −α_t·(its multiplier)

    colors = _colors()
    data = [_curve_trace(multiplier(runs[("probe", "RAdam")]), "RAdam", colors[2], axes=("x", "y"), x=shown,
                         showlegend=True),
            _curve_trace(multiplier(runs[("probe", warmups[active])]), "Adam, warm-up", colors[1], axes=("x", "y"),
                         x=shown, showlegend=True),
            _curve_trace(runs[("noisy", "Adam")].losses, "Adam, no warm-up", colors[7 % len(colors)],
                         dash="dot", showlegend=True),
            _curve_trace(runs[("noisy", "RAdam")].losses, "RAdam", colors[2]),
            _curve_trace(runs[("noisy", warmups[active])].losses, "Adam, warm-up", colors[1])]
    args = [[{"y": [_num(multiplier(runs[("probe", T)])), _num(runs[("noisy", T)].losses)]},
             {"title.text": _warm_title(T)}, [1, 4]] for T in warmups]
    axes = {"xaxis": _axis("step t (log scale)", (0, 0.44), log=True),
            "yaxis": _axis("step / α, constant gradient", (0, 1), range_=(0, 1.05)),
            "xaxis2": _axis("step t", (0.56, 1), anchor="y2"),
            "yaxis2": _axis("loss, noisy ravine (log scale)", (0, 1), log=True, anchor="x2")}
    layout = _layout(_warm_title(warmups[active]), 420, 1, axes)
    labels = [f"{T} (none)" if T == 1 else str(T) for T in warmups]  # T = 1: the full α from the first step
    layout["sliders"] = [_slider("warm-up T", labels, args, active, method="update")]
    probe_radam = -np.diff(runs[("probe", "RAdam")].path[:, 0])
    first_adaptive = int(np.argmax(probe_radam < 1 - 1e-12))  # steps before it: momentum steps of exactly α
    half = first_adaptive + int(np.argmax(probe_radam[first_adaptive:] >= 0.5)) + 1
    loss = {k: runs[("noisy", k)].losses[-20:].mean() for k in ("Adam", "RAdam", warmups[active])}
    description = (f"Adam with a linear learning-rate warm-up over T steps against RAdam. Left: the step each takes "
                   f"for a constant gradient, in units of α, over {probe_steps} steps on a log scale: the warm-up "
                   f"climbs linearly to 1 at step T; RAdam takes momentum steps of α until step {first_adaptive}, "
                   f"then its rectification starts small and reaches half of α at step {half}. Right: the loss of "
                   f"Adam with warm-up, RAdam and plain Adam (dotted), α = {lr:g}, on x² + 10y² with gradient noise "
                   f"σ = {sigma:g}, {steps} steps. A slider sets T ({', '.join(str(T) for T in warmups)}; shown "
                   f"first: {warmups[active]}). Mean loss over the last 20 steps: plain Adam {loss['Adam']:.3g}, "
                   f"RAdam {loss['RAdam']:.3g}, Adam with T = {warmups[active]}: {loss[warmups[active]]:.3g}.")
    return Explorable("warmup", "Warm-up length against RAdam", {"data": data, "layout": layout}, description, runs)


def _warm_title(T):
    return f"Adam with a linear warm-up over T = {T} step{'s' if T != 1 else ''}, against RAdam"


# -- checks ---------------------------------------------------------------------------------------------------


def _grid(values, name, caller):
    try:
        grid = [float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{caller}: {name} must be a sequence of numbers, got {values!r}") from None
    if not grid or not all(math.isfinite(v) for v in grid) or len(set(grid)) != len(grid):
        raise ValueError(f"{caller}: {name} must be distinct finite numbers, at least one, got {values!r}")
    return [int(v) if v.is_integer() and abs(v) >= 1 else v for v in grid]


def _index_of(value, grid, name, caller):
    for i, v in enumerate(grid):
        if math.isclose(v, value, rel_tol=1e-12, abs_tol=1e-15):
            return i
    raise ValueError(f"{caller}: {name} must be one of the slider's values {grid}, got {value!r}")


# -- the static default view ------------------------------------------------------------------------------


def static_figure(figure, width=8.0):
    """The default view of a Plotly figure dict, drawn by matplotlib: the visible contours, heatmaps and lines.

    Handles what the explorables use (contour, heatmap, scatter on up to two pairs of axes with domains, log
    axes, ranges); not a general converter. Returns a matplotlib Figure (outside pyplot).
    """
    layout = figure["layout"]
    height_px = layout["height"] - _CONTROL_SPACE * len(layout.get("sliders", []))
    fig = Figure(figsize=(width, width * height_px / 900), dpi=72)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    axes = {}
    for suffix in ("", "2"):
        xa, ya = layout.get(f"xaxis{suffix}"), layout.get(f"yaxis{suffix}")
        if xa is None:
            continue
        x0, x1 = xa["domain"]
        ax = fig.add_axes((0.09 + 0.86 * x0, 0.2, 0.86 * (x1 - x0), 0.66))
        for spec, set_scale, set_lim, set_label in ((xa, ax.set_xscale, ax.set_xlim, ax.set_xlabel),
                                                     (ya, ax.set_yscale, ax.set_ylim, ax.set_ylabel)):
            if spec.get("type") == "log":
                set_scale("log")
            if "range" in spec:
                low, high = spec["range"]
                set_lim(*((10**low, 10**high) if spec.get("type") == "log" else (low, high)))
            set_label(spec["title"]["text"])
        if ya.get("scaleanchor"):
            ax.set_aspect("equal", adjustable="box")
        axes[suffix] = ax
    for trace in figure["data"]:
        if trace.get("visible", True) is not True:
            continue
        ax = axes[trace.get("xaxis", "x")[1:]]
        kind = trace["type"]
        if kind in ("contour", "heatmap"):
            z = np.array([[np.nan if v is None else v for v in row] for row in trace["z"]])
            cmap = _colormap(trace.get("colorscale", "Viridis"))
            if kind == "contour":
                ax.contourf(trace["x"], trace["y"], z, levels=trace.get("ncontours", 20), cmap=cmap)
            else:
                mesh = ax.pcolormesh(trace["x"], trace["y"], z, cmap=cmap, vmin=trace.get("zmin"),
                                     vmax=trace.get("zmax"), shading="nearest")
                bar = fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02)
                bar.set_label(trace["colorbar"]["title"]["text"])
            continue
        x = np.array([np.nan if v is None else v for v in trace["x"]], dtype=float)
        y = np.array([np.nan if v is None else v for v in trace["y"]], dtype=float)
        color = trace.get("line", trace.get("marker", {})).get("color", "black")
        label = trace["name"] if trace.get("showlegend", True) else None
        if trace["mode"] == "markers":
            marker = {"star": "*", "diamond": "D", "square": "s"}.get(trace["marker"].get("symbol"), "o")
            ax.scatter(x, y, marker=marker, s=trace["marker"].get("size", 8) ** 2 * 0.8, color=color,
                       edgecolors="black", zorder=5, label=label)
        else:
            dash = {"dot": ":", "dash": "--"}.get(trace.get("line", {}).get("dash"), "-")
            ax.plot(x, y, color=color, linestyle=dash, linewidth=1.6, label=label,
                    marker="o" if "markers" in trace["mode"] else None, markersize=2.5)
    handles = {}
    for ax in axes.values():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(6, len(handles)),
                   fontsize="small", frameon=False)
    fig.suptitle(layout["title"]["text"], x=0.02, ha="left", fontsize=11)
    return fig


def _colormap(colorscale):
    """A matplotlib colormap for a Plotly colorscale: a named one, or a list of [position, colour] stops."""
    if isinstance(colorscale, str):
        return matplotlib.colormaps[colorscale.lower()]
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("explorable", [(float(p), c) for p, c in colorscale])
