"""The explorables (adamedu.plots.explorables): what each slider shows is a fresh ``minimize`` run, the slider
values are the ones the chapters name, the rates and limits agree with hand-derived formulas, and the page
output (HTML, PNG, description) is offline and complete.

The reference runs here are built from scratch (problem, optimizer, start), not read from ``Explorable.runs``.
"""

import base64
import json
import math
import re

import numpy as np
import pytest

import adamedu as ae

pytest.importorskip("plotly")
from adamedu.plots import explorables as ex  # noqa: E402

RTOL = 5.01e-4  # the page keeps 4 significant digits (ex._DIGITS): a relative error of at most 5e-4


@pytest.fixture(scope="module")
def built():
    return {f.__name__: f() for f in (ex.gd_learning_rate, ex.momentum_rate_map, ex.optimizer_race,
                                        ex.adam_bias_correction, ex.adamw_settling, ex.warmup_vs_radam)}


def close(shown, expected):
    shown = np.array([np.nan if v is None else v for v in shown], dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert shown.shape == expected.shape
    np.testing.assert_allclose(shown, expected, rtol=RTOL, atol=1e-300)


def slider(explorable, i=0):
    return explorable.figure["layout"]["sliders"][i]


# -- 1. gradient descent --------------------------------------------------------------------------------------

def test_gd_slider_steps_are_minimize_runs(built):
    e = built["gd_learning_rate"]
    s = slider(e)
    assert [float(st["label"]) for st in s["steps"]] == pytest.approx(ex.GD_LRS)
    for st, lr in zip(s["steps"], ex.GD_LRS, strict=True):
        run = ae.minimize(ae.ravine(), [1.5, 1.5], ae.GradientDescent(lr=lr), 40)
        update, _, ids = st["args"]
        assert ids == [1, 2]
        close(update["x"][0], run.path[:, 0])
        close(update["y"][0], run.path[:, 1])
        close(update["y"][1], run.losses)


def test_gd_slider_holds_the_chapters_values_and_crosses_2_over_L(built):
    labels = [float(st["label"]) for st in slider(built["gd_learning_rate"])["steps"]]
    for named in (0.01, 0.08, 0.1, 0.105):  # chapter 1's "too small", "good", 2/L, "too large"
        assert any(math.isclose(v, named) for v in labels)
    assert slider(built["gd_learning_rate"])["steps"][slider(built["gd_learning_rate"])["active"]]["label"] == "0.08"
    assert min(labels) < 2 / ae.ravine().L < max(labels)


def test_gd_titles_say_which_side_of_2_over_L(built):
    for st in slider(built["gd_learning_rate"])["steps"]:
        lr, title = float(st["label"]), st["args"][1]["title.text"]
        assert ("diverges" in title) == (lr > 0.1 + 1e-12)


def test_gd_default_view_is_the_default_run(built):
    e = built["gd_learning_rate"]
    run = ae.minimize(ae.ravine(), [1.5, 1.5], ae.GradientDescent(lr=0.08), 40)
    close(e.figure["data"][1]["x"], run.path[:, 0])


# -- 2. momentum's rate --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lr, beta", [(0.1, 0.9), (0.05, 0.95), (0.2, 0.6)])
def test_momentum_rate_in_the_complex_band_is_sqrt_beta(lr, beta):
    h = np.array([2.0, 20.0])
    band = lr * (1 - beta) * h
    assert np.all(((1 - math.sqrt(beta)) ** 2 < band) & (band < (1 + math.sqrt(beta)) ** 2))  # chapter 2's band
    assert ex.momentum_rate(lr, beta, h) == pytest.approx(math.sqrt(beta), rel=1e-9)


@pytest.mark.parametrize("lr", [0.01, 0.05, 0.09, 0.11])
def test_momentum_rate_without_momentum_is_gradient_descents(lr):
    h = np.array([2.0, 20.0])
    assert ex.momentum_rate(lr, 0.0, h) == pytest.approx(np.abs(1 - lr * h).max(), rel=1e-12)


@pytest.mark.parametrize("lr, beta", [(0.1, 0.9), (0.02, 0.5), (0.15811, 0.26987), (1.8, 0.9), (0.01, 0.0)])
def test_momentum_rate_matches_the_measured_rate(lr, beta):
    problem, steps = ae.ravine(), 400
    run = ae.minimize(problem, [1.5, 1.5], ae.Momentum(lr=lr, beta=beta), steps)
    distance = np.linalg.norm(run.path, axis=1)
    # the distance oscillates around rate^t: fit the slope of log(distance) over the second half
    t = np.arange(steps // 2, steps + 1)
    slope = np.polyfit(t, np.log(np.maximum(distance[t], 1e-300)), 1)[0]
    assert math.exp(slope) == pytest.approx(ex.momentum_rate(lr, beta, problem.curvatures), abs=0.01)


def test_momentum_rate_at_least_one_exactly_where_runs_diverge():
    beta = 0.9
    limit = 2 * (1 + beta) / ((1 - beta) * 20)  # chapter 2: stable for lr < 2(1 + β)/((1 − β)L) = 1.9
    assert ex.momentum_rate(0.99 * limit, beta, [2.0, 20.0]) < 1 <= ex.momentum_rate(1.01 * limit, beta, [2.0, 20.0])
    grew = ae.minimize(ae.ravine(), [1.5, 1.5], ae.Momentum(lr=1.01 * limit, beta=beta), 2000)
    assert grew.final_loss > grew.losses[0]  # negative control: the map's "diverges" is real


def test_momentum_sliders_rewrite_every_beta_path_and_show_one(built):
    e = built["momentum_rate_map"]
    s_lr, s_beta = slider(e, 0), slider(e, 1)
    lrs = [float(st["label"].split()[0]) for st in s_lr["steps"]]
    betas = [float(st["label"].split()[0]) for st in s_beta["steps"]]
    lr_star, beta_star = ex._optimal_momentum(ae.ravine())
    for named in (0.1, 1.8, 2.0, round(lr_star, 4)):
        assert any(math.isclose(v, named) for v in lrs)
    for named in (0.9, round(beta_star, 4)):
        assert any(math.isclose(v, named) for v in betas)
    assert s_lr["steps"][s_lr["active"]]["label"] == "0.1" and s_beta["steps"][s_beta["active"]]["label"] == "0.9"
    n = len(betas)
    for st, lr in zip(s_lr["steps"], lrs, strict=True):
        update, ids = st["args"]
        assert len(ids) == 2 * n
        for j, beta in enumerate(betas):
            run = ae.minimize(ae.ravine(), [1.5, 1.5], ae.Momentum(lr=lr, beta=beta), 60)
            close(update["x"][n + j], run.path[:, 0])
            close(update["y"][n + j], run.path[:, 1])
            assert update["x"][j] == [lr] and update["y"][j] == [beta]  # the marker on the map
    for j, st in enumerate(s_beta["steps"]):
        visible = st["args"][0]["visible"]
        assert visible == [k == j for k in range(n)] * 2


def test_momentum_map_values_are_the_rate(built):
    heat = built["momentum_rate_map"].figure["data"][0]
    h = ae.ravine().curvatures
    # the grid by hand from the axes' ends (the page rounds α and β too; the rate is steep near its kinks)
    lrs, betas = np.geomspace(heat["x"][0], heat["x"][-1], len(heat["x"])), np.linspace(0, 0.99, len(heat["y"]))
    close(heat["x"], lrs)
    close(heat["y"], betas)
    for i in (0, 17, 40):
        for j in (3, 30, 59):
            expected = np.clip(ex.momentum_rate(lrs[j], betas[i], h), 0.5, 1.1)
            assert heat["z"][i][j] == pytest.approx(expected, rel=RTOL)


# -- 3. the race ---------------------------------------------------------------------------------------------

OPTIMIZERS = {"GD": ae.GradientDescent, "Momentum": ae.Momentum, "RMSprop": ae.RMSprop, "Adam": ae.Adam}
PROBLEMS = {"ravine": (ae.ravine, (1.5, 1.5)),
            "rotated ravine": (lambda: ae.Quadratic([2.0, 20.0], angle=math.pi / 6), (1.5, 1.5)),
            "Rosenbrock": (ae.Rosenbrock, (-1.5, 2.5)), "saddle": (ae.Saddle, (1.5, 0.01))}


def test_race_sliders_are_minimize_runs_on_every_landscape(built):
    e = built["optimizer_race"]
    lands = [b["label"] for b in e.figure["layout"]["updatemenus"][0]["buttons"]]
    assert lands == ["ravine", "rotated ravine", "Rosenbrock", "saddle"]
    for i, name in enumerate(OPTIMIZERS):
        s = slider(e, i)
        assert s["currentvalue"]["prefix"].startswith(name)
        for st in s["steps"][:: 3] + s["steps"][-1:]:
            lr = float(st["label"])
            update, ids = st["args"]
            for k, land in enumerate(lands):
                factory, x0 = PROBLEMS[land]
                run = ae.minimize(factory(), x0, OPTIMIZERS[name](lr=lr), 150)
                close(update["x"][2 * k], run.path[:, 0])
                close(update["y"][2 * k], run.path[:, 1])
                losses = run.losses if land == "saddle" else np.maximum(run.losses, 1e-16)
                steps = np.array(update["x"][2 * k + 1])  # the loss curve keeps the steps where it bends
                assert steps[0] == 0 and steps[-1] == len(losses) - 1 and np.all(np.diff(steps) > 0)
                close(update["y"][2 * k + 1], losses[steps])
                assert e.figure["data"][ids[2 * k]]["name"] == name


def test_race_menu_shows_one_landscape_at_a_time(built):
    e = built["optimizer_race"]
    data = e.figure["data"]
    for b in e.figure["layout"]["updatemenus"][0]["buttons"]:
        visible = b["args"][0]["visible"]
        shown = [d for d, v in zip(data, visible, strict=True) if v]
        assert sum(d["type"] == "contour" for d in shown) == 1
        assert sorted(d["name"] for d in shown if d.get("mode") == "lines+markers") == sorted(OPTIMIZERS)
        assert (b["args"][1]["yaxis2.type"] == "linear") == (b["label"] == "saddle")


# -- 4. Adam's bias correction ----------------------------------------------------------------------------------

def test_adam_first_step_with_and_without_bias_correction(built):
    e = built["adam_bias_correction"]
    lr, beta1 = 0.1, 0.9
    for st in slider(e)["steps"]:
        beta2 = float(st["label"])
        update, ids = st["args"]
        on, off = update["y"][2], update["y"][3]
        assert on[0] == pytest.approx(1.0, rel=RTOL)  # bias-corrected: the first step is α
        assert off[0] == pytest.approx((1 - beta1) / math.sqrt(1 - beta2), rel=RTOL)  # eq-adam-first-step
        for j, corrected in enumerate((True, False)):
            run = ae.minimize(ae.ravine(), [1.5, 1.5], ae.Adam(lr=lr, beta2=beta2, bias_correction=corrected), 30)
            close(update["x"][j], run.path[:, 0])
            close(update["y"][j], run.path[:, 1])


def test_adam_menu_toggles_the_runs(built):
    menu = built["adam_bias_correction"].figure["layout"]["updatemenus"][0]
    assert [b["label"] for b in menu["buttons"]] == ["on and off", "on", "off"]
    assert menu["buttons"][1]["args"][0]["visible"] == [True, False, True, False]


# -- 5. AdamW ------------------------------------------------------------------------------------------------

def test_adamw_paths_are_minimize_runs_and_settle_where_chapter_5_says(built):
    e = built["adamw_settling"]
    h, c = np.array([1.0, 0.1]), np.array([2.0, -3.0])
    for st in slider(e)["steps"]:
        lam = float(st["label"])
        update, _ = st["args"]
        l2 = ae.minimize(ae.Quadratic(h + lam, c=h * c / (h + lam)), [0.0, 0.0], ae.Adam(lr=0.1), 1000)
        w = ae.minimize(ae.Quadratic(h, c=c), [0.0, 0.0], ae.AdamW(lr=0.1, weight_decay=lam), 1000)
        keep = np.arange(0, 1001, 5)
        close(update["y"][4], l2.path[keep, 1])  # the right panel: w2 against the step
        close(update["x"][0], l2.path[keep, 0])
        close(update["y"][1], w.path[keep, 1])
        ridge = h * c / (h + lam)  # eq-adamw-ridge, by hand
        np.testing.assert_allclose(l2.final, ridge, atol=1e-3)
        close(update["x"][2], ridge[:1])
        if lam >= 1:  # |c| > 1/λ on both axes: AdamW approaches the box's corner (slowly, as v forgets)
            np.testing.assert_allclose(w.path[-100:].mean(axis=0), np.clip(c, -1 / lam, 1 / lam), atol=0.03)
    assert slider(e)["steps"][slider(e)["active"]]["label"] == "1"


# -- 6. warm-up against RAdam -------------------------------------------------------------------------------

def radam_r(t, beta2=0.999):
    """Liu et al.'s rectification r_t, by hand (1 for the momentum steps, where ρ_t ≤ 5)."""
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    return np.where(rho > 5, np.sqrt(np.maximum((rho - 4) * (rho - 2) * rho_inf, 0)
                                     / ((rho_inf - 4) * (rho_inf - 2) * rho)), 1.0)


def test_warmup_probe_shows_the_schedule_and_radams_rectification(built):
    e = built["warmup_vs_radam"]
    radam = e.figure["data"][0]
    t = np.array(radam["x"])
    close(radam["y"], radam_r(t))
    for st in slider(e)["steps"]:
        T = int(st["label"].split()[0])
        update, layout, ids = st["args"]
        assert ids == [1, 4] and f"T = {T}" in layout["title.text"]
        close(update["y"][0], np.minimum(1.0, t / T))  # the linear warm-up, by hand
        noisy = ae.minimize(ae.Noisy(ae.ravine(), 20.0, seed=0), [1.5, 1.5],
                            ae.Adam(lr=lambda s, T=T: 0.3 * min(1.0, s / T)), 300)
        close(update["y"][1], noisy.losses)


def test_warmup_slider_values(built):
    labels = [st["label"] for st in slider(built["warmup_vs_radam"])["steps"]]
    assert labels[0] == "1 (none)" and "50" in labels  # chapter 7 warms up over 50 steps


# -- the page output ---------------------------------------------------------------------------------------

def test_every_explorable_has_the_four_outputs(built):
    for e in built.values():
        bundle = e._repr_mimebundle_()
        assert set(bundle) == {ex.PLOTLY_MIME, "text/html", "image/png", "text/plain"}
        assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
        assert bundle[ex.PLOTLY_MIME]["layout"]["sliders"]  # JupyterLab gets Plotly's own controls
        assert len(e.description) > 200 and e.description in bundle["text/plain"]


def test_html_is_offline_accessible_and_carries_the_controls(built):
    for e in built.values():
        page = e.to_html()
        assert not re.search(r"(src|href)=\"https?:", page)  # nothing from elsewhere
        assert 'aria-describedby="' in page and 'class="adamedu-description"' in page
        assert "clip:rect(0 0 0 0)" in page  # visually hidden, read by screen readers
        assert 'class="adamedu-fallback" src="data:image/png;base64,' in page
        spec = json.loads(re.search(r'<script type="application/json" class="adamedu-spec">(.*?)</script>', page,
                                    re.S).group(1))
        assert "sliders" not in spec["layout"] and "updatemenus" not in spec["layout"]
        assert len(spec["controls"]) == len(e.controls)
        for control in spec["controls"]:
            assert control["label"] and all(s["method"] in ("restyle", "update") for s in control["steps"])


def test_page_weight(built):
    total = sum(len(e.to_html()) for e in built.values())
    assert total < 1.2e6, f"the six explorables weigh {total / 1e6:.2f} MB of HTML"
    race = len(built["optimizer_race"].to_html())
    assert race < 0.6e6, f"the race alone weighs {race / 1e6:.2f} MB of HTML"


def test_numbers_keep_four_significant_digits():
    assert ex._num([math.pi, -2.0 / 3, 1e-7 / 3, 123456.0, 7.0, float("inf")]) == \
        [3.142, -0.6667, 3.333e-08, 123456, 7, None]


def test_simplified_curve_stays_within_the_tolerance():
    t = np.arange(200)
    y = np.where(t < 100, t * 0.5, 50 + np.sin(t / 3.0))  # a straight part, then a wiggle
    keep = ex._simplified(t, y, 0.01)
    assert keep[0] == 0 and keep[-1] == 199
    assert np.sum(keep < 99) <= 2  # the straight part: its two ends suffice
    assert np.sum(keep > 100) > 50  # the wiggle keeps many points
    redrawn = np.interp(t, t[keep], y[keep])
    assert np.abs(redrawn - y).max() <= 0.01
    # negative control: a coarser tolerance drops points that a finer one keeps, and misses the curve by more
    coarse = ex._simplified(t, y, 0.5)
    assert len(coarse) < len(keep) and np.abs(np.interp(t, t[coarse], y[coarse]) - y).max() > 0.01
    # a curve with a non-finite value (a diverged run) is kept whole
    assert len(ex._simplified(t, np.append(y[:-1], np.inf), 0.5)) == 200


def test_loss_curve_on_a_log_axis_is_within_a_thousandth_of_its_range():
    losses = 10.0 ** -np.linspace(0, 12, 151) * (1 + 0.3 * np.sin(np.arange(151)))  # falls 12 decades, wobbling
    steps, kept = ex._loss_curve(losses, log=True)
    np.testing.assert_array_equal(kept, losses[steps])
    span = np.ptp(np.log10(losses))
    assert np.abs(np.interp(np.arange(151), steps, np.log10(kept)) - np.log10(losses)).max() <= 1e-3 * span


def test_static_view_draws_the_visible_traces(built):
    e = built["gd_learning_rate"]
    fig = ex.static_figure(e.figure)
    ax = fig.axes[0]
    line = [ln for ln in ax.lines if ln.get_label() == "gradient descent"][0]
    np.testing.assert_allclose(line.get_xdata(), e.figure["data"][1]["x"])


@pytest.mark.parametrize("call, message", [
    (lambda: ex.gd_learning_rate(default=0.0123), r"default must be one of the slider's values"),
    (lambda: ex.gd_learning_rate(lrs=[0.1, 0.1]), r"lrs must be distinct"),
    (lambda: ex.optimizer_race(landscapes=("moon",)), r"landscapes must be among"),
    (lambda: ex.momentum_rate_map(default=(0.1, 0.42)), r"default β must be one of"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_colours_are_css_strings(built):
    """Plotly takes CSS colours; a matplotlib RGB tuple stops plotly.js with a TypeError (a negative control)."""
    def colours(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "color":
                    yield value
                else:
                    yield from colours(value)
        elif isinstance(node, list):
            for value in node:
                yield from colours(value)

    for e in built.values():
        found = list(colours(e.figure["data"]))
        assert found and all(isinstance(c, str) for c in found), e.name


def test_every_control_sets_one_value_per_trace(built):
    """Plotly.restyle reuses a shorter list of values cyclically: a list shorter than the traces is a bug."""
    for e in built.values():
        for kind, control in e.controls:
            for step in control.get("steps", control.get("buttons")):
                update, ids = step["args"][0], step["args"][-1]
                if not isinstance(ids, list):
                    ids = list(range(len(e.figure["data"])))
                for attribute, values in update.items():
                    assert isinstance(values, list) and len(values) == len(ids), (e.name, kind, attribute)
                assert all(0 <= i < len(e.figure["data"]) for i in ids)


def test_figures_pass_plotlys_schema(built):
    """plotly.graph_objects.Figure validates every property name and value (what JupyterLab's renderer gets)."""
    for e in built.values():
        figure = e.to_plotly()
        assert len(figure.data) == len(e.figure["data"])
        assert len(figure.layout.sliders) == len(e.figure["layout"]["sliders"])
