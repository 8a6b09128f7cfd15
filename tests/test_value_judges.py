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
                                         **{label: vj.Missing(f) for label, f, *_ in vj.calls_of(ex)}})
        assert not missing.passed and "not written yet" in missing.message, name


# -- chapters 7 and 8: the answers are the chapters' solutions, run here; each named mistake a variant of them ------
def answers_of(name, **functions):
    """The answers of value exercise ``name``, computed as the kernel's check_value computes them, from ``functions``
    (the student's functions by name)."""
    return vj.collect(name, {"np": np, "__builtins__": __builtins__, **functions})


def adamax_u(grads, beta2):
    opt = ae.AdaMax(beta2=beta2)
    w, state, u = np.zeros(1), opt.init(np.zeros(1)), []
    for g in grads:
        w, state = opt.step(w, np.array([g]), state)
        u.append(state.u[0])
    return np.array(u)


def p_norm_scale(grads, p, beta2, decay=None):
    v, scale = 0.0, []
    for g in grads:
        d = beta2**p if decay is None else decay
        v = d * v + (1 - d) * np.abs(g) ** p
        scale.append(v ** (1 / p))
    return np.array(scale)


def test_adamax_p_norm_right_and_named_mistakes():
    assert answers_of("adamax_p_norm", adamax_u=adamax_u, p_norm_scale=p_norm_scale)  # the calls run
    v = vj.judge_values("adamax_p_norm", answers_of("adamax_p_norm", adamax_u=adamax_u, p_norm_scale=p_norm_scale))
    assert v.passed and "4, 2, 1, 2" in v.message, v.message
    # by hand (ex-var-adamax, part 1): u = 4, 2, 1, 2 without the ε the package adds
    assert np.allclose(vj.adamax_u(vj.G_HAND, 0.5), [4, 2, 1, 2], atol=1e-7)

    def averaged(grads, beta2):  # a moving average of |g| instead of the running maximum
        return p_norm_scale(grads, 1, beta2)

    def signed(grads, beta2):  # g where |g| belongs
        u, out = 0.0, []
        for g in grads:
            u = max(beta2 * u, g)
            out.append(u)
        return np.array(out)

    v = vj.judge_values("adamax_p_norm", answers_of("adamax_p_norm", adamax_u=averaged, p_norm_scale=p_norm_scale))
    assert not v.passed and "moving average of |g|" in v.message
    v = vj.judge_values("adamax_p_norm", answers_of("adamax_p_norm", adamax_u=signed, p_norm_scale=p_norm_scale))
    assert not v.passed and "g where |g| belongs" in v.message
    v = vj.judge_values("adamax_p_norm", answers_of("adamax_p_norm", adamax_u=adamax_u,
                                                    p_norm_scale=lambda g, p, b: p_norm_scale(g, p, b, decay=b)))
    assert not v.passed and "the decay is β2, not β2ᵖ" in v.message


def mu_reaches(psi, fraction, against=None):
    mu = ae.Nadam(momentum_decay=psi).mu(np.arange(1, 10**6 + 1))
    reached = mu >= (fraction * 0.9 if against is None else against)
    if not reached.any():
        raise ValueError("never")
    return int(np.argmax(reached)) + 1


def psi_for(steps, fraction):
    return float(np.log(2 * (1 - fraction)) / (steps * np.log(0.96)))


def test_nadam_schedule_right_and_named_mistakes():
    # hand values (ex-var-nadam-psi, part 1): t* = ceil(ln(2(1 − q)) / (ψ ln 0.96))
    assert mu_reaches(0.004, 0.95) == int(np.ceil(np.log(0.1) / (0.004 * np.log(0.96)))) == 14102
    assert vj.judge_values("nadam_schedule", answers_of("nadam_schedule", mu_reaches=mu_reaches,
                                                        psi_for=psi_for)).passed
    v = vj.judge_values("nadam_schedule", answers_of("nadam_schedule", mu_reaches=lambda p, q: mu_reaches(p, q) - 1,
                                                     psi_for=psi_for))
    assert not v.passed and "from t = 1" in v.message
    v = vj.judge_values("nadam_schedule", answers_of("nadam_schedule", psi_for=psi_for,
                                                     mu_reaches=lambda p, q: mu_reaches(p, q, against=q)))
    assert not v.passed and ("raised ValueError" in v.message or "fraction · β1" in v.message)
    v = vj.judge_values("nadam_schedule", answers_of(
        "nadam_schedule", mu_reaches=mu_reaches, psi_for=lambda s, q: float(np.log(1 - q) / (s * np.log(0.96)))))
    assert not v.passed and "2(1 − q), not 1 − q" in v.message


def radam_switch(beta2, steps, tol=1e-9, from_start=False):
    opt = ae.RAdam(lr=1.0, beta2=beta2, eps=0.0)
    w, state, lengths = np.zeros(1), opt.init(np.zeros(1)), []
    for _ in range(steps):
        w_new, state = opt.step(w, np.ones(1), state)
        lengths.append(w[0] - w_new[0])
        w = w_new
    lengths = np.array(lengths)
    t_first = int(np.flatnonzero(lengths < 1 - tol)[0]) + 1
    late = np.flatnonzero(lengths[0 if from_start else t_first - 1:] >= 0.9)
    t_90 = (int(late[0]) + (1 if from_start else t_first)) if len(late) else None
    return t_first, float(lengths[t_first - 1]), t_90


def test_radam_switch_right_and_named_mistakes():
    # hand values: rho_5 < 5 < rho_6 for beta2 = 0.999 (eq-var-radam-rho), so the first adaptive step is t = 6
    rho, _ = ae.RAdam().rho(np.array([5, 6]))
    assert rho[0] < 5 < rho[1] and vj.radam_prediction(0.999, 100)[0] == 6
    assert vj.judge_values("radam_switch", answers_of("radam_switch", radam_switch=radam_switch)).passed
    v = vj.judge_values("radam_switch", answers_of("radam_switch", radam_switch=lambda b, s: radam_switch(
        b, s, from_start=True)))
    assert not v.passed and "search from t_first on" in v.message
    v = vj.judge_values("radam_switch", answers_of("radam_switch", radam_switch=lambda b, s: (
        vj.radam_prediction(b, s, 4.0)[0], *radam_switch(b, s)[1:])))
    assert not v.passed and "the paper's threshold" in v.message


def rms_step(opt, mean_gradient, steps=300, seed=1):
    noise = np.random.default_rng(seed)
    n = len(mean_gradient)
    w, state, lengths = np.zeros(n), opt.init(np.zeros(n)), []
    for _ in range(steps):
        w_new, state = opt.step(w, mean_gradient + noise.standard_normal(n), state)
        lengths.append(np.abs(w_new - w) / opt.lr)
        w = w_new
    return float(np.sqrt(np.mean(np.square(lengths[-50:]))))


def lion_from_adamw(lr, weight_decay, mean_gradient):
    lion_lr = lr * rms_step(ae.Adam(lr=lr), mean_gradient)
    return lion_lr, lr * weight_decay / lion_lr


def test_lion_from_adamw_right_and_named_mistakes():
    right = answers_of("lion_from_adamw", rms_step=rms_step, lion_from_adamw=lion_from_adamw)
    assert vj.judge_values("lion_from_adamw", right).passed
    # on pure noise Adam's rms step is about sqrt((1 − β1)/(1 + β1)) (ex-var-lion-recipe, part 1)
    assert abs(rms_step(ae.Adam(lr=1e-3), np.zeros(1000)) / np.sqrt(0.1 / 1.9) - 1) < 0.05

    def all_steps(opt, mean_gradient, steps=300, seed=1):
        return vj.rms_step(opt, mean_gradient, steps, seed, last=300)

    v = vj.judge_values("lion_from_adamw", answers_of("lion_from_adamw", rms_step=all_steps,
                                                      lion_from_adamw=lion_from_adamw))
    assert not v.passed and "the last 50 only" in v.message
    v = vj.judge_values("lion_from_adamw", {**right, **answers_of(
        "lion_from_adamw", rms_step=rms_step, lion_from_adamw=lambda lr, wd, g: (lion_from_adamw(lr, wd, g)[0], wd))})
    assert not v.passed and "came back unchanged" in v.message
    v = vj.judge_values("lion_from_adamw", answers_of(
        "lion_from_adamw", rms_step=rms_step,
        lion_from_adamw=lambda lr, wd, g: (lr / rms_step(ae.Adam(lr=lr), g), wd * rms_step(ae.Adam(lr=lr), g))))
    assert not v.passed and "lr / rms" in v.message


def test_keras_cosine_is_keras_cosine_decay():
    keras = pytest.importorskip("keras")
    for peak, W, D, initial in [*vj.WARMUP_SETTINGS, (0.1, 3, 7, 0.0)]:
        schedule = keras.optimizers.schedules.CosineDecay(initial, decay_steps=D, warmup_target=peak, warmup_steps=W)
        for k in vj.warmup_points(W, D):
            assert vj.keras_cosine(k, peak, W, D, initial) == pytest.approx(float(schedule(k)), rel=1e-5, abs=1e-9)


def warmup_cosine(k, peak, warmup_steps, decay_steps, initial=0.0):
    import math

    if k < warmup_steps:
        return initial + (peak - initial) * k / warmup_steps
    done = min(k - warmup_steps, decay_steps) / decay_steps
    return peak / 2 * (1 + math.cos(math.pi * done))


def test_warmup_cosine_right_and_named_mistakes():
    def adamedu_lr(peak, W, D, initial=0.0):
        return lambda t: warmup_cosine(t - 1, peak, W, D, initial)

    assert vj.judge_values("warmup_cosine", answers_of("warmup_cosine", warmup_cosine=warmup_cosine,
                                                       adamedu_lr=adamedu_lr)).passed
    v = vj.judge_values("warmup_cosine", answers_of(
        "warmup_cosine", warmup_cosine=warmup_cosine,
        adamedu_lr=lambda peak, W, D, initial=0.0: (lambda t: warmup_cosine(t, peak, W, D, initial))))
    assert not v.passed and "schedule(t − 1)" in v.message
    v = vj.judge_values("warmup_cosine", answers_of(
        "warmup_cosine", adamedu_lr=adamedu_lr,
        warmup_cosine=lambda k, peak, W, D, initial=0.0: warmup_cosine(k, peak, W, D, 0.0)))
    assert not v.passed and "starts at initial" in v.message
    v = vj.judge_values("warmup_cosine", answers_of(
        "warmup_cosine", adamedu_lr=adamedu_lr,
        warmup_cosine=lambda k, peak, W, D, initial=0.0: warmup_cosine(k, peak, W, 10**9, initial) if k < W else
        peak / 2 * (1 + np.cos(np.pi * (k - W) / D))))
    assert not v.passed and "clip the fraction" in v.message


def first_step(opt, g):
    w = np.zeros(1)
    w_1, _ = opt.step(w, np.array([g]), opt.init(w))
    return abs(w_1[0]) / opt.lr


def half_step_gradient(opt, low=1e-14, high=1.0, rtol=1e-6, target=0.5):
    import math

    while high / low > 1 + rtol:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if first_step(opt, middle) < target else (low, middle)
    return math.sqrt(low * high)


def test_half_step_formula_is_the_packages_first_step():
    """The judge's answers, ε (Algorithm 1) and ε̂/√(1 − β2) (Keras's form), halve the package's first step; and
    Lion's steps have length lr, so lion_from_adamw's rule (lr · Adam's rms) gives Adam's rms step length."""
    for opt in (ae.Adam(), ae.Adam(eps=1e-7, eps_hat=True), ae.Adam(eps=1e-7, eps_hat=True, beta2=0.98),
                ae.Adam(lr=0.1, eps=1e-6)):
        right = opt.eps / np.sqrt(1 - opt.beta2) if opt.eps_hat else opt.eps
        assert vj.first_step(opt, right) == pytest.approx(0.5, abs=1e-9)
    assert vj.rms_step(ae.Lion(lr=3e-4), vj.lion_mean_gradient()) == pytest.approx(1.0, abs=1e-12)


def test_keras_half_step_right_and_named_mistakes():
    assert vj.judge_values("keras_half_step", answers_of("keras_half_step",
                                                         half_step_gradient=half_step_gradient)).passed
    v = vj.judge_values("keras_half_step", answers_of(
        "keras_half_step", half_step_gradient=lambda opt: half_step_gradient(opt, target=0.5 * opt.lr)))
    assert not v.passed and "already in units of lr" in v.message


def keras_path_numpy(optimizer, problem, x0, steps):
    """A student who runs adamedu's Keras form instead of Keras: the same values (the grade measures values)."""
    return ae.minimize(problem, x0, ae.Adam(eps=1e-7, eps_hat=True), steps).path


def test_keras_path_right_and_named_mistakes():
    keras = pytest.importorskip("keras")
    order = ["Keras's form, eps_hat = 1e-7", "Algorithm 1, eps = 1e-7 / sqrt(1 - beta2)", "Algorithm 1, eps = 1e-7",
             "Algorithm 1, eps = 1e-8"]  # chapter 8's solution, derived there from eq-keras-first-step
    gaps = vj.match_gaps()
    assert sorted(gaps, key=gaps.get) == order and gaps[order[0]] == 0

    def keras_path(optimizer, problem, x0, steps):
        w = keras.Variable(np.asarray(x0, dtype="float32"))
        path = [w.numpy()]
        for _ in range(steps):
            optimizer.apply_gradients([(problem.grad(w.numpy()), w)])
            path.append(w.numpy())
        return np.array(path)

    scope = {"keras_path": keras_path, "predicted_order": lambda: order}
    assert vj.judge_values("keras_path", answers_of("keras_path", **scope)).passed
    v = vj.judge_values("keras_path", answers_of("keras_path", keras_path=keras_path,
                                                 predicted_order=lambda: order[::-1]))
    assert not v.passed and "farthest to the closest" in v.message
    v = vj.judge_values("keras_path", answers_of("keras_path", predicted_order=lambda: order,
                                                 keras_path=lambda *a: keras_path(*a)[1:]))
    assert not v.passed and "The first row is x0" in v.message


def test_torch_sgd_path_is_torch():
    torch = pytest.importorskip("torch")
    ravine, x0 = ae.ravine(), np.array([1.5, 1.5])
    for nesterov in (False, True):
        w = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.01, momentum=0.9, nesterov=nesterov)
        path = [x0]
        for _ in range(30):
            opt.zero_grad()
            w.grad = torch.tensor(ravine.grad(w.detach().numpy()))
            opt.step()
            path.append(w.detach().numpy().copy())
        assert np.allclose(vj.torch_sgd_path(ravine, x0, 0.01, 0.9, nesterov, 30), path, rtol=1e-12, atol=1e-15)


def test_momentum_from_torch_right_and_named_mistakes():
    keras = pytest.importorskip("keras")
    schedules = keras.optimizers.schedules

    def schedule_for_to_keras(peak, momentum, warmup_steps, decay_steps, scale=True):
        return schedules.CosineDecay(0.0, decay_steps=decay_steps, warmup_steps=warmup_steps,
                                     warmup_target=peak / (1 - momentum) if scale else peak)

    def right(lr, momentum, nesterov=False):
        return ae.Momentum(lr=lr / (1 - momentum), beta=momentum, nesterov=nesterov)

    assert vj.judge_values("momentum_from_torch", answers_of(
        "momentum_from_torch", momentum_from_torch=right, schedule_for_to_keras=schedule_for_to_keras)).passed
    v = vj.judge_values("momentum_from_torch", answers_of(
        "momentum_from_torch", schedule_for_to_keras=schedule_for_to_keras,
        momentum_from_torch=lambda lr, momentum, nesterov=False: ae.Momentum(lr=lr, beta=momentum, nesterov=nesterov)))
    assert not v.passed and "PyTorch's unchanged" in v.message
    v = vj.judge_values("momentum_from_torch", answers_of(
        "momentum_from_torch", momentum_from_torch=right,
        schedule_for_to_keras=lambda *a: schedule_for_to_keras(*a, scale=False)))
    assert not v.passed and "the recipe's PyTorch rate unchanged" in v.message


def test_every_chapter_7_to_11_check_is_judged_outside_the_kernel():
    """Every graded check of chapters 7 to 11 holds only check(...)/check_value(...) calls, each with a trusted
    judge; a value check's metadata names the judges and what they read."""
    import nbformat

    from adamedu.course import grade_notebook
    from adamedu.course.student_edition import BOOK

    for chapter, count in [("07_variants.ipynb", 4), ("08_keras.ipynb", 4), ("09_preconditioning.ipynb", 1),
                           ("10_schedules_stability.ipynb", 1), ("11_memory_scale.ipynb", 1)]:
        nb = nbformat.read(BOOK / chapter, as_version=4)
        graded = grade_notebook.graded_cells(nb)
        assert len(graded) == count, chapter
        for g in graded:
            assert g["judges"] and not g["asserts"], (chapter, g)
            assert all(grade_notebook.judge_knows(e) for e, _ in g["judges"]), (chapter, g)
        for cell in nb.cells:
            if grade_notebook.is_graded(cell):
                judges = [e for e, _ in grade_notebook._judge_calls(cell.source)]
                values = [f for e in judges if e in vj.VALUE_EXERCISES
                          for f in dict.fromkeys(f for _, f, *_ in vj.calls_of(vj.VALUE_EXERCISES[e]))]
                assert cell.metadata["adamedu"] == {"judge": judges, "values": values}, (chapter, judges)


# -- chapters 9 and 10: the hand examples ----------------------------------------------------------------------------
def newton_schulz(x, steps):  # written from eq-pre-ns, not from the package
    x = x / np.sqrt(np.sum(x * x))
    for _ in range(steps):
        gram = x @ x.T
        x = 3.4445 * x + (-4.775 * gram + 2.0315 * gram @ gram) @ x
    return x


def test_newton_schulz_hand_right_and_named_mistakes():
    s = np.array([0.6, 0.8])  # diag(3, 4) / 5, by hand
    by_hand = 3.4445 * s - 4.775 * s**3 + 2.0315 * s**5
    v = vj.judge_values("newton_schulz_hand", answers_of("newton_schulz_hand", newton_schulz=newton_schulz))
    assert v.passed and f"{by_hand[0]:.4f} and {by_hand[1]:.4f}" in v.message, v.message
    for steps, words in [(0, "one step too many or too few"), (2, None)]:
        v = vj.judge_values("newton_schulz_hand", answers_of(
            "newton_schulz_hand", newton_schulz=lambda x, _, k=steps: newton_schulz(x, k)))
        assert not v.passed and "a s + b s³ + c s⁵" in v.message and (words is None or words in v.message)
    v = vj.judge_values("newton_schulz_hand", answers_of(
        "newton_schulz_hand", newton_schulz=lambda x, steps: 3.4445 * x - 4.775 * x**3 + 2.0315 * x**5))
    # not normalised: diag(3, 4) itself through the polynomial
    assert not v.passed and "not divided by its Frobenius norm" in v.message
    v = vj.judge_values("newton_schulz_hand", answers_of(
        "newton_schulz_hand", newton_schulz=lambda x, steps: 1.5 * x / 5 - 0.5 * (x / 5) ** 3))
    assert not v.passed and "cubic Newton–Schulz step" in v.message
    v = vj.judge_values("newton_schulz_hand", answers_of("newton_schulz_hand", newton_schulz=lambda x, s: x[0]))
    assert not v.passed and "shape (2,)" in v.message
    v = vj.judge_values("newton_schulz_hand", answers_of("newton_schulz_hand"))
    assert not v.passed and "not written yet" in v.message


def cosine(t, warmup_steps, decay_steps, peak, final, shift=1, clamp=True):  # by hand: ex-sched-cosine's formula
    k = t - shift
    if k < warmup_steps:
        return peak * k / warmup_steps
    p = (k - warmup_steps) / decay_steps
    return final + (peak - final) * (1 + np.cos(np.pi * (min(p, 1.0) if clamp else p))) / 2


def test_cosine_warmup_hand_right_and_named_mistakes():
    assert [cosine(t, 10, 90, 1e-3, 0.0) for t in (1, 6, 11, 56, 200)] == pytest.approx([0, 5e-4, 1e-3, 5e-4, 0])
    v = vj.judge_values("cosine_warmup_hand", answers_of("cosine_warmup_hand", cosine_with_warmup=cosine))
    assert v.passed, v.message
    v = vj.judge_values("cosine_warmup_hand", answers_of(
        "cosine_warmup_hand", cosine_with_warmup=lambda *a: cosine(*a, shift=0)))
    assert not v.passed and "At t = 1 (nothing learned yet)" in v.message and "off by one" in v.message
    v = vj.judge_values("cosine_warmup_hand", answers_of(
        "cosine_warmup_hand", cosine_with_warmup=lambda *a: cosine(*a, clamp=False)))
    assert not v.passed and "At t = 200 (after the end)" in v.message and "rises again" in v.message
    v = vj.judge_values("cosine_warmup_hand", answers_of(
        "cosine_warmup_hand", cosine_with_warmup=lambda t, *a: 1e-3 if t > 100 else cosine(t, *a)))
    assert not v.passed and "At t = 200" in v.message and "off by one" not in v.message
    v = vj.judge_values("cosine_warmup_hand", answers_of(
        "cosine_warmup_hand", cosine_with_warmup=lambda *a: "0.001"))
    assert not v.passed and "should be a number" in v.message


@pytest.mark.parametrize("name, function", [("newton_schulz_hand", "newton_schulz"),
                                            ("cosine_warmup_hand", "cosine_with_warmup")])
def test_hand_examples_not_written_yet(name, function):
    def stub(*args):
        raise NotImplementedError("write your solution here")

    v = vj.judge_values(name, answers_of(name, **{function: stub}))
    assert not v.passed and f"{function} is not written yet" in v.message


def test_several_unwritten_functions_are_named_in_one_sentence():
    def stub(*args):
        raise NotImplementedError("write your solution here")

    v = vj.judge_values("nadam_schedule", answers_of("nadam_schedule", mu_reaches=stub, psi_for=stub))
    assert not v.passed and "mu_reaches, psi_for are not written yet" in v.message
    v = vj.judge_values("nadam_schedule", answers_of("nadam_schedule", mu_reaches=stub, psi_for=lambda *a: 0.004))
    assert not v.passed and "mu_reaches is not written yet" in v.message
