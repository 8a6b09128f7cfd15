"""The family's ancestors (Rprop, Adadelta) and later members (Yogi, AdaBelief, LAMB) against references.

Rprop and Adadelta against ``torch.optim``; Adadelta and LAMB against ``keras.optimizers`` (both in
float64, every step of test_reference.py's 200-step run, state too). Yogi and AdaBelief have no
reference in either framework: they are held to the papers' equations, written out below in plain
Python floats one coordinate at a time, and to hand-derived first steps.
"""

import math

import numpy as np
import pytest
from test_reference import identity, run_keras, run_torch

import adamedu as ae

# -- PyTorch ---------------------------------------------------------------------------------------

TORCH_CASES = [
    pytest.param(ae.Rprop(), lambda torch, ps: torch.optim.Rprop(ps),
                 {"prev": ("prev", identity), "step_size": ("step_size", identity)}, id="Rprop-defaults"),
    pytest.param(ae.Rprop(lr=0.05, eta_minus=0.25, eta_plus=1.5, step_min=1e-3, step_max=0.2),
                 lambda torch, ps: torch.optim.Rprop(ps, lr=0.05, etas=(0.25, 1.5), step_sizes=(1e-3, 0.2)),
                 {"prev": ("prev", identity), "step_size": ("step_size", identity)}, id="Rprop"),
    pytest.param(ae.Adadelta(), lambda torch, ps: torch.optim.Adadelta(ps),
                 {"v": ("square_avg", identity), "u": ("acc_delta", identity)}, id="Adadelta-defaults"),
    pytest.param(ae.Adadelta(lr=0.5, rho=0.8, eps=1e-4),
                 lambda torch, ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.8, eps=1e-4),
                 {"v": ("square_avg", identity), "u": ("acc_delta", identity)}, id="Adadelta"),
]


@pytest.mark.parametrize("ours, make_theirs, slots", TORCH_CASES)
def test_matches_torch(torch_float64, ours, make_theirs, slots):
    torch = torch_float64
    run_torch(torch, ours, lambda tensors: make_theirs(torch, tensors), slots)


# -- Keras (float32-exact hyperparameters where Keras casts them; see test_reference.py) -------------

KERAS_CASES = [
    pytest.param(ae.Adadelta(lr=0.001, rho=0.95, eps=1e-7), lambda keras: keras.optimizers.Adadelta(),
                 {"v": ("_accumulated_grads", identity), "u": ("_accumulated_delta_vars", identity)},
                 id="Adadelta-defaults"),
    pytest.param(ae.Adadelta(lr=0.5, rho=0.8, eps=1e-4),
                 lambda keras: keras.optimizers.Adadelta(learning_rate=0.5, rho=0.8, epsilon=1e-4),
                 {"v": ("_accumulated_grads", identity), "u": ("_accumulated_delta_vars", identity)}, id="Adadelta"),
    pytest.param(ae.Lamb(lr=0.01, beta1=0.75, beta2=0.96875, eps=1e-6),
                 lambda keras: keras.optimizers.Lamb(learning_rate=0.01, beta_1=0.75, beta_2=0.96875, epsilon=1e-6),
                 {"m": ("_momentums", identity), "v": ("_velocities", identity)}, id="Lamb"),
]


@pytest.mark.parametrize("ours, make_theirs, slots", KERAS_CASES)
def test_matches_keras(keras_float64, ours, make_theirs, slots):
    keras = keras_float64
    run_keras(keras, ours, make_theirs(keras), slots)


# -- the papers' equations, one coordinate at a time ------------------------------------------------

def sign(x):
    return (x > 0) - (x < 0)


def yogi_reference(w, grads, lr, b1, b2, eps, v0, bias_correction=True):
    """Zaheer et al. (2018), Algorithm 2 (with optax's bias corrections when asked), for one number."""
    m, v, out = 0.0, v0, []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = v - (1 - b2) * sign(v - g * g) * g * g
        if bias_correction:
            w -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        else:
            w -= lr * m / (math.sqrt(v) + eps)
        out.append((w, m, v))
    return out


def adabelief_reference(w, grads, lr, b1, b2, eps):
    """Zhuang et al. (2020), Algorithm 2, for one number."""
    m, s, out = 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        w -= lr * (m / (1 - b1**t)) / (math.sqrt(s / (1 - b2**t)) + eps)
        out.append((w, m, s))
    return out


def gradients(n=300, seed=3):
    rng = np.random.default_rng(seed)
    scale = np.where(np.arange(n) < n // 3, 10.0, 0.1)  # loud, then quiet: Yogi's v must come down
    return [float(x) for x in scale * rng.standard_normal(n)]


@pytest.mark.parametrize("opt, kw", [
    (ae.Yogi(), dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-3, v0=1e-6)),
    (ae.Yogi(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-6, initial_accumulator=0.0, bias_correction=False),
     dict(lr=0.1, b1=0.5, b2=0.9, eps=1e-6, v0=0.0, bias_correction=False)),
])
def test_yogi_follows_the_paper(opt, kw):
    grads = gradients()
    expected = yogi_reference(1.5, grads, **kw)
    w, state = np.array([1.5]), opt.init(np.array([1.5]))
    for g, (w_ref, m_ref, v_ref) in zip(grads, expected, strict=True):
        w, state = opt.step(w, np.array([g]), state)
        np.testing.assert_allclose([w[0], state.m[0], state.v[0]], [w_ref, m_ref, v_ref], rtol=1e-12)


@pytest.mark.parametrize("opt, kw", [
    (ae.AdaBelief(), dict(lr=0.001, b1=0.9, b2=0.999, eps=1e-16)),
    (ae.AdaBelief(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-8), dict(lr=0.05, b1=0.8, b2=0.99, eps=1e-8)),
])
def test_adabelief_follows_the_paper(opt, kw):
    grads = gradients()
    expected = adabelief_reference(-0.5, grads, **kw)
    w, state = np.array([-0.5]), opt.init(np.array([-0.5]))
    for g, (w_ref, m_ref, s_ref) in zip(grads, expected, strict=True):
        w, state = opt.step(w, np.array([g]), state)
        np.testing.assert_allclose([w[0], state.m[0], state.s[0]], [w_ref, m_ref, s_ref], rtol=1e-12)


def test_first_steps_by_hand():
    """Step 1 of each, worked out on paper for g = 2 at w = 1."""
    w, g = np.array([1.0]), np.array([2.0])
    # Yogi, v0 = 0, no bias correction: m = 0.2, v = 0 - 0.001·sign(0 - 4)·4 = 0.004, step = 0.01·0.2/(√0.004 + 1e-3)
    opt = ae.Yogi(initial_accumulator=0.0, bias_correction=False)
    assert opt.step(w, g, opt.init(w))[0][0] == pytest.approx(1 - 0.01 * 0.2 / (math.sqrt(0.004) + 1e-3), rel=1e-14)
    # AdaBelief: m = 0.2, s = 0.001·(2 - 0.2)² + ε; m̂ = 2, ŝ = 3.24 + 1000ε: a step of ≈ lr·2/1.8
    w1 = ae.AdaBelief(eps=0.0).step(w, g, ae.AdaBelief(eps=0.0).init(w))[0][0]
    assert w1 == pytest.approx(1 - 0.001 * 2 / 1.8, rel=1e-14)
    # Rprop: no previous sign, so the step is s0 = lr in the direction of -g
    assert ae.Rprop(lr=0.3).step(w, g, ae.Rprop(lr=0.3).init(w))[0][0] == pytest.approx(0.7, rel=1e-15)
    # Adadelta: v = 0.1·4, Δ = √(0 + ε)/√(0.4 + ε)·2
    eps = 1e-6
    expected = 1 - math.sqrt(eps) / math.sqrt(0.4 + eps) * 2
    assert ae.Adadelta().step(w, g, ae.Adadelta().init(w))[0][0] == pytest.approx(expected, rel=1e-14)
    # LAMB, one array [3, 4] with g = [1, 1]: u = m̂/(√v̂ + ε) = [1, 1]/(1 + 1e-6); ‖w‖ = 5, ‖u‖ = √2/(1 + 1e-6)
    w2 = ae.Lamb(lr=0.1).step(np.array([3.0, 4.0]), np.ones(2), ae.Lamb().init(np.zeros(2)))[0]
    np.testing.assert_allclose(w2, np.array([3.0, 4.0]) - 0.1 * 5 / math.sqrt(2), rtol=1e-14)


def test_rprop_skips_the_step_after_a_sign_flip_and_slows_down():
    opt = ae.Rprop(lr=0.1)
    w, state = np.array([0.0]), opt.init(np.array([0.0]))
    w, state = opt.step(w, np.array([1.0]), state)   # s = 0.1, moves -0.1
    w, state = opt.step(w, np.array([1.0]), state)   # same sign: s = 0.12
    np.testing.assert_allclose(w, [-0.22])
    w, state = opt.step(w, np.array([-1.0]), state)  # flip: s = 0.06, no move, prev = 0
    np.testing.assert_allclose([w[0], state.step_size[0], state.prev[0]], [-0.22, 0.06, 0.0])
    w, state = opt.step(w, np.array([-1.0]), state)  # after the skip: s unchanged, moves +0.06
    np.testing.assert_allclose([w[0], state.step_size[0]], [-0.16, 0.06])


def test_lamb_is_not_elementwise_and_its_inplace_step_equals_the_pure_one():
    """The in-place path must run LAMB on whole arrays: on blocks, each block would get its own trust ratio."""
    assert ae.Lamb.elementwise is False and ae.Adam.elementwise is True
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(300, 100)), "b": rng.normal(size=7)}  # W: more than one 64 KiB block
    grads = {k: rng.normal(size=w.shape) for k, w in params.items()}
    opt = ae.Lamb(lr=0.01, weight_decay=0.01)
    pure, pure_state = opt.step(params, grads, opt.init(params))
    inplace = {k: w.copy() for k, w in params.items()}
    inplace, state = opt.step(inplace, grads, opt.init(params), inplace=True)
    for k in params:
        np.testing.assert_array_equal(inplace[k], pure[k])
        np.testing.assert_array_equal(state.m[k], pure_state.m[k])
    # and the trust ratio makes each array move by lr·‖w‖ (with weight decay, along u = Adam's step + λw)
    for k in params:
        assert np.linalg.norm(pure[k] - params[k]) == pytest.approx(0.01 * np.linalg.norm(params[k]), rel=1e-12)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="eta_plus"):
        ae.Rprop(eta_plus=0.9)
    with pytest.raises(ValueError, match="step_min"):
        ae.Rprop(step_min=1.0, step_max=0.5)
    with pytest.raises(ValueError, match="rho"):
        ae.Adadelta(rho=1.0)
    with pytest.raises(ValueError, match="initial_accumulator"):
        ae.Yogi(initial_accumulator=-1.0)


def test_adam_eps_hat_is_the_plain_form_with_a_growing_eps():
    """adam_step's docstring: eps_hat=True with ε̂ is the plain form with ε = ε̂/√(1 − β2ᵗ) (not ε√(1 − β2ᵗ))."""
    rng = np.random.default_rng(5)
    w, eps_hat, beta2 = rng.normal(size=6), 1e-3, 0.999
    grads = [1e-3 * rng.normal(size=6) for _ in range(4)]  # small: √v̂ is comparable to ε, so ε's value shows
    efficient = ae.Adam(eps=eps_hat, eps_hat=True)
    w_e, s_e = w, efficient.init(w)
    for t, g in enumerate(grads, start=1):
        w_p = ae.Adam(eps=eps_hat / math.sqrt(1 - beta2**t)).step(w_e, g, s_e)[0]  # same state, other ε
        w_wrong = ae.Adam(eps=eps_hat * math.sqrt(1 - beta2**t)).step(w_e, g, s_e)[0]  # the old docstring's claim
        w_e, s_e = efficient.step(w_e, g, s_e)
        np.testing.assert_allclose(w_e, w_p, rtol=1e-13)
        assert not np.allclose(w_e, w_wrong, rtol=1e-6)
    assert 1 / math.sqrt(1 - beta2) == pytest.approx(31.6, abs=0.05)


def test_adadelta_first_step_is_sqrt_eps_over_1_minus_rho_whatever_g():
    """Adadelta's docstring (chapter 3): the first step is about √(ε/(1 − ρ)), not √ε, for any g with (1 − ρ)g² ≫ ε."""
    for rho, eps in [(0.9, 1e-6), (0.95, 1e-7)]:
        opt = ae.Adadelta(rho=rho, eps=eps)
        g = np.array([0.1, 3.0, -250.0])  # sizes far apart: (1 − ρ)g² ≫ ε for each
        w1 = opt.step(np.zeros(3), g, opt.init(np.zeros(3)))[0]
        np.testing.assert_allclose(np.abs(w1), math.sqrt(eps / (1 - rho)), rtol=1e-3)
        np.testing.assert_array_equal(np.sign(w1), -np.sign(g))
        assert not np.allclose(np.abs(w1), math.sqrt(eps), rtol=0.5)  # the old docstring's √ε is off by 1/√(1 − ρ)
