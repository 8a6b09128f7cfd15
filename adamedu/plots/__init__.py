"""Pictures of optimization: loss contours with optimizer paths, loss curves, animations for the web.

This is the only module of :mod:`adamedu` that imports matplotlib, so ``import adamedu`` needs numpy alone;
a chapter writes ``from adamedu import plots``. ::

    traces = [minimize(ravine(), [1.5, 1.5], opt, steps=100) for opt in (GradientDescent(lr=0.05), Adam(lr=0.1))]
    plots.contour(ravine(), traces)          # the landscape and the paths across it
    plots.loss_curves(traces)                # loss against step, log scale
    plots.to_html(plots.animate(ravine(), traces))   # the paths growing step by step, playable on a web page

``traces`` is one trace, a list of them, or the dict {label: trace} that :func:`adamedu.loop.race` returns.
A trace is anything with ``path`` (an array of shape (n + 1, 2): x0, then every iterate), ``losses``
(n + 1 numbers), ``label`` and ``diverged_at`` (None or the step that was refused), as
:func:`adamedu.loop.minimize` returns; a bare array works too (a path for contours, losses for curves).
Every function draws into ``ax=`` when given one, else into a new figure, and returns what it drew into,
so a chapter can add to the picture.

White backgrounds, on purpose
-----------------------------
The book's web pages have a light and a dark mode. A figure with a transparent background keeps its black
text, ticks and contour lines, which vanish on a dark page; a figure on white reads the same in both modes
(the dark theme at most dims it). So every figure made here is drawn under :data:`STYLE` (white, opaque,
black ink), and :func:`style` / :func:`use_style` give a chapter the same settings for its own figures.

Readable by every reader
------------------------
- Colours: the optimizers' lines take :data:`PALETTE`, the colours of Okabe & Ito's colour-blind-safe set
  (https://jfly.uni-koeln.de/color/) that keep the 3:1 contrast on white that WCAG 2.1 asks of graphics
  (1.4.11); its orange, sky blue and yellow do not, and are left out. Grey for text and reference lines is
  :data:`GREY`, 7:1 on white (matplotlib's "gray" is 3.95:1, under the 4.5:1 asked of text).
- Colour is never the only cue: line ``i`` also has its own line style (:data:`LINESTYLES`) and marker
  (:data:`MARKERS`), so the legend can be read in grey print or by a reader who cannot tell the colours apart.
  :data:`STYLE` puts colours and line styles into the colour cycle, so a chapter's own ``ax.plot`` gets
  them too ("C0", "C1", ... are the palette).
- Fonts: a figure six inches wide is shown about 350 pixels wide on a phone, so text is drawn at 14 points
  (ticks 13) instead of matplotlib's 10: tick labels stay about 8 pixels high there instead of 5.
- Animations: :func:`jshtml` gives the player a description (``description=``, else one made from the
  animation), labels its slider and scales it down to the width of a phone.
"""

import base64
import html as html_text
import io
import math
import numbers
import re
import tempfile
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cycler
from matplotlib.animation import FuncAnimation, HTMLWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

__all__ = ["STYLE", "PALETTE", "LINESTYLES", "MARKERS", "GREY", "style", "use_style", "contour", "loss_curves",
           "animate", "jshtml", "to_html"]

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000")
"""Line colours: Okabe-Ito blue, vermillion, bluish green, reddish purple and black (>= 3:1 on white)."""
LINESTYLES = ("-", "--", "-.", ":", (0, (6, 1.5, 1.5, 1.5, 1.5, 1.5)), (0, (8, 3)), (0, (1, 3)), (0, (4, 1, 1, 1)))
"""Line ``i`` is drawn with ``LINESTYLES[i % 8]``: solid, dashed, dash-dot, dotted, then four more patterns."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Line ``i`` marks its points with ``MARKERS[i % 8]``."""
GREY = "#595959"
"""Grey for annotations and reference lines: 7.0:1 on white (text needs 4.5:1)."""

STYLE = {
    "axes.prop_cycle": cycler(color=list(PALETTE)) + cycler(linestyle=list(LINESTYLES[: len(PALETTE)])),
    "font.size": 14,
    "axes.titlesize": 14,
    "axes.labelsize": 14,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 12,
    "lines.linewidth": 2.0,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "text.color": "black",
    "axes.edgecolor": "black",
    "axes.labelcolor": "black",
    "xtick.color": "black",
    "ytick.color": "black",
    "legend.facecolor": "white",
    "legend.framealpha": 0.85,
}
"""rcParams for figures that read on the light and the dark theme alike (see the module docstring)."""

CEILING = 1e250  # loss_curves draws larger (blown-up) losses at this height on a log axis
MAX_FRAMES = 60  # an animation embeds one picture per frame (~15-20 kB as a palette PNG): 60 stay near 1 MB
_DOTS_UP_TO = 150  # paths with more points than this are drawn without a dot per iterate (dots would merge)


@contextmanager
def style():
    """A context in which new figures get :data:`STYLE`: ``with plots.style(): fig, ax = plt.subplots()``.

    It restores only the settings it changed. (``matplotlib.rc_context`` restores them all, and so would
    undo the interactive mode that Jupyter's inline backend switches on when pyplot's first figure is made
    inside the context: later figures would no longer be shown.)
    """
    saved = {key: matplotlib.rcParams[key] for key in STYLE}
    matplotlib.rcParams.update(STYLE)
    try:
        yield
    finally:
        matplotlib.rcParams.update(saved)


def use_style():
    """Apply :data:`STYLE` to every figure from now on (a chapter's first cell)."""
    matplotlib.rcParams.update(STYLE)


# -- contours ---------------------------------------------------------------------------------------------


def contour(problem_or_f, traces=(), ax=None, bounds=None, levels=20, log_levels=True, mark_minimum=True, *,
            filled=True, colorbar=True, resolution=120, cmap="viridis", aspect="equal", title=None, figsize=(6, 4.5)):
    """Contours of a 2-D loss with optimizer paths across them; returns the Axes.

    ``problem_or_f`` is a problem (``loss``, ``name``, ``bounds``, ``minimum``) or a function of a point of
    shape (2,). The window is ``bounds`` = ((xmin, xmax), (ymin, ymax)), else the problem's bounds
    (widened to take in every path's start), else a square around the paths. ``aspect="equal"`` draws
    both axes to one scale, so the gradient crosses each contour at a right angle as it does in fact;
    "auto" fills the figure instead.

    ``levels`` is a number of contour levels or the levels themselves. With ``log_levels`` they are spaced
    geometrically above the lowest loss in the window, so the narrow floor of a ravine gets as many
    contours as its steep walls; set it False for losses without a minimum (a saddle).

    Each trace is drawn as one line (``ax.lines``, in the order given, data = its path), with a dot at every
    iterate for short paths, an open circle at the start and a filled one at the end. A path that diverged
    or ends outside the window is drawn up to the edge where it left for good and annotated
    ("diverged at step k"); a path that leaves and comes back is drawn whole.
    """
    ax, _ = _contour(problem_or_f, traces, ax, bounds, levels, log_levels, mark_minimum, filled, colorbar,
                     resolution, cmap, aspect, title, figsize, "contour")
    return ax


@dataclass
class _DrawnPath:
    """One trace as drawn: the points shown, and the artists an animation moves."""

    points: np.ndarray  # the path, cut at the window's edge if it left for good
    line: object
    halo: object  # the white band under the line
    end: object  # the filled circle at the last point shown
    note: object  # the "diverged" / "left the window" annotation, or None


def _contour(problem_or_f, traces, ax, bounds, levels, log_levels, mark_minimum, filled, colorbar, resolution,
             cmap, aspect, title, figsize, caller):
    f, name, problem_bounds, minimum = _objective(problem_or_f, caller)
    runs = [_path_run(trace, i, label, caller) for i, (trace, label) in enumerate(_as_list(traces, caller))]
    window = _window(bounds, problem_bounds, [run.path for run in runs], caller)
    resolution = _count(resolution, "resolution", 2, caller)
    _check_levels(levels, caller)  # every check before the first drawing: bad input leaves no half-made figure
    if aspect not in ("equal", "auto"):
        raise ValueError(f"{caller}: aspect must be 'equal' or 'auto', got {aspect!r}")
    with style():
        ax = _new_axes(ax, figsize)
        _draw_landscape(ax, f, window, levels, log_levels, filled, colorbar, resolution, cmap, caller)
        if mark_minimum and minimum is not None:
            _draw_minimum(ax, minimum, window, caller)
        drawn = [_draw_path(ax, run, i, window) for i, run in enumerate(runs)]
        ax.set_xlim(window[0])
        ax.set_ylim(window[1])
        ax.set_aspect(aspect)
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
        title = name if title is None else title
        if title:
            ax.set_title(title)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
    return ax, drawn


def _objective(problem_or_f, caller):
    """(f, name, bounds, minimum) of a problem, or of a plain function of a point."""
    if hasattr(problem_or_f, "loss"):
        problem = problem_or_f
        shape = tuple(getattr(problem, "shape", (2,)))
        if shape != (2,):
            raise ValueError(f"{caller}: contours show problems of two parameters, and {problem!r} has points of "
                             f"shape {shape}")
        return problem.loss, str(getattr(problem, "name", "")), getattr(problem, "bounds", None), \
            getattr(problem, "minimum", None)
    if callable(problem_or_f):
        return problem_or_f, "", None, None
    raise TypeError(f"{caller}: problem_or_f must be a problem (with a loss method) or a function of a point "
                    f"of shape (2,), got {type(problem_or_f).__name__}")


def _loss_on_grid(f, xs, ys):
    """The loss at every point of the grid xs × ys, as an array of shape (len(ys), len(xs))."""
    xx, yy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):  # a loss that overflows somewhere in the window is left out (masked)
        z = _try_all_at_once(f, xx, yy)
        if z is None:  # the loss takes one point at a time (the problems of adamedu check the shape)
            z = np.array([[float(f(np.array([x, y]))) for x in xs] for y in ys])
    return xx, yy, z


def _try_all_at_once(f, xx, yy):
    """f on the stacked grid (fast, when f is written coordinate-wise as in ``x[0]**2 + 10*x[1]**2``), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z = np.asarray(f(np.stack([xx, yy])), dtype=float)
    except Exception:  # any refusal (a shape check, say) just means: evaluate point by point
        return None
    if z.shape != xx.shape:
        return None
    # A loss written for one point can broadcast to wrong numbers (x @ A @ x does); compare a few points.
    for i, j in [(0, 0), (-1, -1), (0, -1), (z.shape[0] // 3, z.shape[1] // 2)]:
        one = float(f(np.array([xx[i, j], yy[i, j]])))
        if not np.isclose(z[i, j], one, rtol=1e-9, atol=0, equal_nan=True):
            return None
    return z


def _draw_landscape(ax, f, window, levels, log_levels, filled, colorbar, resolution, cmap, caller):
    (x0, x1), (y0, y1) = window
    xx, yy, z = _loss_on_grid(f, np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    levels = _levels(z, levels, log_levels, caller)
    z = np.ma.masked_invalid(z)
    cmap = matplotlib.colormaps.get_cmap(cmap)
    extend = "min" if z.min() < levels[0] else "neither"  # log levels leave the very bottom below the first
    # one colour per band, evenly spread over the colormap however the levels are spaced
    norm = BoundaryNorm(levels, cmap.N, extend=extend)
    if filled:
        shown = ax.contourf(xx, yy, z, levels=levels, cmap=cmap, norm=norm, extend=extend)
        ax.contour(xx, yy, z, levels=levels, colors="white", linewidths=0.4, alpha=0.5)
    else:
        shown = ax.contour(xx, yy, z, levels=levels, cmap=cmap, norm=norm, linewidths=0.8)
    if colorbar:
        bar = ax.figure.colorbar(shown, ax=ax, label="loss", format=FormatStrFormatter("%.3g"))
        bar.set_ticks(levels[:: max(1, len(levels) // 6)])


def _check_levels(levels, caller):
    """``levels`` as given: a whole number >= 2, or an array of at least 2 increasing finite numbers."""
    if np.ndim(levels) == 0:
        return _count(levels, "levels", 2, caller)
    try:
        given = np.asarray(levels, dtype=float)
    except (TypeError, ValueError):
        given = np.array([])
    if given.ndim != 1 or given.size < 2 or not np.all(np.isfinite(given)) or not np.all(np.diff(given) > 0):
        raise ValueError(f"{caller}: levels must be a whole number >= 2 or at least 2 increasing finite "
                         f"numbers, got {levels!r}")
    return given


def _levels(z, levels, log_levels, caller):
    """Increasing contour levels: the ones given, or ``levels`` many spread over the finite values of z."""
    levels = _check_levels(levels, caller)
    if isinstance(levels, np.ndarray):
        return levels
    n = levels
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError(f"{caller}: the loss is not finite anywhere in the window; choose other bounds")
    low, high = float(finite.min()), float(finite.max())
    if high <= low:  # a flat loss: one contour at its value
        return np.array([low - 1.0, low, low + 1.0])
    if not log_levels:
        return np.linspace(low, high, n)
    above = finite - low
    # The lowest level sits just above the bottom (1 % of the window lies below it), the top at the highest value.
    floor = float(np.quantile(above[above > 0], 0.01))
    return low + np.geomspace(floor, high - low, n)


def _draw_minimum(ax, minimum, window, caller):
    try:
        points = np.asarray(minimum, dtype=float).reshape(-1, 2)
    except ValueError:
        raise ValueError(f"{caller}: the problem's minimum must be a point (x, y) or a list of them, "
                         f"got {minimum!r}") from None
    shown = points[_inside(points, window)]
    if len(shown):
        ax.scatter(shown[:, 0], shown[:, 1], marker="*", s=180, color="gold", edgecolors="black",
                   linewidths=0.8, zorder=5, label="minimum")


def _draw_path(ax, run, i, window):
    color, linestyle, marker = _color(i), _linestyle(i), _marker(i)
    points, left_at = _clip_path(run.path, window)
    # A white band under the line makes it stand out on any colour of the map. (A collection, not a path
    # effect: under a path effect every dot would be drawn on its own, slowing animations tenfold.)
    halo = ax.add_collection(LineCollection([points], colors="white", linewidths=4, alpha=0.9, zorder=2.9),
                             autolim=False)
    dots = len(points) <= _DOTS_UP_TO  # a dot per iterate shows the step lengths, unless they would merge
    (line,) = ax.plot(points[:, 0], points[:, 1], color=color, linestyle=linestyle, linewidth=1.8, label=run.label,
                      zorder=3, marker=marker if dots else None, markersize=4, markeredgecolor="white",
                      markeredgewidth=0.4)
    ax.scatter(*run.path[0], s=50, facecolors="white", edgecolors=color, linewidths=1.8, zorder=4)
    end = ax.scatter(points[-1:, 0], points[-1:, 1], s=40, color=color, edgecolors="white", linewidths=0.8, zorder=4)
    note = None
    if run.diverged_at is not None or left_at is not None:
        text = (f"diverged at step {run.diverged_at}" if run.diverged_at is not None
                else f"leaves at step {left_at}")
        note = _annotate_end(ax, text, points[-1] if len(points) else run.path[0], window, color)
    return _DrawnPath(points, line, halo, end, note)


def _annotate_end(ax, text, xy, window, color):
    """A label with an arrow to ``xy``, placed towards the middle of the window so it stays inside."""
    center = np.mean(window, axis=1)
    toward = (center - xy) / (np.ptp(window, axis=1) + 1e-300)
    direction = toward / (np.hypot(*toward) or 1.0)
    return ax.annotate(text, xy=xy, xytext=40 * direction, textcoords="offset points", ha="center", va="center",
                       fontsize="small", color="black", zorder=6,  # text needs 4.5:1: the line colours have 3:1
                       bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": color, "alpha": 0.9},
                       arrowprops={"arrowstyle": "->", "color": color})


def _clip_path(path, window):
    """The part of ``path`` to draw, and the step at which it left the window for good (or None).

    A path that ends inside the window is drawn whole, excursions included. One that ends outside is drawn
    up to its last point inside plus the point where the next segment crosses the edge, so the line runs
    out of the picture at the right place (and matplotlib never sees a point at 10^150).
    """
    inside = _inside(path, window)
    if inside[-1]:
        return path, None
    if not inside.any():
        return path[:0], 0
    last = len(inside) - 1 - int(np.argmax(inside[::-1]))  # the last point inside
    crossing = _edge_crossing(path[last], path[last + 1], window)
    return np.vstack([path[: last + 1], crossing]), last + 1


def _inside(points, window):
    (x0, x1), (y0, y1) = window
    x, y = points[:, 0], points[:, 1]
    return (x0 <= x) & (x <= x1) & (y0 <= y) & (y <= y1)  # False for NaN


def _edge_crossing(a, b, window):
    """Where the segment from ``a`` (inside the window) to ``b`` (outside) crosses the window's edge."""
    s = 1.0
    for j, (low, high) in enumerate(window):
        start, stop = float(a[j]), float(b[j])
        delta = stop - start  # Python floats: an overflow gives inf (then s = 0 below), not a warning
        if stop > high:
            s = min(s, (high - start) / delta)
        elif stop < low:
            s = min(s, (low - start) / delta)
    return np.asarray(a, dtype=float) + s * (np.asarray(b, dtype=float) - np.asarray(a, dtype=float))


def _window(bounds, problem_bounds, paths, caller):
    """((xmin, xmax), (ymin, ymax)) to draw in: see :func:`contour`."""
    if bounds is not None:
        return _check_bounds(bounds, "bounds", caller)
    starts = np.array([p[0] for p in paths]).reshape(-1, 2)
    if problem_bounds is not None:
        window = _check_bounds(problem_bounds, "the problem's bounds", caller)
        if len(starts) and not _inside(starts, window).all():  # a path must start inside the picture
            low = np.minimum(window[:, 0], starts.min(axis=0))
            high = np.maximum(window[:, 1], starts.max(axis=0))
            pad = 0.05 * (high - low)
            window = np.column_stack([low - pad, high + pad])
        return window
    points = np.concatenate(paths) if paths else np.empty((0, 2))
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        raise ValueError(f"{caller}: a plain function has no bounds; pass bounds=((xmin, xmax), (ymin, ymax))")
    # A square around the paths, 10 % wider: with equal axes a thin window would be a sliver.
    low, high = points.min(axis=0), points.max(axis=0)
    half = 0.55 * max(float(np.max(high - low)), 1e-3 * max(1.0, float(np.max(np.abs(high)))))  # one point too
    center = (low + high) / 2
    return np.column_stack([center - half, center + half])


def _check_bounds(bounds, what, caller):
    try:
        window = np.asarray(bounds, dtype=float)
    except (TypeError, ValueError):
        window = None
    if (window is None or window.shape != (2, 2) or not np.all(np.isfinite(window))
            or not np.all(window[:, 0] < window[:, 1])):
        raise ValueError(f"{caller}: {what} must be ((xmin, xmax), (ymin, ymax)) with finite numbers and "
                         f"xmin < xmax, ymin < ymax; got {bounds!r}")
    return window


# -- loss curves ------------------------------------------------------------------------------------------


def loss_curves(traces, ax=None, log=True, *, offset=0.0, floor=None, title=None, figsize=(6, 4)):
    """Loss against step, one line per trace (``ax.lines``, in the order given); returns the Axes.

    ``log``: a log y-axis turns linear convergence (the error shrinking by a constant factor per step) into a
    straight line and keeps runs that differ by orders of magnitude on one picture.

    ``offset``: the lines show ``losses - offset``. A log axis shows how fast the loss approaches its
    minimum only when that minimum is 0, so pass the minimum value f* to plot the gap f − f*.

    ``floor``: a log axis cannot show 0. Values at or below ``floor`` are drawn at ``floor`` (default: a
    tenth of the smallest positive value shown, so an exact 0 sits just under the rest of the curve).
    A negative value means ``offset`` is wrong for this loss (or a log axis is): that raises.

    Values above ``CEILING`` (1e250) are drawn at it. A loss that is NaN or infinite leaves a gap. A diverged
    run (``diverged_at`` not None) ends in a ×
    at its last loss, and its legend entry says at which step it diverged.
    """
    runs = [_loss_run(trace, i, label) for i, (trace, label) in enumerate(_as_list(traces, "loss_curves"))]
    if not runs:
        raise ValueError("loss_curves: traces is empty; pass one trace or a list of traces")
    offset = _real(offset, "offset", "loss_curves")
    shown = []
    for i, run in enumerate(runs):
        y = np.where(np.isfinite(run.losses), run.losses - offset, np.nan)
        if log and np.any(y < 0):  # NaN compares False
            k = int(np.argmax(y < 0))  # the first
            raise ValueError(f"loss_curves: trace {i} ({run.label!r}) has loss - offset = {y[k]:.4g} < 0 at step "
                             f"{k}, which a log axis cannot show; pass offset=<the minimum value of the loss> "
                             f"(offset is {offset!r}) or log=False")
        shown.append(y)
    if log:
        positive = np.concatenate([y[y > 0] for y in shown])
        floor = (0.1 * positive.min() if len(positive) else 1.0) if floor is None else floor
        floor = _real(floor, "floor", "loss_curves")
        if floor <= 0:
            raise ValueError(f"loss_curves: floor must be a number > 0 (a log axis cannot show 0), got {floor!r}")
        shown = [np.where(y <= floor, floor, y) for y in shown]  # NaN stays NaN: a gap
        # A blown-up run can reach 1e308, where the log axis's autoscaling margins overflow: draw it at CEILING.
        shown = [np.where(y > CEILING, CEILING, y) for y in shown]
    with style():
        ax = _new_axes(ax, figsize)
        for i, (run, y) in enumerate(zip(runs, shown, strict=True)):
            label = run.label if run.diverged_at is None else f"{run.label} (diverged at step {run.diverged_at})"
            ax.plot(np.arange(len(y)), y, color=_color(i), linestyle=_linestyle(i), linewidth=1.8, label=label,
                    marker=_marker(i), markevery=_markevery(len(y), i), markersize=6)
            finite = np.flatnonzero(np.isfinite(y))
            if run.diverged_at is not None and len(finite):
                ax.scatter(finite[-1], y[finite[-1]], marker="X", s=70, color=_color(i), edgecolors="white",
                           zorder=4)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step $t$")
        ax.set_ylabel("loss" if offset == 0 else f"loss − {offset:.6g}")
        ax.grid(True, which="major", alpha=0.3)
        if title:
            ax.set_title(title)
        ax.legend(fontsize="small")
    return ax


# -- animations -------------------------------------------------------------------------------------------


def animate(problem_or_f, traces, interval=100, frames=None, *, figsize=(5.5, 4.1), dpi=72, **contour_kwargs):
    """The paths of :func:`contour` growing step by step: a matplotlib FuncAnimation.

    ``frames`` is the number of pictures (default: one per step, at most :data:`MAX_FRAMES`); longer runs
    are subsampled evenly, and the last frame always shows the whole paths. ``interval`` is the time per
    frame in milliseconds. Other keywords go to :func:`contour`. ``anim.steps`` lists the step each frame
    shows; ``anim.ax`` is the Axes, to add to before the animation is rendered.

    Show it with :func:`to_html` (a player that works on a static web page). The figure is made outside
    pyplot, so a notebook does not also show a still copy of it; keep the returned object.
    """
    interval = _real(interval, "interval", "animate")
    if interval <= 0:
        raise ValueError(f"animate: interval must be a number of milliseconds > 0, got {interval!r}")
    if not _as_list(traces, "animate"):
        raise ValueError("animate: traces is empty; pass one trace or a list of traces")
    with style():
        # A figure of its own, outside pyplot: a notebook shows no stray still copy, and nothing needs closing.
        fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        ax, drawn = _contour(problem_or_f, traces, fig.add_subplot(), **_contour_defaults(contour_kwargs, "animate"))
        title = ax.get_title()
        ax.set_title("")
        ax.set_title(title, loc="left")  # the step counter goes top right, above the picture
        clock = ax.text(1.0, 1.01, "", transform=ax.transAxes, ha="right", va="bottom")
        moving = [clock] + [artist for d in drawn for artist in (d.line, d.halo, d.end, d.note) if artist is not None]
        _freeze_background(fig, ax, moving)

    last_step = max(1, *(len(d.points) for d in drawn)) - 1
    steps = _frame_steps(last_step, frames)

    def show(step):
        for d in drawn:
            upto = min(step + 1, len(d.points))
            d.line.set_data(d.points[:upto, 0], d.points[:upto, 1])
            d.halo.set_segments([d.points[:upto]])
            d.end.set_offsets(d.points[upto - 1 : upto] if upto else np.empty((0, 2)))
            if d.note is not None:
                d.note.set_visible(step + 1 >= len(d.points))  # once the path has reached its end
        clock.set_text(f"step {step}")
        return moving

    anim = FuncAnimation(fig, show, frames=steps, interval=interval, cache_frame_data=False)
    anim.steps = steps  # the step each frame shows, for a caption or a test
    anim.ax = ax  # where a chapter can add to the picture (drawn in every frame) before it is rendered
    anim.frame_interval = interval  # for jshtml's frame rate
    anim.description = _describe_animation(title, [d.line.get_label() for d in drawn], steps)
    return anim


def _describe_animation(title, labels, steps):
    """What the player shows, for a screen reader (jshtml's default description)."""
    what = f" of {title}" if title else ""
    paths = ", ".join(labels) if labels else "the optimizer"
    return (f"Animation: contours of the loss{what} with the path of {paths} drawn step by step, "
            f"from step {steps[0]} to step {steps[-1]} in {len(steps)} frames.")


def _freeze_background(fig, ax, moving):
    """Draw everything but the ``moving`` artists once, as one picture behind them.

    Each frame then draws a single image plus a few lines, instead of contours, ticks, labels, legend and
    colour bar: the same pixels, about ten times faster.
    """
    for artist in moving:
        artist.set_visible(False)
    fig.canvas.draw()
    background = np.asarray(fig.canvas.buffer_rgba()).copy()
    fig.set_layout_engine("none")  # keep the axes where the layout put them
    for other in fig.axes:
        if other is not ax:
            other.set_visible(False)  # the colour bar
    for child in ax.get_children():
        child.set_visible(any(child is artist for artist in moving))
    behind = fig.add_axes((0, 0, 1, 1), zorder=-1)
    behind.imshow(background, aspect="auto", interpolation="none")
    behind.set_axis_off()


def _contour_defaults(kwargs, caller):
    allowed = {"bounds", "levels", "log_levels", "mark_minimum", "filled", "colorbar", "resolution", "cmap",
               "aspect", "title"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"{caller}: unknown keyword(s) {unknown}; allowed: interval, frames, figsize, dpi, "
                        f"and contour's {sorted(allowed)}")
    settings = {"bounds": None, "levels": 20, "log_levels": True, "mark_minimum": True, "filled": True,
                "colorbar": True, "resolution": 120, "cmap": "viridis", "aspect": "equal", "title": None}
    settings.update(kwargs)
    return {**settings, "figsize": None, "caller": caller}


def _frame_steps(last_step, frames):
    """``frames`` step numbers from 0 to ``last_step``, evenly spread (the last one always included)."""
    if frames is None:
        frames = min(last_step + 1, MAX_FRAMES)
    frames = _count(frames, "frames", 1, "animate")
    if frames == 1:
        return [last_step]
    return [int(k) for k in np.linspace(0, last_step, frames).round()]


def jshtml(anim, fps=None, default_mode="once", *, frame_format="png8", colors=128, quality=80,
           description=None):
    """The animation as HTML that plays in a browser on its own: frames embedded as images, JavaScript controls.

    What ``anim.to_jshtml()`` makes, with two changes for the book's web pages:

    - frames are palette PNGs by default (``frame_format="png8"``: each frame reduced to ``colors`` colours,
      2-256, without dithering): a fifth of a full PNG and a third smaller than a JPEG of quality 80 for
      contour plots, with sharp text and lines; ``"jpeg"`` (``quality`` 1-100) or ``"png"`` for exact pixels;
    - the control buttons show Unicode symbols instead of icons fetched from the Font Awesome CDN, so the
      player works offline and on a page that loads nothing from elsewhere;
    - for screen readers, the picture has ``description`` as its alt text (default: ``anim.description``,
      which :func:`animate` writes from the title, the paths' labels and the steps shown) and the frame slider
      a label; and the player shrinks to the width of a phone instead of keeping matplotlib's fixed widths.

    ``fps`` defaults to the animation's own pace; ``default_mode`` is "once", "loop" or "reflect".
    """
    if frame_format not in ("png8", "jpeg", "png"):
        raise ValueError(f"jshtml: frame_format must be 'png8', 'jpeg' or 'png', got {frame_format!r}")
    if isinstance(colors, bool) or not isinstance(colors, numbers.Integral) or not 2 <= colors <= 256:
        raise ValueError(f"jshtml: colors must be a whole number from 2 to 256, got {colors!r}")
    if default_mode not in ("once", "loop", "reflect"):
        raise ValueError(f"jshtml: default_mode must be 'once', 'loop' or 'reflect', got {default_mode!r}")
    if isinstance(quality, bool) or not isinstance(quality, numbers.Integral) or not 1 <= quality <= 100:
        raise ValueError(f"jshtml: quality must be a whole number from 1 to 100, got {quality!r}")
    if fps is None:
        fps = 1000 / getattr(anim, "frame_interval", 100)
    # Each frame is saved at the figure's own size and dpi, whatever a notebook set for savefig.
    settings = {"animation.frame_format": "png" if frame_format == "png8" else frame_format, "savefig.dpi": "figure",
                "savefig.bbox": None}
    with matplotlib.rc_context(settings), tempfile.TemporaryDirectory() as folder:
        page = Path(folder, "animation.html")
        writer = HTMLWriter(fps=fps, embed_frames=True, default_mode=default_mode)
        anim.save(page, writer=writer, savefig_kwargs={"pil_kwargs": {"quality": quality}} if frame_format == "jpeg"
                  else {})
        html = page.read_text()
    if frame_format == "png8":
        html = _FRAME_PNG.sub(lambda frame: _palette_png(frame, colors), html)
    html = html.replace(_FONT_AWESOME_LINK, "")
    for icon, symbol in _BUTTON_SYMBOLS.items():
        html = html.replace(f'<i class="fa {icon}"></i>', symbol)
    return _accessible_player(html, description if description is not None else getattr(anim, "description", ""))


# matplotlib's HTMLWriter embeds each frame as base64 lines joined by a backslash and a newline (a JS string)
_FRAME_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)")


def _palette_png(frame, colors):
    """One embedded PNG frame again, reduced to ``colors`` colours (median cut, no dithering: flat contour
    bands stay flat, so the PNG compresses well)."""
    from PIL import Image  # Pillow comes with matplotlib

    data = base64.b64decode(re.sub(r"[\\\n]", "", frame.group(1)))
    image = Image.open(io.BytesIO(data)).convert("RGB")
    small = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _accessible_player(html, description):
    """matplotlib's player with alt text on the picture, a label on the slider, and widths that fit a phone."""
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"jshtml: description must be a non-empty text saying what the animation shows, "
                         f"got {description!r}")
    alt = html_text.escape(description.strip(), quote=True)
    html, images = re.subn(r'<img id="(_anim_img\w+)">', rf'<img id="\1" alt="{alt}">', html)
    html, sliders = re.subn(r'(<input id="_anim_slider\w+" type="range")',
                            r'\1 aria-label="Frame of the animation"', html)
    # the player: one group of controls, with an id for the page's "Skip to the animation" link (book/_static)
    player_id = re.search(r'<img id="_anim_img(\w+)"', html)
    html, players = re.subn(r'<div class="animation">',
                            f'<div class="animation" id="animation-{player_id.group(1) if player_id else ""}" '
                            f'role="group" aria-label="Animation player">', html)
    if images != 1 or sliders != 1 or players != 1:  # matplotlib changed its template: say so, ship no bad player
        raise RuntimeError(f"jshtml: matplotlib's player template changed ({images} picture(s), {sliders} "
                           f"slider(s), {players} player(s) found); adamedu.plots._accessible_player needs updating")
    return html + _PLAYER_STYLE


# After matplotlib's own <style> (which fixes the slider at 374 px): the player never gets wider than its column.
_PLAYER_STYLE = """<style>
.animation { max-width: 100%; }
.animation img { max-width: 100%; height: auto; }
input[type=range].anim-slider { width: 100%; max-width: 374px; }
.anim-buttons button { min-height: 24px; }
</style>
"""


def to_html(anim, fps=None, default_mode="once", **kwargs):
    """:func:`jshtml` wrapped for display: as the last line of a notebook cell it plays the animation, in
    Jupyter and on the book's static web pages."""
    from IPython.display import HTML  # IPython comes with Jupyter; only this function needs it

    return HTML(jshtml(anim, fps=fps, default_mode=default_mode, **kwargs))


_FONT_AWESOME_LINK = ('<link rel="stylesheet"\n'
                      'href="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css">')
_TEXT = "\ufe0e"  # "show as text, not as an emoji" after a symbol
_BUTTON_SYMBOLS = {
    "fa-minus": "−", "fa-fast-backward": "❙◀◀" + _TEXT, "fa-step-backward": "❙◀" + _TEXT,
    "fa-play fa-flip-horizontal": "◀" + _TEXT, "fa-pause": "❚❚", "fa-play": "▶" + _TEXT,
    "fa-step-forward": "▶" + _TEXT + "❙", "fa-fast-forward": "▶▶" + _TEXT + "❙", "fa-plus": "+",
}


# -- shared helpers ---------------------------------------------------------------------------------------


@dataclass
class _Run:
    label: str
    path: np.ndarray = None
    losses: np.ndarray = None
    diverged_at: int | None = None


def _as_list(traces, caller):
    """[(trace, label or None), ...] from one trace (or bare array), a list of them, or a dict {label: trace}
    such as :func:`adamedu.loop.race` returns."""
    if hasattr(traces, "path") or hasattr(traces, "losses") or isinstance(traces, np.ndarray):
        return [(traces, None)]
    if isinstance(traces, Mapping):
        return [(trace, str(label)) for label, trace in traces.items()]
    if isinstance(traces, (str, bytes)) or not hasattr(traces, "__iter__"):
        raise TypeError(f"{caller}: traces must be a trace (from minimize), an array, or a list or dict of them, "
                        f"got {type(traces).__name__}")
    return [(trace, None) for trace in traces]


def _describe(trace, i, label, caller):
    if label is None:
        label = getattr(trace, "label", None)
        label = f"run {i}" if label is None else str(label)
    diverged_at = getattr(trace, "diverged_at", None)
    if diverged_at is not None and (isinstance(diverged_at, bool) or not isinstance(diverged_at, numbers.Integral)
                                    or diverged_at < 0):
        raise ValueError(f"{caller}: trace {i} ({label!r}) has diverged_at={diverged_at!r}; allowed: None or a "
                         f"step number >= 0")
    return label, None if diverged_at is None else int(diverged_at)


def _path_run(trace, i, label, caller):
    label, diverged_at = _describe(trace, i, label, caller)
    raw = getattr(trace, "path", trace)
    try:
        path = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{caller}: trace {i} ({label!r}) must have a path of numbers, an array of shape (n, 2); "
                        f"got {type(raw).__name__}: {err}") from None
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise ValueError(f"{caller}: trace {i} ({label!r}) has a path of shape {path.shape}; a path must have "
                         f"shape (n, 2), one row (x, y) per step: contours show problems of two parameters")
    finite = np.all(np.isfinite(path), axis=1)
    if not finite[0]:
        raise ValueError(f"{caller}: trace {i} ({label!r}) starts at {path[0].tolist()}, which is not finite")
    if not finite.all():  # a bare array that blew up: keep what came before
        path = path[: int(np.argmin(finite))]
    return _Run(label, path=path, diverged_at=diverged_at)


def _loss_run(trace, i, label):
    label, diverged_at = _describe(trace, i, label, "loss_curves")
    raw = getattr(trace, "losses", trace)
    try:
        losses = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"loss_curves: trace {i} ({label!r}) must have losses, a 1-D array of numbers; "
                        f"got {type(raw).__name__}: {err}") from None
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError(f"loss_curves: trace {i} ({label!r}) has losses of shape {losses.shape}; "
                         f"losses must be 1-D, one number per step")
    return _Run(label, losses=losses, diverged_at=diverged_at)


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _color(i):
    """The i-th line's colour (:data:`PALETTE`, whatever the colour cycle of the moment)."""
    return PALETTE[i % len(PALETTE)]


def _linestyle(i):
    return LINESTYLES[i % len(LINESTYLES)]


def _marker(i):
    return MARKERS[i % len(MARKERS)]


def _markevery(n, i, marks=8):
    """About ``marks`` markers along a line of n points, shifted per line so that curves lying on top of each
    other still show each one's markers."""
    every = max(1, n // marks)
    return (min(n - 1, (i * every) // 3), every) if n else None


def _count(value, name, minimum, caller):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{caller}: {name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _real(value, name, caller):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{caller}: {name} must be a finite number, got {value!r}")
    return float(value)
