"""The limits of Adam, held as tests: each phenomenon of the chapter on limits, so a regression breaks a test.

- Reddi, Kale & Kumar (2018): on their online problem Adam (β1 = 0, β2 = 1/(1 + C²)) settles at the worst
  point x = +1, AMSGrad and SGD at the best, −1; with a large β2 Adam converges again (Zhang et al. 2022).
- Wilson et al. (2017, §3.3): on their constructed classification problem AdaGrad, RMSprop and Adam fit the
  training set yet label every test point +1; gradient descent finds the minimum-norm solution, no test error.
- Rotation: Adam is invariant to rescaling each coordinate, not to rotating the problem; gradient descent is.
- ε: where the gradients are much smaller than ε, Adam becomes gradient descent with the learning rate lr/ε.
- Memory: the bytes of state each optimizer keeps per parameter.
"""

import math

import numpy as np
import pytest

import adamedu as ae
from adamedu.datasets import wilson_classification, wilson_features

# -- Reddi, Kale & Kumar (2018), Theorem 1 ------------------------------------------------------------------


def reddi_late_mean(opt, C=3.0, steps=3000):
    """The mean of x over the last tenth of a run on Reddi et al.'s problem from x = 0, and the trace."""
    trace = ae.minimize(ae.ReddiOnline(C=C), np.array([0.0]), opt, steps)
    return trace.path[-steps // 10:, 0].mean(), trace


def reddi_schedule(t):
    return 0.5 / math.sqrt(t)  # α_t = α/√t with α = 0.5, as in the theorem


def test_adam_goes_to_the_worst_point_amsgrad_and_sgd_to_the_best():
    C = 3.0
    beta2 = 1 / (1 + C**2)
    adam, adam_trace = reddi_late_mean(ae.Adam(reddi_schedule, beta1=0.0, beta2=beta2), C)
    amsgrad, amsgrad_trace = reddi_late_mean(ae.AMSGrad(reddi_schedule, beta1=0.0, beta2=beta2), C)
    sgd, sgd_trace = reddi_late_mean(ae.GradientDescent(reddi_schedule), C)
    assert adam > 0.9, adam  # x = +1 maximizes the summed loss (C − 2)·x
    assert amsgrad < -0.9, amsgrad
    assert sgd < -0.9, sgd
    # Sitting at +1 costs (C − 2)/3·(1 − (−1)) = 2/3 per step against x* = −1: the average regret stays there
    assert adam_trace.average_regret[-1] > 0.6
    assert amsgrad_trace.average_regret[-1] < 0.05 and sgd_trace.average_regret[-1] < 0.05


def steady_state_steps(C, beta2):
    """Adam's steps per unit learning rate (β1 = 0, ε and bias correction negligible) on the period C, −1, −1.

    Derived by hand: in the periodic steady state, v after the gradient g_k is the average of the squares of
    the last three gradients with weights 1, β2, β2² (normalized), so the step is −g_k / √v_k.
    """
    norm = 1 + beta2 + beta2**2
    v_after_c = (C**2 + beta2 + beta2**2) / norm
    v_after_first_minus_one = (1 + beta2 * C**2 + beta2**2) / norm
    v_after_second_minus_one = (1 + beta2 + beta2**2 * C**2) / norm
    return np.array([-C / math.sqrt(v_after_c), 1 / math.sqrt(v_after_first_minus_one),
                     1 / math.sqrt(v_after_second_minus_one)])


@pytest.mark.parametrize("C, beta2", [(3.0, 0.1), (3.0, 0.5), (10.0, 0.01)])
def test_adams_steps_on_the_period_match_the_hand_derived_steady_state(C, beta2):
    opt = ae.Adam(lr=1.0, beta1=0.0, beta2=beta2)
    w = np.zeros(1)
    state = opt.init(w)
    steps = []
    for t in range(1, 3 * 40 + 1):
        g = np.array([C if t % 3 == 1 else -1.0])
        w_new, state = opt.step(w, g, state)
        steps.append(w_new[0] - w[0])
        w = w_new
    np.testing.assert_allclose(steps[-3:], steady_state_steps(C, beta2), rtol=1e-6)


def test_the_drift_decides_where_adam_goes():
    # β2 = 1/(1 + C²) = 0.1: the small C-step loses against the two −1 steps, so x drifts up
    assert steady_state_steps(3.0, 0.1).sum() > 0
    # a large β2 averages v over many periods: every step is divided by nearly the same √v, as for SGD
    assert steady_state_steps(3.0, 0.99).sum() < 0


def test_a_large_beta2_converges_again_on_the_same_problem():
    """Zhang et al. (2022): fix the problem (C = 3), then a large enough β2 makes Adam converge."""
    late, _ = reddi_late_mean(ae.Adam(reddi_schedule, beta1=0.0, beta2=0.99), C=3.0)
    assert late < -0.9, late


# -- Wilson et al. (2017), Section 3.3 ---------------------------------------------------------------------


def test_wilson_features_by_hand():
    X = wilson_features([1, -1, 1])
    # columns: label, two ones, then five per example: 1 for a positive example, 5 for a negative one
    expected = np.array([
        [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [-1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    ], dtype=float)
    np.testing.assert_array_equal(X, expected)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(wilson_features(np.array([-1.0])), [[-1, 1, 1, 1, 1, 1, 1, 1]])
    # the paper's 1-based rule, j = 4 + 5(i − 1), …, 4 + 5(i − 1) + 2(1 − y_i), checked entry by entry
    y = np.array([1, 1, -1, -1, 1, -1])
    X = wilson_features(y)
    assert X.shape == (6, 3 + 5 * 6)
    for i in range(1, 7):
        for j in range(1, X.shape[1] + 1):
            block = 4 + 5 * (i - 1) <= j <= 4 + 5 * (i - 1) + 2 * (1 - y[i - 1])
            want = y[i - 1] if j == 1 else 1 if j in (2, 3) or block else 0
            assert X[i - 1, j - 1] == want, (i, j)


def test_wilson_classification_draws_train_and_test_alike():
    (X, y), (X_test, y_test) = wilson_classification(n=30, n_test=50, p=0.7, seed=3)
    d = 3 + 5 * 80
    assert X.shape == (30, d) and X_test.shape == (50, d) and y.shape == (30,) and y_test.shape == (50,)
    assert set(np.unique(np.r_[y, y_test])) <= {-1.0, 1.0}
    np.testing.assert_array_equal(np.r_[X, X_test], wilson_features(np.r_[y, y_test]))
    assert not X[:, 3 + 5 * 30:].any()  # the test points' own columns: untouched by training points
    assert not X_test[:, 3:3 + 5 * 30].any()  # and the training points' columns by test points
    (X2, y2), (X2_test, y2_test) = wilson_classification(n=30, n_test=50, p=0.7, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y_test, y2_test)
    assert not np.array_equal(y, wilson_classification(n=30, n_test=50, p=0.7, seed=4)[0][1])
    # P(y = 1) = p: 20 000 labels from 200 small draws (X is dense, n·(3 + 5n) numbers: keep n small)
    y_many = np.concatenate([wilson_classification(n=99, n_test=1, p=0.7, seed=s)[0][1] for s in range(200)])
    assert abs(np.mean(y_many == 1) - 0.7) < 0.01
    (_, y_one), _ = wilson_classification(n=50, n_test=1, p=1, seed=0)
    assert np.all(y_one == 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"p": 0.5}, "p, the probability"), ({"p": 1.2}, "1/2 < p <= 1"), ({"p": "0.7"}, "p, the probability"),
    ({"n": 0}, "n must be a whole number >= 1"), ({"n_test": 2.5}, "n_test must be"),
    ({"seed": -1}, "seed must be"),
])
def test_wilson_classification_refuses_bad_input(kwargs, match):
    args = {"n": 10, "n_test": 10, "p": 0.7, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=match):
        wilson_classification(**args)


@pytest.mark.parametrize("y, match", [
    ([1, 0, -1], "labels \\+1 and -1 only, got 0.0 at index 1"), ([], "non-empty"), ([[1, -1]], "got shape"),
    (["a"], "1-D array of the labels"),
])
def test_wilson_features_refuses_bad_labels(y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        wilson_features(y)


@pytest.fixture(scope="module")
def wilson():
    (X, y), (X_test, y_test) = wilson_classification(n=20, n_test=200, p=0.7, seed=2)
    assert y.sum() > 0  # the paper's argument needs more +1 than -1 labels in training
    problem = ae.LinearRegression(X, y)  # least squares on the labels, as in the paper
    runs = {}
    for name, opt in {"gd": ae.GradientDescent(lr=1 / problem.L), "adam": ae.Adam(lr=0.01),
                      "adagrad": ae.AdaGrad(lr=0.1), "rmsprop": ae.RMSprop(lr=0.01)}.items():
        runs[name] = ae.minimize(problem, np.zeros(problem.shape), opt, steps=600).final
    return X, y, X_test, y_test, problem, runs


def error(w, X, y):
    return float(np.mean(np.sign(X @ w) != y))


@pytest.mark.parametrize("name", ["adam", "adagrad", "rmsprop"])
def test_adaptive_methods_fit_the_training_set_and_label_every_test_point_plus_one(wilson, name):
    X, y, X_test, y_test, problem, runs = wilson
    w = runs[name]
    assert error(w, X, y) == 0.0 and problem.loss(w) < 1e-6
    assert np.all(X_test @ w > 0)  # +1 everywhere: the test error is the fraction of -1 labels, about 1 - p
    assert error(w, X_test, y_test) == np.mean(y_test == -1)
    assert abs(error(w, X_test, y_test) - 0.3) < 0.1
    # the paper's Lemma 3.1: w is proportional to sign(Xᵀy), here w = sign(Xᵀy)/4 since X sign(Xᵀy) = 4y
    s = np.sign(X.T @ y)
    np.testing.assert_allclose(X @ s, 4 * y)
    np.testing.assert_allclose(w, s / 4, atol=1e-5)


def test_gradient_descent_finds_the_minimum_norm_solution_with_no_test_error(wilson):
    X, y, X_test, y_test, problem, runs = wilson
    w = runs["gd"]
    w_min_norm = X.T @ np.linalg.solve(X @ X.T, y)  # Xᵀ(XXᵀ)⁻¹y, by the formula, not by the package
    np.testing.assert_allclose(w, w_min_norm, atol=1e-6)
    assert error(w, X, y) == 0.0
    assert error(w, X_test, y_test) == 0.0
    assert w[0] > 2 * abs(w[1])  # the label feature outweighs the two constant ones


# -- rotation ----------------------------------------------------------------------------------------------


def rotated_pair(opt, steps=300):
    """``opt`` on the ravine with curvatures 1 and 100, axis-aligned and rotated by 45°, from the same point
    relative to the principal axes."""
    aligned = ae.Quadratic(h=(1.0, 100.0), angle=0.0)
    rotated = ae.Quadratic(h=(1.0, 100.0), angle=math.pi / 4)
    u0 = np.array([1.5, 0.5])  # coordinates along the principal axes
    return ae.minimize(aligned, u0, opt, steps), ae.minimize(rotated, rotated.rotation @ u0, opt, steps)


def test_gradient_descent_does_not_see_a_rotation():
    aligned, rotated = rotated_pair(ae.GradientDescent(lr=0.019))
    np.testing.assert_allclose(rotated.losses, aligned.losses, rtol=1e-12)
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    np.testing.assert_allclose(rotated.path, aligned.path @ np.array([[c, -s], [s, c]]).T, atol=1e-12)


def test_adam_does():
    aligned, rotated = rotated_pair(ae.Adam(lr=0.05))
    assert rotated.final_loss > 1e6 * aligned.final_loss, (aligned.final_loss, rotated.final_loss)
    assert aligned.final_loss < 1e-10


def test_adam_is_invariant_to_rescaling_each_coordinate():
    # ½(x² + 100y²) and ½(x² + y²) differ by a factor per coordinate of the gradient: Adam takes the same steps
    x0 = np.array([1.5, 0.5])
    ravine = ae.minimize(ae.Quadratic(h=(1.0, 100.0)), x0, ae.Adam(lr=0.05, eps=0.0), 100)
    bowl = ae.minimize(ae.Quadratic(h=(1.0, 1.0)), x0, ae.Adam(lr=0.05, eps=0.0), 100)
    np.testing.assert_allclose(ravine.path, bowl.path, rtol=1e-10, atol=1e-14)
    gd_ravine = ae.minimize(ae.Quadratic(h=(1.0, 100.0)), x0, ae.GradientDescent(lr=0.019), 100)
    gd_bowl = ae.minimize(ae.Quadratic(h=(1.0, 1.0)), x0, ae.GradientDescent(lr=0.019), 100)
    assert np.abs(gd_ravine.path - gd_bowl.path).max() > 0.1


# -- ε, when the gradients are tiny ------------------------------------------------------------------------


def test_a_large_eps_turns_adam_into_gradient_descent_with_lr_over_eps():
    tiny = ae.Quadratic(h=(2e-6, 2e-5))  # the ravine x² + 10y², times 1e-6: gradients of order 1e-5
    x0, lr, eps = np.array([1.5, 1.5]), 0.05, 1e-3
    adam = ae.minimize(tiny, x0, ae.Adam(lr, beta1=0.0, eps=eps), 300)
    gd = ae.minimize(tiny, x0, ae.GradientDescent(lr / eps), 300)
    # the step is lr·g/(√v̂ + ε) with √v̂ = |g| ≤ 3e-5: within 3 % of lr·g/ε
    moved_adam, moved_gd = x0 - adam.path[1:], x0 - gd.path[1:]
    ratio = moved_adam / moved_gd
    assert np.all((ratio > 0.97) & (ratio <= 1.0)), (ratio.min(), ratio.max())
    # with the default ε the same tiny problem is solved as fast as the unscaled one: Adam ignores the scale
    small_eps = ae.minimize(tiny, x0, ae.Adam(lr), 300)
    unscaled = ae.minimize(ae.ravine(), x0, ae.Adam(lr), 300)
    assert small_eps.final_loss / small_eps.losses[0] < 1e-10
    np.testing.assert_allclose(small_eps.path[:100], unscaled.path[:100], atol=1e-2)
    assert adam.final_loss / adam.losses[0] > 0.5  # while the large ε crawls


# -- memory ------------------------------------------------------------------------------------------------

# Arrays of state per parameter array, read off each algorithm's equations.
STATE_ARRAYS = {"GradientDescent": 0, "Momentum": 1, "AdaGrad": 1, "RMSprop": 1, "Adam": 2, "AdamW": 2,
                "AMSGrad": 3, "AdaMax": 2, "Nadam": 2, "RAdam": 2, "Lion": 1}


@pytest.mark.parametrize("name", list(STATE_ARRAYS))
def test_state_bytes_per_parameter(name):
    w = np.zeros(100_000, dtype=np.float32)
    state = getattr(ae, name)().init(w)
    arrays = [value for value in state.values() if isinstance(value, np.ndarray)]
    assert all(a.dtype == np.float32 and a.shape == w.shape for a in arrays)
    assert sum(a.nbytes for a in arrays) / w.size == 4 * STATE_ARRAYS[name]
