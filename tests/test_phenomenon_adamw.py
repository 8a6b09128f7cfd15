"""The phenomenon of the AdamW chapter (book/05_adamw.ipynb), held by the package.

Loshchilov & Hutter (2019): for gradient descent, weight decay d per step is L2 regularization with λ' = d/α,
step for step; for Adam it is not, because the L2 gradient is divided by √v̂. On the separable quadratic
f = ½ Σ hᵢ (wᵢ − cᵢ)², Adam on f + λ/2 ‖w‖² converges to the ridge solution h·c/(h + λ), while
AdamW(weight_decay=λ) converges to clip(c, −1/λ, 1/λ), the minimizer of f in the box ‖w‖∞ ≤ 1/λ
(Xie & Li 2024): at rest λw = −m̂/(√v̂ + ε), and Adam's normalized step is at most 1 in size.
"""

import math

import numpy as np
import pytest

import adamedu as ae

H = np.array([1.0, 100.0, 0.01, 1.0])  # the chapter's curvatures
C = np.array([0.5, 2.0, -3.0, -0.2])  # and minimum
LAM, LR = 1.0, 0.01
BETA1 = 0.9


def run(opt, grad, steps, w0):
    """Every iterate of ``opt`` fed ``grad(w, t)``: an array of shape (steps + 1, dim)."""
    w, state = w0, opt.init(w0)
    path = [w0]
    for t in range(1, steps + 1):
        w, state = opt.step(w, grad(w, t), state)
        path.append(w)
    return np.array(path)


# -- the two limits on the quadratic --------------------------------------------------------------------------

def test_adam_with_l2_converges_to_the_ridge_solution():
    f = ae.Quadratic(H, c=C)
    path = run(ae.Adam(lr=LR), lambda w, t: f.grad(w) + LAM * w, 5000, np.zeros(4))
    ridge = H * C / (H + LAM)  # where the gradient of f + λ/2 ‖w‖² vanishes
    # Adam's steps are about lr = 0.01 long, so an optimizer that only hovered near the point would be off by
    # ~1e-2 to 1e-4. 1e-8 demands real convergence (the chapter measures < 1e-12 after about 1300 steps) over
    # the whole last tenth of the run, and is still far above rounding error.
    np.testing.assert_allclose(path[-500:], np.broadcast_to(ridge, (500, 4)), rtol=0, atol=1e-8)


@pytest.fixture(scope="module")
def adamw_path():
    f = ae.Quadratic(H, c=C)
    return run(ae.AdamW(lr=LR, weight_decay=LAM), lambda w, t: f.grad(w), 20_000, np.zeros(4))


def test_adamw_converges_to_the_box_projection_not_to_the_ridge_solution(adamw_path):
    mean = adamw_path[-2000:].mean(axis=0)  # the inside coordinates oscillate: use the time average
    ridge = H * C / (H + LAM)
    box = np.clip(C, -1 / LAM, 1 / LAM)  # the derived limit: (0.5, 1, -1, -0.2)
    assert np.abs(mean - ridge).max() > 0.9  # |1 - 0.0297| in the third coordinate
    # The analysis predicts the limit to a relative O(λα) (see the next test) and β2's memory makes the approach
    # slow (the error halves every ~1000 steps); after 20 000 steps the measured error is 1.4e-4. 1e-3 leaves
    # room for both and is still 900 times smaller than the distance to the ridge solution.
    np.testing.assert_allclose(mean, box, rtol=0, atol=1e-3)


def test_adamw_weights_outside_the_box_sit_on_its_edge(adamw_path):
    outside = np.abs(C) > 1 / LAM  # coordinates 2 and 3: the steep one and the flat one alike
    assert outside.tolist() == [False, True, True, False]
    # At rest with a gradient bounded away from 0, m̂/(√v̂ + ε) = sign(g)·|g|/(|g| + ε), so |w| = 1/λ up to ε/|g|.
    # Measured after 20 000 steps: within 7e-6 (the remainder of the slow approach).
    last = adamw_path[-2000:, outside]
    np.testing.assert_allclose(last, np.broadcast_to(np.sign(C[outside]) / LAM, last.shape), rtol=0, atol=1e-4)


def test_adamw_weights_inside_the_box_stay_just_inside_their_minimum(adamw_path):
    inside = np.abs(C) < 1 / LAM
    mean = adamw_path[-2000:, inside].mean(axis=0)
    # Between bursts, w = h c/(h + λ√v̂), and √v̂ cannot stay below the stability threshold of Adam's momentum,
    # α h (1 − β1)/(2(1 + β1)); so w sits inside c by the relative amount λα(1 − β1)/(2(1 + β1)) = 2.6e-4, or a
    # little more, since √v̂ spends most of each cycle above the threshold (measured: 2.8e-4 for both).
    predicted = LAM * LR * (1 - BETA1) / (2 * (1 + BETA1))
    shrunk = (C[inside] - mean) / C[inside]
    assert np.all(shrunk > 0.5 * predicted), shrunk
    assert np.all(shrunk < 3 * predicted), shrunk


# -- gradient descent: weight decay and L2 are one method -------------------------------------------------

def test_gradient_descent_with_l2_equals_decoupled_weight_decay_step_by_step():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=60) > 0).astype(float)
    lr, d = 0.5, 0.01  # learning rate, and the fraction of w removed per step
    # Minibatches drawn from the same seed: step t sees the same rows in both problems.
    plain = ae.LogisticRegression(X, y, batch_size=10, seed=1)
    regularized = ae.LogisticRegression(X, y, l2=d / lr, batch_size=10, seed=1)
    opt = ae.GradientDescent(lr=lr)
    w_l2 = w_decay = w_none = rng.normal(size=3)
    state = opt.init(w_l2)
    for t in range(1, 201):
        w_l2, state = opt.step(w_l2, regularized.grad(w_l2, t), state)
        w_decay = (1 - d) * w_decay - lr * plain.grad(w_decay, t)  # Loshchilov & Hutter's Equation 1
        w_none = w_none - lr * plain.grad(w_none, t)
        np.testing.assert_allclose(w_l2, w_decay, rtol=1e-12, atol=1e-14)
    assert np.abs(w_none - w_decay).max() > 0.1  # the decay did something the comparison can see


def test_adam_with_l2_is_not_adamw():
    f = ae.Quadratic(H, c=C)
    lr, d = 0.01, 0.003  # the same decay per step: L2 coefficient d/lr, weight_decay d/lr (decay lr·λ = d)
    with_l2 = run(ae.Adam(lr=lr), lambda w, t: f.grad(w) + d / lr * w, 200, np.ones(4))
    decoupled = run(ae.AdamW(lr=lr, weight_decay=d / lr), lambda w, t: f.grad(w), 200, np.ones(4))
    assert np.abs(with_l2 - decoupled).max() > 0.1


# -- the learning rate in the decay --------------------------------------------------------------------------

def test_adamw_decays_by_lr_times_weight_decay_per_step():
    """Same weight_decay, two learning rates: a tenfold smaller lr decays tenfold less per step (PyTorch, Keras)."""
    steps, lam = 500, 0.1
    left = {}
    for lr in (1e-3, 1e-4):
        # zero gradients: m = v = 0, so Adam's step is 0 and only the decay acts
        path = run(ae.AdamW(lr=lr, weight_decay=lam), lambda w, t: np.zeros(1), steps, np.ones(1))
        left[lr] = path[-1, 0]
        assert left[lr] == pytest.approx((1 - lr * lam) ** steps, rel=1e-12)
    assert math.log(left[1e-3]) / math.log(left[1e-4]) == pytest.approx(10, rel=1e-3)


def paper_adamw(grad, w, steps, alpha, lam_lh, eta, beta1=0.9, beta2=0.999, eps=1e-8):
    """Algorithm 2 of Loshchilov & Hutter (2019), line by line, with schedule multiplier eta(t)."""
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(1, steps + 1):
        g = grad(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w = w - eta(t) * (alpha * m_hat / (np.sqrt(v_hat) + eps) + lam_lh * w)
    return w


def test_adamw_with_a_schedule_is_the_papers_adamw():
    """lr = α·η_t and weight_decay = λ_LH/α give the paper's update w − η_t(α·m̂/(√v̂ + ε) + λ_LH·w)."""
    f = ae.Quadratic(H, c=C)
    alpha, lam_lh, steps = 0.02, 0.004, 300

    def eta(t):
        return 0.5 + 0.5 * math.cos(math.pi * t / steps)  # cosine annealing

    w0 = np.array([1.0, -1.0, 2.0, 0.5])
    expected = paper_adamw(f.grad, w0, steps, alpha, lam_lh, eta)
    ours = run(ae.AdamW(lr=lambda t: alpha * eta(t), weight_decay=lam_lh / alpha), lambda w, t: f.grad(w), steps, w0)
    np.testing.assert_allclose(ours[-1], expected, rtol=1e-10, atol=1e-12)
    # and the constant-lr AdamW with the same weight_decay is a different run: the schedule reaches the decay too
    constant = run(ae.AdamW(lr=alpha, weight_decay=lam_lh / alpha), lambda w, t: f.grad(w), steps, w0)
    assert np.abs(constant[-1] - expected).max() > 1e-3
