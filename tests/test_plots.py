"""adamedu.plots: what is drawn is the data given, bad input is refused before anything is drawn.

The problem and the traces here are small stand-ins with the interface of adamedu.problems and
adamedu.loop (loss / name / bounds / minimum; path / losses / label / diverged_at), written out by hand,
so these tests check the plots alone.
"""

import base64
import io
import re
import subprocess
import sys
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

from adamedu import plots  # noqa: E402


class Ravine:
    """x² + 10y², one point at a time: like adamedu's problems, it refuses any other shape."""

    name = "x² + 10y²"
    shape = (2,)
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    minimum = np.array([0.0, 0.0])

    def loss(self, x):
        x = np.asarray(x, dtype=float)
        if x.shape != (2,):
            raise ValueError(f"x must have shape (2,), got {x.shape}")
        return float(x[0] ** 2 + 10 * x[1] ** 2)


def gradient_descent(lr, steps, x0=(1.5, 1.5), label=None, diverged_at=None):
    """Gradient descent on x² + 10y², in closed form: x_k = (1 − 2 lr)^k x0, y_k = (1 − 20 lr)^k y0."""
    k = np.arange(steps + 1)
    path = np.column_stack([x0[0] * (1 - 2 * lr) ** k, x0[1] * (1 - 20 * lr) ** k])
    losses = path[:, 0] ** 2 + 10 * path[:, 1] ** 2
    return SimpleNamespace(path=path, losses=losses, label=label or f"GD lr={lr}", diverged_at=diverged_at)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# -- contour ------------------------------------------------------------------------------------------------


def test_contour_draws_one_line_per_trace_with_the_trace_path():
    traces = [gradient_descent(0.05, 30), gradient_descent(0.02, 50, x0=(-1.0, 1.0))]
    ax = plots.contour(Ravine(), traces, resolution=40)
    assert len(ax.lines) == 2
    for line, trace in zip(ax.lines, traces, strict=True):
        np.testing.assert_array_equal(line.get_xydata(), trace.path)
        assert line.get_label() == trace.label
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["minimum", "GD lr=0.05", "GD lr=0.02"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "x² + 10y²"
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-2.0, 2.0)
    colorbar_axes = [other for other in ax.figure.axes if other is not ax]
    assert len(colorbar_axes) == 1 and colorbar_axes[0].get_ylabel() == "loss"
    stars = [c for c in ax.collections if c.get_label() == "minimum"]
    np.testing.assert_array_equal(stars[0].get_offsets(), [[0.0, 0.0]])


def test_contour_accepts_a_dict_of_traces_and_bare_arrays():
    ax = plots.contour(Ravine(), {"slow": gradient_descent(0.01, 5), "fast": gradient_descent(0.05, 5)},
                       resolution=20)
    assert [line.get_label() for line in ax.lines] == ["slow", "fast"]
    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]])
    ax = plots.contour(lambda p: p[0] ** 2 + p[1] ** 2, path, resolution=20)  # bounds from the path
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), path)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    # a square 10 % wider than the path's larger span (1.0), centred on it: (0.55, 0.5) ± 0.55
    np.testing.assert_allclose([x0, x1, y0, y1], [0.0, 1.1, -0.05, 1.05])


def test_contour_levels_are_the_loss_on_the_grid_spaced_geometrically():
    ax = plots.contour(Ravine(), [], resolution=41, levels=12, colorbar=False)
    levels = ax.collections[0].levels
    # The grid includes the corners (±2, ±2) and the origin: the loss spans exactly [0, 4 + 40].
    assert levels[-1] == pytest.approx(44.0)
    assert len(levels) == 12
    ratios = levels[1:] / levels[:-1]  # the lowest loss on the grid is 0, so the levels themselves are geometric
    np.testing.assert_allclose(ratios, ratios[0])
    linear = plots.contour(Ravine(), [], resolution=41, levels=5, log_levels=False, colorbar=False)
    np.testing.assert_allclose(linear.collections[0].levels, [0.0, 11.0, 22.0, 33.0, 44.0])


def chebyshev_bowl(p):
    """x² + 10y² + max(|x|, |y|): on a stacked grid np.max takes the largest of all, a wrong number of the
    right shape, which only checking a few points against single-point calls can catch."""
    return p[0] ** 2 + 10 * p[1] ** 2 + np.max(np.abs(p))


@pytest.mark.parametrize("f, hand", [
    (lambda p: p[0] ** 2 + 10 * p[1] ** 2, lambda x, y: x**2 + 10 * y**2),  # evaluated on the whole grid at once
    (Ravine().loss, lambda x, y: x**2 + 10 * y**2),  # refuses the grid: one point at a time
    (lambda p: p @ np.diag([1.0, 10.0]) @ p, lambda x, y: x**2 + 10 * y**2),  # fails on the grid
    (chebyshev_bowl, lambda x, y: x**2 + 10 * y**2 + np.maximum(np.abs(x), np.abs(y))),
], ids=["vectorized", "pointwise", "matmul", "wrong-on-a-grid"])
def test_the_loss_grid_is_right_however_the_loss_is_written(f, hand):
    xs, ys = np.linspace(-2, 2, 7), np.linspace(-1, 3, 5)
    xx, yy, z = plots._loss_on_grid(f, xs, ys)
    assert z.shape == (5, 7)
    np.testing.assert_allclose(z, hand(xx, yy), rtol=1e-12)


def test_a_path_that_leaves_for_good_is_cut_at_the_edge_and_annotated():
    # lr = 0.11 > 2/20: y flips sign and grows by 1.2 per step; it leaves the window y <= 2 at step 2
    # and reaches ~1e32 by step 400. The run is marked diverged at the refused step 401.
    trace = gradient_descent(0.11, 400, diverged_at=401)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plots.contour(Ravine(), [trace], resolution=30)
        ax.figure.savefig(io.BytesIO(), format="png")
    drawn = ax.lines[0].get_xydata()
    np.testing.assert_array_equal(drawn[:2], trace.path[:2])
    (x1, y1), (x2, y2) = trace.path[1], trace.path[2]  # (1.17, -1.8) -> (0.9126, 2.16)
    s = (2.0 - y1) / (y2 - y1)  # where the segment meets y = 2
    np.testing.assert_allclose(drawn[2], [x1 + s * (x2 - x1), 2.0])
    assert len(drawn) == 3
    notes = [text.get_text() for text in ax.texts]
    assert notes == ["diverged at step 401"]


def test_a_path_that_leaves_without_diverging_says_when_and_one_that_returns_is_whole():
    out = SimpleNamespace(path=np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 1.0], [5.0, 1.0]]), label="out")
    back = SimpleNamespace(path=np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 0.0]]), label="back")
    ax = plots.contour(Ravine(), [out, back], bounds=((-2, 2), (-2, 2)), resolution=20)
    np.testing.assert_allclose(ax.lines[0].get_xydata(), [[0, 0], [1, 1], [2, 1]])
    np.testing.assert_array_equal(ax.lines[1].get_xydata(), back.path)
    assert [text.get_text() for text in ax.texts] == ["leaves at step 2"]


def test_the_window_grows_to_show_a_start_outside_the_problem_bounds():
    trace = gradient_descent(0.05, 10, x0=(3.0, 0.5))
    ax = plots.contour(Ravine(), trace, resolution=20)
    # widened to x in [-2, 3] (y stays [-2, 2]), then padded by 5 % of each span
    assert ax.get_xlim() == pytest.approx((-2.25, 3.25)) and ax.get_ylim() == pytest.approx((-2.2, 2.2))
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), trace.path)


def test_contour_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    returned = plots.contour(Ravine(), gradient_descent(0.05, 5), ax=right, resolution=20, colorbar=False)
    assert returned is right and not left.lines and len(right.lines) == 1


def test_figures_are_opaque_white_even_where_a_notebook_asks_for_transparent():
    # A transparent PNG keeps its black ink: unreadable in the website's dark mode. Older Jupyter inline
    # backends set a transparent figure.facecolor, and save with facecolor=fig.get_facecolor().
    with matplotlib.rc_context({"figure.facecolor": (1, 1, 1, 0), "axes.facecolor": "none",
                                "savefig.facecolor": "none", "text.color": "white"}):
        ax = plots.contour(Ravine(), [], resolution=20)
        curves = plots.loss_curves(gradient_descent(0.05, 10))
        for figure in (ax.figure, curves.figure):
            assert figure.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", facecolor=figure.get_facecolor())
            corner = plt.imread(io.BytesIO(buffer.getvalue()))[0, 0]
            np.testing.assert_array_equal(corner, [1.0, 1.0, 1.0, 1.0])
    assert curves.xaxis.label.get_color() == "black"
    with matplotlib.rc_context():  # restores what use_style changes
        plots.use_style()
        assert matplotlib.rcParams["savefig.facecolor"] == "white" and not matplotlib.rcParams["savefig.transparent"]


def test_style_restores_only_what_it_changed():
    with matplotlib.rc_context():  # isolation for this test
        matplotlib.rcParams["figure.facecolor"] = "red"
        matplotlib.interactive(False)
        with plots.style():
            assert matplotlib.rcParams["figure.facecolor"] == "white"
            # What Jupyter's inline backend does when pyplot's first figure is made (here: inside contour):
            # it must survive, or no later figure of the notebook is shown.
            matplotlib.interactive(True)
        assert matplotlib.rcParams["figure.facecolor"] == "red"
        assert matplotlib.is_interactive()


# -- loss curves --------------------------------------------------------------------------------------------


def test_loss_curves_plot_the_losses_on_a_log_axis():
    traces = [gradient_descent(0.05, 40), gradient_descent(0.01, 60)]
    ax = plots.loss_curves(traces)
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2
    for line, trace in zip(ax.lines, traces, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(trace.losses)))
        np.testing.assert_array_equal(line.get_ydata(), trace.losses)
    assert ax.get_xlabel() and ax.get_ylabel() == "loss"
    assert plots.loss_curves(traces, log=False).get_yscale() == "linear"


def test_loss_curves_clip_zero_at_the_floor_shift_by_offset_and_leave_gaps():
    zero = SimpleNamespace(losses=np.array([4.0, 1.0, 0.25, 0.0]), label="exact")
    ax = plots.loss_curves(zero)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [4.0, 1.0, 0.25, 0.025])  # a tenth of the least
    ax = plots.loss_curves(zero, floor=1e-3)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [4.0, 1.0, 0.25, 1e-3])
    ax = plots.loss_curves(np.array([3.0, 2.5, 2.0]), offset=2.0, floor=1e-9)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 0.5, 1e-9])
    assert ax.get_ylabel() == "loss − 2"
    ax = plots.loss_curves(np.array([1.0, np.inf, 0.5, np.nan]))
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, np.nan, 0.5, np.nan])


def test_loss_curves_mark_a_diverged_run():
    trace = gradient_descent(0.11, 30, diverged_at=31)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plots.loss_curves([gradient_descent(0.05, 30), trace])
        ax.figure.savefig(io.BytesIO(), format="png")
    assert ax.lines[1].get_label() == "GD lr=0.11 (diverged at step 31)"
    (cross,) = ax.collections
    np.testing.assert_array_equal(cross.get_offsets(), [[30, trace.losses[-1]]])


# -- animation ----------------------------------------------------------------------------------------------


def test_animation_has_the_frames_asked_for_and_ends_on_the_whole_paths():
    traces = [gradient_descent(0.05, 40), gradient_descent(0.11, 40, diverged_at=41)]
    figures_before = plt.get_fignums()
    anim = plots.animate(Ravine(), traces, frames=12, resolution=30)
    assert isinstance(anim, FuncAnimation)
    assert plt.get_fignums() == figures_before  # no stray still copy for a notebook to show
    assert len(list(anim.new_frame_seq())) == 12
    assert anim.steps[0] == 0 and anim.steps[-1] == 40 and np.all(np.diff(anim.steps) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the diverged path plays without a warning
        html = plots.jshtml(anim)
    assert len(re.findall(r"data:image/png;base64", html)) == 12
    # After playing every frame, the figure shows the last one: both paths complete.
    lines = anim.ax.lines
    np.testing.assert_array_equal(lines[0].get_xydata(), traces[0].path)
    np.testing.assert_array_equal(lines[1].get_xydata()[:2], traces[1].path[:2])  # then the edge of the window
    assert len(lines[1].get_xydata()) == 3
    texts = {text.get_text(): text.get_visible() for text in anim.ax.texts}
    assert texts == {"diverged at step 41": True, "step 40": True}


def test_long_runs_are_subsampled():
    anim = plots.animate(Ravine(), gradient_descent(0.01, 999), resolution=20)
    assert len(anim.steps) == plots.MAX_FRAMES
    assert anim.steps[0] == 0 and anim.steps[-1] == 999
    anim._draw_was_started = True  # not rendered on purpose: silence matplotlib's reminder


def test_jshtml_is_a_small_self_contained_player():
    anim = plots.animate(Ravine(), [gradient_descent(0.05, 20)], frames=6, resolution=30)
    html = plots.jshtml(anim)
    assert "<script" in html and "Animation(" in html
    assert len(html) < 200_000  # 6 frames of 396 x 295 pixels: ~20 kB each as palette PNG, ~63 kB as full PNG
    assert "font-awesome" not in html and 'class="fa' not in html  # nothing fetched from a CDN
    assert "▶" in html
    shown = plots.to_html(anim)
    assert "<script" in shown.data and shown._repr_html_() == shown.data
    png = plots.jshtml(anim, frame_format="png")
    assert len(re.findall(r"data:image/png;base64", png)) == 6
    jpeg = plots.jshtml(anim, frame_format="jpeg", quality=80)
    assert len(re.findall(r"data:image/jpeg;base64", jpeg)) == 6
    assert len(html) < 0.8 * len(jpeg) < 0.8 * len(png)  # palette PNGs: the lightest of the three


def _frames(html):
    """The embedded frames of a player, decoded (matplotlib splits their base64 with backslash-newlines)."""
    from PIL import Image

    return [Image.open(io.BytesIO(base64.b64decode(re.sub(r"[\\\n]", "", data))))
            for data in re.findall(r"data:image/\w+;base64,([A-Za-z0-9+/=\\\n]+)", html)]


def test_palette_frames_keep_the_picture():
    anim = plots.animate(Ravine(), [gradient_descent(0.05, 20)], frames=3, resolution=30)
    exact = _frames(plots.jshtml(anim, frame_format="png"))
    for colors in (128, 16):
        small = _frames(plots.jshtml(anim, colors=colors))
        assert len(small) == len(exact) == 3
        for a, b in zip(small, exact, strict=True):
            assert a.mode == "P" and len(a.getcolors()) <= colors and a.size == b.size
            diff = np.abs(np.asarray(a.convert("RGB"), float) - np.asarray(b.convert("RGB"), float))
            # 128 colours: contour bands and lines within a few levels of 255; 16 colours visibly coarser
            assert (diff.mean() < 2.0) == (colors == 128), (colors, diff.mean())


def test_the_player_is_described_labelled_and_fits_a_phone():
    traces = {"GD": gradient_descent(0.05, 20), "GD fast": gradient_descent(0.09, 20)}
    anim = plots.animate(Ravine(), traces, frames=5, resolution=20)
    html = plots.jshtml(anim)
    (alt,) = re.findall(r'<img id="_anim_img\w+" alt="([^"]*)">', html)
    assert alt == ("Animation: contours of the loss of x² + 10y² with the path of GD, GD fast drawn step by step, "
                   "from step 0 to step 20 in 5 frames.")
    assert re.search(r'<input id="_anim_slider\w+" type="range" aria-label="Frame of the animation"', html)
    (player,) = re.findall(r'<div class="animation" id="animation-(\w+)" role="group" aria-label="Animation player">',
                           html)
    assert f'<img id="_anim_img{player}"' in html
    # our sizes come after matplotlib's fixed 374 px slider, so they win
    assert html.index("width: 374px") < html.index("max-width: 100%") < html.index("width: 100%; max-width: 374px")
    told = plots.jshtml(anim, description='Two paths; "GD fast" <zig-zags> & ends first')
    assert 'alt="Two paths; &quot;GD fast&quot; &lt;zig-zags&gt; &amp; ends first"' in told


def test_import_adamedu_needs_no_matplotlib():
    code = "import sys, adamedu; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- bad input ----------------------------------------------------------------------------------------------

PATH = np.array([[1.0, 1.0], [0.5, 0.5]])

BAD_INPUT = [
    (lambda: plots.contour(Ravine(), [np.zeros((5, 3))]), ValueError, r"trace 0 .*shape \(5, 3\).*\(n, 2\)"),
    (lambda: plots.contour(Ravine(), [SimpleNamespace(path=np.zeros((4, 2, 2)), label="A")]), ValueError,
     r"trace 0 \('A'\) has a path of shape \(4, 2, 2\)"),
    (lambda: plots.contour(Ravine(), [np.zeros(5)]), ValueError, r"shape \(5,\)"),
    (lambda: plots.contour(Ravine(), [PATH, [["a", "b"]]]), TypeError, r"trace 1 .*path of numbers"),
    (lambda: plots.contour(Ravine(), "path"), TypeError, r"traces must be"),
    (lambda: plots.contour(Ravine(), [np.array([[np.nan, 0.0]])]), ValueError, r"starts at .* not finite"),
    (lambda: plots.contour(SimpleNamespace(loss=sum, shape=(3,), name="3-D"), []), ValueError,
     r"two parameters.*shape \(3,\)"),
    (lambda: plots.contour(3, [PATH]), TypeError, r"problem_or_f must be"),
    (lambda: plots.contour(lambda p: p[0], []), ValueError, r"pass bounds="),
    (lambda: plots.contour(Ravine(), [], bounds=((1, 0), (0, 1))), ValueError, r"bounds must be .*got \(\(1, 0\)"),
    (lambda: plots.contour(Ravine(), [], bounds=(0, 1)), ValueError, r"bounds must be"),
    (lambda: plots.contour(Ravine(), [], levels=1), ValueError, r"levels must be a whole number >= 2"),
    (lambda: plots.contour(Ravine(), [], levels=[3.0, 1.0]), ValueError, r"levels must be .*increasing"),
    (lambda: plots.contour(Ravine(), [], resolution=1.5), ValueError, r"resolution must be a whole number"),
    (lambda: plots.contour(Ravine(), [], aspect=2), ValueError, r"aspect must be 'equal' or 'auto', got 2"),
    (lambda: plots.contour(Ravine(), [SimpleNamespace(path=PATH, diverged_at=-1)]), ValueError,
     r"diverged_at=-1"),
    (lambda: plots.loss_curves([]), ValueError, r"traces is empty"),
    (lambda: plots.loss_curves([np.ones((3, 2))]), ValueError, r"losses of shape \(3, 2\).*1-D"),
    (lambda: plots.loss_curves([SimpleNamespace(losses=[1.0, -0.5], label="saddle")]), ValueError,
     r"'saddle'.*-0.5 < 0 at step 1.*offset=.*log=False"),
    (lambda: plots.loss_curves([np.ones(3)], floor=0.0), ValueError, r"floor must be a number > 0"),
    (lambda: plots.loss_curves([np.ones(3)], offset=np.nan), ValueError, r"offset must be a finite number"),
    (lambda: plots.animate(Ravine(), []), ValueError, r"animate: traces is empty"),
    (lambda: plots.animate(Ravine(), [PATH], frames=0), ValueError, r"frames must be a whole number >= 1, got 0"),
    (lambda: plots.animate(Ravine(), [PATH], interval=0), ValueError, r"interval must be .* > 0, got 0"),
    (lambda: plots.animate(Ravine(), [PATH], colour="red"), TypeError, r"unknown keyword.*'colour'"),
    (lambda: plots.animate(Ravine(), [np.zeros((2, 3))]), ValueError, r"animate: trace 0 .*\(n, 2\)"),
]


@pytest.mark.parametrize("call, error, words", BAD_INPUT, ids=range(len(BAD_INPUT)))
def test_bad_input_is_refused_before_anything_is_drawn(call, error, words):
    figures_before = plt.get_fignums()
    with pytest.raises(error, match=words):
        call()
    assert plt.get_fignums() == figures_before


@pytest.mark.parametrize("kwargs, words", [
    ({"frame_format": "gif"}, r"frame_format must be 'png8', 'jpeg' or 'png', got 'gif'"),
    ({"colors": 1}, r"colors must be a whole number from 2 to 256, got 1"),
    ({"colors": 300}, r"colors must be a whole number from 2 to 256, got 300"),
    ({"default_mode": "forever"}, r"default_mode must be 'once', 'loop' or 'reflect', got 'forever'"),
    ({"quality": 0}, r"quality must be a whole number from 1 to 100, got 0"),
    ({"description": "  "}, r"description must be a non-empty text .* got '  '"),
])
def test_jshtml_refuses_bad_options(kwargs, words):
    anim = plots.animate(Ravine(), [PATH], resolution=10)
    with pytest.raises(ValueError, match=words):
        plots.jshtml(anim, **kwargs)
    anim._draw_was_started = True


def test_loss_curves_keep_a_blown_up_run_on_a_usable_log_axis():
    import warnings

    losses = np.array([1.0, 1e100, 1e307])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plots.loss_curves([losses, np.array([1.0, 0.1, 0.01])])
    bottom, top = ax.get_ylim()
    assert np.isfinite(top) and top > plots.CEILING  # the blown-up run is drawn at the ceiling, in view
    assert ax.lines[0].get_ydata()[-1] == plots.CEILING
    assert bottom < 0.01
    plt.close(ax.figure)


# -- readable by every reader -------------------------------------------------------------------------------


def contrast(a, b="#ffffff"):
    """WCAG 2.x contrast ratio of two colours (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio), by hand."""
    def luminance(colour):
        channels = [int(colour.lstrip("#")[k : k + 2], 16) / 255 for k in (0, 2, 4)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_by_hand_matches_published_values():
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey that passes AA on white
    assert contrast("#808080") == pytest.approx(3.95, abs=0.01)  # matplotlib's "gray": the 3.95:1


def test_line_colours_have_3_to_1_and_grey_text_4_5_to_1_on_white():
    assert len(set(plots.PALETTE)) == len(plots.PALETTE) >= 5
    low = {c: round(contrast(c), 2) for c in plots.PALETTE if contrast(c) < 3.0}
    assert not low, f"line colours under 3:1 on white (WCAG 1.4.11): {low}"
    assert contrast(plots.GREY) >= 4.5
    # Okabe-Ito's orange, sky blue and yellow would fail: the check can fail
    assert all(contrast(c) < 3.0 for c in ("#E69F00", "#56B4E9", "#F0E442"))
    # the colour cycle (C0, C1, ... in a chapter) is the palette
    assert [matplotlib.colors.to_hex(c).upper() for c in plots.STYLE["axes.prop_cycle"].by_key()["color"]] == \
        [c.upper() for c in plots.PALETTE]


def dash_pattern(style):
    """What the eye sees of a line style ("-", "--", (0, (6, 1.5)), ...): None for solid, else its on/off lengths.
    (matplotlib's own normalisation; a drawn line keeps the same in ``_unscaled_dash_pattern``.)"""
    from matplotlib.lines import _get_dash_pattern

    dashes = _get_dash_pattern(style)[1]
    return None if dashes is None else tuple(dashes)


def test_each_line_has_its_own_line_style_and_marker_so_colour_is_not_the_only_cue():
    n = len(plots.LINESTYLES)
    patterns = [dash_pattern(style) for style in plots.LINESTYLES]
    assert len(set(patterns)) == n and patterns[0] is None  # all different, the first solid
    assert len(set(plots.MARKERS)) == n
    traces = [gradient_descent(0.01 * (k + 1), 12) for k in range(n)]
    curves = plots.loss_curves(traces)
    assert [line.get_marker() for line in curves.lines] == list(plots.MARKERS)
    drawn = [line._unscaled_dash_pattern[1] for line in curves.lines]
    assert [None if d is None else tuple(d) for d in drawn] == patterns
    assert all(line.get_markevery() is not None for line in curves.lines)  # a few markers, not one per step
    paths = plots.contour(Ravine(), traces[:4], resolution=20)
    assert [line.get_marker() for line in paths.lines] == list(plots.MARKERS[:4])
    assert [line.get_linestyle() for line in paths.lines] == ["-", "--", "-.", ":"]
    # a chapter's own lines get colour and line style from the cycle
    with plots.style():
        fig, ax = plt.subplots()
        own = [ax.plot([0, 1], [k, k])[0] for k in range(len(plots.PALETTE))]
    plt.close(fig)
    assert len({line.get_color() for line in own}) == len(plots.PALETTE)
    assert [line._unscaled_dash_pattern[1] and tuple(line._unscaled_dash_pattern[1]) for line in own] == \
        patterns[: len(plots.PALETTE)]


def test_tick_labels_stay_legible_on_a_phone():
    ax = plots.loss_curves(gradient_descent(0.05, 10))
    ax.figure.canvas.draw()
    size_pt = min(label.get_fontsize() for label in ax.get_xticklabels() + ax.get_yticklabels())
    width_in = ax.figure.get_figwidth()
    # On a 390 px phone the article column is about 350 px: the figure is scaled to that width.
    pixels = size_pt / 72 * 350 / width_in
    assert pixels >= 10, f"tick labels {size_pt} pt would be {pixels:.1f} px high on a phone"
    # matplotlib's default (10 pt) would not be: the check can fail
    assert 10 / 72 * 350 / width_in < 10
