"""adamedu.grading.check: accepts any correct implementation, names each classic mistake."""

import numpy as np
import pytest

from adamedu.grading import EXERCISES, check

# -- correct implementations, in several styles -------------------------------------------------------------


def gd_plain(w, g, lr):
    return w - lr * g


def gd_copy_then_inplace(w, g, lr):
    w = np.array(w, copy=True)
    w -= lr * g
    return w


def momentum_plain(w, g, m, lr, beta):
    m = beta * m + (1 - beta) * g
    return w - lr * m, m


def momentum_lerp(w, g, m, lr, beta):
    m = m + (1 - beta) * (g - m)  # the same average, written as an interpolation (PyTorch's lerp)
    return w - lr * m, m


def rmsprop_plain(w, g, v, lr, beta, eps):
    v = beta * v + (1 - beta) * g**2
    return w - lr * g / (np.sqrt(v) + eps), v


def adam_paper(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.square(g)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_torch_style(w, g, m, v, t, lr, beta1, beta2, eps):
    m = m + (g - m) * (1 - beta1)
    v = v * beta2 + (1 - beta2) * g * g
    step_size = lr / (1 - beta1**t)
    denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
    return w - step_size * m / denom, m, v


def adam_list_output(w, g, m, v, t, lr, beta1, beta2, eps):
    return list(adam_paper(w, g, m, v, t, lr, beta1, beta2, eps))


def adamw_plain(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    w = w * (1 - lr * weight_decay)
    return adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)


def adamw_subtract(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    w = w - lr * weight_decay * w
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@pytest.mark.parametrize("name, fn", [
    ("gd_step", gd_plain), ("gd_step", gd_copy_then_inplace),
    ("momentum_step", momentum_plain), ("momentum_step", momentum_lerp),
    ("rmsprop_step", rmsprop_plain),
    ("adam_step", adam_paper), ("adam_step", adam_torch_style), ("adam_step", adam_list_output),
    ("adamw_step", adamw_plain), ("adamw_step", adamw_subtract),
], ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_correct_implementations_pass_with_one_line(name, fn, capsys):
    check(name, fn)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("✓") and name in out[0]


# -- wrong implementations: each must be diagnosed by name --------------------------------------------------


def adam_no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * m / (np.sqrt(v) + eps), m, v


def adam_eps_in_sqrt(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps), m, v


def adam_abs_g(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.abs(g)
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_plain_g(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_t_from_zero(w, g, m, v, t, lr, beta1, beta2, eps):
    return adam_paper(w, g, m, v, t - 1, lr, beta1, beta2, eps)


def adam_t_plus_one(w, g, m, v, t, lr, beta1, beta2, eps):
    return adam_paper(w, g, m, v, t + 1, lr, beta1, beta2, eps)


def adam_only_m_corrected(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v) + eps), m, v


def adam_sign_error(w, g, m, v, t, lr, beta1, beta2, eps):
    new_w, m, v = adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)
    return w + (w - new_w), m, v


def adam_swapped_betas(w, g, m, v, t, lr, beta1, beta2, eps):
    m = (1 - beta1) * m + beta1 * g
    v = (1 - beta2) * v + beta2 * g**2
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_wrong_order(w, g, m, v, t, lr, beta1, beta2, eps):
    new_w, m, v = adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)
    return m, v, new_w


def adam_in_place(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    w -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, m, v


def adam_returns_w_only(w, g, m, v, t, lr, beta1, beta2, eps):
    return adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)[0]


def adam_forgot_return(w, g, m, v, t, lr, beta1, beta2, eps):
    adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)


def adam_stub(w, g, m, v, t, lr, beta1, beta2, eps):
    raise NotImplementedError


def adam_typo(w, g, m, v, t, lr, beta1, beta2, eps):
    return w - lr * mhat, m, v  # noqa: F821 - the student's NameError


def adamw_l2(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_paper(w, g + weight_decay * w, m, v, t, lr, beta1, beta2, eps)


def adamw_unscaled(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_paper(w * (1 - weight_decay), g, m, v, t, lr, beta1, beta2, eps)


def adamw_after(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    new_w, m, v = adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)
    return new_w * (1 - lr * weight_decay), m, v


def adamw_no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_no_bias_correction(w * (1 - lr * weight_decay), g, m, v, t, lr, beta1, beta2, eps)


def momentum_framework(w, g, m, lr, beta):
    m = beta * m + g
    return w - lr * m, m


def momentum_stale(w, g, m, lr, beta):
    return w - lr * m, beta * m + (1 - beta) * g


def momentum_nesterov(w, g, m, lr, beta):
    m = beta * m + (1 - beta) * g
    return w - lr * (beta * m + (1 - beta) * g), m


def rmsprop_eps_in_sqrt(w, g, v, lr, beta, eps):
    v = beta * v + (1 - beta) * g**2
    return w - lr * g / np.sqrt(v + eps), v


def rmsprop_no_sqrt(w, g, v, lr, beta, eps):
    v = beta * v + (1 - beta) * g**2
    return w - lr * g / (v + eps), v


def gd_sign(w, g, lr):
    return w + lr * g


def gd_no_lr(w, g, lr):
    return w - g


WRONG = [
    ("adam_step", adam_no_bias_correction, ["no bias correction"]),
    ("adam_step", adam_eps_in_sqrt, ["inside the square root"]),
    ("adam_step", adam_abs_g, ["|g| where g² belongs"]),
    ("adam_step", adam_plain_g, ["g where g² belongs"]),
    ("adam_step", adam_t_from_zero, ["off by one", "counted from 0"]),
    ("adam_step", adam_t_plus_one, ["off by one"]),
    ("adam_step", adam_only_m_corrected, ["only m is bias-corrected"]),
    ("adam_step", adam_sign_error, ["sign error"]),
    ("adam_step", adam_swapped_betas, ["swapped"]),
    ("adam_step", adam_wrong_order, ["wrong order", "(m, v, w)", "return (w, m, v)"]),
    ("adam_step", adam_in_place, ["in place", "w"]),
    ("adam_step", adam_returns_w_only, ["should return (w, m, v)", "ndarray"]),
    ("adam_step", adam_forgot_return, ["None", "return"]),
    ("adam_step", adam_stub, ["not written yet", "NotImplementedError"]),
    ("adam_step", adam_typo, ["raised NameError", "mhat"]),
    ("adamw_step", adamw_l2, ["L2 regularization"]),
    ("adamw_step", adamw_unscaled, ["not scaled by the learning rate"]),
    ("adamw_step", adamw_after, ["applied after Adam's step"]),
    ("adamw_step", adamw_no_bias_correction, ["no bias correction"]),
    ("momentum_step", momentum_framework, ["not a moving average", "(1 − β) is missing"]),
    ("momentum_step", momentum_stale, ["old m"]),
    ("momentum_step", momentum_nesterov, ["Nesterov"]),
    ("rmsprop_step", rmsprop_eps_in_sqrt, ["inside the square root"]),
    ("rmsprop_step", rmsprop_no_sqrt, ["square root is missing"]),
    ("gd_step", gd_sign, ["sign error"]),
    ("gd_step", gd_no_lr, ["learning rate is missing"]),
]


@pytest.mark.parametrize("name, fn, words", WRONG, ids=[fn.__name__ for _, fn, _ in WRONG])
def test_each_classic_mistake_is_named(name, fn, words):
    with pytest.raises(AssertionError) as excinfo:
        check(name, fn)
    message = str(excinfo.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}:\n{message}"
    assert "input:" in message or "not written yet" in message  # every message shows the failing input


def test_wrong_result_message_shows_expected_and_got():
    with pytest.raises(AssertionError) as excinfo:
        check("adam_step", adam_no_bias_correction)
    message = str(excinfo.value)
    assert "expected" in message and "got" in message and "differs by up to" in message
    # m and v were right; only w is marked
    assert message.count("<- differs") == 1


def test_a_mistake_seen_only_with_tiny_gradients_is_caught():
    # The ε̂ form agrees with Algorithm 1 unless √v̂ is near ε; the cases include gradients of 1e-8.
    def adam_eps_hat(w, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return w - lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps), m, v

    with pytest.raises(AssertionError, match="efficient"):
        check("adam_step", adam_eps_hat)


def test_every_exercise_has_cases_with_t_above_one_and_every_scale():
    from adamedu.course.grading import _cases

    cases = list(_cases(EXERCISES["adam_step"], 40))
    assert {c["t"] for c in cases} >= {1, 2, 1000}
    scales = {float(np.max(np.abs(c["g"]))) for c in cases if np.size(c["g"])}
    assert min(scales) < 1e-6 and max(scales) > 10


def test_unknown_exercise_and_non_callable_are_refused():
    with pytest.raises(ValueError, match="adam_step"):
        check("adam", adam_paper)
    with pytest.raises(TypeError, match="must be your function"):
        check("adam_step", 3)


def test_attempt_passes_results_through_and_explains_failures():
    from adamedu.grading import attempt

    assert attempt(lambda x, y=1: x + y, 2, y=3) == 5

    def smallest_beta2(C):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="smallest_beta2 is not written yet"):
        attempt(smallest_beta2, 5)
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        attempt(lambda: 1 / 0)
