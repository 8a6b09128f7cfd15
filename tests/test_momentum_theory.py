"""Chapter 2's statements of Nesterov's guarantees and lower bounds, checked by running the methods.

The reference schemes below are written from Nesterov, *Introductory Lectures on Convex Optimization* (2004),
section 2.2.1 ("constant step scheme" II for μ = 0 with γ₀ = L, and III for μ > 0), and the worst function of
section 2.1.2 (the tridiagonal quadratic of Theorem 2.1.7). The chapter states:

- strongly convex: f(x_k) − f* ≤ (1 − 1/√κ)^k (f(x₀) − f* + μ/2 ‖x₀ − x*‖²), with x_{k+1} = y_k − ∇f(y_k)/L and
  y_{k+1} = x_{k+1} + β(x_{k+1} − x_k), β = (√κ − 1)/(√κ + 1); the look-ahead points y_k are the iterates of
  ``ae.Momentum(lr=1/(L(1 − β)), beta=β, nesterov=True)``;
- convex: f(x_k) − f* ≤ 4L‖x₀ − x*‖²/(k + 2)², with momentum that grows towards 1;
- lower bound: every first-order method has f(x_k) − f* ≥ 3L‖x₀ − x*‖²/(32(k + 1)²) on Nesterov's function
  with 2k + 1 variables.
"""

import math

import numpy as np
import pytest

import adamedu as ae
from adamedu.problems import LessardRechtPackard
from adamedu.problems import NesterovWorstCase as NesterovWorst


def scheme_iii(problem, x0, L, mu, steps):  # noqa: N803
    """Nesterov's constant step scheme III: the x_k and the look-ahead points y_k."""
    q = math.sqrt(mu / L)
    beta = (1 - q) / (1 + q)
    x, y = np.array(x0, float), np.array(x0, float)
    xs, ys = [x], [y]
    for _ in range(steps):
        x_new = y - problem.grad(y) / L
        y = x_new + beta * (x_new - x)
        x = x_new
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def scheme_ii(problem, x0, L, steps):  # noqa: N803
    """Nesterov's constant step scheme II for μ = 0, with γ₀ = L (α₀ = (√5 − 1)/2): the x_k and the momenta β_k."""
    a = (math.sqrt(5) - 1) / 2
    x, y = np.array(x0, float), np.array(x0, float)
    xs, betas = [x], []
    for _ in range(steps):
        x_new = y - problem.grad(y) / L
        a_new = (-a * a + math.sqrt(a**4 + 4 * a * a)) / 2  # α²_{k+1} = (1 − α_{k+1}) α²_k
        beta = a * (1 - a) / (a * a + a_new)
        y = x_new + beta * (x_new - x)
        x, a = x_new, a_new
        xs.append(x)
        betas.append(beta)
    return np.array(xs), np.array(betas)


def test_worst_function_by_hand():
    p = NesterovWorst(3, 5, L=4.0)
    # L/4 = 1: f(x) = ½(x₁² + (x₁ − x₂)² + (x₂ − x₃)² + x₃²) − x₁
    x = np.array([1.0, 2.0, 0.5, 7.0, -1.0])
    assert p.loss(x) == pytest.approx(0.5 * (1 + 1 + 2.25 + 0.25) - 1)
    np.testing.assert_allclose(p.grad(p.minimum), 0, atol=1e-15)
    assert p.loss(p.minimum) == pytest.approx(p.f_star)
    assert np.linalg.eigvalsh(p.hessian).max() <= p.L  # L-smooth


def quadratics():
    rng = np.random.default_rng(0)
    for kappa in (4.0, 25.0, 100.0, 1000.0):
        h = np.geomspace(1.0, kappa, 8)
        yield ae.Quadratic(h, angle=0.4, c=rng.normal(size=8)), rng.normal(size=8)


@pytest.mark.parametrize("case", range(4))
def test_package_nesterov_is_scheme_iii_and_keeps_the_strongly_convex_bound(case):
    problem, x0 = list(quadratics())[case]
    L, mu = problem.L, problem.mu  # noqa: N806
    kappa = L / mu
    beta = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    xs, ys = scheme_iii(problem, x0, L, mu, 200)
    run = ae.minimize(problem, x0, ae.Momentum(lr=1 / (L * (1 - beta)), beta=beta, nesterov=True), 200)
    np.testing.assert_allclose(run.path, ys, rtol=1e-9, atol=1e-9)  # the package's iterates are the y_k
    f_star, x_star = problem.loss(problem.minimum), problem.minimum
    bracket = problem.loss(x0) - f_star + mu / 2 * np.sum((x0 - x_star) ** 2)
    for k, x in enumerate(xs):
        assert problem.loss(x) - f_star <= (1 - 1 / math.sqrt(kappa)) ** k * bracket * (1 + 1e-9) + 1e-13


def test_strongly_convex_bound_on_the_piecewise_quadratic_and_the_heavy_ball_as_negative_control():
    p = LessardRechtPackard()  # μ = 1, L = 25, not a quadratic
    L, mu = p.L, p.mu  # noqa: N806
    rate = 1 - math.sqrt(mu / L)
    for x0 in (3.3, -4.0, 1.7, 10.0):
        xs, _ = scheme_iii(p, [x0], L, mu, 60)
        bracket = p.loss([x0]) + mu / 2 * x0**2
        assert all(p.loss(x) <= rate**k * bracket * (1 + 1e-9) + 1e-15 for k, x in enumerate(xs))
    # The check can fail: the heavy ball with its quadratic-optimal tuning violates the same bound (it cycles).
    kappa = L / mu
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    hb = ae.minimize(p, [3.3], ae.Momentum(lr=4 / (math.sqrt(L) + math.sqrt(mu)) ** 2 / (1 - beta), beta=beta), 60)
    bracket = p.loss([3.3]) + mu / 2 * 3.3**2
    assert not all(loss <= rate**k * bracket for k, loss in enumerate(hb.losses))


def test_convex_bound_and_the_growing_momentum():
    K = 60  # noqa: N806
    problems = [(NesterovWorst(2 * K + 1, 2 * K + 1, L=2.0), np.zeros(2 * K + 1))]
    problems += [(ae.Quadratic(np.r_[np.geomspace(1e-6, 1.0, 6)], c=np.ones(6)), np.zeros(6))]
    for problem, x0 in problems:
        L = problem.L  # noqa: N806
        xs, betas = scheme_ii(problem, x0, L, K)
        f_star = problem.loss(problem.minimum)
        r2 = np.sum((x0 - problem.minimum) ** 2)
        for k, x in enumerate(xs):
            assert problem.loss(x) - f_star <= 4 * L * r2 / (k + 2) ** 2 * (1 + 1e-9)
    # "about t/(t + 3) at step t": β_k of step t = k + 1 against t/(t + 3)
    assert abs(betas[0] - 0.2818) < 1e-4  # "grows from about 0.28"
    t = np.arange(1, K + 1)
    assert np.all(np.abs(betas - t / (t + 3)) < 0.2) and np.all(np.abs(betas - t / (t + 3))[9:] < 0.03)


@pytest.mark.parametrize("k", [5, 20, 50])
def test_first_order_lower_bound_on_nesterovs_function(k):
    n = 2 * k + 1
    problem = NesterovWorst(2 * k + 1, n, L=1.0)
    x0 = np.zeros(n)
    bound = 3 * problem.L * np.sum(problem.minimum**2) / (32 * (k + 1) ** 2)
    kappa_like = 0.9
    runs = {
        "gd": ae.minimize(problem, x0, ae.GradientDescent(lr=1.0), k).final,
        "heavy ball": ae.minimize(problem, x0, ae.Momentum(lr=10.0, beta=kappa_like), k).final,
        "nesterov": ae.minimize(problem, x0, ae.Momentum(lr=10.0, beta=kappa_like, nesterov=True), k).final,
        "scheme ii": scheme_ii(problem, x0, problem.L, k)[0][-1],
    }
    for name, x in runs.items():
        assert not x[k:].any(), name  # the iterate stays in the span of the first k coordinates
        assert problem.loss(x) - problem.f_star >= bound, name
    # The bound is not vacuous: the optimal method comes within a small factor of it.
    assert problem.loss(runs["scheme ii"]) - problem.f_star < 40 * bound
