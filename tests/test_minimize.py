"""minimize and race: paths, losses, divergence reported cleanly, Reddi et al.'s counterexample."""

import math
import warnings

import numpy as np
import pytest

from adamedu import Adam, AMSGrad, GradientDescent, Momentum, NonFiniteError
from adamedu.loop import Trace, describe, minimize, race
from adamedu.problems import Noisy, Problem, ReddiOnline, Rosenbrock, SoftmaxRegression, ravine

X0 = np.array([1.5, 1.5])


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """A wall of RuntimeWarnings is a failure here: divergence must be reported, not warned about."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_gradient_descent_converges_below_2_over_L():
    trace = minimize(ravine(), X0, GradientDescent(lr=0.05), steps=300)
    assert isinstance(trace, Trace)
    assert trace.diverged_at is None and not trace.diverged and trace.message is None
    assert trace.path.shape == (301, 2) and trace.losses.shape == (301,)
    assert trace.steps_taken == 300
    np.testing.assert_array_equal(trace.path[0], X0)
    assert trace.final_loss < 1e-8
    np.testing.assert_array_equal(trace.final, trace.path[-1])
    # by hand: x ← (1 − 0.05·2) x = 0.9 x, y ← (1 − 0.05·20) y = 0 after one step
    np.testing.assert_allclose(trace.path[1], [1.35, 0.0], atol=1e-15)
    np.testing.assert_allclose(trace.path[:, 0], 1.5 * 0.9 ** np.arange(301), rtol=1e-12)
    np.testing.assert_allclose(trace.losses, [ravine().loss(x) for x in trace.path], rtol=1e-15)


def test_gradient_descent_is_reported_diverged_above_2_over_L():
    trace = minimize(ravine(), X0, GradientDescent(lr=0.11), steps=5000)  # and no warning (fixture)
    assert isinstance(trace.diverged_at, int) and trace.diverged
    # by hand: y ← (1 − 0.11·20) y = −1.2 y, x ← 0.78 x; the loss x² + 10y² overflows at the first
    # step k whose 10·(1.5·1.2^k)² is inf in float64
    k = 1
    while math.isfinite(10 * (1.5 * 1.2**k) ** 2 if 1.5 * 1.2**k < 1e200 else math.inf):
        k += 1
    assert trace.diverged_at == k
    assert trace.steps_taken == k - 1 and len(trace.path) == len(trace.losses) == k
    assert np.all(np.isfinite(trace.losses)) and np.all(np.isfinite(trace.path))
    np.testing.assert_allclose(trace.path[:50, 1], 1.5 * (-1.2) ** np.arange(50), rtol=1e-12)
    assert "inf" in trace.message
    assert f"diverged at step {k}" in repr(trace)


def test_max_loss_stops_a_diverging_run_early():
    trace = minimize(ravine(), X0, GradientDescent(lr=0.11), steps=500, max_loss=1e6)
    # 10·(1.5·1.2^k)² > 1e6 first at k = ceil(log(sqrt(1e5)/1.5)/log(1.2)) = 30 (x² adds less than 1e-3)
    assert trace.diverged_at == math.ceil(math.log(math.sqrt(1e5) / 1.5) / math.log(1.2)) == 30
    assert trace.losses.max() <= 1e6 and "max_loss" in trace.message


class NaNAtStep(Problem):
    """x² + y² whose gradient is NaN at step 5: the optimizer must refuse that step."""

    name = "NaN at step 5"

    def _loss(self, x):
        return float(x @ x)

    def _grad(self, x, t):
        return np.full(2, np.nan) if t == 5 else 2 * x


def test_a_refused_step_is_recorded_not_raised():
    problem = NaNAtStep()
    with pytest.raises(NonFiniteError):  # what the optimizer does on its own
        opt = Adam(0.1)
        opt.step(X0, problem.grad(X0, 5), opt.init(X0))
    trace = minimize(problem, X0, Adam(0.1), steps=20)
    assert trace.diverged_at == 5 and trace.steps_taken == 4 and trace.path.shape == (5, 2)
    assert "grads" in trace.message and "nan" in trace.message


def test_overflowing_parameters_are_a_divergence():
    trace = minimize(Rosenbrock(), np.array([-1.5, 2.0]), GradientDescent(lr=0.01), steps=100)
    assert trace.diverged and trace.diverged_at <= 10  # the cubic term blows up within a few steps
    assert np.all(np.isfinite(trace.losses))


def test_the_loss_falling_to_minus_infinity_is_a_divergence():
    from adamedu.problems import Saddle

    trace = minimize(Saddle(), np.array([1.0, 1e-3]), GradientDescent(lr=0.1), steps=5000)
    assert trace.diverged and trace.final_loss < -1e300 and np.all(np.isfinite(trace.losses))


def test_the_iterate_is_projected():
    trace = minimize(ReddiOnline(), np.array([0.9]), GradientDescent(lr=0.5), steps=30)
    assert trace.path.min() == -1.0 and trace.path.max() <= 1.0
    np.testing.assert_array_equal(trace.path[1], [0.9 - 0.5 * 3.0])  # first step: f₁ = 3x, inside [-1, 1]
    np.testing.assert_array_equal(trace.path[2], [-0.6 + 0.5])


def test_x0_is_not_changed_and_dtypes():
    x0 = np.array([1.5, 1.5])
    minimize(ravine(), x0, Momentum(lr=0.05), steps=10)
    np.testing.assert_array_equal(x0, [1.5, 1.5])
    assert minimize(ravine(), x0.astype(np.float32), Adam(0.1), steps=5).path.dtype == np.float32
    trace = minimize(ravine(), [1, 1], GradientDescent(0.05), steps=3)  # integers are taken as floats
    assert trace.path.dtype == np.float64
    np.testing.assert_allclose(trace.path[1], [0.9, 0.0])
    zero = minimize(ravine(), X0, GradientDescent(0.05), steps=0)
    assert zero.path.shape == (1, 2) and zero.losses.tolist() == [24.75]


def test_noisy_runs_are_reproducible():
    problem = Noisy(ravine(), sigma=2.0, seed=4)
    a = minimize(problem, X0, Adam(0.05), steps=100)
    b = minimize(Noisy(ravine(), sigma=2.0, seed=4), X0, Adam(0.05), steps=100)
    c = minimize(Noisy(ravine(), sigma=2.0, seed=5), X0, Adam(0.05), steps=100)
    np.testing.assert_array_equal(a.path, b.path)
    assert not np.array_equal(a.path, c.path)
    # step k asks for the noise of step k: replay the run by hand
    opt, x = Adam(0.05), X0
    state = opt.init(x)
    for k in range(1, 4):
        x, state = opt.step(x, problem.grad(x, k), state)
        np.testing.assert_array_equal(a.path[k], x)


# -- Reddi, Kale & Kumar (2018), Theorem 1 ---------------------------------------------------------------


def test_adam_fails_on_reddis_problem_where_amsgrad_and_sgd_succeed():
    C, alpha, steps = 3.0, 0.5, 3000
    problem = ReddiOnline(C=C)
    schedule = lambda t: alpha / math.sqrt(t)  # noqa: E731
    beta2 = 1 / (1 + C**2)
    traces = race(problem, np.array([0.0]), [Adam(schedule, beta1=0.0, beta2=beta2),
                                             AMSGrad(schedule, beta1=0.0, beta2=beta2),
                                             GradientDescent(schedule)], steps)
    late = {label: trace.path[-steps // 10:, 0].mean() for label, trace in traces.items()}
    adam, amsgrad, sgd = late.values()
    assert adam > 0.9, late  # the worst point of [-1, 1]
    assert amsgrad < -0.9 and sgd < -0.9, late  # the best one
    # Adam's average regret stays near its limit (C − 2)/3 · 2 = 2/3; AMSGrad's goes to 0
    regret = {label: trace.average_regret[-1] for label, trace in traces.items()}
    adam_regret, amsgrad_regret, _ = regret.values()
    assert adam_regret > 0.6 and amsgrad_regret < 0.05, regret


def test_regret_by_hand():
    trace = minimize(ReddiOnline(C=3.0), np.array([0.5]), GradientDescent(lr=0.1), steps=3)
    # x₁ = 0.5, x₂ = 0.5 − 0.3 = 0.2, x₃ = 0.2 + 0.1 = 0.3; fₜ(x*) = −3, 1, 1
    # regrets: 1.5 − (−3) = 4.5, −0.2 − 1 = −1.2, −0.3 − 1 = −1.3
    np.testing.assert_allclose(trace.regret, [4.5, 3.3, 2.0])
    np.testing.assert_allclose(trace.average_regret, [4.5, 3.3 / 2, 2.0 / 3])
    deterministic = minimize(ravine(), X0, GradientDescent(0.05), steps=5)
    np.testing.assert_allclose(deterministic.regret, np.cumsum(deterministic.losses[:-1]))
    with pytest.raises(ValueError, match="minimum"):
        from adamedu.problems import Saddle

        minimize(Saddle(), X0, GradientDescent(0.01), steps=3).regret  # noqa: B018


# -- labels and race ---------------------------------------------------------------------------------------


def named_schedule(t):
    return 0.1 / t


def test_labels_name_the_optimizer_and_what_is_not_default():
    assert describe(GradientDescent(lr=0.05)) == "GradientDescent(lr=0.05)"
    assert describe(Adam(lambda t: 0.1, beta1=0.0, beta2=0.1)) == "Adam(lr=schedule, beta1=0, beta2=0.1)"
    assert describe(Adam(named_schedule)) == "Adam(lr=named_schedule)"
    assert describe(Momentum(0.01, nesterov=True)) == "Momentum(lr=0.01, nesterov=True)"
    assert minimize(ravine(), X0, Adam(0.1), steps=1).label == "Adam(lr=0.1)"


def test_race_runs_each_optimizer_from_the_same_start():
    traces = race(ravine(), X0, [GradientDescent(0.05), Adam(0.1), GradientDescent(0.05)], steps=20)
    assert list(traces) == ["GradientDescent(lr=0.05)", "Adam(lr=0.1)", "GradientDescent(lr=0.05) (2)"]
    for trace in traces.values():
        np.testing.assert_array_equal(trace.path[0], X0)
    np.testing.assert_array_equal(traces["GradientDescent(lr=0.05)"].path,
                                  minimize(ravine(), X0, GradientDescent(0.05), 20).path)
    named = race(ravine(), X0, {"slow": GradientDescent(0.01), "fast": GradientDescent(0.05)}, steps=10)
    assert list(named) == ["slow", "fast"] and named["slow"].final_loss > named["fast"].final_loss


def test_softmax_regression_on_digits_trains():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    X = np.column_stack([X / 16.0, np.ones(len(X))])  # pixels in [0, 1], a bias column
    problem = SoftmaxRegression(X, y, batch_size=64, seed=0)
    trace = minimize(problem, np.zeros(problem.shape), Adam(0.03), steps=100)
    assert trace.path.shape == (101, 65, 10)
    assert trace.final_loss < 0.12 * trace.losses[0]  # from log 10 to below 0.28
    assert problem.accuracy(trace.final) > 0.93


# -- bad input -----------------------------------------------------------------------------------------------

BAD = [
    (lambda: minimize(ravine(), [1.0, 2.0, 3.0], GradientDescent(), 5), ValueError, ["x0", "(2,)", "(3,)"]),
    (lambda: minimize(ravine(), [np.nan, 1.0], GradientDescent(), 5), ValueError, ["x0", "finite"]),
    (lambda: minimize(ravine(), X0, GradientDescent(), -1), ValueError, ["steps", "-1", ">= 0"]),
    (lambda: minimize(ravine(), X0, GradientDescent(), 2.5), ValueError, ["steps", "2.5", "whole number"]),
    (lambda: minimize(ravine(), X0, GradientDescent, 5), TypeError, ["optimizer", "instance", "GradientDescent(...)"]),
    (lambda: minimize(Rosenbrock, X0, GradientDescent(), 5), TypeError, ["problem", "instance", "Rosenbrock(...)"]),
    (lambda: minimize(ravine(), X0, "adam", 5), TypeError, ["optimizer", "init and step", "str"]),
    (lambda: minimize(lambda x: x @ x, X0, GradientDescent(), 5), TypeError, ["problem", "function"]),
    (lambda: minimize(ravine(), X0, GradientDescent(), 5, max_loss=math.nan), ValueError, ["max_loss", "nan"]),
    (lambda: minimize(ravine(), [1e200, 1e200], GradientDescent(), 5), ValueError, ["loss at x0", "inf"]),
]


@pytest.mark.parametrize("make, error, words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_refused_with_a_clear_message(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


def test_a_label_given_to_minimize_or_race_names_the_trace():
    import adamedu as ae

    assert ae.minimize(ae.ravine(), [1.5, 1.5], ae.Adam(), 2, label="mine").label == "mine"
    assert ae.minimize(ae.ravine(), [1.5, 1.5], ae.Adam(lr=0.1), 2).label.startswith("Adam(")
    traces = ae.race(ae.ravine(), [1.5, 1.5], {"fast": ae.Adam(lr=0.1), "slow": ae.Adam()}, 2)
    assert [t.label for t in traces.values()] == ["fast", "slow"]
