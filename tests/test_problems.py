"""The problems: gradients against finite differences and hand-derived values, randomness reproducible by (seed, t)."""

import math
import warnings

import numpy as np
import pytest

from adamedu.problems import (
    Cliff,
    LessardRechtPackard,
    LinearRegression,
    LogisticRegression,
    NesterovWorstCase,
    Noisy,
    Problem,
    Quadratic,
    ReddiOnline,
    Rosenbrock,
    Saddle,
    SoftmaxRegression,
    ravine,
)


def numerical_grad(f, x, h=1e-6):
    """Central differences, one coordinate at a time: error O(h²) plus rounding O(eps·|f|/h)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def assert_grad_matches(problem, x, t=None):
    g = problem.grad(x) if t is None else problem.grad(x, t)
    num = numerical_grad(problem.loss, x)
    scale = max(1.0, float(np.max(np.abs(num))))
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6 * scale, err_msg=problem.name)


def data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, rng


def linear():
    X, rng = data()
    return LinearRegression(X, X @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(40))


def logistic(l2=0.0):
    X, rng = data(seed=1)
    return LogisticRegression(X, (X @ [2.0, -1.0, 0.5] + rng.standard_normal(40) > 0).astype(float), l2=l2)


def softmax(l2=0.0):
    X, rng = data(seed=2)
    return SoftmaxRegression(X, rng.integers(0, 4, size=40), l2=l2)


PROBLEMS = {
    "ravine": ravine,
    "quadratic-rotated": lambda: Quadratic([1.0, 30.0], angle=0.7, c=[0.5, -1.0]),
    "quadratic-5d": lambda: Quadratic([1.0, 2.0, 3.0, 4.0, 50.0], angle=-1.1, c=[1.0, 0.0, -1.0, 2.0, 0.5]),
    "quadratic-1d": lambda: Quadratic([4.0]),
    "rosenbrock": Rosenbrock,
    "rosenbrock-a2": lambda: Rosenbrock(a=2.0, b=10.0),
    "saddle": Saddle,
    "lessard-recht-packard": LessardRechtPackard,
    "cliff": Cliff,
    "cliff-gentle": lambda: Cliff(height=2.0, steepness=3.0, edge=0.5),
    "nesterov-worst": lambda: NesterovWorstCase(5, 7, L=3.0),
    "noisy-ravine": lambda: Noisy(ravine(), sigma=1.0, seed=3),
    "reddi": ReddiOnline,
    "linear": linear,
    "linear-ridge": lambda: LinearRegression(data()[0], np.arange(40.0), l2=0.3),
    "logistic": logistic,
    "logistic-l2": lambda: logistic(l2=0.1),
    "softmax": softmax,
    "softmax-l2": lambda: softmax(l2=0.05),
}


@pytest.mark.parametrize("name", PROBLEMS)
def test_gradient_matches_finite_differences(name):
    problem = PROBLEMS[name]()
    rng = np.random.default_rng(42)
    for _ in range(5):
        x = rng.uniform(-1.5, 1.5, size=problem.shape)
        assert_grad_matches(problem, x)


def test_the_finite_difference_check_catches_a_wrong_gradient():
    class Wrong(Rosenbrock):
        def _grad(self, p, t):
            return super()._grad(p, t) * np.array([1.0, 1.001])  # 0.1 % off in y

    with pytest.raises(AssertionError):
        assert_grad_matches(Wrong(), np.array([0.3, -0.4]))


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_contract(name):
    problem = PROBLEMS[name]()
    assert isinstance(problem, Problem)
    assert isinstance(problem.name, str) and problem.name
    assert problem.dim == math.prod(problem.shape)
    x = np.full(problem.shape, 0.25)
    assert isinstance(problem.loss(x), float)
    assert problem.grad(x, 1).shape == problem.shape
    if problem.minimum is not None:
        assert np.shape(problem.minimum) == problem.shape
    if problem.bounds is not None:
        assert len(problem.bounds) == problem.dim and all(lo < hi for lo, hi in problem.bounds)
    assert np.array_equal(problem.project(x), x)  # 0.25 lies in every domain


# -- hand-derived values ---------------------------------------------------------------------------------


def test_ravine_by_hand():
    p = ravine()
    x = np.array([1.5, 1.5])
    assert p.loss(x) == 1.5**2 + 10 * 1.5**2 == 24.75
    np.testing.assert_array_equal(p.grad(x), [3.0, 30.0])  # (2x, 20y)
    np.testing.assert_array_equal(p.grad(x, 7), [3.0, 30.0])  # deterministic: t does not matter
    assert p.L == 20 and p.mu == 2 and p.condition_number == 10
    np.testing.assert_array_equal(p.minimum, [0.0, 0.0])
    assert p.name == "x² + 10y²"
    (x0, x1), (y0, y1) = p.bounds
    assert x0 < -1.5 and x1 > 1.5 and y0 < -1.5 and y1 > 1.5  # the book's start (1.5, 1.5) is in view


def test_rotated_quadratic_by_hand():
    # R diag(1, 3) Rᵀ with R the rotation by 45°: [[2, -1], [-1, 2]]
    p = Quadratic([1.0, 3.0], angle=math.pi / 4)
    np.testing.assert_allclose(p.hessian, [[2.0, -1.0], [-1.0, 2.0]], atol=1e-15)
    np.testing.assert_allclose(p.grad(np.array([1.0, 0.0])), [2.0, -1.0], atol=1e-15)
    assert p.loss(np.array([1.0, 1.0])) == pytest.approx(1.0)  # ½ (2 - 1 - 1 + 2)


@pytest.mark.parametrize("angle", [0.0, 0.3, math.pi / 4, 2.0, -1.0])
def test_rotation_keeps_the_curvatures(angle):
    h = np.array([0.5, 40.0])
    p = Quadratic(h, angle=angle, c=[1.0, -2.0])
    np.testing.assert_allclose(np.linalg.eigvalsh(p.hessian), np.sort(h), rtol=1e-12)
    np.testing.assert_array_equal(p.curvatures, h)
    assert p.L == 40.0 and p.condition_number == 80.0
    # the axis of h[0] points at `angle`: moving s along it from c costs ½ h[0] s²
    u = np.array([math.cos(angle), math.sin(angle)])
    np.testing.assert_allclose(p.hessian @ u, h[0] * u, atol=1e-12)
    assert p.loss(p.c + 2 * u) == pytest.approx(0.5 * h[0] * 4)
    np.testing.assert_array_equal(p.minimum, [1.0, -2.0])
    np.testing.assert_allclose(p.grad(p.minimum), 0.0, atol=1e-15)


def test_rotation_in_more_dimensions_turns_the_first_two_coordinates_only():
    h = [1.0, 2.0, 3.0, 4.0]
    p = Quadratic(h, angle=0.5)
    np.testing.assert_allclose(np.linalg.eigvalsh(p.hessian), h, rtol=1e-12)
    np.testing.assert_array_equal(p.hessian[2:, 2:], np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(p.hessian[:2, 2:], 0.0)
    assert p.bounds is None


def test_separable_quadratic_is_the_weighted_sum_of_squares():
    h, c = np.array([1.0, 10.0, 100.0]), np.array([0.5, -0.5, 2.0])
    p = Quadratic(h, c=c)
    w = np.array([1.0, 2.0, 3.0])
    assert p.loss(w) == pytest.approx(0.5 * np.sum(h * (w - c) ** 2))
    np.testing.assert_allclose(p.grad(w), h * (w - c))


def test_rosenbrock_by_hand():
    p = Rosenbrock()
    assert p.loss(np.array([0.0, 0.0])) == 1.0
    np.testing.assert_array_equal(p.grad(np.array([0.0, 0.0])), [-2.0, 0.0])
    # at (-1, 2): (1 - x)² + 100 (y - x²)² = 4 + 100; ∂x = -2(1 - x) - 400 x (y - x²) = -4 + 400; ∂y = 200 (y - x²)
    assert p.loss(np.array([-1.0, 2.0])) == 104.0
    np.testing.assert_array_equal(p.grad(np.array([-1.0, 2.0])), [396.0, 200.0])
    np.testing.assert_array_equal(p.minimum, [1.0, 1.0])
    assert p.loss(p.minimum) == 0.0 and not p.grad(p.minimum).any()
    q = Rosenbrock(a=2.0, b=5.0)
    np.testing.assert_array_equal(q.minimum, [2.0, 4.0])
    assert q.loss(q.minimum) == 0.0


def test_saddle_by_hand():
    p = Saddle()
    assert p.loss(np.array([1.0, 2.0])) == -3.0
    np.testing.assert_array_equal(p.grad(np.array([1.0, 2.0])), [2.0, -4.0])
    assert p.minimum is None
    assert not p.grad(np.zeros(2)).any()  # a stationary point that is no minimum


def test_lessard_recht_packard_by_hand():
    p = LessardRechtPackard()
    # the three pieces, from the formulas of Lessard, Recht & Packard (2016, section 4.6)
    assert p.loss(np.array([0.5])) == 12.5 * 0.25
    assert p.loss(np.array([1.5])) == pytest.approx(0.5 * 2.25 + 36 - 12)
    assert p.loss(np.array([3.0])) == pytest.approx(112.5 - 72 + 36)
    np.testing.assert_array_equal([p.grad(np.array([x]))[0] for x in (-1.0, 1.5, 3.0)], [-25.0, 25.5, 51.0])
    # continuous value and slope where the pieces meet (x = 1 and x = 2), so the function is L-smooth
    for edge, (value, slope) in {1.0: (12.5, 25.0), 2.0: (38.0, 26.0)}.items():
        for x in (edge - 1e-12, edge):
            assert p.loss(np.array([x])) == pytest.approx(value, abs=1e-9)
            assert p.grad(np.array([x]))[0] == pytest.approx(slope, abs=1e-9)
    assert (p.mu, p.L, p.condition_number) == (1.0, 25.0, 25.0)
    np.testing.assert_array_equal(p.minimum, [0.0])
    assert p.loss(p.minimum) == 0.0


@pytest.mark.parametrize("x", [-2.7, -0.3, 0.4, 1.2, 1.9, 2.3, 3.3])
def test_lessard_recht_packard_gradient_on_every_piece(x):
    assert_grad_matches(LessardRechtPackard(), np.array([x]))  # the shared check covers only [-1.5, 1.5]


def test_lessard_recht_packard_heavy_ball_cycle_is_the_hand_derived_one():
    """Polyak's heavy ball x_{k+1} = x_k − a f'(x_k) + b (x_k − x_{k−1}), a = 1/9, b = 4/9, from x₀ = 3.3.

    The paper reports a cycle of period 3. If its points p, q, r lie on the pieces (x < 1, x < 1, x ≥ 2), the
    three heavy-ball equations are linear in (p, q, r): solve them by hand (numpy's solve) and compare with the
    package's Momentum run (lr = a/(1 − b), beta = b), which takes the same steps; a negative control (a
    different start) converges instead.
    """
    from adamedu import Momentum, minimize

    a, b = 1 / 9, 4 / 9
    # q = p − a·25p + b(p − r);  r = q − a·25q + b(q − p);  p = r − a(25r − 24) + b(r − q)
    A = np.array([[1 + b - 25 * a, -1, -b], [-b, 1 + b - 25 * a, -1], [-1, -b, 1 + b - 25 * a]])
    rhs = np.array([0.0, 0.0, -24 * a])
    p, q, r = np.linalg.solve(A, rhs)
    assert p < 1 and q < 1 and r >= 2  # the pieces assumed
    run = minimize(LessardRechtPackard(), [3.3], Momentum(lr=a / (1 - b), beta=b), steps=300)
    tail = run.path[-3:, 0]
    cycle = np.array([p, q, r])
    shift = int(np.argmin(np.abs(cycle - tail[0])))
    np.testing.assert_allclose(tail, np.roll(cycle, -shift), rtol=1e-9)
    assert not run.diverged
    converging = minimize(LessardRechtPackard(), [0.5], Momentum(lr=a / (1 - b), beta=b), steps=300)
    assert converging.final_loss < 1e-20


def test_cliff_by_hand():
    p = Cliff(height=8.0, steepness=12.0, edge=2.0)
    # at the edge σ = 1/2: f = 4/5 + 8/2, f' = 2·2/25 + 8·12/4
    assert p.loss(np.array([2.0])) == pytest.approx(0.8 + 4.0, rel=1e-15)
    assert p.grad(np.array([2.0]))[0] == pytest.approx(4 / 25 + 24.0, rel=1e-15)
    # at 1: the well's value 1/2 and slope 2/4, plus the cliff's tail 8σ(-12) and 8·12·σ(-12)σ(12)
    tail = 1 / (1 + math.exp(12))
    assert p.loss(np.array([1.0])) == pytest.approx(0.5 + 8 * tail, rel=1e-14)
    assert p.grad(np.array([1.0]))[0] == pytest.approx(0.5 + 96 * tail * (1 - tail), rel=1e-14)
    # far out on the plateau the slope is about 2/x³, on the cliff's top about the well's alone
    assert p.grad(np.array([-10.0]))[0] == pytest.approx(-20 / 101**2, rel=1e-12)
    assert p.loss(np.array([6.0])) == pytest.approx(36 / 37 + 8.0, rel=1e-9)
    # the minimum: zero gradient, within H s e^(-s b) / 2 of 0, below its neighbours
    assert abs(p.grad(p.minimum)[0]) < 1e-14 and abs(p.minimum[0]) < 8 * 12 * math.exp(-24) / 2 * 1.01
    assert p.loss(p.minimum) < min(p.loss(p.minimum + 1e-4), p.loss(p.minimum - 1e-4))


@pytest.mark.parametrize("x", [-11.0, -4.0, 1.6, 1.9, 2.0, 2.1, 2.4, 4.5])
def test_cliff_gradient_on_the_plateau_and_the_face(x):
    assert_grad_matches(Cliff(), np.array([x]))  # the shared check covers only [-1.5, 1.5]


def test_cliff_throws_gradient_descent_and_clipping_tames_it():
    # The property the chapter shows: lr = 0.5 is stable on the well (curvature <= 2) but one step on the face
    # throws the iterate onto the far plateau; clipping the norm to 1 keeps every step at most 0.5 long.
    from adamedu import GradientDescent, clip_by_norm, minimize

    p = Cliff()
    run = minimize(p, [3.5], GradientDescent(lr=0.5), steps=100)
    assert np.min(np.diff(run.path[:, 0])) < -5 and run.final[0] < -5
    x, opt = np.array([3.5]), GradientDescent(lr=0.5)
    state = opt.init(x)
    for t in range(1, 101):
        x, state = opt.step(x, clip_by_norm(p.grad(x, t), 1.0), state)
    assert abs(x[0] - p.minimum[0]) < 1e-3


def test_reddi_problem_by_hand():
    p = ReddiOnline(C=3.0)
    x = np.array([0.5])
    assert [p.grad(x, t)[0] for t in range(1, 8)] == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0, 3.0]
    assert [p.loss_at(x, t) for t in (1, 2, 3)] == [1.5, -0.5, -0.5]
    assert p.loss(x) == pytest.approx((3 - 2) / 3 * 0.5)  # the average over a period
    assert p.loss(x) == pytest.approx(np.mean([p.loss_at(x, t) for t in (1, 2, 3)]))
    np.testing.assert_array_equal(p.minimum, [-1.0])
    # x = -1 is the best fixed point: it has the lowest total loss over any whole number of periods
    grid = np.linspace(-1, 1, 21)
    totals = [sum(p.loss_at(np.array([g]), t) for t in range(1, 10)) for g in grid]
    assert np.argmin(totals) == 0
    np.testing.assert_array_equal(p.project(np.array([1.7])), [1.0])
    np.testing.assert_array_equal(p.project(np.array([-3.0])), [-1.0])
    np.testing.assert_array_equal(p.project(np.array([0.2])), [0.2])
    assert ReddiOnline(C=10).grad(x, 10)[0] == 10.0


def test_linear_regression_minimum_is_least_squares():
    p = linear()
    expected = np.linalg.lstsq(p.X, p.y, rcond=None)[0]
    np.testing.assert_allclose(p.minimum, expected, rtol=1e-12)
    np.testing.assert_allclose(p.grad(p.minimum), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.L, np.linalg.eigvalsh(p.X.T @ p.X / p.n).max(), rtol=1e-12)
    # the loss is ½ mean squared error
    w = np.array([0.3, 0.1, -0.2])
    assert p.loss(w) == pytest.approx(0.5 * np.mean((p.X @ w - p.y) ** 2))


def test_linear_regression_by_hand():
    p = LinearRegression([[1.0], [2.0]], [1.0, 2.0])
    assert p.loss(np.array([0.0])) == 1.25  # ½ (1 + 4) / 2
    np.testing.assert_array_equal(p.grad(np.array([0.0])), [-2.5])  # -(1·1 + 2·2) / 2
    np.testing.assert_allclose(p.minimum, [1.0])


def test_ridge_minimum_has_zero_gradient():
    X, _ = data()
    p = LinearRegression(X, np.arange(40.0), l2=0.5)
    np.testing.assert_allclose(p.grad(p.minimum), 0.0, atol=1e-10)
    assert p.loss(p.minimum) < p.loss(np.linalg.lstsq(X, np.arange(40.0), rcond=None)[0])


def test_logistic_regression_by_hand_and_without_overflow():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]])
    y = np.array([1.0, 0.0, 1.0])
    p = LogisticRegression(X, y)
    assert p.loss(np.zeros(2)) == pytest.approx(math.log(2))  # every probability ½
    np.testing.assert_allclose(p.grad(np.zeros(2)), X.T @ (0.5 - y) / 3)
    q = LogisticRegression([[1000.0], [-1000.0]], [0, 1])  # both confidently wrong at w = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert q.loss(np.array([1.0])) == pytest.approx(1000.0)
        np.testing.assert_allclose(q.grad(np.array([1.0])), [1000.0])  # mean of 1000·(1 - 0) and -1000·(0 - 1)
        assert q.accuracy(np.array([1.0])) == 0.0 and q.accuracy(np.array([-1.0])) == 1.0
        assert q.accuracy(np.array([1.0]), X=[[1.0], [2.0], [-3.0]], y=[1, 1, 1]) == pytest.approx(2 / 3)


def test_logistic_loss_is_sklearns_log_loss():
    metrics = pytest.importorskip("sklearn.metrics")
    p = logistic()
    w = np.array([0.5, -0.2, 0.1])
    assert p.loss(w) == pytest.approx(metrics.log_loss(p.y, p.predict_proba(w)), rel=1e-12)


def test_softmax_regression_by_hand():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 2, 1])
    p = SoftmaxRegression(X, y)
    assert p.shape == (2, 3) and p.dim == 6 and p.n_classes == 3
    W = np.zeros((2, 3))
    assert p.loss(W) == pytest.approx(math.log(3))
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(p.grad(W), X.T @ (1 / 3 - onehot) / 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = np.array([[800.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # class 0 wins example 0 by 800
        # logits [800, 0, 0], [0, 0, 0], [800, 0, 0] for labels 0, 2, 1: losses 0, log 3, 800
        assert p.loss(big) == pytest.approx((0.0 + math.log(3) + 800.0) / 3)


def test_softmax_with_two_classes_is_logistic_regression():
    p = logistic()
    q = SoftmaxRegression(p.X, p.y.astype(int))
    w = np.array([0.4, -0.3, 0.8])
    W = np.column_stack([np.zeros(3), w])  # logits (0, z): softmax gives σ(z) to class 1
    assert q.loss(W) == pytest.approx(p.loss(w), rel=1e-12)
    np.testing.assert_allclose(q.grad(W)[:, 1], p.grad(w), rtol=1e-12)
    assert q.accuracy(W) == p.accuracy(w)


def test_softmax_loss_is_sklearns_log_loss():
    metrics = pytest.importorskip("sklearn.metrics")
    p = softmax()
    W = np.random.default_rng(0).standard_normal(p.shape)
    assert p.loss(W) == pytest.approx(metrics.log_loss(p.y, p.predict_proba(W), labels=range(4)), rel=1e-12)


# -- randomness reproducible by (seed, t) -----------------------------------------------------------------


def test_noisy_gradients_are_reproducible():
    x = np.array([1.5, 1.5])
    a, b = Noisy(ravine(), sigma=0.5, seed=7), Noisy(ravine(), sigma=0.5, seed=7)
    np.testing.assert_array_equal(a.grad(x, 3), b.grad(x, 3))
    np.testing.assert_array_equal(a.grad(x, 3), a.grad(x, 3))
    assert not np.array_equal(a.grad(x, 3), a.grad(x, 4))
    assert not np.array_equal(a.grad(x, 3), Noisy(ravine(), sigma=0.5, seed=8).grad(x, 3))
    # the noise of step t is σ times the standard normal draw of default_rng((seed, t))
    np.testing.assert_allclose(a.grad(x, 3), [3.0, 30.0] + 0.5 * np.random.default_rng((7, 3)).standard_normal(2))
    np.testing.assert_array_equal(a.grad(x), [3.0, 30.0])  # no t: the clean gradient
    np.testing.assert_array_equal(Noisy(ravine(), sigma=0.0).grad(x, 5), [3.0, 30.0])
    assert a.loss(x) == 24.75
    assert a.bounds == ravine().bounds and np.array_equal(a.minimum, [0.0, 0.0])


def test_noisy_gradients_average_to_the_true_gradient():
    p = Noisy(Rosenbrock(), sigma=2.0, seed=1)
    x = np.array([-0.5, 0.8])
    draws = np.array([p.grad(x, t) for t in range(1, 4001)])
    true = Rosenbrock().grad(x)
    np.testing.assert_allclose(draws.mean(axis=0), true, atol=5 * 2.0 / math.sqrt(4000))
    np.testing.assert_allclose(draws.std(axis=0), 2.0, rtol=0.05)


def test_noisy_keeps_the_inner_projection():
    p = Noisy(ReddiOnline(), sigma=0.1)
    np.testing.assert_array_equal(p.project(np.array([2.0])), [1.0])
    assert p.loss_at(np.array([0.5]), 1) == 1.5


def test_minibatches_are_reproducible_and_exact():
    X, rng = data(n=50)
    y = rng.standard_normal(50)
    p = LinearRegression(X, y, batch_size=8, seed=3)
    idx = p.batch(5)
    assert idx.shape == (8,) and len(set(idx.tolist())) == 8 and idx.min() >= 0 and idx.max() < 50
    np.testing.assert_array_equal(idx, LinearRegression(X, y, batch_size=8, seed=3).batch(5))
    assert not np.array_equal(idx, p.batch(6))
    w = np.array([0.2, -0.1, 0.3])
    # the minibatch gradient of step t is the full gradient of the problem made of those rows
    np.testing.assert_allclose(p.grad(w, 5), LinearRegression(X[idx], y[idx]).grad(w), rtol=1e-12)
    np.testing.assert_allclose(p.grad(w, batch=idx), p.grad(w, 5), rtol=1e-12)
    np.testing.assert_allclose(p.grad(w), LinearRegression(X, y).grad(w), rtol=1e-12)  # no t: all the data
    np.testing.assert_array_equal(LinearRegression(X, y).batch(4), np.arange(50))  # no batch_size: all rows


@pytest.mark.parametrize("make", [
    lambda X, rng: LinearRegression(X, rng.standard_normal(len(X)), batch_size=5, seed=2),
    lambda X, rng: LogisticRegression(X, rng.integers(0, 2, len(X)), l2=0.1, batch_size=5, seed=2),
    lambda X, rng: SoftmaxRegression(X, rng.integers(0, 3, len(X)), batch_size=5, seed=2),
], ids=["linear", "logistic", "softmax"])
def test_minibatch_gradients_average_to_the_full_gradient(make):
    X, rng = data(n=30)
    p = make(X, rng)
    w = np.random.default_rng(5).standard_normal(p.shape)
    draws = np.array([p.grad(w, t) for t in range(1, 3001)])
    spread = draws.std(axis=0) / math.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - p.grad(w)) < 5 * spread + 1e-12)
    assert np.all(draws.std(axis=0) > 0)  # they are really stochastic


# -- bad input ----------------------------------------------------------------------------------------------

X3 = np.ones((4, 3))

BAD = [
    (lambda: Quadratic([1.0, 0.0]), ValueError, ["h", "> 0", "0.0"]),
    (lambda: Quadratic([1.0, -2.0]), ValueError, ["h", "> 0", "-2.0"]),
    (lambda: Quadratic([1.0, np.nan]), ValueError, ["h", "finite"]),
    (lambda: Quadratic([]), ValueError, ["h", "non-empty"]),
    (lambda: Quadratic([[1.0, 2.0]]), ValueError, ["h", "1-D", "(1, 2)"]),
    (lambda: Quadratic([1.0, 2.0], c=[0.0]), ValueError, ["c", "(1,)", "2"]),
    (lambda: Quadratic([1.0], angle=0.3), ValueError, ["angle", "0.3", "first two"]),
    (lambda: Quadratic([1.0, 2.0], angle="45"), TypeError, ["angle", "'45'", "real number"]),
    (lambda: Quadratic([1.0, 2.0], angle=math.inf), ValueError, ["angle", "inf", "finite"]),
    (lambda: Rosenbrock(b=0), ValueError, ["b", "> 0", "got 0"]),
    (lambda: Rosenbrock(b=-1), ValueError, ["b", "-1", "> 0"]),
    (lambda: logistic().accuracy(np.zeros(3), X=np.ones((5, 3))), ValueError, ["X and y", "neither"]),
    (lambda: logistic().accuracy(np.zeros(3), X=np.ones((5, 3)), y=[1, 0]), ValueError, ["y", "(2,)", "5"]),
    (lambda: Rosenbrock(a=None), TypeError, ["a", "None"]),
    (lambda: NesterovWorstCase(0), ValueError, ["p", ">= 1", "got 0"]),
    (lambda: NesterovWorstCase(5, n=3), ValueError, ["n", ">= p = 5", "got 3"]),
    (lambda: NesterovWorstCase(5, L=-1.0), ValueError, ["L", "-1.0", "> 0"]),
    (lambda: Cliff(height=0), ValueError, ["height", "> 0", "got 0"]),
    (lambda: Cliff(steepness=-1.0), ValueError, ["steepness", "-1.0", "> 0"]),
    (lambda: Cliff(edge=math.inf), ValueError, ["edge", "inf", "finite"]),
    (lambda: Cliff(edge="2"), TypeError, ["edge", "'2'", "real number"]),
    (lambda: Noisy(ravine(), sigma=-0.5), ValueError, ["sigma", "-0.5", ">= 0"]),
    (lambda: Noisy(ravine(), sigma=math.nan), ValueError, ["sigma", "nan"]),
    (lambda: Noisy(ravine(), sigma=1.0, seed=-1), ValueError, ["seed", "-1", ">= 0"]),
    (lambda: Noisy(ravine(), sigma=1.0, seed=1.5), ValueError, ["seed", "1.5", "whole number"]),
    (lambda: Noisy(lambda x: x, sigma=1.0), TypeError, ["problem", "Problem", "function"]),
    (lambda: ReddiOnline(C=2), ValueError, ["C", "> 2", "got 2"]),
    (lambda: ReddiOnline(C=1.5), ValueError, ["C", "> 2", "1.5"]),
    (lambda: ReddiOnline(C="3"), TypeError, ["C", "'3'", "> 2"]),
    (lambda: LinearRegression(np.ones(4), np.ones(4)), ValueError, ["X", "2-D", "(4,)"]),
    (lambda: LinearRegression(X3, np.ones(5)), ValueError, ["y", "(5,)", "4"]),
    (lambda: LinearRegression(X3, np.ones((4, 1))), ValueError, ["y", "1-D", "(4, 1)"]),
    (lambda: LinearRegression(np.full((4, 3), np.nan), np.ones(4)), ValueError, ["X", "finite", "nan"]),
    (lambda: LinearRegression(X3, ["a", "b", "c", "d"]), TypeError, ["y", "real numbers"]),
    (lambda: LinearRegression(X3, np.ones(4), batch_size=0), ValueError, ["batch_size", "0", "from 1 to", "4"]),
    (lambda: LinearRegression(X3, np.ones(4), batch_size=5), ValueError, ["batch_size", "5", "(4)"]),
    (lambda: LinearRegression(X3, np.ones(4), batch_size=2.0), ValueError, ["batch_size", "2.0"]),
    (lambda: LinearRegression(X3, np.ones(4), l2=-1), ValueError, ["l2", "-1", ">= 0"]),
    (lambda: LogisticRegression(X3, [0, 1, 2, 1]), ValueError, ["y", "0 and 1", "2"]),
    (lambda: LogisticRegression(X3, [0, 1, -1, 1]), ValueError, ["y", "0 and 1", "-1"]),
    (lambda: SoftmaxRegression(X3, [0, 1, -1, 1]), ValueError, ["y", "class labels", ">= 0"]),
    (lambda: SoftmaxRegression(X3, [0, 1, 1.5, 1]), ValueError, ["y", "whole-number"]),
    (lambda: SoftmaxRegression(X3, [0, 1, 3, 1], n_classes=3), ValueError, ["n_classes", "3", "max label 3"]),
    (lambda: ravine().loss(np.zeros(3)), ValueError, ["x", "(2,)", "(3,)"]),
    (lambda: ravine().grad(np.zeros((2, 1))), ValueError, ["x", "(2,)", "(2, 1)"]),
    (lambda: ravine().grad(["a", "b"]), TypeError, ["x", "real numbers", "<U1"]),
    (lambda: ravine().grad(np.zeros(2), t=0), ValueError, ["t", "step", ">= 1", "0"]),
    (lambda: ravine().grad(np.zeros(2), t=1.5), ValueError, ["t", "1.5"]),
    (lambda: softmax().grad(np.zeros(3)), ValueError, ["w", "(3, 4)", "(3,)"]),
    (lambda: linear().grad(np.zeros(3), batch=[0, 99]), ValueError, ["batch", "row indices", "[0, 40)"]),
    (lambda: linear().grad(np.zeros(3), batch=[0.5]), ValueError, ["batch", "row indices"]),
    (lambda: ReddiOnline().loss_at(np.zeros(1), 0), ValueError, ["t", ">= 1"]),
]


@pytest.mark.parametrize("make, error, words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_refused_with_a_clear_message(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


def test_integer_points_are_accepted_as_floats():
    np.testing.assert_array_equal(ravine().grad([1, 1]), [2.0, 20.0])
    assert Rosenbrock().loss([1, 1]) == 0.0
