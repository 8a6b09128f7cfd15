"""newton_step: hand-derived steps, np.linalg.solve and the eigendecomposition, a negative control, bad input."""

import numpy as np
import pytest

import adamedu as ae
from adamedu.newton import newton_step


def test_ravine_by_hand():
    # x² + 10y²: H = diag(2, 20), g = (2x, 20y) = (3, 10) at (1.5, 0.5); H⁻¹g = (1.5, 0.5): the origin.
    w = np.array([1.5, 0.5])
    np.testing.assert_array_equal(newton_step(w, [3.0, 10.0], np.diag([2.0, 20.0])), [0.0, 0.0])


def test_tilted_quadratic_by_hand():
    # H = [[26, 24], [24, 26]], c = (1, -1); at w = (2, 0), w − c = (1, 1) and g = H (1, 1) = (50, 50).
    h = np.array([[26.0, 24.0], [24.0, 26.0]])
    np.testing.assert_allclose(newton_step([2.0, 0.0], [50.0, 50.0], h), [1.0, -1.0], rtol=0, atol=1e-14)


def test_saddle_and_saddle_free_by_hand():
    # x² − y²: H = diag(2, −2), g = (2x, −2y) = (3, −1) at (1.5, 0.5).
    w, g, h = np.array([1.5, 0.5]), np.array([3.0, -1.0]), np.diag([2.0, -2.0])
    np.testing.assert_array_equal(newton_step(w, g, h), [0.0, 0.0])                    # onto the saddle point
    np.testing.assert_array_equal(newton_step(w, g, h, saddle_free=True), [0.0, 1.0])  # |H| = diag(2, 2): away
    saddle = ae.Saddle()
    assert saddle.loss([0.0, 1.0]) == -1.0 < saddle.loss(w)


def test_one_step_lands_on_the_minimum_of_any_quadratic():
    rng = np.random.default_rng(0)
    for angle in (0.0, 0.3, 1.2):
        quadratic = ae.Quadratic(np.geomspace(1.0, 1e4, 5), angle=angle, c=rng.normal(size=5))
        w = rng.normal(size=5)
        np.testing.assert_allclose(newton_step(w, quadratic.grad(w), quadratic.hessian), quadratic.minimum,
                                   rtol=0, atol=1e-9)


def test_equals_solve_and_the_eigendecomposition():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.normal(size=(6, 6))
        h = a + a.T  # symmetric, indefinite
        w, g = rng.normal(size=6), rng.normal(size=6)
        np.testing.assert_allclose(newton_step(w, g, h), w - np.linalg.solve(h, g), rtol=1e-12, atol=1e-12)
        lam, v = np.linalg.eigh(h)
        # |H|⁻¹ g in the eigenbasis: each component divided by |λᵢ|
        expected = w - v @ ((v.T @ g) / np.abs(lam))
        np.testing.assert_allclose(newton_step(w, g, h, saddle_free=True), expected, rtol=1e-9, atol=1e-9)


def test_saddle_free_equals_newton_where_the_hessian_is_positive_definite():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(4, 4))
    h = a @ a.T + np.eye(4)
    w, g = rng.normal(size=4), rng.normal(size=4)
    np.testing.assert_allclose(newton_step(w, g, h, saddle_free=True), newton_step(w, g, h), rtol=1e-10)


def test_saddle_free_step_goes_downhill_and_newton_does_not():
    # Along a negative curvature the Newton direction −H⁻¹g climbs: gᵀ(−H⁻¹g) > 0 there. The saddle-free direction
    # −|H|⁻¹g always has gᵀd < 0 (|H| is positive definite). The negative control: Newton's is uphill here.
    w, g, h = np.zeros(2), np.array([0.0, 1.0]), np.diag([2.0, -2.0])
    assert g @ (newton_step(w, g, h) - w) > 0
    assert g @ (newton_step(w, g, h, saddle_free=True) - w) < 0


def test_a_wrong_step_would_be_caught():
    # The negative control for the comparisons above: w − H g (the Hessian not inverted) is not the step.
    h, w, g = np.diag([2.0, 20.0]), np.array([1.5, 0.5]), np.array([3.0, 10.0])
    assert not np.allclose(w - h @ g, newton_step(w, g, h))


def test_changes_nothing_it_is_given():
    w, g, h = np.array([1.5, 0.5]), np.array([3.0, -1.0]), np.diag([2.0, -2.0])
    copies = w.copy(), g.copy(), h.copy()
    newton_step(w, g, h, saddle_free=True)
    for before, after in zip(copies, (w, g, h), strict=True):
        np.testing.assert_array_equal(before, after)


BAD = [
    ((np.array([1.0, np.nan]), [1.0, 1.0], np.eye(2)), ValueError, ["w must be finite", "nan"]),
    (([1.0, 1.0], [1.0, np.inf], np.eye(2)), ValueError, ["g must be finite", "inf"]),
    (([1.0, 1.0], [1.0, 1.0, 1.0], np.eye(2)), ValueError, ["g must have the shape of w", "(3,)"]),
    (([1.0, 1.0], [1.0, 1.0], np.eye(3)), ValueError, ["hessian must have shape (2, 2)", "(3, 3)"]),
    ((np.ones((2, 2)), np.ones((2, 2)), np.eye(2)), ValueError, ["w must be a non-empty 1-D array", "(2, 2)"]),
    (([1.0, 1.0], [1.0, 1.0], [[1.0, 2.0], [0.0, 1.0]]), ValueError, ["hessian must be symmetric", "2"]),
    (([1.0, 1.0], [1.0, 1.0], np.diag([1.0, 0.0])), ValueError, ["hessian is singular", "0", "invertible"]),
    (([1.0, 1.0], [1.0, 1.0], "H"), TypeError, ["hessian must be an array of real numbers", "'H'"]),
    (([1.0, 1.0], np.array([1.0, 1j]), np.eye(2)), TypeError, ["g must hold real numbers", "complex"]),
]


def test_rounding_asymmetry_is_accepted_and_symmetrized():
    # A Hessian from finite differences is symmetric only up to rounding: accepted, and its symmetric part used.
    h = np.array([[2.0, 1.0 + 1e-12], [1.0, 3.0]])
    sym = (h + h.T) / 2
    w, g = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    np.testing.assert_allclose(newton_step(w, g, h), w - np.linalg.solve(sym, g), rtol=1e-12)


@pytest.mark.parametrize("args, error, words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_refused_by_name(args, error, words):
    with pytest.raises(error) as info:
        newton_step(*args)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_saddle_free_must_be_a_bool():
    with pytest.raises(TypeError, match="saddle_free must be True or False, got 'yes'"):
        newton_step([1.0], [1.0], [[2.0]], saddle_free="yes")


def test_exported_from_the_package():
    assert ae.newton_step is newton_step and "newton_step" in ae.__all__
