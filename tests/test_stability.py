"""adamedu.stability: the preconditioned sharpness against an explicit eigendecomposition, by hand on Adam's v."""

import numpy as np
import pytest

import adamedu as ae
from adamedu.stability import adam_preconditioner, hessian_vector_product, preconditioned_sharpness


def quadratic(seed=0, n=6):
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    a = q @ np.diag([50.0, 3.0, 1.0, 0.5, 0.2, 0.1][:n]) @ q.T  # symmetric positive definite
    return a, (lambda w: a @ w)


def test_hvp_of_a_quadratic_is_exact_up_to_rounding():
    a, grad = quadratic()
    d = np.arange(6.0)
    np.testing.assert_allclose(hessian_vector_product(grad, np.ones(6), d), a @ d, rtol=1e-9)


def test_sharpness_equals_the_largest_eigenvalue_of_p_inverse_h():
    a, grad = quadratic()
    p = np.array([0.5, 2.0, 1.0, 4.0, 0.25, 1.5])
    expected = np.max(np.linalg.eigvals(np.diag(1 / p) @ a).real)
    assert preconditioned_sharpness(grad, np.zeros(6), p, iters=200) == pytest.approx(expected, rel=1e-6)
    # negative control: without the preconditioner the answer is the plain sharpness, a different number
    plain = preconditioned_sharpness(grad, np.zeros(6), np.ones(6), iters=200)
    assert plain == pytest.approx(50.0, rel=1e-6) and abs(plain - expected) > 1


def test_adam_preconditioner_after_one_step_is_abs_g_plus_eps():
    opt = ae.Adam(lr=0.1, eps=1e-3)
    params = {"a": np.ones(2), "b": np.ones(3)}
    grads = {"a": np.array([0.5, -2.0]), "b": np.array([0.0, 3.0, -1.0])}
    _, state = opt.step(params, grads, opt.init(params))
    np.testing.assert_allclose(adam_preconditioner(opt, state), [0.501, 2.001, 0.001, 3.001, 1.001], rtol=1e-12)


def test_bad_input_named():
    opt = ae.Adam()
    with pytest.raises(ValueError, match="state.t = 0"):
        adam_preconditioner(opt, opt.init(np.ones(2)))
    _, grad = quadratic()
    with pytest.raises(ValueError, match="p must be positive and shaped like w"):
        preconditioned_sharpness(grad, np.zeros(6), np.ones(5))
    with pytest.raises(ValueError, match="entries <= 0"):
        preconditioned_sharpness(grad, np.zeros(6), np.zeros(6))
