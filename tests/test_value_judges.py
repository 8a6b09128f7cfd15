"""The judges of the value exercises (adamedu.course.value_judges): a right answer passes, each named mistake is
named, a wrong or missing answer fails with a message, and the in-notebook check_value agrees with judge_values.

The right answers are derived by hand where the chapter derives them (2/L of a bowl whose Hessian has the
eigenvalues 2 and 50, ((L − μ)/(L + μ))², β for momentum's loss factor, clip(c, ±1/λ) for AdamW ...); the
measured ones are runs of the chapters' solution code, written out here.
"""

import numpy as np
import pytest

import adamedu as ae
from adamedu.course import value_judges as vj
from adamedu.course.grading import CheckFailed, Raised


def verdict(name, **answers):
    return vj.judge_values(name, answers)


# -- chapter 1 ---------------------------------------------------------------------------------------------------
FACTOR = (48 / 52) ** 2  # eigenvalues 2 and 50: ((50 − 2)/(50 + 2))²


def tilted(**change):
    return {"predicted_threshold": 2 / 50, "measured_threshold": 2 / 50 + 3e-7, "predicted_factor": FACTOR,
            "measured_factor": FACTOR * (1 + 1e-6), **change}


def test_tilted_threshold_right_and_named_mistakes():
    assert verdict("tilted_threshold", **tilted()).passed
    v = verdict("tilted_threshold", **tilted(predicted_threshold=2 / 26, measured_threshold=2 / 26))
    assert not v.passed and "diagonal entry of the Hessian" in v.message
    v = verdict("tilted_threshold", **tilted(predicted_threshold=1 / 50))
    assert not v.passed and "not 1/L" in v.message
    v = verdict("tilted_threshold", **tilted(predicted_factor=48 / 52))
    assert not v.passed and "its square" in v.message
    v = verdict("tilted_threshold", **tilted(measured_threshold=0.05))
    assert not v.passed and "measured_threshold" in v.message
    v = verdict("tilted_threshold", **tilted(measured_factor="0.85"))
    assert not v.passed and "should be a number" in v.message


def _noise_answers(scale=1.0):
    rng = np.random.default_rng(0)  # chapter 1's data, as its cell draws it
    x = rng.uniform(-1, 1, size=100)
    y = 3 * x + rng.normal(0, 0.5, size=100)
    X = np.column_stack([x, np.ones(100)])
    w_star, f_star = ae.LinearRegression(X, y).minimum, None
    f_star = ae.LinearRegression(X, y).loss(w_star)
    single = ae.LinearRegression(X, y, batch_size=1, seed=1)
    noise1 = np.mean([np.sum(single.grad(w_star, t) ** 2) for t in range(1, 2001)])
    one = ae.LinearRegression(X, y, batch_size=1, seed=0)
    predicted, measured = {}, {}
    for alpha in (0.1, 0.025):
        predicted[alpha] = scale * alpha * noise1 / 4
        run = ae.minimize(one, w_star, ae.GradientDescent(lr=alpha), steps=5000)
        measured[alpha] = float(np.mean(run.losses[1:] - f_star))
    return predicted, measured


def test_noise_floor_right_and_named_mistakes():
    predicted, measured = _noise_answers()
    assert verdict("noise_floor", predicted=predicted, measured=measured).passed
    doubled, _ = _noise_answers(scale=2.0)
    v = verdict("noise_floor", predicted=doubled, measured=measured)
    assert not v.passed and "α·E|g|²/4" in v.message
    v = verdict("noise_floor", predicted=predicted, measured={0.1: measured[0.1], 0.025: 10 * measured[0.025]})
    assert not v.passed and "far from the prediction" in v.message
    v = verdict("noise_floor", predicted={}, measured={})
    assert not v.passed and "not written yet" in v.message


# -- chapter 2 ---------------------------------------------------------------------------------------------------
def _momentum_measured():
    out = {}
    for b in (0.9, 0.95, 0.99):
        losses = ae.minimize(ae.ravine(), [1.5, 1.5], ae.Momentum(lr=0.1, beta=b), steps=1500).losses
        out[b] = (losses[1500] / losses[500]) ** (1 / 1000)
    return out


def test_momentum_rate_right_and_named_mistakes():
    measured = _momentum_measured()
    assert all(abs(measured[b] - b) < 2e-3 for b in measured)  # the chapter's claim, independently of the judge
    assert verdict("momentum_rate", predicted_factor={b: b for b in measured}, measured_factor=measured).passed
    v = verdict("momentum_rate", predicted_factor={b: np.sqrt(b) for b in measured}, measured_factor=measured)
    assert not v.passed and "|z|² = β" in v.message and "√β" in v.message
    v = verdict("momentum_rate", predicted_factor={b: b for b in measured},
                measured_factor={b: b + 0.01 for b in measured})
    assert not v.passed and "measured_factor[0.9]" in v.message


# -- chapter 4 ---------------------------------------------------------------------------------------------------
def _gradients(b1, b2):
    return np.r_[np.full(2000, 1e-9), (b2 / b1) ** np.arange(150)]


def _breaking(make):
    return {vj.call_label("breaking_gradients", (0.9, b2)): make(0.9, b2) for b2 in (0.99, 0.999)}


def test_breaking_gradients_right_and_wrong():
    assert vj.judge_values("breaking_gradients", _breaking(_gradients)).passed
    v = vj.judge_values("breaking_gradients", _breaking(lambda b1, b2: np.r_[np.full(2000, 1e-9), 1.0]))
    assert not v.passed and "single spike is not enough" in v.message
    v = vj.judge_values("breaking_gradients", _breaking(lambda b1, b2: np.r_[0.0, _gradients(b1, b2)]))
    assert not v.passed and "not exactly 0" in v.message
    v = vj.judge_values("breaking_gradients", _breaking(lambda b1, b2: np.ones((2, 3))))
    assert not v.passed and "1-D array" in v.message


def test_step_sizes_against_hand_values():
    """The judge's step sizes: with bias correction and eps = 0 the first step is exactly 1 lr (m̂ = g, √v̂ = |g|)."""
    assert vj.adam_step_sizes(0.9, 0.999, [3.0])[0] == pytest.approx(1.0, rel=1e-12)
    # a constant gradient keeps every bias-corrected step at 1 lr
    assert np.allclose(vj.adam_step_sizes(0.9, 0.99, np.full(50, -2.0)), 1.0, rtol=1e-12)


def _eps_answers(default_eps=1e-8, scaled_eps=1e-18):
    x0 = np.array([1.5, 1.5])
    tiny = ae.Quadratic([2e-10, 2e-9])
    g1 = tiny.grad(x0)
    return {"predicted_first_step": 0.2 * np.abs(g1) / (np.abs(g1) + 1e-8),
            "default_path": ae.minimize(tiny, x0, ae.Adam(lr=0.2, eps=default_eps), 550).path,
            "scaled_path": ae.minimize(tiny, x0, ae.Adam(lr=0.2, eps=scaled_eps), 550).path}


def test_eps_scale_right_and_named_mistakes():
    right = _eps_answers()
    assert vj.judge_values("eps_scale", right).passed
    v = vj.judge_values("eps_scale", {**right, "predicted_first_step": np.array([0.2, 0.2])})
    assert not v.passed and "ε is negligible" in v.message
    v = vj.judge_values("eps_scale", {**right, "scaled_path": right["default_path"]})
    assert not v.passed and "scale ε by c" in v.message
    v = vj.judge_values("eps_scale", {**right, "default_path": right["default_path"][:10]})
    assert not v.passed and "shape" in v.message


# -- chapter 5 ---------------------------------------------------------------------------------------------------
def test_adamw_equilibrium_right_and_named_mistakes():
    h, c = np.array([1.0, 100.0, 0.01, 1.0]), np.array([0.5, 2.0, -3.0, -0.2])  # chapter 5's problem
    problem = ae.Quadratic(h, c=c)
    predicted, measured = {}, {}
    for lam in (0.25, 4.0):
        predicted[lam] = np.clip(c, -1 / lam, 1 / lam)
        measured[lam] = ae.minimize(problem, np.zeros(4), ae.AdamW(lr=0.01, weight_decay=lam),
                                    20_000).path[-2000:].mean(axis=0)
    assert verdict("adamw_equilibrium", predicted=predicted, measured=measured).passed
    ridge = {lam: h * c / (h + lam) for lam in predicted}
    v = verdict("adamw_equilibrium", predicted=ridge, measured=measured)
    assert not v.passed and "ridge solution" in v.message
    v = verdict("adamw_equilibrium", predicted=predicted, measured={lam: m + 0.1 for lam, m in measured.items()})
    assert not v.passed and "settles" in v.message


# -- chapter 6 ---------------------------------------------------------------------------------------------------
def test_drift_is_the_sum_of_adams_three_steps():
    """The judge's drift against Adam itself on Reddi et al.'s problem (beta1 = 0, lr 1): the last period's moves."""
    C, beta2 = 3.0, 0.5
    opt = ae.Adam(lr=1.0, beta1=0.0, beta2=beta2)
    problem, w = ae.ReddiOnline(C=C), np.zeros(1)
    state, moves = opt.init(w), []
    for t in range(1, 3 * 60 + 1):
        w_next, state = opt.step(w, problem.grad(w, t), state)
        moves.append(w_next[0] - w[0])
        w = w_next
    assert sum(moves[-3:]) == pytest.approx(vj.drift(C, beta2), rel=1e-6)


def test_smallest_beta2_right_and_named_mistakes():
    label = vj.call_label("smallest_beta2", (5.0,))
    axis = np.linspace(0.001, 0.999, 999)
    root = axis[np.argmax(np.array([vj.drift(5.0, b) for b in axis]) < 0)]
    assert vj.judge_values("smallest_beta2", {label: root + 0.01}).passed
    v = vj.judge_values("smallest_beta2", {label: 1 / 26})
    assert not v.passed and "Reddi et al.'s choice" in v.message
    v = vj.judge_values("smallest_beta2", {label: 1.5})
    assert not v.passed and "between 0 and 1" in v.message
    v = vj.judge_values("smallest_beta2", {label: Raised("NotImplementedError")})
    assert not v.passed and "not written yet" in v.message


def test_predicted_error_right_and_named_mistakes():
    (X, y), (X_test, y_test) = ae.datasets.wilson_classification(n=40, n_test=200, p=0.55, seed=1)
    s = np.sign(X.T @ y)
    label = np.sign(y.sum())  # s/4 gives every test point the label of b's sign (eq-lim-test)
    error = float(np.mean(y_test != label))
    w_ex = ae.minimize(ae.LinearRegression(X, y), np.zeros(X.shape[1]), ae.Adam(lr=0.01), 300).final
    assert np.abs(w_ex - s / 4).max() < 1e-4
    assert verdict("predicted_error", predicted_error=error, w_ex=w_ex, adam_error=error).passed
    v = verdict("predicted_error", predicted_error=1 - error, w_ex=w_ex, adam_error=error)
    assert not v.passed and "share of the other label" in v.message
    v = verdict("predicted_error", predicted_error=error, w_ex=np.zeros_like(w_ex), adam_error=error)
    assert not v.passed and "s/4" in v.message


def test_adam_final_loss_right_and_wrong():
    right = {}
    for d in vj.ROTATIONS:
        q = ae.Quadratic(h=(1.0, 100.0), angle=np.deg2rad(d))
        right[vj.call_label("adam_final_loss", (d,))] = ae.minimize(q, q.rotation @ np.array([1.5, 0.5]),
                                                                    ae.Adam(lr=0.05), 300).final_loss
    assert vj.judge_values("adam_final_loss", right).passed
    unrotated_start = dict(right)
    for d in vj.ROTATIONS:
        q = ae.Quadratic(h=(1.0, 100.0), angle=np.deg2rad(d))
        unrotated_start[vj.call_label("adam_final_loss", (d,))] = ae.minimize(q, np.array([1.5, 0.5]),
                                                                              ae.Adam(lr=0.05), 300).final_loss
    v = vj.judge_values("adam_final_loss", unrotated_start)
    assert not v.passed and "rotated u0" in v.message


# -- the notebook's check_value and the missing answers ----------------------------------------------------------
def test_check_value_reads_the_callers_variables_and_agrees_with_judge_values():
    scope = {"check_value": vj.check_value, **tilted()}
    exec('verdict = check_value("tilted_threshold")', scope)
    assert scope["verdict"].passed
    scope.update(predicted_threshold=1 / 50)
    with pytest.raises(CheckFailed, match="not 1/L"):
        exec('check_value("tilted_threshold")', scope)
    with pytest.raises(CheckFailed, match="not defined: the exercise above is not written yet"):
        exec('check_value("predicted_error")', {"check_value": vj.check_value})

    def stub(b1, b2):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="breaking_gradients is not written yet"):
        exec('check_value("breaking_gradients")', {"check_value": vj.check_value, "breaking_gradients": stub})
    with pytest.raises(ValueError, match="unknown exercise"):
        vj.check_value("no_such_thing")


def test_every_value_exercise_names_what_it_reads():
    for name, ex in vj.VALUE_EXERCISES.items():
        assert ex.fetch or ex.calls, name
        missing = vj.judge_values(name, {**{k: vj.Missing(k) for k in ex.fetch},
                                         **{vj.call_label(f, a): vj.Missing(f) for f, a in ex.calls}})
        assert not missing.passed and "not written yet" in missing.message, name
